/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Bulk calls. dpm_free_bulk() frees each pointer as dpm_free() would, but
 * on an lcore it validates groups of pointers of one chunk and one class
 * together (one radix-tree look-up per chunk, one stack head per group):
 * these tests give it what breaks groups -- mixed classes, chunks, sockets
 * and arenas, large and huge objects, NULLs, foreign and interior pointers,
 * duplicates, more objects than a stack holds -- and check that every
 * valid object is freed once, everything else refused, and the statistics
 * exact. dpm_malloc_bulk() copies a stack that holds n out in one go; its
 * counts must match n pops.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(bulk);

static struct dpm_lcore_stats
lcore_stats(void)
{
	struct dpm_lcore_stats st;

	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &st), 0);
	return st;
}

/* Every tcache flushed: nothing live, no byte allocated. */
static void
assert_nothing_live(void)
{
	struct dpm_socket_stats t;

	itest_flush_all_tcaches();
	t = itest_stats_total();
	cr_assert_eq(t.nmalloc, t.nfree, "nmalloc %" PRIu64 " != nfree %" PRIu64, t.nmalloc, t.nfree);
	cr_assert_eq(t.bytes_allocated, 0, "%" PRIu64 " bytes still allocated", t.bytes_allocated);
}

/* n allocations of size that do not overlap any of the k live objects
 * (each of live_size bytes) and are not any of the k pointers. */
static void
assert_next_allocations_avoid(void *const *live, unsigned int k, size_t live_size, size_t size,
			      unsigned int n)
{
	void **p = calloc(n, sizeof(void *));

	cr_assert_not_null(p);
	for (unsigned int i = 0; i < n; i++) {
		p[i] = dpm_malloc(size);
		cr_assert_not_null(p[i]);
		for (unsigned int j = 0; j < k; j++)
			cr_assert(!itest_overlap(p[i], size, live[j], live_size),
				  "%p handed out over %p", p[i], live[j]);
	}
	for (unsigned int i = 0; i < n; i++)
		dpm_free(p[i]);
	free(p);
}

/* Objects live in the arenas' view once every tcache is flushed (the
 * socket counters count what reaches arenas). */
static int64_t
live_after_flush(void)
{
	itest_flush_all_tcaches();
	return itest_live_count();
}

