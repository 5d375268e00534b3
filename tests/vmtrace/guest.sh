#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# guest.sh OUTDIR KO: runs inside a VM-tier guest (tests/vm/vm.sh run). For each attach mode
# (fentry, kprobe) records the KVM + CPU-hotplug workload, VMs under --all, and the deliberate-bug
# module's cases
# into OUTDIR (on the shared work tree), then, last because 9p dies after a suspend, records the
# module's suspend case from tmpfs and prints its JSON findings between markers on stdout
# (--findings-only: a few KB; the whole report, graph and statistics, is ~90 KB, too much to
# trust to the emulated serial port after a resume).
set -u
out=${1:?usage: guest.sh OUTDIR KO}
ko=${2:?usage: guest.sh OUTDIR KO}
klt=${KLT_BIN:-build/kvmlocktrace}
mkdir -p "$out"
echo "guest: $(uname -r)"

# 6.12 enables virtualization at module load unless told not to
if modinfo -p kvm 2>/dev/null | grep -q enable_virt_at_load; then
	modprobe kvm enable_virt_at_load=0
else
	modprobe kvm
fi
modprobe kvm_amd || echo "guest: kvm_amd did not load"
insmod "$ko" || echo "guest: insmod $ko failed"

# KVM + hotplug workload. 6.1 under TCG can freeze when CPU1 is cycled while VMs exist (see
# tests/vm/README.md), so there the VMs run first and the hotplug cycles after them; its KVM
# hotplug callbacks (kvm_starting_cpu/kvm_dying_cpu) are registered at module load anyway.
case $(uname -r) in
6.1.*) workload='build/vm/bin/kvmloop -n 4 -t 2 && for i in 1 2; do
	echo 0 >/sys/devices/system/cpu/cpu1/online && echo 1 >/sys/devices/system/cpu/cpu1/online
	done' ;;
*) workload='sh tests/vm/workloads/hotplug.sh 2 -n 4 -t 2' ;;
esac
for mode in fentry kprobe; do
	"$klt" record --attach "$mode" -f -o "$out/kvm-$mode.klt" -- \
		sh -c "$workload" >"$out/kvm-$mode.log" 2>&1
	echo "status $?" >>"$out/kvm-$mode.log"
	# every mutex/rwsem while VMs are created and run: per-VM locks named from BTF, the
	# mm_take_all_locks() nest section of mmu_notifier_register(), no false cycle
	"$klt" record --all --attach "$mode" -f -o "$out/kvmall-$mode.klt" -- \
		build/vm/bin/kvmloop -n 4 -t 2 >"$out/kvmall-$mode.log" 2>&1
	echo "status $?" >>"$out/kvmall-$mode.log"
	# a VM's own locks taken against kvm.rules (klt_testmod case k, given the VM's fd)
	"$klt" record --all --attach "$mode" -f -o "$out/vmrule-$mode.klt" -- \
		build/vm/bin/kvmfd >"$out/vmrule-$mode.log" 2>&1
	echo "status $?" >>"$out/vmrule-$mode.log"
	"$klt" record --all --attach "$mode" -f -o "$out/mod-$mode.klt" -- \
		sh tests/vmtrace/module-cases.sh >"$out/mod-$mode.log" 2>&1
	echo "status $?" >>"$out/mod-$mode.log"
done

# The module loaded after the tracer started (as a workload's `modprobe kvm_amd` does): its
# ABBA must be found with its locks and frames named from a kallsyms read after the load.
for mode in fentry kprobe; do
	rmmod klt_testmod || echo "guest: rmmod klt_testmod failed"
	"$klt" record --all --attach "$mode" -f -o "$out/late-$mode.klt" >"$out/late-$mode.log" 2>&1 &
	pid=$!
	i=0; while [ $i -lt 600 ] && ! grep -q 'tracing in' "$out/late-$mode.log"; do sleep 0.2; i=$((i+1)); done
	insmod "$ko" || echo "guest: late insmod $ko failed" >>"$out/late-$mode.log"
	echo 1 >/sys/kernel/debug/klt_testmod/a1
	echo 1 >/sys/kernel/debug/klt_testmod/a2
	sleep 1
	kill -INT $pid
	wait $pid
	echo "status $?" >>"$out/late-$mode.log"
done

# Suspend case: tracer, its libraries and the rules on tmpfs, run through the dynamic loader.
t=/tmp/klt-bin
mkdir -p $t
cp "$klt" $t/kvmlocktrace
for lib in $(ldd "$klt" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do cp "$lib" $t/; done
cp tests/vmtrace/testmod.rules $t/
ld=$(ls $t/ld-linux* | head -1)
cat >$t/run <<RUN
#!/tmp/klt-suspend/busybox sh
exec $ld --library-path $t $t/kvmlocktrace "\$@"
RUN
chmod +x $t/run
# shellcheck disable=SC2016 # evaluated by suspend.sh
exec sh tests/vm/workloads/suspend.sh "
	cd /tmp/klt-bin
	./run record --attach fentry -f -o /tmp/klt-bin/susp.klt --rules /tmp/klt-bin/testmod.rules >/tmp/klt-bin/rec.log 2>&1 &
	echo \$! >/tmp/klt-bin/pid
	i=0; while [ \$i -lt 120 ] && ! grep -q 'tracing in' /tmp/klt-bin/rec.log; do sleep 1; i=\$((i+1)); done
	echo \"suspend-case: tracer ready after \$i s\"
	echo 8 >/sys/kernel/debug/klt_testmod/c
	sleep 1
" "
	kill -INT \$(cat /tmp/klt-bin/pid); sleep 2
	cat /tmp/klt-bin/rec.log | tail -5
	echo KLT-SUSPEND-JSON-BEGIN
	/tmp/klt-bin/run check /tmp/klt-bin/susp.klt --rules /tmp/klt-bin/testmod.rules --format json --findings-only 2>/tmp/klt-bin/check.err
	echo KLT-SUSPEND-JSON-END status=\$?
	cat /tmp/klt-bin/check.err
"
