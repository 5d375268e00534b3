/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The lock-order engine. Pure C: no libbpf, no stdio, no I/O. Takes decoded events
 * (struct klt_event, live or replayed), keeps per-task held-lock stacks, builds the lock-order
 * graph on two levels (lock instances and inferred lock classes), and reports findings.
 *
 * Semantics follow lockdep (Documentation/locking/lockdep-design.rst):
 *  - an edge held -> new is added when a blocking acquire of `new` is attempted while `held` is
 *    held (ATTEMPT, or ACQUIRED without a preceding ATTEMPT); a trylock adds no edge but the lock,
 *    once held, is the `held` side of later edges;
 *  - every edge carries the set of dependency types it was seen with (LG_DEP_*): the held lock's
 *    mode (E exclusive / S shared) and the new lock's acquisition (R recursive read / N otherwise);
 *  - a cycle is a deadlock only if it is "strong": no two adjacent edges -(*R)-> -(S*)->;
 *  - synchronize_srcu(ssp) is a write acquire+release of the SRCU domain; srcu_read_lock is a
 *    recursive read; rwsem / percpu-rwsem down_read is a non-recursive read.
 *
 * Lock identity (docs/engine.md): a lock whose address has a DATA symbol is a static lock, its
 * own class, named by the symbol. A lock whose address has a CLASS symbol belongs to that named
 * class. Any other lock is a per-object instance whose class is inferred from the call site of
 * its first acquisition: instances first acquired at the same ip (and of the same kind) form one
 * class. Cycles among instances happened for real; cycles found only among classes are potential.
 */
#ifndef KLT_LOCKGRAPH_H
#define KLT_LOCKGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "klt_abi.h"
#include "rules.h"
#include "symtab.h"

#define LG_DEFAULT_MAX_DEPTH 48

/* Dependency-type bits of an edge (held mode x new acquisition). */
#define LG_DEP_EN (1u << 0) /* held exclusive, new non-recursive */
#define LG_DEP_ER (1u << 1) /* held exclusive, new recursive read */
#define LG_DEP_SN (1u << 2) /* held shared,    new non-recursive */
#define LG_DEP_SR (1u << 3) /* held shared,    new recursive read */

enum lg_level {
	LG_LEVEL_INSTANCE = 0, /* nodes are lock instances (struct lg_lock) */
	LG_LEVEL_CLASS = 1,    /* nodes are lock classes (struct lg_class) */
};

struct lg_lock {
	uint64_t addr;
	uint32_t class_id;
	uint8_t kind;	       /* enum klt_lock_kind */
	uint64_t first_ip;     /* call site of the first acquisition seen */
	uint64_t acquisitions; /* ACQUIRED + TRY_OK + SRCU read locks */
	uint32_t gen;	       /* instances at this address before this one (LOCK_INIT) */
};

enum lg_class_origin {
	LG_CLASS_STATIC = 0,   /* static lock: DATA symbol at its address */
	LG_CLASS_EXPLICIT = 1, /* CLASS symbol names it */
	LG_CLASS_INFERRED = 2, /* by first-acquisition call site */
	LG_CLASS_INIT = 3,     /* by init site: the lockdep key of a LOCK_INIT (key), its name */
};

struct lg_class {
	uint32_t id;
	uint8_t kind;
	uint8_t origin;	   /* enum lg_class_origin */
	const char *name;  /* static/explicit: the symbol's name (owned by the symtab); inferred: NULL */
	uint64_t key;	   /* static: lock address; inferred: call-site ip; explicit: 0 */
	uint32_t ninstances;
	uint64_t acquisitions;
};

/* The first time an edge was seen. */
struct lg_witness {
	uint32_t pid, tid, cpu;
	char comm[KLT_COMM_LEN];
	uint64_t ts;
	uint64_t held_lock, new_lock; /* instance addresses */
	uint64_t held_ip, new_ip;     /* call sites */
	int32_t held_stack, new_stack; /* stack ids (KLT_NO_STACK if none) */
	uint8_t held_mode, new_mode;   /* enum klt_mode */
	uint64_t held_ts;		/* when the held lock was acquired */
};

struct lg_edge {
	uint32_t from, to; /* instance index (lg_lock_at) or class id (lg_class_at), per level */
	uint8_t level;	   /* enum lg_level */
	uint8_t types;	   /* LG_DEP_* seen */
	uint64_t count;	   /* times seen */
	struct lg_witness first;
};

/* A lock held by a task (suspend-holder, atomic-sleep, unbalanced release, held at exit). */
struct lg_hold {
	uint32_t pid, tid, cpu;
	char comm[KLT_COMM_LEN];
	uint32_t lock;	 /* instance index; UINT32_MAX if the lock was never seen acquired */
	uint64_t addr;	 /* lock address */
	uint8_t kind, mode;
	uint64_t ts;	 /* when acquired (or the event time for unbalanced release) */
	uint64_t ip;
	int32_t stack;
};

enum lg_finding_kind {
	LG_F_CYCLE = 0,		  /* possible circular locking dependency */
	LG_F_RULE = 1,		  /* documented-order rule violated */
	LG_F_SUSPEND_HOLDER = 2,  /* watched lock held when a suspend/resume phase began */
	LG_F_ATOMIC_SLEEP = 3,	  /* sleeping lock taken in a STARTING/DYING cpuhp callback */
	LG_F_UNBALANCED = 4,	  /* release of a lock the task does not hold */
	LG_F_HELD_AT_EXIT = 5,	  /* task exited holding a lock */
	LG_F_DEPTH_OVERFLOW = 6,  /* held-lock stack overflowed max_depth */
	LG_F_MAX
};

