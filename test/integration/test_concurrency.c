/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Eight lcores on two cores (and plain threads beside them) allocate,
 * check and free at once, handing objects to each other through rings so
 * that most frees happen on another lcore than the allocation. Every
 * object carries a header and a byte pattern from a seed that its holder
 * also keeps outside the object (in its list, or next to the pointer in
 * the ring); a region handed out twice, or written by someone else, shows
 * as a header or pattern that does not match. The statistics must account
 * for every object at the end.
 */

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

DPM_TEST_SUITE(concurrency);

#define INBOX_SIZE 512        /* objects in flight towards one lcore */
#define LOCAL_MAX 128         /* objects one worker holds */
#define MAX_WORKERS (DPM_TEST_LCORES + 4)
#define BURST 32

/* What every object starts with; the pattern follows it. */
struct object_header {
	uint64_t seed;
	uint32_t size;        /* bytes asked for, header included */
	uint32_t owner;       /* worker that wrote it */
};

/* An object as its holder knows it. */
struct object_ref {
	void *p;
	uint64_t seed;
};

struct worker {
	struct run *run;
	unsigned int index;
	uint64_t rng;
	struct object_ref local[LOCAL_MAX];
	unsigned int nlocal;
	uint64_t allocs, frees, sent, received, reallocs;
};

struct run {
	uint64_t deadline;            /* timer cycles */
	bool use_realloc;             /* realloc in the mix (not where counters are
				       * checked: how a moved realloc counts is open) */
	unsigned int nworkers;
	unsigned int nlcores;         /* inboxes exist for workers [0, nlcores) */
	struct rte_ring *inbox[MAX_WORKERS];
	struct worker worker[MAX_WORKERS];
	atomic_uint errors;
	char first_error[256];
	atomic_flag error_written;
};

static void
run_error(struct run *run, const char *fmt, ...) __rte_format_printf(2, 3);

static void
run_error(struct run *run, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&run->errors, 1);
	if (atomic_flag_test_and_set(&run->error_written))
		return;
	va_start(ap, fmt);
	vsnprintf(run->first_error, sizeof(run->first_error), fmt, ap);
	va_end(ap);
}

/* A size: mostly small, some large, a few huge. */
static size_t
random_size(uint64_t *rng)
{
	uint64_t r = dpm_test_rand(rng);
	unsigned int kind = r % 1000;

	r >>= 10;
	if (kind < 800)
		return sizeof(struct object_header) + r % 1024;
	if (kind < 960)
		return 1024 + r % (15 * ITEST_KIB);
	if (kind < 999)
		return 16 * ITEST_KIB + r % (240 * ITEST_KIB);
	return 2 * ITEST_MIB + r % (2 * ITEST_MIB);
}

/* Write an object's header and pattern; returns its new seed. */
static uint64_t
object_write(struct worker *w, void *p, size_t size)
{
	struct object_header *h = p;

	h->seed = dpm_test_rand(&w->rng);
	h->size = (uint32_t)size;
	h->owner = w->index;
	dpm_test_fill(h + 1, size - sizeof(*h), h->seed);
	return h->seed;
}

/* Check that an object still holds what its holder wrote; prefix limits
 * the pattern check to its first bytes. */
static bool
object_check(struct run *run, struct object_ref ref, size_t prefix)
{
	const struct object_header *h = ref.p;
	const void *p = ref.p;
	size_t size = RTE_MIN((size_t)h->size, prefix);
	size_t bad;

	if (h->seed != ref.seed || h->size < sizeof(*h) ||
			h->owner >= run->nworkers) {
		run_error(run, "object %p was overwritten: header seed %#" PRIx64
			" (want %#" PRIx64 "), size %u, owner %u",
			p, h->seed, ref.seed, h->size, h->owner);
		return false;
	}
	if (!dpm_owns(p) || dpm_usable_size(p) < h->size) {
		run_error(run, "object %p of %u bytes: owns %d, usable_size %zu",
			p, h->size, dpm_owns(p), dpm_usable_size(p));
		return false;
	}
	bad = dpm_test_check(h + 1, size - sizeof(*h), h->seed);
	if (bad != SIZE_MAX) {
		run_error(run, "object %p of %u bytes from worker %u: byte %zu overwritten",
			p, h->size, h->owner, bad + sizeof(*h));
		return false;
	}
	return true;
}

