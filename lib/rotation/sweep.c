/* One sweep over the organization: credentials, the management role, the
 * account list, and the accounts worked on many at once. Users are handed to
 * sweep_user.c one ListUsers page at a time, so memory follows the page size,
 * not the size of the organization. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "lib/base/array.h"
#include "lib/base/defer.h"
#include "lib/rotation/addressbook.h"
#include "lib/rotation/alert.h"
#include "lib/rotation/aws_env.h"
#include "lib/aws/iam.h"
#include "lib/aws/orgs.h"
#include "lib/aws/ses.h"
#include "lib/aws/sns.h"
#include "lib/rotation/config.h"
#include "lib/aws/assumed_role.h"
#include "lib/rotation/metrics.h"
#include "lib/aws/creds.h"
#include "lib/delivery/delivery.h"
#include "lib/http/engine.h"
#include "lib/base/log.h"
#include "lib/rotation/statelog.h"
#include "lib/base/strutil.h"
#include "lib/delivery/templates.h"
#include "lib/rotation/sweep-internal.h"
#include "lib/base/timeutil.h"

#define LIST_ACCOUNTS_PAGE 20
/* IAM's largest page: fewer ListUsers calls. */
#define LIST_USERS_PAGE 1000

static const char *const sweep_mode_names[_AKR_SWEEP_MODE_MAX] = {
	[AKR_SWEEP_DRY_RUN] = "dry-run",
	[AKR_SWEEP_ONCE] = "once",
	[AKR_SWEEP_SCHEDULED] = "scheduled",
	[AKR_SWEEP_RECONCILE] = "reconcile",
};

const char *akr_sweep_mode_to_string(enum akr_sweep_mode m)
{
	return (unsigned)m < _AKR_SWEEP_MODE_MAX ? sweep_mode_names[m] : NULL;
}

int64_t akr__sweep_now(const struct akr_sweep *s)
{
	return akr_clock_now_sec(&s->o.clock);
}

static void sweep_finish(struct akr_sweep *s);
static void dispatch_accounts(struct akr_sweep *s);

static struct akr_log_fields fields_of(const struct akr_sweep *s, const char *mid)
{
	return (struct akr_log_fields){ .message_id = mid, .run_id = s->run_id };
}

static double account_base_rps(const struct sweep_account *a)
{
	return a->s->cfg->limits.iam_requests_per_second_per_account;
}

/* ---- accounts ---- */

static void account_drop_page(struct sweep_account *a)
{
	struct akr_iam_users_page page = { .users = a->users, .n_users = a->n_users };

	akr_iam_users_page_done(&page);
	a->users = NULL;
	a->n_users = a->next_user = 0;
}

static struct sweep_account *account_free(struct sweep_account *a)
{
	struct akr_sweep *s;

	if (!a)
		return NULL;
	s = a->s;
	if (a->prev)
		a->prev->next = a->next;
	else if (s->running == a)
		s->running = a->next;
	if (a->next)
		a->next->prev = a->prev;
	s->n_account_records--;
	account_drop_page(a);
	a->prefilter = akr__sweep_prefilter_free(a->prefilter);
	a->role = akr_assumed_role_free(a->role);
	akr_paging_done(&a->users_paging);
	akr_seen_done(&a->user_names);
	free(a->marker);
	free(a->id); /* and the name with it */
	free(a);
	return NULL;
}

size_t akr__sweep_account_records(const struct akr_sweep *s)
{
	return s->n_account_records;
}

/* A listed account starts: its record is made, taking @l's id and name. */
static struct sweep_account *account_new(struct akr_sweep *s, struct sweep_listed *l)
{
	struct sweep_account *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->s = s;
	akr_paging_init(&a->users_paging, "ListUsers", 0);
	akr_seen_init(&a->user_names, SWEEP_MAX_USERS_PER_ACCOUNT);
	a->id = TAKE_PTR(l->id);
	a->name = TAKE_PTR(l->name);
	a->max_running_users = (size_t)s->cfg->limits.max_requests_per_account;
	a->next = s->running;
	if (a->next)
		a->next->prev = a;
	s->running = a;
	s->n_account_records++;
	return a;
}

static void account_finished(struct sweep_account *a)
{
	struct akr_sweep *s = a->s;

	if (a->done)
		return;
	a->done = true;
	if (!a->failed)
		(void)akr_report_account(s->report, a->id, a->name, AKR_ACCOUNT_OK, NULL);
	s->running_accounts--;
	s->progress.accounts_done++;
	if (s->o.progress)
		s->o.progress(s->o.userdata, &s->progress);
	/* The account lives on in the report only: its record (the role, the
	 * page, the listing's memory, the pre-filter) goes now, so that an
	 * organization of thousands of accounts holds the records of the
	 * accounts in progress only. Nothing refers to it any more: its users
	 * and its listing are over, and every caller returns right after.
	 * Its rate cap goes too, so that the engine forgets the account
	 * (unless throttling taught it a rate: that stays, see engine.h). */
	if (account_base_rps(a) > 0)
		(void)akr_http_set_rate(s->http, a->id, 0);
	account_free(a);
	dispatch_accounts(s);
}

