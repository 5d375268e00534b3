// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The per-task held-lock pairing pass (see held.h): the task table and the rules that are not
 * on the per-event fast path. Pure C.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "held.h"

void klt_pair_init(struct klt_pairing *p, const struct klt_pair_rules *rules, size_t tsize)
{
	memset(p, 0, sizeof(*p));
	p->rules = *rules;
	p->tsize = tsize;
	p->last = KLT_NIL;
}

void klt_pair_free(struct klt_pairing *p)
{
	for (size_t i = 0; i < p->ntasks; i++)
		free(klt_pair_at(p, i)->held);
	free(p->tasks);
	klt_hmap_free(&p->map);
	memset(p, 0, sizeof(*p));
	p->last = KLT_NIL;
}

struct klt_htask *klt_pair_add(struct klt_pairing *p, uint32_t tid)
{
	struct klt_held *held = NULL;
	struct klt_htask *t;
	uint32_t idx;

	if (klt_vec_reserve((void **)&p->tasks, &p->cap, p->ntasks + 1, p->tsize) ||
	    klt_hmap_reserve(&p->map, 1))
		return NULL;
	/* a bounded stack is allocated whole, once: pushes never allocate */
	if (p->rules.max_depth) {
		held = malloc(p->rules.max_depth * sizeof(*held));
		if (!held)
			return NULL;
	}
	idx = (uint32_t)p->ntasks++;
	t = klt_pair_at(p, idx);
	memset(t, 0, p->tsize);
	t->tid = tid;
	t->pend_ref = KLT_NIL;
	t->held = held;
	t->cap = p->rules.max_depth;
	klt_hmap_put(&p->map, tid, 0, idx);
	p->last = idx;
	return t;
}

int klt_pair_grow(struct klt_htask *t)
{
	size_t cap = t->cap;

	if (klt_vec_reserve((void **)&t->held, &cap, (size_t)t->depth + 1, sizeof(*t->held)))
		return -ENOMEM;
	t->cap = (uint32_t)cap;
	return 0;
}

void klt_pair_exit(struct klt_htask *t)
{
	t->depth = 0;
	t->lost = 0;
	t->pend_valid = false;
}
