#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# precision.sh OUTDIR SECS: runs inside a VM-tier guest (tests/vm-precision.t). The real
# workload (precision-load.sh: stress-ng, KVM VMs with kvm_amd loaded after the tracer, CPU
# hotplug) for SECS seconds under `record --all`, in fentry and in kprobe mode; then, last
# because 9p dies after a suspend, a pm_test suspend under `record --all` from tmpfs, its
# verdict printed between markers on stdout. The host side asserts on the results.
set -u
out=${1:?usage: precision.sh OUTDIR SECS}
secs=${2:-40}
klt=${KLT_BIN:-build/kvmlocktrace}
mkdir -p "$out"
echo "guest: $(uname -r)"
for mode in fentry kprobe; do
	# kvm loads while the tracer runs, as a host's first VM does
	rmmod kvm_amd kvm 2>/dev/null
	start=$(date +%s)
	"$klt" record --all --attach "$mode" --realtime 1 -f -o "$out/prec-$mode.klt" -- \
		sh tests/vmtrace/precision-load.sh "$secs" >"$out/prec-$mode.log" 2>&1
	echo "status $?" >>"$out/prec-$mode.log"
	echo "elapsed $(( $(date +%s) - start ))" >>"$out/prec-$mode.log"
done

# Suspend: tracer and its libraries on tmpfs, run through the dynamic loader (9p stops
# answering during a suspend), the recording on tmpfs; check's JSON summary on the console.
t=/tmp/klt-bin
mkdir -p $t
cp "$klt" $t/kvmlocktrace
for lib in $(ldd "$klt" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do cp "$lib" $t/; done
cp rules/kvm.rules $t/
ld=$(ls $t/ld-linux* | head -1)
cat >$t/run <<RUN
#!/tmp/klt-suspend/busybox sh
exec $ld --library-path $t $t/kvmlocktrace "\$@"
RUN
chmod +x $t/run
echo "guest: done"
# shellcheck disable=SC2016 # evaluated by suspend.sh
exec sh tests/vm/workloads/suspend.sh "
	cd /tmp/klt-bin
	./run record --all --attach fentry --realtime 1 -f -o /tmp/klt-bin/susp.klt --rules /tmp/klt-bin/kvm.rules >/tmp/klt-bin/rec.log 2>&1 &
	echo \$! >/tmp/klt-bin/pid
	i=0; while [ \$i -lt 120 ] && ! grep -q 'tracing in' /tmp/klt-bin/rec.log; do sleep 1; i=\$((i+1)); done
	echo \"precision-suspend: tracer ready after \$i s\"
	sleep 1
" "
	sleep 1
	kill -INT \$(cat /tmp/klt-bin/pid); sleep 3
	grep -E '^(events|locks|drops):' /tmp/klt-bin/rec.log
	echo KLT-PRECISION-SUSPEND-BEGIN
	/tmp/klt-bin/run check /tmp/klt-bin/susp.klt --rules /tmp/klt-bin/kvm.rules --format json --findings-only 2>/tmp/klt-bin/check.err
	echo KLT-PRECISION-SUSPEND-END status=\$?
	cat /tmp/klt-bin/check.err
"
