/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Failures visible by cause: every allocation that returns NULL is counted
 * per socket by its rte_errno (ENOMEM, E2BIG, EINVAL); a socket's first
 * ENOMEM is logged once with what the socket holds; a span that cannot be
 * reserved because every memzone slot is taken names RTE_MAX_MEMZONE.
 *
 * The library's log is captured through rte_openlog_stream().
 */

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

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(failures);

static char *log_text;
static size_t log_len;
static FILE *log_stream;

/* Send DPDK's log (dpmalloc's included) to memory from now on. */
static void
log_capture_start(void)
{
	log_stream = open_memstream(&log_text, &log_len);
	cr_assert_not_null(log_stream);
	cr_assert_eq(rte_openlog_stream(log_stream), 0);
}

/* What was logged since log_capture_start(); DPDK logs to stderr again. */
static const char *
log_capture_text(void)
{
	fflush(log_stream);
	return log_text;
}

static void
log_capture_stop(void)
{
	rte_openlog_stream(NULL);
	fclose(log_stream);
	free(log_text);
	log_text = NULL;
}

static unsigned int
count_occurrences(const char *s, const char *pat)
{
	unsigned int n = 0;

	while (s != NULL && (s = strstr(s, pat)) != NULL) {
		n++;
		s += strlen(pat);
	}
	return n;
}

static struct dpm_socket_stats
socket_stats(int socket)
{
	struct dpm_socket_stats st;

	cr_assert_eq(dpm_stats_socket(socket, &st), 0, "stats of socket %d: %s", socket,
		rte_strerror(rte_errno));
	return st;
}

Test(failures, e2big_and_einval_failures_are_counted_by_cause_on_the_callers_socket)
{
	int socket = (int)rte_socket_id();
	volatile size_t too_big = SIZE_MAX;   /* hidden from alloc_size checks */
	struct dpm_socket_stats before, after;
	void *ptrs[1];
	int local;

	dpm_free(dpm_malloc(64));
	before = socket_stats(socket);

	cr_assert_null(dpm_malloc(too_big));
	cr_assert_eq(rte_errno, E2BIG);
	cr_assert_null(dpm_calloc(too_big / 2, 4));
	cr_assert_eq(rte_errno, E2BIG);
	cr_assert_null(dpm_aligned_alloc(64, too_big - 4096));
	cr_assert_eq(rte_errno, E2BIG);

	cr_assert_null(dpm_aligned_alloc(48, 64));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_null(dpm_malloc_socket(64, RTE_MAX_NUMA_NODES + 5));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_null(dpm_realloc(&local, 64));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(dpm_malloc_bulk(ptrs, 0, 64), 0);
	cr_assert_eq(rte_errno, EINVAL);

	after = socket_stats(socket);
	cr_assert_eq(after.failed_e2big - before.failed_e2big, 3);
	cr_assert_eq(after.failed_einval - before.failed_einval, 4);
	cr_assert_eq(after.failed_enomem, before.failed_enomem);
	/* a success counts nothing */
	dpm_free(dpm_malloc(100));
	dpm_free(dpm_aligned_alloc(4096, 100));
	after = socket_stats(socket);
	cr_assert_eq(after.failed_e2big - before.failed_e2big, 3);
	cr_assert_eq(after.failed_einval - before.failed_einval, 4);
}

/* A socket capped at 64 MiB (every socket, so the caller's is): 128 MiB
 * can come from no span. */
static void
init_with_a_64_mib_limit(void)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		cfg.socket_limit[s] = 64 * ITEST_MIB;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
}

Test(failures, enomem_is_counted_each_time_and_logged_once_with_what_the_socket_holds)
{
	int socket = (int)rte_socket_id();
	struct dpm_socket_stats st;
	void *live;
	const char *log;

	init_with_a_64_mib_limit();
	live = dpm_malloc(10 * ITEST_MIB);
	cr_assert_not_null(live);
	log_capture_start();
	for (int i = 0; i < 3; i++) {
		cr_assert_null(dpm_malloc(128 * ITEST_MIB));
		cr_assert_eq(rte_errno, ENOMEM);
	}
	cr_assert_null(dpm_zmalloc(100 * ITEST_MIB));
	cr_assert_eq(rte_errno, ENOMEM);
	st = socket_stats(socket);
	cr_assert_eq(st.failed_enomem, 4, "failed_enomem %" PRIu64, st.failed_enomem);
	cr_assert_eq(st.failed_e2big + st.failed_einval, 0);

	log = log_capture_text();
	cr_assert_eq(count_occurrences(log, "out of memory"), 1, "log:\n%s", log);
	cr_assert_not_null(strstr(log, "limit 64 MiB"), "log:\n%s", log);
	cr_assert_not_null(strstr(log, "MiB in live objects"), "log:\n%s", log);
	cr_assert_not_null(strstr(log, "memzones"), "log:\n%s", log);
	log_capture_stop();
	dpm_free(live);
}

Test(failures, a_span_refused_for_want_of_memzones_names_rte_max_memzone)
{
	static const struct rte_memzone *fill[RTE_MAX_MEMZONE];
	unsigned int nfill = 0, i;
	struct dpm_config cfg;
	const char *log;
	char name[32];
	void *p;

	/* One span of one chunk first, so the next big object needs another. */
	dpm_config_defaults(&cfg);
	cfg.first_span_size = ITEST_CHUNK;
	cfg.max_span_size = ITEST_CHUNK;
	cr_assert_eq(dpm_init(&cfg), 0);
	p = dpm_malloc(64);
	cr_assert_not_null(p);

	/* Take every memzone slot that is left. */
	for (;;) {
		snprintf(name, sizeof(name), "dpm_test_fill_%u", nfill);
		fill[nfill] = rte_memzone_reserve(name, 64, SOCKET_ID_ANY, 0);
		if (fill[nfill] == NULL)
			break;
		cr_assert_lt(++nfill, RTE_DIM(fill));
	}
	cr_assert_eq(rte_errno, ENOSPC, "the memzone table should be full: %s",
		rte_strerror(rte_errno));

	log_capture_start();
	rte_errno = 0;
	cr_assert_null(dpm_malloc(4 * ITEST_MIB));
	cr_assert_eq(rte_errno, ENOMEM);
	log = log_capture_text();
	cr_assert_not_null(strstr(log, "RTE_MAX_MEMZONE"), "log:\n%s", log);
	cr_assert_not_null(strstr(log, "all memzones are in use"), "log:\n%s", log);
	log_capture_stop();
	cr_assert_eq(itest_stats_total().failed_enomem, 1);

	/* With slots free again, the same request is served. */
	for (i = 0; i < nfill; i++)
		rte_memzone_free(fill[i]);
	p = dpm_malloc(4 * ITEST_MIB);
	cr_assert_not_null(p, "%s", rte_strerror(rte_errno));
	dpm_free(p);
}
