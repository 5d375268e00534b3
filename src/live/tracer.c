// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Live tracer lifecycle around the BPF skeleton: probe, open, configure, load, attach, poll. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "klt.skel.h"
#include "tracer.h"
#include "rules.h"
#include "tracer_usym.h"

#define TRACEFS "/sys/kernel/tracing"
#define STACK_IDS 32768 /* = stacks map max_entries in bpf/klt.bpf.c */
#define USTACK_IDS 4096	/* user stacks with the call site spliced in: ids STACK_IDS.. */

/* Static locks the default scope watches (KVM-LOCKING.md); missing ones are skipped. */
static const char *const watched_locks[] = {
	"cpu_hotplug_lock", "kvm_lock", "kvm_usage_lock", "kvm_count_lock",
};

/* Functions the hooks are named after; frames in them are not call sites. */
static bool is_lock_function(const char *name)
{
	static const char *const pfx[] = {
		"mutex_lock", "mutex_trylock", "mutex_unlock", "down_read", "down_write",
		"up_read", "up_write", "percpu_down", "percpu_up", "cpus_read_", "__srcu_read",
		"synchronize_srcu", "bpf_trampoline", "__bpf_prog", "bpf_prog_", "downgrade_write",
		"__mutex_lock", "rwsem_", "__down_", "pthread_mutex_", "pthread_rwlock_",
		"__pfx_", "ftrace_", "kretprobe_", "__kretprobe", "arch_rethook", "rethook",
		"___pthread_mutex_", "__pthread_mutex_", "__pthread_rwlock_", "___pthread_rwlock_",
	};

	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (!strncmp(name, pfx[i], strlen(pfx[i])))
			return true;
	return false;
}

/* A lock member of a kernel object: its offset and its lockdep-style class name. */
struct obj_lock {
	uint32_t off;
	char name[64];
};

struct obj_layout {
	struct obj_lock *locks;
	size_t n, cap;
};

struct klt_tracer {
	struct klt_bpf *skel;
	struct ring_buffer *rb;
	struct klt_tracer_opts opts;
	struct klt_tracer_cbs cbs;
	enum klt_attach mode;
	struct klt_symtab *ksyms;   /* whole kallsyms */
	struct klt_symtab *emitted; /* symbols already handed to cbs.sym */
	struct klt_usym *usym;	    /* user-space symbolizer (--user) */
	struct bpf_link **links;
	size_t nlinks, links_cap;
	uint8_t *stack_seen;	    /* STACK_IDS flags */
	struct {
		int32_t bpf_id;
		uint64_t ip;
	} ustacks[USTACK_IDS];	    /* synthetic user stacks, id = STACK_IDS + index */
	size_t nustacks;
	char reason[256];	    /* why auto chose the mode */
	char attached[4096];
	char skipped[4096];
	int err;		    /* first callback error */
	__u64 module_loads;	    /* BPF's module_loads when ksyms was read */
	struct obj_layout objs[KLT_OBJ_MAX]; /* locks inside struct kvm / kvm_vcpu, from BTF */
};

const char *klt_attach_name(enum klt_attach a)
{
	switch (a) {
	case KLT_ATTACH_AUTO: return "auto";
	case KLT_ATTACH_FENTRY: return "fentry";
	case KLT_ATTACH_KPROBE: return "kprobe";
	case KLT_ATTACH_TRACEPOINT: return "tracepoint";
	}
	return "?";
}

/* ---- kallsyms ------------------------------------------------------------------------ */

struct ksym_tmp {
	uint64_t addr;
	char type;
	char *name, *module;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym_tmp *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int klt_kallsyms_load(struct klt_symtab *st, const char *path, bool *has_data)
{
	return klt_kallsyms_load_slid(st, path, 0, has_data);
}

int klt_kallsyms_load_slid(struct klt_symtab *st, const char *path, int64_t slide, bool *has_data)
{
	FILE *f = fopen(path, "r");
	struct ksym_tmp *v = NULL;
	size_t n = 0, cap = 0, ndata = 0;
	char line[512];
	int err = 0;

	if (has_data)
		*has_data = false;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256], mod[128] = "";
		int k = sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, mod);

		if (k < 3 || !addr)
			continue;
		addr += (uint64_t)slide;
		switch (type) {
		case 't': case 'T': type = KLT_SYM_FUNC; break;
		case 'd': case 'D': case 'b': case 'B': case 'r': case 'R':
			type = KLT_SYM_DATA;
			ndata += !mod[0];
			break;
		default: continue;
		}
		if (n == cap) {
			struct ksym_tmp *nv = realloc(v, (cap = cap ? cap * 2 : 65536) * sizeof(*v));

			if (!nv) {
				err = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		v[n].addr = addr;
		v[n].type = type;
		v[n].name = strdup(name);
		v[n].module = mod[0] ? strdup(mod) : NULL;
		if (!v[n].name) {
			err = -ENOMEM;
			goto out;
		}
		n++;
	}
	/* Without CONFIG_KALLSYMS_ALL only a few section markers are data symbols. */
	if (has_data)
		*has_data = ndata > 1000;
	/* kallsyms has no sizes: a function ends where the next one starts */
	qsort(v, n, sizeof(*v), ksym_cmp);
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t size = 0;

		if (v[i].type == KLT_SYM_FUNC)
			for (size_t j = i + 1; j < n; j++)
				if (v[j].addr > v[i].addr && v[j].type == KLT_SYM_FUNC) {
					size = v[j].addr - v[i].addr;
					break;
				}
		err = klt_symtab_add(st, v[i].addr, size, v[i].type, v[i].name, v[i].module);
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].module);
	}
	free(v);
	fclose(f);
	return err;
}

