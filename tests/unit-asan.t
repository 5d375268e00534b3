#!/usr/bin/env bash
# The same unit tests built with AddressSanitizer + UndefinedBehaviorSanitizer.
B=${KLT_BUILD:-build}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
exec bash "$(dirname "$0")/lib/tap-cmocka.sh" $(ls "$B"/asan/tests/test_* | grep -v '\.d$')
