#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Soak dpmalloc (test/soak/soak.c): every lcore allocates mixed sizes (up
# to 6 MiB), frees locally and across lcores and (simulated) sockets,
# checks every object, while the main lcore trims and prints a progress
# line (ops, live and reserved bytes, errors by cause). Passes with zero
# corruption, zero failed allocations, a footprint that did not grow and
# nothing left after the final frees (the exact rules: test/soak/soak.c).
#
#   devtools/soak.sh [SECONDS]     default 600 (10 minutes); CI runs 30
#
# Environment: BUILD_DIR (default build-soak), DPM_SOAK_SECONDS,
# DPM_SOAK_PROGRESS (seconds between progress lines, default 10),
# DPM_SOAK_LCORES (default: the CPUs, at least 4, all on the CPUs there
# are), DPM_TEST_MODES (contains "huge": run on hugepages, else --no-huge).

set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build_dir=${BUILD_DIR:-build-soak}
seconds=${1:-${DPM_SOAK_SECONDS:-600}}
progress=${DPM_SOAK_PROGRESS:-10}

if [ ! -f "$build_dir/build.ninja" ]; then
	wipe=()
	[ -d "$build_dir" ] && wipe=(--wipe)
	meson setup "${wipe[@]}" "$build_dir" -Dexamples=false >/dev/null
fi
ninja -C "$build_dir" test/soak/dpm_soak >/dev/null

cpus=$(nproc)
lcores=${DPM_SOAK_LCORES:-$((cpus < 4 ? 4 : cpus))}
eal=(--lcores="(0-$((lcores - 1)))@(0-$((cpus - 1)))" --no-pci
	--file-prefix="dpm_soak_$$" --log-level=lib.eal:warning)
hugepages_free=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
case " ${DPM_TEST_MODES:-huge nohuge} " in
*" huge "*)
	if [ "${hugepages_free:-0}" -ge 768 ]; then
		eal+=(--in-memory --socket-limit=1536)
	else
		eal+=(--no-huge -m 1536 --no-shconf)
	fi
	;;
*) eal+=(--no-huge -m 1536 --no-shconf) ;;
esac

echo "soak: $seconds s, $lcores lcores on $cpus CPUs: ${eal[*]}"
exec "$build_dir/test/soak/dpm_soak" "${eal[@]}" -- "$seconds" "$progress"
