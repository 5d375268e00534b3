// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the lock-order engine (src/core/lockgraph.c): events built in C, findings checked. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lockgraph.h"
#include "rules.h"
#include "symtab.h"

/*
 * Allocation-failure injection: the engine must answer -ENOMEM and stay usable. Interposing
 * malloc needs glibc's __libc_* entry points and clashes with ASan's own interposition, so it is
 * compiled out of sanitizer builds (the test then skips; run the plain build under valgrind).
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KLT_NO_FAILINJ 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
#define KLT_NO_FAILINJ 1
#endif

#ifndef KLT_NO_FAILINJ
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t sz);
extern void *__libc_realloc(void *p, size_t n);

static long fail_in = -1; /* allocations left before one fails; -1: never */

static bool fail_now(void)
{
	if (fail_in < 0)
		return false;
	if (fail_in-- > 0)
		return false;
	return true;
}

void *malloc(size_t n)
{
	return fail_now() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t sz)
{
	return fail_now() ? NULL : __libc_calloc(n, sz);
}

void *realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __libc_realloc(p, n);
}
#endif

#define MX KLT_LK_MUTEX
#define RW KLT_LK_RWSEM
#define PCPU KLT_LK_PERCPU_RWSEM
#define SPIN KLT_LK_SPINLOCK
#define PRW KLT_LK_PTHREAD_RWLOCK
#define W KLT_MODE_WRITE
#define R KLT_MODE_READ
#define RR KLT_MODE_RREAD

/* Lock addresses and call sites used throughout. */
#define LA 0xffff888000001000ULL
#define LB 0xffff888000002000ULL
#define LC 0xffff888000003000ULL
#define LD 0xffff888000004000ULL
#define LE 0xffff888000005000ULL

struct fx {
	struct lg_engine *e;
	struct klt_symtab *syms;
	struct klt_rules rules;
	uint64_t ts;
	unsigned ncb; /* on_finding calls */
	unsigned cb_seq_ok;
};

static void on_finding(void *ctx, const struct lg_finding *f)
{
	struct fx *x = ctx;

	/* the callback sees findings in discovery order, as they are stored */
	if (f->seq == x->ncb)
		x->cb_seq_ok++;
	x->ncb++;
}

static void fx_start(struct fx *x, const struct lg_config *base)
{
	struct lg_config cfg;

	if (base)
		cfg = *base;
	else
		memset(&cfg, 0, sizeof(cfg));
	cfg.on_finding = on_finding;
	cfg.ctx = x;
	x->e = lg_new(&cfg);
	assert_non_null(x->e);
}

static struct fx *fx_new(const struct lg_config *base)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	fx_start(x, base);
	return x;
}

static void fx_free(struct fx *x)
{
	lg_free(x->e);
	klt_symtab_free(x->syms);
	klt_rules_free(&x->rules);
	free(x);
}

static void parse_rules(struct fx *x, const char *text)
{
	char err[256] = "";
	int rc = klt_rules_parse(text, strlen(text), "test.rules", &x->rules, err, sizeof(err));

	if (rc)
		fail_msg("rules: %s", err);
}

static struct klt_event mkev(struct fx *x, uint16_t type, uint32_t tid, uint64_t lock,
			     uint8_t kind, uint8_t mode, uint64_t ip, int32_t stack)
{
	struct klt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.kind = kind;
	ev.mode = mode;
	ev.cpu = tid % 4;
	ev.ts = ++x->ts * 1000;
	ev.pid = tid / 10 * 10;
	ev.tid = tid;
	ev.lock = lock;
	ev.ip = ip;
	ev.stack_id = stack;
	snprintf(ev.comm, sizeof(ev.comm), "t%u", tid);
	return ev;
}

static void feed(struct fx *x, uint16_t type, uint32_t tid, uint64_t lock, uint8_t kind,
		 uint8_t mode, uint64_t ip, int32_t stack)
{
	struct klt_event ev = mkev(x, type, tid, lock, kind, mode, ip, stack);

	assert_int_equal(lg_feed(x->e, &ev), 0);
}

/* Blocking acquire as the tracer reports it: ATTEMPT then ACQUIRED. */
static void lock(struct fx *x, uint32_t tid, uint64_t l, uint8_t kind, uint8_t mode, uint64_t ip,
		 int32_t stack)
{
	feed(x, KLT_EV_ATTEMPT, tid, l, kind, mode, ip, stack);
	feed(x, KLT_EV_ACQUIRED, tid, l, kind, mode, ip, stack);
}

static void unlock(struct fx *x, uint32_t tid, uint64_t l)
{
	feed(x, KLT_EV_RELEASE, tid, l, 0, 0, 0, KLT_NO_STACK);
}

/* Nest two locks in one task and let go: the minimal "a then b" order. */
static void pair(struct fx *x, uint32_t tid, uint64_t a, uint8_t ka, uint8_t ma, uint64_t b,
		 uint8_t kb, uint8_t mb)
{
	lock(x, tid, a, ka, ma, a + 0x10, KLT_NO_STACK);
	lock(x, tid, b, kb, mb, b + 0x10, KLT_NO_STACK);
	unlock(x, tid, b);
	unlock(x, tid, a);
}

static unsigned count_kind(const struct fx *x, unsigned kind)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < lg_nfindings(x->e); i++)
		n += lg_finding_at(x->e, i)->kind == kind;
	return n;
}

static const struct lg_finding *nth_kind(const struct fx *x, unsigned kind, unsigned nth)
{
	size_t i;

	for (i = 0; i < lg_nfindings(x->e); i++) {
		const struct lg_finding *f = lg_finding_at(x->e, i);

		if (f->kind == kind && !nth--)
			return f;
	}
	fail_msg("no finding #%u of kind %s", nth, lg_finding_kind_name(kind));
	return NULL;
}

static uint32_t lock_idx(const struct fx *x, uint64_t addr)
{
	size_t i;

	for (i = 0; i < lg_nlocks(x->e); i++)
		if (lg_lock_at(x->e, i)->addr == addr)
			return (uint32_t)i;
	fail_msg("lock 0x%llx unknown", (unsigned long long)addr);
	return UINT32_MAX;
}

static const struct lg_edge *find_edge(const struct fx *x, uint64_t from, uint64_t to)
{
	uint32_t f = lock_idx(x, from), t = lock_idx(x, to);
	size_t i;

	for (i = 0; i < lg_nedges(x->e, LG_LEVEL_INSTANCE); i++) {
		const struct lg_edge *ed = lg_edge_at(x->e, LG_LEVEL_INSTANCE, i);

		if (ed->from == f && ed->to == t)
			return ed;
	}
	return NULL;
}

/* Structural invariants of every cycle finding. */
static void check_cycle_shape(const struct fx *x, const struct lg_finding *f)
{
	uint32_t i;

	assert_int_equal(f->kind, LG_F_CYCLE);
	assert_true(f->nedges >= 2);
	for (i = 0; i + 1 < f->nedges; i++)
		assert_int_equal(f->edges[i].to, f->edges[i + 1].from);
	assert_int_equal(f->edges[0].from, f->edges[f->nedges - 1].to);
	for (i = 0; i < f->nedges; i++)
		assert_int_equal(f->edges[i].level, f->level);
}

/* ---------------------------------------------------------------------------------------- */

static void test_abba(void **state)
{
	struct fx *x = fx_new(NULL);
	const struct lg_finding *f;
	const struct lg_witness *w;

	lock(x, 101, LA, MX, W, 0x1111, 1);
	lock(x, 101, LB, MX, W, 0x2222, 2);
	unlock(x, 101, LB);
	unlock(x, 101, LA);
	assert_int_equal(lg_nfindings(x->e), 0);
	lock(x, 202, LB, MX, W, 0x3333, 3);
	lock(x, 202, LA, MX, W, 0x4444, 4);

	assert_int_equal(lg_nfindings(x->e), 1); /* the class-level twin is not reported again */
	assert_int_equal(x->ncb, 1);
	assert_int_equal(x->cb_seq_ok, 1);
	f = lg_finding_at(x->e, 0);
	check_cycle_shape(x, f);
	assert_int_equal(f->level, LG_LEVEL_INSTANCE);
	assert_int_equal(f->nedges, 2);
	assert_int_equal(f->rule, -1);

	/* closing edge: task 202, holding B (taken at 0x3333, stack 3), blocks on A */
	w = &f->edges[1].first;
	assert_int_equal(f->edges[1].from, lock_idx(x, LB));
	assert_int_equal(f->edges[1].to, lock_idx(x, LA));
	assert_int_equal(w->tid, 202);
	assert_int_equal(w->pid, 200);
	assert_string_equal(w->comm, "t202");
	assert_int_equal(w->held_lock, LB);
	assert_int_equal(w->new_lock, LA);
	assert_int_equal(w->held_ip, 0x3333);
	assert_int_equal(w->new_ip, 0x4444);
	assert_int_equal(w->held_stack, 3);
	assert_int_equal(w->new_stack, 4);
	assert_int_equal(w->held_mode, W);
	assert_int_equal(w->new_mode, W);
	assert_true(w->held_ts < w->ts);
	assert_int_equal(f->edges[1].types, LG_DEP_EN);

	/* the other edge: task 101, A then B */
	w = &f->edges[0].first;
	assert_int_equal(w->tid, 101);
	assert_int_equal(w->held_lock, LA);
	assert_int_equal(w->new_lock, LB);
	assert_int_equal(w->held_stack, 1);
	assert_int_equal(w->new_stack, 2);
	/* A->B keeps both graphs acyclic (no search); B->A is searched at both levels */
	assert_int_equal(lg_get_stats(x->e)->cycle_searches, 2);
	fx_free(x);
}

static void test_three_cycle_once_shortest(void **state)
{
	struct fx *x = fx_new(NULL);
	const struct lg_finding *f;
	uint64_t searches;
	int round;

	/* A->B, B->C, plus a longer detour B->D->E->C */
	pair(x, 1, LA, MX, W, LB, MX, W);
	pair(x, 2, LB, MX, W, LD, MX, W);
	pair(x, 2, LD, MX, W, LE, MX, W);
	pair(x, 2, LE, MX, W, LC, MX, W);
	pair(x, 3, LB, MX, W, LC, MX, W);
	assert_int_equal(lg_nfindings(x->e), 0);

	for (round = 0; round < 3; round++) {
		pair(x, 4, LC, MX, W, LA, MX, W);
		if (!round)
			searches = lg_get_stats(x->e)->cycle_searches;
		/* repeats of known edges run no search and report nothing new */
		assert_int_equal(lg_get_stats(x->e)->cycle_searches, searches);
		assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
		pair(x, 1, LA, MX, W, LB, MX, W);
		pair(x, 3, LB, MX, W, LC, MX, W);
	}
	f = nth_kind(x, LG_F_CYCLE, 0);
	check_cycle_shape(x, f);
	assert_int_equal(f->level, LG_LEVEL_INSTANCE);
	assert_int_equal(f->nedges, 3); /* C->A->B->C, not the 5-edge detour */
	assert_int_equal(f->edges[2].from, lock_idx(x, LC));
	assert_int_equal(f->edges[2].to, lock_idx(x, LA));
	assert_int_equal(f->edges[0].from, lock_idx(x, LA));
	assert_int_equal(f->edges[1].from, lock_idx(x, LB));
	assert_int_equal(f->edges[1].to, lock_idx(x, LC));
	assert_int_equal(find_edge(x, LA, LB)->count, 4);
	assert_int_equal(lg_nfindings(x->e), 1);
	fx_free(x);
}

