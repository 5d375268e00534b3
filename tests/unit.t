#!/usr/bin/env bash
# Unit tests (cmocka) of the pure core: symtab, trace formats, engine, rules, renderers.
B=${KLT_BUILD:-build}
exec bash "$(dirname "$0")/lib/tap-cmocka.sh" $(ls "$B"/tests/test_* | grep -v '\.d$')
