#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The CI verdict and the output files (docs/trace-format.md "When a recording is complete",
# README "Exit status"): exit 0 only for a complete recording of a workload that ran; an
# empty, cut-off, unfinished or lossy recording is 4, a workload that could not start or a
# target that does not exist is 5. Output files are replaced whole (0600, new inode) or not
# at all. The live cases need root (tracepoint mode works on any kernel with tracepoints).
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
tmp=$(mktemp -d)
mnt=
trap '[ -n "$mnt" ] && umount "$mnt" 2>/dev/null; rm -rf "$tmp"' EXIT
. tests/lib/tap.sh
show() { head -n "${2:-20}" "$1" | quote; }
# expect_exit DESCRIPTION CODE STDERR-REGEX COMMAND...: the exit code and one stderr line
expect_exit() {
	local d=$1 code=$2 re=$3 rc
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = "$code" ] && { [ -z "$re" ] || grep -qE -- "$re" "$tmp/err"; }; then
		ok "$d: exit $code${re:+, '$(grep -E -- "$re" "$tmp/err" | head -1 | cut -c1-150)'}"
	else nok "$d: exit $rc (expected $code, stderr matching '$re')"; show "$tmp/err"; fi
}
# no_leftovers DIR: no file and no hidden temporary in DIR
no_leftovers() { [ -z "$(ls -A "$1")" ]; }

# --- a verdict only for a complete recording -------------------------------------------------
: >"$tmp/empty.klt"
printf '# only comments\n\n# nothing else\n' >"$tmp/comments.txt"
for f in "$tmp/empty.klt" /dev/null "$tmp/comments.txt"; do
	for cmd in check report; do
		expect_exit "$cmd $(basename "$f") (0 events)" 4 "incomplete recording: no events and no recording header" \
			"$KLT" $cmd --no-rules "$f"
	done
done
if grep -q "^This is not a clean verdict: the recording is incomplete" "$tmp/out"; then
	ok "the text report says an empty recording is not a clean verdict"
else nok "text report of an empty recording"; show "$tmp/out"; fi

# cut off: the binary form of a fixture, less its last 30 bytes (the end marker)
"$KLT" convert tests/fixtures/lock-times.txt -o "$tmp/full.klt" 2>/dev/null
sz=$(stat -c %s "$tmp/full.klt")
head -c $((sz - 30)) "$tmp/full.klt" >"$tmp/cut.klt"
expect_exit "check of a cut-off recording" 4 "incomplete recording: .*cut off" \
	"$KLT" check --no-rules "$tmp/cut.klt"
expect_exit "convert of a cut-off recording to text" 4 "warning: .*cut.klt: offset" \
	"$KLT" convert "$tmp/cut.klt" -o "$tmp/cut.txt"
if grep -q '^@counter trace_truncated 1$' "$tmp/cut.txt"; then
	ok "the text form keeps the truncation mark (@counter trace_truncated 1)"
else nok "no truncation mark in the converted text"; show "$tmp/cut.txt"; fi
expect_exit "check of the text converted from a cut-off recording" 4 "incomplete recording" \
	"$KLT" check --no-rules "$tmp/cut.txt"
"$KLT" convert "$tmp/cut.txt" -o "$tmp/cut2.klt" 2>/dev/null
expect_exit "check after text -> binary again" 4 "incomplete recording: .*trace_truncated" \
	"$KLT" check --no-rules "$tmp/cut2.klt"
"$KLT" report --no-rules "$tmp/cut2.klt" >"$tmp/cut2.out" 2>/dev/null
if grep -q "WARNING: trace_truncated = 1" "$tmp/cut2.out"; then
	ok "report warns about the truncation"
else nok "no truncation warning in the report"; show "$tmp/cut2.out"; fi
"$KLT" check --no-rules "$tmp/cut2.klt" --format json >"$tmp/cut2.json" 2>/dev/null
if jq -e '.summary.complete == false and (.summary.incomplete | test("cut off"))' "$tmp/cut2.json" >/dev/null &&
   tests/unit/validate-json.sh "$tmp/cut2.json" >/dev/null 2>&1; then
	ok "JSON summary: complete false, incomplete says why (schema-valid)"
else nok "JSON summary of a cut-off recording"; jq -c .summary "$tmp/cut2.json" 2>&1 | quote; fi
# the complete recording still has a verdict
expect_exit "check of the complete recording" 0 "" "$KLT" check --no-rules "$tmp/full.klt"