static struct object_ref
object_new(struct worker *w)
{
	struct object_ref ref = { NULL, 0 };
	uint64_t r = dpm_test_rand(&w->rng);
	size_t size = random_size(&w->rng);
	void *p;

	switch (r % 8) {
	case 0: {
		size_t align = (size_t)64 << (r >> 8) % 8;

		p = dpm_aligned_alloc(align, size);
		if (p != NULL && (uintptr_t)p % align != 0)
			run_error(w->run, "aligned_alloc(%zu, %zu) = %p", align, size, p);
		break;
	}
	case 1:
		p = dpm_zmalloc(size);
		if (p != NULL && dpm_test_first_nonzero(p, RTE_MIN(size, (size_t)512)) != SIZE_MAX)
			run_error(w->run, "zmalloc(%zu) = %p is not zeroed", size, p);
		break;
	default:
		p = dpm_malloc(size);
		break;
	}
	if (p == NULL) {
		run_error(w->run, "worker %u: allocation of %zu bytes failed: %s",
			w->index, size, rte_strerror(rte_errno));
		return ref;
	}
	if ((uintptr_t)p % 16 != 0)
		run_error(w->run, "%p (%zu bytes) is not 16-byte aligned", p, size);
	ref.p = p;
	ref.seed = object_write(w, p, size);
	w->allocs++;
	return ref;
}

static void
object_free(struct worker *w, struct object_ref ref)
{
	if (object_check(w->run, ref, SIZE_MAX))
		dpm_free(ref.p);
	w->frees++;
}

static void
object_realloc(struct worker *w, unsigned int i)
{
	struct object_ref ref = w->local[i];
	size_t old_size = ((struct object_header *)ref.p)->size;
	size_t size = random_size(&w->rng);
	void *p = dpm_realloc(ref.p, size);

	if (p == NULL) {
		run_error(w->run, "realloc(%zu -> %zu) failed: %s", old_size, size,
			rte_strerror(rte_errno));
		return;
	}
	ref.p = p;
	/* only the smaller size is kept; usable_size may be below the old one */
	((struct object_header *)p)->size = (uint32_t)RTE_MIN(old_size, size);
	if (object_check(w->run, ref, SIZE_MAX))
		ref.seed = object_write(w, p, size);
	w->local[i] = ref;
	w->reallocs++;
}

/* Give an object to another worker that has an inbox, or free it here. */
static void
object_pass(struct worker *w, struct object_ref ref)
{
	struct run *run = w->run;
	unsigned int to = dpm_test_rand(&w->rng) % run->nlcores;

	if (to != w->index &&
			rte_ring_mp_enqueue_elem(run->inbox[to], &ref, sizeof(ref)) == 0) {
		w->sent++;
		return;
	}
	object_free(w, ref);
}

static void
worker_drain_inbox(struct worker *w)
{
	struct object_ref objs[BURST];
	unsigned int i, n;

	if (w->index >= w->run->nlcores)
		return;
	n = rte_ring_sc_dequeue_burst_elem(w->run->inbox[w->index], objs,
		sizeof(objs[0]), BURST, NULL);
	for (i = 0; i < n; i++)
		object_free(w, objs[i]);
	w->received += n;
}

