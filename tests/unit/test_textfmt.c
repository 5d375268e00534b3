// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for src/io/textfmt.c: the text form's parser, canonical writer and round trips. */
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

#include "trace.h"
#include "traceio.h"

static int parse(struct klt_trace *t, const char *text, struct klt_err *err)
{
	klt_trace_init(t);
	assert_non_null(t->syms);
	memset(err, 0, sizeof(*err));
	return klt_text_parse(text, strlen(text), "scn.txt", t, err);
}

static char *write_text(struct klt_trace *t)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	assert_int_equal(klt_text_write(f, t), 0);
	assert_int_equal(fclose(f), 0);
	return out;
}

static void expect_error(const char *text, const char *msg)
{
	struct klt_trace t;
	struct klt_err err;
	int ret = parse(&t, text, &err);

	if (ret >= 0 || strcmp(err.msg, msg))
		fail_msg("input:\n%s\nret %d, message:\n  %s\nexpected:\n  %s", text, ret, err.msg,
			 msg);
	klt_trace_free(&t);
}

static void test_every_op(void **state)
{
	static const char text[] =
		"@sym 0xffffffffc0001000 T kvm_online_cpu size=0x80 [kvm]\n"
		"@sym 0xffffffffc0100000 D kvm_lock [kvm]\n"
		"100 1/kvm lock kvm_lock mutex at=kvm_online_cpu+0x1c\n"
		"1 unlock kvm_lock\n"
		"1 attempt 0xffff888000001000 rwsem read\n"
		"1 acquired 0xffff888000001000 rwsem mode=read\n"
		"1 unlock 0xffff888000001000 mode=read\n"
		"1 trylock kvm_lock mutex\n"
		"1 trylock-fail kvm_lock mutex\n"
		"2 srcu-read-lock &kvm->srcu\n"
		"2 srcu-read-unlock &kvm->srcu\n"
		"2 synchronize-srcu &kvm->srcu srcu\n"
		"3 cpuhp-enter cb=kvm_online_cpu hpcpu=1 state=0x64 idx=-1 atomic multi\n"
		"3 cpuhp-exit hpcpu=1 state=100 ret=-16\n"
		"4 pm-begin kvm_suspend val=1\n"
		"4 pm-end no_such_phase val=0\n"
		"5 contend-begin vcpu@0xffff888000002000 spinlock flags=0x2\n"
		"5 contend-end vcpu@0xffff888000002000 ret=-4\n"
		"6 exit pid=5 cpu=3\n"
		"7 edge kvm_lock mutex held=0xffff888500000040 held-kind=rwsem held-mode=read "
		"held-stack=#2 stack=#1 flags=0x4\n"
		"7 unlock 0xffff888500000040\n"
		"8 func-enter kvm_online_cpu+0x4\n"
		"8 func-exit kvm_online_cpu ret=-5\n"
		"8 ev-999 lock=0x10 kind=mutex mode=read aux2=-2 flags=0x10\n";
	static const unsigned types[] = {
		KLT_EV_ATTEMPT, KLT_EV_ACQUIRED, KLT_EV_RELEASE, KLT_EV_ATTEMPT, KLT_EV_ACQUIRED,
		KLT_EV_RELEASE, KLT_EV_TRY_OK, KLT_EV_TRY_FAIL, KLT_EV_SRCU_READ_LOCK,
		KLT_EV_SRCU_READ_UNLOCK, KLT_EV_SRCU_SYNC, KLT_EV_CPUHP_ENTER, KLT_EV_CPUHP_EXIT,
		KLT_EV_PM_BEGIN, KLT_EV_PM_END, KLT_EV_CONTEND_BEGIN, KLT_EV_CONTEND_END,
		KLT_EV_TASK_EXIT, KLT_EV_EDGE, KLT_EV_RELEASE, KLT_EV_FUNC_ENTER, KLT_EV_FUNC_EXIT,
		999,
	};
	struct klt_trace t;
	struct klt_err err;
	const struct klt_event *e;
	const struct klt_sym *srcu;
	size_t i;

	assert_int_equal(parse(&t, text, &err), 0);
	assert_int_equal(t.nevents, sizeof(types) / sizeof(types[0]));
	for (i = 0; i < t.nevents; i++)
		assert_int_equal(t.events[i].type, types[i]);
	e = t.events;
	/* lock = attempt + acquired at the same ts */
	assert_true(e[0].ts == 100 && e[1].ts == 100);
	assert_int_equal(e[0].tid, 1);
	assert_int_equal(e[0].pid, 1);
	assert_string_equal(e[0].comm, "kvm");
	assert_true(e[0].lock == 0xffffffffc0100000ull);
	assert_int_equal(e[0].kind, KLT_LK_MUTEX);
	assert_int_equal(e[0].mode, KLT_MODE_WRITE);
	assert_true(e[0].ip == 0xffffffffc000101cull);
	assert_int_equal(e[0].stack_id, KLT_NO_STACK);
	/* omitted TS: previous + 1000 */
	assert_true(e[2].ts == 1100);
	assert_int_equal(e[2].kind, KLT_LK_MUTEX);
	assert_int_equal(e[3].mode, KLT_MODE_READ);
	assert_int_equal(e[4].mode, KLT_MODE_READ);
	/* unlock without kind: the kind last seen for that address */
	assert_int_equal(e[5].kind, KLT_LK_RWSEM);
	assert_int_equal(e[5].mode, KLT_MODE_READ);
	srcu = klt_symtab_by_name(t.syms, "&kvm->srcu", 'D');
	assert_non_null(srcu);
	assert_true(srcu->addr == 0xffffffffa0000000ull);
	assert_true(e[8].lock == srcu->addr);
	assert_int_equal(e[8].kind, KLT_LK_SRCU);
	assert_int_equal(e[8].mode, KLT_MODE_RREAD);
	assert_int_equal(e[9].kind, KLT_LK_SRCU);
	assert_int_equal(e[10].mode, KLT_MODE_WRITE);
	assert_true(e[11].lock == 0xffffffffc0001000ull);
	assert_int_equal(e[11].aux0, 1);
	assert_int_equal(e[11].aux1, 100);
	assert_int_equal(e[11].aux2, -1);
	assert_int_equal(e[11].flags, KLT_F_CPUHP_ATOMIC | KLT_F_CPUHP_MULTI);
	assert_int_equal(e[12].aux2, -16);
	assert_int_equal(e[12].aux1, 100);
	assert_int_equal(e[13].aux0, KLT_PM_KVM_SUSPEND);
	assert_int_equal(e[13].aux1, 1);
	assert_int_equal(e[14].aux0, KLT_PM_OTHER);
	assert_true(e[15].lock == 0xffff888000002000ull);
	assert_int_equal(e[15].kind, KLT_LK_SPINLOCK);
	assert_int_equal(e[15].aux0, 2);
	assert_int_equal(e[15].flags, 0);
	assert_int_equal(e[16].kind, KLT_LK_SPINLOCK);
	assert_int_equal(e[16].aux2, -4);
	assert_string_equal(klt_symtab_exact(t.syms, 0xffff888000002000ull, 'C')->name, "vcpu");
	assert_int_equal(e[17].pid, 5);
	assert_int_equal(e[17].tid, 6);
	assert_int_equal(e[17].cpu, 3);
	assert_true(e[18].lock == 0xffffffffc0100000ull);
	assert_int_equal(e[18].aux0, 0x40);
	assert_int_equal(e[18].aux1, 0xffff8885);
	assert_int_equal(e[18].aux2, 2);
	assert_int_equal(e[18].stack_id, 1);
	assert_int_equal(KLT_F_HELD_KIND(e[18].flags), KLT_LK_RWSEM);
	assert_int_equal(KLT_F_HELD_MODE(e[18].flags), KLT_MODE_READ);
	assert_int_equal(e[18].flags & 0xffff, KLT_F_NESTED);
	/* the held lock's kind is remembered for a later unlock */
	assert_int_equal(e[19].kind, KLT_LK_RWSEM);
	assert_true(e[20].lock == 0xffffffffc0001004ull);
	assert_true(e[21].lock == 0xffffffffc0001000ull);
	assert_int_equal(e[21].aux2, -5);
	assert_true(e[22].lock == 0x10);
	assert_int_equal(e[22].kind, KLT_LK_MUTEX);
	assert_int_equal(e[22].mode, KLT_MODE_READ);
	assert_int_equal(e[22].aux2, -2);
	assert_int_equal(e[22].flags, 0x10);
	for (i = 0; i < t.nevents; i++)
		assert_int_equal(e[i].aux3, 0);
	klt_trace_free(&t);
}

