#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# vm.sh: boot a stock Debian kernel (or any bzImage) under QEMU/TCG with the host's userland
# and run one command inside it as root. The real-kernel test tier of kvmlocktrace.
#
# Usage:
#   vm.sh fetch {6.1|6.12|7.2}   apt-get download image + headers (+ -common, linux-kbuild; 7.2: + the
#                                split-out modules and base packages, from Debian sid through a
#                                private apt configuration) into the cache and unpack them with
#                                dpkg-deb -x (never installed)
#   vm.sh initramfs {6.1|6.12|7.2}  build the busybox initramfs (9p + overlay modules) for that kernel
#   vm.sh module {6.1|6.12|7.2}  build tests/vm/module (klt_testmod.ko) against the matching headers
#   vm.sh workloads              build the C workloads (kvmloop, lockload, kvmfd, kvmhold) into build/vm/bin
#   vm.sh info {6.1|6.12|7.2}    print KEY=VALUE facts (KVER, VMLINUZ, MODDIR, HEADERS, ...)
#   vm.sh run [--kernel 6.1|6.12|7.2|BZIMAGE] [--modules DIR] [--timeout S] [--smp N] [--mem SIZE]
#             [--quiet] -- CMD...
#
# `run` boots the kernel, mounts the host root read-only over 9p under a tmpfs overlay, mounts the
# repo work tree (KLT_VM_SHARE) read-write at the same path, runs CMD as root in the host's current
# directory, and streams CMD's combined stdout+stderr to stdout, line by line as it arrives. Both
# come back over a second serial port (ttyS1), never over 9p: 9p stops answering after a suspend
# in the guest. The console
# (ttyS0) goes to a log file that is shown when something goes wrong. Messages of the harness
# itself, including "boot: 6.12 up in 3.4 s", go to stderr.
#
# Exit codes of `run`:
#   0..125  CMD's own exit status (a status above 125 is reported as 125; the real one on stderr)
#   126     harness error: bad usage, missing qemu/kernel/initramfs, fetch or build failure
#   127     kernel did not boot: the guest never reached CMD (panic, bad image, init failure,
#           no sign of life within KLT_VM_BOOT_TIMEOUT)
#   128     timeout: CMD did not finish within --timeout seconds (counted from qemu start);
#           qemu was killed
#   129     guest lost: CMD started but qemu exited without reporting its status (panic, crash,
#           CMD powered the guest off)
# Other subcommands exit 0 on success and 126 on failure.
#
# Environment:
#   KLT_VM_CACHE          download/unpack cache (default /var/cache/kvmlocktrace/vm)
#   KLT_VM_BUILD          build outputs (default <repo>/build/vm; installed: ~/.cache/kvmlocktrace/vm)
#   KLT_VM_SHARE          directory shared read-write at the same path (default: the repo root;
#                         installed: the current directory)
#   KLT_VM_BOOT_TIMEOUT   seconds allowed until CMD starts (default 120)
#   KLT_VM_APPEND         extra kernel command line (e.g. "loglevel=7")
#   KLT_VM_QEMU           qemu binary (default qemu-system-x86_64)
#   KLT_VM_TCG_THREAD     TCG threading: single (default) or multi. Multi-threaded TCG (QEMU 7.2)
#                         can run a stale translation of text the guest kernel has just patched
#                         with text_poke_bp(), killing it with "Oops: int3" (tests/vm/README.md)
#   KLT_VM_KEEP=1         keep the run directory (console log, serial output) for inspection
#   KLT_VM_IMAGE_6_1, KLT_VM_HEADERS_6_1, KLT_VM_IMAGE_6_12, KLT_VM_HEADERS_6_12,
#   KLT_VM_IMAGE_7_2, KLT_VM_MODULES_7_2, KLT_VM_BASE_7_2, KLT_VM_HEADERS_7_2, KLT_VM_SUITE_7_2,
#   KLT_VM_MIRROR: see kernels.conf
#   KLT_* variables of the caller are exported to CMD inside the guest.
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
CACHE=${KLT_VM_CACHE:-/var/cache/kvmlocktrace/vm}
if [ -f "$REPO/Makefile" ] && [ -d "$REPO/src" ]; then
	# In the source tree: outputs in build/vm, the work tree shared read-write.
	BUILD=${KLT_VM_BUILD:-$REPO/build/vm}
	SHARE=${KLT_VM_SHARE:-$REPO}
