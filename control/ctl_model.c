/*
 * ctl_model.c - XGBoost JSON model -> flat tree evaluator (see ctl_model.h).
 *
 * Layout: all trees' nodes in one set of arrays, each tree contiguous in
 * depth-first pre-order (a parent before its children, the left subtree
 * before the right), so a row's walk moves forward through memory.
 * Deleted or unreachable nodes of the file are dropped at load.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <xgboost/c_api.h>

#include "ctl_model.h"
#include "wr_common.h"

/*
 * One node, 16 bytes: four to a cache line, so a step of a walk reads one
 * line (and the row). Nodes are numbered in pre-order, so a node's left
 * child is the next node and only the right one is stored. A leaf has
 * thr = -inf (nothing is below it, NaN included) and no default-left bit,
 * so a step always goes "right", to itself: a walk can take a fixed number
 * of steps without testing for leaves.
 */
struct mnode {
	float thr;              /* go left when x < thr */
	uint32_t fd;            /* split feature (0 for a leaf) | MN_DEFAULT_LEFT */
	uint32_t right;         /* absolute index of the right child (leaf: itself) */
	float value;            /* leaf: output; inner node: Saabas expected value */
};
#define MN_DEFAULT_LEFT 0x80000000u   /* a missing (NaN) value goes left */
#define MN_FEAT(n) ((n)->fd & ~MN_DEFAULT_LEFT)
#define MN_LEAF(m, i) ((m)->node[i].right == (i))

struct ctl_model {
	uint32_t n_features;
	uint32_t n_trees;
	uint32_t n_nodes;
	float base_margin;      /* logit(base_score) */
	float bias;             /* base_margin + sum of root expected values */
	uint32_t *tree_root;    /* [n_trees] index of each tree's root */
	uint32_t *group_depth;  /* [n_trees / 4] deepest leaf of trees 4g..4g+3 */
	struct mnode *node;     /* [n_nodes] */
	/* The complete layout (see complete_layout()), when the deepest tree
	 * is at most CL_MAX_DEPTH deep: tree t's inner nodes at
	 * t * (2^cl_depth - 1), breadth first (children of i at 2i+1, 2i+2),
	 * its leaves at t * 2^cl_depth. NULL: only the pre-order walk. */
	uint32_t cl_depth;
	uint32_t *cl_fd;        /* split feature | MN_DEFAULT_LEFT */
	float *cl_thr;
	float *cl_val;          /* Saabas expected value (a padding node: its leaf's value) */
	float *cl_leaf;
	char **names;           /* [n_features] configured names */
	char *version;
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---------------------------------------------------------------- file */

static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "model %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int rc = -errno;
		close(fd);
		return fail(err, errlen, rc, "model %s: %s", path, strerror(-rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, -EINVAL, "model %s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > CTL_MODEL_MAX_FILE) {
		close(fd);
		return fail(err, errlen, -EFBIG, "model %s: %lld bytes, limit %u", path,
			    (long long)st.st_size, CTL_MODEL_MAX_FILE);
	}
	size_t n = (size_t)st.st_size;
	char *b = malloc(n + 1);
	if (!b) {
		close(fd);
		return fail(err, errlen, -ENOMEM, "model %s: out of memory", path);
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != n) {
		free(b);
		return fail(err, errlen, -EIO, "model %s: short read (%zu of %zu bytes)", path, got, n);
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* ---------------------------------------------------------------- JSON */

/* Parse context: where we are, for error messages. */
struct pctx {
	const char *path;
	char *err;
	size_t errlen;
};

static struct json_object *member(struct pctx *c, struct json_object *o, const char *key,
				  json_type type, const char *where, int *rc)
{
	struct json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type)) {
		*rc = fail(c->err, c->errlen, -EBADMSG, "model %s: %s: missing or mistyped \"%s\"",
			   c->path, where, key);
		return NULL;
	}
	return v;
}

/*
 * A number as a float. XGBoost writes floats in shortest round-trip form
 * and keeps many parameters as strings ("3.8803993E-3"); json-c keeps the
 * original text of parsed numbers, so both go through strtof and round
 * exactly once, as XGBoost's own reader does.
 */
static bool as_float(struct json_object *v, float *out)
{
	if (!v)
		return false;
	json_type t = json_object_get_type(v);
	if (t != json_type_double && t != json_type_int && t != json_type_string)
		return false;
	const char *s = json_object_get_string(v);
	char *end;
	errno = 0;
	float f = strtof(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE)
		return false;
	*out = f;
	return true;
}

static bool as_int64(struct json_object *v, int64_t *out)
{
	if (!v)
		return false;
	json_type t = json_object_get_type(v);
	if (t == json_type_boolean) {
		*out = json_object_get_boolean(v);
		return true;
	}
	if (t != json_type_int && t != json_type_string)
		return false;
	const char *s = json_object_get_string(v);
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno == ERANGE)
		return false;
	*out = x;
	return true;
}

/* The string-valued integer parameter @key of @o (XGBoost's "*_param"). */
static int param_int(struct pctx *c, struct json_object *o, const char *key, const char *where,
		     int64_t *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !as_int64(v, out))
		return fail(c->err, c->errlen, -EBADMSG, "model %s: %s: missing or bad \"%s\"",
			    c->path, where, key);
	return 0;
}

static struct json_object *node_array(struct pctx *c, struct json_object *tree, const char *key,
				      uint32_t n, uint32_t t, int *rc)
{
	char where[48];
	snprintf(where, sizeof(where), "tree %u", t);
	struct json_object *a = member(c, tree, key, json_type_array, where, rc);
	if (a && json_object_array_length(a) != n) {
		*rc = fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u: \"%s\" has %zu entries, num_nodes is %u",
			   c->path, t, key, json_object_array_length(a), n);
		return NULL;
	}
	return a;
}

/* --------------------------------------------------------------- model */

void ctl_model_destroy(struct ctl_model *m)
{
	if (!m)
		return;
	free(m->tree_root);
	free(m->group_depth);
	free(m->node);
	free(m->cl_fd);
	free(m->cl_thr);
	free(m->cl_val);
	free(m->cl_leaf);
	if (m->names)
		for (uint32_t i = 0; i < m->n_features; i++)
			free(m->names[i]);
	free(m->names);
	free(m->version);
	free(m);
}

/* Grow the node array to hold @need nodes. */
static int reserve_nodes(struct ctl_model *m, uint32_t *cap, uint32_t need)
{
	if (need <= *cap)
		return 0;
	uint32_t nc = *cap ? *cap : 1024;
	while (nc < need)
		nc *= 2;
	void *p = realloc(m->node, (size_t)nc * sizeof(*m->node));
	if (!p)
		return -ENOMEM;
	m->node = p;
	*cap = nc;
	return 0;
}

