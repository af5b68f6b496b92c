/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_FP_H
#define DPM_FP_H

/*
 * @internal
 * The fast paths' layout: the bottom of the module stack.
 *
 * Everything the cache-hit halves of dpm_malloc(), dpm_free() and
 * dpm_free_sized() touch is defined here and only here: the tcache's
 * visible part and its bins, the chunk descriptor's first bytes, the page
 * map word, the radix-tree leaf and the class tables. The library's modules
 * (size_class, rtree, arena, tcache) build their structures on these
 * definitions and include this header directly; dpmalloc.h includes it for
 * its inline functions, which is why it is installed. It is not API: it
 * changes with DPM_VERSION, and code compiled against one version's header
 * runs with that version's library only. Each module that owns a mirrored
 * value checks it at build time (static_assert in arena.c, rtree.c,
 * size_class.c and tcache.c).
 *
 * Nothing here includes another dpmalloc header but the build
 * configuration.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_lcore.h>

#include "dpm_build_config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DPM_FP_LG_PAGE 12
#define DPM_FP_SMALL_MAX 14336
#define DPM_FP_NBINS 35
#define DPM_FP_LOOKUP_LEN (DPM_FP_SMALL_MAX / 16 + 1)
#define DPM_FP_TCACHE_OF_MASK (2 * RTE_MAX_LCORE - 1)
#define DPM_FP_RTREE_KEY_BITS (48 - DPM_LG_CHUNK)
#define DPM_FP_RTREE_LEAF_BITS (DPM_FP_RTREE_KEY_BITS / 2)
#define DPM_FP_RTREE_ROOT_BITS (DPM_FP_RTREE_KEY_BITS - DPM_FP_RTREE_LEAF_BITS)
/* Page map word (see arena.h): bits 0-2 state, 3-10 class, and for small
 * runs 16-31 the page's phase in its run. A large run's first page has
 * state DPM_FP_PM_LARGE and its class in bits 3-10 too. */
#define DPM_FP_PM_SMALL 3u
#define DPM_FP_PM_LARGE 4u
/*
 * An arena chunk's first DPM_FP_CHUNK_HEAD bytes are not the allocator's:
 * in the first chunk of a span reserved headed (zone.h) they hold DPDK's
 * header of the memzone's heap element, which DPDK may write at any time.
 * So the descriptor starts after them, and the page map after it.
 */
#define DPM_FP_CHUNK_HEAD 128
/* Offset of the descriptor (struct dpm_fp_desc) in an arena chunk. */
#define DPM_FP_DESC_OFFSET DPM_FP_CHUNK_HEAD
/* Offset of the page map in an arena chunk (after the descriptor). */
#define DPM_FP_MAP_OFFSET (DPM_FP_DESC_OFFSET + 64)

/*
 * One size class of a tcache: a stack of cached objects, kept as jemalloc's
 * cache_bin is, by a head pointer. The stack grows down:
 *
 *   slots:  [ free ... free | head[0] head[1] ... head[n-1] | sentinel ]
 *            ^ full          ^ head (newest, popped next)     ^ empty
 *
 * A pop reads *head and moves head up; a push moves head down and writes
 * there. Neither needs the depth: a pop compares head with low_water (which
 * is empty, or above it), a push with full. The depth is derived:
 * (empty - head) / sizeof(void *). Positions are stored as their low 32
 * bits (a stack spans a few KiB, so they are unique and differences are
 * exact modulo 2^32). The sentinel slot past the bottom makes the
 * unconditional *head of a pop on an empty stack a harmless read.
 *
 *   low_water     the emptiest position since the last GC visit: a pop
 *                 that reaches it either finds the stack empty (a miss) or
 *                 moves it up by one
 *   lg_fill_div   a miss fills capacity >> lg_fill_div
 *   ran_dry       a miss happened since the last GC visit
 *   nmalloc       objects served to callers (pops and direct allocations)
 *   nfill         objects the arena put on the stack (and direct
 *                 allocations, counted as a fill and a pop)
 *   nflush        objects taken off the stack back to arenas
 * A free is counted by nothing: frees taken = depth + nmalloc + nflush -
 * nfill, exact whenever the owning lcore is between two calls.
 */
