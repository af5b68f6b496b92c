/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPMALLOC_H
#define DPMALLOC_H

/**
 * @file
 * dpmalloc: a jemalloc-style allocator for DPDK.
 *
 * All memory comes from hugepage-backed DPDK memzones, reserved in spans
 * that grow geometrically and are carved into chunks. Each NUMA socket has
 * its own set of arenas; each lcore owns a thread cache (tcache) found by
 * rte_lcore_id(). Threads that are not lcores may call every function too:
 * they bypass the tcache and take the locked arena path.
 *
 * Error convention: functions returning a pointer return NULL and set
 * rte_errno; functions returning int return a negative value (-1) and set
 * rte_errno. Allocation, free and pointer-query functions initialise the
 * library with default settings on first use; statistics functions never
 * do (they fail with ENODEV until it is initialised, so that a telemetry
 * poll cannot bring it back after dpm_fini()). Before rte_eal_init() has
 * run, every call fails with rte_errno = E_RTE_NO_CONFIG.
 *
 * Thread safety: unless a function says otherwise, any lcore, any thread
 * registered with rte_thread_register(), and any plain pthread may call it
 * at any time, concurrently with every other function except dpm_fini().
 *
 * Processes: dpmalloc serves the primary process only. In a secondary
 * process (--proc-type=secondary) every call fails with rte_errno =
 * ENOTSUP.
 *
 * ABI: the functions marked __dpm_experimental may still change; calling
 * them warns unless ALLOW_EXPERIMENTAL_API is defined (as with DPDK's
 * __rte_experimental). The others are stable for the life of the SONAME
 * (libdpmalloc.so.1).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include "dpm_build_config.h"
#include "dpm_fp.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Marks an API that is not yet stable (the EXPERIMENTAL version node of
 * libdpmalloc.so): using it warns unless ALLOW_EXPERIMENTAL_API is defined
 * before including this header, as DPDK's __rte_experimental does.
 */
#ifdef ALLOW_EXPERIMENTAL_API
#define __dpm_experimental
#else
#define __dpm_experimental \
	__attribute__((deprecated("dpmalloc experimental API: define ALLOW_EXPERIMENTAL_API")))
#endif

/** @cond DPM_INTERNAL */
/*
 * Allocation attributes: the compiler knows that the result aliases
 * nothing (malloc), how large (alloc_size) and how aligned (alloc_align)
 * it is, for object-size checks (_FORTIFY_SOURCE, -Warray-bounds) and
 * optimisation; gcc >= 11 also pairs allocators with their deallocators
 * (-Wmismatched-dealloc: free() of dpmalloc memory, dpm_free() of
 * malloc()'s). gcc ignores the pairing on inline functions, so it does not
 * cover the inline dpm_malloc() and dpm_free() this header maps the calls
 * to (compile with DPM_NO_INLINE to have them checked too).
 */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define __dpm_dealloc \
	__attribute__((malloc(dpm_free, 1), malloc(dpm_free_sized, 1)))
#else
#define __dpm_dealloc
#endif
#define __dpm_malloc(size_arg) \
	__attribute__((malloc, alloc_size(size_arg))) __dpm_dealloc
#define __dpm_malloc2(n_arg, size_arg) \
	__attribute__((malloc, alloc_size(n_arg, size_arg))) __dpm_dealloc
/* alloc_align for gcc only: clang makes a constant bad alignment (a
 * deliberate EINVAL case) a compile-time warning. */
#if defined(__GNUC__) && !defined(__clang__)
#define __dpm_malloc_aligned(align_arg, size_arg) \
	__attribute__((malloc, alloc_size(size_arg), alloc_align(align_arg))) __dpm_dealloc
#else
#define __dpm_malloc_aligned(align_arg, size_arg) \
	__attribute__((malloc, alloc_size(size_arg))) __dpm_dealloc
#endif
/** @endcond */

/* The library is built with hidden visibility; these are its exports. */
#pragma GCC visibility push(default)

/** @cond DPM_INTERNAL */
/* Deallocators named by the allocation attributes, declared before them. */
void dpm_free(void *ptr);
void dpm_free_sized(void *ptr, size_t size);
void *dpm_realloc(void *ptr, size_t size) __attribute__((alloc_size(2)));
/** @endcond */

/** Version of this header, major * 10000 + minor * 100 + patch. */
#define DPM_VERSION 100

/** What to do when the socket asked for has no memory left. */
enum dpm_exhaust_policy {
	/** Fail with NULL and rte_errno = ENOMEM (default). */
	DPM_EXHAUST_STRICT = 0,
	/** Serve from the nearest other socket with memory; counted per pair. */
	DPM_EXHAUST_FALLBACK = 1,
};

/** Where chunks come from. */
enum dpm_zone_source {
	/** DPDK memzones (hugepages, or 4 KiB pages under --no-huge). */
	DPM_ZONE_MEMZONE = 0,
	/**
	 * Anonymous memory labelled with any socket id. For tests that simulate
	 * sockets the machine does not have; not hugepage-backed, and
	 * dpm_virt2iova() returns RTE_BAD_IOVA for it.
	 */
	DPM_ZONE_ANON = 1,
};

