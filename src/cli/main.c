// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmlocktrace command line: report / check / convert / vmtest.
 * Exit codes are chosen only here: 0 clean, 1 findings (check), 2 usage or input error.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "lockgraph.h"
#include "render.h"
#include "rules.h"
#include "samples.h"
#include "stats.h"
#include "trace.h"
#include "traceio.h"

#ifndef KLT_DATADIR
#define KLT_DATADIR "/usr/local/share/kvmlocktrace"
#endif
#ifndef KLT_LIBEXECDIR
#define KLT_LIBEXECDIR "/usr/local/libexec/kvmlocktrace"
#endif

#define EXIT_CLEAN KLT_EXIT_CLEAN
#define EXIT_FINDINGS KLT_EXIT_FINDINGS
#define EXIT_INPUT KLT_EXIT_INPUT

enum fmt { FMT_TEXT, FMT_JSON, FMT_DOT, FMT_SVG, FMT_FOLDED, FMT_PERF_SCRIPT, FMT_PERF_DATA, FMT_CHROME };
/* --format names, indexed by enum fmt (the help text and the error list say the same) */
static const char *const fmt_names[] = {
	"text", "json", "dot", "svg", "folded", "perf-script", "perf-data", "chrome",
};

struct env {
	const char *cmd;
	const char *input;
	const char *output;
	enum fmt format;
	const char *rules_path;
	bool no_rules;
	const char *kernel;
	bool redact;
	bool force;
	bool instances;
	bool ignore_unbalanced;
	bool findings_only;
	const char *focus;
	const char *to; /* convert: "text" | "binary" */
	bool stats;	/* report --stats */
	bool format_set;
	int sort;	/* enum klt_stats_key */
	unsigned top;
	bool hist;
	int weight;	/* enum klt_weight */
	const char *lock_glob;
	const char *stats_only; /* --sort/--top/--hist given: the first, for the error */
	bool weight_set;
};

const char *argp_program_version = "kvmlocktrace " KLT_VERSION;
const char *argp_program_bug_address = "the project's issue tracker";

static const char top_doc[] =
	"kvmlocktrace -- lock-ordering tracer for Linux: lockdep-style reports of lock-order\n"
	"inversions (possible deadlocks), with knowledge of KVM / CPU-hotplug locks.\n"
	"\n"
	"Commands:\n"
	"  (none), trace   trace live; print each finding as it is found (see trace --help)\n"
	"  record -o FILE  record live to a trace file (see record --help)\n"
	"  features        what this kernel allows and which attach mode auto would choose\n"
	"  report FILE     analyse a recording (binary .klt or text) and print every finding\n"
	"  check FILE      like report, exit 1 if anything was found (for CI)\n"
	"  convert IN      convert a recording between the binary and the text form\n"
	"  vmtest          boot a kernel under QEMU, trace a workload, report (see vmtest --help)\n"
	"\n"
	"Run 'kvmlocktrace COMMAND --help' for a command's options."
	"\v"
	"Examples:\n"
	"  kvmlocktrace report examples/kvm-6.5-hotplug-inversion.klt\n"
	"  kvmlocktrace check run.klt --rules rules/kvm.rules --kernel 6.5\n"
	"  kvmlocktrace report run.klt --format dot -o graph.dot && dot -Tsvg graph.dot -o graph.svg\n"
	"  kvmlocktrace convert scenario.txt -o scenario.klt\n"
	"\n"
	"Exit status: 0 clean, 1 findings (check, live), 2 usage, input or attach error, 3 no\n"
	"permission (needs root or CAP_BPF+CAP_PERFMON).";

enum {
	OPT_REDACT = 1000,
	OPT_FORCE,
	OPT_NO_RULES,
	OPT_INSTANCES,
	OPT_FOCUS,
	OPT_TO,
	OPT_IGNORE_UNBALANCED,
	OPT_STATS,
	OPT_SORT,
	OPT_TOP,
	OPT_HIST,
	OPT_WEIGHT,
	OPT_LOCK,
	OPT_FINDINGS_ONLY,
};

