#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Run the dpm_perf benchmark and chart it.
#
#   devtools/bench.sh [-b BUILD_DIR] [-o OUT_DIR] [-- dpm_perf options]
#
# Writes OUT_DIR/bench.csv, OUT_DIR/bench.png (the chart) and
# OUT_DIR/bench.txt (the printed table); OUT_DIR defaults to doc/. The
# README's tables then come from devtools/bench_table.py --readme README.md
# OUT_DIR/bench.csv. Takes a few minutes (DPM_BENCH_TIMEOUT stops it).
# Builds dpm_perf in BUILD_DIR (default build/) first, if it is not up to date.
#
# Environment:
#   DPM_BENCH_LCORES  EAL --lcores map. Default: one lcore per CPU, up to
#                     16, with 8 CPUs or more; with fewer, 8 lcores, lcore
#                     i pinned to CPU i mod ncpu ('0@0,1@1,2@0,3@1,...' on
#                     2 CPUs). Pinning in alternation puts lcores 1 and 2,
#                     the pipeline's producer and consumer (and the false
#                     sharing workload's two lcores), on different CPUs,
#                     and the first 2, 4, 8 lcores of the scaling workloads
#                     evenly on the CPUs. '(0-7)@(0-1)' (floating) works
#                     too; the kernel then places the threads. The scaling
#                     workloads run at 1, 2, 4, ... lcores up to all of them
#                     (dpm_perf --lcores LIST picks others).
#   DPM_BENCH_EAL     extra EAL options.
#   DPM_BENCH_TIMEOUT seconds before the run is stopped (default 600).
#   DPM_BUILD_DIR     the build directory, as -b.
#
# Hugepages: uses 2 MiB hugepages when it can reserve and mount them (as
# root: nr_hugepages=1024, hugetlbfs on /mnt/huge); otherwise it says so
# and runs with --no-huge -m 4096 (4 KiB pages: slower memzone set-up,
# different TLB behaviour, numbers not comparable with hugepage runs).
#
# jemalloc 5.3 is built with initial-exec TLS; glibc lets a library like
# that be dlopen'ed only with extra static TLS space, read from
# GLIBC_TUNABLES at process start, hence the export below.

set -e -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${DPM_BUILD_DIR:-$ROOT/build}
OUT_DIR=$ROOT/doc
HUGE_DIR=/mnt/huge

while getopts "b:o:h" opt; do
	case $opt in
	b) BUILD_DIR=$OPTARG ;;
	o) OUT_DIR=$OPTARG ;;
	*) sed -n '4,14p' "$0"; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ "$1" = "--" ] && shift

# Build dpm_perf (set the build directory up first if needed).
build_perf() {
	if [ ! -f "$BUILD_DIR/build.ninja" ]; then
		meson setup "$BUILD_DIR" "$ROOT"
	fi
	ninja -C "$BUILD_DIR" test/perf/dpm_perf
}

# Reserve and mount 2 MiB hugepages if possible; 0 when usable.
setup_hugepages() {
	local free
	# Raise the reservation if it is short; never lower someone else's.
	if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 1024 ]; then
		echo 1024 > /proc/sys/vm/nr_hugepages 2>/dev/null || true
	fi
	if ! grep -qs "hugetlbfs" /proc/mounts; then
		mkdir -p "$HUGE_DIR" 2>/dev/null &&
			mount -t hugetlbfs nodev "$HUGE_DIR" 2>/dev/null || true
	fi
	free=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
	grep -qs "hugetlbfs" /proc/mounts && [ "${free:-0}" -ge 512 ]
}

# lcore i on CPU i (mod ncpu below 8 CPUs; see DPM_BENCH_LCORES above).
default_lcores() {
	local ncpu map i
	ncpu=$(nproc)
	if [ "$ncpu" -ge 8 ]; then
		echo "0-$(( (ncpu < 16 ? ncpu : 16) - 1 ))"
		return
	fi
	for i in 0 1 2 3 4 5 6 7; do
		map="$map${map:+,}$i@$((i % ncpu))"
	done
	echo "$map"
}

# Python with matplotlib: the PATH one, else the system one.
find_python() {
	local py
	for py in python3 /usr/bin/python3; do
		if "$py" -c "import matplotlib" 2>/dev/null; then
			echo "$py"
			return 0
		fi
	done
	return 1
}

build_perf  # a no-op when it is up to date
mkdir -p "$OUT_DIR"

if setup_hugepages; then
	MEM_ARGS="--in-memory"
	echo "bench: using 2 MiB hugepages ($HUGE_DIR)"
else
	# --in-memory cannot be combined with --no-huge in DPDK 22.11 (EAL
	# refuses it as legacy memory); --no-shconf keeps nothing on disk.
	MEM_ARGS="--no-huge --no-shconf -m 4096"
	echo "bench: WARNING: no hugepages available (needs root, or free" \
		"2 MiB pages): running with --no-huge -m 4096; numbers are not" \
		"comparable with a hugepage run"
fi

export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=262144
LCORES=${DPM_BENCH_LCORES:-$(default_lcores)}

# Run in the background under timeout(1), so that an interrupt or the time
# limit ends exactly this process (timeout passes the signal on to it).
timeout "${DPM_BENCH_TIMEOUT:-600}" "$BUILD_DIR/test/perf/dpm_perf" \
	--no-pci $MEM_ARGS --lcores="$LCORES" --log-level=lib.eal:warning \
	$DPM_BENCH_EAL -- --csv "$OUT_DIR/bench.csv" "$@" > "$OUT_DIR/bench.txt" &
PERF_PID=$!
trap 'kill "$PERF_PID" 2>/dev/null; wait "$PERF_PID"; exit 130' INT TERM
rc=0
wait "$PERF_PID" || rc=$?
trap - INT TERM
cat "$OUT_DIR/bench.txt"
if [ "$rc" -eq 124 ]; then
	# dpm_perf skips what is left on SIGTERM and still writes its CSV.
	echo "bench: dpm_perf stopped after ${DPM_BENCH_TIMEOUT:-600} s:" \
		"the results are incomplete" >&2
elif [ "$rc" -ne 0 ]; then
	echo "bench: dpm_perf failed (exit $rc)" >&2
	exit "$rc"
fi

if PY=$(find_python); then
	"$PY" "$ROOT/devtools/bench_chart.py" "$OUT_DIR/bench.csv" "$OUT_DIR/bench.png"
else
	echo "bench: no python3 with matplotlib (apt-get install python3-matplotlib):" \
		"chart not drawn" >&2
fi
exit "$rc"
