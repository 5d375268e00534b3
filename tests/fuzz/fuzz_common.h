/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared helpers of the libFuzzer harnesses (tests/fuzz/README.md). */
#ifndef KLT_FUZZ_COMMON_H
#define KLT_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A violated harness invariant: print why and abort, so libFuzzer saves the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                                     \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: ", __FILE__, __LINE__,   \
				#cond);                                                           \
			fprintf(stderr, __VA_ARGS__);                                             \
			fputc('\n', stderr);                                                      \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

/* Error messages are fixed-size buffers: they must always be NUL-terminated. */
static inline void fuzz_check_msg(const char *msg, size_t cap)
{
	FUZZ_CHECK(memchr(msg, '\0', cap) != NULL, "error message not NUL-terminated");
}

/* Print the first differing region of two byte strings (for round-trip failures). */
static inline void fuzz_show_diff(const char *what, const char *a, size_t al, const char *b,
				  size_t bl)
{
	size_t i = 0, lo;

	while (i < al && i < bl && a[i] == b[i])
		i++;
	lo = i > 120 ? i - 120 : 0;
	fprintf(stderr, "%s differ at byte %zu (lengths %zu vs %zu)\n--- first:\n%.*s\n--- second:\n%.*s\n---\n",
		what, i, al, bl, (int)((al - lo) < 400 ? (al - lo) : 400), a + lo,
		(int)((bl - lo) < 400 ? (bl - lo) : 400), b + lo);
}

#ifdef KLT_ABI_H
static inline void fuzz_show_event(const char *tag, const struct klt_event *e)
{
	fprintf(stderr, "%s: type=%u kind=%u mode=%u cpu=%u ts=%llu pid=%u tid=%u lock=0x%llx ip=0x%llx "
		"stack_id=%d flags=0x%x aux0=%u aux1=%u aux2=%d aux3=%u comm=%.16s\n", tag, e->type,
		e->kind, e->mode, e->cpu, (unsigned long long)e->ts, e->pid, e->tid,
		(unsigned long long)e->lock, (unsigned long long)e->ip, e->stack_id, e->flags, e->aux0,
		e->aux1, e->aux2, e->aux3, e->comm);
}
#endif

#endif
