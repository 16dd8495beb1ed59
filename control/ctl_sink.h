/*
 * ctl_sink.h - JSON Lines output files (windows, alerts, late events).
 *
 * One record per line. Records are buffered in memory and written by
 * ctl_jsonl_flush(), which the control loop calls about every 100 ms and
 * ctl_jsonl_close() calls at the end; a record that does not fit the buffer
 * flushes it first. Counters (control thread's slot):
 *   out_records  records that reached the file (counted when written)
 *   sink_errors  records lost to a failed write (disk full, closed pipe)
 * A failed write is counted and logged at a rate limit, never fatal; the
 * records in the buffer at that moment are dropped and later writes try
 * again (the disk may have room by then).
 *
 * Writing to a pipe whose reader has gone raises SIGPIPE unless the process
 * ignores it (main should set SIGPIPE to SIG_IGN; the write then fails with
 * EPIPE and is counted).
 *
 * Thread safety: none; one thread per sink.
 */
#ifndef CTL_SINK_H
#define CTL_SINK_H

#include <stddef.h>

#include "wr_counters.h"

struct ctl_jsonl;

/*
 * Open @path for appending (created 0644 minus umask if missing); "-" means
 * stdout, which close() flushes but leaves open.
 * @cnt may be NULL (nothing counted); otherwise it must outlive the sink.
 * Returns 0 and *out, or -EINVAL (NULL/empty path), -ENOMEM, or -errno from
 * open(2) with "cannot open 'path': reason" in @err.
 */
int ctl_jsonl_open(const char *path, struct wr_counters *cnt, struct ctl_jsonl **out,
		   char *err, size_t errlen);

/*
 * Append one record: @len bytes of @line (no newline inside; one is added).
 * Returns 0 when the record was buffered or written, or -errno when this
 * record was lost (also counted in sink_errors). A 0 return does not mean
 * the record reached the disk: a later flush may still fail and count it.
 */
int ctl_jsonl_write(struct ctl_jsonl *j, const char *line, size_t len);

/* Write out everything buffered (errors counted, not returned); NULL is a no-op. */
void ctl_jsonl_flush(struct ctl_jsonl *j);

/* Flush, close and free; NULL is a no-op. */
void ctl_jsonl_close(struct ctl_jsonl *j);

#endif /* CTL_SINK_H */
