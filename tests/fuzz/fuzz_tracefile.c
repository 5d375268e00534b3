// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for the binary trace reader (klt_trace_read_buf / klt_trace_read_file,
 * src/tracefile.c) and, through it, the writer and the text writer.
 *
 * Properties checked on every input:
 *  - no crash / UB / leak / timeout; return is <0, 0 or KLT_TRUNCATED; messages NUL-terminated;
 *  - a negative return ("nothing usable") only for a bad file header or ENOMEM: past a valid
 *    header, damage cuts the file (KLT_TRUNCATED) and keeps the prefix;
 *  - differential: klt_trace_read_file() on the same bytes (the pread/chunk-buffer path) returns
 *    the same code and loads the same trace as klt_trace_read_buf();
 *  - what was loaded (0 or KLT_TRUNCATED) is written with klt_trace_write_file() and re-read:
 *    the re-read returns 0 (clean END) and gives the same info, symbols, stacks, events, counters;
 *  - the loaded trace converts to text (klt_text_write), that text parses, and gives back the same
 *    events (comm past its first NUL normalized, docs/text-format.md "Limits"), stacks
 *    and symbols. Set KLT_FUZZ_NO_TEXT=1 to skip this step.
 * A custom mutator keeps chunk CRCs valid most of the time (see below).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "trace.h"
#include "traceio.h"
#include "fuzz_common.h"

static uint32_t rd32(const uint8_t *p);

static char tmpdir[256];
static char raw_path[300], out_path[300];
static int check_text = 1;
static int strict; /* KLT_FUZZ_STRICT=1: do not step around known, already-reported findings */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("KLT_FUZZ_TMPDIR");

	if (!base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/klt-fuzz-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		abort();
	}
	snprintf(raw_path, sizeof(raw_path), "%s/in.klt", tmpdir);
	snprintf(out_path, sizeof(out_path), "%s/out.klt", tmpdir);
	if (getenv("KLT_FUZZ_NO_TEXT") && atoi(getenv("KLT_FUZZ_NO_TEXT")))
		check_text = 0;
	/* the findings are fixed: strict unless KLT_FUZZ_STRICT=0 */
	strict = !getenv("KLT_FUZZ_STRICT") || atoi(getenv("KLT_FUZZ_STRICT"));
	return 0;
}

__attribute__((destructor)) static void cleanup(void)
{
	if (!tmpdir[0])
		return;
	unlink(raw_path);
	unlink(out_path);
	rmdir(tmpdir);
}

static void put_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;

	FUZZ_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		FUZZ_CHECK(n > 0, "write %s: %s", path, strerror(errno));
		off += (size_t)n;
	}
	close(fd);
}

static void same_stacks(const struct klt_trace *a, const struct klt_trace *b, const char *what)
{
	size_t i, n = a->nstacks > b->nstacks ? a->nstacks : b->nstacks;

	for (i = 0; i < n && i < (1u << 24); i++) {
		const struct klt_stack *sa = klt_trace_stack(a, (int32_t)i);
		const struct klt_stack *sb = klt_trace_stack(b, (int32_t)i);
		uint32_t na = sa ? sa->nr : 0, nb = sb ? sb->nr : 0;

		FUZZ_CHECK(na == nb, "%s: stack %zu has %u vs %u frames", what, i, na, nb);
		if (na)
			FUZZ_CHECK(!memcmp(sa->ips, sb->ips, na * sizeof(uint64_t)),
				   "%s: stack %zu frames differ", what, i);
	}
}

static void same_syms(struct klt_trace *a, struct klt_trace *b, const char *what)
{
	size_t i, n = klt_symtab_count(a->syms);

	FUZZ_CHECK(n == klt_symtab_count(b->syms), "%s: symbol count %zu vs %zu", what, n,
		   klt_symtab_count(b->syms));
	for (i = 0; i < n; i++) {
		const struct klt_sym *x = klt_symtab_at(a->syms, i), *y = klt_symtab_at(b->syms, i);

		FUZZ_CHECK(x && y, "%s: symtab_at(%zu) NULL", what, i);
		FUZZ_CHECK(x->addr == y->addr && x->type == y->type && x->size == y->size &&
				   !strcmp(x->name, y->name) &&
				   !x->module == !y->module &&
				   (!x->module || !strcmp(x->module, y->module)),
			   "%s: symbol %zu differs (%s vs %s)", what, i, x->name, y->name);
	}
}

static void same_events(const struct klt_trace *a, const struct klt_trace *b, const char *what)
{
	size_t i;

	FUZZ_CHECK(a->nevents == b->nevents, "%s: event count %zu vs %zu", what, a->nevents,
		   b->nevents);
	for (i = 0; i < a->nevents; i++)
		if (memcmp(&a->events[i], &b->events[i], sizeof(struct klt_event))) {
			fuzz_show_event("first ", &a->events[i]);
			fuzz_show_event("second", &b->events[i]);
			FUZZ_CHECK(0, "%s: event %zu differs", what, i);
		}
}

