/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/* Thread caches: the hard halves (fill, flush, GC, remote frees). The easy
 * halves are inline in tcache.h. */

#include <assert.h>
#include <string.h>

#include "base.h"
#include "chunk.h"
#include "rtree.h"
#include "tcache.h"

struct dpm_fp_tcache *dpm_fp_tcache_of[TCACHE_OF_LEN];

uint64_t tcache_cross[RTE_MAX_NUMA_NODES][RTE_MAX_NUMA_NODES];

/* The inline fast paths see the tcache as dpm_fp.h's struct dpm_fp_tcache. */
static_assert(offsetof(struct tcache, gc_ticker) == offsetof(struct dpm_fp_tcache, gc_ticker) &&
	      offsetof(struct tcache, socket_id) == offsetof(struct dpm_fp_tcache, socket_id) &&
	      offsetof(struct tcache, arena) == offsetof(struct dpm_fp_tcache, arena) &&
	      offsetof(struct tcache, arena_tag) == offsetof(struct dpm_fp_tcache, arena_tag) &&
	      offsetof(struct tcache, out) == offsetof(struct dpm_fp_tcache, bins) +
					     TCACHE_OUT * sizeof(struct tcache_bin) &&
	      offsetof(struct tcache, bins) == offsetof(struct dpm_fp_tcache, bins),
	      "fast-path mirror of struct tcache");
static_assert(TCACHE_OF_MASK == DPM_FP_TCACHE_OF_MASK, "fast-path mirror");
static_assert(sizeof(struct dpm_fp_bin) == 64 && sizeof(struct tcache_bin) == 64,
	      "dpm_fp_bin_of_bits() addresses a stack by its class times 64");
struct tcache tcache_none = {
	.socket_id = INT32_MIN,    /* no chunk has it */
	.arena_tag = DPM_FP_RTREE_TAG_NONE,
	.lcore_id = LCORE_ID_ANY,
};

static void tcache_of_clear(void)
{
	for (unsigned int i = 0; i < TCACHE_OF_LEN; i++)
		tcache_publish(i, &tcache_none);
}

/* tcache_none's stacks: empty and full at once, on one sentinel slot. */
static void *tcache_none_slot;

/* Set a stack up on slots[0 .. cap] (slots[cap] the sentinel), empty. */
static void tcache_bin_init(struct tcache_bin *tb, void **slots, unsigned int cap)
{
	tb->head = slots + cap;
	tb->full = dpm_fp_pos(slots);
	tb->empty = dpm_fp_pos(slots + cap);
	tb->low_water = tb->empty;
	tb->lg_fill_div = 1;
}

RTE_INIT(tcache_of_boot)
{
	for (unsigned int cls = 0; cls < TCACHE_NBINS_MAX; cls++)
		tcache_bin_init(&tcache_none.bins[cls], &tcache_none_slot, 0);
	for (unsigned int cls = 0; cls < SC_NBINS; cls++)
		tcache_bin_init(&tcache_none.out[cls], &tcache_none_slot, 0);
	tcache_of_clear();
}

/* The mask trick needs a power of two. */
static_assert((RTE_MAX_LCORE & (RTE_MAX_LCORE - 1)) == 0, "RTE_MAX_LCORE must be a power of two");

/* Kept across unregistration so a thread taking the lcore id again reuses
 * the memory (base memory is never freed). */
static struct tcache *tcache_spare[RTE_MAX_LCORE];
static pthread_mutex_t tcache_create_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned int tcache_nbins_cfg;
size_t tcache_large_max;
static size_t tcache_large_budget_cfg;
static uint16_t tcache_capacity[TCACHE_NBINS_MAX];
static size_t tcache_slots_total;

/* Capacity of a small class: twice a run's regions (as jemalloc sizes it)
 * or TCACHE_SMALL_BYTES worth of objects, whichever is more (runs of
 * 160-256 B classes hold only 16-25 regions, which made flushes of 8-16
 * objects: a lock per handful in a pipeline), within [20,
 * TCACHE_SMALL_MAX_OBJS]: 1024 objects of 16-64 B, 512 of 128 B, 64 of
 * 1 KiB. Bursts of a few hundred objects then neither miss nor flush every
 * round. A full tcache holds at most TCACHE_SMALL_BYTES per small class.
 * Large classes: at most the lcore's large budget / size objects, within
 * [1, TCACHE_LARGE_MAX_OBJS]: with 1 MiB, 20 of 16 KiB, 16 of 64 KiB, 4 of
 * 256 KiB, 1 of 1 MiB; the budget also bounds all large classes together
 * (their limits, see tcache.h). */
