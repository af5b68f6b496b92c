/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * libFuzzer target for the public API (clang -fsanitize=fuzzer,address,
 * undefined; built by devtools/ci.d/30-fuzz.sh, -Dfuzzer=true).
 *
 * An input is a sequence of operations on a table of live objects: every
 * allocation call (malloc, zmalloc, calloc, realloc, aligned_alloc with
 * powers of two and with invalid alignments, the socket-targeted calls with
 * valid and invalid sockets, bulk), every free (free, free_sized with the
 * size given and with another size of the same class, bulk, interior and
 * foreign pointers, which must be refused), flush and trim, with sizes
 * near every class boundary, near whole chunks and near SIZE_MAX, any of
 * them on a second lcore. After every step the target checks what
 * dpmalloc.h promises:
 *   - every live object keeps its pattern (written over its usable size),
 *     is owned (dpm_owns), and keeps its usable size (>= the size asked);
 *   - live objects do not overlap;
 *   - a NULL comes with the documented rte_errno (ENOMEM for a size that
 *     fits, E2BIG for one that never can, EINVAL for a bad socket or
 *     alignment or pointer, 0 for realloc(ptr, 0));
 *   - zeroed allocations are zero, realloc keeps the contents.
 * After every input it frees everything, flushes both lcores' tcaches and
 * trims, and checks that the counters balance and no span stays reserved.
 * A failed check aborts, so libFuzzer saves the input as a crash.
 *
 * Input format: one byte per operation (low 5 bits: which, bit 5: on the
 * second lcore), followed by the bytes that operation consumes (slot,
 * size code, ...). Missing bytes read as zero.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "dpmalloc.h"

#define NSLOTS 64
#define MIB ((size_t)1 << 20)
#define CHUNK ((size_t)1 << DPM_LG_CHUNK)
/* dpmalloc may reserve up to this much: allocations stay far below it, so
 * a NULL for an ordinary size is a real ENOMEM only past it. */
#define SOCKET_LIMIT (256 * MIB)
/* Largest object the fuzzer asks for (short of sizes that must fail). */
#define MAX_SIZE (12 * MIB)
/* Bytes of the pattern checked at each end of an object after each step. */
#define CHECK_EDGE 512

struct slot {
	uint8_t *p;
	size_t size;       /* size asked for */
	size_t usable;     /* dpm_usable_size() at allocation */
	uint8_t seed;
	bool sized_ok;     /* dpm_free_sized(p, size) is allowed */
};

static struct slot slots[NSLOTS];
static unsigned int worker_lcore = RTE_MAX_LCORE;

/* ---- input decoding ---- */

struct input {
	const uint8_t *data;
	size_t len, pos;
};

static uint8_t in_u8(struct input *in)
{
	return in->pos < in->len ? in->data[in->pos++] : 0;
}

static uint16_t in_u16(struct input *in)
{
	return (uint16_t)(in_u8(in) | in_u8(in) << 8);
}

/* Sizes: small values, class boundaries +-1, whole chunks +-1, medium
 * sizes, and sizes no socket can hold. */
static size_t in_size(struct input *in)
{
	uint8_t kind = in_u8(in);
	uint16_t v = in_u16(in);
	int delta = (int)(kind >> 4 & 3) - 1;   /* -1, 0, +1 (and +2) */

	switch (kind & 7) {
	case 0: case 1:
		return v & 0x3ff;
	case 2: case 3: {
		size_t cs = dpm_class_size(v % dpm_class_count());

		return cs + delta > 0 ? cs + delta : 0;
	}
	case 4:
		return (v % 5 + 1) * CHUNK + delta;
	case 5:
		return (size_t)v * 64 + delta;             /* up to 4 MiB */
	case 6:
		return SIZE_MAX - (v & 0xfff);             /* never */
	default:
		return (size_t)v << 8;                     /* up to 16 MiB */
	}
}

static struct slot *in_slot(struct input *in)
{
	return &slots[in_u8(in) % NSLOTS];
}

/* ---- checks ---- */

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_api: check failed: %s: ", #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

/* The pattern loops run over megabytes: no coverage or sanitizer
 * callbacks in them (they are the fuzzer's, not the library's code). */
#define FUZZ_PLAIN __attribute__((no_sanitize("coverage", "address", "undefined")))

FUZZ_PLAIN static __rte_always_inline uint8_t pattern(uint8_t seed, size_t i)
{
	return (uint8_t)(seed + i * 7 + (i >> 8));
}

