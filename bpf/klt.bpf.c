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

struct held {
	__u64 lock;
	__u64 chain; /* chain key of held[0..this] (see chain_next) */
	__s32 stack_id;
	__u8 mode, kind, watched, implicit;
};

struct task_state {
	__u32 depth;
	__u32 nwatched;	 /* watched locks among the held ones */
	__u32 in_cpuhp;	 /* inside a cpuhp callback (nesting count) */
	__u32 cpuhp_atomic;
	__u32 nest;	 /* enum nest_state: inside mm_take_all_locks() .. mm_drop_all_locks() */
	/* blocking acquire in progress (entry seen, exit not yet) */
	__u64 pend_lock;
	__u64 pend_ip;
	__s32 pend_stack;
	__u8 pend_mode, pend_kind, pend_valid, pend_watched;
	struct held held[MAX_HELD];
};

/*
 * Held-lock state per task: task-local storage (no hashing of a tid on every lock operation,
 * freed with the task; tracing programs may use it since 5.11).
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} tasks SEC(".maps");

struct edge_key {
	__u64 held;
	__u64 lock;
};

/* Every held -> new pair seen so far (value: sightings). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct edge_key);
	__type(value, __u64);
} edges SEC(".maps");

/*
 * Locks whose every acquire/release is reported (cpu_hotplug_lock, kvm_lock, ...): an
 * open-addressed table filled by userspace after load (klt_watch_slot in klt_abi.h).
 */
__u64 watch_tab[KLT_WATCH_SLOTS] = {};

/*
 * Chain cache (lockdep's lock_chain idea): chain keys of held stack + new lock whose every
 * held -> new pair is already in `edges`. Direct-mapped, shared by all CPUs; a lost race only
 * costs one more pass over `edges`.
 */
#define CHAIN_SLOTS 8192
__u64 chain_cache[CHAIN_SLOTS] = {};

/*
 * Generations of user-space lock addresses (KLT_USER_GEN_SHIFT in klt_abi.h): address ->
 * pthread_*_destroy() calls seen there. A destroyed lock's memory may hold a new, unrelated
 * lock later (free + malloc, object pools); its key changes, so its orders are its own and the
 * edge and chain caches above see new pairs. LRU: an address destroyed long ago and not used
 * since may be forgotten (its next lock would share generation 0's key: at worst the old false
 * order this map exists to avoid). Userspace reads no count: nothing is lost but precision.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u32);
} lock_gen SEC(".maps");
/* set by the first destroy: until then user lock operations skip the lookup */
__u32 lock_gen_used = 0;

/* Stacks of new edges and watched-lock events. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 32768); /* = STACK_IDS in src/live/tracer.c; sparse to avoid collisions */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, KLT_MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Events to userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* Failure and activity counters (STYLE.md #6): userspace prints the non-zero ones. */
__u64 cnt_ringbuf_full = 0;
__u64 cnt_task_map_full = 0;
__u64 cnt_edge_map_full = 0;
__u64 cnt_stack_fail = 0;
__u64 cnt_depth_overflow = 0;
__u64 cnt_missed_release = 0;
/* Activity counters, per CPU so the hot path has no shared atomic (userspace sums them). */
enum { ACT_NEW_EDGES, ACT_EVENTS_SENT, ACT_MAX };
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ACT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} activity SEC(".maps");

static __always_inline void act_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&activity, &idx);

	if (v)
		(*v)++;
}

enum op {
	OP_BLOCK,	/* blocking acquire; exit confirms (ret ignored) */
	OP_BLOCK_RET0,	/* interruptible/killable: acquired iff ret == 0 */
	OP_TRY,		/* trylock: acquired iff ret == 1, adds no edge */
	OP_SRCU_READ,	/* srcu read lock: recursive read, never blocks on readers */
	OP_SYNC,	/* synchronize_srcu: write acquire + release */
	OP_HOLD,	/* the function holds the lock for its body (inlined lock call) */
};

static __always_inline bool filtered(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return (targ_tgid && tgid != targ_tgid) || tgid == self_tgid;
}

/* filtered() for the lock hooks, from the task pointer they need anyway (one helper call less) */
static __always_inline bool task_filtered(struct task_struct *task)
{
	__u32 tgid = task->tgid;

	return (targ_tgid && tgid != targ_tgid) || tgid == self_tgid;
}

