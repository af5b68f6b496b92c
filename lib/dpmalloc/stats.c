/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Statistics, summed on demand from the counters kept next to the state
 * they count: bins and arenas (under the locks they already take), chunks
 * per socket, tcaches (single writer, read relaxed here).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "base.h"
#include "chunk.h"
#include "dpm_state.h"
#include "huge.h"
#include "placement.h"
#include "tcache.h"
#include "zone.h"

/*
 * Statistics never initialise the library (a telemetry poll must not bring
 * it back after dpm_fini()), and hold the state lock for reading so that
 * dpm_fini() cannot tear the state down under them.
 */
static bool stats_begin(void)
{
	pthread_rwlock_rdlock(&dpm_state_lock);
	if (likely(__atomic_load_n(&dpm_state.ready, __ATOMIC_ACQUIRE)))
		return true;
	pthread_rwlock_unlock(&dpm_state_lock);
	rte_errno = dpm_not_ready_errno();
	return false;
}

static void stats_end(void)
{
	pthread_rwlock_unlock(&dpm_state_lock);
}

/* The class table depends on the build only: it is built when the library
 * loads, and these two answer at any time, even before rte_eal_init(). */
unsigned int dpm_class_count(void)
{
	return sc_nclasses;
}

size_t dpm_class_size(unsigned int cls)
{
	return cls < sc_nclasses ? sc_class2size(cls) : 0;
}

