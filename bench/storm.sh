#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Event storms on the host with uprobes: bench/storm.c under `kvmlocktrace record --user`.
#   known: nested pairs of 16 mutexes as fast as the threads go (known dependencies are only
#          counted in the kernel: the question is the acquisition rate, not drops);
#   new:   every pair two never-used mutexes, so every pair is a new dependency (one EDGE record
#          and a stack capture), paced at increasing rates, then unpaced, then past the in-kernel
#          edge map (65536 entries). For each: the rate reached, the tracer's loss counters, and
#          whether the ABBA taken before the storm is still reported.
# Prints a table; no assertions. Needs root. STORM_THREADS=2, STORM_RATES="2000 5000 ...".
set -uo pipefail
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=$(realpath "$B/kvmlocktrace")
T=${STORM_THREADS:-2}
RATES=${STORM_RATES:-2000 5000 10000 20000 40000 80000}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
[ "$(id -u)" = 0 ] || { echo "storm.sh: needs root (uprobes)" >&2; exit 2; }
gcc -O2 -g -fno-omit-frame-pointer -pthread bench/storm.c -o "$tmp/storm" || exit 2
S=$tmp/storm

echo "# machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r); $T storm threads"
# row LABEL TARGET STORM-ARGS...: one traced run, one table row
row() {
	local label=$1 target=$2 out=$tmp/out rc
	shift 2
	/usr/bin/time -f 'maxrss_kb %M' "$KLT" record -f --user "$S" -o "$tmp/r.klt" -- "$S" "$@" >"$out" 2>&1
	rc=$?
	"$KLT" report "$tmp/r.klt" >"$tmp/rep" 2>&1
	get() { sed -n "s/^drops:.*$1=\([0-9]*\).*/\1/p" "$out"; }
	printf '%-6s %9s %10s %10s %9s %9s %8s %8s %7s %6s %7s %s\n' "$label" "$target" \
		"$(sed -n 's/.*pairs_per_s=\([0-9]*\).*/\1/p' "$out")" \
		"$(sed -n 's/.*pairs=\([0-9]*\).*/\1/p' "$out")" \
		"$(sed -n 's/^events: \([0-9]*\).*/\1/p' "$out")" \
		"$(sed -n 's/^events: [0-9]* (edges \([0-9]*\).*/\1/p' "$out")" \
		"$(get ringbuf_full)" "$(get edge_map_full)" "$(get stack_fail)" \
		"$(sed -n 's/^maxrss_kb \([0-9]*\)/\1/p' "$out" | awk '{ printf "%d", $1 / 1024 }')" \
		"$(grep -q 'possible circular locking dependency' "$tmp/rep" && echo yes || echo NO)" \
		"$(grep -o 'WARNING: [a-z_]* = [0-9]*' "$tmp/rep" | tr '\n' ' ')"
	[ $rc -le 1 ] || { echo "# record exit $rc:"; sed 's/^/#   /' "$out" | tail -5; }
}
hdr() {
	printf '%-6s %9s %10s %10s %9s %9s %8s %8s %7s %6s %7s %s\n' storm target_pps pairs/s pairs \
		events edge_ev ringbuf edge_map stack rss_MB ABBA "report's loss warnings"
}

echo
echo "## known dependencies, unpaced (pairs/s = nested lock pairs per second, all threads)"
for i in 1 2 3; do "$S" "$T" 200000 known; done | sort -t= -k4 -n | tail -1 | sed 's/^/untraced (best of 3): /'
hdr
row known max "$T" 200000 known

echo
echo "## new dependencies (every pair a new edge: one ring-buffer record each)"
hdr
for r in $RATES; do
	total=$((r * 5)); [ $total -gt 60000 ] && total=60000  # <= 5 s and inside the edge map
	row new "$r" -r "$r" "$T" $((total / T)) new
done
row new max "$T" $((60000 / T)) new
row new max "$T" $((150000 / T)) new
echo "(edge_ev = EDGE records received; ringbuf/edge_map/stack = the drop counters ringbuf_full,"
echo " edge_map_full, stack_fail; ABBA = the inversion taken before the storm is still reported)"
