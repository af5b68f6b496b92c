/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Workloads on the main lcore alone: alloc+free pairs, batches (LIFO and
 * FIFO) and churn in a live set.
 *
 * Each measurement: a warm-up run (which also estimates the cost per
 * iteration, so that a slow allocator's repetition is cut to the time
 * budget instead of taking minutes), then perf_opt.reps timed runs of the
 * same length. The loop is timed as a whole with rte_rdtsc_precise() and
 * divided by its operation count; the median, min and max go to the table.
 */

#include <stdio.h>
#include <stdlib.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "perf.h"

/** A body's return value when an allocation failed. */
#define PERF_FAILED UINT64_MAX

/** One timed loop of n iterations; returns its cycles or PERF_FAILED. */
typedef uint64_t (*perf_body_t)(const struct perf_allocator *a, void *ctx,
		uint64_t n);

/*
 * Warm up, fit n to the repetition budget, run the repetitions.
 * ops is the number of operations one iteration counts for.
 */
static int
perf_measure(const struct perf_allocator *a, perf_body_t body, void *ctx,
		uint64_t n_max, unsigned int ops, struct perf_stat *out)
{
	uint64_t budget = perf_opt.rep_budget_ms * rte_get_tsc_hz() / 1000;
	uint64_t n_warm = RTE_MAX(n_max / 10, (uint64_t)4), n, c;
	double samples[perf_opt.reps];
	unsigned int r;

	c = body(a, ctx, n_warm);
	if (c == PERF_FAILED)
		return -1;
	n = RTE_MIN(n_max, budget / RTE_MAX(c / n_warm, (uint64_t)1));
	n = RTE_MAX(n, (uint64_t)4);
	for (r = 0; r < perf_opt.reps; r++) {
		c = body(a, ctx, n);
		if (c == PERF_FAILED)
			return -1;
		samples[r] = (double)c / (double)(n * ops);
	}
	*out = perf_stat_of(samples, perf_opt.reps);
	return 0;
}

/* Record st, or report on stderr that the allocator could not finish. */
static void
perf_record_or_warn(int rc, const char *workload, const char *param,
		const struct perf_allocator *a, struct perf_stat st)
{
	if (rc == 0)
		perf_record(workload, param, a->name, "cycles/op", st);
	else
		fprintf(stderr, "dpm_perf: %s %s %s: allocation failed, no result\n",
				workload, param, a->name);
}

/* ---- (1) alloc+free pairs ---- */

static uint64_t
perf_pairs_body(const struct perf_allocator *a, void *ctx, uint64_t n)
{
	void *(*alloc)(size_t) = a->alloc;
	void (*release)(void *) = a->release;
	size_t size = *(const size_t *)ctx;
	uint64_t t0 = rte_rdtsc_precise(), i;

	for (i = 0; i < n; i++) {
		void *p = alloc(size);

		if (unlikely(p == NULL))
			return PERF_FAILED;
		perf_touch(p, i);
		release(p);
	}
	return rte_rdtsc_precise() - t0;
}

/* Pairs per repetition: --iters up to 4 KiB, fewer for bigger objects. */
static uint64_t
perf_pairs_iters(size_t size)
{
	uint64_t n = perf_opt.iters;

	if (size > 4096)
		n = n * 4096 / size;
	return RTE_MAX(n, (uint64_t)100);
}

void
perf_run_pairs(struct perf_allocator *tab, unsigned int n)
{
	unsigned int s, i;

	for (s = 0; s < perf_opt.nb_sizes; s++) {
		size_t size = perf_opt.sizes[s];
		char param[24];

		snprintf(param, sizeof(param), "%zu", size);
		for (i = 0; i < n; i++) {
			struct perf_stat st;
			int rc;

			if (!perf_fits(&tab[i], size))
				continue;
			rc = perf_measure(&tab[i], perf_pairs_body, &size,
					perf_pairs_iters(size), 1, &st);
			perf_record_or_warn(rc, "pair", param, &tab[i], st);
		}
		fprintf(stderr, "dpm_perf: pairs %zu B done\n", size);
	}
}

/* ---- (2) batches ---- */

struct perf_batch_ctx {
	size_t size;
	bool fifo;  /**< free in allocation order (else reverse) */
};

static uint64_t
perf_batch_body(const struct perf_allocator *a, void *ctx, uint64_t n)
{
	const struct perf_batch_ctx *b = ctx;
	void *(*alloc)(size_t) = a->alloc;
	void (*release)(void *) = a->release;
	void *objs[PERF_BATCH];
	uint64_t t0 = rte_rdtsc_precise(), i;
	int j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < PERF_BATCH; j++) {
			objs[j] = alloc(b->size);
			if (unlikely(objs[j] == NULL))
				goto fail;
			perf_touch(objs[j], j);
		}
		if (b->fifo)
			for (j = 0; j < PERF_BATCH; j++)
				release(objs[j]);
		else
			for (j = PERF_BATCH - 1; j >= 0; j--)
				release(objs[j]);
	}
	return rte_rdtsc_precise() - t0;
