/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kvmlocktrace ABI shared by the BPF programs and userspace.
 *
 * Fixed-width fields only, every record tagged by its first field, sizes asserted.
 * The same struct klt_event is what the BPF side writes to the ring buffer, what the
 * trace file stores (little-endian) and what the lock-graph engine consumes.
 */
#ifndef KLT_ABI_H
#define KLT_ABI_H

#ifdef __KLT_BPF__
/* BPF side: types come from vmlinux.h */
#else
#include <linux/types.h>
#endif

#define KLT_COMM_LEN 16
#define KLT_MAX_STACK_DEPTH 32	/* frames kept per captured stack */
#define KLT_NO_STACK (-1)

/*
 * x86-64: the kernel half of the address space begins here (lower half: user, upper: kernel,
 * with or without 5-level paging). Every "kernel or user address?" test uses this one helper.
 */
#define KLT_KERNEL_ADDR_MIN 0xffff800000000000ULL
#ifndef __KLT_BPF__
static inline int klt_is_kernel_addr(__u64 addr)
{
	return addr >= KLT_KERNEL_ADDR_MIN;
}
#endif

/* Event type: the record's tag. Values are part of the trace-file format: append only. */
enum klt_ev_type {
	KLT_EV_NONE = 0,
	KLT_EV_ATTEMPT = 1,	  /* about to block on lock (blocking acquire entered) */
	KLT_EV_ACQUIRED = 2,	  /* blocking acquire returned with the lock held */
	KLT_EV_RELEASE = 3,	  /* lock released */
	KLT_EV_TRY_OK = 4,	  /* trylock succeeded (adds no dependency edge) */
	KLT_EV_TRY_FAIL = 5,	  /* trylock failed */
	KLT_EV_SRCU_READ_LOCK = 6,   /* srcu_read_lock(lock): read-side hold of the SRCU domain */
	KLT_EV_SRCU_READ_UNLOCK = 7, /* srcu_read_unlock(lock) */
	KLT_EV_SRCU_SYNC = 8,	  /* synchronize_srcu{,_expedited}(lock): write acquire+release */
	KLT_EV_CPUHP_ENTER = 9,	  /* cpuhp callback entered: see aux fields */
	KLT_EV_CPUHP_EXIT = 10,	  /* cpuhp callback returned: aux2 = return value */
	KLT_EV_PM_BEGIN = 11,	  /* suspend/resume phase begins: aux0 = enum klt_pm_phase */
	KLT_EV_PM_END = 12,	  /* suspend/resume phase ends */
	KLT_EV_CONTEND_BEGIN = 13, /* lock:contention_begin; aux0 = tracepoint flags */
	KLT_EV_CONTEND_END = 14,   /* lock:contention_end; aux2 = ret */
	KLT_EV_TASK_EXIT = 15,	  /* task exited (locks still held are findings) */
	KLT_EV_EDGE = 16,	  /* new dependency seen in-kernel: held -> lock (see below) */
	KLT_EV_FUNC_ENTER = 17,	  /* a hooked KVM function was entered: lock = its address */
	KLT_EV_FUNC_EXIT = 18,	  /* ... returned: lock = its address, aux2 = return value */
	KLT_EV_LOCK_INIT = 19,	  /* a lock was (re)initialized: a new instance (see below) */
	KLT_EV_EDGE_GUARD = 20,	  /* a guard candidate of this task's next EDGE (see below) */
	KLT_EV_MAX
};

/* Lock kind. Values are part of the trace-file format: append only. */
enum klt_lock_kind {
	KLT_LK_NONE = 0,
	KLT_LK_MUTEX = 1,
	KLT_LK_RWSEM = 2,
	KLT_LK_PERCPU_RWSEM = 3, /* e.g. cpu_hotplug_lock via cpus_read_lock() */
	KLT_LK_SPINLOCK = 4,
	KLT_LK_SRCU = 5,
	KLT_LK_PTHREAD_MUTEX = 6,
	KLT_LK_PTHREAD_RWLOCK = 7,
	KLT_LK_MAX
};

/*
 * User-space lock memory is reused (freed and reallocated, object pools), and a new lock at an
 * old address is a new lock. The lock address of a pthread lock (KLT_LK_PTHREAD_*) therefore
 * carries its generation in bits 56..63: how many pthread_mutex_destroy() /
 * pthread_rwlock_destroy() calls were seen at that address before this use, modulo 256 (user
 * addresses are below 2^56 even with 5-level paging). Generation 0 is the plain address.
 */