static void test_chain_no_cycle(void **state)
{
	static const uint64_t l[5] = { LA, LB, LC, LD, LE };
	struct fx *x = fx_new(NULL);
	int i, rep;

	for (rep = 0; rep < 2; rep++) {
		for (i = 0; i < 5; i++)
			lock(x, 7, l[i], MX, W, 0x100 + i, i);
		for (i = 4; i >= 0; i--)
			unlock(x, 7, l[i]);
	}
	assert_int_equal(lg_nfindings(x->e), 0);
	/* an edge from every held lock, not only the top: 4+3+2+1 */
	assert_int_equal(lg_nedges(x->e, LG_LEVEL_INSTANCE), 10);
	assert_int_equal(lg_nedges(x->e, LG_LEVEL_CLASS), 10);
	assert_non_null(find_edge(x, LA, LE));
	assert_int_equal(find_edge(x, LA, LE)->count, 2);
	assert_int_equal(lg_get_stats(x->e)->acquisitions, 10);
	assert_int_equal(lg_get_stats(x->e)->releases, 10);
	assert_int_equal(lg_get_stats(x->e)->tasks, 1);
	fx_free(x);
}

static void test_trylock(void **state)
{
	struct fx *x = fx_new(NULL);

	/* A then trylock(B): no edge; B then A: edge. The trylock ABBA is no deadlock. */
	lock(x, 1, LA, MX, W, 0x10, 1);
	feed(x, KLT_EV_TRY_FAIL, 1, LB, MX, W, 0x20, 2);
	feed(x, KLT_EV_TRY_OK, 1, LB, MX, W, 0x20, 2);
	unlock(x, 1, LB);
	unlock(x, 1, LA);
	pair(x, 2, LB, MX, W, LA, MX, W);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_null(find_edge(x, LA, LB));
	assert_non_null(find_edge(x, LB, LA));
	assert_int_equal(lg_nedges(x->e, LG_LEVEL_INSTANCE), 1);

	/* a lock held through a trylock is the held side of later edges */
	feed(x, KLT_EV_TRY_OK, 3, LC, MX, W, 0x30, 3);
	lock(x, 3, LD, MX, W, 0x40, 4);
	assert_non_null(find_edge(x, LC, LD));
	assert_int_equal(find_edge(x, LC, LD)->first.held_stack, 3);
	unlock(x, 3, LD);
	unlock(x, 3, LC);
	/* ... and so closes a cycle */
	pair(x, 4, LD, MX, W, LC, MX, W);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	fx_free(x);
}

static void test_recursive_reads(void **state)
{
	struct fx *x = fx_new(NULL);

	/* pthread rwlock reads are recursive: rd(A) rd(B) vs rd(B) rd(A) cannot deadlock */
	pair(x, 1, LA, PRW, RR, LB, PRW, RR);
	pair(x, 2, LB, PRW, RR, LA, PRW, RR);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_int_equal(find_edge(x, LB, LA)->types, LG_DEP_SR);
	fx_free(x);

	/* rwsem: read(A) write(B) vs write(B) read(A): a real ABBA */
	x = fx_new(NULL);
	pair(x, 1, LA, RW, R, LB, RW, W);
	pair(x, 2, LB, RW, W, LA, RW, R);
	assert_int_equal(lg_nfindings(x->e), 1);
	check_cycle_shape(x, lg_finding_at(x->e, 0));
	assert_int_equal(lg_finding_at(x->e, 0)->edges[0].types, LG_DEP_SN);
	assert_int_equal(lg_finding_at(x->e, 0)->edges[1].types, LG_DEP_EN);
	fx_free(x);

	/* read(A)->M and M->read(A): a pending writer on A blocks the second reader (SN + EN) */
	x = fx_new(NULL);
	pair(x, 1, LA, RW, R, LB, MX, W);
	pair(x, 2, LB, MX, W, LA, RW, R);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	fx_free(x);

	/* recursive reads of A on both sides: M -(ER)-> A -(SN)-> M is not strong (a reader of
	 * A never waits for another reader), so no deadlock */
	x = fx_new(NULL);
	pair(x, 1, LA, PRW, RR, LB, MX, W);
	pair(x, 2, LB, MX, W, LA, PRW, RR);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_int_equal(find_edge(x, LB, LA)->types, LG_DEP_ER);
	fx_free(x);

	/* ... but rd(A) -(SR)-> rd(B) -(SR)-> plus A -(SR)-> ... stays weak through three locks */
	x = fx_new(NULL);
	pair(x, 1, LA, PRW, RR, LB, PRW, RR);
	pair(x, 1, LB, PRW, RR, LC, PRW, RR);
	pair(x, 1, LC, PRW, RR, LA, PRW, RR);
	assert_int_equal(lg_nfindings(x->e), 0);
	/* C -(EN)-> A as well: A -(SR)-> B arrives recursive, and B leaves only via S*: weak */
	pair(x, 2, LC, PRW, W, LA, PRW, W);
	assert_int_equal(lg_nfindings(x->e), 0);
	/* A -(EN)-> B: now A -(EN)-> B -(SR)-> C -(EN)-> A is strong (the *R arrival at C
	 * leaves through E*); task 1 reading B waits for task 2 writing C */
	pair(x, 3, LA, PRW, W, LB, PRW, W);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	check_cycle_shape(x, nth_kind(x, LG_F_CYCLE, 0));
	assert_int_equal(nth_kind(x, LG_F_CYCLE, 0)->nedges, 3);
	/* B -> C, C -> A (seen both ways), then the closing A -> B */
	assert_int_equal(nth_kind(x, LG_F_CYCLE, 0)->edges[0].types, LG_DEP_SR);
	assert_int_equal(nth_kind(x, LG_F_CYCLE, 0)->edges[1].types, LG_DEP_SR | LG_DEP_EN);
	assert_int_equal(nth_kind(x, LG_F_CYCLE, 0)->edges[2].types, LG_DEP_SR | LG_DEP_EN);
	/* the same three locks again through another new bit: not reported twice */
	pair(x, 3, LB, PRW, W, LC, PRW, W);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	fx_free(x);
}

static void test_srcu(void **state)
{
	struct fx *x = fx_new(NULL);
	const struct lg_finding *f;

	/* reader: srcu_read_lock(S); mutex_lock(M) -- writer: mutex_lock(M); synchronize_srcu(S) */
	feed(x, KLT_EV_SRCU_READ_LOCK, 1, LA, 0, 0, 0x10, 1);
	lock(x, 1, LB, MX, W, 0x20, 2);
	unlock(x, 1, LB);
	feed(x, KLT_EV_SRCU_READ_UNLOCK, 1, LA, 0, 0, 0x30, KLT_NO_STACK);
	assert_int_equal(lg_nfindings(x->e), 0);
	lock(x, 2, LB, MX, W, 0x40, 3);
	feed(x, KLT_EV_SRCU_SYNC, 2, LA, 0, 0, 0x50, 4);
	unlock(x, 2, LB);

	assert_int_equal(lg_nfindings(x->e), 1);
	f = lg_finding_at(x->e, 0);
	check_cycle_shape(x, f);
	assert_int_equal(f->edges[1].first.new_lock, LA);
	assert_int_equal(f->edges[1].first.new_mode, W);
	assert_int_equal(f->edges[1].first.new_stack, 4);
	assert_int_equal(f->edges[0].first.held_mode, RR);
	assert_int_equal(f->edges[0].types, LG_DEP_SN);
	assert_int_equal(lg_lock_at(x->e, lock_idx(x, LA))->kind, KLT_LK_SRCU);
	/* synchronize_srcu does not leave the domain held */
	lock(x, 2, LC, MX, W, 0x60, 5);
	assert_null(find_edge(x, LA, LC));
	assert_int_equal(lg_get_stats(x->e)->unbalanced, 0);
	fx_free(x);

	/* two SRCU read sections nest in both orders: never a deadlock */
	x = fx_new(NULL);
	feed(x, KLT_EV_SRCU_READ_LOCK, 1, LA, 0, 0, 0x10, 1);
	feed(x, KLT_EV_SRCU_READ_LOCK, 1, LB, 0, 0, 0x20, 2);
	feed(x, KLT_EV_SRCU_READ_UNLOCK, 1, LB, 0, 0, 0, KLT_NO_STACK);
	feed(x, KLT_EV_SRCU_READ_UNLOCK, 1, LA, 0, 0, 0, KLT_NO_STACK);
	feed(x, KLT_EV_SRCU_READ_LOCK, 2, LB, 0, 0, 0x30, 3);
	feed(x, KLT_EV_SRCU_READ_LOCK, 2, LA, 0, 0, 0x40, 4);
	assert_non_null(find_edge(x, LB, LA));
	assert_int_equal(lg_nfindings(x->e), 0);
	/* nested read of the same domain is fine too (recursive) */
	feed(x, KLT_EV_SRCU_READ_LOCK, 2, LA, 0, 0, 0x50, 5);
	feed(x, KLT_EV_SRCU_READ_UNLOCK, 2, LA, 0, 0, 0, KLT_NO_STACK);
	feed(x, KLT_EV_SRCU_READ_UNLOCK, 2, LA, 0, 0, 0, KLT_NO_STACK);
	feed(x, KLT_EV_SRCU_READ_UNLOCK, 2, LB, 0, 0, 0, KLT_NO_STACK);
	assert_int_equal(lg_nfindings(x->e), 0);
	fx_free(x);
}

#define CPUHP 0xffffffff82a00000ULL /* cpu_hotplug_lock */
#define KVML 0xffffffffc0a00000ULL  /* kvm_lock */
#define KVMU 0xffffffffc0a00100ULL  /* kvm_usage_lock */

static const char kvm_rules[] =
	"# KVM\n"
	"order cpu_hotplug_lock > kvm_lock kernel 6.3..6.11\n"
	"order kvm_usage_lock > cpu_hotplug_lock kernel 6.12..\n"
	"watch-suspend kvm_lock kvm_usage_lock\n";

