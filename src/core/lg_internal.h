/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The lock-order engine's private state, shared by its files (not an API: lockgraph.h is):
 *   lockgraph.c    events (the hot path), lifetime, accessors
 *   lg_classes.c   lock instances and classes
 *   lg_graph.c     graph storage, strongly connected components, topological order
 *   lg_cycles.c    strong-cycle search, rule check, findings
 *   lg_guard.c     guard locks: does a cycle found share a lock held in every sighting?
 *   held.c         the per-task held-lock pairing pass (shared with the statistics)
 */
#ifndef KLT_LG_INTERNAL_H
#define KLT_LG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "held.h"
#include "lockgraph.h"

#define NIL KLT_NIL

#define DEP_E (LG_DEP_EN | LG_DEP_ER) /* held exclusive */
#define DEP_N (LG_DEP_EN | LG_DEP_SN) /* new non-recursive */
#define DEP_R (LG_DEP_ER | LG_DEP_SR) /* new recursive read */

/*
 * Guard candidates kept per edge (docs/engine.md, "Guard locks"): instances held WRITE at every
 * sighting of the edge, other than its two ends. The set only shrinks; a lock beyond the first
 * LG_GUARD_MAX (lockgraph.h) of the first sighting is never a candidate (fewer guards: sound).
 */
struct gset {
	uint32_t id[LG_GUARD_MAX]; /* instance indices, the first elink.nguard valid */
	uint8_t pos[LG_GUARD_MAX]; /* where on the held stack id[k] was last seen (a hint) */
};

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
	/* EDGE_GUARD: the guard candidate of this task's next EDGE, which must name (held, lock) */
	bool guard_valid;
	struct klt_held guard; /* ref, addr, mode of the guard lock */
	uint64_t guard_held, guard_lock;
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
	uint8_t nguard;	   /* guard candidates left in graph.gs[edge] (0: unguarded, for good) */
};

/*
 * Neighbour node ids of one node, contiguous so re-ordering walks them without cache misses.
 * Most locks have one or two neighbours: up to NADJ_INLINE of them live in the struct itself
 * (cap 0: inline), more in a heap array (cap > NADJ_INLINE). A storm of fresh lock pairs then
 * costs no allocation per lock (it was two 32-byte malloc chunks each).
 */
#define NADJ_INLINE 2
struct nadj {
	union {
		uint32_t *heap;
		uint32_t in[NADJ_INLINE];
	} u;
	uint32_t n, cap;
};

static inline uint32_t *nadj_v(struct nadj *a)
{
	return a->cap ? a->u.heap : a->u.in;
}

/* One level of the graph (instances or classes) with its search scratch space. */
struct graph {
	uint8_t level;
	struct iedge *e;
	struct elink *l;
	size_t ne, cape, capl, capgs;
	struct gset *gs;	 /* per edge: its guard candidates (elink.nguard of them) */
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
	/* BFS over states (node, arrived via an -(*R)-> edge) = node * 2 + r; 4 * capn each (the
	 * guard search, lg_guard.c, adds a bit: node * 4 + r * 2 + a guard broken) */
	uint32_t *mark, *pstate, *pedge, *queue;
	uint32_t epoch;
	/* paths and node sequences: 2 * capn + 2 each */
	uint32_t *path, *best, *seq, *seq2;
	struct klt_seqset cycles; /* reported cycles (class level: also those covered by instances) */
	struct klt_seqset gcycles; /* guarded cycles recorded (not findings), the same way */
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
	struct klt_hmap keymap;  /* (init key, hash of name string address and kind) -> init class */

	struct graph ig, cg;

	struct lg_finding *findings;
	size_t nfindings, capfindings;
	struct lg_guarded *guarded; /* cycles every edge of which had one guard lock held */
	size_t nguarded, capguarded;
	struct klt_hmap seen_rule;	  /* (rule, class edge) */
	struct klt_hmap seen_suspend; /* (tid << 32 | lock, acquisition ts): once per hold */
	struct klt_hmap seen_atomic;  /* (callback, class) */

	struct lg_stats stats;
};

