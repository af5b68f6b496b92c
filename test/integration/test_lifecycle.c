/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Initialisation and shutdown: nothing works before rte_eal_init(),
 * dpm_init() applies a configuration once, dpm_fini() gives every memzone
 * back, and the library starts again after it.
 */

#include <errno.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

/* No .init fixture: these tests run without EAL. */
TestSuite(no_eal);
DPM_TEST_SUITE(lifecycle);

#define assert_no_config(call_fails) do { \
	rte_errno = 0; \
	cr_assert(call_fails, "%s did not fail", #call_fails); \
	cr_assert_eq(rte_errno, E_RTE_NO_CONFIG, "%s: rte_errno %d, want E_RTE_NO_CONFIG", \
		#call_fails, rte_errno); \
} while (0)

Test(no_eal, init_before_eal_init_fails_with_no_config)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	assert_no_config(dpm_init(&cfg) == -1);
	assert_no_config(dpm_init(NULL) == -1);
}

Test(no_eal, allocation_before_eal_init_fails_with_no_config)
{
	void *ptrs[4];

	assert_no_config(dpm_malloc(64) == NULL);
	assert_no_config(dpm_zmalloc(64) == NULL);
	assert_no_config(dpm_calloc(2, 32) == NULL);
	assert_no_config(dpm_realloc(NULL, 64) == NULL);
	assert_no_config(dpm_aligned_alloc(64, 64) == NULL);
	assert_no_config(dpm_malloc_socket(64, 0) == NULL);
	assert_no_config(dpm_zmalloc_socket(64, 0) == NULL);
	assert_no_config(dpm_aligned_alloc_socket(64, 64, 0) == NULL);
	assert_no_config(dpm_malloc_bulk(ptrs, 4, 64) == 0);
}

Test(no_eal, statistics_before_eal_init_fail_with_no_config)
{
	struct dpm_socket_stats ss;
	struct dpm_class_stats cs;
	struct dpm_lcore_stats ls;

	assert_no_config(dpm_stats_socket(0, &ss) == -1);
	assert_no_config(dpm_stats_class(0, 0, &cs) == -1);
	assert_no_config(dpm_stats_lcore(0, &ls) == -1);
	assert_no_config(dpm_stats_cross_socket(0, 0) == 0);
	assert_no_config(dpm_stats_fallback(0, 0) == 0);
	cr_assert_eq(dpm_memzone_count(), 0);
}

Test(no_eal, trim_before_eal_init_fails_with_no_config)
{
	assert_no_config(dpm_trim() == 0);
	assert_no_config(dpm_trim_socket(0) == 0);
}

Test(no_eal, pointer_queries_before_eal_init_fail_with_no_config)
{
	uint64_t word = 0;

	assert_no_config(dpm_usable_size(&word) == 0);
	assert_no_config(dpm_socket_of(&word) == -1);
	assert_no_config(dpm_virt2iova(&word) == RTE_BAD_IOVA);
	cr_assert_not(dpm_owns(&word));
}

Test(lifecycle, init_twice_fails_with_ealready)
{
	cr_assert_eq(dpm_init(NULL), 0, "dpm_init: %s", rte_strerror(rte_errno));
	rte_errno = 0;
	cr_assert_eq(dpm_init(NULL), -1);
	cr_assert_eq(rte_errno, EALREADY);
}

Test(lifecycle, init_after_the_first_allocation_fails_with_ealready)
{
	struct dpm_config cfg;
	void *p = dpm_malloc(64);

	cr_assert_not_null(p);
	dpm_config_defaults(&cfg);
	rte_errno = 0;
	cr_assert_eq(dpm_init(&cfg), -1);
	cr_assert_eq(rte_errno, EALREADY);
	dpm_free(p);
}

Test(lifecycle, init_rejects_an_invalid_configuration_with_einval)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.zone_source = (enum dpm_zone_source)42;
	rte_errno = 0;
	cr_assert_eq(dpm_init(&cfg), -1);
	cr_assert_eq(rte_errno, EINVAL);

	dpm_config_defaults(&cfg);
	cfg.exhaust_policy = (enum dpm_exhaust_policy)42;
	rte_errno = 0;
	cr_assert_eq(dpm_init(&cfg), -1);
	cr_assert_eq(rte_errno, EINVAL);

	/* nothing was applied: a valid configuration is still accepted */
	dpm_config_defaults(&cfg);
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
}

