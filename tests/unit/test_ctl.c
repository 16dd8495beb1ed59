/*
 * test_ctl.c - control/ctl_ctl: the weirctl socket serves one command line per
 * connection with the owner's callback, and refuses what it must.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_ctl.h"
#include "wr_test.h"

static char seen[CTL_CTL_LINE_MAX + 1];
static unsigned calls;

static size_t echo(void *ctx, const char *line, char *reply, size_t len)
{
	(void)ctx;
	calls++;
	snprintf(seen, sizeof(seen), "%s", line);
	return (size_t)snprintf(reply, len, "ok you said <%s>\n", line);
}

/* A child process sends @msg (@n bytes), then reads the reply into the pipe @out. */
static pid_t client(const char *path, const char *msg, size_t n, int out)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		_exit(3);
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, msg + off, n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	char buf[512];
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r)
			_exit(4);
	_exit(0);
}

/* Serve until the child is done; returns what it read. */
static char *exchange(struct ctl_ctl *c, const char *path, const char *msg, size_t n)
{
	static char got[1024];
	int p[2];
	CU_ASSERT_FATAL(pipe(p) == 0);
	pid_t pid = client(path, msg, n, p[1]);
	close(p[1]);
	for (int i = 0; i < 500 && waitpid(pid, NULL, WNOHANG) == 0; i++)
		ctl_ctl_poll(c, 10);
	ssize_t r = read(p[0], got, sizeof(got) - 1);
	got[r > 0 ? r : 0] = 0;
	close(p[0]);
	return got;
}

static void test_serves_a_line_and_strips_line_ending(void)
{
	char path[] = "/tmp/weir-ctl-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(path) != NULL);
	char sock[128];
	snprintf(sock, sizeof(sock), "%s/s", path);
	struct ctl_ctl *c = NULL;
	char err[256];
	struct wr_counters cnt = { 0 };
	CU_ASSERT_EQUAL_FATAL(ctl_ctl_open(sock, echo, NULL, &cnt, &c, err, sizeof(err)), 0);
	struct stat st;
	CU_ASSERT_EQUAL(stat(sock, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);   /* root only */
	calls = 0;
	CU_ASSERT_STRING_EQUAL(exchange(c, sock, "model reload\r\n", 14),
			       "ok you said <model reload>\n");
	CU_ASSERT_STRING_EQUAL(seen, "model reload");
	/* No newline: the peer's shutdown ends the line. */
	CU_ASSERT_STRING_EQUAL(exchange(c, sock, "stats", 5), "ok you said <stats>\n");
	CU_ASSERT_EQUAL(calls, 2);
	/* Too long: refused without calling the owner. */
	char *big = malloc(CTL_CTL_LINE_MAX + 10);
	memset(big, 'x', CTL_CTL_LINE_MAX + 10);
	CU_ASSERT_STRING_EQUAL(exchange(c, sock, big, CTL_CTL_LINE_MAX + 10),
			       "error: command line longer than 1024 bytes\n");
	free(big);
	CU_ASSERT_EQUAL(calls, 2);
	CU_ASSERT_EQUAL(cnt.v[WR_CNT_control_bad_requests], 1);
	ctl_ctl_close(c);
	CU_ASSERT_NOT_EQUAL(stat(sock, &st), 0);     /* close removes the file */
	rmdir(path);
}

static void test_open_errors_name_the_path(void)
{
	struct ctl_ctl *c = NULL;
	char err[256];
	CU_ASSERT_EQUAL(ctl_ctl_open("/nonexistent-dir/x.sock", echo, NULL, NULL, &c, err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent-dir/x.sock"));
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	CU_ASSERT_EQUAL(ctl_ctl_open(longp, echo, NULL, NULL, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(c);
}

static int reg(void)
{
	WR_SUITE("ctl",
		 WR_TEST(test_serves_a_line_and_strips_line_ending),
		 WR_TEST(test_open_errors_name_the_path));
	return 0;
}

WR_TEST_MAIN(reg)
