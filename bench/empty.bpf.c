// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Empty programs of each attach type the tracer uses: the baseline of bench/bpf-cost.sh. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("uprobe")
int empty_uprobe(void *ctx) { return 0; }
SEC("uretprobe")
int empty_uretprobe(void *ctx) { return 0; }
SEC("fentry/mutex_lock")
int BPF_PROG(empty_fentry) { return 0; }
SEC("fexit/mutex_lock")
int BPF_PROG(empty_fexit) { return 0; }
SEC("kprobe/mutex_lock")
int empty_kprobe(void *ctx) { return 0; }
SEC("kretprobe/mutex_lock")
int empty_kretprobe(void *ctx) { return 0; }
SEC("tracepoint/lock/contention_begin")
int empty_tp(void *ctx) { return 0; }

/*
 * The counting-only floor of bench/overhead.sh: what any fentry-based lock tracer pays at least
 * (a trampoline on mutex_lock entry and exit and on mutex_unlock, and one counter each).
 */
__u64 floor_lock_calls = 0;
__u64 floor_lock_returns = 0;
__u64 floor_unlock_calls = 0;

SEC("fentry/mutex_lock")
int BPF_PROG(floor_lock)
{
	__sync_fetch_and_add(&floor_lock_calls, 1);
	return 0;
}

SEC("fexit/mutex_lock")
int BPF_PROG(floor_lock_ret)
{
	__sync_fetch_and_add(&floor_lock_returns, 1);
	return 0;
}

SEC("fentry/mutex_unlock")
int BPF_PROG(floor_unlock)
{
	__sync_fetch_and_add(&floor_unlock_calls, 1);
	return 0;
}
