// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Text form parser, event lines (textfmt.h): [TS] TID[/COMM] OP ARGS... key=value... */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"
#include "trace.h"
#include "traceio.h"

/* The kind last seen for a lock address (p->kinds): the default of unlock and contend-end. */
static int kind_set(struct klt_hmap *m, uint64_t key, uint8_t kind)
{
	if (klt_hmap_reserve(m, 1))
		return -ENOMEM;
	*klt_hmap_upsert(m, key, 0, kind) = kind;
	return 0;
}

static int kind_get(const struct klt_hmap *m, uint64_t key)
{
	uint32_t v = klt_hmap_find(m, key, 0);

	return v == KLT_NIL ? -1 : (int)v;
}

static int mode_from(const char *s, size_t len)
{
	int m;

	for (m = 0; m < KLT_MODE_MAX; m++)
		if (len == strlen(klt_mode_name(m)) && !memcmp(s, klt_mode_name(m), len))
			return m;
	return -1;
}

static int kind_from(const char *s, size_t len)
{
	int k;

	for (k = 1; k < KLT_LK_MAX; k++)
		if (len == strlen(klt_lock_kind_name(k)) && !memcmp(s, klt_lock_kind_name(k), len))
			return k;
	return -1;
}

static const char *keys_for(const struct op_desc *op)
{
	switch (op->cls) {
	case OPC_CPUHP_ENTER:
		return "cb, hpcpu, state, idx, at, stack, pid, cpu, flags, aux0, aux1, aux2, aux3";
	case OPC_CPUHP_EXIT:
		return "hpcpu, state, ret, at, stack, pid, cpu, flags, aux0, aux1, aux2, aux3";
	case OPC_PM:
		return "val, at, stack, pid, cpu, flags, aux0, aux1, aux2, aux3";
	case OPC_FUNC:
		if (op->type == KLT_EV_FUNC_EXIT)
			return "ret, at, stack, pid, cpu, flags, aux0, aux1";
		return "at, stack, pid, cpu, flags, aux0, aux1, aux2, aux3";
	case OPC_RAW:
		return "at, stack, pid, cpu, flags, aux0, aux1, aux2, aux3, kind, mode, lock";
	}
	if (op->type == KLT_EV_CONTEND_BEGIN)
		return "flags, mode, at, stack, pid, cpu, evflags, aux1, aux2, aux3";
	if (op->type == KLT_EV_CONTEND_END)
		return "ret, mode, at, stack, pid, cpu, flags, aux0, aux1";
	if (op->type == KLT_EV_EDGE)
		return "held, held-kind, held-mode, held-stack, held-at, mode, at, stack, pid, cpu, flags";
	if (op->type == KLT_EV_LOCK_INIT)
		return "key, name, stack, pid, cpu, flags";
	if (op->type == KLT_EV_EDGE_GUARD)
		return "held, new, mode, stack, pid, cpu, flags";
	return "mode, at, stack, pid, cpu, flags, aux0, aux1, aux2, aux3";
}

/* MODE: write, read, rread or a number up to max. */
static int mode_arg(struct parser *p, const char *v, size_t vlen, size_t vcol, unsigned max,
		    int *out)
{
	char b[64];
	int m = mode_from(v, vlen);
	uint64_t x;

	if (m < 0) {
		if (!tx_parse_u64(v, vlen, &x) || x > max)
			return tx_perr(p, vcol, "unknown mode '%s' (expected write, read, rread)",
				       tx_show(v, vlen, b, sizeof(b)));
		m = (int)x;
	}
	*out = m;
	return 0;
}

/* KIND: a lock kind's name or a number up to 255. */
static int kind_arg(struct parser *p, const char *v, size_t vlen, size_t vcol, int *out)
{
	char b[64];
	int k = kind_from(v, vlen);
	uint64_t x;

	if (k < 0) {
		if (!tx_parse_u64(v, vlen, &x) || x > 255)
			return tx_perr(p, vcol, "unknown lock kind '%s' (expected " KIND_LIST ")",
				       tx_show(v, vlen, b, sizeof(b)));
		k = (int)x;
	}
	*out = k;
	return 0;
}

