#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: DPDK's own programs with the dpm mempool driver loaded by -d.
#   1. dpdk-test mbuf_autotest     --mbuf-pool-ops-name=dpm
#   2. dpdk-test mempool_autotest  --mbuf-pool-ops-name=dpm (it tests the
#      default mbuf ops handler, i.e. dpm, next to ring and stack)
#   3. dpdk-testpmd, io forwarding over two net_null vdevs for a few
#      seconds, mbufs from the dpm ops:
#      - packets were forwarded (the exit statistics' RX/TX-packets);
#      - testpmd chose the dpm ops for its pool, and while it ran the
#        telemetry socket showed the pool's memory inside dpmalloc:
#        /dpmalloc/socket,0 bytes_allocated >= the pool's size from
#        /mempool/info,mb_pool_0 (objects x (header + element + trailer));
#      - testpmd exited 0 on SIGINT.
# dpdk-test and dpdk-testpmd come with Debian's dpdk-dev; they autoload
# DPDK's own drivers (net_null, mempool_ring, ...) from their plugin
# directory. The stage builds the library and driver in build-dpdk-apps.
# EAL refuses a -d driver below a world-writable directory (a clone under
# /tmp): the driver and libdpmalloc are then copied to a root-owned 0755
# directory first. Ends with "N passed, N failed". About 20-40 s.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
stage_build=${DPM_STAGE_BUILD:-build-dpdk-apps}
modes=${DPM_TEST_MODES:-nohuge}
passed=0 failed=0
tmp_dirs=()
testpmd_pid=

pass() { echo "dpdk-apps: PASS $*"; passed=$((passed + 1)); }
fail() { echo "dpdk-apps: FAIL $*"; failed=$((failed + 1)); }
finish() {
	echo "$passed passed, $failed failed"
	exit 0
}
cleanup() {
	[ -z "$testpmd_pid" ] || kill -KILL "$testpmd_pid" 2>/dev/null
	for d in "${tmp_dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

for prog in dpdk-test dpdk-testpmd; do
	if ! command -v "$prog" >/dev/null; then
		fail "$prog not installed (Debian package dpdk-dev)"
	fi
done
[ "$failed" -eq 0 ] || finish

echo "dpdk-apps: building the library and driver in $stage_build"
if ! { [ -f "$stage_build/build.ninja" ] ||
       meson setup "$stage_build" -Dtests=false -Dexamples=false >/dev/null; } ||
   ! ninja -C "$stage_build" >/dev/null; then
	fail "build in $stage_build"
	finish
fi

# The driver, by either of its names (librte_mempool_dpm.so is DPDK's
# convention; older trees built libdpm_mempool.so).
driver=
for name in librte_mempool_dpm.so 'librte_mempool_dpm.so.*' libdpm_mempool.so; do
	driver=$(find "$stage_build/drivers" -name "$name" \( -type f -o -type l \) | sort | head -n 1)
	[ -n "$driver" ] && break
done
if [ -z "$driver" ]; then
	fail "no mempool driver under $stage_build/drivers"
	finish
fi
driver=$(cd "$(dirname "$driver")" && pwd)/$(basename "$driver")

# EAL's rule (verify_perms): no directory from / down to the driver's may be
# world-writable.
world_writable_parent() {
	local d=$1
	while :; do
		[ -n "$(find "$d" -maxdepth 0 -perm -o+w 2>/dev/null)" ] && return 0
		[ "$d" = / ] && return 1
		d=$(dirname "$d")
	done
}
lib_dir=$(cd "$stage_build/lib/dpmalloc" && pwd)
export LD_LIBRARY_PATH=$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if world_writable_parent "$(dirname "$driver")"; then
	safe=
	for base in /run /var/lib /root "${HOME:-/root}"; do
		if [ -d "$base" ] && ! world_writable_parent "$base" &&
		   safe=$(mktemp -d "$base/dpm-ci.XXXXXX" 2>/dev/null); then
			break
		fi
		safe=
	done
	if [ -z "$safe" ]; then
		fail "driver lies under a world-writable directory, and no safe directory to copy it to"
		finish
	fi
	tmp_dirs+=("$safe")
	chmod 0755 "$safe"
	cp -a "$lib_dir"/libdpmalloc.so* "$safe"/
	cp -L "$driver" "$safe/$(basename "$driver")"
	echo "dpdk-apps: $(dirname "$driver") is below a world-writable directory; using a copy in $safe"
	driver=$safe/$(basename "$driver")
	export LD_LIBRARY_PATH=$safe:$LD_LIBRARY_PATH
fi
echo "dpdk-apps: driver $driver"

case " $modes " in
*" huge "*) mem_args=(--in-memory) ;;
*) mem_args=(--no-huge -m 512 --no-shconf) ;;
esac
prefix=dpm_ci_apps_$$
eal_args=(--no-pci "${mem_args[@]}" --file-prefix="$prefix" -l 0-1
	-d "$driver" --mbuf-pool-ops-name=dpm --log-level=lib.eal:notice)
