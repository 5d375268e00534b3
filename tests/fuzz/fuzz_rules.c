// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for the rules parser (klt_rules_parse, src/rules.c).
 *
 * Properties checked:
 *  - no crash / UB / leak / timeout; the error message is NUL-terminated and non-empty on error;
 *  - a failed parse leaves an existing rule set untouched (the input is parsed twice into the
 *    same set: once must append, a failure must not leave half a file behind);
 *  - round trip: the rules' source texts, one per source line, re-parse to the same rules;
 *  - klt_rule_applies / klt_glob_match / klt_kver_parse run on what was parsed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rules.h"

static void same_rule(const struct klt_rule *a, const struct klt_rule *b, size_t i)
{
	FUZZ_CHECK(a->kind == b->kind, "rule %zu: kind %d vs %d", i, a->kind, b->kind);
	FUZZ_CHECK(a->outer && b->outer && !strcmp(a->outer, b->outer), "rule %zu: outer differs",
		   i);
	FUZZ_CHECK(!a->inner == !b->inner && (!a->inner || !strcmp(a->inner, b->inner)),
		   "rule %zu: inner differs", i);
	FUZZ_CHECK(a->kver_lo == b->kver_lo && a->kver_hi == b->kver_hi && a->scoped == b->scoped,
		   "rule %zu: range differs (%u..%u/%d vs %u..%u/%d)", i, a->kver_lo, a->kver_hi,
		   a->scoped, b->kver_lo, b->kver_hi, b->scoped);
	FUZZ_CHECK(a->text && b->text && !strcmp(a->text, b->text), "rule %zu: text differs", i);
}

static void exercise(const struct klt_rules *r)
{
	static const unsigned kvers[] = { 0, KLT_KVER(5, 15), KLT_KVER(6, 2), KLT_KVER(6, 3),
					  KLT_KVER(6, 11), KLT_KVER(6, 12), KLT_KVER(99, 999) };
	size_t i, k;

	for (i = 0; i < r->n; i++) {
		const struct klt_rule *x = &r->v[i];

		FUZZ_CHECK(x->kind == KLT_RULE_ORDER || x->kind == KLT_RULE_WATCH_SUSPEND,
			   "rule %zu: kind %d", i, x->kind);
		FUZZ_CHECK(x->outer && x->text && x->file, "rule %zu: NULL field", i);
		FUZZ_CHECK((x->kind == KLT_RULE_ORDER) == (x->inner != NULL),
			   "rule %zu: inner must be set exactly for order rules", i);
		FUZZ_CHECK(x->line >= 1, "rule %zu: line %u", i, x->line);
		FUZZ_CHECK(!x->scoped ? !x->kver_lo && !x->kver_hi : 1,
			   "rule %zu: unscoped rule with a range", i);
		for (k = 0; k < sizeof(kvers) / sizeof(kvers[0]); k++)
			(void)klt_rule_applies(x, kvers[k]);
		/* a name matches itself as a literal glob when it has no metacharacters */
		if (!strpbrk(x->outer, "*?"))
			FUZZ_CHECK(klt_glob_match(x->outer, x->outer), "name '%s' does not match itself",
				   x->outer);
		(void)klt_glob_match(x->outer, x->text);
		if (x->inner) {
			(void)klt_glob_match(x->inner, x->outer);
			(void)klt_glob_match(x->outer, x->inner);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct klt_rules r, r2;
	char err[256], *re = NULL, *str;
	size_t i, relen = 0, n1;
	unsigned last_line = 0;
	FILE *f;
	int ret;

	/* klt_kver_parse on the input as a string (stops at the first NUL) */
	str = malloc(size + 1);
	FUZZ_CHECK(str, "malloc");
	memcpy(str, data, size);
	str[size] = '\0';
	(void)klt_kver_parse(str);
	if (size > 2) /* glob: first line as the pattern, the rest as the subject */
		(void)klt_glob_match(str, str + (size > 64 ? 64 : size / 2));
	free(str);

	memset(&r, 0, sizeof(r));
	memset(err, 0x5a, sizeof(err));
	ret = klt_rules_parse((const char *)data, size, "fuzz.rules", &r, err, sizeof(err));
	fuzz_check_msg(err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret < 0, "klt_rules_parse returned %d", ret);
		FUZZ_CHECK(err[0], "error without a message");
		FUZZ_CHECK(r.n == 0, "failed parse left %zu rules", r.n);
		klt_rules_free(&r);
		return 0;
	}
	exercise(&r);
	n1 = r.n;

	/* Round trip through the rules' source texts (one line per distinct source line). */
	f = open_memstream(&re, &relen);
	FUZZ_CHECK(f, "open_memstream");
	for (i = 0; i < r.n; i++) {
		if (i && r.v[i].line == last_line)
			continue;
		fprintf(f, "%s\n", r.v[i].text);
		last_line = r.v[i].line;
	}
	fclose(f);
	memset(&r2, 0, sizeof(r2));
	ret = klt_rules_parse(re, relen, "again.rules", &r2, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "re-parsed text:\n%.*s\n", (int)(relen < 4000 ? relen : 4000), re);
		FUZZ_CHECK(ret == 0, "rule texts do not re-parse: %s", err);
	}
	FUZZ_CHECK(r2.n == r.n, "re-parse gives %zu rules, not %zu", r2.n, r.n);
	for (i = 0; i < r.n; i++)
		same_rule(&r.v[i], &r2.v[i], i);
	klt_rules_free(&r2);
	free(re);

	/* Append the same input again: all-or-nothing, and the first set survives. */
	ret = klt_rules_parse((const char *)data, size, "second.rules", &r, err, sizeof(err));
	FUZZ_CHECK(ret == 0, "second parse of an accepted input failed: %s", err);
	FUZZ_CHECK(r.n == 2 * n1, "appending gave %zu rules, not %zu", r.n, 2 * n1);
	for (i = 0; i < n1; i++) {
		same_rule(&r.v[i], &r.v[n1 + i], i);
		FUZZ_CHECK(!strcmp(r.v[i].file, "fuzz.rules") && !strcmp(r.v[n1 + i].file,
									 "second.rules"),
			   "rule %zu: file names mixed up", i);
	}
	klt_rules_free(&r);
	return 0;
}
