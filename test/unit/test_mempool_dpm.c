/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * The "dpm" mempool ops through DPDK's own mempool and mbuf APIs: objects
 * are dpmalloc memory of the pool's socket, counts stay right with and
 * without the per-lcore cache, and everything goes back when the pool is
 * freed. Criterion runs each test in its own process; the harness starts
 * EAL in each, in the memory mode DPM_TEST_EAL names.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_mempool.h>

#include <dpmalloc.h>
#include <dpm_mempool.h>

#include "dpm_test.h"

#define POOL_SIZE 1023
#define ELT_SIZE 200

DPM_TEST_SUITE(mempool_dpm);

/* An empty pool with the "dpm" ops, populated the default way. */
static struct rte_mempool *
dpm_pool(const char *name, unsigned int n, unsigned int cache, int socket)
{
	struct rte_mempool *mp;
	int ret;

	mp = rte_mempool_create_empty(name, n, ELT_SIZE, cache, 0, socket, 0);
	cr_assert_not_null(mp, "create_empty: %s", rte_strerror(rte_errno));
	ret = rte_mempool_set_ops_byname(mp, DPM_MEMPOOL_OPS_NAME, NULL);
	cr_assert_eq(ret, 0, "set_ops_byname: %d", ret);
	ret = rte_mempool_populate_default(mp);
	cr_assert_eq(ret, (int)n, "populate_default: %d", ret);
	return mp;
}

/* Bytes in live dpmalloc objects of a socket, tcache of this lcore flushed. */
static uint64_t
socket_bytes_allocated(int socket)
{
	struct dpm_socket_stats st;

	dpm_tcache_flush();
	cr_assert_eq(dpm_stats_socket(socket, &st), 0);
	return st.bytes_allocated;
}

struct obj_check {
	int socket;
	unsigned int count;
	unsigned int bad_owner;
	unsigned int bad_socket;
	unsigned int bad_iova;
	unsigned int no_iova;
};

static void
check_obj(struct rte_mempool *mp, void *arg, void *obj, unsigned int idx)
{
	struct obj_check *c = arg;
	rte_iova_t iova = rte_mempool_virt2iova(obj);

	c->count++;
	if (!dpm_owns(obj))
		c->bad_owner++;
	if (dpm_socket_of(obj) != c->socket)
		c->bad_socket++;
	/* The IOVA recorded for the object must be EAL's for its address. */
	if (iova != RTE_BAD_IOVA && iova != rte_mem_virt2iova(obj))
		c->bad_iova++;
	if (iova == RTE_BAD_IOVA)
		c->no_iova++;
}

struct mem_check {
	unsigned int chunks;
	unsigned int owned;
	size_t owned_len;
};

static void
check_mem(struct rte_mempool *mp, void *arg, struct rte_mempool_memhdr *hdr,
	  unsigned int idx)
{
	struct mem_check *c = arg;

	c->chunks++;
	if (dpm_owns(hdr->addr)) {
		c->owned++;
		c->owned_len += hdr->len;
	}
}

Test(mempool_dpm, ops_are_registered_by_loading_the_driver, .timeout = 120)
{
	int idx = dpm_mempool_ops_index();

	cr_assert_geq(idx, 0, "registration failed: %d", idx);
	cr_assert_str_eq(rte_mempool_get_ops(idx)->name, "dpm");
}

Test(mempool_dpm, objects_are_dpmalloc_memory_of_the_pool_socket, .timeout = 120)
{
	int socket = (int)rte_socket_id();
	struct obj_check c = { .socket = socket };
	struct mem_check m = { 0 };
	struct rte_mempool *mp = dpm_pool("dpm_owned", POOL_SIZE, 0, socket);

	cr_assert_eq(rte_mempool_obj_iter(mp, check_obj, &c), POOL_SIZE);
	cr_assert_eq(c.count, POOL_SIZE);
	cr_expect_eq(c.bad_owner, 0, "%u objects not owned by dpmalloc", c.bad_owner);
	cr_expect_eq(c.bad_socket, 0, "%u objects on another socket", c.bad_socket);
	cr_expect_eq(c.bad_iova, 0, "%u objects with a wrong IOVA", c.bad_iova);
	/* Where EAL has IO addresses, every object has one: the pool is
	 * usable for DMA (DPDK clears RTE_MEMPOOL_F_NON_IO). */
	if (rte_eal_iova_mode() == RTE_IOVA_VA || rte_eal_has_hugepages()) {
		cr_expect_eq(c.no_iova, 0, "%u objects without IOVA", c.no_iova);
		cr_expect_eq(mp->flags & RTE_MEMPOOL_F_NON_IO, 0);
	}
	cr_expect_eq(rte_mempool_avail_count(mp), POOL_SIZE);
	cr_expect_eq(rte_mempool_in_use_count(mp), 0);

	/* The memory list, which drivers walk to map pool memory for DMA,
	 * names the dpmalloc blocks that hold the objects. */
	rte_mempool_mem_iter(mp, check_mem, &m);
	cr_expect_geq(m.owned, 1, "%u chunks, none from dpmalloc", m.chunks);
	cr_expect_geq(m.owned_len, (size_t)POOL_SIZE *
		      (mp->header_size + mp->elt_size + mp->trailer_size));
	rte_mempool_free(mp);
}

