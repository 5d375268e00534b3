// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Text form of a trace (docs/text-format.md): how users write scenarios and how tests write
 * fixtures. The parser is single pass, line by line, with no recursion; every lookup it does
 * per token is hashed, so its cost is linear in the input (it is fuzzed). The writer is
 * canonical: parsing its output and writing again gives the same bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "trace.h"
#include "traceio.h"

#define SYNTH_LOCK_BASE 0xffffffffa0000000ull /* + 0x100 * k: static locks named only in text */
#define SYNTH_LOCK_STEP 0x100ull
#define SYNTH_FUNC_BASE 0xffffffff80000000ull /* + 0x10000 * k: functions named only in text */
#define SYNTH_FUNC_STEP 0x10000ull
#define TS_STEP 1000

struct tok {
	const char *s;
	size_t len;
	size_t col; /* 1-based */
};

struct parser {
	const char *name;
	struct klt_trace *t;
	struct klt_err *err;
	size_t line;
	struct tok *toks;
	size_t ntoks, tcap;
	uint64_t last_ts;
	bool have_ts;
	struct klt_hmap kinds; /* lock address -> the kind last seen (for unlock/contend-end) */
	struct klt_hmap stab;  /* interned stacks: (hash of frames, nr) -> stack id */
	uint64_t *frames;
	size_t fcap;
	uint64_t lock_k, func_k;
};

/* OPC_RAW: no positional arguments, every field by key (exit, and "ev-N" for future types) */
enum op_class { OPC_LOCK, OPC_CPUHP_ENTER, OPC_CPUHP_EXIT, OPC_PM, OPC_FUNC, OPC_RAW };

struct op_desc {
	const char *name;
	uint32_t type; /* enum klt_ev_type, or OP_LOCK_BOTH (outside the 16-bit event range) */
	uint8_t cls;
	uint8_t kind_opt;     /* 1: default srcu, 2: default last seen (else mutex), 0: required */
	uint8_t default_mode;
};

#define OP_LOCK_BOTH 0x10000u /* "lock": ATTEMPT then ACQUIRED; no event type can be it */

static const struct op_desc ops[] = {
	{ "lock", OP_LOCK_BOTH, OPC_LOCK, 0, KLT_MODE_WRITE },
	{ "attempt", KLT_EV_ATTEMPT, OPC_LOCK, 0, KLT_MODE_WRITE },
	{ "acquired", KLT_EV_ACQUIRED, OPC_LOCK, 0, KLT_MODE_WRITE },
	{ "unlock", KLT_EV_RELEASE, OPC_LOCK, 2, KLT_MODE_WRITE },
	{ "trylock", KLT_EV_TRY_OK, OPC_LOCK, 0, KLT_MODE_WRITE },
	{ "trylock-fail", KLT_EV_TRY_FAIL, OPC_LOCK, 0, KLT_MODE_WRITE },
	{ "srcu-read-lock", KLT_EV_SRCU_READ_LOCK, OPC_LOCK, 1, KLT_MODE_RREAD },
	{ "srcu-read-unlock", KLT_EV_SRCU_READ_UNLOCK, OPC_LOCK, 1, KLT_MODE_WRITE },
	{ "synchronize-srcu", KLT_EV_SRCU_SYNC, OPC_LOCK, 1, KLT_MODE_WRITE },
	{ "cpuhp-enter", KLT_EV_CPUHP_ENTER, OPC_CPUHP_ENTER, 0, KLT_MODE_WRITE },
	{ "cpuhp-exit", KLT_EV_CPUHP_EXIT, OPC_CPUHP_EXIT, 0, KLT_MODE_WRITE },
	{ "pm-begin", KLT_EV_PM_BEGIN, OPC_PM, 0, KLT_MODE_WRITE },
	{ "pm-end", KLT_EV_PM_END, OPC_PM, 0, KLT_MODE_WRITE },
	{ "contend-begin", KLT_EV_CONTEND_BEGIN, OPC_LOCK, 0, KLT_MODE_WRITE },
	{ "contend-end", KLT_EV_CONTEND_END, OPC_LOCK, 2, KLT_MODE_WRITE },
	{ "exit", KLT_EV_TASK_EXIT, OPC_RAW, 0, KLT_MODE_WRITE },
	{ "edge", KLT_EV_EDGE, OPC_LOCK, 0, KLT_MODE_WRITE },
	{ "func-enter", KLT_EV_FUNC_ENTER, OPC_FUNC, 0, KLT_MODE_WRITE },
	{ "func-exit", KLT_EV_FUNC_EXIT, OPC_FUNC, 0, KLT_MODE_WRITE },
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))
#define OP_LIST "lock, attempt, acquired, unlock, trylock, trylock-fail, srcu-read-lock, " \
	"srcu-read-unlock, synchronize-srcu, cpuhp-enter, cpuhp-exit, pm-begin, pm-end, " \
	"contend-begin, contend-end, exit, edge, func-enter, func-exit, ev-N"
#define KIND_LIST "mutex, rwsem, percpu-rwsem, spinlock, srcu, pthread-mutex, pthread-rwlock"
#define NUM_HINT "decimal or 0x-prefixed hex"

static const struct op_desc *op_by_type(unsigned type)
{
	size_t i;

	for (i = 1; i < NOPS; i++)
		if (ops[i].type == type)
			return &ops[i];
	return NULL;
}

