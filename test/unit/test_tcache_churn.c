/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Random traffic over every path that feeds or drains a tcache: small,
 * large and huge sizes through dpm_malloc, dpm_malloc_bulk, dpm_free,
 * dpm_free_sized, dpm_free_bulk and dpm_realloc, with tcache flushes.
 *
 * One lcore, under large budgets from 0 to the maximum and tcache_max_size
 * from 0 to past the largest class: after every call the large stacks'
 * limits (grants) add up to large_granted, no stack holds more than its
 * limit nor its limit more than its ceiling, low water marks lie within
 * the stacks, the cached large bytes stay within the budget or one
 * object, and the statistics are exact (live objects plus cached ones).
 *
 * Several lcores on two simulated sockets pass objects to each other (so
 * frees go to other arenas, other sockets' remote buffers, and realloc
 * resizes objects of other lcores' arenas in place): no object is ever
 * damaged, every lcore's cached large bytes stay bounded, and everything
 * balances at the end. In a junk build (devtools/ci.d/11-junk.sh) this
 * catches a write into memory after it went back to its arena.
 */

#include <inttypes.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include <rte_lcore.h>
#include <rte_spinlock.h>

#include "dpm_state.h"
#include "dpm_test.h"
#include "tcache.h"

DPM_TEST_SUITE(tcache_churn);

/* An object in a test's hands: its first and last 64 bytes are patterned
 * from seed (the first only, below 128 bytes). */
struct obj {
	uint8_t *p;
	size_t size;
	uint64_t seed;
};

static void obj_mark(const struct obj *o)
{
	size_t n = RTE_MIN(o->size, (size_t)64);

	dpm_test_fill(o->p, n, o->seed);
	if (o->size >= 128)
		dpm_test_fill(o->p + o->size - n, n, o->seed + 1);
}

static bool obj_intact(const struct obj *o)
{
	size_t n = RTE_MIN(o->size, (size_t)64);

	return dpm_test_check(o->p, n, o->seed) == SIZE_MAX &&
	       (o->size < 128 || dpm_test_check(o->p + o->size - n, n, o->seed + 1) == SIZE_MAX);
}

/* Mostly large sizes (the budget's business), some small, a few huge. */
static size_t churn_size(uint64_t *r)
{
	uint64_t x = dpm_test_rand(r) % 1000;

	if (x < 250)
		return 16 + dpm_test_rand(r) % 14336;
	if (x < 950)
		return 14337 + dpm_test_rand(r) % (1 << 20);
	return (1 << 20) + dpm_test_rand(r) % (2 << 20);
}

/* ------------------------------------------------------------------------
 * One lcore.
 */

#define NLIVE 160
static struct obj live[NLIVE];
static unsigned int nlive;

static void live_add(void *p, size_t size, uint64_t seed)
{
	cr_assert_not_null(p, "allocation of %zu bytes failed", size);
	for (unsigned int i = 0; i < nlive; i++)
		cr_assert(!((uintptr_t)p < (uintptr_t)live[i].p + live[i].size &&
			    (uintptr_t)live[i].p < (uintptr_t)p + size),
			  "%p (%zu B) handed out over the live %p (%zu B)", p, size, (void *)live[i].p,
			  live[i].size);
	live[nlive] = (struct obj){ p, size, seed };
	obj_mark(&live[nlive]);
	nlive++;
}

static struct obj live_take(unsigned int i)
{
	struct obj o = live[i];

	cr_assert(obj_intact(&o), "%p (%zu B) damaged while live", (void *)o.p, o.size);
	live[i] = live[--nlive];
	return o;
}

static void assert_tcache_consistent(uint64_t budget)
{
	struct tcache *tc = tcache_get(rte_lcore_id());
	uint64_t granted = 0, cached = 0, biggest = 0, bytes = 0;
	struct dpm_lcore_stats ls;
	struct dpm_socket_stats ss;

	cr_assert_not_null(tc);
	for (unsigned int c = 0; c < tc->nbins; c++) {
		struct tcache_bin *tb = &tc->bins[c];
		unsigned int n = tcache_bin_ncached(tb), limit = tcache_bin_capacity(tb);

		cr_assert_leq(tcache_bin_low_water(tb), n, "class %u: low water below the stack", c);
		cr_assert_leq(n, limit, "class %u: %u cached past its limit %u", c, n, limit);
		if (c < SC_NBINS)
			continue;
		cr_assert_leq(limit, tcache_large_capacity(c), "class %u: limit %u", c, limit);
		granted += (uint64_t)limit * sc_class2size(c);
		cached += (uint64_t)n * sc_class2size(c);
		if (n > 0)
			biggest = RTE_MAX(biggest, (uint64_t)sc_class2size(c));
	}
	cr_assert_eq(granted, tc->large_granted, "grants %" PRIu64 ", large_granted %" PRIu64,
		     granted, tc->large_granted);
	cr_assert_leq(cached, RTE_MAX(budget, biggest), "%" PRIu64 " large bytes cached, budget %" PRIu64,
		      cached, budget);
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);
	cr_assert_eq(ls.tcache_large_bytes, cached);
	cr_assert_eq(dpm_stats_socket(rte_socket_id(), &ss), 0);
	cr_assert_eq(ss.nmalloc - ss.nfree, nlive + ls.tcache_cached,
		     "the socket counts %" PRIu64 " objects out, %u live and %" PRIu64 " cached",
		     ss.nmalloc - ss.nfree, nlive, ls.tcache_cached);
	for (unsigned int i = 0; i < nlive; i++)
		bytes += dpm_usable_size(live[i].p);
	cr_assert_eq(ss.bytes_allocated, bytes + ls.tcache_bytes,
		     "bytes_allocated %" PRIu64 ", live %" PRIu64 ", cached %" PRIu64,
		     ss.bytes_allocated, bytes, ls.tcache_bytes);
}

