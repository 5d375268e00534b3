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
	perl                           # prove (TAP harness) runs every test tier
	time                           # /usr/bin/time: peak memory of the tracer under overload
	valgrind bpfcc-tools           # bench/userspace.sh: Helgrind and bcc's deadlock-bpfcc to compare
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