/* A deterministic shuffle. */
static void
shuffle(void **p, unsigned int n, uint64_t seed)
{
	for (unsigned int i = n; i > 1; i--) {
		unsigned int j = (unsigned int)(dpm_test_rand(&seed) % i);
		void *t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
}

Test(bulk, free_bulk_of_mixed_classes_chunks_large_huge_and_nulls_frees_each_once)
{
	/* Interleaved small classes, runs of one class, objects of several
	 * chunks (3 KiB objects: 1500 fill more than two), large and huge
	 * ones, NULLs: every group boundary the bulk free has. */
	static const size_t sizes[] = { 16, 64, 64, 64, 100, 3000, 3000, 20000, 100000 };
	enum { N = 2000 };
	void **p = calloc(N, sizeof(void *));
	struct dpm_lcore_stats before, after;
	int64_t live;
	unsigned int i, nvalid = 0;

	cr_assert_not_null(p);
	for (i = 0; i < N; i++) {
		size_t size = i % 7 == 6 ? 3000 : sizes[(i * 7919u) % RTE_DIM(sizes)];

		if (i % 500 == 1)
			size = 5 * ITEST_MIB;
		p[i] = i % 13 == 5 ? NULL : dpm_malloc(size);
		if (p[i] != NULL) {
			dpm_test_fill(p[i], 16, i);
			nvalid++;
		}
	}
	shuffle(p, N / 2, 7);   /* the first half mixed, the second in order */
	live = live_after_flush();
	before = lcore_stats();
	rte_errno = 0;

	dpm_free_bulk(p, N);

	cr_assert_eq(rte_errno, 0, "a valid bulk free set rte_errno %d", rte_errno);
	after = lcore_stats();
	cr_assert_leq(after.nfree - before.nfree, nvalid);
	cr_assert_eq(live_after_flush(), live - nvalid, "%" PRId64 " objects freed, want %u",
		     live - itest_live_count(), nvalid);
	assert_nothing_live();
	free(p);
}

Test(bulk, free_bulk_refuses_foreign_pointers_and_frees_the_others)
{
	enum { N = 48 };
	void *p[N], *valid[N];
	uint64_t stack_word[2] = { 0, 0 };
	void *libc = malloc(64), *rte = rte_malloc(NULL, 64, 0);
	struct dpm_lcore_stats before;
	unsigned int i, k = 0;
	int64_t live;

	cr_assert_not_null(libc);
	cr_assert_not_null(rte);
	memset(libc, 0x11, 64);
	memset(rte, 0x22, 64);
	cr_assert_eq(dpm_malloc_bulk(valid, N, 64), N);
	/* Foreign pointers inside a run of valid ones of one class. */
	for (i = 0; i < N; i++) {
		if (i == 10)
			p[i] = libc;
		else if (i == 20)
			p[i] = rte;
		else if (i == 30)
			p[i] = &stack_word[0];
		else if (i == 40)
			p[i] = (void *)(uintptr_t)0x1000;
		else
			p[i] = valid[k++];
	}
	live = live_after_flush();
	before = lcore_stats();
	rte_errno = 0;

	dpm_free_bulk(p, N);

	cr_assert_eq(rte_errno, EINVAL, "a refused pointer leaves EINVAL");
	cr_assert_eq(lcore_stats().tcache_cached, before.tcache_cached + N - 4);
	/* None of them was pushed: the next allocations do not return them. */
	void *foreign[] = { libc, rte, &stack_word[0], (void *)(uintptr_t)0x1000 };

	assert_next_allocations_avoid(foreign, RTE_DIM(foreign), 64, 64, 2 * N);
	cr_assert_eq(live_after_flush(), live - (N - 4));
	for (i = 0; i < 64; i++) {
		cr_assert_eq(((uint8_t *)libc)[i], 0x11, "the libc object was written");
		cr_assert_eq(((uint8_t *)rte)[i], 0x22, "the rte_malloc object was written");
	}
	dpm_free_bulk(&valid[k], N - k);
	assert_nothing_live();
	free(libc);
	rte_free(rte);
}

/* Interior pointers of small objects are refused wherever they sit in a
 * group of their class and chunk, as are those of large and huge ones;
 * the objects stay live and intact. */
Test(bulk, free_bulk_refuses_interior_pointers_and_keeps_the_objects)
{
	enum { N = 40 };
	void *p[N + 4], *victims[4];
	size_t sizes[4] = { 64, 64, 100 * ITEST_KIB, 5 * ITEST_MIB };
	struct dpm_lcore_stats before;
	unsigned int i;
	int64_t live;

	cr_assert_eq(dpm_malloc_bulk(p, N, 64), N);
	for (i = 0; i < 4; i++) {
		victims[i] = dpm_malloc(sizes[i]);
		cr_assert_not_null(victims[i]);
		dpm_test_fill(victims[i], 64, 100 + i);
	}
	/* Offsets that are not multiples of 64 and one that is a multiple of
	 * 16 but not of the class (the region check, not an alignment test). */
	p[N] = (char *)victims[0] + 16;
	p[N + 1] = (char *)victims[1] + 48;
	p[N + 2] = (char *)victims[2] + ITEST_PAGE;
	p[N + 3] = (char *)victims[3] + ITEST_PAGE;
	/* Put the small interior pointers in the middle of the group. */
	RTE_SWAP(p[N], p[N / 3]);
	RTE_SWAP(p[N + 1], p[N / 2]);
	live = live_after_flush();
	before = lcore_stats();
	rte_errno = 0;

	dpm_free_bulk(p, N + 4);

	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(lcore_stats().tcache_cached, before.tcache_cached + N,
		     "%" PRIu64 " objects cached, want %u",
		     lcore_stats().tcache_cached - before.tcache_cached, N);
	/* Straight from the stack: no interior pointer comes out. */
	assert_next_allocations_avoid(victims, 2, 64, 64, 4 * N);
	cr_assert_eq(live_after_flush(), live - N, "%" PRId64 " freed, want %u",
		     live - itest_live_count(), N);
	for (i = 0; i < 4; i++) {
		cr_assert(dpm_owns(victims[i]));
		cr_assert_geq(dpm_usable_size(victims[i]), sizes[i], "object %u lost", i);
		cr_assert_eq(dpm_test_check(victims[i], 64, 100 + i), SIZE_MAX, "object %u damaged", i);
	}
	for (i = 0; i < 4; i++)
		dpm_free(victims[i]);
	assert_nothing_live();
}

/*
 * The same for every small class (the group loop has a power-of-two
 * version, a mask, and a general one, a multiply; and it reads the page
 * map only when a pointer leaves the page of the one before): a group of
 * the class's objects with interior pointers of live objects of the class
 * between them -- offsets 8 (no class's multiple), 16 and size - 16
 * (multiples of 16 that are not of the class), next to a neighbour in the
 * same page -- and a pointer into a page of another class or into a large
 * run in the middle. Every object is freed, every interior pointer
 * refused, and nothing refused is handed out (straight from the stack,
 * before a flush could refuse it).
 */
Test(bulk, free_bulk_refuses_interior_pointers_in_groups_of_every_small_class)
{
	enum { N = 24, V = 3 };

	/* The small classes: up to 14 KiB (the largest class below 16 KiB). */
	for (unsigned int cls = 0; dpm_class_size(cls) < 16 * ITEST_KIB; cls++) {
		size_t size = dpm_class_size(cls);
		void *p[N + V + 2], *q[2 * N], *victims[V], *other = dpm_malloc(size == 64 ? 96 : 64);
		void *large = dpm_malloc(40 * ITEST_KIB);
		unsigned int i, k = N;
		int64_t live;

		cr_assert(other != NULL && large != NULL);
		cr_assert_eq(dpm_malloc_bulk(p, N, size), N, "class %u (%zu B)", cls, size);
		for (i = 0; i < V; i++) {
			victims[i] = dpm_malloc(size);
			cr_assert_not_null(victims[i]);
			dpm_test_fill(victims[i], size, 7 + i);
		}
		p[k++] = (char *)victims[0] + 8;
		if (size > 16)
			p[k++] = (char *)victims[1] + 16;
		if (size > 32)
			p[k++] = (char *)victims[2] + size - 16;
		p[k++] = (char *)other + 16;        /* interior, another class */
		p[k++] = (char *)large + ITEST_PAGE; /* inside a large run */
		/* Spread them through the group, each after a real object. */
		for (unsigned int j = N; j < k; j++)
			RTE_SWAP(p[j], p[1 + (j - N) * (N / (k - N))]);
		live = live_after_flush();
		rte_errno = 0;

		dpm_free_bulk(p, k);

		cr_assert_eq(rte_errno, EINVAL, "class %u (%zu B)", cls, size);
		/* Straight from the stack: nothing refused comes out (one
		 * pass: a second one would find what the first freed). */
		for (i = 0; i < 2 * N; i++) {
			q[i] = dpm_malloc(size);
			cr_assert_not_null(q[i]);
			for (unsigned int j = 0; j < V; j++)
				cr_assert(!itest_overlap(q[i], size, victims[j], size),
					  "class %u: %p handed out over %p", cls, q[i], victims[j]);
			cr_assert(!itest_overlap(q[i], size, other, size == 64 ? 96 : 64),
				  "class %u: %p handed out over another class's %p", cls, q[i], other);
			cr_assert(!itest_overlap(q[i], size, large, 40 * ITEST_KIB),
				  "class %u: %p handed out over a large %p", cls, q[i], large);
		}
		for (i = 0; i < 2 * N; i++)
			dpm_free(q[i]);
		cr_assert_eq(live_after_flush(), live - N, "class %u (%zu B): %" PRId64 " freed, want %u",
			     cls, size, live - itest_live_count(), N);
		for (i = 0; i < V; i++) {
			cr_assert_eq(dpm_test_check(victims[i], size, 7 + i), SIZE_MAX,
				     "class %u (%zu B): object %u damaged", cls, size, i);
			dpm_free(victims[i]);
		}
		cr_assert(dpm_owns(other) && dpm_owns(large));
		dpm_free(other);
		dpm_free(large);
	}
	assert_nothing_live();
}

static int
cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * dpm_free_bulk() validates a group of pointers of one chunk and class
 * with what they share (the page-map word of the page of the one before):
 * whatever shortcut it takes, a pointer that is not one of the class's
 * region starts must end the group there. An odd pointer at every position
 * of a group, with the group in ascending, descending and shuffled order,
 * for every small class: refused when it is no object (interior, a large
 * run's inner page, a chunk's header, memory not ours); freed to its own
 * class when it is a live object of another class whose run lies between
 * two runs of the group (for a power-of-two class, one whose address is a
 * multiple of the class size, which only the page check tells apart).
 * Either way exactly the group's objects go on the class's stack: the next
 * allocations of the class hand out that set, and the other class's next
 * one that object. (Written for vector checks that were measured and not
 * kept; it failed with each of four faults put into them.)
 */
Test(bulk, free_bulk_takes_exactly_the_region_starts_at_every_position)
{
	static uint64_t foreign[64];
	int logtype = rte_log_register("lib.dpmalloc"), level = rte_log_get_level(logtype);

	/* Some 20000 refusals, each an ERR line: only failures are news. */
	rte_log_set_level(logtype, RTE_LOG_CRIT);
	for (unsigned int cls = 0; dpm_class_size(cls) < 16 * ITEST_KIB; cls++) {
		size_t size = dpm_class_size(cls);
		/* A stack holds at least 20 objects, and 64 of 1 KiB. */
		unsigned int n = size <= 1024 ? 64 : 16, half = n / 2;
		bool pow2 = (size & (size - 1)) == 0;
		size_t osize = pow2 && size <= 2048 ? 2 * size : dpm_class_size(cls + 1);
		void *a1[64], *b[64], *a2[64], *g[64], *sorted[64], *call[65], *q[64];
		void *large = dpm_malloc(40 * ITEST_KIB);
		void *odd[8];
		unsigned int nodd = 0, nrefused;

		cr_assert_not_null(large);
		/* Runs of the class, another class, the class: the group's
		 * pages on both sides of the other class's. */
		cr_assert_eq(dpm_malloc_bulk(a1, n, size), n);
		cr_assert_eq(dpm_malloc_bulk(b, n, osize), n);
		cr_assert_eq(dpm_malloc_bulk(a2, n, size), n);
		for (unsigned int i = 0; i < n; i++)
			dpm_test_fill(b[i], osize, 3 + i);
		for (unsigned int i = 0; i < half; i++) {
			g[i] = a1[i];
			g[half + i] = a2[i];
		}
		memcpy(sorted, g, sizeof(sorted));
		qsort(sorted, n, sizeof(void *), cmp_ptr);
		odd[nodd++] = (char *)a1[half] + 8;
		if (size > 32)
			odd[nodd++] = (char *)a2[half] + (size / 2 & ~(size_t)15);
		odd[nodd++] = (char *)large + ITEST_PAGE;
		odd[nodd++] = (void *)(((uintptr_t)a1[0] & ~(((uintptr_t)1 << DPM_LG_CHUNK) - 1)) + 64);
		odd[nodd++] = &foreign[8];
		nrefused = nodd;
		odd[nodd++] = b[0];
		odd[nodd++] = b[n / 2];

		for (unsigned int order = 0; order < 3; order++) {
			if (order == 0)
				qsort(g, n, sizeof(void *), cmp_ptr);
			else if (order == 1)
				for (unsigned int i = 0; i < n / 2; i++)
					RTE_SWAP(g[i], g[n - 1 - i]);
			else
				shuffle(g, n, cls + 1);
			for (unsigned int k = 0; k < nodd; k++) {
				for (unsigned int pos = 0; pos <= n; pos++) {
					unsigned int m = 0;

					for (unsigned int i = 0; i < n; i++) {
						if (i == pos)
							call[m++] = odd[k];
						call[m++] = g[i];
					}
					if (pos == n)
						call[m++] = odd[k];
					rte_errno = 0;
					dpm_free_bulk(call, m);
					if (k < nrefused) {
						cr_assert_eq(rte_errno, EINVAL, "class %u (%zu B), odd %u at %u: "
							     "not refused", cls, size, k, pos);
					} else {
						void *o = dpm_malloc(osize);

						cr_assert_eq(o, odd[k], "class %u (%zu B), %zu B object at %u: "
							     "not freed to its class (%p came)", cls, size,
							     osize, pos, o);
					}
					cr_assert_eq(dpm_malloc_bulk(q, n, size), n);
					qsort(q, n, sizeof(void *), cmp_ptr);
					for (unsigned int i = 0; i < n; i++)
						cr_assert_eq(q[i], sorted[i], "class %u (%zu B), order %u, odd %u "
							     "at %u: %p handed out where the group has %p", cls,
							     size, order, k, pos, q[i], sorted[i]);
				}
			}
		}
		for (unsigned int i = 0; i < n; i++) {
			cr_assert_eq(dpm_test_check(b[i], osize, 3 + i), SIZE_MAX,
				     "class %u: another class's object %u damaged", cls, i);
			dpm_free(b[i]);
			dpm_free(a1[i]);
			dpm_free(a2[i]);
		}
		dpm_free(large);
	}
	rte_log_set_level(logtype, (uint32_t)level);
	assert_nothing_live();
}

/* A pointer twice in one bulk call is a double free handled as dpm_free()
 * handles it (test_double_free.c): refused and counted once, at the
 * latest when the tcache is flushed, and the allocator stays consistent.
 * Small (cached twice, refused at the flush; in debug builds at once),
 * cached large (refused at once) and huge (refused as not owned). */
Test(bulk, duplicates_in_one_bulk_are_refused_as_double_frees)
{
	void *a = dpm_malloc(64), *b = dpm_malloc(64), *l = dpm_malloc(20 * ITEST_KIB);
	void *h = dpm_malloc(5 * ITEST_MIB);
	void *p[] = { a, b, a, l, h, l, h, b };
	uint64_t before = itest_stats_total().double_frees;

	cr_assert(a && b && l && h);
	dpm_free_bulk(p, RTE_DIM(p));
	dpm_tcache_flush();
	/* a, b and l twice: three double frees; h's second free finds no
	 * object (its chunk left the radix tree), refused uncounted. */
	cr_assert_eq(itest_stats_total().double_frees, before + 3, "%" PRIu64 " double frees counted, want 3",
		     itest_stats_total().double_frees - before);
	assert_nothing_live();
	/* Allocations are distinct afterwards. */
	void *q[64];

	cr_assert_eq(dpm_malloc_bulk(q, 64, 64), 64);
	for (unsigned int i = 0; i < 64; i++)
		for (unsigned int j = 0; j < i; j++)
			cr_assert_neq(q[i], q[j], "%p handed out twice", q[i]);
	dpm_free_bulk(q, 64);
	assert_nothing_live();
}

/* More objects than the class stack holds (1024 of 64 B): the bulk free
 * flushes as pushes would, and frees every object once. */
Test(bulk, free_bulk_of_more_than_a_stack_holds_frees_everything)
{
	enum { N = 3000 };
	void **p = calloc(N, sizeof(void *));
	struct dpm_lcore_stats before, after;

	cr_assert_not_null(p);
	dpm_free(dpm_malloc(64));
	itest_flush_all_tcaches();
	before = lcore_stats();
	cr_assert_eq(dpm_malloc_bulk(p, N, 64), N);
	for (unsigned int i = 0; i < N; i++)
		for (unsigned int j = i + 1; j < N && j < i + 8; j++)
			cr_assert_neq(p[i], p[j]);
	dpm_free_bulk(p, N);
	after = lcore_stats();
	cr_assert_eq(after.nmalloc - before.nmalloc, N);
	cr_assert_eq(after.nfree - before.nfree, N);
	cr_assert_geq(after.tcache_flushes, before.tcache_flushes + 1, "a full stack flushes");
	cr_assert_leq(after.tcache_cached, 1024);
	assert_nothing_live();
	free(p);
}

/* Counts after bulk calls are those of as many single calls: the copy out
 * of a stack that holds n, the fill path, and a free of a mix. */
Test(bulk, statistics_are_exact_after_bulk_calls)
{
	enum { N = 100 };
	void *p[N], *q[N];
	struct dpm_lcore_stats s0, s1, s2, s3;
	int64_t live0;

	dpm_free(dpm_malloc(128));
	live0 = live_after_flush();
	s0 = lcore_stats();
	cr_assert_eq(dpm_malloc_bulk(p, N, 128), N);        /* a fill */
	s1 = lcore_stats();
	cr_assert_eq(s1.nmalloc - s0.nmalloc, N);
	cr_assert_eq(s1.tcache_fills, s0.tcache_fills + 1);
	dpm_free_bulk(p, N);
	s2 = lcore_stats();
	cr_assert_eq(s2.nfree - s1.nfree, N);
	cr_assert_eq(s2.tcache_cached, s1.tcache_cached + N);
	cr_assert_eq(dpm_malloc_bulk(q, N, 128), N);        /* the copy out */
	s3 = lcore_stats();
	cr_assert_eq(s3.nmalloc - s2.nmalloc, N);
	cr_assert_eq(s3.nfree, s2.nfree);
	cr_assert_eq(s3.tcache_cached, s2.tcache_cached - N);
	cr_assert_eq(s3.tcache_fills, s2.tcache_fills, "the stack held them: no fill");
	/* Newest first, as pops hand them out. */
	for (unsigned int i = 0; i < N; i++)
		cr_assert_eq(q[i], p[N - 1 - i], "q[%u] %p, want %p", i, q[i], p[N - 1 - i]);
	/* A NULL entry counts nothing. */
	void *held = q[7];

	q[7] = NULL;
	dpm_free_bulk(q, N);
	cr_assert_eq(lcore_stats().nfree - s3.nfree, N - 1);
	cr_assert_eq(lcore_stats().tcache_cached, s3.tcache_cached + N - 1);
	cr_assert_eq(live_after_flush(), live0 + 1);
	dpm_free(held);
	assert_nothing_live();
}

/* ------------------------------------------------------------------------
 * Other arenas and sockets (simulated: anonymous memory labelled with
 * socket ids, lcore % 2 the socket of an lcore; see test/unit/test_numa.c).
 */

static int
lcore_mod2(unsigned int lcore)
{
	return (int)(lcore % 2);
}

struct lcore_alloc {
	void *p[64];
	size_t size;
	int socket;
};

static int
lcore_alloc_fn(void *arg)
{
	struct lcore_alloc *a = arg;

	for (unsigned int i = 0; i < RTE_DIM(a->p); i++) {
		a->p[i] = a->socket < 0 ? dpm_malloc(a->size) : dpm_malloc_socket(a->size, a->socket);
		if (a->p[i] == NULL)
			return -1;
	}
	return 0;
}

static void
alloc_on_lcore(unsigned int lcore, struct lcore_alloc *a)
{
	cr_assert_eq(rte_eal_remote_launch(lcore_alloc_fn, a, lcore), 0);
	cr_assert_eq(rte_eal_wait_lcore(lcore), 0, "allocation on lcore %u failed", lcore);
}

/* Objects another lcore's arena (same socket) owns go to the outbound
 * stack, never back out of this lcore's own: freed in bulk between this
 * lcore's own objects, they are not handed to its next allocations. */
Test(bulk, free_bulk_sends_another_arenas_objects_home_not_to_the_own_stack)
{
	struct lcore_alloc other = { .size = 64, .socket = -1 };
	void *own[64], *p[64];
	unsigned int lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);

	cr_assert(lcore < RTE_MAX_LCORE, "needs a worker lcore");
	alloc_on_lcore(lcore, &other);
	cr_assert_eq(dpm_malloc_bulk(own, 64, 64), 64);
	cr_assert_eq(dpm_socket_of(other.p[0]), dpm_socket_of(own[0]), "one socket");
	for (unsigned int i = 0; i < 32; i++) {
		p[2 * i] = own[i];
		p[2 * i + 1] = other.p[i];
	}
	dpm_free_bulk(p, 64);              /* interleaved */
	dpm_free_bulk(&own[32], 32);       /* own ones, then the others */
	dpm_free_bulk(&other.p[32], 32);
	assert_next_allocations_avoid(other.p, 64, 64, 64, 256);
	assert_nothing_live();
}

