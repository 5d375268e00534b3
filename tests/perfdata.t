#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# perf.data writer (src/io/perfdata.c) proven by the real consumer: Debian's perf (linux-perf)
# opens files written by tests/perfdata/pd-write and must show the events' names, tasks,
# lock-time weights and call chains by name. Also the output-file safety rules and an ASan run.
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
PDW=${PDW:-$B/tests/pd-write}
PDW_ASAN=$B/asan/tests/pd-write
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib/tap.sh
show() { cat "$@" | quote | head -40; }
# expect DESCRIPTION FILE REGEX: an extended regex must match a line of FILE
expect() {
	if grep -Eq -- "$3" "$2"; then ok "$1"; else nok "$1"; echo "#   no line matches: $3"; show "$2"; fi
}

# perf isolated from the user's configuration, build-id cache and pager.
mkdir -p "$tmp/home" "$tmp/empty"
export HOME=$tmp/home PERF_CONFIG=/dev/null PERF_BUILDID_DIR=$tmp/home/.debug PAGER=cat PERF_PAGER=cat
. "$(dirname "$0")/lib/asan.sh"

if ! command -v perf >/dev/null || ! perf version >/dev/null 2>&1; then
	nok "perf is installed (scripts/install-deps.sh installs linux-perf)"
	echo "1..$n"
	exit 1
fi
echo "# $(perf version)"

# perf_run NAME ARGS...: run perf with stdout in $tmp/NAME.out, stderr in $tmp/NAME.err
perf_run() {
	local name=$1; shift
	perf "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
}
# perf_ok DESCRIPTION NAME ARGS...: perf exits 0 and prints nothing on stderr
perf_ok() {
	local d=$1 name=$2; shift 2
	if perf_run "$name" "$@" && [ ! -s "$tmp/$name.err" ]; then
		ok "$d"
	else
		nok "$d (exit $?)"; show "$tmp/$name.err"
	fi
}

# --- 1. a small recording with known names and weights (3:1) ----------------------------
T=$'\t'
cat >"$tmp/basic.spec" <<EOF
# pid tid cpu time period comm frames (innermost first)
100${T}101${T}0${T}1000000${T}3000${T}qemu-kvm${T}lock:kvm_lock;mutex_lock+0x1c;kvm_vm_ioctl+0x3f [kvm];__x64_sys_ioctl+0x8a;main+0x24 [/usr/bin/prog]
200${T}202${T}1${T}2000000${T}1000${T}kworker/1:1${T}lock:cpu_hotplug_lock;cpus_read_lock+0x8;hardware_enable_all+0x2a [kvm]
EOF
F=$tmp/basic.data
if "$PDW" "$F" <"$tmp/basic.spec" >"$tmp/w.out" 2>"$tmp/w.err"; then
	ok "pd-write writes a perf.data"
else
	nok "pd-write writes a perf.data"; show "$tmp/w.err"
fi
expect "writer counts 2 samples, 8 symbols, 2 tasks" "$tmp/w.out" '^samples=2 symbols=8 tasks=2 '
mode=$(stat -c %a "$F" 2>/dev/null)
[ "$mode" = 600 ] && ok "output file mode is 0600" || nok "output file mode is $mode, not 0600"

perf_ok "perf report --stdio opens it without warnings" rep report -i "$F" --stdio --no-children
expect "report names the event" "$tmp/rep.out" "^# Samples: 2 +of event 'klt:hold-ns'"
expect "report's event count is the sum of the periods" "$tmp/rep.out" '^# Event count \(approx\.\): 4000$'
expect "report weights qemu-kvm's chain 75%" "$tmp/rep.out" '^ +75\.00% +qemu-kvm +lock:kvm_lock +\[k\] lock:kvm_lock *$'
expect "report weights kworker's chain 25%" "$tmp/rep.out" '^ +25\.00% +kworker/1:1 +lock:cpu_hotplug_lock +\[k\] lock:cpu_hotplug_lock *$'
# the call chain under the 75% entry, frame by frame, innermost first
chain=$(awk '/75\.00%/{on=1; next} on && /^$/{exit} on' "$tmp/rep.out" |
	sed -E 's/^[ |-]*//; s/ +$//' | grep -v '^$' | paste -sd '>' -)
