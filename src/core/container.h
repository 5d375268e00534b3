/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one container module of the userspace code: hash functions, a growable vector, an
 * open-addressed hash map (k1, k2) -> u32, a compact set of indices into the caller's array
 * and a set of interned u32 sequences. Every file that needs a table uses these
 * (docs/architecture.md); none keeps a private copy.
 *
 * Hot-path rules (the engine's, see lockgraph.c's header): power-of-two tables with linear
 * probing, 16-byte map slots holding the key (four per cache line, a probe never touches the
 * payload), and growth reserved before the caller changes its state, so -ENOMEM leaves a
 * consistent caller behind. Lookups are inline; growth and freeing live in container.c.
 */
#ifndef KLT_CONTAINER_H
#define KLT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KLT_NIL UINT32_MAX /* "no value" of the map and of u32 indices */

/* --- hash functions ------------------------------------------------------------------- */

/* splitmix64's finalizer: every input bit moves every output bit. */
static inline uint64_t klt_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* A 64-bit key and a 32-bit secondary key (the map's hash). */
static inline uint64_t klt_hash2(uint64_t k1, uint32_t k2)
{
	return klt_mix64(k1 ^ (k2 * 0x9e3779b97f4a7c15ULL));
}

/* A sequence of u64 (stack ips) or of u32 (node ids): order matters. */
static inline uint64_t klt_hash_seq64(const uint64_t *v, size_t n)
{
	uint64_t h = n;

	for (size_t i = 0; i < n; i++)
		h = klt_mix64(h ^ v[i]) + i;
	return h;
}

static inline uint64_t klt_hash_seq32(const uint32_t *v, size_t n)
{
	uint64_t h = n;

	for (size_t i = 0; i < n; i++)
		h = klt_mix64(h ^ v[i]) + i;
	return h;
}

/* FNV-1a, 32 bit, of a NUL-terminated string (the BPF side hashes names the same way). */
static inline uint32_t klt_fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* FNV-1a, 64 bit, of a NUL-terminated string: klt_fnv1a64(s, strlen(s)) in one pass. */
static inline uint64_t klt_fnv1a64_str(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* FNV-1a, 64 bit, of n bytes. */
static inline uint64_t klt_fnv1a64(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* --- growable vector ------------------------------------------------------------------ */

/* Grow *p (elements of elsz bytes) so that `need` elements fit: capacity doubles from 16.
 * 0, or -ENOMEM with *p and *cap unchanged. */
int klt_vec_reserve(void **p, size_t *cap, size_t need, size_t elsz);

/* --- hash map (k1, k2) -> u32 --------------------------------------------------------- */

struct klt_hslot {
	uint64_t k1;
	uint32_t k2;
	uint32_t val; /* KLT_NIL: empty */
};

struct klt_hmap {
	struct klt_hslot *s;
	uint32_t mask; /* capacity - 1; capacity is 0 while s is NULL */
	uint32_t n;
};

/* The slot of (k1, k2), or NULL. */
static inline struct klt_hslot *klt_hmap_slot(const struct klt_hmap *m, uint64_t k1, uint32_t k2)
{
	if (!m->s)
		return NULL;
	for (uint32_t i = klt_hash2(k1, k2) & m->mask;; i = (i + 1) & m->mask) {
		struct klt_hslot *sl = &m->s[i];

		if (sl->val == KLT_NIL)
			return NULL;
		if (sl->k1 == k1 && sl->k2 == k2)
			return sl;
	}
}

/* The value of (k1, k2), or KLT_NIL. */
static inline uint32_t klt_hmap_find(const struct klt_hmap *m, uint64_t k1, uint32_t k2)
{
	const struct klt_hslot *sl = klt_hmap_slot(m, k1, k2);

	return sl ? sl->val : KLT_NIL;
}

/* Insert a key known to be absent; room was made by klt_hmap_reserve(). val != KLT_NIL. */
static inline void klt_hmap_put(struct klt_hmap *m, uint64_t k1, uint32_t k2, uint32_t val)
{
	uint32_t i = klt_hash2(k1, k2) & m->mask;

	while (m->s[i].val != KLT_NIL)
		i = (i + 1) & m->mask;
	m->s[i].k1 = k1;
	m->s[i].k2 = k2;
	m->s[i].val = val;
	m->n++;
}

/*
 * A map whose real key is longer than 12 bytes (a string, a stack): (k1, k2) is a hash of it
 * and the caller keeps the keys, indexed by the values. Several values may then share one
 * (k1, k2) (put them with klt_hmap_put); klt_hmap_find_eq returns the first value, in probe
 * order, of that (k1, k2) for which eq(ctx, val) says the caller's key matches, or KLT_NIL.
 */
typedef bool (*klt_hmap_eq_fn)(const void *ctx, uint32_t val);

static inline uint32_t klt_hmap_find_eq(const struct klt_hmap *m, uint64_t k1, uint32_t k2,
					klt_hmap_eq_fn eq, const void *ctx)
{
	if (!m->s)
		return KLT_NIL;
	for (uint32_t i = klt_hash2(k1, k2) & m->mask;; i = (i + 1) & m->mask) {
		const struct klt_hslot *sl = &m->s[i];

		if (sl->val == KLT_NIL)
			return KLT_NIL;
		if (sl->k1 == k1 && sl->k2 == k2 && eq(ctx, sl->val))
			return sl->val;
	}
}

/* Where the value of (k1, k2) is stored; an absent key is put first with value val (room was
 * made by klt_hmap_reserve()). One probe for "update, or insert". val != KLT_NIL. */
static inline uint32_t *klt_hmap_upsert(struct klt_hmap *m, uint64_t k1, uint32_t k2, uint32_t val)
{
	uint32_t i = klt_hash2(k1, k2) & m->mask;

	for (;; i = (i + 1) & m->mask) {
		struct klt_hslot *sl = &m->s[i];

		if (sl->val == KLT_NIL) {
			sl->k1 = k1;
			sl->k2 = k2;
			sl->val = val;
			m->n++;
			return &sl->val;
		}
		if (sl->k1 == k1 && sl->k2 == k2)
			return &sl->val;
	}
}

/* Make room for `extra` more keys at a load factor of at most 3/4. 0 or -ENOMEM. */
int klt_hmap_reserve(struct klt_hmap *m, uint32_t extra);
void klt_hmap_free(struct klt_hmap *m);

/* --- index set: u32 indices into the caller's array --------------------------------- */

/*
 * For large tables whose keys the caller already stores (symbols by address, by name): a slot
 * is only the index + 1 (0: empty), 4 bytes instead of the map's 16, at a load factor of at most
 * 1/2. The caller gives each key's hash (well mixed: klt_mix64, klt_hash2) and tells equal keys
 * apart (eq); growth asks it the hash of every index again.
 */
struct klt_iset {
	uint32_t *s;
	uint32_t mask; /* capacity - 1; capacity is 0 while s is NULL */
	uint32_t n;
};

typedef uint64_t (*klt_iset_hash_fn)(const void *ctx, uint32_t idx);

/* The first index (in probe order; the lowest after a growth) with hash h for which eq(ctx, idx)
 * holds, or KLT_NIL. */
static inline uint32_t klt_iset_find(const struct klt_iset *m, uint64_t h, klt_hmap_eq_fn eq,
				     const void *ctx)
{
	if (!m->s)
		return KLT_NIL;
	for (uint32_t i = h & m->mask; m->s[i]; i = (i + 1) & m->mask)
		if (eq(ctx, m->s[i] - 1))
			return m->s[i] - 1;
	return KLT_NIL;
}

/* Insert idx (< KLT_NIL - 1) under hash h; room was made by klt_iset_reserve(). */
static inline void klt_iset_put(struct klt_iset *m, uint64_t h, uint32_t idx)
{
	uint32_t i = h & m->mask;

	while (m->s[i])
		i = (i + 1) & m->mask;
	m->s[i] = idx + 1;
	m->n++;
}

/* Insert idx under hash h unless an index for which eq(ctx, index) holds is there already (the
 * first one wins): true if inserted. One probe; room was made by klt_iset_reserve(). */
static inline bool klt_iset_add(struct klt_iset *m, uint64_t h, uint32_t idx, klt_hmap_eq_fn eq,
				const void *ctx)
{
	uint32_t i = h & m->mask;

	for (; m->s[i]; i = (i + 1) & m->mask)
		if (eq(ctx, m->s[i] - 1))
			return false;
	m->s[i] = idx + 1;
	m->n++;
	return true;
}

/* Make room for `extra` more indices; hash(ctx, idx) rehashes the present ones. 0 or -ENOMEM. */
int klt_iset_reserve(struct klt_iset *m, uint32_t extra, klt_iset_hash_fn hash, const void *ctx);
void klt_iset_free(struct klt_iset *m);

/* --- set of interned u32 sequences ---------------------------------------------------- */

struct klt_sslot {
	uint64_t h;
	uint32_t off, len; /* len 0: empty */
};

struct klt_seqset {
	struct klt_sslot *s;
	size_t cap, n; /* cap: power of two or 0 */
	uint32_t *pool;
	size_t npool, cappool;
};

/* h is klt_hash_seq32(v, n). */
bool klt_seqset_has(const struct klt_seqset *ss, const uint32_t *v, uint32_t n, uint64_t h);
/* Room for one more sequence of n entries. 0 or -ENOMEM. */
int klt_seqset_reserve(struct klt_seqset *ss, uint32_t n);
/* Add a sequence known to be absent, after klt_seqset_reserve(). */
void klt_seqset_put(struct klt_seqset *ss, const uint32_t *v, uint32_t n, uint64_t h);
void klt_seqset_free(struct klt_seqset *ss);

#endif
