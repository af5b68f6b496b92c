/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Footprint: how much memory an allocator holds for a live set of mixed
 * sizes on every lcore, sampled over time, and what it keeps once
 * everything is freed.
 *
 * The workload (the engine issue's): every lcore keeps a set of slots and
 * replaces a random one at a time with a new object of a heavy-tailed size
 * (about 93% 16 B - 1 KiB, 6% 1 - 32 KiB, 1% 32 KiB - 1 MiB, 0.1% 1 - 6 MiB,
 * each log-uniform). A quarter of the old objects are not freed by their
 * lcore but sent through an rte_ring to another one, which frees them.
 * Every object carries its size and a tag at both ends and one byte per
 * page is written; both ends are checked before the free. The sizes come
 * from a fixed seed per lcore, so every allocator sees the same requests
 * (the interleaving of lcores differs, as it does between runs).
 *
 * "live" is the sum of the requested sizes of the objects allocated and
 * not yet freed (ring contents included); "reserved" is what the allocator
 * holds:
 *   dpmalloc    bytes_reserved, all sockets: its memzones, metadata
 *               included, absolute (flushed and trimmed before the run);
 *               or the DPDK heap's growth during the run when that is
 *               larger (the header of a memzone that is not headed
 *               takes a hugepage more, see zone.h);
 *   glibc       mallinfo2() arena + hblkhd, growth since the run began;
 *   jemalloc    "stats.mapped" after "epoch", growth since the run began
 *               (jemalloc's mapped excludes dirty pages not yet purged:
 *               "stats.resident", which has them, is recorded too);
 *   rte_malloc  the larger of the growths of DPDK's heap_totalsz_bytes and
 *               heap_allocsz_bytes (a heap that cannot grow, as under
 *               --no-huge, shows only the second: a lower bound).
 * A sampler thread reads both every duration/200 while all lcores churn
 * (steady state: every lcore has filled its slots). Recorded per
 * allocator: mean and peak of reserved/live over the samples, mean live
 * and reserved, peak reserved, and after the run what is still held once
 * everything was freed (dpmalloc: each lcore flushed, then dpm_trim()).
 *
 * Size of the run: DPM_PERF_FP_SLOTS slots per lcore (default 4096, or 256
 * with --smoke; with 8 lcores about 220 MB live) and DPM_PERF_FP_MS of
 * churn per allocator (default 3000, smoke 300). DPM_PERF_FP_SERIES=PATH
 * writes every sample (allocator, ms, live, reserved, and for dpmalloc
 * the bytes of chunks in use) as CSV;
 * DPM_PERF_FP_ARENAS=N runs dpmalloc with N arenas per socket and
 * DPM_PERF_FP_TCACHE_MAX=B with tcache_max_size B (footprint knobs;
 * DPM_PERF_LARGE_BUDGET=B sets tcache_large_budget for every workload).
 */

#include <dlfcn.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include <dpmalloc.h>

#include "perf.h"

#define FP_RING_SIZE 256
#define FP_DRAIN_BURST 32u
#define FP_MAX_SAMPLES 4096

/** What the allocator holds (reserved) at one point; 0 when unknown. */
typedef uint64_t (*fp_reserved_fn)(void);

/* One lcore's state. live_bytes is written by its lcore only. */
struct fp_lcore {
	struct rte_ring *inbox;    /* objects other lcores send to be freed */
	void **slot;
	uint64_t rng;
	int64_t live_bytes;        /* allocated minus freed by this lcore */
	uint64_t ops, bad, failed;
} __rte_cache_aligned;

static struct fp_lcore fp_lc[RTE_MAX_LCORE];
static unsigned int fp_lcores[RTE_MAX_LCORE], fp_nlcores;
static const struct perf_allocator *fp_alloc;
static bool fp_is_dpm;
static uint32_t fp_nslots;
static volatile int fp_stop;       /* 1: stop churning, 2: stop sending */
static unsigned int fp_filled, fp_quiet, fp_done;

/* ---- objects ---- */

/* A log-uniform size in [lo, hi]. */
static size_t
fp_log_uniform(uint64_t *rng, double lo, double hi)
{
	double u = (double)(perf_rand(rng) >> 11) / 9007199254740992.0;

	return (size_t)(lo * exp(u * log(hi / lo)));
}

/* The workload's heavy-tailed size. */
static size_t
fp_size(uint64_t *rng)
{
	uint32_t p = perf_below(perf_rand(rng), 100000);

	if (p < 100)
		return fp_log_uniform(rng, 1 << 20, 6 << 20);
	if (p < 1100)
		return fp_log_uniform(rng, 32 << 10, 1 << 20);
	if (p < 7100)
		return fp_log_uniform(rng, 1 << 10, 32 << 10);
	return fp_log_uniform(rng, 16, 1 << 10);
}

/* Header: size and tag; the last 8 bytes repeat them, one byte per page
 * is written so every page is touched. */
static void
fp_write(void *p, uint32_t size, uint32_t tag)
{
	uint64_t w = (uint64_t)size << 32 | tag;

	memcpy(p, &w, 8);
	for (size_t off = 4096; off + 8 < size; off += 4096)
		((volatile uint8_t *)p)[off] = (uint8_t)tag;
	memcpy((char *)p + size - 8, &w, 8);
}

/* Check both ends; returns the size (0 when the object was damaged). */
static uint32_t
fp_check(const void *p)
{
	uint64_t h, t;

	memcpy(&h, p, 8);
	memcpy(&t, (const char *)p + (h >> 32) - 8, 8);
	return h == t ? (uint32_t)(h >> 32) : 0;
}

static void
fp_release(struct fp_lcore *me, void *p)
{
	uint32_t size = fp_check(p);

	if (size == 0)
		me->bad++;
	__atomic_store_n(&me->live_bytes, me->live_bytes - (int64_t)size, __ATOMIC_RELAXED);
	fp_alloc->release(p);
}

static void *
fp_new(struct fp_lcore *me, uint32_t tag)
{
	size_t size = fp_size(&me->rng);
	void *p = fp_alloc->alloc(size);

	if (p == NULL) {
		me->failed++;
		return NULL;
	}
	fp_write(p, (uint32_t)size, tag);
	__atomic_store_n(&me->live_bytes, me->live_bytes + (int64_t)size, __ATOMIC_RELAXED);
	return p;
}

/* Free up to n objects other lcores sent. */
static unsigned int
fp_drain(struct fp_lcore *me, unsigned int n)
{
	void *objs[FP_DRAIN_BURST];
	unsigned int got = rte_ring_dequeue_burst(me->inbox, objs, RTE_MIN(n, FP_DRAIN_BURST), NULL);

	for (unsigned int i = 0; i < got; i++)
		fp_release(me, objs[i]);
	return got;
}

static void
fp_barrier(unsigned int *count)
{
	__atomic_fetch_add(count, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(count, __ATOMIC_ACQUIRE) < fp_nlcores)
		sched_yield();
}

/* ---- the workload, on every lcore (the main one samples too) ---- */

static uint64_t fp_sample_t[FP_MAX_SAMPLES];
static int64_t fp_sample_live[FP_MAX_SAMPLES];
static uint64_t fp_sample_chunks[FP_MAX_SAMPLES];  /* dpmalloc: chunks in use, bytes */
static uint64_t fp_sample_res[FP_MAX_SAMPLES];
static uint64_t fp_sample_res2[FP_MAX_SAMPLES];
static unsigned int fp_nsamples;
static fp_reserved_fn fp_reserved, fp_reserved2;

static int64_t
fp_live_now(void)
{
	int64_t sum = 0;

	for (unsigned int i = 0; i < fp_nlcores; i++)
		sum += __atomic_load_n(&fp_lc[fp_lcores[i]].live_bytes, __ATOMIC_RELAXED);
	return sum;
}

static uint64_t fp_duration_ms;
static void fp_detail_dpm(void);

/*
 * The sampler: a plain thread, not an lcore, so that it wakes on time
 * whatever the lcores do (they may be eight on two CPUs); it waits for
 * every lcore to fill its slots, samples every duration/200 (at least
 * 5 ms), and stops the churn when the duration is over.
 */
static void *
fp_sampler(void *arg)
{
	uint64_t hz = rte_get_tsc_hz(), start, now;
	uint64_t step_us = RTE_MAX(fp_duration_ms * 1000 / 200, (uint64_t)5000);

	RTE_SET_USED(arg);
	while (__atomic_load_n(&fp_filled, __ATOMIC_ACQUIRE) < fp_nlcores)
		usleep(1000);
	start = rte_get_tsc_cycles();
	do {
		now = rte_get_tsc_cycles();
		if (fp_nsamples < FP_MAX_SAMPLES) {
			fp_sample_t[fp_nsamples] = (now - start) * 1000 / hz;
			fp_sample_res[fp_nsamples] = fp_reserved();
			if (fp_reserved2 != NULL)
				fp_sample_res2[fp_nsamples] = fp_reserved2();
			fp_sample_live[fp_nsamples] = fp_live_now();
			if (fp_is_dpm)
				fp_detail_dpm();
			fp_nsamples++;
		}
		usleep(step_us);
	} while (rte_get_tsc_cycles() - start < hz * fp_duration_ms / 1000);
	__atomic_store_n(&fp_stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int
fp_lcore_main(void *arg)
{
	unsigned int lcore = rte_lcore_id(), me_idx = 0;
	struct fp_lcore *me = &fp_lc[lcore];
	uint32_t i;

	RTE_SET_USED(arg);
	for (i = 0; i < fp_nlcores; i++)
		if (fp_lcores[i] == lcore)
			me_idx = i;
	for (i = 0; i < fp_nslots; i++)
		me->slot[i] = fp_new(me, i);
	fp_barrier(&fp_filled);
	while (!__atomic_load_n(&fp_stop, __ATOMIC_ACQUIRE)) {
		uint64_t r = perf_rand(&me->rng);
		uint32_t idx = perf_below(r >> 32, fp_nslots);
		void *old = me->slot[idx];

		if (old != NULL) {
			/* A quarter goes to another lcore to be freed there. */
			if (fp_nlcores > 1 && (r & 3) == 0) {
				unsigned int to = fp_lcores[(me_idx + 1 +
					perf_below(r >> 2, fp_nlcores - 1)) % fp_nlcores];

				if (rte_ring_mp_enqueue(fp_lc[to].inbox, old) != 0)
					fp_release(me, old);
			} else {
				fp_release(me, old);
			}
		}
		me->slot[idx] = fp_new(me, idx);
		fp_drain(me, FP_DRAIN_BURST);
		me->ops++;
	}
	/* Nobody sends any more once all are here: then empty the inbox. */
	fp_barrier(&fp_quiet);
	while (fp_drain(me, FP_DRAIN_BURST) > 0)
		;
	for (i = 0; i < fp_nslots; i++)
		if (me->slot[i] != NULL)
			fp_release(me, me->slot[i]);
	if (fp_is_dpm)
		dpm_tcache_flush();
	fp_barrier(&fp_done);
	return 0;
}

/* ---- what each allocator holds ---- */

static void fp_rte_read(uint64_t *total, uint64_t *alloc);
static uint64_t fp_rte_total0, fp_rte_alloc0;

/* dpmalloc: its bytes_reserved, or the DPDK heap's growth when larger: a
 * memzone that is not headed (zone.h) also takes the hugepage before it
 * for its header. */
static uint64_t
fp_reserved_dpm(void)
{
	uint64_t sum = 0, total, alloc;

	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct dpm_socket_stats st;

		if (dpm_stats_socket(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.bytes_reserved;
	}
	fp_rte_read(&total, &alloc);
	total = total > fp_rte_total0 ? total - fp_rte_total0 : 0;
	return RTE_MAX(sum, total);
}

/* dpmalloc's breakdown: chunks in use, bytes allocated (class sizes), and
 * of those in the lcores' tcaches (large classes apart); bytes parked in
 * transfer caches (counted as free, on pages in use). */
static double fp_dpm_chunks_sum, fp_dpm_alloc_sum, fp_dpm_chunks_peak, fp_dpm_spans_sum;
static double fp_dpm_tcache_sum, fp_dpm_tcache_large_sum, fp_dpm_parked_sum;
static uint64_t fp_dpm_chunks_hw;   /* the sockets' exact high-water marks, chunks */

static void
fp_detail_dpm(void)
{
	fp_sample_chunks[fp_nsamples] = 0;
	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct dpm_socket_stats st;

		if (dpm_stats_socket(rte_socket_id_by_idx(i), &st) == 0) {
			fp_sample_chunks[fp_nsamples] += st.chunks_used * (2 << 20);
			fp_dpm_chunks_sum += (double)st.chunks_used * (2 << 20);
			fp_dpm_chunks_peak = RTE_MAX(fp_dpm_chunks_peak, (double)st.chunks_used * (2 << 20));
			fp_dpm_alloc_sum += (double)st.bytes_allocated;
			fp_dpm_spans_sum += (double)st.bytes_reserved;
			fp_dpm_parked_sum += (double)st.bytes_parked;
		}
	}
	for (unsigned int i = 0; i < fp_nlcores; i++) {
		struct dpm_lcore_stats ls;

		if (dpm_stats_lcore(fp_lcores[i], &ls) == 0) {
			fp_dpm_tcache_sum += (double)ls.tcache_bytes;
			fp_dpm_tcache_large_sum += (double)ls.tcache_large_bytes;
		}
	}
}

static unsigned int
fp_zones_dpm(void)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct dpm_socket_stats st;

		if (dpm_stats_socket(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.spans;
	}
	return (unsigned int)sum;
}

static uint64_t
fp_reserved_glibc(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.arena + mi.hblkhd;
}

static int (*fp_mallctl)(const char *, void *, size_t *, void *, size_t);

static uint64_t
fp_jemalloc_stat(const char *name)
{
	uint64_t epoch = 1;
	size_t v = 0, len = sizeof(v), elen = sizeof(epoch);

	if (fp_mallctl == NULL)
		return 0;
	fp_mallctl("epoch", &epoch, &elen, &epoch, elen);
	if (fp_mallctl(name, &v, &len, NULL, 0) != 0)
		return 0;
	return v;
}

static uint64_t
fp_reserved_jemalloc(void)
{
	return fp_jemalloc_stat("stats.mapped");
}

static uint64_t
fp_reserved_jemalloc_resident(void)
{
	return fp_jemalloc_stat("stats.resident");
}

/* rte_malloc: the larger of the heap's growth and the growth of what it
 * has allocated (a heap that cannot grow, or had room, shows only the
 * second), from the heap's counters when the run began. */

static void
fp_rte_read(uint64_t *total, uint64_t *alloc)
{
	*total = *alloc = 0;
	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0) {
			*total += st.heap_totalsz_bytes;
			*alloc += st.heap_allocsz_bytes;
		}
	}
}

static uint64_t
fp_reserved_rte(void)
{
	uint64_t total, alloc;

	fp_rte_read(&total, &alloc);
	total = total > fp_rte_total0 ? total - fp_rte_total0 : 0;
	alloc = alloc > fp_rte_alloc0 ? alloc - fp_rte_alloc0 : 0;
	return RTE_MAX(total, alloc);
}

/* ---- one allocator ---- */

static void
fp_record(const char *name, const char *unit, double v)
{
	struct perf_stat st = { v, v, v };

	perf_record("footprint", "mixed", name, unit, st);
}

static int
fp_flush_tcache(void *arg)
{
	RTE_SET_USED(arg);
	dpm_tcache_flush();
	return 0;
}

static void
fp_dpm_release_all(void)
{
	perf_on_each_worker(fp_flush_tcache, NULL);
	dpm_tcache_flush();
	dpm_trim();
}

static uint64_t
fp_env(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtoull(v, NULL, 0) : def;
}

/* Start the run from an empty dpmalloc: flushed and trimmed, or, with
 * arenas != 0 (DPM_PERF_FP_ARENAS), re-initialised with that many arenas
 * per socket (a footprint knob; the rest of dpm_perf keeps the defaults,
 * restored after the run). */
static bool
fp_dpm_knobs(void)
{
	return fp_env("DPM_PERF_FP_ARENAS", 0) != 0 || getenv("DPM_PERF_FP_TCACHE_MAX") != NULL;
}

static void
fp_dpm_reinit(void)
{
	struct dpm_config cfg;

	fp_dpm_release_all();
	if (!fp_dpm_knobs())
		return;
	dpm_fini();
	perf_dpm_config(&cfg);
	cfg.arenas_per_socket = fp_env("DPM_PERF_FP_ARENAS", 0);
	cfg.tcache_max_size = fp_env("DPM_PERF_FP_TCACHE_MAX", cfg.tcache_max_size);
	if (dpm_init(&cfg) < 0)
		fprintf(stderr, "dpm_perf: footprint: dpm_init with the knobs failed\n");
	printf("footprint: dpmalloc with %u arenas per socket (0: one per lcore), tcache_max_size %zu\n",
	       cfg.arenas_per_socket, cfg.tcache_max_size);
}

static void
fp_run_one(const struct perf_allocator *a, fp_reserved_fn reserved, FILE *series)
{
	uint64_t base = 0, base2 = 0, ops = 0, bad = 0, failed = 0, peak_res = 0, res_after;
	double sum_ratio = 0, peak_ratio = 0, sum_live = 0, sum_res = 0;
	unsigned int i, n = 0, zones_peak = 0;
	uint64_t t0, t1;
	pthread_t sampler;

	fp_alloc = a;
	fp_is_dpm = strcmp(a->name, "dpmalloc") == 0;
	fp_reserved = reserved;
	fp_reserved2 = reserved == fp_reserved_jemalloc ? fp_reserved_jemalloc_resident : NULL;
	if (fp_is_dpm)
		fp_dpm_reinit();
	if (reserved == fp_reserved_rte || fp_is_dpm)
		fp_rte_read(&fp_rte_total0, &fp_rte_alloc0);
	else if (reserved != fp_reserved_rte)
		base = reserved();
	if (fp_reserved2 != NULL)
		base2 = fp_reserved2();
	fp_stop = 0;
	fp_filled = fp_quiet = fp_done = 0;
	fp_nsamples = 0;
	fp_dpm_chunks_sum = fp_dpm_alloc_sum = fp_dpm_chunks_peak = fp_dpm_spans_sum = 0;
	fp_dpm_tcache_sum = fp_dpm_tcache_large_sum = fp_dpm_parked_sum = 0;
	for (i = 0; i < fp_nlcores; i++) {
		struct fp_lcore *lc = &fp_lc[fp_lcores[i]];

		lc->rng = perf_opt.seed * 0x9e3779b97f4a7c15ULL + fp_lcores[i] + 1;
		lc->live_bytes = 0;
		lc->ops = lc->bad = lc->failed = 0;
		memset(lc->slot, 0, fp_nslots * sizeof(void *));
	}
	if (pthread_create(&sampler, NULL, fp_sampler, NULL) != 0) {
		fprintf(stderr, "dpm_perf: footprint: no sampler thread\n");
		return;
	}
	t0 = rte_get_tsc_cycles();
	rte_eal_mp_remote_launch(fp_lcore_main, NULL, CALL_MAIN);
	rte_eal_mp_wait_lcore();
	t1 = rte_get_tsc_cycles();
	pthread_join(sampler, NULL);
	for (i = 0; i < fp_nlcores; i++) {
		ops += fp_lc[fp_lcores[i]].ops;
		bad += fp_lc[fp_lcores[i]].bad;
		failed += fp_lc[fp_lcores[i]].failed;
	}
	for (i = 0; i < fp_nsamples; i++) {
		double live = (double)fp_sample_live[i];
		double res = (double)fp_sample_res[i] - (double)base;

		if (series != NULL)
			fprintf(series, "%s,%llu,%lld,%.0f,%llu\n", a->name,
				(unsigned long long)fp_sample_t[i], (long long)fp_sample_live[i], res,
				fp_is_dpm ? (unsigned long long)fp_sample_chunks[i] : 0ULL);
		if (live <= 0)
			continue;
		n++;
		sum_live += live;
		sum_res += res;
		sum_ratio += res / live;
		peak_ratio = RTE_MAX(peak_ratio, res / live);
		peak_res = RTE_MAX(peak_res, (uint64_t)RTE_MAX(res, 0.0));
	}
	if (fp_is_dpm && fp_nsamples > 0) {
		fp_dpm_chunks_hw = 0;
		for (unsigned int i = 0; i < rte_socket_count(); i++) {
			struct dpm_socket_stats st;

			if (dpm_stats_socket(rte_socket_id_by_idx(i), &st) == 0)
				fp_dpm_chunks_hw += st.chunks_peak;
		}
		printf("footprint dpmalloc    spans mean %.0f MiB in %u; chunks in use mean %.0f, sampled peak %.0f, "
		       "high-water %.0f MiB (spares included, since init); "
		       "allocated (class sizes, caches included) mean %.0f MiB\n",
		       fp_dpm_spans_sum / fp_nsamples / 1048576, fp_zones_dpm(),
		       fp_dpm_chunks_sum / fp_nsamples / 1048576,
		       fp_dpm_chunks_peak / 1048576, (double)fp_dpm_chunks_hw * (2 << 20) / 1048576,
		       fp_dpm_alloc_sum / fp_nsamples / 1048576);
		printf("footprint dpmalloc    of which in tcaches mean %.1f MiB (large classes %.1f MiB); "
		       "parked in transfer caches mean %.1f MiB\n",
		       fp_dpm_tcache_sum / fp_nsamples / 1048576,
		       fp_dpm_tcache_large_sum / fp_nsamples / 1048576,
		       fp_dpm_parked_sum / fp_nsamples / 1048576);
	}
	if (fp_is_dpm) {
		zones_peak = fp_zones_dpm();
		fp_dpm_release_all();
	}
	res_after = reserved();
	res_after = res_after > base ? res_after - base : 0;
	if (fp_is_dpm && fp_dpm_knobs()) {
		struct dpm_config cfg;

		dpm_fini();
		perf_dpm_config(&cfg);
		dpm_init(&cfg);
	}
	printf("footprint %-11s %u samples: reserved/live mean %.2f peak %.2f; live %.0f MiB, "
	       "reserved mean %.0f peak %.0f MiB; after free %.1f MiB; %.2f Mops/s; %llu failed, "
	       "%llu damaged\n", a->name, n, n ? sum_ratio / n : NAN, peak_ratio,
	       n ? sum_live / n / 1048576 : NAN, n ? sum_res / n / 1048576 : NAN,
	       peak_res / 1048576.0, res_after / 1048576.0,
	       ops / ((double)(t1 - t0) / rte_get_tsc_hz()) / 1e6,
	       (unsigned long long)failed, (unsigned long long)bad);
	if (n == 0)
		return;
	fp_record(a->name, "ratio_mean", sum_ratio / n);
	fp_record(a->name, "ratio_peak", peak_ratio);
	fp_record(a->name, "bytes_live_mean", sum_live / n);
	fp_record(a->name, "bytes_reserved_mean", sum_res / n);
	fp_record(a->name, "bytes_reserved_peak", (double)peak_res);
	fp_record(a->name, "bytes_after_free", (double)res_after);
	fp_record(a->name, "ops_per_s", ops / ((double)(t1 - t0) / rte_get_tsc_hz()));
	if (fp_is_dpm)
		fp_record(a->name, "memzones_end", zones_peak);
	if (fp_reserved2 != NULL && n > 0) {
		/* jemalloc seen through resident bytes (dirty pages in). */
		double s = 0, pk = 0;

		for (i = 0; i < fp_nsamples; i++) {
			double live = (double)fp_sample_live[i];
			double res = (double)fp_sample_res2[i] - (double)base2;

			if (live <= 0)
				continue;
			s += res / live;
			pk = RTE_MAX(pk, res / live);
		}
		printf("footprint %-11s through stats.resident: reserved/live mean %.2f peak %.2f\n",
		       a->name, s / n, pk);
		fp_record(a->name, "resident_ratio_mean", s / n);
		fp_record(a->name, "resident_ratio_peak", pk);
	}
}

/* jemalloc's mallctl, from the library dlopen'ed by perf_alloc.c. */
static void
fp_find_mallctl(void)
{
	void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);

	fp_mallctl = h != NULL ? (int (*)(const char *, void *, size_t *, void *, size_t))
		perf_dlsym_fn(h, "mallctl") : NULL;
}

