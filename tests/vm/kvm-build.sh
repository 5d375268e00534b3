#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# kvm-build.sh [--kernel 6.1|6.12] NAME [PATCH...]: KVM (kvm.ko, kvm-amd.ko) built from Debian's
# linux-source-6.12 (or -6.1), with PATCHes applied (none: the unpatched control), against the
# headers of the Debian kernel of the same version, and a modules tree for
# `vmtest --kernel VMLINUZ --modules DIR`:
# that kernel's /lib/modules with the two modules replaced. The bug corpus (tests/vm/bugs/,
# tests/vm-corpus.t) uses it: a real lock bug put back into a real kernel's KVM, the rest of
# the kernel Debian's own build.
#
# Only KVM is rebuilt, out of tree, against the unpacked headers (the source tree is the
# /usr/src/linux-source-<fl>.tar.xz that the package linux-source-<fl> installs): about a
# minute on 2 cores instead of a kernel build. The kernel image and headers are the Debian
# packages whose version is the source package's (6.12.118-1~deb12u1: linux-image-6.12.118+
# deb12-amd64-unsigned; 6.1.192-3: linux-image-6.1.0-57-amd64-unsigned), fetched into the VM
# cache by vm.sh. Results are cached by version and patch contents under
# $KLT_VM_CACHE/corpus/<kver>/<NAME>-<hash>/.
#
# Module BTF: pahole needs the kernel's vmlinux as base, which Debian's 6.1 headers lack, so a
# rebuilt 6.1 KVM has no BTF (the build says "Skipping BTF generation"): the tracer then hooks
# KVM's functions with kprobes, and per-VM locks are not named from struct kvm's layout.
#
# Prints on stdout:  KERNEL=<vmlinuz>  MODULES=<lib/modules/<kver> tree>  SECONDS=<build time>
# Exit status: 0 built (or cached), 2 with one line on stderr saying what failed.
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KLT_VM_CACHE:-/var/cache/kvmlocktrace/vm}

die() { printf 'kvm-build: %s\n' "$*" >&2; exit 2; }

fl=6.12
if [ "${1:-}" = --kernel ]; then
	fl=${2:-}
	shift 2 || true
