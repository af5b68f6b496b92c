/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#include <errno.h>
#include <string.h>

#include <rte_cycles.h>

#include "base.h"
#include "bitmap.h"
#include "chunk.h"
#include "dpm_private.h"
#include "zone.h"

/* Span descriptors are recycled, never freed, and sized for at least this
 * many chunks so any later span up to max_span_size fits a recycled one. */
#define SPAN_MIN_CAPACITY 512

/* Spans grow by the footprint divided by this (see span_reserve_locked). */
#define CHUNK_GROWTH_DIV 8
/* Below this the footprint doubles instead: spans are few, and a memzone
 * that is not headed (zone.h: a huge object's, or where DPDK's heap did
 * not grow for it) takes the hugepage before it for its header, so small
 * spans can cost more than they save. */
#define CHUNK_GROWTH_DOUBLE_MAX ((size_t)32 << 20)

struct span {
	struct span *next;          /* address order */
	uintptr_t base;
	size_t nchunks, nfree, capacity;
	size_t maxrun;              /* at least the longest free run (exact after a full scan) */
	uint64_t free_since;        /* tsc: all free since (the latest chunk freed since the last allocation) */
	struct zone_span zone;
	uint64_t freemap[];         /* 1 = free chunk */
};

/* Per socket. lock covers spans, spare and every counter. */
struct chunk_socket {
	dpm_lock_t lock;
	struct span *spans;
	struct span *spare;         /* recycled descriptors */
	size_t limit;
	size_t nfree;               /* free chunks in all spans */
	struct chunk_socket_stats stats;
} __rte_cache_aligned;

static struct chunk_socket chunk_sockets[RTE_MAX_NUMA_NODES];
static size_t chunk_first_span, chunk_max_span;
static uint64_t chunk_decay_cycles;

void chunk_boot(const struct chunk_config *cfg)
{
	chunk_first_span = DPM_ALIGN_UP(RTE_MAX(cfg->first_span_size, DPM_CHUNK), DPM_CHUNK);
	chunk_max_span = DPM_ALIGN_UP(RTE_MAX(cfg->max_span_size, chunk_first_span), DPM_CHUNK);
	/* Saturated: a decay past 2^64 cycles (some 200 years) is never,
	 * not a product that wrapped to a few milliseconds. */
	uint64_t per_ms = RTE_MAX(rte_get_tsc_hz() / 1000, (uint64_t)1);

	chunk_decay_cycles = cfg->span_decay_ms > UINT64_MAX / per_ms ? UINT64_MAX : cfg->span_decay_ms * per_ms;
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		struct chunk_socket *cs = &chunk_sockets[s];

		memset(cs, 0, sizeof(*cs));
		dpm_lock_init(&cs->lock);
		cs->limit = cfg->socket_limit[s];
	}
}

static size_t span_words(size_t nchunks)
{
	return (nchunks + 63) / 64;
}

/*
 * Best fit in one span: the free run (maximal stretch of free chunks) with
 * the fewest chunks that holds nchunks aligned ones. A multi-chunk object
 * (high) takes the highest such run and its highest aligned place; a
 * single chunk the lowest run and its lowest chunk. An exact fit ends the
 * search at once, so of several exact fits both take the lowest (the
 * first found): not scanning on is worth more than the side. *run_len is the best
 * run length seen so far (in spans looked at before) and gets the new
 * one. whole: for a huge object, which owns its chunks from their first
 * byte, so not in a headed span's first chunk. Returns the chunk index, or
 * -1 when nothing here beats *run_len.
 */
