#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: the junk-fill build (-Djunk=true: 0xa5 on allocation, 0x5a on
# free, every call through the hard paths), in build-junk/. Runs the tests
# that show it (use after free reads junk) and the ones that lean on the
# hard paths' checks (double frees, bad inputs, the tcache; tcache_churn's
# lcores catch junk written where memory already went back), nohuge mode.
# The ASan half of test_use_after_free runs in 10-asan. About 30 s here.
#
# Run it alone:  DPM_CI_STAGES=11-junk bash devtools/test.sh

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
build_dir=build-junk
tests=(integration-use_after_free integration-double_free integration-bad_input unit-tcache
	unit-tcache_churn)

wipe=()
[ -d "$build_dir" ] && wipe=(--wipe)   # an earlier setup stopped half-way
if [ ! -f "$build_dir/build.ninja" ] &&
   ! meson setup "${wipe[@]}" "$build_dir" -Djunk=true -Dexamples=false >/dev/null; then
	echo "junk: meson setup failed"
	echo "0 passed, 1 failed"
	exit 1
fi

# devtools/test.sh builds $BUILD_DIR, runs the named binaries and counts
# every Criterion test; its last line is this stage's result line.
BUILD_DIR=$build_dir DPM_CI_STAGES=none DPM_TEST_DEBUG=0 \
	bash devtools/test.sh --suite nohuge "${tests[@]}"
