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
#ifdef __SSE2__
#include <immintrin.h>
#endif

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
	if (!wr_parse_u64(s, &r->threshold) || r->threshold == 0) {
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

/* ---- literal prefilter (see struct rules_pf_lit) ----------------------- */

static inline bool is_letter(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/*
 * True when @p is matched by Hyperscan exactly as the byte string it is:
 * printable ASCII without any character that is an operator somewhere in
 * the pattern syntax (backslash ^ $ . | ? * + ( ) [ ] { }). '#' is plain text
 * outside extended mode, which only "(?x)" could turn on.
 */
static bool is_plain_literal(const char *p)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c > 0x7e || strchr("\\^$.|?*+()[]{}", c))
			return false;
	}
	return true;
}

/* Longer literals are left to Hyperscan (keeps the length sums below small). */
#define RULES_PF_LIT_MAX 256

/* SIMD width of the prefilter: AVX2 when the build allows it, else SSE2. */
#if defined(__AVX2__)
#define PF_W 32
typedef __m256i pf_vec;
#define pf_load(p)       _mm256_loadu_si256((const void *)(p))
#define pf_zero()        _mm256_setzero_si256()
#define pf_or(a, b)      _mm256_or_si256((a), (b))
#define pf_and(a, b)     _mm256_and_si256((a), (b))
#define pf_eq(a, b)      _mm256_cmpeq_epi8((a), (b))
#define pf_mask(a)       ((uint32_t)_mm256_movemask_epi8(a))
#elif defined(__SSE2__)
#define PF_W 16
typedef __m128i pf_vec;
#define pf_load(p)       _mm_loadu_si128((const void *)(p))
#define pf_zero()        _mm_setzero_si128()
#define pf_or(a, b)      _mm_or_si128((a), (b))
#define pf_and(a, b)     _mm_and_si128((a), (b))
#define pf_eq(a, b)      _mm_cmpeq_epi8((a), (b))
#define pf_mask(a)       ((uint32_t)_mm_movemask_epi8(a))
#endif

/*
 * Fill rs->pf when every rule is a plain literal with flags that do not
 * change what a literal matches (SINGLEMATCH, CASELESS, DOTALL, MULTILINE;
 * UTF8 and UCP are left to Hyperscan). Otherwise n_pf stays 0.
 */
static void build_prefilter(struct rules_set *rs)
{
	const unsigned ok_flags = HS_FLAG_SINGLEMATCH | HS_FLAG_CASELESS | HS_FLAG_DOTALL |
				  HS_FLAG_MULTILINE;

	rs->n_pf = 0;
	rs->pf_max_len = 0;
	rs->pf_min_len = UINT32_MAX;
	rs->pf_fold = false;
	if (rs->n == 0 || rs->n > RULES_PF_MAX)
		return;
	for (uint32_t i = 0; i < rs->n; i++) {
		const struct rules_rule *r = &rs->rules[i];
		if ((r->hs_flags & ~ok_flags) || !is_plain_literal(r->pattern) ||
		    strlen(r->pattern) > RULES_PF_LIT_MAX)
			return;
	}
	for (uint32_t i = 0; i < rs->n; i++) {
		const struct rules_rule *r = &rs->rules[i];
		struct rules_pf_lit *l = &rs->pf[i];
		size_t len = strlen(r->pattern);
		unsigned char f = (unsigned char)r->pattern[0], e = (unsigned char)r->pattern[len - 1];
		bool fold = (r->hs_flags & HS_FLAG_CASELESS) != 0;
		uint8_t f_or = fold && is_letter(f) ? 0x20 : 0, e_or = fold && is_letter(e) ? 0x20 : 0;

		l->lit = r->pattern;
		l->len = (uint32_t)len;
		l->caseless = fold;
		memset(l->vec[0], f | f_or, sizeof(l->vec[0]));
		memset(l->vec[1], f_or, sizeof(l->vec[1]));
		memset(l->vec[2], e | e_or, sizeof(l->vec[2]));
		memset(l->vec[3], e_or, sizeof(l->vec[3]));
		if (l->len > rs->pf_max_len)
			rs->pf_max_len = l->len;
		if (l->len < rs->pf_min_len)
			rs->pf_min_len = l->len;
		rs->pf_fold |= fold;
	}
#ifdef PF_W
	/*
	 * pf_blocks() reads PF_W bytes from the longest literal's last byte on,
	 * and each head block PF_W + pf_max_len - 1 bytes; when the lengths
	 * differ by PF_W or more, its head blocks must all fit unmoved
	 */
	uint32_t spread = rs->pf_max_len - rs->pf_min_len;
	rs->pf_simd_min_len = rs->pf_max_len - 1 + PF_W +
			      (spread >= PF_W ? (spread - 1) / PF_W * PF_W : 0);
#else
	rs->pf_simd_min_len = UINT32_MAX;
#endif
	rs->n_pf = rs->n;
}