/*
 * Compile tree @t of the file into the flat arrays at m->n_nodes.
 * Checks that the child links form a tree rooted at node 0 (each node
 * reached at most once), so a hostile file cannot make a walk loop.
 */
static int compile_tree(struct pctx *c, struct ctl_model *m, struct json_object *tree, uint32_t t,
			uint32_t *cap)
{
	int rc = 0;
	char where[48];
	snprintf(where, sizeof(where), "tree %u", t);
	struct json_object *tp = member(c, tree, "tree_param", json_type_object, where, &rc);
	if (!tp)
		return rc;
	int64_t nn, nf, slv = 0;
	if ((rc = param_int(c, tp, "num_nodes", where, &nn)) ||
	    (rc = param_int(c, tp, "num_feature", where, &nf)))
		return rc;
	struct json_object *v;
	if (json_object_object_get_ex(tp, "size_leaf_vector", &v) && (!as_int64(v, &slv) || slv != 0))
		return fail(c->err, c->errlen, -ENOTSUP, "model %s: tree %u: vector leaves (size_leaf_vector %s) not supported",
			    c->path, t, json_object_get_string(v));
	if (nn < 1 || nn > INT32_MAX / 4)
		return fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u: num_nodes %" PRId64 " out of range",
			    c->path, t, nn);
	if (nf != m->n_features)
		return fail(c->err, c->errlen, -EINVAL, "model %s: tree %u: num_feature %" PRId64 ", configured vector has %u",
			    c->path, t, nf, m->n_features);
	uint32_t n = (uint32_t)nn;
	struct json_object *lc = node_array(c, tree, "left_children", n, t, &rc);
	struct json_object *rcv = lc ? node_array(c, tree, "right_children", n, t, &rc) : NULL;
	struct json_object *si = rcv ? node_array(c, tree, "split_indices", n, t, &rc) : NULL;
	struct json_object *sc = si ? node_array(c, tree, "split_conditions", n, t, &rc) : NULL;
	struct json_object *dl = sc ? node_array(c, tree, "default_left", n, t, &rc) : NULL;
	struct json_object *sh = dl ? node_array(c, tree, "sum_hessian", n, t, &rc) : NULL;
	if (!sh)
		return rc;
	struct json_object *st;
	if (json_object_object_get_ex(tree, "split_type", &st)) {
		if (!json_object_is_type(st, json_type_array) || json_object_array_length(st) != n)
			return fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u: bad \"split_type\"", c->path, t);
		for (uint32_t i = 0; i < n; i++) {
			int64_t x;
			if (!as_int64(json_object_array_get_idx(st, i), &x) || x != 0)
				return fail(c->err, c->errlen, -ENOTSUP, "model %s: tree %u node %u: categorical split not supported",
					    c->path, t, i);
		}
	}

	/* Read the file's node table. */
	int32_t *fl = malloc(n * sizeof(*fl)), *fr = malloc(n * sizeof(*fr));
	uint32_t *newid = malloc(n * sizeof(*newid)), *stack = malloc(n * sizeof(*stack));
	uint32_t *dstack = malloc(n * sizeof(*dstack)), depth = 0;
	double *hess = malloc(n * sizeof(*hess));
	if (!fl || !fr || !newid || !stack || !dstack || !hess) {
		rc = fail(c->err, c->errlen, -ENOMEM, "model %s: out of memory", c->path);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		int64_t l, r;
		float h;
		if (!as_int64(json_object_array_get_idx(lc, i), &l) ||
		    !as_int64(json_object_array_get_idx(rcv, i), &r) ||
		    !as_float(json_object_array_get_idx(sh, i), &h)) {
			rc = fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u node %u: bad child or sum_hessian",
				  c->path, t, i);
			goto out;
		}
		bool leaf = l == -1 && r == -1;
		if (!leaf && (l < 1 || l >= n || r < 1 || r >= n || l == r)) {
			rc = fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u node %u: bad children %" PRId64 ", %" PRId64,
				  c->path, t, i, l, r);
			goto out;
		}
		fl[i] = (int32_t)l;
		fr[i] = (int32_t)r;
		hess[i] = h;
		newid[i] = UINT32_MAX;
	}

	/* Pre-order walk from the root assigns flat indices. */
	uint32_t base = m->n_nodes, cnt = 0, sp = 0;
	dstack[sp] = 0;
	stack[sp++] = 0;
	while (sp) {
		uint32_t i = stack[--sp], di = dstack[sp];
		depth = di > depth ? di : depth;
		if (newid[i] != UINT32_MAX) {
			rc = fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u: node %u reached twice (not a tree)",
				  c->path, t, i);
			goto out;
		}
		newid[i] = base + cnt++;
		if (fl[i] >= 0) {
			if (sp + 2 > n) {
				rc = fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u: node links do not form a tree",
					  c->path, t);
				goto out;
			}
			dstack[sp] = di + 1;
			stack[sp++] = (uint32_t)fr[i];
			dstack[sp] = di + 1;
			stack[sp++] = (uint32_t)fl[i];
		}
	}
	if ((uint64_t)base + cnt > INT32_MAX) {
		rc = fail(c->err, c->errlen, -EFBIG, "model %s: too many nodes", c->path);
		goto out;
	}
	if (reserve_nodes(m, cap, base + cnt) != 0) {
		rc = fail(c->err, c->errlen, -ENOMEM, "model %s: out of memory", c->path);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = newid[i];
		if (k == UINT32_MAX)
			continue;       /* deleted / unreachable */
		float cond;
		int64_t f = 0, d = 0;
		if (!as_float(json_object_array_get_idx(sc, i), &cond) ||
		    !as_int64(json_object_array_get_idx(si, i), &f) ||
		    !as_int64(json_object_array_get_idx(dl, i), &d)) {
			rc = fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u node %u: bad split_conditions, split_indices or default_left",
				  c->path, t, i);
			goto out;
		}
		if (fl[i] < 0) {
			/* XGBoost keeps a leaf's value in its condition */
			m->node[k] = (struct mnode){ -INFINITY, 0, k, cond };
		} else {
			if (f < 0 || f >= m->n_features) {
				rc = fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u node %u: split feature %" PRId64 " outside 0..%u",
					  c->path, t, i, f, m->n_features - 1);
				goto out;
			}
			/* pre-order: the left child is the next node */
			if (newid[fl[i]] != k + 1) {
				rc = fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u node %u: left child not next in pre-order",
					  c->path, t, i);
				goto out;
			}
			m->node[k] = (struct mnode){ cond, (uint32_t)f | (d != 0 ? MN_DEFAULT_LEFT : 0),
						     newid[fr[i]], 0.0f };
		}
	}
	/*
	 * Saabas expected values, children before parents (reverse pre-order):
	 * the hessian-weighted mean of the subtree's leaves, as XGBoost's
	 * approx_contribs computes them. A parent's cover is the sum of its
	 * children's, so the children's hessians are the weights.
	 */
	{
		double *cover = malloc(cnt * sizeof(*cover));
		if (!cover) {
			rc = fail(c->err, c->errlen, -ENOMEM, "model %s: out of memory", c->path);
			goto out;
		}
		for (uint32_t i = 0; i < n; i++)
			if (newid[i] != UINT32_MAX)
				cover[newid[i] - base] = hess[i];
		for (uint32_t k = base + cnt; k-- > base;) {
			if (MN_LEAF(m, k))
				continue;
			uint32_t l = k + 1, r = m->node[k].right;
			double hl = cover[l - base], hr = cover[r - base];
			float vl = m->node[l].value, vr = m->node[r].value;
			double v = hl + hr > 0 ? (hl * vl + hr * vr) / (hl + hr)
					       : 0.5 * ((double)vl + vr);
			m->node[k].value = (float)v;
		}
		free(cover);
	}
	m->tree_root[t] = base;
	m->n_nodes = base + cnt;
	if (depth > m->group_depth[t / 4])
		m->group_depth[t / 4] = depth;
