// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Ring-buffer records to recorded events: decode each record, hand the recording the symbols
 * and stacks it needs first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "container.h"
#include "klt.skel.h"
#include "tracer_int.h"
#include "tracer_usym.h"
#include "hooks.h"

static int emit_sym(struct klt_tracer *t, const struct klt_sym *s)
{
	int err;

	if (klt_symtab_exact(t->emitted, s->addr, s->type))
		return 0;
	err = klt_symtab_add(t->emitted, s->addr, s->size, s->type, s->name, s->module);
	if (!err && t->cbs.sym)
		err = t->cbs.sym(t->cbs.ctx, s);
	return err;
}

/* Name the code at addr in the recording (kernel or, with --user, the process). */
static int emit_code(struct klt_tracer *t, pid_t pid, uint64_t addr, const char **name)
{
	const struct klt_sym *s;
	struct klt_sym us;
	uint64_t off;

	*name = NULL;
	if (!addr)
		return 0;
	if (t->usym && !klt_is_kernel_addr(addr)) {
		if (klt_usym_resolve(t->usym, pid, addr, false, &us))
			return 0;
		*name = us.name;
		return emit_sym(t, &us);
	}
	s = klt_symtab_lookup(t->ksyms, addr, &off);
	if (!s)
		return 0;
	*name = s->name;
	return emit_sym(t, s);
}

static int emit_lock(struct klt_tracer *t, pid_t pid, uint64_t addr)
{
	const struct klt_sym *s;
	struct klt_sym us;

	if (!addr)
		return 0;
	if (t->usym && !klt_is_kernel_addr(addr)) /* without the generation (klt_abi.h) */
		return klt_usym_resolve(t->usym, pid, addr & KLT_USER_ADDR_MASK, true, &us) ?
			       0 : emit_sym(t, &us);
	s = klt_symtab_exact(t->ksyms, addr, KLT_SYM_DATA);
	return s ? emit_sym(t, s) : 0;
}

/*
 * A stack captured in an fentry/fexit program starts in the tracer itself: the program
 * (bpf_prog_<tag>_fe_mutex_lock [bpf]) and the trampoline (bpf_trampoline_<id> [bpf]) that
 * called it from the traced function. They say nothing about the kernel's locking: drop them,
 * so a report's stack starts at the lock function (mutex_lock+0x9), as under kprobes.
 */
static uint32_t strip_own_frames(struct klt_tracer *t, uint64_t *ips, uint32_t nr)
{
	uint32_t skip = 0;
	uint64_t off;

	while (skip < nr && klt_is_kernel_addr(ips[skip])) {
		const struct klt_sym *s = klt_symtab_lookup(t->ksyms, ips[skip], &off);

		if (!s || !s->module || strcmp(s->module, "bpf"))
			break;
		skip++;
	}
	if (skip) {
		memmove(ips, ips + skip, (nr - skip) * sizeof(ips[0]));
		memset(ips + nr - skip, 0, skip * sizeof(ips[0]));
	}
	return nr - skip;
}

/*
 * Hand a BPF stack to the recording once; returns the first non-lock frame (the call site).
 * A user stack captured at a uprobe on function entry misses the immediate caller (its
 * return address is still on the stack, not in a frame record): splice `ip` in after frame 0,
 * under a synthetic id. *idp is updated to the id the event must carry.
 */
