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
 * Read a rules file: at most KLT_RULES_MAX_BYTES, in bounded steps, refusing directories and
 * binary data (a NUL in the first 4 KiB, a known file signature) before reading further.
 * NUL-terminated for convenience. On error, prints one line and returns a negative errno.
 */
static int read_rules_file(const char *path, char **buf, size_t *len)
{
	size_t cap = KLT_RULES_MAX_BYTES + 2, n = 0;
	struct stat st;
	char *b = NULL;
	int fd, err = 0;
	bool sniffed = false;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kvmlocktrace: %s: is a directory, not a rules file\n", path);
		err = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < cap)
		cap = (size_t)st.st_size + 2;
	b = malloc(cap);
	if (!b) {
		err = -ENOMEM;
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
		goto out;
	}
	for (;;) {
		size_t want = cap - 1 - n;
		ssize_t r;

		if (!sniffed && want > 4096 - n && n < 4096)
			want = 4096 - n; /* the first 4 KiB alone: refuse binary data early */
		if (!want) {
			char *nb;

			if (cap > KLT_RULES_MAX_BYTES) {
				fprintf(stderr, "kvmlocktrace: %s: larger than the %zu KiB limit of a "
						"rules file\n", path, (size_t)KLT_RULES_MAX_BYTES >> 10);
				err = -EFBIG;
				goto out;
			}
			/* the file grew since fstat: continue up to the limit */
			cap = KLT_RULES_MAX_BYTES + 2;
			nb = realloc(b, cap);
			if (!nb) {
				err = -ENOMEM;
				fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path,
					strerror(-err));
				goto out;
			}
			b = nb;
			continue;
		}
		r = read(fd, b + n, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path,
				strerror(-err));
			goto out;
		}
		n += (size_t)r;
		if (!sniffed && (n >= 4096 || !r)) {
			sniffed = true;
			err = rules_sniff(path, b, n);
			if (err)
				goto out;
		}
		if (!r)
			break;
	}
	if (n > KLT_RULES_MAX_BYTES) {
		fprintf(stderr, "kvmlocktrace: %s: larger than the %zu KiB limit of a rules file\n",
			path, (size_t)KLT_RULES_MAX_BYTES >> 10);
		err = -EFBIG;
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
out:
	free(b);
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