/* Address of a symbol in a kallsyms-format file (for the KASLR slide), 0 if absent. */
static uint64_t file_sym_addr(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	char line[512], n[256], type;
	unsigned long long a;
	uint64_t r = 0;

	if (!f)
		return 0;
	while (!r && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &a, &type, n) == 3 && !strcmp(n, name))
			r = a;
	fclose(f);
	return r;
}

/*
 * Kernel symbols: /proc/kallsyms, plus a System.map or a vmlinux when given (kallsyms lacks data
 * symbols without CONFIG_KALLSYMS_ALL, so static locks have no names there). Link-time
 * addresses are slid by the KASLR offset measured on _stext.
 */
static int load_ksyms(struct klt_symtab *st, const char *symbols, char *msg, size_t msglen)
{
	int err = klt_kallsyms_load(st, "/proc/kallsyms", NULL);

	if (err) {
		snprintf(msg, msglen, "/proc/kallsyms: %s", strerror(-err));
		return err;
	}
	if (symbols) {
		const struct klt_sym *run = klt_symtab_by_name(st, "_stext", KLT_SYM_FUNC);
		char magic[4] = { 0 };
		FILE *f = fopen(symbols, "rb");
		uint64_t link = 0;
		bool elf;

		if (!f) {
			err = -errno;
			snprintf(msg, msglen, "--symbols %s: %s", symbols, strerror(-err));
			return err;
		}
		elf = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "\177ELF", 4);
		fclose(f);
		if (elf) {
			/* a vmlinux: its symbol table, slid like a System.map */
			struct klt_symtab *tmp = klt_symtab_new();

			err = tmp ? klt_usym_elf_syms(symbols, tmp, 0, &link) : -ENOMEM;
			klt_symtab_free(tmp);
			if (!err && link)
				err = klt_usym_elf_syms(symbols, st,
							run ? (int64_t)(run->addr - link) : 0, NULL);
		} else {
			link = file_sym_addr(symbols, "_stext");
			if (link)
				err = klt_kallsyms_load_slid(st, symbols,
							     run ? (int64_t)(run->addr - link) : 0,
							     NULL);
		}
		if (!err && !link)
			err = -EINVAL;
		if (err) {
			snprintf(msg, msglen, "--symbols %s: %s", symbols,
				 err == -EINVAL ? "no _stext symbol (not a System.map or vmlinux?)"
						: strerror(-err));
			return err;
		}
	}
	return 0;
}

/* ---- features ------------------------------------------------------------------------ */

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static void ensure_tracefs(void)
{
	if (!exists(TRACEFS "/events"))
		mount("nodev", TRACEFS, "tracefs", 0, NULL); /* best effort; attach says if not */
}

/* Trial: load the skeleton with only the fentry pair on mutex_lock. */
static int trial_fentry(void)
{
	struct bpf_program *p;
	struct klt_bpf *s = klt_bpf__open();
	int err;

	if (!s)
		return -errno;
	bpf_object__for_each_program(p, s->obj)
		bpf_program__set_autoload(p, false);
	bpf_program__set_autoload(s->progs.fe_mutex_lock, true);
	err = klt_bpf__load(s);
	if (!err) {
		struct bpf_link *l = bpf_program__attach(s->progs.fe_mutex_lock);

		err = l ? 0 : -errno;
		bpf_link__destroy(l);
	}
	klt_bpf__destroy(s);
	return err;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* -v: libbpf's own log (warnings and progress, as libbpf prints by default), on stderr */
static int verbose_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

static bool verbose_log;

void klt_tracer_set_verbose(bool verbose)
{
	verbose_log = verbose;
	libbpf_set_print(verbose ? verbose_print : silent_print);
}

/* Root, or CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON (effective capabilities from
 * /proc/self/status): may trace; an EPERM is then the kernel's policy. */
bool klt_may_trace(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long eff = 0;
	char line[256];

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> 21 & 1) /* CAP_SYS_ADMIN */ ||
	       ((eff >> 38 & 1) && (eff >> 39 & 1)) /* CAP_PERFMON + CAP_BPF */;
}

