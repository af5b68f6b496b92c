/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/* Spans and free chunks of a socket, on the anonymous zone source (spans
 * are mapped but never touched, so a 16 GiB footprint costs nothing). */

#include <string.h>

#include <criterion/criterion.h>

#include "base.h"
#include "chunk.h"
#include "dpm_private.h"
#include "zone.h"

static struct chunk_config cfg;

/* dpm_config_defaults()' span settings. */
static void chunk_config_defaults(struct chunk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->first_span_size = (size_t)2 << 20;
	c->max_span_size = (size_t)1 << 30;
	c->span_decay_ms = 5000;
}

static void setup(void)
{
	chunk_config_defaults(&cfg);
	cfg.span_decay_ms = 0;
	cfg.first_span_size = (size_t)32 << 20;   /* room for several chunks per span */
	zone_select(&zone_anon_ops);
	chunk_boot(&cfg);
}

static void teardown(void)
{
	chunk_fini();
	base_fini();
}

TestSuite(chunk, .init = setup, .fini = teardown);

Test(chunk, a_freed_chunk_is_reused_at_the_lowest_address)
{
	void *a = chunk_alloc(0, 1, DPM_CHUNK, false);
	void *b = chunk_alloc(0, 1, DPM_CHUNK, false);

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_eq(((uintptr_t)a | (uintptr_t)b) & DPM_CHUNK_MASK, 0, "chunks must be aligned");
	cr_assert_eq((uintptr_t)b, (uintptr_t)a + DPM_CHUNK, "lowest fit first");
	chunk_dealloc(0, a, 1);
	cr_assert_eq(chunk_alloc(0, 1, DPM_CHUNK, false), a);
}

Test(chunk, chunks_of_different_spans_never_coalesce)
{
	struct chunk_socket_stats st;
	size_t first = cfg.first_span_size / DPM_CHUNK;
	void *a = chunk_alloc(0, first, DPM_CHUNK, true);      /* fills span 1 */
	void *b = chunk_alloc(0, first, DPM_CHUNK, true);      /* a second span */

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	chunk_dealloc(0, a, first);
	chunk_dealloc(0, b, first);
	/* even if the two zones happen to be adjacent, a request for both
	 * must take a new span: spans come and go whole */
	void *c = chunk_alloc(0, 2 * first, DPM_CHUNK, true);

	cr_assert_not_null(c);
	cr_assert(c != a && c != b);
	chunk_stats(0, &st);
	cr_assert_eq(st.spans, 3);
}

Test(chunk, adjacent_free_chunks_coalesce_for_a_multi_chunk_request)
{
	void *c[4];

	/* The span's first chunk, which only arena chunks take. */
	cr_assert_not_null(chunk_alloc(0, 1, DPM_CHUNK, false));
	for (int i = 0; i < 4; i++)
		c[i] = chunk_alloc(0, 1, DPM_CHUNK, false);
	void *after = chunk_alloc(0, 1, DPM_CHUNK, false);
	chunk_dealloc(0, c[1], 1);
	chunk_dealloc(0, c[2], 1);
	chunk_dealloc(0, c[0], 1);
	/* Three free neighbours serve three chunks from the first one. */
	cr_assert_eq(chunk_alloc(0, 3, DPM_CHUNK, true), c[0]);
	cr_assert_neq(after, NULL);
}

Test(chunk, aligned_multi_chunk_requests_are_aligned)
{
	void *p = chunk_alloc(0, 2, 8 * DPM_CHUNK, true);

	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p & (8 * DPM_CHUNK - 1), 0);
}

Test(chunk, a_16_gib_footprint_takes_well_under_100_spans)
{
	struct chunk_socket_stats st;
	size_t total = 0;

	/* with the default span sizes */
	chunk_fini();
	chunk_config_defaults(&cfg);
	chunk_boot(&cfg);

	while (total < ((size_t)16 << 30)) {
		cr_assert_not_null(chunk_alloc(0, 64, DPM_CHUNK, true), "at %zu MiB", total >> 20);
		total += 64 * DPM_CHUNK;
	}
	chunk_stats(0, &st);
	cr_assert_lt(st.spans, 100, "%lu spans for 16 GiB", st.spans);
	/* Policy changed with the footprint work: spans grow by an eighth of
	 * the footprint (they grew by half), so growth slack stays under an
	 * eighth of what is used, plus the last request. */
	cr_assert_leq(st.bytes_reserved, total + total / 8 + 64 * DPM_CHUNK, "%lu MiB for %zu MiB in %lu spans", st.bytes_reserved >> 20, total >> 20, st.spans);
	cr_assert_geq(st.bytes_reserved, total);
}