static const struct argp_option analyse_opts[] = {
	{ "format", 'f', "FMT", 0, "Output format: text (default), json, dot, svg (dot run through "
				   "Graphviz), folded, perf-script, perf-data (needs -o), chrome", 0 },
	{ "output", 'o', "FILE", 0, "Write the report to FILE (created 0600, never overwritten "
				   "unless --force)", 0 },
	{ "rules", 'r', "FILE", 0, "Lock-order rules (default: the installed rules/kvm.rules)", 0 },
	{ "no-rules", OPT_NO_RULES, NULL, 0, "Check no documented-order rules", 0 },
	{ "kernel", 'k', "VERSION", 0, "Kernel version for version-scoped rules (default: the "
				      "recording's kernel release)", 0 },
	{ "redact", OPT_REDACT, NULL, 0, "Hide kernel addresses in the output", 0 },
	{ "force", OPT_FORCE, NULL, 0, "Overwrite an existing output file", 0 },
	{ "instances", OPT_INSTANCES, NULL, 0, "dot: draw lock instances instead of classes", 0 },
	{ "focus", OPT_FOCUS, "LOCK", 0, "dot: draw only the neighbourhood of LOCK", 0 },
	{ "findings-only", OPT_FINDINGS_ONLY, NULL, 0, "json: trace header, summary and findings "
						     "only (no graph, no statistics)", 0 },
	{ "ignore-unbalanced", OPT_IGNORE_UNBALANCED, NULL, 0,
	  "Count releases of locks not seen acquired instead of reporting them", 0 },
	{ "stats", OPT_STATS, NULL, 0, "Print lock-time statistics (acquisitions, contention, wait "
				       "and hold times per lock class and call site)", 1 },
	{ "sort", OPT_SORT, "KEY", 0, "stats: acq, contended, wait, hold (default), max-wait, "
				     "max-hold, avg-wait, avg-hold", 1 },
	{ "top", OPT_TOP, "N", 0, "stats: show the top N lock classes (default 20, 0 = all)", 1 },
	{ "hist", OPT_HIST, NULL, 0, "stats: log2 histograms of wait and hold times", 1 },
	{ "weight", OPT_WEIGHT, "W", 0, "folded, perf-script, perf-data: hold (default), wait or count", 1 },
	{ "lock", OPT_LOCK, "GLOB", 0, "folded, perf-script, perf-data, chrome: only lock classes "
				     "matching GLOB", 1 },
	{ 0 },
};

static const struct argp_option convert_opts[] = {
	{ "output", 'o', "FILE", 0, "Output file (text may go to stdout with -o -)", 0 },
	{ "to", OPT_TO, "FORM", 0, "text or binary (default: the other form of the input)", 0 },
	{ "force", OPT_FORCE, NULL, 0, "Overwrite an existing output file", 0 },
	{ 0 },
};

