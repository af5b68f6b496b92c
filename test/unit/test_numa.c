/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * NUMA: per-socket arena sets, proven on a simulated multi-socket machine.
 *
 * How the simulated topology is wired. This machine has one NUMA node, so
 * most tests here give dpm_init() a configuration that invents sockets:
 *   - zone_source = DPM_ZONE_ANON: spans come from anonymous mmap()s, and
 *     the socket id a span is reserved for is only a label carried by its
 *     chunks (chunk_desc.socket_id, read back through the radix tree by
 *     dpm_socket_of());
 *   - sim_sockets = N: dpmalloc believes sockets 0 .. N-1 exist and builds
 *     an arena set, span list, base allocator and counters for each;
 *   - lcore_socket = a hook mapping lcore id -> socket (lcore % N here):
 *     dpmalloc asks it, not rte_lcore_to_socket_id(), when an lcore binds
 *     to an arena and gets its tcache.
 * EAL itself runs as every suite of the project does (8 lcores on 2 cores,
 * in hugepage or --no-huge mode): only dpmalloc sees several sockets. The
 * allocator's code paths are the product's -- tcache per lcore, arenas per
 * socket, remote-free buffers, per-socket spans, limits, fallback, decay --
 * since nothing but the zone source knows the sockets are labels.
 *
 * What a real 2-socket machine would show differently:
 *   - DPDK socket ids are NUMA node ids, and memory of socket s really is
 *     on node s: the placement tests (dpm_numa_node_of(),
 *     dpm_placement_check_socket()) would check each node, not node 0 only;
 *     with the anonymous source they refuse to answer (ENOTSUP);
 *   - spans are memzones reserved per socket (rte_memzone_reserve with the
 *     socket id), each socket's heap and hugepages grow and shrink on their
 *     own, and a socket can run out while another has plenty;
 *   - a cross-socket free costs interconnect traffic (the object's cache
 *     lines and the owning arena's bin lock travel between sockets), which
 *     is why dpmalloc batches remote frees; here they cost nothing more than
 *     local ones, so these tests prove the routing and the accounting, not
 *     the speed.
 * The concurrent tests run a mix on all eight lcores for 1.5 - 2 s: each
 * lcore allocates (dpm_malloc, dpm_zmalloc on its own socket;
 * dpm_malloc_socket, dpm_zmalloc_socket on others; small, large, a few
 * huge), fills a pattern, keeps some objects, frees some, and passes others
 * through per-lcore rte_rings to other lcores -- of its socket and of
 * others -- which check and free them, counting frees of other sockets'
 * memory. Workers only record; the main thread asserts afterwards.
 *
 * A few tests at the end use the real memzone source (one socket) for
 * memory return to DPDK and for placement.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_thread.h>

#include "arena.h"
#include "chunk.h"
#include "dpm_state.h"
#include "dpm_test.h"
#include "rtree.h"
#include "size_class.h"
#include "tcache.h"

DPM_TEST_SUITE(numa);

#define MIB ((size_t)1 << 20)

/* ------------------------------------------------------------------------
 * Topology hooks: lcore id -> simulated socket.
 */

static int lcore_mod2(unsigned int lcore)
{
	return (int)(lcore % 2);
}

static int lcore_mod3(unsigned int lcore)
{
	return (int)(lcore % 3);
}

static int lcore_mod4(unsigned int lcore)
{
	return (int)(lcore % 4);
}

static int (*const lcore_hooks[])(unsigned int) = {
	[2] = lcore_mod2, [3] = lcore_mod3, [4] = lcore_mod4,
};

static void sim_config(struct dpm_config *cfg, unsigned int nsockets)
{
	dpm_config_defaults(cfg);
	cfg->zone_source = DPM_ZONE_ANON;
	cfg->sim_sockets = nsockets;
	cfg->lcore_socket = lcore_hooks[nsockets];
}

static void init_with(const struct dpm_config *cfg)
{
	cr_assert_eq(dpm_init(cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
}

static struct dpm_socket_stats socket_stats(int s)
{
	struct dpm_socket_stats st;

	cr_assert_eq(dpm_stats_socket(s, &st), 0, "dpm_stats_socket(%d): %s", s, rte_strerror(rte_errno));
	return st;
}

static int tcache_flush_fn(void *arg)
{
	RTE_SET_USED(arg);
	dpm_tcache_flush();
	return 0;
}

/* dpm_tcache_flush() on every lcore (each flushes its own). */
static void flush_all_lcores(void)
{
	cr_assert_eq(dpm_test_run_on_all_lcores(tcache_flush_fn, NULL), 0);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Run fn(arg) on one worker lcore and wait for it. */
static int run_on_lcore(unsigned int lcore, lcore_function_t *fn, void *arg)
{
	cr_assert_eq(rte_eal_remote_launch(fn, arg, lcore), 0, "launch on lcore %u", lcore);
	return rte_eal_wait_lcore(lcore);
}

/* ------------------------------------------------------------------------
 * Objects that carry what they are: a header with the size and socket
 * asked for and a seed, and a pattern in the head, middle and tail (not
 * every byte: huge objects would cost page faults for nothing).
 */

struct obj_hdr {
	uint64_t magic;            /* OBJ_MAGIC ^ seed */
	uint64_t seed;
	uint32_t size;
	int32_t socket;            /* the socket it was asked of */
};

#define OBJ_MAGIC UINT64_C(0x64706d6e756d6121)
#define OBJ_MIN sizeof(struct obj_hdr)
#define PAT 512

struct region {
	size_t off, len;
};

/* Up to three regions of an object of size bytes that carry the pattern. */
static unsigned int obj_regions(size_t size, struct region r[3])
{
	unsigned int n = 0;

	r[n++] = (struct region){ OBJ_MIN, RTE_MIN(size, (size_t)PAT) - OBJ_MIN };
	if (size >= 4 * PAT)
		r[n++] = (struct region){ (size / 2) & ~(size_t)63, PAT / 2 };
	if (size >= 2 * PAT)
		r[n++] = (struct region){ size - PAT / 2, PAT / 2 };
	return n;
}

static void obj_fill(void *p, size_t size, int socket, uint64_t seed)
{
	struct obj_hdr *h = p;
	struct region r[3];
	unsigned int n = obj_regions(size, r);

	h->magic = OBJ_MAGIC ^ seed;
	h->seed = seed;
	h->size = (uint32_t)size;
	h->socket = socket;
	for (unsigned int i = 0; i < n; i++)
		dpm_test_fill((char *)p + r[i].off, r[i].len, seed + i);
}

/* NULL when the object is intact, else what is wrong. */
static const char *obj_check(const void *p)
{
	const struct obj_hdr *h = p;
	struct region r[3];
	unsigned int n;

	if (h->magic != (OBJ_MAGIC ^ h->seed))
		return "header overwritten";
	if (h->size < OBJ_MIN || dpm_usable_size(p) < h->size)
		return "size in header does not fit the object";
	n = obj_regions(h->size, r);
	for (unsigned int i = 0; i < n; i++)
		if (dpm_test_check((const char *)p + r[i].off, r[i].len, h->seed + i) != SIZE_MAX)
			return "pattern overwritten";
	return NULL;
}

/* Whether the regions a zeroed object would be checked in are zero. */
static bool obj_zero(const void *p, size_t size)
{
	struct region r[3];
	unsigned int n;

	if (size <= 64 * 1024)
		return dpm_test_first_nonzero(p, size) == SIZE_MAX;
	if (dpm_test_first_nonzero(p, OBJ_MIN) != SIZE_MAX)
		return false;
	n = obj_regions(size, r);
	for (unsigned int i = 0; i < n; i++)
		if (dpm_test_first_nonzero((const char *)p + r[i].off, r[i].len) != SIZE_MAX)
			return false;
	return true;
}

/* ------------------------------------------------------------------------
 * Chunk walks: every chunk a socket has in use must be that socket's, and
 * an arena chunk must belong to an arena of that socket.
 */

struct chunk_walk {
	int socket;
	bool strict;               /* quiescent: every used chunk is mapped */
	uint64_t visited, arena, huge, unmapped, bad;
	char msg[192];
};

static void chunk_walk_bad(struct chunk_walk *w, const char *what, void *chunk)
{
	if (w->bad++ == 0)
		snprintf(w->msg, sizeof(w->msg), "socket %d, chunk %p: %s", w->socket, chunk, what);
}

/* Called under the socket's chunk lock: look, do not call into dpmalloc. */
static void chunk_walk_fn(void *chunk, void *arg)
{
	struct chunk_walk *w = arg;
	struct chunk_desc *d = rtree_lookup(chunk);

	if (d == NULL) {
		/* Between chunk_alloc() and rtree_set(), or rtree_set(NULL)
		 * and chunk_dealloc(): only while other lcores run. */
		w->unmapped++;
		if (w->strict)
			chunk_walk_bad(w, "in use but not in the radix tree", chunk);
		return;
	}
	w->visited++;
	if (d->socket_id != w->socket)
		chunk_walk_bad(w, "descriptor names another socket", chunk);
	if (d->arena == NULL || d->arena->socket_id != w->socket)
		chunk_walk_bad(w, "owned by an arena of another socket", chunk);
	if (d->kind == CHUNK_ARENA) {
		w->arena++;
		if (d->addr != chunk || d->arena_socket != w->socket)
			chunk_walk_bad(w, "arena chunk header inconsistent", chunk);
	} else if (d->kind == CHUNK_HUGE) {
		w->huge++;
		if ((uintptr_t)chunk < (uintptr_t)d->addr ||
		    (uintptr_t)chunk >= (uintptr_t)d->addr + d->size || d->arena_socket != -1)
			chunk_walk_bad(w, "huge descriptor does not cover the chunk", chunk);
	} else {
		chunk_walk_bad(w, "unknown chunk kind", chunk);
	}
}

static void walk_socket(int socket, bool strict, struct chunk_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->socket = socket;
	w->strict = strict;
	chunk_walk_used(socket, chunk_walk_fn, w);
}

/* Every arena of every socket says it is of that socket, and sockets
 * beyond the simulated ones do not exist. */
static void check_arena_sets(unsigned int nsockets)
{
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		struct dpm_socket *ds = &dpm_state.sockets[s];

		if ((unsigned int)s >= nsockets) {
			cr_assert(!ds->present, "socket %d exists but only %u are simulated", s, nsockets);
			continue;
		}
		cr_assert(ds->present, "simulated socket %d missing", s);
		cr_assert_gt(ds->narenas, 0);
		for (unsigned int i = 0; i < ds->narenas; i++) {
			cr_assert_not_null(ds->arenas[i]);
			cr_assert_eq(ds->arenas[i]->socket_id, s, "arena %u of socket %d is of socket %d", i, s,
				     ds->arenas[i]->socket_id);
			cr_assert_eq(ds->arenas[i]->index, i);
		}
	}
}

/* ------------------------------------------------------------------------
 * The mixed workload: every lcore allocates (dpm_malloc, dpm_malloc_socket
 * of other sockets, dpm_zmalloc, dpm_zmalloc_socket; small, large, a few
 * huge), keeps some, frees some itself and sends some through per-lcore
 * rings to other lcores, of its socket and of others, which check and free
 * them. Workers record; the main thread asserts.
 */

#define RING_SIZE 1024
#define LOCAL_MAX 256
#define BURST 32
#define HUGE_LOCAL_MAX 3
/* Each lcore runs until the deadline and at least this many iterations, so
 * that a loaded machine (CI runs both EAL modes side by side, 16 lcores on
 * two cores) stretches the test instead of starving an lcore of work. */
#define MIN_ITERS 3000

struct lcore_result {
	unsigned int lcore;
	int socket;
	uint64_t iterations;
	uint64_t allocs, frees, sent, received;
	uint64_t by_api[4];            /* malloc, malloc_socket, zmalloc, zmalloc_socket */
	uint64_t huge_allocs;
	uint64_t alloc_fail;
	uint64_t wrong_socket;         /* dpm_socket_of != the socket asked of */
	uint64_t own_malloc_foreign;   /* dpm_malloc/zmalloc gave another socket's memory */
	uint64_t not_zero, corrupt;
	uint64_t cross[RTE_MAX_NUMA_NODES];   /* frees of memory of socket [s] != own */
	uint64_t cross_cached;         /* of those, of classes the tcache covers */
	/* tcache walks */
	uint64_t tc_walks, tc_checked, tc_foreign, tc_remote_checked, tc_remote_local;
	bool tc_wrong_socket, tc_missing;
	/* concurrent chunk walks (main lcore only) */
	uint64_t walks, walk_bad, walk_visited;
	char msg[256];
} __rte_cache_aligned;

struct mix {
	unsigned int nsockets;
	uint64_t deadline;
	unsigned int nlcores;
	unsigned int lcores[RTE_MAX_LCORE];
	struct rte_ring *ring[RTE_MAX_LCORE];
	bool concurrent_walks;         /* the main lcore walks chunks while all run */
	bool quiescent_walk;           /* and once while every lcore holds objects */
	unsigned int stopped;          /* lcores that will send nothing more */
	unsigned int holding;          /* lcores waiting in the hold phase */
	bool release;
	struct chunk_walk quiet[RTE_MAX_NUMA_NODES];
	uint64_t quiet_spares[RTE_MAX_NUMA_NODES];
	struct dpm_socket_stats quiet_stats[RTE_MAX_NUMA_NODES];
	struct lcore_result res[RTE_MAX_LCORE];
};

#define FAIL(r, ...) do { \
	if ((r)->msg[0] == '\0') \
		snprintf((r)->msg, sizeof((r)->msg), __VA_ARGS__); \
} while (0)

static size_t pick_size(uint64_t *rnd, bool allow_huge)
{
	uint64_t x = dpm_test_rand(rnd);
	unsigned int pct = (unsigned int)(x % 1000);

	x >>= 10;
	if (allow_huge && pct < 3)                 /* 0.3 %: huge, 2.2 - 6 MiB */
		return (size_t)(2.2 * MIB) + x % (4 * MIB);
	if (pct < 120)                             /* 12 %: large, 16 KiB - 512 KiB */
		return 16 * 1024 + x % (496 * 1024);
	if (pct < 280)                             /* 16 %: bigger small, 2 - 14 KiB */
		return 2048 + x % (SC_SMALL_MAX - 2048 + 1);
	return OBJ_MIN + x % (2048 - OBJ_MIN);     /* small */
}

static bool is_huge(size_t size)
{
	return size > sc_large_max;
}

/* Whether a free of this size on an lcore goes through the tcache's
 * remote buffer (a class the tcache covers). */
static bool tcache_class(size_t size)
{
	return !is_huge(size) && sc_size2class(size) < tcache_nbins();
}

/* Check and free an object; count it when it is of another socket. */
static void mix_free(struct lcore_result *r, void *p, uint64_t *rnd)
{
	const struct obj_hdr *h = p;
	const char *why = obj_check(p);
	size_t size;
	int s;

	if (why != NULL) {
		r->corrupt++;
		FAIL(r, "lcore %u: object %p: %s", r->lcore, p, why);
		dpm_free(p);
		r->frees++;
		return;
	}
	size = h->size;
	s = dpm_socket_of(p);
	if (s != h->socket) {
		r->wrong_socket++;
		FAIL(r, "lcore %u: object %p asked of socket %d is of socket %d at free", r->lcore, p,
		     h->socket, s);
	}
	if (s >= 0 && s != r->socket) {
		r->cross[s]++;
		if (tcache_class(size))
			r->cross_cached++;
	}
	if (dpm_test_rand(rnd) % 4 == 0)
		dpm_free_sized(p, size);
	else
		dpm_free(p);
	r->frees++;
}

static void *mix_alloc(struct mix *m, struct lcore_result *r, uint64_t *rnd, unsigned int *huge_live)
{
	uint64_t x = dpm_test_rand(rnd);
	unsigned int api = (unsigned int)(x % 8);
	int other = (int)((r->socket + 1 + (x >> 8) % (m->nsockets - 1)) % m->nsockets);
	size_t size = pick_size(rnd, *huge_live < HUGE_LOCAL_MAX);
	int want;
	void *p;

	if (api >= 6 && size > 512 * 1024)
		size = 512 * 1024;         /* no huge memsets */
	switch (api) {
	case 0: case 1: case 2:
		api = 0;
		want = r->socket;
		p = dpm_malloc(size);
		break;
	case 3: case 4: case 5:
		api = 1;
		want = other;
		p = dpm_malloc_socket(size, other);
		break;
	case 6:
		api = 2;
		want = r->socket;
		p = dpm_zmalloc(size);
		break;
	default:
		api = 3;
		want = other;
		p = dpm_zmalloc_socket(size, other);
		break;
	}
	if (p == NULL) {
		r->alloc_fail++;
		FAIL(r, "lcore %u: allocation of %zu bytes (api %u) failed: %s", r->lcore, size, api,
		     rte_strerror(rte_errno));
		return NULL;
	}
	r->allocs++;
	r->by_api[api]++;
	if (is_huge(size)) {
		r->huge_allocs++;
		(*huge_live)++;
	}
	if (dpm_socket_of(p) != want) {
		r->wrong_socket++;
		if (api == 0 || api == 2)
			r->own_malloc_foreign++;
		FAIL(r, "lcore %u (socket %d): %zu bytes asked of socket %d came from socket %d", r->lcore,
		     r->socket, size, want, dpm_socket_of(p));
	}
	if (api >= 2 && !obj_zero(p, size)) {
		r->not_zero++;
		FAIL(r, "lcore %u: zmalloc of %zu bytes is not zeroed", r->lcore, size);
	}
	obj_fill(p, size, want, x ^ ((uint64_t)r->lcore << 56));
	return p;
}

/* Walk the calling lcore's tcache: cached objects are of its socket, the
 * remote buffer only holds other sockets' memory. */
static void tcache_walk(struct lcore_result *r)
{
	struct tcache *tc = tcache_get(rte_lcore_id());

	if (tc == NULL) {
		r->tc_missing = true;
		FAIL(r, "lcore %u has no tcache", r->lcore);
		return;
	}
	r->tc_walks++;
	if (tc->socket_id != r->socket) {
		r->tc_wrong_socket = true;
		FAIL(r, "lcore %u: tcache of socket %d, lcore maps to %d", r->lcore, tc->socket_id, r->socket);
	}
	for (unsigned int c = 0; c < tc->nbins; c++) {
		for (unsigned int k = 0; k < tcache_bin_ncached(&tc->bins[c]); k++) {
			void *p = tcache_bin_obj(&tc->bins[c], k);

			r->tc_checked++;
			if (dpm_socket_of(p) != tc->socket_id) {
				r->tc_foreign++;
				FAIL(r, "lcore %u: tcache class %u holds %p of socket %d", r->lcore, c, p,
				     dpm_socket_of(p));
			}
		}
		/* Outbound stacks hold other arenas' objects, of this socket too. */
		for (unsigned int k = 0; c < SC_NBINS && k < tcache_bin_ncached(&tc->out[c]); k++) {
			void *p = tcache_bin_obj(&tc->out[c], k);

			r->tc_checked++;
			if (dpm_socket_of(p) != tc->socket_id) {
				r->tc_foreign++;
				FAIL(r, "lcore %u: outbound stack of class %u holds %p of socket %d", r->lcore, c,
				     p, dpm_socket_of(p));
			}
		}
	}
	for (unsigned int i = 0; i < tc->nremote; i++) {
		r->tc_remote_checked++;
		if (dpm_socket_of(tc->remote[i]) == tc->socket_id) {
			r->tc_remote_local++;
			FAIL(r, "lcore %u: remote buffer holds %p of its own socket", r->lcore, tc->remote[i]);
		}
	}
}

static void concurrent_walk(struct mix *m, struct lcore_result *r)
{
	for (unsigned int s = 0; s < m->nsockets; s++) {
		struct chunk_walk w;

		walk_socket((int)s, false, &w);
		r->walks++;
		r->walk_visited += w.visited;
		if (w.bad != 0) {
			r->walk_bad += w.bad;
			FAIL(r, "concurrent walk: %s", w.msg);
		}
	}
}

static void receive(struct mix *m, struct lcore_result *r, unsigned int idx, uint64_t *rnd)
{
	void *buf[BURST];
	unsigned int n = rte_ring_sc_dequeue_burst(m->ring[idx], buf, BURST, NULL);

	for (unsigned int i = 0; i < n; i++) {
		r->received++;
		mix_free(r, buf[i], rnd);
	}
}

/* Waiting lcores sleep rather than yield: on a loaded machine a yielding
 * thread still takes the CPU from the lcores that have work left. */
static void spin_wait(void)
{
	rte_delay_us_sleep(50);
}

static int mix_worker(void *arg)
{
	struct mix *m = arg;
	unsigned int lcore = rte_lcore_id(), idx = 0;
	struct lcore_result *r;
	uint64_t rnd = 0x9e3779b97f4a7c15ull * (lcore + 7) + rte_rdtsc();
	uint64_t hz = rte_get_timer_hz(), next_walk = 0;
	void *local[LOCAL_MAX] = { NULL };
	unsigned int huge_live = 0;
	void *held[RTE_MAX_NUMA_NODES + 1];
	unsigned int nheld = 0;

	while (m->lcores[idx] != lcore)
		idx++;
	r = &m->res[idx];
	r->lcore = lcore;
	r->socket = lcore_hooks[m->nsockets](lcore);

	/* Phase 1: the timed mix. */
	while (rte_get_timer_cycles() < m->deadline || r->iterations < MIN_ITERS) {
		uint64_t x = dpm_test_rand(&rnd);
		void *p;

		r->iterations++;
		receive(m, r, idx, &rnd);
		p = mix_alloc(m, r, &rnd, &huge_live);
		if (p != NULL) {
			bool huge = is_huge(((struct obj_hdr *)p)->size);
			unsigned int to = (unsigned int)((idx + 1 + (x >> 4) % (m->nlcores - 1)) % m->nlcores);

			if (x % 8 < 3 && rte_ring_mp_enqueue(m->ring[to], p) == 0) {
				r->sent++;
				if (huge)
					huge_live--;   /* the receiver frees it */
			} else {
				unsigned int slot = (unsigned int)((x >> 20) % LOCAL_MAX);

				if (local[slot] != NULL) {
					if (is_huge(((struct obj_hdr *)local[slot])->size))
						huge_live--;
					mix_free(r, local[slot], &rnd);
				}
				local[slot] = p;
			}
		}
		if ((r->iterations & 1023) == 0)
			tcache_walk(r);
		if (m->concurrent_walks && lcore == rte_get_main_lcore() && rte_get_timer_cycles() >= next_walk) {
			concurrent_walk(m, r);
			next_walk = rte_get_timer_cycles() + hz / 20;
		}
	}

	/* Phase 2: send nothing more; take in what others still send. */
	__atomic_fetch_add(&m->stopped, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE) < m->nlcores) {
		receive(m, r, idx, &rnd);
		spin_wait();
	}
	receive(m, r, idx, &rnd);
	while (rte_ring_count(m->ring[idx]) != 0)
		receive(m, r, idx, &rnd);
	tcache_walk(r);   /* the stacks are full of freed objects now */

	/* Phase 3: hold the local objects, plus one small object of every
	 * socket and one huge object of the next socket, while the main lcore
	 * walks every socket's chunks with nothing moving. */
	if (m->quiescent_walk) {
		for (unsigned int s = 0; s < m->nsockets; s++) {
			held[nheld] = dpm_malloc_socket(64, (int)s);
			if (held[nheld] == NULL) {
				FAIL(r, "lcore %u: hold: no small object of socket %u", lcore, s);
			} else {
				obj_fill(held[nheld++], 64, (int)s, rnd++);
				r->allocs++;
			}
		}
		held[nheld] = dpm_malloc_socket(3 * MIB, (r->socket + 1) % (int)m->nsockets);
		if (held[nheld] == NULL) {
			FAIL(r, "lcore %u: hold: no huge object", lcore);
		} else {
			obj_fill(held[nheld], 3 * MIB, (r->socket + 1) % (int)m->nsockets, rnd++);
			nheld++;
			r->allocs++;
		}
		__atomic_fetch_add(&m->holding, 1, __ATOMIC_RELEASE);
		if (lcore == rte_get_main_lcore()) {
			while (__atomic_load_n(&m->holding, __ATOMIC_ACQUIRE) < m->nlcores)
				spin_wait();
			for (unsigned int s = 0; s < m->nsockets; s++) {
				struct dpm_socket *ds = &dpm_state.sockets[s];

				walk_socket((int)s, true, &m->quiet[s]);
				m->quiet_spares[s] = 0;
				for (unsigned int i = 0; i < ds->narenas; i++)
					m->quiet_spares[s] += arena_spare_chunks(ds->arenas[i]);
				dpm_stats_socket((int)s, &m->quiet_stats[s]);
			}
			__atomic_store_n(&m->release, true, __ATOMIC_RELEASE);
		} else {
			while (!__atomic_load_n(&m->release, __ATOMIC_ACQUIRE))
				spin_wait();
		}
		for (unsigned int i = 0; i < nheld; i++)
			mix_free(r, held[i], &rnd);
	}
	for (unsigned int i = 0; i < LOCAL_MAX; i++)
		if (local[i] != NULL)
			mix_free(r, local[i], &rnd);
	tcache_walk(r);
	return 0;
}

/* After the mix: walk the tcache one last time, flush it, and check it is
 * empty (remote buffer included). */
static int final_flush_worker(void *arg)
{
	struct mix *m = arg;
	unsigned int lcore = rte_lcore_id(), idx = 0;
	struct tcache *tc;

	while (m->lcores[idx] != lcore)
		idx++;
	tcache_walk(&m->res[idx]);
	dpm_tcache_flush();
	tc = tcache_get(lcore);
	if (tc != NULL) {
		for (unsigned int c = 0; c < tc->nbins; c++) {
			if (tcache_bin_ncached(&tc->bins[c]) != 0)
				FAIL(&m->res[idx], "lcore %u: class %u keeps %u objects after a flush", lcore, c,
				     tcache_bin_ncached(&tc->bins[c]));
			/* other arenas' objects wait in the outbound stacks */
			if (c < SC_NBINS && tcache_bin_ncached(&tc->out[c]) != 0)
				FAIL(&m->res[idx], "lcore %u: class %u keeps %u outbound objects after a flush",
				     lcore, c, tcache_bin_ncached(&tc->out[c]));
		}
		if (tc->nremote != 0)
			FAIL(&m->res[idx], "lcore %u: %u remote frees kept after a flush", lcore, tc->nremote);
	}
	return 0;
}

static struct mix *mix_run(unsigned int nsockets, unsigned int ms, bool walks)
{
	struct mix *m = rte_zmalloc("numa_mix", sizeof(*m), RTE_CACHE_LINE_SIZE);
	unsigned int lcore;

	cr_assert_not_null(m);
	m->nsockets = nsockets;
	m->concurrent_walks = walks;
	m->quiescent_walk = walks;
	RTE_LCORE_FOREACH(lcore) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "numa_mix_%u", lcore);
		m->ring[m->nlcores] = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
		cr_assert_not_null(m->ring[m->nlcores], "ring: %s", rte_strerror(rte_errno));
		m->lcores[m->nlcores++] = lcore;
	}
	cr_assert_eq(m->nlcores, DPM_TEST_LCORES);
	m->deadline = rte_get_timer_cycles() + rte_get_timer_hz() * ms / 1000;
	cr_assert_eq(dpm_test_run_on_all_lcores(mix_worker, m), 0);
	cr_assert_eq(dpm_test_run_on_all_lcores(final_flush_worker, m), 0);
	for (unsigned int i = 0; i < m->nlcores; i++)
		rte_ring_free(m->ring[i]);
	return m;
}

