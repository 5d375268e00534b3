#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run cmocka test binaries and merge their TAP output into one TAP stream for prove:
# every test case becomes one numbered line "ok N - <binary>: <case>". A binary that crashes
# or exits non-zero without reporting a failure still produces a "not ok" line.
set -u
n=0
for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		n=$((n + 1))
		echo "not ok $n - $name: binary missing (build failed?)"
		continue
	fi
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
	rc=$?
	cases=0
	failed=0
	while IFS= read -r line; do
		case "$line" in
		"ok "*|"not ok "*)
			n=$((n + 1)); cases=$((cases + 1))
			status=${line%% [0-9]*}
			rest=$(sed -E 's/^(not )?ok [0-9]+ ?-? ?//' <<<"$line")
			case "$rest" in
			*"# SKIP"*) status=ok ;; # cmocka prints skipped tests as "not ok ... # SKIP"
			esac
			[ "$status" = "not ok" ] && failed=$((failed + 1))
			echo "$status $n - $name: $rest"
			;;
		"1.."*) ;;
		*) [ -n "$line" ] && echo "# $line" ;;
		esac
	done <<<"$out"
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		n=$((n + 1))
		echo "not ok $n - $name: exited with status $rc after $cases cases"
	elif [ "$cases" -eq 0 ]; then
		n=$((n + 1))
		echo "not ok $n - $name: ran no test case"
	fi
done
echo "1..$n"
