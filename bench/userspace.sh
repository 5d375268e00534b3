#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# User-space lock tools side by side on one pthread program (bench/userlocks.c):
#   1. slowdown of its work phase: plain, kvmlocktrace --user, bcc's deadlock-bpfcc,
#      ThreadSanitizer, Valgrind Helgrind (interleaved rounds, medians);
#   2. which lock-order scenarios each tool reports (true/false positives, misses).
# Prints tables; no assertions. Needs root (uprobes). Environment:
#   UB_THREADS=4 UB_ITERS=50000 UB_REPS=5   load size and rounds
#   UB_TOOLS="plain floor klt bpfcc tsan helgrind" which tools (in this order each round);
#                                            floor = plain with an empty uprobe + uretprobe
#                                            on pthread_mutex_lock (build/bench/klt-empty):
#                                            the trap cost alone
#   UB_SKIP_SCENARIOS=1                      only the slowdown table
#   UB_SCENARIOS="abba rw-abba"              only these scenarios (default: all ten)
# deadlock-bpfcc compiles C at run time and needs the running kernel's headers: from
# /lib/modules/$(uname -r)/build if present, else (as on the development hosts, whose kernel has
# no headers package) the Debian 6.12 headers of the VM tier's cache, merged into one tree
# (its program reads no kernel structure, so the headers' version does not matter). It also
# attaches a kretprobe on clone() (only to name thread creators in its report); where the kernel
# has no kprobes that attach fails, and this script runs a copy with that one line removed and
# says so ("bpfcc*").
set -uo pipefail
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=$(realpath "$B/kvmlocktrace")
T=${UB_THREADS:-4} N=${UB_ITERS:-50000} REPS=${UB_REPS:-5}
TOOLS=${UB_TOOLS:-plain floor klt bpfcc tsan helgrind}
[ -x "$B/bench/klt-empty" ] || TOOLS=${TOOLS/floor/}
LIBC=$(ldd /bin/true | sed -n 's/.*libc\.so\.6 => \([^ ]*\).*/\1/p')
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

[ "$(id -u)" = 0 ] || { echo "userspace.sh: needs root (uprobes)" >&2; exit 2; }
[ -x "$KLT" ] || { echo "userspace.sh: $KLT missing: run make" >&2; exit 2; }
CFLAGS="-O2 -g -fno-omit-frame-pointer -pthread"
gcc $CFLAGS bench/userlocks.c -o "$tmp/userlocks" || exit 2
gcc $CFLAGS -fsanitize=thread bench/userlocks.c -o "$tmp/userlocks-tsan" || exit 2
U=$tmp/userlocks

# --- deadlock-bpfcc: headers and the clone kretprobe --------------------------------------
BPFCC=/usr/sbin/deadlock-bpfcc BPFCC_NOTE="" BPFCC_ENV=()
if [[ " $TOOLS " == *" bpfcc "* ]]; then
	if [ ! -x $BPFCC ]; then
		echo "# deadlock-bpfcc not installed (bash scripts/install-deps.sh): skipped"
		TOOLS=${TOOLS/bpfcc/}
	elif [ ! -d "/lib/modules/$(uname -r)/build/include" ]; then
		kh=$B/bench/khdr-6.12
		if [ ! -d "$kh/include/linux" ]; then
			src=$(ls -d ${KLT_VM_CACHE:-/var/cache/kvmlocktrace/vm}/6.12*/root/usr/src 2>/dev/null | head -1)
			if [ -z "$src" ]; then
				echo "# deadlock-bpfcc: no kernel headers (run tests/vm/vm.sh fetch 6.12): skipped"
				TOOLS=${TOOLS/bpfcc/}
			else
				mkdir -p "$kh"
				cp -rs "$(realpath "$src"/linux-headers-*-common)/." "$kh/"
				cp -rsf "$(ls -d "$(realpath "$src")"/linux-headers-*-amd64)/." "$kh/"
			fi
		fi
		BPFCC_ENV=(BCC_KERNEL_SOURCE="$(realpath "$kh")")
		BPFCC_NOTE="headers: Debian 6.12 ($kh) for kernel $(uname -r)"
	fi
	if [ ! -d /sys/bus/event_source/devices/kprobe ]; then
		sed "/attach_kretprobe(event=bpf.get_syscall_fnname('clone')/d" $BPFCC >"$tmp/deadlock-noclone"
		BPFCC="/usr/bin/python3 $tmp/deadlock-noclone"
		BPFCC_NOTE="$BPFCC_NOTE; no kprobes on this kernel: bpfcc* = deadlock-bpfcc minus its clone() kretprobe"
	fi
