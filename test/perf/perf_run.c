/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Interleaved repetitions: every column of a measurement is warmed up,
 * then the columns take turns, one run each per round, for perf_opt.reps
 * rounds. A slow drift of the machine's load (other processes, frequency)
 * then falls on every column alike instead of on whichever ran last, and
 * the medians compare like with like.
 */

#include <stdio.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "perf.h"

void
perf_run_interleaved(struct perf_run *run)
{
	static double samples[PERF_MAX_ALLOCATORS][PERF_MAX_UNITS][PERF_MAX_REPS];
	double out[PERF_MAX_UNITS];
	unsigned int i, r, u;

	if (perf_stopping)
		return;
	for (i = 0; i < run->n; i++) {
		if (run->use[i] && run->once(run, i, true, out) < 0) {
			run->use[i] = false;
			fprintf(stderr, "dpm_perf: %s %s %s: failed, no result\n",
					run->workload, run->param, run->tab[i].name);
		}
	}
	for (r = 0; r < perf_opt.reps; r++) {
		if (perf_stopping)
			return;  /* an unfinished round: record nothing */
		for (i = 0; i < run->n; i++) {
			if (!run->use[i])
				continue;
			if (run->once(run, i, false, out) < 0) {
				run->use[i] = false;
				fprintf(stderr, "dpm_perf: %s %s %s: failed, no result\n",
						run->workload, run->param,
						run->tab[i].name);
				continue;
			}
			for (u = 0; u < run->nb_units; u++)
				samples[i][u][r] = out[u];
		}
	}
	for (i = 0; i < run->n; i++)
		for (u = 0; run->use[i] && u < run->nb_units; u++)
			perf_record(run->workload, run->param, run->tab[i].name,
					run->units[u],
					perf_stat_of(samples[i][u], perf_opt.reps));
}

/* What perf_measure_cycles() hands its once(). */
struct perf_cycles_ctx {
	perf_body_t body;
	void **ctx;
	uint64_t n_max;
};

/*
 * Warm-up: run a tenth of n_max and fit the count to the time budget, so
 * that a slow allocator's run is cut short instead of taking minutes.
 * Then: cycles per operation of a run of the fitted count.
 */
static int
perf_cycles_once(struct perf_run *run, unsigned int i, bool warm, double *out)
{
	const struct perf_cycles_ctx *cc = run->ctx;
	const struct perf_allocator *a = &run->tab[i];
	uint64_t budget = perf_opt.rep_budget_ms * rte_get_tsc_hz() / 1000;
	uint64_t n, c, ops = 0;

	if (warm) {
		n = RTE_MAX(cc->n_max / 10, (uint64_t)4);
		c = cc->body(a, cc->ctx[i], n, &ops);
		if (c == PERF_FAILED)
			return -1;
		n = RTE_MIN(cc->n_max, budget / RTE_MAX(c / n, (uint64_t)1));
		run->iters[i] = RTE_MAX(n, (uint64_t)4);
		return 0;
	}
	c = cc->body(a, cc->ctx[i], run->iters[i], &ops);
	if (c == PERF_FAILED || ops == 0)
		return -1;
	out[0] = (double)c / (double)ops;
	return 0;
}

void
perf_measure_cycles(struct perf_allocator *tab, unsigned int n,
		const bool *use, const char *workload, const char *param,
		perf_body_t body, void **ctx, uint64_t n_max)
{
	struct perf_cycles_ctx cc = { body, ctx, n_max };
	struct perf_run run = {
		.workload = workload, .param = param,
		.units = { "cycles/op" }, .nb_units = 1,
		.once = perf_cycles_once, .ctx = &cc, .tab = tab, .n = n,
	};
	unsigned int i;

	for (i = 0; i < n && i < PERF_MAX_ALLOCATORS; i++)
		run.use[i] = use[i];
	perf_run_interleaved(&run);
}
