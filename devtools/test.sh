#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# The one command that sets up, builds and runs every test:
#   devtools/setup.sh   packages and hugepages
#   devtools/build.sh   meson + ninja in build/ (or $BUILD_DIR)
#   meson test          every suite: the Criterion tests under the EAL
#                       modes ('huge', 'socketmem', 'legacy' on hugepages,
#                       'nohuge'; the hugepage modes are left out
#                       where setup.sh found no hugepages), plus whatever
#                       else is registered (benchmark smoke runs)
# and ends with one line, the last of its output:
#   N passed, N failed[, N skipped]
# counting each Criterion test (from the "Synthesis:" line every Criterion
# binary prints into the meson test log) and each other test by its meson
# result. Exits non-zero when anything failed.
#
# Extra arguments go to `meson test`, e.g. `devtools/test.sh --suite nohuge`.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-build}
export BUILD_DIR=$build_dir
cd "$repo" || exit 1

finish() {
	local passed=$1 failed=$2 skipped=$3
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
	exit
}

echo "=== setup"
if ! bash devtools/setup.sh; then
	echo "test: devtools/setup.sh failed" >&2
	finish 0 1 0
fi
# setup.sh wrote which EAL modes this machine can run; an explicit
# DPM_TEST_MODES in the environment wins.
if [ -z "${DPM_TEST_MODES:-}" ]; then
	DPM_TEST_MODES=$(cat "$build_dir/dpm-test-modes" 2>/dev/null || echo nohuge)
fi
export DPM_TEST_MODES

echo "=== build"
if ! bash devtools/build.sh; then
	echo "test: the build failed" >&2
	finish 0 1 0
fi

suite_args=()
case " $DPM_TEST_MODES " in
*" huge "*) echo "=== test: EAL modes huge, socketmem, legacy and nohuge" ;;
*)
	echo "=== test: EAL mode nohuge only (no hugepages; see devtools/setup.sh)"
	suite_args=(--no-suite huge --no-suite socketmem --no-suite legacy)
	;;
esac

log_json=$build_dir/meson-logs/testlog.json
rm -f "$log_json"
# Two test binaries at a time: each runs one EAL process at a time, and two
# huge-mode processes fit in 2 GiB of hugepages (test/dpm_test.h). Legacy-mode
# binaries run alone (test/meson.build: their EAL maps every free hugepage at
# start-up).
meson test -C "$build_dir" --print-errorlogs --num-processes 2 \
	"${suite_args[@]}" "$@"
meson_status=$?

if [ ! -s "$log_json" ]; then
	echo "test: meson wrote no test log ($log_json)" >&2
	finish 0 1 0
fi

