// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Helpers of the src/io readers and writers (iobuf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iobuf.h"

void klt_set_err(struct klt_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

ssize_t klt_read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int klt_slurp(int fd, const char *path, struct bbuf *b, size_t max, struct klt_err *err)
{
	for (;;) {
		size_t step = 65536;
		uint8_t *p;
		ssize_t r;

		if (max != SIZE_MAX && step > max + 1 - b->len)
			step = max + 1 - b->len; /* one byte more than allowed tells "too big" */
		p = bb_reserve(b, step);
		if (!p) {
			klt_set_err(err, "%s: read: %s", path, strerror(ENOMEM));
			return -ENOMEM;
		}
		b->len -= step;
		r = read(fd, p, step);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			klt_set_err(err, "%s: read: %s", path, strerror((int)-r));
			return (int)r;
		}
		if (!r)
			return 0;
		b->len += (size_t)r;
		if (b->len > max)
			return -EFBIG;
	}
}