/**
 * Library configuration. Fill it with dpm_config_defaults() first, then
 * change the fields you care about: new fields get sane defaults that way.
 */
struct dpm_config {
	/** Size of the first span reserved per socket (rounded up to chunks). */
	size_t first_span_size;
	/** Spans grow geometrically with the footprint up to this size. */
	size_t max_span_size;
	/** Arenas per socket; 0 means one per enabled lcore of the socket. */
	unsigned int arenas_per_socket;
	/** Chunk source (see enum dpm_zone_source). */
	enum dpm_zone_source zone_source;
	/**
	 * With DPM_ZONE_ANON: simulate this many sockets, ids 0 .. n-1
	 * (at most RTE_MAX_NUMA_NODES); 0 means the sockets DPDK reports.
	 * Pair it with lcore_socket to map lcores onto them.
	 */
	unsigned int sim_sockets;
	/** What to do when a socket is exhausted. */
	enum dpm_exhaust_policy exhaust_policy;
	/**
	 * Per-socket cap in bytes of memory reserved from the zone source,
	 * indexed by socket id; 0 means no cap. At the cap, a request no
	 * span can serve first gives the completely free spans back (as
	 * dpm_trim_socket() would), then reserves one that fits.
	 */
	size_t socket_limit[RTE_MAX_NUMA_NODES];
	/**
	 * Idle memory goes back to DPDK after this many milliseconds, without
	 * any call: an EAL alarm (rte_eal_alarm_set(), on EAL's interrupt
	 * thread, never an lcore) runs every span_decay_ms / 10 (1 to 250 ms)
	 * and gives back each arena's spare chunk once it has been empty this
	 * long, then every span completely free this long
	 * (rte_memzone_free()); it also returns transfer-cache objects nobody
	 * took since its last visit to their runs. Objects in an lcore's
	 * tcache stay until that lcore flushes (dpm_tcache_flush(), or its GC
	 * steps while it runs). 0 turns decay off: free spans stay until
	 * dpm_trim(). dpm_fini() cancels the alarm. Default 5000.
	 */
	uint64_t span_decay_ms;
	/** Enable the per-lcore thread caches. */
	bool tcache_enable;
	/** Largest size cached by the tcache (small classes are always cached). */
	size_t tcache_max_size;
	/**
	 * Bytes of large objects (above 14 KiB, up to tcache_max_size) one
	 * lcore's tcache may hold, all large classes together. A class holds
	 * up to this budget / its size objects (at least 1, at most 20); a
	 * free that takes the lcore past the budget sends cached large
	 * objects back to the arena, those unused longest first, never the
	 * one just freed: an lcore holds at most the budget, or one object
	 * when that is larger. 0 keeps at most one large object per lcore.
	 * At most DPM_TCACHE_LARGE_BUDGET_MAX, or dpm_init() fails with
	 * EINVAL. Default 1 MiB.
	 */
	size_t tcache_large_budget;
	/**
	 * Optional: the socket an lcore belongs to. NULL means
	 * rte_lcore_to_socket_id(). Tests use it to simulate a topology.
	 */
	int (*lcore_socket)(unsigned int lcore_id);
	/**
	 * Socket for threads that are not lcores when they pass SOCKET_ID_ANY;
	 * SOCKET_ID_ANY (the default) means the lowest socket id EAL reports
	 * (or 0 with simulated sockets). Any other value must be a socket
	 * dpmalloc knows, or dpm_init() fails with EINVAL.
	 */
	int non_lcore_socket;
};

/** Largest accepted dpm_config::tcache_large_budget (per lcore). */
#define DPM_TCACHE_LARGE_BUDGET_MAX ((size_t)1 << 30)

/**
 * Fill a configuration with the defaults.
 *
 * @param cfg
 *   The configuration to fill. NULL is refused: nothing is written,
 *   rte_errno is set to EINVAL and an error is logged.
 */
void dpm_config_defaults(struct dpm_config *cfg);

/**
 * Initialise dpmalloc explicitly.
 *
 * Optional: the first allocation initialises with defaults. Call it after
 * rte_eal_init() and before any other dpm_ function to choose a
 * configuration. May be called from any thread.
 *
 * @param cfg
 *   The configuration, or NULL for the defaults.
 * @return
 *   0 on success; -1 with rte_errno set:
 *   - E_RTE_NO_CONFIG: rte_eal_init() has not run.
 *   - EALREADY: already initialised (the configuration was not applied).
 *   - EINVAL: an invalid configuration field.
 *   - ENOMEM: the initial metadata could not be reserved.
 *   - ENOTSUP: a secondary process (--proc-type=secondary). dpmalloc serves
 *     the primary process only: in a secondary every call fails with
 *     ENOTSUP (allocations return NULL, statistics -1), logged once.
 */
