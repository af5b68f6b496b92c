/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Cached large classes (16 KiB up to tcache_max_size, 1 MiB by default)
 * take an out-of-line easy path: dpm_free() does its one radix-tree
 * look-up and reads the page map word, which for the first page of a
 * large run gives the class; dpm_fp_free_large() then checks that the
 * pointer starts the page, looks for it in the class's short stack and
 * pushes it. dpm_malloc() pops the stack by the size's class. These tests
 * pin what that path must still refuse (interior pointers of the first
 * and later pages, a second free of a run's start, user bytes dressed up
 * as a large run's page map) and get right (a dpm_free_sized() whose size
 * is of another class frees by the object's own class), with statistics
 * that balance.
 */

#include <inttypes.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(large_cache);

/* Cached large sizes: the first large class, one between, the largest
 * cached class (default tcache_max_size). */
static const size_t cached_sizes[] = { 16 * ITEST_KIB, 20 * ITEST_KIB, 64 * ITEST_KIB, ITEST_MIB };

/* Objects live in callers' hands: handed out by the arenas and not given
 * back, less those cached in the (only) calling lcore's tcache. Exact
 * between two calls of the lcore. */
static int64_t
live_objects(void)
{
	struct dpm_lcore_stats ls;

	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);
	return itest_live_count() - (int64_t)ls.tcache_cached;
}

/* Initialise dpmalloc on this lcore (its tcache and statistics). */
static void
warm_up(void)
{
	dpm_free(dpm_malloc(64));
	dpm_free(dpm_malloc(16 * ITEST_KIB));
}

/* The next allocations of size bytes work and never hand out an object
 * overlapping the live one at live (of live_size bytes). */
static void
assert_allocations_avoid(const void *live, size_t live_size, size_t size)
{
	enum { N = 8 };
	void *p[N];
	unsigned int i;

	for (i = 0; i < N; i++) {
		p[i] = dpm_malloc(size);
		cr_assert_not_null(p[i]);
		cr_assert(!itest_overlap(p[i], size, live, live_size),
			"%zu-byte object %p handed out over the live %p", size, p[i], live);
		dpm_test_fill(p[i], size, i);
	}
	for (i = 0; i < N; i++) {
		cr_assert_eq(dpm_test_check(p[i], size, i), SIZE_MAX);
		dpm_free(p[i]);
	}
}

/* Allocate size bytes, then refuse a free of p + offset (dpm_free, or
 * dpm_free_sized with the object's size): EINVAL, not counted as a double
 * free, the object intact and never handed out again while live. */
static void
check_interior_refused(size_t size, size_t offset, bool sized)
{
	uint64_t df = itest_stats_total().double_frees;
	int64_t live = live_objects();
	uint8_t *p = dpm_malloc(size);

	cr_assert_not_null(p);
	dpm_test_fill(p, size, offset);
	rte_errno = 0;
	if (sized)
		dpm_free_sized(p + offset, size);
	else
		dpm_free(p + offset);
	cr_assert_eq(rte_errno, EINVAL, "free%s(p + %zu) of a %zu-byte object was not refused",
		sized ? "_sized" : "", offset, size);
	cr_assert_eq(itest_stats_total().double_frees, df, "an interior pointer counted as a double free");
	cr_assert_eq(live_objects(), live + 1, "the refused free was counted");
	cr_assert_eq(dpm_usable_size(p), itest_class_of(size));
	assert_allocations_avoid(p, size, size);
	cr_assert_eq(dpm_test_check(p, size, offset), SIZE_MAX,
		"free(p + %zu) of a %zu-byte object damaged it", offset, size);
	dpm_free(p);
	cr_assert_eq(live_objects(), live);
}

Test(large_cache, interior_pointers_of_a_cached_large_object_are_refused)
{
	warm_up();
	for (unsigned int i = 0; i < RTE_DIM(cached_sizes); i++) {
		size_t size = cached_sizes[i];
		/* the first page (the one whose map word names the class),
		 * the second, an inner page, the last page and its end */
		const size_t offsets[] = { 16, ITEST_PAGE / 2, ITEST_PAGE, ITEST_PAGE + 8,
			size / 2, size - ITEST_PAGE, size - 16 };

		for (unsigned int j = 0; j < RTE_DIM(offsets); j++) {
			check_interior_refused(size, offsets[j], false);
			check_interior_refused(size, offsets[j], true);
		}
	}
}