/*
 * EDGE keys: the held lock (aux0 | aux1 << 32), its kind and mode (flags bits 20..27, 16..19)
 * and its stack id (aux2).
 */
static int edge_key(struct parser *p, const struct op_desc *op, const struct tok *key,
		    const char *v, size_t vlen, size_t vcol, struct klt_event *ev)
{
	char b[64];
	int err, x;

	if (tx_tok_is(key, "held")) {
		struct tok tk = { v, vlen, vcol };
		uint64_t a;

		if (!vlen)
			return tx_perr(p, vcol, "missing lock after 'held=' (expected NAME, 0xADDR or "
				       "CLASS@0xADDR)");
		err = tx_parse_lock(p, &tk, &a);
		if (err)
			return err;
		ev->aux0 = (uint32_t)a;
		ev->aux1 = (uint32_t)(a >> 32);
		return 0;
	}
	if (tx_tok_is(key, "held-kind")) {
		err = kind_arg(p, v, vlen, vcol, &x);
		if (err)
			return err;
		ev->flags &= ~(0xffu << KLT_F_HELD_KIND_SHIFT);
		ev->flags |= (uint32_t)x << KLT_F_HELD_KIND_SHIFT;
		return 0;
	}
	if (tx_tok_is(key, "held-mode")) {
		err = mode_arg(p, v, vlen, vcol, 15, &x);
		if (err)
			return err;
		ev->flags &= ~(0xfu << KLT_F_HELD_MODE_SHIFT);
		ev->flags |= (uint32_t)x << KLT_F_HELD_MODE_SHIFT;
		return 0;
	}
	if (tx_tok_is(key, "held-at")) {
		/* a kernel text address: its low 32 bits (aux3) */
		uint64_t a;

		err = tx_parse_frame(p, v, vlen, vcol, &a);
		if (err)
			return err;
		if (a >> 32 != 0xffffffffu)
			return tx_perr(p, vcol, "held-at must be kernel text (0xffffffff........), got "
				       "0x%llx", (unsigned long long)a);
		ev->aux3 = (uint32_t)a;
		return 0;
	}
	if (tx_tok_is(key, "held-stack")) {
		if (!vlen || v[0] != '#')
			return tx_perr(p, vcol, "bad held stack '%s' (expected #ID)",
				       tx_show(v, vlen, b, sizeof(b)));
		return tx_num_s32(p, v + 1, vlen - 1, vcol + 1, "held stack id", &ev->aux2);
	}
	return tx_perr(p, key->col, "unknown key '%s' for '%s' (expected %s)",
		       tx_show(key->s, key->len, b, sizeof(b)), op->name, keys_for(op));
}

/* stack=#ID, or stack=FRAME;FRAME;... interned as a new id unless seen before. */
static int stack_key(struct parser *p, const char *v, size_t vlen, size_t vcol,
		     struct klt_event *ev)
{
	uint32_t nr = 0;
	int id, err;

	if (vlen && v[0] == '#')
		return tx_num_s32(p, v + 1, vlen - 1, vcol + 1, "stack id", &ev->stack_id);
	err = tx_parse_frames(p, v, vlen, vcol, &nr);
	if (err)
		return err;
	id = tx_stab_find(p, p->frames, nr);
	if (id < 0) {
		if (p->t->nstacks >= KLT_MAX_STACK_ID)
			return tx_perr(p, vcol, "too many stacks");
		id = (int)p->t->nstacks;
		if (klt_trace_set_stack(p->t, id, p->frames, nr) || tx_stab_add(p, id))
			return tx_oom(p);
	}
	ev->stack_id = id;
	return 0;
}

