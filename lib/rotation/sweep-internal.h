#pragma once
/* Shared between the files of the sweep module: sweep.c (the run and the
 * organization walk), sweep_user.c (one user: read, decide, act) and
 * sweep_reconcile.c (intents left open by a crash). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lib/aws/client.h"
#include "lib/aws/endpoints.h"
#include "lib/aws/paging.h"
#include "lib/base/defer.h"
#include "lib/base/error.h"
#include "lib/base/seen.h"
#include "lib/delivery/zip.h"
#include "lib/http/engine.h"
#include "lib/http/retry.h"
#include "lib/rotation/policy.h"
#include "lib/rotation/report.h"
#include "lib/rotation/sweep.h"

struct akr_addressbook;
struct akr_assumed_role;
struct akr_aws_env;
struct akr_creds_provider;
struct akr_delivery_sender;
struct akr_delivery_templates;
struct akr_http;
struct akr_iam_users_page;
struct sweep_account;
struct sweep_prefilter;

struct akr_sweep {
	uv_loop_t *loop;
	struct akr_sweep_options o;
	const struct akr_config *cfg;
	struct akr_policy_config policy;
	char run_id[48];

	/* The AWS environment of the configuration (a reference): the sweep
	 * only runs in it. The pointers below are the environment's. */
	struct akr_aws_env *env;
	const char *partition; /* of the management role ARN: "aws" */
	struct akr_http *http;
	struct akr_http_stats http_at_start; /* the engine's counters when the sweep began */
	struct akr_creds_provider *creds;
	struct akr_assumed_role *mgmt_role;
	struct akr_aws_client base_client, mgmt_client, ses_client, sns_client;

	struct akr_delivery_sender *mailer;
	bool send_quota_read; /* GetSendQuota was asked (once, before any account) */
	struct akr_delivery_templates *templates; /* owned; NULL = the built-in ones */
	enum akr_zip_encryption zip_encryption;

	struct akr_report *report;
	struct akr_sweep_progress progress;
	struct akr_addressbook *addresses; /* owned; NULL in a reconcile-only sweep */

	/* The organization: every account listed, worked on in order. An
	 * account waiting for its turn is only its id and name (@accounts);
	 * its struct sweep_account exists from its start to its end (on
	 * @running), so that what the sweep holds per account follows the
	 * accounts in progress, not the size of the organization (the report
	 * keeps what it lists). */
	struct sweep_listed *accounts;
	size_t n_accounts, cap_accounts, next_account, running_accounts, max_parallel_accounts;
	struct sweep_account *running;  /* the accounts started and not finished */
	size_t n_account_records;       /* struct sweep_account alive (tests) */
	char *next_token;
	unsigned list_attempts;
	struct akr_paging accounts_paging;
	struct akr_seen account_ids; /* every account listed: a repeat is ignored */
	size_t repeated_accounts;
	bool listing_accounts; /* a ListAccounts call, or its deferred retry, is pending */

	/* Open intents being reconciled at the start. */
	size_t reconcile_pending;
	/* Users that could not be reconciled: never rotated again in this run. */
	char **blocked_users; /* "account/user" */
	size_t n_blocked_users;
	bool block_everyone; /* the list could not grow: nobody is changed any more */

	/* Deferred calls (akr__sweep_defer()) not yet run: a stop runs them at once. */
	struct akr_defer_set deferred;

	struct akr_retry_rng rng; /* jitter of the sweep's own retries */
	uv_timer_t done_timer;
	bool stopping, finishing, finished, done_called;
	bool complete; /* every account was read */
	int fatal;     /* < 0: the sweep could not run */
	char *report_path;
};

/* An account listed and not started yet: @id owns one allocation holding
 * the id, then the name (@name points into it; NULL when ListAccounts gave
 * none). NULL once the account started (its struct sweep_account took it). */
struct sweep_listed {
	char *id;
	const char *name;
};

