/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Thread caches: fill, flush and GC counts after known sequences, capacity
 * limits, flush grouping, cross-socket frees, lcore registration, non-lcore
 * threads, and counters that balance.
 */

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include <rte_lcore.h>
#include <rte_thread.h>

#include "dpm_state.h"
#include "dpm_test.h"
#include "tcache.h"

DPM_TEST_SUITE(tcache);

static void init_with(struct dpm_config *cfg)
{
	cr_assert_eq(dpm_init(cfg), 0, "dpm_init: %d", rte_errno);
}

static void init_default(void)
{
	init_with(NULL);
}

static struct tcache *self_tcache(void)
{
	return tcache_get(rte_lcore_id());
}

static struct bin *bin_of(void *p)
{
	struct arena_chunk *chunk = arena_chunk_of(p);
	uint32_t bits = chunk->map[arena_pageind(chunk, p)];

	return &chunk->desc.arena->bins[PM_BININD(bits)];
}

Test(tcache, capacity_follows_run_geometry_or_a_byte_budget_and_large_classes_by_a_byte_budget_up_to_1m)
{
	init_default();
	free(NULL);
	dpm_free(dpm_malloc(8));
	struct tcache *tc = self_tcache();

	cr_assert_not_null(tc);
	for (unsigned int cls = 0; cls < SC_NBINS; cls++) {
		/* twice a run's regions or 64 KiB of objects, within [20, 1024] */
		unsigned int by_run = 2 * sc_bin_info[cls].nregs;
		unsigned int by_bytes = 65536 / sc_bin_info[cls].reg_size;
		unsigned int want = RTE_MAX(20u, RTE_MIN(1024u, RTE_MAX(by_run, by_bytes)));

		cr_assert_eq(tcache_bin_capacity(&tc->bins[cls]), want, "class %u", cls);
	}
	/* a 256 B run holds 16 regions, yet a stack holds a 64-object burst */
	cr_assert_geq(tcache_bin_capacity(&tc->bins[sc_size2class(256)]), 128);
	/* a burst of 1000 64 B objects fits */
	cr_assert_eq(tcache_bin_capacity(&tc->bins[sc_size2class(64)]), 1024);
	cr_assert_eq(sc_class2size(tc->nbins - 1), 1 << 20);
	for (unsigned int cls = SC_NBINS; cls < tc->nbins; cls++) {
		/* the lcore's large budget (1 MiB) of objects, within [1, 20] */
		unsigned int want = RTE_MAX(1u, RTE_MIN(20u, (unsigned int)((1u << 20) / sc_class2size(cls))));

		cr_assert_eq(tcache_large_capacity(cls), want, "class %u", cls);
		/* nothing granted before the class's first free */
		cr_assert_eq(tcache_bin_capacity(&tc->bins[cls]), 0, "class %u", cls);
	}
	cr_assert_eq(tcache_large_capacity(sc_size2class(16384)), 20);
	cr_assert_eq(tcache_large_capacity(sc_size2class(65536)), 16);
	cr_assert_eq(tcache_large_capacity(tc->nbins - 1), 1);
	dpm_fini();
}

Test(tcache, with_a_zero_large_budget_every_large_class_still_holds_one_object)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.tcache_large_budget = 0;
	init_with(&cfg);
	dpm_free(dpm_malloc(8));
	struct tcache *tc = self_tcache();

	for (unsigned int cls = SC_NBINS; cls < tc->nbins; cls++)
		cr_assert_eq(tcache_large_capacity(cls), 1, "class %u", cls);
	dpm_fini();
}

/* Bytes of large classes live or cached on this socket, from the class
 * statistics (arena-side counts). */
static uint64_t large_bytes_held(void)
{
	struct dpm_class_stats cs;
	uint64_t bytes = 0;

	for (unsigned int cls = SC_NBINS; cls < dpm_class_count(); cls++) {
		cr_assert_eq(dpm_stats_class(rte_socket_id(), cls, &cs), 0);
		bytes += cs.curregs * cs.size;
	}
	return bytes;
}

/* Sizes of ten large classes, from 16 KiB to 1 MiB. */
static const size_t budget_sizes[] = {
	16 << 10, 20 << 10, 48 << 10, 64 << 10, 96 << 10,
	192 << 10, 256 << 10, 384 << 10, 640 << 10, 1 << 20,
};
#define BUDGET_PER_SIZE 6

Test(tcache, an_lcore_freeing_large_objects_of_many_classes_caches_at_most_its_budget_and_one_object)
{
	static void *p[RTE_DIM(budget_sizes)][BUDGET_PER_SIZE];
	const uint64_t budget = (uint64_t)1 << 20;
	struct dpm_config cfg;
	struct dpm_lcore_stats ls;
	uint64_t live = 0;

	dpm_config_defaults(&cfg);
	cfg.tcache_large_budget = budget;
	init_with(&cfg);
	for (unsigned int i = 0; i < RTE_DIM(budget_sizes); i++)
		for (unsigned int k = 0; k < BUDGET_PER_SIZE; k++) {
			p[i][k] = dpm_malloc(budget_sizes[i]);
			cr_assert_not_null(p[i][k]);
			live += budget_sizes[i];   /* each is its class's size */
		}
	self_tcache()->gc_ticker = INT32_MAX;   /* no GC step gives any back */
	/* Round robin over the classes, so that each push could stay within
	 * its class's own capacity. */
	for (unsigned int k = 0; k < BUDGET_PER_SIZE; k++)
		for (unsigned int i = 0; i < RTE_DIM(budget_sizes); i++) {
			dpm_free(p[i][k]);
			live -= budget_sizes[i];
			cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);
			/* exact: what the arenas count held, less what is live */
			cr_assert_eq(ls.tcache_large_bytes, large_bytes_held() - live,
				     "after freeing %zu B: %lu cached, %lu held by arenas beyond the live set",
				     budget_sizes[i], ls.tcache_large_bytes, large_bytes_held() - live);
			cr_assert_leq(ls.tcache_large_bytes, RTE_MAX(budget, (uint64_t)budget_sizes[i]),
				      "after freeing %zu B: %lu cached for a budget of %lu",
				      budget_sizes[i], ls.tcache_large_bytes, budget);
			cr_assert_geq(ls.tcache_large_bytes, budget_sizes[i], "the object just freed is cached");
			cr_assert_geq(ls.tcache_bytes, ls.tcache_large_bytes);
		}
	dpm_tcache_flush();
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);
	cr_assert_eq(ls.tcache_large_bytes, 0);
	cr_assert_eq(large_bytes_held(), 0);
	dpm_fini();
}

