// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Live tracer lifecycle around the BPF skeleton: open, configure, load, attach, poll, stop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "klt.skel.h"
#include "tracer_int.h"
#include "tracer_usym.h"

static int open_load(struct klt_tracer *t, const struct klt_sym *hp, char *msg, size_t msglen)
{
	struct btf *vmlinux = t->opts.btf ? btf__parse(t->opts.btf, NULL) : btf__load_vmlinux_btf();
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = t->opts.btf);
	struct btf *kvm = NULL;
	int err;

	if (vmlinux && klt_path_exists("/sys/kernel/btf/kvm"))
		kvm = btf__load_module_btf("kvm", vmlinux);
	t->skel = klt_bpf__open_opts(&oo);
	if (!t->skel) {
		err = -errno;
		char e[128];

		snprintf(msg, msglen, "cannot open the BPF object: %s", klt_lerr(err, e, sizeof(e)));
		goto out;
	}
	t->skel->rodata->targ_tgid = t->opts.user ? 0 : (__u32)t->opts.pid;
	t->skel->rodata->trace_all = t->opts.all;
	t->skel->rodata->full_events = t->opts.full_events;
	t->skel->rodata->self_tgid = (__u32)getpid();
	t->skel->rodata->cpu_hotplug_lock_addr = hp ? hp->addr : 0;
	/*
	 * Kernel locks: wake the reader at 1/16 full; below that, klt_tracer_poll's timeout
	 * collects. Not for --user: user stacks are symbolized from /proc/PID/maps, which must
	 * be read while the traced process still lives, so those records wake it at once.
	 */
	t->skel->rodata->rb_wake_bytes =
		t->opts.user ? 0 : bpf_map__max_entries(t->skel->maps.events) / 16;
	err = klt_configure_autoload(t, vmlinux, kvm);
	if (err) {
		snprintf(msg, msglen, "the BPF object has programs include/klt_hooks.h does not list");
		goto out;
	}
	klt_load_layouts(t, vmlinux, kvm);
	err = klt_bpf__load(t->skel);
	if (err == -EPERM && t->mode != KLT_ATTACH_TRACEPOINT && klt_may_trace()) {
		/* not a missing privilege: this kernel's policy (lockdown, a LSM, no trampolines) */
		snprintf(msg, msglen, "this kernel refuses %s programs (EPERM as root): use --attach "
			 "%s", klt_attach_name(t->mode), t->mode == KLT_ATTACH_FENTRY ?
			 "kprobe or auto" : "tracepoint or auto");
		err = -EOPNOTSUPP; /* an attach error (exit 2), not "no permission" (exit 3) */
	} else if (err) {
		char e[128];

		snprintf(msg, msglen, "loading %s programs failed: %s%s", klt_attach_name(t->mode),
			 klt_lerr(err, e, sizeof(e)), err == -EPERM ?
			 " (needs root, or CAP_BPF+CAP_PERFMON; some kernels refuse tracing programs)"
			 : "");
	}
	if (!err)
		klt_scope_offsets(t); /* the mmapped .bss exists from here */
out:
	btf__free(kvm);
	btf__free(vmlinux);
	return err;
}

/* --btf FILE, or the kernel's own BTF: say what is wrong before libbpf fails deep in the load. */
static int check_btf(const char *path, char *msg, size_t msglen)
{
	int err;

	if (path && access(path, R_OK)) {
		err = -errno;
		snprintf(msg, msglen, "--btf %s: %s", path, strerror(-err));
		return err;
	}
	if (path) {
		struct stat sb;
		struct btf *b;
		char e[128];

		if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
			snprintf(msg, msglen, "--btf %s: not a regular file (expected a vmlinux or a "
				 "raw BTF file)", path);
			return -EINVAL;
		}
		b = btf__parse(path, NULL);
		if (!b) {
			err = -errno;
			if (err == -LIBBPF_ERRNO__FORMAT || err == -EPROTO || err == -EINVAL)
				snprintf(msg, msglen, "--btf %s: not an ELF or BTF file (expected a vmlinux "
					 "with a .BTF section, or raw BTF like /sys/kernel/btf/vmlinux)",
					 path);
			else if (err == -ENOENT || err == -ENODATA)
				snprintf(msg, msglen, "--btf %s: an ELF file without BTF (no .BTF "
					 "section: a vmlinux built without CONFIG_DEBUG_INFO_BTF?)",
					 path);
			else
				snprintf(msg, msglen, "--btf %s: %s", path, klt_lerr(err, e, sizeof(e)));
			err = -EINVAL; /* an input error (exit 2) whatever libbpf said */
			return err;
		}
		btf__free(b);
	}
	if (!path && !klt_path_exists("/sys/kernel/btf/vmlinux")) {
		snprintf(msg, msglen, "this kernel exposes no BTF (/sys/kernel/btf/vmlinux, "
				      "CONFIG_DEBUG_INFO_BTF): pass --btf FILE with the BTF or a vmlinux "
				      "of the running kernel");
		err = -ENOENT;
		return err;
	}
	return 0;
}

