/* iam-access-key-rotator: the command line and the daemon's event loop.
 * Process state lives here (signals, sd_notify, the schedule timer); every
 * piece of the real work is in lib/. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <uv.h>

#include "daemon/notify.h"
#include "daemon/scheduler.h"
#include "lib/base/clock.h"
#include "lib/rotation/aws_env.h"
#include "lib/rotation/config.h"
#include "lib/base/error.h"
#include "lib/base/log.h"
#include "lib/rotation/report.h"
#include "lib/rotation/statelog.h"
#include "lib/rotation/sweep.h"
#include "lib/base/timeutil.h"

#define EXIT_FAILURES 1
#define EXIT_CANNOT_RUN 2
/* The schedule timer wakes at least this often to re-read the wall clock, so
 * that a clock step or a suspend cannot make it miss the time by much. */
#define MAX_TIMER_SLICE_MS (10 * 60 * 1000)

static const char *arg_config = AKR_CONFIG_DEFAULT_PATH;
static bool arg_check_config, arg_once, arg_dry_run, arg_verbose;
static const char *arg_now, *arg_report;
static const char *arg_credentials_directory;

/* Where the unit's LoadCredential= reads the base keys from. */
#define CREDENTIALS_DEFAULT_DIR "/etc/iam-access-key-rotator/credentials"

struct daemon {
	uv_loop_t *loop;
	struct akr_config *config;       /* in force */
	struct akr_aws_env *env;         /* of @config, a reference; NULL: not resolved */
	struct akr_config *sweep_config; /* the config the running sweep started with */
	struct akr_statelog *statelog;
	struct akr_clock clock;
	struct akr_sweep *sweep;
	uv_timer_t timer, watchdog;
	uv_signal_t sighup, sigterm, sigint;
	int64_t next_run_sec;
	bool stopping, daemon_mode, ready;
	int exit_code;
	char last_result[256];
};

static void help(void)
{
	printf("Usage: iam-access-key-rotator [OPTION]...\n"
	       "Keep the IAM access keys of every account of an AWS Organization fresh.\n\n"
	       "  -c, --config FILE   configuration file (default " AKR_CONFIG_DEFAULT_PATH ")\n"
	       "      --check-config  validate the configuration, print the effective settings\n"
	       "      --once          run one full sweep now, then exit\n"
	       "      --dry-run       run one read-only sweep and print the plan; change nothing\n"
	       "                      (the state directory included)\n"
	       "      --report FILE   with --dry-run or --once: also write the JSON report to\n"
	       "                      FILE ('-': to standard output instead of the plan)\n"
	       "      --credentials-directory DIR\n"
	       "                      read the base keys from DIR (files aws_access_key_id,\n"
	       "                      aws_secret_access_key) as the unit does; as root the\n"
	       "                      default is " CREDENTIALS_DEFAULT_DIR "\n"
	       "      --now TIME      act as if the time were TIME (ISO 8601 UTC, e.g.\n"
	       "                      2026-12-01T13:00:00Z): what-if plans and tests\n"
	       "  -v, --verbose       log debug messages\n"
	       "  -h, --help          show this help\n"
	       "      --version       show the version\n\n"
	       "Without --once, --dry-run or --check-config it runs as a daemon: a sweep\n"
	       "every day at the configured UTC time, SIGHUP reloads the configuration,\n"
	       "SIGTERM stops after rolling back unfinished work.\n\n"
	       "Exit status: 0 success; 1 failures were reported (or, with --check-config,\n"
	       "the configuration is invalid); 2 it could not run at all.\n"
	       "See iam-access-key-rotator(8) and rotator.conf(5).\n");
}

/* New secret keys and zip passwords pass through this process's memory: no
 * core dump may write them to disk, and no other process of the same user
 * may read them through ptrace or /proc/PID/mem. (LeakSanitizer needs ptrace
 * on itself, so sanitizer builds keep the process dumpable.) */
static void protect_memory(void)
{
	struct rlimit none = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &none);
#ifndef __SANITIZE_ADDRESS__
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

/* Signals as the daemon expects them, whatever started it: a shell without
 * job control starts a background job with SIGINT and SIGQUIT ignored, and a
 * parent may leave signals blocked. Ignored SIGQUIT and a blocked SIGTERM
 * would make the daemon deaf to them for its whole life: every signal is
 * unblocked, and SIGQUIT (the only one whose default action it relies on
 * and does not handle) is back to its default. */
