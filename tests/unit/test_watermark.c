/* test_watermark.c - st_watermark: min over inputs, idleness, monotonicity, finish. */
#include <errno.h>

#include "st_watermark.h"
#include "wr_test.h"

#define SEC 1000000LL

static struct st_wm *mk(uint32_t n, int64_t ooo, int64_t idle)
{
	struct st_wm *wm = NULL;
	CU_ASSERT_EQUAL_FATAL(st_wm_create(n, ooo, idle, &wm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(wm);
	return wm;
}

static void test_create_rejects_bad_params(void)
{
	struct st_wm *wm = NULL;
	CU_ASSERT_EQUAL(st_wm_create(0, 0, 0, &wm), -EINVAL);
	CU_ASSERT_EQUAL(st_wm_create(1, -1, 0, &wm), -EINVAL);
	CU_ASSERT_EQUAL(st_wm_create(1, 0, -1, &wm), -EINVAL);
	CU_ASSERT_PTR_NULL(wm);
	st_wm_destroy(NULL);
}

static void test_min_before_any_event(void)
{
	struct st_wm *wm = mk(2, SEC, 5 * SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 0), ST_WM_MIN);
	CU_ASSERT_EQUAL(st_wm_get(wm, 100 * SEC), ST_WM_MIN);
	st_wm_destroy(wm);
}

static void test_min_over_inputs_ignores_unseen(void)
{
	struct st_wm *wm = mk(3, SEC, 5 * SEC);
	st_wm_observe(wm, 0, 100 * SEC, 1000);
	CU_ASSERT_EQUAL(st_wm_get(wm, 1000), 99 * SEC);
	st_wm_observe(wm, 1, 50 * SEC, 2000);
	/* input 1 is behind: it holds the watermark where it was (monotonic) */
	CU_ASSERT_EQUAL(st_wm_get(wm, 2000), 99 * SEC);
	st_wm_observe(wm, 1, 120 * SEC, 3000);
	st_wm_observe(wm, 0, 110 * SEC, 3000);
	CU_ASSERT_EQUAL(st_wm_get(wm, 3000), 109 * SEC);
	/* event times going backwards do not lower an input's max */
	st_wm_observe(wm, 0, 90 * SEC, 4000);
	CU_ASSERT_EQUAL(st_wm_get(wm, 4000), 109 * SEC);
	st_wm_destroy(wm);
}

static void test_min_over_inputs_fresh_tracker(void)
{
	struct st_wm *wm = mk(3, 2 * SEC, 5 * SEC);
	st_wm_observe(wm, 0, 100 * SEC, 0);
	st_wm_observe(wm, 2, 40 * SEC, 0);
	CU_ASSERT_EQUAL(st_wm_get(wm, 0), 38 * SEC);
	st_wm_destroy(wm);
}

static void test_idle_input_released(void)
{
	struct st_wm *wm = mk(2, SEC, 5 * SEC);
	st_wm_observe(wm, 0, 10 * SEC, 0);          /* slow input, then quiet */
	st_wm_observe(wm, 1, 30 * SEC, 4 * SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 4 * SEC), 9 * SEC);
	/* 1 us before input 0 is idle it still holds the others back */
	CU_ASSERT_EQUAL(st_wm_get(wm, 5 * SEC - 1), 9 * SEC);
	/* now - last_arrival == idle: input 0 is idle, input 1 leads */
	CU_ASSERT_EQUAL(st_wm_get(wm, 5 * SEC), 29 * SEC);
	/* input 0 comes back with an old event: the result does not go back */
	st_wm_observe(wm, 0, 12 * SEC, 6 * SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 6 * SEC), 29 * SEC);
	st_wm_observe(wm, 0, 40 * SEC, 7 * SEC);
	st_wm_observe(wm, 1, 35 * SEC, 7 * SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 7 * SEC), 34 * SEC);
	st_wm_destroy(wm);
}

static void test_all_idle_advances_with_wall_clock(void)
{
	struct st_wm *wm = mk(2, SEC, 5 * SEC);
	st_wm_observe(wm, 0, 100 * SEC, 0);
	st_wm_observe(wm, 1, 90 * SEC, 2 * SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 2 * SEC), 89 * SEC);
	/* at 6 s input 0 is idle (6 s quiet), input 1 is not (4 s) */
	CU_ASSERT_EQUAL(st_wm_get(wm, 6 * SEC), 89 * SEC);
	/* at 7 s both idle: max(100 + 7 - 1, 90 + 5 - 1) = 106 */
	CU_ASSERT_EQUAL(st_wm_get(wm, 7 * SEC), 106 * SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 60 * SEC), 159 * SEC);
	/* a wall clock read that went backwards does not lower it */
	CU_ASSERT_EQUAL(st_wm_get(wm, 10 * SEC), 159 * SEC);
	st_wm_destroy(wm);
}

