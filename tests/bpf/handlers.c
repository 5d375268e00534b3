// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpf-handlers OBJ: TAP checks of the records the lock handlers send (tests/bpf/handlers.bpf.c,
 * run with BPF_PROG_TEST_RUN): every EDGE names its held lock by address, a lock initialized
 * while tracing is announced (LOCK_INIT, its class name the first time) before the first EDGE
 * that uses it, one record per class pair of init-site classes, one per instance pair inside a
 * class, none for recursion, a re-initialized lock is a new instance. Needs root (BPF).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "klt_abi.h"
#include "handlers-test.h"

#define MAX_REC 64

struct rec {
	struct klt_event ev;
	int named; /* a LOCK_INIT with its class name appended */
	char name[KLT_CLASS_NAME_LEN];
};

static struct rec recs[MAX_REC];
static int nrec, ntest, nfail;
static struct bpf_object *obj;
static struct ring_buffer *rb;

static int on_record(void *ctx, void *data, size_t size)
{
	struct rec *r;

	(void)ctx;
	if (nrec >= MAX_REC || size < sizeof(struct klt_event))
		return 0;
	r = &recs[nrec++];
	memset(r, 0, sizeof(*r));
	memcpy(&r->ev, data, sizeof(r->ev));
	if (size >= sizeof(r->ev) + KLT_CLASS_NAME_LEN) {
		r->named = 1;
		memcpy(r->name, (const char *)data + sizeof(r->ev), KLT_CLASS_NAME_LEN);
		r->name[KLT_CLASS_NAME_LEN - 1] = 0;
	}
	return 0;
}

static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	nfail += !cond;
}

static void diag_records(void)
{
	for (int i = 0; i < nrec; i++) {
		const struct klt_event *e = &recs[i].ev;

		printf("#   record %d: type %u lock %#llx held %#llx key %#llx ip %#llx%s%s\n", i,
		       e->type, (unsigned long long)e->lock,
		       (unsigned long long)(e->aux0 | (__u64)e->aux1 << 32),
		       (unsigned long long)(e->aux0 | (__u64)e->aux1 << 32),
		       (unsigned long long)e->ip, recs[i].named ? " name " : "", recs[i].name);
	}
}

/* Run one scenario program; its records land in recs[0..nrec). */
static int run(const char *prog)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);
	LIBBPF_OPTS(bpf_test_run_opts, o);

	nrec = 0;
	if (!p || bpf_prog_test_run_opts(bpf_program__fd(p), &o)) {
		printf("#   %s: test run failed: %s\n", prog, strerror(errno));
		return -1;
	}
	ring_buffer__consume(rb);
	return 0;
}

static __u64 held_of(const struct klt_event *e)
{
	return e->aux0 | (__u64)e->aux1 << 32;
}

/* index of the first record of type with lock, -1 if none */
static int find(__u16 type, __u64 lock)
{
	for (int i = 0; i < nrec; i++)
		if (recs[i].ev.type == type && recs[i].ev.lock == lock)
			return i;
	return -1;
}

static int count(__u16 type)
{
	int n = 0;

	for (int i = 0; i < nrec; i++)
		n += recs[i].ev.type == type;
	return n;
}

/* An EDGE lock <- held, after the LOCK_INITs of both ends where they were initialized. */
static void check_edge(const char *what, __u64 lock, __u64 held, int inits_before)
{
	int e = find(KLT_EV_EDGE, lock);

	check(e >= 0 && held_of(&recs[e].ev) == held,
	      "%s: EDGE lock %#llx, held lock %#llx by address (got %#llx)", what,
	      (unsigned long long)lock, (unsigned long long)held,
	      e >= 0 ? (unsigned long long)held_of(&recs[e].ev) : 0ull);
	if (!inits_before)
		return;
	int il = find(KLT_EV_LOCK_INIT, lock), ih = find(KLT_EV_LOCK_INIT, held);

	check(e >= 0 && il >= 0 && ih >= 0 && il < e && ih < e,
	      "%s: both ends announced by LOCK_INIT before the EDGE (records %d, %d, edge %d)", what,
	      il, ih, e);
}