static struct fx *kvm_fx(unsigned kver)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct lg_config cfg;

	assert_non_null(x);
	x->syms = klt_symtab_new();
	assert_non_null(x->syms);
	assert_int_equal(klt_symtab_add(x->syms, CPUHP, 8, KLT_SYM_DATA, "cpu_hotplug_lock", NULL),
			 0);
	assert_int_equal(klt_symtab_add(x->syms, KVML, 8, KLT_SYM_DATA, "kvm_lock", "kvm"), 0);
	assert_int_equal(klt_symtab_add(x->syms, KVMU, 8, KLT_SYM_DATA, "kvm_usage_lock", "kvm"),
			 0);
	parse_rules(x, kvm_rules);
	memset(&cfg, 0, sizeof(cfg));
	cfg.syms = x->syms;
	cfg.rules = &x->rules;
	cfg.kernel_version = kver;
	fx_start(x, &cfg);
	return x;
}

/* 6.3-era inversion: a task takes cpus_read_lock() inside kvm_lock. */
static void kvm_lock_then_hotplug(struct fx *x)
{
	lock(x, 1, KVML, MX, W, 0xa0, 1);
	lock(x, 1, CPUHP, PCPU, R, 0xb0, 2);
	unlock(x, 1, CPUHP);
	unlock(x, 1, KVML);
}

static void test_rule_order(void **state)
{
	struct fx *x = kvm_fx(KLT_KVER(6, 5));
	const struct lg_finding *f;
	const struct lg_class *c;

	kvm_lock_then_hotplug(x);
	kvm_lock_then_hotplug(x);
	assert_int_equal(lg_nfindings(x->e), 1);
	f = lg_finding_at(x->e, 0);
	assert_int_equal(f->kind, LG_F_RULE);
	assert_int_equal(f->level, LG_LEVEL_CLASS);
	assert_int_equal(f->nedges, 1);
	assert_int_equal(f->rule, 0);
	c = lg_class_at(x->e, f->edges[0].from);
	assert_string_equal(c->name, "kvm_lock");
	c = lg_class_at(x->e, f->edges[0].to);
	assert_string_equal(c->name, "cpu_hotplug_lock");
	assert_int_equal(f->edges[0].first.new_mode, R);
	assert_int_equal(f->edges[0].types, LG_DEP_EN);
	/* the documented order itself is no violation */
	pair(x, 2, CPUHP, PCPU, R, KVMU, MX, W);
	assert_int_equal(lg_nfindings(x->e), 1);
	fx_free(x);

	/* 6.12: the first rule is out of scope; kvm_usage_lock inside cpus_read_lock is not */
	x = kvm_fx(KLT_KVER(6, 12));
	kvm_lock_then_hotplug(x);
	assert_int_equal(lg_nfindings(x->e), 0);
	pair(x, 2, CPUHP, PCPU, R, KVMU, MX, W);
	pair(x, 2, CPUHP, PCPU, R, KVMU, MX, W);
	assert_int_equal(lg_nfindings(x->e), 1);
	f = lg_finding_at(x->e, 0);
	assert_int_equal(f->kind, LG_F_RULE);
	assert_int_equal(f->rule, 1);
	assert_string_equal(lg_class_at(x->e, f->edges[0].from)->name, "cpu_hotplug_lock");
	assert_string_equal(lg_class_at(x->e, f->edges[0].to)->name, "kvm_usage_lock");
	fx_free(x);

	/* unknown kernel: scoped rules never apply */
	x = kvm_fx(0);
	kvm_lock_then_hotplug(x);
	pair(x, 2, CPUHP, PCPU, R, KVMU, MX, W);
	assert_int_equal(lg_nfindings(x->e), 0);
	fx_free(x);
}

static struct klt_event pm_event(struct fx *x, uint32_t tid, unsigned phase)
{
	struct klt_event ev = mkev(x, KLT_EV_PM_BEGIN, tid, 0, 0, 0, 0, KLT_NO_STACK);

	ev.aux0 = phase;
	return ev;
}

static void test_suspend_holder(void **state)
{
	struct fx *x = kvm_fx(KLT_KVER(6, 12));
	const struct lg_finding *f;
	struct klt_event ev;

	lock(x, 42, KVMU, MX, W, 0xc0, 7);
	lock(x, 43, CPUHP, PCPU, R, 0xd0, 8); /* not watched */
	ev = pm_event(x, 1, KLT_PM_KVM_SUSPEND);
	assert_int_equal(lg_feed(x->e, &ev), 0);
	assert_int_equal(lg_nfindings(x->e), 1);
	f = lg_finding_at(x->e, 0);
	assert_int_equal(f->kind, LG_F_SUSPEND_HOLDER);
	assert_int_equal(f->phase, KLT_PM_KVM_SUSPEND);
	assert_int_equal(f->hold.tid, 42);
	assert_int_equal(f->hold.addr, KVMU);
	assert_int_equal(f->hold.lock, lock_idx(x, KVMU));
	assert_int_equal(f->hold.ip, 0xc0);
	assert_int_equal(f->hold.stack, 7);
	assert_int_equal(f->hold.kind, MX);
	assert_string_equal(f->hold.comm, "t42");
	/* once per hold: the same hold seen again, or at a later phase, is not reported again */
	ev = pm_event(x, 1, KLT_PM_KVM_SUSPEND);
	assert_int_equal(lg_feed(x->e, &ev), 0);
	assert_int_equal(lg_nfindings(x->e), 1);
	ev = pm_event(x, 1, KLT_PM_SYSCORE_SUSPEND);
	assert_int_equal(lg_feed(x->e, &ev), 0);
	assert_int_equal(lg_nfindings(x->e), 1);
	/* released: nothing more */
	unlock(x, 42, KVMU);
	ev = pm_event(x, 1, KLT_PM_DPM_SUSPEND);
	assert_int_equal(lg_feed(x->e, &ev), 0);
	assert_int_equal(lg_nfindings(x->e), 1);
	/* a new hold of the same lock across the next suspend is a new finding */
	lock(x, 42, KVMU, MX, W, 0xc0, 7);
	ev = pm_event(x, 1, KLT_PM_SYSCORE_SUSPEND);
	assert_int_equal(lg_feed(x->e, &ev), 0);
	assert_int_equal(lg_nfindings(x->e), 2);
	assert_int_equal(lg_finding_at(x->e, 1)->phase, KLT_PM_SYSCORE_SUSPEND);
	fx_free(x);
}

static void cpuhp(struct fx *x, uint32_t tid, uint16_t type, uint64_t cb, bool atomic)
{
	struct klt_event ev = mkev(x, type, tid, cb, 0, 0, 0, KLT_NO_STACK);

	ev.aux0 = 1;   /* cpu */
	ev.aux1 = 120; /* state */
	ev.aux2 = 77;  /* index */
	ev.flags = atomic ? KLT_F_CPUHP_ATOMIC : 0;
	assert_int_equal(lg_feed(x->e, &ev), 0);
}

static void test_atomic_sleep(void **state)
{
	struct fx *x = fx_new(NULL);
	const struct lg_finding *f;

	cpuhp(x, 9, KLT_EV_CPUHP_ENTER, 0xcafe, true); /* kvm_starting_cpu */
	lock(x, 9, LD, SPIN, W, 0x10, 1);		  /* raw spinlock: fine */
	unlock(x, 9, LD);
	assert_int_equal(lg_nfindings(x->e), 0);
	lock(x, 9, LA, MX, W, 0x20, 2); /* mutex in an irqs-off callback */
	unlock(x, 9, LA);
	lock(x, 9, LA, MX, W, 0x20, 2); /* again: once per (callback, class) */
	unlock(x, 9, LA);
	cpuhp(x, 9, KLT_EV_CPUHP_EXIT, 0xcafe, true);
	lock(x, 9, LB, MX, W, 0x30, 3); /* after the callback: fine */
	unlock(x, 9, LB);
	lock(x, 10, LC, MX, W, 0x40, 4); /* another task: fine */
	unlock(x, 10, LC);
	cpuhp(x, 9, KLT_EV_CPUHP_ENTER, 0xbeef, false); /* ONLINE callback may sleep */
	lock(x, 9, LB, MX, W, 0x30, 3);
	unlock(x, 9, LB);
	cpuhp(x, 9, KLT_EV_CPUHP_EXIT, 0xbeef, false);

	assert_int_equal(lg_nfindings(x->e), 1);
	f = lg_finding_at(x->e, 0);
	assert_int_equal(f->kind, LG_F_ATOMIC_SLEEP);
	assert_int_equal(f->cb, 0xcafe);
	assert_int_equal(f->cb_cpu, 1);
	assert_int_equal(f->cb_state, 120);
	assert_int_equal(f->cb_idx, 77);
	assert_int_equal(f->hold.addr, LA);
	assert_int_equal(f->hold.tid, 9);
	assert_int_equal(f->hold.ip, 0x20);
	assert_string_equal(lg_finding_kind_name(f->kind), "atomic-sleep");
	fx_free(x);
}

static void test_unbalanced(void **state)
{
	struct lg_config cfg;
	struct fx *x = fx_new(NULL);
	const struct lg_finding *f;

	unlock(x, 5, LA); /* never seen */
	lock(x, 5, LB, MX, W, 0x10, 1);
	unlock(x, 5, LB);
	unlock(x, 5, LB); /* seen, but no longer held */
	assert_int_equal(lg_get_stats(x->e)->unbalanced, 2);
	assert_int_equal(count_kind(x, LG_F_UNBALANCED), 2);
	f = nth_kind(x, LG_F_UNBALANCED, 0);
	assert_int_equal(f->hold.lock, UINT32_MAX);
	assert_int_equal(f->hold.addr, LA);
	assert_int_equal(f->hold.tid, 5);
	f = nth_kind(x, LG_F_UNBALANCED, 1);
	assert_int_equal(f->hold.lock, lock_idx(x, LB));
	fx_free(x);

	memset(&cfg, 0, sizeof(cfg));
	cfg.ignore_unbalanced = true;
	x = fx_new(&cfg);
	unlock(x, 5, LA);
	assert_int_equal(lg_get_stats(x->e)->unbalanced, 1);
	assert_int_equal(lg_nfindings(x->e), 0);
	fx_free(x);
}

