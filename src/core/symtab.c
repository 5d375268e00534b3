// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbol table: addresses <-> names. Pure C (no stdio, no I/O).
 *
 * Symbols live in an insertion-ordered array (indexes never change, so the hashes can store
 * them); an address-ordered index and a FUNC-only index are rebuilt lazily on the first ordered
 * query after additions. Exact and by-name lookups go through hashes and never force a sort, so
 * a parser that alternates "add" and "exact" stays linear.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "symtab.h"

#define SYM_LAST_FUNC_SPAN (1ull << 20) /* a sizeless last FUNC covers at most 1 MiB */

struct sym_ref {
	uint64_t addr;
	uint32_t idx;
	char type;
};

struct klt_symtab {
	struct klt_sym *syms; /* insertion order */
	size_t n, cap;
	/* lazily built: all symbols by (addr, type, idx), FUNC symbols by (addr, idx) */
	struct sym_ref *order;
	uint32_t *funcs;
	size_t nfuncs;
	size_t sorted_n; /* n when order/funcs were built */
	struct klt_iset by_addr; /* key (addr, type) */
	struct klt_iset by_name; /* key (name, type): first one wins */
};

/* The keys live in syms[]: the sets hold indices, hashed and compared here. */
static uint64_t hash_addr(uint64_t addr, char type)
{
	return klt_hash2(addr, (unsigned char)type);
}

static uint64_t hash_name(const char *name, char type)
{
	return klt_hash2(klt_fnv1a64_str(name), (unsigned char)type);
}

static uint64_t rehash_addr(const void *ctx, uint32_t idx)
{
	const struct klt_sym *s = &((const struct klt_symtab *)ctx)->syms[idx];

	return hash_addr(s->addr, s->type);
}

static uint64_t rehash_name(const void *ctx, uint32_t idx)
{
	const struct klt_sym *s = &((const struct klt_symtab *)ctx)->syms[idx];

	return hash_name(s->name, s->type);
}

struct sym_key {
	const struct klt_symtab *st;
	uint64_t addr;
	const char *name;
	char type;
};

static bool addr_eq(const void *ctx, uint32_t idx)
{
	const struct sym_key *k = ctx;
	const struct klt_sym *s = &k->st->syms[idx];

	return s->addr == k->addr && s->type == k->type;
}

static bool name_eq(const void *ctx, uint32_t idx)
{
	const struct sym_key *k = ctx;
	const struct klt_sym *s = &k->st->syms[idx];

	return s->type == k->type && !strcmp(s->name, k->name);
}

static const struct klt_sym *find_name(const struct klt_symtab *st, const char *name, uint64_t h,
				       char type)
{
	struct sym_key k = { .st = st, .name = name, .type = type };
	uint32_t idx = klt_iset_find(&st->by_name, h, name_eq, &k);

	return idx == KLT_NIL ? NULL : &st->syms[idx];
}

struct klt_symtab *klt_symtab_new(void)
{
	return calloc(1, sizeof(struct klt_symtab));
}

void klt_symtab_free(struct klt_symtab *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->n; i++) {
		free((char *)st->syms[i].name);
		free((char *)st->syms[i].module);
	}
	free(st->syms);
	free(st->order);
	free(st->funcs);
	klt_iset_free(&st->by_addr);
	klt_iset_free(&st->by_name);
	free(st);
}

size_t klt_symtab_count(const struct klt_symtab *st)
{
	return st ? st->n : 0;
}

static const struct klt_sym *find_exact(const struct klt_symtab *st, uint64_t addr, char type)
{
	struct sym_key k = { .st = st, .addr = addr, .type = type };
	uint32_t idx;

	if (!st)
		return NULL;
	idx = klt_iset_find(&st->by_addr, hash_addr(addr, type), addr_eq, &k);
	return idx == KLT_NIL ? NULL : &st->syms[idx];
}