/* What every run of the mix must have done: no failure, no corruption,
 * all four allocation calls used, objects moved between lcores. */
static void mix_check_sane(const struct mix *m)
{
	uint64_t sent = 0, received = 0, huge = 0, allocs = 0, frees = 0;

	for (unsigned int i = 0; i < m->nlcores; i++) {
		const struct lcore_result *r = &m->res[i];

		cr_assert_str_empty(r->msg, "%s", r->msg);
		cr_assert_eq(r->alloc_fail, 0);
		cr_assert_eq(r->corrupt, 0);
		cr_assert_eq(r->not_zero, 0);
		for (unsigned int a = 0; a < 4; a++)
			cr_assert_gt(r->by_api[a], 0, "lcore %u never used allocation call %u", r->lcore, a);
		sent += r->sent;
		received += r->received;
		huge += r->huge_allocs;
		allocs += r->allocs;
		frees += r->frees;
	}
	cr_assert_eq(allocs, frees, "%lu objects allocated, %lu freed", allocs, frees);
	cr_assert_eq(sent, received, "every object sent was received");
	cr_assert_gt(sent, 0);
	cr_assert_gt(huge, 0, "no huge object in the mix");
}

/* Claim 1: each object is of the socket asked (the lcore's own for
 * dpm_malloc), and after the flushes every socket balances and the
 * cross-socket counters match what the workers counted, exactly. */
