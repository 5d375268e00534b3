// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests: lock-time statistics (stats.c), the sample model (samples.c) and the exports
 * built on them (render_export.c), on traces written in the text form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "lockgraph.h"
#include "render.h"
#include "samples.h"
#include "stats.h"
#include "trace.h"
#include "traceio.h"

struct fx {
	struct klt_trace t;
	struct lg_engine *eng;
	struct klt_stats s;
	struct klt_view v;
};

static struct fx *load(const char *text)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct klt_err err;
	struct lg_config cfg;

	assert_non_null(f);
	klt_trace_init(&f->t);
	assert_non_null(f->t.syms);
	if (klt_text_parse(text, strlen(text), "t", &f->t, &err))
		fail_msg("parse: %s", err.msg);
	memset(&cfg, 0, sizeof(cfg));
	cfg.syms = f->t.syms;
	cfg.ignore_unbalanced = true;
	f->eng = lg_new(&cfg);
	assert_non_null(f->eng);
	for (size_t i = 0; i < f->t.nevents; i++)
		assert_int_equal(lg_feed(f->eng, &f->t.events[i]), 0);
	assert_int_equal(klt_stats_build(&f->s, f->eng, f->t.events, f->t.nevents), 0);
	f->v.eng = f->eng;
	f->v.trace = &f->t;
	f->v.stats = &f->s;
	f->v.source = "t";
	return f;
}

static void unload(struct fx *f)
{
	klt_stats_free(&f->s);
	lg_free(f->eng);
	klt_trace_free(&f->t);
	free(f);
}

/* Class entry by name (klt_acq_lock_name), or fail. */
static const struct klt_stat *cls(struct fx *f, const char *name)
{
	char buf[256];

	for (size_t i = 0; i < f->s.nclasses; i++) {
		const struct klt_stat *e = &f->s.classes[i];
		struct klt_acq a = { .lock = e->lock, .class_id = e->class_id, .kind = e->kind };

		if (!strcmp(klt_acq_lock_name(&f->v, &a, buf, sizeof(buf)), name))
			return e;
	}
	fail_msg("no class %s", name);
	return NULL;
}

static void test_wait_and_hold(void **state)
{
	struct fx *f = load("1000 1/a attempt lock_a mutex at=f+0x10 stack=f+0x10;g+0x20\n"
			    "1500 1/a acquired lock_a mutex at=f+0x10 stack=f+0x10;g+0x20\n"
			    "4000 1/a unlock lock_a\n"
			    "5000 1/a attempt lock_a mutex at=f+0x10 stack=f+0x10;g+0x20\n"
			    "5100 1/a acquired lock_a mutex at=f+0x10 stack=f+0x10;g+0x20\n"
			    "5200 1/a unlock lock_a\n");
	const struct klt_stat *a = cls(f, "lock_a");

	(void)state;
	assert_int_equal(f->s.nclasses, 1);
	assert_int_equal(f->s.nstacks, 1);
	assert_int_equal(a->acquisitions, 2);
	assert_int_equal(a->wait.count, 2);
	assert_int_equal(a->wait.total, 600);
	assert_int_equal(a->wait.max, 500);
	assert_int_equal(a->hold.count, 2);
	assert_int_equal(a->hold.total, 2600);
	assert_int_equal(a->hold.max, 2500);
	/* 2500 in [2048, 4095], 100 in [64, 127] */
	assert_int_equal(klt_metric_bucket(&a->hold, klt_hist_bucket(2500)), 1);
	assert_int_equal(klt_hist_lo(klt_hist_bucket(2500)), 2048);
	assert_int_equal(klt_hist_hi(klt_hist_bucket(2500)), 4095);
	assert_int_equal(klt_metric_bucket(&a->hold, 7), 1);
	assert_int_equal(a->contended, 0);
	assert_int_equal(f->s.open_holds, 0);
	unload(f);
}

