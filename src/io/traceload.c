// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loading a trace file of either form: the first bytes tell the binary form (read by
 * tracefile_read.c, streamed from a regular file) from the text form (textfmt_parse.c) and from
 * files that are neither, which are refused with what they look like.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iobuf.h"
#include "trace.h"
#include "tracefile.h"
#include "traceio.h"

/*
 * What a file that is not a trace looks like, from its first bytes: a name for the message, or
 * NULL when it may be the text form. *bad_off: the offset of the byte that gave it away, SIZE_MAX
 * for a known file signature. The first SNIFF_BYTES of text have no NUL and no control bytes but
 * tab, newline, carriage return, vertical tab and form feed.
 */
const char *klt_sniff_not_text(const void *buf, size_t n, size_t *bad_off)
{
	const uint8_t *p = buf;

	static const struct {
		const char *magic;
		size_t len;
		const char *what;
	} known[] = {
		{ "\x7f" "ELF", 4, "an ELF file" },
		{ "\x1f\x8b", 2, "gzip data" },
		{ "\x28\xb5\x2f\xfd", 4, "zstd data" },
		{ "\xfd" "7zXZ\0", 6, "xz data" },
		{ "BZh", 3, "bzip2 data" },
		{ "PK\x03\x04", 4, "a zip archive" },
		{ "PERFILE2", 8, "a perf.data file" },
		{ "\x89PNG", 4, "a PNG image" },
		{ "%PDF", 4, "a PDF document" },
	};

	*bad_off = SIZE_MAX;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (n >= known[i].len && !memcmp(p, known[i].magic, known[i].len))
			return known[i].what;
	}
	if (n >= 263 && !memcmp(p + 257, "ustar", 5))
		return "a tar archive";
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\v' &&
		    p[i] != '\f') {
			*bad_off = i;
			return p[i] ? "binary data: a control byte" : "binary data: a NUL byte";
		}
	}
	return NULL;
}

static int too_big(const char *path, struct klt_err *err)
{
	klt_set_err(err, "%s: larger than the %u MiB limit of the text form (split it, or use the "
		    "binary form, which has none)", path, (unsigned)(KLT_TEXT_MAX_BYTES >> 20));
	return -EFBIG;
}

#define SNIFF_BYTES 4096

static int read_fd(int fd, const char *path, struct klt_trace *t, struct klt_err *err, bool text_ok)
{
	struct bbuf b = { 0 };
	struct stat st;
	const char *what;
	size_t bad;
	ssize_t r;
	int ret;

	if (fstat(fd, &st)) {
		ret = -errno;
		klt_set_err(err, "%s: stat: %s", path, strerror(-ret));
		return ret;
	}
	if (S_ISDIR(st.st_mode)) {
		klt_set_err(err, "%s: is a directory, not a kvmlocktrace recording", path);
		return -EISDIR;
	}
	/* the first bytes decide what this is, before anything large is read */
	if (!bb_reserve(&b, SNIFF_BYTES)) {
		klt_set_err(err, "%s: read: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	r = klt_read_full(fd, b.p, SNIFF_BYTES);
	if (r < 0) {
		free(b.p);
		klt_set_err(err, "%s: read: %s", path, strerror((int)-r));
		return (int)r;
	}
	b.len = (size_t)r;
	if (b.len >= 8 && !memcmp(b.p, KLT_TRACE_MAGIC, 8)) {
		if (S_ISREG(st.st_mode)) {
			/* streamed: peak memory is the events array plus one chunk */
			free(b.p);
			return klt_trace_read_stream(fd, (uint64_t)st.st_size, path, t, err);
		}
		/* a pipe: the binary form has no size limit (every chunk is bounded) */
		ret = klt_slurp(fd, path, &b, SIZE_MAX, err);
		if (!ret)
			ret = klt_trace_read_buf(b.p, b.len, path, t, err);
		free(b.p);
		return ret;
	}
	what = klt_sniff_not_text(b.p, b.len, &bad);
	if (what && bad != SIZE_MAX)
		klt_set_err(err, "%s: offset %zu: not a kvmlocktrace recording (%s)", path, bad, what);
	else if (what)
		klt_set_err(err, "%s: not a kvmlocktrace recording (looks like %s)", path, what);
	if (!what && !text_ok) {
		/* the binary reader's own message for a short file or another magic */
		ret = klt_trace_read_buf(b.p, b.len, path, t, err);
		free(b.p);
		return ret;
	}
	if (what) {
		free(b.p);
		return -EINVAL;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > KLT_TEXT_MAX_BYTES) {
		free(b.p);
		return too_big(path, err);
	}
	ret = klt_slurp(fd, path, &b, KLT_TEXT_MAX_BYTES, err);
	if (ret == -EFBIG)
		ret = too_big(path, err);
	if (!ret)
		ret = klt_text_parse((const char *)b.p, b.len, path, t, err);
	free(b.p);
	return ret;
}

static int open_and_read(const char *path, struct klt_trace *t, struct klt_err *err, bool text_ok)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = -errno;
		klt_set_err(err, "%s: open: %s", path, strerror(-ret));
		return ret;
	}
	ret = read_fd(fd, path, t, err, text_ok);
	close(fd);
	return ret;
}

int klt_trace_read_file(const char *path, struct klt_trace *t, struct klt_err *err)
{
	return open_and_read(path, t, err, false);
}

int klt_trace_load(const char *path, struct klt_trace *t, struct klt_err *err)
{
	return open_and_read(path, t, err, true);
}
