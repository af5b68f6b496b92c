/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Every size is served: for each allocating call, at every class boundary
 * +-1 and across +-4096 bytes around each boundary between kinds (small /
 * large, large / huge, 1 / 2 / 3 chunks), the object exists, has the usable
 * size its class or its chunks give, is aligned, writable end to end, and
 * owned. E2BIG is only for sizes no socket could ever hold.
 *
 * Sweeps are exact (step 1) where an operation is cheap; calls that write
 * the whole object (zeroing, realloc copies) step through the window with
 * an odd stride, and always take every boundary and its neighbours.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(sizes);

#define SWEEP 4096
#define SMALL_MAX ((size_t)14336)

/* The sizes to try: every class size -1, +0, +1, then every size within
 * SWEEP of each boundary between kinds, stepping by stride (1: all). */
struct size_list {
	size_t *v;
	size_t n, cap;
};

static void
size_list_add(struct size_list *l, size_t s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		cr_assert_not_null(l->v);
	}
	l->v[l->n++] = s;
}

static struct size_list
sizes_to_try(size_t stride)
{
	const size_t kind_bounds[] = { SMALL_MAX, itest_largest_class(),
		ITEST_CHUNK, 2 * ITEST_CHUNK, 3 * ITEST_CHUNK };
	struct size_list l = { 0 };
	unsigned int i, n = dpm_class_count();
	size_t s;

	size_list_add(&l, 0);
	for (i = 0; i < n; i++) {
		size_list_add(&l, dpm_class_size(i) - 1);
		size_list_add(&l, dpm_class_size(i));
		size_list_add(&l, dpm_class_size(i) + 1);
	}
	for (i = 0; i < RTE_DIM(kind_bounds); i++) {
		size_t b = kind_bounds[i];

		for (s = b - SWEEP; s <= b + SWEEP; s += stride)
			size_list_add(&l, s);
		/* the boundary and its neighbours, whatever the stride */
		size_list_add(&l, b - 1);
		size_list_add(&l, b);
		size_list_add(&l, b + 1);
	}
	return l;
}

/* The alignment every object of n bytes has: its class's, or a chunk. */
static size_t
natural_alignment(size_t n)
{
	return itest_natural_alignment(n == 0 ? 1 : n);
}

/*
 * The usable size an object of n bytes at alignment align must have: the
 * smallest class that holds n and, up to a page, has that alignment by
 * nature; whole chunks beyond the classes or from the chunk alignment on.
 * Above a page a large run is trimmed to the alignment: its class is the
 * one of n (at least the first large class) as long as the trimmed run
 * surely fits a chunk; beyond that, either that class or whole chunks.
 * *alt receives the second acceptable answer (0: none).
 */
static size_t
expected_usable(size_t n, size_t align, size_t *alt)
{
	size_t want = n == 0 ? 1 : n, chunks = RTE_ALIGN_CEIL(want, ITEST_CHUNK);
	unsigned int i, count = dpm_class_count();

	*alt = 0;
	if (align >= ITEST_CHUNK)
		return chunks;
	if (align > ITEST_PAGE) {
		size_t c = itest_class_of(RTE_MAX(want, SMALL_MAX + 1));

		if (c == 0)
			return chunks;
		if (c + align - ITEST_PAGE > itest_largest_class())
			*alt = chunks;
		return c;
	}
	for (i = 0; i < count; i++) {
		size_t c = dpm_class_size(i);
		size_t nat = RTE_MIN(c & -c, ITEST_PAGE);

		if (c >= want && nat >= align)
			return c;
	}
	return chunks;
}

/* Everything an object of n bytes asked for at align must satisfy. */
static void
check_object(const char *what, void *p, size_t n, size_t align)
{
	size_t usable, want, alt;
	uint8_t *b = p;

	cr_assert_not_null(p, "%s(%zu) align %zu failed: %s", what, n, align,
		rte_strerror(rte_errno));
	usable = dpm_usable_size(p);
	want = expected_usable(n, align, &alt);
	cr_assert(usable == want || (alt != 0 && usable == alt),
		"%s(%zu) align %zu: usable size %zu, want %zu", what, n, align,
		usable, want);
	cr_assert_eq((uintptr_t)p % align, 0, "%s(%zu) = %p not aligned to %zu",
		what, n, p, align);
	cr_assert_eq((uintptr_t)p % RTE_MIN(natural_alignment(n), usable & -usable), 0,
		"%s(%zu) = %p not aligned to its class", what, n, p);
	cr_assert(dpm_owns(p) && dpm_owns(b + usable - 1),
		"%s(%zu): dpmalloc does not own all of %p..+%zu", what, n, p, usable);
	b[0] = 0x5a;
	b[usable - 1] = 0xa5;
	if (n > 0)
		b[n - 1] = 0x3c;
	cr_assert(b[0] == (n == 1 ? 0x3c : 0x5a) && b[usable - 1] == (n == usable ? 0x3c : 0xa5),
		"%s(%zu): the object's ends do not keep what was written", what, n);
}