/* Another socket's memory freed in bulk goes home through the remote
 * buffer: counted as remote frees, freed once each, never reused here. */
Test(bulk, free_bulk_of_two_sockets_memory_frees_each_on_its_socket)
{
	struct dpm_config cfg;
	struct lcore_alloc far = { .size = 64, .socket = 1 }, far_large = { .size = 40000, .socket = 1 };
	void *near[64], *p[192];
	struct dpm_socket_stats s1_before, s1_after;
	struct dpm_lcore_stats before, after;
	unsigned int lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);

	dpm_config_defaults(&cfg);
	cfg.zone_source = DPM_ZONE_ANON;
	cfg.sim_sockets = 2;
	cfg.lcore_socket = lcore_mod2;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
	cr_assert_eq(lcore_mod2(rte_lcore_id()), 0, "the main lcore is on socket 0");
	alloc_on_lcore(lcore, &far);
	alloc_on_lcore(lcore, &far_large);
	cr_assert_eq(dpm_socket_of(far.p[0]), 1);
	cr_assert_eq(dpm_malloc_bulk(near, 64, 64), 64);
	for (unsigned int i = 0; i < 64; i++) {
		p[3 * i] = near[i];
		p[3 * i + 1] = far.p[i];
		p[3 * i + 2] = far_large.p[i];
	}
	itest_flush_all_tcaches();   /* lcore 1's leftovers go home first */
	cr_assert_eq(dpm_stats_socket(1, &s1_before), 0);
	before = lcore_stats();
	dpm_free_bulk(p, RTE_DIM(p));
	after = lcore_stats();
	cr_assert_eq(after.remote_frees - before.remote_frees, 128, "%" PRIu64 " remote frees",
		     after.remote_frees - before.remote_frees);
	assert_next_allocations_avoid(far.p, 64, 64, 64, 256);
	itest_flush_all_tcaches();
	cr_assert_eq(dpm_stats_socket(1, &s1_after), 0);
	cr_assert_eq(s1_after.nfree - s1_before.nfree, 128);
	cr_assert_eq(s1_after.remote_frees_in - s1_before.remote_frees_in, 128);
	assert_nothing_live();
	dpm_fini();
}

