// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmlocktrace BPF side: one held-lock state machine shared by thin wrappers for
 * fentry/fexit, kprobe/kretprobe and uprobe/uretprobe, plus the tracepoints that every
 * kernel allows (CPU-hotplug callbacks, lock contention, suspend/resume phases).
 *
 * Per task (task-local storage) a bounded stack of held locks. When a lock is acquired while
 * others are held, each held -> new pair is looked up in `edges`; only a pair never seen before
 * costs a stack capture and a ring-buffer record (KLT_EV_EDGE). Like lockdep's chain cache, a
 * hash of the held stack plus the new lock that was fully processed before skips those lookups. Watched locks (cpu_hotplug_lock,
 * kvm_lock, ... set by userspace) and locks taken inside cpuhp callbacks also send their
 * acquire/release events so userspace can check suspend-time holders and atomic sections.
 * Every failure is counted in .bss and shown by userspace.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "klt_abi.h"

/*
 * The parts, by concern (one BPF object, so one compilation unit: the parts are headers):
 *   state.bpf.h    maps, counters, event records, watch table, chain keys, the held stack
 *   lockops.bpf.h  acquire / release / downgrade / nest section / user lock keys
 *   events.bpf.h   KVM functions and objects, suspend phases, hotplug callbacks, tracepoints
 *   hooks.bpf.h    the programs, generated from the hook table (include/klt_hooks.h)
 */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_HELD 16 /* per-task held-lock depth kept in BPF (overflow is counted) */

/* Knobs, set by userspace between open and load. */
const volatile __u32 targ_tgid = 0;		/* only this process when non-zero */
const volatile __u32 self_tgid = 0;		/* the tracer itself: its attach path is noise */
const volatile bool trace_all = false;		/* every mutex/rwsem, not only the KVM scope */
const volatile __u64 cpu_hotplug_lock_addr = 0; /* cpus_read_lock() has no argument */
/* Full ATTEMPT/ACQUIRED/RELEASE events (with stacks) for every in-scope lock, not only watched
 * ones: what hold/wait statistics and the folded/perf/chrome exports need (--full-events). */
const volatile bool full_events = false;
/* Wake the reader only once this much is unread (0: on every record); it polls on a timer. */
const volatile __u64 rb_wake_bytes = 0;

#include "state.bpf.h"
#include "lockops.bpf.h"
#include "events.bpf.h"
#include "hooks.bpf.h"
