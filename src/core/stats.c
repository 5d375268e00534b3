// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lock-time statistics (see stats.h): pairs each task's lock events into acquisitions with wait
 * and hold times, then sums them per lock class and per (class, acquisition stack). Pure C.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "held.h"
#include "stats.h"

/* --- metrics ------------------------------------------------------------------------------ */
unsigned klt_hist_bucket(uint64_t v)
{
	return v ? 64u - (unsigned)__builtin_clzll(v) : 0;
}

uint64_t klt_hist_lo(unsigned b)
{
	return b ? 1ull << (b - 1) : 0;
}

uint64_t klt_hist_hi(unsigned b)
{
	return b == 0 ? 0 : b >= 64 ? UINT64_MAX : (1ull << b) - 1;
}

int klt_metric_add(struct klt_metric *m, uint64_t v)
{
	unsigned b = klt_hist_bucket(v);

	if (!m->hist || b < m->hist_lo || b >= (unsigned)m->hist_lo + m->hist_n) {
		/* widen the stored range to include b */
		unsigned lo = m->hist ? (b < m->hist_lo ? b : m->hist_lo) : b;
		unsigned hi = m->hist ? (b >= (unsigned)m->hist_lo + m->hist_n ? b :
					 (unsigned)m->hist_lo + m->hist_n - 1) : b;
		uint64_t *h = calloc(hi - lo + 1, sizeof(*h));

		if (!h)
			return -ENOMEM;
		if (m->hist)
			memcpy(h + (m->hist_lo - lo), m->hist, m->hist_n * sizeof(*h));
		free(m->hist);
		m->hist = h;
		m->hist_lo = (uint8_t)lo;
		m->hist_n = (uint8_t)(hi - lo + 1);
	}
	m->hist[b - m->hist_lo]++;
	m->count++;
	m->total += v;
	if (v > m->max)
		m->max = v;
	return 0;
}

uint64_t klt_metric_bucket(const struct klt_metric *m, unsigned b)
{
	if (!m->hist || b < m->hist_lo || b >= (unsigned)m->hist_lo + m->hist_n)
		return 0;
	return m->hist[b - m->hist_lo];
}

void klt_metric_free(struct klt_metric *m)
{
	free(m->hist);
	m->hist = NULL;
	m->hist_lo = m->hist_n = 0;
}

bool klt_acq_wait(const struct klt_acq *a, uint64_t *ns)
{
	if (a->has_wait) {
		*ns = a->wait_ns;
		return true;
	}
	if (a->contended) {
		*ns = a->contend_ns;
		return true;
	}
	return false;
}

/* A failed trylock: kept in acqs only until the tables count it (never returned). */
#define ACQ_FAILED_TRY 0xff

/* --- per-task pairing ---------------------------------------------------------------------- */
/*
 * The held stacks and the pending ATTEMPT are the pairing pass's (held.h), with the statistics'
 * rules: unbounded stacks, releases paired by the SRCU flag, TRY_FAIL ends the attempt. A hold's
 * `ref` is its acquisition (index into acqs). The contention window is the statistics' own.
 */
struct task {
	struct klt_htask h;
	bool cont_valid;
	uint64_t cont_lock, cont_ts;
	uint64_t pend_contend_ns; /* contention seen while the pending attempt waited */
	bool pend_contended;
};

static const struct klt_pair_rules stats_rules = {
	.max_depth = 0,
	.release_by_srcu = true,
	.srcu_ends_attempt = false,
	.try_fail_ends_attempt = true,
};

struct builder {
	struct klt_stats *s;
	const struct lg_engine *eng;
	struct klt_pairing pairs; /* tasks: struct task */
};

static uint32_t class_of(const struct lg_engine *eng, uint64_t addr)
{
	int64_t i = eng ? lg_lock_find(eng, addr) : -1;

	return i < 0 ? KLT_NO_CLASS : lg_lock_at(eng, (size_t)i)->class_id;
}

static struct klt_acq *new_acq(struct builder *b, const struct klt_event *ev, uint8_t type)
{
	struct klt_stats *s = b->s;
	struct klt_acq *a;

