/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Memory back without being asked: after a burst is freed (and the lcores
 * flushed their tcaches), a process that makes no further dpmalloc call
 * gets its memzones back into DPDK's heap span_decay_ms later, through
 * EAL's alarm; with span_decay_ms = 0 nothing goes back on its own; and
 * dpm_fini() stops the alarm, however often it races it.
 *
 * The decay here is short (DECAY_MS); the check comes DECAY_MS + 1 s after
 * the last call, as a user of the default 5 s would wait 6 s.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(decay);

#define DECAY_MS 200

/* What DPDK and dpmalloc hold, to compare before the burst and after. */
struct held {
	unsigned int dpm_zones;        /* dpm_memzone_count() */
	unsigned int all_zones;        /* every memzone of the process */
	size_t heap_alloc;             /* DPDK heap bytes in use, all sockets */
	uint64_t spans;
};

static struct held
held_now(void)
{
	struct held h = { 0 };
	struct rte_malloc_socket_stats st;

	h.dpm_zones = dpm_memzone_count();
	h.all_zones = dpm_test_memzone_walk_count();
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (rte_malloc_get_socket_stats(s, &st) == 0)
			h.heap_alloc += st.heap_allocsz_bytes;
	h.spans = itest_stats_total().spans;
	return h;
}

/* A burst on one lcore: objects of every kind, all freed. With flush, the
 * lcore's tcache goes back too. */
struct burst {
	bool flush;
	unsigned int failed;
};

static int
burst_on_lcore(void *arg)
{
	enum { N = 400 };
	struct burst *b = arg;
	static const size_t sizes[] = { 48, 700, 3000, 12000, 40000, 300000 };
	void *p[N];
	unsigned int i;

	for (i = 0; i < N; i++) {
		/* one in 50 is huge (3 MiB): about 150 MiB over 8 lcores */
		size_t size = i % 50 == 0 ? 3 * ITEST_MIB : sizes[i % RTE_DIM(sizes)];

		p[i] = dpm_malloc(size);
		if (p[i] == NULL) {
			__atomic_fetch_add(&b->failed, 1, __ATOMIC_RELAXED);
			break;
		}
		memset(p[i], 0x5a, RTE_MIN(size, (size_t)4096));
	}
	while (i-- > 0)
		dpm_free(p[i]);
	if (b->flush)
		dpm_tcache_flush();
	return 0;
}

static void
burst_everywhere(bool flush)
{
	struct burst b = { .flush = flush };

	cr_assert_eq(dpm_test_run_on_all_lcores(burst_on_lcore, &b), 0);
	cr_assert_eq(b.failed, 0, "the burst could not allocate");
}

/*
 * dpm_init() with the decay given, then one burst everywhere, flushed and
 * trimmed: the metadata a burst needs (tcaches, descriptors, radix-tree
 * leaves: never returned before dpm_fini()) exists from then on, and what
 * is held is what an idle process holds.
 */
static void
init_with_decay(uint64_t decay_ms, size_t tcache_max)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.span_decay_ms = decay_ms;
	if (tcache_max != 0)
		cfg.tcache_max_size = tcache_max;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
	burst_everywhere(true);
	dpm_trim();
	cr_assert_eq(itest_stats_total().spans, 0, "a trim after the warm-up left spans");
}

/* Sleep span_decay_ms + 1 s with no dpmalloc call, then assert that no span
 * is held and that memzones and DPDK's heap are as they were in before. */
static void
assert_back_after_idle(const struct held *before)
{
	struct held after;

	usleep((DECAY_MS + 1000) * 1000);   /* no dpmalloc call meanwhile */
	after = held_now();
	cr_assert_eq(after.spans, 0, "%" PRIu64 " spans still held", after.spans);
	cr_assert_eq(after.dpm_zones, before->dpm_zones, "memzones: %u before, %u after",
		before->dpm_zones, after.dpm_zones);
	cr_assert_eq(after.all_zones, before->all_zones);
	cr_assert_eq(after.heap_alloc, before->heap_alloc,
		"DPDK heap in use: %zu before, %zu after", before->heap_alloc, after.heap_alloc);
}

