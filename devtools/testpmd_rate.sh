#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# dpdk-testpmd io forwarding over two net_null ports, with its mbuf pool
# on the dpm ops and on DPDK's default ring_mp_mc, alternately:
#   devtools/testpmd_rate.sh [-t SECONDS] [-r ROUNDS] [-b BUILD_DIR]
# (defaults 5 s, 3 rounds, build/). One forwarding lcore. Prints, per ops,
# the median over the rounds of each run's median per-second rate (the
# sum of both ports' Rx-pps from testpmd's --stats-period output; the
# periods before forwarding and the first one are left out). Not a CI test: timings only.

set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
secs=5 rounds=3 build_dir=${BUILD_DIR:-build}
while getopts t:r:b: opt; do
	case $opt in
	t) secs=$OPTARG ;;
	r) rounds=$OPTARG ;;
	b) build_dir=$OPTARG ;;
	*) echo "usage: $0 [-t seconds] [-r rounds] [-b build_dir]" >&2; exit 2 ;;
	esac
done
driver=$(find "$build_dir/drivers" \( -name librte_mempool_dpm.so -o -name libdpm_mempool.so \) | head -n 1)
[ -n "$driver" ] || { echo "testpmd_rate: no driver in $build_dir (run devtools/build.sh)" >&2; exit 1; }
driver=$(cd "$(dirname "$driver")" && pwd)/$(basename "$driver")
modes=${DPM_TEST_MODES:-$(cat "$build_dir/dpm-test-modes" 2>/dev/null || echo nohuge)}
case " $modes " in
*" huge "*) mem_args=(--in-memory) ;;
*) echo "testpmd_rate: no hugepages, --no-huge" >&2; mem_args=(--no-huge -m 512 --no-shconf) ;;
esac
log=$(mktemp)
pid=
trap '[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null; rm -f "$log"' EXIT

# One run; prints the median per-second forwarding rate in Mpps.
run() {
	local ops=$1
	timeout -s INT $((secs + 30)) dpdk-testpmd --no-pci "${mem_args[@]}" \
		--file-prefix="testpmd_rate_$$" -l 0-1 -d "$driver" --mbuf-pool-ops-name="$ops" \
		--vdev net_null0 --vdev net_null1 --log-level=lib.eal:notice -- \
		--forward-mode=io --auto-start --stats-period 1 --total-num-mbufs=8192 \
		</dev/null >"$log" 2>&1 &
	pid=$!
	# EAL start-up (Debian's DPDK loads ~100 drivers) takes seconds: time
	# from the first non-zero period on.
	for _ in $(seq 300); do
		grep -Eq 'Rx-pps: +[1-9]' "$log" && break
		sleep 0.1
	done
	sleep $((secs + 1))
	kill -INT "$pid"
	wait "$pid" || true
	pid=
	rm -rf "/var/run/dpdk/testpmd_rate_$$"
	grep -q "preferred mempool ops selected: $ops" "$log" ||
		{ echo "testpmd_rate: testpmd did not use $ops:" >&2; head -n 20 "$log" >&2; exit 1; }
	sed -n 's/^ *Rx-pps: *\([0-9]*\).*/\1/p' "$log" | python3 -c '
import statistics, sys
v = [int(x) for x in sys.stdin.read().split()]
sums = [v[i] + v[i + 1] for i in range(0, len(v) - 1, 2)]
while sums and sums[0] == 0:       # before forwarding started
    sums.pop(0)
sums = sums[1:]                    # the first, partial period
print(f"{statistics.median(sums) / 1e6:.2f}" if sums else "0")'
}

declare -A rates
for r in $(seq "$rounds"); do
	for ops in dpm ring_mp_mc; do
		m=$(run "$ops")
		echo "round $r: $ops $m Mpps"
		rates[$ops]="${rates[$ops]:-} $m"
	done
done
python3 - "${rates[dpm]}" "${rates[ring_mp_mc]}" <<'PY'
import statistics, sys
dpm = statistics.median(float(x) for x in sys.argv[1].split())
ring = statistics.median(float(x) for x in sys.argv[2].split())
print(f"testpmd io forwarding, 2 x net_null, 1 forwarding lcore, median of rounds:")
print(f"  dpm         {dpm:6.2f} Mpps")
print(f"  ring_mp_mc  {ring:6.2f} Mpps   dpm / ring_mp_mc = {dpm / ring:.3f}")
PY