static void reset_signals(void)
{
	sigset_t none;

	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGQUIT, SIG_DFL);
}

/* The libraries' global state, set up once before the state directory is
 * locked: libcurl, and OpenSSL's random generator and digests, which would
 * otherwise be set up lazily in the middle of a sweep, where OpenSSL 3 does
 * not survive an allocation failure (it goes on with a NULL lock). */
static int init_libraries(void)
{
	unsigned char probe[EVP_MAX_MD_SIZE];
	unsigned int len;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return akr_log_error_errno(-ENOMEM, "Cannot initialise libcurl");
	if (OPENSSL_init_crypto(OPENSSL_INIT_ADD_ALL_DIGESTS | OPENSSL_INIT_ADD_ALL_CIPHERS, NULL) != 1 ||
	    RAND_bytes(probe, 1) != 1 || EVP_Digest("", 0, probe, &len, EVP_sha256(), NULL) != 1)
		return akr_log_error_errno(-ENOMEM, "Cannot initialise OpenSSL");
	return 0;
}

static int parse_argv(int argc, char **argv)
{
	enum { OPT_VERSION = 0x100, OPT_CHECK, OPT_ONCE, OPT_DRY, OPT_NOW, OPT_REPORT, OPT_CREDS };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "credentials-directory", required_argument, NULL, OPT_CREDS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			arg_config = optarg;
			break;
		case 'h':
			help();
			return 0;
		case OPT_VERSION:
			printf("iam-access-key-rotator %s\n", AKR_VERSION);
			return 0;
		case OPT_CHECK:
			arg_check_config = true;
			break;
		case OPT_ONCE:
			arg_once = true;
			break;
		case OPT_DRY:
			arg_dry_run = true;
			break;
		case OPT_NOW:
			arg_now = optarg;
			break;
		case OPT_REPORT:
			if (!optarg[0]) {
				fprintf(stderr, "iam-access-key-rotator: --report needs a file name "
						"('-' for standard output)\n");
				return -EINVAL;
			}
			arg_report = optarg;
			break;
		case OPT_CREDS:
			arg_credentials_directory = optarg;
			break;
		case 'v':
			arg_verbose = true;
			break;
		default:
			fprintf(stderr, "Try 'iam-access-key-rotator --help'.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iam-access-key-rotator: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (arg_check_config + arg_once + arg_dry_run > 1) {
		fprintf(stderr, "iam-access-key-rotator: --check-config, --once and --dry-run "
				"exclude each other\n");
		return -EINVAL;
	}
	if (arg_report && !arg_once && !arg_dry_run) {
		fprintf(stderr, "iam-access-key-rotator: --report goes with --dry-run or --once\n");
		return -EINVAL;
	}
	return 1;
}

/* The base keys the unit gets: --credentials-directory, else
 * $CREDENTIALS_DIRECTORY (set by systemd), else, for root (an operator's
 * --dry-run or --once), the directory the unit's LoadCredential= reads, when
 * it exists. The credential chain reads $CREDENTIALS_DIRECTORY. */
static int setup_credentials_directory(void)
{
	const char *dir = arg_credentials_directory;
	struct stat st;

	if (!dir) {
		if (getenv("CREDENTIALS_DIRECTORY") || geteuid() != 0 ||
		    stat(CREDENTIALS_DEFAULT_DIR, &st) < 0 || !S_ISDIR(st.st_mode))
			return 0;
		dir = CREDENTIALS_DEFAULT_DIR;
	} else if (stat(dir, &st) < 0) {
		return akr_log_error_errno(-errno, "--credentials-directory '%s': %m", dir);
	} else if (!S_ISDIR(st.st_mode)) {
		akr_log_error("--credentials-directory '%s': not a directory", dir);
		return -ENOTDIR;
	}
	if (setenv("CREDENTIALS_DIRECTORY", dir, 1) < 0)
		return akr_log_error_errno(-errno, "Cannot set $CREDENTIALS_DIRECTORY: %m");
	akr_log_debug("Base credentials may come from '%s'", dir);
	return 0;
}

