/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Public entry points. Each operation has an easy half (an lcore with a
 * tcache, a small class, a cache hit or room in the stack: no lock, no
 * atomic, no division) and a hard half (everything else: set-up, misses,
 * flushes, large and huge objects, other sockets, non-lcore threads,
 * validation failures), kept out of line below it. This file is the API
 * layer only: it routes each call down to the modules.
 *
 *   dpmalloc.c   API: routing, validation of pointers, realloc, bulk calls
 *   init.c       lifecycle: configuration, init/fini, lcore binding
 *   telemetry.c  stats.c   views of the counters
 *   tcache -> arena / huge -> chunk -> zone, base; rtree; size_class
 *   dpm_fp.h     the fast paths' layout, at the bottom: every module and
 *                dpmalloc.h's inline functions build on it
 *
 * dpm_malloc(size):  size_class -> tcache -> arena -> chunk -> zone
 * dpm_free(ptr):     rtree -> chunk header (page map) -> tcache -> arena
 */

#include <errno.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_lcore.h>

#include "arena.h"
#include "chunk.h"
#include "dpm_private.h"
#include "dpm_state.h"
#include "huge.h"
#include "rtree.h"
#include "size_class.h"
#include "tcache.h"
#include "zone.h"

/* ------------------------------------------------------------------------
 * Fast paths.
 */

/* The calling lcore's tcache, or NULL: hard paths. */
static inline struct tcache *dpm_tcache_self(void)
{
	return tcache_get(rte_lcore_id());
}

/* Queries and frees need no set-up, but before rte_eal_init() they must
 * fail with E_RTE_NO_CONFIG like everything else. */
static inline bool dpm_query_ready(void)
{
	return likely(__atomic_load_n(&dpm_state.ready, __ATOMIC_ACQUIRE)) || dpm_ensure_init() == 0;
}

/*
 * The easy halves are the inline functions of dpmalloc.h, which programs
 * compile into their own loops; the exported functions below are the same
 * code for callers that take their address or do not inline. The slow
 * halves (dpm_malloc_hard(), dpm_free_hard()) follow further down.
 *
 * dpm_malloc, cache hit: lcore id (one TLS load), tcache (one load; threads
 * without one see an empty never-written tcache), class (table, or folded
 * for a constant size), pop (head pointer, one compare with the low-water
 * position), counter, GC tick.
 * dpm_free, push: radix tree (two loads; one compare of the entry with the
 * chunk base + the lcore's arena tag for "a chunk of my own arena", which
 * also says "of my socket"; a foreign pointer finds nothing), page map
 * (state and class), region check (offset in page + phase, divided and
 * multiplied back), push (head pointer moved down; no count, no counter,
 * no tick). The chunk header is not read.
 * dpm_free_sized: the same, the page map compared with the size's class,
 * the region check's constants folded for a constant size.
 * Another arena's chunk (the entry carries another tag): a tail call to
 * dpm_fp_free_other(), which reads the header for the socket and pushes a
 * small object onto the outbound stack (45 instructions from its entry to the push's ret).
 * Cached large classes (above the small sizes): dpm_malloc jumps to
 * dpm_fp_malloc_large() (class by arithmetic, pop, GC tick); dpm_free and
 * dpm_free_sized, after the same look-up and page-map read, jump to
 * dpm_fp_free_large() with the page map word, which names a large run's
 * class at its first page (start of page, the short stack scanned for a
 * double free, push) -- through dpm_fp_free_other() when the lcore's arena
 * is not its socket's first, which holds every large run. No second
 * look-up. In the exported functions both large easy paths are inlined
 * (always_inline); programs' inline code reaches them by a call.
 * Instructions from entry to ret on a hit (push), release build, gcc 12
 * -O3 (the exported functions with the library's -march, the inline ones
 * with -march=native), counted by devtools/fastpath-insns.sh:
 *                       exported   inline, size 64   inline, size at run time
 *   dpm_malloc             26            17                 26
 *   dpm_free               49            49                 -
 *   dpm_free_sized         56            39                 -
 * (dpm_free was 58 and dpm_free_sized 65 / 48 when the arena and socket
 * were read from the chunk header.) Of these, 2 (malloc) come from storing
 * the allocation counter as a relaxed atomic (a load, an add and a store
 * instead of one add), so that statistics readers on other threads do not
 * race (ThreadSanitizer); the stack head's relaxed store costs nothing
 * since the stores are addressed through dpm_fp_bin_opaque() (without it:
 * 3 more on malloc, 4 on each free). A pop reports a miss by a flag, not
 * NULL, so the hit path tests no pointer. The radix tree's root index is
 * masked, not range-checked (dpm_fp_rtree_entry()).
 * jemalloc's cache hits are 30 (malloc) and 36 (free); dpm_free's extra
 * instructions are the validation jemalloc does not do (foreign pointers
 * find nothing in the tree, interior pointers fail the region check).
 */
void *(dpm_malloc)(size_t size)
{
	return dpm_malloc_inline(size);
}

void (dpm_free)(void *ptr)
{
	dpm_free_inline(ptr);
}

