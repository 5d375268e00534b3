// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exports for the profiling ecosystem, read from the sample model (samples.h) and the lock-time
 * statistics (stats.h): the stats table, folded stacks, `perf script` text and Trace Event JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "perfdata.h"
#include "render.h"
#include "render_priv.h"
#include "samples.h"

#define NAME_LEN 256

/* --- stats table ---------------------------------------------------------------------------- */

/* ns in at most 8 characters: "999ns", "12.3us", "123us", "1.23ms", "12.3s", "-" if none */
static const char *fmt_ns(char *buf, size_t len, uint64_t ns, bool have)
{
	static const struct { uint64_t div; const char *unit; } u[] = {
		{ 1000000000ull, "s" }, { 1000000ull, "ms" }, { 1000ull, "us" },
	};

	if (!have) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (ns < 1000) {
		snprintf(buf, len, "%" PRIu64 "ns", ns);
		return buf;
	}
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		double x = (double)ns / (double)u[i].div;

		if (ns < u[i].div && i + 1 < sizeof(u) / sizeof(u[0]))
			continue;
		if (x >= 1000 && i == 0)
			snprintf(buf, len, "%.0f%s", x, u[i].unit);
		else if (x >= 100)
			snprintf(buf, len, "%.0f%s", x, u[i].unit);
		else if (x >= 10)
			snprintf(buf, len, "%.1f%s", x, u[i].unit);
		else
			snprintf(buf, len, "%.2f%s", x, u[i].unit);
		return buf;
	}
	return buf;
}

/* Fit s into width columns: keep the head, mark the cut with '~'. */
static const char *fit(char *buf, size_t len, const char *s, size_t width)
{
	size_t n = strlen(s);

	if (n <= width) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	snprintf(buf, len, "%.*s~", (int)(width - 1), s);
	return buf;
}

static const char *stat_name(const struct klt_view *v, const struct klt_stat *e, char *buf,
			     size_t len)
{
	struct klt_acq a = { .lock = e->lock, .class_id = e->class_id, .kind = e->kind };

	return klt_acq_lock_name(v, &a, buf, len);
}

#define W_NAME 26
static int stats_row(FILE *f, const char *name, const struct klt_stat *e)
{
	char nb[W_NAME + 2], t[4][24], esc[4 * NAME_LEN + 8];

	/* escaped before it is cut: no terminal escape or line break from a recording */
	fit(nb, sizeof(nb), klt_render_esc(name, esc, sizeof(esc)), W_NAME);
	fmt_ns(t[0], sizeof(t[0]), e->wait.count ? e->wait.total / e->wait.count : 0,
	       e->wait.count);
	fmt_ns(t[1], sizeof(t[1]), e->wait.max, e->wait.count);
	fmt_ns(t[2], sizeof(t[2]), e->hold.count ? e->hold.total / e->hold.count : 0,
	       e->hold.count);
	fmt_ns(t[3], sizeof(t[3]), e->hold.max, e->hold.count);
	return fprintf(f, "%-*s %7" PRIu64 " %5" PRIu64 " %9s %9s %9s %9s\n", W_NAME, nb,
		       e->acquisitions, e->contended, t[0], t[1], t[2], t[3]) < 0 ? -EIO : 0;
}

static void hist(FILE *f, const char *title, const struct klt_metric *m)
{
	unsigned lo = KLT_HIST_BUCKETS, hi = 0;
	uint64_t peak = 0;

	for (unsigned i = 0; i < KLT_HIST_BUCKETS; i++) {
		if (!klt_metric_bucket(m, i))
			continue;
		if (i < lo)
			lo = i;
		hi = i;
		if (klt_metric_bucket(m, i) > peak)
			peak = klt_metric_bucket(m, i);
	}
	if (!m->count)
		return;
	fprintf(f, "  %s (ns): count %" PRIu64 ", total %" PRIu64 ", max %" PRIu64 "\n", title,
		m->count, m->total, m->max);
	fprintf(f, "  %24s : %-8s %s\n", "ns", "count", "distribution");
	for (unsigned i = lo; i <= hi; i++) {
		int stars = (int)(klt_metric_bucket(m, i) * 38 / peak);

		fprintf(f, "  %11" PRIu64 " -> %-10" PRIu64 " : %-8" PRIu64 " |%-38.*s|\n",
			klt_hist_lo(i), klt_hist_hi(i), klt_metric_bucket(m, i), stars,
			"**************************************");
	}
}