	if (klt_vec_reserve((void **)&s->acqs, &s->acqs_cap, s->nacqs + 1, sizeof(*s->acqs)))
		return NULL;
	a = &s->acqs[s->nacqs++];
	memset(a, 0, sizeof(*a));
	a->lock = ev->lock;
	a->class_id = class_of(b->eng, ev->lock);
	a->pid = ev->pid;
	a->tid = ev->tid;
	a->cpu = ev->cpu;
	memcpy(a->comm, ev->comm, sizeof(a->comm));
	a->comm[KLT_COMM_LEN - 1] = '\0';
	a->ts = ev->ts;
	a->ip = ev->ip;
	a->stack_id = ev->stack_id;
	a->type = type;
	a->kind = ev->kind;
	a->mode = ev->mode;
	a->implicit = ev->flags & KLT_F_IMPLICIT;
	return a;
}

static int on_acquire(struct builder *b, struct task *t, const struct klt_event *ev, uint8_t type)
{
	struct klt_acq *a = new_acq(b, ev, type);
	struct klt_held h;

	if (!a)
		return -ENOMEM;
	if (type == KLT_ACQ_BLOCK && klt_pair_pending(&t->h, ev->lock)) {
		a->has_wait = true;
		a->wait_ns = ev->ts >= t->h.pend_ts ? ev->ts - t->h.pend_ts : 0;
		a->contended = t->pend_contended;
		a->contend_ns = t->pend_contend_ns;
	}
	klt_pair_after_acquire(&b->pairs, &t->h, ev->type, ev->lock);
	if (type == KLT_ACQ_BLOCK || type == KLT_ACQ_TRY) {
		t->pend_contended = false;
		t->pend_contend_ns = 0;
	}
	if (type == KLT_ACQ_SRCU_SYNC)
		return 0;
	memset(&h, 0, sizeof(h));
	h.addr = ev->lock;
	h.ts = ev->ts;
	h.ip = ev->ip;
	h.ref = (uint32_t)(a - b->s->acqs);
	h.stack = ev->stack_id;
	h.cpu = ev->cpu;
	h.mode = ev->mode;
	h.trylock = type == KLT_ACQ_TRY;
	h.srcu = type == KLT_ACQ_SRCU_READ;
	return klt_pair_push(&b->pairs, &t->h, &h) < 0 ? -ENOMEM : 0;
}

static void on_release(struct builder *b, struct task *t, const struct klt_event *ev, bool srcu)
{
	struct klt_held h;
	struct klt_acq *a;

	if (klt_pair_release(&b->pairs, &t->h, ev->lock, srcu, &h) != KLT_REL_MATCHED) {
		b->s->unmatched_releases++;
		return;
	}
	a = &b->s->acqs[h.ref];
	a->released = true;
	a->hold_ns = ev->ts >= a->ts ? ev->ts - a->ts : 0;
}

/* CONTEND_END: the contention time goes to the pending ATTEMPT of the lock, else on its own. */
static int on_contend_end(struct builder *b, struct task *t, const struct klt_event *ev)
{
	struct klt_acq *a;
	uint64_t d;

	if (!t->cont_valid || t->cont_lock != ev->lock)
		return 0;
	t->cont_valid = false;
	d = ev->ts >= t->cont_ts ? ev->ts - t->cont_ts : 0;
	if (klt_pair_pending(&t->h, ev->lock)) {
		t->pend_contended = true;
		t->pend_contend_ns += d;
		return 0;
	}
	/* no acquisition event to attach it to (contention seen alone) */
	a = new_acq(b, ev, KLT_ACQ_CONTENTION);
	if (!a)
		return -ENOMEM;
	a->ts = t->cont_ts;
	a->contended = true;
	a->contend_ns = d;
	return 0;
}

