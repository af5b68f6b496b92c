/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * fwd_loop: the allocation pattern of a forwarding pipeline, without NICs.
 * RX lcores allocate a metadata record per "packet" with dpmalloc, in
 * bursts of 32, and pass the pointers through an rte_ring to a TX lcore,
 * which checks and frees them. Every object is therefore freed by an lcore
 * other than the one that allocated it: records flow from the RX lcores'
 * tcaches through the TX lcore's tcache and back to the arenas the RX
 * lcores refill from. When RX and TX sit on different sockets, the frees
 * are cross-socket and counted.
 *
 *   fwd_loop --no-pci --in-memory --lcores='(0-3)@(0-1)' -- [-t secs] [-s size] [-b] [-S]
 *   fwd_loop --no-huge -m 512 --no-pci --lcores='(0-3)@(0-1)'
 *
 * The main lcore only keeps time. Workers are split in two: the first half
 * (rounded up) receive, the others transmit; RX lcore i feeds TX lcore
 * i mod (number of TX lcores). Needs at least two worker lcores.
 *   -t  seconds to run (default 2)
 *   -s  record size in bytes (default 64, a cache line; at least 32)
 *   -b  per-object dpm_malloc()/dpm_free() instead of the bulk calls
 *   -S  simulate two sockets (dpmalloc's anonymous zones): RX lcores on
 *       socket 0, TX lcores on socket 1, so that every free is cross-socket
 *       even on a one-socket machine
 * Exit status: 0 when every record arrived intact, 1 otherwise, 2 when it
 * could not run.
 */

#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <dpmalloc.h>

#define BURST 32
#define RING_SIZE 1024
#define META_MAGIC 0xfeedf00du

/* The per-packet record: what an RX path would note for TX. */
struct pkt_meta {
	uint32_t magic;
	uint16_t rx_lcore;
	uint16_t port;
	uint64_t seq;
	uint64_t rx_tsc;
	uint32_t flow_hash;
	uint32_t check;   /* over the fields above */
};

enum role { ROLE_NONE, ROLE_RX, ROLE_TX };

struct lcore_conf {
	enum role role;
	struct rte_ring *ring;   /* RX: where to send; TX: where to read */
	uint64_t packets;        /* RX: allocated and sent; TX: freed */
	uint64_t full;           /* RX: waits for room in the ring */
	uint64_t drops;          /* RX: lost a race for room, freed locally */
	uint64_t alloc_fail;
	uint64_t bad;            /* TX: corrupt records */
	uint64_t latency_tsc;    /* TX: sum of rx -> tx cycles */
} __rte_cache_aligned;

static struct lcore_conf conf[RTE_MAX_LCORE];
static volatile bool stop;
static unsigned int rx_running;
static unsigned int seconds = 2;
static size_t rec_size = 64;
static bool use_bulk = true;
static bool simulate = false;

static inline uint32_t
meta_check(const struct pkt_meta *m)
{
	return (uint32_t)(m->seq * 2654435761u) ^ m->flow_hash ^ m->rx_lcore ^
		(uint32_t)m->rx_tsc;
}

static int
rx_loop(struct lcore_conf *c, unsigned int self)
{
	void *burst[BURST];
	uint64_t seq = 0;
	unsigned int i, sent;

	while (!stop) {
		/* Back-pressure: allocate only what the ring can take, so that
		 * records are freed by TX, not by RX as drops. Yield while
		 * waiting: lcores may share cores, and TX needs this one. */
		if (rte_ring_free_count(c->ring) < BURST) {
			c->full++;
			sched_yield();
			continue;
		}
		if (use_bulk) {
			if (dpm_malloc_bulk(burst, BURST, rec_size) != BURST) {
				c->alloc_fail++;
				continue;
			}
		} else {
			for (i = 0; i < BURST; i++) {
				burst[i] = dpm_malloc(rec_size);
				if (burst[i] == NULL)
					break;
			}
			if (i < BURST) {
				c->alloc_fail++;
				while (i > 0)
					dpm_free(burst[--i]);
				continue;
			}
		}

		for (i = 0; i < BURST; i++) {
			struct pkt_meta *m = burst[i];

			m->magic = META_MAGIC;
			m->rx_lcore = (uint16_t)self;
			m->port = (uint16_t)(seq & 1);
			m->seq = seq++;
			m->rx_tsc = rte_rdtsc();
			m->flow_hash = (uint32_t)(m->seq * 0x9e3779b1u);
			m->check = meta_check(m);
		}

		sent = rte_ring_enqueue_burst(c->ring, burst, BURST, NULL);
		c->packets += sent;
		if (sent < BURST) {
			c->drops += BURST - sent;
			if (use_bulk)
				dpm_free_bulk(&burst[sent], BURST - sent);
			else
				for (i = sent; i < BURST; i++)
					dpm_free(burst[i]);
		}
	}
	__atomic_sub_fetch(&rx_running, 1, __ATOMIC_RELEASE);
	return 0;
}

static int
tx_loop(struct lcore_conf *c)
{
	void *burst[BURST];
	unsigned int i, n;

	for (;;) {
		n = rte_ring_dequeue_burst(c->ring, burst, BURST, NULL);
		if (n == 0) {
			/* Done once every RX lcore stopped and the ring is dry. */
			if (__atomic_load_n(&rx_running, __ATOMIC_ACQUIRE) == 0 &&
			    rte_ring_empty(c->ring))
				break;
			sched_yield();
			continue;
		}
		for (i = 0; i < n; i++) {
			struct pkt_meta *m = burst[i];

			if (m->magic != META_MAGIC || m->check != meta_check(m))
				c->bad++;
			else
				c->latency_tsc += rte_rdtsc() - m->rx_tsc;
			m->magic = 0;
		}
		if (use_bulk) {
			dpm_free_bulk(burst, n);
		} else {
			for (i = 0; i < n; i++)
				dpm_free(burst[i]);
		}
		c->packets += n;
	}
	return 0;
}

static int
lcore_main(void *arg __rte_unused)
{
	unsigned int self = rte_lcore_id();
	struct lcore_conf *c = &conf[self];

	if (c->role == ROLE_RX)
		return rx_loop(c, self);
	if (c->role == ROLE_TX)
		return tx_loop(c);
	return 0;
}

/* With -S: TX lcores on simulated socket 1, everything else on socket 0. */
static int
sim_lcore_socket(unsigned int lcore_id)
{
	return lcore_id < RTE_MAX_LCORE && conf[lcore_id].role == ROLE_TX;
}

/* dpmalloc with two simulated sockets; must run before any other dpm_ call. */
static int
simulate_two_sockets(void)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.zone_source = DPM_ZONE_ANON;
	cfg.sim_sockets = 2;
	cfg.lcore_socket = sim_lcore_socket;
	if (dpm_init(&cfg) != 0) {
		fprintf(stderr, "dpm_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* The sockets to report: DPDK's, or the two simulated ones. */
static unsigned int
report_sockets(int ids[RTE_MAX_NUMA_NODES])
{
	unsigned int i, n = 0;

	if (simulate) {
		ids[0] = 0;
		ids[1] = 1;
		return 2;
	}
	for (i = 0; i < rte_socket_count() && n < RTE_MAX_NUMA_NODES; i++)
		ids[n++] = rte_socket_id_by_idx(i);
	return n;
}

static int
parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "t:s:bS")) != -1) {
		switch (opt) {
		case 't':
			seconds = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			rec_size = strtoul(optarg, NULL, 0);
			if (rec_size < sizeof(struct pkt_meta))
				rec_size = sizeof(struct pkt_meta);
			break;
		case 'b':
			use_bulk = false;
			break;
		case 'S':
			simulate = true;
			break;
		default:
			fprintf(stderr, "usage: %s [EAL options] -- [-t seconds] [-s size] [-b] [-S]\n",
				argv[0]);
			return -1;
		}
	}
	return 0;
}

