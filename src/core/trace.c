// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* In-memory trace model and the names shared by the text form and the reports. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

void klt_trace_init(struct klt_trace *t)
{
	memset(t, 0, sizeof(*t));
	t->info.format_version = KLT_FORMAT_VERSION;
	t->syms = klt_symtab_new();
}

void klt_trace_free(struct klt_trace *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nstacks; i++)
		free(t->stacks[i].ips);
	free(t->stacks);
	free(t->events);
	klt_symtab_free(t->syms);
	memset(t, 0, sizeof(*t));
}

int klt_trace_add_event(struct klt_trace *t, const struct klt_event *ev)
{
	if (t->nevents == t->events_cap) {
		size_t ncap = t->events_cap ? t->events_cap * 2 : 1024;
		struct klt_event *ne;

		if (ncap > SIZE_MAX / sizeof(*ne))
			return -ENOMEM;
		ne = realloc(t->events, ncap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		t->events = ne;
		t->events_cap = ncap;
	}
	t->events[t->nevents++] = *ev;
	return 0;
}

int klt_trace_set_stack(struct klt_trace *t, int32_t id, const uint64_t *ips, uint32_t nr)
{
	uint64_t *copy = NULL;

	if (id < 0 || id >= KLT_MAX_STACK_ID)
		return -EINVAL;
	if ((size_t)id >= t->stacks_cap) {
		size_t ncap = t->stacks_cap ? t->stacks_cap : 64;
		struct klt_stack *ns;

		while (ncap <= (size_t)id)
			ncap *= 2;
		ns = realloc(t->stacks, ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		memset(ns + t->stacks_cap, 0, (ncap - t->stacks_cap) * sizeof(*ns));
		t->stacks = ns;
		t->stacks_cap = ncap;
	}
	if (nr) {
		copy = malloc((size_t)nr * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, ips, (size_t)nr * sizeof(*copy));
	}
	free(t->stacks[id].ips);
	t->stacks[id].ips = copy;
	t->stacks[id].nr = nr;
	if ((size_t)id >= t->nstacks)
		t->nstacks = (size_t)id + 1;
	return 0;
}

const struct klt_stack *klt_trace_stack(const struct klt_trace *t, int32_t id)
{
	if (id < 0 || (size_t)id >= t->nstacks || !t->stacks[id].nr)
		return NULL;
	return &t->stacks[id];
}

size_t klt_counter_find(const struct klt_counter *c, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			break;
	return i;
}

struct klt_counter *klt_counter_get(struct klt_counter *c, size_t *n, const char *name)
{
	size_t i = klt_counter_find(c, *n, name);

	if (i < *n)
		return &c[i];
	if (i == KLT_MAX_COUNTERS)
		return NULL;
	memset(&c[i], 0, sizeof(c[i]));
	strcpy(c[i].name, name);
	(*n)++;
	return &c[i];
}

int klt_trace_add_counter(struct klt_trace *t, const char *name, uint64_t value)
{
	size_t i = klt_counter_find(t->counters, t->ncounters, name);

	if (i < t->ncounters) {
		t->counters[i].value += value;
		return 0;
	}
	if (t->ncounters == KLT_MAX_COUNTERS)
		return -ENOSPC;
	if (strlen(name) >= sizeof(t->counters[0].name))
		return -ENAMETOOLONG;
	klt_counter_get(t->counters, &t->ncounters, name)->value = value;
	return 0;
}

static const char *const ev_names[KLT_EV_MAX] = {
	[KLT_EV_ATTEMPT] = "attempt",
	[KLT_EV_ACQUIRED] = "acquired",
	[KLT_EV_RELEASE] = "unlock",
	[KLT_EV_TRY_OK] = "trylock",
	[KLT_EV_TRY_FAIL] = "trylock-fail",
	[KLT_EV_SRCU_READ_LOCK] = "srcu-read-lock",
	[KLT_EV_SRCU_READ_UNLOCK] = "srcu-read-unlock",
	[KLT_EV_SRCU_SYNC] = "synchronize-srcu",
	[KLT_EV_CPUHP_ENTER] = "cpuhp-enter",
	[KLT_EV_CPUHP_EXIT] = "cpuhp-exit",
	[KLT_EV_PM_BEGIN] = "pm-begin",
	[KLT_EV_PM_END] = "pm-end",
	[KLT_EV_CONTEND_BEGIN] = "contend-begin",
	[KLT_EV_CONTEND_END] = "contend-end",
	[KLT_EV_TASK_EXIT] = "exit",
	[KLT_EV_EDGE] = "edge",
	[KLT_EV_FUNC_ENTER] = "func-enter",
	[KLT_EV_FUNC_EXIT] = "func-exit",
	[KLT_EV_LOCK_INIT] = "init",
	[KLT_EV_EDGE_GUARD] = "guard",
};

static const char *const kind_names[KLT_LK_MAX] = {
	[KLT_LK_MUTEX] = "mutex",
	[KLT_LK_RWSEM] = "rwsem",
	[KLT_LK_PERCPU_RWSEM] = "percpu-rwsem",
	[KLT_LK_SPINLOCK] = "spinlock",
	[KLT_LK_SRCU] = "srcu",
	[KLT_LK_PTHREAD_MUTEX] = "pthread-mutex",
	[KLT_LK_PTHREAD_RWLOCK] = "pthread-rwlock",
};

static const char *const mode_names[KLT_MODE_MAX] = {
	[KLT_MODE_WRITE] = "write",
	[KLT_MODE_READ] = "read",
	[KLT_MODE_RREAD] = "rread",
};

static const char *const pm_names[KLT_PM_MAX] = {
	[KLT_PM_OTHER] = "other",
	[KLT_PM_SUSPEND_ENTER] = "suspend_enter",
	[KLT_PM_SYNC_FILESYSTEMS] = "sync_filesystems",
	[KLT_PM_FREEZE_PROCESSES] = "freeze_processes",
	[KLT_PM_DPM_PREPARE] = "dpm_prepare",
	[KLT_PM_DPM_SUSPEND] = "dpm_suspend",
	[KLT_PM_DPM_SUSPEND_LATE] = "dpm_suspend_late",
	[KLT_PM_DPM_SUSPEND_NOIRQ] = "dpm_suspend_noirq",
	[KLT_PM_CPU_OFF] = "cpu_off",
	[KLT_PM_SYSCORE_SUSPEND] = "syscore_suspend",
	[KLT_PM_MACHINE_SUSPEND] = "machine_suspend",
	[KLT_PM_SYSCORE_RESUME] = "syscore_resume",
	[KLT_PM_CPU_ON] = "cpu_on",
	[KLT_PM_DPM_RESUME_NOIRQ] = "dpm_resume_noirq",
	[KLT_PM_DPM_RESUME_EARLY] = "dpm_resume_early",
	[KLT_PM_DPM_RESUME] = "dpm_resume",
	[KLT_PM_DPM_COMPLETE] = "dpm_complete",
	[KLT_PM_THAW_PROCESSES] = "thaw_processes",
	[KLT_PM_KVM_SUSPEND] = "kvm_suspend",
	[KLT_PM_KVM_RESUME] = "kvm_resume",
};

bool klt_counter_is_drop(const char *name)
{
	static const char *const words[] = { "full", "fail", "overflow", "missed", "lost", "drop",
					      "truncated" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]))
			return true;
	return false;
}