static __always_inline struct klt_event *ev_reserve(__u16 type)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct klt_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&cnt_ringbuf_full, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->cpu = bpf_get_smp_processor_id();
	e->stack_id = KLT_NO_STACK;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void ev_submit(struct klt_event *e)
{
	__u64 flags = 0;

	act_inc(ACT_EVENTS_SENT);
	/* batch wakeups: a sparse event need not cost the reader a context switch each */
	if (rb_wake_bytes)
		flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + sizeof(*e) < rb_wake_bytes ?
				BPF_RB_NO_WAKEUP : BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static __always_inline void ev_lock(__u16 type, __u64 lock, __u8 kind, __u8 mode, __u64 ip,
				    __s32 stack_id, __u32 flags)
{
	struct klt_event *e = ev_reserve(type);

	if (!e)
		return;
	e->lock = lock;
	e->kind = kind;
	e->mode = mode;
	e->ip = ip;
	e->stack_id = stack_id;
	e->flags = flags;
	ev_submit(e);
}

static __always_inline struct task_state *task_get_of(struct task_struct *task, bool create)
{
	struct task_state *st;

	st = bpf_task_storage_get(&tasks, task, NULL, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	/* allocation failure (or storage busy in a nested program) */
	if (!st && create)
		__sync_fetch_and_add(&cnt_task_map_full, 1);
	return st;
}

static __always_inline struct task_state *task_get(bool create)
{
	return task_get_of(bpf_get_current_task_btf(), create);
}

static __always_inline bool lock_watched(__u64 lock)
{
	for (__u32 i = 0; i < KLT_WATCH_PROBES; i++) {
		__u64 w = watch_tab[klt_watch_slot(lock, i)];

		if (w == lock)
			return true;
		if (!w)
			return false;
	}
	return false;
}

/* Chain key of a held stack whose top has key `prev`, after pushing `lock` (never 0). */
static __always_inline __u64 chain_next(__u64 prev, __u64 lock)
{
	__u64 h = (prev ^ lock) * 0x9E3779B97F4A7C15ull;

	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return h ? h : 1;
}

static __always_inline __u64 chain_top(struct task_state *st, __u32 depth)
{
	__u32 top = depth - 1;

	return depth && top < MAX_HELD ? st->held[top].chain : 0;
}

/* After held[from..] moved down one slot: recompute their chain keys. */
static __always_inline void chain_fix(struct task_state *st, int from, __u32 depth)
{
	for (int i = 0; i < MAX_HELD; i++) {
		if (i < from || i >= depth)
			continue;
		st->held[i].chain = chain_next(i ? st->held[(i - 1) & (MAX_HELD - 1)].chain : 0,
					       st->held[i].lock);
	}
}

static __always_inline __s32 capture_stack(void *ctx, bool user)
{
	long id = bpf_get_stackid(ctx, &stacks, user ? BPF_F_USER_STACK : 0);

	if (id < 0) {
		__sync_fetch_and_add(&cnt_stack_fail, 1);
		return KLT_NO_STACK;
	}
	return (__s32)id;
}

static __always_inline int acq_exit(long ret, enum op op);

/*
 * Acquisition entry. Adds held -> lock edges (new ones are sent with one stack capture) and
 * remembers the acquisition so the exit can push it. Trylocks only remember.
 */
/* Where the call site comes from: read only when an event is sent (it costs a probe read). */
enum ipsrc {
	IP_NONE,   /* fentry: userspace takes it from the stack */
	IP_KPROBE, /* return address on the kernel stack at function entry */
	IP_UPROBE, /* return address on the user stack at function entry */
};

static __always_inline __u64 call_site(void *ctx, enum ipsrc src)
{
	struct pt_regs *regs = ctx;
	__u64 ra = 0;

	if (src == IP_KPROBE)
		bpf_probe_read_kernel(&ra, sizeof(ra), (void *)PT_REGS_SP(regs));
	else if (src == IP_UPROBE)
		bpf_probe_read_user(&ra, sizeof(ra), (void *)PT_REGS_SP(regs));
	return ra;
}

/*
 * lockdep's nest_lock: mm_take_all_locks() takes every i_mmap_rwsem and anon_vma lock of an mm
 * in no particular order, serialized by the mmap_lock it holds for write (the kernel says
 * down_write_nest_lock(), which is plain down_write() without lockdep). Lockdep checks no order
 * among them; neither do we: inside mm_take_all_locks() an acquisition gets its edges from the
 * locks held outside but is not pushed, so the next one has no edge from it; until
 * mm_drop_all_locks() returns, releases of such untracked locks are not "missed".
 */
enum nest_state { NEST_NONE, NEST_TAKING, NEST_HELD };

static __always_inline int acq_enter(void *ctx, __u64 lock, __u8 kind, __u8 mode,
				     enum ipsrc ipsrc, enum op op, bool user)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st;
	bool is_watched, new_edge = false, all_known = true;
	__s32 stack_id = KLT_NO_STACK;
	__u64 ip = 0, chain = 0;
	__u32 depth;

	if (!lock || task_filtered(task))
		return 0;
	/* user-space locks are never on the (kernel) watch list */
	is_watched = !user && lock_watched(lock);
	st = task_get_of(task, false);
	/* Early scope filter: outside the KVM/hotplug scope a task holding nothing watched
	 * costs a table probe and a task-storage lookup. */
	if (!trace_all && !user && !is_watched && !(st && (st->nwatched || st->in_cpuhp)))
		return 0;
	if (!st) {
		st = task_get_of(task, true);
		if (!st)
			return 0;
	}
	/* no activity count here: it would cost a map lookup on every in-scope acquisition */
	depth = st->depth;
	chain = chain_next(chain_top(st, depth), lock);
	if (op != OP_TRY && depth && chain_cache[chain & (CHAIN_SLOTS - 1)] != chain) {
		for (int i = 0; i < MAX_HELD; i++) {
			struct edge_key key;
			__u64 one = 1, *cnt;

			if (i >= depth)
				break;
			key.held = st->held[i].lock;
			key.lock = lock;
			if (key.held == lock)
				continue; /* recursion on the same instance: not an order */
			cnt = bpf_map_lookup_elem(&edges, &key);
			if (cnt)
				continue; /* known: nothing to do (no count: keep the hot path lean) */
			if (bpf_map_update_elem(&edges, &key, &one, BPF_NOEXIST)) {
				/* -EEXIST: another CPU won the race; anything else: map full */
				if (!bpf_map_lookup_elem(&edges, &key)) {
					__sync_fetch_and_add(&cnt_edge_map_full, 1);
					all_known = false; /* try again next time */
				}
				continue;
			}
			if (!new_edge) {
				new_edge = true;
				stack_id = capture_stack(ctx, user);
				ip = call_site(ctx, ipsrc);
			}
			act_inc(ACT_NEW_EDGES);
			struct klt_event *e = ev_reserve(KLT_EV_EDGE);

			if (!e)
				continue;
			e->lock = lock;
			e->kind = kind;
			e->mode = op == OP_SYNC ? KLT_MODE_WRITE : mode;
			e->ip = ip;
			e->stack_id = stack_id;
			e->aux0 = (__u32)key.held;
			e->aux1 = (__u32)(key.held >> 32);
			e->aux2 = st->held[i].stack_id;
			e->flags = ((__u32)st->held[i].mode << KLT_F_HELD_MODE_SHIFT) |
				   ((__u32)st->held[i].kind << KLT_F_HELD_KIND_SHIFT) |
				   (user ? KLT_F_USER : 0);
			ev_submit(e);
		}
		if (all_known)
			chain_cache[chain & (CHAIN_SLOTS - 1)] = chain;
	}
	if (is_watched || st->in_cpuhp || full_events) {
		if (stack_id == KLT_NO_STACK)
			stack_id = capture_stack(ctx, user);
		if (!ip)
			ip = call_site(ctx, ipsrc);
		if (op == OP_SYNC)
			ev_lock(KLT_EV_SRCU_SYNC, lock, kind, KLT_MODE_WRITE, ip, stack_id, 0);
		else if (op == OP_SRCU_READ)
			ev_lock(KLT_EV_SRCU_READ_LOCK, lock, kind, mode, ip, stack_id, 0);
		else if (op != OP_TRY)
			ev_lock(KLT_EV_ATTEMPT, lock, kind, mode, ip, stack_id, 0);
	}
	if (op == OP_SYNC || st->nest == NEST_TAKING)
		return 0;
	st->pend_lock = lock;
	st->pend_ip = ip;
	st->pend_stack = stack_id;
	st->pend_mode = mode;
	st->pend_kind = kind;
	st->pend_watched = is_watched;
	st->pend_valid = 1;
	if (op == OP_SRCU_READ) /* never blocks: push now, no exit program needed */
		goto push;
	if (op == OP_HOLD) /* acquired on entry: the exit program releases it */
		return acq_exit(0, OP_BLOCK);
	return 0;
push:
	st->pend_valid = 0;
	if (st->depth >= MAX_HELD) {
		__sync_fetch_and_add(&cnt_depth_overflow, 1);
		return 0;
	}
	depth = st->depth;
	if (depth < MAX_HELD) {
		st->held[depth].lock = lock;
		st->held[depth].chain = chain;
		st->held[depth].stack_id = stack_id;
		st->held[depth].mode = mode;
		st->held[depth].kind = kind;
		st->held[depth].watched = is_watched;
		st->depth = depth + 1;
		if (is_watched)
			st->nwatched++;
	}
	return 0;
}

/* Acquisition exit: push the pending lock if it was acquired. */
static __always_inline int acq_exit(long ret, enum op op)
{
	struct task_state *st = task_get(false);
	__u32 depth;
	bool ok;

	if (!st || !st->pend_valid)
		return 0;
	st->pend_valid = 0;
	ok = op == OP_TRY ? ret == 1 : op == OP_BLOCK_RET0 ? ret == 0 : true;
	if (st->pend_watched || st->in_cpuhp || full_events)
		ev_lock(op == OP_TRY ? (ok ? KLT_EV_TRY_OK : KLT_EV_TRY_FAIL) :
				       (ok ? KLT_EV_ACQUIRED : KLT_EV_TRY_FAIL),
			st->pend_lock, st->pend_kind, st->pend_mode, st->pend_ip, st->pend_stack, 0);
	if (!ok)
		return 0;
	depth = st->depth;
	if (depth >= MAX_HELD) {
		__sync_fetch_and_add(&cnt_depth_overflow, 1);
		return 0;
	}
	st->held[depth].lock = st->pend_lock;
	st->held[depth].chain = chain_next(chain_top(st, depth), st->pend_lock);
	st->held[depth].stack_id = st->pend_stack;
	st->held[depth].mode = st->pend_mode;
	st->held[depth].kind = st->pend_kind;
	st->held[depth].watched = st->pend_watched;
	st->depth = depth + 1;
	if (st->pend_watched)
		st->nwatched++;
	return 0;
}

/* Release: remove the most recent entry for lock (lockdep allows out-of-order release). */
static __always_inline int rel(__u64 lock, __u8 kind, bool srcu)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st;
	int found = -1;
	__u32 depth;

	if (!lock || task_filtered(task))
		return 0;
	st = task_get_of(task, false);
	if (!st || !st->depth) {
		if (trace_all && st && st->nest == NEST_NONE)
			__sync_fetch_and_add(&cnt_missed_release, 1);
		return 0;
	}
	depth = st->depth;
	for (int i = MAX_HELD - 1; i >= 0; i--) {
		if (i >= depth)
			continue;
		if (st->held[i].lock == lock) {
			found = i;
			break;
		}
	}
	if (found < 0) {
		if (trace_all && st->nest == NEST_NONE)
			__sync_fetch_and_add(&cnt_missed_release, 1);
		return 0;
	}
	bool was_watched = false;

	if (found < MAX_HELD) {
		was_watched = st->held[found].watched;
		kind = st->held[found].kind;
	}
	for (int i = 0; i < MAX_HELD - 1; i++) {
		if (i < found || i + 1 >= depth)
			continue;
		st->held[i] = st->held[i + 1];
	}
	chain_fix(st, found, depth - 1);
	st->depth = depth - 1;
	if (was_watched && st->nwatched)
		st->nwatched--;
	if (was_watched || st->in_cpuhp || full_events)
		ev_lock(srcu ? KLT_EV_SRCU_READ_UNLOCK : KLT_EV_RELEASE, lock, kind, 0, 0,
			KLT_NO_STACK, 0);
	return 0;
}

