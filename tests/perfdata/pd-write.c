// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test driver of src/perfdata.c: pd-write [-f] [-e EVENT] OUT < SPEC writes a perf.data from
 * SPEC, one sample per line, tab-separated: pid tid cpu time_ns period comm frames, where
 * frames are innermost first, separated by ';' (empty: no call chain). '#' lines are comments.
 * Prints "samples=N symbols=N tasks=N bytes=N" on success; the writer's one-line error and
 * exit 1 on failure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perfdata.h"

#define MAX_FRAMES 2048

int main(int argc, char **argv)
{
	const char *event = "klt:hold-ns";
	char err[512], *line = NULL;
	const char *frames[MAX_FRAMES];
	size_t cap = 0;
	unsigned lineno = 0;
	bool force = false;
	struct klt_pd_writer *w;
	struct klt_pd_stats st;
	int opt;

	while ((opt = getopt(argc, argv, "fe:")) != -1) {
		if (opt == 'f')
			force = true;
		else if (opt == 'e')
			event = optarg;
		else
			return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: pd-write [-f] [-e EVENT] OUT < SPEC\n");
		return 2;
	}
	w = klt_pd_open(argv[optind], event, force, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "pd-write: %s\n", err);
		return 1;
	}
	if (klt_pd_set_meta(w, "testhost", "6.1.0-test", "pd-write test")) {
		klt_pd_discard(w);
		return 1;
	}
	while (getline(&line, &cap, stdin) > 0) {
		struct klt_pd_sample s = { 0 };
		char *f[7], *save = NULL, *p;
		unsigned n = 0;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		for (p = line; n < 7; n++) {
			f[n] = p;
			p = strchr(p, '\t');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (n < 5) {
			fprintf(stderr, "pd-write: stdin:%u: need 6 or 7 tab-separated fields\n",
				lineno);
			klt_pd_discard(w);
			return 2;
		}
		s.pid = (uint32_t)strtoul(f[0], NULL, 0);
		s.tid = (uint32_t)strtoul(f[1], NULL, 0);
		s.cpu = (uint32_t)strtoul(f[2], NULL, 0);
		s.time = strtoull(f[3], NULL, 0);
		s.period = strtoull(f[4], NULL, 0);
		s.comm = f[5];
		if (n == 6)
			for (p = strtok_r(f[6], ";", &save); p && s.nframes < MAX_FRAMES;
			     p = strtok_r(NULL, ";", &save))
				frames[s.nframes++] = p;
		s.frames = frames;
		if (klt_pd_add(w, &s) < 0)
			break; /* the error is reported by klt_pd_close */
	}
	free(line);
	klt_pd_get_stats(w, &st);
	if (klt_pd_close(w, err, sizeof(err))) {
		fprintf(stderr, "pd-write: %s\n", err);
		return 1;
	}
	printf("samples=%" PRIu64 " symbols=%" PRIu64 " tasks=%" PRIu64 " bytes=%" PRIu64 "\n",
	       st.samples, st.symbols, st.tasks, st.bytes);
	return 0;
}
