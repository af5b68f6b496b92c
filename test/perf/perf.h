/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_PERF_H
#define DPM_PERF_H

/**
 * @file
 * Shared definitions of the dpm_perf benchmark.
 *
 * Each workload's loop is written once, as a template over the way it
 * reaches an allocator (enum perf_kind): through the table's function
 * pointers (the exported entry points, the same indirect call for every
 * library), or with an inline fast path compiled into the loop (dpmalloc's
 * header macros, rte_mempool_get/put on one pool). Every allocation is
 * written to, so the compiler cannot remove it.
 */

#include <dlfcn.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>

#include <rte_mempool.h>

#include <dpmalloc.h>

/** Largest number of allocators compared in one run. */
#define PERF_MAX_ALLOCATORS 12
/** Largest number of repetitions (--reps). */
#define PERF_MAX_REPS 101
/** Largest number of sizes accepted by --sizes. */
#define PERF_MAX_SIZES 32
/** Largest number of lcore counts accepted by --lcores. */
#define PERF_MAX_LCORE_COUNTS 8
/** Objects per batch in the batch workload and per burst in the pipeline. */
#define PERF_BATCH 64
#define PERF_BURST 32
/** Largest burst of the burst workload (--burst-max). */
#define PERF_BURST_MAX 4096

/**
 * How a workload's loop reaches an allocator. Every loop is written once as
 * an always-inline template over the kind (see PERF_DISPATCH): PERF_K_CALL
 * goes through the table's function pointers, the way every library is
 * reached through its exported entry points; the other kinds compile the
 * allocator's inline fast path into the loop itself, as an application
 * that includes the header gets it.
 */
enum perf_kind {
	PERF_K_CALL,        /**< a->alloc()/a->release(): exported functions */
	PERF_K_DPM_INLINE,  /**< dpm_malloc()/dpm_free() inline, in the loop */
	PERF_K_DPM_SIZED,   /**< dpm_malloc()/dpm_free_sized() inline, in the loop */
	PERF_K_POOL,        /**< rte_mempool_get()/put() inline on a->pool */
};

/** One allocator under test, seen through a malloc/free-shaped interface. */
struct perf_allocator {
	const char *name;      /**< column name in the table and CSV */
	bool available;        /**< false: skipped, note says why */
	char note[160];        /**< version, or the reason it was skipped */
	void *(*alloc)(size_t size);
	void (*release)(void *ptr);
	/** Largest size the allocator can serve (mempool: its largest pool). */
	size_t max_size;
	enum perf_kind kind;   /**< how the loops call it */
	/** PERF_K_POOL: the one pool the current workload uses (perf_prepare). */
	struct rte_mempool *pool;
	/** Bulk entry points (PERF_K_CALL), or NULL: no bulk rows. */
	unsigned int (*alloc_bulk)(void **ptrs, unsigned int n, size_t size);
	void (*release_bulk)(void **ptrs, unsigned int n);
};

/** Workload selection bits (--workloads); names in dpm_perf.c. */
enum perf_workload {
	PERF_W_PAIR = 1 << 0,
	PERF_W_BATCH = 1 << 1,
	PERF_W_CHURN = 1 << 2,
	PERF_W_PIPELINE = 1 << 3,
	PERF_W_SCALING = 1 << 4,
	PERF_W_FOOTPRINT = 1 << 5,
	PERF_W_BURST = 1 << 6,
	PERF_W_FALSE_SHARING = 1 << 7,
	PERF_W_SCALING_LOCAL = 1 << 8,
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
	size_t pipe_size;           /**< pipeline record size */
	size_t burst_size;          /**< burst workload object size */
	unsigned int burst_min, burst_max; /**< objects per burst */
	uint64_t fs_iters;          /**< false sharing: pairs per lcore */
	unsigned int remote_every;  /**< scaling: every n-th free is remote */
	uint64_t seed;
	unsigned int workloads;     /**< enum perf_workload bits */
	const char *only;           /**< comma list of allocator names, or NULL */
};

extern struct perf_options perf_opt;
/** Set by SIGTERM/SIGINT: measurements not yet started are skipped. */
extern volatile sig_atomic_t perf_stopping;

/* perf_alloc.c */
/** Fill the allocator table; returns the number of entries. */
unsigned int perf_allocators_init(struct perf_allocator *tab);
/**
 * Create the mempools the chosen workloads need (before any timing) and
 * let the mempool columns of tab serve sizes up to their largest pool.
 */
