#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Set up, build and run examples/lcore_demo: four lcores on two cores
# allocating, checking and freeing with dpmalloc, passing objects to each
# other. Uses hugepages when devtools/setup.sh found them, else --no-huge.
# Arguments after the script name go to the demo (after EAL's "--"),
# e.g. devtools/demo.sh -n 5000

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

demo=$build_dir/examples/lcore_demo
if [ ! -x "$demo" ]; then
	echo "demo: $demo was not built (meson -Dexamples=false?)" >&2
	exit 1
fi

eal_args=(--no-pci --lcores='(0-3)@(0-1)' --log-level=lib.eal:notice)
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

echo "+ $demo ${eal_args[*]} -- $*"
exec "$demo" "${eal_args[@]}" -- "$@"
