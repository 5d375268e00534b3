/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Part of bpf/klt.bpf.c: the lock operations every attach type shares (acquire entry and exit,
 * release, downgrade, the mm_take_all_locks nest section, user lock keys). The programs that
 * call them are generated from the hook table (hooks.bpf.h).
 */
static __always_inline int acq_exit(long ret, enum op op);

/*
 * Lockdep's per-filesystem-type classes, which lockdep_set_class() sets and a production
 * kernel leaves out: inode_init_always() gives every inode's i_rwsem the class of its
 * filesystem type (sb->s_type->i_mutex_key), directories a second one (i_mutex_dir_key, from
 * lockdep_annotate_inode_mutex_key()), and mapping->invalidate_lock one per type too. Without
 * them all inodes share the init-site class &inode->i_rwsem, and the mmap_lock -> i_rwsem
 * that hugetlbfs_file_mmap() takes and the i_rwsem -> mmap_lock of a write or readdir that
 * faults on ext4 make a class cycle lockdep never sees. The class becomes the
 * file_system_type: its key is the type's address, its name string address a pseudo address
 * inside that (8-aligned) struct, fst + REF_OFF_*, that no lock or other name string can have;
 * announce() composes the name (lockdep's key name and the type: &type->i_mutex_dir_key[ext4]).
 */
enum refine { REF_NONE = 1, REF_I_RWSEM = 2, REF_INVAL = 3 };
#define REF_DIR 0x10
#define REF_OFF_I_RWSEM 1     /* + 1 for a directory */
#define REF_OFF_INVAL 3
#define KLT_S_IFMT 00170000
#define KLT_S_IFDIR 0040000

static __always_inline bool str_is(const char *buf, const char *lit, int n)
{
	for (int i = 0; i < n; i++)
		if (buf[i] != lit[i])
			return false;
	return true;
}

#define NAME_I_RWSEM "&inode->i_rwsem"
#define NAME_INVAL "&mapping->invalidate_lock"

/*
 * At a lock's first acquisition (not at its initialization: the inode's mode is set after
 * inode_init_always()), once: re-key an inode lock to its filesystem type. Global: checked
 * once by the verifier.
 */
__noinline int lock_refine(__u64 lock)
{
	struct lock_info *li = bpf_map_lookup_elem(&lockinfo, &lock);
	struct file_system_type *fst;
	struct inode *inode;
	__u8 code = REF_NONE, *cached;
	char buf[32] = {};
	__u64 pseudo;
	__u16 mode;

	if (!li || li->checked)
		return 0;
	li->checked = 1;
	cached = bpf_map_lookup_elem(&name_refine, &li->name);
	if (cached) {
		code = *cached;
	} else {
		if (bpf_probe_read_kernel_str(buf, sizeof(buf), (void *)li->name) > 0) {
			if (str_is(buf, NAME_I_RWSEM, sizeof(NAME_I_RWSEM)))
				code = REF_I_RWSEM;
			else if (str_is(buf, NAME_INVAL, sizeof(NAME_INVAL)))
				code = REF_INVAL;
		}
		bpf_map_update_elem(&name_refine, &li->name, &code, BPF_ANY);
	}
	if (code == REF_I_RWSEM)
		inode = (void *)(lock - bpf_core_field_offset(struct inode, i_rwsem));
	else if (code == REF_INVAL)
		inode = (void *)(lock - bpf_core_field_offset(struct inode, i_data) -
				 bpf_core_field_offset(struct address_space, invalidate_lock));
	else
		return 0;
	fst = BPF_CORE_READ(inode, i_sb, s_type);
	if (!fst || ((__u64)fst & 7))
		return 0;
	if (code == REF_I_RWSEM) {
		mode = BPF_CORE_READ(inode, i_mode);
		if ((mode & KLT_S_IFMT) == KLT_S_IFDIR) {
			code |= REF_DIR;
			pseudo = (__u64)fst + REF_OFF_I_RWSEM + 1;
		} else {
			pseudo = (__u64)fst + REF_OFF_I_RWSEM;
		}
	} else {
		pseudo = (__u64)fst + REF_OFF_INVAL;
	}
	/* key: the type (its lock_class_key members live there); name: which of its keys */
	li->refine = code;
	li->key = (__u64)fst;
	li->name = pseudo;
	li->cls = chain_next(chain_next((__u64)fst, pseudo), li->kind);
	return 0;
}

