// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What every command shares: usage errors, the verdict's exit status, finding the installed or
 * build-tree data (rules/, the VM harness) and loading the rules file.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "rules.h"
#include "trace.h"
#include "iobuf.h"
#include "traceio.h"

#ifndef KLT_DATADIR
#define KLT_DATADIR "/usr/local/share/kvmlocktrace"
#endif

void klt_usage_error(const struct argp_state *state, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", state && state->name ? state->name : "kvmlocktrace");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(KLT_EXIT_INPUT);
}

/* The first bytes of a rules file are text, or one line says what they are. 0 or -EINVAL. */
static int rules_sniff(const char *path, const char *b, size_t n)
{
	size_t bad;
	const char *what = klt_sniff_not_text(b, n, &bad);

	if (what && bad != SIZE_MAX)
		fprintf(stderr, "kvmlocktrace: %s: offset %zu: not a rules file (%s)\n", path, bad,
			what);
	else if (what)
		fprintf(stderr, "kvmlocktrace: %s: not a rules file (looks like %s)\n", path, what);
	return what ? -EINVAL : 0;
}

/*
 * Read a rules file: at most KLT_RULES_MAX_BYTES (src/io's klt_slurp), refusing directories and
 * binary data (a NUL in the first 4 KiB, a known file signature) before reading further.
 * NUL-terminated for convenience. On error, prints one line and returns a negative errno.
 */
static int read_rules_file(const char *path, char **buf, size_t *len)
{
	struct bbuf b = { 0 };
	struct klt_err kerr;
	struct stat st;
	int fd, err = 0;
	uint8_t *p;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kvmlocktrace: %s: is a directory, not a rules file\n", path);
		err = -EISDIR;
		goto out;
	}
	/* the first 4 KiB alone: refuse binary data before reading further */
	p = bb_reserve(&b, 4096);
	r = p ? klt_read_full(fd, p, 4096) : -ENOMEM;
	if (r < 0) {
		err = (int)r;
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
		goto out;
	}
	b.len = (size_t)r;
	err = rules_sniff(path, (const char *)b.p, b.len);
	if (!err && r == 4096)
		err = klt_slurp(fd, path, &b, KLT_RULES_MAX_BYTES, &kerr);
	if (err == -EFBIG)
		fprintf(stderr, "kvmlocktrace: %s: larger than the %zu KiB limit of a rules file\n",
			path, (size_t)KLT_RULES_MAX_BYTES >> 10);
	else if (err && err != -EINVAL)
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
	if (!err && bb_put(&b, "", 1)) { /* NUL-terminated for convenience */
		err = -ENOMEM;
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
	}
	if (!err) {
		*buf = (char *)b.p;
		*len = b.len - 1;
		b.p = NULL;
	}
out:
	free(b.p);
	if (fd >= 0)
		close(fd);
	return err;
}

/* Directory of this executable, for finding rules/ and tests/vm/ in a build tree. */
static int exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return 0;
}

/*
 * First existing file among: $ENVVAR/rel, the build tree (<exe>/../rel, <exe>/../../rel), the
 * install tree relative to the binary (<exe>/../<reloc>, so DESTDIR or a moved prefix still
 * works), and the configured install path.
 */
const char *klt_cli_find_data(const char *envvar, const char *rel, const char *reloc,
			     const char *installed, char *buf, size_t len)
{
	const char *e = getenv(envvar);
	char dir[PATH_MAX];

	if (e && *e)
		return snprintf(buf, len, "%s/%s", e, rel) < (int)len ? buf : NULL;
	if (!exe_dir(dir, sizeof(dir))) {
		const char *const cand[][2] = { { "/..", rel }, { "/../..", rel }, { "/..", reloc } };

		for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
			char real[PATH_MAX];

			if (snprintf(buf, len, "%s%s/%s", dir, cand[i][0], cand[i][1]) < (int)len &&
			    access(buf, R_OK) == 0) {
				/* reports name the file: no "build/../" in them */
				if (realpath(buf, real) && strlen(real) < len)
					memcpy(buf, real, strlen(real) + 1);
				return buf;
			}
		}
	}
	if (snprintf(buf, len, "%s", installed) >= (int)len)
		return NULL;
	return access(buf, R_OK) == 0 ? buf : NULL;
}

int klt_verdict_exit(bool findings, enum klt_completeness c)
{
	if (findings)
		return KLT_EXIT_FINDINGS;
	return c == KLT_COMPLETE ? KLT_EXIT_CLEAN : KLT_EXIT_INCOMPLETE;
}

int klt_cli_load_rules(const char *path, bool none, struct klt_rules *rules, char *used,
		       size_t usedlen)
{
	char pathbuf[PATH_MAX], err[512];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	used[0] = '\0';
	if (none)
		return 0;
	if (!path) {
		path = klt_cli_find_data("KLT_DATADIR", "rules/kvm.rules",
					 "share/kvmlocktrace/rules/kvm.rules",
					 KLT_DATADIR "/rules/kvm.rules", pathbuf, sizeof(pathbuf));
		if (!path) {
			fprintf(stderr, "kvmlocktrace: warning: no default rules file found "
					"(install kvmlocktrace or pass --rules FILE); checking no "
					"order rules\n");
			return 0;
		}
	}
	rc = read_rules_file(path, &buf, &len);
	if (rc)
		return rc;
	rc = klt_rules_parse(buf, len, path, rules, err, sizeof(err));
	free(buf);
	if (rc) {
		fprintf(stderr, "kvmlocktrace: %s\n", err);
		return rc;
	}
	snprintf(used, usedlen, "%s", path);
	return 0;
}
