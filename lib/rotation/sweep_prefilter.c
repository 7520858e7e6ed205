/* The credential-report pre-filter of one account (docs/policy.md "Who is
 * read in full"): GenerateCredentialReport until IAM says COMPLETE (polled
 * with a growing delay from the loop, never blocking), GetCredentialReport
 * read row by row into the account's set of ruled-out users, then the users
 * are listed as without it. Any failure reads the account in full. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/credreport.h"
#include "lib/aws/iam.h"
#include "lib/base/log.h"
#include "lib/rotation/addressbook.h"
#include "lib/rotation/config.h"
#include "lib/rotation/prefilter.h"
#include "lib/rotation/statelog.h"
#include "lib/rotation/sweep-internal.h"

/* Polling GenerateCredentialReport: 1 s, doubling up to 8 s, for at most 5
 * minutes (IAM makes a report of 5,000 users in well under a minute). */
#define POLL_FIRST_MS 1000
#define POLL_MAX_MS 8000
#define WAIT_MAX_MS (5 * 60 * 1000)
/* GetCredentialReport answering ReportExpired/ReportNotPresent after a
 * COMPLETE: generate again this many times at most. */
#define REGENERATE_MAX 3

struct sweep_prefilter {
	struct sweep_account *a;
	struct akr_prefilter_set set;
	uint64_t started_ms;
	int64_t delay_ms;
	unsigned regenerations;
	bool usable;
};

struct sweep_prefilter *akr__sweep_prefilter_free(struct sweep_prefilter *pf)
{
	if (pf) {
		akr_prefilter_set_done(&pf->set);
		free(pf);
	}
	return NULL;
}

/* No report: the account is read in full, and the journal and the report
 * say so once. */
static void fall_back(struct sweep_prefilter *pf, const char *why, const struct akr_error *err)
{
	struct sweep_account *a = pf->a;
	struct akr_sweep *s = a->s;
	char detail[768] = "";

	if (err && err->kind != AKR_ERROR_NONE)
		(void)akr_error_describe(err, detail, sizeof(detail));
	akr_log_full(LOG_WARNING, 0,
		     AKR_FIELDS(.message_id = AKR_MID_CREDENTIAL_REPORT, .run_id = s->run_id,
				.account_id = a->id, .result = "unavailable",
				.error_code = err && err->code[0] ? err->code : NULL),
		     "No credential report for account %s (%s%s%s); reading every user in full",
		     a->id, why, detail[0] ? ": " : "", detail);
	akr_report_totals(s->report)->accounts_without_credential_report++;
	a->prefilter = akr__sweep_prefilter_free(pf);
	akr__sweep_account_read_users(a);
}

static int on_row(void *userdata, const struct akr_credreport_row *row, const char *invalid)
{
	struct sweep_prefilter *pf = userdata;

	return akr_prefilter_set_add(&pf->set, &pf->a->s->policy, akr__sweep_now(pf->a->s), row, invalid);
}

static int force_read(void *userdata, const char *user)
{
	return akr_prefilter_set_force_read(userdata, user);
}

static void generate(struct sweep_prefilter *pf);

static void on_get(void *userdata, int r, const struct akr_credreport_info *info,
		   const struct akr_error *err)
{
	struct sweep_prefilter *pf = userdata;
	struct sweep_account *a = pf->a;
	struct akr_sweep *s = a->s;

	if (r < 0 && err &&
	    (strcmp(err->code, "ReportInProgress") == 0 ||
	     strcmp(err->code, "ReportExpired") == 0 || strcmp(err->code, "ReportNotPresent") == 0) &&
	    pf->regenerations++ < REGENERATE_MAX && !s->stopping) {
		akr_prefilter_set_done(&pf->set);
		akr_prefilter_set_init(&pf->set);
		generate(pf);
		return;
	}
	if (r < 0) {
		fall_back(pf, "GetCredentialReport failed", err);
		return;
	}
	if (!akr_prefilter_report_usable(info->generated_sec, akr__sweep_now(s))) {
		fall_back(pf, "the report's GeneratedTime is more than a day from the sweep's clock",
			  NULL);
		return;
	}
	r = akr_statelog_foreach_user(s->o.statelog, a->id, force_read, &pf->set);
	if (r >= 0)
		r = akr_prefilter_set_finish(&pf->set);
	if (r < 0) {
		fall_back(pf, strerror(-r), NULL);
		return;
	}
	pf->usable = true;
	akr_report_totals(s->report)->accounts_with_credential_report++;
	akr_log_debug("Credential report of account %s: %zu rows (%zu malformed), %zu users "
		      "with nothing due",
		      a->id, pf->set.n_rows, pf->set.n_malformed, pf->set.n_clear);
	akr__sweep_account_read_users(a);
}

