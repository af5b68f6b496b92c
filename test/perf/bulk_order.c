/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * bulk_order: dpm_free_bulk() with its pointers in one of three orders,
 * for counting the instructions it takes per object under callgrind
 * (devtools/bulk-order-insns.sh), where timings on a shared machine are
 * too noisy to tell a few instructions apart. It allocates 64 x SPREAD
 * objects of SIZE bytes, picks 64 of them and, ITERS times (environment,
 * default 20000) in 7 repetitions, frees them with one dpm_free_bulk() and
 * takes them back with one dpm_malloc_bulk(). ORDER:
 *   page     the 64 in allocation order (page order; SPREAD should be 1)
 *   few      a random pick kept in its order: random over the objects'
 *            pages (with SPREAD 1, the 1-4 pages of 64 objects)
 *   many     a random pick, reshuffled every round (SPREAD pages' worth)
 * Prints the best repetition's TSC cycles per object, for what they are
 * worth on a quiet machine.
 *
 *   bulk_order [EAL options] -- SIZE SPREAD page|few|many
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dpmalloc.h"

#define N 64

int
main(int argc, char **argv)
{
	int r = rte_eal_init(argc, argv);
	void **all, *p[N], *q[N];
	unsigned int idx[N], spread, pool;
	uint64_t seed = 12345, best = UINT64_MAX;
	bool page, many;
	size_t size;
	int iters;

	if (r < 0) {
		fprintf(stderr, "bulk_order: rte_eal_init failed\n");
		return 1;
	}
	argc -= r;
	argv += r;
	if (argc != 4) {
		fprintf(stderr, "usage: bulk_order [EAL options] -- SIZE SPREAD page|few|many\n");
		return 1;
	}
	size = strtoul(argv[1], NULL, 0);
	spread = (unsigned int)atoi(argv[2]);
	page = strcmp(argv[3], "page") == 0;
	many = strcmp(argv[3], "many") == 0;
	if (!page && !many && strcmp(argv[3], "few") != 0) {
		fprintf(stderr, "bulk_order: order %s: page, few or many\n", argv[3]);
		return 1;
	}
	iters = getenv("ITERS") != NULL ? atoi(getenv("ITERS")) : 20000;
	pool = N * (spread > 0 ? spread : 1);
	all = calloc(pool, sizeof(void *));
	if (all == NULL)
		return 1;
	for (unsigned int i = 0; i < pool; i++)
		if ((all[i] = dpm_malloc(size)) == NULL)
			return 1;
	for (unsigned int i = 0; i < N; i++) {
		unsigned int j, k;

		do {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			j = (unsigned int)((seed >> 33) % pool);
			for (k = 0; k < i && idx[k] != j; k++)
				;
		} while (k < i);
		idx[i] = j;
		p[i] = page ? all[i] : all[j];
	}
	for (int rep = 0; rep < 7; rep++) {
		uint64_t t0 = rte_rdtsc_precise(), t;

		for (int it = 0; it < iters; it++) {
			dpm_free_bulk(p, N);
			if (dpm_malloc_bulk(q, N, size) != N)
				return 1;
			/* The stack hands the set back in the order it was
			 * freed, reversed: page and few keep it, many
			 * reshuffles it. */
			for (unsigned int i = 0; i < N; i++)
				p[i] = q[many ? (i * 37) % N : i];
		}
		t = rte_rdtsc_precise() - t0;
		if (t < best)
			best = t;
	}
	printf("bulk_order: %zu B, spread %u, %s: %.2f cycles per object (free+alloc bulk)\n",
	       size, spread, argv[3], (double)best / ((double)iters * N));
	for (unsigned int i = 0; i < N; i++)
		dpm_free(p[i]);
	for (unsigned int i = 0; i < pool; i++) {
		unsigned int k;

		for (k = 0; k < N && idx[k] != i; k++)
			;
		if (page ? i >= N : k == N)
			dpm_free(all[i]);
	}
	free(all);
	rte_eal_cleanup();
	return 0;
}