static int feed(struct builder *b, const struct klt_event *ev)
{
	struct klt_acq *r;
	struct task *t;

	switch (ev->type) {
	case KLT_EV_ATTEMPT: case KLT_EV_ACQUIRED: case KLT_EV_RELEASE: case KLT_EV_TRY_OK:
	case KLT_EV_TRY_FAIL: case KLT_EV_SRCU_READ_LOCK: case KLT_EV_SRCU_READ_UNLOCK:
	case KLT_EV_SRCU_SYNC: case KLT_EV_CONTEND_BEGIN: case KLT_EV_CONTEND_END:
	case KLT_EV_TASK_EXIT:
		break;
	default:
		return 0;
	}
	t = (struct task *)klt_pair_find(&b->pairs, ev->tid);
	if (!t)
		t = (struct task *)klt_pair_add(&b->pairs, ev->tid);
	if (!t)
		return -ENOMEM;
	switch (ev->type) {
	case KLT_EV_ATTEMPT:
		klt_pair_attempt(&t->h, ev->lock, ev->ts, KLT_NIL);
		t->pend_contended = false;
		t->pend_contend_ns = 0;
		return 0;
	case KLT_EV_ACQUIRED:
		return on_acquire(b, t, ev, KLT_ACQ_BLOCK);
	case KLT_EV_TRY_OK:
		return on_acquire(b, t, ev, KLT_ACQ_TRY);
	case KLT_EV_SRCU_READ_LOCK:
		return on_acquire(b, t, ev, KLT_ACQ_SRCU_READ);
	case KLT_EV_SRCU_SYNC:
		return on_acquire(b, t, ev, KLT_ACQ_SRCU_SYNC);
	case KLT_EV_TRY_FAIL:
		/* a failed blocking acquire (ret != 0) ends the pending attempt too */
		klt_pair_after_acquire(&b->pairs, &t->h, ev->type, ev->lock);
		/* counted per class when the tables are built: remember it as a zero record */
		r = new_acq(b, ev, KLT_ACQ_TRY);
		if (!r)
			return -ENOMEM;
		r->type = ACQ_FAILED_TRY;
		return 0;
	case KLT_EV_RELEASE:
	case KLT_EV_SRCU_READ_UNLOCK:
		on_release(b, t, ev, ev->type == KLT_EV_SRCU_READ_UNLOCK);
		return 0;
	case KLT_EV_CONTEND_BEGIN:
		t->cont_valid = true;
		t->cont_lock = ev->lock;
		t->cont_ts = ev->ts;
		return 0;
	case KLT_EV_CONTEND_END:
		return on_contend_end(b, t, ev);
	case KLT_EV_TASK_EXIT:
		b->s->open_holds += t->h.depth;
		klt_pair_exit(&t->h);
		t->cont_valid = false;
		return 0;
	}
	return 0;
}

/* --- tables -------------------------------------------------------------------------------- */
static uint64_t class_key(const struct klt_acq *a)
{
	return a->class_id != KLT_NO_CLASS ? a->class_id : (1ull << 63) | a->lock;
}

static uint64_t stack_key(const struct klt_acq *a)
{
	return a->stack_id >= 0 ? (uint64_t)a->stack_id : (1ull << 63) | a->ip;
}

/* The entry of (class key, k2) in arr, appended on first sight; NULL on ENOMEM. */
static struct klt_stat *entry(struct klt_stat **arr, size_t *n, size_t *cap, struct klt_hmap *m,
			      const struct klt_acq *a, uint32_t k2)
{
	uint64_t ck = class_key(a);
	uint32_t i = klt_hmap_find(m, ck, k2);
	struct klt_stat *e;

	if (i != KLT_NIL)
		return &(*arr)[i];
	if (klt_vec_reserve((void **)arr, cap, *n + 1, sizeof(**arr)) || klt_hmap_reserve(m, 1))
		return NULL;
	klt_hmap_put(m, ck, k2, (uint32_t)*n);
	e = &(*arr)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->class_id = a->class_id;
	e->lock = a->lock;
	e->kind = a->kind;
	e->stack_id = a->stack_id;
	e->ip = a->ip;
	e->ckey = ck;
	return e;
}

