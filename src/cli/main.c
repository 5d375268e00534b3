// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmlocktrace: the command table and dispatch, nothing else. Each command lives in its own
 * file of src/cli/ (docs/architecture.md); exit codes are those of cli.h.
 */
#include <argp.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *argp_program_version = "kvmlocktrace " KLT_VERSION;
const char *argp_program_bug_address = "the project's issue tracker";

struct command {
	const char *name;
	const char *synopsis; /* as the top-level help lists it */
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is "kvmlocktrace NAME" */
};

static int cmd_trace(int argc, char **argv)
{
	return klt_cmd_live(argc, argv, false);
}

static int cmd_record(int argc, char **argv)
{
	return klt_cmd_live(argc, argv, true);
}

static const struct command commands[] = {
	{ "trace", "(none), trace", "trace live; print each finding as it is found (see trace "
				      "--help)", cmd_trace },
	{ "record", "record -o FILE", "record live to a trace file (see record --help)",
	  cmd_record },
	{ "features", "features", "what this kernel allows and which attach mode auto would "
				  "choose", klt_cmd_features },
	{ "report", "report FILE", "analyse a recording (binary .klt or text) and print every "
				   "finding", klt_cmd_report },
	{ "check", "check FILE", "like report, exit 1 if anything was found (for CI)",
	  klt_cmd_check },
	{ "convert", "convert IN", "convert a recording between the binary and the text form",
	  klt_cmd_convert },
	{ "vmtest", "vmtest", "boot a kernel under QEMU, trace a workload, report (see vmtest "
			      "--help)", klt_cmd_vmtest },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage_top(FILE *f)
{
	fprintf(f, "Usage: kvmlocktrace COMMAND [OPTION...] ARGS\n\n"
		   "kvmlocktrace -- lock-ordering tracer for Linux: lockdep-style reports of "
		   "lock-order\ninversions (possible deadlocks), with knowledge of KVM / "
		   "CPU-hotplug locks.\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-15s %s\n", commands[i].synopsis, commands[i].summary);
	fprintf(f, "\nRun 'kvmlocktrace COMMAND --help' for a command's options.\n\n"
		   "Examples:\n"
		   "  kvmlocktrace report examples/kvm-6.5-srcu-hotplug-deadlock.klt\n"
		   "  kvmlocktrace check run.klt --rules rules/kvm.rules --kernel 6.5\n"
		   "  kvmlocktrace report run.klt --format dot -o graph.dot && dot -Tsvg graph.dot "
		   "-o graph.svg\n"
		   "  kvmlocktrace convert scenario.txt -o scenario.klt\n\n"
		   "Exit status: 0 clean, 1 findings (check, live), 2 usage, input or attach error, "
		   "3 no\npermission (needs root or CAP_BPF+CAP_PERFMON), 4 no verdict (the "
		   "recording is\nincomplete), 5 the workload could not be started.\n");
}

static bool is_opt(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(s, *names))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static const char *const help[] = { "--help", "-h", "-?", "--usage", "help", NULL };
	static const char *const version[] = { "--version", "-V", NULL };
	const char *cmd = argc > 1 ? argv[1] : NULL;
	char name[64];

	/*
	 * The engine's arrays double as locks and edges arrive (600,000 locks: a dozen arrays of
	 * up to 16 MB). glibc's dynamic mmap threshold rises to 32 MB after the first large free,
	 * so the next arrays come from the heap, and every doubling leaves the old copy behind as
	 * a resident hole. A fixed threshold keeps large blocks in mmap: realloc is mremap, a
	 * free returns the pages. bench/memory.sh measures both (KLT_MALLOC_DEFAULT=1: glibc's
	 * default): a 300,000-pair storm recording, report 239 -> 212 MB (from text: 335 -> 217).
	 */
	if (!getenv("KLT_MALLOC_DEFAULT"))
		mallopt(M_MMAP_THRESHOLD, 1 << 20);
	argp_err_exit_status = KLT_EXIT_INPUT; /* usage errors exit 2, not EX_USAGE */
	if (cmd && is_opt(cmd, help)) {
		usage_top(stdout);
		return KLT_EXIT_CLEAN;
	}
	if (cmd && is_opt(cmd, version)) {
		printf("%s\n", argp_program_version);
		return KLT_EXIT_CLEAN;
	}
	/* no command, or an option first: live tracing, with the options as given */
	if (!cmd || cmd[0] == '-')
		return klt_cmd_live(argc, argv, false);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(cmd, commands[i].name))
			continue;
		/* argp shows "kvmlocktrace COMMAND" in its messages */
		snprintf(name, sizeof(name), "kvmlocktrace %s", commands[i].name);
		argv[1] = name;
		return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "kvmlocktrace: unknown command '%s' (try --help)\n", cmd);
	return KLT_EXIT_INPUT;
}
