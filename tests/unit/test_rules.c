/* test_rules.c - rules/rules.c: validation messages, the shipped rules, Hyperscan scanning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "wr_common.h"
#include "wr_test.h"

static char err[512];

struct hits {
	unsigned count[8];
	unsigned total;
	unsigned stop_after;         /* 0 = never stop */
};

static int on_match(uint32_t idx, void *ctx)
{
	struct hits *h = ctx;
	if (idx < 8)
		h->count[idx]++;
	h->total++;
	return h->stop_after && h->total >= h->stop_after;
}

static struct hits scan(const struct rules_set *rs, hs_scratch_t *scr, const char *s)
{
	struct hits h = { 0 };
	CU_ASSERT_EQUAL(rules_scan(rs, scr, s, strlen(s), on_match, &h), 0);
	return h;
}

static struct rules_set *load(const char *doc)
{
	struct rules_set *rs = NULL;
	err[0] = '\0';
	int rc = rules_load_string(doc, "r.yaml", NULL, &rs, err, sizeof(err));
	if (rc) {
		CU_ASSERT_PTR_NULL(rs);
		fprintf(stderr, "load failed: %s\n", err);
	}
	return rs;
}

static void expect_err(const char *doc, const char *want)
{
	struct rules_set *rs = (struct rules_set *)1;
	CU_ASSERT_EQUAL(rules_load_string(doc, "r.yaml", NULL, &rs, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(rs);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	if (!strstr(err, want))
		fprintf(stderr, "error '%s' does not contain '%s'\n", err, want);
}

static void test_default_file_loads_with_documented_values(void)
{
	struct rules_set *rs = NULL;
	struct rules_defaults defs = { .window_us = 60 * WR_US_PER_SEC, .cooldown_us = 0 };
	int rc = rules_load_file(WR_SOURCE_ROOT "/rules/default.yaml", &defs, &rs, err, sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL_FATAL(rs->n, 2);
	CU_ASSERT_PTR_NOT_NULL(rs->db);
	const struct rules_rule *e = &rs->rules[0], *x = &rs->rules[1];
	CU_ASSERT_STRING_EQUAL(e->id, "error");
	CU_ASSERT_STRING_EQUAL(e->pattern, "ERROR");
	CU_ASSERT_EQUAL(e->group_by, RULES_GROUP_HOST);
	CU_ASSERT_EQUAL(e->threshold, 5);
	CU_ASSERT_EQUAL(e->severity, RULES_SEV_WARNING);
	CU_ASSERT_EQUAL(e->window_us, 60 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(e->cooldown_us, 300 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(e->hs_flags, HS_FLAG_SINGLEMATCH);
	CU_ASSERT_STRING_EQUAL(x->id, "exception");
	CU_ASSERT_STRING_EQUAL(x->pattern, "Exception");
	CU_ASSERT_EQUAL(x->group_by, RULES_GROUP_HOST);
	CU_ASSERT_EQUAL(x->threshold, 3);
	CU_ASSERT_EQUAL(x->severity, RULES_SEV_CRITICAL);
	CU_ASSERT_EQUAL(x->cooldown_us, 300 * WR_US_PER_SEC);
	CU_ASSERT(e->line > 0 && x->line > e->line);
	rules_set_destroy(rs);
}

static void test_default_rules_match_error_once_and_exception(void)
{
	struct rules_set *rs = NULL;
	CU_ASSERT_EQUAL_FATAL(rules_load_file(WR_SOURCE_ROOT "/rules/default.yaml", NULL, &rs,
					      err, sizeof(err)), 0);
	hs_scratch_t *scr = NULL;
	CU_ASSERT_EQUAL_FATAL(rules_scratch_alloc(rs, &scr), 0);
	struct hits h = scan(rs, scr, "x ERROR y");
	CU_ASSERT_EQUAL(h.count[0], 1);
	CU_ASSERT_EQUAL(h.total, 1);
	/* SINGLEMATCH: three occurrences still report once. */
	h = scan(rs, scr, "ERROR ERROR ERROR");
	CU_ASSERT_EQUAL(h.count[0], 1);
	CU_ASSERT_EQUAL(h.total, 1);
	h = scan(rs, scr, "java.lang.NullPointerException at Foo");
	CU_ASSERT_EQUAL(h.count[1], 1);
	CU_ASSERT_EQUAL(h.count[0], 0);
	h = scan(rs, scr, "ERROR: Exception");
	CU_ASSERT_EQUAL(h.count[0], 1);
	CU_ASSERT_EQUAL(h.count[1], 1);
	h = scan(rs, scr, "error exception");       /* case matters without caseless */
	CU_ASSERT_EQUAL(h.total, 0);
	hs_free_scratch(scr);
	rules_set_destroy(rs);
}

static void test_callback_nonzero_stops_scan_without_error(void)
{
	struct rules_set *rs = load("- {id: a, pattern: 'aa', threshold: 1}\n"
				    "- {id: b, pattern: 'bb', threshold: 1}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
	hs_scratch_t *scr = NULL;
	CU_ASSERT_EQUAL_FATAL(rules_scratch_alloc(rs, &scr), 0);
	struct hits h = { .stop_after = 1 };
	CU_ASSERT_EQUAL(rules_scan(rs, scr, "aa bb", 5, on_match, &h), 0);
	CU_ASSERT_EQUAL(h.total, 1);
	hs_free_scratch(scr);
	rules_set_destroy(rs);
}

static void test_bad_pattern_names_rule_id_and_line(void)
{
	expect_err("rules:\n"
		   "  - id: good\n"
		   "    pattern: 'ok'\n"
		   "    threshold: 1\n"
		   "  - id: bad\n"
		   "    threshold: 1\n"
		   "    pattern: '('\n",
		   "r.yaml:7: rule 'bad': Hyperscan: ");
}

static void test_duplicate_id_names_both_lines(void)
{
	expect_err("- {id: a, pattern: x, threshold: 1}\n"
		   "- {id: b, pattern: y, threshold: 1}\n"
		   "- {id: a, pattern: z, threshold: 1}\n",
		   "r.yaml:3: rule 'a': duplicate id (first at line 1)");
}

static void test_unknown_key_names_rule_key_and_line(void)
{
	expect_err("- id: a\n"
		   "  pattern: x\n"
		   "  threshold: 1\n"
		   "  treshold: 2\n",
		   "r.yaml:4: rule 'a': unknown key 'treshold'");
	expect_err("rules: []\nversion: 2\n", "r.yaml:2: unknown key 'version'");
}

static void test_each_validation_error_names_line_and_problem(void)
{
	expect_err("- {pattern: x, threshold: 1}\n", "r.yaml:1: rule #1: missing 'id'");
	expect_err("- {id: a, threshold: 1}\n", "r.yaml:1: rule 'a': missing 'pattern'");
	expect_err("- {id: Bad!, pattern: x, threshold: 1}\n", "r.yaml:1: rule #1: bad id 'Bad!'");
	expect_err("- {id: a, pattern: x, threshold: 1, group_by: user}\n",
		   "r.yaml:1: rule 'a': bad group_by 'user'");
	expect_err("- {id: a, pattern: x, threshold: 0}\n",
		   "rule 'a': threshold '0' is not a positive integer");
	expect_err("- {id: a, pattern: x, threshold: -3}\n",
		   "rule 'a': threshold '-3' is not a positive integer");
	expect_err("- {id: a, pattern: x, threshold: 2.5}\n",
		   "rule 'a': threshold '2.5' is not a positive integer");
	expect_err("- {id: a, pattern: x}\n", "rule 'a': missing 'threshold'");
	expect_err("- {id: a, pattern: x, threshold: 1, window: 5 minutes}\n",
		   "rule 'a': bad duration '5 minutes' for 'window'");
	expect_err("- {id: a, pattern: x, threshold: 1, window: 0s}\n",
		   "rule 'a': bad duration '0s' for 'window'");
	expect_err("- {id: a, pattern: x, threshold: 1, cooldown: -1m}\n",
		   "rule 'a': bad duration '-1m' for 'cooldown'");
	expect_err("- id: a\n  pattern: x\n  threshold: 1\n  flags: [caseless, greedy]\n",
		   "r.yaml:4: rule 'a': unknown flag 'greedy'");
	expect_err("- {id: a, pattern: x, threshold: 1, severity: fatal}\n",
		   "rule 'a': bad severity 'fatal'");
	expect_err("- just a string\n", "r.yaml:1: rule #1: must be a map");
	expect_err("rules: {id: a}\n", "r.yaml:1: rules must be a list");
}

static void test_more_than_rules_max_rejected(void)
{
	size_t cap = (RULES_MAX + 2) * 48;
	char *doc = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	size_t p = 0;
	for (unsigned i = 0; i <= RULES_MAX; i++)
		p += (size_t)snprintf(doc + p, cap - p, "- {id: r%u, pattern: x%u, threshold: 1}\n",
				      i, i);
	expect_err(doc, "r.yaml:4097: more than 4096 rules");
	free(doc);
}

static void test_defaults_and_optional_fields(void)
{
	struct rules_defaults defs = { .window_us = 30 * WR_US_PER_SEC, .cooldown_us = 7 };
	struct rules_set *rs = NULL;
	CU_ASSERT_EQUAL_FATAL(rules_load_string("- id: a.b-c_1\n"
						"  pattern: x\n"
						"  threshold: 18446744073709551615\n"
						"- id: z\n"
						"  name: Zed\n"
						"  pattern: y\n"
						"  threshold: 2\n"
						"  group_by: none\n"
						"  severity: info\n"
						"  window: 250ms\n"
						"  cooldown: 0\n"
						"  flags: [dotall, multiline]\n",
						"r.yaml", &defs, &rs, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rs->n, 2);
	CU_ASSERT_STRING_EQUAL(rs->rules[0].name, "a.b-c_1");
	CU_ASSERT_EQUAL(rs->rules[0].threshold, UINT64_MAX);
	CU_ASSERT_EQUAL(rs->rules[0].window_us, 30 * WR_US_PER_SEC);
	CU_ASSERT_EQUAL(rs->rules[0].cooldown_us, 7);
	CU_ASSERT_EQUAL(rs->rules[0].group_by, RULES_GROUP_HOST);
	CU_ASSERT_EQUAL(rs->rules[0].severity, RULES_SEV_WARNING);
	CU_ASSERT_EQUAL(rs->rules[0].line, 1);
	CU_ASSERT_STRING_EQUAL(rs->rules[1].name, "Zed");
	CU_ASSERT_EQUAL(rs->rules[1].group_by, RULES_GROUP_NONE);
	CU_ASSERT_EQUAL(rs->rules[1].severity, RULES_SEV_INFO);
	CU_ASSERT_EQUAL(rs->rules[1].window_us, 250000);
	CU_ASSERT_EQUAL(rs->rules[1].cooldown_us, 0);
	CU_ASSERT_EQUAL(rs->rules[1].hs_flags,
			HS_FLAG_SINGLEMATCH | HS_FLAG_DOTALL | HS_FLAG_MULTILINE);
	CU_ASSERT_EQUAL(rs->rules[1].line, 4);
	rules_set_destroy(rs);
}

static void test_caseless_flag_matches_any_case(void)
{
	struct rules_set *rs = load("- {id: cs, pattern: 'timeout', threshold: 1}\n"
				    "- {id: ci, pattern: 'timeout', threshold: 1, flags: [caseless]}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
	CU_ASSERT_EQUAL(rs->rules[1].hs_flags, HS_FLAG_SINGLEMATCH | HS_FLAG_CASELESS);
	hs_scratch_t *scr = NULL;
	CU_ASSERT_EQUAL_FATAL(rules_scratch_alloc(rs, &scr), 0);
	struct hits h = scan(rs, scr, "connection TimeOut after 5s");
	CU_ASSERT_EQUAL(h.count[0], 0);
	CU_ASSERT_EQUAL(h.count[1], 1);
	h = scan(rs, scr, "connection timeout");
	CU_ASSERT_EQUAL(h.count[0], 1);
	CU_ASSERT_EQUAL(h.count[1], 1);
	hs_free_scratch(scr);
	rules_set_destroy(rs);
}

static void test_version_increases_per_load_and_empty_set_scans_nothing(void)
{
	struct rules_set *a = load("rules: []\n");
	struct rules_set *b = load("");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(a->n, 0);
	CU_ASSERT_PTR_NULL(a->db);
	CU_ASSERT(b->version > a->version);
	CU_ASSERT(a->version > 0);
	hs_scratch_t *scr = NULL;
	CU_ASSERT_EQUAL(rules_scratch_alloc(a, &scr), 0);
	CU_ASSERT_PTR_NULL(scr);
	struct hits h = scan(a, NULL, "anything");
	CU_ASSERT_EQUAL(h.total, 0);
	/* A failed load does not consume a version. */
	struct rules_set *bad = NULL;
	CU_ASSERT_EQUAL(rules_load_string("- {id: a}\n", "r", NULL, &bad, err, sizeof(err)),
			-EINVAL);
	struct rules_set *c = load("rules:\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->version, b->version + 1);
	rules_set_destroy(a);
	rules_set_destroy(b);
	rules_set_destroy(c);
	rules_set_destroy(NULL);
}

static void test_scratch_grows_for_a_second_set(void)
{
	struct rules_set *a = load("- {id: a, pattern: 'abc', threshold: 1}\n");
	struct rules_set *b = load("- {id: a, pattern: 'x[0-9]+y', threshold: 1}\n"
				   "- {id: b, pattern: 'q.*z', threshold: 1, flags: dotall}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	hs_scratch_t *scr = NULL;
	CU_ASSERT_EQUAL_FATAL(rules_scratch_alloc(a, &scr), 0);
	CU_ASSERT_EQUAL_FATAL(rules_scratch_alloc(b, &scr), 0);
	struct hits h = scan(a, scr, "xabcx");
	CU_ASSERT_EQUAL(h.count[0], 1);
	h = scan(b, scr, "x123y q\nz");
	CU_ASSERT_EQUAL(h.count[0], 1);
	CU_ASSERT_EQUAL(h.count[1], 1);
	hs_free_scratch(scr);
	rules_set_destroy(a);
	rules_set_destroy(b);
}

static void test_literal_scan_agrees_with_memmem_on_random_strings(void)
{
	struct rules_set *rs = load("- {id: lit, pattern: 'abca', threshold: 1}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
	hs_scratch_t *scr = NULL;
	CU_ASSERT_EQUAL_FATAL(rules_scratch_alloc(rs, &scr), 0);
	/* A 3-letter alphabet makes both outcomes common; fixed seed, reproducible. */
	unsigned seed = 12345, disagree = 0, found = 0;
	char buf[64];
	for (int i = 0; i < 10000; i++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(buf));
		for (size_t j = 0; j < len; j++)
			buf[j] = "abc"[rand_r(&seed) % 3];
		struct hits h = { 0 };
		CU_ASSERT_EQUAL(rules_scan(rs, scr, buf, len, on_match, &h), 0);
		bool want = memmem(buf, len, "abca", 4) != NULL;
		found += want;
		disagree += (h.total == 1) != want || h.total > 1;
	}
	CU_ASSERT_EQUAL(disagree, 0);
	CU_ASSERT(found > 1000 && found < 9000);
	hs_free_scratch(scr);
	rules_set_destroy(rs);
}

/* Match order as the callback saw it (rule ids, first 16). */
struct seq {
	uint32_t id[16];
	unsigned n;
};

static int on_seq(uint32_t idx, void *ctx)
{
	struct seq *q = ctx;
	if (q->n < 16)
		q->id[q->n] = idx;
	q->n++;
	return 0;
}

/*
 * The literal prefilter must give exactly Hyperscan's callbacks: random sets
 * of 1-4 literal rules (some caseless, bytes above 0x7f, lengths around the
 * 32-byte SIMD block), random texts with the literals planted (case-flipped
 * at times), each text ending at the end of its allocation so an overread
 * would show under valgrind. Hyperscan alone is the same set with n_pf = 0.
 */
static void test_literal_prefilter_agrees_with_hyperscan(void)
{
	static const char alpha[] = "aAbBcC-: #eE\xc1\xe1";
	unsigned seed = 7, diffs = 0, with_pf = 0;
	unsigned long scans = 0, hit = 0;
	for (int t = 0; t < 400; t++) {
		char lits[4][48], doc[2048];
		int o = snprintf(doc, sizeof(doc), "rules:\n");
		int nr = 1 + rand_r(&seed) % 4;
		for (int i = 0; i < nr; i++) {
			int ll = 1 + rand_r(&seed) % (t % 2 ? 5 : 40);
			for (int j = 0; j < ll; j++)
				lits[i][j] = alpha[rand_r(&seed) % 12];
			lits[i][ll] = 0;
			if (lits[i][0] == ' ' || lits[i][0] == '#')
				lits[i][0] = 'a';
			o += snprintf(doc + o, sizeof(doc) - (size_t)o,
				      "  - {id: r%d, pattern: '%s', threshold: 1%s}\n", i, lits[i],
				      rand_r(&seed) % 2 ? ", flags: [caseless]" : "");
		}
		struct rules_set *rs = load(doc);
		CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
		with_pf += rs->n_pf > 0;
		hs_scratch_t *scr = NULL;
		CU_ASSERT_EQUAL_FATAL(rules_scratch_alloc(rs, &scr), 0);
		char *buf = malloc(400);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		for (int k = 0; k < 150; k++) {
			size_t len = (size_t)rand_r(&seed) % (k % 2 ? 120 : 330);
			char *b = buf + 400 - len;
			for (size_t j = 0; j < len; j++)
				b[j] = alpha[rand_r(&seed) % 14];
			for (int q = rand_r(&seed) % 3; q > 0; q--) {
				const char *l = lits[rand_r(&seed) % nr];
				size_t n = strlen(l);
				if (n > len)
					continue;
				size_t at = (size_t)rand_r(&seed) % (len - n + 1);
				for (size_t j = 0; j < n; j++)
					b[at + j] = rand_r(&seed) % 4 ? l[j] : (char)(l[j] ^ 0x20);
			}
			struct seq a = { { 0 }, 0 }, c = { { 0 }, 0 };
			rules_scan(rs, scr, b, len, on_seq, &a);
			uint32_t save = rs->n_pf;
			rs->n_pf = 0;
			rules_scan(rs, scr, b, len, on_seq, &c);
			rs->n_pf = save;
			scans++;
			hit += c.n > 0;
			diffs += a.n != c.n || memcmp(a.id, c.id, sizeof(a.id)) != 0;
		}
		free(buf);
		hs_free_scratch(scr);
		rules_set_destroy(rs);
	}
	CU_ASSERT_EQUAL(diffs, 0);
	CU_ASSERT_EQUAL(with_pf, 400);               /* every literal-only set gets one */
	CU_ASSERT(hit > scans / 10 && hit < scans);  /* both outcomes are exercised */
}

static void test_prefilter_only_for_plain_literals(void)
{
	static const char *const docs[] = {
		"- {id: a, pattern: 'a.b', threshold: 1}\n",
		"- {id: a, pattern: 'ab', threshold: 1, flags: [utf8]}\n",
		"- {id: a, pattern: 'ab', threshold: 1}\n- {id: b, pattern: 'x+', threshold: 1}\n",
		"- {id: a, pattern: 'a\\\\d', threshold: 1}\n",
	};
	for (unsigned i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct rules_set *rs = load(docs[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
		CU_ASSERT_EQUAL(rs->n_pf, 0);
		rules_set_destroy(rs);
	}
	struct rules_set *rs = load("- {id: a, pattern: 'ERROR', threshold: 1}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
	CU_ASSERT_EQUAL(rs->n_pf, 1);
	rules_set_destroy(rs);
}

static void test_names_of_enums(void)
{
	CU_ASSERT_STRING_EQUAL(rules_group_by_name(RULES_GROUP_APP), "app");
	CU_ASSERT_STRING_EQUAL(rules_group_by_name(RULES_GROUP_NONE), "none");
	CU_ASSERT_STRING_EQUAL(rules_severity_name(RULES_SEV_CRITICAL), "critical");
	CU_ASSERT_STRING_EQUAL(rules_severity_name(RULES_SEV_INFO), "info");
}

static void test_missing_file_is_enoent(void)
{
	struct rules_set *rs = NULL;
	CU_ASSERT_EQUAL(rules_load_file("/nonexistent/r.yaml", NULL, &rs, err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_PTR_NULL(rs);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/r.yaml"));
}

static int reg(void)
{
	WR_SUITE("rules",
		 WR_TEST(test_default_file_loads_with_documented_values),
		 WR_TEST(test_default_rules_match_error_once_and_exception),
		 WR_TEST(test_callback_nonzero_stops_scan_without_error),
		 WR_TEST(test_bad_pattern_names_rule_id_and_line),
		 WR_TEST(test_duplicate_id_names_both_lines),
		 WR_TEST(test_unknown_key_names_rule_key_and_line),
		 WR_TEST(test_each_validation_error_names_line_and_problem),
		 WR_TEST(test_more_than_rules_max_rejected),
		 WR_TEST(test_defaults_and_optional_fields),
		 WR_TEST(test_caseless_flag_matches_any_case),
		 WR_TEST(test_version_increases_per_load_and_empty_set_scans_nothing),
		 WR_TEST(test_scratch_grows_for_a_second_set),
		 WR_TEST(test_literal_scan_agrees_with_memmem_on_random_strings),
		 WR_TEST(test_literal_prefilter_agrees_with_hyperscan),
		 WR_TEST(test_prefilter_only_for_plain_literals),
		 WR_TEST(test_names_of_enums),
		 WR_TEST(test_missing_file_is_enoent));
	return 0;
}

WR_TEST_MAIN(reg)
