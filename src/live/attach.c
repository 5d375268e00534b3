// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Attach policy and order, from the hook table (hooks.c): which programs load in the chosen
 * mode, which attach first, which are listed as attached or skipped, and the watch list.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "klt.skel.h"
#include "klt_hooks.h"
#include "hooks.h"
#include "rules.h"
#include "tracer_int.h"
#include "tracer_usym.h"

static void note(char *buf, size_t len, const char *item)
{
	size_t l = strlen(buf);

	if (l + strlen(item) + 3 >= len)
		return;
	snprintf(buf + l, len - l, "%s%s", l ? ", " : "", item);
}

static int add_link(struct klt_tracer *t, struct bpf_link *l)
{
	if (t->nlinks == t->links_cap) {
		size_t cap = t->links_cap ? t->links_cap * 2 : 64;
		struct bpf_link **nl = realloc(t->links, cap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		t->links = nl;
		t->links_cap = cap;
	}
	t->links[t->nlinks++] = l;
	return 0;
}

static bool tracepoint_exists(const struct bpf_program *p)
{
	const char *sec = bpf_program__section_name(p); /* "tracepoint/cat/name" */
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/events/%s", sec + strlen("tracepoint/"));
	return klt_path_exists(path);
}

/* Does module `mod` define function `fn` (kallsyms lists duplicates; look at all of them)? */
static bool module_has(struct klt_symtab *st, const char *mod, const char *fn)
{
	for (size_t i = 0, n = klt_symtab_count(st); i < n; i++) {
		const struct klt_sym *s = klt_symtab_at(st, i);

		if (s->type == KLT_SYM_FUNC && s->module && !strcmp(s->module, mod) &&
		    !strcmp(s->name, fn))
			return true;
	}
	return false;
}

static bool btf_has_func(const struct btf *vmlinux, const struct btf *kvm, const char *fn)
{
	return (vmlinux && btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC) > 0) ||
	       (kvm && btf__find_by_name_kind(kvm, fn, BTF_KIND_FUNC) > 0);
}

static bool is_kprobe_type(enum klt_prog_type type)
{
	return type == KLT_PT_KPROBE || type == KLT_PT_KRETPROBE || type == KLT_PT_KPROBE_KVM ||
	       type == KLT_PT_KRETPROBE_KVM;
}

/*
 * A hook in the kvm module while kvm is not loaded: `modprobe kvm_amd` after the tracer started
 * (vmtest workloads do that). A fentry program cannot be loaded before its target exists, a
 * kprobe program can: in fentry and kprobe mode alike the kprobe twin is loaded now and
 * attached when kvm appears (klt_attach_late). Without kprobes the hook is skipped.
 */
static bool defer(struct klt_tracer *t, const struct klt_prog_desc *d)
{
	if (t->mode == KLT_ATTACH_TRACEPOINT || !is_kprobe_type(d->type) || !klt_kprobes_available()) {
		if (klt_prog_is_entry(d) && !is_kprobe_type(d->type) &&
		    (t->mode == KLT_ATTACH_TRACEPOINT || !klt_kprobes_available()))
			note(t->skipped, sizeof(t->skipped), d->fn);
		return false;
	}
	t->deferred[d - klt_prog_descs] = 1;
	t->ndeferred++;
	if (klt_prog_is_entry(d))
		note(t->waiting, sizeof(t->waiting), d->fn);
	return true;
}

/* Does program d load? The mode's kernel hooks whose function exists, all tracepoints that
 * exist, uprobes only for --user. A missing function or tracepoint is listed as skipped. */
static bool prog_loads(struct klt_tracer *t, const struct klt_prog_desc *d,
		       const struct bpf_program *p, const struct btf *vmlinux, const struct btf *kvm)
{
	bool user = t->opts.user != NULL, load = false;

	if (d->kvm && !t->kvm_at_start && !user)
		return defer(t, d);
	switch (d->type) {
	case KLT_PT_KPROBE_KVM:
	case KLT_PT_KRETPROBE_KVM:
		/* module-qualified kprobes: any mode, if the kvm module has them */
		return !user && t->mode != KLT_ATTACH_TRACEPOINT && klt_kprobes_available() &&
		       module_has(t->ksyms, "kvm", d->fn);
	case KLT_PT_TRACEPOINT:
		load = tracepoint_exists(p);
		break;
	case KLT_PT_UPROBE:
	case KLT_PT_URETPROBE:
		return user;
	case KLT_PT_FENTRY:
	case KLT_PT_FEXIT:
		if (user || t->mode != KLT_ATTACH_FENTRY)
			return false;
		/* libbpf resolves fentry targets in vmlinux and module BTF (kvm) */
		load = btf_has_func(vmlinux, kvm, d->fn);
		break;
	case KLT_PT_KPROBE:
	case KLT_PT_KRETPROBE:
		if (user || t->mode != KLT_ATTACH_KPROBE)
			return false;
		load = klt_symtab_by_name(t->ksyms, d->fn, KLT_SYM_FUNC) != NULL;
		break;
	}
	if (!load && klt_prog_is_entry(d))
		note(t->skipped, sizeof(t->skipped), d->fn);
	return load;
}