static void churn_one_lcore(size_t budget, size_t max_size, uint64_t seed)
{
	struct dpm_config cfg;
	uint64_t r = seed;

	dpm_config_defaults(&cfg);
	cfg.tcache_large_budget = budget;
	cfg.tcache_max_size = max_size;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %d", rte_errno);
	nlive = 0;
	dpm_free(dpm_malloc(64));   /* the lcore's tcache */
	for (unsigned int step = 0; step < 3000; step++) {
		uint64_t op = dpm_test_rand(&r) % 100;

		if (nlive < NLIVE - 40 && (op < 45 || nlive == 0)) {
			if (op < 5) {
				size_t size = 16 + dpm_test_rand(&r) % 2000;
				unsigned int n = 1 + dpm_test_rand(&r) % 32;
				void *v[32];

				cr_assert_eq(dpm_malloc_bulk(v, n, size), n);
				for (unsigned int k = 0; k < n; k++)
					live_add(v[k], size, step * 64 + k);
			} else {
				size_t size = churn_size(&r);

				live_add(dpm_malloc(size), size, step * 64);
			}
		} else if (op < 60) {
			dpm_free(live_take(dpm_test_rand(&r) % nlive).p);
		} else if (op < 70) {
			struct obj o = live_take(dpm_test_rand(&r) % nlive);

			dpm_free_sized(o.p, o.size);
		} else if (op < 85) {
			unsigned int n = 1 + dpm_test_rand(&r) % RTE_MIN(nlive, 40u);
			void *v[40];

			for (unsigned int k = 0; k < n; k++)
				v[k] = live_take(dpm_test_rand(&r) % nlive).p;
			dpm_free_bulk(v, n);
		} else if (op < 97) {
			struct obj o = live_take(dpm_test_rand(&r) % nlive);
			size_t size = churn_size(&r);
			void *q = dpm_realloc(o.p, size);

			cr_assert_not_null(q);
			cr_assert_eq(dpm_test_check(q, RTE_MIN(RTE_MIN(size, o.size), (size_t)64), o.seed),
				     SIZE_MAX, "realloc lost the contents");
			live_add(q, size, step * 64);
		} else {
			dpm_tcache_flush();
		}
		assert_tcache_consistent(budget);
	}
	while (nlive > 0)
		dpm_free(live_take(0).p);
	assert_tcache_consistent(budget);
	dpm_fini();
}

Test(tcache_churn, every_large_budget_and_max_size_keeps_limits_bytes_and_counters_exact)
{
	static const size_t budgets[] = {
		0, 16 << 10, (20 << 10) - 1, 100 << 10, 1 << 20, DPM_TCACHE_LARGE_BUDGET_MAX,
	};
	static const size_t max_sizes[] = { 0, 8 << 10, 16 << 10, 1 << 20, 2 << 20 };

	for (unsigned int b = 0; b < RTE_DIM(budgets); b++)
		for (unsigned int m = 0; m < RTE_DIM(max_sizes); m++)
			churn_one_lcore(budgets[b], max_sizes[m], 1 + b * 10 + m);
}

/* ------------------------------------------------------------------------
 * Several lcores, two simulated sockets, objects passed around.
 */

#define NSLOTS 256
static struct obj slots[NSLOTS];
static rte_spinlock_t slots_lock = RTE_SPINLOCK_INITIALIZER;
static uint64_t churn_budget;
static volatile int churn_failed;

static int lcore_mod2(unsigned int lcore_id)
{
	return (int)(lcore_id % 2);
}

static void fail(int why)
{
	__atomic_store_n(&churn_failed, why, __ATOMIC_RELAXED);
}

/* Allocate something (or nothing), swap it into a random slot, and free
 * what was there by one of the four ways. */