static uint16_t tcache_small_capacity(unsigned int cls)
{
	unsigned int by_run = 2u * sc_bin_info[cls].nregs;
	unsigned int by_bytes = TCACHE_SMALL_BYTES / sc_bin_info[cls].reg_size;

	return (uint16_t)RTE_MAX(20u, RTE_MIN(TCACHE_SMALL_MAX_OBJS, RTE_MAX(by_run, by_bytes)));
}

void tcache_boot(bool enable, size_t max_size, size_t large_budget)
{
	unsigned int cls;

	/* Called by dpm_init() before the library is published ready, or
	 * after dpm_fini(); tcache_large_max alone is read before that (by
	 * dpm_malloc_hard()), so it is written once, atomically. */
	memset(tcache_cross, 0, sizeof(tcache_cross));
	tcache_nbins_cfg = 0;
	tcache_slots_total = 0;
	tcache_large_budget_cfg = large_budget;
	if (!enable) {
		__atomic_store_n(&tcache_large_max, 0, __ATOMIC_RELAXED);
		return;
	}
	for (cls = 0; cls < sc_nclasses && cls < TCACHE_NBINS_MAX; cls++) {
		size_t size = sc_class2size(cls);

		if (cls >= SC_NBINS && size > max_size)
			break;
		if (cls < SC_NBINS)
			tcache_capacity[cls] = tcache_small_capacity(cls);
		else
			tcache_capacity[cls] = (uint16_t)RTE_MAX(1u, RTE_MIN(TCACHE_LARGE_MAX_OBJS,
				(unsigned int)RTE_MIN(large_budget / size, (size_t)UINT16_MAX)));
		tcache_slots_total += tcache_capacity[cls] + 1u;   /* + the sentinel */
		if (cls < SC_NBINS)   /* the outbound stack */
			tcache_slots_total += tcache_capacity[cls] + 1u;
	}
	tcache_nbins_cfg = cls;
	__atomic_store_n(&tcache_large_max, cls > 0 ? sc_class2size(cls - 1) : 0, __ATOMIC_RELAXED);
}

unsigned int tcache_nbins(void)
{
	return tcache_nbins_cfg;
}

unsigned int tcache_large_capacity(unsigned int cls)
{
	return cls >= SC_NBINS && cls < tcache_nbins_cfg ? tcache_capacity[cls] : 0;
}

static void tcache_init(struct tcache *tc, void **slots, unsigned int lcore_id, struct arena *a)
{
	memset(tc, 0, sizeof(*tc));
	tc->lcore_id = lcore_id;
	tc->socket_id = a->socket_id;
	tc->arena = a;
	tc->arena_tag = a->rtree_tag;
	tc->nbins = tcache_nbins_cfg;
	tc->large_budget = tcache_large_budget_cfg;
	tc->gc_ticker = TCACHE_GC_INCR;
	for (unsigned int cls = 0; cls < tc->nbins; cls++) {
		tcache_bin_init(&tc->bins[cls], slots, tcache_capacity[cls]);
		if (cls >= SC_NBINS)   /* no grant yet: full and empty */
			tc->bins[cls].full = tc->bins[cls].empty;
		slots += tcache_capacity[cls] + 1u;
	}
	for (unsigned int cls = 0; cls < SC_NBINS; cls++) {
		if (cls < tc->nbins) {
			tcache_bin_init(&tc->out[cls], slots, tcache_capacity[cls]);
			slots += tcache_capacity[cls] + 1u;
		} else {
			tcache_bin_init(&tc->out[cls], &tcache_none_slot, 0);
		}
	}
}

struct tcache *tcache_create(unsigned int lcore_id, struct arena *a)
{
	struct tcache *tc;
	void **slots;