want='lock:kvm_lock>mutex_lock>kvm_vm_ioctl [kvm]>__x64_sys_ioctl>main [/usr/bin/prog]'
[ "$chain" = "$want" ] && ok "report shows the kernel and user frames of the chain by name" ||
	{ nok "report chain is '$chain', want '$want'"; show "$tmp/rep.out"; }

perf_ok "perf report --children opens it" repc report -i "$F" --stdio --children
expect "children: kvm_vm_ioctl [kvm] carries 75% of the lock time" "$tmp/repc.out" \
	'^ +75\.00% +0\.00% +qemu-kvm +kvm_vm_ioctl \[kvm\] +\[k\] kvm_vm_ioctl \[kvm\]'
expect "children: hardware_enable_all [kvm] carries 25%" "$tmp/repc.out" \
	'^ +25\.00% +0\.00% +kworker/1:1 .*\[k\] hardware_enable_all \[kvm\]'

perf_ok "perf report --sort pid,sym opens it" reps report -i "$F" --stdio --no-children -g none --sort pid,sym
expect "report shows tid and comm" "$tmp/reps.out" '^ +75\.00% +101:qemu-kvm +\[k\] lock:kvm_lock'
expect "report shows the second task" "$tmp/reps.out" '^ +25\.00% +202:kworker/1:1 +\[k\] lock:cpu_hotplug_lock'

perf_ok "perf script opens it without warnings" scr script -i "$F" \
	-F comm,pid,tid,cpu,time,period,event,ip,sym,symoff
expect "script sample line: comm pid/tid cpu time period event" "$tmp/scr.out" \
	'^ *qemu-kvm +100/101 +\[000\] +0\.001000: +3000 +klt:hold-ns: *$'
expect "script second sample line" "$tmp/scr.out" \
	'^ *kworker/1:1 +200/202 +\[001\] +0\.002000: +1000 +klt:hold-ns: *$'
frames=$(awk '/qemu-kvm/{on=1; next} on && /^$/{exit} on {sub(/^[ \t]*[0-9a-f]+ /, ""); print}' \
	"$tmp/scr.out" | paste -sd '>' -)
want='lock:kvm_lock+0x0>mutex_lock+0x1c>kvm_vm_ioctl [kvm]+0x3f>__x64_sys_ioctl+0x8a>main [/usr/bin/prog]+0x24'
[ "$frames" = "$want" ] && ok "script shows every frame with its offset, innermost first" ||
	{ nok "script frames are '$frames', want '$want'"; show "$tmp/scr.out"; }
perf_ok "perf script with default fields" scrd script -i "$F"
expect "default script output has the frames" "$tmp/scrd.out" '^[[:space:]]+[0-9a-f]+ hardware_enable_all \[kvm\]\+0x2a '

# Nothing outside the file is consulted: copied elsewhere, read from another directory, with
# --symfs on an empty directory, perf still shows the same names.
mkdir -p "$tmp/elsewhere"
cp "$F" "$tmp/elsewhere/copy.data"
( cd "$tmp/empty" && perf script -i "$tmp/elsewhere/copy.data" --symfs "$tmp/empty" \
	-F comm,pid,tid,cpu,time,period,event,ip,sym,symoff ) \
	>"$tmp/copy.out" 2>"$tmp/copy.err"
cmp -s "$tmp/copy.out" "$tmp/scr.out" && ok "a copy read with an empty --symfs shows the same frames" ||
	{ nok "copy with --symfs differs"; diff "$tmp/scr.out" "$tmp/copy.out" | show; show "$tmp/copy.err"; }

perf_ok "perf report --header-only" hdr report -i "$F" --header-only
expect "header: event desc names the event" "$tmp/hdr.out" '^# event : name = klt:hold-ns,'
expect "header: hostname from klt_pd_set_meta" "$tmp/hdr.out" '^# hostname : testhost$'
expect "header: cpus from the samples' cpu numbers" "$tmp/hdr.out" '^# nrcpus avail : 2$'