runtime_dir=/var/run/dpdk/$prefix
[ "$(id -u)" -eq 0 ] || runtime_dir=${XDG_RUNTIME_DIR:-/tmp}/dpdk/$prefix
tmp_dirs+=("$runtime_dir")
log_dir=$(mktemp -d)
tmp_dirs+=("$log_dir")

# 1, 2: DPDK's autotests.
for t in mbuf_autotest mempool_autotest; do
	start=$SECONDS
	DPDK_TEST=$t timeout 120 dpdk-test "${eal_args[@]}" </dev/null >"$log_dir/$t.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^Test OK' "$log_dir/$t.log" &&
	   grep -q 'ops_name: <dpm>' "$log_dir/$t.log"; then
		pass "dpdk-test $t with the dpm ops ($((SECONDS - start)) s)"
	else
		fail "dpdk-test $t (exit $rc); last lines:"
		tail -n 15 "$log_dir/$t.log"
	fi
done

# 3: testpmd io forwarding over two net_null ports.
tp_log=$log_dir/testpmd.log
timeout -s INT 60 dpdk-testpmd "${eal_args[@]}" --vdev net_null0 --vdev net_null1 -- \
	--forward-mode=io --auto-start --stats-period 1 --total-num-mbufs=8192 \
	</dev/null >"$tp_log" 2>&1 &
testpmd_pid=$!

# While it forwards: the pool's memory must be dpmalloc's.
pool_check=$(python3 - "$runtime_dir/dpdk_telemetry.v2" <<'EOF'
import json
import socket
import sys
import time

path = sys.argv[1]

def query(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.recv(16384)                      # the greeting
    s.send(cmd.encode())
    reply = json.loads(s.recv(65536).decode())
    s.close()
    return reply

deadline = time.time() + 20
last = "no telemetry socket"
while time.time() < deadline:
    try:
        info = query("/mempool/info,mb_pool_0")["/mempool/info"]
        sock = query("/dpmalloc/socket,0")["/dpmalloc/socket"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        last = f"telemetry not ready: {e}"
        time.sleep(0.3)
        continue
    if not info or not sock:
        last = f"no answer yet: {info} {sock}"
        time.sleep(0.3)
        continue
    pool = info["size"] * (info["header_size"] + info["elt_size"] + info["trailer_size"])
    ok = sock["bytes_allocated"] >= pool
    print(("ok" if ok else "bad") +
          f" pool mb_pool_0: {info['size']} mbufs, {pool} bytes; "
          f"dpmalloc socket 0: bytes_allocated {sock['bytes_allocated']}, "
          f"bytes_reserved {sock['bytes_reserved']}")
    sys.exit(0)
print("bad " + last)
EOF
)
sleep 3
kill -INT "$testpmd_pid" 2>/dev/null
wait "$testpmd_pid"
rc=$?
testpmd_pid=

rx=$(sed -n 's/^ *RX-packets: *\([0-9]*\).*/\1/p' "$tp_log" | tail -n 1)
tx=$(sed -n 's/^ *TX-packets: *\([0-9]*\).*/\1/p' "$tp_log" | tail -n 1)
if [ "${rx:-0}" -gt 0 ] && [ "${tx:-0}" -gt 0 ]; then
	pass "testpmd io forwarding over net_null0/net_null1: RX $rx, TX $tx packets"
else
	fail "testpmd forwarded nothing (RX ${rx:-?}, TX ${tx:-?})"
fi
if grep -q 'preferred mempool ops selected: dpm' "$tp_log" && [ "${pool_check%% *}" = ok ]; then
	pass "testpmd's mbuf pool uses the dpm ops and lives in dpmalloc memory: ${pool_check#ok }"
else
	fail "testpmd's mbuf pool in dpmalloc memory: ${pool_check:-no check} $(grep -m1 'mempool ops selected' "$tp_log")"
fi
if [ $rc -eq 0 ] && grep -q '^Bye' "$tp_log"; then
	pass "testpmd stopped cleanly on SIGINT"
else
	fail "testpmd exit status $rc; last lines:"
	tail -n 15 "$tp_log"
fi
finish
