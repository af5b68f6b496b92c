/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * The allocation calls of dpmalloc.h through the public API: malloc,
 * zmalloc, calloc, the bulk and socket variants, usable_size, socket_of,
 * virt2iova and the statistics readers.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(api);

/* Sizes that cover tiny, small, large and huge classes and their edges. */
static const size_t sizes_of_every_kind[] = {
	1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128,
	129, 200, 255, 256, 257, 320, 511, 512, 513, 1000, 1024, 1025, 2047,
	2048, 2049, 3000, 4095, 4096, 4097, 6000, 8191, 8192, 8193, 12000,
	14336, 16383, 16384, 16385, 20000, 32768, 50000, 65536, 100000,
	262144, 500000, 1048576, 1500000, 2000000, 2097152, 2097153, 3000000,
	4194304, 10000000,
};

struct object {
	void *p;
	size_t size;
};

static int
object_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct object *)a)->p;
	uintptr_t y = (uintptr_t)((const struct object *)b)->p;

	return x < y ? -1 : x > y;
}

Test(api, malloc_returns_non_overlapping_objects_that_keep_their_contents)
{
	enum { ROUNDS = 8 };
	const unsigned int n = RTE_DIM(sizes_of_every_kind) * ROUNDS;
	struct object *obj = calloc(n, sizeof(*obj));
	unsigned int i;

	cr_assert_not_null(obj);
	for (i = 0; i < n; i++) {
		obj[i].p = dpm_malloc(sizes_of_every_kind[i % RTE_DIM(sizes_of_every_kind)]);
		cr_assert_not_null(obj[i].p, "malloc(%zu) failed: %s",
			sizes_of_every_kind[i % RTE_DIM(sizes_of_every_kind)],
			rte_strerror(rte_errno));
		obj[i].size = dpm_usable_size(obj[i].p);
		dpm_test_fill(obj[i].p, obj[i].size, i);
	}
	for (i = 0; i < n; i++)
		cr_assert_eq(dpm_test_check(obj[i].p, obj[i].size, i), SIZE_MAX,
			"object %u (%zu usable bytes at %p) was overwritten",
			i, obj[i].size, obj[i].p);

	qsort(obj, n, sizeof(*obj), object_cmp);
	for (i = 1; i < n; i++)
		cr_assert(!itest_overlap(obj[i - 1].p, obj[i - 1].size,
				obj[i].p, obj[i].size),
			"[%p, +%zu) overlaps [%p, +%zu)", obj[i - 1].p,
			obj[i - 1].size, obj[i].p, obj[i].size);
	for (i = 0; i < n; i++)
		dpm_free(obj[i].p);
	free(obj);
}

Test(api, usable_size_is_at_least_the_requested_size)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(sizes_of_every_kind); i++) {
		size_t size = sizes_of_every_kind[i];
		void *p = dpm_malloc(size);

		cr_assert_not_null(p, "malloc(%zu): %s", size, rte_strerror(rte_errno));
		cr_assert_geq(dpm_usable_size(p), size, "usable_size of malloc(%zu) is %zu",
			size, dpm_usable_size(p));
		dpm_free(p);
	}
}

Test(api, objects_are_aligned_to_16_bytes_and_to_their_class)
{
	unsigned int i, k;

	for (i = 0; i < RTE_DIM(sizes_of_every_kind); i++) {
		size_t size = sizes_of_every_kind[i];
		size_t align = itest_natural_alignment(size);
		void *p[4];

		/* several objects, so that not only the first of a run is seen */
		for (k = 0; k < RTE_DIM(p); k++) {
			p[k] = dpm_malloc(size);
			cr_assert_not_null(p[k]);
			cr_assert_eq((uintptr_t)p[k] % 16, 0,
				"malloc(%zu) = %p is not 16-byte aligned", size, p[k]);
			cr_assert_eq((uintptr_t)p[k] % align, 0,
				"malloc(%zu) = %p is not aligned to its class (%zu)",
				size, p[k], align);
		}
		for (k = 0; k < RTE_DIM(p); k++)
			dpm_free(p[k]);
	}
}

