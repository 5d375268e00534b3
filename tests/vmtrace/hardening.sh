#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# hardening.sh OUTDIR KO: runs inside a VM-tier guest (tests/vm-hardening.t). Two things the
# host kernel cannot show:
#  1. a kernel lock storm far above what the tracer's edge map and ring buffer take, after an
#     ABBA of the test module: memory, drop counters, the ABBA still reported (per mode);
#  2. a kernel without BTF (/sys/kernel/btf hidden under a tmpfs): a one-line error that names
#     --btf, then --btf FILE with a copy of the BTF attaches and finds the ABBA.
# Results go to OUTDIR (on the shared work tree); the host side asserts on them.
set -u
out=${1:?usage: hardening.sh OUTDIR KO}
ko=${2:?usage: hardening.sh OUTDIR KO}
klt=${KLT_BIN:-build/kvmlocktrace}
d=/sys/kernel/debug/klt_testmod
mkdir -p "$out"
echo "guest: $(uname -r)"
insmod "$ko" || echo "guest: insmod $ko failed"
# kvm loaded (no VM is made): its hooks resolve when the tracer starts, so the functions this
# kernel's kvm lacks are listed as skipped (tests/vm-hardening.t); without it they would wait
# for the module (tests/vm-precision.t covers that)
modprobe kvm || echo "guest: modprobe kvm failed"

# 1. storm: two writers, 150000 fresh pairs each (300000 new dependencies; the edge cache holds 65536)
for mode in fentry kprobe; do
	/usr/bin/time -f 'maxrss_kb %M' "$klt" record --all --attach "$mode" -f -o "$out/storm-$mode.klt" -- \
		sh -c "echo 1 >$d/a1 && echo 1 >$d/a2 && { echo 150000 >$d/s & echo 150000 >$d/s; wait; }" \
		>"$out/storm-$mode.log" 2>&1
	echo "status $?" >>"$out/storm-$mode.log"
done
cat $d/stats >"$out/stats.txt"

# 2. no BTF
cp /sys/kernel/btf/vmlinux /tmp/vmlinux.btf
mount -t tmpfs none /sys/kernel/btf
ls /sys/kernel/btf >"$out/nobtf-ls.txt" 2>&1
"$klt" features >"$out/nobtf-features.log" 2>&1
echo "status $?" >>"$out/nobtf-features.log"
"$klt" record --all -f -o "$out/nobtf.klt" -- true >"$out/nobtf.log" 2>&1
echo "status $?" >>"$out/nobtf.log"
"$klt" record --all --btf /tmp/vmlinux.btf -f -o "$out/btf.klt" -- \
	sh -c "echo 1 >$d/a1 && echo 1 >$d/a2" >"$out/btf.log" 2>&1
echo "status $?" >>"$out/btf.log"
"$klt" record --all --btf /nonexistent/vmlinux.btf -f -o "$out/btf-missing.klt" -- true \
	>"$out/btf-missing.log" 2>&1
echo "status $?" >>"$out/btf-missing.log"
umount /sys/kernel/btf
echo "guest: done"