else
	# Installed (e.g. under libexec): outputs in the user's cache, the current directory shared.
	BUILD=${KLT_VM_BUILD:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmlocktrace/vm}
	SHARE=${KLT_VM_SHARE:-$PWD}
fi
BOOT_TIMEOUT=${KLT_VM_BOOT_TIMEOUT:-120}
QEMU=${KLT_VM_QEMU:-qemu-system-x86_64}

EXIT_HARNESS=126
EXIT_NOBOOT=127
EXIT_TIMEOUT=128
EXIT_LOST=129

# Modules the initramfs needs (plus their dependencies from modules.dep).
INITRD_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

# shellcheck source-path=SCRIPTDIR source=kernels.conf
. "$VM_DIR/kernels.conf"

msg() { printf 'vm: %s\n' "$*" >&2; }
die() { msg "$*"; exit "$EXIT_HARNESS"; }

# --- kernel resolution ---------------------------------------------------------------------

# flavour_key 6.1 -> 6_1 ; rejects anything else.
flavour_key() {
	case $1 in
	6.1 | 6.12 | 7.2) printf '%s\n' "${1//./_}" ;;
	*) die "unknown kernel flavour '$1' (expected 6.1, 6.12 or 7.2)" ;;
	esac
}

# flavour_style FLAVOUR: how Debian packages that kernel.
#   image: linux-image-<kver>-unsigned holds /boot/vmlinuz-<kver> and /lib/modules/<kver> (6.1, 6.12)
#   split: linux-binary-<kver> holds /usr/lib/modules/<kver>/vmlinuz, linux-modules-<kver> the
#          modules and linux-base-<kver> System.map, config, modules.builtin, modules.order (7.2)
flavour_style() {
	case $1 in
	7.2) printf 'split\n' ;;
	*) printf 'image\n' ;;
	esac
}

# kver_of_image linux-image-6.1.0-56-amd64-unsigned -> 6.1.0-56-amd64 ;
#               linux-binary-7.2.13+deb14-amd64 -> 7.2.13+deb14-amd64
kver_of_image() {
	local k=${1#linux-image-}
	k=${k#linux-binary-unsigned-}
	k=${k#linux-binary-}
	printf '%s\n' "${k%-unsigned}"
}

# image_pkg_of STYLE KVER: the package holding that kernel's vmlinuz.
image_pkg_of() {
	case $1 in
	split) printf 'linux-binary-%s\n' "$2" ;;
	*) printf 'linux-image-%s-unsigned\n' "$2" ;;
	esac
}

# APT: extra apt-get/apt-cache options. Empty (the machine's own apt configuration) unless the
# flavour names a suite (KLT_VM_SUITE_<key>, e.g. sid for 7.2): then a private configuration under
# $CACHE/apt-<suite> (sources file, package lists, apt's cache), so the machine's sources and
# lists are never touched.
APT=()
APT_SUITE=
apt_use_suite() {
	local suite=$1 d
	APT_SUITE=$suite
	d=$CACHE/apt-$suite
	APT=(-o "Dir::Etc::sourcelist=$d/etc/$suite.sources" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o APT::Sandbox::User=root)
	mkdir -p "$d/etc" "$d/lists/partial" "$d/cache/archives/partial" || die "cannot create $d"
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
		"${KLT_VM_MIRROR:-http://deb.debian.org/debian}" "$suite" \
		/usr/share/keyrings/debian-archive-keyring.gpg >"$d/etc/$suite.sources.tmp"
	mv "$d/etc/$suite.sources.tmp" "$d/etc/$suite.sources"
	# A moving suite (sid) drops superseded kernels within days: lists older than a day are
	# refreshed before anything is looked up, so the fallback below sees what the mirror has.
	if [ -z "$(find "$d/lists" -maxdepth 1 -name '*_InRelease' -mmin -1440 2>/dev/null)" ]; then
		apt_update_once
	fi
}

apt_candidate() {
	apt-cache "${APT[@]}" policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }'
}