static int dpm_stats_class_locked(int socket_id, unsigned int cls, struct dpm_class_stats *out)
{
	struct dpm_socket *ds;

	if (!dpm_socket_valid(socket_id) || cls >= sc_nclasses || out == NULL) {
		rte_errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->size = sc_class2size(cls);
	ds = &dpm_state.sockets[socket_id];
	for (unsigned int i = 0; i < ds->narenas; i++)
		arena_class_stats_add(ds->arenas[i], cls, &out->nmalloc, &out->nfree, &out->curregs,
				      &out->curruns);
	return 0;
}

static int dpm_stats_socket_locked(int socket_id, struct dpm_socket_stats *out)
{
	struct chunk_socket_stats cs;
	struct dpm_socket *ds;
	uint64_t huge_nmalloc = 0, huge_nfree = 0, huge_bytes = 0;

	if (!dpm_socket_valid(socket_id) || out == NULL) {
		rte_errno = EINVAL;
		return -1;
	}
	ds = &dpm_state.sockets[socket_id];
	memset(out, 0, sizeof(*out));
	out->socket_id = socket_id;
	out->arenas = ds->narenas;
	chunk_stats(socket_id, &cs);
	out->spans = cs.spans;
	out->spans_reserved = cs.spans_reserved;
	out->spans_returned = cs.spans_returned;
	out->bytes_reserved = cs.bytes_reserved;
	out->bytes_retained = cs.bytes_retained;
	out->bytes_metadata = base_footprint(socket_id);
	out->chunks_used = cs.chunks_used;
	out->chunks_peak = cs.chunks_peak;

	for (unsigned int cls = 0; cls < sc_nclasses; cls++) {
		uint64_t nmalloc = 0, nfree = 0, cur = 0, runs = 0;

		for (unsigned int i = 0; i < ds->narenas; i++)
			arena_class_stats_add(ds->arenas[i], cls, &nmalloc, &nfree, &cur, &runs);
		out->nmalloc += nmalloc;
		out->nfree += nfree;
		out->bytes_allocated += cur * sc_class2size(cls);
	}
	for (unsigned int i = 0; i < ds->narenas; i++) {
		huge_stats_add(ds->arenas[i], &huge_nmalloc, &huge_nfree, &huge_bytes);
		out->double_frees += arena_double_frees(ds->arenas[i]);
		out->bytes_parked += arena_xfer_bytes(ds->arenas[i]);
		/* an arena's spare chunk is empty: held, not used */
		out->chunks_used -= arena_spare_chunks(ds->arenas[i]);
	}
	out->nmalloc += huge_nmalloc;
	out->nfree += huge_nfree;
	out->bytes_allocated += huge_bytes;

	for (int from = 0; from < RTE_MAX_NUMA_NODES; from++)
		if (from != socket_id)
			out->remote_frees_in += __atomic_load_n(&tcache_cross[from][socket_id],
								__ATOMIC_RELAXED);
	out->fallback_in = __atomic_load_n(&ds->fallback_in, __ATOMIC_RELAXED);
	out->enomem = __atomic_load_n(&ds->enomem, __ATOMIC_RELAXED);
	out->failed_enomem = __atomic_load_n(&ds->failed_enomem, __ATOMIC_RELAXED);
	out->failed_e2big = __atomic_load_n(&ds->failed_e2big, __ATOMIC_RELAXED);
	out->failed_einval = __atomic_load_n(&ds->failed_einval, __ATOMIC_RELAXED);
	return 0;
}

static int dpm_stats_lcore_locked(unsigned int lcore_id, struct dpm_lcore_stats *out)
{
	struct tcache *tc;

	if (lcore_id >= RTE_MAX_LCORE || out == NULL) {
		rte_errno = EINVAL;
		return -1;
	}
	tc = tcache_get(lcore_id);
	if (tc == NULL && __atomic_load_n(&dpm_state.lcore_arena[lcore_id], __ATOMIC_ACQUIRE) == NULL) {
		rte_errno = ENOENT;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->lcore_id = lcore_id;
	out->socket_id = dpm_state.lcore_socket[lcore_id];
	if (tc == NULL)
		return 0;
	for (unsigned int cls = 0; cls < tc->nbins; cls++) {
		const struct tcache_bin *tb = &tc->bins[cls];

		out->nmalloc += dpm_counter_read(&tb->nmalloc);
		out->nfree += tcache_bin_nfree(tb);
		out->tcache_cached += tcache_bin_ncached(tb);
		if (cls < SC_NBINS) {
			/* Outbound stacks take frees and give nothing out. */
			tb = &tc->out[cls];
			out->nfree += tcache_bin_nfree(tb);
			out->tcache_cached += tcache_bin_ncached(tb);
		}
	}
	tcache_cached_bytes(tc, &out->tcache_bytes, &out->tcache_large_bytes);
	out->tcache_fills = dpm_counter_read(&tc->fills);
	out->tcache_flushes = dpm_counter_read(&tc->flushes);
	out->tcache_gc = dpm_counter_read(&tc->gc_runs);
	out->remote_frees = dpm_counter_read(&tc->remote_frees);
	return 0;
}

uint64_t dpm_stats_cross_socket(int from, int to)
{
	if (from < 0 || from >= RTE_MAX_NUMA_NODES || to < 0 || to >= RTE_MAX_NUMA_NODES) {
		DPM_LOG(DEBUG, "socket ids %d, %d out of range", from, to);
		rte_errno = EINVAL;
		return 0;
	}
	/* Plain counters, read without the state lock; before set-up they
	 * say so as the other statistics do. */
	if (!stats_begin())
		return 0;
	stats_end();
	return __atomic_load_n(&tcache_cross[from][to], __ATOMIC_RELAXED);
}

uint64_t dpm_stats_fallback(int from, int to)
{
	if (from < 0 || from >= RTE_MAX_NUMA_NODES || to < 0 || to >= RTE_MAX_NUMA_NODES) {
		DPM_LOG(DEBUG, "socket ids %d, %d out of range", from, to);
		rte_errno = EINVAL;
		return 0;
	}
	if (!stats_begin())
		return 0;
	stats_end();
	return __atomic_load_n(&dpm_state.fallback[from][to], __ATOMIC_RELAXED);
}

static int dpm_numa_node_of_locked(const void *ptr)
{
	int node;

	if (dpm_socket_of(ptr) < 0)
		return -1;   /* rte_errno = EINVAL */
	if (dpm_state.cfg.zone_source == DPM_ZONE_ANON) {
		rte_errno = ENOTSUP;   /* its sockets are labels */
		return -1;
	}
	node = numa_page_node(ptr);
	if (node < 0) {
		rte_errno = -node;
		return -1;
	}
	return node;
}

struct placement_walk {
	int socket_id;
	unsigned int checked, mismatched, unknown;
};

static void placement_check_chunk(void *chunk, void *arg)
{
	struct placement_walk *w = arg;
	int node = numa_page_node(chunk);

	if (node < 0) {
		w->unknown++;
		return;
	}
	w->checked++;
	if (node != w->socket_id) {
		w->mismatched++;
		DPM_LOG(WARNING, "chunk %p of socket %d is on NUMA node %d", chunk, w->socket_id, node);
	}
}

static int dpm_placement_check_socket_locked(int socket_id, unsigned int *mismatched)
{
	struct placement_walk w = { .socket_id = socket_id };

	if (!dpm_socket_valid(socket_id)) {
		rte_errno = EINVAL;
		return -1;
	}
	if (dpm_state.cfg.zone_source == DPM_ZONE_ANON || numa_page_node(&w) == -ENOTSUP) {
		rte_errno = ENOTSUP;
		return -1;
	}
	chunk_walk_used(socket_id, placement_check_chunk, &w);
	if (mismatched != NULL)
		*mismatched = w.mismatched;
	return (int)w.checked;
}

/*
 * The first ENOMEM of a socket says, once, what the socket holds, so that a
 * user can tell a leak (much allocated) from fragmentation (much reserved,
 * little allocated) from a limit (DPDK's heap, the socket limit, or
 * RTE_MAX_MEMZONE). Later ones are counted only.
 */
static void dpm_log_first_enomem(int socket_id, size_t size)
{
	struct dpm_socket_stats st;
	struct rte_malloc_socket_stats heap;
	size_t limit = dpm_state.cfg.socket_limit[socket_id];
	char heap_text[96] = "", limit_text[32] = "none";

	if (dpm_stats_socket_locked(socket_id, &st) != 0)
		return;
	if (limit != 0)
		snprintf(limit_text, sizeof(limit_text), "%zu MiB", limit >> 20);
	if (dpm_state.cfg.zone_source == DPM_ZONE_MEMZONE &&
	    rte_malloc_get_socket_stats(socket_id, &heap) == 0)
		snprintf(heap_text, sizeof(heap_text), "; DPDK heap of the socket: %zu of %zu MiB free",
			 heap.heap_freesz_bytes >> 20, heap.heap_totalsz_bytes >> 20);
	DPM_LOG(NOTICE, "socket %d: out of memory for %zu bytes (first time; later ones are only "
		"counted): it holds %" PRIu64 " MiB in %" PRIu64 " spans (%" PRIu64 " MiB of them "
		"completely free), %" PRIu64 " chunks in use, %" PRIu64 " MiB in live objects, %"
		PRIu64 " KiB of metadata; limit %s; memzones %u of %u in use, %u of them "
		"dpmalloc's%s",
		socket_id, size, st.bytes_reserved >> 20, st.spans, st.bytes_retained >> 20,
		st.chunks_used, st.bytes_allocated >> 20, st.bytes_metadata >> 10,
		limit_text, zone_memzones_in_use(), zone_memzones_max(),
		dpm_memzone_count(), heap_text);
}

void *dpm_alloc_failed(int socket_id, int err, size_t size)
{
	struct dpm_socket *ds;

	if (!__atomic_load_n(&dpm_state.ready, __ATOMIC_ACQUIRE) || !dpm_socket_valid(socket_id)) {
		rte_errno = err;
		return NULL;
	}
	ds = &dpm_state.sockets[socket_id];
	switch (err) {
	case ENOMEM:
		__atomic_fetch_add(&ds->failed_enomem, 1, __ATOMIC_RELAXED);
		if (!__atomic_exchange_n(&ds->enomem_logged, true, __ATOMIC_RELAXED))
			dpm_log_first_enomem(socket_id, size);
		else
			DPM_LOG(DEBUG, "socket %d: out of memory for %zu bytes", socket_id, size);
		break;
	case E2BIG:
		__atomic_fetch_add(&ds->failed_e2big, 1, __ATOMIC_RELAXED);
		DPM_LOG(DEBUG, "socket %d: %zu bytes can never be served", socket_id, size);
		break;
	default:
		__atomic_fetch_add(&ds->failed_einval, 1, __ATOMIC_RELAXED);
		break;
	}
	rte_errno = err;
	return NULL;
}

unsigned int dpm_memzone_count(void)
{
	return chunk_zone_count() + base_zone_count();
}

/* Public wrappers: the state lock around the readers above. */
#define STATS_LOCKED(call) do { \
	int rc_; \
	if (!stats_begin()) \
		return -1; \
	rc_ = (call); \
	stats_end(); \
	return rc_; \
} while (0)

int dpm_stats_class(int socket_id, unsigned int cls, struct dpm_class_stats *out)
{
	STATS_LOCKED(dpm_stats_class_locked(socket_id, cls, out));
}

int dpm_stats_socket(int socket_id, struct dpm_socket_stats *out)
{
	STATS_LOCKED(dpm_stats_socket_locked(socket_id, out));
}

int dpm_stats_lcore(unsigned int lcore_id, struct dpm_lcore_stats *out)
{
	STATS_LOCKED(dpm_stats_lcore_locked(lcore_id, out));
}

int dpm_numa_node_of(const void *ptr)
{
	STATS_LOCKED(dpm_numa_node_of_locked(ptr));
}

int dpm_placement_check_socket(int socket_id, unsigned int *mismatched)
{
	STATS_LOCKED(dpm_placement_check_socket_locked(socket_id, mismatched));
}
