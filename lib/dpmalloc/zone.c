/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/* Zone sources: DPDK memzones (the product) and anonymous memory (tests). */

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include <rte_eal.h>
#include <rte_memzone.h>
#include <rte_version.h>

#include "dpm_private.h"
#include "placement.h"
#include "zone.h"

const struct zone_ops *zone_source = &zone_memzone_ops;

/* Whether running out of memzone slots has been logged since init. */
static bool zone_max_logged;

void zone_select(const struct zone_ops *ops)
{
	zone_source = ops;
	__atomic_store_n(&zone_max_logged, false, __ATOMIC_RELAXED);
}

static void zone_count_one(const struct rte_memzone *mz, void *arg)
{
	RTE_SET_USED(mz);
	(*(unsigned int *)arg)++;
}

unsigned int zone_memzones_in_use(void)
{
	unsigned int n = 0;

	rte_memzone_walk(zone_count_one, &n);
	return n;
}

unsigned int zone_memzones_max(void)
{
#if RTE_VERSION >= RTE_VERSION_NUM(23, 7, 0, 0)
	return (unsigned int)rte_memzone_max_get();
#else
	return RTE_MAX_MEMZONE;
#endif
}

/* Memzone names must be unique process-wide and at most 31 characters. */
static unsigned int zone_name_seq;

static void zone_make_name(struct zone_span *out, int socket_id)
{
	unsigned int seq = __atomic_fetch_add(&zone_name_seq, 1, __ATOMIC_RELAXED);

	snprintf(out->name, sizeof(out->name), "dpm_s%d_%u", socket_id, seq);
}

/* A reservation failed for want of a memzone slot: no span of any size
 * can come, and only EAL's own line would name the limit. Said once at ERR
 * (later ones at DEBUG) so a loop of failures does not flood. */
static int zone_no_slot(int socket_id, size_t size)
{
	unsigned int used = zone_memzones_in_use(), max = zone_memzones_max();

	if (!__atomic_exchange_n(&zone_max_logged, true, __ATOMIC_RELAXED))
		DPM_LOG(ERR, "socket %d: no span of %zu MiB: all memzones are in use (%u of "
			"RTE_MAX_MEMZONE = %u, a DPDK build-time limit shared with rings and "
			"pools); free some, or raise RTE_MAX_MEMZONE", socket_id, size >> 20,
			used, max);
	else
		DPM_LOG(DEBUG, "socket %d: no span: RTE_MAX_MEMZONE (%u) reached", socket_id, max);
	return -ENOSPC;
}

/*
 * A headed span (zone.h): a memzone of size - DPM_FP_CHUNK_HEAD bytes,
 * cache-line aligned. When the heap grows for it, DPDK maps exactly its
 * pages (the zone and its element header fill them) and places the zone
 * at the end of the new memory, so it starts DPM_FP_CHUNK_HEAD bytes into
 * a chunk-aligned hugepage: the span is that chunk on. Anywhere else (a
 * free element of the heap had room, 4 KiB pages, legacy memory) the zone
 * is given back and -EAGAIN says to reserve the usual way. Only for
 * chunks of one hugepage (2 MiB, the default): bigger chunks are aligned
 * inside an over-sized zone.
 */
static int zone_memzone_reserve_headed(int socket_id, size_t size, struct zone_span *out)
{
	const struct rte_memzone *mz;

	zone_make_name(out, socket_id);
	mz = rte_memzone_reserve_aligned(out->name, size - DPM_FP_CHUNK_HEAD, socket_id, 0,
					 RTE_CACHE_LINE_SIZE);
	if (mz == NULL && rte_errno == ENOSPC)
		return zone_no_slot(socket_id, size);
	if (mz == NULL)
		return -(rte_errno != 0 ? rte_errno : ENOMEM);
	if (((uintptr_t)mz->addr & DPM_CHUNK_MASK) != DPM_FP_CHUNK_HEAD || mz->len < size - DPM_FP_CHUNK_HEAD) {
		DPM_LOG(DEBUG, "socket %d: zone %s at %p is not headed: reserved again, aligned",
			socket_id, out->name, mz->addr);
		rte_memzone_free(mz);
		return -EAGAIN;
	}
	out->raw = (void *)(uintptr_t)mz;
	out->raw_size = size - DPM_FP_CHUNK_HEAD;
	out->addr = (void *)((uintptr_t)mz->addr - DPM_FP_CHUNK_HEAD);
	out->size = size;
	out->head = DPM_FP_CHUNK_HEAD;
	out->socket_id = socket_id;
	return 0;
}

/*
 * Memzone source. Spans of 2 MiB chunks come headed when DPDK's heap
 * allows (above), else aligned to a chunk. DPDK can align a zone to at
 * most its page size (a bigger alignment fails with ENOMEM in the default
 * memory mode), so chunks bigger than 2 MiB are aligned inside an
 * over-sized zone instead. Any page size is accepted, so --no-huge and
 * machines without 1 GiB pages work; under --no-huge, where DPDK places no
 * memory by socket, the span is bound to its node with mbind.
 */
