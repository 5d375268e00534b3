// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * JSON report (schema: docs/json-schema.json, "schema": "kvmlocktrace/v2"). Addresses are strings
 * ("0x..." or "0x<redacted>") because 64-bit kernel addresses do not survive JSON doubles.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "render.h"
#include "render_priv.h"
#include "samples.h"


#define NAME_LEN 256

/* Builders return NULL on ENOMEM; json_object_object_add takes ownership even of NULL. */
struct jb {
	bool oom;
};

static void jadd(struct jb *b, json_object *o, const char *key, json_object *val)
{
	if (!o || !val) {
		b->oom = true;
		json_object_put(val);
		return;
	}
	if (json_object_object_add(o, key, val)) {
		b->oom = true;
		json_object_put(val);
	}
}

static void jadd_null(struct jb *b, json_object *o, const char *key)
{
	/* json-c represents null as a NULL object */
	if (!o || json_object_object_add(o, key, NULL))
		b->oom = true;
}

static void jpush(struct jb *b, json_object *a, json_object *val)
{
	if (!a || !val || json_object_array_add(a, val)) {
		b->oom = true;
		json_object_put(val);
	}
}

static json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static json_object *jstrn(const char *s, size_t max)
{
	return json_object_new_string_len(s, (int)strnlen(s, max));
}