struct dpm_fp_bin {
	void **head;
	uint32_t low_water;
	uint32_t full;
	uint32_t empty;
	uint8_t lg_fill_div;
	uint8_t ran_dry;
	uint64_t nmalloc;
	uint64_t nfill;
	uint64_t nflush;
} __rte_cache_aligned;

/* The part of a tcache the fast paths see: tcache.h's struct tcache starts
 * with these fields and goes on with the bins: bins[cls] the class stacks,
 * then from bins[DPM_FP_OUT_BIN] one outbound stack per small class, for
 * frees of objects of another arena of the socket (sent home in batches,
 * never reused by this lcore, so that two lcores do not go on sharing the
 * lines of objects that one allocated and the other freed). */
#define DPM_FP_OUT_BIN 128
struct dpm_fp_tcache {
	int32_t gc_ticker;
	int32_t socket_id;
	const void *arena;         /* the arena the lcore allocates from */
	uintptr_t arena_tag;       /* its chunks' radix-tree tag (below) */
	uint8_t private_[RTE_CACHE_LINE_SIZE - 24];
	struct dpm_fp_bin bins[];
};

/* The part of a chunk descriptor the fast paths see (arena.h's struct
 * chunk_desc). */
struct dpm_fp_desc {
	const void *arena;         /* owning arena */
	uint8_t private_[20];
	int32_t arena_socket;      /* socket of an arena chunk, -1 for huge */
};

/*
 * A radix-tree leaf (rtree.h). An entry is 0 (no chunk of ours), a huge
 * object's descriptor address (cache-line aligned: low 6 bits clear), or
 * for an arena chunk its base plus its arena's tag, an odd number below
 * the chunk size:
 *
 *   tag = DPM_FP_RTREE_ARENA | socket << 1 | arena index << 7
 *
 * So "an arena chunk of the lcore's own arena" is one compare of the entry
 * with chunk + tc->arena_tag: no read of the chunk's header, which also
 * answers "of this socket" and "not another arena's" (an arena belongs to
 * one socket). DPM_FP_RTREE_TAG_NONE, the tag of a tcache without an
 * arena, is even and not a multiple of 64: no entry ever equals chunk + it.
 */
#define DPM_FP_RTREE_ARENA 1u
#define DPM_FP_RTREE_TAG_MASK 63u        /* huge: descriptor = entry & ~mask */
#define DPM_FP_RTREE_TAG_NONE 2u
#define DPM_FP_RTREE_SOCKET_SHIFT 1
#define DPM_FP_RTREE_INDEX_SHIFT 7
struct dpm_fp_leaf {
	uintptr_t entry[(size_t)1 << DPM_FP_RTREE_LEAF_BITS];
};

/* Exact division by a region size (see div.h). */
struct dpm_fp_div {
	uint32_t reg_size;
	uint32_t magic;
};

/* The library is built with hidden visibility; inline code compiled into
 * programs reaches these. */
#pragma GCC visibility push(default)

/* Per lcore id & DPM_FP_TCACHE_OF_MASK; never NULL (tcache.c). */
extern struct dpm_fp_tcache *dpm_fp_tcache_of[2 * RTE_MAX_LCORE];
/* Size class by (size + 15) / 16, for small sizes (size_class.c). */
extern uint8_t dpm_fp_class_lookup[DPM_FP_LOOKUP_LEN];
/* Radix tree root: chunk address -> descriptor (rtree.c). */
extern struct dpm_fp_leaf *dpm_fp_rtree_root[(size_t)1 << DPM_FP_RTREE_ROOT_BITS];
/* Region size and division magic per small class (size_class.c). */
extern struct dpm_fp_div dpm_fp_region_div[DPM_FP_NBINS];

/* The GC step of a tcache, returning p so that a pop can reach it by a
 * tail call (tcache.c). */
void *dpm_malloc_event_hard(struct dpm_fp_tcache *tc, void *p);

