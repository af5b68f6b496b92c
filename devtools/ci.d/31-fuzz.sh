#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: the libFuzzer target test/fuzz/fuzz_api.c (clang-14,
# -fsanitize=fuzzer,address,undefined, build-fuzz/):
#   1. every committed input replayed, one test each: the seed corpus
#      (test/fuzz/corpus) and every crash found so far (test/fuzz/regressions);
#   2. one bounded fuzzing run from the seeds, DPM_FUZZ_SECONDS (default 60)
#      long: one test, failed by any crash, whose input is printed (base64)
#      and kept in build-fuzz/artifacts/ -- add it to test/fuzz/regressions/.
# About 2 minutes here (build ~40 s, replay ~10 s, fuzzing 60 s).
#
# Run it alone:   DPM_CI_STAGES=31-fuzz bash devtools/test.sh
# Fuzz longer:    build-fuzz/test/fuzz/fuzz_api -detect_leaks=0 -max_len=1024 \
#                     -max_total_time=600 my-corpus/ test/fuzz/corpus/
# Replay a crash: build-fuzz/test/fuzz/fuzz_api crash-file

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
build_dir=build-fuzz
cc=${DPM_FUZZ_CC:-clang-14}
seconds=${DPM_FUZZ_SECONDS:-60}

ci_name=fuzz
. devtools/ci.d/common.bash
ci_need "$cc" "devtools/setup.sh installs clang-14"
ci_build "$cc" "$build_dir" -Dfuzzer=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debugoptimized -Dexamples=false

fuzzer=$build_dir/test/fuzz/fuzz_api
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# LeakSanitizer is off: dpmalloc's memory is not malloc's, and libFuzzer
# runs an input twice whenever the mallocs of EAL and libc look unbalanced.
opts=(-detect_leaks=0 -rss_limit_mb=4096 -timeout=60)
passed=0 failed=0
log=$(mktemp)

for input in test/fuzz/corpus/* test/fuzz/regressions/*; do
	[ -f "$input" ] || continue
	if "$fuzzer" "${opts[@]}" "$input" >"$log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "fuzz: [FAIL] $input"
		grep -m 3 -E "check failed|ERROR: AddressSanitizer|runtime error" "$log"
	fi
done
echo "fuzz: replayed $((passed + failed)) inputs, $failed failed"

run_corpus=$build_dir/corpus-run
artifacts=$build_dir/artifacts
rm -rf "$run_corpus" "$artifacts"
mkdir -p "$run_corpus" "$artifacts"
cp test/fuzz/corpus/* "$run_corpus"/
start=$SECONDS
if timeout $((seconds + 120)) "$fuzzer" "${opts[@]}" -max_len=1024 \
	-max_total_time="$seconds" -artifact_prefix="$artifacts/" \
	"$run_corpus" >"$log" 2>&1; then
	passed=$((passed + 1))
	echo "fuzz: [PASS] fuzzing for ${seconds} s: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" || tail -n 1 "$log")"
else
	failed=$((failed + 1))
	echo "fuzz: [FAIL] fuzzing found a crash after $((SECONDS - start)) s:"
	grep -m 5 -E "check failed|ERROR: AddressSanitizer|runtime error|SUMMARY" "$log"
	grep -m 1 -A 0 "^Base64:" "$log"
	ls "$artifacts"
fi
rm -f "$log"
echo "$passed passed, $failed failed"
