/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * The allocators under test, each behind the same alloc/release pair.
 *
 * Where an allocator already has the shape void *(size_t) / void (void *)
 * (dpmalloc, glibc, and the dlopen'ed ones) the table holds the library's
 * own entry point, so no wrapper sits in between. rte_malloc and the
 * general mempool column need a one-line wrapper; that costs them one
 * extra direct call (about a nanosecond), noted in the report.
 *
 * Three columns are not called through the table's pointers at all (see
 * enum perf_kind): dpmalloc_inline and dpmalloc_sized compile dpmalloc.h's
 * inline fast paths into each workload's loop, and mempool_fixed calls
 * rte_mempool_get()/put() inline on the one pool the workload's size
 * needs, as a DPDK application with fixed-size metadata does: no
 * rte_mempool_from_obj(), no pool choice, no function pointer per object.
 *
 * jemalloc, mimalloc and tcmalloc are loaded with dlopen(RTLD_LOCAL), so
 * they live in this process next to glibc without replacing its malloc:
 * we call each through its handle only.
 */

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>

#include <dpmalloc.h>

#include "perf.h"

/* ---- dpmalloc ---- */

/*
 * dpmalloc.h makes dpm_malloc() and dpm_free() inline (a cache hit costs
 * no call), while their bare names still give the exported functions. The
 * "dpmalloc" column uses those, as every other allocator is reached
 * through its exported entry points. The inline columns do not call these
 * wrappers in any timed loop (their kind puts the macros in the loop);
 * they serve only code that needs a plain alloc/release pair.
 */
static void *
perf_dpm_malloc_inline(size_t size)
{
	return dpm_malloc(size);
}

static void
perf_dpm_free_inline(void *ptr)
{
	dpm_free(ptr);
}

/* ---- rte_malloc ---- */

/* rte_malloc takes a type and an alignment; 0 means the default (cache line). */
static void *
perf_rte_malloc(size_t size)
{
	return rte_malloc(NULL, size, 0);
}

/* ---- rte_mempool: one pool per power-of-two object size ---- */

/*
 * Both mempool columns use these pools. mempool_general picks the pool
 * from the size and finds it again from the object on every free, as a
 * general allocator built on mempools must; mempool_fixed is pointed at
 * the one pool a workload's largest size needs and serves every object
 * of the workload from it (perf_prepare()).
 */

/* Pools indexed by log2 of their object size; NULL where none was made. */
static struct rte_mempool *perf_pools[64];

/* Index of the smallest power-of-two pool holding size bytes. */
static inline unsigned int
perf_pool_index(size_t size)
{
	return size <= 16 ? 4 : 64 - (unsigned int)__builtin_clzll(size - 1);
}

struct rte_mempool *
perf_mempool_for(size_t size)
{
	unsigned int lg = perf_pool_index(size);

	return lg < RTE_DIM(perf_pools) ? perf_pools[lg] : NULL;
}

/* Get one object from the pool for size, through the lcore's cache. */
static void *
perf_mempool_alloc(size_t size)
{
	struct rte_mempool *mp = perf_pools[perf_pool_index(size)];
	void *obj;

	if (mp == NULL || rte_mempool_get(mp, &obj) < 0)
		return NULL;
	return obj;
}

/*
 * Put an object back. The pool comes from the object's header, which is
 * what free() has to do too: find where a bare pointer belongs.
 */
static void
perf_mempool_release(void *ptr)
{
	rte_mempool_put(rte_mempool_from_obj(ptr), ptr);
}

/* Fraction of the sizes in [lo, hi] that round up to the pool of 2^lg. */
static double
perf_size_share(unsigned int lg, size_t lo, size_t hi)
{
	size_t c_hi = (size_t)1 << lg;
	size_t c_lo = lg == 4 ? 0 : c_hi / 2 + 1;
	size_t a = RTE_MAX(lo, c_lo), b = RTE_MIN(hi, c_hi);

	if (a > b)
		return 0.0;
	return (double)(b - a + 1) / (double)(hi - lo + 1);
}

/* Largest lcore count any workload will use at once. */
static unsigned int
perf_max_lcores(void)
{
	unsigned int i, k = 3;

	for (i = 0; i < perf_opt.nb_lcore_counts; i++)
		k = RTE_MAX(k, perf_opt.lcore_counts[i]);
	return RTE_MIN(k, rte_lcore_count());
}

