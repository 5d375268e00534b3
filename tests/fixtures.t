#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Scenario fixtures (tests/fixtures/*.txt) through the real CLI. Each fixture declares:
#   #@ expect-exit N     exit status of `kvmlocktrace check` (0 clean, 1 findings)
#   #@ args ...          extra arguments for check
#   #@ jq EXPR           a jq expression that must be true of `check --format json`
# Plus, per fixture: text report renders, DOT is accepted by graphviz, text -> binary -> text
# round trip is exact. KLT overrides the binary (the ASan build runs the same file).
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib/tap.sh
check() { # check DESCRIPTION COMMAND...
	local d=$1; shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then ok "$d"; else nok "$d"; quote <"$tmp/err" | head -20; fi
}

for fx in tests/fixtures/*.txt; do
	name=$(basename "$fx" .txt)
	expect=$(sed -n 's/^#@ expect-exit //p' "$fx")
	read -r -a args <<<"$(sed -n 's/^#@ args //p' "$fx")"
	"$KLT" check "$fx" --format json "${args[@]}" >"$tmp/$name.json" 2>"$tmp/$name.err"
	rc=$?
	if [ "$rc" = "$expect" ]; then
		ok "$name: check exits $expect"
	else
		nok "$name: check exits $rc, expected $expect"
		quote <"$tmp/$name.err" | head -20
	fi
	while IFS= read -r expr; do
		if jq -e "$expr" "$tmp/$name.json" >/dev/null 2>"$tmp/jqerr"; then
			ok "$name: $expr"
		else
			nok "$name: $expr"
			quote <"$tmp/jqerr" | head -5
			jq -c '.findings' "$tmp/$name.json" 2>/dev/null | cut -c1-2000 | quote
		fi
	done < <(sed -n 's/^#@ jq //p' "$fx")

	# text report renders and, when there are findings, shows a WARNING block per finding
	"$KLT" report "$fx" "${args[@]}" >"$tmp/$name.report" 2>&1
	nf=$(jq '.findings | length' "$tmp/$name.json" 2>/dev/null || echo -1)
	nw=$(grep -c '^WARNING' "$tmp/$name.report")
	if [ "$nf" = "$nw" ]; then ok "$name: text report has $nf WARNING blocks"
	else nok "$name: text report has $nw WARNING blocks for $nf findings"; fi

	# DOT accepted by graphviz, lock names in the picture
	if "$KLT" report "$fx" "${args[@]}" --format dot >"$tmp/$name.dot" 2>"$tmp/err" &&
	   dot -Tsvg "$tmp/$name.dot" -o "$tmp/$name.svg" 2>>"$tmp/err"; then
		ok "$name: dot -Tsvg accepts the graph"
	else
		nok "$name: dot -Tsvg failed"; quote <"$tmp/err" | head -5
	fi

	# round trip: text -> binary -> text -> binary is stable and loses nothing
	if "$KLT" convert "$fx" -o "$tmp/$name.klt" 2>"$tmp/err" &&
	   "$KLT" convert "$tmp/$name.klt" -o "$tmp/$name.1.txt" 2>>"$tmp/err" &&
	   "$KLT" convert "$tmp/$name.1.txt" -o "$tmp/$name.2.klt" 2>>"$tmp/err" &&
	   "$KLT" convert "$tmp/$name.2.klt" -o "$tmp/$name.2.txt" 2>>"$tmp/err" &&
	   cmp -s "$tmp/$name.klt" "$tmp/$name.2.klt" && cmp -s "$tmp/$name.1.txt" "$tmp/$name.2.txt"; then
		ok "$name: text -> binary -> text round trip is exact"
	else
		nok "$name: round trip differs"; quote <"$tmp/err" | head -5
		diff "$tmp/$name.1.txt" "$tmp/$name.2.txt" 2>&1 | head -10 | quote
	fi
	# the binary form gives the same verdict as the text form
	"$KLT" check "$tmp/$name.klt" --format json "${args[@]}" >"$tmp/$name.bin.json" 2>/dev/null
	rc2=$?
	if [ "$rc2" = "$expect" ] &&
	   [ "$(jq -c '[.findings[].kind]' "$tmp/$name.bin.json")" = "$(jq -c '[.findings[].kind]' "$tmp/$name.json")" ]; then
		ok "$name: binary recording gives the same findings"
	else
		nok "$name: binary recording verdict $rc2 differs"
	fi
done

# init-site classes are what removes the false class cycle: the same events without their
# LOCK_INIT lines fall back to call-site classes, which close it (the fixture's reason to exist)
grep -v '^[0-9]* [0-9/a-z]* init ' tests/fixtures/init-site-classes.txt >"$tmp/noinit.in"
"$KLT" check "$tmp/noinit.in" --format json >"$tmp/noinit.out" 2>/dev/null
rc=$?
if [ $rc = 1 ] && jq -e '[.findings[] | select(.kind=="cycle" and .level=="class")] | length == 1' "$tmp/noinit.out" >/dev/null &&
   jq -e '.findings[0].locks | sort == ["rwsem@lock_two_directories+0x6e","rwsem@vfs_rename+0x42f","rwsem@vfs_unlink+0x48"]' "$tmp/noinit.out" >/dev/null; then
	ok "init-site-classes without its init lines: the call-site classes close the false class cycle"
else
	nok "init-site-classes without init lines: rc=$rc"; jq -c .findings "$tmp/noinit.out" 2>/dev/null | cut -c1-600 | quote
fi

# JSON output validates against the published schema
for j in "$tmp"/*.json; do
	case "$j" in *.bin.json) continue ;; esac
	if python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))' docs/json-schema.json "$j" 2>"$tmp/err"; then
		ok "schema: $(basename "$j") validates"
	else
		nok "schema: $(basename "$j")"; tail -3 "$tmp/err" | quote
	fi
done

# bundled example: committed binary matches its text source, and it reports the deadlock
ex=examples/kvm-6.5-srcu-hotplug-deadlock
check "example: .klt is up to date with .txt" bash -c "'$KLT' convert $ex.txt -o '$tmp/ex.klt' && cmp '$tmp/ex.klt' $ex.klt"
"$KLT" check $ex.klt --format json >"$tmp/ex.json" 2>/dev/null
if [ $? = 1 ] && jq -e '[.findings[] | select(.kind=="cycle" and .level=="instance")] | length == 1' "$tmp/ex.json" >/dev/null &&
   jq -e '[.findings[] | select(.kind=="cycle")][0].locks | sort == ["cpu_hotplug_lock","kvm->slots_lock@0xffff888104a3c1a8","kvm->srcu@0xffff888104a3d0c8"]' "$tmp/ex.json" >/dev/null; then
	# every held lock gets an edge to the new one, so the shortest cycle skips kvm_lock
	ok "example: the SRCU/hotplug deadlock is found (shortest chain: 3 locks)"
else
	nok "example: deadlock not found"; jq -c . "$tmp/ex.json" 2>/dev/null | cut -c1-1500 | quote
fi

# --findings-only: the same verdict and findings, no graph and no statistics, still the schema
"$KLT" check $ex.klt --format json --findings-only >"$tmp/ex-fo.json" 2>/dev/null
rc=$?
if [ $rc = 1 ] && jq -e '.findings_only == true and (has("graph") | not) and (has("stats") | not)' "$tmp/ex-fo.json" >/dev/null &&
   [ "$(jq -c .findings "$tmp/ex-fo.json")" = "$(jq -c .findings "$tmp/ex.json")" ] &&
   [ "$(jq -c .summary "$tmp/ex-fo.json")" = "$(jq -c .summary "$tmp/ex.json")" ] &&
   python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))' docs/json-schema.json "$tmp/ex-fo.json" 2>"$tmp/err"; then
	ok "--findings-only: same findings and summary ($(wc -c <"$tmp/ex-fo.json") of $(wc -c <"$tmp/ex.json") bytes), no graph or stats, validates"
else
	nok "--findings-only: rc=$rc"; tail -3 "$tmp/err" | quote
fi
# the schema still demands graph and stats of a full report
if ! python3 -c 'import json,sys,jsonschema; d=json.load(open(sys.argv[2])); del d["stats"]; jsonschema.validate(d, json.load(open(sys.argv[1])))' docs/json-schema.json "$tmp/ex.json" 2>/dev/null; then
	ok "schema: a full report without \"stats\" is rejected"
else nok "schema: a full report without stats validates"; fi
"$KLT" check $ex.klt --findings-only >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q -- "--findings-only" "$tmp/err"; then
	ok "--findings-only without --format json: error naming the option, exit 2"
else nok "--findings-only with text: rc=$rc"; quote <"$tmp/err"; fi

# bad input: one line naming file and offset/line, exit 2
printf 'NOTATRACE' >"$tmp/bad.klt"
"$KLT" report "$tmp/bad.klt" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "bad.klt" "$tmp/err"; then ok "bad input: one-line error, exit 2"
else nok "bad input: rc=$rc"; quote <"$tmp/err"; fi
printf '1 lock a mutx\n' >"$tmp/bad.txt"
"$KLT" check "$tmp/bad.txt" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc = 2 ] && grep -q "bad.txt:1:" "$tmp/err"; then ok "bad text line: FILE:LINE:COL error, exit 2"
else nok "bad text line: rc=$rc"; quote <"$tmp/err"; fi
printf 'order a >\n' >"$tmp/bad.rules"
"$KLT" check tests/fixtures/abba.txt --rules "$tmp/bad.rules" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc = 2 ] && grep -q "bad.rules:1:" "$tmp/err"; then ok "bad rules: FILE:LINE:COL error, exit 2"
else nok "bad rules: rc=$rc"; quote <"$tmp/err"; fi
"$KLT" check --bogus >/dev/null 2>&1; rc=$?
if [ $rc = 2 ]; then ok "unknown option: exit 2"; else nok "unknown option: rc=$rc"; fi

# truncated recording: every complete chunk is kept, the loss is reported, exit 4 (no verdict)
"$KLT" convert $ex.txt -o "$tmp/full.klt" 2>/dev/null
size=$(stat -c %s "$tmp/full.klt")
head -c $((size - 10)) "$tmp/full.klt" >"$tmp/cut.klt"
"$KLT" report "$tmp/cut.klt" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ $rc = 4 ] && grep -q "cut.klt: offset" "$tmp/err"; then ok "truncated trace: offset reported, exit 4"
else nok "truncated trace: rc=$rc"; quote <"$tmp/err"; fi

# output files: never overwritten without --force, created 0600, symlinks not followed
: >"$tmp/exists.json"
"$KLT" report $ex.klt --format json -o "$tmp/exists.json" 2>"$tmp/err"; rc=$?
if [ $rc = 2 ] && [ ! -s "$tmp/exists.json" ]; then ok "output: existing file not overwritten"; else nok "output overwrite rc=$rc"; fi
"$KLT" report $ex.klt --format json -o "$tmp/exists.json" --force 2>/dev/null
if [ -s "$tmp/exists.json" ]; then ok "output: --force overwrites"; else nok "output: --force"; fi
"$KLT" report $ex.klt -o "$tmp/new.txt" 2>/dev/null
if [ "$(stat -c %a "$tmp/new.txt")" = 600 ]; then ok "output: mode 0600"; else nok "output: mode $(stat -c %a "$tmp/new.txt")"; fi
ln -s "$tmp/target" "$tmp/link"
"$KLT" report $ex.klt -o "$tmp/link" --force 2>/dev/null
if [ ! -e "$tmp/target" ]; then ok "output: symlink not followed"; else nok "output: followed a symlink"; fi

echo "1..$n"