/* Copy a string literal's n bytes (no NUL) to dst; returns n. */
static __always_inline int put_lit(char *dst, const char *lit, int n)
{
	for (int i = 0; i < n; i++)
		dst[i] = lit[i];
	return n;
}

/* dst = PREFIX + the file system type's name + "]": the name of a refined class. */
#define REF_NAME(dst, prefix, fst)                                                             \
	({                                                                                     \
		const char __p[] = prefix;                                                     \
		int __n = put_lit(dst, __p, sizeof(__p) - 1);                                  \
		const char *__fs = BPF_CORE_READ((struct file_system_type *)(fst), name);      \
		long __l = bpf_probe_read_kernel_str(dst + sizeof(__p) - 1,                    \
						     KLT_CLASS_NAME_LEN - sizeof(__p), __fs);  \
		__u32 __e = __n + (__l > 0 ? __l - 1 : 0);                                     \
		if (__e < KLT_CLASS_NAME_LEN - 1) {                                            \
			dst[__e] = ']';                                                        \
			dst[__e + 1] = 0;                                                      \
		}                                                                              \
	})

static __always_inline void refined_name(char *dst, __u8 refine, __u64 pseudo)
{
	__u64 fst = pseudo & ~7ull;

	if (refine == (REF_I_RWSEM | REF_DIR))
		REF_NAME(dst, "&type->i_mutex_dir_key[", fst);
	else if (refine == REF_I_RWSEM)
		REF_NAME(dst, "&sb->s_type->i_mutex_key[", fst);
	else
		REF_NAME(dst, "mapping.invalidate_lock[", fst);
}

/*
 * LOCK_INIT for a (re)initialized lock about to appear in an EDGE record, once per
 * initialization, with the class name the first time its key is sent. The record is reserved
 * before `announced` is claimed, so any EDGE another CPU sends after seeing the claim comes
 * after it in the ring buffer (records are read in reservation order); the loser of the race
 * discards its record. Out of line: the edge loop calls it at two sites.
 */
__noinline int announce(__u64 lock)
{
	struct lock_info *li = bpf_map_lookup_elem(&lockinfo, &lock);
	struct klt_init_rec *r;
	__u64 key;
	__u8 one = 1;
	bool named;

	if (!li || li->announced)
		return 0;
	key = li->key;
	/* keyed by the name string: the class's name is sent once */
	named = bpf_map_lookup_elem(&class_names_sent, &li->name) != NULL;
	r = named ? bpf_ringbuf_reserve(&events, sizeof(struct klt_event), 0) :
		    bpf_ringbuf_reserve(&events, sizeof(struct klt_init_rec), 0);
	if (!r) {
		__sync_fetch_and_add(&cnt_ringbuf_full, 1);
		return 0;
	}
	if (__sync_val_compare_and_swap(&li->announced, 0, 1) != 0) {
		bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
		return 0;
	}
	ev_init(&r->ev, KLT_EV_LOCK_INIT);
	r->ev.lock = lock;
	r->ev.kind = li->kind;
	r->ev.aux0 = (__u32)key;
	r->ev.aux1 = (__u32)(key >> 32);
	r->ev.ip = li->name; /* the class: key and name (struct lock_info) */
	if (!named) {
		if (li->refine)
			refined_name(r->name, li->refine, li->name);
		else if (bpf_probe_read_kernel_str(r->name, sizeof(r->name), (void *)li->name) < 0)
			r->name[0] = 0;
		bpf_map_update_elem(&class_names_sent, &li->name, &one, BPF_ANY);
	}
	ev_submit(&r->ev);
	return 0;
}

/*
 * __mutex_init(lock, name, key), __init_rwsem(...), __percpu_init_rwsem(...): a new instance
 * at lock, of the class the kernel names even without lockdep (struct lock_info). No scope
 * filter: any task may initialize a lock the traced ones take later.
 */
static __always_inline int lock_init(__u64 lock, __u64 name, __u64 key, __u8 kind)
{
	struct lock_info li = {};

	if (!lock || !key)
		return 0;
	li.key = key;
	li.name = name;
	li.kind = kind;
	li.cls = chain_next(chain_next(key, name), kind);
	li.id = chain_next(lock, bpf_ktime_get_ns());
	bpf_map_update_elem(&lockinfo, &lock, &li, BPF_ANY);
	return 0;
}

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

/*
 * Is held[i] -> this acquisition a new edge? Claims it in the edge cache: 1 new (send it), 0
 * known, not an order (recursion on one instance) or refused by the cache (counted, and
 * st->edge_miss set: a flag in memory, not a register the verifier follows). A
 * global function: the verifier checks it once, not once per held lock and path of every
 * acquisition program (inlined, the edge-key choice between class pair and instance pair made
 * those 2.8x the instructions processed; docs/performance.md, "Verifier cost").
 */