int dpm_init(const struct dpm_config *cfg);

/**
 * Shut dpmalloc down and release every memzone it reserved.
 *
 * Every pointer it handed out becomes invalid. Must be called when no
 * other thread is using dpmalloc. The decay alarm (see
 * dpm_config.span_decay_ms) is cancelled first: once dpm_fini() returns,
 * it does not run again. Call it before rte_eal_cleanup(). The library
 * may be initialised again afterwards.
 */
void dpm_fini(void);

/**
 * Allocate size bytes on the calling lcore's socket.
 *
 * Every size up to 2^46 bytes is served when memory allows: sizes up to
 * the largest size class (dpm_class_size(dpm_class_count() - 1)) get a
 * class, bigger ones whole chunks. Each failure is counted by cause in the
 * socket's statistics (dpm_socket_stats.failed_enomem, failed_e2big,
 * failed_einval); a socket's first ENOMEM is logged at NOTICE level with
 * what the socket holds.
 *
 * @param size
 *   Bytes to allocate. 0 returns a unique minimal object.
 * @return
 *   A pointer aligned to at least 16 bytes (to the size class's natural
 *   alignment), or NULL with rte_errno set:
 *   - ENOMEM: the socket is exhausted (and the policy is strict).
 *   - E2BIG: size is above 2^46 bytes, more than any socket could hold.
 *   - E_RTE_NO_CONFIG: rte_eal_init() has not run.
 */
void *dpm_malloc(size_t size) __dpm_malloc(1);

/**
 * Like dpm_malloc(), and the memory is zeroed.
 *
 * @param size
 *   Bytes to allocate. 0 returns a unique minimal object.
 * @return
 *   As dpm_malloc().
 */
void *dpm_zmalloc(size_t size) __dpm_malloc(1);

/**
 * Allocate an array of n elements of size bytes each, zeroed.
 *
 * @param n
 *   Number of elements.
 * @param size
 *   Bytes per element.
 * @return
 *   As dpm_malloc(); NULL with rte_errno = E2BIG when n * size overflows.
 */
void *dpm_calloc(size_t n, size_t size) __dpm_malloc2(1, 2);

/**
 * Change the size of an allocation, keeping its contents up to the
 * smaller of the two sizes.
 *
 * realloc(NULL, size) is dpm_malloc(size). realloc(ptr, 0) frees ptr as
 * dpm_free() does and returns NULL, with rte_errno = 0 when ptr was freed
 * and EINVAL when the free was refused (a pointer dpmalloc does not own, an
 * interior pointer, a double free). The object stays in place when its
 * size class does not change, or when a large object can grow or shrink
 * into neighbouring pages. The new object is on the socket of the old one.
 *
 * @param ptr
 *   An object of dpmalloc's, or NULL.
 * @param size
 *   The new size in bytes.
 * @return
 *   The (possibly moved) object, or NULL with rte_errno set, in which case
 *   ptr is untouched: ENOMEM, E2BIG, EINVAL for a pointer that is not a
 *   live object of dpmalloc's, or E_RTE_NO_CONFIG before rte_eal_init()
 *   (for any ptr but NULL, and size 0 included).
 */
void *dpm_realloc(void *ptr, size_t size)
	__attribute__((alloc_size(2)));

/**
 * Allocate size bytes aligned to align.
 *
 * The object gets the smallest size class whose objects all have the
 * alignment (up to 4 KiB, classes have the alignment of their size's
 * lowest set bit; large classes are page-aligned); above a page, a large
 * run cut to the alignment when it fits a chunk; else whole chunks
 * aligned to max(align, chunk). size 0 gives a minimal object at any
 * alignment.
 *
 * @param align
 *   A power of two. Any power of two up to the chunk size (and beyond, for
 *   huge objects) is accepted.
 * @param size
 *   Bytes to allocate.
 * @return
 *   As dpm_malloc(); NULL with rte_errno = EINVAL when align is not a power
 *   of two, E2BIG when it is above 2^46.
 */
void *dpm_aligned_alloc(size_t align, size_t size) __dpm_malloc_aligned(1, 2);

/**
 * Allocate size bytes on a given socket.
 *
 * @param size
 *   Bytes to allocate. 0 returns a unique minimal object.
 * @param socket_id
 *   The DPDK socket id, or SOCKET_ID_ANY for the caller's socket: for an
 *   lcore, dpm_config.lcore_socket(lcore) when set, else
 *   rte_lcore_to_socket_id(); for a non-lcore thread,
 *   dpm_config.non_lcore_socket.
 * @return
 *   As dpm_malloc(); EINVAL for a socket id dpmalloc does not know.
 */
void *dpm_malloc_socket(size_t size, int socket_id) __dpm_malloc(1);

/**
 * Like dpm_malloc_socket(), and the memory is zeroed.
 *
 * @param size
 *   Bytes to allocate.
 * @param socket_id
 *   As dpm_malloc_socket().
 * @return
 *   As dpm_malloc_socket().
 */
