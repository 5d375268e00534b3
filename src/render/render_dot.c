// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Graphviz DOT of the lock graph (conventions: docs/report-formats.md). Class graph by default,
 * because it stays readable with many VMs; cycle edges red and bold, rule-violating edges orange
 * and dashed, so the picture shows the finding without reading the report.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "render.h"
#include "render_priv.h"

#define NAME_LEN 256
#define MARK_CYCLE 1u
#define MARK_RULE 2u

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static uint32_t class_of(const struct klt_view *v, uint32_t lock)
{
	const struct lg_lock *l = lg_lock_at(v->eng, lock);

	return l ? l->class_id : UINT32_MAX;
}

/*
 * Marks of the finding edges, hashed by (from, to) once: looking every drawn edge up in every
 * finding was edges x finding edges. `same` holds pairs at the drawn level; `other` the class
 * pairs of finding edges at the other level (compared by class, as edge_matches() did).
 */
/* (from, to) -> marks, on the container module's map (k2 unused). */
static int ps_add(struct klt_hmap *ps, uint64_t k, unsigned m)
{
	uint32_t *v;

	if (klt_hmap_reserve(ps, 1))
		return -ENOMEM;
	v = klt_hmap_upsert(ps, k, 0, 0);
	*v |= m;
	return 0;
}

static unsigned ps_get(const struct klt_hmap *ps, uint64_t k)
{
	uint32_t v = klt_hmap_find(ps, k, 0);

	return v == KLT_NIL ? 0 : v;
}

static uint64_t pair(uint32_t from, uint32_t to)
{
	return (uint64_t)from << 32 | to;
}

struct marks {
	struct klt_hmap same, other;
};

static void marks_free(struct marks *mk)
{
	klt_hmap_free(&mk->same);
	klt_hmap_free(&mk->other);
}

static int marks_build(struct marks *mk, const struct klt_view *v, unsigned level)
{
	size_t nf = lg_nfindings(v->eng);

	for (size_t i = 0; i < nf; i++) {
		const struct lg_finding *fd = lg_finding_at(v->eng, i);
		unsigned bit;

		if (!fd || !fd->edges)
			continue;
		if (fd->kind == LG_F_CYCLE)
			bit = MARK_CYCLE;
		else if (fd->kind == LG_F_RULE)
			bit = MARK_RULE;
		else
			continue;
		for (uint32_t k = 0; k < fd->nedges; k++) {
			const struct lg_edge *fe = &fd->edges[k];
			int err;

			if (fe->level == level)
				err = ps_add(&mk->same, pair(fe->from, fe->to), bit);
			else if (fe->level == LG_LEVEL_INSTANCE) /* drawn: classes */
				err = ps_add(&mk->other,
					     pair(class_of(v, fe->from), class_of(v, fe->to)), bit);
			else
				err = ps_add(&mk->other, pair(fe->from, fe->to), bit);
			if (err)
				return err;
		}
	}
	return 0;
}

static unsigned edge_marks(const struct klt_view *v, const struct marks *mk,
			   const struct lg_edge *e)
{
	unsigned m = ps_get(&mk->same, pair(e->from, e->to));

	if (e->level == LG_LEVEL_CLASS)
		m |= ps_get(&mk->other, pair(e->from, e->to));
	else
		m |= ps_get(&mk->other, pair(class_of(v, e->from), class_of(v, e->to)));
	return m;
}

/*
 * Nodes to draw: everything, or those within radius hops (either direction) of a node whose
 * name matches the focus pattern. Returns -ENOENT when nothing matches.
 */
static int select_nodes(const struct klt_view *v, unsigned level, size_t nnodes,
			const struct klt_dot_opts *o, unsigned *dist)
{
	size_t nedges = lg_nedges(v->eng, level);
	unsigned radius = o->radius ? o->radius : 1;
	char name[NAME_LEN];
	bool any = false;

	for (size_t i = 0; i < nnodes; i++) {
		dist[i] = UINT32_MAX;
		if (!o->focus) {
			dist[i] = 0;
			continue;
		}
		klt_node_name(v, level, (uint32_t)i, name, sizeof(name));
		if (!strcmp(name, o->focus) || klt_glob_match(o->focus, name)) {
			dist[i] = 0;
			any = true;
		}
	}
	/* a class picture may be focused on an instance name and vice versa */
	for (size_t i = 0; o->focus && !any && i < lg_nlocks(v->eng); i++) {
		uint32_t node = level == LG_LEVEL_CLASS ? class_of(v, (uint32_t)i) : (uint32_t)i;

		if (level == LG_LEVEL_CLASS)
			klt_lock_name(v, (uint32_t)i, name, sizeof(name));
		else
			klt_class_name(v, class_of(v, (uint32_t)i), name, sizeof(name));
		if (node < nnodes && klt_glob_match(o->focus, name))
			dist[node] = 0;
	}
	for (size_t i = 0; o->focus && !any && i < nnodes; i++)
		any = dist[i] == 0;
	if (o->focus && !any)
		return -ENOENT;
	for (unsigned r = 1; o->focus && r <= radius; r++) {
		for (size_t i = 0; i < nedges; i++) {
			const struct lg_edge *e = lg_edge_at(v->eng, level, i);

			if (!e || e->from >= nnodes || e->to >= nnodes)
				continue;
			if (dist[e->from] == r - 1 && dist[e->to] > r)
				dist[e->to] = r;
			if (dist[e->to] == r - 1 && dist[e->from] > r)
				dist[e->from] = r;
		}
	}
	return 0;
}

