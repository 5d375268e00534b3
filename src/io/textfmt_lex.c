// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Text form parser, lexical level (textfmt.h): operations, tokens, messages, numbers, escapes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"
#include "trace.h"
#include "traceio.h"

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
	{ "init", KLT_EV_LOCK_INIT, OPC_LOCK, 0, KLT_MODE_WRITE },
	{ "guard", KLT_EV_EDGE_GUARD, OPC_LOCK, 0, KLT_MODE_WRITE },
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))

const struct op_desc *tx_op_by_name(const struct tok *tk)
{
	const struct op_desc *op = NULL;
	size_t i;

	/* the first byte first: most operations are ruled out without a strlen */
	for (i = 0; i < NOPS; i++)
		if (tk->len && tk->s[0] == ops[i].name[0] && tx_tok_is(tk, ops[i].name))
			op = &ops[i];
	return op;
}

const struct op_desc *tx_op_by_type(unsigned type)
{
	size_t i;

	for (i = 1; i < NOPS; i++)
		if (ops[i].type == type)
			return &ops[i];
	return NULL;
}

/* A token for an error message: at most 48 bytes, non-printables as '?'. */
const char *tx_show(const char *s, size_t len, char *buf, size_t blen)
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

int tx_perr(struct parser *p, size_t col, const char *fmt, ...)
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

int tx_oom(struct parser *p)
{
	if (p->err)
		snprintf(p->err->msg, sizeof(p->err->msg), "%s:%zu: out of memory", p->name,
			 p->line);
	return -ENOMEM;
}

/* --- numbers -------------------------------------------------------------------------------- */

bool tx_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < len; i++) {
			char c = s[i];
			unsigned d;

			if (tx_is_digit(c))
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
		if (!tx_is_digit(s[i]) || v > (UINT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int tx_num_u64(struct parser *p, const char *s, size_t len, size_t col, const char *what,
	       uint64_t *out)
{
	char b[64];

	if (!tx_parse_u64(s, len, out))
		return tx_perr(p, col, "bad number '%s' for %s (expected " NUM_HINT ")",
			       tx_show(s, len, b, sizeof(b)), what);
	return 0;
}

int tx_num_u32(struct parser *p, const char *s, size_t len, size_t col, const char *what,
	       uint32_t *out)
{
	uint64_t v;
	char b[64];
	int err = tx_num_u64(p, s, len, col, what, &v);

	if (err)
		return err;
	if (v > UINT32_MAX)
		return tx_perr(p, col, "number '%s' out of range for %s (max 4294967295)",
			       tx_show(s, len, b, sizeof(b)), what);
	*out = (uint32_t)v;
	return 0;
}

int tx_num_s32(struct parser *p, const char *s, size_t len, size_t col, const char *what,
	       int32_t *out)
{
	bool neg = len && s[0] == '-';
	uint64_t v;
	char b[64];

	if (!tx_parse_u64(s + neg, len - neg, &v))
		return tx_perr(p, col, "bad number '%s' for %s (expected signed decimal or 0x hex)",
			       tx_show(s, len, b, sizeof(b)), what);
	if (v > (neg ? 0x80000000ull : 0x7fffffffull))
		return tx_perr(p, col, "number '%s' out of range for %s (32-bit signed)",
			       tx_show(s, len, b, sizeof(b)), what);
	*out = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
	return 0;
}

/* --- escapes -------------------------------------------------------------------------------- */

static int hexval(char c)
{
	if (tx_is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode \xHH escapes into a new string (*out, malloc'd). */
int tx_decode(struct parser *p, const char *s, size_t len, size_t col, const char *what,
	      char **out)
{
	char *d = malloc(len + 1), b[8];
	size_t i, n = 0;

	if (!d)
		return tx_oom(p);
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
			return tx_perr(p, col + i, "bad escape '%s' in %s (expected \\xHH, not \\x00)",
				       tx_show(s + i, len - i < 4 ? len - i : 4, b, sizeof(b)), what);
		}
		if (!c) {
			/* names are C strings: \x00 cannot be written either */
			free(d);
			return tx_perr(p, col + i, "NUL byte in %s (a name ends at its first NUL: leave "
				       "it out)", what);
		}
		if (c < 0x20 || c == 0x7f) {
			free(d);
			return tx_perr(p, col + i, "control character 0x%02x in %s (write it as \\x%02x)",
				       c, what, c);
		}
		d[n++] = (char)c;
	}
	d[n] = '\0';
	*out = d;
	return 0;
}


bool tx_all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!tx_is_digit(s[i]))
			return false;
	return len > 0;
}

/* Split [s, e) into tokens; a '#' at the start or after a blank starts a comment. */
int tx_tokenize(struct parser *p, const char *s, const char *e)
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
				return tx_oom(p);
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