static void test_timestamps_and_comm(void **state)
{
	struct klt_trace t;
	struct klt_err err;

	assert_int_equal(parse(&t, "7 lock a mutex\n"			/* TID 7, ts 1000 */
				   "5000 8 unlock a\n"			/* TS 5000, TID 8 */
				   "9/x\\x20y\\x5c\\x23\\x3d unlock a\n"	/* ts 6000 */
				   "12/ unlock a\n", &err), 0);
	assert_int_equal(t.nevents, 5);
	assert_true(t.events[0].ts == 1000 && t.events[1].ts == 1000);
	assert_int_equal(t.events[0].tid, 7);
	assert_true(t.events[2].ts == 5000);
	assert_int_equal(t.events[2].tid, 8);
	assert_true(t.events[3].ts == 6000);
	assert_string_equal(t.events[3].comm, "x y\\#=");
	assert_string_equal(t.events[4].comm, "");
	klt_trace_free(&t);
}

static void test_comments(void **state)
{
	struct klt_trace t;
	struct klt_err err;

	assert_int_equal(parse(&t, "# a comment line\n"
				   "   # indented comment\n"
				   "\n"
				   "\t\n"
				   "1/a#b lock l#1 mutex # trailing comment: lock x spinlock\n"
				   "1 lock m mutex\t# tab before the hash\n"
				   "1 unlock m stack=#0# not a comment either\n", &err), -EINVAL);
	/* "#0#" is not a number: the '#' inside a token is not a comment */
	assert_string_equal(err.msg, "scn.txt:7:19: bad number '0#' for stack id (expected signed "
			    "decimal or 0x hex)");
	assert_int_equal(t.nevents, 4);
	assert_string_equal(t.events[0].comm, "a#b");
	assert_non_null(klt_symtab_by_name(t.syms, "l#1", 'D'));
	assert_null(klt_symtab_by_name(t.syms, "x", 'D'));
	klt_trace_free(&t);

	/* CRLF line ends */
	assert_int_equal(parse(&t, "1 lock a mutex\r\n2 unlock a\r\n", &err), 0);
	assert_int_equal(t.nevents, 3);
	klt_trace_free(&t);
}

