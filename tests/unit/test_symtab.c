// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for src/core/symtab.c: ordering, exact/nearest/by-name lookups, formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "symtab.h"

static int setup(void **state)
{
	struct klt_symtab *st = klt_symtab_new();

	if (!st)
		return -1;
	*state = st;
	return 0;
}

static int teardown(void **state)
{
	klt_symtab_free(*state);
	return 0;
}

static void test_order_and_count(void **state)
{
	struct klt_symtab *st = *state;
	const struct klt_sym *s;

	assert_int_equal(klt_symtab_add(st, 0x3000, 0, 'T', "c", NULL), 0);
	assert_int_equal(klt_symtab_add(st, 0x1000, 0, 'T', "a", "kvm"), 0);
	assert_int_equal(klt_symtab_add(st, 0x2000, 0, 'D', "b", NULL), 0);
	assert_int_equal(klt_symtab_count(st), 3);
	assert_string_equal(klt_symtab_at(st, 0)->name, "a");
	assert_string_equal(klt_symtab_at(st, 0)->module, "kvm");
	assert_string_equal(klt_symtab_at(st, 1)->name, "b");
	assert_string_equal(klt_symtab_at(st, 2)->name, "c");
	assert_null(klt_symtab_at(st, 3));
	/* adding after a sort re-sorts lazily */
	assert_int_equal(klt_symtab_add(st, 0x500, 0, 'T', "first", NULL), 0);
	s = klt_symtab_at(st, 0);
	assert_string_equal(s->name, "first");
	assert_null(s->module);
	assert_int_equal(klt_symtab_count(st), 4);
}

static void test_duplicates_first_wins(void **state)
{
	struct klt_symtab *st = *state;

	assert_int_equal(klt_symtab_add(st, 0x1000, 0x10, 'T', "one", NULL), 0);
	assert_int_equal(klt_symtab_add(st, 0x1000, 0x20, 'T', "two", NULL), 0);
	/* same address, other type: a separate symbol */
	assert_int_equal(klt_symtab_add(st, 0x1000, 0, 'D', "lock", NULL), 0);
	assert_int_equal(klt_symtab_count(st), 2);
	assert_string_equal(klt_symtab_exact(st, 0x1000, 'T')->name, "one");
	assert_int_equal(klt_symtab_exact(st, 0x1000, 'T')->size, 0x10);
	assert_string_equal(klt_symtab_exact(st, 0x1000, 'D')->name, "lock");
	assert_null(klt_symtab_exact(st, 0x1000, 'C'));
	assert_null(klt_symtab_exact(st, 0x1001, 'T'));
}

static void test_lookup_sizes(void **state)
{
	struct klt_symtab *st = *state;
	const struct klt_sym *s;
	uint64_t off = 99;

	assert_int_equal(klt_symtab_add(st, 0x1000, 0x100, 'T', "sized", NULL), 0);
	assert_int_equal(klt_symtab_add(st, 0x2000, 0, 'T', "open", NULL), 0);
	assert_int_equal(klt_symtab_add(st, 0x2800, 0, 'D', "data", NULL), 0);
	assert_int_equal(klt_symtab_add(st, 0x3000, 0, 'T', "last", NULL), 0);

	assert_null(klt_symtab_lookup(st, 0xfff, &off));
	s = klt_symtab_lookup(st, 0x1000, &off);
	assert_non_null(s);
	assert_string_equal(s->name, "sized");
	assert_int_equal(off, 0);
	s = klt_symtab_lookup(st, 0x10ff, &off);
	assert_string_equal(s->name, "sized");
	assert_int_equal(off, 0xff);
	/* beyond the known size: nothing, even though "open" starts later */
	assert_null(klt_symtab_lookup(st, 0x1100, &off));
	/* size 0 extends to the next FUNC; DATA symbols do not bound it */
	s = klt_symtab_lookup(st, 0x2fff, &off);
	assert_string_equal(s->name, "open");
	assert_int_equal(off, 0xfff);
	/* the last sizeless FUNC covers less than 1 MiB */
	s = klt_symtab_lookup(st, 0x3000 + (1 << 20) - 1, &off);
	assert_non_null(s);
	assert_string_equal(s->name, "last");
	assert_null(klt_symtab_lookup(st, 0x3000 + (1 << 20), &off));
	assert_null(klt_symtab_lookup(st, UINT64_MAX, &off));
}