/* Share of the churn sizes the 2^lg pool serves for the general column,
 * or 1 where it is the fixed column's pool (all of them). */
static double
perf_churn_share(unsigned int lg)
{
	if (lg == perf_pool_index(perf_opt.churn_max))
		return 1.0;
	return perf_size_share(lg, perf_opt.churn_min, perf_opt.churn_max);
}

/*
 * Objects a pool of 2^lg bytes must hold so that no workload runs it dry.
 * Single-lcore churn keeps every column's live set at once (the general
 * column's share and the fixed column's whole set); scaling runs one
 * column at a time, k live sets plus what may wait in the remote-free
 * rings; a pipeline ring; a batch; a burst.
 */
static double
perf_pool_need(unsigned int lg)
{
	const struct perf_options *o = &perf_opt;
	unsigned int k = perf_max_lcores(), i, top;
	double need = 4.0, share;

	for (i = 0; i < o->nb_batch_sizes; i++)
		if (perf_pool_index(o->batch_sizes[i]) == lg)
			need = RTE_MAX(need, 2.0 * PERF_BATCH);
	if ((o->workloads & PERF_W_BURST) && perf_pool_index(o->burst_size) == lg)
		need = RTE_MAX(need, (double)o->burst_max);
	top = perf_pool_index(o->churn_max);
	share = perf_size_share(lg, o->churn_min, o->churn_max);
	if (o->workloads & (PERF_W_CHURN | PERF_W_FOOTPRINT))
		need = RTE_MAX(need, o->live * 1.2 * (share + (lg == top)));
	if (o->workloads & (PERF_W_SCALING | PERF_W_SCALING_LOCAL))
		need = RTE_MAX(need, (k * o->live * 1.2 + k * 4096.0) *
				perf_churn_share(lg));
	if ((o->workloads & PERF_W_PIPELINE) && perf_pool_index(o->pipe_size) == lg)
		need = RTE_MAX(need, 1024.0 + 4 * PERF_BURST);
	return need;
}

/* Lcores that may hold objects of the 2^lg pool in their caches at once. */
static unsigned int
perf_pool_users(unsigned int lg)
{
	const struct perf_options *o = &perf_opt;

	if ((o->workloads & (PERF_W_SCALING | PERF_W_SCALING_LOCAL)) &&
			perf_churn_share(lg) > 0)
		return perf_max_lcores();
	if ((o->workloads & (PERF_W_PIPELINE | PERF_W_FALSE_SHARING)))
		return 3;
	return 1;
}