int klt_symtab_add(struct klt_symtab *st, uint64_t addr, uint64_t size, char type, const char *name,
		   const char *module)
{
	struct sym_key k = { .st = st };
	struct klt_sym *s;
	char *n = NULL, *m = NULL;

	if (!st || !name)
		return -EINVAL;
	if (find_exact(st, addr, type))
		return 0;
	if (st->n >= UINT32_MAX - 1)
		return -ENOMEM;
	if (klt_iset_reserve(&st->by_addr, 1, rehash_addr, st) ||
	    klt_iset_reserve(&st->by_name, 1, rehash_name, st) ||
	    klt_vec_reserve((void **)&st->syms, &st->cap, st->n + 1, sizeof(*st->syms)))
		return -ENOMEM;
	n = strdup(name);
	if (module && *module)
		m = strdup(module);
	if (!n || (module && *module && !m)) {
		free(n);
		free(m);
		return -ENOMEM;
	}
	s = &st->syms[st->n];
	s->addr = addr;
	s->size = size;
	s->type = type;
	s->name = n;
	s->module = m;
	klt_iset_put(&st->by_addr, hash_addr(addr, type), st->n);
	k.name = n;
	k.type = type;
	klt_iset_add(&st->by_name, hash_name(n, type), st->n, name_eq, &k);
	st->n++;
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct sym_ref *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Build the ordered indexes if symbols were added since the last build. */
static int ensure_sorted(struct klt_symtab *st)
{
	struct sym_ref *order;
	uint32_t *funcs;
	size_t i, nf = 0;

	if (st->sorted_n == st->n && (st->order || !st->n))
		return 0;
	order = malloc((st->n ? st->n : 1) * sizeof(*order));
	funcs = malloc((st->n ? st->n : 1) * sizeof(*funcs));
	if (!order || !funcs) {
		free(order);
		free(funcs);
		return -ENOMEM;
	}
	for (i = 0; i < st->n; i++) {
		order[i].addr = st->syms[i].addr;
		order[i].type = st->syms[i].type;
		order[i].idx = i;
	}
	qsort(order, st->n, sizeof(*order), cmp_ref);
	for (i = 0; i < st->n; i++)
		if (order[i].type == KLT_SYM_FUNC)
			funcs[nf++] = order[i].idx;
	free(st->order);
	free(st->funcs);
	st->order = order;
	st->funcs = funcs;
	st->nfuncs = nf;
	st->sorted_n = st->n;
	return 0;
}

const struct klt_sym *klt_symtab_at(struct klt_symtab *st, size_t i)
{
	if (!st || i >= st->n || ensure_sorted(st))
		return NULL;
	return &st->syms[st->order[i].idx];
}

const struct klt_sym *klt_symtab_exact(struct klt_symtab *st, uint64_t addr, char type)
{
	return find_exact(st, addr, type);
}

static bool same_module(const struct klt_sym *a, const struct klt_sym *b)
{
	if (!a->module || !b->module)
		return a->module == b->module;
	return !strcmp(a->module, b->module);
}

const struct klt_sym *klt_symtab_lookup(struct klt_symtab *st, uint64_t addr, uint64_t *off)
{
	const struct klt_sym *s;
	size_t lo = 0, hi, j;

	if (!st || !st->n || ensure_sorted(st) || !st->nfuncs)
		return NULL;
	/* hi = number of FUNC symbols at or below addr */
	hi = st->nfuncs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->syms[st->funcs[mid]].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	j = lo - 1;
	/* aliases at one address: the first added one names it */
	while (j > 0 && st->syms[st->funcs[j - 1]].addr == st->syms[st->funcs[j]].addr)
		j--;
	s = &st->syms[st->funcs[j]];
	if (s->size) {
		if (addr - s->addr >= s->size)
			return NULL;
	} else if ((lo == st->nfuncs || !same_module(s, &st->syms[st->funcs[lo]])) &&
		   addr - s->addr >= SYM_LAST_FUNC_SPAN) {
		/* nothing after it bounds a sizeless last symbol (of the table, or of its module:
		 * the next symbol is another module's, so the gap is not ours): do not claim it
		 * (a module loaded after kallsyms was read is not ftrace_trampoline+0x21b0) */
		return NULL;
	}
	if (off)
		*off = addr - s->addr;
	return s;
}

const struct klt_sym *klt_symtab_by_name(struct klt_symtab *st, const char *name, char type)
{
	if (!st || !name)
		return NULL;
	return find_name(st, name, hash_name(name, type), type);
}

/* Bounded string builder: always NUL-terminated, silently truncates. */
struct sbuf {
	char *p;
	size_t len, pos;
};

static void sb_puts(struct sbuf *b, const char *s)
{
	while (*s && b->pos + 1 < b->len)
		b->p[b->pos++] = *s++;
	b->p[b->pos] = '\0';
}

static void sb_hex(struct sbuf *b, uint64_t v)
{
	char tmp[19];
	int i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	sb_puts(b, tmp + i);
}

const char *klt_symtab_fmt(struct klt_symtab *st, uint64_t addr, char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };
	const struct klt_sym *s;
	uint64_t off = 0;

	if (!buf || !len)
		return buf;
	buf[0] = '\0';
	s = klt_symtab_lookup(st, addr, &off);
	if (!s) {
		/* a static lock or an explicit class is named by its exact address */
		s = klt_symtab_exact(st, addr, KLT_SYM_DATA);
		if (!s)
			s = klt_symtab_exact(st, addr, KLT_SYM_CLASS);
		off = 0;
	}
	if (!s) {
		sb_hex(&b, addr);
		return buf;
	}
	sb_puts(&b, s->name);
	if (off) {
		sb_puts(&b, "+");
		sb_hex(&b, off);
	}
	if (s->module) {
		sb_puts(&b, " [");
		sb_puts(&b, s->module);
		sb_puts(&b, "]");
	}
	return buf;
}
