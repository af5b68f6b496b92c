# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# Helpers the CI stages source (not a stage: test.sh runs *.sh only).
# A stage sets ci_name (its log prefix) before using them.

passed=0 failed=0

# ci_need COMMAND HINT: end the stage as skipped when COMMAND is missing.
ci_need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "$ci_name: $1 not found ($2)"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	fi
}

# ci_check NAME COMMAND...: run one counted check, its output in $ci_log;
# on failure show the log's tail.
ci_check() {
	local name=$1 log=${ci_log:?a stage sets ci_log before ci_check}
	shift
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "$ci_name: PASS $name"
	else
		failed=$((failed + 1))
		echo "$ci_name: FAIL $name"
		tail -n 20 "$log" | sed 's/^/    /'
	fi
}

# ci_build CC BUILD_DIR MESON_OPTION...: configure (once; a setup that
# stopped half-way is wiped) and build with compiler CC, or end the stage
# with one failure.
ci_build() {
	local cc=$1 dir=$2 wipe=()
	shift 2
	[ -d "$dir" ] && wipe=(--wipe)
	if [ ! -f "$dir/build.ninja" ] &&
	   ! CC=$cc meson setup "${wipe[@]}" "$dir" "$@" >/dev/null; then
		echo "$ci_name: meson setup failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
	if ! ninja -C "$dir" >/dev/null; then
		echo "$ci_name: build failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
}
