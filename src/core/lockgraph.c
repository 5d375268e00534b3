// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The lock-order engine (semantics in lockgraph.h and docs/engine.md).
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

#include "container.h"
#include "held.h"
#include "lockgraph.h"

#define NIL KLT_NIL

#define DEP_E (LG_DEP_EN | LG_DEP_ER) /* held exclusive */
#define DEP_N (LG_DEP_EN | LG_DEP_SN) /* new non-recursive */
#define DEP_R (LG_DEP_ER | LG_DEP_SR) /* new recursive read */

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
/* Engine state.                                                                            */

/*
 * A task: its held stack, pending ATTEMPT and lost count are the pairing pass's (held.h; a
 * hold's `ref` is the instance, the pending ATTEMPT's `pend_ref` too). The rest is the engine's.
 */
struct task {
	struct klt_htask h;
	uint32_t pid;
	char comm[KLT_COMM_LEN];
	bool overflow_reported;
	bool in_atomic;	   /* inside an atomic (STARTING/DYING) cpuhp callback */
	uint64_t cb;
	uint32_t cb_cpu, cb_state;
	int32_t cb_idx;
};

struct ilock {
	struct lg_lock pub;
	/* the last edge out of this lock: a lock is mostly followed by the same inner lock */
	uint32_t last_to, last_edge;
};

struct iclass {
	struct lg_class pub;
	int32_t watch_rule; /* first applicable watch-suspend rule matching the name, or -1 */
	uint32_t nouter, ninner;
	int32_t *outer;	    /* applicable ORDER rules whose outer glob matches the name */
	int32_t *inner;	    /* ... whose inner glob matches */
};

/* The public edge; its count is kept in struct elink and copied in when it is read. */
struct iedge {
	struct lg_edge pub;
};

/*
 * What the hot path and the graph walks touch, packed apart from the big witness-carrying
 * edges (same index): a known edge costs one hash probe and one 32-byte record.
 */
struct elink {
	uint64_t count;	   /* authoritative; copied to pub.count when read */
	uint32_t from, to;
	uint32_t next_out; /* next edge with the same `from` */
	uint32_t cedge;	   /* instance level: the class edge, NIL if same class */
	uint8_t types;	   /* copy of pub.types */
};

/* Neighbour node ids of one node, contiguous so re-ordering walks them without cache misses. */
struct nadj {
	uint32_t *v;
	uint32_t n, cap;
};

/* One level of the graph (instances or classes) with its search scratch space. */
struct graph {
	uint8_t level;
	struct iedge *e;
	struct elink *l;
	size_t ne, cape, capl;
	struct klt_hmap map;     /* (from << 32 | to) -> edge index */
	uint32_t *first_out;		/* per node: its out-edges, linked through next_out */
	struct nadj *succ, *pred;	/* per node: successor / predecessor node ids */
	size_t nn, capn;
	/*
	 * Strongly connected components, kept up to date as edges arrive (see topo_insert), and a
	 * topological order of the components. A cycle through an edge lies inside one component,
	 * so an edge between two components needs no search, and a search never leaves the
	 * component. Normally every component is a single lock and nothing is ever searched.
	 * comp[node] = representative; members are linked from it through mnext; ord and msize
	 * are meaningful for representatives.
	 */
	uint32_t *comp, *mnext, *mtail, *msize, *ord;
	uint64_t *tk; /* 2 * capn: (ord << 32 | component) keys while reordering */
	/* BFS over states (node, arrived via an -(*R)-> edge) = node * 2 + r; 2 * capn each */
	uint32_t *mark, *pstate, *pedge, *queue;
	uint32_t epoch;
	/* paths and node sequences: 2 * capn + 2 each */
	uint32_t *path, *best, *seq, *seq2;
	struct klt_seqset cycles; /* reported cycles (class level: also those covered by instances) */
};

struct lg_engine {
	struct lg_config cfg;

	struct klt_pairing pairs; /* tasks: struct task */

	struct ilock *locks;
	size_t nlocks, caplocks;
	struct klt_hmap lockmap; /* addr -> instance */

