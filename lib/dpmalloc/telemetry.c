/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Telemetry commands under /dpmalloc/ (see telemetry.h for the replies).
 *
 * Everything here goes through the public statistics functions, which any
 * thread may call at any time: DPDK runs these callbacks on its telemetry
 * client threads, one per connection, so two may run at once. Nothing is
 * kept between calls; every buffer lives on the callback's stack or in the
 * rte_tel_data containers that DPDK frees after sending the reply.
 *
 * DPDK cuts a reply silently past 16 KiB of JSON, 256 dictionary entries or
 * 512 array entries. Each command is bounded by construction:
 *   info          5 entries
 *   socket        14 entries; the summary one array per socket (<= 8)
 *   classes       6 entries + at most DPM_TELEMETRY_MAX_CLASSES arrays of 5
 *                 u64: 64 * ~110 bytes worst case (every counter at 2^64)
 *   lcore         9 entries; the summary one array of 4 u64 per lcore that
 *                 used dpmalloc (<= RTE_MAX_LCORE = 128, ~11 KiB worst case)
 *   cross_socket  total, then at most DPM_TEL_CROSS_PAIRS pairs (and
 *                 pairs_left when more are nonzero: up to 32 * 31)
 * DPDK 22.11 cannot nest a dictionary in a dictionary (containers are
 * arrays only), so tables are dictionaries of u64 arrays whose column
 * names are given once, in a string array called "fields".
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_spinlock.h>
#include <rte_telemetry.h>

#include <rte_eal.h>

#include "dpmalloc.h"
#include "dpm_private.h"
#include "dpm_state.h"
#include "telemetry.h"

/* Most comma-separated numbers a command takes (/dpmalloc/classes). */
#define DPM_TEL_MAX_PARAMS 3

/* A dictionary key: a decimal id, or "<from>_to_<to>". */
#define DPM_TEL_KEY_LEN 32

/*
 * Parse params, a list of up to max decimal numbers separated by commas,
 * each at most limit. NULL or "" is an empty list. Blanks around a number
 * are tolerated; anything else (signs, hex, empty fields, extra fields,
 * overflow) is refused, so a typo gets a null reply instead of a guess.
 * Returns how many numbers were read, or -EINVAL.
 */
static int
dpm_tel_parse(const char *params, uint64_t *vals, int max, uint64_t limit)
{
	const char *p = params;
	int n = 0;

	if (p == NULL)
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;

	for (;;) {
		uint64_t v = 0;
		int digits = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p - '0');
			/* 12 digits cannot overflow; limit is far lower. */
			if (++digits > 12 || v > limit)
				return -EINVAL;
			p++;
		}
		if (digits == 0 || n == max)
			return -EINVAL;
		vals[n++] = v;
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			return n;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
}

/* Whether lcores of socket s freed memory of another socket. */
static bool
dpm_tel_cross_any(int s)
{
	int to;

	for (to = 0; to < RTE_MAX_NUMA_NODES; to++)
		if (to != s && dpm_stats_cross_socket(s, to) != 0)
			return true;
	return false;
}

/*
 * The sockets to report: every socket EAL knows, then any other id that
 * dpmalloc has served or whose lcores freed remote memory (a test may map lcores to sockets the machine does
 * not have, with anonymous memory). Returns how many ids were written.
 */
static unsigned int
dpm_tel_sockets(int ids[RTE_MAX_NUMA_NODES])
{
	unsigned int n = 0;
	unsigned int i;
	int s;

	for (i = 0; i < rte_socket_count() && n < RTE_MAX_NUMA_NODES; i++) {
		s = rte_socket_id_by_idx(i);
		if (s >= 0)
			ids[n++] = s;
	}
	for (s = 0; s < RTE_MAX_NUMA_NODES && n < RTE_MAX_NUMA_NODES; s++) {
		struct dpm_socket_stats st;
		bool known = false;

		for (i = 0; i < n; i++)
			known |= ids[i] == s;
		if (known || dpm_stats_socket(s, &st) != 0)
			continue;
		if (st.spans_reserved != 0 || st.nmalloc != 0 || st.nfree != 0 ||
		    dpm_tel_cross_any(s))
			ids[n++] = s;
	}
	return n;
}

/* A string array naming the columns of a table; NULL on failure. */
static struct rte_tel_data *
dpm_tel_fields(const char *const *names, unsigned int n)
{
	struct rte_tel_data *a = rte_tel_data_alloc();
	unsigned int i;

	if (a == NULL)
		return NULL;
	rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
	for (i = 0; i < n; i++)
		rte_tel_data_add_array_string(a, names[i]);
	return a;
}

