/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * pkt_fwd: a forwarding loop with real packet I/O, comparing three
 * allocators for the per-packet metadata record.
 *
 *   RX lcore                               worker/TX lcore
 *   rte_eth_rx_burst(port 0) -- mbufs      rte_ring_dequeue_burst()
 *   per mbuf: alloc a record               per mbuf: read + check the record,
 *     (flow key, timestamps, 32-512 B        free it
 *     annotation), pointer in an       --> rte_eth_tx_burst(port 0)
 *     mbuf dynamic field
 *   rte_ring_enqueue_burst()
 *
 * The port is a net_null vdev (created by the program when EAL has none):
 * its RX allocates real mbufs from the program's pktmbuf pool and its TX
 * frees them, so every packet is a real mbuf through the ethdev API with no
 * hardware and no traffic generator. net_null rather than a net_ring pair:
 * a ring pair would need a third lcore generating the packets, and the
 * packets already cross lcores through the pipeline's rte_ring, which is
 * where a real RX -> worker pipeline hands them over.
 *
 * Every record is allocated on the RX lcore and freed on the TX lcore, the
 * pattern that costs allocators most. The record allocator is switched by
 * --alloc:
 *   dpm         dpm_malloc(size) / dpm_free_sized(rec, size)
 *   rte_malloc  rte_malloc(NULL, size, 0) / rte_free(rec)
 *   mempool     five rte_mempools of 128, 256, 384, 512 and 640 B objects
 *               (per-size pools, each with a 256-object per-lcore cache;
 *               a record takes the smallest pool that fits, and keeps the
 *               pool's index to be put back) / rte_mempool_put()
 *   all         the three in turn (the default), then a side-by-side table
 *
 *   pkt_fwd --no-pci --in-memory --lcores='(0-1)@0,2@1' -- [--alloc=...] [-t secs] [-r rounds]
 *   pkt_fwd --no-pci --no-huge -m 512 --lcores='(0-1)@0,2@1' -- ...
 *
 * Needs three lcores: the main one prints, the next two are RX and TX (the
 * main lcore sleeps, so it may share a core with RX). Options:
 *   --alloc=A   dpm, rte_malloc, mempool or all (default all)
 *   -t secs     seconds per allocator and round (default 3)
 *   -r rounds   run the allocators this many times, interleaved; the table
 *               shows the median round (default 1)
 *   --line-align  ask for sizes rounded up to whole cache lines (the
 *               mempool objects and rte_malloc's blocks are line-aligned
 *               anyway; dpmalloc's classes below 128 B and between
 *               multiples of 64 B pack records so that neighbours share
 *               a cache line, which RX writes while TX reads the other)
 * Each second it prints one progress line (updated in place with \r on a
 * terminal, plain lines otherwise): Mpps, allocation and free cycles per
 * packet, and the allocator's memory statistics (dpmalloc's per-socket
 * stats for dpm). Telemetry runs throughout: /pkt_fwd/stats gives the
 * current phase's counters, /dpmalloc/... the allocator's.
 * SIGINT or SIGTERM ends the run early, still with the table.
 * Exit status: 0 when every allocator forwarded packets and every record
 * arrived intact, 1 otherwise, 2 when it could not run.
 */

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_telemetry.h>

#include <dpmalloc.h>

#define BURST 32
#define RING_SIZE 1024
#define NB_MBUFS 8191
#define MBUF_CACHE 256
#define ANNOT_MIN 32
#define ANNOT_MAX 512
#define NB_FLOWS 1024
#define POOL_STEP 128
#define NB_POOLS 5            /* 128 .. 640 B: covers the largest record */
#define POOL_CACHE 256
/* Per pool: the ring full of records of one size, plus both lcores' caches
 * at their flush threshold (1.5 x cache) and a burst each. */
#define POOL_OBJS 4095
#define MAX_ROUNDS 15

