/*
 * rules.h - the alert rule model: a YAML rules file, validated and compiled
 * into one Hyperscan multi-pattern database.
 *
 * A rules file is a list (or a map with key "rules" holding a list) of:
 *   - id: error              # [a-z0-9_.-]{1,63}, unique
 *     name: "Errors"         # optional, defaults to id
 *     pattern: 'ERROR'       # Hyperscan syntax
 *     flags: [caseless]      # caseless, dotall, multiline, utf8, ucp
 *     group_by: host         # host | app | none
 *     window: 1m             # tumbling window length (default from caller)
 *     threshold: 5           # alert when a window's count exceeds this
 *     severity: warning      # info | warning | critical
 *     cooldown: 5m           # min. event time between two alerts of one key
 * Unknown keys are errors. Every rule is compiled with HS_FLAG_SINGLEMATCH,
 * so a rule reports at most once per message.
 * Required: id, pattern, threshold (a positive integer). Defaults: name = id,
 * flags none, group_by host, window and cooldown from struct rules_defaults
 * (60 s and 0 when the caller passes NULL), severity warning.
 * "flags: caseless" (one flag, no brackets) is accepted as well as a list.
 * An empty file (or "rules: []") is a valid set with n == 0 and db == NULL.
 * Errors name "file:line: rule 'id': what" ("rule #N" while the id is not
 * known yet); a Hyperscan error carries the line of the rule's pattern.
 *
 * Thread safety: a struct rules_set is immutable after rules_load_*();
 * any number of threads may scan it, each with its own scratch.
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hs/hs.h>

#define RULES_ID_MAX 64
#define RULES_MAX 4096

enum rules_group_by { RULES_GROUP_HOST, RULES_GROUP_APP, RULES_GROUP_NONE };
enum rules_severity { RULES_SEV_INFO, RULES_SEV_WARNING, RULES_SEV_CRITICAL };

struct rules_rule {
	char id[RULES_ID_MAX];
	char *name;
	char *pattern;
	unsigned hs_flags;           /* HS_FLAG_* including SINGLEMATCH */
	enum rules_group_by group_by;
	int64_t window_us;
	uint64_t threshold;
	enum rules_severity severity;
	int64_t cooldown_us;
	unsigned line;               /* line of the rule in its file */
};

/*
 * Literal prefilter: when every rule's pattern is a plain literal (letters,
 * digits, space and punctuation that is not a regex operator; flags none,
 * caseless, dotall or multiline), rules_scan() first looks for the literals
 * itself. A message with none of them matches no rule: Hyperscan is not
 * called. A message with exactly one of them matches exactly that rule, once
 * (every rule is SINGLEMATCH): the callback is called for it directly.
 * Anything else goes to Hyperscan. So which rules match, and in which order
 * the callback sees them, is what Hyperscan alone gives; only its per-call
 * cost (callgrind, the 75-byte messages of bench/run.sh: about 360
 * instructions for one that matches nothing, 850 for one that matches) is
 * saved on nearly every message. The vectors are AVX2 when rules.c is built
 * with it (the project's -march=native), else SSE2.
 */
#define RULES_PF_MAX 8               /* more literals: Hyperscan alone */

struct rules_pf_lit {
	/*
	 * For SIMD loads, each byte repeated 32 times: [0] the first byte of
	 * the literal, [1] 0x20 when that byte is a letter of a caseless rule
	 * (ORed into the text to fold case) else 0, [2] and [3] the same for
	 * the last byte. Folded bytes are stored in lower case.
	 */
	uint8_t vec[4][32];
	const char *lit;             /* the rule's pattern text (owned by rules[]) */
	uint32_t len;
	bool caseless;
};

struct rules_set {
	uint32_t n;
	struct rules_rule *rules;    /* rules[i] has Hyperscan id i */
	hs_database_t *db;           /* NULL when n == 0 */
	uint64_t version;            /* process-wide counter, +1 on every successful load (first is 1) */
	uint32_t n_pf;               /* 0 (no prefilter, every scan is Hyperscan's) or n:
	                              * pf[i] is the literal of rules[i] */
	uint32_t pf_max_len;         /* longest literal in pf[] */
	uint32_t pf_min_len;         /* shortest literal in pf[] */
	uint32_t pf_simd_min_len;    /* shorter texts are searched byte by byte */
	bool pf_fold;                /* some literal in pf[] is caseless */
	struct rules_pf_lit pf[RULES_PF_MAX];
};

/* Defaults applied to rules that omit a field. */
struct rules_defaults {
	int64_t window_us;           /* 60 s */
	int64_t cooldown_us;         /* 0 */
};

/*
 * Read, validate and compile the rules in @path.
 * Returns 0 and *out, or -EINVAL/-errno with "path:line: rule 'id': what"
 * (for a pattern, Hyperscan's own message) in @err. Nothing is allocated on
 * error.
 */
int rules_load_file(const char *path, const struct rules_defaults *defs,
		    struct rules_set **out, char *err, size_t errlen);

/* The same from a string; @name stands for the file name in messages. */
int rules_load_string(const char *yaml, const char *name, const struct rules_defaults *defs,
		      struct rules_set **out, char *err, size_t errlen);

/* Free a rule set; NULL is a no-op. */
void rules_set_destroy(struct rules_set *rs);

/*
 * Allocate (or grow, when *scratch is not NULL) a scratch for @rs.
 * One scratch per thread that scans. Returns 0 or -ENOMEM (-EINVAL for any
 * other Hyperscan failure, e.g. a scratch in use). When @rs has no rules
 * (db == NULL) nothing is allocated and 0 is returned. The caller frees the
 * scratch with hs_free_scratch().
 */
int rules_scratch_alloc(const struct rules_set *rs, hs_scratch_t **scratch);

/* Called for every rule that matches; return non-zero to stop the scan. */
typedef int (*rules_match_fn)(uint32_t rule_idx, void *ctx);

/*
 * Scan @data with @rs, calling @fn once per matching rule.
 * Returns 0 or -EIO on a Hyperscan error (never on a stop by @fn); -EINVAL
 * when @len does not fit Hyperscan's 32-bit length. A set without rules
 * matches nothing and returns 0 (the scratch may then be NULL).
 * Cost: Hyperscan block mode, no allocation. With the literal prefilter
 * (see struct rules_pf_lit) a message that contains none of the literals
 * costs about 130 instructions instead of Hyperscan's ~360 (callgrind, the
 * 75-byte messages of bench/run.sh, the two rules of rules/default.yaml).
 */
int rules_scan(const struct rules_set *rs, hs_scratch_t *scratch,
	       const char *data, size_t len, rules_match_fn fn, void *ctx);

const char *rules_group_by_name(enum rules_group_by g);
const char *rules_severity_name(enum rules_severity s);

#endif /* RULES_H */
