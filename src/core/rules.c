// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Parser for documented lock-order rules (syntax: docs/rules.md). Pure C: no stdio, no I/O, so
 * the engine and the unit tests can use it on in-memory buffers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define MAX_TOKENS 64

struct tok {
	const char *s;
	size_t len;
	unsigned col; /* 1-based byte column */
};

struct pctx {
	const char *fname;
	unsigned line;
	const char *text; /* trimmed source line without comment */
	size_t text_len;
	char *err;
	size_t errlen;
	unsigned eol_col; /* column just past the last token: where a missing token is reported */
};

/* Minimal formatter so the parser stays free of stdio: supports %s, %u and %%. */
static void fmt_append(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
	while (n-- && *s) {
		if (*pos + 1 < len)
			buf[*pos] = *s;
		(*pos)++;
		s++;
	}
}

static void fmt_uint(char *buf, size_t len, size_t *pos, unsigned v)
{
	char tmp[16];
	int i = 0;

	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i < (int)sizeof(tmp));
	while (i--)
		fmt_append(buf, len, pos, &tmp[i], 1);
}

static int set_err(struct pctx *p, unsigned col, const char *fmt, ...)
{
	size_t pos = 0;
	va_list ap;

	if (!p->err || !p->errlen)
		return -EINVAL;
	fmt_append(p->err, p->errlen, &pos, p->fname, SIZE_MAX);
	fmt_append(p->err, p->errlen, &pos, ":", 1);
	fmt_uint(p->err, p->errlen, &pos, p->line);
	fmt_append(p->err, p->errlen, &pos, ":", 1);
	fmt_uint(p->err, p->errlen, &pos, col);
	fmt_append(p->err, p->errlen, &pos, ": ", 2);
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%' || !fmt[1]) {
			fmt_append(p->err, p->errlen, &pos, fmt, 1);
			continue;
		}
		fmt++;
		if (*fmt == 's') {
			const char *s = va_arg(ap, const char *);

			fmt_append(p->err, p->errlen, &pos, s, SIZE_MAX);
		} else if (*fmt == 'S') { /* counted string: (size_t, const char *) */
			size_t n = va_arg(ap, size_t);
			const char *s = va_arg(ap, const char *);

			fmt_append(p->err, p->errlen, &pos, s, n);
		} else if (*fmt == 'u') {
			fmt_uint(p->err, p->errlen, &pos, va_arg(ap, unsigned));
		} else {
			fmt_append(p->err, p->errlen, &pos, fmt, 1);
		}
	}
	va_end(ap);
	p->err[pos < p->errlen ? pos : p->errlen - 1] = '\0';
	return -EINVAL;
}

static bool tok_is(const struct tok *t, const char *word)
{
	return t->len == strlen(word) && !memcmp(t->s, word, t->len);
}

static bool name_char_ok(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("_>*?.:@-", c);
}

/* Lock names are plain identifiers plus the few characters of C member access and globs. */
static int check_name(struct pctx *p, const struct tok *t)
{
	for (size_t i = 0; i < t->len; i++) {
		if (!name_char_ok(t->s[i]))
			return set_err(p, t->col + (unsigned)i, "invalid character '%S' in lock name '%S'",
				       (size_t)1, &t->s[i], t->len, t->s);
	}
	if (tok_is(t, "kernel"))
		return set_err(p, t->col, "'kernel' is a keyword, not a lock name");
	return 0;
}

/* "6.12" -> KLT_KVER(6, 12); advances *s. Returns 0 if malformed. */
static unsigned parse_ver(const char **s, const char *end)
{
	unsigned maj = 0, min = 0;
	const char *q = *s;
	int nd;

	for (nd = 0; q < end && *q >= '0' && *q <= '9'; q++, nd++) {
		maj = maj * 10 + (unsigned)(*q - '0');
		if (maj > 100000)
			return 0;
	}
	if (!nd || q >= end || *q != '.')
		return 0;
	q++;
	for (nd = 0; q < end && *q >= '0' && *q <= '9'; q++, nd++) {
		min = min * 10 + (unsigned)(*q - '0');
		if (min > 999)
			return 0;
	}
	if (!nd)
		return 0;
	*s = q;
	return KLT_KVER(maj, min);
}

