#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Configure (once) and build dpmalloc, its tests, examples and benchmarks
# in build/ (or $BUILD_DIR). Idempotent: an existing build directory is
# only rebuilt; ninja re-runs meson by itself when a meson.build changed.
# Extra arguments go to `meson setup` on the first run, for example
#   devtools/build.sh -Ddebug_checks=true

set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-build}
cd "$repo"

if [ -f "$build_dir/build.ninja" ]; then
	:
elif [ -d "$build_dir/meson-private" ]; then
	# an earlier setup stopped half-way: start it again from scratch
	meson setup --wipe "$build_dir" "$@"
else
	meson setup "$build_dir" "$@"
fi
ninja -C "$build_dir"