# --- 2. out of order, renames, odd names, no stack -------------------------------------
long=$(printf 'f%.0s' $(seq 300))
# Task 7 is renamed between its samples; task 8's samples come out of time order, and the one
# written first (4 ms) introduces sym_b, which the earlier one (2.5 ms) also uses.
cat >"$tmp/odd.spec" <<EOF
7${T}7${T}3${T}1000000${T}20${T}before${T}raw_spin_lock+0x4;${long}+0x10
8${T}8${T}1${T}4000000${T}40${T}x${T}sym_b+0x8;raw_spin_lock+0x4;0xffffffff81234567;0x<redacted>
8${T}8${T}1${T}2000000${T}30${T}x${T}
8${T}8${T}1${T}2500000${T}35${T}x${T}raw_spin_lock+0x4;sym_b+0x9;prog+0x1a2b3c4d [/usr/bin/prog];sym_b+0xffffff
7${T}7${T}3${T}5000000${T}10${T}after${T}raw_spin_lock+0x4
11${T}12${T}0${T}6000000${T}1${T}${T}raw_spin_lock+0x4
EOF
if "$PDW" "$tmp/odd.data" <"$tmp/odd.spec" >/dev/null 2>"$tmp/w.err"; then
	ok "pd-write: out-of-order samples, renames, odd names"
else
	nok "pd-write odd"; show "$tmp/w.err"
fi
perf_ok "perf script opens it" odd script -i "$tmp/odd.data" -F comm,tid,time,period,ip,sym,symoff
order=$(grep -Eo '^ *[a-z]+ +[78] +[0-9.]+: +[0-9]+' "$tmp/odd.out" | awk '{print $1 "/" $2 "@" $3 "=" $4}' | paste -sd ' ' -)
want='before/7@0.001000:=20 x/8@0.002000:=30 x/8@0.002500:=35 x/8@0.004000:=40 after/7@0.005000:=10'
[ "$order" = "$want" ] && ok "samples in time order, each with the name its task had then" ||
	{ nok "order/comm '$order', want '$want'"; show "$tmp/odd.out"; }
expect "a task without a name is shown as perf shows unknown tasks" "$tmp/odd.out" '^ *:12 +12 +0\.006000: +1 *$'
expect "a symbol first written for a later sample resolves in an earlier one" "$tmp/odd.out" \
	'^[[:space:]]+[0-9a-f]+ sym_b\+0x9$'
expect "an offset beyond 16 MiB keeps the whole text as the name" "$tmp/odd.out" \
	'^[[:space:]]+[0-9a-f]+ prog\+0x1a2b3c4d \[/usr/bin/prog\]\+0x0$'
expect "an offset just below 16 MiB is an offset" "$tmp/odd.out" '^[[:space:]]+[0-9a-f]+ sym_b\+0xffffff$'
expect "a raw address frame keeps its text" "$tmp/odd.out" ' 0xffffffff81234567\+0x0$'
expect "a redacted frame keeps its text" "$tmp/odd.out" ' 0x<redacted>\+0x0$'
expect "a 300-character name is shortened to 255 characters" "$tmp/odd.out" " f{255}\+0x10$"
expect "a sample without a stack shows [no stack]" "$tmp/odd.out" ' \[no stack\]\+0x0$'

# Deep stacks: all frames are kept up to 1024 (perf shows 127 unless --max-stack says more).
{
	printf '9\t9\t0\t7000000\t1\tdeep\t'; seq -f 'd%g+0x1' 200 | paste -sd ';' -
	printf '9\t9\t0\t8000000\t1\tdeep\t'; seq -f 'e%g+0x1' 1500 | paste -sd ';' -
} >"$tmp/deep.spec"
"$PDW" "$tmp/deep.data" <"$tmp/deep.spec" >/dev/null 2>"$tmp/w.err" && ok "pd-write: 200- and 1500-frame stacks" ||
	{ nok "pd-write deep"; show "$tmp/w.err"; }
