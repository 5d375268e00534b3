/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* User-space symbolization for --user: /proc/PID/maps + ELF symbol tables (libelf). */
#ifndef KLT_TRACER_USYM_H
#define KLT_TRACER_USYM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "symtab.h"

struct klt_usym;

struct klt_usym *klt_usym_new(void);
void klt_usym_free(struct klt_usym *u);
/* Does the ELF file at path define (not import) function `sym`? */
bool klt_usym_defines(const char *path, const char *sym);
/* Add every function and object symbol of an ELF file (e.g. a vmlinux) to st, each address
 * plus slide; `_stext` of the file is returned in *stext (0 if absent). 0 or -errno. */
int klt_usym_elf_syms(const char *path, struct klt_symtab *st, int64_t slide, uint64_t *stext);
/* File offset of function `sym` in the ELF file at path (for uprobes), or -ENOENT. Versioned
 * duplicates (foo@GLIBC_2.2.5, foo@@GLIBC_2.34) at one address are the same function. */
int klt_usym_func_offset(const char *path, const char *sym, uint64_t *off);
/*
 * Symbol covering addr in process pid, relocated to its run-time address: the function
 * containing it, or (data) the object starting exactly at it. out->name/module stay valid
 * until klt_usym_free. Returns 0 or -ENOENT.
 */
int klt_usym_resolve(struct klt_usym *u, pid_t pid, uint64_t addr, bool data, struct klt_sym *out);

/*
 * Keeping the maps of traced processes. A process's maps are read when it is first seen and
 * re-read while it lives, so its addresses can still be named after it exited (events are
 * consumed later than they happen). All three are no-ops on a NULL u.
 *   klt_usym_track    start following pid now (the traced command, --pid)
 *   klt_usym_refresh  re-read the maps of live followed processes (rate-limited; call it from
 *                     the poll loop)
 *   klt_usym_event    an event of pid at ts (CLOCK_MONOTONIC ns) on a user-space lock is about
 *                     to be consumed:
 *                     follow pid, read its maps if the last reading predates its first event,
 *                     refresh. For tests only, KLT_TEST_CONSUMER_DELAY_MS=N then sleeps N ms
 *                     per such event (a lagging consumer).
 */
void klt_usym_track(struct klt_usym *u, pid_t pid);
/* Read pid's maps now, whatever was read before (the traced command stopped at its exit, its
 * maps still there: docs/live-tracing.md, "User-space symbols"). */
void klt_usym_snapshot(struct klt_usym *u, pid_t pid);
void klt_usym_refresh(struct klt_usym *u);
void klt_usym_event(struct klt_usym *u, pid_t pid, uint64_t ts);

#endif
