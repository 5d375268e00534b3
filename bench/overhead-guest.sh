#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Guest half of bench/overhead.sh (busybox sh, run from the repo root inside the QEMU guest).
# Usage: overhead-guest.sh REPS SECONDS WORKERS CONFIG...
# For each repetition, every CONFIG runs the same lockload once (in order, reversed on odd
# repetitions so drift cancels); each run prints "run CONFIG REP OPS_PER_S" or
# "run CONFIG REP fail WHY". Then one calibration run (bpf_stats on, not timed) prints the lock
# acquisitions per lockload operation. Knobs: B (build dir), BASE (another build's directory,
# for the all-base and scope-base configs).
B=${B:-build}
BASE=${BASE:-build/base}
reps=$1 secs=$2 workers=$3
shift 3
configs=$*
LL="build/vm/bin/lockload -t $workers -d $secs"
out=/tmp/ovh.out

opsps() { sed -n 's/.*ops\/s=\([0-9]*\).*/\1/p' "$out" | tail -1; }

one() { # CONFIG REP
	: >"$out"
	t0=$(date +%s)
	case $1 in
	none) $LL >"$out" 2>&1 ;;
	floor) $B/bench/klt-empty floor $LL >"$out" 2>&1 ;;
	all) $B/kvmlocktrace --all -q -- $LL >"$out" 2>&1 ;;
	scope) $B/kvmlocktrace -q -- $LL >"$out" 2>&1 ;;
	# another build of the tracer, for before/after comparisons in the same boot
	all-base) $BASE/kvmlocktrace --all -q -- $LL >"$out" 2>&1 ;;
	scope-base) $BASE/kvmlocktrace -q -- $LL >"$out" 2>&1 ;;
	klockstat)
		klockstat -d 3600 >/tmp/klockstat.out 2>&1 &
		kp=$!
		# ready once its programs are attached (bpftool lists links)
		i=0
		while [ $i -lt 120 ] && ! bpftool prog show 2>/dev/null | grep -q 'name mutex_lock'; do
			sleep 0.5; i=$((i + 1))
		done
		sleep 1
		if kill -0 $kp 2>/dev/null; then
			$LL >"$out" 2>&1
		else
			echo "klockstat exited: $(tail -1 /tmp/klockstat.out)" >"$out"
		fi
		kill -INT $kp 2>/dev/null; wait $kp 2>/dev/null ;;
	perf-contention) perf lock contention -b -a -- $LL >"$out" 2>&1 ;;
	perf-record) perf lock record -a -o /tmp/perf.data -- $LL >"$out" 2>&1; rm -f /tmp/perf.data ;;
	*) echo "unknown config" >"$out" ;;
	esac
	r=$(opsps)
	if [ -n "$r" ]; then
		echo "run $1 $2 $r wall $(($(date +%s) - t0))"
	else
		echo "run $1 $2 fail $(grep -v '^ *$' "$out" | tail -2 | tr '\n' ' ')"
	fi
}

rev() { r=; for c in $*; do r="$c $r"; done; echo $r; }

rep=1
while [ $rep -le "$reps" ]; do
	list=$configs
	[ $((rep % 2)) -eq 0 ] && list=$(rev $configs)
	for c in $list; do one "$c" $rep; done
	rep=$((rep + 1))
done

# Calibration: lock acquisitions per lockload operation, from the tracer's own programs' run
# counts (bpf_stats; fexit of every acquire function + srcu read locks) and the floor counters.
sysctl -q -w kernel.bpf_stats_enabled=1
KLT_PROG_STATS=1 $B/kvmlocktrace --all -q -- $LL >"$out" 2>&1
echo "calib ops $(sed -n 's/.*ops=\([0-9]*\) .*/\1/p' "$out" | tail -1)"
grep '^prog ' "$out" | sed 's/^/calib /'
sysctl -q -w kernel.bpf_stats_enabled=0
$B/bench/klt-empty floor $LL >"$out" 2>&1
echo "calib-floor ops $(sed -n 's/.*ops=\([0-9]*\) .*/\1/p' "$out" | tail -1) $(grep '^floor:' "$out")"