out:
	free(dstack);
	free(fl);
	free(fr);
	free(newid);
	free(stack);
	free(hess);
	return rc;
}

/* Deepest tree the complete layout takes: 255 inner nodes and 256 leaves,
 * 4 KB a tree; and the most it may take in all. Other models keep the
 * pre-order walk only. */
#define CL_MAX_DEPTH 8u
#define CL_MAX_BYTES ((size_t)64 << 20)

/* Fill tree position @pos (level @lvl of @d) of the complete layout at
 * @fd/@thr/@leaf from flat node @k. A leaf above the last level fills
 * every position below it with itself, so whichever way those steps go
 * they end at its value. */
static void cl_fill(const struct ctl_model *m, uint32_t t, uint32_t pos, uint32_t lvl, uint32_t k)
{
	const uint32_t d = m->cl_depth, inner = (1u << d) - 1;
	if (lvl == d) {
		m->cl_leaf[((size_t)t << d) + pos - inner] = m->node[k].value;
		return;
	}
	bool is_leaf = MN_LEAF(m, k);
	size_t at = (size_t)t * inner + pos;
	/* padding: feature 0, and its value is the leaf's, so the Saabas
	 * contribution of a step through it is (double)v - v = +0.0 to
	 * feature 0, as a leaf's step to itself in the pre-order walk */
	m->cl_fd[at] = is_leaf ? 0 : m->node[k].fd;
	m->cl_thr[at] = is_leaf ? 0.0f : m->node[k].thr;
	m->cl_val[at] = m->node[k].value;
	cl_fill(m, t, 2 * pos + 1, lvl + 1, is_leaf ? k : k + 1);
	cl_fill(m, t, 2 * pos + 2, lvl + 1, is_leaf ? k : m->node[k].right);
}

/*
 * Every tree padded to the deepest tree's depth D and laid out breadth
 * first: a step is then i = 2i + 1 (left) or 2i + 2 (right) from one
 * feature and one threshold, with no child index to load, and after D
 * steps i - (2^D - 1) is the leaf. Returns -ENOMEM; a model deeper than
 * CL_MAX_DEPTH gets no layout (0).
 */
static int complete_layout(struct ctl_model *m)
{
	uint32_t d = 0;
	for (uint32_t g = 0; g <= m->n_trees / 4; g++)
		d = m->group_depth[g] > d ? m->group_depth[g] : d;
	if (d > CL_MAX_DEPTH)
		return 0;
	size_t inner = ((size_t)1 << d) - 1, leaves = (size_t)1 << d;
	/* nor when padding would blow a large model up (a million-tree file
	 * is accepted): the walk needs no more memory than the file. The
	 * bound also keeps every layout index within 32 bits. */
	if ((size_t)m->n_trees * (inner * 12 + leaves * 4) > CL_MAX_BYTES)
		return 0;
	m->cl_fd = calloc(m->n_trees * inner + 1, sizeof(*m->cl_fd));
	m->cl_thr = calloc(m->n_trees * inner + 1, sizeof(*m->cl_thr));
	m->cl_val = calloc(m->n_trees * inner + 1, sizeof(*m->cl_val));
	m->cl_leaf = calloc(m->n_trees * leaves, sizeof(*m->cl_leaf));
	if (!m->cl_fd || !m->cl_thr || !m->cl_val || !m->cl_leaf)
		return -ENOMEM;
	m->cl_depth = d;
	for (uint32_t t = 0; t < m->n_trees; t++)
		cl_fill(m, t, 0, 0, m->tree_root[t]);
	return 0;
}

static int check_names(struct pctx *c, struct json_object *learner, const char *const *features,
		       uint32_t n_features)
{
	struct json_object *fn;
	if (!json_object_object_get_ex(learner, "feature_names", &fn) ||
	    !json_object_is_type(fn, json_type_array) || json_object_array_length(fn) == 0)
		return fail(c->err, c->errlen, -EINVAL,
			    "model %s: has no feature_names, cannot check it against the configured vector (train with named features)",
			    c->path);
	size_t mn = json_object_array_length(fn);
	size_t lim = mn > n_features ? mn : n_features;
	for (size_t i = 0; i < lim; i++) {
		struct json_object *v = i < mn ? json_object_array_get_idx(fn, i) : NULL;
		if (v && !json_object_is_type(v, json_type_string))
			return fail(c->err, c->errlen, -EBADMSG, "model %s: feature_names[%zu] is not a string",
				    c->path, i);
		const char *mname = v ? json_object_get_string(v) : NULL;
		const char *cname = i < n_features ? features[i] : NULL;
		if (mname && cname && strcmp(mname, cname) == 0)
			continue;
		if (!cname)
			return fail(c->err, c->errlen, -EINVAL,
				    "model %s: feature %zu: model has '%s' but the configured vector ends after %u features",
				    c->path, i, mname, n_features);
		if (!mname)
			return fail(c->err, c->errlen, -EINVAL,
				    "model %s: feature %zu: configured '%s' but the model ends after %zu features",
				    c->path, i, cname, mn);
		return fail(c->err, c->errlen, -EINVAL,
			    "model %s: feature %zu differs: model has '%s', configured vector has '%s'",
			    c->path, i, mname, cname);
	}
	return 0;
}

