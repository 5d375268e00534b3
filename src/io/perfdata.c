// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * perf.data writer (tools/perf/Documentation/perf.data-file-format.txt, "PERFILE2").
 *
 * Layout: file header | ids of the one event | its attr | data | feature index | features.
 * The data section holds, in file order, COMM records (one per task and name), KSYMBOL records
 * (one per distinct function, written before its first use) and SAMPLE records. The header is
 * rewritten at close, when the data size and the feature sections are known.
 *
 * Why KSYMBOL: perf (machine__process_ksymbol_register, since 5.1) turns each record into a
 * kernel map with one symbol of that name and marks the DSO loaded, so the frames resolve from
 * the file alone: no kallsyms, vmlinux, module, build-id or side file is consulted. Every frame
 * is therefore placed in kernel context (PERF_CONTEXT_KERNEL); user frames keep their
 * "[/path]" suffix in the symbol name. User-space maps have no in-file symbol mechanism: they
 * need a DSO file or /tmp/perf-PID.map on the machine running perf (see docs/report-formats.md).
 *
 * Non-sample records carry a sample_id trailer (attr.sample_id_all). KSYMBOL records and the
 * first COMM of each task have time 0, which perf delivers at once while samples wait in its
 * time-ordered queue: every symbol and task is known before any sample, even when samples
 * arrive out of time order. A later COMM (the task changed its name) has the time of the
 * sample that showed the change, so perf orders it among the samples.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "container.h"
#include "perfdata.h"

#ifndef KLT_VERSION
#define KLT_VERSION "unknown"
#endif

#define PD_MAGIC	   0x32454c4946524550ULL /* "PERFILE2" read as a little-endian u64 */
#define PD_HEADER_SIZE	   104
#define PD_NAME_ALIGN	   64 /* perf_header_string padding (header.c NAME_ALIGN) */
#define PD_EVENT_ID	   1
/* Synthetic code ranges: symbol i owns [PD_KBASE + i * PD_SLOT, +PD_SLOT), up to
 * PD_KBASE + 2^46. Kernel half of the address space so perf's machine__kernel_ip() agrees with
 * the kernel context. */
#define PD_KBASE	   0xffff900000000000ULL
#define PD_SLOT_SHIFT	   24
#define PD_SLOT		   (1ULL << PD_SLOT_SHIFT)
#define PD_MAX_SYMS	   (1u << 22)
#define PD_MAX_FRAMES	   1024 /* keeps a record well below the u16 size limit */
#define PD_MAX_SYM_NAME	   255	/* perf's KSYM_NAME_LEN is 256 with the NUL */
#define PD_COMM_LEN	   15	/* TASK_COMM_LEN - 1, what the kernel would record */

/* Feature bits of tools/perf/util/header.h (stable file ABI). */
enum {
	PD_FEAT_HOSTNAME = 3,
	PD_FEAT_OSRELEASE = 4,
	PD_FEAT_VERSION = 5,
	PD_FEAT_ARCH = 6,
	PD_FEAT_NRCPUS = 7,
	PD_FEAT_CMDLINE = 11,
	PD_FEAT_EVENT_DESC = 12,
	PD_FEAT_SAMPLE_TIME = 21,
};

struct pd_section {
	uint64_t offset, size;
};

struct pd_task {
	uint32_t pid, tid;
	char *comm;
};

struct klt_pd_writer {
	char *path;
	char *event_name;
	char *hostname, *os_release, *cmdline;
	int fd;
	FILE *f;
	dev_t dev;		/* of the file we write, so we only ever remove that one */
	ino_t ino;
	int err;		/* first error, negative errno */
	char errmsg[256];
	uint64_t data_offset, data_size;
	uint32_t max_cpu;
	uint64_t first_time, last_time;
	struct perf_event_attr attr;

	char **syms;		/* symbol names by index (the address slot) */
	size_t sym_cap;
	uint32_t nsyms;
	struct klt_hmap sym_map; /* (hash of name, length) -> index in syms */

	struct pd_task *tasks;	/* tasks seen, in order */
	size_t task_cap, ntasks;
	struct klt_hmap task_map; /* (pid << 32 | tid) -> index in tasks */