static void test_hist_edges(void **state)
{
	(void)state;
	assert_int_equal(klt_hist_bucket(0), 0);
	assert_int_equal(klt_hist_bucket(1), 1);
	assert_int_equal(klt_hist_bucket(2), 2);
	assert_int_equal(klt_hist_bucket(3), 2);
	assert_int_equal(klt_hist_bucket(UINT64_MAX), 64);
	assert_true(klt_hist_hi(64) == UINT64_MAX);
	for (unsigned b = 1; b < 64; b++) {
		assert_int_equal(klt_hist_bucket(klt_hist_lo(b)), b);
		assert_int_equal(klt_hist_bucket(klt_hist_hi(b)), b);
	}
}

static void test_try_contention_srcu_hotplug(void **state)
{
	struct fx *f = load(
		/* trylock: an acquisition without wait; a failed one counted apart */
		"100 1/a trylock lock_t mutex\n"
		"300 1/a unlock lock_t\n"
		"400 1/a trylock-fail lock_t mutex\n"
		/* contended acquire: contention inside attempt -> acquired */
		"1000 2/b attempt lock_c mutex\n"
		"1100 2/b contend-begin lock_c mutex flags=0x2\n"
		"1900 2/b contend-end lock_c mutex\n"
		"2000 2/b acquired lock_c mutex\n"
		"2500 2/b unlock lock_c\n"
		/* contention seen alone (no acquisition events): wait, not an acquisition */
		"3000 3/c contend-begin lock_c mutex flags=0x2\n"
		"3400 3/c contend-end lock_c mutex\n"
		/* SRCU read section, nested twice on the same domain */
		"4000 4/d srcu-read-lock kvm_srcu\n"
		"4100 4/d srcu-read-lock kvm_srcu\n"
		"4300 4/d srcu-read-unlock kvm_srcu\n"
		"5000 4/d srcu-read-unlock kvm_srcu\n"
		"5100 4/d synchronize-srcu kvm_srcu\n"
		/* cpus_read_lock(): a percpu-rwsem read hold */
		"6000 5/e lock cpu_hotplug_lock percpu-rwsem read\n"
		"9000 5/e unlock cpu_hotplug_lock\n");
	const struct klt_stat *t = cls(f, "lock_t"), *c = cls(f, "lock_c"),
			      *s = cls(f, "kvm_srcu"), *h = cls(f, "cpu_hotplug_lock");

	(void)state;
	assert_int_equal(t->acquisitions, 1);
	assert_int_equal(t->try_fail, 1);
	assert_int_equal(t->wait.count, 0);
	assert_int_equal(t->hold.total, 200);

	assert_int_equal(c->acquisitions, 1);
	assert_int_equal(c->contended, 2);
	assert_int_equal(c->contention.count, 2);
	assert_int_equal(c->contention.total, 800 + 400);
	assert_int_equal(c->wait.count, 2); /* 1000 from attempt, 400 contention-only */
	assert_int_equal(c->wait.total, 1400);
	assert_int_equal(c->hold.total, 500);

	assert_int_equal(s->acquisitions, 3); /* 2 read sections + 1 synchronize */
	assert_int_equal(s->hold.count, 2);
	assert_int_equal(s->hold.total, 200 + 1000); /* innermost released first */
	assert_int_equal(s->kind, KLT_LK_SRCU);

	assert_int_equal(h->acquisitions, 1);
	assert_int_equal(h->hold.total, 3000);
	assert_int_equal(h->wait.total, 0); /* `lock` = attempt and acquired at the same ts */
	assert_int_equal(h->kind, KLT_LK_PERCPU_RWSEM);
	unload(f);
}

static void test_open_unmatched_out_of_order(void **state)
{
	struct fx *f = load("100 1/a lock a mutex\n"
			    "200 1/a lock b mutex\n"
			    "300 1/a unlock a\n" /* out of order: a's hold ends at 300 */
			    "700 1/a unlock b\n"
			    "800 1/a unlock zz mutex\n" /* never acquired */
			    "900 2/b lock a mutex\n"
			    "950 2/b exit\n"
			    "1000 3/c lock b mutex\n");
	const struct klt_stat *a = cls(f, "a"), *b = cls(f, "b");

	(void)state;
	assert_int_equal(a->acquisitions, 2);
	assert_int_equal(a->hold.count, 1);
	assert_int_equal(a->hold.total, 200);
	assert_int_equal(b->acquisitions, 2);
	assert_int_equal(b->hold.count, 1);
	assert_int_equal(b->hold.total, 500);
	assert_int_equal(f->s.open_holds, 2);
	assert_int_equal(f->s.unmatched_releases, 1);
	unload(f);
}

