/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "base.h"
#include "rtree.h"

/* Never written: what unused root entries point at. */
static struct rtree_leaf rtree_empty_leaf;

#define RTREE_ROOT_LEN ((size_t)1 << RTREE_ROOT_BITS)

/* Until rtree_reset() first runs, a constructor points the root at the
 * empty leaf, so look-ups before any set-up find nothing. */
struct dpm_fp_leaf *dpm_fp_rtree_root[RTREE_ROOT_LEN];

static_assert(RTREE_KEY_BITS == DPM_FP_RTREE_KEY_BITS && RTREE_LEAF_BITS == DPM_FP_RTREE_LEAF_BITS,
	      "fast-path mirror");
static_assert(DPM_FP_RTREE_TAG_MASK < RTE_CACHE_LINE_SIZE, "descriptors are cache-line aligned");
static_assert(RTE_MAX_NUMA_NODES <= (1 << (DPM_FP_RTREE_INDEX_SHIFT - DPM_FP_RTREE_SOCKET_SHIFT)) &&
	      ((uint64_t)RTE_MAX_LCORE << DPM_FP_RTREE_INDEX_SHIFT) < ((uint64_t)1 << DPM_LG_CHUNK),
	      "an arena tag (socket, index < RTE_MAX_LCORE) fits below the chunk size");
static_assert((DPM_FP_RTREE_TAG_NONE & DPM_FP_RTREE_ARENA) == 0 && (DPM_FP_RTREE_TAG_NONE & DPM_FP_RTREE_TAG_MASK) != 0,
	      "no entry is a chunk plus the tag of a tcache without an arena");

static void rtree_root_clear(void)
{
	for (size_t i = 0; i < RTREE_ROOT_LEN; i++)
		__atomic_store_n(&rtree_root[i], &rtree_empty_leaf, __ATOMIC_RELEASE);
}

RTE_INIT(rtree_boot)
{
	rtree_root_clear();
}

/* Serialises writers; readers never take it. */
static pthread_mutex_t rtree_write_lock = PTHREAD_MUTEX_INITIALIZER;

/* Leaf for key, created on demand. Called with the write lock. */
static struct rtree_leaf *rtree_leaf_get_locked(uintptr_t key, int socket_id)
{
	struct rtree_leaf **slot = &rtree_root[key >> RTREE_LEAF_BITS];
	struct rtree_leaf *leaf = *slot;

	if (leaf == &rtree_empty_leaf) {
		leaf = base_alloc(socket_id, sizeof(*leaf));  /* zeroed */
		if (leaf == NULL)
			return NULL;
		__atomic_store_n(slot, leaf, __ATOMIC_RELEASE);
	}
	return leaf;
}

static int rtree_set_entry(const void *addr, size_t nchunks, uintptr_t entry, int socket_id)
{
	uintptr_t key = (uintptr_t)addr >> DPM_LG_CHUNK;
	int rc = 0;

	if ((key + nchunks - 1) >> RTREE_KEY_BITS)
		return -EINVAL;
	pthread_mutex_lock(&rtree_write_lock);
	for (size_t i = 0; i < nchunks; i++, key++) {
		struct rtree_leaf *leaf;

		if (entry == 0) {               /* unmapping never creates leaves */
			leaf = rtree_root[key >> RTREE_LEAF_BITS];
			if (leaf == &rtree_empty_leaf)
				continue;
		} else {
			leaf = rtree_leaf_get_locked(key, socket_id);
		}
		if (leaf == NULL) {
			rc = -ENOMEM;
			break;
		}
		__atomic_store_n(&leaf->entry[key & (RTREE_LEAF_LEN - 1)], entry, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&rtree_write_lock);
	return rc;
}

int rtree_set(const void *addr, size_t nchunks, struct chunk_desc *desc, int socket_id)
{
	DPM_ASSERT(((uintptr_t)desc & DPM_FP_RTREE_TAG_MASK) == 0);
	return rtree_set_entry(addr, nchunks, (uintptr_t)desc, socket_id);
}

int rtree_set_arena(void *chunk, uintptr_t tag, int socket_id)
{
	DPM_ASSERT((tag & DPM_FP_RTREE_ARENA) != 0 && tag < DPM_CHUNK);
	return rtree_set_entry(chunk, 1, (uintptr_t)chunk + tag, socket_id);
}

void rtree_reset(void)
{
	pthread_mutex_lock(&rtree_write_lock);
	rtree_root_clear();
	pthread_mutex_unlock(&rtree_write_lock);
}