int main(int argc, char **argv)
{
	struct bpf_map *events;
	__u64 name_c = 0;
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: bpf-handlers OBJ.bpf.o\n");
		return 2;
	}
	if (!getenv("KLT_BPF_DEBUG"))
		libbpf_set_print(NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		printf("1..1\nnot ok 1 - %s: open/load failed (%s; needs root)\n", argv[1],
		       strerror(errno));
		return 1;
	}
	events = bpf_object__find_map_by_name(obj, "events");
	rb = events ? ring_buffer__new(bpf_map__fd(events), on_record, NULL, NULL) : NULL;
	if (!rb || run("ht_setup")) {
		printf("1..1\nnot ok 1 - ring buffer or setup failed\n");
		return 1;
	}
	check(nrec == 0, "initializers send nothing by themselves (%d records)", nrec);

	/* A -> B: plain addresses */
	run("ht_known");
	check(nrec == 1 && recs[0].ev.type == KLT_EV_EDGE, "A -> B: one record, an EDGE (%d)", nrec);
	check_edge("A -> B", HT_LOCK_B, HT_LOCK_A, 0);
	if (nrec)
		check(held_of(&recs[0].ev) == HT_LOCK_A && recs[0].ev.lock == HT_LOCK_B,
		      "A -> B: held A, lock B");
	run("ht_known");
	check(nrec == 0, "A -> B again: nothing (%d records)", nrec);

	/* C -> D: init-site classes, announced before the edge with their names */
	run("ht_init");
	check(count(KLT_EV_EDGE) == 1 && count(KLT_EV_LOCK_INIT) == 2,
	      "C -> D: one EDGE and two LOCK_INIT (%d records)", nrec);
	check_edge("C -> D", HT_LOCK_D, HT_LOCK_C, 1);
	/* ip: the name string's kernel address (this object's .rodata) */
	i = find(KLT_EV_LOCK_INIT, HT_LOCK_C);
	if (i >= 0)
		name_c = recs[i].ev.ip;
	check(i >= 0 && name_c >= 0xffff800000000000ull && recs[i].named &&
		      !strcmp(recs[i].name, HT_NAME_C) && recs[i].ev.kind == KLT_LK_MUTEX &&
		      (recs[i].ev.aux0 | (__u64)recs[i].ev.aux1 << 32) == HT_KEY_C,
	      "C's LOCK_INIT: mutex, key %#llx, name string at %#llx reads '%s'", HT_KEY_C,
	      (unsigned long long)name_c, HT_NAME_C);
	i = find(KLT_EV_LOCK_INIT, HT_LOCK_D);
	check(i >= 0 && recs[i].ev.ip != name_c && recs[i].named && !strcmp(recs[i].name, HT_NAME_D),
	      "D's LOCK_INIT: its own name string, '%s'", HT_NAME_D);
	if (nfail)
		diag_records();
	run("ht_init");
	check(nrec == 0, "C -> D again: nothing (%d records)", nrec);

	/* F -> G, one class: instance pair; the class name was sent with C: not again */
	run("ht_same");
	check(count(KLT_EV_EDGE) == 1 && count(KLT_EV_LOCK_INIT) == 2,
	      "F -> G (one class): one EDGE and two LOCK_INIT (%d records)", nrec);
	check_edge("F -> G", HT_LOCK_G, HT_LOCK_F, 1);
	i = find(KLT_EV_LOCK_INIT, HT_LOCK_F);
	check(i >= 0 && name_c && recs[i].ev.ip == name_c && !recs[i].named,
	      "F's LOCK_INIT: class C's name string, its text not sent again");

	/* H -> D: class pair (C, D) known: no record at all */
	run("ht_pair");
	check(nrec == 0, "H -> D: the class pair of C -> D is known: nothing (%d records)", nrec);

	/* C while C is held */
	run("ht_recurse");
	check(count(KLT_EV_EDGE) == 0, "C -> C (one instance): no EDGE (%d records)", nrec);

	/* C initialized again: a new instance, announced again */
	run("ht_reinit");
	check(count(KLT_EV_LOCK_INIT) == 1 && find(KLT_EV_LOCK_INIT, HT_LOCK_C) >= 0,
	      "C re-initialized: announced again (%d records)", nrec);
	check_edge("C (new instance) -> A", HT_LOCK_A, HT_LOCK_C, 0);
	if (nfail)
		diag_records();

	/* guards: G1 -> P (nothing else held), G1 -> Q under P, P -> Q under G1 */
	run("ht_guard");
	check(count(KLT_EV_EDGE) == 3 && count(KLT_EV_EDGE_GUARD) == 2,
	      "G1, P, Q nested: three EDGEs, two EDGE_GUARDs (%d records)", nrec);
	{
		int ok1 = 0, ok2 = 0, first = -1;

		for (i = 0; i + 1 < nrec; i++) {
			const struct klt_event *g = &recs[i].ev, *e = &recs[i + 1].ev;

			if (g->type != KLT_EV_EDGE_GUARD)
				continue;
			/* right before its EDGE, naming the EDGE's two ends */
			if (e->type != KLT_EV_EDGE || held_of(g) != held_of(e) || g->ip != e->lock)
				continue;
			if (g->lock == HT_LOCK_P && held_of(e) == HT_LOCK_G1 && e->lock == HT_LOCK_Q &&
			    g->kind == KLT_LK_MUTEX && g->mode == KLT_MODE_WRITE)
				ok1 = 1;
			if (g->lock == HT_LOCK_G1 && held_of(e) == HT_LOCK_P && e->lock == HT_LOCK_Q)
				ok2 = 1;
		}
		check(ok1 && ok2, "each EDGE_GUARD right before its EDGE: P guards G1 -> Q, G1 guards "
		      "P -> Q");
		first = find(KLT_EV_EDGE, HT_LOCK_P);
		check(first >= 0 && (first == 0 || recs[first - 1].ev.type != KLT_EV_EDGE_GUARD),
		      "G1 -> P (nothing else held): no EDGE_GUARD");
	}
	if (nfail)
		diag_records();
	run("ht_guard");
	check(nrec == 0, "G1, P, Q again: nothing (%d records)", nrec);

	/* inode i_rwsem: lockdep's per-filesystem-type classes, directories apart (lock_refine) */
	if (run("ht_inode_setup") == 0 && run("ht_inode") == 0) {
		int d = -1, f = -1, e = find(KLT_EV_EDGE, 0);

		for (i = 0; i < nrec; i++) {
			if (recs[i].ev.type != KLT_EV_LOCK_INIT)
				continue;
			if (!strcmp(recs[i].name, "&type->i_mutex_dir_key[" HT_FSNAME "]"))
				d = i;
			else if (!strcmp(recs[i].name, "&sb->s_type->i_mutex_key[" HT_FSNAME "]"))
				f = i;
		}
		e = count(KLT_EV_EDGE) == 1 ? find(KLT_EV_EDGE, recs[f >= 0 ? f : 0].ev.lock) : -1;
		check(d >= 0 && f >= 0 && recs[d].named && recs[f].named,
		      "directory and file i_rwsem announced as lockdep's classes of their type: "
		      "'&type->i_mutex_dir_key[" HT_FSNAME "]', '&sb->s_type->i_mutex_key["
		      HT_FSNAME "]'");
		/* the class: a pseudo address inside the file_system_type, 1 file, 2 directory */
		check(d >= 0 && f >= 0 && (recs[f].ev.ip & 7) == 1 && recs[d].ev.ip == recs[f].ev.ip + 1 &&
		      held_of(&recs[d].ev) == (recs[d].ev.ip & ~7ull) &&
		      held_of(&recs[f].ev) == (recs[f].ev.ip & ~7ull),
		      "their key: the type's address; their name addresses: the type's + 2 and + 1 "
		      "(%#llx, %#llx)",
		      d >= 0 ? (unsigned long long)recs[d].ev.ip : 0ull,
		      f >= 0 ? (unsigned long long)recs[f].ev.ip : 0ull);
		check(e >= 0 && d >= 0 && held_of(&recs[e].ev) == recs[d].ev.lock && d < e && f < e,
		      "EDGE file <- directory, after both LOCK_INITs");
	} else {
		check(0, "inode scenario ran");
	}
	if (nfail)
		diag_records();
	/* another directory and file of the type: the refined class pair is known (the BPF edge
	 * cache keys by the refined class, else this instance pair would be sent) */
	run("ht_inode_pair");
	check(nrec == 0, "directory 2 -> file 2: the class pair is known: nothing (%d records)", nrec);
	if (nrec)
		diag_records();

	/* the default scope: a VM's locks bring their task into scope while the VM lives */
	run("ht_scope_setup");
	run("ht_scope_out");
	check(nrec == 0, "default scope: E1 -> E2 -> E3, nothing watched or per-VM held: no "
	      "record (%d)", nrec);
	run("ht_scope_in");
	check(nrec == 0, "default scope, no VM yet: VM lock 1 -> E1 -> VM lock 2: no record (%d)",
	      nrec);
	run("ht_scope_vm_new");
	run("ht_scope_in");
	check(count(KLT_EV_EDGE) == 3 && count(KLT_EV_EDGE_GUARD) == 2 && nrec == 5,
	      "VM created: VM lock 1 -> E1 -> VM lock 2: three EDGEs (two with their guard), no "
	      "lock event (%d records)", nrec);
	check_edge("VM lock 1 -> E1", HT_LOCK_E1, HT_OBJ + HT_OFF1, 0);
	{
		int a = -1, b = -1;

		for (i = 0; i < nrec; i++) {
			if (recs[i].ev.type != KLT_EV_EDGE || recs[i].ev.lock != HT_OBJ + HT_OFF2)
				continue;
			if (held_of(&recs[i].ev) == HT_OBJ + HT_OFF1)
				a = i;
			if (held_of(&recs[i].ev) == HT_LOCK_E1)
				b = i;
		}
		check(a >= 0 && b >= 0, "VM lock 2 <- VM lock 1 and VM lock 2 <- E1 (E1 followed "
		      "because a VM lock was held)");
	}
	if (nfail)
		diag_records();
	run("ht_scope_vm_gone");
	run("ht_scope_after");
	check(nrec == 0, "VM destroyed: its lock 1 -> E3 no longer followed (%d records)", nrec);
	run("ht_scope_vm_new");
	run("ht_scope_after");
	check(count(KLT_EV_EDGE) == 1 && nrec == 1,
	      "a VM at the same address again: lock 1 -> E3 followed (the freed slot reused, %d "
	      "records)", nrec);
	run("ht_scope_watched");
	check(find(KLT_EV_ATTEMPT, HT_LOCK_W) >= 0 && find(KLT_EV_ACQUIRED, HT_LOCK_W) >= 0 &&
		      find(KLT_EV_RELEASE, HT_LOCK_W) >= 0 && count(KLT_EV_EDGE) == 1 &&
		      find(KLT_EV_ATTEMPT, HT_LOCK_E2) < 0,
	      "a watched lock W -> E2: W's full lock events, E2 only as an EDGE (%d records)", nrec);
	if (nfail)
		diag_records();

	printf("1..%d\n", ntest);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return nfail ? 1 : 0;
}
