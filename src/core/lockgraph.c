// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The lock-order engine (semantics in lockgraph.h and docs/engine.md): event handling, the
 * hot path, and the engine's lifetime and accessors. Its other files are listed in
 * lg_internal.h.
 *
 * Data layout, chosen for the hot path (a known edge seen again):
 *  - every lookup is an open-addressed, power-of-two hash with 16-byte slots holding the key,
 *    so a probe touches one cache line and never the payload;
 *  - the last task is cached (lock events of one thread come in bursts), and each lock
 *    remembers its last successor edge;
 *  - an edge's count, type bits and adjacency live in a packed 32-byte record apart from its
 *    witness; a known edge costs one probe, a bit test and two increments;
 *  - each level keeps its strongly connected components in a dynamic topological order: an
 *    edge between two components cannot be on a cycle, so normally no search runs at all; one
 *    runs only when an edge inside a component gains a dependency-type bit, and it stays
 *    inside that component;
 *  - everything that can fail (growth of a vector or table) is reserved before the engine's
 *    state is changed, so -ENOMEM leaves a consistent engine behind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lg_internal.h"


/* ---------------------------------------------------------------------------------------- */
/* Tasks and locks.                                                                         */

static struct task *task_get(struct lg_engine *e, const struct klt_event *ev, bool create,
			     int *err)
{
	struct task *t = (struct task *)klt_pair_find(&e->pairs, ev->tid);

	*err = 0;
	if (!t) {
		if (!create)
			return NULL;
		t = (struct task *)klt_pair_add(&e->pairs, ev->tid);
		if (!t) {
			*err = -ENOMEM;
			return NULL;
		}
		e->stats.tasks++;
	}
	t->pid = ev->pid;
	memcpy(t->comm, ev->comm, KLT_COMM_LEN);
	return t;
}

/* The instance of addr: one probe when it is known (the steady state), else created. */
static inline int lock_get(struct lg_engine *e, uint64_t addr, uint8_t kind, uint64_t ip,
			   uint32_t *out)
{
	uint32_t idx = klt_hmap_find(&e->lockmap, addr, 0);

	if (idx != NIL) {
		*out = idx;
		return 0;
	}
	return lg_lock_create(e, addr, kind, ip, NULL, out);
}

/* ---------------------------------------------------------------------------------------- */
/* Event handling.                                                                          */

static inline uint8_t dep_bit(uint8_t held_mode, uint8_t new_mode)
{
	bool shared = held_mode != KLT_MODE_WRITE, rec = new_mode == KLT_MODE_RREAD;

	return shared ? (rec ? LG_DEP_SR : LG_DEP_SN) : (rec ? LG_DEP_ER : LG_DEP_EN);
}

/* The witness of a new edge: this event, with h the held side. */
static void witness(struct lg_witness *w, const struct klt_held *h, uint8_t mode,
		    const struct klt_event *ev)
{
	memset(w, 0, sizeof(*w));
	w->pid = ev->pid;
	w->tid = ev->tid;
	w->cpu = ev->cpu;
	memcpy(w->comm, ev->comm, KLT_COMM_LEN);
	w->ts = ev->ts;
	w->held_lock = h->addr;
	w->new_lock = ev->lock;
	w->held_ip = h->ip;
	w->new_ip = ev->ip;
	w->held_stack = h->stack;
	w->new_stack = ev->stack_id;
	w->held_mode = h->mode;
	w->new_mode = mode;
	w->held_ts = h->ts;
}

/*
 * Guard candidates (docs/engine.md, "Guard locks"). The first sighting of an edge keeps the
 * instances held[] holds WRITE, other than the edge's ends, the outermost first, at most
 * LG_GUARD_MAX; each later sighting keeps only those still held WRITE (the intersection). An
 * EDGE event passes no held set (depth 0): the engine does not know what else was held, so the
 * edge is unguarded for good. A class edge's candidates are kept a subset of those of each of
 * its instance edges (the intersection over all their sightings): they change only when an
 * instance edge's do.
 */
