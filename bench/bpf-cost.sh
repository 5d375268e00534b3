#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# BPF handler cost (kernel.bpf_stats_enabled: run_time_ns / run_cnt) of the tracer's acquire and
# release programs against an empty program of the same attach type on the same function, in
# the same run. Host: uprobe mode on a pthread lock storm. Guest (QEMU, stock 6.12 kernel):
# fentry and kprobe modes on a lock-heavy syscall load (--all). Prints tables; no assertions.
# Usage: bench/bpf-cost.sh [host|guest|all]   (needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
# Both vCPUs must run in parallel for lock contention to be real, and docs/performance.md was
# measured that way: multi-threaded TCG here (tests/vm/README.md: its rare "Oops: int3" loses a
# run, which is a failed bench, never a number).
export KLT_VM_TCG_THREAD=${KLT_VM_TCG_THREAD:-multi}
B=${KLT_BUILD:-build}
what=${1:-all}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

table() { # FILE EMPTY_ENTRY EMPTY_EXIT: our programs vs the empty ones
	awk -v ee="$2" -v ex="$3" '
	/^prog / { ns[$2] = $6 / $4; runs[$2] = $4 }
	END {
		printf "%-34s %12s %10s %12s %7s\n", "program", "runs", "ns/run", "empty ns/run", "ratio"
		for (p in ns) {
			if (p ~ /^empty/) continue
			base = (p ~ /^(fx|kr|ur)_/) ? ns[ex] : (p ~ /^tp_/) ? ns["empty_tp"] : ns[ee]
			if (base > 0) printf "%-34s %12d %10.1f %12.1f %7.2f\n", p, runs[p], ns[p], base, ns[p] / base
		}
		printf "%-34s %12d %10.1f\n", ee, runs[ee], ns[ee]
		printf "%-34s %12d %10.1f\n", ex, runs[ex], ns[ex]
		if ("empty_tp" in ns) printf "%-34s %12d %10.1f\n", "empty_tp", runs["empty_tp"], ns["empty_tp"]
	}' "$1"
}

host() {
	local libc prog=$tmp/pthread_order
	libc=$(ldd /bin/true | awk '/libc.so/ { print $3 }')
	gcc -O1 -g -fno-omit-frame-pointer -pthread tests/live/pthread_order.c -o "$prog"
	sysctl -q -w kernel.bpf_stats_enabled=1
	KLT_PROG_STATS=1 "$B/kvmlocktrace" --user "$libc" -q -d 12 >/dev/null 2>"$tmp/klt.out" &
	local kpid=$!
	"$B/bench/klt-empty" uprobe 12 "$libc" >"$tmp/empty.out" &
	local epid=$!
	"$B/bench/klt-empty" tracepoint 12 >"$tmp/empty-tp.out" &
	local tpid=$!
	sleep 3
	"$prog" storm 200000
	wait $kpid $epid $tpid || true
	sysctl -q -w kernel.bpf_stats_enabled=0
	echo "== host $(uname -r): uprobe mode, pthread storm (2 threads x 200000 nested lock pairs)"
	cat "$tmp/klt.out" "$tmp/empty.out" "$tmp/empty-tp.out" | grep '^prog ' >"$tmp/host.stats" || true
	table "$tmp/host.stats" empty_uprobe empty_uretprobe
}

guest() {
	local k=${KLT_BENCH_KERNEL:-6.12} mode
	tests/vm/vm.sh fetch "$k" >/dev/null && tests/vm/vm.sh initramfs "$k" >/dev/null &&
		tests/vm/vm.sh workloads >/dev/null
	for mode in fentry kprobe; do
		# warm-up first (new edges, stack captures, task entries are one-time costs), then
		# the steady state is the difference of two bpftool snapshots around the measured load
		tests/vm/vm.sh run --kernel "$k" --timeout 400 -- sh -c "
			sysctl -q -w kernel.bpf_stats_enabled=1
			$B/kvmlocktrace --all --attach $mode -q -d 150 >/tmp/klt.out 2>&1 & k=\$!
			$B/bench/klt-empty $mode 150 >/dev/null & e=\$!
			# loading and attaching take 10-30 s under TCG: wait until the tracer says it traces
			i=0
			while [ \$i -lt 120 ] && ! grep -q 'tracing in' /tmp/klt.out; do
				sleep 1; i=\$((i + 1))
			done
			sleep 2
			build/vm/bin/lockload -t 2 -d 3 >/dev/null 2>&1
			bpftool prog show -j >/tmp/s0.json
			build/vm/bin/lockload -t 2 -d 8 2>&1 | tail -1 >&2
			bpftool prog show -j >/tmp/s1.json
			jq -r --slurpfile a /tmp/s0.json '(\$a[0] | map({(.id|tostring): .}) | add) as \$old |
				.[] | select(.name | test(\"^(f[ex]|k[pr]|empty)_\")) |
				(\$old[.id|tostring] // {run_cnt: 0, run_time_ns: 0}) as \$o |
				select(.run_cnt - \$o.run_cnt > 0) |
				\"prog \(.name) runs \(.run_cnt - \$o.run_cnt) ns \(.run_time_ns - \$o.run_time_ns)\"' /tmp/s1.json
			kill \$k \$e 2>/dev/null; wait" >"$tmp/$mode.out" 2>&1 || true
		grep '^prog ' "$tmp/$mode.out" >"$tmp/$mode.stats" || true
		echo "== guest $k (QEMU TCG): $mode mode, --all, lockload -t 2 -d 8 after a 3 s warm-up"
		{ grep -i "ops/s" "$tmp/$mode.out" || true; } | tail -1 | sed 's/^/   lockload: /'
		table "$tmp/$mode.stats" "empty_$mode" "$([ $mode = fentry ] && echo empty_fexit || echo empty_kretprobe)"
	done
}

case $what in
host) host ;;
guest) guest ;;
*) host; guest ;;
esac