static void account_fail(struct sweep_account *a, const char *what, int r, const struct akr_error *err)
{
	struct akr_sweep *s = a->s;
	struct akr_log_fields f = fields_of(s, AKR_MID_ACCOUNT_FAILED);
	char msg[1024];

	a->failed = true;
	akr__sweep_describe_failure(s, what, a->id, r, err, msg, sizeof(msg));
	f.account_id = a->id;
	f.result = "failed";
	f.error_code = err && err->code[0] ? err->code : NULL;
	akr_log_full(LOG_ERR, 0, &f, "Account %s ('%s') failed, skipping it: %s", a->id,
		     a->name ? a->name : "", msg);
	(void)akr_report_account(s->report, a->id, a->name, AKR_ACCOUNT_FAILED, msg);
}

static void list_users_next(struct sweep_account *a);

static void account_dispatch_users(struct sweep_account *a)
{
	struct akr_sweep *s = a->s;

	/* A user that ended from inside akr__sweep_user_start() (it does not
	 * today) calls back here: the loop below goes on, and decides. */
	if (a->dispatching)
		return;
	a->dispatching = true;
	while (!s->stopping && !a->failed && a->next_user < a->n_users &&
	       a->running_users < a->max_running_users) {
		const struct akr_iam_user *u = &a->users[a->next_user++];
		int r = u->name ? akr_seen_add(&a->user_names, u->name, strlen(u->name)) : 1;

		if (r == 0) {
			/* A page that lists a user again (or a listing that
			 * starts over): one user is handled once a sweep. */
			if (a->repeated_users++ == 0)
				akr_log_warning("ListUsers in account %s lists user '%s' a second "
						"time; repeated users are ignored",
						a->id, u->name);
			continue;
		}
		if (r < 0) {
			account_fail(a, "ListUsers", r,
				     r == -E2BIG ? &(struct akr_error){
							   .kind = AKR_ERROR_PARSE,
							   .code = "TooManyUsers",
							   .message = "more distinct users listed than "
								      "an account can have" }
						 : NULL);
			a->more_pages = false;
			break;
		}
		akr_report_totals(s->report)->users_seen++;
		if (u->invalid) {
			/* One bad item skips one user, not the account. */
			akr__sweep_user_invalid(a, u);
			continue;
		}
		if (akr__sweep_prefilter_skips(a, u)) {
			/* The credential report rules out anything due today. */
			akr_report_totals(s->report)->users_nothing_due_by_report++;
			s->progress.users_done++;
			continue;
		}
		a->running_users++;
		if (akr__sweep_user_start(a, u) < 0) {
			a->running_users--;
			akr_report_totals(s->report)->users_failed++;
		}
	}
	a->dispatching = false;
	if (a->running_users > 0 || a->listing)
		return;
	if (a->next_user < a->n_users && !s->stopping && !a->failed)
		return;
	if (a->more_pages && !s->stopping && !a->failed) {
		list_users_next(a);
		return;
	}
	if (s->stopping && !a->failed && (a->more_pages || a->next_user < a->n_users)) {
		a->failed = true;
		(void)akr_report_account(s->report, a->id, a->name, AKR_ACCOUNT_FAILED,
					 "stopped before all users were handled");
	}
	account_finished(a);
}

void akr__sweep_account_user_done(struct sweep_account *a)
{
	a->running_users--;
	a->s->progress.users_done++;
	account_dispatch_users(a);
}

static void list_users_retry(void *arg)
{
	struct sweep_account *a = arg;

	a->listing = false;
	if (a->s->stopping) {
		a->read_attempts = 0;
		account_dispatch_users(a); /* reports the account as stopped */
		return;
	}
	list_users_next(a);
}

static void on_list_users(void *userdata, int r, struct akr_iam_users_page *page,
			  const struct akr_error *err)
{
	struct sweep_account *a = userdata;
	struct akr_error perr = { 0 };
	int64_t delay;

	if (r < 0 && !a->s->stopping && akr__sweep_retry_read(err, a->read_attempts, &delay) &&
	    akr__sweep_defer(a->s, delay, list_users_retry, a) >= 0) {
		a->read_attempts++;
		akr_log_debug("ListUsers in account %s: %s; trying again in %lld ms", a->id,
			      err->code, (long long)delay);
		return;
	}
	a->read_attempts = 0;
	a->listing = false;
	if (r == -ECANCELED && a->s->stopping) {
		account_dispatch_users(a); /* reports the account as stopped */
		return;
	}
	if (r < 0) {
		account_fail(a, "ListUsers", r, err);
		a->more_pages = false;
		account_dispatch_users(a);
		return;
	}
	/* Drop the previous page; take this one. */
	account_drop_page(a);
	a->users = page->users;
	a->n_users = page->n_users;
	a->next_user = 0;
	page->users = NULL;
	page->n_users = 0;
	/* The parser refuses IsTruncated without a Marker (iam.c), so a
	 * marker here is exactly "more pages". */
	r = akr_paging_take_marker(&a->users_paging, &a->marker, page->is_truncated, &page->marker,
				   &perr);
	a->more_pages = r == 0 && a->marker;
	if (r < 0)
		account_fail(a, "ListUsers", r, &perr);
	account_dispatch_users(a);
}

