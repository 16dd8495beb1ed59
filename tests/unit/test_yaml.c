/* test_yaml.c - common/wr_yaml.c: the tree, its line numbers and the errors it refuses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wr_yaml.h"
#include "wr_test.h"

static char err[512];

static struct wr_yaml_node *load(const char *s)
{
	struct wr_yaml_node *n = NULL;
	err[0] = '\0';
	int rc = wr_yaml_load_string(s, strlen(s), "t.yaml", &n, err, sizeof(err));
	if (rc)
		CU_ASSERT_PTR_NULL(n);
	return n;
}

/* Load must fail with -EINVAL and an error that contains @want. */
static void expect_err(const char *doc, const char *want)
{
	struct wr_yaml_node *n = (struct wr_yaml_node *)1;
	int rc = wr_yaml_load_string(doc, strlen(doc), "t.yaml", &n, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NULL(n);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	if (!strstr(err, want))
		fprintf(stderr, "error '%s' does not contain '%s'\n", err, want);
}

static void test_tree_kinds_values_and_lines(void)
{
	struct wr_yaml_node *n = load("# comment\n"
				      "a: 1\n"
				      "b:\n"
				      "  - x\n"
				      "  - 'y z'\n"
				      "c: {d: \"e\"}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(n->kind, WR_YAML_MAP);
	CU_ASSERT_EQUAL(n->n, 3);
	CU_ASSERT_STRING_EQUAL(n->keys[0], "a");
	CU_ASSERT_EQUAL(n->key_lines[0], 2);
	CU_ASSERT_EQUAL(n->key_lines[1], 3);
	CU_ASSERT_EQUAL(n->key_lines[2], 6);
	const struct wr_yaml_node *a = wr_yaml_get(n, "a");
	CU_ASSERT_EQUAL(a->kind, WR_YAML_SCALAR);
	CU_ASSERT_STRING_EQUAL(a->scalar, "1");
	CU_ASSERT_EQUAL(a->line, 2);
	const struct wr_yaml_node *b = wr_yaml_get(n, "b");
	CU_ASSERT_EQUAL_FATAL(b->kind, WR_YAML_SEQ);
	CU_ASSERT_EQUAL_FATAL(b->n, 2);
	CU_ASSERT_STRING_EQUAL(b->items[0]->scalar, "x");
	CU_ASSERT_EQUAL(b->items[0]->line, 4);
	CU_ASSERT_STRING_EQUAL(b->items[1]->scalar, "y z");
	CU_ASSERT_EQUAL(b->items[1]->line, 5);
	const struct wr_yaml_node *d = wr_yaml_get(wr_yaml_get(n, "c"), "d");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->scalar, "e");
	CU_ASSERT_EQUAL(d->line, 6);
	wr_yaml_free(n);
}

static void test_get_on_missing_key_non_map_and_null(void)
{
	struct wr_yaml_node *n = load("a: [1]\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_PTR_NULL(wr_yaml_get(n, "b"));
	CU_ASSERT_PTR_NULL(wr_yaml_get(wr_yaml_get(n, "a"), "a"));
	CU_ASSERT_PTR_NULL(wr_yaml_get(NULL, "a"));
	wr_yaml_free(n);
	wr_yaml_free(NULL);
}

static void test_scalars_keep_their_text(void)
{
	struct wr_yaml_node *n = load("a: yes\nb: ~\nc: 010\nd: '+02:00'\ne:\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_STRING_EQUAL(wr_yaml_get(n, "a")->scalar, "yes");
	CU_ASSERT_STRING_EQUAL(wr_yaml_get(n, "b")->scalar, "~");
	CU_ASSERT_STRING_EQUAL(wr_yaml_get(n, "c")->scalar, "010");
	CU_ASSERT_STRING_EQUAL(wr_yaml_get(n, "d")->scalar, "+02:00");
	CU_ASSERT_STRING_EQUAL(wr_yaml_get(n, "e")->scalar, "");
	wr_yaml_free(n);
}

static void test_empty_stream_is_empty_map(void)
{
	struct wr_yaml_node *n = load("# only a comment\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(n->kind, WR_YAML_MAP);
	CU_ASSERT_EQUAL(n->n, 0);
	wr_yaml_free(n);
}

static void test_anchor_rejected_with_line(void)
{
	expect_err("a: 1\nb: &x 2\n", "t.yaml:2: anchors (&x) are not supported");
}

static void test_alias_rejected_with_line(void)
{
	/* The anchor would be refused first; an alias alone is a libyaml error or ours. */
	expect_err("a: 1\nb: [1,\n  2]\nc: *x\n", "t.yaml:4:");
}

static void test_tag_rejected_with_line(void)
{
	expect_err("a: 1\n\nb: !!str 2\n", "t.yaml:3: tags (tag:yaml.org,2002:str) are not supported");
}

static void test_duplicate_key_names_key_and_both_lines(void)
{
	expect_err("a: 1\nb: 2\nc:\n  d: 1\na: 3\n", "t.yaml:5: duplicate key 'a' (first at line 1)");
	expect_err("c:\n  d: 1\n  e: 2\n  d: 3\n", "t.yaml:4: duplicate key 'd' (first at line 2)");
}

static void test_syntax_error_reports_libyaml_problem_and_line(void)
{
	expect_err("a: 1\nb: [1, 2\nc: 3\n", "t.yaml:");
	/* An unclosed flow sequence: libyaml's own words, with a line number. */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "did not find expected"));
	expect_err("a: 1\n  b: 2\n", "t.yaml:2: mapping values are not allowed in this context");
}

static void test_non_scalar_key_rejected(void)
{
	expect_err("? [a, b]\n: 1\n", "t.yaml:1: map keys must be scalars");
}

static void test_second_document_rejected(void)
{
	expect_err("a: 1\n---\nb: 2\n", "t.yaml:2: more than one YAML document");
}

static void test_deep_nesting_rejected(void)
{
	char doc[400];
	size_t p = 0;
	for (int i = 0; i < 100; i++)
		doc[p++] = '[';
	for (int i = 0; i < 100; i++)
		doc[p++] = ']';
	doc[p] = '\0';
	expect_err(doc, "nesting deeper than 64 levels");
}

static void test_invalid_utf8_reports_its_line(void)
{
	expect_err("a: 1\nb: 2\nc: \xff\n", "t.yaml:3:");
}

static void test_load_file_and_missing_file(void)
{
	char path[] = "/tmp/test_yaml_XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	const char *doc = "x:\n  y: z\n";
	CU_ASSERT_EQUAL(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
	close(fd);
	struct wr_yaml_node *n = NULL;
	CU_ASSERT_EQUAL(wr_yaml_load_file(path, &n, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_STRING_EQUAL(wr_yaml_get(wr_yaml_get(n, "x"), "y")->scalar, "z");
	CU_ASSERT_EQUAL(wr_yaml_get(wr_yaml_get(n, "x"), "y")->line, 2);
	wr_yaml_free(n);
	unlink(path);
	CU_ASSERT_EQUAL(wr_yaml_load_file(path, &n, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NULL(n);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
}

static int reg(void)
{
	WR_SUITE("yaml",
		 WR_TEST(test_tree_kinds_values_and_lines),
		 WR_TEST(test_get_on_missing_key_non_map_and_null),
		 WR_TEST(test_scalars_keep_their_text),
		 WR_TEST(test_empty_stream_is_empty_map),
		 WR_TEST(test_anchor_rejected_with_line),
		 WR_TEST(test_alias_rejected_with_line),
		 WR_TEST(test_tag_rejected_with_line),
		 WR_TEST(test_duplicate_key_names_key_and_both_lines),
		 WR_TEST(test_syntax_error_reports_libyaml_problem_and_line),
		 WR_TEST(test_non_scalar_key_rejected),
		 WR_TEST(test_second_document_rejected),
		 WR_TEST(test_deep_nesting_rejected),
		 WR_TEST(test_invalid_utf8_reports_its_line),
		 WR_TEST(test_load_file_and_missing_file));
	return 0;
}

WR_TEST_MAIN(reg)