static void test_synthetic_addresses(void **state)
{
	struct klt_trace t;
	struct klt_err err;
	const struct klt_sym *s;

	assert_int_equal(parse(&t, "@sym 0xffffffffa0000100 D taken\n"
				   "1 lock first mutex at=helper+0x10 stack=helper;other+0x4;0x99\n"
				   "1 lock second mutex stack=helper;other+0x4;0x99\n"
				   "1 lock taken mutex at=other stack=#0\n"
				   "1 lock third mutex stack=other\n", &err), 0);
	s = klt_symtab_by_name(t.syms, "first", 'D');
	assert_true(s->addr == 0xffffffffa0000000ull);
	/* 0xffffffffa0000100 is occupied: the next synthetic lock skips it */
	assert_true(klt_symtab_by_name(t.syms, "second", 'D')->addr == 0xffffffffa0000200ull);
	assert_true(klt_symtab_by_name(t.syms, "third", 'D')->addr == 0xffffffffa0000300ull);
	assert_true(t.events[4].lock == 0xffffffffa0000100ull);
	s = klt_symtab_by_name(t.syms, "helper", 'T');
	assert_true(s->addr == 0xffffffff80000000ull);
	assert_true(s->size == 0x10000);
	assert_true(klt_symtab_by_name(t.syms, "other", 'T')->addr == 0xffffffff80010000ull);
	assert_true(t.events[0].ip == 0xffffffff80000010ull);
	assert_true(t.events[4].ip == 0xffffffff80010000ull);
	/* identical frame lists share one stack id */
	assert_int_equal(t.events[0].stack_id, 0);
	assert_int_equal(t.events[2].stack_id, 0);
	assert_int_equal(t.events[4].stack_id, 0);
	assert_int_equal(t.events[6].stack_id, 1);
	assert_int_equal(klt_trace_stack(&t, 0)->nr, 3);
	assert_true(klt_trace_stack(&t, 0)->ips[1] == 0xffffffff80010004ull);
	assert_true(klt_trace_stack(&t, 0)->ips[2] == 0x99);
	assert_int_equal(klt_trace_stack(&t, 1)->nr, 1);
	klt_trace_free(&t);
}

static void test_directives(void **state)
{
	struct klt_trace t;
	struct klt_err err;
	const struct klt_sym *s;

	assert_int_equal(parse(&t, "@klt-text 1\n"
				   "@info tool 0.1.0\n"
				   "@info kernel 6.12.0\n"
				   "@info hostname my\\x20host\n"
				   "@info attach kprobe\n"
				   "@info start 1764000000000000000\n"
				   "@sym 0x1000 T f size=0x20 [kvm_amd]\n"
				   "@sym 0x2000 C &kvm->lock\n"
				   "@stack 3 f+0x4 0x10\n"
				   "@stack 3 f+0x4 0x10\n"
				   "@counter ringbuf_full 7\n"
				   "@counter ringbuf_full 9\n"
				   "1 lock 0x2000 mutex stack=#3\n"
				   "1 lock 0x3000 mutex stack=f+0x4;0x10\n", &err), 0);
	assert_string_equal(t.info.tool_version, "0.1.0");
	assert_string_equal(t.info.kernel_release, "6.12.0");
	assert_string_equal(t.info.hostname, "my host");
	assert_string_equal(t.info.attach_mode, "kprobe");
	assert_true(t.info.start_realtime_ns == 1764000000000000000ull);
	s = klt_symtab_exact(t.syms, 0x1000, 'T');
	assert_true(s->size == 0x20);
	assert_string_equal(s->module, "kvm_amd");
	assert_string_equal(klt_symtab_exact(t.syms, 0x2000, 'C')->name, "&kvm->lock");
	assert_int_equal(t.ncounters, 1);
	assert_true(t.counters[0].value == 9);
	assert_int_equal(t.events[0].stack_id, 3);
	/* the interned list finds the @stack with the same frames */
	assert_int_equal(t.events[2].stack_id, 3);
	klt_trace_free(&t);
}

