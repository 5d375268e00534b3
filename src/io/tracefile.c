// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Binary trace file (docs/trace-format.md): a 16-byte file header, then append-only chunks, each
 * with its own CRC32, so a recording cut off at any byte (crash, full disk, kill -9) still yields
 * every complete chunk. Everything is little-endian and encoded byte by byte, never by casting.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "trace.h"
#include "traceio.h"

#define FILE_HDR_SIZE 16
#define CHUNK_MAGIC 0x43544c4bu /* "KLTC" */
#define CHUNK_HDR_SIZE 16
#define CHUNK_MAX_PAYLOAD (64u << 20)
#define EVENT_SIZE 80
#define EVENTS_PER_CHUNK 4096
#define SPILL_PAYLOAD (4u << 20)   /* emit a SYMBOLS/STACKS chunk once it grows past this */
#define OUTBUF_FLUSH (1u << 20)	   /* write() serialized chunks once this much is queued */

enum chunk_type {
	CH_INFO = 1,
	CH_SYMBOLS = 2,
	CH_STACKS = 3,
	CH_EVENTS = 4,
	CH_COUNTERS = 5,
	CH_END = 6,
};

static const char *chunk_name(unsigned type, char *buf, size_t len)
{
	static const char *const names[] = { NULL, "INFO", "SYMBOLS", "STACKS",
					     "EVENTS", "COUNTERS", "END" };

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	snprintf(buf, len, "type-%u", type);
	return buf;
}

static void set_err(struct klt_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct klt_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* --- little-endian helpers ------------------------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

static void encode_event(uint8_t *p, const struct klt_event *e)
{
	put16(p + 0, e->type);
	p[2] = e->kind;
	p[3] = e->mode;
	put32(p + 4, e->cpu);
	put64(p + 8, e->ts);
	put32(p + 16, e->pid);
	put32(p + 20, e->tid);
	put64(p + 24, e->lock);
	put64(p + 32, e->ip);
	put32(p + 40, (uint32_t)e->stack_id);
	put32(p + 44, e->flags);
	put32(p + 48, e->aux0);
	put32(p + 52, e->aux1);
	put32(p + 56, (uint32_t)e->aux2);
	put32(p + 60, e->pad);
	memcpy(p + 64, e->comm, KLT_COMM_LEN);
}

static void decode_event(const uint8_t *p, struct klt_event *e)
{
	e->type = get16(p + 0);
	e->kind = p[2];
	e->mode = p[3];
	e->cpu = get32(p + 4);
	e->ts = get64(p + 8);
	e->pid = get32(p + 16);
	e->tid = get32(p + 20);
	e->lock = get64(p + 24);
	e->ip = get64(p + 32);
	e->stack_id = (int32_t)get32(p + 40);
	e->flags = get32(p + 44);
	e->aux0 = get32(p + 48);
	e->aux1 = get32(p + 52);
	e->aux2 = (int32_t)get32(p + 56);
	e->pad = get32(p + 60);
	memcpy(e->comm, p + 64, KLT_COMM_LEN);
}

/* --- growable byte buffer ------------------------------------------------------------------- */

struct bbuf {
	uint8_t *p;
	size_t len, cap;
};

static uint8_t *bb_reserve(struct bbuf *b, size_t n)
{
	if (n > SIZE_MAX - b->len)
		return NULL;
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (ncap < b->len + n)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np)
			return NULL;
		b->p = np;
		b->cap = ncap;
	}
	b->len += n;
	return b->p + b->len - n;
}

static int bb_put(struct bbuf *b, const void *src, size_t n)
{
	uint8_t *d = bb_reserve(b, n);

	if (!d)
		return -ENOMEM;
	if (n)
		memcpy(d, src, n);
	return 0;
}

/* --- writer --------------------------------------------------------------------------------- */

struct klt_writer {
	int fd;
	unsigned flags;
	char *path;
	int error;		/* sticky: first failure, reported again by close */
	char errmsg[sizeof(((struct klt_err *)0)->msg)];
	struct bbuf out;	/* complete serialized chunks not yet written */
	struct bbuf syms;	/* pending SYMBOLS payload */
	struct bbuf stacks;	/* pending STACKS payload */
	struct bbuf events;	/* pending EVENTS payload */
	size_t nevents_pending;
	uint64_t total_events;
	struct klt_counter counters[KLT_MAX_COUNTERS];
	size_t ncounters;
	bool counters_dirty;
};

static int w_fail(struct klt_writer *w, int err, const char *what)
{
	if (!w->error) {
		w->error = err;
		snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s: %s", w->path, what, strerror(-err));
	}
	return err;
}

