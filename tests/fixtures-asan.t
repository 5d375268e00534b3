#!/usr/bin/env bash
# The fixture suite again, against the ASan+UBSan build of the CLI.
B=${KLT_BUILD:-build}
export KLT="$B/asan/kvmlocktrace"
. "$(dirname "$0")/lib/asan.sh"
exec bash "$(dirname "$0")/fixtures.t"