static error_t parse_analyse(int key, char *arg, struct argp_state *state)
{
	struct env *env = state->input;

	switch (key) {
	case 'f': {
		size_t i = 0;

		while (i < sizeof(fmt_names) / sizeof(fmt_names[0]) && strcmp(arg, fmt_names[i]))
			i++;
		if (i == sizeof(fmt_names) / sizeof(fmt_names[0]))
			klt_usage_error(state, "--format: unknown format '%s' (expected text, json, dot, "
					  "svg, folded, perf-script, perf-data, chrome)", arg);
		env->format = (enum fmt)i;
		env->format_set = true;
		break;
	}
	case OPT_STATS:
		env->stats = true;
		break;
	case OPT_SORT:
		env->stats_only = env->stats_only ?: "--sort";
		env->sort = klt_stats_key_from_name(arg);
		if (env->sort < 0)
			klt_usage_error(state, "--sort: unknown key '%s' (expected acq, contended, wait, "
					  "hold, max-wait, max-hold, avg-wait, avg-hold)", arg);
		break;
	case OPT_TOP: {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(arg, &end, 10);
		if (errno || *end || !*arg || arg[0] == '-' || n > 1000000)
			klt_usage_error(state, "--top: expected a whole number 0..1000000, got '%s'",
					arg);
		env->top = (unsigned)n;
		env->stats_only = env->stats_only ?: "--top";
		break;
	}
	case OPT_HIST:
		env->hist = true;
		env->stats_only = env->stats_only ?: "--hist";
		break;
	case OPT_WEIGHT:
		env->weight = klt_weight_from_name(arg);
		if (env->weight < 0)
			klt_usage_error(state, "--weight: expected hold, wait or count, got '%s'", arg);
		env->weight_set = true;
		break;
	case OPT_LOCK:
		env->lock_glob = arg;
		break;
	case 'o':
		env->output = arg;
		break;
	case 'r':
		env->rules_path = arg;
		break;
	case 'k':
		if (!klt_kver_parse(arg))
			klt_usage_error(state, "--kernel: cannot parse version '%s' (expected e.g. 6.12)",
				   arg);
		env->kernel = arg;
		break;
	case OPT_NO_RULES:
		env->no_rules = true;
		break;
	case OPT_REDACT:
		env->redact = true;
		break;
	case OPT_FORCE:
		env->force = true;
		break;
	case OPT_INSTANCES:
		env->instances = true;
		break;
	case OPT_FOCUS:
		env->focus = arg;
		break;
	case OPT_IGNORE_UNBALANCED:
		env->ignore_unbalanced = true;
		break;
	case OPT_FINDINGS_ONLY:
		env->findings_only = true;
		break;
	case OPT_TO:
		if (strcmp(arg, "text") && strcmp(arg, "binary"))
			klt_usage_error(state, "--to: expected text or binary, got '%s'", arg);
		env->to = arg;
		break;
	case ARGP_KEY_ARG:
		if (env->input)
			klt_usage_error(state, "unexpected argument '%s' (one input file only)", arg);
		env->input = arg;
		break;
	case ARGP_KEY_END:
		if (!env->input)
			klt_usage_error(state, "missing input FILE");
		if (env->rules_path && env->no_rules)
			klt_usage_error(state, "--rules and --no-rules exclude each other");
		if (env->focus && env->format != FMT_DOT && env->format != FMT_SVG)
			klt_usage_error(state, "--focus applies to --format dot and svg only");
		if (env->instances && env->format != FMT_DOT && env->format != FMT_SVG)
			klt_usage_error(state, "--instances applies to --format dot and svg only");
		if (env->stats_only && !env->stats)
			klt_usage_error(state, "%s needs --stats (it sorts, cuts or adds histograms to "
					  "the statistics table)", env->stats_only);
		/* the sample exports; chrome draws hold intervals, whatever the weight */
		if (env->weight_set && env->format != FMT_FOLDED &&
		    env->format != FMT_PERF_SCRIPT && env->format != FMT_PERF_DATA)
			klt_usage_error(state, "--weight applies to --format folded, perf-script and "
					  "perf-data only");
		if (env->lock_glob && env->format != FMT_FOLDED && env->format != FMT_PERF_SCRIPT &&
		    env->format != FMT_PERF_DATA && env->format != FMT_CHROME)
			klt_usage_error(state, "--lock applies to --format folded, perf-script, "
					  "perf-data and chrome only");
		if (env->findings_only && env->format != FMT_JSON)
			klt_usage_error(state, "--findings-only applies to --format json only (text "
					  "reports are findings and a summary already)");
		if (env->stats && env->format_set && env->format != FMT_TEXT)
			klt_usage_error(state, "--stats is a text table; JSON has the statistics under "
					  "\"stats\"");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

void klt_usage_error(const struct argp_state *state, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", state && state->name ? state->name : "kvmlocktrace");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(KLT_EXIT_INPUT);
}

/*
 * Read a rules file: at most KLT_RULES_MAX_BYTES, in bounded steps, refusing directories and
 * binary data (a NUL in the first 4 KiB, a known file signature) before reading further.
 * NUL-terminated for convenience. On error, prints one line and returns a negative errno.
 */
static int read_rules_file(const char *path, char **buf, size_t *len)
{
	size_t cap = KLT_RULES_MAX_BYTES + 2, n = 0;
	struct stat st;
	char *b = NULL;
	int fd, err = 0;
	bool sniffed = false;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kvmlocktrace: %s: is a directory, not a rules file\n", path);
		err = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < cap)
		cap = (size_t)st.st_size + 2;
	b = malloc(cap);
	if (!b) {
		err = -ENOMEM;
		fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path, strerror(-err));
		goto out;
	}
	for (;;) {
		size_t want = cap - 1 - n;
		ssize_t r;

		if (!sniffed && want > 4096 - n && n < 4096)
			want = 4096 - n; /* the first 4 KiB alone: refuse binary data early */
		if (!want) {
			char *nb;

			if (cap > KLT_RULES_MAX_BYTES) {
				fprintf(stderr, "kvmlocktrace: %s: larger than the %zu KiB limit of a "
						"rules file\n", path, (size_t)KLT_RULES_MAX_BYTES >> 10);
				err = -EFBIG;
				goto out;
			}
			/* the file grew since fstat: continue up to the limit */
			cap = KLT_RULES_MAX_BYTES + 2;
			nb = realloc(b, cap);
			if (!nb) {
				err = -ENOMEM;
				fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path,
					strerror(-err));
				goto out;
			}
			b = nb;
			continue;
		}
		r = read(fd, b + n, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			fprintf(stderr, "kvmlocktrace: %s: cannot read rules: %s\n", path,
				strerror(-err));
			goto out;
		}
		n += (size_t)r;
		if (!sniffed && (n >= 4096 || !r)) {
			size_t bad;
			const char *what = klt_sniff_not_text(b, n, &bad);

			sniffed = true;
			if (what && bad != SIZE_MAX) {
				fprintf(stderr, "kvmlocktrace: %s: offset %zu: not a rules file (%s)\n",
					path, bad, what);
				err = -EINVAL;
				goto out;
			} else if (what) {
				fprintf(stderr, "kvmlocktrace: %s: not a rules file (looks like %s)\n",
					path, what);
				err = -EINVAL;
				goto out;
			}
		}
		if (!r)
			break;
	}
	if (n > KLT_RULES_MAX_BYTES) {
		fprintf(stderr, "kvmlocktrace: %s: larger than the %zu KiB limit of a rules file\n",
			path, (size_t)KLT_RULES_MAX_BYTES >> 10);
		err = -EFBIG;
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
out:
	free(b);
	close(fd);
	return err;
}

