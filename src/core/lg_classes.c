// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The lock-order engine's lock identity: instances (one per address) and their classes (static,
 * explicit, inferred; docs/engine.md, "Lock identity and classes"), with each class's rule
 * matches resolved once when it is created.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lg_internal.h"

/* ---------------------------------------------------------------------------------------- */
/* Locks and classes.                                                                       */

static uint64_t name_hash(const char *s, uint64_t seed)
{
	uint64_t h = seed;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return klt_mix64(h);
}

/* Does rule r apply to this kernel, is it of this kind, and does `pat` of it match name? */
static bool rule_matches(const struct lg_engine *e, const struct klt_rule *r, int kind,
			 const char *pat, const char *name)
{
	if (r->kind != kind || !pat || !klt_rule_applies(r, e->cfg.kernel_version))
		return false;
	/* lockdep spells an init-site class "&kvm->slots_lock"; rules and BTF names omit the & */
	return klt_glob_match(pat, name) || (name[0] == '&' && pat[0] != '&' &&
					     klt_glob_match(pat, name + 1));
}

/* Indices of the applicable ORDER rules whose outer (or inner) glob matches name. */
static int32_t *rule_list(const struct lg_engine *e, const char *name, bool outer, uint32_t *n)
{
	const struct klt_rules *rs = e->cfg.rules;
	int32_t *v;
	size_t i;

	*n = 0;
	for (i = 0; i < rs->n; i++)
		*n += rule_matches(e, &rs->v[i], KLT_RULE_ORDER,
				   outer ? rs->v[i].outer : rs->v[i].inner, name);
	if (!*n)
		return NULL;
	v = malloc(*n * sizeof(*v));
	if (!v)
		return NULL;
	*n = 0;
	for (i = 0; i < rs->n; i++)
		if (rule_matches(e, &rs->v[i], KLT_RULE_ORDER,
				 outer ? rs->v[i].outer : rs->v[i].inner, name))
			v[(*n)++] = (int32_t)i;
	return v;
}

/* Fill a new class's rule matches (resolved once, here, never per event). */
static int class_resolve_rules(struct lg_engine *e, struct iclass *c)
{
	const struct klt_rules *rs = e->cfg.rules;
	size_t i;

	c->watch_rule = -1;
	if (!rs || !c->pub.name)
		return 0;
	c->outer = rule_list(e, c->pub.name, true, &c->nouter);
	if (c->nouter && !c->outer)
		return -ENOMEM;
	c->inner = rule_list(e, c->pub.name, false, &c->ninner);
	if (c->ninner && !c->inner) {
		free(c->outer);
		c->outer = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < rs->n && c->watch_rule < 0; i++)
		if (rule_matches(e, &rs->v[i], KLT_RULE_WATCH_SUSPEND, rs->v[i].outer, c->pub.name))
			c->watch_rule = (int32_t)i;
	return 0;
}

/*
 * The instance for an address not seen before (lock_get() in lockgraph.c looks it up first),
 * or a new one at an address just initialized again (init, a LOCK_INIT event), created and
 * classified: a DATA symbol makes it a static lock with its own class, a CLASS symbol puts it
 * in that named class, an init site in the class of that site (its key and name string; named
 * by a CLASS symbol at the string's address), anything else joins the class inferred from
 * (kind, call site of this first
 * acquisition). ip 0 means the call site is unknown (the held side of an in-kernel EDGE
 * record): such a lock gets a class of its own rather than one shared by every lock of unknown
 * site; so does every pthread lock (see below).
 */