int perf_mempools_create(struct perf_allocator *tab, unsigned int n);
/** Free the mempools again. */
void perf_mempools_free(void);
/** The pool of the smallest power-of-two size >= size, or NULL. */
struct rte_mempool *perf_mempool_for(size_t size);
/** Index of dpmalloc in the table (always 0). */
#define PERF_DPM_INDEX 0
/** Name of the general mempool column (pool chosen per op). */
#define PERF_MEMPOOL_NAME "mempool_general"

/* perf_run.c: interleaved repetitions */
/** Most units one measurement reports (pipeline: ops/s, consumer and
 * producer cycles/obj). */
#define PERF_MAX_UNITS 3
/**
 * One measurement of several columns, interleaved: a warm-up of every
 * column, then perf_opt.reps rounds, each running every column once, so
 * that a change in the machine's load falls on all of them alike. The
 * medians of each column's rounds are recorded.
 */
struct perf_run {
	const char *workload, *param;
	const char *units[PERF_MAX_UNITS];
	unsigned int nb_units;
	/**
	 * Run column i once; warm is true for the warm-up (its result is
	 * not kept). Writes nb_units values to out; -1 when it failed.
	 */
	int (*once)(struct perf_run *run, unsigned int i, bool warm, double *out);
	void *ctx;                            /**< the workload's */
	struct perf_allocator *tab;
	unsigned int n;                       /**< entries in tab */
	bool use[PERF_MAX_ALLOCATORS];        /**< columns taking part */
	uint64_t iters[PERF_MAX_ALLOCATORS];  /**< single lcore: fitted count */
};
/** Run the rounds and record the medians; a failing column is dropped. */
void perf_run_interleaved(struct perf_run *run);
/** One timed loop of n iterations: cycles, operations done in *ops. */
typedef uint64_t (*perf_body_t)(const struct perf_allocator *a, void *ctx,
		uint64_t n, uint64_t *ops);
/** A body's return value when an allocation failed. */
#define PERF_FAILED UINT64_MAX
/**
 * Interleaved single-lcore measurement in cycles/op: the warm-up fits
 * each column's count to perf_opt.rep_budget_ms, up to n_max. ctx[i] is
 * column i's context.
 */
void perf_measure_cycles(struct perf_allocator *tab, unsigned int n,
		const bool *use, const char *workload, const char *param,
		perf_body_t body, void **ctx, uint64_t n_max);

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
void perf_run_bursts(struct perf_allocator *tab, unsigned int n);
void perf_run_churn(struct perf_allocator *tab, unsigned int n);

/* perf_multi.c: workloads on several lcores */
void perf_run_scaling(struct perf_allocator *tab, unsigned int n);
void perf_run_scaling_local(struct perf_allocator *tab, unsigned int n);
/** Run fn(arg) on every worker lcore, one after another, and wait. */
void perf_on_each_worker(int (*fn)(void *), void *arg);
/** Wait for a worker without spinning (it may share our CPU). */
int perf_wait_lcore(unsigned int lcore);
/**
 * Two worker lcores, on different CPUs if any two are: 1 when they are,
 * 0 when the kernel places them, -1 without two workers.
 */
int perf_pick_lcore_pair(unsigned int *first, unsigned int *second);

/* perf_pipeline.c */
void perf_run_pipeline(struct perf_allocator *tab, unsigned int n);

/* perf_share.c */
void perf_run_false_sharing(struct perf_allocator *tab, unsigned int n);

/* perf_footprint.c */
void perf_run_footprint(struct perf_allocator *tab, unsigned int n);

struct dpm_config;
/* dpmalloc's configuration for the run: the defaults, and
 * DPM_PERF_LARGE_BUDGET=B for tcache_large_budget (every workload). */
void perf_dpm_config(struct dpm_config *cfg);

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

/**
 * Whether column a takes part in a workload with objects up to size bytes;
 * a fixed-size pool column is pointed at the pool that holds them. With
 * sized false, a column that must know each object's size to free it
 * (dpmalloc_sized) is left out.
 */
static inline bool
perf_prepare(struct perf_allocator *a, size_t size, bool sized)
{
	if (!perf_fits(a, size) || (a->kind == PERF_K_DPM_SIZED && !sized))
		return false;
	if (a->kind == PERF_K_POOL) {
		a->pool = perf_mempool_for(size);
		return a->pool != NULL;
	}
	return true;
}

