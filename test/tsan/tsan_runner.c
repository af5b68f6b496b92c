/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * ThreadSanitizer runner: the concurrency, tcache and NUMA scenarios of the
 * Criterion suite, in a plain program (Criterion cannot start under TSan:
 * its arena is mapped where TSan keeps its shadow memory).
 *
 *   tsan_runner <scenario>     run one scenario; exit 0 when every object
 *                              came back intact and the counters balance
 *   tsan_runner list           print the scenario names
 *
 * TSan itself makes the process exit with 66 when it reported a race.
 *
 * The "lcores" are plain pthreads registered with rte_thread_register():
 * each gets an lcore id, so rte_lcore_id() finds its tcache exactly as on an
 * EAL lcore, while thread start and join are pthread calls TSan sees (EAL's
 * rte_eal_remote_launch()/rte_eal_wait_lcore() synchronise inside DPDK's
 * uninstrumented code, so TSan could not see them order anything).
 *
 * Objects travel between threads through rte_rings. rte_ring is inline
 * code, compiled here with TSan; its default x86 variant orders head and
 * tail with compiler barriers that TSan cannot interpret, so this file
 * selects the C11 variant (RTE_USE_C11_MEM_MODEL, the one DPDK uses on
 * Arm): acquire/release atomics that TSan understands, with the same
 * semantics. See tsan.supp for what is left.
 */

#define RTE_USE_C11_MEM_MODEL 1

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dpmalloc.h"

#define NTHREADS 6
#define RING_SIZE 1024
#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

static unsigned int failures;

#define FAIL(...) do { \
	fprintf(stderr, "tsan_runner: FAIL: " __VA_ARGS__); \
	fputc('\n', stderr); \
	__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED); \
} while (0)

/* ---- objects: a header saying what they are, then a pattern ---- */

struct obj_head {
	uint64_t seed;
	uint64_t size;
};

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Pattern bytes are checked at the start, the end and a few places in
 * between, so multi-MiB objects stay cheap under TSan. An object has room
 * for the header and at least one pattern byte. */
static void obj_fill(void *p, size_t size, uint64_t seed)
{
	struct obj_head *h = p;
	uint8_t *b = p;
	size_t i, step = size > 4096 ? size / 64 : 1;

	h->seed = seed;
	h->size = size;
	for (i = sizeof(*h); i < size; i += step)
		b[i] = (uint8_t)(seed + i);
	b[size - 1] = (uint8_t)(seed + size - 1);
}

static bool obj_check(const void *p)
{
	const struct obj_head *h = p;
	const uint8_t *b = p;
	size_t size = h->size, i, step = size > 4096 ? size / 64 : 1;

	if (size < sizeof(*h) || size > 64 * MIB) {
		fprintf(stderr, "tsan_runner: %p: header says size %zu\n", p, size);
		return false;
	}
	for (i = sizeof(*h); i < size; i += step)
		if (b[i] != (uint8_t)(h->seed + i))
			break;
	if (i >= size && b[size - 1] == (uint8_t)(h->seed + size - 1))
		return true;
	fprintf(stderr, "tsan_runner: %p: size %zu (usable %zu, socket %d): byte %zu is %#x, want %#x\n",
		p, size, dpm_usable_size(p), dpm_socket_of(p), RTE_MIN(i, size - 1),
		b[RTE_MIN(i, size - 1)], (uint8_t)(h->seed + RTE_MIN(i, size - 1)));
	return false;
}

/* Mostly small, some large, a few huge (multi-chunk) objects. */
static size_t pick_size(uint64_t *rnd, bool allow_huge)
{
	uint64_t r = xorshift(rnd);

	switch (r % 64) {
	case 0:
		return allow_huge ? 2 * MIB + r % (3 * MIB) : 64 * KIB;
	case 1: case 2: case 3: case 4:
		return 16 * KIB + r % (400 * KIB);
	default:
		return sizeof(struct obj_head) + 1 + r % 2000;
	}
}

/* ---- threads: registered lcores, started and joined by pthreads ---- */

struct worker {
	unsigned int index;
	unsigned int lcore_id;
	uint64_t ops;
	unsigned int next_from;   /* ring to look at next */
	int (*fn)(struct worker *w);
};