	if (tcache_nbins_cfg == 0 || lcore_id >= RTE_MAX_LCORE || a == NULL)
		return NULL;
	pthread_mutex_lock(&tcache_create_lock);
	tc = tcache_get(lcore_id);
	if (tc == NULL) {
		tc = tcache_spare[lcore_id];
		if (tc == NULL) {
			tc = base_alloc(a->socket_id, sizeof(*tc) + tcache_slots_total * sizeof(void *));
			tcache_spare[lcore_id] = tc;
		}
		if (tc != NULL) {
			slots = (void **)(tc + 1);
			tcache_init(tc, slots, lcore_id, a);
			tcache_publish(lcore_id, tc);
		}
	}
	pthread_mutex_unlock(&tcache_create_lock);
	return tc;
}

/* ------------------------------------------------------------------------
 * Returning objects to their arenas, grouped.
 */

/*
 * Class of a cached object, read from metadata the allocator owns: its
 * chunk must be an arena chunk the radix tree knows, its page that of a
 * small region or the first page of a large run. Objects enter tcaches
 * validated, so anything else is a double free whose first copy went back
 * already (its run, or its chunk, was freed since): SC_NSIZES_MAX then,
 * counted and logged. The chunk half is skipped when the caller validated
 * ptr's chunk already (chunk_ok, a chunk base, or 0), and on success the
 * chunk is stored there.
 */
static unsigned int tcache_class_of(const void *ptr, uintptr_t *chunk_ok)
{
	struct arena_chunk *chunk = arena_chunk_of(ptr);
	size_t pageind = arena_pageind(chunk, ptr);
	uint32_t bits;

	if ((uintptr_t)chunk != *chunk_ok) {
		struct chunk_desc *desc = rtree_lookup(ptr);

		if (desc != &chunk->desc || desc->kind != CHUNK_ARENA) {
			DPM_LOG(ERR, "double free of %p (its chunk was released): refused", ptr);
			return SC_NSIZES_MAX;
		}
		*chunk_ok = (uintptr_t)chunk;
	}
	if (pageind < arena_map_bias) {
		DPM_LOG(ERR, "double free of %p (its chunk was released): refused", ptr);
		return SC_NSIZES_MAX;
	}
	bits = __atomic_load_n(&chunk->map[pageind], __ATOMIC_RELAXED);
	if (PM_STATE(bits) == PM_SMALL && PM_BININD(bits) < SC_NBINS)
		return PM_BININD(bits);
	if (PM_STATE(bits) == PM_LARGE && PM_COUNT(bits) <= arena_usable_pages)
		return sc_size2class((size_t)PM_COUNT(bits) << DPM_LG_PAGE);
	arena_double_free(chunk->desc.arena, ptr, "its page holds no live object");
	return SC_NSIZES_MAX;
}

/*
 * tcache_return_slice() for a stack's flush, the common case: one small
 * class, one owning arena. One pass validates as tcache_class_of() does
 * (the radix tree once per chunk, the page map per object) and checks that
 * every chunk is the first one's arena's; then the slice goes back with
 * one bin lock. False, with nothing done, when an object fails or another
 * arena's shows up (an outbound stack of several owners): the general
 * rounds then validate again from scratch, logging what they refuse.
 * (Its checks are tcache_class_of()'s, written out: calling a shared
 * silent version of it measured 4-11% more consumer cycles per object in
 * the pipeline workloads.)
 */
static bool tcache_return_slice_one(void **ptrs, unsigned int n, unsigned int cls, enum tcache_return how,
				    unsigned int *refused)
{
	struct arena *a = NULL;
	uintptr_t chunk_ok = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct arena_chunk *chunk = arena_chunk_of(ptrs[i]);
		size_t pageind = arena_pageind(chunk, ptrs[i]);
		uint32_t bits;

		if ((uintptr_t)chunk != chunk_ok) {
			struct chunk_desc *desc = rtree_lookup(ptrs[i]);

			if (desc != &chunk->desc || desc->kind != CHUNK_ARENA ||
			    (a != NULL && desc->arena != a))
				return false;
			a = desc->arena;
			chunk_ok = (uintptr_t)chunk;
		}
		if (pageind < arena_map_bias)
			return false;
		bits = __atomic_load_n(&chunk->map[pageind], __ATOMIC_RELAXED);
		if (PM_STATE(bits) != PM_SMALL || PM_BININD(bits) != cls)
			return false;
	}
	if (how == RETURN_PARK)
		arena_bin_flush_batch(a, cls, ptrs, n);
	else
		*refused += n - arena_bin_flush(a, cls, ptrs, n, how == RETURN_RUNS_CHECKED);
	return true;
}