static void check_sockets_and_cross_counters(const struct mix *m)
{
	uint64_t expect[RTE_MAX_NUMA_NODES][RTE_MAX_NUMA_NODES] = { { 0 } };
	unsigned int n = m->nsockets;

	for (unsigned int i = 0; i < m->nlcores; i++) {
		const struct lcore_result *r = &m->res[i];

		cr_assert_eq(r->wrong_socket, 0, "lcore %u: %lu objects of the wrong socket", r->lcore,
			     r->wrong_socket);
		cr_assert_eq(r->own_malloc_foreign, 0);
		for (unsigned int t = 0; t < n; t++)
			expect[r->socket][t] += r->cross[t];
	}
	for (unsigned int f = 0; f < n; f++) {
		for (unsigned int t = 0; t < n; t++) {
			uint64_t got = dpm_stats_cross_socket((int)f, (int)t);

			if (f == t) {
				cr_assert_eq(got, 0, "cross(%u,%u) counts same-socket frees", f, t);
				continue;
			}
			cr_assert_gt(expect[f][t], 0, "the mix never freed memory of socket %u on socket %u", t, f);
			cr_assert_eq(got, expect[f][t], "cross(%u,%u): library %lu, workers %lu", f, t, got,
				     expect[f][t]);
		}
	}
	for (unsigned int s = 0; s < n; s++) {
		struct dpm_socket_stats st = socket_stats((int)s);
		uint64_t in = 0;

		for (unsigned int f = 0; f < n; f++)
			if (f != s)
				in += expect[f][s];
		cr_assert_gt(st.nmalloc, 0, "socket %u served nothing", s);
		cr_assert_eq(st.nmalloc, st.nfree, "socket %u: nmalloc %lu, nfree %lu", s, st.nmalloc, st.nfree);
		cr_assert_eq(st.bytes_allocated, 0, "socket %u: %lu bytes still allocated", s,
			     st.bytes_allocated);
		cr_assert_eq(st.chunks_used, 0, "socket %u: %lu chunks still used", s, st.chunks_used);
		cr_assert_eq(st.remote_frees_in, in, "socket %u: remote_frees_in %lu, expected %lu", s,
			     st.remote_frees_in, in);
		cr_assert_eq(st.enomem, 0);
		cr_assert_eq(st.fallback_in, 0);
	}
	/* Each lcore counts every one of its frees of another socket's
	 * memory, cached classes (through its remote buffer) or not. */
	for (unsigned int i = 0; i < m->nlcores; i++) {
		const struct lcore_result *r = &m->res[i];
		struct dpm_lcore_stats ls;

		cr_assert_eq(dpm_stats_lcore(r->lcore, &ls), 0);
		cr_assert_eq(ls.socket_id, r->socket);
		cr_assert_eq(ls.tcache_cached, 0);
		uint64_t all = 0;

		for (unsigned int t = 0; t < n; t++)
			all += r->cross[t];
		cr_assert_geq(all, r->cross_cached);
		cr_assert_eq(ls.remote_frees, all, "lcore %u: remote_frees %lu, %lu remote frees",
			     r->lcore, ls.remote_frees, all);
	}
}

