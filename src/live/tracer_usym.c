// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* User-space symbolization: maps of the traced process, symbol tables of its ELF files. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/* One reading of /proc/PID/maps. */
struct maps_gen {
	struct map_ent *v;
	size_t n;
};

#define MAPS_GENS 8		/* readings kept per process (dlclose'd libraries stay named) */
#define REFRESH_NS 10000000ull	/* re-read the maps of live processes every 10 ms at most */
#define REFRESH_BUDGET 16	/* ... and at most this many processes per refresh */

/*
 * What a traced process had mapped, newest reading last. The maps are read when the process
 * is first seen and re-read periodically while it lives, so an event that is consumed after
 * the process exited (a lagging consumer, a short-lived program) is still symbolized.
 */
struct proc_maps {
	pid_t pid;
	bool dead;		 /* /proc/PID/maps is gone: keep the last readings */
	bool evented;		 /* an event of it was consumed */
	uint64_t read_ns;	 /* CLOCK_MONOTONIC of the last reading */
	char exe[256];		 /* exec() starts a new image: older readings are dropped */
	struct maps_gen gen[MAPS_GENS];
	size_t ngen;
};

struct klt_usym {
	struct elf_file **files;
	size_t nfiles;
	struct proc_maps *procs;
	size_t nprocs;
	size_t rr;		 /* round-robin position of the periodic refresh */
	uint64_t last_refresh;	 /* CLOCK_MONOTONIC ns */
	char self_exe[256];	 /* a child not yet exec'd still runs our image */
	size_t last;		 /* procs[] index of the last event's process */
	int delay_ms;		 /* KLT_TEST_CONSUMER_DELAY_MS (tests only) */
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
	if (ef->nsyms) /* qsort(NULL, 0) is undefined */
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
	struct klt_usym *u = calloc(1, sizeof(struct klt_usym));
	const char *d = getenv("KLT_TEST_CONSUMER_DELAY_MS");
	ssize_t n;

	if (!u)
		return NULL;
	n = readlink("/proc/self/exe", u->self_exe, sizeof(u->self_exe) - 1);
	u->self_exe[n > 0 ? n : 0] = '\0';
	if (d)
		u->delay_ms = atoi(d);
	return u;
}

static void gen_free(struct maps_gen *g)
{
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

void klt_usym_free(struct klt_usym *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nfiles; i++)
		elf_free(u->files[i]);
	for (size_t i = 0; i < u->nprocs; i++)
		for (size_t g = 0; g < u->procs[i].ngen; g++)
			gen_free(&u->procs[i].gen[g]);
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

static struct proc_maps *proc_find(struct klt_usym *u, pid_t pid)
{
	for (size_t i = 0; i < u->nprocs; i++)
		if (u->procs[i].pid == pid)
			return &u->procs[i];
	return NULL;
}

static struct proc_maps *proc_add(struct klt_usym *u, pid_t pid)
{
	struct proc_maps *pm = proc_find(u, pid), *np;

	if (pm)
		return pm;
	np = realloc(u->procs, (u->nprocs + 1) * sizeof(*np));
	if (!np)
		return NULL;
	u->procs = np;
	pm = &u->procs[u->nprocs++];
	memset(pm, 0, sizeof(*pm));
	pm->pid = pid;
	return pm;
}

static bool gen_equal(const struct maps_gen *a, const struct maps_gen *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].start != b->v[i].start || a->v[i].end != b->v[i].end ||
		    a->v[i].pgoff != b->v[i].pgoff || a->v[i].file != b->v[i].file)
			return false;
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Read /proc/PID/maps into a new reading of pm (kept only if it differs from the last). */
static void proc_read(struct klt_usym *u, struct proc_maps *pm)
{
	char path[64], line[1024], exe[sizeof(pm->exe)];
	struct maps_gen g = { 0 };
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	if (pm->dead)
		return;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pm->pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	/* forked by us but not exec'd yet: its maps are ours, not the traced program's */
	if (len > 0 && u->self_exe[0] && !strcmp(exe, u->self_exe) && pm->pid != getpid())
		return;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pm->pid);
	pm->read_ns = now_ns();
	f = fopen(path, "r");
	if (!f) {
		pm->dead = errno == ENOENT || errno == ESRCH;
		return; /* process gone: keep what we had */
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char *p = strchr(line, '/');

		if (sscanf(line, "%llx-%llx %*s %llx", &s, &e, &off) != 3)
			continue;
		if (g.n == cap) {
			struct map_ent *nv = realloc(g.v, (cap = cap ? cap * 2 : 64) * sizeof(*nv));

			if (!nv)
				break;
			g.v = nv;
		}
		if (p)
			p[strcspn(p, "\n")] = '\0';
		g.v[g.n].start = s;
		g.v[g.n].end = e;
		g.v[g.n].pgoff = off;
		g.v[g.n].file = p ? file_get(u, p) : NULL;
		g.n++;
	}
	fclose(f);
	if (!g.n) { /* a zombie: the maps were torn down */
		gen_free(&g);
		pm->dead = true;
		return;
	}
	if (len > 0 && strcmp(exe, pm->exe)) { /* exec'd (or first reading): a new image */
		for (size_t i = 0; i < pm->ngen; i++)
			gen_free(&pm->gen[i]);
		pm->ngen = 0;
		memcpy(pm->exe, exe, sizeof(exe));
	}
	if (pm->ngen && gen_equal(&pm->gen[pm->ngen - 1], &g)) {
		gen_free(&g);
		return;
	}
	if (pm->ngen == MAPS_GENS) {
		gen_free(&pm->gen[0]);
		memmove(&pm->gen[0], &pm->gen[1], (MAPS_GENS - 1) * sizeof(pm->gen[0]));
		pm->ngen--;
	}
	pm->gen[pm->ngen++] = g;
}