static bool tok_is(const struct tok *t, const char *s)
{
	size_t l = strlen(s);

	return t->len == l && !memcmp(t->s, s, l);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A token for an error message: at most 48 bytes, non-printables as '?'. */
static const char *show(const char *s, size_t len, char *buf, size_t blen)
{
	size_t i, n = len < blen - 4 ? len : blen - 4;

	for (i = 0; i < n; i++)
		buf[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static int perr(struct parser *p, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, size_t col, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err)
		snprintf(p->err->msg, sizeof(p->err->msg), "%s:%zu:%zu: %s", p->name, p->line, col,
			 msg);
	return -EINVAL;
}

static int oom(struct parser *p)
{
	if (p->err)
		snprintf(p->err->msg, sizeof(p->err->msg), "%s:%zu: out of memory", p->name,
			 p->line);
	return -ENOMEM;
}

/* --- numbers -------------------------------------------------------------------------------- */

static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < len; i++) {
			char c = s[i];
			unsigned d;

			if (is_digit(c))
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return false;
			if (v >> 60)
				return false;
			v = v << 4 | d;
		}
		*out = v;
		return true;
	}
	if (!len)
		return false;
	for (; i < len; i++) {
		if (!is_digit(s[i]) || v > (UINT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int num_u64(struct parser *p, const char *s, size_t len, size_t col, const char *what,
		   uint64_t *out)
{
	char b[64];

	if (!parse_u64(s, len, out))
		return perr(p, col, "bad number '%s' for %s (expected " NUM_HINT ")",
			    show(s, len, b, sizeof(b)), what);
	return 0;
}

static int num_u32(struct parser *p, const char *s, size_t len, size_t col, const char *what,
		   uint32_t *out)
{
	uint64_t v;
	char b[64];
	int err = num_u64(p, s, len, col, what, &v);

	if (err)
		return err;
	if (v > UINT32_MAX)
		return perr(p, col, "number '%s' out of range for %s (max 4294967295)",
			    show(s, len, b, sizeof(b)), what);
	*out = (uint32_t)v;
	return 0;
}

static int num_s32(struct parser *p, const char *s, size_t len, size_t col, const char *what,
		   int32_t *out)
{
	bool neg = len && s[0] == '-';
	uint64_t v;
	char b[64];

	if (!parse_u64(s + neg, len - neg, &v))
		return perr(p, col, "bad number '%s' for %s (expected signed decimal or 0x hex)",
			    show(s, len, b, sizeof(b)), what);
	if (v > (neg ? 0x80000000ull : 0x7fffffffull))
		return perr(p, col, "number '%s' out of range for %s (32-bit signed)",
			    show(s, len, b, sizeof(b)), what);
	*out = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
	return 0;
}

/* --- escapes -------------------------------------------------------------------------------- */

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode \xHH escapes into a new string (*out, malloc'd). */
static int decode(struct parser *p, const char *s, size_t len, size_t col, const char *what,
		  char **out)
{
	char *d = malloc(len + 1), b[8];
	size_t i, n = 0;

	if (!d)
		return oom(p);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			int hi = i + 3 < len ? 0 : -1, lo;

			if (hi == 0 && s[i + 1] == 'x') {
				hi = hexval(s[i + 2]);
				lo = hexval(s[i + 3]);
				if (hi >= 0 && lo >= 0 && (hi || lo)) {
					d[n++] = (char)(hi << 4 | lo);
					i += 3;
					continue;
				}
			}
			free(d);
			return perr(p, col + i, "bad escape '%s' in %s (expected \\xHH, not \\x00)",
				    show(s + i, len - i < 4 ? len - i : 4, b, sizeof(b)), what);
		}
		if (!c) {
			/* names are C strings: \x00 cannot be written either */
			free(d);
			return perr(p, col + i, "NUL byte in %s (a name ends at its first NUL: leave "
				    "it out)", what);
		}
		if (c < 0x20 || c == 0x7f) {
			free(d);
			return perr(p, col + i, "control character 0x%02x in %s (write it as \\x%02x)",
				    c, what, c);
		}
		d[n++] = (char)c;
	}
	d[n] = '\0';
	*out = d;
	return 0;
}

/* --- maps ----------------------------------------------------------------------------------- */

static int kind_set(struct klt_hmap *m, uint64_t key, uint8_t kind)
{
	uint32_t *v = klt_hmap_ref(m, key, 0);

	if (v) {
		*v = kind;
		return 0;
	}
	if (klt_hmap_reserve(m, 1))
		return -ENOMEM;
	klt_hmap_put(m, key, 0, kind);
	return 0;
}

static int kind_get(const struct klt_hmap *m, uint64_t key)
{
	uint32_t v = klt_hmap_find(m, key, 0);

	return v == KLT_NIL ? -1 : (int)v;
}

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
static int stab_find(const struct parser *p, const uint64_t *ips, uint32_t nr)
{
	struct frames_key k = { p->t, ips, nr };
	uint32_t id = klt_hmap_find_eq(&p->stab, klt_hash_seq64(ips, nr), nr, frames_eq, &k);

	return id == KLT_NIL ? -1 : (int)id;
}

/* Make the stack at id findable by its frames; the caller checked that none is (first id wins). */
static int stab_add(struct parser *p, uint32_t id)
{
	const struct klt_stack *s = &p->t->stacks[id];

	if (klt_hmap_reserve(&p->stab, 1))
		return -ENOMEM;
	klt_hmap_put(&p->stab, klt_hash_seq64(s->ips, s->nr), s->nr, id);
	return 0;
}

/* --- symbols -------------------------------------------------------------------------------- */

static bool all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return false;
	return len > 0;
}

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
			    parse_u64(s + i + 1, len - i - 1, &v))
				return (long)i;
			return -1;
		}
	}
	return -1;
}