static void list_users_next(struct sweep_account *a)
{
	int r;

	a->listing = true;
	r = akr_iam_list_users(&a->client, a->marker, LIST_USERS_PAGE, on_list_users, a);
	if (r < 0) {
		a->listing = false;
		a->more_pages = false;
		account_fail(a, "ListUsers", r, NULL);
		account_dispatch_users(a);
	}
}

static void account_start(struct akr_sweep *s, struct sweep_listed *l)
{
	struct sweep_account *a = account_new(s, l);
	struct akr_log_fields f;
	int r;

	if (!a) {
		/* No record: the account is reported as failed (its id and name
		 * stay in @l for that), and the walk goes on. */
		f = fields_of(s, AKR_MID_ACCOUNT_FAILED);
		f.account_id = l->id;
		f.result = "failed";
		akr_log_full(LOG_ERR, -ENOMEM, &f, "Account %s ('%s') failed, skipping it: %m",
			     l->id, l->name ? l->name : "");
		(void)akr_report_account(s->report, l->id, l->name, AKR_ACCOUNT_FAILED,
					 "out of memory");
		s->progress.accounts_done++;
		return;
	}
	s->running_accounts++;
	akr_log_debug("Entering account %s ('%s')", a->id, a->name ? a->name : "");
	r = akr__sweep_account_client(s, a->id, &a->role, &a->client);
	if (r < 0) {
		account_fail(a, "AssumeRole", r, NULL);
		account_finished(a);
		return;
	}
	a->client.key = a->id;
	if (account_base_rps(a) > 0)
		(void)akr_http_set_rate(s->http, a->id, account_base_rps(a));
	/* The first call (GenerateCredentialReport, or ListUsers without the
	 * pre-filter) assumes the member role (the identity starts empty). */
	akr__sweep_prefilter_start(a);
}

void akr__sweep_account_read_users(struct sweep_account *a)
{
	a->more_pages = true;
	if (a->s->stopping) {
		/* Stopped while the credential report was on its way. */
		account_dispatch_users(a);
		return;
	}
	/* An AccessDenied here fails this account only. */
	list_users_next(a);
}

static void dispatch_accounts(struct akr_sweep *s)
{
	while (!s->stopping && s->next_account < s->n_accounts &&
	       s->running_accounts < s->max_parallel_accounts)
		account_start(s, &s->accounts[s->next_account++]);
	if (s->running_accounts == 0 && !s->listing_accounts &&
	    (s->stopping || s->next_account >= s->n_accounts)) {
		if (s->stopping && s->next_account < s->n_accounts)
			s->complete = false;
		sweep_finish(s);
	}
}

/* One bad item of a ListAccounts page: that account is reported, the
 * others go on. */
static int invalid_account(struct akr_sweep *s, const struct akr_org_account *acc)
{
	struct akr_log_fields f = fields_of(s, AKR_MID_ACCOUNT_FAILED);
	char id[64], msg[700];

	(void)akr_str_escape_controls(acc->id ? acc->id : "", id, sizeof(id));
	(void)snprintf(msg, sizeof(msg), "ListAccounts: invalid item: %s", acc->invalid);
	f.account_id = id;
	f.result = "failed";
	f.error_code = "MalformedResponse";
	akr_log_full(LOG_ERR, 0, &f, "Account '%s' failed, skipping it: %s", id, msg);
	akr_report_totals(s->report)->accounts_listed++;
	return akr_report_account(s->report, id, NULL, AKR_ACCOUNT_FAILED, msg);
}

