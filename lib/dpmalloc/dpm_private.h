/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_PRIVATE_H
#define DPM_PRIVATE_H

/*
 * Definitions shared by every module: build-time geometry, logging, locks.
 * Nothing here allocates; nothing here is installed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_spinlock.h>

#include "dpm_build_config.h"

/* Geometry. A page is the unit of the page map, independent of the
 * hugepage size; a chunk is the unit arenas get memory in, and is aligned to
 * its size so that ptr & ~DPM_CHUNK_MASK finds its header. */
#define DPM_LG_PAGE 12
#define DPM_PAGE ((size_t)1 << DPM_LG_PAGE)
#define DPM_PAGE_MASK (DPM_PAGE - 1)
#define DPM_CHUNK ((size_t)1 << DPM_LG_CHUNK)
#define DPM_CHUNK_MASK (DPM_CHUNK - 1)
#define DPM_CHUNK_NPAGES ((size_t)1 << (DPM_LG_CHUNK - DPM_LG_PAGE))

/* User space addresses on x86-64 and arm64 fit in 48 bits. */
#define DPM_LG_VADDR 48

#define DPM_CACHE_ALIGNED __rte_cache_aligned

/* Internal globals read on fast paths: declared hidden so that other files
 * of the library reach them PC-relative, not through the GOT. */
#define DPM_HIDDEN __attribute__((visibility("hidden")))

/* Compile-time options as constants, so both branches always compile. */
static const bool dpm_debug_checks = DPM_DEBUG_CHECKS;

#define DPM_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define DPM_ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))

extern int dpm_logtype;
/* DPM_LOG(level, fmt, args...), in RTE_LOG's pedantic-clean form. */
#define DPM_LOG(level, ...) \
	rte_log(RTE_LOG_ ## level, dpm_logtype, \
		RTE_FMT("dpmalloc: " RTE_FMT_HEAD(__VA_ARGS__,) "\n", RTE_FMT_TAIL(__VA_ARGS__,)))

/* A debug assertion: compiled in both builds, evaluated only with checks on. */
#define DPM_ASSERT(cond) do { \
	if (dpm_debug_checks && unlikely(!(cond))) \
		rte_panic("dpmalloc: assertion failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
} while (0)

/*
 * Locks of arenas, bins and sockets. Critical sections are short, but lcores
 * may be oversubscribed (8 lcores on 2 cores in the tests); a spinning waiter
 * then burns its whole time slice while the holder is descheduled, so the
 * default is an adaptive pthread mutex (spins briefly, then sleeps). The
 * spinlock is a build option for dedicated cores.
 */
#if DPM_LOCK_SPIN
typedef rte_spinlock_t dpm_lock_t;
static inline void dpm_lock_init(dpm_lock_t *l) { rte_spinlock_init(l); }
static inline void dpm_lock(dpm_lock_t *l) { rte_spinlock_lock(l); }
static inline void dpm_unlock(dpm_lock_t *l) { rte_spinlock_unlock(l); }
#else
typedef pthread_mutex_t dpm_lock_t;
static inline void dpm_lock_init(dpm_lock_t *l)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(l, &attr);
	pthread_mutexattr_destroy(&attr);
}
static inline void dpm_lock(dpm_lock_t *l) { pthread_mutex_lock(l); }
static inline void dpm_unlock(dpm_lock_t *l) { pthread_mutex_unlock(l); }
#endif

/* Counters read by other threads: single writer, relaxed loads and stores. */
static inline void dpm_counter_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
static inline uint64_t dpm_counter_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#endif /* DPM_PRIVATE_H */
