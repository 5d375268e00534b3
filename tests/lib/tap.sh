# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# TAP helpers sourced by the tests/*.t scripts: test lines numbered in $n (the script prints the
# plan "1..$n" at its end), and log excerpts quoted as comment lines.
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
# stdin as TAP comments; awk ends every line, so a log cut mid-line cannot swallow the next TAP line
quote() { awk '{ print "#   " $0 }'; }
