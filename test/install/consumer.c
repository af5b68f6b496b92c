/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * A third-party program built against an installed dpmalloc with nothing
 * but pkg-config (devtools/ci.d/20-build-kinds.sh): it initialises EAL and
 * dpmalloc, goes through the header's inline fast paths and the exported
 * calls, and prints "consumer: ok".
 */

#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include <dpmalloc.h>

int
main(int argc, char **argv)
{
	void *p, *q;

	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "consumer: rte_eal_init: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	if (dpm_init(NULL) != 0) {
		fprintf(stderr, "consumer: dpm_init: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	p = dpm_malloc(100);           /* the inline fast path */
	q = dpm_zmalloc_socket(5000, SOCKET_ID_ANY);
	if (p == NULL || q == NULL || !dpm_owns(p) ||
	    dpm_usable_size(q) < 5000) {
		fprintf(stderr, "consumer: allocation failed\n");
		return 1;
	}
	memset(p, 0xa5, 100);
	dpm_free(p);
	dpm_free_sized(q, 5000);
	dpm_fini();
	rte_eal_cleanup();
	printf("consumer: ok\n");
	return 0;
}
