/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Fault injection through the zone-source ops: a test-only source wraps the
 * one dpm_init() chose and fails reservations every Nth time, at random
 * (seeded), or only for metadata (base blocks, reserved page-aligned) or
 * only for spans (chunk-aligned). Nothing of it is in the library: the
 * wrapper replaces zone_source after dpm_init(), so the fast paths are the
 * product's.
 *
 * Under injected failures every call must succeed or return NULL with
 * rte_errno = ENOMEM, every object handed out must stay intact, and after
 * frees, tcache flushes and a trim no span may be left reserved (the
 * memzones DPDK holds are back to what they were, plus the metadata blocks
 * dpmalloc keeps until dpm_fini()). Once reservations succeed again the
 * allocator must serve everything.
 *
 * Also: the application using up RTE_MAX_MEMZONE with zones of its own
 * makes dpmalloc fail with ENOMEM and say in its log that the limit is the
 * cause, and it recovers once the application frees its zones.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_memzone.h>

#include "base.h"
#include "dpm_private.h"
#include "dpmalloc.h"
#include "zone.h"
#include "dpm_test.h"

DPM_TEST_SUITE(fault);

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

/* ---- the failing zone source ---- */

enum fault_mode {
	FAULT_OFF,
	FAULT_EVERY_NTH,   /* every nth reservation fails */
	FAULT_RANDOM,      /* each fails with probability percent/100 */
};

