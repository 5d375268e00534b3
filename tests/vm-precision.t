#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Precision on real kernels under a real workload (issue 13): stock Debian 6.1 and 6.12 under
# QEMU, one boot each running tests/vmtrace/precision.sh: `record --all` in fentry and in kprobe
# mode for PRECISION_SECS (default 40) seconds of stress-ng's 27 kernel stressors, KVM VMs
# created and destroyed (kvm_amd loaded after the tracer started) and CPU1 hotplug, then a
# pm_test suspend under `record --all`. Lockdep runs these paths upstream every day: any finding
# here is a false report and fails the test, and so does any lost dependency (every drop
# counter 0, `check` gives a complete verdict). No allow-list: a cause gets fixed.
# A guest that cannot boot is a failure; only a machine without qemu is a skip.
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
KLT=${KLT:-$B/kvmlocktrace}
. tests/lib/tap.sh
. tests/lib/vm.sh
show() { tail -n "${2:-25}" "$1" | quote; }
kernels=${KLT_VM_PRECISION_KERNELS:-6.1 6.12}
secs=${PRECISION_SECS:-40}

vm_require_qemu
command -v stress-ng >/dev/null || { nok "stress-ng is not installed (scripts/install-deps.sh)"; echo "1..$n"; exit; }

for k in $kernels; do
	out=$B/vmprec/$k
	vm_prepare "$k" "$out" workloads || continue
	s=$(date +%s)
	"$VMSH" run --kernel "$k" --timeout 1500 -- sh tests/vmtrace/precision.sh "$out" "$secs" >"$out/guest.log" 2>&1
	rc=$?
	# QEMU's TCG can run a stale translation of kernel text the kernel has just re-patched
	# ("Oops: int3" in code nobody probes, e.g. the preempt-notifier static key KVM flips at
	# each VM creation), or freeze (vm.sh: 128): the emulator, not the tracer (tests/vm/README.md).
	# One fresh boot, said here; any other guest loss fails at once.
	if [ $rc = 128 ] || { [ $rc != 0 ] && grep -q "Oops: int3" "$out/guest.log"; }; then
		echo "# $k: guest $( [ $rc = 128 ] && echo "timed out (TCG freeze)" || echo "lost to an 'Oops: int3' (TCG text-patching race): $(grep -m1 'RIP:' "$out/guest.log")"); one retry (tests/vm/README.md)"
		mv "$out/guest.log" "$out/guest-lost.log"
		rm -f "$out"/prec-*
		"$VMSH" run --kernel "$k" --timeout 1500 -- sh tests/vmtrace/precision.sh "$out" "$secs" >"$out/guest.log" 2>&1
		rc=$?
	fi
	echo "# $k: guest run took $(( $(date +%s) - s )) s (status $rc)"
	if [ $rc = 0 ] && grep -q "^guest: done" "$out/guest.log"; then ok "$k: guest ran the workload in both modes and the suspend"
	else nok "$k: guest status $rc"; show "$out/guest.log" 40; fi

	for mode in fentry kprobe; do
		log=$out/prec-$mode.log
		if grep -q "^status 0$" "$log" && grep -q "tracing in $mode mode (all mutexes/rwsems)" "$log" &&
		   ! grep -q "exited with status\|killed by signal" "$log"; then
			ok "$k $mode: recorded the workload in $mode mode"
		else nok "$k $mode: recording failed"; show "$log" 15; fi
		el=$(sed -n 's/^elapsed //p' "$log")
		load=$(grep '^precision-load: stress-ng status' "$log" | tail -1)
		echo "# $k $mode: ${el:-?} s traced; $load"
		echo "# $k $mode: $(grep -E '^(events|locks|drops):' "$log" | tr '\n' ' ')"
		hp=$(sed -n 's/.* \([0-9]*\) hotplug cycles.*/\1/p' <<<"$load")
		vms=$(sed -n 's/.* \([0-9]*\) VMs created and run.*/\1/p' <<<"$load")
		if [ "${el:-0}" -ge "$secs" ] && grep -q "stress-ng status 0" <<<"$load" &&
		   [ "${hp:-0}" -ge 2 ] && [ "${vms:-0}" -gt 0 ]; then
			ok "$k $mode: the workload ran ${el} s: stress-ng, $vms VMs, $hp CPU hotplug cycles"
		else nok "$k $mode: workload incomplete (${el:-?} s; ${load:-no precision-load summary})"
			sed -n '/^precision-load: stress-ng log:/,$p' "$log" | head -n 27 | quote; fi
		# the kvm module loaded after the tracer started: its hooks attached then
		# (the hotplug callback is kvm_online_cpu since 6.3, kvm_starting_cpu before)
		if grep -qE "^hooks attached:.* kvm_arch_init_vm(,|$)" "$log" &&
		   grep -qE "^hooks attached:.* (kvm_online_cpu|kvm_starting_cpu)(,|$)" "$log"; then
			ok "$k $mode: kvm's hooks attached when kvm_amd loaded after the tracer"
		else nok "$k $mode: kvm hooks not attached late"; grep "^hooks" "$log" | quote; fi
		# no dependency lost: every drop counter 0
		drops=$(grep '^drops:' "$log" | head -1)
		lost=$(sed 's/^drops://; s/(.*//' <<<"$drops" | tr ' ' '\n' |
			grep -E '^(ringbuf_full|task_map_full|edge_map_full|depth_overflow)=' | grep -v '=0$' | tr '\n' ' ')
		if [ -n "$drops" ] && [ -z "$lost" ]; then ok "$k $mode: no event lost ($drops)"
		else nok "$k $mode: events lost: ${lost:-no drops line}"; fi
		# no finding, a complete verdict
		"$KLT" check "$out/prec-$mode.klt" --format json -o "$out/prec-$mode.json" --force 2>"$out/prec-$mode.check.err"
		crc=$?
		nf=$(jq '.findings | length' "$out/prec-$mode.json" 2>/dev/null)
		if [ $crc = 0 ] && [ "$nf" = 0 ]; then
			ok "$k $mode: check: 0 findings, complete recording ($(jq -c '.summary | {locks, classes, edges, lock_inits}' "$out/prec-$mode.json"))"
		else
			nok "$k $mode: check exit $crc, ${nf:-?} findings"; quote <"$out/prec-$mode.check.err"
			jq -c '.findings[] | [.kind, .level, .locks]' "$out/prec-$mode.json" 2>/dev/null | head -10 | quote
		fi
		# the class names reports use are the kernel's own (init sites), not call sites
		names=$(jq -r '[.graph.classes[] | select(.origin == "init") | .name] | unique | join(" ")' "$out/prec-$mode.json" 2>/dev/null)
		if grep -qF 'i_mutex_dir_key[' <<<"$names" && grep -qF '&mm->mmap_lock' <<<"$names" &&
		   grep -qF 'kvm->slots_lock' <<<"$(jq -r '[.graph.classes[].name] | join(" ")' "$out/prec-$mode.json")"; then
			ok "$k $mode: classes named by their init sites ($(wc -w <<<"$names") names, e.g. $(grep -o "&type->i_mutex_dir_key\[[^]]*\]" <<<"$names" | head -1), &mm->mmap_lock) and kvm->slots_lock named"
		else nok "$k $mode: init-site class names missing: $(cut -c1-300 <<<"$names")"; fi
		# hugetlbfs_file_mmap() takes its inode's i_rwsem under mmap_lock (stress-ng mmaphuge):
		# recorded, and classed as lockdep classes it, per file system type (no false cycle
		# with the i_rwsem -> mmap_lock of other file systems)
		hug=$(jq -r '[.graph.edges[] | select(.level == "class" and .from == "&mm->mmap_lock" and
			(.to | startswith("&sb->s_type->i_mutex_key[hugetlbfs]")))] | length' "$out/prec-$mode.json" 2>/dev/null)
		if [ "${hug:-0}" -ge 1 ]; then
			ok "$k $mode: &mm->mmap_lock -> &sb->s_type->i_mutex_key[hugetlbfs] recorded, a class of its own"
		else nok "$k $mode: no &mm->mmap_lock -> hugetlbfs i_rwsem edge: $(jq -c '[.graph.edges[] | select(.level == "class" and .from == "&mm->mmap_lock") | .to]' "$out/prec-$mode.json" 2>/dev/null | cut -c1-300)"; fi
	done

	# the suspend under the tracer: check's verdict between the markers
	sed -n '/^KLT-PRECISION-SUSPEND-BEGIN/,/^KLT-PRECISION-SUSPEND-END/p' "$out/guest.log" |
		sed '1d;$d' >"$out/suspend.json"
	sst=$(sed -n 's/^KLT-PRECISION-SUSPEND-END status=//p' "$out/guest.log" | tr -d '\r')
	echo "# $k suspend: $(grep -E '^(events|drops):' "$out/guest.log" | tr -d '\r' | tr '\n' ' ')"
	if [ "$sst" = 0 ] && jq -e '.findings == [] and .summary.complete == true' "$out/suspend.json" >/dev/null 2>&1; then
		ok "$k suspend: a pm_test suspend under record --all: 0 findings, complete"
	else nok "$k suspend: status ${sst:-none}"; head -c 1500 "$out/suspend.json" | quote; show "$out/guest.log" 20; fi
done
echo "1..$n"