	struct iclass *classes;
	size_t nclasses, capclasses;
	struct klt_hmap infmap;  /* (first ip, kind) -> inferred class */
	struct klt_hmap namemap; /* (64-bit name hash, another 32-bit one) -> explicit class */

	struct graph ig, cg;

	struct lg_finding *findings;
	size_t nfindings, capfindings;
	struct klt_hmap seen_rule;	  /* (rule, class edge) */
	struct klt_hmap seen_suspend; /* (tid << 32 | lock, acquisition ts): once per hold */
	struct klt_hmap seen_atomic;  /* (callback, class) */

	struct lg_stats stats;
};

/* ---------------------------------------------------------------------------------------- */
/* Graph storage.                                                                           */

static void topo_insert(struct graph *g, uint32_t ei);

static int graph_reserve_node(struct graph *g)
{
	size_t ncap, s2, p2;
	void *p;

	if (g->nn + 1 <= g->capn)
		return 0;
	ncap = g->capn ? g->capn * 2 : 64;
	s2 = ncap * 2;
	p2 = ncap * 2 + 2;
	/* Each array is grown on its own; capn moves only when all succeeded. */
	p = realloc(g->first_out, ncap * sizeof(uint32_t));
	if (!p)
		return -ENOMEM;
	g->first_out = p;
	p = realloc(g->mark, s2 * sizeof(uint32_t));
	if (!p)
		return -ENOMEM;
	g->mark = p;
	/* the epoch marks must not match stale garbage */
	memset(g->mark + g->capn * 2, 0, (s2 - g->capn * 2) * sizeof(uint32_t));
#define GROW(field, cnt)                                             \
	do {                                                         \
		p = realloc(g->field, (cnt) * sizeof(uint32_t));     \
		if (!p)                                              \
			return -ENOMEM;                              \
		g->field = p;                                        \
	} while (0)
	GROW(pstate, s2);
	GROW(pedge, s2);
	GROW(queue, s2);
	GROW(path, p2);
	GROW(best, p2);
	GROW(seq, p2);
	GROW(seq2, p2);
	GROW(ord, ncap);
	GROW(comp, ncap);
	GROW(mnext, ncap);
	GROW(mtail, ncap);
	GROW(msize, ncap);
#undef GROW
	p = realloc(g->tk, s2 * sizeof(uint64_t));
	if (!p)
		return -ENOMEM;
	g->tk = p;
	p = realloc(g->succ, ncap * sizeof(*g->succ));
	if (!p)
		return -ENOMEM;
	g->succ = p;
	memset(g->succ + g->capn, 0, (ncap - g->capn) * sizeof(*g->succ));
	p = realloc(g->pred, ncap * sizeof(*g->pred));
	if (!p)
		return -ENOMEM;
	g->pred = p;
	memset(g->pred + g->capn, 0, (ncap - g->capn) * sizeof(*g->pred));
	g->capn = ncap;
	return 0;
}

static void graph_add_node(struct graph *g)
{
	g->first_out[g->nn] = NIL;
	g->ord[g->nn] = g->nn;
	g->comp[g->nn] = g->nn;
	g->mnext[g->nn] = NIL;
	g->mtail[g->nn] = g->nn;
	g->msize[g->nn] = 1;
	g->nn++;
}

static inline uint64_t ekey(uint32_t from, uint32_t to)
{
	return (uint64_t)from << 32 | to;
}

static int nadj_reserve(struct nadj *a)
{
	size_t cap = a->cap;

	if (klt_vec_reserve((void **)&a->v, &cap, (size_t)a->n + 1, sizeof(*a->v)))
		return -ENOMEM;
	a->cap = (uint32_t)cap;
	return 0;
}

static int graph_reserve_edge(struct graph *g, uint32_t from, uint32_t to)
{
	if (nadj_reserve(&g->succ[from]) || nadj_reserve(&g->pred[to]))
		return -ENOMEM;
	if (klt_vec_reserve((void **)&g->e, &g->cape, g->ne + 1, sizeof(*g->e)) ||
	    klt_vec_reserve((void **)&g->l, &g->capl, g->ne + 1, sizeof(*g->l)))
		return -ENOMEM;
	return klt_hmap_reserve(&g->map, 1);
}

