/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Mempool ops "dpm": a mempool whose objects, and the ring holding the free
 * ones, are dpmalloc memory of the pool's socket.
 *
 * How the object memory gets there. DPDK 22.11 gives a mempool driver no
 * "allocate the pool's memory" op: rte_mempool_populate_default() always
 * reserves memzones itself, sized by ops->calc_mem_size(), and hands each
 * one to ops->populate() through rte_mempool_populate_iova(). So:
 *
 *  1. calc_mem_size() asks for a token: one cache line (DPM_MP_ANCHOR_SIZE).
 *     populate_default() reserves that as a tiny memzone, the "anchor".
 *  2. populate() is called with the anchor. It is not dpmalloc memory, so
 *     populate() allocates the objects' memory from dpmalloc on
 *     mp->socket_id and adds it with rte_mempool_populate_iova() itself,
 *     one call per IOVA-contiguous run, the first run's memory header
 *     carrying the callback that dpm_free()s the block. That call comes
 *     back into populate(), now with dpmalloc memory, which is sliced into
 *     objects (no object crosses a page when the pool needs IOVA-contiguous
 *     objects and the IOVAs are physical addresses; in IOVA-as-VA mode
 *     every block is IOVA-contiguous and objects are packed).
 *  3. The outer populate() returns how many objects the inner calls added,
 *     so populate_default() sees the pool full and stops.
 *
 * Result: every object is dpmalloc memory (dpm_owns() is true for it), the
 * pool's memory list names the real blocks with their IOVA (what drivers
 * walk with rte_mempool_mem_iter() to map memory for DMA), and
 * rte_mempool_free() gives everything back: elements first, then memory
 * headers (dpm_free of the blocks, rte_memzone_free of the anchors), then
 * ops->free (the ring). The cost is one anchor memzone of 64 bytes per pool.
 * rte_mempool_populate_anon() and _virt()/_iova() with foreign memory work
 * the same way (the memory handed in is an anchor); memory handed in that
 * dpmalloc owns is used as is.
 *
 * The free objects sit in an rte_ring placed in dpmalloc memory with
 * rte_ring_init() (no memzone, no name to collide). A lock-free ring rather
 * than a locked stack: lcores may be oversubscribed, and a preempted lock
 * holder stalls every other lcore for a time slice.
 *
 * Pools must be freed before dpm_fini(), which invalidates their memory.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_memory.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <dpmalloc.h>

#include "dpm_mempool.h"

/* Size asked of populate_default() for the anchor memzone. */
#define DPM_MP_ANCHOR_SIZE RTE_MEMPOOL_ALIGN

static int dpm_mp_logtype = RTE_LOGTYPE_EAL;
#define DPM_MP_LOG(level, ...) \
	rte_log(RTE_LOG_ ## level, dpm_mp_logtype, \
		RTE_FMT("dpm_mempool: " RTE_FMT_HEAD(__VA_ARGS__,) "\n", \
			RTE_FMT_TAIL(__VA_ARGS__,)))

/* Index in rte_mempool_ops_table, or the registration's negative errno. */
static int dpm_mp_ops_idx = -EINVAL;

/* ops->alloc: the ring of free objects, in dpmalloc memory. */
static int
dpm_mp_alloc(struct rte_mempool *mp)
{
	unsigned int flags = RING_F_EXACT_SZ;
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;
	ssize_t size;
	int ret;

	/* dpmalloc serves the primary process only (its calls fail with
	 * ENOTSUP in a secondary): refuse the pool here, once, clearly. */
	if (rte_eal_process_type() == RTE_PROC_SECONDARY) {
		DPM_MP_LOG(ERR, "pool %s: the \"%s\" ops work in the primary process only",
			   mp->name, DPM_MEMPOOL_OPS_NAME);
		return -ENOTSUP;
	}

	if (mp->flags & RTE_MEMPOOL_F_SP_PUT)
		flags |= RING_F_SP_ENQ;
	if (mp->flags & RTE_MEMPOOL_F_SC_GET)
		flags |= RING_F_SC_DEQ;

	/* With RING_F_EXACT_SZ, rte_ring_init() uses the next power of two
	 * above mp->size slots, and the ring still holds exactly mp->size. */
	size = rte_ring_get_memsize(rte_align32pow2(mp->size + 1));
	if (size < 0)
		return (int)size;

	r = dpm_aligned_alloc_socket(RTE_CACHE_LINE_SIZE, (size_t)size,
				     mp->socket_id);
	if (r == NULL) {
		DPM_MP_LOG(ERR, "pool %s: no ring of %zd bytes on socket %d: %s",
			   mp->name, size, mp->socket_id,
			   rte_strerror(rte_errno));
		return -rte_errno;
	}

	/* The name is only for dumps: the ring is in no list. Truncate it
	 * rather than fail on a long pool name. */
	snprintf(name, sizeof(name), "dpm_%.*s", (int)sizeof(name) - 5,
		 mp->name);
	ret = rte_ring_init(r, name, mp->size, flags);
	if (ret < 0) {
		dpm_free(r);
		return ret;
	}
	mp->pool_data = r;
	return 0;
}