Test(chunk, a_new_span_grows_the_footprint_by_an_eighth)
{
	struct chunk_socket_stats before, after;
	int checked = 0;

	/* Single chunks until two spans were reserved past 256 MiB (where
	 * the footprint stops doubling): each must be an eighth of it. */
	for (int i = 0; i < 4096 && checked < 2; i++) {
		chunk_stats(0, &before);
		cr_assert_not_null(chunk_alloc(0, 1, DPM_CHUNK, false));
		chunk_stats(0, &after);
		if (after.spans == before.spans || before.bytes_reserved < ((size_t)256 << 20))
			continue;
		cr_assert_eq(before.chunks_used * DPM_CHUNK, before.bytes_reserved, "spans were full");
		cr_assert_eq(after.bytes_reserved - before.bytes_reserved,
			     DPM_ALIGN_UP(before.bytes_reserved / 8, DPM_CHUNK),
			     "new span of %lu bytes for a footprint of %lu",
			     after.bytes_reserved - before.bytes_reserved, before.bytes_reserved);
		checked++;
	}
	cr_assert_eq(checked, 2);
}

/* 16 chunks in one span, then the listed ones freed again. */
static void make_holes(void *c[16], const int *freed, size_t n)
{
	for (int i = 0; i < 16; i++)
		cr_assert_not_null(c[i] = chunk_alloc(0, 1, DPM_CHUNK, false));
	for (int i = 1; i < 16; i++)
		cr_assert_eq((uintptr_t)c[i], (uintptr_t)c[0] + i * DPM_CHUNK, "one span, in order");
	for (size_t i = 0; i < n; i++)
		chunk_dealloc(0, c[freed[i]], 1);
}

Test(chunk, a_multi_chunk_request_takes_the_tightest_free_run_without_a_new_span)
{
	/* free runs: 5 chunks at 1, a hole at 7, 3 chunks at 9 */
	static const int freed[] = { 1, 2, 3, 4, 5, 7, 9, 10, 11 };
	struct chunk_socket_stats before, after;
	void *c[16];

	make_holes(c, freed, RTE_DIM(freed));
	chunk_stats(0, &before);
	/* 3 chunks fit exactly in the higher run; a first fit would cut the
	 * 5-chunk run. */
	cr_assert_eq(chunk_alloc(0, 3, DPM_CHUNK, true), c[9]);
	/* 2 chunks take the top end of the 5-chunk run, the only one left */
	cr_assert_eq(chunk_alloc(0, 2, DPM_CHUNK, true), c[4]);
	chunk_stats(0, &after);
	cr_assert_eq(after.spans_reserved, before.spans_reserved, "served from the free chunks");
}

Test(chunk, a_free_run_made_after_a_failed_search_is_found)
{
	/* only holes of one chunk: 1, 3, 5, ... 13 (15 stays busy) */
	static const int freed[] = { 1, 3, 5, 7, 9, 11, 13 };
	struct chunk_socket_stats st;
	void *c[16], *p;

	make_holes(c, freed, RTE_DIM(freed));
	/* Fill the rest of the first span so that only the holes are free. */
	chunk_stats(0, &st);
	while (st.bytes_reserved / DPM_CHUNK > st.chunks_used + RTE_DIM(freed)) {
		cr_assert_not_null(chunk_alloc(0, 1, DPM_CHUNK, false));
		chunk_stats(0, &st);
	}
	/* No two free chunks in a row: a new span, and the first span is
	 * now known to hold no run of two. */
	p = chunk_alloc(0, 2, DPM_CHUNK, true);
	cr_assert_not_null(p);
	cr_assert((uintptr_t)p < (uintptr_t)c[0] || (uintptr_t)p > (uintptr_t)c[15]);
	chunk_dealloc(0, p, 2);
	/* Freeing chunk 4 joins holes 3 and 5: three in a row, which the next
	 * search must see, not skip the span on what it learnt before. */
	chunk_dealloc(0, c[4], 1);
	cr_assert_eq(chunk_alloc(0, 3, DPM_CHUNK, true), c[3]);
}