static void same_trace(struct klt_trace *a, struct klt_trace *b, const char *what)
{
	size_t i;

	FUZZ_CHECK(!memcmp(&a->info, &b->info, sizeof(a->info)) ||
			   (!strcmp(a->info.tool_version, b->info.tool_version) &&
			    !strcmp(a->info.kernel_release, b->info.kernel_release) &&
			    !strcmp(a->info.machine, b->info.machine) &&
			    !strcmp(a->info.hostname, b->info.hostname) &&
			    !strcmp(a->info.clock, b->info.clock) &&
			    !strcmp(a->info.attach_mode, b->info.attach_mode) &&
			    a->info.start_realtime_ns == b->info.start_realtime_ns),
		   "%s: info differs", what);
	same_events(a, b, what);
	same_stacks(a, b, what);
	same_syms(a, b, what);
	FUZZ_CHECK(a->ncounters == b->ncounters, "%s: counter count %zu vs %zu", what,
		   a->ncounters, b->ncounters);
	for (i = 0; i < a->ncounters; i++) {
		size_t j;

		for (j = 0; j < b->ncounters; j++)
			if (!strcmp(a->counters[i].name, b->counters[j].name))
				break;
		FUZZ_CHECK(j < b->ncounters && a->counters[i].value == b->counters[j].value,
			   "%s: counter '%s' lost or changed", what, a->counters[i].name);
	}
}

/*
 * Known findings (tests/fuzz/crashes/README.md): while they are open, the text round
 * trip steps around them so fuzzing keeps going past them. KLT_FUZZ_STRICT=1 turns this off.
 */
static int known_text_issue(const struct klt_trace *t)
{
	size_t i;

	if (strict)
		return 0;
	for (i = 0; i < t->ncounters; i++)
		if (!t->counters[i].name[0]) /* empty-name: counter */
			return 1;
	for (i = 0; i < klt_symtab_count(t->syms); i++) {
		const struct klt_sym *s = klt_symtab_at(t->syms, i);

		if (!s->name[0]) /* empty-name: symbol */
			return 1;
		if (s->type != 'T' && s->type != 'D' && s->type != 'C') /* symbol-type */
			return 1;
	}
	for (i = 0; i < t->nevents; i++)
		if (t->events[i].type == 0xffff) /* event-type-65535 */
			return 1;
	return 0;
}

/*
 * The text form carries comm only up to its first NUL: compare binary events with it
 * normalized (NUL-padded comm), as the docs define them.
 */
static void normalize(struct klt_event *e)
{
	size_t n = strnlen(e->comm, KLT_COMM_LEN);

	memset(e->comm + n, 0, KLT_COMM_LEN - n);
}