Test(lifecycle, init_rejects_a_tcache_large_budget_above_its_maximum_with_einval)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.tcache_large_budget = DPM_TCACHE_LARGE_BUDGET_MAX + 1;
	rte_errno = 0;
	cr_assert_eq(dpm_init(&cfg), -1);
	cr_assert_eq(rte_errno, EINVAL);

	/* the maximum itself, and 0 (one object at a time), are accepted */
	cfg.tcache_large_budget = DPM_TCACHE_LARGE_BUDGET_MAX;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
	dpm_fini();
	cfg.tcache_large_budget = 0;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
}

Test(lifecycle, fini_gives_every_memzone_back_to_dpdk)
{
	unsigned int before = dpm_test_memzone_walk_count();
	void *p[8];
	unsigned int i;

	for (i = 0; i < RTE_DIM(p); i++) {
		p[i] = dpm_malloc((size_t)1 << (4 + 3 * i));
		cr_assert_not_null(p[i]);
	}
	cr_assert_gt(dpm_memzone_count(), 0);
	cr_assert_gt(dpm_test_memzone_walk_count(), before);
	dpm_fini();
	cr_assert_eq(dpm_memzone_count(), 0);
	cr_assert_eq(dpm_test_memzone_walk_count(), before,
		"%u memzones before dpmalloc, %u after dpm_fini",
		before, dpm_test_memzone_walk_count());
}

Test(lifecycle, use_after_fini_initialises_again)
{
	void *p = dpm_malloc(1000);

	cr_assert_not_null(p);
	dpm_fini();
	p = dpm_malloc(1000);
	cr_assert_not_null(p, "malloc after fini: %s", rte_strerror(rte_errno));
	cr_assert(dpm_owns(p));
	dpm_test_fill(p, 1000, 1);
	cr_assert_eq(dpm_test_check(p, 1000, 1), SIZE_MAX);
	cr_assert_gt(dpm_memzone_count(), 0);
	dpm_free(p);
}

/* Statistics and trims never initialise the library: a telemetry poll or
 * a periodic trim after dpm_fini() finds it down (ENODEV) and leaves it
 * so (a trim brought it back: found by an audit of the API). */
Test(lifecycle, statistics_and_trims_after_fini_fail_with_enodev_and_bring_nothing_back)
{
	struct dpm_socket_stats ss;
	void *p = dpm_malloc(1000);

	cr_assert_not_null(p);
	dpm_free(p);
	dpm_fini();
	rte_errno = 0;
	cr_assert_eq(dpm_trim(), 0);
	cr_assert_eq(rte_errno, ENODEV);
	rte_errno = 0;
	cr_assert_eq(dpm_trim_socket(0), 0);
	cr_assert_eq(rte_errno, ENODEV);
	rte_errno = 0;
	cr_assert_eq(dpm_stats_cross_socket(0, 0), 0);
	cr_assert_eq(rte_errno, ENODEV);
	rte_errno = 0;
	cr_assert_eq(dpm_stats_fallback(0, 0), 0);
	cr_assert_eq(rte_errno, ENODEV);
	/* still down */
	cr_assert_eq(dpm_stats_socket(0, &ss), -1);
	cr_assert_eq(rte_errno, ENODEV);
	cr_assert_eq(dpm_memzone_count(), 0);
}

Test(lifecycle, init_after_fini_applies_the_new_configuration)
{
	struct dpm_config cfg;
	struct dpm_socket_stats stats;
	int socket = (int)rte_socket_id();
	void *p;

	dpm_free(dpm_malloc(100));
	dpm_fini();

	dpm_config_defaults(&cfg);
	cfg.socket_limit[socket] = 128 * ITEST_MIB;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init after fini: %s", rte_strerror(rte_errno));
	rte_errno = 0;
	p = dpm_malloc(256 * ITEST_MIB);
	cr_assert_null(p, "256 MiB allocated under a 128 MiB socket limit");
	cr_assert_eq(rte_errno, ENOMEM);
	cr_assert_eq(dpm_stats_socket(socket, &stats), 0);
	cr_assert_leq(stats.bytes_reserved, 128 * ITEST_MIB);
}

Test(lifecycle, fini_then_init_twice_fails_with_ealready)
{
	dpm_free(dpm_malloc(100));
	dpm_fini();
	cr_assert_eq(dpm_init(NULL), 0);
	rte_errno = 0;
	cr_assert_eq(dpm_init(NULL), -1);
	cr_assert_eq(rte_errno, EALREADY);
}