	uint64_t nsamples;
	uint64_t *rec;		/* scratch for one sample record */
	uint64_t aux[(PD_MAX_SYM_NAME + 64) / 8]; /* scratch for COMM and KSYMBOL records */
};

static void pd_fail(struct klt_pd_writer *w, int err, const char *fmt, const char *arg)
{
	if (w->err)
		return;
	w->err = err;
	snprintf(w->errmsg, sizeof(w->errmsg), fmt, arg);
}

/* Remove the output, unless its name no longer refers to the file we wrote. */
static void pd_remove(const struct klt_pd_writer *w)
{
	struct stat st;

	if (!lstat(w->path, &st) && st.st_dev == w->dev && st.st_ino == w->ino)
		unlink(w->path);
}

static int pd_write(struct klt_pd_writer *w, const void *buf, size_t len)
{
	if (w->err)
		return w->err;
	if (fwrite(buf, 1, len, w->f) != len) {
		pd_fail(w, errno ? -errno : -EIO, "write failed: %s", strerror(errno ? errno : EIO));
		return w->err;
	}
	w->data_size += len;
	return 0;
}

struct klt_pd_writer *klt_pd_open(const char *path, const char *event_name, bool force, char *err,
				  size_t errlen)
{
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
	struct klt_pd_writer *w;
	uint8_t zero[PD_HEADER_SIZE] = { 0 };

	if (!event_name || !*event_name) {
		snprintf(err, errlen, "perf-data: no event name");
		return NULL;
	}
	if (!path || !*path || !strcmp(path, "-")) {
		snprintf(err, errlen, "%s: perf-data output needs a file (-o FILE): it is rewritten at the end",
			 path && *path ? path : "-");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path)) || !(w->event_name = strdup(event_name)) ||
	    !(w->rec = malloc(sizeof(uint64_t) * (PD_MAX_FRAMES + 16)))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	w->fd = open(path, flags, 0600);
	if (w->fd < 0) {
		if (errno == EEXIST)
			snprintf(err, errlen, "%s: file exists (use --force to overwrite)", path);
		else
			snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		goto fail;
	}
	{
		struct stat st;

		if (fstat(w->fd, &st) || !S_ISREG(st.st_mode)) {
			/* a device or FIFO (e.g. --force onto /dev/null): the header is rewritten at
			 * the end and a failed output is removed, neither of which suits them */
			snprintf(err, errlen, "%s: not a regular file (perf-data needs a seekable file)",
				 path);
			close(w->fd);
			goto fail;
		}
		w->dev = st.st_dev;
		w->ino = st.st_ino;
	}
	w->f = fdopen(w->fd, "w");
	if (!w->f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(w->fd);
		pd_remove(w);
		goto fail;
	}

	w->attr.type = PERF_TYPE_SOFTWARE;
	w->attr.size = sizeof(w->attr);
	w->attr.config = PERF_COUNT_SW_CPU_CLOCK;
	w->attr.sample_period = 1;
	/*
	 * Not a statement about the samples: this is the switch perf report's
	 * report__warn_kptr_restrict() checks before warning that "kernel samples can't be
	 * resolved" because no kernel map was recorded. Here they resolve from the file itself.
	 */
	w->attr.exclude_kernel = 1;
	w->attr.sample_id_all = 1;
	w->attr.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			      PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;

	/* Placeholder header, the event's id, its attr; the data section follows. */
	{
		uint64_t id = PD_EVENT_ID;
		struct pd_section ids = { PD_HEADER_SIZE, sizeof(id) };

		if (pd_write(w, zero, sizeof(zero)) || pd_write(w, &id, sizeof(id)) ||
		    pd_write(w, &w->attr, sizeof(w->attr)) || pd_write(w, &ids, sizeof(ids))) {
			snprintf(err, errlen, "%s: %s", path, w->errmsg);
			fclose(w->f);
			pd_remove(w);
			goto fail;
		}
	}
	w->data_offset = w->data_size;
	w->data_size = 0;
	return w;
fail:
	if (w) {
		free(w->rec);
		free(w->event_name);
		free(w->path);
		free(w);
	}
	return NULL;
}