fi
case $fl in 6.1 | 6.12) ;; *) die "--kernel $fl: expected 6.1 or 6.12" ;; esac
[ $# -ge 1 ] || die "usage: kvm-build.sh [--kernel 6.1|6.12] NAME [PATCH...]"
name=$1
shift
for p in "$@"; do [ -f "$p" ] || die "patch $p: no such file"; done
SRC_TAR=/usr/src/linux-source-$fl.tar.xz
[ -f "$SRC_TAR" ] || die "$SRC_TAR missing (apt-get install linux-source-$fl; scripts/install-deps.sh does)"

# the Debian image built from this source version: the plain amd64 flavour whose version is
# the source package's
srcver=$(dpkg-query -W -f='${Version}' "linux-source-$fl" 2>/dev/null) || die "linux-source-$fl is not installed"
image=
for p in $(apt-cache pkgnames "linux-image-$fl." 2>/dev/null |
	grep -E "^linux-image-${fl//./\\.}\.[0-9][^-]*(-[0-9]+)?-amd64-unsigned$" | sort -rV); do
	if [ "$(apt-cache show --no-all-versions "$p" 2>/dev/null | sed -n 's/^Version: //p' | head -1)" = "$srcver" ]; then
		image=$p
		break
	fi
done
[ -n "$image" ] || die "no linux-image-$fl.*-amd64-unsigned of version $srcver (the linux-source-$fl version) in apt"
kver=${image#linux-image-}
kver=${kver%-unsigned}
ver=${srcver%%-*}
key=${fl//./_}
hash=$(cat "$@" /dev/null | sha256sum | cut -c1-12)
out=$CACHE/corpus/$kver/$name-$hash
root=$CACHE/$kver/root
moddir=$out/root/lib/modules/$kver

if [ ! -f "$out/.done" ]; then
	start=$(date +%s)
	# the image and headers of this exact version (not the tier's pinned 6.12): vm.sh fetches
	# them into the cache; its record of the tier's current 6.12 is kept as it was
	if [ ! -f "$CACHE/$kver/.unpacked" ]; then
		cur=$(cat "$CACHE/current-$fl" 2>/dev/null || true)
		env "KLT_VM_IMAGE_$key=$image" "KLT_VM_HEADERS_$key=linux-headers-$kver" \
			"$VM_DIR/vm.sh" fetch "$fl" >&2 || die "fetching the Debian $kver image and headers failed"
		if [ -n "$cur" ]; then printf '%s\n' "$cur" >"$CACHE/current-$fl"; else rm -f "$CACHE/current-$fl"; fi
	fi
	hdr=$root/usr/src/linux-headers-$kver
	[ -f "$hdr/Makefile" ] || die "no headers at $hdr"
	common=$(sed -n 's|^include /usr/src/\([^/]*\)/Makefile$|\1|p' "$hdr/Makefile")
	kmake=$hdr/Makefile
	[ -n "$common" ] && kmake=$root/usr/src/$common/Makefile

	# the KVM sources of this version, once
	src=$CACHE/corpus/$kver/src
	if [ ! -f "$src/.done" ]; then
		rm -rf "$src"
		mkdir -p "$src"
		top=$(basename "$SRC_TAR" .tar.xz) # the tarball's top directory (linux-source-<fl>)
		tar -xJf "$SRC_TAR" -C "$src" --strip-components=1 "$top/arch/x86/kvm" "$top/virt/kvm" ||
			die "extracting arch/x86/kvm and virt/kvm from $SRC_TAR failed"
		touch "$src/.done"
	fi

	rm -rf "$out"
	mkdir -p "$out/tree"
	cp -r "$src/arch" "$src/virt" "$out/tree/"
	for p in "$@"; do
		patch -s -d "$out/tree" -p1 <"$p" >&2 || die "patch $p does not apply to linux-source $ver"
	done
	# out of tree: virt/kvm inside the module directory (Makefile.kvm's KVM path), and an
	# include directory from which define_trace.h's ../../arch/x86/kvm/trace.h resolves
	b=$out/build
	mkdir -p "$b/include/trace" "$b/arch/x86"
	cp -r "$out/tree/arch/x86/kvm" "$b/arch/x86/kvm"
	cp -r "$out/tree/virt/kvm" "$b/arch/x86/kvm/virt"
	sed -i 's|-I \$(srctree)/arch/x86/kvm|-I $(src) -I $(src)/../../../include/trace|;
		s|^include \$(srctree)/virt/kvm/Makefile.kvm|KVM := virt\ninclude $(src)/virt/Makefile.kvm|' \
		"$b/arch/x86/kvm/Makefile"
	grep -q '^KVM := virt' "$b/arch/x86/kvm/Makefile" || die "arch/x86/kvm/Makefile of $ver: layout not understood"
	# kvm_intel is not built: the guests run on QEMU's emulated AMD CPU
	make -s -C "$hdr" -f "$kmake" M="$b/arch/x86/kvm" CONFIG_KVM_INTEL= -j"$(nproc)" modules \
		>"$out/build.log" 2>&1 || { tail -n 20 "$out/build.log" >&2; die "building KVM ($name) failed: $out/build.log"; }

	# the modules tree: Debian's (hard links), kvm.ko and kvm-amd.ko replaced, depmod again
	mkdir -p "$out/root/lib/modules"
	cp -al "$root/lib/modules/$kver" "$moddir"
	rm -f "$moddir"/modules.*.bin "$moddir"/modules.dep "$moddir"/modules.alias "$moddir"/modules.symbols
	for m in kvm kvm-amd; do
		rm -f "$moddir/kernel/arch/x86/kvm/$m.ko"*
		strip --strip-debug -o "$moddir/kernel/arch/x86/kvm/$m.ko" "$b/arch/x86/kvm/$m.ko" ||
			die "$m.ko was not built"
	done
	depmod -b "$out/root" "$kver" || die "depmod failed for $out/root"
	echo $(( $(date +%s) - start )) >"$out/.seconds"
	touch "$out/.done"
fi
echo "KERNEL=$root/boot/vmlinuz-$kver"
echo "MODULES=$moddir"
echo "SECONDS=$(cat "$out/.seconds")"
