#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
#
# CI stage: dpmalloc built, installed and used the ways a DPDK user does.
#  - default_library=shared and =static, each installed into a prefix of
#    its own (build-kinds/<kind>/inst), without tests and examples;
#  - the ABI of the shared library: SONAME libdpmalloc.so.1, the DPM_1,
#    EXPERIMENTAL and INTERNAL version nodes; the driver file
#    librte_mempool_dpm.so with RUNPATH to the installed libdir; the
#    layout symbol dpm_fp_layout_v<N> (another layout does not link) and
#    the experimental-API warning;
#  - a third-party program (test/install/consumer.c) compiled with
#    nothing but pkg-config against each prefix, and run: dynamically
#    (NEEDED libdpmalloc.so.1), with `pkg-config --static` (no
#    libdpmalloc.so needed), and against the static-only install;
#  - the installed driver loaded by dpdk-test with -d <full path> and no
#    LD_LIBRARY_PATH (mempool_autotest on the "dpm" ops);
#  - dpmalloc as a meson subproject of a parent project whose
#    default_library is static: linked statically, no test archive built.
# Ends with "N passed, N failed".

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
top=$repo/build-kinds
ci_name=build-kinds ci_log=$top/last.log
. devtools/ci.d/common.bash
eal=(--no-huge -m 256 --no-pci --log-level=lib.eal:error)


needs() { readelf -d "$1" | grep -q "NEEDED.*\[$2"; }
lacks() { [ -f "$1" ] && ! readelf -d "$1" | grep -q "NEEDED.*\[$2"; }
runs() { # runs <binary> [libdir]: the consumer prints "consumer: ok"
	env LD_LIBRARY_PATH="${2:-}" "$1" "${eal[@]}" -l 0 \
		--file-prefix="dpm-kinds-$$" | grep -q '^consumer: ok$'
}

build_kind() { # build_kind <kind>: setup, build and install into a prefix
	local kind=$1
	rm -rf "${top:?}/$kind"
	meson setup "$top/$kind" -Ddefault_library="$kind" -Dtests=false \
		-Dexamples=false --prefix="$top/$kind/inst" &&
		ninja -C "$top/$kind" && meson install -C "$top/$kind" --quiet
}

