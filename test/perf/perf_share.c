/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Passive false sharing: the main lcore allocates two 1-byte objects (most
 * likely neighbours in one cache line) and hands one to each of two worker
 * lcores on different CPUs. Each frees the object it got, then allocates,
 * writes and frees a 1-byte object perf_opt.fs_iters times. An allocator
 * that hands a freed object to the freeing lcore's next allocation makes
 * the two lcores write to one cache line for the whole run; one that sends
 * it home does not. Reported: seconds until both are done (param: the
 * object size; --fs-iters sets the count).
 */

#include <sched.h>
#include <stdio.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "perf.h"

/** The size both workers use: the smallest there is. */
#define PERF_FS_SIZE 1

/** One worker's part; cache-aligned so the harness shares no line. */
struct perf_fs_worker {
	const struct perf_allocator *a;
	void *first;            /**< the object the main lcore handed over */
	const int *go;          /**< start flag, shared */
	uint64_t iters;         /**< allocate/write/free rounds */
	uint64_t t_end;
	int failed;
} __rte_cache_aligned;

static __rte_always_inline int
perf_fs_loop(enum perf_kind k, struct perf_fs_worker *w)
{
	uint64_t i, n = w->iters;

	while (__atomic_load_n(w->go, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	perf_free_k(k, w->a, w->first, PERF_FS_SIZE);
	for (i = 0; i < n; i++) {
		void *p = perf_alloc_k(k, w->a, PERF_FS_SIZE);

		if (unlikely(p == NULL)) {
			w->failed = 1;
			break;
		}
		perf_touch(p, i);
		perf_free_k(k, w->a, p, PERF_FS_SIZE);
	}
	w->t_end = rte_rdtsc();
	return 0;
}

static int
perf_fs_worker_main(void *arg)
{
	struct perf_fs_worker *w = arg;

	return PERF_DISPATCH(w->a->kind, perf_fs_loop, w);
}

struct perf_fs_ctx {
	unsigned int lcore[2];
};

/* One run of one column: seconds from the start to the last worker's end. */
static int
perf_fs_once(struct perf_run *run, unsigned int i, bool warm, double *out)
{
	static struct perf_fs_worker w[2];
	static int go;
	const struct perf_fs_ctx *fc = run->ctx;
	const struct perf_allocator *a = &run->tab[i];
	uint64_t t0, t_end;
	unsigned int j;

	__atomic_store_n(&go, 0, __ATOMIC_RELAXED);
	for (j = 0; j < 2; j++) {
		w[j] = (struct perf_fs_worker){ .a = a, .go = &go,
			.iters = warm ? perf_opt.fs_iters / 10 + 1 :
				perf_opt.fs_iters };
		w[j].first = PERF_DISPATCH(a->kind, perf_alloc_k, a, PERF_FS_SIZE);
		if (w[j].first == NULL)
			return -1;
		perf_touch(w[j].first, j);
	}
	for (j = 0; j < 2; j++)
		rte_eal_remote_launch(perf_fs_worker_main, &w[j], fc->lcore[j]);
	t0 = rte_rdtsc();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (j = 0; j < 2; j++)
		perf_wait_lcore(fc->lcore[j]);
	if (w[0].failed || w[1].failed)
		return -1;
	t_end = RTE_MAX(w[0].t_end, w[1].t_end);
	out[0] = (double)(t_end - t0) / (double)rte_get_tsc_hz();
	return 0;
}

void
perf_run_false_sharing(struct perf_allocator *tab, unsigned int n)
{
	struct perf_fs_ctx fc;
	struct perf_run run = {
		.workload = "false_sharing", .units = { "s" }, .nb_units = 1,
		.once = perf_fs_once, .ctx = &fc, .tab = tab, .n = n,
	};
	char param[24];
	unsigned int i;
	int rc = perf_pick_lcore_pair(&fc.lcore[0], &fc.lcore[1]);

	if (rc < 0) {
		printf("false_sharing: skipped, needs two worker lcores\n");
		return;
	}
	if (rc == 0)
		printf("false_sharing: lcores %u and %u may share a CPU: "
				"the result means little\n", fc.lcore[0], fc.lcore[1]);
	snprintf(param, sizeof(param), "%u", PERF_FS_SIZE);
	run.param = param;
	for (i = 0; i < n; i++)
		run.use[i] = perf_prepare(&tab[i], PERF_FS_SIZE, true);
	perf_run_interleaved(&run);
	fprintf(stderr, "dpm_perf: false sharing done\n");
}