/* Directory of this executable, for finding rules/ and tests/vm/ in a build tree. */
static int exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return 0;
}

/* First existing file among: $ENV/rel, <exe>/../rel (build tree), installed path. */
/*
 * First existing file among: $ENVVAR/rel, the build tree (<exe>/../rel, <exe>/../../rel), the
 * install tree relative to the binary (<exe>/../<reloc>, so DESTDIR or a moved prefix still
 * works), and the configured install path.
 */
static const char *find_data(const char *envvar, const char *rel, const char *reloc,
			     const char *installed, char *buf, size_t len)
{
	const char *e = getenv(envvar);
	char dir[PATH_MAX];

	if (e && *e)
		return snprintf(buf, len, "%s/%s", e, rel) < (int)len ? buf : NULL;
	if (!exe_dir(dir, sizeof(dir))) {
		const char *const cand[][2] = { { "/..", rel }, { "/../..", rel }, { "/..", reloc } };

		for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
			char real[PATH_MAX];

			if (snprintf(buf, len, "%s%s/%s", dir, cand[i][0], cand[i][1]) < (int)len &&
			    access(buf, R_OK) == 0) {
				/* reports name the file: no "build/../" in them */
				if (realpath(buf, real) && strlen(real) < len)
					memcpy(buf, real, strlen(real) + 1);
				return buf;
			}
		}
	}
	if (snprintf(buf, len, "%s", installed) >= (int)len)
		return NULL;
	return access(buf, R_OK) == 0 ? buf : NULL;
}

int klt_verdict_exit(bool findings, enum klt_completeness c)
{
	if (findings)
		return EXIT_FINDINGS;
	return c == KLT_COMPLETE ? EXIT_CLEAN : KLT_EXIT_INCOMPLETE;
}

int klt_cli_load_rules(const char *path, bool none, struct klt_rules *rules, char *used,
		       size_t usedlen)
{
	char pathbuf[PATH_MAX], err[512];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	used[0] = '\0';
	if (none)
		return 0;
	if (!path) {
		path = find_data("KLT_DATADIR", "rules/kvm.rules", "share/kvmlocktrace/rules/kvm.rules",
				 KLT_DATADIR "/rules/kvm.rules",
				 pathbuf, sizeof(pathbuf));
		if (!path) {
			fprintf(stderr, "kvmlocktrace: warning: no default rules file found "
					"(install kvmlocktrace or pass --rules FILE); checking no "
					"order rules\n");
			return 0;
		}
	}
	rc = read_rules_file(path, &buf, &len);
	if (rc)
		return rc;
	rc = klt_rules_parse(buf, len, path, rules, err, sizeof(err));
	free(buf);
	if (rc) {
		fprintf(stderr, "kvmlocktrace: %s\n", err);
		return rc;
	}
	snprintf(used, usedlen, "%s", path);
	return 0;
}

