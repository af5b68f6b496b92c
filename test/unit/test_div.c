/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/* Region index by multiply-and-shift, for every region of every class. */

#include <criterion/criterion.h>

#include "arena.h"
#include "div.h"
#include "size_class.h"

TestSuite(div, .init = arena_boot);

Test(div, magic_division_is_exact_for_every_region_of_every_class)
{
	for (unsigned int b = 0; b < SC_NBINS; b++) {
		const struct bin_info *bi = &sc_bin_info[b];

		for (uint32_t i = 0; i < bi->nregs; i++)
			cr_assert_eq(div_compute(&bi->div, i * bi->reg_size), i, "bin %u region %u", b, i);
	}
}

Test(div, magic_division_is_exact_far_beyond_run_sizes)
{
	/* The proof holds for n < 2^32; spot-check multiples up to 2^31. */
	for (uint32_t d = 16; d <= SC_SMALL_MAX; d += 16) {
		struct div_info div;

		div_init(&div, d);
		for (uint64_t q = 1; q * d < (UINT64_C(1) << 31); q = q * 3 + 1)
			cr_assert_eq(div_compute(&div, (uint32_t)(q * d)), q, "d %u q %lu", d, q);
	}
}

Test(div, region_check_accepts_exactly_the_region_starts_of_every_run)
{
	void *mem = aligned_alloc(DPM_CHUNK, DPM_CHUNK);
	struct arena_chunk *chunk = mem;

	cr_assert_not_null(mem);
	for (unsigned int b = 0; b < SC_NBINS; b++) {
		const struct bin_info *bi = &sc_bin_info[b];
		size_t run_page = arena_map_bias + 3;   /* any page of the chunk */
		char *run = (char *)chunk + run_page * DPM_PAGE;

		for (size_t p = 0; p < bi->run_pages; p++)
			chunk->map[run_page + p] = PM_MAKE_SMALL(b, p, (p * DPM_PAGE) % bi->reg_size);
		/* every 16-byte offset of the run, across page boundaries */
		for (size_t off = 0; off < bi->run_size; off += 16) {
			size_t pi = arena_pageind(chunk, run + off);

			cr_assert_eq(arena_region_valid(chunk->map[pi], run + off), off % bi->reg_size == 0,
				     "bin %u offset %zu", b, off);
		}
	}
	free(mem);
}

Test(div, region_index_refuses_interior_pointers)
{
	/* A fake chunk, only its header is read. */
	static struct arena_chunk *chunk;
	void *mem = aligned_alloc(DPM_CHUNK, DPM_CHUNK);

	cr_assert_not_null(mem);
	chunk = mem;
	for (unsigned int b = 0; b < SC_NBINS; b++) {
		const struct bin_info *bi = &sc_bin_info[b];
		size_t run_page = arena_map_bias;

		for (size_t p = 0; p < bi->run_pages; p++)
			chunk->map[run_page + p] = PM_MAKE_SMALL(b, p, (p * DPM_PAGE) % bi->reg_size);
		for (uint32_t i = 0; i < bi->nregs; i++) {
			char *reg = (char *)chunk + run_page * DPM_PAGE + (size_t)i * bi->reg_size;
			size_t pi = arena_pageind(chunk, reg);

			cr_assert(arena_region_valid(chunk->map[pi], reg), "bin %u region %u", b, i);
			cr_assert_eq(div_compute(&bi->div, (uint32_t)(reg - ((char *)chunk + run_page * DPM_PAGE))), i);
			pi = arena_pageind(chunk, reg + 8);
			cr_assert_not(arena_region_valid(chunk->map[pi], reg + 8),
				     "bin %u region %u + 8 accepted", b, i);
		}
	}
	free(mem);
}

/* The bulk free's region check: multiples of each region size and
 * nothing else, over every offset a run can have (page offset plus the
 * page's phase: below 2^17), every byte of it, and a sweep of the whole
 * 32-bit range. */
Test(div, multiple_test_accepts_exactly_the_multiples_of_every_region_size)
{
	for (unsigned int b = 0; b < SC_NBINS; b++) {
		const struct bin_info *bi = &sc_bin_info[b];

		for (uint32_t n = 0; n < (UINT32_C(1) << 17); n++)
			cr_assert_eq(div_is_multiple(&bi->mult, n), n % bi->reg_size == 0,
				     "size %u n %u", bi->reg_size, n);
		for (uint64_t n = 0; n <= UINT32_MAX; n += 65537 + b)
			cr_assert_eq(div_is_multiple(&bi->mult, (uint32_t)n), n % bi->reg_size == 0,
				     "size %u n %lu", bi->reg_size, n);
	}
}