void klt_usym_track(struct klt_usym *u, pid_t pid)
{
	struct proc_maps *pm;

	if (!u || pid <= 0)
		return;
	pm = proc_find(u, pid);
	if (pm)
		return;
	pm = proc_add(u, pid);
	if (pm)
		proc_read(u, pm);
}

void klt_usym_snapshot(struct klt_usym *u, pid_t pid)
{
	struct proc_maps *pm;

	if (!u || pid <= 0)
		return;
	pm = proc_add(u, pid);
	if (!pm)
		return;
	pm->dead = false;
	proc_read(u, pm);
}

void klt_usym_refresh(struct klt_usym *u)
{
	uint64_t now;
	size_t done = 0;

	if (!u || !u->nprocs)
		return;
	now = now_ns();
	if (now - u->last_refresh < REFRESH_NS)
		return;
	u->last_refresh = now;
	for (size_t k = 0; k < u->nprocs && done < REFRESH_BUDGET; k++) {
		struct proc_maps *pm = &u->procs[(u->rr + k) % u->nprocs];

		if (pm->dead)
			continue;
		proc_read(u, pm);
		done++;
	}
	u->rr = (u->rr + REFRESH_BUDGET) % u->nprocs;
}

void klt_usym_event(struct klt_usym *u, pid_t pid, uint64_t ts)
{
	struct proc_maps *pm;

	if (!u)
		return;
	if (u->last < u->nprocs && u->procs[u->last].pid == pid) { /* events come in runs */
		pm = &u->procs[u->last];
	} else {
		klt_usym_track(u, pid);
		pm = proc_find(u, pid);
		if (pm)
			u->last = (size_t)(pm - u->procs);
	}
	/* The first event of a process: read its maps after the event happened (the libraries
	 * it locked in are mapped by then), however recently they were read. Then every 10 ms
	 * while its events keep coming, and from the poll loop. */
	if (pm && pm->dead && pm->read_ns < ts)
		pm->dead = false; /* alive after we found it gone: the pid was reused */
	if (pm && !pm->dead && pm->read_ns < ts &&
	    (!pm->evented || now_ns() - pm->read_ns >= REFRESH_NS))
		proc_read(u, pm);
	if (pm)
		pm->evented = true;
	klt_usym_refresh(u);
	if (u->delay_ms > 0)
		usleep((useconds_t)u->delay_ms * 1000);
}

/* Load bias of a file in a process: where its first PT_LOAD page was mapped. */
static uint64_t bias_of(const struct maps_gen *g, const struct elf_file *ef)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].file == ef && g->v[i].pgoff == 0)
			return g->v[i].start - ef->first_load_vaddr;
	return 0;
}

/* The ELF file mapped at addr in one reading, or NULL. */
static const struct elf_file *gen_file(const struct maps_gen *g, uint64_t addr)
{
	for (size_t i = 0; i < g->n; i++) {
		if (addr < g->v[i].start || addr >= g->v[i].end)
			continue;
		/* .bss beyond the file: the anonymous mapping right after the file's */
		if (!g->v[i].file && i > 0 && g->v[i - 1].end == g->v[i].start)
			return g->v[i - 1].file;
		return g->v[i].file;
	}
	return NULL;
}

/* Some mapping of the reading, file or anonymous, holds addr. */
static bool gen_covers(const struct maps_gen *g, uint64_t addr)
{
	for (size_t i = 0; i < g->n; i++)
		if (addr >= g->v[i].start && addr < g->v[i].end)
			return true;
	return false;
}

int klt_usym_resolve(struct klt_usym *u, pid_t pid, uint64_t addr, bool data, struct klt_sym *out)
{
	struct proc_maps *pm;
	const struct maps_gen *g = NULL;
	const struct elf_file *ef = NULL;

	klt_usym_track(u, pid);
	pm = proc_find(u, pid);
	if (!pm)
		return -ENOENT;
	for (int attempt = 0; attempt < 2 && !ef; attempt++) {
		/* mapped since the last reading (dlopen)? Not if the newest reading maps it already
		 * without a file: a heap lock. Re-reading /proc/PID/maps for every heap lock made
		 * the consumer the bottleneck of a user-lock storm (ring buffer drops). */
		if (attempt && pm->ngen && gen_covers(&pm->gen[pm->ngen - 1], addr))
			break;
		if (attempt)
			proc_read(u, pm);
		/* newest reading first; older ones name what was unmapped since */
		for (size_t k = pm->ngen; k-- > 0 && !ef;)
			if ((ef = gen_file(&pm->gen[k], addr)))
				g = &pm->gen[k];
	}
	if (!ef)
		return -ENOENT;
	uint64_t bias = bias_of(g, ef), va = addr - bias;
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