/* --attach=auto: probe the kernel once and say why the mode was chosen. */
static void choose_mode(struct klt_tracer *t)
{
	const struct klt_tracer_opts *o = &t->opts;
	struct klt_features f;

	t->mode = o->attach;
	if (t->mode != KLT_ATTACH_AUTO)
		return;
	klt_features_probe(&f);
	t->mode = o->user ? KLT_ATTACH_TRACEPOINT : f.auto_mode;
	if (!o->user)
		snprintf(t->reason, sizeof(t->reason), "auto: fentry %s, kprobes %s -> %s",
			 f.fentry ? "allowed" : !f.btf ?
			 "needs the kernel's BTF (--btf only serves CO-RE)" :
			 f.fentry_err == -EPERM && klt_may_trace() ?
			 "refused by this kernel (EPERM as root)" : strerror(-f.fentry_err),
			 f.kprobe ? "available" : "not available (no kprobe PMU)",
			 klt_attach_name(t->mode));
}

/* Attach the loaded programs: uprobes first with --user; 0 or -errno with msg set. */
static int attach_all(struct klt_tracer *t, char *msg, size_t msglen)
{
	int err;

	if (t->opts.user) {
		err = klt_attach_user(t, msg, msglen);
		if (err)
			return err;
		err = klt_attach_kernel(t); /* tracepoints only */
	} else {
		err = klt_attach_kernel(t);
		if (err == 0 && t->mode != KLT_ATTACH_TRACEPOINT) {
			snprintf(msg, msglen, "no %s hook could be attached",
				 klt_attach_name(t->mode));
			return -ENOENT;
		}
	}
	if (err < 0) {
		char e[128];

		snprintf(msg, msglen, "attach: %s", klt_lerr(err, e, sizeof(e)));
		return err;
	}
	return 0;
}

int klt_tracer_start(const struct klt_tracer_opts *o, const struct klt_tracer_cbs *cbs,
		     struct klt_tracer **out, char *msg, size_t msglen)
{
	struct klt_tracer *t = calloc(1, sizeof(*t));
	const struct klt_sym *hp;
	int err;

	*out = NULL;
	msg[0] = '\0';
	if (!t)
		return -ENOMEM;
	/* libbpf logs every failed probe (a hundred lines without kprobes): the caller prints
	 * one line from msg; -v shows libbpf's log */
	klt_tracer_set_verbose(o->verbose);
	t->opts = *o;
	t->cbs = *cbs;
	t->ksyms = klt_symtab_new();
	t->emitted = klt_symtab_new();
	t->stack_seen = calloc(STACK_IDS + USTACK_IDS, 1);
	t->stack_site = calloc(STACK_IDS, sizeof(*t->stack_site));
	if (!t->ksyms || !t->emitted || !t->stack_seen || !t->stack_site) {
		err = -ENOMEM;
		goto fail;
	}
	if (o->user) {
		t->usym = klt_usym_new();
		if (!t->usym) {
			err = -ENOMEM;
			goto fail;
		}
		klt_usym_track(t->usym, o->pid); /* --pid or the command (read once exec'd) */
	}
	klt_ensure_tracefs();
	err = check_btf(o->btf, msg, msglen);
	if (err)
		goto fail;
	err = klt_load_ksyms(t->ksyms, o->symbols, msg, msglen);
	if (err)
		goto fail;
	hp = klt_symtab_by_name(t->ksyms, "cpu_hotplug_lock", KLT_SYM_DATA);