void (dpm_free_sized)(void *ptr, size_t size)
{
	dpm_free_sized_inline(ptr, size);
}

/* ------------------------------------------------------------------------
 * Watched builds (ASan, junk; see dpm_fp.h): hooks where an object is
 * handed to a caller or taken back, on the hard paths, which are the only
 * paths such builds take. Compiled out otherwise.
 */
static const bool dpm_watch = DPM_FP_ASAN || DPM_JUNK;

static void dpm_watch_alloc(void *p);

/* ------------------------------------------------------------------------
 * Allocation, hard half.
 */

/* One object from arena a without the tcache. */
static void *dpm_arena_alloc(struct arena *a, const struct sc_request *req)
{
	void *p = NULL;

	switch (req->kind) {
	case SC_KIND_SMALL:
		return arena_bin_fill(a, req->cls, &p, 1) == 1 ? p : NULL;
	case SC_KIND_LARGE:
		return arena_malloc_large(a, req->cls);
	case SC_KIND_LARGE_ALIGNED:
		return arena_palloc_large(a, req->cls, req->align);
	case SC_KIND_HUGE:
		return huge_malloc(a, req->usize, req->align);
	default:
		rte_errno = E2BIG;
		return NULL;
	}
}

/* One object on socket_id: the tcache when the caller is an lcore of that
 * socket and the class is cached, else the arena. */
static void *dpm_alloc_socket_once(int socket_id, const struct sc_request *req)
{
	struct tcache *tc = dpm_tcache_self();

	if (tc == NULL && rte_lcore_id() < RTE_MAX_LCORE)
		tc = dpm_lcore_tcache(rte_lcore_id());
	if (tc != NULL && tc->socket_id == socket_id &&
	    (req->kind == SC_KIND_SMALL || req->kind == SC_KIND_LARGE) && req->cls < tc->nbins) {
		void *p = tcache_alloc_easy(&tc->bins[req->cls]);

		if (p == NULL)
			p = tcache_alloc_hard(tc, req->cls);
		/* GC steps count these as the inline pops count theirs (all
		 * allocations, in builds whose inline paths step aside). */
		if (p != NULL)
			tcache_event(tc);
		return p;
	}
	struct arena *a = dpm_arena_choose(socket_id);

	return dpm_arena_alloc(a, req);
}

/* Sockets other than from in order of NUMA distance (ids as the tie-break:
 * DPDK gives no distances, so "nearest" is the next id, wrapping). */
static int dpm_fallback_next(int from, int prev)
{
	for (int i = 1; i < RTE_MAX_NUMA_NODES; i++) {
		int s = (prev + i) % RTE_MAX_NUMA_NODES;

		if (s == from)
			return -1;
		if (dpm_state.sockets[s].present)
			return s;
	}
	return -1;
}

/* Allocate with the socket policy applied. */
static void *dpm_alloc(int socket_id, size_t size, size_t align, bool zero)
{
	struct sc_request req;
	void *p;

	sc_classify(size, align, &req);
	if (unlikely(req.kind == SC_KIND_TOO_BIG))
		return dpm_alloc_failed(socket_id, E2BIG, size);
	p = dpm_alloc_socket_once(socket_id, &req);
	if (unlikely(p == NULL) && rte_errno == ENOMEM) {
		__atomic_fetch_add(&dpm_state.sockets[socket_id].enomem, 1, __ATOMIC_RELAXED);
		if (dpm_state.cfg.exhaust_policy == DPM_EXHAUST_FALLBACK) {
			for (int s = dpm_fallback_next(socket_id, socket_id); s >= 0 && p == NULL;
			     s = dpm_fallback_next(socket_id, s)) {
				p = dpm_alloc_socket_once(s, &req);
				if (p != NULL) {
					__atomic_fetch_add(&dpm_state.sockets[s].fallback_in, 1,
							   __ATOMIC_RELAXED);
					__atomic_fetch_add(&dpm_state.fallback[socket_id][s], 1,
							   __ATOMIC_RELAXED);
				}
			}
		}
		if (p == NULL)
			return dpm_alloc_failed(socket_id, ENOMEM, size);
	} else if (unlikely(p == NULL)) {
		return dpm_alloc_failed(socket_id, rte_errno, size);
	}
	if (dpm_watch && p != NULL)
		dpm_watch_alloc(p);
	if (p != NULL && zero)
		memset(p, 0, size);
	return p;
}

/*
 * The easy path of a cached large class, out of line (dpm_fp.h): the
 * inline malloc has the tcache; left here are the class (arithmetic), the
 * pop and the GC tick, as the inline path does for small classes.
 * tcache_none's stacks are empty, so threads without a tcache miss; before
 * dpm_init() tcache_large_max is 0.
 */