static void test_errors(void **state)
{
	expect_error("1 lock a mutex\n"
		     "# comment\n"
		     "\n"
		     "\n"
		     "\n"
		     "\n"
		     "10 2/kvm lock kvm_lock mutx\n",
		     "scn.txt:7:24: unknown lock kind 'mutx' (expected mutex, rwsem, percpu-rwsem, "
		     "spinlock, srcu, pthread-mutex, pthread-rwlock)");
	expect_error("1 lok a mutex\n",
		     "scn.txt:1:3: unknown operation 'lok' (expected lock, attempt, acquired, "
		     "unlock, trylock, trylock-fail, srcu-read-lock, srcu-read-unlock, "
		     "synchronize-srcu, cpuhp-enter, cpuhp-exit, pm-begin, pm-end, contend-begin, "
		     "contend-end, exit, edge, func-enter, func-exit, init, ev-N)");
	expect_error("1 lock\n",
		     "scn.txt:1:7: missing lock after 'lock' (expected NAME, 0xADDR or CLASS@0xADDR)");
	expect_error("1 unlock at=foo\n",
		     "scn.txt:1:10: missing lock after 'unlock' (expected NAME, 0xADDR or "
		     "CLASS@0xADDR)");
	expect_error("1 lock a\n",
		     "scn.txt:1:9: missing lock kind after the lock (expected mutex, rwsem, "
		     "percpu-rwsem, spinlock, srcu, pthread-mutex, pthread-rwlock)");
	expect_error("1 lock a mutex cpu=12x\n",
		     "scn.txt:1:20: bad number '12x' for cpu (expected decimal or 0x-prefixed hex)");
	expect_error("1 lock a mutex cpu=4294967296\n",
		     "scn.txt:1:20: number '4294967296' out of range for cpu (max 4294967295)");
	expect_error("1 lock 0xzz mutex\n",
		     "scn.txt:1:8: bad number '0xzz' for lock address (expected decimal or "
		     "0x-prefixed hex)");
	expect_error("99999999999999999999 1 lock a mutex\n",
		     "scn.txt:1:1: bad number '99999999999999999999' for timestamp (expected "
		     "decimal or 0x-prefixed hex)");
	expect_error("1/ab\\q lock a mutex\n",
		     "scn.txt:1:5: bad escape '\\q' in command name (expected \\xHH, not \\x00)");
	expect_error("1/ab\\x4 lock a mutex\n",
		     "scn.txt:1:5: bad escape '\\x4' in command name (expected \\xHH, not \\x00)");
	expect_error("1/a\\x00 lock a mutex\n",
		     "scn.txt:1:4: bad escape '\\x00' in command name (expected \\xHH, not \\x00)");
	expect_error("1/aaaaaaaaaaaaaaaaa lock a mutex\n",
		     "scn.txt:1:3: command name longer than 16 bytes");
	expect_error("x lock a mutex\n",
		     "scn.txt:1:1: bad thread id 'x' (expected [TS] TID[/COMM] OP ...)");
	expect_error("1\n",
		     "scn.txt:1:2: missing operation (expected lock, attempt, acquired, unlock, "
		     "trylock, trylock-fail, srcu-read-lock, srcu-read-unlock, synchronize-srcu, "
		     "cpuhp-enter, cpuhp-exit, pm-begin, pm-end, contend-begin, contend-end, exit, edge, "
		     "func-enter, func-exit, init, ev-N)");
	expect_error("1 unlock a bogus=1\n",
		     "scn.txt:1:12: unknown key 'bogus' for 'unlock' (expected mode, at, stack, "
		     "pid, cpu, flags, aux0, aux1, aux2, aux3)");
	expect_error("1 exit stray\n",
		     "scn.txt:1:8: unexpected 'stray' after 'exit' (expected key=value: at, stack, "
		     "pid, cpu, flags, aux0, aux1, aux2, aux3, kind, mode, lock)");
	expect_error("1 func-enter\n",
		     "scn.txt:1:13: missing function after 'func-enter' (expected 0xADDR, SYMBOL or "
		     "SYMBOL+0xOFF)");
	expect_error("1 ev-65536\n",
		     "scn.txt:1:6: bad event type '65536' (expected ev-N, N < 65536)");
	expect_error("1 lock a mutex mode=exclusive\n",
		     "scn.txt:1:21: unknown mode 'exclusive' (expected write, read, rread)");
	expect_error("1 lock a mutex at=123\n",
		     "scn.txt:1:19: bad frame '123' (expected 0xADDR, SYMBOL or SYMBOL+0xOFF)");
	expect_error("1 lock a mutex stack=f;;g\n",
		     "scn.txt:1:24: bad frame '' (expected 0xADDR, SYMBOL or SYMBOL+0xOFF)");
	expect_error("1 lock @0x10 mutex\n", "scn.txt:1:8: missing class name before '@' in lock");
	expect_error("@klt-text 2\n",
		     "scn.txt:1:11: unsupported text format version (expected '@klt-text 1')");
	expect_error("@frob x\n",
		     "scn.txt:1:1: unknown directive '@frob' (expected @klt-text, @info, @sym, "
		     "@stack, @counter)");
	expect_error("@info colour red\n",
		     "scn.txt:1:7: unknown info key 'colour' (expected tool, kernel, machine, "
		     "hostname, clock, attach, start)");
	expect_error("@info machine x86_64_with_a_very_long_name_indeed_yes\n",
		     "scn.txt:1:15: info value too long (max 31 bytes)");
	expect_error("@sym 0x10 X name\n",
		     "scn.txt:1:11: unknown symbol type 'X' (expected T, D or C)");
	expect_error("@sym 0x10 T\n",
		     "scn.txt:1:12: missing argument (expected @sym ADDR TYPE NAME [size=0xN] "
		     "[MODULE])");
	expect_error("@sym 0x10 T f kvm\n",
		     "scn.txt:1:15: unexpected 'kvm' (expected size=0xN or [MODULE])");
	expect_error("@stack 1048576 0x1\n", "scn.txt:1:8: stack id 1048576 out of range (max "
		     "1048575)");
	expect_error("@stack 1 0x1\n@stack 1 0x2\n",
		     "scn.txt:2:8: stack 1 already defined with other frames");
	expect_error("@counter a_name_that_is_far_too_long_for_it 1\n",
		     "scn.txt:1:10: counter name too long (max 31 bytes)");
	expect_error("1 cpuhp-enter cb=f hpcpu=-1\n",
		     "scn.txt:1:26: bad number '-1' for hpcpu (expected decimal or 0x-prefixed hex)");
	expect_error("1 cpuhp-exit ret=2147483648\n",
		     "scn.txt:1:18: number '2147483648' out of range for ret (32-bit signed)");
	expect_error("1 lock a\001b mutex\n",
		     "scn.txt:1:9: control character 0x01 in lock name (write it as \\x01)");
	expect_error("1 edge a mutex held-kind=mutx\n",
		     "scn.txt:1:26: unknown lock kind 'mutx' (expected mutex, rwsem, percpu-rwsem, "
		     "spinlock, srcu, pthread-mutex, pthread-rwlock)");
	expect_error("1 edge a mutex held-stack=3\n",
		     "scn.txt:1:27: bad held stack '3' (expected #ID)");
}