static json_object *jint(uint64_t v)
{
	/* counts and ns timestamps stay far below 2^63 */
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static json_object *jaddr(const struct klt_view *v, uint64_t addr)
{
	char buf[32];

	if (v->redact)
		return jstr("0x<redacted>");
	snprintf(buf, sizeof(buf), "0x%" PRIx64, addr);
	return jstr(buf);
}

static json_object *jsym(const struct klt_view *v, uint64_t addr)
{
	char buf[256];

	return jstr(klt_render_addr(v, addr, buf, sizeof(buf)));
}

static json_object *jnode(const struct klt_view *v, unsigned level, uint32_t node)
{
	char buf[NAME_LEN];

	return jstr(klt_node_name(v, level, node, buf, sizeof(buf)));
}

static json_object *jlockname(const struct klt_view *v, uint64_t addr)
{
	int64_t i = klt_render_find_lock(v, addr);
	char buf[NAME_LEN];

	if (i < 0)
		return jsym(v, addr);
	return jstr(klt_lock_name(v, (uint32_t)i, buf, sizeof(buf)));
}

static json_object *jstack(struct jb *b, const struct klt_view *v, int32_t id)
{
	const struct klt_stack *s = NULL;
	json_object *a = json_object_new_array();

	if (v->trace && id != KLT_NO_STACK)
		s = klt_trace_stack(v->trace, id);
	for (uint32_t i = 0; a && s && i < s->nr; i++)
		jpush(b, a, jsym(v, s->ips[i]));
	return a;
}

static json_object *jmode(unsigned mode)
{
	const char *m = klt_mode_name(mode);

	return jstr(m ? m : "unknown");
}

static json_object *jkind(unsigned kind)
{
	const char *k = klt_lock_kind_name(kind);

	return jstr(k ? k : "unknown");
}

static json_object *jtypes(struct jb *b, unsigned types)
{
	static const char *const names[] = { "EN", "ER", "SN", "SR" };
	json_object *a = json_object_new_array();

	for (unsigned i = 0; i < 4; i++) {
		if (types & (1u << i))
			jpush(b, a, jstr(names[i]));
	}
	return a;
}

static json_object *jwitness(struct jb *b, const struct klt_view *v, const struct lg_witness *w)
{
	json_object *o = json_object_new_object();

	jadd(b, o, "tid", jint(w->tid));
	jadd(b, o, "pid", jint(w->pid));
	jadd(b, o, "cpu", jint(w->cpu));
	jadd(b, o, "comm", jstrn(w->comm, KLT_COMM_LEN));
	jadd(b, o, "ts", jint(w->ts));
	jadd(b, o, "held_ts", jint(w->held_ts));
	jadd(b, o, "held_lock", jlockname(v, w->held_lock));
	jadd(b, o, "new_lock", jlockname(v, w->new_lock));
	jadd(b, o, "held_addr", jaddr(v, w->held_lock));
	jadd(b, o, "new_addr", jaddr(v, w->new_lock));
	jadd(b, o, "held_mode", jmode(w->held_mode));
	jadd(b, o, "new_mode", jmode(w->new_mode));
	jadd(b, o, "held_ip", jsym(v, w->held_ip));
	jadd(b, o, "new_ip", jsym(v, w->new_ip));
	jadd(b, o, "held_stack", jstack(b, v, w->held_stack));
	jadd(b, o, "new_stack", jstack(b, v, w->new_stack));
	return o;
}

static json_object *jedge(struct jb *b, const struct klt_view *v, const struct lg_edge *e,
			  bool witness)
{
	json_object *o = json_object_new_object();

	jadd(b, o, "from", jnode(v, e->level, e->from));
	jadd(b, o, "to", jnode(v, e->level, e->to));
	jadd(b, o, "level", jstr(e->level == LG_LEVEL_CLASS ? "class" : "instance"));
	jadd(b, o, "types", jtypes(b, e->types));
	jadd(b, o, "count", jint(e->count));
	if (witness)
		jadd(b, o, "witness", jwitness(b, v, &e->first));
	return o;
}

static json_object *jhold(struct jb *b, const struct klt_view *v, const struct lg_hold *h)
{
	json_object *o = json_object_new_object();
	char name[NAME_LEN];

	jadd(b, o, "tid", jint(h->tid));
	jadd(b, o, "pid", jint(h->pid));
	jadd(b, o, "cpu", jint(h->cpu));
	jadd(b, o, "comm", jstrn(h->comm, KLT_COMM_LEN));
	jadd(b, o, "lock", jstr(klt_render_hold_name(v, h, name, sizeof(name))));
	jadd(b, o, "addr", jaddr(v, h->addr));
	jadd(b, o, "kind", jkind(h->kind));
	jadd(b, o, "mode", jmode(h->mode));
	jadd(b, o, "ts", jint(h->ts));
	jadd(b, o, "ip", jsym(v, h->ip));
	jadd(b, o, "stack", jstack(b, v, h->stack));
	return o;
}

static json_object *jfinding(struct jb *b, const struct klt_view *v, const struct lg_finding *fd)
{
	json_object *o = json_object_new_object();
	json_object *locks = json_object_new_array();
	const char *kind = klt_render_kind_name(fd->kind);
	bool edged = (fd->kind == LG_F_CYCLE || fd->kind == LG_F_RULE) && fd->edges;

	jadd(b, o, "seq", jint(fd->seq));
	jadd(b, o, "kind", jstr(kind ? kind : "unknown"));
	jadd(b, o, "ts", jint(fd->ts));
	if (edged) {
		json_object *edges = json_object_new_array();

		jadd(b, o, "level", jstr(fd->level == LG_LEVEL_CLASS ? "class" : "instance"));
		for (uint32_t i = 0; i < fd->nedges; i++) {
			const struct lg_edge *e = &fd->edges[i];

			jpush(b, locks, jnode(v, e->level, e->from));
			jpush(b, edges, jedge(b, v, e, true));
		}
		/* a rule finding is one edge: list both of its ends */
		if (fd->kind == LG_F_RULE && fd->nedges)
			jpush(b, locks, jnode(v, fd->edges[0].level, fd->edges[0].to));
		jadd(b, o, "locks", locks);
		jadd(b, o, "edges", edges);
	} else {
		char name[NAME_LEN];

		jpush(b, locks, jstr(klt_render_hold_name(v, &fd->hold, name, sizeof(name))));
		jadd(b, o, "locks", locks);
		jadd(b, o, "hold", jhold(b, v, &fd->hold));
	}
	if (fd->kind == LG_F_RULE) {
		json_object *r = json_object_new_object();

		if (v->rules && fd->rule >= 0 && (size_t)fd->rule < v->rules->n) {
			const struct klt_rule *rl = &v->rules->v[fd->rule];

			jadd(b, r, "text", jstr(rl->text));
			jadd(b, r, "file", jstr(rl->file));
			jadd(b, r, "line", jint(rl->line));
		}
		jadd(b, r, "index", json_object_new_int(fd->rule));
		jadd(b, o, "rule", r);
	}
	if (fd->kind == LG_F_SUSPEND_HOLDER) {
		const char *ph = klt_pm_phase_name(fd->phase);

		jadd(b, o, "phase", jstr(ph ? ph : "other"));
	}
	if (fd->kind == LG_F_ATOMIC_SLEEP) {
		json_object *cb = json_object_new_object();

		jadd(b, cb, "symbol", jsym(v, fd->cb));
		jadd(b, cb, "cpu", jint(fd->cb_cpu));
		jadd(b, cb, "state", jint(fd->cb_state));
		jadd(b, cb, "index", json_object_new_int(fd->cb_idx));
		jadd(b, o, "callback", cb);
	}
	return o;
}

/* A cycle that is not a finding: one lock held at every sighting of every edge of it. */
static json_object *jguarded(struct jb *b, const struct klt_view *v, const struct lg_guarded *gd)
{
	json_object *o = json_object_new_object(), *g = json_object_new_object();
	json_object *locks = json_object_new_array(), *edges = json_object_new_array();
	const struct lg_lock *gl = lg_lock_at(v->eng, gd->guard);
	char name[NAME_LEN];

	jadd(b, o, "seq", jint(gd->seq));
	jadd(b, o, "ts", jint(gd->ts));
	jadd(b, o, "level", jstr(gd->level == LG_LEVEL_CLASS ? "class" : "instance"));
	jadd(b, g, "lock", jstr(klt_lock_name(v, gd->guard, name, sizeof(name))));
	jadd(b, g, "addr", jaddr(v, gl ? gl->addr : 0));
	jadd(b, g, "kind", jkind(gl ? gl->kind : KLT_LK_NONE));
	jadd(b, o, "guard", g);
	for (uint32_t i = 0; i < gd->nedges; i++) {
		jpush(b, locks, jnode(v, gd->edges[i].level, gd->edges[i].from));
		jpush(b, edges, jedge(b, v, &gd->edges[i], true));
	}
	jadd(b, o, "locks", locks);
	jadd(b, o, "edges", edges);
	return o;
}

static json_object *jtrace(struct jb *b, const struct klt_view *v)
{
	json_object *o = json_object_new_object();
	json_object *ctr = json_object_new_object();
	const struct klt_trace_info *in;

	if (v->kernel_version) {
		char kv[24];

		snprintf(kv, sizeof(kv), "%u.%u", v->kernel_version / 1000, v->kernel_version % 1000);
		jadd(b, o, "rules_kernel", jstr(kv));
	} else {
		jadd_null(b, o, "rules_kernel");
	}
	if (!v->trace) {
		jadd(b, o, "counters", ctr);
		return o;
	}
	in = &v->trace->info;
	jadd(b, o, "format_version", jint(in->format_version));
	jadd(b, o, "tool_version", jstrn(in->tool_version, sizeof(in->tool_version)));
	jadd(b, o, "kernel_release", jstrn(in->kernel_release, sizeof(in->kernel_release)));
	jadd(b, o, "machine", jstrn(in->machine, sizeof(in->machine)));
	jadd(b, o, "hostname", jstrn(in->hostname, sizeof(in->hostname)));
	jadd(b, o, "clock", jstrn(in->clock, sizeof(in->clock)));
	jadd(b, o, "attach_mode", jstrn(in->attach_mode, sizeof(in->attach_mode)));
	jadd(b, o, "start_realtime_ns", jint(in->start_realtime_ns));
	jadd(b, o, "events", jint(v->trace->nevents));
	for (size_t i = 0; i < v->trace->ncounters; i++) {
		const struct klt_counter *c = &v->trace->counters[i];
		char name[sizeof(c->name) + 1];

		snprintf(name, sizeof(name), "%.*s", (int)sizeof(c->name), c->name);
		jadd(b, ctr, name, jint(c->value));
	}
	jadd(b, o, "counters", ctr);
	return o;
}

static json_object *jsummary(struct jb *b, const struct klt_view *v)
{
	const struct lg_stats *st = lg_get_stats(v->eng);
	json_object *o = json_object_new_object();
	json_object *edges = json_object_new_object();
	json_object *byk = json_object_new_object();
	uint64_t by_kind[LG_F_MAX] = { 0 };
	size_t nf = lg_nfindings(v->eng);

	for (size_t i = 0; i < nf; i++) {
		const struct lg_finding *fd = lg_finding_at(v->eng, i);

		if (fd && fd->kind < LG_F_MAX)
			by_kind[fd->kind]++;
	}
	if (st) {
		jadd(b, o, "events", jint(st->events));
		jadd(b, o, "tasks", jint(st->tasks));
		jadd(b, o, "acquisitions", jint(st->acquisitions));
		jadd(b, o, "releases", jint(st->releases));
		jadd(b, o, "unknown_events", jint(st->unknown_events));
		jadd(b, o, "lock_inits", jint(st->inits));
		jadd(b, o, "depth_overflows", jint(st->depth_overflows));
		jadd(b, o, "unbalanced", jint(st->unbalanced));
	}
	jadd(b, o, "locks", jint(lg_nlocks(v->eng)));
	jadd(b, o, "classes", jint(lg_nclasses(v->eng)));
	jadd(b, edges, "instance", jint(lg_nedges(v->eng, LG_LEVEL_INSTANCE)));
	jadd(b, edges, "class", jint(lg_nedges(v->eng, LG_LEVEL_CLASS)));
	jadd(b, o, "edges", edges);
	for (unsigned k = 0; k < LG_F_MAX; k++) {
		const char *kn = klt_render_kind_name(k);

		if (kn)
			jadd(b, byk, kn, jint(by_kind[k]));
	}
	jadd(b, o, "findings", jint(nf));
	jadd(b, o, "findings_by_kind", byk);
	jadd(b, o, "guarded_cycles", jint(lg_nguarded(v->eng)));
	{
		/* the verdict's other half: clean only if complete (docs/trace-format.md) */
		char why[256];
		bool complete = klt_trace_completeness(v->trace, why, sizeof(why)) == KLT_COMPLETE;

		jadd(b, o, "complete", json_object_new_boolean(complete));
		if (complete)
			jadd_null(b, o, "incomplete");
		else
			jadd(b, o, "incomplete", json_object_new_string(why));
	}
	return o;
}

static const char *origin_name(unsigned o)
{
	switch (o) {
	case LG_CLASS_STATIC:
		return "static";
	case LG_CLASS_EXPLICIT:
		return "explicit";
	case LG_CLASS_INIT:
		return "init";
	default:
		return "inferred";
	}
}

static json_object *jmetric(struct jb *b, const struct klt_metric *m)
{
	json_object *o = json_object_new_object(), *h = json_object_new_array();

	jadd(b, o, "count", jint(m->count));
	jadd(b, o, "total_ns", jint(m->total));
	jadd(b, o, "mean_ns", jint(m->count ? m->total / m->count : 0));
	jadd(b, o, "max_ns", jint(m->max));
	for (unsigned i = 0; h && i < KLT_HIST_BUCKETS; i++) {
		json_object *e;

		if (!klt_metric_bucket(m, i))
			continue;
		e = json_object_new_object();
		jadd(b, e, "lo_ns", jint(klt_hist_lo(i)));
		jadd(b, e, "hi_ns", jint(klt_hist_hi(i)));
		jadd(b, e, "count", jint(klt_metric_bucket(m, i)));
		jpush(b, h, e);
	}
	jadd(b, o, "hist", h);
	return o;
}

static void jstat_fields(struct jb *b, json_object *o, const struct klt_stat *e)
{
	jadd(b, o, "acquisitions", jint(e->acquisitions));
	jadd(b, o, "contended", jint(e->contended));
	jadd(b, o, "try_fail", jint(e->try_fail));
	jadd(b, o, "wait", jmetric(b, &e->wait));
	jadd(b, o, "contention", jmetric(b, &e->contention));
	jadd(b, o, "hold", jmetric(b, &e->hold));
}

/*
 * Streaming output. The report is written piece by piece: every element of the big arrays (graph
 * classes, locks, edges, findings, stats classes) is built as a small json-c tree, printed and
 * freed before the next one, so memory does not grow with the number of locks. The bytes are
 * those json-c's JSON_C_TO_STRING_PRETTY printed for the whole tree (two spaces per level).
 */
struct jw {
	FILE *f;
	struct jb b;
	int err;
	bool first[8]; /* per nesting depth: nothing printed yet in this object/array */
	int depth;
};

static void jw_indent(struct jw *w, int n)
{
	for (int i = 0; i < n; i++)
		fputc(' ', w->f);
}

/* One json-c value, pretty-printed, re-indented to start at column 2*depth; consumes val. */
static void jw_value(struct jw *w, json_object *val, int ind)
{
	const char *s, *nl;

	if (w->b.oom || !val) {
		json_object_put(val);
		w->b.oom = true;
		return;
	}
	s = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PRETTY |
						JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s) {
		w->b.oom = true;
		json_object_put(val);
		return;
	}
	while ((nl = strchr(s, '\n'))) {
		fwrite(s, 1, (size_t)(nl - s + 1), w->f);
		jw_indent(w, ind);
		s = nl + 1;
	}
	fputs(s, w->f);
	json_object_put(val);
}