static int add_account(struct akr_sweep *s, const struct akr_org_account *acc)
{
	struct sweep_listed *l;
	size_t id_len, name_len;
	int r;

	if (acc->invalid)
		return invalid_account(s, acc);
	r = akr_seen_add(&s->account_ids, acc->id, strlen(acc->id));

	if (r == 0) {
		if (s->repeated_accounts++ == 0)
			akr_log_warning("ListAccounts lists account %s a second time; repeated "
					"accounts are ignored",
					acc->id);
		return 0;
	}
	if (r < 0)
		return r;
	akr_report_totals(s->report)->accounts_listed++;
	if (akr_config_account_excluded(s->cfg, acc->id)) {
		akr_log_debug("Account %s is excluded by the configuration, not entered", acc->id);
		return akr_report_account(s->report, acc->id, acc->name, AKR_ACCOUNT_EXCLUDED, NULL);
	}
	if (acc->state != AKR_ORG_ACCOUNT_ACTIVE) {
		akr_log_debug("Account %s is %s, not entered", acc->id,
			      akr_org_account_state_to_string(acc->state));
		return akr_report_account(s->report, acc->id, acc->name, AKR_ACCOUNT_NOT_ACTIVE,
					  akr_org_account_state_to_string(acc->state));
	}
	if (AKR_ARRAY_GROW(s->accounts, &s->cap_accounts, s->n_accounts, 1) < 0)
		return -ENOMEM;
	/* Only the id and the name until the account starts: one allocation. */
	id_len = strlen(acc->id) + 1;
	name_len = acc->name ? strlen(acc->name) + 1 : 0;
	l = &s->accounts[s->n_accounts];
	l->id = malloc(id_len + name_len);
	if (!l->id)
		return -ENOMEM;
	memcpy(l->id, acc->id, id_len);
	l->name = NULL;
	if (acc->name) {
		memcpy(l->id + id_len, acc->name, name_len);
		l->name = l->id + id_len;
	}
	s->n_accounts++;
	return 0;
}

static void list_accounts_next(struct akr_sweep *s);

static void list_accounts_retry(void *arg)
{
	struct akr_sweep *s = arg;

	if (s->stopping) {
		s->listing_accounts = false;
		s->complete = false;
		dispatch_accounts(s);
		return;
	}
	list_accounts_next(s);
}

/* SES's limits for this sweep, read once the organization is listed (so that
 * the management role is first assumed for ListAccounts, whose failure ends
 * the sweep) and before any account starts: its MaxSendRate (capped by
 * email.max_send_rate) and what is left of Max24HourSend. Without them (the
 * role may lack ses:GetSendQuota), the configured rate or 1/s, and no daily
 * limit. */
static void on_send_quota(void *userdata, int r, const struct akr_ses_send_quota *q,
			  const struct akr_error *err)
{
	struct akr_sweep *s = userdata;
	double cap = s->cfg->email.max_send_rate, left;
	char detail[768];

	if (r < 0) {
		akr_log_warning("Cannot read the SES sending quota (%s); sending at most %g messages "
				"per second, with no daily limit",
				akr_error_describe_errno(err, r, detail, sizeof(detail)),
				cap > 0 ? cap : 1.0);
		akr_delivery_sender_set_quota(s->mailer, cap > 0 ? cap : 1.0, -1);
	} else {
		left = q->max_24_hour_send < 0 ? -1
		       : q->max_24_hour_send > q->sent_last_24_hours
			       ? floor(q->max_24_hour_send - q->sent_last_24_hours)
			       : 0;
		akr_delivery_sender_set_quota(s->mailer, q->max_send_rate, left);
		if (left < 0)
			akr_log_info("SES sends %g messages per second here; mail goes at %g/s",
				     q->max_send_rate, akr_delivery_sender_rate(s->mailer));
		else
			akr_log_info("SES sends %g messages per second here and %.0f more today; "
				     "mail goes at %g/s",
				     q->max_send_rate, left, akr_delivery_sender_rate(s->mailer));
	}
	dispatch_accounts(s);
}

static void on_list_accounts(void *userdata, int r, struct akr_orgs_accounts_page *page,
			     const struct akr_error *err)
{
	struct akr_sweep *s = userdata;
	struct akr_error perr = { 0 };
	char detail[1024];
	int64_t delay;

	if (r < 0 && !s->stopping && akr__sweep_retry_read(err, s->list_attempts, &delay) &&
	    akr__sweep_defer(s, delay, list_accounts_retry, s) >= 0) {
		s->list_attempts++;
		return;
	}
	s->list_attempts = 0;
	s->listing_accounts = false;
	if (r >= 0) {
		for (size_t i = 0; i < page->n_accounts && r >= 0; i++)
			r = add_account(s, &page->accounts[i]);
		if (r == -E2BIG)
			akr_error_set(&perr, AKR_ERROR_PARSE, 0, "TooManyAccounts",
				      "ListAccounts lists more than %d distinct accounts",
				      SWEEP_MAX_ACCOUNTS);
		if (r >= 0)
			r = akr_paging_next(&s->accounts_paging, page->next_token, &perr);
		if (r < 0)
			err = perr.kind != AKR_ERROR_NONE ? &perr : NULL;
	}
	if (r < 0) {
		akr__sweep_describe_failure(s, NULL, NULL, r, err, detail, sizeof(detail));
		akr_log_full(LOG_ERR, r, AKR_FIELDS(.run_id = s->run_id),
			     "Cannot list the accounts of the organization: %s", detail);
		if (s->stopping) {
			/* Stopped while listing: a partial sweep, not a failure to run. */
			s->complete = false;
			dispatch_accounts(s);
			return;
		}
		s->fatal = r;
		sweep_finish(s);
		return;
	}
	free(s->next_token);
	s->next_token = TAKE_PTR(page->next_token);
	if (s->next_token && !s->stopping) {
		list_accounts_next(s);
		return;
	}
	s->progress.accounts_total = s->n_accounts;
	/* A stop may have cut the listing short. */
	s->complete = !s->next_token && !s->stopping;
	if (s->complete)
		akr_log_info("Organization listed: %zu accounts to work on", s->n_accounts);
	if (s->mailer && !s->send_quota_read && !s->stopping) {
		s->send_quota_read = true;
		r = akr_ses_get_send_quota(&s->ses_client, on_send_quota, s);
		if (r < 0)
			on_send_quota(s, r, NULL, NULL);
		return;
	}
	dispatch_accounts(s);
}

