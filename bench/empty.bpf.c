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
