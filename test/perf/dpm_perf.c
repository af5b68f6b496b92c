/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * dpm_perf: dpmalloc next to rte_malloc, rte_mempool, glibc, jemalloc,
 * mimalloc and tcmalloc, in one process and one run.
 *
 *   dpm_perf [EAL options] -- [--smoke] [--csv PATH] [--reps N] ...
 *
 * It is a benchmark, not a test: it fails only when it cannot run at all
 * (EAL, options, the CSV file), never on a timing. See usage() for the
 * options and devtools/bench.sh for the way it is meant to be run.
 */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <dpmalloc.h>

#include "perf.h"

struct perf_options perf_opt;
volatile sig_atomic_t perf_stopping;

/*
 * SIGTERM (timeout(1)) or SIGINT: finish the measurement under way, skip
 * the rest, and still print and write what was measured.
 */
static void
perf_on_signal(int sig)
{
	RTE_SET_USED(sig);
	perf_stopping = 1;
}

/*
 * The workloads: name for --workloads, selection bit, entry point, in the
 * order they run (see perf_run_all() for the one exception). One line
 * each, so that adding a workload touches this table and perf.h only.
 */
static const struct perf_workload_def {
	const char *name;
	unsigned int bit;
	void (*run)(struct perf_allocator *tab, unsigned int n);
} perf_workloads[] = {
	{ "footprint", PERF_W_FOOTPRINT, perf_run_footprint },
	{ "pair", PERF_W_PAIR, perf_run_pairs },
	{ "batch", PERF_W_BATCH, perf_run_batches },
	{ "burst", PERF_W_BURST, perf_run_bursts },
	{ "churn", PERF_W_CHURN, perf_run_churn },
	{ "pipeline", PERF_W_PIPELINE, perf_run_pipeline },
	{ "false_sharing", PERF_W_FALSE_SHARING, perf_run_false_sharing },
	{ "scaling", PERF_W_SCALING, perf_run_scaling },
	{ "scaling_local", PERF_W_SCALING_LOCAL, perf_run_scaling_local },
};

/* "pair,batch,...": the names of perf_workloads[], for usage(). */
static const char *
perf_workload_names(void)
{
	static char buf[256];
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < RTE_DIM(perf_workloads); i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
				i ? "," : "", perf_workloads[i].name);
	return buf;
}

static void
usage(const char *prog)
{
	printf("usage: %s [EAL options] -- [options]\n"
		"  --smoke              tiny counts: checks that everything runs (seconds)\n"
		"  --csv PATH           CSV output (default bench.csv)\n"
		"  --reps N             repetitions per measurement, median reported (default 7)\n"
		"  --iters N            pairs per repetition up to 4 KiB, fewer above (default 100000)\n"
		"  --budget-ms N        cap on one single-lcore repetition (default 50)\n"
		"  --duration-ms N      length of one multi-lcore repetition (default 50)\n"
		"  --sizes LIST         pair sizes, e.g. 16,64,4K,1M (default: powers of\n"
		"                       two from 16 to 1M)\n"
		"  --batch-sizes LIST   batch object sizes (default 64,256)\n"
		"  --burst-size N       burst workload object size (default 64)\n"
		"  --burst-range A-B    objects per burst (default 400-1600)\n"
		"  --pipe-size N        pipeline record size (default 64)\n"
		"  --fs-iters N         false sharing: rounds per lcore (default 2000000)\n"
		"  --lcores LIST        lcore counts for scaling (default: powers of two\n"
		"                       up to the EAL lcore count, and that count)\n"
		"  --live N             churn live set per lcore (default 10000)\n"
		"  --remote-every N     scaling: every N-th free on another lcore (default 8)\n"
		"  --seed N             random seed (default 0x5eed)\n"
		"  --workloads LIST     of %s (default all)\n"
		"  --only LIST          allocators to run, of dpmalloc,dpmalloc_inline,\n"
		"                       dpmalloc_sized,rte_malloc,mempool_fixed,\n"
		"                       mempool_general,glibc,jemalloc,mimalloc,\n"
		"                       tcmalloc (default all)\n",
		prog, perf_workload_names());
}

/* A size with an optional K or M suffix; 0 when malformed. */
static size_t
perf_parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (end == s)
		return 0;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	return *end == '\0' || *end == ',' ? (size_t)v : 0;
}

