#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# lockdep-compare.sh LOCKDEP REPORT.json [DMESG [CHAINS [BEFORE]]]: lockdep as the oracle for one
# workload.
#   LOCKDEP      /proc/lockdep of a CONFIG_PROVE_LOCKING kernel after the workload
#   REPORT.json  `kvmlocktrace report --format json` of a recording of the same workload on the
#                production build of the same kernel source
#   DMESG        that lockdep kernel's log (its splats: "possible circular locking dependency")
#   CHAINS       its /proc/lockdep_chains: every held-lock stack lockdep saw a lock acquired on
#   BEFORE       its /proc/lockdep taken before the workload started: lockdep keeps what it saw
#                since boot, the tracer only what it saw while recording, so recall counts the
#                dependencies lockdep added during the workload (those it had before are listed
#                apart: the workload may or may not have taken them again)
# Prints the oracle table of docs/precision.md: the classes both can name, lockdep's direct
# dependencies among them recorded by us or not, our class edges lockdep's graph implies or not,
# and cycles: lockdep's splats, ours, and whether lockdep's graph contradicts each of ours.
#
# Names: lockdep prints a class as NAME[#version][/subclass]; production kernels have neither
# versions (distinct keys of one name) nor subclasses (the *_nested() annotations compile away),
# so both are dropped, as is the leading '&'; our per-file-system suffix [fs] and instance
# addresses @0x... likewise. Classes we can only name by a call site (origin "inferred") are
# not nameable by lockdep and are counted apart. /proc/lockdep lists a class's direct
# dependencies only (distance 1): an edge of ours that lockdep reaches through a path of direct
# ones is implied by lockdep's graph, not missing from it. Lockdep records a dependency on the
# nearest held lock it validates only (a lock of a "novalidate" class such as dev->mutex, or a
# trylock, is stepped over, and the dependency then has distance 2 and is not printed); its
# chains (CHAINS) hold every stack of held locks it saw, so an edge of ours whose two locks
# appear in that order in one chain was seen by lockdep too.
# Exit 0 when the table was printed, 2 on bad input.
set -euo pipefail
die() { echo "lockdep-compare: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: lockdep-compare.sh LOCKDEP REPORT.json [DMESG [CHAINS [BEFORE]]]"
ld=$1 rep=$2 dm=${3:-} ch=${4:-} bf=${5:-}
[ -r "$ld" ] || die "$ld: cannot read"
[ -r "$rep" ] || die "$rep: cannot read"
[ -z "$dm" ] || [ -r "$dm" ] || die "$dm: cannot read"
[ -z "$ch" ] || [ -r "$ch" ] || die "$ch: cannot read"
[ -z "$bf" ] || [ -r "$bf" ] || die "$bf: cannot read"
[ -z "$bf" ] || grep -q '^all lock classes:' "$bf" || die "$bf: line 1: not a /proc/lockdep dump ('all lock classes:' missing)"
[ -z "$ch" ] || grep -q 'all lock chains:' "$ch" || die "$ch: line 1: not a /proc/lockdep_chains dump ('all lock chains:' missing)"
grep -q '^all lock classes:' "$ld" || die "$ld: line 1: not a /proc/lockdep dump ('all lock classes:' missing)"
grep -q '^ -> \[' "$ld" || die "$ld: no ' -> [key] class' dependency lines (a kernel without CONFIG_PROVE_LOCKING?)"
jq -e '.graph.classes and .graph.edges and .findings' "$rep" >/dev/null 2>&1 ||
	die "$rep: not a kvmlocktrace JSON report (.graph.classes/.graph.edges/.findings missing)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# ours: C<TAB>name<TAB>origin, E<TAB>from<TAB>to (class level), Y<TAB>n<TAB>a b c ... (cycle classes)
jq -r '
	def cls: sub("@0x[0-9a-f]+$"; "");
	(.graph.classes[] | "C\t\(.name)\t\(.origin)"),
	(.graph.edges[] | select(.level == "class") | "E\t\(.from)\t\(.to)"),
	(.findings | to_entries[] | select(.value.kind == "cycle") |
		"Y\t\(.key)\t\(.value.level)\t\([.value.edges[] | (.from | cls) + "\u0001" + (.to | cls)] | join("\u0002"))")
' "$rep" >"$tmp/ours"
# lockdep's splats: the two classes named in each "possible circular locking dependency" header
: >"$tmp/splats"
if [ -n "$dm" ]; then
	# the lock lines read "ADDR (NAME){usage}-{...}, at: FUNC+OFF/SIZE" (NAME may hold parentheses)
	awk 'function nm(s) { sub(/^.*[0-9a-f] \(/, "", s); sub(/\)\{.*$/, "", s); return s }
	     /WARNING: possible circular locking dependency detected/ { want = 1; next }
	     want && /is trying to acquire lock:/ { getline; a = nm($0); next }
	     want && /but task is already holding lock:/ { getline; print a "\t" nm($0); want = 0 }' \
		"$dm" >"$tmp/splats"
fi

awk -F'\t' -v LD="$ld" -v CH="$ch" -v BF="$bf" -v SPL="$tmp/splats" -v MISS="$tmp/miss" -v EXTRA="$tmp/extra" '
function norm(s) {
	sub(/@0x[0-9a-f]+$/, "", s)
	sub(/\[[^]]*\]$/, "", s)
	sub(/\/[0-9]+$/, "", s)
	sub(/#[0-9]+$/, "", s)
	sub(/^&/, "", s)
	return s
}
function addpath(a, b) {
	if (a == b || (a, b) in pth) return
	pth[a, b] = 1; pn[a]++; po[a, pn[a]] = b
}
function reach(a, b,    q, h, t, x, n, i, seen, k) {
	# BFS from a over the lockdep direct edges and the held-before pairs of its chains
	if ((a, b) in pth) return 1
	delete seen; h = 0; t = 0; q[t++] = a; seen[a] = 1
	while (h < t) {
		x = q[h++]
		n = pn[x]
		for (i = 1; i <= n; i++) {
			k = po[x, i]
			if (k == b) return 1
			if (!(k in seen)) { seen[k] = 1; q[t++] = k }
		}
	}
	return 0
}
BEGIN {
	cur = ""
	while ((getline line < LD) > 0) {
		if (line ~ /^ -> \[/) {
			if (cur == "") continue
			nm = line; sub(/^ -> \[[^]]*\] /, "", nm); nm = norm(nm)
			if (nm == cur) continue
			if (!((cur, nm) in lde)) {
				lde[cur, nm] = 1; nlde++; addpath(cur, nm)
			}
		} else if (line ~ /^[0-9a-fx]+ .*: /) {
			nm = line; sub(/^[0-9a-fx]+( OPS: *[0-9]+)?( FD: *[0-9]+ BD: *[0-9]+ [^ ]*)?: /, "", nm); cur = norm(nm)
			if (!(cur in ldc)) { ldc[cur] = 1; nldc++ }
		}
	}
	close(LD)
	# the dump before the workload: its direct dependencies
	if (BF != "") {
		cur = ""
		while ((getline line < BF) > 0) {
			if (line ~ /^ -> \[/) {
				if (cur == "") continue
				nm = line; sub(/^ -> \[[^]]*\] /, "", nm); nm = norm(nm)
				ldb[cur, nm] = 1
			} else if (line ~ /^[0-9a-fx]+ .*: /) {
				nm = line; sub(/^[0-9a-fx]+( OPS: *[0-9]+)?( FD: *[0-9]+ BD: *[0-9]+ [^ ]*)?: /, "", nm); cur = norm(nm)
			}
		}
		close(BF)
	}
	# chains: blocks of "[key] name" lines (outermost first), one per irq_context line
	if (CH != "") {
		d = 0
		while ((getline line < CH) > 0) {
			if (line ~ /^\[/) {
				nm = line; sub(/^\[[^]]*\] /, "", nm); nm = norm(nm)
				for (i = 1; i <= d; i++) addpath(chn[i], nm)
				chn[++d] = nm
			} else if (line ~ /^irq_context:/ || line == "") {
				if (d) nchains++
				d = 0
			}
		}
		if (d) nchains++
		close(CH)
	}
	while ((getline line < SPL) > 0) {
		split(line, p, "\t"); nspl++; spl[nspl] = p[1] " <-> " p[2]
	}
}
$1 == "C" {
	n = norm($2); ours++
	if ($3 == "inferred") { inferred++; next }
	if (n in ldc) { if (!(n in both)) { both[n] = 1; nboth++ } }
	else { if (!(n in onlyname)) { onlyname[n] = 1; nonly++ } }
	next
}
$1 == "E" { a = norm($2); b = norm($3); if (a != b) oe[a, b] = 1; next }
$1 == "Y" { ncyc++; cyc[ncyc] = $4; cyclevel[ncyc] = $3; next }
END {
	printf "== lockdep as the oracle\n"
	printf "classes: lockdep %d, ours %d (%d named only by a call site), both name %d; ours lockdep never saw: %d\n",
		nldc, ours, inferred, nboth, nonly
	# lockdep direct edges among classes both name
	for (k in lde) {
		split(k, e, SUBSEP)
		if (!(e[1] in both) || !(e[2] in both)) continue
		if ((e[1], e[2]) in ldb) { before++; if ((e[1], e[2]) in oe) beforehit++; continue }
		tot++
		if ((e[1], e[2]) in oe) hit++
		else { nmiss++; print "  " e[1] " -> " e[2] > MISS }
	}
	if (BF != "")
		printf "lockdep direct edges between classes both name, already there before the workload: %d (recorded by us too: %d)\n", before, beforehit
	printf "lockdep direct edges between classes both name%s: %d; recorded by us: %d (%.1f%%); only lockdep: %d\n",
		BF != "" ? ", added during the workload" : "", tot, hit, tot ? 100.0 * hit / tot : 0, nmiss
	for (k in oe) {
		split(k, e, SUBSEP)
		if (!(e[1] in both) || !(e[2] in both)) continue
		otot++
		if ((e[1], e[2]) in lde) odirect++
		else if (reach(e[1], e[2])) oimplied++
		else { nextra++; print "  " e[1] " -> " e[2] > EXTRA }
	}
	printf "our class edges between classes both name: %d; lockdep direct: %d, implied by a lockdep path%s: %d, not in lockdep'"'"'s graph: %d\n",
		otot, odirect, CH != "" ? " or chain (" nchains " chains)" : "", oimplied, nextra
	printf "cycles: lockdep splats %d, ours %d\n", nspl, ncyc
	for (i = 1; i <= nspl; i++) printf "  lockdep: %s\n", spl[i]
	contradicted = 0
	for (i = 1; i <= ncyc; i++) {
		n = split(cyc[i], ed, "\002"); s = ""; bad = ""
		for (j = 1; j <= n; j++) {
			split(ed[j], ft, "\001"); a = norm(ft[1]); b = norm(ft[2])
			if (j == 1) first = a
			s = s (j > 1 ? " -> " : "") a
			if (!(a in ldc) || !(b in ldc)) { bad = bad " " a "->" b "(unnamed)"; continue }
			if (!((a, b) in lde) && !reach(a, b)) bad = bad " " a "->" b
		}
		verdict = bad == "" ? "every edge in lockdep'"'"'s graph" : "lockdep'"'"'s graph lacks:" bad
		if (bad != "" && bad !~ /unnamed/) contradicted++
		printf "  ours (%s): %s -> %s: %s\n", cyclevel[i], s, first, verdict
	}
	printf "our cycles lockdep'"'"'s graph contradicts: %d\n", contradicted
}' "$tmp/ours"
for f in miss extra; do
	[ -s "$tmp/$f" ] || continue
	n=$(wc -l <"$tmp/$f")
	if [ $f = miss ]; then echo "only lockdep ($n, sorted; first 40):"
	else echo "ours, not in lockdep's graph ($n, sorted; first 40):"; fi
	sort "$tmp/$f" | head -40
done
