// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * klt-empty MODE SECONDS [LIBC]: attach the empty programs of one attach type next to the
 * tracer's (same functions) and keep them for SECONDS, so bench/bpf-cost.sh can read both
 * run_time_ns/run_cnt from kernel.bpf_stats_enabled. MODE: uprobe, fentry, kprobe, tracepoint.
 *
 * klt-empty floor CMD [ARG...]: attach the counting-only floor programs (fentry/fexit on
 * mutex_lock, fentry on mutex_unlock), run CMD, then print its exit status and the counters
 * (bench/overhead.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "empty.skel.h"
#include "../src/live/tracer_usym.h"

static int run_floor(char **cmd)
{
	struct empty_bpf *s = empty_bpf__open();
	struct bpf_link *l[3] = {};
	struct bpf_program *p;
	int rc = 1, st;
	pid_t pid;

	if (!s)
		return 1;
	bpf_object__for_each_program(p, s->obj)
		bpf_program__set_autoload(p, false);
	bpf_program__set_autoload(s->progs.floor_lock, true);
	bpf_program__set_autoload(s->progs.floor_lock_ret, true);
	bpf_program__set_autoload(s->progs.floor_unlock, true);
	if (empty_bpf__load(s)) {
		fprintf(stderr, "klt-empty: floor: load failed\n");
		goto out;
	}
	l[0] = bpf_program__attach(s->progs.floor_lock);
	l[1] = bpf_program__attach(s->progs.floor_lock_ret);
	l[2] = bpf_program__attach(s->progs.floor_unlock);
	if (!l[0] || !l[1] || !l[2]) {
		fprintf(stderr, "klt-empty: floor: attach failed\n");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		perror("klt-empty: fork");
		goto out;
	}
	if (pid == 0) {
		execvp(cmd[0], cmd);
		fprintf(stderr, "klt-empty: %s: cannot run\n", cmd[0]);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0) {
		perror("klt-empty: waitpid");
		goto out;
	}
	printf("floor: mutex_lock %llu returns %llu mutex_unlock %llu\n",
	       (unsigned long long)s->bss->floor_lock_calls,
	       (unsigned long long)s->bss->floor_lock_returns,
	       (unsigned long long)s->bss->floor_unlock_calls);
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
out:
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(l[i]);
	empty_bpf__destroy(s);
	return rc;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[1] : NULL;
	const char *libc = argc > 3 ? argv[3] : "/lib/x86_64-linux-gnu/libc.so.6";
	struct bpf_link *l1 = NULL, *l2 = NULL;
	struct empty_bpf *s;
	struct bpf_program *p;
	int rc = 1;

	if (mode && !strcmp(mode, "floor"))
		return run_floor(argv + 2);
	if (!mode) {
		fprintf(stderr, "usage: klt-empty uprobe|fentry|kprobe|tracepoint SECONDS [LIBC]\n"
				"       klt-empty floor CMD [ARG...]\n");
		return 2;
	}
	s = empty_bpf__open();
	if (!s)
		return 1;
	bpf_object__for_each_program(p, s->obj)
		bpf_program__set_autoload(p, false);
	if (!strcmp(mode, "uprobe")) {
		bpf_program__set_autoload(s->progs.empty_uprobe, true);
		bpf_program__set_autoload(s->progs.empty_uretprobe, true);
	} else if (!strcmp(mode, "fentry")) {
		bpf_program__set_autoload(s->progs.empty_fentry, true);
		bpf_program__set_autoload(s->progs.empty_fexit, true);
	} else if (!strcmp(mode, "kprobe")) {
		bpf_program__set_autoload(s->progs.empty_kprobe, true);
		bpf_program__set_autoload(s->progs.empty_kretprobe, true);
	} else {
		bpf_program__set_autoload(s->progs.empty_tp, true);
	}
	if (empty_bpf__load(s)) {
		fprintf(stderr, "klt-empty: load failed\n");
		goto out;
	}
	if (!strcmp(mode, "uprobe")) {
		uint64_t off;

		if (klt_usym_func_offset(libc, "pthread_mutex_lock", &off)) {
			fprintf(stderr, "klt-empty: pthread_mutex_lock not found in %s\n", libc);
			goto out;
		}
		LIBBPF_OPTS(bpf_uprobe_opts, uo);
		LIBBPF_OPTS(bpf_uprobe_opts, ur, .retprobe = true);
		l1 = bpf_program__attach_uprobe_opts(s->progs.empty_uprobe, -1, libc, off, &uo);
		l2 = bpf_program__attach_uprobe_opts(s->progs.empty_uretprobe, -1, libc, off, &ur);
	} else if (!strcmp(mode, "fentry")) {
		l1 = bpf_program__attach(s->progs.empty_fentry);
		l2 = bpf_program__attach(s->progs.empty_fexit);
	} else if (!strcmp(mode, "kprobe")) {
		l1 = bpf_program__attach(s->progs.empty_kprobe);
		l2 = bpf_program__attach(s->progs.empty_kretprobe);
	} else {
		l1 = bpf_program__attach(s->progs.empty_tp);
		l2 = l1;
	}
	if (!l1 || !l2) {
		fprintf(stderr, "klt-empty: attach failed\n");
		goto out;
	}
	sleep((unsigned)atoi(argv[2]));
	bpf_object__for_each_program(p, s->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) && info.run_cnt)
			printf("prog %s runs %llu ns %llu\n", bpf_program__name(p),
			       (unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns);
	}
	rc = 0;
out:
	if (l2 != l1)
		bpf_link__destroy(l2);
	bpf_link__destroy(l1);
	empty_bpf__destroy(s);
	return rc;
}