static struct worker workers[NTHREADS];
static unsigned int nworkers;
static unsigned int start_gate;     /* released when every thread exists */
static unsigned int stop_flag;

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (rte_thread_register() != 0) {
		FAIL("rte_thread_register: %s", rte_strerror(rte_errno));
		return NULL;
	}
	__atomic_store_n(&w->lcore_id, rte_lcore_id(), __ATOMIC_RELAXED);
	while (!__atomic_load_n(&start_gate, __ATOMIC_ACQUIRE))
		;
	if (w->fn(w) != 0)
		FAIL("worker %u (lcore %u) failed", w->index, w->lcore_id);
	dpm_tcache_flush();
	rte_thread_unregister();
	return NULL;
}

/* Run fn on n registered threads while main_fn (if any) runs here until
 * they are done. */
static void run_threads(unsigned int n, int (*fn)(struct worker *), void (*main_fn)(void))
{
	pthread_t tid[NTHREADS];
	unsigned int i;

	nworkers = n;
	__atomic_store_n(&start_gate, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&stop_flag, 0, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		workers[i] = (struct worker){ .index = i, .fn = fn };
		if (pthread_create(&tid[i], NULL, worker_main, &workers[i]) != 0) {
			FAIL("pthread_create");
			exit(1);
		}
	}
	__atomic_store_n(&start_gate, 1, __ATOMIC_RELEASE);
	if (main_fn != NULL)
		main_fn();
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
}

/* Simulated topology: lcores alternate between two sockets. */
static int lcore_socket_mod2(unsigned int lcore_id)
{
	return (int)(lcore_id % 2);
}

static void init_or_die(const struct dpm_config *cfg)
{
	if (dpm_init(cfg) != 0) {
		FAIL("dpm_init: %s", rte_strerror(rte_errno));
		exit(1);
	}
}

/* After a scenario: everything freed and flushed, so every socket's
 * arenas have handed out as many objects as they took back, and a trim
 * leaves no free span behind. */
static void check_balance(const char *what)
{
	struct dpm_socket_stats st;
	int s;

	dpm_tcache_flush();
	dpm_trim();
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (dpm_stats_socket(s, &st) != 0)
			continue;
		if (st.nmalloc != st.nfree || st.bytes_allocated != 0)
			FAIL("%s: socket %d: nmalloc %" PRIu64 " nfree %" PRIu64
			     " bytes_allocated %" PRIu64, what, s, st.nmalloc,
			     st.nfree, st.bytes_allocated);
		if (st.bytes_retained != 0)
			FAIL("%s: socket %d: %" PRIu64 " bytes in free spans after trim",
			     what, s, st.bytes_retained);
	}
}

/* ---- scenario: lazy initialisation raced by every thread ---- */

static int lazy_init_fn(struct worker *w)
{
	void *p[64];
	unsigned int i;

	/* every thread's first call may be the one that initialises */
	for (i = 0; i < RTE_DIM(p); i++) {
		p[i] = dpm_malloc(16 + 48 * i);
		if (p[i] == NULL)
			return -1;
		memset(p[i], (int)w->index, 16 + 48 * i);
	}
	for (i = 0; i < RTE_DIM(p); i++)
		dpm_free(p[i]);
	return 0;
}

static void scenario_lazy_init(void)
{
	unsigned int round;

	/* a few rounds: threads start staggered under TSan */
	for (round = 0; round < 5; round++) {
		run_threads(NTHREADS, lazy_init_fn, NULL);
		check_balance("lazy_init");
		dpm_fini();
	}
}

/* ---- scenario: objects passed around through rings ---- */

/* ring[to][from]: one single-producer single-consumer ring per pair of
 * lcores (see the file comment for why not multi-producer rings). */
static struct rte_ring *ring[NTHREADS][NTHREADS];
static unsigned int nsockets = 1;   /* sockets dpm_malloc_socket() targets */
#define PIPE_OPS 3000