/* ops->free: the ring; the objects' blocks went with the memory headers. */
static void
dpm_mp_free(struct rte_mempool *mp)
{
	dpm_free(mp->pool_data);
	mp->pool_data = NULL;
}

static int
dpm_mp_enqueue(struct rte_mempool *mp, void * const *obj_table,
	       unsigned int n)
{
	return rte_ring_enqueue_bulk(mp->pool_data, obj_table, n, NULL) == 0 ?
		-ENOBUFS : 0;
}

/* -ENOENT: what rte_mempool_get() documents for an empty pool. */
static int
dpm_mp_dequeue(struct rte_mempool *mp, void **obj_table, unsigned int n)
{
	return rte_ring_dequeue_bulk(mp->pool_data, obj_table, n, NULL) == 0 ?
		-ENOENT : 0;
}

static unsigned int
dpm_mp_get_count(const struct rte_mempool *mp)
{
	return rte_ring_count(mp->pool_data);
}

/* ops->calc_mem_size: only the anchor (see the file comment). */
static ssize_t
dpm_mp_calc_mem_size(const struct rte_mempool *mp __rte_unused,
		     uint32_t obj_num __rte_unused,
		     uint32_t pg_shift __rte_unused,
		     size_t *min_chunk_size, size_t *align)
{
	/* min_chunk_size == size: populate_default() reserves the anchor
	 * IOVA-contiguous and hands it over in one piece. */
	*min_chunk_size = DPM_MP_ANCHOR_SIZE;
	*align = RTE_MEMPOOL_ALIGN;
	return DPM_MP_ANCHOR_SIZE;
}

/*
 * IO address of addr as EAL knows it (the memseg), or as dpmalloc knows it
 * for memory that is not a memseg; RTE_BAD_IOVA when there is none.
 */
static rte_iova_t
dpm_mp_iova(const void *addr)
{
	const struct rte_memseg *ms = rte_mem_virt2memseg(addr, NULL);

	if (ms != NULL && ms->iova != RTE_BAD_IOVA)
		return ms->iova + RTE_PTR_DIFF(addr, ms->addr);
	return dpm_virt2iova(addr);
}

/*
 * The page size objects must not straddle, 0 for none. As DPDK's
 * rte_mempool_get_page_size(), except in IOVA-as-VA mode: there the IOVA
 * of any virtually contiguous block is contiguous too, so objects may cross
 * pages. That spares the padding DPDK's own populate pays at each page
 * (with --no-huge's 4 KiB pages, 42% of an mbuf pool).
 */
static int
dpm_mp_page_size(struct rte_mempool *mp, size_t *pg_sz)
{
	if (rte_eal_iova_mode() == RTE_IOVA_VA) {
		*pg_sz = 0;
		return 0;
	}
	return rte_mempool_get_page_size(mp, pg_sz);
}

/*
 * Slice up to max_objs objects out of len bytes of dpmalloc memory at
 * vaddr (IOVA iova, contiguous, or RTE_BAD_IOVA), handing each to obj_cb
 * and to the ring. With a page size, an object that would straddle a page
 * starts at the next page instead (unless it is larger than a page).
 * Returns the number of objects added.
 */