enum alloc_kind { ALLOC_DPM, ALLOC_RTE_MALLOC, ALLOC_MEMPOOL, NB_ALLOC };

static const char *const alloc_name[NB_ALLOC] = {
	[ALLOC_DPM] = "dpm",
	[ALLOC_RTE_MALLOC] = "rte_malloc",
	[ALLOC_MEMPOOL] = "mempool",
};

/* A 5-tuple, as the RX path would parse it from the packet. */
struct flow_key {
	uint32_t src_ip;
	uint32_t dst_ip;
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t proto;
	uint8_t pad[3];
};

/* The per-packet metadata record: fixed header, variable annotation. */
struct pkt_rec {
	struct flow_key key;
	uint64_t seq;
	uint64_t rx_tsc;       /* when RX allocated it */
	uint16_t annot_len;    /* ANNOT_MIN .. ANNOT_MAX */
	uint8_t pool;          /* mempool mode: which pool it came from */
	uint8_t pad;
	uint32_t check;        /* over the fields above and the annotation's ends */
	uint8_t annot[];       /* e.g. classifier results, DPI notes */
};

/* Counters of one phase; each is written by one lcore, read by any. */
struct phase_stats {
	uint64_t rx_pkts;      /* RX: received and handed to TX */
	uint64_t rx_waits;     /* RX: polls skipped, ring full */
	uint64_t alloc_cyc;    /* RX: cycles in the allocation calls */
	uint64_t alloc_fail;   /* RX: records that could not be allocated */
	uint64_t dropped;      /* RX: packets dropped (no record) */
	uint64_t tx_pkts;      /* TX: records checked and freed, packets sent */
	uint64_t free_cyc;     /* TX: cycles in the free calls */
	uint64_t bad;          /* TX: records that failed their check */
	uint64_t latency_cyc;  /* TX: sum of RX -> TX cycles */
} __rte_cache_aligned;

/* One finished phase, for the table. */
struct phase_result {
	double secs;
	double mpps;
	double alloc_cpp;      /* cycles per packet */
	double free_cpp;
	double latency_us;
	uint64_t packets;
	uint64_t bad;
	uint64_t lost;         /* received but neither sent nor dropped */
	uint64_t alloc_fail;
	uint64_t mem_bytes;    /* memory the allocator held at the end */
};

static struct phase_stats stats;
static enum alloc_kind cur_alloc;
static volatile bool rx_stop;      /* ends the RX loop of a phase */
static volatile bool rx_done;      /* RX left; TX drains the ring and ends */
static volatile bool quit;         /* SIGINT/SIGTERM: end all phases */
static uint64_t phase_start_tsc;
static uint64_t heap_base;          /* rte_malloc heap bytes before a phase */

static uint16_t port_id;
static struct rte_mempool *mbuf_pool;
static struct rte_ring *ring;
static struct rte_mempool *rec_pool[NB_POOLS];
static int rec_field = -1;          /* offset of the record pointer in an mbuf */
static unsigned int rx_lcore, tx_lcore;
static int socket_id;

static unsigned int seconds = 3;
static unsigned int rounds = 1;
static bool run_alloc[NB_ALLOC];
static bool line_align;

static inline struct pkt_rec **
mbuf_rec(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, rec_field, struct pkt_rec **);
}