/* A stop while waiting for the report: no report is needed any more (the
 * account stops before its users). */
static void stopped(struct sweep_prefilter *pf)
{
	struct sweep_account *a = pf->a;

	a->prefilter = akr__sweep_prefilter_free(pf);
	akr__sweep_account_read_users(a);
}

static void poll_again(void *arg)
{
	struct sweep_prefilter *pf = arg;

	if (pf->a->s->stopping)
		stopped(pf);
	else
		generate(pf);
}

static void on_generate(void *userdata, int r, enum akr_credreport_state state,
			const struct akr_error *err)
{
	struct sweep_prefilter *pf = userdata;
	struct akr_sweep *s = pf->a->s;

	if (r < 0) {
		fall_back(pf, "GenerateCredentialReport failed", err);
		return;
	}
	if (s->stopping) {
		stopped(pf);
		return;
	}
	if (state == AKR_CREDREPORT_COMPLETE) {
		r = akr_credreport_get(&pf->a->client, on_row, on_get, pf);
		if (r < 0)
			fall_back(pf, strerror(-r), NULL);
		return;
	}
	if (uv_now(s->loop) - pf->started_ms > WAIT_MAX_MS) {
		fall_back(pf, "not complete after 5 minutes", NULL);
		return;
	}
	r = akr__sweep_defer(s, pf->delay_ms, poll_again, pf);
	if (r < 0) {
		fall_back(pf, strerror(-r), NULL);
		return;
	}
	pf->delay_ms = pf->delay_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : pf->delay_ms * 2;
}

static void generate(struct sweep_prefilter *pf)
{
	int r = akr_credreport_generate(&pf->a->client, on_generate, pf);

	if (r < 0)
		fall_back(pf, strerror(-r), NULL);
}

void akr__sweep_prefilter_start(struct sweep_account *a)
{
	struct sweep_prefilter *pf;

	if (!a->s->cfg->limits.credential_report || a->s->o.mode == AKR_SWEEP_RECONCILE) {
		akr__sweep_account_read_users(a);
		return;
	}
	pf = calloc(1, sizeof(*pf));
	if (!pf) {
		akr_report_totals(a->s->report)->accounts_without_credential_report++;
		akr__sweep_account_read_users(a);
		return;
	}
	pf->a = a;
	akr_prefilter_set_init(&pf->set);
	pf->started_ms = uv_now(a->s->loop);
	pf->delay_ms = POLL_FIRST_MS;
	a->prefilter = pf;
	generate(pf);
}

bool akr__sweep_prefilter_skips(struct sweep_account *a, const struct akr_iam_user *u)
{
	const struct akr_address_entry *e;

	if (!a->prefilter || !a->prefilter->usable)
		return false;
	if (!akr_prefilter_set_clears(&a->prefilter->set, u->name, u->create_date_sec))
		return false;
	/* A change of address waiting for its hold: the user's sweep carries it. */
	e = a->s->addresses ? akr_addressbook_get(a->s->addresses, a->id, u->name) : NULL;
	if (e && e->pending)
		return false;
	return !akr__sweep_user_blocked(a->s, a->id, u->name);
}
