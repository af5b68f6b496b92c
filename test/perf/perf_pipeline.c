/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Pipeline: what an RX lcore and a TX lcore do with per-packet metadata.
 * The producer allocates records of perf_opt.pipe_size bytes and writes
 * them (up to 64 bytes), passes them in bursts of 32 through an SP/SC
 * rte_ring; the consumer reads each record, then frees it. Its read
 * misses (the line is dirty in the producer's cache), so the time the
 * free leaves for those misses to overlap is what this measures.
 *
 * Variants (one table block each):
 *   pipeline            per-object alloc and free
 *   pipeline_prefetch   the consumer first prefetches the burst
 *                       (rte_prefetch0 on every record), as DPDK loops do
 *   pipeline_bulk       one bulk call per burst on each side
 *                       (dpm_malloc_bulk/dpm_free_bulk,
 *                       rte_mempool_get_bulk/put_bulk)
 * Each reports objects per second (wall time, producer start to the
 * consumer's last free), the consumer's busy cycles per object (read
 * and free, the polling of an empty ring left out) and the producer's
 * (allocation and writes, the waits on a full ring left out): which side
 * bounds the rate. ring_only is the ring
 * and the record traffic alone: records from a static slab, never freed.
 */

#include <sched.h>
#include <stdio.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "perf.h"

/** The variant of a pipeline run. */
struct perf_pipe_mode {
	const char *workload;
	bool prefetch, bulk;
};

struct perf_pipe {
	const struct perf_allocator *a;
	const struct perf_pipe_mode *mode;
	struct rte_ring *ring;
	uint64_t duration;      /**< producer's run time, cycles */
	uint64_t t_start;       /**< producer's first cycle */
	uint64_t t_end;         /**< consumer's cycle after its last free */
	uint64_t consumed;
	uint64_t busy;          /**< consumer cycles spent on records */
	uint64_t prod_busy;     /**< producer cycles spent allocating and writing */
	uint64_t produced;
	uint64_t sum;           /**< what the consumer read (kept) */
	int done;               /**< producer finished (atomic) */
	int failed;             /**< an allocation failed */
};

/* Allocate and write one burst; -1 when an allocation failed. */
static __rte_always_inline int
perf_pipe_fill(enum perf_kind k, const struct perf_pipe *pp, void **objs,
		uint64_t seq)
{
	size_t size = perf_opt.pipe_size;
	unsigned int j;

	if (pp->mode->bulk) {
		if (perf_alloc_bulk_k(k, pp->a, objs, PERF_BURST, size) < 0)
			return -1;
	} else {
		for (j = 0; j < PERF_BURST; j++) {
			objs[j] = perf_alloc_k(k, pp->a, size);
			if (unlikely(objs[j] == NULL)) {
				while (j-- > 0)
					perf_free_k(k, pp->a, objs[j], size);
				return -1;
			}
		}
	}
	for (j = 0; j < PERF_BURST; j++)
		perf_write_record(objs[j], size, seq + j);
	return 0;
}

/* Allocate bursts of records and pass them on until the time is up. */
static __rte_always_inline int
perf_pipe_produce(enum perf_kind k, struct perf_pipe *pp)
{
	uint64_t deadline, seq = 0;
	void *objs[PERF_BURST];

	pp->t_start = rte_rdtsc();
	deadline = pp->t_start + pp->duration;
	uint64_t busy = 0, now = pp->t_start;

	while (now < deadline) {
		unsigned int sent = 0;

		if (unlikely(perf_pipe_fill(k, pp, objs, seq) < 0)) {
			pp->failed = 1;
			break;
		}
		/* Allocation and writes only: the ring's waits are left out. */
		busy += rte_rdtsc() - now;
		seq += PERF_BURST;
		for (;;) {
			sent += rte_ring_sp_enqueue_burst(pp->ring, objs + sent,
					PERF_BURST - sent, NULL);
			if (sent == PERF_BURST)
				break;
			/* Full: the consumer may be waiting for our CPU. */
			sched_yield();
		}
		now = rte_rdtsc();
	}
	pp->prod_busy = busy;
	pp->produced = seq;
	__atomic_store_n(&pp->done, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Read and free one burst of got records. */
static __rte_always_inline uint64_t
perf_pipe_drain(enum perf_kind k, const struct perf_pipe *pp, void **objs,
		unsigned int got)
{
	size_t size = perf_opt.pipe_size;
	uint64_t sum = 0;
	unsigned int j;

	if (pp->mode->prefetch)
		for (j = 0; j < got; j++)
			rte_prefetch0(objs[j]);
	if (pp->mode->bulk) {
		for (j = 0; j < got; j++)
			sum += perf_read_record(objs[j], size);
		perf_free_bulk_k(k, pp->a, objs, got);
	} else {
		for (j = 0; j < got; j++) {
			sum += perf_read_record(objs[j], size);
			perf_free_k(k, pp->a, objs[j], size);
		}
	}
	return sum;
}

/* Read and free whatever arrives until the producer is done and the ring empty. */
static __rte_always_inline int
perf_pipe_consume(enum perf_kind k, struct perf_pipe *pp)
{
	void *objs[PERF_BURST];
	uint64_t count = 0, busy = 0, sum = 0;

	for (;;) {
		unsigned int got = rte_ring_sc_dequeue_burst(pp->ring, objs,
				PERF_BURST, NULL);

		if (got != 0) {
			uint64_t t0 = rte_rdtsc();

			sum += perf_pipe_drain(k, pp, objs, got);
			busy += rte_rdtsc() - t0;
			count += got;
			continue;
		}
		if (__atomic_load_n(&pp->done, __ATOMIC_ACQUIRE) &&
				rte_ring_empty(pp->ring))
			break;
		/* Empty: the producer may be waiting for our CPU. */
		sched_yield();
	}
	pp->t_end = rte_rdtsc();
	pp->consumed = count;
	pp->busy = busy;
	pp->sum = sum;
	return 0;
}

static int
perf_pipe_producer(void *arg)
{
	struct perf_pipe *pp = arg;

	return PERF_DISPATCH(pp->a->kind, perf_pipe_produce, pp);
}

static int
perf_pipe_consumer(void *arg)
{
	struct perf_pipe *pp = arg;

	return PERF_DISPATCH(pp->a->kind, perf_pipe_consume, pp);
}

/* ---- the ring baseline: records from a static slab, no free ---- */

#define PERF_SLAB_RECORDS 4096
static uint8_t perf_slab[PERF_SLAB_RECORDS][256] __rte_cache_aligned;
static unsigned int perf_slab_next;

static void *
perf_slab_alloc(size_t size)
{
	RTE_SET_USED(size);
	return perf_slab[perf_slab_next++ % PERF_SLAB_RECORDS];
}

static void
perf_slab_release(void *ptr)
{
	RTE_SET_USED(ptr);
}

static unsigned int
perf_slab_alloc_bulk(void **ptrs, unsigned int n, size_t size)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		ptrs[i] = perf_slab_alloc(size);
	return n;
}

static void
perf_slab_release_bulk(void **ptrs, unsigned int n)
{
	RTE_SET_USED(ptrs);
	RTE_SET_USED(n);
}

/* ---- runs ---- */

struct perf_pipe_ctx {
	const struct perf_pipe_mode *mode;
	struct rte_ring *ring;
	unsigned int prod, cons;
};

/* One timed run: objects per second and consumer cycles per object. */
static int
perf_pipe_once(struct perf_run *run, unsigned int i, bool warm, double *out)
{
	const struct perf_pipe_ctx *pc = run->ctx;
	struct perf_pipe pp = {
		.a = &run->tab[i], .mode = pc->mode, .ring = pc->ring,
		.duration = perf_opt.duration_ms * rte_get_tsc_hz() / 1000,
	};

	if (warm)
		pp.duration /= 2;
	/* Consumer first: it polls an empty ring until records come. */
	rte_eal_remote_launch(perf_pipe_consumer, &pp, pc->cons);
	rte_eal_remote_launch(perf_pipe_producer, &pp, pc->prod);
	perf_wait_lcore(pc->prod);
	perf_wait_lcore(pc->cons);
	if (pp.failed || pp.t_end <= pp.t_start || pp.consumed == 0)
		return -1;
	out[0] = (double)pp.consumed * (double)rte_get_tsc_hz() /
		(double)(pp.t_end - pp.t_start);
	out[1] = (double)pp.busy / (double)pp.consumed;
	out[2] = pp.produced ? (double)pp.prod_busy / (double)pp.produced : 0.0;
	return 0;
}

void
perf_run_pipeline(struct perf_allocator *tab, unsigned int n)
{
	static const struct perf_pipe_mode modes[] = {
		{ "pipeline", false, false },
		{ "pipeline_prefetch", true, false },
		{ "pipeline_bulk", false, true },
	};
	struct perf_allocator all[PERF_MAX_ALLOCATORS + 1];
	struct perf_pipe_ctx pc;
	unsigned int m, i, pinned;
	char param[24];
	int rc = perf_pick_lcore_pair(&pc.prod, &pc.cons);

	if (rc < 0) {
		printf("pipeline: skipped, needs two worker lcores\n");
		return;
	}
	pinned = rc;
	printf("pipeline: producer lcore %u, consumer lcore %u (%s)\n",
			pc.prod, pc.cons, pinned ? "pinned to different CPUs" :
			"CPU sets overlap: the kernel places them");
	pc.ring = rte_ring_create("dpm_perf_pipe", 1024, rte_socket_id(),
			RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (pc.ring == NULL) {
		printf("pipeline: skipped, ring: %s\n", rte_strerror(rte_errno));
		return;
	}
	/* The columns, then the ring alone. */
	for (i = 0; i < n && i < PERF_MAX_ALLOCATORS; i++)
		all[i] = tab[i];
	all[i] = (struct perf_allocator){
		.name = "ring_only", .available = true, .kind = PERF_K_CALL,
		.alloc = perf_slab_alloc, .release = perf_slab_release,
		.alloc_bulk = perf_slab_alloc_bulk,
		.release_bulk = perf_slab_release_bulk,
		.max_size = sizeof(perf_slab[0]),
	};
	snprintf(param, sizeof(param), "%zu", perf_opt.pipe_size);
	for (m = 0; m < RTE_DIM(modes); m++) {
		struct perf_run run = {
			.workload = modes[m].workload, .param = param,
			.units = { "ops/s", "cycles/obj", "prod_cycles/obj" },
			.nb_units = 3,
			.once = perf_pipe_once, .ctx = &pc, .tab = all,
			.n = RTE_MIN(n + 1, (unsigned int)PERF_MAX_ALLOCATORS),
		};

		pc.mode = &modes[m];
		for (i = 0; i < run.n; i++)
			run.use[i] = perf_prepare(&all[i], perf_opt.pipe_size,
					true) && (!modes[m].bulk ||
					perf_has_bulk(&all[i]));
		perf_run_interleaved(&run);
		fprintf(stderr, "dpm_perf: %s done\n", modes[m].workload);
	}
	rte_ring_free(pc.ring);
}
