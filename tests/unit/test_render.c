// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the renderers: a small engine run (events fed straight into lg_feed) rendered
 * as text, JSON (parsed back with json-c, validated against docs/json-schema.json by
 * tests/unit/validate-json.sh) and DOT (accepted by graphviz's `dot`).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "render.h"
#include "render_priv.h"

/* kernel text / data of the pretend kernel */
#define F_HW_ENABLE 0xffffffffa0001000ull
#define F_ONLINE 0xffffffffa0002000ull
#define F_CPUS_READ 0xffffffff81003000ull
#define F_VM_IOCTL 0xffffffffa0003000ull
#define F_STARTING 0xffffffffa0004000ull
#define F_SYSCALL 0xffffffff81005000ull
#define L_HOTPLUG 0xffffffff82000000ull
#define L_KVM_LOCK 0xffffffffa0100000ull
#define L_KVM1 0xffff888000002000ull  /* kvm->lock of VM 1 (explicit class) */
#define L_VCPU1 0xffff888000003000ull /* vcpu->mutex of VM 1 */
#define L_SLOTS1 0xffff888000004000ull
#define L_IRQ1 0xffff888000005000ull
#define L_SLOTS2 0xffff888000014000ull
#define L_IRQ2 0xffff888000015000ull
#define L_ANON 0xffff888000001000ull	/* no symbol: inferred class */
#define L_STRAY 0xffff888000009000ull	/* released, never acquired */
#define L_SRCU1 0xffff888000006000ull	/* kvm->srcu of VM 1 */

static const char rules_text[] = "order cpu_hotplug_lock > kvm_lock\n"
				 "order kvm->lock > vcpu->mutex\n"
				 "order kvm->slots_lock > kvm->irq_lock\n"
				 "watch-suspend kvm_lock\n";

struct fixture {
	struct klt_trace trace;
	struct klt_rules rules;
	struct lg_engine *eng;
	struct klt_view view;
	uint64_t ts;
};

static void feed(struct fixture *fx, unsigned type, uint32_t tid, const char *comm, uint64_t lock,
		 unsigned kind, unsigned mode, uint64_t ip, int32_t stack)
{
	struct klt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = (uint16_t)type;
	ev.kind = (uint8_t)kind;
	ev.mode = (uint8_t)mode;
	ev.cpu = tid % 4;
	ev.ts = (fx->ts += 1000000); /* 1 ms apart */
	ev.pid = tid;
	ev.tid = tid;
	ev.lock = lock;
	ev.ip = ip;
	ev.stack_id = stack;
	strncpy(ev.comm, comm, sizeof(ev.comm) - 1);
	assert_int_equal(lg_feed(fx->eng, &ev), 0);
	/* the trace keeps the events too: the JSON's statistics are computed from them */
	assert_int_equal(klt_trace_add_event(&fx->trace, &ev), 0);
}

static void feed_raw(struct fixture *fx, const struct klt_event *ev)
{
	assert_int_equal(lg_feed(fx->eng, ev), 0);
}

#define ACQ(tid, comm, lock, kind, mode, ip, stack) \
	feed(fx, KLT_EV_ACQUIRED, tid, comm, lock, kind, mode, ip, stack)
#define REL(tid, comm, lock, kind, mode) \
	feed(fx, KLT_EV_RELEASE, tid, comm, lock, kind, mode, 0, KLT_NO_STACK)

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct klt_symtab *st;
	struct lg_config cfg;
	char err[256];
	const uint64_t s0[] = { F_HW_ENABLE + 0x1c, F_SYSCALL + 0x10 };
	const uint64_t s1[] = { F_CPUS_READ + 0x8, F_HW_ENABLE + 0x10, F_SYSCALL + 0x10 };
	const uint64_t s2[] = { F_ONLINE + 0x20 };
	const uint64_t s3[] = { F_CPUS_READ + 0x8, F_ONLINE + 0x30 };

	assert_non_null(fx);
	klt_trace_init(&fx->trace);
	st = fx->trace.syms;
	assert_non_null(st);
	assert_int_equal(klt_symtab_add(st, F_HW_ENABLE, 0x100, KLT_SYM_FUNC, "hardware_enable_all",
					NULL), 0);
	assert_int_equal(klt_symtab_add(st, F_ONLINE, 0x100, KLT_SYM_FUNC, "kvm_online_cpu", NULL),
			 0);
	assert_int_equal(klt_symtab_add(st, F_CPUS_READ, 0x80, KLT_SYM_FUNC, "cpus_read_lock",
					NULL), 0);
	assert_int_equal(klt_symtab_add(st, F_VM_IOCTL, 0x400, KLT_SYM_FUNC, "kvm_vm_ioctl", NULL),
			 0);
	assert_int_equal(klt_symtab_add(st, F_STARTING, 0x100, KLT_SYM_FUNC, "kvm_starting_cpu",
					NULL), 0);
	assert_int_equal(klt_symtab_add(st, F_SYSCALL, 0x100, KLT_SYM_FUNC, "entry_SYSCALL_64",
					NULL), 0);
	assert_int_equal(klt_symtab_add(st, L_HOTPLUG, 8, KLT_SYM_DATA, "cpu_hotplug_lock", NULL),
			 0);
	assert_int_equal(klt_symtab_add(st, L_KVM_LOCK, 8, KLT_SYM_DATA, "kvm_lock", NULL), 0);
	assert_int_equal(klt_symtab_add(st, L_KVM1, 0, KLT_SYM_CLASS, "kvm->lock", NULL), 0);
	assert_int_equal(klt_symtab_add(st, L_VCPU1, 0, KLT_SYM_CLASS, "vcpu->mutex", NULL), 0);
	assert_int_equal(klt_symtab_add(st, L_SLOTS1, 0, KLT_SYM_CLASS, "kvm->slots_lock", NULL),
			 0);
	assert_int_equal(klt_symtab_add(st, L_SLOTS2, 0, KLT_SYM_CLASS, "kvm->slots_lock", NULL),
			 0);
	assert_int_equal(klt_symtab_add(st, L_IRQ1, 0, KLT_SYM_CLASS, "kvm->irq_lock", NULL), 0);
	assert_int_equal(klt_symtab_add(st, L_IRQ2, 0, KLT_SYM_CLASS, "kvm->irq_lock", NULL), 0);
	assert_int_equal(klt_symtab_add(st, L_SRCU1, 0, KLT_SYM_CLASS, "kvm->srcu", NULL), 0);
	assert_int_equal(klt_trace_set_stack(&fx->trace, 0, s0, 2), 0);
	assert_int_equal(klt_trace_set_stack(&fx->trace, 1, s1, 3), 0);
	assert_int_equal(klt_trace_set_stack(&fx->trace, 2, s2, 1), 0);
	assert_int_equal(klt_trace_set_stack(&fx->trace, 3, s3, 2), 0);
	assert_int_equal(klt_trace_add_counter(&fx->trace, "ringbuf_full", 3), 0);
	assert_int_equal(klt_trace_add_counter(&fx->trace, "stack_fail", 0), 0);
	snprintf(fx->trace.info.kernel_release, sizeof(fx->trace.info.kernel_release),
		 "6.12.107+deb12-amd64");

	if (klt_rules_parse(rules_text, strlen(rules_text), "t.rules", &fx->rules, err,
			    sizeof(err)))
		fail_msg("rules: %s", err);
	memset(&cfg, 0, sizeof(cfg));
	cfg.syms = st;
	cfg.rules = &fx->rules;
	fx->eng = lg_new(&cfg);
	assert_non_null(fx->eng);

	/* qemu-kvm: cpus_read_lock() then kvm_lock (the 6.3..6.11 order) */
	ACQ(1234, "qemu-kvm", L_HOTPLUG, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ, F_HW_ENABLE + 0x10, 1);
	ACQ(1234, "qemu-kvm", L_KVM_LOCK, KLT_LK_MUTEX, KLT_MODE_WRITE, F_HW_ENABLE + 0x1c, 0);
	REL(1234, "qemu-kvm", L_KVM_LOCK, KLT_LK_MUTEX, KLT_MODE_WRITE);
	REL(1234, "qemu-kvm", L_HOTPLUG, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ);
	/* cpuhp/1: the other way round: a cycle and a rule violation */
	ACQ(4321, "cpuhp/1", L_KVM_LOCK, KLT_LK_MUTEX, KLT_MODE_WRITE, F_ONLINE + 0x20, 2);
	ACQ(4321, "cpuhp/1", L_HOTPLUG, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ, F_ONLINE + 0x30, 3);
	REL(4321, "cpuhp/1", L_HOTPLUG, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ);
	REL(4321, "cpuhp/1", L_KVM_LOCK, KLT_LK_MUTEX, KLT_MODE_WRITE);
	/* per-VM: vcpu->mutex outside kvm->lock breaks a documented order; an unnamed mutex */
	ACQ(77, "qemu-kvm", L_ANON, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0x1c, KLT_NO_STACK);
	REL(77, "qemu-kvm", L_ANON, KLT_LK_MUTEX, KLT_MODE_WRITE);
	ACQ(77, "qemu-kvm", L_VCPU1, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0x40, KLT_NO_STACK);
	ACQ(77, "qemu-kvm", L_KVM1, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0x60, KLT_NO_STACK);
	REL(77, "qemu-kvm", L_KVM1, KLT_LK_MUTEX, KLT_MODE_WRITE);
	REL(77, "qemu-kvm", L_VCPU1, KLT_LK_MUTEX, KLT_MODE_WRITE);
	/* two VMs, opposite orders on different instances: a class-level cycle only */
	ACQ(80, "vm1", L_SLOTS1, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0x80, KLT_NO_STACK);
	ACQ(80, "vm1", L_IRQ1, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0x90, KLT_NO_STACK);
	REL(80, "vm1", L_IRQ1, KLT_LK_MUTEX, KLT_MODE_WRITE);
	REL(80, "vm1", L_SLOTS1, KLT_LK_MUTEX, KLT_MODE_WRITE);
	ACQ(81, "vm2", L_IRQ2, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0xa0, KLT_NO_STACK);
	ACQ(81, "vm2", L_SLOTS2, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0xb0, KLT_NO_STACK);
	REL(81, "vm2", L_SLOTS2, KLT_LK_MUTEX, KLT_MODE_WRITE);
	REL(81, "vm2", L_IRQ2, KLT_LK_MUTEX, KLT_MODE_WRITE);
	/* a sleeping lock inside an atomic (STARTING) hotplug callback */
	{
		struct klt_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.type = KLT_EV_CPUHP_ENTER;
		ev.tid = ev.pid = 5;
		strcpy(ev.comm, "cpuhp/2");
		ev.ts = (fx->ts += 1000000);
		ev.lock = F_STARTING;
		ev.aux0 = 2;
		ev.aux1 = 100;
		ev.aux2 = 57;
		ev.flags = KLT_F_CPUHP_ATOMIC;
		feed_raw(fx, &ev);
		ACQ(5, "cpuhp/2", L_KVM_LOCK, KLT_LK_MUTEX, KLT_MODE_WRITE, F_STARTING + 0x10, 2);
		REL(5, "cpuhp/2", L_KVM_LOCK, KLT_LK_MUTEX, KLT_MODE_WRITE);
		ev.type = KLT_EV_CPUHP_EXIT;
		ev.ts = (fx->ts += 1000000);
		feed_raw(fx, &ev);
		/* suspend while a task holds kvm_lock, which then exits holding it */
		ACQ(99, "bash", L_KVM_LOCK, KLT_LK_MUTEX, KLT_MODE_WRITE, F_HW_ENABLE + 0x1c, 0);
		memset(&ev, 0, sizeof(ev));
		ev.type = KLT_EV_PM_BEGIN;
		ev.tid = ev.pid = 100;
		strcpy(ev.comm, "systemd-sleep");
		ev.ts = (fx->ts += 1000000);
		ev.aux0 = KLT_PM_SUSPEND_ENTER;
		feed_raw(fx, &ev);
		memset(&ev, 0, sizeof(ev));
		ev.type = KLT_EV_TASK_EXIT;
		ev.tid = ev.pid = 99;
		strcpy(ev.comm, "bash");
		ev.ts = (fx->ts += 1000000);
		feed_raw(fx, &ev);
	}
	/* release of a lock nobody holds */
	REL(6, "kworker/0:1", L_STRAY, KLT_LK_MUTEX, KLT_MODE_WRITE);

	fx->view.eng = fx->eng;
	fx->view.trace = &fx->trace;
	fx->view.rules = &fx->rules;
	fx->view.source = "unit.klt";
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	lg_free(fx->eng);
	klt_rules_free(&fx->rules);
	klt_trace_free(&fx->trace);
	free(fx);
	return 0;
}

