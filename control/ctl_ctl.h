/*
 * ctl_ctl.h - the control socket weirctl talks to.
 *
 * A unix stream socket (run.control_socket, mode 0600: root only). One
 * request per connection: a command line of at most CTL_CTL_LINE_MAX bytes
 * ending in '\n' (or the peer's shutdown), answered with text whose first
 * line is "ok ..." or "error: ...", then the connection is closed.
 * Commands are executed by the owner's callback on the control thread, so
 * they may touch anything the control thread owns (model reload, counters).
 *
 * Bounded: a peer that connects and says nothing, or too much, is dropped
 * after CTL_CTL_TIMEOUT_MS or at the line limit, with an error reply; the
 * control loop never waits on a client for longer than one poll.
 *
 * Thread safety: one owner thread calls everything.
 */
#ifndef CTL_CTL_H
#define CTL_CTL_H

#include <stddef.h>

#include "wr_counters.h"

#define CTL_CTL_LINE_MAX 1024
#define CTL_CTL_TIMEOUT_MS 2000
#define CTL_CTL_REPLY_MAX 65536

struct ctl_ctl;

/*
 * Execute @line (NUL-terminated, no newline) and write the reply into
 * @reply (@len bytes, NUL-terminated by the callee). Returns the reply
 * length.
 */
typedef size_t (*ctl_ctl_fn)(void *ctx, const char *line, char *reply, size_t len);

/*
 * Listen on @path (an existing socket file there is replaced; its directory
 * must exist). Requests refused here (silent past the timeout, line too
 * long) count in @cnt's control_bad_requests (@cnt may be NULL; else it must
 * outlive the socket; the owner counts the commands it does not know there
 * too). Returns 0 and *out, or -errno with the path in @err.
 */
int ctl_ctl_open(const char *path, ctl_ctl_fn fn, void *ctx, struct wr_counters *cnt,
		 struct ctl_ctl **out, char *err, size_t errlen);

/*
 * Accept and serve what is ready, waiting at most @max_wait_ms for a
 * connection or data. Returns the number of requests answered.
 */
int ctl_ctl_poll(struct ctl_ctl *c, int max_wait_ms);

/* Close the socket and remove its file. NULL is a no-op. */
void ctl_ctl_close(struct ctl_ctl *c);

#endif /* CTL_CTL_H */