struct sweep_account {
	struct akr_sweep *s;
	struct sweep_account *prev, *next; /* on s->running */
	char *id;         /* owns the allocation of struct sweep_listed */
	const char *name; /* in @id's allocation; NULL when none */
	struct akr_assumed_role *role;
	struct akr_aws_client client;
	char *marker;        /* next ListUsers page; NULL with more_pages = first */
	bool more_pages, listing, failed, done;
	bool dispatching; /* in account_dispatch_users()'s loop: a nested call returns */
	struct akr_iam_user *users; /* the current page, owned */
	size_t n_users, next_user, running_users, max_running_users;
	unsigned read_attempts;
	struct akr_paging users_paging;
	struct akr_seen user_names; /* every user listed: a repeat is ignored */
	size_t repeated_users;
	struct sweep_prefilter *prefilter; /* owned; NULL = every user is read in full */
};

/* A read that was still throttled after the http engine's own retries is
 * tried again later, this many times at most, so that a throttling storm
 * slows the sweep down instead of leaving holes in the plan. A throttled
 * call provably had no effect. Any other failure (timeouts, refused or reset
 * connections, 5xx) is not tried again: the engine's attempts within the
 * request's deadline are the one retry budget. */
#define SWEEP_READ_RETRIES 6

/* Distinct accounts in an organization and users in an account that a
 * listing may name, far beyond AWS's quotas (5,000 users per account): past
 * them the listing fails instead of growing without bound. */
#define SWEEP_MAX_ACCOUNTS 200000
#define SWEEP_MAX_USERS_PER_ACCOUNT 100000

/* sweep_retry.c: trying a throttled read again later. */
/** Runs @fn(@arg) from the loop after @delay_ms (lib/base/defer), or at the
 * next loop iteration when the sweep is stopped (@fn then sees s->stopping;
 * akr_sweep_stop() hurries the calls already queued). @arg is borrowed and
 * must live until @fn ran. Returns 0 or -errno (then @fn never runs). */
int akr__sweep_defer(struct akr_sweep *s, int64_t delay_ms, void (*fn)(void *arg), void *arg);
/** Whether a failed read is worth another try (attempt counts from 0): only
 * a throttled one, at most SWEEP_READ_RETRIES times; the caller checks that
 * the sweep is not stopping. On true, @ret_delay_ms is the wait: half the
 * window plus a jitter over the other half, the window doubling from 1 s to
 * 32 s. */
bool akr__sweep_retry_read(const struct akr_error *err, unsigned attempt, int64_t *ret_delay_ms);

/* sweep.c: the run and the organization walk. */
/** How many struct sweep_account records the sweep holds now: the accounts
 * started and not finished (a finished account lives on in the report
 * only). For the tests. */
size_t akr__sweep_account_records(const struct akr_sweep *s);
/** The sweep's wall clock (--now shifts it), in seconds. */
int64_t akr__sweep_now(const struct akr_sweep *s);
/** A user of @a is done (whatever the outcome): the next one may start. */
void akr__sweep_account_user_done(struct sweep_account *a);
/** The open intents are reconciled: the organization walk may start. */
void akr__sweep_reconcile_done(struct akr_sweep *s);

/* sweep_report.c: report rows and failure sentences. */
/* "<the call that failed and its target>: <AWS error>", from @err's
 * operation or else @what (NULL: none), with a hint when the base
 * credentials were refused. " in account <@account_id>" is left out of the
 * call where the line names that account already. Never fails; truncates
 * to @size. */
void akr__sweep_describe_failure(const struct akr_sweep *s, const char *what,
				 const char *account_id, int r, const struct akr_error *err,
				 char *buf, size_t size);
/** Adds one row to the run report (strings borrowed, copied). Returns 0 or -ENOMEM. */
int akr__sweep_report_row(struct akr_sweep *s, const char *account_id, const char *account_name,
		     const char *user, const char *key_id, const char *action, int64_t age_days,
		     const char *reason, enum akr_outcome outcome, const char *error,
		     const char *detail);