/* libbpf's errors (e.g. -LIBBPF_ERRNO__FORMAT) have no strerror() text */
static const char *lerr(int err, char *buf, size_t len)
{
	if (libbpf_strerror(err, buf, len))
		snprintf(buf, len, "%s", strerror(err < 0 ? -err : err));
	return buf;
}

int klt_features_probe(struct klt_features *f)
{
	struct utsname u;
	libbpf_print_fn_t old;

	memset(f, 0, sizeof(*f));
	if (!uname(&u))
		snprintf(f->kernel_release, sizeof(f->kernel_release), "%s", u.release);
	ensure_tracefs();
	f->btf = exists("/sys/kernel/btf/vmlinux");
	f->kprobe = exists("/sys/bus/event_source/devices/kprobe");
	f->uprobe = exists("/sys/bus/event_source/devices/uprobe");
	f->tracepoints = exists(TRACEFS "/events/cpuhp/cpuhp_enter");
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	old = libbpf_set_print(verbose_log ? verbose_print : silent_print);
	f->fentry_err = f->btf ? trial_fentry() : -ENOENT;
	libbpf_set_print(old);
	f->fentry = f->fentry_err == 0;
	f->fentry_refused = f->fentry_err == -EPERM && klt_may_trace();
	{
		struct klt_symtab *st = klt_symtab_new();

		if (st) {
			klt_kallsyms_load(st, "/proc/kallsyms", &f->kallsyms_data);
			klt_symtab_free(st);
		}
	}
	f->auto_mode = f->fentry ? KLT_ATTACH_FENTRY :
		       f->kprobe ? KLT_ATTACH_KPROBE : KLT_ATTACH_TRACEPOINT;
	return 0;
}

/* ---- attach ---------------------------------------------------------------------------- */

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

/* Program name prefix -> attach kind. */
static const char *prog_fn(const char *name, const char *pfx)
{
	size_t l = strlen(pfx);

	return strncmp(name, pfx, l) ? NULL : name + l;
}

static bool tracepoint_exists(const struct bpf_program *p)
{
	const char *sec = bpf_program__section_name(p); /* "tracepoint/cat/name" */
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/events/%s", sec + strlen("tracepoint/"));
	return exists(path);
}

static bool kprobes_available(void)
{
	return exists("/sys/bus/event_source/devices/kprobe");
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

/* Which programs load in this mode: the mode's kernel hooks whose function exists, all
 * tracepoints that exist, uprobes only for --user. */
static bool btf_has_func(const struct btf *vmlinux, const struct btf *kvm, const char *fn)
{
	return (vmlinux && btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC) > 0) ||
	       (kvm && btf__find_by_name_kind(kvm, fn, BTF_KIND_FUNC) > 0);
}