/* Graphviz's dot on PATH (for --format svg), into buf. */
static const char *find_dot(char *buf, size_t len)
{
	const char *path = getenv("PATH");

	for (const char *p = path && *path ? path : "/usr/bin:/bin"; p && *p;) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		if (n && snprintf(buf, len, "%.*s/dot", (int)n, p) < (int)len &&
		    access(buf, X_OK) == 0)
			return buf;
		p = c ? c + 1 : NULL;
	}
	return NULL;
}

static volatile pid_t svg_child;

/* SIGTERM/SIGINT while dot runs: take dot with us, then die of the signal as before */
static void svg_on_signal(int sig)
{
	if (svg_child > 0)
		kill(svg_child, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* DOT through `dot -Tsvg` into out: the renderer writes into dot's stdin. dot never outlives
 * us: it gets SIGTERM when we die (PR_SET_PDEATHSIG, even on SIGKILL) or are told to stop. */
static int render_svg(FILE *out, const char *dot, const struct klt_view *view,
		      const struct klt_dot_opts *dopts)
{
	int pfd[2], status, rc;
	pid_t pid, rc2, parent = getpid();
	FILE *w;

	if (fflush(out) || pipe(pfd))
		return -errno;
	signal(SIGTERM, svg_on_signal);
	signal(SIGINT, svg_on_signal);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(pfd[0]);
		close(pfd[1]);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		return rc;
	}
	if (pid == 0) {
		/* we may have died between fork and prctl: then getppid() is no longer us */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
			_exit(127);
		dup2(pfd[0], STDIN_FILENO);
		dup2(fileno(out), STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execl(dot, "dot", "-Tsvg", (char *)NULL);
		_exit(127);
	}
	svg_child = pid;
	close(pfd[0]);
	w = fdopen(pfd[1], "w");
	if (!w) {
		rc = -errno;
		close(pfd[1]);
	} else {
		rc = klt_render_dot(w, view, dopts);
		if (fclose(w) && !rc)
			rc = -EIO;
	}
	while ((rc2 = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	svg_child = 0;
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (rc2 < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "kvmlocktrace: %s -Tsvg failed (exit %d)\n", dot,
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return rc ?: -EPIPE;
	}
	return rc;
}

static int cmd_analyse(struct env *env)
{
	struct klt_stats stats = { 0 };
	bool have_stats = false;
	char dotbuf[PATH_MAX];
	const char *dot = NULL;
	struct klt_trace trace;
	struct klt_rules rules = { 0 };
	struct lg_engine *eng = NULL;
	struct klt_err err = { { 0 } };
	char rules_used[PATH_MAX], why[256];
	enum klt_completeness complete;
	struct klt_out o = { .fd = -1 };
	FILE *out = NULL;
	unsigned kver;
	int rc, exit_code = EXIT_INPUT;

	klt_trace_init(&trace);
	if (!trace.syms) {
		fprintf(stderr, "kvmlocktrace: out of memory\n");
		return EXIT_INPUT;
	}
	rc = klt_trace_load(env->input, &trace, &err);
	if (rc < 0) {
		fprintf(stderr, "kvmlocktrace: %s\n", err.msg);
		goto out;
	}
	if (rc == KLT_TRUNCATED) {
		/* Keep going: every complete chunk is analysed, but the exit code says so. */
		fprintf(stderr, "kvmlocktrace: warning: %s\n", err.msg);
	}
	if (klt_cli_load_rules(env->rules_path, env->no_rules, &rules, rules_used,
			       sizeof(rules_used)))
		goto out;

	kver = klt_kver_parse(env->kernel ? env->kernel : trace.info.kernel_release);
	if (!kver && rules.n)
		fprintf(stderr, "kvmlocktrace: warning: kernel version unknown (recording has "
				"none; pass --kernel): only unscoped rules apply\n");

	struct lg_config cfg = {
		.syms = trace.syms,
		.rules = rules.n ? &rules : NULL,
		.kernel_version = kver,
		.ignore_unbalanced = env->ignore_unbalanced,
	};
	eng = lg_new(&cfg);
	if (!eng) {
		fprintf(stderr, "kvmlocktrace: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < trace.nevents; i++) {
		rc = lg_feed(eng, &trace.events[i]);
		if (rc) {
			fprintf(stderr, "kvmlocktrace: %s: event %zu: %s\n", env->input, i,
				strerror(-rc));
			goto out;
		}
	}

	if (env->format == FMT_SVG) {
		dot = find_dot(dotbuf, sizeof(dotbuf));
		if (!dot) {
			fprintf(stderr, "kvmlocktrace: --format svg needs Graphviz's dot on PATH "
					"(apt-get install graphviz), or use --format dot\n");
			goto out;
		}
	}
	if (env->stats || (env->format == FMT_JSON && !env->findings_only) ||
	    env->format == FMT_FOLDED ||
	    env->format == FMT_PERF_SCRIPT || env->format == FMT_PERF_DATA ||
	    env->format == FMT_CHROME) {
		rc = klt_stats_build(&stats, eng, trace.events, trace.nevents);
		if (rc) {
			fprintf(stderr, "kvmlocktrace: statistics: %s\n", strerror(-rc));
			goto out;
		}
		have_stats = true;
	}

	if (env->focus) {
		/* before the output file exists: a name that matches nothing is a usage error */
		struct klt_view fv = { .eng = eng, .trace = &trace, .redact = env->redact };
		struct klt_dot_opts fo = { .classes = !env->instances, .focus = env->focus };

		rc = klt_render_dot_focus_check(&fv, &fo);
		if (rc) {
			if (rc == -ENOENT)
				fprintf(stderr, "kvmlocktrace: --focus: no lock or class named '%s' in "
						"%s\n", env->focus, env->input);
			else
				fprintf(stderr, "kvmlocktrace: --focus: %s\n", strerror(-rc));
			goto out;
		}
	}
	if (env->format == FMT_PERF_DATA) {
		/* a perf.data file is written by src/io/perfdata.c into the reserved temporary */
		if (env->output && strcmp(env->output, "-") &&
		    klt_out_reserve(&o, env->output, env->force))
			goto out;
	} else if (!(out = klt_out_open(&o, env->output, env->force))) {
		goto out;
	}
	struct klt_view view = {
		.eng = eng,
		.trace = &trace,
		.rules = rules.n ? &rules : NULL,
		.kernel_version = kver,
		.source = env->input,
		.redact = env->redact,
		.stats = have_stats ? &stats : NULL,
		.findings_only = env->findings_only,
	};
	struct klt_sample_opts sopts = { .weight = env->weight, .lock_glob = env->lock_glob };
	struct klt_dot_opts dopts = {
		.classes = !env->instances,
		.focus = env->focus,
		.radius = 1,
	};

	switch (env->format) {
	case FMT_TEXT:
		if (env->stats) {
			struct klt_stats_opts so = { .sort = (unsigned)env->sort, .top = env->top,
						     .stack_rows = 3, .hist = env->hist };

			rc = klt_render_stats(out, &view, &so);
		} else {
			rc = klt_render_text(out, &view);
		}
		break;
	case FMT_JSON:
		rc = klt_render_json(out, &view);
		break;
	case FMT_DOT:
		rc = klt_render_dot(out, &view, &dopts);
		break;
	case FMT_SVG:
		rc = render_svg(out, dot, &view, &dopts);
		break;
	case FMT_FOLDED:
		rc = klt_render_folded(out, &view, &sopts);
		break;
	case FMT_PERF_SCRIPT:
		rc = klt_render_perf_script(out, &view, &sopts);
		break;
	case FMT_CHROME:
		rc = klt_render_chrome(out, &view, &sopts);
		break;
	case FMT_PERF_DATA: {
		char pderr[512];

		rc = klt_render_perf_data(o.tmp[0] ? o.tmp : "-", true, &view, &sopts, pderr,
					  sizeof(pderr));
		if (rc) {
			klt_out_error(&o, pderr);
			goto out;
		}
		break;
	}
	}
	if (rc == -EIO && out && ferror(out)) {
		/* the stream lost a write: say which file and why (ENOSPC, EFBIG, ... as the failed
		 * write left it; a retried flush says the same or nothing) */
		int e = errno ? errno : EIO;

		if (out != stdout && fflush(out) && errno && errno != EIO)
			e = errno;

		fprintf(stderr, "kvmlocktrace: %s: write failed: %s\n",
			out == stdout ? "stdout" : env->output, strerror(e));
		goto out;
	}
	if (rc) {
		fprintf(stderr, "kvmlocktrace: rendering failed: %s\n", strerror(-rc));
		goto out;
	}
	if (klt_out_commit(&o))
		goto out;
	if (env->format == FMT_TEXT && !env->stats && rules_used[0] && out != stdout)
		fprintf(stderr, "kvmlocktrace: rules: %s\n", rules_used);

	/* a verdict only for a complete recording (cli.h KLT_EXIT_INCOMPLETE) */
	complete = klt_trace_completeness(&trace, why, sizeof(why));
	if (complete != KLT_COMPLETE)
		fprintf(stderr, "kvmlocktrace: %s: incomplete recording: %s\n", env->input, why);
	exit_code = klt_verdict_exit(!strcmp(env->cmd, "check") && lg_nfindings(eng) > 0, complete);
out:
	klt_out_abort(&o);
	klt_stats_free(&stats);
	lg_free(eng);
	klt_rules_free(&rules);
	klt_trace_free(&trace);
	return exit_code;
}

static int cmd_convert(struct env *env)
{
	struct klt_trace trace;
	struct klt_err err = { { 0 } };
	bool in_binary, to_text, truncated;
	struct klt_out o = { .fd = -1 };
	int rc, exit_code = EXIT_INPUT;
	char magic[8] = { 0 };
	FILE *f;

	f = fopen(env->input, "rb");
	if (!f) {
		fprintf(stderr, "kvmlocktrace: %s: %s\n", env->input, strerror(errno));
		return EXIT_INPUT;
	}
	in_binary = fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
		    !memcmp(magic, KLT_TRACE_MAGIC, sizeof(magic));
	fclose(f);
	to_text = env->to ? !strcmp(env->to, "text") : in_binary;

	klt_trace_init(&trace);
	if (!trace.syms) {
		fprintf(stderr, "kvmlocktrace: out of memory\n");
		return EXIT_INPUT;
	}
	rc = klt_trace_load(env->input, &trace, &err);
	if (rc < 0) {
		fprintf(stderr, "kvmlocktrace: %s\n", err.msg);
		goto out;
	}
	if (rc == KLT_TRUNCATED)
		fprintf(stderr, "kvmlocktrace: warning: %s\n", err.msg);
	truncated = rc == KLT_TRUNCATED;

	if (to_text) {
		FILE *out = klt_out_open(&o, env->output, env->force);

		if (!out)
			goto out;
		/* a truncated input keeps its mark: the counter KLT_COUNTER_TRUNCATED */
		rc = klt_text_write(out, &trace);
		if (rc) {
			fprintf(stderr, "kvmlocktrace: %s: write failed: %s\n",
				env->output ? env->output : "stdout", strerror(-rc));
			goto out;
		}
	} else {
		if (!env->output || !strcmp(env->output, "-")) {
			fprintf(stderr, "kvmlocktrace: convert: binary output needs -o FILE\n");
			goto out;
		}
		if (klt_out_reserve(&o, env->output, env->force))
			goto out;
		rc = klt_trace_write_file(o.tmp, &trace, KLT_W_FORCE, &err);
		if (rc) {
			klt_out_error(&o, err.msg);
			goto out;
		}
	}
	if (klt_out_commit(&o))
		goto out;
	exit_code = truncated ? KLT_EXIT_INCOMPLETE : EXIT_CLEAN;
out:
	klt_out_abort(&o);
	klt_trace_free(&trace);
	return exit_code;
}

/* vmtest is the VM harness script (tests/vm/vmtest.sh), run with this binary as the tracer. */
static int cmd_vmtest(int argc, char **argv)
{
	char script[PATH_MAX], self[PATH_MAX];
	ssize_t n;
	char **args;

	if (!find_data("KLT_VM_DIR", "tests/vm/vmtest.sh", "libexec/kvmlocktrace/vm/vmtest.sh",
		       KLT_LIBEXECDIR "/vm/vmtest.sh", script,
		       sizeof(script)) || access(script, R_OK)) {
		fprintf(stderr, "kvmlocktrace: vmtest: harness script not found (looked for "
				"tests/vm/vmtest.sh beside the build and in %s/vm)\n",
			KLT_LIBEXECDIR);
		return EXIT_INPUT;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		setenv("KLT_BIN", self, 0);
	}
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args)
		return EXIT_INPUT;
	args[0] = "bash";
	args[1] = script;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	execvp("bash", args);
	fprintf(stderr, "kvmlocktrace: vmtest: cannot run bash: %s\n", strerror(errno));
	free(args);
	return EXIT_INPUT;
}

static int usage_top(FILE *f)
{
	fprintf(f, "Usage: kvmlocktrace COMMAND [OPTION...] ARGS\n\n%s\n", top_doc);
	return 0;
}

int main(int argc, char **argv)
{
	struct env env = { .format = FMT_TEXT, .sort = KLT_SORT_HOLD, .top = 20 };
	const char *cmd = argc > 1 ? argv[1] : NULL;

	argp_err_exit_status = EXIT_INPUT;
	/* no command, or an option first: live tracing */
	if (!cmd || cmd[0] == '-') {
		if (cmd && (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "-?") ||
			    !strcmp(cmd, "--usage") || !strcmp(cmd, "--version") ||
			    !strcmp(cmd, "-V")))
			goto top_options;
		return klt_cmd_live(argc, argv, false);
	}
top_options:
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "-?") ||
	    !strcmp(cmd, "help")) {
		usage_top(stdout);
		return EXIT_CLEAN;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("%s\n", argp_program_version);
		return EXIT_CLEAN;
	}
	argp_err_exit_status = EXIT_INPUT; /* usage errors exit 2, not EX_USAGE */
	env.cmd = cmd;
	argv[1] = NULL; /* argp shows "kvmlocktrace COMMAND" via argv[0] below */

	if (!strcmp(cmd, "report") || !strcmp(cmd, "check")) {
		static const char report_doc[] =
			"Analyse a recording (binary or text, detected) and print every finding."
			"\v"
			"Examples:\n"
			"  kvmlocktrace report run.klt\n"
			"  kvmlocktrace report scenario.txt --format json -o findings.json\n"
			"  kvmlocktrace report run.klt --format dot --focus kvm_lock | dot -Tsvg > g.svg";
		static const char check_doc[] =
			"Analyse a recording and exit 1 if there is any finding (for CI)."
			"\v"
			"Examples:\n"
			"  kvmlocktrace check run.klt --rules rules/kvm.rules\n"
			"  kvmlocktrace check run.txt --kernel 6.12\n"
			"Exit status: 0 clean, 1 findings, 2 usage or input error.";
		struct argp argp = { .options = analyse_opts, .parser = parse_analyse,
				     .args_doc = "FILE",
				     .doc = !strcmp(cmd, "check") ? check_doc : report_doc };
		char name[64];

		snprintf(name, sizeof(name), "kvmlocktrace %s", cmd);
		argv[1] = name;
		if (argp_parse(&argp, argc - 1, argv + 1, 0, NULL, &env))
			return EXIT_INPUT;
		return cmd_analyse(&env);
	}
	if (!strcmp(cmd, "convert")) {
		static const char doc[] =
			"Convert a recording between the binary trace file and the text form."
			"\v"
			"Examples:\n"
			"  kvmlocktrace convert run.klt -o run.txt\n"
			"  kvmlocktrace convert scenario.txt -o scenario.klt";
		struct argp argp = { .options = convert_opts, .parser = parse_analyse,
				     .args_doc = "IN", .doc = doc };
		char name[] = "kvmlocktrace convert";

		argv[1] = name;
		if (argp_parse(&argp, argc - 1, argv + 1, 0, NULL, &env))
			return EXIT_INPUT;
		return cmd_convert(&env);
	}
	if (!strcmp(cmd, "vmtest"))
		return cmd_vmtest(argc - 1, argv + 1);
	if (!strcmp(cmd, "record")) {
		char name[] = "kvmlocktrace record";

		argv[1] = name;
		return klt_cmd_live(argc - 1, argv + 1, true);
	}
	if (!strcmp(cmd, "features")) {
		char name[] = "kvmlocktrace features";

		argv[1] = name;
		return klt_cmd_features(argc - 1, argv + 1);
	}
	if (!strcmp(cmd, "trace")) {
		char name[] = "kvmlocktrace trace";

		argv[1] = name;
		return klt_cmd_live(argc - 1, argv + 1, false);
	}

	fprintf(stderr, "kvmlocktrace: unknown command '%s' (try --help)\n", cmd);
	return EXIT_INPUT;
}