static int emit_stack(struct klt_tracer *t, pid_t pid, int32_t *idp, uint64_t ip, uint64_t *site)
{
	uint64_t ips[KLT_MAX_STACK_DEPTH + 1] = { 0 }, ssite = 0;
	int32_t id = *idp;
	uint32_t nr = 0;
	int err;

	if (id < 0 || id >= STACK_IDS)
		return 0;
	/* a kernel stack handed over before: its frames are named, its call site known (ids are
	 * never reused: the map is never cleared) — no map lookup, no symbol walk */
	if (!t->usym && t->stack_seen[id]) {
		if (site && !*site)
			*site = t->stack_site[id];
		return 0;
	}
	if (bpf_map__lookup_elem(t->skel->maps.stacks, &id, sizeof(id), ips,
				 KLT_MAX_STACK_DEPTH * sizeof(uint64_t), 0))
		return 0;
	while (nr < KLT_MAX_STACK_DEPTH && ips[nr])
		nr++;
	nr = strip_own_frames(t, ips, nr);
	if (t->usym && ip && nr >= 1 && ips[1] != ip) {
		size_t i;

		for (i = 0; i < t->nustacks; i++)
			if (t->ustacks[i].bpf_id == id && t->ustacks[i].ip == ip)
				break;
		if (i == t->nustacks && i < USTACK_IDS) {
			t->ustacks[i].bpf_id = id;
			t->ustacks[i].ip = ip;
			t->nustacks++;
		}
		if (i < USTACK_IDS) {
			memmove(&ips[2], &ips[1], (nr - 1) * sizeof(ips[0]));
			ips[1] = ip;
			nr++;
			id = STACK_IDS + (int32_t)i;
			*idp = id;
		}
	}
	for (uint32_t i = 0; i < nr; i++) {
		const char *name;

		err = emit_code(t, pid, ips[i], &name);
		if (err)
			return err;
		if (!ssite && name && !klt_is_lock_function(name))
			ssite = ips[i];
	}
	if (site && !*site)
		*site = ssite;
	if (t->stack_seen[id])
		return 0;
	t->stack_seen[id] = 1; /* stack_seen covers STACK_IDS + USTACK_IDS */
	if (id < STACK_IDS)
		t->stack_site[id] = ssite;
	return t->cbs.stack ? t->cbs.stack(t->cbs.ctx, id, ips, nr) : 0;
}

/* ---- kernel objects: name the locks inside struct kvm / struct kvm_vcpu from BTF ---------- */

/* Lock types the tracer hooks (spinlocks and rwlocks are not traced: not named either). */
static bool is_traced_lock_type(const char *name)
{
	static const char *const types[] = { "mutex", "rw_semaphore", "percpu_rw_semaphore",
					     "srcu_struct" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(name, types[i]))
			return true;
	return false;
}

static void layout_walk(struct obj_layout *L, const struct btf *btf, __u32 id, uint32_t base,
			const char *prefix, int depth)
{
	const struct btf_type *st = btf__type_by_id(btf, id);
	const struct btf_member *m;

	if (!st || (!btf_is_struct(st) && !btf_is_union(st)))
		return;
	m = btf_members(st);
	for (__u16 i = 0; i < btf_vlen(st); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		int tid = btf__resolve_type(btf, m->type);
		const struct btf_type *mt = tid > 0 ? btf__type_by_id(btf, tid) : NULL;
		uint32_t off = base + btf_member_bit_offset(st, i) / 8;
		char name[64];

		if (!mt || (!btf_is_struct(mt) && !btf_is_union(mt)))
			continue; /* arrays of locks and pointers are not named */
		if (snprintf(name, sizeof(name), "%s%s", prefix, mname ? mname : "") >=
		    (int)sizeof(name))
			continue; /* never a truncated (misleading) name */
		if (is_traced_lock_type(btf__name_by_offset(btf, mt->name_off))) {
			if (!mname || !*mname)
				continue;
			if (L->n == L->cap) {
				size_t cap = L->cap ? 2 * L->cap : 16;
				struct obj_lock *nl = realloc(L->locks, cap * sizeof(*nl));

				if (!nl)
					return;
				L->locks = nl;
				L->cap = cap;
			}
			L->locks[L->n].off = off;
			snprintf(L->locks[L->n].name, sizeof(L->locks[L->n].name), "%s", name);
			L->n++;
		} else if (depth < 3) {
			char sub[64];

			/* nested (kvm->arch.apic_map_lock) and anonymous members */
			if (snprintf(sub, sizeof(sub), "%s%s", mname && *mname ? name : prefix,
				     mname && *mname ? "." : "") >= (int)sizeof(sub))
				continue;
			layout_walk(L, btf, (__u32)tid, off, sub, depth + 1);
		}
	}
}

void klt_load_layouts(struct klt_tracer *t, const struct btf *vmlinux, const struct btf *kvm)
{
	static const struct {
		enum klt_obj obj;
		const char *type, *prefix;
	} objs[] = { { KLT_OBJ_KVM, "kvm", "kvm->" }, { KLT_OBJ_VCPU, "kvm_vcpu", "vcpu->" } };

	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		const struct btf *btf = kvm ? kvm : vmlinux;
		int id = btf ? btf__find_by_name_kind(btf, objs[i].type, BTF_KIND_STRUCT) : -1;

		if (id > 0)
			layout_walk(&t->objs[objs[i].obj], btf, (__u32)id, 0, objs[i].prefix, 0);
	}
}

