// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The lock-order engine's graph (see lockgraph.c for the data layout): node and edge storage
 * of one level (instances or classes), and its strongly connected components kept in a
 * dynamic topological order as edges arrive, so that an edge between two components is known
 * to be on no cycle without a search.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lg_internal.h"

/* ---------------------------------------------------------------------------------------- */
/* Graph storage.                                                                           */

static void topo_insert(struct graph *g, uint32_t ei);

/*
 * Grow a zero-filled array from `old` to `size` bytes. calloc() of a large block maps fresh
 * zero pages that cost no memory until written; realloc() and a memset() of the new part
 * would make the whole doubled capacity resident (a node array at 2^20 capacity with 600,000
 * locks: 40% of it never used).
 */
static int grow_zeroed(void **p, size_t old, size_t size)
{
	void *np = calloc(1, size);

	if (!np)
		return -ENOMEM;
	if (old)
		memcpy(np, *p, old);
	free(*p);
	*p = np;
	return 0;
}

int lg_graph_reserve_node(struct graph *g)
{
	size_t ncap, s2, s4, p2;
	void *p;

	if (g->nn + 1 <= g->capn)
		return 0;
	ncap = g->capn ? g->capn * 2 : 64;
	s2 = ncap * 2;
	s4 = ncap * 4; /* BFS states: (node, r) for cycles, (node, r, guard broken) for guards */
	p2 = ncap * 2 + 2;
	/* Each array is grown on its own; capn moves only when all succeeded. */
	p = realloc(g->first_out, ncap * sizeof(uint32_t));
	if (!p)
		return -ENOMEM;
	g->first_out = p;
	/* the epoch marks must not match stale garbage: zeroed */
	if (grow_zeroed((void **)&g->mark, g->capn * 4 * sizeof(uint32_t), s4 * sizeof(uint32_t)))
		return -ENOMEM;
#define GROW(field, cnt)                                             \
	do {                                                         \
		p = realloc(g->field, (cnt) * sizeof(uint32_t));     \
		if (!p)                                              \
			return -ENOMEM;                              \
		g->field = p;                                        \
	} while (0)
	GROW(pstate, s4);
	GROW(pedge, s4);
	GROW(queue, s4);
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
	if (grow_zeroed((void **)&g->succ, g->capn * sizeof(*g->succ), ncap * sizeof(*g->succ)) ||
	    grow_zeroed((void **)&g->pred, g->capn * sizeof(*g->pred), ncap * sizeof(*g->pred)))
		return -ENOMEM;
	g->capn = ncap;
	return 0;
}

void lg_graph_add_node(struct graph *g)
{
	g->first_out[g->nn] = NIL;
	g->ord[g->nn] = g->nn;
	g->comp[g->nn] = g->nn;
	g->mnext[g->nn] = NIL;
	g->mtail[g->nn] = g->nn;
	g->msize[g->nn] = 1;
	g->nn++;
}

/* Room for one more neighbour: inline first, then a heap array doubled from 2 * inline. */
static int nadj_reserve(struct nadj *a)
{
	uint32_t ncap;
	uint32_t *nv;

	if (a->n < (a->cap ? a->cap : NADJ_INLINE))
		return 0;
	if (!a->cap) {
		nv = malloc(2 * NADJ_INLINE * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		memcpy(nv, a->u.in, sizeof(a->u.in));
		a->u.heap = nv;
		a->cap = 2 * NADJ_INLINE;
		return 0;
	}
	ncap = a->cap * 2;
	nv = realloc(a->u.heap, ncap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	a->u.heap = nv;
	a->cap = ncap;
	return 0;
}

int lg_graph_reserve_edge(struct graph *g, uint32_t from, uint32_t to)
{
	if (nadj_reserve(&g->succ[from]) || nadj_reserve(&g->pred[to]))
		return -ENOMEM;
	if (klt_vec_reserve((void **)&g->e, &g->cape, g->ne + 1, sizeof(*g->e)) ||
	    klt_vec_reserve((void **)&g->l, &g->capl, g->ne + 1, sizeof(*g->l)) ||
	    klt_vec_reserve((void **)&g->gs, &g->capgs, g->ne + 1, sizeof(*g->gs)))
		return -ENOMEM;
	return klt_hmap_reserve(&g->map, 1);
}

uint32_t lg_graph_add_edge(struct graph *g, uint32_t from, uint32_t to, uint8_t types,
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
	g->l[idx].nguard = 0; /* the caller fills g->gs[idx] */
	g->l[idx].next_out = g->first_out[from];
	g->first_out[from] = idx;
	nadj_v(&g->succ[from])[g->succ[from].n++] = to;
	nadj_v(&g->pred[to])[g->pred[to].n++] = from;
	klt_hmap_put(&g->map, ekey(from, to), 0, idx);
	topo_insert(g, idx);
	return idx;
}

void lg_graph_free(struct graph *g)
{
	free(g->e);
	free(g->l);
	free(g->gs);
	klt_hmap_free(&g->map);
	for (size_t i = 0; i < g->nn; i++) {
		if (g->succ[i].cap)
			free(g->succ[i].u.heap);
		if (g->pred[i].cap)
			free(g->pred[i].u.heap);
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
	klt_seqset_free(&g->gcycles);
}


/* ---------------------------------------------------------------------------------------- */
/* Strongly connected components in a dynamic topological order.                            */

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
				uint32_t w = g->comp[nadj_v(&g->succ[y])[e2]];

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
				uint32_t w = g->comp[nadj_v(&g->pred[y])[e2]];

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
