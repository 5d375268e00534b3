#!/usr/bin/env bash
# The same unit tests built with AddressSanitizer + UndefinedBehaviorSanitizer.
B=${KLT_BUILD:-build}
. "$(dirname "$0")/lib/asan.sh"
exec bash "$(dirname "$0")/lib/tap-cmocka.sh" $(ls "$B"/asan/tests/test_* | grep -v '\.d$')
