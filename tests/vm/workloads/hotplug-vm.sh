#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# hotplug-vm.sh [CYCLES]: one KVM VM held (kvmhold: virtualization enabled, so KVM's hotplug
# callbacks enable and disable it on the CPU) while CPU1 goes offline and online CYCLES times
# (default 3), and nothing else uses KVM meanwhile: a sleeping lock a callback takes in the
# atomic STARTING/DYING section is never contended, so a bug that takes one is seen by a tracer
# without crashing the guest (tests/vm/bugs/0bf50497f03b-*.patch). Loads kvm_amd first, then
# waits 3 s for a tracer started before it to hook the module (docs/live-tracing.md). Exit 0
# when the VM was held and every hotplug write succeeded.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${KLT_VM_BIN:-$here/../../../build/vm/bin}
cycles=${1:-3}
online=/sys/devices/system/cpu/cpu1/online
[ -w "$online" ] || { echo "hotplug-vm: $online is not writable (need -smp 2 or more)"; exit 1; }
[ -e /dev/kvm ] || { modprobe kvm_amd || { echo "hotplug-vm: modprobe kvm_amd failed"; exit 1; }; sleep 3; }
"$bin/kvmhold" >/tmp/hotplug-vm.kvmhold 2>&1 &
h=$!
i=0
while [ $i -lt 100 ] && ! grep -q holding /tmp/hotplug-vm.kvmhold; do sleep 0.1; i=$((i + 1)); done
grep -q holding /tmp/hotplug-vm.kvmhold || { echo "hotplug-vm: kvmhold: $(cat /tmp/hotplug-vm.kvmhold)"; kill $h 2>/dev/null; exit 1; }
fail=0
i=0
while [ $i -lt "$cycles" ]; do
	echo 0 >"$online" || { echo "hotplug-vm: offline cpu1 failed (cycle $i)"; fail=1; }
	echo 1 >"$online" || { echo "hotplug-vm: online cpu1 failed (cycle $i)"; fail=1; }
	i=$((i + 1))
done
kill $h
wait $h
echo "hotplug-vm: $cycles cycles with a VM held, status $fail"
exit $fail