static int parse_range(struct pctx *p, const struct tok *t, unsigned *lo, unsigned *hi)
{
	const char *s = t->s, *end = t->s + t->len;
	const char *dots = NULL;

	for (const char *q = s; q + 1 < end; q++) {
		if (q[0] == '.' && q[1] == '.') {
			dots = q;
			break;
		}
	}
	*lo = *hi = 0;
	if (!dots) {
		const char *q = s;

		*lo = parse_ver(&q, end);
		if (!*lo || q != end)
			goto bad;
		*hi = *lo;
		return 0;
	}
	if (dots > s) {
		const char *q = s;

		*lo = parse_ver(&q, dots);
		if (!*lo || q != dots)
			goto bad;
	}
	if (dots + 2 < end) {
		const char *q = dots + 2;

		*hi = parse_ver(&q, end);
		if (!*hi || q != end)
			goto bad;
	}
	if (!*lo && !*hi)
		goto bad;
	if (*lo && *hi && *lo > *hi)
		return set_err(p, t->col, "inverted kernel range '%S': lower bound above upper bound",
			       t->len, t->s);
	return 0;
bad:
	return set_err(p, t->col, "bad kernel range '%S' (expected X.Y, X.Y..X.Y, X.Y.. or ..X.Y)",
		       t->len, t->s);
}

static char *dup_tok(const struct tok *t)
{
	char *s = malloc(t->len + 1);

	if (s) {
		memcpy(s, t->s, t->len);
		s[t->len] = '\0';
	}
	return s;
}

static void rule_free(struct klt_rule *r)
{
	free(r->outer);
	free(r->inner);
	free(r->text); /* r->file lives in the same allocation */
	memset(r, 0, sizeof(*r));
}