fi

# bpfcc_run OUT ARGS...: start `userlocks -w ARGS`, attach deadlock-bpfcc to it, release it,
# give the tool two of its 1 s polls after the exit, stop it (SIGTERM: a background job of a
# non-interactive shell ignores SIGINT, the tool's documented Ctrl-C). Program output in OUT.prog.
bpfcc_run() {
	local out=$1 p d i
	shift
	"$U" -w "$@" >"$out.prog" 2>&1 & p=$!
	for i in $(seq 50); do grep -q ready "$out.prog" 2>/dev/null && break; sleep 0.1; done
	env "${BPFCC_ENV[@]}" $BPFCC "$p" --binary "$LIBC" >"$out" 2>"$out.err" & d=$!
	for i in $(seq 600); do
		grep -q 'Tracing' "$out" 2>/dev/null && break
		kill -0 $d 2>/dev/null || break
		sleep 0.2
	done
	kill -USR1 $p; wait $p
	echo "exit=$?" >>"$out.prog"
	for i in $(seq 25); do kill -0 $d 2>/dev/null || break; sleep 0.1; done
	kill -TERM $d 2>/dev/null; wait $d 2>/dev/null
	cat "$out.err" >>"$out"
}

# run TOOL OUT ARGS...: the program under TOOL; everything it prints in OUT
run() {
	local tool=$1 out=$2
	shift 2
	case $tool in
	plain) "$U" "$@" >"$out" 2>&1; echo "exit=$?" >>"$out" ;;
	floor)
		"$B/bench/klt-empty" uprobe 3600 "$LIBC" >/dev/null 2>&1 &
		local e=$!
		sleep 1
		"$U" "$@" >"$out" 2>&1; echo "exit=$?" >>"$out"
		kill $e; wait $e 2>/dev/null ;;
	klt) "$KLT" --user "$U" -- "$U" "$@" >"$out" 2>&1; echo "exit=$?" >>"$out" ;;
	bpfcc) bpfcc_run "$out" "$@"; cat "$out.prog" >>"$out" ;;
	tsan) "$tmp/userlocks-tsan" "$@" >"$out" 2>&1; echo "exit=$?" >>"$out" ;;
	helgrind) valgrind --tool=helgrind "$U" "$@" >"$out" 2>&1; echo "exit=$?" >>"$out" ;;
	esac
}

label() { if [ "$1" = bpfcc ] && [[ $BPFCC == *noclone* ]]; then echo "bpfcc*"; else echo "$1"; fi; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "# tools: $(valgrind --version 2>/dev/null), gcc $(gcc -dumpversion) TSan, bcc $(dpkg-query -W -f='${Version}' bpfcc-tools 2>/dev/null), kvmlocktrace $("$KLT" --version 2>/dev/null | head -1)"
[ -n "$BPFCC_NOTE" ] && echo "# deadlock-bpfcc: $BPFCC_NOTE"

# --- 1. slowdown ---------------------------------------------------------------------------
echo
echo "## slowdown: userlocks load $T $N (work phase timed by the program; $REPS interleaved rounds)"
for r in $(seq "$REPS"); do
	for tool in $TOOLS; do
		run "$tool" "$tmp/load.$tool.$r" load "$T" "$N"
		w=$(sed -n 's/^work_ns=\([0-9]*\) lock_ops=\([0-9]*\)$/\1 \2/p' "$tmp/load.$tool.$r")
		if [ -n "$w" ]; then echo "$w" >>"$tmp/ns.$tool"
		else echo "# round $r: $(label "$tool") produced no timing:"; sed 's/^/#   /' "$tmp/load.$tool.$r" | tail -5; fi
	done
done
printf '%-10s %12s %10s %16s %10s\n' tool work_ms slowdown added_ns/lock_op rounds
base=$(cut -d' ' -f1 "$tmp/ns.plain" 2>/dev/null | median)
for tool in $TOOLS; do
	[ -s "$tmp/ns.$tool" ] || { printf '%-10s %12s\n' "$(label "$tool")" "failed"; continue; }
	med=$(cut -d' ' -f1 "$tmp/ns.$tool" | median)
	ops=$(head -1 "$tmp/ns.$tool" | cut -d' ' -f2)
	awk -v t="$(label "$tool")" -v m="$med" -v b="${base:-0}" -v o="$ops" -v k="$(wc -l <"$tmp/ns.$tool")" \
		'BEGIN { if (b > 0) printf "%-10s %12.1f %9.1fx %16.0f %10d\n", t, m / 1e6, m / b, (m - b) / o, k
			 else printf "%-10s %12.1f %10s %16s %10d\n", t, m / 1e6, "-", "-", k }'