/* Render into a malloc'ed string. */
static char *render_str(int (*fn)(FILE *, const struct klt_view *), const struct klt_view *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, v), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected to find \"%s\" in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

static const struct lg_finding *find_kind(const struct lg_engine *e, unsigned kind,
					  unsigned level)
{
	for (size_t i = 0; i < lg_nfindings(e); i++) {
		const struct lg_finding *fd = lg_finding_at(e, i);

		if (fd->kind == kind && (kind > LG_F_RULE || fd->level == level))
			return fd;
	}
	return NULL;
}

static int64_t lock_index(const struct lg_engine *e, uint64_t addr)
{
	for (size_t i = 0; i < lg_nlocks(e); i++) {
		if (lg_lock_at(e, i)->addr == addr)
			return (int64_t)i;
	}
	return -1;
}

static void test_names(void **state)
{
	struct fixture *fx = *state;
	char buf[256];
	int64_t anon = lock_index(fx->eng, L_ANON), hp = lock_index(fx->eng, L_HOTPLUG);
	int64_t kvm1 = lock_index(fx->eng, L_KVM1);
	const struct lg_lock *l;

	assert_true(anon >= 0 && hp >= 0 && kvm1 >= 0);
	l = lg_lock_at(fx->eng, (size_t)anon);
	assert_string_equal(klt_class_name(&fx->view, l->class_id, buf, sizeof(buf)),
			    "mutex@kvm_vm_ioctl+0x1c");
	assert_string_equal(klt_lock_name(&fx->view, (uint32_t)anon, buf, sizeof(buf)),
			    "mutex@kvm_vm_ioctl+0x1c@0xffff888000001000");
	assert_string_equal(klt_lock_name(&fx->view, (uint32_t)hp, buf, sizeof(buf)),
			    "cpu_hotplug_lock");
	assert_string_equal(klt_lock_name(&fx->view, (uint32_t)kvm1, buf, sizeof(buf)),
			    "kvm->lock@0xffff888000002000");
	l = lg_lock_at(fx->eng, (size_t)kvm1);
	assert_string_equal(klt_node_name(&fx->view, LG_LEVEL_CLASS, l->class_id, buf, sizeof(buf)),
			    "kvm->lock");

	fx->view.redact = true;
	assert_string_equal(klt_lock_name(&fx->view, (uint32_t)kvm1, buf, sizeof(buf)),
			    "kvm->lock@0x<redacted>");
	assert_string_equal(klt_lock_name(&fx->view, (uint32_t)hp, buf, sizeof(buf)),
			    "cpu_hotplug_lock");
	{
		/* two instances of one class must stay distinguishable */
		char a[256], b[256];

		klt_lock_name(&fx->view, (uint32_t)lock_index(fx->eng, L_SLOTS1), a, sizeof(a));
		klt_lock_name(&fx->view, (uint32_t)lock_index(fx->eng, L_SLOTS2), b, sizeof(b));
		assert_string_not_equal(a, b);
		assert_non_null(strstr(a, "kvm->slots_lock@0x<redacted>"));
	}
	fx->view.redact = false;
	/* truncation never overflows */
	assert_string_equal(klt_lock_name(&fx->view, (uint32_t)hp, buf, 4), "cpu");
}

