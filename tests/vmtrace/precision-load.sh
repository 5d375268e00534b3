#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# precision-load.sh SECS: the real workload of the precision tier (tests/vm-precision.t), run
# under `kvmlocktrace record --all` in a VM-tier guest. Nothing of it is ours but the KVM loop:
#  - stress-ng (Debian's) with 27 kernel stressors, one instance each, for SECS seconds: VFS
#    (open, dir, rename, link, dentry), memory (mmap, mmaphuge, mremap, mprotect, shm, memfd:
#    mmaphuge's MAP_HUGETLB takes a hugetlbfs inode's i_rwsem under mmap_lock, which a single
#    inode class turned into a false cycle with the writes and readdirs that fault; 32 mappings
#    of 2 MiB at most, the guest has 2 GiB), IPC and
#    events (pipe, epoll, inotify, futex, sem, timerfd, msg, eventfd, signal), locks (flock,
#    lockf, fcntl), proc/sysfs readers, fork and sockets;
#    (not madvise: Debian 12's stress-ng 0.15.06 dies of SIGBUS in its first second on 6.12,
#    untraced too, and the run's status is then 2; mprotect takes the same mmap_lock/VMA paths)
#  - KVM: `modprobe kvm_amd` after the tracer started (its hooks attach late), one VM held for
#    the whole run (kvmhold), and VMs created, run and destroyed from two threads, each with its
#    memory slot (kvmloop);
#  - CPU1 offline/online every 5 s.
set -u
secs=${1:-40}
bin=${KLT_VM_BIN:-build/vm/bin}
# the sock stressor connects over loopback
ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null
modprobe kvm_amd 2>/dev/null || echo "precision-load: modprobe kvm_amd failed"
# one VM for the whole run: KVM's preempt-notifier static key stays on, so the VM churn below
# does not re-patch __schedule at every VM (QEMU TCG's stale-translation "Oops: int3")
"$bin/kvmhold" >/tmp/kvmhold.log 2>&1 &
h=$!
i=0; while [ $i -lt 100 ] && ! grep -q holding /tmp/kvmhold.log; do sleep 0.1; i=$((i + 1)); done
rm -f /tmp/precision.done /tmp/kvmloop.log
( while [ ! -e /tmp/precision.done ]; do "$bin/kvmloop" -n 10 -t 2 >>/tmp/kvmloop.log 2>&1; done ) &
k=$!
stress-ng --pipe 1 --open 1 --dir 1 --rename 1 --link 1 --mmap 1 --mremap 1 --epoll 1 \
	--inotify 1 --futex 1 --sem 1 --timerfd 1 --sock 1 --procfs 1 --sysfs 1 --fork 1 --msg 1 \
	--flock 1 --lockf 1 --fcntl 1 --dentry 1 --mprotect 1 --shm 1 --memfd 1 --eventfd 1 \
	--signal 1 --mmaphuge 1 --mmaphuge-mmaps 32 --temp-path /tmp -t "${secs}s" --metrics-brief >/tmp/stress-ng.log 2>&1 &
s=$!
cycles=0
while kill -0 $s 2>/dev/null; do
	sleep 5
	if kill -0 $s 2>/dev/null && [ -w /sys/devices/system/cpu/cpu1/online ]; then
		echo 0 >/sys/devices/system/cpu/cpu1/online && echo 1 >/sys/devices/system/cpu/cpu1/online &&
			cycles=$((cycles + 1))
	fi
done
wait $s
rc=$?
touch /tmp/precision.done
wait $k
kill $h 2>/dev/null
wait $h
vms=$(grep -c "HLT exits, 0 failures" /tmp/kvmloop.log)
bad=$(grep -c "failures" /tmp/kvmloop.log)
echo "precision-load: stress-ng status $rc, $cycles hotplug cycles, $((vms * 20)) VMs created and run ($((bad - vms)) kvmloop runs with failures)"
# a stressor that failed says so in stress-ng's own log: show it
[ $rc = 0 ] || { echo "precision-load: stress-ng log:"
	grep -iE "fail|error|abort|skipp|untrust|passed" /tmp/stress-ng.log | grep -v "metrc:" | head -n 25; }
exit 0