static void configure_autoload(struct klt_tracer *t, const struct btf *vmlinux,
			       const struct btf *kvm)
{
	struct bpf_program *p;
	bool user = t->opts.user != NULL;

	bpf_object__for_each_program(p, t->skel->obj) {
		const char *name = bpf_program__name(p), *fn;
		bool load = false;

		if ((fn = prog_fn(name, "kq_")) || (fn = prog_fn(name, "kqr_"))) {
			/* module-qualified kprobes: any mode, if the kvm module has them */
			load = !user && t->mode != KLT_ATTACH_TRACEPOINT && kprobes_available() &&
			       module_has(t->ksyms, "kvm", fn);
		} else if ((fn = prog_fn(name, "tp_"))) {
			load = tracepoint_exists(p);
			if (!load)
				note(t->skipped, sizeof(t->skipped), name + 3);
		} else if ((fn = prog_fn(name, "up_")) || (fn = prog_fn(name, "ur_"))) {
			load = user;
		} else if (!user && (((fn = prog_fn(name, "fe_")) || (fn = prog_fn(name, "fx_"))) &&
				     t->mode == KLT_ATTACH_FENTRY)) {
			/* libbpf resolves fentry targets in vmlinux and module BTF (kvm) */
			load = btf_has_func(vmlinux, kvm, fn);
			if (!load && name[1] == 'e')
				note(t->skipped, sizeof(t->skipped), fn);
		} else if (!user && (((fn = prog_fn(name, "kp_")) || (fn = prog_fn(name, "kr_"))) &&
				     t->mode == KLT_ATTACH_KPROBE)) {
			load = klt_symtab_by_name(t->ksyms, fn, KLT_SYM_FUNC) != NULL;
			if (!load && name[1] == 'p')
				note(t->skipped, sizeof(t->skipped), fn);
		}
		bpf_program__set_autoload(p, load);
	}
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

static int attach_user(struct klt_tracer *t, char *msg, size_t msglen)
{
	char bin[512];
	struct bpf_program *p;
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
	for (int pass = 0; pass < 2; pass++)
	bpf_object__for_each_program(p, t->skel->obj) {
		const char *name = bpf_program__name(p), *fn;
		bool ret = false;
		struct bpf_link *l;

		if (!(fn = prog_fn(name, "up_")) && !(ret = (fn = prog_fn(name, "ur_")) != NULL))
			continue;
		/* releases and return probes first (see undoes_state) */
		if ((ret || strstr(fn, "unlock")) != (pass == 0))
			continue;
		uint64_t off;

		/* resolve ourselves: libbpf 1.1 refuses glibc's versioned duplicates */
		if (klt_usym_func_offset(bin, fn, &off)) {
			if (!ret)
				note(t->skipped, sizeof(t->skipped), fn);
			continue;
		}
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret);
		l = bpf_program__attach_uprobe_opts(p, pid, bin, off, &uo);
		if (!l) {
			/*
			 * The function is there but the kernel refused the probe (seen: EINVAL
			 * while bcc's deadlock-bpfcc has uprobes on the same libc functions).
			 * Tracing without it would miss every such lock and exit 0: fail.
			 */
			err = errno ? -errno : -EINVAL;
			snprintf(msg, msglen, "%s: the kernel refused a %s on %s (offset 0x%llx): %s",
				 bin, ret ? "uretprobe" : "uprobe", fn, (unsigned long long)off,
				 strerror(-err));
			return err;
		}
		if (add_link(t, l)) {
			bpf_link__destroy(l);
			return -ENOMEM;
		}
		if (!ret)
			note(t->attached, sizeof(t->attached), fn);
	}
	if (!t->attached[0]) {
		snprintf(msg, msglen, "%s: no pthread lock function could be probed", bin);
		return -ENOENT;
	}
	return 0;
}

/*
 * Programs that undo state (release hooks, exit/return programs) are attached before the ones
 * that create it, so a lock or a hold taken while attaching is never left without its release:
 * a stale entry would fake dependencies from it for the rest of the run.
 */
static bool undoes_state(const char *name)
{
	static const char *const rel_fns[] = {
		"mutex_unlock", "up_read", "up_write", "percpu_up_write", "__srcu_read_unlock",
		"cpus_read_unlock", "downgrade_write",
	};

	if (!strncmp(name, "fx_", 3) || !strncmp(name, "kr_", 3) || !strncmp(name, "kqr_", 4) ||
	    !strncmp(name, "tp_cpuhp_exit", 13) || !strncmp(name, "tp_sched_exit", 13))
		return true;
	for (size_t i = 0; i < sizeof(rel_fns) / sizeof(rel_fns[0]); i++)
		if (!strcmp(name + 3, rel_fns[i]))
			return true;
	return false;
}

static int attach_one(struct klt_tracer *t, struct bpf_program *p, size_t *hooks)
{
	const char *name = bpf_program__name(p);
	struct bpf_link *l;

	if (!strncmp(name, "kq", 2)) {
		bool ret = name[2] == 'r';
		char target[128];

		snprintf(target, sizeof(target), "kvm:%s", name + (ret ? 4 : 3));
		l = bpf_program__attach_kprobe(p, ret, target);
		if (!ret)
			note(l ? t->attached : t->skipped, l ? sizeof(t->attached) : sizeof(t->skipped),
			     target);
	} else {
		l = bpf_program__attach(p);
		if (!l && (name[1] == 'e' || name[1] == 'p' || name[0] == 't'))
			note(t->skipped, sizeof(t->skipped), name + 3);
		/* list each hooked function once (entry programs only) */
		if (l && (!strncmp(name, "fe_", 3) || !strncmp(name, "kp_", 3) ||
			  !strncmp(name, "tp_", 3))) {
			note(t->attached, sizeof(t->attached), name + 3);
			if (name[0] != 't')
				(*hooks)++;
		}
	}
	if (!l)
		return 0;
	if (add_link(t, l)) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	return 0;
}

