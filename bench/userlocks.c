// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pthread workload and lock-order scenarios for bench/userspace.sh, which runs it plain, under
 * kvmlocktrace --user, deadlock-bpfcc, ThreadSanitizer and Helgrind.
 *
 *   userlocks [-w] load THREADS ITERS  every thread takes ITERS nested pairs of 16 mutexes, always
 *                                      the lower index first (no inversion), plus a read hold
 *                                      of a shared rwlock every 8th iteration; prints
 *                                      "work_ns=N lock_ops=M" for the work phase only
 *   userlocks [-w] SCENARIO            one lock-order scenario (below); the steps run one after
 *                                      the other in separate threads, so nothing deadlocks
 *
 * Scenarios (deadlock = a real interleaving could deadlock):
 *   abba        yes  A->B in one thread, B->A in another
 *   cycle3      yes  A->B, B->C, C->A in three threads
 *   trylock     no   A->B, then B->trylock(A): a trylock cannot block
 *   consistent  no   A->B in two threads
 *   heap-abba   yes  ABBA on two malloc'd mutexes
 *   heap-reuse  no   X->Y on malloc'd mutexes, destroyed and freed; the next two mallocs return
 *                    the same addresses swapped and are locked Y'->X' (same addresses, B->A):
 *                    the old pair no longer exists, so no deadlock (exits 3 if the allocator did
 *                    not reuse the addresses: the scenario would not test anything)
 *   pool-reuse  no   the same as heap-reuse with the mutexes in a static pool of storage
 *                    (pthread_mutex_init/destroy, no allocator): object pools and slabs reuse
 *                    lock memory this way, and it does not depend on the allocator
 *   array       no   pairs of a static array of mutexes, always the lower index first, through
 *                    one helper's two call sites, in two threads (lock striping)
 *   rw-abba     yes  wrlock A -> wrlock B, then wrlock B -> wrlock A (rwlocks)
 *   rw-read     no   rdlock A -> rdlock B, then rdlock B -> rdlock A: glibc's default rwlocks
 *                    prefer readers, so a read lock never waits for another reader's lock
 *
 * -w: wait for SIGUSR1 before the work (so a tracer that attaches to a running pid, like
 * deadlock-bpfcc, can attach first); prints "ready" on stdout when waiting.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NLOCKS 16

static pthread_mutex_t m[NLOCKS];
static pthread_rwlock_t shared_rw = PTHREAD_RWLOCK_INITIALIZER;
static long iters;
static unsigned long sink[64]; /* per thread: the load has no data race */

static pthread_mutex_t mu_a = PTHREAD_MUTEX_INITIALIZER, mu_b = PTHREAD_MUTEX_INITIALIZER,
		       mu_c = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw_a = PTHREAD_RWLOCK_INITIALIZER, rw_b = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t *heap_x, *heap_y;
static pthread_mutex_t pool[2];

static void *load_thread(void *arg)
{
	unsigned long id = (unsigned long)arg, acc = 0;
	unsigned int seed = (unsigned int)id * 2654435761u + 1;

	for (long i = 0; i < iters; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned int a = (seed >> 8) % NLOCKS, b = (seed >> 16) % NLOCKS;

		if (a == b)
			b = (b + 1) % NLOCKS;
		if (a > b) {
			unsigned int t = a;

			a = b;
			b = t;
		}
		pthread_mutex_lock(&m[a]);
		pthread_mutex_lock(&m[b]);
		acc += a * b;
		pthread_mutex_unlock(&m[b]);
		pthread_mutex_unlock(&m[a]);
		if ((i & 7) == 0) {
			pthread_rwlock_rdlock(&shared_rw);
			acc += (unsigned long)i;
			pthread_rwlock_unlock(&shared_rw);
		}
	}
	sink[id] = acc;
	return NULL;
}

