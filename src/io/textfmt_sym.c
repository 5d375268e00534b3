// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Text form parser, symbolic values (textfmt.h): frames and locks by address or by name. A name
 * the trace has no symbol for gets a synthetic address, so a scenario needs no @sym lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"
#include "trace.h"
#include "traceio.h"

#define SYNTH_LOCK_BASE 0xffffffffa0000000ull /* + 0x100 * k: static locks named only in text */
#define SYNTH_LOCK_STEP 0x100ull
#define SYNTH_FUNC_BASE 0xffffffff80000000ull /* + 0x10000 * k: functions named only in text */
#define SYNTH_FUNC_STEP 0x10000ull

/* --- symbols -------------------------------------------------------------------------------- */

static bool is_hex_prefix(const char *s, size_t len)
{
	return len >= 2 && s[0] == '0' && s[1] == 'x';
}

/* Find the last occurrence of "<c>0x" in s whose tail is all hex: returns its index or -1. */
static long split_at(const char *s, size_t len, char c)
{
	size_t i;

	for (i = len; i-- > 0;) {
		if (s[i] == c) {
			uint64_t v;

			if (is_hex_prefix(s + i + 1, len - i - 1) &&
			    tx_parse_u64(s + i + 1, len - i - 1, &v))
				return (long)i;
			return -1;
		}
	}
	return -1;
}

/*
 * The symbol NAME of this type; one the trace does not have is added at the first free address
 * base + step * k (k counting up): a scenario needs no @sym lines. NULL: out of memory.
 */
static const struct klt_sym *named_sym(struct parser *p, const char *name, char type,
				       uint64_t base, uint64_t step, uint64_t size, uint64_t *k)
{
	const struct klt_sym *sym = klt_symtab_by_name(p->t->syms, name, type);
	uint64_t a;

	if (sym)
		return sym;
	do {
		a = base + step * (*k)++;
	} while (klt_symtab_exact(p->t->syms, a, type));
	if (klt_symtab_add(p->t->syms, a, size, type, name, NULL))
		return NULL;
	return klt_symtab_exact(p->t->syms, a, type);
}

/* FRAME: 0xADDR, SYMBOL or SYMBOL+0xOFF; unknown SYMBOLs get a synthetic FUNC address. */
int tx_parse_frame(struct parser *p, const char *s, size_t len, size_t col, uint64_t *addr)
{
	const struct klt_sym *sym;
	uint64_t off = 0;
	long plus;
	char *name, b[64];
	int err;

	if (is_hex_prefix(s, len))
		return tx_num_u64(p, s, len, col, "frame address", addr);
	if (!len || tx_all_digits(s, len))
		return tx_perr(p, col, "bad frame '%s' (expected 0xADDR, SYMBOL or SYMBOL+0xOFF)",
			       tx_show(s, len, b, sizeof(b)));
	plus = split_at(s, len, '+');
	if (plus > 0) {
		tx_parse_u64(s + plus + 1, len - plus - 1, &off);
		len = (size_t)plus;
	} else if (plus == 0) {
		return tx_perr(p, col, "missing symbol name before '+' in frame");
	}
	err = tx_decode(p, s, len, col, "symbol name", &name);
	if (err)
		return err;
	sym = named_sym(p, name, KLT_SYM_FUNC, SYNTH_FUNC_BASE, SYNTH_FUNC_STEP, SYNTH_FUNC_STEP,
			&p->func_k);
	free(name);
	if (!sym)
		return tx_oom(p);
	*addr = sym->addr + off;
	return 0;
}

/* LOCK: NAME (static lock), 0xADDR (anonymous instance) or CLASS@0xADDR (explicit class). */
int tx_parse_lock(struct parser *p, const struct tok *tk, uint64_t *addr)
{
	const struct klt_sym *sym;
	long at;
	char *name;
	int err;

	if (is_hex_prefix(tk->s, tk->len))
		return tx_num_u64(p, tk->s, tk->len, tk->col, "lock address", addr);
	if (tx_all_digits(tk->s, tk->len))
		return tx_perr(p, tk->col, "bad lock '%.*s' (expected NAME, 0xADDR or CLASS@0xADDR)",
			       (int)tk->len, tk->s);
	at = split_at(tk->s, tk->len, '@');
	if (at == 0)
		return tx_perr(p, tk->col, "missing class name before '@' in lock");
	if (at > 0) {
		tx_parse_u64(tk->s + at + 1, tk->len - at - 1, addr);
		err = tx_decode(p, tk->s, (size_t)at, tk->col, "class name", &name);
		if (err)
			return err;
		err = klt_symtab_add(p->t->syms, *addr, 0, KLT_SYM_CLASS, name, NULL);
		free(name);
		return err ? tx_oom(p) : 0;
	}
	err = tx_decode(p, tk->s, tk->len, tk->col, "lock name", &name);
	if (err)
		return err;
	sym = named_sym(p, name, KLT_SYM_DATA, SYNTH_LOCK_BASE, SYNTH_LOCK_STEP, 0, &p->lock_k);
	free(name);
	if (!sym)
		return tx_oom(p);
	*addr = sym->addr;
	return 0;
}

int tx_frame_room(struct parser *p, size_t n)
{
	size_t ncap;
	uint64_t *nf;

	if (n < p->fcap)
		return 0;
	ncap = p->fcap ? p->fcap * 2 : 64;
	nf = ncap < (1u << 26) ? realloc(p->frames, ncap * 8) : NULL;
	if (!nf)
		return tx_oom(p);
	p->frames = nf;
	p->fcap = ncap;
	return 0;
}

/* Frames separated by ';' into p->frames. */
int tx_parse_frames(struct parser *p, const char *s, size_t len, size_t col, uint32_t *nr)
{
	size_t i = 0, n = 0;
	int err;

	for (;;) {
		const char *e = memchr(s + i, ';', len - i);
		size_t flen = e ? (size_t)(e - (s + i)) : len - i;

		err = tx_frame_room(p, n);
		if (err)
			return err;
		err = tx_parse_frame(p, s + i, flen, col + i, &p->frames[n]);
		if (err)
			return err;
		n++;
		if (!e)
			break;
		i += flen + 1;
	}
	*nr = (uint32_t)n;
	return 0;
}