/*
 * Return n objects to their arenas. Each is validated first (see
 * tcache_class_of(); a class other than cls is a double free too), the
 * radix tree asked once per run of objects of one chunk: nothing goes
 * back before the whole slice is validated, so no chunk validated here
 * can be released meanwhile. A slice of one small class and one owner,
 * the common case, goes back in one pass (tcache_return_slice_one()).
 * Otherwise objects are grouped by (arena, class) so each bin lock is
 * taken once per group: the first object picks the group, matching
 * objects move to the group buffer, others are compacted for the next
 * round. Rounds are as many as groups (usually one or two). Two copies of
 * one pointer (a double free) always fall in one group, where the bin or
 * large path refuses the second under its lock; a small group that parks
 * (RETURN_PARK) parks both unchecked, and the refusal waits for the
 * transfer cache's drain.
 */
static unsigned int tcache_return_slice(void **ptrs, unsigned int n, unsigned int cls, enum tcache_return how)
{
	void *group[TCACHE_RETURN_SLICE];
	uint16_t classes[TCACHE_RETURN_SLICE];
	uintptr_t chunk_ok = 0;
	unsigned int i, m = 0, refused = 0;

	if (cls < SC_NBINS && n > 0 && tcache_return_slice_one(ptrs, n, cls, how, &refused))
		return refused;

	for (i = 0; i < n; i++) {
		unsigned int c = tcache_class_of(ptrs[i], &chunk_ok);

		if (unlikely(c == SC_NSIZES_MAX)) {
			refused++;
			continue;
		}
		if (unlikely(cls != UINT32_MAX && c != cls)) {
			arena_double_free(arena_chunk_of(ptrs[i])->desc.arena, ptrs[i],
					  "its page holds another class now");
			refused++;
			continue;
		}
		classes[m] = (uint16_t)c;
		ptrs[m++] = ptrs[i];
	}
	n = m;
	while (n > 0) {
		struct arena *a = arena_chunk_of(ptrs[0])->desc.arena;
		unsigned int c = classes[0];
		unsigned int k = 0, rest = 0;

		for (i = 0; i < n; i++) {
			void *p = ptrs[i];

			if (arena_chunk_of(p)->desc.arena == a && classes[i] == c) {
				group[k++] = p;
			} else {
				classes[rest] = classes[i];
				ptrs[rest++] = p;
			}
		}
		if (c < SC_NBINS && how == RETURN_PARK) {
			arena_bin_flush_batch(a, c, group, k);
		} else if (c < SC_NBINS) {
			refused += k - arena_bin_flush(a, c, group, k, how == RETURN_RUNS_CHECKED);
		} else {
			for (i = 0; i < k; i++)
				refused += !arena_dalloc_large(a, arena_chunk_of(group[i]), group[i]);
		}
		n = rest;
	}
	return refused;
}

unsigned int tcache_return_batch_to(void **ptrs, unsigned int n, unsigned int cls, enum tcache_return how)
{
	unsigned int refused = 0;

	/* Slices: a later slice is validated after the earlier ones went
	 * back, through the radix tree, so copies split across slices are
	 * caught too. */
	for (unsigned int i = 0; i < n; i += TCACHE_RETURN_SLICE)
		refused += tcache_return_slice(ptrs + i, RTE_MIN(n - i, (unsigned int)TCACHE_RETURN_SLICE),
					       cls, how);
	return refused;
}

/* Give back the n oldest objects of a stack (park: see
 * tcache_return_batch_to()). */