static void test_error_keeps_prefix(void **state)
{
	struct klt_trace t;
	struct klt_err err;

	assert_int_equal(parse(&t, "1 lock a mutex\n2 lock b mutex\n3 lock c mutx\n4 lock d mutex\n",
			       &err), -EINVAL);
	assert_int_equal(t.nevents, 4);
	assert_non_null(strstr(err.msg, "scn.txt:3:10:"));
	klt_trace_free(&t);
}

static const char canonical[] =
	"@klt-text 1\n"
	"@info tool 0.1.0\n"
	"@info kernel 6.12.107+deb12-amd64\n"
	"@info machine x86_64\n"
	"@info hostname a\\x20b\n"
	"@info clock monotonic\n"
	"@info attach text\n"
	"@info start 1764000000000000000\n"
	"@sym 0x1000 T dup\n"
	"@sym 0x2000 T dup size=0x10\n"
	"@sym 0x3000 T f\\x2bg\\x400x1 [m\\x5dod]\n"
	"@sym 0xffff888000001000 C &kvm->lock\n"
	"@sym 0xffffffff80000000 T helper size=0x10000\n"
	"@sym 0xffffffffa0000000 D kvm_lock [kvm]\n"
	"@sym 0xffffffffa0000100 D \\x31st\n"
	"@stack 0 helper+0x10 0x1004 0x2000\n"
	"@stack 5 f\\x2bg\\x400x1+0x8\n"
	"@counter ringbuf_full 3\n"
	"1000 1/kvm\\x20worker attempt kvm_lock mutex at=helper+0x1c stack=#0\n"
	"1000 1/kvm\\x20worker acquired kvm_lock mutex at=helper+0x1c stack=#0\n"
	"2000 2 attempt &kvm->lock@0xffff888000001000 rwsem mode=read pid=1\n"
	"2000 2 attempt 0xffff888000002000 percpu-rwsem mode=rread cpu=1\n"
	"2000 2 unlock \\x31st pthread-mutex flags=0xc aux0=1 aux1=2 aux2=-3\n"
	"3000 3 srcu-read-lock kvm_lock srcu\n"
	"3000 3 srcu-read-unlock kvm_lock srcu mode=rread\n"
	"3000 3 synchronize-srcu kvm_lock srcu stack=#5\n"
	"4000 4 cpuhp-enter cb=helper hpcpu=1 state=100 idx=-1 atomic multi flags=0x4\n"
	"4000 4 cpuhp-enter cb=0x99 hpcpu=0 state=0 idx=0\n"
	"4000 4 cpuhp-exit hpcpu=1 state=100 ret=-16\n"
	"5000 5 pm-begin dpm_suspend val=1\n"
	"5000 5 pm-end other val=0 aux0=77\n"
	"6000 6 contend-begin 0x10 spinlock flags=0x101 evflags=0x8\n"
	"6000 6 contend-end 0x10 spinlock ret=0\n"
	"7000 7 exit kind=2 lock=0x5\n"
	"7000 7 trylock 0x10 mutex kind=9\n"
	"7000 7 trylock-fail 0x10 mutex mode=7\n"
	"8000 8 edge kvm_lock mutex held=\\x31st held-kind=pthread-mutex held-mode=read "
	"held-stack=#0 at=helper stack=#5\n"
	"8000 8 edge 0x10 mutex held=0x0 held-kind=0 flags=0x1\n"
	"9000 9 func-enter helper+0x4 at=0x5\n"
	"9000 9 func-exit 0x99 ret=0\n"
	"9000 9 ev-4242 kind=4 lock=0x10 flags=0x1 aux2=-1\n"
	"9000 9 ev-0\n";