# The checks that exist only with -Ddebug_checks=true (a double free into a
# tcache is refused) run in a second, debug build: the tests of the tcache
# and of the paths that validate frees (double and foreign frees, cached
# large classes, bulk calls), under --no-huge. DPM_TEST_DEBUG=0 leaves them
# out.
debug_log=
if [ "${DPM_TEST_DEBUG:-1}" != 0 ] && [ $# -eq 0 ]; then
	debug_dir=$build_dir-debug-checks
	debug_tests="unit-tcache unit-tcache_churn integration-double_free integration-foreign
		     integration-large_cache integration-bulk"
	echo "=== test: $(echo $debug_tests) in a -Ddebug_checks=true build ($debug_dir)"
	if { [ -f "$debug_dir/build.ninja" ] ||
	     meson setup "$debug_dir" -Ddebug_checks=true -Dexamples=false >/dev/null; } &&
	   ninja -C "$debug_dir" test/test_tcache test/test_tcache_churn \
		test/test_integration_double_free test/test_integration_foreign \
		test/test_integration_large_cache test/test_integration_bulk >/dev/null; then
		debug_log=$debug_dir/meson-logs/testlog.json
		rm -f "$debug_log"
		# shellcheck disable=SC2086
		meson test -C "$debug_dir" --no-rebuild --print-errorlogs --suite nohuge $debug_tests ||
			meson_status=1
	else
		echo "test: the debug-checks build failed" >&2
		meson_status=1
	fi
fi

# Extra CI stages: every devtools/ci.d/*.sh runs in name order from the
# repository root (BUILD_DIR and DPM_TEST_MODES exported) and ends its
# output with one line "N passed, N failed[, N skipped]", which is added
# to the totals; a stage that prints no such line counts as one failure.
# DPM_CI_STAGES="a b" runs only the stages whose names (without .sh) are
# listed; DPM_CI_STAGES=none runs none. Left out with extra arguments.
stage_passed=0 stage_failed=0 stage_skipped=0 stage_notes=
if [ $# -eq 0 ] && [ "${DPM_CI_STAGES:-all}" != none ]; then
	for stage in devtools/ci.d/*.sh; do
		[ -e "$stage" ] || continue
		stage_name=$(basename "$stage" .sh)
		case " ${DPM_CI_STAGES:-$stage_name} " in
		*" $stage_name "*) ;;
		*) continue ;;
		esac
		echo "=== stage $stage_name"
		stage_start=$SECONDS
		# The stage's output goes to ours as it runs (never through
		# /dev/stderr: reopening a redirected log file truncates it).
		stage_log=$(mktemp)
		bash "$stage" </dev/null 2>&1 | tee "$stage_log"
		stage_out=$(tail -n 1 "$stage_log")
		rm -f "$stage_log"
		line=$(printf '%s\n' "$stage_out" |
			sed -nE 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$/\2 \3 \5/p')
		if [ -z "$line" ]; then
			stage_failed=$((stage_failed + 1))
			stage_notes="$stage_notes  stage $stage_name: no result line\n"
			continue
		fi
		read -r sp sf ss <<<"$line"
		stage_passed=$((stage_passed + sp))
		stage_failed=$((stage_failed + sf))
		stage_skipped=$((stage_skipped + ${ss:-0}))
		[ "$sf" -eq 0 ] || stage_notes="$stage_notes  stage $stage_name: $sf failed\n"
		echo "=== stage $stage_name: $sp passed, $sf failed ($((SECONDS - stage_start)) s)"
	done
fi

# Count. Prints "passed failed skipped" on its last line, details before.
counts=$(python3 - "$log_json" $debug_log <<'EOF'
import json
import re
import sys

synthesis = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| "
                       r"Failing: (\d+) \| Crashing: (\d+)")
skipped_all = re.compile(r"dpm_test: skipped all (\d+) tests")
skip_line = re.compile(r"^\[SKIP\] .*$", re.M)
fail_line = re.compile(r"^\[FAIL\] .*$", re.M)

passed = failed = skipped = 0
notes = []
lines = []
for path in sys.argv[1:]:
    with open(path) as log:
        lines += log.readlines()
if True:
    for line in lines:
        if not line.strip():
            continue
        test = json.loads(line)
        name, result = test["name"], test["result"]
        output = (test.get("stdout") or "") + (test.get("stderr") or "")
        found = synthesis.findall(output)
        if found:
            ok = sum(int(f[1]) for f in found)
            bad = sum(int(f[2]) for f in found)
            skips = skip_line.findall(output)
            disabled = sum(1 for k in skips if k.rstrip().endswith("Test is disabled"))
            # Criterion counts a test skipped at run time as passing, and a
            # disabled one not at all
            passed += ok - (len(skips) - disabled)
            failed += bad
            skipped += len(skips)
            for fail in fail_line.findall(output):
                notes.append(f"{name}: {fail}")
            if bad == 0 and result not in ("OK", "SKIP", "EXPECTEDFAIL"):
                failed += 1
                notes.append(f"{name}: {result} although its tests passed")
        elif result == "SKIP":
            m = skipped_all.search(output)
            skipped += int(m.group(1)) if m else 1
        elif result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        else:
            failed += 1
            notes.append(f"{name}: {result} (no Criterion synthesis: "
                         "crashed or timed out)")
for note in notes:
    print("  " + note)
print(passed, failed, skipped)
EOF
)
parse_status=$?
if [ $parse_status -ne 0 ] || [ -z "$counts" ]; then
	echo "test: cannot read $log_json" >&2
	finish 0 1 0
fi
details=$(printf '%s\n' "$counts" | sed '$d')
read -r passed failed skipped <<<"$(printf '%s\n' "$counts" | tail -n 1)"
passed=$((passed + stage_passed))
failed=$((failed + stage_failed))
skipped=$((skipped + stage_skipped))
[ -z "$stage_notes" ] || details=$(printf '%s\n%b' "$details" "$stage_notes" | sed '/^$/d')

if [ -n "$details" ]; then
	echo "=== failures"
	printf '%s\n' "$details"
fi
if [ "$meson_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "test: meson test exited with $meson_status" >&2
	failed=1
fi
finish "$passed" "$failed" "$skipped"