static void test_held_at_exit(void **state)
{
	struct fx *x = fx_new(NULL);
	struct klt_event ev;

	lock(x, 8, LA, MX, W, 0x10, 1);
	lock(x, 8, LB, MX, W, 0x20, 2);
	ev = mkev(x, KLT_EV_TASK_EXIT, 8, 0, 0, 0, 0, KLT_NO_STACK);
	assert_int_equal(lg_feed(x->e, &ev), 0);
	assert_int_equal(count_kind(x, LG_F_HELD_AT_EXIT), 2);
	assert_int_equal(nth_kind(x, LG_F_HELD_AT_EXIT, 0)->hold.addr, LA);
	assert_int_equal(nth_kind(x, LG_F_HELD_AT_EXIT, 1)->hold.addr, LB);
	assert_int_equal(nth_kind(x, LG_F_HELD_AT_EXIT, 1)->hold.stack, 2);
	/* the stack was cleared: a reused tid starts empty */
	ev = mkev(x, KLT_EV_TASK_EXIT, 8, 0, 0, 0, 0, KLT_NO_STACK);
	assert_int_equal(lg_feed(x->e, &ev), 0);
	lock(x, 8, LC, MX, W, 0x30, 3);
	assert_null(find_edge(x, LA, LC));
	assert_int_equal(lg_nfindings(x->e), 2);
	/* exit of a task never seen: nothing */
	ev = mkev(x, KLT_EV_TASK_EXIT, 999, 0, 0, 0, 0, KLT_NO_STACK);
	assert_int_equal(lg_feed(x->e, &ev), 0);
	assert_int_equal(lg_nfindings(x->e), 2);
	fx_free(x);
}

static void test_depth_overflow(void **state)
{
	struct lg_config cfg;
	struct fx *x;
	int i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_depth = 4;
	x = fx_new(&cfg);
	for (i = 0; i < 6; i++)
		lock(x, 3, LA + i * 0x100, MX, W, 0x10 + i, i);
	assert_int_equal(lg_get_stats(x->e)->depth_overflows, 2);
	assert_int_equal(count_kind(x, LG_F_DEPTH_OVERFLOW), 1);
	assert_int_equal(nth_kind(x, LG_F_DEPTH_OVERFLOW, 0)->hold.addr, LA + 4 * 0x100);
	/* the dropped acquisitions' releases are not reported as unbalanced */
	for (i = 5; i >= 0; i--)
		unlock(x, 3, LA + i * 0x100);
	assert_int_equal(lg_get_stats(x->e)->unbalanced, 0);
	assert_int_equal(lg_nfindings(x->e), 1);
	fx_free(x);
}

static void test_class_inference(void **state)
{
	struct fx *x = fx_new(NULL);
	const struct lg_finding *f;
	const struct lg_lock *a, *c;

	/* kvm->lock-like instances A and C, both first taken at 0x500: one inferred class */
	lock(x, 1, LA, MX, W, 0x500, 1);
	lock(x, 1, LB, MX, W, 0x600, 2);
	unlock(x, 1, LB);
	unlock(x, 1, LA);
	lock(x, 2, LB, MX, W, 0x700, 3);
	lock(x, 2, LC, MX, W, 0x500, 4);
	unlock(x, 2, LC);
	unlock(x, 2, LB);

	a = lg_lock_at(x->e, lock_idx(x, LA));
	c = lg_lock_at(x->e, lock_idx(x, LC));
	assert_int_equal(a->class_id, c->class_id);
	assert_int_equal(lg_nclasses(x->e), 2);
	assert_int_equal(lg_class_at(x->e, a->class_id)->ninstances, 2);
	assert_int_equal(lg_class_at(x->e, a->class_id)->origin, LG_CLASS_INFERRED);
	assert_int_equal(lg_class_at(x->e, a->class_id)->key, 0x500);
	assert_null(lg_class_at(x->e, a->class_id)->name);

	/* no instance cycle, but a potential one between the classes */
	assert_int_equal(lg_nfindings(x->e), 1);
	f = lg_finding_at(x->e, 0);
	check_cycle_shape(x, f);
	assert_int_equal(f->level, LG_LEVEL_CLASS);
	assert_int_equal(f->nedges, 2);
	assert_int_equal(f->edges[1].first.tid, 2);
	assert_int_equal(f->edges[1].to, a->class_id);

	/* same ip, other kind: another class */
	lock(x, 3, LD, RW, W, 0x500, 5);
	assert_int_not_equal(lg_lock_at(x->e, lock_idx(x, LD))->class_id, a->class_id);
	/* nesting two instances of one class is no class-level order */
	unlock(x, 3, LD);
	lock(x, 3, LA, MX, W, 0x800, 6);
	lock(x, 3, LC, MX, W, 0x900, 7);
	assert_non_null(find_edge(x, LA, LC));
	assert_int_equal(lg_nedges(x->e, LG_LEVEL_CLASS), 2);
	/* and recursion on one instance adds no edge at all */
	lock(x, 3, LC, MX, W, 0x900, 7);
	assert_null(find_edge(x, LC, LC));
	assert_int_equal(lg_nfindings(x->e), 1);
	fx_free(x);
}

static void test_static_and_explicit_classes(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct lg_config cfg;
	const struct lg_lock *l1, *l2, *l3;
	const struct lg_class *c;

	assert_non_null(x);
	x->syms = klt_symtab_new();
	assert_non_null(x->syms);
	assert_int_equal(klt_symtab_add(x->syms, LA, 32, KLT_SYM_DATA, "kvm_lock", "kvm"), 0);
	assert_int_equal(klt_symtab_add(x->syms, LB, 0, KLT_SYM_CLASS, "&kvm->lock", NULL), 0);
	assert_int_equal(klt_symtab_add(x->syms, LC, 0, KLT_SYM_CLASS, "&kvm->lock", NULL), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.syms = x->syms;
	fx_start(x, &cfg);

	lock(x, 1, LA, MX, W, 0x10, 1);
	lock(x, 1, LB, MX, W, 0x20, 2);
	lock(x, 1, LC, MX, W, 0x30, 3); /* other call site, same explicit class */
	lock(x, 1, LD, MX, W, 0x20, 4); /* no symbol: inferred, even at LB's call site */
	assert_int_equal(lg_nlocks(x->e), 4);
	assert_int_equal(lg_nclasses(x->e), 3);

	l1 = lg_lock_at(x->e, lock_idx(x, LA));
	c = lg_class_at(x->e, l1->class_id);
	assert_int_equal(c->origin, LG_CLASS_STATIC);
	assert_string_equal(c->name, "kvm_lock");
	assert_int_equal(c->key, LA);
	assert_int_equal(c->ninstances, 1);

	l2 = lg_lock_at(x->e, lock_idx(x, LB));
	l3 = lg_lock_at(x->e, lock_idx(x, LC));
	assert_int_equal(l2->class_id, l3->class_id);
	c = lg_class_at(x->e, l2->class_id);
	assert_int_equal(c->origin, LG_CLASS_EXPLICIT);
	assert_string_equal(c->name, "&kvm->lock");
	assert_int_equal(c->ninstances, 2);
	assert_int_equal(c->acquisitions, 2);
	assert_int_equal(l2->first_ip, 0x20);

	c = lg_class_at(x->e, lg_lock_at(x->e, lock_idx(x, LD))->class_id);
	assert_int_equal(c->origin, LG_CLASS_INFERRED);
	assert_null(lg_class_at(x->e, 99));
	assert_null(lg_lock_at(x->e, 99));
	fx_free(x);
}

/*
 * A KVM-flavoured mix on 6.5: the hotplug path takes kvm_lock inside cpus_write_lock(), a vCPU
 * in an SRCU read section takes kvm_lock and then cpus_read_lock(). The read acquisition is
 * non-recursive (a pending writer blocks it), so kvm_lock <-> cpu_hotplug_lock is a cycle and
 * also breaks the 6.3 - 6.11 documented order; the SRCU edges form no cycle.
 */
static void test_kvm_srcu_hotplug_chain(void **state)
{
	struct fx *x = kvm_fx(KLT_KVER(6, 5));
	const uint64_t srcu = 0xffff888100000000ULL, slots = 0xffff888100000100ULL;
	const struct lg_finding *f;

	/* cpu hotplug: cpus_write_lock(), then kvm_online_cpu() takes kvm_lock */
	lock(x, 1, CPUHP, PCPU, W, 0x100, 1);
	lock(x, 1, KVML, MX, W, 0x110, 2);
	unlock(x, 1, KVML);
	unlock(x, 1, CPUHP);
	/* an ioctl: kvm->slots_lock held across synchronize_srcu(&kvm->srcu) */
	lock(x, 2, slots, MX, W, 0x200, 3);
	feed(x, KLT_EV_SRCU_SYNC, 2, srcu, 0, 0, 0x210, 4);
	unlock(x, 2, slots);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 0);
	/* a task in an SRCU read section takes kvm_lock */
	feed(x, KLT_EV_SRCU_READ_LOCK, 3, srcu, 0, 0, 0x300, 5);
	lock(x, 3, KVML, MX, W, 0x310, 6);
	/* ... then cpus_read_lock() inside kvm_lock closes the cycle */
	lock(x, 3, CPUHP, PCPU, R, 0x320, 7);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	f = nth_kind(x, LG_F_CYCLE, 0);
	check_cycle_shape(x, f);
	assert_int_equal(f->nedges, 2); /* cpu_hotplug_lock -(EN)-> kvm_lock -(EN)-> back */
	assert_int_equal(f->edges[1].first.new_lock, CPUHP);
	assert_int_equal(f->edges[1].first.new_mode, R);
	assert_int_equal(count_kind(x, LG_F_RULE), 1);
	fx_free(x);
}

static void test_stats_and_names(void **state)
{
	struct fx *x = fx_new(NULL);
	struct klt_event ev = mkev(x, 200, 1, 0, 0, 0, 0, KLT_NO_STACK);

	assert_int_equal(lg_feed(x->e, &ev), 0);
	ev = mkev(x, KLT_EV_CONTEND_BEGIN, 1, LA, MX, W, 0, KLT_NO_STACK);
	assert_int_equal(lg_feed(x->e, &ev), 0);
	assert_int_equal(lg_get_stats(x->e)->unknown_events, 1);
	assert_int_equal(lg_get_stats(x->e)->events, 2);
	assert_string_equal(lg_finding_kind_name(LG_F_CYCLE), "cycle");
	assert_string_equal(lg_finding_kind_name(LG_F_DEPTH_OVERFLOW), "depth-overflow");
	assert_string_equal(lg_finding_kind_name(1000), "unknown");
	assert_null(lg_finding_at(x->e, 0));
	assert_null(lg_edge_at(x->e, LG_LEVEL_CLASS, 0));
	lg_free(NULL);
	fx_free(x);
}

/* Many locks and tasks, so every table grows and rehashes while edges stay consistent. */
static void test_growth(void **state)
{
	struct fx *x = fx_new(NULL);
	uint32_t t;
	int i;

	for (t = 0; t < 300; t++) {
		for (i = 0; i < 3; i++)
			lock(x, 1000 + t, LA + (uint64_t)(t * 3 + i) * 64, MX, W,
			     0x1000 + t * 3 + i, (int32_t)t);
		for (i = 2; i >= 0; i--)
			unlock(x, 1000 + t, LA + (uint64_t)(t * 3 + i) * 64);
	}
	assert_int_equal(lg_nlocks(x->e), 900);
	assert_int_equal(lg_nedges(x->e, LG_LEVEL_INSTANCE), 900);
	assert_int_equal(lg_get_stats(x->e)->tasks, 300);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_non_null(find_edge(x, LA + 897 * 64, LA + 899 * 64));
	/* close one cycle deep in the table */
	pair(x, 5000, LA + 899 * 64, MX, W, LA + 897 * 64, MX, W);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	fx_free(x);
}