Test(mempool_dpm, get_and_put_without_cache_keep_counts, .timeout = 120)
{
	static void *objs[POOL_SIZE];
	struct rte_mempool *mp = dpm_pool("dpm_nocache", POOL_SIZE, 0,
					  SOCKET_ID_ANY);
	void *extra;
	unsigned int i;

	for (i = 0; i < POOL_SIZE; i++) {
		cr_assert_eq(rte_mempool_get(mp, &objs[i]), 0, "get %u", i);
		cr_assert(dpm_owns(objs[i]));
		memset(objs[i], (int)(i & 0xff), ELT_SIZE);
	}
	cr_expect_eq(rte_mempool_avail_count(mp), 0);
	cr_expect_eq(rte_mempool_in_use_count(mp), POOL_SIZE);
	cr_expect_eq(rte_mempool_get(mp, &extra), -ENOENT);

	/* Objects do not overlap: each still holds its own pattern. */
	for (i = 0; i < POOL_SIZE; i++) {
		const unsigned char *p = objs[i];
		unsigned int j;

		for (j = 0; j < ELT_SIZE; j++)
			cr_assert_eq(p[j], i & 0xff, "object %u byte %u", i, j);
	}

	rte_mempool_put_bulk(mp, objs, POOL_SIZE);
	cr_expect_eq(rte_mempool_avail_count(mp), POOL_SIZE);
	cr_expect_eq(rte_mempool_in_use_count(mp), 0);
	cr_assert_eq(rte_mempool_get_bulk(mp, objs, 100), 0);
	cr_expect_eq(rte_mempool_in_use_count(mp), 100);
	rte_mempool_put_bulk(mp, objs, 100);
	rte_mempool_free(mp);
}

static int
worker_get_put(void *arg)
{
	struct rte_mempool *mp = arg;
	void *objs[8];
	unsigned int i, j;

	for (i = 0; i < 20000; i++) {
		if (rte_mempool_get_bulk(mp, objs, RTE_DIM(objs)) != 0)
			continue;
		for (j = 0; j < RTE_DIM(objs); j++) {
			if (!dpm_owns(objs[j]))
				return -1;
			*(unsigned int *)objs[j] = rte_lcore_id();
		}
		for (j = 0; j < RTE_DIM(objs); j++)
			if (*(unsigned int *)objs[j] != rte_lcore_id())
				return -1;
		rte_mempool_put_bulk(mp, objs, RTE_DIM(objs));
	}
	return 0;
}

Test(mempool_dpm, get_and_put_with_cache_on_every_lcore, .timeout = 120)
{
	struct rte_mempool *mp = dpm_pool("dpm_cache", 4095, 32, SOCKET_ID_ANY);
	void *obj;
	unsigned int lcore;

	cr_assert_eq(rte_mempool_get(mp, &obj), 0);
	cr_assert(dpm_owns(obj));
	/* The cache filled itself from the ring: still counted as available. */
	cr_expect_eq(rte_mempool_avail_count(mp), 4094);
	cr_expect_eq(rte_mempool_in_use_count(mp), 1);
	rte_mempool_put(mp, obj);

	RTE_LCORE_FOREACH_WORKER(lcore)
		cr_assert_eq(rte_eal_remote_launch(worker_get_put, mp, lcore), 0);
	cr_expect_eq(worker_get_put(mp), 0);
	RTE_LCORE_FOREACH_WORKER(lcore)
		cr_expect_eq(rte_eal_wait_lcore(lcore), 0, "lcore %u", lcore);

	cr_expect_eq(rte_mempool_avail_count(mp), 4095);
	cr_expect_eq(rte_mempool_in_use_count(mp), 0);
	rte_mempool_free(mp);
}

