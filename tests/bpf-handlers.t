#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The lock handlers' records, checked on the host: bpf/lockops.bpf.h in raw_tp programs run by
# BPF_PROG_TEST_RUN (tests/bpf/handlers.c says what is asserted). The host refuses fentry and
# kprobes; these are the same handler bodies those programs run in the QEMU guests.
set -u
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root (BPF_PROG_TEST_RUN)"; exit 0; fi
exec "$B/tests/bpf-handlers" "$B/tests/bpf-handlers.bpf.o"
