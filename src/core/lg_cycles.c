// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The lock-order engine's findings: the shortest strong cycle through an edge that just gained
 * a dependency bit (lockdep's strong-path rule), the documented-order rule check of a new class
 * edge, and the finding list every check appends to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lg_internal.h"

/*
 * Rotate v[0..n) in place to its lexicographically smallest rotation (tmp holds n entries), so
 * that A->B->C->A and B->C->A->B are recognised as the same cycle. Cycles are short: O(n^2).
 */
static void canon_rotation(uint32_t *v, uint32_t n, uint32_t *tmp)
{
	uint32_t best = 0, r, i;

	for (r = 1; r < n; r++) {
		for (i = 0; i < n; i++) {
			uint32_t a = v[(r + i) % n], b = v[(best + i) % n];

			if (a != b) {
				if (a < b)
					best = r;
				break;
			}
		}
	}
	if (!best)
		return;
	for (i = 0; i < n; i++)
		tmp[i] = v[(best + i) % n];
	memcpy(v, tmp, n * sizeof(*v));
}

/* ---------------------------------------------------------------------------------------- */
/* Strong-cycle search.                                                                     */

/*
 * Breadth-first search from `start` for `target` over strong paths only (lockdep's rule: after
 * arriving through an edge usable only as -(*R)->, leave through -(E*)-> only). The state is
 * (node, arrived-via-*R). Arriving via *N dominates arriving via *R (it allows every next edge),
 * so an edge is used as *N whenever it has an N bit the current state allows, and a node already
 * reached via *N is never revisited. Arriving at target via *R is accepted only if acc_r (the
 * closing edge can then be used as -(E*)->). Writes the path (edge indices, start first) to
 * g->path and returns its length, 0 if there is none.
 */
static uint32_t bfs(struct graph *g, uint32_t start, bool start_r, uint32_t target, bool acc_r)
{
	uint32_t ep = next_epoch(g), head = 0, tail = 0, s0 = start * 2 + start_r;
	uint32_t c = g->comp[start];

	g->mark[s0] = ep;
	g->queue[tail++] = s0;
	while (head < tail) {
		uint32_t st = g->queue[head++], ei;
		bool r = st & 1;

		for (ei = g->first_out[st >> 1]; ei != NIL; ei = g->l[ei].next_out) {
			const struct elink *ed = &g->l[ei];
			uint8_t allowed = r ? (ed->types & DEP_E) : ed->types;
			uint32_t w = ed->to, ns;
			bool nr;

			if (!allowed || g->comp[w] != c)
				continue; /* a cycle never leaves the component */
			nr = !(allowed & DEP_N);
			if (g->mark[w * 2] == ep || (nr && g->mark[w * 2 + 1] == ep))
				continue;
			ns = w * 2 + nr;
			g->mark[ns] = ep;
			g->pstate[ns] = st;
			g->pedge[ns] = ei;
			if (w == target) {
				if (nr && !acc_r)
					continue; /* not strong here; a *N arrival may still come */
				goto found;
			}
			/* start reached again can only improve from *R to *N: fine to expand */
			g->queue[tail++] = ns;
		}
	}
	return 0;

found:
	return path_from_states(g, target * 2 + !(g->mark[target * 2] == ep), s0);
}

/*
 * Shortest strong path to -> ... -> from that closes a strong cycle with edge ei (from -> to).
 * The new edge may be used with any of its bits; the bit chosen decides both how we arrive at
 * `to` (its second letter) and whether arriving at `from` via *R is allowed (its first letter
 * must then be E). Result in g->best; returns the path length (0: no cycle).
 */
static uint32_t shortest_cycle(struct graph *g, uint32_t ei)
{
	const struct lg_edge *ne = &g->e[ei].pub;
	uint32_t bestlen = 0;
	int r;

	for (r = 0; r < 2; r++) {
		uint8_t b = ne->types & (r ? DEP_R : DEP_N);
		uint32_t len;

		if (!b)
			continue;
		len = bfs(g, ne->to, r, ne->from, b & DEP_E);
		if (len && (!bestlen || len < bestlen)) {
			bestlen = len;
			memcpy(g->best, g->path, len * sizeof(*g->path));
		}
	}
	return bestlen;
}


/* ---------------------------------------------------------------------------------------- */
/* Findings.                                                                                */

void lg_finding_init(struct lg_finding *f, unsigned kind, uint64_t ts)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->ts = ts;
	f->rule = -1;
	f->hold.lock = NIL;
	f->hold.stack = KLT_NO_STACK;
}

static int finding_reserve(struct lg_engine *e)
{
	return klt_vec_reserve((void **)&e->findings, &e->capfindings, e->nfindings + 1,
			   sizeof(*e->findings));
}