/* The literal at @s, whose first and last bytes are already checked. */
static inline bool pf_verify(const struct rules_pf_lit *l, const unsigned char *s)
{
	if (!l->caseless)
		return memcmp(s, l->lit, l->len) == 0;
	for (uint32_t k = 0; k < l->len; k++) {
		unsigned char a = s[k], b = (unsigned char)l->lit[k];
		if (a != b && !(is_letter(a) && (a | 0x20) == (b | 0x20)))
			return false;
	}
	return true;
}

/* Byte-by-byte search for @l in @s[0..@len), for texts shorter than a block. */
static bool pf_find_bytes(const struct rules_pf_lit *l, const unsigned char *s, size_t len)
{
	if (len < l->len)
		return false;
	const uint8_t f = l->vec[0][0], fo = l->vec[1][0], e = l->vec[2][0], eo = l->vec[3][0];
	const size_t d = l->len - 1, npos = len - l->len + 1;

	for (size_t i = 0; i < npos; i++)
		if ((s[i] | fo) == f && (s[i + d] | eo) == e && pf_verify(l, s + i))
			return true;
	return false;
}

#ifdef PF_W
/*
 * Candidates of @l in one block: bit j set when the byte of @a (the text at
 * some position x) at j is the literal's first byte and the byte of @b at j
 * is its last. @fold is a constant at each call, so the case-folding ORs
 * exist only in the caseless copies.
 */
static inline __attribute__((always_inline)) pf_vec pf_cand(const struct rules_pf_lit *l,
							    pf_vec a, pf_vec b, bool fold)
{
	if (fold) {
		a = pf_or(a, pf_load(l->vec[1]));
		b = pf_or(b, pf_load(l->vec[3]));
	}
	return pf_and(pf_eq(a, pf_load(l->vec[0])), pf_eq(b, pf_load(l->vec[2])));
}

/* Bit k of the result: some candidate in @m of literal k, starting at @x + j
 * for bit j, is the whole literal. */
static __attribute__((noinline)) uint32_t pf_verify_mask(const struct rules_pf_lit *l, uint32_t k,
							  const unsigned char *x, uint32_t m)
{
	for (; m; m &= m - 1)
		if (pf_verify(l, x + __builtin_ctz(m)))
			return 1u << k;
	return 0;
}

/*
 * Start positions are covered in two parts, all loads inside @s:
 *  - the body: blocks of PF_W last-byte positions q from the end of the
 *    text down, while they stay at or above the longest literal's last
 *    byte (dmax). One load of the text at q serves every literal; literal
 *    k's first bytes are at q - d_k. With q_low the lowest block, this
 *    covers start positions [q_low - d_k, last] of literal k;
 *  - the head: start positions [0, q_low - d_min), in blocks anchored on
 *    the first byte; a block that would read past the end is moved back to
 *    end there, which still reaches q_low - d_min when the literal lengths
 *    differ by less than PF_W. When they differ by more, the body goes on
 *    with one block moved down to q_low = dmax (overlapping the one
 *    before), leaving the head only [0, dmax - d_min).
 * Three blocks for the 75-byte bench messages and rules/default.yaml.
 * With @verify false, returns non-zero when some block has a candidate
 * (first and last byte in place) for some literal, testing once at the end
 * so the loop has no branch per literal. With @verify true, returns a bit
 * per literal that occurs (candidates compared in full).
 */
static inline __attribute__((always_inline)) uint32_t pf_blocks(const struct rules_set *rs,
								const unsigned char *s,
								size_t len, bool fold,
								bool verify, uint32_t n)
{
	const size_t dmax = rs->pf_max_len - 1, dmin = rs->pf_min_len - 1;
	const bool spread = dmax - dmin >= PF_W;
	pf_vec any = pf_zero();
	uint32_t seen = 0;
	size_t q = len - PF_W;       /* len >= pf_simd_min_len >= dmax + PF_W: q >= dmax */

	for (;;) {
		const pf_vec b = pf_load(s + q);
		for (uint32_t k = 0; k < n; k++) {
			const struct rules_pf_lit *l = &rs->pf[k];
			const unsigned char *x = s + q - (l->len - 1);
			pf_vec c = pf_cand(l, pf_load(x), b, fold);
			if (!verify)
				any = pf_or(any, c);
			else if (pf_mask(c))
				seen |= pf_verify_mask(l, k, x, pf_mask(c));
		}
		if (q >= dmax + PF_W)
			q -= PF_W;
		else if (spread && q != dmax)
			q = dmax;
		else
			break;
	}
	const size_t head_end = q - dmin, last_i = len - PF_W - dmax;
	for (size_t i = 0; i < head_end; i += PF_W) {
		const size_t at = i < last_i ? i : last_i;
		const pf_vec a = pf_load(s + at);
		for (uint32_t k = 0; k < n; k++) {
			const struct rules_pf_lit *l = &rs->pf[k];
			pf_vec c = pf_cand(l, a, pf_load(s + at + l->len - 1), fold);
			if (!verify)
				any = pf_or(any, c);
			else if (pf_mask(c))
				seen |= pf_verify_mask(l, k, s + at, pf_mask(c));
		}
	}
	return verify ? seen : pf_mask(any);
}

