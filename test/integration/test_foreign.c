/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Pointers dpmalloc did not hand out (the stack, the libc heap, rte_malloc,
 * the inside of an object) are recognised and refused: dpm_owns() says no
 * (or, for an interior pointer, says it lies in dpmalloc's memory), and
 * dpm_free() and dpm_free_sized() change nothing. A double free on the
 * arena path is caught. No free trusts bytes the user could have written.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(foreign);

/* Everything a refused free must leave as it was. */
struct state {
	struct dpm_socket_stats total;
	struct dpm_lcore_stats lcore;
};

static struct state
state_now(void)
{
	struct state s;

	s.total = itest_stats_total();
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &s.lcore), 0);
	return s;
}

static void
assert_state_unchanged(const struct state *before)
{
	struct state after = state_now();

	cr_assert_eq(after.total.nmalloc, before->total.nmalloc);
	cr_assert_eq(after.total.nfree, before->total.nfree,
		"nfree went from %" PRIu64 " to %" PRIu64,
		before->total.nfree, after.total.nfree);
	cr_assert_eq(after.total.bytes_allocated, before->total.bytes_allocated);
	cr_assert_eq(after.total.chunks_used, before->total.chunks_used);
	cr_assert_eq(after.lcore.nfree, before->lcore.nfree);
	cr_assert_eq(after.lcore.tcache_cached, before->lcore.tcache_cached);
}

/* The next allocations work and do not overlap the still-live object. */
static void
assert_allocations_still_fine(const void *live, size_t live_size)
{
	enum { N = 32 };
	void *p[N];
	unsigned int i;

	for (i = 0; i < N; i++) {
		p[i] = dpm_malloc(live_size);
		cr_assert_not_null(p[i]);
		if (live != NULL)
			cr_assert(!itest_overlap(p[i], live_size, live, live_size),
				"%p handed out while %p is live", p[i], live);
		dpm_test_fill(p[i], live_size, i);
	}
	for (i = 0; i < N; i++) {
		cr_assert_eq(dpm_test_check(p[i], live_size, i), SIZE_MAX);
		dpm_free(p[i]);
	}
}

/* Initialise dpmalloc and give the main lcore some history. */
static void
warm_up(void)
{
	void *p[10];
	unsigned int i;

	for (i = 0; i < RTE_DIM(p); i++)
		p[i] = dpm_malloc(64 << i);
	for (i = 0; i < RTE_DIM(p); i++)
		dpm_free(p[i]);
}

Test(foreign, owns_refuses_stack_libc_and_rte_malloc_pointers)
{
	uint64_t on_stack[4];
	void *libc = malloc(256);
	void *rte = rte_malloc(NULL, 256, 0);

	warm_up();
	cr_assert_not_null(libc);
	cr_assert_not_null(rte);
	cr_assert_not(dpm_owns(on_stack));
	cr_assert_not(dpm_owns(libc));
	cr_assert_not(dpm_owns(rte));
	cr_assert_not(dpm_owns(NULL));
	free(libc);
	rte_free(rte);
}

Test(foreign, owns_accepts_objects_and_their_interiors)
{
	const size_t sizes[] = { 40, 9000, 200000, 6 * ITEST_MIB };
	unsigned int i;

	for (i = 0; i < RTE_DIM(sizes); i++) {
		uint8_t *p = dpm_malloc(sizes[i]);

		cr_assert_not_null(p);
		cr_assert(dpm_owns(p));
		cr_assert(dpm_owns(p + sizes[i] / 2), "interior of malloc(%zu)", sizes[i]);
		cr_assert(dpm_owns(p + sizes[i] - 1));
		dpm_free(p);
	}
}

Test(foreign, free_of_a_stack_pointer_is_refused)
{
	uint64_t on_stack[32];
	struct state before;
	unsigned int i;

	warm_up();
	for (i = 0; i < RTE_DIM(on_stack); i++)
		on_stack[i] = i;
	before = state_now();
	dpm_free(on_stack);
	dpm_free(&on_stack[4]);
	assert_state_unchanged(&before);
	for (i = 0; i < RTE_DIM(on_stack); i++)
		cr_assert_eq(on_stack[i], i, "the stack was written");
	assert_allocations_still_fine(NULL, 256);
}

Test(foreign, free_of_a_libc_heap_pointer_is_refused)
{
	uint8_t *libc = malloc(4096);
	struct state before;

	cr_assert_not_null(libc);
	warm_up();
	dpm_test_fill(libc, 4096, 3);
	before = state_now();
	dpm_free(libc);
	dpm_free(libc + 64);
	assert_state_unchanged(&before);
	cr_assert_eq(dpm_test_check(libc, 4096, 3), SIZE_MAX);
	assert_allocations_still_fine(NULL, 4096);
	free(libc);
}

