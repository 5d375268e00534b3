#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# CPU cost of the tracer's lock handler bodies on this host's CPU, no emulation: the state
# machine of bpf/state.bpf.h + bpf/lockops.bpf.h compiled into raw_tp programs
# (bench/handler-cost.bpf.c) and run with BPF_PROG_TEST_RUN, pinned to one CPU. For hosts whose
# kernel refuses fentry/fexit/tp_btf and has no kprobes, where bench/bpf-cost.sh cannot attach.
# Prints numbers; asserts nothing. Needs root (CAP_BPF + CAP_PERFMON).
#
# One run = one round on fake kernel addresses, as a task in scope (trace_all, no tgid filter):
#   known  acquire A (acq_enter + acq_exit, OP_BLOCK), acquire B with A held, release B, A.
#          The pair A -> B is sent once, in the warm-up run; then the chain cache knows it.
#   init   the same on C, D first registered with lock_init() (__mutex_init): every acquire
#          finds a lockinfo entry, and the pair is keyed by class (the lock initializer change).
#   empty  an empty raw_tp program: the syscall and test-run overhead in every sample.
#   old    the same `known` round built against the headers of commit f54dd36 (before lock
#          initializers: no lockinfo lookup), extracted with git by make; skipped without git.
# body = run - empty, per repetition, median over repetitions.
#
# Limits, and the workarounds:
#   - raw_tp test runs take no `repeat` or `duration` (-EINVAL), so each sample is a userspace
#     loop of single bpf_prog_test_run_opts() calls timed with clock_gettime; the syscall costs
#     several times the body, hence the empty baseline, the chunked interleaving of scenarios
#     and the repetitions.
#   - The four operations are global BPF functions, not inlined: inlined in one program, the
#     verifier explores two acquisitions' edge walks together and gives up ("BPF program is too
#     large. Processed 1000001 insn"); the tracer has one operation per program. Cost: one
#     BPF-to-BPF call per operation, which the tracer's programs do not pay.
#   - raw_tp has every helper the handlers use (bpf_get_current_task_btf, bpf_task_storage_get
#     in its recursion-checked form as for fentry, bpf_get_stackid, bpf_ringbuf_*); no change
#     there. The trampoline/kprobe entry of a real hook is not in the numbers (see
#     bench/bpf-cost.sh for those, in the guest).
# Environment: CPU (default 0; choose one the QEMU tests are not using), RUNS per sample (default
# 200000), REPS (default 9).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${KLT_BUILD:-build}
CPU=${CPU:-0}
RUNS=${RUNS:-200000}
REPS=${REPS:-9}

make -s -j1 OUTPUT="$B" "$B/bench/handler-cost" "$B/bench/handler-cost.bpf.o"
old=$B/bench/handler-cost-old.bpf.o
if ! make -s -j1 OUTPUT="$B" "$old" 2>/dev/null; then
	echo "(no old handlers: git show f54dd36 failed; measuring the current ones only)"
	old=
fi
echo "host: $(uname -r), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
"$B/bench/handler-cost" -c "$CPU" -n "$RUNS" -r "$REPS" "$B/bench/handler-cost.bpf.o" ${old:+"$old"}
