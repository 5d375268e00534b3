#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Exports opened by the real consumer tools, asserting on what they show:
#   folded, perf-script, chrome -> speedscope (npm, pinned in tests/consumers, run in headless
#                                  Chromium): lock names, frames, totals equal to the statistics
#   chrome                      -> also jq structural checks of the Trace Event Format
#   svg                         -> Graphviz dot: cycle edges red, rule edges orange, counts shown
#   report --stats              -> 80 columns, sort and top
# on the fixture recordings and on a live uprobe recording (root only, record --full-events).
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
SS="python3 tests/consumers/speedscope-view.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib/tap.sh
show() { head -n "${2:-20}" "$1" | quote; }
# total speedscope shows for SYMBOL in a --table dump (digits only: "5,000" -> 5000)
ss_total() { awk -F'\t' -v s="$2" '$1 == s { gsub(/,/, "", $2); print $2; exit }' "$1"; }
# stats total from the JSON report: ss_stat JSON LOCK FIELD (hold.total_ns, wait.total_ns, acquisitions)
st() { jq -r --arg l "$2" ".stats.classes[] | select(.lock == \$l) | .$3" "$1"; }

have_ss=true
$SS --help >/dev/null 2>&1 || have_ss=false
[ -f tests/consumers/node_modules/speedscope/dist/release/index.html ] && command -v chromium >/dev/null ||
	have_ss=false

fx=tests/fixtures/lock-times.txt
"$KLT" report $fx --format json -o "$tmp/lt.json" 2>/dev/null

# --- folded -> speedscope, each weight -----------------------------------------------------------
for w in hold wait count; do
	if ! $have_ss; then skip "folded --weight $w: speedscope/chromium not installed"; continue; fi
	"$KLT" report $fx --format folded --weight $w -o "$tmp/lt-$w.folded" 2>"$tmp/err"
	$SS --table "$tmp/lt-$w.folded" >"$tmp/ss" 2>>"$tmp/err"; rc=$?
	case $w in hold) f=hold.total_ns ;; wait) f=wait.total_ns ;; count) f=acquisitions ;; esac
	bad=
	for l in kvm_lock cpu_hotplug_lock kvm-\>srcu; do
		want=$(st "$tmp/lt.json" "$l" "$f")
		got=$(ss_total "$tmp/ss" "$l")
		[ "$want" = 0 ] && want= # zero weights draw nothing
		[ "$got" = "$want" ] || bad="$bad $l: speedscope ${got:-absent}, stats ${want:-0};"
	done
	for fr in entry_SYSCALL_64 kvm_dev_ioctl hardware_enable_all kvm_vm_ioctl mutex_lock; do
		grep -q "^$fr	" "$tmp/ss" || bad="$bad frame $fr missing;"
	done
	if [ $rc = 0 ] && [ -z "$bad" ]; then
		ok "folded --weight $w: speedscope shows each lock with the statistics' total and the kernel frames"
	else
		nok "folded --weight $w: rc=$rc$bad"; show "$tmp/ss"; show "$tmp/err" 5
	fi
done
if $have_ss; then
	# the frames are stacked as recorded: kvm_vm_ioctl's only weight is kvm_lock's contended hold
	if [ "$(ss_total "$tmp/ss" kvm_vm_ioctl)" = 1 ] && [ "$(ss_total "$tmp/ss" qemu-kvm)" = 3 ] &&
	   [ "$(ss_total "$tmp/ss" vcpu0)" = 1 ]; then
		ok "folded: speedscope attributes counts to the callers and tasks (comm as root frame)"
	else nok "folded: caller/task totals"; show "$tmp/ss"; fi
else skip "folded callers: speedscope not installed"; fi

# --- perf-script -> speedscope's `perf script` importer -------------------------------------------
if $have_ss; then
	"$KLT" report $fx --format perf-script -o "$tmp/lt.perf" 2>/dev/null
	$SS --table "$tmp/lt.perf" >"$tmp/ss" 2>"$tmp/err"; rc=$?
	if [ $rc = 0 ] && grep -q '^kvm_lock	' "$tmp/ss" && grep -q '^mutex_lock	' "$tmp/ss" &&
	   grep -q '^hardware_enable_all	' "$tmp/ss" && grep -q '^entry_SYSCALL_64	' "$tmp/ss"; then
		ok "perf-script: speedscope imports it as perf script output, lock and frames shown"
	else nok "perf-script: rc=$rc"; show "$tmp/ss"; show "$tmp/err" 5; fi