static void test_lookup_last_sized(void **state)
{
	struct klt_symtab *st = *state;
	uint64_t off;

	assert_int_equal(klt_symtab_add(st, 0x1000, 0x8, 'T', "f", NULL), 0);
	assert_non_null(klt_symtab_lookup(st, 0x1007, &off));
	assert_null(klt_symtab_lookup(st, 0x1008, &off));
	assert_null(klt_symtab_lookup(NULL, 0x1000, &off));
}

/* A sizeless symbol at the end of its module does not name the gap before another module's
 * (a module loaded after kallsyms was read sits there: not ftrace_trampoline+0x21b0). */
static void test_lookup_module_boundary(void **state)
{
	struct klt_symtab *st = *state;
	const struct klt_sym *s;
	uint64_t off;

	assert_int_equal(klt_symtab_add(st, 0xffffffffc0000000ull, 0, 'T', "ftrace_trampoline",
					"__builtin__ftrace"), 0);
	assert_int_equal(klt_symtab_add(st, 0xffffffffc0400000ull, 0, 'T', "kvm_init", "kvm"), 0);
	assert_int_equal(klt_symtab_add(st, 0xffffffffc0800000ull, 0, 'T', "kvm_exit", "kvm"), 0);
	/* within 1 MiB of the module's last symbol: still it */
	s = klt_symtab_lookup(st, 0xffffffffc0000000ull + 0x21b0, &off);
	assert_non_null(s);
	assert_string_equal(s->name, "ftrace_trampoline");
	/* beyond it, before the next module: nobody's */
	assert_null(klt_symtab_lookup(st, 0xffffffffc0000000ull + (2u << 20), &off));
	/* the same module's next symbol still bounds a symbol, however far */
	s = klt_symtab_lookup(st, 0xffffffffc0400000ull + (3u << 20), &off);
	assert_non_null(s);
	assert_string_equal(s->name, "kvm_init");
}

static void test_lookup_aliases(void **state)
{
	struct klt_symtab *st = *state;
	uint64_t off;

	assert_int_equal(klt_symtab_add(st, 0x1000, 0, 'T', "zzz_alias", NULL), 0);
	assert_int_equal(klt_symtab_add(st, 0x1000, 0, 'T', "aaa_alias", NULL), 0); /* dup */
	assert_int_equal(klt_symtab_add(st, 0x2000, 0, 'T', "next", NULL), 0);
	assert_string_equal(klt_symtab_lookup(st, 0x1004, &off)->name, "zzz_alias");
	assert_int_equal(off, 4);
}

static void test_by_name(void **state)
{
	struct klt_symtab *st = *state;

	/* kvm_suspend exists twice (vmlinux and [kvm]); by_name gives the first added */
	assert_int_equal(klt_symtab_add(st, 0x9000, 0, 'T', "kvm_suspend", "kvm"), 0);
	assert_int_equal(klt_symtab_add(st, 0x1000, 0, 'T', "kvm_suspend", NULL), 0);
	assert_int_equal(klt_symtab_add(st, 0x5000, 0, 'D', "kvm_suspend", NULL), 0);
	assert_int_equal(klt_symtab_by_name(st, "kvm_suspend", 'T')->addr, 0x9000);
	assert_int_equal(klt_symtab_by_name(st, "kvm_suspend", 'D')->addr, 0x5000);
	assert_null(klt_symtab_by_name(st, "kvm_suspend", 'C'));
	assert_null(klt_symtab_by_name(st, "kvm_resume", 'T'));
}