static struct {
	const struct zone_ops *inner;
	enum fault_mode mode;
	unsigned int nth;
	unsigned int percent;
	uint64_t seed;
	bool metadata;        /* reservations of metadata may fail */
	bool spans;           /* reservations of spans may fail */
	uint64_t calls;       /* reservations asked for (atomic) */
	uint64_t injected;    /* of those, failed here (atomic) */
} fault;

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static int fault_reserve(int socket_id, size_t size, size_t align, bool may_head, struct zone_span *out)
{
	/* spans are chunk-aligned; metadata blocks (base.c) page-aligned */
	bool is_span = align >= DPM_CHUNK;
	uint64_t n = __atomic_fetch_add(&fault.calls, 1, __ATOMIC_RELAXED) + 1;
	bool fail = false;

	if (is_span ? fault.spans : fault.metadata) {
		switch (fault.mode) {
		case FAULT_EVERY_NTH:
			fail = n % fault.nth == 0;
			break;
		case FAULT_RANDOM:
			fail = splitmix64(fault.seed + n) % 100 < fault.percent;
			break;
		case FAULT_OFF:
			break;
		}
	}
	if (fail) {
		__atomic_fetch_add(&fault.injected, 1, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	return fault.inner->reserve(socket_id, size, align, may_head, out);
}

static int fault_release(struct zone_span *span)
{
	return fault.inner->release(span);
}

static rte_iova_t fault_virt2iova(const struct zone_span *span, const void *addr)
{
	return fault.inner->virt2iova(span, addr);
}

static const struct zone_ops fault_ops = {
	.name = "fault",
	.reserve = fault_reserve,
	.release = fault_release,
	.virt2iova = fault_virt2iova,
};

/* Initialise dpmalloc with small spans (many reservations), then put the
 * failing source in front of its own. */
static void fault_install(enum fault_mode mode, bool metadata, bool spans)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.first_span_size = DPM_CHUNK;
	cfg.max_span_size = 2 * DPM_CHUNK;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
	fault.inner = zone_source;
	fault.mode = mode;
	fault.metadata = metadata;
	fault.spans = spans;
	__atomic_store_n(&fault.calls, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fault.injected, 0, __ATOMIC_RELAXED);
	zone_source = &fault_ops;
}

static void fault_off(void)
{
	fault.mode = FAULT_OFF;
}

/* ---- a workload that checks every answer ---- */

#define SLOTS 48
#define ROUNDS 300

struct lcore_result {
	unsigned int bad_errno;   /* NULL with something other than ENOMEM */
	unsigned int corrupt;     /* an object's pattern changed */
	unsigned int nulls;       /* NULL with ENOMEM */
	unsigned int ok;
	int last_bad_errno;
};

static struct lcore_result results[RTE_MAX_LCORE];

struct obj {
	void *p;
	size_t size;
	uint64_t seed;
};

/* Mostly small, some large, a few huge objects up to 5 MiB. */
static size_t pick_size(uint64_t *rnd)
{
	uint64_t r = dpm_test_rand(rnd);

	switch (r % 32) {
	case 0:
		return 2 * MIB + r % (3 * MIB);
	case 1: case 2: case 3:
		return 16 * KIB + r % (500 * KIB);
	default:
		return 1 + r % 3000;
	}
}

static void answer(struct lcore_result *res, void *p)
{
	if (p != NULL)
		res->ok++;
	else if (rte_errno == ENOMEM)
		res->nulls++;
	else {
		res->bad_errno++;
		res->last_bad_errno = rte_errno;
	}
}

static void obj_keep(struct lcore_result *res, struct obj *o, void *p, size_t size, uint64_t seed)
{
	if (o->p != NULL) {
		if (dpm_test_check(o->p, o->size, o->seed) != SIZE_MAX)
			res->corrupt++;
		dpm_free(o->p);
	}
	o->p = p;
	o->size = size;
	o->seed = seed;
	if (p != NULL)
		dpm_test_fill(p, size, seed);
}

static int workload(void *arg)
{
	struct lcore_result *res = &results[rte_lcore_id()];
	uint64_t rnd = 0x51afd7ed558ccd ^ (rte_lcore_id() + 1) ^ (uintptr_t)arg;
	struct obj objs[SLOTS] = { { 0 } };
	unsigned int round, i;

	memset(res, 0, sizeof(*res));
	for (round = 0; round < ROUNDS; round++) {
		struct obj *o = &objs[dpm_test_rand(&rnd) % SLOTS];
		size_t size = pick_size(&rnd);
		uint64_t seed = dpm_test_rand(&rnd);
		void *p = NULL;

		rte_errno = 0;
		switch (dpm_test_rand(&rnd) % 6) {
		case 0:
			p = dpm_malloc(size);
			break;
		case 1:
			p = dpm_zmalloc(size);
			if (p != NULL && dpm_test_first_nonzero(p, size) != SIZE_MAX)
				res->corrupt++;
			break;
		case 2:
			p = dpm_calloc(2, size / 2 + 1);
			break;
		case 3:
			p = dpm_aligned_alloc((size_t)64 << (dpm_test_rand(&rnd) % 10), size);
			break;
		case 4: {
			/* grow or shrink in place or by moving; on failure the
			 * old object must be untouched */
			if (o->p == NULL)
				continue;
			p = dpm_realloc(o->p, size);
			answer(res, p);
			if (p == NULL)
				continue;
			if (dpm_test_check(p, RTE_MIN(size, o->size), o->seed) != SIZE_MAX)
				res->corrupt++;
			o->p = NULL;
			obj_keep(res, o, p, size, seed);
			continue;
		}
		default: {
			void *ptrs[4];

			if (dpm_malloc_bulk(ptrs, 4, size % 4096 + 1) == 4) {
				res->ok++;
				dpm_free_bulk(ptrs, 4);
			} else {
				answer(res, NULL);
			}
			continue;
		}
		}
		answer(res, p);
		obj_keep(res, o, p, size, seed);
		if (round % 50 == 49)
			dpm_tcache_flush();
	}
	for (i = 0; i < SLOTS; i++)
		obj_keep(res, &objs[i], NULL, 0, 0);
	dpm_tcache_flush();
	return res->bad_errno != 0 || res->corrupt != 0;
}

/* Run the workload on every lcore; returns the summed results. */
static struct lcore_result run_workload(uintptr_t salt)
{
	struct lcore_result sum = { 0 };
	unsigned int lcore;

	dpm_test_run_on_all_lcores(workload, (void *)salt);
	RTE_LCORE_FOREACH(lcore) {
		sum.bad_errno += results[lcore].bad_errno;
		sum.corrupt += results[lcore].corrupt;
		sum.nulls += results[lcore].nulls;
		sum.ok += results[lcore].ok;
		if (results[lcore].bad_errno != 0)
			sum.last_bad_errno = results[lcore].last_bad_errno;
	}
	return sum;
}

static int flush_fn(void *arg)
{
	dpm_tcache_flush();
	return 0;
}

/* Everything is freed: flush every lcore, trim, and count what is left. */
static void assert_nothing_leaked(unsigned int memzones_before, unsigned int base_zones_before)
{
	struct dpm_socket_stats st;
	int s;

	dpm_test_run_on_all_lcores(flush_fn, NULL);
	dpm_trim();
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (dpm_stats_socket(s, &st) != 0)
			continue;
		cr_assert_eq(st.bytes_allocated, 0, "socket %d: %" PRIu64 " bytes still allocated", s,
			     st.bytes_allocated);
		cr_assert_eq(st.nmalloc, st.nfree, "socket %d: nmalloc %" PRIu64 ", nfree %" PRIu64, s,
			     st.nmalloc, st.nfree);
		cr_assert_eq(st.spans, 0, "socket %d: %" PRIu64 " spans left after trim", s, st.spans);
	}
	/* the zones DPDK holds: as before, plus metadata blocks kept by dpmalloc */
	cr_assert_eq(dpm_test_memzone_walk_count(),
		     memzones_before + (base_zone_count() - base_zones_before),
		     "%u memzones, %u before, %u metadata zones more", dpm_test_memzone_walk_count(),
		     memzones_before, base_zone_count() - base_zones_before);
}