static void pipe_consume(struct worker *w, unsigned int max, uint64_t *rnd)
{
	void *objs[32];
	unsigned int i, n;

	unsigned int from = w->next_from++ % nworkers;

	n = rte_ring_sc_dequeue_burst(ring[w->index][from], objs, RTE_MIN(max, 32u), NULL);
	for (i = 0; i < n; i++) {
		struct obj_head *h = objs[i];

		if (!obj_check(h))
			FAIL("lcore %u: object %p came through the ring corrupted", w->lcore_id, objs[i]);
		switch (xorshift(rnd) % 4) {
		case 0:
			dpm_free_sized(h, h->size);
			break;
		case 1: {
			/* grow or shrink here, then free */
			size_t size = h->size;
			void *q = dpm_realloc(h, size / 2 + sizeof(*h));

			if (q == NULL)
				FAIL("realloc: %s", rte_strerror(rte_errno));
			dpm_free(q != NULL ? q : h);
			break;
		}
		default:
			dpm_free(h);
		}
	}
}

static int pipe_fn(struct worker *w)
{
	uint64_t rnd = 0x9e3779b97f4a7c15ull * (w->index + 1);
	unsigned int i;

	for (i = 0; i < PIPE_OPS; i++) {
		size_t size = pick_size(&rnd, true);
		int socket = xorshift(&rnd) % 8 == 0 ? (int)(xorshift(&rnd) % nsockets) : SOCKET_ID_ANY;
		void *p = socket == SOCKET_ID_ANY ? dpm_malloc(size) : dpm_malloc_socket(size, socket);
		unsigned int to = (w->index + 1 + xorshift(&rnd) % (nworkers - 1)) % nworkers;

		if (p == NULL) {
			FAIL("lcore %u: malloc(%zu) on socket %d: %s", w->lcore_id, size, socket,
			     rte_strerror(rte_errno));
			break;
		}
		obj_fill(p, size, rnd);
		while (rte_ring_sp_enqueue(ring[to][w->index], p) != 0)
			pipe_consume(w, 32, &rnd);
		pipe_consume(w, 4, &rnd);
		if (i % 500 == 499)
			dpm_tcache_flush();
		w->ops++;
	}
	/* wait for the others to stop sending, then drain */
	__atomic_fetch_add(&stop_flag, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE) < nworkers)
		pipe_consume(w, 32, &rnd);
	for (i = 0; i < nworkers; i++)
		while (!rte_ring_empty(ring[w->index][i]))
			pipe_consume(w, 32, &rnd);
	return 0;
}

/* The main thread reads statistics and trims while the lcores work (as a
 * telemetry thread and a housekeeping thread would). */
static void pipe_main(void)
{
	struct dpm_socket_stats st;
	struct dpm_lcore_stats ls;
	unsigned int i;

	while (__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE) < nworkers) {
		dpm_stats_socket(0, &st);
		dpm_stats_socket(1, &st);
		for (i = 0; i < nworkers; i++)
			dpm_stats_lcore(__atomic_load_n(&workers[i].lcore_id, __ATOMIC_RELAXED), &ls);
		dpm_trim();
		usleep(1000);
	}
}

static void pipe_rings(void)
{
	unsigned int i, j;
	char name[RTE_RING_NAMESIZE];

	for (i = 0; i < NTHREADS; i++)
		for (j = 0; j < NTHREADS; j++) {
			snprintf(name, sizeof(name), "tsan_%u_%u", i, j);
			ring[i][j] = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY,
					RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (ring[i][j] == NULL) {
				FAIL("ring %s: %s", name, rte_strerror(rte_errno));
				exit(1);
			}
		}
}

static void pipe_rings_free(void)
{
	unsigned int i, j;

	for (i = 0; i < NTHREADS; i++)
		for (j = 0; j < NTHREADS; j++)
			rte_ring_free(ring[i][j]);
}

/* Memzone source, the machine's sockets. */
static void scenario_pipeline(void)
{
	pipe_rings();
	init_or_die(NULL);
	run_threads(NTHREADS, pipe_fn, pipe_main);
	check_balance("pipeline");
	dpm_fini();
	pipe_rings_free();
}

/* Anonymous source with two simulated sockets: a third of the frees cross
 * a socket, and dpm_malloc_socket() targets the other one. */