struct srank {
	uint64_t ckey;
	size_t rank;
};

static int cmp_srank(const void *a, const void *b)
{
	const struct srank *x = a, *y = b;

	if (x->ckey != y->ckey)
		return x->ckey < y->ckey ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

int klt_render_stats(FILE *f, const struct klt_view *v, const struct klt_stats_opts *o)
{
	const struct klt_stats *s = v->stats;
	size_t *ci = NULL, *si = NULL;
	struct srank *sk = NULL;
	char name[NAME_LEN], row[NAME_LEN + 8];
	uint64_t nacq = 0;
	size_t shown;
	int err = 0;

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < s->nclasses; i++)
		nacq += s->classes[i].acquisitions;
	if (!s->nacqs) {
		fprintf(f, "No acquisitions in this recording: live recordings carry them with "
			   "--full-events (or for watched locks).\n");
		return ferror(f) ? -EIO : 0;
	}
	/* orders as indices (the entries are large: copying them cost more than the report) */
	ci = malloc((s->nclasses + 1) * sizeof(*ci));
	si = malloc((s->nstacks + 1) * sizeof(*si));
	sk = malloc((s->nstacks + 1) * sizeof(*sk));
	if (!ci || !si || !sk || klt_stats_order(s->classes, s->nclasses, o->sort, ci) ||
	    klt_stats_order(s->stacks, s->nstacks, o->sort, si)) {
		err = -ENOMEM;
		goto out;
	}
	/* the stacks grouped by class, each group in the sort order: (ckey, rank) */
	for (size_t r = 0; r < s->nstacks; r++)
		sk[r] = (struct srank){ .ckey = s->stacks[si[r]].ckey, .rank = r };
	qsort(sk, s->nstacks, sizeof(*sk), cmp_srank);
	shown = o->top && o->top < s->nclasses ? o->top : s->nclasses;
	fprintf(f, "Lock statistics: %zu classes, %" PRIu64 " acquisitions, by %s (%zu shown)\n",
		s->nclasses, nacq, klt_stats_key_name(o->sort), shown);
	fprintf(f, "%-*s %7s %5s %9s %9s %9s %9s\n", W_NAME, "lock class", "acq", "cont",
		"avg wait", "max wait", "avg hold", "max hold");
	for (size_t i = 0; i < shown && !err; i++) {
		const struct klt_stat *c = &s->classes[ci[i]];
		unsigned rows = 0;
		size_t lo = 0, hi = s->nstacks;

		stat_name(v, c, name, sizeof(name));
		err = stats_row(f, name, c);
		while (lo < hi) {
			size_t m = lo + (hi - lo) / 2;

			if (sk[m].ckey < c->ckey)
				lo = m + 1;
			else
				hi = m;
		}
		/* the class's acquisition sites, in the same order */
		for (size_t q = lo; q < s->nstacks && sk[q].ckey == c->ckey && rows < o->stack_rows &&
				    !err; q++) {
			const struct klt_stat *e = &s->stacks[si[sk[q].rank]];
			char site[NAME_LEN];
			const struct klt_stack *st;
			uint64_t ip = e->ip;

			/* the caller: the call site, else the stack's outermost-but-lock frame */
			st = e->stack_id >= 0 && v->trace ? klt_trace_stack(v->trace, e->stack_id) : NULL;
			if (!ip && st && st->nr)
				ip = st->ips[st->nr > 1 ? 1 : 0];
			if (ip) {
				/* the module is in the class name already: keep the width */
				char *mod;

				klt_render_addr(v, ip, site, sizeof(site));
				mod = strstr(site, " [");
				if (mod)
					*mod = '\0';
			} else {
				snprintf(site, sizeof(site), "(no call site)");
			}
			snprintf(row, sizeof(row), "  %s", site);
			err = stats_row(f, row, e);
			rows++;
		}
		if (o->hist && !err) {
			hist(f, "wait", &c->wait);
			hist(f, "contention", &c->contention);
			hist(f, "hold", &c->hold);
		}
	}
	if (s->open_holds || s->unmatched_releases)
		fprintf(f, "(%" PRIu64 " holds open at task exit or end of trace have no hold "
			   "time;\n %" PRIu64 " releases of locks not seen acquired)\n",
			s->open_holds, s->unmatched_releases);
	if (ferror(f) && !err)
		err = -EIO;
out:
	free(ci);
	free(si);
	free(sk);
	return err;
}

