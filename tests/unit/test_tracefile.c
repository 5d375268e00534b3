// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for src/io/tracefile.c (binary trace reader/writer) and src/core/trace.c (model, names). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "trace.h"
#include "traceio.h"

static char dir[64];

static int group_setup(void **state)
{
	strcpy(dir, "/tmp/klt-tracefile-XXXXXX");
	umask(022);
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tpath(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static struct klt_event mkev(unsigned i)
{
	struct klt_event e;

	memset(&e, 0, sizeof(e));
	e.type = 1 + i % (KLT_EV_MAX - 1);
	e.kind = 1 + i % (KLT_LK_MAX - 1);
	e.mode = i % KLT_MODE_MAX;
	e.cpu = i % 7;
	e.ts = 1000000000ull + i * 1234567ull;
	e.pid = 100 + i % 3;
	e.tid = 200 + i % 5;
	e.lock = 0xffff888000000000ull + (i % 11) * 0x40;
	e.ip = 0xffffffffc0001000ull + i % 0x100;
	e.stack_id = i % 4 == 0 ? KLT_NO_STACK : (int32_t)(i % 3);
	e.flags = i & 0xf;
	e.aux0 = i * 3;
	e.aux1 = 0xfffffff0u + i % 16;
	e.aux2 = -(int32_t)i;
	snprintf(e.comm, sizeof(e.comm), "task %u", i % 9);
	return e;
}

static void fill_info(struct klt_trace_info *in)
{
	memset(in, 0, sizeof(*in));
	in->format_version = KLT_FORMAT_VERSION;
	strcpy(in->tool_version, "0.1.0");
	strcpy(in->kernel_release, "6.12.107+deb12-amd64");
	strcpy(in->machine, "x86_64");
	strcpy(in->hostname, "host");
	strcpy(in->clock, "monotonic");
	strcpy(in->attach_mode, "kprobe");
	in->start_realtime_ns = 1764000000123456789ull;
}

static void build_trace(struct klt_trace *t, unsigned nevents)
{
	const uint64_t ips[3] = { 0xffffffffc0001010ull, 0xffffffff81000020ull, 0x1234 };
	unsigned i;

	klt_trace_init(t);
	assert_non_null(t->syms);
	fill_info(&t->info);
	assert_int_equal(klt_symtab_add(t->syms, 0xffffffffc0001000ull, 0x80, 'T', "kvm_online_cpu",
					"kvm"), 0);
	assert_int_equal(klt_symtab_add(t->syms, 0xffffffff81000000ull, 0, 'T', "mutex_lock", NULL),
			 0);
	assert_int_equal(klt_symtab_add(t->syms, 0xffffffffc0100000ull, 0, 'D', "kvm_lock", "kvm"),
			 0);
	assert_int_equal(klt_symtab_add(t->syms, 0xffff888000000040ull, 0, 'C', "&kvm->lock", NULL),
			 0);
	assert_int_equal(klt_trace_set_stack(t, 0, ips, 3), 0);
	assert_int_equal(klt_trace_set_stack(t, 2, ips + 1, 2), 0);
	for (i = 0; i < nevents; i++) {
		struct klt_event e = mkev(i);

		assert_int_equal(klt_trace_add_event(t, &e), 0);
	}
	assert_int_equal(klt_trace_add_counter(t, "ringbuf_full", 5), 0);
	assert_int_equal(klt_trace_add_counter(t, "stack_fail", 0), 0);
	assert_int_equal(klt_trace_add_counter(t, "ringbuf_full", 2), 0);
	assert_int_equal(t->counters[0].value, 7);
}

static void assert_traces_equal(struct klt_trace *a, struct klt_trace *b)
{
	size_t i;

	assert_string_equal(a->info.tool_version, b->info.tool_version);
	assert_string_equal(a->info.kernel_release, b->info.kernel_release);
	assert_string_equal(a->info.machine, b->info.machine);
	assert_string_equal(a->info.hostname, b->info.hostname);
	assert_string_equal(a->info.clock, b->info.clock);
	assert_string_equal(a->info.attach_mode, b->info.attach_mode);
	assert_true(a->info.start_realtime_ns == b->info.start_realtime_ns);
	assert_int_equal(klt_symtab_count(a->syms), klt_symtab_count(b->syms));
	for (i = 0; i < klt_symtab_count(a->syms); i++) {
		const struct klt_sym *x = klt_symtab_at(a->syms, i), *y = klt_symtab_at(b->syms, i);

		assert_true(x->addr == y->addr);
		assert_true(x->size == y->size);
		assert_int_equal(x->type, y->type);
		assert_string_equal(x->name, y->name);
		if (x->module)
			assert_string_equal(x->module, y->module);
		else
			assert_null(y->module);
	}
	for (i = 0; i < a->nstacks || i < b->nstacks; i++) {
		const struct klt_stack *x = klt_trace_stack(a, (int32_t)i);
		const struct klt_stack *y = klt_trace_stack(b, (int32_t)i);

		if (!x) {
			assert_null(y);
			continue;
		}
		assert_non_null(y);
		assert_int_equal(x->nr, y->nr);
		assert_memory_equal(x->ips, y->ips, x->nr * sizeof(uint64_t));
	}
	assert_int_equal(a->nevents, b->nevents);
	if (a->nevents)
		assert_memory_equal(a->events, b->events, a->nevents * sizeof(struct klt_event));
	assert_int_equal(a->ncounters, b->ncounters);
	for (i = 0; i < a->ncounters; i++) {
		assert_string_equal(a->counters[i].name, b->counters[i].name);
		assert_true(a->counters[i].value == b->counters[i].value);
	}
}

static void test_round_trip(void **state)
{
	struct klt_trace a, b;
	struct klt_err err = { { 0 } };
	struct stat st;
	const char *p = tpath("rt.klt");

	build_trace(&a, 10000); /* three EVENTS chunks */
	assert_int_equal(klt_trace_write_file(p, &a, 0, &err), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	klt_trace_init(&b);
	assert_int_equal(klt_trace_read_file(p, &b, &err), 0);
	assert_int_equal(b.info.format_version, KLT_FORMAT_VERSION);
	assert_traces_equal(&a, &b);
	klt_trace_free(&b);
	/* klt_trace_load detects the binary form by its magic */
	klt_trace_init(&b);
	assert_int_equal(klt_trace_load(p, &b, &err), 0);
	assert_traces_equal(&a, &b);
	klt_trace_free(&b);
	klt_trace_free(&a);
}

static void test_empty_trace(void **state)
{
	struct klt_trace a, b;
	struct klt_err err = { { 0 } };
	const char *p = tpath("empty.klt");

	klt_trace_init(&a);
	assert_int_equal(klt_trace_write_file(p, &a, 0, &err), 0);
	klt_trace_init(&b);
	assert_int_equal(klt_trace_read_file(p, &b, &err), 0);
	assert_int_equal(b.nevents, 0);
	assert_int_equal(klt_symtab_count(b.syms), 0);
	klt_trace_free(&a);
	klt_trace_free(&b);
}

static unsigned char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	unsigned char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc(n ? n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spew(const char *p, const void *buf, size_t len)
{
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Chunk layout, from an independent walk of the bytes. */
struct layout {
	size_t n;
	size_t start[64], end[64];
	unsigned type[64];
	size_t events_before[65]; /* events in chunks [0, i) */
};

static void walk(const unsigned char *buf, size_t len, struct layout *l)
{
	size_t off = 16;

	memset(l, 0, sizeof(*l));
	while (off < len) {
		assert_true(l->n < 64);
		assert_int_equal(le32(buf + off), 0x43544c4b);
		l->start[l->n] = off;
		l->type[l->n] = buf[off + 4] | buf[off + 5] << 8;
		l->end[l->n] = off + 16 + le32(buf + off + 8);
		l->events_before[l->n + 1] = l->events_before[l->n] +
					     (l->type[l->n] == 4 ? le32(buf + off + 8) / 80 : 0);
		off = l->end[l->n++];
	}
	assert_int_equal(off, len);
}

/* A small file with every chunk type: INFO, SYMBOLS, STACKS, 2 x EVENTS, COUNTERS x2, END. */
static void write_small(const char *p)
{
	struct klt_trace_info info;
	struct klt_err err = { { 0 } };
	struct klt_writer *w;
	struct klt_sym s = { 0xffffffffc0001000ull, 0x40, 'T', "kvm_online_cpu", "kvm" };
	const uint64_t ips[2] = { 0xffffffffc0001004ull, 0xffffffffc0001008ull };
	struct klt_event e;
	unsigned i;

	fill_info(&info);
	w = klt_writer_open(p, &info, KLT_W_FORCE, &err);
	assert_non_null(w);
	assert_int_equal(klt_writer_add_sym(w, &s), 0);
	assert_int_equal(klt_writer_add_stack(w, 7, ips, 2), 0);
	for (i = 0; i < 3; i++) {
		e = mkev(i);
		assert_int_equal(klt_writer_add_event(w, &e), 0);
	}
	assert_int_equal(klt_writer_set_counter(w, "ringbuf_full", 1), 0);
	assert_int_equal(klt_writer_flush(w), 0);
	for (i = 3; i < 5; i++) {
		e = mkev(i);
		assert_int_equal(klt_writer_add_event(w, &e), 0);
	}
	/* a later COUNTERS chunk overrides the earlier value */
	assert_int_equal(klt_writer_set_counter(w, "ringbuf_full", 42), 0);
	assert_int_equal(klt_writer_close(w, &err), 0);
}

static void test_small_layout(void **state)
{
	static const unsigned want[] = { 1, 2, 3, 4, 5, 4, 5, 6 };
	const char *p = tpath("small.klt");
	struct klt_trace t;
	struct klt_err err = { { 0 } };
	struct layout l;
	unsigned char *buf;
	size_t len, i;

	write_small(p);
	buf = slurp(p, &len);
	assert_memory_equal(buf, "KLTRACE\0\x01\0\0\0\x10\0\0\0", 16);
	walk(buf, len, &l);
	assert_int_equal(l.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < l.n; i++)
		assert_int_equal(l.type[i], want[i]);
	klt_trace_init(&t);
	assert_int_equal(klt_trace_read_buf(buf, len, "small.klt", &t, &err), 0);
	assert_int_equal(t.nevents, 5);
	assert_int_equal(t.ncounters, 1);
	assert_true(t.counters[0].value == 42);
	assert_non_null(klt_trace_stack(&t, 7));
	assert_null(klt_trace_stack(&t, 6));
	assert_string_equal(klt_symtab_exact(t.syms, 0xffffffffc0001000ull, 'T')->module, "kvm");
	klt_trace_free(&t);
	free(buf);
}

/* Cut the small file at every byte: each prefix yields exactly its complete chunks. */
static void test_truncate_every_offset(void **state)
{
	const char *p = tpath("trunc-src.klt"), *q = tpath("trunc.klt");
	struct layout l;
	unsigned char *buf;
	size_t len, cut;

	write_small(p);
	buf = slurp(p, &len);
	walk(buf, len, &l);
	for (cut = 0; cut <= len; cut++) {
		struct klt_trace t;
		struct klt_err err = { { 0 } };
		char want[512];
		size_t k = 0, ev;
		int ret;

		klt_trace_init(&t);
		ret = klt_trace_read_buf(buf, cut, "f.klt", &t, &err);
		if (cut < 16) {
			assert_true(ret < 0);
			assert_string_equal(err.msg, "f.klt: offset 0: not a kvmlocktrace binary "
				   "trace (bad magic)");
			klt_trace_free(&t);
			continue;
		}
		while (k < l.n && l.end[k] <= cut)
			k++;
		ev = l.events_before[k];
		assert_int_equal(t.nevents, ev);
		if (cut == len) {
			assert_int_equal(ret, 0);
		} else if (k == 0 ? cut == 16 : l.end[k - 1] == cut) {
			assert_int_equal(ret, KLT_TRUNCATED);
			snprintf(want, sizeof(want), "f.klt: offset %zu: no end marker: recording was "
				 "interrupted; kept %zu events from %zu complete chunks",
				 cut, ev, k);
			assert_string_equal(err.msg, want);
		} else {
			assert_int_equal(ret, KLT_TRUNCATED);
			snprintf(want, sizeof(want), "f.klt: offset %zu: chunk cut off (%zu bytes "
				 "lost); kept %zu events from %zu complete chunks", l.start[k],
				 cut - l.start[k], ev, k);
			assert_string_equal(err.msg, want);
		}
		/* the counters chunk is only seen when complete; a cut-off read adds the mark
		 * trace_truncated = 1 after the file's own counters */
		assert_int_equal(t.ncounters, (k > 4 ? 1 : 0) + (cut != len ? 1 : 0));
		if (k > 4)
			assert_true(t.counters[0].value == (k > 6 ? 42u : 1u));
		if (cut != len) {
			assert_string_equal(t.counters[t.ncounters - 1].name, KLT_COUNTER_TRUNCATED);
			assert_true(t.counters[t.ncounters - 1].value == 1);
			assert_int_equal(klt_trace_completeness(&t, NULL, 0),
					 KLT_INCOMPLETE_TRUNCATED);
		}
		assert_int_equal(klt_symtab_count(t.syms), k > 1 ? 1 : 0);
		assert_true((klt_trace_stack(&t, 7) != NULL) == (k > 2));
		assert_string_equal(t.info.kernel_release, k > 0 ? "6.12.107+deb12-amd64" : "");
		klt_trace_free(&t);

		/* the file path (pread, chunk by chunk) agrees */
		if (cut % 5 == 0 || cut == len) {
			char msg2[512];

			strcpy(msg2, err.msg);
			spew(q, buf, cut);
			klt_trace_init(&t);
			memset(&err, 0, sizeof(err));
			assert_int_equal(klt_trace_read_file(q, &t, &err), ret);
			assert_int_equal(t.nevents, ev);
			if (ret < 0)
				assert_non_null(strstr(err.msg, "bad magic"));
			klt_trace_free(&t);
		}
	}
	free(buf);
}

static void test_bit_flip(void **state)
{
	const char *p = tpath("flip.klt");
	struct klt_trace t;
	struct klt_err err = { { 0 } };
	struct layout l;
	unsigned char *buf;
	char want[256];
	size_t len;

	write_small(p);
	buf = slurp(p, &len);
	walk(buf, len, &l);
	/* chunk 5 is the second EVENTS chunk: flip one bit of its payload */
	assert_int_equal(l.type[5], 4);
	buf[l.start[5] + 16 + 37] ^= 0x10;
	klt_trace_init(&t);
	assert_int_equal(klt_trace_read_buf(buf, len, "f.klt", &t, &err), KLT_TRUNCATED);
	snprintf(want, sizeof(want), "f.klt: offset %zu: bad checksum in EVENTS chunk; kept 3 events "
		 "from 5 complete chunks", l.start[5]);
	assert_string_equal(err.msg, want);
	assert_int_equal(t.nevents, 3);
	klt_trace_free(&t);

	/* a damaged chunk header: bad magic */
	buf[l.start[5] + 16 + 37] ^= 0x10;
	buf[l.start[3]] ^= 1;
	klt_trace_init(&t);
	assert_int_equal(klt_trace_read_buf(buf, len, "f.klt", &t, &err), KLT_TRUNCATED);
	snprintf(want, sizeof(want), "f.klt: offset %zu: bad chunk magic (%zu bytes lost); kept 0 "
		 "events from 3 complete chunks", l.start[3], len - l.start[3]);
	assert_string_equal(err.msg, want);
	klt_trace_free(&t);

	/* an absurd length: corruption, not an allocation */
	buf[l.start[3]] ^= 1;
	buf[l.start[3] + 11] = 0x7f;
	klt_trace_init(&t);
	assert_int_equal(klt_trace_read_buf(buf, len, "f.klt", &t, &err), KLT_TRUNCATED);
	assert_non_null(strstr(err.msg, "oversized EVENTS chunk"));
	klt_trace_free(&t);
	free(buf);
}

static void put32le(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void test_unknown_chunk_skipped(void **state)
{
	const char *p = tpath("unk.klt");
	struct klt_trace t;
	struct klt_err err = { { 0 } };
	struct layout l;
	unsigned char *buf, *nb, extra[16 + 5] = { 0 };
	size_t len;

	write_small(p);
	buf = slurp(p, &len);
	walk(buf, len, &l);
	put32le(extra, 0x43544c4b);
	extra[4] = 99;
	put32le(extra + 8, 5);
	memcpy(extra + 16, "hello", 5);
	put32le(extra + 12, (uint32_t)crc32(0, extra + 16, 5));
	nb = malloc(len + sizeof(extra));
	assert_non_null(nb);
	memcpy(nb, buf, l.start[3]);
	memcpy(nb + l.start[3], extra, sizeof(extra));
	memcpy(nb + l.start[3] + sizeof(extra), buf + l.start[3], len - l.start[3]);
	klt_trace_init(&t);
	assert_int_equal(klt_trace_read_buf(nb, len + sizeof(extra), "u", &t, &err), 0);
	assert_int_equal(t.nevents, 5);
	klt_trace_free(&t);
	/* an empty chunk of an unknown type, read through the file path */
	put32le(extra + 8, 0);
	put32le(extra + 12, 0);
	memcpy(nb + l.start[3], extra, 16);
	memcpy(nb + l.start[3] + 16, buf + l.start[3], len - l.start[3]);
	spew(p, nb, len + 16);
	klt_trace_init(&t);
	assert_int_equal(klt_trace_read_file(p, &t, &err), 0);
	assert_int_equal(t.nevents, 5);
	klt_trace_free(&t);
	free(nb);
	free(buf);
}

static void test_bad_magic_and_version(void **state)
{
	const char *p = tpath("text.txt");
	struct klt_trace t;
	struct klt_err err = { { 0 } };
	unsigned char hdr[16];

	spew(p, "1 lock a mutex\n", 15);
	klt_trace_init(&t);
	assert_int_equal(klt_trace_read_file(p, &t, &err), -EINVAL);
	snprintf((char *)hdr, sizeof(hdr), "x");
	{
		char want[256];

		snprintf(want, sizeof(want), "%s: offset 0: not a kvmlocktrace binary trace (bad "
			 "magic)", p);
		assert_string_equal(err.msg, want);
	}
	/* klt_trace_load falls back to the text form */
	assert_int_equal(klt_trace_load(p, &t, &err), 0);
	assert_int_equal(t.nevents, 2);
	klt_trace_free(&t);

	memcpy(hdr, "KLTRACE\0\x02\0\0\0\x10\0\0\0", 16);
	klt_trace_init(&t);
	assert_true(klt_trace_read_buf(hdr, 16, "v2", &t, &err) < 0);
	assert_non_null(strstr(err.msg, "version 2"));
	memcpy(hdr, "KLTRACE\0\x01\0\0\0\x08\0\0\0", 16);
	assert_true(klt_trace_read_buf(hdr, 16, "hs", &t, &err) < 0);
	klt_trace_free(&t);

	klt_trace_init(&t);
	assert_true(klt_trace_read_file(tpath("does-not-exist"), &t, &err) < 0);
	assert_non_null(strstr(err.msg, "No such file"));
	klt_trace_free(&t);
}

static void test_excl_force_symlink(void **state)
{
	const char *p = tpath("excl.klt"), *link = tpath("link.klt"), *target = tpath("target");
	struct klt_trace a, b;
	struct klt_err err = { { 0 } };
	struct stat st;
	char want[256];

	build_trace(&a, 10);
	assert_int_equal(klt_trace_write_file(p, &a, 0, &err), 0);
	assert_int_equal(klt_trace_write_file(p, &a, 0, &err), -EEXIST);
	snprintf(want, sizeof(want), "%s: open: %s", p, strerror(EEXIST));
	assert_memory_equal(err.msg, want, strlen(want));

	/* --force overwrites (and truncates) */
	a.nevents = 3;
	assert_int_equal(klt_trace_write_file(p, &a, KLT_W_FORCE, &err), 0);
	klt_trace_init(&b);
	assert_int_equal(klt_trace_read_file(p, &b, &err), 0);
	assert_int_equal(b.nevents, 3);
	klt_trace_free(&b);

	/* a symlink is never followed, with or without --force */
	spew(target, "precious", 8);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(klt_trace_write_file(link, &a, 0, &err), -EEXIST);
	assert_int_equal(klt_trace_write_file(link, &a, KLT_W_FORCE, &err), -ELOOP);
	snprintf(want, sizeof(want), "%s: open: %s", link, strerror(ELOOP));
	assert_memory_equal(err.msg, want, strlen(want));
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 8);
	/* a dangling symlink is not created through either */
	assert_int_equal(unlink(target), 0);
	assert_int_equal(klt_trace_write_file(link, &a, 0, &err), -EEXIST);
	assert_int_equal(klt_trace_write_file(link, &a, KLT_W_FORCE, &err), -ELOOP);
	assert_int_equal(stat(target, &st), -1);

	assert_int_equal(klt_trace_write_file(tpath("no/such/dir.klt"), &a, 0, &err), -ENOENT);
	klt_trace_free(&a);
}

/* Symbols and stacks added between events are in the file before the events that follow. */
static void test_streaming_order(void **state)
{
	const char *p = tpath("stream.klt");
	struct klt_trace_info info;
	struct klt_err err = { { 0 } };
	struct klt_writer *w;
	struct klt_trace t;
	struct layout l;
	unsigned char *buf;
	size_t len, i;
	unsigned n;

	fill_info(&info);
	w = klt_writer_open(p, &info, 0, &err);
	assert_non_null(w);
	for (n = 0; n < 5000; n++) {
		struct klt_event e = mkev(n);

		if (n % 1000 == 0) {
			uint64_t ip = n;
			struct klt_sym s = { 0x1000 + n, 0, 'T', "f", NULL };

			assert_int_equal(klt_writer_add_stack(w, (int32_t)n, &ip, 1), 0);
			assert_int_equal(klt_writer_add_sym(w, &s), 0);
			e.stack_id = (int32_t)n;
		}
		assert_int_equal(klt_writer_add_event(w, &e), 0);
	}
	assert_int_equal(klt_writer_close(w, &err), 0);
	buf = slurp(p, &len);
	walk(buf, len, &l);
	/* every STACKS chunk precedes the EVENTS chunk holding its event */
	for (i = 0; i < l.n; i++)
		if (l.type[i] == 4)
			assert_true(l.end[i] - l.start[i] - 16 <= 4096 * 80);
	assert_int_equal(l.type[0], 1);
	assert_int_equal(l.type[1], 2);
	assert_int_equal(l.type[2], 3);
	assert_int_equal(l.type[l.n - 1], 6);
	klt_trace_init(&t);
	assert_int_equal(klt_trace_read_buf(buf, len, "s", &t, &err), 0);
	assert_int_equal(t.nevents, 5000);
	assert_int_equal(klt_symtab_count(t.syms), 5);
	for (n = 0; n < 5000; n += 1000)
		assert_non_null(klt_trace_stack(&t, (int32_t)n));
	klt_trace_free(&t);
	free(buf);
}

static void test_model_and_names(void **state)
{
	struct klt_trace t;
	const uint64_t ip = 1;
	size_t i;
	char name[32];

	klt_trace_init(&t);
	assert_int_equal(klt_trace_set_stack(&t, -1, &ip, 1), -EINVAL);
	assert_int_equal(klt_trace_set_stack(&t, 1 << 20, &ip, 1), -EINVAL);
	assert_int_equal(klt_trace_set_stack(&t, 1000, &ip, 1), 0);
	assert_int_equal(t.nstacks, 1001);
	assert_null(klt_trace_stack(&t, 999));
	assert_null(klt_trace_stack(&t, 1001));
	assert_null(klt_trace_stack(&t, -1));
	assert_true(klt_trace_stack(&t, 1000)->ips[0] == 1);
	for (i = 0; i < KLT_MAX_COUNTERS; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		assert_int_equal(klt_trace_add_counter(&t, name, i), 0);
	}
	assert_int_equal(klt_trace_add_counter(&t, "one_too_many", 1), -ENOSPC);
	assert_int_equal(klt_trace_add_counter(&t, "c3", 10), 0);
	assert_true(t.counters[3].value == 13);
	klt_trace_free(&t);

	assert_string_equal(klt_ev_type_name(KLT_EV_ATTEMPT), "attempt");
	assert_string_equal(klt_ev_type_name(KLT_EV_ACQUIRED), "acquired");
	assert_string_equal(klt_ev_type_name(KLT_EV_RELEASE), "unlock");
	assert_string_equal(klt_ev_type_name(KLT_EV_SRCU_SYNC), "synchronize-srcu");
	assert_string_equal(klt_ev_type_name(KLT_EV_TASK_EXIT), "exit");
	assert_null(klt_ev_type_name(KLT_EV_NONE));
	assert_null(klt_ev_type_name(KLT_EV_MAX));
	for (i = 1; i < KLT_LK_MAX; i++)
		assert_int_equal(klt_lock_kind_from_name(klt_lock_kind_name(i)), i);
	assert_int_equal(klt_lock_kind_from_name("mutx"), -1);
	assert_null(klt_lock_kind_name(KLT_LK_MAX));
	assert_string_equal(klt_mode_name(KLT_MODE_RREAD), "rread");
	assert_null(klt_mode_name(KLT_MODE_MAX));
	for (i = 1; i < KLT_PM_MAX; i++)
		assert_int_equal(klt_pm_phase_from_name(klt_pm_phase_name(i)), i);
	assert_string_equal(klt_pm_phase_name(KLT_PM_KVM_RESUME), "kvm_resume");
	assert_int_equal(klt_pm_phase_from_name("bogus"), KLT_PM_OTHER);
	assert_null(klt_pm_phase_name(KLT_PM_MAX));
}

/* klt_counter_find/klt_counter_get: the one lookup-or-append of named counters (trace, reader,
 * writer). */
static void test_counter_slots(void **state)
{
	struct klt_counter c[KLT_MAX_COUNTERS];
	struct klt_counter *a;
	size_t n = 0, i;
	char name[32];

	(void)state;
	memset(c, 0, sizeof(c));
	assert_int_equal(klt_counter_find(c, n, "x"), 0);
	a = klt_counter_get(c, &n, "x");
	assert_non_null(a);
	assert_int_equal(n, 1);
	assert_string_equal(a->name, "x");
	assert_true(a->value == 0);
	a->value = 7;
	assert_ptr_equal(klt_counter_get(c, &n, "x"), a);
	assert_int_equal(n, 1);
	assert_true(c[0].value == 7);
	for (i = 1; i < KLT_MAX_COUNTERS; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		assert_ptr_equal(klt_counter_get(c, &n, name), &c[i]);
	}
	assert_int_equal(n, KLT_MAX_COUNTERS);
	assert_null(klt_counter_get(c, &n, "one_too_many"));
	assert_int_equal(n, KLT_MAX_COUNTERS);
	assert_int_equal(klt_counter_find(c, n, "c5"), 5);
	assert_int_equal(klt_counter_find(c, n, "nope"), n);
	/* a full table still finds what it has */
	assert_ptr_equal(klt_counter_get(c, &n, "c31"), &c[31]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_trace),
		cmocka_unit_test(test_small_layout),
		cmocka_unit_test(test_truncate_every_offset),
		cmocka_unit_test(test_bit_flip),
		cmocka_unit_test(test_unknown_chunk_skipped),
		cmocka_unit_test(test_bad_magic_and_version),
		cmocka_unit_test(test_excl_force_symlink),
		cmocka_unit_test(test_streaming_order),
		cmocka_unit_test(test_model_and_names),
		cmocka_unit_test(test_counter_slots),
	};

	return cmocka_run_group_tests_name("tracefile", tests, group_setup, group_teardown);
}
