// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the held-lock pairing pass (src/core/held.{h,c}) under the engine's and the
 * statistics' rules (docs/engine.md, "Held-lock pairing"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "held.h"
#include "klt_abi.h"

struct rec {
	struct klt_htask h;
	int extra;
};

static const struct klt_pair_rules engine_rules = {
	.max_depth = 4, .srcu_ends_attempt = true,
};
static const struct klt_pair_rules stats_rules = {
	.release_by_srcu = true, .try_fail_ends_attempt = true,
};

static struct klt_held hold(uint64_t addr, uint32_t ref, bool srcu)
{
	struct klt_held h = { .addr = addr, .ts = ref * 100, .ref = ref, .srcu = srcu };

	return h;
}

static void test_tasks(void **state)
{
	struct klt_pairing p;
	struct klt_htask *t;

	(void)state;
	klt_pair_init(&p, &stats_rules, sizeof(struct rec));
	assert_null(klt_pair_find(&p, 7));
	for (uint32_t tid = 1; tid <= 1000; tid++) {
		t = klt_pair_add(&p, tid);
		assert_non_null(t);
		assert_int_equal(t->tid, tid);
		assert_int_equal(((struct rec *)t)->extra, 0);
		assert_false(t->pend_valid);
		((struct rec *)t)->extra = (int)tid;
	}
	for (uint32_t tid = 1000; tid >= 1; tid--) {
		t = klt_pair_find(&p, tid);
		assert_non_null(t);
		assert_int_equal(((struct rec *)t)->extra, (int)tid);
		/* the last task is cached */
		assert_ptr_equal(klt_pair_find(&p, tid), t);
	}
	assert_null(klt_pair_find(&p, 1001));
	assert_int_equal(p.ntasks, 1000);
	klt_pair_free(&p);
}

/* Unbounded: the stack grows; a release pairs with the most recent hold of its sort. */
static void test_stats_rules(void **state)
{
	struct klt_pairing p;
	struct klt_htask *t;
	struct klt_held out, h;

	(void)state;
	klt_pair_init(&p, &stats_rules, sizeof(struct klt_htask));
	t = klt_pair_add(&p, 1);
	for (uint32_t i = 0; i < 100; i++) {
		h = hold(0x1000 + i, i, false);
		assert_int_equal(klt_pair_push(&p, t, &h), 0);
	}
	h = hold(0x1000, 100, true); /* an SRCU read section at a lock's address */
	assert_int_equal(klt_pair_push(&p, t, &h), 0);
	assert_int_equal(t->depth, 101);
	assert_int_equal(klt_pair_release(&p, t, 0x1000, false, &out), KLT_REL_MATCHED);
	assert_int_equal(out.ref, 0);
	assert_int_equal(klt_pair_release(&p, t, 0x1000, false, &out), KLT_REL_UNMATCHED);
	assert_int_equal(klt_pair_release(&p, t, 0x1000, true, &out), KLT_REL_MATCHED);
	assert_int_equal(out.ref, 100);
	assert_int_equal(t->depth, 99);
	/* the stack keeps its order around a release from the middle */
	assert_int_equal(klt_pair_release(&p, t, 0x1000 + 50, false, &out), KLT_REL_MATCHED);
	assert_int_equal(t->held[48].ref, 49);
	assert_int_equal(t->held[49].ref, 51);
	/* attempts: TRY_FAIL of the pending lock ends one, SRCU does not */
	klt_pair_attempt(t, 0x2000, 5, KLT_NIL);
	klt_pair_after_acquire(&p, t, KLT_EV_SRCU_READ_LOCK, 0x3000);
	klt_pair_after_acquire(&p, t, KLT_EV_SRCU_SYNC, 0x3000);
	klt_pair_after_acquire(&p, t, KLT_EV_TRY_FAIL, 0x2001);
	assert_true(klt_pair_pending(t, 0x2000));
	assert_false(klt_pair_pending(t, 0x2001));
	klt_pair_after_acquire(&p, t, KLT_EV_TRY_FAIL, 0x2000);
	assert_false(klt_pair_pending(t, 0x2000));
	klt_pair_exit(t);
	assert_int_equal(t->depth, 0);
	klt_pair_free(&p);
}

/* Bounded: pushes beyond max_depth are dropped and their releases are not unmatched. */
static void test_engine_rules(void **state)
{
	struct klt_pairing p;
	struct klt_htask *t;
	struct klt_held out, h;

	(void)state;
	klt_pair_init(&p, &engine_rules, sizeof(struct rec));
	t = klt_pair_add(&p, 1);
	h = hold(0x1000, 0, true); /* SRCU read section */
	assert_int_equal(klt_pair_push(&p, t, &h), 0);
	for (uint32_t i = 1; i < 6; i++) {
		h = hold(0x1000 + i, i, false);
		assert_int_equal(klt_pair_push(&p, t, &h), i < 4 ? 0 : 1);
	}
	assert_int_equal(t->depth, 4);
	assert_int_equal(t->lost, 2);
	/* by address alone: a RELEASE pops the SRCU read section */
	assert_int_equal(klt_pair_release(&p, t, 0x1000, false, &out), KLT_REL_MATCHED);
	assert_int_equal(out.ref, 0);
	assert_int_equal(klt_pair_release(&p, t, 0x1005, false, &out), KLT_REL_LOST);
	assert_int_equal(klt_pair_release(&p, t, 0x1004, false, &out), KLT_REL_LOST);
	assert_int_equal(klt_pair_release(&p, t, 0x1009, false, &out), KLT_REL_UNMATCHED);
	assert_int_equal(t->depth, 3);
	/* attempts: SRCU ends one, TRY_FAIL does not */
	klt_pair_attempt(t, 0x2000, 5, 9);
	klt_pair_after_acquire(&p, t, KLT_EV_TRY_FAIL, 0x2000);
	assert_true(klt_pair_pending(t, 0x2000));
	assert_int_equal(t->pend_ref, 9);
	klt_pair_after_acquire(&p, t, KLT_EV_SRCU_READ_LOCK, 0x3000);
	assert_false(klt_pair_pending(t, 0x2000));
	klt_pair_attempt(t, 0x2000, 6, 9);
	klt_pair_after_acquire(&p, t, KLT_EV_ACQUIRED, 0x2000);
	assert_false(klt_pair_pending(t, 0x2000));
	h = hold(0x1006, 6, false);
	assert_int_equal(klt_pair_push(&p, t, &h), 0);
	assert_int_equal(klt_pair_push(&p, t, &h), 1);
	klt_pair_exit(t);
	assert_int_equal(t->depth, 0);
	assert_int_equal(t->lost, 0);
	klt_pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tasks),
		cmocka_unit_test(test_stats_rules),
		cmocka_unit_test(test_engine_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
