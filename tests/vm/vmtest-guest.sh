#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# vmtest-guest.sh WORKLOAD...: the in-guest half of vmtest.sh. Runs WORKLOAD under
# "$KLT_BIN record -o REC --" when the tracer has a working `record` command, else bare, then
# sends the recording back on its stdout (the tier's serial port), base64-encoded between
# "<<KLT-FILE>>" and "<<KLT-FILE-END>>" lines. Never 9p: a workload may suspend the guest.
# Protocol lines for vmtest.sh: "KLT-VMTEST tracer record|untraced" and "KLT-VMTEST status N".
set -u
dir=/tmp/klt-vmtest
if [ "${KLT_VMTEST_STAGE:-}" != tmpfs ]; then
	mkdir -p "$dir" || exit 2
	bb=/.klt/busybox
	[ -x "$bb" ] || bb=$(command -v busybox) || { echo "vmtest: no busybox in the guest"; exit 2; }
	cp "$bb" "$dir/busybox" && cp "$0" "$dir/vmtest-guest.sh" || exit 2
	KLT_VMTEST_STAGE=tmpfs exec "$dir/busybox" sh "$dir/vmtest-guest.sh" "$@"
fi
# Running from tmpfs now. Host programs are started by absolute path (/usr/bin/env), so busybox
# never substitutes its own applets for the workload's commands.
bb=$dir/busybox
rec=$dir/run.klt
klt=${KLT_BIN:-}
if [ -n "$klt" ] && [ -x "$klt" ] && "$klt" record --help >/dev/null 2>&1; then
	echo "KLT-VMTEST tracer record"
	# record exits 0/2/3 for itself; the workload's own status comes back through a file
	/usr/bin/env "$klt" record ${KLT_RECORD_ARGS:-} -o "$rec" -- "$bb" sh -c \
		'/usr/bin/env "$@"; echo $? >'"$dir/status" sh "$@"
	rc=$?
	[ "$rc" = 0 ] && [ -s "$dir/status" ] && rc=$(cat "$dir/status")
else
	echo "KLT-VMTEST tracer untraced"
	echo "vmtest: tracer has no live recording yet; ran workload untraced"
	/usr/bin/env "$@"
	rc=$?
fi
echo "KLT-VMTEST status $rc"
if [ -s "$rec" ]; then
	echo "<<KLT-FILE>>"
	"$bb" base64 "$rec"
	echo "<<KLT-FILE-END>>"
fi
exit 0