/* An in-kernel EDGE record: `held` (mode hm, kind hk, stack hs) was held when `l` was taken. */
static void edge_ev(struct fx *x, uint32_t tid, uint64_t held, uint8_t hk, uint8_t hm, int32_t hs,
		    uint64_t l, uint8_t kind, uint8_t mode, uint64_t ip, int32_t stack)
{
	struct klt_event ev = mkev(x, KLT_EV_EDGE, tid, l, kind, mode, ip, stack);

	ev.aux0 = (uint32_t)held;
	ev.aux1 = (uint32_t)(held >> 32);
	ev.aux2 = hs;
	ev.flags = (uint32_t)hm << KLT_F_HELD_MODE_SHIFT | (uint32_t)hk << KLT_F_HELD_KIND_SHIFT;
	assert_int_equal(lg_feed(x->e, &ev), 0);
}

static void test_edge_events(void **state)
{
	struct fx *x = fx_new(NULL);
	const struct lg_finding *f;
	const struct lg_witness *w;

	/* the live tracer's form of an ABBA: two first sightings, no acquire/release events */
	edge_ev(x, 11, LA, RW, R, 5, LB, MX, W, 0x2000, 6);
	assert_int_equal(lg_nfindings(x->e), 0);
	edge_ev(x, 12, LB, MX, W, 7, LA, RW, W, 0x1000, 8);
	assert_int_equal(lg_nfindings(x->e), 1);
	f = lg_finding_at(x->e, 0);
	check_cycle_shape(x, f);
	assert_int_equal(f->level, LG_LEVEL_INSTANCE);
	assert_int_equal(f->edges[0].types, LG_DEP_SN);
	assert_int_equal(f->edges[1].types, LG_DEP_EN);
	w = &f->edges[1].first;
	assert_int_equal(w->tid, 12);
	assert_int_equal(w->held_lock, LB);
	assert_int_equal(w->new_lock, LA);
	assert_int_equal(w->held_stack, 7);
	assert_int_equal(w->new_stack, 8);
	assert_int_equal(w->held_mode, W);
	assert_int_equal(w->new_ip, 0x1000);
	assert_int_equal(w->held_ip, 0); /* not sent */
	assert_int_equal(lg_lock_at(x->e, lock_idx(x, LA))->kind, RW);
	/* no acquisition, no held stack: nothing is unbalanced or held at exit */
	assert_int_equal(lg_get_stats(x->e)->acquisitions, 0);
	fx_free(x);

	/* outer locks seen only as the held side (site unknown) are not merged into one class */
	x = fx_new(NULL);
	edge_ev(x, 1, LC, MX, W, 1, LA, MX, W, 0x500, 2);
	edge_ev(x, 2, LD, MX, W, 3, LB, MX, W, 0x600, 4);
	assert_int_not_equal(lg_lock_at(x->e, lock_idx(x, LC))->class_id,
			     lg_lock_at(x->e, lock_idx(x, LD))->class_id);
	assert_int_equal(lg_nclasses(x->e), 4);
	/* and a task that acquires for real mixes with EDGE records */
	pair(x, 3, LA, MX, W, LC, MX, W);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	fx_free(x);
}

/* Can the cycle's edges be given one bit each with no -(*R)-> -(S*)-> pair, wrap included? */
static bool cycle_is_strong(const struct lg_finding *f)
{
	unsigned b0, i, reach, nreach, b, p;

	for (b0 = 0; b0 < 4; b0++) {
		if (!(f->edges[0].types & (1u << b0)))
			continue;
		reach = 1u << b0; /* bits usable on edge i given the choices so far */
		for (i = 1; i < f->nedges; i++) {
			nreach = 0;
			for (p = 0; p < 4; p++)
				for (b = 0; b < 4; b++)
					if ((reach & (1u << p)) &&
					    (f->edges[i].types & (1u << b)) &&
					    !(((1u << p) & (LG_DEP_ER | LG_DEP_SR)) &&
					      ((1u << b) & (LG_DEP_SN | LG_DEP_SR))))
						nreach |= 1u << b;
			reach = nreach;
		}
		for (p = 0; p < 4; p++)
			if ((reach & (1u << p)) && !(((1u << p) & (LG_DEP_ER | LG_DEP_SR)) &&
						     ((1u << b0) & (LG_DEP_SN | LG_DEP_SR))))
				return true;
	}
	return false;
}

static unsigned count_level(const struct fx *x, unsigned level)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < lg_nfindings(x->e); i++)
		n += lg_finding_at(x->e, i)->kind == LG_F_CYCLE &&
		     lg_finding_at(x->e, i)->level == level;
	return n;
}

/*
 * Brute force: is there a closed walk in the instance graph whose consecutive edge pairs (wrap
 * included) are all strong? States are (edge, bit); a strong closed walk is a cycle of states.
 */
#define BF_MAX 256
static int bf_color[BF_MAX];

static bool bf_dfs(const struct lg_engine *e, unsigned s)
{
	const struct lg_edge *a = lg_edge_at(e, LG_LEVEL_INSTANCE, s / 4), *b;
	size_t j;
	unsigned bb;

	bf_color[s] = 1;
	for (j = 0; j < lg_nedges(e, LG_LEVEL_INSTANCE); j++) {
		b = lg_edge_at(e, LG_LEVEL_INSTANCE, j);
		if (b->from != a->to)
			continue;
		for (bb = 0; bb < 4; bb++) {
			unsigned t = j * 4 + bb;

			if (!(b->types & (1u << bb)))
				continue;
			if (((1u << (s % 4)) & (LG_DEP_ER | LG_DEP_SR)) &&
			    ((1u << bb) & (LG_DEP_SN | LG_DEP_SR)))
				continue;
			if (bf_color[t] == 1 || (!bf_color[t] && bf_dfs(e, t)))
				return true;
		}
	}
	bf_color[s] = 2;
	return false;
}

static bool bf_strong_cycle(const struct lg_engine *e)
{
	size_t n = lg_nedges(e, LG_LEVEL_INSTANCE) * 4, s;

	assert_true(n <= BF_MAX);
	memset(bf_color, 0, sizeof(bf_color));
	for (s = 0; s < n; s++)
		if (!bf_color[s] &&
		    (lg_edge_at(e, LG_LEVEL_INSTANCE, s / 4)->types & (1u << (s % 4))) &&
		    bf_dfs(e, s))
			return true;
	return false;
}

/*
 * Random nestings of five locks in every mode: after each section, the engine has reported an
 * instance cycle iff a strong cycle exists (edges and bits are never removed, so the first one
 * must have been caught when it formed), every reported cycle is strong, and none twice.
 */
static void test_random_vs_bruteforce(void **state)
{
	static const uint64_t l[5] = { LA, LB, LC, LD, LE };
	static const uint8_t modes[3] = { W, R, RR };
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	unsigned seed, step, d, depth, with_cycle = 0, with_class = 0;
	size_t i, j;

	for (seed = 0; seed < 400; seed++) {
		struct fx *x = fx_new(NULL);

		for (step = 0; step < 12; step++) {
			uint32_t tid = 1 + step % 3;
			uint64_t held[3];

			depth = 2 + (rng >> 60) % 2;
			for (d = 0; d < depth; d++) {
				rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
				held[d] = l[(rng >> 33) % 5];
				/* a kernel kind: pthread locks never share a call-site class */
				lock(x, tid, held[d], RW, modes[(rng >> 40) % 3], 0x10 + d,
				     (int32_t)d);
			}
			while (d-- > 0)
				unlock(x, tid, held[d]);
			assert_int_equal(count_level(x, LG_LEVEL_INSTANCE) > 0,
					 bf_strong_cycle(x->e));
		}
		for (i = 0; i < lg_nfindings(x->e); i++) {
			const struct lg_finding *f = lg_finding_at(x->e, i);

			assert_int_equal(f->kind, LG_F_CYCLE);
			check_cycle_shape(x, f);
			assert_true(cycle_is_strong(f));
			for (j = 0; j < i; j++) /* never the same cycle twice */
				if (lg_finding_at(x->e, j)->level == f->level &&
				    lg_finding_at(x->e, j)->nedges == f->nedges && f->nedges == 2)
					assert_false(lg_finding_at(x->e, j)->edges[0].from ==
							     f->edges[1].from &&
						     lg_finding_at(x->e, j)->edges[1].from ==
							     f->edges[0].from);
		}
		with_cycle += count_level(x, LG_LEVEL_INSTANCE) > 0;
		with_class += count_level(x, LG_LEVEL_CLASS) > 0;
		assert_int_equal(lg_get_stats(x->e)->unbalanced, 0);
		fx_free(x);
	}
	/* the mix exercises both outcomes */
	assert_true(with_cycle > 20 && with_cycle < 380);
	assert_true(with_class > 0); /* instances merged by call site: potential cycles too */
}

/*
 * Larger graphs, to exercise the incremental topological order and component merging: locks
 * created in random order, edges of a random DAG (low index -> high index) added in random
 * order, then one edge back from b to a: a cycle iff a reaches b (checked by Warshall's
 * transitive closure over the engine's own edges).
 */
