/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * lcore_demo: every lcore allocates and frees a mix of small, large and
 * huge objects with dpmalloc, checking their contents; a share of the
 * objects is handed through an rte_ring to whichever lcore dequeues it
 * next, which checks and frees it (a free by another lcore, possibly of
 * another socket's memory). At the end it prints what each lcore and each
 * socket did, from the demo's own counts and from dpmalloc's statistics.
 *
 *   lcore_demo --no-pci --in-memory --lcores='(0-3)@(0-1)' [-- -n <rounds>]
 *   lcore_demo --no-huge -m 512 --no-pci --lcores='(0-3)@(0-1)'
 *
 * Exit status: 0 when every content check passed, 1 otherwise, 2 when the
 * demo could not run.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <dpmalloc.h>

/* Live objects each lcore keeps; the oldest is freed to make room. */
#define WINDOW 64
/* Objects in flight between lcores. */
#define HANDOFF_RING_SIZE 4096
#define OBJ_MAGIC 0xd9a110c5u

/* Every object starts with this header; the rest is a pattern of seed. */
struct obj_hdr {
	uint32_t magic;
	uint32_t owner;   /* lcore that allocated it */
	uint64_t size;
	uint64_t seed;
};

/* What the demo itself counted, per lcore (written by that lcore only). */
struct lcore_counts {
	uint64_t allocs[3];     /* small, large, huge */
	uint64_t frees_own;
	uint64_t handed_off;
	uint64_t received;      /* freed here, allocated elsewhere */
	uint64_t bad;           /* content check failures */
	uint64_t enomem;
} __rte_cache_aligned;

static struct lcore_counts counts[RTE_MAX_LCORE];
static struct rte_ring *handoff;
static unsigned int rounds = 20000;

/* A small xorshift: each lcore its own state, no shared RNG. */
static inline uint64_t
next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Sizes: mostly small, some large, rarely huge (a chunk or more). */
static size_t
pick_size(uint64_t *rng, unsigned int *kind)
{
	uint64_t r = next_rand(rng);

	if (r % 512 == 0) {
		*kind = 2;
		return ((size_t)2 << 20) + (size_t)(r >> 20) % ((size_t)2 << 20);
	}
	if (r % 8 == 0) {
		*kind = 1;
		return 16384 + (size_t)(r >> 16) % (512 * 1024);
	}
	*kind = 0;
	return sizeof(struct obj_hdr) + (size_t)(r >> 8) % 2048;
}

/* Fill the object after its header with a pattern of its seed. Huge
 * objects are written at every 4 KiB and at the end, to keep the demo fast
 * while still touching every page. */
static void
fill(struct obj_hdr *h)
{
	uint8_t *p = (uint8_t *)(h + 1);
	size_t n = h->size - sizeof(*h);
	size_t i, step = n > (1 << 20) ? 4096 : 1;

	for (i = 0; i < n; i += step)
		p[i] = (uint8_t)(h->seed + i * 31);
	if (n > 0)
		p[n - 1] = (uint8_t)(h->seed + (n - 1) * 31);
}

static bool
check(const struct obj_hdr *h)
{
	const uint8_t *p = (const uint8_t *)(h + 1);
	size_t n, i, step;

	if (h->magic != OBJ_MAGIC)
		return false;
	if (dpm_usable_size(h) < h->size)
		return false;
	n = h->size - sizeof(*h);
	step = n > (1 << 20) ? 4096 : 1;
	for (i = 0; i < n; i += step)
		if (p[i] != (uint8_t)(h->seed + i * 31))
			return false;
	return n == 0 || p[n - 1] == (uint8_t)(h->seed + (n - 1) * 31);
}

/* Check and free an object; count it as own or received. */
static void
release(struct lcore_counts *c, struct obj_hdr *h, unsigned int self)
{
	if (!check(h)) {
		c->bad++;
		fprintf(stderr, "lcore %u: object %p (owner %u, %" PRIu64
			" bytes) is corrupt\n", self, (void *)h, h->owner, h->size);
	}
	if (h->owner == self)
		c->frees_own++;
	else
		c->received++;
	h->magic = 0;
	dpm_free(h);
}

/* Take what other lcores handed off, a burst at a time. */
static void
drain(struct lcore_counts *c, unsigned int self)
{
	void *burst[32];
	unsigned int n, i;

	n = rte_ring_dequeue_burst(handoff, burst, RTE_DIM(burst), NULL);
	for (i = 0; i < n; i++)
		release(c, burst[i], self);
}

static int
worker(void *arg __rte_unused)
{
	unsigned int self = rte_lcore_id();
	struct lcore_counts *c = &counts[self];
	struct obj_hdr *window[WINDOW] = { NULL };
	uint64_t rng = 0x9e3779b97f4a7c15ull * (self + 1);
	unsigned int i, slot;

	for (i = 0; i < rounds; i++) {
		unsigned int kind;
		size_t size = pick_size(&rng, &kind);
		struct obj_hdr *h = dpm_malloc(size);

		slot = i % WINDOW;
		if (window[slot] != NULL) {
			/* One in four goes to another lcore to free. */
			if (next_rand(&rng) % 4 == 0 &&
			    rte_ring_enqueue(handoff, window[slot]) == 0)
				c->handed_off++;
			else
				release(c, window[slot], self);
			window[slot] = NULL;
		}
		if (h == NULL) {
			c->enomem++;
			continue;
		}
		h->magic = OBJ_MAGIC;
		h->owner = self;
		h->size = size;
		h->seed = next_rand(&rng);
		fill(h);
		c->allocs[kind]++;
		window[slot] = h;
		if (i % 16 == 0)
			drain(c, self);
	}
	for (slot = 0; slot < WINDOW; slot++)
		if (window[slot] != NULL)
			release(c, window[slot], self);
	drain(c, self);
	return 0;
}

static void
print_report(void)
{
	unsigned int lcore;
	unsigned int i;

	printf("\n%-6s %-6s %9s %9s %9s %9s %9s %9s | %10s %10s %10s %8s %8s\n",
	       "lcore", "socket", "small", "large", "huge", "handoff",
	       "received", "bad", "dpm_nmal", "dpm_nfree", "remote_fr",
	       "fills", "flushes");
	RTE_LCORE_FOREACH(lcore) {
		const struct lcore_counts *c = &counts[lcore];
		struct dpm_lcore_stats st;

		if (dpm_stats_lcore(lcore, &st) != 0)
			memset(&st, 0, sizeof(st));
		printf("%-6u %-6d %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
		       " %9" PRIu64 " %9" PRIu64 " | %10" PRIu64 " %10" PRIu64
		       " %10" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
		       lcore, (int)rte_lcore_to_socket_id(lcore), c->allocs[0],
		       c->allocs[1], c->allocs[2], c->handed_off, c->received,
		       c->bad, st.nmalloc, st.nfree, st.remote_frees,
		       st.tcache_fills, st.tcache_flushes);
	}

	printf("\n%-6s %8s %12s %12s %10s %10s %8s %8s\n", "socket", "spans",
	       "reserved", "allocated", "nmalloc", "nfree", "remote", "enomem");
	for (i = 0; i < rte_socket_count(); i++) {
		int s = rte_socket_id_by_idx(i);
		struct dpm_socket_stats st;

		if (dpm_stats_socket(s, &st) != 0)
			continue;
		printf("%-6d %8" PRIu64 " %12" PRIu64 " %12" PRIu64 " %10" PRIu64
		       " %10" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n", s, st.spans,
		       st.bytes_reserved, st.bytes_allocated, st.nmalloc,
		       st.nfree, st.remote_frees_in, st.enomem);
	}
	printf("memzones held by dpmalloc: %u\n", dpm_memzone_count());
}

static int
parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		switch (opt) {
		case 'n':
			rounds = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [EAL options] -- [-n rounds]\n",
				argv[0]);
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t bad = 0, enomem = 0, leftover = 0;
	unsigned int lcore;
	uint64_t start;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	if (parse_args(argc - ret, argv + ret) != 0) {
		rte_eal_cleanup();
		return 2;
	}

	handoff = rte_ring_create("lcore_demo_handoff", HANDOFF_RING_SIZE,
				  SOCKET_ID_ANY, 0);
	if (handoff == NULL) {
		fprintf(stderr, "rte_ring_create: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 2;
	}

	printf("lcore_demo: %u lcores, %u rounds each\n", rte_lcore_count(),
	       rounds);
	start = rte_get_timer_cycles();
	rte_eal_mp_remote_launch(worker, NULL, CALL_MAIN);
	rte_eal_mp_wait_lcore();

	/* Whatever is still in the ring is freed by the main lcore. */
	while (rte_ring_count(handoff) > 0)
		drain(&counts[rte_lcore_id()], rte_lcore_id());

	printf("done in %.1f ms\n", (double)(rte_get_timer_cycles() - start) *
	       1000.0 / (double)rte_get_timer_hz());

	RTE_LCORE_FOREACH(lcore) {
		const struct lcore_counts *c = &counts[lcore];

		bad += c->bad;
		enomem += c->enomem;
		leftover += c->allocs[0] + c->allocs[1] + c->allocs[2];
	}
	RTE_LCORE_FOREACH(lcore)
		leftover -= counts[lcore].frees_own + counts[lcore].received;

	print_report();
	printf("\ncontent check failures: %" PRIu64 ", allocation failures: %"
	       PRIu64 ", objects not freed: %" PRIu64 "\n", bad, enomem, leftover);

	rte_ring_free(handoff);
	dpm_fini();
	rte_eal_cleanup();
	return bad == 0 && leftover == 0 ? 0 : 1;
}