static int build(struct pctx *c, struct json_object *root, struct ctl_model *m,
		 const char *const *features)
{
	int rc = 0;
	struct json_object *learner = member(c, root, "learner", json_type_object, "top level", &rc);
	if (!learner)
		return rc;
	if ((rc = check_names(c, learner, features, m->n_features)))
		return rc;

	struct json_object *obj = member(c, learner, "objective", json_type_object, "learner", &rc);
	struct json_object *oname = obj ? member(c, obj, "name", json_type_string, "learner.objective", &rc) : NULL;
	if (!oname)
		return rc;
	if (strcmp(json_object_get_string(oname), "binary:logistic") != 0)
		return fail(c->err, c->errlen, -ENOTSUP, "model %s: objective '%s' not supported (only binary:logistic)",
			    c->path, json_object_get_string(oname));

	struct json_object *lmp = member(c, learner, "learner_model_param", json_type_object, "learner", &rc);
	if (!lmp)
		return rc;
	int64_t nf, ncls = 0, ntgt = 1;
	if ((rc = param_int(c, lmp, "num_feature", "learner_model_param", &nf)))
		return rc;
	struct json_object *v;
	if (json_object_object_get_ex(lmp, "num_class", &v) && (!as_int64(v, &ncls) || ncls > 1))
		return fail(c->err, c->errlen, -ENOTSUP, "model %s: num_class %s not supported",
			    c->path, json_object_get_string(v));
	if (json_object_object_get_ex(lmp, "num_target", &v) && (!as_int64(v, &ntgt) || ntgt != 1))
		return fail(c->err, c->errlen, -ENOTSUP, "model %s: num_target %s not supported",
			    c->path, json_object_get_string(v));
	if (nf != m->n_features)
		return fail(c->err, c->errlen, -EINVAL, "model %s: num_feature %" PRId64 ", configured vector has %u",
			    c->path, nf, m->n_features);
	/*
	 * XGBoost 1.7 stores base_score as a probability in a string and turns
	 * it into a margin with its float ProbToMargin: -log(1/p - 1).
	 */
	float bs;
	if (!json_object_object_get_ex(lmp, "base_score", &v) || !as_float(v, &bs) || !(bs > 0.0f && bs < 1.0f))
		return fail(c->err, c->errlen, -EBADMSG, "model %s: learner_model_param.base_score missing or not in (0,1)",
			    c->path);
	m->base_margin = -logf(1.0f / bs - 1.0f);

	struct json_object *gb = member(c, learner, "gradient_booster", json_type_object, "learner", &rc);
	struct json_object *gname = gb ? member(c, gb, "name", json_type_string, "gradient_booster", &rc) : NULL;
	if (!gname)
		return rc;
	if (strcmp(json_object_get_string(gname), "gbtree") != 0)
		return fail(c->err, c->errlen, -ENOTSUP, "model %s: booster '%s' not supported (only gbtree)",
			    c->path, json_object_get_string(gname));
	struct json_object *gm = member(c, gb, "model", json_type_object, "gradient_booster", &rc);
	struct json_object *trees = gm ? member(c, gm, "trees", json_type_array, "gradient_booster.model", &rc) : NULL;
	struct json_object *info = trees ? member(c, gm, "tree_info", json_type_array, "gradient_booster.model", &rc) : NULL;
	if (!info)
		return rc;
	size_t nt = json_object_array_length(trees);
	if (nt == 0 || nt > 1000000 || json_object_array_length(info) != nt)
		return fail(c->err, c->errlen, -EBADMSG, "model %s: %zu trees with %zu tree_info entries",
			    c->path, nt, json_object_array_length(info));
	struct json_object *gmp;
	int64_t ntp;
	if (json_object_object_get_ex(gm, "gbtree_model_param", &gmp) &&
	    json_object_object_get_ex(gmp, "num_trees", &v) && as_int64(v, &ntp) && ntp != (int64_t)nt)
		return fail(c->err, c->errlen, -EBADMSG, "model %s: num_trees %" PRId64 " but %zu trees stored",
			    c->path, ntp, nt);
	m->n_trees = (uint32_t)nt;
	m->tree_root = calloc(nt, sizeof(*m->tree_root));
	m->group_depth = calloc(nt / 4 + 1, sizeof(*m->group_depth));
	if (!m->tree_root || !m->group_depth)
		return fail(c->err, c->errlen, -ENOMEM, "model %s: out of memory", c->path);
	uint32_t cap = 0;
	double bias = m->base_margin;
	for (uint32_t t = 0; t < nt; t++) {
		int64_t group;
		if (!as_int64(json_object_array_get_idx(info, t), &group) || group != 0)
			return fail(c->err, c->errlen, -ENOTSUP, "model %s: tree %u: output group %s (one output only)",
				    c->path, t, json_object_get_string(json_object_array_get_idx(info, t)));
		struct json_object *tree = json_object_array_get_idx(trees, t);
		if (!json_object_is_type(tree, json_type_object))
			return fail(c->err, c->errlen, -EBADMSG, "model %s: tree %u is not an object", c->path, t);
		if ((rc = compile_tree(c, m, tree, t, &cap)))
			return rc;
		bias += m->node[m->tree_root[t]].value;
	}
	m->bias = (float)bias;
	return 0;
}

int ctl_model_load(const char *path, const char *const *features, uint32_t n_features,
		   struct ctl_model **out, char *err, size_t errlen)
{
	if (!path || !features || !out || n_features == 0)
		return fail(err, errlen, -EINVAL, "model: NULL path, features or out, or no features");
	if (n_features > CTL_MODEL_MAX_FEATURES)
		return fail(err, errlen, -EINVAL, "model %s: %u features, limit %u", path, n_features,
			    CTL_MODEL_MAX_FEATURES);
	for (uint32_t i = 0; i < n_features; i++)
		if (!features[i] || !features[i][0])
			return fail(err, errlen, -EINVAL, "model %s: configured feature %u is NULL or empty", path, i);
	*out = NULL;

	char *buf = NULL;
	size_t len = 0;
	int rc = read_file(path, &buf, &len, err, errlen);
	if (rc)
		return rc;