/*
 * Add a u64 array of n values under key; on success the dictionary owns
 * the array (keep = 0: DPDK frees it after the reply).
 */
static int
dpm_tel_add_row(struct rte_tel_data *d, const char *key,
		const uint64_t *vals, unsigned int n)
{
	struct rte_tel_data *a = rte_tel_data_alloc();
	unsigned int i;
	int ret;

	if (a == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
	for (i = 0; i < n; i++)
		rte_tel_data_add_array_u64(a, vals[i]);
	ret = rte_tel_data_add_dict_container(d, key, a, 0);
	if (ret != 0)
		rte_tel_data_free(a);
	return ret;
}

/* Add the column names of a table under "fields". */
static int
dpm_tel_add_fields(struct rte_tel_data *d, const char *const *names,
		unsigned int n)
{
	struct rte_tel_data *a = dpm_tel_fields(names, n);
	int ret;

	if (a == NULL)
		return -ENOMEM;
	ret = rte_tel_data_add_dict_container(d, "fields", a, 0);
	if (ret != 0)
		rte_tel_data_free(a);
	return ret;
}

/* A failed stats call: its rte_errno as a negative errno, never 0. */
static int
dpm_tel_errno(void)
{
	return rte_errno > 0 ? -rte_errno : -EINVAL;
}

/*
 * The commands exist from load time (dpm_telemetry_load below), before the
 * library is initialised, and in a secondary process, where it never is.
 * Then every command answers {"initialised": 0, "reason": "..."}
 * instead of a null reply that would look like a bad parameter. (The
 * statistics functions would refuse anyway; this says why.) Returns true
 * when the reply was written.
 */
static bool
dpm_tel_not_ready(struct rte_tel_data *d, const char *version)
{
	const char *why;

	if (__atomic_load_n(&dpm_state.ready, __ATOMIC_ACQUIRE))
		return false;
	if (rte_eal_process_type() == RTE_PROC_SECONDARY)
		why = "secondary process: dpmalloc serves the primary only";
	else
		why = "not initialised: no dpm_init() and no allocation yet";
	rte_tel_data_start_dict(d);
	if (version != NULL)
		rte_tel_data_add_dict_string(d, "version", version);
	rte_tel_data_add_dict_int(d, "initialised", 0);
	rte_tel_data_add_dict_string(d, "reason", why);
	return true;
}

/* /dpmalloc/info: version, sockets, memzones and class count. */
static int
dpm_tel_info(const char *cmd __rte_unused, const char *params,
		struct rte_tel_data *d)
{
	int ids[RTE_MAX_NUMA_NODES];
	struct rte_tel_data *socks;
	char version[16];
	unsigned int n, i;

	if (params != NULL && params[0] != '\0')
		return -EINVAL;
	snprintf(version, sizeof(version), "%d.%d.%d", DPM_VERSION / 10000,
		 DPM_VERSION / 100 % 100, DPM_VERSION % 100);
	if (dpm_tel_not_ready(d, version))
		return 0;

	socks = rte_tel_data_alloc();
	if (socks == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(socks, RTE_TEL_INT_VAL);
	n = dpm_tel_sockets(ids);
	for (i = 0; i < n; i++)
		rte_tel_data_add_array_int(socks, ids[i]);

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", version);
	rte_tel_data_add_dict_int(d, "initialised", 1);
	rte_tel_data_add_dict_int(d, "version_code", DPM_VERSION);
	if (rte_tel_data_add_dict_container(d, "sockets", socks, 0) != 0)
		rte_tel_data_free(socks);
	rte_tel_data_add_dict_u64(d, "memzones", dpm_memzone_count());
	rte_tel_data_add_dict_u64(d, "classes", dpm_class_count());
	return 0;
}

/* Columns of the /dpmalloc/socket summary. */
static const char *const dpm_tel_socket_fields[] = {
	"bytes_reserved", "bytes_allocated", "spans", "nmalloc", "nfree",
};

/* /dpmalloc/socket: one socket in full, or a summary of every socket. */
static int
dpm_tel_socket(const char *cmd __rte_unused, const char *params,
		struct rte_tel_data *d)
{
	struct dpm_socket_stats st;
	uint64_t arg;
	int n;

	n = dpm_tel_parse(params, &arg, 1, RTE_MAX_NUMA_NODES - 1);
	if (n < 0)
		return n;
	if (dpm_tel_not_ready(d, NULL))
		return 0;

	if (n == 0) {
		int ids[RTE_MAX_NUMA_NODES];
		unsigned int nsock = dpm_tel_sockets(ids);
		unsigned int i;

		rte_tel_data_start_dict(d);
		dpm_tel_add_fields(d, dpm_tel_socket_fields,
				   RTE_DIM(dpm_tel_socket_fields));
		for (i = 0; i < nsock; i++) {
			char key[DPM_TEL_KEY_LEN];
			uint64_t row[RTE_DIM(dpm_tel_socket_fields)];

			/* A socket dpmalloc does not serve is simply absent. */
			if (dpm_stats_socket(ids[i], &st) != 0)
				continue;
			row[0] = st.bytes_reserved;
			row[1] = st.bytes_allocated;
			row[2] = st.spans;
			row[3] = st.nmalloc;
			row[4] = st.nfree;
			snprintf(key, sizeof(key), "%d", ids[i]);
			dpm_tel_add_row(d, key, row, RTE_DIM(row));
		}
		return 0;
	}

	if (dpm_stats_socket((int)arg, &st) != 0)
		return dpm_tel_errno();
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "socket_id", st.socket_id);
	rte_tel_data_add_dict_u64(d, "arenas", st.arenas);
	rte_tel_data_add_dict_u64(d, "spans", st.spans);
	rte_tel_data_add_dict_u64(d, "spans_reserved", st.spans_reserved);
	rte_tel_data_add_dict_u64(d, "spans_returned", st.spans_returned);
	rte_tel_data_add_dict_u64(d, "bytes_reserved", st.bytes_reserved);
	rte_tel_data_add_dict_u64(d, "bytes_retained", st.bytes_retained);
	rte_tel_data_add_dict_u64(d, "bytes_metadata", st.bytes_metadata);
	rte_tel_data_add_dict_u64(d, "bytes_parked", st.bytes_parked);
	rte_tel_data_add_dict_u64(d, "chunks_used", st.chunks_used);
	rte_tel_data_add_dict_u64(d, "chunks_peak", st.chunks_peak);
	rte_tel_data_add_dict_u64(d, "bytes_allocated", st.bytes_allocated);
	rte_tel_data_add_dict_u64(d, "nmalloc", st.nmalloc);
	rte_tel_data_add_dict_u64(d, "nfree", st.nfree);
	rte_tel_data_add_dict_u64(d, "remote_frees_in", st.remote_frees_in);
	rte_tel_data_add_dict_u64(d, "fallback_in", st.fallback_in);
	rte_tel_data_add_dict_u64(d, "enomem", st.enomem);
	rte_tel_data_add_dict_u64(d, "failed_enomem", st.failed_enomem);
	rte_tel_data_add_dict_u64(d, "failed_e2big", st.failed_e2big);
	rte_tel_data_add_dict_u64(d, "failed_einval", st.failed_einval);
	rte_tel_data_add_dict_u64(d, "double_frees", st.double_frees);
	return 0;
}

/* Columns of a /dpmalloc/classes row. */
static const char *const dpm_tel_class_fields[] = {
	"size", "nmalloc", "nfree", "curregs", "curruns",
};

/*
 * /dpmalloc/classes,<socket>[,<first>[,<last>]]: a bounded range of size
 * classes of one socket. A range longer than DPM_TELEMETRY_MAX_CLASSES, or
 * running past the last class, is shortened rather than refused, and the
 * reply says which range it holds ("first", "last") and where to go on
 * ("next", only when classes remain), so a client can page through.
 */
static int
dpm_tel_classes(const char *cmd __rte_unused, const char *params,
		struct rte_tel_data *d)
{
	unsigned int count = dpm_class_count();
	uint64_t arg[DPM_TEL_MAX_PARAMS];
	struct dpm_socket_stats sst;
	uint64_t first, last, cls;
	int socket, n;

	n = dpm_tel_parse(params, arg, DPM_TEL_MAX_PARAMS, UINT32_MAX);
	if (n < 1 || count == 0)
		return -EINVAL;
	if (dpm_tel_not_ready(d, NULL))
		return 0;
	if (arg[0] >= RTE_MAX_NUMA_NODES)
		return -EINVAL;
	socket = (int)arg[0];
	first = n >= 2 ? arg[1] : 0;
	last = n >= 3 ? arg[2] : first + DPM_TELEMETRY_MAX_CLASSES - 1;
	if (first >= count || last < first)
		return -EINVAL;
	if (last >= count)
		last = count - 1;
	if (last - first + 1 > DPM_TELEMETRY_MAX_CLASSES)
		last = first + DPM_TELEMETRY_MAX_CLASSES - 1;

	/* An unknown socket is an error, not an empty table. */
	if (dpm_stats_socket(socket, &sst) != 0)
		return dpm_tel_errno();

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "socket_id", socket);
	rte_tel_data_add_dict_u64(d, "count", count);
	rte_tel_data_add_dict_u64(d, "first", first);
	rte_tel_data_add_dict_u64(d, "last", last);
	if (last + 1 < count)
		rte_tel_data_add_dict_u64(d, "next", last + 1);
	dpm_tel_add_fields(d, dpm_tel_class_fields,
			   RTE_DIM(dpm_tel_class_fields));
	for (cls = first; cls <= last; cls++) {
		struct dpm_class_stats st;
		char key[DPM_TEL_KEY_LEN];
		uint64_t row[RTE_DIM(dpm_tel_class_fields)];

		if (dpm_stats_class(socket, (unsigned int)cls, &st) != 0)
			continue;
		row[0] = st.size;
		row[1] = st.nmalloc;
		row[2] = st.nfree;
		row[3] = st.curregs;
		row[4] = st.curruns;
		snprintf(key, sizeof(key), "%" PRIu64, cls);
		dpm_tel_add_row(d, key, row, RTE_DIM(row));
	}
	return 0;
}