int klt_configure_autoload(struct klt_tracer *t, const struct btf *vmlinux,
			   const struct btf *kvm)
{
	struct bpf_program *p;
	size_t n = 0;

	/* every program comes from a row of the hook table: one that does not is a bug */
	bpf_object__for_each_program(p, t->skel->obj)
		n++;
	if (n != klt_nprog_descs)
		return -EPROTO;
	t->kvm_at_start = klt_path_exists("/sys/module/kvm");
	free(t->deferred);
	t->deferred = calloc(klt_nprog_descs, 1);
	t->ndeferred = 0;
	t->waiting[0] = '\0';
	if (!t->deferred)
		return -ENOMEM;
	for (size_t i = 0; i < klt_nprog_descs; i++) {
		const struct klt_prog_desc *d = &klt_prog_descs[i];
		p = klt_prog_of(t->skel, d);
		bpf_program__set_autoload(p, prog_loads(t, d, p, vmlinux, kvm));
	}
	return 0;
}

/* libc (or the binary itself if it defines the pthread functions) for --user. */
static int user_binary(const char *target, char *out, size_t len)
{
	char maps[64], line[1024];
	FILE *f;
	bool numeric = target[0] && strspn(target, "0123456789") == strlen(target);

	snprintf(maps, sizeof(maps), "/proc/%s/maps", numeric ? target : "self");
	if (access(numeric ? maps : target, R_OK))
		return -errno; /* no such program or process */
	if (!numeric) {
		/* a script or a directory has no pthread calls of its own: probing our libc for
		 * it would trace whatever other process runs */
		struct stat st;
		unsigned char mag[4] = { 0 };
		int fd;

		if (!stat(target, &st) && S_ISDIR(st.st_mode))
			return -EISDIR;
		fd = open(target, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (read(fd, mag, sizeof(mag)) != (ssize_t)sizeof(mag) || memcmp(mag, "\177ELF", 4)) {
			close(fd);
			return mag[0] == '#' && mag[1] == '!' ? -ENOEXEC : -ENOTSUP;
		}
		close(fd);
	}
	if (!numeric && klt_usym_defines(target, "pthread_mutex_lock")) {
		snprintf(out, len, "%s", target);
		return 0;
	}
	f = fopen(maps, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (p && strstr(p, "/libc.so")) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(out, len, "%s", p);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

static bool is_uprobe(const struct klt_prog_desc *d)
{
	return d->type == KLT_PT_UPROBE || d->type == KLT_PT_URETPROBE;
}

/* One uprobe or uretprobe on bin; -errno (and msg) if the kernel refuses it. */
static int attach_uprobe(struct klt_tracer *t, const struct klt_prog_desc *d, const char *bin,
			 pid_t pid, char *msg, size_t msglen)
{
	bool ret = d->type == KLT_PT_URETPROBE;
	struct bpf_link *l;
	uint64_t off;
	int err;

	/* resolve ourselves: libbpf 1.1 refuses glibc's versioned duplicates */
	if (klt_usym_func_offset(bin, d->fn, &off)) {
		if (!ret)
			note(t->skipped, sizeof(t->skipped), d->fn);
		return 0;
	}
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret);
	l = bpf_program__attach_uprobe_opts(klt_prog_of(t->skel, d), pid, bin, off, &uo);
	if (!l) {
		/*
		 * The function is there but the kernel refused the probe (seen: EINVAL
		 * while bcc's deadlock-bpfcc has uprobes on the same libc functions).
		 * Tracing without it would miss every such lock and exit 0: fail.
		 */
		err = errno ? -errno : -EINVAL;
		snprintf(msg, msglen, "%s: the kernel refused a %s on %s (offset 0x%llx): %s",
			 bin, ret ? "uretprobe" : "uprobe", d->fn, (unsigned long long)off,
			 strerror(-err));
		return err;
	}
	if (add_link(t, l)) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	if (!ret)
		note(t->attached, sizeof(t->attached), d->fn);
	return 0;
}

int klt_attach_user(struct klt_tracer *t, char *msg, size_t msglen)
{
	char bin[512];
	pid_t pid = t->opts.pid ? t->opts.pid : -1;
	int err = user_binary(t->opts.user, bin, sizeof(bin));

	if (err) {
		snprintf(msg, msglen, "--user %s: %s", t->opts.user,
			 err == -ENOENT ? "no such program, process or C library" :
			 err == -ENOEXEC ? "a script, not an ELF program: name the program that "
					   "takes the locks (e.g. its interpreter) or its PID" :
			 err == -ENOTSUP ? "not an ELF program or shared library" :
			 strerror(-err));
		return err;
	}
	/* releases and return probes first (see klt_attach_kernel) */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < klt_nprog_descs; i++) {
			const struct klt_prog_desc *d = &klt_prog_descs[i];

			if (!is_uprobe(d) || d->undoes != (pass == 0))
				continue;
			err = attach_uprobe(t, d, bin, pid, msg, msglen);
			if (err)
				return err;
		}
	if (!t->attached[0]) {
		snprintf(msg, msglen, "%s: no pthread lock function could be probed", bin);
		return -ENOENT;
	}
	return 0;
}

static int attach_one(struct klt_tracer *t, const struct klt_prog_desc *d, size_t *hooks)
{
	struct bpf_program *p = klt_prog_of(t->skel, d);
	bool entry = klt_prog_is_entry(d);
	struct bpf_link *l;

	if (d->type == KLT_PT_KPROBE_KVM || d->type == KLT_PT_KRETPROBE_KVM) {
		char target[128];

		snprintf(target, sizeof(target), "kvm:%s", d->fn);
		l = bpf_program__attach_kprobe(p, d->type == KLT_PT_KRETPROBE_KVM, target);
		if (entry)
			note(l ? t->attached : t->skipped, l ? sizeof(t->attached) : sizeof(t->skipped),
			     target);
	} else {
		l = bpf_program__attach(p);
		/* list each hooked function once (entry programs only) */
		if (entry)
			note(l ? t->attached : t->skipped, l ? sizeof(t->attached) : sizeof(t->skipped),
			     d->fn);
		if (l && entry && d->type != KLT_PT_TRACEPOINT)
			(*hooks)++;
	}
	if (!l)
		return 0;
	if (add_link(t, l)) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Programs that undo state (release hooks, exit/return programs) are attached before the ones
 * that create it, so a lock or a hold taken while attaching is never left without its release:
 * a stale entry would fake dependencies from it for the rest of the run.
 */
int klt_attach_kernel(struct klt_tracer *t)
{
	size_t hooks = 0;
	int err;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < klt_nprog_descs; i++) {
			const struct klt_prog_desc *d = &klt_prog_descs[i];

			if (is_uprobe(d) || !bpf_program__autoload(klt_prog_of(t->skel, d)) ||
			    d->undoes != (pass == 0) || t->deferred[i])
				continue;
			err = attach_one(t, d, &hooks);
			if (err)
				return err;
		}
	return (int)hooks;
}

void klt_attach_late(struct klt_tracer *t)
{
	size_t hooks = 0;

	if (!t->ndeferred || !klt_path_exists("/sys/module/kvm"))
		return;
	t->waiting[0] = '\0';
	/* undo programs first, as at start */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < klt_nprog_descs; i++) {
			const struct klt_prog_desc *d = &klt_prog_descs[i];
			bool present;

			if (!t->deferred[i] || d->undoes != (pass == 0))
				continue;
			t->deferred[i] = 0;
			present = d->type == KLT_PT_KPROBE_KVM || d->type == KLT_PT_KRETPROBE_KVM ?
					  module_has(t->ksyms, "kvm", d->fn) :
					  klt_symtab_by_name(t->ksyms, d->fn, KLT_SYM_FUNC) != NULL;
			if (present)
				attach_one(t, d, &hooks); /* listed as attached or skipped */
			else if (klt_prog_is_entry(d))
				note(t->skipped, sizeof(t->skipped), d->fn);
		}
	t->ndeferred = 0;
	klt_watch_locks(t); /* kvm_lock, kvm_usage_lock: in the module */
	klt_load_layouts_late(t);
}