/* Always inlined into the exported dpm_malloc() and the free paths here
 * (a jump less each way on a large pair: 1.37x -> 1.22x tcmalloc's at 16
 * KiB, side by side); the symbol stays for programs' inline dpm_malloc().
 * gcc warns that an exported always_inline function might not be inlined
 * elsewhere, which is the point. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattributes"
__attribute__((always_inline)) void *dpm_fp_malloc_large(struct dpm_fp_tcache *tc, size_t size)
{
	if (likely(size <= __atomic_load_n(&tcache_large_max, __ATOMIC_RELAXED))) {
		void *p;

		if (likely(dpm_fp_pop_to(dpm_fp_bin_opaque(&tc->bins[dpm_fp_class_compute(size)]), &p))) {
			if (unlikely(--tc->gc_ticker == 0))
				return dpm_malloc_event_hard(tc, p);
			return p;
		}
	}
	return dpm_malloc_hard(size);
}
#pragma GCC diagnostic pop

void *dpm_malloc_hard(size_t size)
{
	int socket;

	if (dpm_ensure_init() != 0)
		return NULL;
	socket = dpm_caller_socket();
	return dpm_alloc(socket, size, 1, false);
}

void *dpm_malloc_socket(size_t size, int socket_id)
{
	int socket, rc;

	if (dpm_ensure_init() != 0)
		return NULL;
	rc = dpm_socket_resolve(socket_id, &socket);
	if (rc != 0)
		return dpm_alloc_failed(dpm_caller_socket(), -rc, size);
	return dpm_alloc(socket, size, 1, false);
}

void *dpm_zmalloc_socket(size_t size, int socket_id)
{
	int socket, rc;

	if (dpm_ensure_init() != 0)
		return NULL;
	rc = dpm_socket_resolve(socket_id, &socket);
	if (rc != 0)
		return dpm_alloc_failed(dpm_caller_socket(), -rc, size);
	return dpm_alloc(socket, size, 1, true);
}

void *dpm_zmalloc(size_t size)
{
	return dpm_zmalloc_socket(size, SOCKET_ID_ANY);
}

void *dpm_calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		if (dpm_ensure_init() != 0)
			return NULL;
		return dpm_alloc_failed(dpm_caller_socket(), E2BIG, SIZE_MAX);
	}
	return dpm_zmalloc_socket(total, SOCKET_ID_ANY);
}

void *dpm_aligned_alloc_socket(size_t align, size_t size, int socket_id)
{
	int socket, rc;

	if (dpm_ensure_init() != 0)
		return NULL;
	if (align == 0 || (align & (align - 1)) != 0)
		return dpm_alloc_failed(dpm_caller_socket(), EINVAL, size);
	rc = dpm_socket_resolve(socket_id, &socket);
	if (rc != 0)
		return dpm_alloc_failed(dpm_caller_socket(), -rc, size);
	return dpm_alloc(socket, size, align, false);
}

void *dpm_aligned_alloc(size_t align, size_t size)
{
	return dpm_aligned_alloc_socket(align, size, SOCKET_ID_ANY);
}

/* ------------------------------------------------------------------------
 * Looking pointers up.
 */

/* What a valid object pointer refers to. */
struct dpm_obj {
	struct chunk_desc *desc;
	unsigned int cls;          /* SC_CLASS_HUGE for huge */
	size_t usable;
	size_t pageind;
};

/* Validate ptr as the start of one of our objects. 0, or -EINVAL with the
 * reason logged (not ours, interior pointer, free pages). freeing: a free
 * of free pages is counted as a double free. */
static int dpm_obj_lookup(const void *ptr, struct dpm_obj *obj, bool freeing)
{
	struct chunk_desc *desc = rtree_lookup(ptr);
	struct arena_chunk *chunk;
	uint32_t bits;

	if (desc == NULL) {
		DPM_LOG(ERR, "%p was not allocated by dpmalloc", ptr);
		return -EINVAL;
	}
	obj->desc = desc;
	if (desc->kind == CHUNK_HUGE) {
		if (ptr != desc->addr) {
			DPM_LOG(ERR, "%p is inside a huge object at %p", ptr, desc->addr);
			return -EINVAL;
		}
		obj->cls = SC_CLASS_HUGE;
		obj->usable = desc->size;
		return 0;
	}
	chunk = arena_chunk_of_desc(desc);
	obj->pageind = arena_pageind(chunk, ptr);
	bits = chunk->map[obj->pageind];
	switch (PM_STATE(bits)) {
	case PM_SMALL:
		if (!arena_region_valid(bits, ptr)) {
			DPM_LOG(ERR, "%p is inside an object", ptr);
			return -EINVAL;
		}
		obj->cls = PM_BININD(bits);
		obj->usable = sc_class2size(obj->cls);
		return 0;
	case PM_LARGE:
		if (((uintptr_t)ptr & DPM_PAGE_MASK) != 0) {
			DPM_LOG(ERR, "%p is inside a large object", ptr);
			return -EINVAL;
		}
		obj->usable = (size_t)PM_COUNT(bits) << DPM_LG_PAGE;
		obj->cls = sc_size2class(obj->usable);
		return 0;
	default:
		/* Free pages (counted), a header page, or inside a large run. */
		if (!freeing || !arena_dead_pointer(chunk, ptr))
			DPM_LOG(ERR, "%p is not a live object (double free or interior pointer)", ptr);
		return -EINVAL;
	}
}

