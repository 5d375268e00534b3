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
	/* open addressing, slot = index + 1, 0 = empty; power-of-two sizes, load <= 1/2 */
	uint32_t *by_addr; /* key (addr, type) */
	uint32_t *by_name; /* key (name, type): first one wins */
	size_t hsize;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_addr(uint64_t addr, char type)
{
	return mix64(addr ^ ((uint64_t)(unsigned char)type << 56));
}

static uint64_t hash_name(const char *s, char type)
{
	uint64_t h = 1469598103934665603ull ^ (unsigned char)type;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return mix64(h);
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
	free(st->by_addr);
	free(st->by_name);
	free(st);
}

size_t klt_symtab_count(const struct klt_symtab *st)
{
	return st ? st->n : 0;
}

static void hash_insert_addr(uint32_t *tab, size_t size, const struct klt_sym *syms, uint32_t idx)
{
	size_t mask = size - 1, h = hash_addr(syms[idx].addr, syms[idx].type) & mask;

	while (tab[h])
		h = (h + 1) & mask;
	tab[h] = idx + 1;
}

/* Insert unless a symbol with the same (name, type) is already present: the first one wins. */
static void hash_insert_name(uint32_t *tab, size_t size, const struct klt_sym *syms, uint32_t idx)
{
	size_t mask = size - 1, h = hash_name(syms[idx].name, syms[idx].type) & mask;

	while (tab[h]) {
		const struct klt_sym *o = &syms[tab[h] - 1];

		if (o->type == syms[idx].type && !strcmp(o->name, syms[idx].name))
			return;
		h = (h + 1) & mask;
	}
	tab[h] = idx + 1;
}

static int rehash(struct klt_symtab *st, size_t nsize)
{
	uint32_t *a = calloc(nsize, sizeof(*a)), *b = calloc(nsize, sizeof(*b));
	size_t i;

	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	for (i = 0; i < st->n; i++) {
		hash_insert_addr(a, nsize, st->syms, i);
		hash_insert_name(b, nsize, st->syms, i);
	}
	free(st->by_addr);
	free(st->by_name);
	st->by_addr = a;
	st->by_name = b;
	st->hsize = nsize;
	return 0;
}

static const struct klt_sym *find_exact(const struct klt_symtab *st, uint64_t addr, char type)
{
	size_t mask, h;

	if (!st || !st->hsize)
		return NULL;
	mask = st->hsize - 1;
	for (h = hash_addr(addr, type) & mask; st->by_addr[h]; h = (h + 1) & mask) {
		const struct klt_sym *s = &st->syms[st->by_addr[h] - 1];

		if (s->addr == addr && s->type == type)
			return s;
	}
	return NULL;
}

int klt_symtab_add(struct klt_symtab *st, uint64_t addr, uint64_t size, char type, const char *name,
		   const char *module)
{
	struct klt_sym *s;
	char *n = NULL, *m = NULL;
	int err;

	if (!st || !name)
		return -EINVAL;
	if (find_exact(st, addr, type))
		return 0;
	if (st->n >= UINT32_MAX - 1)
		return -ENOMEM;
	if ((st->n + 1) * 2 > st->hsize) {
		err = rehash(st, st->hsize ? st->hsize * 2 : 64);
		if (err)
			return err;
	}
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 64;
		struct klt_sym *ns = realloc(st->syms, ncap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		st->syms = ns;
		st->cap = ncap;
	}
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
	hash_insert_addr(st->by_addr, st->hsize, st->syms, st->n);
	hash_insert_name(st->by_name, st->hsize, st->syms, st->n);
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
	size_t mask, h;

	if (!st || !st->hsize || !name)
		return NULL;
	mask = st->hsize - 1;
	for (h = hash_name(name, type) & mask; st->by_name[h]; h = (h + 1) & mask) {
		const struct klt_sym *s = &st->syms[st->by_name[h] - 1];

		if (s->type == type && !strcmp(s->name, name))
			return s;
	}
	return NULL;
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