/* A comma list of sizes into out[]; returns the count, 0 when malformed. */
static unsigned int
perf_parse_sizes(const char *s, size_t *out, unsigned int max)
{
	unsigned int n = 0;

	while (s != NULL && *s != '\0' && n < max) {
		out[n] = perf_parse_size(s);
		if (out[n++] == 0)
			return 0;
		s = strchr(s, ',');
		if (s != NULL)
			s++;
	}
	return n;
}

/* Workload names into enum perf_workload bits; 0 when one is unknown. */
static unsigned int
perf_parse_workloads(const char *s)
{
	unsigned int bits = 0, i;

	while (*s != '\0') {
		size_t len = strcspn(s, ",");

		for (i = 0; i < RTE_DIM(perf_workloads); i++)
			if (strlen(perf_workloads[i].name) == len &&
					strncmp(s, perf_workloads[i].name, len) == 0)
				break;
		if (i == RTE_DIM(perf_workloads))
			return 0;
		bits |= perf_workloads[i].bit;
		s += len + (s[len] == ',');
	}
	return bits;
}

/* "A-B" into two counts; -1 when malformed or out of range. */
static int
perf_parse_range(const char *s, unsigned int *lo, unsigned int *hi)
{
	char *end;

	*lo = (unsigned int)strtoul(s, &end, 0);
	if (*end != '-')
		return -1;
	*hi = (unsigned int)strtoul(end + 1, &end, 0);
	return *end == '\0' && *lo > 0 && *lo <= *hi &&
		*hi <= PERF_BURST_MAX ? 0 : -1;
}

/* Defaults: the full run, or tiny counts for --smoke. */
static void
perf_defaults(bool smoke)
{
	/* The smoke run keeps one size per kind of path. */
	static const size_t smoke_sizes[] = { 16, 64, 4096, 32768, 65536, 1 << 20 };
	struct perf_options *o = &perf_opt;
	unsigned int i;

	memset(o, 0, sizeof(*o));
	o->smoke = smoke;
	o->csv_path = "bench.csv";
	o->reps = smoke ? 5 : 7;
	o->iters = smoke ? 200 : 100000;
	o->rep_budget_ms = smoke ? 5 : 50;
	o->duration_ms = smoke ? 5 : 50;
	if (smoke) {
		for (i = 0; i < RTE_DIM(smoke_sizes); i++)
			o->sizes[i] = smoke_sizes[i];
		o->nb_sizes = RTE_DIM(smoke_sizes);
	} else {
		/* Every power of two from 16 B to 1 MiB. */
		for (i = 0; i <= 16; i++)
			o->sizes[i] = (size_t)16 << i;
		o->nb_sizes = 17;
	}
	o->batch_sizes[0] = 64;
	o->batch_sizes[1] = 256;
	o->nb_batch_sizes = 2;
	o->nb_lcore_counts = 0;  /* perf_default_lcore_counts() after EAL */
	o->live = smoke ? 1000 : 10000;
	o->churn_min = 16;
	o->churn_max = 1024;
	o->pipe_size = 64;
	o->burst_size = 64;
	o->burst_min = 400;
	o->burst_max = 1600;
	o->fs_iters = smoke ? 2000 : 2000000;
	o->remote_every = 8;
	o->seed = 0x5eed;
	for (i = 0; i < RTE_DIM(perf_workloads); i++)
		o->workloads |= perf_workloads[i].bit;
	o->only = NULL;
}

