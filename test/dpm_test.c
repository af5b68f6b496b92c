/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_memzone.h>

#include "dpm_test.h"

/* Smallest hugepage pool (all sizes, in KiB) that huge-mode tests accept. */
#define DPM_TEST_MIN_HUGETLB_KB (512 * 1024)

enum dpm_test_eal_mode
dpm_test_eal_mode(void)
{
	const char *mode = getenv("DPM_TEST_EAL");

	if (mode != NULL && strcmp(mode, "huge") == 0)
		return DPM_TEST_EAL_HUGE;
	if (mode != NULL && strcmp(mode, "socketmem") == 0)
		return DPM_TEST_EAL_SOCKETMEM;
	if (mode != NULL && strcmp(mode, "legacy") == 0)
		return DPM_TEST_EAL_LEGACY;
	return DPM_TEST_EAL_NOHUGE;
}

bool
dpm_test_eal_hugepages(void)
{
	return dpm_test_eal_mode() != DPM_TEST_EAL_NOHUGE;
}

/* True when the list (words separated by spaces or commas) holds word. */
static bool
dpm_test_list_has(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, " ,\t");

		if (n == len && strncmp(p, word, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ,\t");
	}
	return false;
}

static bool
dpm_test_hugetlbfs_mounted(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char dev[128], dir[256], type[64];

		if (sscanf(line, "%127s %255s %63s", dev, dir, type) == 3 &&
				strcmp(type, "hugetlbfs") == 0)
			found = true;
	}
	fclose(f);
	return found;
}

/* Total hugepage memory of every page size, in KiB (0 if unknown). */
static unsigned long
dpm_test_hugetlb_kb(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Hugetlb: %lu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

bool
dpm_test_hugepages_available(void)
{
	const char *modes = getenv("DPM_TEST_MODES");

	if (modes != NULL && modes[0] != '\0' && !dpm_test_list_has(modes, "huge"))
		return false;
	return dpm_test_hugetlbfs_mounted() &&
		dpm_test_hugetlb_kb() >= DPM_TEST_MIN_HUGETLB_KB;
}

int
dpm_test_eal_init_args(const char *const extra[])
{
	/*
	 * --in-memory keeps nothing in hugetlbfs if a test dies; EAL refuses
	 * it together with --no-huge (which implies legacy memory), so the
	 * nohuge mode uses --no-shconf for the same effect.
	 */
	static const char *const huge_args[] = {
		"--in-memory",
		"--socket-limit=" RTE_STR(DPM_TEST_SOCKET_LIMIT_MB),
		NULL,
	};
	static const char *const nohuge_args[] = {
		"--no-huge",
		"-m", RTE_STR(DPM_TEST_MEMORY_MB),
		"--no-shconf",
		NULL,
	};
	static const char *const socketmem_args[] = {
		"--in-memory",
		"--socket-mem=" RTE_STR(DPM_TEST_SOCKET_LIMIT_MB),
		"--socket-limit=" RTE_STR(DPM_TEST_SOCKET_LIMIT_MB),
		NULL,
	};
	/* Legacy memory refuses --in-memory: a prefix of our own, and hugepage
	 * files unlinked once mapped, leave nothing behind a killed test. */
	static char legacy_prefix[48];
	static const char *legacy_args[] = {
		"--legacy-mem",
		"-m", RTE_STR(DPM_TEST_MEMORY_MB),
		"--huge-unlink",
		"--no-shconf",
		"--no-telemetry",          /* its socket would keep the directory */
		legacy_prefix,
		NULL,
	};
	static const char *const *const mode_args[] = {
		[DPM_TEST_EAL_NOHUGE] = nohuge_args,
		[DPM_TEST_EAL_HUGE] = huge_args,
		[DPM_TEST_EAL_SOCKETMEM] = socketmem_args,
		[DPM_TEST_EAL_LEGACY] = legacy_args,
	};
	static const char *const common_args[] = {
		"--no-pci",
		"--lcores=(0-7)@(0-1)",
		"--log-level=lib.eal:error",
		"--log-level=lib.telemetry:error",
		NULL,
	};
	const char *const *lists[] = {
		common_args,
		mode_args[dpm_test_eal_mode()],
		extra,
	};

	snprintf(legacy_prefix, sizeof(legacy_prefix), "--file-prefix=dpm_test_%d", (int)getpid());
	char *argv[64];
	int argc = 0;
	unsigned int i;

	argv[argc++] = (char *)(uintptr_t)"dpm_test";
	for (i = 0; i < RTE_DIM(lists); i++) {
		const char *const *arg;

		for (arg = lists[i]; arg != NULL && *arg != NULL; arg++) {
			if (argc >= (int)RTE_DIM(argv) - 1) {
				rte_errno = E2BIG;
				return -1;
			}
			argv[argc++] = (char *)(uintptr_t)*arg;
		}
	}
	argv[argc] = NULL;
	return rte_eal_init(argc, argv);
}

void
dpm_test_eal_init(void)
{
	int ret = dpm_test_eal_init_args(NULL);

	cr_assert(ret >= 0, "rte_eal_init (DPM_TEST_EAL mode %d) failed: %s",
		(int)dpm_test_eal_mode(), rte_strerror(rte_errno));
	cr_assert_eq(rte_eal_has_hugepages() != 0, dpm_test_eal_hugepages(),
		"EAL memory is not what DPM_TEST_EAL asks for");
	cr_assert_eq(rte_lcore_count(), DPM_TEST_LCORES,
		"EAL has %u lcores, the tests want %u",
		rte_lcore_count(), DPM_TEST_LCORES);
}

void
dpm_test_eal_fini(void)
{
	char runtime_dir[PATH_MAX];

	/* A per-pid file prefix (legacy mode) gets a runtime directory of its
	 * own, which EAL leaves behind: remove it once EAL is done with it. */
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (dpm_test_eal_mode() == DPM_TEST_EAL_LEGACY)
		rmdir(runtime_dir);
}

unsigned int
dpm_test_launch_workers(lcore_function_t *fn, void *arg, unsigned int n)
{
	unsigned int lcore_id;
	unsigned int launched = 0;

	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		if (launched == n)
			break;
		if (rte_eal_remote_launch(fn, arg, lcore_id) == 0)
			launched++;
	}
	return launched;
}

