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

#endif /* DPM_DIV_H */
