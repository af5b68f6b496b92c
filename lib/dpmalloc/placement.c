/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <string.h>

#include "dpm_private.h"
#include "placement.h"

int numa_page_node(const void *addr)
{
	void *page = (void *)DPM_ALIGN_DOWN((uintptr_t)addr, DPM_PAGE);
	int status = -1;

	if (numa_available() < 0)
		return -ENOTSUP;
	/* nodes == NULL: query only, nothing moves. */
	if (move_pages(0, 1, &page, NULL, &status, 0) != 0)
		return errno == ENOSYS || errno == EPERM ? -ENOTSUP : -errno;
	if (status < 0)
		return status == -ENOENT ? -ENOENT : -ENOTSUP;
	return status;
}

/* One warning per socket is enough to tell the user. */
static bool numa_bind_warned[RTE_MAX_NUMA_NODES];

int numa_bind_span(void *addr, size_t size, int socket_id)
{
	uintptr_t start = DPM_ALIGN_UP((uintptr_t)addr, DPM_PAGE);
	uintptr_t end = DPM_ALIGN_DOWN((uintptr_t)addr + size, DPM_PAGE);
	struct bitmask *mask;
	int rc = 0;

	if (numa_available() < 0 || socket_id > numa_max_node() ||
	    !numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned int)socket_id)) {
		rc = -ENODEV;
	} else {
		mask = numa_allocate_nodemask();
		numa_bitmask_setbit(mask, (unsigned int)socket_id);
		if (end > start &&
		    mbind((void *)start, end - start, MPOL_BIND, mask->maskp, mask->size + 1, MPOL_MF_MOVE) != 0)
			rc = -errno;
		numa_free_nodemask(mask);
	}
	if (rc != 0 && !__atomic_exchange_n(&numa_bind_warned[socket_id], true, __ATOMIC_RELAXED))
		DPM_LOG(WARNING, "cannot bind spans of socket %d (%p, %zu bytes) to its NUMA node (%s): "
			"pages stay where DPDK put them", socket_id, addr, size,
			rc == -ENODEV ? "no such node" : strerror(-rc));
	return rc;
}
