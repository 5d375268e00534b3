// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Synthetic lock-event generator and engine replay benchmark.
 *
 *   klt-gen -n N [-l LOCKS] [-t TASKS] [-s SEED] -o FILE   write a binary trace
 *   klt-gen -n N [...] --replay                            feed the engine directly, print numbers
 *
 * Model: like a kernel, a fixed set of code paths (PATHS, default 4096), each taking 1-4 locks
 * (realistic depth) from LOCKS lock instances in ascending order and releasing them in reverse.
 * TASKS threads interleaved at random each run random paths. Every tenth lock is an rwsem (half
 * the time taken for read), every seventeenth an SRCU domain read section. Call sites group 20
 * consecutive instances of one kind into one inferred class, so the class graph is as acyclic as
 * the instance graph, like a healthy kernel. The dependency graph is bounded by the paths, so
 * after warm-up most events revisit known edges. Events are generated in batches; only
 * lg_feed() is timed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lockgraph.h"
#include "trace.h"
#include "traceio.h"

#define BATCH 65536
#define MAXD 4

#define NPATHS_MAX 65536

struct gpath {
	int depth;
	uint32_t locks[MAXD];
};

static struct gpath *paths;
static unsigned npaths = 4096;

struct gtask {
	uint32_t tid;
	int want, depth;
	uint32_t path;
	uint32_t held[MAXD];
	uint8_t mode[MAXD];
	bool releasing;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	/* xorshift64*: deterministic for a seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned nlocks = 10000, ntasks = 2000;

static uint8_t lock_kind(uint32_t l)
{
	if (l % 17 == 0)
		return KLT_LK_SRCU;
	if (l % 10 == 0)
		return KLT_LK_RWSEM;
	return KLT_LK_MUTEX;
}

static uint64_t lock_addr(uint32_t l) { return 0xffff888100000000ull + (uint64_t)l * 0x40; }
static uint64_t lock_site(uint32_t l)
{
	return 0xffffffff81000000ull + (uint64_t)(l / 20) * 0x40 + lock_kind(l) * 8;
}

static void make_paths(void)
{
	for (unsigned p = 0; p < npaths; p++) {
		uint32_t l = (uint32_t)(rnd() % nlocks);
		int d = 1 + (int)(rnd() % MAXD), k;

		for (k = 0; k < d && l < nlocks; k++) {
			paths[p].locks[k] = l;
			l += 1 + (uint32_t)(rnd() % 64);
		}
		paths[p].depth = k;
	}
}

/* Advance one task by one event; fills ev. */
static void step(struct gtask *t, struct klt_event *ev, uint64_t ts, int *pending_attempt)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts = ts;
	ev->pid = ev->tid = t->tid;
	ev->cpu = t->tid & 1;
	ev->stack_id = KLT_NO_STACK;
	memcpy(ev->comm, "bench", 6);
	if (!t->releasing && t->depth == 0 && !*pending_attempt) {
		t->path = (uint32_t)(rnd() % npaths);
		t->want = paths[t->path].depth;
	}
	if (!t->releasing && t->depth < t->want) {
		uint32_t l = paths[t->path].locks[t->depth];

		if (!*pending_attempt) {
			t->held[t->depth] = l;
			t->mode[t->depth] = lock_kind(l) == KLT_LK_SRCU ? KLT_MODE_RREAD :
					    lock_kind(l) == KLT_LK_RWSEM && (rnd() & 1) ? KLT_MODE_READ :
					    KLT_MODE_WRITE;
		}
		ev->lock = lock_addr(l);
		ev->kind = lock_kind(l);
		ev->mode = t->mode[t->depth];
		ev->ip = lock_site(l);
		if (ev->kind == KLT_LK_SRCU) {
			ev->type = KLT_EV_SRCU_READ_LOCK;
			t->depth++;
		} else if (!*pending_attempt) {
			ev->type = KLT_EV_ATTEMPT;
			*pending_attempt = 1;
		} else {
			ev->type = KLT_EV_ACQUIRED;
			*pending_attempt = 0;
			t->depth++;
		}
		if (t->depth == t->want)
			t->releasing = true;
		return;
	}
	t->depth--;
	uint32_t l = t->held[t->depth];

