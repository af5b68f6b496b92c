/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Workloads on several lcores: a producer/consumer pipeline through an
 * rte_ring, and churn scaled over 1..N lcores with a share of the frees
 * done by another lcore.
 *
 * The machine these run on may have fewer CPUs than lcores (EAL
 * --lcores='(0-7)@(0-1)'), so nothing here busy-waits longer than it must:
 * the main lcore waits for workers by sleeping (rte_eal_wait_lcore() would
 * spin and steal a CPU from them) and start barriers yield the CPU.
 * Multi-lcore repetitions run for a fixed time, not a fixed count, so an
 * allocator that collapses under contention costs time, not minutes.
 */

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "perf.h"

/* ---- lcore helpers ---- */

/* Wait for a worker without spinning: it may share our CPU. */
static int
perf_wait_sleeping(unsigned int lcore)
{
	while (rte_eal_get_lcore_state(lcore) == RUNNING)
		usleep(200);
	return rte_eal_wait_lcore(lcore);
}

void
perf_on_each_worker(int (*fn)(void *), void *arg)
{
	unsigned int lcore;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (rte_eal_remote_launch(fn, arg, lcore) == 0)
			perf_wait_sleeping(lcore);
	}
}

/* Whether two lcores can never run on the same CPU. */
static bool
perf_disjoint_cpus(unsigned int a, unsigned int b)
{
	rte_cpuset_t ca = rte_lcore_cpuset(a), cb = rte_lcore_cpuset(b), both;

	CPU_AND(&both, &ca, &cb);
	return CPU_COUNT(&both) == 0;
}

/*
 * The pipeline's two lcores: the first pair of workers pinned to
 * different CPUs, so producer and consumer really run in parallel; else
 * the first two workers, left to the kernel scheduler. -1 without two
 * workers.
 */
static int
perf_pick_pipeline_lcores(unsigned int *prod, unsigned int *cons)
{
	unsigned int a, b;

	RTE_LCORE_FOREACH_WORKER(a) {
		RTE_LCORE_FOREACH_WORKER(b) {
			if (b > a && perf_disjoint_cpus(a, b)) {
				*prod = a;
				*cons = b;
				return 1;
			}
		}
	}
	*prod = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	*cons = rte_get_next_lcore(*prod, 1, 0);
	return *cons < RTE_MAX_LCORE ? 0 : -1;
}

/* ---- (4) pipeline ---- */

struct perf_pipe {
	const struct perf_allocator *a;
	struct rte_ring *ring;
	uint64_t duration;      /**< producer's run time, cycles */
	uint64_t t_start;       /**< producer's first cycle */
	uint64_t t_end;         /**< consumer's cycle after its last free */
	uint64_t consumed;
	int done;               /**< producer finished (atomic) */
	int failed;             /**< an allocation failed */
};

