/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Results: each measurement becomes one row (workload, parameter,
 * allocator, unit, median/min/max). Rows are kept until the end so that
 * ratios can be computed against dpmalloc's row of the same group, then
 * printed as a table and written as CSV with the same numbers.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "perf.h"

#define PERF_MAX_ROWS 1024

struct perf_row {
	char workload[24];
	char param[24];
	char allocator[24];
	char unit[24];
	struct perf_stat st;
	double ratio_to_dpm;     /**< this row's median / dpmalloc's; NAN if none */
	double ratio_to_1lcore;  /**< scaling only: median / median at 1 lcore */
};

static struct perf_row perf_rows[PERF_MAX_ROWS];
static unsigned int perf_nb_rows;

static int
perf_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct perf_stat
perf_stat_of(double *samples, unsigned int n)
{
	struct perf_stat st = { NAN, NAN, NAN };

	if (n == 0)
		return st;
	qsort(samples, n, sizeof(*samples), perf_cmp_double);
	st.min = samples[0];
	st.max = samples[n - 1];
	/* Even counts take the mean of the middle two. */
	st.median = n % 2 ? samples[n / 2] :
		(samples[n / 2 - 1] + samples[n / 2]) / 2.0;
	return st;
}

void
perf_record(const char *workload, const char *param, const char *allocator,
		const char *unit, struct perf_stat st)
{
	struct perf_row *r;

	if (perf_nb_rows == PERF_MAX_ROWS)
		return;
	r = &perf_rows[perf_nb_rows++];
	snprintf(r->workload, sizeof(r->workload), "%s", workload);
	snprintf(r->param, sizeof(r->param), "%s", param);
	snprintf(r->allocator, sizeof(r->allocator), "%s", allocator);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	r->st = st;
	r->ratio_to_dpm = NAN;
	r->ratio_to_1lcore = NAN;
}

/* The row of allocator in r's group (same workload, param, unit), or NULL. */
static const struct perf_row *
perf_find(const struct perf_row *r, const char *param, const char *allocator)
{
	unsigned int i;

	for (i = 0; i < perf_nb_rows; i++) {
		const struct perf_row *o = &perf_rows[i];

		if (strcmp(o->workload, r->workload) == 0 &&
				strcmp(o->unit, r->unit) == 0 &&
				strcmp(o->param, param) == 0 &&
				strcmp(o->allocator, allocator) == 0)
			return o;
	}
	return NULL;
}

/*
 * Rows in the workload order, whatever order they were measured in
 * (footprint runs first, on a DPDK heap no other workload has churned).
 */
static const char *const perf_order[] = {
	"pair", "batch_lifo", "batch_fifo", "bulk_lifo", "bulk_fifo", "burst",
	"churn", "pipeline", "pipeline_prefetch", "pipeline_bulk",
	"false_sharing", "scaling", "scaling_local", "footprint",
};
static unsigned int perf_sorted[PERF_MAX_ROWS];

static unsigned int
perf_rank(const char *workload)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(perf_order); i++)
		if (strcmp(perf_order[i], workload) == 0)
			return i;
	return RTE_DIM(perf_order);
}

/* Fill perf_sorted: row indexes by workload rank, stable within one. */
static void
perf_sort_rows(void)
{
	unsigned int rank, i, n = 0;

	for (rank = 0; rank <= RTE_DIM(perf_order); rank++)
		for (i = 0; i < perf_nb_rows; i++)
			if (perf_rank(perf_rows[i].workload) == rank)
				perf_sorted[n++] = i;
}

/* Ratios are literal: this row's median over the reference row's. */
static void
perf_fill_ratios(void)
{
	unsigned int i;

	for (i = 0; i < perf_nb_rows; i++) {
		struct perf_row *r = &perf_rows[i];
		const struct perf_row *ref = perf_find(r, r->param, "dpmalloc");

		if (ref != NULL && ref->st.median != 0)
			r->ratio_to_dpm = r->st.median / ref->st.median;
		if (strncmp(r->workload, "scaling", 7) == 0) {
			ref = perf_find(r, "1", r->allocator);
			if (ref != NULL && ref->st.median != 0)
				r->ratio_to_1lcore = r->st.median / ref->st.median;
		}
	}
}

/* A value in the unit's most readable form, right-aligned in 10 columns. */
static void
perf_fmt(char *buf, size_t len, const char *unit, double v)
{
	if (isnan(v))
		snprintf(buf, len, "%10s", "-");
	else if (strcmp(unit, "ops/s") == 0)
		snprintf(buf, len, "%9.3fM", v / 1e6);
	else if (strncmp(unit, "bytes", 5) == 0)
		snprintf(buf, len, "%7.2fMiB", v / (1024.0 * 1024.0));
	else if (strcmp(unit, "s") == 0)
		snprintf(buf, len, "%8.2fms", v * 1e3);
	else
		snprintf(buf, len, "%10.1f", v);
}