/* Start the next member/element at the current depth: separator, newline, indentation. */
static void jw_next(struct jw *w)
{
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = false;
	fputc('\n', w->f);
	jw_indent(w, 2 * w->depth);
}

static void jw_key(struct jw *w, const char *key)
{
	jw_next(w);
	fprintf(w->f, "\"%s\":", key); /* keys are plain identifiers */
}

/* "key":value with a prebuilt (small) value; key NULL for an array element. NULL val = null. */
static void jw_kv(struct jw *w, const char *key, json_object *val, bool null_ok)
{
	if (key)
		jw_key(w, key);
	else
		jw_next(w);
	if (!val && null_ok) {
		fputs("null", w->f);
		return;
	}
	jw_value(w, val, 2 * w->depth);
}

static void jw_open(struct jw *w, const char *key, char c)
{
	if (key) /* NULL: the root */
		jw_key(w, key);
	fputc(c, w->f);
	w->depth++;
	w->first[w->depth] = true;
}

static void jw_close(struct jw *w, char c)
{
	w->depth--;
	/* json-c prints an empty container as "[\n<indent>]" too */
	fputc('\n', w->f);
	jw_indent(w, 2 * w->depth);
	fputc(c, w->f);
}

static void jgraph(struct jw *w, const struct klt_view *v)
{
	struct jb *b = &w->b;
	char name[NAME_LEN];

	jw_open(w, "graph", '{');
	jw_open(w, "classes", '[');
	for (size_t i = 0; i < lg_nclasses(v->eng) && !b->oom; i++) {
		const struct lg_class *c = lg_class_at(v->eng, i);
		json_object *jc;

		if (!c)
			continue;
		jc = json_object_new_object();
		jadd(b, jc, "id", jint(c->id));
		jadd(b, jc, "name", jstr(klt_class_name(v, c->id, name, sizeof(name))));
		jadd(b, jc, "kind", jkind(c->kind));
		jadd(b, jc, "origin", jstr(origin_name(c->origin)));
		jadd(b, jc, "instances", jint(c->ninstances));
		jadd(b, jc, "acquisitions", jint(c->acquisitions));
		jw_kv(w, NULL, jc, false);
	}
	jw_close(w, ']');
	jw_open(w, "locks", '[');
	for (size_t i = 0; i < lg_nlocks(v->eng) && !b->oom; i++) {
		const struct lg_lock *l = lg_lock_at(v->eng, i);
		json_object *jl;

		if (!l)
			continue;
		jl = json_object_new_object();
		jadd(b, jl, "index", jint(i));
		jadd(b, jl, "name", jstr(klt_lock_name(v, (uint32_t)i, name, sizeof(name))));
		jadd(b, jl, "class", jint(l->class_id));
		jadd(b, jl, "kind", jkind(l->kind));
		jadd(b, jl, "addr", jaddr(v, l->addr));
		jadd(b, jl, "first_ip", jsym(v, l->first_ip));
		jadd(b, jl, "acquisitions", jint(l->acquisitions));
		jw_kv(w, NULL, jl, false);
	}
	jw_close(w, ']');
	jw_open(w, "edges", '[');
	for (unsigned lv = LG_LEVEL_INSTANCE; lv <= LG_LEVEL_CLASS; lv++) {
		for (size_t i = 0; i < lg_nedges(v->eng, lv) && !b->oom; i++) {
			const struct lg_edge *e = lg_edge_at(v->eng, lv, i);

			if (e)
				jw_kv(w, NULL, jedge(b, v, e, false), false);
		}
	}
	jw_close(w, ']');
	jw_close(w, '}');
}