Test(tcache, a_large_class_caches_one_object_under_a_budget_smaller_than_it)
{
	struct dpm_config cfg;
	struct dpm_lcore_stats ls;
	struct dpm_class_stats cs;
	unsigned int cls = sc_size2class((size_t)1 << 20);

	dpm_config_defaults(&cfg);
	cfg.tcache_large_budget = 64 << 10;
	init_with(&cfg);
	void *p = dpm_malloc((size_t)1 << 20);

	cr_assert_not_null(p);
	dpm_free(p);
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);
	cr_assert_eq(ls.tcache_large_bytes, (uint64_t)1 << 20);
	cr_assert_eq(dpm_stats_class(rte_socket_id(), cls, &cs), 0);
	uint64_t nmalloc = cs.nmalloc;

	/* an alloc+free pair of that size is served by the cache */
	for (int i = 0; i < 4; i++) {
		void *q = dpm_malloc((size_t)1 << 20);

		cr_assert_eq(q, p, "the cached object comes back");
		dpm_free(q);
	}
	cr_assert_eq(dpm_stats_class(rte_socket_id(), cls, &cs), 0);
	cr_assert_eq(cs.nmalloc, nmalloc, "no allocation reached the arena");
	/* another class's free keeps the newer object, the older goes back */
	dpm_free(dpm_malloc(256 << 10));
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);
	cr_assert_eq(ls.tcache_large_bytes, 256 << 10);
	cr_assert_eq(dpm_stats_class(rte_socket_id(), cls, &cs), 0);
	cr_assert_eq(cs.curregs, 0, "the 1 MiB object went back to its arena");
	dpm_fini();
}

Test(tcache, an_unused_large_grant_is_taken_back_without_a_flush)
{
	struct dpm_config cfg;
	unsigned int big = sc_size2class(256 << 10), small = sc_size2class(128 << 10);

	dpm_config_defaults(&cfg);
	cfg.tcache_large_budget = 256 << 10;
	init_with(&cfg);
	void *a = dpm_malloc(256 << 10), *b = dpm_malloc(128 << 10);
	struct tcache *tc = self_tcache();

	tc->gc_ticker = INT32_MAX;
	dpm_free(a);                         /* 256 KiB granted and cached */
	cr_assert_eq(tcache_bin_capacity(&tc->bins[big]), 1);
	a = dpm_malloc(256 << 10);           /* live again: the grant is unused */
	uint64_t flushes = tc->flushes;

	dpm_free(b);                         /* needs 128 KiB more than the budget */
	cr_assert_eq(tcache_bin_capacity(&tc->bins[big]), 0, "the unused grant was taken back");
	cr_assert_eq(tcache_bin_capacity(&tc->bins[small]), 1);
	cr_assert_eq(tcache_bin_ncached(&tc->bins[small]), 1);
	cr_assert_eq(tc->flushes, flushes, "nothing was flushed");
	cr_assert_eq(tc->large_granted, 128 << 10);
	dpm_free(a);
	dpm_fini();
}

Test(tcache, idle_large_objects_go_back_before_the_pushed_class_loses_any)
{
	struct dpm_config cfg;
	void *a[4], *b[4];
	unsigned int ca = sc_size2class(64 << 10), cb = sc_size2class(128 << 10);

	dpm_config_defaults(&cfg);
	cfg.tcache_large_budget = 512 << 10;
	init_with(&cfg);
	for (int i = 0; i < 4; i++) {
		a[i] = dpm_malloc(64 << 10);
		b[i] = dpm_malloc(128 << 10);
	}
	struct tcache *tc = self_tcache();

	tc->gc_ticker = INT32_MAX;
	/* 4 x 128 KiB cached, then a GC visit marks them all unused */
	for (int i = 0; i < 4; i++)
		dpm_free(b[i]);
	tc->gc_next = cb;
	tcache_bin_low_water_set(&tc->bins[cb], tcache_bin_ncached(&tc->bins[cb]));
	/* 64 KiB frees past the budget take the idle 128 KiB objects back
	 * first, all of them: the 64 KiB class keeps everything */
	for (int i = 0; i < 4; i++)
		dpm_free(a[i]);
	struct dpm_lcore_stats ls;

	cr_assert_eq(tcache_bin_ncached(&tc->bins[ca]), 4);
	cr_assert_eq(tcache_bin_ncached(&tc->bins[cb]), 0);
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);
	cr_assert_eq(ls.tcache_large_bytes, 256 << 10);
	dpm_fini();
}

Test(tcache, a_miss_fills_half_the_stack_from_the_bin_under_one_lock)
{
	init_default();
	void *p = dpm_malloc(64);
	struct tcache *tc = self_tcache();
	struct tcache_bin *tb = &tc->bins[sc_size2class(64)];
	struct bin *bin = bin_of(p);
	unsigned int fill = tcache_bin_capacity(tb) / 2;

	cr_assert_eq(tc->fills, 1);
	cr_assert_eq(bin->nfills, 1, "one lock for the whole batch");
	cr_assert_eq(bin->nmalloc, fill);
	cr_assert_eq(tcache_bin_ncached(tb), fill - 1);
	/* lowest address first: the next hit is the region after p */
	cr_assert_eq((uintptr_t)dpm_malloc(64), (uintptr_t)p + 64);
	cr_assert_eq(tc->fills, 1, "a hit takes no batch");
	dpm_fini();
}

