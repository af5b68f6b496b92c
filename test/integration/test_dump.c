/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * dpm_dump(): the report is printed into memory (open_memstream) and read
 * back: its sections are there, and the numbers in them are the
 * statistics' own.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(dump);

#define NOBJ 500

/* The report as a string (to free). */
static char *
dump_to_string(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(dpm_dump(f), 0, "dpm_dump: %s", rte_strerror(rte_errno));
	fclose(f);
	cr_assert_not_null(buf);
	return buf;
}

/* The line of report that starts (after blanks) with prefix, or NULL. */
static const char *
find_line(const char *report, const char *prefix)
{
	const char *l = report;

	while (l != NULL && *l != '\0') {
		const char *p = l;

		while (*p == ' ')
			p++;
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return p;
		l = strchr(l, '\n');
		if (l != NULL)
			l++;
	}
	return NULL;
}

/* The number after "key " in line. */
static uint64_t
after(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	cr_assert_not_null(p, "no \"%s\" in: %.200s", key, line);
	return strtoull(p + strlen(key), NULL, 10);
}

Test(dump, report_has_every_section_with_the_stats_numbers)
{
	struct dpm_socket_stats st;
	struct dpm_lcore_stats ls;
	void *objs[NOBJ];
	unsigned int i, cls = 0;
	int socket = (int)rte_socket_id();
	const char *line;
	char prefix[64];
	char *report;

	for (i = 0; i < NOBJ; i++) {
		objs[i] = dpm_malloc(64);
		cr_assert_not_null(objs[i]);
	}
	cr_assert_null(dpm_malloc((size_t)1 << 62));	/* one E2BIG */
	while (dpm_class_size(cls) < 64)
		cls++;

	report = dump_to_string();
	if (getenv("DPM_DUMP_SHOW") != NULL)	/* to look at the report */
		fputs(report, stderr);
	cr_assert_eq(dpm_stats_socket(socket, &st), 0);
	cr_assert_eq(dpm_stats_lcore(rte_lcore_id(), &ls), 0);

	cr_expect_not_null(find_line(report, "=== dpmalloc "), "%s", report);
	snprintf(prefix, sizeof(prefix), "== socket %d:", socket);
	cr_assert_not_null(find_line(report, prefix), "%s", report);

	line = find_line(report, "memory (bytes):");
	cr_assert_not_null(line, "%s", report);
	cr_expect_eq(after(line, "reserved "), st.bytes_reserved, "%s", report);
	cr_expect_eq(after(line, "metadata "), st.bytes_metadata, "%s", report);
	line = find_line(report, "objects:");
	cr_assert_not_null(line, "%s", report);
	cr_expect_eq(after(line, "nmalloc "), st.nmalloc, "%s", report);
	line = find_line(report, "failures:");
	cr_assert_not_null(line, "%s", report);
	cr_expect_geq(st.failed_e2big, 1);
	cr_expect_eq(after(line, "e2big "), st.failed_e2big, "%s", report);
	cr_expect_eq(after(line, "enomem "), st.failed_enomem, "%s", report);

	/* The class of 64 bytes: its row, with at least the live objects. */
	snprintf(prefix, sizeof(prefix), "%u %10zu ", cls, dpm_class_size(cls));
	line = find_line(report, prefix);
	cr_assert_not_null(line, "no row \"%s\" in %s", prefix, report);
	cr_expect_geq(strtoull(line + strlen(prefix), NULL, 10), NOBJ, "%s", line);
	cr_expect_not_null(strchr(line, '%'), "no utilisation in %s", line);

	/* This lcore's row: lcore, socket, hits, misses, flushes, gc, cached. */
	cr_assert_not_null(find_line(report, "== lcores"), "%s", report);
	snprintf(prefix, sizeof(prefix), "%u %6d ", rte_lcore_id(), ls.socket_id);
	line = find_line(report, prefix);
	cr_assert_not_null(line, "no row \"%s\" in %s", prefix, report);
	{
		uint64_t v[5];
		char *end = (char *)(uintptr_t)line + strlen(prefix);

		for (i = 0; i < 5; i++)
			v[i] = strtoull(end, &end, 10);
		cr_expect_eq(v[1], ls.tcache_fills, "%s", line);
		cr_expect_eq(v[4], ls.tcache_cached, "%s", line);
		cr_expect_eq(v[0] + v[1], ls.nmalloc, "%s", line);
	}
	cr_expect_not_null(find_line(report, "== cross-socket frees"), "%s", report);
	cr_expect_not_null(find_line(report, "=== end of dpmalloc report"), "%s", report);
	free(report);
	for (i = 0; i < NOBJ; i++)
		dpm_free(objs[i]);
}

Test(dump, refuses_null_and_an_uninitialised_library)
{
	rte_errno = 0;
	cr_expect_eq(dpm_dump(stdout), -1);
	cr_expect_eq(rte_errno, ENODEV, "%d", rte_errno);
	dpm_free(dpm_malloc(8));
	rte_errno = 0;
	cr_expect_eq(dpm_dump(NULL), -1);
	cr_expect_eq(rte_errno, EINVAL);
}