/* Usable bytes of a live object (watched builds only: a look-up). */
static size_t dpm_watch_usable(const void *p)
{
	struct dpm_obj obj;

	return dpm_obj_lookup(p, &obj, false) == 0 ? obj.usable : 0;
}

/* Handed to a caller: addressable, and junk-filled in junk builds. */
static void dpm_watch_alloc(void *p)
{
	size_t usable = dpm_watch_usable(p);

	DPM_FP_UNPOISON(p, usable);
	if (DPM_JUNK)
		memset(p, DPM_JUNK_ALLOC, usable);
}

/* Taken back (wherever it goes next: a tcache, a transfer cache, its run,
 * free pages or chunks): junk-filled, then poisoned. */
static void dpm_watch_free(void *p, size_t usable)
{
	if (DPM_JUNK)
		memset(p, DPM_JUNK_FREE, usable);
	DPM_FP_POISON(p, usable);
}

/* About to shrink in place from old to usable bytes: the tail given up is
 * treated as freed now, while it is still the caller's. (The shrink hands
 * it back to its arena or the chunk pool, where another lcore may be given
 * it at once: a junk fill or poisoning after would land on its object.) */
static void dpm_watch_shrink(void *p, size_t old, size_t usable)
{
	if (usable < old)
		dpm_watch_free((char *)p + usable, old - usable);
}

/* Grown in place from old to usable bytes: the tail gained is allocated. */
static void dpm_watch_grow(void *p, size_t old, size_t usable)
{
	if (usable > old) {
		DPM_FP_UNPOISON(p, usable);
		if (DPM_JUNK)
			memset((char *)p + old, DPM_JUNK_ALLOC, usable - old);
	}
}

/* A validated object goes back: through the tcache when the caller has one
 * and the memory is of its socket, else to the owning arena. */
static void dpm_obj_free(void *ptr, const struct dpm_obj *obj)
{
	struct tcache *tc = dpm_tcache_self();
	struct chunk_desc *desc = obj->desc;

	if (dpm_watch)
		dpm_watch_free(ptr, obj->usable);
	if (tc == NULL && rte_lcore_id() < RTE_MAX_LCORE && __atomic_load_n(&dpm_state.ready, __ATOMIC_ACQUIRE))
		tc = dpm_lcore_tcache(rte_lcore_id());
	if (tc != NULL && desc->socket_id != tc->socket_id && obj->cls >= tc->nbins) {
		/* Not cached, so not batched through the remote buffer: count
		 * it here (the buffer counts the others when it goes home). */
		__atomic_fetch_add(&tcache_cross[tc->socket_id][desc->socket_id], 1, __ATOMIC_RELAXED);
		dpm_counter_add(&tc->remote_frees, 1);
	}
	if (obj->cls == SC_CLASS_HUGE) {
		huge_dalloc(desc);
		return;
	}
	if (tc != NULL && obj->cls < tc->nbins) {
		if (desc->socket_id != tc->socket_id) {
			tcache_dalloc_remote(tc, ptr, obj->usable);
			return;
		}
		/* Small objects of another arena of the socket go to the
		 * outbound stack, as on the easy path. */
		bool out = obj->cls < SC_NBINS && desc->arena != tc->arena;
		struct tcache_bin *tb = out ? &tc->out[obj->cls] : &tc->bins[obj->cls];

		if ((dpm_debug_checks || obj->cls >= SC_NBINS) && tcache_bin_holds(tb, ptr)) {
			/* Always for large classes (short stacks), in debug
			 * builds for all. */
			arena_double_free(desc->arena, ptr, "in the tcache");
			rte_errno = EINVAL;
			return;
		}
		/* As on the easy path, a free ticks no GC unless it flushes. */
		if (!tcache_dalloc_easy(tb, ptr)) {
			if (out)
				tcache_dalloc_out_hard(tc, obj->cls, ptr);
			else
				tcache_dalloc_hard(tc, obj->cls, ptr);
		}
		return;
	}
	/* Refused: a double free that raced another free of the object (or,
	 * for a region, found it free in its run or parked). */
	if (obj->cls < SC_NBINS ? arena_bin_flush(desc->arena, obj->cls, &ptr, 1, true) == 0
				: !arena_dalloc_large(desc->arena, arena_chunk_of_desc(desc), ptr))
		rte_errno = EINVAL;
}

/*
 * The easy path of a cached large class, out of line (dpm_fp.h): the
 * inline free did the one radix-tree look-up and read the first page's map
 * word, which says "a large run's first page" and gives the class. Left
 * here: the start-of-run check (page-aligned: an interior pointer in the
 * first page fails; later pages are not PM_LARGE and never come here), the
 * class cached, the double-free scan, the push. Anything else goes to the
 * hard path, which validates again from scratch.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattributes"   /* as dpm_fp_malloc_large() */
