/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpmalloc authors
 */

/* Size classes and run geometry, checked against their definitions. */

#include <criterion/criterion.h>

#include "arena.h"
#include "bitmap.h"
#include "size_class.h"

static void boot(void)
{
	arena_boot();
}

TestSuite(size_class, .init = boot);

Test(size_class, lookup_and_compute_agree_for_every_size_up_to_64k)
{
	for (size_t size = 0; size <= 65536; size++) {
		unsigned int cls = sc_size2class(size);

		cr_assert_eq(cls, sc_size2class_compute(size), "size %zu", size);
		if (size <= SC_SMALL_MAX)
			cr_assert_eq(sc_size2class_lookup(size), cls, "size %zu", size);
		/* The class holds the size, and the class below does not. */
		cr_assert_geq(sc_class2size(cls), size, "size %zu", size);
		if (cls > 0)
			cr_assert_lt(sc_class2size(cls - 1), size, "size %zu", size);
	}
}

Test(size_class, class_sizes_round_trip_and_match_the_formula)
{
	for (unsigned int cls = 0; cls < sc_nclasses; cls++) {
		size_t size = sc_class2size(cls);

		cr_assert_eq(size, sc_class2size_compute(cls), "class %u", cls);
		cr_assert_eq(sc_size2class(size), cls, "class %u size %zu", cls, size);
		cr_assert_eq(size % SC_QUANTUM, 0);
		if (cls >= SC_NBINS)
			cr_assert_eq(size % DPM_PAGE, 0, "large class %u not page-multiple", cls);
	}
}

Test(size_class, four_classes_per_doubling_bound_internal_fragmentation)
{
	for (size_t size = 129; size <= sc_large_max; size += 7) {
		size_t csize = sc_class2size(sc_size2class(size));

		/* waste / class size < 20% (worst: 2^x + 1 -> 2^x + 2^(x-2)) */
		cr_assert_lt((csize - size) * 5, csize, "size %zu -> %zu", size, csize);
	}
}

Test(size_class, small_classes_end_at_14k_and_large_classes_fit_a_chunk)
{
	cr_assert_eq(sc_class2size(SC_NBINS - 1), SC_SMALL_MAX);
	cr_assert_eq(sc_class2size(SC_NBINS), 16384);
	cr_assert_leq(sc_large_max, arena_usable_pages * DPM_PAGE);
	/* the next class would not fit */
	cr_assert_gt(sc_class2size_compute(sc_nclasses), arena_usable_pages * DPM_PAGE);
}

Test(size_class, every_run_geometry_has_no_tail_waste_and_fits_a_chunk)
{
	for (unsigned int b = 0; b < SC_NBINS; b++) {
		const struct bin_info *bi = &sc_bin_info[b];

		cr_assert_eq(bi->reg_size, sc_class2size(b));
		cr_assert_eq((size_t)bi->nregs * bi->reg_size, bi->run_size, "bin %u wastes a tail", b);
		cr_assert_eq((size_t)bi->run_pages * DPM_PAGE, bi->run_size);
		cr_assert_leq(bi->nregs, BITMAP_MAXBITS, "bin %u", b);
		cr_assert_geq(bi->nregs, 2, "bin %u", b);
		cr_assert_leq(bi->run_pages, arena_usable_pages, "bin %u", b);
	}
}

Test(size_class, chunk_header_is_the_fixed_point_of_its_own_size)
{
	size_t hdr = offsetof(struct arena_chunk, runs) + arena_usable_pages * sizeof(struct run);

	cr_assert_leq(hdr, arena_map_bias * DPM_PAGE, "header overflows its pages");
	/* one page fewer would not hold the header for one page more */
	cr_assert_gt(offsetof(struct arena_chunk, runs) + (arena_usable_pages + 1) * sizeof(struct run),
		     (arena_map_bias - 1) * DPM_PAGE);
	cr_assert_eq(arena_map_bias + arena_usable_pages, DPM_CHUNK_NPAGES);
}

