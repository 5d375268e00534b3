// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Text form parser, the driver (textfmt.h): interned stacks, @-directives, klt_text_parse(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"
#include "trace.h"
#include "traceio.h"

/* --- interned stacks ------------------------------------------------------------------------ */

struct frames_key {
	const struct klt_trace *t;
	const uint64_t *ips;
	uint32_t nr;
};

static bool frames_eq(const void *ctx, uint32_t id)
{
	const struct frames_key *k = ctx;
	const struct klt_stack *s = &k->t->stacks[id];

	return s->nr == k->nr && !memcmp(s->ips, k->ips, k->nr * sizeof(*k->ips));
}

/* The first stack id interned with these frames, or -1. */
int tx_stab_find(const struct parser *p, const uint64_t *ips, uint32_t nr)
{
	struct frames_key k = { p->t, ips, nr };
	uint32_t id = klt_hmap_find_eq(&p->stab, klt_hash_seq64(ips, nr), nr, frames_eq, &k);

	return id == KLT_NIL ? -1 : (int)id;
}

/* Make the stack at id findable by its frames; the caller checked that none is (first id wins). */
int tx_stab_add(struct parser *p, uint32_t id)
{
	const struct klt_stack *s = &p->t->stacks[id];

	if (klt_hmap_reserve(&p->stab, 1))
		return -ENOMEM;
	klt_hmap_put(&p->stab, klt_hash_seq64(s->ips, s->nr), s->nr, id);
	return 0;
}


/* --- directives ----------------------------------------------------------------------------- */

static int need_toks(struct parser *p, size_t n, const char *usage)
{
	const struct tok *last = &p->toks[p->ntoks - 1];

	if (p->ntoks < n)
		return tx_perr(p, last->col + last->len, "missing argument (expected %s)", usage);
	return 0;
}

static int dir_info(struct parser *p)
{
	struct klt_trace_info *in = &p->t->info;
	const struct tok *k = &p->toks[1], *v = &p->toks[2];
	char *val = NULL, *dst = NULL, b[64];
	size_t dlen = 0;
	int err = need_toks(p, 3, "@info KEY VALUE");

	if (err)
		return err;
	if (p->ntoks > 3)
		return tx_perr(p, p->toks[3].col, "unexpected '%s' (@info takes one value; write "
			       "spaces as \\x20)", tx_show(p->toks[3].s, p->toks[3].len, b, sizeof(b)));
	if (tx_tok_is(k, "tool"))
		dst = in->tool_version, dlen = sizeof(in->tool_version);
	else if (tx_tok_is(k, "kernel"))
		dst = in->kernel_release, dlen = sizeof(in->kernel_release);
	else if (tx_tok_is(k, "machine"))
		dst = in->machine, dlen = sizeof(in->machine);
	else if (tx_tok_is(k, "hostname"))
		dst = in->hostname, dlen = sizeof(in->hostname);
	else if (tx_tok_is(k, "clock"))
		dst = in->clock, dlen = sizeof(in->clock);
	else if (tx_tok_is(k, "attach"))
		dst = in->attach_mode, dlen = sizeof(in->attach_mode);
	else if (tx_tok_is(k, "start"))
		return tx_num_u64(p, v->s, v->len, v->col, "start", &in->start_realtime_ns);
	else
		return tx_perr(p, k->col, "unknown info key '%s' (expected tool, kernel, machine, "
			       "hostname, clock, attach, start)", tx_show(k->s, k->len, b, sizeof(b)));
	err = tx_decode(p, v->s, v->len, v->col, "info value", &val);
	if (err)
		return err;
	if (strlen(val) >= dlen) {
		free(val);
		return tx_perr(p, v->col, "info value too long (max %zu bytes)", dlen - 1);
	}
	strcpy(dst, val);
	free(val);
	return 0;
}

static int dir_sym(struct parser *p)
{
	const struct tok *ty;
	uint64_t addr, size = 0;
	char *name = NULL, *mod = NULL, b[64];
	size_t i;
	int err = need_toks(p, 4, "@sym ADDR TYPE NAME [size=0xN] [MODULE]");

	if (err)
		return err;
	err = tx_num_u64(p, p->toks[1].s, p->toks[1].len, p->toks[1].col, "symbol address", &addr);
	if (err)
		return err;
	ty = &p->toks[2];
	if (ty->len != 1 || (ty->s[0] != 'T' && ty->s[0] != 'D' && ty->s[0] != 'C'))
		return tx_perr(p, ty->col, "unknown symbol type '%s' (expected T, D or C)",
			       tx_show(ty->s, ty->len, b, sizeof(b)));
	err = tx_decode(p, p->toks[3].s, p->toks[3].len, p->toks[3].col, "symbol name", &name);
	for (i = 4; i < p->ntoks && !err; i++) {
		const struct tok *tk = &p->toks[i];

		if (tk->len > 5 && !memcmp(tk->s, "size=", 5)) {
			err = tx_num_u64(p, tk->s + 5, tk->len - 5, tk->col + 5, "size", &size);
		} else if (tk->len >= 2 && tk->s[0] == '[' && tk->s[tk->len - 1] == ']' && !mod) {
			err = tx_decode(p, tk->s + 1, tk->len - 2, tk->col + 1, "module name", &mod);
		} else {
			err = tx_perr(p, tk->col, "unexpected '%s' (expected size=0xN or [MODULE])",
				      tx_show(tk->s, tk->len, b, sizeof(b)));
		}
	}
	if (!err && klt_symtab_add(p->t->syms, addr, size, ty->s[0], name, mod))
		err = tx_oom(p);
	free(name);
	free(mod);
	return err;
}