/* Inject, check every answer and the contents, check nothing leaked, then
 * check the allocator serves everything once reservations succeed again. */
static void fault_run(enum fault_mode mode, bool metadata, bool spans)
{
	struct lcore_result r;
	unsigned int memzones, base_zones;

	fault_install(mode, metadata, spans);
	memzones = dpm_test_memzone_walk_count();
	base_zones = base_zone_count();

	r = run_workload(1);
	cr_assert_eq(r.bad_errno, 0, "%u NULLs with rte_errno other than ENOMEM (last %d: %s)",
		     r.bad_errno, r.last_bad_errno, rte_strerror(r.last_bad_errno));
	cr_assert_eq(r.corrupt, 0, "%u objects corrupted", r.corrupt);
	cr_assert_gt(__atomic_load_n(&fault.injected, __ATOMIC_RELAXED), 0,
		     "no reservation failed (%" PRIu64 " asked): the test injected nothing", fault.calls);
	cr_log_info("%" PRIu64 " of %" PRIu64 " reservations failed: %u calls served, %u ENOMEM",
		    fault.injected, fault.calls, r.ok, r.nulls);
	assert_nothing_leaked(memzones, base_zones);

	fault_off();
	r = run_workload(2);
	cr_assert_eq(r.nulls + r.bad_errno, 0, "after recovery: %u NULLs (%u not ENOMEM)",
		     r.nulls + r.bad_errno, r.bad_errno);
	cr_assert_eq(r.corrupt, 0, "after recovery: %u objects corrupted", r.corrupt);
	assert_nothing_leaked(memzones, base_zones);
}

Test(fault, every_second_reservation_failing_gives_enomem_and_leaks_nothing)
{
	fault.nth = 2;
	fault_run(FAULT_EVERY_NTH, true, true);
}

Test(fault, every_fifth_reservation_failing_gives_enomem_and_leaks_nothing)
{
	fault.nth = 5;
	fault_run(FAULT_EVERY_NTH, true, true);
}

Test(fault, random_reservation_failures_give_enomem_and_leak_nothing)
{
	fault.percent = 30;
	fault.seed = 20261126;
	fault_run(FAULT_RANDOM, true, true);
}

Test(fault, metadata_reservations_failing_give_enomem_and_leak_nothing)
{
	/* before any lcore has its tcache: those need metadata too */
	fault.nth = 1;
	fault_run(FAULT_EVERY_NTH, true, false);
}

Test(fault, span_reservations_failing_give_enomem_and_leak_nothing)
{
	fault.percent = 50;
	fault.seed = 7;
	fault_run(FAULT_RANDOM, false, true);
}

/* ---- RTE_MAX_MEMZONE used up by the application ---- */

#define APP_ZONES_MAX RTE_MAX_MEMZONE

