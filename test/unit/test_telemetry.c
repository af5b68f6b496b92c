/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * The /dpmalloc/ telemetry commands, asked the way dpdk-telemetry.py asks:
 * through the process's own telemetry socket,
 * <runtime dir>/dpdk_telemetry.v2 (SOCK_SEQPACKET; the server sends a JSON
 * greeting on connect, then answers each command with one JSON message).
 * The replies are checked against what the test itself allocated and
 * against the public statistics read directly.
 *
 * Criterion runs each test in its own process; each starts EAL in the
 * harness's memory mode (DPM_TEST_EAL) with a file prefix of its own, hence
 * its own runtime directory and socket.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_string_fns.h>

#include <dpmalloc.h>
#include "dpm_test.h"
#include "telemetry.h"

#define REPLY_MAX (32 * 1024)
#define NOBJ 1000

static int tel_sock = -1;
static char reply[REPLY_MAX];

static uint64_t json_u64(const char *json, const char *key);

/*
 * EAL for the harness's memory mode, with a file prefix of this process's
 * own: the telemetry socket lives in the runtime directory
 * /var/run/dpdk/<prefix>/, and a second process with the same prefix would
 * take the socket's path over (DPDK unlinks it before binding).
 */
static void
eal_start(void)
{
	static char prefix[64];
	const char *extra[] = { prefix, NULL };
	int ret;

	snprintf(prefix, sizeof(prefix), "--file-prefix=dpm_tel_%d", getpid());
	ret = dpm_test_eal_init_args(extra);
	cr_assert_geq(ret, 0, "rte_eal_init: %s", rte_strerror(rte_errno));
}

/* Leave no runtime directory behind (DPDK would unlink only the socket). */
static void
eal_stop(void)
{
	char path[PATH_MAX];
	const char *dir = rte_eal_get_runtime_dir();

	if (tel_sock >= 0)
		close(tel_sock);
	tel_sock = -1;
	rte_eal_cleanup();
	snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", dir);
	unlink(path);
	rmdir(dir);
}

/* Connect to this process's telemetry socket and eat the greeting. */
static void
tel_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	ssize_t n;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dpdk_telemetry.v2",
		 rte_eal_get_runtime_dir());
	tel_sock = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	cr_assert_geq(tel_sock, 0);
	cr_assert_eq(connect(tel_sock, (struct sockaddr *)&sun, sizeof(sun)), 0,
		     "connect %s: %s", sun.sun_path, strerror(errno));
	n = read(tel_sock, reply, sizeof(reply) - 1);
	cr_assert_gt(n, 0);
	reply[n] = '\0';
	cr_assert_not_null(strstr(reply, "\"max_output_len\""), "greeting: %s", reply);
	/* The socket is this process's, not another test's. */
	cr_assert_eq(json_u64(reply, "pid"), (uint64_t)getpid(), "%s", reply);
}