/* write() the whole buffer: loops on short writes and EINTR */
static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int w_drain(struct klt_writer *w)
{
	int err;

	if (w->error)
		return w->error;
	if (!w->out.len)
		return 0;
	err = write_all(w->fd, w->out.p, w->out.len);
	if (err)
		return w_fail(w, err, "write");
	w->out.len = 0;
	if ((w->flags & KLT_W_SYNC) && fdatasync(w->fd))
		return w_fail(w, -errno, "fdatasync");
	return 0;
}

static int w_chunk(struct klt_writer *w, unsigned type, const uint8_t *payload, size_t len)
{
	uint8_t *h;

	if (w->error)
		return w->error;
	if (len > CHUNK_MAX_PAYLOAD)
		return w_fail(w, -EFBIG, "chunk too large");
	h = bb_reserve(&w->out, CHUNK_HDR_SIZE + len);
	if (!h)
		return w_fail(w, -ENOMEM, "queue chunk");
	put32(h, CHUNK_MAGIC);
	put16(h + 4, type);
	put16(h + 6, 0);
	put32(h + 8, (uint32_t)len);
	put32(h + 12, (uint32_t)crc32(0L, payload, (uInt)len));
	if (len)
		memcpy(h + CHUNK_HDR_SIZE, payload, len);
	if (w->out.len >= OUTBUF_FLUSH || (w->flags & KLT_W_SYNC))
		return w_drain(w);
	return 0;
}

static int w_emit(struct klt_writer *w, unsigned type, struct bbuf *b)
{
	int err;

	if (!b->len)
		return 0;
	err = w_chunk(w, type, b->p, b->len);
	b->len = 0;
	return err;
}

static int w_emit_events(struct klt_writer *w)
{
	w->nevents_pending = 0;
	return w_emit(w, CH_EVENTS, &w->events);
}

static int w_emit_counters(struct klt_writer *w)
{
	struct bbuf b = { 0 };
	size_t i;
	int err = 0;

	if (!w->counters_dirty)
		return 0;
	for (i = 0; i < w->ncounters && !err; i++) {
		uint8_t n = (uint8_t)strlen(w->counters[i].name), v[8];

		put64(v, w->counters[i].value);
		err = bb_put(&b, &n, 1);
		if (!err)
			err = bb_put(&b, w->counters[i].name, n);
		if (!err)
			err = bb_put(&b, v, 8);
	}
	if (err)
		err = w_fail(w, err, "counters");
	else
		err = w_emit(w, CH_COUNTERS, &b);
	free(b.p);
	if (!err)
		w->counters_dirty = false;
	return err;
}

static int info_kv(struct bbuf *b, const char *k, const char *v, size_t vmax)
{
	size_t vl = strnlen(v, vmax);
	int err = bb_put(b, k, strlen(k) + 1);

	if (!err)
		err = bb_put(b, v, vl);
	if (!err)
		err = bb_put(b, "", 1);
	return err;
}

static int w_info(struct klt_writer *w, const struct klt_trace_info *info)
{
	struct klt_trace_info empty = { 0 };
	struct bbuf b = { 0 };
	char ns[24];
	int err;

	if (!info)
		info = &empty;
	snprintf(ns, sizeof(ns), "%llu", (unsigned long long)info->start_realtime_ns);
	err = info_kv(&b, "tool", info->tool_version, sizeof(info->tool_version));
	if (!err)
		err = info_kv(&b, "kernel", info->kernel_release, sizeof(info->kernel_release));
	if (!err)
		err = info_kv(&b, "machine", info->machine, sizeof(info->machine));
	if (!err)
		err = info_kv(&b, "hostname", info->hostname, sizeof(info->hostname));
	if (!err)
		err = info_kv(&b, "clock", info->clock, sizeof(info->clock));
	if (!err)
		err = info_kv(&b, "attach", info->attach_mode, sizeof(info->attach_mode));
	if (!err)
		err = info_kv(&b, "start_realtime_ns", ns, sizeof(ns));
	if (err)
		err = w_fail(w, err, "info");
	else
		err = w_emit(w, CH_INFO, &b);
	free(b.p);
	return err;
}

static void w_free(struct klt_writer *w)
{
	free(w->out.p);
	free(w->syms.p);
	free(w->stacks.p);
	free(w->events.p);
	free(w->path);
	free(w);
}