static void put_node(FILE *f, const struct klt_view *v, unsigned level, uint32_t id, bool focus)
{
	char name[NAME_LEN], label[NAME_LEN + 96];

	klt_node_name(v, level, id, name, sizeof(name));
	if (level == LG_LEVEL_CLASS) {
		const struct lg_class *c = lg_class_at(v->eng, id);
		const char *k = c ? klt_lock_kind_name(c->kind) : NULL;
		uint32_t n = c ? c->ninstances : 0;

		snprintf(label, sizeof(label), "%s\n%s, %u instance%s", name, k ? k : "lock", n,
			 n == 1 ? "" : "s");
	} else {
		const struct lg_lock *l = lg_lock_at(v->eng, id);
		const char *k = l ? klt_lock_kind_name(l->kind) : NULL;
		uint64_t n = l ? l->acquisitions : 0;

		snprintf(label, sizeof(label), "%s\n%s, %" PRIu64 " acquisition%s", name,
			 k ? k : "lock", n, n == 1 ? "" : "s");
	}
	fprintf(f, "\tn%u [label=\"", id);
	put_escaped(f, label);
	fprintf(f, "\"%s];\n", focus ? ", penwidth=2" : "");
}

static void put_edge(FILE *f, const struct klt_view *v, const struct marks *mk,
		     const struct lg_edge *e)
{
	static const char *const tn[] = { "EN", "ER", "SN", "SR" };
	unsigned m = edge_marks(v, mk, e);
	bool first = true;

	fprintf(f, "\tn%u -> n%u [label=\"%" PRIu64 "\\n", e->from, e->to, e->count);
	for (unsigned i = 0; i < 4; i++) {
		if (e->types & (1u << i)) {
			fprintf(f, "%s%s", first ? "" : ",", tn[i]);
			first = false;
		}
	}
	fputc('"', f);
	if (m & MARK_CYCLE)
		fprintf(f, ", color=red, fontcolor=red, penwidth=2.5, style=\"bold%s\"",
			m & MARK_RULE ? ",dashed" : "");
	else if (m & MARK_RULE)
		fprintf(f, ", color=orange, fontcolor=orange, penwidth=2, style=dashed");
	fprintf(f, "];\n");
}

int klt_render_dot_focus_check(const struct klt_view *v, const struct klt_dot_opts *o)
{
	unsigned level, *dist;
	size_t nnodes;
	int err;

	if (!v || !v->eng)
		return -EINVAL;
	if (!o || !o->focus)
		return 0;
	level = o->classes ? LG_LEVEL_CLASS : LG_LEVEL_INSTANCE;
	nnodes = level == LG_LEVEL_CLASS ? lg_nclasses(v->eng) : lg_nlocks(v->eng);
	dist = calloc(nnodes ? nnodes : 1, sizeof(*dist));
	if (!dist)
		return -ENOMEM;
	err = select_nodes(v, level, nnodes, o, dist);
	free(dist);
	return err;
}

int klt_render_dot(FILE *f, const struct klt_view *v, const struct klt_dot_opts *o)
{
	struct klt_dot_opts dflt = { .classes = true, .focus = NULL, .radius = 1 };
	unsigned level, *dist = NULL;
	struct marks mk = { 0 };
	size_t nnodes, nedges;
	int err;

	if (!f || !v || !v->eng)
		return -EINVAL;
	if (!o)
		o = &dflt;
	level = o->classes ? LG_LEVEL_CLASS : LG_LEVEL_INSTANCE;
	nnodes = level == LG_LEVEL_CLASS ? lg_nclasses(v->eng) : lg_nlocks(v->eng);
	nedges = lg_nedges(v->eng, level);
	dist = calloc(nnodes ? nnodes : 1, sizeof(*dist));
	if (!dist)
		return -ENOMEM;
	err = select_nodes(v, level, nnodes, o, dist);
	if (!err)
		err = marks_build(&mk, v, level);
	if (err)
		goto out;

	fprintf(f, "digraph kvmlocktrace {\n");
	fprintf(f, "\tgraph [rankdir=LR, fontname=\"monospace\", labelloc=t, label=\"");
	put_escaped(f, v->source ? v->source : "kvmlocktrace");
	fprintf(f, ": %s graph%s", level == LG_LEVEL_CLASS ? "lock class" : "lock instance",
		o->focus ? " around " : "");
	if (o->focus)
		put_escaped(f, o->focus);
	fprintf(f, "\"];\n");
	fprintf(f, "\tnode [shape=box, fontname=\"monospace\"];\n");
	fprintf(f, "\tedge [fontname=\"monospace\", fontsize=10];\n");
	for (size_t i = 0; i < nnodes; i++) {
		if (dist[i] != UINT32_MAX)
			put_node(f, v, level, (uint32_t)i, o->focus && dist[i] == 0);
	}
	for (size_t i = 0; i < nedges; i++) {
		const struct lg_edge *e = lg_edge_at(v->eng, level, i);

		if (!e || e->from >= nnodes || e->to >= nnodes)
			continue;
		if (dist[e->from] == UINT32_MAX || dist[e->to] == UINT32_MAX)
			continue;
		put_edge(f, v, &mk, e);
	}
	fprintf(f, "}\n");
	err = ferror(f) ? -EIO : 0;
out:
	marks_free(&mk);
	free(dist);
	return err;
}