static void tcache_bin_flush_oldest_to(struct tcache *tc, struct tcache_bin *tb, unsigned int cls,
				       unsigned int n, bool park)
{
	unsigned int ncached = tcache_bin_ncached(tb), low = tcache_bin_low_water(tb);

	if (n == 0)
		return;
	/* The oldest n sit at the bottom; the rest move down over them. */
	tcache_return_batch_to(tb->head + (ncached - n), n, cls, park ? RETURN_PARK : RETURN_RUNS);
	memmove(tb->head + n, tb->head, (ncached - n) * sizeof(void *));
	tcache_bin_head_set(tb, tb->head + n);
	dpm_counter_add(&tb->nflush, n);
	/* The flushed ones were the idle ones first. */
	tcache_bin_low_water_set(tb, low > n ? low - n : 0);
}

static void tcache_bin_flush_oldest(struct tcache *tc, struct tcache_bin *tb, unsigned int cls,
				    unsigned int n)
{
	tcache_bin_flush_oldest_to(tc, tb, cls, n, true);
}

static void tcache_remote_flush_to(struct tcache *tc, bool park)
{
	unsigned int n = tc->nremote;

	if (n == 0)
		return;
	/* Count per destination socket: one atomic per socket per batch. */
	uint32_t per_socket[RTE_MAX_NUMA_NODES] = {0};

	for (unsigned int i = 0; i < n; i++)
		per_socket[arena_chunk_of(tc->remote[i])->desc.socket_id]++;
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (per_socket[s] != 0)
			__atomic_fetch_add(&tcache_cross[tc->socket_id][s], per_socket[s], __ATOMIC_RELAXED);
	tc->nremote = 0;
	tc->remote_large = 0;
	tcache_return_batch_to(tc->remote, n, UINT32_MAX, park ? RETURN_PARK : RETURN_RUNS);
}

static void tcache_remote_flush(struct tcache *tc)
{
	tcache_remote_flush_to(tc, true);
}

/* ------------------------------------------------------------------------
 * Hard halves.
 */

void *tcache_alloc_hard(struct tcache *tc, unsigned int cls)
{
	struct tcache_bin *tb = &tc->bins[cls];
	void *p;

	tb->ran_dry = 1;
	if (cls >= SC_NBINS) {
		/* Counted as a fill of one and its pop. */
		p = arena_malloc_large(tc->arena, cls);
		if (p != NULL) {
			dpm_counter_add(&tb->nfill, 1);
			dpm_counter_add(&tb->nmalloc, 1);
		}
		return p;
	}
	/* Called on a miss: the stack is empty, head at the bottom. */
	void **bottom = tb->head;
	unsigned int want = RTE_MAX(1u, tcache_bin_capacity(tb) >> tb->lg_fill_div);
	unsigned int got;

	DPM_ASSERT(tcache_bin_ncached(tb) == 0);
	got = arena_bin_fill(tc->arena, cls, bottom - want, want);
	if (got == 0)
		return NULL;
	if (got < want)
		memmove(bottom - got, bottom - want, got * sizeof(void *));
	tcache_bin_head_set(tb, bottom - got);   /* out[0], the lowest address, pops first */
	dpm_counter_add(&tb->nfill, got);
	dpm_counter_add(&tc->fills, 1);
	return tcache_alloc_easy(tb);
}

/* ------------------------------------------------------------------------
 * Large classes' limits under the lcore's byte budget (see tcache.h).
 */

/* Set large class cls's limit (not below its depth): its full position,
 * and the grants' bytes. */
static void tcache_large_limit_set(struct tcache *tc, unsigned int cls, unsigned int limit)
{
	struct tcache_bin *tb = &tc->bins[cls];
	uint64_t size = sc_class2size(cls);

	DPM_ASSERT(limit >= tcache_bin_ncached(tb) && limit <= tcache_capacity[cls]);
	tc->large_granted = tc->large_granted - tcache_bin_capacity(tb) * size + limit * size;
	tb->full = tb->empty - limit * (uint32_t)sizeof(void *);
}

/*
 * Take back grants of classes other than cls until at most target bytes
 * are granted: unused grants (limits above depths) first, then idle
 * objects (below the low water mark: unused since the class's last GC
 * visit, which would return them anyway; all of a class's), then, with
 * used, the oldest objects, only as many as needed; each pass from the
 * largest class down. Each class's objects go back in one batch.
 */