struct klt_writer *klt_writer_open(const char *path, const struct klt_trace_info *info,
				   unsigned flags, struct klt_err *err)
{
	int oflags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	struct klt_writer *w;
	uint8_t hdr[FILE_HDR_SIZE];
	int ret;

	/* a symlink is never followed, --force or not: no clobbering through planted links */
	oflags |= (flags & KLT_W_FORCE) ? O_TRUNC : O_EXCL;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path))) {
		set_err(err, "%s: open: %s", path, strerror(ENOMEM));
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->flags = flags;
	w->fd = open(path, oflags, 0600);
	if (w->fd < 0) {
		ret = errno;
		if (ret == ELOOP)
			set_err(err, "%s: open: %s (refusing to follow a symbolic link)", path,
				strerror(ret));
		else if (ret == EEXIST)
			set_err(err, "%s: open: %s (use --force to overwrite)", path, strerror(ret));
		else
			set_err(err, "%s: open: %s", path, strerror(ret));
		w_free(w);
		errno = ret;
		return NULL;
	}
	memcpy(hdr, KLT_TRACE_MAGIC, 8);
	put32(hdr + 8, KLT_FORMAT_VERSION);
	put32(hdr + 12, FILE_HDR_SIZE);
	ret = bb_put(&w->out, hdr, sizeof(hdr));
	if (ret)
		w_fail(w, ret, "header");
	ret = w_info(w, info);
	if (!ret)
		ret = w_drain(w);
	if (ret) {
		set_err(err, "%s", w->errmsg);
		close(w->fd);
		w_free(w);
		errno = -ret;
		return NULL;
	}
	return w;
}

int klt_writer_add_sym(struct klt_writer *w, const struct klt_sym *sym)
{
	size_t nl = strlen(sym->name), ml = sym->module ? strlen(sym->module) : 0;
	uint8_t *p;

	if (w->error)
		return w->error;
	if (nl > UINT16_MAX || ml > UINT8_MAX)
		return w_fail(w, -ENAMETOOLONG, "symbol name");
	p = bb_reserve(&w->syms, 20 + nl + ml);
	if (!p)
		return w_fail(w, -ENOMEM, "symbols");
	put64(p, sym->addr);
	put64(p + 8, sym->size);
	p[16] = (uint8_t)sym->type;
	p[17] = (uint8_t)ml;
	put16(p + 18, (uint16_t)nl);
	memcpy(p + 20, sym->name, nl);
	if (ml)
		memcpy(p + 20 + nl, sym->module, ml);
	if (w->syms.len >= SPILL_PAYLOAD)
		return w_emit(w, CH_SYMBOLS, &w->syms);
	return 0;
}

int klt_writer_add_stack(struct klt_writer *w, int32_t id, const uint64_t *ips, uint32_t nr)
{
	uint8_t *p;
	uint32_t i;

	if (w->error)
		return w->error;
	if (id < 0 || id >= KLT_MAX_STACK_ID || nr > (CHUNK_MAX_PAYLOAD - 8) / 8)
		return w_fail(w, -EINVAL, "stack");
	if (w->stacks.len + 8 + (size_t)nr * 8 > CHUNK_MAX_PAYLOAD &&
	    w_emit(w, CH_STACKS, &w->stacks))
		return w->error;
	p = bb_reserve(&w->stacks, 8 + (size_t)nr * 8);
	if (!p)
		return w_fail(w, -ENOMEM, "stacks");
	put32(p, (uint32_t)id);
	put32(p + 4, nr);
	for (i = 0; i < nr; i++)
		put64(p + 8 + 8 * (size_t)i, ips[i]);
	if (w->stacks.len >= SPILL_PAYLOAD)
		return w_emit(w, CH_STACKS, &w->stacks);
	return 0;
}

int klt_writer_add_event(struct klt_writer *w, const struct klt_event *ev)
{
	uint8_t *p;
	int err;

	if (w->error)
		return w->error;
	/*
	 * Symbols and stacks added so far must precede this event in the file; the pending events
	 * were added before them, so writing the SYMBOLS/STACKS chunks first keeps every reference
	 * backwards while the events chunk keeps filling.
	 */
	err = w_emit(w, CH_SYMBOLS, &w->syms);
	if (!err)
		err = w_emit(w, CH_STACKS, &w->stacks);
	if (err)
		return err;
	p = bb_reserve(&w->events, EVENT_SIZE);
	if (!p)
		return w_fail(w, -ENOMEM, "events");
	encode_event(p, ev);
	w->total_events++;
	if (++w->nevents_pending == EVENTS_PER_CHUNK)
		return w_emit_events(w);
	return 0;
}