Test(tcache, a_full_stack_flushes_its_oldest_half)
{
	init_default();
	unsigned int cls = sc_size2class(64);
	static void *p[1200];
	struct tcache *tc;
	struct tcache_bin *tb;

	for (int i = 0; i < 1200; i++)
		p[i] = dpm_malloc(64);
	tc = self_tcache();
	tb = &tc->bins[cls];
	dpm_tcache_flush();
	tc->gc_ticker = INT32_MAX;   /* isolate flushes from GC steps */
	cr_assert_eq(tcache_bin_ncached(tb), 0);
	/* the bin is read now: once a run empties, its pages name no bin */
	struct bin *bin = bin_of(p[0]);
	uint64_t flushes = tc->flushes, bin_nfree = bin->nfree;

	for (unsigned int i = 0; i < tcache_bin_capacity(tb); i++)
		dpm_free(p[i]);
	cr_assert_eq(tcache_bin_ncached(tb), tcache_bin_capacity(tb));
	cr_assert_eq(tc->flushes, flushes, "no flush while there is room");
	dpm_free(p[tcache_bin_capacity(tb)]);
	cr_assert_eq(tc->flushes, flushes + 1);
	cr_assert_eq(tcache_bin_ncached(tb), tcache_bin_capacity(tb) / 2 + 1);
	cr_assert_eq(bin->nfree, bin_nfree + tcache_bin_capacity(tb) / 2);
	/* the oldest went: p[0] is back in its run, the newest is on top */
	cr_assert_eq(tcache_bin_obj(tb, 0), p[tcache_bin_capacity(tb)], "the newest on top");
	for (unsigned int i = tcache_bin_capacity(tb) + 1; i < 1200; i++)
		dpm_free(p[i]);
	dpm_fini();
}

Test(tcache, gc_returns_three_quarters_of_unused_objects_and_halves_the_fill)
{
	init_default();
	unsigned int cls = sc_size2class(64);
	void *p = dpm_malloc(64);
	struct tcache *tc = self_tcache();
	struct tcache_bin *tb = &tc->bins[cls];
	unsigned int cached = tcache_bin_ncached(tb);
	uint64_t nfree = bin_of(p)->nfree;

	/* First visit: the class ran dry (the fill), nothing sat unused. */
	tc->gc_next = cls;
	tcache_event_hard(tc);
	cr_assert_eq(tcache_bin_ncached(tb), cached);
	cr_assert_eq(tcache_bin_low_water(tb), cached);
	cr_assert_eq(tb->lg_fill_div, 1, "fill stays at its largest");
	/* Second visit: all cached objects sat unused since the first. */
	tc->gc_next = cls;
	tcache_event_hard(tc);
	unsigned int gone = cached - cached / 4;

	cr_assert_eq(tcache_bin_ncached(tb), cached / 4);
	cr_assert_eq(bin_of(p)->nfree, nfree + gone);
	cr_assert_eq(tb->lg_fill_div, 2, "fill halves");
	dpm_free(p);
	dpm_fini();
}

Test(tcache, a_class_that_ran_dry_doubles_its_fill)
{
	init_default();
	unsigned int cls = sc_size2class(256);
	void *p = dpm_malloc(256);
	struct tcache *tc = self_tcache();
	struct tcache_bin *tb = &tc->bins[cls];

	tb->lg_fill_div = 3;
	tcache_bin_low_water_set(tb, 0);
	tb->ran_dry = 1;
	tc->gc_next = cls;
	tcache_event_hard(tc);
	cr_assert_eq(tb->lg_fill_div, 2);
	dpm_free(p);
	dpm_fini();
}

Test(tcache, gc_steps_come_from_the_lcores_own_calls)
{
	init_default();
	dpm_free(dpm_malloc(32));
	struct tcache *tc = self_tcache();
	uint64_t runs = tc->gc_runs;

	tc->gc_ticker = TCACHE_GC_INCR;

	for (int i = 0; i < TCACHE_GC_INCR * 4; i++)
		dpm_free(dpm_malloc(32));
	/* one event per iteration: a hit ticks, an easy free does not */
	cr_assert_eq(tc->gc_runs, runs + 4);
	dpm_fini();
}

/* Flush grouping: objects of two arenas of one socket, freed by a third
 * lcore, go home with one bin lock per arena. Each lcore allocates half a
 * stack, so the frees fit and only the explicit flush returns them. */
#define GROUP_N 64
static void *objs[2][GROUP_N];

static int alloc_group(void *arg)
{
	void **out = arg;

	for (int i = 0; i < GROUP_N; i++)
		out[i] = dpm_malloc(64);
	return 0;
}

Test(tcache, a_flush_takes_each_owning_bin_lock_once)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.arenas_per_socket = 2;
	init_with(&cfg);
	/* lcore 0 binds to arena 0, lcore 1 to arena 1, lcore 2 to arena 0 */
	dpm_free(dpm_malloc(1));
	rte_eal_remote_launch(alloc_group, objs[1], 1);
	rte_eal_wait_lcore(1);
	rte_eal_remote_launch(alloc_group, objs[0], 2);
	rte_eal_wait_lcore(2);
	struct bin *b0 = bin_of(objs[0][0]), *b1 = bin_of(objs[1][0]);

	cr_assert_neq(b0, b1, "the two lcores must use different arenas");
	self_tcache()->gc_ticker = INT32_MAX;   /* isolate the flush from GC steps */
	cr_assert_geq(tcache_bin_capacity(&self_tcache()->bins[sc_size2class(64)]), 2 * GROUP_N);
	uint64_t f0 = b0->nflushes, f1 = b1->nflushes, n0 = b0->nfree, n1 = b1->nfree;

	for (int i = 0; i < GROUP_N; i++) {
		dpm_free(objs[0][i]);
		dpm_free(objs[1][i]);
	}
	dpm_tcache_flush();
	cr_assert_eq(b0->nflushes, f0 + 1);
	cr_assert_eq(b1->nflushes, f1 + 1);
	cr_assert_eq(b0->nfree, n0 + GROUP_N);
	cr_assert_eq(b1->nfree, n1 + GROUP_N);
	dpm_fini();
}