static int attach_kernel(struct klt_tracer *t)
{
	struct bpf_program *p;
	size_t hooks = 0;
	int err;

	for (int pass = 0; pass < 2; pass++) {
		bpf_object__for_each_program(p, t->skel->obj) {
			const char *name = bpf_program__name(p);

			if (!bpf_program__autoload(p) || !strncmp(name, "up_", 3) ||
			    !strncmp(name, "ur_", 3) || undoes_state(name) != (pass == 0))
				continue;
			err = attach_one(t, p, &hooks);
			if (err)
				return err;
		}
	}
	return (int)hooks;
}

static bool wanted(const struct klt_tracer *t, const char *name)
{
	for (size_t i = 0; i < sizeof(watched_locks) / sizeof(watched_locks[0]); i++)
		if (!strcmp(name, watched_locks[i]))
			return true;
	for (size_t i = 0; i < t->opts.nwatch; i++)
		if (klt_glob_match(t->opts.watch[i], name))
			return true;
	return false;
}

/* Fill the BPF watch list: the KVM/hotplug locks plus the rules' watch-suspend locks. */
static void watch_locks(struct klt_tracer *t)
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

/* ---- events ---------------------------------------------------------------------------- */

static int emit_sym(struct klt_tracer *t, const struct klt_sym *s)
{
	int err;

	if (klt_symtab_exact(t->emitted, s->addr, s->type))
		return 0;
	err = klt_symtab_add(t->emitted, s->addr, s->size, s->type, s->name, s->module);
	if (!err && t->cbs.sym)
		err = t->cbs.sym(t->cbs.ctx, s);
	return err;
}

/* Name the code at addr in the recording (kernel or, with --user, the process). */
static int emit_code(struct klt_tracer *t, pid_t pid, uint64_t addr, const char **name)
{
	const struct klt_sym *s;
	struct klt_sym us;
	uint64_t off;

	*name = NULL;
	if (!addr)
		return 0;
	if (t->usym && addr < 0xffff800000000000ull) {
		if (klt_usym_resolve(t->usym, pid, addr, false, &us))
			return 0;
		*name = us.name;
		return emit_sym(t, &us);
	}
	s = klt_symtab_lookup(t->ksyms, addr, &off);
	if (!s)
		return 0;
	*name = s->name;
	return emit_sym(t, s);
}

static int emit_lock(struct klt_tracer *t, pid_t pid, uint64_t addr)
{
	const struct klt_sym *s;
	struct klt_sym us;

	if (!addr)
		return 0;
	if (t->usym && addr < 0xffff800000000000ull) /* without the generation (klt_abi.h) */
		return klt_usym_resolve(t->usym, pid, addr & KLT_USER_ADDR_MASK, true, &us) ?
			       0 : emit_sym(t, &us);
	s = klt_symtab_exact(t->ksyms, addr, KLT_SYM_DATA);
	return s ? emit_sym(t, s) : 0;
}

/*
 * A stack captured in an fentry/fexit program starts in the tracer itself: the program
 * (bpf_prog_<tag>_fe_mutex_lock [bpf]) and the trampoline (bpf_trampoline_<id> [bpf]) that
 * called it from the traced function. They say nothing about the kernel's locking: drop them,
 * so a report's stack starts at the lock function (mutex_lock+0x9), as under kprobes.
 */
static uint32_t strip_own_frames(struct klt_tracer *t, uint64_t *ips, uint32_t nr)
{
	uint32_t skip = 0;
	uint64_t off;

	while (skip < nr && ips[skip] >= 0xffff800000000000ull) {
		const struct klt_sym *s = klt_symtab_lookup(t->ksyms, ips[skip], &off);

		if (!s || !s->module || strcmp(s->module, "bpf"))
			break;
		skip++;
	}
	if (skip) {
		memmove(ips, ips + skip, (nr - skip) * sizeof(ips[0]));
		memset(ips + nr - skip, 0, skip * sizeof(ips[0]));
	}
	return nr - skip;
}

/*
 * Hand a BPF stack to the recording once; returns the first non-lock frame (the call site).
 * A user stack captured at a uprobe on function entry misses the immediate caller (its
 * return address is still on the stack, not in a frame record): splice `ip` in after frame 0,
 * under a synthetic id. *idp is updated to the id the event must carry.
 */
