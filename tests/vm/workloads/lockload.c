// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lockload: a lock-heavy syscall load for overhead benchmarks. Each thread loops over
 * pipe write+read, open+close, epoll create/ctl/wait/close and mmap+touch+munmap (or one of them
 * with -m), for a fixed time, then the total is printed as operations per second (one op = one
 * pass of one kind). Compare tracers in the same boot, against an untraced run.
 *
 * Workers are processes by default: threads of one process share an mm, and every munmap then
 * needs a TLB-shootdown IPI to the other vCPU, which costs milliseconds under TCG and swamps
 * everything else (measured: 1.7 k mmap ops/s with 2 threads vs 13 k with 1). -T uses threads.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { M_PIPE = 1, M_OPEN = 2, M_EPOLL = 4, M_MMAP = 8, M_ALL = 15 };

static int nthreads = 2;
static double seconds = 5;
static int modes = M_ALL;
static int use_threads;

/* Shared between worker processes (MAP_SHARED) or threads. */
struct shared {
	atomic_int stop;
	atomic_ullong total_ops;
	atomic_int failures;
};
static struct shared *sh;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	unsigned long long ops = 0;
	int p[2], fd, ep;
	char c = 'x';
	struct epoll_event ev = { .events = EPOLLIN };
	void *m;

	(void)arg;
	if (pipe(p) < 0) {
		atomic_fetch_add(&sh->failures, 1);
		return NULL;
	}
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		if (modes & M_PIPE) {
			if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
				atomic_fetch_add(&sh->failures, 1);
			ops++;
		}
		if (modes & M_OPEN) {
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				atomic_fetch_add(&sh->failures, 1);
			else
				close(fd);
			ops++;
		}
		if (modes & M_EPOLL) {
			ep = epoll_create1(EPOLL_CLOEXEC);
			if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) < 0 ||
			    epoll_wait(ep, &ev, 1, 0) < 0)
				atomic_fetch_add(&sh->failures, 1);
			if (ep >= 0)
				close(ep);
			ops++;
		}
		if (modes & M_MMAP) {
			m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED) {
				atomic_fetch_add(&sh->failures, 1);
			} else {
				*(volatile char *)m = 1;
				munmap(m, 4096);
			}
			ops++;
		}
	}
	close(p[0]);
	close(p[1]);
	atomic_fetch_add(&sh->total_ops, ops);
	return NULL;
}

static int parse_modes(const char *s)
{
	if (!strcmp(s, "all")) return M_ALL;
	if (!strcmp(s, "pipe")) return M_PIPE;
	if (!strcmp(s, "open")) return M_OPEN;
	if (!strcmp(s, "epoll")) return M_EPOLL;
	if (!strcmp(s, "mmap")) return M_MMAP;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lockload [-t WORKERS] [-d SECONDS] [-m all|pipe|open|epoll|mmap] [-T]\n"
		   "  WORKERS processes (threads with -T) loop for SECONDS (default 2 x 5 s)\n"
		   "  prints: lockload: mode=M workers=W (processes|threads) seconds=S ops=N ops/s=R\n");
}

int main(int argc, char **argv)
{
	const char *mode_name = "all";
	pthread_t *tids;
	pid_t *pids;
	double t0, el;
	int c, st;

	while ((c = getopt(argc, argv, "t:d:m:Th")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'm': mode_name = optarg; modes = parse_modes(optarg); break;
		case 'T': use_threads = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (nthreads < 1 || nthreads > 1024 || seconds <= 0 || !modes) {
		usage(stderr);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	tids = calloc(nthreads, sizeof(*tids));
	pids = calloc(nthreads, sizeof(*pids));
	if (sh == MAP_FAILED || !tids || !pids) {
		fprintf(stderr, "lockload: out of memory\n");
		return 1;
	}
	t0 = now();
	for (int i = 0; i < nthreads; i++) {
		if (use_threads) {
			if (pthread_create(&tids[i], NULL, worker, NULL) != 0) {
				fprintf(stderr, "lockload: pthread_create failed\n");
				return 1;
			}
			continue;
		}
		pids[i] = fork();
		if (pids[i] < 0) {
			fprintf(stderr, "lockload: fork failed\n");
			atomic_store(&sh->stop, 1);
			return 1;
		}
		if (pids[i] == 0) {
			worker(NULL);
			_exit(0);
		}
	}
	while (now() - t0 < seconds)
		usleep(10000);
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < nthreads; i++) {
		if (use_threads)
			pthread_join(tids[i], NULL);
		else if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			atomic_fetch_add(&sh->failures, 1);
	}
	el = now() - t0;
	printf("lockload: mode=%s workers=%d (%s) seconds=%.2f ops=%llu ops/s=%.0f\n", mode_name,
	       nthreads, use_threads ? "threads" : "processes", el,
	       (unsigned long long)atomic_load(&sh->total_ops), atomic_load(&sh->total_ops) / el);
	free(tids);
	free(pids);
	if (atomic_load(&sh->failures)) {
		fprintf(stderr, "lockload: %d failed operations\n", atomic_load(&sh->failures));
		return 1;
	}
	return 0;
}