static void list_accounts_next(struct akr_sweep *s)
{
	int r;

	s->listing_accounts = true;
	r = akr_orgs_list_accounts(&s->mgmt_client, s->next_token, LIST_ACCOUNTS_PAGE,
				   on_list_accounts, s);
	if (r < 0) {
		s->listing_accounts = false;
		s->fatal = akr_log_error_errno(r, "Cannot list the accounts of the organization: %m");
		sweep_finish(s);
	}
}

void akr__sweep_reconcile_done(struct akr_sweep *s)
{
	if (s->o.mode == AKR_SWEEP_RECONCILE || s->stopping) {
		s->complete = !s->stopping;
		sweep_finish(s);
		return;
	}
	list_accounts_next(s);
}

static void on_base_creds(void *userdata, int r, const struct akr_error *err)
{
	struct akr_sweep *s = userdata;
	struct akr_sts_assume_role_params p = {
		.role_arn = s->cfg->organization.management_role_arn,
		.session_name = s->cfg->organization.session_name,
		.external_id = s->cfg->organization.external_id,
		.duration_sec = s->cfg->organization.session_duration_sec,
	};
	char detail[768];

	if (r < 0) {
		akr_log_full(LOG_ERR, r, AKR_FIELDS(.run_id = s->run_id), "No AWS credentials: %s%s%s",
			     err && err->operation[0] ? err->operation : "",
			     err && err->operation[0] ? ": " : "",
			     akr_error_describe_errno(err, r, detail, sizeof(detail)));
		s->fatal = r;
		sweep_finish(s);
		return;
	}
	akr_log_debug("Base credentials from %s",
		      akr_creds_source_to_string(akr_creds_provider_source(s->creds)));

	r = akr_assumed_role_new(&s->base_client, &p, &s->mgmt_role);
	if (r < 0) {
		s->fatal = akr_log_error_errno(r, "Cannot prepare the management role: %m");
		sweep_finish(s);
		return;
	}
	s->mgmt_client = s->base_client;
	s->mgmt_client.identity = akr_assumed_role_identity(s->mgmt_role);
	s->mgmt_client.key = "management";
	s->ses_client = s->mgmt_client;
	s->ses_client.region = s->cfg->email.region;
	s->ses_client.key = "ses";
	s->sns_client = s->mgmt_client;
	s->sns_client.region = akr_aws_env_sns_region(s->env);
	s->sns_client.key = "sns";

	if (s->o.mode != AKR_SWEEP_DRY_RUN) {
		struct akr_delivery_sender_options so = {
			.transport = akr_ses_send_raw_email,
			.configuration_set = s->cfg->email.configuration_set,
			.max_send_rate = s->cfg->email.max_send_rate,
		};
		r = akr_delivery_sender_new(s->loop, &s->ses_client, &so, &s->mailer);
		if (r < 0) {
			s->fatal = akr_log_error_errno(r, "Cannot set up the mail sender: %m");
			sweep_finish(s);
			return;
		}
	}

	r = akr__sweep_reconcile_start(s);
	if (r < 0) {
		s->fatal = akr_log_error_errno(r, "Cannot reconcile the state log: %m");
		sweep_finish(s);
	}
}

/* ---- the end ---- */

static void free_sweep_on_close(uv_handle_t *h)
{
	free(h->data);
}

static void call_done(uv_timer_t *t)
{
	struct akr_sweep *s = t->data;
	struct akr_report *report;

	if (s->done_called)
		return;
	s->done_called = true;
	report = TAKE_PTR(s->report);
	s->o.done(s->o.userdata, s->fatal, report);
}

/* metrics_file: the figures of a real sweep (a dry run or the start-up
 * reconciliation is not one) for node_exporter's textfile collector,
 * written last, so that the requests of the alerts are counted too. */
