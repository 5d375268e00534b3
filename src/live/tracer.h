/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Live tracer: the only code that touches libbpf. A small lifecycle around the skeleton,
 * in the manner of perf's lock_contention_*: probe -> open -> configure -> load -> attach ->
 * poll -> detach. It delivers decoded events, stacks and the symbols they need through
 * callbacks; the rest of the program never sees a BPF map.
 */
#ifndef KLT_TRACER_H
#define KLT_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "klt_abi.h"
#include "symtab.h"
#include "trace.h"
#include "traceio.h"

enum klt_attach {
	KLT_ATTACH_AUTO = 0,
	KLT_ATTACH_FENTRY,
	KLT_ATTACH_KPROBE,
	KLT_ATTACH_TRACEPOINT,
};

struct klt_features {
	char kernel_release[128];
	bool btf;	    /* /sys/kernel/btf/vmlinux */
	bool fentry;	    /* a trial fentry load succeeded */
	int fentry_err;	    /* -errno of the trial when it failed */
	bool fentry_refused; /* EPERM although privileged: the kernel does not allow fentry */
	bool kprobe;	    /* kprobe PMU present */
	bool tracepoints;   /* tracefs with cpuhp/lock/power events */
	bool uprobe;	    /* uprobe PMU present */
	bool ringbuf;
	bool kallsyms_data; /* data symbols (CONFIG_KALLSYMS_ALL): lock names */
	enum klt_attach auto_mode;
};

struct klt_tracer_opts {
	enum klt_attach attach;
	bool all;	  /* every mutex/rwsem, not just the KVM/hotplug scope */
	bool full_events; /* full lock events for every in-scope lock (stats, exports) */
	pid_t pid;	  /* only this process (0 = all) */
	const char *user; /* user-space locks: PATH of a binary or libc, or a PID; NULL = kernel */
	const char *btf;	  /* BTF of the running kernel when it exposes none (--btf) */
	const char *symbols;	  /* System.map (or kallsyms-format file) adding names (--symbols) */
	const char *const *watch; /* extra lock names/globs to watch (e.g. rules' watch-suspend) */
	size_t nwatch;
	bool verbose;		  /* libbpf's log on stderr (-v); else only msg says what failed */
};

struct klt_tracer_cbs {
	/* A symbol the recording needs (lock or frame): called before the event that uses it. */
	int (*sym)(void *ctx, const struct klt_sym *sym);
	int (*stack)(void *ctx, int32_t id, const uint64_t *ips, uint32_t nr);
	int (*event)(void *ctx, const struct klt_event *ev);
	void *ctx;
};

struct klt_tracer;

int klt_features_probe(struct klt_features *f);
/* libbpf's log on stderr (true) or silenced (false, the default of klt_tracer_start). */
void klt_tracer_set_verbose(bool verbose);
/* Root, CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON. */
bool klt_may_trace(void);
const char *klt_attach_name(enum klt_attach a);

/* Open, configure, load and attach. On failure *msg says what failed and what to do. */
int klt_tracer_start(const struct klt_tracer_opts *o, const struct klt_tracer_cbs *cbs,
		     struct klt_tracer **out, char *msg, size_t msglen);
enum klt_attach klt_tracer_mode(const struct klt_tracer *t);
/* Why --attach=auto chose the mode it did ("" when a mode was given). */
const char *klt_tracer_reason(const struct klt_tracer *t);
/* Hooks attached and skipped, one comma-separated line each (for the summary). */
const char *klt_tracer_attached(const struct klt_tracer *t);
const char *klt_tracer_skipped(const struct klt_tracer *t);
/* Hooks in the kvm module still waiting for it to load (attached when it does). */
const char *klt_tracer_waiting(const struct klt_tracer *t);
/* Poll the ring buffer for up to timeout_ms (records under the BPF side's wakeup threshold are
 * collected when it times out); returns events handled or -errno. */
int klt_tracer_poll(struct klt_tracer *t, int timeout_ms);
/* --user: read the maps of pid now (the traced command, stopped at its exit), so its frames
 * and locks can still be named when its events are consumed after it is gone. */
void klt_tracer_user_snapshot(struct klt_tracer *t, pid_t pid);
/* Lock members of a KVM object type (enum klt_obj) whose instances enter the default scope
 * with each new VM / vCPU (0 under --all, or before the kvm module's BTF was read). */
size_t klt_tracer_scope_locks(const struct klt_tracer *t, unsigned kind);
/* BPF-side counters (drops and activity), name/value pairs. */
size_t klt_tracer_counters(const struct klt_tracer *t, struct klt_counter *out, size_t max);
/* Per-program run count and run time (kernel.bpf_stats_enabled=1), one line per program with
 * runs: "prog NAME runs N ns N". For bench/bpf-cost.sh. */
void klt_tracer_prog_stats(const struct klt_tracer *t, FILE *f);
void klt_tracer_stop(struct klt_tracer *t);

/* The hook table (include/klt_hooks.h): its KVM functions and the static locks the default
 * scope watches, by index (NULL past the end). */
const char *klt_hook_kvm_function(size_t i);
const char *klt_watched_lock(size_t i);

/* /proc/kallsyms (or System.map) into a symtab: t/T as FUNC, d/D/b/B/r/R as DATA. `slide` is
 * added to every address (a System.map's link-time addresses + the KASLR offset). */
int klt_kallsyms_load(struct klt_symtab *st, const char *path, bool *has_data);
int klt_kallsyms_load_slid(struct klt_symtab *st, const char *path, int64_t slide, bool *has_data);

#endif
