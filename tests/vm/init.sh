#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# /init of the VM test tier's initramfs (busybox sh, PID 1). Built into the initramfs by vm.sh.
#
# Kernel command line (set by vm.sh run):
#   klt.run=DIR     host directory holding cmd.sh (the command to run), read over 9p
#   klt.share=DIR   host directory shared read-write as 9p tag "share", mounted at the same path
#   klt.moddir=DIR  host directory that becomes the guest's /lib/modules/$(uname -r)
#
# Protocol on the second serial port (ttyS1, a file on the host): a line "<<KLT-BOOT>>" once the
# root is ready, then the command's stdout+stderr, then "\n<<KLT-EXIT n>>\n". Nothing after boot
# depends on 9p, so a command that suspends the guest (which kills virtio-9p) still reports back.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

fail() {
	echo "klt-init: FAILED: $*"
	sleep 1
	poweroff -f
}

RUN='' SHARE='' MODDIR=''
# shellcheck disable=SC2013 # the command line is words
for a in $(cat /proc/cmdline); do
	case $a in
	klt.run=*) RUN=${a#klt.run=} ;;
	klt.share=*) SHARE=${a#klt.share=} ;;
	klt.moddir=*) MODDIR=${a#klt.moddir=} ;;
	esac
done
[ -n "$RUN" ] || fail "no klt.run= on the kernel command line"

while read -r m; do
	[ -n "$m" ] || continue
	insmod "/mods/$m" || fail "insmod $m"
done </modules.list

O9P=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$O9P,ro" hostroot /mnt/lower || fail "mount 9p hostroot"
mount -t tmpfs -o mode=0755 tmpfs /mnt/rw || fail "mount tmpfs"
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work \
	/newroot || fail "mount overlay"
R=/newroot
mount -t proc proc $R/proc || fail "mount proc"
mount -t sysfs sysfs $R/sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs $R/dev || fail "mount devtmpfs"
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
mount -t debugfs debugfs $R/sys/kernel/debug || fail "mount debugfs"
mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null ||
	mount -t tracefs tracefs $R/sys/kernel/debug/tracing 2>/dev/null
mount -t bpf bpf $R/sys/fs/bpf 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs $R/tmp || fail "mount /tmp"
mount -t tmpfs -o mode=0755 tmpfs $R/run
# The share goes last: a work tree under /tmp or /run (a CI clone) must not be hidden by the
# guest's own tmpfs mounted there.
if [ -n "$SHARE" ]; then
	mkdir -p "$R$SHARE" 2>/dev/null
	mount -t 9p -o "$O9P" share "$R$SHARE" || fail "mount 9p share at $SHARE"
fi
KVER=$(uname -r)
if [ -n "$MODDIR" ]; then
	mkdir -p "$R/lib/modules/$KVER" || fail "mkdir /lib/modules/$KVER"
	mount --bind "$R$MODDIR" "$R/lib/modules/$KVER" || fail "bind $MODDIR as /lib/modules/$KVER"
fi

# RAM-backed copies (in the overlay's tmpfs upper layer): a static busybox and the
# command script. /.klt/busybox is what suspend tests use to keep running without 9p. cmd.sh runs
# under the host's /bin/sh (busybox sh would prefer its own applets to the host's programs)
# and execs the command, so no shell of the harness stays on 9p.
mkdir -p $R/.klt
cp /bin/busybox $R/.klt/busybox
cp "$R$RUN/cmd.sh" $R/.klt/cmd.sh || fail "read $RUN/cmd.sh"
hostname kltvm

exec 3>/dev/ttyS1 || fail "open /dev/ttyS1"
stty -F /dev/ttyS1 raw -echo
echo "<<KLT-BOOT>>" >&3
chroot $R /bin/sh /.klt/cmd.sh </dev/null >&3 2>&1
rc=$?
printf '\n<<KLT-EXIT %d>>\n' "$rc" >&3
exec 3>&-
poweroff -f
