/*
 * test_model.c - ctl_model: the flat evaluator against XGBoost's C API,
 * the recorded samples, refusal of bad models, reasons and thresholds.
 * Uses the shipped demo model configs/models/fraud_model.json.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <xgboost/c_api.h>

#include "ctl_model.h"
#include "wr_test.h"

#define MODEL_PATH WR_SOURCE_ROOT "/configs/models/fraud_model.json"
#define SAMPLES_PATH WR_SOURCE_ROOT "/configs/models/fraud_samples.csv"
#define NF 12

static const char *const feats[NF] = {
	"txn_count_1h", "amount_sum_1h", "txn_count_24h", "amount_sum_24h",
	"secs_since_last_txn", "amount_to_avg_ratio", "new_country",
	"new_merchant", "amount", "hour_of_day", "account_age_days",
	"chargebacks_90d",
};

static char err[512];

static struct ctl_model *load_ok(const char *path)
{
	struct ctl_model *m = NULL;
	int rc = ctl_model_load(path, feats, NF, &m, err, sizeof(err));
	if (rc)
		fprintf(stderr, "load %s: %d %s\n", path, rc, err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

/* The sample rows (features only) and recorded probabilities. */
static uint32_t read_samples(float *rows, float *prob, uint32_t max)
{
	FILE *fp = fopen(SAMPLES_PATH, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	char line[1024];
	uint32_t n = 0;
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), fp));  /* header */
	while (n < max && fgets(line, sizeof(line), fp)) {
		char *p = line;
		for (int c = 0; c <= NF; c++) {
			char *tok = strsep(&p, ",\n");
			float v = (tok && *tok) ? strtof(tok, NULL) : NAN;
			if (c < NF)
				rows[n * NF + c] = v;
			else
				prob[n] = v;
		}
		n++;
	}
	fclose(fp);
	return n;
}

static char *tmp_path(void)
{
	static char p[64];
	snprintf(p, sizeof(p), "/tmp/test_model_XXXXXX");
	int fd = mkstemp(p);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	return p;
}

static void write_text(const char *path, const char *s, size_t n)
{
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	CU_ASSERT_EQUAL(fwrite(s, 1, n, fp), n);
	fclose(fp);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	CU_ASSERT_EQUAL((long)fread(b, 1, (size_t)n, fp), n);
	b[n] = 0;
	fclose(fp);
	*len = (size_t)n;
	return b;
}

static struct json_object *tree0(struct json_object *root)
{
	struct json_object *l, *g, *mo, *tr;
	json_object_object_get_ex(root, "learner", &l);
	json_object_object_get_ex(l, "gradient_booster", &g);
	json_object_object_get_ex(g, "model", &mo);
	json_object_object_get_ex(mo, "trees", &tr);
	return json_object_array_get_idx(tr, 0);
}

/* --------------------------------------------------------------- tests */

static void test_load_shipped_model_shape_and_version(void)
{
	struct ctl_model *m = load_ok(MODEL_PATH);
	CU_ASSERT_EQUAL(ctl_model_n_trees(m), 60);
	CU_ASSERT_EQUAL(ctl_model_n_features(m), NF);
	CU_ASSERT_STRING_EQUAL(ctl_model_feature_name(m, 11), "chargebacks_90d");
	CU_ASSERT_PTR_NULL(ctl_model_feature_name(m, 12));
	const char *v = ctl_model_version(m);
	CU_ASSERT_EQUAL(strncmp(v, "fraud_model.json@", 17), 0);
	CU_ASSERT_EQUAL(strlen(v), 17 + 16);
	CU_ASSERT_EQUAL(strspn(v + 17, "0123456789abcdef"), 16);
	ctl_model_destroy(m);
	ctl_model_destroy(NULL);
}

/*
 * Random rows built to hit the model's edges: values exactly at a split
 * threshold and one float below it, NaNs, and real sample values.
 */
