/*
 * wr_yaml.h - a YAML document read into a small tree, with the line of every
 * node, so config and rules errors can name "file:line".
 *
 * Built on libyaml's parser. Anchors/aliases and tags are rejected (they are
 * not needed in weir's files and make error lines ambiguous).
 * Also rejected, each with "name:line: what": duplicate map keys (naming the
 * key and the line of its first use), non-scalar map keys, a second document
 * in the stream, nesting deeper than 64 levels. libyaml syntax errors come out
 * as "name:line: <libyaml problem> [(<context> at line N)]".
 * Scalars keep their text as written (no type resolution: "yes", "~" and
 * "010" stay strings); an empty stream loads as an empty map (line 1).
 * Thread safety: a tree is immutable after load; load/free from any thread.
 */
#ifndef WR_YAML_H
#define WR_YAML_H

#include <stddef.h>

enum wr_yaml_kind { WR_YAML_SCALAR, WR_YAML_SEQ, WR_YAML_MAP };

struct wr_yaml_node {
	enum wr_yaml_kind kind;
	unsigned line;               /* 1-based line where the node starts */
	char *scalar;                /* WR_YAML_SCALAR: the text, NUL-terminated */
	size_t n;                    /* SEQ: items; MAP: pairs */
	struct wr_yaml_node **items; /* SEQ: items[i]; MAP: values[i] */
	char **keys;                 /* MAP only: keys[i] (scalar keys only) */
	unsigned *key_lines;         /* MAP only: line of keys[i] */
};

/*
 * Load @path into a tree. On error returns -errno or -EINVAL and writes
 * "path:line: what" into @err; *out is then NULL.
 */
int wr_yaml_load_file(const char *path, struct wr_yaml_node **out, char *err, size_t errlen);

/* The same for an in-memory document; @name is used in error messages. */
int wr_yaml_load_string(const char *s, size_t len, const char *name,
			struct wr_yaml_node **out, char *err, size_t errlen);

/* Free a tree; NULL is a no-op. */
void wr_yaml_free(struct wr_yaml_node *n);

/* Value of @key in MAP @map, or NULL (also when @map is NULL or not a map). */
const struct wr_yaml_node *wr_yaml_get(const struct wr_yaml_node *map, const char *key);

#endif /* WR_YAML_H */
