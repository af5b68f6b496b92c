/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_ARENA_H
#define DPM_ARENA_H

/*
 * Arenas: chunks of one socket split into runs of pages. A small run holds
 * regions of one size class (a bin's), tracked by an inverted bitmap; a
 * large run holds one object. Huge objects are whole chunks of their own.
 *
 * An arena chunk starts with its header; the rest are pages for runs:
 *
 *   +-------------------------------+  chunk base (aligned to DPM_CHUNK)
 *   | chunk_desc (rtree points here)|
 *   | map[DPM_CHUNK_NPAGES]         |  one 32-bit word per page
 *   | runs[npages - map_bias]       |  run metadata, by first page
 *   +-------------------------------+  page map_bias
 *   | run | run |   free   | run ...|
 *   +-------------------------------+
 *
 * The header size depends on how many pages it describes, which depends on
 * the header size: arena_boot() finds the fixed point (9 of 512 pages for
 * 2 MiB chunks).
 *
 * Page map word:  bits 0-2 state, 3-10 bin index (small runs) or class
 *                 (a large run's first page), then
 *   PM_SMALL       page of a small run; bits 11-15 the page's offset in its
 *                  run (runs have at most 32 pages), bits 16-31 its phase:
 *                  (offset * page size) mod region size, so that a pointer
 *                  starts a region iff (its offset in the page + phase) is a
 *                  multiple of the region size -- no run base needed
 *   (others: bits 11-31 a count)
 *   PM_LARGE       first page of a large run; count = run pages, bin
 *                  index = its (large) class, for the fast free
 *   PM_LARGE_LAST  last page of a large run of two or more pages
 *   PM_FREE        page not in use; at the first and last page of a free
 *                  run, count = run pages (inner pages hold stale counts)
 *   PM_HEADER      page of the chunk header
 * Inner pages of large runs stay PM_FREE: only run boundaries are read when
 * coalescing, and an interior pointer then fails validation by itself.
 */

#include <stdbool.h>
#include <stdint.h>

#include "bitmap.h"
#include "dpm_fp.h"
#include "dpm_private.h"
#include "size_class.h"

enum chunk_kind {
	CHUNK_ARENA = 1,
	CHUNK_HUGE = 2,
};

/* What the radix tree maps a chunk to. For arena chunks it is the first
 * thing in the chunk after the zone's head (DPM_FP_DESC_OFFSET); for huge
 * objects it comes from base. */
struct chunk_desc {
	struct arena *arena;       /* owner (for huge: the one that accounts it) */
	void *addr;                /* first chunk */
	size_t size;               /* bytes of chunks */
	int32_t socket_id;
	/* socket_id for arena chunks, -1 for huge objects: the free fast path
	 * asks "arena chunk of my socket?" with one compare. */
	int32_t arena_socket;
	uint8_t kind;
	struct chunk_desc *next;   /* huge descriptors: recycling list */
} __rte_cache_aligned;

enum page_state {
	PM_HEADER = 1,
	PM_FREE = 2,
	PM_SMALL = 3,
	PM_LARGE = 4,
	PM_LARGE_LAST = 5,
};

#define PM_STATE(bits) ((bits) & 7u)
#define PM_BININD(bits) (((bits) >> 3) & 0xffu)
#define PM_COUNT(bits) ((bits) >> 11)
#define PM_RUN_OFFSET(bits) (((bits) >> 11) & 31u)
#define PM_PHASE(bits) ((bits) >> 16)
#define PM_MAKE(state, binind, count) ((uint32_t)(state) | ((uint32_t)(binind) << 3) | ((uint32_t)(count) << 11))
#define PM_MAKE_SMALL(binind, offset, phase) \
	((uint32_t)PM_SMALL | ((uint32_t)(binind) << 3) | ((uint32_t)(offset) << 11) | ((uint32_t)(phase) << 16))
#define PM_SMALL_MAX_PAGES 32

/* A run's metadata, in the chunk header at its first page's slot. Free runs
 * and non-full small runs sit in pairing heaps ordered by address. */
struct run {
	struct run *ph_prev;       /* parent if first child, else left sibling */
	struct run *ph_next;
	struct run *ph_child;
	uint16_t nfree;
	uint16_t binind;
	uint32_t pad;
	uint64_t bitmap[BITMAP_WORDS];  /* 1 = free region */
};

struct arena_chunk {
	/* Not ours: DPDK's heap-element header where the chunk is the first
	 * of a headed span (DPM_FP_CHUNK_HEAD); never read or written. */
	uint8_t zone_head[DPM_FP_CHUNK_HEAD];
	struct chunk_desc desc;
	uint32_t map[DPM_CHUNK_NPAGES];
	struct run runs[];         /* index: page - arena_map_bias */
};

