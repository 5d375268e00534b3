#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/lockdep-compare.sh, the oracle table of issue 14, on fixtures whose every number is
# counted by hand below: lockdep's /proc/lockdep format (versions #N, subclasses /N, '&',
# pseudo-locks with parentheses, distance-1 dependency lines), its /proc/lockdep_chains, our
# JSON report (per-fs [..] suffixes, call-site classes, instance cycles) and lockdep's splat
# lines in a kernel log.
set -u
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
F=tests/fixtures/lockdep
C=bench/lockdep-compare.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$(bash $C $F/proc-lockdep.txt $F/report.json $F/dmesg.txt 2>&1); rc=$?
has() { grep -qxF -- "$1" <<<"$out"; }
[ $rc = 0 ] && ok "the table printed (exit 0)" || { nok "exit $rc"; quote <<<"$out"; }
# lockdep: 13 class lines, &rq->__lock/1 is &rq->__lock, the two i_mutex_key versions one name
# ours: 12 classes, 1 inferred; both name 9 (not klt_private_mutex, not the call-site class)
has "classes: lockdep 11, ours 12 (1 named only by a call site), both name 9; ours lockdep never saw: 1" &&
	ok "classes normalised (versions, subclasses, '&', [fs]) and intersected" ||
	{ nok "class line"; quote <<<"$out"; }
# lockdep direct edges between nameable classes: 8 (text_mutex -> &rq->__lock and the
# pseudo-lock edge are not nameable by us; the subclass self-edge is dropped); we miss
# kvm->slots_lock -> kvm->slots_arch_lock
has "lockdep direct edges between classes both name: 8; recorded by us: 7 (87.5%); only lockdep: 1" &&
	ok "lockdep's direct edges: 7 of 8 recorded" || nok "lockdep edge line"
has "  kvm->slots_lock -> kvm->slots_arch_lock" && ok "the edge only lockdep has is listed" ||
	nok "only-lockdep list"
# ours: 9 class edges between nameable classes (the call-site class's edge and the instance edge
# are not counted); cpu_hotplug_lock -> text_mutex is lockdep's distance-2 path through
# jump_label_mutex; kvm->srcu -> cpu_hotplug_lock is in no lockdep path
has "our class edges between classes both name: 9; lockdep direct: 7, implied by a lockdep path: 1, not in lockdep's graph: 1" &&
	ok "our edges: direct, implied by a lockdep path, absent" || nok "our edge line"
has "  kvm->srcu -> cpu_hotplug_lock" && ok "the edge lockdep's graph lacks is listed" || nok "extra list"
has "cycles: lockdep splats 2, ours 2" && ok "two splats, two cycles of ours (the rule finding is no cycle)" ||
	nok "cycle count line"
has "  lockdep: cpu_hotplug_lock <-> &kvm->srcu" && has "  lockdep: (wq_completion)events <-> &rq->__lock/1" &&
	ok "splats name both locks, parentheses in names kept" || nok "splat lines"
has "  ours (class): cpu_hotplug_lock -> kvm->slots_lock -> kvm->srcu -> cpu_hotplug_lock: lockdep's graph lacks: kvm->srcu->cpu_hotplug_lock" &&
	ok "a class cycle of ours checked edge by edge against lockdep's graph" || nok "class cycle line"
has "  ours (instance): kvm_lock -> cpu_hotplug_lock -> jump_label_mutex -> kvm_lock: lockdep's graph lacks: jump_label_mutex->kvm_lock" &&
	ok "an instance cycle: addresses dropped to class names" || nok "instance cycle line"
has "our cycles lockdep's graph contradicts: 2" && ok "contradicted cycles counted" || nok "contradicted count"