#define KLT_USER_GEN_SHIFT 56
#define KLT_USER_ADDR_MASK ((1ull << KLT_USER_GEN_SHIFT) - 1)
#define KLT_KIND_IS_USER(kind) ((kind) == KLT_LK_PTHREAD_MUTEX || (kind) == KLT_LK_PTHREAD_RWLOCK)

/*
 * Acquisition mode. lockdep semantics: WRITE is exclusive; READ is a non-recursive
 * read (rwsem / percpu-rwsem down_read: blocked by a pending writer); RREAD is a
 * recursive read (SRCU read sections, rwlock_t read, glibc's reader-preferring rwlocks).
 */
enum klt_mode {
	KLT_MODE_WRITE = 0,
	KLT_MODE_READ = 1,
	KLT_MODE_RREAD = 2,
	KLT_MODE_MAX
};

/* Suspend/resume phases (power:suspend_resume action names, plus KVM's syscore hooks). */
enum klt_pm_phase {
	KLT_PM_OTHER = 0,
	KLT_PM_SUSPEND_ENTER = 1,
	KLT_PM_SYNC_FILESYSTEMS = 2,
	KLT_PM_FREEZE_PROCESSES = 3,
	KLT_PM_DPM_PREPARE = 4,
	KLT_PM_DPM_SUSPEND = 5,
	KLT_PM_DPM_SUSPEND_LATE = 6,
	KLT_PM_DPM_SUSPEND_NOIRQ = 7,
	KLT_PM_CPU_OFF = 8,
	KLT_PM_SYSCORE_SUSPEND = 9,
	KLT_PM_MACHINE_SUSPEND = 10,
	KLT_PM_SYSCORE_RESUME = 11,
	KLT_PM_CPU_ON = 12,
	KLT_PM_DPM_RESUME_NOIRQ = 13,
	KLT_PM_DPM_RESUME_EARLY = 14,
	KLT_PM_DPM_RESUME = 15,
	KLT_PM_DPM_COMPLETE = 16,
	KLT_PM_THAW_PROCESSES = 17,
	KLT_PM_KVM_SUSPEND = 18,
	KLT_PM_KVM_RESUME = 19,
	KLT_PM_MAX
};

/* Event flags. */
#define KLT_F_CPUHP_ATOMIC (1u << 0) /* cpuhp callback runs in the STARTING/DYING (irqs off) section */
#define KLT_F_CPUHP_MULTI  (1u << 1) /* from cpuhp_multi_enter (instance callback) */
#define KLT_F_NESTED	   (1u << 2) /* *_nested acquire: subclass annotation present */
#define KLT_F_USER	   (1u << 3) /* user-space lock (uprobe) */
#define KLT_F_IMPLICIT	   (1u << 4) /* implied hold: cpu_hotplug_lock during a cpuhp callback,
					      taken by the task driving the hotplug operation */
#define KLT_F_OBJECT	   (1u << 5) /* ring buffer only, never recorded: FUNC_ENTER of an object
					* hook; aux0 | aux1 << 32 = the object it was given, aux2 =
					* enum klt_obj. The tracer names the locks inside the object
					* (explicit classes such as kvm->slots_lock) and records a plain
					* FUNC_ENTER. */
#define KLT_F_HELD_MODE_SHIFT 16    /* EDGE: held lock's enum klt_mode in bits 16..19 */
#define KLT_F_HELD_KIND_SHIFT 20    /* EDGE: held lock's enum klt_lock_kind in bits 20..27 */
#define KLT_F_HELD_MODE(f) (((f) >> KLT_F_HELD_MODE_SHIFT) & 0xf)
#define KLT_F_HELD_KIND(f) (((f) >> KLT_F_HELD_KIND_SHIFT) & 0xff)

