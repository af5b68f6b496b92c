#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: the whole tree (library, driver, tests, benchmarks, examples)
# builds without a warning at warning_level=3 (-Wpedantic) with -Werror,
# with gcc and with clang. Ends with "N passed, N failed".

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
passed=0 failed=0 skipped=0

for compiler in gcc clang; do
	if ! command -v "$compiler" >/dev/null; then
		echo "warnings: $compiler is not installed"
		skipped=$((skipped + 1))
		continue
	fi
	dir=$repo/build-warnings-$compiler
	rm -rf "$dir"
	if CC=$compiler meson setup "$dir" -Dwarning_level=3 -Dwerror=true \
		>"$dir.log" 2>&1 && ninja -C "$dir" >>"$dir.log" 2>&1; then
		passed=$((passed + 1))
		echo "warnings: PASS $compiler -Dwarning_level=3 -Dwerror=true"
	else
		failed=$((failed + 1))
		echo "warnings: FAIL $compiler -Dwarning_level=3 -Dwerror=true"
		grep -E 'warning|error' "$dir.log" | head -n 20 | sed 's/^/    /'
	fi
done
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