#define DAG_N 60
static void test_random_dag_then_back_edge(void **state)
{
	uint64_t rng = 0x2545f4914f6cdd1dULL;
	unsigned seed, i, j, k, ncyc = 0;

	for (seed = 0; seed < 60; seed++) {
		static bool reach[DAG_N][DAG_N];
		struct fx *x = fx_new(NULL);
		uint32_t perm[DAG_N], a, b, ia, ib;
		bool cyc;

#define RND() (rng = rng * 6364136223846793005ULL + 1442695040888963407ULL, \
	       (unsigned)(rng >> 33))
		for (i = 0; i < DAG_N; i++)
			perm[i] = i;
		for (i = DAG_N - 1; i > 0; i--) {
			j = RND() % (i + 1);
			k = perm[i];
			perm[i] = perm[j];
			perm[j] = k;
		}
		for (i = 0; i < DAG_N; i++) { /* creation order: random */
			lock(x, 1, LA + perm[i] * 64, MX, W, 0x1000 + perm[i], 0);
			unlock(x, 1, LA + perm[i] * 64);
		}
		for (k = 0; k < 3 * DAG_N; k++) {
			a = RND() % DAG_N;
			b = RND() % DAG_N;
			if (a == b)
				continue;
			if (a > b) {
				j = a;
				a = b;
				b = j;
			}
			pair(x, 2, LA + a * 64, MX, W, LA + b * 64, MX, W);
		}
		assert_int_equal(lg_nfindings(x->e), 0);

		memset(reach, 0, sizeof(reach));
		for (i = 0; i < lg_nedges(x->e, LG_LEVEL_INSTANCE); i++) {
			const struct lg_edge *ed = lg_edge_at(x->e, LG_LEVEL_INSTANCE, i);

			reach[ed->from][ed->to] = true;
		}
		for (k = 0; k < DAG_N; k++)
			for (i = 0; i < DAG_N; i++)
				for (j = 0; j < DAG_N; j++)
					reach[i][j] = reach[i][j] || (reach[i][k] && reach[k][j]);
		a = RND() % (DAG_N / 2);
		b = DAG_N / 2 + RND() % (DAG_N / 2);
		ia = lock_idx(x, LA + a * 64);
		ib = lock_idx(x, LA + b * 64);
		cyc = reach[ia][ib];
		ncyc += cyc;
		pair(x, 3, LA + b * 64, MX, W, LA + a * 64, MX, W);
		assert_int_equal(count_level(x, LG_LEVEL_INSTANCE), cyc);
		if (cyc) {
			const struct lg_finding *f = nth_kind(x, LG_F_CYCLE, 0);

			check_cycle_shape(x, f);
			assert_int_equal(f->edges[f->nedges - 1].from, ib);
			assert_int_equal(f->edges[f->nedges - 1].to, ia);
		}
		fx_free(x);
#undef RND
	}
	assert_true(ncyc > 5 && ncyc < 55); /* both outcomes exercised */
}

static void test_long_chain_cycle(void **state)
{
	struct fx *x = fx_new(NULL);
	unsigned k;

	/* created 0..99, ordered 99 -> 98 -> ... -> 0: every edge goes against creation order */
	for (k = 0; k < 100; k++) {
		lock(x, 1, LA + k * 64, MX, W, 0x1000 + k, 0);
		unlock(x, 1, LA + k * 64);
	}
	for (k = 0; k < 99; k++)
		pair(x, 2, LA + (k + 1) * 64, MX, W, LA + k * 64, MX, W);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_int_equal(lg_get_stats(x->e)->cycle_searches, 0);
	pair(x, 3, LA, MX, W, LA + 99 * 64, MX, W);
	assert_int_equal(count_level(x, LG_LEVEL_INSTANCE), 1);
	check_cycle_shape(x, nth_kind(x, LG_F_CYCLE, 0));
	assert_int_equal(nth_kind(x, LG_F_CYCLE, 0)->nedges, 100);
	/* inside the big component now: a chord gives a shorter cycle, found and reported */
	pair(x, 4, LA + 10 * 64, MX, W, LA + 90 * 64, MX, W);
	assert_int_equal(count_level(x, LG_LEVEL_INSTANCE), 2);
	assert_int_equal(nth_kind(x, LG_F_CYCLE, 1)->nedges, 81);
	fx_free(x);
}

/* ---------------------------------------------------------------------------------------- */
/* Guard locks (docs/engine.md, "Guard locks").                                             */

#define LG1 0xffff888000011000ULL
#define LG2 0xffff888000012000ULL

/* Index of the edge from -> to (nodes of the level), fails if there is none. */
static size_t edge_index(const struct fx *x, unsigned level, uint32_t from, uint32_t to)
{
	for (size_t i = 0; i < lg_nedges(x->e, level); i++) {
		const struct lg_edge *ed = lg_edge_at(x->e, level, i);

		if (ed->from == from && ed->to == to)
			return i;
	}
	fail_msg("no edge %u -> %u", from, to);
	return 0;
}

static unsigned iguards(const struct fx *x, uint64_t from, uint64_t to, uint32_t out[LG_GUARD_MAX])
{
	return lg_edge_guards(x->e, LG_LEVEL_INSTANCE,
			      edge_index(x, LG_LEVEL_INSTANCE, lock_idx(x, from), lock_idx(x, to)),
			      out);
}

/* Take locks[0..n) in order (modes[i]), then let go in reverse. */
static void nest(struct fx *x, uint32_t tid, const uint64_t *locks, const uint8_t *modes,
		 unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		lock(x, tid, locks[i], RW, modes[i], 0x10 + i, KLT_NO_STACK);
	while (n-- > 0)
		unlock(x, tid, locks[n]);
}

/* The intersection itself: first sighting, shrinking, read holds, the ends, EDGE events. */
static void test_guard_sets(void **state)
{
	struct fx *x = fx_new(NULL);
	uint32_t g[LG_GUARD_MAX];

	/* G1 and G2 held WRITE, LC held READ: A -> B keeps G1, G2 (outermost first), not LC,
	 * not its own ends */
	nest(x, 1, (const uint64_t[]){ LG1, LC, LG2, LA, LB }, (const uint8_t[]){ W, R, W, W, W }, 5);
	assert_int_equal(iguards(x, LA, LB, g), 2);
	assert_int_equal(g[0], lock_idx(x, LG1));
	assert_int_equal(g[1], lock_idx(x, LG2));
	/* G1 -> A: G2 was taken after G1 but is held when A is: a candidate; G1 is an end */
	assert_int_equal(iguards(x, LG1, LA, g), 1);
	assert_int_equal(g[0], lock_idx(x, LG2));
	/* LC -> A: read-held LC is no candidate of anything, but it is an edge's end */
	assert_int_equal(iguards(x, LC, LA, g), 2);
	/* a second sighting of A -> B under G2 alone: the intersection is {G2} */
	nest(x, 2, (const uint64_t[]){ LG2, LA, LB }, (const uint8_t[]){ W, W, W }, 3);
	assert_int_equal(iguards(x, LA, LB, g), 1);
	assert_int_equal(g[0], lock_idx(x, LG2));
	/* G2 held READ this time: no exclusion, no guard */
	nest(x, 3, (const uint64_t[]){ LG2, LA, LB }, (const uint8_t[]){ R, W, W }, 3);
	assert_int_equal(iguards(x, LA, LB, g), 0);
	/* empty for good: held WRITE again changes nothing */
	nest(x, 2, (const uint64_t[]){ LG1, LG2, LA, LB }, (const uint8_t[]){ W, W, W, W }, 4);
	assert_int_equal(iguards(x, LA, LB, g), 0);
	assert_int_equal(lg_nfindings(x->e), 0);

	/* an EDGE event does not say what else was held: its edge has no candidates, and a known
	 * edge seen again as an EDGE event loses them */
	edge_ev(x, 4, LD, MX, W, 1, LE, MX, W, 0x500, 2);
	assert_int_equal(iguards(x, LD, LE, g), 0);
	nest(x, 5, (const uint64_t[]){ LG1, LC, LA }, (const uint8_t[]){ W, W, W }, 3);
	assert_int_equal(iguards(x, LC, LA, g), 1); /* {G1, G2} meets {G1} */
	assert_int_equal(g[0], lock_idx(x, LG1));
	nest(x, 5, (const uint64_t[]){ LG1, LD, LB }, (const uint8_t[]){ W, W, W }, 3);
	assert_int_equal(iguards(x, LD, LB, g), 1);
	edge_ev(x, 6, LD, RW, W, 1, LB, RW, W, 0x500, 2);
	assert_int_equal(iguards(x, LD, LB, g), 0);

	/* at most LG_GUARD_MAX candidates, the outermost ones */
	nest(x, 7, (const uint64_t[]){ LG1, LG2, LE, LC, LD, LA, 0xffff888000013000ULL },
	     (const uint8_t[]){ W, W, W, W, W, W, W }, 7);
	assert_int_equal(iguards(x, LA, 0xffff888000013000ULL, g), LG_GUARD_MAX);
	assert_int_equal(g[0], lock_idx(x, LG1));
	assert_int_equal(g[3], lock_idx(x, LC));
	fx_free(x);
}

/* A -> B under g1 (mode m1), B -> A under g2 (m2): a finding, nothing guarded. */
static void abba_unguarded(uint64_t g1, uint8_t m1, uint64_t g2, uint8_t m2)
{
	struct fx *x = fx_new(NULL);

	nest(x, 1, (const uint64_t[]){ g1, LA, LB }, (const uint8_t[]){ m1, W, W }, 3);
	nest(x, 2, (const uint64_t[]){ g2, LB, LA }, (const uint8_t[]){ m2, W, W }, 3);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	assert_int_equal(lg_nguarded(x->e), 0);
	fx_free(x);
}

/* An ABBA always under one lock is guarded, not a finding; seen once without it, a finding. */
static void test_guard_abba(void **state)
{
	struct fx *x = fx_new(NULL);
	const struct lg_guarded *gd;

	nest(x, 1, (const uint64_t[]){ LG1, LA, LB }, (const uint8_t[]){ W, W, W }, 3);
	nest(x, 2, (const uint64_t[]){ LG1, LB, LA }, (const uint8_t[]){ W, W, W }, 3);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_int_equal(lg_nguarded(x->e), 1);
	gd = lg_guarded_at(x->e, 0);
	assert_int_equal(gd->level, LG_LEVEL_INSTANCE);
	assert_int_equal(gd->guard, lock_idx(x, LG1));
	assert_int_equal(gd->nedges, 2);
	assert_int_equal(gd->edges[0].to, gd->edges[1].from);
	assert_int_equal(gd->edges[1].to, gd->edges[0].from);
	assert_null(lg_guarded_at(x->e, 1));
	/* seen again under the guard: nothing new */
	nest(x, 3, (const uint64_t[]){ LG1, LA, LB }, (const uint8_t[]){ W, W, W }, 3);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_int_equal(lg_nguarded(x->e), 1);
	/* B -> A once without it (same bits, only the guard set shrinks): a finding, and the
	 * cycle is no longer listed as guarded */
	nest(x, 4, (const uint64_t[]){ LB, LA }, (const uint8_t[]){ W, W }, 2);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	check_cycle_shape(x, nth_kind(x, LG_F_CYCLE, 0));
	assert_int_equal(lg_nguarded(x->e), 0);
	fx_free(x);

	/* guards that differ per edge prove nothing */
	abba_unguarded(LG1, W, LG2, W);
	/* a guard held READ by both tasks excludes nothing (rwsem readers share it) */
	abba_unguarded(LG1, R, LG1, R);
	/* nor held WRITE by one and READ by the other */
	abba_unguarded(LG1, W, LG1, R);

	/* two guards in common: still one guarded cycle, by the outermost */
	x = fx_new(NULL);
	nest(x, 1, (const uint64_t[]){ LG1, LG2, LA, LB }, (const uint8_t[]){ W, W, W, W }, 4);
	nest(x, 2, (const uint64_t[]){ LG1, LG2, LB, LA }, (const uint8_t[]){ W, W, W, W }, 4);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_int_equal(lg_nguarded(x->e), 1);
	assert_int_equal(lg_guarded_at(x->e, 0)->guard, lock_idx(x, LG1));
	/* ... losing one of them changes nothing, losing both makes it a finding */
	nest(x, 3, (const uint64_t[]){ LG2, LA, LB }, (const uint8_t[]){ W, W, W }, 3);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_int_equal(lg_nguarded(x->e), 1);
	assert_int_equal(lg_guarded_at(x->e, 0)->guard, lock_idx(x, LG2));
	nest(x, 3, (const uint64_t[]){ LG1, LA, LB }, (const uint8_t[]){ W, W, W }, 3);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	assert_int_equal(lg_nguarded(x->e), 0);
	fx_free(x);
}

