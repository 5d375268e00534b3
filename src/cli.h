/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared pieces of the command line (exit codes are chosen only by the commands). */
#ifndef KLT_CLI_H
#define KLT_CLI_H

#include <argp.h>
#include <stdbool.h>

#include "rules.h"

#define KLT_EXIT_CLEAN 0
#define KLT_EXIT_FINDINGS 1
#define KLT_EXIT_INPUT 2 /* usage or input error, or a harness/attach failure */
#define KLT_EXIT_PERM 3	 /* no permission to trace (needs root or CAP_BPF+CAP_PERFMON) */

/* Load the rules file (default: installed/build-tree rules/kvm.rules). *used = path or NULL. */
int klt_cli_load_rules(const char *path, bool none, struct klt_rules *rules, const char **used);

/* A usage error of an option or argument: one line "kvmlocktrace CMD: message" on stderr, exit
 * KLT_EXIT_INPUT (argp_error() would add a "Try --help" line). */
void klt_usage_error(const struct argp_state *state, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

int klt_cmd_live(int argc, char **argv, bool record);
int klt_cmd_features(int argc, char **argv);

#endif