# a cycle all of whose edges lockdep has is not contradicted (here through the names the
# comparison merges: lockdep's i_mutex_key#7 and #12, our [tmpfs])
jq '.findings = [{"kind":"cycle","level":"class","edges":[{"from":"&sb->s_type->i_mutex_key[tmpfs]","to":"&mm->mmap_lock"},{"from":"&mm->mmap_lock","to":"&sb->s_type->i_mutex_key[tmpfs]"}]}]' \
	$F/report.json >"$tmp/agree.json"
out=$(bash $C $F/proc-lockdep.txt "$tmp/agree.json" 2>&1)
has "  ours (class): sb->s_type->i_mutex_key -> mm->mmap_lock -> sb->s_type->i_mutex_key: every edge in lockdep's graph" &&
	has "our cycles lockdep's graph contradicts: 0" && has "cycles: lockdep splats 0, ours 1" &&
	ok "a cycle lockdep's graph implies is not counted as contradicted; no DMESG, no splats" ||
	{ nok "agreeing cycle"; quote <<<"$out"; }

# the chains: kvm->srcu -> cpu_hotplug_lock across a novalidate lock (lockdep records no
# printed direct dependency for it) is in a chain: implied, and the class cycle through it no
# longer contradicted
out=$(bash $C $F/proc-lockdep.txt $F/report.json $F/dmesg.txt $F/proc-lockdep_chains.txt 2>&1)
has "our class edges between classes both name: 9; lockdep direct: 7, implied by a lockdep path or chain (2 chains): 2, not in lockdep's graph: 0" &&
	has "our cycles lockdep's graph contradicts: 1" &&
	has "  ours (class): cpu_hotplug_lock -> kvm->slots_lock -> kvm->srcu -> cpu_hotplug_lock: every edge in lockdep's graph" &&
	ok "/proc/lockdep_chains: a held-before pair across an unvalidated lock counts as lockdep's" ||
	{ nok "chains"; quote <<<"$out"; }
# before the workload lockdep had cpu_hotplug_lock -> jump_label_mutex (we recorded it too) and
# kvm->slots_lock -> kvm->slots_arch_lock (we did not): recall counts the other six
out=$(bash $C $F/proc-lockdep.txt $F/report.json $F/dmesg.txt $F/proc-lockdep_chains.txt $F/proc-lockdep-before.txt 2>&1)
has "lockdep direct edges between classes both name, already there before the workload: 2 (recorded by us too: 1)" &&
	has "lockdep direct edges between classes both name, added during the workload: 6; recorded by us: 6 (100.0%); only lockdep: 0" &&
	ok "the dump before the workload: recall over what lockdep added during it" ||
	{ nok "before"; quote <<<"$out"; }
printf 'irq_context: 0\n' >"$tmp/nochains"
err=$(bash $C $F/proc-lockdep.txt $F/report.json $F/dmesg.txt "$tmp/nochains" 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && grep -qF "$tmp/nochains: line 1: not a /proc/lockdep_chains dump" <<<"$err" &&
	ok "bad chains input: exit 2, names the file" || nok "bad chains: exit $rc: $err"

# bad input: one line naming the file, exit 2
printf 'hello\n' >"$tmp/notlockdep"
grep -v '^ -> ' $F/proc-lockdep.txt >"$tmp/noprove"
for c in "$tmp/notlockdep:not a /proc/lockdep dump" "$tmp/noprove:CONFIG_PROVE_LOCKING" \
	 "$tmp/missing:cannot read"; do
	f=${c%%:*} want=${c#*:}
	err=$(bash $C "$f" $F/report.json 2>&1 >/dev/null); rc=$?
	if [ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -qF "$f" <<<"$err" && grep -qF "$want" <<<"$err"; then
		ok "bad lockdep input: exit 2, one line: $err"
	else nok "bad lockdep input $f: exit $rc: $err"; fi
done
err=$(bash $C $F/proc-lockdep.txt "$tmp/notlockdep" 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && grep -qF "$tmp/notlockdep: not a kvmlocktrace JSON report" <<<"$err" &&
	ok "bad report input: exit 2, names the file" || nok "bad report: exit $rc: $err"
echo "1..$n"