static long span_find_best(struct span *sp, size_t nchunks, size_t align, bool high, bool whole,
			   size_t *run_len)
{
	size_t step = align / DPM_CHUNK;
	size_t skew = (DPM_ALIGN_UP(sp->base, align) - sp->base) / DPM_CHUNK;
	/* A headed span's first chunk is for arena chunks only. */
	size_t first = whole && sp->zone.head != 0 ? 1 : 0;
	size_t i = first, longest = 0;
	long best = -1;

	/* The bound lets a search for a long run skip a span of short ones
	 * without reading its bitmap. */
	if (sp->maxrun < nchunks)
		return -1;
	while (i < sp->nchunks && *run_len > nchunks) {
		size_t j, len, q;

		if (!bitmap_get(sp->freemap, i)) {
			/* A word of used chunks at once. */
			if ((i & 63) == 0 && sp->freemap[i / 64] == 0)
				i += 64;
			else
				i++;
			continue;
		}
		for (j = i; j < sp->nchunks && bitmap_get(sp->freemap, j); j++)
			;
		/* [i, j) is a free run. */
		len = j - i;
		longest = RTE_MAX(longest, len);
		if (len >= nchunks && (len < *run_len || (high && len == *run_len)) && j - nchunks >= skew) {
			if (high) {
				q = j - nchunks;
				q = skew + (q - skew) / step * step;
			} else {
				q = RTE_MAX(i, skew);
				q = skew + DPM_ALIGN_UP(q - skew, step);
			}
			if (q >= i && q + nchunks <= j) {
				best = (long)q;
				*run_len = len;
			}
		}
		i = j;
	}
	if (i >= sp->nchunks && first == 0)
		sp->maxrun = longest;   /* scanned it all */
	return best;
}

static void span_mark(struct span *sp, size_t first, size_t n, bool free)
{
	for (size_t i = first; i < first + n; i++) {
		if (free)
			bitmap_set(sp->freemap, i);
		else
			bitmap_unset(sp->freemap, i);
	}
}

/* A descriptor for nchunks: a recycled one with room, else a new one. */
static struct span *span_desc_get_locked(struct chunk_socket *cs, int socket_id, size_t nchunks)
{
	struct span **pp, *sp;
	size_t capacity;

	for (pp = &cs->spare; (sp = *pp) != NULL; pp = &sp->next) {
		if (sp->capacity >= nchunks) {
			*pp = sp->next;
			return sp;
		}
	}
	capacity = RTE_MAX(nchunks, (size_t)SPAN_MIN_CAPACITY);
	sp = base_alloc(socket_id, sizeof(*sp) + span_words(capacity) * sizeof(uint64_t));
	if (sp != NULL)
		sp->capacity = capacity;
	return sp;
}

/*
 * Reserve a span with room for nchunks aligned chunks. Its size is the
 * footprint itself below 32 MiB (doubling it), 32 MiB until the footprint
 * reaches 256 MiB, then an eighth of the footprint (so spans stay
 * logarithmic in number -- about 50 for 16 GiB -- while past 256 MiB at
 * most an eighth of what is reserved is growth slack; it was half the
 * footprint, a third of it slack), bounded below by
 * first_span_size and above by max_span_size, the socket limit, and what
 * the zone source can give (halving on failure down to the need).
 *
 * A contiguity miss (free chunks enough, but not in one piece) grows the
 * same way: a span sized to the request alone was measured worse on the
 * mixed workload (dpm_perf footprint: 13 such 4-6 MiB spans in 3 s, each
 * costing DPDK a hugepage more for its memzone header), and best-fit
 * placement keeps such misses rare.
 */
