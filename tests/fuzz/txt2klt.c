// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Seed helper for make-corpus.sh: convert a text-form trace to the binary form with the
 * library itself (no CLI, no libbpf). Usage: txt2klt IN.txt OUT.klt */
#include <stdio.h>
#include <stdlib.h>

#include "trace.h"
#include "traceio.h"

int main(int argc, char **argv)
{
	struct klt_trace t;
	struct klt_err err = { "" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s IN.txt OUT.klt\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	buf = malloc(1 << 20);
	len = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	klt_trace_init(&t);
	ret = klt_text_parse(buf, len, argv[1], &t, &err);
	if (!ret)
		ret = klt_trace_write_file(argv[2], &t, KLT_W_FORCE, &err);
	if (ret)
		fprintf(stderr, "%s\n", err.msg);
	klt_trace_free(&t);
	free(buf);
	return ret ? 1 : 0;
}
