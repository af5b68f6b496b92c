/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * A burst that goes quiet: every lcore allocates a heavy-tailed mix (most
 * objects under 1 KiB, a few up to 32 KiB, ~1% up to 1 MiB, ~0.1% 1-6 MiB),
 * frees it all and flushes its tcache; then the process makes no dpmalloc
 * call and watches what it holds: memzones (all of the process's, and
 * dpmalloc's) and DPDK's heap, every 100 ms, until dpmalloc's spans are
 * back (or -t seconds pass).
 *
 *   build/examples/idle_return --no-huge -m 1024 --no-pci --no-shconf \
 *       --lcores='(0-7)@(0-1)' -- [-d span_decay_ms] [-n objects] [-t seconds]
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include <dpmalloc.h>

static unsigned int nobj = 2000;

static void count_zone(const struct rte_memzone *mz, void *arg)
{
	RTE_SET_USED(mz);
	(*(unsigned int *)arg)++;
}

/* dpmalloc's spans, all sockets. */
static unsigned long spans_held(void)
{
	struct dpm_socket_stats st;
	unsigned long spans = 0;

	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (dpm_stats_socket(s, &st) == 0)
			spans += st.spans;
	return spans;
}

/* Memzones of the process that are not dpmalloc's, or are dpmalloc's
 * spans on their way back (unlinked, being freed). */
static unsigned int zones_not_held(void)
{
	unsigned int zones = 0;

	rte_memzone_walk(count_zone, &zones);
	return zones - dpm_memzone_count();
}

/* One line: memzones, DPDK heap in use, dpmalloc's spans. */
static void show(double t, const char *what)
{
	struct rte_malloc_socket_stats heap;
	size_t heap_used = 0;
	unsigned int zones = 0;

	rte_memzone_walk(count_zone, &zones);
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (rte_malloc_get_socket_stats(s, &heap) == 0)
			heap_used += heap.heap_allocsz_bytes;
	printf("%5.1f s  %-28s memzones %3u (dpmalloc's %3u, %3lu of them spans)  DPDK heap in use %7.1f MiB\n",
	       t, what, zones, dpm_memzone_count(), spans_held(), heap_used / 1048576.0);
}

static int burst(void *arg)
{
	uint64_t x = rte_lcore_id() * 0x9e3779b97f4a7c15ull + 1;
	void **p = calloc(nobj, sizeof(*p));

	RTE_SET_USED(arg);
	if (p == NULL)
		return -1;
	for (unsigned int i = 0; i < nobj; i++) {
		unsigned int r;
		size_t size;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = (unsigned int)(x % 10000);
		size = r < 9400 ? 16 + x % 1008 : r < 9890 ? 1024 + x % 31744 :
		       r < 9990 ? 32768 + x % 1015808 : ((size_t)1 << 20) + x % (5u << 20);
		p[i] = dpm_malloc(size);
		if (p[i] != NULL)
			memset(p[i], 0x5a, size < 256 ? size : 256);
	}
	for (unsigned int i = 0; i < nobj; i++)
		dpm_free(p[i]);
	dpm_tcache_flush();
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	struct dpm_config cfg;
	double limit = 10, hz;
	unsigned int others;
	uint64_t t0;
	int ret, opt;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	dpm_config_defaults(&cfg);
	while ((opt = getopt(argc, argv, "d:n:t:")) != -1) {
		switch (opt) {
		case 'd': cfg.span_decay_ms = strtoull(optarg, NULL, 0); break;
		case 'n': nobj = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 't': limit = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: idle_return [EAL args] -- [-d span_decay_ms] [-n objects] [-t s]\n");
			return 2;
		}
	}
	if (dpm_init(&cfg) != 0) {
		fprintf(stderr, "dpm_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	printf("span_decay_ms %lu, %u objects on each of %u lcores\n",
	       (unsigned long)cfg.span_decay_ms, nobj, rte_lcore_count());
	hz = (double)rte_get_tsc_hz();
	others = zones_not_held();
	show(0, "before the burst");
	rte_eal_mp_remote_launch(burst, NULL, CALL_MAIN);
	rte_eal_mp_wait_lcore();
	t0 = rte_get_tsc_cycles();
	show(0, "burst freed, tcaches flushed");
	/* From here on, no dpmalloc call: statistics only (they decay
	 * nothing). A line each second, and one when the spans are back. */
	for (unsigned int second = 1;;) {
		double t;

		usleep(100 * 1000);
		t = (rte_get_tsc_cycles() - t0) / hz;
		if (spans_held() == 0 && zones_not_held() == others) {
			show(t, "every span back");
			break;
		}
		if (t >= limit) {
			show(t, "still held: giving up");
			break;
		}
		if (t >= second) {
			show(t, "idle, no call");
			second++;
		}
	}
	dpm_fini();
	rte_eal_cleanup();
	return 0;
}
