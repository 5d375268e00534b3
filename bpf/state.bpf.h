/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Part of bpf/klt.bpf.c (included once, after its knobs): the per-task held-lock state, the
 * maps and counters, event records, the watch table, chain keys and the held stack itself
 * (held_push / held_remove).
 */
struct held {
	__u64 lock;
	__u64 id;    /* instance identity: lock, or lock_info.id after a (re)initialization */
	__u64 cls;   /* init-site class (lock_info.cls), 0 if the lock's init was not seen */
	__u64 chain; /* chain key of held[0..this] ids (see chain_next) */
	__s32 stack_id;
	__u8 mode, kind, watched, implicit; /* watched: 0, WATCH_FULL or WATCH_SCOPE */
};

/* Why a held lock keeps its task followed in the default scope: a watched lock (full lock
 * events, stacks), or a per-object lock of the scope table (only new dependencies, as EDGE). */
enum { WATCH_NONE = 0, WATCH_FULL = 1, WATCH_SCOPE = 2 };

struct task_state {
	__u32 depth;
	__u32 nwatched;	 /* watched or per-object scope locks among the held ones */
	__u32 in_cpuhp;	 /* inside a cpuhp callback (nesting count) */
	__u32 cpuhp_atomic;
	__u32 nest;	 /* enum nest_state: inside mm_take_all_locks() .. mm_drop_all_locks() */
	__u32 edge_miss; /* acq_enter: the edge cache refused one of this chain's edges */
	__u32 edge_guard; /* edge_new(): held[] index of the new edge's guard, MAX_HELD if none */
	/* blocking acquire in progress (entry seen, exit not yet) */
	__u64 pend_lock;
	__u64 pend_id;
	__u64 pend_cls;
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

/*
 * A dependency already sent: two instance identities (struct held.id), or, between locks of
 * two different init-site classes, the two classes and the dependency's modes (class_edge_key):
 * one instance pair per class pair and dependency type is enough for every class-level cycle,
 * and per-object locks (a VMA's lock, an inode's i_rwsem) would otherwise send one record per
 * new object. Locks of one class (nesting inside a class) and locks whose init was not seen
 * are keyed by instance: an ABBA between two instances of one class needs both pairs.
 */
struct edge_key {
	__u64 held;
	__u64 lock;
};

/*
 * Held -> new pairs already sent: a cache, not the graph (userspace keeps the graph). LRU: on
 * a busy host instance pairs never stop coming (every new inode, every new VM); when the map
 * is full the pair unused longest is forgotten and, if it is ever seen again, sent again (the
 * engine merges it). Nothing is lost; a real overload shows as ringbuf_full.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct edge_key);
	__type(value, __u64);
} edges SEC(".maps");

/*
 * Lock initializations seen (__mutex_init(lock, name, key), __init_rwsem, ...): the lockdep
 * class key and name the kernel passes even without lockdep, and a new identity for the
 * address, so a lock in reused memory (a freed inode's i_rwsem in the next inode) is a new
 * instance whose pairs are new. Sent to userspace (KLT_EV_LOCK_INIT) only once the instance
 * appears in an EDGE record. LRU: a lock initialized long ago and unused since may be
 * forgotten; it then falls back to the address as identity and to a call-site class: a loss
 * of naming precision, never of a dependency (nothing to count).
 */
struct lock_info {
	__u64 key;	 /* struct lock_class_key * (zero-size without lockdep: two init sites'
			  * keys may share an address, so the class is key and name together) */
	__u64 name;	 /* const char *: the class name */
	__u64 cls;	 /* the class: chain_next(chain_next(key, name), kind) */
	__u64 id;	 /* identity: chain_next(address, time of the initialization) */
	__u32 announced; /* LOCK_INIT sent (set with cmpxchg after reserving the record) */
	__u8 kind;
	__u8 checked;	 /* lock_refine() ran: the class is final */
	__u8 refine;	 /* enum refine | REF_DIR: a per-filesystem-type class (lock_refine) */
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, __u64);
	__type(value, struct lock_info);
} lockinfo SEC(".maps");

/* Class names sent, by the name string's address (it follows only the first LOCK_INIT of a
 * class name). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} class_names_sent SEC(".maps");

/*
 * Class names that lockdep refines with lockdep_set_class() (empty without lockdep), by the
 * name string's address: enum refine (REF_NONE: read and not one of them).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} name_refine SEC(".maps");

/* A LOCK_INIT ring-buffer record that carries its class name. */
struct klt_init_rec {
	struct klt_event ev;
	char name[KLT_CLASS_NAME_LEN];
};

/*
 * Locks whose every acquire/release is reported (cpu_hotplug_lock, kvm_lock, ...): an
 * open-addressed table filled by userspace after load (klt_watch_slot in klt_abi.h).
 */
__u64 watch_tab[KLT_WATCH_SLOTS] = {};

/*
 * The default scope's per-object locks (klt_abi.h, KLT_SCOPE_*): filled and emptied by the
 * object hooks themselves, from the lock offsets userspace found in BTF (obj_lock_off; written
 * after load and again when the kvm module loads late). scope_live counts occupied slots, so
 * a host without VMs skips the probe.
 */
__u64 scope_tab[KLT_SCOPE_SLOTS] = {};
__u32 obj_lock_off[KLT_OBJ_MAX][KLT_OBJ_LOCKS] = {};
__u32 obj_lock_n[KLT_OBJ_MAX] = {};
__s64 scope_live = 0;

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
	__uint(max_entries, 32768); /* = STACK_IDS in src/live/tracer_int.h; sparse to avoid collisions */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, KLT_MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Events to userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* Failure and activity counters: every drop is counted and userspace prints the non-zero ones
 * (docs/live-tracing.md). */
