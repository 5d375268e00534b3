#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# fake-klt.sh: a stand-in for the kvmlocktrace binary, so vm.t can test vmtest.sh's record/copy-out/
# check wiring and exit codes without depending on the real tracer.
#   record --help             exits 0
#   record -o FILE -- CMD...  writes a small binary recording to FILE and runs CMD; with
#                             KLT_FAKE_ATTACH=fail it exits 1 without writing anything
#   check FILE                exits 1 ("1 finding") when FILE is a fake recording, else 3
payload() { printf 'KLTFAKE\000\001\377\n'; }
case ${1:-} in
record)
	shift
	if [ "${1:-}" = --help ]; then
		echo "fake-klt record"
		exit 0
	fi
	if [ "${KLT_FAKE_ATTACH:-ok}" = fail ]; then
		echo "fake-klt: cannot attach" >&2
		exit 1
	fi
	[ "${1:-}" = -o ] || exit 2
	out=$2
	shift 2
	[ "${1:-}" = -- ] && shift
	payload >"$out" || exit 2
	"$@"
	exit $?
	;;
check)
	if payload | cmp -s - "${2:-}"; then
		echo "fake-klt check: 1 finding in $2"
		exit 1
	fi
	echo "fake-klt check: $2 is not a fake recording (corrupted in transit?)"
	exit 3
	;;
*)
	echo "fake-klt: unknown command ${1:-}" >&2
	exit 2
	;;
esac