static int emit_stack(struct klt_tracer *t, pid_t pid, int32_t *idp, uint64_t ip, uint64_t *site)
{
	uint64_t ips[KLT_MAX_STACK_DEPTH + 1] = { 0 };
	int32_t id = *idp;
	uint32_t nr = 0;
	int err;

	if (id < 0 || id >= STACK_IDS)
		return 0;
	if (bpf_map__lookup_elem(t->skel->maps.stacks, &id, sizeof(id), ips,
				 KLT_MAX_STACK_DEPTH * sizeof(uint64_t), 0))
		return 0;
	while (nr < KLT_MAX_STACK_DEPTH && ips[nr])
		nr++;
	nr = strip_own_frames(t, ips, nr);
	if (t->usym && ip && nr >= 1 && ips[1] != ip) {
		size_t i;

		for (i = 0; i < t->nustacks; i++)
			if (t->ustacks[i].bpf_id == id && t->ustacks[i].ip == ip)
				break;
		if (i == t->nustacks && i < USTACK_IDS) {
			t->ustacks[i].bpf_id = id;
			t->ustacks[i].ip = ip;
			t->nustacks++;
		}
		if (i < USTACK_IDS) {
			memmove(&ips[2], &ips[1], (nr - 1) * sizeof(ips[0]));
			ips[1] = ip;
			nr++;
			id = STACK_IDS + (int32_t)i;
			*idp = id;
		}
	}
	for (uint32_t i = 0; i < nr; i++) {
		const char *name;

		err = emit_code(t, pid, ips[i], &name);
		if (err)
			return err;
		if (site && !*site && name && !is_lock_function(name))
			*site = ips[i];
	}
	if (t->stack_seen[id])
		return 0;
	t->stack_seen[id] = 1; /* stack_seen covers STACK_IDS + USTACK_IDS */
	return t->cbs.stack ? t->cbs.stack(t->cbs.ctx, id, ips, nr) : 0;
}

/* ---- kernel objects: name the locks inside struct kvm / struct kvm_vcpu from BTF ---------- */

/* Lock types the tracer hooks (spinlocks and rwlocks are not traced: not named either). */
static bool is_traced_lock_type(const char *name)
{
	static const char *const types[] = { "mutex", "rw_semaphore", "percpu_rw_semaphore",
					     "srcu_struct" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(name, types[i]))
			return true;
	return false;
}

static void layout_walk(struct obj_layout *L, const struct btf *btf, __u32 id, uint32_t base,
			const char *prefix, int depth)
{
	const struct btf_type *st = btf__type_by_id(btf, id);
	const struct btf_member *m;

	if (!st || (!btf_is_struct(st) && !btf_is_union(st)))
		return;
	m = btf_members(st);
	for (__u16 i = 0; i < btf_vlen(st); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		int tid = btf__resolve_type(btf, m->type);
		const struct btf_type *mt = tid > 0 ? btf__type_by_id(btf, tid) : NULL;
		uint32_t off = base + btf_member_bit_offset(st, i) / 8;
		char name[64];

		if (!mt || (!btf_is_struct(mt) && !btf_is_union(mt)))
			continue; /* arrays of locks and pointers are not named */
		if (snprintf(name, sizeof(name), "%s%s", prefix, mname ? mname : "") >=
		    (int)sizeof(name))
			continue; /* never a truncated (misleading) name */
		if (is_traced_lock_type(btf__name_by_offset(btf, mt->name_off))) {
			if (!mname || !*mname)
				continue;
			if (L->n == L->cap) {
				size_t cap = L->cap ? 2 * L->cap : 16;
				struct obj_lock *nl = realloc(L->locks, cap * sizeof(*nl));

				if (!nl)
					return;
				L->locks = nl;
				L->cap = cap;
			}
			L->locks[L->n].off = off;
			snprintf(L->locks[L->n].name, sizeof(L->locks[L->n].name), "%s", name);
			L->n++;
		} else if (depth < 3) {
			char sub[64];

			/* nested (kvm->arch.apic_map_lock) and anonymous members */
			if (snprintf(sub, sizeof(sub), "%s%s", mname && *mname ? name : prefix,
				     mname && *mname ? "." : "") >= (int)sizeof(sub))
				continue;
			layout_walk(L, btf, (__u32)tid, off, sub, depth + 1);
		}
	}
}

static void load_layouts(struct klt_tracer *t, const struct btf *vmlinux, const struct btf *kvm)
{
	static const struct {
		enum klt_obj obj;
		const char *type, *prefix;
	} objs[] = { { KLT_OBJ_KVM, "kvm", "kvm->" }, { KLT_OBJ_VCPU, "kvm_vcpu", "vcpu->" } };

	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		const struct btf *btf = kvm ? kvm : vmlinux;
		int id = btf ? btf__find_by_name_kind(btf, objs[i].type, BTF_KIND_STRUCT) : -1;

		if (id > 0)
			layout_walk(&t->objs[objs[i].obj], btf, (__u32)id, 0, objs[i].prefix, 0);
	}
}

