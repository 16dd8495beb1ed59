/*
 * rules.c - read a rules file (see rules.h for the format), validate every
 * rule with the line it sits on, and compile all patterns into one Hyperscan
 * block-mode database.
 *
 * Validation runs before Hyperscan so that the cheap errors (missing keys,
 * typos) come out with a precise line; a pattern error then names the rule
 * through compile_err->expression, which is the index we passed as its id.
 * All of this runs on the control plane; rules_scan() is the only hot call.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "wr_common.h"
#include "wr_yaml.h"

#define RULES_DEFAULT_WINDOW_US WR_US_PER_MIN

/* Versions are process-wide so two sets loaded from different files never share one. */
static _Atomic uint64_t rules_version_counter;

struct rl_ctx {
	const char *name;
	char *err;
	size_t errlen;
};

static void rl_err(struct rl_ctx *cx, unsigned line, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "name:line: rule 'id': what"; @rule may be NULL for file-level errors. */
static void rl_err(struct rl_ctx *cx, unsigned line, const char *rule, const char *fmt, ...)
{
	if (!cx->err || !cx->errlen)
		return;
	int n = rule ? snprintf(cx->err, cx->errlen, "%s:%u: rule %s: ", cx->name, line, rule)
		     : snprintf(cx->err, cx->errlen, "%s:%u: ", cx->name, line);
	if (n < 0 || (size_t)n >= cx->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cx->err + n, cx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

const char *rules_group_by_name(enum rules_group_by g)
{
	switch (g) {
	case RULES_GROUP_HOST: return "host";
	case RULES_GROUP_APP: return "app";
	case RULES_GROUP_NONE: return "none";
	}
	return "?";
}

const char *rules_severity_name(enum rules_severity s)
{
	switch (s) {
	case RULES_SEV_INFO: return "info";
	case RULES_SEV_WARNING: return "warning";
	case RULES_SEV_CRITICAL: return "critical";
	}
	return "?";
}

static const struct {
	const char *name;
	unsigned flag;
} rules_flag_names[] = {
	{ "caseless", HS_FLAG_CASELESS },
	{ "dotall", HS_FLAG_DOTALL },
	{ "multiline", HS_FLAG_MULTILINE },
	{ "utf8", HS_FLAG_UTF8 },
	{ "ucp", HS_FLAG_UCP },
};

static const char *const rules_keys[] = {
	"id", "name", "pattern", "flags", "group_by", "window", "threshold", "severity", "cooldown",
};

static bool id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= RULES_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Strict positive decimal: no sign, no spaces, no fraction, no overflow. */
static bool parse_positive_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return v > 0;
}

/* A scalar value for @key, or an error naming the rule. */
static const char *want_scalar(struct rl_ctx *cx, const struct wr_yaml_node *v, const char *rid,
			       const char *key)
{
	if (v->kind != WR_YAML_SCALAR) {
		rl_err(cx, v->line, rid, "'%s' must be a scalar", key);
		return NULL;
	}
	return v->scalar;
}

static int parse_flags(struct rl_ctx *cx, const struct wr_yaml_node *v, const char *rid,
		       unsigned *flags)
{
	/* A single flag may be written without brackets: "flags: caseless". */
	size_t n = v->kind == WR_YAML_SEQ ? v->n : 1;
	if (v->kind == WR_YAML_MAP) {
		rl_err(cx, v->line, rid, "'flags' must be a list");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct wr_yaml_node *f = v->kind == WR_YAML_SEQ ? v->items[i] : v;
		if (f->kind != WR_YAML_SCALAR) {
			rl_err(cx, f->line, rid, "flags must be scalars");
			return -EINVAL;
		}
		size_t j;
		for (j = 0; j < WR_ARRAY_SIZE(rules_flag_names); j++)
			if (!strcmp(f->scalar, rules_flag_names[j].name))
				break;
		if (j == WR_ARRAY_SIZE(rules_flag_names)) {
			rl_err(cx, f->line, rid,
			       "unknown flag '%s' (want caseless, dotall, multiline, utf8, ucp)",
			       f->scalar);
			return -EINVAL;
		}
		*flags |= rules_flag_names[j].flag;
	}
	return 0;
}

static int parse_duration_key(struct rl_ctx *cx, const struct wr_yaml_node *v, const char *rid,
			      const char *key, bool allow_zero, int64_t *out)
{
	const char *s = want_scalar(cx, v, rid, key);
	if (!s)
		return -EINVAL;
	int64_t us;
	if (wr_parse_duration(s, &us) || (!allow_zero && us == 0)) {
		rl_err(cx, v->line, rid, "bad duration '%s' for '%s' (want e.g. 250ms, 30s, 5m, 1h%s)",
		       s, key, allow_zero ? "" : "; not 0");
		return -EINVAL;
	}
	*out = us;
	return 0;
}

/* Validate one rule map into @r; strings are malloc'd into @r. */
static int parse_rule(struct rl_ctx *cx, const struct wr_yaml_node *m, size_t idx,
		      const struct rules_defaults *defs, struct rules_rule *r, unsigned *pat_line)
{
	char rid[RULES_ID_MAX + 16];
	snprintf(rid, sizeof(rid), "#%zu", idx + 1);
	r->line = m->line;
	if (m->kind != WR_YAML_MAP) {
		rl_err(cx, m->line, rid, "must be a map with at least id and pattern");
		return -EINVAL;
	}
	/* The id first, so every later message can name the rule. */
	const struct wr_yaml_node *v = wr_yaml_get(m, "id");
	if (!v) {
		rl_err(cx, m->line, rid, "missing 'id'");
		return -EINVAL;
	}
	const char *s = want_scalar(cx, v, rid, "id");
	if (!s)
		return -EINVAL;
	if (!id_valid(s)) {
		rl_err(cx, v->line, rid, "bad id '%s' (want [a-z0-9_.-]{1,63})", s);
		return -EINVAL;
	}
	memcpy(r->id, s, strlen(s) + 1);
	snprintf(rid, sizeof(rid), "'%s'", r->id);

	for (size_t i = 0; i < m->n; i++) {
		size_t k;
		for (k = 0; k < WR_ARRAY_SIZE(rules_keys); k++)
			if (!strcmp(m->keys[i], rules_keys[k]))
				break;
		if (k == WR_ARRAY_SIZE(rules_keys)) {
			rl_err(cx, m->key_lines[i], rid,
			       "unknown key '%s' (want id, name, pattern, flags, group_by, window, "
			       "threshold, severity, cooldown)", m->keys[i]);
			return -EINVAL;
		}
	}

	v = wr_yaml_get(m, "pattern");
	if (!v) {
		rl_err(cx, m->line, rid, "missing 'pattern'");
		return -EINVAL;
	}
	if (!(s = want_scalar(cx, v, rid, "pattern")))
		return -EINVAL;
	if (!*s) {
		rl_err(cx, v->line, rid, "empty 'pattern'");
		return -EINVAL;
	}
	*pat_line = v->line;
	r->pattern = strdup(s);
	if (!r->pattern)
		return -ENOMEM;

	v = wr_yaml_get(m, "name");
	if (v && !(s = want_scalar(cx, v, rid, "name")))
		return -EINVAL;
	r->name = strdup(v ? s : r->id);
	if (!r->name)
		return -ENOMEM;

	r->hs_flags = HS_FLAG_SINGLEMATCH;
	if ((v = wr_yaml_get(m, "flags")) && parse_flags(cx, v, rid, &r->hs_flags))
		return -EINVAL;

	r->group_by = RULES_GROUP_HOST;
	if ((v = wr_yaml_get(m, "group_by"))) {
		if (!(s = want_scalar(cx, v, rid, "group_by")))
			return -EINVAL;
		if (!strcmp(s, "host"))
			r->group_by = RULES_GROUP_HOST;
		else if (!strcmp(s, "app"))
			r->group_by = RULES_GROUP_APP;
		else if (!strcmp(s, "none"))
			r->group_by = RULES_GROUP_NONE;
		else {
			rl_err(cx, v->line, rid, "bad group_by '%s' (want host, app or none)", s);
			return -EINVAL;
		}
	}

	r->window_us = defs ? defs->window_us : RULES_DEFAULT_WINDOW_US;
	if ((v = wr_yaml_get(m, "window")) &&
	    parse_duration_key(cx, v, rid, "window", false, &r->window_us))
		return -EINVAL;
	if (r->window_us <= 0) {
		rl_err(cx, m->line, rid, "window must be positive");
		return -EINVAL;
	}

	v = wr_yaml_get(m, "threshold");
	if (!v) {
		rl_err(cx, m->line, rid, "missing 'threshold' (alert when a window's count exceeds it)");
		return -EINVAL;
	}
	if (!(s = want_scalar(cx, v, rid, "threshold")))
		return -EINVAL;
	if (!parse_positive_u64(s, &r->threshold)) {
		rl_err(cx, v->line, rid, "threshold '%s' is not a positive integer", s);
		return -EINVAL;
	}

	r->severity = RULES_SEV_WARNING;
	if ((v = wr_yaml_get(m, "severity"))) {
		if (!(s = want_scalar(cx, v, rid, "severity")))
			return -EINVAL;
		if (!strcmp(s, "info"))
			r->severity = RULES_SEV_INFO;
		else if (!strcmp(s, "warning"))
			r->severity = RULES_SEV_WARNING;
		else if (!strcmp(s, "critical"))
			r->severity = RULES_SEV_CRITICAL;
		else {
			rl_err(cx, v->line, rid, "bad severity '%s' (want info, warning or critical)",
			       s);
			return -EINVAL;
		}
	}

	r->cooldown_us = defs ? defs->cooldown_us : 0;
	if ((v = wr_yaml_get(m, "cooldown")) &&
	    parse_duration_key(cx, v, rid, "cooldown", true, &r->cooldown_us))
		return -EINVAL;
	return 0;
}

void rules_set_destroy(struct rules_set *rs)
{
	if (!rs)
		return;
	for (uint32_t i = 0; i < rs->n; i++) {
		free(rs->rules[i].name);
		free(rs->rules[i].pattern);
	}
	free(rs->rules);
	hs_free_database(rs->db);
	free(rs);
}

static int compile_set(struct rl_ctx *cx, struct rules_set *rs, const unsigned *pat_lines)
{
	if (rs->n == 0)
		return 0;
	const char **exprs = calloc(rs->n, sizeof(*exprs));
	unsigned *flags = calloc(rs->n, sizeof(*flags));
	unsigned *ids = calloc(rs->n, sizeof(*ids));
	int rc = 0;
	if (!exprs || !flags || !ids) {
		rl_err(cx, 0, NULL, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < rs->n; i++) {
		exprs[i] = rs->rules[i].pattern;
		flags[i] = rs->rules[i].hs_flags;
		ids[i] = i;
	}
	hs_compile_error_t *ce = NULL;
	if (hs_compile_multi(exprs, flags, ids, rs->n, HS_MODE_BLOCK, NULL, &rs->db, &ce) !=
	    HS_SUCCESS) {
		/* expression < 0: the whole set failed (e.g. too large), not one rule. */
		if (ce && ce->expression >= 0 && (uint32_t)ce->expression < rs->n) {
			const struct rules_rule *r = &rs->rules[ce->expression];
			char rid[RULES_ID_MAX + 2];
			snprintf(rid, sizeof(rid), "'%s'", r->id);
			rl_err(cx, pat_lines[ce->expression], rid, "Hyperscan: %s", ce->message);
		} else {
			rl_err(cx, 1, NULL, "Hyperscan: %s",
			       ce && ce->message ? ce->message : "compile failed");
		}
		hs_free_compile_error(ce);
		rs->db = NULL;
		rc = -EINVAL;
	}
out:
	free(exprs);
	free(flags);
	free(ids);
	return rc;
}

/* Validate and compile a loaded tree; @doc stays owned by the caller. */
static int rules_build(struct rl_ctx *cx, const struct wr_yaml_node *doc,
		       const struct rules_defaults *defs, struct rules_set **out)
{
	const struct wr_yaml_node *list = doc;
	if (doc->kind == WR_YAML_MAP) {
		for (size_t i = 0; i < doc->n; i++) {
			if (strcmp(doc->keys[i], "rules")) {
				rl_err(cx, doc->key_lines[i], NULL,
				       "unknown key '%s' (a rules file is a list, or a map with "
				       "the one key 'rules')", doc->keys[i]);
				return -EINVAL;
			}
		}
		/* No "rules" key (an empty file): no rules is a valid, quiet set. */
		list = wr_yaml_get(doc, "rules");
	}
	if (list && list->kind == WR_YAML_SCALAR && list->scalar[0] == '\0')
		list = NULL;         /* "rules:" with nothing after it */
	if (list && list->kind != WR_YAML_SEQ) {
		rl_err(cx, list->line, NULL, "rules must be a list of maps");
		return -EINVAL;
	}
	size_t n = list ? list->n : 0;
	if (n > RULES_MAX) {
		rl_err(cx, list->items[RULES_MAX]->line, NULL, "more than %d rules", RULES_MAX);
		return -EINVAL;
	}
	struct rules_set *rs = calloc(1, sizeof(*rs));
	struct rules_rule *rules = calloc(n ? n : 1, sizeof(*rules));
	unsigned *pat_lines = calloc(n ? n : 1, sizeof(*pat_lines));
	int rc = 0;
	if (!rs || !rules || !pat_lines) {
		free(rs);
		free(rules);
		free(pat_lines);
		rl_err(cx, 0, NULL, "out of memory");
		return -ENOMEM;
	}
	rs->rules = rules;
	for (size_t i = 0; i < n; i++) {
		rc = parse_rule(cx, list->items[i], i, defs, &rules[i], &pat_lines[i]);
		rs->n = (uint32_t)i + 1;     /* so destroy frees what parse_rule allocated */
		if (rc)
			goto err;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(rules[j].id, rules[i].id)) {
				char rid[RULES_ID_MAX + 2];
				snprintf(rid, sizeof(rid), "'%s'", rules[i].id);
				rl_err(cx, rules[i].line, rid, "duplicate id (first at line %u)",
				       rules[j].line);
				rc = -EINVAL;
				goto err;
			}
		}
	}
	rc = compile_set(cx, rs, pat_lines);
	if (rc)
		goto err;
	free(pat_lines);
	rs->version = atomic_fetch_add(&rules_version_counter, 1) + 1;
	*out = rs;
	return 0;
err:
	free(pat_lines);
	rules_set_destroy(rs);
	return rc;
}

int rules_load_string(const char *yaml, const char *name, const struct rules_defaults *defs,
		      struct rules_set **out, char *err, size_t errlen)
{
	*out = NULL;
	struct rl_ctx cx = { .name = name ? name : "<rules>", .err = err, .errlen = errlen };
	struct wr_yaml_node *doc = NULL;
	int rc = wr_yaml_load_string(yaml, strlen(yaml), cx.name, &doc, err, errlen);
	if (rc)
		return rc;
	rc = rules_build(&cx, doc, defs, out);
	wr_yaml_free(doc);
	return rc;
}

int rules_load_file(const char *path, const struct rules_defaults *defs,
		    struct rules_set **out, char *err, size_t errlen)
{
	*out = NULL;
	struct rl_ctx cx = { .name = path, .err = err, .errlen = errlen };
	struct wr_yaml_node *doc = NULL;
	int rc = wr_yaml_load_file(path, &doc, err, errlen);
	if (rc)
		return rc;
	rc = rules_build(&cx, doc, defs, out);
	wr_yaml_free(doc);
	return rc;
}

int rules_scratch_alloc(const struct rules_set *rs, hs_scratch_t **scratch)
{
	if (!rs || !rs->db)
		return 0;            /* nothing to scan with; rules_scan() will not touch it */
	hs_error_t e = hs_alloc_scratch(rs->db, scratch);
	if (e == HS_SUCCESS)
		return 0;
	return e == HS_NOMEM ? -ENOMEM : -EINVAL;
}

struct scan_adapter {
	rules_match_fn fn;
	void *ctx;
};

static int scan_on_match(unsigned int id, unsigned long long from, unsigned long long to,
			 unsigned int flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	const struct scan_adapter *a = ctx;
	return a->fn(id, a->ctx);
}

int rules_scan(const struct rules_set *rs, hs_scratch_t *scratch,
	       const char *data, size_t len, rules_match_fn fn, void *ctx)
{
	if (unlikely(!rs->db))
		return 0;
	if (unlikely(len > UINT32_MAX))
		return -EINVAL;
	struct scan_adapter a = { fn, ctx };
	hs_error_t e = hs_scan(rs->db, data, (unsigned)len, 0, scratch, scan_on_match, &a);
	if (likely(e == HS_SUCCESS || e == HS_SCAN_TERMINATED))
		return 0;
	return -EIO;
}