/* Create the pool for 2^lg-byte objects, sized by perf_pool_need(). */
static int
perf_pool_create(unsigned int lg)
{
	size_t size = (size_t)1 << lg;
	/* Small objects get DPDK's usual cache; big ones a small one, since a
	 * cache of 256 one-MiB objects per lcore would be absurd. A cache can
	 * hold up to 1.5 times its size before it flushes. */
	unsigned int cache = size <= 4096 ? 256 : size <= 65536 ? 16 : 4;
	unsigned int n = (unsigned int)perf_pool_need(lg) +
		perf_pool_users(lg) * cache * 3 / 2 + (size <= 65536 ? 64 : 4);
	char name[RTE_MEMPOOL_NAMESIZE];

	if (perf_pools[lg] != NULL)
		return 0;
	snprintf(name, sizeof(name), "dpm_perf_pool%u", lg);
	perf_pools[lg] = rte_mempool_create(name, n, size, cache, 0,
			NULL, NULL, NULL, NULL, rte_socket_id(), 0);
	if (perf_pools[lg] == NULL) {
		fprintf(stderr, "dpm_perf: mempool of %u x %zu B: %s\n",
				n, size, rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* Create the pools for every size range in [lo, hi]. */
static int
perf_pools_for_range(size_t lo, size_t hi)
{
	unsigned int lg;

	for (lg = perf_pool_index(lo); lg <= perf_pool_index(hi); lg++)
		if (perf_pool_create(lg) < 0)
			return -1;
	return 0;
}

/* Largest object the mempool columns can serve (their biggest pool). */
static size_t
perf_mempool_max_size(void)
{
	int i;

	for (i = RTE_DIM(perf_pools) - 1; i >= 0; i--)
		if (perf_pools[i] != NULL)
			return (size_t)1 << i;
	return 0;
}

int
perf_mempools_create(struct perf_allocator *tab, unsigned int n)
{
	const struct perf_options *o = &perf_opt;
	unsigned int i;
	int rc = 0;

	if (o->workloads & PERF_W_PAIR)
		for (i = 0; i < o->nb_sizes; i++)
			rc |= perf_pool_create(perf_pool_index(o->sizes[i]));
	if (o->workloads & PERF_W_BATCH)
		for (i = 0; i < o->nb_batch_sizes; i++)
			rc |= perf_pool_create(perf_pool_index(o->batch_sizes[i]));
	if (o->workloads & (PERF_W_CHURN | PERF_W_SCALING | PERF_W_SCALING_LOCAL))
		rc |= perf_pools_for_range(o->churn_min, o->churn_max);
	if (o->workloads & PERF_W_PIPELINE)
		rc |= perf_pool_create(perf_pool_index(o->pipe_size));
	if (o->workloads & PERF_W_BURST)
		rc |= perf_pool_create(perf_pool_index(o->burst_size));
	if (o->workloads & PERF_W_FALSE_SHARING)
		rc |= perf_pool_create(perf_pool_index(1));
	/* The columns serve up to the largest pool. */
	for (i = 0; i < n; i++)
		if (strcmp(tab[i].name, PERF_MEMPOOL_NAME) == 0 ||
				tab[i].kind == PERF_K_POOL)
			tab[i].max_size = perf_mempool_max_size();
	return rc;
}

void
perf_mempools_free(void)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(perf_pools); i++) {
		rte_mempool_free(perf_pools[i]);
		perf_pools[i] = NULL;
	}
}

/* ---- allocators loaded with dlopen ---- */

/*
 * Load soname privately and take its malloc/free entry points. A missing
 * library only disables its column; the note says why.
 */
static void *
perf_dlopen(struct perf_allocator *a, const char *soname,
		const char *malloc_sym, const char *free_sym)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(a->note, sizeof(a->note), "skipped: %s", dlerror());
		return NULL;
	}
	a->alloc = (void *(*)(size_t))perf_dlsym_fn(h, malloc_sym);
	a->release = (void (*)(void *))perf_dlsym_fn(h, free_sym);
	if (a->alloc == NULL || a->release == NULL) {
		snprintf(a->note, sizeof(a->note), "skipped: %s lacks %s/%s",
				soname, malloc_sym, free_sym);
		return NULL;
	}
	a->available = true;
	a->max_size = SIZE_MAX;
	snprintf(a->note, sizeof(a->note), "%s %s/%s", soname, malloc_sym, free_sym);
	return h;
}

/*
 * jemalloc exports plain malloc/free. dlsym on its handle finds its own
 * ones first, but if the program were preloaded with jemalloc they would
 * be the global ones; then it would measure glibc's column twice, so
 * refuse when the pointer equals the process-wide malloc.
 */
static void
perf_load_jemalloc(struct perf_allocator *a)
{
	int (*mallctl)(const char *, void *, size_t *, void *, size_t);
	const char *version = "?";
	size_t len = sizeof(version);
	void *h;

	h = perf_dlopen(a, "libjemalloc.so.2", "malloc", "free");
	if (h == NULL) {
		if (strstr(a->note, "static TLS") != NULL)
			strncat(a->note, " (set GLIBC_TUNABLES=glibc.rtld.optional_static_tls=262144)",
					sizeof(a->note) - strlen(a->note) - 1);
		return;
	}
	if (a->alloc == (void *(*)(size_t))perf_dlsym_fn(RTLD_DEFAULT, "malloc")) {
		a->available = false;
		snprintf(a->note, sizeof(a->note),
				"skipped: jemalloc's malloc is the global malloc");
		return;
	}
	mallctl = (int (*)(const char *, void *, size_t *, void *, size_t))
		perf_dlsym_fn(h, "mallctl");
	if (mallctl != NULL)
		mallctl("version", &version, &len, NULL, 0);
	snprintf(a->note, sizeof(a->note), "libjemalloc.so.2 %.40s malloc/free",
			version);
}

/* mimalloc's mi_version() is major*100 + minor*10 + patch. */
static void
perf_load_mimalloc(struct perf_allocator *a)
{
	int (*version)(void);
	void *h = perf_dlopen(a, "libmimalloc.so.2", "mi_malloc", "mi_free");

	if (h == NULL)
		return;
	version = (int (*)(void))perf_dlsym_fn(h, "mi_version");
	if (version != NULL) {
		int v = version();

		snprintf(a->note, sizeof(a->note),
				"libmimalloc.so.2 %d.%d.%d mi_malloc/mi_free",
				v / 100, v / 10 % 10, v % 10);
	}
}

