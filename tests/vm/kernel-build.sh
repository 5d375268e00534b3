#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# kernel-build.sh [--kernel 6.12] [--flavour prod|lockdep] [--jobs N]: a small x86_64 kernel
# (bzImage + modules tree) built from Debian's linux-source-<ver> for booting with
# `vm.sh run --kernel BZIMAGE --modules DIR` / `vmtest.sh --kernel BZIMAGE --modules DIR`.
#
# Flavours, from one configuration fragment (below) and one extracted source tree:
#   prod     a KVM host without lock debugging (the default)
#   lockdep  the same plus PROVE_LOCKING and DEBUG_ATOMIC_SLEEP (and what they select; no
#            LOCK_STAT), so the guest's own lockdep can be compared with the tracer's findings
#
# The configuration is `make allnoconfig` with the fragment (common part merged with the
# flavour's by scripts/kconfig/merge_config.sh) as KCONFIG_ALLCONFIG, then `make olddefconfig`;
# every option of the fragment (and a few they must bring along) is then checked in the final
# .config and the build stops, naming them, if any did not end up as asked. Everything the
# guest init (init.sh) needs is built in (virtio-pci, 9p, overlay, tmpfs, devtmpfs, debugfs,
# tracefs, bpffs), so the initramfs carries no modules; KVM (kvm, kvm-amd, kvm-intel) are modules.
# ACPI is in for power-off (qemu exits when the guest is done) and S3 (pm_test=core suspends).
#
# The source (/usr/src/linux-source-<ver>.tar.xz, package linux-source-<ver>) is extracted once
# into $KLT_VM_CACHE/build/src-<srcver>/ and built out of tree (O=), one build directory per
# flavour. Results are cached by source version, flavour and a hash of this script and the
# fragment under $KLT_VM_CACHE/build/<srcver>-<flavour>-<hash>/:
#   bzImage, config, obj/ (the O= tree: vmlinux, System.map; also a KDIR for external modules),
#   modroot/lib/modules/<release>/ (modules_install, debug info stripped, depmod'ed), build.log
# A cached result prints at once. An interrupted build resumes (make is incremental) on the next
# call. Every make runs under `nice -n 19` with -j N (default 2).
#
# Prints on stdout:  KERNEL=<bzImage>  MODULES=<lib/modules/<release> tree>  SECONDS=<build time>
# Exit status: 0 built (or cached), 2 with one line on stderr saying what failed.
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$VM_DIR/$(basename "${BASH_SOURCE[0]}")
CACHE=${KLT_VM_CACHE:-/var/cache/kvmlocktrace/vm}
USAGE="usage: kernel-build.sh [--kernel 6.12] [--flavour prod|lockdep] [--jobs N]"

die() { printf 'kernel-build: %s\n' "$*" >&2; exit 2; }
msg() { printf 'kernel-build: %s\n' "$*" >&2; }

fl=6.12 flavour=prod jobs=2
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || die "$USAGE"; fl=$2; shift 2 ;;
	--flavour | --flavor) [ $# -ge 2 ] || die "$USAGE"; flavour=$2; shift 2 ;;
	--jobs | -j) [ $# -ge 2 ] || die "$USAGE"; jobs=$2; shift 2 ;;
	-h | --help) sed -n '3,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
	*) die "unknown argument '$1' ($USAGE)" ;;
	esac
done
[[ $fl =~ ^[0-9]+\.[0-9]+$ ]] || die "--kernel $fl: expected a version such as 6.12"
case $flavour in prod | lockdep) ;; *) die "--flavour $flavour: expected prod or lockdep" ;; esac
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs $jobs: expected a positive number"
SRC_TAR=/usr/src/linux-source-$fl.tar.xz
[ -f "$SRC_TAR" ] || die "$SRC_TAR missing (apt-get install linux-source-$fl)"
srcver=$(dpkg-query -W -f='${Version}' "linux-source-$fl" 2>/dev/null) || srcver=$fl
ver=${srcver%%-*} # 6.12.118-1~deb12u1 -> 6.12.118

# --- configuration ------------------------------------------------------------------------------