/* Parse the options after the EAL's; -1 on an invalid one. */
static int
perf_parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "smoke", no_argument, NULL, 'S' },
		{ "csv", required_argument, NULL, 'c' },
		{ "reps", required_argument, NULL, 'r' },
		{ "iters", required_argument, NULL, 'i' },
		{ "budget-ms", required_argument, NULL, 'b' },
		{ "duration-ms", required_argument, NULL, 'd' },
		{ "sizes", required_argument, NULL, 's' },
		{ "batch-sizes", required_argument, NULL, 'B' },
		{ "burst-size", required_argument, NULL, 'z' },
		{ "burst-range", required_argument, NULL, 'Z' },
		{ "pipe-size", required_argument, NULL, 'p' },
		{ "fs-iters", required_argument, NULL, 'f' },
		{ "lcores", required_argument, NULL, 'l' },
		{ "live", required_argument, NULL, 'L' },
		{ "remote-every", required_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 'e' },
		{ "workloads", required_argument, NULL, 'w' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct perf_options *o = &perf_opt;
	size_t counts[PERF_MAX_LCORE_COUNTS];
	unsigned int i;
	int opt;

	/* --smoke changes the defaults, so it is looked for first. */
	perf_defaults(false);
	for (i = 1; i < (unsigned int)argc; i++)
		if (strcmp(argv[i], "--smoke") == 0)
			perf_defaults(true);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'S': break;
		case 'c': o->csv_path = optarg; break;
		case 'r': o->reps = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'i': o->iters = strtoull(optarg, NULL, 0); break;
		case 'b': o->rep_budget_ms = strtoull(optarg, NULL, 0); break;
		case 'd': o->duration_ms = strtoull(optarg, NULL, 0); break;
		case 's':
			o->nb_sizes = perf_parse_sizes(optarg, o->sizes, PERF_MAX_SIZES);
			if (o->nb_sizes == 0)
				return -1;
			break;
		case 'B':
			o->nb_batch_sizes = perf_parse_sizes(optarg, o->batch_sizes,
					PERF_MAX_SIZES);
			if (o->nb_batch_sizes == 0)
				return -1;
			break;
		case 'z': o->burst_size = perf_parse_size(optarg); break;
		case 'Z':
			if (perf_parse_range(optarg, &o->burst_min, &o->burst_max) < 0)
				return -1;
			break;
		case 'p': o->pipe_size = perf_parse_size(optarg); break;
		case 'f': o->fs_iters = strtoull(optarg, NULL, 0); break;
		case 'l':
			o->nb_lcore_counts = perf_parse_sizes(optarg, counts,
					PERF_MAX_LCORE_COUNTS);
			if (o->nb_lcore_counts == 0)
				return -1;
			for (i = 0; i < o->nb_lcore_counts; i++)
				o->lcore_counts[i] = (unsigned int)counts[i];
			break;
		case 'L': o->live = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'R': o->remote_every = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'e': o->seed = strtoull(optarg, NULL, 0); break;
		case 'w':
			o->workloads = perf_parse_workloads(optarg);
			if (o->workloads == 0)
				return -1;
			break;
		case 'o': o->only = optarg; break;
		default: return -1;
		}
	}
	if (o->reps == 0 || o->reps > PERF_MAX_REPS || o->iters == 0 ||
			o->live == 0 || o->remote_every == 0 ||
			o->duration_ms == 0 || o->pipe_size == 0 ||
			o->pipe_size > 256 || o->burst_size == 0 || o->fs_iters == 0)
		return -1;
	if (o->reps < 5)
		printf("note: --reps %u is below the 5 the medians are meant for\n",
				o->reps);
	return 0;
}

/*
 * Without --lcores: 1, 2, 4, ... up to the lcores EAL has, and that count
 * (--smoke: 1 and all).
 */
static void
perf_default_lcore_counts(void)
{
	struct perf_options *o = &perf_opt;
	unsigned int k, max = rte_lcore_count();

	if (o->nb_lcore_counts != 0)
		return;
	if (o->smoke) {
		/* The smoke run only needs one lcore and all of them. */
		o->lcore_counts[o->nb_lcore_counts++] = 1;
		if (max > 1)
			o->lcore_counts[o->nb_lcore_counts++] = max;
		return;
	}
	for (k = 1; k <= max && o->nb_lcore_counts < PERF_MAX_LCORE_COUNTS; k *= 2)
		o->lcore_counts[o->nb_lcore_counts++] = k;
	if (o->lcore_counts[o->nb_lcore_counts - 1] != max &&
			o->nb_lcore_counts < PERF_MAX_LCORE_COUNTS)
		o->lcore_counts[o->nb_lcore_counts++] = max;
}