static void guard_init(struct graph *g, uint32_t ei, const struct klt_held *held, uint32_t depth,
		       uint32_t from, uint32_t to)
{
	struct gset *gs = &g->gs[ei];
	uint32_t j, k;
	uint8_t n = 0;

	for (j = 0; j < depth && n < LG_GUARD_MAX; j++) {
		uint32_t r = held[j].ref;

		if (held[j].mode != KLT_MODE_WRITE || r == from || r == to)
			continue;
		for (k = 0; k < n && gs->id[k] != r; k++)
			;
		if (k == n) {
			gs->pos[n] = (uint8_t)(j < UINT8_MAX ? j : UINT8_MAX);
			gs->id[n++] = r;
		}
	}
	g->l[ei].nguard = n;
}

/* Keep the candidates of edge ei still held WRITE; true if some were dropped. Called only when
 * the edge has candidates. A path mostly holds its locks at the same depths, so each candidate
 * is first looked for where it was last seen. */
static bool guard_meet(struct graph *g, uint32_t ei, const struct klt_held *held, uint32_t depth)
{
	struct gset *gs = &g->gs[ei];
	uint8_t k, n = 0, had = g->l[ei].nguard;

	for (k = 0; k < had; k++) {
		uint32_t id = gs->id[k], p = gs->pos[k], j;

		if (p >= depth || held[p].ref != id || held[p].mode != KLT_MODE_WRITE) {
			for (j = 0; j < depth; j++)
				if (held[j].ref == id && held[j].mode == KLT_MODE_WRITE)
					break;
			if (j == depth)
				continue;
			p = j < UINT8_MAX ? j : UINT8_MAX;
		}
		gs->id[n] = id;
		gs->pos[n++] = (uint8_t)p;
	}
	g->l[ei].nguard = n;
	return n != had;
}

/* Keep the candidates of class edge cei that instance edge ei has; true if some were dropped. */
static bool guard_restrict(struct graph *cg, uint32_t cei, const struct graph *ig, uint32_t ei)
{
	struct gset *cs = &cg->gs[cei];
	const struct gset *is = &ig->gs[ei];
	uint8_t k, i, n = 0, had = cg->l[cei].nguard;

	for (k = 0; k < had; k++) {
		for (i = 0; i < ig->l[ei].nguard && is->id[i] != cs->id[k]; i++)
			;
		if (i < ig->l[ei].nguard) {
			cs->pos[n] = cs->pos[k];
			cs->id[n++] = cs->id[k];
		}
	}
	cg->l[cei].nguard = n;
	return n != had;
}

/* First sighting of the instance edge h -> lk (and maybe of its class edge): add, check. */
static int add_new_edge(struct lg_engine *e, const struct klt_held *h, uint32_t lk, uint8_t mode,
			uint8_t bit, const struct klt_event *ev, const struct klt_held *held,
			uint32_t depth)
{
	struct graph *ig = &e->ig, *cg = &e->cg;
	struct ilock *hl = &e->locks[h->ref];
	uint32_t ei, cei, cf = hl->pub.class_id, ct = e->locks[lk].pub.class_id;
	bool new_cedge = false, cbit = false;
	struct lg_witness w;
	int err, err2 = 0;

	cei = cf == ct ? NIL : klt_hmap_find(&cg->map, ekey(cf, ct), 0);
	if (lg_graph_reserve_edge(ig, h->ref, lk))
		return -ENOMEM;
	if (cf != ct && cei == NIL && lg_graph_reserve_edge(cg, cf, ct))
		return -ENOMEM;
	witness(&w, h, mode, ev);
	ei = lg_graph_add_edge(ig, h->ref, lk, bit, &w);
	guard_init(ig, ei, held, depth, h->ref, lk);
	hl->last_to = lk;
	hl->last_edge = ei;
	if (cf != ct) {
		if (cei == NIL) {
			cei = lg_graph_add_edge(cg, cf, ct, bit, &w);
			guard_init(cg, cei, held, depth, h->ref, lk);
			new_cedge = true;
			cbit = true;
		} else {
			cg->l[cei].count++;
			/* a guard lost re-opens the question for the cycles through it */
			if (cg->l[cei].nguard && guard_restrict(cg, cei, ig, ei))
				cbit = true;
			if (!(cg->l[cei].types & bit)) {
				edge_add_bit(cg, cei, bit);
				cbit = true;
			}
		}
		ig->l[ei].cedge = cei;
	}
	err = lg_cycle_check(e, ig, ei, ev->ts);
	if (cbit)
		err2 = lg_cycle_check(e, cg, cei, ev->ts);
	if (!err)
		err = err2;
	if (new_cedge) {
		err2 = lg_rule_check(e, cei, ev->ts);
		if (!err)
			err = err2;
	}
	return err;
}

