/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Workloads on the main lcore alone: alloc+free pairs, batches of 64
 * (LIFO and FIFO, per-object calls and bulk calls), bursts of a few
 * hundred to a few thousand objects, and churn in a live set.
 *
 * Each loop is an always-inline template over enum perf_kind, dispatched
 * once per run (PERF_DISPATCH). It is timed as a whole with
 * rte_rdtsc_precise() and divided by its operation count; the columns run
 * interleaved (perf_measure_cycles()).
 */

#include <stdio.h>
#include <stdlib.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "perf.h"

/* Per-column contexts all pointing at one shared context. */
static void
perf_same_ctx(void **ctx, void *c)
{
	unsigned int i;

	for (i = 0; i < PERF_MAX_ALLOCATORS; i++)
		ctx[i] = c;
}

/* ---- (1) alloc+free pairs ---- */

static __rte_always_inline uint64_t
perf_pairs_loop(enum perf_kind k, const struct perf_allocator *a, size_t size,
		uint64_t n)
{
	uint64_t t0 = rte_rdtsc_precise(), i;

	for (i = 0; i < n; i++) {
		void *p = perf_alloc_k(k, a, size);

		if (unlikely(p == NULL))
			return PERF_FAILED;
		perf_touch(p, i);
		perf_free_k(k, a, p, size);
	}
	return rte_rdtsc_precise() - t0;
}

static uint64_t
perf_pairs_body(const struct perf_allocator *a, void *ctx, uint64_t n,
		uint64_t *ops)
{
	*ops = n;
	return PERF_DISPATCH(a->kind, perf_pairs_loop, a,
			*(const size_t *)ctx, n);
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
	bool use[PERF_MAX_ALLOCATORS];
	void *ctx[PERF_MAX_ALLOCATORS];
	unsigned int s, i;

	for (s = 0; s < perf_opt.nb_sizes; s++) {
		size_t size = perf_opt.sizes[s];
		char param[24];

		snprintf(param, sizeof(param), "%zu", size);
		for (i = 0; i < n; i++)
			use[i] = perf_prepare(&tab[i], size, true);
		perf_same_ctx(ctx, &size);
		perf_measure_cycles(tab, n, use, "pair", param, perf_pairs_body,
				ctx, perf_pairs_iters(size));
		fprintf(stderr, "dpm_perf: pairs %zu B done\n", size);
	}
}

/* ---- (2) batches, per object and bulk ---- */

struct perf_batch_ctx {
	size_t size;
	bool fifo;  /**< free in allocation order (else reverse) */
};

static __rte_always_inline uint64_t
perf_batch_loop(enum perf_kind k, const struct perf_allocator *a,
		const struct perf_batch_ctx *b, uint64_t n)
{
	void *objs[PERF_BATCH];
	uint64_t t0 = rte_rdtsc_precise(), i;
	int j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < PERF_BATCH; j++) {
			objs[j] = perf_alloc_k(k, a, b->size);
			if (unlikely(objs[j] == NULL))
				goto fail;
			perf_touch(objs[j], j);
		}
		if (b->fifo)
			for (j = 0; j < PERF_BATCH; j++)
				perf_free_k(k, a, objs[j], b->size);
		else
			for (j = PERF_BATCH - 1; j >= 0; j--)
				perf_free_k(k, a, objs[j], b->size);
	}
	return rte_rdtsc_precise() - t0;
fail:
	while (--j >= 0)
		perf_free_k(k, a, objs[j], b->size);
	return PERF_FAILED;
}

static uint64_t
perf_batch_body(const struct perf_allocator *a, void *ctx, uint64_t n,
		uint64_t *ops)
{
	*ops = n * PERF_BATCH;
	return PERF_DISPATCH(a->kind, perf_batch_loop, a, ctx, n);
}

/*
 * Bulk: one call allocates the batch and one frees it. LIFO hands the
 * free call the batch in reverse, which costs the same small copy for
 * every column.
 */
