/*
 * ctl_model.h - gradient-boosted tree scoring for payment fraud.
 *
 * Loads a model in XGBoost's JSON format (Booster.save_model("x.json"), as
 * written by XGBoost 1.7; see tools/train_fraud_model.py) and compiles it
 * into a flat evaluator: struct-of-arrays (split feature, threshold,
 * left/right child, default-left, node value), every tree's nodes laid out
 * contiguously in depth-first order. Only gbtree, binary:logistic, numeric
 * splits and one output are accepted; anything else is refused at load.
 *
 * Scoring (matches XGBoost's CPU predictor bit for bit on the shipped model):
 *   margin = logit(base_score) + leaf_1 + ... + leaf_T     (float, tree order)
 *   score  = 1 / (1 + expf(-margin))
 * base_score is read from learner.learner_model_param.base_score, which
 * XGBoost 1.7 stores as a probability in a string ("3.8803993E-3").
 * At a split, a row goes left when row[f] < threshold; a missing value (NaN)
 * takes the node's default direction. Infinities compare as numbers.
 *
 * Reasons use Saabas attribution (XGBoost's "approx_contribs"): every node
 * has an expected value, the sum_hessian-weighted mean of its leaves; when
 * a row's path goes from node p (split on feature f) to child c, feature f
 * is credited value(c) - value(p). Summed over trees, the contributions of
 * all features plus ctl_model_bias() equal the row's margin.
 *
 * Intended use (control thread): ctl_model_load(), then ctl_model_verify()
 * against XGBoost's own predictor on the same file, optionally
 * ctl_model_check_samples() against predictions recorded when the model was
 * exported; then publish the model pointer to the workers.
 *
 * Thread safety: a loaded model is immutable. ctl_model_score(),
 * ctl_model_margin(), ctl_model_reasons() and the getters are read-only, do
 * not allocate and are safe from any number of threads at once.
 * load/verify/check_samples allocate and do I/O: control threads only.
 *
 * Measured on the shipped model (60 trees, depth 4, 12 features; 2-core dev
 * VM on session 12's Xeon, one thread, bench_model): ctl_model_score
 * ~0.35 us/row (~2.8 M rows/s), per call or in a loop;
 * ctl_model_score_reasons ~0.72 us/row. XGBoost's C API: ~8.3 us/row one row
 * per call (DMatrix + Predict), ~1 us/row batched with one thread.
 */
#ifndef CTL_MODEL_H
#define CTL_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* Largest accepted model file; a larger one is refused with -EFBIG. */
#define CTL_MODEL_MAX_FILE (64u << 20)
/* Largest feature vector; bounds the stack the reasons code uses. */
#define CTL_MODEL_MAX_FEATURES 1024u
/* Largest tolerated |ours - XGBoost| in ctl_model_verify(). */
#define CTL_MODEL_VERIFY_TOL 1e-6f

struct ctl_model;

enum ctl_decision {
	CTL_ALLOW = 0,
	CTL_REVIEW = 1,
	CTL_BLOCK = 2,
};

/*
 * Load and compile the model at @path. @features is the configured feature
 * vector (n_features names, in vector order); the model's feature_names
 * must equal it name for name, in order.
 * Returns 0 and *out, or with a reason in @err:
 *   -EINVAL  NULL/empty arguments, n_features > CTL_MODEL_MAX_FEATURES;
 *            the model has no feature_names; feature count or names differ (the
 *            message names the first differing position and both names);
 *   -ENOENT / -EACCES / other -errno  the file cannot be read;
 *   -EFBIG   larger than CTL_MODEL_MAX_FILE;
 *   -EBADMSG not JSON, truncated JSON, or not an XGBoost model (the message
 *            names the missing/bad field and the tree);
 *   -ENOTSUP valid XGBoost model we cannot evaluate (another objective or
 *            booster, categorical splits, multiple outputs);
 *   -ENOMEM.
 * Ownership: @path and @features are not kept. Free with ctl_model_destroy().
 */
int ctl_model_load(const char *path, const char *const *features, uint32_t n_features,
		   struct ctl_model **out, char *err, size_t errlen);

/* Free a model; NULL is a no-op. No thread may be scoring with it. */
void ctl_model_destroy(struct ctl_model *m);

/*
 * Cross-check @m against XGBoost's own predictor (C API: XGBoosterLoadModel
 * of @path, XGBoosterPredictFromDense). Rows scored: the caller's @n_rows
 * rows (@rows is n_rows x n_features floats, row-major, NaN = missing), then
 * for each caller row one copy with a different feature missing in turn
 * (feature r % n_features for row r) and one copy with every odd feature
 * missing, then one row with all features missing. With @n_rows == 0 only
 * the all-missing row is checked, which proves little: pass real rows.
 * Returns 0 when every score agrees within CTL_MODEL_VERIFY_TOL, else:
 *   -EPROTO  a score differs; @err names the row (caller rows by index,
 *            generated ones as "row 3 with feature 'x' missing" etc.) and
 *            both scores;
 *   -EIO     XGBoost could not load @path or predict (its message in @err);
 *   -EINVAL  NULL arguments or XGBoost's feature count differs;
 *   -ENOMEM.
 * @path is normally the file @m was loaded from; verifying against another
 * file is how a test proves the check bites.
 */