Test(foreign, free_of_an_rte_malloc_pointer_is_refused)
{
	uint8_t *rte = rte_malloc(NULL, 100000, 64);
	struct state before;

	cr_assert_not_null(rte);
	warm_up();
	dpm_test_fill(rte, 100000, 4);
	before = state_now();
	dpm_free(rte);
	assert_state_unchanged(&before);
	cr_assert_eq(dpm_test_check(rte, 100000, 4), SIZE_MAX);
	assert_allocations_still_fine(NULL, 100000);
	rte_free(rte);
}

static void
check_interior_free_is_refused(size_t size, size_t offset)
{
	uint8_t *p = dpm_malloc(size);
	size_t usable;
	struct state before;

	cr_assert_not_null(p);
	usable = dpm_usable_size(p);
	dpm_test_fill(p, size, size);
	before = state_now();
	dpm_free(p + offset);
	assert_state_unchanged(&before);
	cr_assert(dpm_owns(p));
	cr_assert_eq(dpm_usable_size(p), usable);
	cr_assert_eq(dpm_test_check(p, size, size), SIZE_MAX,
		"free(p + %zu) of a %zu-byte object damaged it", offset, size);
	assert_allocations_still_fine(p, size);
	dpm_free(p);
}

Test(foreign, free_of_an_interior_pointer_of_a_small_object_is_refused)
{
	warm_up();
	check_interior_free_is_refused(256, 8);
	check_interior_free_is_refused(256, 128);
	check_interior_free_is_refused(3000, 1000);
}

Test(foreign, free_of_an_interior_pointer_of_a_large_object_is_refused)
{
	warm_up();
	check_interior_free_is_refused(100 * ITEST_KIB, ITEST_PAGE);
	check_interior_free_is_refused(100 * ITEST_KIB, 24);
}

Test(foreign, free_of_an_interior_pointer_of_a_huge_object_is_refused)
{
	warm_up();
	check_interior_free_is_refused(5 * ITEST_MIB, ITEST_CHUNK);
	check_interior_free_is_refused(5 * ITEST_MIB, 4096);
}

/* A live object's address with bits above the 48-bit address space set
 * (the inline free masks the radix tree's root index instead of checking
 * its range: such a pointer reads the object's own leaf entry, and must
 * still be refused). */
static void
check_high_bits_free_is_refused(size_t size, uintptr_t high, bool sized)
{
	uint8_t *p = dpm_malloc(size);
	struct state before;
	void *q;

	cr_assert_not_null(p);
	q = (void *)((uintptr_t)p | high);
	dpm_test_fill(p, size, 7);
	before = state_now();
	rte_errno = 0;
	if (sized)
		dpm_free_sized(q, size);
	else
		dpm_free(q);
	cr_assert_eq(rte_errno, EINVAL, "free(%p) of %zu bytes was not refused", q, size);
	assert_state_unchanged(&before);
	cr_assert_eq(dpm_test_check(p, size, 7), SIZE_MAX);
	assert_allocations_still_fine(p, size);
	dpm_free(p);
}

Test(foreign, free_of_an_object_address_with_bits_above_48_is_refused)
{
	const uintptr_t highs[] = { (uintptr_t)1 << 48, (uintptr_t)1 << 56, (uintptr_t)1 << 63 };
	const size_t sizes[] = { 64, 3000, 16 * ITEST_KIB, 100 * ITEST_KIB };

	warm_up();
	for (unsigned int i = 0; i < RTE_DIM(highs); i++)
		for (unsigned int j = 0; j < RTE_DIM(sizes); j++) {
			check_high_bits_free_is_refused(sizes[j], highs[i], false);
			check_high_bits_free_is_refused(sizes[j], highs[i], true);
		}
}

/* dpm_free_sized() of an interior pointer is refused as dpm_free() refuses
 * it, even when the pointer's page holds regions of the size's class (the
 * sized path once cached it and handed it out over the live object). */
static void
check_interior_sized_free_is_refused(size_t size, size_t offset)
{
	uint8_t *p = dpm_malloc(size);
	struct state before;

	cr_assert_not_null(p);
	dpm_test_fill(p, size, size);
	before = state_now();
	rte_errno = 0;
	dpm_free_sized(p + offset, size);
	cr_assert_eq(rte_errno, EINVAL, "free_sized(p + %zu, %zu) was not refused", offset, size);
	assert_state_unchanged(&before);
	cr_assert_eq(dpm_test_check(p, size, size), SIZE_MAX);
	assert_allocations_still_fine(p, size);
	dpm_free_sized(p, size);
}