/* FUNC_ENTER of an object hook: name every lock inside the object, then record the entry. */
static int emit_object(struct klt_tracer *t, struct klt_event *ev)
{
	uint64_t obj = ev->aux0 | (uint64_t)ev->aux1 << 32;
	unsigned kind = (unsigned)ev->aux2;
	int err = 0;

	if (kind < KLT_OBJ_MAX) {
		const struct obj_layout *L = &t->objs[kind];

		for (size_t i = 0; i < L->n && !err; i++) {
			struct klt_sym s = { .addr = obj + L->locks[i].off, .type = KLT_SYM_CLASS,
					     .name = L->locks[i].name };

			err = emit_sym(t, &s);
		}
	}
	ev->flags = 0;
	ev->aux0 = ev->aux1 = 0;
	ev->aux2 = 0;
	return err;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static uint32_t pm_phase_of_hash(uint32_t h)
{
	for (unsigned p = 1; p < KLT_PM_MAX; p++) {
		const char *n = klt_pm_phase_name(p);

		if (n && fnv1a(n) == h)
			return p;
	}
	return KLT_PM_OTHER;
}

/* Re-read kallsyms (after attaching, and after a module load); the old table stays on failure. */
static void reload_ksyms(struct klt_tracer *t)
{
	struct klt_symtab *fresh = klt_symtab_new();
	char ignore[64];

	t->module_loads = t->skel->bss->module_loads;
	if (fresh && !load_ksyms(fresh, t->opts.symbols, ignore, sizeof(ignore))) {
		klt_symtab_free(t->ksyms);
		t->ksyms = fresh;
	} else {
		klt_symtab_free(fresh);
	}
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct klt_tracer *t = ctx;
	struct klt_event ev;
	const char *name;
	int err = 0;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	if (t->skel->bss->module_loads != t->module_loads)
		reload_ksyms(t); /* a module loaded since: name its code and locks (tp_module_load) */
	if (ev.lock && ev.lock < 0xffff800000000000ull) /* a user lock: keep the process's maps */
		klt_usym_event(t->usym, (pid_t)ev.pid, ev.ts);
	switch (ev.type) {
	case KLT_EV_PM_BEGIN:
	case KLT_EV_PM_END:
		if (ev.lock) /* power:suspend_resume: a hashed phase name */
			ev.aux0 = pm_phase_of_hash((uint32_t)ev.lock);
		ev.lock = 0;
		break;
	case KLT_EV_FUNC_ENTER:
	case KLT_EV_FUNC_EXIT:
	case KLT_EV_CPUHP_ENTER:
		if (ev.type == KLT_EV_FUNC_ENTER && (ev.flags & KLT_F_OBJECT))
			err = emit_object(t, &ev);
		err = err ?: emit_code(t, ev.pid, ev.lock, &name);
		break;
	case KLT_EV_EDGE: {
		uint64_t held = ev.aux0 | (uint64_t)ev.aux1 << 32;

		int32_t hid = ev.aux2;

		err = err ?: emit_lock(t, ev.pid, held);
		err = err ?: emit_stack(t, ev.pid, &hid, 0, NULL);
		ev.aux2 = hid;
	}
		/* fall through */
	default:
		if (ev.type == KLT_EV_CONTEND_BEGIN || ev.type == KLT_EV_CONTEND_END ||
		    ev.type == KLT_EV_TASK_EXIT || ev.type == KLT_EV_CPUHP_EXIT)
			break;
		err = err ?: emit_lock(t, ev.pid, ev.lock);
		{
			uint64_t site = 0;

			err = err ?: emit_stack(t, ev.pid, &ev.stack_id, ev.ip, &site);
			if (!ev.ip)
				ev.ip = site; /* fentry: call site from the stack */
		}
		err = err ?: emit_code(t, ev.pid, ev.ip, &name);
		break;
	}
	err = err ?: t->cbs.event(t->cbs.ctx, &ev);
	if (err && !t->err)
		t->err = err;
	return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static int open_load(struct klt_tracer *t, const struct klt_sym *hp, char *msg, size_t msglen)
{
	struct btf *vmlinux = t->opts.btf ? btf__parse(t->opts.btf, NULL) : btf__load_vmlinux_btf();
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = t->opts.btf);
	struct btf *kvm = NULL;
	int err;

	if (vmlinux && exists("/sys/kernel/btf/kvm"))
		kvm = btf__load_module_btf("kvm", vmlinux);
	t->skel = klt_bpf__open_opts(&oo);
	if (!t->skel) {
		err = -errno;
		char e[128];

		snprintf(msg, msglen, "cannot open the BPF object: %s", lerr(err, e, sizeof(e)));
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
	configure_autoload(t, vmlinux, kvm);
	load_layouts(t, vmlinux, kvm);
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
			 lerr(err, e, sizeof(e)), err == -EPERM ?
			 " (needs root, or CAP_BPF+CAP_PERFMON; some kernels refuse tracing programs)"
			 : "");
	}
out:
	btf__free(kvm);
	btf__free(vmlinux);
	return err;
}

