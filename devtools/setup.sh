#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Prepare this machine to build and test dpmalloc:
#   1. install the Debian packages (skipped when all are installed already);
#   2. reserve 2 MiB hugepages and mount a hugetlbfs (as root).
#
# It ends by writing which EAL modes the tests can use to
#   build/dpm-test-modes   ("huge nohuge", or "nohuge" without hugepages)
# and printing the same as a last line "DPM_TEST_MODES=...". Re-running it
# is cheap: apt is not touched when every package is installed.
#
# Environment:
#   DPM_HUGEPAGES   2 MiB hugepages wanted (default 1024, i.e. 2 GiB)
#   DPM_HUGE_MOUNT  where to mount hugetlbfs if none is mounted (/mnt/huge)
#   DPM_SKIP_APT=1  never run apt-get
#   BUILD_DIR       build directory for the modes file (default: build)
#   DPM_TEST_MODES=nohuge  leave hugepages alone, test with --no-huge only

# Package lists are split into words on purpose.
# shellcheck disable=SC2086

set -eu

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-build}
case "$build_dir" in /*) ;; *) build_dir=$repo/$build_dir ;; esac

hugepages_wanted=${DPM_HUGEPAGES:-1024}
# Fewer than this many 2 MiB pages (1 GiB) and the huge mode is not run:
# two test processes use up to 768 MiB each (see test/dpm_test.h).
hugepages_needed=512
huge_mount=${DPM_HUGE_MOUNT:-/mnt/huge}

required_packages="dpdk-dev libdpdk-dev libnuma-dev libcriterion-dev meson
	ninja-build pkg-config gcc"
# Only the benchmarks (test/perf, devtools) and the sanitizer and fuzzer
# CI stages (devtools/ci.d: clang's TSan and libFuzzer runtimes) need these;
# also libsystemd-dev for linking DPDK statically (its static pkg-config
# flags name -lsystemd; devtools/ci.d/20-build-kinds.sh) and doxygen for the
# API reference (devtools/ci.d/21-docs.sh).
optional_packages="libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4
	python3-matplotlib clang-14 libclang-rt-14-dev libsystemd-dev doxygen"

log() { echo "setup: $*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 1
	fi
}

missing_packages() {
	local p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$status" in
		*" installed") ;;
		*) echo "$p" ;;
		esac
	done
}

install_packages() {
	local missing_req missing_opt p

	if ! command -v dpkg-query >/dev/null 2>&1; then
		log "not a Debian system: install by hand:" $required_packages $optional_packages
		return 0
	fi
	missing_req=$(missing_packages $required_packages)
	missing_opt=$(missing_packages $optional_packages)
	if [ -z "$missing_req$missing_opt" ]; then
		log "all packages already installed"
		return 0
	fi
	log "missing packages:" $missing_req $missing_opt
	if [ "${DPM_SKIP_APT:-0}" = 1 ]; then
		log "DPM_SKIP_APT=1: not installing them"
		[ -z "$missing_req" ]
		return
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! as_root apt-get update -q </dev/null; then
		log "apt-get update failed (are you root?)"
		[ -z "$missing_req" ]
		return
	fi
	if [ -n "$missing_req" ] &&
			! as_root apt-get install -y -q --no-install-recommends \
				$missing_req </dev/null; then
		log "cannot install:" $missing_req
		return 1
	fi
	# One by one: a benchmark library missing from this release must not
	# stop the others (the benchmark skips what it cannot load).
	for p in $missing_opt; do
		as_root apt-get install -y -q --no-install-recommends "$p" </dev/null ||
			log "warning: $p not installed; the benchmarks will skip it"
	done
}

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

hugetlbfs_mounted() { awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts; }

# Reserve hugepages and mount hugetlbfs; returns non-zero when the huge
# mode cannot run here.
prepare_hugepages() {
	local nr_file=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	local have

	if [ ! -e "$nr_file" ]; then
		log "this kernel has no 2 MiB hugepages"
		return 1
	fi
	have=$(cat "$nr_file")
	if [ "$have" -lt "$hugepages_wanted" ]; then
		log "reserving $hugepages_wanted hugepages of 2 MiB (have $have)"
		echo "$hugepages_wanted" | as_root tee "$nr_file" >/dev/null 2>&1 ||
			log "cannot write $nr_file (not root, or a read-only /sys)"
		have=$(cat "$nr_file")
	fi
	if [ "$have" -lt "$hugepages_needed" ]; then
		log "only $have hugepages of 2 MiB, $hugepages_needed needed"
		return 1
	fi
	if ! hugetlbfs_mounted; then
		log "mounting hugetlbfs on $huge_mount"
		if ! as_root mkdir -p "$huge_mount" ||
				! as_root mount -t hugetlbfs nodev "$huge_mount"; then
			log "cannot mount hugetlbfs"
			return 1
		fi
	fi
	if [ "$(meminfo HugePages_Free)" -lt "$hugepages_needed" ]; then
		log "only $(meminfo HugePages_Free) hugepages free, $hugepages_needed needed"
		return 1
	fi
	return 0
}

install_packages

if [ "${DPM_TEST_MODES:-}" = nohuge ]; then
	modes="nohuge"
	log "DPM_TEST_MODES=nohuge: hugepages left alone, tests run with --no-huge only"
elif prepare_hugepages; then
	modes="huge nohuge"
	log "hugepages: $(meminfo HugePages_Total) x 2 MiB, $(meminfo HugePages_Free) free"
else
	modes="nohuge"
	log "NO HUGEPAGES: tests will run with --no-huge only (DPM_TEST_MODES=nohuge)"
fi

mkdir -p "$build_dir"
echo "$modes" >"$build_dir/dpm-test-modes"
echo "DPM_TEST_MODES=$modes"
