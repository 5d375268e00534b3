// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Synthetic throughput check of the lock-order engine (not part of the build):
 *   cc -O2 -Iinclude -Isrc bench/engine-notes/lg-bench.c build/libklt.a -o /tmp/lg-bench
 *   /tmp/lg-bench [events_millions] [locks] [tasks] [passes]
 * The event array is fed `passes` times: the first pass discovers every edge, the later ones
 * measure the steady state (every edge known), which is what a long trace mostly is.
 * Realistic mix: critical sections of depth 1-4 on a fixed lock order (so edges repeat and
 * no cycle is found), sections of random tasks interleaved, ATTEMPT+ACQUIRED+RELEASE per lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lockgraph.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t xs(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t nev = (size_t)(argc > 1 ? atof(argv[1]) : 5) * 1000000, n = 0, i;
	unsigned nlocks = argc > 2 ? atoi(argv[2]) : 10000;
	unsigned ntasks = argc > 3 ? atoi(argv[3]) : 4000;
	unsigned passes = argc > 4 ? atoi(argv[4]) : 4, p;
	struct klt_event *ev = calloc(nev + 16, sizeof(*ev));
	struct lg_config cfg = { 0 };
	struct lg_engine *e;
	double t0, t1;

	if (!ev)
		return 1;
	while (n + 12 <= nev) { /* whole sections only: the array is replayed */
		unsigned tid = 1000 + xs() % ntasks, depth = 1 + xs() % 4, base = xs() % nlocks, d;
		uint64_t locks[4];

		for (d = 0; d < depth; d++) {
			/* a few fixed successors per lock keep the edge set bounded */
			locks[d] = 0xffff888000000000ULL + (uint64_t)((base + d * (1 + xs() % 3)) %
								       (nlocks + 8)) * 64;
			if (d && locks[d] <= locks[d - 1])
				depth = d;
		}
		for (d = 0; d < depth; d++) {
			struct klt_event *a = &ev[n++], *b = &ev[n++];

			a->type = KLT_EV_ATTEMPT;
			a->kind = KLT_LK_MUTEX;
			a->tid = a->pid = tid;
			a->lock = locks[d];
			/* four instances per inferred class, classes ordered like their locks */
			a->ip = 0xffffffff81000000ULL + ((locks[d] >> 6) / 4) * 16;
			a->stack_id = -1;
			a->ts = n;
			*b = *a;
			b->type = KLT_EV_ACQUIRED;
		}
		for (; d-- > 0;) {
			struct klt_event *r = &ev[n++];

			r->type = KLT_EV_RELEASE;
			r->tid = r->pid = tid;
			r->lock = locks[d];
			r->ts = n;
		}
	}
	e = lg_new(&cfg);
	if (!e)
		return 1;
	for (p = 0; p < passes; p++) {
		t0 = now();
		for (i = 0; i < n; i++)
			if (lg_feed(e, &ev[i]))
				return 1;
		t1 = now();
		printf("pass %u: %zu events in %.3f s: %.1f M events/s\n", p, n, t1 - t0,
		       n / (t1 - t0) / 1e6);
	}
	printf("%zu locks, %zu classes, %zu edges, "
	       "%zu findings, %llu searches, %llu tasks\n",
	       lg_nlocks(e), lg_nclasses(e),
	       lg_nedges(e, LG_LEVEL_INSTANCE), lg_nfindings(e),
	       (unsigned long long)lg_get_stats(e)->cycle_searches,
	       (unsigned long long)lg_get_stats(e)->tasks);
	for (i = 0; i < lg_nfindings(e); i++)
		fprintf(stderr, "finding %zu: %s\n", i,
			lg_finding_kind_name(lg_finding_at(e, i)->kind));
	lg_free(e);
	free(ev);
	return 0;
}