static void pair(pthread_mutex_t *x, pthread_mutex_t *y)
{
	pthread_mutex_lock(x);
	pthread_mutex_lock(y);
	pthread_mutex_unlock(y);
	pthread_mutex_unlock(x);
}

__attribute__((noinline)) static void step_ab(void) { pair(&mu_a, &mu_b); }
__attribute__((noinline)) static void step_ba(void) { pair(&mu_b, &mu_a); }
__attribute__((noinline)) static void step_bc(void) { pair(&mu_b, &mu_c); }
__attribute__((noinline)) static void step_ca(void) { pair(&mu_c, &mu_a); }
__attribute__((noinline)) static void step_heap_xy(void) { pair(heap_x, heap_y); }
__attribute__((noinline)) static void step_heap_yx(void) { pair(heap_y, heap_x); }

__attribute__((noinline)) static void lock_pair(int i, int j) { pair(&m[i], &m[j]); }

__attribute__((noinline)) static void step_array(void)
{
	lock_pair(0, 3);
	lock_pair(4, 6);
	lock_pair(3, 4);
	for (int i = NLOCKS - 1; i >= 0; i--)
		for (int j = i + 1; j < NLOCKS; j++)
			lock_pair(i, j);
}

__attribute__((noinline)) static void step_b_try_a(void)
{
	pthread_mutex_lock(&mu_b);
	if (pthread_mutex_trylock(&mu_a) == 0)
		pthread_mutex_unlock(&mu_a);
	pthread_mutex_unlock(&mu_b);
}

static void rw_pair(pthread_rwlock_t *x, pthread_rwlock_t *y, int write)
{
	if (write) {
		pthread_rwlock_wrlock(x);
		pthread_rwlock_wrlock(y);
	} else {
		pthread_rwlock_rdlock(x);
		pthread_rwlock_rdlock(y);
	}
	pthread_rwlock_unlock(y);
	pthread_rwlock_unlock(x);
}

__attribute__((noinline)) static void step_rw_w_ab(void) { rw_pair(&rw_a, &rw_b, 1); }
__attribute__((noinline)) static void step_rw_w_ba(void) { rw_pair(&rw_b, &rw_a, 1); }
__attribute__((noinline)) static void step_rw_r_ab(void) { rw_pair(&rw_a, &rw_b, 0); }
__attribute__((noinline)) static void step_rw_r_ba(void) { rw_pair(&rw_b, &rw_a, 0); }

static void *run_step(void *fn)
{
	((void (*)(void))fn)();
	return NULL;
}

static void in_thread(void (*fn)(void))
{
	pthread_t t;

	if (pthread_create(&t, NULL, run_step, (void *)fn) || pthread_join(t, NULL)) {
		fprintf(stderr, "userlocks: pthread_create failed\n");
		exit(1);
	}
}

static pthread_mutex_t *new_mutex(void)
{
	pthread_mutex_t *p = malloc(sizeof(*p));

	if (!p || pthread_mutex_init(p, NULL)) {
		fprintf(stderr, "userlocks: out of memory\n");
		exit(1);
	}
	return p;
}