static int cmp_stack_idx(const void *a, const void *b, void *arg)
{
	const struct klt_stat *st = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (st[x].ckey != st[y].ckey)
		return st[x].ckey < st[y].ckey ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * Lock-time statistics per class, each with its acquisition stacks. The stacks are grouped by
 * class key once (sorted index, n log n) instead of scanning every stack for every class.
 */
static void jstats(struct jw *w, const struct klt_view *v)
{
	const struct klt_stats *s = v->stats;
	struct jb *b = &w->b;
	char name[NAME_LEN];
	uint64_t nacq = 0;
	size_t *idx = NULL;

	if (s->nstacks) {
		idx = malloc(s->nstacks * sizeof(*idx));
		if (!idx) {
			b->oom = true;
			return;
		}
		for (size_t j = 0; j < s->nstacks; j++)
			idx[j] = j;
		qsort_r(idx, s->nstacks, sizeof(*idx), cmp_stack_idx, s->stacks);
	}
	for (size_t i = 0; i < s->nclasses; i++)
		nacq += s->classes[i].acquisitions;
	jw_open(w, "stats", '{');
	jw_kv(w, "acquisitions", jint(nacq), false);
	jw_kv(w, "open_holds", jint(s->open_holds), false);
	jw_kv(w, "unmatched_releases", jint(s->unmatched_releases), false);
	jw_open(w, "classes", '[');
	for (size_t i = 0; i < s->nclasses && !b->oom; i++) {
		const struct klt_stat *c = &s->classes[i];
		struct klt_acq a = { .lock = c->lock, .class_id = c->class_id, .kind = c->kind };
		json_object *jc = json_object_new_object(), *stacks = json_object_new_array();
		size_t lo = 0, hi = s->nstacks;

		jadd(b, jc, "lock", jstr(klt_acq_lock_name(v, &a, name, sizeof(name))));
		jadd(b, jc, "kind", jkind(c->kind));
		jstat_fields(b, jc, c);
		/* first stack entry of this class */
		while (lo < hi) {
			size_t m = lo + (hi - lo) / 2;

			if (s->stacks[idx[m]].ckey < c->ckey)
				lo = m + 1;
			else
				hi = m;
		}
		for (size_t j = lo; stacks && j < s->nstacks && s->stacks[idx[j]].ckey == c->ckey;
		     j++) {
			const struct klt_stat *e = &s->stacks[idx[j]];
			json_object *js = json_object_new_object();

			if (e->ip)
				jadd(b, js, "caller", jsym(v, e->ip));
			else
				jadd_null(b, js, "caller");
			jadd(b, js, "stack", jstack(b, v, e->stack_id));
			jstat_fields(b, js, e);
			jpush(b, stacks, js);
		}
		jadd(b, jc, "stacks", stacks);
		jw_kv(w, NULL, jc, false);
	}
	jw_close(w, ']');
	jw_close(w, '}');
	free(idx);
}

int klt_render_json(FILE *f, const struct klt_view *v)
{
	struct jw w = { .f = f, .depth = 0 };
	struct jb *b = &w.b;
	struct klt_stats own = { 0 };
	int err = 0;

	if (!f || !v || !v->eng)
		return -EINVAL;
	w.first[0] = true;
	jw_open(&w, NULL, '{');
	jw_kv(&w, "schema", jstr("kvmlocktrace/v2"), false);
	jw_kv(&w, "source", v->source ? jstr(v->source) : NULL, true);
	jw_kv(&w, "trace", jtrace(b, v), false);
	jw_kv(&w, "summary", jsummary(b, v), false);
	if (v->findings_only)
		jw_kv(&w, "findings_only", json_object_new_boolean(1), false);
	jw_open(&w, "findings", '[');
	for (size_t i = 0; i < lg_nfindings(v->eng) && !b->oom; i++) {
		const struct lg_finding *fd = lg_finding_at(v->eng, i);

		if (fd)
			jw_kv(&w, NULL, jfinding(b, v, fd), false);
	}
	jw_close(&w, ']');
	/* cycles that are not findings, and why (part of the verdict: also with --findings-only) */
	jw_open(&w, "guarded", '[');
	for (size_t i = 0; i < lg_nguarded(v->eng) && !b->oom; i++)
		jw_kv(&w, NULL, jguarded(b, v, lg_guarded_at(v->eng, i)), false);
	jw_close(&w, ']');
	/* --findings-only: the verdict without the graph and the statistics */
	if (!v->findings_only)
		jgraph(&w, v);
	if (v->findings_only) {
		/* no statistics */
	} else if (v->stats) {
		jstats(&w, v);
	} else {
		/* the caller computed none: from the trace's events (empty without a trace) */
		struct klt_view vs = *v;

		err = klt_stats_build(&own, v->eng, v->trace ? v->trace->events : NULL,
				      v->trace ? v->trace->nevents : 0);
		if (err)
			goto out;
		vs.stats = &own;
		jstats(&w, &vs);
	}
	jw_close(&w, '}');
	if (b->oom) {
		err = -ENOMEM;
		goto out;
	}
	if (fputc('\n', f) == EOF || ferror(f))
		err = -EIO;
out:
	klt_stats_free(&own);
	return err;
}