/* FRAME: 0xADDR, SYMBOL or SYMBOL+0xOFF; unknown SYMBOLs get a synthetic FUNC address. */
static int parse_frame(struct parser *p, const char *s, size_t len, size_t col, uint64_t *addr)
{
	const struct klt_sym *sym;
	uint64_t off = 0;
	long plus;
	char *name, b[64];
	int err;

	if (is_hex_prefix(s, len))
		return num_u64(p, s, len, col, "frame address", addr);
	if (!len || all_digits(s, len))
		return perr(p, col, "bad frame '%s' (expected 0xADDR, SYMBOL or SYMBOL+0xOFF)",
			    show(s, len, b, sizeof(b)));
	plus = split_at(s, len, '+');
	if (plus > 0) {
		parse_u64(s + plus + 1, len - plus - 1, &off);
		len = (size_t)plus;
	} else if (plus == 0) {
		return perr(p, col, "missing symbol name before '+' in frame");
	}
	err = decode(p, s, len, col, "symbol name", &name);
	if (err)
		return err;
	sym = klt_symtab_by_name(p->t->syms, name, KLT_SYM_FUNC);
	if (!sym) {
		uint64_t a;

		do {
			a = SYNTH_FUNC_BASE + SYNTH_FUNC_STEP * p->func_k++;
		} while (klt_symtab_exact(p->t->syms, a, KLT_SYM_FUNC));
		if (klt_symtab_add(p->t->syms, a, SYNTH_FUNC_STEP, KLT_SYM_FUNC, name, NULL)) {
			free(name);
			return oom(p);
		}
		sym = klt_symtab_exact(p->t->syms, a, KLT_SYM_FUNC);
	}
	free(name);
	*addr = sym->addr + off;
	return 0;
}

/* LOCK: NAME (static lock), 0xADDR (anonymous instance) or CLASS@0xADDR (explicit class). */
static int parse_lock(struct parser *p, const struct tok *tk, uint64_t *addr)
{
	const struct klt_sym *sym;
	long at;
	char *name;
	int err;

	if (is_hex_prefix(tk->s, tk->len))
		return num_u64(p, tk->s, tk->len, tk->col, "lock address", addr);
	if (all_digits(tk->s, tk->len))
		return perr(p, tk->col, "bad lock '%.*s' (expected NAME, 0xADDR or CLASS@0xADDR)",
			    (int)tk->len, tk->s);
	at = split_at(tk->s, tk->len, '@');
	if (at == 0)
		return perr(p, tk->col, "missing class name before '@' in lock");
	if (at > 0) {
		parse_u64(tk->s + at + 1, tk->len - at - 1, addr);
		err = decode(p, tk->s, (size_t)at, tk->col, "class name", &name);
		if (err)
			return err;
		err = klt_symtab_add(p->t->syms, *addr, 0, KLT_SYM_CLASS, name, NULL);
		free(name);
		return err ? oom(p) : 0;
	}
	err = decode(p, tk->s, tk->len, tk->col, "lock name", &name);
	if (err)
		return err;
	sym = klt_symtab_by_name(p->t->syms, name, KLT_SYM_DATA);
	if (!sym) {
		uint64_t a;

		do {
			a = SYNTH_LOCK_BASE + SYNTH_LOCK_STEP * p->lock_k++;
		} while (klt_symtab_exact(p->t->syms, a, KLT_SYM_DATA));
		if (klt_symtab_add(p->t->syms, a, 0, KLT_SYM_DATA, name, NULL)) {
			free(name);
			return oom(p);
		}
		sym = klt_symtab_exact(p->t->syms, a, KLT_SYM_DATA);
	}
	free(name);
	*addr = sym->addr;
	return 0;
}