Test(decay, memzones_and_dpdk_heap_are_back_after_span_decay_with_no_call)
{
	struct held before, peak;

	init_with_decay(DECAY_MS, 0);
	before = held_now();
	burst_everywhere(true);
	peak = held_now();
	cr_assert_gt(peak.dpm_zones, before.dpm_zones, "the burst reserved no span");

	assert_back_after_idle(&before);
	dpm_fini();
}

/* Large objects are not cached (tcache_max_size 16 KiB) and nothing is
 * flushed: what is left is each arena's spare chunk, which must not keep
 * its span. */
Test(decay, an_idle_arenas_spare_chunk_does_not_pin_its_span)
{
	struct held before;
	struct burst b = { .flush = false };
	unsigned int lcore;

	init_with_decay(DECAY_MS, 16 * ITEST_KIB);
	before = held_now();
	RTE_LCORE_FOREACH_WORKER(lcore) {
		cr_assert_eq(rte_eal_remote_launch(burst_on_lcore, &b, lcore), 0);
		rte_eal_wait_lcore(lcore);
	}
	cr_assert_eq(b.failed, 0);
	cr_assert_gt(held_now().spans, 0);
	/* Small objects sit in the lcores' tcaches: return those (a flush
	 * touches no arena's spare chunk) and leave the spares to the decay. */
	itest_flush_all_tcaches();
	assert_back_after_idle(&before);
	dpm_fini();
}

Test(decay, with_span_decay_zero_free_spans_stay_until_trim)
{
	struct held before, after;

	init_with_decay(0, 0);
	before = held_now();
	burst_everywhere(true);
	usleep(500 * 1000);
	after = held_now();
	cr_assert_gt(after.spans, 0, "spans went back with decay off");
	cr_assert_gt(after.dpm_zones, before.dpm_zones);
	cr_assert_gt(dpm_trim(), 0);
	cr_assert_eq(held_now().spans, 0);
	dpm_fini();
}

Test(decay, spans_are_kept_while_younger_than_span_decay)
{
	struct held after;

	init_with_decay(4000, 0);
	burst_everywhere(true);
	usleep(500 * 1000);   /* two alarm periods, an eighth of the decay */
	after = held_now();
	cr_assert_gt(after.spans, 0, "spans went back before span_decay_ms");
	dpm_fini();
}

/* dpm_fini() cancels the alarm: with a 1 ms period, init, a burst and fini
 * race it over and over; every memzone goes and no callback is left to run
 * on torn-down state (a leftover one would crash the process here). */
Test(decay, fini_cancels_the_alarm_however_it_races_it)
{
	unsigned int zones0 = dpm_test_memzone_walk_count();

	for (int round = 0; round < 20; round++) {
		init_with_decay(1, 0);
		burst_on_lcore(&(struct burst){ .flush = round % 2 == 0 });
		usleep((round % 4) * 1000);
		dpm_fini();
		cr_assert_eq(dpm_test_memzone_walk_count(), zones0, "round %d", round);
	}
	usleep(50 * 1000);
	cr_assert_eq(dpm_test_memzone_walk_count(), zones0);
}

/* A decay so long that span_decay_ms * (TSC cycles per ms) passes 2^64 is
 * never, not the few milliseconds the wrapped product was (found by an
 * audit of the API). */
Test(decay, a_decay_past_2_to_the_64_cycles_never_returns_spans)
{
	uint64_t per_ms = rte_get_tsc_hz() / 1000;
	struct dpm_socket_stats st;
	void *p;

	init_with_decay(UINT64_MAX / per_ms + 1, 0);
	p = dpm_malloc(6 * ITEST_MIB);
	cr_assert_not_null(p);
	dpm_free(p);
	usleep(600 * 1000);   /* the alarm runs twice meanwhile (every 250 ms) */
	st = itest_stats_total();
	cr_assert_gt(st.spans, 0, "a span went back although the decay is never");
	dpm_fini();
}