/* Times seen of the instance edge held -> new (both by address), 0 if there is none. */
static uint64_t edge_count(struct fx *f, uint64_t held, uint64_t new)
{
	int64_t h = lg_lock_find(f->eng, held), n = lg_lock_find(f->eng, new);

	for (size_t i = 0; h >= 0 && n >= 0 && i < lg_nedges(f->eng, LG_LEVEL_INSTANCE); i++) {
		const struct lg_edge *e = lg_edge_at(f->eng, LG_LEVEL_INSTANCE, i);

		if (e->from == (uint64_t)h && e->to == (uint64_t)n)
			return e->count;
	}
	return 0;
}

/*
 * The held-lock pairing pass (held.h) runs with the engine's rules in the engine and with the
 * statistics' rules here; one trace pins the four rules in which they differ
 * (docs/engine.md, "Held-lock pairing").
 */
static void test_pairing_rules(void **state)
{
	struct fx *f = load("@sym 0xffffffffa0000000 D m\n"
			    "@sym 0xffffffffa0000100 D n\n"
			    /* an SRCU read section and a mutex at one address */
			    "1000 1/a srcu-read-lock 0xffff888000003000 srcu\n"
			    "1200 1/a lock 0xffff888000003000 mutex\n"
			    "1400 1/a srcu-read-unlock 0xffff888000003000 srcu\n"
			    "1500 1/a exit\n"
			    /* SRCU_READ_LOCK between ATTEMPT and ACQUIRED */
			    "2000 2/b lock n mutex\n"
			    "2100 2/b attempt m mutex\n"
			    "2200 2/b srcu-read-lock 0xffff888000004000 srcu\n"
			    "2600 2/b acquired m mutex\n"
			    "2700 2/b unlock m\n"
			    "2800 2/b srcu-read-unlock 0xffff888000004000 srcu\n"
			    "2900 2/b unlock n\n"
			    /* TRY_FAIL between ATTEMPT and ACQUIRED */
			    "3000 3/c lock n mutex\n"
			    "3100 3/c attempt m mutex\n"
			    "3200 3/c trylock-fail m mutex\n"
			    "3700 3/c acquired m mutex\n"
			    "3800 3/c unlock m\n"
			    "3900 3/c unlock n\n");
	const struct lg_finding *x = NULL;
	size_t i, nexit = 0;

	(void)state;
	/* statistics: a release pairs with a hold of its own sort (SRCU read section or not) */
	for (i = 0; i < f->s.nacqs; i++) {
		const struct klt_acq *a = &f->s.acqs[i];

		if (a->lock != 0xffff888000003000ull)
			continue;
		if (a->type == KLT_ACQ_SRCU_READ) {
			assert_true(a->released);
			assert_int_equal(a->hold_ns, 400);
		} else {
			assert_false(a->released);
		}
	}
	/* engine: by address alone, so the mutex hold was popped and the read section is left */
	for (i = 0; i < lg_nfindings(f->eng); i++) {
		if (lg_finding_at(f->eng, i)->kind == LG_F_HELD_AT_EXIT) {
			x = lg_finding_at(f->eng, i);
			nexit++;
		}
	}
	assert_int_equal(nexit, 1);
	assert_int_equal(x->hold.ts, 1000);
	assert_int_equal(x->hold.mode, KLT_MODE_RREAD);
	/*
	 * SRCU_READ_LOCK ends the engine's pending ATTEMPT (task 2's ACQUIRED adds n -> m again)
	 * but not the statistics' (m waited 500 ns). TRY_FAIL ends the statistics' (task 3's m
	 * has no wait) but the engine ignores it (no second n -> m).
	 */
	assert_int_equal(edge_count(f, 0xffffffffa0000100ull, 0xffffffffa0000000ull), 3);
	assert_int_equal(edge_count(f, 0xffff888000004000ull, 0xffffffffa0000000ull), 1);
	for (i = 0; i < f->s.nacqs; i++) {
		const struct klt_acq *a = &f->s.acqs[i];

		if (a->lock != 0xffffffffa0000000ull)
			continue;
		if (a->tid == 2) {
			assert_true(a->has_wait);
			assert_int_equal(a->wait_ns, 500);
		} else {
			assert_int_equal(a->tid, 3);
			assert_false(a->has_wait);
		}
	}
	unload(f);
}