int klt_pd_set_meta(struct klt_pd_writer *w, const char *hostname, const char *os_release,
		    const char *cmdline)
{
	char *h = hostname ? strdup(hostname) : NULL, *o = os_release ? strdup(os_release) : NULL;
	char *c = cmdline ? strdup(cmdline) : NULL;

	if ((hostname && !h) || (os_release && !o) || (cmdline && !c)) {
		free(h);
		free(o);
		free(c);
		return -ENOMEM;
	}
	free(w->hostname);
	free(w->os_release);
	free(w->cmdline);
	w->hostname = h;
	w->os_release = o;
	w->cmdline = c;
	return 0;
}

/* sample_id trailer of a non-sample record, in sample_type order: pid/tid, time, cpu. */
static size_t pd_put_id(uint8_t *p, uint32_t pid, uint32_t tid, uint64_t time, uint32_t cpu)
{
	uint64_t id[3] = { (uint64_t)tid << 32 | pid, time, cpu };

	memcpy(p, id, sizeof(id));
	return sizeof(id);
}

static int pd_write_ksymbol(struct klt_pd_writer *w, uint64_t addr, const char *name, size_t n)
{
	size_t body = (8 + 8 + 4 + 2 + 2 + n + 1 + 7) & ~(size_t)7, size = body + 24;
	uint8_t *p = (uint8_t *)w->aux;
	struct perf_event_header h = { PERF_RECORD_KSYMBOL, 0, (uint16_t)size };
	uint32_t len = (uint32_t)PD_SLOT;
	uint16_t type = PERF_RECORD_KSYMBOL_TYPE_UNKNOWN, flags = 0;

	memset(p, 0, size);
	memcpy(p, &h, 8);
	memcpy(p + 8, &addr, 8);
	memcpy(p + 16, &len, 4);
	memcpy(p + 20, &type, 2);
	memcpy(p + 22, &flags, 2);
	memcpy(p + 24, name, n);
	pd_put_id(p + body, 0, 0, 0, 0);
	return pd_write(w, p, size);
}

/*
 * Split "func+0xoff [module]" into the symbol name "func [module]" (in @buf) and the offset.
 * Text without a "+0x<hex>" part (raw addresses, "lock:NAME", "[unknown]"), or whose offset
 * does not fit a symbol's range (e.g. "prog+0x1a2b3c4d", relative to a whole binary), is a
 * name as is, at offset 0.
 */
static size_t pd_parse_frame(const char *text, char *buf, size_t buflen, uint64_t *off)
{
	size_t len = strlen(text), base = len, n;
	const char *mod = NULL, *plus = NULL;

	*off = 0;
	if (len > 2 && text[len - 1] == ']') {
		const char *b = NULL;

		for (const char *q = text; (q = strstr(q, " [")); q++)
			b = q;
		if (b && b > text) {
			mod = b;
			base = (size_t)(b - text);
		}
	}
	for (size_t i = base; i-- > 0;) {
		if (text[i] == '+') {
			plus = text + i;
			break;
		}
	}
	if (plus && plus > text && plus[1] == '0' && plus[2] == 'x' && plus + 3 < text + base) {
		uint64_t v = 0;
		const char *q = plus + 3;

		for (; q < text + base; q++) {
			int d = (*q >= '0' && *q <= '9')   ? *q - '0'
				: (*q >= 'a' && *q <= 'f') ? *q - 'a' + 10
				: (*q >= 'A' && *q <= 'F') ? *q - 'A' + 10
							   : -1;
			if (d < 0 || v >> 60)
				break;
			v = v << 4 | (uint64_t)d;
		}
		if (q == text + base && v < PD_SLOT) {
			*off = v;
			base = (size_t)(plus - text);
		}
	}
	if (!mod && base == len) {
		n = len;
		if (n > buflen - 1)
			n = buflen - 1;
		memcpy(buf, text, n);
	} else {
		size_t ml = mod ? strlen(mod) : 0;

		n = base + ml;
		if (n > buflen - 1) {
			/* keep the module suffix, shorten the function name */
			if (ml > buflen / 2)
				ml = 0;
			base = buflen - 1 - ml;
			n = base + ml;
		}
		memcpy(buf, text, base);
		if (ml)
			memcpy(buf + base, mod, ml);
	}
	buf[n] = '\0';
	return n;
}

struct pd_name_key {
	char *const *syms;
	const char *name;
};