static struct span *span_reserve_locked(struct chunk_socket *cs, int socket_id, size_t nchunks, size_t align,
					bool whole)
{
	size_t need = nchunks * DPM_CHUNK + (align > DPM_CHUNK ? align - DPM_CHUNK : 0);
	size_t footprint = cs->stats.bytes_reserved;
	size_t size = RTE_MAX(footprint / CHUNK_GROWTH_DIV, RTE_MIN(footprint, (size_t)CHUNK_GROWTH_DOUBLE_MAX));
	size = RTE_MIN(RTE_MAX(size, chunk_first_span), chunk_max_span);
	/* Headed (zone.h) for an arena chunk. For a huge object too where
	 * the socket has no limit, with the head chunk on top of the growth:
	 * the object and those after it fit as in an aligned span, whose
	 * memzone header would take that hugepage anyway, and the head chunk
	 * serves an arena. Under a limit, which counts the head chunk and not
	 * DPDK's hugepage, a huge object's span stays aligned, so a socket of
	 * huge objects holds as many as before. */
	bool may_head = !whole || cs->limit == 0;
	struct zone_span zone;
	struct span *sp, **pp;
	int rc = -ENOMEM;

	if (whole && may_head)
		need += DPM_CHUNK;
	size = RTE_MAX(DPM_ALIGN_UP(size, DPM_CHUNK) + (whole && may_head ? DPM_CHUNK : 0), need);
	if (cs->limit != 0) {
		if (cs->stats.bytes_reserved + need > cs->limit)
			return NULL;
		size = RTE_MIN(size, DPM_ALIGN_DOWN(cs->limit - cs->stats.bytes_reserved, DPM_CHUNK));
	}
	for (;;) {
		rc = zone_source->reserve(socket_id, size, DPM_CHUNK, may_head, &zone);
		/* no memzone slot left (-ENOSPC): a smaller span needs one too */
		if (rc == 0 || rc == -ENOSPC || size == need)
			break;
		size = RTE_MAX(DPM_ALIGN_DOWN(size / 2, DPM_CHUNK), need);
	}
	if (rc != 0) {
		DPM_LOG(DEBUG, "socket %d: no span of %zu bytes: %s", socket_id, size, strerror(-rc));
		return NULL;
	}
	sp = span_desc_get_locked(cs, socket_id, size / DPM_CHUNK);
	if (sp == NULL) {
		zone_release(&zone);
		return NULL;
	}
	sp->zone = zone;
	sp->base = (uintptr_t)zone.addr;
	sp->nchunks = sp->nfree = sp->maxrun = size / DPM_CHUNK;
	sp->free_since = rte_get_tsc_cycles();
	memset(sp->freemap, 0, span_words(sp->capacity) * sizeof(uint64_t));
	span_mark(sp, 0, sp->nchunks, true);

	for (pp = &cs->spans; *pp != NULL && (*pp)->base < sp->base; pp = &(*pp)->next)
		;
	sp->next = *pp;
	*pp = sp;
	cs->stats.spans++;
	cs->stats.spans_reserved++;
	cs->stats.bytes_reserved += size;
	cs->nfree += sp->nfree;
	DPM_LOG(DEBUG, "socket %d: span %s of %zu MiB at %p%s for %zu chunks, %zu free%s", socket_id, zone.name,
		size >> 20, zone.addr, zone.head != 0 ? " (headed)" : "", nchunks, cs->nfree - sp->nfree,
		cs->nfree - sp->nfree >= nchunks ? " (contiguity miss)" : "");
	return sp;
}

/*
 * Placement: best fit, so that no request cuts a free run longer than it
 * needs while a tighter one exists. Single chunks (arena chunks, one-chunk
 * huge objects) take the lowest of the tightest runs, from its bottom;
 * multi-chunk objects the highest, from its top. So single chunks pack
 * into holes at low addresses, huge objects fill the holes their own kind
 * left, and the rest of a run stays in one piece; before, both took the
 * lowest first fit, single chunks broke up the runs huge objects had
 * freed, and the socket reserved new spans with enough free chunks at
 * hand. The scan stops at an exact fit, skips words of used chunks and
 * spans known to hold no run long enough (span.maxrun): at a 16 GiB
 * footprint with every third chunk free, a 2-3 chunk alloc+free pair costs
 * about 1.3-2.9 us against 0.2-0.6 us for the old first fit (ad hoc bench
 * on the anonymous zone source, busy machine).
 */