/* p freed, then (other) freed, then p again: the second free of p is
 * refused at once, counted once, and p is never handed out twice. */
static void
check_second_free_refused(size_t size, bool other_between)
{
	uint64_t df = itest_stats_total().double_frees;
	void *p = dpm_malloc(size), *q = dpm_malloc(size), *a, *b;

	cr_assert_not_null(p);
	cr_assert_not_null(q);
	dpm_free(p);
	if (other_between)
		dpm_free(q);
	rte_errno = 0;
	dpm_free(p);
	cr_assert_eq(rte_errno, EINVAL, "second free of a %zu-byte object was not refused", size);
	cr_assert_eq(itest_stats_total().double_frees, df + 1, "double free of %zu bytes counted %" PRIu64 " times",
		size, itest_stats_total().double_frees - df);
	a = dpm_malloc(size);
	b = dpm_malloc(size);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_neq(a, b, "%p handed out twice", a);
	dpm_free(a);
	dpm_free(b);
	if (!other_between)
		dpm_free(q);
	dpm_tcache_flush();
	cr_assert_eq(itest_stats_total().double_frees, df + 1, "the flush found a second copy");
}

Test(large_cache, start_of_a_large_object_freed_twice_is_refused_at_once)
{
	int64_t live;

	warm_up();
	live = live_objects();
	for (unsigned int i = 0; i < RTE_DIM(cached_sizes); i++) {
		check_second_free_refused(cached_sizes[i], false);
		check_second_free_refused(cached_sizes[i], true);
	}
	/* the largest class, above tcache_max_size: not cached */
	check_second_free_refused(itest_largest_class(), false);
	itest_flush_all_tcaches();
	cr_assert_eq(live_objects(), live);
}

/* dpm_free_sized(p, wrong) of an object of size bytes: freed as itself,
 * whatever wrong says: nothing refused, the counters balance, and neither
 * size's next allocation overlaps what the other holds. */
static void
check_sized_free_with_another_class(size_t size, size_t wrong)
{
	int64_t live = live_objects();
	void *p = dpm_malloc(size), *w, *again;

	cr_assert_not_null(p);
	rte_errno = 0;
	dpm_free_sized(p, wrong);
	cr_assert_eq(rte_errno, 0, "free_sized(%zu-byte object, %zu) refused", size, wrong);
	cr_assert_eq(live_objects(), live, "free_sized(%zu-byte object, %zu) not counted", size, wrong);
	/* Not cached as an object of the wrong class: the next allocation
	 * of that size is not p (writing it all would overrun p). */
	w = dpm_malloc(wrong);
	cr_assert_not_null(w);
	cr_assert_neq(w, p, "a %zu-byte object handed out as %zu bytes", size, wrong);
	dpm_test_fill(w, wrong, 1);
	/* Cached by its own class: its size's next allocation takes it. */
	again = dpm_malloc(size);
	cr_assert_not_null(again);
	cr_assert(!itest_overlap(again, size, w, wrong));
	dpm_test_fill(again, size, 2);
	cr_assert_eq(dpm_test_check(w, wrong, 1), SIZE_MAX);
	dpm_free_sized(again, size);
	dpm_free_sized(w, wrong);
	cr_assert_eq(live_objects(), live);
}

Test(large_cache, free_sized_with_another_class_frees_a_large_object_as_its_own_class)
{
	int64_t live;

	warm_up();
	live = live_objects();
	check_sized_free_with_another_class(16 * ITEST_KIB, 64 * ITEST_KIB);
	check_sized_free_with_another_class(64 * ITEST_KIB, 16 * ITEST_KIB);
	check_sized_free_with_another_class(20 * ITEST_KIB, 24 * ITEST_KIB);
	check_sized_free_with_another_class(16 * ITEST_KIB, 64);
	check_sized_free_with_another_class(64, 16 * ITEST_KIB);
	check_sized_free_with_another_class(ITEST_MIB, itest_largest_class());
	itest_flush_all_tcaches();
	cr_assert_eq(live_objects(), live);
}

/* A large object resized in place changes class: its free caches it as
 * the new class (the first page's map word follows the resize). */