# events lost while recording: no clean verdict, but findings are still findings
grep -v '^@counter' tests/fixtures/rread-ok.txt >"$tmp/lossy.txt"
printf '@counter edge_map_full 7\n' >>"$tmp/lossy.txt"
expect_exit "check of a recording with edge_map_full=7 and no finding" 4 \
	"incomplete recording: events were lost: edge_map_full=7" "$KLT" check --no-rules "$tmp/lossy.txt"
# ... but a missing stack or a release of a lock taken before tracing began loses no dependency
grep -v '^@counter' tests/fixtures/rread-ok.txt >"$tmp/detail.txt"
printf '@counter stack_fail 2\n@counter missed_release 4\n' >>"$tmp/detail.txt"
expect_exit "check with stack_fail=2 and missed_release=4 only" 0 "" \
	"$KLT" check --no-rules "$tmp/detail.txt"
if grep -q "WARNING: stack_fail = 2" "$tmp/out"; then ok "... and the report still warns about them"
else nok "no stack_fail warning"; show "$tmp/out"; fi
cp tests/fixtures/abba.txt "$tmp/lossy-abba.txt"
printf '@counter ringbuf_full 3\n' >>"$tmp/lossy-abba.txt"
expect_exit "check of a lossy recording with an ABBA" 1 "incomplete recording: events were lost" \
	"$KLT" check --no-rules "$tmp/lossy-abba.txt"
# tracepoint mode cannot see acquisitions
{ printf '@klt-text 1\n@info attach tracepoint\n'; grep -v '^@klt-text' tests/fixtures/rread-ok.txt; } >"$tmp/tp.txt"
expect_exit "check of a tracepoint-mode recording" 4 "incomplete recording: .*tracepoint mode" \
	"$KLT" check --no-rules "$tmp/tp.txt"

# --- output files ---------------------------------------------------------------------------
d="$tmp/o" && mkdir "$d"
: >"$d/victim" && chmod 0666 "$d/victim" && chown 65534:65534 "$d/victim"
ino=$(stat -c %i "$d/victim")
"$KLT" report --no-rules tests/fixtures/abba.txt -o "$d/victim" --force 2>/dev/null
if [ "$(stat -c '%a %u %i' "$d/victim")" = "600 0 $(stat -c %i "$d/victim")" ] &&
   [ "$(stat -c %i "$d/victim")" != "$ino" ] && grep -q "possible circular" "$d/victim"; then
	ok "--force replaces a 0666 file of another owner with a new 0600 file (new inode)"
else nok "--force kept $(stat -c '%a %U' "$d/victim")"; fi
ln -s "$tmp/symlink-target" "$d/link"
"$KLT" report --no-rules tests/fixtures/abba.txt -o "$d/link" --force 2>/dev/null
if [ ! -e "$tmp/symlink-target" ] && [ -f "$d/link" ] && [ ! -L "$d/link" ]; then
	ok "--force over a symlink replaces the link, never writes through it"
else nok "symlink at the output was followed"; fi
expect_exit "no --force on an existing file" 2 "victim: file exists" \
	"$KLT" report --no-rules tests/fixtures/abba.txt -o "$d/victim"
