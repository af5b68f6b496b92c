/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_SIZE_CLASS_H
#define DPM_SIZE_CLASS_H

/*
 * Size classes.
 *
 * Quantum 16: the first eight classes are 16, 32, ..., 128. Above 128 every
 * doubling (2^x, 2^(x+1)] holds four classes spaced 2^(x-2) apart, which
 * bounds internal fragmentation at 1/5 (worst case: 2^x + 1 rounded up to
 * 2^x + 2^(x-2)). So a class index is
 *
 *   size <= 128: (size - 1) >> 4
 *   size >  128: 8 + 4 * (x - 7) + (((size - 1) >> (x - 2)) & 3),
 *                 where x = floor(log2(size - 1))
 *
 * and the class size is the size rounded up to 16 or to 2^(x-2).
 *
 *   index  0..7   16 .. 128        (step 16)
 *   index  8..11  160 .. 256       (step 32)
 *   ...
 *   index 32..35  10 KiB .. 16 KiB (step 2 KiB; 16 KiB, index 35, is the
 *                 first large class)
 *
 * Classes up to SC_SMALL_MAX (14 KiB) are "small": regions in runs of a
 * bin. Classes above are "large": page-multiple runs of their own, up to
 * the biggest class that fits a chunk after its header (sc_large_max, set at
 * boot). Larger requests are "huge": whole chunks, not a class.
 *
 * Small sizes map to their class through a table indexed by size / 16
 * (_lookup); everything above by arithmetic (_compute). Debug builds check
 * that the two agree.
 *
 * What serves a request -- a small region, a large run, a large run trimmed
 * to an alignment above the page, or whole chunks -- is decided in one
 * place, sc_classify(), from the size rounded up to what would serve it and
 * from the alignment. Class look-ups never index past the table: sizes
 * beyond the largest class are huge (SC_CLASS_HUGE), and debug builds
 * assert that no class index past the table is ever used.
 */

#include <stddef.h>
#include <stdint.h>

#include "div.h"
#include "dpm_private.h"
#include "dpm_fp.h"

#define SC_LG_QUANTUM 4
#define SC_QUANTUM ((size_t)1 << SC_LG_QUANTUM)
#define SC_NQUANTUM 8                 /* 16 .. 128 */
#define SC_NBINS 35                   /* small classes */
#define SC_SMALL_MAX ((size_t)14336)
#define SC_NSIZES_MAX 128             /* room for every lg_chunk option */
#define SC_LOOKUP_LEN ((SC_SMALL_MAX >> SC_LG_QUANTUM) + 1)

/* Not a class: the object is huge (whole chunks). */
#define SC_CLASS_HUGE SC_NSIZES_MAX

/* Sizes and alignments above this can never be served: more than any
 * socket holds (64 TiB of a 256 TiB address space), and small enough that
 * rounding to chunks and aligning cannot wrap. */
#define SC_SIZE_MAX ((size_t)1 << 46)

/* Geometry of one small class: a run of run_pages pages holds nregs
 * regions of reg_size bytes with no tail waste. */
struct bin_info {
	uint32_t reg_size;
	uint32_t run_size;
	uint16_t run_pages;
	uint16_t nregs;
	struct div_info div;          /* exact division by reg_size */
	struct div_multiple mult;     /* multiples of reg_size (bulk frees) */
};

extern DPM_HIDDEN size_t sc_class_size[SC_NSIZES_MAX];
extern DPM_HIDDEN struct bin_info sc_bin_info[SC_NBINS];
extern DPM_HIDDEN unsigned int sc_nclasses;      /* small + large classes */
extern DPM_HIDDEN size_t sc_large_max;           /* biggest large class */
extern DPM_HIDDEN size_t sc_run_max;             /* biggest run: a chunk less its header */

/* Build the tables; large classes stop at the biggest one <= large_limit. */
void sc_boot(size_t large_limit);

static inline unsigned int sc_lg_floor(size_t x)
{
	return (unsigned int)(63 - __builtin_clzll((unsigned long long)x));
}

/* Class of a size by arithmetic. size 0 is class 0. */
static inline unsigned int sc_size2class_compute(size_t size)
{
	if (size <= SC_NQUANTUM * SC_QUANTUM)
		return size == 0 ? 0 : (unsigned int)((size - 1) >> SC_LG_QUANTUM);
	unsigned int x = sc_lg_floor(size - 1);
	return SC_NQUANTUM + 4 * (x - 7) + (unsigned int)(((size - 1) >> (x - 2)) & 3);
}

/* Size of a class by arithmetic (the inverse of _compute). */
static inline size_t sc_class2size_compute(unsigned int cls)
{
	if (cls < SC_NQUANTUM)
		return (size_t)(cls + 1) << SC_LG_QUANTUM;
	unsigned int group = (cls - SC_NQUANTUM) / 4, mod = (cls - SC_NQUANTUM) % 4;
	unsigned int x = group + 7;
	return ((size_t)1 << x) + ((size_t)(mod + 1) << (x - 2));
}

/* Class of a small size (<= SC_SMALL_MAX) by table. */
static inline unsigned int sc_size2class_lookup(size_t size)
{
	return dpm_fp_class_lookup[(size + SC_QUANTUM - 1) >> SC_LG_QUANTUM];
}

/* Class of a size: SC_CLASS_HUGE beyond the largest class (where the
 * arithmetic would give an index past the table). */
static inline unsigned int sc_size2class(size_t size)
{
	if (likely(size <= SC_SMALL_MAX))
		return sc_size2class_lookup(size);
	if (unlikely(size > sc_large_max))
		return SC_CLASS_HUGE;
	return sc_size2class_compute(size);
}

static inline size_t sc_class2size(unsigned int cls)
{
	DPM_ASSERT(cls < sc_nclasses);
	return sc_class_size[cls];
}

/* What serves a request (see sc_classify()). */
enum sc_kind {
	SC_KIND_SMALL,          /* a region of small class cls */
	SC_KIND_LARGE,          /* a run of large class cls */
	SC_KIND_LARGE_ALIGNED,  /* a run of large class cls, at align > page */
	SC_KIND_HUGE,           /* usize bytes of whole chunks at align */
	SC_KIND_TOO_BIG,        /* no socket could ever hold it: E2BIG */
};

struct sc_request {
	enum sc_kind kind;
	unsigned int cls;          /* small and large kinds; else SC_CLASS_HUGE */
	size_t usize;              /* the usable size the object will have */
	size_t align;              /* alignment to honour (at least the quantum) */
};

void sc_classify_hard(size_t size, size_t align, struct sc_request *req);

/*
 * The one place that decides what serves size bytes at alignment align (a
 * power of two): the smallest class whose regions or runs have the
 * alignment by nature, else a large run trimmed to it, else whole chunks.
 * Every decision is made on the rounded size, so a request is never sent
 * to a kind that cannot hold it. The common case (no alignment, small) is
 * inline.
 */
static inline void sc_classify(size_t size, size_t align, struct sc_request *req)
{
	if (likely(size <= SC_SMALL_MAX && align <= SC_QUANTUM)) {
		req->kind = SC_KIND_SMALL;
		req->cls = sc_size2class_lookup(size);
		req->usize = sc_class_size[req->cls];
		req->align = SC_QUANTUM;
		return;
	}
	sc_classify_hard(size, align, req);
}

static inline bool sc_class_is_small(unsigned int cls)
{
	return cls < SC_NBINS;
}

#endif /* DPM_SIZE_CLASS_H */