/* One held -> new dependency: a known edge costs a probe (or the last-successor cache), a bit
 * test, two increments and, if it still has guard candidates, their intersection with held[]
 * (the task's whole held stack; NULL, 0 for an EDGE event). */
static int add_dep(struct lg_engine *e, const struct klt_held *h, uint32_t lk, uint8_t mode,
		   const struct klt_event *ev, const struct klt_held *held, uint32_t depth)
{
	struct graph *ig = &e->ig, *cg = &e->cg;
	uint8_t bit = dep_bit(h->mode, mode);
	struct ilock *hl = &e->locks[h->ref];
	struct elink *le;
	uint32_t ei, cei;
	bool icheck = false, cbit = false;
	int err = 0, err2 = 0;

	e->stats.edge_checks++;
	if (hl->last_to == lk) {
		ei = hl->last_edge;
	} else {
		ei = klt_hmap_find(&ig->map, ekey(h->ref, lk), 0);
		if (ei == NIL)
			return add_new_edge(e, h, lk, mode, bit, ev, held, depth);
		hl->last_to = lk;
		hl->last_edge = ei;
	}
	le = &ig->l[ei];
	le->count++;
	cei = le->cedge;
	if (cei != NIL)
		cg->l[cei].count++;
	/* a guard candidate lost re-opens the question for the cycles through the edge; the class
	 * edge's candidates are a subset of the instance edge's: they can only go with them */
	if (le->nguard && guard_meet(ig, ei, held, depth)) {
		icheck = true;
		if (cei != NIL && cg->l[cei].nguard)
			cbit = guard_restrict(cg, cei, ig, ei);
	}
	if ((le->types & bit) && !icheck && !cbit)
		return 0; /* the common case: nothing new */
	if (!(le->types & bit)) {
		edge_add_bit(ig, ei, bit);
		icheck = true;
	}
	if (cei != NIL && !(cg->l[cei].types & bit)) {
		edge_add_bit(cg, cei, bit);
		cbit = true;
	}
	if (icheck)
		err = lg_cycle_check(e, ig, ei, ev->ts);
	if (cbit)
		err2 = lg_cycle_check(e, cg, cei, ev->ts);
	return err ? err : err2;
}

/* Edges from every held lock to lk: every one, not only the top, so cycles come out shortest. */
static int add_deps(struct lg_engine *e, struct task *t, uint32_t lk, uint8_t mode,
		    const struct klt_event *ev)
{
	const struct klt_held *held = t->h.held;
	uint32_t i, depth = t->h.depth;
	int err = 0, r;

	for (i = 0; i < depth; i++) {
		/* re-taking a held lock is recursion (or self-deadlock), not an order */
		if (held[i].ref == lk && !(held[i].mode == KLT_MODE_RREAD && mode == KLT_MODE_RREAD))
			return 0;
	}
	for (i = 0; i < depth; i++) {
		if (held[i].ref == lk)
			continue;
		r = add_dep(e, &held[i], lk, mode, ev, held, depth);
		if (r && !err)
			err = r;
	}
	return err;
}

static bool kind_sleeps(uint8_t kind)
{
	return kind == KLT_LK_MUTEX || kind == KLT_LK_RWSEM || kind == KLT_LK_PERCPU_RWSEM ||
	       kind == KLT_LK_SRCU;
}

static int atomic_check(struct lg_engine *e, struct task *t, uint32_t lk, uint8_t kind,
			uint8_t mode, const struct klt_event *ev)
{
	struct lg_finding f;

	if (!t->in_atomic || !kind_sleeps(kind))
		return 0;
	lg_finding_init(&f, LG_F_ATOMIC_SLEEP, ev->ts);
	lg_hold_from_event(&f.hold, ev, lk, kind, mode);
	f.cb = t->cb;
	f.cb_cpu = t->cb_cpu;
	f.cb_state = t->cb_state;
	f.cb_idx = t->cb_idx;
	return lg_finding_add_once(e, &e->seen_atomic, t->cb, e->locks[lk].pub.class_id, &f);
}

