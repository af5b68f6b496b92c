/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_RTREE_H
#define DPM_RTREE_H

/*
 * Radix tree from a chunk's address to its descriptor.
 *
 *   address bits:  47 ........ 34 | 33 ........ 21 | 20 ....... 0
 *                  root index      leaf index       offset in chunk
 *                  (RTREE_ROOT_BITS, (RTREE_LEAF_BITS, (DPM_LG_CHUNK)
 *                   14 for 2 MiB)     13 for 2 MiB)
 *
 * The root is a static array; leaves come from base and are never freed.
 * Unused root entries point at one static empty leaf, so a look-up needs
 * no test for a missing leaf: its entries are all NULL.
 * Readers take no lock: a leaf is published with a release store after it
 * is zeroed, and an entry is published with a release store after the
 * descriptor it points to is complete, so a reader that sees a pointer sees
 * what it points to. Writers serialise on one lock. An address outside the
 * tree's range, or whose leaf or entry is unset, is not ours.
 */

#include <stdint.h>

#include "dpm_fp.h"
#include "dpm_private.h"

struct chunk_desc;

#define RTREE_KEY_BITS (DPM_LG_VADDR - DPM_LG_CHUNK)
#define RTREE_LEAF_BITS (RTREE_KEY_BITS / 2)
#define RTREE_ROOT_BITS (RTREE_KEY_BITS - RTREE_LEAF_BITS)
#define RTREE_LEAF_LEN ((size_t)1 << RTREE_LEAF_BITS)

/* The tree is dpm_fp.h's dpm_fp_rtree_root (the inline free reads it);
 * entries name struct chunk_desc addresses: a huge object's as is, an arena
 * chunk's as its base (the descriptor is DPM_FP_DESC_OFFSET above) plus its arena's tag, an odd number below the chunk
 * size (see struct dpm_fp_leaf). */
#define rtree_leaf dpm_fp_leaf
#define rtree_root dpm_fp_rtree_root

/* The tag of arena index of socket_id's chunks (dpm_fp.h). */
static inline uintptr_t rtree_arena_tag(int socket_id, unsigned int index)
{
	return DPM_FP_RTREE_ARENA | (uintptr_t)socket_id << DPM_FP_RTREE_SOCKET_SHIFT |
	       (uintptr_t)index << DPM_FP_RTREE_INDEX_SHIFT;
}

/* The descriptor an entry names: in an arena chunk, at DPM_FP_DESC_OFFSET
 * from its base (the entry without its tag); a huge object's descriptor
 * as is (NULL for none). */
static inline struct chunk_desc *rtree_entry_desc(uintptr_t entry)
{
	if (entry & DPM_FP_RTREE_ARENA)
		return (struct chunk_desc *)((entry & ~(((uintptr_t)1 << DPM_LG_CHUNK) - 1)) +
					     DPM_FP_DESC_OFFSET);
	return (struct chunk_desc *)entry;
}

/* Descriptor of the chunk holding addr, or NULL. Lock-free. */
static inline struct chunk_desc *rtree_lookup(const void *addr)
{
	uintptr_t key = (uintptr_t)addr >> DPM_LG_CHUNK;
	struct rtree_leaf *leaf;

	if (unlikely(key >> RTREE_KEY_BITS))
		return NULL;
	leaf = __atomic_load_n(&rtree_root[key >> RTREE_LEAF_BITS], __ATOMIC_ACQUIRE);
	return rtree_entry_desc(__atomic_load_n(&leaf->entry[key & (RTREE_LEAF_LEN - 1)], __ATOMIC_ACQUIRE));
}

/* Map nchunks chunks from addr to desc (NULL unmaps). 0 or -ENOMEM (no
 * memory for a leaf) or -EINVAL (address out of range). desc must be
 * cache-line aligned (the entry's low bits are tags). */
int rtree_set(const void *addr, size_t nchunks, struct chunk_desc *desc, int socket_id);

/* Map an arena chunk (its base; the descriptor is at DPM_FP_DESC_OFFSET) with its arena's tag
 * (rtree_arena_tag()), so that the inline free recognises a chunk of the
 * lcore's own arena with one compare. */
int rtree_set_arena(void *chunk, uintptr_t tag, int socket_id);

/* Forget every mapping (leaves stay allocated until base_fini()). Also
 * the set-up: points every root entry at the empty leaf. */
void rtree_reset(void);

#endif /* DPM_RTREE_H */