void *dpm_zmalloc_socket(size_t size, int socket_id) __dpm_malloc(1);

/**
 * Like dpm_aligned_alloc(), on the given socket.
 *
 * @param align
 *   A power of two, as dpm_aligned_alloc().
 * @param size
 *   Bytes to allocate.
 * @param socket_id
 *   As dpm_malloc_socket().
 * @return
 *   As dpm_aligned_alloc() and dpm_malloc_socket().
 */
void *dpm_aligned_alloc_socket(size_t align, size_t size, int socket_id)
	__dpm_malloc_aligned(1, 2);

/**
 * Free an object. NULL is a no-op.
 *
 * The object returns to the socket it came from, whichever lcore frees it.
 * A pointer dpmalloc does not own, or an interior pointer, is refused: an
 * error is logged, rte_errno is set to EINVAL and nothing changes.
 *
 * A double free never corrupts the allocator, in any build type: wherever
 * a freed object reaches metadata (the locked path of a thread that is
 * not an lcore, a tcache flush, a transfer-cache drain, a large run), an
 * object that is not live is refused, logged and counted in
 * dpm_socket_stats.double_frees (with rte_errno = EINVAL when the caller
 * is the one refused). On an lcore the cached push does not search the
 * tcache: dpm_free(p); dpm_free(p) caches p twice, and the next two
 * allocations of the class may both return p (as with jemalloc and
 * tcmalloc). The copies stay together while cached (a stack that
 * overflows parks both in a transfer cache, whose next fill takes both
 * back), so p may be handed out twice again; the copy left over is
 * refused and counted when they reach p's run (dpm_tcache_flush(), a
 * transfer-cache drain, dpm_trim()). Builds with -Ddebug_checks=true search the tcache and
 * refuse the second free at once. A huge object leaves dpmalloc's radix
 * tree when it is freed: a second free is refused as a pointer dpmalloc
 * does not own (logged, EINVAL, not counted).
 * An inline function: the cache-hit half runs in the caller.
 *
 * @param ptr
 *   The object, or NULL.
 */
void dpm_free(void *ptr);

/**
 * Free an object whose allocation size the caller knows.
 *
 * Faster than dpm_free(): the size class comes from size and is checked
 * against the page map instead of read from it. Ownership is checked as by
 * dpm_free() (the radix tree, never bytes the caller could have written),
 * and a foreign or interior pointer is refused the same way. size should
 * be the size passed when ptr was allocated (or any size with the same
 * class); another size takes dpm_free()'s path. NULL is a no-op.
 *
 * @param ptr
 *   The object, or NULL.
 * @param size
 *   The size it was allocated with.
 */
void dpm_free_sized(void *ptr, size_t size);

/**
 * Allocate n objects of size bytes each on the caller's socket.
 *
 * All or nothing: either all n pointers are written to ptrs, or none.
 * On an lcore with a tcache, when the class's stack holds n objects (a
 * small size), they are copied out at once (ptrs[0] the one dpm_malloc()
 * would have returned first) and counted as n allocations; else the
 * stack is filled under one bin lock and copied, or the objects come from
 * the arena in batches. Any lcore, any thread (threads without a tcache
 * allocate object by object, as dpm_malloc() does).
 *
 * @param ptrs
 *   Array of at least n entries that receives the objects.
 * @param n
 *   Number of objects.
 * @param size
 *   Bytes per object.
 * @return
 *   n on success; 0 with rte_errno set on failure: as dpm_malloc(); EINVAL
 *   when n is 0 or ptrs is NULL; E2BIG when n objects of size bytes
 *   could never be held together (nothing is allocated then).
 */
unsigned int dpm_malloc_bulk(void **ptrs, unsigned int n, size_t size);

/**
 * Free n objects, each as dpm_free(). NULL entries are skipped; ptrs NULL
 * or n 0 is a no-op.
 *
 * Each refused pointer is refused as dpm_free() refuses it (logged,
 * nothing changes) and leaves rte_errno = EINVAL; the others are freed.
 * Before rte_eal_init() nothing is freed and rte_errno is E_RTE_NO_CONFIG.
 *
 * Every pointer is validated as by dpm_free() (the radix tree for
 * ownership, the page map for the class, the region check for interior
 * pointers), but on an lcore with a tcache the work a burst shares is done
 * once per group of consecutive entries of one chunk and one size class:
 * the radix-tree look-up, the choice of the stack and its room. Bursts
 * whose objects were allocated together (one chunk, one class) cost least;
 * a mix costs about as much as dpm_free() per object. A pointer that
 * appears twice is a double free handled as dpm_free() handles one (see
 * there). Threads without a tcache validate each pointer and return small
 * objects to their bins in groups, one lock per group. Any lcore, any
 * thread.
 *
 * @param ptrs
 *   Array of n objects (or NULL entries).
 * @param n
 *   Number of entries.
 */
void dpm_free_bulk(void **ptrs, unsigned int n);

