#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Install every build and test dependency of kvmlocktrace from Debian packages.
# Idempotent: packages already present are skipped; apt-get update runs first when anything is missing.
set -euo pipefail

PKGS=(
	make gcc clang llvm            # userspace build; clang BPF target + llvm-strip
	libbpf-dev bpftool             # libbpf + skeleton generation
	libelf-dev zlib1g-dev          # libbpf's link dependencies
	libjson-c-dev                  # JSON output (report --format json)
	libcmocka-dev                  # unit-test framework
	libclang-rt-14-dev             # ASan/UBSan/libFuzzer runtimes for clang
	graphviz                       # dot -Tsvg (render lock graphs; tests validate DOT output)
	qemu-system-x86 busybox-static # VM test tier: stock Debian kernels under TCG
	cpio xz-utils zstd kmod        # initramfs assembly, module decompression
	dwarves                        # pahole: module BTF when building the test module for 6.12
	python3-jsonschema jq          # JSON output: schema validation and assertions in tests
	linux-perf                     # perf report/script: tests open report --format perf-data output
	perl                           # prove (TAP harness) runs every test tier
	time                           # /usr/bin/time: peak memory of the tracer under overload
	chromium nodejs                # export tests: speedscope (npm, below) rendered headless
	libbpf-tools                   # bench/overhead.sh: klockstat (perf lock: linux-perf above), the tools compared
	valgrind bpfcc-tools           # bench/userspace.sh: Helgrind and bcc's deadlock-bpfcc to compare
	stress-ng iproute2             # tests/vm-precision.t: the real workload (guests see the host's /)
	linux-source-6.12 linux-source-6.1 patch # tests/vm-corpus.t: KVM rebuilt from Debian's source, a bug put back
	flex bison bc libssl-dev       # tests/vm/kernel-build.sh (make bench-lockdep): whole kernels from that source
)
# npm ships with some nodejs builds; Debian's nodejs needs its npm package
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
else
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	echo "install-deps: done"
fi

# Consumer tools from npm, pinned by tests/consumers/package-lock.json, installed into
# tests/consumers/node_modules (ignored by git). Skipped when the pinned version is present.
cdir="$(cd "$(dirname "$0")/.." && pwd)/tests/consumers"
want=$(sed -n 's/.*"speedscope": "\(.*\)".*/\1/p' "$cdir/package.json")
have=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$cdir/node_modules/speedscope/package.json" 2>/dev/null || true)
if [ -n "$want" ] && [ "$have" = "$want" ]; then
	echo "install-deps: speedscope $have present"
else
	echo "install-deps: npm ci in tests/consumers (speedscope $want)"
	(cd "$cdir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