/* Two simulated sockets: even lcores on 0, odd on 1. */
static int even_odd(unsigned int lcore)
{
	return (int)(lcore & 1);
}

Test(tcache, frees_of_another_sockets_memory_never_enter_the_stacks)
{
	struct dpm_config cfg;
	void *p[300];

	dpm_config_defaults(&cfg);
	cfg.zone_source = DPM_ZONE_ANON;
	cfg.sim_sockets = 2;
	cfg.lcore_socket = even_odd;
	init_with(&cfg);
	cr_assert_eq(dpm_lcore_socket(rte_lcore_id()), 0);
	for (int i = 0; i < 300; i++) {
		p[i] = dpm_malloc_socket(64, 1);
		cr_assert_eq(dpm_socket_of(p[i]), 1);
	}
	struct tcache *tc = self_tcache();

	for (int i = 0; i < 300; i++) {
		dpm_free(p[i]);
		for (unsigned int c = 0; c < tc->nbins; c++)
			for (unsigned int k = 0; k < tcache_bin_ncached(&tc->bins[c]); k++)
				cr_assert_neq(dpm_socket_of(tcache_bin_obj(&tc->bins[c], k)), 1,
					      "socket 1 memory in lcore 0's stack");
	}
	cr_assert_eq(tc->remote_frees, 300);
	dpm_tcache_flush();
	cr_assert_eq(dpm_stats_cross_socket(0, 1), 300, "counted per pair");
	struct dpm_socket_stats st;

	cr_assert_eq(dpm_stats_socket(1, &st), 0);
	cr_assert_eq(st.nmalloc, st.nfree, "every object is home");
	cr_assert_eq(st.remote_frees_in, 300);
	dpm_fini();
}

/* Large objects of another socket wait in the remote buffer only within
 * the lcore's large budget: the buffer goes home before they pass it, or
 * it would hold up to 63 of them (63 MiB of 1 MiB objects) in no
 * statistic of the lcore until it filled or a GC step came. */
Test(tcache, large_frees_of_another_sockets_memory_wait_within_the_large_budget)
{
	static const size_t sizes[] = { 16 << 10, 256 << 10, 20 << 10, 1 << 20, 16 << 10 };
	const uint64_t budget = 64 << 10;
	struct dpm_config cfg;
	struct dpm_socket_stats st;
	uint64_t live = 0;
	void *p[40];

	dpm_config_defaults(&cfg);
	cfg.zone_source = DPM_ZONE_ANON;
	cfg.sim_sockets = 2;
	cfg.lcore_socket = even_odd;
	cfg.tcache_large_budget = budget;
	init_with(&cfg);
	cr_assert_eq(dpm_lcore_socket(rte_lcore_id()), 0);
	for (unsigned int i = 0; i < RTE_DIM(p); i++) {
		p[i] = dpm_malloc_socket(sizes[i % RTE_DIM(sizes)], 1);
		cr_assert_not_null(p[i]);
		live += sizes[i % RTE_DIM(sizes)];
	}
	self_tcache()->gc_ticker = INT32_MAX;   /* no GC step sends them home */
	for (unsigned int i = 0; i < RTE_DIM(p); i++) {
		dpm_free(p[i]);
		live -= sizes[i % RTE_DIM(sizes)];
		cr_assert_eq(dpm_stats_socket(1, &st), 0);
		cr_assert_leq(st.bytes_allocated - live, budget,
			      "after %u frees, lcore 0 holds %" PRIu64 " bytes of socket 1 (budget %" PRIu64 ")",
			      i + 1, st.bytes_allocated - live, budget);
	}
	cr_assert_eq(self_tcache()->remote_frees, RTE_DIM(p));
	dpm_tcache_flush();
	cr_assert_eq(dpm_stats_socket(1, &st), 0);
	cr_assert_eq(st.nmalloc, st.nfree, "every object is home");
	cr_assert_eq(st.bytes_allocated, 0);
	cr_assert_eq(st.remote_frees_in, RTE_DIM(p), "each counted once");
	cr_assert_eq(dpm_stats_cross_socket(0, 1), RTE_DIM(p));
	dpm_fini();
}

/* A registered non-EAL thread gets a tcache; unregistering flushes it. */
struct reg_result {
	unsigned int lcore;
	bool had_tcache, cached, gone;
};

static void *registered_thread(void *arg)
{
	struct reg_result *r = arg;
	void *p[10];

	if (rte_thread_register() != 0)
		return NULL;
	r->lcore = rte_lcore_id();
	for (int i = 0; i < 10; i++)
		p[i] = dpm_malloc(128);
	for (int i = 0; i < 10; i++)
		dpm_free(p[i]);
	r->had_tcache = tcache_get(r->lcore) != NULL;
	r->cached = r->had_tcache && tcache_bin_ncached(&tcache_get(r->lcore)->bins[sc_size2class(128)]) > 0;
	rte_thread_unregister();
	r->gone = tcache_get(r->lcore) == NULL;
	return NULL;
}

Test(tcache, registered_threads_get_a_tcache_and_unregistering_flushes_it)
{
	struct reg_result r = {0};
	struct dpm_class_stats cs;
	pthread_t t;

	init_default();
	cr_assert_eq(pthread_create(&t, NULL, registered_thread, &r), 0);
	pthread_join(t, NULL);
	cr_assert_lt(r.lcore, RTE_MAX_LCORE, "rte_thread_register failed");
	cr_assert(r.had_tcache);
	cr_assert(r.cached);
	cr_assert(r.gone);
	cr_assert_eq(dpm_stats_class(0, sc_size2class(128), &cs), 0);
	cr_assert_eq(cs.curregs, 0, "unregistering returned the cached objects");
	dpm_fini();
}