int klt_writer_set_counter(struct klt_writer *w, const char *name, uint64_t value)
{
	size_t i, nl = strlen(name);

	if (w->error)
		return w->error;
	if (nl >= sizeof(w->counters[0].name))
		return -ENAMETOOLONG;
	for (i = 0; i < w->ncounters; i++)
		if (!strcmp(w->counters[i].name, name))
			break;
	if (i == w->ncounters) {
		if (i == KLT_MAX_COUNTERS)
			return -ENOSPC;
		memset(&w->counters[i], 0, sizeof(w->counters[i]));
		memcpy(w->counters[i].name, name, nl);
		w->ncounters++;
	}
	w->counters[i].value = value;
	w->counters_dirty = true;
	return 0;
}

int klt_writer_flush(struct klt_writer *w)
{
	int err = w_emit(w, CH_SYMBOLS, &w->syms);

	if (!err)
		err = w_emit(w, CH_STACKS, &w->stacks);
	if (!err)
		err = w_emit_events(w);
	if (!err)
		err = w_emit_counters(w);
	if (!err)
		err = w_drain(w);
	return err;
}

int klt_writer_close(struct klt_writer *w, struct klt_err *err)
{
	uint8_t end[8];
	int ret;

	if (!w)
		return -EINVAL;
	ret = klt_writer_flush(w);
	if (!ret) {
		put64(end, w->total_events);
		ret = w_chunk(w, CH_END, end, sizeof(end));
	}
	if (!ret)
		ret = w_drain(w);
	if (!ret && fsync(w->fd))
		ret = w_fail(w, -errno, "fsync");
	if (close(w->fd) && !ret)
		ret = w_fail(w, -errno, "close");
	if (ret)
		set_err(err, "%s", w->errmsg);
	w_free(w);
	return ret;
}

int klt_trace_write_file(const char *path, struct klt_trace *t, unsigned flags, struct klt_err *err)
{
	struct klt_writer *w = klt_writer_open(path, &t->info, flags, err);
	size_t i, n = klt_symtab_count(t->syms);
	int ret = 0;

	if (!w)
		return -errno;
	for (i = 0; i < n && !ret; i++)
		ret = klt_writer_add_sym(w, klt_symtab_at(t->syms, i));
	for (i = 0; i < t->nstacks && !ret; i++)
		if (t->stacks[i].nr)
			ret = klt_writer_add_stack(w, (int32_t)i, t->stacks[i].ips, t->stacks[i].nr);
	for (i = 0; i < t->nevents && !ret; i++)
		ret = klt_writer_add_event(w, &t->events[i]);
	for (i = 0; i < t->ncounters && !ret; i++)
		ret = klt_writer_set_counter(w, t->counters[i].name, t->counters[i].value);
	if (ret) {
		/* close reports the sticky error of the writer; keep ours if it had none */
		int cret = klt_writer_close(w, err);

		if (!cret)
			set_err(err, "%s: %s", path, strerror(-ret));
		return ret;
	}
	return klt_writer_close(w, err);
}

/* --- reader --------------------------------------------------------------------------------- */

/* Source of bytes: a memory buffer, or a regular file read chunk by chunk with pread(). */
struct src {
	const uint8_t *buf;
	int fd;
	uint64_t len;
	uint8_t *scratch;
	size_t scap;
};

/* Pointer to n bytes at off, or NULL if the source has fewer (cut off) or on I/O error. */
static const uint8_t *src_get(struct src *s, uint64_t off, size_t n, int *ioerr)
{
	size_t got = 0;

	if (off > s->len || n > s->len - off)
		return NULL;
	if (s->buf)
		return s->buf + off;
	if (!n)
		return (const uint8_t *)""; /* an empty payload is present, not cut off */
	if (n > s->scap) {
		uint8_t *np = realloc(s->scratch, n);

		if (!np) {
			*ioerr = -ENOMEM;
			return NULL;
		}
		s->scratch = np;
		s->scap = n;
	}
	while (got < n) {
		ssize_t r = pread(s->fd, s->scratch + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*ioerr = -errno;
			return NULL;
		}
		if (r == 0)
			return NULL; /* the file shrank under us: same as cut off */
		got += (size_t)r;
	}
	return s->scratch;
}

static void copy_field(char *dst, size_t dlen, const char *v)
{
	size_t l = strnlen(v, dlen - 1);

	memcpy(dst, v, l);
	dst[l] = '\0';
}

