// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * handler-cost [-n RUNS] [-r REPS] [-c CPU] NEW.bpf.o [OLD.bpf.o]: load the raw_tp programs of
 * bench/handler-cost.bpf.c (NEW: current handlers, OLD: built with -DKLT_HC_OLD) and time RUNS
 * single BPF_PROG_TEST_RUN calls of each, REPS times, pinned to CPU (raw_tp test runs take no
 * `repeat`: the syscall is in every sample, and the empty program's loop measures it). Each
 * scenario is run once first (the first round sends the EDGE record and fills the caches).
 * Prints per-repetition ns/run and a summary of medians; asserts nothing.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define MAX_SC 8
#define MAX_REPS 101
#define CHUNK 500 /* runs of one scenario before the next one's */

struct scenario {
	const char *label;
	int fd;
	double ns[MAX_REPS];
};

static int run_once(int fd)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	return bpf_prog_test_run_opts(fd, &o);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_REPS];

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static long map_entries(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	__u8 key[64], next[64];
	long n = 0;

	if (!m || bpf_map__key_size(m) > sizeof(key))
		return -1;
	for (void *k = NULL; !bpf_map_get_next_key(bpf_map__fd(m), k, next); k = key, n++)
		memcpy(key, next, bpf_map__key_size(m));
	return n;
}

/* After the runs: the failure counters in .bss and the map sizes, to show the rounds ran as
 * meant (one new edge per lock pair, no missed release, no overflow). */
static void print_state(const char *label, struct bpf_object *obj)
{
	static const char *const names[] = { "cnt_ringbuf_full", "cnt_task_map_full",
		"cnt_edge_map_full", "cnt_stack_fail", "cnt_depth_overflow", "cnt_missed_release" };
	struct bpf_map *bss = bpf_object__find_map_by_name(obj, ".bss");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	size_t size;
	const char *data;
	long li = map_entries(obj, "lockinfo");
	int id;

	printf("%s: edges %ld", label, map_entries(obj, "edges"));
	if (li >= 0) /* the old handlers have no lockinfo map */
		printf(", lockinfo %ld", li);
	id = btf ? btf__find_by_name_kind(btf, ".bss", BTF_KIND_DATASEC) : -1;
	data = bss ? bpf_map__initial_value(bss, &size) : NULL; /* the live mmap after load */
	if (id < 0 || !data) {
		printf("\n");
		return;
	}
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const char *n = btf__name_by_offset(btf, btf__type_by_id(btf, vs->type)->name_off);

		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (!strcmp(n, names[j]) && vs->offset + 8 <= size)
				printf(", %s %llu", n + 4,
				       (unsigned long long)*(const __u64 *)(data + vs->offset));
	}
	printf("\n");
}

#define VLOG_SIZE (1 << 20)

/*
 * Load, with the verifier's statistics (log level 4) of each program printed: the
 * instructions it processed to accept the handlers, which is what a tracer's start-up costs
 * per program on the traced kernel (and, under QEMU's TCG, seconds).
 */
static struct bpf_object *load(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *p;
	char *logs[MAX_SC * 2] = {};
	int n = 0;

	if (!obj) {
		fprintf(stderr, "handler-cost: %s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	bpf_object__for_each_program(p, obj) {
		if (n >= MAX_SC * 2 || !(logs[n] = calloc(1, VLOG_SIZE)))
			break;
		bpf_program__set_log_level(p, 4);
		bpf_program__set_log_buf(p, logs[n++], VLOG_SIZE);
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "handler-cost: %s: load failed (verifier log above; needs root)\n",
			path);
		bpf_object__close(obj);
		for (int i = 0; i < n; i++)
			free(logs[i]);
		return NULL;
	}
	n = 0;
	bpf_object__for_each_program(p, obj) {
		char *st = logs[n] ? strstr(logs[n], "processed ") : NULL, *nl;

		if (st && (nl = strchr(st, '\n')))
			*nl = '\0';
		if (st && strcmp(bpf_program__name(p), "hc_empty"))
			printf("verifier %s %-14s %s\n", strstr(path, "old") ? "old" : "new",
			       bpf_program__name(p), st);
		free(logs[n++]);
		if (n >= MAX_SC * 2)
			break;
	}
	return obj;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p ? bpf_program__fd(p) : -1;
}

