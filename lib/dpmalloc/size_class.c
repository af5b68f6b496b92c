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
static_assert(sizeof(struct dpm_fp_div) == 8, "dpm_fp_region_start() indexes the table by the class times 8");
struct bin_info sc_bin_info[SC_NBINS];
unsigned int sc_nclasses;
size_t sc_large_max;
size_t sc_run_max;

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
	div_multiple_init(&bi->mult, (uint32_t)reg_size);
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
	sc_run_max = large_limit;

	for (size = 0; size <= SC_SMALL_MAX; size += SC_QUANTUM)
		dpm_fp_class_lookup[size >> SC_LG_QUANTUM] = (uint8_t)sc_size2class_compute(size);

	for (cls = 0; cls < SC_NBINS; cls++) {
		bin_info_init(&sc_bin_info[cls], sc_class_size[cls]);
		dpm_fp_region_div[cls].reg_size = sc_bin_info[cls].reg_size;
		dpm_fp_region_div[cls].magic = sc_bin_info[cls].div.magic;
	}
}

/*
 * Kinds by alignment, for size rounded up to its class:
 *   align <= quantum    the size's class; huge past the largest class
 *   align <= page       the first class from the size's on whose regions
 *                       all have the alignment: a small class whose size is
 *                       a multiple of it (runs start on a page), or any
 *                       large class (runs are pages)
 *   page < align < chunk  a large run of the size's class (at least the
 *                       first large one) cut out of a run align - page
 *                       bytes longer, when that fits a chunk
 *   otherwise           whole chunks aligned to max(align, chunk); size 0
 *                       takes one chunk, as it takes one region when small
 */
void sc_classify_hard(size_t size, size_t align, struct sc_request *req)
{
	unsigned int cls;

	req->align = RTE_MAX(align, SC_QUANTUM);
	req->cls = SC_CLASS_HUGE;
	if (unlikely(size > SC_SIZE_MAX || align > SC_SIZE_MAX)) {
		req->kind = SC_KIND_TOO_BIG;
		req->usize = 0;
		return;
	}
	if (align <= DPM_PAGE && size <= sc_large_max) {
		for (cls = sc_size2class(size); cls < SC_NBINS; cls++)
			if ((sc_class_size[cls] & (req->align - 1)) == 0)
				break;
		req->kind = cls < SC_NBINS ? SC_KIND_SMALL : SC_KIND_LARGE;
		req->cls = cls;
		req->usize = sc_class_size[cls];
		return;
	}
	if (align > DPM_PAGE && align < DPM_CHUNK && RTE_MAX(size, SC_SMALL_MAX + 1) <= sc_large_max) {
		cls = sc_size2class(RTE_MAX(size, SC_SMALL_MAX + 1));
		if (sc_class_size[cls] + (align - DPM_PAGE) <= sc_run_max) {
			req->kind = SC_KIND_LARGE_ALIGNED;
			req->cls = cls;
			req->usize = sc_class_size[cls];
			return;
		}
	}
	req->kind = SC_KIND_HUGE;
	req->align = RTE_MAX(align, DPM_CHUNK);
	req->usize = DPM_ALIGN_UP(RTE_MAX(size, (size_t)1), DPM_CHUNK);
}
