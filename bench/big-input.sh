#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Renderers on big inputs: time and peak RSS of `kvmlocktrace report` (text, json, --stats, dot,
# folded) on two generated text traces. Prints numbers; asserts nothing.
#   distinct: N distinct locks (default 1 000 000), each taken and released once (~42 MB text)
#   nested:   M locks (default 10 000), lock k taken while locks 1..k-1 are held (~0.4 MB text)
# Environment: KLT (binary, default $KLT_BUILD/kvmlocktrace), DISTINCT=N, NESTED=M,
# FORMATS="text json stats dot folded", TIMEOUT=seconds per run (default 600).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
DISTINCT=${DISTINCT:-1000000}
NESTED=${NESTED:-10000}
FORMATS=${FORMATS:-text json stats dot folded}
TIMEOUT=${TIMEOUT:-600}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

awk -v n="$DISTINCT" 'BEGIN { for (i = 1; i <= n; i++) printf "%d 1 lock lock%d mutex\n%d 1 unlock lock%d\n", 2*i, i, 2*i+1, i }' \
	>"$tmp/distinct.txt"
awk -v n="$NESTED" 'BEGIN { for (i = 1; i <= n; i++) printf "%d 1 lock lock%d mutex\n", i, i;
	for (i = n; i >= 1; i--) printf "%d 1 unlock lock%d\n", 2*n-i+1, i }' >"$tmp/nested.txt"

printf '%-36s %-8s %10s %12s %6s\n' input format seconds peak_rss_MiB exit
for input in distinct nested; do
	f=$tmp/$input.txt
	label="$input ($(( $(wc -l <"$f") )) lines, $(( $(stat -c %s "$f") / 1024 )) KiB)"
	for fmt in $FORMATS; do
		case $fmt in
		text) args=() ;;
		stats) args=(--stats) ;;
		*) args=(--format "$fmt") ;;
		esac
		rc=0
		/usr/bin/time -f '%e %M' -o "$tmp/time" timeout "$TIMEOUT" \
			"$KLT" report "$f" --no-rules "${args[@]}" >/dev/null 2>"$tmp/err" || rc=$?
		read -r secs kb < <(tail -1 "$tmp/time")
		printf '%-36s %-8s %10s %12.1f %6s\n' "$label" "$fmt" "$secs" \
			"$(awk -v k="$kb" 'BEGIN { print k / 1024 }')" "$rc"
	done
done
echo "(exit: 0 ok, 2 error, 124 timed out)"
