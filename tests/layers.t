#!/usr/bin/env bash
# The layering of src/ (docs/architecture.md) is enforced by the build: each folder is compiled
# with only the include paths of the layers it may use. This proves it both ways, with the
# Makefile's own flags: every header a layer may use compiles from that layer, and every header
# of a layer above it does not. Then every source file builds with its layer's flags alone.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh
B=${KLT_BUILD:-build}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# who may include whom (a layer may always use itself and include/)
declare -A allowed=(
	[core]="core"
	[io]="core io"
	[render]="core io render"
	[live]="core io live"
	[cli]="core io render live cli"
)
layers="core io render live cli"

try() { # LAYER HEADER: does a file of LAYER that includes HEADER compile?
	printf '#include "%s"\n' "$(basename "$2")" >"$tmp/t.c"
	# shellcheck disable=SC2046
	"$CC" -fsyntax-only -std=gnu11 -D_GNU_SOURCE -Iinclude $(make -s print-layer L="$1" OUTPUT="$B") \
		"$tmp/t.c" 2>"$tmp/err"
}

for l in $layers; do
	bad="" good="" nbad=0 ngood=0
	for hl in $layers; do
		for h in src/"$hl"/*.h; do
			[ -f "$h" ] || continue
			if [[ " ${allowed[$l]} " == *" $hl "* ]]; then
				if try "$l" "$h"; then ngood=$((ngood + 1)); else good+=" $h"; fi
			else
				if try "$l" "$h"; then bad+=" $h"; else nbad=$((nbad + 1)); fi
				# the refusal must be "file not found", not some other error
				if ! grep -q 'No such file or directory\|file not found' "$tmp/err"; then
					bad+=" $h(other-error)"
				fi
			fi
		done
	done
	if [ -z "$good" ]; then ok "$l: the $ngood headers of ${allowed[$l]} compile from $l"
	else nok "$l: allowed headers that do not compile from $l:$good"; fi
	if [ -z "$bad" ]; then ok "$l: the $nbad headers of the layers above it cannot be included"
	else nok "$l: headers $l can include but must not:$bad"; fi
done

# every source compiles with its own layer's flags (what the Makefile does, checked here so a
# rule that starts passing all include paths to every file shows up)
fails=""
nsrc=0
for l in $layers; do
	for c in src/"$l"/*.c; do
		nsrc=$((nsrc + 1))
		# shellcheck disable=SC2046
		"$CC" -fsyntax-only -std=gnu11 -D_GNU_SOURCE -DKLT_VERSION='"t"' -Iinclude \
			$(make -s print-layer L="$l" OUTPUT="$B") "$c" 2>>"$tmp/src.err" || fails+=" $c"
	done
done
if [ -z "$fails" ]; then ok "all $nsrc source files compile with only their layer's include paths"
else nok "sources that need more than their layer:$fails"; quote <"$tmp/src.err" | head -20; fi

echo "1..$n"