static __rte_always_inline uint64_t
perf_bulk_loop(enum perf_kind k, const struct perf_allocator *a,
		const struct perf_batch_ctx *b, uint64_t n)
{
	void *objs[PERF_BATCH], *back[PERF_BATCH];
	uint64_t t0 = rte_rdtsc_precise(), i;
	int j;

	for (i = 0; i < n; i++) {
		if (unlikely(perf_alloc_bulk_k(k, a, objs, PERF_BATCH,
						b->size) < 0))
			return PERF_FAILED;
		for (j = 0; j < PERF_BATCH; j++)
			perf_touch(objs[j], j);
		if (b->fifo) {
			perf_free_bulk_k(k, a, objs, PERF_BATCH);
		} else {
			for (j = 0; j < PERF_BATCH; j++)
				back[j] = objs[PERF_BATCH - 1 - j];
			perf_free_bulk_k(k, a, back, PERF_BATCH);
		}
	}
	return rte_rdtsc_precise() - t0;
}

static uint64_t
perf_bulk_body(const struct perf_allocator *a, void *ctx, uint64_t n,
		uint64_t *ops)
{
	*ops = n * PERF_BATCH;
	if (a->kind == PERF_K_POOL)
		return perf_bulk_loop(PERF_K_POOL, a, ctx, n);
	return perf_bulk_loop(PERF_K_CALL, a, ctx, n);
}

/* One batch measurement of every column: size bytes, LIFO or FIFO. */
static void
perf_run_batch(struct perf_allocator *tab, unsigned int n, size_t size,
		bool fifo, bool bulk)
{
	static const char *const names[2][2] = {
		{ "batch_lifo", "batch_fifo" }, { "bulk_lifo", "bulk_fifo" } };
	struct perf_batch_ctx b = { size, fifo };
	bool use[PERF_MAX_ALLOCATORS];
	void *ctx[PERF_MAX_ALLOCATORS];
	char param[24];
	unsigned int i;

	snprintf(param, sizeof(param), "%zu", size);
	for (i = 0; i < n; i++)
		use[i] = perf_prepare(&tab[i], size, true) &&
			(!bulk || perf_has_bulk(&tab[i]));
	perf_same_ctx(ctx, &b);
	perf_measure_cycles(tab, n, use, names[bulk][fifo], param,
			bulk ? perf_bulk_body : perf_batch_body, ctx,
			RTE_MAX(perf_opt.iters / PERF_BATCH, (uint64_t)4));
}

void
perf_run_batches(struct perf_allocator *tab, unsigned int n)
{
	unsigned int s, fifo, bulk;

	/* Kind and order outside, size inside: one table block per order. */
	for (bulk = 0; bulk < 2; bulk++)
		for (fifo = 0; fifo < 2; fifo++)
			for (s = 0; s < perf_opt.nb_batch_sizes; s++)
				perf_run_batch(tab, n, perf_opt.batch_sizes[s],
						fifo, bulk);
	fprintf(stderr, "dpm_perf: batches done\n");
}

/* ---- (3) bursts: fill and flush ---- */

/*
 * Bursts of burst_min..burst_max objects of one size (drawn from a fixed
 * seed, so every column sees the same bursts), each allocated and
 * written, then freed in allocation order: more than a per-lcore cache
 * holds, so the cost of refilling and flushing it shows.
 */
static __rte_always_inline uint64_t
perf_burst_loop(enum perf_kind k, const struct perf_allocator *a,
		void **objs, uint64_t n, uint64_t *ops)
{
	size_t size = perf_opt.burst_size;
	uint64_t rng = perf_opt.seed | 1, t0 = rte_rdtsc_precise(), i;
	uint64_t count = 0;
	uint32_t m, j;

	for (i = 0; i < n; i++) {
		m = perf_opt.burst_min + perf_below(perf_rand(&rng),
				perf_opt.burst_max - perf_opt.burst_min + 1);
		for (j = 0; j < m; j++) {
			objs[j] = perf_alloc_k(k, a, size);
			if (unlikely(objs[j] == NULL))
				goto fail;
			perf_touch(objs[j], j);
		}
		for (j = 0; j < m; j++)
			perf_free_k(k, a, objs[j], size);
		count += m;
	}
	*ops = count;
	return rte_rdtsc_precise() - t0;
fail:
	while (j-- > 0)
		perf_free_k(k, a, objs[j], size);
	return PERF_FAILED;
}

