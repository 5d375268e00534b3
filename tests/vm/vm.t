#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# vm.t: the real-kernel test tier, as TAP. Run from the repo root: tests/vm/vm.t
#
# For each stock Debian kernel (KLT_VM_KERNELS, default "6.1 6.12"): fetch it, build the
# initramfs and klt_testmod.ko against the matching headers, boot once to check that a command's
# output and non-zero exit status come back over the serial port, then boot once more for the
# batch in guest-checks.sh (kvmloop, CPU hotplug concurrent with kvmloop, every klt_testmod case,
# pm_test suspend with a mutex held, the guest still answering afterwards). Then vmtest.sh's exit
# codes. Boot times and the whole tier's wall time are printed as TAP comments.
#
# Skips (visibly, "1..0 # SKIP ...") only when qemu-system-x86_64 is missing or cannot start a
# TCG machine at all. Anything else that goes wrong is "not ok".
set -uo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
cd "$REPO" || exit 1
read -r -a KERNELS <<<"${KLT_VM_KERNELS:-6.1 6.12}"
VMSH=$VM_DIR/vm.sh
BUILD=${KLT_VM_BUILD:-$REPO/build/vm}
LOGDIR=$BUILD/tap
QEMU=${KLT_VM_QEMU:-qemu-system-x86_64}

# Checks reported by guest-checks.sh, in order, plus the ones vm.t derives from its output.
GUEST_CHECKS=(kvmloop module_load module_kallsyms case_a case_b case_d case_e case_c
	suspend case_c_suspend after_suspend guest_status)
