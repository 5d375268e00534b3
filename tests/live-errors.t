#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Never a false clean, live side: an attach mode the kernel refuses, a --btf file that is not
# BTF, a killed tracer or report: one line and the right exit code, libbpf's log only with -v,
# no process left behind. Needs root; the host kernel refuses fentry and has no kprobes (tests
# that need such a kernel are skipped elsewhere).
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib/tap.sh

if [ "$(id -u)" != 0 ]; then
	skip "live errors: need root (CAP_BPF+CAP_PERFMON)"
	echo "1..$n"; exit 0
fi

# one_line DESCRIPTION RC REGEX FILE: exit RC and FILE (stderr) is exactly one line matching REGEX
one_line() {
	if [ "$2" = "$5" ] && [ "$(wc -l <"$4")" = 1 ] && grep -qE -- "$3" "$4"; then
		ok "$1: exit $5, '$(cat "$4")'"
	else nok "$1: exit $5 (expected $2), $(wc -l <"$4") lines:"; head -5 "$4" | quote; fi
}

"$KLT" features >"$tmp/features" 2>&1
if [ -e /sys/bus/event_source/devices/kprobe ]; then
	skip "--attach kprobe: this kernel has kprobes"
else
	timeout 120 "$KLT" --attach kprobe -d 1 >/dev/null 2>"$tmp/err"; rc=$?
	one_line "--attach kprobe without kprobes" 2 \
		'^kvmlocktrace: cannot trace: this kernel has no kprobes .*use --attach fentry, tracepoint or auto$' "$tmp/err" $rc
fi
if grep -qE '^fentry/fexit: no \((refused by this kernel|trial load: Operation not permitted)' "$tmp/features"; then
	timeout 120 "$KLT" --attach fentry -d 1 >/dev/null 2>"$tmp/err"; rc=$?
	one_line "--attach fentry refused as root" 2 \
		'^kvmlocktrace: cannot trace: this kernel refuses fentry programs \(EPERM as root\): use --attach kprobe or auto$' \
		"$tmp/err" $rc
	# -v: libbpf's own log as well
	timeout 120 "$KLT" --attach fentry -v -d 1 >/dev/null 2>"$tmp/err"; rc=$?
	if [ $rc = 2 ] && grep -q '^libbpf: ' "$tmp/err" && grep -q 'refuses fentry' "$tmp/err"; then
		ok "--attach fentry -v: libbpf's log ($(grep -c '^libbpf: ' "$tmp/err") lines) and the one-line error"
	else nok "--attach fentry -v: rc=$rc"; head -5 "$tmp/err" | quote; fi
	# a genuinely unprivileged user still gets exit 3
	if command -v setpriv >/dev/null; then
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
			"$KLT" --attach fentry -d 1 >/dev/null 2>"$tmp/err"; rc=$?
		one_line "--attach fentry unprivileged" 3 "root or CAP_BPF\+CAP_PERFMON" "$tmp/err" $rc
	else skip "unprivileged: setpriv not installed"; fi
else
	skip "--attach fentry: this kernel does not refuse fentry to root"
	skip "--attach fentry -v"; skip "--attach fentry unprivileged"
fi

# --btf FILE that is not BTF: one line saying what the file is, exit 2, before any load
head -c 4096 /dev/urandom >"$tmp/random.bin"
timeout 120 "$KLT" --btf "$tmp/random.bin" --attach tracepoint -d 1 >/dev/null 2>"$tmp/err"; rc=$?
one_line "--btf random bytes" 2 "^kvmlocktrace: cannot trace: --btf $tmp/random.bin: not an ELF or BTF file" "$tmp/err" $rc
timeout 120 "$KLT" --btf /bin/true --attach tracepoint -d 1 >/dev/null 2>"$tmp/err"; rc=$?
one_line "--btf ELF without .BTF" 2 "^kvmlocktrace: cannot trace: --btf /bin/true: an ELF file without BTF" "$tmp/err" $rc
timeout 120 "$KLT" --btf "$tmp" --attach tracepoint -d 1 >/dev/null 2>"$tmp/err"; rc=$?
one_line "--btf a directory" 2 "^kvmlocktrace: cannot trace: --btf $tmp: not a regular file" "$tmp/err" $rc
if [ -r /sys/kernel/btf/vmlinux ]; then
	# record: it exits 0 for a finished recording (live tracing in tracepoint mode gives no
	# verdict, exit 4: README "Exit status")
	timeout 120 "$KLT" record --btf /sys/kernel/btf/vmlinux --attach tracepoint -d 1 -o "$tmp/btf.klt" \
		>/dev/null 2>"$tmp/err"; rc=$?
	if [ $rc = 0 ] && grep -q "tracing in tracepoint mode" "$tmp/err"; then
		ok "--btf /sys/kernel/btf/vmlinux (raw BTF) still traces"
	else nok "--btf raw BTF: rc=$rc"; head -5 "$tmp/err" | quote; fi
else skip "--btf raw BTF: no /sys/kernel/btf/vmlinux"; fi

# record -- CMD killed with SIGKILL: the traced command does not outlive the tracer
# (PR_SET_PDEATHSIG in the forked child)
"$KLT" record --attach tracepoint -o "$tmp/k9.klt" -- sleep 100 >/dev/null 2>"$tmp/k9.err" & p=$!
c=
for w in $(seq 600); do c=$(pgrep -P $p -x sleep) && break; sleep 0.1; done
if [ -z "$c" ]; then kill -9 $p 2>/dev/null; wait $p 2>/dev/null
	nok "record -- sleep 100: the command never started"; head -5 "$tmp/k9.err" | quote
else
	kill -9 $p; wait $p 2>/dev/null
	for w in $(seq 20); do kill -0 "$c" 2>/dev/null || break; sleep 0.1; done
	if ! kill -0 "$c" 2>/dev/null; then ok "record -- sleep 100, kill -9 of the tracer: sleep is gone"
	else nok "record -- sleep 100, kill -9: sleep $c still running"; kill -9 "$c"; fi
fi

echo "1..$n"