static void test_text_cycle(void **state)
{
	struct fixture *fx = *state;
	const struct lg_finding *fd = find_kind(fx->eng, LG_F_CYCLE, LG_LEVEL_INSTANCE);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(fd);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(klt_render_finding_text(f, &fx->view, fd), 0);
	fclose(f);
	if (getenv("KLT_TEST_DUMP"))
		fputs(buf, stderr);
	assert_contains(buf, "WARNING: possible circular locking dependency detected\n");
	assert_contains(buf, "(instance level: this order inversion happened)");
	assert_contains(buf, "cpuhp/1/4321 is trying to acquire lock:\n"
			     "  cpu_hotplug_lock (percpu-rwsem, read) at: kvm_online_cpu+0x30\n");
	assert_contains(buf, "but task is already holding lock:\n"
			     "  kvm_lock (mutex, write) at: kvm_online_cpu+0x20\n");
	assert_contains(buf, "which lock already depends on the new lock.");
	assert_contains(buf, "-> #1 (kvm_lock){write}:   first seen: 1234/qemu-kvm at 0.002000s, "
			     "1 time\n"
			     "       hardware_enable_all+0x1c\n"
			     "       entry_SYSCALL_64+0x10\n"
			     "   ... held since 0.001000s: cpu_hotplug_lock\n"
			     "       cpus_read_lock+0x8\n");
	assert_contains(buf, "-> #0 (cpu_hotplug_lock){read}:   first seen: 4321/cpuhp/1");
	assert_contains(buf, "       CPU0                    CPU1\n"
			     "       ----                    ----\n");
	assert_contains(buf, "\n  lock(kvm_lock);\n"
			     "                               rlock(cpu_hotplug_lock);\n"
			     "                               lock(kvm_lock);\n"
			     "  rlock(cpu_hotplug_lock);\n");
	assert_contains(buf, " *** DEADLOCK ***");
	free(buf);
}

