// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tracer's lock state machine (bpf/state.bpf.h, bpf/lockops.bpf.h) in raw_tp programs that
 * bench/handler-cost.sh runs with BPF_PROG_TEST_RUN: a kernel that refuses fentry/kprobe still
 * runs the handler bodies on the real CPU. Built twice: against bpf/ (the current handlers) and,
 * with -DKLT_HC_OLD, against the headers of the commit before lock initializers (no lock_init,
 * no lockinfo lookup). hooks.bpf.h is not included: it would generate fentry/kprobe programs.
 * The bench's task takes fake kernel-looking lock addresses: the handlers only hash them.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "klt_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_HELD 16

/* The knobs of bpf/klt.bpf.c, fixed: everything in scope (--all), the bench not filtered. */
const volatile __u32 targ_tgid = 0;
const volatile __u32 self_tgid = 0;
const volatile bool trace_all = true;
const volatile __u64 cpu_hotplug_lock_addr = 0;
const volatile bool full_events = false;
const volatile __u64 rb_wake_bytes = 0;

#include "state.bpf.h"
#include "lockops.bpf.h"

#define LOCK_A 0xffff888100000000ull
#define LOCK_B (LOCK_A + 0x100)
/* the "init" scenario's locks: other addresses, so "known" never finds a lockinfo entry */
#define LOCK_C (LOCK_A + 0x1000)
#define LOCK_D (LOCK_A + 0x1100)
/* fake class keys and names (the name is read only once, when the first EDGE announces it) */
#define KEY_C 0xffffffff83000000ull
#define KEY_D 0xffffffff83000010ull
#define NAME_C 0xffffffff82000000ull
#define NAME_D 0xffffffff82000040ull

/*
 * Global (not inlined) functions: the verifier checks each once on its own, as it checks each
 * of the tracer's programs. Inlined into one program, two acquisitions' edge walks multiply
 * the states to explore ("BPF program is too large. Processed 1000001 insn"). The price is a
 * BPF-to-BPF call per operation (four per round, old and new alike), which the tracer's
 * programs do not pay.
 * ctx keeps its raw_tp type so the verifier passes it on as the program's context (stack
 * capture on a new edge).
 */
__noinline int hc_acquire(struct bpf_raw_tracepoint_args *ctx, __u64 lock)
{
	acq_enter(ctx, lock, KLT_LK_MUTEX, KLT_MODE_WRITE, IP_NONE, OP_BLOCK, false);
	return acq_exit(0, OP_BLOCK);
}

__noinline int hc_release(__u64 lock)
{
	return rel(lock, KLT_LK_MUTEX, false);
}

/* One steady-state round: a, then b with a held (the a -> b pair), release b, release a. */
static __always_inline int hc_round(struct bpf_raw_tracepoint_args *ctx, __u64 a, __u64 b)
{
	hc_acquire(ctx, a);
	hc_acquire(ctx, b);
	hc_release(b);
	hc_release(a);
	return 0;
}

SEC("raw_tp/hc_empty")
int hc_empty(void *ctx)
{
	return 0;
}

/* A -> B, never initialized while tracing (identity = address). */
SEC("raw_tp/hc_known")
int hc_known(struct bpf_raw_tracepoint_args *ctx)
{
	return hc_round(ctx, LOCK_A, LOCK_B);
}

#ifndef KLT_HC_OLD
/* Register C and D as __mutex_init() would (run once, before hc_init). */
SEC("raw_tp/hc_init_setup")
int hc_init_setup(void *ctx)
{
	lock_init(LOCK_C, NAME_C, KEY_C, KLT_LK_MUTEX);
	lock_init(LOCK_D, NAME_D, KEY_D, KLT_LK_MUTEX);
	return 0;
}

/* C -> D, both initialized: every acquire finds its lockinfo entry (class pair edge key). */
SEC("raw_tp/hc_init")
int hc_init(struct bpf_raw_tracepoint_args *ctx)
{
	return hc_round(ctx, LOCK_C, LOCK_D);
}
#endif
