/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Soak test (run by devtools/soak.sh): every worker lcore allocates mixed
 * sizes, multi-MiB objects included, writes a pattern into each, and frees
 * them itself or hands them through rings to other lcores, which check and
 * free them; the main lcore prints progress and trims. Two phases of equal
 * length: the memzone source on the machine's sockets, then the anonymous
 * source with two simulated sockets (lcores alternate between them, and
 * some allocations target the other socket), so frees also cross sockets.
 *
 *   dpm_soak [EAL args] -- SECONDS [PROGRESS_SECONDS]
 *
 * Progress line, every PROGRESS_SECONDS:
 *   soak: <phase> t=<s> ops=<n> live=<MiB> reserved=<MiB>
 *         errors: corrupt=<n> enomem=<n> e2big=<n> einval=<n> other=<n>
 *
 * Pass (exit 0) when, in each phase:
 *   - no object was corrupted and no allocation failed (any cause);
 *   - the footprint did not grow: "footprint" is bytes_reserved of all
 *     sockets read right after a dpm_trim(), every half second; the mean
 *     reading of the last third of the phase must not exceed the mean of
 *     the middle third by more than 15% + 2 chunks (the first third is
 *     warm-up; the workload is stationary from then on, so a leak or
 *     creeping fragmentation shows as growth; means, not peaks, because
 *     live bytes swing by tens of MiB with the multi-MiB objects and
 *     spans come in steps of an eighth of the footprint);
 *   - after everything is freed, every lcore flushed and a trim: no byte
 *     allocated, nmalloc == nfree, and no span reserved.
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "dpmalloc.h"

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define SLOTS 256
#define RING_SIZE 512
#define MAGIC 0x50414b53u   /* "SKAP" */

struct head {
	uint32_t magic;
	uint32_t from_lcore;
	uint64_t size;
	uint64_t seed;
};

enum err { ERR_CORRUPT, ERR_ENOMEM, ERR_E2BIG, ERR_EINVAL, ERR_OTHER, ERR_COUNT };
static const char *const err_names[ERR_COUNT] = { "corrupt", "enomem", "e2big", "einval", "other" };

struct lcore_state {
	uint64_t ops;
	uint64_t errors[ERR_COUNT];
	int64_t live_bytes;     /* allocated here minus freed here */
	unsigned int index;
} __rte_cache_aligned;

static struct lcore_state state[RTE_MAX_LCORE];
static unsigned int workers[RTE_MAX_LCORE], nworkers;
static struct rte_ring *ring[RTE_MAX_LCORE][RTE_MAX_LCORE];   /* [to][from] index */
static volatile int stop;
static unsigned int nsockets = 1;

static uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Heavy-tailed sizes: mostly under 1 KiB, a few up to 1 MiB, ~0.5% up to 6 MiB. */
static size_t pick_size(uint64_t *rnd)
{
	uint64_t r = rnd_next(rnd), p = r % 1000;

	if (p < 5)
		return MIB + r % (5 * MIB);
	if (p < 60)
		return 32 * KIB + r % (MIB - 32 * KIB);
	if (p < 250)
		return KIB + r % (31 * KIB);
	return sizeof(struct head) + r % 1000;
}

/* Pattern: the header, every word of the first 4 KiB, then one word per
 * 4 KiB, and the object's last whole word. */
static inline uint64_t word_at(uint64_t seed, size_t off)
{
	return seed * 0x9e3779b97f4a7c15ull + off;
}

static void obj_fill(void *p, size_t size, uint64_t seed)
{
	struct head *h = p;
	size_t off, last;

	h->magic = MAGIC;
	h->from_lcore = rte_lcore_id();
	h->size = size;
	h->seed = seed;
	if (size < 72)
		return;
	last = (size - 8) & ~(size_t)7;
	for (off = 64; off < last; off += off < 4096 ? 8 : 4096)
		*(uint64_t *)((char *)p + off) = word_at(seed, off);
	*(uint64_t *)((char *)p + last) = word_at(seed, 1);
}

