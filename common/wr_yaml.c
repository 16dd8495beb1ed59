/*
 * wr_yaml.c - libyaml's event parser folded into a small tree that keeps the
 * line of every node and map key.
 *
 * Why events and not yaml_parser_load(): the document API resolves aliases
 * silently and does not let us reject anchors, tags or duplicate keys with the
 * line they sit on. Events give us every start mark.
 *
 * Rejected on purpose (error "name:line: what"): anchors, aliases, explicit
 * tags, non-scalar map keys, duplicate map keys, more than one document and
 * nesting deeper than WR_YAML_MAX_DEPTH (bounds the recursion on hostile
 * input). An empty stream loads as an empty map, so an empty config file means
 * "all defaults".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "wr_common.h"
#include "wr_yaml.h"

#define WR_YAML_MAX_DEPTH 64
/* Files larger than this are not configuration; refuse instead of reading them. */
#define WR_YAML_MAX_FILE (16u << 20)

struct yl_ctx {
	yaml_parser_t parser;
	const char *name;
	const char *text;            /* the whole input, to find the line of reader errors */
	size_t len;
	char *err;
	size_t errlen;
};

static void yl_err(struct yl_ctx *cx, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void yl_err(struct yl_ctx *cx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wr_verr_at(cx->err, cx->errlen, cx->name, line, fmt, ap);
	va_end(ap);
}

/* 1-based line of byte @off in the input (reader errors carry no mark). */
static unsigned line_of_offset(const struct yl_ctx *cx, size_t off)
{
	unsigned line = 1;
	for (size_t i = 0; i < off && i < cx->len; i++)
		line += cx->text[i] == '\n';
	return line;
}

static void yl_parser_err(struct yl_ctx *cx)
{
	const yaml_parser_t *p = &cx->parser;
	const char *problem = p->problem ? p->problem : "YAML error";
	unsigned line;
	if (p->error == YAML_READER_ERROR)
		line = line_of_offset(cx, p->problem_offset);
	else
		line = (unsigned)p->problem_mark.line + 1;
	if (p->error == YAML_MEMORY_ERROR)
		yl_err(cx, line, "out of memory");
	else if (p->context)
		yl_err(cx, line, "%s (%s at line %u)", problem, p->context,
		       (unsigned)p->context_mark.line + 1);
	else
		yl_err(cx, line, "%s", problem);
}

/* Next event; returns 0 or -EINVAL with the parser's message in err. */
static int yl_next(struct yl_ctx *cx, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&cx->parser, ev)) {
		yl_parser_err(cx);
		return cx->parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	}
	return 0;
}