static int plain_thread_work(void *arg)
{
	void *p[1000];

	for (int i = 0; i < 1000; i++) {
		p[i] = dpm_malloc(16 + i % 2000);
		if (p[i] == NULL)
			return -1;
	}
	for (int i = 0; i < 1000; i++)
		dpm_free(p[i]);
	return 0;
}

Test(tcache, plain_pthreads_use_the_locked_path_and_get_no_tcache)
{
	struct dpm_socket_stats st;

	init_default();
	cr_assert_eq(dpm_test_run_on_pthread(plain_thread_work, NULL), 0);
	for (unsigned int l = 0; l < RTE_MAX_LCORE; l++)
		cr_assert_null(tcache_get(l), "lcore %u has a tcache", l);
	cr_assert_eq(dpm_stats_socket(0, &st), 0);
	cr_assert_eq(st.nmalloc, 2000 - 1000, "1000 objects, counted once each way") ;
	dpm_fini();
}

/* Counters balance per class after a mixed workload on every lcore. */
static int mixed_work(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull * (rte_lcore_id() + 1);
	void *p[2000];

	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 2000; i++)
			p[i] = dpm_malloc(dpm_test_rand(&seed) % 40000);
		for (int i = 0; i < 2000; i++)
			dpm_free(p[i]);
	}
	dpm_tcache_flush();
	return 0;
}

Test(tcache, counters_balance_per_class_after_every_lcore_flushes)
{
	init_default();
	cr_assert_eq(dpm_test_run_on_all_lcores(mixed_work, NULL), 0);
	for (unsigned int cls = 0; cls < dpm_class_count(); cls++) {
		struct dpm_class_stats cs;

		cr_assert_eq(dpm_stats_class(0, cls, &cs), 0);
		cr_assert_eq(cs.nmalloc - cs.nfree, cs.curregs, "class %u", cls);
		cr_assert_eq(cs.curregs, 0, "class %u: %lu left", cls, cs.curregs);
		cr_assert_eq(cs.curruns, 0, "class %u: runs left", cls);
	}
	uint64_t tc_nmalloc = 0, tc_nfree = 0;

	for (unsigned int l = 0; l < RTE_MAX_LCORE; l++) {
		struct dpm_lcore_stats ls;

		if (dpm_stats_lcore(l, &ls) == 0) {
			tc_nmalloc += ls.nmalloc;
			tc_nfree += ls.nfree;
			cr_assert_eq(ls.tcache_cached, 0);
		}
	}
	cr_assert_eq(tc_nmalloc, tc_nfree, "allocated - freed = live (0) over the tcaches");
	dpm_fini();
}

/* Watched builds (ASan, junk) allocate bulk object by object, through the
 * hooks of dpm_fp.h. */
Test(tcache, bulk_allocation_moves_a_whole_batch_under_one_lock, .disabled = DPM_FP_WATCH)
{
	void *p[64];

	init_default();
	dpm_free(dpm_malloc(48));
	dpm_tcache_flush();
	struct tcache *tc = self_tcache();
	struct tcache_bin *tb = &tc->bins[sc_size2class(96)];

	cr_assert_eq(tcache_bin_ncached(tb), 0);
	/* A miss's batch, at least the 64 asked for. */
	unsigned int batch = RTE_MAX(64u, tcache_bin_capacity(tb) >> tb->lg_fill_div);

	cr_assert_eq(dpm_malloc_bulk(p, 64, 96), 64);
	struct bin *bin = bin_of(p[0]);

	cr_assert_eq(bin->nfills, 1, "64 objects, one lock");
	cr_assert_eq(bin->nmalloc, batch, "a fill batch, as a miss takes");
	cr_assert_eq(tcache_bin_ncached(tb), batch - 64);
	cr_assert_eq(tcache_bin_low_water(tb), 0, "the stack ran dry");
	/* The next bulk call finds them cached: no lock (a producer whose
	 * frees never come back locks once per batch, not per call). */
	void *q[64];
	unsigned int more = RTE_MIN(64u, batch - 64);

	cr_assert_eq(dpm_malloc_bulk(q, more, 96), more);
	cr_assert_eq(bin->nfills, 1, "served from the stack");
	dpm_free_bulk(q, more);
	dpm_free_bulk(p, 64);
	cr_assert_eq(tcache_bin_ncached(tb), batch, "freed into the cache");
	dpm_fini();
}

/* A bulk allocation the stack holds is n pops at once: the newest first,
 * the low water moved to the new depth (a GC visit must not flush objects
 * that are gone), the GC ticked n times, nmalloc counted n times. */
