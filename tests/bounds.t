#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Bounded resources on any input: what is not a trace or a rules file is refused early, with one
# line naming the file, and exit 2; the text form and rules files have documented size limits.
# Every command runs under a memory limit and a timeout: an input that used to be read without
# end fails the test instead of eating the machine. No timing is asserted.
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib/tap.sh
fx=tests/fixtures/abba.txt

# run with 1 GiB of address space and 60 s at most; stdout to $tmp/out, stderr to $tmp/err
bounded() { (ulimit -v 1048576; exec timeout 60 "$@") >"$tmp/out" 2>"$tmp/err"; }
# refused DESCRIPTION PATTERN COMMAND...: exit 2, exactly one line on stderr, matching PATTERN
refused() {
	local d=$1 pat=$2 rc; shift 2
	bounded "$@"; rc=$?
	if [ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qE -- "$pat" "$tmp/err"; then
		ok "$d"
	else
		nok "$d: rc=$rc"; head -c 2000 "$tmp/err" | quote
	fi
}

for cmd in report check; do
	refused "$cmd /dev/zero: not a recording, offset named" \
		'^kvmlocktrace: /dev/zero: offset 0: not a kvmlocktrace recording' "$KLT" $cmd /dev/zero
done
refused "convert /dev/zero: not a recording" '/dev/zero: offset 0: not a kvmlocktrace recording' \
	"$KLT" convert /dev/zero -o "$tmp/z.klt"
refused "a stream of NULs through a pipe is refused" '/dev/stdin: offset 0: not a kvmlocktrace' \
	bash -c "cat /dev/zero | '$KLT' report /dev/stdin"
refused "an ELF file given as a trace" "^kvmlocktrace: $KLT: not a kvmlocktrace recording \\(looks like an ELF file\\)\$" \
	"$KLT" report "$KLT"
gzip -c "$fx" >"$tmp/abba.txt.gz"
refused "gzip data given as a trace" 'abba.txt.gz: not a kvmlocktrace recording \(looks like gzip data\)$' \
	"$KLT" check "$tmp/abba.txt.gz"
refused "a directory given as a trace" "$tmp: is a directory" "$KLT" report "$tmp"
printf '1 lock a mutex\n2 \001 junk\n' >"$tmp/ctl.txt"
refused "a control byte early in a text trace: offset named" 'ctl.txt: offset 17: not a kvmlocktrace recording \(binary data' \
	"$KLT" report "$tmp/ctl.txt"
# an endless text stream stops at the documented limit
refused "endless text stream: stops at the text-form limit" '/dev/stdin: larger than the 256 MiB limit of the text form' \
	bash -c "yes '# a comment line, forever' | '$KLT' report /dev/stdin"
# a trace that is text still loads from a pipe, and a binary one too
if bounded bash -c "'$KLT' check /dev/stdin --no-rules <$fx"; [ $? = 1 ]; then ok "text trace from a pipe still checks"
else nok "text trace from a pipe"; quote <"$tmp/err"; fi
"$KLT" convert "$fx" -o "$tmp/abba.klt" 2>/dev/null
if bounded bash -c "cat '$tmp/abba.klt' | '$KLT' check /dev/stdin --no-rules"; [ $? = 1 ]; then ok "binary trace from a pipe still checks"
else nok "binary trace from a pipe"; quote <"$tmp/err"; fi

# rules files
refused "--rules DIRECTORY: says it is a directory" "^kvmlocktrace: $tmp: is a directory, not a rules file\$" \
	"$KLT" check "$fx" --rules "$tmp"
refused "--rules /dev/zero: refused early" '/dev/zero: offset 0: not a rules file \(binary data: a NUL byte\)' \
	"$KLT" check "$fx" --rules /dev/zero
refused "--rules ELF" 'not a rules file \(looks like an ELF file\)' "$KLT" check "$fx" --rules "$KLT"
refused "--rules endless stream: stops at the limit" '/dev/stdin: larger than the 1024 KiB limit of a rules file' \
	bash -c "yes 'order a > b' | '$KLT' check '$fx' --rules /dev/stdin"
printf '\357\273\277order lock_a > lock_b\n' >"$tmp/bom.rules"
bounded "$KLT" check "$fx" --rules "$tmp/bom.rules" --format json; rc=$?
if [ $rc = 1 ] && jq -e '[.findings[] | select(.kind == "rule")] | length == 1' "$tmp/out" >/dev/null; then
	ok "rules file with a UTF-8 BOM loads and its first rule applies"
else nok "BOM rules file: rc=$rc"; quote <"$tmp/err"; fi
printf 'order lock_a > lock_b\n# the same two locks, backwards\norder lock_b > lock_a\n' >"$tmp/contra.rules"
refused "contradictory rules: one line naming both FILE:LINE" \
	"contra.rules:3:1: 'lock_b > lock_a' contradicts 'lock_a > lock_b' at .*contra.rules:1" \
	"$KLT" check "$fx" --rules "$tmp/contra.rules"
printf 'order lock_a > lock_b kernel 6.1..6.2\norder lock_b > other > lock_a kernel 6.3..\n' >"$tmp/disjoint.rules"
bounded "$KLT" check "$fx" --rules "$tmp/disjoint.rules" --kernel 6.5; rc=$?
if [ $rc = 1 ]; then ok "opposite rules for disjoint kernel ranges still load"
else nok "disjoint ranges: rc=$rc"; quote <"$tmp/err"; fi
printf 'order lock_a > lock_b kernel 6.1..6.3\norder lock_b > other > lock_a kernel 6.3..\n' >"$tmp/overlap.rules"
refused "opposite rules whose kernel ranges meet are refused" "overlap.rules:2:1: 'lock_b > lock_a' contradicts" \
	"$KLT" check "$fx" --rules "$tmp/overlap.rules"
for r in rules/*.rules; do
	bounded "$KLT" check "$fx" --rules "$r" --kernel 6.5; rc=$?
	if [ $rc = 0 ] || [ $rc = 1 ]; then ok "shipped $r still loads"; else nok "$r: rc=$rc"; quote <"$tmp/err"; fi
done

# a long cycle: the lockdep "unsafe locking scenario" picture has one column per lock (its size
# grows with the square of the cycle); past 16 locks the report says so instead of drawing it
awk 'BEGIN { n = 40; for (i = 0; i < n; i++) { t = 10 * i; j = (i + 1) % n;
	printf "%d 1 lock l%d mutex\n%d 1 lock l%d mutex\n%d 1 unlock l%d\n%d 1 unlock l%d\n", t, i, t+1, j, t+2, j, t+3, i } }' >"$tmp/ring.txt"
bounded "$KLT" report "$tmp/ring.txt" --no-rules; rc=$?
if [ $rc = 0 ] && grep -q '^ (no locking scenario: 40 locks; the chain above shows the cycle)$' "$tmp/out" &&
   ! grep -q 'Possible unsafe locking scenario' "$tmp/out" && grep -q 'DEADLOCK' "$tmp/out"; then
	ok "40-lock cycle: no quadratic scenario picture, the chain is still reported"
else nok "40-lock cycle: rc=$rc"; grep -c . "$tmp/out" | quote; fi
bounded "$KLT" report tests/fixtures/abba.txt --no-rules
if grep -q 'Possible unsafe locking scenario' "$tmp/out"; then ok "2-lock cycle: scenario still drawn"
else nok "2-lock cycle: no scenario"; fi

# renderers: memory grows linearly, not with the square of the locks. The JSON report used to
# hold the whole document as a json-c tree (about 26 KB per lock, 436 MB for 2000 nested locks);
# under a 300 MB address-space limit both inputs must render completely.
awk 'BEGIN { n = 2000; for (i = 1; i <= n; i++) printf "%d 1 lock l%d mutex\n", i, i;
	for (i = n; i >= 1; i--) printf "%d 1 unlock l%d\n", 2*n-i+1, i }' >"$tmp/nested.txt"
awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "%d 1 lock l%d mutex\n%d 1 unlock l%d\n", 2*i, i, 2*i+1, i }' \
	>"$tmp/distinct.txt"
for input in nested:2000 distinct:20000; do
	name=${input%:*} nl=${input#*:}
	(ulimit -v 307200; exec timeout 120 "$KLT" report "$tmp/$name.txt" --no-rules --format json) \
		>"$tmp/$name.json" 2>"$tmp/err"; rc=$?
	if [ $rc = 0 ] && jq -e --argjson n "$nl" '(.graph.locks | length) == $n and (.stats.classes | length) == $n' \
		"$tmp/$name.json" >/dev/null; then
		ok "json report of $nl $name locks within 300 MB of address space"
	else nok "json, $nl $name locks: rc=$rc"; head -3 "$tmp/err" | quote; fi
done

echo "1..$n"
