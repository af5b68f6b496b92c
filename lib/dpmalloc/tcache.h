/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_TCACHE_H
#define DPM_TCACHE_H

/*
 * Per-lcore thread caches.
 *
 * One tcache per lcore id, found through dpm_fp_tcache_of[rte_lcore_id()] (no
 * TLS-keyed data). Per class a stack of cached pointers kept by a head
 * pointer (dpm_fp.h's struct dpm_fp_bin, drawn there): the newest at
 * head[0], the oldest at the bottom, next to the sentinel slot.
 *
 * A miss fills a batch (capacity >> lg_fill_div) from the arena bin under
 * one lock; a push onto a full stack flushes the oldest half, grouped by
 * arena so each bin lock is taken once per group. Only the owning lcore
 * touches its tcache, so the easy paths take no lock and no atomic, and
 * the free's easy path writes nothing but the stack and its head.
 *
 * GC runs from the lcore's own allocations and hard paths: every
 * TCACHE_GC_INCR events one class is examined; objects that stayed unused
 * since the last visit (the low water mark) are flushed, 3/4 of them, and
 * that class's fill halves; a class that ran dry since its last visit
 * doubles its fill. Each step also visits one large class (round robin
 * over those) and returns all of its unused objects: idle large bins, which
 * pin the most memory, go back first.
 *
 * Large classes share one byte budget per lcore (dpm_config's
 * tcache_large_budget), as tcmalloc's per-thread caches do, at no cost to
 * the easy paths: a large stack's limit (its full position) is a grant,
 * and the grants' bytes (sum of limit x size, large_granted) never exceed
 * the budget, or one object's size where that is larger. A stack starts
 * with no grant; a push onto a full stack (tcache_dalloc_hard()) grows its
 * limit by one, up to budget / size objects (within [1,
 * TCACHE_LARGE_MAX_OBJS]), taking bytes back from the other classes when
 * the budget is spent: unused grants first (free: the limit drops to the
 * depth), then objects unused since their class's last GC visit (idle),
 * largest class first; a class with no grant yet also takes the oldest
 * objects of the others, largest first, so that every class caches at
 * least one. Otherwise the stack flushes its oldest half, as a small
 * one does. So the lcore's cached large bytes stay within the budget, or
 * one object.
 *
 * Frees of another socket's memory never enter the stacks: they go to a
 * small remote buffer that is sent home in per-arena batches (at the
 * latest when its large objects pass the large budget, which so bounds
 * them too). Frees of
 * small objects of another arena of the same socket go to that class's
 * outbound stack (struct dpm_fp_tcache), never reused by this lcore, and
 * home whole to the owners' transfer caches (full, GC visit, flush); large
 * objects all come from the socket's first arena and use the class stacks.
 * So nothing migrates between sockets, and no lcore keeps reusing an object
 * another lcore allocated (passive false sharing).
 */

#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "dpm_fp.h"
#include "dpm_private.h"
#include "size_class.h"

#define TCACHE_GC_INCR 228      /* events between two GC steps (jemalloc's) */
#define TCACHE_LG_FILL_DIV_MAX 5
#define TCACHE_SMALL_BYTES (64u << 10)   /* per small class, see tcache.c */
#define TCACHE_SMALL_MAX_OBJS 1024u
#define TCACHE_LARGE_MAX_OBJS 20u   /* per large class (stacks are scanned) */
#define TCACHE_REMOTE_MAX 64
#define TCACHE_NBINS_MAX SC_NSIZES_MAX

/* One class of one tcache is dpm_fp.h's struct dpm_fp_bin: the inline fast
 * paths push and pop it. */
#define tcache_bin dpm_fp_bin

/* The first cache line and the bins are dpm_fp.h's struct dpm_fp_tcache
 * (checked in tcache.c). */