	ev->lock = lock_addr(l);
	ev->kind = lock_kind(l);
	ev->mode = t->mode[t->depth];
	ev->ip = lock_site(l);
	ev->type = ev->kind == KLT_LK_SRCU ? KLT_EV_SRCU_READ_UNLOCK : KLT_EV_RELEASE;
	if (t->depth == 0)
		t->releasing = false;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "replay", no_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	unsigned long long n = 1000000;
	const char *out = NULL;
	bool replay = false;
	int c;

	while ((c = getopt_long(argc, argv, "n:l:t:p:s:o:rh", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': n = strtoull(optarg, NULL, 0); break;
		case 'l': nlocks = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': ntasks = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'p': npaths = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': rng_state = strtoull(optarg, NULL, 0) | 1; break;
		case 'o': out = optarg; break;
		case 'r': replay = true; break;
		default:
			fprintf(stderr, "usage: klt-gen -n EVENTS [-l LOCKS] [-t TASKS] [-p PATHS] [-s SEED] "
					"(-o FILE | --replay)\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!replay && !out) {
		fprintf(stderr, "klt-gen: need -o FILE or --replay\n");
		return 2;
	}
	if (nlocks < 128 || ntasks < 1 || npaths < 1 || npaths > NPATHS_MAX) {
		fprintf(stderr, "klt-gen: need -l >= 128, -t >= 1, 1 <= -p <= %d\n", NPATHS_MAX);
		return 2;
	}
	paths = calloc(npaths, sizeof(*paths));
	if (!paths)
		return 1;
	make_paths();

	struct gtask *tasks = calloc(ntasks, sizeof(*tasks));
	int *pending = calloc(ntasks, sizeof(*pending));
	struct klt_event *batch = malloc(BATCH * sizeof(*batch));
	struct klt_writer *w = NULL;
	struct lg_engine *eng = NULL;
	struct klt_err err;
	double feed_s = 0, t0 = now();
	uint64_t ts = 1000;
	int rc = 1;

	if (!tasks || !pending || !batch)
		goto out;
	for (unsigned i = 0; i < ntasks; i++)
		tasks[i].tid = 1000 + i;
	if (replay) {
		struct lg_config cfg = { 0 };

		eng = lg_new(&cfg);
		if (!eng)
			goto out;
	} else {
		struct klt_trace_info info = { .format_version = KLT_FORMAT_VERSION };

		snprintf(info.tool_version, sizeof(info.tool_version), "klt-gen");
		snprintf(info.attach_mode, sizeof(info.attach_mode), "synthetic");
		snprintf(info.clock, sizeof(info.clock), "monotonic");
		w = klt_writer_open(out, &info, KLT_W_FORCE, &err);
		if (!w) {
			fprintf(stderr, "klt-gen: %s\n", err.msg);
			goto out;
		}
	}
	for (unsigned long long done = 0; done < n;) {
		size_t m = n - done < BATCH ? (size_t)(n - done) : BATCH;

		for (size_t i = 0; i < m; i++) {
			unsigned k = (unsigned)(rnd() % ntasks);

			step(&tasks[k], &batch[i], ts, &pending[k]);
			ts += 100;
		}
		if (replay) {
			double a = now();

			for (size_t i = 0; i < m; i++)
				if (lg_feed(eng, &batch[i])) {
					fprintf(stderr, "klt-gen: lg_feed: out of memory\n");
					goto out;
				}
			feed_s += now() - a;
		} else {
			for (size_t i = 0; i < m; i++)
				if (klt_writer_add_event(w, &batch[i])) {
					fprintf(stderr, "klt-gen: %s: write failed\n", out);
					goto out;
				}
		}
		done += m;
	}
	if (replay) {
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("events=%llu feed_seconds=%.3f events_per_s=%.0f peak_rss_kb=%ld locks=%zu "
		       "classes=%zu edges=%zu findings=%zu total_seconds=%.3f\n",
		       n, feed_s, n / feed_s, ru.ru_maxrss, lg_nlocks(eng), lg_nclasses(eng),
		       lg_nedges(eng, LG_LEVEL_INSTANCE), lg_nfindings(eng), now() - t0);
	} else if (klt_writer_close(w, &err)) {
		w = NULL;
		fprintf(stderr, "klt-gen: %s\n", err.msg);
		goto out;
	} else {
		w = NULL;
	}
	rc = 0;
out:
	if (w)
		klt_writer_close(w, &err);
	lg_free(eng);
	free(batch);
	free(pending);
	free(tasks);
	free(paths);
	return rc;
}
