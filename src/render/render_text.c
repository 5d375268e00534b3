// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Text reports in the manner of lockdep (kernel/locking/lockdep.c print_circular_bug() and
 * friends), so that people who read lockdep splats can read ours without a manual. Anatomy:
 * docs/report-formats.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "render_priv.h"


#define NAME_LEN 256
#define SYM_LEN 256
#define BAR "======================================================\n"
#define RULE "------------------------------------------------------\n"

/* Every name that comes from a recording is escaped for the terminal (klt_render_esc). */
static const char *tnode(const struct klt_view *v, unsigned level, uint32_t node, char *buf,
			 size_t len)
{
	klt_node_name(v, level, node, buf, len);
	return klt_render_esc_inplace(buf, len);
}

static const char *taddr(const struct klt_view *v, uint64_t addr, char *buf, size_t len)
{
	klt_render_addr(v, addr, buf, len);
	return klt_render_esc_inplace(buf, len);
}

static const char *tlock(const struct klt_view *v, uint32_t lock_idx, char *buf, size_t len)
{
	klt_lock_name(v, lock_idx, buf, len);
	return klt_render_esc_inplace(buf, len);
}

static const char *thold(const struct klt_view *v, const struct lg_hold *h, char *buf, size_t len)
{
	klt_render_hold_name(v, h, buf, len);
	return klt_render_esc_inplace(buf, len);
}

/* A string of the recording or a rules file, escaped into a caller's buffer. */
#define ESC(s, buf) klt_render_esc((s), (buf), sizeof(buf))

static void banner(FILE *f, const char *title)
{
	fprintf(f, "\n" BAR "WARNING: %s\n" RULE, title);
}

