/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_PLACEMENT_H
#define DPM_PLACEMENT_H

/*
 * What the kernel says about placement, through libnuma: where a page
 * really is (move_pages in query mode), and binding a span to its node
 * (mbind) where DPDK cannot place it, as under --no-huge.
 */

#include <stddef.h>

/*
 * The NUMA node holding the page of addr (the page must have been touched).
 * Returns the node, or a negative errno: -ENOTSUP where the kernel or
 * libnuma cannot tell, -ENOENT for a page not yet present.
 */
int numa_page_node(const void *addr);

/*
 * Bind [addr, addr + size) to node socket_id and move its pages there.
 * Returns 0, or a negative errno (-ENODEV when the machine has no such
 * node); logs the first failure per socket.
 */
int numa_bind_span(void *addr, size_t size, int socket_id);

#endif /* DPM_PLACEMENT_H */