/*
 * One event. Field use by type, as recorded (trace files, the engine):
 *   lock ops:      lock = lock address, kind, mode, ip = caller, stack_id
 *   CPUHP_ENTER:   lock = callback address, aux0 = cpu being brought up/down,
 *                  aux1 = target state, aux2 = state index, flags & KLT_F_CPUHP_ATOMIC
 *   CPUHP_EXIT:    aux0 = cpu, aux1 = state, aux2 = return value
 *   PM_BEGIN/END:  aux0 = enum klt_pm_phase, aux1 = tracepoint's val, lock = 0
 *   FUNC_*:        lock = function address (kvm_online_cpu, hardware_enable_all, ...)
 *   CONTEND_*:     lock, kind (derived from flags), aux0 = raw tracepoint flags, aux2 = ret
 *   LOCK_INIT:     lock = address, kind; aux0 | aux1 << 32 = the lockdep class key the kernel
 *                  passed (__mutex_init(lock, name, key), __init_rwsem(...), ...: the static
 *                  `struct lock_class_key` of the init site, present on every kernel), ip =
 *                  the address of the class name string it passed, named by a KLT_SYM_CLASS
 *                  symbol at that address. The class is key and name together: without
 *                  lockdep the key is a zero-size object, and two init sites' keys may share
 *                  an address. From here on the address is a new instance of that class: what
 *                  the memory held before (a freed object's lock) is another lock.
 *   EDGE:          the BPF side saw `held` held while `lock` was acquired, for the first time.
 *                  lock/kind/mode/ip/stack_id describe the new acquisition; the held lock is
 *                  aux0 | (u64)aux1 << 32, its stack id aux2, its mode and kind in flags
 *                  (KLT_F_HELD_MODE / KLT_F_HELD_KIND), its call site in aux3 (kernel
 *                  text, low 32 bits; 0: unknown). The live tracer sends only such
 *                  first sightings (plus full events for watched locks), so per-task held
 *                  stacks are kept in BPF and edges need not be re-derived in userspace.
 *
 * Ring-buffer records: the same struct, but what BPF (bpf/) writes is not always what is
 * recorded. src/live/decode.c (decode_record, one case per type) turns one into the other:
 *   every record:  ts, cpu, pid, tid, comm; stack_id = KLT_NO_STACK unless a stack was taken,
 *                  an id of the BPF stack map (user stacks with a spliced call site get a
 *                  synthetic id >= the map's size in the recording)
 *   lock ops (ATTEMPT, ACQUIRED, RELEASE, TRY_*, SRCU_*): lock = address (user locks carry
 *                  their generation, KLT_USER_GEN_SHIFT), kind, mode; ip = call site read at
 *                  kprobe/uprobe entry, 0 from fentry programs (and on RELEASE): userspace
 *                  takes the first frame outside lock functions of the stack instead; flags
 *                  KLT_F_IMPLICIT on the cpu_hotplug_lock hold implied by a cpuhp callback
 *   EDGE:          as recorded above, except ip (as for lock ops) and aux2 (a BPF stack id)
 *   PM_BEGIN/END:  from power:suspend_resume, lock = FNV-1a 32 of the action name (the BPF
 *                  side cannot hand over the kernel string; userspace maps it to enum
 *                  klt_pm_phase into aux0 and clears lock), aux1 = val; from the kvm module's
 *                  kvm_suspend/kvm_resume, lock = 0 and aux0 = the phase already
 *   FUNC_ENTER:    lock = function address (bpf_get_func_ip); with KLT_F_OBJECT (object hooks
 *                  only) aux0 | aux1 << 32 = the struct kvm / kvm_vcpu pointer, aux2 = enum
 *                  klt_obj: userspace names the locks inside and clears flags and aux*
 *   FUNC_EXIT:     lock = function address, aux2 = return value (kretprobe; 0 from fexit)
 *   LOCK_INIT:     as recorded; sent lazily, just before the first EDGE record that names
 *                  the new instance (an initialized lock that never orders against another
 *                  costs no record). The record is followed by KLT_CLASS_NAME_LEN bytes of
 *                  the class name (NUL-terminated) the first time a name string is sent, and
 *                  by nothing after that: userspace names the string's address once (a
 *                  KLT_SYM_CLASS symbol)
 *   CPUHP_*, CONTEND_*, TASK_EXIT: as recorded
 */
/*
 * EDGE_GUARD (recorded as sent): lock = a lock the task held exclusively (WRITE) when it made
 * the new dependency of its next EDGE record, other than the EDGE's two ends; kind, mode its
 * own; aux0 | aux1 << 32 = that EDGE's held lock; ip = the EDGE's lock. It comes right before
 * the EDGE of the same task (other tasks' records may come between). The engine takes it as
 * the edge's guard candidate (docs/engine.md, "Guard locks"): the BPF side keys its edge cache
 * by the guard too, so a sighting under another guard, or none, is sent again and the
 * candidate set shrinks as it does with full lock events.
 */
