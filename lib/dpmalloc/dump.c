/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * dpm_dump(): a human-readable report of every statistic, in the spirit of
 * jemalloc's malloc_stats_print() and DPDK's rte_malloc_dump_stats().
 *
 * Built on the public statistics functions (so it shows what an application
 * or telemetry sees), plus one thing they do not give: the regions per run
 * of a small class (for utilisation), read under the state lock, like the
 * statistics. Slow path only.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "dpm_private.h"
#include "dpmalloc.h"
#include "size_class.h"

static void dump_socket(FILE *f, int s, const struct dpm_socket_stats *st)
{
	unsigned int ncls = dpm_class_count();

	fprintf(f, "\n== socket %d: %u arenas\n", s, st->arenas);
	fprintf(f, "  memory (bytes): reserved %" PRIu64 ", retained free %" PRIu64
		", metadata %" PRIu64 ", allocated %" PRIu64 "\n",
		st->bytes_reserved, st->bytes_retained, st->bytes_metadata, st->bytes_allocated);
	fprintf(f, "  spans: held %" PRIu64 ", reserved %" PRIu64 ", returned %" PRIu64
		"; chunks used %" PRIu64 " (at most %" PRIu64 " at once)\n",
		st->spans, st->spans_reserved, st->spans_returned, st->chunks_used, st->chunks_peak);
	fprintf(f, "  objects: nmalloc %" PRIu64 ", nfree %" PRIu64 ", remote frees in %" PRIu64
		", fallback in %" PRIu64 "\n",
		st->nmalloc, st->nfree, st->remote_frees_in, st->fallback_in);
	fprintf(f, "  failures: enomem %" PRIu64 ", socket exhausted %" PRIu64 ", e2big %" PRIu64
		", einval %" PRIu64 ", double frees %" PRIu64 "\n",
		st->failed_enomem, st->enomem, st->failed_e2big, st->failed_einval,
		st->double_frees);
	fprintf(f, "  classes (only those ever used):\n");
	fprintf(f, "  %5s %10s %10s %8s %6s %12s %12s\n",
		"class", "size", "live", "runs", "util", "nmalloc", "nfree");
	for (unsigned int cls = 0; cls < ncls; cls++) {
		struct dpm_class_stats cs;
		char util[16] = "-";

		if (dpm_stats_class(s, cls, &cs) != 0 || cs.nmalloc == 0)
			continue;
		/* Utilisation of a small class: live regions / region slots. */
		if (cls < SC_NBINS && cs.curruns != 0)
			snprintf(util, sizeof(util), "%.0f%%", 100.0 * (double)cs.curregs /
				 ((double)cs.curruns * sc_bin_info[cls].nregs));
		fprintf(f, "  %5u %10zu %10" PRIu64 " %8" PRIu64 " %6s %12" PRIu64 " %12" PRIu64 "\n",
			cls, cs.size, cs.curregs, cs.curruns, util, cs.nmalloc, cs.nfree);
	}
}

int dpm_dump(FILE *f)
{
	struct dpm_socket_stats st;
	unsigned int lcore, nsock = 0;
	int s;

	if (f == NULL) {
		rte_errno = EINVAL;
		return -1;
	}
	/* The first statistics call says why there is nothing to show. */
	if (dpm_stats_socket(0, &st) != 0 && rte_errno != EINVAL)
		return -1;

	fprintf(f, "=== dpmalloc %d.%d.%d: %u memzones, %u size classes\n",
		DPM_VERSION / 10000, DPM_VERSION / 100 % 100, DPM_VERSION % 100,
		dpm_memzone_count(), dpm_class_count());
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (dpm_stats_socket(s, &st) != 0)
			continue;
		nsock++;
		dump_socket(f, s, &st);
	}

	fprintf(f, "\n== lcores (those that used dpmalloc)\n");
	fprintf(f, "  %5s %6s %12s %10s %10s %10s %10s %12s %12s\n", "lcore", "socket",
		"hits", "misses", "flushes", "gc", "cached", "cached_bytes", "remote_frees");
	for (lcore = 0; lcore < RTE_MAX_LCORE; lcore++) {
		struct dpm_lcore_stats ls;

		if (dpm_stats_lcore(lcore, &ls) != 0)
			continue;
		/* A miss fills the cache from the arena; the fill's first object
		 * is handed out, so tcache allocations less fills are hits. */
		fprintf(f, "  %5u %6d %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
			" %10" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n",
			lcore, ls.socket_id,
			ls.nmalloc > ls.tcache_fills ? ls.nmalloc - ls.tcache_fills : 0,
			ls.tcache_fills, ls.tcache_flushes, ls.tcache_gc, ls.tcache_cached,
			ls.tcache_bytes, ls.remote_frees);
	}

	fprintf(f, "\n== cross-socket frees (freeing lcores' socket -> memory's socket)\n");
	for (int from = 0; from < RTE_MAX_NUMA_NODES; from++)
		for (int to = 0; to < RTE_MAX_NUMA_NODES; to++) {
			uint64_t n = from == to ? 0 : dpm_stats_cross_socket(from, to);
			uint64_t fb = from == to ? 0 : dpm_stats_fallback(from, to);

			if (n != 0)
				fprintf(f, "  %d -> %d: %" PRIu64 " frees\n", from, to, n);
			if (fb != 0)
				fprintf(f, "  %d -> %d: %" PRIu64 " allocations served by fallback\n",
					from, to, fb);
		}
	fprintf(f, "=== end of dpmalloc report (%u sockets)\n", nsock);
	fflush(f);
	return 0;
}