static int parse_info(struct klt_trace *t, const uint8_t *p, size_t len)
{
	struct klt_trace_info *in = &t->info;
	size_t i = 0;

	while (i < len) {
		const char *k = (const char *)p + i, *v;
		const uint8_t *z = memchr(p + i, 0, len - i);

		if (!z)
			return -EINVAL;
		i = (size_t)(z - p) + 1;
		z = i < len ? memchr(p + i, 0, len - i) : NULL;
		if (!z)
			return -EINVAL;
		v = (const char *)p + i;
		i = (size_t)(z - p) + 1;
		if (!strcmp(k, "tool"))
			copy_field(in->tool_version, sizeof(in->tool_version), v);
		else if (!strcmp(k, "kernel"))
			copy_field(in->kernel_release, sizeof(in->kernel_release), v);
		else if (!strcmp(k, "machine"))
			copy_field(in->machine, sizeof(in->machine), v);
		else if (!strcmp(k, "hostname"))
			copy_field(in->hostname, sizeof(in->hostname), v);
		else if (!strcmp(k, "clock"))
			copy_field(in->clock, sizeof(in->clock), v);
		else if (!strcmp(k, "attach"))
			copy_field(in->attach_mode, sizeof(in->attach_mode), v);
		else if (!strcmp(k, "start_realtime_ns"))
			in->start_realtime_ns = strtoull(v, NULL, 10);
		/* unknown keys: newer writer, ignore */
	}
	return 0;
}

/* A counted, unterminated name as a C string (strndup would look for a NUL past it). */
static char *bytes_str(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static int parse_symbols(struct klt_trace *t, const uint8_t *p, size_t len)
{
	char *name = NULL, *mod = NULL;
	size_t i;
	int pass, err = 0;

	/* validate everything first: a corrupt chunk must not leave half its records behind */
	for (pass = 0; pass < 2 && !err; pass++) {
		for (i = 0; i < len && !err;) {
			size_t ml, nl;

			if (len - i < 20)
				return -EINVAL;
			ml = p[i + 17];
			nl = get16(p + i + 18);
			if (len - i - 20 < nl + ml || nl == 0)
				return -EINVAL; /* names are never empty */
			if (p[i + 16] != KLT_SYM_FUNC && p[i + 16] != KLT_SYM_DATA &&
			    p[i + 16] != KLT_SYM_CLASS) {
				i += 20 + nl + ml; /* a newer symbol type: skip it */
				continue;
			}
			if (memchr(p + i + 20, '\0', nl + ml))
				return -EINVAL;
			if (pass) {
				name = bytes_str(p + i + 20, nl);
				mod = ml ? bytes_str(p + i + 20 + nl, ml) : NULL;
				if (!name || (ml && !mod))
					err = -ENOMEM;
				else
					err = klt_symtab_add(t->syms, get64(p + i), get64(p + i + 8),
							     (char)p[i + 16], name, mod);
				free(name);
				free(mod);
			}
			i += 20 + nl + ml;
		}
	}
	return err;
}

static int parse_stacks(struct klt_trace *t, const uint8_t *p, size_t len)
{
	uint64_t *ips = NULL;
	size_t i, cap = 0;
	int pass, err = 0;

	for (pass = 0; pass < 2 && !err; pass++) {
		for (i = 0; i < len && !err;) {
			int32_t id;
			uint32_t nr, k;

			if (len - i < 8)
				return -EINVAL;
			id = (int32_t)get32(p + i);
			nr = get32(p + i + 4);
			if (id < 0 || id >= KLT_MAX_STACK_ID || (len - i - 8) / 8 < nr)
				return -EINVAL;
			if (pass) {
				if (nr > cap) {
					uint64_t *n = realloc(ips, (size_t)nr * sizeof(*ips));

					if (!n) {
						err = -ENOMEM;
						break;
					}
					ips = n;
					cap = nr;
				}
				for (k = 0; k < nr; k++)
					ips[k] = get64(p + i + 8 + 8 * (size_t)k);
				err = klt_trace_set_stack(t, id, ips, nr);
			}
			i += 8 + 8 * (size_t)nr;
		}
	}
	free(ips);
	return err;
}

static int parse_events(struct klt_trace *t, const uint8_t *p, size_t len)
{
	struct klt_event ev;
	size_t i;
	int err;

	if (len % EVENT_SIZE)
		return -EINVAL;
	for (i = 0; i < len; i += EVENT_SIZE) {
		decode_event(p + i, &ev);
		err = klt_trace_add_event(t, &ev);
		if (err)
			return err;
	}
	return 0;
}

/* COUNTERS chunks are snapshots: a later value replaces an earlier one of the same name. */
static int parse_counters(struct klt_trace *t, const uint8_t *p, size_t len)
{
	size_t i, pass, fresh = 0;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < len;) {
			size_t nl = p[i], k;
			char name[sizeof(t->counters[0].name)];

			if (len - i - 1 < nl + 8 || nl >= sizeof(name) || nl == 0 ||
			    memchr(p + i + 1, '\0', nl))
				return -EINVAL;
			if (!pass) {
				/* validate first: more names than fit make the chunk malformed,
				 * before anything of it is applied */
				memcpy(name, p + i + 1, nl);
				name[nl] = '\0';
				for (k = 0; k < t->ncounters; k++)
					if (!strcmp(t->counters[k].name, name))
						break;
				if (k == t->ncounters && t->ncounters + ++fresh > KLT_MAX_COUNTERS)
					return -EINVAL;
			}
			if (pass) {
				memcpy(name, p + i + 1, nl);
				name[nl] = '\0';
				for (k = 0; k < t->ncounters; k++)
					if (!strcmp(t->counters[k].name, name))
						break;
				if (k == t->ncounters) {
					if (k == KLT_MAX_COUNTERS)
						return -ENOSPC;
					memset(&t->counters[k], 0, sizeof(t->counters[k]));
					memcpy(t->counters[k].name, name, nl + 1);
					t->ncounters++;
				}
				t->counters[k].value = get64(p + i + 1 + nl);
			}
			i += 1 + nl + 8;
		}
	}
	return 0;
}