static bool pd_name_eq(const void *ctx, uint32_t idx)
{
	const struct pd_name_key *k = ctx;

	return !strcmp(k->syms[idx], k->name);
}

/* Address of a frame: its symbol's range (KSYMBOL written on first use) plus the offset. */
static int pd_frame_addr(struct klt_pd_writer *w, const char *text, uint64_t *addr)
{
	char name[PD_MAX_SYM_NAME + 1];
	uint64_t off, h;
	size_t n = pd_parse_frame(text ? text : "[unknown]", name, sizeof(name), &off);
	struct pd_name_key k = { w->syms, name };
	uint32_t idx;
	int err;

	h = klt_fnv1a64(name, n);
	idx = klt_hmap_find_eq(&w->sym_map, h, (uint32_t)n, pd_name_eq, &k);
	if (idx != KLT_NIL) {
		*addr = PD_KBASE + ((uint64_t)idx << PD_SLOT_SHIFT) + off;
		return 0;
	}
	if (w->nsyms >= PD_MAX_SYMS)
		return -E2BIG;
	if (klt_hmap_reserve(&w->sym_map, 1) ||
	    klt_vec_reserve((void **)&w->syms, &w->sym_cap, w->nsyms + 1, sizeof(*w->syms)) ||
	    !(w->syms[w->nsyms] = strdup(name)))
		return -ENOMEM;
	idx = w->nsyms++;
	klt_hmap_put(&w->sym_map, h, (uint32_t)n, idx);
	*addr = PD_KBASE + ((uint64_t)idx << PD_SLOT_SHIFT);
	err = pd_write_ksymbol(w, *addr, name, n);
	*addr += off;
	return err;
}

/* PERF_RECORD_COMM the first time a task is seen and whenever its name changes. */
static int pd_task(struct klt_pd_writer *w, uint32_t pid, uint32_t tid, const char *comm,
		   uint64_t time, uint32_t cpu)
{
	char name[PD_COMM_LEN + 1];
	size_t n, size, body;
	bool renamed;
	struct pd_task *t;
	uint64_t key = (uint64_t)pid << 32 | tid;
	uint32_t j;
	uint8_t *p = (uint8_t *)w->aux;
	struct perf_event_header h = { PERF_RECORD_COMM, 0, 0 };

	if (!comm || !*comm)
		return 0; /* no COMM: perf names the task ":<tid>" */
	snprintf(name, sizeof(name), "%s", comm);
	n = strlen(name);
	j = klt_hmap_find(&w->task_map, key, 0);
	renamed = j != KLT_NIL;
	if (renamed && !strcmp(w->tasks[j].comm, name))
		return 0;
	if (!renamed) {
		if (klt_hmap_reserve(&w->task_map, 1) ||
		    klt_vec_reserve((void **)&w->tasks, &w->task_cap, w->ntasks + 1,
				    sizeof(*w->tasks)))
			return -ENOMEM;
		j = (uint32_t)w->ntasks++;
		w->tasks[j] = (struct pd_task){ pid, tid, NULL };
		klt_hmap_put(&w->task_map, key, 0, j);
	}
	t = &w->tasks[j];
	free(t->comm);
	if (!(t->comm = strdup(name)))
		return -ENOMEM;
	body = (8 + 8 + n + 1 + 7) & ~(size_t)7;
	size = body + 24;
	h.size = (uint16_t)size;
	memset(p, 0, size);
	memcpy(p, &h, 8);
	memcpy(p + 8, &pid, 4);
	memcpy(p + 12, &tid, 4);
	memcpy(p + 16, name, n);
	/* time 0 (delivered at once) unless this is a rename: see the top comment */
	pd_put_id(p + body, pid, tid, renamed ? time : 0, cpu);
	return pd_write(w, p, size);
}