	struct pctx c = { .path = path, .err = err, .errlen = errlen };
	struct json_tokener *tok = json_tokener_new();
	if (!tok) {
		free(buf);
		return fail(err, errlen, -ENOMEM, "model %s: out of memory", path);
	}
	struct json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || je != json_tokener_success) {
		free(buf);
		json_object_put(root);
		if (je == json_tokener_continue || len == 0)
			return fail(err, errlen, -EBADMSG, "model %s: truncated JSON (input ends at byte %zu)", path, len);
		return fail(err, errlen, -EBADMSG, "model %s: not JSON: %s near byte %zu", path,
			    json_tokener_error_desc(je), end);
	}
	for (size_t i = end; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t') {
			free(buf);
			json_object_put(root);
			return fail(err, errlen, -EBADMSG, "model %s: trailing data after the JSON at byte %zu", path, i);
		}

	struct ctl_model *m = calloc(1, sizeof(*m));
	if (!m) {
		rc = fail(err, errlen, -ENOMEM, "model %s: out of memory", path);
		goto out;
	}
	m->n_features = n_features;
	if ((rc = build(&c, root, m, features)))
		goto out;
	if (complete_layout(m)) {
		rc = fail(err, errlen, -ENOMEM, "model %s: out of memory", path);
		goto out;
	}

	m->names = calloc(n_features, sizeof(*m->names));
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t vlen = strlen(base) + 18;
	m->version = malloc(vlen);
	if (!m->names || !m->version) {
		rc = fail(err, errlen, -ENOMEM, "model %s: out of memory", path);
		goto out;
	}
	snprintf(m->version, vlen, "%s@%016" PRIx64, base, wr_fnv1a64(buf, len));
	for (uint32_t i = 0; i < n_features; i++)
		if (!(m->names[i] = strdup(features[i]))) {
			rc = fail(err, errlen, -ENOMEM, "model %s: out of memory", path);
			goto out;
		}
	*out = m;
	m = NULL;
out:
	ctl_model_destroy(m);
	json_object_put(root);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------- scoring */

/* One step down from node @i (a leaf stays put). */
static inline uint32_t step(const struct ctl_model *m, uint32_t i, const float *row)
{
	const struct mnode *n = &m->node[i];
	float x = row[MN_FEAT(n)];
	/* x < thr is false for NaN, so a missing value goes by default_left */
	bool go_left = (x < n->thr) | (isnan(x) & (n->fd >> 31));
	return go_left ? i + 1 : n->right;
}

/*
 * The lock-step group of trees starting at tree @t (a multiple of four, at
 * least four trees left): eight (two groups of four) where there are
 * eight, else four, in *@nt; returns their depth, the deeper group's.
 */
static inline uint32_t lane_group(const struct ctl_model *m, uint32_t t, uint32_t *nt)
{
	uint32_t depth = m->group_depth[t / 4];
	*nt = t + 8 <= m->n_trees ? 8 : 4;
	if (*nt == 8 && m->group_depth[t / 4 + 1] > depth)
		depth = m->group_depth[t / 4 + 1];
	return depth;
}

/* Trees @t .. @t + @nt - 1 of ctl_model_margin() in lock step for @depth
 * steps (@nt a constant where it is called, so the lanes stay in
 * registers); their leaves added to @margin in tree order. */
static inline __attribute__((always_inline))
float margin_lanes(const struct ctl_model *m, const float *row, float margin, uint32_t t,
		   uint32_t nt, uint32_t depth)
{
	uint32_t cur[8];
	for (uint32_t l = 0; l < nt; l++)
		cur[l] = m->tree_root[t + l];
	for (uint32_t k = 0; k < depth; k++)
		for (uint32_t l = 0; l < nt; l++)
			cur[l] = step(m, cur[l], row);
	for (uint32_t l = 0; l < nt; l++)
		margin += m->node[cur[l]].value;
	return margin;
}

/*
 * Eight trees (two groups of four; four at the end) are walked in lock
 * step for their groups' depth: the dependent load chains overlap instead
 * of each waiting on the last, and there is no data-dependent branch.
 * Leaves are summed in tree order, in float, as XGBoost's predictor does,
 * so scores match it bit for bit.
 * Measured (bench_model, shipped model: 60 trees of depth 4, 2-core dev
 * VM): 0.63 us/row with eight lanes and 16-byte nodes, against 0.83 with
 * four lanes and an array per node field; ~1.2 us one tree at a time.
 */
float ctl_model_margin_walk(const struct ctl_model *m, const float *row)
{
	float margin = m->base_margin;
	uint32_t t = 0;
	while (t + 4 <= m->n_trees) {
		uint32_t nt, depth = lane_group(m, t, &nt);
		margin = nt == 8 ? margin_lanes(m, row, margin, t, 8, depth)
				 : margin_lanes(m, row, margin, t, 4, depth);
		t += nt;
	}
	for (; t < m->n_trees; t++) {
		uint32_t i = m->tree_root[t];
		for (uint32_t k = m->group_depth[t / 4]; k; k--)
			i = step(m, i, row);
		margin += m->node[i].value;
	}
	return margin;
}

/* One step in the complete layout: from inner node @i of the tree whose
 * inner nodes start at @fd/@thr, to 2i+1 or 2i+2. */
static inline uint32_t cl_step(const uint32_t *fd, const float *thr, uint32_t i, const float *row)
{
	uint32_t f = fd[i];
	float x = row[f & ~MN_DEFAULT_LEFT];
	/* x < thr is false for NaN, so a missing value goes by default_left */
	uint32_t left = (x < thr[i]) | (isnan(x) & (f >> 31));
	return 2 * i + 2 - left;
}

/*
 * GCC 12 -march=native turns the lane loops below into AVX-512 gathers
 * (vpgatherqd / vgatherqps) with the lanes kept on the stack; on the Xeon
 * of session 12 that took 0.52 us/row against 0.34 for the scalar lanes
 * (bench_model), so the loop vectorizer is off for the functions that walk it.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define CL_SCALAR __attribute__((optimize("no-tree-vectorize")))
#else
#define CL_SCALAR
#endif

/* Trees @t .. @t + @nt - 1 of ctl_model_margin() in lock step, their
 * leaves added to @margin in tree order (@nt a constant where it is
 * called, so the lanes stay in registers). */
static inline __attribute__((always_inline))
float margin_cl_lanes(const struct ctl_model *m, const float *row, float margin, uint32_t t,
		      uint32_t nt)
{
	const uint32_t d = m->cl_depth, inner = (1u << d) - 1;
	uint32_t cur[8];
	for (uint32_t l = 0; l < nt; l++)
		cur[l] = 0;
	for (uint32_t k = 0; k < d; k++)
		for (uint32_t l = 0; l < nt; l++)
			cur[l] = cl_step(m->cl_fd + (t + l) * inner,
					 m->cl_thr + (t + l) * inner, cur[l], row);
	for (uint32_t l = 0; l < nt; l++)
		margin += m->cl_leaf[((t + l) << d) + cur[l] - inner];
	return margin;
}

