/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Use after free is caught in watched builds (see dpm_fp.h):
 *   - under AddressSanitizer (-Db_sanitize=address), a read or write of a
 *     freed small, large or huge object -- cached in a tcache or not --
 *     kills the process with an ASan report, and the next allocation is
 *     addressable again;
 *   - with -Djunk=true, objects come filled with DPM_JUNK_ALLOC and read
 *     back DPM_JUNK_FREE once freed.
 * Each group skips in builds without its option.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_common.h>
#include <rte_errno.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(use_after_free);

static const size_t kinds[] = { 64, 3000, 20 * ITEST_KIB, 100 * ITEST_KIB, 5 * ITEST_MIB };

/* Freed chunks and spans stay mapped while a test looks at them. */
static void
init_with_slow_decay(void)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.span_decay_ms = 600000;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
}

/* ------------------------------------------------------------------------
 * AddressSanitizer.
 */

static void
skip_unless_asan(void)
{
	if (!DPM_FP_ASAN)
		cr_skip_test("not built with AddressSanitizer (-Db_sanitize=address)");
}

/* In a child process: touch p (a read, or a write), which must die there
 * with an ASan report naming a poisoned address. */
static void
expect_asan_report(volatile uint8_t *p, bool write, const char *what)
{
	char report[8192];
	size_t len = 0;
	ssize_t k;
	int fds[2], status;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		if (write)
			p[0] = 1;
		else
			(void)p[0];
		_exit(0);   /* not caught */
	}
	close(fds[1]);
	while (len < sizeof(report) - 1 &&
	       (k = read(fds[0], report + len, sizeof(report) - 1 - len)) > 0)
		len += (size_t)k;
	report[len] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(!(WIFEXITED(status) && WEXITSTATUS(status) == 0),
		"%s of a freed %s went unnoticed", write ? "a write" : "a read", what);
	cr_assert_not_null(strstr(report, "AddressSanitizer"),
		"%s: the child died without an ASan report:\n%s", what, report);
	cr_assert_not_null(strstr(report, "use-after-poison"),
		"%s: not reported as a use of poisoned memory:\n%s", what, report);
}

Test(use_after_free, asan_reports_a_read_after_free_of_every_object_kind)
{
	skip_unless_asan();
	init_with_slow_decay();
	for (unsigned int i = 0; i < RTE_DIM(kinds); i++) {
		char what[64];
		uint8_t *p = dpm_malloc(kinds[i]), *q;

		cr_assert_not_null(p);
		memset(p, 7, kinds[i]);
		dpm_free(p);   /* small: cached in this lcore's tcache */
		snprintf(what, sizeof(what), "%zu-byte object", kinds[i]);
		expect_asan_report(p, false, what);
		expect_asan_report(p + kinds[i] - 1, true, what);
		/* The next object is addressable again (this process would die
		 * otherwise). */
		q = dpm_malloc(kinds[i]);
		cr_assert_not_null(q);
		memset(q, 8, kinds[i]);
		dpm_free(q);
	}
}

Test(use_after_free, asan_reports_use_after_sized_and_bulk_frees)
{
	void *ptrs[4];

	skip_unless_asan();
	init_with_slow_decay();
	ptrs[0] = dpm_malloc(128);
	cr_assert_not_null(ptrs[0]);
	dpm_free_sized(ptrs[0], 128);
	expect_asan_report(ptrs[0], false, "object freed with dpm_free_sized()");
	cr_assert_eq(dpm_malloc_bulk(ptrs, 4, 256), 4);
	for (unsigned int i = 0; i < 4; i++)
		memset(ptrs[i], 1, 256);
	dpm_free_bulk(ptrs, 4);
	expect_asan_report(ptrs[3], true, "object freed with dpm_free_bulk()");
}

/* Objects a tcache flushes park in the bin's transfer cache, still
 * poisoned. */
Test(use_after_free, asan_keeps_objects_poisoned_in_transfer_caches)
{
	enum { N = 1000 };
	static uint8_t *p[N];

	skip_unless_asan();
	init_with_slow_decay();
	for (unsigned int i = 0; i < N; i++) {
		p[i] = dpm_malloc(48);
		cr_assert_not_null(p[i]);
		memset(p[i], 5, 48);
	}
	for (unsigned int i = 0; i < N; i++)
		dpm_free(p[i]);     /* overflows the stack: the oldest park */
	expect_asan_report(p[0], false, "object in a transfer cache");
	dpm_tcache_flush();
	expect_asan_report(p[N - 1], false, "object back in its run");
}

/* ------------------------------------------------------------------------
 * Junk fill.
 */

static void
skip_unless_junk(void)
{
	if (!DPM_JUNK || DPM_FP_ASAN)
		cr_skip_test("not a junk build (-Djunk=true, without ASan)");
}

static void
assert_all_bytes(const uint8_t *p, size_t n, uint8_t want, const char *what)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(p[i], want, "%s: byte %zu of %zu is 0x%02x, want 0x%02x", what, i, n,
			p[i], want);
}

Test(use_after_free, junk_fills_every_object_kind_on_allocation_and_free)
{
	skip_unless_junk();
	init_with_slow_decay();
	for (unsigned int i = 0; i < RTE_DIM(kinds); i++) {
		uint8_t *p = dpm_malloc(kinds[i]);
		size_t usable;

		cr_assert_not_null(p);
		usable = dpm_usable_size(p);
		assert_all_bytes(p, usable, DPM_JUNK_ALLOC, "fresh object");
		memset(p, 7, kinds[i]);
		dpm_free(p);
		/* A use after free reads junk, not the stale contents. */
		assert_all_bytes(p, usable, DPM_JUNK_FREE, "freed object");
	}
}

Test(use_after_free, junk_leaves_zeroed_allocations_zero)
{
	uint8_t *p, *q;

	skip_unless_junk();
	init_with_slow_decay();
	p = dpm_zmalloc(3000);
	q = dpm_calloc(10, 10000);
	cr_assert_not_null(p);
	cr_assert_not_null(q);
	assert_all_bytes(p, 3000, 0, "zmalloc");
	assert_all_bytes(q, 100000, 0, "calloc");
	dpm_free(p);
	dpm_free(q);
}

Test(use_after_free, junk_fills_what_realloc_gives_up_or_adds)
{
	uint8_t *p;

	skip_unless_junk();
	init_with_slow_decay();
	p = dpm_malloc(64);
	cr_assert_not_null(p);
	memset(p, 3, 64);
	p = dpm_realloc(p, 5000);   /* moves */
	cr_assert_not_null(p);
	assert_all_bytes(p, 64, 3, "moved contents");
	assert_all_bytes(p + 64, dpm_usable_size(p) - 64, DPM_JUNK_ALLOC, "grown tail");
	dpm_free(p);
}