static void test_text_report(void **state)
{
	struct fixture *fx = *state;
	char *buf = render_str(klt_render_text, &fx->view);

	if (getenv("KLT_TEST_DUMP"))
		fputs(buf, stderr);
	assert_contains(buf, "WARNING: lock order rule violated: order cpu_hotplug_lock > kvm_lock "
			     "(t.rules:1)");
	assert_contains(buf, "but the rule says cpu_hotplug_lock is taken outside kvm_lock.");
	assert_contains(buf, "WARNING: lock order rule violated: order kvm->lock > vcpu->mutex "
			     "(t.rules:2)");
	assert_contains(buf, "  vcpu->mutex@0xffff888000003000 -> kvm->lock@0xffff888000002000");
	assert_contains(buf, "(no stack recorded)");
	assert_contains(buf, "potential (class level): instances differ; the classes can deadlock");
	assert_contains(buf, "  kvm->irq_lock@0xffff888000015000 -> kvm->slots_lock@0xffff888000014000"
			     " (vm2/81)");
	assert_contains(buf, "WARNING: lock held when a suspend/resume phase began");
	assert_contains(buf, "phase suspend_enter began");
	assert_contains(buf, "rule: watch-suspend kvm_lock (t.rules:4)\n");
	assert_contains(buf, "bash/99 (pid 99, cpu 3) holds:\n"
			     "  kvm_lock (mutex, write) at: hardware_enable_all+0x1c");
	assert_contains(buf, "WARNING: sleeping lock taken in an atomic CPU-hotplug callback");
	assert_contains(buf, "callback kvm_starting_cpu (cpu 2, state 100, index 57)");
	assert_contains(buf, "WARNING: bad unlock balance detected!");
	assert_contains(buf, "kworker/0:1/6");
	assert_contains(buf, "mutex@0xffff888000009000");
	assert_contains(buf, "WARNING: task exited with a lock held");
	assert_contains(buf, "Summary of unit.klt (kernel 6.12.107+deb12-amd64):");
	assert_contains(buf, "  locks: 9, classes: 7, edges: ");
	assert_contains(buf, "  rules: 4 loaded, 4 apply to kernel (unknown: only unscoped rules)");
	assert_contains(buf, "cycle ");
	assert_contains(buf, "suspend-holder 1");
	assert_contains(buf, "\n  WARNING: ringbuf_full = 3: the trace is incomplete");
	assert_contains(buf, "  counters: ringbuf_full=3, stack_fail=0\n");
	assert_lacks(buf, "WARNING: stack_fail");
	free(buf);

	fx->view.redact = true;
	buf = render_str(klt_render_text, &fx->view);
	assert_lacks(buf, "0xffff");
	assert_contains(buf, "kvm->lock@0x<redacted>");
	assert_contains(buf, "mutex@0x<redacted>");
	fx->view.redact = false;
	free(buf);
}