__attribute__((always_inline)) void dpm_fp_free_large(struct dpm_fp_tcache *fp_tc, void *ptr, uint32_t bits)
{
	struct tcache *tc = (struct tcache *)fp_tc;
	unsigned int cls = PM_BININD(bits);
	struct tcache_bin *tb = &tc->bins[cls];

	if (likely(((uintptr_t)ptr & DPM_PAGE_MASK) == 0 && cls < tc->nbins)) {
		/* A large stack holds a few dozen objects at most: a double
		 * free into it is caught here, before it could be handed out
		 * twice. */
		if (unlikely(tcache_bin_holds(tb, ptr))) {
			arena_double_free(arena_chunk_of(ptr)->desc.arena, ptr, "in the tcache");
			rte_errno = EINVAL;
			return;
		}
		if (likely(tcache_dalloc_easy(tb, ptr)))
			return;
	}
	dpm_free_hard(ptr);
}
#pragma GCC diagnostic pop

/*
 * The easy path of a free that is not of the lcore's own arena, out of
 * line: the inline free read the radix-tree entry and found it is not the
 * chunk's base plus tc's arena tag. An arena chunk of the socket (another
 * arena's: the chunk header says the socket) gets dpm_free()'s checks
 * here: a small object goes to the class's outbound stack (sent home in
 * batches, never handed to this lcore's next allocation), a large one to
 * dpm_fp_free_large() (no line is shared: it goes to the class stack).
 * Anything else -- foreign, huge, another socket's, interior, a full stack
 * -- is the hard path's, which validates from scratch.
 */
void dpm_fp_free_other(struct dpm_fp_tcache *tc, void *ptr, uintptr_t entry)
{
	uintptr_t chunk = dpm_fp_chunk_base(ptr);

	if (likely(dpm_fp_entry_arena(entry, chunk) &&
		   dpm_fp_chunk_desc(ptr)->arena_socket == tc->socket_id)) {
		uint32_t bits = dpm_fp_map_bits(ptr);

		if (likely(PM_STATE(bits) == PM_SMALL && dpm_fp_region_start(bits, ptr) &&
			   dpm_fp_push(dpm_fp_bin_of_bits(tc, bits) + DPM_FP_OUT_BIN, ptr)))
			return;
		if (PM_STATE(bits) == PM_LARGE) {
			dpm_fp_free_large(tc, ptr, bits);
			return;
		}
	}
	dpm_free_hard(ptr);
}

void dpm_free_hard(void *ptr)
{
	struct dpm_obj obj;

	if (ptr == NULL)
		return;
	if (unlikely(!dpm_query_ready()))
		return;
	if (dpm_obj_lookup(ptr, &obj, true) != 0) {
		rte_errno = EINVAL;
		return;
	}
	dpm_obj_free(ptr, &obj);
}

/* ------------------------------------------------------------------------
 * realloc, bulk calls.
 */

/*
 * Whether a looked-up object was freed already, as far as the caller can
 * tell: the page map calls it live, but its region is free in its run or
 * parked in its bin's transfer cache, or it waits in the caller's own
 * tcache (another lcore's is that lcore's to read). Counted and logged as
 * a double free. dpm_realloc()'s check: resizing a freed object in place
 * would hand it out twice, and moving it would free it twice. A huge
 * object's chunks leave the radix tree when it is freed, so the look-up
 * refused it already.
 */
static bool dpm_obj_freed(const void *ptr, const struct dpm_obj *obj)
{
	struct tcache *tc = dpm_tcache_self();
	const char *where = NULL;

	if (obj->cls == SC_CLASS_HUGE)
		return false;
	if (tc != NULL && tcache_holds(tc, obj->cls, ptr))
		where = "in the tcache";
	else if (obj->cls < SC_NBINS && arena_small_freed(obj->desc->arena, obj->cls, ptr))
		where = "free in its run or parked";
	if (where == NULL)
		return false;
	arena_double_free(obj->desc->arena, ptr, where);
	return true;
}

void *dpm_realloc(void *ptr, size_t size)
{
	struct sc_request req;
	struct dpm_obj obj;
	void *p;

	if (ptr == NULL)
		return dpm_malloc(size);
	if (!dpm_query_ready())
		return NULL;   /* rte_errno = E_RTE_NO_CONFIG before rte_eal_init() */
	if (size == 0) {
		/* 0 when freed; a refused free leaves its EINVAL (anything
		 * else the free's slow path met on its way, e.g. the first
		 * tcache's memzone look-up, is not the caller's business) */
		rte_errno = 0;
		dpm_free(ptr);
		if (rte_errno != EINVAL)
			rte_errno = 0;
		return NULL;
	}
	if (dpm_obj_lookup(ptr, &obj, true) != 0 || dpm_obj_freed(ptr, &obj))
		return dpm_alloc_failed(dpm_caller_socket(), EINVAL, size);
	sc_classify(size, 1, &req);
	if (req.kind == SC_KIND_TOO_BIG)
		return dpm_alloc_failed(obj.desc->socket_id, E2BIG, size);
	/* In place: a shrink always succeeds, and watched builds give its
	 * tail up before it (dpm_watch_shrink()); what a failed one would
	 * have given up lies beyond the size, which is all the move copies. */
	if (obj.cls == SC_CLASS_HUGE) {
		if (req.kind == SC_KIND_HUGE) {
			if (dpm_watch)
				dpm_watch_shrink(ptr, obj.usable, DPM_ALIGN_UP(req.usize, DPM_CHUNK));
			if (huge_ralloc_shrink(obj.desc, req.usize))
				return ptr;
		}
	} else if (req.kind != SC_KIND_HUGE) {
		if (req.cls == obj.cls)
			return ptr;
		if (req.kind == SC_KIND_LARGE && obj.cls >= SC_NBINS) {
			size_t usable = sc_class2size(req.cls);

			if (dpm_watch)
				dpm_watch_shrink(ptr, obj.usable, usable);
			if (arena_ralloc_large_in_place(arena_chunk_of_desc(obj.desc), obj.pageind, req.cls)) {
				if (dpm_watch)
					dpm_watch_grow(ptr, obj.usable, usable);
				return ptr;
			}
		}
	}
	p = dpm_alloc(obj.desc->socket_id, size, 1, false);
	if (p == NULL)
		return NULL;
	memcpy(p, ptr, RTE_MIN(size, obj.usable));
	dpm_obj_free(ptr, &obj);
	return p;
}