static uint32_t graph_add_edge(struct graph *g, uint32_t from, uint32_t to, uint8_t types,
			       const struct lg_witness *w)
{
	uint32_t idx = g->ne++;
	struct iedge *ed = &g->e[idx];

	memset(ed, 0, sizeof(*ed));
	ed->pub.from = from;
	ed->pub.to = to;
	ed->pub.level = g->level;
	ed->pub.types = types;
	ed->pub.count = 1;
	ed->pub.first = *w;
	g->l[idx].count = 1;
	g->l[idx].cedge = NIL;
	g->l[idx].from = from;
	g->l[idx].to = to;
	g->l[idx].types = types;
	g->l[idx].next_out = g->first_out[from];
	g->first_out[from] = idx;
	g->succ[from].v[g->succ[from].n++] = to;
	g->pred[to].v[g->pred[to].n++] = from;
	klt_hmap_put(&g->map, ekey(from, to), 0, idx);
	topo_insert(g, idx);
	return idx;
}

static void edge_add_bit(struct graph *g, uint32_t ei, uint8_t bit)
{
	g->e[ei].pub.types |= bit;
	g->l[ei].types |= bit;
}

/* The edge as the API shows it, count brought up to date. */
static struct lg_edge *edge_pub(const struct graph *g, uint32_t i)
{
	struct lg_edge *pub = &g->e[i].pub;

	pub->count = g->l[i].count;
	return pub;
}

static void graph_free(struct graph *g)
{
	free(g->e);
	free(g->l);
	klt_hmap_free(&g->map);
	for (size_t i = 0; i < g->capn; i++) {
		free(g->succ[i].v);
		free(g->pred[i].v);
	}
	free(g->succ);
	free(g->pred);
	free(g->first_out);
	free(g->ord);
	free(g->comp);
	free(g->mnext);
	free(g->mtail);
	free(g->msize);
	free(g->tk);
	free(g->mark);
	free(g->pstate);
	free(g->pedge);
	free(g->queue);
	free(g->path);
	free(g->best);
	free(g->seq);
	free(g->seq2);
	klt_seqset_free(&g->cycles);
}

/* ---------------------------------------------------------------------------------------- */
/* Strong-cycle search.                                                                     */

static uint32_t next_epoch(struct graph *g)
{
	if (++g->epoch == 0) {
		memset(g->mark, 0, g->capn * 2 * sizeof(uint32_t));
		g->epoch = 1;
	}
	return g->epoch;
}

