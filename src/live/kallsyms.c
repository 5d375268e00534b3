// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel symbols: /proc/kallsyms, a System.map or a vmlinux, into a symtab. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracer_int.h"
#include "tracer_usym.h"

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

static bool is_watched_lock(const char *name)
{
	const char *w;

	for (size_t i = 0; (w = klt_watched_lock(i)); i++)
		if (!strcmp(name, w))
			return true;
	return false;
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
		case 't': case 'T':
			/* Debian's 7.2 lists cpu_hotplug_lock as 't': a lock the hook table
			 * watches is data whatever letter kallsyms gives it */
			type = is_watched_lock(name) ? KLT_SYM_DATA : KLT_SYM_FUNC;
			break;
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
int klt_load_ksyms(struct klt_symtab *st, const char *symbols, char *msg, size_t msglen)
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
