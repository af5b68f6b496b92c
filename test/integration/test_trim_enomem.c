/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Memory given back and memory running out: dpm_trim() returns free spans
 * to DPDK; an exhausted socket (or one at its dpm_config.socket_limit)
 * fails with ENOMEM and works again once memory is freed.
 *
 * The memory a test process has is bounded by its EAL mode (dpm_test.h):
 * -m 768 under nohuge, --socket-limit=768 under huge.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include <stdlib.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(trim);
DPM_TEST_SUITE(exhaust);

/* Objects of up to 64 MiB, up to 4 GiB in all: more than a test process
 * can ever get. */
#define BIG_OBJECT_MAX (64 * ITEST_MIB)
#define MAX_BIG_OBJECTS ((size_t)1024)
#define CHUNK ((size_t)1 << DPM_LG_CHUNK)

/*
 * The size of the big objects (and of the 16 MiB ones), given what the
 * memory mode can have in one piece: want, except under --legacy-mem.
 * There a memzone must lie in one run of physically contiguous hugepages
 * (EAL maps them in physical order), and on a busy machine whose hugepages
 * are fragmented the longest run can be shorter than 64 MiB: the tests then
 * ask for the longest run the heap has (rte_malloc's greatest free
 * element) less one chunk, in whole chunks, and skip, saying why, only
 * when not even two chunks are contiguous. DPM_TEST_BIG_MB caps the size in
 * every mode, to check the smaller sizes by hand.
 */
static size_t
big_size(size_t want)
{
	struct rte_malloc_socket_stats heap;
	const char *cap = getenv("DPM_TEST_BIG_MB");
	size_t can = want;

	if (cap != NULL && atoi(cap) > 0)
		can = RTE_MIN(can, (size_t)atoi(cap) * ITEST_MIB);
	if (dpm_test_eal_mode() != DPM_TEST_EAL_LEGACY)
		return can;
	dpm_free(dpm_malloc(1));   /* dpmalloc's metadata is reserved first */
	cr_assert_eq(rte_malloc_get_socket_stats((int)rte_socket_id(), &heap), 0);
	if (heap.greatest_free_size < 3 * CHUNK)
		cr_skip_test("legacy memory: the longest run of physically contiguous "
			"free hugepages is %zu KiB; these tests need 2 chunks (%zu KiB) "
			"in one piece", heap.greatest_free_size >> 10, (2 * CHUNK) >> 10);
	return RTE_MIN(can, (heap.greatest_free_size - CHUNK) & ~(CHUNK - 1));
}

/* Allocate objects of size bytes until the socket refuses (or 4 GiB are
 * handed out); returns how many. */
static unsigned int
exhaust_socket(void **p, size_t size, int *err)
{
	unsigned int n, max = (unsigned int)RTE_MIN(MAX_BIG_OBJECTS, (4096 * ITEST_MIB) / size);

	for (n = 0; n < max; n++) {
		rte_errno = 0;
		p[n] = dpm_malloc(size);
		if (p[n] == NULL)
			break;
	}
	*err = rte_errno;
	return n;
}

Test(trim, trim_after_freeing_everything_returns_spans_to_dpdk)
{
	enum { HUGE = 25, SMALL = 2000, LARGE = 60 };
	static void *huge[HUGE], *small[SMALL], *large[LARGE];
	struct dpm_socket_stats peak, after;
	unsigned int peak_dpm, peak_walk, i;
	size_t returned;

	for (i = 0; i < SMALL; i++) {
		small[i] = dpm_malloc(16 + i % 3000);
		cr_assert_not_null(small[i]);
	}
	for (i = 0; i < LARGE; i++) {
		large[i] = dpm_malloc(20 * ITEST_KIB + i * ITEST_PAGE);
		cr_assert_not_null(large[i]);
	}
	for (i = 0; i < HUGE; i++) {
		huge[i] = dpm_malloc(8 * ITEST_MIB);
		cr_assert_not_null(huge[i], "huge object %u: %s", i,
			rte_strerror(rte_errno));
	}
	peak_dpm = dpm_memzone_count();
	peak_walk = dpm_test_memzone_walk_count();
	peak = itest_stats_total();
	cr_assert_geq(peak.spans, 2, "200 MiB should need more than one span");

	for (i = 0; i < HUGE; i++)
		dpm_free(huge[i]);
	for (i = 0; i < LARGE; i++)
		dpm_free(large[i]);
	for (i = 0; i < SMALL; i++)
		dpm_free(small[i]);
	dpm_tcache_flush();
	returned = dpm_trim();

	after = itest_stats_total();
	cr_assert_gt(returned, 0);
	cr_assert_lt(dpm_memzone_count(), peak_dpm);
	cr_assert_lt(dpm_test_memzone_walk_count(), peak_walk);
	cr_assert_eq(peak_walk - dpm_test_memzone_walk_count(),
		peak_dpm - dpm_memzone_count(),
		"DPDK lost %u memzones, dpmalloc says it gave back %u",
		peak_walk - dpm_test_memzone_walk_count(),
		peak_dpm - dpm_memzone_count());
	cr_assert_eq(peak.bytes_reserved - after.bytes_reserved, returned,
		"trim said %zu bytes, bytes_reserved dropped by %" PRIu64,
		returned, peak.bytes_reserved - after.bytes_reserved);
	cr_assert_gt(after.spans_returned, peak.spans_returned);
	cr_assert_eq(after.bytes_retained, 0);
	cr_assert_eq(after.bytes_allocated, 0);
	cr_assert_eq(after.chunks_used, 0);
}