fail:
	while (--j >= 0)
		release(objs[j]);
	return PERF_FAILED;
}

/* One batch measurement of every allocator: size bytes, LIFO or FIFO. */
static void
perf_run_batch(struct perf_allocator *tab, unsigned int n, size_t size,
		bool fifo)
{
	struct perf_batch_ctx b = { size, fifo };
	char param[24];
	unsigned int i;

	snprintf(param, sizeof(param), "%zu", size);
	for (i = 0; i < n; i++) {
		struct perf_stat st;
		int rc;

		if (!perf_fits(&tab[i], size))
			continue;
		rc = perf_measure(&tab[i], perf_batch_body, &b,
				RTE_MAX(perf_opt.iters / PERF_BATCH, (uint64_t)4),
				PERF_BATCH, &st);
		perf_record_or_warn(rc, fifo ? "batch_fifo" : "batch_lifo",
				param, &tab[i], st);
	}
}

void
perf_run_batches(struct perf_allocator *tab, unsigned int n)
{
	unsigned int s, fifo;

	/* Order outside, size inside: one table block per order. */
	for (fifo = 0; fifo < 2; fifo++)
		for (s = 0; s < perf_opt.nb_batch_sizes; s++)
			perf_run_batch(tab, n, perf_opt.batch_sizes[s], fifo);
	fprintf(stderr, "dpm_perf: batches done\n");
}

/* ---- (3) churn ---- */

int
perf_churn_fill(struct perf_churn *c, const struct perf_allocator *a,
		uint32_t live, uint64_t seed)
{
	uint32_t i;

	c->live = live;
	c->lo = (uint32_t)perf_opt.churn_min;
	c->span = (uint32_t)(perf_opt.churn_max - perf_opt.churn_min + 1);
	c->rng = seed | 1;  /* xorshift must not start at 0 */
	c->slot = calloc(live, sizeof(*c->slot));
	c->size = calloc(live, sizeof(*c->size));
	if (c->slot == NULL || c->size == NULL)
		return -1;
	for (i = 0; i < live; i++) {
		uint32_t size = c->lo + perf_below(perf_rand(&c->rng), c->span);
		void *p = a->alloc(size);

		if (p == NULL)
			return -1;
		perf_churn_put(c, i, size, p);
	}
	return 0;
}

void
perf_churn_empty(struct perf_churn *c, const struct perf_allocator *a)
{
	uint32_t i;

	for (i = 0; c->slot != NULL && i < c->live; i++)
		if (c->slot[i] != NULL)
			a->release(c->slot[i]);
	free(c->slot);
	free(c->size);
	c->slot = NULL;
	c->size = NULL;
}

uint64_t
perf_churn_bytes(const struct perf_churn *c)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i < c->live; i++)
		if (c->slot[i] != NULL)
			sum += c->size[i];
	return sum;
}

static uint64_t
perf_churn_body(const struct perf_allocator *a, void *ctx, uint64_t n)
{
	struct perf_churn *c = ctx;
	void *(*alloc)(size_t) = a->alloc;
	void (*release)(void *) = a->release;
	uint64_t t0 = rte_rdtsc_precise(), i;

	for (i = 0; i < n; i++) {
		uint32_t idx, size;
		void *p;

		release(perf_churn_pick(c, &idx, &size));
		p = alloc(size);
		if (unlikely(p == NULL)) {
			c->slot[idx] = NULL;
			return PERF_FAILED;
		}
		perf_churn_put(c, idx, size, p);
	}
	return rte_rdtsc_precise() - t0;
}

void
perf_run_churn(struct perf_allocator *tab, unsigned int n)
{
	char param[24];
	unsigned int i;

	snprintf(param, sizeof(param), "%zu-%zu", perf_opt.churn_min,
			perf_opt.churn_max);
	for (i = 0; i < n; i++) {
		struct perf_churn c = { 0 };
		struct perf_stat st;
		int rc = -1;

		if (!perf_fits(&tab[i], perf_opt.churn_max))
			continue;
		/* Same seed for every allocator: the same sizes, same slots. */
		if (perf_churn_fill(&c, &tab[i], perf_opt.live, perf_opt.seed) == 0)
			rc = perf_measure(&tab[i], perf_churn_body, &c,
					perf_opt.iters, 1, &st);
		perf_record_or_warn(rc, "churn", param, &tab[i], st);
		perf_churn_empty(&c, &tab[i]);
	}
	fprintf(stderr, "dpm_perf: churn done\n");
}
