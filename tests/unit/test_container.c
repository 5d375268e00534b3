// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for src/core/container.{h,c}: hashes, vector, (k1, k2) -> u32 map, sequence set. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "container.h"

static void test_hashes(void **state)
{
	uint64_t a[3] = { 1, 2, 3 }, b[3] = { 3, 2, 1 };
	uint32_t c[3] = { 1, 2, 3 };

	(void)state;
	assert_int_equal(klt_mix64(0), 0);
	assert_true(klt_mix64(1) != klt_mix64(2));
	assert_true(klt_hash2(1, 0) != klt_hash2(1, 1));
	/* order matters, and so does the length */
	assert_true(klt_hash_seq64(a, 3) != klt_hash_seq64(b, 3));
	assert_true(klt_hash_seq64(a, 2) != klt_hash_seq64(a, 3));
	assert_true(klt_hash_seq32(c, 3) != klt_hash_seq32(c, 2));
	/* reference values of FNV-1a */
	assert_int_equal(klt_fnv1a32(""), 2166136261u);
	assert_int_equal(klt_fnv1a32("a"), 0xe40c292cu);
	assert_true(klt_fnv1a64("", 0) == 14695981039346656037ULL);
	assert_true(klt_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
}

static void test_vec(void **state)
{
	uint64_t *v = NULL;
	size_t cap = 0, i;

	(void)state;
	assert_int_equal(klt_vec_reserve((void **)&v, &cap, 0, sizeof(*v)), 0);
	assert_null(v);
	assert_int_equal(klt_vec_reserve((void **)&v, &cap, 1, sizeof(*v)), 0);
	assert_int_equal(cap, 16);
	assert_int_equal(klt_vec_reserve((void **)&v, &cap, 17, sizeof(*v)), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(klt_vec_reserve((void **)&v, &cap, 1000, sizeof(*v)), 0);
	assert_int_equal(cap, 1024);
	for (i = 0; i < 1000; i++)
		v[i] = i;
	assert_int_equal(klt_vec_reserve((void **)&v, &cap, 10, sizeof(*v)), 0);
	assert_int_equal(cap, 1024);
	assert_int_equal(v[999], 999);
	free(v);
}

static void test_hmap(void **state)
{
	struct klt_hmap m = { 0 };
	uint32_t i, *ref;

	(void)state;
	assert_int_equal(klt_hmap_find(&m, 1, 2), KLT_NIL);
	assert_null(klt_hmap_ref(&m, 1, 2));
	for (i = 0; i < 10000; i++) {
		assert_int_equal(klt_hmap_reserve(&m, 1), 0);
		klt_hmap_put(&m, (uint64_t)i << 40 | i, i & 3, i);
	}
	assert_int_equal(m.n, 10000);
	/* at most 3/4 full */
	assert_true((uint64_t)m.n * 4 <= ((uint64_t)m.mask + 1) * 3);
	for (i = 0; i < 10000; i++) {
		assert_int_equal(klt_hmap_find(&m, (uint64_t)i << 40 | i, i & 3), i);
		/* k2 is part of the key */
		assert_int_equal(klt_hmap_find(&m, (uint64_t)i << 40 | i, (i & 3) ^ 1), KLT_NIL);
	}
	ref = klt_hmap_ref(&m, 5ull << 40 | 5, 1);
	assert_non_null(ref);
	*ref = 77;
	assert_int_equal(klt_hmap_find(&m, 5ull << 40 | 5, 1), 77);
	assert_int_equal(m.n, 10000);
	klt_hmap_free(&m);
	assert_null(m.s);
	assert_int_equal(m.n, 0);
	assert_int_equal(klt_hmap_find(&m, 0, 0), KLT_NIL);
}

static void test_hmap_reserve_ahead(void **state)
{
	struct klt_hmap m = { 0 };
	void *s;
	uint32_t i;

	(void)state;
	/* room made once for many keys: no growth while they go in */
	assert_int_equal(klt_hmap_reserve(&m, 1000), 0);
	s = m.s;
	for (i = 0; i < 1000; i++)
		klt_hmap_put(&m, i, 0, i);
	assert_ptr_equal(m.s, s);
	assert_int_equal(klt_hmap_reserve(&m, 0), 0);
	assert_ptr_equal(m.s, s);
	for (i = 0; i < 1000; i++)
		assert_int_equal(klt_hmap_find(&m, i, 0), i);
	klt_hmap_free(&m);
}

/* find_eq: keys are strings held by the caller, (k1, k2) only their hash and length */
struct strs {
	const char *const *v;
	const char *want;
};

static bool str_eq(const void *ctx, uint32_t val)
{
	const struct strs *k = ctx;

	return !strcmp(k->v[val], k->want);
}

static void test_hmap_find_eq(void **state)
{
	static const char *const names[] = { "alpha", "beta", "gamma", "beta" };
	struct klt_hmap m = { 0 };
	struct strs k = { names, NULL };
	uint32_t i;

	(void)state;
	assert_int_equal(klt_hmap_find_eq(&m, 0, 0, str_eq, &k), KLT_NIL);
	for (i = 0; i < 4; i++) {
		assert_int_equal(klt_hmap_reserve(&m, 1), 0);
		/* one shared (k1, k2) for all: only eq tells them apart */
		klt_hmap_put(&m, 42, 7, i);
	}
	for (i = 0; i < 3; i++) {
		k.want = names[i];
		assert_int_equal(klt_hmap_find_eq(&m, 42, 7, str_eq, &k), i);
	}
	/* the first one put wins among equal keys */
	k.want = "beta";
	assert_int_equal(klt_hmap_find_eq(&m, 42, 7, str_eq, &k), 1);
	k.want = "delta";
	assert_int_equal(klt_hmap_find_eq(&m, 42, 7, str_eq, &k), KLT_NIL);
	k.want = "alpha";
	assert_int_equal(klt_hmap_find_eq(&m, 42, 8, str_eq, &k), KLT_NIL);
	klt_hmap_free(&m);
}

static void test_seqset(void **state)
{
	struct klt_seqset ss = { 0 };
	uint32_t v[64];
	uint32_t i, n;

	(void)state;
	for (i = 0; i < 64; i++)
		v[i] = i * 7;
	assert_false(klt_seqset_has(&ss, v, 3, klt_hash_seq32(v, 3)));
	for (n = 1; n <= 64; n++) {
		uint64_t h = klt_hash_seq32(v, n);

		assert_false(klt_seqset_has(&ss, v, n, h));
		assert_int_equal(klt_seqset_reserve(&ss, n), 0);
		klt_seqset_put(&ss, v, n, h);
		assert_true(klt_seqset_has(&ss, v, n, h));
	}
	assert_int_equal(ss.n, 64);
	for (n = 1; n <= 64; n++)
		assert_true(klt_seqset_has(&ss, v, n, klt_hash_seq32(v, n)));
	/* same hash and length, other content: not there */
	v[0] = 1;
	assert_false(klt_seqset_has(&ss, v, 2, klt_hash_seq32((uint32_t[]){ 0, 7 }, 2)));
	klt_seqset_free(&ss);
	assert_null(ss.s);
	assert_int_equal(ss.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_vec),
		cmocka_unit_test(test_hmap),
		cmocka_unit_test(test_hmap_reserve_ahead),
		cmocka_unit_test(test_hmap_find_eq),
		cmocka_unit_test(test_seqset),
	};

	return cmocka_run_group_tests_name("container", tests, NULL, NULL);
}