int ctl_model_verify(const struct ctl_model *m, const char *path, const float *rows,
		     uint32_t n_rows, char *err, size_t errlen);

/*
 * Compare @m's scores with predictions recorded at export time: a CSV whose
 * header is the feature names (same order as the model) plus a last column
 * "xgb_prob"; one row per line, "nan" or an empty field for a missing
 * value. Catches a model file that changed after the samples were recorded
 * (which ctl_model_verify, reading the same file, cannot).
 * Returns 0, or -EPROTO (a score differs by more than @tol: row number and
 * both scores in @err), -EBADMSG (bad header or number: line and column in
 * @err), -errno when the file cannot be read, -EINVAL, -ENOMEM.
 * If @n_checked is not NULL it receives the number of rows compared.
 */
int ctl_model_check_samples(const struct ctl_model *m, const char *csv_path, float tol,
			    uint32_t *n_checked, char *err, size_t errlen);

/*
 * Read the samples CSV that ctl_model_check_samples() checks (same format
 * and same errors, header checked against @m's feature names) into
 * *@rows_out: *@n_rows rows of n_features + 1 floats (the features, then
 * xgb_prob), malloc'ed, the caller frees. Used to feed ctl_model_verify()
 * with real rows. Returns 0, -EBADMSG, -errno, -ENOMEM or -EINVAL.
 */
int ctl_model_read_samples(const struct ctl_model *m, const char *csv_path, float **rows_out,
			   uint32_t *n_rows, char *err, size_t errlen);

/*
 * Probability of fraud for one row of n_features floats (NaN = missing).
 * Read-only, no allocation, any thread. @row must hold n_features values.
 */
float ctl_model_score(const struct ctl_model *m, const float *row);

/* The raw margin (log-odds) for @row; ctl_model_score() is its sigmoid. */
float ctl_model_margin(const struct ctl_model *m, const float *row);

/*
 * The same margin by the pre-order walk, the one ctl_model_margin() takes
 * for a model deeper than its complete layout allows (8 levels); for
 * tests and the bench, which compare the two.
 */
float ctl_model_margin_walk(const struct ctl_model *m, const float *row);

/*
 * Saabas contributions of @row (see the file comment). Writes up to @max
 * (feature index, contribution) pairs into @feat_idx/@contrib, sorted by
 * contribution, largest (most towards fraud) first, ties by lower index;
 * every feature is a candidate, including ones with zero or negative
 * contribution, so with max >= n_features all features come back and
 * their sum plus ctl_model_bias() is the margin (within float rounding).
 * Returns the number written: min(max, n_features).
 * Read-only, no allocation, any thread. Cost ~ one score plus a sort of
 * n_features values.
 */
uint32_t ctl_model_reasons(const struct ctl_model *m, const float *row, uint32_t *feat_idx,
			   float *contrib, uint32_t max);

/* ctl_model_reasons() by the pre-order walk (see ctl_model_margin_walk()). */
uint32_t ctl_model_reasons_walk(const struct ctl_model *m, const float *row, uint32_t *feat_idx,
				float *contrib, uint32_t max);

/*
 * ctl_model_score() and ctl_model_reasons() of @row in one walk of the
 * trees: *@score and the reasons are exactly what the two calls give, for
 * about the cost of the reasons alone (one answer path per transaction).
 */
uint32_t ctl_model_score_reasons(const struct ctl_model *m, const float *row, float *score,
				 uint32_t *feat_idx, float *contrib, uint32_t max);

/* Saabas bias: logit(base_score) plus every tree's root expected value. */
float ctl_model_bias(const struct ctl_model *m);

/*
 * "<file name>@<16 hex digits>": the model file's base name and the FNV-1a
 * 64 hash of its bytes. Identifies a model in logs and decisions; a change
 * detector, not protection against tampering. Valid while @m lives.
 */
const char *ctl_model_version(const struct ctl_model *m);

uint32_t ctl_model_n_features(const struct ctl_model *m);
uint32_t ctl_model_n_trees(const struct ctl_model *m);
/* Feature name @i (< n_features) as configured, or NULL. */
const char *ctl_model_feature_name(const struct ctl_model *m, uint32_t i);

/*
 * Validate a pair of thresholds: both finite, 0 <= review < block <= 1.
 * Returns 0 or -EINVAL with both values named in @err.
 */
int ctl_thresholds_check(float review, float block, char *err, size_t errlen);

/*
 * score >= block -> CTL_BLOCK; else score >= review -> CTL_REVIEW; else
 * CTL_ALLOW. A NaN score fails safe to CTL_REVIEW. Thresholds are assumed
 * checked by ctl_thresholds_check() (with review >= block nothing is ever
 * REVIEW). Pure function.
 */
enum ctl_decision ctl_decide(float score, float review, float block);

/* "ALLOW", "REVIEW", "BLOCK", or "UNKNOWN" for any other value. */
const char *ctl_decision_name(enum ctl_decision d);

#endif /* CTL_MODEL_H */