static int
dpm_mp_slice(struct rte_mempool *mp, unsigned int max_objs, char *vaddr,
	     rte_iova_t iova, size_t len, size_t pg_sz,
	     rte_mempool_populate_obj_cb_t *obj_cb, void *obj_cb_arg)
{
	size_t total = (size_t)mp->header_size + mp->elt_size +
		mp->trailer_size;
	size_t off = 0;
	unsigned int i;

	for (i = 0; i < max_objs; i++) {
		void *obj;

		if (pg_sz != 0 && total <= pg_sz &&
		    ((uintptr_t)(vaddr + off) & (pg_sz - 1)) + total > pg_sz)
			off += RTE_PTR_DIFF(RTE_PTR_ALIGN_CEIL(vaddr + off, pg_sz),
					    vaddr + off);
		if (off + total > len)
			break;
		off += mp->header_size;
		obj = vaddr + off;
		obj_cb(mp, obj_cb_arg, obj,
		       iova == RTE_BAD_IOVA ? RTE_BAD_IOVA : iova + off);
		rte_mempool_ops_enqueue_bulk(mp, &obj, 1);
		off += mp->elt_size + mp->trailer_size;
	}
	return (int)i;
}

/* Memory header callback of a block's first run: the block goes back. */
static void
dpm_mp_block_free(struct rte_mempool_memhdr *memhdr __rte_unused,
		  void *opaque)
{
	dpm_free(opaque);
}

/*
 * Add the objects of one dpmalloc block of len bytes, one
 * rte_mempool_populate_iova() call per IOVA-contiguous run of pages (each
 * comes back into dpm_mp_populate() with dpmalloc memory). The first run
 * that takes objects owns the block; a block that no run took is freed
 * here. Returns the objects added, or a negative errno when none were.
 */
static int
dpm_mp_add_block(struct rte_mempool *mp, char *block, size_t len,
		 size_t pg_sz)
{
	rte_mempool_memchunk_free_cb_t *free_cb = dpm_mp_block_free;
	size_t off, run;
	int added = 0;
	int ret = 0;

	for (off = 0; off < len && mp->populated_size < mp->size;
	     off += run) {
		rte_iova_t iova = RTE_BAD_IOVA;

		if (mp->flags & RTE_MEMPOOL_F_NO_IOVA_CONTIG) {
			/* No IOVA wanted: one run, as DPDK does. */
			run = len - off;
		} else if (pg_sz == 0) {
			/* IOVA as VA: the whole block is contiguous. */
			iova = dpm_mp_iova(block + off);
			run = len - off;
		} else {
			iova = dpm_mp_iova(block + off);
			run = RTE_MIN((size_t)(RTE_PTR_ALIGN_CEIL(
					block + off + 1, pg_sz) - (block + off)),
				      len - off);
			while (off + run < len) {
				rte_iova_t next = dpm_mp_iova(block + off + run);

				if (iova == RTE_BAD_IOVA ? next != RTE_BAD_IOVA :
				    next != iova + run)
					break;
				run = RTE_MIN(run + pg_sz, len - off);
			}
		}

		ret = rte_mempool_populate_iova(mp, block + off, iova, run,
						free_cb, block);
		if (ret < 0)
			break;
		if (ret > 0) {
			free_cb = NULL;
			added += ret;
		}
	}

	if (free_cb != NULL)
		dpm_free(block);
	if (added == 0)
		return ret < 0 ? ret : -ENOBUFS;
	return added;
}

/*
 * Fill the pool with up to max_objs objects of dpmalloc memory. A block
 * for all of them is tried first; when the socket cannot give that much,
 * the count is halved until a block fits, and the rest gets further blocks.
 * Returns the objects added (0 if none: populate_iova() takes a negative
 * value from populate for a count).
 */