/* The kvm module loaded after the tracer started: name the locks in its objects from its BTF. */
void klt_load_layouts_late(struct klt_tracer *t)
{
	struct btf *vmlinux, *kvm;

	if (t->objs[KLT_OBJ_KVM].n || !klt_path_exists("/sys/kernel/btf/kvm"))
		return;
	vmlinux = t->opts.btf ? btf__parse(t->opts.btf, NULL) : btf__load_vmlinux_btf();
	kvm = vmlinux ? btf__load_module_btf("kvm", vmlinux) : NULL;
	if (kvm) {
		klt_load_layouts(t, vmlinux, kvm);
		klt_scope_offsets(t);
	}
	btf__free(kvm);
	btf__free(vmlinux);
}

/*
 * The default scope's per-object locks: the offsets of every lock inside struct kvm and struct
 * kvm_vcpu, for the object hooks to put each new VM's locks into BPF's scope table (klt_abi.h,
 * KLT_SCOPE_*). Written into the mmapped .bss after load: the count last, so a hook never reads
 * an offset not yet stored. --all follows every lock and needs none.
 */
void klt_scope_offsets(struct klt_tracer *t)
{
	struct klt_bpf__bss *b = t->skel->bss;

	if (t->opts.all || t->opts.user)
		return;
	for (unsigned k = 1; k < KLT_OBJ_MAX; k++) {
		const struct obj_layout *L = &t->objs[k];
		size_t n = L->n < KLT_OBJ_LOCKS ? L->n : KLT_OBJ_LOCKS;

		for (size_t i = 0; i < n; i++)
			b->obj_lock_off[k][i] = L->locks[i].off;
		__atomic_store_n(&b->obj_lock_n[k], (__u32)n, __ATOMIC_RELEASE);
		t->scope_unnamed += L->n - n;
	}
}

size_t klt_tracer_scope_locks(const struct klt_tracer *t, unsigned kind)
{
	return kind < KLT_OBJ_MAX ? t->skel->bss->obj_lock_n[kind] : 0;
}

/* FUNC_ENTER of an object hook: name every lock inside the object, then record the entry. */
static int emit_object(struct klt_tracer *t, struct klt_event *ev)
{
	uint64_t obj = ev->aux0 | (uint64_t)ev->aux1 << 32;
	unsigned kind = (unsigned)ev->aux2;
	int err = 0;

	if (kind < KLT_OBJ_MAX) {
		const struct obj_layout *L = &t->objs[kind];

		for (size_t i = 0; i < L->n && !err; i++) {
			struct klt_sym s = { .addr = obj + L->locks[i].off, .type = KLT_SYM_CLASS,
					     .name = L->locks[i].name };

			err = emit_sym(t, &s);
		}
	}
	ev->flags = 0;
	ev->aux0 = ev->aux1 = 0;
	ev->aux2 = 0;
	return err;
}

static uint32_t pm_phase_of_hash(uint32_t h)
{
	for (unsigned p = 1; p < KLT_PM_MAX; p++) {
		const char *n = klt_pm_phase_name(p);

		if (n && klt_fnv1a32(n) == h)
			return p;
	}
	return KLT_PM_OTHER;
}

/* A module loaded since kallsyms was read (tp_module_load): name its code and locks, attach
 * the hooks that waited for it. */
void klt_module_check(struct klt_tracer *t)
{
	if (t->skel->bss->module_loads == t->module_loads)
		return;
	klt_reload_ksyms(t);
	klt_attach_late(t);
}

/* Re-read kallsyms (after attaching, and after a module load); the old table stays on failure. */
void klt_reload_ksyms(struct klt_tracer *t)
{
	struct klt_symtab *fresh = klt_symtab_new();
	char ignore[64];

	t->module_loads = t->skel->bss->module_loads;
	if (fresh && !klt_load_ksyms(fresh, t->opts.symbols, ignore, sizeof(ignore))) {
		klt_symtab_free(t->ksyms);
		t->ksyms = fresh;
	} else {
		klt_symtab_free(fresh);
	}
}

/* A lock operation (ring-buffer record as sent): name the lock, hand over the stack, and name
 * the call site; fentry programs send no ip: it is the first non-lock frame of the stack. */
static int decode_lock_op(struct klt_tracer *t, struct klt_event *ev)
{
	const char *name;
	uint64_t site = 0;
	int err;

	err = emit_lock(t, ev->pid, ev->lock);
	err = err ?: emit_stack(t, ev->pid, &ev->stack_id, ev->ip, &site);
	if (!ev->ip)
		ev->ip = site;
	return err ?: emit_code(t, ev->pid, ev->ip, &name);
}

