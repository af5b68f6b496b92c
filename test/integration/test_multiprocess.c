/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Multi-process: dpmalloc serves the primary process only. A primary
 * (test/mp/dpm_mp_helper.c) initialises dpmalloc and makes a "dpm" mempool
 * under a file prefix of this test's own; a secondary with the same prefix
 * then checks that every call fails with ENOTSUP and that the driver
 * refuses a pool, and must say so in exactly one dpmalloc log line. Both
 * processes are started here and ended by their pid.
 *
 * Hugepages only: a secondary cannot attach to a --no-huge primary's
 * memory (meson registers this binary in the 'huge' suite; the harness's
 * main() skips it where there are no hugepages).
 */

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#ifndef DPM_MP_HELPER
#error "meson passes the helper's path as DPM_MP_HELPER"
#endif

#define OUT_MAX 8192

static char prefix[64];

/* Start the helper with its stdin and stdout+stderr on pipes. */
static pid_t
spawn(const char *role, bool secondary, int *to_child, int *from_child)
{
	int in[2], out[2];
	pid_t pid;

	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(out), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		const char *argv[] = {
			DPM_MP_HELPER, "--no-pci", "-l", "0", prefix,
			"--log-level=lib.eal:error", "--log-level=lib.telemetry:error",
			secondary ? "--proc-type=secondary" : "-m",
			secondary ? "--log-level=lib.eal:error" : "64",
			"--", role, NULL,
		};

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(in[1]);
		close(out[0]);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	*to_child = in[1];
	*from_child = out[0];
	return pid;
}

/* Read from fd into buf until pattern shows, EOF, or timeout_ms. */
static size_t
read_until(int fd, char *buf, size_t len, const char *pattern, int timeout_ms)
{
	size_t n = 0;

	buf[0] = '\0';
	while (n < len - 1 && strstr(buf, pattern) == NULL) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		r = read(fd, buf + n, len - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
	}
	return n;
}

/* Wait for pid to end by itself for up to ~10 s, else kill it. */
static int
reap(pid_t pid)
{
	int status, i;

	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(100 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static unsigned int
count_lines_with(const char *s, const char *pat)
{
	unsigned int n = 0;

	while ((s = strstr(s, pat)) != NULL) {
		n++;
		s += strlen(pat);
	}
	return n;
}

static void
cleanup_runtime_dir(void)
{
	char cmd[160];

	/* The primary's runtime directory (its mp socket, config, fbarray
	 * files); hugepages are freed by its rte_eal_cleanup(). */
	snprintf(cmd, sizeof(cmd), "rm -rf /var/run/dpdk/dpm_mp_%d", (int)getpid());
	cr_expect_eq(system(cmd), 0);
}

Test(multiprocess, secondary_gets_enotsup_and_one_log_line,
     .fini = cleanup_runtime_dir, .timeout = 120)
{
	static char out_p[OUT_MAX], out_s[OUT_MAX];
	int to_p, from_p, to_s, from_s, status;
	pid_t primary, secondary;

	snprintf(prefix, sizeof(prefix), "--file-prefix=dpm_mp_%d", (int)getpid());
	primary = spawn("primary", false, &to_p, &from_p);
	read_until(from_p, out_p, sizeof(out_p), "primary: ready", 60000);
	if (strstr(out_p, "primary: ready") == NULL) {
		close(to_p);
		reap(primary);
		cr_assert_fail("the primary did not start: %s", out_p);
	}

	secondary = spawn("secondary", true, &to_s, &from_s);
	close(to_s);
	read_until(from_s, out_s, sizeof(out_s), "\x01", 60000);	/* to EOF */
	status = reap(secondary);
	close(from_s);

	/* End the primary: EOF on its stdin, then by pid if it hangs. */
	close(to_p);
	read_until(from_p, out_p, sizeof(out_p), "\x01", 10000);
	cr_expect_eq(reap(primary), 0, "primary: %s", out_p);
	close(from_p);

	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "secondary status %d: %s", status, out_s);
	cr_expect_not_null(strstr(out_s, "secondary: ok"), "%s", out_s);
	cr_expect_eq(count_lines_with(out_s, "dpmalloc: secondary process"), 1,
		     "not one dpmalloc log line: %s", out_s);
	cr_expect_eq(count_lines_with(out_s, "dpm_mempool: pool dpm_mp_sec"), 1,
		     "the driver did not say why: %s", out_s);
}