Test(foreign, sized_free_of_an_interior_pointer_is_refused)
{
	warm_up();
	check_interior_sized_free_is_refused(64, 16);
	check_interior_sized_free_is_refused(256, 128);
	check_interior_sized_free_is_refused(3000, 1000);
}

/*
 * A chunk-aligned huge object starts where an arena chunk keeps its header.
 * Its first bytes are the user's: written here to look like a header of
 * the caller's socket whose page 0 holds small regions of the size's class
 * (the socket at bytes 28-31, the page map word of page 0 at 64-67).
 * dpm_free_sized(p, 100) must free the huge object, not cache it as a
 * 112-byte region for the next dpm_malloc(100).
 */
Test(foreign, sized_free_of_a_chunk_aligned_huge_object_trusts_no_user_bytes)
{
	struct dpm_lcore_stats ls;
	unsigned int cls = 0;
	uint64_t chunks;
	void *q[32];
	uint8_t *p;

	warm_up();
	while (dpm_class_size(cls) < 100)
		cls++;
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);
	/* a small run's first page, region 0 */
	p = itest_forged_huge(100, ls.socket_id, 3u | (cls << 3));
	chunks = itest_stats_total().chunks_used;

	dpm_free_sized(p, 100);
	cr_assert_eq(itest_stats_total().chunks_used, chunks - 1, "the huge object was not freed");
	for (unsigned int i = 0; i < RTE_DIM(q); i++) {
		q[i] = dpm_malloc(100);
		cr_assert_not_null(q[i]);
		cr_assert(!itest_overlap(q[i], 100, p, ITEST_CHUNK),
			  "%p handed out from the freed huge object at %p", q[i], (void *)p);
	}
	for (unsigned int i = 0; i < RTE_DIM(q); i++)
		dpm_free(q[i]);
}

Test(foreign, usable_size_of_a_foreign_pointer_is_zero_with_einval)
{
	uint64_t on_stack[2];
	void *libc = malloc(64);

	warm_up();
	rte_errno = 0;
	cr_assert_eq(dpm_usable_size(on_stack), 0);
	cr_assert_eq(rte_errno, EINVAL);
	rte_errno = 0;
	cr_assert_eq(dpm_usable_size(libc), 0);
	cr_assert_eq(rte_errno, EINVAL);
	free(libc);
}

Test(foreign, socket_of_a_foreign_pointer_is_minus_one_with_einval)
{
	uint64_t on_stack[2];

	warm_up();
	rte_errno = 0;
	cr_assert_eq(dpm_socket_of(on_stack), -1);
	cr_assert_eq(rte_errno, EINVAL);
}

Test(foreign, virt2iova_of_a_foreign_pointer_is_bad_iova_with_einval)
{
	uint64_t on_stack[2];
	void *rte = rte_malloc(NULL, 64, 0);

	warm_up();
	rte_errno = 0;
	cr_assert_eq(dpm_virt2iova(on_stack), RTE_BAD_IOVA);
	cr_assert_eq(rte_errno, EINVAL);
	rte_errno = 0;
	cr_assert_eq(dpm_virt2iova(rte), RTE_BAD_IOVA);
	cr_assert_eq(rte_errno, EINVAL);
	rte_free(rte);
}

struct double_free {
	void *first, *second;
	uint64_t nfree_delta;
};

/* On a plain thread (the arena path): free an object twice, then allocate
 * two objects of its size. */
static int
free_twice_then_malloc_twice(void *arg)
{
	struct double_free *d = arg;
	void *keep = dpm_malloc(128);
	void *p = dpm_malloc(128);
	struct dpm_socket_stats before, after;

	if (keep == NULL || p == NULL)
		return -1;
	before = itest_stats_total();
	dpm_free(p);
	dpm_free(p);
	after = itest_stats_total();
	d->nfree_delta = after.nfree - before.nfree;
	d->first = dpm_malloc(128);
	d->second = dpm_malloc(128);
	if (d->first == NULL || d->second == NULL)
		return -1;
	dpm_free(d->first);
	dpm_free(d->second);
	dpm_free(keep);
	return 0;
}

Test(foreign, double_free_on_the_arena_path_is_refused)
{
	struct double_free d = { 0 };

	cr_assert_eq(dpm_test_run_on_pthread(free_twice_then_malloc_twice, &d), 0);
	cr_assert_eq(d.nfree_delta, 1, "two frees of one object counted %" PRIu64,
		d.nfree_delta);
	cr_assert_neq(d.first, d.second, "one region handed out twice after a double free");
}