/* The keys only some operations have (cpuhp, pm, ret, edge); anything else is an error. */
static int op_key(struct parser *p, const struct op_desc *op, const struct tok *key,
		  const char *v, size_t vlen, size_t vcol, struct klt_event *ev)
{
	char b[64];
	int err;

	if (op->cls == OPC_CPUHP_ENTER || op->cls == OPC_CPUHP_EXIT) {
		if (op->cls == OPC_CPUHP_ENTER && tx_tok_is(key, "cb")) {
			uint64_t a;

			err = tx_parse_frame(p, v, vlen, vcol, &a);
			ev->lock = a;
			return err;
		}
		if (tx_tok_is(key, "hpcpu"))
			return tx_num_u32(p, v, vlen, vcol, "hpcpu", &ev->aux0);
		if (tx_tok_is(key, "state"))
			return tx_num_u32(p, v, vlen, vcol, "state", &ev->aux1);
		if (op->cls == OPC_CPUHP_ENTER && tx_tok_is(key, "idx"))
			return tx_num_s32(p, v, vlen, vcol, "idx", &ev->aux2);
		if (op->cls == OPC_CPUHP_EXIT && tx_tok_is(key, "ret"))
			return tx_num_s32(p, v, vlen, vcol, "ret", &ev->aux2);
	}
	if (op->cls == OPC_PM && tx_tok_is(key, "val"))
		return tx_num_u32(p, v, vlen, vcol, "val", &ev->aux1);
	if ((op->type == KLT_EV_CONTEND_END || op->type == KLT_EV_FUNC_EXIT) &&
	    op->cls != OPC_RAW && tx_tok_is(key, "ret"))
		return tx_num_s32(p, v, vlen, vcol, "ret", &ev->aux2);
	if (op->type == KLT_EV_EDGE && op->cls == OPC_LOCK)
		return edge_key(p, op, key, v, vlen, vcol, ev);
	if (op->type == KLT_EV_EDGE_GUARD && op->cls == OPC_LOCK &&
	    (tx_tok_is(key, "held") || tx_tok_is(key, "new"))) {
		/* the EDGE it belongs to: its held lock (aux0 | aux1 << 32) and its lock (ip) */
		struct tok tk = { v, vlen, vcol };
		bool held = tx_tok_is(key, "held");
		uint64_t a;

		if (!vlen)
			return tx_perr(p, vcol, held ? "missing lock after 'held=' (expected NAME, "
				       "0xADDR or CLASS@0xADDR)" : "missing lock after 'new=' (expected "
				       "NAME, 0xADDR or CLASS@0xADDR)");
		err = tx_parse_lock(p, &tk, &a);
		if (err)
			return err;
		if (held) {
			ev->aux0 = (uint32_t)a;
			ev->aux1 = (uint32_t)(a >> 32);
		} else {
			ev->ip = a;
		}
		return 0;
	}
	if (op->type == KLT_EV_LOCK_INIT && op->cls == OPC_LOCK && tx_tok_is(key, "key")) {
		/* the init site's class key */
		uint64_t a;

		err = tx_num_u64(p, v, vlen, vcol, "class key", &a);
		ev->aux0 = (uint32_t)a;
		ev->aux1 = (uint32_t)(a >> 32);
		return err;
	}
	if (op->type == KLT_EV_LOCK_INIT && op->cls == OPC_LOCK && tx_tok_is(key, "name")) {
		/* the init site's name string: CLASS@0xADDR (a CLASS symbol at ADDR) or 0xADDR */
		struct tok tk = { v, vlen, vcol };
		uint64_t a;

		if (!vlen)
			return tx_perr(p, vcol, "missing class name after 'name=' (expected "
				       "CLASS@0xADDR or 0xADDR)");
		err = tx_parse_lock(p, &tk, &a);
		ev->ip = a;
		return err;
	}
	return tx_perr(p, key->col, "unknown key '%s' for '%s' (expected %s)",
		       tx_show(key->s, key->len, b, sizeof(b)), op->name, keys_for(op));
}

/* KEY=VALUE: the keys every operation has, then op_key(). */
static int event_key(struct parser *p, const struct op_desc *op, const struct tok *tk,
		     struct klt_event *ev)
{
	const char *eq = memchr(tk->s, '=', tk->len);
	size_t klen = (size_t)(eq - tk->s), vcol = tk->col + klen + 1;
	const char *v = eq + 1;
	size_t vlen = tk->len - klen - 1;
	struct tok key = { tk->s, klen, tk->col };
	uint64_t a;
	uint32_t u;
	int err, x;