static int scenario(const char *s)
{
	if (!strcmp(s, "abba")) {
		in_thread(step_ab);
		in_thread(step_ba);
	} else if (!strcmp(s, "cycle3")) {
		in_thread(step_ab);
		in_thread(step_bc);
		in_thread(step_ca);
	} else if (!strcmp(s, "trylock")) {
		in_thread(step_ab);
		in_thread(step_b_try_a);
	} else if (!strcmp(s, "consistent")) {
		in_thread(step_ab);
		in_thread(step_ab);
	} else if (!strcmp(s, "heap-abba")) {
		heap_x = new_mutex();
		heap_y = new_mutex();
		in_thread(step_heap_xy);
		in_thread(step_heap_yx);
		free(heap_x);
		free(heap_y);
	} else if (!strcmp(s, "heap-reuse")) {
		pthread_mutex_t *old_x, *old_y;

		heap_x = old_x = new_mutex();
		heap_y = old_y = new_mutex();
		in_thread(step_heap_xy);
		pthread_mutex_destroy(heap_x);
		pthread_mutex_destroy(heap_y);
		free(heap_x);
		free(heap_y);
		/* two new, unrelated mutexes: the allocator hands back old_y, then old_x */
		heap_x = new_mutex();
		heap_y = new_mutex();
		if (heap_x != old_y || heap_y != old_x) {
			fprintf(stderr, "userlocks: heap-reuse: addresses not reused (%p %p, %p %p)\n",
				(void *)old_x, (void *)old_y, (void *)heap_x, (void *)heap_y);
			return 3;
		}
		in_thread(step_heap_xy); /* old_y -> old_x */
		pthread_mutex_destroy(heap_x);
		pthread_mutex_destroy(heap_y);
		free(heap_x);
		free(heap_y);
	} else if (!strcmp(s, "pool-reuse")) {
		heap_x = &pool[0];
		heap_y = &pool[1];
		pthread_mutex_init(heap_x, NULL);
		pthread_mutex_init(heap_y, NULL);
		in_thread(step_heap_xy); /* pool[0] -> pool[1] */
		pthread_mutex_destroy(heap_x);
		pthread_mutex_destroy(heap_y);
		/* the pool hands the slots out again for two new mutexes, in the other order */
		heap_x = &pool[1];
		heap_y = &pool[0];
		pthread_mutex_init(heap_x, NULL);
		pthread_mutex_init(heap_y, NULL);
		in_thread(step_heap_xy); /* pool[1] -> pool[0] */
		pthread_mutex_destroy(heap_x);
		pthread_mutex_destroy(heap_y);
	} else if (!strcmp(s, "array")) {
		for (int i = 0; i < NLOCKS; i++)
			pthread_mutex_init(&m[i], NULL);
		in_thread(step_array);
		in_thread(step_array);
	} else if (!strcmp(s, "rw-abba")) {
		in_thread(step_rw_w_ab);
		in_thread(step_rw_w_ba);
	} else if (!strcmp(s, "rw-read")) {
		in_thread(step_rw_r_ab);
		in_thread(step_rw_r_ba);
	} else {
		fprintf(stderr, "userlocks: unknown scenario '%s'\n", s);
		return 2;
	}
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int load(int nthreads, long n)
{
	pthread_t t[64];
	double t0, t1;

	if (nthreads < 1 || nthreads > 64 || n < 1) {
		fprintf(stderr, "userlocks: load: THREADS must be 1..64 and ITERS >= 1\n");
		return 2;
	}
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_init(&m[i], NULL);
	iters = n;
	t0 = now_ns();
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, load_thread, (void *)(unsigned long)i)) {
			fprintf(stderr, "userlocks: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	t1 = now_ns();
	/* per iteration: 2 mutex lock+unlock pairs, plus one rwlock pair every 8th */
	printf("work_ns=%.0f lock_ops=%ld\n", t1 - t0, nthreads * (2 * n + (n + 7) / 8));
	return 0;
}

int main(int argc, char **argv)
{
	int argi = 1;

	if (argi < argc && !strcmp(argv[argi], "-w")) {
		sigset_t set;
		int sig;

		argi++;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		printf("ready\n");
		fflush(stdout);
		sigwait(&set, &sig);
	}
	if (argi >= argc)
		goto usage;
	if (!strcmp(argv[argi], "load")) {
		if (argc - argi != 3)
			goto usage;
		return load(atoi(argv[argi + 1]), atol(argv[argi + 2]));
	}
	return scenario(argv[argi]);
usage:
	fprintf(stderr, "usage: %s [-w] load THREADS ITERS | [-w] abba|cycle3|trylock|consistent|"
		"heap-abba|heap-reuse|pool-reuse|array|rw-abba|rw-read\n", argv[0]);
	return 2;
}