/* Instances of one inferred class add up under the engine's class name; stacks stay apart. */
static void test_classes_and_stacks(void **state)
{
	struct fx *f = load("100 1/a lock 0x1000 mutex at=alloc+0x10 stack=alloc+0x10;x\n"
			    "300 1/a unlock 0x1000\n"
			    "400 1/a lock 0x2000 mutex at=alloc+0x10 stack=alloc+0x10;y\n"
			    "1400 1/a unlock 0x2000\n"
			    "1500 1/a lock 0x2000 mutex at=alloc+0x10 stack=alloc+0x10;y\n"
			    "1600 1/a unlock 0x2000\n");
	struct klt_stat sorted[8];
	const struct klt_stat *c = cls(f, "mutex@alloc+0x10");

	(void)state;
	assert_int_equal(f->s.nclasses, 1);
	assert_int_equal(c->acquisitions, 3);
	assert_int_equal(c->hold.total, 200 + 1000 + 100);
	assert_int_equal(f->s.nstacks, 2);
	memcpy(sorted, f->s.stacks, f->s.nstacks * sizeof(sorted[0]));
	klt_stats_sort(sorted, f->s.nstacks, KLT_SORT_HOLD);
	assert_int_equal(sorted[0].hold.total, 1100);
	assert_int_equal(sorted[0].acquisitions, 2);
	assert_int_equal(sorted[1].hold.total, 200);
	klt_stats_sort(sorted, f->s.nstacks, KLT_SORT_MAX_HOLD);
	assert_int_equal(sorted[0].hold.max, 1000);
	assert_int_equal(sorted[0].ckey, sorted[1].ckey);
	unload(f);
}

static void test_sort_keys(void **state)
{
	struct fx *f = load("100 1/a attempt a mutex\n200 1/a acquired a mutex\n5200 1/a unlock a\n"
			    "300 2/b attempt b mutex\n3300 2/b acquired b mutex\n3400 2/b unlock b\n"
			    "400 3/c lock c mutex\n500 3/c unlock c\n"
			    "600 3/c lock c mutex\n700 3/c unlock c\n"
			    "800 3/c lock c mutex\n900 3/c unlock c\n");
	struct klt_stat e[3];
	char buf[64];
	struct klt_acq a = { .class_id = 0 };

	(void)state;
	assert_int_equal(f->s.nclasses, 3);
	memcpy(e, f->s.classes, sizeof(e));
#define FIRST(key, name)                                                        \
	do {                                                                   \
		klt_stats_sort(e, 3, key);                                     \
		a.class_id = e[0].class_id;                                    \
		a.lock = e[0].lock;                                            \
		assert_string_equal(klt_acq_lock_name(&f->v, &a, buf, sizeof(buf)), name); \
	} while (0)
	FIRST(KLT_SORT_ACQ, "c");
	FIRST(KLT_SORT_HOLD, "a");
	FIRST(KLT_SORT_WAIT, "b");
	FIRST(KLT_SORT_MAX_WAIT, "b");
	FIRST(KLT_SORT_AVG_HOLD, "a");
#undef FIRST
	for (int k = 0; k < KLT_SORT_MAX_KEY; k++)
		assert_int_equal(klt_stats_key_from_name(klt_stats_key_name((unsigned)k)), k);
	assert_int_equal(klt_stats_key_from_name("nope"), -1);
	unload(f);
}

