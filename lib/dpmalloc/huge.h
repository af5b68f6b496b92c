/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_HUGE_H
#define DPM_HUGE_H

/*
 * Huge objects: at least one chunk, whole chunks of their own, aligned to
 * the chunk (or more). The radix tree maps each of their chunks to one
 * descriptor from base (kind CHUNK_HUGE, arena_socket -1), so every
 * interior pointer is recognised as ours and refused by free. The arena
 * passed in accounts the object and recycles descriptors.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* usize bytes (whole chunks, at least one: sc_classify() rounded them) of
 * the arena's socket, aligned to align (>= chunk). NULL with rte_errno =
 * ENOMEM. */
void *huge_malloc(struct arena *a, size_t usize, size_t align);

/* Free the object described by desc (validated by the caller). */
void huge_dalloc(struct chunk_desc *desc);

/* Shrink in place by giving back tail chunks. Returns true if done. */
bool huge_ralloc_shrink(struct chunk_desc *desc, size_t size);

/* Add the arena's huge counters. */
void huge_stats_add(struct arena *a, uint64_t *nmalloc, uint64_t *nfree, uint64_t *bytes);

#endif /* DPM_HUGE_H */