/*
 * Eight trees in lock step through the complete layout (one at a time for
 * the last n_trees % 8), D steps each: the eight dependent load chains
 * overlap, and a step has no data-dependent branch and no child index to
 * load. Leaves added in tree order, in float, as in
 * ctl_model_margin_walk() and XGBoost's predictor, so all three agree bit
 * for bit. Measured (bench_model, shipped model: 60 trees, depth 4):
 * 0.34-0.36 us/row on session 12's Xeon, against 0.56 for the pre-order
 * walk as GCC vectorized it and 1.07 for it scalar.
 */
CL_SCALAR
float ctl_model_margin(const struct ctl_model *m, const float *row)
{
	if (!m->cl_fd)
		return ctl_model_margin_walk(m, row);
	float margin = m->base_margin;
	uint32_t t = 0;
	for (; t + 8 <= m->n_trees; t += 8)
		margin = margin_cl_lanes(m, row, margin, t, 8);
	for (; t < m->n_trees; t++)
		margin = margin_cl_lanes(m, row, margin, t, 1);
	return margin;
}

float ctl_model_score(const struct ctl_model *m, const float *row)
{
	return 1.0f / (1.0f + expf(-ctl_model_margin(m, row)));
}

float ctl_model_bias(const struct ctl_model *m)
{
	return m->bias;
}

#define EXPLAIN_DEPTH_MAX 32   /* deeper groups take the one-tree-at-a-time walk */

/* One tree of explain_walk(), alone. */
static float explain_tree(const struct ctl_model *m, uint32_t t, const float *row, double *acc,
			  float margin)
{
	uint32_t i = m->tree_root[t];
	while (!MN_LEAF(m, i)) {
		uint32_t next = step(m, i, row);
		acc[MN_FEAT(&m->node[i])] += (double)m->node[next].value - m->node[i].value;
		i = next;
	}
	return margin + m->node[i].value;
}

/* Trees @t .. @t + @nt - 1 of explain_walk() in lock step for @depth steps
 * (@nt a constant where it is called, so the lanes stay in registers). */
static inline __attribute__((always_inline))
float explain_lanes(const struct ctl_model *m, const float *row, double *acc, float margin,
		    uint32_t t, uint32_t nt, uint32_t depth)
{
	uint32_t p[8][EXPLAIN_DEPTH_MAX + 1], cur[8];
	for (uint32_t l = 0; l < nt; l++)
		p[l][0] = cur[l] = m->tree_root[t + l];
	/* the walk reads cur[] (registers); the path is only written */
	for (uint32_t k = 0; k < depth; k++) {
		for (uint32_t l = 0; l < nt; l++) {
			cur[l] = step(m, cur[l], row);
			p[l][k + 1] = cur[l];
		}
	}
	for (uint32_t l = 0; l < nt; l++) {
		for (uint32_t k = 0; k < depth; k++) {
			const struct mnode *n = &m->node[p[l][k]];
			acc[MN_FEAT(n)] += (double)m->node[p[l][k + 1]].value - n->value;
		}
		margin += m->node[p[l][depth]].value;
	}
	return margin;
}

/*
 * Walk every tree to its leaf, adding each split's Saabas contribution to
 * @acc (n_features doubles, zeroed here) and each leaf's value to the
 * returned margin, in tree order and in float: the same sum as
 * ctl_model_margin(), so the same score.
 * Eight (or four) trees are walked in lock step first, as in
 * ctl_model_margin(), with their paths recorded; then the contributions
 * are added tree by tree in path order, which is the order of a walk of
 * one tree at a time, so the sums are bit for bit what that walk gives. A
 * leaf steps to itself, and its step adds (double)v - v = +0.0 to acc[0]
 * (leaves have feature 0), which changes nothing (acc never holds -0.0),
 * so no branch on the depth.
 */
static float explain_walk(const struct ctl_model *m, const float *row, double *acc)
{
	float margin = m->base_margin;
	uint32_t t = 0;
	for (uint32_t f = 0; f < m->n_features; f++)
		acc[f] = 0.0;
	while (t + 4 <= m->n_trees) {
		uint32_t nt, depth = lane_group(m, t, &nt);
		if (depth > EXPLAIN_DEPTH_MAX) {
			for (uint32_t k = 0; k < nt; k++)
				margin = explain_tree(m, t + k, row, acc, margin);
		} else if (nt == 8) {
			margin = explain_lanes(m, row, acc, margin, t, 8, depth);
		} else {
			margin = explain_lanes(m, row, acc, margin, t, 4, depth);
		}
		t += nt;
	}
	for (; t < m->n_trees; t++)
		margin = explain_tree(m, t, row, acc, margin);
	return margin;
}

/* Trees @t .. @t + @nt - 1 of explain_layout() in lock step, their paths
 * recorded (@nt a constant where it is called). */
static inline __attribute__((always_inline))
float explain_cl_lanes(const struct ctl_model *m, const float *row, double *acc, float margin,
		       uint32_t t, uint32_t nt)
{
	const uint32_t d = m->cl_depth, inner = (1u << d) - 1;
	uint32_t p[8][CL_MAX_DEPTH + 1], cur[8];
	for (uint32_t l = 0; l < nt; l++)
		p[l][0] = cur[l] = 0;
	for (uint32_t k = 0; k < d; k++)
		for (uint32_t l = 0; l < nt; l++) {
			cur[l] = cl_step(m->cl_fd + (size_t)(t + l) * inner,
					 m->cl_thr + (size_t)(t + l) * inner, cur[l], row);
			p[l][k + 1] = cur[l];
		}
	for (uint32_t l = 0; l < nt; l++) {
		const uint32_t *fd = m->cl_fd + (size_t)(t + l) * inner;
		const float *val = m->cl_val + (size_t)(t + l) * inner;
		const float *leaf = m->cl_leaf + ((size_t)(t + l) << d);
		for (uint32_t k = 0; k < d; k++) {
			uint32_t i = p[l][k], c = p[l][k + 1];
			float vc = k + 1 < d ? val[c] : leaf[c - inner];
			acc[fd[i] & ~MN_DEFAULT_LEFT] += (double)vc - val[i];
		}
		margin += leaf[cur[l] - inner];
	}
	return margin;
}

/*
 * explain_walk() through the complete layout: the same contributions added
 * in the same order (tree by tree, each in path order; the padding adds
 * +0.0 to feature 0 as a leaf's self-steps do there) and the same margin,
 * so bit for bit what explain_walk() gives, with branch-free steps.
 */