# The fragment common to both flavours. Options that only exist in some versions are listed in
# OPTIONAL (not present in the source tree: skipped with a note; present: required).
common_fragment() {
	cat <<'EOF'
CONFIG_64BIT=y
CONFIG_SMP=y
CONFIG_NR_CPUS=8
CONFIG_HOTPLUG_CPU=y
CONFIG_PREEMPT_VOLUNTARY=y
CONFIG_NO_HZ_IDLE=y
CONFIG_HIGH_RES_TIMERS=y
CONFIG_HPET_TIMER=y
CONFIG_ACPI=y
CONFIG_PCI=y
CONFIG_PCI_MSI=y
CONFIG_MULTIUSER=y
CONFIG_SYSVIPC=y
CONFIG_PRINTK=y
CONFIG_PRINTK_TIME=y
CONFIG_FUTEX=y
CONFIG_EPOLL=y
CONFIG_SHMEM=y
CONFIG_CGROUPS=y
CONFIG_IKCONFIG=y
CONFIG_IKCONFIG_PROC=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_RD_XZ=y
CONFIG_RD_ZSTD=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
CONFIG_KALLSYMS=y
CONFIG_KALLSYMS_ALL=y
CONFIG_PERF_EVENTS=y
CONFIG_BPF_SYSCALL=y
CONFIG_BPF_JIT=y
CONFIG_SUSPEND=y
CONFIG_PM_DEBUG=y
CONFIG_VIRTUALIZATION=y
CONFIG_KVM=m
CONFIG_KVM_AMD=m
CONFIG_KVM_INTEL=m
CONFIG_KPROBES=y
CONFIG_NET=y
CONFIG_UNIX=y
CONFIG_INET=y
CONFIG_NET_9P=y
CONFIG_NET_9P_VIRTIO=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_TTY=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_PCI=y
CONFIG_INOTIFY_USER=y
CONFIG_OVERLAY_FS=y
CONFIG_PROC_FS=y
CONFIG_PROC_SYSCTL=y
CONFIG_SYSFS=y
CONFIG_TMPFS=y
CONFIG_TMPFS_POSIX_ACL=y
CONFIG_TMPFS_XATTR=y
CONFIG_HUGETLBFS=y
CONFIG_NETWORK_FILESYSTEMS=y
CONFIG_9P_FS=y
CONFIG_9P_FS_POSIX_ACL=y
CONFIG_MAGIC_SYSRQ=y
CONFIG_DEBUG_KERNEL=y
CONFIG_DEBUG_FS=y
CONFIG_DEBUG_INFO_DWARF5=y
CONFIG_DEBUG_INFO_BTF=y
CONFIG_DEBUG_INFO_BTF_MODULES=y
CONFIG_FTRACE=y
CONFIG_FUNCTION_TRACER=y
CONFIG_DYNAMIC_FTRACE=y
CONFIG_FPROBE=y
CONFIG_KPROBE_EVENTS=y
CONFIG_UPROBE_EVENTS=y
CONFIG_BPF_EVENTS=y
EOF
}
OPTIONAL=" FPROBE "

flavour_fragment() {
	printf 'CONFIG_LOCALVERSION="-klt-%s"\n' "$flavour"
	case $flavour in
	prod)
		cat <<'EOF'
# CONFIG_PROVE_LOCKING is not set
# CONFIG_DEBUG_ATOMIC_SLEEP is not set
# CONFIG_LOCK_STAT is not set
EOF
		;;
	lockdep)
		cat <<'EOF'
CONFIG_PROVE_LOCKING=y
CONFIG_DEBUG_ATOMIC_SLEEP=y
# CONFIG_LOCK_STAT is not set
EOF
		;;
	esac
}

# Options the fragment must bring along (selected or def_bool): checked, not requested.
expected_derived() {
	cat <<'EOF'
CONFIG_X86_64=y
CONFIG_DEBUG_INFO=y
CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y
CONFIG_TRACEPOINTS=y
CONFIG_KRETPROBES=y
CONFIG_PM_SLEEP=y
CONFIG_PM_SLEEP_DEBUG=y
CONFIG_ACPI_SLEEP=y
EOF
	case $flavour in
	prod)
		echo '# CONFIG_LOCKDEP is not set'
		;;
	lockdep)
		cat <<'EOF'
CONFIG_LOCKDEP=y
CONFIG_DEBUG_LOCK_ALLOC=y
CONFIG_DEBUG_SPINLOCK=y
CONFIG_DEBUG_MUTEXES=y
CONFIG_DEBUG_RWSEMS=y
CONFIG_TRACE_IRQFLAGS=y
CONFIG_PREEMPT_COUNT=y
CONFIG_PROVE_RCU=y
EOF
		;;
	esac
}

