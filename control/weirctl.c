/*
 * weirctl - talk to a running weir over its control socket (run.control_socket).
 *
 * Usage: weirctl [-s SOCKET] COMMAND...
 *   weirctl help            the commands the running weir knows
 *   weirctl stats           its stats line
 *   weirctl counters        every counter
 *   weirctl fraud           fraud model version, decisions, latency, Redis state
 *   weirctl model reload    load and verify the fraud model files again, then swap
 * The words of COMMAND are joined with spaces and sent as one line; the reply
 * is printed. Exit status: 0 when the reply starts with "ok", 1 for an error
 * reply, 2 when weir cannot be reached or the arguments are wrong.
 * The socket defaults to $WEIR_SOCKET, else /run/weir/weir.sock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: weirctl [-s SOCKET] COMMAND...   (weirctl help: the commands)\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *path = getenv("WEIR_SOCKET");
	if (!path || !*path)
		path = "/run/weir/weir.sock";
	int i = 1;
	if (i + 1 < argc && !strcmp(argv[i], "-s")) {
		path = argv[i + 1];
		i += 2;
	}
	if (i >= argc || !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
		return usage();
	char line[1024];
	size_t n = 0;
	for (; i < argc; i++) {
		int w = snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", argv[i]);
		if (w < 0 || (size_t)w >= sizeof(line) - n - 1) {
			fprintf(stderr, "weirctl: command longer than %zu bytes\n", sizeof(line) - 2);
			return 2;
		}
		n += (size_t)w;
	}
	line[n++] = '\n';

	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "weirctl: socket path too long: %s\n", path);
		return 2;
	}
	memcpy(a.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "weirctl: cannot reach weir at %s: %s (is run.control_socket set "
			"and weir running?)\n", path, strerror(errno));
		return 2;
	}
	/* A model reload verifies against XGBoost: allow it time, not forever. */
	struct timeval tv = { .tv_sec = 60 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, line, n) != (ssize_t)n) {
		fprintf(stderr, "weirctl: send to %s: %s\n", path, strerror(errno));
		return 2;
	}
	shutdown(fd, SHUT_WR);
	char buf[8192];
	ssize_t r;
	int status = -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (status < 0)
			status = (r >= 2 && !memcmp(buf, "ok", 2)) ? 0 : 1;
		fwrite(buf, 1, (size_t)r, stdout);
	}
	if (r < 0 || status < 0) {
		fprintf(stderr, "weirctl: no reply from %s%s%s\n", path, r < 0 ? ": " : "",
			r < 0 ? strerror(errno) : "");
		return 2;
	}
	close(fd);
	return status;
}
