/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_STATE_H
#define DPM_STATE_H

/*
 * Process-wide state of init.c (the lifecycle layer, below the API layer
 * and above the allocator's modules): which sockets exist, their arena
 * sets, which arena and socket each lcore uses. Written at init (under
 * dpm_init's lock) and when an lcore binds; read by the API layer and the
 * statistics. No module below includes this header.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_lcore.h>

#include "arena.h"
#include "dpmalloc.h"
#include "tcache.h"

struct dpm_socket {
	bool present;
	unsigned int narenas;
	struct arena **arenas;
	unsigned int nbound;       /* lcores bound so far (round robin) */
	uint64_t fallback_in;      /* atomics: slow path only */
	uint64_t enomem;           /* allocations this socket could not serve */
	/* allocations asked of this socket that returned NULL, by cause */
	uint64_t failed_enomem, failed_e2big, failed_einval;
	bool enomem_logged;        /* the first failed_enomem was logged */
};

struct dpm_state {
	bool ready;                /* release-stored once everything is set */
	struct dpm_config cfg;
	int default_socket;        /* for non-lcore threads */
	struct dpm_socket sockets[RTE_MAX_NUMA_NODES];
	int lcore_socket[RTE_MAX_LCORE];
	struct arena *lcore_arena[RTE_MAX_LCORE];
	/* allocations asked of [from], served by [to] (fallback policy) */
	uint64_t fallback[RTE_MAX_NUMA_NODES][RTE_MAX_NUMA_NODES];
};

extern DPM_HIDDEN struct dpm_state dpm_state;

/* Held for reading by statistics (which run on telemetry threads), for
 * writing by dpm_fini() while it tears the state down. */
extern DPM_HIDDEN pthread_rwlock_t dpm_state_lock;

int dpm_init_hard(void);

/* True in a secondary process, which dpmalloc refuses (ENOTSUP); logs the
 * first time. */
bool dpm_refuse_secondary(void);

/* The rte_errno of a call that never initialises the library (statistics,
 * trims) while it is not ready: before rte_eal_init(), in a secondary
 * process, or before dpm_init() / after dpm_fini(). */
static inline int dpm_not_ready_errno(void)
{
	return rte_lcore_count() == 0 ? E_RTE_NO_CONFIG : dpm_refuse_secondary() ? ENOTSUP : ENODEV;
}

/* 0 when the library is ready, else initialise with defaults. */
static inline int dpm_ensure_init(void)
{
	if (likely(__atomic_load_n(&dpm_state.ready, __ATOMIC_ACQUIRE)))
		return 0;
	return dpm_init_hard();
}

static inline bool dpm_socket_valid(int socket_id)
{
	return socket_id >= 0 && socket_id < RTE_MAX_NUMA_NODES && dpm_state.sockets[socket_id].present;
}

/* Count an allocation asked of socket_id (-1: before set-up) that fails
 * with err, log the socket's first ENOMEM, set rte_errno; returns NULL. */
void *dpm_alloc_failed(int socket_id, int err, size_t size);

/* The socket an lcore allocates on (config hook, or DPDK's topology). */
int dpm_lcore_socket(unsigned int lcore_id);

/* The arena the calling thread uses on socket_id (its own arena for an
 * lcore on its own socket, else one chosen by thread id). */
struct arena *dpm_arena_choose(int socket_id);

/* The socket SOCKET_ID_ANY means for the caller. */
int dpm_caller_socket(void);

/* Validate a socket argument: 0 or -EINVAL, *out the socket to use. */
int dpm_socket_resolve(int socket_id, int *out);

/* The tcache of lcore_id, binding the lcore and creating the tcache on
 * first use; NULL for ids that are not lcores', or without a tcache. */
struct tcache *dpm_lcore_tcache(unsigned int lcore_id);

/* Return every transfer-cache object of every arena to its run. */
void dpm_arenas_drain_all(void);

#endif /* DPM_STATE_H */
