#!/usr/bin/env bash
# Short libFuzzer runs of the three parsers (tests/fuzz/README.md), from a copy of the committed
# seed corpus, with ASan + UBSan + LeakSanitizer. One `ok` per target; a crash prints the
# reproducer path and the head of the sanitizer report. Then the committed reproducers of open
# findings (tests/fuzz/crashes/, all fixed) are replayed as regression tests.
#
# Env: KLT_BUILD (build dir, default build), KLT_FUZZ_T_SECONDS (per target, default 35),
#      KLT_FUZZ_T_RUNS (max runs per target, default 2000000), KLT_FUZZ_T_REBUILD=1 (force build).
set -u
cd "$(dirname "$0")/.." || exit 1
B=${KLT_BUILD:-build}
SECS=${KLT_FUZZ_T_SECONDS:-35}
RUNS=${KLT_FUZZ_T_RUNS:-2000000}
TARGETS="fuzz_tracefile fuzz_textfmt fuzz_rules"

if ! command -v clang >/dev/null 2>&1; then
	echo "1..0 # SKIP clang not installed"
	exit 0
fi

# Build (or refresh) the targets; make only rebuilds what is out of date.
if ! out=$(make --no-print-directory -f tests/fuzz/fuzz.mk OUTPUT="$B" fuzz-build 2>&1); then
	if grep -q 'fuzzer' <<<"$out" && ! echo 'int LLVMFuzzerTestOneInput(const char*d,long n){return 0;}' |
		clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
		echo "1..0 # SKIP clang has no libFuzzer runtime (libclang-rt-dev)"
		exit 0
	fi
	echo "1..1"
	echo "not ok 1 - build fuzz targets"
	awk '{ print "# " $0 }' <<<"$out" | head -40
	exit 1
fi

REPROS=()
for t in $TARGETS; do
	for f in tests/fuzz/crashes/"$t"/*; do
		[ -f "$f" ] || continue
		case "$f" in *.md | *amplification*) continue ;; esac
		REPROS+=("$t:$f")
	done
done

ntests=$(( $(wc -w <<<"$TARGETS") + ${#REPROS[@]} ))
echo "1..$ntests"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/klt-fuzz-t.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
keep="$B/fuzz/fuzz-t-crashes"
KLT_ASAN_EXTRA=allocator_may_return_null=1 . "$(dirname "$0")/lib/asan.sh"
export KLT_FUZZ_TMPDIR="$tmp"
fail=0
n=0

for t in $TARGETS; do
	n=$((n + 1))
	mkdir -p "$tmp/$t/corpus" "$tmp/$t/art"
	cp tests/fuzz/corpus/"$t"/* "$tmp/$t/corpus/" 2>/dev/null
	log="$tmp/$t/log"
	"$B/fuzz/$t" -max_total_time="$SECS" -runs="$RUNS" -timeout=25 -rss_limit_mb=2048 \
		-max_len=16384 -print_final_stats=1 -artifact_prefix="$tmp/$t/art/" \
		-dict="tests/fuzz/$t.dict" \
		"$tmp/$t/corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	arts=$(ls "$tmp/$t/art" 2>/dev/null)
	if [ $rc -eq 0 ] && [ -z "$arts" ] && [ -n "$runs" ]; then
		echo "ok $n - $t: ${runs} runs, 0 crashes (${eps:-?} exec/s, ${cov:-cov: ?})"
		continue
	fi
	fail=1
	mkdir -p "$keep/$t"
	for a in $arts; do cp "$tmp/$t/art/$a" "$keep/$t/"; done
	echo "not ok $n - $t: exit $rc after ${runs:-?} runs, crashes: ${arts:-none saved}"
	for a in $arts; do
		echo "#   reproducer: $keep/$t/$a"
		echo "#   rerun:      $B/fuzz/$t $keep/$t/$a"
	done
	# head of the report: from the first sanitizer/libFuzzer/harness error line
	awk '/FUZZ_CHECK failed|^==[0-9]+==ERROR|runtime error:|ERROR: libFuzzer|LeakSanitizer/ {p=1}
	     p && c < 25 {print "#   " $0; c++}' "$log"
done

# Committed reproducers of past findings (tests/fuzz/crashes/): each must pass now.
for r in "${REPROS[@]}"; do
	n=$((n + 1))
	t=${r%%:*}
	f=${r#*:}
	if KLT_FUZZ_STRICT=1 "$B/fuzz/$t" -timeout=25 -rss_limit_mb=2048 "$f" >"$tmp/repro.log" 2>&1; then
		echo "ok $n - $t: regression $f"
	else
		fail=1
		echo "not ok $n - $t: regression $f fails again, see tests/fuzz/crashes/README.md"
		awk '/FUZZ_CHECK failed|^==[0-9]+==ERROR|runtime error:|LeakSanitizer/ {p=1}
		     p && c < 3 {print "#   " $0; c++}' "$tmp/repro.log"
	fi
done
exit $fail