Test(api, malloc_of_zero_returns_distinct_freeable_objects)
{
	void *a = dpm_malloc(0);
	void *b = dpm_malloc(0);

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_neq(a, b);
	cr_assert(dpm_owns(a) && dpm_owns(b));
	dpm_free(a);
	dpm_free(b);
}

Test(api, malloc_of_an_impossible_size_fails_with_e2big)
{
	const size_t impossible[] = { SIZE_MAX, SIZE_MAX - ITEST_PAGE, SIZE_MAX / 2 + 1 };
	unsigned int i;

	for (i = 0; i < RTE_DIM(impossible); i++) {
		rte_errno = 0;
		cr_assert_null(dpm_malloc(impossible[i]), "malloc(%#zx) succeeded",
			impossible[i]);
		cr_assert_eq(rte_errno, E2BIG, "malloc(%#zx): rte_errno %d, want E2BIG",
			impossible[i], rte_errno);
	}
}

Test(api, free_of_null_changes_nothing)
{
	struct dpm_socket_stats before, after;

	dpm_free(dpm_malloc(64)); /* initialise */
	before = itest_stats_total();
	dpm_free(NULL);
	dpm_free_sized(NULL, 64);
	after = itest_stats_total();
	cr_assert_eq(after.nfree, before.nfree);
	cr_assert_eq(after.nmalloc, before.nmalloc);
	cr_assert_eq(after.bytes_allocated, before.bytes_allocated);
}

Test(api, free_sized_frees_like_free)
{
	size_t size = 3000;
	void *p = dpm_malloc(size);
	struct dpm_socket_stats before, after;

	cr_assert_not_null(p);
	itest_flush_all_tcaches();
	before = itest_stats_total();
	dpm_free_sized(p, size);
	itest_flush_all_tcaches();
	after = itest_stats_total();
	cr_assert_eq(after.nfree, before.nfree + 1);
	cr_assert_eq(after.bytes_allocated + itest_class_of(size), before.bytes_allocated);
}

/* Dirty size bytes of memory and free them, so that the next allocation of
 * that size is likely to be served from recycled memory. */
static void
dirty_and_free(size_t size, unsigned int count)
{
	void *p[16];
	unsigned int i;

	cr_assert_leq(count, RTE_DIM(p));
	for (i = 0; i < count; i++) {
		p[i] = dpm_malloc(size);
		cr_assert_not_null(p[i]);
		memset(p[i], 0xa5, dpm_usable_size(p[i]));
	}
	for (i = 0; i < count; i++)
		dpm_free(p[i]);
}

Test(api, zmalloc_zeroes_recycled_memory)
{
	const size_t sizes[] = { 16, 64, 200, 4096, 10000, 40000, 300000, 3000000 };
	unsigned int i;

	for (i = 0; i < RTE_DIM(sizes); i++) {
		void *p;
		size_t at;

		dirty_and_free(sizes[i], 1);
		p = dpm_zmalloc(sizes[i]);
		cr_assert_not_null(p);
		at = dpm_test_first_nonzero(p, sizes[i]);
		cr_assert_eq(at, SIZE_MAX, "zmalloc(%zu): byte %zu is not zero",
			sizes[i], at);
		dpm_free(p);
	}
}

Test(api, zmalloc_socket_zeroes_recycled_memory)
{
	void *p;

	dirty_and_free(1000, 4);
	p = dpm_zmalloc_socket(1000, rte_socket_id());
	cr_assert_not_null(p);
	cr_assert_eq(dpm_test_first_nonzero(p, 1000), SIZE_MAX);
	dpm_free(p);
}

Test(api, calloc_zeroes_recycled_memory)
{
	const size_t sizes[] = { 8, 48, 1024, 8000, 65536, 1000000, 5000000 };
	unsigned int i;

	for (i = 0; i < RTE_DIM(sizes); i++) {
		void *p;
		size_t at;

		dirty_and_free(sizes[i], 4);
		p = dpm_calloc(4, sizes[i] / 4);
		cr_assert_not_null(p);
		at = dpm_test_first_nonzero(p, sizes[i]);
		cr_assert_eq(at, SIZE_MAX, "calloc(4, %zu): byte %zu is not zero",
			sizes[i] / 4, at);
		dpm_free(p);
	}
}