struct tcache {
	int32_t gc_ticker;         /* events left until the next GC step */
	int32_t socket_id;
	struct arena *arena;
	uintptr_t arena_tag;       /* arena->rtree_tag (TAG_NONE in tcache_none) */
	uint16_t gc_next;          /* the next class a GC step visits */
	uint16_t gc_next_large;    /* the next large class it also visits */
	unsigned int nbins;        /* classes cached: small + large <= max */
	unsigned int lcore_id;
	unsigned int nremote;
	uint64_t fills, flushes;
	/* Bytes granted to the large classes' stacks (their limits times
	 * their sizes); the most they may be is large_budget, below. */
	uint64_t large_granted;
	struct tcache_bin bins[TCACHE_NBINS_MAX];
	/* Outbound stacks (dpm_fp.h): frees of small objects of other arenas
	 * of the socket, flushed home whole when full, at each GC visit of
	 * their class and by a flush. Index TCACHE_OUT + cls. */
	struct tcache_bin out[SC_NBINS];
	void *remote[TCACHE_REMOTE_MAX];
	uint64_t gc_runs, remote_frees;
	/* Bytes of large objects in remote[]: the buffer goes home before
	 * they pass large_budget. */
	uint64_t remote_large;
	uint64_t large_budget;     /* (see above) */
} __rte_cache_aligned;

#define TCACHE_OUT DPM_FP_OUT_BIN

/*
 * Indexed by lcore id & TCACHE_OF_MASK: twice RTE_MAX_LCORE entries, so that
 * LCORE_ID_ANY (all ones) lands on an entry no lcore uses. Every entry
 * without a real tcache points at tcache_none, which is never written: its
 * stacks are empty (a malloc misses), and neither its arena tag nor its
 * socket matches any chunk (a free falls through). A non-lcore thread, an lcore without a tcache and an
 * uninitialised library thus cost the fast paths no test of their own.
 */
#define TCACHE_OF_LEN (2 * RTE_MAX_LCORE)
#define TCACHE_OF_MASK (TCACHE_OF_LEN - 1)
/* The table is dpm_fp.h's dpm_fp_tcache_of (the inline fast paths index
 * it), holding struct tcache pointers. */
extern DPM_HIDDEN struct tcache tcache_none;

/* The lcore's tcache, or tcache_none. */
static inline struct tcache *tcache_lookup(unsigned int lcore_id)
{
	return (struct tcache *)dpm_fp_tcache_of[lcore_id & TCACHE_OF_MASK];
}

/* Publish an lcore's tcache (tcache_none to withdraw it). */
static inline void tcache_publish(unsigned int lcore_id, struct tcache *tc)
{
	__atomic_store_n(&dpm_fp_tcache_of[lcore_id & TCACHE_OF_MASK], (struct dpm_fp_tcache *)tc,
			 __ATOMIC_RELEASE);
}

/* The lcore's tcache, or NULL: for everything but the easy paths. */
static inline struct tcache *tcache_get(unsigned int lcore_id)
{
	struct tcache *tc = (struct tcache *)__atomic_load_n(&dpm_fp_tcache_of[lcore_id & TCACHE_OF_MASK],
							    __ATOMIC_ACQUIRE);

	return tc != &tcache_none ? tc : NULL;
}

/* Pop a cached object, or NULL on a miss (dpm_fp.h). */
static inline void *tcache_alloc_easy(struct tcache_bin *tb)
{
	return dpm_fp_pop(tb);
}

/* Push a freed object; false when the stack is full (dpm_fp.h). */
static inline bool tcache_dalloc_easy(struct tcache_bin *tb, void *ptr)
{
	return dpm_fp_push(tb, ptr);
}

/* Move a stack's head: statistics read it from other threads. */
static inline void tcache_bin_head_set(struct tcache_bin *tb, void **head)
{
	__atomic_store_n(&tb->head, head, __ATOMIC_RELAXED);
}

/* Objects in a stack. Other threads may call it (statistics): it reads
 * the head once, relaxed. */