APT_UPDATED=0
apt_update_once() {
	[ "$APT_UPDATED" = 1 ] && return 0
	if [ -n "$APT_SUITE" ]; then
		msg "apt-get update ($APT_SUITE, private lists in $CACHE/apt-$APT_SUITE)"
	else
		msg "apt-get update"
	fi
	apt-get "${APT[@]}" update -qq >&2 || die "apt-get update failed"
	APT_UPDATED=1
}

# pkg_available PKG: true when apt offers a candidate for PKG (updates the lists once if not).
pkg_available() {
	local c
	c=$(apt_candidate "$1")
	if [ -z "$c" ] || [ "$c" = "(none)" ]; then
		apt_update_once
		c=$(apt_candidate "$1")
	fi
	[ -n "$c" ] && [ "$c" != "(none)" ]
}

is_unpacked() { [ -f "$CACHE/$1/.unpacked" ]; }

# resolve FLAVOUR [fetch]: sets IMAGE_PKG HEADERS_PKG EXTRA_PKGS KVER ROOT (EXTRA_PKGS: the split
# style's modules and base packages). Without "fetch" it only looks at the cache (pinned version
# first, then the fallback recorded by an earlier fetch).
resolve() {
	local fl=$1 mode=${2:-} key img hdr style suite newest p k prefix re
	key=$(flavour_key "$fl")
	style=$(flavour_style "$fl")
	img=KLT_VM_IMAGE_$key
	hdr=KLT_VM_HEADERS_$key
	IMAGE_PKG=${!img}
	HEADERS_PKG=${!hdr}
	KVER=$(kver_of_image "$IMAGE_PKG")
	EXTRA_PKGS=()
	if [ "$style" = split ]; then
		local mods=KLT_VM_MODULES_$key base=KLT_VM_BASE_$key
		EXTRA_PKGS=("${!mods}" "${!base}")
	fi
	if ! is_unpacked "$KVER"; then
		if [ "$mode" = fetch ]; then
			suite=KLT_VM_SUITE_$key
			[ -z "${!suite:-}" ] || apt_use_suite "${!suite}"
			if ! pkg_available "$IMAGE_PKG"; then
				# Plain amd64 flavour only (not cloud-amd64/rt-amd64), newest with a candidate.
				prefix=$(image_pkg_of "$style" "$fl.")
				prefix=${prefix%-unsigned}
				if [ "$style" = split ]; then
					re="^linux-binary-${fl//./\\.}\.[0-9][^-]*(-[0-9]+)?-amd64$"
				else
					re="^linux-image-${fl//./\\.}\.[0-9][^-]*(-[0-9]+)?-amd64-unsigned$"
				fi
				newest=
				for p in $(apt-cache "${APT[@]}" pkgnames "$prefix" 2>/dev/null | grep -E "$re" | sort -rV); do
					k=$(kver_of_image "$p")
					if pkg_available "$p" && pkg_available "linux-headers-$k" &&
						{ [ "$style" != split ] ||
							{ pkg_available "linux-modules-$k" && pkg_available "linux-base-$k"; }; }; then
						newest=$p
						break
					fi
				done
				[ -n "$newest" ] || die "$IMAGE_PKG is not offered by apt and no $(image_pkg_of "$style" "$fl.*-amd64") is"
				msg "pinned $IMAGE_PKG is gone from apt; falling back to $newest"
				IMAGE_PKG=$newest
				KVER=$(kver_of_image "$IMAGE_PKG")
				HEADERS_PKG=linux-headers-$KVER
				[ "$style" != split ] || EXTRA_PKGS=("linux-modules-$KVER" "linux-base-$KVER")
			fi
		elif [ -f "$CACHE/current-$fl" ] && is_unpacked "$(cat "$CACHE/current-$fl")"; then
			KVER=$(cat "$CACHE/current-$fl")
			IMAGE_PKG=$(image_pkg_of "$style" "$KVER")
			HEADERS_PKG=linux-headers-$KVER
			[ "$style" != split ] || EXTRA_PKGS=("linux-modules-$KVER" "linux-base-$KVER")
			msg "using fallback kernel $KVER for $fl (pinned $(kver_of_image "${!img}") not fetched)"
		else
			die "kernel $fl ($KVER) is not fetched: run tests/vm/vm.sh fetch $fl"
		fi
	fi
	# The split packages of one kernel must all be of its ABI (an override of only one of them).
	for p in "${EXTRA_PKGS[@]}"; do
		[ "${p%-"$KVER"}" != "$p" ] || die "$p does not belong to kernel $KVER ($IMAGE_PKG): see kernels.conf"
	done
	ROOT=$CACHE/$KVER/root
}

