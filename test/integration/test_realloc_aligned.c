/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * dpm_realloc() and dpm_aligned_alloc(): contents kept, objects kept in
 * place when the class allows, alignments honoured, bad arguments refused.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(realloc);
DPM_TEST_SUITE(aligned);

Test(realloc, realloc_of_null_allocates)
{
	void *p = dpm_realloc(NULL, 300);

	cr_assert_not_null(p);
	cr_assert(dpm_owns(p));
	cr_assert_geq(dpm_usable_size(p), 300);
	dpm_free(p);
}

Test(realloc, realloc_to_zero_frees_and_returns_null_with_errno_zero)
{
	void *p = dpm_malloc(5 * ITEST_MIB); /* huge: the free is seen at once */
	struct dpm_socket_stats before, after;

	cr_assert_not_null(p);
	before = itest_stats_total();
	rte_errno = EINVAL;
	cr_assert_null(dpm_realloc(p, 0));
	cr_assert_eq(rte_errno, 0);
	after = itest_stats_total();
	cr_assert_eq(after.nfree, before.nfree + 1);
	cr_assert_lt(after.bytes_allocated, before.bytes_allocated);
}

/* Grow one object through small, large and huge sizes; each step keeps
 * what the previous size held. */
/* Objects allocated on a plain thread, freed by realloc(p, 0) as the main
 * lcore's first call: that free creates the lcore's tcache, whose DPDK
 * calls left ENOENT in rte_errno (found by an audit of the API). */
static void *plain_objs[4];
static const size_t plain_sizes[4] = { 64, 20000, 1500000, 3u << 20 };

static int
alloc_plain(void *arg)
{
	RTE_SET_USED(arg);
	for (int i = 0; i < 4; i++)
		if ((plain_objs[i] = dpm_malloc(plain_sizes[i])) == NULL)
			return -1;
	return 0;
}

Test(realloc, realloc_to_zero_as_the_first_call_of_an_lcore_leaves_errno_zero)
{
	cr_assert_eq(dpm_test_run_on_pthread(alloc_plain, NULL), 0);
	for (int i = 0; i < 4; i++) {
		rte_errno = 12345;
		cr_assert_null(dpm_realloc(plain_objs[i], 0));
		cr_assert_eq(rte_errno, 0, "realloc(%zu B, 0): rte_errno %d", plain_sizes[i], rte_errno);
	}
}

Test(realloc, realloc_growth_keeps_the_contents)
{
	const size_t steps[] = { 10, 100, 1000, 5000, 20000, 300000, 1500000,
		3 * ITEST_MIB, 9 * ITEST_MIB };
	size_t prev = steps[0];
	uint8_t *p = dpm_malloc(prev);
	unsigned int i;

	cr_assert_not_null(p);
	dpm_test_fill(p, prev, 7);
	for (i = 1; i < RTE_DIM(steps); i++) {
		p = dpm_realloc(p, steps[i]);
		cr_assert_not_null(p, "realloc to %zu: %s", steps[i], rte_strerror(rte_errno));
		cr_assert_eq(dpm_test_check(p, prev, 7), SIZE_MAX,
			"realloc from %zu to %zu lost contents", prev, steps[i]);
		cr_assert_geq(dpm_usable_size(p), steps[i]);
		dpm_test_fill(p, steps[i], 7);
		prev = steps[i];
	}
	dpm_free(p);
}

Test(realloc, realloc_shrink_keeps_the_prefix)
{
	const size_t steps[] = { 9 * ITEST_MIB, 3 * ITEST_MIB, 1500000, 300000,
		20000, 5000, 1000, 100, 10 };
	uint8_t *p = dpm_malloc(steps[0]);
	unsigned int i;

	cr_assert_not_null(p);
	dpm_test_fill(p, steps[0], 9);
	for (i = 1; i < RTE_DIM(steps); i++) {
		p = dpm_realloc(p, steps[i]);
		cr_assert_not_null(p);
		cr_assert_eq(dpm_test_check(p, steps[i], 9), SIZE_MAX,
			"realloc from %zu to %zu lost the prefix", steps[i - 1], steps[i]);
		cr_assert_geq(dpm_usable_size(p), steps[i]);
	}
	dpm_free(p);
}

Test(realloc, realloc_within_the_same_class_keeps_the_pointer)
{
	unsigned int i, n = dpm_class_count();

	for (i = 1; i < n; i++) {
		size_t top = dpm_class_size(i);
		size_t bottom = dpm_class_size(i - 1) + 1;
		void *p = dpm_malloc(bottom);

		cr_assert_not_null(p);
		dpm_test_fill(p, bottom, i);
		cr_assert_eq(dpm_realloc(p, top), p,
			"realloc(%zu -> %zu) moved the object", bottom, top);
		cr_assert_eq(dpm_realloc(p, bottom), p,
			"realloc(%zu -> %zu) moved the object", top, bottom);
		cr_assert_eq(dpm_test_check(p, bottom, i), SIZE_MAX);
		dpm_free(p);
	}
}

Test(realloc, realloc_shrinking_a_large_object_keeps_it_in_place)
{
	size_t from = 64 * ITEST_KIB;
	size_t to = 40 * ITEST_KIB;
	void *p;

	cr_assert_lt(from, itest_largest_class(), "64 KiB must not be huge");
	p = dpm_malloc(from);
	cr_assert_not_null(p);
	dpm_test_fill(p, to, 3);
	cr_assert_eq(dpm_realloc(p, to), p);
	cr_assert_eq(dpm_test_check(p, to, 3), SIZE_MAX);
	dpm_free(p);
}

