/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The two on-disk forms of a trace: the versioned, chunked binary trace file
 * (docs/trace-format.md) and the line-oriented text form (docs/text-format.md). Readers fill a
 * struct klt_trace (core/trace.h); the streaming writer is what live tracing records with.
 */
#ifndef KLT_TRACEIO_H
#define KLT_TRACEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace.h"

/* Largest text-form trace klt_trace_load() reads (docs/text-format.md); the binary form has none. */
#define KLT_TEXT_MAX_BYTES ((size_t)256 << 20)

/* Binary trace file. */
int klt_trace_read_file(const char *path, struct klt_trace *t, struct klt_err *err);
int klt_trace_read_buf(const void *buf, size_t len, const char *name, struct klt_trace *t,
		       struct klt_err *err);
/* Text form. */
int klt_text_parse(const char *buf, size_t len, const char *name, struct klt_trace *t,
		   struct klt_err *err);
int klt_text_write(FILE *f, struct klt_trace *t);
/* Either form, detected by the magic. */
int klt_trace_load(const char *path, struct klt_trace *t, struct klt_err *err);
/*
 * Is this (the first bytes of a file) certainly not text? A description ("an ELF file", "gzip
 * data", "binary data: a NUL byte", ...) or NULL. *bad_off: offset of the offending byte, or
 * SIZE_MAX when a file signature matched.
 */
const char *klt_sniff_not_text(const void *buf, size_t n, size_t *bad_off);

/* Writer flags */
#define KLT_W_FORCE (1u << 0) /* overwrite an existing file (never follows symlinks either way) */
#define KLT_W_SYNC (1u << 1)  /* fdatasync after each chunk */

/*
 * Streaming binary writer: append-only chunks, each with its own CRC32, so a file cut off at any
 * byte still yields every complete chunk. Symbols and stacks added before the events that use
 * them are written before those events. Output is created O_EXCL|O_NOFOLLOW, mode 0600.
 */
struct klt_writer;
struct klt_writer *klt_writer_open(const char *path, const struct klt_trace_info *info,
				   unsigned flags, struct klt_err *err);
int klt_writer_add_sym(struct klt_writer *w, const struct klt_sym *sym);
int klt_writer_add_stack(struct klt_writer *w, int32_t id, const uint64_t *ips, uint32_t nr);
int klt_writer_add_event(struct klt_writer *w, const struct klt_event *ev);
int klt_writer_set_counter(struct klt_writer *w, const char *name, uint64_t value);
int klt_writer_flush(struct klt_writer *w);  /* write everything pending as complete chunks */
int klt_writer_close(struct klt_writer *w, struct klt_err *err); /* flush + counters + end chunk */
/* Whole trace in one call (used by `convert`). */
int klt_trace_write_file(const char *path, struct klt_trace *t, unsigned flags, struct klt_err *err);

#endif
