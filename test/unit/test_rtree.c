/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/* Radix tree: chunk address -> descriptor. Leaves come from base, which
 * here takes anonymous memory, so no EAL is needed. */

#include <pthread.h>

#include <criterion/criterion.h>

#include "arena.h"
#include "base.h"
#include "rtree.h"
#include "zone.h"

static void setup(void)
{
	zone_select(&zone_anon_ops);
	rtree_reset();
}

static void teardown(void)
{
	rtree_reset();
	base_fini();
}

TestSuite(rtree, .init = setup, .fini = teardown);

static struct chunk_desc descs[4096];

Test(rtree, lookup_finds_every_address_inside_a_mapped_chunk)
{
	uintptr_t chunk = (uintptr_t)1 << 40;

	cr_assert_eq(rtree_set((void *)chunk, 1, &descs[0], 0), 0);
	cr_assert_eq(rtree_lookup((void *)chunk), &descs[0]);
	cr_assert_eq(rtree_lookup((void *)(chunk + 12345)), &descs[0]);
	cr_assert_eq(rtree_lookup((void *)(chunk + DPM_CHUNK - 1)), &descs[0]);
	cr_assert_null(rtree_lookup((void *)(chunk + DPM_CHUNK)));
	cr_assert_null(rtree_lookup((void *)(chunk - 1)));
}

/*
 * Arena chunks are entered as their base plus their arena's tag: the
 * inline free's one compare (entry == chunk + its own arena's tag) must
 * hold for the chunk's own arena only, for every socket and arena index
 * the tag can carry, and never for a tcache without an arena; every other
 * reader still finds the descriptor (the chunk's base) and "an arena
 * chunk" (dpm_fp_entry_arena()) at every address inside it.
 */
Test(rtree, arena_tags_name_one_arena_and_decode_to_the_chunk)
{
	const int sockets[] = { 0, 1, RTE_MAX_NUMA_NODES - 1 };
	const unsigned int indexes[] = { 0, 1, 2, RTE_MAX_LCORE - 1 };
	uintptr_t chunk = (uintptr_t)5 << 36;

	for (unsigned int s = 0; s < RTE_DIM(sockets); s++) {
		for (unsigned int i = 0; i < RTE_DIM(indexes); i++) {
			uintptr_t tag = rtree_arena_tag(sockets[s], indexes[i]);
			uintptr_t c = chunk + (uintptr_t)(s * RTE_DIM(indexes) + i) * DPM_CHUNK;

			cr_assert(tag & DPM_FP_RTREE_ARENA);
			cr_assert_lt(tag, DPM_CHUNK);
			cr_assert_eq(rtree_set_arena((void *)c, tag, 0), 0);
			for (uintptr_t off = 0; off < DPM_CHUNK; off += DPM_CHUNK / 8 - 1) {
				const void *p = (const void *)(c + off);
				uintptr_t e = dpm_fp_rtree_entry(p);

				cr_assert_eq(rtree_lookup(p), (struct chunk_desc *)((uintptr_t)c + DPM_FP_DESC_OFFSET));
				cr_assert_eq(e, dpm_fp_chunk_base(p) + tag);
				cr_assert(dpm_fp_entry_arena(e, dpm_fp_chunk_base(p)));
				cr_assert_neq(e, dpm_fp_chunk_base(p) + DPM_FP_RTREE_TAG_NONE);
				/* Any other arena's tag misses. */
				for (unsigned int s2 = 0; s2 < RTE_DIM(sockets); s2++)
					for (unsigned int i2 = 0; i2 < RTE_DIM(indexes); i2++)
						if (s2 != s || i2 != i)
							cr_assert_neq(e, dpm_fp_chunk_base(p) +
									 rtree_arena_tag(sockets[s2], indexes[i2]));
			}
		}
	}
	/* A huge object's entry (a descriptor) is not an arena chunk, and its
	 * neighbours' entries are not its. */
	cr_assert_eq(rtree_set((void *)(chunk - DPM_CHUNK), 1, &descs[2], 0), 0);
	cr_assert_not(dpm_fp_entry_arena(dpm_fp_rtree_entry((void *)(chunk - 1)), chunk - DPM_CHUNK));
	cr_assert_not(dpm_fp_entry_arena(dpm_fp_rtree_entry((void *)chunk), chunk - DPM_CHUNK));
	cr_assert_eq(rtree_lookup((void *)(chunk - 1)), &descs[2]);
}

Test(rtree, removal_unmaps_and_unmapped_keys_read_null)
{
	uintptr_t chunk = (uintptr_t)3 << 33;

	cr_assert_null(rtree_lookup(NULL));
	cr_assert_null(rtree_lookup((void *)chunk));         /* no leaf yet */
	cr_assert_eq(rtree_set((void *)chunk, 4, &descs[1], 0), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(rtree_lookup((void *)(chunk + i * DPM_CHUNK)), &descs[1]);
	cr_assert_eq(rtree_set((void *)chunk, 4, NULL, 0), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_null(rtree_lookup((void *)(chunk + i * DPM_CHUNK)));
}

Test(rtree, addresses_beyond_48_bits_are_never_ours)
{
	cr_assert_null(rtree_lookup((void *)((uintptr_t)1 << 48)));
	cr_assert_null(rtree_lookup((void *)UINTPTR_MAX));
	cr_assert_eq(rtree_set((void *)((uintptr_t)1 << 48), 1, &descs[0], 0), -EINVAL);
}

Test(rtree, many_chunks_across_many_leaves_map_independently)
{
	/* Spread keys so that they land in different leaves and slots. */
	for (size_t i = 0; i < RTE_DIM(descs); i++) {
		uintptr_t a = ((uintptr_t)(i * 7919 + 1) << DPM_LG_CHUNK) & (((uintptr_t)1 << 47) - 1);

		cr_assert_eq(rtree_set((void *)a, 1, &descs[i], 0), 0);
	}
	for (size_t i = 0; i < RTE_DIM(descs); i++) {
		uintptr_t a = ((uintptr_t)(i * 7919 + 1) << DPM_LG_CHUNK) & (((uintptr_t)1 << 47) - 1);

		cr_assert_eq(rtree_lookup((void *)(a + 64)), &descs[i], "key %zu", i);
	}
}

/* Readers run without locks while a writer publishes entries: a reader that
 * sees an entry must see the descriptor it points to complete. */
struct race {
	volatile bool stop;
	uint64_t seen;
	bool bad;
};

static void *reader(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		for (size_t i = 0; i < RTE_DIM(descs); i++) {
			struct chunk_desc *d = rtree_lookup((void *)(((uintptr_t)i + 4096) << DPM_LG_CHUNK));

			if (d != NULL) {
				r->seen++;
				if (d->addr != (void *)(((uintptr_t)i + 4096) << DPM_LG_CHUNK))
					r->bad = true;
			}
		}
	}
	return NULL;
}

Test(rtree, lock_free_readers_see_complete_descriptors_while_a_writer_inserts)
{
	struct race r = {0};
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, reader, &r), 0);
	for (size_t i = 0; i < RTE_DIM(descs); i++) {
		descs[i].addr = (void *)(((uintptr_t)i + 4096) << DPM_LG_CHUNK);
		cr_assert_eq(rtree_set(descs[i].addr, 1, &descs[i], 0), 0);
	}
	r.stop = true;
	pthread_join(t, NULL);
	cr_assert_not(r.bad, "a reader saw an incomplete descriptor");
}