static int
dpm_mp_populate_dpmalloc(struct rte_mempool *mp, unsigned int max_objs)
{
	unsigned int remaining = max_objs;
	uint32_t pg_shift = 0;
	size_t pg_sz;
	int total = 0;
	int ret;

	ret = dpm_mp_page_size(mp, &pg_sz);
	if (ret < 0) {
		DPM_MP_LOG(ERR, "pool %s: no page size: %s", mp->name,
			   strerror(-ret));
		return 0;
	}
	if (pg_sz != 0)
		pg_shift = rte_bsf64(pg_sz);

	while (remaining > 0 && mp->populated_size < mp->size) {
		unsigned int n = remaining;
		size_t min_chunk, align;
		void *block = NULL;
		ssize_t size = -EINVAL;

		for (;;) {
			size = rte_mempool_op_calc_mem_size_helper(mp, n,
					pg_shift, 0, &min_chunk, &align);
			if (size < 0)
				break;
			block = dpm_aligned_alloc_socket(align, (size_t)size,
							 mp->socket_id);
			if (block != NULL || n == 1 ||
			    (rte_errno != ENOMEM && rte_errno != E2BIG))
				break;
			n = (n + 1) / 2;
		}
		if (block == NULL) {
			DPM_MP_LOG(ERR, "pool %s: no memory for %u objects on socket %d: %s",
				   mp->name, n, mp->socket_id,
				   size < 0 ? strerror((int)-size) :
				   rte_strerror(rte_errno));
			break;
		}

		ret = dpm_mp_add_block(mp, block, (size_t)size, pg_sz);
		if (ret <= 0) {
			DPM_MP_LOG(ERR, "pool %s: cannot add a block: %s",
				   mp->name, strerror(-ret));
			break;
		}
		total += ret;
		remaining -= RTE_MIN((unsigned int)ret, remaining);
	}
	return total;
}

/* ops->populate: see the file comment. */
static int
dpm_mp_populate(struct rte_mempool *mp, unsigned int max_objs, void *vaddr,
		rte_iova_t iova, size_t len,
		rte_mempool_populate_obj_cb_t *obj_cb, void *obj_cb_arg)
{
	size_t pg_sz;

	if (!dpm_owns(vaddr))
		return dpm_mp_populate_dpmalloc(mp, max_objs);
	if (dpm_mp_page_size(mp, &pg_sz) < 0)
		return 0;
	return dpm_mp_slice(mp, max_objs, vaddr, iova, len, pg_sz, obj_cb,
			    obj_cb_arg);
}

static const struct rte_mempool_ops dpm_mp_ops = {
	.name = DPM_MEMPOOL_OPS_NAME,
	.alloc = dpm_mp_alloc,
	.free = dpm_mp_free,
	.enqueue = dpm_mp_enqueue,
	.dequeue = dpm_mp_dequeue,
	.get_count = dpm_mp_get_count,
	.calc_mem_size = dpm_mp_calc_mem_size,
	.populate = dpm_mp_populate,
};

int
dpm_mempool_ops_index(void)
{
	return dpm_mp_ops_idx;
}

/*
 * Register the ops at load time (before main(), or at dlopen() for -d),
 * checking what RTE_MEMPOOL_REGISTER_OPS() would ignore: the table has 16
 * slots and Debian's DPDK autoloads drivers that take 14 of them. Loaded
 * twice (linked in and with -d), the second copy finds the name taken and
 * uses that slot. The logtype is registered here, not with
 * RTE_LOG_REGISTER_DEFAULT(), because constructors of one priority run in
 * no guaranteed order and this one logs.
 */
RTE_INIT(dpm_mp_register)
{
	unsigned int i;
	int ret;

	ret = rte_log_register_type_and_pick_level("pmd.mempool.dpm",
						   RTE_LOG_NOTICE);
	if (ret >= 0)
		dpm_mp_logtype = ret;

	for (i = 0; i < rte_mempool_ops_table.num_ops &&
		    i < RTE_MEMPOOL_MAX_OPS_IDX; i++) {
		if (strcmp(rte_mempool_ops_table.ops[i].name,
			   DPM_MEMPOOL_OPS_NAME) == 0) {
			DPM_MP_LOG(INFO, "ops \"%s\" already registered at %u",
				   DPM_MEMPOOL_OPS_NAME, i);
			dpm_mp_ops_idx = (int)i;
			return;
		}
	}

	ret = rte_mempool_register_ops(&dpm_mp_ops);
	if (ret < 0)
		DPM_MP_LOG(ERR, "cannot register mempool ops \"%s\": %s (%u of %d slots in use)",
			   DPM_MEMPOOL_OPS_NAME, strerror(-ret),
			   rte_mempool_ops_table.num_ops,
			   RTE_MEMPOOL_MAX_OPS_IDX);
	else
		DPM_MP_LOG(DEBUG, "mempool ops \"%s\" registered at %d",
			   DPM_MEMPOOL_OPS_NAME, ret);
	dpm_mp_ops_idx = ret;
}
