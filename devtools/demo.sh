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

# Read the telemetry a few hundred milliseconds into the dpm phase, as a
# monitoring client (dpdk-telemetry.py -f PREFIX) would: one client
# polling /pkt_fwd/stats until the dpm phase runs, then /dpmalloc/socket,0.
query_telemetry() {
	python3 - "$runtime_dir/dpdk_telemetry.v2" >"$telemetry_out" 2>/dev/null <<'PY'
import json
import socket
import sys
import time


def query(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    s.recv(16384)                          # the greeting
    s.send(cmd.encode())
    reply = s.recv(65536).decode()
    s.close()
    return reply


deadline = time.time() + 60
while time.time() < deadline:
    time.sleep(0.05)
    try:
        stats = query("/pkt_fwd/stats")
        phase = json.loads(stats)["/pkt_fwd/stats"]
    except (OSError, ValueError, KeyError, TypeError):
        continue
    if phase and phase["alloc"] == "dpm" and phase["phase_ms"] >= 300:
        # printed as dpdk-telemetry.py prints them
        print(json.dumps(json.loads(stats)))
        print(json.dumps(json.loads(query("/dpmalloc/socket,0"))))
        break
PY
}
if command -v python3 >/dev/null; then
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
		echo "telemetry read while the dpm phase ran (what dpdk-telemetry.py -f $prefix shows):"
		cat "$telemetry_out"
	fi
fi
exit "$status"