static size_t
first_nonzero_at_ends(const uint8_t *p, size_t n)
{
	size_t w = RTE_MIN(n, (size_t)4096);

	if (dpm_test_first_nonzero(p, w) != SIZE_MAX)
		return dpm_test_first_nonzero(p, w);
	if (dpm_test_first_nonzero(p + n - w, w) != SIZE_MAX)
		return n - w + dpm_test_first_nonzero(p + n - w, w);
	return SIZE_MAX;
}

/* Dirty the memory a zeroing call of n bytes may get back next. */
static void
dirty(size_t n)
{
	void *p = dpm_malloc(n);

	cr_assert_not_null(p);
	memset(p, 0xee, dpm_usable_size(p));
	dpm_free(p);
}

Test(sizes, malloc_and_malloc_socket_serve_every_size_around_every_boundary)
{
	struct size_list l = sizes_to_try(1);

	for (size_t i = 0; i < l.n; i++) {
		void *p = dpm_malloc(l.v[i]);

		check_object("malloc", p, l.v[i], 16);
		dpm_free(p);
		p = dpm_malloc_socket(l.v[i], SOCKET_ID_ANY);
		check_object("malloc_socket", p, l.v[i], 16);
		dpm_free(p);
	}
	free(l.v);
}

Test(sizes, zmalloc_and_calloc_serve_and_zero_every_size_around_every_boundary)
{
	struct size_list l = sizes_to_try(17);

	for (size_t i = 0; i < l.n; i++) {
		size_t n = l.v[i];
		void *p;

		dirty(n);
		p = dpm_zmalloc(n);
		cr_assert_not_null(p, "zmalloc(%zu): %s", n, rte_strerror(rte_errno));
		cr_assert_eq(first_nonzero_at_ends(p, n), SIZE_MAX, "zmalloc(%zu) not zeroed", n);
		check_object("zmalloc", p, n, 16);
		dpm_free(p);

		dirty(n);
		/* an odd element count where the size allows one */
		p = n % 3 == 0 ? dpm_calloc(3, n / 3) : dpm_calloc(n, 1);
		cr_assert_not_null(p, "calloc(%zu): %s", n, rte_strerror(rte_errno));
		cr_assert_eq(first_nonzero_at_ends(p, n), SIZE_MAX, "calloc(%zu) not zeroed", n);
		check_object("calloc", p, n, 16);
		dpm_free(p);
	}
	free(l.v);
}

/* Fill / check the first and last 4 KiB of n bytes (all of them if that
 * is no more than 8 KiB). */
#define ENDS ((size_t)4096)

static void
fill_ends(void *p, size_t n, uint64_t seed)
{
	if (n <= 2 * ENDS) {
		dpm_test_fill(p, n, seed);
		return;
	}
	dpm_test_fill(p, ENDS, seed);
	dpm_test_fill((uint8_t *)p + n - ENDS, ENDS, seed + 1);
}

static bool
ends_kept(const void *p, size_t n, uint64_t seed)
{
	if (n <= 2 * ENDS)
		return dpm_test_check(p, n, seed) == SIZE_MAX;
	return dpm_test_check(p, ENDS, seed) == SIZE_MAX &&
		dpm_test_check((const uint8_t *)p + n - ENDS, ENDS, seed + 1) == SIZE_MAX;
}

/* Grow and shrink into every size of the list from one object of each
 * kind: small, large, the largest class, huge of one and of two chunks. */