Test(tcache, bulk_pop_counts_as_n_pops, .disabled = DPM_FP_WATCH)
{
	void *p[200], *q[150];

	init_default();
	dpm_free(dpm_malloc(48));
	dpm_tcache_flush();
	struct tcache *tc = self_tcache();
	unsigned int cls = sc_size2class(48);
	struct tcache_bin *tb = &tc->bins[cls];

	cr_assert_eq(dpm_malloc_bulk(p, 200, 48), 200);
	dpm_free_bulk(p, 200);
	/* The fill's leftovers below p[0] .. p[199]. */
	unsigned int depth = tcache_bin_ncached(tb);

	cr_assert_geq(depth, 200);
	tc->gc_next = cls;
	tcache_event_hard(tc);   /* a visit: the low water is the depth */
	cr_assert_eq(tcache_bin_low_water(tb), depth);
	uint64_t nmalloc = tb->nmalloc, runs = tc->gc_runs;

	tc->gc_ticker = 160;
	cr_assert_eq(dpm_malloc_bulk(q, 150, 48), 150);
	for (unsigned int i = 0; i < 150; i++)
		cr_assert_eq(q[i], p[199 - i], "q[%u]", i);
	cr_assert_eq(tcache_bin_ncached(tb), depth - 150);
	cr_assert_eq(tcache_bin_low_water(tb), depth - 150, "low water %u, want %u",
		     tcache_bin_low_water(tb), depth - 150);
	cr_assert_eq(tb->nmalloc, nmalloc + 150);
	cr_assert_eq(tc->gc_ticker, 10);
	cr_assert_eq(tc->gc_runs, runs);
	/* 50 more pass the GC step: it runs once, the ticker starts over. */
	cr_assert_eq(dpm_malloc_bulk(q, 50, 48), 50);
	cr_assert_eq(tc->gc_runs, runs + 1);
	cr_assert_eq(tc->gc_ticker, TCACHE_GC_INCR);
	cr_assert_eq(tcache_bin_ncached(tb), depth - 200);
	dpm_free_bulk(q, 50);
	dpm_fini();
}

/* A flush of the oldest objects takes the idle ones first: what stays idle
 * is the low water less the objects flushed, not the low water capped at
 * what remains (which counted objects pushed since the GC visit as idle). */
Test(tcache, a_flush_of_the_oldest_takes_them_off_the_low_water, .disabled = DPM_FP_WATCH)
{
	enum { IDLE = 200 };
	void **p;

	init_default();
	dpm_free(dpm_malloc(48));
	dpm_tcache_flush();
	struct tcache *tc = self_tcache();
	unsigned int cls = sc_size2class(48), cap;
	struct tcache_bin *tb = &tc->bins[cls];

	cap = tcache_bin_capacity(tb);
	cr_assert_gt(cap / 2, IDLE, "capacity %u: the test needs a flush of more than %u", cap, IDLE);
	p = calloc(cap + 1, sizeof(*p));
	cr_assert_not_null(p);
	cr_assert_eq(dpm_malloc_bulk(p, cap + 1, 48), cap + 1);
	dpm_free_bulk(p, IDLE);
	tc->gc_next = cls;
	tcache_event_hard(tc);   /* a visit: the IDLE objects are idle */
	cr_assert_eq(tcache_bin_low_water(tb), IDLE);
	for (unsigned int i = IDLE; i <= cap; i++)
		dpm_free(p[i]);   /* fills the stack; the last free flushes half */
	cr_assert_lt(tcache_bin_ncached(tb), cap, "no flush happened");
	cr_assert_eq(tcache_bin_low_water(tb), 0,
		     "low water %u after flushing the %u idle objects and more: want 0",
		     tcache_bin_low_water(tb), IDLE);
	dpm_tcache_flush();
	free(p);
	dpm_fini();
}

/* Only debug builds scan tcaches for double frees (-Ddebug_checks=true;
 * devtools/test.sh runs this file in such a build too). Disabled, rather
 * than skipped at run time, in release builds: a run-time skip would start
 * EAL and never run the suite's .fini. */
Test(tcache, a_double_free_into_a_tcache_is_refused_in_debug_builds, .disabled = !DPM_DEBUG_CHECKS)
{
	init_default();
	void *p = dpm_malloc(64);
	struct tcache_bin *tb = &self_tcache()->bins[sc_size2class(64)];

	dpm_free(p);
	unsigned int cached = tcache_bin_ncached(tb);

	dpm_free(p);                      /* refused, logged */
	cr_assert_eq(tcache_bin_ncached(tb), cached, "the second free was cached");
	void *a = dpm_malloc(64), *b = dpm_malloc(64);

	cr_assert_neq(a, b, "one region handed out twice");
	dpm_free(a);
	dpm_free(b);
	dpm_fini();
}

/* A double free of an object parked in a transfer cache (freed once, by a
 * tcache flush, but still marked allocated in its run) is refused on the
 * checked path that plain threads take. */
#define PARK_N 2100    /* more than twice any small class's stack */
static void *park_objs[PARK_N];

static int alloc_park_objs(void *arg)
{
	for (int i = 0; i < PARK_N; i++)
		park_objs[i] = dpm_malloc(64);
	return 0;
}

static int free_from_pthread(void *arg)
{
	dpm_free(arg);
	return 0;
}

/* Two arenas: lcore 0 binds to arena 0, lcore 1 (arena 1) allocates
 * park_objs; returns their bin, in arena 1. */
static struct bin *park_setup(void)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.arenas_per_socket = 2;
	init_with(&cfg);
	dpm_free(dpm_malloc(1));                 /* lcore 0 binds to arena 0 */
	rte_eal_remote_launch(alloc_park_objs, NULL, 1);   /* arena 1 */
	rte_eal_wait_lcore(1);
	return bin_of(park_objs[0]);
}

Test(tcache, a_double_free_of_a_parked_object_is_refused)
{
	struct bin *bin = park_setup();

	/* lcore 0 frees them: its full stack flushes the oldest half, which
	 * belongs to arena 1 and parks there. */
	for (int i = 0; i < PARK_N; i++)
		dpm_free(park_objs[i]);
	cr_assert_gt(bin->nxfer, 0, "nothing parked");
	void *victim = bin->xfer[bin->xfer_first];
	uint64_t nfree = bin->nfree;
	uint32_t nxfer = bin->nxfer;

	cr_assert_eq(dpm_test_run_on_pthread(free_from_pthread, victim), 0);
	cr_assert_eq(bin->nfree, nfree, "the double free was counted");
	cr_assert_eq(bin->nxfer, nxfer);
	struct arena_chunk *chunk = arena_chunk_of(victim);
	size_t pageind = arena_pageind(chunk, victim);
	uint32_t bits = chunk->map[pageind];
	struct run *run = arena_run_of(chunk, pageind - PM_RUN_OFFSET(bits));
	uint32_t idx = div_compute(&sc_bin_info[PM_BININD(bits)].div,
				   (uint32_t)((uintptr_t)victim - arena_page_addr(chunk, pageind - PM_RUN_OFFSET(bits))));

	cr_assert_not(bitmap_get(run->bitmap, idx), "the parked object was freed into its run");
	dpm_fini();
}

