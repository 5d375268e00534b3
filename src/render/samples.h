/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sample model for profile exports (folded, perf-script, perf.data): one sample per acquisition,
 * weighted by its hold time, its wait time or 1, with the task, the time, the symbolized frames
 * of its acquisition stack (innermost first, kernel or user) and the lock's class name.
 * Pure C (no I/O): frames are formatted like the text report (klt_render_addr), so every output
 * names a frame and a lock the same way.
 */
#ifndef KLT_SAMPLES_H
#define KLT_SAMPLES_H

#include <stdbool.h>
#include <stdint.h>

#include "render.h"
#include "stats.h"

enum klt_weight {
	KLT_WEIGHT_HOLD = 0, /* hold ns; acquisitions never released are skipped */
	KLT_WEIGHT_WAIT = 1, /* wait ns (attempt -> acquired, else contention); none: skipped */
	KLT_WEIGHT_COUNT = 2 /* 1 per acquisition */
};

struct klt_sample {
	uint32_t pid, tid, cpu;
	uint64_t time;		    /* ns, the trace clock: acquisition (or contention begin) */
	uint64_t period;	    /* the weight */
	const char *comm;
	const char *lock;	    /* lock class name (klt_class_name), or the lock's own name */
	uint64_t lock_addr;
	unsigned nframes;
	const char *const *frames;  /* innermost first: "sym+0xoff [module]" or "0x<hex>"; the
				       tracer's own fentry trampoline/program frames left out */
	const char *const *funcs;   /* the same frames as function names only ("sym") */
	const char *const *dsos;    /* module of each frame, NULL for vmlinux / unknown */
	const uint64_t *addrs;	    /* frame addresses (0 when redacted) */
	bool kernel;		    /* frames are kernel addresses */
	const struct klt_acq *acq;  /* the acquisition it came from */
};

struct klt_sample_opts {
	enum klt_weight weight;
	const char *lock_glob; /* only locks whose class name matches (klt_glob_match: * and ?,
			       as in rules), NULL = all */
};

struct klt_sample_iter;

/* NULL on ENOMEM. v and s must outlive the iterator. */
struct klt_sample_iter *klt_samples_begin(const struct klt_view *v, const struct klt_stats *s,
					  const struct klt_sample_opts *o);
/* 1: *out holds the next sample (its strings valid until the next call); 0: end; <0: -errno. */
int klt_samples_next(struct klt_sample_iter *it, struct klt_sample *out);
void klt_samples_end(struct klt_sample_iter *it);
/* Does the acquisition carry the weight (else it yields no sample)? */
bool klt_sample_weight(const struct klt_acq *a, enum klt_weight w, uint64_t *val);
int klt_weight_from_name(const char *name); /* -1 if unknown */
/* Name of the lock of an acquisition as samples, chrome and stats call it. */
const char *klt_acq_lock_name(const struct klt_view *v, const struct klt_acq *a, char *buf,
			      size_t len);

#endif
