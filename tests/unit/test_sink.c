/* test_sink.c - JSON Lines sink: buffering, exact file content, write errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wr_counters.h"
#include "ctl_sink.h"
#include "wr_test.h"

#define CNT(c, name) ((c).v[WR_CNT_##name])

/* Whole file into @buf (NUL-terminated); returns its length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void tmp_path(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/test_sink_%d_XXXXXX", (int)getpid());
	int fd = mkstemp(buf);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
}

static void test_lines_buffered_until_flush_then_exact(void)
{
	char path[64], got[4096];
	tmp_path(path, sizeof(path));
	struct wr_counters cnt = { 0 };
	struct ctl_jsonl *j = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(ctl_jsonl_open(path, &cnt, &j, err, sizeof(err)), 0);

	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{\"a\":1}", 7), 0);
	/* Length, not NUL, ends a record: the tail "XYZ" must not appear. */
	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{\"b\":\"x y\"}XYZ", 11), 0);
	CU_ASSERT_EQUAL(slurp(path, got, sizeof(got)), 0);     /* still buffered */
	CU_ASSERT_EQUAL(CNT(cnt, out_records), 0);

	ctl_jsonl_flush(j);
	CU_ASSERT_EQUAL(slurp(path, got, sizeof(got)), 20);
	CU_ASSERT_STRING_EQUAL(got, "{\"a\":1}\n{\"b\":\"x y\"}\n");
	CU_ASSERT_EQUAL(CNT(cnt, out_records), 2);

	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{}", 2), 0);
	ctl_jsonl_close(j);                                     /* flushes */
	CU_ASSERT_EQUAL(slurp(path, got, sizeof(got)), 23);
	CU_ASSERT_STRING_EQUAL(got, "{\"a\":1}\n{\"b\":\"x y\"}\n{}\n");
	CU_ASSERT_EQUAL(CNT(cnt, out_records), 3);
	CU_ASSERT_EQUAL(CNT(cnt, sink_errors), 0);
	unlink(path);
}

static void test_open_appends_to_existing_file(void)
{
	char path[64], got[256];
	tmp_path(path, sizeof(path));
	int fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "{\"old\":1}\n", 10), 10);
	close(fd);

	struct ctl_jsonl *j = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(ctl_jsonl_open(path, NULL, &j, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{\"new\":2}", 9), 0);
	ctl_jsonl_close(j);
	CU_ASSERT_EQUAL(slurp(path, got, sizeof(got)), 20);
	CU_ASSERT_STRING_EQUAL(got, "{\"old\":1}\n{\"new\":2}\n");
	unlink(path);
}

static void test_many_records_past_buffer_size_all_written_in_order(void)
{
	char path[64];
	tmp_path(path, sizeof(path));
	struct wr_counters cnt = { 0 };
	struct ctl_jsonl *j = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(ctl_jsonl_open(path, &cnt, &j, err, sizeof(err)), 0);

	/* 20000 records of 34 bytes (680 kB) cross the buffer several times;
	 * one record of 1 MiB goes around the buffer. */
	char line[64];
	for (unsigned i = 0; i < 20000; i++) {
		int n = snprintf(line, sizeof(line), "{\"seq\":%010u,\"pad\":\"abcdef\"}", i);
		CU_ASSERT_EQUAL_FATAL(n, 33);
		CU_ASSERT_EQUAL_FATAL(ctl_jsonl_write(j, line, (size_t)n), 0);
	}
	size_t big_len = 1u << 20;
	char *big = malloc(big_len);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, 'x', big_len);
	big[0] = '"';
	big[big_len - 1] = '"';
	CU_ASSERT_EQUAL(ctl_jsonl_write(j, big, big_len), 0);
	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{\"last\":1}", 10), 0);
	ctl_jsonl_close(j);
	CU_ASSERT_EQUAL(CNT(cnt, out_records), 20002);
	CU_ASSERT_EQUAL(CNT(cnt, sink_errors), 0);

	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL((size_t)st.st_size, 20000u * 34 + big_len + 1 + 11);
	char *all = malloc((size_t)st.st_size + 1);
	CU_ASSERT_FATAL(all != NULL);
	CU_ASSERT_EQUAL(slurp(path, all, (size_t)st.st_size + 1), st.st_size);
	bool in_order = true;
	for (unsigned i = 0; i < 20000 && in_order; i++) {
		snprintf(line, sizeof(line), "{\"seq\":%010u,\"pad\":\"abcdef\"}\n", i);
		in_order = !memcmp(all + (size_t)i * 34, line, 34);
	}
	CU_ASSERT(in_order);
	CU_ASSERT(!memcmp(all + 20000u * 34, big, big_len));
	CU_ASSERT_STRING_EQUAL(all + 20000u * 34 + big_len, "\n{\"last\":1}\n");
	free(all);
	free(big);
	unlink(path);
}

