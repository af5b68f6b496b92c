/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Freed memory is used again: regions, runs and chunks come back to the
 * next allocation of their size, and repeated bursts do not grow the
 * memory reserved from DPDK.
 */

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(reuse);

static uintptr_t
chunk_of(const void *p)
{
	return RTE_ALIGN_FLOOR((uintptr_t)p, ITEST_CHUNK);
}

struct reuse_case {
	size_t size;
	void *first;   /* the object freed */
	void *second;  /* the next allocation of the same size */
};

/* On the calling thread: keep a neighbour live, free an object, allocate
 * the same size again. */
static int
free_then_malloc(void *arg)
{
	struct reuse_case *c = arg;
	void *neighbour = dpm_malloc(c->size);

	c->first = dpm_malloc(c->size);
	if (neighbour == NULL || c->first == NULL)
		return -1;
	dpm_free(c->first);
	c->second = dpm_malloc(c->size);
	if (c->second == NULL)
		return -1;
	dpm_free(c->second);
	dpm_free(neighbour);
	return 0;
}

Test(reuse, freed_small_region_is_reused_on_the_arena_path)
{
	struct reuse_case c = { .size = 64 };

	cr_assert_eq(dpm_test_run_on_pthread(free_then_malloc, &c), 0);
	cr_assert_eq(c.second, c.first, "freed %p, then got %p", c.first, c.second);
}

Test(reuse, freed_small_region_is_reused_on_an_lcore)
{
	struct reuse_case c = { .size = 64 };

	cr_assert_eq(free_then_malloc(&c), 0);
	cr_assert_eq(chunk_of(c.second), chunk_of(c.first),
		"freed %p, then got %p in another chunk", c.first, c.second);
}

Test(reuse, freed_large_run_is_reused_in_the_same_chunk)
{
	struct reuse_case on_lcore = { .size = 100 * ITEST_KIB };
	struct reuse_case on_thread = { .size = 100 * ITEST_KIB };

	cr_assert_eq(free_then_malloc(&on_lcore), 0);
	cr_assert_eq(chunk_of(on_lcore.second), chunk_of(on_lcore.first));
	cr_assert_eq(dpm_test_run_on_pthread(free_then_malloc, &on_thread), 0);
	cr_assert_eq(chunk_of(on_thread.second), chunk_of(on_thread.first));
}

/* Per worker lcore: one large object, left live for the test to compare. */
static void *large_of_lcore[RTE_MAX_LCORE];

static int
malloc_large_here(void *arg)
{
	RTE_SET_USED(arg);
	large_of_lcore[rte_lcore_id()] = dpm_malloc(100 * ITEST_KIB);
	return large_of_lcore[rte_lcore_id()] == NULL;
}

/* Large runs of a socket come from one arena whatever lcore asks, so pages
 * one lcore freed serve the next (before, each lcore's arena took chunks of
 * its own: on the mixed workload two thirds of their pages sat free). */
Test(reuse, large_runs_of_different_lcores_share_chunks)
{
	unsigned int lcore, n = 0;
	uintptr_t first = 0;

	memset(large_of_lcore, 0, sizeof(large_of_lcore));
	cr_assert_eq(dpm_test_launch_workers(malloc_large_here, NULL, 4), 4);
	cr_assert_eq(dpm_test_wait_workers(), 0);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		void *p = large_of_lcore[lcore];

		if (p == NULL)
			continue;
		if (n++ == 0)
			first = chunk_of(p);
		else
			cr_assert_eq(chunk_of(p), first, "lcore %u's large object %p is in another chunk", lcore, p);
	}
	cr_assert_eq(n, 4);
	RTE_LCORE_FOREACH_WORKER(lcore)
		dpm_free(large_of_lcore[lcore]);
}

Test(reuse, freed_huge_object_is_reused_without_a_new_memzone)
{
	struct reuse_case c = { .size = 8 * ITEST_MIB };
	void *keep_span_busy = dpm_malloc(64);
	struct dpm_socket_stats before, after;
	unsigned int memzones;
	int i;

	cr_assert_not_null(keep_span_busy);
	cr_assert_eq(dpm_test_run_on_pthread(free_then_malloc, &c), 0);
	cr_assert_eq(c.second, c.first, "freed %p, then got %p", c.first, c.second);

	memzones = dpm_memzone_count();
	before = itest_stats_total();
	for (i = 0; i < 50; i++) {
		void *p = dpm_malloc(c.size);

		cr_assert_not_null(p);
		dpm_free(p);
	}
	after = itest_stats_total();
	cr_assert_eq(dpm_memzone_count(), memzones);
	cr_assert_eq(after.spans_reserved, before.spans_reserved);
	dpm_free(keep_span_busy);
}

Test(reuse, repeated_bursts_do_not_grow_the_reserved_memory)
{
	enum { N = 2000, ROUNDS = 15 };
	static void *p[N];
	uint64_t seed = 42;
	struct dpm_socket_stats first, last;
	unsigned int memzones = 0;
	int round, i;

	for (round = 0; round < ROUNDS; round++) {
		uint64_t round_seed = seed;

		for (i = 0; i < N; i++) {
			size_t size = 1 + dpm_test_rand(&round_seed) % (64 * ITEST_KIB);

			p[i] = dpm_malloc(size);
			cr_assert_not_null(p[i], "round %d: malloc(%zu): %s", round,
				size, rte_strerror(rte_errno));
		}
		for (i = 0; i < N; i++)
			dpm_free(p[i]);
		if (round == 0) {
			first = itest_stats_total();
			memzones = dpm_memzone_count();
		}
	}
	last = itest_stats_total();
	cr_assert_eq(last.bytes_reserved, first.bytes_reserved,
		"reserved memory grew from %" PRIu64 " to %" PRIu64 " bytes",
		first.bytes_reserved, last.bytes_reserved);
	cr_assert_eq(last.spans_reserved, first.spans_reserved);
	cr_assert_eq(dpm_memzone_count(), memzones);
}