/* A dense id for a 64-bit stack key (the per-stack map's second key is 32 bits). */
static int stack_id_of(struct klt_hmap *ids, uint64_t key, uint32_t *id)
{
	*id = klt_hmap_find(ids, key, 0);
	if (*id != KLT_NIL)
		return 0;
	if (klt_hmap_reserve(ids, 1))
		return -ENOMEM;
	*id = ids->n;
	klt_hmap_put(ids, key, 0, *id);
	return 0;
}

static int account(struct klt_stat *e, const struct klt_acq *a)
{
	int err = 0;

	if (a->type == ACQ_FAILED_TRY) {
		e->try_fail++;
		return 0;
	}
	if (a->type != KLT_ACQ_CONTENTION)
		e->acquisitions++;
	if (a->contended) {
		e->contended++;
		err = err ?: klt_metric_add(&e->contention, a->contend_ns);
	}
	if (a->has_wait)
		err = err ?: klt_metric_add(&e->wait, a->wait_ns);
	else if (a->type == KLT_ACQ_CONTENTION)
		err = err ?: klt_metric_add(&e->wait, a->contend_ns);
	if (a->released)
		err = err ?: klt_metric_add(&e->hold, a->hold_ns);
	return err;
}

static int tables(struct klt_stats *s)
{
	struct klt_hmap cm = { 0 }, sm = { 0 }, sids = { 0 };
	int err = 0;

	for (size_t i = 0; i < s->nacqs; i++) {
		const struct klt_acq *a = &s->acqs[i];
		struct klt_stat *c = entry(&s->classes, &s->nclasses, &s->classes_cap, &cm, a, 0);
		struct klt_stat *st = NULL;
		uint32_t sid;

		if (c && !stack_id_of(&sids, stack_key(a), &sid))
			st = entry(&s->stacks, &s->nstacks, &s->stacks_cap, &sm, a, sid);
		if (!c || !st) {
			err = -ENOMEM;
			break;
		}
		err = account(c, a);
		if (!err)
			err = account(st, a);
		if (err)
			break;
	}
	klt_hmap_free(&cm);
	klt_hmap_free(&sm);
	klt_hmap_free(&sids);
	return err;
}

int klt_stats_build(struct klt_stats *s, const struct lg_engine *eng, const struct klt_event *ev,
		    size_t n)
{
	struct builder b = { .s = s, .eng = eng };
	int err = 0;

	memset(s, 0, sizeof(*s));
	klt_pair_init(&b.pairs, &stats_rules, sizeof(struct task));
	for (size_t i = 0; i < n && !err; i++)
		err = feed(&b, &ev[i]);
	for (size_t i = 0; i < b.pairs.ntasks; i++)
		s->open_holds += klt_pair_at(&b.pairs, i)->depth;
	klt_pair_free(&b.pairs);
	if (!err)
		err = tables(s);
	/* failed trylocks were kept only to be counted: drop them from the acquisition list */
	if (!err) {
		size_t k = 0;

		for (size_t i = 0; i < s->nacqs; i++)
			if (s->acqs[i].type != ACQ_FAILED_TRY)
				s->acqs[k++] = s->acqs[i];
		s->nacqs = k;
	}
	if (err)
		klt_stats_free(s);
	return err;
}

static void stat_free(struct klt_stat *e)
{
	klt_metric_free(&e->wait);
	klt_metric_free(&e->contention);
	klt_metric_free(&e->hold);
}

void klt_stats_free(struct klt_stats *s)
{
	for (size_t i = 0; i < s->nclasses; i++)
		stat_free(&s->classes[i]);
	for (size_t i = 0; i < s->nstacks; i++)
		stat_free(&s->stacks[i]);
	free(s->acqs);
	free(s->classes);
	free(s->stacks);
	memset(s, 0, sizeof(*s));
}

/* --- sorting ------------------------------------------------------------------------------- */
static uint64_t avg(const struct klt_metric *m)
{
	return m->count ? m->total / m->count : 0;
}