/* Length of the class name that may follow a LOCK_INIT ring-buffer record (with its NUL). */
#define KLT_CLASS_NAME_LEN 64

/* Kernel objects whose locks the tracer names from BTF (KLT_F_OBJECT). */
enum klt_obj {
	KLT_OBJ_KVM = 1,  /* struct kvm: kvm->lock, kvm->slots_lock, kvm->srcu, ... */
	KLT_OBJ_VCPU = 2, /* struct kvm_vcpu: vcpu->mutex, ... */
	KLT_OBJ_MAX
};
/* An OBJ row's kind with this bit: the object is being destroyed (its locks leave the scope). */
#define KLT_OBJ_GONE 0x80
/* The most lock members per object type that BPF puts in the default scope (KLT_SCOPE_*). */
#define KLT_OBJ_LOCKS 32

struct klt_event {
	__u16 type;	 /* enum klt_ev_type */
	__u8 kind;	 /* enum klt_lock_kind */
	__u8 mode;	 /* enum klt_mode */
	__u32 cpu;	 /* CPU the event happened on */
	__u64 ts;	 /* ns, CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 pid;	 /* tgid */
	__u32 tid;	 /* kernel pid of the thread */
	__u64 lock;	 /* lock address (or callback address, see above) */
	__u64 ip;	 /* call site (return address into the caller) */
	__s32 stack_id; /* index into the stack table, KLT_NO_STACK if none */
	__u32 flags;	 /* KLT_F_* */
	__u32 aux0;
	__u32 aux1;
	__s32 aux2;
	__u32 aux3;	 /* EDGE: the held lock's call site, low 32 bits of a kernel text
			  * address (its high 32 bits are all ones); 0 if unknown or not kernel.
			  * Zero in every other event (it was "pad" before: recordings without
			  * it read as unknown). */
	char comm[KLT_COMM_LEN];
};

_Static_assert(sizeof(struct klt_event) == 80, "klt_event is part of the trace-file ABI");
/* BPF writes a 64-bit address into aux0 | aux1 << 32 with one store (little-endian) */
_Static_assert(__builtin_offsetof(struct klt_event, aux0) % 8 == 0 &&
		       __builtin_offsetof(struct klt_event, aux1) ==
			       __builtin_offsetof(struct klt_event, aux0) + 4,
	       "aux0/aux1 form one aligned 64-bit field");

/*
 * The watch list is an open-addressed table in the BPF program's .bss (a lookup is a few
 * loads, no helper call): userspace stores each watched lock address at the first free slot
 * of its probe sequence klt_watch_slot(addr, 0..KLT_WATCH_PROBES-1); BPF checks those slots.
 */
#define KLT_WATCH_SLOTS 256 /* power of two */
#define KLT_WATCH_PROBES 4

static inline __u32 klt_watch_slot(__u64 addr, __u32 probe)
{
	return ((__u32)(((addr >> 3) * 0x9E3779B97F4A7C15ull) >> 56) + probe) & (KLT_WATCH_SLOTS - 1);
}

/*
 * The default scope's per-object locks (docs/live-tracing.md, "Scope"): when a VM or vCPU is
 * created, BPF itself puts the addresses of the locks inside it (offsets from BTF, given by
 * userspace: obj_lock_off) into a second open-addressed table, and takes them out when it is
 * destroyed (KLT_SCOPE_GONE marks a freed slot, which lookups step over). A task holding one is
 * followed like a task holding a watched lock, without full lock events: its new dependencies
 * are sent as EDGE records, as under --all.
 */
#define KLT_SCOPE_SLOTS 2048 /* power of two */
#define KLT_SCOPE_PROBES 8
#define KLT_SCOPE_GONE 1ull

static inline __u32 klt_scope_slot(__u64 addr, __u32 probe)
{
	return ((__u32)(((addr >> 3) * 0x9E3779B97F4A7C15ull) >> 53) + probe) & (KLT_SCOPE_SLOTS - 1);
}

#endif /* KLT_ABI_H */