/* --- folded ----------------------------------------------------------------------------------- */

/* Folded frame: no ';' (the separator) and no newline; keep everything else. */
static void put_folded(char **p, size_t *left, const char *s)
{
	for (; *s && *left > 1; s++) {
		char c = *s == ';' ? ':' : *s == '\n' ? ' ' : *s;

		*(*p)++ = c;
		(*left)--;
	}
	**p = '\0';
}

struct fline {
	char *stack;
	uint64_t w;
};

static int cmp_fline(const void *a, const void *b)
{
	return strcmp(((const struct fline *)a)->stack, ((const struct fline *)b)->stack);
}

int klt_render_folded(FILE *f, const struct klt_view *v, const struct klt_sample_opts *o)
{
	struct klt_sample_iter *it = klt_samples_begin(v, v->stats, o);
	struct fline *lines = NULL;
	size_t n = 0, cap = 0;
	struct klt_sample sm;
	int rc, err = 0;

	if (!it)
		return -ENOMEM;
	while ((rc = klt_samples_next(it, &sm)) > 0) {
		size_t len = strlen(sm.comm) + strlen(sm.lock) + 3;
		char *buf, *p;

		for (unsigned i = 0; i < sm.nframes; i++)
			len += strlen(sm.funcs[i]) + 1;
		if (n == cap) {
			struct fline *nl = realloc(lines, (cap ? cap * 2 : 256) * sizeof(*nl));

			if (!nl) {
				rc = -ENOMEM;
				break;
			}
			lines = nl;
			cap = cap ? cap * 2 : 256;
		}
		buf = p = malloc(len);
		if (!buf) {
			rc = -ENOMEM;
			break;
		}
		put_folded(&p, &len, sm.comm);
		for (unsigned i = sm.nframes; i-- > 0;) {
			*p++ = ';';
			len--;
			put_folded(&p, &len, sm.funcs[i]);
		}
		*p++ = ';';
		len--;
		put_folded(&p, &len, sm.lock);
		lines[n].stack = buf;
		lines[n++].w = sm.period;
	}
	if (rc < 0)
		err = rc;
	if (!err && n)
		qsort(lines, n, sizeof(*lines), cmp_fline);
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t w = lines[i].w;

		while (i + 1 < n && !strcmp(lines[i].stack, lines[i + 1].stack))
			w += lines[++i].w;
		if (w && fprintf(f, "%s %" PRIu64 "\n", lines[i].stack, w) < 0)
			err = -EIO;
	}
	for (size_t i = 0; i < n; i++)
		free(lines[i].stack);
	free(lines);
	klt_samples_end(it);
	return err;
}

/* --- perf script ---------------------------------------------------------------------------- */

static const char *weight_event(enum klt_weight w)
{
	return w == KLT_WEIGHT_HOLD ? "lock:hold" : w == KLT_WEIGHT_WAIT ? "lock:wait" :
									    "lock:acquire";
}

/* DSO as perf shows it: [kernel.kallsyms] / [module] for kernel frames, the module otherwise. */
static void dso_name(char *buf, size_t len, const char *mod, uint64_t addr, bool kernel)
{
	if (kernel || klt_is_kernel_addr(addr)) {
		if (mod)
			snprintf(buf, len, "[%s]", mod);
		else
			snprintf(buf, len, "[kernel.kallsyms]");
	} else {
		snprintf(buf, len, "%s", mod ? mod : "[unknown]");
	}
	/* perf's frame line ends in "(DSO)" with no blank inside */
	for (char *p = buf; *p; p++)
		if (*p == ' ' || *p == '\t')
			*p = '_';
}

