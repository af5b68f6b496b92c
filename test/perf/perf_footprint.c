/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Footprint: how much memory an allocator holds for a live set, and how
 * much it keeps once everything is freed.
 *
 * Run on the main lcore: fill a churn live set, replace objects for a
 * while, read the counters ("after_churn"), free everything (dpmalloc:
 * flush every lcore's tcache and dpm_trim()), read again ("after_free").
 *
 * dpmalloc's numbers are its own: bytes_reserved (memzones held, all
 * sockets, absolute, metadata included) and bytes_allocated (class sizes).
 * rte_malloc's are deltas of the DPDK heap counters since the start of its
 * run: heap_totalsz_bytes (the heap's size; fixed under --no-huge, so its
 * delta is then 0) and heap_allocsz_bytes (element headers included).
 * bytes_requested is the sum of the sizes asked for, the same for both.
 */

#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <dpmalloc.h>

#include "perf.h"

/** What one reading of an allocator's counters gives. */
struct perf_mem {
	uint64_t reserved;  /**< bytes taken from DPDK */
	uint64_t in_use;    /**< bytes the allocator counts as allocated */
};

/* dpmalloc's counters summed over the sockets DPDK knows. */
static struct perf_mem
perf_mem_dpm(void)
{
	struct perf_mem m = { 0, 0 };
	unsigned int i;

	for (i = 0; i < rte_socket_count(); i++) {
		struct dpm_socket_stats st;

		if (dpm_stats_socket(rte_socket_id_by_idx(i), &st) == 0) {
			m.reserved += st.bytes_reserved;
			m.in_use += st.bytes_allocated;
		}
	}
	return m;
}

/* The DPDK heap's counters summed over the sockets. */
static struct perf_mem
perf_mem_rte(void)
{
	struct perf_mem m = { 0, 0 };
	unsigned int i;

	for (i = 0; i < rte_socket_count(); i++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0) {
			m.reserved += st.heap_totalsz_bytes;
			m.in_use += st.heap_allocsz_bytes;
		}
	}
	return m;
}

static int
perf_flush_tcache(void *arg)
{
	RTE_SET_USED(arg);
	dpm_tcache_flush();
	return 0;
}

/* Give dpmalloc's cached objects and free spans back, on every lcore. */
static void
perf_dpm_release_all(void)
{
	perf_on_each_worker(perf_flush_tcache, NULL);
	dpm_tcache_flush();
	dpm_trim();
}

/* Record one phase: requested bytes and the counters relative to base. */
static void
perf_footprint_record(const char *phase, const char *name, uint64_t requested,
		struct perf_mem now, struct perf_mem base)
{
	struct perf_stat st;

	st.median = st.min = st.max = (double)requested;
	perf_record("footprint", phase, name, "bytes_requested", st);
	st.median = st.min = st.max = (double)now.reserved - (double)base.reserved;
	perf_record("footprint", phase, name, "bytes_reserved", st);
	st.median = st.min = st.max = (double)now.in_use - (double)base.in_use;
	perf_record("footprint", phase, name, "bytes_in_use", st);
}

/* Fill, churn, read; free all, read. is_dpm selects the counters. */
static void
perf_footprint_one(const struct perf_allocator *a, bool is_dpm)
{
	struct perf_mem (*read)(void) = is_dpm ? perf_mem_dpm : perf_mem_rte;
	struct perf_mem base = { 0, 0 }, now;
	struct perf_churn c = { 0 };
	uint64_t i, requested;

	if (is_dpm) {
		perf_dpm_release_all();
		printf("footprint: dpmalloc holds %.2f MiB before the run "
				"(after flush + trim); reported absolute\n",
				perf_mem_dpm().reserved / 1048576.0);
	} else {
		base = read();
		printf("footprint: rte_malloc's bytes_reserved is the DPDK heap's "
				"growth during its run: 0 when the live set fit in memory "
				"the heap already had (always under --no-huge)\n");
	}
	if (perf_churn_fill(&c, a, perf_opt.live, perf_opt.seed) != 0)
		goto fail;
	for (i = 0; i < 10ULL * perf_opt.live; i++) {
		uint32_t idx, size;
		void *p;

		a->release(perf_churn_pick(&c, &idx, &size));
		p = a->alloc(size);
		c.slot[idx] = p;
		if (p == NULL)
			goto fail;
		perf_churn_put(&c, idx, size, p);
	}
	requested = perf_churn_bytes(&c);
	now = read();
	perf_footprint_record("after_churn", a->name, requested, now, base);
	perf_churn_empty(&c, a);
	if (is_dpm)
		perf_dpm_release_all();
	now = read();
	perf_footprint_record("after_free", a->name, 0, now, base);
	return;
fail:
	perf_churn_empty(&c, a);
	fprintf(stderr, "dpm_perf: footprint %s: allocation failed\n", a->name);
}

void
perf_run_footprint(struct perf_allocator *tab, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!tab[i].available)
			continue;
		if (i == PERF_DPM_INDEX)
			perf_footprint_one(&tab[i], true);
		else if (strcmp(tab[i].name, "rte_malloc") == 0)
			perf_footprint_one(&tab[i], false);
	}
	fprintf(stderr, "dpm_perf: footprint done\n");
}
