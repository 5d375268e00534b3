/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Binary trace file (docs/trace-format.md), shared by its writer (tracefile_write.c) and reader
 * (tracefile_read.c): a 16-byte file header, then append-only chunks, each with its own CRC32, so
 * a recording cut off at any byte (crash, full disk, kill -9) still yields every complete chunk.
 * Everything is little-endian and encoded byte by byte, never by casting. Private to src/io.
 */
#ifndef KLT_TRACEFILE_H
#define KLT_TRACEFILE_H

#include <stdint.h>
#include <string.h>

#include "trace.h"

#define FILE_HDR_SIZE 16
#define CHUNK_MAGIC 0x43544c4bu /* "KLTC" */
#define CHUNK_HDR_SIZE 16
#define CHUNK_MAX_PAYLOAD (64u << 20)
#define EVENT_SIZE 80
#define EVENTS_PER_CHUNK 4096
#define SPILL_PAYLOAD (4u << 20)   /* emit a SYMBOLS/STACKS chunk once it grows past this */
#define OUTBUF_FLUSH (1u << 20)	   /* write() serialized chunks once this much is queued */

enum chunk_type {
	CH_INFO = 1,
	CH_SYMBOLS = 2,
	CH_STACKS = 3,
	CH_EVENTS = 4,
	CH_COUNTERS = 5,
	CH_END = 6,
};

/* --- little-endian helpers ------------------------------------------------------------------ */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

static inline void encode_event(uint8_t *p, const struct klt_event *e)
{
	put16(p + 0, e->type);
	p[2] = e->kind;
	p[3] = e->mode;
	put32(p + 4, e->cpu);
	put64(p + 8, e->ts);
	put32(p + 16, e->pid);
	put32(p + 20, e->tid);
	put64(p + 24, e->lock);
	put64(p + 32, e->ip);
	put32(p + 40, (uint32_t)e->stack_id);
	put32(p + 44, e->flags);
	put32(p + 48, e->aux0);
	put32(p + 52, e->aux1);
	put32(p + 56, (uint32_t)e->aux2);
	put32(p + 60, e->aux3);
	memcpy(p + 64, e->comm, KLT_COMM_LEN);
}

static inline void decode_event(const uint8_t *p, struct klt_event *e)
{
	e->type = get16(p + 0);
	e->kind = p[2];
	e->mode = p[3];
	e->cpu = get32(p + 4);
	e->ts = get64(p + 8);
	e->pid = get32(p + 16);
	e->tid = get32(p + 20);
	e->lock = get64(p + 24);
	e->ip = get64(p + 32);
	e->stack_id = (int32_t)get32(p + 40);
	e->flags = get32(p + 44);
	e->aux0 = get32(p + 48);
	e->aux1 = get32(p + 52);
	e->aux2 = (int32_t)get32(p + 56);
	e->aux3 = get32(p + 60);
	memcpy(e->comm, p + 64, KLT_COMM_LEN);
}

/* The binary form from a regular file of len bytes, read chunk by chunk with pread(): peak
 * memory is the events array plus one chunk. Returns as klt_trace_read_buf(). */
int klt_trace_read_stream(int fd, uint64_t len, const char *name, struct klt_trace *t,
			  struct klt_err *err);

#endif
