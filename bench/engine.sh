#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Engine replay throughput (one core) and peak RSS at 1 M and 10 M synthetic events, plus
# end-to-end `kvmlocktrace report` on a 1 M-event binary trace. Prints a table; no assertions.
# Target (issue 2): >= 10 M events/s, RSS flat as events grow.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '%-10s %14s %12s %10s %8s %8s\n' events events/s feed_s rss_MiB edges findings
for n in 1000000 10000000; do
	best=""
	for rep in 1 2 3; do
		line=$(taskset -c 0 "$B/bench/klt-gen" -n $n --replay)
		eps=$(sed -E 's/.*events_per_s=([0-9]+).*/\1/' <<<"$line")
		if [ -z "$best" ] || [ "$eps" -gt "$(sed -E 's/.*events_per_s=([0-9]+).*/\1/' <<<"$best")" ]; then best=$line; fi
	done
	get() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$best"; }
	printf '%-10s %14s %12s %10.1f %8s %8s\n' "$n" "$(get events_per_s)" "$(get feed_seconds)" \
		"$(awk -v k="$(get peak_rss_kb)" 'BEGIN{print k/1024}')" "$(get edges)" "$(get findings)"
done
echo "(best of 3 runs each, pinned to CPU 0; feed_s times lg_feed() only)"
"$B/bench/klt-gen" -n 1000000 -o "$tmp/1m.klt"
s=$(date +%s.%N)
"$B/kvmlocktrace" report "$tmp/1m.klt" --no-rules >/dev/null
e=$(date +%s.%N)
printf 'end-to-end: kvmlocktrace report on a 1 M-event trace (%s MiB): %.2f s\n' \
	"$(( $(stat -c %s "$tmp/1m.klt") / 1048576 ))" "$(awk -v a="$s" -v b="$e" 'BEGIN{print b-a}')"
