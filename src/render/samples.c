// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Sample model (samples.h): acquisitions -> weighted, symbolized samples. Pure C. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h> /* snprintf only */
#include <stdlib.h>
#include <string.h>

#include "render_priv.h"
#include "rules.h"
#include "samples.h"

#define FRAME_LEN 256

struct klt_sample_iter {
	const struct klt_view *v;
	const struct klt_stats *s;
	struct klt_sample_opts o;
	size_t next;
	char lock[256];
	char comm[KLT_COMM_LEN];
	unsigned cap;
	char (*frame)[FRAME_LEN];
	char (*func)[FRAME_LEN];
	const char **framep, **funcp, **dsop;
	uint64_t *addrs;
};

int klt_weight_from_name(const char *name)
{
	if (!strcmp(name, "hold"))
		return KLT_WEIGHT_HOLD;
	if (!strcmp(name, "wait"))
		return KLT_WEIGHT_WAIT;
	if (!strcmp(name, "count"))
		return KLT_WEIGHT_COUNT;
	return -1;
}

bool klt_sample_weight(const struct klt_acq *a, enum klt_weight w, uint64_t *val)
{
	switch (w) {
	case KLT_WEIGHT_HOLD:
		*val = a->hold_ns;
		return a->released && a->type != KLT_ACQ_CONTENTION;
	case KLT_WEIGHT_WAIT:
		return klt_acq_wait(a, val);
	case KLT_WEIGHT_COUNT:
		*val = 1;
		return a->type != KLT_ACQ_CONTENTION;
	}
	return false;
}

const char *klt_acq_lock_name(const struct klt_view *v, const struct klt_acq *a, char *buf,
			      size_t len)
{
	int64_t idx;

	if (a->class_id != KLT_NO_CLASS)
		return klt_class_name(v, a->class_id, buf, len);
	idx = klt_render_find_lock(v, a->lock);
	if (idx >= 0)
		return klt_lock_name(v, (uint32_t)idx, buf, len);
	struct lg_hold h = { .lock = UINT32_MAX, .addr = a->lock, .kind = a->kind };

	return klt_render_hold_name(v, &h, buf, len);
}

struct klt_sample_iter *klt_samples_begin(const struct klt_view *v, const struct klt_stats *s,
					  const struct klt_sample_opts *o)
{
	struct klt_sample_iter *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	it->v = v;
	it->s = s;
	if (o)
		it->o = *o;
	return it;
}

/* The per-frame arrays, all of it->cap entries. */
static void free_frames(struct klt_sample_iter *it)
{
	free(it->frame);
	free(it->func);
	free(it->framep);
	free(it->funcp);
	free(it->dsop);
	free(it->addrs);
}

void klt_samples_end(struct klt_sample_iter *it)
{
	if (!it)
		return;
	free_frames(it);
	free(it);
}

static int reserve(struct klt_sample_iter *it, unsigned n)
{
	unsigned c = it->cap;

	if (n <= c)
		return 0;
	while (c < n)
		c = c ? c * 2 : 64;
	free_frames(it);
	it->frame = malloc(c * sizeof(*it->frame));
	it->func = malloc(c * sizeof(*it->func));
	it->framep = malloc(c * sizeof(*it->framep));
	it->funcp = malloc(c * sizeof(*it->funcp));
	it->dsop = malloc(c * sizeof(*it->dsop));
	it->addrs = malloc(c * sizeof(*it->addrs));
	it->cap = c;
	if (!it->frame || !it->func || !it->framep || !it->funcp || !it->dsop || !it->addrs) {
		it->cap = 0;
		return -ENOMEM;
	}
	return 0;
}

static void fill_frame(struct klt_sample_iter *it, unsigned i, uint64_t ip)
{
	struct klt_symtab *st = it->v->trace ? it->v->trace->syms : NULL;
	const struct klt_sym *sym = NULL;
	uint64_t off;

	klt_render_addr(it->v, ip, it->frame[i], FRAME_LEN);
	if (st)
		sym = klt_symtab_lookup(st, ip, &off);
	if (sym)
		snprintf(it->func[i], FRAME_LEN, "%s", sym->name);
	else
		snprintf(it->func[i], FRAME_LEN, "%s", it->frame[i]);
	it->framep[i] = it->frame[i];
	it->funcp[i] = it->func[i];
	it->dsop[i] = sym ? sym->module : NULL;
	it->addrs[i] = it->v->redact && klt_is_kernel_addr(ip) ? 0 : ip;
}

int klt_samples_next(struct klt_sample_iter *it, struct klt_sample *out)
{
	if (!it->s) /* no statistics: no acquisitions */
		return 0;
	while (it->next < it->s->nacqs) {
		const struct klt_acq *a = &it->s->acqs[it->next++];
		const struct klt_stack *stk = NULL;
		uint64_t w;
		unsigned n;

		if (!klt_sample_weight(a, it->o.weight, &w))
			continue;
		klt_acq_lock_name(it->v, a, it->lock, sizeof(it->lock));
		if (it->o.lock_glob && !klt_glob_match(it->o.lock_glob, it->lock))
			continue;
		if (it->v->trace && a->stack_id >= 0)
			stk = klt_trace_stack(it->v->trace, a->stack_id);
		n = stk && stk->nr ? stk->nr : a->ip ? 1 : 0;
		if (reserve(it, n ? n : 1))
			return -ENOMEM;
		for (unsigned i = 0; i < n; i++)
			fill_frame(it, i, stk && stk->nr ? stk->ips[i] : a->ip);
		/* fentry stacks start in the tracer's own trampoline and program: not the caller's */
		unsigned skip = 0;

		while (skip + 1 < n && (!strncmp(it->func[skip], "bpf_trampoline_", 15) ||
					!strncmp(it->func[skip], "bpf_prog_", 9)))
			skip++;
		memcpy(it->comm, a->comm, sizeof(it->comm));
		it->comm[KLT_COMM_LEN - 1] = '\0';
		memset(out, 0, sizeof(*out));
		out->pid = a->pid;
		out->tid = a->tid;
		out->cpu = a->cpu;
		out->time = a->ts;
		out->period = w;
		out->comm = it->comm[0] ? it->comm : "[unknown]";
		out->lock = it->lock;
		out->lock_addr = a->lock;
		out->nframes = n - skip;
		out->frames = it->framep + skip;
		out->funcs = it->funcp + skip;
		out->dsos = it->dsop + skip;
		out->addrs = it->addrs + skip;
		out->kernel = n && klt_is_kernel_addr(stk && stk->nr ? stk->ips[0] : a->ip);
		out->acq = a;
		return 1;
	}
	return 0;
}
