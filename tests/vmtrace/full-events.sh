#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# full-events.sh OUTDIR: runs inside a VM-tier guest (tests/vm/vm.sh run). Records the KVM +
# CPU-hotplug workload with --full-events in fentry and kprobe mode into OUTDIR/full-MODE.klt, for
# lock-time statistics and flame graphs of a real kernel (README, docs/img/guest-6.12-flame.png):
#   tests/vm/vm.sh workloads
#   tests/vm/vm.sh run --kernel 6.12 --timeout 900 -- sh tests/vmtrace/full-events.sh build/vmfull
set -u
out=${1:?usage: full-events.sh OUTDIR}
klt=${KLT_BIN:-build/kvmlocktrace}
mkdir -p "$out"
if modinfo -p kvm 2>/dev/null | grep -q enable_virt_at_load; then
	modprobe kvm enable_virt_at_load=0
else
	modprobe kvm
fi
modprobe kvm_amd || echo "guest: kvm_amd did not load"
for mode in fentry kprobe; do
	"$klt" record --full-events --attach "$mode" -f -o "$out/full-$mode.klt" -- \
		sh tests/vm/workloads/hotplug.sh 2 -n 4 -t 2 >"$out/full-$mode.log" 2>&1
	echo "status $?" >>"$out/full-$mode.log"
done