void
perf_run_footprint(struct perf_allocator *tab, unsigned int n)
{
	const char *series_path = getenv("DPM_PERF_FP_SERIES");
	FILE *series = NULL;
	char name[RTE_RING_NAMESIZE];
	unsigned int lcore, i;

	fp_nslots = (uint32_t)fp_env("DPM_PERF_FP_SLOTS", perf_opt.smoke ? 256 : 4096);
	fp_duration_ms = fp_env("DPM_PERF_FP_MS", perf_opt.smoke ? 300 : 3000);
	fp_nlcores = 0;
	RTE_LCORE_FOREACH(lcore) {
		struct fp_lcore *lc = &fp_lc[lcore];

		snprintf(name, sizeof(name), "fp_inbox_%u_%d", lcore, getpid());
		lc->inbox = rte_ring_create(name, FP_RING_SIZE, rte_lcore_to_socket_id(lcore),
					    RING_F_SC_DEQ);
		lc->slot = calloc(RTE_MAX(fp_nslots, 1u), sizeof(void *));
		if (lc->inbox == NULL || lc->slot == NULL) {
			fprintf(stderr, "dpm_perf: footprint: no ring or slots for lcore %u\n", lcore);
			goto out;
		}
		fp_lcores[fp_nlcores++] = lcore;
	}
	fp_find_mallctl();
	printf("footprint: %u lcores x %u slots, %llu ms churn per allocator, seed 0x%llx\n",
	       fp_nlcores, fp_nslots, (unsigned long long)fp_duration_ms,
	       (unsigned long long)perf_opt.seed);
	if (series_path != NULL) {
		series = fopen(series_path, "w");
		if (series != NULL)
			fprintf(series, "allocator,ms,live,reserved,chunks_used\n");
	}
	for (i = 0; i < n; i++) {
		if (!tab[i].available)
			continue;
		if (i == PERF_DPM_INDEX)
			fp_run_one(&tab[i], fp_reserved_dpm, series);
		else if (strcmp(tab[i].name, "glibc") == 0)
			fp_run_one(&tab[i], fp_reserved_glibc, series);
		else if (strcmp(tab[i].name, "jemalloc") == 0 && fp_mallctl != NULL)
			fp_run_one(&tab[i], fp_reserved_jemalloc, series);
		else if (strcmp(tab[i].name, "rte_malloc") == 0)
			fp_run_one(&tab[i], fp_reserved_rte, series);
	}
	if (series != NULL)
		fclose(series);
out:
	RTE_LCORE_FOREACH(lcore) {
		rte_ring_free(fp_lc[lcore].inbox);
		free(fp_lc[lcore].slot);
		fp_lc[lcore].inbox = NULL;
		fp_lc[lcore].slot = NULL;
	}
	fprintf(stderr, "dpm_perf: footprint done\n");
}