rm -f "$d"/* "$d"/.[!.]*

long=$(printf 'x%.0s' $(seq 300))
expect_exit "convert to a too-long name" 2 "cannot create: File name too long" \
	"$KLT" convert tests/fixtures/abba.txt -o "$d/$long"
if no_leftovers "$d"; then ok "too-long name: nothing left behind"; else nok "left: $(ls -A "$d")"; fi

# the rules path printed after a report to a file is the path (a dangling stack pointer once)
"$KLT" report tests/fixtures/abba.txt -o "$d/r.txt" 2>"$tmp/rules.err"
if grep -qE "^kvmlocktrace: rules: /.*rules/kvm.rules$" "$tmp/rules.err"; then
	ok "report -o names the default rules file: '$(grep rules: "$tmp/rules.err")'"
else nok "rules line"; show "$tmp/rules.err"; fi
if [ -x "$B/asan/kvmlocktrace" ]; then
	(. tests/lib/asan.sh; "$B/asan/kvmlocktrace" report tests/fixtures/abba.txt -o "$d/asan.txt") \
		>"$tmp/asan.out" 2>&1
	rc=$?
	if [ $rc = 0 ] && ! grep -q "AddressSanitizer" "$tmp/asan.out"; then
		ok "ASan with detect_stack_use_after_return: report -o is clean"
	else nok "ASan report -o (rc=$rc)"; show "$tmp/asan.out" 30; fi
else skip "ASan build missing"; fi
rm -f "$d"/*

# a full file system: nothing left (no partial file, no temporary)
if [ "$(id -u)" = 0 ] && mkdir "$tmp/full" && mount -t tmpfs -o size=8k tmpfs "$tmp/full"; then
	mnt=$tmp/full
	"$B/bench/klt-gen" -n 20000 -l 500 -o "$tmp/big.klt" >/dev/null 2>&1
	expect_exit "report --format json to a full file system" 2 "r.json: write failed: No space left" \
		"$KLT" report --no-rules "$tmp/big.klt" --format json -o "$mnt/r.json"
	expect_exit "convert to text on a full file system" 2 "write failed: No space left" \
		"$KLT" convert "$tmp/big.klt" -o "$mnt/r.txt"
	expect_exit "convert to binary on a full file system" 2 "full/r.klt: write: No space left" \
		"$KLT" convert "$tmp/big.klt" --to binary -o "$mnt/r.klt"
	if no_leftovers "$mnt"; then ok "full file system: nothing left behind"
	else nok "full file system left: $(ls -A "$mnt")"; fi
	head -c 8192 /dev/zero >"$mnt/fill" 2>/dev/null
	"$KLT" record --attach tracepoint -o "$mnt/rec.klt" -d 1 >/dev/null 2>&1
	expect_exit "check of a recording made on a full file system" 4 "incomplete recording" \
		"$KLT" check --no-rules "$mnt/rec.klt"
	umount "$mnt" && mnt=
else
	for i in 1 2 3 4 5; do skip "full file system: needs root for a tmpfs"; done
fi

# killed while rendering: no partial file. Stopped once its temporary exists, then SIGTERM.
"$B/bench/klt-gen" -n 2000000 -l 200000 -o "$tmp/huge.klt" >/dev/null 2>&1
"$KLT" report --no-rules "$tmp/huge.klt" --format json -o "$d/k.json" 2>/dev/null &
p=$!
seen=0
for i in $(seq 6000); do
	if ls -A "$d" | grep -q '^\.k\.json\.'; then kill -STOP $p; seen=1; break; fi
	kill -0 $p 2>/dev/null || break
	sleep 0.01
done
kill -TERM $p 2>/dev/null; kill -CONT $p 2>/dev/null; wait $p
rc=$?
if [ $seen = 1 ] && [ $rc = 143 ] && no_leftovers "$d"; then
	ok "SIGTERM while writing JSON: no output file and no temporary left"
elif [ $seen = 0 ]; then nok "SIGTERM: the temporary output never appeared (rc=$rc): $(ls -A "$d")"
else nok "SIGTERM while writing: rc=$rc, left: $(ls -A "$d")"; fi

# --- live: workloads and targets ------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	expect_exit "live tracing of a command that does not exist" 5 \
		"/nonexistent/cmd: could not start the workload: No such file" \
		"$KLT" --attach tracepoint -- /nonexistent/cmd
	expect_exit "record of a command that does not exist" 5 "could not start the workload" \
		"$KLT" record --attach tracepoint -o "$d/w.klt" -- /nonexistent/cmd
	expect_exit "-p of a process that does not exist" 5 "^kvmlocktrace: --pid 999999: no such process$" \
		"$KLT" --attach tracepoint -p 999999 -d 1
	printf '#!/bin/sh\necho hi\n' >"$tmp/s.sh" && chmod +x "$tmp/s.sh"
	expect_exit "--user on a shell script" 2 "s.sh: a script, not an ELF program" \
		"$KLT" --user "$tmp/s.sh" -d 1 -- "$tmp/s.sh"
	expect_exit "--user on a directory" 2 "--user $tmp: Is a directory" \
		"$KLT" --user "$tmp" -d 1
	expect_exit "live tracing in tracepoint mode (blind to acquisitions)" 4 "no verdict: recorded in tracepoint mode" \
		"$KLT" --attach tracepoint -d 1
	if command -v setpriv >/dev/null; then
		expect_exit "features as an unprivileged user" 3 "root or CAP_BPF\+CAP_PERFMON" \
			setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
			--bounding-set=-all "$KLT" features
	else skip "features unprivileged: setpriv missing"; fi
else
	for i in 1 2 3 4 5 6 7; do skip "live: needs root"; done
fi
echo "1..$n"