# check_config CONFIG SRCDIR: every line of the fragment and of expected_derived holds in CONFIG;
# dies with the list of those that do not.
check_config() {
	local cfg=$1 src=$2 line name got bad=() notes=()
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) name=${line%%=*} ;;
		'# CONFIG_'*' is not set') name=${line#'# '}; name=${name%' is not set'} ;;
		*) continue ;;
		esac
		got=$(grep -m1 -E "^(# )?${name}[= ]" "$cfg" || true)
		case $line in
		CONFIG_*=*) [ "$got" = "$line" ] && continue ;;
		*) case $got in "$name="*) ;; *) continue ;; esac ;;
		esac
		if [[ $OPTIONAL == *" ${name#CONFIG_} "* ]] &&
			! grep -rqsE "^[[:space:]]*(menu)?config ${name#CONFIG_}\$" --include='Kconfig*' "$src"; then
			notes+=("${name#CONFIG_}")
			continue
		fi
		bad+=("$line (got: ${got:-unset})")
	done < <(common_fragment; flavour_fragment; expected_derived)
	[ ${#notes[@]} -eq 0 ] || msg "not in linux $ver, skipped: ${notes[*]}"
	if [ ${#bad[@]} -gt 0 ]; then
		local list
		list=$(printf '%s; ' "${bad[@]}")
		die "config check failed for $flavour ($cfg): ${#bad[@]} option(s) not as requested: ${list%; }"
	fi
}

# --- build --------------------------------------------------------------------------------------

hash=$({ cat "$SELF"; common_fragment; flavour_fragment; } | sha256sum | cut -c1-12)
BUILD_ROOT=$CACHE/build
out=$BUILD_ROOT/$ver-$flavour-$hash
src=$BUILD_ROOT/src-$ver

kmake() { nice -n 19 make -C "$src" O="$out/obj" ARCH=x86_64 "$@"; }

if [ ! -f "$out/.done" ]; then
	mkdir -p "$BUILD_ROOT"
	command -v flock >/dev/null || die "flock not found (util-linux)"
	# one build per result directory at a time (a second caller waits, then finds it done)
	exec 8>"$BUILD_ROOT/.lock-$ver-$flavour-$hash"
	flock 8
fi
if [ ! -f "$out/.done" ]; then
	start=$(date +%s)
	for t in make gcc flex bison bc pahole depmod; do
		command -v "$t" >/dev/null || die "$t not found (needed to build a kernel)"
	done

	# the source, extracted once and shared by the flavours (read-only for O= builds)
	if [ ! -f "$src/.done" ]; then
		exec 9>"$BUILD_ROOT/.lock-src-$ver"
		flock 9
		if [ ! -f "$src/.done" ]; then
			msg "extracting $SRC_TAR into $src"
			rm -rf "$src"
			mkdir -p "$src"
			nice -n 19 tar -xJf "$SRC_TAR" -C "$src" --strip-components=1 ||
				die "extracting $SRC_TAR into $src failed"
			touch "$src/.done"
		fi
		exec 9>&-
	fi
	[ -f "$src/Makefile" ] || die "no kernel Makefile in $src"

	mkdir -p "$out/obj"
	log=$out/build.log
	: >"$log"
	# configuration: common + flavour fragment merged, allnoconfig with it, olddefconfig
	common_fragment >"$out/fragment.common"
	flavour_fragment >"$out/fragment.$flavour"
	(cd "$out" && KCONFIG_CONFIG="$out/fragment.config" \
		"$src/scripts/kconfig/merge_config.sh" -m "$out/fragment.common" "$out/fragment.$flavour") \
		>>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "merge_config.sh failed: $log"; }
	kmake KCONFIG_ALLCONFIG="$out/fragment.config" allnoconfig >>"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die "make allnoconfig failed: $log"; }
	kmake olddefconfig >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "make olddefconfig failed: $log"; }
	check_config "$out/obj/.config" "$src"
	cp "$out/obj/.config" "$out/config"

	msg "building linux $ver ($flavour) in $out/obj with -j$jobs (log: $log)"
	kmake -j"$jobs" all >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "building linux $ver ($flavour) failed: $log"; }
	[ -f "$out/obj/arch/x86/boot/bzImage" ] || die "no bzImage after the build: $log"
	rm -rf "$out/modroot"
	kmake INSTALL_MOD_PATH="$out/modroot" INSTALL_MOD_STRIP=1 modules_install >>"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die "make modules_install failed: $log"; }
	release=$(cat "$out/obj/include/config/kernel.release") || die "no kernel.release in $out/obj"
	[ -f "$out/modroot/lib/modules/$release/modules.dep" ] || die "no modules.dep in $out/modroot/lib/modules/$release"
	cp "$out/obj/arch/x86/boot/bzImage" "$out/bzImage"
	printf '%s\n' "$release" >"$out/.release"
	echo $(($(date +%s) - start)) >"$out/.seconds"
	touch "$out/.done"
	msg "built linux $release ($flavour) in $(cat "$out/.seconds") s: $out/bzImage ($(($(stat -c %s "$out/bzImage") / 1024)) KiB)"
fi
echo "KERNEL=$out/bzImage"
echo "MODULES=$out/modroot/lib/modules/$(cat "$out/.release")"
echo "SECONDS=$(cat "$out/.seconds")"
