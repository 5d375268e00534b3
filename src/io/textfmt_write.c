// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Text form writer (textfmt.h): canonical, so parsing its output and writing again gives the
 * same bytes. Names are written only where they resolve back to the same symbol.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"
#include "trace.h"
#include "traceio.h"

enum esc_set { ESC_COMM, ESC_NAME, ESC_MODULE };

static void put_escaped(FILE *f, const char *s, size_t len, enum esc_set set)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool esc = c <= 0x20 || c >= 0x7f || c == '\\' || c == '#' || c == '=';

		if (set != ESC_COMM)
			esc = esc || c == ';' || c == '+' || c == '@' || c == '[' || c == ']';
		/* a name must not read as a number or an address */
		if (set == ESC_NAME && i == 0 && tx_is_digit((char)c))
			esc = true;
		if (esc)
			fprintf(f, "\\x%02x", c);
		else
			putc(c, f);
	}
}

static void put_name(FILE *f, const char *s)
{
	put_escaped(f, s, strlen(s), ESC_NAME);
}

/* Symbols whose name is shared with another symbol of the same type: written as addresses. */
struct ambig {
	const struct klt_sym **v;
	size_t n;
};

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(const struct klt_sym *const *)a;
	uintptr_t y = (uintptr_t)*(const struct klt_sym *const *)b;

	return x < y ? -1 : x > y;
}

static int ambig_build(struct klt_symtab *st, struct ambig *a)
{
	size_t i, n = klt_symtab_count(st);

	a->n = 0;
	a->v = malloc((n ? n : 1) * sizeof(*a->v));
	if (!a->v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct klt_sym *s = klt_symtab_at(st, i);
		const struct klt_sym *first = klt_symtab_by_name(st, s->name, s->type);

		if (first != s)
			a->v[a->n++] = first;
	}
	qsort(a->v, a->n, sizeof(*a->v), cmp_ptr);
	return 0;
}

/* The symbol that NAME written in the text would resolve to is s itself. */
static bool nameable(struct klt_symtab *st, const struct ambig *a, const struct klt_sym *s)
{
	if (!s || !s->name[0] || klt_symtab_by_name(st, s->name, s->type) != s)
		return false;
	return !bsearch(&s, a->v, a->n, sizeof(*a->v), cmp_ptr);
}

static void put_frame(FILE *f, struct klt_trace *t, const struct ambig *a, uint64_t addr)
{
	uint64_t off = 0;
	const struct klt_sym *s = klt_symtab_lookup(t->syms, addr, &off);

	if (!nameable(t->syms, a, s)) {
		fprintf(f, "0x%llx", (unsigned long long)addr);
		return;
	}
	put_name(f, s->name);
	if (off)
		fprintf(f, "+0x%llx", (unsigned long long)off);
}

static void put_lock(FILE *f, struct klt_trace *t, const struct ambig *a, uint64_t addr)
{
	const struct klt_sym *s = klt_symtab_exact(t->syms, addr, KLT_SYM_DATA);

	if (nameable(t->syms, a, s)) {
		put_name(f, s->name);
		return;
	}
	s = klt_symtab_exact(t->syms, addr, KLT_SYM_CLASS);
	if (s && s->name[0]) {
		put_name(f, s->name);
		fputc('@', f);
	}
	fprintf(f, "0x%llx", (unsigned long long)addr);
}

static void put_info(FILE *f, const char *key, const char *v, size_t max)
{
	size_t l = strnlen(v, max);

	if (!l)
		return;
	fprintf(f, "@info %s ", key);
	put_escaped(f, v, l, ESC_COMM);
	fputc('\n', f);
}

/* Which fields of an event the operation's own syntax has written; the rest go as keys. */
struct written {
	bool aux0, aux1, aux2, aux3, lock, ip;
	uint32_t flags; /* the flags not written yet */
};