/* Append after finding_reserve(); takes ownership of f->edges. */
static void finding_commit(struct lg_engine *e, const struct lg_finding *f)
{
	struct lg_finding *slot = &e->findings[e->nfindings];

	*slot = *f;
	slot->seq = e->nfindings++;
	if (e->cfg.on_finding)
		e->cfg.on_finding(e->cfg.ctx, slot);
}

int lg_finding_add(struct lg_engine *e, const struct lg_finding *f)
{
	if (finding_reserve(e))
		return -ENOMEM;
	finding_commit(e, f);
	return 0;
}

/*
 * Report f once per key (k1, k2) of the set `seen`. The key is recorded together with the
 * finding, so after -ENOMEM neither is, and a later occurrence reports it.
 */
int lg_finding_add_once(struct lg_engine *e, struct klt_hmap *seen, uint64_t k1, uint32_t k2,
			    const struct lg_finding *f)
{
	if (klt_hmap_find(seen, k1, k2) != NIL)
		return 0;
	if (klt_hmap_reserve(seen, 1) || finding_reserve(e))
		return -ENOMEM;
	klt_hmap_put(seen, k1, k2, 0);
	finding_commit(e, f);
	return 0;
}

static void hold_from_task(struct lg_hold *h, const struct task *t)
{
	h->pid = t->pid;
	h->tid = t->h.tid;
	memcpy(h->comm, t->comm, KLT_COMM_LEN);
}

void lg_hold_from_held(struct lg_hold *h, const struct task *t, const struct klt_held *he,
			   const struct lg_engine *e)
{
	hold_from_task(h, t);
	h->cpu = he->cpu;
	h->lock = he->ref;
	h->addr = he->addr;
	h->kind = e->locks[he->ref].pub.kind;
	h->mode = he->mode;
	h->ts = he->ts;
	h->ip = he->ip;
	h->stack = he->stack;
}

void lg_hold_from_event(struct lg_hold *h, const struct klt_event *ev, uint32_t lock,
			    uint8_t kind, uint8_t mode)
{
	h->pid = ev->pid;
	h->tid = ev->tid;
	h->cpu = ev->cpu;
	memcpy(h->comm, ev->comm, KLT_COMM_LEN);
	h->lock = lock;
	h->addr = ev->lock;
	h->kind = kind;
	h->mode = mode;
	h->ts = ev->ts;
	h->ip = ev->ip;
	h->stack = ev->stack_id;
}

static int guarded_reserve(struct lg_engine *e)
{
	return klt_vec_reserve((void **)&e->guarded, &e->capguarded, e->nguarded + 1,
			       sizeof(*e->guarded));
}

/*
 * The guarded record of the cycle g->seq[0..n) (canonical rotation) at g's level, or NULL.
 * Only after a lost guard candidate re-opened a cycle recorded as guarded (at most
 * LG_GUARD_MAX times per edge); g->seq2 and g->path are scratch here.
 */
static struct lg_guarded *guarded_find(struct lg_engine *e, struct graph *g, uint32_t n)
{
	for (size_t i = 0; i < e->nguarded; i++) {
		struct lg_guarded *gd = &e->guarded[i];

		if (gd->level != g->level || gd->nedges != n)
			continue;
		for (uint32_t j = 0; j < n; j++)
			g->seq2[j] = gd->edges[j].from;
		canon_rotation(g->seq2, n, g->path);
		if (!memcmp(g->seq2, g->seq, n * sizeof(*g->seq)))
			return gd;
	}
	return NULL;
}

/* A cycle recorded as guarded lost its guard and is now a finding: no longer listed. */
static void guarded_drop(struct lg_engine *e, struct graph *g, uint32_t n)
{
	struct lg_guarded *gd = guarded_find(e, g, n);
	size_t i;

	if (!gd)
		return;
	i = (size_t)(gd - e->guarded);
	free(gd->edges);
	memmove(gd, gd + 1, (e->nguarded - i - 1) * sizeof(*gd));
	e->nguarded--;
	for (; i < e->nguarded; i++)
		e->guarded[i].seq = (uint32_t)i;
}

/*
 * Cycle through edge ei of graph g (which just gained a dependency bit or lost a guard
 * candidate): report the shortest strong one unless the same node sequence was already
 * reported at this level (or, at class level, as an instance cycle). If every strong cycle
 * through ei shares a guard lock (lg_guard.c), it is recorded as guarded instead, once per node
 * sequence, and it covers no class cycle: the class edges may have been seen without it.
 */