int klt_tracer_start(const struct klt_tracer_opts *o, const struct klt_tracer_cbs *cbs,
		     struct klt_tracer **out, char *msg, size_t msglen)
{
	struct klt_tracer *t = calloc(1, sizeof(*t));
	const struct klt_sym *hp;
	struct klt_features f;
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
	if (!t->ksyms || !t->emitted || !t->stack_seen) {
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
	ensure_tracefs();
	if (o->btf && access(o->btf, R_OK)) {
		err = -errno;
		snprintf(msg, msglen, "--btf %s: %s", o->btf, strerror(-err));
		goto fail;
	}
	if (o->btf) {
		/* say what is wrong with the file before libbpf fails deep in the load */
		struct stat sb;
		struct btf *b;
		char e[128];

		if (stat(o->btf, &sb) == 0 && !S_ISREG(sb.st_mode)) {
			snprintf(msg, msglen, "--btf %s: not a regular file (expected a vmlinux or a "
				 "raw BTF file)", o->btf);
			err = -EINVAL;
			goto fail;
		}
		b = btf__parse(o->btf, NULL);
		if (!b) {
			err = -errno;
			if (err == -LIBBPF_ERRNO__FORMAT || err == -EPROTO || err == -EINVAL)
				snprintf(msg, msglen, "--btf %s: not an ELF or BTF file (expected a vmlinux "
					 "with a .BTF section, or raw BTF like /sys/kernel/btf/vmlinux)",
					 o->btf);
			else if (err == -ENOENT || err == -ENODATA)
				snprintf(msg, msglen, "--btf %s: an ELF file without BTF (no .BTF "
					 "section: a vmlinux built without CONFIG_DEBUG_INFO_BTF?)",
					 o->btf);
			else
				snprintf(msg, msglen, "--btf %s: %s", o->btf, lerr(err, e, sizeof(e)));
			err = -EINVAL; /* an input error (exit 2) whatever libbpf said */
			goto fail;
		}
		btf__free(b);
	}
	if (!o->btf && !exists("/sys/kernel/btf/vmlinux")) {
		snprintf(msg, msglen, "this kernel exposes no BTF (/sys/kernel/btf/vmlinux, "
				      "CONFIG_DEBUG_INFO_BTF): pass --btf FILE with the BTF or a vmlinux "
				      "of the running kernel");
		err = -ENOENT;
		goto fail;
	}
	err = load_ksyms(t->ksyms, o->symbols, msg, msglen);
	if (err)
		goto fail;
	hp = klt_symtab_by_name(t->ksyms, "cpu_hotplug_lock", KLT_SYM_DATA);

	t->mode = o->attach;
	if (t->mode == KLT_ATTACH_AUTO) {
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
	if (t->mode == KLT_ATTACH_KPROBE && !o->user && !kprobes_available()) {
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
	watch_locks(t);
	if (o->user) {
		err = attach_user(t, msg, msglen);
		if (err)
			goto fail;
		err = attach_kernel(t); /* tracepoints only */
	} else {
		err = attach_kernel(t);
		if (err == 0 && t->mode != KLT_ATTACH_TRACEPOINT) {
			snprintf(msg, msglen, "no %s hook could be attached",
				 klt_attach_name(t->mode));
			err = -ENOENT;
			goto fail;
		}
	}
	if (err < 0) {
		char e[128];

		snprintf(msg, msglen, "attach: %s", lerr(err, e, sizeof(e)));
		goto fail;
	}
	/* Reload kallsyms: our own programs and trampolines ([bpf]) now have names, so stack
	 * frames in them are recognised and dropped (strip_own_frames). */
	reload_ksyms(t);
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), handle_event, t, NULL);
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

void klt_tracer_user_snapshot(struct klt_tracer *t, pid_t pid)
{
	klt_usym_snapshot(t->usym, pid);
}

int klt_tracer_poll(struct klt_tracer *t, int timeout_ms)
{
	int n;

	klt_usym_refresh(t->usym); /* maps of traced processes while they live */
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
	free(t->stack_seen);
	for (size_t i = 0; i < KLT_OBJ_MAX; i++)
		free(t->objs[i].locks);
	free(t);
}