Test(large_cache, large_object_resized_in_place_is_cached_as_its_new_class)
{
	const size_t sizes[][2] = {
		{ 64 * ITEST_KIB, 20 * ITEST_KIB },   /* shrink */
		{ 16 * ITEST_KIB, 20 * ITEST_KIB },   /* grow into free pages */
	};
	unsigned int grown_in_place = 0;
	int64_t live;

	warm_up();
	live = live_objects();
	for (unsigned int i = 0; i < RTE_DIM(sizes); i++) {
		size_t from = sizes[i][0], to = sizes[i][1];
		void *p, *q, *r, *w;

		dpm_tcache_flush();   /* free pages behind the next run */
		p = dpm_malloc(from);

		cr_assert_not_null(p);
		q = dpm_realloc(p, to);
		if (q != p && to > from) {
			/* grown elsewhere (no free pages behind): not this case */
			dpm_free(q);
			continue;
		}
		cr_assert_eq(q, p, "a shrink moved the object");
		grown_in_place += to > from;
		dpm_free(q);
		r = dpm_malloc(to);
		cr_assert_eq(r, p, "%zu -> %zu bytes in place, freed: not cached as %zu bytes", from, to, to);
		w = dpm_malloc(from);
		cr_assert_not_null(w);
		cr_assert(!itest_overlap(w, from, r, to), "%p handed out over the live %p", w, r);
		dpm_free(w);
		dpm_free(r);
	}
	cr_log_info("grown in place: %u of 1", grown_in_place);
	cr_assert_eq(live_objects(), live);
}

/* The cache hit paths keep the statistics exact: pairs of every cached
 * large size on the lcore, then a flush, balance to nothing live. */
Test(large_cache, cached_large_pairs_keep_the_counters_exact)
{
	struct dpm_socket_stats t;
	int64_t live;

	warm_up();
	live = live_objects();
	for (unsigned int i = 0; i < RTE_DIM(cached_sizes); i++) {
		for (unsigned int n = 0; n < 1000; n++) {
			void *p = dpm_malloc(cached_sizes[i]);

			cr_assert_not_null(p);
			if (n & 1)
				dpm_free_sized(p, cached_sizes[i]);
			else
				dpm_free(p);
		}
	}
	cr_assert_eq(live_objects(), live);
	itest_flush_all_tcaches();
	t = itest_stats_total();
	cr_assert_eq(t.nmalloc, t.nfree);
	cr_assert_eq(t.bytes_allocated, 0);
}

/*
 * A chunk-aligned huge object starts where an arena chunk keeps its header:
 * its first bytes, written by the user to look like a header of the
 * caller's socket whose first page starts a 16 KiB large run (socket at
 * bytes 28-31, the page map word at 64-67), must not send it to the large
 * easy path: the huge object is freed, and no 16 KiB object comes from it.
 */
Test(large_cache, free_of_a_huge_object_dressed_as_a_large_run_trusts_no_user_bytes)
{
	unsigned int cls = 0;
	struct dpm_lcore_stats ls;
	uint64_t chunks;
	void *q[8];
	uint8_t *p;

	warm_up();
	while (dpm_class_size(cls) < 16 * ITEST_KIB)
		cls++;
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);
	for (int sized = 0; sized < 2; sized++) {
		/* a 4-page large run's first page */
		p = itest_forged_huge(16 * ITEST_KIB, ls.socket_id, 4u | (cls << 3) | (4u << 11));
		chunks = itest_stats_total().chunks_used;
		if (sized)
			dpm_free_sized(p, 16 * ITEST_KIB);
		else
			dpm_free(p);
		cr_assert_eq(itest_stats_total().chunks_used, chunks - 1, "the huge object was not freed");
		for (unsigned int i = 0; i < RTE_DIM(q); i++) {
			q[i] = dpm_malloc(16 * ITEST_KIB);
			cr_assert_not_null(q[i]);
			cr_assert(!itest_overlap(q[i], 16 * ITEST_KIB, p, ITEST_CHUNK),
				"%p handed out from the freed huge object at %p", q[i], (void *)p);
		}
		for (unsigned int i = 0; i < RTE_DIM(q); i++)
			dpm_free(q[i]);
	}
}