static bool wanted(const struct klt_tracer *t, const char *name)
{
	const char *w;

	for (size_t i = 0; (w = klt_watched_lock(i)); i++)
		if (!strcmp(name, w))
			return true;
	for (size_t i = 0; i < t->opts.nwatch; i++)
		if (klt_glob_match(t->opts.watch[i], name))
			return true;
	return false;
}

/* Fill the BPF watch list: the KVM/hotplug locks plus the rules' watch-suspend locks. */
void klt_watch_locks(struct klt_tracer *t)
{
	__u64 *tab = t->skel->bss->watch_tab; /* mmapped .bss: BPF sees the stores at once */
	size_t n = 0;

	for (size_t i = 0, cnt = klt_symtab_count(t->ksyms); i < cnt; i++) {
		const struct klt_sym *s = klt_symtab_at(t->ksyms, i);
		bool placed = false;

		if (s->type != KLT_SYM_DATA || !wanted(t, s->name) || !s->addr)
			continue;
		for (__u32 p = 0; p < KLT_WATCH_PROBES && !placed && n < 64; p++) {
			__u64 *slot = &tab[klt_watch_slot(s->addr, p)];

			if (!*slot || *slot == s->addr) {
				*slot = s->addr;
				placed = true;
			}
		}
		if (!placed) {
			fprintf(stderr, "kvmlocktrace: watch list full: %s not watched\n", s->name);
			continue;
		}
		n++;
	}
}