static void
worker_loop(struct worker *w)
{
	struct run *run = w->run;
	uint64_t iter = 0;

	while ((iter++ & 63) != 0 || rte_get_timer_cycles() < run->deadline) {
		uint64_t r = dpm_test_rand(&w->rng);

		if (w->nlocal < LOCAL_MAX && (w->nlocal == 0 || r % 3 != 0)) {
			struct object_ref ref = object_new(w);

			if (ref.p != NULL)
				w->local[w->nlocal++] = ref;
		} else {
			unsigned int i = (r >> 8) % w->nlocal;
			struct object_ref ref = w->local[i];

			if (run->use_realloc && (r >> 32) % 8 == 0) {
				object_realloc(w, i);
			} else {
				w->local[i] = w->local[--w->nlocal];
				if ((r >> 32) % 2 == 0)
					object_pass(w, ref);
				else
					object_free(w, ref);
			}
		}
		worker_drain_inbox(w);
	}
}

static int
lcore_main(void *arg)
{
	struct run *run = arg;

	worker_loop(&run->worker[rte_lcore_id()]);
	return 0;
}

static int
pthread_main(void *arg)
{
	worker_loop(arg);
	return 0;
}

static void
run_setup(struct run *run, unsigned int nlcores, unsigned int nthreads,
		double seconds, bool use_realloc)
{
	unsigned int i;

	memset(run, 0, sizeof(*run));
	atomic_flag_clear(&run->error_written);
	run->use_realloc = use_realloc;
	run->nlcores = nlcores;
	run->nworkers = nlcores + nthreads;
	cr_assert_leq(run->nworkers, MAX_WORKERS);
	for (i = 0; i < run->nworkers; i++) {
		run->worker[i].run = run;
		run->worker[i].index = i;
		run->worker[i].rng = UINT64_C(0x2545f4914f6cdd1d) * (i + 1);
	}
	for (i = 0; i < nlcores; i++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "dpmt_inbox%u", i);
		run->inbox[i] = rte_ring_create_elem(name, sizeof(struct object_ref),
			INBOX_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
		cr_assert_not_null(run->inbox[i], "ring %s: %s", name,
			rte_strerror(rte_errno));
	}
	run->deadline = rte_get_timer_cycles() +
		(uint64_t)(seconds * (double)rte_get_timer_hz());
}

static void *
thread_group_main(void *arg)
{
	struct worker *w = arg;

	pthread_main(w);
	return NULL;
}

/* Run every worker: lcores 0..nlcores-1 (main included) and the plain
 * threads after them; returns when all are done. */
static void
run_all(struct run *run)
{
	pthread_t threads[MAX_WORKERS];
	unsigned int i, lcore_id;

	cr_assert_eq(rte_lcore_count(), run->nlcores,
		"the run wants one lcore per inbox");
	for (i = run->nlcores; i < run->nworkers; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, thread_group_main,
			&run->worker[i]), 0);
	RTE_LCORE_FOREACH_WORKER(lcore_id)
		cr_assert_eq(rte_eal_remote_launch(lcore_main, run, lcore_id), 0);
	lcore_main(run);
	rte_eal_mp_wait_lcore();
	for (i = run->nlcores; i < run->nworkers; i++)
		pthread_join(threads[i], NULL);
}

/* Free what is still in flight in the inboxes (from the main lcore). */
static void
run_drain_inboxes(struct run *run)
{
	struct worker *w = &run->worker[rte_lcore_id()];
	struct object_ref ref;
	unsigned int i;

	for (i = 0; i < run->nlcores; i++) {
		while (rte_ring_sc_dequeue_elem(run->inbox[i], &ref, sizeof(ref)) == 0)
			object_free(w, ref);
	}
}

static unsigned int
run_live_objects(const struct run *run)
{
	unsigned int i, live = 0;

	for (i = 0; i < run->nworkers; i++)
		live += run->worker[i].nlocal;
	return live;
}

static void
run_free_everything(struct run *run)
{
	unsigned int i, k;

	for (i = 0; i < run->nworkers; i++) {
		struct worker *w = &run->worker[i];

		for (k = 0; k < w->nlocal; k++)
			object_free(w, w->local[k]);
		w->nlocal = 0;
	}
}

static void
run_teardown(struct run *run)
{
	unsigned int i;

	for (i = 0; i < run->nlcores; i++)
		rte_ring_free(run->inbox[i]);
}