static int push(struct lg_engine *e, struct task *t, uint32_t lk, uint8_t mode, bool trylock,
		const struct klt_event *ev)
{
	struct klt_held h = {
		.addr = ev->lock,
		.ts = ev->ts,
		.ip = ev->ip,
		.ref = lk,
		.stack = ev->stack_id,
		.cpu = ev->cpu,
		.mode = mode,
		.trylock = trylock,
		.srcu = ev->type == KLT_EV_SRCU_READ_LOCK,
	};
	struct lg_finding f;

	e->stats.acquisitions++;
	e->locks[lk].pub.acquisitions++;
	e->classes[e->locks[lk].pub.class_id].pub.acquisitions++;
	/* a bounded stack never grows: 0 pushed, 1 dropped (max_depth) */
	if (!klt_pair_push(&e->pairs, &t->h, &h))
		return 0;
	e->stats.depth_overflows++;
	if (t->overflow_reported)
		return 0;
	lg_finding_init(&f, LG_F_DEPTH_OVERFLOW, ev->ts);
	lg_hold_from_event(&f.hold, ev, lk, e->locks[lk].pub.kind, mode);
	if (lg_finding_add(e, &f))
		return -ENOMEM;
	t->overflow_reported = true;
	return 0;
}

static int release(struct lg_engine *e, struct task *t, const struct klt_event *ev, uint8_t kind)
{
	struct lg_finding f;
	struct klt_held h;

	if (klt_pair_release(&e->pairs, &t->h, ev->lock, ev->type == KLT_EV_SRCU_READ_UNLOCK,
			     &h) != KLT_REL_UNMATCHED) {
		e->stats.releases++;
		return 0;
	}
	e->stats.unbalanced++;
	if (e->cfg.ignore_unbalanced)
		return 0;
	lg_finding_init(&f, LG_F_UNBALANCED, ev->ts);
	lg_hold_from_event(&f.hold, ev, klt_hmap_find(&e->lockmap, ev->lock, 0), kind, ev->mode);
	return lg_finding_add(e, &f);
}

static int lock_event(struct lg_engine *e, const struct klt_event *ev)
{
	uint8_t kind = ev->kind, mode = ev->mode;
	struct task *t;
	uint32_t lk;
	int err, err2;

	if (ev->type == KLT_EV_TRY_FAIL)
		return 0;
	if (ev->type == KLT_EV_SRCU_READ_LOCK || ev->type == KLT_EV_SRCU_READ_UNLOCK ||
	    ev->type == KLT_EV_SRCU_SYNC) {
		kind = KLT_LK_SRCU;
		mode = ev->type == KLT_EV_SRCU_SYNC ? KLT_MODE_WRITE : KLT_MODE_RREAD;
	}
	if (mode >= KLT_MODE_MAX)
		mode = KLT_MODE_WRITE;
	t = task_get(e, ev, true, &err);
	if (!t)
		return err;
	if (ev->type == KLT_EV_RELEASE || ev->type == KLT_EV_SRCU_READ_UNLOCK)
		return release(e, t, ev, kind);

	if (klt_pair_pending(&t->h, ev->lock)) {
		lk = t->h.pend_ref; /* ACQUIRED after its ATTEMPT: no second lookup */
	} else {
		err = lock_get(e, ev->lock, kind, ev->ip, &lk);
		if (err)
			return err;
	}
	switch (ev->type) {
	case KLT_EV_ATTEMPT:
		err = atomic_check(e, t, lk, kind, mode, ev);
		err2 = add_deps(e, t, lk, mode, ev);
		klt_pair_attempt(&t->h, ev->lock, ev->ts, lk);
		return err ? err : err2;
	case KLT_EV_ACQUIRED:
		err = atomic_check(e, t, lk, kind, mode, ev);
		if (!klt_pair_pending(&t->h, ev->lock)) {
			err2 = add_deps(e, t, lk, mode, ev);
			if (!err)
				err = err2;
		}
		klt_pair_after_acquire(&e->pairs, &t->h, ev->type, ev->lock);
		err2 = push(e, t, lk, mode, false, ev);
		return err ? err : err2;
	case KLT_EV_TRY_OK:
		klt_pair_after_acquire(&e->pairs, &t->h, ev->type, ev->lock);
		return push(e, t, lk, mode, true, ev);
	case KLT_EV_SRCU_READ_LOCK:
		klt_pair_after_acquire(&e->pairs, &t->h, ev->type, ev->lock);
		err = add_deps(e, t, lk, mode, ev);
		err2 = push(e, t, lk, mode, false, ev);
		return err ? err : err2;
	case KLT_EV_SRCU_SYNC:
		klt_pair_after_acquire(&e->pairs, &t->h, ev->type, ev->lock);
		err = atomic_check(e, t, lk, kind, mode, ev);
		err2 = add_deps(e, t, lk, mode, ev);
		return err ? err : err2;
	}
	return 0;
}

