#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Instructions per object that dpm_free_bulk() takes with its pointers in
# page order and in random orders (test/perf/bulk_order.c), counted under
# callgrind: deterministic, where timings on a shared machine could not
# tell a few instructions apart. One line per size and order:
#   page   64 objects in allocation order
#   few    the same 64 in a random order (over their 1-4 pages)
#   many   64 picked from 16 times as many, reshuffled every call
# Usage: devtools/bulk-order-insns.sh [build dir] [sizes...]
#        (default: build, 16 64 96 128 192 256 512 1024)
# Needs valgrind. Runs without hugepages (--no-huge), about 5 s a line.

set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
shift || true
sizes=${*:-16 64 96 128 192 256 512 1024}
bin=$build/test/perf/bulk_order
[ -x "$bin" ] || { echo "bulk-order-insns: no $bin (ninja -C $build test/perf/bulk_order)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "bulk-order-insns: valgrind is not installed" >&2; exit 1; }

iters=100
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for size in $sizes; do
	for spec in "1 page" "1 few" "16 many"; do
		set -- $spec
		ITERS=$iters valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" \
			--no-pci --no-huge -m 512 -l 0 --file-prefix=bulkorder$$ \
			--log-level=lib.eal:error -- "$size" "$1" "$2" >/dev/null 2>&1
		n=$(callgrind_annotate "$out" 2>/dev/null | awk '/dpm_free_bulk[ \[]/ && !done { gsub(",", "", $1); print $1; done = 1 }')
		[ -n "$n" ] || { echo "bulk-order-insns: $size B $2: no count (did bulk_order run under valgrind?)" >&2; exit 1; }
		awk -v n="$n" -v it=$iters -v s="$size" -v o="$2" 'BEGIN {
			printf "%5s B %-5s %6.1f instructions per object in dpm_free_bulk\n", s, o, n / (7 * it * 64) }'
	done
done
