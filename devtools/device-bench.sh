#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Pack dpm_perf to run on a machine without DPDK (the lent 16-core one).
#
#   devtools/device-bench.sh [-b BUILD_DIR] [-o PACK_DIR]
#
# Copies into PACK_DIR (default build-device/, ignored by git):
#   dpm_perf                 the benchmark, built (up to date) in BUILD_DIR
#   lib/                     every shared library it needs (ldd, recursively):
#                            libdpmalloc, DPDK's, glibc and its loader, and
#                            jemalloc, mimalloc, tcmalloc when installed here
#   drivers/                 librte_mempool_ring.so.23, DPDK's ring mempool
#                            driver, which EAL normally finds in its plugin
#                            directory and here gets with -d
#   run.sh                   the run (see below)
#   MANIFEST                 what was packed, from where, versions
#
# PACK_DIR/run.sh [OUT_DIR] runs there, writing to OUT_DIR (default $OUT,
# else PACK_DIR/out): bench.csv (all runs), {scaling,scaling_local,single}
# .{csv,txt,err}, setup.txt. It should take 2-3 minutes, 5 at most:
#   1. scaling, then scaling_local, at 1, 2, 4, 8, 16 lcores (as many as
#      the machine has CPUs, lcore i pinned to CPU i), 95 s limit each;
#   2. pair (16 B..1 MiB), batch, bulk, burst, churn, pipeline (three
#      variants) and false sharing, under a 90 s limit.
# Memory: as root it reserves 2 MiB hugepages (2048 of them) and mounts
# hugetlbfs if needed; when that fails it runs with --no-huge -m 4096 and
# says so in setup.txt (numbers then not comparable with a hugepage run).
# It runs the program through the packed glibc loader, so the target's
# own glibc version does not matter (DPM_DEVICE_SYSTEM_LOADER=1: the
# target's loader, with LD_LIBRARY_PATH only).

set -e -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${DPM_BUILD_DIR:-$ROOT/build}
PACK_DIR=$ROOT/build-device

while getopts "b:o:h" opt; do
	case $opt in
	b) BUILD_DIR=$OPTARG ;;
	o) PACK_DIR=$OPTARG ;;
	*) sed -n '4,30p' "$0"; exit 1 ;;
	esac
done

PERF=$BUILD_DIR/test/perf/dpm_perf
[ -f "$BUILD_DIR/build.ninja" ] || meson setup "$BUILD_DIR" "$ROOT"
ninja -C "$BUILD_DIR" test/perf/dpm_perf

# The ring mempool driver: where EAL's plugin directory has it.
find_ring_driver() {
	local d
	for d in "$(pkg-config --variable=pmdsdir libdpdk 2>/dev/null)" \
			/usr/lib/x86_64-linux-gnu /usr/local/lib/x86_64-linux-gnu \
			/usr/lib64 /usr/local/lib64 /usr/lib /usr/local/lib; do
		[ -n "$d" ] && [ -e "$d/librte_mempool_ring.so.23" ] &&
			{ readlink -f "$d/librte_mempool_ring.so.23"; return 0; }
	done
	ldconfig -p | awk '/librte_mempool_ring\.so\.23 / && !f { print $NF; f = 1 }'
}

# The dlopen'ed allocators, where installed.
find_lib() {
	ldconfig -p | awk -v n="$1" '$1 == n && !f { print $NF; f = 1 }'
}

rm -rf "$PACK_DIR"
mkdir -p "$PACK_DIR/lib" "$PACK_DIR/drivers"
cp "$PERF" "$PACK_DIR/dpm_perf"

RING=$(find_ring_driver)
[ -n "$RING" ] || { echo "device-bench: librte_mempool_ring.so.23 not found" >&2; exit 1; }
cp -L "$RING" "$PACK_DIR/drivers/librte_mempool_ring.so.23"