int klt_render_perf_script(FILE *f, const struct klt_view *v, const struct klt_sample_opts *o)
{
	struct klt_sample_iter *it = klt_samples_begin(v, v->stats, o);
	const char *ev = weight_event(o ? o->weight : KLT_WEIGHT_HOLD);
	struct klt_sample sm;
	bool first = true;
	int rc;

	if (!it)
		return -ENOMEM;
	while ((rc = klt_samples_next(it, &sm)) > 0) {
		char dso[NAME_LEN], sym[NAME_LEN];

		if (!first)
			fputc('\n', f);
		first = false;
		fprintf(f, "%s %6u/%-6u [%03u] %" PRIu64 ".%06" PRIu64 ": %10" PRIu64 " %s:\n",
			sm.comm, sm.pid, sm.tid, sm.cpu, sm.time / UINT64_C(1000000000),
			(sm.time % UINT64_C(1000000000)) / 1000, sm.period, ev);
		/* the lock itself is the innermost frame: flame graphs then end in the lock */
		fprintf(f, "\t%16" PRIx64 " %s ([lock])\n",
			v->redact && klt_is_kernel_addr(sm.lock_addr) ? 0 : sm.lock_addr,
			sm.lock);
		for (unsigned i = 0; i < sm.nframes; i++) {
			/* perf prints sym+0xoff; our frames add " [module]", which goes to the DSO */
			snprintf(sym, sizeof(sym), "%s", sm.frames[i]);
			char *sp = strstr(sym, " [");

			if (sp)
				*sp = '\0';
			if (!strncmp(sym, "0x", 2))
				snprintf(sym, sizeof(sym), "[unknown]");
			dso_name(dso, sizeof(dso), sm.dsos[i], sm.addrs[i], sm.kernel);
			fprintf(f, "\t%16" PRIx64 " %s (%s)\n", sm.addrs[i], sym, dso);
		}
	}
	if (!first)
		fputc('\n', f);
	klt_samples_end(it);
	if (rc < 0)
		return rc;
	return ferror(f) ? -EIO : 0;
}

