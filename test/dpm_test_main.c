/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * The main() of every test binary that does not bring its own (it lives in
 * the harness archive, so the linker only takes it when main is missing).
 *
 * Huge-mode runs (DPM_TEST_EAL=huge) on a machine without hugepages exit
 * with 77, which meson reports as SKIP, after printing how many tests were
 * skipped so devtools/test.sh can count them.
 */

#include <stdio.h>

#include <criterion/criterion.h>

#include "dpm_test.h"

/* meson's (and automake's) exit status for a skipped test */
#define DPM_TEST_EXIT_SKIP 77

int
main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int result = 0;

	if (dpm_test_eal_hugepages() && !dpm_test_hugepages_available()) {
		fprintf(stderr, "dpm_test: skipped all %zu tests: "
			"no hugepages here (see devtools/setup.sh)\n",
			tests->tests);
		criterion_finalize(tests);
		return DPM_TEST_EXIT_SKIP;
	}
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
