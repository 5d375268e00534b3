/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Renderers: read the engine's results, never feed it. Text (lockdep-style), JSON, DOT. */
#ifndef KLT_RENDER_H
#define KLT_RENDER_H

#include <stdio.h>

#include "lockgraph.h"
#include "rules.h"
#include "stats.h"
#include "trace.h"

struct klt_view {
	const struct lg_engine *eng;
	struct klt_trace *trace;       /* symbols, stacks, header info, counters */
	const struct klt_rules *rules; /* may be NULL */
	unsigned kernel_version;       /* rules scope used, 0 = unknown */
	const char *source;	       /* file name shown in reports */
	bool redact;		       /* print kernel addresses as 0x<redacted> */
	const struct klt_stats *stats; /* lock-time statistics, NULL = not computed */
	bool findings_only;	       /* json: no "graph" and no "stats" (--findings-only) */
};

/* Lock names. Class: symbol / explicit class name / "<kind>@<site>" for inferred classes.
 * Instance: symbol for static locks, else "<class>@0x<addr>". Return buf. */
const char *klt_class_name(const struct klt_view *v, uint32_t class_id, char *buf, size_t len);
const char *klt_lock_name(const struct klt_view *v, uint32_t lock_idx, char *buf, size_t len);
/* Node name of an edge endpoint at its level. */
const char *klt_node_name(const struct klt_view *v, unsigned level, uint32_t node, char *buf,
			  size_t len);

/* One finding, lockdep style (used live and in reports). */
int klt_render_finding_text(FILE *f, const struct klt_view *v, const struct lg_finding *fd);
/* Full text report: every finding, then a summary (events, locks, classes, edges, findings by
 * kind, counters/drops). */
int klt_render_text(FILE *f, const struct klt_view *v);
/* JSON, schema docs/json-schema.json (version field "schema": "kvmlocktrace/v2"). */
int klt_render_json(FILE *f, const struct klt_view *v);

struct klt_dot_opts {
	bool classes;	    /* draw the class graph (default) instead of instances */
	const char *focus;  /* NULL or a lock/class name: draw only its neighbourhood */
	unsigned radius;    /* neighbourhood radius for focus (default 1) */
};
/* 0 when o->focus (if any) names or matches a lock or class of the graph, else -ENOENT: lets the
 * command line say so before it creates an output file. */
int klt_render_dot_focus_check(const struct klt_view *v, const struct klt_dot_opts *o);
/* Graphviz DOT of the lock graph; cycle edges red, rule-violating edges orange dashed. */
int klt_render_dot(FILE *f, const struct klt_view *v, const struct klt_dot_opts *o);

/* Lock-time statistics table (report --stats), klockstat-like, 80 columns unless wide. */
struct klt_stats_opts {
	unsigned sort;	    /* enum klt_stats_key */
	unsigned top;	    /* classes shown, 0 = all */
	unsigned stack_rows; /* acquisition sites shown under each class */
	bool hist;	    /* log2 histograms of wait and hold per class shown */
};
int klt_render_stats(FILE *f, const struct klt_view *v, const struct klt_stats_opts *o);

struct klt_sample_opts;
/* Folded stacks: "comm;outer;...;inner;lock weight", identical stacks summed, sorted. */
int klt_render_folded(FILE *f, const struct klt_view *v, const struct klt_sample_opts *o);
/* `perf script` text layout, one sample per acquisition; the lock is the innermost frame. */
int klt_render_perf_script(FILE *f, const struct klt_view *v, const struct klt_sample_opts *o);
/* Trace Event Format JSON: hold intervals per task as complete ("X") events. */
int klt_render_chrome(FILE *f, const struct klt_view *v, const struct klt_sample_opts *o);
/* perf.data (src/io/perfdata.c) at path: one sample per acquisition, call chain = the lock
 * ("lock:NAME", innermost) then its stack; event klt:hold-ns / klt:wait-ns / klt:acquire.
 * 0, or <0 with a one-line reason naming the file in err. */
int klt_render_perf_data(const char *path, bool force, const struct klt_view *v,
			 const struct klt_sample_opts *o, char *err, size_t errlen);

#endif