static uint64_t
perf_burst_body(const struct perf_allocator *a, void *ctx, uint64_t n,
		uint64_t *ops)
{
	return PERF_DISPATCH(a->kind, perf_burst_loop, a, ctx, n, ops);
}

void
perf_run_bursts(struct perf_allocator *tab, unsigned int n)
{
	static void *objs[PERF_BURST_MAX];
	bool use[PERF_MAX_ALLOCATORS];
	void *ctx[PERF_MAX_ALLOCATORS];
	char param[32];
	unsigned int i;
	uint64_t mean = (perf_opt.burst_min + perf_opt.burst_max) / 2;

	snprintf(param, sizeof(param), "%zu", perf_opt.burst_size);
	for (i = 0; i < n; i++)
		use[i] = perf_prepare(&tab[i], perf_opt.burst_size, true);
	perf_same_ctx(ctx, objs);
	perf_measure_cycles(tab, n, use, "burst", param, perf_burst_body, ctx,
			RTE_MAX(perf_opt.iters / mean, (uint64_t)4));
	fprintf(stderr, "dpm_perf: bursts done\n");
}

/* ---- (4) churn ---- */

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
		void *p = PERF_DISPATCH(a->kind, perf_alloc_k, a, size);

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
			PERF_DISPATCH(a->kind, perf_free_k, a, c->slot[i],
					c->size[i]);
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

static __rte_always_inline uint64_t
perf_churn_loop(enum perf_kind k, const struct perf_allocator *a,
		struct perf_churn *c, uint64_t n)
{
	uint64_t t0 = rte_rdtsc_precise(), i;

	for (i = 0; i < n; i++) {
		uint32_t idx, size;
		void *p = perf_churn_pick(c, &idx, &size);

		perf_free_k(k, a, p, c->size[idx]);
		p = perf_alloc_k(k, a, size);
		if (unlikely(p == NULL)) {
			c->slot[idx] = NULL;
			return PERF_FAILED;
		}
		perf_churn_put(c, idx, size, p);
	}
	return rte_rdtsc_precise() - t0;
}

static uint64_t
perf_churn_body(const struct perf_allocator *a, void *ctx, uint64_t n,
		uint64_t *ops)
{
	*ops = n;
	return PERF_DISPATCH(a->kind, perf_churn_loop, a, ctx, n);
}

void
perf_run_churn(struct perf_allocator *tab, unsigned int n)
{
	static struct perf_churn churn[PERF_MAX_ALLOCATORS];
	bool use[PERF_MAX_ALLOCATORS];
	void *ctx[PERF_MAX_ALLOCATORS];
	char param[24];
	unsigned int i;

	snprintf(param, sizeof(param), "%zu-%zu", perf_opt.churn_min,
			perf_opt.churn_max);
	/* Same seed for every column: the same sizes, the same slots. */
	for (i = 0; i < n; i++) {
		use[i] = perf_prepare(&tab[i], perf_opt.churn_max, true);
		ctx[i] = &churn[i];
		if (use[i] && perf_churn_fill(&churn[i], &tab[i], perf_opt.live,
					perf_opt.seed) != 0) {
			fprintf(stderr, "dpm_perf: churn %s: fill failed\n",
					tab[i].name);
			use[i] = false;
		}
	}
	perf_measure_cycles(tab, n, use, "churn", param, perf_churn_body, ctx,
			perf_opt.iters);
	for (i = 0; i < n; i++)
		perf_churn_empty(&churn[i], &tab[i]);
	fprintf(stderr, "dpm_perf: churn done\n");
}
