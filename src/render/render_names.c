// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Human names for lock classes, lock instances and addresses, shared by every renderer so text,
 * JSON and DOT always call a lock the same thing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "render_priv.h"

/* Finding kind as reports spell it (JSON "kind", docs/json-schema.json). */
const char *klt_render_kind_name(unsigned kind)
{
	return lg_finding_kind_name(kind);
}

static struct klt_symtab *view_syms(const struct klt_view *v)
{
	return v->trace ? v->trace->syms : NULL;
}

/* Symbolized address; unknown kernel addresses become 0x<redacted> when redacting. */
const char *klt_render_addr(const struct klt_view *v, uint64_t addr, char *buf, size_t len)
{
	struct klt_symtab *st = view_syms(v);

	if (!len)
		return buf;
	if (st) {
		klt_symtab_fmt(st, addr, buf, len);
		/* klt_symtab_fmt falls back to "0x<hex>" exactly when nothing names the address */
		if (!v->redact || strncmp(buf, "0x", 2))
			return buf;
	}
	if (v->redact)
		snprintf(buf, len, "0x<redacted>");
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

/* Instance index of the lock at addr, -1 if the engine never saw it (linear: reports only). */
int64_t klt_render_find_lock(const struct klt_view *v, uint64_t addr)
{
	/* hashed: reports look up every witness and every acquisition */
	return lg_lock_find(v->eng, addr);
}

const char *klt_render_hold_name(const struct klt_view *v, const struct lg_hold *h, char *buf,
				 size_t len)
{
	const char *kind = klt_lock_kind_name(h->kind);
	char a[128];

	if (h->lock != UINT32_MAX && lg_lock_at(v->eng, h->lock))
		return klt_lock_name(v, h->lock, buf, len);
	/* never seen acquired: name it by symbol if it has one, else by kind and address */
	klt_render_addr(v, h->addr, a, sizeof(a));
	if (strncmp(a, "0x", 2))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s@%s", kind ? kind : "lock", a);
	return buf;
}

const char *klt_class_name(const struct klt_view *v, uint32_t class_id, char *buf, size_t len)
{
	const struct lg_class *c = lg_class_at(v->eng, class_id);
	const char *kind;
	char site[192];

	if (!len)
		return buf;
	if (!c) {
		snprintf(buf, len, "class#%u", class_id);
		return buf;
	}
	if (c->origin == LG_CLASS_STATIC && c->name && KLT_KIND_IS_USER(c->kind) &&
	    c->key >> KLT_USER_GEN_SHIFT) {
		/* a static user lock destroyed and initialized again: another lock */
		snprintf(buf, len, "%s~gen%u", c->name, (unsigned)(c->key >> KLT_USER_GEN_SHIFT));
		return buf;
	}
	if (c->origin != LG_CLASS_INFERRED && c->name) {
		snprintf(buf, len, "%s", c->name);
		return buf;
	}
	kind = klt_lock_kind_name(c->kind);
	if (c->origin == LG_CLASS_INIT) {
		/* an init key the kernel gave no name (or whose name was not sent) */
		klt_render_addr(v, c->key, site, sizeof(site));
		snprintf(buf, len, "%s@key:%s", kind ? kind : "lock", site);
		return buf;
	}
	if (!c->key) {
		/* call site unknown (held side of an in-kernel edge): a class per lock, so the
		 * name must tell them apart */
		snprintf(buf, len, "%s@unknown-site#%u", kind ? kind : "lock", class_id);
		return buf;
	}
	klt_render_addr(v, c->key, site, sizeof(site));
	/* a redacted unknown site would make distinct classes look alike: add the class id */
	if (v->redact && !strncmp(site, "0x", 2))
		snprintf(buf, len, "%s@%s#%u", kind ? kind : "lock", site, class_id);
	else
		snprintf(buf, len, "%s@%s", kind ? kind : "lock", site);
	return buf;
}

const char *klt_lock_name(const struct klt_view *v, uint32_t lock_idx, char *buf, size_t len)
{
	const struct lg_lock *l = lg_lock_at(v->eng, lock_idx);
	const struct lg_class *c;
	char cname[256];

	if (!len)
		return buf;
	if (!l) {
		snprintf(buf, len, "lock#%u", lock_idx);
		return buf;
	}
	c = lg_class_at(v->eng, l->class_id);
	klt_class_name(v, l->class_id, cname, sizeof(cname));
	if (c && c->origin == LG_CLASS_STATIC && c->name) {
		snprintf(buf, len, "%s", cname);
	} else if (v->redact) {
		/* the address is what told instances apart; the index keeps names unique */
		if (c && c->ninstances <= 1)
			snprintf(buf, len, "%s@0x<redacted>", cname);
		else
			snprintf(buf, len, "%s@0x<redacted>#%u", cname, lock_idx);
	} else if (KLT_KIND_IS_USER(l->kind) && l->addr >> KLT_USER_GEN_SHIFT) {
		/* the address's n-th lock after pthread_*_destroy() (klt_abi.h) */
		snprintf(buf, len, "%s@0x%" PRIx64 "~gen%u", cname, (uint64_t)(l->addr & KLT_USER_ADDR_MASK),
			 (unsigned)(l->addr >> KLT_USER_GEN_SHIFT));
	} else if (l->gen) {
		/* the address's n-th lock after it was initialized again (LOCK_INIT) */
		snprintf(buf, len, "%s@0x%" PRIx64 "~gen%u", cname, l->addr, l->gen);
	} else {
		snprintf(buf, len, "%s@0x%" PRIx64, cname, l->addr);
	}
	return buf;
}

const char *klt_node_name(const struct klt_view *v, unsigned level, uint32_t node, char *buf,
			  size_t len)
{
	if (level == LG_LEVEL_CLASS)
		return klt_class_name(v, node, buf, len);
	return klt_lock_name(v, node, buf, len);
}

const char *klt_render_esc(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!len)
		return buf;
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f) {
			if (o + 4 >= len) /* never half an escape */
				break;
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else {
			if (o + 1 >= len)
				break;
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return buf;
}

char *klt_render_esc_inplace(char *buf, size_t len)
{
	char tmp[1024];

	if (!len)
		return buf;
	for (const char *p = buf; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			klt_render_esc(buf, tmp, len < sizeof(tmp) ? len : sizeof(tmp));
			memcpy(buf, tmp, strlen(tmp) + 1);
			break;
		}
	}
	return buf;
}