/* downgrade_write: the held entry becomes a read hold. */
static __always_inline int downgrade(__u64 lock)
{
	struct task_state *st = task_get(false);

	if (!st)
		return 0;
	for (int i = 0; i < MAX_HELD; i++) {
		if (i >= st->depth)
			break;
		if (st->held[i].lock == lock)
			st->held[i].mode = KLT_MODE_READ;
	}
	return 0;
}

/*
 * A pointer argument read from the fentry context is a typed kernel pointer to the verifier,
 * which forbids hashing it (the watch table, chain keys): bpf_get_func_arg (inlined by the
 * verifier) gives the same value as a plain number.
 */
static __always_inline __u64 fentry_arg0(void *ctx)
{
	__u64 v = 0;

	bpf_get_func_arg(ctx, 0, &v);
	return v;
}

/*
 * The hook table, as thin wrappers. fentry programs read their argument from the trampoline
 * context; the call site of fentry-traced calls is taken from the captured stack in userspace.
 */
#define HOOK_ACQ(fn, kind, mode, op)                                                            \
	SEC("fentry/" #fn)                                                                      \
	int BPF_PROG(fe_##fn)                                                                   \
	{                                                                                       \
		return acq_enter(ctx, fentry_arg0(ctx), kind, mode, IP_NONE, op, false);        \
	}                                                                                       \
	SEC("fexit/" #fn)                                                                       \
	int BPF_PROG(fx_##fn, void *lock, long ret)                                             \
	{                                                                                       \
		return acq_exit(ret, op);                                                       \
	}                                                                                       \
	SEC("kprobe/" #fn)                                                                      \
	int BPF_KPROBE(kp_##fn, void *lock)                                                     \
	{                                                                                       \
		return acq_enter(ctx, (__u64)lock, kind, mode, IP_KPROBE, op, false);      \
	}                                                                                       \
	SEC("kretprobe/" #fn)                                                                   \
	int BPF_KRETPROBE(kr_##fn, long ret)                                                    \
	{                                                                                       \
		return acq_exit(ret, op);                                                       \
	}

#define HOOK_REL(fn, kind, srcu)                                                                \
	SEC("fentry/" #fn)                                                                      \
	int BPF_PROG(fe_##fn, void *lock)                                                       \
	{                                                                                       \
		return rel((__u64)lock, kind, srcu);                                            \
	}                                                                                       \
	SEC("kprobe/" #fn)                                                                      \
	int BPF_KPROBE(kp_##fn, void *lock)                                                     \
	{                                                                                       \
		return rel((__u64)lock, kind, srcu);                                            \
	}

/* srcu_read_lock and synchronize_srcu: entry only (no completion to wait for). */
#define HOOK_ENTRY(fn, kind, mode, op)                                                          \
	SEC("fentry/" #fn)                                                                      \
	int BPF_PROG(fe_##fn)                                                                   \
	{                                                                                       \
		return acq_enter(ctx, fentry_arg0(ctx), kind, mode, IP_NONE, op, false);        \
	}                                                                                       \
	SEC("kprobe/" #fn)                                                                      \
	int BPF_KPROBE(kp_##fn, void *lock)                                                     \
	{                                                                                       \
		return acq_enter(ctx, (__u64)lock, kind, mode, IP_KPROBE, op, false);      \
	}

HOOK_ACQ(mutex_lock, KLT_LK_MUTEX, KLT_MODE_WRITE, OP_BLOCK)
HOOK_ACQ(mutex_lock_io, KLT_LK_MUTEX, KLT_MODE_WRITE, OP_BLOCK)
HOOK_ACQ(mutex_lock_interruptible, KLT_LK_MUTEX, KLT_MODE_WRITE, OP_BLOCK_RET0)
HOOK_ACQ(mutex_lock_killable, KLT_LK_MUTEX, KLT_MODE_WRITE, OP_BLOCK_RET0)
HOOK_ACQ(mutex_lock_nested, KLT_LK_MUTEX, KLT_MODE_WRITE, OP_BLOCK)
HOOK_ACQ(mutex_lock_interruptible_nested, KLT_LK_MUTEX, KLT_MODE_WRITE, OP_BLOCK_RET0)
HOOK_ACQ(mutex_lock_killable_nested, KLT_LK_MUTEX, KLT_MODE_WRITE, OP_BLOCK_RET0)
HOOK_ACQ(mutex_trylock, KLT_LK_MUTEX, KLT_MODE_WRITE, OP_TRY)
HOOK_REL(mutex_unlock, KLT_LK_MUTEX, false)
HOOK_ACQ(down_read, KLT_LK_RWSEM, KLT_MODE_READ, OP_BLOCK)
HOOK_ACQ(down_read_killable, KLT_LK_RWSEM, KLT_MODE_READ, OP_BLOCK_RET0)
HOOK_ACQ(down_read_interruptible, KLT_LK_RWSEM, KLT_MODE_READ, OP_BLOCK_RET0)
HOOK_ACQ(down_read_trylock, KLT_LK_RWSEM, KLT_MODE_READ, OP_TRY)
HOOK_ACQ(down_write, KLT_LK_RWSEM, KLT_MODE_WRITE, OP_BLOCK)
HOOK_ACQ(down_write_killable, KLT_LK_RWSEM, KLT_MODE_WRITE, OP_BLOCK_RET0)
HOOK_ACQ(down_write_trylock, KLT_LK_RWSEM, KLT_MODE_WRITE, OP_TRY)
HOOK_REL(up_read, KLT_LK_RWSEM, false)
HOOK_REL(up_write, KLT_LK_RWSEM, false)
HOOK_ACQ(percpu_down_write, KLT_LK_PERCPU_RWSEM, KLT_MODE_WRITE, OP_BLOCK)
HOOK_REL(percpu_up_write, KLT_LK_PERCPU_RWSEM, false)
HOOK_ENTRY(__srcu_read_lock, KLT_LK_SRCU, KLT_MODE_RREAD, OP_SRCU_READ)
HOOK_REL(__srcu_read_unlock, KLT_LK_SRCU, true)
HOOK_ENTRY(synchronize_srcu, KLT_LK_SRCU, KLT_MODE_WRITE, OP_SYNC)
HOOK_ENTRY(synchronize_srcu_expedited, KLT_LK_SRCU, KLT_MODE_WRITE, OP_SYNC)

SEC("fentry/downgrade_write")
int BPF_PROG(fe_downgrade_write, void *lock)
{
	return downgrade((__u64)lock);
}

SEC("kprobe/downgrade_write")
int BPF_KPROBE(kp_downgrade_write, void *lock)
{
	return downgrade((__u64)lock);
}

/*
 * kernel/cpu.c inlines cpus_read_lock() into its own functions, so calls from there never reach
 * the hooks above. The cpuhp state API (used by KVM since 6.12 under kvm_usage_lock) holds
 * cpu_hotplug_lock for read around its body: model the body as the read hold.
 */
#define HOOK_HOLD_HOTPLUG(fn)                                                                   \
	SEC("fentry/" #fn)                                                                      \
	int BPF_PROG(fe_##fn)                                                                   \
	{                                                                                       \
		return acq_enter(ctx, cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ, \
				 IP_NONE, OP_HOLD, false);                                            \
	}                                                                                       \
	SEC("fexit/" #fn)                                                                       \
	int BPF_PROG(fx_##fn)                                                                   \
	{                                                                                       \
		return rel(cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, false);                  \
	}                                                                                       \
	SEC("kprobe/" #fn)                                                                      \
	int BPF_KPROBE(kp_##fn)                                                                 \
	{                                                                                       \
		return acq_enter(ctx, cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ, \
				 IP_KPROBE, OP_HOLD, false);                               \
	}                                                                                       \
	SEC("kretprobe/" #fn)                                                                   \
	int BPF_KRETPROBE(kr_##fn)                                                              \
	{                                                                                       \
		return rel(cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, false);                  \
	}

HOOK_HOLD_HOTPLUG(__cpuhp_setup_state)
HOOK_HOLD_HOTPLUG(__cpuhp_remove_state)
HOOK_HOLD_HOTPLUG(__cpuhp_state_add_instance)
HOOK_HOLD_HOTPLUG(__cpuhp_state_remove_instance)

static __always_inline int nest_set(enum nest_state from, enum nest_state to)
{
	struct task_state *st;

	if (filtered())
		return 0;
	st = task_get(to != NEST_NONE);
	if (st && (from == NEST_NONE || st->nest == from))
		st->nest = to;
	return 0;
}

/* take: entry starts the section; a failed take (-EINTR) has dropped the locks already */
SEC("fentry/mm_take_all_locks")
int BPF_PROG(fe_mm_take_all_locks)
{
	return nest_set(NEST_NONE, NEST_TAKING);
}

SEC("fexit/mm_take_all_locks")
int BPF_PROG(fx_mm_take_all_locks, void *mm, int ret)
{
	return nest_set(NEST_TAKING, ret ? NEST_NONE : NEST_HELD);
}

SEC("fexit/mm_drop_all_locks")
int BPF_PROG(fx_mm_drop_all_locks)
{
	return nest_set(NEST_NONE, NEST_NONE);
}

SEC("kprobe/mm_take_all_locks")
int BPF_KPROBE(kp_mm_take_all_locks)
{
	return nest_set(NEST_NONE, NEST_TAKING);
}

SEC("kretprobe/mm_take_all_locks")
int BPF_KRETPROBE(kr_mm_take_all_locks, int ret)
{
	return nest_set(NEST_TAKING, ret ? NEST_NONE : NEST_HELD);
}

SEC("kretprobe/mm_drop_all_locks")
int BPF_KRETPROBE(kr_mm_drop_all_locks)
{
	return nest_set(NEST_NONE, NEST_NONE);
}

/* cpus_read_lock()/cpus_read_unlock() take no argument: the lock is cpu_hotplug_lock. */
SEC("fentry/cpus_read_lock")
int BPF_PROG(fe_cpus_read_lock)
{
	return acq_enter(ctx, cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ, IP_NONE,
			 OP_BLOCK, false);
}

SEC("fexit/cpus_read_lock")
int BPF_PROG(fx_cpus_read_lock)
{
	return acq_exit(0, OP_BLOCK);
}

SEC("fentry/cpus_read_unlock")
int BPF_PROG(fe_cpus_read_unlock)
{
	return rel(cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, false);
}

SEC("kprobe/cpus_read_lock")
int BPF_KPROBE(kp_cpus_read_lock)
{
	return acq_enter(ctx, cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ,
			 IP_KPROBE, OP_BLOCK, false);
}

SEC("kretprobe/cpus_read_lock")
int BPF_KRETPROBE(kr_cpus_read_lock)
{
	return acq_exit(0, OP_BLOCK);
}

SEC("kprobe/cpus_read_unlock")
int BPF_KPROBE(kp_cpus_read_unlock)
{
	return rel(cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, false);
}

/* User-space locks (glibc), attached by userspace to the traced binary's libc. */

/* The key of the user lock at addr: the address plus its generation (see lock_gen). */
static __always_inline __u64 user_key(__u64 addr)
{
	__u32 *g;

	if (!lock_gen_used || !addr)
		return addr;
	g = bpf_map_lookup_elem(&lock_gen, &addr);
	return g ? addr | ((__u64)(*g & 0xff) << KLT_USER_GEN_SHIFT) : addr;
}

/* pthread_{mutex,rwlock}_destroy(lock): the lock at this address ends; the next is another. */
static __always_inline int user_destroy(__u64 addr)
{
	__u32 one = 1, *g;

	if (!addr || task_filtered(bpf_get_current_task_btf()))
		return 0;
	g = bpf_map_lookup_elem(&lock_gen, &addr);
	if (g)
		__sync_fetch_and_add(g, 1);
	else
		bpf_map_update_elem(&lock_gen, &addr, &one, BPF_NOEXIST);
	lock_gen_used = 1;
	return 0;
}

#define UHOOK_ACQ(fn, kind, mode, op)                                                           \
	SEC("uprobe")                                                                           \
	int BPF_KPROBE(up_##fn, void *lock)                                                     \
	{                                                                                       \
		return acq_enter(ctx, user_key((__u64)lock), kind, mode, IP_UPROBE, op, true); \
	}                                                                                       \
	SEC("uretprobe")                                                                        \
	int BPF_KRETPROBE(ur_##fn, long ret)                                                    \
	{                                                                                       \
		/* pthread calls return 0 on success; trylock's EBUSY means not acquired */    \
		return acq_exit(op == OP_TRY ? ret == 0 : ret, op == OP_TRY ? OP_TRY : OP_BLOCK_RET0); \
	}

UHOOK_ACQ(pthread_mutex_lock, KLT_LK_PTHREAD_MUTEX, KLT_MODE_WRITE, OP_BLOCK_RET0)
UHOOK_ACQ(pthread_mutex_trylock, KLT_LK_PTHREAD_MUTEX, KLT_MODE_WRITE, OP_TRY)
UHOOK_ACQ(pthread_rwlock_rdlock, KLT_LK_PTHREAD_RWLOCK, KLT_MODE_RREAD, OP_BLOCK_RET0)
UHOOK_ACQ(pthread_rwlock_wrlock, KLT_LK_PTHREAD_RWLOCK, KLT_MODE_WRITE, OP_BLOCK_RET0)
UHOOK_ACQ(pthread_rwlock_tryrdlock, KLT_LK_PTHREAD_RWLOCK, KLT_MODE_RREAD, OP_TRY)
UHOOK_ACQ(pthread_rwlock_trywrlock, KLT_LK_PTHREAD_RWLOCK, KLT_MODE_WRITE, OP_TRY)

SEC("uprobe")
int BPF_KPROBE(up_pthread_mutex_unlock, void *lock)
{
	return rel(user_key((__u64)lock), KLT_LK_PTHREAD_MUTEX, false);
}

SEC("uprobe")
int BPF_KPROBE(up_pthread_rwlock_unlock, void *lock)
{
	return rel(user_key((__u64)lock), KLT_LK_PTHREAD_RWLOCK, false);
}

SEC("uprobe")
int BPF_KPROBE(up_pthread_mutex_destroy, void *lock)
{
	return user_destroy((__u64)lock);
}

SEC("uprobe")
int BPF_KPROBE(up_pthread_rwlock_destroy, void *lock)
{
	return user_destroy((__u64)lock);
}

/*
 * KVM functions (names differ across versions: userspace loads the ones the kernel has).
 * Entry/exit events tell which KVM paths ran; kvm_suspend/kvm_resume (the kvm module's
 * syscore hooks, attached as "kvm:kvm_suspend" by userspace) are suspend phases, so a watched
 * lock held when they run is reported like any suspend-time holder.
 */
static __always_inline int func_ev(void *ctx, __u16 type, long ret)
{
	struct klt_event *e;

	if (filtered())
		return 0;
	e = ev_reserve(type);
	if (!e)
		return 0;
	e->lock = bpf_get_func_ip(ctx);
	e->aux2 = ret;
	ev_submit(e);
	return 0;
}

static __always_inline int pm_ev(__u16 type, __u32 phase)
{
	struct klt_event *e = ev_reserve(type);

	if (!e)
		return 0;
	e->aux0 = phase; /* lock == 0: phase is already decoded */
	ev_submit(e);
	return 0;
}

#define HOOK_FUNC(fn)                                                                           \
	SEC("fentry/" #fn)                                                                      \
	int BPF_PROG(fe_##fn)                                                                   \
	{                                                                                       \
		return func_ev(ctx, KLT_EV_FUNC_ENTER, 0);                                      \
	}                                                                                       \
	SEC("fexit/" #fn) /* prototypes differ (void or int): the return value is not read */ \
	int BPF_PROG(fx_##fn)                                                                   \
	{                                                                                       \
		return func_ev(ctx, KLT_EV_FUNC_EXIT, 0);                                       \
	}                                                                                       \
	SEC("kprobe/" #fn)                                                                      \
	int BPF_KPROBE(kp_##fn)                                                                 \
	{                                                                                       \
		return func_ev(ctx, KLT_EV_FUNC_ENTER, 0);                                      \
	}                                                                                       \
	SEC("kretprobe/" #fn)                                                                   \
	int BPF_KRETPROBE(kr_##fn, long ret)                                                    \
	{                                                                                       \
		return func_ev(ctx, KLT_EV_FUNC_EXIT, ret);                                     \
	}

HOOK_FUNC(kvm_online_cpu)
HOOK_FUNC(kvm_offline_cpu)
HOOK_FUNC(kvm_starting_cpu)
HOOK_FUNC(kvm_dying_cpu)
HOOK_FUNC(hardware_enable_all)
HOOK_FUNC(hardware_disable_all)
HOOK_FUNC(kvm_enable_virtualization)
HOOK_FUNC(kvm_disable_virtualization)
HOOK_FUNC(hardware_enable_nolock)
HOOK_FUNC(kvm_enable_virtualization_cpu)

/*
 * KVM objects: a hook on a function that is handed a new struct kvm / struct kvm_vcpu early
 * (before its locks are used) tells userspace the object's address; it names the locks inside
 * from BTF (kvm->slots_lock, vcpu->mutex, ...), so per-VM locks get their lockdep-style class
 * names and the rules about them apply.
 */
static __always_inline int obj_ev(void *ctx, void *obj, __u32 objkind)
{
	struct klt_event *e;

	if (!obj || filtered())
		return 0;
	e = ev_reserve(KLT_EV_FUNC_ENTER);
	if (!e)
		return 0;
	e->lock = bpf_get_func_ip(ctx);
	e->flags = KLT_F_OBJECT;
	/* aux0 | aux1 << 32 in one store: fentry hands a typed pointer, which the verifier does
	 * not let us shift */
	*(void **)&e->aux0 = obj;
	e->aux2 = (__s32)objkind;
	ev_submit(e);
	return 0;
}

#define HOOK_OBJ(fn, objkind)                                                                   \
	SEC("fentry/" #fn)                                                                      \
	int BPF_PROG(fe_##fn, void *obj)                                                        \
	{                                                                                       \
		return obj_ev(ctx, obj, objkind);                                        \
	}                                                                                       \
	SEC("kprobe/" #fn)                                                                      \
	int BPF_KPROBE(kp_##fn, void *obj)                                                      \
	{                                                                                       \
		return obj_ev(ctx, obj, objkind);                                        \
	}

/* kvm_create_vm() initializes the VM's locks, then calls kvm_arch_init_vm(kvm, type);
 * kvm_vm_ioctl_create_vcpu() calls kvm_arch_vcpu_create(vcpu) after kvm_vcpu_init(). */
HOOK_OBJ(kvm_arch_init_vm, KLT_OBJ_KVM)
HOOK_OBJ(kvm_arch_vcpu_create, KLT_OBJ_VCPU)

/* Module-qualified kprobes (vmlinux has a paravirt kvm_suspend too): attached by userspace. */
SEC("kprobe")
int BPF_KPROBE(kq_kvm_suspend)
{
	return pm_ev(KLT_EV_PM_BEGIN, KLT_PM_KVM_SUSPEND);
}

SEC("kretprobe")
int BPF_KRETPROBE(kqr_kvm_suspend)
{
	return pm_ev(KLT_EV_PM_END, KLT_PM_KVM_SUSPEND);
}

SEC("kprobe")
int BPF_KPROBE(kq_kvm_resume)
{
	return pm_ev(KLT_EV_PM_BEGIN, KLT_PM_KVM_RESUME);
}

SEC("kretprobe")
int BPF_KRETPROBE(kqr_kvm_resume)
{
	return pm_ev(KLT_EV_PM_END, KLT_PM_KVM_RESUME);
}

/* ---- tracepoints: available on every kernel, the degraded mode's whole view ---------- */

/* STARTING/DYING callbacks (between CPUHP_AP_OFFLINE and CPUHP_AP_ONLINE) run with irqs off. */
static __always_inline __u32 cpuhp_flags(int idx)
{
	int lo = bpf_core_enum_value(enum cpuhp_state, CPUHP_AP_OFFLINE);
	int hi = bpf_core_enum_value(enum cpuhp_state, CPUHP_AP_ONLINE);

	return idx > lo && idx < hi ? KLT_F_CPUHP_ATOMIC : 0;
}

/*
 * A hotplug callback runs with cpu_hotplug_lock held by the task driving the operation (write
 * for CPU up/down, read for cpuhp_setup_state()), often in another task (the cpuhp/N thread).
 * Like lockdep's cpuhp_state maps, model that as an implied read hold by the task running the
 * callback, so locks taken inside callbacks get their cpu_hotplug_lock -> lock edges.
 */
static __always_inline void implicit_push(struct task_state *st)
{
	__u32 depth = st->depth;

	if (!cpu_hotplug_lock_addr)
		return;
	if (depth >= MAX_HELD) {
		__sync_fetch_and_add(&cnt_depth_overflow, 1);
		return;
	}
	st->held[depth].lock = cpu_hotplug_lock_addr;
	st->held[depth].chain = chain_next(chain_top(st, depth), cpu_hotplug_lock_addr);
	st->held[depth].stack_id = KLT_NO_STACK;
	st->held[depth].mode = KLT_MODE_READ;
	st->held[depth].kind = KLT_LK_PERCPU_RWSEM;
	st->held[depth].watched = 1;
	st->held[depth].implicit = 1;
	st->depth = depth + 1;
	st->nwatched++;
	ev_lock(KLT_EV_ACQUIRED, cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ, 0,
		KLT_NO_STACK, KLT_F_IMPLICIT);
}

static __always_inline void implicit_pop(struct task_state *st)
{
	__u32 depth = st->depth;
	int found = -1;

	/* the most recent implied hold; locks a callback leaked stay above it */
	for (int i = MAX_HELD - 1; i >= 0; i--) {
		if (i >= depth)
			continue;
		if (st->held[i].implicit) {
			found = i;
			break;
		}
	}
	if (found < 0)
		return;
	for (int i = 0; i < MAX_HELD - 1; i++) {
		if (i < found || i + 1 >= depth)
			continue;
		st->held[i] = st->held[i + 1];
	}
	chain_fix(st, found, depth - 1);
	st->depth = depth - 1;
	if (st->nwatched)
		st->nwatched--;
	ev_lock(KLT_EV_RELEASE, cpu_hotplug_lock_addr, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ, 0,
		KLT_NO_STACK, KLT_F_IMPLICIT);
}

static __always_inline int cpuhp_enter(unsigned int cpu, int target, int idx, void *fun,
				       __u32 flags)
{
	struct task_state *st;
	struct klt_event *e;

	if (filtered())
		return 0;
	e = ev_reserve(KLT_EV_CPUHP_ENTER);
	if (e) {
		e->lock = (__u64)fun;
		e->aux0 = cpu;
		e->aux1 = target;
		e->aux2 = idx;
		e->flags = flags | cpuhp_flags(idx);
		ev_submit(e);
	}
	/* Locks taken inside a hotplug callback are in scope: mark the task. */
	st = task_get(true);
	if (st) {
		st->in_cpuhp++;
		st->cpuhp_atomic = cpuhp_flags(idx) ? 1 : 0;
		implicit_push(st);
	}
	return 0;
}

SEC("tracepoint/cpuhp/cpuhp_enter")
int tp_cpuhp_enter(struct trace_event_raw_cpuhp_enter *ctx)
{
	return cpuhp_enter(ctx->cpu, ctx->target, ctx->idx, ctx->fun, 0);
}

SEC("tracepoint/cpuhp/cpuhp_multi_enter")
int tp_cpuhp_multi_enter(struct trace_event_raw_cpuhp_multi_enter *ctx)
{
	return cpuhp_enter(ctx->cpu, ctx->target, ctx->idx, ctx->fun, KLT_F_CPUHP_MULTI);
}

SEC("tracepoint/cpuhp/cpuhp_exit")
int tp_cpuhp_exit(struct trace_event_raw_cpuhp_exit *ctx)
{
	struct task_state *st;
	struct klt_event *e;

	if (filtered())
		return 0;
	st = task_get(false);
	if (st && st->in_cpuhp) {
		implicit_pop(st);
		st->in_cpuhp--;
	}
	e = ev_reserve(KLT_EV_CPUHP_EXIT);
	if (!e)
		return 0;
	e->aux0 = ctx->cpu;
	e->aux1 = ctx->state;
	e->aux2 = ctx->ret;
	e->flags = cpuhp_flags(ctx->idx);
	ev_submit(e);
	return 0;
}

/* Only contention on locks in scope: watched ones, or everything with --all. */
static __always_inline bool contention_in_scope(__u64 lock)
{
	if (filtered())
		return false;
	return trace_all || lock_watched(lock);
}

SEC("tracepoint/lock/contention_begin")
int tp_contention_begin(struct trace_event_raw_contention_begin *ctx)
{
	struct klt_event *e;

	if (!contention_in_scope((__u64)ctx->lock_addr))
		return 0;
	e = ev_reserve(KLT_EV_CONTEND_BEGIN);
	if (!e)
		return 0;
	e->lock = (__u64)ctx->lock_addr;
	e->aux0 = ctx->flags;
	ev_submit(e);
	return 0;
}

SEC("tracepoint/lock/contention_end")
int tp_contention_end(struct trace_event_raw_contention_end *ctx)
{
	struct klt_event *e;

	if (!contention_in_scope((__u64)ctx->lock_addr))
		return 0;
	e = ev_reserve(KLT_EV_CONTEND_END);
	if (!e)
		return 0;
	e->lock = (__u64)ctx->lock_addr;
	e->aux2 = ctx->ret;
	ev_submit(e);
	return 0;
}

/*
 * power:suspend_resume names its phase with a string in kernel rodata, which userspace cannot
 * read: hash it here (FNV-1a, 32 bit, up to 32 bytes) and let userspace map the hash to
 * enum klt_pm_phase (src/live/tracer.c computes the same hash over the known names).
 */
SEC("tracepoint/power/suspend_resume")
int tp_suspend_resume(struct trace_event_raw_suspend_resume *ctx)
{
	struct klt_event *e;
	char name[32] = {};
	__u32 h = 2166136261u;

	bpf_probe_read_kernel_str(name, sizeof(name), ctx->action);
	for (int i = 0; i < (int)sizeof(name); i++) {
		if (!name[i])
			break;
		h = (h ^ (__u8)name[i]) * 16777619u;
	}
	e = ev_reserve(ctx->start ? KLT_EV_PM_BEGIN : KLT_EV_PM_END);
	if (!e)
		return 0;
	e->lock = h;
	e->aux1 = ctx->val;
	ev_submit(e);
	return 0;
}

/* Tasks that exit while holding locks: report and forget their state. */
/*
 * Modules loaded while tracing (kvm_amd by a workload, a driver): counted here, and userspace
 * re-reads kallsyms when the count moved before it names the next frame or lock. The count is
 * bumped before the module's code runs, so its frames and static locks are never looked up in
 * a kallsyms read before it existed (they were named ftrace_trampoline+0x21b0, or not at all).
 */
__u64 module_loads = 0;

SEC("tracepoint/module/module_load")
int tp_module_load(void *ctx)
{
	__sync_fetch_and_add(&module_loads, 1);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int tp_sched_exit(void *ctx)
{
	struct task_state *st = task_get(false);

	if (!st)
		return 0;
	if (st->nwatched) {
		struct klt_event *e = ev_reserve(KLT_EV_TASK_EXIT);

		if (e)
			ev_submit(e);
	}
	bpf_task_storage_delete(&tasks, bpf_get_current_task_btf());
	return 0;
}
