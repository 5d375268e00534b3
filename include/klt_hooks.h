/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The hook table: every function, tracepoint and libc call the tracer hooks, once.
 *
 * An X-macro list read by both sides:
 *  - bpf/klt.bpf.c expands each row into its wrapper programs (fe_/fx_/kp_/kr_ for kernel
 *    functions, kq_/kqr_ for module-qualified kprobes, tp_ for tracepoints, up_/ur_ for libc);
 *  - src/live/hooks.c expands each row into program descriptors (which skeleton program, the
 *    function or event it hooks, its attach type, whether it undoes state) that drive attach
 *    policy, attach order, the attached/skipped lists, `features` and the frames that are lock
 *    functions rather than call sites.
 * A program's role is never derived from its name: it is the row that generated it.
 *
 * Row: X(ROLE, name, a, b, c). ROLE says which programs the row generates and what they do:
 *   ACQ(fn, kind, mode, op)    acquire: entry (fe_, kp_) + exit (fx_, kr_) programs; op is
 *                              BLOCK, BLOCK_RET0 (acquired iff 0) or TRY (acquired iff 1)
 *   ENTRY(fn, kind, mode, op)  acquire seen at entry only (fe_, kp_): op SRCU_READ or SYNC
 *   REL(fn, kind, srcu)        release (fe_, kp_); srcu: 1 if it ends an SRCU read section
 *   DOWNGRADE(fn)              downgrade_write: the held entry becomes a read hold (fe_, kp_)
 *   HP_ACQ(fn) / HP_REL(fn)    cpus_read_lock/unlock: cpu_hotplug_lock, which they do not take
 *                              as an argument (HP_ACQ: fe_ fx_ kp_ kr_; HP_REL: fe_ kp_)
 *   HOLD_HOTPLUG(fn)           the body holds cpu_hotplug_lock for read (fe_ fx_ kp_ kr_)
 *   NEST_TAKE(fn) / NEST_DROP  mm_take_all_locks / mm_drop_all_locks section (NEST_DROP: fx_ kr_)
 *   FUNC(fn)                   a KVM function: entry/exit events (fe_ fx_ kp_ kr_)
 *   OBJ(fn, obj)               a KVM function handed a new object (enum klt_obj) (fe_, kp_)
 *   INIT(fn, kind)             a lock initializer fn(lock, name, key): a new instance of the
 *                              class the kernel names even without lockdep (fe_, kp_)
 *   KVM_PM(fn, phase)          kvm module's syscore hook, a suspend phase (kq_, kqr_, attached
 *                              as "kvm:fn": vmlinux may have a function of the same name)
 *   TP(name, cat, event, undo) tracepoint cat/event, program tp_<name>; undo: 1 if it ends state
 *   UACQ(fn, kind, mode, op)   libc acquire (up_, ur_); UREL(fn, kind) libc release (up_);
 *   UDESTROY(fn)               libc destroy: the next lock at that address is another (up_)
 *
 * Programs that undo state (exit/return programs, releases, cpuhp_exit, sched_process_exit) are
 * attached before those that create it, so a hold taken while attaching always has its release.
 * Row order is the order hooks are listed in "hooks attached:".
 */
#ifndef KLT_HOOKS_H
#define KLT_HOOKS_H