/*
 * The one decoder of the ring-buffer wire format (include/klt_abi.h, "Ring-buffer records")
 * into the events the recording stores: per type, what BPF put in each field and what the
 * recording gets instead. Symbols and stacks the event refers to are handed over first.
 */
static int decode_record(struct klt_tracer *t, struct klt_event *ev, const char *class_name)
{
	const char *name;
	uint64_t hsite = 0;
	int32_t hid;
	int err = 0;

	switch ((enum klt_ev_type)ev->type) {
	case KLT_EV_ATTEMPT:
	case KLT_EV_ACQUIRED:
	case KLT_EV_RELEASE:
	case KLT_EV_TRY_OK:
	case KLT_EV_TRY_FAIL:
	case KLT_EV_SRCU_READ_LOCK:
	case KLT_EV_SRCU_READ_UNLOCK:
	case KLT_EV_SRCU_SYNC:
		return decode_lock_op(t, ev);
	case KLT_EV_EDGE:
		/* the held lock (aux0 | aux1 << 32) and its stack (aux2, a BPF stack id that becomes
		 * a synthetic id when a user call site is spliced in) */
		hid = ev->aux2;
		err = emit_lock(t, ev->pid, ev->aux0 | (uint64_t)ev->aux1 << 32);
		err = err ?: emit_stack(t, ev->pid, &hid, 0, &hsite);
		ev->aux2 = hid;
		/* the held lock's call site, so it gets a call-site class like any other (a kernel
		 * text address: its low 32 bits) */
		ev->aux3 = hsite >> 32 == 0xffffffffu ? (uint32_t)hsite : 0;
		return err ?: decode_lock_op(t, ev);
	case KLT_EV_PM_BEGIN:
	case KLT_EV_PM_END:
		/* power:suspend_resume sends lock = FNV-1a of the phase name; the kvm_suspend and
		 * kvm_resume hooks send lock = 0 and the phase in aux0 already */
		if (ev->lock)
			ev->aux0 = pm_phase_of_hash((uint32_t)ev->lock);
		ev->lock = 0;
		return 0;
	case KLT_EV_FUNC_ENTER:
		/* an object hook sends the object (KLT_F_OBJECT): name its locks, drop it */
		if (ev->flags & KLT_F_OBJECT)
			err = emit_object(t, ev);
		return err ?: emit_code(t, ev->pid, ev->lock, &name);
	case KLT_EV_FUNC_EXIT:
	case KLT_EV_CPUHP_ENTER:
		return emit_code(t, ev->pid, ev->lock, &name); /* lock = function or callback */
	case KLT_EV_LOCK_INIT:
		/* the class name follows the first LOCK_INIT of each name string (ip): name it */
		if (class_name && *class_name && ev->ip) {
			struct klt_sym s = { .addr = ev->ip, .type = KLT_SYM_CLASS,
					     .name = class_name };

			err = emit_sym(t, &s);
		}
		return err ?: emit_lock(t, ev->pid, ev->lock);
	case KLT_EV_EDGE_GUARD:
		/* the guard lock, and the EDGE's ends (named again with the EDGE: a no-op) */
		return emit_lock(t, ev->pid, ev->lock);
	case KLT_EV_CPUHP_EXIT:
	case KLT_EV_CONTEND_BEGIN:
	case KLT_EV_CONTEND_END:
	case KLT_EV_TASK_EXIT:
		return 0; /* recorded as sent */
	case KLT_EV_NONE:
	case KLT_EV_MAX:
		break;
	}
	return 0; /* not a type bpf/ sends: passed on as is */
}

int klt_handle_record(void *ctx, void *data, size_t size)
{
	struct klt_tracer *t = ctx;
	char name[KLT_CLASS_NAME_LEN] = "";
	struct klt_event ev;
	int err;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	if (ev.type == KLT_EV_LOCK_INIT && size >= sizeof(ev) + sizeof(name)) {
		memcpy(name, (const char *)data + sizeof(ev), sizeof(name));
		name[sizeof(name) - 1] = '\0';
	}
	klt_module_check(t);
	if (ev.lock && !klt_is_kernel_addr(ev.lock)) /* a user lock: keep the process's maps */
		klt_usym_event(t->usym, (pid_t)ev.pid, ev.ts);
	err = decode_record(t, &ev, name);
	err = err ?: t->cbs.event(t->cbs.ctx, &ev);
	if (err && !t->err)
		t->err = err;
	return 0;
}
