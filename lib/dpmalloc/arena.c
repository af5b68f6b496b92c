/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Arenas: bins and small runs first (the paths tcache fills and flushes
 * take), then run allocation and coalescing, then large objects (huge ones
 * are huge.c's).
 */

#include <assert.h>
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>

#include "arena.h"
#include "base.h"
#include "chunk.h"
#include "rtree.h"

size_t arena_map_bias;
size_t arena_usable_pages;

/* Per socket, the arena whose chunks hold every large run (the socket's
 * first arena), or NULL: each arena keeps its own (see arena_large_of). */
static struct arena *arena_large[RTE_MAX_NUMA_NODES];

/* dpmalloc.h's inline free reads the descriptor and the page map. */
static_assert(offsetof(struct chunk_desc, arena_socket) == offsetof(struct dpm_fp_desc, arena_socket) &&
	      offsetof(struct chunk_desc, arena) == offsetof(struct dpm_fp_desc, arena) &&
	      offsetof(struct arena_chunk, desc) == DPM_FP_DESC_OFFSET &&
	      offsetof(struct arena_chunk, map) == DPM_FP_MAP_OFFSET && PM_SMALL == DPM_FP_PM_SMALL &&
	      PM_LARGE == DPM_FP_PM_LARGE,
	      "fast-path mirror of the chunk header");

/* Transfer-cache slots of a class: BIN_XFER_BYTES of objects, a power of
 * two within [BIN_XFER_MIN, BIN_XFER_MAX]. */
static uint32_t bin_xfer_slots(unsigned int binind)
{
	uint32_t by_bytes = (uint32_t)(BIN_XFER_BYTES / sc_bin_info[binind].reg_size);

	return rte_align32prevpow2(RTE_MAX((uint32_t)BIN_XFER_MIN, RTE_MIN((uint32_t)BIN_XFER_MAX, by_bytes)));
}

/* The transfer cache's ring, from base, at the bin's first fill (so that a
 * class's metadata is all there once it has been used). Called with the bin
 * lock; stays NULL when base is out of memory (batches then go to runs). */
static void arena_bin_xfer_init(struct arena *a, struct bin *bin, unsigned int binind)
{
	uint32_t slots = bin_xfer_slots(binind);

	bin->xfer = base_alloc(a->socket_id, slots * sizeof(void *));
	bin->xfer_mask = slots - 1;
	bin->xfer_first = 0;
}

/* ------------------------------------------------------------------------
 * Pairing heap of runs ordered by address (metadata addresses increase with
 * the run's page within a chunk and with the chunk's address, so comparing
 * the run pointers compares the runs). Gives the lowest-addressed run in
 * O(1) and removes any run in amortised O(log n).
 */

/* Link two roots; returns the new root with no siblings. */
static struct run *ph_meld(struct run *a, struct run *b)
{
	if (a == NULL || b == NULL) {
		struct run *r = a != NULL ? a : b;

		if (r != NULL)
			r->ph_prev = r->ph_next = NULL;
		return r;
	}
	if (b < a) {
		struct run *t = a;
		a = b;
		b = t;
	}
	b->ph_prev = a;
	b->ph_next = a->ph_child;
	if (a->ph_child != NULL)
		a->ph_child->ph_prev = b;
	a->ph_child = b;
	a->ph_prev = a->ph_next = NULL;
	return a;
}

/* Meld a sibling list into one tree: pairs left to right, then the pairs
 * right to left (the two-pass rule that gives the amortised bound). */
static struct run *ph_meld_siblings(struct run *first)
{
	struct run *pairs = NULL, *root;

	while (first != NULL) {
		struct run *a = first, *b = a->ph_next;
		struct run *m;

		first = b != NULL ? b->ph_next : NULL;
		m = ph_meld(a, b);
		m->ph_next = pairs;
		pairs = m;
	}
	if (pairs == NULL)
		return NULL;
	root = pairs;
	pairs = pairs->ph_next;
	root->ph_next = NULL;
	while (pairs != NULL) {
		struct run *n = pairs;

		pairs = pairs->ph_next;
		root = ph_meld(root, n);
	}
	return root;
}

static void ph_insert(struct run **root, struct run *n)
{
	n->ph_prev = n->ph_next = n->ph_child = NULL;
	*root = ph_meld(*root, n);
}

static struct run *ph_remove_first(struct run **root)
{
	struct run *r = *root;

	if (r != NULL)
		*root = ph_meld_siblings(r->ph_child);
	return r;
}

static void ph_remove(struct run **root, struct run *n)
{
	if (n == *root) {
		ph_remove_first(root);
		return;
	}
	if (n->ph_prev->ph_child == n)
		n->ph_prev->ph_child = n->ph_next;
	else
		n->ph_prev->ph_next = n->ph_next;
	if (n->ph_next != NULL)
		n->ph_next->ph_prev = n->ph_prev;
	*root = ph_meld(*root, ph_meld_siblings(n->ph_child));
}

/* ------------------------------------------------------------------------
 * Free runs: a heap per size in pages, and a bitmap of non-empty sizes so
 * that best fit is a bit scan.
 */

static void avail_insert(struct arena *a, struct run *run, size_t npages)
{
	ph_insert(&a->runs_avail[npages], run);
	bitmap_set(a->avail_map, (unsigned int)npages);
}

static void avail_remove(struct arena *a, struct run *run, size_t npages)
{
	ph_remove(&a->runs_avail[npages], run);
	if (a->runs_avail[npages] == NULL)
		bitmap_unset(a->avail_map, (unsigned int)npages);
}

static void map_set_free(struct arena_chunk *chunk, size_t pageind, size_t npages)
{
	chunk->map[pageind] = PM_MAKE(PM_FREE, 0, npages);
	chunk->map[pageind + npages - 1] = PM_MAKE(PM_FREE, 0, npages);
}

/* ------------------------------------------------------------------------
 * Chunks of an arena.
 */

static void arena_chunk_init(struct arena *a, struct arena_chunk *chunk)
{
	size_t i;

	chunk->desc.arena = a;
	chunk->desc.addr = chunk;
	chunk->desc.size = DPM_CHUNK;
	chunk->desc.socket_id = a->socket_id;
	chunk->desc.arena_socket = a->socket_id;
	chunk->desc.kind = CHUNK_ARENA;
	chunk->desc.next = NULL;
	for (i = 0; i < arena_map_bias; i++)
		chunk->map[i] = PM_MAKE(PM_HEADER, 0, 0);
	for (i = arena_map_bias; i < DPM_CHUNK_NPAGES; i++)
		chunk->map[i] = PM_MAKE(PM_FREE, 0, 0);
	map_set_free(chunk, arena_map_bias, arena_usable_pages);
}

/* Get a new chunk from the socket and make all of it one free run. Called
 * with the arena lock. */
static int arena_chunk_add_locked(struct arena *a)
{
	struct arena_chunk *chunk = chunk_alloc(a->socket_id, 1, DPM_CHUNK, false);

	if (chunk == NULL)
		return -ENOMEM;
	/* Watched builds: no page is live until handed out; the header is. */
	DPM_FP_POISON(chunk, DPM_CHUNK);
	DPM_FP_UNPOISON(chunk, arena_map_bias << DPM_LG_PAGE);
	arena_chunk_init(a, chunk);
	if (rtree_set_arena(chunk, a->rtree_tag, a->socket_id) != 0) {
		chunk_dealloc(a->socket_id, chunk, 1);
		return -ENOMEM;
	}
	a->nchunks++;
	avail_insert(a, arena_run_of(chunk, arena_map_bias), arena_usable_pages);
	return 0;
}

/* Give a chunk back to the socket; idle_since: when it became empty (tsc),
 * so that the span's idle time counts from then. Called with the lock. */
static void arena_chunk_release(struct arena *a, struct arena_chunk *chunk, uint64_t idle_since)
{
	rtree_set(chunk, 1, NULL, a->socket_id);
	a->nchunks--;
	chunk_dealloc_idle(a->socket_id, chunk, 1, idle_since);
}

/*
 * A chunk became one free run. The first such chunk stays, free run and
 * all, in the free-run index as the spare, so an arena whose only object
 * comes and goes (a large object alone in its chunk) reuses it with no
 * extra work, and one oscillating around a chunk boundary does not go to
 * the socket each time. A second empty chunk goes back to the socket.
 * Returns whether the chunk stays (its run is then to be indexed). Called
 * with the arena lock.
 */
static bool arena_chunk_empty_locked(struct arena *a, struct arena_chunk *chunk)
{
	uint64_t now = rte_get_tsc_cycles();

	if (a->spare != NULL) {
		arena_chunk_release(a, chunk, now);
		return false;
	}
	/* Atomic stores: arena_decay_spare() peeks at the spare unlocked. */
	__atomic_store_n(&a->spare, chunk, __ATOMIC_RELAXED);
	__atomic_store_n(&a->spare_since, now, __ATOMIC_RELAXED);
	return true;
}

/* ------------------------------------------------------------------------
 * Runs.
 */

/* Take npages from the best-fitting free run (fewest pages, then lowest
 * address); the rest stays free. Pages are left for the caller to mark.
 * Called with the arena lock. */
static struct arena_chunk *arena_run_alloc_locked(struct arena *a, size_t npages, size_t *pageind)
{
	struct arena_chunk *chunk;
	struct run *run;
	int fit;
	size_t p, have;

	fit = bitmap_next_set(a->avail_map, RTE_DIM(a->avail_map), (unsigned int)npages);
	if (fit < 0) {
		if (arena_chunk_add_locked(a) != 0)
			return NULL;
		fit = bitmap_next_set(a->avail_map, RTE_DIM(a->avail_map), (unsigned int)npages);
		DPM_ASSERT(fit >= 0);
	}
	have = (size_t)fit;
	run = ph_remove_first(&a->runs_avail[have]);
	if (a->runs_avail[have] == NULL)
		bitmap_unset(a->avail_map, (unsigned int)have);
	chunk = arena_chunk_of(run);
	p = arena_run_pageind(run);
	if (chunk == a->spare)
		__atomic_store_n(&a->spare, NULL, __ATOMIC_RELAXED);  /* no longer empty */
	if (have > npages) {
		map_set_free(chunk, p + npages, have - npages);
		avail_insert(a, arena_run_of(chunk, p + npages), have - npages);
	}
	*pageind = p;
	return chunk;
}

/* Give pages [pageind, pageind + npages) back, merging with free
 * neighbours. An emptied chunk becomes the spare. Called with the lock. */
static void arena_run_dalloc_locked(struct arena *a, struct arena_chunk *chunk, size_t pageind,
				    size_t npages)
{
	size_t p = pageind, n = npages;

	if (p > arena_map_bias && PM_STATE(chunk->map[p - 1]) == PM_FREE) {
		size_t prev_n = PM_COUNT(chunk->map[p - 1]);

		p -= prev_n;
		n += prev_n;
		avail_remove(a, arena_run_of(chunk, p), prev_n);
	}
	if (p + n < DPM_CHUNK_NPAGES && PM_STATE(chunk->map[p + n]) == PM_FREE) {
		size_t next_n = PM_COUNT(chunk->map[p + n]);

		avail_remove(a, arena_run_of(chunk, p + n), next_n);
		n += next_n;
	}
	map_set_free(chunk, p, n);
	if (n != arena_usable_pages || arena_chunk_empty_locked(a, chunk))
		avail_insert(a, arena_run_of(chunk, p), n);
}

/* ------------------------------------------------------------------------
 * Bins: small regions.
 */

/* A new run for bin binind, its pages marked and bitmap all free. Takes the
 * arena lock (the caller holds the bin's). */
static struct run *arena_bin_run_new(struct arena *a, unsigned int binind)
{
	const struct bin_info *bi = &sc_bin_info[binind];
	struct arena_chunk *chunk;
	struct run *run;
	size_t p;

	/* The page map is the arena lock's: a neighbour's coalescing reads
	 * these pages' states under it. */
	dpm_lock(&a->lock);
	chunk = arena_run_alloc_locked(a, bi->run_pages, &p);
	if (chunk != NULL)
		for (size_t i = 0; i < bi->run_pages; i++)
			__atomic_store_n(&chunk->map[p + i],
					 PM_MAKE_SMALL(binind, i, (i << DPM_LG_PAGE) % bi->reg_size),
					 __ATOMIC_RELAXED);
	dpm_unlock(&a->lock);
	if (chunk == NULL)
		return NULL;
	run = arena_run_of(chunk, p);
	run->binind = (uint16_t)binind;
	run->nfree = bi->nregs;
	bitmap_init_free(run->bitmap, bi->nregs);
	return run;
}

/* Next run to allocate from: the lowest non-full one, or a new one. Called
 * with the bin lock, when runcur is full or absent. */
static struct run *arena_bin_refill_runcur(struct arena *a, struct bin *bin, unsigned int binind)
{
	struct run *run = ph_remove_first(&bin->nonfull);

	if (run == NULL) {
		run = arena_bin_run_new(a, binind);
		if (run == NULL)
			return NULL;
		bin->curruns++;
	}
	bin->runcur = run;
	return run;
}

/* nxfer is written under the bin lock but peeked without it (a GC step or
 * a drain skips an empty transfer cache): every write is atomic, so the
 * peeks race nothing; reads under the lock may stay plain. */
static inline void bin_nxfer_set(struct bin *bin, uint32_t n)
{
	__atomic_store_n(&bin->nxfer, n, __ATOMIC_RELAXED);
}

unsigned int arena_bin_fill(struct arena *a, unsigned int binind, void **out, unsigned int n)
{
	const struct bin_info *bi = &sc_bin_info[binind];
	struct bin *bin = &a->bins[binind];
	unsigned int got = 0;

	dpm_lock(&bin->lock);
	if (unlikely(bin->xfer == NULL))
		arena_bin_xfer_init(a, bin, binind);
	/* Flushed batches first, oldest first: a copy, no run metadata. */
	if (bin->nxfer > 0) {
		unsigned int take = RTE_MIN(n, bin->nxfer);

		for (; got < take; got++)
			out[got] = bin->xfer[(bin->xfer_first + got) & bin->xfer_mask];
		bin->xfer_first = (bin->xfer_first + take) & bin->xfer_mask;
		bin_nxfer_set(bin, bin->nxfer - take);
		if (bin->nxfer < bin->xfer_low)
			bin->xfer_low = bin->nxfer;
	}
	while (got < n) {
		struct run *run = bin->runcur;
		uintptr_t base;

		if (run == NULL || run->nfree == 0) {
			run = arena_bin_refill_runcur(a, bin, binind);
			if (run == NULL)
				break;
		}
		base = arena_page_addr(arena_chunk_of(run), arena_run_pageind(run));
		while (run->nfree > 0 && got < n) {
			unsigned int idx = bitmap_take_first(run->bitmap);

			run->nfree--;
			out[got++] = (void *)(base + (uintptr_t)idx * bi->reg_size);
		}
	}
	bin->nmalloc += got;
	bin->curregs += got;
	bin->nfills++;
	dpm_unlock(&bin->lock);

	if (got < n)
		rte_errno = ENOMEM;
	return got;
}

/* A run got its first free region: it becomes runcur if it is lower than
 * the current one (so allocation drifts to low addresses and high runs
 * empty out), else it waits in the heap. Called with the bin lock. */
static void arena_bin_lower_run(struct bin *bin, struct run *run)
{
	if (bin->runcur == NULL) {
		bin->runcur = run;
	} else if (run < bin->runcur) {
		if (bin->runcur->nfree > 0)
			ph_insert(&bin->nonfull, bin->runcur);
		bin->runcur = run;
	} else {
		ph_insert(&bin->nonfull, run);
	}
}

/* A pointer that is not a live object where one was expected: a double
 * free (or a free of a stale pointer). Logged and counted, never used. */
void arena_double_free(struct arena *a, const void *ptr, const char *what)
{
	__atomic_fetch_add(&a->ndouble_frees, 1, __ATOMIC_RELAXED);
	DPM_LOG(ERR, "double free of %p (%s): refused", ptr, what);
}

/*
 * The run of a region about to be freed into bin binind, or NULL when ptr
 * is not a live region of that bin: its chunk must still be this arena's
 * (the radix tree says so, not the chunk's bytes), its page a page of a
 * small run of that class, ptr a region start, and the region's bit in use.
 * A double free that reached a flush fails one of these: the run was freed
 * (its pages are free or belong to another run now), or the region is free.
 * Called with the bin lock, which keeps a run of this bin alive.
 */
static struct run *arena_bin_region_live_locked(struct arena *a, unsigned int binind,
						const struct bin_info *bi, const void *ptr,
						uint32_t *idx)
{
	struct arena_chunk *chunk = arena_chunk_of(ptr);
	struct chunk_desc *desc = rtree_lookup(ptr);
	size_t pageind = arena_pageind(chunk, ptr), run_page;
	uint32_t mapbits;
	struct run *run;

	if (desc != &chunk->desc || desc->kind != CHUNK_ARENA || desc->arena != a ||
	    pageind < arena_map_bias)
		return NULL;
	/* Pages of other bins' runs may change under the arena lock: read
	 * the word once, atomically; it is stable when it names this bin. */
	mapbits = __atomic_load_n(&chunk->map[pageind], __ATOMIC_RELAXED);
	if (PM_STATE(mapbits) != PM_SMALL || PM_BININD(mapbits) != binind ||
	    PM_RUN_OFFSET(mapbits) >= bi->run_pages || !arena_region_valid(mapbits, ptr))
		return NULL;
	run_page = pageind - PM_RUN_OFFSET(mapbits);
	if (run_page < arena_map_bias)
		return NULL;
	run = arena_run_of(chunk, run_page);
	*idx = div_compute(&bi->div, (uint32_t)((uintptr_t)ptr - arena_page_addr(chunk, run_page)));
	if (*idx >= bi->nregs || bitmap_get(run->bitmap, *idx))
		return NULL;
	return run;
}

/* Free one region into its run. Called with the bin lock. Returns false
 * when ptr is not a live region of the bin (a double free): nothing
 * changes then but the double-free count. count is false for
 * transfer-cache objects, already counted as freed (a refused one is
 * uncounted again, so the statistics balance). */
static bool arena_bin_dalloc_locked(struct arena *a, struct bin *bin, unsigned int binind,
				    const struct bin_info *bi, void *ptr, bool count)
{
	struct arena_chunk *chunk = arena_chunk_of(ptr);
	struct run *run;
	size_t run_page;
	uint32_t idx;

	run = arena_bin_region_live_locked(a, binind, bi, ptr, &idx);
	if (unlikely(run == NULL)) {
		arena_double_free(a, ptr, "not a live region of its class");
		if (!count) {
			bin->nfree--;
			bin->curregs++;
		}
		return false;
	}
	run_page = arena_run_pageind(run);
	bitmap_set(run->bitmap, idx);
	run->nfree++;
	if (count) {
		bin->nfree++;
		bin->curregs--;
	}
	if (run->nfree == bi->nregs) {
		/* Empty: back to the arena as free pages. */
		if (run == bin->runcur)
			bin->runcur = NULL;
		else if (bi->nregs > 1)
			ph_remove(&bin->nonfull, run);
		bin->curruns--;
		dpm_lock(&a->lock);
		for (size_t i = 0; i < bi->run_pages; i++)
			__atomic_store_n(&chunk->map[run_page + i], PM_MAKE(PM_FREE, 0, 0), __ATOMIC_RELAXED);
		arena_run_dalloc_locked(a, chunk, run_page, bi->run_pages);
		dpm_unlock(&a->lock);
	} else if (run->nfree == 1 && run != bin->runcur) {
		arena_bin_lower_run(bin, run);
	}
	return true;
}

/* Whether ptr sits in the bin's transfer cache. Called with the bin lock. */
static bool arena_bin_parked_locked(const struct bin *bin, const void *ptr)
{
	for (unsigned int i = 0; i < bin->nxfer; i++)
		if (bin->xfer[(bin->xfer_first + i) & bin->xfer_mask] == ptr)
			return true;
	return false;
}

unsigned int arena_bin_flush(struct arena *a, unsigned int binind, void *const *ptrs, unsigned int n,
			     bool check_parked)
{
	const struct bin_info *bi = &sc_bin_info[binind];
	struct bin *bin = &a->bins[binind];
	unsigned int freed = 0;

	dpm_lock(&bin->lock);
	for (unsigned int i = 0; i < n; i++) {
		/* A parked object is marked allocated in its run: only a look
		 * in the transfer cache tells that it was freed already. */
		if (check_parked && unlikely(arena_bin_parked_locked(bin, ptrs[i]))) {
			arena_double_free(a, ptrs[i], "in a transfer cache");
			continue;
		}
		freed += arena_bin_dalloc_locked(a, bin, binind, bi, ptrs[i], true);
	}
	bin->nflushes++;
	dpm_unlock(&bin->lock);
	return freed;
}

void arena_bin_flush_batch(struct arena *a, unsigned int binind, void *const *ptrs, unsigned int n)
{
	struct bin *bin = &a->bins[binind];

	dpm_lock(&bin->lock);
	if (unlikely(bin->xfer == NULL))
		arena_bin_xfer_init(a, bin, binind);
	if (bin->xfer != NULL && bin->nxfer + n <= bin->xfer_mask + 1) {
		for (unsigned int i = 0; i < n; i++)
			bin->xfer[(bin->xfer_first + bin->nxfer + i) & bin->xfer_mask] = ptrs[i];
		bin_nxfer_set(bin, bin->nxfer + n);
		bin->nfree += n;
		bin->curregs -= n;
		bin->nflushes++;
		dpm_unlock(&bin->lock);
		return;
	}
	dpm_unlock(&bin->lock);
	arena_bin_flush(a, binind, ptrs, n, false);
}

void arena_bin_xfer_drain(struct arena *a, unsigned int binind, bool all)
{
	const struct bin_info *bi = &sc_bin_info[binind];
	struct bin *bin = &a->bins[binind];
	unsigned int n;

	/* An unlocked peek: nothing parked is the common case. */
	if (__atomic_load_n(&bin->nxfer, __ATOMIC_RELAXED) == 0 && !all)
		return;
	dpm_lock(&bin->lock);
	n = all ? bin->nxfer : bin->xfer_low - bin->xfer_low / 4;
	/* The oldest first. */
	for (unsigned int i = 0; i < n; i++)
		arena_bin_dalloc_locked(a, bin, binind, bi, bin->xfer[(bin->xfer_first + i) & bin->xfer_mask],
					false);
	bin->xfer_first = (bin->xfer_first + n) & bin->xfer_mask;
	bin_nxfer_set(bin, bin->nxfer - n);
	bin->xfer_low = bin->nxfer;
	dpm_unlock(&bin->lock);
}

/* ------------------------------------------------------------------------
 * Large objects: whole-page runs.
 */

/* A large run of class cls at page p: its first page's word names the
 * class (the fast free reads it there, dpm_fp.h), its last the length. */
static void arena_run_mark_large(struct arena_chunk *chunk, size_t p, unsigned int cls)
{
	size_t npages = sc_class2size(cls) >> DPM_LG_PAGE;

	chunk->map[p] = PM_MAKE(PM_LARGE, cls, npages);
	if (npages > 1)
		chunk->map[p + npages - 1] = PM_MAKE(PM_LARGE_LAST, 0, npages);
}

static struct large_stats *arena_lstats(struct arena *a, size_t size)
{
	return &a->lstats[sc_size2class(size) - SC_NBINS];
}

/*
 * The arena that serves a large run for a. Large runs (14 KiB - 1.75 MiB)
 * come and go far less often than small regions, but each is a big share
 * of a chunk: spread over one arena per lcore, the pages freed by one
 * lcore's large objects sat unused in its chunks while the next lcore's
 * arena took new chunks (measured: 8 arenas, two thirds of their pages
 * free). With one arena per socket for them, every freed page serves the
 * next large run of any lcore, for one lock per large allocation or free
 * shared by the socket's lcores (tcaches still cache classes up to
 * tcache_max_size).
 */
static inline struct arena *arena_large_of(struct arena *a)
{
	struct arena *l = arena_large[a->socket_id];

	return l != NULL ? l : a;
}

void *arena_malloc_large(struct arena *a, unsigned int cls)
{
	size_t npages = sc_class2size(cls) >> DPM_LG_PAGE;
	struct arena_chunk *chunk;
	size_t p;

	DPM_ASSERT(cls >= SC_NBINS);
	a = arena_large_of(a);
	dpm_lock(&a->lock);
	chunk = arena_run_alloc_locked(a, npages, &p);
	if (chunk != NULL) {
		arena_run_mark_large(chunk, p, cls);
		a->lstats[cls - SC_NBINS].nmalloc++;
		a->lstats[cls - SC_NBINS].cur++;
	}
	dpm_unlock(&a->lock);
	if (chunk == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	return (void *)arena_page_addr(chunk, p);
}

void *arena_palloc_large(struct arena *a, unsigned int cls, size_t align)
{
	/* Runs hold whole large classes (so usable size, statistics and
	 * in-place realloc agree on the class), even for a small size;
	 * sc_classify() chose a class whose trimmed run fits a chunk. */
	size_t npages = sc_class2size(cls) >> DPM_LG_PAGE;
	size_t align_pages = align >> DPM_LG_PAGE;
	size_t total = npages + align_pages - 1;
	struct arena_chunk *chunk;
	size_t p, q, lead, trail;

	DPM_ASSERT(cls >= SC_NBINS && align > DPM_PAGE && total <= arena_usable_pages);
	a = arena_large_of(a);
	dpm_lock(&a->lock);
	chunk = arena_run_alloc_locked(a, total, &p);
	if (chunk != NULL) {
		/* Chunks are aligned to DPM_CHUNK >= align, so aligning the page
		 * index aligns the address. */
		q = DPM_ALIGN_UP(p, align_pages);
		lead = q - p;
		trail = total - lead - npages;
		arena_run_mark_large(chunk, q, cls);
		if (lead > 0)
			arena_run_dalloc_locked(a, chunk, p, lead);
		if (trail > 0)
			arena_run_dalloc_locked(a, chunk, q + npages, trail);
		a->lstats[cls - SC_NBINS].nmalloc++;
		a->lstats[cls - SC_NBINS].cur++;
	}
	dpm_unlock(&a->lock);
	if (chunk == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	return (void *)arena_page_addr(chunk, q);
}

bool arena_dalloc_large(struct arena *a, struct arena_chunk *chunk, const void *ptr)
{
	size_t pageind = arena_pageind(chunk, ptr);
	struct chunk_desc *desc;
	uint32_t bits = 0;
	size_t npages;
	struct large_stats *ls;

	dpm_lock(&a->lock);
	/* A second free of a large object finds its first page free or part
	 * of another run, or its chunk gone (an arena releases its chunks
	 * under this lock): refused. */
	desc = rtree_lookup(ptr);
	if (desc == &chunk->desc && desc->arena == a && pageind >= arena_map_bias &&
	    ((uintptr_t)ptr & DPM_PAGE_MASK) == 0)
		bits = chunk->map[pageind];
	if (unlikely(PM_STATE(bits) != PM_LARGE)) {
		dpm_unlock(&a->lock);
		arena_double_free(a, ptr, "not a live large object");
		return false;
	}
	npages = PM_COUNT(bits);
	ls = arena_lstats(a, npages << DPM_LG_PAGE);
	ls->nfree++;
	ls->cur--;
	chunk->map[pageind] = PM_MAKE(PM_FREE, 0, 0);
	if (npages > 1)
		chunk->map[pageind + npages - 1] = PM_MAKE(PM_FREE, 0, 0);
	arena_run_dalloc_locked(a, chunk, pageind, npages);
	dpm_unlock(&a->lock);
	return true;
}

bool arena_small_freed(struct arena *a, unsigned int binind, const void *ptr)
{
	struct bin *bin = &a->bins[binind];
	uint32_t idx;
	bool freed;

	dpm_lock(&bin->lock);
	freed = arena_bin_region_live_locked(a, binind, &sc_bin_info[binind], ptr, &idx) == NULL ||
		(bin->xfer != NULL && arena_bin_parked_locked(bin, ptr));
	dpm_unlock(&bin->lock);
	return freed;
}

bool arena_dead_pointer(struct arena_chunk *chunk, const void *ptr)
{
	struct arena *a = chunk->desc.arena;
	size_t pageind = arena_pageind(chunk, ptr);
	bool dead = true;

	if (pageind < arena_map_bias)
		return false;
	dpm_lock(&a->lock);
	switch (PM_STATE(chunk->map[pageind])) {
	case PM_FREE:
		/* Inner pages of a large run are marked free too: walk back
		 * to the run that holds the page. */
		for (size_t q = pageind; q-- > arena_map_bias;) {
			uint32_t bits = chunk->map[q];

			if (PM_STATE(bits) == PM_FREE)
				continue;
			if (PM_STATE(bits) == PM_LARGE && pageind < q + PM_COUNT(bits))
				dead = false;
			break;
		}
		break;
	default:
		dead = false;
	}
	dpm_unlock(&a->lock);
	if (dead)
		arena_double_free(a, ptr, "its pages are free");
	return dead;
}

bool arena_ralloc_large_in_place(struct arena_chunk *chunk, size_t pageind, unsigned int new_cls)
{
	struct arena *a = chunk->desc.arena;
	size_t old_n = PM_COUNT(chunk->map[pageind]);
	size_t new_n = sc_class2size(new_cls) >> DPM_LG_PAGE;
	struct large_stats *old_ls = arena_lstats(a, old_n << DPM_LG_PAGE);
	bool done = false;

	if (new_n == old_n)
		return true;
	dpm_lock(&a->lock);
	if (new_n < old_n) {
		/* Shrink: the tail becomes free pages. */
		if (old_n > 1)
			chunk->map[pageind + old_n - 1] = PM_MAKE(PM_FREE, 0, 0);
		arena_run_mark_large(chunk, pageind, new_cls);
		arena_run_dalloc_locked(a, chunk, pageind + new_n, old_n - new_n);
		done = true;
	} else {
		/* Grow: only into a free run right behind, big enough. */
		size_t next = pageind + old_n, need = new_n - old_n;

		if (next < DPM_CHUNK_NPAGES && PM_STATE(chunk->map[next]) == PM_FREE &&
		    PM_COUNT(chunk->map[next]) >= need) {
			size_t have = PM_COUNT(chunk->map[next]);

			avail_remove(a, arena_run_of(chunk, next), have);
			if (have > need) {
				map_set_free(chunk, next + need, have - need);
				avail_insert(a, arena_run_of(chunk, next + need), have - need);
			}
			if (old_n > 1)
				chunk->map[pageind + old_n - 1] = PM_MAKE(PM_FREE, 0, 0);
			chunk->map[next] = PM_MAKE(PM_FREE, 0, 0);
			arena_run_mark_large(chunk, pageind, new_cls);
			done = true;
		}
	}
	if (done) {
		old_ls->nfree++;
		old_ls->cur--;
		a->lstats[new_cls - SC_NBINS].nmalloc++;
		a->lstats[new_cls - SC_NBINS].cur++;
	}
	dpm_unlock(&a->lock);
	return done;
}

/* ------------------------------------------------------------------------
 * Set-up, statistics.
 */

void arena_boot(void)
{
	size_t bias = 0, prev;

	/* Fixed point: header pages for the pages the header describes. */
	do {
		size_t hdr = offsetof(struct arena_chunk, runs) +
			     (DPM_CHUNK_NPAGES - bias) * sizeof(struct run);

		prev = bias;
		bias = DPM_ALIGN_UP(hdr, DPM_PAGE) >> DPM_LG_PAGE;
	} while (bias != prev);
	arena_map_bias = bias;
	arena_usable_pages = DPM_CHUNK_NPAGES - bias;
	sc_boot(arena_usable_pages << DPM_LG_PAGE);
}

/* Geometry needs nothing from DPDK: build it when the library loads, so
 * the class table is readable before initialisation. */
RTE_INIT(arena_boot_early)
{
	arena_boot();
}

struct arena *arena_new(int socket_id, unsigned int index)
{
	struct arena *a = base_alloc(socket_id, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->index = index;
	a->socket_id = socket_id;
	a->rtree_tag = rtree_arena_tag(socket_id, index);
	dpm_lock_init(&a->lock);
	if (index == 0)
		arena_large[socket_id] = a;
	for (unsigned int i = 0; i < SC_NBINS; i++)
		dpm_lock_init(&a->bins[i].lock);
	return a;
}

void arena_class_stats_add(struct arena *a, unsigned int cls, uint64_t *nmalloc, uint64_t *nfree,
			   uint64_t *cur, uint64_t *curruns)
{
	if (cls < SC_NBINS) {
		struct bin *bin = &a->bins[cls];

		dpm_lock(&bin->lock);
		*nmalloc += bin->nmalloc;
		*nfree += bin->nfree;
		*cur += bin->curregs;
		*curruns += bin->curruns;
		dpm_unlock(&bin->lock);
	} else {
		dpm_lock(&a->lock);
		*nmalloc += a->lstats[cls - SC_NBINS].nmalloc;
		*nfree += a->lstats[cls - SC_NBINS].nfree;
		*cur += a->lstats[cls - SC_NBINS].cur;
		*curruns += a->lstats[cls - SC_NBINS].cur;
		dpm_unlock(&a->lock);
	}
}

uint64_t arena_xfer_bytes(struct arena *a)
{
	uint64_t bytes = 0;

	for (unsigned int i = 0; i < SC_NBINS; i++)
		bytes += (uint64_t)__atomic_load_n(&a->bins[i].nxfer, __ATOMIC_RELAXED) *
			 sc_bin_info[i].reg_size;
	return bytes;
}

unsigned int arena_spare_chunks(struct arena *a)
{
	unsigned int n;

	dpm_lock(&a->lock);
	n = a->spare != NULL;
	dpm_unlock(&a->lock);
	return n;
}

uint64_t arena_double_frees(struct arena *a)
{
	return __atomic_load_n(&a->ndouble_frees, __ATOMIC_RELAXED);
}

/* Give the spare back if it has been empty for at least idle cycles (0:
 * whatever its age). */
static void arena_release_spare_idle(struct arena *a, uint64_t idle)
{
	struct arena_chunk *spare;

	dpm_lock(&a->lock);
	spare = a->spare;
	if (spare != NULL && rte_get_tsc_cycles() - a->spare_since >= idle) {
		__atomic_store_n(&a->spare, NULL, __ATOMIC_RELAXED);
		avail_remove(a, arena_run_of(spare, arena_map_bias), arena_usable_pages);
		arena_chunk_release(a, spare, a->spare_since);
	}
	dpm_unlock(&a->lock);
}

void arena_release_spare(struct arena *a)
{
	arena_release_spare_idle(a, 0);
}

void arena_drain_all(struct arena *a)
{
	for (unsigned int b = 0; b < SC_NBINS; b++)
		if (__atomic_load_n(&a->bins[b].nxfer, __ATOMIC_RELAXED) != 0)
			arena_bin_xfer_drain(a, b, true);
}

void arena_decay_spare(struct arena *a)
{
	uint64_t idle = chunk_decay_cycles_get();

	/* An unlocked peek: a stale answer only delays the release. */
	if (idle == 0 || __atomic_load_n(&a->spare, __ATOMIC_RELAXED) == NULL)
		return;
	arena_release_spare_idle(a, idle);
}