Test(chunk, single_chunks_fill_holes_and_leave_free_runs_whole)
{
	/* free runs: 3 chunks at 1, a hole at 5, 5 chunks at 7 */
	static const int freed[] = { 1, 2, 3, 5, 7, 8, 9, 10, 11 };
	void *c[16];

	make_holes(c, freed, RTE_DIM(freed));
	/* The hole first (a lowest fit would cut the 3-chunk run), then the
	 * bottom of the tightest run. */
	cr_assert_eq(chunk_alloc(0, 1, DPM_CHUNK, false), c[5]);
	cr_assert_eq(chunk_alloc(0, 1, DPM_CHUNK, false), c[1]);
	/* The 5-chunk run stayed whole for a 5-chunk object. */
	cr_assert_eq(chunk_alloc(0, 5, DPM_CHUNK, true), c[7]);
}

Test(chunk, trim_gives_back_only_completely_free_spans)
{
	struct chunk_socket_stats st;
	size_t first = cfg.first_span_size / DPM_CHUNK;
	void *keep = chunk_alloc(0, 1, DPM_CHUNK, false);
	void *big = chunk_alloc(0, first, DPM_CHUNK, true);   /* cannot fit the first span */

	size_t second;

	cr_assert_not_null(keep);
	cr_assert_not_null(big);
	chunk_stats(0, &st);
	cr_assert_eq(st.spans, 2);
	/* A huge object's span (no socket limit) comes headed, with the
	 * head chunk on top: one chunk more than it. */
	second = st.bytes_reserved - cfg.first_span_size;
	cr_assert_eq(second, (first + 1) * DPM_CHUNK);
	chunk_dealloc(0, big, first);
	chunk_stats(0, &st);
	cr_assert_eq(st.bytes_retained, second);
	cr_assert_eq(chunk_trim(0, false), second);
	chunk_stats(0, &st);
	cr_assert_eq(st.spans, 1);
	cr_assert_eq(st.spans_returned, 1);
	cr_assert_eq(st.bytes_retained, 0);
	chunk_dealloc(0, keep, 1);
	cr_assert_eq(chunk_trim(0, false), cfg.first_span_size);
	chunk_stats(0, &st);
	cr_assert_eq(st.spans, 0);
	/* and the socket grows again afterwards */
	cr_assert_not_null(chunk_alloc(0, 1, DPM_CHUNK, false));
}

Test(chunk, a_socket_limit_gives_enomem_and_frees_make_room_again)
{
	void *p[8];

	chunk_fini();
	cfg.socket_limit[1] = 8 * DPM_CHUNK;
	chunk_boot(&cfg);
	for (int i = 0; i < 8; i++)
		cr_assert_not_null(p[i] = chunk_alloc(1, 1, DPM_CHUNK, false), "chunk %d", i);
	rte_errno = 0;
	cr_assert_null(chunk_alloc(1, 1, DPM_CHUNK, false));
	cr_assert_eq(rte_errno, ENOMEM);
	chunk_dealloc(1, p[3], 1);
	cr_assert_eq(chunk_alloc(1, 1, DPM_CHUNK, false), p[3]);
	cfg.socket_limit[1] = 0;
}

/* The anonymous source's spans for arena chunks come headed, as memzones
 * do where DPDK's heap grows for them (zone.h): the first
 * DPM_FP_CHUNK_HEAD bytes stand for DPDK's header and hold a pattern the
 * release checks. */