__noinline int edge_new(struct task_state *st, __u32 i, __u64 id, __u64 li_cls, __u8 mode)
{
	struct edge_key key;
	struct held *h;
	__u64 one = 1;

	__u32 depth, g = MAX_HELD;

	if (!st || i >= MAX_HELD)
		return 0;
	h = &st->held[i];
	if (h->id == id)
		return 0; /* recursion on the same instance: not an order */
	if (li_cls && h->cls && h->cls != li_cls) {
		/* two init-site classes: one record per class pair and modes */
		key.held = h->cls;
		key.lock = chain_next(li_cls, (__u64)h->mode << 8 | mode);
	} else {
		key.held = h->id;
		key.lock = id;
	}
	/* the guard candidate: the outermost other lock held exclusively (a sleeping lock in
	 * WRITE mode), as the engine takes from full lock events; part of the key, so the pair
	 * seen under another guard or none is sent again and the engine intersects */
	depth = st->depth;
	for (__u32 j = 0; j < MAX_HELD; j++) {
		if (j >= depth)
			break;
		if (j == i || st->held[j].id == id || st->held[j].mode != KLT_MODE_WRITE ||
		    (st->held[j].kind != KLT_LK_MUTEX && st->held[j].kind != KLT_LK_RWSEM &&
		     st->held[j].kind != KLT_LK_PERCPU_RWSEM))
			continue;
		g = j;
		break;
	}
	st->edge_guard = g;
	if (g < MAX_HELD)
		key.lock = chain_next(key.lock, st->held[g].id);
	if (bpf_map_lookup_elem(&edges, &key))
		return 0; /* known: nothing to do (no count: keep the hot path lean) */
	if (!bpf_map_update_elem(&edges, &key, &one, BPF_NOEXIST))
		return 1;
	/* -EEXIST: another CPU won the race; anything else: map full */
	if (bpf_map_lookup_elem(&edges, &key))
		return 0;
	__sync_fetch_and_add(&cnt_edge_map_full, 1);
	st->edge_miss = 1; /* the chain is not all known: look again next time */
	return 0;
}

/*
 * EDGE_GUARD before the EDGE held[i] -> lock, if edge_new() found a guard (klt_abi.h). Global,
 * as edge_new(): checked once by the verifier.
 */
__noinline int edge_guard_send(struct task_state *st, __u32 i, __u64 lock)
{
	struct klt_event *e;
	__u32 g;

	if (!st || i >= MAX_HELD)
		return 0;
	g = st->edge_guard;
	if (g >= MAX_HELD)
		return 0;
	announce(st->held[g].lock);
	e = ev_reserve(KLT_EV_EDGE_GUARD);
	if (!e)
		return 0;
	e->lock = st->held[g].lock;
	e->kind = st->held[g].kind;
	e->mode = st->held[g].mode;
	e->ip = lock;
	e->aux0 = (__u32)st->held[i].lock;
	e->aux1 = (__u32)(st->held[i].lock >> 32);
	ev_submit(e);
	return 0;
}

/*
 * Acquisition entry. Adds held -> lock edges (new ones are sent with one stack capture) and
 * remembers the acquisition so the exit can push it. Trylocks only remember. About 100 lines,
 * kept as one: the scope filter, the edge walk and the events share the stack id and call site
 * captured at most once, and the hot path's early returns read best in one place.
 */