static void mix_free_ctx(struct mix *m)
{
	rte_free(m);
}

Test(numa, with_2_sockets_objects_come_from_the_socket_asked_and_cross_socket_frees_balance)
{
	struct dpm_config cfg;

	sim_config(&cfg, 2);
	init_with(&cfg);
	struct mix *m = mix_run(2, 2000, false);

	mix_check_sane(m);
	check_sockets_and_cross_counters(m);
	mix_free_ctx(m);
	dpm_fini();
}

Test(numa, with_4_sockets_objects_come_from_the_socket_asked_and_cross_socket_frees_balance)
{
	struct dpm_config cfg;

	sim_config(&cfg, 4);
	init_with(&cfg);
	struct mix *m = mix_run(4, 2000, false);

	mix_check_sane(m);
	check_sockets_and_cross_counters(m);
	mix_free_ctx(m);
	dpm_fini();
}

Test(numa, no_arena_ever_holds_a_chunk_of_another_socket)
{
	struct dpm_config cfg;
	uint64_t walks = 0, visited = 0;

	sim_config(&cfg, 4);
	cfg.arenas_per_socket = 3;   /* more arenas than lcores per socket */
	init_with(&cfg);
	check_arena_sets(4);
	for (int s = 0; s < 4; s++)
		cr_assert_eq(dpm_state.sockets[s].narenas, 3);
	struct mix *m = mix_run(4, 1500, true);

	mix_check_sane(m);
	/* While everything ran. */
	for (unsigned int i = 0; i < m->nlcores; i++) {
		walks += m->res[i].walks;
		visited += m->res[i].walk_visited;
		cr_assert_eq(m->res[i].walk_bad, 0);
	}
	cr_assert_geq(walks, 4, "the main lcore never walked every socket");
	cr_assert_gt(visited, 0);
	/* While every lcore held objects of every socket, nothing moving. */
	for (int s = 0; s < 4; s++) {
		const struct chunk_walk *w = &m->quiet[s];

		cr_assert_eq(w->bad, 0, "%s", w->msg);
		cr_assert_eq(w->unmapped, 0);
		cr_assert_gt(w->arena, 0, "socket %d: no arena chunk walked", s);
		cr_assert_gt(w->huge, 0, "socket %d: no huge chunk walked", s);
		cr_assert_eq(w->visited, m->quiet_stats[s].chunks_used + m->quiet_spares[s],
			     "socket %d: walked %lu chunks, stats say %lu used + %lu spare", s, w->visited,
			     m->quiet_stats[s].chunks_used, m->quiet_spares[s]);
	}
	/* And afterwards: the arenas and lcore bindings are unchanged. */
	check_arena_sets(4);
	for (unsigned int i = 0; i < m->nlcores; i++) {
		unsigned int l = m->lcores[i];

		cr_assert_not_null(dpm_state.lcore_arena[l]);
		cr_assert_eq(dpm_state.lcore_arena[l]->socket_id, lcore_mod4(l),
			     "lcore %u bound to an arena of socket %d", l, dpm_state.lcore_arena[l]->socket_id);
		cr_assert_eq(dpm_state.lcore_socket[l], lcore_mod4(l));
	}
	for (int s = 0; s < 4; s++) {
		struct chunk_walk w;

		walk_socket(s, true, &w);
		cr_assert_eq(w.bad, 0, "%s", w.msg);
		cr_assert_eq(w.huge, 0, "socket %d: huge chunks left after every free", s);
	}
	check_sockets_and_cross_counters(m);
	mix_free_ctx(m);
	dpm_fini();
}

Test(numa, no_tcache_ever_holds_or_hands_out_another_sockets_memory)
{
	struct dpm_config cfg;

	/* Three sockets over eight lcores: 3, 3 and 2 lcores per socket. */
	sim_config(&cfg, 3);
	init_with(&cfg);
	struct mix *m = mix_run(3, 1500, false);

	mix_check_sane(m);
	for (unsigned int i = 0; i < m->nlcores; i++) {
		const struct lcore_result *r = &m->res[i];
		struct tcache *tc = tcache_get(r->lcore);

		cr_assert_not_null(tc, "lcore %u has no tcache", r->lcore);
		cr_assert_eq(tc->socket_id, lcore_mod3(r->lcore));
		cr_assert_eq(tc->arena->socket_id, tc->socket_id);
		cr_assert(!r->tc_missing && !r->tc_wrong_socket);
		/* every 1024 iterations, then after the drain, at the end and
		 * before the final flush */
		cr_assert_geq(r->tc_walks, MIN_ITERS / 1024 + 3, "lcore %u walked its tcache %lu times", r->lcore,
			      r->tc_walks);
		cr_assert_gt(r->tc_checked, 0, "lcore %u never had cached objects to check", r->lcore);
		cr_assert_eq(r->tc_foreign, 0, "lcore %u: %lu foreign objects cached", r->lcore, r->tc_foreign);
		cr_assert_eq(r->tc_remote_local, 0);
		cr_assert_eq(r->own_malloc_foreign, 0,
			     "lcore %u: dpm_malloc handed out another socket's memory", r->lcore);
		cr_assert_gt(r->by_api[0], 0);
	}
	check_sockets_and_cross_counters(m);
	mix_free_ctx(m);
	dpm_fini();
}

/* ------------------------------------------------------------------------
 * Exhaustion policies: socket 1 capped at 64 MiB, filled with 8 MiB huge
 * objects. Spans start at 16 MiB and grow in chunk multiples within the
 * cap; with spans that are multiples of 8 MiB the cap holds exactly eight.
 */

#define CAP (64 * MIB)
#define HUGE_FILL (8 * MIB)
#define NFILL (CAP / HUGE_FILL)

struct lcore_try {
	size_t size;
	void *p;
	int err;
	int socket;
};

static int lcore_try_malloc(void *arg)
{
	struct lcore_try *t = arg;

	t->p = dpm_malloc(t->size);
	t->err = t->p == NULL ? rte_errno : 0;
	t->socket = t->p != NULL ? dpm_socket_of(t->p) : -1;
	return 0;
}

static int lcore_free_and_flush(void *arg)
{
	struct lcore_try *t = arg;

	dpm_free(t->p);
	dpm_tcache_flush();
	return 0;
}

static unsigned int fill_socket(int s, void **p, unsigned int max)
{
	unsigned int n = 0;

	while (n < max) {
		p[n] = dpm_malloc_socket(HUGE_FILL, s);
		if (p[n] == NULL)
			break;
		cr_assert_eq(dpm_socket_of(p[n]), s, "object %u at %p: socket %d", n, p[n], dpm_socket_of(p[n]));
		obj_fill(p[n], HUGE_FILL, s, n);
		n++;
	}
	return n;
}

