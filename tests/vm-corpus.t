#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The bug corpus (issue 14): real lock bugs of KVM's history put back into a real kernel. Each
# tests/vm/bugs/*.patch applies to Debian's linux-source-6.12 or -6.1 and cites the upstream
# commit that fixed (or avoided) the bug; tests/vm/kvm-build.sh rebuilds KVM with it against the headers of Debian's
# kernel of the same version. `kvmlocktrace vmtest` (the users' CI path) then boots that Debian
# kernel with the rebuilt modules and runs the bug's workload (the patch's "Workload:" line)
# under `record` with the patch's options: exit 1, and a finding of the patch's "Finding:" line
# (its kind, then exactly its locks). The patch's "Kernel:" line (6.12 unless given) says which
# source it applies to. The same source built without any patch is the control: exit 0 on the same
# workload. A patch's optional "Record:" line gives `record`'s options (none: the default
# KVM/CPU-hotplug scope, as a user runs it). A guest that cannot boot is a failure; only a
# machine without qemu is a skip.
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
. tests/lib/tap.sh
. tests/lib/vm.sh

vm_require_qemu
out=$B/vmcorpus
rm -rf "$out"
mkdir -p "$out"
if ! "$VMSH" workloads >"$out/prep.log" 2>&1; then
	nok "workload binaries"; quote <"$out/prep.log"; echo "1..$n"; exit
fi

# build KERNEL-FLAVOUR NAME [PATCH]: sets KERNEL MODULES SECONDS, or fails a test
build() {
	local fl=$1 name=$2 info
	shift 2
	if info=$(tests/vm/kvm-build.sh --kernel "$fl" "$name" "$@" 2>"$out/$name.build.err"); then
		eval "$(grep -E '^(KERNEL|MODULES|SECONDS)=' <<<"$info" | sed 's/=\(.*\)/="\1"/')"
		ok "$name: KVM built from linux-source-$fl ${1:+with $(basename "$1") }(${SECONDS} s; $(basename "$KERNEL"))"
		return 0
	fi
	nok "$name: KVM build failed"; tail -n 20 "$out/$name.build.err" | quote
	return 1
}

# vmtest_run NAME RECORD-ARGS WORKLOAD...: `kvmlocktrace vmtest` on the last build; sets rc
vmtest_run() {
	local name=$1 rargs=$2
	shift 2
	KLT_BIN=$KLT "$KLT" vmtest --kernel "$KERNEL" --modules "$MODULES" --timeout 900 \
		--record-args "$rargs" -o "$out/$name.klt" -- "$@" >"$out/$name.log" 2>&1
	rc=$?
	echo "# $name: vmtest exit $rc"
}

# findings FILE KIND: the lock (class) names of each finding of KIND, one sorted line per
# finding (an instance's name without its @address)
findings() {
	"$KLT" check "$1" --format json --findings-only -o "$1.json" --force >/dev/null 2>&1
	jq -r --arg k "$2" '.findings[] | select(.kind == $k) | [.locks[] | sub("@0x[0-9a-f]+$"; "")] |
		sort | join(" ")' "$1.json" 2>/dev/null | sort -u
}

field() { sed -n "s/^$1: //p" "$2" | head -1; }

shopt -s nullglob
bugs=(tests/vm/bugs/*.patch)
[ ${#bugs[@]} -gt 0 ] || nok "no patches in tests/vm/bugs/"

for fl in 6.12 6.1; do
	mine=()
	for p in "${bugs[@]}"; do [ "$(field Kernel "$p")" = "$fl" ] || { [ -z "$(field Kernel "$p")" ] && [ "$fl" = 6.12 ]; } && mine+=("$p"); done
	[ ${#mine[@]} -gt 0 ] || continue
	# the control: the same workloads, the source as Debian ships it
	if build "$fl" "stock-$fl"; then
		for p in "${mine[@]}"; do
			b=$(basename "$p" .patch)
			wl=$(field Workload "$p")
			vmtest_run "stock-$fl-${b%%-*}" "$(field Record "$p")" $wl
			if [ $rc = 0 ]; then ok "stock $fl: vmtest exit 0 on $b's workload ($wl)"
			else nok "stock $fl: vmtest exit $rc on $b's workload"; tail -n 25 "$out/stock-$fl-${b%%-*}.log" | quote; fi
		done
	fi
	for p in "${mine[@]}"; do
		b=$(basename "$p" .patch)
		wl=$(field Workload "$p")
		read -r kind locks <<<"$(field Finding "$p")"
		want=$(tr ' ' '\n' <<<"$locks" | sort | tr '\n' ' ' | sed 's/ $//')
		[ -n "$wl" ] && [ -n "$kind" ] && [ -n "$want" ] || { nok "$b: the patch has no Workload: or Finding: line"; continue; }
		build "$fl" "$b" "$p" || continue
		vmtest_run "$b" "$(field Record "$p")" $wl
		# a recall gap the tracer does not close yet: the patch's "Gap:" line, reported as a
		# TAP TODO (prove shows it, and says so when it starts passing)
		gap=$(field Gap "$p")
		todo=${gap:+ # TODO $gap}
		if [ $rc = 1 ]; then ok "$b: vmtest exit 1 (findings)$todo"
		else nok "$b: vmtest exit $rc, expected 1$todo"; tail -n 25 "$out/$b.log" | quote; fi
		got=$(findings "$out/$b.klt" "$kind")
		if grep -qxF "$want" <<<"$got"; then ok "$b: $kind finding on $want$todo"
		else nok "$b: no $kind finding on exactly $want$todo"; quote <<<"${got:-none}"; fi
		grep -E '^(events|locks|drops):' "$out/$b.log" | sed 's/^/# /'
	done
done
echo "1..$n"