perf_ok "perf script --max-stack 2000 opens it" deep script -i "$tmp/deep.data" --max-stack 2000 -F ip,sym
d=$(grep -Ec '^[[:space:]]+[0-9a-f]+ d[0-9]+$' "$tmp/deep.out")
e=$(grep -Ec '^[[:space:]]+[0-9a-f]+ e[0-9]+$' "$tmp/deep.out")
last=$(grep -E '^[[:space:]]+[0-9a-f]+ e[0-9]+$' "$tmp/deep.out" | tail -1 | awk '{print $2}')
[ "$d" = 200 ] && [ "$e" = 1024 ] && [ "$last" = e1024 ] &&
	ok "a 200-frame stack is whole; a 1500-frame one keeps its innermost 1024" ||
	{ nok "deep stacks: $d of 200, $e of 1024 (last $last)"; }
perf_ok "perf report --header-only on it" deeph report -i "$tmp/deep.data" --header-only
expect "header: time of the first sample" "$tmp/deeph.out" '^# time of first sample : 0\.007000$'
expect "header: time of the last sample" "$tmp/deeph.out" '^# time of last sample : 0\.008000$'

# --- 3. larger file: totals and frame counts match what was written ----------------------
awk -v T="$T" 'BEGIN { srand(7); for (i = 0; i < 20000; i++) {
	pid = 1000 + i % 40; f = ""; nf = 1 + i % 12
	for (k = 0; k < nf; k++) f = f (k ? ";" : "") sprintf("fn%d+0x%x [mod%d]", int(rand() * 500), int(rand() * 4096), k % 3)
	printf "%d%s%d%s%d%s%d%s%d%scomm%d%s%s\n", pid, T, pid + i % 2, T, i % 4, T, 1000 + i, T, 1 + int(rand() * 100000), T, pid, T, f } }' \
	>"$tmp/big.spec"
total=$(awk -F'\t' '{ s += $5 } END { print s }' "$tmp/big.spec")
nframes=$(awk -F'\t' '{ s += split($7, a, ";") } END { print s }' "$tmp/big.spec")
"$PDW" "$tmp/big.data" <"$tmp/big.spec" >"$tmp/big.w" 2>"$tmp/w.err" && ok "pd-write: 20000 samples" ||
	{ nok "pd-write big"; show "$tmp/w.err"; }
perf_ok "perf report on 20000 samples" big report -i "$tmp/big.data" --stdio --no-children -g none --sort comm
expect "event count equals the sum of the periods ($total)" "$tmp/big.out" "^# Event count \(approx\.\): $total\$"
perf_ok "perf script on 20000 samples" bigs script -i "$tmp/big.data" -F ip,sym
got=$(grep -Ec '^[[:space:]]+[0-9a-f]+ fn[0-9]+ \[mod[0-9]\]$' "$tmp/bigs.out")
[ "$got" = "$nframes" ] && ok "every one of the $nframes frames resolved to its name" ||
	{ nok "$got of $nframes frames resolved"; grep -Ev '^[[:space:]]+[0-9a-f]+ fn[0-9]+ \[mod[0-9]\]$' "$tmp/bigs.out" | show; }

# --- 4. the ASan/UBSan build writes byte-identical files --------------------------------
for s in basic big odd deep; do
	if "$PDW_ASAN" "$tmp/$s.asan" <"$tmp/$s.spec" >/dev/null 2>"$tmp/asan.err" &&
		cmp -s "$tmp/$s.asan" "$tmp/$s.data"; then
		ok "ASan build: $s is clean and byte-identical"
	else
		nok "ASan build: $s"; show "$tmp/asan.err"
	fi
done