Test(tcache, socket_stats_count_the_bytes_parked_in_transfer_caches)
{
	struct dpm_socket_stats st;
	struct bin *bin = park_setup();

	cr_assert_eq(dpm_stats_socket(rte_socket_id(), &st), 0);
	cr_assert_eq(st.bytes_parked, 0);
	for (int i = 0; i < PARK_N; i++)
		dpm_free(park_objs[i]);
	cr_assert_gt(bin->nxfer, 0, "nothing parked");
	cr_assert_eq(dpm_stats_socket(rte_socket_id(), &st), 0);
	cr_assert_eq(st.bytes_parked, (uint64_t)bin->nxfer * 64);
	dpm_trim();                              /* transfer caches go back to their runs */
	cr_assert_eq(dpm_stats_socket(rte_socket_id(), &st), 0);
	cr_assert_eq(st.bytes_parked, 0);
	dpm_fini();
}

/*
 * No passive false sharing: an object that lcore 1 allocated (from its
 * arena) and lcore 2 freed is not handed to lcore 2's next allocations of
 * that size, where the two lcores would go on writing one cache line; it
 * waits in lcore 2's outbound stack and goes home in a batch.
 */
static void *fs_obj;
static void *fs_next[64];

static int fs_alloc(void *arg)
{
	RTE_SET_USED(arg);
	fs_obj = dpm_malloc(8);
	return 0;
}

static int fs_free_then_alloc(void *arg)
{
	RTE_SET_USED(arg);
	/* With a tcache already, so that the free takes the easy path. */
	dpm_free(dpm_malloc(16));
	dpm_free(fs_obj);
	for (unsigned int i = 0; i < RTE_DIM(fs_next); i++)
		fs_next[i] = dpm_malloc(8);
	for (unsigned int i = 0; i < RTE_DIM(fs_next); i++)
		dpm_free(fs_next[i]);
	return 0;
}

Test(tcache, an_object_freed_by_another_lcore_is_not_reused_by_that_lcore)
{
	init_default();
	dpm_free(dpm_malloc(8));
	cr_assert_eq(rte_eal_remote_launch(fs_alloc, NULL, 1), 0);
	rte_eal_wait_lcore(1);
	cr_assert_not_null(fs_obj);
	cr_assert_eq(rte_eal_remote_launch(fs_free_then_alloc, NULL, 2), 0);
	rte_eal_wait_lcore(2);
	cr_assert_neq(dpm_state.lcore_arena[1], dpm_state.lcore_arena[2], "lcores 1 and 2 share an arena");
	for (unsigned int i = 0; i < RTE_DIM(fs_next); i++)
		cr_assert_neq(fs_next[i], fs_obj, "lcore 2 reused lcore 1's object (allocation %u)", i);
	struct tcache *tc2 = tcache_get(2);

	cr_assert_not_null(tc2);
	cr_assert_eq(tcache_bin_ncached(&tc2->out[sc_size2class(8)]), 1, "not waiting to go home");
	dpm_fini();
}

/*
 * The other frees of another arena's objects, which the inline free hands
 * to dpm_fp_free_other() (the radix-tree entry carries lcore 1's arena's
 * tag, not lcore 2's): a small object freed by size waits in the outbound
 * stack as one freed by dpm_free() does, and a large object -- large runs
 * are all the socket's first arena's -- goes to the freeing lcore's own
 * class stack (a page-aligned object shares no line with another).
 */
static void *oa_small, *oa_large;

static int oa_alloc(void *arg)
{
	RTE_SET_USED(arg);
	oa_small = dpm_malloc(200);
	oa_large = dpm_malloc((size_t)64 << 10);
	return 0;
}

static int oa_free(void *arg)
{
	RTE_SET_USED(arg);
	/* Lcore 2's tcache first: without one, a free takes the hard path. */
	dpm_free(dpm_malloc(8));
	cr_assert_not_null(tcache_get(2));
	dpm_free_sized(oa_small, 200);
	dpm_free(oa_large);
	return 0;
}

Test(tcache, frees_of_another_arenas_objects_take_the_outbound_or_large_stacks)
{
	unsigned int small = sc_size2class(200), large = sc_size2class((size_t)64 << 10);

	init_default();
	cr_assert_eq(rte_eal_remote_launch(oa_alloc, NULL, 1), 0);
	rte_eal_wait_lcore(1);
	cr_assert(oa_small != NULL && oa_large != NULL);
	cr_assert_eq(arena_chunk_of(oa_small)->desc.arena, dpm_state.lcore_arena[1]);
	cr_assert_neq(arena_chunk_of(oa_large)->desc.arena, dpm_state.lcore_arena[2],
		      "lcore 2's arena serves the large runs: the test would not leave the inline path");
	cr_assert_eq(rte_eal_remote_launch(oa_free, NULL, 2), 0);
	rte_eal_wait_lcore(2);
	cr_assert_neq(dpm_state.lcore_arena[1], dpm_state.lcore_arena[2], "lcores 1 and 2 share an arena");
	struct tcache *tc2 = tcache_get(2);

	cr_assert_not_null(tc2);
	cr_assert_eq(tcache_bin_ncached(&tc2->out[small]), 1, "the sized free did not go outbound");
	cr_assert_eq(tcache_bin_obj(&tc2->out[small], 0), oa_small);
	cr_assert_eq(tcache_bin_ncached(&tc2->bins[small]), 0);
	cr_assert_lt(large, tc2->nbins, "64 KiB is not a cached class");
	cr_assert_eq(tcache_bin_ncached(&tc2->bins[large]), 1, "the large free was not cached");
	cr_assert_eq(tcache_bin_obj(&tc2->bins[large], 0), oa_large);
	dpm_fini();
}