static int load_config(const char *path, bool strict, struct akr_config **ret)
{
	struct akr_error err = { 0 };
	int r;

	r = akr_config_load(path, ret, &err);
	if (r < 0) {
		struct akr_log_fields f = { .message_id = AKR_MID_CONFIG_INVALID };
		if (err.message[0])
			return akr_log_full(LOG_ERR, r, &f, "Invalid configuration: %s", err.message);
		return akr_log_full(LOG_ERR, r, &f, "Cannot load configuration '%s': %s", path,
				    strerror(-r));
	}
	/* The region and the endpoints are resolved once per load: every sweep
	 * of this configuration runs in the same AWS environment. A daemon
	 * started with a bad one still runs (each sweep then fails to start,
	 * loudly, and the schedule goes on); --check-config and a reload (which
	 * keeps the configuration in force) refuse it. */
	r = akr_config_resolve_aws(*ret, &err);
	if (r == -ENOMEM) {
		*ret = akr_config_free(*ret);
		return akr_log_error_errno(r, "Cannot resolve the AWS environment: %m");
	}
	if (r < 0) {
		akr_log_full(LOG_ERR, r, AKR_FIELDS(.message_id = AKR_MID_CONFIG_INVALID),
			     "Bad AWS region or endpoint configuration: %s; no sweep can run",
			     err.message[0] ? err.message : strerror(-r));
		if (strict) {
			*ret = akr_config_free(*ret);
			return r;
		}
	}
	return 0;
}

/* The AWS environment of a loaded configuration (lib/rotation/aws_env.h):
 * built once per load, handed to every sweep of it. A configuration whose
 * region or endpoints could not be resolved gets none (each sweep then
 * fails to start, loudly, as load_config() said). */
static int make_env(uv_loop_t *loop, const struct akr_config *cfg, struct akr_aws_env **ret)
{
	struct akr_error err = { 0 };
	char detail[768];
	int r;

	*ret = NULL;
	if (!cfg->aws_env.resolved)
		return 0;
	r = akr_aws_env_new(loop, cfg, NULL, ret, &err);
	if (r < 0)
		return akr_log_error_errno(r, "Cannot set up the AWS environment: %s",
					   akr_error_describe_errno(&err, r, detail, sizeof(detail)));
	return 0;
}

static int mkdir_p(const char *dir)
{
	char path[4096];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -EINVAL;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The state directory holds the reports (names, addresses, key ids) and the
 * state log: 0700, whoever created it and whatever the umask was then. */
static int tighten_state_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_mode & 07777) == 0700)
		return 0;
	if (chmod(dir, 0700) < 0)
		return -errno;
	akr_log_notice("State directory '%s' had mode %04o; it is now 0700", dir,
		       (unsigned)(st.st_mode & 07777));
	return 0;
}

static int open_state(struct daemon *d, bool read_only)
{
	struct akr_error err = { 0 };
	char detail[768];
	struct stat st;
	int r;

	/* A dry run leaves no trace: it reads the state log if there is one
	 * (to plan as the real sweep would) but creates nothing. */
	if (read_only && stat(d->config->state_directory, &st) < 0 && errno == ENOENT) {
		akr_log_debug("No state directory '%s' yet; planning without a state log",
			      d->config->state_directory);
		return 0;
	}
	r = read_only ? 0 : mkdir_p(d->config->state_directory);
	if (r < 0)
		return akr_log_error_errno(r, "Cannot create the state directory '%s': %m",
					   d->config->state_directory);
	r = tighten_state_dir(d->config->state_directory);
	if (r < 0)
		return akr_log_error_errno(r, "Cannot make the state directory '%s' mode 0700: %m",
					   d->config->state_directory);
	r = akr_statelog_open(d->config->state_directory, read_only, &d->statelog, &err);
	if (r < 0)
		return akr_log_error_errno(r, "Cannot open the state log in '%s': %s",
					   d->config->state_directory,
					   akr_error_describe_errno(&err, r, detail, sizeof(detail)));
	return 0;
}

static void schedule_next(struct daemon *d);

static void close_all(struct daemon *d)
{
	uv_handle_t *handles[] = {
		(uv_handle_t *)&d->timer,  (uv_handle_t *)&d->watchdog,
		(uv_handle_t *)&d->sighup, (uv_handle_t *)&d->sigterm,
		(uv_handle_t *)&d->sigint,
	};

	for (size_t i = 0; i < ELEMENTSOF(handles); i++)
		if (handles[i]->loop && !uv_is_closing(handles[i]))
			uv_close(handles[i], NULL);
	/* The engine's handles close too (a sweep still running holds its
	 * own reference until it is freed). */
	d->env = akr_aws_env_unref(d->env);
}