Test(numa, strict_exhaustion_fails_with_enomem_is_counted_and_recovers_after_frees)
{
	struct dpm_config cfg;
	void *p[NFILL + 4];
	struct lcore_try t = { .size = 64 };

	sim_config(&cfg, 2);
	cfg.first_span_size = 16 * MIB;
	cfg.socket_limit[1] = CAP;
	init_with(&cfg);
	cr_assert_eq(cfg.exhaust_policy, DPM_EXHAUST_STRICT, "strict is the default");
	cr_assert_eq(lcore_mod2(rte_lcore_id()), 0);

	/* Asked of socket 1 from an lcore of socket 0. */
	cr_assert_eq(fill_socket(1, p, NFILL + 4), NFILL, "the cap holds exactly %zu objects", NFILL);
	struct dpm_socket_stats st = socket_stats(1);

	cr_assert_eq(st.bytes_reserved, CAP);
	cr_assert_eq(st.enomem, 1, "the refused allocation is counted once");
	rte_errno = 0;
	cr_assert_null(dpm_malloc_socket(HUGE_FILL, 1));
	cr_assert_eq(rte_errno, ENOMEM);
	cr_assert_null(dpm_malloc_socket(100 * 1024, 1), "a large object needs a chunk too");
	cr_assert_eq(rte_errno, ENOMEM);
	cr_assert_eq(socket_stats(1).enomem, 3);
	/* The lcores of socket 1 get ENOMEM from their own socket too... */
	cr_assert_eq(run_on_lcore(1, lcore_try_malloc, &t), 0);
	cr_assert_null(t.p, "lcore 1 got memory of socket %d", t.socket);
	cr_assert_eq(t.err, ENOMEM);
	cr_assert_eq(socket_stats(1).enomem, 4);
	/* Growing an object of the full socket fails and leaves it be: the
	 * new object would have to be on socket 1 too. */
	cr_assert_null(dpm_realloc(p[0], 2 * HUGE_FILL));
	cr_assert_eq(rte_errno, ENOMEM);
	cr_assert_null(obj_check(p[0]));
	cr_assert_eq(dpm_socket_of(p[0]), 1);
	cr_assert_eq(socket_stats(1).enomem, 5);
	/* ... and nothing spilled over: socket 0 is untouched and works. */
	cr_assert_eq(socket_stats(0).enomem, 0);
	cr_assert_eq(socket_stats(0).fallback_in, 0);
	for (int s = 0; s < 2; s++)
		cr_assert_eq(dpm_stats_fallback(1, s), 0);
	void *q = dpm_malloc(HUGE_FILL);

	cr_assert_not_null(q);
	cr_assert_eq(dpm_socket_of(q), 0);
	dpm_free(q);

	/* One free makes room for one object again. */
	dpm_free(p[NFILL - 1]);
	p[NFILL - 1] = dpm_malloc_socket(HUGE_FILL, 1);
	cr_assert_not_null(p[NFILL - 1], "socket 1 does not recover after a free");
	cr_assert_eq(dpm_socket_of(p[NFILL - 1]), 1);
	obj_fill(p[NFILL - 1], HUGE_FILL, 1, 99);
	for (unsigned int i = 0; i < NFILL; i++) {
		cr_assert_null(obj_check(p[i]));
		dpm_free(p[i]);
	}
	/* Everything back: lcore 1 allocates on its socket again. */
	cr_assert_eq(run_on_lcore(1, lcore_try_malloc, &t), 0);
	cr_assert_not_null(t.p, "lcore 1 still gets ENOMEM after every free");
	cr_assert_eq(t.socket, 1);
	cr_assert_eq(run_on_lcore(1, lcore_free_and_flush, &t), 0);
	st = socket_stats(1);
	cr_assert_eq(st.nmalloc, st.nfree);
	cr_assert_eq(st.bytes_allocated, 0);
	cr_assert_eq(st.enomem, 5, "successful allocations are not counted as enomem");
	/* Trimmed empty, the whole cap serves a single object. */
	cr_assert_eq(dpm_trim_socket(1), CAP);
	q = dpm_malloc_socket(CAP, 1);
	cr_assert_not_null(q, "an object of exactly the cap: %s", rte_strerror(rte_errno));
	cr_assert_eq(dpm_socket_of(q), 1);
	cr_assert_null(dpm_malloc_socket(1, 1), "nothing is left beside it");
	cr_assert_eq(rte_errno, ENOMEM);
	dpm_free(q);
	dpm_fini();
}

Test(numa, fallback_serves_the_next_socket_id_and_frees_go_back_there)
{
	struct dpm_config cfg;
	void *p[NFILL + 4], *q[4];
	struct lcore_try t = { .size = 64 };

	sim_config(&cfg, 4);
	cfg.first_span_size = 16 * MIB;
	cfg.exhaust_policy = DPM_EXHAUST_FALLBACK;
	cfg.socket_limit[1] = CAP;
	cfg.socket_limit[3] = 16 * MIB;
	init_with(&cfg);
	cr_assert_eq(lcore_mod4(rte_lcore_id()), 0);

	/* Fill socket 1 up to its cap: all of it from socket 1. */
	cr_assert_eq(fill_socket(1, p, NFILL), NFILL);
	cr_assert_eq(socket_stats(1).bytes_reserved, CAP);
	for (int s = 0; s < 4; s++)
		cr_assert_eq(dpm_stats_fallback(1, s), 0, "fallback before the cap was reached");

	/* Beyond it: socket 2, the next id. */
	q[0] = dpm_malloc_socket(HUGE_FILL, 1);
	cr_assert_not_null(q[0], "fallback policy returned NULL: %s", rte_strerror(rte_errno));
	cr_assert_eq(dpm_socket_of(q[0]), 2);
	obj_fill(q[0], HUGE_FILL, 2, 1);
	cr_assert_eq(dpm_stats_fallback(1, 2), 1);
	cr_assert_eq(dpm_stats_fallback(1, 3), 0);
	cr_assert_eq(dpm_stats_fallback(1, 0), 0);
	cr_assert_eq(socket_stats(2).fallback_in, 1);
	cr_assert_eq(socket_stats(0).fallback_in, 0);
	cr_assert_eq(socket_stats(3).fallback_in, 0);

	/* An lcore of socket 1 (lcore 1) falls back the same way, through
	 * dpm_malloc; the object is then a remote free for it. */
	cr_assert_eq(run_on_lcore(1, lcore_try_malloc, &t), 0);
	cr_assert_not_null(t.p);
	cr_assert_eq(t.socket, 2, "lcore 1's fallback went to socket %d", t.socket);
	cr_assert_eq(dpm_stats_fallback(1, 2), 2);
	cr_assert_eq(socket_stats(2).fallback_in, 2);
	cr_assert_eq(socket_stats(1).enomem, 2, "socket 1 could not serve either of the two");
	cr_assert_eq(socket_stats(2).enomem, 0);
	uint64_t cross12 = dpm_stats_cross_socket(1, 2);

	cr_assert_eq(run_on_lcore(1, lcore_free_and_flush, &t), 0);
	cr_assert_eq(dpm_stats_cross_socket(1, 2), cross12 + 1, "freed by lcore 1, counted as 1 -> 2");

	/* The last socket wraps around to socket 0. */
	cr_assert_eq(fill_socket(3, q + 1, 2), 2, "socket 3's 16 MiB cap holds two objects");
	cr_assert_eq(dpm_stats_fallback(3, 0), 0);
	q[3] = dpm_malloc_socket(HUGE_FILL, 3);
	cr_assert_not_null(q[3]);
	cr_assert_eq(dpm_socket_of(q[3]), 0, "socket 3 falls back to socket %d", dpm_socket_of(q[3]));
	cr_assert_eq(dpm_stats_fallback(3, 0), 1);
	cr_assert_eq(socket_stats(0).fallback_in, 1);
	cr_assert_eq(socket_stats(3).enomem, 1);

	/* Freeing the fallback objects returns them to where they came from. */
	struct dpm_socket_stats before2 = socket_stats(2), before1 = socket_stats(1);

	cr_assert_null(obj_check(q[0]));
	dpm_free(q[0]);
	dpm_free(q[3]);
	struct dpm_socket_stats after2 = socket_stats(2);

	cr_assert_eq(after2.nfree, before2.nfree + 1);
	cr_assert_eq(socket_stats(1).nfree, before1.nfree, "socket 1 got back what it never gave");
	for (int s = 0; s < 4; s++) {
		if (s == 1 || s == 3)
			continue;
		struct dpm_socket_stats st = socket_stats(s);

		cr_assert_eq(st.nmalloc, st.nfree, "socket %d does not balance", s);
		cr_assert_eq(st.bytes_allocated, 0, "socket %d", s);
		cr_assert_eq(st.chunks_used, 0, "socket %d", s);
	}
	for (unsigned int i = 0; i < NFILL; i++)
		dpm_free(p[i]);
	dpm_free(q[1]);
	dpm_free(q[2]);
	for (int s = 0; s < 4; s++) {
		struct dpm_socket_stats st = socket_stats(s);

		cr_assert_eq(st.nmalloc, st.nfree, "socket %d does not balance", s);
		cr_assert_eq(st.bytes_allocated, 0, "socket %d", s);
	}
	dpm_fini();
}

/* ------------------------------------------------------------------------
 * Routing: memory of socket 1, allocated by lcore 0 (socket 0), freed by
 * lcore 2 (socket 2), goes home to socket 1.
 */

#define R_SMALL 100
#define R_CACHED_LARGE 10    /* 20 KiB: a class the tcache covers */
#define R_LARGE 5            /* 100 KiB: beyond tcache_max_size */
#define R_HUGE 2
#define R_TOTAL (R_SMALL + R_CACHED_LARGE + R_LARGE + R_HUGE)
#define R_BUFFERED (R_SMALL + R_CACHED_LARGE)

struct route {
	void *p[R_TOTAL];
	unsigned int n;
	unsigned int nremote_after;   /* lcore 2's remote buffer before its flush */
	uint64_t cross_before_flush;
	unsigned int cached_after;    /* objects in lcore 2's stacks */
	int tc_socket;
};

