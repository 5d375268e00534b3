// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kvmlocktrace vmtest: hands over to the VM harness (tests/vm/, docs/live-tracing.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef KLT_LIBEXECDIR
#define KLT_LIBEXECDIR "/usr/local/libexec/kvmlocktrace"
#endif

/* vmtest is the VM harness script (tests/vm/vmtest.sh), run with this binary as the tracer. */
int klt_cmd_vmtest(int argc, char **argv)
{
	char script[PATH_MAX], self[PATH_MAX];
	ssize_t n;
	char **args;

	if (!klt_cli_find_data("KLT_VM_DIR", "tests/vm/vmtest.sh",
			       "libexec/kvmlocktrace/vm/vmtest.sh", KLT_LIBEXECDIR "/vm/vmtest.sh",
			       script, sizeof(script)) || access(script, R_OK)) {
		fprintf(stderr, "kvmlocktrace: vmtest: harness script not found (looked for "
				"tests/vm/vmtest.sh beside the build and in %s/vm)\n",
			KLT_LIBEXECDIR);
		return KLT_EXIT_INPUT;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		setenv("KLT_BIN", self, 0);
	}
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args)
		return KLT_EXIT_INPUT;
	args[0] = "bash";
	args[1] = script;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	execvp("bash", args);
	fprintf(stderr, "kvmlocktrace: vmtest: cannot run bash: %s\n", strerror(errno));
	free(args);
	return KLT_EXIT_INPUT;
}