/* sweep_roles.c: the identity an account is worked with. */
/** The client of @account_id's member role (assumed from the management
 * session, on its first call), or the management session itself when the
 * member role is the management role (then *@ret_role is NULL). The
 * client's key is left NULL for the caller to set to a string it owns.
 * *@ret_role: caller frees with akr_assumed_role_free(). Returns 0,
 * -ENAMETOOLONG, -ENOMEM. */
int akr__sweep_account_client(struct akr_sweep *s, const char *account_id, struct akr_assumed_role **ret_role,
			 struct akr_aws_client *ret_client);

/* sweep_blocked.c: users not to be changed any more in this run. */
/** Whether @user of @account_id is blocked (everyone is, after a failure
 * to remember one). */
bool akr__sweep_user_blocked(const struct akr_sweep *s, const char *account_id, const char *user);
/** Blocks @user of @account_id (borrowed, copied). -ENOMEM: everyone is
 * blocked and the sweep is stopped instead. */
int akr__sweep_block_user(struct akr_sweep *s, const char *account_id, const char *user);

/** Lists the account's users from the first page on (after the credential report). */
void akr__sweep_account_read_users(struct sweep_account *a);

/* sweep_prefilter.c: the credential-report pre-filter of an account. */
/** Gets the account's credential report, then calls akr__sweep_account_read_users();
 * without a usable report the account is read in full (said once). */
void akr__sweep_prefilter_start(struct sweep_account *a);
/** Whether @u has nothing due by the report (then it is only counted). */
bool akr__sweep_prefilter_skips(struct sweep_account *a, const struct akr_iam_user *u);
/** Frees the account's pre-filter; NULL does nothing. Returns NULL. */
struct sweep_prefilter *akr__sweep_prefilter_free(struct sweep_prefilter *pf);

/* sweep_user.c: one user of an account. */
int akr__sweep_user_start(struct sweep_account *a, const struct akr_iam_user *u);
/** Reports (report row, journal) a ListUsers item that failed validation
 * (@u->invalid set) as a user that could not be read. */
void akr__sweep_user_invalid(struct sweep_account *a, const struct akr_iam_user *u);

/* sweep_address.c: the address takeover defence before a rotation. */
enum {
	SWEEP_ADDRESS_STARTED = 0, /* a notice is on its way: the callback says what follows */
	SWEEP_ADDRESS_DELIVER = 1, /* create and deliver now (the address is recorded) */
	SWEEP_ADDRESS_HELD = 2,    /* the key waits; the hold is reported and logged */
};
/** @deliver: create and deliver the key now; else the key waits (the hold or
 * the failure is reported). */
typedef void (*sweep_address_cb)(void *userdata, bool deliver);
/** Decides whether the key due for @user of @a may go to @address (the
 * plan's valid address; strings borrowed) at @now_sec. In a dry run only
 * reports. Returns one of SWEEP_ADDRESS_* (only STARTED runs @cb, later, from
 * the loop), or -errno with a sentence for the report in @ret_error. */
int akr__sweep_address_check(struct sweep_account *a, const char *user, const char *address,
			const char *key_id, int64_t age_days, int64_t now_sec, sweep_address_cb cb,
			void *userdata, char *ret_error, size_t error_size);

/* sweep_reconcile.c */
int akr__sweep_reconcile_start(struct akr_sweep *s);
/** Deletes a key created for an undelivered intent and marks the intent;
 * @done runs with 0 when the user holds no undelivered key any more. */
typedef void (*sweep_rollback_cb)(void *userdata, int r, const struct akr_error *err);
int akr__sweep_rollback_intent(struct akr_sweep *s, const struct akr_aws_client *c, uint64_t intent_id,
			  const char *user, const char *key_id, int64_t intent_sec,
			  const char *const *known_key_ids, size_t n_known, sweep_rollback_cb cb,
			  void *userdata);