	if (tx_tok_is(&key, "at")) {
		err = tx_parse_frame(p, v, vlen, vcol, &a);
		ev->ip = a;
		return err;
	}
	if (tx_tok_is(&key, "stack"))
		return stack_key(p, v, vlen, vcol, ev);
	if (tx_tok_is(&key, "pid"))
		return tx_num_u32(p, v, vlen, vcol, "pid", &ev->pid);
	if (tx_tok_is(&key, "cpu"))
		return tx_num_u32(p, v, vlen, vcol, "cpu", &ev->cpu);
	if (tx_tok_is(&key, "mode")) {
		err = mode_arg(p, v, vlen, vcol, 255, &x);
		if (!err)
			ev->mode = (uint8_t)x;
		return err;
	}
	if (tx_tok_is(&key, "kind")) {
		err = kind_arg(p, v, vlen, vcol, &x);
		if (!err)
			ev->kind = (uint8_t)x;
		return err;
	}
	if (tx_tok_is(&key, "lock")) {
		err = tx_num_u64(p, v, vlen, vcol, "lock", &a);
		ev->lock = a;
		return err;
	}
	if (tx_tok_is(&key, "evflags")) {
		err = tx_num_u32(p, v, vlen, vcol, "evflags", &u);
		ev->flags |= u;
		return err;
	}
	if (tx_tok_is(&key, "flags")) {
		err = tx_num_u32(p, v, vlen, vcol, "flags", &u);
		if (op->type == KLT_EV_CONTEND_BEGIN && op->cls == OPC_LOCK)
			ev->aux0 = u; /* the tracepoint's flags */
		else
			ev->flags |= u;
		return err;
	}
	if (tx_tok_is(&key, "aux0"))
		return tx_num_u32(p, v, vlen, vcol, "aux0", &ev->aux0);
	if (tx_tok_is(&key, "aux1"))
		return tx_num_u32(p, v, vlen, vcol, "aux1", &ev->aux1);
	if (tx_tok_is(&key, "aux2"))
		return tx_num_s32(p, v, vlen, vcol, "aux2", &ev->aux2);
	if (tx_tok_is(&key, "aux3"))
		return tx_num_u32(p, v, vlen, vcol, "aux3", &ev->aux3);
	return op_key(p, op, &key, v, vlen, vcol, ev);
}

/* [TS] TID[/COMM]: the event's time, thread and command name; *i: the next token. */
static int line_head(struct parser *p, struct klt_event *ev, size_t *i)
{
	const struct tok *tk;
	size_t slash;
	char b[64], *comm;
	int err;

	if (p->ntoks >= 2 && tx_all_digits(p->toks[0].s, p->toks[0].len) &&
	    tx_is_digit(p->toks[1].s[0])) {
		uint64_t ts;

		err = tx_num_u64(p, p->toks[0].s, p->toks[0].len, p->toks[0].col, "timestamp", &ts);
		if (err)
			return err;
		ev->ts = ts;
		*i = 1;
	} else {
		ev->ts = p->have_ts ? p->last_ts + TS_STEP : TS_STEP;
	}

	tk = &p->toks[(*i)++];
	for (slash = 0; slash < tk->len && tk->s[slash] != '/'; slash++)
		;
	if (!tx_all_digits(tk->s, slash))
		return tx_perr(p, tk->col, "bad thread id '%s' (expected [TS] TID[/COMM] OP ...)",
			       tx_show(tk->s, slash, b, sizeof(b)));
	err = tx_num_u32(p, tk->s, slash, tk->col, "thread id", &ev->tid);
	if (err)
		return err;
	ev->pid = ev->tid;
	if (slash == tk->len)
		return 0;
	err = tx_decode(p, tk->s + slash + 1, tk->len - slash - 1, tk->col + slash + 1,
			"command name", &comm);
	if (err)
		return err;
	if (strlen(comm) > KLT_COMM_LEN) {
		free(comm);
		return tx_perr(p, tk->col + slash + 1, "command name longer than %d bytes",
			       KLT_COMM_LEN);
	}
	/* 16 bytes without a NUL are legal: the kernel's comm is NUL-padded, not terminated */
	memcpy(ev->comm, comm, strlen(comm));
	free(comm);
	return 0;
}