static inline uint32_t
hash32(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

static inline uint32_t
rec_check(const struct pkt_rec *r)
{
	return hash32(r->seq ^ ((uint64_t)r->key.src_ip << 32) ^ r->rx_tsc) ^
		r->annot_len ^ r->annot[0] ^
		((uint32_t)r->annot[r->annot_len - 1] << 8);
}

/* The annotation's length for packet seq: 32..512 bytes, uniform. */
static inline uint16_t
rec_annot_len(uint64_t seq)
{
	return (uint16_t)(ANNOT_MIN +
		hash32(seq * 0x9e3779b97f4a7c15ULL) % (ANNOT_MAX - ANNOT_MIN + 1));
}

/* The bytes asked of the allocator for a record (--line-align rounds up
 * to whole cache lines, so that no two records share a line). */
static inline size_t
rec_size(uint16_t annot_len)
{
	size_t size = sizeof(struct pkt_rec) + annot_len;

	return line_align ? RTE_ALIGN_CEIL(size, RTE_CACHE_LINE_SIZE) : size;
}

/* --- the three allocators, behind one switch the branch predictor learns */

static inline void *
rec_alloc(size_t size, uint8_t *pool)
{
	void *p = NULL;

	switch (cur_alloc) {
	case ALLOC_DPM:
		return dpm_malloc(size);
	case ALLOC_RTE_MALLOC:
		return rte_malloc(NULL, size, 0);
	case ALLOC_MEMPOOL:
		*pool = (uint8_t)((size - 1) / POOL_STEP);
		if (rte_mempool_get(rec_pool[*pool], &p) != 0)
			return NULL;
		return p;
	default:
		return NULL;
	}
}

static inline void
rec_free(struct pkt_rec *r, size_t size, uint8_t pool)
{
	switch (cur_alloc) {
	case ALLOC_DPM:
		dpm_free_sized(r, size);
		break;
	case ALLOC_RTE_MALLOC:
		rte_free(r);
		break;
	case ALLOC_MEMPOOL:
		rte_mempool_put(rec_pool[pool], r);
		break;
	default:
		break;
	}
}

/* --- the two lcores */

static int
rx_loop(void)
{
	struct rte_mbuf *pkts[BURST];
	struct pkt_rec *recs[BURST];
	size_t sizes[BURST];
	uint16_t annot[BURST];
	uint8_t pools[BURST];
	uint64_t seq = 0, t0, t1;
	uint16_t n, i, ok, sent;

	while (!rx_stop) {
		/* Back-pressure: poll only when the ring takes a whole burst,
		 * so that records are freed by TX, not dropped here. */
		if (rte_ring_free_count(ring) < BURST) {
			stats.rx_waits++;
			rte_pause();
			continue;
		}
		n = rte_eth_rx_burst(port_id, 0, pkts, BURST);
		if (n == 0)
			continue;
		for (i = 0; i < n; i++) {
			annot[i] = rec_annot_len(seq + i);
			sizes[i] = rec_size(annot[i]);
		}

		t0 = rte_rdtsc();
		for (ok = 0; ok < n; ok++) {
			recs[ok] = rec_alloc(sizes[ok], &pools[ok]);
			if (unlikely(recs[ok] == NULL))
				break;
		}
		t1 = rte_rdtsc();
		stats.alloc_cyc += t1 - t0;

		if (unlikely(ok < n)) {
			/* No record, no forwarding: drop the packets. */
			stats.alloc_fail += n - ok;
			stats.dropped += n - ok;
			rte_pktmbuf_free_bulk(&pkts[ok], n - ok);
			n = ok;
		}
		for (i = 0; i < n; i++) {
			struct pkt_rec *r = recs[i];
			uint32_t flow = (uint32_t)(seq % NB_FLOWS);

			r->key = (struct flow_key){
				.src_ip = RTE_IPV4(10, 0, flow >> 8, flow & 0xff),
				.dst_ip = RTE_IPV4(192, 168, 0, 1),
				.src_port = (uint16_t)(1024 + flow),
				.dst_port = 80,
				.proto = 6,
			};
			r->seq = seq++;
			r->rx_tsc = t1;
			r->annot_len = annot[i];
			r->pool = pools[i];
			r->annot[0] = (uint8_t)r->seq;
			r->annot[r->annot_len - 1] = (uint8_t)(r->seq >> 8);
			r->check = rec_check(r);
			*mbuf_rec(pkts[i]) = r;
		}

		sent = (uint16_t)rte_ring_enqueue_burst(ring, (void **)pkts, n, NULL);
		if (unlikely(sent < n)) {
			/* Cannot happen with one producer and the check above;
			 * handled anyway. */
			for (i = sent; i < n; i++)
				rec_free(recs[i], sizes[i], pools[i]);
			rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
			stats.dropped += n - sent;
		}
		stats.rx_pkts += sent;
	}
	rx_done = true;
	return 0;
}

static int
tx_loop(void)
{
	struct rte_mbuf *pkts[BURST];
	uint64_t t0, t1, now;
	unsigned int n, i;
	uint16_t sent;

	for (;;) {
		n = rte_ring_dequeue_burst(ring, (void **)pkts, BURST, NULL);
		if (n == 0) {
			if (rx_done && rte_ring_empty(ring))
				break;
			rte_pause();
			continue;
		}
		now = rte_rdtsc();
		for (i = 0; i < n; i++) {
			const struct pkt_rec *r = *mbuf_rec(pkts[i]);

			if (r->check != rec_check(r))
				stats.bad++;
			stats.latency_cyc += now - r->rx_tsc;
		}
		t0 = rte_rdtsc();
		for (i = 0; i < n; i++) {
			struct pkt_rec *r = *mbuf_rec(pkts[i]);

			rec_free(r, rec_size(r->annot_len), r->pool);
		}
		t1 = rte_rdtsc();
		stats.free_cyc += t1 - t0;
		stats.tx_pkts += n;

		sent = rte_eth_tx_burst(port_id, 0, pkts, (uint16_t)n);
		if (sent < n)
			rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
	}
	return 0;
}

static int
lcore_main(void *arg __rte_unused)
{
	if (rte_lcore_id() == rx_lcore)
		return rx_loop();
	return tx_loop();
}

/* --- reporting */

static uint64_t
load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* What the allocator holds, as a short text and a byte count. */
static uint64_t
alloc_memory(char *buf, size_t len)
{
	struct rte_malloc_socket_stats ms;
	struct dpm_socket_stats ds;
	unsigned int i, in_use = 0, total = 0;
	uint64_t bytes = 0;

	switch (cur_alloc) {
	case ALLOC_DPM:
		if (dpm_stats_socket(socket_id, &ds) != 0) {
			snprintf(buf, len, "dpm stats: %s", rte_strerror(rte_errno));
			return 0;
		}
		snprintf(buf, len, "dpm socket %d: %.2f MiB live in %" PRIu64
			 " spans of %.1f MiB, nmalloc %" PRIu64 " nfree %" PRIu64,
			 socket_id, ds.bytes_allocated / 1048576.0, ds.spans,
			 ds.bytes_reserved / 1048576.0, ds.nmalloc, ds.nfree);
		return ds.bytes_reserved;
	case ALLOC_RTE_MALLOC:
		/* The heap also holds the mbufs and the ring: count what
		 * the phase added. */
		rte_malloc_get_socket_stats(socket_id, &ms);
		bytes = ms.heap_allocsz_bytes > heap_base ?
			ms.heap_allocsz_bytes - heap_base : 0;
		snprintf(buf, len, "rte_malloc heap %d: %.2f MiB of records, heap %.1f MiB",
			 socket_id, bytes / 1048576.0, ms.heap_totalsz_bytes / 1048576.0);
		return bytes;
	case ALLOC_MEMPOOL:
		for (i = 0; i < NB_POOLS; i++) {
			in_use += rte_mempool_in_use_count(rec_pool[i]);
			total += rec_pool[i]->size;
			bytes += (uint64_t)rec_pool[i]->size *
				(rec_pool[i]->header_size + rec_pool[i]->elt_size +
				 rec_pool[i]->trailer_size);
		}
		snprintf(buf, len, "mempools: %u of %u records in use, %.1f MiB",
			 in_use, total, bytes / 1048576.0);
		return bytes;
	default:
		buf[0] = '\0';
		return 0;
	}
}

/* Prints one progress line; returns the allocator's memory in bytes. */
static uint64_t
progress(bool tty, unsigned int round, double elapsed, double mpps,
	 double alloc_cpp, double free_cpp)
{
	char mem[160];
	uint64_t bytes = alloc_memory(mem, sizeof(mem));

	printf("%s[%-10s r%u %4.1f s] %6.2f Mpps  alloc %5.1f  free %5.1f cycles/pkt  %s%s",
	       tty ? "\r" : "", alloc_name[cur_alloc], round + 1, elapsed, mpps,
	       alloc_cpp, free_cpp, mem, tty ? "\033[K" : "\n");
	fflush(stdout);
	return bytes;
}

/* Telemetry: /pkt_fwd/stats, the running phase's counters. */
static int
telemetry_stats(const char *cmd __rte_unused, const char *params __rte_unused,
		struct rte_tel_data *d)
{
	uint64_t rx = load(&stats.rx_pkts), tx = load(&stats.tx_pkts);

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "alloc", alloc_name[cur_alloc]);
	rte_tel_data_add_dict_u64(d, "rx_packets", rx);
	rte_tel_data_add_dict_u64(d, "tx_packets", tx);
	rte_tel_data_add_dict_u64(d, "alloc_cycles_per_packet",
				  rx ? load(&stats.alloc_cyc) / rx : 0);
	rte_tel_data_add_dict_u64(d, "free_cycles_per_packet",
				  tx ? load(&stats.free_cyc) / tx : 0);
	rte_tel_data_add_dict_u64(d, "bad_records", load(&stats.bad));
	rte_tel_data_add_dict_u64(d, "alloc_failures", load(&stats.alloc_fail));
	rte_tel_data_add_dict_u64(d, "phase_ms", phase_start_tsc ?
		(rte_rdtsc() - phase_start_tsc) * 1000 / rte_get_tsc_hz() : 0);
	return 0;
}

