/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Huge objects: whole chunks, each mapped in the radix tree to one
 * descriptor, so interior pointers are recognised as ours (and refused by
 * free) and the object's start is desc->addr. The arena that allocates one
 * accounts it (counters under its lock) and recycles its descriptors.
 */

#include <errno.h>

#include "base.h"
#include "chunk.h"
#include "huge.h"
#include "rtree.h"

void *huge_malloc(struct arena *a, size_t usize, size_t align)
{
	size_t nchunks = usize >> DPM_LG_CHUNK;
	struct chunk_desc *desc;
	void *addr;

	DPM_ASSERT(nchunks > 0 && (usize & DPM_CHUNK_MASK) == 0 && usize <= SC_SIZE_MAX);
	dpm_lock(&a->lock);
	desc = a->huge_spare;
	if (desc != NULL)
		a->huge_spare = desc->next;
	dpm_unlock(&a->lock);
	if (desc == NULL) {
		desc = base_alloc(a->socket_id, sizeof(*desc));
		if (desc == NULL) {
			rte_errno = ENOMEM;
			return NULL;
		}
	}
	addr = chunk_alloc(a->socket_id, nchunks, RTE_MAX(align, DPM_CHUNK), true);
	if (addr != NULL) {
		desc->arena = a;
		desc->addr = addr;
		desc->size = nchunks << DPM_LG_CHUNK;
		desc->socket_id = a->socket_id;
		desc->arena_socket = -1;
		desc->kind = CHUNK_HUGE;
		desc->next = NULL;
		if (rtree_set(addr, nchunks, desc, a->socket_id) != 0) {
			rtree_set(addr, nchunks, NULL, a->socket_id);
			chunk_dealloc(a->socket_id, addr, nchunks);
			addr = NULL;
		}
	}
	dpm_lock(&a->lock);
	if (addr != NULL) {
		a->huge_nmalloc++;
		a->huge_bytes += desc->size;
	} else {
		desc->next = a->huge_spare;
		a->huge_spare = desc;
	}
	dpm_unlock(&a->lock);
	if (addr == NULL)
		rte_errno = ENOMEM;
	return addr;
}

void huge_dalloc(struct chunk_desc *desc)
{
	struct arena *a = desc->arena;
	size_t nchunks = desc->size >> DPM_LG_CHUNK;
	void *addr = desc->addr;

	rtree_set(addr, nchunks, NULL, a->socket_id);
	chunk_dealloc(a->socket_id, addr, nchunks);
	dpm_lock(&a->lock);
	a->huge_nfree++;
	a->huge_bytes -= desc->size;
	desc->next = a->huge_spare;
	a->huge_spare = desc;
	dpm_unlock(&a->lock);
}

bool huge_ralloc_shrink(struct chunk_desc *desc, size_t size)
{
	struct arena *a = desc->arena;
	size_t old_n = desc->size >> DPM_LG_CHUNK;
	size_t new_n = DPM_ALIGN_UP(size, DPM_CHUNK) >> DPM_LG_CHUNK;
	uintptr_t tail;

	if (new_n >= old_n || new_n == 0)
		return new_n == old_n;
	tail = (uintptr_t)desc->addr + (new_n << DPM_LG_CHUNK);
	rtree_set((void *)tail, old_n - new_n, NULL, a->socket_id);
	chunk_dealloc(a->socket_id, (void *)tail, old_n - new_n);
	dpm_lock(&a->lock);
	a->huge_bytes -= (old_n - new_n) << DPM_LG_CHUNK;
	desc->size = new_n << DPM_LG_CHUNK;
	dpm_unlock(&a->lock);
	return true;
}

void huge_stats_add(struct arena *a, uint64_t *nmalloc, uint64_t *nfree, uint64_t *bytes)
{
	dpm_lock(&a->lock);
	*nmalloc += a->huge_nmalloc;
	*nfree += a->huge_nfree;
	*bytes += a->huge_bytes;
	dpm_unlock(&a->lock);
}
