#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# newest.sh OUTDIR: runs inside a VM-tier guest on the newest kernel of the tier (Debian sid's
# 7.2, tests/vm-newest.t): what `features` finds once kvm_amd is loaded, then the KVM + CPU-hotplug workload recorded
# in the default scope in fentry and in kprobe mode (kvm_amd loaded first, virtualization
# enabled by the first VM, not at module load).
set -u
out=${1:?usage: newest.sh OUTDIR}
klt=${KLT_BIN:-build/kvmlocktrace}
mkdir -p "$out"
echo "guest: $(uname -r)"
if modinfo -p kvm 2>/dev/null | grep -q enable_virt_at_load; then
	modprobe kvm enable_virt_at_load=0
else
	modprobe kvm
fi
modprobe kvm_amd || echo "guest: kvm_amd did not load"
# with kvm loaded: its functions and locks are in kallsyms and its BTF
"$klt" features >"$out/features.txt" 2>&1
echo "status $?" >>"$out/features.txt"
for mode in fentry kprobe; do
	"$klt" record --attach "$mode" -f -o "$out/kvm-$mode.klt" -- \
		sh -c 'build/vm/bin/kvmorder -n 2 && sh tests/vm/workloads/hotplug.sh 2 -n 2 -t 2' \
		>"$out/kvm-$mode.log" 2>&1
	echo "status $?" >>"$out/kvm-$mode.log"
done
echo "guest: done"
