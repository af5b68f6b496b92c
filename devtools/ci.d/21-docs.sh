#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: the HTML API reference (meson -Denable_docs=true) builds with
# no Doxygen warning (WARN_IF_UNDOCUMENTED, WARN_NO_PARAMDOC: every public
# item of dpmalloc.h and dpm_mempool.h documented), shows the prototypes of
# dpm_malloc, dpm_free and dpm_free_sized, and none of the fast-path
# internals. Ends with "N passed, N failed".

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
dir=$repo/build-docs
ci_name=docs ci_log=$dir.log
. devtools/ci.d/common.bash

if ! command -v doxygen >/dev/null; then
	echo "docs: doxygen is not installed (devtools/setup.sh installs it)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
rm -rf "$dir"
ci_check "build the API reference" bash -c "meson setup '$dir' -Denable_docs=true \
	-Dtests=false -Dexamples=false && ninja -C '$dir' doc/api/html"
html=$dir/doc/api/html
ci_check "no Doxygen warning" bash -c "[ -f '$dir/doc/api/warnings.txt' ] &&
	! grep . '$dir/doc/api/warnings.txt'"
ci_check "prototypes of dpm_malloc, dpm_free, dpm_free_sized documented" \
	bash -c "for f in dpm_malloc dpm_free dpm_free_sized; do
		grep -q \">\$f</a> (\" '$html/dpmalloc_8h.html' || exit 1; done"
ci_check "fast-path internals left out" \
	bash -c "! grep -l 'dpm_fp_\\|dpm_malloc_hard\\|dpm_free_inline' '$html'/*.html"
echo "$passed passed, $failed failed"