__u64 cnt_ringbuf_full = 0;
__u64 cnt_task_map_full = 0;
__u64 cnt_edge_map_full = 0;
__u64 cnt_stack_fail = 0;
__u64 cnt_depth_overflow = 0;
__u64 cnt_missed_release = 0;
__u64 cnt_scope_full = 0; /* a per-VM lock that found no free slot: its VM is only partly in scope */
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

/* Fill a reserved record's header: type, time, task, CPU, no stack. */
static __always_inline void ev_init(struct klt_event *e, __u16 type)
{
	__u64 id = bpf_get_current_pid_tgid();

	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->cpu = bpf_get_smp_processor_id();
	e->stack_id = KLT_NO_STACK;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline struct klt_event *ev_reserve(__u16 type)
{
	struct klt_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&cnt_ringbuf_full, 1);
		return NULL;
	}
	ev_init(e, type);
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

/* In the default scope's per-object table (a freed slot, KLT_SCOPE_GONE, is stepped over). */
static __always_inline bool lock_scoped(__u64 lock)
{
	if (scope_live <= 0)
		return false;
	for (__u32 i = 0; i < KLT_SCOPE_PROBES; i++) {
		__u64 w = scope_tab[klt_scope_slot(lock, i)];

		if (w == lock)
			return true;
		if (!w)
			return false;
	}
	return false;
}

/* One lock into (add) or out of the scope table: 0 done or nothing to do, -1 no free slot.
 * Early returns only: 6.1's verifier refuses a loop whose back-edge is a fall-through. */
static __always_inline int scope_slot_update(__u64 lock, bool add)
{
	for (__u32 p = 0; p < KLT_SCOPE_PROBES; p++) {
		__u64 *slot = &scope_tab[klt_scope_slot(lock, p)];
		__u64 w = *slot;

		if (w == lock) { /* add: already there (a reused address) */
			if (!add && __sync_val_compare_and_swap(slot, lock, KLT_SCOPE_GONE) == lock)
				__sync_fetch_and_add(&scope_live, -1);
			return 0;
		}
		if (!add && !w)
			return 0; /* remove: not in the table */
		if (add && (w == 0 || w == KLT_SCOPE_GONE) &&
		    __sync_val_compare_and_swap(slot, w, lock) == w) {
			__sync_fetch_and_add(&scope_live, 1);
			return 0;
		}
	}
	return add ? -1 : 0;
}

/*
 * The default scope follows a task holding one of a VM's locks (klt_abi.h, KLT_SCOPE_*): the
 * object hook puts them into the scope table (addr), or takes them out (KLT_SCOPE_GONE).
 * Only the hooks of VM/vCPU creation and destruction come here: a few times per VM.
 */
static __always_inline void scope_update(__u64 obj, __u32 kind, bool add)
{
	__u32 n;

	if (trace_all || !obj || kind >= KLT_OBJ_MAX)
		return; /* --all follows every lock already */
	n = obj_lock_n[kind];
	for (__u32 i = 0; i < KLT_OBJ_LOCKS; i++) {
		if (i >= n)
			break;
		if (scope_slot_update(obj + obj_lock_off[kind][i], add) < 0)
			__sync_fetch_and_add(&cnt_scope_full, 1);
	}
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

/* Chain key of a held stack whose top has key `prev`, after pushing `lock` (never 0); also
 * the identity of a (re)initialized lock: chain_next(address, time). */
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
					       st->held[i].id);
	}
}

/* Chain key of the held stack once the lock of identity `id` is pushed on it. */
static __always_inline __u64 chain_push(struct task_state *st, __u64 id)
{
	return chain_next(chain_top(st, st->depth), id);
}

/*
 * Push an acquisition onto the task's held stack (false if it is full: counted); chain is
 * chain_push(st, id). The one place held[] grows: every field is written, so a slot never
 * keeps a previous entry's bits.
 */
static __always_inline bool held_push(struct task_state *st, __u64 lock, __u64 id, __u64 cls,
				      __u64 chain,
				      __s32 stack_id, __u8 mode, __u8 kind, __u8 watched,
				      __u8 implicit)
{
	__u32 depth = st->depth;

	if (depth >= MAX_HELD) {
		__sync_fetch_and_add(&cnt_depth_overflow, 1);
		return false;
	}
	st->held[depth].lock = lock;
	st->held[depth].id = id;
	st->held[depth].cls = cls;
	st->held[depth].chain = chain;
	st->held[depth].stack_id = stack_id;
	st->held[depth].mode = mode;
	st->held[depth].kind = kind;
	st->held[depth].watched = watched;
	st->held[depth].implicit = implicit;
	st->depth = depth + 1;
	if (watched)
		st->nwatched++;
	return true;
}

/*
 * Remove held[found] (found < depth = st->depth): the entries above move down one slot and get
 * their chain keys recomputed. The one place held[] shrinks.
 */
static __always_inline void held_remove(struct task_state *st, int found, __u32 depth)
{
	bool was_watched = false;

	if (found >= 0 && found < MAX_HELD)
		was_watched = st->held[found].watched;
	for (int i = 0; i < MAX_HELD - 1; i++) {
		if (i < found || i + 1 >= depth)
			continue;
		st->held[i] = st->held[i + 1];
	}
	chain_fix(st, found, depth - 1);
	st->depth = depth - 1;
	if (was_watched && st->nwatched)
		st->nwatched--;
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