/* The easy path of an allocation above the small sizes, out of line
 * (dpmalloc.c): a pop from tc's stack of a cached large class, else
 * dpm_malloc_hard(). */
void *dpm_fp_malloc_large(struct dpm_fp_tcache *tc, size_t size);

/* The free of a pointer whose radix-tree entry is not chunk + tc's arena
 * tag, out of line (dpmalloc.c): an object of another arena of the socket
 * (a small one to the class's outbound stack, a large one as below), or
 * anything else, which goes to dpm_free()'s validating hard path. */
void dpm_fp_free_other(struct dpm_fp_tcache *tc, void *ptr, uintptr_t entry);

/* The easy path of a cached large class's free, out of line (dpmalloc.c):
 * the caller found ptr in an arena chunk of tc's socket, at a page whose
 * map word bits says "first page of a large run"; the class comes from
 * bits. Pushes ptr when it starts the page and the class is cached and
 * not full, else takes dpm_free()'s hard path. */
void dpm_fp_free_large(struct dpm_fp_tcache *tc, void *ptr, uint32_t bits);

/*
 * The layout's version. Bump it with any change to what this file defines
 * (a structure, a constant, a table's meaning). The library exports
 * DPM_FP_LAYOUT_SYM, dpm_fp_layout_v<N> (init.c), and every program that
 * compiles the inline fast paths of dpmalloc.h refers to it, so a program
 * built against one layout cannot load a library of another: the dynamic
 * loader fails loudly (undefined symbol) before any inline path runs.
 */
#define DPM_FP_LAYOUT_VERSION 4
#define DPM_FP_PASTE_(a, b) a ## b
#define DPM_FP_PASTE(a, b) DPM_FP_PASTE_(a, b)
#define DPM_FP_LAYOUT_SYM DPM_FP_PASTE(dpm_fp_layout_v, DPM_FP_LAYOUT_VERSION)
extern const uint32_t DPM_FP_LAYOUT_SYM;

#pragma GCC visibility pop

/*
 * Watched builds. Under AddressSanitizer (the library built with
 * -Db_sanitize=address, or this unit compiled with -fsanitize=address)
 * every object that is not live -- free in its run, cached in a tcache or
 * a transfer cache, free pages, free chunks -- is poisoned, and it is
 * unpoisoned when handed to a caller; junk builds (-Djunk=true) fill it
 * with DPM_JUNK_FREE when freed and DPM_JUNK_ALLOC when allocated. Both
 * happen on the library's hard paths only, so in such builds the inline
 * halves below step aside (DPM_FP_WATCH). DPM_FP_POISON/DPM_FP_UNPOISON are
 * the one pair of hooks; they compile to nothing without ASan.
 */
#if defined(__SANITIZE_ADDRESS__)
#define DPM_FP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DPM_FP_ASAN 1
#endif
#endif
#ifndef DPM_FP_ASAN
#define DPM_FP_ASAN 0
#endif

#if DPM_FP_ASAN
#include <sanitizer/asan_interface.h>
#define DPM_FP_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define DPM_FP_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define DPM_FP_POISON(p, n) do { (void)(p); (void)(n); } while (0)
#define DPM_FP_UNPOISON(p, n) do { (void)(p); (void)(n); } while (0)
#endif

#define DPM_JUNK_ALLOC 0xa5
#define DPM_JUNK_FREE 0x5a

/* The inline halves go straight to the hard paths. */
#define DPM_FP_WATCH (DPM_ASAN || DPM_JUNK || DPM_FP_ASAN)

/* Class of a size above 128 by arithmetic (size_class.h's _compute): for a
 * large size, what a large run's first page map word holds. Sizes beyond
 * the largest class give indexes no run has (at most 235). */
static __rte_always_inline unsigned int
dpm_fp_class_compute(size_t size)
{
	unsigned int x = 63 - (unsigned int)__builtin_clzll((unsigned long long)(size - 1));

	return 8 + 4 * (x - 7) + (unsigned int)(((size - 1) >> (x - 2)) & 3);
}