/* Columns of the /dpmalloc/lcore summary. */
static const char *const dpm_tel_lcore_fields[] = {
	"nmalloc", "nfree", "tcache_cached", "remote_frees",
};

/* /dpmalloc/lcore: one lcore in full, or every lcore that used dpmalloc. */
static int
dpm_tel_lcore(const char *cmd __rte_unused, const char *params,
		struct rte_tel_data *d)
{
	struct dpm_lcore_stats st;
	uint64_t arg;
	int n;

	n = dpm_tel_parse(params, &arg, 1, RTE_MAX_LCORE - 1);
	if (n < 0)
		return n;
	if (dpm_tel_not_ready(d, NULL))
		return 0;

	if (n == 0) {
		unsigned int id;

		rte_tel_data_start_dict(d);
		dpm_tel_add_fields(d, dpm_tel_lcore_fields,
				   RTE_DIM(dpm_tel_lcore_fields));
		for (id = 0; id < RTE_MAX_LCORE; id++) {
			char key[DPM_TEL_KEY_LEN];
			uint64_t row[RTE_DIM(dpm_tel_lcore_fields)];

			/* ENOENT: this lcore id never called dpmalloc. */
			if (dpm_stats_lcore(id, &st) != 0)
				continue;
			row[0] = st.nmalloc;
			row[1] = st.nfree;
			row[2] = st.tcache_cached;
			row[3] = st.remote_frees;
			snprintf(key, sizeof(key), "%u", id);
			dpm_tel_add_row(d, key, row, RTE_DIM(row));
		}
		return 0;
	}