/**
 * Bytes usable in an object (at least the size asked for).
 *
 * @param ptr
 *   The object.
 * @return
 *   The usable size; 0 for NULL or for a pointer dpmalloc does not own
 *   (with rte_errno = EINVAL for the latter).
 */
size_t dpm_usable_size(const void *ptr);

/**
 * Tell whether ptr is the start of a live-or-cached object of dpmalloc's,
 * or lies inside memory dpmalloc manages.
 *
 * @param ptr
 *   Any pointer.
 * @return
 *   true if ptr points into a chunk dpmalloc owns.
 */
bool dpm_owns(const void *ptr);

/**
 * The socket an object's memory belongs to.
 *
 * @param ptr
 *   The object.
 * @return
 *   The socket id; -1 with rte_errno = EINVAL for a foreign pointer.
 */
int dpm_socket_of(const void *ptr);

/**
 * IO address of an object, for handing it to hardware.
 *
 * @param ptr
 *   The object, or any address inside it.
 * @return
 *   The IOVA; RTE_BAD_IOVA with rte_errno = EINVAL for a foreign pointer,
 *   or when the memory has no IOVA (DPM_ZONE_ANON).
 */
rte_iova_t dpm_virt2iova(const void *ptr);

/**
 * Give every completely free span back to DPDK (rte_memzone_free()).
 *
 * Takes socket locks; not for fast paths. Objects cached in tcaches keep
 * their spans; call dpm_tcache_flush() on each lcore first for a full trim.
 * It never initialises the library, so a periodic trim cannot bring it
 * back after dpm_fini().
 *
 * @return
 *   The number of bytes given back; 0 with rte_errno = ENODEV before the
 *   library is initialised (dpm_init() or a first allocation) or after
 *   dpm_fini(), E_RTE_NO_CONFIG before rte_eal_init(), ENOTSUP in a
 *   secondary process.
 */
size_t dpm_trim(void);

/**
 * Like dpm_trim() for one socket.
 *
 * @param socket_id
 *   The DPDK socket id.
 * @return
 *   Bytes given back; 0 with rte_errno = EINVAL for an unknown socket, or
 *   as dpm_trim() before set-up.
 */
size_t dpm_trim_socket(int socket_id);

/**
 * Return the calling lcore's cached objects to their arenas.
 *
 * Safe to call from any thread; a no-op on threads without a tcache.
 */
void dpm_tcache_flush(void);

/** Per-socket statistics, summed on demand. */
struct dpm_socket_stats {
	int socket_id;            /**< DPDK socket id */
	unsigned int arenas;      /**< arenas of this socket */
	uint64_t spans;           /**< spans (memzones) held now */
	uint64_t spans_reserved;  /**< spans reserved since init */
	uint64_t spans_returned;  /**< spans given back since init */
	uint64_t bytes_reserved;  /**< bytes of the spans held now */
	uint64_t bytes_retained;  /**< of those, bytes in completely free spans */
	uint64_t bytes_metadata;  /**< bytes reserved for metadata (never returned before dpm_fini()) */
	uint64_t chunks_used;     /**< chunks in use by arenas or huge objects (an arena's one empty spare chunk is not counted) */
	uint64_t bytes_allocated; /**< bytes in live objects (class sizes), tcaches included */
	/**
	 * Bytes of small objects parked in the arenas' transfer caches
	 * (flushed by tcaches, counted as freed, not yet back in their runs:
	 * the pages they occupy stay in use until a fill takes them or a GC
	 * step, dpm_tcache_flush() or dpm_trim() returns them).
	 */
	uint64_t bytes_parked;
	uint64_t nmalloc;         /**< objects handed out by this socket's arenas (to callers, or in batches to tcaches) */
	uint64_t nfree;           /**< objects returned to this socket's arenas (from callers, or in batches from tcaches) */
	uint64_t remote_frees_in; /**< frees arriving from lcores of other sockets (plain pthreads have no socket and are not counted) */
	uint64_t fallback_in;     /**< allocations asked of another socket, served here */
	uint64_t enomem;          /**< allocations this socket could not serve (under DPM_EXHAUST_FALLBACK another socket may then have served them) */
	uint64_t double_frees;    /**< frees of this socket's memory refused because the object was not live: double frees (see dpm_free()) */
	/**
	 * Allocations asked of this socket that returned NULL (or 0 from
	 * dpm_malloc_bulk()) with rte_errno = ENOMEM. The first one of a
	 * socket is logged at NOTICE level with what the socket holds.
	 */
	uint64_t failed_enomem;
	/** Allocations that returned NULL with rte_errno = E2BIG (a size no
	 * socket could ever hold, or an overflowing dpm_calloc()). */
	uint64_t failed_e2big;
	/**
	 * Allocations that returned NULL with rte_errno = EINVAL (an
	 * alignment that is not a power of two, an unknown socket id, a
	 * pointer dpm_realloc() does not own, an empty dpm_malloc_bulk()).
	 * Counted on the caller's socket where the argument names none.
	 */
	uint64_t failed_einval;
	/**
	 * The most chunks in use at once since dpm_init(), arenas' empty
	 * spare chunks included (chunks_used leaves them out): the exact
	 * high-water mark of the demand on the socket's spans, which the
	 * spans (bytes_reserved / chunk size) must have covered.
	 */
	uint64_t chunks_peak;
};