static void
perf_load_tcmalloc(struct perf_allocator *a)
{
	const char *(*version)(int *, int *, const char **);
	void *h = perf_dlopen(a, "libtcmalloc_minimal.so.4", "tc_malloc", "tc_free");
	int major, minor;
	const char *patch;

	if (h == NULL)
		return;
	version = (const char *(*)(int *, int *, const char **))
		perf_dlsym_fn(h, "tc_version");
	if (version != NULL) {
		version(&major, &minor, &patch);
		snprintf(a->note, sizeof(a->note),
				"libtcmalloc_minimal.so.4 %d.%d%s tc_malloc/tc_free",
				major, minor, patch);
	}
}

/* Whether --only leaves name in the run. */
static bool
perf_selected(const char *name)
{
	const char *p = perf_opt.only;
	size_t len = strlen(name);

	if (p == NULL)
		return true;
	while ((p = strstr(p, name)) != NULL) {
		bool start = p == perf_opt.only || p[-1] == ',';
		bool end = p[len] == '\0' || p[len] == ',';

		if (start && end)
			return true;
		p += len;
	}
	return false;
}

/* Fill one entry whose entry points are known at link time. */
static void
perf_set(struct perf_allocator *a, const char *name, void *(*alloc)(size_t),
		void (*release)(void *), size_t max_size, const char *note)
{
	a->name = name;
	a->alloc = alloc;
	a->release = release;
	a->max_size = max_size;
	a->available = alloc != NULL;
	snprintf(a->note, sizeof(a->note), "%s", note);
}

unsigned int
perf_allocators_init(struct perf_allocator *tab)
{
	unsigned int n = 0, i;

	memset(tab, 0, sizeof(*tab) * PERF_MAX_ALLOCATORS);
	/* dpmalloc first: PERF_DPM_INDEX, the reference of every ratio. */
	perf_set(&tab[n], "dpmalloc", dpm_malloc, dpm_free, SIZE_MAX,
			"dpm_malloc/dpm_free (bulk: dpm_malloc_bulk/dpm_free_bulk), "
			"the exported functions");
	tab[n].alloc_bulk = dpm_malloc_bulk;
	tab[n++].release_bulk = dpm_free_bulk;
	perf_set(&tab[n], "dpmalloc_inline", perf_dpm_malloc_inline,
			perf_dpm_free_inline, SIZE_MAX,
			"dpm_malloc()/dpm_free() inline fast paths, in the loop");
	tab[n++].kind = PERF_K_DPM_INLINE;
	perf_set(&tab[n], "dpmalloc_sized", perf_dpm_malloc_inline,
			perf_dpm_free_inline, SIZE_MAX,
			"dpm_malloc()/dpm_free_sized() inline, in the loop "
			"(workloads that know the size)");
	tab[n++].kind = PERF_K_DPM_SIZED;
	perf_set(&tab[n++], "rte_malloc", perf_rte_malloc, rte_free, SIZE_MAX,
			"rte_malloc(NULL, size, 0)/rte_free, via a wrapper");
	perf_set(&tab[n], "mempool_fixed", perf_mempool_alloc,
			perf_mempool_release, 0,
			"rte_mempool_get/put (bulk: get_bulk/put_bulk) inline on "
			"one fixed-size pool, per-lcore cache");
	tab[n++].kind = PERF_K_POOL;
	perf_set(&tab[n++], PERF_MEMPOOL_NAME, perf_mempool_alloc,
			perf_mempool_release, 0,
			"rte_mempool_get/put via wrappers: pool chosen by size, "
			"rte_mempool_from_obj() on free");
	perf_set(&tab[n++], "glibc", malloc, free, SIZE_MAX, "glibc malloc/free");
	tab[n].name = "jemalloc";
	perf_load_jemalloc(&tab[n++]);
	tab[n].name = "mimalloc";
	perf_load_mimalloc(&tab[n++]);
	tab[n].name = "tcmalloc";
	perf_load_tcmalloc(&tab[n++]);
	for (i = 0; i < n; i++) {
		if (tab[i].available && !perf_selected(tab[i].name)) {
			tab[i].available = false;
			snprintf(tab[i].note, sizeof(tab[i].note),
					"skipped: not in --only");
		}
	}
	return n;
}