Test(api, calloc_whose_product_overflows_fails_with_e2big)
{
	const size_t pairs[][2] = {
		{ SIZE_MAX, 2 },
		{ 2, SIZE_MAX },
		{ (SIZE_MAX >> 1) + 2, 2 },
		{ (size_t)1 << 33, (size_t)1 << 33 },
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(pairs); i++) {
		rte_errno = 0;
		cr_assert_null(dpm_calloc(pairs[i][0], pairs[i][1]));
		cr_assert_eq(rte_errno, E2BIG, "calloc(%#zx, %#zx): rte_errno %d, want E2BIG",
			pairs[i][0], pairs[i][1], rte_errno);
	}
}

Test(api, large_and_huge_objects_keep_their_contents)
{
	const size_t sizes[] = { 20000, 100000, 1048576, 2000000, 3 * ITEST_MIB,
		16 * ITEST_MIB + 5 };
	void *p[RTE_DIM(sizes)];
	unsigned int i;

	for (i = 0; i < RTE_DIM(sizes); i++) {
		p[i] = dpm_malloc(sizes[i]);
		cr_assert_not_null(p[i], "malloc(%zu): %s", sizes[i], rte_strerror(rte_errno));
		dpm_test_fill(p[i], sizes[i], 1000 + i);
	}
	for (i = 0; i < RTE_DIM(sizes); i++) {
		cr_assert_eq(dpm_test_check(p[i], sizes[i], 1000 + i), SIZE_MAX,
			"malloc(%zu) object lost its contents", sizes[i]);
		dpm_free(p[i]);
	}
}

Test(api, malloc_bulk_returns_n_distinct_objects)
{
	enum { N = 100 };
	void *p[N];
	unsigned int i, j;

	cr_assert_eq(dpm_malloc_bulk(p, N, 72), N);
	for (i = 0; i < N; i++) {
		cr_assert_not_null(p[i]);
		cr_assert_geq(dpm_usable_size(p[i]), 72);
		for (j = 0; j < i; j++)
			cr_assert(!itest_overlap(p[i], 72, p[j], 72), "objects %u and %u overlap", i, j);
	}
	dpm_free_bulk(p, N);
}

Test(api, malloc_bulk_of_zero_objects_returns_zero)
{
	void *p[1] = { (void *)(uintptr_t)0x1234 };

	cr_assert_eq(dpm_malloc_bulk(p, 0, 64), 0);
	cr_assert_eq(p[0], (void *)(uintptr_t)0x1234, "the array was written");
}

Test(api, malloc_bulk_failure_writes_no_pointer)
{
	enum { N = 8 };
	void *p[N];
	unsigned int i;

	for (i = 0; i < N; i++)
		p[i] = (void *)(uintptr_t)(0xdead0000 + i);
	rte_errno = 0;
	cr_assert_eq(dpm_malloc_bulk(p, N, SIZE_MAX), 0);
	cr_assert_eq(rte_errno, E2BIG, "rte_errno %d (%s), want E2BIG as dpm_malloc()",
		rte_errno, rte_strerror(rte_errno));
	for (i = 0; i < N; i++)
		cr_assert_eq(p[i], (void *)(uintptr_t)(0xdead0000 + i), "ptrs[%u] was written", i);
}

Test(api, free_bulk_frees_every_object_and_skips_null)
{
	enum { N = 40 };
	void *p[N];
	struct dpm_lcore_stats before, after;
	struct dpm_socket_stats total_before, total_after;
	unsigned int i;

	cr_assert_eq(dpm_malloc_bulk(p, N, 500), N);
	for (i = 0; i < N; i += 4) {
		dpm_free(p[i]);
		p[i] = NULL;
	}
	itest_flush_all_tcaches();
	total_before = itest_stats_total();
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &before), 0);

	dpm_free_bulk(p, N);

	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &after), 0);
	cr_assert_eq(after.nfree - before.nfree, N - N / 4,
		"free_bulk counted %" PRIu64 " frees for %u objects",
		after.nfree - before.nfree, N - N / 4);
	itest_flush_all_tcaches();
	total_after = itest_stats_total();
	cr_assert_eq(total_before.bytes_allocated - total_after.bytes_allocated,
		(uint64_t)(N - N / 4) * itest_class_of(500));
}