static bool obj_check(const void *p)
{
	const struct head *h = p;
	size_t off, last, size = h->size;

	if (h->magic != MAGIC || size < sizeof(*h) || size > 6 * MIB)
		return false;
	if (size >= 72) {
		last = (size - 8) & ~(size_t)7;
		for (off = 64; off < last; off += off < 4096 ? 8 : 4096)
			if (*(const uint64_t *)((const char *)p + off) != word_at(h->seed, off))
				return false;
		if (*(const uint64_t *)((const char *)p + last) != word_at(h->seed, 1))
			return false;
	}
	return dpm_usable_size(p) >= size;
}

static void obj_free(struct lcore_state *st, void *p, uint64_t *rnd)
{
	struct head *h = p;

	if (!obj_check(p)) {
		if (st->errors[ERR_CORRUPT]++ < 10)
			fprintf(stderr, "soak: lcore %u: object %p corrupted (magic %#x size %" PRIu64 ")\n",
			rte_lcore_id(), p, h->magic, h->size);
		return;   /* leave it: freeing a corrupt object could crash */
	}
	st->live_bytes -= (int64_t)h->size;
	h->magic = 0;
	switch (rnd_next(rnd) % 4) {
	case 0:
		dpm_free_sized(p, h->size);
		break;
	default:
		dpm_free(p);
	}
}

static void count_error(struct lcore_state *st, int err)
{
	switch (err) {
	case ENOMEM: st->errors[ERR_ENOMEM]++; break;
	case E2BIG: st->errors[ERR_E2BIG]++; break;
	case EINVAL: st->errors[ERR_EINVAL]++; break;
	default: st->errors[ERR_OTHER]++;
	}
}

/* Check and free what other lcores sent; returns how many. */
static unsigned int drain(struct lcore_state *st, uint64_t *rnd)
{
	void *objs[32];
	unsigned int from, i, n, total = 0;

	for (from = 0; from < nworkers; from++) {
		n = rte_ring_sc_dequeue_burst(ring[st->index][from], objs, RTE_DIM(objs), NULL);
		for (i = 0; i < n; i++)
			obj_free(st, objs[i], rnd);
		total += n;
	}
	return total;
}

static int worker_main(void *arg)
{
	struct lcore_state *st = &state[rte_lcore_id()];
	uint64_t rnd = 0x2545f4914f6cdd1dull * (rte_lcore_id() + 1) + (uintptr_t)arg;
	void *slot[SLOTS] = { NULL };
	unsigned int i;

	while (!stop) {
		unsigned int s = rnd_next(&rnd) % SLOTS;

		if (slot[s] != NULL) {
			uint64_t r = rnd_next(&rnd) % 8;
			unsigned int to = (st->index + 1 + rnd_next(&rnd) % (nworkers - 1)) % nworkers;

			if (r < 3 && nworkers > 1 &&
			    rte_ring_sp_enqueue(ring[to][st->index], slot[s]) == 0) {
				/* the receiver checks and frees it */
			} else if (r == 3) {
				/* resize, then keep it */
				struct head *h = slot[s];
				size_t size = pick_size(&rnd);
				void *q;

				if (!obj_check(h)) {
					st->errors[ERR_CORRUPT]++;
					slot[s] = NULL;
					continue;
				}
				rte_errno = 0;
				q = dpm_realloc(h, size);
				if (q == NULL) {
					count_error(st, rte_errno);
					continue;
				}
				st->live_bytes += (int64_t)size - (int64_t)((struct head *)q)->size;
				obj_fill(q, size, rnd_next(&rnd));
				slot[s] = q;
				continue;
			} else {
				obj_free(st, slot[s], &rnd);
			}
			slot[s] = NULL;
		} else {
			size_t size = pick_size(&rnd);
			int socket = nsockets > 1 && rnd_next(&rnd) % 8 == 0 ?
				(int)(rnd_next(&rnd) % nsockets) : SOCKET_ID_ANY;
			void *p;

			rte_errno = 0;
			p = socket == SOCKET_ID_ANY ? dpm_malloc(size) : dpm_malloc_socket(size, socket);
			if (p == NULL) {
				count_error(st, rte_errno);
				continue;
			}
			obj_fill(p, size, rnd_next(&rnd));
			st->live_bytes += (int64_t)size;
			slot[s] = p;
		}
		if ((st->ops & 7) == 0)
			drain(st, &rnd);
		__atomic_store_n(&st->ops, st->ops + 1, __ATOMIC_RELAXED);
	}
	/* wind down: free what is left, take what others still send */
	for (i = 0; i < SLOTS; i++)
		if (slot[i] != NULL)
			obj_free(st, slot[i], &rnd);
	return 0;
}