/*
 * A bin: one small class of one arena. lock covers every field. The current
 * run is the lowest-addressed non-full run; the others wait in a heap.
 *
 * The transfer cache holds objects that tcaches flushed back in batches,
 * as pointers, still marked allocated in their runs: the next fill takes
 * them with a copy instead of walking bitmaps. It is a FIFO ring: a fill
 * takes the objects flushed longest ago, whose lines have had the most
 * time to leave the freeing core's cache (LIFO handed the allocating lcore
 * lines still dirty in the freeing one). Its capacity is bin_xfer_slots()
 * (a byte budget of BIN_XFER_BYTES, within [256, 4096] objects). It is what makes an RX lcore
 * allocating and a TX lcore freeing cost one lock per batch on each side
 * and no run metadata. The statistics count its objects as freed; the
 * owning lcore's GC step (objects unused since its last visit), its
 * dpm_tcache_flush() and dpm_trim() return them to their runs.
 */
#define BIN_XFER_MIN 256
#define BIN_XFER_MAX 4096
#define BIN_XFER_BYTES ((size_t)256 << 10)

struct bin {
	dpm_lock_t lock;
	struct run *runcur;
	struct run *nonfull;       /* pairing heap root */
	void **xfer;               /* transfer cache ring, allocated on first use */
	uint32_t nxfer;            /* objects in it; written atomically (peeked unlocked) */
	uint32_t xfer_first;       /* index of the oldest */
	uint32_t xfer_mask;        /* slots - 1 (a power of two) */
	uint32_t xfer_low;         /* least nxfer since the last GC visit */
	uint64_t nmalloc, nfree;   /* objects handed out / given back */
	uint64_t curregs, curruns;
	uint64_t nfills, nflushes; /* batches: lock acquisitions to fill / flush */
} __rte_cache_aligned;

struct large_stats {
	uint64_t nmalloc, nfree, cur;
};

/* An arena. lock covers runs_avail, avail_map, spare, nchunks, the large
 * and huge statistics, huge_spare, and the page maps of its chunks (except
 * that a page of a live object is stable while the object lives, so the
 * free path reads it unlocked); each bin has its own lock, always taken
 * before the arena's. */
struct arena {
	unsigned int index;        /* within its socket */
	int socket_id;
	uintptr_t rtree_tag;       /* its chunks' radix-tree tag (rtree.h) */
	dpm_lock_t lock;
	struct arena_chunk *spare; /* one empty chunk kept (indexed) against thrashing */
	uint64_t spare_since;      /* tsc when the spare became empty */
	uint64_t nchunks;
	struct chunk_desc *huge_spare;
	uint64_t huge_nmalloc, huge_nfree, huge_bytes;
	uint64_t ndouble_frees;    /* atomic adds: refused frees of dead objects */
	struct large_stats lstats[SC_NSIZES_MAX - SC_NBINS];
	struct run *runs_avail[DPM_CHUNK_NPAGES + 1];  /* free runs by pages */
	uint64_t avail_map[(DPM_CHUNK_NPAGES + 1 + 63) / 64];
	struct bin bins[SC_NBINS];
} __rte_cache_aligned;

extern DPM_HIDDEN size_t arena_map_bias;      /* header pages */
extern DPM_HIDDEN size_t arena_usable_pages;  /* DPM_CHUNK_NPAGES - arena_map_bias */

/* Compute header geometry and size classes. */
void arena_boot(void);

/* A new arena of socket_id, metadata from that socket's base. The first
 * (index 0) also serves every large run of its socket. */
struct arena *arena_new(int socket_id, unsigned int index);

/* Return every transfer-cache object to its run (flush, trim). */
void arena_drain_all(struct arena *a);

/* Give the spare chunk back to the socket (for a trim). */
void arena_release_spare(struct arena *a);

/* Give the spare back when it has been empty for the span decay time, so
 * that the span holding it can decay too (its idle time counts from when
 * the chunk became empty). Cheap when there is nothing to do; called by
 * the decay alarm (decay.h). */
void arena_decay_spare(struct arena *a);


static inline struct arena_chunk *arena_chunk_of(const void *ptr)
{
	return (struct arena_chunk *)((uintptr_t)ptr & ~(uintptr_t)DPM_CHUNK_MASK);
}

/* The arena chunk whose descriptor desc is (desc->kind == CHUNK_ARENA). */
static inline struct arena_chunk *arena_chunk_of_desc(struct chunk_desc *desc)
{
	return container_of(desc, struct arena_chunk, desc);
}

static inline size_t arena_pageind(const struct arena_chunk *chunk, const void *ptr)
{
	return ((uintptr_t)ptr - (uintptr_t)chunk) >> DPM_LG_PAGE;
}

