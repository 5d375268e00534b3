// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live commands: trace (the default), record, features. Glue between the tracer's callbacks,
 * the engine (findings printed as they are found), the trace-file writer and the summary.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lockgraph.h"
#include "render.h"
#include "rules.h"
#include "trace.h"
#include "traceio.h"
#include "tracer.h"

struct live_env {
	bool record;
	const char *output;
	bool force;
	double duration;
	bool all;
	bool full_events;
	pid_t pid;
	const char *user;
	enum klt_attach attach;
	const char *btf;
	const char *symbols;
	int realtime; /* SCHED_FIFO priority of the tracer (perf record -r), 0: none */
	const char *rules_path;
	bool no_rules;
	bool quiet;
	bool verbose;
	char **cmd;
};

/* --duration's bound: one year, so a mistyped number is refused rather than meaning "forever" */
#define MAX_DURATION_S (365.0 * 24 * 3600)

struct cb_count {
	uint64_t addr;
	uint64_t n;
};

struct live {
	struct live_env *env;
	struct klt_trace trace; /* symbols + stacks of the live run (events are not kept) */
	struct klt_rules rules;
	struct lg_engine *eng;
	struct klt_writer *w;
	struct klt_view view;
	uint64_t events, by_type[KLT_EV_MAX];
	struct cb_count cbs[256]; /* cpuhp callbacks seen */
	size_t ncbs;
	int err;
	bool ptraced; /* --user: the command is ptrace-seized, to stop at its exit */
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void print_finding(void *ctx, const struct lg_finding *f)
{
	struct live *l = ctx;

	klt_render_finding_text(stdout, &l->view, f);
	fflush(stdout);
}

static int cb_sym(void *ctx, const struct klt_sym *s)
{
	struct live *l = ctx;
	int err = klt_symtab_add(l->trace.syms, s->addr, s->size, s->type, s->name, s->module);

	return err ?: l->w ? klt_writer_add_sym(l->w, s) : 0;
}

static int cb_stack(void *ctx, int32_t id, const uint64_t *ips, uint32_t nr)
{
	struct live *l = ctx;
	int err = klt_trace_set_stack(&l->trace, id, ips, nr);

	return err ?: l->w ? klt_writer_add_stack(l->w, id, ips, nr) : 0;
}

static int cb_event(void *ctx, const struct klt_event *ev)
{
	struct live *l = ctx;
	int err;

	l->events++;
	if (ev->type < KLT_EV_MAX)
		l->by_type[ev->type]++;
	if (ev->type == KLT_EV_CPUHP_ENTER) {
		size_t i;

		for (i = 0; i < l->ncbs && l->cbs[i].addr != ev->lock; i++)
			;
		if (i < sizeof(l->cbs) / sizeof(l->cbs[0])) {
			if (i == l->ncbs) {
				l->cbs[i].addr = ev->lock;
				l->ncbs++;
			}
			l->cbs[i].n++;
		}
	}
	err = lg_feed(l->eng, ev);
	return err ?: l->w ? klt_writer_add_event(l->w, ev) : 0;
}

static const struct argp_option live_opts[] = {
	{ "duration", 'd', "SECS", 0, "Trace for SECS seconds, at most 31536000 (one year); default: "
				      "until Ctrl-C or CMD exits", 0 },
	{ "all", 'a', NULL, 0, "Trace every mutex/rwsem, not only the KVM/CPU-hotplug scope", 0 },
	{ "full-events", 'F', NULL, 0, "Record every in-scope acquisition and release with its stack, "
					"not only watched locks: what report --stats, folded, perf-script "
					"and chrome need (more events)", 0 },
	{ "pid", 'p', "PID", 0, "Only this process", 0 },
	{ "user", 'u', "PATH|PID", 0, "Trace pthread locks of a program (uprobes on its C library) "
				      "instead of kernel locks", 0 },
	{ "attach", 'm', "MODE", 0, "auto (default), fentry, kprobe, tracepoint", 0 },
	{ "output", 'o', "FILE", 0, "record: the trace file to write (0600, not overwritten)", 0 },
	{ "force", 'f', NULL, 0, "record: overwrite FILE", 0 },
	{ "rules", 'r', "FILE", 0, "Lock-order rules (default: installed rules/kvm.rules)", 0 },
	{ "no-rules", 'R', NULL, 0, "Check no documented-order rules", 0 },
	{ "quiet", 'q', NULL, 0, "Do not print findings as they are found", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's log (BPF load and attach details) on stderr", 0 },
	{ "btf", 'B', "FILE", 0, "BTF (or vmlinux) of the running kernel, if it exposes none", 0 },
	{ "realtime", 'P', "PRIO", 0, "Run the tracer (not the command) at SCHED_FIFO priority PRIO "
				      "(1-99), as perf record -r: a busy host cannot starve the reader "
				      "into ring-buffer drops", 0 },
	{ "symbols", 'S', "FILE", 0, "System.map or vmlinux of the running kernel: names static "
				     "locks when kallsyms has no data symbols", 0 },
	{ 0 },
};

static error_t parse_live(int key, char *arg, struct argp_state *state)
{
	struct live_env *e = state->input;
	char *end;

	switch (key) {
	case 'd':
		errno = 0;
		e->duration = strtod(arg, &end);
		/* no inf, nan, overflow or a value only a typo gives */
		if (errno || *end || !*arg || !isfinite(e->duration) || e->duration <= 0 ||
		    e->duration > MAX_DURATION_S)
			klt_usage_error(state, "--duration: expected a number of seconds > 0 and at most "
					  "31536000 (one year), got '%s'", arg);
		break;
	case 'a': e->all = true; break;
	case 'F': e->full_events = true; break;
	case 'p':
		e->pid = (pid_t)strtol(arg, &end, 10);
		if (*end || e->pid <= 0)
			klt_usage_error(state, "--pid: expected a process id, got '%s'", arg);
		break;
	case 'u': e->user = arg; break;
	case 'm':
		if (!strcmp(arg, "auto")) e->attach = KLT_ATTACH_AUTO;
		else if (!strcmp(arg, "fentry")) e->attach = KLT_ATTACH_FENTRY;
		else if (!strcmp(arg, "kprobe")) e->attach = KLT_ATTACH_KPROBE;
		else if (!strcmp(arg, "tracepoint")) e->attach = KLT_ATTACH_TRACEPOINT;
		else klt_usage_error(state, "--attach: expected auto, fentry, kprobe or tracepoint, got '%s'",
				arg);
		break;
	case 'o': e->output = arg; break;
	case 'f': e->force = true; break;
	case 'r': e->rules_path = arg; break;
	case 'R': e->no_rules = true; break;
	case 'q': e->quiet = true; break;
	case 'v': e->verbose = true; break;
	case 'B': e->btf = arg; break;
	case 'P':
		e->realtime = (int)strtol(arg, &end, 10);
		if (*end || !*arg || e->realtime < 1 || e->realtime > 99)
			klt_usage_error(state, "--realtime: expected a priority from 1 to 99, got '%s'",
					arg);
		break;
	case 'S': e->symbols = arg; break;
	case ARGP_KEY_ARGS:
		e->cmd = state->argv + state->next;
		break;
	case ARGP_KEY_END:
		if (e->record && !e->output)
			klt_usage_error(state, "record needs -o FILE");
		if (!e->record && e->output)
			klt_usage_error(state, "-o is for 'record'");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void print_summary(struct live *l, struct klt_tracer *t, const struct klt_counter *c,
			  size_t nc)
{
	char buf[256];

	fprintf(stderr, "\n--- kvmlocktrace summary (%s mode) ---\n", l->trace.info.attach_mode);
	fprintf(stderr, "events: %llu (edges %llu, lock events %llu, cpuhp %llu, pm %llu, "
			"contention %llu)\n",
		(unsigned long long)l->events, (unsigned long long)l->by_type[KLT_EV_EDGE],
		(unsigned long long)(l->by_type[KLT_EV_ATTEMPT] + l->by_type[KLT_EV_ACQUIRED] +
				     l->by_type[KLT_EV_RELEASE] + l->by_type[KLT_EV_TRY_OK] +
				     l->by_type[KLT_EV_SRCU_READ_LOCK] + l->by_type[KLT_EV_SRCU_SYNC]),
		(unsigned long long)l->by_type[KLT_EV_CPUHP_ENTER],
		(unsigned long long)l->by_type[KLT_EV_PM_BEGIN],
		(unsigned long long)l->by_type[KLT_EV_CONTEND_BEGIN]);
	fprintf(stderr, "locks: %zu, classes: %zu, edges: %zu, findings: %zu\n",
		lg_nlocks(l->eng), lg_nclasses(l->eng), lg_nedges(l->eng, LG_LEVEL_INSTANCE),
		lg_nfindings(l->eng));
	if (l->ncbs) {
		fprintf(stderr, "hotplug callbacks seen:");
		for (size_t i = 0; i < l->ncbs; i++)
			fprintf(stderr, "%s %s x%llu", i ? "," : "",
				klt_symtab_fmt(l->trace.syms, l->cbs[i].addr, buf, sizeof(buf)),
				(unsigned long long)l->cbs[i].n);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "drops:");
	bool any = false;

	for (size_t i = 0; i < nc; i++) {
		if (klt_counter_is_drop(c[i].name)) {
			fprintf(stderr, " %s=%llu", c[i].name, (unsigned long long)c[i].value);
			any |= c[i].value != 0;
		}
	}
	fprintf(stderr, "%s\n", any ? "  (WARNING: events were lost; see docs)" : "");
	fprintf(stderr, "hooks attached: %s\n", klt_tracer_attached(t)[0] ? klt_tracer_attached(t) : "none");
	if (klt_tracer_skipped(t)[0])
		fprintf(stderr, "hooks missing on this kernel (skipped): %s\n", klt_tracer_skipped(t));
	if (klt_tracer_waiting(t)[0])
		fprintf(stderr, "hooks waiting for the kvm module (it never loaded): %s\n",
			klt_tracer_waiting(t));
	if (klt_tracer_mode(t) == KLT_ATTACH_TRACEPOINT && !l->env->user)
		fprintf(stderr, "note: tracepoint mode cannot see lock acquisitions (this kernel "
				"allows neither fentry nor kprobes): it shows CPU-hotplug callbacks, "
				"contention on watched locks and suspend phases only\n");
}

/* The recording's header: this machine, this tool, now. */
static void live_info_init(struct klt_trace_info *info, const struct utsname *u)
{
	struct timespec ts;

	snprintf(info->kernel_release, sizeof(info->kernel_release), "%s", u->release);
	snprintf(info->machine, sizeof(info->machine), "%.31s", u->machine);
	snprintf(info->hostname, sizeof(info->hostname), "%.63s", u->nodename);
	snprintf(info->tool_version, sizeof(info->tool_version), "%s", KLT_VERSION);
	snprintf(info->clock, sizeof(info->clock), "monotonic");
	info->format_version = KLT_FORMAT_VERSION;
	clock_gettime(CLOCK_REALTIME, &ts);
	info->start_realtime_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The traced command: forked now, waiting on the go pipe until the probes are attached; exec's
 * errno comes back over efd (CLOEXEC: EOF when the exec succeeded). 0 or -1 (said why). */
static int workload_fork(char **cmd, int go[2], int efd[2], pid_t *child, bool *ptraced)
{
	pid_t parent = getpid();

	if (pipe(go) || pipe2(efd, O_CLOEXEC)) {
		fprintf(stderr, "kvmlocktrace: pipe: %s\n", strerror(errno));
		return -1;
	}
	*child = fork();
	if (*child < 0) {
		fprintf(stderr, "kvmlocktrace: fork: %s\n", strerror(errno));
		*child = 0;
		return -1;
	}
	if (*child == 0) {
		char c;
		int e;

		/* the command dies with the tracer, even of SIGKILL (nothing would record it any
		 * more); if we died before prctl, getppid() is no longer us */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(127);
		close(go[1]);
		close(efd[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(cmd[0], cmd);
		e = errno;
		if (write(efd[1], &e, sizeof(e)) != sizeof(e))
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	go[0] = -1;
	close(efd[1]);
	efd[1] = -1;
	/* --user: seize it (no stop now, none at exec) to be told when it exits while its maps
	 * still exist; where ptrace is not allowed (Yama), symbols fall back to reading the maps
	 * while it lives */
	if (ptraced)
		*ptraced = !ptrace(PTRACE_SEIZE, *child, NULL,
				   (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
	return 0;
}

/*
 * Wait for the command (flags: 0 or WNOHANG): true when it is gone (*status says how). A
 * seized command stops at its exit: its maps are read (klt_tracer_user_snapshot) and it goes
 * on; any other stop (a signal for it, a group stop) is passed on unchanged.
 */
static bool workload_wait(struct live *l, struct klt_tracer *t, pid_t pid, int *status,
			  int flags)
{
	for (;;) {
		pid_t r = waitpid(pid, status, flags);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0; /* not ours any more (ECHILD): gone */
		if (!WIFSTOPPED(*status))
			return true;
		if (l->ptraced && (*status >> 8) == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			if (t)
				klt_tracer_user_snapshot(t, pid);
			ptrace(PTRACE_CONT, pid, NULL, NULL);
		} else if ((*status >> 16) == PTRACE_EVENT_STOP) {
			ptrace(PTRACE_CONT, pid, NULL, NULL);
		} else {
			ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(*status));
		}
		*status = 0;
	}
}

/* Poll until a signal, the workload's exit or --duration. 0, or -1 (said why). */
static int live_loop(struct live *l, struct klt_tracer *t, pid_t *child, int *child_status)
{
	struct timespec t0, now;
	int rc;

	/* tests only: a consumer that does not run at all until the command is done (the worst
	 * case of a loaded host; tests/live.t) */
	bool done = *child > 0 && getenv("KLT_TEST_WAIT_WORKLOAD_FIRST") &&
		    workload_wait(l, t, *child, child_status, 0);

	if (done)
		*child = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop_sig && !done) {
		rc = klt_tracer_poll(t, 100);
		if (rc < 0) {
			fprintf(stderr, "kvmlocktrace: %s\n", strerror(-rc));
			return -1;
		}
		if (l->w && klt_writer_flush(l->w)) {
			fprintf(stderr, "kvmlocktrace: %s: write failed\n", l->env->output);
			return -1;
		}
		if (*child > 0 && workload_wait(l, t, *child, child_status, WNOHANG)) {
			*child = 0;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (l->env->duration > 0 &&
		    (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 >= l->env->duration)
			break;
	}
	/* drain what is already in the ring buffer */
	while (klt_tracer_poll(t, 0) > 0)
		;
	return 0;
}

/* After the loop: counters into the trace and the file, the summary, the file closed. */
static int live_finish(struct live *l, struct klt_tracer *t, struct klt_counter *counters,
		       size_t *nc)
{
	struct klt_err err;
	int rc;

	*nc = klt_tracer_counters(t, counters, KLT_MAX_COUNTERS);
	for (size_t i = 0; i < *nc; i++) {
		klt_trace_add_counter(&l->trace, counters[i].name, counters[i].value);
		if (l->w)
			klt_writer_set_counter(l->w, counters[i].name, counters[i].value);
	}
	print_summary(l, t, counters, *nc);
	if (getenv("KLT_PROG_STATS"))
		klt_tracer_prog_stats(t, stderr);
	if (l->w) {
		rc = klt_writer_close(l->w, &err);
		l->w = NULL;
		if (rc) {
			fprintf(stderr, "kvmlocktrace: %s\n", err.msg);
			return -1;
		}
		fprintf(stderr, "kvmlocktrace: wrote %s\n", l->env->output);
	}
	return 0;
}

/* The exit status once the workload ran: 5 if it could not start; record only records (check
 * gives the verdict); live tracing gives it at once, "clean" only for a complete trace. */
static int live_exit_code(struct live *l, int efd, int child_status,
			  const struct klt_counter *counters, size_t nc)
{
	struct live_env *env = l->env;
	int exec_errno = 0;
	char why[256];

	/* exec's errno, or EOF (0 bytes) when the exec succeeded and closed the pipe */
	if (efd >= 0 && read(efd, &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
		exec_errno = 0;
	if (exec_errno) {
		fprintf(stderr, "kvmlocktrace: %s: could not start the workload: %s\n",
			env->cmd[0], strerror(exec_errno));
		return KLT_EXIT_WORKLOAD;
	}
	if (child_status && WIFEXITED(child_status))
		fprintf(stderr, "kvmlocktrace: %s exited with status %d\n", env->cmd[0],
			WEXITSTATUS(child_status));
	else if (child_status && WIFSIGNALED(child_status))
		fprintf(stderr, "kvmlocktrace: %s was killed by signal %d\n", env->cmd[0],
			WTERMSIG(child_status));
	if (env->record)
		return KLT_EXIT_CLEAN;

	enum klt_completeness c = klt_completeness(counters, nc, l->events,
						   l->trace.info.attach_mode, why, sizeof(why));

	if (c != KLT_COMPLETE && !lg_nfindings(l->eng))
		fprintf(stderr, "kvmlocktrace: no verdict: %s\n", why);
	return klt_verdict_exit(lg_nfindings(l->eng) > 0, c);
}

/* Load and attach, open the recording, say how we trace. 0 or the exit status (said why). */
static int live_start(struct live *l, const struct klt_tracer_opts *o,
		      const struct klt_tracer_cbs *cbs, struct klt_tracer **t, bool rules)
{
	struct live_env *env = l->env;
	struct klt_err err;
	char msg[512];
	int rc;

	rc = klt_tracer_start(o, cbs, t, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "kvmlocktrace: cannot trace: %s\n", msg);
		return rc == -EPERM || rc == -EACCES ? KLT_EXIT_PERM : KLT_EXIT_INPUT;
	}
	snprintf(l->trace.info.attach_mode, sizeof(l->trace.info.attach_mode), "%s",
		 env->user ? "uprobe" : klt_attach_name(klt_tracer_mode(*t)));
	if (env->record) {
		l->w = klt_writer_open(env->output, &l->trace.info, env->force ? KLT_W_FORCE : 0,
				       &err);
		if (!l->w) {
			fprintf(stderr, "kvmlocktrace: %s\n", err.msg);
			return KLT_EXIT_INPUT;
		}
	}
	if (klt_tracer_reason(*t)[0])
		fprintf(stderr, "kvmlocktrace: %s\n", klt_tracer_reason(*t));
	fprintf(stderr, "kvmlocktrace: tracing in %s mode (%s)%s; Ctrl-C to stop\n",
		l->trace.info.attach_mode, env->all ? "all mutexes/rwsems" :
		env->user ? "pthread locks" : "KVM/CPU-hotplug scope",
		rules ? "" : ", no rules");
	return 0;
}

/* The locks the rules want watched across suspend are watched in BPF too. */
static size_t live_watch(const struct klt_rules *rules, unsigned kver, const char **watch,
			 size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < rules->n && n < max; i++)
		if (rules->v[i].kind == KLT_RULE_WATCH_SUSPEND && klt_rule_applies(&rules->v[i], kver))
			watch[n++] = rules->v[i].outer;
	return n;
}

/* The engine that sees events as they come (findings printed at once unless --quiet). */
static int live_engine(struct live *l, unsigned kver)
{
	struct lg_config cfg = {
		.syms = l->trace.syms,
		.rules = l->rules.n ? &l->rules : NULL,
		.kernel_version = kver,
		.ignore_unbalanced = true, /* locks held before tracing began */
		.on_finding = l->env->quiet ? NULL : print_finding,
		.ctx = l,
	};

	l->eng = lg_new(&cfg);
	if (!l->eng)
		return -ENOMEM;
	l->view = (struct klt_view){ .eng = l->eng, .trace = &l->trace, .rules = cfg.rules,
				     .kernel_version = kver, .source = "live" };
	return 0;
}

/*
 * trace and record: rules, engine, the workload forked and held, the tracer started, the
 * workload let go, the loop, then the summary and the verdict. Every path detaches and reaps.
 */
static int run_live(struct live_env *env)
{
	struct live l = { .env = env };
	struct klt_tracer *t = NULL;
	struct klt_tracer_cbs cbs = { cb_sym, cb_stack, cb_event, &l };
	struct klt_tracer_opts o = {
		.attach = env->attach, .all = env->all, .full_events = env->full_events, .pid = env->pid, .user = env->user,
		.btf = env->btf, .symbols = env->symbols, .verbose = env->verbose,
	};
	struct klt_counter counters[KLT_MAX_COUNTERS];
	struct klt_err err;
	char rules_used[PATH_MAX];
	int go[2] = { -1, -1 }, efd[2] = { -1, -1 }, rc, exit_code = KLT_EXIT_INPUT;
	int child_status = 0;
	pid_t child = 0;
	size_t nc = 0;
	const char *watch[64];
	unsigned kver;
	struct utsname u;

	if (!klt_may_trace()) {
		fprintf(stderr, "kvmlocktrace: permission denied: tracing needs root or "
				"CAP_BPF+CAP_PERFMON (try sudo)\n");
		return KLT_EXIT_PERM;
	}
	klt_trace_init(&l.trace);
	if (!l.trace.syms)
		return KLT_EXIT_INPUT;
	uname(&u);
	live_info_init(&l.trace.info, &u);
	if (klt_cli_load_rules(env->rules_path, env->no_rules, &l.rules, rules_used,
			       sizeof(rules_used)))
		goto out;
	/* a target that is not there: nothing to trace, and no verdict (cli.h) */
	if (env->pid && kill(env->pid, 0) && errno == ESRCH) {
		fprintf(stderr, "kvmlocktrace: --pid %d: no such process\n", (int)env->pid);
		exit_code = KLT_EXIT_WORKLOAD;
		goto out;
	}
	kver = klt_kver_parse(u.release);
	o.watch = watch;
	o.nwatch = live_watch(&l.rules, kver, watch, sizeof(watch) / sizeof(watch[0]));
	if (live_engine(&l, kver))
		goto out;

	/* The traced command waits until the probes are attached. */
	if (env->cmd && env->cmd[0]) {
		if (workload_fork(env->cmd, go, efd, &child, env->user ? &l.ptraced : NULL))
			goto out;
		if (env->user && !o.pid)
			o.pid = child;
	}

	/* after the fork: the command keeps the normal policy */
	if (env->realtime) {
		struct sched_param sp = { .sched_priority = env->realtime };

		if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
			fprintf(stderr, "kvmlocktrace: --realtime %d: %s\n", env->realtime,
				strerror(errno));
			exit_code = KLT_EXIT_INPUT;
			goto out;
		}
	}
	/* Ctrl-C / SIGTERM during the (slow) load and attach must still detach and flush */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = live_start(&l, &o, &cbs, &t, rules_used[0] != '\0');
	if (rc) {
		exit_code = rc;
		goto out;
	}
	if (child > 0) {
		if (write(go[1], "g", 1) != 1)
			fprintf(stderr, "kvmlocktrace: cannot start %s\n", env->cmd[0]);
		close(go[1]);
		go[1] = -1;
	}
	if (live_loop(&l, t, &child, &child_status) || live_finish(&l, t, counters, &nc))
		goto out;
	exit_code = live_exit_code(&l, efd[0], child_status, counters, nc);
out:
	klt_tracer_stop(t); /* detach everything on every path */
	if (l.w)
		klt_writer_close(l.w, &err);
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]); /* a waiting child sees EOF and exits */
		if (efd[i] >= 0)
			close(efd[i]);
	}
	if (child > 0) {
		int st;

		kill(child, SIGTERM);
		workload_wait(&l, NULL, child, &st, 0); /* t is stopped: no snapshot */
	}
	lg_free(l.eng);
	klt_rules_free(&l.rules);
	klt_trace_free(&l.trace);
	return exit_code;
}

int klt_cmd_live(int argc, char **argv, bool record)
{
	static const char trace_doc[] =
		"Trace lock ordering live and print each finding as it is found."
		"\v"
		"Examples:\n"
		"  kvmlocktrace -d 60                 trace the KVM/CPU-hotplug scope for a minute\n"
		"  kvmlocktrace --all -- make -j2     every mutex/rwsem while a command runs\n"
		"  kvmlocktrace --user ./prog -- ./prog   pthread locks of a program\n"
		"Exit status: 0 clean, 1 findings, 2 error, 3 no permission.";
	static const char record_doc[] =
		"Record lock events to a trace file for report/check on any machine."
		"\v"
		"Examples:\n"
		"  kvmlocktrace record -o run.klt -d 30\n"
		"  kvmlocktrace record -o run.klt -- ./workload.sh\n"
		"  kvmlocktrace check run.klt --rules rules/kvm.rules\n"
		"Exit status: 0 recorded (findings are check's business), 2 error, 3 no permission.";
	struct live_env env = { .record = record };
	struct argp argp = { .options = live_opts, .parser = parse_live,
			     .args_doc = "[-- CMD [ARG...]]", .doc = record ? record_doc : trace_doc };

	if (argp_parse(&argp, argc, argv, 0, NULL, &env))
		return KLT_EXIT_INPUT;
	return run_live(&env);
}

static error_t parse_features(int key, char *arg, struct argp_state *state)
{
	bool *verbose = state->input;

	switch (key) {
	case 'v':
		*verbose = true;
		break;
	case ARGP_KEY_ARG:
		klt_usage_error(state, "unexpected argument '%s'", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int klt_cmd_features(int argc, char **argv)
{
	static const struct argp_option opts[] = {
		{ "verbose", 'v', NULL, 0, "Show libbpf's log of the probes on stderr", 0 },
		{ 0 },
	};
	struct argp argp = { .options = opts, .parser = parse_features,
			     .doc = "What this kernel allows and which attach mode auto would "
				    "choose." };
	bool verbose = false;
	struct klt_features f;
	struct klt_symtab *st = klt_symtab_new();
	const char *name;

	if (argp_parse(&argp, argc, argv, 0, NULL, &verbose)) {
		klt_symtab_free(st);
		return KLT_EXIT_INPUT;
	}
	if (!klt_may_trace()) {
		/* trial loads and attaches would all fail: every "no" would be a lie */
		fprintf(stderr, "kvmlocktrace: permission denied: probing the kernel's tracing "
				"features needs root or CAP_BPF+CAP_PERFMON (try sudo)\n");
		klt_symtab_free(st);
		return KLT_EXIT_PERM;
	}
	if (!st)
		return KLT_EXIT_INPUT;
	klt_tracer_set_verbose(verbose);
	klt_features_probe(&f);
	klt_kallsyms_load(st, "/proc/kallsyms", NULL);
	printf("kernel:       %s\n", f.kernel_release);
	printf("BTF:          %s\n", f.btf ? "yes (/sys/kernel/btf/vmlinux)" : "no");
	printf("fentry/fexit: %s", f.fentry ? "yes\n" : "no");
	if (!f.fentry && f.fentry_refused)
		printf(" (refused by this kernel: EPERM as root)\n");
	else if (!f.fentry)
		printf(f.btf ? " (trial load: %s)\n" : " (needs the kernel's BTF)\n",
		       strerror(-f.fentry_err));
	printf("kprobes:      %s\n", f.kprobe ? "yes" : "no (no kprobe PMU)");
	printf("tracepoints:  %s\n", f.tracepoints ? "yes (cpuhp, lock, power)" : "no");
	printf("uprobes:      %s\n", f.uprobe ? "yes" : "no");
	printf("ringbuf:      %s\n", f.ringbuf ? "yes" : "no");
	printf("lock names:   %s\n", f.kallsyms_data ? "kallsyms has data symbols" :
		"kallsyms has no data symbols (no CONFIG_KALLSYMS_ALL): vmlinux locks are named by "
		"call site");
	printf("auto mode:    %s\n", klt_attach_name(f.auto_mode));
	printf("KVM functions found:");
	for (size_t i = 0, n = 0; (name = klt_hook_kvm_function(i)); i++)
		if (klt_symtab_by_name(st, name, KLT_SYM_FUNC))
			printf("%s %s", n++ ? "," : "", name);
	printf("\nlock symbols found:");
	for (size_t i = 0, n = 0; (name = klt_watched_lock(i)); i++)
		if (klt_symtab_by_name(st, name, KLT_SYM_DATA))
			printf("%s %s", n++ ? "," : "", name);
	printf("\n");
	if (f.auto_mode == KLT_ATTACH_TRACEPOINT)
		printf("degraded:     lock acquisitions are not visible; hotplug callbacks, "
		       "contention and suspend phases are\n");
	klt_symtab_free(st);
	return KLT_EXIT_CLEAN;
}