static int drain_main(void *arg)
{
	struct lcore_state *st = &state[rte_lcore_id()];
	uint64_t rnd = 1;

	while (drain(st, &rnd) != 0)
		;
	dpm_tcache_flush();
	return 0;
}

static int lcore_socket_mod2(unsigned int lcore_id)
{
	return (int)(lcore_id % 2);
}

static uint64_t reserved_bytes(void)
{
	struct dpm_socket_stats st;
	uint64_t sum = 0;
	int s;

	for (s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (dpm_stats_socket(s, &st) == 0)
			sum += st.bytes_reserved;
	return sum;
}

/* One phase; returns the number of failed checks. */
static unsigned int phase(const char *name, const struct dpm_config *cfg, double seconds,
			  double progress)
{
	uint64_t hz = rte_get_tsc_hz(), start, next, next_sample, now;
	uint64_t sum_mid = 0, sum_last = 0, n_mid = 0, n_last = 0, samples = 0;
	double mean_mid, mean_last;
	uint64_t errors[ERR_COUNT] = { 0 }, ops = 0;
	int64_t live = 0;
	unsigned int lcore, i, e, failed = 0;
	struct dpm_socket_stats st;
	int s;

	if (dpm_init(cfg) != 0) {
		fprintf(stderr, "soak: dpm_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	memset(state, 0, sizeof(state));
	for (i = 0; i < nworkers; i++)
		state[workers[i]].index = i;
	stop = 0;
	for (i = 0; i < nworkers; i++)
		rte_eal_remote_launch(worker_main, (void *)(uintptr_t)i, workers[i]);

	start = rte_get_tsc_cycles();
	next = start + (uint64_t)(progress * hz);
	next_sample = start + hz / 2;
	while ((now = rte_get_tsc_cycles()) - start < (uint64_t)(seconds * hz)) {
		double t = (double)(now - start) / hz;
		uint64_t reserved;

		usleep(20 * 1000);
		if (now < next_sample)
			continue;
		/* a footprint sample every half second */
		next_sample += hz / 2;
		dpm_trim();
		reserved = reserved_bytes();
		if (t >= seconds * 2 / 3) {
			sum_last += reserved;
			n_last++;
		} else if (t >= seconds / 3) {
			sum_mid += reserved;
			n_mid++;
		}
		samples++;
		if (now < next)
			continue;
		next += (uint64_t)(progress * hz);
		ops = 0;
		live = 0;
		memset(errors, 0, sizeof(errors));
		RTE_LCORE_FOREACH_WORKER(lcore) {
			ops += __atomic_load_n(&state[lcore].ops, __ATOMIC_RELAXED);
			live += __atomic_load_n(&state[lcore].live_bytes, __ATOMIC_RELAXED);
			for (e = 0; e < ERR_COUNT; e++)
				errors[e] += __atomic_load_n(&state[lcore].errors[e], __ATOMIC_RELAXED);
		}
		printf("soak: %s t=%.0f ops=%" PRIu64 " live=%.1fMiB reserved=%.1fMiB errors:", name, t,
		       ops, (double)live / MIB, (double)reserved / MIB);
		for (e = 0; e < ERR_COUNT; e++)
			printf(" %s=%" PRIu64, err_names[e], errors[e]);
		printf("\n");
		fflush(stdout);
	}
	stop = 1;
	rte_eal_mp_wait_lcore();
	/* what is still in rings, and every tcache */
	for (i = 0; i < nworkers; i++) {
		rte_eal_remote_launch(drain_main, NULL, workers[i]);
		rte_eal_wait_lcore(workers[i]);
	}
	dpm_tcache_flush();
	dpm_trim();

	memset(errors, 0, sizeof(errors));
	ops = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		ops += state[lcore].ops;
		for (e = 0; e < ERR_COUNT; e++)
			errors[e] += state[lcore].errors[e];
	}
	for (e = 0; e < ERR_COUNT; e++)
		if (errors[e] != 0) {
			printf("soak: %s: FAIL: %" PRIu64 " errors: %s\n", name, errors[e], err_names[e]);
			failed++;
		}
	mean_mid = n_mid != 0 ? (double)sum_mid / n_mid : 0;
	mean_last = n_last != 0 ? (double)sum_last / n_last : 0;
	if (n_mid >= 3 && n_last >= 3 &&
	    mean_last > mean_mid * 1.15 + 2.0 * ((uint64_t)1 << DPM_LG_CHUNK)) {
		printf("soak: %s: FAIL: footprint grew: mean %.1f MiB in the last third, %.1f MiB in the middle third\n",
		       name, mean_last / MIB, mean_mid / MIB);
		failed++;
	}
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (dpm_stats_socket(s, &st) != 0)
			continue;
		if (st.bytes_allocated != 0 || st.nmalloc != st.nfree || st.spans != 0) {
			printf("soak: %s: FAIL: socket %d after freeing everything: %" PRIu64
			       " bytes allocated, nmalloc %" PRIu64 " nfree %" PRIu64 ", %" PRIu64 " spans\n",
			       name, s, st.bytes_allocated, st.nmalloc, st.nfree, st.spans);
			failed++;
		}
	}
	printf("soak: %s: %s: %" PRIu64 " ops, mean footprint %.1f MiB (middle third) -> %.1f MiB (last third)\n",
	       name, failed == 0 ? "ok" : "FAILED", ops, mean_mid / MIB, mean_last / MIB);
	dpm_fini();
	return failed;
}

int main(int argc, char **argv)
{
	struct dpm_config cfg;
	double seconds, progress;
	unsigned int lcore, i, j, failed;
	int n = rte_eal_init(argc, argv);

	if (n < 0) {
		fprintf(stderr, "soak: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	if (argc < 2) {
		fprintf(stderr, "usage: dpm_soak [EAL args] -- SECONDS [PROGRESS_SECONDS]\n");
		return 2;
	}
	seconds = atof(argv[1]);
	progress = argc > 2 ? atof(argv[2]) : 10;
	RTE_LCORE_FOREACH_WORKER(lcore)
		workers[nworkers++] = lcore;
	if (nworkers < 2) {
		fprintf(stderr, "soak: needs at least 3 lcores\n");
		return 2;
	}
	for (i = 0; i < nworkers; i++)
		for (j = 0; j < nworkers; j++) {
			char name[RTE_RING_NAMESIZE];

			snprintf(name, sizeof(name), "soak_%u_%u", i, j);
			ring[i][j] = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY,
					RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (ring[i][j] == NULL) {
				fprintf(stderr, "soak: ring: %s\n", rte_strerror(rte_errno));
				return 1;
			}
		}

	printf("soak: %u worker lcores, %.0f s per phase\n", nworkers, seconds / 2);
	failed = phase("memzone", NULL, seconds / 2, progress);

	dpm_config_defaults(&cfg);
	cfg.zone_source = DPM_ZONE_ANON;
	cfg.sim_sockets = 2;
	cfg.lcore_socket = lcore_socket_mod2;
	nsockets = 2;
	failed += phase("anon-2-sockets", &cfg, seconds / 2, progress);

	for (i = 0; i < nworkers; i++)
		for (j = 0; j < nworkers; j++)
			rte_ring_free(ring[i][j]);
	rte_eal_cleanup();
	printf("soak: %s\n", failed == 0 ? "PASS" : "FAIL");
	return failed == 0 ? 0 : 1;
}
