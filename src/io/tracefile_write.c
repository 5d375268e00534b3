// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writer of the binary trace file (tracefile.h, docs/trace-format.md): chunks are serialized
 * into a buffer and written in large blocks; symbols and stacks are emitted before the first
 * event that may refer to them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "iobuf.h"
#include "trace.h"
#include "tracefile.h"
#include "traceio.h"

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
		klt_set_err(err, "%s: open: %s", path, strerror(ENOMEM));
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->flags = flags;
	w->fd = open(path, oflags, 0600);
	if (w->fd < 0) {
		ret = errno;
		if (ret == ELOOP)
			klt_set_err(err, "%s: open: %s (refusing to follow a symbolic link)", path,
				    strerror(ret));
		else if (ret == EEXIST)
			klt_set_err(err, "%s: open: %s (use --force to overwrite)", path, strerror(ret));
		else
			klt_set_err(err, "%s: open: %s", path, strerror(ret));
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
		klt_set_err(err, "%s", w->errmsg);
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
	struct klt_counter *c;
	size_t nl = strlen(name);

	if (w->error)
		return w->error;
	if (nl >= sizeof(w->counters[0].name))
		return -ENAMETOOLONG;
	c = klt_counter_get(w->counters, &w->ncounters, name);
	if (!c)
		return -ENOSPC;
	c->value = value;
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
		klt_set_err(err, "%s", w->errmsg);
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
			klt_set_err(err, "%s: %s", path, strerror(-ret));
		return ret;
	}
	return klt_writer_close(w, err);
}