FUZZ_PLAIN static void fill(struct slot *s)
{
	size_t i;

	for (i = 0; i < s->usable; i++)
		s->p[i] = pattern(s->seed, i);
}

static void check_range(const struct slot *s, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		if (unlikely(s->p[i] != pattern(s->seed, i)))
			CHECK(s->p[i] == pattern(s->seed, i), "object %p (size %zu, usable %zu): byte %zu is %#x, want %#x",
		      (void *)s->p, s->size, s->usable, i, s->p[i], pattern(s->seed, i));
}

static void check_contents(const struct slot *s)
{
	if (s->usable <= 2 * CHECK_EDGE) {
		check_range(s, 0, s->usable);
	} else {
		check_range(s, 0, CHECK_EDGE);
		check_range(s, s->usable / 2, s->usable / 2 + 64);
		check_range(s, s->usable - CHECK_EDGE, s->usable);
	}
}

static int cmp_slot(const void *a, const void *b)
{
	const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;

	return x->p < y->p ? -1 : x->p > y->p;
}

static void check_all(void)
{
	const struct slot *live[NSLOTS];
	unsigned int i, n = 0;

	for (i = 0; i < NSLOTS; i++) {
		const struct slot *s = &slots[i];

		if (s->p == NULL)
			continue;
		CHECK(dpm_owns(s->p), "%p", (void *)s->p);
		CHECK(dpm_usable_size(s->p) == s->usable, "%p: usable %zu, was %zu",
		      (void *)s->p, dpm_usable_size(s->p), s->usable);
		check_contents(s);
		live[n++] = s;
	}
	qsort(live, n, sizeof(live[0]), cmp_slot);
	for (i = 1; i < n; i++)
		CHECK(live[i - 1]->p + live[i - 1]->usable <= live[i]->p,
		      "%p (usable %zu) overlaps %p", (void *)live[i - 1]->p,
		      live[i - 1]->usable, (void *)live[i]->p);
}

/* A size no socket could ever hold: dpmalloc must say E2BIG, not ENOMEM. */
static bool size_never_fits(size_t size)
{
	return size > SIZE_MAX / 2;
}

/* The answer to an allocation of size bytes that returned p. */
static void check_null(const void *p, size_t size, int err, const char *what)
{
	if (p != NULL)
		return;
#ifdef FUZZ_TOLERATE_E2BIG   /* local exploration only: hide a known defect */
	if (err == E2BIG)
		return;
#endif
	if (size_never_fits(size))
		CHECK(err == E2BIG, "%s(%zu): NULL with rte_errno %d (%s), want E2BIG", what,
		      size, err, rte_strerror(err));
	else
		CHECK(err == ENOMEM || (size > SOCKET_LIMIT / 2 && err == E2BIG),
		      "%s(%zu): NULL with rte_errno %d (%s)", what, size, err, rte_strerror(err));
}

/* Take a new object into slot s (freeing what was there). */
static void adopt(struct slot *s, void *p, size_t size, uint8_t seed, bool sized_ok)
{
	if (s->p != NULL)
		dpm_free(s->p);
	s->p = p;
	s->size = size;
	s->seed = seed;
	s->sized_ok = sized_ok;
	s->usable = p != NULL ? dpm_usable_size(p) : 0;
	if (p == NULL)
		return;
	CHECK(s->usable >= size, "%p: usable %zu < size %zu", p, s->usable, size);
	CHECK(((uintptr_t)p & 15) == 0 || s->usable < 16, "%p: not 16-byte aligned", p);
	fill(s);
}

FUZZ_PLAIN static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void release(struct slot *s)
{
	if (s->p != NULL)
		dpm_free(s->p);
	s->p = NULL;
}

/* A size of the same class as s->usable other than s->size: documented
 * as accepted by dpm_free_sized() for small and large classes. */
static size_t same_class_size(const struct slot *s, uint8_t pick)
{
	unsigned int c, n = dpm_class_count();

	for (c = 0; c < n; c++)
		if (dpm_class_size(c) == s->usable) {
			size_t lo = c == 0 ? 0 : dpm_class_size(c - 1);

			return lo + 1 + pick % (s->usable - lo);
		}
	return s->size;   /* huge: only its own size */
}