/* --- one phase: one allocator for `seconds` */

static int
run_phase(enum alloc_kind kind, unsigned int round, struct phase_result *res)
{
	double hz = (double)rte_get_tsc_hz();
	bool tty = isatty(STDOUT_FILENO);
	uint64_t end, last_tsc, last_rx = 0, last_tx = 0, last_ac = 0, last_fc = 0;
	uint64_t mem_peak = 0, mem_now;
	struct rte_malloc_socket_stats ms;
	unsigned int tick;
	char mem[160];

	memset(&stats, 0, sizeof(stats));
	cur_alloc = kind;
	rx_stop = false;
	rx_done = false;
	rte_malloc_get_socket_stats(socket_id, &ms);
	heap_base = ms.heap_allocsz_bytes;
	rte_smp_wmb();

	phase_start_tsc = rte_rdtsc();
	last_tsc = phase_start_tsc;
	if (rte_eal_remote_launch(lcore_main, NULL, tx_lcore) != 0 ||
	    rte_eal_remote_launch(lcore_main, NULL, rx_lcore) != 0) {
		fprintf(stderr, "pkt_fwd: cannot launch the lcores\n");
		rx_stop = true;
		rx_done = true;
		rte_eal_mp_wait_lcore();
		return -1;
	}
	for (tick = 1; tick <= seconds * 4 && !quit; tick++) {
		uint64_t now, rx, tx, ac, fc;

		rte_delay_us_sleep(250 * 1000);
		if (tick % 4 != 0)
			continue;
		now = rte_rdtsc();
		rx = load(&stats.rx_pkts);
		tx = load(&stats.tx_pkts);
		ac = load(&stats.alloc_cyc);
		fc = load(&stats.free_cyc);
		mem_now = progress(tty, round, (double)(now - phase_start_tsc) / hz,
			 (double)(tx - last_tx) / ((double)(now - last_tsc) / hz) / 1e6,
			 rx > last_rx ? (double)(ac - last_ac) / (double)(rx - last_rx) : 0,
			 tx > last_tx ? (double)(fc - last_fc) / (double)(tx - last_tx) : 0);
		mem_peak = RTE_MAX(mem_peak, mem_now);
		last_tsc = now;
		last_rx = rx;
		last_tx = tx;
		last_ac = ac;
		last_fc = fc;
	}
	rx_stop = true;
	rte_eal_mp_wait_lcore();
	end = rte_rdtsc();
	if (tty)
		printf("\n");

	memset(res, 0, sizeof(*res));
	res->secs = (double)(end - phase_start_tsc) / hz;
	res->packets = stats.tx_pkts;
	res->mpps = (double)stats.tx_pkts / res->secs / 1e6;
	res->alloc_cpp = stats.rx_pkts + stats.alloc_fail ?
		(double)stats.alloc_cyc / (double)(stats.rx_pkts + stats.alloc_fail) : 0;
	res->free_cpp = stats.tx_pkts ?
		(double)stats.free_cyc / (double)stats.tx_pkts : 0;
	res->latency_us = stats.tx_pkts ?
		(double)stats.latency_cyc / (double)stats.tx_pkts / hz * 1e6 : 0;
	res->bad = stats.bad;
	res->lost = stats.rx_pkts - stats.tx_pkts;
	res->alloc_fail = stats.alloc_fail;
	res->mem_bytes = RTE_MAX(mem_peak, alloc_memory(mem, sizeof(mem)));
	phase_start_tsc = 0;
	return 0;
}

