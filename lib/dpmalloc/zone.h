/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_ZONE_H
#define DPM_ZONE_H

/*
 * Zone sources: where spans of memory come from. A span is one reservation,
 * chunk-aligned and a whole number of chunks; chunk.c carves it up.
 *
 * The default source reserves DPDK memzones. Memzones are few (2560 for the
 * whole process, shared with the application's rings and pools) and slow to
 * reserve (~15 ms for 64 MiB, with the socket's heap lock held), so callers
 * reserve big spans on slow paths only. The anonymous source labels mmap'd
 * memory with any socket id so tests can simulate sockets the machine does
 * not have.
 */

#include <stdbool.h>
#include <stddef.h>

#include <rte_memory.h>

#include "dpm_fp.h"

#define ZONE_NAME_LEN 32

/*
 * One reservation as the source made it. addr/size is the chunk-aligned
 * usable part; raw is what must be handed back. head (0 or
 * DPM_FP_CHUNK_HEAD) is how many bytes at addr are not the caller's: a
 * headed memzone starts that far into its first chunk, and DPDK's header
 * of its heap element sits before it, in that chunk. An arena chunk
 * leaves those bytes alone (dpm_fp.h), a huge object cannot, so chunk.c
 * gives the first chunk of a headed span to arenas only. It asks for one
 * (may_head) when an arena chunk makes the socket grow, and when a huge
 * object does on a socket without a limit, with the head chunk on top of
 * the span (so the objects fit as in an aligned span, whose header would
 * take that hugepage anyway). Under a socket_limit, which counts a head
 * chunk but not DPDK's hugepage, a span for a huge object comes aligned,
 * its first chunk the object's, so that the limit holds as many huge
 * objects as before.
 *
 * Why: a memzone aligned to a chunk puts that header in the hugepage
 * before the zone, so every span took one hugepage more than its chunks
 * (about 8% of the footprint on the mixed workload). A zone that starts
 * DPM_FP_CHUNK_HEAD bytes past a hugepage boundary, reserved as the
 * heap's growth by exactly its pages, takes none.
 */
struct zone_span {
	void *addr;
	size_t size;
	size_t head;
	int socket_id;
	void *raw;          /* const struct rte_memzone * or mmap base */
	size_t raw_size;
	char name[ZONE_NAME_LEN];
};

struct zone_ops {
	const char *name;
	/* Reserve size bytes (a chunk multiple) aligned to align on socket_id;
	 * with may_head, a span of chunks may come headed (out->head). Returns
	 * 0 or a negative errno. */
	int (*reserve)(int socket_id, size_t size, size_t align, bool may_head, struct zone_span *out);
	/* Give a span back. Returns 0 or a negative errno. */
	int (*release)(struct zone_span *span);
	/* IO address of addr inside span, or RTE_BAD_IOVA. */
	rte_iova_t (*virt2iova)(const struct zone_span *span, const void *addr);
};

extern const struct zone_ops zone_memzone_ops;
extern const struct zone_ops zone_anon_ops;

/* Spans of the anonymous source whose head was found written when they
 * were released (a bug: the head stands for DPDK's, see above). */
extern uint64_t zone_head_damaged;

/* The source in use, chosen at initialisation. */
extern const struct zone_ops *zone_source;

void zone_select(const struct zone_ops *ops);

/* Memzones of the whole process now (rte_memzone_walk()), and how many
 * there can be (RTE_MAX_MEMZONE, fixed when DPDK was built). */
unsigned int zone_memzones_in_use(void);
unsigned int zone_memzones_max(void);

/* Give a span back through the source in use. Watched builds unpoison it
 * first (its free chunks and pages are poisoned, see dpm_fp.h): the memory
 * goes back to DPDK or the kernel, whose next user must find it
 * addressable. */
static inline int zone_release(struct zone_span *span)
{
	DPM_FP_UNPOISON(span->addr, span->size);
	return zone_source->release(span);
}

#endif /* DPM_ZONE_H */