	if (dpm_stats_lcore((unsigned int)arg, &st) != 0)
		return dpm_tel_errno();
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "lcore_id", (int)st.lcore_id);
	rte_tel_data_add_dict_int(d, "socket_id", st.socket_id);
	rte_tel_data_add_dict_u64(d, "nmalloc", st.nmalloc);
	rte_tel_data_add_dict_u64(d, "nfree", st.nfree);
	rte_tel_data_add_dict_u64(d, "tcache_fills", st.tcache_fills);
	rte_tel_data_add_dict_u64(d, "tcache_flushes", st.tcache_flushes);
	rte_tel_data_add_dict_u64(d, "tcache_gc", st.tcache_gc);
	rte_tel_data_add_dict_u64(d, "tcache_cached", st.tcache_cached);
	rte_tel_data_add_dict_u64(d, "tcache_bytes", st.tcache_bytes);
	rte_tel_data_add_dict_u64(d, "tcache_large_bytes", st.tcache_large_bytes);
	rte_tel_data_add_dict_u64(d, "remote_frees", st.remote_frees);
	return 0;
}

/*
 * /dpmalloc/cross_socket: the nonzero cells of the from -> to matrix. Every
 * cell is read, not only those between the sockets dpm_tel_sockets() lists:
 * a socket whose lcores only free (a TX side) has no allocation of its own
 * and would be left out, with all its traffic. total comes first, and the
 * pairs stop at DPM_TEL_CROSS_PAIRS, the rest counted in pairs_left, so the
 * reply stays within DPDK's 256 entries (more than 254 pairs take 17
 * sockets or more).
 */
