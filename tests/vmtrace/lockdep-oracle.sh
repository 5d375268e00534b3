#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# lockdep-oracle.sh OUTDIR SECS lockdep|prod: one side of bench/lockdep-oracle.sh, inside a
# VM-tier guest booted on a kernel built by tests/vm/kernel-build.sh. Both sides run the
# precision tier's real workload (precision-load.sh: stress-ng's 27 stressors, KVM VMs with
# kvm_amd loaded during the run, CPU1 hotplug) for SECS seconds:
#   lockdep  untraced on the CONFIG_PROVE_LOCKING build; then /proc/lockdep, /proc/lockdep_chains,
#            /proc/lockdep_stats and the kernel log (lockdep's splats) are saved. Lockdep stops at its first splat
#            ("debug_locks: 0" in lockdep_stats), so the dump says whether it saw it all.
#   prod     under `kvmlocktrace record --all` (fentry) on the production build.
set -u
out=${1:?usage: lockdep-oracle.sh OUTDIR SECS lockdep|prod}
secs=${2:-40}
side=${3:?usage: lockdep-oracle.sh OUTDIR SECS lockdep|prod}
klt=${KLT_BIN:-build/kvmlocktrace}
mkdir -p "$out"
echo "guest: $(uname -r) ($side)"
rmmod kvm_amd kvm 2>/dev/null
start=$(date +%s)
case $side in
lockdep)
	[ -r /proc/lockdep ] || { echo "guest: no /proc/lockdep: not a lockdep kernel"; exit 1; }
	cat /proc/lockdep >"$out/lockdep-before.txt" # what lockdep saw since boot
	sh tests/vmtrace/precision-load.sh "$secs" >"$out/load-lockdep.log" 2>&1
	echo "status $?" >>"$out/load-lockdep.log"
	cat /proc/lockdep >"$out/lockdep.txt"
	cat /proc/lockdep_chains >"$out/lockdep_chains.txt"
	cat /proc/lockdep_stats >"$out/lockdep_stats.txt"
	dmesg >"$out/dmesg-lockdep.txt"
	echo "guest: lockdep $(grep -c '^ -> ' "$out/lockdep.txt") direct dependencies, $(grep -E 'debug_locks:' "$out/lockdep_stats.txt" | tr -s ' ')"
	;;
prod)
	"$klt" record --all --attach fentry --realtime 1 -f -o "$out/prod.klt" -- \
		sh tests/vmtrace/precision-load.sh "$secs" >"$out/load-prod.log" 2>&1
	echo "status $?" >>"$out/load-prod.log"
	dmesg >"$out/dmesg-prod.txt"
	;;
*) echo "guest: unknown side '$side'"; exit 2 ;;
esac
echo "elapsed $(( $(date +%s) - start ))" >>"$out/load-$side.log"
grep -h "^precision-load:" "$out/load-$side.log"
echo "guest: done"
