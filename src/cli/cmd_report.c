// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The commands on a recording: report, check (report with a CI verdict) and convert. They share
 * one option parser; exit codes are those of cli.h.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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
				     "matching GLOB (* and ?, as in rules)", 1 },
	{ 0 },
};

static const struct argp_option convert_opts[] = {
	{ "output", 'o', "FILE", 0, "Output file (text may go to stdout with -o -)", 0 },
	{ "to", OPT_TO, "FORM", 0, "text or binary (default: the other form of the input)", 0 },
	{ "force", OPT_FORCE, NULL, 0, "Overwrite an existing output file", 0 },
	{ 0 },
};

/* Options that contradict each other or the format: one usage line, exit 2. */
static void check_analyse_opts(const struct argp_state *state, const struct env *env)
{
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
}

/* --top N: a whole number 0..1000000 */
static unsigned parse_top(const struct argp_state *state, const char *arg)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || *end || !*arg || arg[0] == '-' || n > 1000000)
		klt_usage_error(state, "--top: expected a whole number 0..1000000, got '%s'", arg);
	return (unsigned)n;
}

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
	case OPT_TOP:
		env->top = parse_top(state, arg);
		env->stats_only = env->stats_only ?: "--top";
		break;
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
		check_analyse_opts(state, env);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
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

/* Load the recording and the rules; the kernel version the rules are scoped by. */
static int analyse_load(const struct env *env, struct klt_trace *trace, struct klt_rules *rules,
			char *rules_used, size_t ulen, unsigned *kver)
{
	struct klt_err err = { { 0 } };
	int rc;

	rc = klt_trace_load(env->input, trace, &err);
	if (rc < 0) {
		fprintf(stderr, "kvmlocktrace: %s\n", err.msg);
		return rc;
	}
	if (rc == KLT_TRUNCATED) {
		/* Keep going: every complete chunk is analysed, but the exit code says so. */
		fprintf(stderr, "kvmlocktrace: warning: %s\n", err.msg);
	}
	if (klt_cli_load_rules(env->rules_path, env->no_rules, rules, rules_used, ulen))
		return -EINVAL;
	*kver = klt_kver_parse(env->kernel ? env->kernel : trace->info.kernel_release);
	if (!*kver && rules->n)
		fprintf(stderr, "kvmlocktrace: warning: kernel version unknown (recording has "
				"none; pass --kernel): only unscoped rules apply\n");
	return 0;
}

