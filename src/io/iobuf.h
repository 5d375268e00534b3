/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers of the src/io readers and writers: a growable byte buffer, whole-file reads, errors. */
#ifndef KLT_IOBUF_H
#define KLT_IOBUF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "trace.h"

/* --- growable byte buffer ------------------------------------------------------------------- */

struct bbuf {
	uint8_t *p;
	size_t len, cap;
};

/* Append n uninitialized bytes: where they start, or NULL (out of memory, b unchanged). */
static inline uint8_t *bb_reserve(struct bbuf *b, size_t n)
{
	if (n > SIZE_MAX - b->len)
		return NULL;
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (ncap < b->len + n)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np)
			return NULL;
		b->p = np;
		b->cap = ncap;
	}
	b->len += n;
	return b->p + b->len - n;
}

/* Append n bytes of src: 0 or -ENOMEM. */
static inline int bb_put(struct bbuf *b, const void *src, size_t n)
{
	uint8_t *d = bb_reserve(b, n);

	if (!d)
		return -ENOMEM;
	if (n)
		memcpy(d, src, n);
	return 0;
}

/* --- errors and reads ----------------------------------------------------------------------- */

/* printf into err->msg; nothing when err is NULL. */
void klt_set_err(struct klt_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* read() until n bytes or EOF; bytes read, or -errno. */
ssize_t klt_read_full(int fd, uint8_t *p, size_t n);
/*
 * The rest of the stream after the first b->len bytes, into b, at most max bytes in all
 * (SIZE_MAX: no limit). 0; -EFBIG when there is more; -ENOMEM or -errno of read, with err set
 * ("PATH: read: why").
 */
int klt_slurp(int fd, const char *path, struct bbuf *b, size_t max, struct klt_err *err);

#endif