static int route_free_on_lcore2(void *arg)
{
	struct route *rt = arg;
	struct tcache *tc;

	for (unsigned int i = 0; i < rt->n; i++)
		dpm_free(rt->p[i]);
	tc = tcache_get(rte_lcore_id());
	rt->tc_socket = tc != NULL ? tc->socket_id : -1;
	rt->nremote_after = tc != NULL ? tc->nremote : UINT32_MAX;
	rt->cached_after = 0;
	for (unsigned int c = 0; tc != NULL && c < tc->nbins; c++)
		rt->cached_after += tcache_bin_ncached(&tc->bins[c]);
	rt->cross_before_flush = dpm_stats_cross_socket(2, 1);
	dpm_tcache_flush();
	return 0;
}

static int route_free_plain(void *arg)
{
	struct route *rt = arg;

	for (unsigned int i = 0; i < rt->n; i++)
		dpm_free(rt->p[i]);
	return 0;
}

Test(numa, frees_route_by_the_chunks_socket_not_the_freeing_lcores)
{
	struct dpm_config cfg;
	struct route rt = { .n = 0 };
	struct dpm_class_stats cs;

	sim_config(&cfg, 4);
	cfg.tcache_max_size = (size_t)32 << 10;   /* 100 KiB objects are not cached */
	init_with(&cfg);
	cr_assert_eq(lcore_mod4(rte_lcore_id()), 0);
	cr_assert_eq(lcore_mod4(2), 2);

	struct dpm_socket_stats s1a = socket_stats(1);

	for (unsigned int i = 0; i < R_TOTAL; i++) {
		size_t size = i < R_SMALL ? 64 :
			      i < R_BUFFERED ? 20 * 1024 :
			      i < R_BUFFERED + R_LARGE ? 100 * 1024 : 3 * MIB;

		rt.p[rt.n] = dpm_malloc_socket(size, 1);
		cr_assert_not_null(rt.p[rt.n]);
		cr_assert_eq(dpm_socket_of(rt.p[rt.n]), 1);
		obj_fill(rt.p[rt.n], size, 1, i);
		rt.n++;
	}
	cr_assert(tcache_class(20 * 1024) && !tcache_class(100 * 1024), "sizes no longer straddle the tcache");
	struct dpm_socket_stats s1b = socket_stats(1), s2b = socket_stats(2), s0b = socket_stats(0);

	cr_assert_eq(s1b.nmalloc - s1a.nmalloc, R_TOTAL, "allocating lcore of another socket: no tcache batches");
	cr_assert_eq(s0b.nmalloc, 0, "socket 0 served an object asked of socket 1");

	cr_assert_eq(run_on_lcore(2, route_free_on_lcore2, &rt), 0);
	cr_assert_eq(rt.tc_socket, 2);
	cr_assert_eq(rt.cached_after, 0, "socket 1 memory entered lcore 2's stacks");
	cr_assert_eq(rt.nremote_after, R_BUFFERED % TCACHE_REMOTE_MAX);
	cr_assert_eq(rt.cross_before_flush, R_LARGE + R_HUGE + R_BUFFERED / TCACHE_REMOTE_MAX * TCACHE_REMOTE_MAX,
		     "huge and uncached large frees are counted at once, the rest per batch");

	struct dpm_socket_stats s1c = socket_stats(1), s2c = socket_stats(2);

	cr_assert_eq(s1c.nfree - s1b.nfree, R_TOTAL, "socket 1 got %lu of %u back", s1c.nfree - s1b.nfree,
		     R_TOTAL);
	cr_assert_eq(s1c.nmalloc, s1c.nfree);
	cr_assert_eq(s1c.bytes_allocated, 0);
	cr_assert_eq(s1c.chunks_used, 0);
	cr_assert_eq(s2c.nfree, s2b.nfree, "socket 2 took frees of socket 1 memory");
	cr_assert_eq(s2c.nmalloc, s2b.nmalloc);
	cr_assert_eq(dpm_stats_class(1, sc_size2class(64), &cs), 0);
	cr_assert_eq(cs.curregs, 0);
	cr_assert_eq(dpm_stats_class(2, sc_size2class(64), &cs), 0);
	cr_assert_eq(cs.nfree, 0);
	cr_assert_eq(dpm_stats_cross_socket(2, 1), R_TOTAL);
	cr_assert_eq(s1c.remote_frees_in, R_TOTAL);
	for (int f = 0; f < 4; f++)
		for (int t = 0; t < 4; t++)
			if (!(f == 2 && t == 1))
				cr_assert_eq(dpm_stats_cross_socket(f, t), 0, "cross(%d,%d)", f, t);

	/* A plain pthread frees without a tcache: home all the same, and not
	 * counted as a cross-socket free (it belongs to no socket). */
	rt.n = 0;
	for (unsigned int i = 0; i < 10; i++) {
		rt.p[rt.n] = dpm_malloc_socket(i < 5 ? 64 : 100 * 1024, 1);
		cr_assert_not_null(rt.p[rt.n]);
		rt.n++;
	}
	struct dpm_socket_stats s1d = socket_stats(1);

	cr_assert_eq(dpm_test_run_on_pthread(route_free_plain, &rt), 0);
	struct dpm_socket_stats s1e = socket_stats(1);

	cr_assert_eq(s1e.nfree - s1d.nfree, 10);
	cr_assert_eq(s1e.nmalloc, s1e.nfree);
	cr_assert_eq(dpm_stats_cross_socket(2, 1), R_TOTAL);
	cr_assert_eq(dpm_stats_cross_socket(0, 1), 0);
	dpm_fini();
}

/* ------------------------------------------------------------------------
 * Memory return.
 */

#define DECAY_MS 200
#define BURST_HUGE 30

/* n huge objects of 3 MiB (two chunks each) on socket s. */
static void burst_huge(void **p, unsigned int n, int s)
{
	for (unsigned int i = 0; i < n; i++) {
		p[i] = dpm_malloc_socket(3 * MIB, s);
		cr_assert_not_null(p[i], "burst: %s", rte_strerror(rte_errno));
		cr_assert_eq(dpm_socket_of(p[i]), s);
		obj_fill(p[i], 3 * MIB, s, i);
	}
}

static void free_all(void **p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		cr_assert_null(obj_check(p[i]));
		dpm_free(p[i]);
	}
}

/* Whether less than the decay time has passed since t0, when the spans
 * began to become free. The "nothing yet" checks are only sound then; a
 * machine so loaded that it stalled the test longer skips them. */
static bool within_decay(uint64_t t0)
{
	if (rte_get_tsc_cycles() - t0 < rte_get_tsc_hz() / 1000 * DECAY_MS)
		return true;
	cr_log_warn("stalled beyond the decay time: a too-early check is skipped");
	return false;
}

/*
 * Decay needs no call: EAL's alarm (every DECAY_MS / 10) gives back spans
 * idle for DECAY_MS, on every simulated socket, while the test only sleeps
 * and reads statistics (which never decay anything).
 */
Test(numa, idle_spans_of_simulated_sockets_decay_back_with_no_call)
{
	struct dpm_config cfg;
	void *p[BURST_HUGE];

	sim_config(&cfg, 2);
	cfg.first_span_size = 4 * MIB;
	cfg.span_decay_ms = DECAY_MS;
	init_with(&cfg);
	dpm_free(dpm_malloc(64));   /* socket 0 keeps the small object's chunk */
	struct dpm_socket_stats d0 = socket_stats(0);

	/* Socket 1, from lcore 0: a huge-object burst of 120 MiB grows it
	 * from a 4 MiB first span by several geometrically growing spans;
	 * socket 0 gets one too. */
	burst_huge(p, BURST_HUGE, 1);
	struct dpm_socket_stats a = socket_stats(1);

	cr_assert_geq(a.spans, 3, "only %lu spans", a.spans);
	cr_assert_eq(a.spans_reserved, a.spans);
	cr_assert_eq(a.bytes_retained, 0, "spans in use are not retained");
	uint64_t t0 = rte_get_tsc_cycles();

	free_all(p, BURST_HUGE);
	burst_huge(p, BURST_HUGE / 2, 0);
	free_all(p, BURST_HUGE / 2);
	struct dpm_socket_stats b = socket_stats(1);

	cr_assert_eq(b.chunks_used, 0);
	if (within_decay(t0)) {
		cr_assert_eq(b.spans_returned, 0, "returned before the decay time");
		cr_assert_eq(b.spans, a.spans);
		cr_assert_eq(b.bytes_retained, b.bytes_reserved, "every span is free and retained");
	}
	sleep_ms(DECAY_MS / 2);
	if (within_decay(t0))
		cr_assert_eq(socket_stats(1).spans_returned, 0, "spans returned after half the decay time");

	/* No call for the decay time and a margin: every idle span is back. */
	sleep_ms(DECAY_MS + DECAY_MS / 2 + 200);
	struct dpm_socket_stats c = socket_stats(1), f0 = socket_stats(0);

	cr_assert_eq(c.spans, 0, "%lu spans left on socket 1", c.spans);
	cr_assert_eq(c.spans_returned, c.spans_reserved);
	cr_assert_eq(c.bytes_reserved, 0);
	cr_assert_eq(f0.spans_returned - d0.spans_returned, f0.spans_reserved - d0.spans_reserved,
		     "every span of socket 0's burst went back");
	cr_assert_eq(f0.bytes_retained, 0, "an idle free span is left: %lu bytes", f0.bytes_retained);
	cr_assert_eq(f0.chunks_used, 1, "the small object's chunk");

	/* The next burst works, on both sockets. */
	burst_huge(p, BURST_HUGE / 2, 0);
	free_all(p, BURST_HUGE / 2);
	burst_huge(p, BURST_HUGE, 1);
	free_all(p, BURST_HUGE);
	cr_assert_gt(socket_stats(1).spans_reserved, a.spans_reserved);
	dpm_fini();
}