/* ---------------------------------------------------------------------------------------- */
/* Small helpers of more than one file (inline: some are on the hot path).                  */

static inline uint64_t ekey(uint32_t from, uint32_t to)
{
	return (uint64_t)from << 32 | to;
}

static inline void edge_add_bit(struct graph *g, uint32_t ei, uint8_t bit)
{
	g->e[ei].pub.types |= bit;
	g->l[ei].types |= bit;
}

/* The edge as the API shows it, count brought up to date. */
static inline struct lg_edge *edge_pub(const struct graph *g, uint32_t i)
{
	struct lg_edge *pub = &g->e[i].pub;

	pub->count = g->l[i].count;
	return pub;
}

static inline uint32_t next_epoch(struct graph *g)
{
	if (++g->epoch == 0) {
		memset(g->mark, 0, g->capn * 4 * sizeof(uint32_t));
		g->epoch = 1;
	}
	return g->epoch;
}

/* After a BFS reached state s from s0 (g->pstate, g->pedge): the edges of the path, s0's
 * first, into g->path; their number. States are the caller's encoding. */
static inline uint32_t path_from_states(struct graph *g, uint32_t s, uint32_t s0)
{
	uint32_t len = 0, i;

	for (; s != s0; s = g->pstate[s])
		g->path[len++] = g->pedge[s];
	for (i = 0; i < len / 2; i++) {
		uint32_t t = g->path[i];

		g->path[i] = g->path[len - 1 - i];
		g->path[len - 1 - i] = t;
	}
	return len;
}

/* lg_graph.c */
int lg_graph_reserve_node(struct graph *g);
void lg_graph_add_node(struct graph *g);
/* Room for one more edge from -> to; 0 or -ENOMEM. */
int lg_graph_reserve_edge(struct graph *g, uint32_t from, uint32_t to);
/* Add the edge after lg_graph_reserve_edge() and keep the topological order; its index. */
uint32_t lg_graph_add_edge(struct graph *g, uint32_t from, uint32_t to, uint8_t types,
			   const struct lg_witness *w);
void lg_graph_free(struct graph *g);

/* lg_guard.c: after shortest_cycle() put a cycle through ei in g->best[0..*len): if every
 * strong cycle through ei shares a guard lock, that guard (g->best is the cycle to show); else
 * NIL, and g->best[0..*len) is a strong cycle through ei with no common guard. */
uint32_t lg_guard_resolve(struct graph *g, uint32_t ei, uint32_t *len);

/* lg_classes.c: the instance of an address not seen before, created with its class. */
/* The init site of a LOCK_INIT: its class key and the address of its name string. */
struct lg_init {
	uint64_t key, name;
};
/* init: a LOCK_INIT's init site (a new instance at addr, which then replaces the address's
 * previous one), NULL for a first sighting */
int lg_lock_create(struct lg_engine *e, uint64_t addr, uint8_t kind, uint64_t ip,
		   const struct lg_init *init, uint32_t *out);

/* lg_cycles.c */
void lg_finding_init(struct lg_finding *f, unsigned kind, uint64_t ts);
int lg_finding_add(struct lg_engine *e, const struct lg_finding *f);
/* Report f once per key (k1, k2) of `seen`. */
int lg_finding_add_once(struct lg_engine *e, struct klt_hmap *seen, uint64_t k1, uint32_t k2,
			const struct lg_finding *f);
void lg_hold_from_held(struct lg_hold *h, const struct task *t, const struct klt_held *he,
		       const struct lg_engine *e);
void lg_hold_from_event(struct lg_hold *h, const struct klt_event *ev, uint32_t lock,
			uint8_t kind, uint8_t mode);
/* A cycle through edge ei of g, which just gained a dependency bit; 0 or -ENOMEM. */
int lg_cycle_check(struct lg_engine *e, struct graph *g, uint32_t ei, uint64_t ts);
/* A new class edge against the documented-order rules; 0 or -ENOMEM. */
int lg_rule_check(struct lg_engine *e, uint32_t cei, uint64_t ts);

#endif
