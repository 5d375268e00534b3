#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Never a false clean, command-line side: every rejected option, unknown name or unusable input
# ends in one line that names the option or file, with exit 2; help exits 0. No root needed.
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib/tap.sh
ex=examples/kvm-6.5-srcu-hotplug-deadlock.klt

# expect_err DESCRIPTION RC REGEX COMMAND...: exit RC, exactly one line on stderr matching REGEX
expect_err() {
	local d=$1 want=$2 re=$3 rc
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
	if [ "$rc" = "$want" ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qE -- "$re" "$tmp/err"; then
		ok "$d: exit $rc, '$(cat "$tmp/err")'"
	else
		nok "$d: exit $rc (expected $want), stderr:"; head -5 "$tmp/err" | quote
	fi
}

# vmtest --help: the harness's usage on stdout, exit 0 (no QEMU needed)
"$KLT" vmtest --help >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ $rc = 0 ] && grep -q -- '--kernel' "$tmp/out" && [ ! -s "$tmp/err" ]; then
	ok "vmtest --help: usage on stdout, exit 0"
else nok "vmtest --help: rc=$rc"; head -3 "$tmp/err" | quote; fi
"$KLT" vmtest --bogus >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ $rc = 2 ] && head -1 "$tmp/err" | grep -q 'unknown option --bogus'; then
	ok "vmtest --bogus: usage error on stderr, exit 2"
else nok "vmtest --bogus: rc=$rc"; head -3 "$tmp/err" | quote; fi

# --focus on a name that matches nothing: one line naming the name and the file, no output file
for f in dot svg; do
	expect_err "--format $f --focus nosuchlock" 2 \
		"^kvmlocktrace: --focus: no lock or class named 'nosuchlock' in $ex\$" \
		"$KLT" report $ex --format $f --focus nosuchlock -o "$tmp/focus.$f"
	if [ ! -e "$tmp/focus.$f" ]; then ok "--format $f --focus nosuchlock: no output file created"
	else nok "--format $f --focus nosuchlock: left $tmp/focus.$f"; fi
done
if "$KLT" report $ex --format dot --focus 'kvm*' 2>"$tmp/err" | grep -q 'kvm->slots_lock'; then
	ok "--focus with a glob that matches still draws"
else nok "--focus 'kvm*'"; quote <"$tmp/err"; fi

# --duration: finite, positive, at most one year (a typo must not mean "forever"); timeout:
# an accepted value would trace until killed
for d in 99999999999999999999 inf nan -inf 1e400 31536001 0 -1 '' 5s; do
	expect_err "--duration '$d'" 2 "^kvmlocktrace record: --duration: expected .* 31536000 \(one year\), got '$d'\$" \
		timeout 20 "$KLT" record --attach tracepoint -o "$tmp/never.klt" -d "$d"
done
expect_err "--top 1000001" 2 "^kvmlocktrace report: --top: expected a whole number 0\.\.1000000, got '1000001'\$" \
	"$KLT" report $ex --stats --top 1000001

# options that only one kind of output uses are refused elsewhere, not silently ignored
for o in "--top 5" "--sort wait" "--hist"; do
	# shellcheck disable=SC2086
	expect_err "$o without --stats" 2 "^kvmlocktrace report: ${o%% *} needs --stats" "$KLT" report $ex $o
done
for f in text json dot svg chrome; do
	expect_err "--weight wait with --format $f" 2 \
		"^kvmlocktrace report: --weight applies to --format folded, perf-script and perf-data only\$" \
		"$KLT" report $ex --format $f --weight wait
done
for f in text json dot; do
	expect_err "--lock 'kvm*' with --format $f" 2 "^kvmlocktrace report: --lock applies to --format folded, perf-script, perf-data and chrome only\$" \
		"$KLT" report $ex --format $f --lock 'kvm*'
done
for f in text json folded; do
	expect_err "--instances with --format $f" 2 "^kvmlocktrace report: --instances applies to --format dot and svg only\$" \
		"$KLT" report $ex --format $f --instances
done
# and accepted where they are used
for a in "--stats --top 5 --sort wait --hist" "--format folded --weight wait --lock kvm*" \
	"--format chrome --lock kvm*" "--format dot --instances"; do
	# shellcheck disable=SC2086
	if "$KLT" report $ex $a >/dev/null 2>"$tmp/err"; then ok "accepted: $a"
	else nok "refused: $a"; quote <"$tmp/err"; fi
done

# control bytes in names (escape sequences, newlines, DEL) are written as \xNN in every
# human-readable output: the text report (also the live findings printer) and --stats
fx=tests/fixtures/control-bytes.txt
raw_ctl() { tr -d '\n' <"$1" | LC_ALL=C grep -c '[[:cntrl:]]'; }
for a in "" "--stats" "--stats --hist --top 0"; do
	# shellcheck disable=SC2086
	"$KLT" report $fx $a >"$tmp/ctl.out" 2>/dev/null
	c=$(raw_ctl "$tmp/ctl.out")
	if [ "$c" = 0 ] && grep -qF 'a\x1b[31m' "$tmp/ctl.out" && grep -qF 'b\x0aWARNING: fake\x7f' "$tmp/ctl.out"; then
		ok "report ${a:-(text)}: no raw control byte, names written as \\xNN"
	else nok "report ${a:-(text)}: $c lines with raw control bytes"; cat -v "$tmp/ctl.out" | head -20 | quote; fi
done
"$KLT" report $fx >"$tmp/ctl.out" 2>/dev/null
if grep -qF '101/evil\x1b]0;x\x07' "$tmp/ctl.out" && grep -qF 'path\x0d_one+0x30' "$tmp/ctl.out" &&
   [ "$(grep -c '^WARNING' "$tmp/ctl.out")" = 1 ]; then
	ok "report: task and frame names escaped; a newline in a name forges no WARNING line"
else nok "report: task/frame names"; cat -v "$tmp/ctl.out" | head -20 | quote; fi

# report --format svg killed while dot runs: dot does not survive it (SIGTERM is forwarded,
# PR_SET_PDEATHSIG covers SIGKILL). 500 lock classes keep dot busy for seconds.
"$B/bench/klt-gen" -n 20000 -l 500 -s 7 -o "$tmp/big.klt" 2>/dev/null
for sig in TERM INT KILL; do
	rm -f "$tmp/big.svg"
	"$KLT" report "$tmp/big.klt" --format svg -o "$tmp/big.svg" >/dev/null 2>&1 & p=$!
	d=
	for w in $(seq 300); do d=$(pgrep -P $p -x dot) && break; sleep 0.1; done
	if [ -z "$d" ]; then kill -9 $p 2>/dev/null; wait $p 2>/dev/null
		nok "report --format svg, SIG$sig: dot never started"; continue; fi
	sleep 0.3
	kill -$sig $p; wait $p 2>/dev/null
	for w in $(seq 20); do kill -0 "$d" 2>/dev/null || break; sleep 0.1; done
	if ! kill -0 "$d" 2>/dev/null; then ok "report --format svg, SIG$sig while dot runs: no dot left"
	else nok "report --format svg, SIG$sig: dot $d still running"; kill -9 "$d"; fi
done

echo "1..$n"