roots=("$PERF" "$RING")
for so in libjemalloc.so.2 libmimalloc.so.2 libtcmalloc_minimal.so.4; do
	p=$(find_lib "$so")
	if [ -n "$p" ]; then
		cp -L "$p" "$PACK_DIR/lib/$so"
		roots+=("$p")
	else
		echo "device-bench: $so not installed here: its column will be skipped"
	fi
done

# Every library ldd resolves for the roots, under its soname; and the loader.
{
	echo "dpm_perf packed $(date -u +%FT%TZ) from $ROOT ($(git -C "$ROOT" describe --always --dirty 2>/dev/null))"
	echo "ring driver: $RING"
	for r in "${roots[@]}"; do
		ldd "$r" | awk '/=> \// { print $1, $3 } /^[ \t]*\/.*ld-linux/ { print "LOADER", $1 }'
	done | sort -u | while read -r name path; do
		if [ "$name" = "LOADER" ]; then
			cp -L "$path" "$PACK_DIR/lib/ld-linux.so"
			echo "loader: $path"
		else
			[ -e "$PACK_DIR/lib/$name" ] || cp -L "$path" "$PACK_DIR/lib/$name"
			echo "lib: $name <- $path"
		fi
	done
} > "$PACK_DIR/MANIFEST"

cat > "$PACK_DIR/run.sh" <<'EOF'
#!/bin/bash
# Run the packed dpm_perf (see devtools/device-bench.sh). Usage: run.sh [OUT_DIR]
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT_DIR=${1:-${OUT:-$HERE/out}}
mkdir -p "$OUT_DIR"
# EAL refuses -d drivers under a world-writable directory.
chmod -R go-w "$HERE" 2>/dev/null || true
# No global LD_LIBRARY_PATH: the packed glibc would break the target's own
# tools (timeout, grep, ...). dpm_perf alone gets it, below.
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=262144
export MALLOC_PERTURB_=0
SETUP=$OUT_DIR/setup.txt
START=$(date +%s)

# 2 MiB hugepages as root if we can get 1024 of them, else --no-huge.
# Never lowers a reservation someone else made. DPM_DEVICE_NO_HUGE=1 skips.
hugepages() {
	local free dir=/dev/hugepages
	[ "$(id -u)" -eq 0 ] && [ "${DPM_DEVICE_NO_HUGE:-0}" != 1 ] || return 1
	if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 2048 ]; then
		echo 2048 > /proc/sys/vm/nr_hugepages 2>/dev/null || return 1
	fi
	if ! grep -qs hugetlbfs /proc/mounts; then
		dir=/mnt/huge
		mkdir -p "$dir" && mount -t hugetlbfs nodev "$dir" 2>/dev/null || return 1
	fi
	free=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
	[ "${free:-0}" -ge 1024 ]
}

NCPU=$(nproc)
N=${DPM_DEVICE_LCORES:-$(( NCPU < 16 ? NCPU : 16 ))}
# lcore i on CPU i; more lcores than CPUs (a test elsewhere) float.
if [ "$N" -le "$NCPU" ]; then
	LCORES="0-$((N - 1))"
else
	LCORES="(0-$((N - 1)))@(0-$((NCPU - 1)))"
fi
COUNTS=""
for k in 1 2 4 8 16; do
	[ "$k" -le "$N" ] && COUNTS="$COUNTS${COUNTS:+,}$k"
done
if hugepages; then
	MEM="--in-memory"
else
	MEM="--no-huge --no-shconf -m 4096"
fi
{
	echo "date: $(date -u +%FT%TZ)"
	echo "host: $(uname -a)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
	echo "cpus: $NCPU, --lcores=$LCORES, scaling counts $COUNTS"
	echo "numa nodes: $(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)"
	echo "memory: $MEM"
	grep -i huge /proc/meminfo
} > "$SETUP"
cat "$SETUP"