/*
 * The shortest cycle through the closing edge is guarded, a longer one is not: the longer one
 * is the finding (a guarded short cycle must not hide it). B -> A under G, B -> C -> A without,
 * then A -> B under G closes both A -> B -> A and A -> B -> C -> A.
 */
static void test_guard_hidden_cycle(void **state)
{
	struct fx *x = fx_new(NULL);
	const struct lg_finding *f;

	nest(x, 1, (const uint64_t[]){ LG1, LB, LA }, (const uint8_t[]){ W, W, W }, 3);
	nest(x, 2, (const uint64_t[]){ LB, LC }, (const uint8_t[]){ W, W }, 2);
	nest(x, 3, (const uint64_t[]){ LC, LA }, (const uint8_t[]){ W, W }, 2);
	assert_int_equal(lg_nfindings(x->e), 0);
	nest(x, 4, (const uint64_t[]){ LG1, LA, LB }, (const uint8_t[]){ W, W, W }, 3);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	f = nth_kind(x, LG_F_CYCLE, 0);
	check_cycle_shape(x, f);
	assert_int_equal(f->nedges, 3);
	assert_int_equal(lg_nguarded(x->e), 0);
	fx_free(x);

	/* the same with C -> A under G too: every cycle through A -> B is guarded */
	x = fx_new(NULL);
	nest(x, 1, (const uint64_t[]){ LG1, LB, LA }, (const uint8_t[]){ W, W, W }, 3);
	nest(x, 2, (const uint64_t[]){ LG1, LB, LC }, (const uint8_t[]){ W, W, W }, 3);
	nest(x, 3, (const uint64_t[]){ LG1, LC, LA }, (const uint8_t[]){ W, W, W }, 3);
	nest(x, 4, (const uint64_t[]){ LG1, LA, LB }, (const uint8_t[]){ W, W, W }, 3);
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_int_equal(lg_nguarded(x->e), 1);
	assert_int_equal(lg_guarded_at(x->e, 0)->nedges, 2); /* the shortest is shown */
	/* C -> A seen without G: the 3-cycle through it is a finding; the 2-cycle stays guarded */
	nest(x, 5, (const uint64_t[]){ LC, LA }, (const uint8_t[]){ W, W }, 2);
	assert_int_equal(count_kind(x, LG_F_CYCLE), 1);
	assert_int_equal(nth_kind(x, LG_F_CYCLE, 0)->nedges, 3);
	assert_int_equal(lg_nguarded(x->e), 1);
	fx_free(x);
}

/*
 * Class level: a class cycle is guarded only by one lock *instance* held at every sighting of
 * every edge. X1, X2 (one inferred class, first taken at 0x500) and Y: X1 -> Y and Y -> X2 is
 * a class cycle with no instance cycle.
 */
static void class_cycle_under(struct fx *x, uint64_t g1, uint64_t g2)
{
	lock(x, 1, g1, MX, W, 0x700, KLT_NO_STACK);
	lock(x, 1, LA, MX, W, 0x500, KLT_NO_STACK);
	lock(x, 1, LB, MX, W, 0x600, KLT_NO_STACK);
	unlock(x, 1, LB);
	unlock(x, 1, LA);
	unlock(x, 1, g1);
	lock(x, 2, g2, MX, W, 0x700, KLT_NO_STACK);
	lock(x, 2, LB, MX, W, 0x600, KLT_NO_STACK);
	lock(x, 2, LC, MX, W, 0x500, KLT_NO_STACK);
	unlock(x, 2, LC);
	unlock(x, 2, LB);
	unlock(x, 2, g2);
}

static void test_guard_class_level(void **state)
{
	struct fx *x = fx_new(NULL);
	uint32_t g[LG_GUARD_MAX];
	const struct lg_lock *a, *b;
	size_t ce;

	/* one guard instance for both: the class cycle is guarded by it */
	class_cycle_under(x, LG1, LG1);
	a = lg_lock_at(x->e, lock_idx(x, LA));
	b = lg_lock_at(x->e, lock_idx(x, LB));
	assert_int_equal(a->class_id, lg_lock_at(x->e, lock_idx(x, LC))->class_id);
	ce = edge_index(x, LG_LEVEL_CLASS, a->class_id, b->class_id);
	/* a class edge's candidates are instances too */
	assert_int_equal(lg_edge_guards(x->e, LG_LEVEL_CLASS, ce, g), 1);
	assert_int_equal(g[0], lock_idx(x, LG1));
	assert_int_equal(lg_nfindings(x->e), 0);
	assert_int_equal(lg_nguarded(x->e), 1);
	assert_int_equal(lg_guarded_at(x->e, 0)->level, LG_LEVEL_CLASS);
	assert_int_equal(lg_guarded_at(x->e, 0)->guard, lock_idx(x, LG1));
	fx_free(x);

	/* two instances of one guard class (both first taken at 0x700): a common class proves
	 * nothing, another pair of instances can deadlock under two different guards */
	x = fx_new(NULL);
	class_cycle_under(x, LG1, LG2);
	assert_int_equal(lg_lock_at(x->e, lock_idx(x, LG1))->class_id,
			 lg_lock_at(x->e, lock_idx(x, LG2))->class_id);
	assert_int_equal(count_level(x, LG_LEVEL_CLASS), 1);
	assert_int_equal(lg_nguarded(x->e), 0);
	fx_free(x);
}

/*
 * Random nestings under random guards against brute force. The test keeps its own guard sets
 * (per instance edge: the locks held WRITE at every sighting, other than its ends) and checks
 * the engine's against them. A deadlock is a simple cycle, strong, whose edges share no guard:
 * the engine must report every one (recall). The engine searches walks, so it may also report
 * a closed walk that repeats a lock when no simple cycle would do; but never one that every
 * closed walk guards. Strong closed walks live in the non-trivial strongly connected components
 * of the (edge, bit) state graph, and one walk can cover a whole component: there is an
 * unguarded strong closed walk iff such a component's edges have an empty common guard set.
 */
#define GB_LOCKS 7 /* 0..4 ordered at random, 5..6 the guards, always taken first */
#define GB_STATES 256
struct gb {
	uint8_t seen[GB_LOCKS][GB_LOCKS];
	uint8_t mask[GB_LOCKS][GB_LOCKS]; /* guard set of edge i -> j, as bits of lock numbers */
	uint64_t reach[GB_STATES][GB_STATES / 64];
	unsigned no[GB_LOCKS];		  /* engine instance index -> lock number */
};

static unsigned gb_lockno(const uint64_t *addr, uint64_t a)
{
	for (unsigned i = 0; i < GB_LOCKS; i++)
		if (addr[i] == a)
			return i;
	fail_msg("unknown lock");
	return 0;
}

/* -(*R)-> followed by -(S*)-> is not strong */
static bool gb_weak(unsigned bit_in, unsigned bit_out)
{
	return ((1u << bit_in) & (LG_DEP_ER | LG_DEP_SR)) && ((1u << bit_out) & (LG_DEP_SN | LG_DEP_SR));
}

/* Simple strong cycles through start (its smallest node) extending the path at node. */
static bool gb_dfs(const struct fx *x, const struct gb *b, uint32_t start, uint32_t node,
		   unsigned first, unsigned last, unsigned mask, unsigned visited, unsigned depth)
{
	for (size_t j = 0; j < lg_nedges(x->e, LG_LEVEL_INSTANCE); j++) {
		const struct lg_edge *ed = lg_edge_at(x->e, LG_LEVEL_INSTANCE, j);
		unsigned em = b->mask[b->no[ed->from]][b->no[ed->to]];

		if (ed->from != node || ed->to < start)
			continue;
		for (unsigned bb = 0; bb < 4; bb++) {
			unsigned m = depth ? mask & em : em, fb = depth ? first : bb;

			if (!(ed->types & (1u << bb)) || (depth && gb_weak(last, bb)))
				continue;
			if (ed->to == start) {
				if (!gb_weak(bb, fb) && !m)
					return true;
				continue;
			}
			if (!(visited & (1u << ed->to)) &&
			    gb_dfs(x, b, start, ed->to, fb, bb, m, visited | 1u << ed->to, depth + 1))
				return true;
		}
	}
	return false;
}

static bool gb_simple(const struct fx *x, struct gb *b, const uint64_t *addr)
{
	for (uint32_t i = 0; i < lg_nlocks(x->e); i++)
		b->no[i] = gb_lockno(addr, lg_lock_at(x->e, i)->addr);
	for (uint32_t s = 0; s < lg_nlocks(x->e); s++)
		if (gb_dfs(x, b, s, s, 0, 0, 0, 1u << s, 0))
			return true;
	return false;
}

static bool gb_walk(const struct fx *x, struct gb *b, const uint64_t *addr)
{
	size_t ne = lg_nedges(x->e, LG_LEVEL_INSTANCE), n = ne * 4, s, t, k;
	unsigned no[64];

	assert_true(n <= GB_STATES && ne <= 64);
	for (s = 0; s < ne; s++) {
		const struct lg_edge *ed = lg_edge_at(x->e, LG_LEVEL_INSTANCE, s);
		unsigned from = gb_lockno(addr, lg_lock_at(x->e, ed->from)->addr);
		unsigned to = gb_lockno(addr, lg_lock_at(x->e, ed->to)->addr);
		uint32_t g[LG_GUARD_MAX];
		unsigned ng = lg_edge_guards(x->e, LG_LEVEL_INSTANCE, s, g), m = 0;

		for (k = 0; k < ng; k++)
			m |= 1u << gb_lockno(addr, lg_lock_at(x->e, g[k])->addr);
		assert_int_equal(m, b->mask[from][to]); /* the engine's intersection is right */
		no[s] = from * GB_LOCKS + to;
	}
	memset(b->reach, 0, sizeof(b->reach));
	for (s = 0; s < n; s++) {
		const struct lg_edge *a = lg_edge_at(x->e, LG_LEVEL_INSTANCE, s / 4);

		if (!(a->types & (1u << (s % 4))))
			continue;
		for (t = 0; t < n; t++) {
			const struct lg_edge *c = lg_edge_at(x->e, LG_LEVEL_INSTANCE, t / 4);

			if (!(c->types & (1u << (t % 4))) || c->from != a->to)
				continue;
			if (((1u << (s % 4)) & (LG_DEP_ER | LG_DEP_SR)) &&
			    ((1u << (t % 4)) & (LG_DEP_SN | LG_DEP_SR)))
				continue;
			b->reach[s][t / 64] |= 1ull << (t % 64);
		}
	}
	for (k = 0; k < n; k++) /* Warshall on bit rows */
		for (s = 0; s < n; s++)
			if (b->reach[s][k / 64] >> (k % 64) & 1)
				for (t = 0; t < GB_STATES / 64; t++)
					b->reach[s][t] |= b->reach[k][t];
	for (s = 0; s < n; s++) {
		unsigned common = ~0u;

		if (!(b->reach[s][s / 64] >> (s % 64) & 1))
			continue; /* on no closed walk */
		for (t = 0; t < n; t++) /* the component of s */
			if ((b->reach[s][t / 64] >> (t % 64) & 1) && (b->reach[t][s / 64] >> (s % 64) & 1))
				common &= b->mask[no[t / 4] / GB_LOCKS][no[t / 4] % GB_LOCKS];
		if (!common)
			return true;
	}
	return false;
}