Test(fault, memzones_used_up_by_the_application_give_enomem_and_a_log_line_naming_the_limit)
{
	static const struct rte_memzone *app[APP_ZONES_MAX];
	char name[RTE_MEMZONE_NAMESIZE], *logbuf = NULL, *line;
	size_t logsize = 0;
	unsigned int n, i;
	bool named = false;
	FILE *log;
	void *p;

	cr_assert_eq(dpm_init(NULL), 0);
	dpm_free(dpm_malloc(100));   /* metadata and a first span exist */

	for (n = 0; n < APP_ZONES_MAX; n++) {
		snprintf(name, sizeof(name), "app_zone_%u", n);
		app[n] = rte_memzone_reserve(name, 64, SOCKET_ID_ANY, 0);
		if (app[n] == NULL)
			break;
	}
	cr_assert_lt(n, APP_ZONES_MAX, "reserved %u zones without hitting the limit", n);

	log = open_memstream(&logbuf, &logsize);
	cr_assert_not_null(log);
	rte_openlog_stream(log);
	rte_errno = 0;
	p = dpm_malloc(64 * MIB);   /* needs a span: a memzone */
	rte_openlog_stream(NULL);
	fclose(log);

	cr_assert_null(p, "64 MiB served with every memzone taken");
	cr_assert_eq(rte_errno, ENOMEM, "rte_errno %d (%s)", rte_errno, rte_strerror(rte_errno));
	/* dpmalloc's own line (EAL logs one too), not only EAL's */
	for (line = logbuf; line != NULL && *line != '\0'; line = strchr(line, '\n')) {
		const char *end;

		line += *line == '\n';
		end = strchrnul(line, '\n');
		if (memmem(line, end - line, "dpmalloc", 8) != NULL &&
		    memmem(line, end - line, "RTE_MAX_MEMZONE", 15) != NULL)
			named = true;
	}
	cr_assert(named, "no dpmalloc log line names RTE_MAX_MEMZONE; the log was:\n%s",
		  logbuf != NULL ? logbuf : "");
	free(logbuf);

	for (i = 0; i < n; i++)
		rte_memzone_free(app[i]);
	p = dpm_malloc(64 * MIB);
	cr_assert_not_null(p, "no recovery once the application freed its zones: %s",
			   rte_strerror(rte_errno));
	dpm_free(p);
}

/* ---- metadata failures are logged once per run of failures ---- */

/* Lines of buf that contain what. */
static unsigned int count_lines(const char *buf, const char *what)
{
	unsigned int n = 0;

	for (const char *line = buf; line != NULL && *line != '\0'; line = strchr(line, '\n')) {
		const char *end;

		line += *line == '\n';
		end = strchrnul(line, '\n');
		n += memmem(line, end - line, what, strlen(what)) != NULL;
	}
	return n;
}

Test(fault, failing_metadata_logs_one_error_per_run_of_failures_and_a_notice_when_it_recovers)
{
	char *logbuf = NULL;
	size_t logsize = 0;
	uint32_t level = rte_log_get_level(dpm_logtype);
	unsigned int i, errors, recovered;
	FILE *log;
	void *p;

	fault_install(FAULT_EVERY_NTH, true, false);
	fault.nth = 1;
	log = open_memstream(&logbuf, &logsize);
	cr_assert_not_null(log);
	rte_log_set_level(dpm_logtype, RTE_LOG_NOTICE);   /* DEBUG lines stay out */
	rte_openlog_stream(log);
	/* more than any base block holds: each call must reserve, and fails */
	for (i = 0; i < 50; i++)
		cr_assert_null(base_alloc(0, 128 * MIB), "metadata served with every reservation failing");
	fault_off();
	p = base_alloc(0, 64);
	fault.mode = FAULT_EVERY_NTH;
	for (i = 0; i < 3; i++)
		base_alloc(0, 128 * MIB);
	fault_off();
	rte_openlog_stream(NULL);
	rte_log_set_level(dpm_logtype, level);
	fclose(log);

	cr_assert_not_null(p, "no metadata once reservations succeed again");
	errors = count_lines(logbuf, "no memory for");
	recovered = count_lines(logbuf, "again, after");
	cr_assert_eq(errors, 2, "%u lines for two runs of failures (50, then 3); the log was:\n%s",
		     errors, logbuf != NULL ? logbuf : "");
	cr_assert_eq(recovered, 1, "%u recovery lines; the log was:\n%s", recovered,
		     logbuf != NULL ? logbuf : "");
	cr_assert_not_null(strstr(logbuf, "after 50 failures"), "the log was:\n%s", logbuf);
	free(logbuf);
}
