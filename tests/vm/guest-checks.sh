#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# guest-checks.sh KO: the batch of real-kernel checks vm.t runs in ONE boot of each kernel
# (CPU hotplug concurrent with kvmloop runs in a boot of its own: see vm.t and README.md).
# Runs inside the guest (as root, host userland). Prints one line per check,
#   KLT-CHECK ok NAME - detail      or      KLT-CHECK not-ok NAME - detail
# plus the workloads' own output, and exits with the number of failed checks. The suspend check
# comes last: after it 9p is dead, so it and what follows run from tmpfs.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${KLT_VM_BIN:-$here/../../build/vm/bin}
ko=${1:?usage: guest-checks.sh KLT_TESTMOD_KO}
dbg=/sys/kernel/debug/klt_testmod
fails=0

check() { # NAME DETAIL STATUS
	if [ "$3" = 0 ]; then
		echo "KLT-CHECK ok $1 - $2"
	else
		echo "KLT-CHECK not-ok $1 - $2 (status $3)"
		fails=$((fails + 1))
	fi
}
stat_of() { sed -n "s/^$1 //p" "$dbg/stats"; }

# 1. KVM: tiny hlt VMs from several threads.
out=$("$bin/kvmloop" -n 25 -t 3 2>&1)
rc=$?
echo "$out"
check kvmloop "$(echo "$out" | tail -n 1)" "$rc"

# 2. The deliberate-bug module: load, names in kallsyms, every case.
insmod "$ko" && [ -d "$dbg" ]
check module_load "insmod $(basename "$ko") on $(uname -r)" $?

bad=0
while read -r name addr; do
	k=$(awk -v n="$name" '$3 == n { print $1; exit }' /proc/kallsyms)
	if [ "0x$k" != "$addr" ] && [ "$k" != "${addr#0x}" ]; then
		echo "kallsyms: $name: debugfs says $addr, /proc/kallsyms says '${k:-nothing}'"
		bad=1
	fi
done <"$dbg/addrs"
check module_kallsyms "$(wc -l <"$dbg/addrs") lock addresses in $dbg/addrs match /proc/kallsyms" $bad

runcase() { # CASE [ARG]
	echo "${2:-1}" >"$dbg/$1"
}
runcase a1 && runcase a2
check case_a "ABBA: a1 (mutex_a -> mutex_b) then a2 (mutex_b -> mutex_a)" $?

before=$(stat_of online_calls)
runcase b && echo 0 >/sys/devices/system/cpu/cpu1/online && echo 1 >/sys/devices/system/cpu/cpu1/online
rc=$?
after=$(stat_of online_calls)
[ "$rc" = 0 ] && [ "$after" -gt "$before" ]
check case_b "mutex_m -> cpus_read_lock, and the ONLINE callback ran $((after - before))x (cpu_hotplug_lock -> mutex_m)" $?

runcase d1 && runcase d2
check case_d "rwsem: d1 (down_read(rwsem_s) -> mutex_n) then d2 (mutex_n -> down_write(rwsem_s))" $?

runcase e
check case_e "control: mutex_e1 -> mutex_e2 twice" $?

cat "$dbg/stats"

# 3. Last: case c + pm_test suspend. The holder kthread keeps mutex_c for 20 s; the suspend runs
# meanwhile. suspend.sh re-executes itself from tmpfs; its AFTER snippet reports from debugfs.
runcase c 20
check case_c "a kthread holds mutex_c ($(stat_of mutex_c_held))" $?
[ "$fails" -le 125 ] || fails=125
# shellcheck disable=SC2016 # evaluated by suspend.sh after the resume
KLT_FAILS=$fails exec "$here/workloads/suspend.sh" '' '
	held=$(sed -n "s/^suspend_saw_c_held //p" /sys/kernel/debug/klt_testmod/stats)
	if [ "${held:-0}" -ge 1 ]; then
		echo "KLT-CHECK ok case_c_suspend - suspend began while mutex_c was held ($held)"
	else
		echo "KLT-CHECK not-ok case_c_suspend - suspend_saw_c_held=${held:-?}"
		KLT_FAILS=$((KLT_FAILS + 1))
	fi
	echo "KLT-CHECK ok after_suspend - the guest runs commands after resume (uptime $(cut -d" " -f1 /proc/uptime) s)"
'
