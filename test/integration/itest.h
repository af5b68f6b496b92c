/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_ITEST_H
#define DPM_ITEST_H

/**
 * @file
 * Helpers shared by the integration tests: views of dpmalloc's state taken
 * through the public API only.
 */

#include <stdint.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_memory.h>

#include "dpmalloc.h"
#include "dpm_test.h"

/** Chunk size of the default build (lg_chunk = 21). */
#define ITEST_CHUNK ((size_t)2 << 20)
/** Page size of dpmalloc's page map. */
#define ITEST_PAGE ((size_t)4096)
#define ITEST_KIB ((size_t)1 << 10)
#define ITEST_MIB ((size_t)1 << 20)

/** Statistics of every socket dpmalloc knows, summed. */
static inline struct dpm_socket_stats
itest_stats_total(void)
{
	struct dpm_socket_stats sum, one;
	int s;

	memset(&sum, 0, sizeof(sum));
	sum.socket_id = -1;
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (dpm_stats_socket(s, &one) != 0)
			continue;
		sum.arenas += one.arenas;
		sum.spans += one.spans;
		sum.spans_reserved += one.spans_reserved;
		sum.spans_returned += one.spans_returned;
		sum.bytes_reserved += one.bytes_reserved;
		sum.bytes_retained += one.bytes_retained;
		sum.chunks_used += one.chunks_used;
		sum.chunks_peak += one.chunks_peak;
		sum.bytes_allocated += one.bytes_allocated;
		sum.nmalloc += one.nmalloc;
		sum.nfree += one.nfree;
		sum.remote_frees_in += one.remote_frees_in;
		sum.fallback_in += one.fallback_in;
		sum.enomem += one.enomem;
		sum.failed_enomem += one.failed_enomem;
		sum.failed_e2big += one.failed_e2big;
		sum.failed_einval += one.failed_einval;
		sum.double_frees += one.double_frees;
	}
	return sum;
}

/**
 * A chunk-aligned huge object of size bytes whose first page imitates an
 * arena chunk's header: the socket id where struct dpm_fp_desc has it
 * (at DPM_FP_DESC_OFFSET) and page-map word 0 (at DPM_FP_MAP_OFFSET) set
 * to word. No free may trust these bytes: they are the user's.
 */
static inline uint8_t *
itest_forged_huge(size_t size, int32_t socket, uint32_t word)
{
	uint8_t *p = dpm_aligned_alloc(ITEST_CHUNK, size);

	/* The forgery writes the whole first page, past the size the
	 * allocation attributes tell the compiler about. */
	__asm__ volatile("" : "+r"(p));
	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p % ITEST_CHUNK, 0);
	memset(p, 0, ITEST_PAGE);
	memcpy(p + DPM_FP_DESC_OFFSET + offsetof(struct dpm_fp_desc, arena_socket), &socket, sizeof(socket));
	memcpy(p + DPM_FP_MAP_OFFSET, &word, sizeof(word));
	return p;
}

/** Allocations minus frees over every socket. */
static inline int64_t
itest_live_count(void)
{
	struct dpm_socket_stats t = itest_stats_total();

	return (int64_t)(t.nmalloc - t.nfree);
}

static inline int
itest_flush_one_lcore(void *arg)
{
	RTE_SET_USED(arg);
	dpm_tcache_flush();
	return 0;
}

/** Flush the tcache of every lcore (main included) and wait. */
static inline void
itest_flush_all_tcaches(void)
{
	dpm_test_run_on_all_lcores(itest_flush_one_lcore, NULL);
}

/** The smallest size class of at least size bytes, or 0 for huge sizes. */
static inline size_t
itest_class_of(size_t size)
{
	unsigned int i, n = dpm_class_count();

	for (i = 0; i < n; i++) {
		if (dpm_class_size(i) >= size)
			return dpm_class_size(i);
	}
	return 0;
}

/** The largest non-huge class size. */
static inline size_t
itest_largest_class(void)
{
	return dpm_class_size(dpm_class_count() - 1);
}

/**
 * The alignment an object of size bytes has by nature: the lowest set bit
 * of its class size, at most a page; a chunk for huge objects.
 */
static inline size_t
itest_natural_alignment(size_t size)
{
	size_t cls = itest_class_of(size);
	size_t align;

	if (cls == 0)
		return ITEST_CHUNK;
	align = cls & -cls;
	return align < ITEST_PAGE ? align : ITEST_PAGE;
}

/** True when [a, a+alen) and [b, b+blen) share a byte. */
static inline int
itest_overlap(const void *a, size_t alen, const void *b, size_t blen)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	return x < y + blen && y < x + alen;
}

#endif /* DPM_ITEST_H */