else skip "perf-script: speedscope not installed"; fi
# layout: header "comm pid/tid [cpu] sec.usec: period event:", tab-indented frames (the lock and
# 4+4+4+3 recorded ones), blank line
"$KLT" report $fx --format perf-script -o "$tmp/lt2.perf" 2>/dev/null
hdr=$(grep -cE '^[^\t ].* [0-9]+/[0-9]+ +\[[0-9]{3}\] [0-9]+\.[0-9]{6}: +[0-9]+ lock:hold:$' "$tmp/lt2.perf")
frames=$(grep -cP '^\t *[0-9a-f]+ .+ \(\S+\)$' "$tmp/lt2.perf")
sum=$(awk '/lock:hold:$/ { s += $(NF - 1) } END { print s }' "$tmp/lt2.perf")
want=$(jq '[.stats.classes[].hold.total_ns] | add' "$tmp/lt.json")
if [ "$hdr" = 4 ] && [ "$frames" = 19 ] && [ "$(grep -c '^$' "$tmp/lt2.perf")" = 4 ] &&
   [ "$sum" = "$want" ]; then
	ok "perf-script: 4 samples in perf's layout, periods add up to the total hold time ($want ns)"
else nok "perf-script layout: headers $hdr frames $frames sum $sum (want $want)"; show "$tmp/lt2.perf"; fi

# --- chrome -> jq structure and speedscope's Trace Event importer ---------------------------------
"$KLT" report $fx --format chrome -o "$tmp/lt-trace.json" 2>"$tmp/err"
if jq -e '(.traceEvents | length > 0) and
	  ([.traceEvents[] | select(.ph == "X")] | length == 4) and
	  ([.traceEvents[] | select(.ph == "X") | (.name|type) == "string" and (.ts|type) == "number" and
	    (.dur|type) == "number" and (.pid|type) == "number" and (.tid|type) == "number"] | all) and
	  ([.traceEvents[] | select(.ph == "M" and .name == "thread_name") | .args.name] | sort ==
	    ["qemu-kvm","qemu-kvm","vcpu0"])' "$tmp/lt-trace.json" >/dev/null &&
   [ "$(jq '[.traceEvents[] | select(.ph=="X" and .name=="kvm_lock") | .dur * 1000] | add | round' "$tmp/lt-trace.json")" = \
     "$(st "$tmp/lt.json" kvm_lock hold.total_ns)" ]; then
	ok "chrome: Trace Event JSON, one X event per hold, kvm_lock durations add up to its hold total"
else nok "chrome: structure"; show "$tmp/lt-trace.json"; show "$tmp/err" 5; fi
if $have_ss; then
	$SS --table "$tmp/lt-trace.json" >"$tmp/ss" 2>"$tmp/err"; rc=$?
	# speedscope shows the first thread (tid 100): kvm_lock 4 us inside cpu_hotplug_lock 5 us
	if [ $rc = 0 ] && grep -qE '^kvm_lock \{.*\}	4\.00µs	4\.00µs$' "$tmp/ss" &&
	   grep -qE '^cpu_hotplug_lock \{.*"mode":"read".*\}	5\.00µs	1000\.00ns$' "$tmp/ss"; then
		ok "chrome: speedscope shows the hold intervals nested, with their durations"
	else nok "chrome: speedscope rc=$rc"; show "$tmp/ss"; show "$tmp/err" 5; fi
else skip "chrome: speedscope not installed"; fi

