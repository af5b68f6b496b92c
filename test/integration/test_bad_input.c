/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/*
 * Bad inputs get the answer dpmalloc.h documents: NULL, 0 or -1 with the
 * documented rte_errno, a log line, and no change to the allocator.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "dpmalloc.h"
#include "dpm_test.h"
#include "itest.h"

/* No .init fixture: these tests run without EAL. */
TestSuite(bad_input_no_eal);
DPM_TEST_SUITE(bad_input);

#define assert_errno(call_fails, err) do { \
	rte_errno = 0; \
	cr_assert(call_fails, "%s did not fail", #call_fails); \
	cr_assert_eq(rte_errno, (err), "%s: rte_errno %d, want %s (%d)", \
		#call_fails, rte_errno, #err, (err)); \
} while (0)

Test(bad_input_no_eal, realloc_of_a_pointer_before_eal_init_fails_with_no_config)
{
	uint64_t word = 0;

	assert_errno(dpm_realloc(&word, 64) == NULL, E_RTE_NO_CONFIG);
	assert_errno(dpm_realloc(&word, 0) == NULL, E_RTE_NO_CONFIG);
	cr_assert_eq(word, 0);
}

Test(bad_input_no_eal, free_bulk_before_eal_init_fails_with_no_config)
{
	uint64_t words[2] = { 0, 0 };
	void *ptrs[2] = { &words[0], &words[1] };

	rte_errno = 0;
	dpm_free_bulk(ptrs, 2);
	cr_assert_eq(rte_errno, E_RTE_NO_CONFIG, "rte_errno %d", rte_errno);
	rte_errno = 0;
	dpm_free(&words[0]);
	cr_assert_eq(rte_errno, E_RTE_NO_CONFIG, "rte_errno %d", rte_errno);
}

Test(bad_input, realloc_of_a_foreign_pointer_to_zero_fails_with_einval)
{
	uint64_t on_stack[4] = { 1, 2, 3, 4 };

	assert_errno(dpm_realloc(on_stack, 0) == NULL, EINVAL);
	cr_assert_eq(on_stack[3], 4);
}

Test(bad_input, realloc_of_a_live_object_to_zero_frees_it_with_errno_zero)
{
	void *p = dpm_malloc(64);
	struct dpm_socket_stats before, after;

	cr_assert_not_null(p);
	before = itest_stats_total();
	rte_errno = EBUSY;
	cr_assert_null(dpm_realloc(p, 0));
	cr_assert_eq(rte_errno, 0);
	dpm_tcache_flush();
	after = itest_stats_total();
	cr_assert_lt(after.bytes_allocated, before.bytes_allocated);
}

Test(bad_input, invalid_non_lcore_socket_is_refused_by_init_with_einval)
{
	struct dpm_config cfg;

	dpm_config_defaults(&cfg);
	cfg.non_lcore_socket = 1000;
	assert_errno(dpm_init(&cfg) == -1, EINVAL);
	cfg.non_lcore_socket = RTE_MAX_NUMA_NODES - 1;   /* valid id, no such socket */
	if (rte_socket_count() < RTE_MAX_NUMA_NODES)
		assert_errno(dpm_init(&cfg) == -1, EINVAL);
	cfg.non_lcore_socket = -7;
	assert_errno(dpm_init(&cfg) == -1, EINVAL);
	/* Nothing was applied: a valid configuration still goes in. */
	cfg.non_lcore_socket = SOCKET_ID_ANY;
	cr_assert_eq(dpm_init(&cfg), 0, "dpm_init: %s", rte_strerror(rte_errno));
}

Test(bad_input, socket_targeted_calls_refuse_unknown_sockets_with_einval)
{
	const int bad[] = { 1000, RTE_MAX_NUMA_NODES, -2, INT32_MIN };

	for (unsigned int i = 0; i < RTE_DIM(bad); i++) {
		int s = bad[i];
		struct dpm_socket_stats ss;
		struct dpm_class_stats cs;

		assert_errno(dpm_malloc_socket(64, s) == NULL, EINVAL);
		assert_errno(dpm_zmalloc_socket(64, s) == NULL, EINVAL);
		assert_errno(dpm_aligned_alloc_socket(64, 64, s) == NULL, EINVAL);
		assert_errno(dpm_trim_socket(s) == 0, EINVAL);
		assert_errno(dpm_stats_socket(s, &ss) == -1, EINVAL);
		assert_errno(dpm_stats_class(s, 0, &cs) == -1, EINVAL);
		assert_errno(dpm_placement_check_socket(s, NULL) == -1, EINVAL);
		assert_errno(dpm_stats_cross_socket(s, 0) == 0, EINVAL);
		assert_errno(dpm_stats_cross_socket(0, s) == 0, EINVAL);
		assert_errno(dpm_stats_fallback(s, 0) == 0, EINVAL);
	}
}

Test(bad_input, alignment_that_is_not_a_power_of_two_fails_with_einval)
{
	const size_t bad[] = { 0, 3, 24, 48, 4095, 4097, ((size_t)1 << 40) + 1, SIZE_MAX };

	for (unsigned int i = 0; i < RTE_DIM(bad); i++) {
		assert_errno(dpm_aligned_alloc(bad[i], 64) == NULL, EINVAL);
		assert_errno(dpm_aligned_alloc_socket(bad[i], 64, SOCKET_ID_ANY) == NULL, EINVAL);
	}
}

/* Not constants: the allocation attributes of dpmalloc.h would have the
 * compiler warn about the sizes these tests pass on purpose. */
static volatile size_t size_max = SIZE_MAX;

Test(bad_input, sizes_and_alignments_no_socket_can_hold_fail_with_e2big)
{
	void *p = dpm_malloc(64);

	assert_errno(dpm_malloc(size_max) == NULL, E2BIG);
	assert_errno(dpm_malloc(size_max / 2) == NULL, E2BIG);
	assert_errno(dpm_zmalloc(size_max - 4095) == NULL, E2BIG);
	assert_errno(dpm_calloc(size_max / 2, 3) == NULL, E2BIG);
	assert_errno(dpm_aligned_alloc((size_t)1 << 62, 64) == NULL, E2BIG);
	cr_assert_not_null(p);
	assert_errno(dpm_realloc(p, size_max) == NULL, E2BIG);
	cr_assert_eq(dpm_usable_size(p), 64, "the object was changed");
	dpm_free(p);
}

Test(bad_input, null_out_pointers_of_statistics_fail_with_einval)
{
	cr_assert_not_null(dpm_malloc(64));   /* initialise */
	assert_errno(dpm_stats_socket(0, NULL) == -1, EINVAL);
	assert_errno(dpm_stats_class(0, 0, NULL) == -1, EINVAL);
	assert_errno(dpm_stats_lcore(rte_lcore_id(), NULL) == -1, EINVAL);
	assert_errno(dpm_stats_class(0, dpm_class_count(), &(struct dpm_class_stats){0}) == -1,
		EINVAL);
	assert_errno(dpm_stats_lcore(RTE_MAX_LCORE, &(struct dpm_lcore_stats){0}) == -1, EINVAL);
}

Test(bad_input, bulk_calls_with_zero_null_or_huge_counts_answer_as_documented)
{
	void *ptrs[4] = { NULL, NULL, NULL, NULL };
	void **many;
	struct dpm_socket_stats before, after;

	assert_errno(dpm_malloc_bulk(ptrs, 0, 64) == 0, EINVAL);
	assert_errno(dpm_malloc_bulk(NULL, 4, 64) == 0, EINVAL);
	/* n objects of size bytes that no socket could ever hold together */
	many = calloc(1 << 20, sizeof(*many));
	cr_assert_not_null(many);
	before = itest_stats_total();
	assert_errno(dpm_malloc_bulk(many, 1 << 20, (size_t)1 << 40) == 0, E2BIG);
	cr_assert_null(many[0], "a failed bulk allocation wrote to the array");
	after = itest_stats_total();
	cr_assert_eq(after.nmalloc, before.nmalloc);
	free(many);
	/* Frees of nothing change nothing and say nothing. */
	rte_errno = 0;
	dpm_free_bulk(ptrs, 0);
	dpm_free_bulk(NULL, 4);
	dpm_free_bulk(ptrs, 4);   /* NULL entries are skipped */
	cr_assert_eq(rte_errno, 0);
}

Test(bad_input, free_bulk_of_foreign_pointers_refuses_each_with_einval)
{
	uint64_t words[3] = { 7, 8, 9 };
	void *p = dpm_malloc(64);
	void *ptrs[3] = { &words[0], p, &words[2] };
	struct dpm_socket_stats before, after;

	cr_assert_not_null(p);
	before = itest_stats_total();
	rte_errno = 0;
	dpm_free_bulk(ptrs, 3);
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(words[0], 7);
	cr_assert_eq(words[2], 9);
	dpm_tcache_flush();
	after = itest_stats_total();
	cr_assert_lt(after.bytes_allocated, before.bytes_allocated, "p was not freed");
}

Test(bad_input, config_defaults_of_null_does_not_crash)
{
	rte_errno = 0;
	dpm_config_defaults(NULL);
	cr_assert_eq(rte_errno, EINVAL);
}
