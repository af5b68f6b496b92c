/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Spans as DPDK sees them. A span comes headed where DPDK's heap grows for
 * it (zone.h): its memzone starts DPM_FP_CHUNK_HEAD bytes into its first
 * chunk, so DPDK's element header takes none of a hugepage of its own, and
 * that chunk serves arena chunks only (which leave the header alone),
 * never a huge object. (Without a socket_limit, which these tests set
 * none of, spans for huge objects come headed too.)
 */

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(spans);

#define CHUNK ((uintptr_t)1 << DPM_LG_CHUNK)
#define MAX_ZONES 256

struct zones {
	uintptr_t base[MAX_ZONES];   /* first chunk of each dpmalloc memzone */
	bool headed[MAX_ZONES];
	unsigned int n, nheaded;
};

static void zone_one(const struct rte_memzone *mz, void *arg)
{
	struct zones *z = arg;
	uintptr_t a = (uintptr_t)mz->addr;

	if (strncmp(mz->name, "dpm_s", 5) != 0 || z->n == MAX_ZONES)
		return;
	z->headed[z->n] = (a & (CHUNK - 1)) == DPM_FP_CHUNK_HEAD;
	z->base[z->n] = a & ~(CHUNK - 1);
	z->nheaded += z->headed[z->n];
	z->n++;
}

static struct zones zones_now(void)
{
	struct zones z = { .n = 0 };

	rte_memzone_walk(zone_one, &z);
	return z;
}

static size_t heap_total(int socket)
{
	struct rte_malloc_socket_stats st;

	cr_assert_eq(rte_malloc_get_socket_stats(socket, &st), 0);
	return st.heap_totalsz_bytes;
}

/*
 * On hugepages mapped on demand, n objects of size bytes (written whole)
 * make the heap grow by the spans they reserve (at least min_spans, all
 * headed) and metadata, not a hugepage more per memzone; freed, flushed
 * and trimmed, every headed memzone goes back, its header and all.
 */
static void
check_heap_grows_by_spans(size_t size, unsigned int n, unsigned int min_spans)
{
	int socket = (int)rte_socket_id();
	struct dpm_socket_stats before, after;
	void *p[256];
	size_t heap0, heap1;
	struct zones z;

	cr_assert_leq(n, RTE_DIM(p));
	if (dpm_test_eal_mode() != DPM_TEST_EAL_HUGE)
		cr_skip_test("needs hugepages mapped on demand (DPM_TEST_EAL=huge): the heap does not grow otherwise");
	/* Let the first use (metadata, the first span) happen first. */
	dpm_free(dpm_malloc(64));
	cr_assert_eq(dpm_stats_socket(socket, &before), 0);
	heap0 = heap_total(socket);
	for (unsigned int i = 0; i < n; i++) {
		p[i] = dpm_malloc(size);
		cr_assert_not_null(p[i]);
		memset(p[i], (int)i, size);
	}
	cr_assert_eq(dpm_stats_socket(socket, &after), 0);
	heap1 = heap_total(socket);
	z = zones_now();
	cr_assert_geq(after.spans_reserved - before.spans_reserved, min_spans, "%" PRIu64 " spans",
		      after.spans_reserved - before.spans_reserved);
	cr_assert_geq(z.nheaded, min_spans, "%u of %u memzones headed", z.nheaded, z.n);
	/* Metadata may take a page of its own; nothing else beyond the spans. */
	cr_assert_leq(heap1 - heap0,
		      after.bytes_reserved - before.bytes_reserved + after.bytes_metadata -
			      before.bytes_metadata + (2u << 20),
		      "heap grew %zu MiB for %" PRIu64 " MiB of spans", (heap1 - heap0) >> 20,
		      (after.bytes_reserved - before.bytes_reserved) >> 20);
	for (unsigned int i = 0; i < n; i++) {
		for (size_t b = 0; b < size; b += 4096)
			cr_assert_eq(((uint8_t *)p[i])[b], (uint8_t)i);
		dpm_free(p[i]);
	}
	dpm_tcache_flush();
	dpm_trim();
	cr_assert_eq(zones_now().nheaded, 0);
	cr_assert_leq(heap_total(socket), heap0);
}