/* OP at token *i: *op (raw_op for ev-N); *i: the next token. */
static int line_op(struct parser *p, size_t *i, struct op_desc *raw_op,
		   const struct op_desc **op)
{
	const struct tok *tk;
	char b[64];

	if (*i >= p->ntoks) {
		tk = &p->toks[*i - 1];
		return tx_perr(p, tk->col + tk->len, "missing operation (expected " OP_LIST ")");
	}
	tk = &p->toks[(*i)++];
	*op = tx_op_by_name(tk);
	if (!*op && tk->len > 3 && !memcmp(tk->s, "ev-", 3)) {
		uint64_t type;

		/* any event type by number, every field a key: exact round trips of newer types */
		if (!tx_parse_u64(tk->s + 3, tk->len - 3, &type) || type > UINT16_MAX)
			return tx_perr(p, tk->col + 3, "bad event type '%s' (expected ev-N, N < 65536)",
				       tx_show(tk->s + 3, tk->len - 3, b, sizeof(b)));
		raw_op->type = (uint16_t)type;
		*op = raw_op;
	}
	if (!*op)
		return tx_perr(p, tk->col, "unknown operation '%s' (expected " OP_LIST ")",
			       tx_show(tk->s, tk->len, b, sizeof(b)));
	return 0;
}

/* The column of token i, or just past the last one when there is none. */
static size_t col_at(const struct parser *p, size_t i)
{
	const struct tok *last = &p->toks[i - 1];

	return i < p->ntoks ? p->toks[i].col : last->col + last->len;
}

/* The positional arguments of a lock operation: LOCK [KIND]; *i: the next token. */
static int lock_args(struct parser *p, const struct op_desc *op, size_t *i, struct klt_event *ev)
{
	int kind = -1, err;
	char b[64];
	uint64_t a;

	if (*i >= p->ntoks || memchr(p->toks[*i].s, '=', p->toks[*i].len))
		return tx_perr(p, col_at(p, *i), "missing lock after '%s' (expected NAME, 0xADDR or "
			       "CLASS@0xADDR)", op->name);
	err = tx_parse_lock(p, &p->toks[(*i)++], &a);
	if (err)
		return err;
	ev->lock = a;
	if (*i < p->ntoks && !memchr(p->toks[*i].s, '=', p->toks[*i].len) &&
	    mode_from(p->toks[*i].s, p->toks[*i].len) < 0) {
		kind = kind_from(p->toks[*i].s, p->toks[*i].len);
		if (kind < 0)
			return tx_perr(p, p->toks[*i].col, "unknown lock kind '%s' (expected "
				       KIND_LIST ")", tx_show(p->toks[*i].s, p->toks[*i].len, b,
							      sizeof(b)));
		(*i)++;
	}
	if (kind < 0 && op->kind_opt == 1) {
		kind = KLT_LK_SRCU;
	} else if (kind < 0 && op->kind_opt == 2) {
		kind = kind_get(&p->kinds, ev->lock);
		if (kind < 0)
			kind = KLT_LK_MUTEX;
	} else if (kind < 0) {
		return tx_perr(p, col_at(p, *i), "missing lock kind after the lock (expected "
			       KIND_LIST ")");
	}
	ev->kind = (uint8_t)kind;
	return 0;
}

/* The positional argument of a function operation: FRAME; *i: the next token. */
static int func_args(struct parser *p, const struct op_desc *op, size_t *i, struct klt_event *ev)
{
	uint64_t a;
	int err;

	if (*i >= p->ntoks || memchr(p->toks[*i].s, '=', p->toks[*i].len))
		return tx_perr(p, col_at(p, *i), "missing function after '%s' (expected 0xADDR, "
			       "SYMBOL or SYMBOL+0xOFF)", op->name);
	err = tx_parse_frame(p, p->toks[*i].s, p->toks[*i].len, p->toks[*i].col, &a);
	if (err)
		return err;
	ev->lock = a;
	(*i)++;
	return 0;
}