/*
 * klt_stats_order (used by --stats instead of sorting copies of the large entries) gives the
 * order klt_stats_sort gives, ties kept in input order; and the in-place permutation of
 * klt_stats_sort moves every entry intact.
 */
static void test_order_matches_sort(void **state)
{
	enum { N = 1000 };
	static struct klt_stat orig[N], sorted[N];
	static size_t idx[N];
	unsigned seed = 7;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		memset(&orig[i], 0, sizeof(orig[i]));
		seed = seed * 1103515245u + 12345u;
		orig[i].acquisitions = (seed >> 16) % 5; /* many ties */
		orig[i].hold.total = ((seed >> 8) % 4) * 100;
		orig[i].hold.count = orig[i].acquisitions;
		orig[i].hold.max = (seed >> 4) % 3;
		orig[i].ckey = i; /* identifies the entry */
	}
	for (int key = 0; key < KLT_SORT_MAX_KEY; key++) {
		assert_int_equal(klt_stats_order(orig, N, key, idx), 0);
		memcpy(sorted, orig, sizeof(orig));
		klt_stats_sort(sorted, N, key);
		for (size_t i = 0; i < N; i++) {
			assert_memory_equal(&sorted[i], &orig[idx[i]], sizeof(sorted[i]));
			if (i) {
				/* a tie (the pair reversed stays reversed): input order kept */
				struct klt_stat two[2] = { sorted[i], sorted[i - 1] };

				klt_stats_sort(two, 2, key);
				if (two[0].ckey == sorted[i].ckey)
					assert_true(sorted[i - 1].ckey < sorted[i].ckey);
			}
		}
	}
}

static const char *two_paths =
	"@sym 0x400000 T main size=0x100\n"
	"@sym 0x401000 T path_one size=0x100\n"
	"@sym 0x402000 T path_two size=0x100\n"
	"@sym 0x403000 T mutex_lock size=0x100\n"
	"1000 7/worker attempt lock_a mutex at=path_one+0x10 stack=mutex_lock+0x5;path_one+0x10;main+0x20\n"
	"1300 7/worker acquired lock_a mutex at=path_one+0x10 stack=mutex_lock+0x5;path_one+0x10;main+0x20\n"
	"3300 7/worker unlock lock_a\n"
	"4000 8/other lock lock_b mutex at=path_two+0x10 stack=mutex_lock+0x5;path_two+0x10;main+0x30\n"
	"4500 8/other unlock lock_b\n"
	"5000 7/worker attempt lock_a mutex at=path_one+0x10 stack=mutex_lock+0x5;path_one+0x10;main+0x20\n"
	"5100 7/worker acquired lock_a mutex at=path_one+0x10 stack=mutex_lock+0x5;path_one+0x10;main+0x20\n"
	"6100 7/worker unlock lock_a\n"
	"7000 7/worker lock lock_b mutex\n"; /* never released: no hold sample */

