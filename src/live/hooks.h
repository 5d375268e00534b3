/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The hook table (include/klt_hooks.h) as userspace reads it: one descriptor per BPF program,
 * expanded from the same rows that generate the programs in bpf/hooks.bpf.h.
 */
#ifndef KLT_LIVE_HOOKS_H
#define KLT_LIVE_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_program;
struct klt_bpf;

enum klt_prog_type {
	KLT_PT_FENTRY,
	KLT_PT_FEXIT,
	KLT_PT_KPROBE,
	KLT_PT_KRETPROBE,
	KLT_PT_KPROBE_KVM,    /* kprobe on "kvm:fn" (module-qualified) */
	KLT_PT_KRETPROBE_KVM,
	KLT_PT_TRACEPOINT,
	KLT_PT_UPROBE,
	KLT_PT_URETPROBE,
};

struct klt_prog_desc {
	size_t skel_off;	 /* offset of the program's pointer in struct klt_bpf */
	const char *fn;		 /* function hooked (tracepoints: the row's name) */
	enum klt_prog_type type;
	bool undoes;		 /* undoes state (exit, return, release): attached first */
	bool kvm;		 /* a hook in the kvm module, which may load after the tracer */
};

extern const struct klt_prog_desc klt_prog_descs[];
extern const size_t klt_nprog_descs;

struct bpf_program *klt_prog_of(const struct klt_bpf *skel, const struct klt_prog_desc *d);
/* The hook's entry program (named in the attached and skipped lists). */
bool klt_prog_is_entry(const struct klt_prog_desc *d);
/* Frames in functions the hooks are on (and lock internals, the tracer's own frames) are not
 * call sites. */
bool klt_is_lock_function(const char *name);

#endif