unsigned int dpm_malloc_bulk(void **ptrs, unsigned int n, size_t size)
{
	struct tcache *tc;
	void *chain = NULL;
	unsigned int i;
	size_t total;

	/* The easy half: a small class whose stack holds n, copied out at
	 * once (tcache_none's stacks hold nothing: other threads go on). */
	if (!dpm_watch && likely(size <= SC_SMALL_MAX && ptrs != NULL)) {
		struct tcache_bin *tb;

		tc = tcache_lookup(rte_lcore_id());
		tb = &tc->bins[sc_size2class_lookup(size)];
		if (likely(n - 1u < tcache_bin_ncached(tb))) {
			tcache_alloc_bulk_easy(tc, tb, ptrs, n);
			return n;
		}
	}
	if (dpm_ensure_init() != 0)
		return 0;
	if (n == 0 || ptrs == NULL) {
		dpm_alloc_failed(dpm_caller_socket(), EINVAL, size);
		return 0;
	}
	/* n objects no socket could ever hold together: fail before taking any */
	if (__builtin_mul_overflow((size_t)n, size, &total) || total > SC_SIZE_MAX) {
		dpm_alloc_failed(dpm_caller_socket(), E2BIG, size);
		return 0;
	}
	tc = dpm_tcache_self();
	if (tc == NULL && rte_lcore_id() < RTE_MAX_LCORE)
		tc = dpm_lcore_tcache(rte_lcore_id());
	if (tc != NULL && size <= SC_SMALL_MAX &&
	    !dpm_watch && tcache_alloc_bulk(tc, sc_size2class_lookup(size), ptrs, n) == n)
		return n;

	for (i = 0; i < n; i++) {
		void *p = dpm_malloc(size);

		if (p == NULL) {
			int err = rte_errno;

			while (chain != NULL) {
				p = chain;
				chain = *(void **)p;
				dpm_free(p);
			}
			rte_errno = err;
			return 0;
		}
		chain = tcache_bulk_chain(chain, p);
	}
	for (i = n; i-- > 0;) {
		ptrs[i] = chain;
		chain = *(void **)chain;
	}
	return n;
}

/*
 * dpm_free_bulk() on an lcore with a tcache. Every pointer is validated as
 * dpm_free()'s easy path validates it, but what a burst shares is looked up
 * once per group of consecutive pointers of one chunk and one class: the
 * radix tree (an arena chunk of ours, of this socket, and whose arena: the
 * class stacks or the outbound ones; kept for the last chunk), the stack,
 * its room, and the class's divisibility constants. Per object there
 * remain the region check and a store below the head, which is written
 * back once per group; the chunk compare and the page-map word (state and
 * class compared with the group's at once) only when the pointer is not
 * in the page of the one before (dpm_free_bulk_group()). Anything
 * else -- NULL, foreign and interior pointers, another socket's memory,
 * a full stack -- goes to dpm_free_hard() for that pointer alone (a large
 * object of the socket to dpm_fp_free_large(), as from dpm_free()),
 * after which nothing looked up is trusted (a hard free may flush, run a
 * GC step, release a chunk).
 *
 * Instructions per object inside a group, for a pointer in the page of the
 * one before (release build, gcc 12 -O3, the group loops of dpm_free_bulk
 * in objdump -d): 12 for a class that is a power of two up to a page (the
 * region check is a mask), 17 for the others (div_is_multiple()); a new
 * page adds 7 (was 25 for every object); against dpm_free()'s 49
 * and a memcpy for rte_mempool_put_bulk(); a new group (another chunk or
 * class) costs about one dpm_free(). dpm_malloc_bulk() on a hit: 65
 * instructions per call plus a memcpy of n pointers.
 */
