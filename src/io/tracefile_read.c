// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reader of the binary trace file (tracefile.h, docs/trace-format.md): from a buffer, or from a
 * regular file chunk by chunk. Every complete chunk is kept; the first damaged one ends the read
 * and the loss is told (KLT_TRUNCATED) and marked in the trace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "iobuf.h"
#include "trace.h"
#include "tracefile.h"
#include "traceio.h"

static const char *chunk_name(unsigned type, char *buf, size_t len)
{
	static const char *const names[] = { NULL, "INFO", "SYMBOLS", "STACKS",
					     "EVENTS", "COUNTERS", "END" };

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	snprintf(buf, len, "type-%u", type);
	return buf;
}

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
			size_t nl = p[i];
			char name[sizeof(t->counters[0].name)];

			if (len - i - 1 < nl + 8 || nl >= sizeof(name) || nl == 0 ||
			    memchr(p + i + 1, '\0', nl))
				return -EINVAL;
			memcpy(name, p + i + 1, nl);
			name[nl] = '\0';
			if (!pass) {
				/* validate first: more names than fit make the chunk malformed,
				 * before anything of it is applied */
				if (klt_counter_find(t->counters, t->ncounters, name) == t->ncounters &&
				    t->ncounters + ++fresh > KLT_MAX_COUNTERS)
					return -EINVAL;
			} else {
				struct klt_counter *c = klt_counter_get(t->counters, &t->ncounters, name);

				if (!c)
					return -ENOSPC;
				c->value = get64(p + i + 1 + nl);
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

/* The file header: 0 and *hsize, or an error (err set). */
static int read_header(struct src *s, const char *name, struct klt_trace *t, struct klt_err *err,
		       uint64_t *hsize)
{
	int ioerr = 0;
	const uint8_t *p = src_get(s, 0, FILE_HDR_SIZE, &ioerr);

	if (!p || memcmp(p, KLT_TRACE_MAGIC, 8)) {
		if (ioerr) {
			klt_set_err(err, "%s: read: %s", name, strerror(-ioerr));
			return ioerr;
		}
		klt_set_err(err, "%s: offset 0: not a kvmlocktrace binary trace (bad magic)", name);
		return -EINVAL;
	}
	*hsize = get32(p + 12);
	if (get32(p + 8) != KLT_FORMAT_VERSION) {
		klt_set_err(err, "%s: offset 8: unsupported trace format version %u (this build reads %u)",
			    name, get32(p + 8), KLT_FORMAT_VERSION);
		return -ENOTSUP;
	}
	if (*hsize < FILE_HDR_SIZE || *hsize > s->len) {
		klt_set_err(err, "%s: offset 12: invalid header size %llu", name,
			    (unsigned long long)*hsize);
		return -EINVAL;
	}
	t->info.format_version = KLT_FORMAT_VERSION;
	return 0;
}

/* One read of the chunks: where it is, and why it stopped before the end marker. */
struct rd {
	struct src *s;
	uint64_t off, nchunks;
	const char *why; /* NULL: not stopped (yet) */
	char whybuf[96];
	bool ended;	 /* the last chunk read was the end marker */
	int ioerr;
};

static void rd_stop(struct rd *r, const char *fmt, uint32_t type)
{
	char tn[16];

	snprintf(r->whybuf, sizeof(r->whybuf), fmt, chunk_name(type, tn, sizeof(tn)));
	r->why = r->whybuf;
}

/* The payload of the chunk at r->off, its magic, size and checksum checked; NULL: r->why says. */
static const uint8_t *read_chunk(struct rd *r, uint32_t *type, uint32_t *plen)
{
	const uint8_t *p = src_get(r->s, r->off, CHUNK_HDR_SIZE, &r->ioerr), *pl;
	char tn[16];
	uint32_t crc;

	if (!p) {
		r->why = "chunk cut off";
		return NULL;
	}
	*type = get16(p + 4);
	*plen = get32(p + 8);
	if (get32(p) != CHUNK_MAGIC) {
		r->why = "bad chunk magic";
		return NULL;
	}
	if (*plen > CHUNK_MAX_PAYLOAD) {
		snprintf(r->whybuf, sizeof(r->whybuf), "oversized %s chunk (%u bytes)",
			 chunk_name(*type, tn, sizeof(tn)), *plen);
		r->why = r->whybuf;
		return NULL;
	}
	crc = get32(p + 12);
	pl = src_get(r->s, r->off + CHUNK_HDR_SIZE, *plen, &r->ioerr);
	if (!pl) {
		r->why = "chunk cut off";
		return NULL;
	}
	if ((uint32_t)crc32(0L, pl, *plen) != crc) {
		rd_stop(r, "bad checksum in %s chunk", *type);
		return NULL;
	}
	return pl;
}

static int parse_chunk(struct klt_trace *t, uint32_t type, const uint8_t *pl, uint32_t plen)
{
	switch (type) {
	case CH_INFO:
		return parse_info(t, pl, plen);
	case CH_SYMBOLS:
		return parse_symbols(t, pl, plen);
	case CH_STACKS:
		return parse_stacks(t, pl, plen);
	case CH_EVENTS:
		return parse_events(t, pl, plen);
	case CH_COUNTERS:
		return parse_counters(t, pl, plen);
	case CH_END:
		return plen >= 8 ? 0 : -EINVAL;
	default:
		return 0; /* newer chunk type: skip it */
	}
}

/* Give back what the upfront reservation of reserve_events() did not use. */
static void trim_events(struct klt_trace *t)
{
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
}

/* A read that stopped before the end marker: say what was lost, mark the trace truncated. */
static int read_truncated(const struct rd *r, const char *name, struct klt_trace *t, size_t ev0,
			  struct klt_err *err)
{
	unsigned long long off = r->off, nchunks = r->nchunks;

	if (!r->why) {
		klt_set_err(err, "%s: offset %llu: no end marker: recording was interrupted; kept "
			    "%zu events from %llu complete chunks", name, off, t->nevents - ev0, nchunks);
	} else if (!strncmp(r->why, "bad checksum", 12)) {
		klt_set_err(err, "%s: offset %llu: %s; kept %zu events from %llu complete chunks",
			    name, off, r->why, t->nevents - ev0, nchunks);
	} else {
		klt_set_err(err, "%s: offset %llu: %s (%llu bytes lost); kept %zu events from %llu "
			    "complete chunks", name, off, r->why,
			    (unsigned long long)(r->s->len - r->off), t->nevents - ev0, nchunks);
	}
	/* the loss travels with the trace: every conversion and report of it carries the mark */
	if (klt_trace_add_counter(t, KLT_COUNTER_TRUNCATED, 1) == -ENOSPC)
		t->counters[KLT_MAX_COUNTERS - 1] = (struct klt_counter){ KLT_COUNTER_TRUNCATED, 1 };
	return KLT_TRUNCATED;
}

static int read_src(struct src *s, const char *name, struct klt_trace *t, struct klt_err *err)
{
	struct rd r = { .s = s };
	size_t ev0 = t->nevents;
	uint64_t hsize;
	uint32_t type, plen = 0;
	char tn[16];
	int ret = read_header(s, name, t, err, &hsize);

	if (ret)
		return ret;
	reserve_events(t, s->len - hsize);
	for (r.off = hsize; r.off < s->len; r.off += CHUNK_HDR_SIZE + (uint64_t)plen) {
		const uint8_t *pl = read_chunk(&r, &type, &plen);

		if (!pl)
			break;
		ret = parse_chunk(t, type, pl, plen);
		if (ret == -ENOMEM || ret == -ENOSPC) {
			klt_set_err(err, "%s: offset %llu: %s chunk: %s", name,
				    (unsigned long long)r.off, chunk_name(type, tn, sizeof(tn)),
				    strerror(-ret));
			return ret;
		}
		if (ret) {
			rd_stop(&r, "malformed %s chunk", type);
			break;
		}
		r.ended = type == CH_END;
		r.nchunks++;
	}
	if (r.ioerr) {
		klt_set_err(err, "%s: offset %llu: read: %s", name, (unsigned long long)r.off,
			    strerror(-r.ioerr));
		return r.ioerr;
	}
	trim_events(t);
	if (!r.why && r.ended)
		return 0;
	return read_truncated(&r, name, t, ev0, err);
}

/* The binary form from a regular file of len bytes, read chunk by chunk (tracefile.h). */
int klt_trace_read_stream(int fd, uint64_t len, const char *name, struct klt_trace *t,
			  struct klt_err *err)
{
	struct src s = { .fd = fd, .len = len };
	int ret = read_src(&s, name, t, err);

	free(s.scratch);
	return ret;
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
