/*
 * wr_test.h - the common main() of weir's CUnit runners.
 *
 * WR_TEST_MAIN(register_fn) runs every suite register_fn() added, prints
 * CUnit's verbose report and one machine-read line
 *     CUNIT-SUMMARY tests=N failed=M
 * and exits non-zero when any test or assertion failed, or when the
 * registry could not be built.
 * WR_SOURCE_ROOT is the project's top folder (for test data).
 */
#ifndef WR_TEST_H
#define WR_TEST_H

#include <stdio.h>
#include <CUnit/Basic.h>

#define WR_TEST_MAIN(register_fn)                                              \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		(void)argc; (void)argv;                                        \
		if (CU_initialize_registry() != CUE_SUCCESS)                   \
			return 2;                                              \
		if (register_fn() != 0) {                                      \
			fprintf(stderr, "test registration failed\n");         \
			CU_cleanup_registry();                                 \
			return 2;                                              \
		}                                                              \
		CU_basic_set_mode(CU_BRM_VERBOSE);                             \
		CU_basic_run_tests();                                          \
		unsigned run = CU_get_number_of_tests_run();                   \
		unsigned failed = CU_get_number_of_tests_failed();             \
		unsigned afail = CU_get_number_of_failures();                  \
		printf("CUNIT-SUMMARY tests=%u failed=%u\n", run, failed);     \
		CU_cleanup_registry();                                         \
		return (failed || afail || run == 0) ? 1 : 0;                  \
	}

/* Add a suite with its tests; returns -1 from the enclosing function on error. */
#define WR_SUITE(name, ...)                                                    \
	do {                                                                   \
		CU_pSuite s_ = CU_add_suite(name, NULL, NULL);                 \
		if (!s_) return -1;                                            \
		struct { const char *n; CU_TestFunc f; } t_[] = { __VA_ARGS__ }; \
		for (size_t i_ = 0; i_ < sizeof(t_) / sizeof(t_[0]); i_++)     \
			if (!CU_add_test(s_, t_[i_].n, t_[i_].f)) return -1;   \
	} while (0)
#define WR_TEST(fn) { #fn, fn }

#endif /* WR_TEST_H */