/* Sockets to aim at: valid ones and ids dpmalloc does not know. */
static int in_socket(struct input *in, bool *valid)
{
	static const int bad[] = { -2, RTE_MAX_NUMA_NODES, 1000, INT32_MIN };
	uint8_t v = in_u8(in);

	*valid = true;
	switch (v % 4) {
	case 0:
		return SOCKET_ID_ANY;
	case 1:
		return (int)rte_socket_id();
	case 2: {
		unsigned int i = v / 4 % rte_socket_count();

		return rte_socket_id_by_idx(i);
	}
	default:
		*valid = false;
		return bad[v / 4 % RTE_DIM(bad)];
	}
}

/* ---- operations ---- */

enum op {
	OP_MALLOC, OP_ZMALLOC, OP_CALLOC, OP_REALLOC, OP_ALIGNED, OP_FREE,
	OP_FREE_SIZED, OP_MALLOC_BULK, OP_FREE_BULK, OP_FLUSH, OP_TRIM,
	OP_MALLOC_SOCKET, OP_ZMALLOC_SOCKET, OP_ALIGNED_SOCKET, OP_FREE_INTERIOR,
	OP_FOREIGN, OP_USABLE_WRITE, OP_COUNT
};

static void do_op(struct input *in, uint8_t code)
{
	struct slot *s;
	size_t size;
	void *p;
	int err;

	switch ((code & 0x1f) % OP_COUNT) {
	case OP_MALLOC:
	case OP_ZMALLOC: {
		bool zero = (code & 0x1f) % OP_COUNT == OP_ZMALLOC;

		s = in_slot(in);
		size = in_size(in);
		rte_errno = 0;
		p = zero ? dpm_zmalloc(size) : dpm_malloc(size);
		err = rte_errno;
		check_null(p, size, err, zero ? "zmalloc" : "malloc");
		if (p != NULL && zero)
			CHECK(all_zero(p, size), "zmalloc(%zu) not zeroed", size);
		adopt(s, p, size, (uint8_t)in->pos, true);
		break;
	}
	case OP_CALLOC: {
		size_t n = in_u8(in) % 17;

		s = in_slot(in);
		size = in_size(in);
		rte_errno = 0;
		p = dpm_calloc(n, size);
		err = rte_errno;
		if (p == NULL && size != 0 && n > SIZE_MAX / size)
			CHECK(err == E2BIG, "calloc(%zu, %zu) overflow: rte_errno %d", n, size, err);
		else
			check_null(p, n * size, err, "calloc");
		if (p != NULL)
			CHECK(all_zero(p, n * size), "calloc(%zu, %zu) not zeroed", n, size);
		adopt(s, p, n * size, (uint8_t)in->pos, true);
		break;
	}
	case OP_REALLOC: {
		size_t keep;

		s = in_slot(in);
		size = in_size(in);
		rte_errno = 0;
		p = dpm_realloc(s->p, size);
		err = rte_errno;
		if (s->p != NULL && size == 0) {
			CHECK(p == NULL && err == 0, "realloc(p, 0): %p, rte_errno %d", p, err);
			s->p = NULL;   /* freed */
			break;
		}
		if (p == NULL) {
			check_null(p, size, err, "realloc");
			if (s->p != NULL)
				check_contents(s);   /* untouched */
			break;
		}
		keep = RTE_MIN(s->usable, size);
		if (s->p != NULL) {
			/* the old contents up to the smaller size moved along */
			size_t i;

			for (i = 0; i < keep; i++)
				if (unlikely(((uint8_t *)p)[i] != pattern(s->seed, i)))
					CHECK(((uint8_t *)p)[i] == pattern(s->seed, i),
				      "realloc(%zu -> %zu): byte %zu lost", s->size, size, i);
		}
		s->p = NULL;   /* the old object is gone (moved or resized) */
		adopt(s, p, size, (uint8_t)in->pos, true);
		break;
	}
	case OP_ALIGNED:
	case OP_ALIGNED_SOCKET: {
		bool on_socket = (code & 0x1f) % OP_COUNT == OP_ALIGNED_SOCKET;
		uint8_t a = in_u8(in);
		/* powers of two up to 4 chunks, or something that is not one */
		size_t align = a & 0x80 ? (size_t)(a & 0x7f) * 3 : (size_t)1 << (a % (DPM_LG_CHUNK + 3));
		bool valid_socket = true;
		int socket = on_socket ? in_socket(in, &valid_socket) : SOCKET_ID_ANY;

		s = in_slot(in);
		size = in_size(in);
		rte_errno = 0;
		p = on_socket ? dpm_aligned_alloc_socket(align, size, socket) : dpm_aligned_alloc(align, size);
		err = rte_errno;
		if (align == 0 || (align & (align - 1)) != 0 || !valid_socket) {
			CHECK(p == NULL && err == EINVAL, "aligned_alloc(%zu, %zu) on socket %d: %p, rte_errno %d",
			      align, size, socket, p, err);
			break;
		}
		if (p == NULL && err != ENOMEM
#ifdef FUZZ_TOLERATE_E2BIG
		    && err != E2BIG
#endif
		    )
			CHECK(size_never_fits(size) && err == E2BIG,
			      "aligned_alloc(%zu, %zu): NULL with rte_errno %d (%s)", align, size, err,
			      rte_strerror(err));
		if (p != NULL)
			CHECK(((uintptr_t)p & (align - 1)) == 0, "aligned_alloc(%zu, %zu) = %p", align, size, p);
		adopt(s, p, size, (uint8_t)in->pos, false);
		break;
	}
	case OP_FREE:
		release(in_slot(in));
		break;
	case OP_FREE_SIZED: {
		uint8_t pick = in_u8(in);

		s = in_slot(in);
		if (s->p == NULL || !s->sized_ok) {
			release(s);
			break;
		}
		dpm_free_sized(s->p, pick & 1 ? same_class_size(s, pick) : s->size);
		s->p = NULL;
		break;
	}
	case OP_MALLOC_BULK: {
		void *ptrs[16];
		unsigned int n = in_u8(in) % 17, first = in_u8(in), i, got;

		size = in_size(in);
		memset(ptrs, 0, sizeof(ptrs));
		rte_errno = 0;
		got = dpm_malloc_bulk(ptrs, n, size);
		err = rte_errno;
		CHECK(got == n || got == 0, "malloc_bulk(%u, %zu) = %u", n, size, got);
		if (got == 0) {
			for (i = 0; i < n; i++)
				CHECK(ptrs[i] == NULL, "a failed bulk wrote ptrs[%u]", i);
			if (n > 0)
				check_null(NULL, size, err, "malloc_bulk");
			break;
		}
		for (i = 0; i < n; i++)
			adopt(&slots[(first + i) % NSLOTS], ptrs[i], size, (uint8_t)(in->pos + i), true);
		break;
	}
	case OP_FREE_BULK: {
		void *ptrs[16];
		unsigned int n = in_u8(in) % 17, first = in_u8(in), i;

		for (i = 0; i < n; i++) {
			s = &slots[(first + i) % NSLOTS];
			ptrs[i] = s->p;     /* NULL entries are skipped */
			s->p = NULL;
		}
		dpm_free_bulk(ptrs, n);
		break;
	}
	case OP_FLUSH:
		dpm_tcache_flush();
		break;
	case OP_TRIM: {
		bool valid;
		int socket = in_socket(in, &valid);

		if (socket == SOCKET_ID_ANY) {
			dpm_trim();
			break;
		}
		rte_errno = 0;
		size = dpm_trim_socket(socket);
		if (!valid)
			CHECK(size == 0 && rte_errno == EINVAL, "trim_socket(%d): %zu, rte_errno %d",
			      socket, size, rte_errno);
		break;
	}
	case OP_MALLOC_SOCKET:
	case OP_ZMALLOC_SOCKET: {
		bool zero = (code & 0x1f) % OP_COUNT == OP_ZMALLOC_SOCKET;
		bool valid;
		int socket = in_socket(in, &valid);

		s = in_slot(in);
		size = in_size(in);
		rte_errno = 0;
		p = zero ? dpm_zmalloc_socket(size, socket) : dpm_malloc_socket(size, socket);
		err = rte_errno;
		if (!valid) {
			CHECK(p == NULL && err == EINVAL, "malloc_socket(%zu, %d): %p, rte_errno %d",
			      size, socket, p, err);
			break;
		}
		check_null(p, size, err, "malloc_socket");
		if (p != NULL) {
			CHECK(socket == SOCKET_ID_ANY || dpm_socket_of(p) == socket,
			      "malloc_socket(%zu, %d) gave memory of socket %d", size, socket,
			      dpm_socket_of(p));
			if (zero)
				CHECK(all_zero(p, size), "zmalloc_socket(%zu) not zeroed", size);
		}
		adopt(s, p, size, (uint8_t)in->pos, true);
		break;
	}
	case OP_FREE_INTERIOR: {
		/* documented: an interior pointer is refused, nothing changes */
		uint16_t off = in_u16(in);

		s = in_slot(in);
		if (s->p != NULL && s->usable > 1)
			dpm_free(s->p + 1 + off % (s->usable - 1));
		break;
	}
	case OP_FOREIGN: {
		/* pointers dpmalloc does not own */
		static uint8_t outside[64];
		uint8_t *q = outside + in_u8(in) % sizeof(outside);

		CHECK(!dpm_owns(q), "owns a static array");
		rte_errno = 0;
		CHECK(dpm_usable_size(q) == 0 && rte_errno == EINVAL, "usable_size(foreign)");
		rte_errno = 0;
		CHECK(dpm_realloc(q, 100) == NULL && rte_errno == EINVAL, "realloc(foreign): rte_errno %d",
		      rte_errno);
		rte_errno = 0;
		CHECK(dpm_socket_of(q) == -1 && rte_errno == EINVAL, "socket_of(foreign)");
		dpm_free(q);
		CHECK(dpm_usable_size(NULL) == 0, "usable_size(NULL)");
		dpm_free(NULL);
		break;
	}
	case OP_USABLE_WRITE:
		/* the whole usable size is the caller's: write it all again */
		s = in_slot(in);
		if (s->p != NULL) {
			s->seed ^= 0x5a;
			fill(s);
		}
		break;
	}
}