/*
 * The deadlock fixed by 44d17459626052a2: an SRCU grace-period wait and cpu_hotplug_lock taken
 * for read on two sides. The cycle has more than two locks, so the scenario needs >2 CPUs.
 */
static void test_text_srcu_cycle(void **state)
{
	struct fixture *fx = *state;
	struct lg_config cfg = { .syms = fx->trace.syms, .rules = &fx->rules };
	const struct lg_finding *fd;
	struct lg_engine *main_eng = fx->eng;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	fx->eng = lg_new(&cfg);
	assert_non_null(fx->eng);
	fx->view.eng = fx->eng;
	ACQ(10, "qemu-a", L_SLOTS1, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0x80, KLT_NO_STACK);
	feed(fx, KLT_EV_SRCU_SYNC, 10, "qemu-a", L_SRCU1, KLT_LK_SRCU, KLT_MODE_WRITE,
	     F_VM_IOCTL + 0x84, KLT_NO_STACK);
	REL(10, "qemu-a", L_SLOTS1, KLT_LK_MUTEX, KLT_MODE_WRITE);
	ACQ(20, "tee", L_HOTPLUG, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ, F_CPUS_READ + 0x8, 1);
	ACQ(20, "tee", L_KVM_LOCK, KLT_LK_MUTEX, KLT_MODE_WRITE, F_HW_ENABLE + 0x1c, 0);
	ACQ(20, "tee", L_SLOTS1, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0x80, KLT_NO_STACK);
	REL(20, "tee", L_SLOTS1, KLT_LK_MUTEX, KLT_MODE_WRITE);
	REL(20, "tee", L_KVM_LOCK, KLT_LK_MUTEX, KLT_MODE_WRITE);
	REL(20, "tee", L_HOTPLUG, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ);
	ACQ(30, "qemu-b", L_VCPU1, KLT_LK_MUTEX, KLT_MODE_WRITE, F_VM_IOCTL + 0x40, KLT_NO_STACK);
	feed(fx, KLT_EV_SRCU_READ_LOCK, 30, "qemu-b", L_SRCU1, KLT_LK_SRCU, KLT_MODE_RREAD,
	     F_VM_IOCTL + 0x44, KLT_NO_STACK);
	feed(fx, KLT_EV_ATTEMPT, 30, "qemu-b", L_HOTPLUG, KLT_LK_PERCPU_RWSEM, KLT_MODE_READ,
	     F_CPUS_READ + 0x8, 3);

	fd = find_kind(fx->eng, LG_F_CYCLE, LG_LEVEL_INSTANCE);
	assert_non_null(fd);
	assert_true(fd->nedges >= 3);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(klt_render_finding_text(f, &fx->view, fd), 0);
	fclose(f);
	if (getenv("KLT_TEST_DUMP"))
		fputs(buf, stderr);
	assert_contains(buf, "qemu-b/30 is trying to acquire lock:\n"
			     "  cpu_hotplug_lock (percpu-rwsem, read) at: cpus_read_lock+0x8\n");
	assert_contains(buf, "but task is already holding lock:\n"
			     "  kvm->srcu@0xffff888000006000 (srcu, rread) at: kvm_vm_ioctl+0x44\n");
	assert_contains(buf, " (kvm->srcu@0xffff888000006000){sync}:   first seen: 10/qemu-a");
	assert_contains(buf, "CPU2");
	assert_contains(buf, "\n  rlock(kvm->srcu@0xffff888000006000);\n");
	assert_contains(buf, " sync(kvm->srcu@0xffff888000006000);\n");
	assert_contains(buf, " *** DEADLOCK ***");
	free(buf);
	lg_free(fx->eng);
	fx->eng = main_eng;
	fx->view.eng = main_eng;
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("JSON key '%s' missing", key);
	return v;
}