/* Reserve room for every event the source could hold: reading never doubles the array. */
static void reserve_events(struct klt_trace *t, uint64_t bytes)
{
	uint64_t want = t->nevents + bytes / EVENT_SIZE;
	struct klt_event *ne;

	if (want <= t->events_cap || want > SIZE_MAX / sizeof(*ne))
		return;
	ne = realloc(t->events, (size_t)want * sizeof(*ne));
	if (ne) {
		t->events = ne;
		t->events_cap = (size_t)want;
	}
}

static int read_src(struct src *s, const char *name, struct klt_trace *t, struct klt_err *err)
{
	uint64_t off, hsize, nchunks = 0;
	size_t ev0 = t->nevents;
	const uint8_t *p;
	const char *why = NULL;
	char whybuf[96], tn[16];
	bool ended = false;
	uint32_t plen = 0;
	int ioerr = 0, ret;

	p = src_get(s, 0, FILE_HDR_SIZE, &ioerr);
	if (!p || memcmp(p, KLT_TRACE_MAGIC, 8)) {
		if (ioerr) {
			set_err(err, "%s: read: %s", name, strerror(-ioerr));
			return ioerr;
		}
		set_err(err, "%s: offset 0: not a kvmlocktrace binary trace (bad magic)", name);
		return -EINVAL;
	}
	hsize = get32(p + 12);
	if (get32(p + 8) != KLT_FORMAT_VERSION) {
		set_err(err, "%s: offset 8: unsupported trace format version %u (this build reads %u)",
			name, get32(p + 8), KLT_FORMAT_VERSION);
		return -ENOTSUP;
	}
	if (hsize < FILE_HDR_SIZE || hsize > s->len) {
		set_err(err, "%s: offset 12: invalid header size %llu", name,
			(unsigned long long)hsize);
		return -EINVAL;
	}
	t->info.format_version = KLT_FORMAT_VERSION;
	reserve_events(t, s->len - hsize);

	for (off = hsize; off < s->len; off += CHUNK_HDR_SIZE + (uint64_t)plen) {
		uint32_t type;
		const uint8_t *pl;

		p = src_get(s, off, CHUNK_HDR_SIZE, &ioerr);
		if (!p) {
			why = "chunk cut off";
			break;
		}
		type = get16(p + 4);
		plen = get32(p + 8);
		if (get32(p) != CHUNK_MAGIC) {
			why = "bad chunk magic";
			break;
		}
		if (plen > CHUNK_MAX_PAYLOAD) {
			snprintf(whybuf, sizeof(whybuf), "oversized %s chunk (%u bytes)",
				 chunk_name(type, tn, sizeof(tn)), plen);
			why = whybuf;
			break;
		}
		{
			uint32_t crc = get32(p + 12);

			pl = src_get(s, off + CHUNK_HDR_SIZE, plen, &ioerr);
			if (!pl) {
				why = "chunk cut off";
				break;
			}
			if ((uint32_t)crc32(0L, pl, plen) != crc) {
				snprintf(whybuf, sizeof(whybuf), "bad checksum in %s chunk",
					 chunk_name(type, tn, sizeof(tn)));
				why = whybuf;
				break;
			}
		}
		switch (type) {
		case CH_INFO:
			ret = parse_info(t, pl, plen);
			break;
		case CH_SYMBOLS:
			ret = parse_symbols(t, pl, plen);
			break;
		case CH_STACKS:
			ret = parse_stacks(t, pl, plen);
			break;
		case CH_EVENTS:
			ret = parse_events(t, pl, plen);
			break;
		case CH_COUNTERS:
			ret = parse_counters(t, pl, plen);
			break;
		case CH_END:
			ret = plen >= 8 ? 0 : -EINVAL;
			break;
		default:
			ret = 0; /* newer chunk type: skip it */
			break;
		}
		if (ret == -ENOMEM || ret == -ENOSPC) {
			set_err(err, "%s: offset %llu: %s chunk: %s", name, (unsigned long long)off,
				chunk_name(type, tn, sizeof(tn)), strerror(-ret));
			return ret;
		}
		if (ret) {
			snprintf(whybuf, sizeof(whybuf), "malformed %s chunk",
				 chunk_name(type, tn, sizeof(tn)));
			why = whybuf;
			break;
		}
		ended = type == CH_END;
		nchunks++;
	}
	if (ioerr) {
		set_err(err, "%s: offset %llu: read: %s", name, (unsigned long long)off,
			strerror(-ioerr));
		return ioerr;
	}
	/* give back what the upfront reservation did not use */
	if (!t->nevents) {
		free(t->events);
		t->events = NULL;
		t->events_cap = 0;
	} else if (t->nevents < t->events_cap) {
		struct klt_event *ne = realloc(t->events, t->nevents * sizeof(*ne));

		if (ne) {
			t->events = ne;
			t->events_cap = t->nevents;
		}
	}
	if (!why && ended)
		return 0;
	if (!why) {
		set_err(err, "%s: offset %llu: no end marker: recording was interrupted; kept %zu "
			"events from %llu complete chunks", name, (unsigned long long)off,
			t->nevents - ev0, (unsigned long long)nchunks);
	} else if (!strncmp(why, "bad checksum", 12)) {
		set_err(err, "%s: offset %llu: %s; kept %zu events from %llu complete chunks", name,
			(unsigned long long)off, why, t->nevents - ev0, (unsigned long long)nchunks);
	} else {
		set_err(err, "%s: offset %llu: %s (%llu bytes lost); kept %zu events from %llu "
			"complete chunks", name, (unsigned long long)off, why,
			(unsigned long long)(s->len - off), t->nevents - ev0,
			(unsigned long long)nchunks);
	}
	/* the loss travels with the trace: every conversion and report of it carries the mark */
	if (klt_trace_add_counter(t, KLT_COUNTER_TRUNCATED, 1) == -ENOSPC)
		t->counters[KLT_MAX_COUNTERS - 1] = (struct klt_counter){ KLT_COUNTER_TRUNCATED, 1 };
	return KLT_TRUNCATED;
}