static const char *nz(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static unsigned node_kind(const struct klt_view *v, unsigned level, uint32_t node)
{
	const struct lg_class *c;
	const struct lg_lock *l;

	if (level == LG_LEVEL_CLASS) {
		c = lg_class_at(v->eng, node);
		return c ? c->kind : KLT_LK_NONE;
	}
	l = lg_lock_at(v->eng, node);
	return l ? l->kind : KLT_LK_NONE;
}

/* "write" / "read" / "rread", and "sync" for synchronize_srcu(): an SRCU write acquire. */
static const char *mode_str(unsigned kind, unsigned mode)
{
	if (kind == KLT_LK_SRCU && mode == KLT_MODE_WRITE)
		return "sync";
	return nz(klt_mode_name(mode), "?");
}

/* Scenario verb, as lockdep's print_circular_lock_scenario() writes it. */
static const char *op_str(unsigned kind, unsigned mode)
{
	if (kind == KLT_LK_SRCU && mode == KLT_MODE_WRITE)
		return "sync";
	return mode == KLT_MODE_WRITE ? "lock" : "rlock";
}

static void print_ts(FILE *f, uint64_t ts)
{
	fprintf(f, "%" PRIu64 ".%06" PRIu64 "s", ts / UINT64_C(1000000000),
		(ts % UINT64_C(1000000000)) / 1000);
}

static void print_comm(FILE *f, const char *comm)
{
	char c[KLT_COMM_LEN + 1], e[4 * KLT_COMM_LEN + 1];

	snprintf(c, sizeof(c), "%.*s", KLT_COMM_LEN, comm[0] ? comm : "?");
	fputs(ESC(c, e), f);
}

static void print_stack(FILE *f, const struct klt_view *v, int32_t id, const char *indent)
{
	const struct klt_stack *s = NULL;
	char sym[SYM_LEN];

	if (v->trace && id != KLT_NO_STACK)
		s = klt_trace_stack(v->trace, id);
	if (!s || !s->nr) {
		fprintf(f, "%s(no stack recorded)\n", indent);
		return;
	}
	for (uint32_t i = 0; i < s->nr; i++)
		fprintf(f, "%s%s\n", indent, taddr(v, s->ips[i], sym, sizeof(sym)));
}

/* One side of an edge: "  name (kind, mode) at: site". */
static void print_lock_line(FILE *f, const struct klt_view *v, unsigned level, uint32_t node,
			    unsigned mode, uint64_t ip)
{
	unsigned kind = node_kind(v, level, node);
	char name[NAME_LEN], sym[SYM_LEN];

	/* live recordings send the held side of a new edge without its call site */
	fprintf(f, "  %s (%s, %s) at: %s\n", tnode(v, level, node, name, sizeof(name)),
		nz(klt_lock_kind_name(kind), "lock"), mode_str(kind, mode),
		ip ? taddr(v, ip, sym, sizeof(sym)) : "(call site not recorded)");
}

/* Instance names of a witness, for class-level findings: which objects were involved. */
static void print_witness_instances(FILE *f, const struct klt_view *v, const struct lg_edge *e)
{
	char a[NAME_LEN], b[NAME_LEN];
	int64_t ia = klt_render_find_lock(v, e->first.held_lock);
	int64_t ib = klt_render_find_lock(v, e->first.new_lock);

	if (ia >= 0)
		tlock(v, (uint32_t)ia, a, sizeof(a));
	else
		taddr(v, e->first.held_lock, a, sizeof(a));
	if (ib >= 0)
		tlock(v, (uint32_t)ib, b, sizeof(b));
	else
		taddr(v, e->first.new_lock, b, sizeof(b));
	fprintf(f, "  %s -> %s (", a, b);
	print_comm(f, e->first.comm);
	fprintf(f, "/%u)\n", e->first.tid);
}

static void print_chain_entry(FILE *f, const struct klt_view *v, const struct lg_edge *e,
			      unsigned k)
{
	unsigned kind = node_kind(v, e->level, e->to);
	char name[NAME_LEN], held[NAME_LEN];

	fprintf(f, "\n-> #%u (%s){%s}:   first seen: %u/", k,
		tnode(v, e->level, e->to, name, sizeof(name)),
		mode_str(kind, e->first.new_mode), e->first.tid);
	print_comm(f, e->first.comm);
	fprintf(f, " at ");
	print_ts(f, e->first.ts);
	fprintf(f, ", %" PRIu64 " time%s\n", e->count, e->count == 1 ? "" : "s");
	print_stack(f, v, e->first.new_stack, "       ");
	fprintf(f, "   ... held");
	if (e->first.held_ts) { /* 0: the held side's acquisition was not recorded */
		fprintf(f, " since ");
		print_ts(f, e->first.held_ts);
	}
	fprintf(f, ": %s\n", tnode(v, e->level, e->from, held, sizeof(held)));
	print_stack(f, v, e->first.held_stack, "       ");
}

static void pad_to(FILE *f, size_t *col, size_t target)
{
	while (*col < target) {
		fputc(' ', f);
		(*col)++;
	}
}

#define SCENARIO_MAX_LOCKS 16

/*
 * CPUk holds lock k of the cycle and wants lock k+1. Every CPU takes its first lock, then they
 * all block, last CPU first: for two locks this is exactly lockdep's picture.
 */
static void print_scenario(FILE *f, const struct klt_view *v, const struct lg_finding *fd)
{
	uint32_t n = fd->nedges;
	size_t width = 24, col;
	char name[NAME_LEN];

	for (uint32_t k = 0; k < n; k++) {
		const struct lg_edge *e = &fd->edges[k];
		size_t l = strlen(tnode(v, e->level, e->from, name, sizeof(name)));

		/* "rlock(" name ");" from column 2 must end before the next column at 7 + width */
		if (l + 7 > width)
			width = l + 7;
	}
	fprintf(f, "\nother info that might help us debug this:\n\n");
	if (n > SCENARIO_MAX_LOCKS) {
		/* one column per CPU: the picture grows with the square of the cycle length */
		fprintf(f, " (no locking scenario: %u locks; the chain above shows the cycle)\n", n);
		fprintf(f, "\n *** DEADLOCK ***\n");
		return;
	}
	fprintf(f, " Possible unsafe locking scenario:\n\n");
	for (int pass = 0; pass < 2; pass++) {
		col = 0;
		for (uint32_t k = 0; k < n; k++) {
			pad_to(f, &col, 7 + width * k);
			col += (size_t)fprintf(f, pass ? "----" : "CPU%u", k);
		}
		fputc('\n', f);
	}
	fputc('\n', f);
	for (uint32_t step = 0; step < 2 * n; step++) {
		/* CPU k's edge: the closing edge for CPU0, then the chain in order */
		uint32_t k = step < n ? step : 2 * n - 1 - step;
		const struct lg_edge *e = &fd->edges[k == 0 ? n - 1 : k - 1];
		bool want = step >= n;
		uint32_t node = want ? e->to : e->from;
		unsigned mode = want ? e->first.new_mode : e->first.held_mode;

		col = 0;
		pad_to(f, &col, k == 0 ? 2 : 7 + width * k);
		fprintf(f, "%s(%s);\n", op_str(node_kind(v, e->level, node), mode),
			tnode(v, e->level, node, name, sizeof(name)));
	}
	fprintf(f, "\n *** DEADLOCK ***\n");
}

static void render_cycle(FILE *f, const struct klt_view *v, const struct lg_finding *fd)
{
	const struct lg_edge *last = &fd->edges[fd->nedges - 1];
	const struct lg_witness *w = &last->first;

	banner(f, "possible circular locking dependency detected");
	if (fd->level == LG_LEVEL_CLASS)
		fprintf(f, "potential (class level): instances differ; the classes can deadlock\n");
	else
		fprintf(f, "(instance level: this order inversion happened)\n");
	print_comm(f, w->comm);
	fprintf(f, "/%u is trying to acquire lock:\n", w->tid);
	print_lock_line(f, v, last->level, last->to, w->new_mode, w->new_ip);
	fprintf(f, "\nbut task is already holding lock:\n");
	print_lock_line(f, v, last->level, last->from, w->held_mode, w->held_ip);
	fprintf(f, "\nwhich lock already depends on the new lock.\n\n");
	if (fd->level == LG_LEVEL_CLASS) {
		fprintf(f, "instances involved (held -> new, first seen by):\n");
		for (uint32_t i = 0; i < fd->nedges; i++)
			print_witness_instances(f, v, &fd->edges[i]);
		fputc('\n', f);
	}
	fprintf(f, "the existing dependency chain (in reverse order) is:\n");
	/* lockdep numbering: #0 is the new lock (closing edge), #n-1 the lock already held */
	for (uint32_t i = fd->nedges - 1; i-- > 0;)
		print_chain_entry(f, v, &fd->edges[i], i + 1);
	print_chain_entry(f, v, last, 0);
	print_scenario(f, v, fd);
}

static const struct klt_rule *finding_rule(const struct klt_view *v, const struct lg_finding *fd)
{
	if (!v->rules || fd->rule < 0 || (size_t)fd->rule >= v->rules->n)
		return NULL;
	return &v->rules->v[fd->rule];
}

static void render_rule(FILE *f, const struct klt_view *v, const struct lg_finding *fd)
{
	const struct klt_rule *r = finding_rule(v, fd);
	const struct lg_edge *e = &fd->edges[0];
	const struct lg_witness *w = &e->first;
	char title[768], e1[512], e2[256];

	if (r)
		snprintf(title, sizeof(title), "lock order rule violated: %s (%s:%u)",
			 ESC(r->text, e1), ESC(r->file, e2), r->line);
	else
		snprintf(title, sizeof(title), "lock order rule violated: rule #%d", fd->rule);
	banner(f, title);
	print_comm(f, w->comm);
	fprintf(f, "/%u (pid %u, cpu %u) at ", w->tid, w->pid, w->cpu);
	print_ts(f, w->ts);
	fprintf(f, " acquired lock:\n");
	print_lock_line(f, v, e->level, e->to, w->new_mode, w->new_ip);
	fprintf(f, "while holding lock:\n");
	print_lock_line(f, v, e->level, e->from, w->held_mode, w->held_ip);
	if (r && r->kind == KLT_RULE_ORDER)
		fprintf(f, "\nbut the rule says %s is taken outside %s.\n", ESC(r->outer, e1),
			ESC(r->inner, e2));
	fprintf(f, "\nobserved edge, %" PRIu64 " time%s; instances:\n", e->count,
		e->count == 1 ? "" : "s");
	print_witness_instances(f, v, e);
	fprintf(f, "\nnew acquisition:\n");
	print_stack(f, v, w->new_stack, "       ");
	fprintf(f, "held since ");
	print_ts(f, w->held_ts);
	fprintf(f, ":\n");
	print_stack(f, v, w->held_stack, "       ");
}

static void print_hold(FILE *f, const struct klt_view *v, const struct lg_hold *h,
		       const char *verb)
{
	char name[NAME_LEN], sym[SYM_LEN];

	print_comm(f, h->comm);
	fprintf(f, "/%u (pid %u, cpu %u) %s:\n", h->tid, h->pid, h->cpu, verb);
	fprintf(f, "  %s (%s, %s) at: %s, ", thold(v, h, name, sizeof(name)),
		nz(klt_lock_kind_name(h->kind), "lock"), mode_str(h->kind, h->mode),
		taddr(v, h->ip, sym, sizeof(sym)));
	print_ts(f, h->ts);
	fputc('\n', f);
	print_stack(f, v, h->stack, "       ");
}

/*
 * The finding does not say which watch-suspend rule fired; find the first one that applies to
 * this kernel and matches the lock's class, as the engine does.
 */
static void print_watch_rule(FILE *f, const struct klt_view *v, const struct lg_hold *h)
{
	const struct lg_lock *l = h->lock != UINT32_MAX ? lg_lock_at(v->eng, h->lock) : NULL;
	const struct lg_class *c = l ? lg_class_at(v->eng, l->class_id) : NULL;

	if (!v->rules || !c || !c->name)
		return;
	for (size_t i = 0; i < v->rules->n; i++) {
		const struct klt_rule *r = &v->rules->v[i];

		if (r->kind != KLT_RULE_WATCH_SUSPEND || !klt_rule_applies(r, v->kernel_version) ||
		    !klt_glob_match(r->outer, c->name))
			continue;
		char e1[512], e2[256];

		fprintf(f, "rule: %s (%s:%u)\n", ESC(r->text, e1), ESC(r->file, e2), r->line);
		return;
	}
}

static void render_hold_finding(FILE *f, const struct klt_view *v, const struct lg_finding *fd)
{
	const struct lg_hold *h = &fd->hold;
	char sym[SYM_LEN];

	switch (fd->kind) {
	case LG_F_SUSPEND_HOLDER:
		banner(f, "lock held when a suspend/resume phase began");
		fprintf(f, "phase %s began at ", nz(klt_pm_phase_name(fd->phase), "?"));
		print_ts(f, fd->ts);
		fprintf(f, " while a lock that must not be held across suspend was held\n");
		print_watch_rule(f, v, h);
		print_hold(f, v, h, "holds");
		break;
	case LG_F_ATOMIC_SLEEP:
		banner(f, "sleeping lock taken in an atomic CPU-hotplug callback");
		fprintf(f, "callback %s (cpu %u, state %u, index %d) runs in the STARTING/DYING\n"
			   "section with interrupts off and must not sleep.\n",
			taddr(v, fd->cb, sym, sizeof(sym)), fd->cb_cpu, fd->cb_state,
			fd->cb_idx);
		print_hold(f, v, h, "acquired");
		break;
	case LG_F_UNBALANCED:
		banner(f, "bad unlock balance detected!");
		print_hold(f, v, h, "is trying to release a lock");
		fprintf(f, "but the task does not hold it (tracing may have started while it was "
			   "held).\n");
		break;
	case LG_F_HELD_AT_EXIT:
		banner(f, "task exited with a lock held");
		print_hold(f, v, h, "exited holding");
		break;
	case LG_F_DEPTH_OVERFLOW:
		banner(f, "held-lock stack overflow");
		fprintf(f, "the task holds more locks than the configured depth; edges from the\n"
			   "locks beyond it are not recorded.\n");
		print_hold(f, v, h, "acquired");
		break;
	default:
		banner(f, "unknown finding");
		fprintf(f, "finding kind %u\n", fd->kind);
		break;
	}
}

int klt_render_finding_text(FILE *f, const struct klt_view *v, const struct lg_finding *fd)
{
	bool edged = fd && fd->nedges && fd->edges;

	if (!f || !v || !v->eng || !fd)
		return -EINVAL;
	if (fd->kind == LG_F_CYCLE && edged) {
		render_cycle(f, v, fd);
	} else if (fd->kind == LG_F_RULE && edged) {
		render_rule(f, v, fd);
	} else if (fd->kind == LG_F_CYCLE || fd->kind == LG_F_RULE) {
		/* not produced by the engine; say so rather than crash on a malformed finding */
		banner(f, fd->kind == LG_F_CYCLE ? "possible circular locking dependency detected"
						 : "lock order rule violated");
		fprintf(f, "(finding #%u carries no edges)\n", fd->seq);
	} else {
		render_hold_finding(f, v, fd);
	}
	return ferror(f) ? -EIO : 0;
}

/* A counter's name (not NUL-terminated when it fills its array), escaped. */
static const char *counter_name(const struct klt_counter *c, char *buf, size_t len)
{
	char n[sizeof(c->name) + 1];

	snprintf(n, sizeof(n), "%.*s", (int)sizeof(c->name), c->name);
	return klt_render_esc(n, buf, len);
}

/* Cycles that are not findings (docs/engine.md, "Guard locks"): one line, with their guards. */
static void render_guarded(FILE *f, const struct klt_view *v)
{
	size_t ng = lg_nguarded(v->eng), shown = 0;
	char name[NAME_LEN];

	if (!ng)
		return;
	fprintf(f, "  guarded cycles (not findings): %zu (by ", ng);
	for (size_t i = 0; i < ng; i++) {
		uint32_t g = lg_guarded_at(v->eng, i)->guard;
		size_t j;

		/* each guard once, in order of first use; a few at most */
		for (j = 0; j < i && lg_guarded_at(v->eng, j)->guard != g; j++)
			;
		if (j < i)
			continue;
		if (shown == 3) {
			fprintf(f, ", ...");
			break;
		}
		fprintf(f, "%s%s", shown++ ? ", " : "", tlock(v, g, name, sizeof(name)));
	}
	fprintf(f, ")\n");
}

static void render_summary(FILE *f, const struct klt_view *v)
{
	const struct lg_stats *st = lg_get_stats(v->eng);
	uint64_t by_kind[LG_F_MAX] = { 0 };
	size_t nf = lg_nfindings(v->eng);
	bool first = true;
	char e[512];

	for (size_t i = 0; i < nf; i++) {
		const struct lg_finding *fd = lg_finding_at(v->eng, i);

		if (fd && fd->kind < LG_F_MAX)
			by_kind[fd->kind]++;
	}
	fprintf(f, "\nSummary");
	if (v->source)
		fprintf(f, " of %s", ESC(v->source, e));
	if (v->trace && v->trace->info.kernel_release[0])
		fprintf(f, " (kernel %s)", ESC(v->trace->info.kernel_release, e));
	fprintf(f, ":\n");
	if (st)
		fprintf(f, "  events: %" PRIu64 ", tasks: %" PRIu64 ", acquisitions: %" PRIu64
			   ", releases: %" PRIu64 "\n",
			st->events, st->tasks, st->acquisitions, st->releases);
	fprintf(f, "  locks: %zu, classes: %zu, edges: %zu instance / %zu class\n",
		lg_nlocks(v->eng), lg_nclasses(v->eng), lg_nedges(v->eng, LG_LEVEL_INSTANCE),
		lg_nedges(v->eng, LG_LEVEL_CLASS));
	if (v->rules) {
		size_t napply = 0;

		for (size_t i = 0; i < v->rules->n; i++)
			napply += klt_rule_applies(&v->rules->v[i], v->kernel_version);
		fprintf(f, "  rules: %zu loaded, %zu apply to kernel ", v->rules->n, napply);
		if (v->kernel_version)
			fprintf(f, "%u.%u\n", v->kernel_version / 1000, v->kernel_version % 1000);
		else
			fprintf(f, "(unknown: only unscoped rules)\n");
	}
	fprintf(f, "  findings: %zu", nf);
	for (unsigned k = 0; k < LG_F_MAX; k++) {
		if (!by_kind[k])
			continue;
		fprintf(f, "%s%s %" PRIu64, first ? " (" : ", ", nz(klt_render_kind_name(k), "?"),
			by_kind[k]);
		first = false;
	}
	fprintf(f, "%s\n", first ? "" : ")");
	render_guarded(f, v);
	if (st && (st->unknown_events || st->depth_overflows || st->unbalanced))
		fprintf(f, "  engine: %" PRIu64 " unknown events, %" PRIu64 " depth overflows, %" PRIu64
			   " unbalanced releases\n",
			st->unknown_events, st->depth_overflows, st->unbalanced);
	if (!v->trace)
		return;
	if (v->trace->ncounters) {
		fprintf(f, "  counters:");
		for (size_t i = 0; i < v->trace->ncounters; i++)
			fprintf(f, "%s %s=%" PRIu64, i ? "," : "",
				counter_name(&v->trace->counters[i], e, sizeof(e)),
				v->trace->counters[i].value);
		fputc('\n', f);
	}
	for (size_t i = 0; i < v->trace->ncounters; i++) {
		const struct klt_counter *c = &v->trace->counters[i];

		/* a counted loss must be impossible to miss; activity counters are only listed */
		if (c->value && klt_counter_is_drop(c->name))
			fprintf(f, "  WARNING: %s = %" PRIu64
				   ": the trace is incomplete, findings may be missing\n",
				counter_name(c, e, sizeof(e)), c->value);
	}
}

int klt_render_text(FILE *f, const struct klt_view *v)
{
	size_t nf;
	int err;

	if (!f || !v || !v->eng)
		return -EINVAL;
	nf = lg_nfindings(v->eng);
	for (size_t i = 0; i < nf; i++) {
		const struct lg_finding *fd = lg_finding_at(v->eng, i);

		if (!fd)
			continue;
		err = klt_render_finding_text(f, v, fd);
		if (err)
			return err;
	}
	if (!nf) {
		char why[256];

		fprintf(f, "No lock-order problems found.\n");
		if (klt_trace_completeness(v->trace, why, sizeof(why)) != KLT_COMPLETE)
			fprintf(f, "This is not a clean verdict: the recording is incomplete (%s).\n",
				why);
	}
	render_summary(f, v);
	return ferror(f) ? -EIO : 0;
}