int lg_lock_create(struct lg_engine *e, uint64_t addr, uint8_t kind, uint64_t ip,
		   const struct lg_init *init, uint32_t *out)
{
	uint64_t key = init ? init->key : 0;
	const struct klt_sym *sym = NULL;
	uint32_t idx, cid = NIL;
	uint64_t k1 = 0;
	uint32_t k2 = 0;
	struct klt_hmap *cmap = NULL;
	uint8_t origin = LG_CLASS_INFERRED;
	struct iclass *c;
	struct ilock *l;

	if (e->cfg.syms) {
		/* a reused user lock's generation is not part of its symbol's address */
		sym = klt_symtab_exact(e->cfg.syms,
				       KLT_KIND_IS_USER(kind) ? addr & KLT_USER_ADDR_MASK : addr,
				       KLT_SYM_DATA);
		origin = LG_CLASS_STATIC;
		if (!sym) {
			sym = klt_symtab_exact(e->cfg.syms, addr, KLT_SYM_CLASS);
			origin = LG_CLASS_EXPLICIT;
		}
		if (sym && !sym->name)
			sym = NULL;
	}
	if (!sym && key) {
		/* lockdep's own class: one per init site (key and name), whatever the address */
		origin = LG_CLASS_INIT;
		sym = e->cfg.syms && init->name ?
			      klt_symtab_exact(e->cfg.syms, init->name, KLT_SYM_CLASS) : NULL;
		if (sym && !sym->name)
			sym = NULL;
		cmap = &e->keymap;
		k1 = key;
		k2 = (uint32_t)klt_mix64(init->name ^ (uint64_t)kind << 56);
		/* a per-VM lock initialized before the object hook named its VM's locks: the class
		 * the hook's BTF name ("kvm->slots_lock" for "&kvm->slots_lock") already has */
		if (sym && sym->name[0] == '&') {
			uint32_t ex = klt_hmap_find(&e->namemap,
						    name_hash(sym->name + 1, 0xcbf29ce484222325ULL),
						    (uint32_t)name_hash(sym->name + 1,
									0x84222325cbf29ce4ULL));

			if (ex != NIL) {
				cmap = NULL;
				cid = ex;
			}
		}
	} else if (!sym) {
		origin = LG_CLASS_INFERRED;
		/*
		 * pthread locks get no shared inferred class: user code takes arrays of locks or
		 * locks of many heap objects in a consistent instance order through one helper's
		 * call sites, with no lockdep-style annotation to tell nested instances of a class
		 * apart, so call-site classes would turn such orders into class cycles that
		 * cannot deadlock (bench/userspace.sh: TSan and Helgrind report none).
		 */
		cmap = ip && kind != KLT_LK_PTHREAD_MUTEX && kind != KLT_LK_PTHREAD_RWLOCK ?
			       &e->infmap : NULL;
		k1 = ip;
		k2 = kind;
	} else if (origin == LG_CLASS_EXPLICIT) {
		cmap = &e->namemap;
		k1 = name_hash(sym->name, 0xcbf29ce484222325ULL);
		k2 = (uint32_t)name_hash(sym->name, 0x84222325cbf29ce4ULL);
	}
	if (cmap && cid == NIL)
		cid = klt_hmap_find(cmap, k1, k2);

	if (klt_vec_reserve((void **)&e->locks, &e->caplocks, e->nlocks + 1, sizeof(*e->locks)) ||
	    klt_hmap_reserve(&e->lockmap, 1) || lg_graph_reserve_node(&e->ig))
		return -ENOMEM;
	if (cid == NIL) {
		struct iclass nc;

		if (klt_vec_reserve((void **)&e->classes, &e->capclasses, e->nclasses + 1,
				sizeof(*e->classes)) ||
		    lg_graph_reserve_node(&e->cg) || (cmap && klt_hmap_reserve(cmap, 1)))
			return -ENOMEM;
		memset(&nc, 0, sizeof(nc));
		nc.pub.id = e->nclasses;
		nc.pub.kind = kind;
		nc.pub.origin = origin;
		nc.pub.name = sym ? sym->name : NULL;
		nc.pub.key = origin == LG_CLASS_STATIC ? addr :
			     origin == LG_CLASS_INFERRED ? ip :
			     origin == LG_CLASS_INIT ? key : 0;
		if (class_resolve_rules(e, &nc))
			return -ENOMEM;
		cid = e->nclasses++;
		e->classes[cid] = nc;
		lg_graph_add_node(&e->cg);
		if (cmap)
			klt_hmap_put(cmap, k1, k2, cid);
	}
	c = &e->classes[cid];
	c->pub.ninstances++;

	idx = e->nlocks++;
	l = &e->locks[idx];
	memset(l, 0, sizeof(*l));
	l->pub.addr = addr;
	l->pub.class_id = cid;
	l->pub.kind = kind;
	l->pub.first_ip = ip; /* 0 for a LOCK_INIT: no acquisition yet */
	l->last_to = NIL;
	l->last_edge = NIL;
	if (key) { /* the address now means this instance; the one before keeps its edges */
		uint32_t *slot = klt_hmap_upsert(&e->lockmap, addr, 0, idx);

		if (*slot != idx)
			l->pub.gen = e->locks[*slot].pub.gen + 1;
		*slot = idx;
	} else
		klt_hmap_put(&e->lockmap, addr, 0, idx);
	lg_graph_add_node(&e->ig);
	*out = idx;
	return 0;
}