/* LOCK KIND and the keys of contend-begin, contend-end and edge. */
static void put_lock_args(FILE *f, struct klt_trace *t, const struct ambig *a,
			  const struct klt_event *e, struct written *w)
{
	const char *kn = klt_lock_kind_name(e->kind);
	unsigned hk, hm;

	fputc(' ', f);
	put_lock(f, t, a, e->lock);
	fprintf(f, " %s", kn ? kn : "mutex");
	w->lock = true;
	if (e->type == KLT_EV_CONTEND_BEGIN) {
		fprintf(f, " flags=0x%x", e->aux0);
		w->aux0 = true;
	} else if (e->type == KLT_EV_CONTEND_END) {
		fprintf(f, " ret=%d", e->aux2);
		w->aux2 = true;
	} else if (e->type == KLT_EV_LOCK_INIT) {
		fprintf(f, " key=0x%llx", (unsigned long long)e->aux1 << 32 | e->aux0);
		w->aux0 = w->aux1 = true;
		if (e->ip) {
			fputs(" name=", f);
			put_lock(f, t, a, e->ip);
			w->ip = true;
		}
	} else if (e->type == KLT_EV_EDGE_GUARD) {
		fputs(" held=", f);
		put_lock(f, t, a, (uint64_t)e->aux1 << 32 | e->aux0);
		fputs(" new=", f);
		put_lock(f, t, a, e->ip);
		w->aux0 = w->aux1 = w->ip = true;
	} else if (e->type == KLT_EV_EDGE) {
		hk = KLT_F_HELD_KIND(w->flags);
		hm = KLT_F_HELD_MODE(w->flags);
		fputs(" held=", f);
		put_lock(f, t, a, (uint64_t)e->aux1 << 32 | e->aux0);
		if (klt_lock_kind_name(hk))
			fprintf(f, " held-kind=%s", klt_lock_kind_name(hk));
		else
			fprintf(f, " held-kind=%u", hk);
		if (hm && klt_mode_name(hm))
			fprintf(f, " held-mode=%s", klt_mode_name(hm));
		else if (hm)
			fprintf(f, " held-mode=%u", hm);
		if (e->aux2 != KLT_NO_STACK)
			fprintf(f, " held-stack=#%d", e->aux2);
		if (e->aux3) {
			fputs(" held-at=", f);
			put_frame(f, t, a, 0xffffffff00000000ull | e->aux3);
			w->aux3 = true;
		}
		w->flags &= ~(0xffu << KLT_F_HELD_KIND_SHIFT | 0xfu << KLT_F_HELD_MODE_SHIFT);
		w->aux0 = w->aux1 = w->aux2 = true;
	}
}

/* The positional arguments of the operation's class. */
static void put_args(FILE *f, struct klt_trace *t, const struct ambig *a, const struct op_desc *op,
		     const struct klt_event *e, struct written *w)
{
	const char *ph;

	switch (op->cls) {
	case OPC_LOCK:
		put_lock_args(f, t, a, e, w);
		break;
	case OPC_CPUHP_ENTER:
		fputs(" cb=", f);
		put_frame(f, t, a, e->lock);
		fprintf(f, " hpcpu=%u state=%u idx=%d", e->aux0, e->aux1, e->aux2);
		if (w->flags & KLT_F_CPUHP_ATOMIC)
			fputs(" atomic", f);
		if (w->flags & KLT_F_CPUHP_MULTI)
			fputs(" multi", f);
		w->flags &= ~(KLT_F_CPUHP_ATOMIC | KLT_F_CPUHP_MULTI);
		w->lock = w->aux0 = w->aux1 = w->aux2 = true;
		break;
	case OPC_CPUHP_EXIT:
		fprintf(f, " hpcpu=%u state=%u ret=%d", e->aux0, e->aux1, e->aux2);
		w->aux0 = w->aux1 = w->aux2 = true;
		break;
	case OPC_FUNC:
		fputc(' ', f);
		put_frame(f, t, a, e->lock);
		w->lock = true;
		if (e->type == KLT_EV_FUNC_EXIT) {
			fprintf(f, " ret=%d", e->aux2);
			w->aux2 = true;
		}
		break;
	case OPC_PM:
		ph = klt_pm_phase_name(e->aux0);
		fprintf(f, " %s val=%u", ph ? ph : "other", e->aux1);
		w->aux0 = ph != NULL;
		w->aux1 = true;
		break;
	default:
		break;
	}
}