static void test_dev_full_counts_sink_errors_and_continues(void)
{
	struct wr_counters cnt = { 0 };
	struct ctl_jsonl *j = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(ctl_jsonl_open("/dev/full", &cnt, &j, err, sizeof(err)), 0);

	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{\"a\":1}", 7), 0);   /* buffered */
	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{\"a\":2}", 7), 0);
	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{\"a\":3}", 7), 0);
	ctl_jsonl_flush(j);
	CU_ASSERT_EQUAL(CNT(cnt, sink_errors), 3);
	CU_ASSERT_EQUAL(CNT(cnt, out_records), 0);
	ctl_jsonl_flush(j);                                    /* nothing left */
	CU_ASSERT_EQUAL(CNT(cnt, sink_errors), 3);

	/* Still usable: later records are tried, and fail, one by one. */
	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{\"b\":1}", 7), 0);
	ctl_jsonl_close(j);
	CU_ASSERT_EQUAL(CNT(cnt, sink_errors), 4);
	CU_ASSERT_EQUAL(CNT(cnt, out_records), 0);

	/* A record too big for the buffer fails at once, with -ENOSPC. */
	CU_ASSERT_EQUAL_FATAL(ctl_jsonl_open("/dev/full", &cnt, &j, err, sizeof(err)), 0);
	size_t big_len = 1u << 20;
	char *big = calloc(1, big_len);
	CU_ASSERT_FATAL(big != NULL);
	CU_ASSERT_EQUAL(ctl_jsonl_write(j, big, big_len), -ENOSPC);
	CU_ASSERT_EQUAL(CNT(cnt, sink_errors), 5);
	ctl_jsonl_close(j);
	free(big);
}

/* A short write (file size limit) loses only the records not wholly written,
 * and the next record starts on a fresh line after the torn one. */
static void test_short_write_counts_lost_records_and_next_starts_new_line(void)
{
	char path[64], got[512];
	tmp_path(path, sizeof(path));
	struct rlimit old;
	CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &old) == 0);
	void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
	struct wr_counters cnt = { 0 };
	struct ctl_jsonl *j = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(ctl_jsonl_open(path, &cnt, &j, err, sizeof(err)), 0);

	struct rlimit lim = { .rlim_cur = 100, .rlim_max = old.rlim_max };
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	/* 5 records of 30 bytes with their newline: 3 fit, the 4th is torn. */
	for (int i = 0; i < 5; i++) {
		char line[32];
		snprintf(line, sizeof(line), "{\"n\":%d,\"pad\":\"xxxxxxxxxxxxx\"}", i);
		CU_ASSERT_EQUAL(strlen(line), 29);
		CU_ASSERT_EQUAL(ctl_jsonl_write(j, line, 29), 0);
	}
	ctl_jsonl_flush(j);
	CU_ASSERT_EQUAL(CNT(cnt, out_records), 3);
	CU_ASSERT_EQUAL(CNT(cnt, sink_errors), 2);

	setrlimit(RLIMIT_FSIZE, &old);
	CU_ASSERT_EQUAL(ctl_jsonl_write(j, "{\"n\":5}", 7), 0);
	ctl_jsonl_close(j);
	signal(SIGXFSZ, old_sig);
	CU_ASSERT_EQUAL(CNT(cnt, out_records), 4);
	CU_ASSERT_EQUAL(CNT(cnt, sink_errors), 2);
	CU_ASSERT_EQUAL(slurp(path, got, sizeof(got)), 100 + 1 + 8);
	CU_ASSERT_STRING_EQUAL(got,
		"{\"n\":0,\"pad\":\"xxxxxxxxxxxxx\"}\n"
		"{\"n\":1,\"pad\":\"xxxxxxxxxxxxx\"}\n"
		"{\"n\":2,\"pad\":\"xxxxxxxxxxxxx\"}\n"
		"{\"n\":3,\"pa\n"
		"{\"n\":5}\n");
	unlink(path);
}

static void test_open_errors_name_the_path(void)
{
	struct ctl_jsonl *j = (struct ctl_jsonl *)1;
	char err[256] = "";
	CU_ASSERT_EQUAL(ctl_jsonl_open("/nonexistent-dir/x.jsonl", NULL, &j, err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_PTR_NULL(j);
	CU_ASSERT(strstr(err, "/nonexistent-dir/x.jsonl") != NULL);
	CU_ASSERT_EQUAL(ctl_jsonl_open("", NULL, &j, err, sizeof(err)), -EINVAL);
	ctl_jsonl_close(NULL);
}

static void test_stdout_dash_writes_to_fd_1_and_leaves_it_open(void)
{
	char path[64], got[256];
	tmp_path(path, sizeof(path));
	fflush(stdout);
	int saved = dup(1);
	int fd = open(path, O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);

	struct wr_counters cnt = { 0 };
	struct ctl_jsonl *j = NULL;
	char err[256] = "";
	int rc = ctl_jsonl_open("-", &cnt, &j, err, sizeof(err));
	if (rc == 0) {
		ctl_jsonl_write(j, "{\"to\":\"stdout\"}", 15);
		ctl_jsonl_close(j);
	}
	bool fd1_open = fcntl(1, F_GETFD) >= 0;
	dup2(saved, 1);
	close(saved);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(fd1_open);
	CU_ASSERT_EQUAL(CNT(cnt, out_records), 1);
	CU_ASSERT_EQUAL(slurp(path, got, sizeof(got)), 16);
	CU_ASSERT_STRING_EQUAL(got, "{\"to\":\"stdout\"}\n");
	unlink(path);
}

static int reg(void)
{
	WR_SUITE("ctl_sink",
		 WR_TEST(test_lines_buffered_until_flush_then_exact),
		 WR_TEST(test_open_appends_to_existing_file),
		 WR_TEST(test_many_records_past_buffer_size_all_written_in_order),
		 WR_TEST(test_dev_full_counts_sink_errors_and_continues),
		 WR_TEST(test_short_write_counts_lost_records_and_next_starts_new_line),
		 WR_TEST(test_open_errors_name_the_path),
		 WR_TEST(test_stdout_dash_writes_to_fd_1_and_leaves_it_open));
	return 0;
}

WR_TEST_MAIN(reg)
