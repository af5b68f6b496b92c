/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_MEMPOOL_H
#define DPM_MEMPOOL_H

/**
 * @file
 * The "dpm" mempool ops: pools whose objects live in dpmalloc memory.
 *
 * Use them like any mempool driver, by name:
 *   rte_mempool_set_ops_byname(mp, DPM_MEMPOOL_OPS_NAME, NULL), or
 *   rte_pktmbuf_pool_create_by_ops(..., DPM_MEMPOOL_OPS_NAME), or, in an
 *   unmodified program, the EAL options
 *   -d LIBDIR/librte_mempool_dpm.so --mbuf-pool-ops-name=dpm, LIBDIR being
 *   the installed library directory (pkg-config --variable=pmd_path
 *   librte_mempool_dpm gives the whole path).
 *
 * The ops register themselves when the library is loaded. A program does
 * not need this header unless it wants to check that registration worked
 * (DPDK has only 16 ops slots, and its drivers may have taken them).
 */

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the mempool ops. */
#define DPM_MEMPOOL_OPS_NAME "dpm"

/**
 * Index of the "dpm" ops in rte_mempool_ops_table.
 *
 * Any thread may call it at any time, before rte_eal_init() too.
 *
 * @return
 *   The index (>= 0), or the negative errno with which registration
 *   failed: -ENOSPC when every ops slot was taken, -EINVAL otherwise.
 */
int dpm_mempool_ops_index(void);

#ifdef __cplusplus
}
#endif

#endif /* DPM_MEMPOOL_H */