/* --- set-up */

static int
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "alloc", required_argument, NULL, 'a' },
		{ "line-align", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, k;
	bool any = false;

	while ((opt = getopt_long(argc, argv, "a:t:r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			if (strcmp(optarg, "all") == 0) {
				for (k = 0; k < NB_ALLOC; k++)
					run_alloc[k] = true;
				any = true;
				break;
			}
			for (k = 0; k < NB_ALLOC; k++)
				if (strcmp(optarg, alloc_name[k]) == 0)
					break;
			if (k == NB_ALLOC) {
				fprintf(stderr, "pkt_fwd: unknown allocator '%s'\n", optarg);
				return -1;
			}
			run_alloc[k] = true;
			any = true;
			break;
		case 'L':
			line_align = true;
			break;
		case 't':
			seconds = (unsigned int)strtoul(optarg, NULL, 0);
			if (seconds == 0)
				seconds = 1;
			break;
		case 'r':
			rounds = (unsigned int)strtoul(optarg, NULL, 0);
			if (rounds == 0 || rounds > MAX_ROUNDS) {
				fprintf(stderr, "pkt_fwd: -r takes 1..%d\n", MAX_ROUNDS);
				return -1;
			}
			break;
		default:
			fprintf(stderr, "usage: %s [EAL options] -- [--alloc=dpm|rte_malloc|mempool|all]"
				" [-t seconds] [-r rounds] [--line-align]\n", argv[0]);
			return -1;
		}
	}
	if (!any)
		for (k = 0; k < NB_ALLOC; k++)
			run_alloc[k] = true;
	return 0;
}