static int pm_begin(struct lg_engine *e, const struct klt_event *ev)
{
	size_t i;
	uint32_t j;
	int err;

	for (i = 0; i < e->pairs.ntasks; i++) {
		struct task *t = (struct task *)klt_pair_at(&e->pairs, i);

		for (j = 0; j < t->h.depth; j++) {
			const struct klt_held *he = &t->h.held[j];
			const struct iclass *c = &e->classes[e->locks[he->ref].pub.class_id];
			struct lg_finding f;

			if (c->watch_rule < 0)
				continue;
			lg_finding_init(&f, LG_F_SUSPEND_HOLDER, ev->ts);
			lg_hold_from_held(&f.hold, t, he, e);
			f.phase = ev->aux0;
			/* one finding per hold: the first phase that found it held */
			err = lg_finding_add_once(e, &e->seen_suspend,
					       (uint64_t)t->h.tid << 32 | he->ref, he->ts, &f);
			if (err)
				return err;
		}
	}
	return 0;
}

static int task_exit(struct lg_engine *e, const struct klt_event *ev)
{
	struct task *t;
	uint32_t j;
	int err;

	t = task_get(e, ev, false, &err);
	if (!t)
		return err;
	for (j = 0; j < t->h.depth; j++) {
		struct lg_finding f;

		lg_finding_init(&f, LG_F_HELD_AT_EXIT, ev->ts);
		lg_hold_from_held(&f.hold, t, &t->h.held[j], e);
		if (lg_finding_add(e, &f)) {
			/* drop what was reported so a retry does not repeat it */
			memmove(t->h.held, t->h.held + j, (t->h.depth - j) * sizeof(*t->h.held));
			t->h.depth -= j;
			return -ENOMEM;
		}
	}
	klt_pair_exit(&t->h);
	t->in_atomic = false;
	t->overflow_reported = false;
	return 0;
}

/*
 * KLT_EV_EDGE: the live tracer keeps held stacks in BPF and sends only the first sighting of
 * each held -> new pair. The held lock is aux0 | aux1 << 32, its stack id aux2, its mode and
 * kind in flags; its call site and acquisition time are not sent (0 in the witness).
 */
static int edge_event(struct lg_engine *e, const struct klt_event *ev)
{
	uint8_t mode = ev->mode < KLT_MODE_MAX ? ev->mode : KLT_MODE_WRITE;
	struct klt_held h;
	struct task *t;
	uint32_t lk;
	int err;

	memset(&h, 0, sizeof(h));
	h.addr = ev->aux0 | (uint64_t)ev->aux1 << 32;
	h.mode = KLT_F_HELD_MODE(ev->flags);
	if (h.mode >= KLT_MODE_MAX)
		h.mode = KLT_MODE_WRITE;
	h.stack = ev->aux2;
	h.cpu = ev->cpu;
	if (h.addr == ev->lock)
		return 0; /* recursion on one instance: not an order */
	/* the held lock's call site (kernel text, aux3) gives it the call-site class a first
	 * acquisition would; 0 (unknown, older recordings): a class of its own */
	h.ip = ev->aux3 ? 0xffffffff00000000ull | ev->aux3 : 0;
	err = lock_get(e, h.addr, KLT_F_HELD_KIND(ev->flags), h.ip, &h.ref);
	if (!err)
		err = lock_get(e, ev->lock, ev->kind, ev->ip, &lk);
	if (err)
		return err;
	/* the EDGE_GUARD just before it from this task: the held set is that one lock; without
	 * one the held set is unknown and the edge has no guard candidate */
	t = task_get(e, ev, false, &err);
	if (t && t->guard_valid) {
		t->guard_valid = false;
		if (t->guard_held == h.addr && t->guard_lock == ev->lock && t->guard.ref != lk &&
		    t->guard.ref != h.ref)
			return add_dep(e, &h, lk, mode, ev, &t->guard, 1);
	}
	return add_dep(e, &h, lk, mode, ev, NULL, 0);
}