static inline struct run *arena_run_of(struct arena_chunk *chunk, size_t pageind)
{
	return &chunk->runs[pageind - arena_map_bias];
}

static inline size_t arena_run_pageind(const struct run *run)
{
	const struct arena_chunk *chunk = arena_chunk_of(run);

	return (size_t)(run - chunk->runs) + arena_map_bias;
}

static inline uintptr_t arena_page_addr(const struct arena_chunk *chunk, size_t pageind)
{
	return (uintptr_t)chunk + (pageind << DPM_LG_PAGE);
}

/*
 * Whether ptr is the start of a region of its small run (not an interior
 * pointer): divide its offset by the region size and multiply back.
 * mapbits is the page's map word (state PM_SMALL).
 */
static inline bool arena_region_valid(uint32_t mapbits, const void *ptr)
{
	return dpm_fp_region_start(mapbits, ptr);   /* dpm_fp.h */
}

/* Small: up to n regions of class binind into out[0 .. got), under one bin
 * lock: the transfer cache's oldest first, then regions of the lowest runs
 * in address order. Returns got (0 with rte_errno = ENOMEM). */
unsigned int arena_bin_fill(struct arena *a, unsigned int binind, void **out, unsigned int n);

/* Small: give back n regions that all belong to arena a and bin binind,
 * under one bin lock, to their runs. Double frees are refused, logged and
 * counted: anything but a live region of the bin always (see
 * arena_bin_region_live_locked()), and with check_parked (frees straight
 * from callers) regions parked in the transfer cache too. Returns how many
 * were freed. */
unsigned int arena_bin_flush(struct arena *a, unsigned int binind, void *const *ptrs, unsigned int n,
			     bool check_parked);

/* Small, from a tcache: like arena_bin_flush(), but the batch may park in
 * the bin's transfer cache (no double-free check there: objects from
 * tcaches were checked, or not, on their way in). */
void arena_bin_flush_batch(struct arena *a, unsigned int binind, void *const *ptrs, unsigned int n);

/* Return transfer-cache objects to their runs: all of them (all == true),
 * or 3/4 of those unused since the last call (a GC step). */
void arena_bin_xfer_drain(struct arena *a, unsigned int binind, bool all);

/* Large: one object of class cls, or NULL + rte_errno = ENOMEM. */
void *arena_malloc_large(struct arena *a, unsigned int cls);

/* Large class cls with alignment above the page: a run align - page bytes
 * longer, trimmed at both ends (sc_classify() checked that it fits). */
void *arena_palloc_large(struct arena *a, unsigned int cls, size_t align);

/* Large: free the object at ptr, in chunk, of arena a. Anything but the
 * first page of a live large run of a chunk a still holds is a double
 * free: refused, logged, counted against a; returns false then. */
bool arena_dalloc_large(struct arena *a, struct arena_chunk *chunk, const void *ptr);

/* Count and log a double free (ptr not a live object where the caller
 * expected one) against arena a. */
void arena_double_free(struct arena *a, const void *ptr, const char *what);

/* For a refused free of ptr, in an arena chunk, whose page map did not
 * show a live object: true (counted and logged as a double free) when the
 * page is free, false when it is a header page or inside a live large
 * object (an interior pointer, not a double free). */
bool arena_dead_pointer(struct arena_chunk *chunk, const void *ptr);

/* Whether ptr, a region start of small class binind in one of a's chunks
 * (its page map says so), was freed already: free in its run, or parked in
 * the bin's transfer cache. Takes the bin lock (a slow-path check, for
 * dpm_realloc()). */
bool arena_small_freed(struct arena *a, unsigned int binind, const void *ptr);

/* Large: resize in place to new_cls (shrink, or grow into free pages
 * behind). Returns true when done. */
bool arena_ralloc_large_in_place(struct arena_chunk *chunk, size_t pageind, unsigned int new_cls);

/* Statistics of one arena added to *out (small classes: bins; large
 * classes: runs). */
void arena_class_stats_add(struct arena *a, unsigned int cls, uint64_t *nmalloc, uint64_t *nfree,
			   uint64_t *cur, uint64_t *curruns);
/* Bytes of objects parked in the arena's transfer caches (read unlocked,
 * relaxed: exact when no lcore flushes or fills meanwhile). */
uint64_t arena_xfer_bytes(struct arena *a);
/* Empty chunks the arena keeps against thrashing (0 or 1). */
unsigned int arena_spare_chunks(struct arena *a);
/* Double frees refused so far. */
uint64_t arena_double_frees(struct arena *a);

#endif /* DPM_ARENA_H */