static void write_metrics(struct akr_sweep *s)
{
	struct akr_http_stats st = { 0 };
	struct akr_metrics_sweep m = { .report = s->report };
	int r;

	if (!s->cfg->metrics_file ||
	    (s->o.mode != AKR_SWEEP_ONCE && s->o.mode != AKR_SWEEP_SCHEDULED))
		return;
	/* The engine serves every sweep of the configuration: this sweep's
	 * share is what its counters grew by. */
	akr_http_get_stats(s->http, &st);
	m.requests = st.started + st.retries -
		     (s->http_at_start.started + s->http_at_start.retries); /* attempts: what AWS saw */
	m.throttled = st.throttled - s->http_at_start.throttled;
	m.success = s->fatal >= 0 && s->complete && !akr_report_has_failures(s->report);
	r = akr_metrics_write(s->cfg->metrics_file, &m);
	if (r < 0)
		akr_log_warning_errno(r, "Cannot write the metrics file '%s': %m",
				      s->cfg->metrics_file);
}

static void deliver_done(struct akr_sweep *s)
{
	write_metrics(s);
	s->finished = true;
	/* Through the loop, so done never runs inside akr_sweep_start(). */
	(void)uv_timer_start(&s->done_timer, call_done, 0, 0);
}

static void on_attention_sent(void *userdata, int r)
{
	struct akr_sweep *s = userdata;

	if (r >= 0)
		akr_log_full(LOG_INFO, 0, AKR_FIELDS(.message_id = AKR_MID_ALERT_PUBLISHED, .run_id = s->run_id),
			     "Attention alert (users that cannot be rotated) published to '%s'",
			     s->cfg->alerts.sns_topic_arn);
	deliver_done(s);
}

/* The attention alert: one message per real sweep listing the users that
 * cannot be rotated, whether or not anything failed (they are policy
 * outcomes, not failures: the exit status does not count them). */
static void publish_attention(struct akr_sweep *s)
{
	int r;

	if ((s->o.mode == AKR_SWEEP_ONCE || s->o.mode == AKR_SWEEP_SCHEDULED) && s->fatal >= 0 &&
	    s->cfg->alerts.notify_cannot_rotate && s->cfg->alerts.sns_topic_arn && s->mgmt_role) {
		r = akr_alert_publish_attention(&s->sns_client, s->cfg->alerts.sns_topic_arn,
						s->report, s->report_path, on_attention_sent, s);
		if (r >= 0)
			return;
		if (r != -ENODATA)
			akr_log_warning_errno(r, "Cannot publish the attention alert: %m");
	}
	deliver_done(s);
}

static void on_alert_sent(void *userdata, int r)
{
	struct akr_sweep *s = userdata;

	if (r >= 0)
		akr_log_full(LOG_INFO, 0, AKR_FIELDS(.message_id = AKR_MID_ALERT_PUBLISHED, .run_id = s->run_id),
			     "Failure summary published to '%s'", s->cfg->alerts.sns_topic_arn);
	publish_attention(s);
}

/* report_retention_days: by the sweep's clock, as the run ids in the names are. */
static void prune_reports(struct akr_sweep *s, int64_t now)
{
	size_t n = 0;
	int r;

	r = akr_report_prune(s->cfg->state_directory, now, s->cfg->report_retention_days, &n);
	if (r < 0)
		akr_log_warning_errno(r, "Cannot prune the old reports in '%s': %m",
				      s->cfg->state_directory);
	if (n > 0)
		akr_log_info("Removed %zu reports older than %d days from '%s'", n,
			     s->cfg->report_retention_days, s->cfg->state_directory);
}

static void sweep_finish(struct akr_sweep *s)
{
	struct akr_log_fields f = fields_of(s, AKR_MID_SWEEP_FINISHED);
	char summary[1024];
	int64_t now;
	int r;

	if (s->finishing)
		return;
	s->finishing = true;
	now = akr__sweep_now(s);
	akr_report_set_finished(s->report, now, s->complete && s->fatal >= 0);
	if (s->o.mode != AKR_SWEEP_DRY_RUN && s->o.mode != AKR_SWEEP_RECONCILE && s->o.statelog &&
	    s->fatal >= 0) {
		r = akr_statelog_record_last_run(s->o.statelog, now, s->run_id,
						 akr_report_has_failures(s->report) ? "failures" : "ok");
		if (r < 0)
			akr_log_warning_errno(r, "Cannot record the last run in the state log: %m");
	}
	/* A dry run leaves no trace in the state directory: its report is
	 * printed (or written where --report says) by the caller. */
	if (s->o.mode != AKR_SWEEP_DRY_RUN) {
		r = akr_report_write(s->report, s->cfg->state_directory, &s->report_path);
		if (r < 0)
			akr_log_warning_errno(r, "Cannot write the run report to '%s': %m",
					      s->cfg->state_directory);
		else
			prune_reports(s, now);
	}
	(void)akr_report_summary(s->report, summary, sizeof(summary));
	f.result = s->fatal < 0 ? "error" : akr_report_has_failures(s->report) ? "failures" : "ok";
	akr_log_full(akr_report_has_failures(s->report) || s->fatal < 0 ? LOG_WARNING : LOG_INFO, 0, &f,
		     "Sweep finished: %s%s%s", summary, s->report_path ? "; report " : "",
		     s->report_path ? s->report_path : "");

	if (s->o.mode != AKR_SWEEP_DRY_RUN && s->o.mode != AKR_SWEEP_RECONCILE &&
	    (s->fatal < 0 || akr_report_has_failures(s->report)) && s->cfg->alerts.sns_topic_arn &&
	    s->mgmt_role) {
		r = akr_alert_publish(&s->sns_client, s->cfg->alerts.sns_topic_arn, s->report,
				      s->report_path, s->fatal, on_alert_sent, s);
		if (r >= 0)
			return;
		akr_log_warning_errno(r, "Cannot publish the failure summary: %m");
	}
	publish_attention(s);
}