void wr_yaml_free(struct wr_yaml_node *n)
{
	if (!n)
		return;
	free(n->scalar);
	for (size_t i = 0; i < n->n; i++) {
		wr_yaml_free(n->items[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->key_lines);
	free(n);
}

/* Make room for one more item (and key) in @n. */
static int node_grow(struct wr_yaml_node *n, size_t *cap)
{
	if (n->n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 4;
	struct wr_yaml_node **it = realloc(n->items, nc * sizeof(*it));
	if (!it)
		return -ENOMEM;
	n->items = it;
	if (n->kind == WR_YAML_MAP) {
		char **k = realloc(n->keys, nc * sizeof(*k));
		if (!k)
			return -ENOMEM;
		n->keys = k;
		unsigned *kl = realloc(n->key_lines, nc * sizeof(*kl));
		if (!kl)
			return -ENOMEM;
		n->key_lines = kl;
	}
	*cap = nc;
	return 0;
}

/* Anchors, aliases and tags are refused where they appear. */
static int check_plain_node(struct yl_ctx *cx, const yaml_event_t *ev)
{
	unsigned line = (unsigned)ev->start_mark.line + 1;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		yl_err(cx, line, "aliases (*%s) are not supported",
		       (const char *)ev->data.alias.anchor);
		return -EINVAL;
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	default:
		yl_err(cx, line, "unexpected YAML event");
		return -EINVAL;
	}
	if (anchor) {
		yl_err(cx, line, "anchors (&%s) are not supported", (const char *)anchor);
		return -EINVAL;
	}
	if (tag) {
		yl_err(cx, line, "tags (%s) are not supported", (const char *)tag);
		return -EINVAL;
	}
	return 0;
}

static int parse_node(struct yl_ctx *cx, yaml_event_t *ev, unsigned depth,
		      struct wr_yaml_node **out);

/* Read the items of @n until its end event; in a map, keys alternate with values. */
static int parse_children(struct yl_ctx *cx, struct wr_yaml_node *n, unsigned depth)
{
	size_t cap = 0;
	yaml_event_type_t end = n->kind == WR_YAML_MAP ? YAML_MAPPING_END_EVENT
						       : YAML_SEQUENCE_END_EVENT;
	for (;;) {
		yaml_event_t ev;
		int rc = yl_next(cx, &ev);
		if (rc)
			return rc;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		rc = node_grow(n, &cap);
		if (rc) {
			yaml_event_delete(&ev);
			return rc;
		}
		if (n->kind == WR_YAML_SEQ) {
			struct wr_yaml_node *child = NULL;
			rc = parse_node(cx, &ev, depth + 1, &child);
			yaml_event_delete(&ev);
			if (rc)
				return rc;
			n->items[n->n++] = child;
			continue;
		}
		/* Map: a scalar key, then its value. */
		unsigned kline = (unsigned)ev.start_mark.line + 1;
		rc = check_plain_node(cx, &ev);
		if (!rc && ev.type != YAML_SCALAR_EVENT) {
			yl_err(cx, kline, "map keys must be scalars");
			rc = -EINVAL;
		}
		if (rc) {
			yaml_event_delete(&ev);
			return rc;
		}
		const char *ktext = (const char *)ev.data.scalar.value;
		for (size_t i = 0; i < n->n; i++) {
			if (!strcmp(n->keys[i], ktext)) {
				yl_err(cx, kline, "duplicate key '%s' (first at line %u)", ktext,
				       n->key_lines[i]);
				yaml_event_delete(&ev);
				return -EINVAL;
			}
		}
		char *key = strdup(ktext);
		yaml_event_delete(&ev);
		if (!key)
			return -ENOMEM;
		rc = yl_next(cx, &ev);
		if (rc) {
			free(key);
			return rc;
		}
		struct wr_yaml_node *child = NULL;
		rc = parse_node(cx, &ev, depth + 1, &child);
		yaml_event_delete(&ev);
		if (rc) {
			free(key);
			return rc;
		}
		n->keys[n->n] = key;
		n->key_lines[n->n] = kline;
		n->items[n->n++] = child;
	}
}

/* Build the node that starts with @ev (owned by the caller). */
static int parse_node(struct yl_ctx *cx, yaml_event_t *ev, unsigned depth,
		      struct wr_yaml_node **out)
{
	unsigned line = (unsigned)ev->start_mark.line + 1;
	int rc = check_plain_node(cx, ev);
	if (rc)
		return rc;
	if (depth > WR_YAML_MAX_DEPTH) {
		yl_err(cx, line, "nesting deeper than %d levels", WR_YAML_MAX_DEPTH);
		return -EINVAL;
	}
	struct wr_yaml_node *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->line = line;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->kind = WR_YAML_SCALAR;
		n->scalar = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (!n->scalar) {
			free(n);
			return -ENOMEM;
		}
		*out = n;
		return 0;
	}
	n->kind = ev->type == YAML_MAPPING_START_EVENT ? WR_YAML_MAP : WR_YAML_SEQ;
	rc = parse_children(cx, n, depth);
	if (rc) {
		wr_yaml_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

static struct wr_yaml_node *empty_map(void)
{
	struct wr_yaml_node *n = calloc(1, sizeof(*n));
	if (n) {
		n->kind = WR_YAML_MAP;
		n->line = 1;
	}
	return n;
}

/* Walk stream-start, one document, stream-end. */
static int parse_stream(struct yl_ctx *cx, struct wr_yaml_node **out)
{
	yaml_event_t ev;
	struct wr_yaml_node *root = NULL;
	int rc = yl_next(cx, &ev);         /* STREAM_START */
	if (rc)
		return rc;
	yaml_event_delete(&ev);
	rc = yl_next(cx, &ev);
	if (rc)
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		*out = empty_map();
		return *out ? 0 : -ENOMEM;
	}
	yaml_event_delete(&ev);            /* DOCUMENT_START */
	rc = yl_next(cx, &ev);
	if (rc)
		return rc;
	rc = parse_node(cx, &ev, 0, &root);
	yaml_event_delete(&ev);
	if (rc)
		return rc;
	rc = yl_next(cx, &ev);             /* DOCUMENT_END */
	if (rc)
		goto err;
	yaml_event_delete(&ev);
	rc = yl_next(cx, &ev);
	if (rc)
		goto err;
	if (ev.type != YAML_STREAM_END_EVENT) {
		yl_err(cx, (unsigned)ev.start_mark.line + 1,
		       "more than one YAML document; weir reads only one");
		yaml_event_delete(&ev);
		rc = -EINVAL;
		goto err;
	}
	yaml_event_delete(&ev);
	*out = root;
	return 0;
err:
	wr_yaml_free(root);
	return rc;
}

int wr_yaml_load_string(const char *s, size_t len, const char *name,
			struct wr_yaml_node **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	struct yl_ctx cx = { .name = name ? name : "<string>", .text = s, .len = len,
			     .err = err, .errlen = errlen };
	if (!yaml_parser_initialize(&cx.parser)) {
		yl_err(&cx, 0, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&cx.parser, (const unsigned char *)s, len);
	int rc = parse_stream(&cx, out);
	yaml_parser_delete(&cx.parser);
	return rc;
}

int wr_yaml_load_file(const char *path, struct wr_yaml_node **out, char *err, size_t errlen)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > WR_YAML_MAX_FILE) {
		snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path,
			 WR_YAML_MAX_FILE);
		close(fd);
		return -EINVAL;
	}
	size_t size = (size_t)st.st_size;
	char *buf = malloc(size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			snprintf(err, errlen, "%s: %s", path, strerror(e));
			free(buf);
			close(fd);
			return -e;
		}
		if (r == 0)
			break;         /* the file shrank under us: parse what is there */
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	int rc = wr_yaml_load_string(buf, got, path, out, err, errlen);
	free(buf);
	return rc;
}

const struct wr_yaml_node *wr_yaml_get(const struct wr_yaml_node *map, const char *key)
{
	if (!map || map->kind != WR_YAML_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (!strcmp(map->keys[i], key))
			return map->items[i];
	return NULL;
}