static int add(struct scenario *sc, int *n, const char *label, struct bpf_object *obj,
	       const char *prog)
{
	int fd = prog_fd(obj, prog);

	if (fd < 0 || *n >= MAX_SC) {
		fprintf(stderr, "handler-cost: no program %s\n", prog);
		return -1;
	}
	if (run_once(fd)) { /* warm-up: the first round creates the edge */
		fprintf(stderr, "handler-cost: %s: test run failed: %s\n", prog, strerror(errno));
		return -1;
	}
	sc[*n].label = label;
	sc[*n].fd = fd;
	(*n)++;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *newo = NULL, *oldo = NULL;
	struct scenario sc[MAX_SC] = {};
	long runs = 200000, reps = 9;
	int cpu = 0, nsc = 0, rc = 1, opt, setup;
	cpu_set_t set;

	while ((opt = getopt(argc, argv, "n:r:c:")) != -1) {
		switch (opt) {
		case 'n': runs = atol(optarg); break;
		case 'r': reps = atol(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (optind >= argc || argc - optind > 2 || runs < 1 || reps < 1 || reps > MAX_REPS)
		goto usage;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("handler-cost: sched_setaffinity");
		return 1;
	}
	newo = load(argv[optind]);
	if (!newo)
		goto out;
	if (optind + 1 < argc) {
		oldo = load(argv[optind + 1]);
		if (!oldo)
			goto out;
	}
	setup = prog_fd(newo, "hc_init_setup");
	if (setup < 0 || run_once(setup)) {
		fprintf(stderr, "handler-cost: hc_init_setup failed\n");
		goto out;
	}
	if (add(sc, &nsc, "empty", newo, "hc_empty"))
		goto out;
	if (oldo && (add(sc, &nsc, "old known", oldo, "hc_known") ||
		     add(sc, &nsc, "old empty", oldo, "hc_empty")))
		goto out;
	if (add(sc, &nsc, "new known", newo, "hc_known") ||
	    add(sc, &nsc, "new init", newo, "hc_init"))
		goto out;

	printf("cpu %d, %ld single test runs per sample, %ld repetitions (ns/run)\n", cpu, runs,
	       reps);
	printf("%-4s", "rep");
	for (int s = 0; s < nsc; s++)
		printf(" %10s", sc[s].label);
	printf("\n");
	for (long r = 0; r < reps; r++) {
		printf("%-4ld", r + 1);
		/* Interleaved in chunks of CHUNK runs, the order rotated each time: drift (the
		 * clock, the other core's load, a VM's steal time) falls on every scenario alike. */
		double t[MAX_SC] = {};
		long done = 0;

		for (long c = 0; done < runs; c++) {
			long n = runs - done < CHUNK ? runs - done : CHUNK;

			for (int k = 0; k < nsc; k++) {
				int s = (k + c) % nsc;
				double t0 = now_ns();

				for (long i = 0; i < n; i++) {
					if (run_once(sc[s].fd)) {
						fprintf(stderr, "handler-cost: test run failed: %s\n",
							strerror(errno));
						goto out;
					}
				}
				t[s] += now_ns() - t0;
			}
			done += n;
		}
		for (int s = 0; s < nsc; s++)
			sc[s].ns[r] = t[s] / runs;
		for (int s = 0; s < nsc; s++)
			printf(" %10.1f", sc[s].ns[r]);
		printf("\n");
		fflush(stdout);
	}
	/* the baseline of a repetition: its empty program runs (one per object, the same code) */
	double empty[MAX_REPS], d[MAX_REPS];

	for (long r = 0; r < reps; r++) {
		int ne = 0;

		empty[r] = 0;
		for (int s = 0; s < nsc; s++)
			if (strstr(sc[s].label, "empty")) {
				empty[r] += sc[s].ns[r];
				ne++;
			}
		empty[r] /= ne;
	}
	/* body: each repetition's difference to its own baseline, then the median of those */
	printf("\n%-10s %10s %8s %8s %10s %7s   (ns/run; body = run - empty, median)\n",
	       "scenario", "median", "min", "max", "body", "ratio");
	for (int s = 0; s < nsc; s++) {
		double lo = sc[s].ns[0], hi = sc[s].ns[0];

		for (long r = 0; r < reps; r++) {
			lo = sc[s].ns[r] < lo ? sc[s].ns[r] : lo;
			hi = sc[s].ns[r] > hi ? sc[s].ns[r] : hi;
			d[r] = sc[s].ns[r] - empty[r];
		}
		printf("%-10s %10.1f %8.1f %8.1f %10.1f %7.2f\n", sc[s].label, median(sc[s].ns, reps),
		       lo, hi, median(d, reps), median(sc[s].ns, reps) / median(empty, reps));
	}
	/* the two differences this bench is for, paired by repetition */
	for (int s = 0; s < nsc; s++) {
		for (int t = 0; t < nsc; t++) {
			const char *what = NULL;

			if (!strcmp(sc[s].label, "new known") && !strcmp(sc[t].label, "old known"))
				what = "new known - old known";
			else if (!strcmp(sc[s].label, "new init") && !strcmp(sc[t].label, "new known"))
				what = "new init - new known";
			if (!what)
				continue;
			for (long r = 0; r < reps; r++)
				d[r] = sc[s].ns[r] - sc[t].ns[r];
			printf("%-22s %8.1f ns/run (median of the repetitions' differences)\n", what,
			       median(d, reps));
		}
	}
	printf("\n");
	print_state("new", newo);
	if (oldo)
		print_state("old", oldo);
	rc = 0;
out:
	bpf_object__close(oldo);
	bpf_object__close(newo);
	return rc;
usage:
	fprintf(stderr, "usage: handler-cost [-n RUNS] [-r REPS] [-c CPU] NEW.bpf.o [OLD.bpf.o]\n");
	return 2;
}