static void test_fmt(void **state)
{
	struct klt_symtab *st = *state;
	char buf[64], small[8];

	assert_int_equal(klt_symtab_add(st, 0xffffffffc0001000ull, 0x100, 'T', "kvm_online_cpu",
					"kvm"), 0);
	assert_int_equal(klt_symtab_add(st, 0xffffffff81000000ull, 0x100, 'T', "mutex_lock", NULL),
			 0);
	assert_int_equal(klt_symtab_add(st, 0xffffffff82000000ull, 0, 'D', "cpu_hotplug_lock",
					NULL), 0);
	assert_string_equal(klt_symtab_fmt(st, 0xffffffffc000101cull, buf, sizeof(buf)),
			    "kvm_online_cpu+0x1c [kvm]");
	assert_string_equal(klt_symtab_fmt(st, 0xffffffffc0001000ull, buf, sizeof(buf)),
			    "kvm_online_cpu [kvm]");
	assert_string_equal(klt_symtab_fmt(st, 0xffffffff81000000ull, buf, sizeof(buf)),
			    "mutex_lock");
	assert_string_equal(klt_symtab_fmt(st, 0xffffffff810000ffull, buf, sizeof(buf)),
			    "mutex_lock+0xff");
	assert_string_equal(klt_symtab_fmt(st, 0xffffffff82000000ull, buf, sizeof(buf)),
			    "cpu_hotplug_lock");
	assert_string_equal(klt_symtab_fmt(st, 0xdead0, buf, sizeof(buf)), "0xdead0");
	assert_string_equal(klt_symtab_fmt(st, 0, buf, sizeof(buf)), "0x0");
	assert_string_equal(klt_symtab_fmt(st, UINT64_MAX, buf, sizeof(buf)),
			    "0xffffffffffffffff");
	/* truncation keeps a terminated prefix */
	assert_string_equal(klt_symtab_fmt(st, 0xffffffffc000101cull, small, sizeof(small)),
			    "kvm_onl");
	assert_string_equal(klt_symtab_fmt(NULL, 0x10, small, sizeof(small)), "0x10");
	assert_string_equal(klt_symtab_fmt(st, 0x123456789ull, small, 4), "0x1");
}

/* Many symbols in scrambled order: lookups stay right (and stay fast under ASan). */
static void test_many(void **state)
{
	struct klt_symtab *st = *state;
	char name[32];
	uint64_t off;
	size_t i;

	for (i = 0; i < 20000; i++) {
		size_t k = (i * 7919) % 20000;

		snprintf(name, sizeof(name), "f%zu", k);
		assert_int_equal(klt_symtab_add(st, 0x100000 + k * 0x40, 0x40, 'T', name, NULL), 0);
		/* exact lookups between adds must not need a sort */
		assert_non_null(klt_symtab_exact(st, 0x100000 + k * 0x40, 'T'));
	}
	assert_int_equal(klt_symtab_count(st), 20000);
	for (i = 1; i < 20000; i++)
		assert_true(klt_symtab_at(st, i - 1)->addr < klt_symtab_at(st, i)->addr);
	for (i = 0; i < 20000; i += 97) {
		const struct klt_sym *s = klt_symtab_lookup(st, 0x100000 + i * 0x40 + 0x3f, &off);

		snprintf(name, sizeof(name), "f%zu", i);
		assert_non_null(s);
		assert_string_equal(s->name, name);
		assert_int_equal(off, 0x3f);
		assert_ptr_equal(klt_symtab_by_name(st, name, 'T'), s);
	}
}

/* By-name lookups keep "first one wins" while the tables grow, per type. */
static void test_by_name_across_growth(void **state)
{
	struct klt_symtab *st = *state;
	char name[32];
	size_t i;

	assert_int_equal(klt_symtab_add(st, 0x1000, 0, KLT_SYM_DATA, "dup", NULL), 0);
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "s%zu", i);
		assert_int_equal(klt_symtab_add(st, 0x10000 + 16 * i, 16, KLT_SYM_FUNC, name, NULL), 0);
		assert_int_equal(klt_symtab_add(st, 0x900000 + 8 * i, 0, KLT_SYM_DATA, "dup", NULL),
				 0);
	}
	assert_int_equal(klt_symtab_add(st, 0x2000, 0, KLT_SYM_FUNC, "dup", NULL), 0);
	assert_int_equal(klt_symtab_count(st), 10002);
	assert_true(klt_symtab_by_name(st, "dup", KLT_SYM_DATA)->addr == 0x1000);
	assert_true(klt_symtab_by_name(st, "dup", KLT_SYM_FUNC)->addr == 0x2000);
	assert_null(klt_symtab_by_name(st, "dup", KLT_SYM_CLASS));
	for (i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "s%zu", i);
		assert_true(klt_symtab_by_name(st, name, KLT_SYM_FUNC)->addr == 0x10000 + 16 * i);
		assert_null(klt_symtab_by_name(st, name, KLT_SYM_DATA));
		assert_string_equal(klt_symtab_exact(st, 0x900000 + 8 * i, KLT_SYM_DATA)->name, "dup");
		assert_null(klt_symtab_exact(st, 0x900000 + 8 * i, KLT_SYM_FUNC));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_first_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_last_sized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_module_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fmt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_by_name_across_growth, setup, teardown),
	};

	return cmocka_run_group_tests_name("symtab", tests, NULL, NULL);
}