PER_KERNEL=$((3 + 2 + 1 + ${#GUEST_CHECKS[@]}))
PLAN=$((1 + ${#KERNELS[@]} * PER_KERNEL + 3 + 5))

T0=$(date +%s)
N=0
FAILED=0
ok() { N=$((N + 1)); printf 'ok %d - %s\n' "$N" "$*"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); printf 'not ok %d - %s\n' "$N" "$*"; }
diag() { awk '{ print "# " $0 }'; }
# result STATUS DESCRIPTION
result() { if [ "$1" = 0 ]; then ok "$2"; else notok "$2"; fi; }

if ! command -v "$QEMU" >/dev/null 2>&1; then
	echo "1..0 # SKIP $QEMU is not installed (apt-get install qemu-system-x86)"
	echo "vm.t: SKIPPED the whole VM tier: $QEMU is not installed" >&2
	exit 0
fi
if ! "$QEMU" -accel help 2>/dev/null | grep -qw tcg; then
	echo "1..0 # SKIP $QEMU has no TCG accelerator"
	echo "vm.t: SKIPPED the whole VM tier: $QEMU cannot run TCG guests" >&2
	exit 0
fi

mkdir -p "$LOGDIR"
echo "1..$PLAN"

# --- workloads ----------------------------------------------------------------------------------
"$VMSH" workloads >"$LOGDIR/workloads.log" 2>&1
result $? "workloads (kvmloop, lockload) build with gcc into build/vm/bin" ||
	diag <"$LOGDIR/workloads.log"

# boot_line LOG: the "boot: ... up in ..." line of a vm.sh run, as a TAP comment.
boot_line() { grep -h '^boot: ' "$1" | awk '{ print "# " $0 }'; }

for k in "${KERNELS[@]}"; do
	kt0=$(date +%s)
	L=$LOGDIR/$k
	# --- fetch, initramfs, module -------------------------------------------------------------
	"$VMSH" fetch "$k" >"$L.fetch.log" 2>&1
	rc=$?
	kver=$("$VMSH" info "$k" 2>/dev/null | sed -n 's/^KVER=//p')
	result $rc "$k: fetch (${kver:-?}) into ${KLT_VM_CACHE:-/var/cache/kvmlocktrace/vm}" ||
		tail -n 20 "$L.fetch.log" | diag
	grep -h 'falling back' "$L.fetch.log" | diag
	"$VMSH" initramfs "$k" >"$L.initramfs.log" 2>&1
	result $? "$k: busybox initramfs with virtio_pci, 9pnet_virtio, 9p, overlay" ||
		diag <"$L.initramfs.log"
	ko=$("$VMSH" module "$k" 2>"$L.module.log")
	rc=$?
	[ $rc = 0 ] && [ -f "$ko" ] || rc=1
	result $rc "$k: klt_testmod builds against linux-headers-${kver:-?}" ||
		tail -n 30 "$L.module.log" | diag

	# --- boot 1: output and a non-zero status come back ---------------------------------------
	# shellcheck disable=SC2016 # expanded in the guest
	"$VMSH" run --kernel "$k" --timeout 300 -- \
		sh -c 'echo "hello from $(uname -r)"; echo "to stderr" >&2; exit 7' \
		>"$L.status.out" 2>"$L.status.err"
	rc=$?
	boot_line "$L.status.err"
	result $((rc != 7)) "$k: the guest runs a command and its exit status (7) comes back (got $rc)" ||
		tail -n 40 "$L.status.err" | diag
	grep -qx "hello from ${kver:-?}" "$L.status.out" && grep -qx 'to stderr' "$L.status.out"
	result $? "$k: the command's stdout and stderr come back over the serial port" ||
		diag <"$L.status.out"

	# --- boot 2: the batch ------------------------------------------------------------------------
	if [ -f "${ko:-}" ]; then
		"$VMSH" run --kernel "$k" --timeout 240 -- "$VM_DIR/guest-checks.sh" "$ko" \
			>"$L.checks.out" 2>"$L.checks.err"
		rc=$?
	else
		echo "no klt_testmod.ko" >"$L.checks.out"
		: >"$L.checks.err"
		rc=1
	fi
	boot_line "$L.checks.err"
	for c in "${GUEST_CHECKS[@]}"; do
		case $c in
		suspend)
			line=$(grep -a '^suspend: echo mem > /sys/power/state returned' "$L.checks.out")
			[[ $line == *"returned 0 "* ]]
			result $? "$k: pm_test=core suspend completes: ${line#suspend: }"
			;;
		guest_status)
			result $((rc != 0)) "$k: guest-checks.sh exited 0 over the serial port (got $rc)" || {
				tail -n 60 "$L.checks.out" | diag
				tail -n 40 "$L.checks.err" | diag
			}
			;;
		*)
			line=$(grep -a "^KLT-CHECK [a-z-]* $c - " "$L.checks.out" | tail -n 1)
			if [[ $line == "KLT-CHECK ok $c - "* ]]; then
				ok "$k: $c: ${line#KLT-CHECK ok "$c" - }"
			else
				notok "$k: $c: ${line:-no result (the batch stopped earlier)}"
			fi
			;;
		esac
	done

	# --- boot 3: CPU1 hotplug cycles concurrent with kvmloop ----------------------------------
	# Its own boot: on 6.1 under TCG the whole guest can freeze (no console output, no lockup
	# report) when CPU1 is cycled while VMs exist. That is tracked as TODO there (visible, not
	# fatal) when it shows as a timeout; see README.md "Known problems".
	"$VMSH" run --kernel "$k" --timeout 150 -- "$VM_DIR/workloads/hotplug.sh" 6 -n 60 -t 2 \
		>"$L.hotplug.out" 2>"$L.hotplug.err"
	rc=$?
	boot_line "$L.hotplug.err"
	line=$(grep -a '^hotplug: ' "$L.hotplug.out" | tail -n 1)
	if [ $rc = 0 ]; then
		ok "$k: CPU hotplug concurrent with kvmloop: ${line#hotplug: }"
	elif [ $rc = 128 ] && [ "$k" = 6.1 ]; then
		notok "$k: CPU hotplug concurrent with kvmloop: guest froze (timeout) # TODO known 6.1/TCG freeze"
		FAILED=$((FAILED - 1))
		sed -n 's/^vm: run directory kept: //p' "$L.hotplug.err" | xargs -r rm -rf
	else
		notok "$k: CPU hotplug concurrent with kvmloop: ${line:-no result} (status $rc)"
		tail -n 30 "$L.hotplug.out" | diag
		tail -n 30 "$L.hotplug.err" | diag
	fi
	echo "# $k: $(($(date +%s) - kt0)) s for this kernel"
done

# --- vm.sh's own exit codes for a kernel that dies --------------------------------------------------
lk=${KERNELS[${#KERNELS[@]} - 1]}
KLT_VM_APPEND="rdinit=/nonexistent" "$VMSH" run --kernel "$lk" --timeout 120 -- true \
	>"$LOGDIR/noboot.out" 2>"$LOGDIR/noboot.err"
rc=$?
[ $rc = 127 ] && grep -q 'kernel did not boot' "$LOGDIR/noboot.err"
result $? "vm.sh: a kernel that panics before the command starts -> 127, console shown (got $rc)" ||
	tail -n 20 "$LOGDIR/noboot.err" | diag
"$VMSH" run --kernel "$lk" --timeout 120 -- sh -c 'echo before-crash; echo c >/proc/sysrq-trigger' \
	>"$LOGDIR/lost.out" 2>"$LOGDIR/lost.err"
rc=$?
[ $rc = 129 ] && grep -qx before-crash "$LOGDIR/lost.out"
result $? "vm.sh: a guest that crashes while running the command -> 129, output so far kept (got $rc)" ||
	tail -n 20 "$LOGDIR/lost.err" | diag
# A large output (a multi-MB recording coming back over the serial port) arrives whole: the
# flush once went through `tail | head`, whose SIGPIPE became vm.sh's status 141 under pipefail.
# The command's stdout and stderr share the port: the digest is the first line, then the data.
"$VMSH" run --kernel "$lk" --timeout 300 -- sh -c 'head -c 6000000 /dev/urandom >/tmp/big &&
	sha256sum </tmp/big && base64 /tmp/big' >"$LOGDIR/big.out" 2>"$LOGDIR/big.err"
rc=$?
want=$(sed -n '1s/^\([0-9a-f]\{64\}\)  -$/\1/p' "$LOGDIR/big.out")
got=$(sed 1d "$LOGDIR/big.out" | base64 -d 2>/dev/null | sha256sum | cut -c1-64)
[ $rc = 0 ] && [ -n "$want" ] && [ "$want" = "$got" ]
result $? "vm.sh: an 8 MB output (6 MB of data, base64) comes back whole (status $rc, sha256 ${got:0:12}...)" ||
	tail -n 10 "$LOGDIR/big.err" | diag
rm -f "$LOGDIR/big.out"
# Those two failures were expected: drop the run directories vm.sh kept for them.
sed -n 's/^vm: run directory kept: //p' "$LOGDIR/noboot.err" "$LOGDIR/lost.err" | xargs -r rm -rf

# --- vmtest.sh exit codes ---------------------------------------------------------------------------
vk=debian-$lk
tests/vm/vmtest.sh --kernel "$REPO/build/vm/no-such-bzImage" -- true >"$LOGDIR/vmtest.1.out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q '^vmtest: kernel did not boot' "$LOGDIR/vmtest.1.out"
result $? "vmtest: a kernel image that does not exist -> 2, 'kernel did not boot' (got $rc)" ||
	diag <"$LOGDIR/vmtest.1.out"

# With the real tracer (KLT_BIN, default build/kvmlocktrace) when it has `record`, else untraced.
tests/vm/vmtest.sh --kernel "$vk" -- sh -c 'echo vmtest-workload-ran' >"$LOGDIR/vmtest.2.out" 2>&1
rc=$?
boot_line "$LOGDIR/vmtest.2.out"
how=traced
grep -q 'ran workload untraced' "$LOGDIR/vmtest.2.out" && how=untraced
# untraced (a tracer without record) is no verdict: 4 (vmtest.sh "Exit status")
{ { [ $how = traced ] && [ $rc = 0 ]; } || { [ $how = untraced ] && [ $rc = 4 ]; }; } &&
	grep -q '^vmtest-workload-ran$' "$LOGDIR/vmtest.2.out"
result $? "vmtest: a passing workload on $vk ($how) -> 0 traced, 4 untraced (got $rc)" || diag <"$LOGDIR/vmtest.2.out"

# With fake-klt.sh: the recording comes back intact over the serial port and `check` runs on it.
KLT_BIN=$VM_DIR/fake-klt.sh tests/vm/vmtest.sh --kernel "$vk" -o "$LOGDIR/fake.klt" -- true \
	>"$LOGDIR/vmtest.4.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q '^fake-klt check: 1 finding' "$LOGDIR/vmtest.4.out"
result $? "vmtest: recording copied out and checked; findings -> 1 (got $rc)" ||
	diag <"$LOGDIR/vmtest.4.out"

KLT_BIN=$VM_DIR/fake-klt.sh KLT_FAKE_ATTACH=fail tests/vm/vmtest.sh --kernel "$vk" -- true \
	>"$LOGDIR/vmtest.5.out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q '^vmtest: tracer could not attach' "$LOGDIR/vmtest.5.out"
result $? "vmtest: record fails without a recording -> 2, 'tracer could not attach' (got $rc)" ||
	diag <"$LOGDIR/vmtest.5.out"

tests/vm/vmtest.sh --kernel "$vk" --timeout 20 -- sleep 600 >"$LOGDIR/vmtest.3.out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q '^vmtest: timeout' "$LOGDIR/vmtest.3.out"
result $? "vmtest: a workload that outlives --timeout -> 2, 'timeout' (got $rc)" ||
	diag <"$LOGDIR/vmtest.3.out"
sed -n 's/.*vm: run directory kept: //p' "$LOGDIR/vmtest.3.out" | xargs -r rm -rf

echo "# VM tier: $(($(date +%s) - T0)) s in total, $FAILED of $N failed"
[ "$N" = "$PLAN" ] || echo "# planned $PLAN tests but ran $N"
[ "$FAILED" = 0 ] && [ "$N" = "$PLAN" ]
