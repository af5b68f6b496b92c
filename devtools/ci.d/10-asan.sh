#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: the whole Criterion suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer (gcc; -Db_lundef=false because the sanitizer
# runtimes resolve symbols at load time), in build-asan/. Runs the nohuge
# suite; DPM_ASAN_MODES="nohuge huge" adds the huge one where setup.sh
# found hugepages (DPDK's hugepage memory works under ASan, but the mode
# takes ~100 s more). Any report fails the test it happened in: UBSan is
# told to halt, LeakSanitizer runs at every test process's exit.
# About 1.5 minutes here (build ~30 s, nohuge suite ~50 s).
#
# Run it alone:  DPM_CI_STAGES=10-asan bash devtools/test.sh
# or by hand:    meson setup build-asan -Db_sanitize=address,undefined \
#                    -Db_lundef=false -Dexamples=false
#                meson test -C build-asan --suite nohuge

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
build_dir=build-asan

wipe=()
[ -d "$build_dir" ] && wipe=(--wipe)   # an earlier setup stopped half-way
if [ ! -f "$build_dir/build.ninja" ] &&
   ! meson setup "${wipe[@]}" "$build_dir" -Db_sanitize=address,undefined \
	-Db_lundef=false -Dexamples=false >/dev/null; then
	echo "asan: meson setup failed"
	echo "0 passed, 1 failed"
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

suites=(--suite nohuge)
case " ${DPM_ASAN_MODES:-nohuge} " in
*" huge "*)
	case " ${DPM_TEST_MODES:-nohuge} " in
	*" huge "*) suites+=(--suite huge) ;;
	esac
	;;
esac

# devtools/test.sh builds $BUILD_DIR, runs the suites and counts every
# Criterion test; its last line is this stage's result line.
BUILD_DIR=$build_dir DPM_CI_STAGES=none DPM_TEST_DEBUG=0 \
	bash devtools/test.sh "${suites[@]}"
