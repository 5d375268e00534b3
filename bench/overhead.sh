#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Overhead of kvmlocktrace against the tools users would otherwise run, in the same guest boot:
# a lock-heavy syscall load (tests/vm/workloads/lockload.c: pipe write/read, open/close, epoll,
# mmap/munmap in WORKERS processes) untraced, under the counting-only floor (fentry/fexit on
# mutex_lock + fentry on mutex_unlock, bench/empty.bpf.c), kvmlocktrace --all, kvmlocktrace's
# default scope, libbpf-tools klockstat, perf lock contention -b and perf lock record.
# Runs are interleaved (A B C ... then reversed, REPS times); prints medians, ratios and the
# added cost per lock acquisition. Prints a table; no assertions (QEMU TCG timings are noisy).
# Usage: bench/overhead.sh [KERNEL...]   (default 6.12; needs root and the VM tier)
# Knobs: KLT_OVH_REPS (5), KLT_OVH_SECONDS (4), KLT_OVH_WORKERS (2), KLT_OVH_CONFIGS (add
# all-base scope-base to compare another build of the tracer, KLT_OVH_BASE=its build dir, which
# must be under the repo: the guest sees the host's / but not its /tmp), KLT_OVH_RAW=PREFIX
# keeps the raw guest output.
set -euo pipefail
cd "$(dirname "$0")/.."
# Both vCPUs must run in parallel for lock contention to be real, and docs/performance.md was
# measured that way: multi-threaded TCG here (tests/vm/README.md: its rare "Oops: int3" loses a
# run, which is a failed bench, never a number).
export KLT_VM_TCG_THREAD=${KLT_VM_TCG_THREAD:-multi}
B=${KLT_BUILD:-build}
reps=${KLT_OVH_REPS:-5}
secs=${KLT_OVH_SECONDS:-4}
workers=${KLT_OVH_WORKERS:-2}
configs=${KLT_OVH_CONFIGS:-none floor all scope klockstat perf-contention perf-record}
kernels=${*:-6.12}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Added cost per lock acquisition: W * (1/ops_tool - 1/ops_none) worker-seconds per lockload op,
# divided by the acquisitions per op that the tool hooks: the floor's own counter (mutex_lock),
# for kvmlocktrace every hooked acquire (mutex, rwsem, percpu rwsem, srcu read), for klockstat and
# perf the mutex and rwsem ones (what klockstat hooks). The second ratio pair compares the added
# time per lockload operation, whatever each tool hooks.
report() { # FILE KERNEL
	awk -v W="$workers" -v K="$2" -v cfgs="$configs" '
	function median(list,   n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n == 0 ? 0 : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
	}
	$1 == "run" && $4 != "fail" { runs[$2] = runs[$2] " " $4; nrun[$2]++ }
	$1 == "run" && $4 == "fail" { why[$2] = $0; sub(/^run [^ ]+ [0-9]+ fail */, "", why[$2]) }
	$1 == "calib" && $2 == "ops" { cops = $3 }
	$1 == "calib" && $2 == "prog" && ($3 ~ /^fx_/ || $3 == "fe___srcu_read_lock") { acq += $5 }
	$1 == "calib" && $2 == "prog" && $3 ~ /^fx_(mutex_|down_)/ { acqmr += $5 }
	$1 == "calib-floor" { fops = $3; fmutex = $6 }
	END {
		apo = cops ? acq / cops : 0; mpo = cops ? acqmr / cops : 0; fpo = fops ? fmutex / fops : 0
		printf "== guest %s (QEMU TCG, 2 vCPUs): lockload -t %d, medians of %d runs each (interleaved)\n", K, W, nrun["none"]
		printf "   acquisitions per lockload op: %.2f hooked by kvmlocktrace, %.2f mutex+rwsem (klockstat, perf), %.2f mutex_lock (floor)\n", apo, mpo, fpo
		r0 = median(runs["none"])
		n = split(cfgs, c, " ")
		for (i = 1; i <= n; i++) if (runs[c[i]] != "") {
			k = c[i]; r = median(runs[k]); med[k] = r
			den = k == "floor" ? fpo : k ~ /^(all|scope)/ ? apo : mpo
			perop[k] = (r0 > 0 && r > 0) ? W * (1 / r - 1 / r0) * 1e9 : 0
			add[k] = den > 0 ? perop[k] / den : 0
		}
		printf "%-15s %8s %7s %9s %9s %7s %7s %7s %7s  %s\n", "config", "ops/s", "vs none", "+ns/op", "+ns/acq", "/floor", "/klock", "op/flr", "op/klk", "runs (ops/s)"
		for (i = 1; i <= n; i++) {
			k = c[i]
			if (runs[k] == "") { printf "%-15s %8s  (did not run: %s)\n", k, "n/a", substr(why[k], 1, 90); continue }
			if (k == "none") { printf "%-15s %8.0f %7.3f %9s %9s %7s %7s %7s %7s %s\n", k, med[k], 1, "-", "-", "-", "-", "-", "-", runs[k]; continue }
			f1 = add["floor"] > 0 ? sprintf("%.2f", add[k] / add["floor"]) : "-"
			k1 = add["klockstat"] > 0 ? sprintf("%.2f", add[k] / add["klockstat"]) : "-"
			f2 = perop["floor"] > 0 ? sprintf("%.2f", perop[k] / perop["floor"]) : "-"
			k2 = perop["klockstat"] > 0 ? sprintf("%.2f", perop[k] / perop["klockstat"]) : "-"
			printf "%-15s %8.0f %7.3f %9.0f %9.0f %7s %7s %7s %7s %s\n", k, med[k], med[k] / r0, perop[k], add[k], f1, k1, f2, k2, runs[k]
		}
		print "   +ns/op: added time per lockload op (worker time); +ns/acq: that over the acquisitions the tool hooks;"
		print "   /floor, /klock: ratios of +ns/acq; op/flr, op/klk: ratios of +ns/op"
	}' "$1"
}

for k in $kernels; do
	tests/vm/vm.sh fetch "$k" >/dev/null && tests/vm/vm.sh initramfs "$k" >/dev/null &&
		tests/vm/vm.sh workloads >/dev/null
	nconf=$(echo $configs | wc -w)
	timeout=$(( (reps * nconf + 2) * (secs + 45) + 200 ))
	B=$B tests/vm/vm.sh run --kernel "$k" --timeout "$timeout" -- \
		env B="$B" BASE="${KLT_OVH_BASE:-$B/base}" sh bench/overhead-guest.sh "$reps" "$secs" "$workers" $configs \
		>"$tmp/$k.out" 2>&1 || { echo "overhead: guest $k failed:"; tail -20 "$tmp/$k.out"; continue; }
	[ -n "${KLT_OVH_RAW:-}" ] && cp "$tmp/$k.out" "$KLT_OVH_RAW.$k"
	report "$tmp/$k.out" "$k"
done
