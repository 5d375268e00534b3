// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the rules parser (src/core/rules.c) and of the shipped rules/kvm.rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rules.h"


static int parse_str(const char *s, struct klt_rules *r, char *err, size_t errlen)
{
	return klt_rules_parse(s, strlen(s), "t.rules", r, err, errlen);
}

/* Parse text that must fail; check the whole "FILE:LINE:COL: message" prefix. */
static void expect_error(const char *text, const char *prefix)
{
	struct klt_rules r = { 0 };
	char err[256];
	int ret;

	ret = parse_str(text, &r, err, sizeof(err));
	if (ret != -EINVAL || strncmp(err, prefix, strlen(prefix)))
		fail_msg("input '%s': ret %d, err '%s', expected prefix '%s'", text, ret, err, prefix);
	assert_int_equal(r.n, 0);
	klt_rules_free(&r);
}

static void test_errors(void **state)
{
	expect_error("orderr a > b\n", "t.rules:1:1: unknown directive 'orderr'");
	expect_error("\n\n  bogus\n", "t.rules:3:3: unknown directive");
	expect_error("order\n", "t.rules:1:6: missing lock name after 'order'");
	expect_error("order a\n", "t.rules:1:8: '>' missing");
	expect_error("order a b\n", "t.rules:1:9: '>' missing between 'a' and 'b'");
	expect_error("order a >\n", "t.rules:1:10: missing lock name after '>'");
	expect_error("order a > > b\n", "t.rules:1:11: missing lock name before '>'");
	expect_error("order a > b c\n", "t.rules:1:13: '>' missing between 'b' and 'c'");
	expect_error("order a>b\n", "t.rules:1:10: '>' missing");
	expect_error("order a > b$x\n", "t.rules:1:12: invalid character '$' in lock name 'b$x'");
	expect_error("order a > a\n", "t.rules:1:11: lock 'a' ordered against itself");
	expect_error("order a > b kernel\n", "t.rules:1:19: missing kernel range after 'kernel'");
	expect_error("order a > b kernel 6\n", "t.rules:1:20: bad kernel range '6'");
	expect_error("order a > b kernel 6.x\n", "t.rules:1:20: bad kernel range");
	expect_error("order a > b kernel ..\n", "t.rules:1:20: bad kernel range");
	expect_error("order a > b kernel 6.1...6.2\n", "t.rules:1:20: bad kernel range");
	expect_error("order a > b kernel 6.12..6.3\n", "t.rules:1:20: inverted kernel range");
	expect_error("order a > b kernel 6.1 kernel 6.2\n", "t.rules:1:24: duplicate 'kernel'");
	expect_error("order a > b kernel 6.1 x\n", "t.rules:1:24: unexpected 'x' after kernel range");
	expect_error("watch-suspend\n", "t.rules:1:14: missing lock name after 'watch-suspend'");
	expect_error("watch-suspend # c\n", "t.rules:1:14: missing lock name");
	expect_error("watch-suspend a > b\n", "t.rules:1:17: unexpected '>'");
	expect_error("watch-suspend kernel 6.1\n", "t.rules:1:15: missing lock name before 'kernel'");
	expect_error("order kernel > b\n", "t.rules:1:7: missing lock name before 'kernel'");
	/* a later line's error discards rules of earlier lines */
	expect_error("order a > b\n\torder c d\n", "t.rules:2:10: '>' missing");
}