static void test_samples(void **state)
{
	struct fx *f = load(two_paths);
	struct klt_sample_opts o = { .weight = KLT_WEIGHT_HOLD };
	struct klt_sample_iter *it;
	struct klt_sample sm;
	uint64_t total = 0;
	int n = 0;

	(void)state;
	it = klt_samples_begin(&f->v, &f->s, &o);
	assert_non_null(it);
	assert_int_equal(klt_samples_next(it, &sm), 1);
	assert_int_equal(sm.pid, 7);
	assert_int_equal(sm.tid, 7);
	assert_string_equal(sm.comm, "worker");
	assert_string_equal(sm.lock, "lock_a");
	assert_int_equal(sm.time, 1300);
	assert_int_equal(sm.period, 2000);
	assert_int_equal(sm.nframes, 3);
	assert_string_equal(sm.frames[0], "mutex_lock+0x5"); /* innermost first */
	assert_string_equal(sm.frames[1], "path_one+0x10");
	assert_string_equal(sm.funcs[2], "main");
	assert_int_equal(sm.addrs[1], 0x401010);
	assert_false(sm.kernel);
	total = sm.period;
	n = 1;
	while (klt_samples_next(it, &sm) == 1) {
		total += sm.period;
		n++;
	}
	klt_samples_end(it);
	assert_int_equal(n, 3);
	assert_int_equal(total, 2000 + 500 + 1000);

	o.weight = KLT_WEIGHT_WAIT;
	it = klt_samples_begin(&f->v, &f->s, &o);
	for (n = 0, total = 0; klt_samples_next(it, &sm) == 1; n++)
		total += sm.period;
	klt_samples_end(it);
	assert_int_equal(n, 4); /* 2 attempts, 2 `lock` (wait 0) */
	assert_int_equal(total, 300 + 100);

	o.weight = KLT_WEIGHT_COUNT;
	o.lock_glob = "lock_b";
	it = klt_samples_begin(&f->v, &f->s, &o);
	for (n = 0; klt_samples_next(it, &sm) == 1; n++) {
		assert_string_equal(sm.lock, "lock_b");
		assert_int_equal(sm.period, 1);
	}
	klt_samples_end(it);
	assert_int_equal(n, 2);
	assert_int_equal(klt_weight_from_name("wait"), KLT_WEIGHT_WAIT);
	assert_int_equal(klt_weight_from_name("x"), -1);
	unload(f);
}

/* fentry stacks begin in the tracer's trampoline and program: samples start at the caller */
static void test_samples_skip_tracer_frames(void **state)
{
	struct fx *f = load("@sym 0xffffffffa1000000 T bpf_prog_4a1b_fentry_mutex_lock size=0x100\n"
			    "@sym 0xffffffffa2000000 T bpf_trampoline_6442466588 size=0x100\n"
			    "@sym 0xffffffff81100000 T mutex_lock size=0x100\n"
			    "@sym 0xffffffff81200000 T kvm_vm_ioctl size=0x100\n"
			    "100 1/a lock m mutex stack=bpf_prog_4a1b_fentry_mutex_lock+0x40;"
			    "bpf_trampoline_6442466588+0x60;mutex_lock+0x5;kvm_vm_ioctl+0x10\n"
			    "200 1/a unlock m\n");
	struct klt_sample_opts o = { .weight = KLT_WEIGHT_COUNT };
	struct klt_sample_iter *it = klt_samples_begin(&f->v, &f->s, &o);
	struct klt_sample sm;

	(void)state;
	assert_int_equal(klt_samples_next(it, &sm), 1);
	assert_int_equal(sm.nframes, 2);
	assert_string_equal(sm.funcs[0], "mutex_lock");
	assert_string_equal(sm.funcs[1], "kvm_vm_ioctl");
	assert_int_equal(sm.addrs[0], 0xffffffff81100005ull);
	assert_true(sm.kernel);
	assert_int_equal(klt_samples_next(it, &sm), 0);
	klt_samples_end(it);
	unload(f);
}