/** Whether column a has a bulk interface (dpm_malloc_bulk, get_bulk). */
static inline bool
perf_has_bulk(const struct perf_allocator *a)
{
	return a->kind == PERF_K_POOL ||
		(a->kind == PERF_K_CALL && a->alloc_bulk != NULL);
}

/*
 * The allocator calls of the loop templates. k is a constant in every
 * instantiation (PERF_DISPATCH), so each compiles to one path: an
 * indirect call, or the inline fast path of dpmalloc or rte_mempool.
 */

/** Allocate size bytes through column a, reached as kind k. */
static __rte_always_inline void *
perf_alloc_k(enum perf_kind k, const struct perf_allocator *a, size_t size)
{
	void *obj;

	switch (k) {
	case PERF_K_DPM_INLINE:
	case PERF_K_DPM_SIZED:
		return dpm_malloc(size);
	case PERF_K_POOL:
		return rte_mempool_get(a->pool, &obj) < 0 ? NULL : obj;
	default:
		return a->alloc(size);
	}
}

/** Free ptr (of size bytes, which only the sized kind uses). */
static __rte_always_inline void
perf_free_k(enum perf_kind k, const struct perf_allocator *a, void *ptr,
		size_t size)
{
	switch (k) {
	case PERF_K_DPM_INLINE:
		dpm_free(ptr);
		break;
	case PERF_K_DPM_SIZED:
		dpm_free_sized(ptr, size);
		break;
	case PERF_K_POOL:
		rte_mempool_put(a->pool, ptr);
		break;
	default:
		a->release(ptr);
	}
}

/** Allocate n objects at once; 0, or -1 with nothing allocated. */
static __rte_always_inline int
perf_alloc_bulk_k(enum perf_kind k, const struct perf_allocator *a,
		void **objs, unsigned int n, size_t size)
{
	if (k == PERF_K_POOL)
		return rte_mempool_get_bulk(a->pool, objs, n);
	return a->alloc_bulk(objs, n, size) == n ? 0 : -1;
}

/** Free n objects at once. */
static __rte_always_inline void
perf_free_bulk_k(enum perf_kind k, const struct perf_allocator *a,
		void **objs, unsigned int n)
{
	if (k == PERF_K_POOL)
		rte_mempool_put_bulk(a->pool, objs, n);
	else
		a->release_bulk(objs, n);
}

/**
 * Call fn(kind, args...) with the kind as a constant, so that the
 * always-inline template fn is compiled once per kind.
 */
#define PERF_DISPATCH(kind, fn, ...) \
	((kind) == PERF_K_DPM_INLINE ? fn(PERF_K_DPM_INLINE, __VA_ARGS__) : \
	 (kind) == PERF_K_DPM_SIZED ? fn(PERF_K_DPM_SIZED, __VA_ARGS__) : \
	 (kind) == PERF_K_POOL ? fn(PERF_K_POOL, __VA_ARGS__) : \
	 fn(PERF_K_CALL, __VA_ARGS__))

/**
 * Write a record as a producer fills its metadata: up to the first 64
 * bytes, a word at a time. The consumer reads them with perf_read_record().
 */
static __rte_always_inline void
perf_write_record(void *ptr, size_t size, uint64_t v)
{
	uint64_t *w = ptr;
	unsigned int i, n = size >= 64 ? 8 : (unsigned int)(size / 8);

	if (n == 0) {
		perf_touch(ptr, v);
		return;
	}
	for (i = 0; i < n; i++)
		((volatile uint64_t *)w)[i] = v + i;
}

/** Read what perf_write_record() wrote; returns a sum to be kept. */
static __rte_always_inline uint64_t
perf_read_record(const void *ptr, size_t size)
{
	const volatile uint64_t *w = ptr;
	unsigned int i, n = size >= 64 ? 8 : (unsigned int)(size / 8);
	uint64_t sum = 0;

	if (n == 0)
		return *(const volatile uint8_t *)ptr;
	for (i = 0; i < n; i++)
		sum += w[i];
	return sum;
}

/*
 * dlsym() for a function: ISO C has no conversion between object and
 * function pointers (-Wpedantic), so the address goes through a union.
 * Cast the result to the function's own type.
 */
typedef void (*perf_fn_t)(void);
static inline perf_fn_t
perf_dlsym_fn(void *handle, const char *name)
{
	union { void *obj; perf_fn_t fn; } u;

	u.obj = dlsym(handle, name);
	return u.fn;
}

#endif /* DPM_PERF_H */