static void tcache_large_reclaim(struct tcache *tc, unsigned int cls, uint64_t target, bool used)
{
	unsigned int c, flushed = 0;

	for (c = tc->nbins; c-- > SC_NBINS && tc->large_granted > target;)
		if (c != cls)
			tcache_large_limit_set(tc, c, tcache_bin_ncached(&tc->bins[c]));
	for (c = tc->nbins; c-- > SC_NBINS && tc->large_granted > target;) {
		struct tcache_bin *tb = &tc->bins[c];
		unsigned int idle = tcache_bin_low_water(tb);

		if (c == cls || idle == 0)
			continue;
		tcache_bin_flush_oldest(tc, tb, c, idle);
		tcache_bin_low_water_set(tb, 0);   /* what is left was used */
		tcache_large_limit_set(tc, c, tcache_bin_ncached(tb));
		flushed++;
	}
	for (c = tc->nbins; used && c-- > SC_NBINS && tc->large_granted > target;) {
		struct tcache_bin *tb = &tc->bins[c];
		uint64_t size = sc_class2size(c);
		unsigned int n = tcache_bin_ncached(tb);

		if (c == cls || n == 0)
			continue;
		n = (unsigned int)RTE_MIN((uint64_t)n, (tc->large_granted - target + size - 1) / size);
		tcache_bin_flush_oldest(tc, tb, c, n);
		tcache_large_limit_set(tc, c, tcache_bin_ncached(tb));
		flushed++;
	}
	if (flushed != 0)
		dpm_counter_add(&tc->flushes, 1);
}

/* A push onto a full large stack: grow its limit by one object within
 * the budget (a class with no grant always gets one), or else flush. */
static bool tcache_large_grow(struct tcache *tc, unsigned int cls)
{
	struct tcache_bin *tb = &tc->bins[cls];
	unsigned int limit = tcache_bin_capacity(tb);
	uint64_t size = sc_class2size(cls), budget = tc->large_budget;

	if (limit >= tcache_capacity[cls])
		return false;
	if (tc->large_granted + size > budget)
		tcache_large_reclaim(tc, cls, budget > size ? budget - size : 0, limit == 0);
	if (tc->large_granted + size > budget && limit > 0)
		return false;
	tcache_large_limit_set(tc, cls, limit + 1);
	DPM_ASSERT(tc->large_granted <= RTE_MAX(budget, size));
	return true;
}

void tcache_dalloc_hard(struct tcache *tc, unsigned int cls, void *ptr)
{
	struct tcache_bin *tb = &tc->bins[cls];

	if (cls < SC_NBINS || !tcache_large_grow(tc, cls)) {
		/* Half, and at least one: a large class may hold only one. */
		tcache_bin_flush_oldest(tc, tb, cls, RTE_MAX(1u, tcache_bin_capacity(tb) / 2));
		dpm_counter_add(&tc->flushes, 1);
	}
	tcache_dalloc_easy(tb, ptr);
	/* Frees tick no GC on their easy path: hard ones do, so that an lcore
	 * that only frees still runs its GC steps. */
	tcache_event(tc);
}

/* Send an outbound stack home whole: its objects go to their arenas'
 * transfer caches, grouped, where the owners' next fills find them. */
static void tcache_out_flush(struct tcache *tc, unsigned int cls, bool park)
{
	struct tcache_bin *tb = &tc->out[cls];

	tcache_bin_flush_oldest_to(tc, tb, cls, tcache_bin_ncached(tb), park);
	tb->low_water = tb->empty;
}

void tcache_dalloc_out_hard(struct tcache *tc, unsigned int cls, void *ptr)
{
	tcache_out_flush(tc, cls, true);
	dpm_counter_add(&tc->flushes, 1);
	tcache_dalloc_easy(&tc->out[cls], ptr);
	tcache_event(tc);
}

void tcache_dalloc_remote(struct tcache *tc, void *ptr, size_t size)
{
	tc->remote[tc->nremote++] = ptr;
	dpm_counter_add(&tc->remote_frees, 1);
	if (size > SC_SMALL_MAX)
		tc->remote_large += size;
	if (tc->nremote == TCACHE_REMOTE_MAX || tc->remote_large > tc->large_budget)
		tcache_remote_flush(tc);
}