/*
 * The inner loop of dpm_free_bulk_easy(): push pp[0], pp[1], ... below
 * *headp while each is a region start of the group's class in the group's
 * chunk (bits: the page-map word of pp[0], whose chunk, state and class
 * are checked); stops at end or at the first pointer that is not, which it
 * leaves unpushed. Returns where it stopped. Locals only: the stores below
 * the head may alias anything. A pointer in the page of the one before
 * shares its page-map word, so only a new page reads the map (and checks
 * the chunk); pow2: the class is a power of two up to a page, whose region
 * starts are the offsets that are multiples of it.
 * Its loop is sensitive to where it lands: an edit elsewhere in
 * dpm_free_bulk() that changed no instruction of it (the socket check
 * shared with dpm_fp_free_other()) moved it by 32 bytes and made 64 B bulk
 * calls 1.6x -> 2.3x mempool's (4 alternating runs); measure after edits.
 */
static __rte_always_inline void **
dpm_free_bulk_group(uintptr_t chunk, const uint32_t *map, uint32_t bits,
		    const struct div_multiple *multp, bool pow2, void **pp, void **end, void ***headp)
{
	const uintptr_t chunk_mask = ((uintptr_t)1 << DPM_LG_CHUNK) - 1;
	const struct div_multiple mult = *multp;
	const uint32_t key = bits & 0x7ffu, align_mask = (1u << mult.shift) - 1;
	/* The page map as indexed by a page's global number. */
	const uintptr_t pages = (uintptr_t)map - ((chunk >> DPM_FP_LG_PAGE) << 2);
	void **head = *headp;
	void *p = *pp;
	uintptr_t page = (uintptr_t)p >> DPM_FP_LG_PAGE;
	uint32_t phase = PM_PHASE(bits);

#define DPM_BULK_REGION_OK(p) (pow2 ? ((uint32_t)(uintptr_t)(p) & align_mask) == 0 : \
			       div_is_multiple(&mult, (uint32_t)((uintptr_t)(p) & DPM_PAGE_MASK) + phase))
	if (pp == end || !DPM_BULK_REGION_OK(p))
		return pp;
	for (;;) {
		*--head = p;
		if (++pp == end)
			break;
		p = *pp;
		if (((uintptr_t)p >> DPM_FP_LG_PAGE) != page) {
			if (((uintptr_t)p & ~chunk_mask) != chunk)
				break;
			bits = *(const uint32_t *)(pages + (((uintptr_t)p >> DPM_FP_LG_PAGE) << 2));
			if (((bits ^ key) & 0x7ffu) != 0)
				break;
			page = (uintptr_t)p >> DPM_FP_LG_PAGE;
			phase = PM_PHASE(bits);
		}
		if (!DPM_BULK_REGION_OK(p))
			break;
	}
#undef DPM_BULK_REGION_OK
	*headp = head;
	return pp;
}

static void dpm_free_bulk_easy(struct tcache *tc, void **ptrs, unsigned int n)
{
	const uintptr_t chunk_mask = ((uintptr_t)1 << DPM_LG_CHUNK) - 1;
	struct dpm_fp_bin *bins = ((struct dpm_fp_tcache *)tc)->bins;
	uintptr_t chunk_ok = 1;        /* the last chunk validated (1: none) */
	unsigned int out = 0;          /* its stacks: DPM_FP_OUT_BIN for another arena's */
	unsigned int i = 0;

	while (i < n) {
		void *p = ptrs[i];
		uintptr_t chunk = (uintptr_t)p & ~chunk_mask;
		const uint32_t *map = (const uint32_t *)(chunk + DPM_FP_MAP_OFFSET);
		unsigned int start = i, room;
		struct tcache_bin *tb;
		uint32_t bits;
		void **head;

		if (chunk != chunk_ok) {
			uintptr_t entry = dpm_fp_rtree_entry(p);

			if (entry == chunk + tc->arena_tag) {
				out = 0;
			} else if (dpm_fp_entry_arena(entry, chunk) &&
				   dpm_fp_chunk_desc(p)->arena_socket == tc->socket_id) {
				out = DPM_FP_OUT_BIN;   /* another arena's */
			} else {
				goto hard;
			}
			chunk_ok = chunk;
		}
		bits = map[((uintptr_t)p - chunk) >> DPM_FP_LG_PAGE];
		if (PM_STATE(bits) == PM_LARGE) {
			/* A large run's first page: dpm_free()'s large easy
			 * path, then nothing kept across (it may flush). */
			chunk_ok = 1;
			dpm_fp_free_large((struct dpm_fp_tcache *)tc, p, bits);
			i++;
			continue;
		}
		if (PM_STATE(bits) != PM_SMALL)
			goto hard;
		tb = &bins[PM_BININD(bits) + out];
		head = tb->head;
		room = (dpm_fp_pos(head) - tb->full) / (uint32_t)sizeof(void *);
		/* The group: p validated but for its region check. */
		{
			const struct div_multiple mult = sc_bin_info[PM_BININD(bits)].mult;
			void **pp = ptrs + i, **end = pp + RTE_MIN(n - i, room);

			/* Regions of a power of two up to a page never straddle a
			 * page and runs start on one: the check is a mask. */
			if (mult.inv == 1 && mult.shift <= DPM_FP_LG_PAGE)
				pp = dpm_free_bulk_group(chunk, map, bits, &mult, true, pp, end, &head);
			else
				pp = dpm_free_bulk_group(chunk, map, bits, &mult, false, pp, end, &head);
			i = (unsigned int)(pp - ptrs);
		}
		tcache_bin_head_set(tb, head);
		if (i > start)
			continue;   /* the next group starts at i */
hard:
		/* The group's first pointer failed (or its stack is full):
		 * that one the slow way, nothing kept across. */
		chunk_ok = 1;
		dpm_free_hard(ptrs[i++]);
	}
}

