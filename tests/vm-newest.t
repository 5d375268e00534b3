#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The newest kernel in the tier: Debian sid's Linux 7.2 (tests/vm/kernels.conf), fetched through
# vm.sh's private sid apt configuration and booted like the stock 6.1/6.12. In the guest
# (tests/vmtrace/newest.sh): `features`, then the KVM + CPU-hotplug workload (kvmorder, VMs
# while CPU1 is cycled) recorded in the default scope in fentry and kprobe mode. Asserted: the
# attach modes, the KVM functions and the watched locks are found on 7.2, the recording is
# complete, KVM's hotplug callbacks fired, 7.2's real order kvm_usage_lock -> cpu_hotplug_lock
# is recorded and `check` with rules/kvm.rules is clean on the stock kernel.
# The test module cannot be built for 7.2 on Debian 12 (its headers want gcc 16; tests/vm/README.md).
# A guest that cannot boot is a failure; only a machine without qemu is a skip.
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
. tests/lib/tap.sh
. tests/lib/vm.sh
show() { tail -n "${2:-25}" "$1" | quote; }
k=${KLT_VM_NEWEST:-7.2}

vm_require_qemu
out=$B/vmnewest/$k
rm -rf "$out"; mkdir -p "$out"
s=$(date +%s)
if ! "$VMSH" fetch "$k" >"$out/prep.log" 2>&1 || ! "$VMSH" initramfs "$k" >>"$out/prep.log" 2>&1 ||
   ! "$VMSH" workloads >>"$out/prep.log" 2>&1; then
	nok "$k: fetch/initramfs/workloads"; show "$out/prep.log"; echo "1..$n"; exit
fi
ok "$k: fetched from Debian $(. tests/vm/kernels.conf; echo "$KLT_VM_SUITE_7_2") ($(grep -m1 -o 'linux-binary-[^ ]*' "$out/prep.log" || echo cached); $(( $(date +%s) - s )) s)"
s=$(date +%s)
"$VMSH" run --kernel "$k" --timeout 900 -- sh tests/vmtrace/newest.sh "$out" >"$out/guest.log" 2>&1
rc=$?
echo "# $k: guest run took $(( $(date +%s) - s )) s (status $rc)"
if [ $rc = 0 ] && grep -q "^guest: done" "$out/guest.log"; then ok "$k: guest booted ($(grep -m1 '^guest:' "$out/guest.log"))"
else nok "$k: guest status $rc"; show "$out/guest.log" 40; fi

f=$out/features.txt
if grep -q '^fentry/fexit: *yes' "$f" && grep -q '^kprobes: *yes' "$f" && grep -q '^BTF: *yes' "$f"; then
	ok "$k features: BTF, fentry/fexit and kprobes"
else nok "$k features: attach modes"; show "$f"; fi
if grep -E '^KVM functions found:' "$f" | grep -q kvm_online_cpu &&
   grep -E '^KVM functions found:' "$f" | grep -q kvm_enable_virtualization; then
	ok "$k features: $(grep '^KVM functions found:' "$f")"
else nok "$k features: KVM functions"; show "$f"; fi
# 7.2's kallsyms types cpu_hotplug_lock 't': found as a lock all the same
if grep -E '^lock symbols found:' "$f" | grep -q cpu_hotplug_lock &&
   grep -E '^lock symbols found:' "$f" | grep -q kvm_usage_lock; then
	ok "$k features: $(grep '^lock symbols found:' "$f")"
else nok "$k features: watched locks"; show "$f"; fi

for mode in fentry kprobe; do
	log=$out/kvm-$mode.log
	if grep -q "^status 0$" "$log" && grep -q "tracing in $mode mode" "$log" &&
	   ! grep -q "exited with status\|killed by signal" "$log"; then
		ok "$k $mode: recorded the KVM + hotplug workload"
	else nok "$k $mode: recording"; show "$log"; continue; fi
	"$KLT" convert "$out/kvm-$mode.klt" -o "$out/kvm-$mode.txt" 2>/dev/null
	if grep -qE "func-enter (kvm_online_cpu|kvm_offline_cpu)" "$out/kvm-$mode.txt" &&
	   grep -qE "func-enter kvm_enable_virtualization" "$out/kvm-$mode.txt"; then
		ok "$k $mode: KVM hooks fired ($(grep -oE 'func-enter [a-z_]+' "$out/kvm-$mode.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ';'))"
	else nok "$k $mode: KVM hooks did not fire"; fi
	"$KLT" check "$out/kvm-$mode.klt" --rules rules/kvm.rules --format json -o "$out/kvm-$mode.json" --force 2>"$out/kvm-$mode.check.err"
	crc=$?
	edges=$(jq -r '[.graph.edges[] | select(.level=="class") | "\(.from) -> \(.to)"] | join("; ")' "$out/kvm-$mode.json" 2>/dev/null)
	echo "# $k $mode class edges: $(cut -c1-600 <<<"$edges")"
	if grep -qF "kvm_usage_lock -> cpu_hotplug_lock" <<<"$edges"; then
		ok "$k $mode: kvm_usage_lock -> cpu_hotplug_lock recorded"
	else nok "$k $mode: kvm_usage_lock -> cpu_hotplug_lock not recorded"; fi
	if [ $crc = 0 ]; then ok "$k $mode: check with rules/kvm.rules: clean and complete ($(jq -c '.summary | {events, classes, edges}' "$out/kvm-$mode.json"))"
	else nok "$k $mode: check exit $crc"; quote <"$out/kvm-$mode.check.err"
		jq -c '.findings[] | [.kind, .locks]' "$out/kvm-$mode.json" 2>/dev/null | head -5 | quote; fi
done
echo "1..$n"