int klt_pd_add(struct klt_pd_writer *w, const struct klt_pd_sample *s)
{
	static const char *const no_stack[] = { "[no stack]" };
	unsigned nf = s->nframes > PD_MAX_FRAMES ? PD_MAX_FRAMES : s->nframes;
	const char *const *frames = s->frames;
	uint64_t *r = w->rec;
	struct perf_event_header h = { PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL, 0 };
	size_t i = 0;
	int err;

	if (w->err)
		return w->err;
	if (nf && !frames) {
		pd_fail(w, -EINVAL, "%s", "sample with frames but no frame names");
		return w->err;
	}
	if (!nf) { /* perf would show "[unknown] 0000000000000000" */
		frames = no_stack;
		nf = 1;
	}
	err = pd_task(w, s->pid, s->tid, s->comm, s->time, s->cpu);
	if (err) {
		pd_fail(w, err, "%s", strerror(-err));
		return err;
	}
	/* Symbols first (they may write KSYMBOL records), then the sample into the scratch. */
	for (unsigned k = 0; k < nf; k++) {
		err = pd_frame_addr(w, frames[k], &r[8 + k]);
		if (err) {
			pd_fail(w, err, err == -E2BIG ? "more than %s distinct frame names" : "%s",
				err == -E2BIG ? "4194304" : strerror(-err));
			return err;
		}
	}
	i++;		   /* header, written below */
	r[i++] = r[8];	   /* ip: the innermost frame */
	r[i++] = (uint64_t)s->tid << 32 | s->pid;
	r[i++] = s->time;
	r[i++] = s->cpu;   /* cpu, res */
	r[i++] = s->period;
	r[i++] = nf + 1;   /* callchain: context marker, then the frames already at r[8..] */
	r[i++] = PERF_CONTEXT_KERNEL;
	i += nf;
	h.size = (uint16_t)(i * 8);
	memcpy(&r[0], &h, 8);
	if (s->cpu > w->max_cpu)
		w->max_cpu = s->cpu;
	if (!w->nsamples || s->time < w->first_time)
		w->first_time = s->time;
	if (!w->nsamples || s->time > w->last_time)
		w->last_time = s->time;
	w->nsamples++;
	return pd_write(w, r, i * 8);
}

/* perf_header_string: u32 length including NUL and padding to 64, then the bytes. */
static int pd_put_string(struct klt_pd_writer *w, const char *s)
{
	uint32_t len = (uint32_t)((strlen(s) + 1 + PD_NAME_ALIGN - 1) / PD_NAME_ALIGN * PD_NAME_ALIGN);
	char *buf = calloc(1, len);
	int err;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, s, strlen(s));
	err = pd_write(w, &len, sizeof(len));
	if (!err)
		err = pd_write(w, buf, len);
	free(buf);
	return err;
}

static int pd_put_feature(struct klt_pd_writer *w, int feat, const char *str)
{
	struct utsname u;

	switch (feat) {
	case PD_FEAT_HOSTNAME:
		return pd_put_string(w, w->hostname);
	case PD_FEAT_OSRELEASE:
		return pd_put_string(w, w->os_release);
	case PD_FEAT_VERSION:
		return pd_put_string(w, "kvmlocktrace " KLT_VERSION);
	case PD_FEAT_ARCH:
		return pd_put_string(w, uname(&u) ? "x86_64" : u.machine);
	case PD_FEAT_NRCPUS: {
		uint32_t n[2] = { w->max_cpu + 1, w->max_cpu + 1 };

		return pd_write(w, n, sizeof(n));
	}
	case PD_FEAT_CMDLINE: {
		uint32_t one = 1;
		int err = pd_write(w, &one, sizeof(one));

		return err ? err : pd_put_string(w, str);
	}
	case PD_FEAT_EVENT_DESC: {
		uint32_t hdr[2] = { 1, sizeof(w->attr) }, nr_ids = 1;
		uint64_t id = PD_EVENT_ID;
		int err = pd_write(w, hdr, sizeof(hdr));

		if (!err)
			err = pd_write(w, &w->attr, sizeof(w->attr));
		if (!err)
			err = pd_write(w, &nr_ids, sizeof(nr_ids));
		if (!err)
			err = pd_put_string(w, w->event_name);
		return err ? err : pd_write(w, &id, sizeof(id));
	}
	case PD_FEAT_SAMPLE_TIME: {
		uint64_t t[2] = { w->first_time, w->last_time };

		return pd_write(w, t, sizeof(t));
	}
	}
	return -EINVAL;
}