/* Split the workers into RX and TX lcores, one ring per TX lcore. */
static int
setup_roles(void)
{
	unsigned int workers[RTE_MAX_LCORE];
	unsigned int nw = 0, nrx, ntx, i, lcore;

	RTE_LCORE_FOREACH_WORKER(lcore)
		workers[nw++] = lcore;
	if (nw < 2) {
		fprintf(stderr, "fwd_loop needs at least two worker lcores\n");
		return -1;
	}
	nrx = (nw + 1) / 2;
	ntx = nw - nrx;
	for (i = 0; i < ntx; i++) {
		struct lcore_conf *tx = &conf[workers[nrx + i]];
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "fwd_loop_tx%u", workers[nrx + i]);
		/* Several RX lcores may feed one ring; one TX lcore reads it.
		 * The ring lives on the TX lcore's socket. */
		tx->ring = rte_ring_create(name, RING_SIZE,
				(int)rte_lcore_to_socket_id(workers[nrx + i]),
				RING_F_SC_DEQ);
		if (tx->ring == NULL) {
			fprintf(stderr, "rte_ring_create: %s\n",
				rte_strerror(rte_errno));
			return -1;
		}
		tx->role = ROLE_TX;
	}
	for (i = 0; i < nrx; i++) {
		struct lcore_conf *rx = &conf[workers[i]];

		rx->role = ROLE_RX;
		rx->ring = conf[workers[nrx + i % ntx]].ring;
		printf("RX lcore %u -> TX lcore %u\n", workers[i],
		       workers[nrx + i % ntx]);
	}
	rx_running = nrx;
	return 0;
}

