/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Lifecycle: configuration, dpm_init() and dpm_fini(), the lcore callbacks,
 * the process-wide state (sockets, their arenas, which arena and socket
 * each lcore is bound to), and the choice of an arena for a caller. Below
 * the API layer (dpmalloc.c), above the allocator's modules.
 */

#include <assert.h>
#include <errno.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_lcore.h>

#include "arena.h"
#include "base.h"
#include "chunk.h"
#include "decay.h"
#include "dpm_private.h"
#include "dpm_state.h"
#include "rtree.h"
#include "size_class.h"
#include "tcache.h"
#include "telemetry.h"
#include "zone.h"

/* Enable with --log-level=lib.dpmalloc:debug. */
RTE_LOG_REGISTER(dpm_logtype, lib.dpmalloc, NOTICE)   /* a function: no ';' */

struct dpm_state dpm_state;
pthread_rwlock_t dpm_state_lock = PTHREAD_RWLOCK_INITIALIZER;

/* ------------------------------------------------------------------------
 * Configuration, initialisation, shutdown.
 */

static pthread_mutex_t dpm_init_lock = PTHREAD_MUTEX_INITIALIZER;
static void *dpm_lcore_cb_handle;

void dpm_config_defaults(struct dpm_config *cfg)
{
	if (cfg == NULL) {
		DPM_LOG(ERR, "dpm_config_defaults(NULL)");
		rte_errno = EINVAL;
		return;
	}
	memset(cfg, 0, sizeof(*cfg));
	cfg->first_span_size = (size_t)2 << 20;
	cfg->max_span_size = (size_t)1 << 30;
	cfg->arenas_per_socket = 0;
	cfg->zone_source = DPM_ZONE_MEMZONE;
	cfg->sim_sockets = 0;
	cfg->exhaust_policy = DPM_EXHAUST_STRICT;
	cfg->span_decay_ms = 5000;
	cfg->tcache_enable = true;
	cfg->tcache_max_size = (size_t)1 << 20;
	cfg->tcache_large_budget = (size_t)1 << 20;
	cfg->lcore_socket = NULL;
	cfg->non_lcore_socket = SOCKET_ID_ANY;
}

int dpm_lcore_socket(unsigned int lcore_id)
{
	int s;

	if (lcore_id >= RTE_MAX_LCORE)
		return dpm_state.default_socket;
	s = dpm_state.cfg.lcore_socket != NULL ? dpm_state.cfg.lcore_socket(lcore_id)
					       : (int)rte_lcore_to_socket_id(lcore_id);
	return dpm_socket_valid(s) ? s : dpm_state.default_socket;
}

/* Threads registered with rte_thread_register() get a tcache lazily; when
 * they unregister, their cached objects go home. */
static int dpm_lcore_init_cb(unsigned int lcore_id, void *arg)
{
	RTE_SET_USED(lcore_id);
	RTE_SET_USED(arg);
	return 0;
}

static void dpm_lcore_uninit_cb(unsigned int lcore_id, void *arg)
{
	RTE_SET_USED(arg);
	tcache_destroy(lcore_id);
	dpm_arenas_drain_all();
}