static char *render(int (*fn)(FILE *, const struct klt_view *, const struct klt_sample_opts *),
		    struct fx *f, const struct klt_sample_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(fn(m, &f->v, o), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static void test_folded(void **state)
{
	struct fx *f = load(two_paths);
	struct klt_sample_opts o = { .weight = KLT_WEIGHT_HOLD };
	char *s;

	(void)state;
	s = render(klt_render_folded, f, &o);
	/* identical stacks summed, outermost frame first, the lock as leaf */
	assert_string_equal(s, "other;main;path_two;mutex_lock;lock_b 500\n"
			       "worker;main;path_one;mutex_lock;lock_a 3000\n");
	free(s);
	o.weight = KLT_WEIGHT_COUNT;
	s = render(klt_render_folded, f, &o);
	assert_string_equal(s, "other;main;path_two;mutex_lock;lock_b 1\n"
			       "worker;lock_b 1\n"
			       "worker;main;path_one;mutex_lock;lock_a 2\n");
	free(s);
	unload(f);
}

static void test_perf_script(void **state)
{
	struct fx *f = load(two_paths);
	struct klt_sample_opts o = { .weight = KLT_WEIGHT_HOLD };
	char *s;

	(void)state;
	s = render(klt_render_perf_script, f, &o);
	assert_non_null(strstr(s, "worker      7/7      [000] 0.000001:       2000 lock:hold:\n"
				  "\tffffffffa0000000 lock_a ([lock])\n"
				  "\t          403005 mutex_lock+0x5 ([unknown])\n"
				  "\t          401010 path_one+0x10 ([unknown])\n"
				  "\t          400020 main+0x20 ([unknown])\n\n"));
	assert_non_null(strstr(s, "other      8/8      [000] 0.000004:        500 lock:hold:\n"));
	/* one blank line between samples, none doubled, ends with one */
	assert_null(strstr(s, "\n\n\n"));
	assert_int_equal(s[strlen(s) - 1], '\n');
	free(s);
	unload(f);
}

static void test_chrome(void **state)
{
	struct fx *f = load(two_paths);
	json_object *root, *evs, *e;
	int nx = 0, nwait = 0, nmeta = 0;
	char *s;

	(void)state;
	s = render(klt_render_chrome, f, NULL);
	root = json_tokener_parse(s);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "traceEvents", &evs));
	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		json_object *ph, *name, *dur, *ts, *cat;

		e = json_object_array_get_idx(evs, i);
		assert_true(json_object_object_get_ex(e, "ph", &ph));
		if (!strcmp(json_object_get_string(ph), "M")) {
			nmeta++;
			continue;
		}
		assert_string_equal(json_object_get_string(ph), "X");
		assert_true(json_object_object_get_ex(e, "name", &name));
		assert_true(json_object_object_get_ex(e, "dur", &dur));
		assert_true(json_object_object_get_ex(e, "ts", &ts));
		assert_true(json_object_object_get_ex(e, "cat", &cat));
		if (!strcmp(json_object_get_string(cat), "wait")) {
			nwait++;
			continue;
		}
		nx++;
		if (nx == 1) {
			/* first hold: lock_a acquired at 1300 = t0, 2 us */
			assert_string_equal(json_object_get_string(name), "lock_a");
			assert_true(json_object_get_double(ts) == 0.0);
			assert_true(json_object_get_double(dur) == 2.0);
		}
	}
	assert_int_equal(nx, 3);
	assert_int_equal(nwait, 0); /* waits are args of the hold slices */
	assert_int_equal(nmeta, 4); /* thread_name and process_name for tids 7 and 8 */
	json_object_put(root);
	free(s);
	unload(f);
}

static void test_stats_table(void **state)
{
	struct fx *f = load(two_paths);
	struct klt_stats_opts o = { .sort = KLT_SORT_HOLD, .top = 1, .stack_rows = 3, .hist = true };
	char *buf = NULL, *line;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(klt_render_stats(m, &f->v, &o), 0);
	fclose(m);
	assert_non_null(strstr(buf, "2 classes, 4 acquisitions, by hold (1 shown)"));
	assert_non_null(strstr(buf, "\nlock_a                           2     0     200ns     300ns    1.50us    2.00us\n"));
	assert_non_null(strstr(buf, "\n  path_one+0x10 "));
	assert_null(strstr(buf, "\nlock_b"));
	assert_non_null(strstr(buf, "hold (ns): count 2, total 3000, max 2000"));
	assert_non_null(strstr(buf, "(1 holds open at task exit"));
	/* every line of the table fits 80 columns */
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		assert_true(strlen(line) <= 80);
	free(buf);
	unload(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_and_hold),
		cmocka_unit_test(test_hist_edges),
		cmocka_unit_test(test_try_contention_srcu_hotplug),
		cmocka_unit_test(test_open_unmatched_out_of_order),
		cmocka_unit_test(test_pairing_rules),
		cmocka_unit_test(test_classes_and_stacks),
		cmocka_unit_test(test_sort_keys),
		cmocka_unit_test(test_order_matches_sort),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_samples_skip_tracer_frames),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_perf_script),
		cmocka_unit_test(test_chrome),
		cmocka_unit_test(test_stats_table),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