done
echo "(lock_op = one lock + unlock pair; $(head -1 "$tmp/ns.plain" 2>/dev/null | cut -d' ' -f2) per run; median of the rounds)"

[ "${UB_SKIP_SCENARIOS:-0}" = 1 ] && exit 0

# --- 2. precision / recall -----------------------------------------------------------------
# reported TOOL OUT: 1 if the tool's output reports a lock-order inversion, 0 if not, "err"
reported() {
	local pat
	case $1 in
	klt) pat='possible circular locking dependency' ;;
	bpfcc) pat='Potential Deadlock Detected' ;;
	tsan) pat='ThreadSanitizer: lock-order-inversion' ;;
	helgrind) pat='lock order "[^"]*" violated' ;;
	plain) echo "-"; return ;;
	esac
	if grep -q 'exit=3' "$2"; then echo "n/a"
	elif grep -qE "$pat" "$2"; then echo 1
	elif [ "$1" = bpfcc ] && ! grep -q Tracing "$2"; then echo err
	elif [ "$1" = klt ] && grep -qE 'exit=(2|3)' "$2"; then echo err
	else echo 0; fi
}
echo
echo "## lock-order scenarios (bench/userlocks.c): TP = inversion reported, FP = false report, miss"
scen="abba:y cycle3:y trylock:n consistent:n heap-abba:y heap-reuse:n pool-reuse:n array:n rw-abba:y rw-read:n"
stools=$(for t in $TOOLS; do [ "$t" != plain ] && [ "$t" != floor ] && echo "$t"; done)
printf '%-12s %-9s' scenario deadlock
for t in $stools; do printf ' %-9s' "$(label "$t")"; done
echo
for sd in $scen; do
	s=${sd%%:*} d=${sd##*:}
	[ -n "${UB_SCENARIOS:-}" ] && [[ " $UB_SCENARIOS " != *" $s "* ]] && continue
	printf '%-12s %-9s' "$s" "$([ "$d" = y ] && echo yes || echo no)"
	for t in $stools; do
		run "$t" "$tmp/sc.$s.$t" "$s"
		v=$(reported "$t" "$tmp/sc.$s.$t")
		case "$d$v" in
		y1) c=TP ;; y0) c=miss ;; n1) c=FP ;; n0) c=ok ;; *) c=$v ;;
		esac
		echo "$c" >>"$tmp/cls.$t"
		printf ' %-9s' "$c"
	done
	echo
done
printf '%-22s' "precision / recall"
for t in $stools; do
	awk '{ c[$1]++ } END { tp = c["TP"] + 0; fp = c["FP"] + 0; mi = c["miss"] + 0
		p = tp + fp ? sprintf("%.2f", tp / (tp + fp)) : "-"; r = tp + mi ? sprintf("%.2f", tp / (tp + mi)) : "-"
		printf " %-9s", p "/" r }' "$tmp/cls.$t"
done
echo
echo "(n/a: the scenario could not be set up under that tool, e.g. Valgrind's allocator does not"
echo " hand freed blocks straight back, so heap-reuse reuses no address; err: the tool failed)"
