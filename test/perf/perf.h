/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_PERF_H
#define DPM_PERF_H

/**
 * @file
 * Shared definitions of the dpm_perf benchmark.
 *
 * Every allocator is reached through the same two function pointers
 * (struct perf_allocator), so each workload runs one loop body for all of
 * them: the indirect call costs the same everywhere, and the compiler can
 * neither inline nor remove an allocation.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Largest number of allocators compared in one run. */
#define PERF_MAX_ALLOCATORS 10
/** Largest number of sizes accepted by --sizes. */
#define PERF_MAX_SIZES 32
/** Largest number of lcore counts accepted by --lcores. */
#define PERF_MAX_LCORE_COUNTS 8
/** Objects per batch in the batch workload and per burst in the pipeline. */
#define PERF_BATCH 64
#define PERF_BURST 32

/** One allocator under test, seen through a malloc/free-shaped interface. */
struct perf_allocator {
	const char *name;      /**< column name in the table and CSV */
	bool available;        /**< false: skipped, note says why */
	char note[160];        /**< version, or the reason it was skipped */
	void *(*alloc)(size_t size);
	void (*release)(void *ptr);
	/** Largest size the allocator can serve (mempool: its largest pool). */
	size_t max_size;
};

/** Workload selection bits (--workloads). */
enum perf_workload {
	PERF_W_PAIR = 1 << 0,
	PERF_W_BATCH = 1 << 1,
	PERF_W_CHURN = 1 << 2,
	PERF_W_PIPELINE = 1 << 3,
	PERF_W_SCALING = 1 << 4,
	PERF_W_FOOTPRINT = 1 << 5,
};

/** Run parameters, filled from the command line. */
struct perf_options {
	bool smoke;                 /**< tiny counts: a quick "does it run" check */
	const char *csv_path;       /**< where the CSV goes */
	unsigned int reps;          /**< repetitions per measurement (median) */
	uint64_t iters;             /**< pairs per repetition at sizes <= 4 KiB */
	uint64_t rep_budget_ms;     /**< cap on one repetition's duration */
	uint64_t duration_ms;       /**< length of one multi-lcore repetition */
	size_t sizes[PERF_MAX_SIZES];
	unsigned int nb_sizes;
	size_t batch_sizes[PERF_MAX_SIZES];
	unsigned int nb_batch_sizes;
	unsigned int lcore_counts[PERF_MAX_LCORE_COUNTS];
	unsigned int nb_lcore_counts;
	unsigned int live;          /**< churn live set per lcore */
	size_t churn_min, churn_max; /**< churn object sizes */
	size_t pipe_min, pipe_max;  /**< pipeline record sizes */
	unsigned int remote_every;  /**< scaling: every n-th free is remote */
	uint64_t seed;
	unsigned int workloads;     /**< enum perf_workload bits */
	const char *only;           /**< comma list of allocator names, or NULL */
};

extern struct perf_options perf_opt;

/* perf_alloc.c */
/** Fill the allocator table; returns the number of entries. */
unsigned int perf_allocators_init(struct perf_allocator *tab);
/**
 * Create the mempools the chosen workloads need (before any timing) and
 * let the rte_mempool column of tab serve sizes up to its largest pool.
 */
int perf_mempools_create(struct perf_allocator *tab, unsigned int n);
/** Free the mempools again. */
void perf_mempools_free(void);
/** Index of dpmalloc in the table (always 0). */
#define PERF_DPM_INDEX 0
/** Name of the mempool column, used to skip sizes it has no pool for. */
#define PERF_MEMPOOL_NAME "rte_mempool"

/* perf_result.c */
/** Summary of repeated measurements: median, min and max. */
struct perf_stat {
	double median, min, max;
};
/** Median, min and max of n samples (sorts the array in place). */
struct perf_stat perf_stat_of(double *samples, unsigned int n);
/** Record one result row; unit says what median/min/max are. */
void perf_record(const char *workload, const char *param,
		const char *allocator, const char *unit, struct perf_stat st);
/** Fill ratio_to_dpm and ratio_to_1lcore, print the table, write the CSV. */
int perf_report(void);

/* perf_single.c: workloads on the main lcore */
void perf_run_pairs(struct perf_allocator *tab, unsigned int n);
void perf_run_batches(struct perf_allocator *tab, unsigned int n);
void perf_run_churn(struct perf_allocator *tab, unsigned int n);

/* perf_multi.c: workloads on several lcores */
void perf_run_pipeline(struct perf_allocator *tab, unsigned int n);
void perf_run_scaling(struct perf_allocator *tab, unsigned int n);
/** Run fn(arg) on every worker lcore, one after another, and wait. */
void perf_on_each_worker(int (*fn)(void *), void *arg);

/* perf_footprint.c */
void perf_run_footprint(struct perf_allocator *tab, unsigned int n);

/* Helpers shared by the workloads. */

/** xorshift64*: cheap, deterministic, identical for every allocator. */
static inline uint64_t
perf_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/**
 * Write one byte of a new object: the same work for every allocator, and
 * a side effect the compiler must keep, so the allocation cannot be elided.
 */
static inline void
perf_touch(void *ptr, uint64_t v)
{
	*(volatile uint8_t *)ptr = (uint8_t)v;
}

/**
 * A number in [0, n) from 32 random bits: multiply and shift rather than
 * a modulo, whose 64-bit division would cost more than some allocations.
 */
static inline uint32_t
perf_below(uint64_t bits, uint32_t n)
{
	return (uint32_t)(((bits & 0xffffffffULL) * n) >> 32);
}

/** A size in [lo, hi] drawn from state. */
static inline size_t
perf_rand_size(uint64_t *state, size_t lo, size_t hi)
{
	return lo + perf_below(perf_rand(state), (uint32_t)(hi - lo + 1));
}

/**
 * A live set of objects of random sizes, replaced at random: the churn
 * workload, also run per lcore by scaling and measured by footprint.
 */
struct perf_churn {
	void **slot;        /**< the live objects */
	uint32_t *size;     /**< requested size of each (for footprint) */
	uint32_t live;      /**< number of slots */
	uint32_t lo, span;  /**< sizes are lo + [0, span) */
	uint64_t rng;       /**< random state, from the fixed seed */
};

/** Allocate the slots (glibc, untimed) and fill them; 0 or -1 when alloc fails. */
int perf_churn_fill(struct perf_churn *c, const struct perf_allocator *a,
		uint32_t live, uint64_t seed);
/** Free every live object with a and release the slot arrays. */
void perf_churn_empty(struct perf_churn *c, const struct perf_allocator *a);
/** Sum of the requested sizes of the live objects. */
uint64_t perf_churn_bytes(const struct perf_churn *c);

/**
 * Pick the slot to replace and its new size; returns the old object, which
 * the caller frees (here or on another lcore) before perf_churn_put().
 */
static inline void *
perf_churn_pick(struct perf_churn *c, uint32_t *idx, uint32_t *size)
{
	uint64_t r = perf_rand(&c->rng);

	*idx = perf_below(r >> 32, c->live);
	*size = c->lo + perf_below(r, c->span);
	return c->slot[*idx];
}

/** Store the replacement object (touched, so it cannot be elided). */
static inline void
perf_churn_put(struct perf_churn *c, uint32_t idx, uint32_t size, void *p)
{
	perf_touch(p, idx);
	c->slot[idx] = p;
	c->size[idx] = size;
}

/** Whether allocator a can serve objects up to size bytes. */
static inline bool
perf_fits(const struct perf_allocator *a, size_t size)
{
	return a->available && size <= a->max_size;
}

#endif /* DPM_PERF_H */