#define KLT_HOOKS(X)                                                                          \
	X(ACQ, mutex_lock, KLT_LK_MUTEX, KLT_MODE_WRITE, BLOCK)                               \
	X(ACQ, mutex_lock_io, KLT_LK_MUTEX, KLT_MODE_WRITE, BLOCK)                            \
	X(ACQ, mutex_lock_interruptible, KLT_LK_MUTEX, KLT_MODE_WRITE, BLOCK_RET0)            \
	X(ACQ, mutex_lock_killable, KLT_LK_MUTEX, KLT_MODE_WRITE, BLOCK_RET0)                 \
	X(ACQ, mutex_lock_nested, KLT_LK_MUTEX, KLT_MODE_WRITE, BLOCK)                        \
	X(ACQ, mutex_lock_interruptible_nested, KLT_LK_MUTEX, KLT_MODE_WRITE, BLOCK_RET0)     \
	X(ACQ, mutex_lock_killable_nested, KLT_LK_MUTEX, KLT_MODE_WRITE, BLOCK_RET0)          \
	X(ACQ, mutex_trylock, KLT_LK_MUTEX, KLT_MODE_WRITE, TRY)                              \
	X(REL, mutex_unlock, KLT_LK_MUTEX, 0, 0)                                              \
	X(ACQ, down_read, KLT_LK_RWSEM, KLT_MODE_READ, BLOCK)                                 \
	X(ACQ, down_read_killable, KLT_LK_RWSEM, KLT_MODE_READ, BLOCK_RET0)                   \
	X(ACQ, down_read_interruptible, KLT_LK_RWSEM, KLT_MODE_READ, BLOCK_RET0)              \
	X(ACQ, down_read_trylock, KLT_LK_RWSEM, KLT_MODE_READ, TRY)                           \
	X(ACQ, down_write, KLT_LK_RWSEM, KLT_MODE_WRITE, BLOCK)                               \
	X(ACQ, down_write_killable, KLT_LK_RWSEM, KLT_MODE_WRITE, BLOCK_RET0)                 \
	X(ACQ, down_write_trylock, KLT_LK_RWSEM, KLT_MODE_WRITE, TRY)                         \
	X(REL, up_read, KLT_LK_RWSEM, 0, 0)                                                   \
	X(REL, up_write, KLT_LK_RWSEM, 0, 0)                                                  \
	X(ACQ, percpu_down_write, KLT_LK_PERCPU_RWSEM, KLT_MODE_WRITE, BLOCK)                 \
	X(REL, percpu_up_write, KLT_LK_PERCPU_RWSEM, 0, 0)                                    \
	X(ENTRY, __srcu_read_lock, KLT_LK_SRCU, KLT_MODE_RREAD, SRCU_READ)                    \
	X(REL, __srcu_read_unlock, KLT_LK_SRCU, 1, 0)                                         \
	X(ENTRY, synchronize_srcu, KLT_LK_SRCU, KLT_MODE_WRITE, SYNC)                         \
	X(ENTRY, synchronize_srcu_expedited, KLT_LK_SRCU, KLT_MODE_WRITE, SYNC)               \
	X(DOWNGRADE, downgrade_write, 0, 0, 0)                                                \
	/* lock initializers: lockdep's class key and name, which every kernel passes */       \
	X(INIT, __mutex_init, KLT_LK_MUTEX, 0, 0)                                             \
	X(INIT, __init_rwsem, KLT_LK_RWSEM, 0, 0)                                             \
	X(INIT, __percpu_init_rwsem, KLT_LK_PERCPU_RWSEM, 0, 0)                               \
	X(HOLD_HOTPLUG, __cpuhp_setup_state, 0, 0, 0)                                         \
	X(HOLD_HOTPLUG, __cpuhp_remove_state, 0, 0, 0)                                        \
	X(HOLD_HOTPLUG, __cpuhp_state_add_instance, 0, 0, 0)                                  \
	X(HOLD_HOTPLUG, __cpuhp_state_remove_instance, 0, 0, 0)                               \
	X(NEST_TAKE, mm_take_all_locks, 0, 0, 0)                                              \
	X(NEST_DROP, mm_drop_all_locks, 0, 0, 0)                                              \
	X(HP_ACQ, cpus_read_lock, 0, 0, 0)                                                    \
	X(HP_REL, cpus_read_unlock, 0, 0, 0)                                                  \
	X(UACQ, pthread_mutex_lock, KLT_LK_PTHREAD_MUTEX, KLT_MODE_WRITE, BLOCK_RET0)         \
	X(UACQ, pthread_mutex_trylock, KLT_LK_PTHREAD_MUTEX, KLT_MODE_WRITE, TRY)             \
	X(UACQ, pthread_rwlock_rdlock, KLT_LK_PTHREAD_RWLOCK, KLT_MODE_RREAD, BLOCK_RET0)     \
	X(UACQ, pthread_rwlock_wrlock, KLT_LK_PTHREAD_RWLOCK, KLT_MODE_WRITE, BLOCK_RET0)     \
	X(UACQ, pthread_rwlock_tryrdlock, KLT_LK_PTHREAD_RWLOCK, KLT_MODE_RREAD, TRY)         \
	X(UACQ, pthread_rwlock_trywrlock, KLT_LK_PTHREAD_RWLOCK, KLT_MODE_WRITE, TRY)         \
	X(UREL, pthread_mutex_unlock, KLT_LK_PTHREAD_MUTEX, 0, 0)                             \
	X(UREL, pthread_rwlock_unlock, KLT_LK_PTHREAD_RWLOCK, 0, 0)                           \
	X(UDESTROY, pthread_mutex_destroy, 0, 0, 0)                                           \
	X(UDESTROY, pthread_rwlock_destroy, 0, 0, 0)                                          \
	/* KVM functions: names differ across versions, the kernel's own ones are loaded */   \
	X(FUNC, kvm_online_cpu, 0, 0, 0)                                                      \
	X(FUNC, kvm_offline_cpu, 0, 0, 0)                                                     \
	X(FUNC, kvm_starting_cpu, 0, 0, 0)                                                    \
	X(FUNC, kvm_dying_cpu, 0, 0, 0)                                                       \
	X(FUNC, hardware_enable_all, 0, 0, 0)                                                 \
	X(FUNC, hardware_disable_all, 0, 0, 0)                                                \
	X(FUNC, kvm_enable_virtualization, 0, 0, 0)                                           \
	X(FUNC, kvm_disable_virtualization, 0, 0, 0)                                          \
	X(FUNC, hardware_enable_nolock, 0, 0, 0)                                              \
	X(FUNC, kvm_enable_virtualization_cpu, 0, 0, 0)                                       \
	/* kvm_create_vm() initializes the VM's locks, then calls kvm_arch_init_vm(kvm, type); \
	 * kvm_vm_ioctl_create_vcpu() calls kvm_arch_vcpu_create(vcpu) after kvm_vcpu_init() */ \
	X(OBJ, kvm_arch_init_vm, KLT_OBJ_KVM, 0, 0)                                           \
	X(OBJ, kvm_arch_vcpu_create, KLT_OBJ_VCPU, 0, 0)                                      \
	/* ... and their destruction: their locks leave the default scope (KLT_OBJ_GONE) */    \
	X(OBJ, kvm_arch_destroy_vm, KLT_OBJ_KVM | KLT_OBJ_GONE, 0, 0)                         \
	X(OBJ, kvm_arch_vcpu_destroy, KLT_OBJ_VCPU | KLT_OBJ_GONE, 0, 0)                      \
	X(KVM_PM, kvm_suspend, KLT_PM_KVM_SUSPEND, 0, 0)                                      \
	X(KVM_PM, kvm_resume, KLT_PM_KVM_RESUME, 0, 0)                                        \
	/* tracepoints: available on every kernel, the degraded mode's whole view */           \
	X(TP, cpuhp_enter, cpuhp, cpuhp_enter, 0)                                             \
	X(TP, cpuhp_multi_enter, cpuhp, cpuhp_multi_enter, 0)                                 \
	X(TP, cpuhp_exit, cpuhp, cpuhp_exit, 1)                                               \
	X(TP, contention_begin, lock, contention_begin, 0)                                    \
	X(TP, contention_end, lock, contention_end, 0)                                        \
	X(TP, suspend_resume, power, suspend_resume, 0)                                       \
	X(TP, module_load, module, module_load, 0)                                            \
	X(TP, sched_exit, sched, sched_process_exit, 1)

/* Static locks the default scope watches (every acquire/release reported; missing ones are
 * skipped). */
#define KLT_WATCHED_LOCKS(X) X(cpu_hotplug_lock) X(kvm_lock) X(kvm_usage_lock) X(kvm_count_lock)

#endif /* KLT_HOOKS_H */