/* The lcores, the CPUs each may run on, and the clock. */
static void
perf_print_setup(void)
{
	unsigned int lcore, cpu, i;

	printf("dpm_perf: dpmalloc header version %d, TSC %.3f GHz, %u lcores%s\n",
			DPM_VERSION, rte_get_tsc_hz() / 1e9, rte_lcore_count(),
			perf_opt.smoke ? ", SMOKE MODE (numbers meaningless)" : "");
	RTE_LCORE_FOREACH(lcore) {
		rte_cpuset_t set = rte_lcore_cpuset(lcore);

		printf("  lcore %u%s socket %u cpus", lcore,
				lcore == rte_get_main_lcore() ? " (main)" : "",
				rte_lcore_to_socket_id(lcore));
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &set))
				printf(" %u", cpu);
		printf("\n");
	}
	printf("  reps %u, iters %llu, budget %llu ms, duration %llu ms, live %u, "
			"seed 0x%llx\n", perf_opt.reps,
			(unsigned long long)perf_opt.iters,
			(unsigned long long)perf_opt.rep_budget_ms,
			(unsigned long long)perf_opt.duration_ms, perf_opt.live,
			(unsigned long long)perf_opt.seed);
	printf("  pipeline records %zu B, bursts %u-%u x %zu B, false sharing "
			"%llu rounds, remote free 1 in %u, lcore counts",
			perf_opt.pipe_size, perf_opt.burst_min, perf_opt.burst_max,
			perf_opt.burst_size, (unsigned long long)perf_opt.fs_iters,
			perf_opt.remote_every);
	for (i = 0; i < perf_opt.nb_lcore_counts; i++)
		printf("%s%u", i ? "," : " ", perf_opt.lcore_counts[i]);
	printf("\n");
}

static void
perf_print_allocators(const struct perf_allocator *tab, unsigned int n)
{
	unsigned int i;

	printf("allocators:\n");
	for (i = 0; i < n; i++)
		printf("  %-16s %s\n", tab[i].name, tab[i].note);
}

void
perf_dpm_config(struct dpm_config *cfg)
{
	const char *v = getenv("DPM_PERF_LARGE_BUDGET");

	dpm_config_defaults(cfg);
	if (v != NULL && *v != '\0')
		cfg->tcache_large_budget = strtoull(v, NULL, 0);
}

/* dpmalloc with its defaults (but DPM_PERF_LARGE_BUDGET); a failure only
 * disables its column. */
static void
perf_init_dpm(struct perf_allocator *dpm)
{
	struct dpm_config cfg;

	perf_dpm_config(&cfg);
	if (cfg.tcache_large_budget != (size_t)1 << 20)
		printf("dpmalloc: tcache_large_budget %zu\n", cfg.tcache_large_budget);
	if (dpm_init(&cfg) < 0 && rte_errno != EALREADY) {
		dpm->available = false;
		snprintf(dpm->note, sizeof(dpm->note), "skipped: dpm_init: %s",
				rte_strerror(rte_errno));
	}
}

/*
 * The workloads, each if selected, in the table's order. Footprint goes
 * first, even before the mempools are made: rte_malloc's figure is the
 * DPDK heap's growth, which means something only while no one has grown
 * the heap and left free memory in it.
 */
static void
perf_run_all(struct perf_allocator *tab, unsigned int n)
{
	unsigned int w = perf_opt.workloads, i;

	if (w & PERF_W_FOOTPRINT)
		perf_run_footprint(tab, n);
	if (perf_mempools_create(tab, n) < 0)
		printf("note: some mempools could not be created; "
				"the mempool columns skip what they lack\n");
	for (i = 0; i < RTE_DIM(perf_workloads); i++)
		if ((w & perf_workloads[i].bit) &&
				perf_workloads[i].bit != PERF_W_FOOTPRINT)
			perf_workloads[i].run(tab, n);
}

int
main(int argc, char **argv)
{
	struct perf_allocator tab[PERF_MAX_ALLOCATORS];
	unsigned int n;
	int ret, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			usage(argv[0]);
			return 0;
		}
	}
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "dpm_perf: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	if (perf_parse_args(argc, argv) < 0) {
		usage(argv[0]);
		rte_eal_cleanup();
		return 1;
	}
	perf_default_lcore_counts();
	perf_print_setup();
	n = perf_allocators_init(tab);
	perf_init_dpm(&tab[PERF_DPM_INDEX]);
	perf_print_allocators(tab, n);
	fflush(stdout);

	signal(SIGTERM, perf_on_signal);
	signal(SIGINT, perf_on_signal);
	perf_run_all(tab, n);
	if (perf_stopping)
		printf("\nnote: stopped by a signal: the remaining "
				"measurements were skipped\n");
	ret = perf_report() < 0 || perf_stopping;

	perf_mempools_free();
	dpm_fini();
	rte_eal_cleanup();
	return ret;
}