bool tcache_holds(const struct tcache *tc, unsigned int cls, const void *ptr)
{
	if (cls < tc->nbins && tcache_bin_holds(&tc->bins[cls], ptr))
		return true;
	if (cls < SC_NBINS && tcache_bin_holds(&tc->out[cls], ptr))
		return true;
	for (unsigned int i = 0; i < tc->nremote; i++)
		if (tc->remote[i] == ptr)
			return true;
	return false;
}

void tcache_cached_bytes(const struct tcache *tc, uint64_t *all, uint64_t *large)
{
	*all = *large = 0;
	for (unsigned int cls = 0; cls < tc->nbins; cls++) {
		uint64_t bytes = (uint64_t)tcache_bin_ncached(&tc->bins[cls]) * sc_class2size(cls);

		if (cls < SC_NBINS)
			bytes += (uint64_t)tcache_bin_ncached(&tc->out[cls]) * sc_class2size(cls);
		else
			*large += bytes;
		*all += bytes;
	}
}

/* The inline malloc's entry to the GC step (dpm_fp.h). Returns the object, so that the inline malloc reaches it by a tail call
 * and keeps no register across it. */
void *dpm_malloc_event_hard(struct dpm_fp_tcache *tc, void *p)
{
	tcache_event_hard((struct tcache *)tc);
	return p;
}

/* A GC visit of one large class: everything unused since the last visit
 * goes back (large objects pin whole pages; a burst's leftovers should not
 * wait for the round robin over every class). */
static void tcache_gc_large(struct tcache *tc)
{
	unsigned int nlarge = tc->nbins > SC_NBINS ? tc->nbins - SC_NBINS : 0;
	unsigned int cls;
	struct tcache_bin *tb;

	if (nlarge == 0)
		return;
	cls = SC_NBINS + tc->gc_next_large;
	tc->gc_next_large = (uint16_t)(tc->gc_next_large + 1u < nlarge ? tc->gc_next_large + 1u : 0);
	tb = &tc->bins[cls];
	tcache_bin_flush_oldest(tc, tb, cls, tcache_bin_low_water(tb));
	tb->low_water = dpm_fp_pos(tb->head);
}

void tcache_event_hard(struct tcache *tc)
{
	unsigned int cls = tc->gc_next;
	struct tcache_bin *tb = &tc->bins[cls];
	/* A GC step runs inside a caller's malloc or free, which must not
	 * see what the step's own calls (a span given back) leave in
	 * rte_errno. */
	int saved_errno = rte_errno;

	tc->gc_ticker = TCACHE_GC_INCR;
	tc->gc_next = (uint16_t)(cls + 1 < tc->nbins ? cls + 1 : 0);
	dpm_counter_add(&tc->gc_runs, 1);
	unsigned int low = tcache_bin_low_water(tb);

	if (low > 0) {
		/* Objects nobody asked for since the last visit: return 3/4 of
		 * them and fill less next time. */
		tcache_bin_flush_oldest(tc, tb, cls, low - low / 4);
		if (cls < SC_NBINS && (tcache_bin_capacity(tb) >> (tb->lg_fill_div + 1)) >= 1 &&
		    tb->lg_fill_div < TCACHE_LG_FILL_DIV_MAX)
			tb->lg_fill_div++;
	} else if (tb->ran_dry && tb->lg_fill_div > 1) {
		tb->lg_fill_div--;
	}
	tb->low_water = dpm_fp_pos(tb->head);
	tb->ran_dry = 0;
	if (cls < SC_NBINS) {
		if (tcache_bin_ncached(&tc->out[cls]) != 0)
			tcache_out_flush(tc, cls, true);
		arena_bin_xfer_drain(tc->arena, cls, false);
	}
	tcache_gc_large(tc);
	tcache_remote_flush(tc);
	rte_errno = saved_errno;
}

/* Small class through the tcache: the cached top of the stack, and the rest
 * straight from the bin in batches, each under one lock. */
