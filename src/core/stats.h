/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Lock-time statistics: acquisitions, contention, wait and hold times per lock class and per
 * acquisition stack (klockstat's numbers, plus percpu-rwsem read holds and SRCU read sections).
 * Pure C: no stdio, no libbpf. Built from the decoded events after the engine has seen them, so
 * that lock classes are the engine's (lg_lock_at / lg_class_at) and reports name them alike.
 *
 * Pairing, per task (tid):
 *   ATTEMPT(l) ... ACQUIRED(l)         wait = acquired - attempt; ACQUIRED alone: wait unknown
 *   CONTEND_BEGIN(l) ... CONTEND_END(l) contention time; attached to the pending ATTEMPT of l
 *                                       (the acquisition then counts as contended), else kept
 *                                       as a contention-only record
 *   ACQUIRED/TRY_OK(l) ... RELEASE(l)  hold = release - acquired (most recent hold of l)
 *   SRCU_READ_LOCK(s) ... SRCU_READ_UNLOCK(s)  read-section hold
 *   SRCU_SYNC(s)                       an acquisition of no measurable hold
 * Holds still open at TASK_EXIT or at the end of the trace have no hold time.
 * The held stacks and the pending ATTEMPT are the held-lock pairing pass's (held.h) with the
 * statistics' rules: unbounded stacks, RELEASE pairs only with non-SRCU holds and
 * SRCU_READ_UNLOCK only with SRCU read holds, TRY_FAIL of the pending lock ends the ATTEMPT
 * (docs/engine.md, "Held-lock pairing").
 */
#ifndef KLT_STATS_H
#define KLT_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "klt_abi.h"
#include "lockgraph.h"

#define KLT_HIST_BUCKETS 65 /* bucket 0: value 0; bucket i > 0: [2^(i-1), 2^i) */
#define KLT_NO_CLASS UINT32_MAX

enum klt_acq_type {
	KLT_ACQ_BLOCK = 0,   /* ACQUIRED (blocking acquire) */
	KLT_ACQ_TRY = 1,     /* TRY_OK */
	KLT_ACQ_SRCU_READ = 2,
	KLT_ACQ_SRCU_SYNC = 3,
	KLT_ACQ_CONTENTION = 4, /* a contention interval matched to no acquisition */
};

/* One acquisition (or contention-only interval), in order of acquisition. */
struct klt_acq {
	uint64_t lock;	    /* lock address */
	uint32_t class_id;  /* engine class, KLT_NO_CLASS if the engine has no instance for it */
	uint32_t pid, tid, cpu;
	char comm[KLT_COMM_LEN];
	uint64_t ts;	    /* acquired (or contention begin) */
	uint64_t wait_ns;   /* attempt -> acquired, valid when has_wait */
	uint64_t contend_ns; /* contention begin -> end, valid when contended */
	uint64_t hold_ns;   /* acquired -> release, valid when released */
	uint64_t ip;
	int32_t stack_id;
	uint8_t type;	    /* enum klt_acq_type */
	uint8_t kind, mode;
	bool has_wait, contended, released;
	bool implicit;	    /* KLT_F_IMPLICIT */
};

/*
 * The histogram stores only the buckets from the lowest to the highest one used (a lock's times
 * usually span a few powers of two): a full 65-bucket array per metric made every statistics
 * entry 1.7 KB. Read it with klt_metric_bucket().
 */
struct klt_metric {
	uint64_t count, total, max;
	uint64_t *hist;		/* buckets hist_lo .. hist_lo + hist_n - 1; NULL when none */
	uint8_t hist_lo, hist_n;
};

/* Totals of one lock class, or of one (class, acquisition stack) pair. */
struct klt_stat {
	uint32_t class_id;  /* KLT_NO_CLASS: then lock names it */
	uint64_t lock;	    /* first lock address seen */
	uint8_t kind;
	int32_t stack_id;   /* per-stack entries: the stack (KLT_NO_STACK: keyed by ip) */
	uint64_t ip;	    /* per-stack entries: call site of the first acquisition */
	uint64_t ckey;	    /* class key: equal for a class entry and its per-stack entries */
	uint64_t acquisitions, contended, try_fail;
	struct klt_metric wait, contention, hold;
};

struct klt_stats {
	struct klt_acq *acqs;
	size_t nacqs, acqs_cap;
	struct klt_stat *classes;
	size_t nclasses, classes_cap;
	struct klt_stat *stacks;
	size_t nstacks, stacks_cap;
	uint64_t unmatched_releases; /* RELEASE of a lock the task was not seen holding */
	uint64_t open_holds;	     /* held at exit or at the end of the trace */
};

enum klt_stats_key {
	KLT_SORT_ACQ = 0,   /* acquisitions */
	KLT_SORT_CONTENDED,
	KLT_SORT_WAIT,	    /* total wait (attempt -> acquired, plus contention-only time) */
	KLT_SORT_HOLD,	    /* total hold */
	KLT_SORT_MAX_WAIT,
	KLT_SORT_MAX_HOLD,
	KLT_SORT_AVG_WAIT,
	KLT_SORT_AVG_HOLD,
	KLT_SORT_MAX_KEY
};

/* 0 or -ENOMEM (s is then freed). eng must have been fed the same events. */
int klt_stats_build(struct klt_stats *s, const struct lg_engine *eng, const struct klt_event *ev,
		    size_t n);
void klt_stats_free(struct klt_stats *s);
/* Stable sort, descending by key; ties by acquisitions, then first seen first. */
void klt_stats_sort(struct klt_stat *e, size_t n, enum klt_stats_key key);
/* The same order as klt_stats_sort() as indices into e (idx: n entries); 0 or -ENOMEM. */
int klt_stats_order(const struct klt_stat *e, size_t n, enum klt_stats_key key, size_t *idx);
int klt_stats_key_from_name(const char *name); /* -1 if unknown */
const char *klt_stats_key_name(unsigned key);
int klt_metric_add(struct klt_metric *m, uint64_t v); /* 0 or -ENOMEM (m unchanged) */
uint64_t klt_metric_bucket(const struct klt_metric *m, unsigned bucket); /* count in a bucket */
void klt_metric_free(struct klt_metric *m);
unsigned klt_hist_bucket(uint64_t v);
uint64_t klt_hist_lo(unsigned bucket); /* smallest value of the bucket */
uint64_t klt_hist_hi(unsigned bucket); /* largest value of the bucket */
/* Wait of an acquisition as reports use it: attempt -> acquired, else the contention time. */
bool klt_acq_wait(const struct klt_acq *a, uint64_t *ns);

#endif