static int dir_stack(struct parser *p)
{
	const struct klt_stack *old;
	uint32_t id, nr = 0, n;
	size_t i;
	int err = need_toks(p, 3, "@stack ID FRAME...");

	if (err)
		return err;
	err = tx_num_u32(p, p->toks[1].s, p->toks[1].len, p->toks[1].col, "stack id", &id);
	if (err)
		return err;
	if (id >= KLT_MAX_STACK_ID)
		return tx_perr(p, p->toks[1].col, "stack id %u out of range (max %d)", id,
			       KLT_MAX_STACK_ID - 1);
	for (i = 2; i < p->ntoks; i++) {
		const struct tok *tk = &p->toks[i];

		/* one frame per token here, into the buffer of the ';' list parser (tx_frame_room) */
		if (memchr(tk->s, ';', tk->len))
			return tx_perr(p, tk->col, "unexpected ';' (@stack frames are separated by "
				       "spaces)");
		err = tx_frame_room(p, nr);
		if (err)
			return err;
		err = tx_parse_frame(p, tk->s, tk->len, tk->col, &p->frames[nr]);
		if (err)
			return err;
		nr++;
	}
	old = klt_trace_stack(p->t, (int32_t)id);
	if (old) {
		n = old->nr;
		if (n == nr && !memcmp(old->ips, p->frames, nr * sizeof(uint64_t)))
			return 0;
		return tx_perr(p, p->toks[1].col, "stack %u already defined with other frames", id);
	}
	if (klt_trace_set_stack(p->t, (int32_t)id, p->frames, nr) ||
	    (tx_stab_find(p, p->frames, nr) < 0 && tx_stab_add(p, id)))
		return tx_oom(p);
	return 0;
}

static int dir_counter(struct parser *p)
{
	const struct tok *v = &p->toks[2];
	uint64_t val;
	char *name = NULL;
	size_t i;
	int err = need_toks(p, 3, "@counter NAME VALUE");

	if (err)
		return err;
	err = tx_num_u64(p, v->s, v->len, v->col, "counter value", &val);
	if (!err)
		err = tx_decode(p, p->toks[1].s, p->toks[1].len, p->toks[1].col, "counter name",
				&name);
	if (err)
		return err;
	if (strlen(name) >= sizeof(p->t->counters[0].name)) {
		free(name);
		return tx_perr(p, p->toks[1].col, "counter name too long (max %zu bytes)",
			       sizeof(p->t->counters[0].name) - 1);
	}
	for (i = 0; i < p->t->ncounters; i++)
		if (!strcmp(p->t->counters[i].name, name))
			break;
	if (i < p->t->ncounters)
		p->t->counters[i].value = val; /* a later @counter replaces the value */
	else if (klt_trace_add_counter(p->t, name, val))
		err = tx_perr(p, p->toks[1].col, "too many counters (max %d)", KLT_MAX_COUNTERS);
	free(name);
	return err;
}

static int directive(struct parser *p)
{
	const struct tok *d = &p->toks[0];
	char b[64];

	if (tx_tok_is(d, "@klt-text")) {
		if (p->ntoks != 2 || !tx_tok_is(&p->toks[1], "1"))
			return tx_perr(p, p->ntoks > 1 ? p->toks[1].col : d->col + d->len,
				       "unsupported text format version (expected '@klt-text 1')");
		return 0;
	}
	if (tx_tok_is(d, "@info"))
		return dir_info(p);
	if (tx_tok_is(d, "@sym"))
		return dir_sym(p);
	if (tx_tok_is(d, "@stack"))
		return dir_stack(p);
	if (tx_tok_is(d, "@counter"))
		return dir_counter(p);
	return tx_perr(p, d->col, "unknown directive '%s' (expected @klt-text, @info, @sym, @stack, "
		       "@counter)", tx_show(d->s, d->len, b, sizeof(b)));
}


int klt_text_parse(const char *buf, size_t len, const char *name, struct klt_trace *t,
		   struct klt_err *err)
{
	struct parser p = { .name = name ? name : "<text>", .t = t, .err = err };
	const char *s = buf, *end = buf + len;
	size_t i;
	int ret = 0;

	if (!t->syms)
		return tx_oom(&p);
	if (!buf)
		s = end = "";
	/* stacks already in t take part in interning */
	for (i = 0; i < t->nstacks && !ret; i++)
		if (t->stacks[i].nr && tx_stab_find(&p, t->stacks[i].ips, t->stacks[i].nr) < 0)
			ret = tx_stab_add(&p, i) ? tx_oom(&p) : 0;
	while (!ret && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;

		p.line++;
		ret = tx_tokenize(&p, s, le);
		if (!ret && p.ntoks)
			ret = p.toks[0].s[0] == '@' ? directive(&p) : tx_event_line(&p);
		s = nl ? nl + 1 : end;
	}
	free(p.toks);
	klt_hmap_free(&p.kinds);
	klt_hmap_free(&p.stab);
	free(p.frames);
	return ret;
}