static inline unsigned int tcache_bin_ncached(const struct tcache_bin *tb)
{
	void **head = __atomic_load_n(&tb->head, __ATOMIC_RELAXED);

	return (uint32_t)(tb->empty - dpm_fp_pos(head)) / sizeof(void *);
}

/* A stack's capacity (a large class's: its current limit, see above). */
static inline unsigned int tcache_bin_capacity(const struct tcache_bin *tb)
{
	return (uint32_t)(tb->empty - tb->full) / sizeof(void *);
}

/* Least depth since the last GC visit. */
static inline unsigned int tcache_bin_low_water(const struct tcache_bin *tb)
{
	return (uint32_t)(tb->empty - tb->low_water) / sizeof(void *);
}

static inline void tcache_bin_low_water_set(struct tcache_bin *tb, unsigned int n)
{
	tb->low_water = tb->empty - n * (uint32_t)sizeof(void *);
}

/* The i-th cached object, newest first (i < tcache_bin_ncached()). */
static inline void *tcache_bin_obj(const struct tcache_bin *tb, unsigned int i)
{
	return tb->head[i];
}

/* Whether ptr is cached in the stack (a scan: for stacks of a few dozen
 * objects at most, such as large classes', or debug checks). */
static inline bool tcache_bin_holds(const struct tcache_bin *tb, const void *ptr)
{
	unsigned int n = tcache_bin_ncached(tb);

	for (unsigned int i = 0; i < n; i++)
		if (tb->head[i] == ptr)
			return true;
	return false;
}

/* Whether the lcore's tcache holds ptr of class cls as freed: in the class
 * stack, the outbound one, or the remote buffer (scans; a slow-path check,
 * for dpm_realloc()). */
bool tcache_holds(const struct tcache *tc, unsigned int cls, const void *ptr);

/* Frees the stack took from callers (derived: see dpm_fp.h). */
static inline uint64_t tcache_bin_nfree(const struct tcache_bin *tb)
{
	uint64_t nfill = dpm_counter_read(&tb->nfill);
	uint64_t taken = tcache_bin_ncached(tb) + dpm_counter_read(&tb->nmalloc) +
			 dpm_counter_read(&tb->nflush);

	/* A read racing the lcore may see a fill's count before its
	 * objects: never report less than nothing. */
	return taken > nfill ? taken - nfill : 0;
}

/*
 * Objects taken so far by a bulk allocation wait in a list threaded through
 * their first word (every object has at least 16 bytes), so that a failure
 * can give them back without having written to the caller's array. Pushes
 * obj and returns the new head.
 */
static inline void *tcache_bulk_chain(void *head, void *obj)
{
	*(void **)obj = head;
	return obj;
}

/* Count one event; runs a GC step when due. */
void tcache_event_hard(struct tcache *tc);
static inline void tcache_event(struct tcache *tc)
{
	if (unlikely(--tc->gc_ticker == 0))
		tcache_event_hard(tc);
}

/* The most objects large class cls may ever hold (its limit's ceiling). */
unsigned int tcache_large_capacity(unsigned int cls);

/* Pop n objects (1 <= n <= tcache_bin_ncached(tb)) into ptrs in one copy,
 * newest first, as n pops would hand them out: one head move, one count,
 * the low water moved once, the GC ticked n times. */
static inline void tcache_alloc_bulk_easy(struct tcache *tc, struct tcache_bin *tb, void **ptrs,
					  unsigned int n)
{
	void **head = tb->head;

	memcpy(ptrs, head, n * sizeof(void *));
	tcache_bin_head_set(tb, head + n);
	if ((uint32_t)(tb->low_water - dpm_fp_pos(head)) < n * (uint32_t)sizeof(void *))
		tb->low_water = dpm_fp_pos(head + n);
	__atomic_store_n(&tb->nmalloc, tb->nmalloc + n, __ATOMIC_RELAXED);
	tc->gc_ticker -= (int32_t)n;
	if (unlikely(tc->gc_ticker <= 0))
		tcache_event_hard(tc);
}