/* Sort keys ascending; inlined compares (qsort's indirect calls dominated re-ordering). */
static void sort_u64(uint64_t *v, size_t n)
{
	while (n > 16) {
		uint64_t piv = v[n / 2], t;
		size_t i = 0, j = n - 1;

		/* Hoare partition: v[0..j] <= piv <= v[j+1..n) */
		for (;;) {
			while (v[i] < piv)
				i++;
			while (v[j] > piv)
				j--;
			if (i >= j)
				break;
			t = v[i];
			v[i++] = v[j];
			v[j--] = t;
		}
		/* recurse into the smaller side, loop on the larger: O(log n) stack */
		if (j + 1 < n - j - 1) {
			sort_u64(v, j + 1);
			v += j + 1;
			n -= j + 1;
		} else {
			sort_u64(v + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		size_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Put the members of component `from` into component `to`. */
static void comp_merge(struct graph *g, uint32_t to, uint32_t from)
{
	uint32_t x;

	for (x = from; x != NIL; x = g->mnext[x])
		g->comp[x] = to;
	g->mnext[g->mtail[to]] = from;
	g->mtail[to] = g->mtail[from];
	g->msize[to] += g->msize[from];
}

/*
 * Keep the components and their order right when edge ei (u -> v) arrives: a dynamic
 * topological sort in the manner of Pearce and Kelly, on components. Nothing to do if u's
 * component comes first. Otherwise collect F = components reachable from v's with ord <= ord of
 * u's, and B = components reaching u's with ord >= ord of v's. If they meet, M = F & B is the
 * set of components on a path v ~> u: together with the new edge they form one strongly
 * connected component and are merged. B \ M, then M, then F \ M take the lowest, next and
 * highest of the positions F and B occupied. Cost: the affected region only. Uses mark (c * 2:
 * forward, c * 2 + 1: backward), queue, tk and pstate.
 */
static void topo_insert(struct graph *g, uint32_t ei)
{
	uint32_t cu = g->comp[g->l[ei].from], cv = g->comp[g->l[ei].to];
	uint32_t lb = g->ord[cv], ub = g->ord[cu], ep, sp = 0, nf = 0, nb = 0, np = 0, nm = 0;
	uint32_t i, k, x, y, e2, big, *pos = g->pstate;
	uint64_t *fk, *bk;

	if (cu == cv || lb > ub)
		return;
	ep = next_epoch(g);
	fk = g->tk;
	g->queue[sp++] = cv;
	g->mark[cv * 2] = ep;
	while (sp) {
		x = g->queue[--sp];
		fk[nf++] = (uint64_t)g->ord[x] << 32 | x;
		for (y = x; y != NIL; y = g->mnext[y]) {
			for (e2 = 0; e2 < g->succ[y].n; e2++) {
				uint32_t w = g->comp[g->succ[y].v[e2]];

				if (w != x && g->mark[w * 2] != ep && g->ord[w] <= ub) {
					g->mark[w * 2] = ep;
					g->queue[sp++] = w;
				}
			}
		}
	}
	bk = g->tk + nf;
	g->queue[sp++] = cu;
	g->mark[cu * 2 + 1] = ep;
	while (sp) {
		x = g->queue[--sp];
		bk[nb++] = (uint64_t)g->ord[x] << 32 | x;
		for (y = x; y != NIL; y = g->mnext[y]) {
			for (e2 = 0; e2 < g->pred[y].n; e2++) {
				uint32_t w = g->comp[g->pred[y].v[e2]];

				if (w != x && g->mark[w * 2 + 1] != ep && g->ord[w] >= lb) {
					g->mark[w * 2 + 1] = ep;
					g->queue[sp++] = w;
				}
			}
		}
	}
	sort_u64(fk, nf);
	sort_u64(bk, nb);
	/* every position either set held, in increasing order (a component in both counts once) */
	for (i = 0, k = 0; i < nf || k < nb;) {
		if (k >= nb || (i < nf && fk[i] < bk[k]))
			pos[np++] = fk[i++] >> 32;
		else if (i >= nf || bk[k] < fk[i])
			pos[np++] = bk[k++] >> 32;
		else
			pos[np++] = fk[i++] >> 32, k++;
	}
	/* M: components in both sets; the biggest absorbs the others */
	big = NIL;
	for (i = 0; i < nf; i++) {
		x = (uint32_t)fk[i];
		if (g->mark[x * 2 + 1] == ep && (big == NIL || g->msize[x] > g->msize[big]))
			big = x;
	}
	x = 0;
	for (k = 0; k < nb; k++) {
		y = (uint32_t)bk[k];
		if (g->mark[y * 2] != ep)
			g->ord[y] = pos[x++];
	}
	if (big != NIL) {
		for (i = 0; i < nf; i++) {
			y = (uint32_t)fk[i];
			if (g->mark[y * 2 + 1] == ep && y != big) {
				comp_merge(g, big, y);
				nm++;
			}
		}
		g->ord[big] = pos[x++];
	}
	x = np - (nf - nm - (big != NIL));
	for (i = 0; i < nf; i++) {
		y = (uint32_t)fk[i];
		if (g->mark[y * 2 + 1] != ep)
			g->ord[y] = pos[x++];
	}
}

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
	uint32_t s, len, i, c = g->comp[start];

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
	len = 0;
	for (s = target * 2 + !(g->mark[target * 2] == ep); s != s0; s = g->pstate[s])
		g->path[len++] = g->pedge[s];
	for (i = 0; i < len / 2; i++) {
		uint32_t t = g->path[i];

		g->path[i] = g->path[len - 1 - i];
		g->path[len - 1 - i] = t;
	}
	return len;
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

static void finding_init(struct lg_finding *f, unsigned kind, uint64_t ts)
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

static int finding_add(struct lg_engine *e, const struct lg_finding *f)
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
static int finding_add_once(struct lg_engine *e, struct klt_hmap *seen, uint64_t k1, uint32_t k2,
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

static void hold_from_held(struct lg_hold *h, const struct task *t, const struct klt_held *he,
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

static void hold_from_event(struct lg_hold *h, const struct klt_event *ev, uint32_t lock,
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

/*
 * Cycle through edge ei of graph g (which just gained a dependency bit): report the shortest
 * strong one unless the same node sequence was already reported at this level (or, at class
 * level, as an instance cycle).
 */
static int cycle_check(struct lg_engine *e, struct graph *g, uint32_t ei, uint64_t ts)
{
	struct graph *cg = &e->cg;
	uint32_t len, n, cn = 0, i;
	uint64_t h, ch = 0;
	struct lg_finding f;
	bool class_new = false;

	if (g->comp[g->l[ei].from] != g->comp[g->l[ei].to])
		return 0; /* not inside a strongly connected component: no cycle through it */
	e->stats.cycle_searches++;
	len = shortest_cycle(g, ei);
	if (!len)
		return 0;
	n = len + 1;
	for (i = 0; i < len; i++)
		g->seq[i] = g->e[g->best[i]].pub.from;
	g->seq[len] = g->e[ei].pub.from;
	canon_rotation(g->seq, n, g->seq2);
	h = klt_hash_seq32(g->seq, n);
	if (klt_seqset_has(&g->cycles, g->seq, n, h))
		return 0;

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
			class_new = !klt_seqset_has(&cg->cycles, g->seq2, cn, ch);
		}
	}

	finding_init(&f, LG_F_CYCLE, ts);
	f.level = g->level;
	f.nedges = n;
	f.edges = malloc(n * sizeof(*f.edges));
	if (!f.edges)
		return -ENOMEM;
	if (finding_reserve(e) || klt_seqset_reserve(&g->cycles, n) ||
	    (class_new && klt_seqset_reserve(&cg->cycles, cn))) {
		free(f.edges);
		return -ENOMEM;
	}
	for (i = 0; i < len; i++)
		f.edges[i] = *edge_pub(g, g->best[i]);
	f.edges[len] = *edge_pub(g, ei);
	klt_seqset_put(&g->cycles, g->seq, n, h);
	if (class_new)
		klt_seqset_put(&cg->cycles, g->seq2, cn, ch);
	finding_commit(e, &f);
	return 0;
}

/* A new class edge X -> Y contradicts every applicable rule "Y > X". */
static int rule_check(struct lg_engine *e, uint32_t cei, uint64_t ts)
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
			finding_init(&f, LG_F_RULE, ts);
			f.level = LG_LEVEL_CLASS;
			f.rule = x->inner[i];
			f.nedges = 1;
			f.edges = malloc(sizeof(*f.edges));
			if (!f.edges)
				return -ENOMEM;
			f.edges[0] = *edge_pub(&e->cg, cei);
			err = finding_add_once(e, &e->seen_rule, (uint32_t)x->inner[i], cei, &f);
			if (err) {
				free(f.edges);
				return err;
			}
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Tasks, locks, classes.                                                                   */

static struct task *task_get(struct lg_engine *e, const struct klt_event *ev, bool create,
			     int *err)
{
	size_t n = e->pairs.ntasks;
	struct task *t = (struct task *)klt_pair_task(&e->pairs, ev->tid, create, err);

	if (!t)
		return NULL;
	e->stats.tasks += e->pairs.ntasks - n;
	t->pid = ev->pid;
	memcpy(t->comm, ev->comm, KLT_COMM_LEN);
	return t;
}

static uint64_t name_hash(const char *s, uint64_t seed)
{
	uint64_t h = seed;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return klt_mix64(h);
}

/* Does rule r apply to this kernel, is it of this kind, and does `pat` of it match name? */
static bool rule_matches(const struct lg_engine *e, const struct klt_rule *r, int kind,
			 const char *pat, const char *name)
{
	return r->kind == kind && pat && klt_rule_applies(r, e->cfg.kernel_version) &&
	       klt_glob_match(pat, name);
}

/* Indices of the applicable ORDER rules whose outer (or inner) glob matches name. */
static int32_t *rule_list(const struct lg_engine *e, const char *name, bool outer, uint32_t *n)
{
	const struct klt_rules *rs = e->cfg.rules;
	int32_t *v;
	size_t i;

	*n = 0;
	for (i = 0; i < rs->n; i++)
		*n += rule_matches(e, &rs->v[i], KLT_RULE_ORDER,
				   outer ? rs->v[i].outer : rs->v[i].inner, name);
	if (!*n)
		return NULL;
	v = malloc(*n * sizeof(*v));
	if (!v)
		return NULL;
	*n = 0;
	for (i = 0; i < rs->n; i++)
		if (rule_matches(e, &rs->v[i], KLT_RULE_ORDER,
				 outer ? rs->v[i].outer : rs->v[i].inner, name))
			v[(*n)++] = (int32_t)i;
	return v;
}

/* Fill a new class's rule matches (resolved once, here, never per event). */
static int class_resolve_rules(struct lg_engine *e, struct iclass *c)
{
	const struct klt_rules *rs = e->cfg.rules;
	size_t i;

	c->watch_rule = -1;
	if (!rs || !c->pub.name)
		return 0;
	c->outer = rule_list(e, c->pub.name, true, &c->nouter);
	if (c->nouter && !c->outer)
		return -ENOMEM;
	c->inner = rule_list(e, c->pub.name, false, &c->ninner);
	if (c->ninner && !c->inner) {
		free(c->outer);
		c->outer = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < rs->n && c->watch_rule < 0; i++)
		if (rule_matches(e, &rs->v[i], KLT_RULE_WATCH_SUSPEND, rs->v[i].outer, c->pub.name))
			c->watch_rule = (int32_t)i;
	return 0;
}

/*
 * The instance for this address, created (and classified) on first sight: a DATA symbol makes
 * it a static lock with its own class, a CLASS symbol puts it in that named class, anything
 * else joins the class inferred from (kind, call site of this first acquisition). ip 0 means
 * the call site is unknown (the held side of an in-kernel EDGE record): such a lock gets a
 * class of its own rather than one shared by every lock of unknown site; so does every
 * pthread lock (see below).
 */
static int lock_get(struct lg_engine *e, uint64_t addr, uint8_t kind, uint64_t ip, uint32_t *out)
{
	const struct klt_sym *sym = NULL;
	uint32_t idx = klt_hmap_find(&e->lockmap, addr, 0), cid = NIL;
	uint64_t k1 = 0;
	uint32_t k2 = 0;
	struct klt_hmap *cmap = NULL;
	uint8_t origin = LG_CLASS_INFERRED;
	struct iclass *c;
	struct ilock *l;

	if (idx != NIL) {
		*out = idx;
		return 0;
	}
	if (e->cfg.syms) {
		/* a reused user lock's generation is not part of its symbol's address */
		sym = klt_symtab_exact(e->cfg.syms,
				       KLT_KIND_IS_USER(kind) ? addr & KLT_USER_ADDR_MASK : addr,
				       KLT_SYM_DATA);
		origin = LG_CLASS_STATIC;
		if (!sym) {
			sym = klt_symtab_exact(e->cfg.syms, addr, KLT_SYM_CLASS);
			origin = LG_CLASS_EXPLICIT;
		}
		if (sym && !sym->name)
			sym = NULL;
	}
	if (!sym) {
		origin = LG_CLASS_INFERRED;
		/*
		 * pthread locks get no shared inferred class: user code takes arrays of locks or
		 * locks of many heap objects in a consistent instance order through one helper's
		 * call sites, with no lockdep-style annotation to tell nested instances of a class
		 * apart, so call-site classes would turn such orders into class cycles that
		 * cannot deadlock (bench/userspace.sh: TSan and Helgrind report none).
		 */
		cmap = ip && kind != KLT_LK_PTHREAD_MUTEX && kind != KLT_LK_PTHREAD_RWLOCK ?
			       &e->infmap : NULL;
		k1 = ip;
		k2 = kind;
	} else if (origin == LG_CLASS_EXPLICIT) {
		cmap = &e->namemap;
		k1 = name_hash(sym->name, 0xcbf29ce484222325ULL);
		k2 = (uint32_t)name_hash(sym->name, 0x84222325cbf29ce4ULL);
	}
	if (cmap)
		cid = klt_hmap_find(cmap, k1, k2);

	if (klt_vec_reserve((void **)&e->locks, &e->caplocks, e->nlocks + 1, sizeof(*e->locks)) ||
	    klt_hmap_reserve(&e->lockmap, 1) || graph_reserve_node(&e->ig))
		return -ENOMEM;
	if (cid == NIL) {
		struct iclass nc;

		if (klt_vec_reserve((void **)&e->classes, &e->capclasses, e->nclasses + 1,
				sizeof(*e->classes)) ||
		    graph_reserve_node(&e->cg) || (cmap && klt_hmap_reserve(cmap, 1)))
			return -ENOMEM;
		memset(&nc, 0, sizeof(nc));
		nc.pub.id = e->nclasses;
		nc.pub.kind = kind;
		nc.pub.origin = origin;
		nc.pub.name = sym ? sym->name : NULL;
		nc.pub.key = origin == LG_CLASS_STATIC ? addr :
			     origin == LG_CLASS_INFERRED ? ip : 0;
		if (class_resolve_rules(e, &nc))
			return -ENOMEM;
		cid = e->nclasses++;
		e->classes[cid] = nc;
		graph_add_node(&e->cg);
		if (cmap)
			klt_hmap_put(cmap, k1, k2, cid);
	}
	c = &e->classes[cid];
	c->pub.ninstances++;

	idx = e->nlocks++;
	l = &e->locks[idx];
	memset(l, 0, sizeof(*l));
	l->pub.addr = addr;
	l->pub.class_id = cid;
	l->pub.kind = kind;
	l->pub.first_ip = ip;
	l->last_to = NIL;
	l->last_edge = NIL;
	klt_hmap_put(&e->lockmap, addr, 0, idx);
	graph_add_node(&e->ig);
	*out = idx;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Event handling.                                                                          */

static inline uint8_t dep_bit(uint8_t held_mode, uint8_t new_mode)
{
	bool shared = held_mode != KLT_MODE_WRITE, rec = new_mode == KLT_MODE_RREAD;

	return shared ? (rec ? LG_DEP_SR : LG_DEP_SN) : (rec ? LG_DEP_ER : LG_DEP_EN);
}

/* One held -> new dependency. */
static int add_dep(struct lg_engine *e, const struct klt_held *h, uint32_t lk, uint8_t mode,
		   const struct klt_event *ev)
{
	struct graph *ig = &e->ig, *cg = &e->cg;
	uint8_t bit = dep_bit(h->mode, mode);
	struct ilock *hl = &e->locks[h->ref];
	uint32_t ei, cei, cf, ct;
	bool new_cedge = false, cbit = false;
	struct lg_witness w;
	int err, err2 = 0;

	e->stats.edge_checks++;
	if (hl->last_to == lk) {
		ei = hl->last_edge;
	} else {
		ei = klt_hmap_find(&ig->map, ekey(h->ref, lk), 0);
		if (ei != NIL) {
			hl->last_to = lk;
			hl->last_edge = ei;
		}
	}
	if (ei != NIL) {
		struct elink *le = &ig->l[ei];

		le->count++;
		cei = le->cedge;
		if (cei != NIL)
			cg->l[cei].count++;
		if (le->types & bit)
			return 0; /* the common case: nothing new */
		edge_add_bit(ig, ei, bit);
		if (cei != NIL && !(cg->l[cei].types & bit)) {
			edge_add_bit(cg, cei, bit);
			cbit = true;
		}
		err = cycle_check(e, ig, ei, ev->ts);
		if (cbit)
			err2 = cycle_check(e, cg, cei, ev->ts);
		return err ? err : err2;
	}

	cf = e->locks[h->ref].pub.class_id;
	ct = e->locks[lk].pub.class_id;
	cei = cf == ct ? NIL : klt_hmap_find(&cg->map, ekey(cf, ct), 0);
	if (graph_reserve_edge(ig, h->ref, lk))
		return -ENOMEM;
	if (cf != ct && cei == NIL && graph_reserve_edge(cg, cf, ct))
		return -ENOMEM;

	memset(&w, 0, sizeof(w));
	w.pid = ev->pid;
	w.tid = ev->tid;
	w.cpu = ev->cpu;
	memcpy(w.comm, ev->comm, KLT_COMM_LEN);
	w.ts = ev->ts;
	w.held_lock = h->addr;
	w.new_lock = ev->lock;
	w.held_ip = h->ip;
	w.new_ip = ev->ip;
	w.held_stack = h->stack;
	w.new_stack = ev->stack_id;
	w.held_mode = h->mode;
	w.new_mode = mode;
	w.held_ts = h->ts;

	ei = graph_add_edge(ig, h->ref, lk, bit, &w);
	hl->last_to = lk;
	hl->last_edge = ei;
	if (cf != ct) {
		if (cei == NIL) {
			cei = graph_add_edge(cg, cf, ct, bit, &w);
			new_cedge = true;
			cbit = true;
		} else {
			cg->l[cei].count++;
			if (!(cg->l[cei].types & bit)) {
				edge_add_bit(cg, cei, bit);
				cbit = true;
			}
		}
		ig->l[ei].cedge = cei;
	}
	err = cycle_check(e, ig, ei, ev->ts);
	if (cbit)
		err2 = cycle_check(e, cg, cei, ev->ts);
	if (!err)
		err = err2;
	if (new_cedge) {
		err2 = rule_check(e, cei, ev->ts);
		if (!err)
			err = err2;
	}
	return err;
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
		r = add_dep(e, &held[i], lk, mode, ev);
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
	finding_init(&f, LG_F_ATOMIC_SLEEP, ev->ts);
	hold_from_event(&f.hold, ev, lk, kind, mode);
	f.cb = t->cb;
	f.cb_cpu = t->cb_cpu;
	f.cb_state = t->cb_state;
	f.cb_idx = t->cb_idx;
	return finding_add_once(e, &e->seen_atomic, t->cb, e->locks[lk].pub.class_id, &f);
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
	finding_init(&f, LG_F_DEPTH_OVERFLOW, ev->ts);
	hold_from_event(&f.hold, ev, lk, e->locks[lk].pub.kind, mode);
	if (finding_add(e, &f))
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
	finding_init(&f, LG_F_UNBALANCED, ev->ts);
	hold_from_event(&f.hold, ev, klt_hmap_find(&e->lockmap, ev->lock, 0), kind, ev->mode);
	return finding_add(e, &f);
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
			finding_init(&f, LG_F_SUSPEND_HOLDER, ev->ts);
			hold_from_held(&f.hold, t, he, e);
			f.phase = ev->aux0;
			/* one finding per hold: the first phase that found it held */
			err = finding_add_once(e, &e->seen_suspend,
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

		finding_init(&f, LG_F_HELD_AT_EXIT, ev->ts);
		hold_from_held(&f.hold, t, &t->h.held[j], e);
		if (finding_add(e, &f)) {
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
	err = lock_get(e, h.addr, KLT_F_HELD_KIND(ev->flags), 0, &h.ref);
	if (!err)
		err = lock_get(e, ev->lock, ev->kind, ev->ip, &lk);
	if (err)
		return err;
	return add_dep(e, &h, lk, mode, ev);
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
	graph_free(&e->ig);
	graph_free(&e->cg);
	for (i = 0; i < e->nfindings; i++)
		free(e->findings[i].edges);
	free(e->findings);
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