unsigned int
dpm_test_wait_workers(void)
{
	unsigned int lcore_id;
	unsigned int failed = 0;

	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		if (rte_eal_wait_lcore(lcore_id) != 0)
			failed++;
	}
	return failed;
}

unsigned int
dpm_test_run_on_all_lcores(lcore_function_t *fn, void *arg)
{
	unsigned int workers = rte_lcore_count() - 1;
	unsigned int failed = 0;

	if (dpm_test_launch_workers(fn, arg, workers) != workers)
		failed++;
	if (fn(arg) != 0)
		failed++;
	return failed + dpm_test_wait_workers();
}

struct dpm_test_pthread_call {
	int (*fn)(void *);
	void *arg;
	int ret;
};

static void *
dpm_test_pthread_main(void *opaque)
{
	struct dpm_test_pthread_call *call = opaque;

	call->ret = call->fn(call->arg);
	return NULL;
}

int
dpm_test_run_on_pthread(int (*fn)(void *), void *arg)
{
	struct dpm_test_pthread_call call = { .fn = fn, .arg = arg, .ret = -1 };
	pthread_t thread;

	if (pthread_create(&thread, NULL, dpm_test_pthread_main, &call) != 0)
		return -1;
	pthread_join(thread, NULL);
	return call.ret;
}

/* The pattern byte at offset off: seed and offset mixed, never constant. */
static inline uint8_t
dpm_test_pattern_byte(uint64_t seed, size_t off)
{
	uint64_t x = (seed ^ ((uint64_t)off * UINT64_C(0xc2b2ae3d27d4eb4f))) *
		UINT64_C(0x9e3779b97f4a7c15);

	return (uint8_t)((x >> 56) ^ (x >> 32));
}

void
dpm_test_fill(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = dpm_test_pattern_byte(seed, i);
}

size_t
dpm_test_check(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] != dpm_test_pattern_byte(seed, i))
			return i;
	}
	return SIZE_MAX;
}

size_t
dpm_test_first_nonzero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] != 0)
			return i;
	}
	return SIZE_MAX;
}

static void
dpm_test_count_memzone(const struct rte_memzone *mz, void *arg)
{
	unsigned int *count = arg;

	RTE_SET_USED(mz);
	(*count)++;
}

unsigned int
dpm_test_memzone_walk_count(void)
{
	unsigned int count = 0;

	rte_memzone_walk(dpm_test_count_memzone, &count);
	return count;
}
