/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Symbol table: addresses <-> names for code, static locks and explicit lock classes. Pure C. */
#ifndef KLT_SYMTAB_H
#define KLT_SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum klt_sym_type {
	KLT_SYM_FUNC = 'T',  /* code: symbolize ips as name+off */
	KLT_SYM_DATA = 'D',  /* data object: a lock at exactly this address is a static lock */
	KLT_SYM_CLASS = 'C', /* explicit class of the lock instance at this address (name = class) */
};

struct klt_sym {
	uint64_t addr;
	uint64_t size;	 /* 0 if unknown: FUNC extends to the next FUNC symbol */
	char type;	 /* enum klt_sym_type */
	const char *name;   /* owned by the table */
	const char *module; /* NULL for vmlinux / main binary; owned by the table */
};

struct klt_symtab;

struct klt_symtab *klt_symtab_new(void);
void klt_symtab_free(struct klt_symtab *st);
/* Copies name/module. Duplicate (addr,type) entries: the first one wins. Returns 0 or -ENOMEM. */
int klt_symtab_add(struct klt_symtab *st, uint64_t addr, uint64_t size, char type, const char *name,
		   const char *module);
size_t klt_symtab_count(const struct klt_symtab *st);
/* i-th symbol in address order (sorts lazily after additions). */
const struct klt_sym *klt_symtab_at(struct klt_symtab *st, size_t i);
/* Symbol of exactly this address and type, or NULL. */
const struct klt_sym *klt_symtab_exact(struct klt_symtab *st, uint64_t addr, char type);
/* Nearest FUNC symbol at or below addr (within size when size is known), *off = addr - sym->addr. */
const struct klt_sym *klt_symtab_lookup(struct klt_symtab *st, uint64_t addr, uint64_t *off);
/* First symbol with this name and type, or NULL (linear hash lookup). */
const struct klt_sym *klt_symtab_by_name(struct klt_symtab *st, const char *name, char type);
/*
 * Format addr for humans into buf: "name+0xoff [module]", "name" when off==0, or "0x<hex>"
 * when unknown. Never fails; truncates to len. Returns buf.
 */
const char *klt_symtab_fmt(struct klt_symtab *st, uint64_t addr, char *buf, size_t len);

#endif