static int zone_memzone_reserve(int socket_id, size_t size, size_t align, bool may_head,
				struct zone_span *out)
{
	const struct rte_memzone *mz = NULL;
	size_t zone_align = align <= RTE_PGSIZE_2M ? align : RTE_CACHE_LINE_SIZE;
	size_t zone_size = align <= RTE_PGSIZE_2M ? size : size + align;
	int rc = -EAGAIN;

	out->head = 0;
	if (may_head && align == DPM_CHUNK && DPM_CHUNK == RTE_PGSIZE_2M && size >= DPM_CHUNK)
		rc = zone_memzone_reserve_headed(socket_id, size, out);
	if (rc == -EAGAIN) {
		zone_make_name(out, socket_id);
		mz = rte_memzone_reserve_aligned(out->name, zone_size, socket_id, 0,
						 (unsigned int)zone_align);
		if (mz == NULL && rte_errno == ENOSPC)
			return zone_no_slot(socket_id, size);
		if (mz == NULL)
			return -(rte_errno != 0 ? rte_errno : ENOMEM);
		out->raw = (void *)(uintptr_t)mz;
		out->raw_size = zone_size;
		out->addr = (void *)DPM_ALIGN_UP((uintptr_t)mz->addr, align);
		out->size = size;
		out->socket_id = socket_id;
		rc = 0;
	}
	/* Without hugepages DPDK ignores the socket argument: bind the span
	 * ourselves where the node exists (logged once where it cannot). */
	if (rc == 0 && !rte_eal_has_hugepages())
		numa_bind_span((uint8_t *)out->addr + out->head, out->size - out->head, socket_id);
	return rc;
}

static int zone_memzone_release(struct zone_span *span)
{
	int rc = rte_memzone_free(span->raw);

	if (rc != 0)
		DPM_LOG(ERR, "rte_memzone_free(%s) failed: %d", span->name, rc);
	return rc;
}

static rte_iova_t zone_memzone_virt2iova(const struct zone_span *span, const void *addr)
{
	/* Zones need not be IOVA-contiguous, so ask the memseg list. */
	return rte_mem_virt2iova(addr);
}

const struct zone_ops zone_memzone_ops = {
	.name = "memzone",
	.reserve = zone_memzone_reserve,
	.release = zone_memzone_release,
	.virt2iova = zone_memzone_virt2iova,
};

/*
 * Anonymous source: mmap with room to align, then unmap the slack. The
 * socket id is only a label; tests use it to simulate a topology. Spans of
 * chunks come headed when asked, as memzones do, with a pattern in the head that
 * stands for DPDK's element header: the release checks that nothing wrote
 * it (zone_head_damaged counts spans found otherwise).
 */
uint64_t zone_head_damaged;

static uint8_t zone_head_byte(uintptr_t start, size_t i)
{
	return (uint8_t)(0xd5 ^ (start >> 21) ^ (i * 29));
}

static int zone_anon_reserve(int socket_id, size_t size, size_t align, bool may_head, struct zone_span *out)
{
	size_t raw_size = size + align;
	void *raw = mmap(NULL, raw_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t start, end;

	if (raw == MAP_FAILED)
		return -ENOMEM;
	start = DPM_ALIGN_UP((uintptr_t)raw, align);
	end = start + size;
	if (start > (uintptr_t)raw)
		munmap(raw, start - (uintptr_t)raw);
	if ((uintptr_t)raw + raw_size > end)
		munmap((void *)end, (uintptr_t)raw + raw_size - end);
	zone_make_name(out, socket_id);
	out->raw = (void *)start;
	out->raw_size = size;
	out->addr = (void *)start;
	out->size = size;
	out->socket_id = socket_id;
	out->head = may_head && align >= DPM_CHUNK ? DPM_FP_CHUNK_HEAD : 0;
	for (size_t i = 0; i < out->head; i++)
		((uint8_t *)start)[i] = zone_head_byte(start, i);
	return 0;
}

static int zone_anon_release(struct zone_span *span)
{
	uintptr_t start = (uintptr_t)span->addr;

	for (size_t i = 0; i < span->head; i++) {
		if (((const uint8_t *)start)[i] != zone_head_byte(start, i)) {
			__atomic_fetch_add(&zone_head_damaged, 1, __ATOMIC_RELAXED);
			DPM_LOG(ERR, "span %s: its head (byte %zu) was written", span->name, i);
			break;
		}
	}
	return munmap(span->raw, span->raw_size) == 0 ? 0 : -errno;
}

static rte_iova_t zone_anon_virt2iova(const struct zone_span *span, const void *addr)
{
	return RTE_BAD_IOVA;
}

const struct zone_ops zone_anon_ops = {
	.name = "anon",
	.reserve = zone_anon_reserve,
	.release = zone_anon_release,
	.virt2iova = zone_anon_virt2iova,
};