/* text -> trace -> text gives the same bytes when the input is writer output */
static void test_text_round_trip(void **state)
{
	struct klt_trace t, u;
	struct klt_err err;
	char *out, *out2;

	if (parse(&t, canonical, &err))
		fail_msg("%s", err.msg);
	out = write_text(&t);
	assert_string_equal(out, canonical);
	assert_int_equal(parse(&u, out, &err), 0);
	out2 = write_text(&u);
	assert_string_equal(out2, canonical);
	/* the ambiguous name "dup" never stands for a frame or the wrong symbol */
	assert_true(t.events[0].ip == 0xffffffff8000001cull);
	assert_int_equal(t.events[16].kind, 9);
	assert_int_equal(t.events[17].mode, 7);
	free(out);
	free(out2);
	klt_trace_free(&t);
	klt_trace_free(&u);
}

static struct klt_event rnd_event(unsigned *seed)
{
	struct klt_event e;
	unsigned i;

	memset(&e, 0, sizeof(e));
	e.type = rand_r(seed) % 8 ? 1 + rand_r(seed) % (KLT_EV_MAX - 1) : rand_r(seed) % 0x10000;
	e.kind = rand_r(seed) % 10;
	e.mode = rand_r(seed) % 4;
	e.cpu = rand_r(seed) % 3 ? 0 : (unsigned)rand_r(seed);
	e.ts = (uint64_t)rand_r(seed) << 31 | (unsigned)rand_r(seed);
	e.tid = rand_r(seed) % 100;
	e.pid = rand_r(seed) % 2 ? e.tid : (unsigned)rand_r(seed);
	e.lock = rand_r(seed) % 2 ? 0x1000u + (unsigned)rand_r(seed) % 0x3000u
				  : (uint64_t)rand_r(seed) << 33;
	e.ip = rand_r(seed) % 2 ? 0x1000 + rand_r(seed) % 0x3000 : 0;
	e.stack_id = rand_r(seed) % 3 ? KLT_NO_STACK : rand_r(seed) % 5;
	e.flags = rand_r(seed) % 2 ? rand_r(seed) % 16 : 0;
	e.aux0 = rand_r(seed) % 2 ? (unsigned)rand_r(seed) * 2u : 0;
	e.aux1 = rand_r(seed) % 2 ? (unsigned)rand_r(seed) : 0;
	e.aux2 = rand_r(seed) % 2 ? rand_r(seed) - RAND_MAX / 2 : 0;
	if (rand_r(seed) % 4 == 0)
		e.aux2 = INT32_MIN;
	for (i = 0; i < KLT_COMM_LEN && rand_r(seed) % 6; i++)
		e.comm[i] = (char)(1 + rand_r(seed) % 255);
	return e;
}