static void update_status(struct daemon *d)
{
	char next[32];

	if (d->sweep)
		return;
	if (d->next_run_sec)
		notify_status("Next sweep %s UTC; %s", akr_time_format_iso8601(d->next_run_sec, next, sizeof(next)),
			      d->last_result[0] ? d->last_result : "no sweep run yet");
	else
		notify_status("%s", d->last_result[0] ? d->last_result : "idle");
}

static void on_progress(void *userdata, const struct akr_sweep_progress *p)
{
	(void)userdata;
	notify_status("Sweep running: %zu/%zu accounts done, %zu users", p->accounts_done,
		      p->accounts_total, p->users_done);
}

/* --report FILE: the JSON report where the operator wants it (a dry run
 * writes none into the state directory). */
static int write_report_file(const struct akr_report *report)
{
	int r;

	if (strcmp(arg_report, "-") == 0) {
		r = akr_report_write_json(report, stdout);
		if (r >= 0 && (fputc('\n', stdout) == EOF || fflush(stdout) != 0))
			r = -EIO;
	} else
		r = akr_report_write_file(report, arg_report);
	if (r < 0)
		return akr_log_error_errno(r, "Cannot write the report to '%s': %m", arg_report);
	return 0;
}

static void on_sweep_done(void *userdata, int r, struct akr_report *report)
{
	struct daemon *d = userdata;

	d->sweep = akr_sweep_free(d->sweep);
	if (r < 0) {
		(void)snprintf(d->last_result, sizeof(d->last_result), "last sweep could not run: %s",
			       strerror(-r));
		/* The long-running daemon reports a sweep that could not run
		 * (journal, SNS, STATUS=) and goes on: only --once and
		 * --dry-run end with the sweep's status. SIGTERM exits 0. */
		if (!d->daemon_mode)
			d->exit_code = EXIT_CANNOT_RUN;
	} else if (report) {
		(void)snprintf(d->last_result, sizeof(d->last_result), "last sweep %s",
			       akr_report_has_failures(report) ? "had failures (see report)" : "succeeded");
		if (!d->daemon_mode)
			d->exit_code = akr_report_has_failures(report) ? EXIT_FAILURES : 0;
		if (arg_dry_run && !(arg_report && strcmp(arg_report, "-") == 0))
			(void)akr_report_print_table(report, stdout);
		if (arg_report && write_report_file(report) < 0)
			d->exit_code = EXIT_CANNOT_RUN;
	}
	akr_report_free(report);

	/* A reload during the sweep left the old config for it; drop it now. */
	if (d->sweep_config != d->config)
		akr_config_free(d->sweep_config);
	d->sweep_config = NULL;

	if (!d->daemon_mode || d->stopping) {
		close_all(d);
		return;
	}
	if (!d->ready) {
		d->ready = true;
		notify_ready();
	}
	schedule_next(d);
}

static int start_sweep(struct daemon *d, enum akr_sweep_mode mode)
{
	struct akr_sweep_options o = {
		.config = d->config,
		.env = d->env,
		.statelog = d->statelog,
		.mode = mode,
		.clock = d->clock,
		.progress = on_progress,
		.done = on_sweep_done,
		.userdata = d,
	};
	int r;

	if (d->sweep) {
		akr_log_warning("A sweep is still running at its next scheduled time; not starting "
				"another");
		return -EBUSY;
	}
	d->sweep_config = d->config;
	r = akr_sweep_start(d->loop, &o, &d->sweep);
	if (r < 0) {
		d->sweep_config = NULL;
		return akr_log_error_errno(r, "Cannot start the sweep: %m");
	}
	notify_status("Sweep starting (%s)", akr_sweep_mode_to_string(mode));
	return 0;
}

static void on_timer(uv_timer_t *t)
{
	struct daemon *d = t->data;
	int64_t now = akr_clock_now_sec(&d->clock);

	if (now < d->next_run_sec) {
		schedule_next(d); /* a slice of a long wait, or the clock moved */
		return;
	}
	akr_log_full(LOG_INFO, 0, AKR_FIELDS(.message_id = AKR_MID_SCHEDULED),
		     "Scheduled time reached, starting the sweep");
	d->next_run_sec = 0;
	if (start_sweep(d, AKR_SWEEP_SCHEDULED) < 0)
		schedule_next(d);
}