static void scenario_numa(void)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.zone_source = DPM_ZONE_ANON;
	cfg.sim_sockets = 2;
	cfg.lcore_socket = lcore_socket_mod2;
	cfg.span_decay_ms = 1;
	nsockets = 2;
	pipe_rings();
	init_or_die(&cfg);
	run_threads(NTHREADS, pipe_fn, pipe_main);
	check_balance("numa");
	if (dpm_stats_cross_socket(0, 1) + dpm_stats_cross_socket(1, 0) == 0)
		FAIL("numa: no cross-socket free was counted");
	dpm_fini();
	pipe_rings_free();
}

/* ---- scenario: tcache fill and flush through the arenas' bins ---- */

#define BURST 600

static int tcache_fn(struct worker *w)
{
	static const size_t sizes[] = { 16, 64, 100, 512, 2048, 8192, 32 * KIB };
	void **p = malloc(BURST * sizeof(*p));
	unsigned int round, i;

	if (p == NULL)
		return -1;
	for (round = 0; round < 40; round++) {
		size_t size = sizes[(round + w->index) % RTE_DIM(sizes)];

		/* bursts bigger than a tcache bin: fills and flushes */
		if (round % 3 == 0) {
			if (dpm_malloc_bulk(p, BURST, size) != BURST)
				return -1;
		} else {
			for (i = 0; i < BURST; i++)
				if ((p[i] = dpm_malloc(size)) == NULL)
					return -1;
		}
		for (i = 0; i < BURST; i++)
			memset(p[i], (int)round, 16);
		for (i = 0; i < BURST; i++)
			if (*(uint8_t *)p[i] != (uint8_t)round)
				return -1;
		if (round % 2 == 0)
			dpm_free_bulk(p, BURST);
		else
			for (i = 0; i < BURST; i++)
				dpm_free(p[BURST - 1 - i]);
		if (round % 5 == 4)
			dpm_tcache_flush();
		w->ops += BURST;
	}
	free(p);
	__atomic_fetch_add(&stop_flag, 1, __ATOMIC_ACQ_REL);
	return 0;
}

static void tcache_main(void)
{
	struct dpm_class_stats cs;
	unsigned int cls = 0;

	while (__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE) < nworkers) {
		dpm_stats_class(0, cls++ % dpm_class_count(), &cs);
		if (cls % 64 == 0)
			dpm_trim();
	}
}

static void scenario_tcache(void)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.arenas_per_socket = 2;  /* lcores share arenas and bins */
	init_or_die(&cfg);
	run_threads(NTHREADS, tcache_fn, tcache_main);
	check_balance("tcache");
	dpm_fini();
}

/* ---- main ---- */

static const struct {
	const char *name;
	void (*fn)(void);
} scenarios[] = {
	{ "lazy_init", scenario_lazy_init },
	{ "tcache", scenario_tcache },
	{ "pipeline", scenario_pipeline },
	{ "numa", scenario_numa },
};

/* EAL leaves the runtime directory of a per-pid file prefix behind (with
 * the telemetry socket in it): remove it, ours alone, once EAL is done. */
static void remove_runtime_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	char prefix[64], runtime_dir[PATH_MAX];
	char *eal_argv[] = {
		argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
		"-l", "0", "--log-level=lib.eal:warning", prefix, NULL,
	};
	unsigned int i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s <scenario>|list\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "list") == 0) {
		for (i = 0; i < RTE_DIM(scenarios); i++)
			printf("%s\n", scenarios[i].name);
		return 0;
	}
	for (i = 0; i < RTE_DIM(scenarios); i++)
		if (strcmp(argv[1], scenarios[i].name) == 0)
			break;
	if (i == RTE_DIM(scenarios)) {
		fprintf(stderr, "tsan_runner: unknown scenario %s\n", argv[1]);
		return 2;
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=dpm_tsan_%d", (int)getpid());
	if (rte_eal_init((int)RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "tsan_runner: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	scenarios[i].fn();
	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	printf("tsan_runner: %s: %s\n", scenarios[i].name, failures == 0 ? "ok" : "FAILED");
	return failures == 0 ? 0 : 1;
}