static bool jarray_has_string(json_object *a, const char *s)
{
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s))
			return true;
	}
	return false;
}

static void test_json(void **state)
{
	struct fixture *fx = *state;
	char *buf = render_str(klt_render_json, &fx->view);
	json_object *root = json_tokener_parse(buf), *fa, *cyc = NULL, *rule = NULL;
	unsigned seen = 0;

	assert_non_null(root);
	assert_string_equal(json_object_get_string(jget(root, "schema")), "kvmlocktrace/v2");
	assert_string_equal(json_object_get_string(jget(root, "source")), "unit.klt");
	assert_int_equal(json_object_get_int64(jget(jget(jget(root, "trace"), "counters"),
						    "ringbuf_full")), 3);
	assert_int_equal(json_object_get_int64(jget(jget(root, "summary"), "locks")), 9);
	/* statistics come from the trace's events (the view carries none): one acquisition each,
	 * so the schema test below validates a populated "stats" */
	assert_true(json_object_array_length(jget(jget(root, "stats"), "classes")) > 0);
	assert_int_equal(json_object_get_int64(jget(jget(root, "stats"), "acquisitions")),
			 json_object_get_int64(jget(jget(root, "summary"), "acquisitions")));
	fa = jget(root, "findings");
	assert_int_equal(json_object_array_length(fa), lg_nfindings(fx->eng));
	for (size_t i = 0; i < json_object_array_length(fa); i++) {
		json_object *fd = json_object_array_get_idx(fa, i);
		const char *k = json_object_get_string(jget(fd, "kind"));

		static const char *const kinds[] = { "cycle", "rule", "suspend-holder",
						     "atomic-sleep", "unbalanced-release",
						     "held-at-exit", "depth-overflow" };

		for (unsigned kk = 0; kk < LG_F_MAX; kk++)
			if (!strcmp(k, kinds[kk]))
				seen |= 1u << kk;
		if (!strcmp(k, "cycle") && !cyc &&
		    !strcmp(json_object_get_string(jget(fd, "level")), "instance"))
			cyc = fd;
		if (!strcmp(k, "rule") && !rule)
			rule = fd;
	}
	/* everything but depth-overflow happened */
	assert_int_equal(seen, ((1u << LG_F_MAX) - 1) & ~(1u << LG_F_DEPTH_OVERFLOW));
	assert_non_null(cyc);
	assert_true(jarray_has_string(jget(cyc, "locks"), "kvm_lock"));
	assert_true(jarray_has_string(jget(cyc, "locks"), "cpu_hotplug_lock"));
	{
		json_object *e = json_object_array_get_idx(jget(cyc, "edges"), 0);
		json_object *w = jget(e, "witness");

		assert_non_null(e);
		assert_true(json_object_array_length(jget(e, "types")) >= 1);
		assert_true(json_object_get_int64(jget(w, "tid")) == 1234 ||
			    json_object_get_int64(jget(w, "tid")) == 4321);
		assert_true(json_object_array_length(jget(w, "new_stack")) >= 1);
	}
	assert_non_null(rule);
	assert_string_equal(json_object_get_string(jget(jget(rule, "rule"), "file")), "t.rules");
	assert_true(json_object_get_int(jget(jget(rule, "rule"), "line")) >= 1);
	assert_true(json_object_array_length(jget(jget(root, "graph"), "classes")) == 7);
	assert_true(strstr(buf, "\"hardware_enable_all+0x1c\"") != NULL);
	json_object_put(root);
	free(buf);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *write_tmp(const char *text, const char *suffix, char *path, size_t len)
{
	int fd;
	FILE *f;

	snprintf(path, len, "/tmp/klt-test-XXXXXX%s", suffix);
	fd = mkstemps(path, (int)strlen(suffix));
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return path;
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

/* Validate the JSON against docs/json-schema.json (python3-jsonschema). */
static void test_json_schema(void **state)
{
	struct fixture *fx = *state;
	char topbuf[4096], path[64], cmd[8400];
	const char *top = find_top(topbuf, sizeof(topbuf));
	char *buf;
	int rc;

	for (int redact = 0; redact < 2; redact++) {
		fx->view.redact = redact;
		buf = render_str(klt_render_json, &fx->view);
		write_tmp(buf, ".json", path, sizeof(path));
		snprintf(cmd, sizeof(cmd), "KLT_SRCDIR='%s' sh '%s/tests/unit/validate-json.sh' %s", top,
			 top, path);
		rc = run(cmd);
		unlink(path);
		free(buf);
		if (rc == 77) {
			fx->view.redact = false;
			skip();
		}
		assert_int_equal(rc, 0);
	}
	fx->view.redact = false;
}

static char *dot_str(const struct klt_view *v, const struct klt_dot_opts *o, int *ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*ret = klt_render_dot(f, v, o);
	fclose(f);
	return buf;
}

static char *dot_to_svg(const char *dot)
{
	char in[64], out[80], cmd[256];
	char *svg = NULL;
	size_t len = 0;
	FILE *f;
	int c;

	write_tmp(dot, ".dot", in, sizeof(in));
	snprintf(out, sizeof(out), "%s.svg", in);
	snprintf(cmd, sizeof(cmd), "dot -Tsvg %s -o %s", in, out);
	assert_int_equal(run(cmd), 0);
	f = fopen(out, "r");
	assert_non_null(f);
	{
		FILE *m = open_memstream(&svg, &len);

		while ((c = fgetc(f)) != EOF)
			fputc(c, m);
		fclose(m);
	}
	fclose(f);
	unlink(in);
	unlink(out);
	return svg;
}

static void test_dot(void **state)
{
	struct fixture *fx = *state;
	struct klt_dot_opts o = { .classes = true, .focus = NULL, .radius = 1 };
	char *dot, *svg;
	int ret;

	if (run("command -v dot >/dev/null 2>&1"))
		skip();
	dot = dot_str(&fx->view, &o, &ret);
	if (getenv("KLT_TEST_DUMP"))
		fputs(dot, stderr);
	assert_int_equal(ret, 0);
	assert_contains(dot, "digraph kvmlocktrace {");
	assert_contains(dot, "color=red");
	assert_contains(dot, "color=orange");
	assert_contains(dot, "kvm->slots_lock\\nmutex, 2 instances");
	svg = dot_to_svg(dot);
	assert_contains(svg, "kvm_lock");
	assert_contains(svg, "cpu_hotplug_lock");
	assert_contains(svg, "mutex@kvm_vm_ioctl+0x1c");
	free(svg);
	free(dot);

	/* instance graph */
	o.classes = false;
	dot = dot_str(&fx->view, &o, &ret);
	assert_int_equal(ret, 0);
	assert_contains(dot, "kvm->slots_lock@0xffff888000004000");
	svg = dot_to_svg(dot);
	assert_contains(svg, "irq_lock@0xffff888000015000"); /* svg escapes '>' */
	free(svg);
	free(dot);

	/* focus: only the neighbourhood */
	o.classes = true;
	o.focus = "kvm->irq_lock";
	dot = dot_str(&fx->view, &o, &ret);
	assert_int_equal(ret, 0);
	assert_contains(dot, "kvm->slots_lock");
	assert_lacks(dot, "cpu_hotplug_lock");
	free(svg = dot_to_svg(dot));
	free(dot);

	o.focus = "no_such_lock";
	dot = dot_str(&fx->view, &o, &ret);
	assert_int_equal(ret, -ENOENT);
	free(dot);
}

/* The live findings printer (cli_live.c print_finding: klt_render_finding_text from the
 * engine's on_finding) writes control bytes of names as \xNN: no escape sequence, no forged
 * line reaches the terminal. */
struct live_out {
	struct klt_view *view;
	FILE *f;
};

static void on_finding_text(void *ctx, const struct lg_finding *f)
{
	struct live_out *o = ctx;

	assert_int_equal(klt_render_finding_text(o->f, o->view, f), 0);
}

static void test_text_control_bytes(void **state)
{
	struct klt_trace trace;
	struct klt_view view = { 0 };
	struct live_out o = { &view, NULL };
	struct lg_config cfg;
	struct lg_engine *eng;
	struct fixture fxs = { 0 }, *fx = &fxs;
	char *buf = NULL, e[64];
	size_t len = 0;
	const uint64_t la = 0xffffffff82000000ull, lb = 0xffffffff82000100ull;

	(void)state;
	klt_trace_init(&trace);
	assert_non_null(trace.syms);
	assert_int_equal(klt_symtab_add(trace.syms, la, 8, KLT_SYM_DATA, "a\x1b[31m", NULL), 0);
	assert_int_equal(klt_symtab_add(trace.syms, lb, 8, KLT_SYM_DATA, "b\nWARNING: x\x7f", NULL), 0);
	o.f = open_memstream(&buf, &len);
	assert_non_null(o.f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.syms = trace.syms;
	cfg.on_finding = on_finding_text;
	cfg.ctx = &o;
	eng = lg_new(&cfg);
	assert_non_null(eng);
	view = (struct klt_view){ .eng = eng, .trace = &trace, .source = "live" };
	fx->eng = eng;
	fx->trace = trace;
	ACQ(1, "t\x1b]0;x\x07", la, KLT_LK_MUTEX, KLT_MODE_WRITE, 0x10, KLT_NO_STACK);
	ACQ(1, "t\x1b]0;x\x07", lb, KLT_LK_MUTEX, KLT_MODE_WRITE, 0x20, KLT_NO_STACK);
	REL(1, "t\x1b]0;x\x07", lb, KLT_LK_MUTEX, KLT_MODE_WRITE);
	REL(1, "t\x1b]0;x\x07", la, KLT_LK_MUTEX, KLT_MODE_WRITE);
	ACQ(2, "u", lb, KLT_LK_MUTEX, KLT_MODE_WRITE, 0x30, KLT_NO_STACK);
	ACQ(2, "u", la, KLT_LK_MUTEX, KLT_MODE_WRITE, 0x40, KLT_NO_STACK);
	fclose(o.f);
	assert_true(lg_nfindings(eng) >= 1);
	if (getenv("KLT_TEST_DUMP"))
		fputs(buf, stderr);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\n' && ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f))
			fail_msg("raw control byte 0x%02x at %zu", (unsigned char)buf[i], i);
	assert_contains(buf, "a\\x1b[31m");
	assert_contains(buf, "b\\x0aWARNING: x\\x7f");
	assert_contains(buf, "1/t\\x1b]0;x\\x07");
	/* the helper itself: escapes only control bytes, never cuts an escape in half */
	assert_string_equal(klt_render_esc("ok \x01\x7f\xc3\xa9", e, sizeof(e)), "ok \\x01\\x7f\xc3\xa9");
	assert_string_equal(klt_render_esc("ab\x1b", e, 6), "ab");
	free(buf);
	lg_free(eng);
	klt_trace_free(&fx->trace);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_srcu_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dot, setup, teardown),
		cmocka_unit_test(test_text_control_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