static struct span *chunk_place_locked(struct chunk_socket *cs, size_t nchunks, size_t align, bool whole,
				       long *at)
{
	struct span *sp, *best = NULL;
	size_t run_len = SIZE_MAX;
	long i;

	if (cs->nfree < nchunks)
		return NULL;
	for (sp = cs->spans; sp != NULL && run_len > nchunks; sp = sp->next) {
		if (sp->nfree < nchunks)
			continue;
		i = span_find_best(sp, nchunks, align, nchunks > 1, whole, &run_len);
		if (i >= 0) {
			best = sp;
			*at = i;
		}
	}
	return best;
}

/* Whether a span of the socket is completely free. Called with the lock. */
static bool chunk_free_span_locked(const struct chunk_socket *cs)
{
	for (const struct span *sp = cs->spans; sp != NULL; sp = sp->next)
		if (sp->nfree == sp->nchunks)
			return true;
	return false;
}

void *chunk_alloc(int socket_id, size_t nchunks, size_t align, bool whole)
{
	struct chunk_socket *cs = &chunk_sockets[socket_id];
	bool trimmed = false;
	struct span *sp;
	long i;
	void *addr;

again:
	i = -1;
	addr = NULL;
	dpm_lock(&cs->lock);
	sp = chunk_place_locked(cs, nchunks, align, whole, &i);
	if (sp == NULL) {
		sp = span_reserve_locked(cs, socket_id, nchunks, align, whole);
		if (sp != NULL)
			i = span_find_best(sp, nchunks, align, nchunks > 1, whole, &(size_t){ SIZE_MAX });
	}
	if (sp != NULL && i >= 0) {
		span_mark(sp, (size_t)i, nchunks, false);
		sp->nfree -= nchunks;
		cs->nfree -= nchunks;
		sp->free_since = 0;
		cs->stats.chunks_used += nchunks;
		if (cs->stats.chunks_used > cs->stats.chunks_peak)
			cs->stats.chunks_peak = cs->stats.chunks_used;
		addr = (void *)(sp->base + (size_t)i * DPM_CHUNK);
	} else if (!trimmed && cs->limit != 0 && chunk_free_span_locked(cs)) {
		/* At the socket's limit, free spans too small or in the
		 * wrong place for this request go back, once, to make room
		 * for one that fits. */
		dpm_unlock(&cs->lock);
		trimmed = true;
		chunk_trim(socket_id, false);
		goto again;
	} else {
		cs->stats.enomem++;
	}
	dpm_unlock(&cs->lock);
	if (addr == NULL)
		rte_errno = ENOMEM;
	return addr;
}

void chunk_dealloc(int socket_id, void *addr, size_t nchunks)
{
	chunk_dealloc_idle(socket_id, addr, nchunks, rte_get_tsc_cycles());
}

void chunk_dealloc_idle(int socket_id, void *addr, size_t nchunks, uint64_t idle_since)
{
	struct chunk_socket *cs = &chunk_sockets[socket_id];
	uintptr_t a = (uintptr_t)addr;
	size_t first, lo, hi;
	struct span *sp;

	dpm_lock(&cs->lock);
	for (sp = cs->spans; sp != NULL; sp = sp->next)
		if (a >= sp->base && a < sp->base + sp->nchunks * DPM_CHUNK)
			break;
	if (sp == NULL) {
		dpm_unlock(&cs->lock);
		DPM_LOG(ERR, "socket %d: chunk %p belongs to no span", socket_id, addr);
		return;
	}
	first = (a - sp->base) / DPM_CHUNK;
	span_mark(sp, first, nchunks, true);
	/* The freed chunks and their free neighbours may be a longer run. */
	for (lo = first; lo > 0 && bitmap_get(sp->freemap, lo - 1); lo--)
		;
	for (hi = first + nchunks; hi < sp->nchunks && bitmap_get(sp->freemap, hi); hi++)
		;
	sp->maxrun = RTE_MAX(sp->maxrun, hi - lo);
	sp->nfree += nchunks;
	cs->nfree += nchunks;
	cs->stats.chunks_used -= nchunks;
	/* All free since the latest of the chunks became idle (chunk_alloc
	 * resets this, so only chunks given back since then count). */
	sp->free_since = RTE_MAX(sp->free_since, idle_since);
	dpm_unlock(&cs->lock);
}

