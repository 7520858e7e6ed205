#pragma once
/* One run over the organization: base credentials, the management role,
 * every ACTIVE account that is not excluded (many at once, within the
 * configured caps), every user page by page, the policy, and — unless it is a
 * dry run — the actions under the safety protocol, then the report and, when
 * anything failed, one SNS alert. Before anything else it reconciles intents
 * left open by a crash (DESIGN.md "Safety protocol"). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lib/base/clock.h"

struct akr_aws_env;
struct akr_config;
struct akr_report;
struct akr_statelog;
struct akr_sweep;

enum akr_sweep_mode {
	AKR_SWEEP_DRY_RUN,   /* read only: plan and report, change nothing, send nothing */
	AKR_SWEEP_ONCE,      /* --once */
	AKR_SWEEP_SCHEDULED, /* the daemon's timer */
	AKR_SWEEP_RECONCILE, /* only roll back open intents (daemon start-up) */
	_AKR_SWEEP_MODE_MAX,
};
const char *akr_sweep_mode_to_string(enum akr_sweep_mode m);

struct akr_sweep_progress {
	size_t accounts_total, accounts_done, users_done;
};

typedef void (*akr_sweep_progress_cb)(void *userdata, const struct akr_sweep_progress *p);
/** Completion. @r: 0 when the sweep ran, also when it was stopped (the
 * report says what failed or was left undone); -errno when it could not run
 * at all (no credentials, the management role, the mail sender, the
 * organization could not be listed, or the open intents of the state log
 * could not be read). @report is handed over (caller frees with
 * akr_report_free); it may be NULL when r < 0. */
typedef void (*akr_sweep_done_cb)(void *userdata, int r, struct akr_report *report);

struct akr_sweep_options {
	const struct akr_config *config; /* borrowed; must outlive the sweep */
	/* The AWS environment built from @config (lib/rotation/aws_env.h): the
	 * sweep takes a reference. NULL: @config's AWS environment could not be
	 * resolved, and the sweep cannot start (-EINVAL, logged). */
	struct akr_aws_env *env;
	struct akr_statelog *statelog;   /* borrowed; NULL only for a dry run */
	enum akr_sweep_mode mode;
	struct akr_clock clock;
	const char *run_id;              /* NULL = generated */
	akr_sweep_progress_cb progress;  /* may be NULL */
	akr_sweep_done_cb done;
	void *userdata;
};

/** Starts a sweep on @loop in @opts->env (a reference is taken and dropped
 * by akr_sweep_free()). @opts is copied; what it points to is borrowed as
 * its fields say. Contract as every async start: < 0 means @done never runs;
 * 0 means it runs exactly once, later. Returns 0; -EINVAL (options missing,
 * no AWS environment, or one built from another configuration; an invalid
 * policy), -ENOMEM, or the errors of loading the mail templates and opening
 * the address book (logged). */
int akr_sweep_start(uv_loop_t *loop, const struct akr_sweep_options *opts, struct akr_sweep **ret);

/** Asks a running sweep to stop: no new account, user or action is started;
 * the environment's engine cancels what it may (akr_http_shutdown()), the
 * rest finishes (a rotation whose key exists but was not delivered is
 * rolled back); then @done runs with the partial report (not "complete").
 * A second call does nothing. */
void akr_sweep_stop(struct akr_sweep *s);

/** Frees a sweep after its done callback ran (or from it). NULL does nothing. */
struct akr_sweep *akr_sweep_free(struct akr_sweep *s);