# --- svg: Graphviz renders the lock graph with the findings marked --------------------------------
if command -v dot >/dev/null; then
	"$KLT" report tests/fixtures/abba.txt --format svg -o "$tmp/abba.svg" 2>"$tmp/err"; rc=$?
	if [ $rc = 0 ] && python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$tmp/abba.svg" &&
	   grep -q '>lock_a<' "$tmp/abba.svg" && grep -q '>lock_b<' "$tmp/abba.svg" &&
	   [ "$(grep -c 'stroke="red"' "$tmp/abba.svg")" -ge 2 ] && grep -q 'fill="red"[^>]*>1<' "$tmp/abba.svg"; then
		ok "svg: dot -Tsvg draws the ABBA cycle: both locks, red edges labelled with their counts"
	else nok "svg: abba rc=$rc"; show "$tmp/err" 5; fi
	"$KLT" report tests/fixtures/kvm-6.12-violation.txt --kernel 6.12 --format svg -o "$tmp/rule.svg" 2>"$tmp/err"
	if grep -q 'stroke="orange"' "$tmp/rule.svg" && grep -q 'stroke-dasharray' "$tmp/rule.svg" &&
	   grep -q '>kvm_usage_lock<' "$tmp/rule.svg"; then
		ok "svg: the rule-violating edge is orange and dashed"
	else nok "svg: rule edge"; show "$tmp/err" 5; fi
	# trylock.txt: a -> b -> c; one hop around a leaves c out
	"$KLT" report tests/fixtures/trylock.txt --no-rules --format svg --focus a -o "$tmp/focus.svg" 2>"$tmp/err"
	if [ $? = 0 ] && grep -q '>a<' "$tmp/focus.svg" && grep -q '>b<' "$tmp/focus.svg" &&
	   ! grep -q '>c<' "$tmp/focus.svg"; then
		ok "svg --focus: only the neighbourhood is drawn"
	else nok "svg --focus"; show "$tmp/err" 5; fi
else
	skip "svg: graphviz missing"; skip "svg rule: graphviz missing"; skip "svg focus: graphviz missing"
fi
# without dot on PATH: one clear line, exit 2, no output file left behind
PATH=/nonexistent "$(readlink -f "$KLT")" report tests/fixtures/abba.txt --no-rules --format svg -o "$tmp/no.svg" \
	>/dev/null 2>"$tmp/err"; rc=$?
