/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The per-task held-lock pairing pass: the one place in userspace that pairs a task's lock
 * events (ATTEMPT with ACQUIRED, an acquisition with its RELEASE) on a per-task held stack.
 * The engine (lockgraph.c: dependencies, findings) and the statistics (stats.c: wait and hold
 * times) both run their events through it. Pure C, no I/O. Rules in docs/engine.md, "Held-lock
 * pairing".
 *
 *   tasks       keyed by tid (klt_hmap), the last one cached; a consumer embeds struct
 *               klt_htask as the first member of its own per-task record (klt_pair_init's
 *               tsize)
 *   push        an acquisition (ACQUIRED, TRY_OK, SRCU_READ_LOCK) goes on top of the stack
 *   release     pops the most recent hold of the address, anywhere in the stack (lockdep style;
 *               with release_by_srcu, the most recent one of the release's sort)
 *   attempt     an ATTEMPT is pending until the task's next acquisition event ends it
 *   exit        TASK_EXIT: the stack, the dropped count and the pending attempt are cleared
 *
 * The two consumers differ in four rules, kept as explicit options (struct klt_pair_rules)
 * because their outputs depend on them; everything else is shared. Which events reach the pass
 * (the engine skips TRY_FAIL), what a task records beside its stack, and what an unmatched
 * release means stay with each consumer.
 */
#ifndef KLT_HELD_H
#define KLT_HELD_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "container.h"
#include "klt_abi.h"

/* One hold: what the engine's witnesses and findings and the statistics' hold times need. */
struct klt_held {
	uint64_t addr;	/* lock address */
	uint64_t ts;	/* when acquired */
	uint64_t ip;	/* call site */
	uint32_t ref;	/* the consumer's record: engine instance, statistics acquisition */
	int32_t stack;	/* stack id */
	uint32_t cpu;
	uint8_t mode;	/* enum klt_mode */
	uint8_t trylock; /* pushed by TRY_OK */
	uint8_t srcu;	/* pushed by SRCU_READ_LOCK (an SRCU read section) */
};

/* The pairing state of one task: the first member of each consumer's per-task record. */
struct klt_htask {
	uint32_t tid;
	uint32_t depth; /* holds on the stack */
	uint32_t cap;	/* room in held[] */
	uint32_t lost;	/* pushes dropped by max_depth: their releases are not unmatched */
	bool pend_valid; /* an ATTEMPT is waiting for its acquisition */
	uint32_t pend_ref; /* ... the consumer's reference for it */
	uint64_t pend_addr, pend_ts;
	struct klt_held *held; /* innermost last */
};

struct klt_pair_rules {
	/*
	 * 0: the stack grows as needed (statistics: every hold gets its time). N: at most N holds,
	 * a push beyond is dropped and counted in `lost`, and that many later releases that match
	 * nothing are taken to be theirs (engine: bounded memory per task, lockdep's MAX depth).
	 */
	unsigned max_depth;
	/*
	 * false: a release pairs with the most recent hold of its address, whatever pushed it
	 * (engine: the lock graph knows one instance per address). true: RELEASE pairs only with
	 * holds not pushed by SRCU_READ_LOCK, SRCU_READ_UNLOCK only with those (statistics: an
	 * SRCU read section is timed apart from a lock at the same address).
	 */
	bool release_by_srcu;
	/* SRCU_READ_LOCK and SRCU_SYNC end a pending ATTEMPT (engine: its ACQUIRED then adds the
	 * dependencies again, as an acquisition not preceded by its ATTEMPT). */
	bool srcu_ends_attempt;
	/* TRY_FAIL of the pending address ends the ATTEMPT (statistics: a failed blocking acquire
	 * has no wait); the engine ignores TRY_FAIL altogether. */
	bool try_fail_ends_attempt;
};

struct klt_pairing {
	struct klt_pair_rules rules;
	size_t tsize;	/* size of the consumer's per-task record */
	unsigned char *tasks;
	size_t ntasks, cap;
	struct klt_hmap map; /* tid -> task */
	uint32_t last;	     /* the last task looked up, or KLT_NIL */
};

enum klt_release {
	KLT_REL_MATCHED = 0, /* a hold was popped (copied to *out) */
	KLT_REL_LOST = 1,    /* no hold: taken to be one dropped by max_depth */
	KLT_REL_UNMATCHED = 2, /* the task holds no such lock */
};

/* tsize >= sizeof(struct klt_htask): the consumer's record, struct klt_htask first. */
void klt_pair_init(struct klt_pairing *p, const struct klt_pair_rules *rules, size_t tsize);
void klt_pair_free(struct klt_pairing *p);

static inline struct klt_htask *klt_pair_at(const struct klt_pairing *p, size_t i)
{
	return (struct klt_htask *)(p->tasks + i * p->tsize);
}

/* The task of tid, NULL if it has none: the last task, else one hash probe. */
static inline struct klt_htask *klt_pair_find(struct klt_pairing *p, uint32_t tid)
{
	uint32_t idx;

	if (p->last < p->ntasks && klt_pair_at(p, p->last)->tid == tid)
		return klt_pair_at(p, p->last);
	idx = klt_hmap_find(&p->map, tid, 0);
	if (idx == KLT_NIL)
		return NULL;
	p->last = idx;
	return klt_pair_at(p, idx);
}

/* A new task for tid (not in the table), zeroed beyond struct klt_htask; NULL on ENOMEM. */
struct klt_htask *klt_pair_add(struct klt_pairing *p, uint32_t tid);

/* ATTEMPT: pending until the task's next acquisition event. */
static inline void klt_pair_attempt(struct klt_htask *t, uint64_t addr, uint64_t ts, uint32_t ref)
{
	t->pend_valid = true;
	t->pend_addr = addr;
	t->pend_ts = ts;
	t->pend_ref = ref;
}

/* Is an ATTEMPT of addr pending (an ACQUIRED of addr is then its completion)? */
static inline bool klt_pair_pending(const struct klt_htask *t, uint64_t addr)
{
	return t->pend_valid && t->pend_addr == addr;
}

static inline void klt_pair_end_attempt(struct klt_htask *t)
{
	t->pend_valid = false;
}

/* After the consumer handled an acquisition event (ACQUIRED, TRY_OK, TRY_FAIL, SRCU_READ_LOCK,
 * SRCU_SYNC) of addr: end the pending ATTEMPT as the rules say. Inline: type is mostly a
 * constant at the call site and the switch folds away. */
static inline void klt_pair_after_acquire(const struct klt_pairing *p, struct klt_htask *t,
					  uint8_t type, uint64_t addr)
{
	switch (type) {
	case KLT_EV_ACQUIRED:
	case KLT_EV_TRY_OK:
		t->pend_valid = false;
		break;
	case KLT_EV_TRY_FAIL:
		if (p->rules.try_fail_ends_attempt && t->pend_addr == addr)
			t->pend_valid = false;
		break;
	case KLT_EV_SRCU_READ_LOCK:
	case KLT_EV_SRCU_SYNC:
		if (p->rules.srcu_ends_attempt)
			t->pend_valid = false;
		break;
	}
}

int klt_pair_grow(struct klt_htask *t); /* room for one more hold; 0 or -ENOMEM */

/* Push h. 0 pushed; 1 dropped by max_depth (counted in t->lost); -ENOMEM (unbounded stack
 * could not grow: nothing changed). A bounded stack has cap == max_depth from the start, so
 * the common case is one compare. */
static inline int klt_pair_push(const struct klt_pairing *p, struct klt_htask *t,
				const struct klt_held *h)
{
	if (t->depth >= t->cap) {
		if (p->rules.max_depth) {
			t->lost++;
			return 1;
		}
		if (klt_pair_grow(t))
			return -ENOMEM;
	}
	t->held[t->depth++] = *h;
	return 0;
}

/* Release of addr by RELEASE (srcu false) or SRCU_READ_UNLOCK (srcu true); *out gets the
 * popped hold when KLT_REL_MATCHED. */
static inline enum klt_release klt_pair_release(const struct klt_pairing *p, struct klt_htask *t,
						uint64_t addr, bool srcu, struct klt_held *out)
{
	for (uint32_t i = t->depth; i-- > 0;) {
		if (t->held[i].addr != addr ||
		    (p->rules.release_by_srcu && (bool)t->held[i].srcu != srcu))
			continue;
		*out = t->held[i];
		memmove(&t->held[i], &t->held[i + 1], (t->depth - i - 1) * sizeof(*t->held));
		t->depth--;
		return KLT_REL_MATCHED;
	}
	if (t->lost) {
		/* most likely the release of an acquisition dropped on overflow */
		t->lost--;
		return KLT_REL_LOST;
	}
	return KLT_REL_UNMATCHED;
}

/* TASK_EXIT, after the consumer looked at the holds left: clear the stack and the pending
 * ATTEMPT. */
void klt_pair_exit(struct klt_htask *t);

#endif
