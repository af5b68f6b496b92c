/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

#ifndef DPM_TEST_H
#define DPM_TEST_H

/**
 * @file
 * Test harness: EAL set-up for Criterion tests, lcore launching, and byte
 * patterns.
 *
 * Criterion 2.4 runs every Test in a child process of its own, so EAL is
 * initialised inside each test, by the suite's .init fixture, and cleaned
 * up by its .fini fixture:
 *
 *     DPM_TEST_SUITE(api);
 *     Test(api, malloc_of_zero_returns_a_unique_object) { ... }
 *
 * The EAL arguments depend on the environment variable DPM_TEST_EAL:
 *   huge    dynamic memory on hugepages, in memory only, capped at
 *           DPM_TEST_SOCKET_LIMIT_MB per socket so that two test processes
 *           running side by side cannot take all of 2 GiB of hugepages;
 *   nohuge  (the default) 4 KiB pages, a fixed heap of DPM_TEST_MEMORY_MB.
 * Both give eight lcores on two cores: --lcores=(0-7)@(0-1).
 *
 * This harness does not depend on dpmalloc itself, so any test (unit,
 * integration, driver) may link it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_launch.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Hugepage memory a huge-mode test process may use, per socket, in MiB. */
#define DPM_TEST_SOCKET_LIMIT_MB 768
/** Memory of a nohuge-mode test process (-m), in MiB. */
#define DPM_TEST_MEMORY_MB 768
/** Lcores every test process has (main lcore 0 and workers 1..7). */
#define DPM_TEST_LCORES 8

/** The memory mode EAL runs in (DPDK's memory models, which reserve,
 * align and free memzones differently). */
enum dpm_test_eal_mode {
	DPM_TEST_EAL_NOHUGE = 0,    /**< --no-huge -m DPM_TEST_MEMORY_MB */
	DPM_TEST_EAL_HUGE = 1,      /**< hugepages mapped on demand, --socket-limit */
	DPM_TEST_EAL_SOCKETMEM = 2, /**< hugepages pinned at start-up (--socket-mem) */
	DPM_TEST_EAL_LEGACY = 3,    /**< --legacy-mem: all memory mapped at start-up */
};

/** The mode chosen by DPM_TEST_EAL: huge, socketmem, legacy or nohuge (the
 * default). */
enum dpm_test_eal_mode dpm_test_eal_mode(void);

/** Whether the mode runs on hugepages (every mode but nohuge). */
bool dpm_test_eal_hugepages(void);

/**
 * Tell whether hugepage-mode tests can run here: DPM_TEST_MODES (when set,
 * a space- or comma-separated list such as "huge nohuge") names "huge", a
 * hugetlbfs is mounted and at least 512 MiB of 2 MiB hugepages exist.
 */
bool dpm_test_hugepages_available(void);

/**
 * Initialise EAL for the current mode, with extra arguments appended.
 *
 * @param extra
 *   NULL-terminated list of extra EAL arguments, or NULL.
 * @return
 *   rte_eal_init()'s result: >= 0 on success, -1 with rte_errno set.
 */
int dpm_test_eal_init_args(const char *const extra[]);

/**
 * Initialise EAL for the current mode; a failure fails the test.
 * Meant as a TestSuite .init fixture.
 */
void dpm_test_eal_init(void);

/** Clean EAL up (rte_eal_cleanup()). Meant as a TestSuite .fini fixture. */
void dpm_test_eal_fini(void);

/** A Criterion suite whose tests run with EAL initialised. */
#define DPM_TEST_SUITE(name) \
	TestSuite(name, .init = dpm_test_eal_init, .fini = dpm_test_eal_fini)

/**
 * Launch fn(arg) on the first n worker lcores (not the main lcore).
 *
 * @return
 *   The number of workers launched (less than n when EAL has fewer).
 */
unsigned int dpm_test_launch_workers(lcore_function_t *fn, void *arg,
		unsigned int n);

/**
 * Wait for every worker lcore.
 *
 * @return
 *   The number of workers whose function returned non-zero.
 */
unsigned int dpm_test_wait_workers(void);

/**
 * Run fn(arg) on every lcore, workers and main alike, and wait for all.
 *
 * @return
 *   The number of lcores whose function returned non-zero.
 */
unsigned int dpm_test_run_on_all_lcores(lcore_function_t *fn, void *arg);

/**
 * Run fn(arg) on a plain pthread (not an lcore: rte_lcore_id() is
 * LCORE_ID_ANY there) and wait for it.
 *
 * @return
 *   What fn returned, or -1 if the thread could not be created.
 */
int dpm_test_run_on_pthread(int (*fn)(void *), void *arg);

/**
 * Fill n bytes at p with a pattern derived from seed and the offset.
 */
void dpm_test_fill(void *p, size_t n, uint64_t seed);

/**
 * Check n bytes at p against the pattern dpm_test_fill() wrote.
 *
 * @return
 *   The offset of the first byte that differs, or SIZE_MAX if none does.
 */
size_t dpm_test_check(const void *p, size_t n, uint64_t seed);

/**
 * @return
 *   The offset of the first non-zero byte of n bytes at p, or SIZE_MAX.
 */
size_t dpm_test_first_nonzero(const void *p, size_t n);

/** Number of memzones that exist in the process (rte_memzone_walk()). */
unsigned int dpm_test_memzone_walk_count(void);

/** A small xorshift generator, one state per user. */
static inline uint64_t
dpm_test_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

#ifdef __cplusplus
}
#endif

#endif /* DPM_TEST_H */