# headers_deps PKG: the packages a headers package needs to build a module (-common, kbuild).
headers_deps() {
	apt-cache "${APT[@]}" show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed 's/^ *//; s/[ (|].*//' | grep -E '^linux-(headers-.*-common|kbuild-.*)$' || true
}

cmd_fetch() {
	local fl=$1 pkgs p deb
	resolve "$fl" fetch
	if is_unpacked "$KVER"; then
		msg "fetch: $fl = $KVER already unpacked in $CACHE/$KVER"
		printf '%s\n' "$KVER" >"$CACHE/current-$fl"
		return 0
	fi
	command -v apt-get >/dev/null || die "apt-get not found"
	for p in "$HEADERS_PKG" "${EXTRA_PKGS[@]}"; do
		pkg_available "$p" || die "$p is not offered by apt"
	done
	mkdir -p "$CACHE/debs"
	pkgs=("$IMAGE_PKG" "${EXTRA_PKGS[@]}" "$HEADERS_PKG")
	while read -r p; do
		[ -n "$p" ] && pkgs+=("$p")
	done < <(headers_deps "$HEADERS_PKG")
	msg "fetch: $fl = $KVER: ${pkgs[*]}"
	for p in "${pkgs[@]}"; do
		if ! compgen -G "$CACHE/debs/${p}_*.deb" >/dev/null; then
			if ! (cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "${APT[@]}" "$p" >&2); then
				# A private suite's lists go stale fast (sid): refresh them once and retry.
				if [ -z "$APT_SUITE" ] || [ "$APT_UPDATED" = 1 ]; then
					die "apt-get download $p failed"
				fi
				apt_update_once
				(cd "$CACHE/debs" && apt-get download -q "${APT[@]}" "$p" >&2) || die "apt-get download $p failed"
			fi
		fi
	done
	rm -rf "$CACHE/$KVER.tmp"
	mkdir -p "$CACHE/$KVER.tmp/root"
	for p in "${pkgs[@]}"; do
		for deb in "$CACHE/debs/${p}"_*.deb; do
			dpkg-deb -x "$deb" "$CACHE/$KVER.tmp/root" || die "dpkg-deb -x $deb failed"
		done
	done
	# The split packages (7.2) install into /usr/lib/modules only (merged /usr). Give the unpacked
	# root the /lib -> usr/lib link of a merged-/usr system, as the host has: depmod -b (kmod 30)
	# looks for <base>/lib/modules, and so do the paths below.
	if [ ! -e "$CACHE/$KVER.tmp/root/lib" ] && [ -d "$CACHE/$KVER.tmp/root/usr/lib/modules/$KVER" ]; then
		ln -s usr/lib "$CACHE/$KVER.tmp/root/lib"
	fi
	# The packages ship no modules.dep (the postinst makes it); modprobe in the guest needs it.
	depmod -b "$CACHE/$KVER.tmp/root" "$KVER" || die "depmod failed for $KVER"
	rm -rf "${CACHE:?}/$KVER"
	mv "$CACHE/$KVER.tmp" "$CACHE/$KVER"
	touch "$CACHE/$KVER/.unpacked"
	printf '%s\n' "$KVER" >"$CACHE/current-$fl"
	msg "fetch: $fl = $KVER unpacked in $CACHE/$KVER"
}

# moddir_of: the unpacked modules directory (usr/lib/modules for the split packages, by its real
# path, not through the lib -> usr/lib link). vmlinuz_of: /boot/vmlinuz-<kver>, or (split
# packages) the vmlinuz inside the modules directory.
moddir_of() {
	if [ -L "$ROOT/lib" ] && [ -d "$ROOT/usr/lib/modules/$KVER" ]; then
		printf '%s\n' "$ROOT/usr/lib/modules/$KVER"
	else
		printf '%s\n' "$ROOT/lib/modules/$KVER"
	fi
}
vmlinuz_of() {
	if [ -f "$ROOT/boot/vmlinuz-$KVER" ] || ! [ -f "$(moddir_of)/vmlinuz" ]; then
		printf '%s\n' "$ROOT/boot/vmlinuz-$KVER"
	else
		printf '%s\n' "$(moddir_of)/vmlinuz"
	fi
}
headers_of() { printf '%s\n' "$ROOT/usr/src/linux-headers-$KVER"; }