bool klt_counter_loses_events(const char *name)
{
	/* stack_fail (an edge without its stack) and missed_release (a lock taken before tracing
	 * began, released during it) are drops of detail, not of dependencies */
	static const char *const words[] = { "full", "overflow", "lost", "drop", "truncated" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]))
			return true;
	return false;
}

enum klt_completeness klt_trace_completeness(const struct klt_trace *t, char *why, size_t len)
{
	return klt_completeness(t->counters, t->ncounters, t->nevents, t->info.attach_mode, why, len);
}

enum klt_completeness klt_completeness(const struct klt_counter *counters, size_t nc, uint64_t nevents,
				       const char *attach_mode, char *why, size_t len)
{
	char tmp[8];
	bool lost = false;
	size_t n = 0;

	if (!why || !len) {
		why = tmp;
		len = sizeof(tmp);
	}
	why[0] = '\0';
	for (size_t i = 0; i < nc; i++) {
		const struct klt_counter *c = &counters[i];

		if (!strcmp(c->name, KLT_COUNTER_TRUNCATED) && c->value) {
			snprintf(why, len, "the recording was cut off or not finished (%s)",
				 KLT_COUNTER_TRUNCATED);
			return KLT_INCOMPLETE_TRUNCATED;
		}
	}
	for (size_t i = 0; i < nc; i++) {
		const struct klt_counter *c = &counters[i];
		int w;

		if (!c->value || !klt_counter_loses_events(c->name))
			continue;
		lost = true;
		w = snprintf(why + n, len - n, "%s%.*s=%llu", n ? ", " : "events were lost: ",
			     (int)sizeof(c->name), c->name, (unsigned long long)c->value);
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	if (lost)
		return KLT_INCOMPLETE_LOST;
	/* a finished recording says how it was made; no events and no such word is no recording
	 * (an empty file, /dev/null, comments only) */
	if (!nevents && (!attach_mode || !attach_mode[0])) {
		snprintf(why, len, "no events and no recording header: not a recording");
		return KLT_INCOMPLETE_EMPTY;
	}
	if (attach_mode && !strcmp(attach_mode, "tracepoint")) {
		snprintf(why, len, "recorded in tracepoint mode, which cannot see lock acquisitions");
		return KLT_INCOMPLETE_BLIND;
	}
	return KLT_COMPLETE;
}

const char *klt_ev_type_name(unsigned type)
{
	return type < KLT_EV_MAX ? ev_names[type] : NULL;
}

const char *klt_lock_kind_name(unsigned kind)
{
	return kind < KLT_LK_MAX ? kind_names[kind] : NULL;
}

const char *klt_mode_name(unsigned mode)
{
	return mode < KLT_MODE_MAX ? mode_names[mode] : NULL;
}

const char *klt_pm_phase_name(unsigned phase)
{
	return phase < KLT_PM_MAX ? pm_names[phase] : NULL;
}

int klt_lock_kind_from_name(const char *s)
{
	int i;

	for (i = 1; i < KLT_LK_MAX; i++)
		if (!strcmp(s, kind_names[i]))
			return i;
	return -1;
}

int klt_pm_phase_from_name(const char *s)
{
	int i;

	for (i = 1; i < KLT_PM_MAX; i++)
		if (!strcmp(s, pm_names[i]))
			return i;
	return KLT_PM_OTHER;
}