int lg_cycle_check(struct lg_engine *e, struct graph *g, uint32_t ei, uint64_t ts)
{
	struct graph *cg = &e->cg;
	uint32_t len, n, cn = 0, i, guard;
	uint64_t h, ch = 0;
	struct lg_finding f;
	struct lg_guarded gd;
	struct klt_seqset *set, *cset;
	bool class_new = false;

	if (g->comp[g->l[ei].from] != g->comp[g->l[ei].to])
		return 0; /* not inside a strongly connected component: no cycle through it */
	e->stats.cycle_searches++;
	len = shortest_cycle(g, ei);
	if (!len)
		return 0;
	guard = lg_guard_resolve(g, ei, &len);
	set = guard == NIL ? &g->cycles : &g->gcycles;
	cset = guard == NIL ? &cg->cycles : &cg->gcycles;
	n = len + 1;
	for (i = 0; i < len; i++)
		g->seq[i] = g->e[g->best[i]].pub.from;
	g->seq[len] = g->e[ei].pub.from;
	canon_rotation(g->seq, n, g->seq2);
	h = klt_hash_seq32(g->seq, n);
	if (klt_seqset_has(set, g->seq, n, h)) {
		struct lg_guarded *old;

		/* still guarded, maybe by another candidate than when it was recorded */
		if (guard != NIL && (old = guarded_find(e, g, n)))
			old->guard = guard;
		return 0;
	}

	if (g->level == LG_LEVEL_INSTANCE) {
		/* The same cycle seen through classes must not be reported again as potential. */
		for (i = 0; i < n; i++) {
			uint32_t c = e->locks[g->seq[i]].pub.class_id;

			if (!cn || g->seq2[cn - 1] != c)
				g->seq2[cn++] = c;
		}
		while (cn > 1 && g->seq2[cn - 1] == g->seq2[0])
			cn--;
		if (cn >= 2) {
			/* g->path is free once shortest_cycle() copied its answer to g->best */
			canon_rotation(g->seq2, cn, g->path);
			ch = klt_hash_seq32(g->seq2, cn);
			class_new = !klt_seqset_has(cset, g->seq2, cn, ch);
		}
	}

	lg_finding_init(&f, LG_F_CYCLE, ts);
	f.level = g->level;
	f.nedges = n;
	f.edges = malloc(n * sizeof(*f.edges));
	if (!f.edges)
		return -ENOMEM;
	if ((guard == NIL ? finding_reserve(e) : guarded_reserve(e)) ||
	    klt_seqset_reserve(set, n) || (class_new && klt_seqset_reserve(cset, cn))) {
		free(f.edges);
		return -ENOMEM;
	}
	for (i = 0; i < len; i++)
		f.edges[i] = *edge_pub(g, g->best[i]);
	f.edges[len] = *edge_pub(g, ei);
	klt_seqset_put(set, g->seq, n, h);
	if (class_new)
		klt_seqset_put(cset, g->seq2, cn, ch);
	if (guard == NIL) {
		if (klt_seqset_has(&g->gcycles, g->seq, n, h))
			guarded_drop(e, g, n);
		finding_commit(e, &f);
		return 0;
	}
	memset(&gd, 0, sizeof(gd));
	gd.seq = (uint32_t)e->nguarded;
	gd.level = g->level;
	gd.ts = ts;
	gd.guard = guard;
	gd.nedges = n;
	gd.edges = f.edges;
	e->guarded[e->nguarded++] = gd;
	return 0;
}

/* A new class edge X -> Y contradicts every applicable rule "Y > X". */
int lg_rule_check(struct lg_engine *e, uint32_t cei, uint64_t ts)
{
	const struct iedge *ce = &e->cg.e[cei];
	const struct iclass *x = &e->classes[ce->pub.from], *y = &e->classes[ce->pub.to];
	uint32_t i, j;
	int err;

	for (i = 0; i < x->ninner; i++) {
		for (j = 0; j < y->nouter; j++) {
			struct lg_finding f;

			if (x->inner[i] != y->outer[j] ||
			    klt_hmap_find(&e->seen_rule, (uint32_t)x->inner[i], cei) != NIL)
				continue;
			lg_finding_init(&f, LG_F_RULE, ts);
			f.level = LG_LEVEL_CLASS;
			f.rule = x->inner[i];
			f.nedges = 1;
			f.edges = malloc(sizeof(*f.edges));
			if (!f.edges)
				return -ENOMEM;
			f.edges[0] = *edge_pub(&e->cg, cei);
			err = lg_finding_add_once(e, &e->seen_rule, (uint32_t)x->inner[i], cei, &f);
			if (err) {
				free(f.edges);
				return err;
			}
		}
	}
	return 0;
}