# --- 5. output file safety and errors ---------------------------------------------------
cp "$F" "$tmp/keep.data"
# fail DESCRIPTION REGEX ARGS...: pd-write exits 1 with a one-line error matching REGEX
fail() {
	local d=$1 re=$2; shift 2
	"$PDW" "$@" >/dev/null 2>"$tmp/f.err" <"${SPEC:-$tmp/basic.spec}"
	local rc=$?
	if [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/f.err")" = 1 ] && grep -Eq -- "$re" "$tmp/f.err"; then
		ok "$d"
	else
		nok "$d (exit $rc)"; show "$tmp/f.err"
	fi
}
fail "an existing file is not overwritten without force" "^pd-write: $F: file exists \(use --force to overwrite\)$" "$F"
cmp -s "$F" "$tmp/keep.data" && ok "the existing file is unchanged" || nok "the existing file was modified"
ln -s "$tmp/keep.data" "$tmp/link.data"
fail "a symlink is refused" "^pd-write: $tmp/link.data: file exists" "$tmp/link.data"
fail "a symlink is refused even with force" "^pd-write: $tmp/link.data: cannot create: " -f "$tmp/link.data"
cmp -s "$F" "$tmp/keep.data" && ok "the symlink's target is unchanged" || nok "the symlink target was modified"
printf 'x\n' >"$tmp/old.data"
"$PDW" -f "$tmp/old.data" <"$tmp/basic.spec" >/dev/null 2>"$tmp/f.err" && cmp -s "$tmp/old.data" "$F" &&
	ok "force replaces an existing file" || { nok "force"; show "$tmp/f.err"; }
SPEC=/dev/null fail "no samples: an error, and no file left" "^pd-write: $tmp/empty.data: no samples" "$tmp/empty.data"
[ ! -e "$tmp/empty.data" ] && ok "the empty output was removed" || nok "empty output left behind"
fail "an unwritable directory is one line naming the file" "^pd-write: /nonexistent/x.data: cannot create: No such file" /nonexistent/x.data
# A write failure part-way (file size limit: EFBIG, SIGXFSZ ignored) is one line, and no file.
( trap '' XFSZ; ulimit -f 100; exec "$PDW" "$tmp/full.data" <"$tmp/big.spec" ) >/dev/null 2>"$tmp/f.err"
rc=$?
if [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/f.err")" = 1 ] &&
	grep -Eq "^pd-write: $tmp/full.data: write failed: File too large$" "$tmp/f.err"; then
	ok "a failed write is one line naming the file"
else
	nok "failed write (exit $rc)"; show "$tmp/f.err"
fi
[ ! -e "$tmp/full.data" ] && ok "the partial file was removed" || nok "partial file left behind"
fail "a device is refused even with force, and left alone" "^pd-write: /dev/full: not a regular file" -f /dev/full
[ -c /dev/full ] && ok "/dev/full is still there" || nok "/dev/full was removed"
fail "stdout is refused (the header is rewritten at the end)" "^pd-write: -: perf-data output needs a file" -

# --- 6. end to end through the CLI, once `report --format perf-data` is wired -------------
# tests/fixtures/abba.txt: two tasks take lock_a/lock_b in opposite orders, with stacks.
KLT=${KLT:-$B/kvmlocktrace}
if ! "$KLT" report --help 2>/dev/null | grep -q 'perf-data'; then
	n=$((n + 1)); echo "ok $n # SKIP $KLT report has no --format perf-data yet"
else
	E=$tmp/abba.data
	if "$KLT" report tests/fixtures/abba.txt --format perf-data -o "$E" >"$tmp/cli.out" 2>"$tmp/cli.err" &&
		[ -s "$E" ]; then
		ok "report --format perf-data writes a file from a fixture"
	else
		nok "report --format perf-data on abba.txt"; show "$tmp/cli.err"
	fi
	perf_ok "perf report opens the CLI's file" cli report -i "$E" --stdio --no-children --sort pid
	expect "its event is a klt: event" "$tmp/cli.out" "^# Samples: [0-9]+ +of event 'klt:"
	expect "its event count is positive" "$tmp/cli.out" '^# Event count \(approx\.\): [1-9][0-9]*$'
	perf_ok "perf script opens the CLI's file" clis script -i "$E" -F comm,tid,ip,sym,symoff
	for want in 'worker-one +101' 'worker-two +202' 'path_one\+0x10$' 'caller_one\+0x20$' \
		'path_two\+0x30$' 'caller_two\+0x20$'; do
		expect "perf script shows $want" "$tmp/clis.out" "$want"
	done
fi

echo "1..$n"