Test(size_class, sizes_beyond_the_largest_class_are_huge_not_a_class_past_the_table)
{
	const size_t beyond[] = { sc_large_max + 1, sc_large_max + DPM_PAGE - 1,
		sc_large_max + DPM_PAGE, DPM_CHUNK, SC_SIZE_MAX, SIZE_MAX };

	for (unsigned int i = 0; i < RTE_DIM(beyond); i++)
		cr_assert_eq(sc_size2class(beyond[i]), SC_CLASS_HUGE, "size %zu", beyond[i]);
	cr_assert_eq(sc_size2class(sc_large_max), sc_nclasses - 1);
}

/* What every decision of sc_classify() must satisfy, for one request. */
static void check_request(size_t size, size_t align)
{
	struct sc_request req;

	sc_classify(size, align, &req);
	if (size > SC_SIZE_MAX || align > SC_SIZE_MAX) {
		cr_assert_eq(req.kind, SC_KIND_TOO_BIG, "size %zu align %zu", size, align);
		return;
	}
	cr_assert_neq(req.kind, SC_KIND_TOO_BIG, "size %zu align %zu", size, align);
	cr_assert_geq(req.usize, RTE_MAX(size, (size_t)1), "size %zu align %zu", size, align);
	cr_assert_geq(req.align, RTE_MAX(align, SC_QUANTUM));
	switch (req.kind) {
	case SC_KIND_SMALL:
		cr_assert_lt(req.cls, SC_NBINS);
		cr_assert_eq(req.usize, sc_class2size(req.cls));
		cr_assert_leq(align, DPM_PAGE);
		cr_assert_eq(req.usize % RTE_MAX(align, SC_QUANTUM), 0,
			"size %zu align %zu: class %zu", size, align, req.usize);
		break;
	case SC_KIND_LARGE:
		cr_assert(req.cls >= SC_NBINS && req.cls < sc_nclasses);
		cr_assert_eq(req.usize, sc_class2size(req.cls));
		cr_assert_leq(align, DPM_PAGE);
		break;
	case SC_KIND_LARGE_ALIGNED:
		cr_assert(req.cls >= SC_NBINS && req.cls < sc_nclasses);
		cr_assert_eq(req.usize, sc_class2size(req.cls));
		cr_assert(align > DPM_PAGE && align < DPM_CHUNK);
		/* the run it is cut from fits a chunk */
		cr_assert_leq(req.usize + align - DPM_PAGE, arena_usable_pages << DPM_LG_PAGE,
			"size %zu align %zu", size, align);
		break;
	case SC_KIND_HUGE:
		cr_assert_eq(req.cls, SC_CLASS_HUGE);
		cr_assert_eq(req.usize % DPM_CHUNK, 0);
		cr_assert_lt(req.usize - RTE_MAX(size, (size_t)1), DPM_CHUNK);
		cr_assert_eq(req.align, RTE_MAX(align, DPM_CHUNK));
		/* huge only where no class can serve */
		if (align <= DPM_PAGE)
			cr_assert_gt(size, sc_large_max, "size %zu align %zu", size, align);
		break;
	default:
		cr_assert_fail("kind %d", req.kind);
	}
}

Test(size_class, classify_gives_a_kind_that_holds_the_rounded_size_at_every_alignment)
{
	for (size_t align = 1; align <= 8 * DPM_CHUNK; align *= 2) {
		for (unsigned int cls = 0; cls < sc_nclasses; cls++) {
			size_t c = sc_class2size(cls);

			check_request(c - 1, align);
			check_request(c, align);
			check_request(c + 1, align);
		}
		for (size_t size = 0; size <= 4 * DPM_CHUNK + DPM_PAGE; size += 509)
			check_request(size, align);
		for (size_t size = sc_large_max - DPM_PAGE; size <= sc_large_max + DPM_PAGE; size++)
			check_request(size, align);
		check_request(SC_SIZE_MAX, align);
		check_request(SC_SIZE_MAX + 1, align);
	}
	check_request(64, SC_SIZE_MAX * 2);
}