Test(trim, trim_keeps_the_spans_of_live_objects)
{
	void *p = dpm_malloc(8 * ITEST_MIB);
	void *q = dpm_malloc(300);
	struct dpm_socket_stats after;

	cr_assert_not_null(p);
	cr_assert_not_null(q);
	dpm_test_fill(p, 8 * ITEST_MIB, 1);
	dpm_test_fill(q, 300, 2);
	dpm_tcache_flush();
	dpm_trim();
	after = itest_stats_total();
	cr_assert_geq(after.spans, 1);
	cr_assert(dpm_owns(p) && dpm_owns(q));
	cr_assert_eq(dpm_test_check(p, 8 * ITEST_MIB, 1), SIZE_MAX);
	cr_assert_eq(dpm_test_check(q, 300, 2), SIZE_MAX);
	cr_assert_geq(dpm_usable_size(p), 8 * ITEST_MIB);
	dpm_free(p);
	dpm_free(q);
}

/* A burst of 16 MiB objects, all freed: spans that are free, not returned. */
static void burst_of_free_spans(void)
{
	size_t size = big_size(16 * ITEST_MIB);
	void *p[12];
	unsigned int i;

	for (i = 0; i < RTE_DIM(p); i++) {
		p[i] = dpm_malloc(size);
		cr_assert_not_null(p[i], "%zu bytes: %s", size, rte_strerror(rte_errno));
	}
	for (i = 0; i < RTE_DIM(p); i++)
		dpm_free(p[i]);
}

Test(trim, trim_socket_returns_the_free_spans_of_that_socket)
{
	burst_of_free_spans();
	cr_assert_gt(dpm_trim_socket((int)rte_socket_id()), 0);
}

Test(trim, trim_socket_of_an_unknown_socket_fails_with_einval)
{
	dpm_free(dpm_malloc(1));
	rte_errno = 0;
	cr_assert_eq(dpm_trim_socket(RTE_MAX_NUMA_NODES), 0);
	cr_assert_eq(rte_errno, EINVAL);
}

Test(trim, allocation_after_trim_reserves_memory_again)
{
	size_t size = big_size(16 * ITEST_MIB);
	void *p[12];
	unsigned int i;

	burst_of_free_spans();
	dpm_tcache_flush();
	dpm_trim();
	for (i = 0; i < RTE_DIM(p); i++) {
		p[i] = dpm_malloc(size);
		cr_assert_not_null(p[i], "after trim: %s", rte_strerror(rte_errno));
		dpm_test_fill(p[i], size, i);
	}
	for (i = 0; i < RTE_DIM(p); i++) {
		cr_assert_eq(dpm_test_check(p[i], size, i), SIZE_MAX);
		dpm_free(p[i]);
	}
}

Test(exhaust, exhausting_the_socket_fails_with_enomem)
{
	static void *p[MAX_BIG_OBJECTS];
	size_t big = big_size(BIG_OBJECT_MAX);
	struct dpm_socket_stats stats;
	unsigned int n, i;
	int err;

	n = exhaust_socket(p, big, &err);
	cr_assert_gt(n, 0, "not even one object of %zu MiB: %s", big >> 20, rte_strerror(err));
	cr_assert_lt(n, RTE_MIN(MAX_BIG_OBJECTS, (4096 * ITEST_MIB) / big),
		"4 GiB handed out from a 768 MiB process");
	cr_assert_eq(err, ENOMEM, "rte_errno %d (%s), want ENOMEM", err, rte_strerror(err));
	cr_assert_eq(dpm_stats_socket((int)rte_socket_id(), &stats), 0);
	cr_assert_geq(stats.enomem, 1);
	for (i = 0; i < n; i++)
		dpm_free(p[i]);
}

