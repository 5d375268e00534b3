#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# suspend.sh [BEFORE [AFTER]]: a pm_test=core suspend-to-RAM inside a VM-tier guest.
#
# After the devices phase of a suspend, virtio-9p stops answering in the guest, and anything whose
# binary, cwd or open file is on 9p hangs. So this script re-executes itself from a static busybox
# on the guest's tmpfs (/.klt/busybox, put there by the tier's init), with its cwd on tmpfs and
# its output on the serial port it inherited. BEFORE and AFTER are shell snippets run (by that
# busybox) just before the suspend and after the resume; both may only touch tmpfs, procfs,
# sysfs and debugfs. Exit 0 when the write to /sys/power/state returned success and the guest
# still runs commands afterwards. KLT_FAILS (optional, a number that AFTER may change) is added
# to the exit status, so a caller can exec this script as its last step and keep its own count.
set -u
if [ "${KLT_SUSPEND_STAGE:-}" != tmpfs ]; then
	dir=/tmp/klt-suspend
	mkdir -p "$dir" || exit 1
	bb=/.klt/busybox
	[ -x "$bb" ] || bb=$(command -v busybox) || { echo "suspend: no busybox"; exit 1; }
	cp "$bb" "$dir/busybox" && cp "$0" "$dir/suspend.sh" || exit 1
	cd "$dir" || exit 1
	KLT_SUSPEND_STAGE=tmpfs exec "$dir/busybox" sh "$dir/suspend.sh" "$@"
fi

# From here on everything runs from tmpfs (busybox applets, not the host's 9p binaries).
export PATH=/tmp/klt-suspend/bin
mkdir -p /tmp/klt-suspend/bin && /tmp/klt-suspend/busybox --install -s /tmp/klt-suspend/bin
if ! [ -w /sys/power/state ] || ! grep -qw mem /sys/power/state; then
	echo "suspend: this kernel cannot suspend to RAM ($(cat /sys/power/state 2>/dev/null))"
	exit 1
fi
[ -n "${1:-}" ] && { eval "$1" || echo "suspend: BEFORE snippet failed"; }
echo core >/sys/power/pm_test || { echo "suspend: cannot set pm_test=core"; exit 1; }
t0=$(cut -d' ' -f1 /proc/uptime)
if echo mem >/sys/power/state; then rc=0; else rc=1; fi
t1=$(cut -d' ' -f1 /proc/uptime)
echo none >/sys/power/pm_test
echo "suspend: echo mem > /sys/power/state returned $rc (pm_test=core, $t0 s -> $t1 s uptime)"
[ -n "${2:-}" ] && { eval "$2" || echo "suspend: AFTER snippet failed"; }
echo "suspend: guest alive after resume: $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus"
st=0
[ "$rc" = 0 ] || st=1
st=$((st + ${KLT_FAILS:-0}))
[ "$st" -le 125 ] || st=125
exit "$st"
