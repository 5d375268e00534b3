/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared pieces of the command line (exit codes are chosen only by the commands). */
#ifndef KLT_CLI_H
#define KLT_CLI_H

#include <argp.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "rules.h"
#include "trace.h"

#define KLT_EXIT_CLEAN 0
#define KLT_EXIT_FINDINGS 1
#define KLT_EXIT_INPUT 2 /* usage or input error, or a harness/attach failure */
#define KLT_EXIT_PERM 3	 /* no permission to trace (needs root or CAP_BPF+CAP_PERFMON) */
#define KLT_EXIT_INCOMPLETE 4 /* no verdict: the recording is empty, cut off, unfinished, lost
			       * events, or could not see lock acquisitions (klt_trace_completeness) */
#define KLT_EXIT_WORKLOAD 5 /* the workload could not be started, or the target does not exist */

/* Exit status of a verdict: findings first, then whether the recording was complete. */
int klt_verdict_exit(bool findings, enum klt_completeness c);

/* Load the rules file (default: installed/build-tree rules/kvm.rules). used = its path, or ""
 * when no rules were loaded. */
int klt_cli_load_rules(const char *path, bool none, struct klt_rules *rules, char *used,
		       size_t usedlen);

/*
 * An output file written to a 0600 temporary beside it and renamed over the target on commit
 * (src/cli/cli_output.c). "-" or NULL is stdout. Every failure prints one line naming the path.
 */
struct klt_out {
	FILE *f;
	int fd;
	const char *path;
	bool force;
	char tmp[PATH_MAX];
};
FILE *klt_out_open(struct klt_out *o, const char *path, bool force);
/* Only create the temporary (o->tmp) for a writer that opens the path itself. */
int klt_out_reserve(struct klt_out *o, const char *path, bool force);
int klt_out_commit(struct klt_out *o); /* flush, sync, rename; on failure nothing is left */
void klt_out_abort(struct klt_out *o); /* remove the temporary */
/* Print a writer's error message (which names o->tmp) naming the target instead. */
void klt_out_error(const struct klt_out *o, const char *msg);

/* A usage error of an option or argument: one line "kvmlocktrace CMD: message" on stderr, exit
 * KLT_EXIT_INPUT (argp_error() would add a "Try --help" line). */
void klt_usage_error(const struct argp_state *state, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * First existing file among: $ENVVAR/rel, the build tree (<exe>/../rel, <exe>/../../rel), the
 * install tree relative to the binary (<exe>/../<reloc>, so DESTDIR or a moved prefix still
 * works), and the configured install path. Into buf; NULL if none.
 */
const char *klt_cli_find_data(const char *envvar, const char *rel, const char *reloc,
			      const char *installed, char *buf, size_t len);

/* The commands (main.c's table). argv[0] is "kvmlocktrace NAME"; each returns the exit status. */
int klt_cmd_live(int argc, char **argv, bool record); /* cli_live.c: trace, record */
int klt_cmd_features(int argc, char **argv);	       /* cli_live.c */
int klt_cmd_report(int argc, char **argv);	       /* cmd_report.c */
int klt_cmd_check(int argc, char **argv);	       /* cmd_report.c */
int klt_cmd_convert(int argc, char **argv);	       /* cmd_report.c */
int klt_cmd_vmtest(int argc, char **argv);	       /* cmd_vmtest.c */

#endif