CL_SCALAR
static float explain_layout(const struct ctl_model *m, const float *row, double *acc)
{
	float margin = m->base_margin;
	for (uint32_t f = 0; f < m->n_features; f++)
		acc[f] = 0.0;
	uint32_t t = 0;
	for (; t + 8 <= m->n_trees; t += 8)
		margin = explain_cl_lanes(m, row, acc, margin, t, 8);
	for (; t < m->n_trees; t++)
		margin = explain_cl_lanes(m, row, acc, margin, t, 1);
	return margin;
}

static float explain(const struct ctl_model *m, const float *row, double *acc)
{
	return m->cl_fd ? explain_layout(m, row, acc) : explain_walk(m, row, acc);
}

/* The @max largest of @acc, largest first, ties by lower index. */
static uint32_t top_reasons(const struct ctl_model *m, const double *acc, uint32_t *feat_idx,
			    float *contrib, uint32_t max)
{
	uint32_t order[CTL_MODEL_MAX_FEATURES];
	uint32_t nf = m->n_features;

	/* Insertion sort: n_features is small (12 in the shipped model). */
	for (uint32_t k = 0; k < nf; k++) {
		uint32_t j = k;
		while (j > 0 && acc[order[j - 1]] < acc[k]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = k;
	}
	uint32_t n = max < nf ? max : nf;
	for (uint32_t k = 0; k < n; k++) {
		feat_idx[k] = order[k];
		contrib[k] = (float)acc[order[k]];
	}
	return n;
}

uint32_t ctl_model_reasons(const struct ctl_model *m, const float *row, uint32_t *feat_idx,
			   float *contrib, uint32_t max)
{
	double acc[CTL_MODEL_MAX_FEATURES];
	explain(m, row, acc);
	return top_reasons(m, acc, feat_idx, contrib, max);
}

uint32_t ctl_model_reasons_walk(const struct ctl_model *m, const float *row, uint32_t *feat_idx,
				float *contrib, uint32_t max)
{
	double acc[CTL_MODEL_MAX_FEATURES];
	explain_walk(m, row, acc);
	return top_reasons(m, acc, feat_idx, contrib, max);
}

uint32_t ctl_model_score_reasons(const struct ctl_model *m, const float *row, float *score,
				 uint32_t *feat_idx, float *contrib, uint32_t max)
{
	double acc[CTL_MODEL_MAX_FEATURES];
	*score = 1.0f / (1.0f + expf(-explain(m, row, acc)));
	return top_reasons(m, acc, feat_idx, contrib, max);
}

const char *ctl_model_version(const struct ctl_model *m)
{
	return m->version;
}

uint32_t ctl_model_n_features(const struct ctl_model *m)
{
	return m->n_features;
}

uint32_t ctl_model_n_trees(const struct ctl_model *m)
{
	return m->n_trees;
}

const char *ctl_model_feature_name(const struct ctl_model *m, uint32_t i)
{
	return i < m->n_features ? m->names[i] : NULL;
}

/* ------------------------------------------------------- verification */

static void row_label(const struct ctl_model *m, uint32_t r, uint32_t n_rows, char *buf, size_t len)
{
	if (r < n_rows)
		snprintf(buf, len, "row %u", r);
	else if (r < 2 * n_rows)
		snprintf(buf, len, "row %u with feature '%s' missing", r - n_rows,
			 m->names[(r - n_rows) % m->n_features]);
	else if (r < 3 * n_rows)
		snprintf(buf, len, "row %u with odd-numbered features missing", r - 2 * n_rows);
	else
		snprintf(buf, len, "the all-missing row");
}

int ctl_model_verify(const struct ctl_model *m, const char *path, const float *rows,
		     uint32_t n_rows, char *err, size_t errlen)
{
	if (!m || !path || (n_rows && !rows))
		return fail(err, errlen, -EINVAL, "verify: NULL model, path or rows");
	if (n_rows > (UINT32_MAX - 1) / 3 / m->n_features)
		return fail(err, errlen, -EINVAL, "verify: %u rows is too many", n_rows);
	uint32_t nf = m->n_features;
	uint32_t total = 3 * n_rows + 1;
	float *x = malloc((size_t)total * nf * sizeof(*x));
	if (!x)
		return fail(err, errlen, -ENOMEM, "verify %s: out of memory", path);
	for (uint32_t r = 0; r < n_rows; r++) {
		const float *src = rows + (size_t)r * nf;
		memcpy(x + (size_t)r * nf, src, nf * sizeof(*x));
		float *one = x + (size_t)(n_rows + r) * nf;
		memcpy(one, src, nf * sizeof(*x));
		one[r % nf] = NAN;
		float *odd = x + (size_t)(2 * n_rows + r) * nf;
		memcpy(odd, src, nf * sizeof(*x));
		for (uint32_t f = 1; f < nf; f += 2)
			odd[f] = NAN;
	}
	for (uint32_t f = 0; f < nf; f++)
		x[(size_t)3 * n_rows * nf + f] = NAN;

	int rc = 0;
	BoosterHandle h = NULL;
	bst_ulong xgb_nf = 0;
	if (XGBoosterCreate(NULL, 0, &h) != 0 || XGBoosterLoadModel(h, path) != 0) {
		rc = fail(err, errlen, -EIO, "verify %s: XGBoost cannot load it: %s", path, XGBGetLastError());
		goto out;
	}
	if (XGBoosterGetNumFeature(h, &xgb_nf) != 0 || xgb_nf != nf) {
		rc = fail(err, errlen, -EINVAL, "verify %s: XGBoost sees %llu features, model has %u", path,
			  (unsigned long long)xgb_nf, nf);
		goto out;
	}
	char arr[160];
	snprintf(arr, sizeof(arr),
		 "{\"data\":[%" PRIuPTR ",true],\"shape\":[%u,%u],\"typestr\":\"<f4\",\"version\":3}",
		 (uintptr_t)x, total, nf);
	static const char cfg[] = "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
				  "\"iteration_end\":0,\"strict_shape\":false,\"missing\":NaN,"
				  "\"cache_id\":0}";
	const bst_ulong *shape;
	bst_ulong dim;
	const float *pred;
	if (XGBoosterPredictFromDense(h, arr, cfg, NULL, &shape, &dim, &pred) != 0) {
		rc = fail(err, errlen, -EIO, "verify %s: XGBoost predict failed: %s", path, XGBGetLastError());
		goto out;
	}
	bst_ulong got = 1;
	for (bst_ulong d = 0; d < dim; d++)
		got *= shape[d];
	if (got != total) {
		rc = fail(err, errlen, -EIO, "verify %s: XGBoost returned %llu scores for %u rows", path,
			  (unsigned long long)got, total);
		goto out;
	}
	for (uint32_t r = 0; r < total; r++) {
		float ours = ctl_model_score(m, x + (size_t)r * nf);
		float theirs = pred[r];
		if (!(fabsf(ours - theirs) <= CTL_MODEL_VERIFY_TOL)) {
			char lab[160];
			row_label(m, r, n_rows, lab, sizeof(lab));
			rc = fail(err, errlen, -EPROTO,
				  "verify %s: %s: weir scores %.9g, XGBoost %.9g (difference %.3g > %g)",
				  path, lab, ours, theirs, fabsf(ours - theirs), CTL_MODEL_VERIFY_TOL);
			goto out;
		}
	}
out:
	if (h)
		XGBoosterFree(h);
	free(x);
	return rc;
}

/* Parse one CSV number; "" and "nan" are missing. */
static bool csv_float(const char *s, float *out)
{
	if (*s == '\0') {
		*out = NAN;
		return true;
	}
	char *end;
	errno = 0;
	float f = strtof(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE)
		return false;
	*out = f;
	return true;
}

/* ctl_model_read_samples(), plus each row's line in the file in *@lines_out
 * (may be NULL) for messages. */
static int read_samples(const struct ctl_model *m, const char *csv_path, float **rows_out,
			uint32_t **lines_out, uint32_t *n_rows, char *err, size_t errlen)
{
	if (!m || !csv_path || !rows_out || !n_rows)
		return fail(err, errlen, -EINVAL, "samples: NULL argument");
	*rows_out = NULL;
	*n_rows = 0;
	uint32_t *lines = NULL;
	FILE *fp = fopen(csv_path, "re");
	if (!fp)
		return fail(err, errlen, -errno, "samples %s: %s", csv_path, strerror(errno));
	uint32_t nf = m->n_features, cap_rows = 0, nr = 0;
	float *rows = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint32_t lineno = 0;
	int rc = 0;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (lineno > 1 && nr == cap_rows) {
			cap_rows = cap_rows ? 2 * cap_rows : 256;
			float *g = realloc(rows, (size_t)cap_rows * (nf + 1) * sizeof(*rows));
			if (g)
				rows = g;
			uint32_t *l = g && lines_out ? realloc(lines, cap_rows * sizeof(*lines)) : NULL;
			if (l)
				lines = l;
			if (!g || (lines_out && !l)) {
				rc = fail(err, errlen, -ENOMEM, "samples %s: out of memory", csv_path);
				goto out;
			}
		}
		float *row = lineno > 1 ? rows + (size_t)nr * (nf + 1) : NULL;
		char *p = line, *tok;
		uint32_t col = 0;
		while ((tok = strsep(&p, ",")) != NULL) {
			if (col > nf) {
				rc = fail(err, errlen, -EBADMSG, "samples %s line %u: more than %u columns",
					  csv_path, lineno, nf + 1);
				goto out;
			}
			if (lineno == 1) {
				const char *want = col < nf ? m->names[col] : "xgb_prob";
				if (strcmp(tok, want) != 0) {
					rc = fail(err, errlen, -EBADMSG, "samples %s line 1 column %u: '%s', expected '%s'",
						  csv_path, col + 1, tok, want);
					goto out;
				}
			} else if (!csv_float(tok, &row[col]) || (col == nf && isnan(row[col]))) {
				rc = fail(err, errlen, -EBADMSG, "samples %s line %u column %u: bad number '%s'",
					  csv_path, lineno, col + 1, tok);
				goto out;
			}
			col++;
		}
		if (col != nf + 1) {
			rc = fail(err, errlen, -EBADMSG, "samples %s line %u: %u columns, expected %u",
				  csv_path, lineno, col, nf + 1);
			goto out;
		}
		if (lineno > 1) {
			if (lines)
				lines[nr] = lineno;
			nr++;
		}
	}
	if (lineno == 0)
		rc = fail(err, errlen, -EBADMSG, "samples %s: empty file", csv_path);
out:
	free(line);
	fclose(fp);
	if (rc) {
		free(rows);
		free(lines);
		return rc;
	}
	*rows_out = rows;
	if (lines_out)
		*lines_out = lines;
	*n_rows = nr;
	return 0;
}