struct lg_finding {
	uint32_t seq;		   /* 0, 1, ... in discovery order */
	uint8_t kind;		   /* enum lg_finding_kind */
	uint8_t level;		   /* CYCLE and RULE: enum lg_level of edges[] */
	uint64_t ts;		   /* event time at which it was found */
	/* CYCLE: edges[0].from -> edges[0].to == edges[1].from -> ... -> edges[n-1].to == edges[0].from;
	 * edges[n-1] is the closing edge (the one whose addition revealed the cycle).
	 * RULE: one class-level edge that contradicts rule `rule`. */
	uint32_t nedges;
	struct lg_edge *edges; /* snapshot copies */
	int32_t rule;	       /* RULE: index into the rules given in lg_config; else -1 */
	/* SUSPEND_HOLDER, ATOMIC_SLEEP, UNBALANCED, HELD_AT_EXIT, DEPTH_OVERFLOW */
	struct lg_hold hold;
	/* SUSPEND_HOLDER: phase (enum klt_pm_phase); ATOMIC_SLEEP: cpuhp callback context */
	uint32_t phase;
	uint64_t cb;	    /* callback address */
	uint32_t cb_cpu;    /* cpu being plugged */
	uint32_t cb_state;  /* target state */
	int32_t cb_idx;	    /* state index */
};

/*
 * A cycle that is not a finding: one lock instance (`guard`) was held, in WRITE mode, at every
 * sighting of every edge of it (docs/engine.md, "Guard locks"), so no two of its edges can be
 * waited on at once. Recorded once per node sequence and level, like a cycle finding.
 */
struct lg_guarded {
	uint32_t seq;	       /* 0, 1, ... in discovery order */
	uint8_t level;	       /* enum lg_level of edges[] */
	uint64_t ts;	       /* event time at which it was found */
	uint32_t guard;	       /* instance index (lg_lock_at) of the common guard */
	uint32_t nedges;       /* edges[] as in a CYCLE finding */
	struct lg_edge *edges; /* snapshot copies */
};

/* The most guard candidates an edge keeps (lg_edge_guards). */
#define LG_GUARD_MAX 4

struct lg_stats {
	uint64_t events;
	uint64_t tasks;
	uint64_t acquisitions;
	uint64_t releases;
	uint64_t edge_checks;	   /* held->new pairs examined */
	uint64_t cycle_searches;   /* graph searches run (only for new edge types) */
	uint64_t unknown_events;   /* events of an unknown type (ignored) */
	uint64_t inits;		   /* LOCK_INIT events: new instances of init-site classes */
	uint64_t depth_overflows;
	uint64_t unbalanced;
};

struct lg_finding;
typedef void (*lg_finding_cb)(void *ctx, const struct lg_finding *f);

struct lg_config {
	struct klt_symtab *syms;       /* may be NULL: then every lock is an inferred-class instance */
	const struct klt_rules *rules; /* may be NULL */
	unsigned kernel_version;       /* KLT_KVER(major, minor) for scoping rules; 0 = unknown:
					  only rules without a kernel range apply */
	unsigned max_depth;	       /* 0 = LG_DEFAULT_MAX_DEPTH */
	bool ignore_unbalanced;	       /* count but do not report releases of locks not held
					  (live tracing started while locks were held) */
	lg_finding_cb on_finding;      /* called once per finding as it is found; may be NULL */
	void *ctx;
};

struct lg_engine;

struct lg_engine *lg_new(const struct lg_config *cfg); /* NULL on ENOMEM */
void lg_free(struct lg_engine *e);
/* Feed one event (events of one task must come in order). 0, or -ENOMEM (engine stays usable). */
int lg_feed(struct lg_engine *e, const struct klt_event *ev);

/* Results: valid until the next lg_feed / lg_free. */
size_t lg_nlocks(const struct lg_engine *e);
const struct lg_lock *lg_lock_at(const struct lg_engine *e, size_t i);
/* Index of the instance at addr (every address has at most one), -1 if never seen; hashed. */
int64_t lg_lock_find(const struct lg_engine *e, uint64_t addr);
size_t lg_nclasses(const struct lg_engine *e);
const struct lg_class *lg_class_at(const struct lg_engine *e, size_t id);
size_t lg_nedges(const struct lg_engine *e, enum lg_level level);
const struct lg_edge *lg_edge_at(const struct lg_engine *e, enum lg_level level, size_t i);
/* The guard candidates of edge i of a level (instances held WRITE at every sighting so far,
 * other than its ends; none if an EDGE event ever reported it) into out; their number. */
unsigned lg_edge_guards(const struct lg_engine *e, enum lg_level level, size_t i,
			uint32_t out[LG_GUARD_MAX]);
size_t lg_nguarded(const struct lg_engine *e);
const struct lg_guarded *lg_guarded_at(const struct lg_engine *e, size_t i);
size_t lg_nfindings(const struct lg_engine *e);
const struct lg_finding *lg_finding_at(const struct lg_engine *e, size_t i);
const struct lg_stats *lg_get_stats(const struct lg_engine *e);
const char *lg_finding_kind_name(unsigned kind); /* "cycle", "rule", "suspend-holder", ... */

#endif
