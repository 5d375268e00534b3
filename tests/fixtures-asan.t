#!/usr/bin/env bash
# The fixture suite again, against the ASan+UBSan build of the CLI.
B=${KLT_BUILD:-build}
export KLT="$B/asan/kvmlocktrace"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
exec bash "$(dirname "$0")/fixtures.t"
