#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The README's main command (make demo): live tracing with a built-in workload, then the report
# of the bundled recording of the Linux 6.3-6.11 KVM deadlock.
#  1. the kernel: kvmlocktrace traces the KVM/CPU-hotplug scope while CPU1 goes offline and back
#     (on a kernel that refuses fentry and kprobes it says so and shows what it still sees);
#  2. user space: a pthread program with an ABBA inversion, traced through uprobes;
#  3. the bundled recording: a 3-lock cycle through an SRCU grace period and cpu_hotplug_lock.
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=$B/kvmlocktrace
step() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

if [ "$(id -u)" = 0 ]; then
	step "1. live: the KVM/CPU-hotplug scope while CPU1 goes offline and online"
	hp=/sys/devices/system/cpu/cpu1/online
	if [ -w $hp ]; then
		"$KLT" -d 4 -- sh -c "sleep 1; echo 0 > $hp; echo 1 > $hp; sleep 1"
	else
		"$KLT" -d 3
	fi
	step "2. live: pthread locks of a program with an ABBA inversion (uprobes)"
	mkdir -p "$B/demo"
	cc -O1 -g -fno-omit-frame-pointer -pthread tests/live/pthread_order.c -o "$B/demo/pthread_order"
	"$KLT" --user "$B/demo/pthread_order" -- "$B/demo/pthread_order" abba
else
	step "1-2. live tracing skipped: it needs root (or CAP_BPF+CAP_PERFMON)"
fi
step "3. report: the bundled recording of the 6.3-6.11 KVM SRCU/hotplug deadlock"
"$KLT" report examples/kvm-6.5-srcu-hotplug-deadlock.klt
exit 0
