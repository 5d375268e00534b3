// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Growth and freeing of the containers (container.h); lookups are inline there. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

int klt_vec_reserve(void **p, size_t *cap, size_t need, size_t elsz)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elsz);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

int klt_hmap_reserve(struct klt_hmap *m, uint32_t extra)
{
	size_t cap = m->s ? (size_t)m->mask + 1 : 0, ncap, i;
	struct klt_hmap nm;

	if (((size_t)m->n + extra) * 4 <= cap * 3)
		return 0;
	ncap = cap ? cap * 2 : 64;
	while (((size_t)m->n + extra) * 4 > ncap * 3)
		ncap *= 2;
	if (ncap > (1ULL << 31))
		return -ENOMEM;
	nm.s = malloc(ncap * sizeof(*nm.s));
	if (!nm.s)
		return -ENOMEM;
	for (i = 0; i < ncap; i++)
		nm.s[i].val = KLT_NIL;
	nm.mask = ncap - 1;
	nm.n = 0;
	for (i = 0; i < cap; i++)
		if (m->s[i].val != KLT_NIL)
			klt_hmap_put(&nm, m->s[i].k1, m->s[i].k2, m->s[i].val);
	free(m->s);
	*m = nm;
	return 0;
}

void klt_hmap_free(struct klt_hmap *m)
{
	free(m->s);
	memset(m, 0, sizeof(*m));
}

/*
 * Growth re-inserts the indices in increasing order, not in slot order: the caller's keys are
 * then read front to back (a table of a million symbols rehashes from memory, not from cache
 * misses), and among equal keys the lowest index stays the one found first.
 */
int klt_iset_reserve(struct klt_iset *m, uint32_t extra, klt_iset_hash_fn hash, const void *ctx)
{
	size_t cap = m->s ? (size_t)m->mask + 1 : 0, ncap, i;
	uint64_t *present = NULL;
	uint32_t hi = 0;
	struct klt_iset nm;

	if (((size_t)m->n + extra) * 2 <= cap)
		return 0;
	ncap = cap ? cap * 2 : 64;
	while (((size_t)m->n + extra) * 2 > ncap)
		ncap *= 2;
	if (ncap > (1ULL << 31))
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		if (m->s[i] > hi)
			hi = m->s[i]; /* the highest index + 1 */
	nm.s = calloc(ncap, sizeof(*nm.s));
	present = calloc((size_t)hi / 64 + 1, sizeof(*present));
	if (!nm.s || !present) {
		free(nm.s);
		free(present);
		return -ENOMEM;
	}
	for (i = 0; i < cap; i++)
		if (m->s[i])
			present[(m->s[i] - 1) / 64] |= 1ULL << ((m->s[i] - 1) % 64);
	nm.mask = ncap - 1;
	nm.n = 0;
	for (i = 0; i < hi; i++)
		if (present[i / 64] >> (i % 64) & 1)
			klt_iset_put(&nm, hash(ctx, (uint32_t)i), (uint32_t)i);
	free(present);
	free(m->s);
	*m = nm;
	return 0;
}

void klt_iset_free(struct klt_iset *m)
{
	free(m->s);
	memset(m, 0, sizeof(*m));
}

bool klt_seqset_has(const struct klt_seqset *ss, const uint32_t *v, uint32_t n, uint64_t h)
{
	size_t i;

	if (!ss->cap)
		return false;
	for (i = h & (ss->cap - 1); ss->s[i].len; i = (i + 1) & (ss->cap - 1)) {
		const struct klt_sslot *sl = &ss->s[i];

		if (sl->h == h && sl->len == n && !memcmp(ss->pool + sl->off, v, n * sizeof(*v)))
			return true;
	}
	return false;
}

int klt_seqset_reserve(struct klt_seqset *ss, uint32_t n)
{
	struct klt_sslot *ns;
	size_t ncap, i, j;

	if (klt_vec_reserve((void **)&ss->pool, &ss->cappool, ss->npool + n, sizeof(*ss->pool)))
		return -ENOMEM;
	if ((ss->n + 1) * 2 <= ss->cap)
		return 0;
	ncap = ss->cap ? ss->cap * 2 : 16;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < ss->cap; i++) {
		if (!ss->s[i].len)
			continue;
		for (j = ss->s[i].h & (ncap - 1); ns[j].len; j = (j + 1) & (ncap - 1))
			;
		ns[j] = ss->s[i];
	}
	free(ss->s);
	ss->s = ns;
	ss->cap = ncap;
	return 0;
}

void klt_seqset_put(struct klt_seqset *ss, const uint32_t *v, uint32_t n, uint64_t h)
{
	size_t i;

	for (i = h & (ss->cap - 1); ss->s[i].len; i = (i + 1) & (ss->cap - 1))
		;
	memcpy(ss->pool + ss->npool, v, n * sizeof(*v));
	ss->s[i].h = h;
	ss->s[i].off = ss->npool;
	ss->s[i].len = n;
	ss->npool += n;
	ss->n++;
}

void klt_seqset_free(struct klt_seqset *ss)
{
	free(ss->s);
	free(ss->pool);
	memset(ss, 0, sizeof(*ss));
}