/* The port: the first one EAL has, or a net_null vdev made here. */
static int
setup_port(void)
{
	struct rte_eth_conf conf;
	int ret;

	if (rte_eth_dev_count_avail() == 0) {
		ret = rte_dev_probe("net_null0");
		if (ret != 0) {
			fprintf(stderr, "pkt_fwd: cannot create net_null0: %s "
				"(is DPDK's net_null driver installed?)\n", strerror(-ret));
			return -1;
		}
	}
	RTE_ETH_FOREACH_DEV(port_id)
		break;
	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(port_id, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(port_id, 0, 512, (unsigned int)socket_id,
					     NULL, mbuf_pool);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(port_id, 0, 512, (unsigned int)socket_id, NULL);
	if (ret == 0)
		ret = rte_eth_dev_start(port_id);
	if (ret != 0) {
		fprintf(stderr, "pkt_fwd: port %u: %s\n", port_id, strerror(-ret));
		return -1;
	}
	return 0;
}

static int
setup(void)
{
	static const struct rte_mbuf_dynfield rec_desc = {
		.name = "pkt_fwd_record",
		.size = sizeof(struct pkt_rec *),
		.align = __alignof__(struct pkt_rec *),
	};
	unsigned int lcore, n = 0, i;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (n == 0)
			rx_lcore = lcore;
		else if (n == 1)
			tx_lcore = lcore;
		n++;
	}
	if (n < 2) {
		fprintf(stderr, "pkt_fwd: needs 3 lcores (main, RX, TX), e.g. "
			"--lcores='(0-1)@0,2@1' on two cores\n");
		return -1;
	}
	socket_id = (int)rte_lcore_to_socket_id(rx_lcore);

	/* dpmalloc up front in every mode, so its telemetry commands answer. */
	if (dpm_init(NULL) != 0 && rte_errno != EALREADY) {
		fprintf(stderr, "pkt_fwd: dpm_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	rec_field = rte_mbuf_dynfield_register(&rec_desc);
	if (rec_field < 0) {
		fprintf(stderr, "pkt_fwd: mbuf dynfield: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	mbuf_pool = rte_pktmbuf_pool_create("pkt_fwd_mbufs", NB_MBUFS, MBUF_CACHE, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE, socket_id);
	ring = rte_ring_create("pkt_fwd_ring", RING_SIZE, socket_id,
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (mbuf_pool == NULL || ring == NULL) {
		fprintf(stderr, "pkt_fwd: mbuf pool or ring: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	if (run_alloc[ALLOC_MEMPOOL]) {
		for (i = 0; i < NB_POOLS; i++) {
			char name[RTE_MEMPOOL_NAMESIZE];

			snprintf(name, sizeof(name), "pkt_fwd_rec%u", (i + 1) * POOL_STEP);
			rec_pool[i] = rte_mempool_create(name, POOL_OBJS, (i + 1) * POOL_STEP,
							 POOL_CACHE, 0, NULL, NULL, NULL,
							 NULL, socket_id, 0);
			if (rec_pool[i] == NULL) {
				fprintf(stderr, "pkt_fwd: mempool %s: %s\n", name,
					rte_strerror(rte_errno));
				return -1;
			}
		}
	}
	if (setup_port() != 0)
		return -1;
	rte_telemetry_register_cmd("/pkt_fwd/stats", telemetry_stats,
		"pkt_fwd's running phase: allocator, packets, cycles per packet. No parameters.");
	return 0;
}

static void
teardown(void)
{
	unsigned int i;

	if (rte_eth_dev_is_valid_port(port_id)) {
		rte_eth_dev_stop(port_id);
		rte_eth_dev_close(port_id);
	}
	for (i = 0; i < NB_POOLS; i++)
		rte_mempool_free(rec_pool[i]);
	rte_ring_free(ring);
	rte_mempool_free(mbuf_pool);
	dpm_fini();
}

static void
on_signal(int sig __rte_unused)
{
	quit = true;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The round with the median Mpps stands for the allocator in the table. */
static const struct phase_result *
median_round(const struct phase_result *r, unsigned int n)
{
	double mpps[MAX_ROUNDS];
	unsigned int i;

	for (i = 0; i < n; i++)
		mpps[i] = r[i].mpps;
	qsort(mpps, n, sizeof(mpps[0]), cmp_double);
	for (i = 0; i < n; i++)
		if (r[i].mpps == mpps[n / 2])
			return &r[i];
	return &r[0];
}

static void
print_table(struct phase_result res[NB_ALLOC][MAX_ROUNDS], const unsigned int nres[NB_ALLOC])
{
	const struct phase_result *dpm = nres[ALLOC_DPM] > 0 ?
		median_round(res[ALLOC_DPM], nres[ALLOC_DPM]) : NULL;
	int k;

	printf("\npkt_fwd: %u s per allocator%s, records of %zu-%zu B%s, RX lcore %u -> TX lcore %u, "
	       "TSC %.2f GHz\n", seconds, rounds > 1 ? ", median of the rounds" : "",
	       rec_size(ANNOT_MIN), rec_size(ANNOT_MAX), line_align ? " (line-aligned)" : "",
	       rx_lcore, tx_lcore, rte_get_tsc_hz() / 1e9);
	printf("%-11s %8s %9s %12s %11s %11s %9s %12s %6s %6s %11s\n", "allocator", "Mpps",
	       "vs dpm", "alloc cyc/p", "free cyc/p", "a+f cyc/p", "lat us", "packets",
	       "bad", "lost", "memory MiB");
	for (k = 0; k < NB_ALLOC; k++) {
		const struct phase_result *r;
		char ratio[16];

		if (nres[k] == 0)
			continue;
		r = median_round(res[k], nres[k]);
		if (dpm != NULL && dpm->mpps > 0)
			snprintf(ratio, sizeof(ratio), "%.2fx", r->mpps / dpm->mpps);
		else
			snprintf(ratio, sizeof(ratio), "-");
		printf("%-11s %8.2f %9s %12.1f %11.1f %11.1f %9.1f %12" PRIu64 " %6" PRIu64
		       " %6" PRIu64 " %11.1f\n", alloc_name[k], r->mpps, ratio, r->alloc_cpp,
		       r->free_cpp, r->alloc_cpp + r->free_cpp, r->latency_us, r->packets,
		       r->bad, r->lost, r->mem_bytes / 1048576.0);
	}
	printf("Mpps: packets forwarded per second; cyc/p: TSC cycles per packet in the "
	       "allocation (RX lcore) and free (TX lcore) calls; lat: RX -> TX latency;\n"
	       "memory: peak held for records: dpm = span bytes reserved, rte_malloc = heap "
	       "bytes allocated, mempool = the five pools (preallocated)\n");
}

int
main(int argc, char **argv)
{
	static struct phase_result res[NB_ALLOC][MAX_ROUNDS];
	unsigned int round, nres[NB_ALLOC] = { 0 };
	char port_name[RTE_ETH_NAME_MAX_LEN];
	int ret, k, status = 0;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "pkt_fwd: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	if (parse_args(argc - ret, argv + ret) != 0 || setup() != 0) {
		teardown();
		rte_eal_cleanup();
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (rte_eth_dev_get_name_by_port(port_id, port_name) != 0)
		snprintf(port_name, sizeof(port_name), "?");
	printf("pkt_fwd: port %u (%s), RX lcore %u, TX lcore %u, telemetry: %s/dpdk_telemetry.v2\n"
	       "  (e.g. echo /pkt_fwd/stats | dpdk-telemetry.py -f <file-prefix>; /dpmalloc/socket,%d)\n",
	       port_id, port_name, rx_lcore, tx_lcore, rte_eal_get_runtime_dir(), socket_id);
	for (round = 0; round < rounds && !quit; round++) {
		for (k = 0; k < NB_ALLOC && !quit; k++) {
			if (!run_alloc[k])
				continue;
			if (run_phase((enum alloc_kind)k, round, &res[k][nres[k]]) != 0) {
				status = 2;
				break;
			}
			nres[k]++;
		}
	}
	print_table(res, nres);

	for (k = 0; k < NB_ALLOC; k++) {
		if (!run_alloc[k])
			continue;
		if (nres[k] == 0 && !quit)
			status = status ? status : 1;
		for (round = 0; round < nres[k]; round++) {
			const struct phase_result *r = &res[k][round];

			if (r->packets == 0 || r->bad != 0 || r->lost != 0)
				status = status ? status : 1;
		}
	}
	if (status == 1)
		printf("pkt_fwd: FAILED: an allocator forwarded nothing, or records were "
		       "corrupt or lost\n");
	teardown();
	rte_eal_cleanup();
	return status;
}
