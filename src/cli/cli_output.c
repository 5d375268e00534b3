// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Output files of report/check/convert: written whole to a new 0600 temporary file beside the
 * target and renamed over it only when everything was written. So a failed or killed run leaves
 * nothing (no partial, no empty file), an existing file is replaced by a new inode (never
 * rewritten in place: its mode, owner and links are not inherited), and a symlink at the target
 * is replaced, never followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* The one temporary file in flight, removed by the fatal-signal handler (async-signal-safe). */
static char pending[PATH_MAX];
static volatile sig_atomic_t have_pending;

static void on_fatal(int sig)
{
	if (have_pending)
		unlink(pending);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void watch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ };
	static bool done;

	if (done)
		return;
	done = true;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa = { .sa_handler = on_fatal };

		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

static void forget_pending(void)
{
	have_pending = 0;
	pending[0] = '\0';
}

int klt_out_reserve(struct klt_out *o, const char *path, bool force)
{
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd, n;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->path = path;
	o->force = force;
	if (!force && !lstat(path, &st)) {
		fprintf(stderr, "kvmlocktrace: %s: file exists (use --force to overwrite)\n", path);
		return -EEXIST;
	}
	if (!lstat(path, &st) && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kvmlocktrace: %s: is a directory\n", path);
		return -EISDIR;
	}
	/* same directory, so the final rename is atomic; hidden, so nobody takes it for the result;
	 * a name too long for the target fails at the rename, leaving nothing behind */
	n = slash ? snprintf(o->tmp, sizeof(o->tmp), "%.*s/.%.200s.XXXXXX", (int)(slash - path),
			     path, slash + 1)
		  : snprintf(o->tmp, sizeof(o->tmp), ".%.200s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(o->tmp)) {
		fprintf(stderr, "kvmlocktrace: %s: cannot create: %s\n", path,
			strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	watch_signals();
	fd = mkostemp(o->tmp, O_CLOEXEC); /* mode 0600, O_EXCL */
	if (fd < 0) {
		int e = errno;

		fprintf(stderr, "kvmlocktrace: %s: cannot create: %s\n", path, strerror(e));
		return -e;
	}
	memcpy(pending, o->tmp, sizeof(pending));
	have_pending = 1;
	o->fd = fd;
	return 0;
}

FILE *klt_out_open(struct klt_out *o, const char *path, bool force)
{
	if (!path || !strcmp(path, "-")) {
		memset(o, 0, sizeof(*o));
		o->fd = -1;
		o->f = stdout;
		return stdout;
	}
	if (klt_out_reserve(o, path, force))
		return NULL;
	o->f = fdopen(o->fd, "w");
	if (!o->f) {
		fprintf(stderr, "kvmlocktrace: %s: %s\n", path, strerror(errno));
		klt_out_abort(o);
		return NULL;
	}
	o->fd = -1; /* owned by the stream now */
	return o->f;
}

void klt_out_abort(struct klt_out *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	else if (o->fd >= 0)
		close(o->fd);
	if (o->tmp[0])
		unlink(o->tmp);
	o->f = NULL;
	o->fd = -1;
	o->tmp[0] = '\0';
	forget_pending();
}

int klt_out_commit(struct klt_out *o)
{
	int err = 0;

	if (!o->f && o->fd < 0 && !o->tmp[0])
		return 0; /* nothing was opened */
	if (o->f == stdout) {
		o->f = NULL;
		return fflush(stdout) ? -EIO : 0;
	}
	if (o->f) {
		if (fflush(o->f) || fsync(fileno(o->f)))
			err = -errno;
		if (fclose(o->f) && !err)
			err = -errno;
		o->f = NULL;
	} else if (o->fd >= 0) {
		if (fsync(o->fd))
			err = -errno;
		close(o->fd);
		o->fd = -1;
	}
	if (err) {
		fprintf(stderr, "kvmlocktrace: %s: write failed: %s\n", o->path, strerror(-err));
		klt_out_abort(o);
		return err;
	}
	if (o->force) {
		if (rename(o->tmp, o->path))
			err = -errno;
	} else if (syscall(SYS_renameat2, AT_FDCWD, o->tmp, AT_FDCWD, o->path, RENAME_NOREPLACE)) {
		err = -errno;
		/* a file system without RENAME_NOREPLACE: link() never replaces either */
		if (err == -EINVAL || err == -ENOSYS) {
			err = link(o->tmp, o->path) ? -errno : 0;
			if (!err)
				unlink(o->tmp);
		}
	}
	if (err) {
		if (err == -EEXIST)
			fprintf(stderr, "kvmlocktrace: %s: file exists (use --force to overwrite)\n",
				o->path);
		else
			fprintf(stderr, "kvmlocktrace: %s: cannot create: %s\n", o->path,
				strerror(-err));
		klt_out_abort(o);
		return err;
	}
	o->tmp[0] = '\0';
	forget_pending();
	return 0;
}

void klt_out_error(const struct klt_out *o, const char *msg)
{
	size_t n = strlen(o->tmp);

	/* a writer's message names the file it wrote: the user named the target */
	if (n && !strncmp(msg, o->tmp, n))
		fprintf(stderr, "kvmlocktrace: %s%s\n", o->path, msg + n);
	else
		fprintf(stderr, "kvmlocktrace: %s\n", msg);
}
