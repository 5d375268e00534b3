// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Guard locks (docs/engine.md, "Guard locks"): a cycle is not a finding when one lock instance
 * was held WRITE at every sighting of every one of its edges, because two tasks can never wait
 * on two of its edges at once. Every edge keeps its guard candidates (lockgraph.c: guard_init,
 * guard_meet); here, once a cycle search found the shortest strong cycle through an edge, we
 * decide whether *every* strong cycle through that edge shares a guard, and if not, find one
 * that does not: a guarded short cycle must not hide an unguarded longer one.
 */
#include <string.h>

#include "lg_internal.h"

static bool has_guard(const struct graph *g, uint32_t ei, uint32_t id)
{
	for (uint8_t k = 0; k < g->l[ei].nguard; k++) {
		if (g->gs[ei].id[k] == id)
			return true;
	}
	return false;
}

/* Bit k set: candidate k of edge ei is also a candidate of every edge of path[0..len). */
static unsigned common_mask(const struct graph *g, uint32_t ei, const uint32_t *path,
			    uint32_t len)
{
	unsigned m = (1u << g->l[ei].nguard) - 1;

	for (unsigned k = 0; k < g->l[ei].nguard; k++) {
		for (uint32_t i = 0; i < len; i++) {
			if (!has_guard(g, path[i], g->gs[ei].id[k])) {
				m &= ~(1u << k);
				break;
			}
		}
	}
	return m;
}

/*
 * lg_cycles.c's bfs() with one more bit of state: has the path used an edge without `guard`
 * ("broken")? States (node, arrived via *R, broken) = node * 4 + r * 2 + b. A state is skipped
 * when one already reached dominates it (via *N dominates via *R, broken dominates not). The
 * target is accepted only broken. Path (edge indices, start first) into g->path; its length.
 */
static uint32_t bfs_break(struct graph *g, uint32_t start, bool start_r, uint32_t target,
			  bool acc_r, uint32_t guard)
{
	uint32_t ep = next_epoch(g), head = 0, tail = 0, s0 = start * 4 + start_r * 2;
	uint32_t s, c = g->comp[start];

	g->mark[s0] = ep;
	g->queue[tail++] = s0;
	while (head < tail) {
		uint32_t st = g->queue[head++], ei;
		bool r = st & 2, b = st & 1;

		for (ei = g->first_out[st >> 2]; ei != NIL; ei = g->l[ei].next_out) {
			const struct elink *ed = &g->l[ei];
			uint8_t allowed = r ? (ed->types & DEP_E) : ed->types;
			uint32_t w = ed->to, ns, *m;
			bool nr, nb;

			if (!allowed || g->comp[w] != c)
				continue;
			nr = !(allowed & DEP_N);
			nb = b || !has_guard(g, ei, guard);
			m = g->mark + w * 4;
			if (m[1] == ep || (!nb && m[0] == ep) || (nr && m[3] == ep) ||
			    (nr && !nb && m[2] == ep))
				continue;
			ns = w * 4 + nr * 2 + nb;
			g->mark[ns] = ep;
			g->pstate[ns] = st;
			g->pedge[ns] = ei;
			if (w == target) {
				if (!nb || (nr && !acc_r))
					continue;
				s = ns;
				goto found;
			}
			g->queue[tail++] = ns;
		}
	}
	return 0;

found:
	return path_from_states(g, s, s0);
}

/* The shortest strong path to ~> from, closing a cycle with ei, that breaks `guard`; into
 * g->seq2 (free until lg_cycle_check canonicalises). Its length, 0 if there is none. */
static uint32_t shortest_break(struct graph *g, uint32_t ei, uint32_t guard)
{
	const struct lg_edge *ne = &g->e[ei].pub;
	uint32_t bestlen = 0;

	for (int r = 0; r < 2; r++) {
		uint8_t b = ne->types & (r ? DEP_R : DEP_N);
		uint32_t len;

		if (!b)
			continue;
		len = bfs_break(g, ne->to, r, ne->from, b & DEP_E, guard);
		if (len && (!bestlen || len < bestlen)) {
			bestlen = len;
			memcpy(g->seq2, g->path, len * sizeof(*g->path));
		}
	}
	return bestlen;
}

/*
 * g->best[0..*len) + ei is the shortest strong cycle through ei. A common guard must be one of
 * ei's candidates. For a candidate common to the cycle at hand (each candidate once), search
 * for a strong cycle through ei with an edge that lacks it: none means every strong cycle
 * through ei keeps it on every edge, so they are all guarded by it. One found replaces the
 * cycle at hand. We stop when the cycle at hand has no common candidate (a finding), or when
 * every candidate it still shares was broken by some cycle through ei: those cycles, joined at
 * ei, make one closed walk with no common guard, so it is a finding too (shown: the cycle at
 * hand). At most LG_GUARD_MAX searches, and only for cycles that had a guard.
 */
uint32_t lg_guard_resolve(struct graph *g, uint32_t ei, uint32_t *len)
{
	unsigned m, tried = 0;

	if (!g->l[ei].nguard)
		return NIL;
	m = common_mask(g, ei, g->best, *len);
	while (m & ~tried) {
		unsigned k = (unsigned)__builtin_ctz(m & ~tried);
		uint32_t guard = g->gs[ei].id[k], blen;

		tried |= 1u << k;
		blen = shortest_break(g, ei, guard);
		if (!blen)
			return guard;
		memcpy(g->best, g->seq2, blen * sizeof(*g->best));
		*len = blen;
		m = common_mask(g, ei, g->best, blen);
	}
	return NIL;
}
