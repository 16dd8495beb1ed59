/*
 * ctl_sink.c - JSON Lines output files.
 *
 * The buffer is our own rather than stdio's: on a failed write stdio does
 * not say how many buffered bytes (hence records) were lost, and the
 * counters must be exact. It is one write(2) per flush either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wr_common.h"
#include "ctl_sink.h"

#define SINK_LOG_MOD "sink"
/* Room for a few thousand typical records: ~100 ms of a busy alert stream. */
#define SINK_BUF_LEN (256u * 1024u)

/* " (N similar suppressed)" when the rate limit held lines back, else "". */
static const char *sink_supp_note(char *buf, size_t len, uint32_t supp)
{
	if (!supp)
		return "";
	snprintf(buf, len, " (%u similar suppressed)", supp);
	return buf;
}

struct ctl_jsonl {
	int fd;
	bool is_stdout;
	bool torn;                   /* the file ends in a partial record */
	struct wr_counters *cnt;
	struct wr_counters own_cnt;
	char *buf;
	size_t used;
	size_t lead;                 /* bytes at buf[0] that are not records (a '\n' after a torn line) */
	uint64_t n_buf;              /* records in buf */
	struct wr_ratelimit rl;
	char path[];
};

/* write(2) all of @p; returns bytes written, and *err = errno when short. */
static size_t sink_write_all(int fd, const char *p, size_t n, int *err)
{
	size_t off = 0;
	*err = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			*err = errno;
			break;
		}
		if (w == 0) {
			*err = EIO;
			break;
		}
		off += (size_t)w;
	}
	return off;
}

static void sink_report(struct ctl_jsonl *j, int err, uint64_t lost)
{
	WR_COUNT_ADD(j->cnt, sink_errors, lost);
	uint32_t supp;
	char note[48];
	if (wr_ratelimit_pass(&j->rl, &supp))
		WR_ERR(SINK_LOG_MOD, "jsonl '%s': write failed: %s; %llu record(s) lost"
		       "%s", j->path, strerror(err),
		       (unsigned long long)lost, sink_supp_note(note, sizeof(note), supp));
}

/* After a short write the file ends mid-record; start the next write on a
 * fresh line so only the torn record is damaged, not the one after it. */
static void sink_mark_torn(struct ctl_jsonl *j, bool torn)
{
	j->torn = torn;
	j->used = j->lead = 0;
	if (torn) {
		j->buf[0] = '\n';
		j->used = j->lead = 1;
	}
}

void ctl_jsonl_flush(struct ctl_jsonl *j)
{
	/* A lone lead newline waits for a record to go with it. */
	if (!j || !j->n_buf)
		return;
	int err;
	size_t off = sink_write_all(j->fd, j->buf, j->used, &err);
	if (!err) {
		WR_COUNT_ADD(j->cnt, out_records, j->n_buf);
		j->n_buf = 0;
		sink_mark_torn(j, false);
		return;
	}
	/* Records wholly written are the newlines past the lead that made it. */
	uint64_t done = 0;
	for (size_t i = j->lead; i < off; i++)
		done += j->buf[i] == '\n';
	WR_COUNT_ADD(j->cnt, out_records, done);
	sink_report(j, err, j->n_buf - done);
	j->n_buf = 0;
	sink_mark_torn(j, off > 0 ? j->buf[off - 1] != '\n' : j->torn);
}

int ctl_jsonl_write(struct ctl_jsonl *j, const char *line, size_t len)
{
	if (len + 1 > SINK_BUF_LEN - j->used)
		ctl_jsonl_flush(j);
	if (len + 1 <= SINK_BUF_LEN - j->used) {
		memcpy(j->buf + j->used, line, len);
		j->buf[j->used + len] = '\n';
		j->used += len + 1;
		j->n_buf++;
		return 0;
	}
	/* Larger than the whole buffer: straight to the file. The buffer is
	 * empty here (but for a lead newline), so order is kept. */
	int err;
	bool torn = j->torn;
	sink_write_all(j->fd, j->buf, j->used, &err);
	if (!err) {
		torn = false;
		if (sink_write_all(j->fd, line, len, &err) > 0)
			torn = true;
		if (!err && sink_write_all(j->fd, "\n", 1, &err) == 1)
			torn = false;
	}
	if (err) {
		sink_report(j, err, 1);
		sink_mark_torn(j, torn);
		return -err;
	}
	WR_COUNT(j->cnt, out_records);
	sink_mark_torn(j, false);
	return 0;
}

int ctl_jsonl_open(const char *path, struct wr_counters *cnt, struct ctl_jsonl **out,
		   char *err, size_t errlen)
{
	*out = NULL;
	if (!path || !*path) {
		snprintf(err, errlen, "jsonl: empty output path");
		return -EINVAL;
	}
	size_t plen = strlen(path);
	struct ctl_jsonl *j = calloc(1, sizeof(*j) + plen + 1);
	if (!j || !(j->buf = malloc(SINK_BUF_LEN))) {
		free(j);
		snprintf(err, errlen, "jsonl '%s': out of memory", path);
		return -ENOMEM;
	}
	memcpy(j->path, path, plen + 1);
	j->cnt = cnt ? cnt : &j->own_cnt;
	j->rl = (struct wr_ratelimit)WR_RATELIMIT_INIT(10000, 3);
	if (!strcmp(path, "-")) {
		j->fd = STDOUT_FILENO;
		j->is_stdout = true;
	} else {
		j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (j->fd < 0) {
			int e = errno;
			snprintf(err, errlen, "cannot open '%s': %s", path, strerror(e));
			free(j->buf);
			free(j);
			return -e;
		}
	}
	*out = j;
	return 0;
}

void ctl_jsonl_close(struct ctl_jsonl *j)
{
	if (!j)
		return;
	ctl_jsonl_flush(j);
	if (!j->is_stdout && close(j->fd) < 0) {
		/* NFS and friends report write errors only at close; what was
		 * flushed may be lost, but we cannot say how much. */
		WR_ERR(SINK_LOG_MOD, "jsonl '%s': close failed: %s", j->path, strerror(errno));
	}
	free(j->buf);
	free(j);
}