/* Every event through the engine. */
static int analyse_feed(const struct env *env, const struct klt_trace *trace,
			struct lg_engine *eng)
{
	for (size_t i = 0; i < trace->nevents; i++) {
		int rc = lg_feed(eng, &trace->events[i]);

		if (rc) {
			fprintf(stderr, "kvmlocktrace: %s: event %zu: %s\n", env->input, i,
				strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Do the output and the options need the lock-time statistics? */
static bool analyse_wants_stats(const struct env *env)
{
	return env->stats || (env->format == FMT_JSON && !env->findings_only) ||
	       env->format == FMT_FOLDED || env->format == FMT_PERF_SCRIPT ||
	       env->format == FMT_PERF_DATA || env->format == FMT_CHROME;
}

/* --focus names something in the recording (checked before the output file exists: a name
 * that matches nothing is a usage error). */
static int analyse_check_focus(const struct env *env, struct lg_engine *eng,
			       struct klt_trace *trace)
{
	struct klt_view fv = { .eng = eng, .trace = trace, .redact = env->redact };
	struct klt_dot_opts fo = { .classes = !env->instances, .focus = env->focus };
	int rc = klt_render_dot_focus_check(&fv, &fo);

	if (rc == -ENOENT)
		fprintf(stderr, "kvmlocktrace: --focus: no lock or class named '%s' in %s\n",
			env->focus, env->input);
	else if (rc)
		fprintf(stderr, "kvmlocktrace: --focus: %s\n", strerror(-rc));
	return rc;
}

/* The report in the chosen format, into out (or, for perf.data, into o's temporary). */
static int analyse_render(const struct env *env, struct klt_out *o, FILE *out,
			  const struct klt_view *view, const char *dot)
{
	struct klt_sample_opts sopts = { .weight = env->weight, .lock_glob = env->lock_glob };
	struct klt_dot_opts dopts = { .classes = !env->instances, .focus = env->focus, .radius = 1 };

	switch (env->format) {
	case FMT_TEXT:
		if (env->stats) {
			struct klt_stats_opts so = { .sort = (unsigned)env->sort, .top = env->top,
						     .stack_rows = 3, .hist = env->hist };

			return klt_render_stats(out, view, &so);
		}
		return klt_render_text(out, view);
	case FMT_JSON:
		return klt_render_json(out, view);
	case FMT_DOT:
		return klt_render_dot(out, view, &dopts);
	case FMT_SVG:
		return render_svg(out, dot, view, &dopts);
	case FMT_FOLDED:
		return klt_render_folded(out, view, &sopts);
	case FMT_PERF_SCRIPT:
		return klt_render_perf_script(out, view, &sopts);
	case FMT_CHROME:
		return klt_render_chrome(out, view, &sopts);
	case FMT_PERF_DATA: {
		char pderr[512];
		int rc = klt_render_perf_data(o->tmp[0] ? o->tmp : "-", true, view, &sopts, pderr,
					      sizeof(pderr));

		if (rc) {
			klt_out_error(o, pderr);
			return -ECANCELED; /* said already */
		}
		return 0;
	}
	}
	return -EINVAL;
}

/* One line for a failed render: which file lost a write and why, or what failed. */
static void analyse_render_error(const struct env *env, FILE *out, int rc)
{
	if (rc == -ECANCELED)
		return;
	if (rc == -EIO && out && ferror(out)) {
		/* the stream lost a write: say which file and why (ENOSPC, EFBIG, ... as the failed
		 * write left it; a retried flush says the same or nothing) */
		int e = errno ? errno : EIO;

		if (out != stdout && fflush(out) && errno && errno != EIO)
			e = errno;
		fprintf(stderr, "kvmlocktrace: %s: write failed: %s\n",
			out == stdout ? "stdout" : env->output, strerror(e));
		return;
	}
	fprintf(stderr, "kvmlocktrace: rendering failed: %s\n", strerror(-rc));
}

/* report and check: load, feed the engine, render, then the verdict (cli.h). */
static int cmd_analyse(struct env *env)
{
	struct klt_stats stats = { 0 };
	char dotbuf[PATH_MAX], rules_used[PATH_MAX], why[256];
	const char *dot = NULL;
	struct klt_trace trace;
	struct klt_rules rules = { 0 };
	struct lg_engine *eng = NULL;
	enum klt_completeness complete;
	struct klt_out o = { .fd = -1 };
	FILE *out = NULL;
	unsigned kver = 0;
	int rc, exit_code = KLT_EXIT_INPUT;

	klt_trace_init(&trace);
	if (!trace.syms) {
		fprintf(stderr, "kvmlocktrace: out of memory\n");
		return KLT_EXIT_INPUT;
	}
	if (analyse_load(env, &trace, &rules, rules_used, sizeof(rules_used), &kver))
		goto out;
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
	if (analyse_feed(env, &trace, eng))
		goto out;
	if (env->format == FMT_SVG) {
		dot = find_dot(dotbuf, sizeof(dotbuf));
		if (!dot) {
			fprintf(stderr, "kvmlocktrace: --format svg needs Graphviz's dot on PATH "
					"(apt-get install graphviz), or use --format dot\n");
			goto out;
		}
	}
	if (analyse_wants_stats(env)) {
		rc = klt_stats_build(&stats, eng, trace.events, trace.nevents);
		if (rc) {
			fprintf(stderr, "kvmlocktrace: statistics: %s\n", strerror(-rc));
			goto out;
		}
	}
	if (env->focus && analyse_check_focus(env, eng, &trace))
		goto out;
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
		.stats = analyse_wants_stats(env) ? &stats : NULL,
		.findings_only = env->findings_only,
	};
	rc = analyse_render(env, &o, out, &view, dot);
	if (rc) {
		analyse_render_error(env, out, rc);
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
	int rc, exit_code = KLT_EXIT_INPUT;
	char magic[8] = { 0 };
	FILE *f;

	f = fopen(env->input, "rb");
	if (!f) {
		fprintf(stderr, "kvmlocktrace: %s: %s\n", env->input, strerror(errno));
		return KLT_EXIT_INPUT;
	}
	in_binary = fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
		    !memcmp(magic, KLT_TRACE_MAGIC, sizeof(magic));
	fclose(f);
	to_text = env->to ? !strcmp(env->to, "text") : in_binary;

	klt_trace_init(&trace);
	if (!trace.syms) {
		fprintf(stderr, "kvmlocktrace: out of memory\n");
		return KLT_EXIT_INPUT;
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
	exit_code = truncated ? KLT_EXIT_INCOMPLETE : KLT_EXIT_CLEAN;
out:
	klt_out_abort(&o);
	klt_trace_free(&trace);
	return exit_code;
}

static int parse_cmd(struct argp *argp, int argc, char **argv, struct env *env)
{
	argp_err_exit_status = KLT_EXIT_INPUT; /* usage errors exit 2, not EX_USAGE */
	return argp_parse(argp, argc, argv, 0, NULL, env) ? KLT_EXIT_INPUT : 0;
}

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

static int report_or_check(int argc, char **argv, const char *cmd, const char *doc)
{
	struct env env = { .cmd = cmd, .format = FMT_TEXT, .sort = KLT_SORT_HOLD, .top = 20 };
	struct argp argp = { .options = analyse_opts, .parser = parse_analyse, .args_doc = "FILE",
			     .doc = doc };

	if (parse_cmd(&argp, argc, argv, &env))
		return KLT_EXIT_INPUT;
	return cmd_analyse(&env);
}

int klt_cmd_report(int argc, char **argv)
{
	return report_or_check(argc, argv, "report", report_doc);
}

int klt_cmd_check(int argc, char **argv)
{
	return report_or_check(argc, argv, "check", check_doc);
}

int klt_cmd_convert(int argc, char **argv)
{
	static const char doc[] =
		"Convert a recording between the binary trace file and the text form."
		"\v"
		"Examples:\n"
		"  kvmlocktrace convert run.klt -o run.txt\n"
		"  kvmlocktrace convert scenario.txt -o scenario.klt";
	struct env env = { .cmd = "convert", .format = FMT_TEXT, .sort = KLT_SORT_HOLD, .top = 20 };
	struct argp argp = { .options = convert_opts, .parser = parse_analyse, .args_doc = "IN",
			     .doc = doc };

	if (parse_cmd(&argp, argc, argv, &env))
		return KLT_EXIT_INPUT;
	return cmd_convert(&env);
}
