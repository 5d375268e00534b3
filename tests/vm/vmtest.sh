#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# vmtest.sh: boot a kernel in QEMU/TCG with the host userland, run a workload inside under the
# tracer, copy the recording out and check it. `kvmlocktrace vmtest ...` execs this script.
#
# Usage:
#   vmtest.sh --kernel BZIMAGE|debian-6.1|debian-6.12 [--modules DIR] [--rules FILE]
#             [--record-args "ARGS"] [--timeout S] [--smp N] [-o RECORDING] -- WORKLOAD...
#
#   --kernel    a bzImage (its modules, if 9p/overlay/virtio are not built in, via --modules DIR,
#               a /lib/modules/<ver> tree with modules.dep) or a pinned stock Debian kernel
#               (fetched into the cache on first use, see kernels.conf)
#   --rules     passed to `kvmlocktrace record` (its watch-suspend locks are watched) and `check`
#   --record-args  extra options for `kvmlocktrace record` in the guest, e.g. "--all --attach kprobe"
#   --timeout   whole run, boot included (default 600 s)
#   -o          where the recording is copied (default build/vm/vmtest/run.klt)
#
# Inside the guest, WORKLOAD runs as root in the current directory as
#   $KLT_BIN record -o REC -- WORKLOAD      when `$KLT_BIN record --help` succeeds there, else
#   WORKLOAD                                 ("vmtest: tracer has no live recording yet; ...")
# and then, on the host, `$KLT_BIN check REC [--rules FILE]` runs when a recording came back.
# KLT_BIN defaults to build/kvmlocktrace (relative paths: to the current directory if the file is
# there, else to the repository root); `kvmlocktrace vmtest` should export KLT_BIN=<itself>.
#
# Exit status:
#   0  clean: the workload ran traced, and `check` of its complete recording found nothing
#   1  findings: `check` reported violations
#   4  no verdict, with one line saying why: `check` found the recording incomplete (cut off,
#      events lost, ...: "vmtest: incomplete recording: ..."), or the tracer in the guest
#      cannot record and the workload ran untraced ("vmtest: no verdict: ...")
#   5  "vmtest: workload failed: ..."        the workload (or record) exited non-zero
#   2  harness failure, with one line saying which:
#        "vmtest: kernel did not boot: ..."     bad/missing image, panic, no init
#        "vmtest: tracer could not attach: ..." record failed without producing a recording
#        "vmtest: timeout: ..."                 --timeout expired; qemu was killed
#        "vmtest: guest lost: ..."              the guest died after starting the workload
#        "vmtest: check failed: ..."            `check` itself failed
#        "vmtest: harness error: ..."           anything else (usage, qemu missing, fetch failed)
set -uo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)

fail() { # MESSAGE: one line, exit 2
	printf 'vmtest: %s\n' "$*" >&2
	exit 2
}

usage() { # [STATUS]: --help prints to stdout and exits 0, a usage error to stderr, exit 2
	if [ "${1-2}" = 0 ]; then
		sed -n '3,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
	fi
	sed -n '3,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

kernel='' modules='' rules='' timeout=600 smp=2 rec_out='' record_args=''
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2-}; shift 2 || usage ;;
	--modules) modules=${2-}; shift 2 || usage ;;
	--rules) rules=${2-}; shift 2 || usage ;;
	--record-args) record_args=${2-}; shift 2 || usage ;;
	--timeout) timeout=${2-}; shift 2 || usage ;;
	--smp) smp=${2-}; shift 2 || usage ;;
	-o) rec_out=${2-}; shift 2 || usage ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	*) printf 'vmtest: unknown option %s\n' "$1" >&2; usage ;;
	esac
done
[ -n "$kernel" ] || fail "harness error: --kernel is required"
[ $# -gt 0 ] || fail "harness error: no workload given (vmtest.sh --kernel K -- WORKLOAD...)"
[[ $timeout =~ ^[0-9]+$ ]] || fail "harness error: --timeout must be whole seconds"
if [ -n "$rules" ]; then
	[ -f "$rules" ] || fail "harness error: rules file $rules does not exist"
	rules=$(cd "$(dirname "$rules")" && pwd)/$(basename "$rules")
fi

case $kernel in
debian-6.1 | 6.1) vmkernel=6.1 ;;
debian-6.12 | 6.12) vmkernel=6.12 ;;
*)
	[ -f "$kernel" ] || fail "kernel did not boot: kernel image $kernel does not exist"
	vmkernel=$(cd "$(dirname "$kernel")" && pwd)/$(basename "$kernel")
	;;
esac