void dpm_free_bulk(void **ptrs, unsigned int n)
{
	struct tcache *tc;
	void *batch[64];
	unsigned int k = 0, i;

	if (ptrs == NULL || n == 0)
		return;
	if (!dpm_query_ready())
		return;   /* rte_errno = E_RTE_NO_CONFIG before rte_eal_init() */
	tc = dpm_tcache_self();
	if (tc == NULL && rte_lcore_id() < RTE_MAX_LCORE)
		tc = dpm_lcore_tcache(rte_lcore_id());
	if (tc != NULL) {
		if (DPM_DEBUG_CHECKS || DPM_FP_WATCH) {
			/* Debug builds search the tcache, watched ones poison:
			 * both on the hard path, object by object. */
			for (i = 0; i < n; i++)
				dpm_free_hard(ptrs[i]);
			return;
		}
		dpm_free_bulk_easy(tc, ptrs, n);
		return;
	}
	/* No tcache: validate each, then return small objects to their bins
	 * in groups, one lock per group. */
	for (i = 0; i < n; i++) {
		struct dpm_obj obj;

		if (ptrs[i] == NULL)
			continue;
		if (dpm_obj_lookup(ptrs[i], &obj, true) != 0) {
			rte_errno = EINVAL;
			continue;
		}
		if (obj.cls >= SC_NBINS) {
			dpm_obj_free(ptrs[i], &obj);
			continue;
		}
		if (dpm_watch)
			dpm_watch_free(ptrs[i], obj.usable);
		batch[k++] = ptrs[i];
		if (k == RTE_DIM(batch)) {
			/* A double free is refused there (logged, counted):
			 * EINVAL, as dpm_free() says it. */
			if (tcache_return_batch_to(batch, k, UINT32_MAX, RETURN_RUNS_CHECKED) != 0)
				rte_errno = EINVAL;
			k = 0;
		}
	}
	if (k > 0 && tcache_return_batch_to(batch, k, UINT32_MAX, RETURN_RUNS_CHECKED) != 0)
		rte_errno = EINVAL;
}

/* ------------------------------------------------------------------------
 * Queries and maintenance.
 */

size_t dpm_usable_size(const void *ptr)
{
	struct dpm_obj obj;

	if (!dpm_query_ready() || ptr == NULL)
		return 0;
	if (dpm_obj_lookup(ptr, &obj, false) != 0) {
		rte_errno = EINVAL;
		return 0;
	}
	return obj.usable;
}

bool dpm_owns(const void *ptr)
{
	return dpm_query_ready() && rtree_lookup(ptr) != NULL;
}

int dpm_socket_of(const void *ptr)
{
	struct chunk_desc *desc;

	if (!dpm_query_ready())
		return -1;
	desc = rtree_lookup(ptr);
	if (desc == NULL) {
		rte_errno = EINVAL;
		return -1;
	}
	return desc->socket_id;
}

rte_iova_t dpm_virt2iova(const void *ptr)
{
	rte_iova_t iova;

	if (!dpm_query_ready())
		return RTE_BAD_IOVA;
	if (rtree_lookup(ptr) == NULL) {
		rte_errno = EINVAL;
		return RTE_BAD_IOVA;
	}
	iova = zone_source->virt2iova(NULL, ptr);
	if (iova == RTE_BAD_IOVA)
		rte_errno = EINVAL;
	return iova;
}

/* Trims never initialise the library: a periodic trim (a timer, a
 * telemetry hook) must not bring it back after dpm_fini(), and before any
 * use there is nothing to give back. */
static bool dpm_trim_ready(void)
{
	if (likely(__atomic_load_n(&dpm_state.ready, __ATOMIC_ACQUIRE)))
		return true;
	rte_errno = dpm_not_ready_errno();
	return false;
}

size_t dpm_trim_socket(int socket_id)
{
	struct dpm_socket *ds;

	if (!dpm_trim_ready())
		return 0;
	if (!dpm_socket_valid(socket_id)) {
		rte_errno = EINVAL;
		return 0;
	}
	ds = &dpm_state.sockets[socket_id];
	for (unsigned int i = 0; i < ds->narenas; i++) {
		arena_drain_all(ds->arenas[i]);
		arena_release_spare(ds->arenas[i]);
	}
	return chunk_trim(socket_id, false);
}

size_t dpm_trim(void)
{
	size_t bytes = 0;

	if (!dpm_trim_ready())
		return 0;
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (dpm_state.sockets[s].present)
			bytes += dpm_trim_socket(s);
	return bytes;
}

void dpm_tcache_flush(void)
{
	struct tcache *tc = dpm_tcache_self();

	if (tc != NULL) {
		tcache_flush_all(tc);
		dpm_arenas_drain_all();
	}
}