/**
 * Read a socket's statistics. Any thread (telemetry threads included).
 *
 * @param socket_id
 *   The DPDK socket id.
 * @param out
 *   Where to write them.
 * @return
 *   0, or -1 with rte_errno = EINVAL for an unknown socket, ENODEV before
 *   the library is initialised (statistics never initialise it) or after
 *   dpm_fini(), E_RTE_NO_CONFIG before rte_eal_init().
 */
__dpm_experimental
int dpm_stats_socket(int socket_id, struct dpm_socket_stats *out);

/** Per size class statistics of one socket. */
struct dpm_class_stats {
	size_t size;          /**< the class's size in bytes */
	uint64_t nmalloc;     /**< regions handed out by arenas (to tcaches or callers) */
	uint64_t nfree;       /**< regions given back to arenas */
	uint64_t curregs;     /**< regions live or cached now */
	uint64_t curruns;     /**< runs of this class now (small classes) */
};

/**
 * Number of size classes below huge (small and large). Fixed at build
 * time; answers at any time, even before rte_eal_init().
 *
 * @return
 *   The number of classes; class ids run from 0 to that minus 1.
 */
__dpm_experimental
unsigned int dpm_class_count(void);

/**
 * Size of a class. Any time, even before rte_eal_init().
 *
 * @param cls
 *   The class id.
 * @return
 *   Its size in bytes, or 0 past the last class.
 */
__dpm_experimental
size_t dpm_class_size(unsigned int cls);

/**
 * Read one class's statistics on one socket. Any thread.
 *
 * @param socket_id
 *   The DPDK socket id.
 * @param cls
 *   The class id (below dpm_class_count()).
 * @param out
 *   Where to write them.
 * @return
 *   0, or -1 with rte_errno = EINVAL, or ENODEV / E_RTE_NO_CONFIG as
 *   dpm_stats_socket().
 */
__dpm_experimental
int dpm_stats_class(int socket_id, unsigned int cls, struct dpm_class_stats *out);

/** Per-lcore statistics (written by the lcore only, read relaxed). */
struct dpm_lcore_stats {
	unsigned int lcore_id;      /**< the lcore id asked for */
	int socket_id;              /**< the lcore's socket as dpmalloc sees it */
	uint64_t nmalloc;           /**< allocations served by this lcore's tcache (small classes and large ones up to tcache_max_size; others go to arenas uncounted here) */
	uint64_t nfree;             /**< frees taken by this lcore's tcache (same classes) */
	uint64_t tcache_fills;      /**< batches taken from arenas */
	uint64_t tcache_flushes;    /**< batches given back to arenas */
	uint64_t tcache_gc;         /**< GC passes */
	uint64_t tcache_cached;     /**< objects in the tcache now */
	uint64_t tcache_bytes;      /**< bytes in the tcache now (class sizes, all classes) */
	uint64_t tcache_large_bytes; /**< of those, bytes of large classes (bounded by dpm_config::tcache_large_budget) */
	uint64_t remote_frees;      /**< frees of another socket's memory */
};

/**
 * Read one lcore's statistics. Any thread.
 *
 * @param lcore_id
 *   The lcore id.
 * @param out
 *   Where to write them.
 * @return
 *   0, or -1 with rte_errno = EINVAL (lcore id out of range), ENOENT
 *   (the lcore has never called dpmalloc), or ENODEV / E_RTE_NO_CONFIG as
 *   dpm_stats_socket().
 */
__dpm_experimental
int dpm_stats_lcore(unsigned int lcore_id, struct dpm_lcore_stats *out);

/**
 * Count of cross-socket frees from lcores of socket from to memory of
 * socket to. Any thread. Frees are counted as the batches that carry them
 * leave the freeing lcore's cache.
 *
 * @param from
 *   DPDK socket id of the freeing lcores.
 * @param to
 *   DPDK socket id of the memory.
 * @return
 *   The count; 0 with rte_errno = EINVAL for an id outside
 *   [0, RTE_MAX_NUMA_NODES), ENODEV before dpm_init() (or after
 *   dpm_fini()), E_RTE_NO_CONFIG before rte_eal_init().
 */
__dpm_experimental
uint64_t dpm_stats_cross_socket(int from, int to);

/**
 * Count of allocations asked of socket from and served by socket to under
 * DPM_EXHAUST_FALLBACK. Any thread.
 *
 * @param from
 *   DPDK socket id asked for.
 * @param to
 *   DPDK socket id that served.
 * @return
 *   The count; 0 with rte_errno = EINVAL for an id outside
 *   [0, RTE_MAX_NUMA_NODES), ENODEV before dpm_init() (or after
 *   dpm_fini()), E_RTE_NO_CONFIG before rte_eal_init().
 */
