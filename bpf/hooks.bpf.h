/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Part of bpf/klt.bpf.c: the programs, generated from the hook table (include/klt_hooks.h),
 * one thin wrapper per attach type around the shared bodies (lockops.bpf.h, events.bpf.h).
 * Program names (fe_, fx_, kp_, kr_, kq_, kqr_, tp_, up_, ur_ + the row's name) are what
 * bpftool shows; userspace never derives a program's role from them (src/live/hooks.c expands
 * the same rows). The call site of fentry-traced calls is taken from the captured stack in
 * userspace (IP_NONE); kprobes read the return address at entry (IP_KPROBE).
 */
#include "klt_hooks.h"

/*
 * The two shapes of a kernel row, fentry + kprobe for entry and, for FOUR, fexit + kretprobe
 * for the return. ENTER(ptr, num, ipsrc, a, b, c) gets the first argument twice: `ptr` as the
 * program declares it (a typed pointer under fentry, which the verifier forbids hashing) and
 * `num` as a plain number (bpf_get_func_arg under fentry); LEAVE(ret, a, b, c) gets the return
 * value as ret_t (FX_RET: `ret`, or 0 where the fexit prototype's return is not read). A body
 * that does not use an argument generates no read of it.
 */
#define KLT_BPF_PAIR(fn, a, b, c, ENTER)                                                       \
	SEC("fentry/" #fn)                                                                     \
	int BPF_PROG(fe_##fn, void *arg0)                                                      \
	{                                                                                      \
		return ENTER(arg0, fentry_arg0(ctx), IP_NONE, a, b, c);                        \
	}                                                                                      \
	SEC("kprobe/" #fn)                                                                     \
	int BPF_KPROBE(kp_##fn, void *arg0)                                                    \
	{                                                                                      \
		return ENTER(arg0, (__u64)arg0, IP_KPROBE, a, b, c);                           \
	}

#define KLT_BPF_FOUR(fn, a, b, c, ENTER, LEAVE, ret_t, FX_RET)                                 \
	KLT_BPF_PAIR(fn, a, b, c, ENTER)                                                       \
	SEC("fexit/" #fn)                                                                      \
	int BPF_PROG(fx_##fn, void *arg0, ret_t ret)                                           \
	{                                                                                      \
		return LEAVE(FX_RET, a, b, c);                                                 \
	}                                                                                      \
	SEC("kretprobe/" #fn)                                                                  \
	int BPF_KRETPROBE(kr_##fn, ret_t ret)                                                  \
	{                                                                                      \
		return LEAVE(ret, a, b, c);                                                    \
	}

/* cpu_hotplug_lock, which cpus_read_lock() and the cpuhp state API do not take as an argument */
#define HP_LOCK cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM

#define ACQ_ENTER(ptr, num, ip, kind, mode, op) acq_enter(ctx, num, kind, mode, ip, OP_##op, false)
#define ACQ_LEAVE(ret, kind, mode, op)		acq_exit(ret, OP_##op)
#define REL_ENTER(ptr, num, ip, kind, srcu, _)	rel((__u64)ptr, kind, srcu)
#define DOWNGRADE_ENTER(ptr, num, ip, a, b, c)	downgrade((__u64)ptr)
#define OBJ_ENTER(ptr, num, ip, obj, b, c)	obj_ev(ctx, ptr, num, obj)
#define FUNC_ENTER(ptr, num, ip, a, b, c)	func_ev(ctx, KLT_EV_FUNC_ENTER, 0)
#define FUNC_LEAVE(ret, a, b, c)		func_ev(ctx, KLT_EV_FUNC_EXIT, ret)
#define HP_ENTER(ptr, num, ip, a, b, op)                                                       \
	acq_enter(ctx, HP_LOCK, KLT_MODE_READ, ip, OP_##op, false)
#define HP_ACQ_LEAVE(ret, a, b, c)		acq_exit(0, OP_BLOCK)
#define HP_REL_ENTER(ptr, num, ip, a, b, c)	rel(HP_LOCK, false)
#define HP_REL_LEAVE(ret, a, b, c)		rel(HP_LOCK, false)
#define NEST_TAKE_ENTER(ptr, num, ip, a, b, c)	nest_set(NEST_NONE, NEST_TAKING)
#define NEST_TAKE_LEAVE(ret, a, b, c)		nest_set(NEST_TAKING, ret ? NEST_NONE : NEST_HELD)
#define NEST_DROP_LEAVE(ret, a, b, c)		nest_set(NEST_NONE, NEST_NONE)

#define KLT_BPF_ACQ(fn, kind, mode, op) KLT_BPF_FOUR(fn, kind, mode, op, ACQ_ENTER, ACQ_LEAVE, long, ret)
/* srcu_read_lock and synchronize_srcu: entry only (no completion to wait for). */
#define KLT_BPF_ENTRY(fn, kind, mode, op) KLT_BPF_PAIR(fn, kind, mode, op, ACQ_ENTER)
#define KLT_BPF_REL(fn, kind, srcu, c)	  KLT_BPF_PAIR(fn, kind, srcu, c, REL_ENTER)
#define KLT_BPF_DOWNGRADE(fn, a, b, c)	  KLT_BPF_PAIR(fn, a, b, c, DOWNGRADE_ENTER)
#define KLT_BPF_OBJ(fn, obj, b, c)	  KLT_BPF_PAIR(fn, obj, b, c, OBJ_ENTER)
/* Lock initializers fn(lock, name, key): the three arguments as plain numbers. */
#define KLT_BPF_INIT(fn, kind, b, c)                                                           \
	SEC("fentry/" #fn)                                                                     \
	int BPF_PROG(fe_##fn)                                                                  \
	{                                                                                      \
		__u64 lock = 0, name = 0, key = 0;                                             \
                                                                                               \
		bpf_get_func_arg(ctx, 0, &lock);                                               \
		bpf_get_func_arg(ctx, 1, &name);                                               \
		bpf_get_func_arg(ctx, 2, &key);                                                \
		return lock_init(lock, name, key, kind);                                       \
	}                                                                                      \
	SEC("kprobe/" #fn)                                                                     \
	int BPF_KPROBE(kp_##fn, void *lock, void *name, void *key)                             \
	{                                                                                      \
		return lock_init((__u64)lock, (__u64)name, (__u64)key, kind);                  \
	}
/* KVM functions: prototypes differ (void or int): fexit does not read the return value. */
#define KLT_BPF_FUNC(fn, a, b, c) KLT_BPF_FOUR(fn, a, b, c, FUNC_ENTER, FUNC_LEAVE, long, 0)
/* cpus_read_lock()/cpus_read_unlock() take no argument: the lock is cpu_hotplug_lock. */
#define KLT_BPF_HP_ACQ(fn, a, b, c)                                                            \
	KLT_BPF_FOUR(fn, a, b, BLOCK, HP_ENTER, HP_ACQ_LEAVE, long, 0)
#define KLT_BPF_HP_REL(fn, a, b, c) KLT_BPF_PAIR(fn, a, b, c, HP_REL_ENTER)
/*
 * kernel/cpu.c inlines cpus_read_lock() into its own functions, so calls from there never reach
 * the hooks above. The cpuhp state API (used by KVM since 6.12 under kvm_usage_lock) holds
 * cpu_hotplug_lock for read around its body: model the body as the read hold.
 */
#define KLT_BPF_HOLD_HOTPLUG(fn, a, b, c)                                                      \
	KLT_BPF_FOUR(fn, a, b, HOLD, HP_ENTER, HP_REL_LEAVE, long, 0)
/* take: entry starts the section; a failed take (-EINTR) has dropped the locks already */
#define KLT_BPF_NEST_TAKE(fn, a, b, c)                                                         \
	KLT_BPF_FOUR(fn, a, b, c, NEST_TAKE_ENTER, NEST_TAKE_LEAVE, int, ret)

#define KLT_BPF_NEST_DROP(fn, a, b, c)                                                         \
	SEC("fexit/" #fn)                                                                      \
	int BPF_PROG(fx_##fn)                                                                  \
	{                                                                                      \
		return NEST_DROP_LEAVE(0, a, b, c);                                            \
	}                                                                                      \
	SEC("kretprobe/" #fn)                                                                  \
	int BPF_KRETPROBE(kr_##fn)                                                             \
	{                                                                                      \
		return NEST_DROP_LEAVE(0, a, b, c);                                            \
	}

/* Module-qualified kprobes (vmlinux has a paravirt kvm_suspend too): attached by userspace. */
#define KLT_BPF_KVM_PM(fn, phase, b, c)                                                        \
	SEC("kprobe")                                                                          \
	int BPF_KPROBE(kq_##fn)                                                                \
	{                                                                                      \
		return pm_ev(KLT_EV_PM_BEGIN, phase);                                          \
	}                                                                                      \
	SEC("kretprobe")                                                                       \
	int BPF_KRETPROBE(kqr_##fn)                                                            \
	{                                                                                      \
		return pm_ev(KLT_EV_PM_END, phase);                                            \
	}

#define KLT_BPF_TP(name, cat, event, undo)                                                     \
	SEC("tracepoint/" #cat "/" #event)                                                     \
	int tp_##name(void *ctx)                                                               \
	{                                                                                      \
		return on_##name(ctx);                                                         \
	}

/* User-space locks (glibc), attached by userspace to the traced binary's libc. */
#define KLT_BPF_UPROBE(fn, call)                                                               \
	SEC("uprobe")                                                                          \
	int BPF_KPROBE(up_##fn, void *lock)                                                    \
	{                                                                                      \
		return call;                                                                   \
	}

#define KLT_BPF_UACQ(fn, kind, mode, op)                                                       \
	KLT_BPF_UPROBE(fn, acq_enter(ctx, user_key((__u64)lock), kind, mode, IP_UPROBE,        \
				     OP_##op, true))                                           \
	SEC("uretprobe")                                                                       \
	int BPF_KRETPROBE(ur_##fn, long ret)                                                   \
	{                                                                                      \
		/* pthread calls return 0 on success; trylock's EBUSY means not acquired */   \
		return OP_##op == OP_TRY ? acq_exit(ret == 0, OP_TRY) :                        \
					   acq_exit(ret, OP_BLOCK_RET0);                       \
	}
#define KLT_BPF_UREL(fn, kind, b, c)	KLT_BPF_UPROBE(fn, rel(user_key((__u64)lock), kind, false))
#define KLT_BPF_UDESTROY(fn, a, b, c)	KLT_BPF_UPROBE(fn, user_destroy((__u64)lock))

#define KLT_BPF_ROW(role, name, a, b, c) KLT_BPF_##role(name, a, b, c)
KLT_HOOKS(KLT_BPF_ROW)