# EAL loads a -d driver only if no directory above it is world-writable
# (/tmp is): then run it from a private copy elsewhere.
perms_ok() {
	local p
	p=$(readlink -f "$1") || return 1
	while :; do
		[ -e "$p" ] && [ -z "$(find "$p" -maxdepth 0 -perm -o+w)" ] || return 1
		[ "$p" = / ] && return 0
		p=$(dirname "$p")
	done
}
DRIVER=$HERE/drivers/librte_mempool_ring.so.23
DRIVER_COPY=""
if ! perms_ok "$DRIVER"; then
	for base in "${HOME:-/root}" /run /var/lib /opt; do
		d=$base/dpm_device_drivers.$$
		if mkdir -p "$d" 2>/dev/null && chmod 755 "$d" &&
				cp "$DRIVER" "$d/" && perms_ok "$d/${DRIVER##*/}"; then
			DRIVER=$d/${DRIVER##*/}
			DRIVER_COPY=$d
			break
		fi
		rm -rf "$d"
	done
	echo "driver: $HERE is under a world-writable directory; using $DRIVER" |
		tee -a "$SETUP"
fi
trap '[ -n "$DRIVER_COPY" ] && rm -rf "$DRIVER_COPY"' EXIT

LOADER=()
[ "${DPM_DEVICE_SYSTEM_LOADER:-0}" = 1 ] || LOADER=("$HERE/lib/ld-linux.so" --library-path "$HERE/lib")

# perf NAME TIMEOUT dpm_perf-options...: one run, its table and CSV in OUT_DIR.
perf() {
	local name=$1 limit=$2 rc=0
	shift 2
	echo "== $name: $* (limit ${limit}s)"
	timeout --kill-after=10 "$limit" env LD_LIBRARY_PATH="$HERE/lib" "${LOADER[@]}" "$HERE/dpm_perf" \
		--no-pci $MEM --file-prefix="dpm_dev_$$" --lcores="$LCORES" \
		-d "$DRIVER" \
		--log-level=lib.eal:warning -- --csv "$OUT_DIR/$name.csv" "$@" \
		> "$OUT_DIR/$name.txt" 2> "$OUT_DIR/$name.err" || rc=$?
	echo "$name: exit $rc after $(( $(date +%s) - START )) s total"
	tail -n 3 "$OUT_DIR/$name.err"
	return 0
}

# DPM_DEVICE_ARGS: more dpm_perf options for both runs (a quick check of
# the pack: "--smoke").
# Three runs, each under its own limit: one that overruns loses only its
# own tail (on SIGTERM dpm_perf skips what is left and still writes its CSV).
perf scaling 95 --workloads scaling --lcores "$COUNTS" \
	--reps 7 --duration-ms 50 ${DPM_DEVICE_ARGS:-}
perf scaling_local 95 --workloads scaling_local --lcores "$COUNTS" \
	--reps 7 --duration-ms 50 ${DPM_DEVICE_ARGS:-}
perf single 90 --workloads pair,batch,burst,churn,pipeline,false_sharing \
	--reps 7 ${DPM_DEVICE_ARGS:-}

# One CSV with both runs, for devtools/bench_table.py and bench_chart.py.
first=1
for f in single scaling scaling_local; do
	[ -s "$OUT_DIR/$f.csv" ] || continue
	if [ $first = 1 ]; then cat "$OUT_DIR/$f.csv"; first=0
	else tail -n +2 "$OUT_DIR/$f.csv"; fi
done > "$OUT_DIR/bench.csv"
echo "device-bench: done in $(( $(date +%s) - START )) s; results in $OUT_DIR"
EOF
chmod 755 "$PACK_DIR/run.sh"
chmod -R go-w "$PACK_DIR"
echo "device-bench: packed $(ls "$PACK_DIR/lib" | wc -l) libraries into $PACK_DIR" \
	"($(du -sh "$PACK_DIR" | cut -f1)); run $PACK_DIR/run.sh [OUT_DIR]"