static __always_inline int acq_enter(void *ctx, __u64 lock, __u8 kind, __u8 mode,
				     enum ipsrc ipsrc, enum op op, bool user)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st;
	struct lock_info *li;
	bool is_watched, scoped = false, new_edge = false;
	__s32 stack_id = KLT_NO_STACK;
	__u64 ip = 0, chain = 0, id, cls;
	__u32 depth;

	if (!lock || task_filtered(task))
		return 0;
	/* user-space locks are never on the (kernel) watch list */
	is_watched = !user && lock_watched(lock);
	st = task_get_of(task, false);
	/* Early scope filter: outside the KVM/hotplug scope a task holding nothing watched
	 * costs two table probes and a task-storage lookup. A per-VM lock (scope table) brings
	 * its task into scope without full events. */
	if (!trace_all && !user && !is_watched) {
		scoped = lock_scoped(lock);
		if (!scoped && !(st && (st->nwatched || st->in_cpuhp)))
			return 0;
	}
	if (!st) {
		st = task_get_of(task, true);
		if (!st)
			return 0;
	}
	/* no activity count here: it would cost a map lookup on every in-scope acquisition */
	depth = st->depth;
	/* the instance: a lock initialized while tracing has an identity of its own */
	/* read once into scalars: a maybe-NULL pointer kept live to the end doubles the paths
	 * the verifier walks through the rest of this function */
	li = user ? NULL : bpf_map_lookup_elem(&lockinfo, &lock);
	id = lock;
	cls = 0;
	if (li) {
		if (!li->checked)
			lock_refine(lock); /* the per-filesystem-type classes, once */
		id = li->id;
		cls = li->cls;
	}
	chain = chain_next(chain_top(st, depth), id);
	if (op != OP_TRY && depth && chain_cache[chain & (CHAIN_SLOTS - 1)] != chain) {
		st->edge_miss = 0;
		for (int i = 0; i < MAX_HELD; i++) {
			if (i >= depth)
				break;
			if (!edge_new(st, i, id, cls, mode))
				continue;
			if (!new_edge) {
				new_edge = true;
				stack_id = capture_stack(ctx, user);
				ip = call_site(ctx, ipsrc);
				announce(lock);
			}
			/* unconditional: a branch here costs the verifier more than the lookup
			 * costs a new edge (announce() returns for a lock never initialized) */
			announce(st->held[i].lock);
			edge_guard_send(st, i, lock);
			act_inc(ACT_NEW_EDGES);
			struct klt_event *e = ev_reserve(KLT_EV_EDGE);

			if (!e)
				continue;
			e->lock = lock;
			e->kind = kind;
			e->mode = op == OP_SYNC ? KLT_MODE_WRITE : mode;
			e->ip = ip;
			e->stack_id = stack_id;
			/* the held lock's address, never key.held (an instance or class hash):
			 * the engine names instances by address and LOCK_INIT */
			e->aux0 = (__u32)st->held[i].lock;
			e->aux1 = (__u32)(st->held[i].lock >> 32);
			e->aux2 = st->held[i].stack_id;
			e->flags = ((__u32)st->held[i].mode << KLT_F_HELD_MODE_SHIFT) |
				   ((__u32)st->held[i].kind << KLT_F_HELD_KIND_SHIFT) |
				   (user ? KLT_F_USER : 0);
			ev_submit(e);
		}
		if (!st->edge_miss)
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
	st->pend_id = id;
	st->pend_cls = cls;
	st->pend_ip = ip;
	st->pend_stack = stack_id;
	st->pend_mode = mode;
	st->pend_kind = kind;
	st->pend_watched = is_watched ? WATCH_FULL : scoped ? WATCH_SCOPE : WATCH_NONE;
	st->pend_valid = 1;
	if (op == OP_SRCU_READ) /* never blocks: push now, no exit program needed */
		goto push;
	if (op == OP_HOLD) /* acquired on entry: the exit program releases it */
		return acq_exit(0, OP_BLOCK);
	return 0;
push:
	st->pend_valid = 0;
	held_push(st, lock, id, cls, chain, stack_id, mode, kind, st->pend_watched, 0);
	return 0;
}

/* Acquisition exit: push the pending lock if it was acquired. */
static __always_inline int acq_exit(long ret, enum op op)
{
	struct task_state *st = task_get(false);
	bool ok;

	if (!st || !st->pend_valid)
		return 0;
	st->pend_valid = 0;
	ok = op == OP_TRY ? ret == 1 : op == OP_BLOCK_RET0 ? ret == 0 : true;
	if (st->pend_watched == WATCH_FULL || st->in_cpuhp || full_events)
		ev_lock(op == OP_TRY ? (ok ? KLT_EV_TRY_OK : KLT_EV_TRY_FAIL) :
				       (ok ? KLT_EV_ACQUIRED : KLT_EV_TRY_FAIL),
			st->pend_lock, st->pend_kind, st->pend_mode, st->pend_ip, st->pend_stack, 0);
	if (!ok)
		return 0;
	held_push(st, st->pend_lock, st->pend_id, st->pend_cls, chain_push(st, st->pend_id),
		  st->pend_stack, st->pend_mode, st->pend_kind, st->pend_watched, 0);
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
		was_watched = st->held[found].watched == WATCH_FULL;
		kind = st->held[found].kind;
	}
	held_remove(st, found, depth);
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

/* User-space locks (glibc). */

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