static void make_run_id(struct akr_sweep *s)
{
	uint8_t rnd[3] = { 0 };
	char stamp[20], hex[7];

	(void)RAND_bytes(rnd, sizeof(rnd));
	akr_hex_encode(rnd, sizeof(rnd), hex);
	(void)akr_time_format_amz(akr__sweep_now(s), stamp, sizeof(stamp));
	(void)snprintf(s->run_id, sizeof(s->run_id), "%s-%s", stamp, hex);
}

/* The policy's thresholds, from the configuration. */
static int setup_policy(struct akr_sweep *s)
{
	const struct akr_config *cfg = s->cfg;

	akr_policy_config_init(&s->policy);
	s->policy.rotate_after_days = cfg->policy.rotate_after_days;
	s->policy.deactivate_after_days = cfg->policy.deactivate_after_days;
	s->policy.delete_after_days = cfg->policy.delete_after_days;
	s->policy.reminder_days = cfg->policy.reminder_days;
	s->policy.enforce = cfg->policy.enforce;
	s->policy.delete_inactive_to_free_slot = cfg->policy.delete_inactive_to_free_slot;
	s->policy.email_tag = cfg->users.email_tag;
	s->policy.exempt_tag = cfg->users.exempt_tag;
	s->policy.allowed_email_domains = (const char *const *)cfg->users.allowed_email_domains;
	s->policy.n_allowed_email_domains = cfg->users.n_allowed_email_domains;
	return akr_policy_config_validate(&s->policy);
}

/* The AWS side: the configuration's environment (a reference), and the
 * client that signs with its base credentials. */
static void setup_aws(struct akr_sweep *s, struct akr_aws_env *env)
{
	const struct akr_config *cfg = s->cfg;

	s->env = akr_aws_env_ref(env);
	s->partition = akr_aws_env_partition(env);
	s->http = akr_aws_env_http(env);
	s->creds = akr_aws_env_creds(env);
	s->base_client = *akr_aws_env_base_client(env);
	akr_http_get_stats(s->http, &s->http_at_start);
	/* Enough accounts at once to fill the global cap even when each has
	 * one request in flight: an account spends most of its time in one
	 * call after another (AssumeRole, the credential report, ListUsers,
	 * then, with the pre-filter, few users to read), so in_flight /
	 * per_account accounts left the cap mostly empty (issue 11, B1). */
	s->max_parallel_accounts = (size_t)cfg->limits.max_requests_in_flight + 2;
}

/* The delivery side known before any credentials: the zip encryption, the
 * mail templates and the address book. The sender needs the SES client
 * (on_base_creds). */
static int setup_delivery(struct akr_sweep *s)
{
	const struct akr_config *cfg = s->cfg;
	struct akr_error err = { 0 };
	char detail[768];
	int r;

	s->zip_encryption = cfg->email.zip_encryption;
	if (cfg->email.template_directory) {
		r = akr_templates_load(cfg->email.template_directory, &s->templates, &err);
		if (r < 0) {
			akr_log_error("Cannot load the mail templates: %s",
				      akr_error_describe_errno(&err, r, detail, sizeof(detail)));
			return r;
		}
	}
	if (s->o.mode != AKR_SWEEP_RECONCILE) {
		/* The takeover defence's memory: damaged, it fails the sweep
		 * rather than trust the email tags. */
		r = akr_addressbook_open(cfg->state_directory, s->o.mode == AKR_SWEEP_DRY_RUN,
					 &s->addresses, &err);
		if (r < 0) {
			akr_log_error("Cannot open the address book: %s",
				      akr_error_describe_errno(&err, r, detail, sizeof(detail)));
			return r;
		}
	}
	return 0;
}

/* What a sweep cannot start without. */
static int check_options(const struct akr_sweep_options *opts)
{
	if (!opts->config || !opts->done || (opts->mode != AKR_SWEEP_DRY_RUN && !opts->statelog) ||
	    (opts->env && akr_aws_env_config(opts->env) != opts->config))
		return -EINVAL;
	if (!opts->env) {
		akr_log_error("No usable AWS region or endpoint configuration (see the error "
			      "logged when the configuration was loaded)");
		return -EINVAL;
	}
	return 0;
}

