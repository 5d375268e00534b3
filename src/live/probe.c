// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the running kernel allows (features), libbpf's log, privileges. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "klt.skel.h"
#include "tracer_int.h"

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

bool klt_path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

void klt_ensure_tracefs(void)
{
	if (!klt_path_exists(TRACEFS "/events"))
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
const char *klt_lerr(int err, char *buf, size_t len)
{
	if (libbpf_strerror(err, buf, len))
		snprintf(buf, len, "%s", strerror(err < 0 ? -err : err));
	return buf;
}

bool klt_kprobes_available(void)
{
	return klt_path_exists("/sys/bus/event_source/devices/kprobe");
}

int klt_features_probe(struct klt_features *f)
{
	struct utsname u;
	libbpf_print_fn_t old;

	memset(f, 0, sizeof(*f));
	if (!uname(&u))
		snprintf(f->kernel_release, sizeof(f->kernel_release), "%s", u.release);
	klt_ensure_tracefs();
	f->btf = klt_path_exists("/sys/kernel/btf/vmlinux");
	f->kprobe = klt_path_exists("/sys/bus/event_source/devices/kprobe");
	f->uprobe = klt_path_exists("/sys/bus/event_source/devices/uprobe");
	f->tracepoints = klt_path_exists(TRACEFS "/events/cpuhp/cpuhp_enter");
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