static void
assert_run_clean(struct run *run)
{
	unsigned int errors = atomic_load(&run->errors);

	cr_assert_eq(errors, 0, "%u errors; the first: %s", errors, run->first_error);
}

Test(concurrency, eight_lcores_passing_objects_to_each_other_keep_every_object_intact,
		.timeout = 120)
{
	static struct run run;
	uint64_t allocs = 0, sent = 0, received = 0;
	unsigned int i;

	run_setup(&run, DPM_TEST_LCORES, 0, 3.0, true);
	run_all(&run);
	assert_run_clean(&run);
	run_drain_inboxes(&run);
	run_free_everything(&run);
	assert_run_clean(&run);
	for (i = 0; i < run.nworkers; i++) {
		allocs += run.worker[i].allocs;
		sent += run.worker[i].sent;
		received += run.worker[i].received;
		cr_assert_gt(run.worker[i].allocs, 0, "lcore %u never allocated", i);
	}
	cr_assert_gt(sent, 0);
	cr_assert_gt(received, 0, "no object was freed by another lcore");
	cr_log_info("%" PRIu64 " allocations, %" PRIu64 " objects passed between lcores",
		allocs, sent);
	run_teardown(&run);
}

Test(concurrency, counters_balance_with_live_objects_after_a_concurrent_run,
		.timeout = 120)
{
	static struct run run;
	struct dpm_socket_stats total;
	unsigned int live, cls;

	run_setup(&run, DPM_TEST_LCORES, 0, 1.0, false);
	run_all(&run);
	run_drain_inboxes(&run);
	assert_run_clean(&run);

	itest_flush_all_tcaches();
	live = run_live_objects(&run);
	cr_assert_gt(live, 0);
	cr_assert_eq(itest_live_count(), (int64_t)live,
		"nmalloc - nfree = %" PRId64 " with %u objects live",
		itest_live_count(), live);

	run_free_everything(&run);
	assert_run_clean(&run);
	itest_flush_all_tcaches();
	total = itest_stats_total();
	cr_assert_eq(total.nmalloc, total.nfree, "nmalloc %" PRIu64 ", nfree %" PRIu64,
		total.nmalloc, total.nfree);
	cr_assert_eq(total.bytes_allocated, 0, "%" PRIu64 " bytes still allocated",
		total.bytes_allocated);
	cr_assert_eq(total.chunks_used, 0, "%" PRIu64 " chunks still used",
		total.chunks_used);
	for (cls = 0; cls < dpm_class_count(); cls++) {
		struct dpm_class_stats cs;

		cr_assert_eq(dpm_stats_class((int)rte_socket_id(), cls, &cs), 0);
		cr_assert_eq(cs.curregs, 0, "class %zu has %" PRIu64 " regions left",
			cs.size, cs.curregs);
		cr_assert_eq(cs.curruns, 0, "class %zu has %" PRIu64 " runs left",
			cs.size, cs.curruns);
	}
	run_teardown(&run);
}

Test(concurrency, plain_threads_allocate_and_free_beside_the_lcores,
		.timeout = 120)
{
	static struct run run;
	unsigned int i;

	run_setup(&run, DPM_TEST_LCORES, 3, 1.5, true);
	run_all(&run);
	assert_run_clean(&run);
	for (i = run.nlcores; i < run.nworkers; i++)
		cr_assert_gt(run.worker[i].allocs, 0, "thread %u never allocated", i);
	run_drain_inboxes(&run);
	run_free_everything(&run);
	assert_run_clean(&run);
	itest_flush_all_tcaches();
	cr_assert_eq(itest_stats_total().bytes_allocated, 0);
	run_teardown(&run);
}

/*
 * Producers and consumers: lcores 0-3 allocate bursts of records of mixed
 * sizes and pass each burst to one of lcores 4-7 in turn, which check and
 * free them. Every free is of another lcore's arena, and several consumers
 * flush into the same producer's arena at once, so whole runs empty out
 * (and coalesce) concurrently while the producers carve new ones.
 */