#define DPM_TEL_CROSS_PAIRS 254
static int
dpm_tel_cross_socket(const char *cmd __rte_unused, const char *params,
		struct rte_tel_data *d)
{
	uint64_t total = 0;
	int from, to;

	if (params != NULL && params[0] != '\0')
		return -EINVAL;
	if (dpm_tel_not_ready(d, NULL))
		return 0;

	uint64_t cell[RTE_MAX_NUMA_NODES][RTE_MAX_NUMA_NODES];
	unsigned int pairs = 0;

	/* One read of each cell, so that total is their sum. */
	for (from = 0; from < RTE_MAX_NUMA_NODES; from++) {
		for (to = 0; to < RTE_MAX_NUMA_NODES; to++) {
			cell[from][to] = from == to ? 0 : dpm_stats_cross_socket(from, to);
			total += cell[from][to];
		}
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", total);
	for (from = 0; from < RTE_MAX_NUMA_NODES; from++) {
		for (to = 0; to < RTE_MAX_NUMA_NODES; to++) {
			char key[DPM_TEL_KEY_LEN];

			if (cell[from][to] == 0)
				continue;
			if (++pairs > DPM_TEL_CROSS_PAIRS)
				continue;
			snprintf(key, sizeof(key), "%d_to_%d", from, to);
			rte_tel_data_add_dict_u64(d, key, cell[from][to]);
		}
	}
	if (pairs > DPM_TEL_CROSS_PAIRS)
		rte_tel_data_add_dict_u64(d, "pairs_left", pairs - DPM_TEL_CROSS_PAIRS);
	return 0;
}

/*
 * The commands. Help texts stay under 64 bytes: older telemetry libraries
 * refuse longer ones, and 22.11 caps them at RTE_TEL_MAX_STRING_LEN.
 */
static const struct {
	const char *cmd;
	telemetry_cb fn;
	const char *help;
} dpm_tel_cmds[] = {
	{ "/dpmalloc/info", dpm_tel_info,
	  "dpmalloc version, sockets, memzones. No parameters" },
	{ "/dpmalloc/socket", dpm_tel_socket,
	  "Socket stats. Parameter: socket id, none: summary" },
	{ "/dpmalloc/classes", dpm_tel_classes,
	  "Class stats. Parameters: socket[,first[,last]], 64 max" },
	{ "/dpmalloc/lcore", dpm_tel_lcore,
	  "Lcore stats. Parameter: lcore id, none: summary" },
	{ "/dpmalloc/cross_socket", dpm_tel_cross_socket,
	  "Nonzero cross-socket free counts. No parameters" },
};

/* Which commands are registered; guarded by dpm_tel_lock. */
static bool dpm_tel_registered[RTE_DIM(dpm_tel_cmds)];
static rte_spinlock_t dpm_tel_lock = RTE_SPINLOCK_INITIALIZER;

int
dpm_telemetry_register(void)
{
	int first_err = 0;
	unsigned int i;

	rte_spinlock_lock(&dpm_tel_lock);
	for (i = 0; i < RTE_DIM(dpm_tel_cmds); i++) {
		int ret;

		if (dpm_tel_registered[i])
			continue;
		ret = rte_telemetry_register_cmd(dpm_tel_cmds[i].cmd,
				dpm_tel_cmds[i].fn, dpm_tel_cmds[i].help);
		if (ret == 0) {
			dpm_tel_registered[i] = true;
			continue;
		}
		DPM_LOG(WARNING, "telemetry command %s not registered: %s",
			dpm_tel_cmds[i].cmd, strerror(-ret));
		if (first_err == 0)
			first_err = ret < 0 ? ret : -EINVAL;
	}
	rte_spinlock_unlock(&dpm_tel_lock);
	return first_err;
}

/*
 * Register the commands when the library is loaded (before main(), or at
 * dlopen() of a program's -d driver that links it), as DPDK's libraries do:
 * a program that loaded dpmalloc but has not initialised it yet lists them
 * under "/" and gets an "initialised": 0 reply, not a missing command.
 * rte_telemetry_register_cmd() only adds to a table, so this is safe before
 * rte_eal_init(); the library's initialisation retries what failed here.
 */
RTE_INIT(dpm_telemetry_load)
{
	dpm_telemetry_register();
}