/* Allocate bursts of records and pass them on until the time is up. */
static int
perf_pipe_producer(void *arg)
{
	struct perf_pipe *pp = arg;
	void *(*alloc)(size_t) = pp->a->alloc;
	uint64_t rng = perf_opt.seed | 1, deadline, i = 0;
	void *objs[PERF_BURST];

	pp->t_start = rte_rdtsc();
	deadline = pp->t_start + pp->duration;
	while (rte_rdtsc() < deadline) {
		unsigned int j, sent = 0;

		for (j = 0; j < PERF_BURST; j++, i++) {
			objs[j] = alloc(perf_rand_size(&rng, perf_opt.pipe_min,
						perf_opt.pipe_max));
			if (unlikely(objs[j] == NULL)) {
				pp->failed = 1;
				goto out;
			}
			perf_touch(objs[j], i);
		}
		for (;;) {
			sent += rte_ring_sp_enqueue_burst(pp->ring, objs + sent,
					PERF_BURST - sent, NULL);
			if (sent == PERF_BURST)
				break;
			/* Full: the consumer may be waiting for our CPU. */
			sched_yield();
		}
	}
out:
	__atomic_store_n(&pp->done, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Free whatever arrives until the producer is done and the ring empty. */
static int
perf_pipe_consumer(void *arg)
{
	struct perf_pipe *pp = arg;
	void (*release)(void *) = pp->a->release;
	void *objs[PERF_BURST];
	uint64_t count = 0;

	for (;;) {
		unsigned int j, got = rte_ring_sc_dequeue_burst(pp->ring, objs,
				PERF_BURST, NULL);

		for (j = 0; j < got; j++)
			release(objs[j]);
		count += got;
		if (got != 0)
			continue;
		if (__atomic_load_n(&pp->done, __ATOMIC_ACQUIRE) &&
				rte_ring_empty(pp->ring))
			break;
		/* Empty: the producer may be waiting for our CPU. */
		sched_yield();
	}
	pp->t_end = rte_rdtsc();
	pp->consumed = count;
	return 0;
}

/* The ring baseline's "allocator": records from a static slab, no free. */
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

/* One timed run; returns objects per second, or -1 on failure. */
static double
perf_pipe_once(const struct perf_allocator *a, struct rte_ring *ring,
		unsigned int prod, unsigned int cons)
{
	struct perf_pipe pp = {
		.a = a, .ring = ring,
		.duration = perf_opt.duration_ms * rte_get_tsc_hz() / 1000,
	};

	/* Consumer first: it polls an empty ring until records come. */
	rte_eal_remote_launch(perf_pipe_consumer, &pp, cons);
	rte_eal_remote_launch(perf_pipe_producer, &pp, prod);
	perf_wait_sleeping(prod);
	perf_wait_sleeping(cons);
	if (pp.failed || pp.t_end <= pp.t_start)
		return -1;
	return (double)pp.consumed * (double)rte_get_tsc_hz() /
		(double)(pp.t_end - pp.t_start);
}

/* Warm-up plus perf_opt.reps runs of one allocator; records ops/s. */
static void
perf_pipe_measure(const struct perf_allocator *a, struct rte_ring *ring,
		unsigned int prod, unsigned int cons, const char *param)
{
	double samples[perf_opt.reps];
	unsigned int r;

	if (perf_pipe_once(a, ring, prod, cons) < 0)
		goto fail;
	for (r = 0; r < perf_opt.reps; r++) {
		samples[r] = perf_pipe_once(a, ring, prod, cons);
		if (samples[r] < 0)
			goto fail;
	}
	perf_record("pipeline", param, a->name, "ops/s",
			perf_stat_of(samples, perf_opt.reps));
	return;
fail:
	fprintf(stderr, "dpm_perf: pipeline %s: allocation failed, no result\n",
			a->name);
}

void
perf_run_pipeline(struct perf_allocator *tab, unsigned int n)
{
	static const struct perf_allocator ring_only = {
		.name = "ring_only", .available = true,
		.alloc = perf_slab_alloc, .release = perf_slab_release,
		.max_size = 256,
	};
	unsigned int prod, cons, i;
	struct rte_ring *ring;
	char param[24];
	int pinned = perf_pick_pipeline_lcores(&prod, &cons);

	if (pinned < 0) {
		printf("pipeline: skipped, needs two worker lcores\n");
		return;
	}
	printf("pipeline: producer lcore %u, consumer lcore %u (%s)\n", prod,
			cons, pinned ? "pinned to different CPUs" :
			"CPU sets overlap: the kernel places them");
	ring = rte_ring_create("dpm_perf_pipe", 1024, rte_socket_id(),
			RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (ring == NULL) {
		printf("pipeline: skipped, ring: %s\n", rte_strerror(rte_errno));
		return;
	}
	snprintf(param, sizeof(param), "%zu-%zu", perf_opt.pipe_min,
			perf_opt.pipe_max);
	for (i = 0; i < n; i++)
		if (perf_fits(&tab[i], perf_opt.pipe_max))
			perf_pipe_measure(&tab[i], ring, prod, cons, param);
	perf_pipe_measure(&ring_only, ring, prod, cons, param);
	rte_ring_free(ring);
	fprintf(stderr, "dpm_perf: pipeline done\n");
}

/* ---- (5) scaling ---- */

/** One participating lcore's state; cache-aligned against false sharing. */
struct perf_scale_lcore {
	struct perf_churn churn;
	struct rte_ring *inbox;   /**< objects other lcores send us to free */
	struct rte_ring *peer;    /**< the inbox our remote frees go to */
	const struct perf_allocator *a;
	const uint64_t *deadline; /**< shared; 0 until the start */
	uint64_t ops;             /**< replacements done in this repetition */
	uint64_t t_end;
	int failed;
	unsigned int index;
} __rte_cache_aligned;

static struct perf_scale_lcore perf_scale[RTE_MAX_LCORE];
static unsigned int perf_scale_ids[RTE_MAX_LCORE]; /* [0] is main */
static uint64_t perf_scale_deadline;

/* Free up to a burst of objects other lcores sent us. */
static inline void
perf_scale_drain(struct perf_scale_lcore *s, void (*release)(void *))
{
	void *objs[PERF_BURST];
	unsigned int j, got = rte_ring_sc_dequeue_burst(s->inbox, objs,
			PERF_BURST, NULL);

	for (j = 0; j < got; j++)
		release(objs[j]);
}

/*
 * Churn until the shared deadline: every remote_every-th victim goes to
 * the peer's inbox instead of being freed here (freed here if the inbox is
 * full); the inbox is drained every 16 replacements.
 */
static int
perf_scale_worker(void *arg)
{
	struct perf_scale_lcore *s = arg;
	void *(*alloc)(size_t) = s->a->alloc;
	void (*release)(void *) = s->a->release;
	unsigned int every = perf_opt.remote_every, tick = s->index % every;
	uint64_t deadline, ops = 0;

	while ((deadline = __atomic_load_n(s->deadline, __ATOMIC_ACQUIRE)) == 0)
		sched_yield();
	do {
		unsigned int j;

		for (j = 0; j < 16; j++) {
			uint32_t idx, size;
			void *victim = perf_churn_pick(&s->churn, &idx, &size);
			void *p;

			if (++tick == every) {
				tick = 0;
				if (rte_ring_mp_enqueue(s->peer, victim) != 0)
					release(victim);
			} else {
				release(victim);
			}
			p = alloc(size);
			if (unlikely(p == NULL)) {
				s->churn.slot[idx] = NULL;
				s->failed = 1;
				goto out;
			}
			perf_churn_put(&s->churn, idx, size, p);
		}
		ops += 16;
		perf_scale_drain(s, release);
	} while (rte_rdtsc() < deadline);
out:
	s->t_end = rte_rdtsc();
	s->ops = ops;
	return 0;
}

/* Fill this lcore's live set on the lcore itself, as an application would. */
static int
perf_scale_fill(void *arg)
{
	struct perf_scale_lcore *s = arg;

	s->failed = perf_churn_fill(&s->churn, s->a, perf_opt.live,
			perf_opt.seed + s->index) != 0;
	return 0;
}

/* Free this lcore's live set and what is left in its inbox. */
static int
perf_scale_empty(void *arg)
{
	struct perf_scale_lcore *s = arg;

	while (!rte_ring_empty(s->inbox))
		perf_scale_drain(s, s->a->release);
	perf_churn_empty(&s->churn, s->a);
	return 0;
}

/* Run fn for participants 0..k-1: workers launched, main runs its own. */
static void
perf_scale_each(int (*fn)(void *), unsigned int k)
{
	unsigned int i;

	for (i = 1; i < k; i++)
		rte_eal_remote_launch(fn, &perf_scale[i], perf_scale_ids[i]);
	fn(&perf_scale[0]);
	for (i = 1; i < k; i++)
		perf_wait_sleeping(perf_scale_ids[i]);
}

/* One repetition on k lcores; total replacements per second, or -1. */
static double
perf_scale_once(unsigned int k)
{
	uint64_t t0, t_end = 0, ops = 0;
	unsigned int i;

	__atomic_store_n(&perf_scale_deadline, 0, __ATOMIC_RELAXED);
	for (i = 1; i < k; i++)
		rte_eal_remote_launch(perf_scale_worker, &perf_scale[i],
				perf_scale_ids[i]);
	t0 = rte_rdtsc();
	__atomic_store_n(&perf_scale_deadline,
			t0 + perf_opt.duration_ms * rte_get_tsc_hz() / 1000,
			__ATOMIC_RELEASE);
	perf_scale_worker(&perf_scale[0]);
	for (i = 1; i < k; i++)
		perf_wait_sleeping(perf_scale_ids[i]);
	for (i = 0; i < k; i++) {
		if (perf_scale[i].failed)
			return -1;
		ops += perf_scale[i].ops;
		t_end = RTE_MAX(t_end, perf_scale[i].t_end);
	}
	return (double)ops * (double)rte_get_tsc_hz() / (double)(t_end - t0);
}

/* Set up k participants for allocator a: peers in a ring of inboxes. */
static int
perf_scale_setup(const struct perf_allocator *a, unsigned int k)
{
	unsigned int i;

	for (i = 0; i < k; i++) {
		struct perf_scale_lcore *s = &perf_scale[i];

		s->a = a;
		s->index = i;
		s->deadline = &perf_scale_deadline;
		s->failed = 0;
		/* With one lcore the "other" lcore is itself: same work. */
		s->peer = perf_scale[(i + 1) % k].inbox;
	}
	perf_scale_each(perf_scale_fill, k);
	for (i = 0; i < k; i++)
		if (perf_scale[i].failed)
			return -1;
	return 0;
}

/* Warm-up plus repetitions of a on k lcores; records ops/s. */
static void
perf_scale_measure(const struct perf_allocator *a, unsigned int k)
{
	double samples[perf_opt.reps];
	char param[24];
	unsigned int r;
	int ok = perf_scale_setup(a, k) == 0 && perf_scale_once(k) >= 0;

	for (r = 0; ok && r < perf_opt.reps; r++) {
		samples[r] = perf_scale_once(k);
		ok = samples[r] >= 0;
	}
	perf_scale_each(perf_scale_empty, k);
	snprintf(param, sizeof(param), "%u", k);
	if (ok)
		perf_record("scaling", param, a->name, "ops/s",
				perf_stat_of(samples, perf_opt.reps));
	else
		fprintf(stderr, "dpm_perf: scaling %u %s: allocation failed, no result\n",
				k, a->name);
}

/* Participants: the main lcore, then workers in id order; their inboxes. */
static unsigned int
perf_scale_lcores(void)
{
	unsigned int k = 0, lcore;

	perf_scale_ids[k++] = rte_get_main_lcore();
	RTE_LCORE_FOREACH_WORKER(lcore)
		perf_scale_ids[k++] = lcore;
	for (lcore = 0; lcore < k; lcore++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "dpm_perf_in%u", lcore);
		perf_scale[lcore].inbox = rte_ring_create(name, 4096,
				rte_socket_id(), RING_F_SC_DEQ);
		if (perf_scale[lcore].inbox == NULL)
			return lcore;
	}
	return k;
}

void
perf_run_scaling(struct perf_allocator *tab, unsigned int n)
{
	unsigned int max = perf_scale_lcores(), c, i;

	for (c = 0; c < perf_opt.nb_lcore_counts; c++) {
		unsigned int k = perf_opt.lcore_counts[c];

		if (k > max) {
			printf("scaling: %u lcores skipped, only %u available\n",
					k, max);
			continue;
		}
		for (i = 0; i < n; i++)
			if (perf_fits(&tab[i], perf_opt.churn_max))
				perf_scale_measure(&tab[i], k);
		fprintf(stderr, "dpm_perf: scaling %u lcores done\n", k);
	}
	for (i = 0; i < max; i++) {
		rte_ring_free(perf_scale[i].inbox);
		perf_scale[i].inbox = NULL;
	}
}