static int churn_lcore(void *arg)
{
	uint64_t r = 12345 + rte_lcore_id() * 77;
	void *bulk[16];
	unsigned int nbulk = 0;

	RTE_SET_USED(arg);
	for (unsigned int step = 0; step < 4000 && churn_failed == 0; step++) {
		struct obj o = { NULL, 0, 0 }, old;
		unsigned int k = dpm_test_rand(&r) % NSLOTS;
		uint64_t op = dpm_test_rand(&r) % 10;
		struct dpm_lcore_stats ls;

		if (op < 6) {
			o.size = churn_size(&r);
			o.seed = ((uint64_t)rte_lcore_id() << 32) | step;
			if (op == 0) {
				void *v[8];

				o.size = 16 + dpm_test_rand(&r) % 512;
				if (dpm_malloc_bulk(v, 8, o.size) != 8) {
					fail(1);
					break;
				}
				o.p = v[0];
				dpm_free_bulk(v + 1, 7);
			} else {
				o.p = dpm_malloc(o.size);
			}
			if (o.p == NULL) {
				fail(2);
				break;
			}
			obj_mark(&o);
		}
		rte_spinlock_lock(&slots_lock);
		old = slots[k];
		slots[k] = o;
		rte_spinlock_unlock(&slots_lock);
		if (old.p == NULL)
			continue;
		if (!obj_intact(&old)) {
			fprintf(stderr, "lcore %u: %p (%zu B) damaged\n", rte_lcore_id(), (void *)old.p, old.size);
			fail(3);
			break;
		}
		switch (dpm_test_rand(&r) % 4) {
		case 0:
			dpm_free(old.p);
			break;
		case 1:
			dpm_free_sized(old.p, old.size);
			break;
		case 2:
			dpm_free(dpm_realloc(old.p, churn_size(&r)));
			break;
		default:
			bulk[nbulk++] = old.p;
			if (nbulk == RTE_DIM(bulk)) {
				dpm_free_bulk(bulk, nbulk);
				nbulk = 0;
			}
		}
		/* (no statistics before the lcore's first own call) */
		if (dpm_stats_lcore(rte_lcore_id(), &ls) == 0 &&
		    ls.tcache_large_bytes > RTE_MAX(churn_budget, (uint64_t)1 << 20)) {
			fail(4);
			break;
		}
	}
	dpm_free_bulk(bulk, nbulk);
	dpm_tcache_flush();
	return churn_failed;
}

static int flush_lcore(void *arg)
{
	RTE_SET_USED(arg);
	dpm_tcache_flush();
	return 0;
}

static void churn_lcores(size_t budget)
{
	static const char *const why[] = {
		"", "a bulk allocation failed", "an allocation failed", "an object was damaged",
		"an lcore cached more large bytes than its budget or one object",
	};
	struct dpm_config cfg;
	struct dpm_socket_stats s0, s1;
	unsigned int workers;

	dpm_config_defaults(&cfg);
	cfg.zone_source = DPM_ZONE_ANON;
	cfg.sim_sockets = 2;
	cfg.lcore_socket = lcore_mod2;
	cfg.tcache_large_budget = budget;
	churn_budget = budget;
	churn_failed = 0;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %d", rte_errno);
	memset(slots, 0, sizeof(slots));
	workers = dpm_test_launch_workers(churn_lcore, NULL, 4);
	churn_lcore(NULL);
	cr_assert_eq(dpm_test_wait_workers(), 0, "budget %zu: %s", budget, why[churn_failed]);
	cr_assert_eq(churn_failed, 0, "budget %zu: %s", budget, why[churn_failed]);
	cr_assert_geq(workers, 1);
	for (unsigned int k = 0; k < NSLOTS; k++)
		if (slots[k].p != NULL) {
			cr_assert(obj_intact(&slots[k]), "%p (%zu B) damaged", (void *)slots[k].p, slots[k].size);
			dpm_free(slots[k].p);
		}
	cr_assert_eq(dpm_test_run_on_all_lcores(flush_lcore, NULL), 0);
	cr_assert_eq(dpm_stats_socket(0, &s0), 0);
	cr_assert_eq(dpm_stats_socket(1, &s1), 0);
	cr_assert_eq(s0.nmalloc + s1.nmalloc, s0.nfree + s1.nfree);
	cr_assert_eq(s0.bytes_allocated + s1.bytes_allocated, 0);
	cr_assert_eq(s0.double_frees + s1.double_frees, 0);
	dpm_fini();
}

Test(tcache_churn, lcores_passing_objects_of_every_kind_around_never_damage_one)
{
	churn_lcores(0);
	churn_lcores(64 << 10);
	churn_lcores(1 << 20);
	churn_lcores(DPM_TCACHE_LARGE_BUDGET_MAX);
}
