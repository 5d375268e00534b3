/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * perf.data writer: synthetic samples whose call chains are already symbolized, in the file
 * format of tools/perf/Documentation/perf.data-file-format.txt, so that `perf report -i` and
 * `perf script -i` show them by name on any machine. Self-contained: no engine dependency.
 *
 * Frame names travel inside the file as PERF_RECORD_KSYMBOL records (one synthetic code range
 * per distinct function), so perf never consults this host's /proc/kallsyms, vmlinux, modules
 * or the build-id cache, and the file can be copied elsewhere alone. See docs/report-formats.md.
 */
#ifndef KLT_PERFDATA_H
#define KLT_PERFDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct klt_pd_sample {
	uint32_t pid, tid;
	uint64_t time;	 /* ns */
	uint64_t period; /* weight: hold/wait ns, or 1 */
	const char *comm;
	unsigned nframes;
	/* innermost first: symbol text like "mutex_lock+0x1c", "kvm_vm_ioctl+0x3f [kvm]",
	 * "main+0x24 [/usr/bin/prog]", or "lock:kvm_lock" */
	const char *const *frames;
	const uint64_t *addrs; /* original addresses per frame, or NULL (not stored: see docs) */
	uint32_t cpu;	       /* CPU of the event; 0 when unknown */
};

struct klt_pd_writer;

/*
 * Create @path (0600, O_EXCL|O_NOFOLLOW unless @force, then O_TRUNC|O_NOFOLLOW) and write a
 * perf.data whose single event is named @event_name (e.g. "klt:hold-ns"). On failure return
 * NULL with a one-line message naming the file in @err.
 */
struct klt_pd_writer *klt_pd_open(const char *path, const char *event_name, bool force, char *err,
				  size_t errlen);
/* Optional: recording host name, its kernel release and the command line, shown by
 * `perf report --header`. NULL leaves a field out. 0 or -ENOMEM. */
int klt_pd_set_meta(struct klt_pd_writer *w, const char *hostname, const char *os_release,
		    const char *cmdline);
/* Append one sample. 0 or a negative errno (the message is kept for klt_pd_close). */
int klt_pd_add(struct klt_pd_writer *w, const struct klt_pd_sample *s);
/*
 * Write the header and feature sections and close. 0, or a negative errno with a one-line
 * message naming the file in @err; on failure the incomplete file is removed. Frees @w.
 */
int klt_pd_close(struct klt_pd_writer *w, char *err, size_t errlen);
/* Abandon the output: close and remove the file, free @w. NULL is a no-op. */
void klt_pd_discard(struct klt_pd_writer *w);

/* Counters of what was written (for messages and tests). */
struct klt_pd_stats {
	uint64_t samples, symbols, tasks, bytes;
};
void klt_pd_get_stats(const struct klt_pd_writer *w, struct klt_pd_stats *st);

#endif /* KLT_PERFDATA_H */
