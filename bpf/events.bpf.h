/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Part of bpf/klt.bpf.c: events that are not lock operations (KVM functions and objects,
 * suspend phases, CPU-hotplug callbacks with their implied cpu_hotplug_lock hold, contention,
 * module loads, task exit). Bodies only: hooks.bpf.h generates the programs.
 */

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

/*
 * KVM objects: a hook on a function that is handed a new struct kvm / struct kvm_vcpu early
 * (before its locks are used) tells userspace the object's address; it names the locks inside
 * from BTF (kvm->slots_lock, vcpu->mutex, ...), so per-VM locks get their lockdep-style class
 * names and the rules about them apply. The same hook puts them in the default scope; a hook on
 * the object's destruction (KLT_OBJ_GONE) takes them out.
 */
static __always_inline int obj_ev(void *ctx, void *obj, __u64 num, __u32 objkind)
{
	struct klt_event *e;

	if (objkind & KLT_OBJ_GONE) {
		scope_update(num, objkind & ~KLT_OBJ_GONE, false);
		return 0;
	}
	scope_update(num, objkind, true);
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

/* ---- tracepoints (programs tp_<name> call on_<name>) ------------------------------- */

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
	if (!cpu_hotplug_lock_addr)
		return;
	if (!held_push(st, cpu_hotplug_lock_addr, cpu_hotplug_lock_addr, 0,
		       chain_push(st, cpu_hotplug_lock_addr),
		       KLT_NO_STACK, KLT_MODE_READ, KLT_LK_PERCPU_RWSEM, 1, 1))
		return;
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
	held_remove(st, found, depth);
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

static __always_inline int on_cpuhp_enter(struct trace_event_raw_cpuhp_enter *ctx)
{
	return cpuhp_enter(ctx->cpu, ctx->target, ctx->idx, ctx->fun, 0);
}

static __always_inline int on_cpuhp_multi_enter(struct trace_event_raw_cpuhp_multi_enter *ctx)
{
	return cpuhp_enter(ctx->cpu, ctx->target, ctx->idx, ctx->fun, KLT_F_CPUHP_MULTI);
}

static __always_inline int on_cpuhp_exit(struct trace_event_raw_cpuhp_exit *ctx)
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

static __always_inline int on_contention_begin(struct trace_event_raw_contention_begin *ctx)
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

static __always_inline int on_contention_end(struct trace_event_raw_contention_end *ctx)
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
 * enum klt_pm_phase (src/live/decode.c: klt_fnv1a32 over the known names).
 */
static __always_inline int on_suspend_resume(struct trace_event_raw_suspend_resume *ctx)
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

static __always_inline int on_module_load(void *ctx)
{
	__sync_fetch_and_add(&module_loads, 1);
	return 0;
}

static __always_inline int on_sched_exit(void *ctx)
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
