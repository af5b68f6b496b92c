/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_common.h>

#include "base.h"
#include "dpm_private.h"
#include "zone.h"

/* First block: 256 KiB less a page for the memzone's header; later blocks
 * double. Eight lcores' tcaches and arenas take about 600 KiB. */
#define BASE_BLOCK_FIRST ((size_t)252 * 1024)
#define BASE_BLOCK_MAX ((size_t)64 << 20)

struct base_block {
	struct base_block *next;
	struct zone_span zone;
};

/* Per socket; lock covers every field. */
struct base_socket {
	dpm_lock_t lock;
	bool lock_ready;
	struct base_block *blocks;
	uintptr_t cursor, end;
	size_t next_block, footprint;
	unsigned int nblocks;
	uint64_t failures;         /* failed allocations since the last success */
};

static struct base_socket base_sockets[RTE_MAX_NUMA_NODES];
static pthread_mutex_t base_boot_lock = PTHREAD_MUTEX_INITIALIZER;

static struct base_socket *base_socket_get(int socket_id)
{
	struct base_socket *bs = &base_sockets[socket_id];

	if (unlikely(!__atomic_load_n(&bs->lock_ready, __ATOMIC_ACQUIRE))) {
		pthread_mutex_lock(&base_boot_lock);
		if (!bs->lock_ready) {
			dpm_lock_init(&bs->lock);
			bs->next_block = BASE_BLOCK_FIRST;
			__atomic_store_n(&bs->lock_ready, true, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&base_boot_lock);
	}
	return bs;
}

/* Add a block able to hold size bytes. Called with the socket's lock. */
static int base_grow_locked(struct base_socket *bs, int socket_id, size_t size)
{
	struct zone_span zone;
	size_t block = RTE_MAX(bs->next_block, DPM_ALIGN_UP(size + RTE_CACHE_LINE_SIZE * 2, DPM_PAGE));
	int rc = zone_source->reserve(socket_id, block, DPM_PAGE, false, &zone);
	struct base_block *b;

	if (rc != 0)
		return rc;
	memset(zone.addr, 0, zone.size);
	b = zone.addr;
	b->zone = zone;
	b->next = bs->blocks;
	bs->blocks = b;
	bs->cursor = DPM_ALIGN_UP((uintptr_t)(b + 1), RTE_CACHE_LINE_SIZE);
	bs->end = (uintptr_t)zone.addr + zone.size;
	/* Atomic stores: base_footprint() and base_zone_count() read them
	 * without the lock. */
	__atomic_store_n(&bs->footprint, bs->footprint + zone.size, __ATOMIC_RELAXED);
	__atomic_store_n(&bs->nblocks, bs->nblocks + 1, __ATOMIC_RELAXED);
	bs->next_block = RTE_MIN(block * 2, BASE_BLOCK_MAX);
	return 0;
}

void *base_alloc(int socket_id, size_t size)
{
	struct base_socket *bs = base_socket_get(socket_id);
	uint64_t failures;
	void *p = NULL;

	size = DPM_ALIGN_UP(size, RTE_CACHE_LINE_SIZE);
	dpm_lock(&bs->lock);
	if (bs->end - bs->cursor < size && base_grow_locked(bs, socket_id, size) != 0)
		goto out;
	p = (void *)bs->cursor;
	bs->cursor += size;
out:
	/* One ERR line per run of failures, not one per call: an exhausted
	 * socket is asked again on every allocation that needs metadata. */
	failures = bs->failures;
	bs->failures = p == NULL ? failures + 1 : 0;
	dpm_unlock(&bs->lock);
	if (p == NULL && failures == 0)
		DPM_LOG(ERR, "no memory for %zu bytes of metadata on socket %d "
			"(further failures are logged at DEBUG until one succeeds)", size, socket_id);
	else if (p == NULL)
		DPM_LOG(DEBUG, "no memory for %zu bytes of metadata on socket %d", size, socket_id);
	else if (failures != 0)
		DPM_LOG(NOTICE, "metadata memory on socket %d again, after %" PRIu64 " failures",
			socket_id, failures);
	return p;
}

size_t base_footprint(int socket_id)
{
	return __atomic_load_n(&base_sockets[socket_id].footprint, __ATOMIC_RELAXED);
}

unsigned int base_zone_count(void)
{
	unsigned int n = 0;

	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		n += __atomic_load_n(&base_sockets[s].nblocks, __ATOMIC_RELAXED);
	return n;
}

void base_fini(void)
{
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		struct base_socket *bs = &base_sockets[s];
		struct base_block *b = bs->blocks, *next;

		while (b != NULL) {
			struct zone_span zone = b->zone;

			next = b->next;
			zone_source->release(&zone);
			b = next;
		}
		bs->blocks = NULL;
		bs->cursor = bs->end = 0;
		bs->footprint = 0;
		bs->nblocks = 0;
		bs->failures = 0;
		bs->next_block = BASE_BLOCK_FIRST;
	}
}
