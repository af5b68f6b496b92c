/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Workloads on several lcores: churn scaled over 1..N lcores, with a share
 * of the frees done by another lcore or all of them local; and the lcore
 * helpers the other multi-lcore workloads (pipeline, false sharing) use.
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

int
perf_wait_lcore(unsigned int lcore)
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
			perf_wait_lcore(lcore);
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

int
perf_pick_lcore_pair(unsigned int *first, unsigned int *second)
{
	unsigned int a, b;

	RTE_LCORE_FOREACH_WORKER(a) {
		RTE_LCORE_FOREACH_WORKER(b) {
			if (b > a && perf_disjoint_cpus(a, b)) {
				*first = a;
				*second = b;
				return 1;
			}
		}
	}
	*first = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	*second = rte_get_next_lcore(*first, 1, 0);
	return *second < RTE_MAX_LCORE ? 0 : -1;
}

/* ---- scaling: churn on N lcores, remote frees or lcore-local ---- */

/** One participating lcore's state; cache-aligned against false sharing. */
struct perf_scale_lcore {
	struct perf_churn churn;
	struct rte_ring *inbox;   /**< objects other lcores send us to free */
	struct rte_ring *peer;    /**< the inbox our remote frees go to */
	const struct perf_allocator *a;
	const uint64_t *deadline; /**< shared; 0 until the start */
	uint64_t ops;             /**< replacements done in this repetition */
	uint64_t t_end;
	unsigned int every;       /**< every n-th free is remote; 0: none */
	int failed;
	unsigned int index;
} __rte_cache_aligned;

static struct perf_scale_lcore perf_scale[RTE_MAX_LCORE];
static unsigned int perf_scale_ids[RTE_MAX_LCORE]; /* [0] is main */
static uint64_t perf_scale_deadline;

/* Free up to a burst of objects other lcores sent us. */
static __rte_always_inline void
perf_scale_drain(enum perf_kind k, struct perf_scale_lcore *s)
{
	void *objs[PERF_BURST];
	unsigned int j, got = rte_ring_sc_dequeue_burst(s->inbox, objs,
			PERF_BURST, NULL);

	for (j = 0; j < got; j++)
		perf_free_k(k, s->a, objs[j], 0);
}

/*
 * Churn until the shared deadline: every every-th victim goes to the
 * peer's inbox instead of being freed here (freed here if the inbox is
 * full); the inbox is drained every 16 replacements.
 */
static __rte_always_inline int
perf_scale_loop(enum perf_kind k, struct perf_scale_lcore *s)
{
	const struct perf_allocator *a = s->a;
	unsigned int every = s->every, tick = every ? s->index % every : 0;
	uint64_t deadline, ops = 0;

	while ((deadline = __atomic_load_n(s->deadline, __ATOMIC_ACQUIRE)) == 0)
		sched_yield();
	do {
		unsigned int j;

		for (j = 0; j < 16; j++) {
			uint32_t idx, size;
			void *victim = perf_churn_pick(&s->churn, &idx, &size);
			void *p;

			if (every != 0 && ++tick == every) {
				tick = 0;
				if (rte_ring_mp_enqueue(s->peer, victim) != 0)
					perf_free_k(k, a, victim, 0);
			} else {
				perf_free_k(k, a, victim, 0);
			}
			p = perf_alloc_k(k, a, size);
			if (unlikely(p == NULL)) {
				s->churn.slot[idx] = NULL;
				s->failed = 1;
				goto out;
			}
			perf_churn_put(&s->churn, idx, size, p);
		}
		ops += 16;
		if (every != 0)
			perf_scale_drain(k, s);
	} while (rte_rdtsc() < deadline);
out:
	s->t_end = rte_rdtsc();
	s->ops = ops;
	return 0;
}

static int
perf_scale_worker(void *arg)
{
	struct perf_scale_lcore *s = arg;

	return PERF_DISPATCH(s->a->kind, perf_scale_loop, s);
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
		PERF_DISPATCH(s->a->kind, perf_scale_drain, s);
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
		perf_wait_lcore(perf_scale_ids[i]);
}

