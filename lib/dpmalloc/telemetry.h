/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_TELEMETRY_H
#define DPM_TELEMETRY_H

/**
 * @file
 * dpmalloc telemetry: read-only views of the statistics under /dpmalloc/.
 *
 * The callbacks use only the public statistics functions of dpmalloc.h, so
 * they see exactly what an application sees. DPDK runs them on its telemetry
 * threads (not lcores, possibly several at once); they keep no state.
 *
 * Commands (the reply is cut silently by DPDK beyond 16 KiB, 256 dictionary
 * entries or 512 array entries, so every reply is bounded by construction):
 *
 * - /dpmalloc/info
 *     version, initialised (1), version_code, sockets (array), memzones,
 *     classes.
 * - /dpmalloc/socket[,<socket>]
 *     With a socket id: every field of struct dpm_socket_stats
 *     (bytes_metadata included).
 *     Without: a summary, one u64 array per socket named by its id, whose
 *     columns are listed in "fields".
 * - /dpmalloc/classes,<socket>[,<first>[,<last>]]
 *     Per size class statistics for classes first..last (defaults: 0 and
 *     first + 63), at most DPM_TELEMETRY_MAX_CLASSES classes per reply:
 *     a longer range is shortened and "next" names the first class left out,
 *     to be asked for in the next request. Each class is a u64 array named by
 *     its index, columns in "fields".
 * - /dpmalloc/lcore[,<lcore>]
 *     With an lcore id: every field of struct dpm_lcore_stats (null when the
 *     lcore has never called dpmalloc). Without: one u64 array per lcore that
 *     has, columns in "fields".
 * - /dpmalloc/cross_socket
 *     "<from>_to_<to>": frees by lcores of socket from of memory of socket
 *     to, for every nonzero pair of any socket ids, and "total".
 *
 * The commands are registered when the library is loaded. Until it is
 * initialised (and always in a secondary process, which dpmalloc refuses),
 * every well-formed command answers {"initialised": 0, "reason": "<why>"}
 * (/dpmalloc/info adds "version").
 *
 * A malformed or out-of-range parameter gets the reply {"<cmd>": null}.
 */

/** Most size classes in one /dpmalloc/classes reply (see the file comment). */
#define DPM_TELEMETRY_MAX_CLASSES 64u

/**
 * Register the /dpmalloc/ telemetry commands.
 *
 * Called when the library is loaded and again by its initialisation.
 * Idempotent and thread safe: a
 * command registered once is never registered again (rte_telemetry has no
 * way to unregister, and a second registration would take another of its
 * few slots); a command that failed is retried by the next call.
 *
 * @return
 *   0 when every command is registered; otherwise the negative errno of the
 *   first failure (-EINVAL, -ENOMEM, or -ENOENT when rte_telemetry has no
 *   free slot left). A failure is logged; the allocator works without
 *   telemetry.
 */
int dpm_telemetry_register(void);

#endif /* DPM_TELEMETRY_H */
