/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_BITMAP_H
#define DPM_BITMAP_H

/*
 * Fixed-size inverted bitmaps: a set bit means "free". Inverting lets the
 * first free region be found with one count-trailing-zeros per word, and a
 * run's bitmap starts as all ones up to its region count.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Every run geometry has at most this many regions (see size_class.c). */
#define BITMAP_MAXBITS 256
#define BITMAP_WORDS (BITMAP_MAXBITS / 64)

/* Mark the first nbits free and the rest (up to BITMAP_MAXBITS) used. */
static inline void bitmap_init_free(uint64_t *map, unsigned int nbits)
{
	unsigned int w;

	for (w = 0; w < BITMAP_WORDS; w++) {
		unsigned int lo = w * 64;

		if (nbits >= lo + 64)
			map[w] = ~UINT64_C(0);
		else if (nbits > lo)
			map[w] = (UINT64_C(1) << (nbits - lo)) - 1;
		else
			map[w] = 0;
	}
}

static inline bool bitmap_get(const uint64_t *map, unsigned int bit)
{
	return (map[bit >> 6] >> (bit & 63)) & 1;
}

static inline void bitmap_set(uint64_t *map, unsigned int bit)
{
	map[bit >> 6] |= UINT64_C(1) << (bit & 63);
}

static inline void bitmap_unset(uint64_t *map, unsigned int bit)
{
	map[bit >> 6] &= ~(UINT64_C(1) << (bit & 63));
}

/* Lowest set bit, or -1 when none is set. */
static inline int bitmap_first_set(const uint64_t *map, unsigned int nwords)
{
	unsigned int w;

	for (w = 0; w < nwords; w++)
		if (map[w] != 0)
			return (int)(w * 64 + __builtin_ctzll(map[w]));
	return -1;
}

/* Lowest set bit at or after start, or -1. */
static inline int bitmap_next_set(const uint64_t *map, unsigned int nwords, unsigned int start)
{
	unsigned int w = start >> 6;
	uint64_t bits;

	if (w >= nwords)
		return -1;
	bits = map[w] & (~UINT64_C(0) << (start & 63));
	for (;;) {
		if (bits != 0)
			return (int)(w * 64 + __builtin_ctzll(bits));
		if (++w >= nwords)
			return -1;
		bits = map[w];
	}
}

/* Take the lowest set bit (caller knows one is set) and clear it. */
static inline unsigned int bitmap_take_first(uint64_t *map)
{
	unsigned int w = 0;

	while (map[w] == 0)
		w++;
	unsigned int bit = (unsigned int)__builtin_ctzll(map[w]);
	map[w] &= map[w] - 1;
	return w * 64 + bit;
}

#endif /* DPM_BITMAP_H */