static void test_flat_evaluator_equals_xgboost_c_api_on_5000_random_rows(void)
{
	enum { N = 5000 };
	struct ctl_model *m = load_ok(MODEL_PATH);
	static float samp[300 * NF], prob[300], rows[N * NF];
	uint32_t ns = read_samples(samp, prob, 300);
	CU_ASSERT_EQUAL_FATAL(ns, 200);

	/* thresholds per feature, from the file */
	static float thr[NF][256];
	uint32_t nthr[NF] = { 0 };
	struct json_object *root = json_object_from_file(MODEL_PATH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	struct json_object *l, *g, *mo, *tr;
	json_object_object_get_ex(root, "learner", &l);
	json_object_object_get_ex(l, "gradient_booster", &g);
	json_object_object_get_ex(g, "model", &mo);
	json_object_object_get_ex(mo, "trees", &tr);
	for (size_t t = 0; t < json_object_array_length(tr); t++) {
		struct json_object *tt = json_object_array_get_idx(tr, t), *lc, *si, *sc;
		json_object_object_get_ex(tt, "left_children", &lc);
		json_object_object_get_ex(tt, "split_indices", &si);
		json_object_object_get_ex(tt, "split_conditions", &sc);
		for (size_t i = 0; i < json_object_array_length(lc); i++) {
			if (json_object_get_int(json_object_array_get_idx(lc, i)) < 0)
				continue;
			int f = json_object_get_int(json_object_array_get_idx(si, i));
			if (nthr[f] < 256)
				thr[f][nthr[f]++] = strtof(json_object_get_string(json_object_array_get_idx(sc, i)), NULL);
		}
	}
	json_object_put(root);

	srand48(12345);
	for (uint32_t r = 0; r < N; r++)
		for (uint32_t f = 0; f < NF; f++) {
			double u = drand48();
			float v = samp[(lrand48() % ns) * NF + f];
			if (u < 0.12)
				v = NAN;
			else if (u < 0.40 && nthr[f])
				v = thr[f][lrand48() % nthr[f]];
			else if (u < 0.50 && nthr[f])
				v = nextafterf(thr[f][lrand48() % nthr[f]], -INFINITY);
			else if (u < 0.60 && !isnan(v))
				v *= (float)(0.5 + drand48());
			rows[r * NF + f] = v;
		}

	BoosterHandle h;
	DMatrixHandle dm;
	bst_ulong len;
	const float *pred;
	CU_ASSERT_EQUAL_FATAL(XGBoosterCreate(NULL, 0, &h), 0);
	CU_ASSERT_EQUAL_FATAL(XGBoosterLoadModel(h, MODEL_PATH), 0);
	CU_ASSERT_EQUAL_FATAL(XGDMatrixCreateFromMat(rows, N, NF, NAN, &dm), 0);
	CU_ASSERT_EQUAL_FATAL(XGBoosterPredict(h, dm, 0, 0, 0, &len, &pred), 0);
	CU_ASSERT_EQUAL_FATAL(len, N);
	float maxd = 0;
	uint32_t bad = 0, exact = 0, high = 0, walk_differs = 0;
	for (uint32_t r = 0; r < N; r++) {
		/* the complete layout (leaves at depths 1-3 padded down to 4)
		 * against the pre-order walk, margins and reasons bit for bit */
		float mg = ctl_model_margin(m, rows + r * NF);
		float mw = ctl_model_margin_walk(m, rows + r * NF);
		walk_differs += memcmp(&mg, &mw, sizeof(mg)) != 0;
		/* and the reasons: all features, their order and values */
		uint32_t ia[NF], ib[NF];
		float ca[NF], cb[NF];
		CU_ASSERT_EQUAL(ctl_model_reasons(m, rows + r * NF, ia, ca, NF), NF);
		CU_ASSERT_EQUAL(ctl_model_reasons_walk(m, rows + r * NF, ib, cb, NF), NF);
		walk_differs += memcmp(ia, ib, sizeof(ia)) != 0 || memcmp(ca, cb, sizeof(ca)) != 0;
		float s = ctl_model_score(m, rows + r * NF);
		float d = fabsf(s - pred[r]);
		maxd = d > maxd ? d : maxd;
		bad += !(d <= 1e-6f);
		exact += s == pred[r];
		high += s > 0.5f;
	}
	printf("\n    %u rows: max |diff| %g, bit-equal %u, score>0.5 %u\n", N, maxd, exact, high);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(walk_differs, 0);
	CU_ASSERT(high > 0);            /* the rows reach the fraud side too */
	XGDMatrixFree(dm);
	XGBoosterFree(h);

	CU_ASSERT_EQUAL(ctl_model_verify(m, MODEL_PATH, rows, N, err, sizeof(err)), 0);
	ctl_model_destroy(m);
}

static void test_samples_csv_scores_match_python_predictions(void)
{
	struct ctl_model *m = load_ok(MODEL_PATH);
	uint32_t n = 0;
	int rc = ctl_model_check_samples(m, SAMPLES_PATH, 1e-6f, &n, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(n, 200);

	/* independently of check_samples: both classes present, each to 1e-6 */
	static float rows[200 * NF], prob[200];
	CU_ASSERT_EQUAL_FATAL(read_samples(rows, prob, 200), 200);

	/* ctl_model_read_samples hands out the same rows, xgb_prob last */
	float *got = NULL;
	uint32_t ng = 0;
	CU_ASSERT_EQUAL_FATAL(ctl_model_read_samples(m, SAMPLES_PATH, &got, &ng, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ng, 200);
	uint32_t differ = 0;
	for (uint32_t r = 0; r < 200 && r < ng; r++) {
		for (uint32_t f = 0; f < NF; f++) {
			float a = got[r * (NF + 1) + f], b = rows[r * NF + f];
			differ += !(a == b || (isnan(a) && isnan(b)));
		}
		differ += got[r * (NF + 1) + NF] != prob[r];
	}
	CU_ASSERT_EQUAL(differ, 0);
	free(got);
	uint32_t nan_rows = 0, fraud = 0;
	for (uint32_t r = 0; r < 200; r++) {
		CU_ASSERT(fabsf(ctl_model_score(m, rows + r * NF) - prob[r]) <= 1e-6f);
		for (int f = 0; f < NF; f++)
			if (isnan(rows[r * NF + f])) {
				nan_rows++;
				break;
			}
		fraud += prob[r] > 0.5f;
	}
	CU_ASSERT(nan_rows >= 50);
	CU_ASSERT(fraud >= 10);
	CU_ASSERT_EQUAL(ctl_model_verify(m, MODEL_PATH, rows, 200, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ctl_model_verify(m, MODEL_PATH, NULL, 0, err, sizeof(err)), 0);
	ctl_model_destroy(m);
}

/*
 * A leaf edited after export (the busiest leaf of tree 0, +0.5): verifying
 * the loaded model against the edited file, or the edited model against
 * the original, fails naming a row and both scores; the edited model also
 * fails the recorded samples.
 */
static void test_verify_refuses_model_with_edited_leaf(void)
{
	struct json_object *root = json_object_from_file(MODEL_PATH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	struct json_object *t = tree0(root), *lc, *sc, *sh;
	json_object_object_get_ex(t, "left_children", &lc);
	json_object_object_get_ex(t, "split_conditions", &sc);
	json_object_object_get_ex(t, "sum_hessian", &sh);
	int best = -1;
	double bh = -1;
	for (size_t i = 0; i < json_object_array_length(lc); i++)
		if (json_object_get_int(json_object_array_get_idx(lc, i)) < 0 &&
		    json_object_get_double(json_object_array_get_idx(sh, i)) > bh) {
			bh = json_object_get_double(json_object_array_get_idx(sh, i));
			best = (int)i;
		}
	CU_ASSERT_FATAL(best > 0);
	double old = json_object_get_double(json_object_array_get_idx(sc, best));
	json_object_array_put_idx(sc, best, json_object_new_double(old + 0.5));
	char *bad = strdup(tmp_path());
	CU_ASSERT_EQUAL_FATAL(json_object_to_file_ext(bad, root, JSON_C_TO_STRING_PLAIN), 0);
	json_object_put(root);

	static float rows[200 * NF], prob[200];
	CU_ASSERT_EQUAL_FATAL(read_samples(rows, prob, 200), 200);

	struct ctl_model *good = load_ok(MODEL_PATH);
	int rc = ctl_model_verify(good, bad, rows, 200, err, sizeof(err));
	printf("\n    %s\n", err);
	CU_ASSERT_EQUAL(rc, -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "row "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "weir scores"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "XGBoost"));

	struct ctl_model *edited = load_ok(bad);
	CU_ASSERT_STRING_NOT_EQUAL(ctl_model_version(edited) + 0, ctl_model_version(good) + 0);
	rc = ctl_model_verify(edited, MODEL_PATH, rows, 200, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -EPROTO);
	rc = ctl_model_check_samples(edited, SAMPLES_PATH, 1e-6f, NULL, err, sizeof(err));
	printf("    %s\n", err);
	CU_ASSERT_EQUAL(rc, -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "recorded xgb_prob"));
	/* the edit itself is consistent: our evaluator still agrees with XGBoost */
	CU_ASSERT_EQUAL(ctl_model_verify(edited, bad, rows, 200, err, sizeof(err)), 0);

	ctl_model_destroy(good);
	ctl_model_destroy(edited);
	unlink(bad);
	free(bad);
}

static void test_wrong_feature_names_rejected_naming_the_feature(void)
{
	const char *renamed[NF];
	memcpy(renamed, feats, sizeof(renamed));
	renamed[3] = "amount_sum_24hr";
	struct ctl_model *m = (struct ctl_model *)1;
	CU_ASSERT_EQUAL(ctl_model_load(MODEL_PATH, renamed, NF, &m, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "feature 3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'amount_sum_24h'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'amount_sum_24hr'"));

	/* same names, two swapped: order matters */
	memcpy(renamed, feats, sizeof(renamed));
	renamed[6] = feats[7];
	renamed[7] = feats[6];
	CU_ASSERT_EQUAL(ctl_model_load(MODEL_PATH, renamed, NF, &m, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "feature 6"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'new_country'"));

	/* one feature short */
	CU_ASSERT_EQUAL(ctl_model_load(MODEL_PATH, feats, NF - 1, &m, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'chargebacks_90d'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "feature 11"));
}

static int load_text(const char *text, size_t n)
{
	char *p = tmp_path();
	write_text(p, text, n);
	struct ctl_model *m = NULL;
	int rc = ctl_model_load(p, feats, NF, &m, err, sizeof(err));
	ctl_model_destroy(m);
	unlink(p);
	return rc;
}

/* Load the shipped model with one edit applied to tree 0. */
static int load_edited(const char *key, int idx, struct json_object *val, const char *top_key,
		       struct json_object *top_val)
{
	struct json_object *root = json_object_from_file(MODEL_PATH);
	if (key) {
		struct json_object *a;
		json_object_object_get_ex(tree0(root), key, &a);
		json_object_array_put_idx(a, (size_t)idx, val);
	}
	if (top_key) {
		struct json_object *l, *o;
		json_object_object_get_ex(root, "learner", &l);
		json_object_object_get_ex(l, "objective", &o);
		json_object_object_add(o, top_key, top_val);
	}
	const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	int rc = load_text(s, strlen(s));
	json_object_put(root);
	return rc;
}

static void test_corrupt_or_truncated_json_rejected(void)
{
	size_t len;
	char *text = slurp(MODEL_PATH, &len);
	CU_ASSERT_EQUAL(load_text(text, len), 0);

	CU_ASSERT_EQUAL(load_text(text, len / 2), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated"));
	CU_ASSERT_EQUAL(load_text(text, len - 2), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated"));
	CU_ASSERT_EQUAL(load_text("", 0), -EBADMSG);
	CU_ASSERT_EQUAL(load_text("hello", 5), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not JSON"));
	CU_ASSERT_EQUAL(load_text("{\"learner\": 1}", 14), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"learner\""));
	text[len / 3] = '#';
	CU_ASSERT_EQUAL(load_text(text, len), -EBADMSG);
	free(text);

	/* structurally broken trees */
	CU_ASSERT_EQUAL(load_edited("left_children", 0, json_object_new_int(999), NULL, NULL), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "tree 0 node 0: bad children"));
	CU_ASSERT_EQUAL(load_edited("left_children", 1, json_object_new_int(1), NULL, NULL), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a tree"));
	CU_ASSERT_EQUAL(load_edited("split_indices", 0, json_object_new_int(12), NULL, NULL), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "split feature 12"));
	CU_ASSERT_EQUAL(load_edited("split_conditions", 0, json_object_new_string("x"), NULL, NULL), -EBADMSG);
	CU_ASSERT_EQUAL(load_edited("split_type", 0, json_object_new_int(1), NULL, NULL), -ENOTSUP);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "categorical"));
	CU_ASSERT_EQUAL(load_edited(NULL, 0, NULL, "name", json_object_new_string("reg:squarederror")), -ENOTSUP);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "reg:squarederror"));

	struct ctl_model *m = NULL;
	CU_ASSERT_EQUAL(ctl_model_load("/nonexistent/model.json", feats, NF, &m, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/model.json"));
	CU_ASSERT_EQUAL(ctl_model_load(MODEL_PATH, feats, 0, &m, err, sizeof(err)), -EINVAL);
}

static void test_thresholds_map_score_to_allow_review_block(void)
{
	CU_ASSERT_EQUAL(ctl_thresholds_check(0.3f, 0.8f, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ctl_thresholds_check(0.8f, 0.8f, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "review 0.8, block 0.8"));
	CU_ASSERT_EQUAL(ctl_thresholds_check(0.9f, 0.5f, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(ctl_thresholds_check(-0.1f, 0.5f, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(ctl_thresholds_check(0.1f, 1.5f, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(ctl_thresholds_check(NAN, 0.5f, err, sizeof(err)), -EINVAL);

	CU_ASSERT_EQUAL(ctl_decide(0.0f, 0.3f, 0.8f), CTL_ALLOW);
	CU_ASSERT_EQUAL(ctl_decide(nextafterf(0.3f, 0.0f), 0.3f, 0.8f), CTL_ALLOW);
	CU_ASSERT_EQUAL(ctl_decide(0.3f, 0.3f, 0.8f), CTL_REVIEW);
	CU_ASSERT_EQUAL(ctl_decide(nextafterf(0.8f, 0.0f), 0.3f, 0.8f), CTL_REVIEW);
	CU_ASSERT_EQUAL(ctl_decide(0.8f, 0.3f, 0.8f), CTL_BLOCK);
	CU_ASSERT_EQUAL(ctl_decide(1.0f, 0.3f, 0.8f), CTL_BLOCK);
	CU_ASSERT_EQUAL(ctl_decide(NAN, 0.3f, 0.8f), CTL_REVIEW);
	CU_ASSERT_STRING_EQUAL(ctl_decision_name(CTL_ALLOW), "ALLOW");
	CU_ASSERT_STRING_EQUAL(ctl_decision_name(CTL_REVIEW), "REVIEW");
	CU_ASSERT_STRING_EQUAL(ctl_decision_name(CTL_BLOCK), "BLOCK");
	CU_ASSERT_STRING_EQUAL(ctl_decision_name((enum ctl_decision)7), "UNKNOWN");
}

/*
 * Reasons: sorted by contribution, all features plus the bias add up to the
 * margin, top 3 is a prefix of the full list, and the values equal
 * XGBoost's own approximate (Saabas) contributions.
 */
static void test_reasons_sorted_sum_to_margin_and_match_xgboost_saabas(void)
{
	struct ctl_model *m = load_ok(MODEL_PATH);
	static float rows[200 * NF], prob[200];
	CU_ASSERT_EQUAL_FATAL(read_samples(rows, prob, 200), 200);

	BoosterHandle h;
	DMatrixHandle dm;
	bst_ulong len;
	const float *xc;
	CU_ASSERT_EQUAL_FATAL(XGBoosterCreate(NULL, 0, &h), 0);
	CU_ASSERT_EQUAL_FATAL(XGBoosterLoadModel(h, MODEL_PATH), 0);
	CU_ASSERT_EQUAL_FATAL(XGDMatrixCreateFromMat(rows, 200, NF, NAN, &dm), 0);
	/* option_mask 4|8: approximate feature contributions */
	CU_ASSERT_EQUAL_FATAL(XGBoosterPredict(h, dm, 4 | 8, 0, 0, &len, &xc), 0);
	CU_ASSERT_EQUAL_FATAL(len, 200 * (NF + 1));

	float maxd = 0;
	for (uint32_t r = 0; r < 200; r++) {
		const float *row = rows + r * NF;
		uint32_t idx[NF], idx3[3], seen = 0;
		float c[NF], c3[3];
		CU_ASSERT_EQUAL_FATAL(ctl_model_reasons(m, row, idx, c, NF), NF);
		CU_ASSERT_EQUAL_FATAL(ctl_model_reasons(m, row, idx3, c3, 3), 3);
		double sum = ctl_model_bias(m);
		for (int k = 0; k < NF; k++) {
			sum += c[k];
			seen |= 1u << idx[k];
			if (k > 0)
				CU_ASSERT(c[k - 1] >= c[k]);
			float d = fabsf(c[k] - xc[r * (NF + 1) + idx[k]]);
			maxd = d > maxd ? d : maxd;
		}
		CU_ASSERT_EQUAL(seen, (1u << NF) - 1);
		CU_ASSERT(fabs(sum - ctl_model_margin(m, row)) < 1e-4);
		CU_ASSERT(memcmp(idx, idx3, sizeof(idx3)) == 0);
		CU_ASSERT(memcmp(c, c3, sizeof(c3)) == 0);
		CU_ASSERT(fabsf(ctl_model_bias(m) - xc[r * (NF + 1) + NF]) < 1e-4f);
		CU_ASSERT(fabsf(1.0f / (1.0f + expf(-ctl_model_margin(m, row))) - ctl_model_score(m, row)) == 0);
		/* one walk for both: bit-identical to the two calls */
		uint32_t idx1[3];
		float c1[3], s1 = -1;
		CU_ASSERT_EQUAL(ctl_model_score_reasons(m, row, &s1, idx1, c1, 3), 3);
		float s0 = ctl_model_score(m, row);
		CU_ASSERT(memcmp(&s1, &s0, sizeof(s0)) == 0);
		CU_ASSERT(memcmp(idx1, idx3, sizeof(idx3)) == 0);
		CU_ASSERT(memcmp(c1, c3, sizeof(c3)) == 0);
	}
	printf("\n    max |weir - XGBoost approx contrib| %g\n", maxd);
	CU_ASSERT(maxd < 1e-4f);
	XGDMatrixFree(dm);
	XGBoosterFree(h);
	ctl_model_destroy(m);
}

static int reg(void)
{
	WR_SUITE("model",
		 WR_TEST(test_load_shipped_model_shape_and_version),
		 WR_TEST(test_flat_evaluator_equals_xgboost_c_api_on_5000_random_rows),
		 WR_TEST(test_samples_csv_scores_match_python_predictions),
		 WR_TEST(test_verify_refuses_model_with_edited_leaf),
		 WR_TEST(test_wrong_feature_names_rejected_naming_the_feature),
		 WR_TEST(test_corrupt_or_truncated_json_rejected),
		 WR_TEST(test_thresholds_map_score_to_allow_review_block),
		 WR_TEST(test_reasons_sorted_sum_to_margin_and_match_xgboost_saabas));
	return 0;
}

WR_TEST_MAIN(reg)
