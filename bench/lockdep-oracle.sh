#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# lockdep-oracle.sh [--kernel 6.12] [--secs N]: lockdep as the oracle (issue 14). Builds the
# production and the lockdep flavour of one Debian kernel source (tests/vm/kernel-build.sh,
# cached), runs the precision tier's real workload (tests/vmtrace/precision-load.sh) for N
# seconds (default 60) on each under QEMU: untraced on lockdep, under `kvmlocktrace record --all`
# on production; then prints bench/lockdep-compare.sh's table: classes both name, lockdep's
# direct dependencies we recorded, our edges lockdep's graph implies, cycles on both sides.
# Outputs stay in build/lockdep-oracle/<kernel>/. Takes roughly 2 x (N + 3 minutes) once the
# kernels are built; a build takes tens of minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "lockdep-oracle: $*" >&2; exit 2; }
kernel=6.12 secs=60
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?--kernel needs a value}; shift 2 ;;
	--secs) secs=${2:?--secs needs a value}; shift 2 ;;
	*) die "unknown option '$1' (usage: lockdep-oracle.sh [--kernel 6.12] [--secs N])" ;;
	esac
done
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
[ -x "$KLT" ] || die "$KLT: not built (make)"
out=$B/lockdep-oracle/$kernel
rm -rf "$out"; mkdir -p "$out"
tests/vm/vm.sh workloads >/dev/null
for side in prod lockdep; do
	t0=$(date +%s)
	tests/vm/kernel-build.sh --kernel "$kernel" --flavour "$side" >"$out/build-$side.env" ||
		die "kernel build ($side) failed"
	# shellcheck disable=SC1090
	. "$out/build-$side.env"
	echo "# $side kernel: $KERNEL ($(( $(date +%s) - t0 )) s to build or find)"
	t0=$(date +%s)
	tests/vm/vm.sh run --kernel "$KERNEL" --modules "$MODULES" --timeout $((secs + 900)) -- \
		sh tests/vmtrace/lockdep-oracle.sh "$out" "$secs" "$side" >"$out/guest-$side.log" 2>&1 ||
		{ tail -20 "$out/guest-$side.log" >&2; die "$side guest failed (see $out/guest-$side.log)"; }
	echo "# $side guest: $(( $(date +%s) - t0 )) s; $(grep -h '^precision-load:\|^guest: lockdep' "$out/guest-$side.log" | tr '\n' ' ')"
done
grep -E '^(events|locks|drops):' "$out/load-prod.log" | sed 's/^/# prod: /'
"$KLT" report "$out/prod.klt" --format json -o "$out/prod.json" --force
echo "# lockdep: $(grep -E 'dependency chains|direct dependencies|lock-classes|debug_locks' "$out/lockdep_stats.txt" | tr -s ' ' | tr '\n' ';')"
bash bench/lockdep-compare.sh "$out/lockdep.txt" "$out/prod.json" "$out/dmesg-lockdep.txt" \
	"$out/lockdep_chains.txt" "$out/lockdep-before.txt"