/* What each workload's rows mean, printed above its block. */
static const char *
perf_title(const char *workload)
{
	static const struct { const char *w, *t; } titles[] = {
		{ "pair", "alloc+write+free, cycles per pair (param = bytes)" },
		{ "batch_lifo", "64 allocs then 64 frees in reverse order, cycles per object" },
		{ "batch_fifo", "64 allocs then 64 frees in allocation order, cycles per object" },
		{ "bulk_lifo", "one bulk alloc of 64, one bulk free in reverse order, cycles per object" },
		{ "bulk_fifo", "one bulk alloc of 64, one bulk free in allocation order, cycles per object" },
		{ "burst", "bursts of 400-1600 objects allocated then freed, cycles per object (param = bytes)" },
		{ "churn", "random replacement in a live set, cycles per free+alloc (param = sizes)" },
		{ "pipeline", "lcore A allocs+writes, rte_ring bursts of 32, lcore B reads+frees: objects/s, consumer cycles/obj" },
		{ "pipeline_prefetch", "as pipeline, the consumer prefetching each burst first" },
		{ "pipeline_bulk", "as pipeline, one bulk alloc and one bulk free per burst" },
		{ "false_sharing", "2 lcores alloc+write+free 1 B, each starting from a neighbour's object: seconds" },
		{ "scaling", "churn on N lcores, 1 free in remote_every on another lcore: total ops/s (param = lcores)" },
		{ "scaling_local", "churn on N lcores, every free local: total ops/s (param = lcores)" },
		{ "footprint", "reserved/live on 8 lcores, mixed 16 B - 6 MiB sizes, a quarter freed remotely" },
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(titles); i++)
		if (strcmp(titles[i].w, workload) == 0)
			return titles[i].t;
	return "";
}

static void
perf_print_row(const struct perf_row *r, bool first_of_param)
{
	char med[32], min[32], max[32], ns[32], ratio[16], scale[16];
	bool cycles = strncmp(r->unit, "cycles", 6) == 0;

	perf_fmt(med, sizeof(med), r->unit, r->st.median);
	perf_fmt(min, sizeof(min), r->unit, r->st.min);
	perf_fmt(max, sizeof(max), r->unit, r->st.max);
	if (cycles)
		snprintf(ns, sizeof(ns), "%9.1f",
				r->st.median * 1e9 / (double)rte_get_tsc_hz());
	else
		snprintf(ns, sizeof(ns), "%9s", "");
	if (isnan(r->ratio_to_dpm))
		snprintf(ratio, sizeof(ratio), "%7s", "-");
	else
		snprintf(ratio, sizeof(ratio), "%7.2f", r->ratio_to_dpm);
	if (isnan(r->ratio_to_1lcore))
		scale[0] = '\0';
	else
		snprintf(scale, sizeof(scale), "%8.2f", r->ratio_to_1lcore);
	printf("%-12s %-16s %-15s %s %s %s %s %s%s\n",
			first_of_param ? r->param : "", r->allocator,
			strcmp(r->unit, "cycles/op") == 0 ? "" : r->unit, med, min, max, ns, ratio, scale);
}

static void
perf_print_table(void)
{
	const char *last_w = "", *last_p = "";
	unsigned int i;

	printf("\nratio = this allocator's median / dpmalloc's median: for cycles\n"
		"and bytes > 1 means dpmalloc does better, for ops/s < 1 does.\n");
	for (i = 0; i < perf_nb_rows; i++) {
		const struct perf_row *r = &perf_rows[perf_sorted[i]];
		bool new_w = strcmp(r->workload, last_w) != 0;

		if (new_w) {
			printf("\n== %s: %s ==\n", r->workload, perf_title(r->workload));
			printf("%-12s %-16s %-15s %10s %10s %10s %9s %7s%s\n",
					"param", "allocator", "unit", "median", "min",
					"max", "ns", "ratio",
					strncmp(r->workload, "scaling", 7) == 0 ?
					"  vs 1lc" : "");
		}
		perf_print_row(r, new_w || strcmp(r->param, last_p) != 0);
		last_w = r->workload;
		last_p = r->param;
	}
	fflush(stdout);
}

/* Empty CSV field for NAN, else the number. */
static void
perf_csv_num(FILE *f, double v, bool last)
{
	if (!isnan(v))
		fprintf(f, "%.6g", v);
	fputc(last ? '\n' : ',', f);
}

static int
perf_write_csv(const char *path)
{
	double hz = (double)rte_get_tsc_hz();
	unsigned int i;
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		return -1;
	}
	fprintf(f, "workload,param,allocator,unit,median,min,max,median_ns,"
			"ratio_to_dpm,ratio_to_1lcore\n");
	for (i = 0; i < perf_nb_rows; i++) {
		const struct perf_row *r = &perf_rows[perf_sorted[i]];
		bool cycles = strncmp(r->unit, "cycles", 6) == 0;

		fprintf(f, "%s,%s,%s,%s,", r->workload, r->param, r->allocator, r->unit);
		perf_csv_num(f, r->st.median, false);
		perf_csv_num(f, r->st.min, false);
		perf_csv_num(f, r->st.max, false);
		perf_csv_num(f, cycles ? r->st.median * 1e9 / hz : NAN, false);
		perf_csv_num(f, r->ratio_to_dpm, false);
		perf_csv_num(f, r->ratio_to_1lcore, true);
	}
	if (fclose(f) != 0) {
		perror(path);
		return -1;
	}
	printf("\nCSV written to %s\n", path);
	return 0;
}

int
perf_report(void)
{
	perf_fill_ratios();
	perf_sort_rows();
	perf_print_table();
	return perf_write_csv(perf_opt.csv_path);
}