static uint64_t key_of(const struct klt_stat *e, enum klt_stats_key k)
{
	switch (k) {
	case KLT_SORT_ACQ: return e->acquisitions;
	case KLT_SORT_CONTENDED: return e->contended;
	case KLT_SORT_WAIT: return e->wait.total;
	case KLT_SORT_HOLD: return e->hold.total;
	case KLT_SORT_MAX_WAIT: return e->wait.max;
	case KLT_SORT_MAX_HOLD: return e->hold.max;
	case KLT_SORT_AVG_WAIT: return avg(&e->wait);
	case KLT_SORT_AVG_HOLD: return avg(&e->hold);
	default: return 0;
	}
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

struct okey {
	uint64_t k, acq;
	size_t i;
};

/* Merge sort of small keys (stable, no comparator globals): the entries themselves never move. */
static void msort(struct okey *e, struct okey *tmp, size_t n)
{
	size_t h = n / 2, i = 0, j = h, o = 0;

	if (n < 2)
		return;
	msort(e, tmp, h);
	msort(e + h, tmp, n - h);
	while (i < h && j < n) {
		int c = cmp_u64_desc(e[i].k, e[j].k);

		if (!c)
			c = cmp_u64_desc(e[i].acq, e[j].acq);
		tmp[o++] = c <= 0 ? e[i++] : e[j++];
	}
	while (i < h)
		tmp[o++] = e[i++];
	while (j < n)
		tmp[o++] = e[j++];
	memcpy(e, tmp, n * sizeof(*e));
}

int klt_stats_order(const struct klt_stat *e, size_t n, enum klt_stats_key key, size_t *idx)
{
	struct okey *a, *tmp;

	if (n < 2) {
		if (n)
			idx[0] = 0;
		return 0;
	}
	a = malloc(n * sizeof(*a));
	tmp = malloc(n * sizeof(*tmp));
	if (!a || !tmp) {
		free(a);
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		a[i] = (struct okey){ .k = key_of(&e[i], key), .acq = e[i].acquisitions, .i = i };
	msort(a, tmp, n);
	for (size_t i = 0; i < n; i++)
		idx[i] = a[i].i;
	free(a);
	free(tmp);
	return 0;
}

void klt_stats_sort(struct klt_stat *e, size_t n, enum klt_stats_key key)
{
	size_t *idx;

	if (n < 2)
		return;
	idx = malloc(n * sizeof(*idx));
	if (!idx || klt_stats_order(e, n, key, idx)) {
		free(idx);
		/* insertion sort fallback: no allocation, still stable */
		for (size_t i = 1; i < n; i++) {
			struct klt_stat x = e[i];
			size_t j = i;

			while (j > 0 && key_of(&e[j - 1], key) < key_of(&x, key)) {
				e[j] = e[j - 1];
				j--;
			}
			e[j] = x;
		}
		return;
	}
	/* apply the permutation in place, one cycle at a time: each entry moves once */
	for (size_t i = 0; i < n; i++) {
		struct klt_stat x;
		size_t j = i;

		if (idx[i] == SIZE_MAX)
			continue;
		x = e[i];
		while (idx[j] != i) {
			size_t k = idx[j];

			e[j] = e[k];
			idx[j] = SIZE_MAX;
			j = k;
		}
		e[j] = x;
		idx[j] = SIZE_MAX;
	}
	free(idx);
}

static const char *const key_names[KLT_SORT_MAX_KEY] = {
	[KLT_SORT_ACQ] = "acq",		  [KLT_SORT_CONTENDED] = "contended",
	[KLT_SORT_WAIT] = "wait",	  [KLT_SORT_HOLD] = "hold",
	[KLT_SORT_MAX_WAIT] = "max-wait", [KLT_SORT_MAX_HOLD] = "max-hold",
	[KLT_SORT_AVG_WAIT] = "avg-wait", [KLT_SORT_AVG_HOLD] = "avg-hold",
};

int klt_stats_key_from_name(const char *name)
{
	for (int i = 0; i < KLT_SORT_MAX_KEY; i++)
		if (!strcmp(name, key_names[i]))
			return i;
	return -1;
}

const char *klt_stats_key_name(unsigned key)
{
	return key < KLT_SORT_MAX_KEY ? key_names[key] : NULL;
}