static int add_rule(struct pctx *p, struct klt_rules *out, int kind, const struct tok *outer,
		    const struct tok *inner, unsigned lo, unsigned hi, bool scoped)
{
	size_t flen = strlen(p->fname);
	struct klt_rule *r;

	if (out->n == out->cap) {
		size_t ncap = out->cap ? out->cap * 2 : 16;
		struct klt_rule *nv = realloc(out->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		out->v = nv;
		out->cap = ncap;
	}
	r = &out->v[out->n];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->kver_lo = lo;
	r->kver_hi = hi;
	r->scoped = scoped;
	r->line = p->line;
	/* text and file in one block: each rule owns its file name, so rules parsed from several
	 * files can share one set (struct klt_rules has room for a single file name only). */
	r->text = malloc(p->text_len + 1 + flen + 1);
	r->outer = dup_tok(outer);
	r->inner = inner ? dup_tok(inner) : NULL;
	if (!r->text || !r->outer || (inner && !r->inner)) {
		rule_free(r);
		return -ENOMEM;
	}
	memcpy(r->text, p->text, p->text_len);
	r->text[p->text_len] = '\0';
	memcpy(r->text + p->text_len + 1, p->fname, flen + 1);
	r->file = r->text + p->text_len + 1;
	out->n++;
	return 0;
}

/* Split "... kernel RANGE" off the end of the token list. *ntok is reduced to the names part. */
static int parse_kernel_clause(struct pctx *p, const struct tok *tv, size_t *ntok, unsigned *lo,
			       unsigned *hi, bool *scoped)
{
	size_t kpos = SIZE_MAX;
	int err;

	*scoped = false;
	*lo = *hi = 0;
	for (size_t i = 1; i < *ntok; i++) {
		if (!tok_is(&tv[i], "kernel"))
			continue;
		if (kpos != SIZE_MAX)
			return set_err(p, tv[i].col, "duplicate 'kernel' keyword");
		kpos = i;
	}
	if (kpos == SIZE_MAX)
		return 0;
	if (kpos == 1)
		return set_err(p, tv[1].col, "missing lock name before 'kernel'");
	if (kpos + 1 >= *ntok)
		return set_err(p, p->eol_col, "missing kernel range after 'kernel'");
	if (kpos + 2 < *ntok)
		return set_err(p, tv[kpos + 2].col, "unexpected '%S' after kernel range",
			       tv[kpos + 2].len, tv[kpos + 2].s);
	err = parse_range(p, &tv[kpos + 1], lo, hi);
	if (err)
		return err;
	*scoped = true;
	*ntok = kpos;
	return 0;
}

static int parse_order(struct pctx *p, struct klt_rules *out, const struct tok *tv, size_t ntok)
{
	const struct tok *names[MAX_TOKENS];
	size_t nnames = 0, i;
	unsigned lo, hi, missing_col;
	bool scoped;
	int err;

	/* A missing name or range is reported where the clause that needs it ends. */
	err = parse_kernel_clause(p, tv, &ntok, &lo, &hi, &scoped);
	if (err)
		return err;
	missing_col = tv[ntok - 1].col + (unsigned)tv[ntok - 1].len;
	if (ntok < 2)
		return set_err(p, missing_col, "missing lock name after 'order'");
	for (i = 1; i < ntok; i++) {
		bool want_name = (i % 2) == 1;

		if (want_name) {
			if (tok_is(&tv[i], ">"))
				return set_err(p, tv[i].col, "missing lock name before '>'");
			err = check_name(p, &tv[i]);
			if (err)
				return err;
			names[nnames++] = &tv[i];
		} else if (!tok_is(&tv[i], ">")) {
			return set_err(p, tv[i].col,
				       "'>' missing between '%S' and '%S' (separate with ' > ')",
				       tv[i - 1].len, tv[i - 1].s, tv[i].len, tv[i].s);
		}
	}
	if (ntok % 2 == 1) /* ended on '>' */
		return set_err(p, missing_col, "missing lock name after '>'");
	if (nnames < 2)
		return set_err(p, missing_col,
			       "'>' missing: an order rule needs OUTER > INNER");
	for (i = 0; i < nnames; i++) {
		for (size_t j = i + 1; j < nnames; j++) {
			if (names[i]->len == names[j]->len &&
			    !memcmp(names[i]->s, names[j]->s, names[i]->len))
				return set_err(p, names[j]->col, "lock '%S' ordered against itself",
					       names[j]->len, names[j]->s);
		}
	}
	/* A chain states that every earlier lock is outside every later one. */
	for (i = 0; i < nnames; i++) {
		for (size_t j = i + 1; j < nnames; j++) {
			err = add_rule(p, out, KLT_RULE_ORDER, names[i], names[j], lo, hi, scoped);
			if (err)
				return err;
		}
	}
	return 0;
}

static int parse_watch(struct pctx *p, struct klt_rules *out, const struct tok *tv, size_t ntok)
{
	unsigned lo, hi;
	bool scoped;
	int err;

	err = parse_kernel_clause(p, tv, &ntok, &lo, &hi, &scoped);
	if (err)
		return err;
	if (ntok < 2)
		return set_err(p, tv[0].col + (unsigned)tv[0].len,
			       "missing lock name after 'watch-suspend'");
	for (size_t i = 1; i < ntok; i++) {
		if (tok_is(&tv[i], ">"))
			return set_err(p, tv[i].col, "unexpected '>' in watch-suspend (list lock names)");
		err = check_name(p, &tv[i]);
		if (err)
			return err;
	}
	for (size_t i = 1; i < ntok; i++) {
		err = add_rule(p, out, KLT_RULE_WATCH_SUSPEND, &tv[i], NULL, lo, hi, scoped);
		if (err)
			return err;
	}
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int parse_line(struct pctx *p, struct klt_rules *out, const char *s, size_t len)
{
	struct tok tv[MAX_TOKENS];
	size_t ntok = 0, i = 0, end;

	/* Lock names never contain '#': it always starts a comment. */
	for (end = 0; end < len && s[end] != '#'; end++)
		;
	while (end > 0 && is_space(s[end - 1]))
		end--;
	while (i < end && is_space(s[i]))
		i++;
	if (i == end)
		return 0;
	p->text = s + i;
	p->text_len = end - i;
	while (i < end) {
		size_t st = i;

		while (i < end && !is_space(s[i]))
			i++;
		if (ntok == MAX_TOKENS)
			return set_err(p, (unsigned)st + 1, "too many tokens on one line (max %u)",
				       (unsigned)MAX_TOKENS);
		tv[ntok].s = s + st;
		tv[ntok].len = i - st;
		tv[ntok].col = (unsigned)st + 1;
		ntok++;
		while (i < end && is_space(s[i]))
			i++;
	}
	p->eol_col = (unsigned)end + 1;
	if (tok_is(&tv[0], "order"))
		return parse_order(p, out, tv, ntok);
	if (tok_is(&tv[0], "watch-suspend"))
		return parse_watch(p, out, tv, ntok);
	return set_err(p, tv[0].col, "unknown directive '%S' (expected 'order' or 'watch-suspend')",
		       tv[0].len, tv[0].s);
}

/* --- contradictions ------------------------------------------------------------------------ */

struct ordkey {
	const char *lo, *hi; /* the rule's two names, in strcmp order */
	unsigned klo, khi;   /* kernel range with the open ends filled in */
	size_t idx;	     /* rule index */
	bool fwd;	     /* outer is lo */
};

/* By names, then by lower kernel bound, then by index. */
static int cmp_ordkey(const void *a, const void *b)
{
	const struct ordkey *x = a, *y = b;
	int c = strcmp(x->lo, y->lo);

	if (!c)
		c = strcmp(x->hi, y->hi);
	if (!c)
		c = x->klo < y->klo ? -1 : x->klo > y->klo;
	if (!c)
		c = x->idx < y->idx ? -1 : x->idx > y->idx;
	return c;
}

/*
 * Two order rules naming the same two locks in opposite directions, for kernels where both
 * apply, can never both hold: one of them is a typo. The rules are sorted by their pair of names
 * and lower kernel bound (n log n); sweeping each pair's rules, a rule contradicts an earlier-
 * starting rule of the other direction when the furthest-reaching of those reaches its lower
 * bound. Names are compared as written (globs are not expanded). Returns 1 and the two rule
 * indices (*ra < *rb), 0, or -ENOMEM.
 */
static int find_contradiction(const struct klt_rules *out, size_t *ra, size_t *rb)
{
	struct ordkey *k;
	size_t n = 0, i = 0;
	int found = 0;

	if (out->n < 2)
		return 0;
	k = malloc(out->n * sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (size_t j = 0; j < out->n; j++) {
		const struct klt_rule *r = &out->v[j];
		bool fwd;

		if (r->kind != KLT_RULE_ORDER)
			continue;
		fwd = strcmp(r->outer, r->inner) < 0;
		k[n++] = (struct ordkey){
			.lo = fwd ? r->outer : r->inner,
			.hi = fwd ? r->inner : r->outer,
			.klo = r->scoped ? r->kver_lo : 0,
			.khi = r->scoped && r->kver_hi ? r->kver_hi : UINT32_MAX,
			.idx = j,
			.fwd = fwd,
		};
	}
	qsort(k, n, sizeof(*k), cmp_ordkey);
	while (i < n && !found) {
		size_t best[2] = { SIZE_MAX, SIZE_MAX }, e;
		unsigned besthi[2] = { 0, 0 };

		for (e = i; e < n && !strcmp(k[e].lo, k[i].lo) && !strcmp(k[e].hi, k[i].hi); e++) {
			const struct ordkey *c = &k[e];
			int d = c->fwd, o = !c->fwd;

			if (best[o] != SIZE_MAX && besthi[o] >= c->klo) {
				*ra = best[o] < c->idx ? best[o] : c->idx;
				*rb = best[o] < c->idx ? c->idx : best[o];
				found = 1;
				break;
			}
			if (best[d] == SIZE_MAX || c->khi > besthi[d]) {
				best[d] = c->idx;
				besthi[d] = c->khi;
			}
		}
		i = e;
	}
	free(k);
	return found;
}

int klt_rules_parse(const char *buf, size_t len, const char *fname, struct klt_rules *out,
		    char *err, size_t errlen)
{
	struct pctx p = { .fname = fname ? fname : "<rules>", .err = err, .errlen = errlen };
	size_t n0 = out->n, pos = 0;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!out->file) {
		out->file = strdup(p.fname);
		if (!out->file)
			return -ENOMEM;
	}
	/* a UTF-8 byte order mark (editors on some systems write one) is not part of line 1 */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		p.line++;
		if (memchr(buf + pos, '\0', llen)) {
			ret = set_err(&p, (unsigned)((const char *)memchr(buf + pos, '\0', llen) -
						     (buf + pos)) + 1,
				      "NUL byte in rules file");
			break;
		}
		ret = parse_line(&p, out, buf + pos, llen);
		if (ret)
			break;
		pos += llen + 1;
	}
	if (!ret && out->n > n0) {
		size_t ra, rb;

		ret = find_contradiction(out, &ra, &rb);
		if (ret > 0) {
			/* rb is of this call: rules of earlier calls never contradict each other */
			const struct klt_rule *a = &out->v[ra], *b = &out->v[rb];

			p.line = b->line;
			ret = set_err(&p, 1, "'%s > %s' contradicts '%s > %s' at %s:%u (both apply to "
					     "the same kernels)", b->outer, b->inner, a->outer,
				      a->inner, a->file, a->line);
		}
	}
	if (ret) {
		/* Leave the set as it was: a half-loaded rules file would check the wrong thing. */
		while (out->n > n0)
			rule_free(&out->v[--out->n]);
		if (ret == -ENOMEM)
			set_err(&p, 1, "out of memory");
	}
	return ret;
}

void klt_rules_free(struct klt_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_free(&r->v[i]);
	free(r->v);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

bool klt_rule_applies(const struct klt_rule *r, unsigned kver)
{
	if (!r->scoped)
		return true;
	if (!kver)
		return false;
	if (r->kver_lo && kver < r->kver_lo)
		return false;
	if (r->kver_hi && kver > r->kver_hi)
		return false;
	return true;
}

unsigned klt_kver_parse(const char *release)
{
	const char *q = release, *end;
	unsigned v;

	if (!release)
		return 0;
	end = release + strlen(release);
	/* "6.12.107+deb12-amd64", "6.1.0-56-amd64" and "6.8-rc1" all carry major.minor first. */
	v = parse_ver(&q, end);
	if (!v || (q < end && *q >= '0' && *q <= '9'))
		return 0;
	return v;
}

/*
 * Iterative glob: on mismatch, resume after the most recent '*' with one more character consumed.
 * Only the last star matters (earlier stars can never need to absorb more), so this is
 * O(len(pattern) * len(s)) worst case, never exponential.
 */
bool klt_glob_match(const char *pattern, const char *s)
{
	const char *star = NULL, *resume = NULL;
	const char *p = pattern;

	if (!pattern || !s)
		return false;
	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}