mkdir -p "$top"
for kind in shared static; do
	if ! ci_check "$kind: build and install" build_kind "$kind"; then
		continue
	fi
	libdir=$(find "$top/$kind/inst" -name libdpmalloc.a -printf '%h\n' | head -n 1)
	export PKG_CONFIG_PATH=$libdir/pkgconfig
	cc=(cc -O2 -Wall -Werror)
	consumer=test/install/consumer.c
	ci_check "$kind: no internal test archive without tests" \
		bash -c "! find '$top/$kind' -name '*dpmalloc_internal*' | grep -q ."
	if [ "$kind" = shared ]; then
		so=$libdir/libdpmalloc.so.1
		ci_check "shared: SONAME libdpmalloc.so.1" \
			bash -c "readelf -d '$so' | grep -q 'SONAME.*\[libdpmalloc.so.1\]'"
		ci_check "shared: version nodes DPM_1, EXPERIMENTAL, INTERNAL" \
			bash -c "objdump -T '$so' | grep -q 'DPM_1 *dpm_malloc\$' &&
				objdump -T '$so' | grep -q 'EXPERIMENTAL *dpm_stats_socket\$' &&
				objdump -T '$so' | grep -q 'INTERNAL *dpm_malloc_hard\$' &&
				! objdump -T '$so' | grep -q ' arena_'"
		pmd=$(pkg-config --variable=pmd_path librte_mempool_dpm)
		ci_check "shared: driver $(basename "$pmd") with RUNPATH $libdir" \
			bash -c "readelf -d '$pmd' | grep -q 'RUNPATH.*\[$libdir\]'"
		ci_check "shared: consumer via pkg-config --libs" \
			"${cc[@]}" -o "$top/consumer-dyn" $consumer \
			$(pkg-config --cflags --libs libdpmalloc)
		ci_check "shared: consumer needs libdpmalloc.so.1" needs "$top/consumer-dyn" libdpmalloc.so.1
		ci_check "shared: consumer runs" runs "$top/consumer-dyn" "$libdir"
		# The fast-path layout: a program compiled against another layout
		# version does not link (and, linked against an older library
		# file, would not load: the symbol is bound at load time).
		layout=$(sed -nE 's/^#define DPM_FP_LAYOUT_VERSION ([0-9]+)$/\1/p' \
			"$top/shared/inst/include/dpm_fp.h")
		ci_check "shared: consumer refers to dpm_fp_layout_v$layout" \
			bash -c "nm -D '$top/consumer-dyn' | grep -q ' U dpm_fp_layout_v$layout@INTERNAL'"
		other=$top/layout-other/include
		mkdir -p "$other"
		cp "$top/shared/inst/include/"*.h "$other/"
		sed -i -E "s/^#define DPM_FP_LAYOUT_VERSION [0-9]+$/#define DPM_FP_LAYOUT_VERSION $((layout + 1))/" \
			"$other/dpm_fp.h"
		ci_check "shared: another layout's program does not link" \
			bash -c "! ${cc[*]} -o '$top/consumer-other' $consumer -I'$other' \
				$(pkg-config --cflags --libs libdpmalloc) 2>'$top/link.err' &&
				grep -q 'dpm_fp_layout_v$((layout + 1))' '$top/link.err'"
		ci_check "shared: experimental API warns without ALLOW_EXPERIMENTAL_API" \
			bash -c "printf '#include <dpmalloc.h>\nint f(void) { return dpm_stats_socket(0, 0); }\n' |
				cc -x c -c -o /dev/null - $(pkg-config --cflags libdpmalloc) 2>&1 |
				grep -q 'experimental'"
		ci_check "shared: consumer via pkg-config --static --libs" \
			"${cc[@]}" -o "$top/consumer-static" $consumer \
			$(pkg-config --cflags --static --libs libdpmalloc)
		ci_check "shared: --static consumer does not need libdpmalloc.so" \
			lacks "$top/consumer-static" libdpmalloc
		ci_check "shared: --static consumer runs" runs "$top/consumer-static"
		ci_check "shared: dpdk-test -d $pmd (mempool_autotest on dpm)" \
			bash -c "env -u LD_LIBRARY_PATH DPDK_TEST=mempool_autotest \
				dpdk-test ${eal[*]} -l 0-1 --file-prefix=dpm-kinds-$$ -d '$pmd' \
				--mbuf-pool-ops-name=dpm | grep -q 'Test OK'"
	else
		ci_check "static: no shared library installed" \
			bash -c "! find '$top/static/inst' -name '*.so*' | grep -q ."
		ci_check "static: consumer via pkg-config --libs" \
			"${cc[@]}" -o "$top/consumer-st" $consumer \
			$(pkg-config --cflags --libs libdpmalloc)
		ci_check "static: consumer does not need libdpmalloc.so" \
			lacks "$top/consumer-st" libdpmalloc
		ci_check "static: consumer runs" runs "$top/consumer-st"
	fi
	unset PKG_CONFIG_PATH
done

# A parent project with default_library=static and dpmalloc as subproject.
parent=$top/parent
rm -rf "$parent"
mkdir -p "$parent/subprojects"
ln -s "$repo" "$parent/subprojects/dpmalloc"
cp test/install/consumer.c "$parent/"
cat >"$parent/meson.build" <<'MESON'
project('parent', 'c', default_options: ['default_library=static'])
dpm = subproject('dpmalloc', default_options: ['tests=false', 'examples=false'])
executable('consumer', 'consumer.c',
    dependencies: dpm.get_variable('dpmalloc_dep'))
MESON
ci_check "subproject: parent with default_library=static builds" \
	bash -c "meson setup '$parent/build' '$parent' && ninja -C '$parent/build'"
if [ -x "$parent/build/consumer" ]; then
	ci_check "subproject: consumer linked statically" lacks "$parent/build/consumer" libdpmalloc
	ci_check "subproject: no libdpmalloc.so and no test archive built" \
		bash -c "! find '$parent/build' -name 'libdpmalloc.so*' -o -name '*internal*.a' | grep -q ."
	ci_check "subproject: consumer runs" runs "$parent/build/consumer"
fi
rm -rf "/var/run/dpdk/dpm-kinds-$$"

echo "$passed passed, $failed failed"