/* The fields not written yet that differ from what the parser defaults them to, as keys. */
static void put_keys(FILE *f, struct klt_trace *t, const struct ambig *a, const struct op_desc *op,
		     const struct klt_event *e, const struct written *w)
{
	if (e->mode != op->default_mode) {
		const char *mn = klt_mode_name(e->mode);

		if (mn)
			fprintf(f, " mode=%s", mn);
		else
			fprintf(f, " mode=%u", e->mode);
	}
	if (e->ip && !w->ip) {
		fputs(" at=", f);
		put_frame(f, t, a, e->ip);
	}
	if (e->stack_id != KLT_NO_STACK)
		fprintf(f, " stack=#%d", e->stack_id);
	if (e->pid != e->tid)
		fprintf(f, " pid=%u", e->pid);
	if (e->cpu)
		fprintf(f, " cpu=%u", e->cpu);
	if (op->cls != OPC_LOCK ? e->kind != 0 : !klt_lock_kind_name(e->kind))
		fprintf(f, " kind=%u", e->kind);
	if (!w->lock && e->lock)
		fprintf(f, " lock=0x%llx", (unsigned long long)e->lock);
	if (w->flags)
		fprintf(f, " %s=0x%x", e->type == KLT_EV_CONTEND_BEGIN ? "evflags" : "flags",
			w->flags);
	if (!w->aux0 && e->aux0)
		fprintf(f, " aux0=%u", e->aux0);
	if (!w->aux1 && e->aux1)
		fprintf(f, " aux1=%u", e->aux1);
	if (!w->aux2 && e->aux2)
		fprintf(f, " aux2=%d", e->aux2);
	if (!w->aux3 && e->aux3)
		fprintf(f, " aux3=%u", e->aux3);
}

static void put_event(FILE *f, struct klt_trace *t, const struct ambig *a,
		      const struct klt_event *e)
{
	const struct op_desc *op = tx_op_by_type(e->type);
	struct op_desc raw_op = { "ev-N", e->type, OPC_RAW, 0, KLT_MODE_WRITE };
	struct written w = { .flags = e->flags };
	size_t cl = strnlen(e->comm, KLT_COMM_LEN);

	fprintf(f, "%llu %u", (unsigned long long)e->ts, e->tid);
	if (cl) {
		fputc('/', f);
		put_escaped(f, e->comm, cl, ESC_COMM);
	}
	if (op) {
		fprintf(f, " %s", op->name);
	} else {
		/* a type this build has no name for: every field as a key */
		op = &raw_op;
		fprintf(f, " ev-%u", e->type);
	}
	put_args(f, t, a, op, e, &w);
	put_keys(f, t, a, op, e, &w);
	fputc('\n', f);
}

int klt_text_write(FILE *f, struct klt_trace *t)
{
	const struct klt_trace_info *in = &t->info;
	struct ambig a;
	size_t i, j, n = klt_symtab_count(t->syms);

	if (ambig_build(t->syms, &a))
		return -ENOMEM;
	fputs("@klt-text 1\n", f);
	put_info(f, "tool", in->tool_version, sizeof(in->tool_version));
	put_info(f, "kernel", in->kernel_release, sizeof(in->kernel_release));
	put_info(f, "machine", in->machine, sizeof(in->machine));
	put_info(f, "hostname", in->hostname, sizeof(in->hostname));
	put_info(f, "clock", in->clock, sizeof(in->clock));
	put_info(f, "attach", in->attach_mode, sizeof(in->attach_mode));
	if (in->start_realtime_ns)
		fprintf(f, "@info start %llu\n", (unsigned long long)in->start_realtime_ns);
	for (i = 0; i < n; i++) {
		const struct klt_sym *s = klt_symtab_at(t->syms, i);

		fprintf(f, "@sym 0x%llx %c ", (unsigned long long)s->addr, s->type);
		put_name(f, s->name);
		if (s->size)
			fprintf(f, " size=0x%llx", (unsigned long long)s->size);
		if (s->module) {
			fputs(" [", f);
			put_escaped(f, s->module, strlen(s->module), ESC_MODULE);
			fputc(']', f);
		}
		fputc('\n', f);
	}
	for (i = 0; i < t->nstacks; i++) {
		if (!t->stacks[i].nr)
			continue;
		fprintf(f, "@stack %zu", i);
		for (j = 0; j < t->stacks[i].nr; j++) {
			fputc(' ', f);
			put_frame(f, t, &a, t->stacks[i].ips[j]);
		}
		fputc('\n', f);
	}
	for (i = 0; i < t->ncounters; i++) {
		fputs("@counter ", f);
		put_name(f, t->counters[i].name);
		fprintf(f, " %llu\n", (unsigned long long)t->counters[i].value);
	}
	for (i = 0; i < t->nevents; i++)
		put_event(f, t, &a, &t->events[i]);
	free(a.v);
	if (fflush(f) || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}

