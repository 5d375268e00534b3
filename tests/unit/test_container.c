// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for src/core/container.{h,c}: hashes, vector, (k1, k2) -> u32 map, index set,
 * sequence set. */
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
	assert_true(klt_fnv1a64_str("") == klt_fnv1a64("", 0));
	assert_true(klt_fnv1a64_str("spin_lock") == klt_fnv1a64("spin_lock", 9));
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
	assert_null(klt_hmap_slot(&m, 1, 2));
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
	/* upsert: a present key's value, in place */
	assert_int_equal(klt_hmap_reserve(&m, 1), 0);
	ref = klt_hmap_upsert(&m, 5ull << 40 | 5, 1, 99);
	assert_int_equal(*ref, 5);
	*ref = 77;
	assert_int_equal(klt_hmap_find(&m, 5ull << 40 | 5, 1), 77);
	assert_int_equal(m.n, 10000);
	/* and an absent one put with the value given */
	ref = klt_hmap_upsert(&m, 1, 9, 123);
	assert_int_equal(*ref, 123);
	assert_int_equal(m.n, 10001);
	assert_int_equal(klt_hmap_find(&m, 1, 9), 123);
	assert_int_equal(klt_hmap_find(&m, 1, 8), KLT_NIL);
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

/* iset: the keys are the caller's (here u64 values by index), the set holds indices */
struct keys {
	const uint64_t *v;
	uint64_t want;
};

static uint64_t key_hash(const void *ctx, uint32_t idx)
{
	return klt_mix64(((const struct keys *)ctx)->v[idx] >> 1); /* pairs collide on purpose */
}

static bool key_eq(const void *ctx, uint32_t idx)
{
	const struct keys *k = ctx;

	return k->v[idx] == k->want;
}

static void test_iset(void **state)
{
	enum { N = 20000 };
	uint64_t *v = malloc(N * sizeof(*v));
	struct klt_iset m = { 0 };
	struct keys k = { v, 0 };
	uint32_t i;

	(void)state;
	assert_non_null(v);
	assert_int_equal(klt_iset_find(&m, 0, key_eq, &k), KLT_NIL);
	for (i = 0; i < N; i++) {
		v[i] = (uint64_t)i * 2 + (i & 1); /* 0, 3, 4, 7, 8, ...: (v >> 1) all differ */
		assert_int_equal(klt_iset_reserve(&m, 1, key_hash, &k), 0);
		klt_iset_put(&m, key_hash(&k, i), i);
	}
	assert_int_equal(m.n, N);
	/* at most half full */
	assert_true((uint64_t)m.n * 2 <= (uint64_t)m.mask + 1);
	for (i = 0; i < N; i++) {
		k.want = v[i];
		assert_int_equal(klt_iset_find(&m, klt_mix64(v[i] >> 1), key_eq, &k), i);
		/* the other key of the same hash is not there */
		k.want = v[i] ^ 1;
		assert_int_equal(klt_iset_find(&m, klt_mix64(v[i] >> 1), key_eq, &k), KLT_NIL);
	}
	/* add: only when no equal key is there */
	assert_int_equal(klt_iset_reserve(&m, 2, key_hash, &k), 0);
	k.want = v[7];
	assert_false(klt_iset_add(&m, key_hash(&k, 7), 7, key_eq, &k));
	assert_int_equal(m.n, N);
	v[N - 1] = 1ULL << 40; /* a new key at an index the set does not hold */
	k.want = v[N - 1];
	klt_iset_free(&m);
	for (i = 0; i < N - 1; i++) {
		assert_int_equal(klt_iset_reserve(&m, 1, key_hash, &k), 0);
		k.want = v[i];
		assert_true(klt_iset_add(&m, key_hash(&k, i), i, key_eq, &k));
	}
	k.want = v[N - 1];
	assert_int_equal(klt_iset_find(&m, key_hash(&k, N - 1), key_eq, &k), KLT_NIL);
	assert_int_equal(klt_iset_reserve(&m, 1, key_hash, &k), 0);
	assert_true(klt_iset_add(&m, key_hash(&k, N - 1), N - 1, key_eq, &k));
	assert_int_equal(klt_iset_find(&m, key_hash(&k, N - 1), key_eq, &k), N - 1);
	assert_int_equal(m.n, N);
	klt_iset_free(&m);
	assert_null(m.s);
	assert_int_equal(m.n, 0);
	free(v);
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
		cmocka_unit_test(test_iset),
		cmocka_unit_test(test_seqset),
	};

	return cmocka_run_group_tests_name("container", tests, NULL, NULL);
}