int ctl_model_read_samples(const struct ctl_model *m, const char *csv_path, float **rows_out,
			   uint32_t *n_rows, char *err, size_t errlen)
{
	return read_samples(m, csv_path, rows_out, NULL, n_rows, err, errlen);
}

int ctl_model_check_samples(const struct ctl_model *m, const char *csv_path, float tol,
			    uint32_t *n_checked, char *err, size_t errlen)
{
	if (!m || !csv_path || !(tol >= 0.0f))
		return fail(err, errlen, -EINVAL, "samples: NULL model or path, or bad tolerance");
	if (n_checked)
		*n_checked = 0;
	float *rows = NULL;
	uint32_t *lines = NULL, nr = 0, nf = m->n_features;
	int rc = read_samples(m, csv_path, &rows, &lines, &nr, err, errlen);
	if (rc)
		return rc;
	for (uint32_t r = 0; r < nr; r++) {
		const float *row = rows + (size_t)r * (nf + 1);
		float sc = ctl_model_score(m, row);
		if (!(fabsf(sc - row[nf]) <= tol)) {
			rc = fail(err, errlen, -EPROTO, "samples %s line %u: model %s scores %.9g, recorded xgb_prob %.9g",
				  csv_path, lines[r], m->version, sc, row[nf]);
			break;
		}
		if (n_checked)
			*n_checked = r + 1;
	}
	free(rows);
	free(lines);
	return rc;
}

/* ----------------------------------------------------------- decisions */

int ctl_thresholds_check(float review, float block, char *err, size_t errlen)
{
	if (!isfinite(review) || !isfinite(block) || review < 0.0f || block > 1.0f || !(review < block))
		return fail(err, errlen, -EINVAL,
			    "thresholds: review %g, block %g: need 0 <= review < block <= 1", review, block);
	return 0;
}

enum ctl_decision ctl_decide(float score, float review, float block)
{
	if (isnan(score))
		return CTL_REVIEW;
	if (score >= block)
		return CTL_BLOCK;
	if (score >= review)
		return CTL_REVIEW;
	return CTL_ALLOW;
}

const char *ctl_decision_name(enum ctl_decision d)
{
	switch (d) {
	case CTL_ALLOW:
		return "ALLOW";
	case CTL_REVIEW:
		return "REVIEW";
	case CTL_BLOCK:
		return "BLOCK";
	}
	return "UNKNOWN";
}