Test(exhaust, allocator_works_again_after_frees_on_an_exhausted_socket)
{
	static void *p[MAX_BIG_OBJECTS];
	size_t big = big_size(BIG_OBJECT_MAX);
	void *small, *large;
	unsigned int n, i;
	int err;

	n = exhaust_socket(p, big, &err);
	cr_assert_gt(n, 1);
	cr_assert_eq(err, ENOMEM);

	dpm_free(p[n - 1]);
	dpm_free(p[0]);
	p[0] = dpm_malloc(big);
	cr_assert_not_null(p[0], "%zu MiB after freeing two: %s", big >> 20, rte_strerror(rte_errno));
	dpm_test_fill(p[0], big, 5);
	small = dpm_malloc(100);
	large = dpm_malloc(200 * ITEST_KIB);
	cr_assert_not_null(small);
	cr_assert_not_null(large);
	dpm_test_fill(small, 100, 6);
	dpm_test_fill(large, 200 * ITEST_KIB, 7);
	cr_assert_eq(dpm_test_check(p[0], big, 5), SIZE_MAX);
	cr_assert_eq(dpm_test_check(small, 100, 6), SIZE_MAX);
	dpm_free(small);
	dpm_free(large);
	for (i = 0; i < n - 1; i++)
		dpm_free(p[i]);

	/* everything freed: the whole socket is available again */
	n = exhaust_socket(p, big, &err);
	cr_assert_gt(n, 1);
	for (i = 0; i < n; i++)
		dpm_free(p[i]);
}

Test(exhaust, malloc_bulk_is_all_or_nothing_when_memory_runs_out)
{
	static void *p[MAX_BIG_OBJECTS];
	size_t big = big_size(BIG_OBJECT_MAX);
	/* more than the process has (768 MiB, see dpm_test.h) */
	unsigned int i, n = (unsigned int)((1280 * ITEST_MIB) / big);
	struct dpm_socket_stats before, after;

	dpm_free(dpm_malloc(1));
	before = itest_stats_total();
	for (i = 0; i < RTE_DIM(p); i++)
		p[i] = NULL;
	rte_errno = 0;
	cr_assert_eq(dpm_malloc_bulk(p, n, big), 0, "%u objects of %zu MiB in a 768 MiB process",
		n, big >> 20);
	cr_assert_eq(rte_errno, ENOMEM, "rte_errno %d (%s)", rte_errno,
		rte_strerror(rte_errno));
	for (i = 0; i < RTE_DIM(p); i++)
		cr_assert_null(p[i], "ptrs[%u] written by a failed bulk", i);
	after = itest_stats_total();
	cr_assert_eq(after.bytes_allocated, before.bytes_allocated,
		"a failed bulk left %" PRIu64 " bytes allocated",
		after.bytes_allocated - before.bytes_allocated);
	cr_assert_eq(after.nmalloc - after.nfree, before.nmalloc - before.nfree);

	cr_assert_eq(dpm_malloc_bulk(p, 2, big), 2);
	dpm_free_bulk(p, 2);
}

Test(exhaust, socket_limit_caps_the_memory_reserved_from_dpdk)
{
	const size_t limit = 256 * ITEST_MIB;
	int socket = (int)rte_socket_id();
	struct dpm_config cfg;
	struct dpm_socket_stats stats;
	static void *p[MAX_BIG_OBJECTS];
	size_t size, outside_size;
	void *outside;
	unsigned int n, i;

	dpm_config_defaults(&cfg);
	cfg.socket_limit[socket] = limit;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
	size = big_size(16 * ITEST_MIB);
	outside_size = big_size(64 * ITEST_MIB);

	for (n = 0; n < RTE_DIM(p); n++) {
		rte_errno = 0;
		p[n] = dpm_malloc(size);
		if (p[n] == NULL)
			break;
	}
	cr_assert_eq(rte_errno, ENOMEM, "stopped after %u objects: %s", n,
		rte_strerror(rte_errno));
	cr_assert_gt(n, 0);
	cr_assert_eq(dpm_stats_socket(socket, &stats), 0);
	cr_assert_leq(stats.bytes_reserved, limit,
		"%" PRIu64 " bytes reserved under a %zu limit", stats.bytes_reserved, limit);

	/* the cap is dpmalloc's: DPDK still has memory for others */
	outside = rte_malloc(NULL, outside_size, 0);
	cr_assert_not_null(outside);
	rte_free(outside);

	for (i = 0; i < n; i++)
		dpm_free(p[i]);
	p[0] = dpm_malloc(size);
	cr_assert_not_null(p[0]);
	dpm_free(p[0]);
}