static void pd_free(struct klt_pd_writer *w)
{
	for (size_t i = 0; i < w->nsyms; i++)
		free(w->syms[i]);
	for (size_t i = 0; i < w->ntasks; i++)
		free(w->tasks[i].comm);
	free(w->syms);
	free(w->tasks);
	klt_hmap_free(&w->sym_map);
	klt_hmap_free(&w->task_map);
	free(w->rec);
	free(w->hostname);
	free(w->os_release);
	free(w->cmdline);
	free(w->event_name);
	free(w->path);
	free(w);
}

void klt_pd_discard(struct klt_pd_writer *w)
{
	if (!w)
		return;
	fclose(w->f);
	pd_remove(w);
	pd_free(w);
}

void klt_pd_get_stats(const struct klt_pd_writer *w, struct klt_pd_stats *st)
{
	st->samples = w->nsamples;
	st->symbols = w->nsyms;
	st->tasks = w->ntasks;
	st->bytes = w->data_offset + w->data_size;
}

int klt_pd_close(struct klt_pd_writer *w, char *err, size_t errlen)
{
	const int feats[] = { PD_FEAT_HOSTNAME, PD_FEAT_OSRELEASE, PD_FEAT_VERSION, PD_FEAT_ARCH,
			      PD_FEAT_NRCPUS,	PD_FEAT_CMDLINE,   PD_FEAT_EVENT_DESC,
			      PD_FEAT_SAMPLE_TIME };
	struct pd_section sec[sizeof(feats) / sizeof(feats[0])] = { { 0, 0 } };
	uint64_t hdr[PD_HEADER_SIZE / 8] = { 0 }, data_size, pos;
	unsigned nfeat = 0;
	int rc;

	if (!w)
		return -EINVAL;
	if (!w->err && !w->nsamples)
		/* perf refuses a file without samples ("data file has no samples") */
		pd_fail(w, -ENODATA, "%s", "no samples to write (perf cannot open an empty file)");
	data_size = w->data_size;
	pos = w->data_offset + data_size;

	/* Feature index (one section per set bit, in bit order), then the feature bodies. */
	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
		if ((feats[i] == PD_FEAT_HOSTNAME && !w->hostname) ||
		    (feats[i] == PD_FEAT_OSRELEASE && !w->os_release))
			continue;
		hdr[9 + feats[i] / 64] |= 1ULL << (feats[i] % 64);
		nfeat++;
	}
	if (!w->err) {
		uint64_t body = pos + nfeat * sizeof(struct pd_section);
		unsigned k = 0;

		if (fseeko(w->f, (off_t)body, SEEK_SET))
			pd_fail(w, -errno, "seek failed: %s", strerror(errno));
		for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]) && !w->err; i++) {
			uint64_t before = w->data_size;

			if (!(hdr[9 + feats[i] / 64] & (1ULL << (feats[i] % 64))))
				continue;
			rc = pd_put_feature(w, feats[i], w->cmdline ? w->cmdline : "kvmlocktrace");
			if (rc)
				pd_fail(w, rc, "%s", strerror(-rc));
			sec[k].offset = body;
			sec[k].size = w->data_size - before;
			body += sec[k++].size;
		}
	}
	if (!w->err) {
		hdr[0] = PD_MAGIC;
		hdr[1] = PD_HEADER_SIZE;
		hdr[2] = sizeof(w->attr) + sizeof(struct pd_section); /* attr_size */
		hdr[3] = PD_HEADER_SIZE + 8;			      /* attrs.offset */
		hdr[4] = hdr[2];				      /* attrs.size */
		hdr[5] = w->data_offset;
		hdr[6] = data_size;
		/* hdr[7], hdr[8]: event_types, unused since perf 3.x */
		if (fseeko(w->f, (off_t)pos, SEEK_SET) ||
		    fwrite(sec, sizeof(sec[0]), nfeat, w->f) != nfeat || fseeko(w->f, 0, SEEK_SET) ||
		    fwrite(hdr, sizeof(hdr), 1, w->f) != 1)
			pd_fail(w, errno ? -errno : -EIO, "write failed: %s",
				strerror(errno ? errno : EIO));
	}
	if (fclose(w->f) && !w->err)
		pd_fail(w, errno ? -errno : -EIO, "write failed: %s", strerror(errno ? errno : EIO));
	rc = w->err;
	if (rc) {
		snprintf(err, errlen, "%s: %s", w->path, w->errmsg);
		pd_remove(w);
	}
	pd_free(w);
	return rc;
}
