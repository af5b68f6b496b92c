/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/* Decay of idle memory, driven by an EAL alarm (see decay.h). */

#include <errno.h>
#include <pthread.h>

#include <rte_alarm.h>

#include "arena.h"
#include "chunk.h"
#include "decay.h"
#include "dpm_private.h"
#include "dpm_state.h"

static uint64_t decay_period_us;
/* Set by decay_stop() before it cancels: a callback that is running then
 * does not arm the next one. */
static bool decay_stopping;
/* Held by the callback while it runs, and taken by decay_start() before it
 * arms and decay_stop() after it cancels: besides the alarm's own
 * guarantees, it orders dpm_init()'s writes before a callback and a
 * callback before dpm_fini()'s teardown where tools can see it (DPDK's
 * alarm list lock is not visible to ThreadSanitizer). Never held while
 * waiting for the alarm. */
static pthread_mutex_t decay_lock = PTHREAD_MUTEX_INITIALIZER;

static void decay_alarm(void *arg);

static int decay_arm(void)
{
	int rc = rte_eal_alarm_set(decay_period_us, decay_alarm, NULL);

	return rc < 0 ? rc : 0;
}

/*
 * One pass over every socket, on the interrupt thread. It takes the same
 * locks as an lcore's slow paths, one at a time and briefly (bin, arena,
 * socket), and gives memzones back outside them. dpm_fini() cancels the
 * alarm before it tears anything down, and this callback takes no lock
 * that dpm_fini() holds while it waits (dpm_init_lock).
 */
static void decay_alarm(void *arg)
{
	RTE_SET_USED(arg);
	pthread_mutex_lock(&decay_lock);
	if (__atomic_load_n(&decay_stopping, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&decay_lock);
		return;
	}
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		struct dpm_socket *ds = &dpm_state.sockets[s];

		if (!ds->present)
			continue;
		for (unsigned int i = 0; i < ds->narenas; i++) {
			for (unsigned int b = 0; b < SC_NBINS; b++)
				arena_bin_xfer_drain(ds->arenas[i], b, false);
			arena_decay_spare(ds->arenas[i]);
		}
		chunk_trim(s, true);
	}
	if (!__atomic_load_n(&decay_stopping, __ATOMIC_ACQUIRE) && decay_arm() != 0)
		DPM_LOG(WARNING, "decay alarm not re-armed: idle memory stays until dpm_trim()");
	pthread_mutex_unlock(&decay_lock);
}

int decay_start(uint64_t decay_ms)
{
	int rc;

	if (decay_ms == 0)
		return 0;
	pthread_mutex_lock(&decay_lock);
	/* span_decay_ms / 10 in microseconds, within [1, 250] ms (no product
	 * that could wrap: past 2.5 s it is 250 ms). */
	decay_period_us = decay_ms >= 2500 ? 250000 : RTE_MAX(decay_ms * 100, (uint64_t)1000);
	__atomic_store_n(&decay_stopping, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&decay_lock);
	rc = decay_arm();
	if (rc != 0)
		DPM_LOG(WARNING, "no EAL alarm (%d): idle memory stays until dpm_trim()", rc);
	return rc;
}

void decay_stop(void)
{
	__atomic_store_n(&decay_stopping, true, __ATOMIC_RELEASE);
	/* Removes the pending alarm, and spins while a callback runs on the
	 * interrupt thread (which then sees decay_stopping and arms none). */
	rte_eal_alarm_cancel(decay_alarm, (void *)-1);
	pthread_mutex_lock(&decay_lock);
	pthread_mutex_unlock(&decay_lock);
}