cmd_info() {
	resolve "$1"
	printf 'KVER=%s\nIMAGE_PKG=%s\nHEADERS_PKG=%s\nROOT=%s\nVMLINUZ=%s\nMODDIR=%s\nHEADERS=%s\nINITRAMFS=%s\n' \
		"$KVER" "$IMAGE_PKG" "$HEADERS_PKG" "$ROOT" "$(vmlinuz_of)" "$(moddir_of)" \
		"$(headers_of)" "$BUILD/$KVER/initramfs.cpio"
}

# --- initramfs ----------------------------------------------------------------------------------

# mod_closure MODDIR NAME...: module files (relative to MODDIR) in load order, deps first.
mod_closure() {
	local moddir=$1 m
	shift
	declare -A path=() deps=() seen=()
	local key val f name
	while IFS= read -r line; do
		key=${line%%:*}
		val=${line#*:}
		f=${key##*/}
		name=${f%%.ko*}
		name=${name//-/_}
		path[$name]=$key
		deps[$name]=$val
	done <"$moddir/modules.dep"
	local order=()
	visit() {
		local n=$1 d dn
		[ -n "${seen[$n]:-}" ] && return 0
		seen[$n]=1
		for d in ${deps[$n]}; do
			dn=${d##*/}
			dn=${dn%%.ko*}
			visit "${dn//-/_}"
		done
		order+=("${path[$n]}")
	}
	for m in "$@"; do
		m=${m//-/_}
		if [ -z "${path[$m]:-}" ]; then
			if grep -qE "/${m//_/[-_]}\.ko$" "$moddir/modules.builtin" 2>/dev/null; then
				continue
			fi
			die "module $m not found in $moddir/modules.dep (and not built in)"
		fi
		visit "$m"
	done
	[ ${#order[@]} -gt 0 ] && printf '%s\n' "${order[@]}"
	return 0
}

# build_initramfs MODDIR OUT: busybox + /init + the 9p/overlay modules of MODDIR (may be empty when
# the kernel has them built in).
build_initramfs() {
	local moddir=$1 out=$2 st bb rel base
	bb=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
	# A dynamic busybox (Debian package busybox) cannot run in the initramfs: no libc there.
	if LC_ALL=C readelf -l "$bb" 2>/dev/null | grep -q 'INTERP'; then
		die "$bb is dynamically linked (apt-get install busybox-static)"
	fi
	st=$out.d
	rm -rf "$st"
	mkdir -p "$st"/{bin,dev,proc,sys,mnt/lower,mnt/rw,newroot,mods}
	cp "$bb" "$st/bin/busybox"
	ln -s busybox "$st/bin/sh"
	[ "$(id -u)" = 0 ] && mknod -m 600 "$st/dev/console" c 5 1
	: >"$st/modules.list"
	if [ -n "$moddir" ]; then
		while IFS= read -r rel; do
			base=${rel##*/}
			case $base in
			*.ko.xz) xz -dc "$moddir/$rel" >"$st/mods/${base%.xz}" ;;
			*.ko.zst) zstd -qdc "$moddir/$rel" >"$st/mods/${base%.zst}" ;;
			*.ko.gz) gzip -dc "$moddir/$rel" >"$st/mods/${base%.gz}" ;;
			*.ko) cp "$moddir/$rel" "$st/mods/$base" ;;
			*) die "unexpected module file $rel" ;;
			esac
			printf '%s\n' "${base%.ko*}.ko" >>"$st/modules.list"
		done < <(mod_closure "$moddir" "${INITRD_MODULES[@]}")
	fi
	cp "$VM_DIR/init.sh" "$st/init"
	chmod 755 "$st/init"
	(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp" ||
		die "cpio failed"
	mv "$out.tmp" "$out"
	rm -rf "$st"
}

cmd_initramfs() {
	local fl=$1 out
	resolve "$fl"
	out=$BUILD/$KVER/initramfs.cpio
	mkdir -p "$BUILD/$KVER"
	if [ -f "$out" ] && [ "$out" -nt "$VM_DIR/init.sh" ] && [ "$out" -nt "$VM_DIR/vm.sh" ] &&
		[ "$out" -nt "$CACHE/$KVER/.unpacked" ]; then
		return 0
	fi
	build_initramfs "$(moddir_of)" "$out"
	msg "initramfs: $fl ($KVER): $out ($(($(stat -c %s "$out") / 1024)) KiB, modules: $(cpio -it --quiet <"$out" | grep -c '\.ko$'))"
}

# --- build helpers --------------------------------------------------------------------------------

cmd_workloads() {
	make -s -C "$VM_DIR" O="$BUILD" workloads >&2 || die "building workloads failed"
}

cmd_module() {
	local fl=$1 hdr dst
	resolve "$fl"
	hdr=$(headers_of)
	[ -f "$hdr/Makefile" ] || die "no headers at $hdr"
	dst=$BUILD/$KVER/module
	mkdir -p "$dst"
	cp "$VM_DIR/module/klt_testmod.c" "$VM_DIR/module/Kbuild" "$dst/"
	make -s -C "$VM_DIR/module" KDIR="$hdr" OUT="$dst" >&2 ||
		die "building klt_testmod for $KVER failed"
	[ -f "$dst/klt_testmod.ko" ] || die "klt_testmod.ko was not produced"
	printf '%s\n' "$dst/klt_testmod.ko"
}

# --- run --------------------------------------------------------------------------------------------

# shq WORD: single-quote WORD for a POSIX shell.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

QEMU_PID=
RUN_DIR=

# wait_gone PID TENTHS: wait up to TENTHS/10 s for PID to exit.
wait_gone() {
	local n=0
	while [ "$n" -lt "$2" ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
}

cleanup() {
	if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill "$QEMU_PID" 2>/dev/null || true
		wait_gone "$QEMU_PID" 20
		kill -9 "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	QEMU_PID=
	if [ -n "$RUN_DIR" ] && [ -d "$RUN_DIR" ] && [ "${KLT_VM_KEEP:-0}" != 1 ]; then
		rm -rf "$RUN_DIR"
	fi
}

show_console() {
	local why=$1
	msg "$why; last lines of the guest console ($RUN_DIR/console.log):"
	if [ -s "$RUN_DIR/console.log" ]; then
		# the first kernel error, which a long trace pushes out of the tail below
		{ grep -a -m1 -E 'Oops:|BUG:|Kernel panic|general protection fault' "$RUN_DIR/console.log" || true; } |
			tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g; s/^.*\(\[ *[0-9.]*\] \)/\1/; s/^/  first error: /' >&2
		tail -n 40 "$RUN_DIR/console.log" | tr -d '\r' |
			sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g; s/^/  | /' >&2
	else
		msg "  (console is empty)"
	fi
	if [ -s "$RUN_DIR/qemu.log" ]; then
		sed 's/^/  qemu: /' "$RUN_DIR/qemu.log" >&2
	fi
	KLT_VM_KEEP=1
	msg "run directory kept: $RUN_DIR"
}

BOOT_MARK='<<KLT-BOOT>>'

# flush_output FILE [final]: stream the command's output (between the boot marker line and the
# exit marker "\n<<KLT-EXIT n>>\n") to stdout as it arrives. PRINTED is the file offset printed
# up to. Until the end, output is printed up to (not including) its last newline, so a marker
# that is still arriving byte by byte is never printed; a line is shown once it is complete.
PRINTED=$((${#BOOT_MARK} + 1))
exit_marker_at_end() { [[ $(tail -c 40 "$1" | tail -n 1 | tr -d '\0') =~ ^\<\<KLT-EXIT\ ([0-9]+)\>\>$ ]]; }
flush_output() {
	local f=$1 final=${2:-} end off size partial
	if [ "$final" = final ]; then
		off=$(grep -abo '<<KLT-EXIT [0-9]*>>' "$f" | tail -n 1 | cut -d: -f1 || true)
		if [ -n "$off" ]; then
			end=$((off - 1))
		else
			end=$(stat -c %s "$f")
		fi
	else
		exit_marker_at_end "$f" && return 0
		size=$(stat -c %s "$f")
		if [ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" = 0a ]; then
			end=$((size - 1))
		else
			partial=$(tail -c 4096 "$f" | tail -n 1 | wc -c)
			if [ "$partial" -ge 4096 ]; then
				end=$((size - 32)) # a long line without newline: hold back only a marker's length
			else
				end=$((size - partial - 1))
			fi
		fi
	fi
	[ "$end" -gt "$PRINTED" ] || return 0
	# no pipe: `tail | head` on a large output (a multi-MB recording) killed tail with SIGPIPE,
	# and pipefail made that vm.sh's exit status (141)
	dd if="$f" iflag=skip_bytes,count_bytes skip="$PRINTED" count="$((end - PRINTED))" \
		bs=1M status=none
	PRINTED=$end
}

cmd_run() {
	local kernel=6.12 moddir='' timeout=600 smp=2 mem=2G quiet=0 label vmlinuz initrd
	while [ $# -gt 0 ]; do
		case $1 in
		--kernel) kernel=${2:?--kernel needs a value}; shift 2 ;;
		--modules) moddir=${2:?--modules needs a value}; shift 2 ;;
		--timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
		--smp) smp=${2:?--smp needs a value}; shift 2 ;;
		--mem) mem=${2:?--mem needs a value}; shift 2 ;;
		--quiet) quiet=1; shift ;;
		--) shift; break ;;
		*) die "run: unknown option '$1' (usage: vm.sh run [--kernel K] [--modules DIR] [--timeout S] [--smp N] -- CMD...)" ;;
		esac
	done
	[ $# -gt 0 ] || die "run: no command given (vm.sh run [options] -- CMD...)"
	[[ $timeout =~ ^[0-9]+$ ]] || die "run: --timeout must be whole seconds"
	command -v "$QEMU" >/dev/null || die "$QEMU not found (apt-get install qemu-system-x86)"

	case $kernel in
	6.1 | 6.12 | 7.2)
		label=$kernel
		# Fetch on first use (resolve exits, so probe it in a subshell).
		(resolve "$kernel") 2>/dev/null || cmd_fetch "$kernel"
		resolve "$kernel"
		vmlinuz=$(vmlinuz_of)
		cmd_initramfs "$kernel"
		initrd=$BUILD/$KVER/initramfs.cpio
		[ -n "$moddir" ] || moddir=$(moddir_of)
		;;
	*)
		vmlinuz=$kernel
		label=$(basename "$kernel")
		[ -f "$vmlinuz" ] || die "kernel image $vmlinuz does not exist"
		if [ -n "$moddir" ]; then
			[ -f "$moddir/modules.dep" ] || die "$moddir has no modules.dep (run depmod)"
			moddir=$(cd "$moddir" && pwd)
			initrd=$BUILD/custom/$(printf '%s' "$moddir" | md5sum | cut -c1-12).cpio
		else
			initrd=$BUILD/custom/builtin.cpio
		fi
		mkdir -p "$BUILD/custom"
		if ! [ -f "$initrd" ] || [ "$VM_DIR/init.sh" -nt "$initrd" ] || [ "$VM_DIR/vm.sh" -nt "$initrd" ]; then
			build_initramfs "$moddir" "$initrd"
		fi
		;;
	esac
	[ -f "$vmlinuz" ] || die "kernel image $vmlinuz does not exist"
	[ -f "$initrd" ] || die "initramfs $initrd does not exist"

	mkdir -p "$BUILD"
	RUN_DIR=$(mktemp -d "$BUILD/run.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	# The command script: environment, working directory, the command, quoted for sh.
	{
		printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LC_ALL=C.UTF-8\n'
		local v
		while IFS= read -r v; do
			printf 'export %s=%s\n' "$v" "$(shq "${!v}")"
		done < <(compgen -v | grep -E '^KLT_' || true)
		printf 'cd %s 2>/dev/null || cd /\n' "$(shq "$PWD")"
		printf 'exec'
		local a
		for a in "$@"; do
			printf ' %s' "$(shq "$a")"
		done
		printf '\n'
	} >"$RUN_DIR/cmd.sh"

	local append="console=ttyS0 panic=-1 quiet klt.run=$RUN_DIR klt.share=$SHARE"
	[ -n "$moddir" ] && append+=" klt.moddir=$moddir"
	[ -n "${KLT_VM_APPEND:-}" ] && append+=" $KLT_VM_APPEND"

	local t0 now booted=0 t_boot='' rc='' out=$RUN_DIR/out.log
	: >"$out"
	t0=$(date +%s%N)
	"$QEMU" -accel "tcg,thread=${KLT_VM_TCG_THREAD:-single}" -cpu max -smp "$smp" -m "$mem" -nographic -no-reboot -nodefaults \
		-monitor none \
		-kernel "$vmlinuz" -initrd "$initrd" -append "$append" \
		-serial "file:$RUN_DIR/console.log" -serial "file:$out" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$SHARE,mount_tag=share,security_model=none,multidevs=remap" \
		</dev/null >"$RUN_DIR/qemu.log" 2>&1 &
	QEMU_PID=$!

	local boot_deadline=$((BOOT_TIMEOUT < timeout ? BOOT_TIMEOUT : timeout))
	while :; do
		now=$(date +%s%N)
		if [ "$booted" = 0 ] && grep -qF "$BOOT_MARK" "$out" 2>/dev/null; then
			booted=1
			t_boot=$(((now - t0) / 1000000))
			[ "$quiet" = 1 ] || printf 'boot: %s up in %d.%d s\n' "$label" $((t_boot / 1000)) $((t_boot % 1000 / 100)) >&2
		fi
		if [ "$booted" = 1 ]; then
			# Done when the file ends with the exit marker line (init writes nothing after it).
			if exit_marker_at_end "$out"; then
				rc=${BASH_REMATCH[1]}
				break
			fi
			flush_output "$out"
		fi
		if ! kill -0 "$QEMU_PID" 2>/dev/null; then
			# One last look: qemu may have flushed the marker just before exiting.
			if exit_marker_at_end "$out"; then
				continue
			fi
			wait "$QEMU_PID" 2>/dev/null || true
			QEMU_PID=
			if [ "$booted" = 0 ]; then
				show_console "kernel did not boot ($label): qemu exited before the command started"
				return "$EXIT_NOBOOT"
			fi
			flush_output "$out" final
			show_console "guest lost ($label): qemu exited without reporting the command's status"
			return "$EXIT_LOST"
		fi
		if [ "$booted" = 0 ] && [ $(((now - t0) / 1000000000)) -ge "$boot_deadline" ]; then
			if [ "$boot_deadline" -ge "$timeout" ]; then
				flush_output "$out" final
				show_console "timeout after ${timeout} s ($label): the guest had not even started the command"
				return "$EXIT_TIMEOUT"
			fi
			show_console "kernel did not boot ($label) within ${boot_deadline} s"
			return "$EXIT_NOBOOT"
		fi
		if [ $(((now - t0) / 1000000000)) -ge "$timeout" ]; then
			flush_output "$out" final
			show_console "timeout after ${timeout} s ($label): qemu killed"
			return "$EXIT_TIMEOUT"
		fi
		sleep 0.1
	done
	# The guest powers itself off after reporting; give it a moment, then kill it.
	wait_gone "$QEMU_PID" 50
	flush_output "$out" final
	if [ "$rc" -gt 125 ]; then
		msg "command exited with status $rc (reported as 125)"
		rc=125
	fi
	return "$rc"
}

usage() {
	sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit "$EXIT_HARNESS"
}

main() {
	[ $# -gt 0 ] || usage
	local sub=$1
	shift
	case $sub in
	fetch) [ $# -eq 1 ] || usage; cmd_fetch "$1" ;;
	initramfs) [ $# -eq 1 ] || usage; cmd_initramfs "$1" ;;
	module) [ $# -eq 1 ] || usage; cmd_module "$1" ;;
	workloads) cmd_workloads ;;
	info) [ $# -eq 1 ] || usage; cmd_info "$1" ;;
	run) cmd_run "$@" ;;
	-h | --help | help) usage ;;
	*) msg "unknown subcommand '$sub'"; usage ;;
	esac
}

main "$@"