/* Large objects on socket 1 from lcore 1 (its own arena: tcache-cached and
 * uncached classes), huge ones from lcore 0. */
#define TRIM_LARGE 200

static void *trim_large[TRIM_LARGE];

static int trim_burst_lcore1(void *arg)
{
	for (unsigned int i = 0; i < TRIM_LARGE; i++) {
		size_t size = i % 2 ? 24 * 1024 : 200 * 1024;

		trim_large[i] = dpm_malloc(size);
		if (trim_large[i] == NULL || dpm_socket_of(trim_large[i]) != 1)
			return -1;
		obj_fill(trim_large[i], size, 1, i);
	}
	RTE_SET_USED(arg);
	return 0;
}

static int trim_free_lcore1(void *arg)
{
	RTE_SET_USED(arg);
	for (unsigned int i = 0; i < TRIM_LARGE; i++) {
		if (obj_check(trim_large[i]) != NULL)
			return -1;
		dpm_free(trim_large[i]);
	}
	return 0;
}

Test(numa, trim_socket_gives_a_simulated_sockets_free_spans_back_when_decay_is_off)
{
	struct dpm_config cfg;
	void *p[BURST_HUGE];

	sim_config(&cfg, 2);
	cfg.first_span_size = 4 * MIB;
	cfg.span_decay_ms = 0;
	init_with(&cfg);
	dpm_free(dpm_malloc(64));   /* socket 0 gets a span */
	struct dpm_socket_stats s0 = socket_stats(0);

	for (int round = 0; round < 2; round++) {
		burst_huge(p, BURST_HUGE, 1);
		cr_assert_eq(run_on_lcore(1, trim_burst_lcore1, NULL), 0, "round %d: large burst failed", round);
		struct dpm_socket_stats a = socket_stats(1);

		cr_assert_geq(a.spans, 5);
		free_all(p, BURST_HUGE);
		cr_assert_eq(run_on_lcore(1, trim_free_lcore1, NULL), 0);
		flush_all_lcores();
		sleep_ms(20);
		dpm_free(dpm_malloc_socket(3 * MIB, 1));   /* a slow path: nothing decays */
		struct dpm_socket_stats b = socket_stats(1);

		cr_assert_eq(b.spans, a.spans, "round %d: spans went back without a trim", round);
		cr_assert_eq(b.chunks_used, 0);
		cr_assert_gt(b.bytes_retained, 0);
		cr_assert_lt(b.bytes_retained, b.bytes_reserved, "an arena's spare chunk keeps its span");

		size_t got = dpm_trim_socket(1);
		struct dpm_socket_stats c = socket_stats(1);

		cr_assert_eq(got, b.bytes_reserved, "round %d: trimmed %zu of %lu", round, got, b.bytes_reserved);
		cr_assert_eq(c.spans, 0);
		cr_assert_eq(c.bytes_reserved, 0);
		cr_assert_eq(c.bytes_retained, 0);
		cr_assert_eq(c.spans_returned, c.spans_reserved);
		cr_assert_eq(c.nmalloc, c.nfree);
		/* socket 0 was not trimmed */
		struct dpm_socket_stats z = socket_stats(0);

		cr_assert_eq(z.spans, s0.spans);
		cr_assert_eq(z.spans_returned, 0);
	}
	cr_assert_eq(dpm_trim_socket(7), 0, "an unknown socket");
	cr_assert_eq(rte_errno, EINVAL);
	dpm_fini();
}

static void heap_stats(struct rte_malloc_socket_stats *st)
{
	cr_assert_eq(rte_malloc_get_socket_stats(0, st), 0);
}

Test(numa, memzone_spans_go_back_to_dpdk_on_trim_and_the_next_burst_works)
{
	struct dpm_config cfg;
	void *p[BURST_HUGE + 200];
	struct rte_malloc_socket_stats h0, h1, h2;

	dpm_config_defaults(&cfg);
	cfg.first_span_size = 4 * MIB;
	cfg.span_decay_ms = 0;
	init_with(&cfg);
	cr_assert_eq(dpm_state.cfg.zone_source, DPM_ZONE_MEMZONE);
	dpm_free(dpm_malloc(64));
	dpm_tcache_flush();
	dpm_trim();
	unsigned int mz0 = dpm_memzone_count(), walk0 = dpm_test_memzone_walk_count();
	uint64_t meta0 = socket_stats(0).bytes_metadata;

	cr_assert_eq(socket_stats(0).spans, 0);
	heap_stats(&h0);
	for (int round = 0; round < 2; round++) {
		unsigned int n = 0;

		for (unsigned int i = 0; i < BURST_HUGE; i++) {
			p[n] = dpm_malloc(3 * MIB);
			cr_assert_not_null(p[n], "round %d: %s", round, rte_strerror(rte_errno));
			obj_fill(p[n], 3 * MIB, 0, i);
			n++;
		}
		for (unsigned int i = 0; i < 200; i++) {
			size_t size = i % 2 ? 64 * 1024 : 1000;

			p[n] = dpm_malloc(size);
			cr_assert_not_null(p[n]);
			obj_fill(p[n], size, 0, i);
			n++;
		}
		struct dpm_socket_stats a = socket_stats(0);
		unsigned int mz1 = dpm_memzone_count();

		heap_stats(&h1);
		cr_assert_geq(a.spans, 5);
		cr_assert_geq(mz1, mz0 + a.spans, "round %d: %u memzones for %lu spans", round, mz1, a.spans);
		cr_assert_eq(dpm_test_memzone_walk_count() - walk0, mz1 - mz0, "DPDK sees the same memzones");
		cr_assert_geq(h1.heap_allocsz_bytes, h0.heap_allocsz_bytes + a.bytes_reserved);

		free_all(p, n);
		dpm_tcache_flush();
		size_t got = dpm_trim();
		struct dpm_socket_stats b = socket_stats(0);

		heap_stats(&h2);
		cr_assert_eq(got, a.bytes_reserved, "round %d: trimmed %zu of %lu", round, got, a.bytes_reserved);
		cr_assert_eq(b.spans, 0);
		cr_assert_eq(b.spans_returned - a.spans_returned, a.spans);
		cr_assert_eq(dpm_memzone_count(), mz1 - a.spans, "memzones left: %u", dpm_memzone_count());
		cr_assert_eq(dpm_test_memzone_walk_count() - walk0, dpm_memzone_count() - mz0);
		cr_assert_geq(h1.heap_allocsz_bytes - h2.heap_allocsz_bytes, got,
			      "DPDK's heap got %lu bytes back for %zu trimmed",
			      h1.heap_allocsz_bytes - h2.heap_allocsz_bytes, got);
		cr_assert_eq(h1.alloc_count - h2.alloc_count, a.spans, "one DPDK allocation per span");
		/* Back to where it started, but for metadata blocks (never
		 * returned before dpm_fini()) reserved meanwhile. */
		uint64_t meta = b.bytes_metadata - meta0;

		cr_assert_leq(h2.heap_allocsz_bytes - h0.heap_allocsz_bytes,
			      meta + (dpm_memzone_count() - mz0) * 64 * 1024,
			      "DPDK's heap holds %lu bytes more than before the burst (metadata: %lu)",
			      h2.heap_allocsz_bytes - h0.heap_allocsz_bytes, meta);
		/* With hugepages the heap itself shrinks: the pages go back to
		 * the system (under --no-huge the heap is one fixed area). */
		if (dpm_test_eal_mode() == DPM_TEST_EAL_HUGE)
			cr_assert_leq(h2.heap_totalsz_bytes,
				      h0.heap_totalsz_bytes + RTE_ALIGN_CEIL(meta, 2 * MIB),
				      "hugepages were not given back: heap %lu bytes, %lu before the burst",
				      h2.heap_totalsz_bytes, h0.heap_totalsz_bytes);
	}
	dpm_fini();
}

/* ------------------------------------------------------------------------
 * Placement with real memory (one node here).
 */

Test(numa, real_memory_is_on_the_numa_node_of_its_socket)
{
	void *p[64];
	unsigned int n = 0, mismatched = 99;
	int rc, node;

	init_with(NULL);
	for (unsigned int i = 0; i < 64; i++) {
		size_t size = i < 40 ? 64 + i * 100 : i < 60 ? 64 * 1024 : 3 * MIB;

		p[n] = i % 2 ? dpm_malloc_socket(size, 0) : dpm_malloc(size);
		cr_assert_not_null(p[n]);
		cr_assert_eq(dpm_socket_of(p[n]), 0);
		memset(p[n], 0xa5, RTE_MIN(size, (size_t)8192));   /* touch */
		n++;
	}
	node = dpm_numa_node_of(p[0]);
	if (node < 0 && rte_errno == ENOTSUP)
		cr_skip_test("the kernel cannot tell where pages are (move_pages unavailable here)");
	for (unsigned int i = 0; i < n; i++) {
		node = dpm_numa_node_of(p[i]);
		cr_assert_geq(node, 0, "object %u: %s", i, rte_strerror(rte_errno));
		cr_assert_eq(node, dpm_socket_of(p[i]), "object %u of socket %d is on node %d", i,
			     dpm_socket_of(p[i]), node);
	}
	rc = dpm_placement_check_socket(0, &mismatched);
	cr_assert_gt(rc, 0, "no chunk checked: %d (%s)", rc, rc < 0 ? rte_strerror(rte_errno) : "");
	cr_assert_eq(mismatched, 0);

	/* A page never touched has no node yet (under --no-huge, where pages
	 * come on first touch; hugepages are all there from the start). */
	void *q = dpm_malloc(6 * MIB);

	cr_assert_not_null(q);
	node = dpm_numa_node_of((char *)q + 4 * MIB);
	if (dpm_test_eal_hugepages()) {
		cr_assert_eq(node, 0, "hugepage not on node 0: %d (%s)", node, rte_strerror(rte_errno));
	} else if (node < 0) {
		cr_assert_eq(rte_errno, ENOENT, "untouched page: %s", rte_strerror(rte_errno));
		((volatile char *)q)[4 * MIB] = 1;
		cr_assert_eq(dpm_numa_node_of((char *)q + 4 * MIB), 0, "touched page not on node 0");
	} else {
		cr_assert_eq(node, 0);
	}
	cr_assert_eq(dpm_numa_node_of(&node), -1, "a stack address is not ours");
	cr_assert_eq(rte_errno, EINVAL);
	dpm_free(q);
	for (unsigned int i = 0; i < n; i++)
		dpm_free(p[i]);
	dpm_fini();
}