if [ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "needs Graphviz's dot" "$tmp/err" &&
   [ ! -e "$tmp/no.svg" ]; then ok "svg without dot: one-line error, exit 2, no file"
else nok "svg without dot: rc=$rc"; show "$tmp/err"; fi

# --- report --stats ---------------------------------------------------------------------------------
"$KLT" report $fx --stats --sort wait --top 2 >"$tmp/stats" 2>/dev/null
if [ "$(awk 'length($0) > 80' "$tmp/stats" | wc -l)" = 0 ] &&
   grep -qE '^kvm_lock +2 +1 +1\.65us +2\.80us +2\.50us +4\.00us$' "$tmp/stats" &&
   grep -q 'by wait (2 shown)' "$tmp/stats" && ! grep -q '^kvm->srcu' "$tmp/stats" &&
   [ "$(grep -vE '^ ' "$tmp/stats" | sed -n 3p | cut -d' ' -f1)" = kvm_lock ]; then
	ok "stats: klockstat-like table in 80 columns, sorted by wait, top 2"
else nok "stats table"; show "$tmp/stats"; fi
"$KLT" report $fx --stats --hist >"$tmp/hist" 2>/dev/null
if grep -q 'hold (ns): count 2, total 5000, max 4000' "$tmp/hist" &&
   grep -qE '^ +2048 -> 4095 +: 1 +\|\*+ *\|$' "$tmp/hist" &&
   [ "$(awk 'length($0) > 80' "$tmp/hist" | wc -l)" = 0 ]; then
	ok "stats --hist: log2 histograms within 80 columns"
else nok "stats --hist"; show "$tmp/hist" 40; fi
for bad in "--sort bogus" "--weight bogus" "--top -1" "--stats --format json" "--focus x --format folded"; do
	# shellcheck disable=SC2086
	"$KLT" report $fx $bad >/dev/null 2>"$tmp/err"; rc=$?
	if [ $rc = 2 ] && grep -q "kvmlocktrace report: " "$tmp/err"; then ok "bad option '$bad': exit 2 with a message"
	else nok "bad option '$bad': rc=$rc"; show "$tmp/err" 5; fi
done
# an edges-only recording says where the numbers would come from
"$KLT" report tests/fixtures/abba.txt --stats >"$tmp/s2" 2>/dev/null
if grep -q '^lock_a ' "$tmp/s2"; then ok "stats on a full-event text fixture: lock_a listed"
else nok "stats abba"; show "$tmp/s2"; fi

# an edges-only recording (what live tracing sends without --full-events): empty, valid exports
printf '1 edge b mutex held=a held-kind=mutex\n' >"$tmp/edges.txt"
"$KLT" report "$tmp/edges.txt" --no-rules --format folded >"$tmp/e.folded" 2>"$tmp/err"; r1=$?
"$KLT" report "$tmp/edges.txt" --no-rules --format perf-script >"$tmp/e.perf" 2>>"$tmp/err"; r2=$?
"$KLT" report "$tmp/edges.txt" --no-rules --format chrome >"$tmp/e.json" 2>>"$tmp/err"; r3=$?
"$KLT" report "$tmp/edges.txt" --no-rules --stats >"$tmp/e.stats" 2>>"$tmp/err"; r4=$?
if [ "$r1$r2$r3$r4" = 0000 ] && [ ! -s "$tmp/e.folded" ] && [ ! -s "$tmp/e.perf" ] &&
   jq -e '.traceEvents == []' "$tmp/e.json" >/dev/null && grep -q -- '--full-events' "$tmp/e.stats"; then
	ok "edges-only recording: empty folded/perf-script, empty valid trace JSON, stats say why"
else nok "edges-only recording: rc $r1$r2$r3$r4"; show "$tmp/err"; fi

# --- live: a uprobe recording with --full-events -----------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	for t in record stats folded perf-script chrome perf-data no-full; do skip "live $t: needs root"; done
else
	gcc -O1 -g -fno-omit-frame-pointer -pthread tests/live/pthread_order.c -o "$tmp/pthread_order"
	"$KLT" record --full-events --user "$tmp/pthread_order" -o "$tmp/live.klt" -- \
		"$tmp/pthread_order" abba >"$tmp/rec.out" 2>&1; rc=$?
	"$KLT" report "$tmp/live.klt" --format json -o "$tmp/live.json" 2>/dev/null
	if [ $rc = 0 ] && [ "$(st "$tmp/live.json" lock_a acquisitions)" = 2 ] &&
	   [ "$(st "$tmp/live.json" lock_b acquisitions)" = 2 ] &&
	   [ "$(st "$tmp/live.json" lock_a hold.count)" = 2 ] &&
	   [ "$(st "$tmp/live.json" lock_a wait.count)" = 2 ] &&
	   tests/unit/validate-json.sh "$tmp/live.json"; then
		ok "live record --full-events: lock_a/lock_b acquired twice each, with hold and wait times (schema-valid JSON)"
	else nok "live record: rc=$rc"; show "$tmp/rec.out"; jq -c .stats "$tmp/live.json" | cut -c1-600 | quote; fi
	"$KLT" report "$tmp/live.klt" --stats >"$tmp/live.stats" 2>/dev/null
	if grep -qE '^lock_a +2 ' "$tmp/live.stats" && grep -qE '^  path_one\+0x[0-9a-f]+ +1 ' "$tmp/live.stats" &&
	   grep -qE '^  path_two_inverted\+0x[0-9a-f]+ +1 ' "$tmp/live.stats"; then
		ok "live stats: per-site rows for path_one and path_two_inverted"
	else nok "live stats"; show "$tmp/live.stats"; fi
	if $have_ss; then
		"$KLT" report "$tmp/live.klt" --format folded -o "$tmp/live.folded" 2>/dev/null
		$SS --table "$tmp/live.folded" >"$tmp/ss" 2>"$tmp/err"; rc=$?
		bad=
		for l in lock_a lock_b; do
			[ "$(ss_total "$tmp/ss" $l)" = "$(st "$tmp/live.json" $l hold.total_ns)" ] ||
				bad="$bad $l $(ss_total "$tmp/ss" $l) != $(st "$tmp/live.json" $l hold.total_ns);"
		done
		for fr in path_one path_two_inverted run __pthread_mutex_lock pthread_order; do
			grep -q "^$fr	" "$tmp/ss" || bad="$bad $fr missing;"
		done
		if [ $rc = 0 ] && [ -z "$bad" ]; then
			ok "live folded: speedscope shows lock_a/lock_b with the statistics' hold totals and the user frames"
		else nok "live folded: rc=$rc$bad"; show "$tmp/ss" 30; fi
		# the lock threads only: the first profile speedscope shows is one of them
		"$KLT" report "$tmp/live.klt" --format perf-script --lock 'lock_?' -o "$tmp/live.perf" 2>/dev/null
		$SS --table "$tmp/live.perf" >"$tmp/ss" 2>"$tmp/err"; rc=$?
		if [ $rc = 0 ] && grep -q '^lock_[ab]	' "$tmp/ss" && grep -qE '^path_(one|two_inverted)	' "$tmp/ss" &&
		   grep -q '^__pthread_mutex_lock	' "$tmp/ss"; then
			ok "live perf-script: speedscope's perf importer shows the locks and user frames"
		else nok "live perf-script: rc=$rc"; show "$tmp/ss"; show "$tmp/live.perf" 12; fi
		"$KLT" report "$tmp/live.klt" --format chrome --lock 'lock_?' -o "$tmp/live-trace.json" 2>/dev/null
		$SS --table "$tmp/live-trace.json" >"$tmp/ss" 2>"$tmp/err"; rc=$?
		if [ $rc = 0 ] && grep -qE '^lock_a \{' "$tmp/ss" && grep -qE '^lock_b \{' "$tmp/ss"; then
			ok "live chrome: speedscope shows lock_a and lock_b hold intervals of one thread"
		else nok "live chrome: rc=$rc"; show "$tmp/ss"; fi
	else
		for t in folded perf-script chrome; do skip "live $t: speedscope not installed"; done
	fi
	# perf-data of the live recording through Debian's perf: lock-time weights equal the statistics
	"$KLT" report "$tmp/live.klt" --format perf-data --lock 'lock_?' -o "$tmp/live.data" 2>"$tmp/err"
	rc=$?
	want=$(( $(st "$tmp/live.json" lock_a hold.total_ns) + $(st "$tmp/live.json" lock_b hold.total_ns) ))
	HOME=$tmp PERF_CONFIG=/dev/null PERF_BUILDID_DIR=$tmp/.debug PAGER=cat \
		perf report -i "$tmp/live.data" --stdio --no-children >"$tmp/pr" 2>"$tmp/pr.err"
	prc=$?
	HOME=$tmp PERF_CONFIG=/dev/null PERF_BUILDID_DIR=$tmp/.debug PAGER=cat \
		perf script -i "$tmp/live.data" >"$tmp/ps" 2>>"$tmp/pr.err"
	src=$?
	got=$(sed -n 's/^# Event count (approx.): //p' "$tmp/pr")
	if [ $rc = 0 ] && [ $prc = 0 ] && [ $src = 0 ] && [ "$got" = "$want" ] &&
	   grep -q "of event 'klt:hold-ns'" "$tmp/pr" && grep -q 'lock:lock_a' "$tmp/pr" &&
	   grep -q 'lock:lock_b' "$tmp/pr" && grep -qE 'path_one( \[[^]]*\])?\+0x' "$tmp/ps" &&
	   grep -qE 'path_two_inverted( \[[^]]*\])?\+0x' "$tmp/ps" && grep -q '__pthread_mutex_lock' "$tmp/ps"; then
		ok "live perf-data: perf report's event count is the statistics' hold total ($want ns); perf script shows the locks and user frames"
	else nok "live perf-data: rc=$rc perf report=$prc script=$src count=$got want=$want"; show "$tmp/err"; show "$tmp/pr.err"; show "$tmp/pr" 30; fi
	# without --full-events only first-seen edges are sent: no hold times for lock_a
	"$KLT" record --user "$tmp/pthread_order" -o "$tmp/edges.klt" -- "$tmp/pthread_order" abba >/dev/null 2>&1
	"$KLT" report "$tmp/edges.klt" --format json -o "$tmp/edges.json" 2>/dev/null
	if [ "$(jq '[.stats.classes[] | select(.lock == "lock_a")] | length' "$tmp/edges.json")" = 0 ]; then
		ok "live without --full-events: no acquisitions of lock_a recorded (edges only), as documented"
	else nok "live without --full-events"; jq -c .stats "$tmp/edges.json" | cut -c1-300 | quote; fi
fi

echo "1..$n"