static void test_guard_random_vs_bruteforce(void **state)
{
	static const uint64_t addr[GB_LOCKS] = { LA, LB, LC, LD, LE, LG1, LG2 };
	static const uint8_t modes[3] = { W, R, RR };
	struct gb *b = malloc(sizeof(*b));
	uint64_t rng = 0x5851f42d4c957f2dULL;
	unsigned seed, step, with_cycle = 0, with_guarded = 0, walk_only = 0;
	bool simple, walk, reported;

	assert_non_null(b);
	for (seed = 0; seed < 300; seed++) {
		struct fx *x = fx_new(NULL);

		memset(b->seen, 0, sizeof(b->seen));
		for (step = 0; step < 8; step++) {
			uint32_t tid = 1 + step % 3;
			unsigned held[6], hmode[6], depth = 0, d, i, j, n;

#define RND() (rng = rng * 6364136223846793005ULL + 1442695040888963407ULL, \
	       (unsigned)(rng >> 33))
			/* the guards: each taken (mostly WRITE) or not, then 2-3 ordered locks */
			for (i = 5; i < GB_LOCKS; i++)
				if (RND() % 4 != 0) {
					held[depth] = i;
					hmode[depth++] = RND() % 5 ? W : R;
				}
			n = depth + 2 + RND() % 2;
			while (depth < n) {
				held[depth] = RND() % 5;
				hmode[depth++] = modes[RND() % 3];
			}
#undef RND
			for (d = 0; d < depth; d++) {
				bool recursion = false;

				for (i = 0; i < d; i++)
					if (held[i] == held[d] && !(hmode[i] == RR && hmode[d] == RR))
						recursion = true;
				for (i = 0; i < d && !recursion; i++) {
					unsigned m = 0;

					if (held[i] == held[d])
						continue;
					for (j = 0; j < d; j++)
						if (hmode[j] == W && held[j] != held[i] && held[j] != held[d])
							m |= 1u << held[j];
					if (b->seen[held[i]][held[d]])
						m &= b->mask[held[i]][held[d]];
					b->seen[held[i]][held[d]] = 1;
					b->mask[held[i]][held[d]] = (uint8_t)m;
				}
				lock(x, tid, addr[held[d]], RW, hmode[d], 0x10 + d, (int32_t)d);
			}
			while (d-- > 0)
				unlock(x, tid, addr[held[d]]);
			simple = gb_simple(x, b, addr);
			walk = gb_walk(x, b, addr);
			reported = count_level(x, LG_LEVEL_INSTANCE) > 0;
			/* recall: an unguarded simple cycle is always reported */
			if (simple)
				assert_true(reported);
			/* and nothing is reported that every closed walk through it guards */
			if (reported)
				assert_true(walk);
			walk_only += walk && !simple;
		}
		for (size_t i = 0; i < lg_nfindings(x->e); i++)
			if (lg_finding_at(x->e, i)->kind == LG_F_CYCLE) {
				check_cycle_shape(x, lg_finding_at(x->e, i));
				assert_true(cycle_is_strong(lg_finding_at(x->e, i)));
			}
		with_cycle += count_level(x, LG_LEVEL_INSTANCE) > 0;
		with_guarded += lg_nguarded(x->e) > 0;
		fx_free(x);
	}
	free(b);
	/* the mix exercises every outcome */
	assert_true(with_cycle > 20 && with_cycle < 280);
	assert_true(with_guarded > 10);
	assert_true(walk_only > 0); /* the two oracles differ, and the engine sits between */
}

#ifndef KLT_NO_FAILINJ
/* A scenario touching every allocation site: tasks, locks, classes, edges, cycles, findings. */
static const struct {
	uint16_t type;
	uint32_t tid;
	uint64_t lock;
	uint8_t kind, mode;
} script[] = {
	{ KLT_EV_ATTEMPT, 1, LA, MX, W },   { KLT_EV_ACQUIRED, 1, LA, MX, W },
	{ KLT_EV_ATTEMPT, 1, LB, MX, W },   { KLT_EV_ACQUIRED, 1, LB, MX, W },
	{ KLT_EV_ACQUIRED, 1, LC, MX, W },  { KLT_EV_RELEASE, 1, LC, 0, 0 },
	{ KLT_EV_RELEASE, 1, LB, 0, 0 },    { KLT_EV_RELEASE, 1, LA, 0, 0 },
	{ KLT_EV_ACQUIRED, 2, LC, MX, W },  { KLT_EV_ATTEMPT, 2, LA, MX, W },
	{ KLT_EV_ACQUIRED, 2, LA, MX, W },  { KLT_EV_RELEASE, 2, LA, 0, 0 },
	{ KLT_EV_RELEASE, 2, LC, 0, 0 },    { KLT_EV_ACQUIRED, 3, LB, MX, W },
	{ KLT_EV_ACQUIRED, 3, LA, MX, W },  { KLT_EV_SRCU_SYNC, 3, LD, 0, 0 },
	{ KLT_EV_RELEASE, 3, LE, 0, 0 },    { KLT_EV_TASK_EXIT, 3, 0, 0, 0 },
	{ KLT_EV_SRCU_READ_LOCK, 4, LD, 0, 0 }, { KLT_EV_ACQUIRED, 4, LB, MX, W },
};

static void run_script(struct fx *x, unsigned *failures)
{
	size_t i;
	int rc;

	for (i = 0; i < sizeof(script) / sizeof(script[0]); i++) {
		struct klt_event ev = mkev(x, script[i].type, script[i].tid, script[i].lock,
					   script[i].kind, script[i].mode, 0x100 + i, (int32_t)i);

		rc = lg_feed(x->e, &ev);
		if (rc) {
			long left = fail_in;

			fail_in = -1;
			assert_int_equal(rc, -ENOMEM);
			assert_int_equal(left, -1); /* only the injected failure */
			(*failures)++;
			/* the engine is still usable: the same event goes through now */
			assert_int_equal(lg_feed(x->e, &ev), 0);
		}
	}
	fail_in = -1;
}

static void test_enomem(void **state)
{
	unsigned failures, k, base;
	struct fx *x;
	size_t i;

	x = fx_new(NULL);
	failures = 0;
	run_script(x, &failures);
	base = lg_nfindings(x->e);
	/* C<->A, A<->B, B<->SRCU(D) */
	assert_int_equal(count_kind(x, LG_F_CYCLE), 3);
	assert_int_equal(count_kind(x, LG_F_HELD_AT_EXIT), 2);
	assert_int_equal(count_kind(x, LG_F_UNBALANCED), 1);
	fx_free(x);

	for (k = 0;; k++) {
		x = fx_new(NULL);
		failures = 0;
		fail_in = k;
		run_script(x, &failures);
		for (i = 0; i < lg_nfindings(x->e); i++)
			if (lg_finding_at(x->e, i)->kind == LG_F_CYCLE)
				check_cycle_shape(x, lg_finding_at(x->e, i));
		assert_true(lg_nfindings(x->e) <= base + 1);
		fx_free(x);
		if (!failures && !k)
			skip(); /* malloc is not ours (valgrind replaces it): nothing injected */
		if (!failures)
			break; /* k is past the last allocation */
	}
	assert_true(k > 20);
}
#else
static void test_enomem(void **state)
{
	skip();
}
#endif

/* lg_lock_find: the hashed lookup renderers use agrees with a scan of every lock. */
static void test_lock_find(void **state)
{
	struct fx *x = fx_new(NULL);

	(void)state;
	for (uint64_t i = 0; i < 3000; i++) {
		lock(x, 1, LA + 0x40 * i, MX, W, 0x10, KLT_NO_STACK);
		unlock(x, 1, LA + 0x40 * i);
	}
	assert_int_equal(lg_nlocks(x->e), 3000);
	for (size_t i = 0; i < lg_nlocks(x->e); i++)
		assert_int_equal(lg_lock_find(x->e, lg_lock_at(x->e, i)->addr), (int64_t)i);
	assert_int_equal(lg_lock_find(x->e, LA + 1), -1);
	assert_int_equal(lg_lock_find(x->e, 0), -1);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abba),
		cmocka_unit_test(test_three_cycle_once_shortest),
		cmocka_unit_test(test_chain_no_cycle),
		cmocka_unit_test(test_trylock),
		cmocka_unit_test(test_recursive_reads),
		cmocka_unit_test(test_srcu),
		cmocka_unit_test(test_rule_order),
		cmocka_unit_test(test_suspend_holder),
		cmocka_unit_test(test_atomic_sleep),
		cmocka_unit_test(test_unbalanced),
		cmocka_unit_test(test_held_at_exit),
		cmocka_unit_test(test_depth_overflow),
		cmocka_unit_test(test_class_inference),
		cmocka_unit_test(test_static_and_explicit_classes),
		cmocka_unit_test(test_kvm_srcu_hotplug_chain),
		cmocka_unit_test(test_stats_and_names),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_edge_events),
		cmocka_unit_test(test_random_vs_bruteforce),
		cmocka_unit_test(test_random_dag_then_back_edge),
		cmocka_unit_test(test_long_chain_cycle),
		cmocka_unit_test(test_enomem),
		cmocka_unit_test(test_lock_find),
		cmocka_unit_test(test_guard_sets),
		cmocka_unit_test(test_guard_abba),
		cmocka_unit_test(test_guard_hidden_cycle),
		cmocka_unit_test(test_guard_class_level),
		cmocka_unit_test(test_guard_random_vs_bruteforce),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