static void
print_report(double secs)
{
	uint64_t rx = 0, tx = 0, drops = 0, fails = 0, bad = 0;
	double hz = (double)rte_get_timer_hz();
	int ids[RTE_MAX_NUMA_NODES];
	unsigned int lcore, i, j, nsock;

	printf("\n%-6s %-4s %-6s %12s %10s %10s %10s %10s %12s %12s\n", "lcore",
	       "role", "socket", "packets", "Mpps", "waits", "drops",
	       "allocfail", "remote_frees", "avg lat ns");
	RTE_LCORE_FOREACH_WORKER(lcore) {
		const struct lcore_conf *c = &conf[lcore];
		struct dpm_lcore_stats st;

		if (c->role == ROLE_NONE)
			continue;
		/* The socket as dpmalloc sees it (simulated with -S). */
		if (dpm_stats_lcore(lcore, &st) != 0) {
			memset(&st, 0, sizeof(st));
			st.socket_id = -1;
		}
		printf("%-6u %-4s %-6d %12" PRIu64 " %10.2f %10" PRIu64 " %10"
		       PRIu64 " %10" PRIu64 " %12" PRIu64 " %12.0f\n", lcore,
		       c->role == ROLE_RX ? "rx" : "tx", st.socket_id, c->packets,
		       (double)c->packets / secs / 1e6, c->full, c->drops,
		       c->alloc_fail, st.remote_frees, c->role == ROLE_TX && c->packets > 0 ?
		       (double)c->latency_tsc / (double)c->packets * 1e9 / hz :
		       0.0);
		if (c->role == ROLE_RX) {
			rx += c->packets;
			drops += c->drops;
			fails += c->alloc_fail;
		} else {
			tx += c->packets;
			bad += c->bad;
		}
	}
	printf("total: %" PRIu64 " records forwarded in %.2f s: %.2f Mpps "
	       "(%s), %" PRIu64 " corrupt, %" PRIu64 " lost, %" PRIu64
	       " dropped (ring full), %" PRIu64 " failed bursts\n", tx, secs,
	       (double)tx / secs / 1e6,
	       use_bulk ? "dpm_malloc_bulk/dpm_free_bulk" : "dpm_malloc/dpm_free",
	       bad, rx - tx, drops, fails);

	nsock = report_sockets(ids);
	printf("\ncross-socket frees (from lcore socket -> memory socket)%s:\n",
	       simulate ? ", simulated sockets" : "");
	for (i = 0; i < nsock; i++)
		for (j = 0; j < nsock; j++)
			if (i != j)
				printf("  %d -> %d: %" PRIu64 "\n", ids[i], ids[j],
				       dpm_stats_cross_socket(ids[i], ids[j]));
	if (nsock == 1)
		printf("  (one socket: none possible; -S simulates two)\n");

	for (i = 0; i < nsock; i++) {
		struct dpm_socket_stats st;

		if (dpm_stats_socket(ids[i], &st) == 0)
			printf("socket %d: nmalloc %" PRIu64 " nfree %" PRIu64
			       " remote_frees_in %" PRIu64 " bytes_allocated %"
			       PRIu64 " spans %" PRIu64 "\n", ids[i], st.nmalloc,
			       st.nfree, st.remote_frees_in, st.bytes_allocated,
			       st.spans);
	}
}

int
main(int argc, char **argv)
{
	uint64_t start, end, bad = 0, rx = 0, tx = 0;
	unsigned int lcore;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	if (parse_args(argc - ret, argv + ret) != 0 || setup_roles() != 0 ||
	    (simulate && simulate_two_sockets() != 0)) {
		rte_eal_cleanup();
		return 2;
	}

	printf("fwd_loop: %u s, records of %zu bytes, bursts of %d\n", seconds,
	       rec_size, BURST);
	start = rte_get_timer_cycles();
	rte_eal_mp_remote_launch(lcore_main, NULL, SKIP_MAIN);
	sleep(seconds);
	stop = true;
	rte_eal_mp_wait_lcore();
	end = rte_get_timer_cycles();

	print_report((double)(end - start) / (double)rte_get_timer_hz());

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (conf[lcore].role == ROLE_RX)
			rx += conf[lcore].packets;
		else if (conf[lcore].role == ROLE_TX)
			tx += conf[lcore].packets;
		bad += conf[lcore].bad;
		rte_ring_free(conf[lcore].role == ROLE_TX ? conf[lcore].ring : NULL);
	}

	dpm_fini();
	rte_eal_cleanup();
	return bad == 0 && rx == tx && tx > 0 ? 0 : 1;
}
