/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_DECAY_H
#define DPM_DECAY_H

/*
 * Memory back without being asked. A periodic alarm on EAL's interrupt
 * thread (rte_eal_alarm_set()), never an lcore, every span_decay_ms / 10
 * (between 1 ms and 250 ms):
 *   - returns transfer-cache objects nobody took since the last visit to
 *     their runs (so parked objects do not keep runs and chunks alive),
 *   - gives each arena's spare chunk back once it has been empty for
 *     span_decay_ms (so an idle arena does not pin its span),
 *   - gives spans completely free for span_decay_ms back to DPDK.
 * A burst that went quiet is back in DPDK's heap about span_decay_ms (plus
 * one period) after its last free and tcache flush, with no further call.
 * Objects cached in tcaches are the lcores' own and stay until they flush.
 */

#include <stdint.h>

/* Start the alarm (decay_ms 0: nothing to start). Called by dpm_init()
 * once the state is ready. 0, or a negative errno (decay then stays off). */
int decay_start(uint64_t decay_ms);

/* Cancel the alarm and wait for a running callback to finish: once this
 * returns, no callback runs until the next decay_start(). Called by
 * dpm_fini() before anything is torn down. */
void decay_stop(void);

#endif /* DPM_DECAY_H */
