/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_BASE_H
#define DPM_BASE_H

/*
 * Base: a bump allocator for metadata (arenas, tcaches, radix-tree leaves,
 * span and huge descriptors), per socket so that metadata sits next to the
 * memory it describes. It takes blocks from the zone source, hands out
 * zeroed cache-line-aligned pieces and never frees them one by one;
 * base_fini() gives all blocks back at shutdown.
 */

#include <stddef.h>

/* Zeroed, cache-line-aligned, never freed. NULL when the socket is out of
 * memory. Thread-safe. */
void *base_alloc(int socket_id, size_t size);

/* Bytes of base blocks held by a socket. */
size_t base_footprint(int socket_id);

/* Number of zones held by base blocks. */
unsigned int base_zone_count(void);

/* Give every block back. Only at shutdown. */
void base_fini(void);

#endif /* DPM_BASE_H */