/* Send one command; the reply is left in reply[]. */
static const char *
tel_query(const char *cmd)
{
	ssize_t n;

	if (tel_sock < 0)
		tel_connect();
	cr_assert_eq(write(tel_sock, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	n = read(tel_sock, reply, sizeof(reply) - 1);
	cr_assert_gt(n, 0, "no reply to %s", cmd);
	reply[n] = '\0';
	return reply;
}

/* The text right after "key": in json, or NULL. */
static const char *
json_find(const char *json, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	json = strstr(json, pat);
	return json == NULL ? NULL : json + strlen(pat);
}

/* The number stored under key; the test fails if there is none. */
static uint64_t
json_u64(const char *json, const char *key)
{
	const char *v = json_find(json, key);
	char *end;
	uint64_t x;

	cr_assert_not_null(v, "no \"%s\" in %s", key, json);
	x = strtoull(v, &end, 10);
	cr_assert_neq(end, v, "\"%s\" is not a number in %s", key, json);
	return x;
}

/* The u64 array stored under key, up to max values; returns how many. */
static unsigned int
json_row(const char *json, const char *key, uint64_t *vals, unsigned int max)
{
	const char *v = json_find(json, key);
	unsigned int n = 0;
	char *end;

	cr_assert_not_null(v, "no \"%s\" in %s", key, json);
	cr_assert_eq(*v, '[', "\"%s\" is not an array", key);
	v++;
	while (*v != ']' && n < max) {
		vals[n++] = strtoull(v, &end, 10);
		cr_assert_neq(end, v, "bad array under \"%s\"", key);
		v = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* The reply {"<cmd>":null} that telemetry sends when a callback fails. */
static bool
is_null_reply(const char *json, const char *cmd)
{
	char expect[128];
	char name[64];
	const char *comma = strchr(cmd, ',');
	size_t len = comma ? (size_t)(comma - cmd) : strlen(cmd);

	snprintf(name, sizeof(name), "%.*s", (int)len, cmd);
	snprintf(expect, sizeof(expect), "{\"%s\":null}", name);
	return strcmp(json, expect) == 0;
}

static unsigned int
count_occurrences(const char *s, const char *pat)
{
	unsigned int n = 0;

	while ((s = strstr(s, pat)) != NULL) {
		n++;
		s += strlen(pat);
	}
	return n;
}

/* The first size class that holds size bytes. */
static unsigned int
class_of(size_t size)
{
	unsigned int cls;

	for (cls = 0; cls < dpm_class_count(); cls++)
		if (dpm_class_size(cls) >= size)
			return cls;
	cr_assert_fail("no class for %zu bytes", size);
	return 0;
}

static void *objs[NOBJ];

static void
alloc_objs(size_t size)
{
	unsigned int i;

	for (i = 0; i < NOBJ; i++) {
		objs[i] = dpm_malloc(size);
		cr_assert_not_null(objs[i]);
	}
}

static void
free_objs(void)
{
	unsigned int i;

	for (i = 0; i < NOBJ; i++)
		dpm_free(objs[i]);
}

Test(telemetry, register_is_idempotent,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	const char *r;

	dpm_free(dpm_malloc(64));	/* library init registers once */
	cr_expect_eq(dpm_telemetry_register(), 0);
	cr_expect_eq(dpm_telemetry_register(), 0);

	r = tel_query("/");
	cr_expect_eq(count_occurrences(r, "\"/dpmalloc/info\""), 1, "%s", r);
	cr_expect_eq(count_occurrences(r, "\"/dpmalloc/socket\""), 1);
	cr_expect_eq(count_occurrences(r, "\"/dpmalloc/classes\""), 1);
	cr_expect_eq(count_occurrences(r, "\"/dpmalloc/lcore\""), 1);
	cr_expect_eq(count_occurrences(r, "\"/dpmalloc/cross_socket\""), 1);
}

Test(telemetry, info_reports_version_sockets_and_memzones,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	char sock0[16];
	const char *r;

	alloc_objs(64);
	cr_assert_eq(dpm_telemetry_register(), 0);
	r = tel_query("/dpmalloc/info");
	cr_expect_not_null(strstr(r, "\"version\":\"0.1.0\""), "%s", r);
	cr_expect_eq(json_u64(r, "version_code"), DPM_VERSION);
	cr_expect_geq(json_u64(r, "memzones"), 1);
	cr_expect_eq(json_u64(r, "memzones"), dpm_memzone_count());
	cr_expect_eq(json_u64(r, "classes"), dpm_class_count());
	snprintf(sock0, sizeof(sock0), "%d", rte_socket_id_by_idx(0));
	cr_expect_not_null(strstr(json_find(r, "sockets"), sock0), "%s", r);
	free_objs();
}

Test(telemetry, socket_reply_reflects_allocations,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	int socket = (int)rte_socket_id();
	struct dpm_socket_stats st;
	uint64_t nmalloc0, nmalloc1, allocated1;
	char cmd[64];
	const char *r;

	dpm_free(dpm_malloc(64));
	cr_assert_eq(dpm_telemetry_register(), 0);
	snprintf(cmd, sizeof(cmd), "/dpmalloc/socket,%d", socket);
	r = tel_query(cmd);
	cr_expect_eq(json_u64(r, "socket_id"), (uint64_t)socket);
	nmalloc0 = json_u64(r, "nmalloc");

	alloc_objs(256);
	r = tel_query(cmd);
	nmalloc1 = json_u64(r, "nmalloc");
	allocated1 = json_u64(r, "bytes_allocated");
	cr_expect_geq(nmalloc1, nmalloc0 + NOBJ, "nmalloc %" PRIu64 " -> %" PRIu64,
		      nmalloc0, nmalloc1);
	cr_expect_geq(allocated1, (uint64_t)NOBJ * 256);
	cr_expect_geq(json_u64(r, "bytes_reserved"), allocated1);
	cr_expect_geq(json_u64(r, "spans"), 1);

	/* Nothing ran in between: the reply equals a direct read. */
	cr_assert_eq(dpm_stats_socket(socket, &st), 0);
	cr_expect_eq(st.nmalloc, nmalloc1);
	cr_expect_eq(st.bytes_allocated, allocated1);
	free_objs();
}

Test(telemetry, socket_summary_has_a_row_per_socket,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	uint64_t row[8];
	char key[16];
	const char *r;

	alloc_objs(128);
	cr_assert_eq(dpm_telemetry_register(), 0);
	r = tel_query("/dpmalloc/socket");
	cr_expect_not_null(strstr(r, "\"fields\":[\"bytes_reserved\",\"bytes_allocated\",\"spans\",\"nmalloc\",\"nfree\"]"), "%s", r);
	snprintf(key, sizeof(key), "%d", (int)rte_socket_id());
	cr_assert_eq(json_row(r, key, row, RTE_DIM(row)), 5);
	cr_expect_geq(row[1], (uint64_t)NOBJ * 128);
	cr_expect_geq(row[3], NOBJ);
	free_objs();
}

Test(telemetry, classes_reply_holds_the_range_asked,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	int socket = (int)rte_socket_id();
	unsigned int cls = class_of(64);
	uint64_t row[8];
	char cmd[64], key[16];
	const char *r;
	unsigned int i;

	alloc_objs(64);
	cr_assert_eq(dpm_telemetry_register(), 0);
	snprintf(cmd, sizeof(cmd), "/dpmalloc/classes,%d,%u,%u", socket, cls,
		 cls + 1);
	r = tel_query(cmd);
	cr_expect_eq(json_u64(r, "first"), cls);
	cr_expect_eq(json_u64(r, "last"), cls + 1);
	cr_expect_eq(json_u64(r, "count"), dpm_class_count());
	for (i = cls; i <= cls + 1; i++) {
		snprintf(key, sizeof(key), "%u", i);
		cr_assert_eq(json_row(r, key, row, RTE_DIM(row)), 5);
		cr_expect_eq(row[0], dpm_class_size(i));
	}
	snprintf(key, sizeof(key), "%u", cls + 2);
	cr_expect_null(json_find(r, key), "class %u outside the range", cls + 2);

	/* NOBJ live objects of 64 bytes: live-or-cached regions of the class. */
	snprintf(key, sizeof(key), "%u", cls);
	json_row(r, key, row, RTE_DIM(row));
	cr_expect_geq(row[3], NOBJ, "curregs %" PRIu64, row[3]);
	cr_expect_geq(row[1], NOBJ, "nmalloc %" PRIu64, row[1]);
	free_objs();
}

Test(telemetry, classes_default_range_is_capped_and_pages,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	unsigned int count = dpm_class_count();
	int socket = (int)rte_socket_id();
	uint64_t first = 0, last, next;
	unsigned int seen = 0;
	char cmd[64];
	const char *r;

	dpm_free(dpm_malloc(64));
	cr_assert_eq(dpm_telemetry_register(), 0);
	snprintf(cmd, sizeof(cmd), "/dpmalloc/classes,%d", socket);
	r = tel_query(cmd);
	last = json_u64(r, "last");
	cr_expect_eq(json_u64(r, "first"), 0);
	cr_expect_eq(last, RTE_MIN(count, DPM_TELEMETRY_MAX_CLASSES) - 1);

	/* Page through every class; each page stays within the cap. */
	for (;;) {
		first = json_u64(r, "first");
		last = json_u64(r, "last");
		cr_assert_leq(last - first + 1, DPM_TELEMETRY_MAX_CLASSES);
		seen += (unsigned int)(last - first + 1);
		/* DPDK cuts an oversized reply silently: every row must be
		 * there, the last one included. */
		for (uint64_t cls = first; cls <= last; cls++) {
			uint64_t row[8];
			char key[16];

			snprintf(key, sizeof(key), "%" PRIu64, cls);
			cr_assert_eq(json_row(r, key, row, RTE_DIM(row)), 5,
				     "class %s", key);
			cr_expect_eq(row[0], dpm_class_size((unsigned int)cls));
		}
		cr_expect_eq(r[strlen(r) - 1], '}');
		if (json_find(r, "next") == NULL)
			break;
		next = json_u64(r, "next");
		cr_assert_eq(next, last + 1);
		snprintf(cmd, sizeof(cmd), "/dpmalloc/classes,%d,%" PRIu64 ",%u",
			 socket, next, count + 1000);
		r = tel_query(cmd);
	}
	cr_expect_eq(seen, count);
	cr_expect_eq(last, count - 1);
}

Test(telemetry, lcore_reply_counts_this_lcore,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	unsigned int me = rte_lcore_id();
	struct dpm_lcore_stats st;
	uint64_t row[8];
	char cmd[64], key[16];
	const char *r;

	alloc_objs(32);
	cr_assert_eq(dpm_telemetry_register(), 0);
	snprintf(cmd, sizeof(cmd), "/dpmalloc/lcore,%u", me);
	r = tel_query(cmd);
	cr_expect_eq(json_u64(r, "lcore_id"), me);
	cr_expect_geq(json_u64(r, "nmalloc"), NOBJ);
	cr_assert_eq(dpm_stats_lcore(me, &st), 0);
	cr_expect_eq(json_u64(r, "nmalloc"), st.nmalloc);

	r = tel_query("/dpmalloc/lcore");
	snprintf(key, sizeof(key), "%u", me);
	cr_assert_eq(json_row(r, key, row, RTE_DIM(row)), 4, "%s", r);
	cr_expect_geq(row[0], NOBJ);

	/* A worker lcore that never called dpmalloc has no stats. */
	snprintf(cmd, sizeof(cmd), "/dpmalloc/lcore,%u",
		 rte_get_next_lcore(me, 1, 0));
	cr_expect(is_null_reply(tel_query(cmd), cmd), "%s", reply);
	free_objs();
}

Test(telemetry, bad_parameters_get_a_null_reply,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	static const char *const bad[] = {
		"/dpmalloc/socket,abc", "/dpmalloc/socket,-1",
		"/dpmalloc/socket,999", "/dpmalloc/socket,0,1",
		"/dpmalloc/socket,0x0", "/dpmalloc/socket,99999999999999999999",
		"/dpmalloc/classes", "/dpmalloc/classes,abc",
		"/dpmalloc/classes,0,5,2", "/dpmalloc/classes,0,100000",
		"/dpmalloc/classes,0,1,2,3", "/dpmalloc/classes,0,,2",
		"/dpmalloc/classes,7", "/dpmalloc/lcore,100000",
		"/dpmalloc/lcore,1x", "/dpmalloc/lcore,,",
		"/dpmalloc/info,1", "/dpmalloc/cross_socket,0",
	};
	char cmd[64];
	unsigned int i;

	dpm_free(dpm_malloc(64));
	cr_assert_eq(dpm_telemetry_register(), 0);
	for (i = 0; i < RTE_DIM(bad); i++) {
		/* Socket 7 is valid syntax; it is bad only if dpmalloc lacks it. */
		if (strcmp(bad[i], "/dpmalloc/classes,7") == 0) {
			struct dpm_socket_stats st;

			if (dpm_stats_socket(7, &st) == 0)
				continue;
		}
		cr_expect(is_null_reply(tel_query(bad[i]), bad[i]),
			  "%s -> %s", bad[i], reply);
	}

	/* The connection and the commands still work afterwards. */
	snprintf(cmd, sizeof(cmd), "/dpmalloc/socket,%d", (int)rte_socket_id());
	cr_expect_geq(json_u64(tel_query(cmd), "nmalloc"), 1);
}

/* Simulated topology: even lcores on socket 0, odd ones on socket 1. */
static int
two_sockets(unsigned int lcore_id)
{
	return (int)(lcore_id & 1);
}

static void
eal_start_two_sockets(void)
{
	struct dpm_config cfg;

	eal_start();
	dpm_config_defaults(&cfg);
	cfg.zone_source = DPM_ZONE_ANON;
	cfg.sim_sockets = 2;
	cfg.lcore_socket = two_sockets;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
}

static int
alloc_on_worker(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < NOBJ; i++) {
		objs[i] = dpm_malloc(64);
		if (objs[i] == NULL)
			return -1;
	}
	return 0;
}

Test(telemetry, cross_socket_reports_the_nonzero_pairs,
     .init = eal_start_two_sockets, .fini = eal_stop, .timeout = 60)
{
	unsigned int me = rte_lcore_id();
	unsigned int odd = rte_get_next_lcore(me, 1, 0);
	uint64_t direct;
	const char *r;

	cr_assert_eq(me & 1, 0, "main lcore %u is not on simulated socket 0", me);
	cr_assert_eq(odd & 1, 1);
	cr_assert_eq(dpm_telemetry_register(), 0);

	/* Socket 1 memory freed by a socket 0 lcore: cross socket 0 -> 1. */
	cr_assert_eq(rte_eal_remote_launch(alloc_on_worker, NULL, odd), 0);
	cr_assert_eq(rte_eal_wait_lcore(odd), 0);
	cr_assert_eq(dpm_socket_of(objs[0]), 1);
	free_objs();
	dpm_tcache_flush();

	r = tel_query("/dpmalloc/cross_socket");
	direct = dpm_stats_cross_socket(0, 1);
	cr_expect_gt(direct, 0);
	cr_expect_geq(direct, NOBJ);
	cr_expect_eq(json_u64(r, "0_to_1"), direct, "%s", r);
	cr_expect_eq(json_u64(r, "total"), direct);
	cr_expect_null(json_find(r, "1_to_0"), "%s", r);

	/* The simulated socket is listed too. */
	r = tel_query("/dpmalloc/info");
	cr_expect_not_null(strstr(json_find(r, "sockets"), "1"), "%s", r);
}

static int
churn_on_lcore(void *arg)
{
	volatile bool *stop = arg;
	void *p[16];
	unsigned int i;

	while (!*stop) {
		for (i = 0; i < RTE_DIM(p); i++)
			p[i] = dpm_malloc(16u << (i % 12));
		for (i = 0; i < RTE_DIM(p); i++)
			dpm_free(p[i]);
	}
	return 0;
}

/* One telemetry client: its own connection, every command, many times;
 * returns how many replies were not whole dictionaries. Lcore 0 (main) has
 * allocated before the clients start, so its command never answers null. */
static void *
client_thread(void *arg)
{
	static const char *const cmds[] = {
		"/dpmalloc/info", "/dpmalloc/socket", "/dpmalloc/socket,0",
		"/dpmalloc/classes,0", "/dpmalloc/classes,0,40,90",
		"/dpmalloc/lcore", "/dpmalloc/lcore,0", "/dpmalloc/cross_socket",
	};
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *buf = malloc(REPLY_MAX);
	uintptr_t bad = 0;
	unsigned int i;
	int s;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dpdk_telemetry.v2",
		 (const char *)arg);
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (buf == NULL || s < 0 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    read(s, buf, REPLY_MAX - 1) <= 0) {
		bad = 1000000;
		goto out;
	}
	for (i = 0; i < 400; i++) {
		const char *cmd = cmds[i % RTE_DIM(cmds)];
		char prefix[64];
		ssize_t n;

		if (write(s, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
			bad++;
			continue;
		}
		n = read(s, buf, REPLY_MAX - 1);
		if (n <= 0) {
			bad++;
			continue;
		}
		buf[n] = '\0';
		/* A real reply: {"<cmd>":{...}} and complete. */
		snprintf(prefix, sizeof(prefix), "{\"%.*s\":{", (int)strcspn(cmd, ","),
			 cmd);
		if (strncmp(buf, prefix, strlen(prefix)) != 0 ||
		    strcmp(buf + n - 2, "}}") != 0)
			bad++;
	}
out:
	if (s >= 0)
		close(s);
	free(buf);
	return (void *)bad;
}

Test(telemetry, concurrent_clients_during_allocation_get_whole_replies,
     .init = eal_start, .fini = eal_stop, .timeout = 120)
{
	static volatile bool stop;
	pthread_t clients[4];
	unsigned int i, lcore;
	void *bad;

	dpm_free(dpm_malloc(64));
	cr_assert_eq(dpm_telemetry_register(), 0);
	stop = false;
	RTE_LCORE_FOREACH_WORKER(lcore)
		cr_assert_eq(rte_eal_remote_launch(churn_on_lcore, (void *)&stop,
						   lcore), 0);
	for (i = 0; i < RTE_DIM(clients); i++)
		cr_assert_eq(pthread_create(&clients[i], NULL, client_thread,
					    (void *)rte_eal_get_runtime_dir()), 0);
	for (i = 0; i < RTE_DIM(clients); i++) {
		pthread_join(clients[i], &bad);
		cr_expect_eq((uintptr_t)bad, 0, "client %u: %lu bad replies", i,
			     (unsigned long)(uintptr_t)bad);
	}
	stop = true;
	rte_eal_mp_wait_lcore();
}

Test(telemetry, socket_reply_counts_failed_allocations_by_cause,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	int socket = (int)rte_socket_id();
	volatile size_t too_big = SIZE_MAX;   /* hidden from alloc_size checks */
	struct dpm_socket_stats st;
	char cmd[64];
	const char *r;

	dpm_free(dpm_malloc(64));
	cr_assert_eq(dpm_telemetry_register(), 0);
	cr_assert_null(dpm_malloc(too_big));                  /* E2BIG */
	cr_assert_null(dpm_calloc(too_big / 2, 3));          /* E2BIG */
	volatile size_t bad_align = 24;	/* a constant draws clang's warning */
	cr_assert_null(dpm_aligned_alloc(bad_align, 64));    /* EINVAL */
	snprintf(cmd, sizeof(cmd), "/dpmalloc/socket,%d", socket);
	r = tel_query(cmd);
	cr_expect_eq(json_u64(r, "failed_e2big"), 2, "%s", r);
	cr_expect_eq(json_u64(r, "failed_einval"), 1, "%s", r);
	cr_expect_eq(json_u64(r, "failed_enomem"), 0, "%s", r);
	cr_assert_eq(dpm_stats_socket(socket, &st), 0);
	cr_expect_eq(st.failed_e2big, 2);
	cr_expect_eq(st.failed_einval, 1);
}

/* ------------------------------------------------------------------------
 * Load-time registration, bytes_metadata, a socket that only frees, and
 * clients checking replies against the statistics under cross-socket load.
 */

Test(telemetry, commands_exist_before_init_and_say_so,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	static const char *const cmds[] = {
		"/dpmalloc/socket", "/dpmalloc/socket,0", "/dpmalloc/classes,0",
		"/dpmalloc/lcore", "/dpmalloc/lcore,0", "/dpmalloc/cross_socket",
	};
	const char *r;
	unsigned int i;

	/* No dpm_ call has run: the commands come from the load-time
	 * constructor alone. */
	r = tel_query("/");
	cr_expect_eq(count_occurrences(r, "\"/dpmalloc/info\""), 1, "%s", r);
	cr_expect_eq(count_occurrences(r, "\"/dpmalloc/cross_socket\""), 1, "%s", r);

	r = tel_query("/dpmalloc/info");
	cr_expect_eq(json_u64(r, "initialised"), 0, "%s", r);
	cr_expect_not_null(strstr(r, "\"version\""), "%s", r);
	cr_expect_not_null(strstr(r, "not initialised"), "%s", r);
	for (i = 0; i < RTE_DIM(cmds); i++) {
		r = tel_query(cmds[i]);
		cr_expect_eq(json_u64(r, "initialised"), 0, "%s -> %s", cmds[i], r);
	}
	/* A bad parameter is still refused as such. */
	cr_expect(is_null_reply(tel_query("/dpmalloc/socket,x"), "/dpmalloc/socket"));

	/* Telemetry did not initialise the library; the first call does. */
	cr_expect_eq(dpm_memzone_count(), 0);
	dpm_free(dpm_malloc(64));
	r = tel_query("/dpmalloc/info");
	cr_expect_eq(json_u64(r, "initialised"), 1, "%s", r);
}

Test(telemetry, socket_reply_has_bytes_metadata,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	struct dpm_socket_stats st;
	char cmd[64];
	const char *r;
	int s = (int)rte_socket_id();

	dpm_free(dpm_malloc(64));
	snprintf(cmd, sizeof(cmd), "/dpmalloc/socket,%d", s);
	r = tel_query(cmd);
	cr_assert_eq(dpm_stats_socket(s, &st), 0);
	cr_expect_gt(st.bytes_metadata, 0);
	/* Metadata is never returned before dpm_fini(): the same figure. */
	cr_expect_eq(json_u64(r, "bytes_metadata"), st.bytes_metadata, "%s", r);
}

static int
free_on_worker(void *arg)
{
	(void)arg;
	free_objs();
	dpm_tcache_flush();	/* remote frees are counted as batches leave */
	return 0;
}

/* The TX side of a forwarding loop (examples/fwd_loop -S): lcores of
 * socket 1 free socket 0 memory and allocate nothing themselves. */
Test(telemetry, replies_carry_the_cached_and_parked_bytes,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	unsigned int me = rte_lcore_id();
	struct dpm_lcore_stats ls;
	struct dpm_socket_stats st;
	char cmd[64];
	const char *r;

	dpm_free(dpm_malloc(64));
	dpm_free(dpm_malloc(64 << 10));          /* a large class, cached */
	cr_assert_eq(dpm_telemetry_register(), 0);
	snprintf(cmd, sizeof(cmd), "/dpmalloc/lcore,%u", me);
	r = tel_query(cmd);
	cr_assert_eq(dpm_stats_lcore(me, &ls), 0);
	cr_expect_eq(ls.tcache_large_bytes, 64 << 10);
	cr_expect_gt(ls.tcache_bytes, ls.tcache_large_bytes);
	cr_expect_eq(json_u64(r, "tcache_bytes"), ls.tcache_bytes, "%s", r);
	cr_expect_eq(json_u64(r, "tcache_large_bytes"), ls.tcache_large_bytes, "%s", r);
	snprintf(cmd, sizeof(cmd), "/dpmalloc/socket,%d", (int)rte_socket_id());
	r = tel_query(cmd);
	cr_assert_eq(dpm_stats_socket((int)rte_socket_id(), &st), 0);
	cr_expect_eq(json_u64(r, "bytes_parked"), st.bytes_parked, "%s", r);
}

Test(telemetry, cross_socket_counts_a_socket_that_only_frees,
     .init = eal_start_two_sockets, .fini = eal_stop, .timeout = 60)
{
	unsigned int me = rte_lcore_id();
	unsigned int odd = rte_get_next_lcore(me, 1, 0);
	uint64_t direct;
	const char *r;

	cr_assert_eq(me & 1, 0);
	cr_assert_eq(odd & 1, 1);
	alloc_objs(64);
	cr_assert_eq(rte_eal_remote_launch(free_on_worker, NULL, odd), 0);
	cr_assert_eq(rte_eal_wait_lcore(odd), 0);
	dpm_tcache_flush();

	direct = dpm_stats_cross_socket(1, 0);
	cr_assert_geq(direct, NOBJ);
	r = tel_query("/dpmalloc/cross_socket");
	cr_expect_eq(json_u64(r, "1_to_0"), direct, "%s", r);
	cr_expect_eq(json_u64(r, "total"), direct, "%s", r);
	r = tel_query("/dpmalloc/socket,0");
	cr_expect_eq(json_u64(r, "remote_frees_in"), direct, "%s", r);
}

/* Lcores of each simulated socket allocate into their socket's ring and
 * free what they take out of the other socket's: every object taken out
 * crosses sockets. */
static struct rte_ring *xring[2];

static int
cross_churn(void *arg)
{
	volatile bool *stop = arg;
	unsigned int seq = rte_lcore_id();
	void *p[8];
	unsigned int i, n;

	while (!*stop) {
		for (i = 0; i < RTE_DIM(p); i++) {
			p[i] = dpm_malloc(16u << (seq++ % 9));
			if (p[i] == NULL)
				return -1;
		}
		n = rte_ring_enqueue_burst(xring[rte_lcore_id() & 1], p,
					   RTE_DIM(p), NULL);
		for (i = n; i < RTE_DIM(p); i++)
			dpm_free(p[i]);
		n = rte_ring_dequeue_burst(xring[(rte_lcore_id() & 1) ^ 1], p,
					   RTE_DIM(p), NULL);
		for (i = 0; i < n; i++)
			dpm_free(p[i]);
	}
	return 0;
}

/* Non-asserting JSON look-up for the client threads. */
static bool
json_get(const char *json, const char *key, uint64_t *out)
{
	const char *v = json_find(json, key);
	char *end;

	if (v == NULL)
		return false;
	*out = strtoull(v, &end, 10);
	return end != v;
}

struct xclient {
	const char *dir;
	unsigned int queries;	/* replies checked */
	unsigned int bad;	/* replies outside the bounds, or malformed */
	unsigned int lost;	/* parameter lost by DPDK's server (see below) */
	char why[256];
};

static void
xclient_fail(struct xclient *c, const char *cmd, const char *key,
	     uint64_t lo, uint64_t got, uint64_t hi)
{
	if (c->bad++ == 0)
		snprintf(c->why, sizeof(c->why), "%s: %s = %" PRIu64
			 " not in [%" PRIu64 ", %" PRIu64 "]", cmd, key, got, lo, hi);
}

/* Check key of reply within [lo, hi] and not below the client's last. */
static void
xclient_check(struct xclient *c, const char *cmd, const char *json,
	      const char *key, uint64_t lo, uint64_t hi, uint64_t *last)
{
	uint64_t v;

	if (!json_get(json, key, &v)) {
		/* No such key: say what the reply was instead. */
		if (c->bad++ == 0)
			snprintf(c->why, sizeof(c->why), "%s: no %s in reply '%.160s'",
				 cmd, key, json);
		return;
	}
	if (v < lo || v > hi || v < *last)
		xclient_fail(c, cmd, key, RTE_MAX(lo, *last), v, hi);
	*last = v;
}

/*
 * One client on its own connection: for each socket, the counters are read
 * through the API before (lo) and after (hi) the telemetry query, and the
 * reply must lie between (they only grow), and never go back between two
 * replies of this client.
 */
static void *
xclient_thread(void *arg)
{
	struct xclient *c = arg;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint64_t last_nm[2] = { 0 }, last_nf[2] = { 0 }, last_rf[2] = { 0 };
	uint64_t last_x[2] = { 0 }, last_tot = 0;
	char *buf = malloc(REPLY_MAX);
	unsigned int i;
	int s;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dpdk_telemetry.v2", c->dir);
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (buf == NULL || s < 0 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    read(s, buf, REPLY_MAX - 1) <= 0) {
		c->bad = 1000000;
		snprintf(c->why, sizeof(c->why), "cannot connect");
		goto out;
	}
	for (i = 0; i < 200; i++) {
		struct dpm_socket_stats lo, hi;
		uint64_t xlo[2], xhi[2];
		char cmd[64];
		int sock = (int)(i & 1);
		ssize_t n;

		if (i % 4 < 2) {
			snprintf(cmd, sizeof(cmd), "/dpmalloc/socket,%d", sock);
			if (dpm_stats_socket(sock, &lo) != 0)
				c->bad++;
		} else {
			snprintf(cmd, sizeof(cmd), "/dpmalloc/cross_socket");
			xlo[0] = dpm_stats_cross_socket(0, 1);
			xlo[1] = dpm_stats_cross_socket(1, 0);
		}
		if (write(s, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) ||
		    (n = read(s, buf, REPLY_MAX - 1)) <= 0) {
			c->bad++;
			continue;
		}
		buf[n] = '\0';
		/* DPDK 22.11's telemetry server splits "cmd,param" with
		 * strtok(), whose state its per-client threads share: with
		 * several clients a command now and then arrives without its
		 * parameter and gets the summary ("fields") instead. That is
		 * DPDK's race, not dpmalloc's: ask again, a bounded number of
		 * times. */
		if (i % 4 < 2 && strstr(buf, "\"fields\"") != NULL && c->lost < 50) {
			c->lost++;
			i--;
			continue;
		}
		c->queries++;
		if (i % 4 < 2) {
			if (dpm_stats_socket(sock, &hi) != 0)
				c->bad++;
			xclient_check(c, cmd, buf, "nmalloc", lo.nmalloc, hi.nmalloc,
				      &last_nm[sock]);
			xclient_check(c, cmd, buf, "nfree", lo.nfree, hi.nfree,
				      &last_nf[sock]);
			xclient_check(c, cmd, buf, "remote_frees_in", lo.remote_frees_in,
				      hi.remote_frees_in, &last_rf[sock]);
		} else {
			uint64_t tot_last = last_tot;

			xhi[0] = dpm_stats_cross_socket(0, 1);
			xhi[1] = dpm_stats_cross_socket(1, 0);
			xclient_check(c, cmd, buf, "0_to_1", xlo[0], xhi[0], &last_x[0]);
			xclient_check(c, cmd, buf, "1_to_0", xlo[1], xhi[1], &last_x[1]);
			xclient_check(c, cmd, buf, "total", xlo[0] + xlo[1],
				      xhi[0] + xhi[1], &tot_last);
			last_tot = tot_last;
		}
	}
out:
	if (s >= 0)
		close(s);
	free(buf);
	return NULL;
}

Test(telemetry, replies_match_the_stats_under_cross_socket_load,
     .init = eal_start_two_sockets, .fini = eal_stop, .timeout = 180)
{
	static volatile bool stop;
	struct xclient clients[4];
	pthread_t tids[RTE_DIM(clients)];
	unsigned int i, lcore;
	void *p;

	xring[0] = rte_ring_create("dpm_tel_x0", 1024, (int)rte_socket_id(), 0);
	xring[1] = rte_ring_create("dpm_tel_x1", 1024, (int)rte_socket_id(), 0);
	cr_assert(xring[0] != NULL && xring[1] != NULL);
	stop = false;
	RTE_LCORE_FOREACH_WORKER(lcore)
		cr_assert_eq(rte_eal_remote_launch(cross_churn, (void *)&stop, lcore), 0);
	/* Let both directions start before the first query. */
	for (i = 0; i < 10000 && (dpm_stats_cross_socket(0, 1) == 0 ||
				   dpm_stats_cross_socket(1, 0) == 0); i++)
		usleep(1000);
	cr_expect_gt(dpm_stats_cross_socket(0, 1), 0);
	cr_expect_gt(dpm_stats_cross_socket(1, 0), 0);

	memset(clients, 0, sizeof(clients));
	for (i = 0; i < RTE_DIM(clients); i++) {
		clients[i].dir = rte_eal_get_runtime_dir();
		cr_assert_eq(pthread_create(&tids[i], NULL, xclient_thread, &clients[i]), 0);
	}
	for (i = 0; i < RTE_DIM(clients); i++) {
		pthread_join(tids[i], NULL);
		cr_expect_eq(clients[i].bad, 0, "client %u: %u bad of %u: %s", i,
			     clients[i].bad, clients[i].queries, clients[i].why);
		cr_expect_eq(clients[i].queries, 200);
	}
	stop = true;
	RTE_LCORE_FOREACH_WORKER(lcore)
		cr_expect_eq(rte_eal_wait_lcore(lcore), 0);
	for (i = 0; i < 2; i++) {
		while (rte_ring_dequeue(xring[i], &p) == 0)
			dpm_free(p);
		rte_ring_free(xring[i]);
	}
}

/* 32 simulated sockets, each registered thread freeing memory of every
 * socket: more nonzero pairs than a reply may hold (256 dictionary
 * entries). total comes first and stays, the pairs stop at 254 and the
 * rest are counted in pairs_left (the reply was cut silently, total lost:
 * found by an audit of the API). */
#define XS_SOCKETS 32
#define XS_THREADS 24

static int xs_socket(unsigned int lcore)
{
	return (int)(lcore % XS_SOCKETS);
}

static pthread_barrier_t xs_bar;

static void *xs_thread(void *arg)
{
	int *failed = arg;

	if (rte_thread_register() != 0) {
		__atomic_store_n(failed, 1, __ATOMIC_RELAXED);
		pthread_barrier_wait(&xs_bar);
		pthread_barrier_wait(&xs_bar);
		return NULL;
	}
	for (int s = 0; s < XS_SOCKETS; s++) {
		void *p = dpm_malloc_socket(64, s);

		if (p == NULL)
			__atomic_store_n(failed, 1, __ATOMIC_RELAXED);
		dpm_free(p);
	}
	dpm_tcache_flush();
	pthread_barrier_wait(&xs_bar);   /* lcore ids stay until the query is done */
	pthread_barrier_wait(&xs_bar);
	rte_thread_unregister();
	return NULL;
}

Test(telemetry, cross_socket_with_more_pairs_than_a_reply_holds_keeps_total,
     .init = eal_start, .fini = eal_stop, .timeout = 60)
{
	struct dpm_config cfg;
	pthread_t t[XS_THREADS];
	unsigned int pairs = 0;
	uint64_t total = 0;
	int failed = 0;
	const char *r;

	dpm_config_defaults(&cfg);
	cfg.zone_source = DPM_ZONE_ANON;
	cfg.sim_sockets = XS_SOCKETS;
	cfg.lcore_socket = xs_socket;
	cfg.first_span_size = 2u << 20;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
	cr_assert_eq(dpm_telemetry_register(), 0);
	pthread_barrier_init(&xs_bar, NULL, XS_THREADS + 1);
	for (int i = 0; i < XS_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, xs_thread, &failed), 0);
	pthread_barrier_wait(&xs_bar);
	for (int f = 0; f < XS_SOCKETS; f++) {
		for (int to = 0; to < XS_SOCKETS; to++) {
			uint64_t v = f == to ? 0 : dpm_stats_cross_socket(f, to);

			pairs += v != 0;
			total += v;
		}
	}
	r = tel_query("/dpmalloc/cross_socket");
	pthread_barrier_wait(&xs_bar);
	for (int i = 0; i < XS_THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(failed, 0, "a thread could not register or allocate");
	cr_assert_gt(pairs, 256, "only %u nonzero pairs", pairs);
	cr_expect_eq(json_u64(r, "total"), total, "%s", r);
	cr_expect_eq(count_occurrences(r, "_to_"), 254, "%s", r);
	cr_expect_eq(json_u64(r, "pairs_left"), pairs - 254, "%s", r);
	pthread_barrier_destroy(&xs_bar);
	dpm_fini();
}
