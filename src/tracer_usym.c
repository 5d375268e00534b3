// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* User-space symbolization: maps of the traced process, symbol tables of its ELF files. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracer_usym.h"

struct esym {
	uint64_t vaddr, size;
	char type; /* KLT_SYM_FUNC / KLT_SYM_DATA */
	char *name;
};

struct seg {
	uint64_t vaddr, offset, filesz;
};

struct elf_file {
	char *path, *base;
	uint64_t first_load_vaddr; /* lowest PT_LOAD p_vaddr, page aligned */
	struct seg segs[16];	   /* PT_LOAD segments */
	size_t nsegs;
	struct esym *syms;
	size_t nsyms;
};

struct map_ent {
	uint64_t start, end, pgoff;
	struct elf_file *file; /* NULL for anonymous mappings */
};

struct proc_maps {
	pid_t pid;
	struct map_ent *v;
	size_t n;
};

struct klt_usym {
	struct elf_file **files;
	size_t nfiles;
	struct proc_maps *procs;
	size_t nprocs;
};

static int esym_cmp(const void *a, const void *b)
{
	const struct esym *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static struct elf_file *elf_load(const char *path)
{
	struct elf_file *ef = calloc(1, sizeof(*ef));
	Elf_Scn *scn = NULL;
	size_t phnum, cap = 0;
	Elf *elf = NULL;
	int fd = -1;

	if (!ef)
		return NULL;
	ef->path = strdup(path);
	ef->base = strdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	ef->first_load_vaddr = UINT64_MAX;
	if (!ef->path || !ef->base)
		goto out;
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		goto out;
	if (!elf_getphdrnum(elf, &phnum))
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			if ((ph.p_vaddr & ~0xfffull) < ef->first_load_vaddr)
				ef->first_load_vaddr = ph.p_vaddr & ~0xfffull;
			if (ef->nsegs < sizeof(ef->segs) / sizeof(ef->segs[0]))
				ef->segs[ef->nsegs++] = (struct seg){ ph.p_vaddr, ph.p_offset,
								      ph.p_filesz };
		}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !sh.sh_entsize)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;
			int type;

			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			type = GELF_ST_TYPE(s.st_info);
			if (type != STT_FUNC && type != STT_OBJECT)
				continue;
			name = elf_strptr(elf, sh.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			if (ef->nsyms == cap) {
				struct esym *nv = realloc(ef->syms, (cap = cap ? cap * 2 : 256) *
								    sizeof(*nv));
				if (!nv)
					goto out;
				ef->syms = nv;
			}
			ef->syms[ef->nsyms].vaddr = s.st_value;
			ef->syms[ef->nsyms].size = s.st_size;
			ef->syms[ef->nsyms].type = type == STT_FUNC ? KLT_SYM_FUNC : KLT_SYM_DATA;
			ef->syms[ef->nsyms].name = strdup(name);
			if (!ef->syms[ef->nsyms].name)
				goto out;
			ef->nsyms++;
		}
	}
	qsort(ef->syms, ef->nsyms, sizeof(*ef->syms), esym_cmp);
out:
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	if (ef->first_load_vaddr == UINT64_MAX)
		ef->first_load_vaddr = 0;
	return ef;
}

static void elf_free(struct elf_file *ef)
{
	if (!ef)
		return;
	for (size_t i = 0; i < ef->nsyms; i++)
		free(ef->syms[i].name);
	free(ef->syms);
	free(ef->path);
	free(ef->base);
	free(ef);
}

int klt_usym_elf_syms(const char *path, struct klt_symtab *st, int64_t slide, uint64_t *stext)
{
	struct elf_file *ef = elf_load(path);
	int err = 0;

	if (!ef)
		return -ENOMEM;
	if (!ef->nsyms)
		err = -ENOENT; /* not an ELF file, or stripped */
	for (size_t i = 0; i < ef->nsyms && !err; i++) {
		const struct esym *s = &ef->syms[i];

		if (stext && !strcmp(s->name, "_stext"))
			*stext = s->vaddr;
		err = klt_symtab_add(st, s->vaddr + (uint64_t)slide, s->size, s->type, s->name,
				     NULL);
	}
	elf_free(ef);
	return err;
}

bool klt_usym_defines(const char *path, const char *sym)
{
	struct elf_file *ef = elf_load(path);
	bool found = false;

	for (size_t i = 0; ef && i < ef->nsyms && !found; i++)
		found = ef->syms[i].type == KLT_SYM_FUNC && !strcmp(ef->syms[i].name, sym);
	elf_free(ef);
	return found;
}

int klt_usym_func_offset(const char *path, const char *sym, uint64_t *off)
{
	struct elf_file *ef = elf_load(path);
	int err = -ENOENT;

	for (size_t i = 0; ef && i < ef->nsyms && err; i++) {
		const struct esym *s = &ef->syms[i];

		if (s->type != KLT_SYM_FUNC || strcmp(s->name, sym))
			continue;
		for (size_t j = 0; j < ef->nsegs; j++)
			if (s->vaddr >= ef->segs[j].vaddr &&
			    s->vaddr < ef->segs[j].vaddr + ef->segs[j].filesz) {
				*off = s->vaddr - ef->segs[j].vaddr + ef->segs[j].offset;
				err = 0;
				break;
			}
	}
	elf_free(ef);
	return err;
}