/* The rest of the line from token i: key=value, a mode, cpuhp words, the pm phase. */
static int line_rest(struct parser *p, const struct op_desc *op, size_t i, struct klt_event *ev)
{
	bool have_phase = false;
	char b[64];
	int err;

	for (; i < p->ntoks; i++) {
		const struct tok *tk = &p->toks[i];
		int m;

		if (memchr(tk->s, '=', tk->len)) {
			err = event_key(p, op, tk, ev);
			if (err)
				return err;
			continue;
		}
		m = mode_from(tk->s, tk->len);
		if (m >= 0 && op->cls == OPC_LOCK) {
			ev->mode = (uint8_t)m;
		} else if (op->cls == OPC_CPUHP_ENTER && tx_tok_is(tk, "atomic")) {
			ev->flags |= KLT_F_CPUHP_ATOMIC;
		} else if (op->cls == OPC_CPUHP_ENTER && tx_tok_is(tk, "multi")) {
			ev->flags |= KLT_F_CPUHP_MULTI;
		} else if (op->cls == OPC_PM && !have_phase) {
			char *ph;

			err = tx_decode(p, tk->s, tk->len, tk->col, "phase", &ph);
			if (err)
				return err;
			ev->aux0 = (uint32_t)klt_pm_phase_from_name(ph);
			free(ph);
			have_phase = true;
		} else {
			return tx_perr(p, tk->col, "unexpected '%s' after '%s' (expected key=value: %s)",
				       tx_show(tk->s, tk->len, b, sizeof(b)), op->name, keys_for(op));
		}
	}
	return 0;
}

/* The parsed event into the trace (two for "lock"), and what later lines default to. */
static int line_commit(struct parser *p, const struct op_desc *op, struct klt_event *ev)
{
	if (op->cls == OPC_LOCK && kind_set(&p->kinds, ev->lock, ev->kind))
		return tx_oom(p);
	if (op->type == KLT_EV_EDGE && KLT_F_HELD_KIND(ev->flags) &&
	    kind_set(&p->kinds, (uint64_t)ev->aux1 << 32 | ev->aux0, KLT_F_HELD_KIND(ev->flags)))
		return tx_oom(p);
	if (klt_trace_add_event(p->t, ev))
		return tx_oom(p);
	if (op->type == OP_LOCK_BOTH) {
		ev->type = KLT_EV_ACQUIRED;
		if (klt_trace_add_event(p->t, ev))
			return tx_oom(p);
	}
	p->last_ts = ev->ts;
	p->have_ts = true;
	return 0;
}

int tx_event_line(struct parser *p)
{
	struct op_desc raw_op = { "ev-N", 0, OPC_RAW, 0, KLT_MODE_WRITE };
	const struct op_desc *op = NULL;
	struct klt_event ev;
	size_t i = 0;
	int err;

	memset(&ev, 0, sizeof(ev));
	ev.stack_id = KLT_NO_STACK;
	err = line_head(p, &ev, &i);
	if (!err)
		err = line_op(p, &i, &raw_op, &op);
	if (err)
		return err;
	ev.type = op->type == OP_LOCK_BOTH ? KLT_EV_ATTEMPT : op->type;
	if (op->type == KLT_EV_EDGE && op->cls == OPC_LOCK)
		ev.aux2 = KLT_NO_STACK; /* the held lock's stack */
	ev.mode = op->default_mode;
	if (op->cls == OPC_LOCK)
		err = lock_args(p, op, &i, &ev);
	else if (op->cls == OPC_FUNC)
		err = func_args(p, op, &i, &ev);
	if (!err)
		err = line_rest(p, op, i, &ev);
	if (!err)
		err = line_commit(p, op, &ev);
	return err;
}