/* binary -> text -> binary keeps events, stacks and symbols identical */
static void test_binary_text_binary(void **state)
{
	static const uint64_t ips[4] = { 0x1010, 0x2004, 0x3000, 0x99 };
	struct klt_trace a, b;
	struct klt_err err;
	char *text, path[] = "/tmp/klt-textfmt-XXXXXX";
	unsigned seed = 1, i;
	size_t k;
	int fd;

	klt_trace_init(&a);
	assert_int_equal(klt_symtab_add(a.syms, 0x1000, 0, 'T', "f", "kvm"), 0);
	assert_int_equal(klt_symtab_add(a.syms, 0x2000, 0x100, 'T', "f", NULL), 0); /* dup name */
	assert_int_equal(klt_symtab_add(a.syms, 0x3000, 0, 'T', "g+0x5", NULL), 0);
	assert_int_equal(klt_symtab_add(a.syms, 0x1800, 0, 'D', "0xlock", NULL), 0);
	assert_int_equal(klt_symtab_add(a.syms, 0x1900, 0, 'D', "12", NULL), 0);
	assert_int_equal(klt_symtab_add(a.syms, 0x2800, 0, 'C', "cls@0x5", NULL), 0);
	assert_int_equal(klt_symtab_add(a.syms, 0x2900, 0, 'D', "sp ace;#=\\", "m[1]"), 0);
	assert_int_equal(klt_trace_set_stack(&a, 0, ips, 4), 0);
	assert_int_equal(klt_trace_set_stack(&a, 3, ips + 2, 1), 0);
	for (i = 0; i < 2000; i++) {
		struct klt_event e = rnd_event(&seed);

		assert_int_equal(klt_trace_add_event(&a, &e), 0);
	}
	text = write_text(&a);
	if (getenv("KLT_DUMP"))
		fputs(text, stderr);
	klt_trace_init(&b);
	assert_int_equal(klt_text_parse(text, strlen(text), "rt", &b, &err), 0);
	assert_int_equal(b.nevents, a.nevents);
	for (k = 0; k < a.nevents; k++)
		if (memcmp(&a.events[k], &b.events[k], sizeof(a.events[k]))) {
			char *line = strtok(text, "\n");
			size_t j;

			for (j = 0; line && j < k + 12; j++) /* 12 header lines before the events */
				line = strtok(NULL, "\n");
			fail_msg("event %zu differs: %s", k, line ? line : "?");
		}
	assert_int_equal(klt_symtab_count(a.syms), klt_symtab_count(b.syms));
	for (k = 0; k < klt_symtab_count(a.syms); k++) {
		const struct klt_sym *x = klt_symtab_at(a.syms, k), *y = klt_symtab_at(b.syms, k);

		assert_true(x->addr == y->addr && x->size == y->size && x->type == y->type);
		assert_string_equal(x->name, y->name);
		assert_true(!x->module == !y->module);
		if (x->module)
			assert_string_equal(x->module, y->module);
	}
	assert_int_equal(b.nstacks, a.nstacks);
	assert_int_equal(klt_trace_stack(&b, 0)->nr, 4);
	assert_memory_equal(klt_trace_stack(&b, 0)->ips, ips, sizeof(ips));
	assert_null(klt_trace_stack(&b, 1));

	/* the same through a binary file and klt_trace_load of the text form */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	klt_trace_free(&b);
	klt_trace_init(&b);
	assert_int_equal(klt_trace_load(path, &b, &err), 0);
	assert_int_equal(b.nevents, a.nevents);
	assert_memory_equal(b.events, a.events, a.nevents * sizeof(struct klt_event));
	unlink(path);
	free(text);
	klt_trace_free(&a);
	klt_trace_free(&b);
}

/*
 * Every byte value in a command name, a lock name, a module name and a counter name: what the
 * writer escapes, the parser reads back to the same bytes. NUL ends a name (a comm's bytes after
 * its first NUL are not represented), and the parser's message for a raw NUL says so instead of
 * suggesting an escape it rejects.
 */
static void test_every_byte_round_trip(void **state)
{
	for (unsigned c = 0; c < 256; c++) {
		struct klt_trace a, b;
		struct klt_event e = { .type = KLT_EV_ACQUIRED, .kind = KLT_LK_MUTEX, .ts = 10,
				       .pid = 1, .tid = 1, .lock = 0x5000, .stack_id = KLT_NO_STACK };
		char name[4] = { 'n', (char)c, 'x', 0 }, mod[3] = { 'm', (char)c, 0 };
		char ctr[3] = { 'k', (char)c, 0 }, want[KLT_COMM_LEN] = { 'a' };
		struct klt_err err;
		char *text;

		e.comm[0] = 'a';
		e.comm[1] = (char)c;
		e.comm[2] = 'z';
		if (c) {
			want[1] = (char)c;
			want[2] = 'z';
		}
		klt_trace_init(&a);
		assert_int_equal(klt_symtab_add(a.syms, 0x5000, 0, 'D', name, mod), 0);
		assert_int_equal(klt_trace_add_counter(&a, ctr, 7), 0);
		assert_int_equal(klt_trace_add_event(&a, &e), 0);
		text = write_text(&a);
		klt_trace_init(&b);
		memset(&err, 0, sizeof(err));
		if (klt_text_parse(text, strlen(text), "bytes", &b, &err))
			fail_msg("byte 0x%02x: %s\n%s", c, err.msg, text);
		assert_int_equal(b.nevents, 1);
		if (memcmp(b.events[0].comm, want, KLT_COMM_LEN))
			fail_msg("byte 0x%02x: comm differs after a round trip:\n%s", c, text);
		assert_int_equal(klt_symtab_count(b.syms), 1);
		assert_string_equal(klt_symtab_at(b.syms, 0)->name, name);
		assert_string_equal(klt_symtab_at(b.syms, 0)->module, mod);
		assert_int_equal(b.ncounters, 1);
		assert_int_equal(strncmp(b.counters[0].name, ctr, sizeof(b.counters[0].name)), 0);
		free(text);
		klt_trace_free(&a);
		klt_trace_free(&b);
	}
	/* a raw NUL: the message names it without suggesting the rejected \x00 */
	{
		static const char raw[] = "1/a\0b lock x mutex\n";
		struct klt_trace t;
		struct klt_err err;

		klt_trace_init(&t);
		memset(&err, 0, sizeof(err));
		assert_true(klt_text_parse(raw, sizeof(raw) - 1, "scn.txt", &t, &err) < 0);
		assert_string_equal(err.msg, "scn.txt:1:4: NUL byte in command name (a name ends at "
					     "its first NUL: leave it out)");
		klt_trace_free(&t);
	}
	expect_error("1/a\\x00b lock x mutex\n",
		     "scn.txt:1:4: bad escape '\\x00' in command name (expected \\xHH, not \\x00)");
}

