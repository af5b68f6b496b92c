#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: ThreadSanitizer. Builds the library and test/tsan/tsan_runner
# with clang-14 -fsanitize=thread in build-tsan/ (Criterion cannot start
# under TSan, so the runner replaces the suite), then runs each scenario
# in a process of its own; a scenario passes when TSan reported nothing
# and every object came back intact. Each race is listed as its two
# accesses' top frames. About 30 s here (build ~15 s, scenarios 2-6 s each).
#
# Run it alone:  DPM_CI_STAGES=30-tsan bash devtools/test.sh
# One scenario:  TSAN_OPTIONS=suppressions=test/tsan/tsan.supp \
#                    build-tsan/test/tsan/tsan_runner numa

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
build_dir=build-tsan
cc=${DPM_TSAN_CC:-clang-14}

ci_name=tsan
. devtools/ci.d/common.bash
ci_need "$cc" "devtools/setup.sh installs clang-14"
ci_build "$cc" "$build_dir" -Db_sanitize=thread -Db_lundef=false \
	-Dbuildtype=debugoptimized -Dexamples=false

runner=$build_dir/test/tsan/tsan_runner
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$repo/test/tsan/tsan.supp ${TSAN_OPTIONS:-}"
passed=0 failed=0
log=$(mktemp)
for scenario in $("$runner" list); do
	start=$SECONDS
	timeout 300 "$runner" "$scenario" >"$log" 2>&1
	rc=$?
	races=$(grep -c "WARNING: ThreadSanitizer" "$log")
	if [ "$rc" -eq 0 ] && [ "$races" -eq 0 ]; then
		passed=$((passed + 1))
		echo "tsan: [PASS] $scenario ($((SECONDS - start)) s)"
		continue
	fi
	failed=$((failed + 1))
	echo "tsan: [FAIL] $scenario: exit $rc, $races TSan reports ($((SECONDS - start)) s)"
	grep "tsan_runner: FAIL" "$log" | head -5
	# one line per distinct pair of racing frames
	awk '/WARNING: ThreadSanitizer/ { n = 0; what = $0; sub(/.*ThreadSanitizer: /, "", what); sub(/ \(pid.*/, "", what) }
	     /^ +#0 / && n < 2 { f[n++] = $2 " " $3; if (n == 2) print "  " what ": " f[0] "  <->  " f[1] }' "$log" |
		sed -E 's#[^ ]*/##g' | sort | uniq -c | sort -rn | head -n 12
done
rm -f "$log"
echo "$passed passed, $failed failed"