static void test_idle_zero_means_never_idle(void)
{
	struct st_wm *wm = mk(2, 0, 0);
	st_wm_observe(wm, 0, 100 * SEC, 0);
	st_wm_observe(wm, 1, 50 * SEC, 0);
	CU_ASSERT_EQUAL(st_wm_get(wm, 1000 * SEC), 50 * SEC);
	st_wm_destroy(wm);
}

static void test_monotonic_over_random_sequence(void)
{
	struct st_wm *wm = mk(4, 3 * SEC, 2 * SEC);
	uint64_t x = 12345;
	int64_t prev = ST_WM_MIN, now = 0;
	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		uint32_t input = (uint32_t)(x >> 33) % 4;
		int64_t ts = (int64_t)(x >> 20) % (1000 * SEC);
		now += (int64_t)((x >> 40) % (SEC / 2));
		st_wm_observe(wm, input, ts, now);
		int64_t w = st_wm_get(wm, now);
		CU_ASSERT_FATAL(w >= prev);
		prev = w;
	}
	CU_ASSERT(prev > ST_WM_MIN);
	st_wm_destroy(wm);
}

static void test_out_of_range_input_ignored(void)
{
	struct st_wm *wm = mk(1, 0, 0);
	st_wm_observe(wm, 1, 100 * SEC, 0);
	CU_ASSERT_EQUAL(st_wm_get(wm, 0), ST_WM_MIN);
	st_wm_destroy(wm);
}

static void test_finish_is_max_forever(void)
{
	struct st_wm *wm = mk(2, SEC, 5 * SEC);
	st_wm_observe(wm, 0, 10 * SEC, 0);
	st_wm_finish(wm);
	CU_ASSERT_EQUAL(st_wm_get(wm, 0), ST_WM_MAX);
	st_wm_observe(wm, 1, 5 * SEC, 1);
	CU_ASSERT_EQUAL(st_wm_get(wm, 1), ST_WM_MAX);
	CU_ASSERT_EQUAL(st_wm_get(wm, 100 * SEC), ST_WM_MAX);
	st_wm_destroy(wm);
}

static void test_saturates_instead_of_wrapping(void)
{
	struct st_wm *wm = mk(1, SEC, 5 * SEC);
	st_wm_observe(wm, 0, INT64_MAX - 10, 0);
	CU_ASSERT_EQUAL(st_wm_get(wm, 0), INT64_MAX - 10 - SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 100 * SEC), INT64_MAX - SEC);   /* idle: +100 s saturates */
	st_wm_destroy(wm);
}

static void test_expected_input_holds_back_until_it_speaks(void)
{
	struct st_wm *wm = mk(2, SEC, 5 * SEC);
	st_wm_expect(wm, 1, 0);
	st_wm_observe(wm, 0, 100 * SEC, 0);
	/* input 1 is announced but silent: nothing may close yet */
	CU_ASSERT_EQUAL(st_wm_get(wm, SEC), ST_WM_MIN);
	st_wm_observe(wm, 1, 60 * SEC, 2 * SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 2 * SEC), 59 * SEC);
	st_wm_destroy(wm);
}

static void test_expected_input_released_after_idle_timeout(void)
{
	struct st_wm *wm = mk(2, SEC, 5 * SEC);
	st_wm_expect(wm, 1, 0);
	st_wm_observe(wm, 0, 100 * SEC, 4 * SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 4 * SEC), ST_WM_MIN);
	/* 5 s after the announcement the silent input no longer counts */
	CU_ASSERT_EQUAL(st_wm_get(wm, 5 * SEC), 99 * SEC);
	/* announcing an input that has spoken changes nothing */
	st_wm_expect(wm, 0, 6 * SEC);
	CU_ASSERT_EQUAL(st_wm_get(wm, 6 * SEC), 99 * SEC);
	st_wm_destroy(wm);
}

static int reg(void)
{
	WR_SUITE("st_watermark",
		 WR_TEST(test_create_rejects_bad_params),
		 WR_TEST(test_min_before_any_event),
		 WR_TEST(test_min_over_inputs_ignores_unseen),
		 WR_TEST(test_min_over_inputs_fresh_tracker),
		 WR_TEST(test_idle_input_released),
		 WR_TEST(test_all_idle_advances_with_wall_clock),
		 WR_TEST(test_idle_zero_means_never_idle),
		 WR_TEST(test_monotonic_over_random_sequence),
		 WR_TEST(test_out_of_range_input_ignored),
		 WR_TEST(test_finish_is_max_forever),
		 WR_TEST(test_saturates_instead_of_wrapping),
		 WR_TEST(test_expected_input_holds_back_until_it_speaks),
		 WR_TEST(test_expected_input_released_after_idle_timeout));
	return 0;
}

WR_TEST_MAIN(reg)