/*
 * The first pass with the number of literals a constant: the loops over
 * them unroll and their byte vectors stay in registers (about 15 instead of
 * 29 instructions per block for two literals).
 */
static inline __attribute__((always_inline)) uint32_t pf_any(const struct rules_set *rs,
							     const unsigned char *s, size_t len)
{
#define PF_ANY_N(c) (rs->pf_fold ? pf_blocks(rs, s, len, true, false, (c)) \
				 : pf_blocks(rs, s, len, false, false, (c)))
	switch (rs->n_pf) {
	case 1:
		return PF_ANY_N(1);
	case 2:
		return PF_ANY_N(2);
	case 3:
		return PF_ANY_N(3);
	case 4:
		return PF_ANY_N(4);
	default:
		return PF_ANY_N(rs->n_pf);
	}
#undef PF_ANY_N
}
#endif

/* The second pass (or the only one, for a text shorter than the blocks):
 * which literals really occur. */
static __attribute__((noinline)) uint32_t pf_which(const struct rules_set *rs,
						   const unsigned char *s, size_t len)
{
#ifdef PF_W
	if (len >= rs->pf_simd_min_len) {
#define PF_WHICH_N(c) (rs->pf_fold ? pf_blocks(rs, s, len, true, true, (c)) \
				   : pf_blocks(rs, s, len, false, true, (c)))
		switch (rs->n_pf) {
		case 1:
			return PF_WHICH_N(1);
		case 2:
			return PF_WHICH_N(2);
		default:
			return PF_WHICH_N(rs->n_pf);
		}
#undef PF_WHICH_N
	}
#endif
	uint32_t seen = 0;

	for (uint32_t k = 0; k < rs->n_pf; k++)
		if (pf_find_bytes(&rs->pf[k], s, len))
			seen |= 1u << k;
	return seen;
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
	build_prefilter(rs);
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

/* rules_scan() past the first prefilter pass; out of line so that the pass,
 * which decides nearly every message, runs without a stack frame. */
static __attribute__((noinline)) int scan_rest(const struct rules_set *rs, hs_scratch_t *scratch,
					       const char *data, size_t len, rules_match_fn fn,
					       void *ctx)
{
	if (rs->n_pf) {
		uint32_t seen = pf_which(rs, (const unsigned char *)data, len);
		if (seen == 0)
			return 0;               /* no literal occurs: no rule can match */
		/*
		 * One literal occurs: Hyperscan would report exactly its rule,
		 * once (SINGLEMATCH). With two or more, it decides the order.
		 */
		if ((seen & (seen - 1)) == 0) {
			fn((uint32_t)__builtin_ctz(seen), ctx);
			return 0;
		}
	}
	struct scan_adapter a = { fn, ctx };
	hs_error_t e = hs_scan(rs->db, data, (unsigned)len, 0, scratch, scan_on_match, &a);
	if (likely(e == HS_SUCCESS || e == HS_SCAN_TERMINATED))
		return 0;
	return -EIO;
}

int rules_scan(const struct rules_set *rs, hs_scratch_t *scratch,
	       const char *data, size_t len, rules_match_fn fn, void *ctx)
{
	if (unlikely(!rs->db))
		return 0;
	if (unlikely(len > UINT32_MAX))
		return -EINVAL;
#ifdef PF_W
	/*
	 * With the literal prefilter, a first pass only asks whether any block
	 * has a candidate at all (nearly every message that matches no rule
	 * has none); only then does scan_rest() compare candidates in full.
	 * Measured (callgrind, the 75-byte messages of bench/run.sh,
	 * rules/default.yaml, AVX2): about 130 instructions for a message with
	 * neither literal (four blocks), where Hyperscan took 360.
	 */
	if (rs->n_pf && len >= rs->pf_simd_min_len &&
	    likely(!pf_any(rs, (const unsigned char *)data, len)))
		return 0;
#endif
	return scan_rest(rs, scratch, data, len, fn, ctx);
}