/* Size class of a small size: arithmetic when the compiler knows the size
 * (folded away), the table otherwise. */
static __rte_always_inline unsigned int
dpm_fp_class(size_t size)
{
	if (__builtin_constant_p(size)) {
		if (size <= 128)
			return size == 0 ? 0 : (unsigned int)((size - 1) >> 4);
		return dpm_fp_class_compute(size);
	}
	return dpm_fp_class_lookup[(size + 15) >> 4];
}

/* The calling lcore's tcache (a never-written empty one for threads
 * without). */
static __rte_always_inline struct dpm_fp_tcache *
dpm_fp_tcache_self(void)
{
	return dpm_fp_tcache_of[rte_lcore_id() & DPM_FP_TCACHE_OF_MASK];
}

/* Low 32 bits of a stack position. */
static __rte_always_inline uint32_t
dpm_fp_pos(void *const *pos)
{
	return (uint32_t)(uintptr_t)pos;
}

/* The stack's address as an opaque value: gcc otherwise addresses a
 * relaxed atomic store to tc->bins[cls] from a base of its own (two more
 * instructions a store) instead of the one its loads use. */
static __rte_always_inline struct dpm_fp_bin *
dpm_fp_bin_opaque(struct dpm_fp_bin *tb)
{
	__asm__("" : "+r"(tb));
	return tb;
}

/* Pop from a class stack into *p; false when empty. (A flag rather than
 * NULL: once inlined, the caller's branch on it is the pop's own, and the
 * hit path tests no pointer.) */
static __rte_always_inline bool
dpm_fp_pop_to(struct dpm_fp_bin *tb, void **p)
{
	void **head = tb->head;

	*p = *head;
	if (unlikely(dpm_fp_pos(head) == tb->low_water)) {
		if (dpm_fp_pos(head) == tb->empty)
			return false;
		tb->low_water = dpm_fp_pos(head + 1);
	}
	/* Relaxed stores: plain movs on x86, but statistics read head and
	 * nmalloc from other threads, and C11 wants both sides atomic. */
	__atomic_store_n(&tb->head, head + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&tb->nmalloc, tb->nmalloc + 1, __ATOMIC_RELAXED);
	return true;
}

/* Pop from a class stack; NULL when empty. */
static __rte_always_inline void *
dpm_fp_pop(struct dpm_fp_bin *tb)
{
	void *p;

	return dpm_fp_pop_to(tb, &p) ? p : NULL;
}

/* Push onto a class stack; false when full. Counts nothing. */
static __rte_always_inline bool
dpm_fp_push(struct dpm_fp_bin *tb, void *ptr)
{
	void **head;

	tb = dpm_fp_bin_opaque(tb);
	head = tb->head;

	if (unlikely(dpm_fp_pos(head) == tb->full))
		return false;
	head[-1] = ptr;
	__atomic_store_n(&tb->head, head - 1, __ATOMIC_RELAXED);
	return true;
}

/* The base of ptr's chunk. */
static __rte_always_inline uintptr_t
dpm_fp_chunk_base(const void *ptr)
{
	return (uintptr_t)ptr & ~(((uintptr_t)1 << DPM_LG_CHUNK) - 1);
}

/*
 * The radix-tree entry of ptr's chunk (see struct dpm_fp_leaf). The root
 * index is masked rather than range-checked: a pointer beyond the 48-bit
 * address space reads some leaf, whose entries are chunks below 2^48 (or
 * descriptors, or 0), never its own chunk plus a tag.
 */
static __rte_always_inline uintptr_t
dpm_fp_rtree_entry(const void *ptr)
{
	uintptr_t key = (uintptr_t)ptr >> DPM_LG_CHUNK;
	const struct dpm_fp_leaf *leaf;

	leaf = __atomic_load_n(&dpm_fp_rtree_root[(key >> DPM_FP_RTREE_LEAF_BITS) &
						  (((uintptr_t)1 << DPM_FP_RTREE_ROOT_BITS) - 1)],
			       __ATOMIC_ACQUIRE);
	return __atomic_load_n(&leaf->entry[key & (((uintptr_t)1 << DPM_FP_RTREE_LEAF_BITS) - 1)],
			       __ATOMIC_ACQUIRE);
}

