/*
 * ctl_ctl.c - the weirctl control socket. See ctl_ctl.h.
 *
 * One client at a time: requests are rare (an operator, a deploy script),
 * and serving one fully before the next keeps this simple and bounded.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_ctl.h"
#include "wr_common.h"

struct ctl_ctl {
	int lfd;                     /* listening socket */
	int cfd;                     /* the client being read, -1 = none */
	int64_t deadline_us;         /* drop the client after this */
	size_t n;                    /* bytes of line[] read */
	char line[CTL_CTL_LINE_MAX + 1];
	char *reply;
	char *path;
	ctl_ctl_fn fn;
	void *ctx;
	struct wr_counters *cnt;
};

int ctl_ctl_open(const char *path, ctl_ctl_fn fn, void *ctx, struct wr_counters *cnt,
		 struct ctl_ctl **out, char *err, size_t errlen)
{
	*out = NULL;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (!path || !*path || strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "control socket '%s': path empty or longer than %zu bytes",
			 path ? path : "", sizeof(a.sun_path) - 1);
		return -EINVAL;
	}
	struct ctl_ctl *c = calloc(1, sizeof(*c));
	if (!c || !(c->reply = malloc(CTL_CTL_REPLY_MAX)) || !(c->path = strdup(path))) {
		if (c) {
			free(c->reply);
			free(c);
		}
		return -ENOMEM;
	}
	c->cfd = -1;
	c->fn = fn;
	c->ctx = ctx;
	c->cnt = cnt;
	memcpy(a.sun_path, path, strlen(path));
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = 0;
	if (c->lfd < 0) {
		rc = -errno;
	} else {
		/* A file left by a previous run that died would make bind fail. */
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
		mode_t old = umask(0177); /* the socket file is created 0600 */
		if (bind(c->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(c->lfd, 8))
			rc = -errno;
		umask(old);
	}
	if (rc) {
		snprintf(err, errlen, "control socket '%s': %s", path, strerror(-rc));
		if (c->lfd >= 0)
			close(c->lfd);
		free(c->path);
		free(c->reply);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void reply_and_close(struct ctl_ctl *c, const char *text, size_t len)
{
	/* A reply is small; a client that does not read it loses it. */
	size_t off = 0;
	while (off < len) {
		ssize_t w = send(c->cfd, text + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(c->cfd);
	c->cfd = -1;
	c->n = 0;
}

/* Read what the client sent; answer when the line is complete. */
static int serve(struct ctl_ctl *c)
{
	for (;;) {
		ssize_t r = recv(c->cfd, c->line + c->n, CTL_CTL_LINE_MAX - c->n, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wr_mono_us() < c->deadline_us)
				return 0;
			if (c->cnt)
				WR_COUNT(c->cnt, control_bad_requests);
			const char *e = "error: timed out waiting for a command line\n";
			reply_and_close(c, e, strlen(e));
			return 1;
		}
		if (r < 0) {
			close(c->cfd);
			c->cfd = -1;
			c->n = 0;
			return 0;
		}
		c->n += (size_t)r;
		char *nl = memchr(c->line, '\n', c->n);
		if (!nl && r > 0 && c->n < CTL_CTL_LINE_MAX)
			continue;
		if (!nl && c->n >= CTL_CTL_LINE_MAX) {
			if (c->cnt)
				WR_COUNT(c->cnt, control_bad_requests);
			const char *e = "error: command line longer than 1024 bytes\n";
			reply_and_close(c, e, strlen(e));
			return 1;
		}
		/* A newline, or end of input (r == 0) with the whole line. */
		size_t len = nl ? (size_t)(nl - c->line) : c->n;
		if (len && c->line[len - 1] == '\r')
			len--;
		c->line[len] = 0;
		size_t n = c->fn(c->ctx, c->line, c->reply, CTL_CTL_REPLY_MAX);
		if (n >= CTL_CTL_REPLY_MAX)
			n = CTL_CTL_REPLY_MAX - 1;
		reply_and_close(c, c->reply, n);
		return 1;
	}
}

int ctl_ctl_poll(struct ctl_ctl *c, int max_wait_ms)
{
	if (!c)
		return 0;
	struct pollfd p = { .fd = c->cfd >= 0 ? c->cfd : c->lfd, .events = POLLIN };
	if (poll(&p, 1, max_wait_ms) <= 0 && c->cfd < 0)
		return 0;
	if (c->cfd >= 0)
		return serve(c);
	c->cfd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c->cfd < 0)
		return 0;
	c->n = 0;
	c->deadline_us = wr_mono_us() + (int64_t)CTL_CTL_TIMEOUT_MS * WR_US_PER_MS;
	return serve(c);
}

void ctl_ctl_close(struct ctl_ctl *c)
{
	if (!c)
		return;
	if (c->cfd >= 0)
		close(c->cfd);
	close(c->lfd);
	unlink(c->path);
	free(c->path);
	free(c->reply);
	free(c);
}