struct klt_usym *klt_usym_new(void)
{
	return calloc(1, sizeof(struct klt_usym));
}

void klt_usym_free(struct klt_usym *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nfiles; i++)
		elf_free(u->files[i]);
	for (size_t i = 0; i < u->nprocs; i++)
		free(u->procs[i].v);
	free(u->files);
	free(u->procs);
	free(u);
}

static struct elf_file *file_get(struct klt_usym *u, const char *path)
{
	struct elf_file **nf, *ef;

	for (size_t i = 0; i < u->nfiles; i++)
		if (!strcmp(u->files[i]->path, path))
			return u->files[i];
	ef = elf_load(path);
	if (!ef)
		return NULL;
	nf = realloc(u->files, (u->nfiles + 1) * sizeof(*nf));
	if (!nf) {
		elf_free(ef);
		return NULL;
	}
	u->files = nf;
	u->files[u->nfiles++] = ef;
	return ef;
}

static struct proc_maps *maps_load(struct klt_usym *u, pid_t pid, bool reload)
{
	struct proc_maps *pm = NULL, *np;
	char path[64], line[1024];
	size_t cap = 0;
	FILE *f;

	for (size_t i = 0; i < u->nprocs; i++)
		if (u->procs[i].pid == pid)
			pm = &u->procs[i];
	if (pm && !reload)
		return pm;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return pm; /* process gone: keep what we had */
	if (!pm) {
		np = realloc(u->procs, (u->nprocs + 1) * sizeof(*np));
		if (!np) {
			fclose(f);
			return NULL;
		}
		u->procs = np;
		pm = &u->procs[u->nprocs++];
		memset(pm, 0, sizeof(*pm));
		pm->pid = pid;
	}
	free(pm->v);
	pm->v = NULL;
	pm->n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char *p = strchr(line, '/');

		if (sscanf(line, "%llx-%llx %*s %llx", &s, &e, &off) != 3)
			continue;
		if (pm->n == cap) {
			struct map_ent *nv = realloc(pm->v, (cap = cap ? cap * 2 : 64) * sizeof(*nv));

			if (!nv)
				break;
			pm->v = nv;
		}
		if (p)
			p[strcspn(p, "\n")] = '\0';
		pm->v[pm->n].start = s;
		pm->v[pm->n].end = e;
		pm->v[pm->n].pgoff = off;
		pm->v[pm->n].file = p ? file_get(u, p) : NULL;
		pm->n++;
	}
	fclose(f);
	return pm;
}

/* Load bias of a file in a process: where its first PT_LOAD page was mapped. */
static uint64_t bias_of(const struct proc_maps *pm, const struct elf_file *ef)
{
	for (size_t i = 0; i < pm->n; i++)
		if (pm->v[i].file == ef && pm->v[i].pgoff == 0)
			return pm->v[i].start - ef->first_load_vaddr;
	return 0;
}

int klt_usym_resolve(struct klt_usym *u, pid_t pid, uint64_t addr, bool data, struct klt_sym *out)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct proc_maps *pm = maps_load(u, pid, attempt > 0);
		const struct elf_file *ef = NULL;

		if (!pm)
			return -ENOENT;
		for (size_t i = 0; i < pm->n; i++) {
			if (addr < pm->v[i].start || addr >= pm->v[i].end)
				continue;
			ef = pm->v[i].file;
			/* .bss beyond the file: the anonymous mapping right after the file's */
			if (!ef && i > 0 && pm->v[i - 1].end == pm->v[i].start)
				ef = pm->v[i - 1].file;
			break;
		}
		if (!ef)
			continue;
		uint64_t bias = bias_of(pm, ef), va = addr - bias;
		const struct esym *best = NULL;
		size_t lo = 0, hi = ef->nsyms;

		while (lo < hi) { /* last symbol with vaddr <= va */
			size_t mid = (lo + hi) / 2;

			if (ef->syms[mid].vaddr <= va)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i-- > 0;) {
			const struct esym *s = &ef->syms[i];

			if (data ? (s->type == KLT_SYM_DATA && s->vaddr == va) :
				   (s->type == KLT_SYM_FUNC && (va < s->vaddr + s->size ||
								(!s->size && va - s->vaddr < 4096)))) {
				best = s;
				break;
			}
			if (va - s->vaddr > (1u << 20))
				break;
		}
		if (!best)
			return -ENOENT;
		out->addr = best->vaddr + bias;
		out->size = best->size;
		out->type = best->type;
		out->name = best->name;
		out->module = ef->base;
		return 0;
	}
	return -ENOENT;
}