__dpm_experimental
uint64_t dpm_stats_fallback(int from, int to);

/**
 * Number of memzones dpmalloc holds now (all sockets). Any thread.
 *
 * @return
 *   The number of memzones (spans and metadata blocks).
 */
__dpm_experimental
unsigned int dpm_memzone_count(void);

/**
 * The NUMA node the kernel reports for the page holding ptr (move_pages(2)
 * in query mode: nothing moves). Any thread; a system call, not for fast
 * paths.
 *
 * @param ptr
 *   An address inside an object of dpmalloc's.
 * @return
 *   The node id, or -1 with rte_errno set:
 *   - EINVAL: ptr is not dpmalloc's.
 *   - ENOTSUP: the kernel or libnuma cannot tell, or the zone source is
 *     DPM_ZONE_ANON (whose socket ids are labels).
 *   - ENOENT: the page has never been touched, so it has no node yet.
 *   - ENODEV / E_RTE_NO_CONFIG: as dpm_stats_socket().
 */
__dpm_experimental
int dpm_numa_node_of(const void *ptr);

/**
 * Check that a socket's memory is where dpmalloc says: the first page of
 * every chunk in use is asked for its node (pages never touched are left
 * out). Mismatches are logged. Any thread; slow (one system call per
 * chunk).
 *
 * @param socket_id
 *   The DPDK socket id.
 * @param mismatched
 *   Where to store the number of chunks found on another node, or NULL.
 * @return
 *   The number of chunks checked, or -1 with rte_errno = EINVAL (unknown
 *   socket), ENOTSUP (the kernel cannot tell, or DPM_ZONE_ANON), or
 *   ENODEV / E_RTE_NO_CONFIG as dpm_stats_socket().
 */
__dpm_experimental
int dpm_placement_check_socket(int socket_id, unsigned int *mismatched);

/**
 * Print every statistic as a human-readable report, in the spirit of
 * jemalloc's malloc_stats_print() and rte_malloc_dump_stats(). Sections:
 * - a header line "=== dpmalloc <version>: ..." (memzones, classes);
 * - per socket ("== socket <id>"): memory (reserved, retained, metadata,
 *   allocated bytes, spans, chunks), object counts, remote frees and
 *   fallbacks in, failures by cause (ENOMEM, E2BIG, EINVAL, double frees),
 *   and a table of the classes ever used: size, live regions, runs,
 *   utilisation (live regions / region slots of the runs, small classes),
 *   nmalloc and nfree (objects to and from the arenas: cache fills and
 *   flushes included);
 * - per lcore that used dpmalloc ("== lcores"): cache hits (allocations
 *   from the cache less fills), misses (fills from the arena), flushes, GC
 *   passes, cached objects and bytes, remote frees;
 * - cross-socket frees and fallback allocations per pair of sockets;
 * - a last line "=== end of dpmalloc report".
 *
 * Any thread; takes the statistics' locks, so not for fast paths. Counters
 * of other lcores are read while they run: each is exact, together they
 * are a near-snapshot.
 *
 * @param f
 *   Where to print, e.g. stdout.
 * @return
 *   0, or -1 with rte_errno = EINVAL (f is NULL), or as dpm_stats_socket()
 *   when nothing can be read (ENODEV before initialisation, ENOTSUP in a
 *   secondary process, E_RTE_NO_CONFIG before rte_eal_init()).
 */
__dpm_experimental
int dpm_dump(FILE *f);

/* ------------------------------------------------------------------------
 * Inline fast paths.
 *
 * As rte_mempool_get() does for mempools, the cache-hit halves of
 * dpm_malloc(), dpm_free() and dpm_free_sized() are inline, so a forwarding
 * loop pays no call and, for a constant size, no size-class look-up. Misses
 * call the library. The layout they read (dpm_fp_ structures and tables)
 * is the library's own, defined in dpm_fp.h, which the library's modules
 * build on; it is not API and changes with DPM_VERSION, so code compiled
 * against one version's header runs with that version's library only.
 *
 * Define DPM_NO_INLINE before including this header to call the exported
 * functions instead. Taking the address of dpm_malloc, dpm_free or
 * dpm_free_sized always gives the exported function.
 */

/** @cond DPM_INTERNAL */
/* The slow halves the inline functions call. */
void *dpm_malloc_hard(size_t size) __dpm_malloc(1);
void dpm_free_hard(void *ptr);

#pragma GCC visibility pop

/** @internal dpm_malloc(): a cache hit inline, the rest out of line. */
static __rte_always_inline void *
dpm_malloc_inline(size_t size)
	__attribute__((malloc, alloc_size(1)));
