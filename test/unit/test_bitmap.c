/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/* Inverted bitmaps (1 = free) for every run geometry. */

#include <criterion/criterion.h>

#include "arena.h"
#include "bitmap.h"
#include "size_class.h"

TestSuite(bitmap, .init = arena_boot);

Test(bitmap, init_marks_exactly_nregs_free_for_every_geometry)
{
	for (unsigned int b = 0; b < SC_NBINS; b++) {
		uint64_t map[BITMAP_WORDS];
		unsigned int n = sc_bin_info[b].nregs;

		bitmap_init_free(map, n);
		for (unsigned int i = 0; i < BITMAP_MAXBITS; i++)
			cr_assert_eq(bitmap_get(map, i), i < n, "bin %u bit %u", b, i);
	}
}

Test(bitmap, take_first_hands_out_every_region_once_in_address_order)
{
	for (unsigned int b = 0; b < SC_NBINS; b++) {
		uint64_t map[BITMAP_WORDS];
		unsigned int n = sc_bin_info[b].nregs;

		bitmap_init_free(map, n);
		for (unsigned int i = 0; i < n; i++)
			cr_assert_eq(bitmap_take_first(map), i, "bin %u", b);
		cr_assert_eq(bitmap_first_set(map, BITMAP_WORDS), -1, "bin %u not full", b);
	}
}

Test(bitmap, set_unset_and_first_free_track_each_other)
{
	uint64_t map[BITMAP_WORDS];

	bitmap_init_free(map, 0);
	cr_assert_eq(bitmap_first_set(map, BITMAP_WORDS), -1);
	for (unsigned int i = BITMAP_MAXBITS; i-- > 0;) {
		bitmap_set(map, i);
		cr_assert_eq(bitmap_first_set(map, BITMAP_WORDS), (int)i);
	}
	for (unsigned int i = 0; i < BITMAP_MAXBITS; i++) {
		cr_assert(bitmap_get(map, i));
		bitmap_unset(map, i);
		cr_assert_not(bitmap_get(map, i));
		cr_assert_eq(bitmap_first_set(map, BITMAP_WORDS), i + 1 < BITMAP_MAXBITS ? (int)i + 1 : -1);
	}
}

Test(bitmap, next_set_finds_the_lowest_bit_at_or_after_start)
{
	uint64_t map[BITMAP_WORDS] = {0};

	bitmap_set(map, 3);
	bitmap_set(map, 64);
	bitmap_set(map, 200);
	cr_assert_eq(bitmap_next_set(map, BITMAP_WORDS, 0), 3);
	cr_assert_eq(bitmap_next_set(map, BITMAP_WORDS, 3), 3);
	cr_assert_eq(bitmap_next_set(map, BITMAP_WORDS, 4), 64);
	cr_assert_eq(bitmap_next_set(map, BITMAP_WORDS, 65), 200);
	cr_assert_eq(bitmap_next_set(map, BITMAP_WORDS, 201), -1);
	cr_assert_eq(bitmap_next_set(map, BITMAP_WORDS, 256), -1);
}