/* Frames separated by ';' into p->frames. */
static int parse_frames(struct parser *p, const char *s, size_t len, size_t col, uint32_t *nr)
{
	size_t i = 0, n = 0;
	int err;

	for (;;) {
		const char *e = memchr(s + i, ';', len - i);
		size_t flen = e ? (size_t)(e - (s + i)) : len - i;

		if (n == p->fcap) {
			size_t ncap = p->fcap ? p->fcap * 2 : 64;
			uint64_t *nf = ncap < (1u << 26) ? realloc(p->frames, ncap * 8) : NULL;

			if (!nf)
				return oom(p);
			p->frames = nf;
			p->fcap = ncap;
		}
		err = parse_frame(p, s + i, flen, col + i, &p->frames[n]);
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

/* --- directives ----------------------------------------------------------------------------- */

static int need_toks(struct parser *p, size_t n, const char *usage)
{
	const struct tok *last = &p->toks[p->ntoks - 1];

	if (p->ntoks < n)
		return perr(p, last->col + last->len, "missing argument (expected %s)", usage);
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
		return perr(p, p->toks[3].col, "unexpected '%s' (@info takes one value; write "
			    "spaces as \\x20)", show(p->toks[3].s, p->toks[3].len, b, sizeof(b)));
	if (tok_is(k, "tool"))
		dst = in->tool_version, dlen = sizeof(in->tool_version);
	else if (tok_is(k, "kernel"))
		dst = in->kernel_release, dlen = sizeof(in->kernel_release);
	else if (tok_is(k, "machine"))
		dst = in->machine, dlen = sizeof(in->machine);
	else if (tok_is(k, "hostname"))
		dst = in->hostname, dlen = sizeof(in->hostname);
	else if (tok_is(k, "clock"))
		dst = in->clock, dlen = sizeof(in->clock);
	else if (tok_is(k, "attach"))
		dst = in->attach_mode, dlen = sizeof(in->attach_mode);
	else if (tok_is(k, "start"))
		return num_u64(p, v->s, v->len, v->col, "start", &in->start_realtime_ns);
	else
		return perr(p, k->col, "unknown info key '%s' (expected tool, kernel, machine, "
			    "hostname, clock, attach, start)", show(k->s, k->len, b, sizeof(b)));
	err = decode(p, v->s, v->len, v->col, "info value", &val);
	if (err)
		return err;
	if (strlen(val) >= dlen) {
		free(val);
		return perr(p, v->col, "info value too long (max %zu bytes)", dlen - 1);
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
	err = num_u64(p, p->toks[1].s, p->toks[1].len, p->toks[1].col, "symbol address", &addr);
	if (err)
		return err;
	ty = &p->toks[2];
	if (ty->len != 1 || (ty->s[0] != 'T' && ty->s[0] != 'D' && ty->s[0] != 'C'))
		return perr(p, ty->col, "unknown symbol type '%s' (expected T, D or C)",
			    show(ty->s, ty->len, b, sizeof(b)));
	err = decode(p, p->toks[3].s, p->toks[3].len, p->toks[3].col, "symbol name", &name);
	for (i = 4; i < p->ntoks && !err; i++) {
		const struct tok *tk = &p->toks[i];

		if (tk->len > 5 && !memcmp(tk->s, "size=", 5)) {
			err = num_u64(p, tk->s + 5, tk->len - 5, tk->col + 5, "size", &size);
		} else if (tk->len >= 2 && tk->s[0] == '[' && tk->s[tk->len - 1] == ']' && !mod) {
			err = decode(p, tk->s + 1, tk->len - 2, tk->col + 1, "module name", &mod);
		} else {
			err = perr(p, tk->col, "unexpected '%s' (expected size=0xN or [MODULE])",
				   show(tk->s, tk->len, b, sizeof(b)));
		}
	}
	if (!err && klt_symtab_add(p->t->syms, addr, size, ty->s[0], name, mod))
		err = oom(p);
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
	err = num_u32(p, p->toks[1].s, p->toks[1].len, p->toks[1].col, "stack id", &id);
	if (err)
		return err;
	if (id >= KLT_MAX_STACK_ID)
		return perr(p, p->toks[1].col, "stack id %u out of range (max %d)", id,
			    KLT_MAX_STACK_ID - 1);
	for (i = 2; i < p->ntoks; i++) {
		const struct tok *tk = &p->toks[i];

		/* one frame per token here; reuse the ';' list parser for the buffer management */
		if (memchr(tk->s, ';', tk->len))
			return perr(p, tk->col, "unexpected ';' (@stack frames are separated by "
				    "spaces)");
		if (nr == p->fcap || !p->frames) {
			size_t ncap = p->fcap ? p->fcap * 2 : 64;
			uint64_t *nf = ncap < (1u << 26) ? realloc(p->frames, ncap * 8) : NULL;

			if (!nf)
				return oom(p);
			p->frames = nf;
			p->fcap = ncap;
		}
		err = parse_frame(p, tk->s, tk->len, tk->col, &p->frames[nr]);
		if (err)
			return err;
		nr++;
	}
	old = klt_trace_stack(p->t, (int32_t)id);
	if (old) {
		n = old->nr;
		if (n == nr && !memcmp(old->ips, p->frames, nr * sizeof(uint64_t)))
			return 0;
		return perr(p, p->toks[1].col, "stack %u already defined with other frames", id);
	}
	if (klt_trace_set_stack(p->t, (int32_t)id, p->frames, nr) ||
	    (stab_find(p, p->frames, nr) < 0 && stab_add(p, id)))
		return oom(p);
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
	err = num_u64(p, v->s, v->len, v->col, "counter value", &val);
	if (!err)
		err = decode(p, p->toks[1].s, p->toks[1].len, p->toks[1].col, "counter name",
			     &name);
	if (err)
		return err;
	if (strlen(name) >= sizeof(p->t->counters[0].name)) {
		free(name);
		return perr(p, p->toks[1].col, "counter name too long (max %zu bytes)",
			    sizeof(p->t->counters[0].name) - 1);
	}
	for (i = 0; i < p->t->ncounters; i++)
		if (!strcmp(p->t->counters[i].name, name))
			break;
	if (i < p->t->ncounters)
		p->t->counters[i].value = val; /* a later @counter replaces the value */
	else if (klt_trace_add_counter(p->t, name, val))
		err = perr(p, p->toks[1].col, "too many counters (max %d)", KLT_MAX_COUNTERS);
	free(name);
	return err;
}

static int directive(struct parser *p)
{
	const struct tok *d = &p->toks[0];
	char b[64];

	if (tok_is(d, "@klt-text")) {
		if (p->ntoks != 2 || !tok_is(&p->toks[1], "1"))
			return perr(p, p->ntoks > 1 ? p->toks[1].col : d->col + d->len,
				    "unsupported text format version (expected '@klt-text 1')");
		return 0;
	}
	if (tok_is(d, "@info"))
		return dir_info(p);
	if (tok_is(d, "@sym"))
		return dir_sym(p);
	if (tok_is(d, "@stack"))
		return dir_stack(p);
	if (tok_is(d, "@counter"))
		return dir_counter(p);
	return perr(p, d->col, "unknown directive '%s' (expected @klt-text, @info, @sym, @stack, "
		    "@counter)", show(d->s, d->len, b, sizeof(b)));
}

/* --- events --------------------------------------------------------------------------------- */

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
		return "cb, hpcpu, state, idx, at, stack, pid, cpu, flags, aux0, aux1, aux2";
	case OPC_CPUHP_EXIT:
		return "hpcpu, state, ret, at, stack, pid, cpu, flags, aux0, aux1, aux2";
	case OPC_PM:
		return "val, at, stack, pid, cpu, flags, aux0, aux1, aux2";
	case OPC_FUNC:
		if (op->type == KLT_EV_FUNC_EXIT)
			return "ret, at, stack, pid, cpu, flags, aux0, aux1";
		return "at, stack, pid, cpu, flags, aux0, aux1, aux2";
	case OPC_RAW:
		return "at, stack, pid, cpu, flags, aux0, aux1, aux2, kind, mode, lock";
	}
	if (op->type == KLT_EV_CONTEND_BEGIN)
		return "flags, mode, at, stack, pid, cpu, evflags, aux1, aux2";
	if (op->type == KLT_EV_CONTEND_END)
		return "ret, mode, at, stack, pid, cpu, flags, aux0, aux1";
	if (op->type == KLT_EV_EDGE)
		return "held, held-kind, held-mode, held-stack, mode, at, stack, pid, cpu, flags";
	return "mode, at, stack, pid, cpu, flags, aux0, aux1, aux2";
}

/*
 * EDGE keys: the held lock (aux0 | aux1 << 32), its kind and mode (flags bits 20..27, 16..19)
 * and its stack id (aux2).
 */
static int edge_key(struct parser *p, const struct op_desc *op, const struct tok *key,
		    const char *v, size_t vlen, size_t vcol, struct klt_event *ev)
{
	char b[64];
	int err;

	if (tok_is(key, "held")) {
		struct tok tk = { v, vlen, vcol };
		uint64_t a;

		if (!vlen)
			return perr(p, vcol, "missing lock after 'held=' (expected NAME, 0xADDR or "
				    "CLASS@0xADDR)");
		err = parse_lock(p, &tk, &a);
		if (err)
			return err;
		ev->aux0 = (uint32_t)a;
		ev->aux1 = (uint32_t)(a >> 32);
		return 0;
	}
	if (tok_is(key, "held-kind")) {
		int k = kind_from(v, vlen);
		uint64_t x;

		if (k < 0) {
			if (!parse_u64(v, vlen, &x) || x > 255)
				return perr(p, vcol, "unknown lock kind '%s' (expected " KIND_LIST ")",
					    show(v, vlen, b, sizeof(b)));
			k = (int)x;
		}
		ev->flags &= ~(0xffu << KLT_F_HELD_KIND_SHIFT);
		ev->flags |= (uint32_t)k << KLT_F_HELD_KIND_SHIFT;
		return 0;
	}
	if (tok_is(key, "held-mode")) {
		int m = mode_from(v, vlen);
		uint64_t x;

		if (m < 0) {
			if (!parse_u64(v, vlen, &x) || x > 15)
				return perr(p, vcol, "unknown mode '%s' (expected write, read, rread)",
					    show(v, vlen, b, sizeof(b)));
			m = (int)x;
		}
		ev->flags &= ~(0xfu << KLT_F_HELD_MODE_SHIFT);
		ev->flags |= (uint32_t)m << KLT_F_HELD_MODE_SHIFT;
		return 0;
	}
	if (tok_is(key, "held-stack")) {
		if (!vlen || v[0] != '#')
			return perr(p, vcol, "bad held stack '%s' (expected #ID)",
				    show(v, vlen, b, sizeof(b)));
		return num_s32(p, v + 1, vlen - 1, vcol + 1, "held stack id", &ev->aux2);
	}
	return perr(p, key->col, "unknown key '%s' for '%s' (expected %s)",
		    show(key->s, key->len, b, sizeof(b)), op->name, keys_for(op));
}

static int event_key(struct parser *p, const struct op_desc *op, const struct tok *tk,
		     struct klt_event *ev)
{
	const char *eq = memchr(tk->s, '=', tk->len);
	size_t klen = (size_t)(eq - tk->s), vcol = tk->col + klen + 1;
	const char *v = eq + 1;
	size_t vlen = tk->len - klen - 1;
	struct tok key = { tk->s, klen, tk->col };
	uint32_t u;
	char b[64];
	int err;

	if (tok_is(&key, "at"))
		{
		uint64_t a;

		err = parse_frame(p, v, vlen, vcol, &a);
		ev->ip = a;
		return err;
	}
	if (tok_is(&key, "stack")) {
		uint32_t nr = 0;
		int id;

		if (vlen && v[0] == '#')
			return num_s32(p, v + 1, vlen - 1, vcol + 1, "stack id", &ev->stack_id);
		err = parse_frames(p, v, vlen, vcol, &nr);
		if (err)
			return err;
		id = stab_find(p, p->frames, nr);
		if (id < 0) {
			if (p->t->nstacks >= KLT_MAX_STACK_ID)
				return perr(p, vcol, "too many stacks");
			id = (int)p->t->nstacks;
			if (klt_trace_set_stack(p->t, id, p->frames, nr) || stab_add(p, id))
				return oom(p);
		}
		ev->stack_id = id;
		return 0;
	}
	if (tok_is(&key, "pid"))
		return num_u32(p, v, vlen, vcol, "pid", &ev->pid);
	if (tok_is(&key, "cpu"))
		return num_u32(p, v, vlen, vcol, "cpu", &ev->cpu);
	if (tok_is(&key, "mode")) {
		int m = mode_from(v, vlen);

		if (m < 0) {
			uint64_t x;

			if (!parse_u64(v, vlen, &x) || x > 255)
				return perr(p, vcol, "unknown mode '%s' (expected write, read, rread)",
					    show(v, vlen, b, sizeof(b)));
			m = (int)x;
		}
		ev->mode = (uint8_t)m;
		return 0;
	}
	if (tok_is(&key, "kind")) {
		int k = kind_from(v, vlen);

		if (k < 0) {
			uint64_t x;

			if (!parse_u64(v, vlen, &x) || x > 255)
				return perr(p, vcol, "unknown lock kind '%s' (expected " KIND_LIST ")",
					    show(v, vlen, b, sizeof(b)));
			k = (int)x;
		}
		ev->kind = (uint8_t)k;
		return 0;
	}
	if (tok_is(&key, "lock")) {
		uint64_t a;

		err = num_u64(p, v, vlen, vcol, "lock", &a);
		ev->lock = a;
		return err;
	}
	if (tok_is(&key, "evflags")) {
		err = num_u32(p, v, vlen, vcol, "evflags", &u);
		ev->flags |= u;
		return err;
	}
	if (tok_is(&key, "flags")) {
		err = num_u32(p, v, vlen, vcol, "flags", &u);
		if (op->type == KLT_EV_CONTEND_BEGIN && op->cls == OPC_LOCK)
			ev->aux0 = u; /* the tracepoint's flags */
		else
			ev->flags |= u;
		return err;
	}
	if (tok_is(&key, "aux0"))
		return num_u32(p, v, vlen, vcol, "aux0", &ev->aux0);
	if (tok_is(&key, "aux1"))
		return num_u32(p, v, vlen, vcol, "aux1", &ev->aux1);
	if (tok_is(&key, "aux2"))
		return num_s32(p, v, vlen, vcol, "aux2", &ev->aux2);
	if (op->cls == OPC_CPUHP_ENTER || op->cls == OPC_CPUHP_EXIT) {
		if (op->cls == OPC_CPUHP_ENTER && tok_is(&key, "cb")) {
			uint64_t a;

			err = parse_frame(p, v, vlen, vcol, &a);
			ev->lock = a;
			return err;
		}
		if (tok_is(&key, "hpcpu"))
			return num_u32(p, v, vlen, vcol, "hpcpu", &ev->aux0);
		if (tok_is(&key, "state"))
			return num_u32(p, v, vlen, vcol, "state", &ev->aux1);
		if (op->cls == OPC_CPUHP_ENTER && tok_is(&key, "idx"))
			return num_s32(p, v, vlen, vcol, "idx", &ev->aux2);
		if (op->cls == OPC_CPUHP_EXIT && tok_is(&key, "ret"))
			return num_s32(p, v, vlen, vcol, "ret", &ev->aux2);
	}
	if (op->cls == OPC_PM && tok_is(&key, "val"))
		return num_u32(p, v, vlen, vcol, "val", &ev->aux1);
	if ((op->type == KLT_EV_CONTEND_END || op->type == KLT_EV_FUNC_EXIT) &&
	    op->cls != OPC_RAW && tok_is(&key, "ret"))
		return num_s32(p, v, vlen, vcol, "ret", &ev->aux2);
	if (op->type == KLT_EV_EDGE && op->cls == OPC_LOCK)
		return edge_key(p, op, &key, v, vlen, vcol, ev);
	return perr(p, tk->col, "unknown key '%s' for '%s' (expected %s)",
		    show(tk->s, klen, b, sizeof(b)), op->name, keys_for(op));
}

static int event_line(struct parser *p)
{
	struct op_desc raw_op = { "ev-N", 0, OPC_RAW, 0, KLT_MODE_WRITE };
	const struct op_desc *op = NULL;
	const struct tok *tk;
	struct klt_event ev;
	size_t i = 0, j, slash;
	bool have_phase = false;
	char b[64];
	int err;

	memset(&ev, 0, sizeof(ev));
	ev.stack_id = KLT_NO_STACK;
	if (p->ntoks >= 2 && all_digits(p->toks[0].s, p->toks[0].len) &&
	    is_digit(p->toks[1].s[0])) {
		uint64_t ts;

		err = num_u64(p, p->toks[0].s, p->toks[0].len, p->toks[0].col, "timestamp", &ts);
		if (err)
			return err;
		ev.ts = ts;
		i = 1;
	} else {
		ev.ts = p->have_ts ? p->last_ts + TS_STEP : TS_STEP;
	}

	tk = &p->toks[i++];
	for (slash = 0; slash < tk->len && tk->s[slash] != '/'; slash++)
		;
	if (!all_digits(tk->s, slash))
		return perr(p, tk->col, "bad thread id '%s' (expected [TS] TID[/COMM] OP ...)",
			    show(tk->s, slash, b, sizeof(b)));
	err = num_u32(p, tk->s, slash, tk->col, "thread id", &ev.tid);
	if (err)
		return err;
	ev.pid = ev.tid;
	if (slash < tk->len) {
		char *comm;

		err = decode(p, tk->s + slash + 1, tk->len - slash - 1, tk->col + slash + 1,
			     "command name", &comm);
		if (err)
			return err;
		if (strlen(comm) > KLT_COMM_LEN) {
			free(comm);
			return perr(p, tk->col + slash + 1, "command name longer than %d bytes",
				    KLT_COMM_LEN);
		}
		/* 16 bytes without a NUL are legal: the kernel's comm is NUL-padded, not terminated */
		memcpy(ev.comm, comm, strlen(comm));
		free(comm);
	}

	if (i >= p->ntoks)
		return perr(p, tk->col + tk->len, "missing operation (expected " OP_LIST ")");
	tk = &p->toks[i++];
	for (j = 0; j < NOPS; j++)
		if (tok_is(tk, ops[j].name))
			op = &ops[j];
	if (!op && tk->len > 3 && !memcmp(tk->s, "ev-", 3)) {
		uint64_t type;

		/* any event type by number, every field a key: exact round trips of newer types */
		if (!parse_u64(tk->s + 3, tk->len - 3, &type) || type > UINT16_MAX)
			return perr(p, tk->col + 3, "bad event type '%s' (expected ev-N, N < 65536)",
				    show(tk->s + 3, tk->len - 3, b, sizeof(b)));
		raw_op.type = (uint16_t)type;
		op = &raw_op;
	}
	if (!op)
		return perr(p, tk->col, "unknown operation '%s' (expected " OP_LIST ")",
			    show(tk->s, tk->len, b, sizeof(b)));
	ev.type = op->type == OP_LOCK_BOTH ? KLT_EV_ATTEMPT : op->type;
	if (op->type == KLT_EV_EDGE && op->cls == OPC_LOCK)
		ev.aux2 = KLT_NO_STACK; /* the held lock's stack */
	ev.mode = op->default_mode;

	if (op->cls == OPC_LOCK) {
		int kind = -1;
		uint64_t a;

		if (i >= p->ntoks || memchr(p->toks[i].s, '=', p->toks[i].len)) {
			size_t col = i < p->ntoks ? p->toks[i].col : tk->col + tk->len;

			return perr(p, col, "missing lock after '%s' (expected NAME, 0xADDR or "
				    "CLASS@0xADDR)", op->name);
		}
		err = parse_lock(p, &p->toks[i++], &a);
		if (err)
			return err;
		ev.lock = a;
		if (i < p->ntoks && !memchr(p->toks[i].s, '=', p->toks[i].len) &&
		    mode_from(p->toks[i].s, p->toks[i].len) < 0) {
			kind = kind_from(p->toks[i].s, p->toks[i].len);
			if (kind < 0)
				return perr(p, p->toks[i].col, "unknown lock kind '%s' (expected "
					    KIND_LIST ")", show(p->toks[i].s, p->toks[i].len, b,
								 sizeof(b)));
			i++;
		}
		if (kind < 0 && op->kind_opt == 1) {
			kind = KLT_LK_SRCU;
		} else if (kind < 0 && op->kind_opt == 2) {
			kind = kind_get(&p->kinds, ev.lock);
			if (kind < 0)
				kind = KLT_LK_MUTEX;
		} else if (kind < 0) {
			size_t col = i < p->ntoks ? p->toks[i].col : p->toks[i - 1].col +
									  p->toks[i - 1].len;

			return perr(p, col, "missing lock kind after the lock (expected "
				    KIND_LIST ")");
		}
		ev.kind = (uint8_t)kind;
	}

	if (op->cls == OPC_FUNC) {
		uint64_t a;

		if (i >= p->ntoks || memchr(p->toks[i].s, '=', p->toks[i].len)) {
			size_t col = i < p->ntoks ? p->toks[i].col : tk->col + tk->len;

			return perr(p, col, "missing function after '%s' (expected 0xADDR, SYMBOL or "
				    "SYMBOL+0xOFF)", op->name);
		}
		err = parse_frame(p, p->toks[i].s, p->toks[i].len, p->toks[i].col, &a);
		if (err)
			return err;
		ev.lock = a;
		i++;
	}

	for (; i < p->ntoks; i++) {
		int m;

		tk = &p->toks[i];
		if (memchr(tk->s, '=', tk->len)) {
			err = event_key(p, op, tk, &ev);
			if (err)
				return err;
			continue;
		}
		m = mode_from(tk->s, tk->len);
		if (m >= 0 && op->cls == OPC_LOCK) {
			ev.mode = (uint8_t)m;
		} else if (op->cls == OPC_CPUHP_ENTER && tok_is(tk, "atomic")) {
			ev.flags |= KLT_F_CPUHP_ATOMIC;
		} else if (op->cls == OPC_CPUHP_ENTER && tok_is(tk, "multi")) {
			ev.flags |= KLT_F_CPUHP_MULTI;
		} else if (op->cls == OPC_PM && !have_phase) {
			char *ph;

			err = decode(p, tk->s, tk->len, tk->col, "phase", &ph);
			if (err)
				return err;
			ev.aux0 = (uint32_t)klt_pm_phase_from_name(ph);
			free(ph);
			have_phase = true;
		} else {
			return perr(p, tk->col, "unexpected '%s' after '%s' (expected key=value: %s)",
				    show(tk->s, tk->len, b, sizeof(b)), op->name, keys_for(op));
		}
	}

	if (op->cls == OPC_LOCK && kind_set(&p->kinds, ev.lock, ev.kind))
		return oom(p);
	if (op->type == KLT_EV_EDGE && KLT_F_HELD_KIND(ev.flags) &&
	    kind_set(&p->kinds, (uint64_t)ev.aux1 << 32 | ev.aux0, KLT_F_HELD_KIND(ev.flags)))
		return oom(p);
	if (klt_trace_add_event(p->t, &ev))
		return oom(p);
	if (op->type == OP_LOCK_BOTH) {
		ev.type = KLT_EV_ACQUIRED;
		if (klt_trace_add_event(p->t, &ev))
			return oom(p);
	}
	p->last_ts = ev.ts;
	p->have_ts = true;
	return 0;
}

/* Split [s, e) into tokens; a '#' at the start or after a blank starts a comment. */
static int tokenize(struct parser *p, const char *s, const char *e)
{
	const char *q = s;

	p->ntoks = 0;
	while (q < e) {
		const char *b;

		while (q < e && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\v' || *q == '\f'))
			q++;
		if (q == e || *q == '#')
			break;
		b = q;
		while (q < e && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\v' && *q != '\f')
			q++;
		if (p->ntoks == p->tcap) {
			size_t ncap = p->tcap ? p->tcap * 2 : 32;
			struct tok *nt = realloc(p->toks, ncap * sizeof(*nt));

			if (!nt)
				return oom(p);
			p->toks = nt;
			p->tcap = ncap;
		}
		p->toks[p->ntoks].s = b;
		p->toks[p->ntoks].len = (size_t)(q - b);
		p->toks[p->ntoks].col = (size_t)(b - s) + 1;
		p->ntoks++;
	}
	return 0;
}

int klt_text_parse(const char *buf, size_t len, const char *name, struct klt_trace *t,
		   struct klt_err *err)
{
	struct parser p = { .name = name ? name : "<text>", .t = t, .err = err };
	const char *s = buf, *end = buf + len;
	size_t i;
	int ret = 0;

	if (!t->syms)
		return oom(&p);
	if (!buf)
		s = end = "";
	/* stacks already in t take part in interning */
	for (i = 0; i < t->nstacks && !ret; i++)
		if (t->stacks[i].nr && stab_find(&p, t->stacks[i].ips, t->stacks[i].nr) < 0)
			ret = stab_add(&p, i) ? oom(&p) : 0;
	while (!ret && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;

		p.line++;
		ret = tokenize(&p, s, le);
		if (!ret && p.ntoks)
			ret = p.toks[0].s[0] == '@' ? directive(&p) : event_line(&p);
		s = nl ? nl + 1 : end;
	}
	free(p.toks);
	klt_hmap_free(&p.kinds);
	klt_hmap_free(&p.stab);
	free(p.frames);
	return ret;
}

/* --- writer --------------------------------------------------------------------------------- */

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
		if (set == ESC_NAME && i == 0 && is_digit((char)c))
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

static void put_event(FILE *f, struct klt_trace *t, const struct ambig *a,
		      const struct klt_event *e)
{
	const struct op_desc *op = op_by_type(e->type);
	size_t cl = strnlen(e->comm, KLT_COMM_LEN);
	uint32_t flags = e->flags;
	bool aux0 = true, aux1 = true, aux2 = true, lock = true;

	struct op_desc raw_op = { "ev-N", e->type, OPC_RAW, 0, KLT_MODE_WRITE };

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
	switch (op->cls) {
	case OPC_LOCK: {
		const char *kn = klt_lock_kind_name(e->kind);

		fputc(' ', f);
		put_lock(f, t, a, e->lock);
		fprintf(f, " %s", kn ? kn : "mutex");
		lock = false;
		if (e->type == KLT_EV_CONTEND_BEGIN) {
			fprintf(f, " flags=0x%x", e->aux0);
			aux0 = false;
		} else if (e->type == KLT_EV_CONTEND_END) {
			fprintf(f, " ret=%d", e->aux2);
			aux2 = false;
		} else if (e->type == KLT_EV_EDGE) {
			unsigned hk = KLT_F_HELD_KIND(flags), hm = KLT_F_HELD_MODE(flags);

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
			flags &= ~(0xffu << KLT_F_HELD_KIND_SHIFT | 0xfu << KLT_F_HELD_MODE_SHIFT);
			aux0 = aux1 = aux2 = false;
		}
		break;
	}
	case OPC_CPUHP_ENTER:
		fputs(" cb=", f);
		put_frame(f, t, a, e->lock);
		fprintf(f, " hpcpu=%u state=%u idx=%d", e->aux0, e->aux1, e->aux2);
		if (flags & KLT_F_CPUHP_ATOMIC)
			fputs(" atomic", f);
		if (flags & KLT_F_CPUHP_MULTI)
			fputs(" multi", f);
		flags &= ~(KLT_F_CPUHP_ATOMIC | KLT_F_CPUHP_MULTI);
		lock = aux0 = aux1 = aux2 = false;
		break;
	case OPC_CPUHP_EXIT:
		fprintf(f, " hpcpu=%u state=%u ret=%d", e->aux0, e->aux1, e->aux2);
		aux0 = aux1 = aux2 = false;
		break;
	case OPC_FUNC:
		fputc(' ', f);
		put_frame(f, t, a, e->lock);
		lock = false;
		if (e->type == KLT_EV_FUNC_EXIT) {
			fprintf(f, " ret=%d", e->aux2);
			aux2 = false;
		}
		break;
	case OPC_PM: {
		const char *ph = klt_pm_phase_name(e->aux0);

		fprintf(f, " %s val=%u", ph ? ph : "other", e->aux1);
		aux0 = !ph;
		aux1 = false;
		break;
	}
	default:
		break;
	}
	if (e->mode != op->default_mode) {
		const char *mn = klt_mode_name(e->mode);

		if (mn)
			fprintf(f, " mode=%s", mn);
		else
			fprintf(f, " mode=%u", e->mode);
	}
	if (e->ip) {
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
	if (lock && e->lock)
		fprintf(f, " lock=0x%llx", (unsigned long long)e->lock);
	if (flags)
		fprintf(f, " %s=0x%x", e->type == KLT_EV_CONTEND_BEGIN ? "evflags" : "flags",
			flags);
	if (aux0 && e->aux0)
		fprintf(f, " aux0=%u", e->aux0);
	if (aux1 && e->aux1)
		fprintf(f, " aux1=%u", e->aux1);
	if (aux2 && e->aux2)
		fprintf(f, " aux2=%d", e->aux2);
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
