// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The hook table (include/klt_hooks.h) expanded for userspace: program descriptors, lock
 * functions, KVM functions and watched locks. */
#include <stddef.h>
#include <string.h>

#include "klt.skel.h"
#include "klt_hooks.h"
#include "hooks.h"
#include "tracer.h"

#define PROGK(name, fn, type, undoes, kvm)                                                      \
	{ offsetof(struct klt_bpf, progs.name), #fn, type, undoes, kvm },
#define PROG(name, fn, type, undoes) PROGK(name, fn, type, undoes, false)
#define FOURK(fn, kvm)                                                                          \
	PROGK(fe_##fn, fn, KLT_PT_FENTRY, false, kvm) PROGK(fx_##fn, fn, KLT_PT_FEXIT, true, kvm) \
	PROGK(kp_##fn, fn, KLT_PT_KPROBE, false, kvm) PROGK(kr_##fn, fn, KLT_PT_KRETPROBE, true, kvm)
#define FOUR(fn) FOURK(fn, false)
#define PAIRK(fn, undoes, kvm)                                                                  \
	PROGK(fe_##fn, fn, KLT_PT_FENTRY, undoes, kvm) PROGK(kp_##fn, fn, KLT_PT_KPROBE, undoes, kvm)
#define PAIR(fn, undoes) PAIRK(fn, undoes, false)

/* Which programs each role generates (bpf/hooks.bpf.h) and which of them undo state. */
#define D_ACQ(fn, a, b, c)	   FOUR(fn)
#define D_ENTRY(fn, a, b, c)	   PAIR(fn, false)
#define D_REL(fn, a, b, c)	   PAIR(fn, true)
#define D_DOWNGRADE(fn, a, b, c)   PAIR(fn, true)
#define D_HP_ACQ(fn, a, b, c)	   FOUR(fn)
#define D_HP_REL(fn, a, b, c)	   PAIR(fn, true)
#define D_HOLD_HOTPLUG(fn, a, b, c) FOUR(fn)
#define D_NEST_TAKE(fn, a, b, c)   FOUR(fn)
#define D_NEST_DROP(fn, a, b, c)                                                                \
	PROG(fx_##fn, fn, KLT_PT_FEXIT, true) PROG(kr_##fn, fn, KLT_PT_KRETPROBE, true)
/* KVM rows hook the kvm module (kvm.ko), which may load after the tracer starts */
#define D_FUNC(fn, a, b, c)	   FOURK(fn, true)
/* an object's destruction (KLT_OBJ_GONE) undoes its creation's scope entries */
#define D_OBJ(fn, a, b, c)	   PAIRK(fn, ((a) & KLT_OBJ_GONE) != 0, true)
#define D_INIT(fn, a, b, c)	   PAIR(fn, false)
#define D_KVM_PM(fn, a, b, c)                                                                   \
	PROGK(kq_##fn, fn, KLT_PT_KPROBE_KVM, false, true)                                      \
	PROGK(kqr_##fn, fn, KLT_PT_KRETPROBE_KVM, true, true)
#define D_TP(name, cat, event, undo) PROG(tp_##name, name, KLT_PT_TRACEPOINT, undo)
#define D_UACQ(fn, a, b, c)                                                                     \
	PROG(up_##fn, fn, KLT_PT_UPROBE, false) PROG(ur_##fn, fn, KLT_PT_URETPROBE, true)
#define D_UREL(fn, a, b, c)	   PROG(up_##fn, fn, KLT_PT_UPROBE, true)
#define D_UDESTROY(fn, a, b, c)	   PROG(up_##fn, fn, KLT_PT_UPROBE, false)
#define DESC(role, name, a, b, c)  D_##role(name, a, b, c)

const struct klt_prog_desc klt_prog_descs[] = { KLT_HOOKS(DESC) };
const size_t klt_nprog_descs = sizeof(klt_prog_descs) / sizeof(klt_prog_descs[0]);

struct bpf_program *klt_prog_of(const struct klt_bpf *skel, const struct klt_prog_desc *d)
{
	return *(struct bpf_program *const *)((const char *)skel + d->skel_off);
}

bool klt_prog_is_entry(const struct klt_prog_desc *d)
{
	switch (d->type) {
	case KLT_PT_FENTRY:
	case KLT_PT_KPROBE:
	case KLT_PT_KPROBE_KVM:
	case KLT_PT_TRACEPOINT:
	case KLT_PT_UPROBE:
		return true;
	default:
		return false;
	}
}

/* Rows whose function takes or releases a lock: the lock functions of the table. */
#define LF_ACQ(fn)	 #fn,
#define LF_ENTRY(fn)	 #fn,
#define LF_REL(fn)	 #fn,
#define LF_DOWNGRADE(fn) #fn,
#define LF_HP_ACQ(fn)	 #fn,
#define LF_HP_REL(fn)	 #fn,
#define LF_UACQ(fn)	 #fn,
#define LF_UREL(fn)	 #fn,
#define LF_HOLD_HOTPLUG(fn)
#define LF_NEST_TAKE(fn)
#define LF_NEST_DROP(fn)
#define LF_FUNC(fn)
#define LF_OBJ(fn)
#define LF_INIT(fn)
#define LF_KVM_PM(fn)
#define LF_TP(fn)
#define LF_UDESTROY(fn)
#define LOCK_FN(role, name, a, b, c) LF_##role(name)

bool klt_is_lock_function(const char *name)
{
	static const char *const hooked[] = { KLT_HOOKS(LOCK_FN) };
	/* Prefixes beyond the hooked functions: variants and slow paths of the same locks
	 * (inlined copies, glibc's internal names), and the tracer's own frames. */
	static const char *const pfx[] = {
		"percpu_down", "percpu_up", "cpus_read_", "__srcu_read", "bpf_trampoline",
		"__bpf_prog", "bpf_prog_", "__mutex_lock", "rwsem_", "__down_", "pthread_mutex_",
		"pthread_rwlock_", "__pfx_", "ftrace_", "kretprobe_", "__kretprobe", "arch_rethook",
		"rethook", "___pthread_mutex_", "__pthread_mutex_", "__pthread_rwlock_",
		"___pthread_rwlock_",
	};

	for (size_t i = 0; i < sizeof(hooked) / sizeof(hooked[0]); i++)
		if (!strncmp(name, hooked[i], strlen(hooked[i])))
			return true;
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (!strncmp(name, pfx[i], strlen(pfx[i])))
			return true;
	return false;
}

/* KVM functions of the table: FUNC and KVM_PM rows. */
#define KF_FUNC(fn)   #fn,
#define KF_KVM_PM(fn) #fn,
#define KF_ACQ(fn)
#define KF_ENTRY(fn)
#define KF_REL(fn)
#define KF_DOWNGRADE(fn)
#define KF_HP_ACQ(fn)
#define KF_HP_REL(fn)
#define KF_HOLD_HOTPLUG(fn)
#define KF_NEST_TAKE(fn)
#define KF_NEST_DROP(fn)
#define KF_OBJ(fn)
#define KF_INIT(fn)
#define KF_TP(fn)
#define KF_UACQ(fn)
#define KF_UREL(fn)
#define KF_UDESTROY(fn)
#define KVM_FN(role, name, a, b, c) KF_##role(name)

const char *klt_hook_kvm_function(size_t i)
{
	static const char *const fns[] = { KLT_HOOKS(KVM_FN) };

	return i < sizeof(fns) / sizeof(fns[0]) ? fns[i] : NULL;
}

#define WATCHED(name) #name,

const char *klt_watched_lock(size_t i)
{
	static const char *const locks[] = { KLT_WATCHED_LOCKS(WATCHED) };

	return i < sizeof(locks) / sizeof(locks[0]) ? locks[i] : NULL;
}