/* Binary -> text -> parse: every event the text form can express comes back identical. */
static void text_round_trip(struct klt_trace *t)
{
	struct klt_trace t3;
	struct klt_err err;
	char *out = NULL;
	size_t len = 0, i, j;
	int skip_unknown;
	struct klt_event ev;
	FILE *f = open_memstream(&out, &len);
	int ret;

	FUZZ_CHECK(f, "open_memstream");
	ret = klt_text_write(f, t);
	fclose(f);
	FUZZ_CHECK(ret == 0, "klt_text_write returned %d", ret);
	klt_trace_init(&t3);
	FUZZ_CHECK(t3.syms, "klt_trace_init");
	memset(&err, 0, sizeof(err));
	ret = klt_text_parse(out, len, "converted.txt", &t3, &err);
	if (ret != 0) {
		fprintf(stderr, "converted text:\n%.*s\n", (int)(len < 4000 ? len : 4000), out);
		FUZZ_CHECK(ret == 0, "text written from a binary trace does not parse: %s", err.msg);
	}
	/* an older writer skipped types it had no name for, with this comment */
	skip_unknown = memmem(out, len, "# event of unknown type", 23) != NULL;
	for (i = 0, j = 0; i < t->nevents; i++) {
		if (skip_unknown && t->events[i].type >= KLT_EV_MAX)
			continue; /* not expressible in text */
		FUZZ_CHECK(j < t3.nevents, "binary->text lost event %zu", i);
		ev = t->events[i];
		normalize(&ev);
		if (memcmp(&ev, &t3.events[j], sizeof(struct klt_event))) {
			fprintf(stderr, "converted text:\n%.*s\n", (int)(len < 4000 ? len : 4000), out);
			fuzz_show_event("binary", &t->events[i]);
			fuzz_show_event("text  ", &t3.events[j]);
			FUZZ_CHECK(0, "binary->text->parse changed event %zu (type %u)", i,
				   t->events[i].type);
		}
		j++;
	}
	FUZZ_CHECK(j == t3.nevents, "binary->text added events (%zu vs %zu)", j, t3.nevents);
	/* docs/text-format.md: "binary -> text -> binary gives identical events, stacks and symbols" */
	same_stacks(t, &t3, "binary->text->parse");
	same_syms(t, &t3, "binary->text->parse");
	free(out);
	klt_trace_free(&t3);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Known finding "stack-id-amplification": a STACKS record with a large id (legal up to 1<<24)
 * makes the reader allocate and walk a table of id+1 entries (256 MiB, seconds under ASAN) for a
 * 40-byte file. Reported once; by default inputs with an id above 65535 in any STACKS chunk are
 * not run further, so the fuzzer does not spend its time on it. KLT_FUZZ_STRICT=1 runs them.
 */
static int huge_stack_id(const uint8_t *data, size_t size)
{
	size_t off = 16;

	if (size < 16)
		return 0;
	while (off + 16 <= size) {
		uint32_t plen = rd32(data + off + 8);
		size_t end = off + 16 + plen, i = off + 16;

		if (plen > size || end > size)
			break;
		if ((rd32(data + off + 4) & 0xffff) == 3) {
			while (i + 8 <= end) {
				uint32_t id = rd32(data + i), nr = rd32(data + i + 4);

				if (id > 65535)
					return 1;
				if (nr > (end - i - 8) / 8)
					break;
				i += 8 + (size_t)nr * 8;
			}
		}
		off = end;
	}
	return 0;
}

/*
 * Custom mutator: libFuzzer's byte mutations almost always break a chunk's CRC32, and the reader
 * stops at the first bad checksum, so without help the fuzzer would only ever explore the chunk
 * framing. After each mutation, recompute the CRC of every complete chunk (7 times out of 8) and
 * sometimes restore the chunk magic. Inputs stay literal files: a saved crash reproduces as is.
 */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size_t off;

	size = LLVMFuzzerMutate(data, size, max_size);
	if (size < 16 || (seed & 7) == 0)
		return size;
	off = rd32(data + 12);
	if (off < 16 || off > size)
		off = 16;
	while (off + 16 <= size) {
		uint32_t plen = rd32(data + off + 8);

		if ((seed >> 3 & 3) == 0)
			wr32(data + off, 0x43544c4bu); /* "KLTC" */
		if (plen > size - off - 16)
			break;
		wr32(data + off + 12, (uint32_t)crc32(0, data + off + 16, plen));
		off += 16 + (size_t)plen;
	}
	return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct klt_trace t, tf, t2;
	struct klt_err err, errf;
	int ret, retf;

	if (!strict && huge_stack_id(data, size))
		return 0;
	klt_trace_init(&t);
	if (!t.syms) {
		klt_trace_free(&t);
		return 0;
	}
	memset(&err, 0x5a, sizeof(err));
	ret = klt_trace_read_buf(data, size, "fuzz.klt", &t, &err);
	FUZZ_CHECK(ret <= KLT_TRUNCATED, "read_buf returned %d", ret);
	if (ret != 0)
		fuzz_check_msg(err.msg, sizeof(err.msg));

	/* Differential: the file reader must agree with the buffer reader. */
	put_file(raw_path, data, size);
	klt_trace_init(&tf);
	FUZZ_CHECK(tf.syms, "klt_trace_init");
	memset(&errf, 0x5a, sizeof(errf));
	retf = klt_trace_read_file(raw_path, &tf, &errf);
	if (retf != 0)
		fuzz_check_msg(errf.msg, sizeof(errf.msg));
	FUZZ_CHECK((ret < 0) == (retf < 0) && (ret < 0 || ret == retf),
		   "read_buf returned %d (%s), read_file returned %d (%s)", ret,
		   ret ? err.msg : "", retf, retf ? errf.msg : "");
	if (ret >= 0)
		same_trace(&t, &tf, "read_buf vs read_file");
	klt_trace_free(&tf);

	if (ret < 0) {
		/*
		 * "negative errno = nothing usable": only a bad file header (or no memory). Past a
		 * valid header, damage must cut the file (KLT_TRUNCATED), never lose the prefix.
		 * Known finding "counters-33": >32 counter names give -ENOSPC (strict mode only).
		 */
		if (size >= 16 && !memcmp(data, KLT_TRACE_MAGIC, 8) && rd32(data + 8) == 1 &&
		    rd32(data + 12) >= 16 && rd32(data + 12) <= size && ret != -ENOMEM &&
		    (strict || ret != -ENOSPC))
			FUZZ_CHECK(0, "valid header but read_buf returned %d: %s", ret, err.msg);
		klt_trace_free(&t);
		return 0;
	}

	/* Write what was kept and read it back: a clean, identical trace. */
	memset(&err, 0, sizeof(err));
	ret = klt_trace_write_file(out_path, &t, KLT_W_FORCE, &err);
	FUZZ_CHECK(ret == 0, "klt_trace_write_file: %d: %s", ret, err.msg);
	klt_trace_init(&t2);
	FUZZ_CHECK(t2.syms, "klt_trace_init");
	ret = klt_trace_read_file(out_path, &t2, &err);
	FUZZ_CHECK(ret == 0, "re-reading the written trace: %d: %s", ret, err.msg);
	same_trace(&t, &t2, "write/re-read");
	klt_trace_free(&t2);

	if (check_text && !known_text_issue(&t))
		text_round_trip(&t);

	klt_trace_free(&t);
	return 0;
}
