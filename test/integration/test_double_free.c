/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * A double free corrupts nothing, in every build type: whatever path the
 * second free takes (an lcore's tcache, a flush, a transfer cache, the
 * locked path of a plain thread, a large run, a huge object), it is
 * refused where it would touch metadata, logged and counted in the
 * socket's double_frees, and afterwards every object can be freed, the
 * counters balance and a trim gives every span back.
 *
 * On an lcore, dpm_free(p); dpm_free(p) puts p twice in the tcache (the
 * inline push does not look for it: see dpm_free()), so p may be handed out
 * twice before a flush; these tests never allocate in between, except the
 * churn test, which holds and frees whatever it gets.
 */

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(double_free);

/* Every object freed, every tcache flushed: nothing is live, and a trim
 * gives back every chunk and span. */
static void
assert_allocator_consistent(void)
{
	struct dpm_socket_stats t;

	itest_flush_all_tcaches();
	t = itest_stats_total();
	cr_assert_eq(t.nmalloc, t.nfree, "nmalloc %" PRIu64 " != nfree %" PRIu64,
		t.nmalloc, t.nfree);
	cr_assert_eq(t.bytes_allocated, 0, "%" PRIu64 " bytes still allocated",
		t.bytes_allocated);
	dpm_trim();
	t = itest_stats_total();
	cr_assert_eq(t.chunks_used, 0, "%" PRIu64 " chunks used after a trim",
		t.chunks_used);
	cr_assert_eq(t.spans, 0, "%" PRIu64 " spans held after a trim", t.spans);
}

/* Allocations still work and hand out distinct objects. */
static void
assert_allocations_distinct(size_t size)
{
	enum { N_MAX = 64 };
	void *p[N_MAX];
	unsigned int i, j, N = size > ITEST_MIB ? 8 : N_MAX;

	for (i = 0; i < N; i++) {
		p[i] = dpm_malloc(size);
		cr_assert_not_null(p[i]);
		for (j = 0; j < i; j++)
			cr_assert_neq(p[i], p[j], "%p handed out twice", p[i]);
		dpm_test_fill(p[i], size, i);
	}
	for (i = 0; i < N; i++) {
		cr_assert_eq(dpm_test_check(p[i], size, i), SIZE_MAX);
		dpm_free(p[i]);
	}
}

/* Free an object twice on the calling thread, flush, check. */
static void
check_double_free_then_flush(size_t size)
{
	uint64_t before = itest_stats_total().double_frees;
	void *p = dpm_malloc(size);

	cr_assert_not_null(p);
	dpm_free(p);
	dpm_free(p);
	dpm_tcache_flush();
	cr_assert_eq(itest_stats_total().double_frees, before + 1,
		"double free of %zu bytes counted %" PRIu64 " times", size,
		itest_stats_total().double_frees - before);
	assert_allocations_distinct(size);
}

Test(double_free, small_object_twice_in_a_tcache_is_refused_at_the_flush)
{
	/* p is the lowest region of a fresh run: its first free empties the
	 * run, whose pages coalesce with the rest of the chunk. */
	check_double_free_then_flush(128);
	assert_allocator_consistent();
}

Test(double_free, cached_large_object_twice_in_a_tcache_is_refused_at_the_flush)
{
	check_double_free_then_flush(20 * ITEST_KIB);
	assert_allocator_consistent();
}

Test(double_free, every_small_class_twice_in_a_tcache_is_refused_at_the_flush)
{
	for (size_t size = 16; size <= 14336; size += size / 4)
		check_double_free_then_flush(size);
	assert_allocator_consistent();
}

/* The second copy of p waits in the stack while the lcore goes on: pushes
 * overflow the stack (the oldest half, p's copies among them, parks in the
 * bin's transfer cache) and fills take them back. Whatever is handed out is
 * held, then freed. */