static int dpm_config_check(const struct dpm_config *cfg)
{
	if (cfg->zone_source != DPM_ZONE_MEMZONE && cfg->zone_source != DPM_ZONE_ANON)
		return -EINVAL;
	if (cfg->exhaust_policy != DPM_EXHAUST_STRICT && cfg->exhaust_policy != DPM_EXHAUST_FALLBACK)
		return -EINVAL;
	if (cfg->sim_sockets > RTE_MAX_NUMA_NODES ||
	    (cfg->sim_sockets != 0 && cfg->zone_source != DPM_ZONE_ANON))
		return -EINVAL;
	if (cfg->first_span_size > cfg->max_span_size || cfg->max_span_size > SC_SIZE_MAX)
		return -EINVAL;
	if (cfg->arenas_per_socket > RTE_MAX_LCORE)
		return -EINVAL;
	if (cfg->tcache_large_budget > DPM_TCACHE_LARGE_BUDGET_MAX) {
		DPM_LOG(ERR, "tcache_large_budget %zu is above %zu", cfg->tcache_large_budget,
			DPM_TCACHE_LARGE_BUDGET_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Arenas per socket: one per enabled lcore of the socket unless configured. */
static unsigned int dpm_arena_count(int socket_id)
{
	unsigned int n = 0, lcore;

	if (dpm_state.cfg.arenas_per_socket != 0)
		return dpm_state.cfg.arenas_per_socket;
	RTE_LCORE_FOREACH(lcore)
		if (dpm_lcore_socket(lcore) == socket_id)
			n++;
	return RTE_MAX(n, 1u);
}

/*
 * Clear the state but its ready flag: other threads load that atomically at
 * any time (an unsynchronised memset over it would race them), and it is
 * only ever written with atomic stores under dpm_init_lock.
 */
static_assert(offsetof(struct dpm_state, ready) == 0, "ready leads struct dpm_state");
static void dpm_state_clear(void)
{
	size_t off = sizeof(dpm_state.ready);

	memset((char *)&dpm_state + off, 0, sizeof(dpm_state) - off);
}

static int dpm_init_locked(const struct dpm_config *cfg)
{
	struct chunk_config chunk_config;
	int rc, s;

	if (rte_lcore_count() == 0) {
		DPM_LOG(ERR, "called before rte_eal_init()");
		return -E_RTE_NO_CONFIG;
	}
	rc = dpm_config_check(cfg);
	if (rc != 0) {
		DPM_LOG(ERR, "invalid configuration");
		return rc;
	}
	dpm_state_clear();
	dpm_state.cfg = *cfg;
	zone_select(cfg->zone_source == DPM_ZONE_ANON ? &zone_anon_ops : &zone_memzone_ops);
	/* Geometry and class tables were built when the library loaded
	 * (arena_boot_early) and are never rewritten: lcores' inline paths
	 * read them at any time. */
	chunk_config.first_span_size = cfg->first_span_size;
	chunk_config.max_span_size = cfg->max_span_size;
	chunk_config.span_decay_ms = cfg->span_decay_ms;
	memcpy(chunk_config.socket_limit, cfg->socket_limit, sizeof(chunk_config.socket_limit));
	chunk_boot(&chunk_config);
	tcache_boot(cfg->tcache_enable, cfg->tcache_max_size, cfg->tcache_large_budget);

	if (cfg->sim_sockets != 0) {
		for (s = 0; s < (int)cfg->sim_sockets; s++)
			dpm_state.sockets[s].present = true;
	} else {
		for (unsigned int i = 0; i < rte_socket_count(); i++) {
			s = rte_socket_id_by_idx(i);
			if (s >= 0 && s < RTE_MAX_NUMA_NODES)
				dpm_state.sockets[s].present = true;
		}
	}
	dpm_state.default_socket = -1;
	for (s = 0; s < RTE_MAX_NUMA_NODES && dpm_state.default_socket < 0; s++)
		if (dpm_state.sockets[s].present)
			dpm_state.default_socket = s;
	if (dpm_state.default_socket < 0)
		return -ENODEV;
	if (cfg->non_lcore_socket != SOCKET_ID_ANY) {
		if (!dpm_socket_valid(cfg->non_lcore_socket)) {
			DPM_LOG(ERR, "invalid configuration: non_lcore_socket %d is not a socket",
				cfg->non_lcore_socket);
			return -EINVAL;
		}
		dpm_state.default_socket = cfg->non_lcore_socket;
	}

	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		struct dpm_socket *ds = &dpm_state.sockets[s];

		if (!ds->present)
			continue;
		ds->narenas = dpm_arena_count(s);
		ds->arenas = base_alloc(s, ds->narenas * sizeof(*ds->arenas));
		if (ds->arenas == NULL)
			goto nomem;
		for (unsigned int i = 0; i < ds->narenas; i++) {
			ds->arenas[i] = arena_new(s, i);
			if (ds->arenas[i] == NULL)
				goto nomem;
		}
	}
	dpm_lcore_cb_handle = rte_lcore_callback_register("dpmalloc", dpm_lcore_init_cb,
							  dpm_lcore_uninit_cb, NULL);
	if (dpm_lcore_cb_handle == NULL)
		DPM_LOG(WARNING, "no lcore callback: unregistered threads keep their tcache");
	if (dpm_telemetry_register() != 0)
		DPM_LOG(WARNING, "telemetry commands not registered");
	__atomic_store_n(&dpm_state.ready, true, __ATOMIC_RELEASE);
	decay_start(cfg->span_decay_ms);
	DPM_LOG(INFO, "ready: %s zones, chunk %zu KiB, %u classes, tcache %u classes",
		zone_source->name, DPM_CHUNK >> 10, sc_nclasses, tcache_nbins());
	return 0;
nomem:
	chunk_fini();
	base_fini();
	rtree_reset();
	return -ENOMEM;
}

/* The fast-path layout this library was built with (see dpm_fp.h). */
const uint32_t DPM_FP_LAYOUT_SYM = DPM_FP_LAYOUT_VERSION;

bool dpm_refuse_secondary(void)
{
	static bool logged;

	if (rte_eal_process_type() != RTE_PROC_SECONDARY)
		return false;
	if (!__atomic_exchange_n(&logged, true, __ATOMIC_RELAXED))
		DPM_LOG(ERR, "secondary process (--proc-type=secondary): dpmalloc serves "
			"one process only, the primary; every dpm_ call here fails with ENOTSUP");
	return true;
}

int dpm_init(const struct dpm_config *cfg)
{
	struct dpm_config defaults;
	int rc;

	/* Its state lives in this process's memory: a second instance would
	 * clash with the primary's memzones and could not free its objects. */
	if (dpm_refuse_secondary()) {
		rte_errno = ENOTSUP;
		return -1;
	}

	if (cfg == NULL) {
		dpm_config_defaults(&defaults);
		cfg = &defaults;
	}
	pthread_mutex_lock(&dpm_init_lock);
	rc = dpm_state.ready ? -EALREADY : dpm_init_locked(cfg);
	pthread_mutex_unlock(&dpm_init_lock);
	if (rc != 0) {
		rte_errno = -rc;
		return -1;
	}
	return 0;
}

int dpm_init_hard(void)
{
	if (dpm_init(NULL) == 0 || rte_errno == EALREADY)
		return 0;
	return -1;
}

void dpm_fini(void)
{
	pthread_mutex_lock(&dpm_init_lock);
	if (!dpm_state.ready) {
		pthread_mutex_unlock(&dpm_init_lock);
		return;
	}
	/* First: once this returns, the decay alarm neither runs nor comes. */
	decay_stop();
	if (dpm_lcore_cb_handle != NULL)
		rte_lcore_callback_unregister(dpm_lcore_cb_handle);
	dpm_lcore_cb_handle = NULL;
	tcache_fini();
	dpm_arenas_drain_all();
	pthread_rwlock_wrlock(&dpm_state_lock);
	__atomic_store_n(&dpm_state.ready, false, __ATOMIC_RELEASE);
	rtree_reset();
	chunk_fini();
	base_fini();
	dpm_state_clear();
	pthread_rwlock_unlock(&dpm_state_lock);
	pthread_mutex_unlock(&dpm_init_lock);
}

/* ------------------------------------------------------------------------
 * Sockets and arenas.
 */

struct arena *dpm_arena_choose(int socket_id)
{
	unsigned int lcore = rte_lcore_id();
	struct dpm_socket *ds;
	struct arena *a;

	if (lcore < RTE_MAX_LCORE) {
		a = __atomic_load_n(&dpm_state.lcore_arena[lcore], __ATOMIC_ACQUIRE);
		if (a == NULL) {
			/* First call of this lcore: bind it to an arena of its
			 * socket, round robin. */
			int own = dpm_lcore_socket(lcore);

			pthread_mutex_lock(&dpm_init_lock);
			a = dpm_state.lcore_arena[lcore];
			if (a == NULL) {
				ds = &dpm_state.sockets[own];
				a = ds->arenas[ds->nbound++ % ds->narenas];
				dpm_state.lcore_socket[lcore] = own;
				__atomic_store_n(&dpm_state.lcore_arena[lcore], a, __ATOMIC_RELEASE);
			}
			pthread_mutex_unlock(&dpm_init_lock);
		}
		if (a->socket_id == socket_id)
			return a;
	}
	/* A non-lcore thread, or another socket: spread by thread id. */
	ds = &dpm_state.sockets[socket_id];
	return ds->arenas[(unsigned int)rte_gettid() % ds->narenas];
}

/* The socket SOCKET_ID_ANY means for the caller. */
int dpm_caller_socket(void)
{
	unsigned int lcore = rte_lcore_id();

	if (lcore >= RTE_MAX_LCORE)
		return dpm_state.default_socket;
	if (__atomic_load_n(&dpm_state.lcore_arena[lcore], __ATOMIC_ACQUIRE) != NULL)
		return dpm_state.lcore_socket[lcore];
	return dpm_lcore_socket(lcore);
}

/* Validate a socket argument: 0 or -EINVAL, *out the socket to use. */
int dpm_socket_resolve(int socket_id, int *out)
{
	if (socket_id == SOCKET_ID_ANY) {
		*out = dpm_caller_socket();
		return 0;
	}
	if (!dpm_socket_valid(socket_id)) {
		DPM_LOG(DEBUG, "unknown socket %d", socket_id);
		return -EINVAL;
	}
	*out = socket_id;
	return 0;
}

/* ------------------------------------------------------------------------
 * Tcaches and arenas as a whole.
 */

struct tcache *dpm_lcore_tcache(unsigned int lcore_id)
{
	if (lcore_id >= RTE_MAX_LCORE || tcache_nbins() == 0)
		return NULL;
	if (dpm_arena_choose(dpm_lcore_socket(lcore_id)) == NULL)  /* binds the lcore */
		return NULL;
	return tcache_create(lcore_id, dpm_state.lcore_arena[lcore_id]);
}

void dpm_arenas_drain_all(void)
{
	/* So that once every lcore that freed has flushed (the last one after
	 * all the others stopped), every run and chunk can be free again. */
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		struct dpm_socket *ds = &dpm_state.sockets[s];

		for (unsigned int i = 0; ds->present && i < ds->narenas; i++)
			arena_drain_all(ds->arenas[i]);
	}
}