/*
 * An outbound stack that fills goes home whole, each object to its owning
 * arena's transfer cache: a stack of one owner's objects in one pass and
 * one lock (the common case), one of two owners' objects -- the general
 * rounds -- split between them exactly.
 */
#define MX_N 2200
static void *mx_objs[2][MX_N];
static unsigned int mx_cap;

static int mx_alloc(void *arg)
{
	unsigned int w = (unsigned int)(uintptr_t)arg;

	for (unsigned int i = 0; i < MX_N; i++)
		mx_objs[w][i] = dpm_malloc(64);
	return 0;
}

/* Free the first cap + 1 objects: of owner 0 only (arg 0), or of owners 0
 * and 1 in turn (arg 1), starting at object MX_N / 2 of each. */
static int mx_free(void *arg)
{
	bool mixed = arg != NULL;
	struct tcache_bin *tb;

	dpm_free(dpm_malloc(16));   /* a tcache first */
	tb = &tcache_get(rte_lcore_id())->out[sc_size2class(64)];
	mx_cap = (unsigned int)((tb->empty - tb->full) / sizeof(void *));
	for (unsigned int i = 0; i <= mx_cap; i++) {
		unsigned int w = mixed ? i & 1 : 0, k = mixed ? i >> 1 : i;

		dpm_free(mx_objs[w][(mixed ? MX_N / 2 : 0) + k]);
	}
	cr_assert_eq(tcache_bin_ncached(tb), 1, "the full stack did not go home");
	return 0;
}

Test(tcache, a_full_outbound_stack_goes_home_to_each_owner)
{
	init_default();
	cr_assert_eq(rte_eal_remote_launch(mx_alloc, (void *)0, 1), 0);
	rte_eal_wait_lcore(1);
	cr_assert_eq(rte_eal_remote_launch(mx_alloc, (void *)1, 3), 0);
	rte_eal_wait_lcore(3);
	for (unsigned int w = 0; w < 2; w++)
		for (unsigned int i = 0; i < MX_N; i++)
			cr_assert_not_null(mx_objs[w][i]);
	struct bin *b0 = bin_of(mx_objs[0][0]), *b1 = bin_of(mx_objs[1][0]);

	cr_assert_neq(b0, b1, "lcores 1 and 3 share an arena");
	cr_assert(dpm_state.lcore_arena[2] != dpm_state.lcore_arena[1] &&
		  dpm_state.lcore_arena[2] != dpm_state.lcore_arena[3] &&
		  dpm_state.lcore_arena[4] != dpm_state.lcore_arena[1] &&
		  dpm_state.lcore_arena[4] != dpm_state.lcore_arena[3]);
	uint32_t x0 = b0->nxfer, x1 = b1->nxfer;

	/* One owner. */
	cr_assert_eq(rte_eal_remote_launch(mx_free, NULL, 2), 0);
	rte_eal_wait_lcore(2);
	cr_assert_leq(mx_cap + 1, MX_N / 2, "the test needs more objects");
	cr_assert_eq(b0->nxfer, x0 + mx_cap, "%u parked, want %u", b0->nxfer - x0, mx_cap);
	cr_assert_eq(b1->nxfer, x1);
	/* Exactly the first mx_cap freed, each once (in stack order). */
	for (unsigned int i = 0; i < mx_cap; i++) {
		void *p = b0->xfer[(b0->xfer_first + x0 + i) & b0->xfer_mask];
		unsigned int found = 0;

		for (unsigned int j = 0; j < mx_cap; j++)
			found += mx_objs[0][j] == p;
		cr_assert_eq(found, 1, "parked %p is not one of the objects freed", p);
		for (unsigned int j = 0; j < i; j++)
			cr_assert_neq(b0->xfer[(b0->xfer_first + x0 + j) & b0->xfer_mask], p, "%p parked twice", p);
	}
	/* Two owners, in turn. */
	cr_assert_eq(rte_eal_remote_launch(mx_free, (void *)1, 4), 0);
	rte_eal_wait_lcore(4);
	cr_assert_eq(b0->nxfer, x0 + mx_cap + (mx_cap + 1) / 2, "%u parked at lcore 1's arena",
		     b0->nxfer - x0 - mx_cap);
	cr_assert_eq(b1->nxfer, x1 + mx_cap / 2, "%u parked at lcore 3's arena", b1->nxfer - x1);
	dpm_fini();
}

/* A large class whose stack holds one object: a free onto the full stack
 * sends the cached one home first, so nothing is lost. */
Test(tcache, a_full_one_object_stack_flushes_before_it_takes_the_next)
{
	init_default();
	unsigned int cls = sc_size2class((size_t)1 << 20);
	void *p[3];
	struct dpm_class_stats cs;

	for (unsigned int i = 0; i < RTE_DIM(p); i++)
		p[i] = dpm_malloc((size_t)1 << 20);
	struct tcache_bin *tb = &self_tcache()->bins[cls];

	cr_assert_eq(tcache_large_capacity(cls), 1);
	for (unsigned int i = 0; i < RTE_DIM(p); i++)
		dpm_free(p[i]);
	cr_assert_eq(tcache_bin_ncached(tb), 1);
	cr_assert_eq(tcache_bin_obj(tb, 0), p[2], "the newest is kept");
	cr_assert_eq(dpm_stats_class(rte_socket_id(), cls, &cs), 0);
	cr_assert_eq(cs.curregs, 1, "%lu objects live or cached, 1 expected", cs.curregs);
	dpm_tcache_flush();
	cr_assert_eq(dpm_stats_class(rte_socket_id(), cls, &cs), 0);
	cr_assert_eq(cs.curregs, 0);
	dpm_fini();
}
