/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/* Size class tables and run geometry, built once at start-up. */

#include <assert.h>

#include "size_class.h"

size_t sc_class_size[SC_NSIZES_MAX];
uint8_t dpm_fp_class_lookup[DPM_FP_LOOKUP_LEN];
struct dpm_fp_div dpm_fp_region_div[DPM_FP_NBINS];

/* dpm_fp.h mirrors these for its inline fast paths. */
static_assert(DPM_FP_SMALL_MAX == SC_SMALL_MAX, "fast-path mirror");
static_assert(DPM_FP_NBINS == SC_NBINS, "fast-path mirror");
static_assert(DPM_FP_LOOKUP_LEN == SC_LOOKUP_LEN, "fast-path mirror");
struct bin_info sc_bin_info[SC_NBINS];
unsigned int sc_nclasses;
size_t sc_large_max;

static size_t gcd(size_t a, size_t b)
{
	while (b != 0) {
		size_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/*
 * Run geometry: the least common multiple of region size and page is the
 * smallest run with no tail waste. Classes with few regions in that run
 * (8 KiB holds one in two pages) take a multiple of it so that one run
 * serves a whole tcache fill; the multiple stops at 8 regions or 32 pages.
 * Every class >= 16 bytes gets at most 4096 / gcd(size, 4096) <= 256
 * regions per least-common-multiple run, which is what BITMAP_MAXBITS
 * holds.
 */
static void bin_info_init(struct bin_info *bi, size_t reg_size)
{
	size_t lcm = reg_size / gcd(reg_size, DPM_PAGE) * DPM_PAGE;
	size_t run = lcm;

	while (run / reg_size < 8 && (run + lcm) / DPM_PAGE <= 32)
		run += lcm;
	bi->reg_size = (uint32_t)reg_size;
	bi->run_size = (uint32_t)run;
	bi->run_pages = (uint16_t)(run / DPM_PAGE);
	bi->nregs = (uint16_t)(run / reg_size);
	/* the page map has 5 bits for a page's offset in its small run */
	RTE_VERIFY(bi->run_pages <= 32);
	div_init(&bi->div, (uint32_t)reg_size);
}

void sc_boot(size_t large_limit)
{
	unsigned int cls;
	size_t size;

	for (cls = 0; cls < SC_NSIZES_MAX; cls++) {
		size = sc_class2size_compute(cls);
		if (cls >= SC_NBINS && size > large_limit)
			break;
		sc_class_size[cls] = size;
	}
	sc_nclasses = cls;
	sc_large_max = sc_class_size[cls - 1];

	for (size = 0; size <= SC_SMALL_MAX; size += SC_QUANTUM)
		dpm_fp_class_lookup[size >> SC_LG_QUANTUM] = (uint8_t)sc_size2class_compute(size);

	for (cls = 0; cls < SC_NBINS; cls++) {
		bin_info_init(&sc_bin_info[cls], sc_class_size[cls]);
		dpm_fp_region_div[cls].reg_size = sc_bin_info[cls].reg_size;
		dpm_fp_region_div[cls].magic = sc_bin_info[cls].div.magic;
	}
}