static __rte_always_inline void *
dpm_malloc_inline(size_t size)
{
	struct dpm_fp_tcache *tc = dpm_fp_tcache_self();

	if (likely(size <= DPM_FP_SMALL_MAX && !DPM_FP_WATCH)) {
		struct dpm_fp_bin *tb = &tc->bins[dpm_fp_class(size)];
		void *p;

		if (!__builtin_constant_p(size))
			tb = dpm_fp_bin_opaque(tb);   /* (a constant class folds) */
		if (likely(dpm_fp_pop_to(tb, &p))) {
			if (unlikely(--tc->gc_ticker == 0))
				return dpm_malloc_event_hard(tc, p);  /* a tail call */
			return p;
		}
	} else if (!DPM_FP_WATCH) {
		return dpm_fp_malloc_large(tc, size);   /* a tail call */
	}
	return dpm_malloc_hard(size);
}

/** @internal dpm_free(): validated push inline, the rest out of line.
 * The radix tree says "a chunk of the lcore's own arena" by one compare
 * (its entry is the chunk's base plus the arena's tag: a foreign pointer
 * finds nothing, another arena's or socket's chunk another tag), so the
 * chunk's header is not read; the page map gives the class and the region
 * check refuses interior pointers. Objects of other arenas (to the
 * outbound stacks: never reused by this lcore) and large ones are
 * dpm_fp_free_other()'s and dpm_fp_free_large()'s, out of line. */
static __rte_always_inline void
dpm_free_inline(void *ptr)
{
	struct dpm_fp_tcache *tc = dpm_fp_tcache_self();

	if (__builtin_constant_p(ptr == NULL) && ptr == NULL)
		return;   /* dpm_free(NULL) written as such: nothing to do */
	if (likely(!DPM_DEBUG_CHECKS && !DPM_FP_WATCH)) {
		uintptr_t entry = dpm_fp_rtree_entry(ptr);

		if (likely(entry == dpm_fp_chunk_base(ptr) + tc->arena_tag)) {
			uint32_t bits = dpm_fp_map_bits(ptr);

			if (likely((bits & 7) == DPM_FP_PM_SMALL && dpm_fp_region_start(bits, ptr) &&
				   dpm_fp_push(dpm_fp_bin_of_bits(tc, bits), ptr)))
				return;
			if ((bits & 7) == DPM_FP_PM_LARGE) {
				/* a large run: the class is in bits (a tail call) */
				dpm_fp_free_large(tc, ptr, bits);
				return;
			}
		} else {
			dpm_fp_free_other(tc, ptr, entry);   /* a tail call */
			return;
		}
	}
	dpm_free_hard(ptr);
}

/** @internal dpm_free_sized(): as dpm_free(), the page map checked against
 * the class of size instead of read for it (anything else, a wrong size
 * included, goes to dpm_free()'s out-of-line paths, which validate as
 * dpm_free() does). */
static __rte_always_inline void
dpm_free_sized_inline(void *ptr, size_t size)
{
	struct dpm_fp_tcache *tc = dpm_fp_tcache_self();

	if (__builtin_constant_p(ptr == NULL) && ptr == NULL)
		return;
	if (likely(size <= DPM_FP_SMALL_MAX && !DPM_DEBUG_CHECKS && !DPM_FP_WATCH)) {
		uintptr_t entry = dpm_fp_rtree_entry(ptr);
		unsigned int cls = dpm_fp_class(size);

		if (likely(entry == dpm_fp_chunk_base(ptr) + tc->arena_tag)) {
			uint32_t bits = dpm_fp_map_bits(ptr);

			if (likely((bits & 0x7ffu) == (DPM_FP_PM_SMALL | (cls << 3)) &&
				   dpm_fp_region_start_cls(bits, ptr, cls) &&
				   dpm_fp_push(__builtin_constant_p(cls) ? &tc->bins[cls] :
					       dpm_fp_bin_of_bits(tc, bits), ptr)))
				return;
		} else {
			dpm_fp_free_other(tc, ptr, entry);   /* a tail call */
			return;
		}
	} else if (size > DPM_FP_SMALL_MAX && !DPM_DEBUG_CHECKS && !DPM_FP_WATCH) {
		/* Large: the class comes from the page map, whatever size
		 * says, so this is dpm_free() (its one look-up, then the
		 * large easy path; a tail call). */
		(dpm_free)(ptr);
		return;
	}
	dpm_free_hard(ptr);   /* validates as dpm_free() does; a tail call */
}

#ifndef DPM_NO_INLINE
#define dpm_malloc(size) dpm_malloc_inline(size)
#define dpm_free(ptr) dpm_free_inline(ptr)
#define dpm_free_sized(ptr, size) dpm_free_sized_inline(ptr, size)

/* The fast-path layout this program is compiled against: the library must
 * be the one that exports it (see DPM_FP_LAYOUT_VERSION in dpm_fp.h), or
 * the program does not link, nor load. Costs a pointer per object file. */
static const uint32_t *const dpm_fp_layout_ref __attribute__((used)) = &DPM_FP_LAYOUT_SYM;
#endif
/** @endcond */

#ifdef __cplusplus
}
#endif

#endif /* DPMALLOC_H */