static void schedule_next(struct daemon *d)
{
	int64_t now = akr_clock_now_sec(&d->clock), wait_ms;
	char when[32];
	bool changed;
	int64_t next;

	next = scheduler_next_run_sec(now + 1, d->config->schedule_minute_of_day);
	changed = next != d->next_run_sec;
	d->next_run_sec = next;
	wait_ms = (next - now) * 1000;
	if (wait_ms > MAX_TIMER_SLICE_MS)
		wait_ms = MAX_TIMER_SLICE_MS;
	if (wait_ms < 0)
		wait_ms = 0;
	(void)uv_timer_start(&d->timer, on_timer, (uint64_t)wait_ms, 0);
	if (changed)
		akr_log_full(LOG_INFO, 0, AKR_FIELDS(.message_id = AKR_MID_SCHEDULED),
			     "Next sweep at %s UTC",
			     akr_time_format_iso8601(next, when, sizeof(when)));
	update_status(d);
}

static void on_sighup(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;
	struct akr_config *nc = NULL;
	struct akr_aws_env *env = NULL;
	int old_minute = d->config->schedule_minute_of_day;

	(void)signum;
	notify_reloading();
	if (load_config(arg_config, true, &nc) < 0 || make_env(d->loop, nc, &env) < 0) {
		nc = akr_config_free(nc);
		akr_log_full(LOG_ERR, 0, AKR_FIELDS(.message_id = AKR_MID_CONFIG_INVALID),
			     "Reload failed, keeping the configuration in force");
	} else {
		if (strcmp(nc->state_directory, d->config->state_directory) != 0)
			akr_log_warning("state_directory changed to '%s'; it takes effect at the next "
					"restart", nc->state_directory);
		/* A sweep in progress keeps the config it started with, and
		 * its reference to that config's environment. */
		akr_aws_env_unref(d->env);
		if (d->config != d->sweep_config)
			akr_config_free(d->config);
		d->config = nc;
		d->env = env;
		akr_log_full(LOG_INFO, 0, AKR_FIELDS(.message_id = AKR_MID_CONFIG_RELOADED),
			     "Configuration reloaded from '%s'%s", arg_config,
			     old_minute != nc->schedule_minute_of_day ? ", schedule changed" : "");
		if (!d->sweep)
			schedule_next(d);
	}
	notify_ready();
	update_status(d);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (d->stopping)
		return;
	d->stopping = true;
	notify_stopping();
	akr_log_full(LOG_INFO, 0, AKR_FIELDS(.message_id = AKR_MID_DAEMON_STOPPING),
		     "Received %s, stopping%s", strsignal(signum),
		     d->sweep ? " after the work in flight" : "");
	(void)uv_timer_stop(&d->timer);
	if (d->sweep)
		akr_sweep_stop(d->sweep);
	else
		close_all(d);
}

static int setup_signals(struct daemon *d)
{
	struct {
		uv_signal_t *h;
		uv_signal_cb cb;
		int signum;
	} sigs[] = {
		{ &d->sighup, on_sighup, SIGHUP },
		{ &d->sigterm, on_stop_signal, SIGTERM },
		{ &d->sigint, on_stop_signal, SIGINT },
	};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
		r = uv_signal_init(d->loop, sigs[i].h);
		if (r < 0)
			return r;
		sigs[i].h->data = d;
		r = uv_signal_start(sigs[i].h, sigs[i].cb, sigs[i].signum);
		if (r < 0)
			return r;
	}
	if (!d->daemon_mode)
		uv_unref((uv_handle_t *)&d->sighup);
	return 0;
}