# Absolute tracer path: the guest sees the host's files at the same paths.
klt=${KLT_BIN:-build/kvmlocktrace}
case $klt in
/*) ;;
*) if [ -e "$klt" ]; then klt=$PWD/$klt; else klt=$REPO/$klt; fi ;;
esac

if [ -f "$REPO/Makefile" ] && [ -d "$REPO/src" ]; then
	build=${KLT_VM_BUILD:-$REPO/build/vm}
else
	build=${KLT_VM_BUILD:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmlocktrace/vm}
fi
export KLT_VM_BUILD=$build
mkdir -p "$build/vmtest" || fail "harness error: cannot create $build/vmtest"
[ -n "$rec_out" ] || rec_out=$build/vmtest/run.klt
log=$(mktemp "$build/vmtest/out.XXXXXX") || fail "harness error: mktemp failed"
trap 'rm -f "$log" "$log.b64" "$log.err"' EXIT

vmargs=(--kernel "$vmkernel" --timeout "$timeout" --smp "$smp")
[ -n "$modules" ] && vmargs+=(--modules "$modules")
# the rules' watch-suspend locks must be watched while recording, not only checked afterwards
if [ -n "$rules" ]; then
	case $rules in /*) ;; *) rules=$PWD/$rules ;; esac
	record_args="$record_args --rules $rules"
fi
boot_vm() {
	KLT_RECORD_ARGS=$record_args KLT_BIN=$klt "$VM_DIR/vm.sh" run "${vmargs[@]}" -- \
		"$VM_DIR/vmtest-guest.sh" "$@" >"$log" 2>"$log.err"
	vmrc=$?
	cat "$log.err" >&2
}
boot_vm "$@"
# QEMU's TCG can run a stale translation of kernel text the kernel has just patched (a static
# key at boot): "Oops: int3" in code nobody probes, before the workload started. That is the
# emulator (tests/vm/README.md), not the kernel under test: one more boot, said here.
if [ $vmrc = 127 ] && grep -q "Oops: int3" "$log.err"; then
	echo "vmtest: the guest hit QEMU/TCG's stale-translation 'Oops: int3' while booting (the emulator, tests/vm/README.md): booting once more" >&2
	boot_vm "$@"
fi

# The workload's output, without the protocol lines and the recording.
awk '/^<<KLT-FILE>>$/ { skip = 1; next } /^<<KLT-FILE-END>>$/ { skip = 0; next }
	!skip && !/^KLT-VMTEST / { print }' "$log"

case $vmrc in
0) ;;
127) fail "kernel did not boot: $kernel (see the console log above)" ;;
128) fail "timeout: the workload did not finish within $timeout s; qemu was killed" ;;
129) fail "guest lost: $kernel died while running the workload (see the console log above)" ;;
*) fail "harness error: vm.sh exited with status $vmrc" ;;
esac

mode=$(sed -n 's/^KLT-VMTEST tracer //p' "$log" | tail -n 1)
status=$(sed -n 's/^KLT-VMTEST status //p' "$log" | tail -n 1)
{ [ -n "$mode" ] && [ -n "$status" ]; } || fail "harness error: the guest did not report the workload's status"

have_rec=0
if grep -qx '<<KLT-FILE>>' "$log"; then
	sed -n '/^<<KLT-FILE>>$/,/^<<KLT-FILE-END>>$/p' "$log" | sed '1d;$d' >"$log.b64"
	mkdir -p "$(dirname "$rec_out")"
	base64 -d "$log.b64" >"$rec_out" || fail "harness error: the recording came back corrupted"
	have_rec=1
	printf 'vmtest: recording copied to %s (%s bytes)\n' "$rec_out" "$(stat -c %s "$rec_out")" >&2
fi

if [ "$mode" = record ] && [ "$have_rec" = 0 ]; then
	fail "tracer could not attach: '$klt record' exited with status $status and left no recording"
fi
if [ "$status" != 0 ]; then
	printf 'vmtest: workload failed: exited with status %s\n' "$status" >&2
	exit 5
fi

if [ "$have_rec" = 0 ]; then
	printf 'vmtest: no verdict: no recording to check (the workload ran untraced)\n' >&2
	exit 4
fi
chk=("$klt" check "$rec_out")
[ -n "$rules" ] && chk+=(--rules "$rules")
"${chk[@]}"
crc=$?
case $crc in
0) exit 0 ;;
1) exit 1 ;;
4)
	printf 'vmtest: incomplete recording: no verdict (see check'"'"'s line above)\n' >&2
	exit 4 ;;
*) fail "check failed: '${chk[*]}' exited with status $crc" ;;
esac