/* --- chrome / Perfetto trace-event JSON ------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c); /* bytes as code points: always valid JSON */
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* ns -> us with ns precision, as the format's "ts"/"dur" are microseconds */
static void json_us(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

/* Tasks already named in the chrome output: (pid, tid) in the container module's map. */
/* 1 if (pid, tid) was new (now added), 0 if seen before, -ENOMEM */
static int seen_add(struct klt_hmap *st, uint32_t pid, uint32_t tid)
{
	if (klt_hmap_find(st, pid, tid) != KLT_NIL)
		return 0;
	if (klt_hmap_reserve(st, 1))
		return -ENOMEM;
	klt_hmap_put(st, pid, tid, 1);
	return 1;
}

int klt_render_chrome(FILE *f, const struct klt_view *v, const struct klt_sample_opts *o)
{
	struct klt_sample_opts so = o ? *o : (struct klt_sample_opts){ 0 };
	struct klt_sample_iter *it;
	struct klt_hmap tasks = { 0 };
	struct klt_sample sm;
	uint64_t t0 = UINT64_MAX;
	const struct klt_stats *s = v->stats;
	static const struct klt_stats none;
	bool first = true;
	int rc, err = 0;

	if (!s)
		s = &none;
	so.weight = KLT_WEIGHT_HOLD; /* intervals need a hold time */
	for (size_t i = 0; i < s->nacqs; i++)
		if (s->acqs[i].ts < t0)
			t0 = s->acqs[i].ts;
	if (t0 == UINT64_MAX)
		t0 = 0;
	it = klt_samples_begin(v, s, &so);
	if (!it)
		return -ENOMEM;
	fprintf(f, "{\"otherData\":{\"tool\":\"kvmlocktrace\",\"source\":");
	json_str(f, v->source ? v->source : "");
	fprintf(f, ",\"kernel\":");
	json_str(f, v->trace ? v->trace->info.kernel_release : "");
	fprintf(f, ",\"t0_ns\":%" PRIu64 "},\n\"traceEvents\":[\n", t0);
	while ((rc = klt_samples_next(it, &sm)) > 0) {
		const struct klt_acq *a = sm.acq;
		int added = seen_add(&tasks, sm.pid, sm.tid);

		if (added < 0) {
			rc = added;
			break;
		}
		if (added) {
			/* metadata: name processes and threads by comm */
			fprintf(f, "%s{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,"
				   "\"args\":{\"name\":", first ? "" : ",\n", sm.pid, sm.tid);
			json_str(f, sm.comm);
			fprintf(f, "}},\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%u,"
				   "\"tid\":%u,\"args\":{\"name\":", sm.pid, sm.pid);
			json_str(f, sm.comm);
			fputs("}}", f);
			first = false;
		}
		/* no wait slices: a wait ending where the hold begins would overlap it after
		 * float rounding in viewers (ts+dur), breaking the nesting */
		fprintf(f, "%s{\"name\":", first ? "" : ",\n");
		first = false;
		json_str(f, sm.lock);
		fprintf(f, ",\"cat\":\"hold\",\"ph\":\"X\",\"pid\":%u,\"tid\":%u,\"ts\":", sm.pid,
			sm.tid);
		json_us(f, a->ts - t0);
		fputs(",\"dur\":", f);
		json_us(f, a->hold_ns);
		/* args only of what is the same for every hold at one site: viewers such as
		 * speedscope key frames by name+args, so per-hold values would split them */
		fprintf(f, ",\"args\":{\"kind\":\"%s\",\"mode\":\"%s\"",
			klt_lock_kind_name(a->kind) ?: "?", klt_mode_name(a->mode) ?: "?");
		if (a->ip) {
			char site[NAME_LEN];

			fputs(",\"caller\":", f);
			json_str(f, klt_render_addr(v, a->ip, site, sizeof(site)));
		}
		if (sm.nframes) {
			fputs(",\"stack\":[", f);
			for (unsigned i = 0; i < sm.nframes; i++) {
				if (i)
					fputc(',', f);
				json_str(f, sm.frames[i]);
			}
			fputc(']', f);
		}
		fputs("}}", f);
	}
	if (rc < 0)
		err = rc;
	fputs("\n]}\n", f);
	klt_hmap_free(&tasks);
	klt_samples_end(it);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}

/* --- perf.data (src/io/perfdata.c) ---------------------------------------------------------------- */

int klt_render_perf_data(const char *path, bool force, const struct klt_view *v,
			 const struct klt_sample_opts *o, char *err, size_t errlen)
{
	enum klt_weight w = o ? o->weight : KLT_WEIGHT_HOLD;
	const char *ev = w == KLT_WEIGHT_HOLD ? "klt:hold-ns" : w == KLT_WEIGHT_WAIT ? "klt:wait-ns" :
										  "klt:acquire";
	struct klt_pd_writer *pw = klt_pd_open(path, ev, force, err, errlen);
	struct klt_sample_iter *it;
	const char **frames = NULL;
	char lockframe[NAME_LEN + 8];
	struct klt_sample sm;
	size_t cap = 0;
	int rc;

	if (!pw)
		return -EINVAL; /* err says why */
	klt_pd_set_meta(pw, v->trace->info.hostname[0] ? v->trace->info.hostname : NULL,
			v->trace->info.kernel_release[0] ? v->trace->info.kernel_release : NULL,
			NULL);
	it = klt_samples_begin(v, v->stats, o);
	if (!it) {
		klt_pd_discard(pw);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	while ((rc = klt_samples_next(it, &sm)) > 0) {
		struct klt_pd_sample ps = { .pid = sm.pid, .tid = sm.tid, .time = sm.time,
					    .period = sm.period, .comm = sm.comm, .cpu = sm.cpu };

		if (sm.nframes + 1 > cap) {
			size_t ncap = 2 * (sm.nframes + 1);
			const char **nf = realloc(frames, ncap * sizeof(*nf));

			if (!nf) {
				rc = -ENOMEM;
				break;
			}
			frames = nf;
			cap = ncap;
		}
		/* the lock is the innermost frame, as in perf-script and folded */
		snprintf(lockframe, sizeof(lockframe), "lock:%s", sm.lock);
		frames[0] = lockframe;
		for (unsigned i = 0; i < sm.nframes; i++)
			frames[i + 1] = sm.frames[i];
		ps.nframes = sm.nframes + 1;
		ps.frames = frames;
		if (klt_pd_add(pw, &ps) < 0)
			break; /* the writer keeps the reason for klt_pd_close */
	}
	klt_samples_end(it);
	free(frames);
	if (rc < 0) {
		klt_pd_discard(pw);
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	return klt_pd_close(pw, err, errlen) ? -EIO : 0;
}