Test(sizes, realloc_grows_and_shrinks_across_kinds_keeping_the_contents)
{
	const size_t from[] = { 1, 100, SMALL_MAX, SMALL_MAX + 1, 300000,
		itest_largest_class(), itest_largest_class() + 1, ITEST_CHUNK + 1 };
	struct size_list l = sizes_to_try(31);

	for (unsigned int f = 0; f < RTE_DIM(from); f++) {
		for (size_t i = 0; i < l.n; i++) {
			size_t n = l.v[i], keep, old_usable;
			void *p, *q;

			if (n == 0)
				continue;   /* realloc(p, 0) frees: tested elsewhere */
			p = dpm_malloc(from[f]);
			cr_assert_not_null(p);
			old_usable = dpm_usable_size(p);
			keep = RTE_MIN(from[f], n);
			fill_ends(p, keep, f * 100 + i);
			q = dpm_realloc(p, n);
			cr_assert_not_null(q, "realloc(%zu -> %zu): %s", from[f], n,
				rte_strerror(rte_errno));
			cr_assert(ends_kept(q, keep, f * 100 + i),
				"realloc(%zu -> %zu) lost contents", from[f], n);
			/* an object kept in place may keep a bigger class */
			if (q != p || dpm_usable_size(q) != old_usable)
				check_object("realloc", q, n, 16);
			cr_assert_geq(dpm_usable_size(q), n);
			dpm_free(q);
		}
	}
	free(l.v);
}

/* Every power of two from 16 bytes to 4 chunks. */
#define ALIGN_MIN ((size_t)16)
#define ALIGN_MAX (4 * ITEST_CHUNK)

/* Every size of the list at every alignment; and just past the largest
 * class, for alignments below a page (the window that used to fail with
 * E2BIG), every size. */
Test(sizes, aligned_alloc_serves_every_size_at_every_alignment)
{
	struct size_list l = sizes_to_try(7);
	size_t last = itest_largest_class();

	for (size_t align = ALIGN_MIN; align <= ALIGN_MAX; align *= 2) {
		for (size_t i = 0; i < l.n; i++) {
			void *p = dpm_aligned_alloc(align, l.v[i]);

			check_object("aligned_alloc", p, l.v[i], align);
			dpm_free(p);
		}
		for (size_t n = last - 16; align <= ITEST_PAGE && n <= last + ITEST_PAGE + 16; n++) {
			void *p = dpm_aligned_alloc(align, n);

			check_object("aligned_alloc", p, n, align);
			dpm_free(p);
		}
	}
	free(l.v);
}

Test(sizes, aligned_alloc_of_size_zero_gives_a_minimal_object_at_every_alignment)
{
	for (size_t align = ALIGN_MIN; align <= ALIGN_MAX; align *= 2) {
		void *p = dpm_aligned_alloc(align, 0);
		size_t alt;

		check_object("aligned_alloc", p, 0, align);
		cr_assert_eq(dpm_usable_size(p), expected_usable(0, align, &alt));
		dpm_free(p);
	}
}

Test(sizes, free_sized_frees_every_size_around_every_boundary)
{
	struct size_list l = sizes_to_try(1);
	struct dpm_socket_stats before, after;

	dpm_free(dpm_malloc(1));
	itest_flush_all_tcaches();
	before = itest_stats_total();
	for (size_t i = 0; i < l.n; i++) {
		void *p = dpm_malloc(l.v[i]);

		check_object("malloc", p, l.v[i], 16);
		rte_errno = 0;
		dpm_free_sized(p, l.v[i]);
		cr_assert_eq(rte_errno, 0, "free_sized(%p, %zu) refused", p, l.v[i]);
	}
	itest_flush_all_tcaches();
	after = itest_stats_total();
	cr_assert_eq(after.nmalloc - after.nfree, before.nmalloc - before.nfree,
		"free_sized left objects allocated");
	cr_assert_eq(after.bytes_allocated, before.bytes_allocated);
	free(l.v);
}

Test(sizes, e2big_is_only_for_sizes_no_socket_could_hold)
{
	const size_t impossible[] = { SIZE_MAX, SIZE_MAX - ITEST_CHUNK, (size_t)1 << 62,
		(size_t)1 << 48 };
	unsigned int i;

	for (i = 0; i < RTE_DIM(impossible); i++) {
		rte_errno = 0;
		cr_assert_null(dpm_malloc(impossible[i]));
		cr_assert_eq(rte_errno, E2BIG, "malloc(%#zx): %d", impossible[i], rte_errno);
		rte_errno = 0;
		cr_assert_null(dpm_aligned_alloc(ITEST_CHUNK, impossible[i]));
		cr_assert_eq(rte_errno, E2BIG, "aligned_alloc(%#zx): %d", impossible[i], rte_errno);
	}
	/* an alignment no socket could honour is too big as well */
	rte_errno = 0;
	/* volatile: an alloc_align constant this large draws a warning */
	volatile size_t huge_align = (size_t)1 << 62;
	cr_assert_null(dpm_aligned_alloc(huge_align, 64));
	cr_assert_eq(rte_errno, E2BIG);
}