/* KLT_EV_EDGE_GUARD: remembered for the task's next EDGE (klt_abi.h). */
static int guard_event(struct lg_engine *e, const struct klt_event *ev)
{
	struct task *t;
	int err;

	t = task_get(e, ev, true, &err);
	if (!t)
		return err;
	memset(&t->guard, 0, sizeof(t->guard));
	t->guard.addr = ev->lock;
	t->guard.mode = ev->mode < KLT_MODE_MAX ? ev->mode : KLT_MODE_WRITE;
	t->guard.stack = KLT_NO_STACK;
	err = lock_get(e, ev->lock, ev->kind, 0, &t->guard.ref);
	if (err)
		return err;
	t->guard_held = ev->aux0 | (uint64_t)ev->aux1 << 32;
	t->guard_lock = ev->ip;
	t->guard_valid = true;
	return 0;
}

/*
 * KLT_EV_LOCK_INIT: the lock at ev->lock was (re)initialized with class key aux0 | aux1 << 32
 * and the class name string at ip.
 * A new instance of that key's class from here on; the address's instance before (a freed
 * object's lock) keeps the edges it had. Without a key it says nothing: counted as unknown.
 */
static int init_event(struct lg_engine *e, const struct klt_event *ev)
{
	struct lg_init in = { ev->aux0 | (uint64_t)ev->aux1 << 32, ev->ip };
	uint32_t lk;

	if (!ev->lock || !in.key) {
		e->stats.unknown_events++;
		return 0;
	}
	e->stats.inits++;
	return lg_lock_create(e, ev->lock, ev->kind, 0, &in, &lk);
}