#define PIPE_GROUP (DPM_TEST_LCORES / 2)

static struct {
	struct rte_ring *ring[PIPE_GROUP];   /* one per consumer */
	atomic_uint producers_done;
	uint64_t produced[PIPE_GROUP], consumed[PIPE_GROUP];
} pipeline;

static int
pipe_producer(struct worker *w)
{
	static const size_t sizes[] = { 48, 64, 160, 512, 1500, 4096, 9000, 20000 };
	struct object_ref burst[BURST];
	unsigned int i, next = w->index;

	while (rte_get_timer_cycles() < w->run->deadline) {
		struct rte_ring *ring = pipeline.ring[next++ % PIPE_GROUP];
		unsigned int sent = 0;

		for (i = 0; i < BURST; i++) {
			size_t size = sizes[dpm_test_rand(&w->rng) % RTE_DIM(sizes)];

			burst[i].p = dpm_malloc(size);
			if (burst[i].p == NULL) {
				run_error(w->run, "producer %u: malloc(%zu): %s",
					w->index, size, rte_strerror(rte_errno));
				break;
			}
			burst[i].seed = object_write(w, burst[i].p, size);
		}
		while (sent < i)
			sent += rte_ring_mp_enqueue_burst_elem(ring, burst + sent,
				sizeof(burst[0]), i - sent, NULL);
		pipeline.produced[w->index] += i;
	}
	atomic_fetch_add(&pipeline.producers_done, 1);
	return 0;
}

static int
pipe_consumer(struct worker *w)
{
	unsigned int me = w->index - PIPE_GROUP;
	struct rte_ring *ring = pipeline.ring[me];
	struct object_ref burst[BURST];

	for (;;) {
		unsigned int i, n = rte_ring_sc_dequeue_burst_elem(ring, burst,
			sizeof(burst[0]), BURST, NULL);

		for (i = 0; i < n; i++)
			object_free(w, burst[i]);
		pipeline.consumed[me] += n;
		if (n == 0 && atomic_load(&pipeline.producers_done) == PIPE_GROUP &&
				rte_ring_empty(ring))
			break;
	}
	return 0;
}

static int
pipe_lcore_main(void *arg)
{
	struct run *run = arg;
	struct worker *w = &run->worker[rte_lcore_id()];

	return w->index < PIPE_GROUP ? pipe_producer(w) : pipe_consumer(w);
}

Test(concurrency, objects_freed_by_consumer_lcores_return_intact_to_the_producers_arenas,
		.timeout = 120)
{
	static struct run run;
	unsigned int i, lcore_id;
	uint64_t produced = 0, consumed = 0;

	run_setup(&run, DPM_TEST_LCORES, 0, 2.0, false);
	for (i = 0; i < PIPE_GROUP; i++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "dpmt_pipe%u", i);
		pipeline.ring[i] = rte_ring_create_elem(name, sizeof(struct object_ref),
			1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
		cr_assert_not_null(pipeline.ring[i]);
	}
	RTE_LCORE_FOREACH_WORKER(lcore_id)
		cr_assert_eq(rte_eal_remote_launch(pipe_lcore_main, &run, lcore_id), 0);
	pipe_lcore_main(&run);
	rte_eal_mp_wait_lcore();

	assert_run_clean(&run);
	for (i = 0; i < PIPE_GROUP; i++) {
		produced += pipeline.produced[i];
		consumed += pipeline.consumed[i];
		rte_ring_free(pipeline.ring[i]);
	}
	cr_assert_gt(produced, 0);
	cr_assert_eq(consumed, produced);
	itest_flush_all_tcaches();
	cr_assert_eq(itest_stats_total().bytes_allocated, 0,
		"%" PRIu64 " bytes still allocated after every record was freed",
		itest_stats_total().bytes_allocated);
	cr_log_info("%" PRIu64 " records passed from producers to consumers", produced);
	run_teardown(&run);
}