Test(double_free, small_object_twice_in_a_tcache_survives_churn)
{
	enum { N = 2000 };
	void **held = calloc(N, sizeof(*held));
	uint64_t before = itest_stats_total().double_frees;
	void *p = dpm_malloc(64);
	unsigned int i;

	cr_assert_not_null(held);
	cr_assert_not_null(p);
	dpm_free(p);
	dpm_free(p);
	for (int round = 0; round < 4; round++) {
		for (i = 0; i < N; i++) {
			held[i] = dpm_malloc(64);
			cr_assert_not_null(held[i]);
		}
		for (i = 0; i < N; i++)
			dpm_free(held[i]);
	}
	dpm_tcache_flush();
	/* p handed out twice and freed twice makes no new copy: of the two
	 * copies the double free made, exactly one is refused in the end. */
	cr_assert_eq(itest_stats_total().double_frees, before + 1, "counted %" PRIu64,
		itest_stats_total().double_frees - before);
	free(held);
	assert_allocations_distinct(64);
	assert_allocator_consistent();
}

struct twice {
	size_t size;
	int err_second;
};

/* On a plain thread (no tcache, the locked path): free twice. */
static int
free_twice(void *arg)
{
	struct twice *t = arg;
	void *keep = dpm_malloc(t->size);
	void *p = dpm_malloc(t->size);

	if (keep == NULL || p == NULL)
		return -1;
	dpm_free(keep);      /* p is alone in its run, or its chunk */
	dpm_free(p);
	rte_errno = 0;
	dpm_free(p);
	t->err_second = rte_errno;
	return 0;
}

static void
check_double_free_on_a_thread(size_t size, bool counted)
{
	struct twice t = { .size = size };
	uint64_t before = itest_stats_total().double_frees;

	cr_assert_eq(dpm_test_run_on_pthread(free_twice, &t), 0);
	cr_assert_eq(t.err_second, EINVAL, "second free of %zu bytes: rte_errno %d",
		size, t.err_second);
	if (counted)
		cr_assert_eq(itest_stats_total().double_frees, before + 1,
			"double free of %zu bytes counted %" PRIu64 " times", size,
			itest_stats_total().double_frees - before);
	assert_allocations_distinct(size);
}

Test(double_free, small_object_on_a_plain_thread_is_refused_and_counted)
{
	check_double_free_on_a_thread(128, true);
	check_double_free_on_a_thread(3000, true);
	assert_allocator_consistent();
}

Test(double_free, large_object_on_a_plain_thread_is_refused_and_counted)
{
	check_double_free_on_a_thread(20 * ITEST_KIB, true);
	check_double_free_on_a_thread(300 * ITEST_KIB, true);
	assert_allocator_consistent();
}

Test(double_free, huge_object_on_a_plain_thread_is_refused)
{
	/* A huge object's chunks leave the radix tree when it is freed: the
	 * second free is refused as a pointer dpmalloc does not own. */
	check_double_free_on_a_thread(5 * ITEST_MIB, false);
	assert_allocator_consistent();
}

Test(double_free, large_and_huge_objects_on_an_lcore_are_refused)
{
	const size_t sizes[] = { 64 * ITEST_KIB, 300 * ITEST_KIB, 5 * ITEST_MIB };

	for (unsigned int i = 0; i < RTE_DIM(sizes); i++) {
		void *p = dpm_malloc(sizes[i]);

		cr_assert_not_null(p);
		dpm_free(p);
		rte_errno = 0;
		dpm_free(p);
		cr_assert_eq(rte_errno, EINVAL, "second free of %zu bytes", sizes[i]);
		assert_allocations_distinct(sizes[i]);
	}
	assert_allocator_consistent();
}

/* Two lcores free the same object: it sits in both tcaches. */
static void *shared_obj;

static int
free_shared(void *arg)
{
	RTE_SET_USED(arg);
	dpm_free(shared_obj);
	dpm_tcache_flush();
	return 0;
}

Test(double_free, object_freed_by_two_lcores_is_refused_at_the_second_flush)
{
	uint64_t before = itest_stats_total().double_frees;

	shared_obj = dpm_malloc(256);
	cr_assert_not_null(shared_obj);
	cr_assert_eq(dpm_test_launch_workers(free_shared, NULL, 1), 1);
	cr_assert_eq(dpm_test_wait_workers(), 0);
	free_shared(NULL);
	cr_assert_eq(itest_stats_total().double_frees, before + 1);
	assert_allocations_distinct(256);
	assert_allocator_consistent();
}

