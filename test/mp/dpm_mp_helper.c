/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * The two processes of test/integration/test_multiprocess.c.
 *
 *   dpm_mp_helper <EAL args> -- primary
 *     initialises dpmalloc, allocates, creates a "dpm" mempool, prints
 *     "primary: ready" and waits on stdin; at end of input it frees
 *     everything and exits 0.
 *   dpm_mp_helper <EAL args> --proc-type=secondary -- secondary
 *     checks that every dpmalloc call fails with ENOTSUP (and the mempool
 *     driver refuses a pool) without touching the primary's objects;
 *     prints "secondary: ok" and exits 0, or names the first failed check
 *     and exits 1.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

#include <dpmalloc.h>
#include <dpm_mempool.h>

#define CHECK(cond, what) do { \
	if (!(cond)) { \
		printf("secondary: FAILED %s (rte_errno %d: %s)\n", what, \
		       rte_errno, rte_strerror(rte_errno)); \
		return 1; \
	} \
} while (0)

static int
primary(void)
{
	struct rte_mempool *mp;
	char line[16];
	void *p;

	if (dpm_mempool_ops_index() < 0 || dpm_init(NULL) != 0) {
		printf("primary: init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	p = dpm_malloc(1000);
	mp = rte_mempool_create_empty("dpm_mp_pool", 512, 256, 0, 0,
				      SOCKET_ID_ANY, 0);
	if (p == NULL || mp == NULL ||
	    rte_mempool_set_ops_byname(mp, DPM_MEMPOOL_OPS_NAME, NULL) != 0 ||
	    rte_mempool_populate_default(mp) != 512) {
		printf("primary: allocation failed\n");
		return 1;
	}
	printf("primary: ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL)
		;
	rte_mempool_free(mp);
	dpm_free(p);
	dpm_fini();
	return 0;
}

static int
secondary(void)
{
	struct dpm_socket_stats st;
	struct rte_mempool *mp;
	void *ptrs[4];

	CHECK(rte_eal_process_type() == RTE_PROC_SECONDARY, "process type");
	CHECK(dpm_mempool_ops_index() >= 0, "the driver's ops registered");
	rte_errno = 0;
	CHECK(dpm_init(NULL) == -1 && rte_errno == ENOTSUP, "dpm_init");
	rte_errno = 0;
	CHECK(dpm_malloc(64) == NULL && rte_errno == ENOTSUP, "dpm_malloc");
	rte_errno = 0;
	CHECK(dpm_zmalloc_socket(64, SOCKET_ID_ANY) == NULL && rte_errno == ENOTSUP,
	      "dpm_zmalloc_socket");
	rte_errno = 0;
	CHECK(dpm_aligned_alloc(4096, 100) == NULL && rte_errno == ENOTSUP,
	      "dpm_aligned_alloc");
	rte_errno = 0;
	CHECK(dpm_malloc_bulk(ptrs, 4, 64) == 0 && rte_errno == ENOTSUP,
	      "dpm_malloc_bulk");
	rte_errno = 0;
	CHECK(dpm_stats_socket(0, &st) == -1 && rte_errno == ENOTSUP,
	      "dpm_stats_socket");
	rte_errno = 0;
	CHECK(dpm_trim() == 0 && rte_errno == ENOTSUP, "dpm_trim");
	CHECK(!dpm_owns(&st), "dpm_owns");
	dpm_free(NULL);
	dpm_tcache_flush();

	/* The primary's pool is there, but a new "dpm" pool is refused. */
	CHECK(rte_mempool_lookup("dpm_mp_pool") != NULL, "lookup of the primary's pool");
	mp = rte_mempool_create_empty("dpm_mp_sec", 64, 64, 0, 0, SOCKET_ID_ANY, 0);
	CHECK(mp != NULL, "rte_mempool_create_empty");
	CHECK(rte_mempool_set_ops_byname(mp, DPM_MEMPOOL_OPS_NAME, NULL) == 0,
	      "set_ops_byname");
	CHECK(rte_mempool_populate_default(mp) == -ENOTSUP, "populate refused");
	rte_mempool_free(mp);
	printf("secondary: ok\n");
	return 0;
}

int
main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	int rc;

	if (n < 0) {
		printf("%s: rte_eal_init: %s\n", argv[0], rte_strerror(rte_errno));
		return 2;
	}
	argc -= n;
	argv += n;
	if (argc == 2 && strcmp(argv[1], "primary") == 0)
		rc = primary();
	else if (argc == 2 && strcmp(argv[1], "secondary") == 0)
		rc = secondary();
	else
		rc = 2;
	fflush(stdout);
	rte_eal_cleanup();
	return rc;
}
