/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_DIV_H
#define DPM_DIV_H

/*
 * Exact division by a run's region size without a divide instruction.
 *
 * For a divisor d and magic = ceil(2^32 / d), (n * magic) >> 32 == n / d
 * whenever n is a multiple of d and n < 2^32: write magic = (2^32 + r) / d
 * with 0 <= r < d; for n = q * d,
 *   n * magic / 2^32 = q * (2^32 + r) / 2^32 = q + q * r / 2^32,
 * and q * r < q * d = n < 2^32, so the fraction drops. Region offsets in a
 * run are below 2^20, far inside that bound. For an n that is not a
 * multiple of d (an interior pointer) the result is the floor or one more;
 * callers detect such pointers by multiplying back.
 */

#include <stdbool.h>
#include <stdint.h>

struct div_info {
	uint32_t magic;
};

static inline void div_init(struct div_info *div, uint32_t d)
{
	div->magic = (uint32_t)((((uint64_t)1 << 32) + d - 1) / d);
}

static inline uint32_t div_compute(const struct div_info *div, uint32_t n)
{
	return (uint32_t)(((uint64_t)n * div->magic) >> 32);
}

/*
 * Whether n is a multiple of d, without a divide and without multiplying
 * back (Hacker's Delight, 10-17): write d = m * 2^k with m odd, and let inv
 * be m's inverse modulo 2^32. For n = q * d with q <= (2^32 - 1) / d,
 * n * inv = q * 2^k (mod 2^32), which rotated right by k is q again; any
 * other n lands above that bound (the map n -> rotr(n * inv, k) is a
 * bijection of the 32-bit words, and the multiples of d fill [0, max]).
 * One multiply, one rotate, one compare: bulk frees test every region
 * start this way.
 */
struct div_multiple {
	uint32_t inv;
	uint32_t max;
	uint32_t shift;
};

static inline void div_multiple_init(struct div_multiple *dm, uint32_t d)
{
	uint32_t m = d >> __builtin_ctz(d), inv = m;

	/* Newton's iteration doubles the correct low bits: 3 -> 48. */
	for (int i = 0; i < 4; i++)
		inv *= 2 - m * inv;
	dm->inv = inv;
	dm->shift = (uint32_t)__builtin_ctz(d);
	dm->max = UINT32_MAX / d;
}

static inline bool div_is_multiple(const struct div_multiple *dm, uint32_t n)
{
	uint32_t x = n * dm->inv;

	/* A rotate; the & 31 keeps shift 0 from shifting by 32. */
	return ((x >> dm->shift) | (x << ((32 - dm->shift) & 31))) <= dm->max;
}

#endif /* DPM_DIV_H */