Test(chunk, a_headed_span_s_first_chunk_goes_to_arena_chunks_only)
{
	uint64_t damaged = zone_head_damaged;
	size_t first = cfg.first_span_size / DPM_CHUNK;
	struct chunk_socket_stats st;
	uint8_t *arena = chunk_alloc(0, 1, DPM_CHUNK, false);   /* the first span's lowest */
	uint8_t *rest = chunk_alloc(0, first - 1, DPM_CHUNK, true);
	uint8_t *huge1, *arena2;

	cr_assert_not_null(arena);
	cr_assert_not_null(rest);
	cr_assert_eq(rest, arena + DPM_CHUNK, "the rest of the first span");
	chunk_dealloc(0, arena, 1);
	/* Only the head chunk is free: a one-chunk huge object takes a new
	 * span (headed too, with a chunk on top for its head) rather than
	 * it; an arena chunk takes a head. */
	huge1 = chunk_alloc(0, 1, DPM_CHUNK, true);
	cr_assert_not_null(huge1);
	cr_assert_neq(huge1, arena);
	chunk_stats(0, &st);
	cr_assert_eq(st.spans, 2);
	arena2 = chunk_alloc(0, 1, DPM_CHUNK, false);
	/* Either head: both are exact fits, the lower one wins. */
	cr_assert(arena2 == arena || arena2 == huge1 - DPM_CHUNK, "%p: not a head chunk", (void *)arena2);
	/* What a huge object owns is written whole, an arena chunk past its
	 * head: the heads stay as the source left them. */
	memset(huge1, 0xee, DPM_CHUNK);
	memset(rest, 0xee, (first - 1) * DPM_CHUNK);
	memset(arena2 + DPM_FP_CHUNK_HEAD, 0xee, DPM_CHUNK - DPM_FP_CHUNK_HEAD);
	chunk_dealloc(0, huge1, 1);
	chunk_dealloc(0, rest, first - 1);
	chunk_dealloc(0, arena2, 1);
	/* A huge object of the first span's size fits the second span (a
	 * chunk bigger), past its head, not the first one. */
	uint8_t *again = chunk_alloc(0, first, DPM_CHUNK, true);

	cr_assert_not_null(again);
	cr_assert_eq(again, huge1, "the second span, past its head");
	chunk_stats(0, &st);
	cr_assert_eq(st.spans, 2);
	memset(again, 0xee, first * DPM_CHUNK);
	chunk_dealloc(0, again, first);
	chunk_trim(0, false);
	chunk_stats(0, &st);
	cr_assert_eq(st.spans, 0);
	cr_assert_eq(zone_head_damaged, damaged, "a span's head was written");
}

/* The check above can fail: a write into a head is reported at release. */
Test(chunk, a_written_head_is_reported_when_its_span_goes_back)
{
	uint64_t damaged = zone_head_damaged;
	uint8_t *arena = chunk_alloc(0, 1, DPM_CHUNK, false);

	cr_assert_not_null(arena);
	arena[DPM_FP_CHUNK_HEAD - 1] ^= 0xff;
	chunk_dealloc(0, arena, 1);
	chunk_trim(0, false);
	cr_assert_eq(zone_head_damaged, damaged + 1);
}

/* At its limit, a socket gives back free spans that cannot serve a
 * request to make room for one that can (it failed with ENOMEM while the
 * room sat in free spans too small: found by an audit of the API). */
Test(chunk, at_the_socket_limit_free_spans_make_room_for_a_bigger_request)
{
	struct chunk_socket_stats st;
	void *p[8];
	int n = 0;

	chunk_fini();
	cfg.first_span_size = DPM_CHUNK;
	cfg.socket_limit[1] = 8 * DPM_CHUNK;
	chunk_boot(&cfg);
	/* Single chunks until the limit: spans of 1, 1, 2 and 4 chunks. */
	while (n < 8 && (p[n] = chunk_alloc(1, 1, DPM_CHUNK, false)) != NULL)
		n++;
	cr_assert_eq(n, 8);
	chunk_stats(1, &st);
	cr_assert_geq(st.spans, 3);
	cr_assert_eq(st.bytes_reserved, 8 * DPM_CHUNK);
	for (int i = 0; i < n; i++)
		chunk_dealloc(1, p[i], 1);
	/* No free span holds 5 chunks, and the limit allows no new one
	 * beside them: they go back, and a span of 5 comes. */
	void *five = chunk_alloc(1, 5, DPM_CHUNK, true);

	cr_assert_not_null(five, "ENOMEM with the whole limit in free spans");
	chunk_stats(1, &st);
	cr_assert_leq(st.bytes_reserved, 8 * DPM_CHUNK);
	cr_assert_eq(st.enomem, 0);
	chunk_dealloc(1, five, 5);
	cfg.socket_limit[1] = 0;
}