/* One timed run of ms on k lcores; total replacements per second, or -1. */
static double
perf_scale_timed(unsigned int k, uint64_t ms)
{
	uint64_t t0, t_end = 0, ops = 0;
	unsigned int i;

	__atomic_store_n(&perf_scale_deadline, 0, __ATOMIC_RELAXED);
	for (i = 1; i < k; i++)
		rte_eal_remote_launch(perf_scale_worker, &perf_scale[i],
				perf_scale_ids[i]);
	t0 = rte_rdtsc();
	__atomic_store_n(&perf_scale_deadline,
			t0 + ms * rte_get_tsc_hz() / 1000, __ATOMIC_RELEASE);
	perf_scale_worker(&perf_scale[0]);
	for (i = 1; i < k; i++)
		perf_wait_lcore(perf_scale_ids[i]);
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
perf_scale_setup(const struct perf_allocator *a, unsigned int k,
		unsigned int every)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i < k; i++) {
		struct perf_scale_lcore *s = &perf_scale[i];

		s->a = a;
		s->index = i;
		s->every = every;
		s->deadline = &perf_scale_deadline;
		s->failed = 0;
		/* With one lcore the "other" lcore is itself: same work. */
		s->peer = perf_scale[(i + 1) % k].inbox;
	}
	perf_scale_each(perf_scale_fill, k);
	for (i = 0; i < k; i++)
		if (perf_scale[i].failed)
			rc = -1;
	return rc;
}

/* What one scaling measurement hands its once(). */
struct perf_scale_ctx {
	unsigned int k, every;
};

/*
 * One repetition of one column. The live sets of every column at once
 * would not fit (k lcores x --live objects each), so each repetition
 * fills them, warms up for a quarter of the run, runs, and empties them
 * again; the rounds still interleave the columns.
 */
static int
perf_scale_once(struct perf_run *run, unsigned int i, bool warm, double *out)
{
	const struct perf_scale_ctx *sc = run->ctx;
	double v = -1;

	if (warm)
		return 0;
	if (perf_scale_setup(&run->tab[i], sc->k, sc->every) == 0 &&
			perf_scale_timed(sc->k, RTE_MAX(perf_opt.duration_ms / 4,
					(uint64_t)1)) >= 0)
		v = perf_scale_timed(sc->k, perf_opt.duration_ms);
	perf_scale_each(perf_scale_empty, sc->k);
	out[0] = v;
	return v < 0 ? -1 : 0;
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

/* Every lcore count of --lcores, every column: remote frees or none. */
static void
perf_run_scaling_every(struct perf_allocator *tab, unsigned int n,
		const char *workload, unsigned int every)
{
	unsigned int max = perf_scale_lcores(), c, i;

	for (c = 0; c < perf_opt.nb_lcore_counts; c++) {
		struct perf_scale_ctx sc = { perf_opt.lcore_counts[c], every };
		struct perf_run run = {
			.workload = workload, .units = { "ops/s" },
			.nb_units = 1, .once = perf_scale_once, .ctx = &sc,
			.tab = tab, .n = n,
		};
		char param[24];

		if (sc.k > max) {
			printf("%s: %u lcores skipped, only %u available\n",
					workload, sc.k, max);
			continue;
		}
		snprintf(param, sizeof(param), "%u", sc.k);
		run.param = param;
		/* Remote frees come back without their size. */
		for (i = 0; i < n; i++)
			run.use[i] = perf_prepare(&tab[i], perf_opt.churn_max,
					false);
		perf_run_interleaved(&run);
		fprintf(stderr, "dpm_perf: %s %u lcores done\n", workload, sc.k);
	}
	for (i = 0; i < max; i++) {
		rte_ring_free(perf_scale[i].inbox);
		perf_scale[i].inbox = NULL;
	}
}

void
perf_run_scaling(struct perf_allocator *tab, unsigned int n)
{
	perf_run_scaling_every(tab, n, "scaling", perf_opt.remote_every);
}

void
perf_run_scaling_local(struct perf_allocator *tab, unsigned int n)
{
	perf_run_scaling_every(tab, n, "scaling_local", 0);
}