	choose_mode(t);
	if (t->mode == KLT_ATTACH_KPROBE && !o->user && !klt_kprobes_available()) {
		snprintf(msg, msglen, "this kernel has no kprobes (no kprobe PMU in "
			 "/sys/bus/event_source/devices): use --attach fentry, tracepoint or auto");
		err = -ENOENT;
		goto fail;
	}
	err = open_load(t, hp, msg, msglen);
	if (err && o->attach == KLT_ATTACH_AUTO && t->mode != KLT_ATTACH_TRACEPOINT) {
		/* auto: fall back one level and say so */
		fprintf(stderr, "kvmlocktrace: %s; falling back to tracepoint mode\n", msg);
		snprintf(t->reason, sizeof(t->reason), "auto: %s mode failed to load -> tracepoint",
			 klt_attach_name(t->mode));
		klt_bpf__destroy(t->skel);
		t->skel = NULL;
		t->mode = KLT_ATTACH_TRACEPOINT;
		t->skipped[0] = '\0';
		err = open_load(t, hp, msg, msglen);
	}
	if (err)
		goto fail;
	klt_watch_locks(t);
	err = attach_all(t, msg, msglen);
	if (err)
		goto fail;
	/* Reload kallsyms: our own programs and trampolines ([bpf]) now have names, so stack
	 * frames in them are recognised and dropped (strip_own_frames). */
	klt_reload_ksyms(t);
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), klt_handle_record, t, NULL);
	if (!t->rb) {
		err = -errno;
		snprintf(msg, msglen, "ring buffer: %s", strerror(-err));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	klt_tracer_stop(t);
	return err;
}

enum klt_attach klt_tracer_mode(const struct klt_tracer *t)
{
	return t->mode;
}

const char *klt_tracer_reason(const struct klt_tracer *t)
{
	return t->reason;
}

const char *klt_tracer_attached(const struct klt_tracer *t)
{
	return t->attached;
}

const char *klt_tracer_skipped(const struct klt_tracer *t)
{
	return t->skipped;
}

const char *klt_tracer_waiting(const struct klt_tracer *t)
{
	return t->waiting;
}

void klt_tracer_user_snapshot(struct klt_tracer *t, pid_t pid)
{
	klt_usym_snapshot(t->usym, pid);
}

int klt_tracer_poll(struct klt_tracer *t, int timeout_ms)
{
	int n;

	klt_usym_refresh(t->usym); /* maps of traced processes while they live */
	klt_module_check(t);	   /* even when no record arrives */
	n = ring_buffer__poll(t->rb, timeout_ms);

	/* records below the wakeup threshold (rb_wake_bytes) do not wake us: take them now */
	if (n == 0 && !t->err)
		n = ring_buffer__consume(t->rb);
	if (t->err)
		return t->err;
	return n == -EINTR ? 0 : n;
}

size_t klt_tracer_counters(const struct klt_tracer *t, struct klt_counter *out, size_t max)
{
	const struct klt_bpf__bss *b = t->skel->bss;
	const struct {
		const char *name;
		uint64_t v;
	} c[] = {
		{ "ringbuf_full", b->cnt_ringbuf_full },
		{ "task_map_full", b->cnt_task_map_full },
		{ "edge_map_full", b->cnt_edge_map_full },
		{ "stack_fail", b->cnt_stack_fail },
		{ "depth_overflow", b->cnt_depth_overflow },
		{ "missed_release", b->cnt_missed_release },
		{ "scope_full", b->cnt_scope_full },
	};
	static const char *const act[] = { "new_edges", "events_sent" };
	int ncpu = libbpf_num_possible_cpus();
	size_t n = 0;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]) && n < max; i++, n++) {
		snprintf(out[n].name, sizeof(out[n].name), "%s", c[i].name);
		out[n].value = c[i].v;
	}
	/* per-CPU activity counters: sum over CPUs */
	for (__u32 i = 0; i < sizeof(act) / sizeof(act[0]) && n < max && ncpu > 0; i++) {
		__u64 v[ncpu], sum = 0;

		if (bpf_map__lookup_elem(t->skel->maps.activity, &i, sizeof(i), v,
					 sizeof(__u64) * (size_t)ncpu, 0))
			continue;
		for (int c2 = 0; c2 < ncpu; c2++)
			sum += v[c2];
		snprintf(out[n].name, sizeof(out[n].name), "%s", act[i]);
		out[n++].value = sum;
	}
	return n;
}

void klt_tracer_prog_stats(const struct klt_tracer *t, FILE *f)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, t->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || !info.run_cnt)
			continue;
		fprintf(f, "prog %s runs %llu ns %llu\n", bpf_program__name(p),
			(unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns);
	}
}

void klt_tracer_stop(struct klt_tracer *t)
{
	if (!t)
		return;
	if (t->rb) {
		ring_buffer__consume(t->rb); /* flush what is already there */
		ring_buffer__free(t->rb);
	}
	for (size_t i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	free(t->links);
	klt_bpf__destroy(t->skel);
	klt_symtab_free(t->ksyms);
	klt_symtab_free(t->emitted);
	klt_usym_free(t->usym);
	free(t->deferred);
	free(t->stack_seen);
	free(t->stack_site);
	for (size_t i = 0; i < KLT_OBJ_MAX; i++)
		free(t->objs[i].locks);
	free(t);
}
