#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Set up, build and run examples/pkt_fwd: a forwarding loop over a net_null
# port (real mbufs through the ethdev API, no hardware). An RX lcore
# allocates a metadata record per packet, a TX lcore checks and frees it and
# transmits; the record allocator is dpmalloc, rte_malloc and per-size
# rte_mempools in turn, a few seconds each, and the run ends with a table
# of the three. While the dpm phase runs, this script reads the program's
# telemetry (/pkt_fwd/stats, /dpmalloc/socket,N) and prints it after the
# table.
#
# Uses hugepages when devtools/setup.sh found them, else --no-huge.
# Arguments go to the program (after EAL's "--"), e.g.
#   devtools/demo.sh -t 5 -r 3          5 s per allocator, median of 3 rounds
#   devtools/demo.sh --alloc=dpm        one allocator only

set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-build}
export BUILD_DIR=$build_dir
cd "$repo"

bash devtools/setup.sh
if [ -z "${DPM_TEST_MODES:-}" ]; then
	DPM_TEST_MODES=$(cat "$build_dir/dpm-test-modes" 2>/dev/null || echo nohuge)
fi
bash devtools/build.sh

demo=$build_dir/examples/pkt_fwd
if [ ! -x "$demo" ]; then
	echo "demo: $demo was not built (meson -Dexamples=false?)" >&2
	exit 1
fi

# Three lcores: main (prints, mostly asleep), RX and TX. RX and TX poll, so
# they get a core each; on two cores the main lcore shares RX's.
ncpu=$(nproc)
if [ "$ncpu" -ge 3 ]; then
	lcores='0@0,1@1,2@2'
elif [ "$ncpu" -eq 2 ]; then
	lcores='(0-1)@0,2@1'
else
	echo "demo: one CPU only: RX and TX will share it, expect low rates" >&2
	lcores='(0-2)@0'
fi

prefix=pkt_fwd_demo_$$
eal_args=(--no-pci --lcores="$lcores" --file-prefix="$prefix"
	--log-level=lib.eal:notice --log-level=lib.telemetry:warning)
case " $DPM_TEST_MODES " in
*" huge "*)
	eal_args+=(--in-memory)
	;;
*)
	# EAL refuses --in-memory together with --no-huge; --no-shconf keeps
	# the run from leaving shared files behind instead.
	echo "demo: no hugepages, running with --no-huge -m 512" >&2
	eal_args+=(--no-huge -m 512 --no-shconf)
	;;
esac

runtime_dir=/var/run/dpdk/$prefix
[ "$(id -u)" -eq 0 ] || runtime_dir=${XDG_RUNTIME_DIR:-/tmp}/dpdk/$prefix
telemetry_out=$(mktemp)
query_pid=
cleanup() {
	[ -z "$query_pid" ] || kill "$query_pid" 2>/dev/null || true
	rm -f "$telemetry_out"
	rm -rf "$runtime_dir"
}
trap cleanup EXIT

# Read the telemetry once the dpm phase has run for half a second: what a
# monitoring client sees of a running program.
query_telemetry() {
	local i reply
	for i in $(seq 150); do
		sleep 0.2
		[ -S "$runtime_dir/dpdk_telemetry.v2" ] || continue
		reply=$(echo /pkt_fwd/stats |
			python3 /usr/bin/dpdk-telemetry.py -f "$prefix" 2>/dev/null |
			grep -E '^\{' || true)
		# half a second into the dpm phase
		printf '%s\n' "$reply" |
			grep -Eq '"alloc": "dpm".*"phase_ms": ([5-9][0-9]{2}|[1-9][0-9]{3,})[,}]' ||
			continue
		{
			echo "$reply"
			echo /dpmalloc/socket,0 |
				python3 /usr/bin/dpdk-telemetry.py -f "$prefix" 2>/dev/null |
				grep -E '^\{'
		} >"$telemetry_out" || true
		return 0
	done
}
if [ -f /usr/bin/dpdk-telemetry.py ]; then
	query_telemetry </dev/null &
	query_pid=$!
fi

echo "+ $demo ${eal_args[*]} -- $*"
status=0
"$demo" "${eal_args[@]}" -- "$@" || status=$?

if [ -n "$query_pid" ]; then
	wait "$query_pid" 2>/dev/null || true
	query_pid=
	if [ -s "$telemetry_out" ]; then
		echo
		echo "telemetry read while the dpm phase ran (dpdk-telemetry.py -f $prefix):"
		cat "$telemetry_out"
	fi
fi
exit "$status"
