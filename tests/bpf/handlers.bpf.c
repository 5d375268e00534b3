// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tracer's lock handlers (bpf/state.bpf.h, bpf/lockops.bpf.h) in raw_tp programs that
 * tests/bpf/handlers.c runs with BPF_PROG_TEST_RUN and whose ring buffer records it checks: the
 * records fentry/kprobe programs send on a real kernel, on a host that refuses those attach
 * types. Each program is one scenario of acquisitions by the test's own task; the lock
 * addresses are fake (the handlers only hash and compare them), the class name strings are
 * real kernel memory (this object's .rodata map), so announce() reads them as it reads a
 * kernel's.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "klt_abi.h"
#include "handlers-test.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_HELD 16

/* bpf/klt.bpf.c's knobs, fixed: everything in scope (--all), no task filtered; trace_all is
 * writable here (klt.bpf.c: read-only after load) so the scope scenarios can switch to the
 * default KVM/CPU-hotplug scope */
const volatile __u32 targ_tgid = 0;
const volatile __u32 self_tgid = 0;
bool trace_all = true;
const volatile __u64 cpu_hotplug_lock_addr = 0;
const volatile bool full_events = false;
const volatile __u64 rb_wake_bytes = 0;

#include "state.bpf.h"
#include "lockops.bpf.h"

/* the class names, as __mutex_init()'s callers pass them: string literals in kernel memory */
const char name_c[] = HT_NAME_C;
const char name_d[] = HT_NAME_D;
/* their addresses, read back as numbers (ht_setup) */
__u64 name_c_addr, name_d_addr;

/* Out of line, so the verifier checks each once (as bench/handler-cost.bpf.c explains). */
__noinline int ht_acquire(struct bpf_raw_tracepoint_args *ctx, __u64 lock)
{
	acq_enter(ctx, lock, KLT_LK_MUTEX, KLT_MODE_WRITE, IP_NONE, OP_BLOCK, false);
	return acq_exit(0, OP_BLOCK);
}

__noinline int ht_release(__u64 lock)
{
	return rel(lock, KLT_LK_MUTEX, false);
}

static __always_inline int round2(struct bpf_raw_tracepoint_args *ctx, __u64 a, __u64 b)
{
	ht_acquire(ctx, a);
	ht_acquire(ctx, b);
	ht_release(b);
	ht_release(a);
	return 0;
}

/* __mutex_init() of C, F, H (class C) and D (class D); G too, in class C */
SEC("raw_tp/ht_setup")
int ht_setup(void *ctx)
{
	__u64 nc, nd;

	/* stored and read back: the verifier allows no arithmetic (the handlers hash the name)
	 * on a map value pointer, but a value read from a map is a plain number */
	name_c_addr = (__u64)name_c;
	name_d_addr = (__u64)name_d;
	nc = *(volatile __u64 *)&name_c_addr;
	nd = *(volatile __u64 *)&name_d_addr;
	lock_init(HT_LOCK_C, nc, HT_KEY_C, KLT_LK_MUTEX);
	lock_init(HT_LOCK_D, nd, HT_KEY_D, KLT_LK_MUTEX);
	lock_init(HT_LOCK_F, nc, HT_KEY_C, KLT_LK_MUTEX);
	lock_init(HT_LOCK_G, nc, HT_KEY_C, KLT_LK_MUTEX);
	lock_init(HT_LOCK_H, nc, HT_KEY_C, KLT_LK_MUTEX);
	return 0;
}

/* A -> B: never initialized while tracing (identity = address) */
SEC("raw_tp/ht_known")
int ht_known(struct bpf_raw_tracepoint_args *ctx)
{
	return round2(ctx, HT_LOCK_A, HT_LOCK_B);
}

/* C -> D: two init-site classes */
SEC("raw_tp/ht_init")
int ht_init(struct bpf_raw_tracepoint_args *ctx)
{
	return round2(ctx, HT_LOCK_C, HT_LOCK_D);
}

/* F -> G: two instances of one class (nesting inside a class: instance keys) */
SEC("raw_tp/ht_same")
int ht_same(struct bpf_raw_tracepoint_args *ctx)
{
	return round2(ctx, HT_LOCK_F, HT_LOCK_G);
}

/* H -> D: another instance of class C before class D: the class pair is known */
SEC("raw_tp/ht_pair")
int ht_pair(struct bpf_raw_tracepoint_args *ctx)
{
	return round2(ctx, HT_LOCK_H, HT_LOCK_D);
}

/* C again while C is held (recursion on one instance: no order) */
SEC("raw_tp/ht_recurse")
int ht_recurse(struct bpf_raw_tracepoint_args *ctx)
{
	return round2(ctx, HT_LOCK_C, HT_LOCK_C);
}

/* G1, P, Q nested: each new edge but the first has another lock held WRITE (its guard) */
SEC("raw_tp/ht_guard")
int ht_guard(struct bpf_raw_tracepoint_args *ctx)
{
	ht_acquire(ctx, HT_LOCK_G1);
	ht_acquire(ctx, HT_LOCK_P);
	ht_acquire(ctx, HT_LOCK_Q);
	ht_release(HT_LOCK_Q);
	ht_release(HT_LOCK_P);
	ht_release(HT_LOCK_G1);
	return 0;
}

/* C re-initialized (a new instance at the same address), then C -> A */
SEC("raw_tp/ht_reinit")
int ht_reinit(struct bpf_raw_tracepoint_args *ctx)
{
	lock_init(HT_LOCK_C, *(volatile __u64 *)&name_c_addr, HT_KEY_C, KLT_LK_MUTEX);
	return round2(ctx, HT_LOCK_C, HT_LOCK_A);
}

/*
 * Inodes on a file system type "htfs", in memory the handlers read as a kernel's (this
 * object's .bss): lock_refine() follows inode->i_sb->s_type and reads i_mode. Sized
 * generously and written through CO-RE offsets, so the running kernel's layout fits.
 */
__u64 ht_fst_mem[64];
__u64 ht_sb_mem[512];
__u64 ht_inode_mem[HT_NINODE][512];
const char ht_fsname[] = HT_FSNAME;
const char name_i[] = HT_NAME_I;
__u64 ht_ilock[HT_NINODE], name_i_addr;

#define HT_AT(base, type, field) ((char *)(base) + bpf_core_field_offset(type, field))

SEC("raw_tp/ht_inode_setup")
int ht_inode_setup(void *ctx)
{
	*(const char **)HT_AT(ht_fst_mem, struct file_system_type, name) = ht_fsname;
	*(void **)HT_AT(ht_sb_mem, struct super_block, s_type) = ht_fst_mem;
	for (int i = 0; i < HT_NINODE; i++) {
		*(void **)HT_AT(ht_inode_mem[i], struct inode, i_sb) = ht_sb_mem;
		*(__u16 *)HT_AT(ht_inode_mem[i], struct inode, i_mode) =
			i == HT_DIR1 || i == HT_DIR2 ? 0040755 : 0100644;
		ht_ilock[i] = (__u64)HT_AT(ht_inode_mem[i], struct inode, i_rwsem);
	}
	name_i_addr = (__u64)name_i;
	for (int i = 0; i < HT_NINODE; i++)
		lock_init(*(volatile __u64 *)&ht_ilock[i], *(volatile __u64 *)&name_i_addr, HT_KEY_I,
			  KLT_LK_RWSEM);
	return 0;
}

/* directory 1 -> file 1 */
SEC("raw_tp/ht_inode")
int ht_inode(struct bpf_raw_tracepoint_args *ctx)
{
	return round2(ctx, *(volatile __u64 *)&ht_ilock[HT_DIR1],
		      *(volatile __u64 *)&ht_ilock[HT_FILE1]);
}

/* directory 2 -> file 2: the class pair (directory, file) of htfs is known */
SEC("raw_tp/ht_inode_pair")
int ht_inode_pair(struct bpf_raw_tracepoint_args *ctx)
{
	return round2(ctx, *(volatile __u64 *)&ht_ilock[HT_DIR2],
		      *(volatile __u64 *)&ht_ilock[HT_FILE2]);
}

/*
 * The default scope (trace_all off from here on): a watched lock W (watch_tab), a VM object at
 * HT_OBJ whose locks at +HT_OFF1 and +HT_OFF2 enter the scope table when it is created and
 * leave it when it is destroyed, as the OBJ hooks do (scope_update).
 */
SEC("raw_tp/ht_scope_setup")
int ht_scope_setup(void *ctx)
{
	trace_all = false;
	watch_tab[klt_watch_slot(HT_LOCK_W, 0)] = HT_LOCK_W;
	obj_lock_off[KLT_OBJ_KVM][0] = HT_OFF1;
	obj_lock_off[KLT_OBJ_KVM][1] = HT_OFF2;
	obj_lock_n[KLT_OBJ_KVM] = 2;
	return 0;
}

/* E1 -> E2 -> E3, none watched or in scope, nothing held: not followed */
SEC("raw_tp/ht_scope_out")
int ht_scope_out(struct bpf_raw_tracepoint_args *ctx)
{
	ht_acquire(ctx, HT_LOCK_E1);
	ht_acquire(ctx, HT_LOCK_E2);
	ht_acquire(ctx, HT_LOCK_E3);
	ht_release(HT_LOCK_E3);
	ht_release(HT_LOCK_E2);
	ht_release(HT_LOCK_E1);
	return 0;
}

SEC("raw_tp/ht_scope_vm_new")
int ht_scope_vm_new(void *ctx)
{
	scope_update(HT_OBJ, KLT_OBJ_KVM, true);
	return 0;
}

SEC("raw_tp/ht_scope_vm_gone")
int ht_scope_vm_gone(void *ctx)
{
	scope_update(HT_OBJ, KLT_OBJ_KVM, false);
	return 0;
}

/* the VM's first lock, then E1, then its second lock; the same task, as a vCPU ioctl does */
SEC("raw_tp/ht_scope_in")
int ht_scope_in(struct bpf_raw_tracepoint_args *ctx)
{
	ht_acquire(ctx, HT_OBJ + HT_OFF1);
	ht_acquire(ctx, HT_LOCK_E1);
	ht_acquire(ctx, HT_OBJ + HT_OFF2);
	ht_release(HT_OBJ + HT_OFF2);
	ht_release(HT_LOCK_E1);
	ht_release(HT_OBJ + HT_OFF1);
	return 0;
}

/* after the VM is gone: its first lock, then E3 (a pair never sent) */
SEC("raw_tp/ht_scope_after")
int ht_scope_after(struct bpf_raw_tracepoint_args *ctx)
{
	return round2(ctx, HT_OBJ + HT_OFF1, HT_LOCK_E3);
}

/* W (watched), then E2: full events for W, an EDGE for E2 */
SEC("raw_tp/ht_scope_watched")
int ht_scope_watched(struct bpf_raw_tracepoint_args *ctx)
{
	return round2(ctx, HT_LOCK_W, HT_LOCK_E2);
}