static int run(struct daemon *d)
{
	enum akr_sweep_mode mode;
	int64_t last_run, now;
	int r;

	r = uv_timer_init(d->loop, &d->timer);
	if (r < 0)
		return r;
	d->timer.data = d;
	r = setup_signals(d);
	if (r < 0)
		return akr_log_error_errno(r, "Cannot install signal handlers: %s", uv_strerror(r));

	if (!d->daemon_mode) {
		mode = arg_dry_run ? AKR_SWEEP_DRY_RUN : AKR_SWEEP_ONCE;
		r = start_sweep(d, mode);
		if (r < 0) {
			close_all(d);
			(void)uv_run(d->loop, UV_RUN_DEFAULT);
			return r;
		}
		(void)uv_run(d->loop, UV_RUN_DEFAULT);
		return 0;
	}

	(void)notify_watchdog_start(d->loop, &d->watchdog);
	akr_log_full(LOG_INFO, 0, AKR_FIELDS(.message_id = AKR_MID_DAEMON_STARTED),
		     "iam-access-key-rotator %s started, configuration '%s'", AKR_VERSION, arg_config);

	now = akr_clock_now_sec(&d->clock);
	last_run = akr_statelog_last_run_sec(d->statelog);
	if (scheduler_missed_run(last_run, now, d->config->schedule_minute_of_day)) {
		/* The catch-up sweep also reconciles open intents first. */
		akr_log_info("A scheduled sweep was missed while the daemon was down; catching up now");
		d->ready = true;
		notify_ready();
		r = start_sweep(d, AKR_SWEEP_SCHEDULED);
	} else if (akr_statelog_has_open_intents(d->statelog)) {
		/* READY=1 only once the state directory is reconciled. */
		r = start_sweep(d, AKR_SWEEP_RECONCILE);
	} else {
		d->ready = true;
		notify_ready();
		schedule_next(d);
		r = 0;
	}
	if (r < 0) {
		if (!d->ready) {
			d->ready = true;
			notify_ready();
		}
		schedule_next(d);
	}
	(void)uv_run(d->loop, UV_RUN_DEFAULT);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { .exit_code = 0 };
	uv_loop_t loop;
	int r;

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? EXIT_CANNOT_RUN : 0;

	akr_log_setup(AKR_LOG_AUTO, arg_verbose ? LOG_DEBUG : LOG_INFO);
	reset_signals();
	protect_memory();
	/* Every file the daemon writes is 0600 and every directory 0700, run
	 * from a shell as much as under systemd's UMask=0077. */
	(void)umask(0077);
	if (setup_credentials_directory() < 0)
		return EXIT_CANNOT_RUN;

	if (arg_now) {
		int64_t at;
		if (akr_time_parse_iso8601(arg_now, &at) < 0) {
			fprintf(stderr, "iam-access-key-rotator: --now '%s' is not an ISO 8601 UTC time "
					"such as 2026-12-01T13:00:00Z\n", arg_now);
			return EXIT_CANNOT_RUN;
		}
		akr_clock_init_at(&d.clock, at);
	}

	if (load_config(arg_config, arg_check_config, &d.config) < 0)
		return arg_check_config ? EXIT_FAILURES : EXIT_CANNOT_RUN;
	if (arg_check_config) {
		fprintf(stderr, "Configuration '%s' is valid.\n", arg_config);
		r = akr_config_dump(d.config, stdout);
		akr_config_free(d.config);
		return r < 0 ? EXIT_FAILURES : 0;
	}

	d.daemon_mode = !arg_once && !arg_dry_run;
	r = uv_loop_init(&loop);
	if (r < 0) {
		akr_log_error("Cannot create the event loop: %s", uv_strerror(r));
		akr_config_free(d.config);
		return EXIT_CANNOT_RUN;
	}
	d.loop = &loop;
	if (init_libraries() < 0 || open_state(&d, arg_dry_run) < 0 ||
	    make_env(&loop, d.config, &d.env) < 0) {
		akr_statelog_free(d.statelog);
		(void)uv_run(&loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(&loop);
		curl_global_cleanup();
		akr_config_free(d.config);
		return EXIT_CANNOT_RUN;
	}
	r = run(&d);
	if (r < 0 && d.exit_code == 0)
		d.exit_code = EXIT_CANNOT_RUN;
	d.env = akr_aws_env_unref(d.env);
	(void)uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) < 0)
		akr_log_debug("Event loop still had handles at exit");
	akr_statelog_free(d.statelog);
	akr_config_free(d.config);
	curl_global_cleanup();
	if (d.daemon_mode)
		return d.exit_code == EXIT_CANNOT_RUN ? EXIT_CANNOT_RUN : 0;
	return d.exit_code;
}