int klt_trace_read_buf(const void *buf, size_t len, const char *name, struct klt_trace *t,
		       struct klt_err *err)
{
	struct src s = { .buf = buf, .fd = -1, .len = len };

	if (!buf && len)
		return -EINVAL;
	if (!buf)
		s.buf = (const uint8_t *)"";
	return read_src(&s, name, t, err);
}

/*
 * What a file that is not a trace looks like, from its first bytes: a name for the message, or
 * NULL when it may be the text form. *bad_off: the offset of the byte that gave it away, SIZE_MAX
 * for a known file signature. The first SNIFF_BYTES of text have no NUL and no control bytes but
 * tab, newline, carriage return, vertical tab and form feed.
 */
const char *klt_sniff_not_text(const void *buf, size_t n, size_t *bad_off)
{
	const uint8_t *p = buf;

	static const struct {
		const char *magic;
		size_t len;
		const char *what;
	} known[] = {
		{ "\x7f" "ELF", 4, "an ELF file" },
		{ "\x1f\x8b", 2, "gzip data" },
		{ "\x28\xb5\x2f\xfd", 4, "zstd data" },
		{ "\xfd" "7zXZ\0", 6, "xz data" },
		{ "BZh", 3, "bzip2 data" },
		{ "PK\x03\x04", 4, "a zip archive" },
		{ "PERFILE2", 8, "a perf.data file" },
		{ "\x89PNG", 4, "a PNG image" },
		{ "%PDF", 4, "a PDF document" },
	};

	*bad_off = SIZE_MAX;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (n >= known[i].len && !memcmp(p, known[i].magic, known[i].len))
			return known[i].what;
	}
	if (n >= 263 && !memcmp(p + 257, "ustar", 5))
		return "a tar archive";
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\v' &&
		    p[i] != '\f') {
			*bad_off = i;
			return p[i] ? "binary data: a control byte" : "binary data: a NUL byte";
		}
	}
	return NULL;
}

