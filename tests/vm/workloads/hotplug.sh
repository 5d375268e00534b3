#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# hotplug.sh [CYCLES [KVMLOOP ARGS...]]: offline/online CPU1 CYCLES times (default 5) while
# kvmloop runs (default -n 40 -t 2), inside a VM-tier guest. Exits 0 when every hotplug write
# succeeded, kvmloop succeeded and CPU1 ends online.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${KLT_VM_BIN:-$here/../../../build/vm/bin}
cycles=${1:-5}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- -n 40 -t 2
online=/sys/devices/system/cpu/cpu1/online
if ! [ -w "$online" ]; then
	echo "hotplug: $online is not writable (need -smp 2 or more)"
	exit 1
fi
# Load kvm/kvm_amd first (one VM), so the cycles really overlap running VMs.
"$bin/kvmloop" -n 1 -t 1 >/dev/null || { echo "hotplug: kvmloop cannot run a VM"; exit 1; }
"$bin/kvmloop" "$@" &
kpid=$!
sleep 0.2
fail=0
i=0
while [ "$i" -lt "$cycles" ]; do
	echo 0 >"$online" || { echo "hotplug: offline cpu1 failed (cycle $i)"; fail=1; }
	echo 1 >"$online" || { echo "hotplug: online cpu1 failed (cycle $i)"; fail=1; }
	i=$((i + 1))
done
wait "$kpid"
krc=$?
state=$(cat "$online")
echo "hotplug: $cycles offline/online cycles of cpu1 with kvmloop running; kvmloop status $krc; cpu1 online=$state"
[ "$fail" = 0 ] && [ "$krc" = 0 ] && [ "$state" = 1 ]