/*
 * dpm_realloc() of an object freed already (found by an audit of the API:
 * it was resized in place and handed out twice, or moved and freed twice).
 * It is refused as dpm_realloc() refuses a pointer that is not a live
 * object: NULL, rte_errno = EINVAL, counted as a double free, where the
 * caller can tell (the object's run, its bin's transfer cache, the
 * caller's own tcache).
 */
struct realloc_freed {
	size_t size, new_size;
	void *got;
	int err;
	void *next[2];
};

static int
realloc_freed_run(void *arg)
{
	struct realloc_freed *r = arg;
	void *keep = dpm_malloc(r->size);   /* the run stays: p's region is free in it */
	void *p = dpm_malloc(r->size);

	if (keep == NULL || p == NULL)
		return -1;
	dpm_free(p);
	rte_errno = 0;
	r->got = dpm_realloc(p, r->new_size);
	r->err = rte_errno;
	/* Handed out once at most from here on. */
	r->next[0] = dpm_malloc(r->size);
	r->next[1] = dpm_malloc(r->size);
	dpm_free(r->next[0]);
	dpm_free(r->next[1]);
	dpm_free(keep);
	return 0;
}

static void
check_realloc_freed(bool on_lcore, size_t size, size_t new_size)
{
	struct realloc_freed r = { .size = size, .new_size = new_size };
	uint64_t before = itest_stats_total().double_frees;

	if (on_lcore)
		cr_assert_eq(realloc_freed_run(&r), 0);
	else
		cr_assert_eq(dpm_test_run_on_pthread(realloc_freed_run, &r), 0);
	cr_assert_null(r.got, "%s: realloc(freed %zu B, %zu) -> %p", on_lcore ? "lcore" : "pthread",
		       size, new_size, r.got);
	cr_assert_eq(r.err, EINVAL, "rte_errno %d", r.err);
	cr_assert_eq(itest_stats_total().double_frees, before + 1, "%s, %zu B: counted %" PRIu64 " times",
		     on_lcore ? "lcore" : "pthread", size, itest_stats_total().double_frees - before);
	cr_assert_neq(r.next[0], r.next[1], "%p handed out twice", r.next[0]);
}

Test(double_free, realloc_of_a_freed_object_is_refused)
{
	static const size_t sizes[] = { 64, 3000, 20 * ITEST_KIB, 300 * ITEST_KIB };

	for (unsigned int i = 0; i < RTE_DIM(sizes); i++) {
		/* Same class (in place) and another (a move). */
		check_realloc_freed(true, sizes[i], sizes[i] - 8);
		check_realloc_freed(true, sizes[i], 2 * sizes[i] + 100);
		check_realloc_freed(false, sizes[i], sizes[i] - 8);
		check_realloc_freed(false, sizes[i], 2 * sizes[i] + 100);
	}
	assert_allocator_consistent();
}

/* dpm_free_bulk() on a plain thread refuses a double free inside one call
 * or across two with EINVAL, as dpm_free() does (it counted and logged it,
 * but left rte_errno at 0). */
struct bulk_twice {
	int err_in_one, err_across;
};

static int
free_bulk_twice(void *arg)
{
	struct bulk_twice *t = arg;
	void *keep = dpm_malloc(128);
	void *a = dpm_malloc(128), *b = dpm_malloc(128);
	void *pair[2] = { a, a }, *one[1] = { b };

	if (keep == NULL || a == NULL || b == NULL)
		return -1;
	rte_errno = 0;
	dpm_free_bulk(pair, 2);
	t->err_in_one = rte_errno;
	dpm_free_bulk(one, 1);
	rte_errno = 0;
	dpm_free_bulk(one, 1);
	t->err_across = rte_errno;
	dpm_free(keep);
	return 0;
}

Test(double_free, free_bulk_on_a_plain_thread_says_einval)
{
	struct bulk_twice t;
	uint64_t before = itest_stats_total().double_frees;

	cr_assert_eq(dpm_test_run_on_pthread(free_bulk_twice, &t), 0);
	cr_assert_eq(t.err_in_one, EINVAL);
	cr_assert_eq(t.err_across, EINVAL);
	cr_assert_eq(itest_stats_total().double_frees, before + 2);
	assert_allocator_consistent();
}
