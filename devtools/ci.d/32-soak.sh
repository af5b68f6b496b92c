#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: devtools/soak.sh for DPM_SOAK_SECONDS (default 30) in
# build-soak/: one test, passed when the soak finds no corruption, no
# failed allocation, no footprint growth and nothing left after the final
# frees (test/soak/soak.c). About 45 s here (build ~10 s, soak 30 s).

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1

if BUILD_DIR=build-soak DPM_SOAK_PROGRESS=${DPM_SOAK_PROGRESS:-5} \
	bash devtools/soak.sh "${DPM_SOAK_SECONDS:-30}" 2>&1 | grep -v '^EAL: \|^TELEMETRY: '; then
	echo "1 passed, 0 failed"
else
	echo "0 passed, 1 failed"
fi