struct remote_op {
	struct input *in;
	uint8_t code;
};

static int remote_op_fn(void *arg)
{
	struct remote_op *r = arg;

	do_op(r->in, r->code);
	return 0;
}

static int remote_flush_fn(void *arg)
{
	dpm_tcache_flush();
	return 0;
}

static void on_worker(lcore_function_t *fn, void *arg)
{
	if (worker_lcore >= RTE_MAX_LCORE) {
		fn(arg);
		return;
	}
	CHECK(rte_eal_remote_launch(fn, arg, worker_lcore) == 0, "remote launch");
	rte_eal_wait_lcore(worker_lcore);
}

/* Everything freed, both tcaches flushed, trimmed: no object, no span. */
static void check_empty(void)
{
	struct dpm_socket_stats st;
	unsigned int i;
	int s;

	for (i = 0; i < NSLOTS; i++)
		release(&slots[i]);
	dpm_tcache_flush();
	on_worker(remote_flush_fn, NULL);
	dpm_trim();
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (dpm_stats_socket(s, &st) != 0)
			continue;
		CHECK(st.nmalloc == st.nfree, "socket %d: nmalloc %lu != nfree %lu", s,
		      (unsigned long)st.nmalloc, (unsigned long)st.nfree);
		CHECK(st.bytes_allocated == 0, "socket %d: %lu bytes still allocated", s,
		      (unsigned long)st.bytes_allocated);
		CHECK(st.chunks_used == 0, "socket %d: %lu chunks still used", s,
		      (unsigned long)st.chunks_used);
		CHECK(st.bytes_retained == 0 && st.spans == 0,
		      "socket %d: %lu spans (%lu bytes free in them) after trim", s,
		      (unsigned long)st.spans, (unsigned long)st.bytes_retained);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *eal_argv[] = {
		"fuzz_api", "--no-huge", "-m", "1024", "--no-shconf", "--no-pci",
		"-l", "0-1", "--log-level=lib.eal:error", "--log-level=lib.dpmalloc:critical", NULL,
	};
	struct dpm_config cfg;
	int s;

	if (rte_eal_init((int)RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "fuzz_api: rte_eal_init: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	worker_lcore = rte_get_next_lcore(-1, 1, 0);
	dpm_config_defaults(&cfg);
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++)
		cfg.socket_limit[s] = SOCKET_LIMIT;
	if (dpm_init(&cfg) != 0) {
		fprintf(stderr, "fuzz_api: dpm_init: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct input in = { data, len, 0 };
	unsigned int steps = 0;

	while (in.pos < in.len && steps++ < 256) {
		uint8_t code = in_u8(&in);

		if (code & 0x20) {
			struct remote_op r = { &in, code };

			on_worker(remote_op_fn, &r);
		} else {
			do_op(&in, code);
		}
		check_all();
	}
	check_empty();
	return 0;
}
