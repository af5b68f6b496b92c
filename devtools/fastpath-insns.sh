#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Counts the instructions of the fast paths in a release build: from a
# function's entry to its first `ret`, which is the hit path because the
# misses are laid out after it (likely/unlikely). Two views:
#   - the exported functions of libdpmalloc.so (what dlsym/function-pointer
#     callers run);
#   - the inline fast paths of dpmalloc.h as compiled into a caller, with a
#     constant size (64) and with a size known only at run time.
# Usage: devtools/fastpath-insns.sh [build dir]   (default: build)

set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
lib=$(ls "$build"/lib/dpmalloc/libdpmalloc.so* 2>/dev/null | head -1)
[ -n "$lib" ] && [ -f "$lib" ] || { echo "fastpath-insns: no libdpmalloc.so in $build (build first)" >&2; exit 1; }

# Instructions from <fn>: to its first ret, in an object's disassembly.
count() {
	objdump -d --no-show-raw-insn "$1" | awk -v fn="<$2>:" '
		index($0, fn) { on = 1; n = 0; next }
		on && /^[[:space:]]+[0-9a-f]+:/ { n++; if ($0 ~ /\tret/) { print n; exit } }
		on && /^$/ { on = 0 }'
}

echo "exported functions ($lib):"
for f in dpm_malloc dpm_free dpm_free_sized; do
	printf '  %-16s %s instructions to the first ret\n' "$f" "$(count "$lib" "$f")"
done

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
cat > "$probe/probe.c" <<'C'
#include <dpmalloc.h>
__attribute__((noinline)) void *probe_malloc64(void) { return dpm_malloc(64); }
__attribute__((noinline)) void *probe_malloc_var(size_t n) { return dpm_malloc(n); }
__attribute__((noinline)) void probe_free(void *p) { dpm_free(p); }
__attribute__((noinline)) void probe_free_sized64(void *p) { dpm_free_sized(p, 64); }
C
cc -O3 -march=native -std=gnu11 -c "$probe/probe.c" -o "$probe/probe.o" \
	-I"$repo/lib/dpmalloc" -I"$build/lib/dpmalloc" $(pkg-config --cflags libdpdk)
echo "inline fast paths compiled into a caller (gcc -O3 -march=native):"
for f in probe_malloc64 probe_malloc_var probe_free probe_free_sized64; do
	printf '  %-20s %s instructions to the first ret\n' "$f" "$(count "$probe/probe.o" "$f")"
done