unsigned int tcache_alloc_bulk(struct tcache *tc, unsigned int cls, void **ptrs, unsigned int n)
{
	struct tcache_bin *tb = &tc->bins[cls];
	unsigned int ncached = tcache_bin_ncached(tb);
	unsigned int room = tcache_bin_capacity(tb) - ncached;
	unsigned int need = n > ncached ? n - ncached : 0;
	void *chain = NULL, *batch[64];
	unsigned int got = 0, i;

	if (need > 0 && need <= room) {
		/* Fill the stack as a miss fills it (a batch of capacity >>
		 * lg_fill_div, at least what is missing), then take all n from
		 * it: a producer that never gets frees back takes the bin lock
		 * once per batch, not once per call. A failure leaves what came
		 * cached, and writes nothing to ptrs. */
		unsigned int want = RTE_MIN(room, RTE_MAX(need, tcache_bin_capacity(tb) >> tb->lg_fill_div));

		got = arena_bin_fill(tc->arena, cls, tb->head - want, want);
		if (got < want && got > 0)
			memmove(tb->head - got, tb->head - want, got * sizeof(void *));
		tcache_bin_head_set(tb, tb->head - got);
		dpm_counter_add(&tb->nfill, got);
		dpm_counter_add(&tc->fills, 1);
		tb->ran_dry = 1;
		if (got < need) {
			rte_errno = ENOMEM;
			return 0;
		}
		/* n pops from here would have emptied the stack first. */
		memcpy(ptrs, tb->head, n * sizeof(void *));
		tcache_bin_head_set(tb, tb->head + n);
		tcache_bin_low_water_set(tb, 0);
		dpm_counter_add(&tb->nmalloc, n);
		return n;
	}
	while (got < need) {
		unsigned int want = RTE_MIN(need - got, (unsigned int)RTE_DIM(batch));
		unsigned int k = arena_bin_fill(tc->arena, cls, batch, want);

		for (i = 0; i < k; i++)
			chain = tcache_bulk_chain(chain, batch[i]);
		got += k;
		if (k < want)
			break;
	}
	if (got < need) {
		/* Give the partial batch back; the caller retries object by
		 * object, where the socket policy (fallback) and the ENOMEM
		 * count apply as for dpm_malloc(). */
		while (chain != NULL) {
			for (i = 0; i < RTE_DIM(batch) && chain != NULL; i++) {
				batch[i] = chain;
				chain = *(void **)chain;
			}
			arena_bin_flush(tc->arena, cls, batch, i, false);
		}
		rte_errno = ENOMEM;
		return 0;
	}
	for (i = 0; i < need; i++) {
		ptrs[i] = chain;
		chain = *(void **)chain;
	}
	if (need > 0) {
		tb->ran_dry = 1;
		dpm_counter_add(&tb->nfill, need);   /* counted as filled and popped */
	}
	memcpy(ptrs + need, tb->head, (n - need) * sizeof(void *));
	tcache_bin_head_set(tb, tb->head + (n - need));
	if (tcache_bin_low_water(tb) > ncached - (n - need))
		tb->low_water = dpm_fp_pos(tb->head);
	dpm_counter_add(&tb->nmalloc, n);
	return n;
}

void tcache_flush_all(struct tcache *tc)
{
	for (unsigned int cls = 0; cls < tc->nbins; cls++) {
		struct tcache_bin *tb = &tc->bins[cls];

		tcache_bin_flush_oldest_to(tc, tb, cls, tcache_bin_ncached(tb), false);
		tb->low_water = tb->empty;
		if (cls < SC_NBINS)
			tcache_out_flush(tc, cls, false);
	}
	tcache_remote_flush_to(tc, false);
}

void tcache_destroy(unsigned int lcore_id)
{
	struct tcache *tc;

	if (lcore_id >= RTE_MAX_LCORE)
		return;
	pthread_mutex_lock(&tcache_create_lock);
	tc = tcache_get(lcore_id);
	tcache_publish(lcore_id, &tcache_none);
	pthread_mutex_unlock(&tcache_create_lock);
	if (tc != NULL)
		tcache_flush_all(tc);
}

void tcache_fini(void)
{
	for (unsigned int i = 0; i < RTE_MAX_LCORE; i++) {
		tcache_destroy(i);
		tcache_spare[i] = NULL;   /* its memory goes with base */
	}
}
