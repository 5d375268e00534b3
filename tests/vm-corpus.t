#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The bug corpus (issue 14): real lock bugs of KVM's history put back into a real kernel. Each
# tests/vm/bugs/*.patch applies to Debian's linux-source-6.12 and cites the upstream commit that
# fixed the bug; tests/vm/kvm-build.sh rebuilds KVM with it against the headers of Debian's
# kernel of the same version. `kvmlocktrace vmtest` (the users' CI path) then boots that Debian
# kernel with the rebuilt modules and runs the bug's workload (the patch's "Workload:" line)
# under `record` with the patch's options: exit 1, and a cycle through exactly the patch's
# "Locks:" line. The same source built without any patch is the control: exit 0 on the same
# workload. The patch's "Record:" line gives `record`'s options (--all when the cycle runs
# through per-VM locks, which the default scope does not follow). A guest that cannot boot is
# a failure; only a machine without qemu is a skip.
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

# build NAME [PATCH]: sets KERNEL MODULES SECONDS, or fails a test
build() {
	local name=$1 info
	shift
	if info=$(tests/vm/kvm-build.sh "$name" "$@" 2>"$out/$name.build.err"); then
		eval "$(grep -E '^(KERNEL|MODULES|SECONDS)=' <<<"$info" | sed 's/=\(.*\)/="\1"/')"
		ok "$name: KVM built from linux-source-6.12 ${1:+with $(basename "$1") }(${SECONDS} s; $(basename "$KERNEL"))"
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

# cycle_locks FILE: the lock (class) names of each cycle finding, one sorted line per cycle
# (an instance's name without its @address)
cycle_locks() {
	"$KLT" check "$1" --format json --findings-only -o "$1.json" --force >/dev/null 2>&1
	jq -r '.findings[] | select(.kind == "cycle") | [.locks[] | sub("@0x[0-9a-f]+$"; "")] | sort |
		join(" ")' "$1.json" 2>/dev/null | sort -u
}

shopt -s nullglob
bugs=(tests/vm/bugs/*.patch)
[ ${#bugs[@]} -gt 0 ] || nok "no patches in tests/vm/bugs/"

# the control: the same workloads, the source as Debian ships it
if build stock; then
	for p in "${bugs[@]}"; do
		wl=$(sed -n 's/^Workload: //p' "$p" | head -1)
		rargs=$(sed -n 's/^Record: //p' "$p" | head -1)
		b=$(basename "$p" .patch)
		vmtest_run "stock-${b%%-*}" "$rargs" $wl
		if [ $rc = 0 ]; then ok "stock: vmtest exit 0 on $b's workload ($wl)"
		else nok "stock: vmtest exit $rc on $b's workload"; tail -n 25 "$out/stock-${b%%-*}.log" | quote; fi
	done
fi

for p in "${bugs[@]}"; do
	b=$(basename "$p" .patch)
	wl=$(sed -n 's/^Workload: //p' "$p" | head -1)
	rargs=$(sed -n 's/^Record: //p' "$p" | head -1)
	want=$(sed -n 's/^Locks: //p' "$p" | head -1 | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
	[ -n "$wl" ] && [ -n "$want" ] || { nok "$b: the patch has no Workload: or Locks: line"; continue; }
	build "$b" "$p" || continue
	vmtest_run "$b" "$rargs" $wl
	if [ $rc = 1 ]; then ok "$b: vmtest exit 1 (findings)"
	else nok "$b: vmtest exit $rc, expected 1"; tail -n 25 "$out/$b.log" | quote; fi
	got=$(cycle_locks "$out/$b.klt")
	if grep -qxF "$want" <<<"$got"; then ok "$b: the cycle through $want"
	else nok "$b: no cycle through exactly $want"; quote <<<"${got:-no cycle}"; fi
	grep -E '^(events|locks|drops):' "$out/$b.log" | sed 's/^/# /'
done
echo "1..$n"