Test(mempool_dpm, pktmbuf_pool_by_ops_works, .timeout = 120)
{
	struct rte_mbuf *bulk[64];
	struct rte_mempool *mp;
	struct rte_mbuf *m;
	char *data;
	unsigned int i;

	mp = rte_pktmbuf_pool_create_by_ops("dpm_mbuf", 2047, 32, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id(),
			DPM_MEMPOOL_OPS_NAME);
	cr_assert_not_null(mp, "pool: %s", rte_strerror(rte_errno));
	cr_expect_str_eq(rte_mempool_get_ops(mp->ops_index)->name, "dpm");

	m = rte_pktmbuf_alloc(mp);
	cr_assert_not_null(m);
	cr_expect(dpm_owns(m));
	cr_expect(dpm_owns(m->buf_addr));
	data = rte_pktmbuf_append(m, 1500);
	cr_assert_not_null(data);
	memset(data, 0x5a, 1500);
	cr_expect_eq(rte_pktmbuf_pkt_len(m), 1500);
	cr_expect_eq(rte_pktmbuf_mtod(m, unsigned char *)[1499], 0x5a);
	if (m->buf_iova != RTE_BAD_IOVA)
		cr_expect_eq(m->buf_iova, rte_mem_virt2iova(m->buf_addr));
	rte_pktmbuf_free(m);

	cr_assert_eq(rte_pktmbuf_alloc_bulk(mp, bulk, RTE_DIM(bulk)), 0);
	for (i = 0; i < RTE_DIM(bulk); i++)
		cr_expect(dpm_owns(bulk[i]));
	cr_expect_eq(rte_mempool_in_use_count(mp), RTE_DIM(bulk));
	rte_pktmbuf_free_bulk(bulk, RTE_DIM(bulk));
	cr_expect_eq(rte_mempool_in_use_count(mp), 0);
	rte_mempool_free(mp);
}

Test(mempool_dpm, populate_anon_also_uses_dpmalloc, .timeout = 120)
{
	struct obj_check c = { .socket = (int)rte_socket_id() };
	struct rte_mempool *mp;

	mp = rte_mempool_create_empty("dpm_anon", 511, ELT_SIZE, 0, 0,
				      (int)rte_socket_id(), 0);
	cr_assert_not_null(mp);
	cr_assert_eq(rte_mempool_set_ops_byname(mp, "dpm", NULL), 0);
	cr_assert_eq(rte_mempool_populate_anon(mp), 511);
	rte_mempool_obj_iter(mp, check_obj, &c);
	cr_expect_eq(c.count, 511);
	cr_expect_eq(c.bad_owner, 0);
	rte_mempool_free(mp);
}

Test(mempool_dpm, freeing_the_pool_gives_its_memory_back, .timeout = 120)
{
	int socket = (int)rte_socket_id();
	uint64_t before, during, after;
	struct rte_mempool *mp;

	/* Initialise dpmalloc (and its first span) before measuring. */
	dpm_free(dpm_malloc(64));
	before = socket_bytes_allocated(socket);
	mp = dpm_pool("dpm_freed", 8191, 64, socket);
	during = socket_bytes_allocated(socket);
	cr_expect_geq(during, before + 8191ull * ELT_SIZE,
		      "before %lu during %lu", (unsigned long)before,
		      (unsigned long)during);
	rte_mempool_free(mp);
	after = socket_bytes_allocated(socket);
	cr_expect_eq(after, before, "before %lu after %lu",
		     (unsigned long)before, (unsigned long)after);
}

/*
 * A pool larger than the socket may hold fails cleanly and leaks nothing.
 * Runs after the suite's EAL set-up: dpmalloc with a 64 MiB socket cap.
 */
static void
dpm_start_limited(void)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.socket_limit[rte_socket_id()] = 64u << 20;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
}

Test(mempool_dpm, pool_beyond_the_socket_limit_fails_without_leaking,
     .init = dpm_start_limited, .timeout = 120)
{
	int socket = (int)rte_socket_id();
	struct rte_mempool *mp;
	uint64_t before;
	int ret;

	dpm_free(dpm_malloc(64));
	before = socket_bytes_allocated(socket);

	/* ~100k objects of 2 KiB: about 200 MiB, over the 64 MiB limit. */
	mp = rte_mempool_create_empty("dpm_big", 100000, 2048, 0, 0, socket, 0);
	cr_assert_not_null(mp);
	cr_assert_eq(rte_mempool_set_ops_byname(mp, "dpm", NULL), 0);
	ret = rte_mempool_populate_default(mp);
	cr_expect_lt(ret, 0, "populate_default: %d", ret);
	rte_mempool_free(mp);
	cr_expect_eq(socket_bytes_allocated(socket), before);

	/* A pool that fits still works afterwards. */
	mp = dpm_pool("dpm_small", POOL_SIZE, 0, socket);
	rte_mempool_free(mp);
}