/* Bulk calls on a thread that is not an lcore (no tcache) and with the
 * tcache disabled take the locked path, with the same refusals. */
static int
plain_thread_bulk(void *arg)
{
	void *p[40], *libc = malloc(32);
	int64_t live = itest_live_count();

	RTE_SET_USED(arg);
	if (libc == NULL || dpm_malloc_bulk(p, 40, 96) != 40)
		return -1;
	RTE_SWAP(p[5], libc);
	p[6] = (char *)p[6] + 32;
	rte_errno = 0;
	dpm_free_bulk(p, 40);
	if (rte_errno != EINVAL || itest_live_count() != live + 2)
		return -2;
	dpm_free((char *)p[6] - 32);
	dpm_free(libc);   /* the dpmalloc object swapped out */
	free(p[5]);
	return itest_live_count() == live ? 0 : -3;
}

Test(bulk, free_bulk_on_a_plain_thread_validates_each_pointer)
{
	dpm_free(dpm_malloc(96));
	cr_assert_eq(dpm_test_run_on_pthread(plain_thread_bulk, NULL), 0);
	assert_nothing_live();
}

Test(bulk, free_bulk_without_tcache_validates_each_pointer)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.tcache_enable = false;
	cr_assert_eq(dpm_init(&cfg), 0);
	cr_assert_eq(plain_thread_bulk(NULL), 0);
	dpm_fini();
}