int lg_feed(struct lg_engine *e, const struct klt_event *ev)
{
	struct task *t;
	int err;

	e->stats.events++;
	switch (ev->type) {
	case KLT_EV_ATTEMPT:
	case KLT_EV_ACQUIRED:
	case KLT_EV_RELEASE:
	case KLT_EV_TRY_OK:
	case KLT_EV_TRY_FAIL:
	case KLT_EV_SRCU_READ_LOCK:
	case KLT_EV_SRCU_READ_UNLOCK:
	case KLT_EV_SRCU_SYNC:
		return lock_event(e, ev);
	case KLT_EV_CPUHP_ENTER:
		if (!(ev->flags & KLT_F_CPUHP_ATOMIC))
			return 0;
		t = task_get(e, ev, true, &err);
		if (!t)
			return err;
		t->in_atomic = true;
		t->cb = ev->lock;
		t->cb_cpu = ev->aux0;
		t->cb_state = ev->aux1;
		t->cb_idx = (int32_t)ev->aux2;
		return 0;
	case KLT_EV_CPUHP_EXIT:
		t = task_get(e, ev, false, &err);
		if (t)
			t->in_atomic = false;
		return err;
	case KLT_EV_EDGE:
		return edge_event(e, ev);
	case KLT_EV_LOCK_INIT:
		return init_event(e, ev);
	case KLT_EV_EDGE_GUARD:
		return guard_event(e, ev);
	case KLT_EV_PM_BEGIN:
		return pm_begin(e, ev);
	case KLT_EV_TASK_EXIT:
		return task_exit(e, ev);
	case KLT_EV_PM_END:
	case KLT_EV_CONTEND_BEGIN:
	case KLT_EV_CONTEND_END:
	case KLT_EV_FUNC_ENTER:
	case KLT_EV_FUNC_EXIT:
		return 0;
	default:
		e->stats.unknown_events++;
		return 0;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Lifetime and results.                                                                    */

struct lg_engine *lg_new(const struct lg_config *cfg)
{
	struct lg_engine *e = calloc(1, sizeof(*e));
	struct klt_pair_rules rules = { 0 };

	if (!e)
		return NULL;
	if (cfg)
		e->cfg = *cfg;
	/* the engine's pairing rules (docs/engine.md, "Held-lock pairing") */
	rules.max_depth = e->cfg.max_depth ? e->cfg.max_depth : LG_DEFAULT_MAX_DEPTH;
	rules.srcu_ends_attempt = true;
	klt_pair_init(&e->pairs, &rules, sizeof(struct task));
	e->ig.level = LG_LEVEL_INSTANCE;
	e->cg.level = LG_LEVEL_CLASS;
	return e;
}

void lg_free(struct lg_engine *e)
{
	size_t i;

	if (!e)
		return;
	klt_pair_free(&e->pairs);
	free(e->locks);
	klt_hmap_free(&e->lockmap);
	for (i = 0; i < e->nclasses; i++) {
		free(e->classes[i].outer);
		free(e->classes[i].inner);
	}
	free(e->classes);
	klt_hmap_free(&e->infmap);
	klt_hmap_free(&e->namemap);
	klt_hmap_free(&e->keymap);
	lg_graph_free(&e->ig);
	lg_graph_free(&e->cg);
	for (i = 0; i < e->nfindings; i++)
		free(e->findings[i].edges);
	free(e->findings);
	for (i = 0; i < e->nguarded; i++)
		free(e->guarded[i].edges);
	free(e->guarded);
	klt_hmap_free(&e->seen_rule);
	klt_hmap_free(&e->seen_suspend);
	klt_hmap_free(&e->seen_atomic);
	free(e);
}

size_t lg_nlocks(const struct lg_engine *e)
{
	return e->nlocks;
}

int64_t lg_lock_find(const struct lg_engine *e, uint64_t addr)
{
	uint32_t idx = klt_hmap_find(&e->lockmap, addr, 0);

	return idx == NIL ? -1 : (int64_t)idx;
}

const struct lg_lock *lg_lock_at(const struct lg_engine *e, size_t i)
{
	return i < e->nlocks ? &e->locks[i].pub : NULL;
}

size_t lg_nclasses(const struct lg_engine *e)
{
	return e->nclasses;
}

const struct lg_class *lg_class_at(const struct lg_engine *e, size_t id)
{
	return id < e->nclasses ? &e->classes[id].pub : NULL;
}

size_t lg_nedges(const struct lg_engine *e, enum lg_level level)
{
	return level == LG_LEVEL_CLASS ? e->cg.ne : e->ig.ne;
}

const struct lg_edge *lg_edge_at(const struct lg_engine *e, enum lg_level level, size_t i)
{
	const struct graph *g = level == LG_LEVEL_CLASS ? &e->cg : &e->ig;

	return i < g->ne ? edge_pub(g, i) : NULL;
}

unsigned lg_edge_guards(const struct lg_engine *e, enum lg_level level, size_t i,
			uint32_t out[LG_GUARD_MAX])
{
	const struct graph *g = level == LG_LEVEL_CLASS ? &e->cg : &e->ig;
	unsigned n;

	if (i >= g->ne)
		return 0;
	n = g->l[i].nguard;
	memcpy(out, g->gs[i].id, n * sizeof(*out));
	return n;
}

size_t lg_nguarded(const struct lg_engine *e)
{
	return e->nguarded;
}

const struct lg_guarded *lg_guarded_at(const struct lg_engine *e, size_t i)
{
	return i < e->nguarded ? &e->guarded[i] : NULL;
}

size_t lg_nfindings(const struct lg_engine *e)
{
	return e->nfindings;
}

const struct lg_finding *lg_finding_at(const struct lg_engine *e, size_t i)
{
	return i < e->nfindings ? &e->findings[i] : NULL;
}

const struct lg_stats *lg_get_stats(const struct lg_engine *e)
{
	return &e->stats;
}

const char *lg_finding_kind_name(unsigned kind)
{
	static const char *const names[LG_F_MAX] = {
		[LG_F_CYCLE] = "cycle",
		[LG_F_RULE] = "rule",
		[LG_F_SUSPEND_HOLDER] = "suspend-holder",
		[LG_F_ATOMIC_SLEEP] = "atomic-sleep",
		[LG_F_UNBALANCED] = "unbalanced-release",
		[LG_F_HELD_AT_EXIT] = "held-at-exit",
		[LG_F_DEPTH_OVERFLOW] = "depth-overflow",
	};

	return kind < LG_F_MAX ? names[kind] : "unknown";
}

