#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: the README's first command, devtools/demo.sh, for 2 s per
# allocator (examples/pkt_fwd over a net_null port, in $BUILD_DIR, which
# devtools/test.sh has built). Checks that it exits 0 (every allocator
# forwarded packets, no record corrupt or lost), that its table has the
# three allocators, and that telemetry answered while the dpm phase ran.
# Ends with "N passed, N failed". About 10 s.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
passed=0 failed=0
pass() { echo "demo: PASS $*"; passed=$((passed + 1)); }
fail() { echo "demo: FAIL $*"; failed=$((failed + 1)); }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 120 bash devtools/demo.sh -t 2 </dev/null >"$out" 2>&1
rc=$?
cat "$out"
if [ $rc -eq 0 ]; then
	pass "devtools/demo.sh -t 2 exited 0"
else
	fail "devtools/demo.sh -t 2 exited $rc"
fi
rows=0
for a in dpm rte_malloc mempool; do
	grep -Eq "^$a +[0-9]+\.[0-9]+ " "$out" && rows=$((rows + 1))
done
if [ $rows -eq 3 ]; then
	pass "the table has dpm, rte_malloc and mempool"
else
	fail "the table has $rows of the 3 allocators"
fi
if grep -q '^{"/pkt_fwd/stats": {"alloc": "dpm"' "$out" &&
   grep -q '^{"/dpmalloc/socket": {"socket_id": 0' "$out"; then
	pass "telemetry answered /pkt_fwd/stats and /dpmalloc/socket,0 during the dpm phase"
else
	fail "no telemetry replies read during the dpm phase"
fi
echo "$passed passed, $failed failed"
