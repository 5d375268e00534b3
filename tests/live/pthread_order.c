// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pthread lock-order scenarios for the uprobe tests. Paths run one after the other, so nothing
 * actually deadlocks; a lock-order tracer must still see the inversion.
 *   pthread_order abba        lock_a -> lock_b in one thread, lock_b -> lock_a in another
 *   pthread_order abba-exit MS  abba, then exit MS milliseconds later (a short-lived program)
 *   pthread_order consistent  lock_a -> lock_b in both threads
 *   pthread_order trylock     the inverted side uses pthread_mutex_trylock (no deadlock)
 *   pthread_order array       pairs of a static array of mutexes, always the lower index first,
 *                             through one helper's two call sites, in several threads (no
 *                             deadlock; call-site classes would see a class cycle)
 *   pthread_order reuse       pool[0] -> pool[1]; both destroyed and initialized again as two
 *                             new mutexes, taken pool[1] -> pool[0] (object pools reuse lock
 *                             memory: no deadlock, TSan and Helgrind report none)
 *   pthread_order reuse-abba  abba's first path; lock_a and lock_b destroyed and initialized
 *                             again; then both paths: the ABBA is among the new locks only
 *   pthread_order storm N     N lock/unlock pairs of nested locks from 2 threads (overload)
 *   pthread_order heapstorm N an ABBA, then N nested pairs of never-reused heap mutexes: every
 *                             pair is a new dependency (fills the tracer's maps: overload)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static long storm_n;
static pthread_mutex_t pool[2];
static pthread_mutex_t arr[16]; /* zeroed: default-initialized glibc mutexes */

__attribute__((noinline)) void lock_pair(int i, int j)
{
	pthread_mutex_lock(&arr[i]);
	pthread_mutex_lock(&arr[j]);
	pthread_mutex_unlock(&arr[j]);
	pthread_mutex_unlock(&arr[i]);
}

/*
 * Ordered pairs. Only new pairs reach userspace (as EDGE records whose held side has no call
 * site): 0, 4 are first seen held, 3, 6 first seen taken second; 3 -> 4 -> 6 then reads as a
 * class cycle if 3 and 6 share the second call site's class. Then every other i < j pair.
 */
static void path_array(void)
{
	lock_pair(0, 3);
	lock_pair(4, 6);
	lock_pair(3, 4);
	for (int i = 15; i >= 0; i--)
		for (int j = i + 1; j < 16; j++)
			lock_pair(i, j);
}

__attribute__((noinline)) void path_one(void)
{
	pthread_mutex_lock(&lock_a);
	pthread_mutex_lock(&lock_b);
	pthread_mutex_unlock(&lock_b);
	pthread_mutex_unlock(&lock_a);
}

__attribute__((noinline)) void path_two_inverted(void)
{
	pthread_mutex_lock(&lock_b);
	pthread_mutex_lock(&lock_a);
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
}

__attribute__((noinline)) void path_two_trylock(void)
{
	pthread_mutex_lock(&lock_b);
	if (pthread_mutex_trylock(&lock_a) == 0)
		pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
}

/* the pool hands out its slots (a, b) for a new pair, locked a -> b */
__attribute__((noinline)) void pool_pair(int a, int b)
{
	pthread_mutex_init(&pool[a], NULL);
	pthread_mutex_init(&pool[b], NULL);
	pthread_mutex_lock(&pool[a]);
	pthread_mutex_lock(&pool[b]);
	pthread_mutex_unlock(&pool[b]);
	pthread_mutex_unlock(&pool[a]);
	pthread_mutex_destroy(&pool[a]);
	pthread_mutex_destroy(&pool[b]);
}

static void *run(void *arg)
{
	((void (*)(void))arg)();
	return NULL;
}

static void *storm(void *arg)
{
	for (long i = 0; i < storm_n; i++)
		path_one();
	return NULL;
}

static void in_thread(void (*fn)(void))
{
	pthread_t t;

	pthread_create(&t, NULL, run, (void *)fn);
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "abba";

	if (!strcmp(mode, "heapstorm")) {
		long n = argc > 2 ? atol(argv[2]) : 200000;
		/* zeroed memory is a default-initialized glibc mutex */
		pthread_mutex_t *m = calloc((size_t)n * 2, sizeof(*m));

		if (!m)
			return 1;
		in_thread(path_one);
		in_thread(path_two_inverted);
		for (long i = 0; i < n; i++) {
			pthread_mutex_lock(&m[2 * i]);
			pthread_mutex_lock(&m[2 * i + 1]);
			pthread_mutex_unlock(&m[2 * i + 1]);
			pthread_mutex_unlock(&m[2 * i]);
		}
		free(m);
		return 0;
	}
	if (!strcmp(mode, "storm")) {
		pthread_t t[2];

		storm_n = argc > 2 ? atol(argv[2]) : 1000000;
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, storm, NULL);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	if (!strcmp(mode, "reuse")) {
		pool_pair(0, 1);
		pool_pair(1, 0);
		return 0;
	}
	in_thread(path_one);
	if (!strcmp(mode, "reuse-abba")) {
		pthread_mutex_destroy(&lock_a);
		pthread_mutex_destroy(&lock_b);
		pthread_mutex_init(&lock_a, NULL);
		pthread_mutex_init(&lock_b, NULL);
		in_thread(path_one);
		in_thread(path_two_inverted);
	} else if (!strcmp(mode, "abba-exit")) {
		long ms = argc > 2 ? atol(argv[2]) : 0;
		struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

		in_thread(path_two_inverted);
		nanosleep(&ts, NULL);
	} else if (!strcmp(mode, "abba"))
		in_thread(path_two_inverted);
	else if (!strcmp(mode, "consistent"))
		in_thread(path_one);
	else if (!strcmp(mode, "trylock"))
		in_thread(path_two_trylock);
	else if (!strcmp(mode, "array")) {
		in_thread(path_array);
		in_thread(path_array);
	}
	else {
		fprintf(stderr, "usage: %s abba|abba-exit MS|consistent|trylock|array|reuse|reuse-abba|"
			"storm [N]|heapstorm [N]\n",
			argv[0]);
		return 2;
	}
	return 0;
}