/* read() until n bytes or EOF; bytes read, or -errno. */
static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * The rest of the stream after the first b->len bytes, into b, at most max bytes in all
 * (SIZE_MAX: no limit). -EFBIG when there is more.
 */
static int slurp(int fd, const char *path, struct bbuf *b, size_t max, struct klt_err *err)
{
	for (;;) {
		size_t step = 65536;
		uint8_t *p;
		ssize_t r;

		if (max != SIZE_MAX && step > max + 1 - b->len)
			step = max + 1 - b->len; /* one byte more than allowed tells "too big" */
		p = bb_reserve(b, step);
		if (!p) {
			set_err(err, "%s: read: %s", path, strerror(ENOMEM));
			return -ENOMEM;
		}
		b->len -= step;
		r = read(fd, p, step);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			set_err(err, "%s: read: %s", path, strerror((int)-r));
			return (int)r;
		}
		if (!r)
			return 0;
		b->len += (size_t)r;
		if (b->len > max)
			return -EFBIG;
	}
}

static int too_big(const char *path, struct klt_err *err)
{
	set_err(err, "%s: larger than the %u MiB limit of the text form (split it, or use the "
		"binary form, which has none)", path, (unsigned)(KLT_TEXT_MAX_BYTES >> 20));
	return -EFBIG;
}

#define SNIFF_BYTES 4096

static int read_fd(int fd, const char *path, struct klt_trace *t, struct klt_err *err, bool text_ok)
{
	struct bbuf b = { 0 };
	struct stat st;
	const char *what;
	size_t bad;
	ssize_t r;
	int ret;

	if (fstat(fd, &st)) {
		ret = -errno;
		set_err(err, "%s: stat: %s", path, strerror(-ret));
		return ret;
	}
	if (S_ISDIR(st.st_mode)) {
		set_err(err, "%s: is a directory, not a kvmlocktrace recording", path);
		return -EISDIR;
	}
	/* the first bytes decide what this is, before anything large is read */
	if (!bb_reserve(&b, SNIFF_BYTES)) {
		set_err(err, "%s: read: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	r = read_full(fd, b.p, SNIFF_BYTES);
	if (r < 0) {
		free(b.p);
		set_err(err, "%s: read: %s", path, strerror((int)-r));
		return (int)r;
	}
	b.len = (size_t)r;
	if (b.len >= 8 && !memcmp(b.p, KLT_TRACE_MAGIC, 8)) {
		if (S_ISREG(st.st_mode)) {
			/* streamed: peak memory is the events array plus one chunk */
			struct src s = { .fd = fd, .len = (uint64_t)st.st_size };

			free(b.p);
			ret = read_src(&s, path, t, err);
			free(s.scratch);
			return ret;
		}
		/* a pipe: the binary form has no size limit (every chunk is bounded) */
		ret = slurp(fd, path, &b, SIZE_MAX, err);
		if (!ret)
			ret = klt_trace_read_buf(b.p, b.len, path, t, err);
		free(b.p);
		return ret;
	}
	what = klt_sniff_not_text(b.p, b.len, &bad);
	if (what && bad != SIZE_MAX)
		set_err(err, "%s: offset %zu: not a kvmlocktrace recording (%s)", path, bad, what);
	else if (what)
		set_err(err, "%s: not a kvmlocktrace recording (looks like %s)", path, what);
	if (!what && !text_ok) {
		/* the binary reader's own message for a short file or another magic */
		ret = klt_trace_read_buf(b.p, b.len, path, t, err);
		free(b.p);
		return ret;
	}
	if (what) {
		free(b.p);
		return -EINVAL;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > KLT_TEXT_MAX_BYTES) {
		free(b.p);
		return too_big(path, err);
	}
	ret = slurp(fd, path, &b, KLT_TEXT_MAX_BYTES, err);
	if (ret == -EFBIG)
		ret = too_big(path, err);
	if (!ret)
		ret = klt_text_parse((const char *)b.p, b.len, path, t, err);
	free(b.p);
	return ret;
}

static int open_and_read(const char *path, struct klt_trace *t, struct klt_err *err, bool text_ok)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = -errno;
		set_err(err, "%s: open: %s", path, strerror(-ret));
		return ret;
	}
	ret = read_fd(fd, path, t, err, text_ok);
	close(fd);
	return ret;
}

int klt_trace_read_file(const char *path, struct klt_trace *t, struct klt_err *err)
{
	return open_and_read(path, t, err, false);
}

int klt_trace_load(const char *path, struct klt_trace *t, struct klt_err *err)
{
	return open_and_read(path, t, err, true);
}
