/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Inside the live tracer (src/live only): the tracer's state and the functions its files share.
 * tracer.c: lifecycle; probe.c: features; kallsyms.c: kernel symbols; attach.c: attach policy
 * and order from the hook table (hooks.c); decode.c: ring-buffer records to recorded events.
 */
#ifndef KLT_TRACER_INT_H
#define KLT_TRACER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracer.h"

#define TRACEFS "/sys/kernel/tracing"
#define STACK_IDS 32768 /* = stacks map max_entries in bpf/state.bpf.h */
#define USTACK_IDS 4096	/* user stacks with the call site spliced in: ids STACK_IDS.. */

struct btf;
struct bpf_link;
struct ring_buffer;
struct klt_bpf;
struct klt_usym;

/* A lock member of a kernel object: its offset and its lockdep-style class name. */
struct obj_lock {
	uint32_t off;
	char name[64];
};

struct obj_layout {
	struct obj_lock *locks;
	size_t n, cap;
};

struct klt_tracer {
	struct klt_bpf *skel;
	struct ring_buffer *rb;
	struct klt_tracer_opts opts;
	struct klt_tracer_cbs cbs;
	enum klt_attach mode;
	struct klt_symtab *ksyms;   /* whole kallsyms */
	struct klt_symtab *emitted; /* symbols already handed to cbs.sym */
	struct klt_usym *usym;	    /* user-space symbolizer (--user) */
	struct bpf_link **links;
	size_t nlinks, links_cap;
	uint8_t *stack_seen;	    /* STACK_IDS + USTACK_IDS flags: handed to the recording */
	uint64_t *stack_site;	    /* STACK_IDS: first frame outside lock functions (0: none) */
	struct {
		int32_t bpf_id;
		uint64_t ip;
	} ustacks[USTACK_IDS];	    /* synthetic user stacks, id = STACK_IDS + index */
	size_t nustacks;
	char reason[256];	    /* why auto chose the mode */
	char attached[4096];
	char skipped[4096];
	int err;		    /* first callback error */
	uint64_t module_loads;	    /* BPF's module_loads when ksyms was read */
	bool kvm_at_start;	    /* the kvm module was loaded when the tracer started */
	uint8_t *deferred;	    /* per klt_prog_descs[]: loaded, attached when kvm loads */
	size_t ndeferred;
	char waiting[1024];	    /* hooks waiting for the kvm module (entry programs) */
	struct obj_layout objs[KLT_OBJ_MAX]; /* locks inside struct kvm / kvm_vcpu, from BTF */
	size_t scope_unnamed; /* lock members beyond KLT_OBJ_LOCKS: not in the default scope */
};

/* probe.c */
bool klt_path_exists(const char *p);
void klt_ensure_tracefs(void);
bool klt_kprobes_available(void);
/* libbpf's errors (e.g. -LIBBPF_ERRNO__FORMAT) have no strerror() text */
const char *klt_lerr(int err, char *buf, size_t len);

/* kallsyms.c: /proc/kallsyms plus --symbols (System.map or vmlinux, slid by KASLR) */
int klt_load_ksyms(struct klt_symtab *st, const char *symbols, char *msg, size_t msglen);

/* attach.c */
/* -EPROTO if the BPF object has a program the hook table does not describe */
int klt_configure_autoload(struct klt_tracer *t, const struct btf *vmlinux, const struct btf *kvm);
int klt_attach_user(struct klt_tracer *t, char *msg, size_t msglen);
int klt_attach_kernel(struct klt_tracer *t); /* hooks attached (not tracepoints) or -errno */
/* After a module load: attach the kvm module's hooks that waited for it (kprobes), watch its
 * locks, name the locks inside its objects. */
void klt_attach_late(struct klt_tracer *t);
void klt_watch_locks(struct klt_tracer *t);

/* decode.c */
void klt_load_layouts(struct klt_tracer *t, const struct btf *vmlinux, const struct btf *kvm);
void klt_reload_ksyms(struct klt_tracer *t);
void klt_module_check(struct klt_tracer *t);
void klt_load_layouts_late(struct klt_tracer *t);
void klt_scope_offsets(struct klt_tracer *t);
int klt_handle_record(void *ctx, void *data, size_t size); /* ring_buffer__new callback */

#endif