/* Whether entry, read for a pointer in chunk, maps an arena chunk of ours
 * (any arena's): the chunk's base plus an odd tag. The chunk's header may
 * then be read. */
static __rte_always_inline bool
dpm_fp_entry_arena(uintptr_t entry, uintptr_t chunk)
{
	return (entry ^ chunk) < ((uintptr_t)1 << DPM_LG_CHUNK) && (entry & DPM_FP_RTREE_ARENA) != 0;
}

/* The page map word of ptr in its arena chunk. */
static __rte_always_inline uint32_t
dpm_fp_map_bits(const void *ptr)
{
	uintptr_t chunk = dpm_fp_chunk_base(ptr);

	return ((const uint32_t *)(chunk + DPM_FP_MAP_OFFSET))[((uintptr_t)ptr - chunk) >> DPM_FP_LG_PAGE];
}

/* The header of ptr's arena chunk (once dpm_fp_entry_arena() said so). */
static __rte_always_inline const struct dpm_fp_desc *
dpm_fp_chunk_desc(const void *ptr)
{
	return (const struct dpm_fp_desc *)(dpm_fp_chunk_base(ptr) + DPM_FP_DESC_OFFSET);
}

/* The byte offset of a page map word's class in tables of 8-byte entries,
 * (bits >> 3 & 0xff) * 8 in one AND: the class field sits at bit 3. */
static __rte_always_inline uintptr_t
dpm_fp_class_off8(uint32_t bits)
{
	return bits & (0xffu << 3);
}

/* The class stack a page map word's class names (a stack is 64 bytes:
 * the class's offset times 8, no shift of its own). */
static __rte_always_inline struct dpm_fp_bin *
dpm_fp_bin_of_bits(struct dpm_fp_tcache *tc, uint32_t bits)
{
	return (struct dpm_fp_bin *)((uintptr_t)tc->bins + dpm_fp_class_off8(bits) * 8);
}

/* Whether ptr starts a region, from its page-map word: its offset from
 * the run's start modulo the page (offset in the page plus the page's
 * phase) must be a multiple of the region size, by the exact division of
 * div.h multiplied back. */
static __rte_always_inline int
dpm_fp_region_start(uint32_t bits, const void *ptr)
{
	const struct dpm_fp_div *d = (const struct dpm_fp_div *)((uintptr_t)dpm_fp_region_div +
								  dpm_fp_class_off8(bits));
	uint32_t diff = (uint32_t)((uintptr_t)ptr & ((1u << DPM_FP_LG_PAGE) - 1)) + (bits >> 16);

	return (uint32_t)(((uint64_t)diff * d->magic) >> 32) * d->reg_size == diff;
}

/* Size of small class cls by arithmetic (folded for a constant). */
static __rte_always_inline uint32_t
dpm_fp_class_size(unsigned int cls)
{
	unsigned int x;

	if (cls < 8)
		return (cls + 1) << 4;
	x = (cls - 8) / 4 + 7;
	return (1u << x) + (((cls - 8) % 4 + 1) << (x - 2));
}

/* dpm_fp_region_start() for a page map word known to be of class cls:
 * with a constant class the division constants are folded. */
static __rte_always_inline int
dpm_fp_region_start_cls(uint32_t bits, const void *ptr, unsigned int cls)
{
	uint32_t diff, d, magic;

	if (!__builtin_constant_p(cls))
		return dpm_fp_region_start(bits, ptr);
	d = dpm_fp_class_size(cls);
	magic = (uint32_t)((((uint64_t)1 << 32) + d - 1) / d);
	diff = (uint32_t)((uintptr_t)ptr & ((1u << DPM_FP_LG_PAGE) - 1)) + (bits >> 16);
	return (uint32_t)(((uint64_t)diff * magic) >> 32) * d == diff;
}

#ifdef __cplusplus
}
#endif

#endif /* DPM_FP_H */
