/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The in-memory trace: plain data (header, symbols, stacks, events, counters) and what the core
 * decides from it (is a recording complete?). Its two on-disk forms are read and written by
 * src/io/ (traceio.h); nothing here does I/O.
 */
#ifndef KLT_TRACE_H
#define KLT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "klt_abi.h"
#include "symtab.h"

#define KLT_TRACE_MAGIC "KLTRACE\0" /* 8 bytes at offset 0 of a binary trace */
#define KLT_FORMAT_VERSION 1
#define KLT_MAX_COUNTERS 32
/* Header strings. Empty string = unknown. */
struct klt_trace_info {
	uint32_t format_version;  /* of the file that was read; KLT_FORMAT_VERSION when written */
	char tool_version[32];	  /* kvmlocktrace version that recorded it */
	char kernel_release[128]; /* uname -r of the traced kernel */
	char machine[32];	  /* uname -m */
	char hostname[64];
	char clock[16];		  /* "monotonic" */
	char attach_mode[16];	  /* "fentry", "kprobe", "tracepoint", "uprobe", "text", ... */
	uint64_t start_realtime_ns; /* wall clock at start, 0 if unknown */
};

/* A named counter: drops (ringbuf_full, map_full, stack_fail, depth_overflow, missed_release...). */
struct klt_counter {
	char name[32];
	uint64_t value;
};

/* Stack ids beyond this are corruption, not data: the table is dense (indexed by id), so a huge
 * id must not cost memory; this bounds it at 16 MiB. Every reader and writer checks it. */
#define KLT_MAX_STACK_ID (1 << 20)

struct klt_stack {
	uint32_t nr;   /* frames, 0 = empty */
	uint64_t *ips; /* ips[0] = innermost frame */
};

struct klt_trace {
	struct klt_trace_info info;
	struct klt_symtab *syms;
	/* Stack table: stack_id is the index. Ids are dense from 0; unused ids have nr == 0. */
	struct klt_stack *stacks;
	size_t nstacks, stacks_cap;
	struct klt_event *events;
	size_t nevents, events_cap;
	struct klt_counter counters[KLT_MAX_COUNTERS];
	size_t ncounters;
};

/* Error report of readers/writers: one line, "FILE: offset N: what" or "FILE:LINE:COL: what". */
struct klt_err {
	char msg[512];
};

/* Reader results: 0 = complete; KLT_TRUNCATED = the complete prefix was loaded, err says where
 * and how many bytes were lost; negative errno = nothing usable (err says why). */
#define KLT_TRUNCATED 1

void klt_trace_init(struct klt_trace *t);   /* empty trace with a new symtab (abort-free: check syms) */
void klt_trace_free(struct klt_trace *t);
int klt_trace_add_event(struct klt_trace *t, const struct klt_event *ev);
/* Store a stack at id (grows the table); copies ips. */
int klt_trace_set_stack(struct klt_trace *t, int32_t id, const uint64_t *ips, uint32_t nr);
const struct klt_stack *klt_trace_stack(const struct klt_trace *t, int32_t id); /* NULL if none */
/* Add to (or create) a named counter. */
int klt_trace_add_counter(struct klt_trace *t, const char *name, uint64_t value);
/* The index of the counter of this name among c[0..n), or n when there is none. */
size_t klt_counter_find(const struct klt_counter *c, size_t n, const char *name);
/* The counter of this name among c[0..*n), appended (value 0) when there is none; NULL when
 * there is none and no room (*n == KLT_MAX_COUNTERS). name must fit klt_counter.name. */
struct klt_counter *klt_counter_get(struct klt_counter *c, size_t *n, const char *name);

/* Is a recording counter a loss (ringbuf_full, stack_fail, trace_truncated, ...) rather than an
 * activity count? */
bool klt_counter_is_drop(const char *name);
/* Does a non-zero value of this drop counter mean dependencies may be missing (ringbuf_full,
 * edge_map_full, task_map_full, depth_overflow, trace_truncated), not just detail (stack_fail,
 * missed_release)? Only those make a recording incomplete. */
bool klt_counter_loses_events(const char *name);

/*
 * Is this a complete recording of something that ran? A verdict of "clean" is only given for a
 * complete one (docs/trace-format.md, "When a recording is complete"). Returns
 * KLT_COMPLETE or one KLT_INCOMPLETE_* reason, with one line in why (may be NULL).
 */
enum klt_completeness {
	KLT_COMPLETE = 0,
	KLT_INCOMPLETE_EMPTY,	  /* no events and no attach mode: an empty file, comments only */
	KLT_INCOMPLETE_TRUNCATED, /* cut off or unfinished: no end marker, a damaged chunk */
	KLT_INCOMPLETE_LOST,	  /* a drop counter is non-zero: events were lost while recording */
	KLT_INCOMPLETE_BLIND,	  /* recorded in a mode that cannot see lock acquisitions */
};
enum klt_completeness klt_trace_completeness(const struct klt_trace *t, char *why, size_t len);
/* The same from its parts (live tracing keeps counts, not the events). */
enum klt_completeness klt_completeness(const struct klt_counter *c, size_t nc, uint64_t nevents,
				       const char *attach_mode, char *why, size_t len);
/* The counter a reader adds (and the text form keeps) when it loaded only a prefix. */
#define KLT_COUNTER_TRUNCATED "trace_truncated"

/* Names used by both text and reports. Return NULL for unknown values. */
const char *klt_ev_type_name(unsigned type);	  /* "lock", "unlock", ... text op names */
const char *klt_lock_kind_name(unsigned kind);	  /* "mutex", "rwsem", "percpu-rwsem", ... */
const char *klt_mode_name(unsigned mode);	  /* "write", "read", "rread" */
const char *klt_pm_phase_name(unsigned phase);	  /* "suspend_enter", "dpm_suspend", ... */
int klt_lock_kind_from_name(const char *s);	  /* -1 if unknown */
int klt_pm_phase_from_name(const char *s);	  /* KLT_PM_OTHER for unknown names */

#endif