Test(api, malloc_socket_places_the_object_on_that_socket)
{
	int socket = (int)rte_socket_id();
	const size_t sizes[] = { 32, 5000, 100000, 4 * ITEST_MIB };
	unsigned int i;

	for (i = 0; i < RTE_DIM(sizes); i++) {
		void *p = dpm_malloc_socket(sizes[i], socket);
		void *q = dpm_aligned_alloc_socket(256, sizes[i], socket);

		cr_assert_not_null(p);
		cr_assert_not_null(q);
		cr_assert_eq(dpm_socket_of(p), socket);
		cr_assert_eq(dpm_socket_of(q), socket);
		dpm_free(p);
		dpm_free(q);
	}
}

Test(api, malloc_socket_any_uses_the_callers_socket)
{
	void *p = dpm_malloc_socket(128, SOCKET_ID_ANY);
	void *q = dpm_malloc(128);

	cr_assert_not_null(p);
	cr_assert_not_null(q);
	cr_assert_eq(dpm_socket_of(p), (int)rte_socket_id());
	cr_assert_eq(dpm_socket_of(q), (int)rte_socket_id());
	dpm_free(p);
	dpm_free(q);
}

Test(api, malloc_socket_of_an_unknown_socket_fails_with_einval)
{
	const int sockets[] = { RTE_MAX_NUMA_NODES, RTE_MAX_NUMA_NODES + 7, -5 };
	unsigned int i;

	for (i = 0; i < RTE_DIM(sockets); i++) {
		rte_errno = 0;
		cr_assert_null(dpm_malloc_socket(64, sockets[i]));
		cr_assert_eq(rte_errno, EINVAL, "socket %d: rte_errno %d", sockets[i], rte_errno);
	}
}

Test(api, virt2iova_agrees_with_dpdk_for_every_kind_of_object)
{
	const size_t sizes[] = { 16, 3000, 50000, 1048576, 5 * ITEST_MIB };
	unsigned int i;

	for (i = 0; i < RTE_DIM(sizes); i++) {
		uint8_t *p = dpm_malloc(sizes[i]);
		const size_t offsets[] = { 0, sizes[i] / 2, sizes[i] - 1 };
		unsigned int k;

		cr_assert_not_null(p);
		for (k = 0; k < RTE_DIM(offsets); k++) {
			rte_iova_t iova = dpm_virt2iova(p + offsets[k]);

			cr_assert_neq(iova, RTE_BAD_IOVA, "no iova for malloc(%zu)+%zu",
				sizes[i], offsets[k]);
			cr_assert_eq(iova, rte_mem_virt2iova(p + offsets[k]),
				"malloc(%zu)+%zu: dpm iova %#" PRIx64 ", DPDK %#" PRIx64,
				sizes[i], offsets[k], iova, rte_mem_virt2iova(p + offsets[k]));
		}
		dpm_free(p);
	}
}

Test(api, usable_size_of_null_is_zero)
{
	cr_assert_eq(dpm_usable_size(NULL), 0);
}

Test(api, class_sizes_grow_strictly_and_end_at_the_count)
{
	unsigned int i, n = dpm_class_count();

	cr_assert_gt(n, 0);
	for (i = 1; i < n; i++)
		cr_assert_gt(dpm_class_size(i), dpm_class_size(i - 1),
			"class %u (%zu) is not above class %u (%zu)",
			i, dpm_class_size(i), i - 1, dpm_class_size(i - 1));
	cr_assert_eq(dpm_class_size(n), 0);
	cr_assert_lt(dpm_class_size(n - 1), ITEST_CHUNK);
}

