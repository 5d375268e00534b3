#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Memory of the engine under a lock storm, as the VM hardening tier's storm makes it: PAIRS
# fresh pairs of kernel mutexes, each initialized (LOCK_INIT) and nested once (one EDGE), all
# of one init-site class. Prints `report`'s max RSS for each size, with glibc's default malloc
# settings (KLT_MALLOC_DEFAULT=1) and with the tool's own (a fixed mmap threshold, main.c), the
# ratio, and bytes per lock. No assertions. MEMORY_PAIRS="100000 200000 300000".
set -uo pipefail
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=$B/kvmlocktrace
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gen() { # gen PAIRS: the storm as a text recording
	awk -v n="$1" 'BEGIN {
		print "@klt-text 1"; print "@info kernel 6.12.107+deb12-amd64"; print "@info machine x86_64"
		print "@sym 0xffffffffc0700000 C &m->s"
		for (i = 0; i < n; i++) {
			a = sprintf("0xff1100%010x", i * 128); b = sprintf("0xff1100%010x", i * 128 + 64)
			printf "%d 100/w init %s mutex key=0xffffffffc0710000 name=&m->s@0xffffffffc0700000\n", 3 * i, a
			printf "%d 100/w init %s mutex key=0xffffffffc0710000 name=&m->s@0xffffffffc0700000\n", 3 * i + 1, b
			printf "%d 100/w edge %s mutex held=%s held-kind=mutex at=0xffffffffc0720010\n", 3 * i + 2, b, a
		} }'
}
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
printf '%8s %8s %12s %12s %7s %10s\n' pairs locks default_MB tool_MB ratio B/lock
for p in ${MEMORY_PAIRS:-100000 200000 300000}; do
	gen "$p" >"$tmp/s.txt"
	"$KLT" convert "$tmp/s.txt" -o "$tmp/s.klt" --force 2>/dev/null || { echo "memory.sh: convert failed" >&2; exit 2; }
	# the binary recording: what `report` reads after `record` (no text held in memory)
	d=$(KLT_MALLOC_DEFAULT=1 rss "$KLT" report "$tmp/s.klt")
	t=$(rss "$KLT" report "$tmp/s.klt")
	awk -v p="$p" -v d="$d" -v t="$t" 'BEGIN { printf "%8d %8d %12.1f %12.1f %7.2f %10.0f\n",
		p, 2 * p, d / 1024, t / 1024, t / d, t * 1024 / (2 * p) }'
done