size_t chunk_trim(int socket_id, bool idle_only)
{
	struct chunk_socket *cs = &chunk_sockets[socket_id];
	struct span *victims = NULL, *sp, **pp;
	uint64_t now = rte_get_tsc_cycles();
	size_t bytes = 0;

	/* Unlink under the lock; release outside it, since freeing a memzone
	 * takes milliseconds and other lcores may want chunks meanwhile. */
	dpm_lock(&cs->lock);
	for (pp = &cs->spans; (sp = *pp) != NULL;) {
		if (sp->nfree == sp->nchunks &&
		    (!idle_only || (now > sp->free_since && now - sp->free_since >= chunk_decay_cycles))) {
			*pp = sp->next;
			sp->next = victims;
			victims = sp;
			cs->stats.spans--;
			cs->stats.spans_returned++;
			cs->nfree -= sp->nchunks;
			cs->stats.bytes_reserved -= sp->nchunks * DPM_CHUNK;
			bytes += sp->nchunks * DPM_CHUNK;
		} else {
			pp = &sp->next;
		}
	}
	dpm_unlock(&cs->lock);

	for (sp = victims; sp != NULL; sp = sp->next)
		zone_release(&sp->zone);

	if (victims != NULL) {
		dpm_lock(&cs->lock);
		while (victims != NULL) {
			sp = victims;
			victims = sp->next;
			sp->next = cs->spare;
			cs->spare = sp;
		}
		dpm_unlock(&cs->lock);
		DPM_LOG(DEBUG, "socket %d: returned %zu MiB to DPDK", socket_id, bytes >> 20);
	}
	return bytes;
}

void chunk_stats(int socket_id, struct chunk_socket_stats *out)
{
	struct chunk_socket *cs = &chunk_sockets[socket_id];
	struct span *sp;

	dpm_lock(&cs->lock);
	*out = cs->stats;
	out->bytes_retained = 0;
	for (sp = cs->spans; sp != NULL; sp = sp->next)
		if (sp->nfree == sp->nchunks)
			out->bytes_retained += sp->nchunks * DPM_CHUNK;
	dpm_unlock(&cs->lock);
}

unsigned int chunk_walk_used(int socket_id, void (*fn)(void *chunk, void *arg), void *arg)
{
	struct chunk_socket *cs = &chunk_sockets[socket_id];
	unsigned int n = 0;

	dpm_lock(&cs->lock);
	for (struct span *sp = cs->spans; sp != NULL; sp = sp->next) {
		for (size_t i = 0; i < sp->nchunks; i++) {
			if (!bitmap_get(sp->freemap, (unsigned int)i)) {
				fn((void *)(sp->base + i * DPM_CHUNK), arg);
				n++;
			}
		}
	}
	dpm_unlock(&cs->lock);
	return n;
}

uint64_t chunk_decay_cycles_get(void)
{
	return chunk_decay_cycles;
}

unsigned int chunk_zone_count(void)
{
	uint64_t n = 0;

	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		n += __atomic_load_n(&chunk_sockets[s].stats.spans, __ATOMIC_RELAXED);
	return (unsigned int)n;
}

void chunk_fini(void)
{
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		struct chunk_socket *cs = &chunk_sockets[s];
		struct span *sp;

		for (sp = cs->spans; sp != NULL; sp = sp->next)
			zone_release(&sp->zone);
		memset(&cs->stats, 0, sizeof(cs->stats));
		cs->nfree = 0;
		cs->spans = NULL;
		cs->spare = NULL;   /* descriptors live in base, which goes too */
	}
}