Test(api, stats_of_an_unknown_socket_fail_with_einval)
{
	struct dpm_socket_stats s;
	struct dpm_class_stats c;

	dpm_free(dpm_malloc(1));
	rte_errno = 0;
	cr_assert_eq(dpm_stats_socket(RTE_MAX_NUMA_NODES, &s), -1);
	cr_assert_eq(rte_errno, EINVAL);
	rte_errno = 0;
	cr_assert_eq(dpm_stats_class(RTE_MAX_NUMA_NODES, 0, &c), -1);
	cr_assert_eq(rte_errno, EINVAL);
	rte_errno = 0;
	cr_assert_eq(dpm_stats_class((int)rte_socket_id(), dpm_class_count(), &c), -1);
	cr_assert_eq(rte_errno, EINVAL);
}

Test(api, lcore_stats_count_the_lcores_own_calls)
{
	enum { N = 25 };
	struct dpm_lcore_stats before, after;
	void *p[N];
	unsigned int i;

	dpm_free(dpm_malloc(1));
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &before), 0);
	for (i = 0; i < N; i++)
		p[i] = dpm_malloc(24);
	for (i = 0; i < N; i++)
		dpm_free(p[i]);
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &after), 0);
	cr_assert_eq(after.lcore_id, rte_lcore_id());
	cr_assert_eq(after.socket_id, (int)rte_socket_id());
	cr_assert_eq(after.nmalloc - before.nmalloc, N);
	cr_assert_eq(after.nfree - before.nfree, N);
}

Test(api, lcore_stats_of_a_silent_lcore_fail_with_enoent)
{
	struct dpm_lcore_stats s;
	unsigned int silent = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);

	dpm_free(dpm_malloc(1));
	cr_assert_lt(silent, RTE_MAX_LCORE);
	rte_errno = 0;
	cr_assert_eq(dpm_stats_lcore(silent, &s), -1);
	cr_assert_eq(rte_errno, ENOENT);
	rte_errno = 0;
	cr_assert_eq(dpm_stats_lcore(RTE_MAX_LCORE, &s), -1);
	cr_assert_eq(rte_errno, EINVAL);
}

Test(api, socket_stats_count_allocations_and_frees)
{
	struct dpm_socket_stats before, live, after;
	void *p;

	dpm_free(dpm_malloc(1));
	itest_flush_all_tcaches();
	before = itest_stats_total();
	p = dpm_malloc(6 * ITEST_MIB); /* huge: no tcache in between */
	cr_assert_not_null(p);
	live = itest_stats_total();
	dpm_free(p);
	after = itest_stats_total();
	cr_assert_eq(live.nmalloc, before.nmalloc + 1);
	cr_assert_geq(live.bytes_allocated, before.bytes_allocated + 6 * ITEST_MIB);
	cr_assert_geq(live.chunks_used, before.chunks_used + 3);
	cr_assert_eq(after.nfree, before.nfree + 1);
	cr_assert_eq(after.bytes_allocated, before.bytes_allocated);
	cr_assert_eq(after.chunks_used, before.chunks_used);
}

/* chunks_peak is the exact high-water mark of chunks in use: it covers
 * chunks_used at every moment, rises with a demand above it, and stays
 * there when the demand falls. */
Test(api, socket_stats_keep_the_high_water_mark_of_chunks_in_use)
{
	struct dpm_socket_stats before, live, after;
	void *p[4];

	dpm_free(dpm_malloc(1));
	itest_flush_all_tcaches();
	before = itest_stats_total();
	cr_assert_geq(before.chunks_peak, before.chunks_used);
	for (unsigned int i = 0; i < RTE_DIM(p); i++) {
		p[i] = dpm_malloc(6 * ITEST_MIB);   /* 3 chunks each */
		cr_assert_not_null(p[i]);
	}
	live = itest_stats_total();
	cr_assert_geq(live.chunks_used, before.chunks_used + 12);
	cr_assert_geq(live.chunks_peak, live.chunks_used);
	for (unsigned int i = 0; i < RTE_DIM(p); i++)
		dpm_free(p[i]);
	after = itest_stats_total();
	cr_assert_eq(after.chunks_used, before.chunks_used);
	cr_assert_eq(after.chunks_peak, live.chunks_peak, "the high-water mark moved down");
	cr_assert_geq(after.chunks_peak, before.chunks_used + 12);
}