static void test_error_truncation(void **state)
{
	struct klt_rules r = { 0 };
	char err[12];

	assert_int_equal(parse_str("bogus\n", &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.rules:1:1");
	assert_int_equal(parse_str("bogus\n", &r, NULL, 0), -EINVAL);
	assert_int_equal(klt_rules_parse("order a\0 > b\n", 13, "t.rules", &r, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t.rules:1:8");
	klt_rules_free(&r);
}

static void test_chain_and_text(void **state)
{
	struct klt_rules r = { 0 };
	char err[256];

	assert_int_equal(parse_str("# header\n\n   \n"
				   "order kvm_usage_lock > cpu_hotplug_lock > kvm_lock kernel 6.12.. # x\n"
				   "\twatch-suspend kvm_lock kvm_usage_lock\n",
				   &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.v[0].kind, KLT_RULE_ORDER);
	assert_string_equal(r.v[0].outer, "kvm_usage_lock");
	assert_string_equal(r.v[0].inner, "cpu_hotplug_lock");
	assert_string_equal(r.v[1].outer, "kvm_usage_lock");
	assert_string_equal(r.v[1].inner, "kvm_lock");
	assert_string_equal(r.v[2].outer, "cpu_hotplug_lock");
	assert_string_equal(r.v[2].inner, "kvm_lock");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r.v[i].line, 4);
		assert_true(r.v[i].scoped);
		assert_int_equal(r.v[i].kver_lo, KLT_KVER(6, 12));
		assert_int_equal(r.v[i].kver_hi, 0);
		assert_string_equal(r.v[i].text,
				    "order kvm_usage_lock > cpu_hotplug_lock > kvm_lock kernel 6.12..");
		assert_string_equal(r.v[i].file, "t.rules");
	}
	assert_int_equal(r.v[3].kind, KLT_RULE_WATCH_SUSPEND);
	assert_string_equal(r.v[3].outer, "kvm_lock");
	assert_null(r.v[3].inner);
	assert_string_equal(r.v[4].outer, "kvm_usage_lock");
	assert_false(r.v[4].scoped);
	assert_int_equal(r.v[4].line, 5);
	assert_string_equal(r.v[4].text, "watch-suspend kvm_lock kvm_usage_lock");

	/* appending a second file keeps each rule's own file name */
	assert_int_equal(klt_rules_parse("order kvm->lock > vcpu->mutex", 29, "b.rules", &r, err,
					 sizeof(err)), 0);
	assert_int_equal(r.n, 6);
	assert_string_equal(r.v[5].outer, "kvm->lock");
	assert_string_equal(r.v[5].inner, "vcpu->mutex");
	assert_string_equal(r.v[5].file, "b.rules");
	assert_int_equal(r.v[5].line, 1);
	assert_string_equal(r.v[0].file, "t.rules");
	assert_string_equal(r.file, "t.rules");
	klt_rules_free(&r);
	assert_int_equal(r.n, 0);
	assert_null(r.v);
}

static void test_ranges(void **state)
{
	struct klt_rules r = { 0 };
	char err[256];

	assert_int_equal(parse_str("order a > b kernel 6.3..6.11\n"
				   "order a > b kernel 6.12..\n"
				   "order a > b kernel ..6.2\n"
				   "order a > b kernel 6.6\n"
				   "order a > b\n", &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.v[0].kver_lo, KLT_KVER(6, 3));
	assert_int_equal(r.v[0].kver_hi, KLT_KVER(6, 11));
	assert_int_equal(r.v[1].kver_lo, KLT_KVER(6, 12));
	assert_int_equal(r.v[1].kver_hi, 0);
	assert_int_equal(r.v[2].kver_lo, 0);
	assert_int_equal(r.v[2].kver_hi, KLT_KVER(6, 2));
	assert_int_equal(r.v[3].kver_lo, KLT_KVER(6, 6));
	assert_int_equal(r.v[3].kver_hi, KLT_KVER(6, 6));

	assert_true(klt_rule_applies(&r.v[0], KLT_KVER(6, 3)));
	assert_true(klt_rule_applies(&r.v[0], KLT_KVER(6, 11)));
	assert_false(klt_rule_applies(&r.v[0], KLT_KVER(6, 2)));
	assert_false(klt_rule_applies(&r.v[0], KLT_KVER(6, 12)));
	assert_false(klt_rule_applies(&r.v[0], 0));
	assert_true(klt_rule_applies(&r.v[1], KLT_KVER(7, 0)));
	assert_false(klt_rule_applies(&r.v[1], KLT_KVER(6, 11)));
	assert_true(klt_rule_applies(&r.v[2], KLT_KVER(5, 15)));
	assert_false(klt_rule_applies(&r.v[2], KLT_KVER(6, 3)));
	assert_true(klt_rule_applies(&r.v[3], KLT_KVER(6, 6)));
	assert_false(klt_rule_applies(&r.v[3], KLT_KVER(6, 7)));
	assert_true(klt_rule_applies(&r.v[4], 0));
	assert_true(klt_rule_applies(&r.v[4], KLT_KVER(6, 1)));
	klt_rules_free(&r);
}

static void test_kver_parse(void **state)
{
	assert_int_equal(klt_kver_parse("6.12.107+deb12-amd64"), KLT_KVER(6, 12));
	assert_int_equal(klt_kver_parse("6.1.0-56-amd64"), KLT_KVER(6, 1));
	assert_int_equal(klt_kver_parse("6.8-rc1"), KLT_KVER(6, 8));
	assert_int_equal(klt_kver_parse("5.15"), KLT_KVER(5, 15));
	assert_int_equal(klt_kver_parse("6"), 0);
	assert_int_equal(klt_kver_parse(""), 0);
	assert_int_equal(klt_kver_parse("linux"), 0);
	assert_int_equal(klt_kver_parse("6.x"), 0);
	assert_int_equal(klt_kver_parse(NULL), 0);
}

static void test_glob(void **state)
{
	char a[200], s[200];

	assert_true(klt_glob_match("kvm_lock", "kvm_lock"));
	assert_false(klt_glob_match("kvm_lock", "kvm_locks"));
	assert_true(klt_glob_match("kvm->*", "kvm->slots_lock"));
	assert_false(klt_glob_match("kvm->*", "vcpu->mutex"));
	assert_true(klt_glob_match("*", ""));
	assert_true(klt_glob_match("*lock", "kvm_usage_lock"));
	assert_true(klt_glob_match("kvm_?sage*", "kvm_usage_lock"));
	assert_false(klt_glob_match("?", ""));
	assert_true(klt_glob_match("a*b*c", "aXbYbZc"));
	assert_false(klt_glob_match("a*b*c", "aXbYbZ"));
	assert_true(klt_glob_match("mutex@kvm_*+0x*", "mutex@kvm_vm_ioctl+0x1c"));
	assert_false(klt_glob_match(NULL, "x"));
	/* pathological pattern: must finish fast (iterative, no exponential backtracking) */
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 60; i += 2) {
		a[i] = 'a';
		a[i + 1] = '*';
	}
	a[60] = 'b';
	memset(s, 'a', 150);
	s[150] = '\0';
	assert_false(klt_glob_match(a, s));
}

/*
 * Top of the source tree: $KLT_SRCDIR, the current directory, or derived from where the binary
 * lives (<top>/build/tests/x, <top>/build/asan/tests/x), so the test runs from any directory.
 */
static const char *find_top(char *buf, size_t len)
{
	const char *env = getenv("KLT_SRCDIR");
	char exe[4096], probe[4200];
	ssize_t n;

	if (env)
		return env;
	if (!access("rules/kvm.rules", R_OK))
		return ".";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return ".";
	exe[n] = '\0';
	for (int up = 0; up < 5; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			break;
		*slash = '\0';
		snprintf(probe, sizeof(probe), "%s/rules/kvm.rules", exe);
		if (!access(probe, R_OK)) {
			snprintf(buf, len, "%s", exe);
			return buf;
		}
	}
	return ".";
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
out:
	fclose(f);
	return buf;
}

static bool has_order(const struct klt_rules *r, const char *o, const char *i, unsigned kver)
{
	for (size_t k = 0; k < r->n; k++) {
		const struct klt_rule *x = &r->v[k];

		if (x->kind == KLT_RULE_ORDER && !strcmp(x->outer, o) && !strcmp(x->inner, i) &&
		    klt_rule_applies(x, kver))
			return true;
	}
	return false;
}

static bool has_watch(const struct klt_rules *r, const char *l, unsigned kver)
{
	for (size_t k = 0; k < r->n; k++) {
		const struct klt_rule *x = &r->v[k];

		if (x->kind == KLT_RULE_WATCH_SUSPEND && !strcmp(x->outer, l) &&
		    klt_rule_applies(x, kver))
			return true;
	}
	return false;
}

static void test_shipped_kvm_rules(void **state)
{
	struct klt_rules r = { 0 };
	unsigned v61 = KLT_KVER(6, 1), v65 = KLT_KVER(6, 5), v612 = KLT_KVER(6, 12);
	char err[256] = "";
	size_t len = 0;
	char topbuf[4096], path[4200];
	const char *top = find_top(topbuf, sizeof(topbuf));
	char *buf;

	snprintf(path, sizeof(path), "%s/rules/kvm.rules", top);
	buf = slurp(path, &len);
	if (!buf)
		fail_msg("cannot read %s (run from the top of the tree or set KLT_SRCDIR)", path);
	if (klt_rules_parse(buf, len, "rules/kvm.rules", &r, err, sizeof(err)))
		fail_msg("kvm.rules: %s", err);
	free(buf);

	/* 6.3..6.11: cpus_read_lock() outside kvm_lock, nothing about kvm_usage_lock first */
	assert_true(has_order(&r, "cpu_hotplug_lock", "kvm_lock", v65));
	assert_false(has_order(&r, "kvm_usage_lock", "cpu_hotplug_lock", v65));
	assert_true(has_watch(&r, "kvm_lock", v65));
	assert_false(has_watch(&r, "kvm_count_lock", v65));
	/* 6.12..: kvm_usage_lock > cpu_hotplug_lock > kvm_lock */
	assert_true(has_order(&r, "kvm_usage_lock", "cpu_hotplug_lock", v612));
	assert_true(has_order(&r, "kvm_usage_lock", "kvm_lock", v612));
	assert_true(has_order(&r, "cpu_hotplug_lock", "kvm_lock", v612));
	assert_false(has_order(&r, "cpu_hotplug_lock", "kvm_usage_lock", v612));
	assert_true(has_watch(&r, "kvm_usage_lock", v612));
	assert_false(has_watch(&r, "kvm_lock", v612));
	/* ..6.2: no hotplug order documented; kvm_count_lock watched */
	assert_false(has_order(&r, "cpu_hotplug_lock", "kvm_lock", v61));
	assert_true(has_watch(&r, "kvm_count_lock", v61));
	assert_false(has_watch(&r, "kvm_usage_lock", v61));
	/* per-VM orders apply everywhere, also with an unknown kernel */
	for (unsigned v = 0; v <= v612; v += v612) {
		assert_true(has_order(&r, "kvm->lock", "vcpu->mutex", v));
		assert_true(has_order(&r, "kvm->lock", "kvm->slots_lock", v));
		assert_true(has_order(&r, "kvm->lock", "kvm->irq_lock", v));
		assert_true(has_order(&r, "kvm->slots_lock", "kvm->irq_lock", v));
	}
	assert_false(has_order(&r, "cpu_hotplug_lock", "kvm_lock", 0));
	for (size_t k = 0; k < r.n; k++) {
		assert_string_equal(r.v[k].file, "rules/kvm.rules");
		assert_true(r.v[k].line > 0);
		assert_non_null(r.v[k].text);
	}
	klt_rules_free(&r);
}

/* A UTF-8 byte order mark before line 1 is skipped, not read as part of 'order'. */
static void test_bom(void **state)
{
	struct klt_rules r = { 0 };
	char err[256];

	assert_int_equal(parse_str("\xef\xbb\xbforder a > b\n", &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].outer, "a");
	assert_string_equal(r.v[0].text, "order a > b");
	klt_rules_free(&r);
	/* only at the very start */
	expect_error("order a > b\n\xef\xbb\xbforder c > d\n", "t.rules:2:1: unknown directive");
}

/* a > b and b > a where both apply: refused with both lines; disjoint kernels are fine. */
static void test_contradiction(void **state)
{
	struct klt_rules r = { 0 };
	char err[256];

	expect_error("order a > b\n\norder b > a\n",
		     "t.rules:3:1: 'b > a' contradicts 'a > b' at t.rules:1 (both apply");
	expect_error("order x > a > y > b\norder b > a kernel 6.1\n",
		     "t.rules:2:1: 'b > a' contradicts 'a > b' at t.rules:1");
	expect_error("order a > b kernel 6.1..6.5\norder b > a kernel 6.5..\n",
		     "t.rules:2:1: 'b > a' contradicts");
	expect_error("order b > a kernel ..6.4\norder c > d\norder a > b kernel 6.2\n",
		     "t.rules:3:1: 'a > b' contradicts 'b > a' at t.rules:1");
	assert_int_equal(parse_str("order a > b kernel 6.1..6.4\norder b > a kernel 6.5..\n"
				   "order a > b kernel ..6.0\norder a > b\n", &r, err, sizeof(err)),
			 -EINVAL); /* the unscoped one overlaps 6.5.. */
	assert_int_equal(r.n, 0);
	assert_int_equal(parse_str("order a > b kernel 6.1..6.4\norder b > a kernel 6.5..\n"
				   "order a > b kernel ..6.0\norder c > a\n", &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.n, 4);
	/* across files of one set: the second file is refused and names the first */
	assert_int_equal(klt_rules_parse("order a > c\n", 12, "u.rules", &r, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "u.rules:1:1: 'a > c' contradicts 'c > a' at t.rules:4 (both "
				 "apply to the same kernels)");
	assert_int_equal(r.n, 4);
	klt_rules_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_truncation),
		cmocka_unit_test(test_chain_and_text),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_kver_parse),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_shipped_kvm_rules),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_contradiction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