/* The sweep's memory and its done timer, the run id and the jitter. */
static int sweep_new(uv_loop_t *loop, const struct akr_sweep_options *opts, struct akr_sweep **ret)
{
	struct akr_sweep *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->o = *opts;
	s->cfg = opts->config;
	akr_defer_set_init(&s->deferred, loop);
	akr_paging_init(&s->accounts_paging, "ListAccounts", 0);
	akr_seen_init(&s->account_ids, SWEEP_MAX_ACCOUNTS);
	r = uv_timer_init(loop, &s->done_timer);
	if (r < 0) {
		free(s);
		return r;
	}
	s->done_timer.data = s;
	if (opts->run_id)
		(void)snprintf(s->run_id, sizeof(s->run_id), "%s", opts->run_id);
	else
		make_run_id(s);
	akr_retry_rng_seed(&s->rng, (uint64_t)(uintptr_t)s);
	*ret = s;
	return 0;
}

int akr_sweep_start(uv_loop_t *loop, const struct akr_sweep_options *opts, struct akr_sweep **ret)
{
	struct akr_sweep *s;
	int r;

	r = check_options(opts);
	if (r >= 0)
		r = sweep_new(loop, opts, &s);
	if (r < 0)
		return r;
	setup_aws(s, opts->env);
	r = setup_policy(s);
	if (r < 0)
		goto fail;
	s->report = akr_report_new(s->run_id, akr_sweep_mode_to_string(opts->mode), akr__sweep_now(s));
	if (!s->report) {
		r = -ENOMEM;
		goto fail;
	}
	r = setup_delivery(s);
	if (r < 0)
		goto fail;

	akr_log_full(LOG_INFO, 0, AKR_FIELDS(.message_id = AKR_MID_SWEEP_STARTED, .run_id = s->run_id),
		     "Sweep %s started (%s)", s->run_id, akr_sweep_mode_to_string(opts->mode));
	r = akr_creds_provider_resolve(s->creds, on_base_creds, s);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;

fail:
	s->done_called = true;
	akr_sweep_free(s);
	return r;
}

void akr_sweep_stop(struct akr_sweep *s)
{
	if (!s || s->stopping)
		return;
	s->stopping = true;
	/* Whatever was in flight is cut short (an account half read, a user
	 * not acted on): the report says the run was partial
	 * (docs/report.md "complete"). */
	if (!s->finishing)
		s->complete = false;
	akr_log_info("Stopping the sweep: requests in flight are canceled, interrupted rotations "
		     "rolled back (for at most %d s)", s->cfg->limits.stop_timeout_sec);
	/* No request is attempted again; what a rollback or the alert still
	 * sends ends within the stop timeout. */
	akr_http_shutdown(s->http, (int64_t)s->cfg->limits.stop_timeout_sec * 1000);
	/* Mails still queued for the SES rate are not sent: their rotations
	 * are rolled back now (their callbacks run from inside this call), so
	 * the rollbacks, not the queue, get the time left. Later sends fail
	 * with -EINVAL and roll back likewise. */
	if (s->mailer)
		akr_delivery_sender_free(TAKE_PTR(s->mailer));
	/* Deferred retries run now and see the stop. */
	akr_defer_hurry_all(&s->deferred);
	/* Finish now only when nothing is in flight; otherwise the last
	 * callback of what is in flight finishes the sweep. */
	if (!s->finishing && !s->listing_accounts && s->running_accounts == 0 &&
	    s->reconcile_pending == 0 && s->n_accounts > 0)
		dispatch_accounts(s);
}

struct akr_sweep *akr_sweep_free(struct akr_sweep *s)
{
	if (!s)
		return NULL;
	/* Normally none is left: each holds up the end of the sweep. */
	akr_defer_cancel_all(&s->deferred);
	while (s->running)
		account_free(s->running);
	for (size_t i = 0; i < s->n_accounts; i++)
		free(s->accounts[i].id);
	free(s->accounts);
	akr_paging_done(&s->accounts_paging);
	akr_seen_done(&s->account_ids);
	for (size_t i = 0; i < s->n_blocked_users; i++)
		free(s->blocked_users[i]);
	free(s->blocked_users);
	if (s->mailer)
		akr_delivery_sender_free(s->mailer);
	s->mgmt_role = akr_assumed_role_free(s->mgmt_role);
	akr_templates_free(s->templates);
	akr_addressbook_free(s->addresses);
	s->env = akr_aws_env_unref(s->env);
	akr_report_free(s->report);
	free(s->next_token);
	free(s->report_path);
	/* The timer is embedded in the sweep: free the memory from its close callback. */
	s->done_timer.data = s;
	uv_close((uv_handle_t *)&s->done_timer, free_sweep_on_close);
	return NULL;
}