/* ------------------------------------------------------------------------
 * Every way of asking for memory lands on the socket it names.
 */

struct who_asks {
	int got[8];                /* dpm_socket_of of each object, -1: NULL */
	int lcore;
};

/* malloc, SOCKET_ID_ANY, bulk, calloc, aligned, huge, realloc of an object
 * of socket 3 (stays there), explicit socket 1. */
static int who_asks_fn(void *arg)
{
	struct who_asks *w = arg;
	void *p[8], *bulk[16];
	unsigned int i;

	w->lcore = (int)rte_lcore_id();
	p[0] = dpm_malloc(100);
	p[1] = dpm_malloc_socket(100, SOCKET_ID_ANY);
	p[2] = dpm_malloc_bulk(bulk, 16, 64) == 16 ? bulk[0] : NULL;
	p[3] = dpm_calloc(10, 100);
	p[4] = dpm_aligned_alloc(4096, 10000);
	p[5] = dpm_malloc(3 * MIB);
	p[6] = dpm_realloc(dpm_malloc_socket(100, 3), 50000);
	p[7] = dpm_malloc_socket(100, 1);
	for (i = 0; i < 8; i++)
		w->got[i] = p[i] != NULL ? dpm_socket_of(p[i]) : -1;
	for (i = 2; p[2] != NULL && i < 16; i++)
		if (dpm_socket_of(bulk[i]) != w->got[2])
			w->got[2] = -2;
	for (i = 0; i < 8; i++)
		dpm_free(p[i]);
	if (p[2] != NULL)
		dpm_free_bulk(bulk + 1, 15);
	dpm_tcache_flush();
	return 0;
}

static void *registered_fn(void *arg)
{
	struct who_asks *w = arg;

	w->lcore = -1;
	if (rte_thread_register() != 0)
		return NULL;
	who_asks_fn(w);
	rte_thread_unregister();
	return NULL;
}

static void check_who_asks(const struct who_asks *w, int own, const char *who)
{
	static const char *const what[8] = {
		"dpm_malloc", "dpm_malloc_socket(SOCKET_ID_ANY)", "dpm_malloc_bulk", "dpm_calloc",
		"dpm_aligned_alloc", "dpm_malloc (huge)", "dpm_realloc of socket 3 memory",
		"dpm_malloc_socket(1)",
	};

	for (unsigned int i = 0; i < 8; i++) {
		int want = i == 6 ? 3 : i == 7 ? 1 : own;

		cr_assert_eq(w->got[i], want, "%s: %s gave memory of socket %d, not %d", who, what[i], w->got[i],
			     want);
	}
}

Test(numa, every_allocation_call_lands_on_the_socket_it_names)
{
	struct dpm_config cfg;
	struct who_asks w;
	pthread_t t;

	sim_config(&cfg, 4);
	cfg.non_lcore_socket = 2;
	init_with(&cfg);

	/* Explicit sockets, from lcore 0 of socket 0. */
	for (int s = 0; s < 4; s++) {
		void *p[5];

		p[0] = dpm_malloc_socket(100, s);
		p[1] = dpm_zmalloc_socket(20000, s);
		p[2] = dpm_aligned_alloc_socket(4096, 10000, s);
		p[3] = dpm_aligned_alloc_socket(4 * MIB, 5 * MIB, s);
		p[4] = dpm_realloc(dpm_malloc_socket(100, s), 200 * 1024);
		for (int i = 0; i < 5; i++) {
			cr_assert_not_null(p[i], "call %d on socket %d", i, s);
			cr_assert_eq(dpm_socket_of(p[i]), s, "call %d asked of socket %d", i, s);
		}
		cr_assert_eq((uintptr_t)p[3] & (4 * MIB - 1), 0);
		/* realloc keeps the socket through every size kind */
		p[4] = dpm_realloc(p[4], 3 * MIB);
		cr_assert_eq(dpm_socket_of(p[4]), s);
		p[4] = dpm_realloc(p[4], 64);
		cr_assert_eq(dpm_socket_of(p[4]), s);
		for (int i = 0; i < 5; i++)
			dpm_free(p[i]);
	}
	for (int s = 4; s <= RTE_MAX_NUMA_NODES; s++) {
		rte_errno = 0;
		cr_assert_null(dpm_malloc_socket(100, s), "socket %d is not simulated", s);
		cr_assert_eq(rte_errno, EINVAL);
	}
	cr_assert_null(dpm_malloc_socket(100, -7));
	cr_assert_eq(rte_errno, EINVAL);

	/* The caller's socket: lcore 0, lcore 1 (socket 1), lcore 6 (socket 2),
	 * a registered thread (lcore 8 -> socket 0 by the hook), and a plain
	 * pthread (non_lcore_socket = 2). */
	memset(&w, 0, sizeof(w));
	who_asks_fn(&w);
	check_who_asks(&w, 0, "lcore 0");
	memset(&w, 0, sizeof(w));
	cr_assert_eq(run_on_lcore(1, who_asks_fn, &w), 0);
	check_who_asks(&w, 1, "lcore 1");
	memset(&w, 0, sizeof(w));
	cr_assert_eq(run_on_lcore(6, who_asks_fn, &w), 0);
	check_who_asks(&w, 2, "lcore 6");
	memset(&w, 0, sizeof(w));
	cr_assert_eq(pthread_create(&t, NULL, registered_fn, &w), 0);
	pthread_join(t, NULL);
	cr_assert_geq(w.lcore, DPM_TEST_LCORES, "rte_thread_register failed");
	check_who_asks(&w, lcore_mod4((unsigned int)w.lcore), "a registered thread");
	memset(&w, 0, sizeof(w));
	cr_assert_eq(dpm_test_run_on_pthread(who_asks_fn, &w), 0);
	cr_assert_eq(w.lcore, (int)LCORE_ID_ANY);
	check_who_asks(&w, 2, "a plain pthread");

	for (int s = 0; s < 4; s++) {
		struct dpm_socket_stats st = socket_stats(s);

		cr_assert_eq(st.nmalloc, st.nfree, "socket %d", s);
		cr_assert_eq(st.bytes_allocated, 0, "socket %d", s);
	}
	dpm_fini();
}

Test(numa, simulated_sockets_are_labels_that_placement_queries_refuse)
{
	struct dpm_config cfg;
	unsigned int mismatched = 99;

	sim_config(&cfg, 2);
	init_with(&cfg);
	void *p = dpm_malloc_socket(1000, 1);

	cr_assert_not_null(p);
	memset(p, 1, 1000);
	cr_assert_eq(dpm_socket_of(p), 1);
	cr_assert_eq(dpm_numa_node_of(p), -1);
	cr_assert_eq(rte_errno, ENOTSUP);
	cr_assert_eq(dpm_placement_check_socket(1, &mismatched), -1);
	cr_assert_eq(rte_errno, ENOTSUP);
	cr_assert_eq(mismatched, 99, "nothing written on failure");
	cr_assert_eq(dpm_placement_check_socket(2, NULL), -1, "socket 2 is not simulated");
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(dpm_virt2iova(p), RTE_BAD_IOVA);
	dpm_free(p);
	dpm_fini();
}

/* Bulk allocation on an lcore follows the socket policy as dpm_malloc()
 * does: a fill that comes up short falls back, and the shortfall is
 * counted. */
struct lcore_bulk {
	void *p[16];
	unsigned int got;
	int socket;
};

static int lcore_try_bulk(void *arg)
{
	struct lcore_bulk *b = arg;

	b->got = dpm_malloc_bulk(b->p, RTE_DIM(b->p), 64);
	b->socket = b->got > 0 ? dpm_socket_of(b->p[0]) : -1;
	for (unsigned int i = 1; i < b->got; i++)
		if (dpm_socket_of(b->p[i]) != b->socket)
			b->socket = -2;
	return 0;
}

static int lcore_free_bulk_and_flush(void *arg)
{
	struct lcore_bulk *b = arg;

	dpm_free_bulk(b->p, b->got);
	dpm_tcache_flush();
	return 0;
}

Test(numa, bulk_allocation_falls_back_like_dpm_malloc)
{
	struct dpm_config cfg;
	struct lcore_bulk b = { .got = 0 };
	void *p[NFILL];

	sim_config(&cfg, 2);
	cfg.first_span_size = 16 * MIB;
	cfg.exhaust_policy = DPM_EXHAUST_FALLBACK;
	cfg.socket_limit[1] = CAP;
	init_with(&cfg);
	cr_assert_eq(fill_socket(1, p, NFILL), NFILL);
	/* lcore 1 is on socket 1, which is full: the bulk comes from 0 */
	cr_assert_eq(run_on_lcore(1, lcore_try_bulk, &b), 0);
	cr_assert_eq(b.got, RTE_DIM(b.p), "bulk failed instead of falling back");
	cr_assert_eq(b.socket, 0, "bulk objects on socket %d", b.socket);
	cr_assert_geq(dpm_stats_fallback(1, 0), 1);
	cr_assert_geq(socket_stats(1).enomem, 1, "the shortfall is counted");
	cr_assert_eq(run_on_lcore(1, lcore_free_bulk_and_flush, &b), 0);
	for (unsigned int i = 0; i < NFILL; i++)
		dpm_free(p[i]);
	dpm_fini();
}