/* Arena spans: 200 large objects of 300 KiB, about 60 MiB of arena
 * chunks, some spans' worth. */
Test(spans, arena_spans_take_no_hugepage_beyond_their_chunks)
{
	check_heap_grows_by_spans(300 * 1024, 200, 3);
}

/* Spans reserved for huge objects (no socket_limit): 12 of 6 chunks. */
Test(spans, huge_object_spans_take_no_hugepage_beyond_their_chunks)
{
	check_heap_grows_by_spans(5 * CHUNK + 4096, 12, 2);
}

/* Huge objects, written whole, never start in a chunk that holds DPDK's
 * header; arena chunks do, and DPDK's heap stays sound (every memzone
 * goes back). Runs in every memory mode: where spans cannot come headed,
 * none is, and the same holds trivially. */
Test(spans, no_huge_object_starts_over_a_memzone_header)
{
	enum { N = 48 };
	static const size_t huge_sizes[] = { 1900 * 1024, 2 * CHUNK, 3 * CHUNK - 4096, 5 * CHUNK };
	enum { NLARGE = 96, NONE = 64 };
	void *small[N], *huge[N], *large[NLARGE], *one[NONE];
	size_t hsize[N];
	struct zones z;

	/* Arena spans first (1 MiB objects: two to a chunk), then freed: their
	 * chunks, the headed first ones among them, go back to the spans for
	 * the one-chunk huge objects that follow. */
	for (int i = 0; i < NLARGE; i++)
		cr_assert_not_null(large[i] = dpm_malloc(1 << 20));
	for (int i = 0; i < NLARGE; i++)
		dpm_free(large[i]);
	dpm_tcache_flush();
	for (int i = 0; i < NONE; i++) {
		one[i] = dpm_malloc(1900 * 1024);
		cr_assert_not_null(one[i], "one-chunk %d: %s", i, rte_strerror(rte_errno));
		memset(one[i], 0x5a, 1900 * 1024);
	}
	for (int i = 0; i < N; i++) {
		/* Small and large objects make arena spans; huge ones come
		 * between them. */
		small[i] = dpm_malloc(i % 2 ? 200 * 1024 : 4000);
		cr_assert_not_null(small[i]);
		hsize[i] = huge_sizes[i % RTE_DIM(huge_sizes)];
		huge[i] = dpm_malloc(hsize[i]);
		cr_assert_not_null(huge[i], "huge %d: %s", i, rte_strerror(rte_errno));
		memset(huge[i], 0xa5, hsize[i]);
		/* Free every third huge one at once: their chunks come back
		 * for the next ones and for arena chunks. */
		if (i % 3 == 2) {
			dpm_free(huge[i]);
			huge[i] = NULL;
		}
	}
	z = zones_now();
	for (unsigned int k = 0; k < z.n; k++) {
		if (!z.headed[k])
			continue;
		for (int i = 0; i < N; i++)
			cr_assert(huge[i] == NULL || (uintptr_t)huge[i] != z.base[k],
				  "huge object %p over the header of a memzone", huge[i]);
		for (int i = 0; i < NONE; i++)
			cr_assert((uintptr_t)one[i] != z.base[k],
				  "huge object %p over the header of a memzone", one[i]);
	}
	for (int i = 0; i < NONE; i++)
		dpm_free(one[i]);
	for (int i = 0; i < N; i++) {
		if (huge[i] != NULL) {
			for (size_t b = 0; b < hsize[i]; b += 4096)
				cr_assert_eq(((uint8_t *)huge[i])[b], 0xa5);
			dpm_free(huge[i]);
		}
		dpm_free(small[i]);
	}
	dpm_tcache_flush();
	dpm_trim();
	/* Only metadata blocks (memzones too, never headed) stay. */
	cr_assert_eq(zones_now().nheaded, 0, "a headed memzone stayed");
	cr_assert_eq(itest_stats_total().spans, 0, "a span stayed");
	/* The heap still works. */
	void *r = rte_malloc(NULL, 3 * CHUNK, 0);

	cr_assert_not_null(r);
	rte_free(r);
}
