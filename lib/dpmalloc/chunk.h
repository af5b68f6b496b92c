/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_CHUNK_H
#define DPM_CHUNK_H

/*
 * Chunks and spans, per socket.
 *
 * A span is one zone reservation: a chunk-aligned run of whole chunks. A
 * headed span (zone.h) holds DPDK's header of its memzone in the first
 * DPM_FP_CHUNK_HEAD bytes: its first chunk serves arena chunks only, which
 * leave those bytes alone, and its memzone takes no hugepage beyond its
 * chunks.
 * Spans grow geometrically with the socket's footprint (first_span_size,
 * then doubling it up to 32 MiB, then spans of 32 MiB until it reaches
 * 256 MiB, then an eighth of the footprint each time, up to
 * max_span_size), so a 16 GiB footprint takes about 50 memzones and past
 * 256 MiB growth slack stays under an eighth. Each span keeps a bitmap of
 * its free chunks; spans are kept in address order. Placement is best fit:
 * single chunks take the lowest of the shortest free runs, multi-chunk
 * objects the best-fitting free run (from its top end), so the two do not
 * cut each other's free runs apart. Free
 * chunks are coalesced by construction (a run of set bits) and never
 * across spans, which come and go whole.
 *
 * A span whose chunks are all free is kept for reuse (a memzone costs
 * milliseconds) until dpm_trim(), or until it has been idle for
 * span_decay_ms, noticed by the decay alarm (decay.h), never on an lcore.
 *
 *   span:  | chunk | chunk | chunk | chunk | ... |
 *   bits:      0       1       1       0          (1 = free)
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_config.h>

struct chunk_socket_stats {
	uint64_t spans, spans_reserved, spans_returned;
	uint64_t bytes_reserved, bytes_retained;
	uint64_t chunks_used, enomem;
	uint64_t chunks_peak;      /* most chunks_used at once since init */
};

/* Span and limit settings (from struct dpm_config). */
struct chunk_config {
	size_t first_span_size;    /* first span of a socket */
	size_t max_span_size;      /* spans grow up to this */
	uint64_t span_decay_ms;    /* free spans go back after this; 0: never */
	size_t socket_limit[RTE_MAX_NUMA_NODES];  /* bytes per socket; 0: no cap */
};

/* Remember the span and limit settings. */
void chunk_boot(const struct chunk_config *cfg);

/*
 * nchunks contiguous chunks of socket_id aligned to align (a power of two,
 * at least DPM_CHUNK). whole: the caller owns them from their first byte
 * (a huge object), so not a headed span's first chunk, whose first
 * DPM_FP_CHUNK_HEAD bytes are DPDK's (zone.h); an arena chunk leaves them
 * alone and may take it. NULL with rte_errno = ENOMEM when the socket
 * cannot grow. Takes the socket's lock; may reserve a memzone.
 */
void *chunk_alloc(int socket_id, size_t nchunks, size_t align, bool whole);

/* Give chunks back to their span. */
void chunk_dealloc(int socket_id, void *addr, size_t nchunks);

/* Same, for chunks idle since idle_since (tsc) already: an arena's spare
 * chunk, whose idle time then counts towards its span's. */
void chunk_dealloc_idle(int socket_id, void *addr, size_t nchunks, uint64_t idle_since);

/* Release spans that are completely free (and, with idle_only, have been
 * for span_decay_ms). Returns the bytes released. */
size_t chunk_trim(int socket_id, bool idle_only);

void chunk_stats(int socket_id, struct chunk_socket_stats *out);

/* Call fn on every chunk in use on the socket, under the socket's lock
 * (diagnostics only). Returns the number of chunks visited. */
unsigned int chunk_walk_used(int socket_id, void (*fn)(void *chunk, void *arg), void *arg);

/* The idle time after which free spans go back, in TSC cycles (0: never). */
uint64_t chunk_decay_cycles_get(void);

/* Zones (memzones) held for spans, all sockets. */
unsigned int chunk_zone_count(void);

/* Release every span. Only at shutdown. */
void chunk_fini(void);

#endif /* DPM_CHUNK_H */