Test(realloc, realloc_failure_leaves_the_object_intact)
{
	void *p = dpm_malloc(777);

	cr_assert_not_null(p);
	dpm_test_fill(p, 777, 77);
	rte_errno = 0;
	/* volatile: gcc refuses SIZE_MAX as an alloc_size constant */
	volatile size_t too_big = SIZE_MAX;
	cr_assert_null(dpm_realloc(p, too_big));
	cr_assert_eq(rte_errno, E2BIG);
	cr_assert(dpm_owns(p));
	cr_assert_geq(dpm_usable_size(p), 777);
	cr_assert_eq(dpm_test_check(p, 777, 77), SIZE_MAX);
	dpm_free(p);
}

Test(realloc, realloc_of_a_foreign_pointer_fails_with_einval)
{
	uint64_t on_stack[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	rte_errno = 0;
	cr_assert_null(dpm_realloc(on_stack, 128));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(on_stack[7], 8);
}

Test(realloc, realloc_keeps_the_socket_of_the_object)
{
	int socket = (int)rte_socket_id();
	void *p = dpm_malloc_socket(100, socket);

	cr_assert_not_null(p);
	p = dpm_realloc(p, 100000);
	cr_assert_not_null(p);
	cr_assert_eq(dpm_socket_of(p), socket);
	p = dpm_realloc(p, 4 * ITEST_MIB);
	cr_assert_not_null(p);
	cr_assert_eq(dpm_socket_of(p), socket);
	dpm_free(p);
}

Test(aligned, aligned_alloc_honours_every_power_of_two_up_to_the_chunk_and_beyond)
{
	size_t align;

	for (align = 1; align <= 4 * ITEST_CHUNK; align <<= 1) {
		const size_t sizes[] = { 1, 40, align, align + 1, 3 * align };
		unsigned int i;

		for (i = 0; i < RTE_DIM(sizes); i++) {
			void *p = dpm_aligned_alloc(align, sizes[i]);

			cr_assert_not_null(p, "aligned_alloc(%zu, %zu): %s", align,
				sizes[i], rte_strerror(rte_errno));
			cr_assert_eq((uintptr_t)p % align, 0,
				"aligned_alloc(%zu, %zu) = %p", align, sizes[i], p);
			cr_assert_geq(dpm_usable_size(p), sizes[i]);
			dpm_test_fill(p, sizes[i], align + i);
			cr_assert_eq(dpm_test_check(p, sizes[i], align + i), SIZE_MAX);
			dpm_free(p);
		}
	}
}

Test(aligned, aligned_objects_do_not_overlap)
{
	enum { N = 64 };
	const size_t aligns[] = { 64, 512, 4096, 65536 };
	void *p[N];
	size_t size[N];
	unsigned int i, j;

	for (i = 0; i < N; i++) {
		size[i] = 100 + 37 * i;
		p[i] = dpm_aligned_alloc(aligns[i % RTE_DIM(aligns)], size[i]);
		cr_assert_not_null(p[i]);
		dpm_test_fill(p[i], size[i], i);
	}
	for (i = 0; i < N; i++) {
		cr_assert_eq(dpm_test_check(p[i], size[i], i), SIZE_MAX);
		for (j = 0; j < i; j++)
			cr_assert(!itest_overlap(p[i], size[i], p[j], size[j]));
	}
	for (i = 0; i < N; i++)
		dpm_free(p[i]);
}

Test(aligned, aligned_alloc_rejects_alignments_that_are_not_powers_of_two)
{
	const size_t bad[] = { 0, 3, 6, 48, 100, 3 * ITEST_CHUNK, SIZE_MAX };
	unsigned int i;

	for (i = 0; i < RTE_DIM(bad); i++) {
		rte_errno = 0;
		cr_assert_null(dpm_aligned_alloc(bad[i], 64), "alignment %zu accepted", bad[i]);
		cr_assert_eq(rte_errno, EINVAL, "alignment %zu: rte_errno %d", bad[i], rte_errno);
		rte_errno = 0;
		cr_assert_null(dpm_aligned_alloc_socket(bad[i], 64, (int)rte_socket_id()));
		cr_assert_eq(rte_errno, EINVAL);
	}
}

Test(aligned, aligned_alloc_socket_places_the_object_on_that_socket)
{
	int socket = (int)rte_socket_id();
	void *p = dpm_aligned_alloc_socket(ITEST_CHUNK, 100, socket);

	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p % ITEST_CHUNK, 0);
	cr_assert_eq(dpm_socket_of(p), socket);
	dpm_free(p);
}

Test(aligned, freeing_aligned_objects_returns_their_bytes)
{
	struct dpm_socket_stats before, after;
	void *p[12];
	unsigned int i;

	dpm_free(dpm_malloc(1));
	itest_flush_all_tcaches();
	before = itest_stats_total();
	for (i = 0; i < RTE_DIM(p); i++) {
		p[i] = dpm_aligned_alloc((size_t)16 << i, 1000 + i);
		cr_assert_not_null(p[i]);
	}
	for (i = 0; i < RTE_DIM(p); i++)
		dpm_free(p[i]);
	itest_flush_all_tcaches();
	after = itest_stats_total();
	cr_assert_eq(after.bytes_allocated, before.bytes_allocated);
	cr_assert_eq(after.nmalloc - before.nmalloc, after.nfree - before.nfree);
}
