// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lock storm for bench/storm.sh: an ABBA on two static mutexes (so a report must still come
 * out at the end), then THREADS threads each taking PAIRS nested mutex pairs.
 *
 *   storm [-r RATE] THREADS PAIRS known|new
 *     known  every pair is one of 16 mutexes' 120 ordered pairs: known dependencies after the
 *            first few (the tracer only counts them in the kernel)
 *     new    every pair is two mutexes never used before (a calloc'd array): each pair is a
 *            new dependency, one EDGE record through the ring buffer
 *     -r     pace all threads together to RATE pairs/s (default: as fast as possible)
 *
 * Prints "pairs=N seconds=S pairs_per_s=R" for the storm phase.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NLOCKS 16

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t known[NLOCKS];
static pthread_mutex_t *fresh;
static long pairs;
static double rate; /* per thread, pairs/s; 0 = unpaced */
static int new_mode;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void nest(pthread_mutex_t *x, pthread_mutex_t *y)
{
	pthread_mutex_lock(x);
	pthread_mutex_lock(y);
	pthread_mutex_unlock(y);
	pthread_mutex_unlock(x);
}

static void *run(void *arg)
{
	long id = (long)arg;
	unsigned int seed = (unsigned int)id * 2654435761u + 1;
	double t0 = now_s();

	for (long i = 0; i < pairs; i++) {
		if (new_mode) {
			pthread_mutex_t *p = &fresh[2 * (id * pairs + i)];

			nest(p, p + 1);
		} else {
			unsigned int a, b;

			seed = seed * 1103515245u + 12345u;
			a = (seed >> 8) % NLOCKS;
			b = (seed >> 16) % NLOCKS;
			if (a == b)
				b = (b + 1) % NLOCKS;
			nest(&known[a < b ? a : b], &known[a < b ? b : a]);
		}
		if (rate > 0 && (i & 15) == 15) {
			double ahead = (i + 1) / rate - (now_s() - t0);

			if (ahead > 0) {
				struct timespec ts = { (time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9) };

				nanosleep(&ts, NULL);
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int argi = 1, nthreads;
	pthread_t t[64];
	double t0, t1;

	if (argc > 2 && !strcmp(argv[1], "-r")) {
		rate = atof(argv[2]);
		argi = 3;
	}
	if (argc - argi != 3 || (strcmp(argv[argi + 2], "known") && strcmp(argv[argi + 2], "new")))
		goto usage;
	nthreads = atoi(argv[argi]);
	pairs = atol(argv[argi + 1]);
	new_mode = !strcmp(argv[argi + 2], "new");
	if (nthreads < 1 || nthreads > 64 || pairs < 1 || rate < 0)
		goto usage;
	rate /= nthreads;
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_init(&known[i], NULL);
	/* zeroed memory is a default-initialized glibc mutex */
	if (new_mode && !(fresh = calloc((size_t)nthreads * pairs * 2, sizeof(*fresh)))) {
		fprintf(stderr, "storm: out of memory\n");
		return 1;
	}
	nest(&lock_a, &lock_b);
	nest(&lock_b, &lock_a);
	t0 = now_s();
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, run, (void *)i)) {
			fprintf(stderr, "storm: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	t1 = now_s();
	printf("pairs=%ld seconds=%.3f pairs_per_s=%.0f\n", nthreads * pairs, t1 - t0,
	       nthreads * pairs / (t1 - t0));
	free(fresh);
	return 0;
usage:
	fprintf(stderr, "usage: %s [-r PAIRS_PER_S] THREADS PAIRS known|new\n", argv[0]);
	return 2;
}