/* Arbitrary bytes and mutations of valid text: no crash, no hang, error or success. */
static void test_garbage(void **state)
{
	unsigned seed = 7, i, j;
	char buf[512];
	size_t clen = sizeof(canonical) - 1;
	char *mut = malloc(clen);

	assert_non_null(mut);
	for (i = 0; i < 3000; i++) {
		struct klt_trace t;
		struct klt_err err;
		size_t len = rand_r(&seed) % sizeof(buf);
		int ret;

		for (j = 0; j < len; j++) {
			static const char alpha[] = "0123456789abx@#=/;+\\ \n\tlockmutexunsrcu-";

			buf[j] = rand_r(&seed) % 2 ? (char)rand_r(&seed)
						   : alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		}
		klt_trace_init(&t);
		memset(&err, 0, sizeof(err));
		ret = klt_text_parse(buf, len, "fuzz", &t, &err);
		assert_true(ret == 0 || (ret < 0 && !strncmp(err.msg, "fuzz:", 5)));
		klt_trace_free(&t);

		memcpy(mut, canonical, clen);
		for (j = 0; j < 4; j++)
			mut[rand_r(&seed) % clen] = (char)rand_r(&seed);
		len = rand_r(&seed) % (clen + 1);
		klt_trace_init(&t);
		ret = klt_text_parse(mut, len, "mut", &t, &err);
		assert_true(ret == 0 || (ret < 0 && !strncmp(err.msg, "mut:", 4)));
		klt_trace_free(&t);
	}
	free(mut);
}

/* Long inputs stay linear: 100k distinct synthetic names and stacks. */
static void test_scale(void **state)
{
	const size_t n = 100000;
	size_t cap = n * 64, len = 0, i;
	char *text = malloc(cap);
	struct klt_trace t;
	struct klt_err err;

	assert_non_null(text);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "%zu lock l%zu mutex stack=f%zu;g\n",
					i % 50, i, i);
	assert_int_equal(parse(&t, text, &err), 0);
	assert_int_equal(t.nevents, 2 * n);
	assert_int_equal(t.nstacks, n);
	assert_int_equal(klt_symtab_count(t.syms), 2 * n + 1);
	klt_trace_free(&t);
	free(text);
}

/* The same frames under two @stack ids: a stack= list of those frames is the first id. */
static void test_stack_interning(void **state)
{
	struct klt_trace t;
	struct klt_err err;
	const char *text;

	(void)state;
	assert_int_equal(parse(&t, "@stack 5 0x10 0x20\n"
				   "@stack 3 0x10 0x20\n"
				   "1 lock 0x1000 mutex stack=0x10;0x20\n"
				   "1 unlock 0x1000 stack=0x20;0x10\n"
				   "1 lock 0x1000 mutex stack=0x20;0x10\n", &err), 0);
	assert_int_equal(t.nevents, 5);
	assert_int_equal(t.events[0].stack_id, 5);
	assert_int_equal(t.events[1].stack_id, 5);
	/* other order, other stack: a new id after the highest */
	assert_int_equal(t.events[2].stack_id, 6);
	assert_int_equal(t.events[3].stack_id, 6);
	assert_int_equal(t.events[4].stack_id, 6);
	klt_trace_free(&t);

	/* stacks already in the trace take part in interning */
	klt_trace_init(&t);
	assert_int_equal(klt_trace_set_stack(&t, 2, (const uint64_t[]){ 0x30 }, 1), 0);
	memset(&err, 0, sizeof(err));
	text = "1 lock 0x1000 mutex stack=0x30\n";
	assert_int_equal(klt_text_parse(text, strlen(text), "s", &t, &err), 0);
	assert_int_equal(t.events[0].stack_id, 2);
	klt_trace_free(&t);
}

/* The lock kind last seen for an address is the default of unlock, across many locks. */
static void test_kind_memory(void **state)
{
	struct klt_trace t;
	struct klt_err err;
	char *text = malloc(5000 * 64), *q = text;
	size_t i;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 5000; i++)
		q += sprintf(q, "1 lock 0x%zx %s\n", 0x1000 + 0x10 * i, i % 2 ? "rwsem" : "spinlock");
	for (i = 0; i < 5000; i++)
		q += sprintf(q, "1 unlock 0x%zx\n", 0x1000 + 0x10 * i);
	assert_int_equal(parse(&t, text, &err), 0);
	assert_int_equal(t.nevents, 15000);
	for (i = 0; i < 5000; i++)
		assert_int_equal(t.events[10000 + i].kind, i % 2 ? KLT_LK_RWSEM : KLT_LK_SPINLOCK);
	klt_trace_free(&t);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op),
		cmocka_unit_test(test_timestamps_and_comm),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_synthetic_addresses),
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_keeps_prefix),
		cmocka_unit_test(test_text_round_trip),
		cmocka_unit_test(test_binary_text_binary),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_every_byte_round_trip),
		cmocka_unit_test(test_stack_interning),
		cmocka_unit_test(test_kind_memory),
	};

	return cmocka_run_group_tests_name("textfmt", tests, NULL, NULL);
}
