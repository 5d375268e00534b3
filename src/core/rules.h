/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Documented lock-order rules (files under rules/, syntax in docs/rules.md). Pure C parser.
 *
 *   order OUTER > INNER [> INNER2 ...] [kernel RANGE] [# comment]
 *   watch-suspend LOCK [LOCK ...] [kernel RANGE]
 *
 * RANGE is LO..HI, LO.., ..HI or a single X.Y (inclusive, major.minor). Names may use `*` globs.
 */
#ifndef KLT_RULES_H
#define KLT_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* Largest rules file the command line reads (docs/rules.md). */
#define KLT_RULES_MAX_BYTES ((size_t)1 << 20)

#define KLT_KVER(maj, min) ((unsigned)(maj) * 1000u + (unsigned)(min))

enum klt_rule_kind {
	KLT_RULE_ORDER = 0,	    /* outer must be acquired before (outside) inner */
	KLT_RULE_WATCH_SUSPEND = 1, /* lock must not be held when a suspend/resume phase begins */
};

struct klt_rule {
	int kind;	    /* enum klt_rule_kind */
	char *outer;	    /* ORDER: outer lock name/glob; WATCH_SUSPEND: the lock */
	char *inner;	    /* ORDER: inner lock name/glob; WATCH_SUSPEND: NULL */
	unsigned kver_lo;   /* 0 = no lower bound */
	unsigned kver_hi;   /* 0 = no upper bound (inclusive) */
	bool scoped;	    /* a kernel range was given */
	const char *file;   /* owned by the rule set */
	unsigned line;
	char *text;	    /* the source line, trimmed (for reports) */
};

struct klt_rules {
	struct klt_rule *v;
	size_t n, cap;
	char *file;
};

/* Parse; on error returns -EINVAL and writes "FILE:LINE:COL: message" into err. Appends to out. */
int klt_rules_parse(const char *buf, size_t len, const char *fname, struct klt_rules *out,
		    char *err, size_t errlen);
void klt_rules_free(struct klt_rules *r);
/* Does the rule apply to this kernel (KLT_KVER)? kver 0 (unknown): only unscoped rules apply. */
bool klt_rule_applies(const struct klt_rule *r, unsigned kver);
/* "6.12.107+deb12-amd64" -> KLT_KVER(6,12); 0 if unparsable. */
unsigned klt_kver_parse(const char *release);
/* Glob match with `*` (any run) and `?` */
bool klt_glob_match(const char *pattern, const char *s);

#endif