/* Set-up from the configuration: enabled or not, the largest size cached
 * (small classes always are), the large classes' byte budget per lcore.
 * Clears the cross-socket counters. */
void tcache_boot(bool enable, size_t max_size, size_t large_budget);

/* Bytes cached by a tcache, from its stacks' depths (any thread: read
 * relaxed, exact when the lcore is between two calls): all classes
 * (outbound stacks included) into *all, the large classes into *large. */
void tcache_cached_bytes(const struct tcache *tc, uint64_t *all, uint64_t *large);

/* Number of classes the tcache covers (0 when disabled). */
unsigned int tcache_nbins(void);

/* Size of the largest class the tcache covers (0 when disabled). */
extern DPM_HIDDEN size_t tcache_large_max;

/* The tcache of lcore_id, bound to arena a (of the lcore's socket),
 * created and published on first use; NULL when the tcache is disabled,
 * the id is not an lcore's, or memory is short. */
struct tcache *tcache_create(unsigned int lcore_id, struct arena *a);

/* Frees by lcores of socket [from] of memory of socket [to]: added per
 * batch (relaxed atomics), read by the statistics. */
extern DPM_HIDDEN uint64_t tcache_cross[RTE_MAX_NUMA_NODES][RTE_MAX_NUMA_NODES];

/* Miss: fill the stack from the arena and pop one (small classes), or
 * allocate directly (large classes). */
void *tcache_alloc_hard(struct tcache *tc, unsigned int cls);

/* Full stack: flush the oldest half, then push ptr; a large class may
 * grow its limit instead (see above). */
void tcache_dalloc_hard(struct tcache *tc, unsigned int cls, void *ptr);

/* Full outbound stack of class cls: send it home, then push ptr. */
void tcache_dalloc_out_hard(struct tcache *tc, unsigned int cls, void *ptr);

/* Free of another socket's memory (size: its class size): buffered, sent
 * home in batches, and before the large objects buffered pass the large
 * budget. */
void tcache_dalloc_remote(struct tcache *tc, void *ptr, size_t size);

/* Small class cls: n objects into ptrs, the cached top of the stack and
 * the rest straight from the bin in batches, each under one lock. All or
 * nothing: n, or 0 with rte_errno = ENOMEM (nothing taken). */
unsigned int tcache_alloc_bulk(struct tcache *tc, unsigned int cls, void **ptrs, unsigned int n);

/* Give every cached object back (and the remote buffer), straight to their
 * runs. Objects parked in transfer caches stay there: drain the arenas
 * (arena_drain_all()) for a full flush. */
void tcache_flush_all(struct tcache *tc);

/* Flush (as tcache_flush_all()) and unpublish the tcache of lcore_id
 * (lcore unregistration, fini). The memory is kept for the next thread
 * taking that lcore id. */
void tcache_destroy(unsigned int lcore_id);

/* Destroy every tcache and forget the spare memory (shutdown). */
void tcache_fini(void);

/* Return n small or large objects, grouped by arena and class; used by
 * flushes and by dpm_free_bulk on non-lcore threads. Objects of one class
 * when cls < SC_NSIZES_MAX, mixed when cls == UINT_MAX. Small batches may
 * park in the bins' transfer caches (park), or go straight to their runs. */
enum tcache_return {
	RETURN_PARK,           /* small batches may park in transfer caches */
	RETURN_RUNS,           /* straight to the runs */
	RETURN_RUNS_CHECKED,   /* straight to the runs, refusing parked objects */
};
#define TCACHE_RETURN_SLICE 256  /* objects validated and grouped at a time */
/* Returns how many were refused (double frees, logged and counted; a
 * parked batch is checked later, when it drains, and counts none here). */
unsigned int tcache_return_batch_to(void **ptrs, unsigned int n, unsigned int cls, enum tcache_return how);

#endif /* DPM_TCACHE_H */
