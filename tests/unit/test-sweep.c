/* lib/rotation/sweep.c against an injected transport (akr_aws_env's
 * transport, as lib/delivery takes its own): the sweep runs a dry run over
 * one member account whose answers the test writes in AWS's wire formats
 * (aws-wire.md §4–§7). Paging of ListUsers, one user whose ListAccessKeys
 * answer is malformed, and a stop while requests are in flight.
 *
 * The loop is stepped (UV_RUN_NOWAIT) a bounded number of times until the
 * state a test needs: no test waits for a clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <uv.h>

#include "lib/aws/client.h"
#include "lib/base/clock.h"
#include "lib/base/defer.h"
#include "lib/base/error.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/base/timeutil.h"
#include "lib/http/engine.h"
#include "lib/rotation/aws_env.h"
#include "lib/rotation/config.h"
#include "lib/rotation/report.h"
#include "lib/rotation/sweep.h"
#include "lib/rotation/sweep-internal.h"
#include "tests/unit/testutil.h"

#define MGMT "111111111111"
#define DEV "222222222222"
#define ROLE_ARN "arn:aws:iam::" MGMT ":role/provisioning-admin"
#define NOW "2026-12-01T12:00:00Z"
#define MAX_USERS 32
#define MAX_STEPS 100000

/* ---- the fake AWS: one request, answered (or held) from the loop ---- */

struct fake;

struct fake_req {
	struct fake *f;
	char action[64];
	char user[96];   /* UserName= */
	char marker[96]; /* Marker= */
	char role[300];  /* RoleArn= */
	akr_http_done_cb cb;
	void *userdata;
	int (*parse_error)(long status, const char *body, size_t len, struct akr_error *reterr);
	long status;
	char *body; /* the answer, owned */
	bool cancel;
	struct fake_req *next; /* on f->held */
};

struct fake {
	struct akr_defer_set answers;
	/* The scenario. */
	size_t n_users, page_size;
	size_t n_more_accounts; /* listed after DEV: 3333333333NN, each with n_users */
	const char *bad_user; /* its ListAccessKeys answer is malformed */
	bool hold_user_reads; /* ListUserTags is held until released */
	/* What the sweep asked. */
	unsigned calls, list_users, list_accounts, assume_role, unexpected;
	char list_users_markers[8][96];
	bool keys_listed[MAX_USERS];
	struct fake_req *held;
	size_t n_held;
};

static void form_get(const char *body, size_t len, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name), o = 0;
	const char *p = body, *end = body + len;

	out[0] = '\0';
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			for (const char *q = p + nlen + 1; q < stop && o + 1 < size; q++) {
				unsigned v;

				if (*q == '%' && stop - q >= 3 && sscanf(q + 1, "%2x", &v) == 1) {
					out[o++] = (char)v;
					q += 2;
				} else
					out[o++] = *q == '+' ? ' ' : *q;
			}
			out[o] = '\0';
			return;
		}
		p = stop + 1;
	}
}

static char *xasprintf(const char *fmt, ...) _printf_(1, 2);
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

#define IAM_NS "https://iam.amazonaws.com/doc/2010-05-08/"
#define META "<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>"

static char *answer_assume_role(const struct fake_req *q)
{
	char account[13] = { 0 };

	/* "arn:aws:iam::ACCOUNT:role/NAME" */
	assert_int_equal(strncmp(q->role, "arn:aws:iam::", 13), 0);
	memcpy(account, q->role + 13, 12);
	return xasprintf(
		"<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
		"<AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROA3XFRBF535PLBIFPI4:rotator"
		"</AssumedRoleId><Arn>arn:aws:sts::%s:assumed-role/provisioning-admin/rotator</Arn>"
		"</AssumedRoleUser><Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
		"<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>"
		"<SessionToken>FwoGZXIvYXdzEXAMPLETOKEN</SessionToken>"
		"<Expiration>2099-01-15T11:20:30Z</Expiration></Credentials></AssumeRoleResult>"
		META "</AssumeRoleResponse>",
		account);
}

static char *answer_list_users(struct fake *f, const struct fake_req *q)
{
	size_t first = 0, end;
	char *users = xasprintf("%s", ""), *out;

	if (q->marker[0])
		assert_int_equal(sscanf(q->marker, "page-from-%zu", &first), 1);
	assert_true(f->list_users < 8);
	(void)snprintf(f->list_users_markers[f->list_users], sizeof(f->list_users_markers[0]), "%s",
		       q->marker);
	f->list_users++;
	end = first + f->page_size < f->n_users ? first + f->page_size : f->n_users;
	for (size_t i = first; i < end; i++) {
		char *more = xasprintf(
			"%s<member><Path>/</Path><UserName>u%zu</UserName>"
			"<UserId>AIDA2MAB8DPLSRHEX%03zu</UserId>"
			"<Arn>arn:aws:iam::" DEV ":user/u%zu</Arn>"
			"<CreateDate>2012-09-05T19:38:48Z</CreateDate></member>",
			users, i, i, i);
		free(users);
		users = more;
	}
	if (end < f->n_users)
		out = xasprintf("<ListUsersResponse xmlns=\"" IAM_NS "\"><ListUsersResult><Users>%s"
				"</Users><IsTruncated>true</IsTruncated><Marker>page-from-%zu</Marker>"
				"</ListUsersResult>" META "</ListUsersResponse>",
				users, end);
	else
		out = xasprintf("<ListUsersResponse xmlns=\"" IAM_NS "\"><ListUsersResult><Users>%s"
				"</Users><IsTruncated>false</IsTruncated></ListUsersResult>" META
				"</ListUsersResponse>",
				users);
	free(users);
	return out;
}

static char *answer_list_access_keys(struct fake *f, const struct fake_req *q)
{
	size_t i;

	assert_int_equal(sscanf(q->user, "u%zu", &i), 1);
	assert_true(i < f->n_users && i < MAX_USERS);
	f->keys_listed[i] = true;
	if (f->bad_user && strcmp(q->user, f->bad_user) == 0)
		/* Cut off in the middle of an element. */
		return xasprintf("<ListAccessKeysResponse xmlns=\"" IAM_NS "\"><ListAccessKeysResult>"
				 "<AccessKeyMetadata><member><UserName>%s</UserName><AccessKeyId>AKIA",
				 q->user);
	/* One key, 11 days old at NOW: nothing is due. */
	return xasprintf("<ListAccessKeysResponse xmlns=\"" IAM_NS "\"><ListAccessKeysResult>"
			 "<AccessKeyMetadata><member><UserName>%s</UserName>"
			 "<AccessKeyId>AKIA1111111EXAMP%04zu</AccessKeyId><Status>Active</Status>"
			 "<CreateDate>2026-11-20T10:00:00Z</CreateDate></member></AccessKeyMetadata>"
			 "<IsTruncated>false</IsTruncated></ListAccessKeysResult>" META
			 "</ListAccessKeysResponse>",
			 q->user, i);
}

static char *answer_list_accounts(const struct fake *f)
{
	char *accounts = xasprintf(
		"{\"Id\": \"" DEV "\", \"Arn\": \"arn:aws:organizations::" MGMT
		":account/o-exampleorgid/" DEV "\", \"Email\": \"dev@example.com\", \"Name\": "
		"\"Developer Account\", \"Status\": \"ACTIVE\", \"State\": \"ACTIVE\", "
		"\"JoinedMethod\": \"INVITED\", \"JoinedTimestamp\": 1481830215.45}");
	char *out;

	for (size_t i = 0; i < f->n_more_accounts; i++) {
		char *more = xasprintf(
			"%s, {\"Id\": \"3333333333%02zu\", \"Arn\": \"arn:aws:organizations::" MGMT
			":account/o-exampleorgid/3333333333%02zu\", \"Email\": \"a%zu@example.com\", "
			"\"Name\": \"Account %zu\", \"Status\": \"ACTIVE\", \"State\": \"ACTIVE\", "
			"\"JoinedMethod\": \"INVITED\", \"JoinedTimestamp\": 1481830215.45}",
			accounts, i, i, i, i);
		free(accounts);
		accounts = more;
	}
	out = xasprintf("{\"Accounts\": [%s]}", accounts);
	free(accounts);
	return out;
}

static void fake_answer(struct fake *f, struct fake_req *q)
{
	if (strcmp(q->action, "AssumeRole") == 0) {
		f->assume_role++;
		q->body = answer_assume_role(q);
	} else if (strcmp(q->action, "ListAccounts") == 0) {
		f->list_accounts++;
		q->body = answer_list_accounts(f);
	} else if (strcmp(q->action, "ListUsers") == 0) {
		q->body = answer_list_users(f, q);
	} else if (strcmp(q->action, "ListUserTags") == 0) {
		q->body = xasprintf("<ListUserTagsResponse xmlns=\"" IAM_NS "\"><ListUserTagsResult>"
				    "<Tags><member><Key>email</Key><Value>%s@example.com</Value>"
				    "</member></Tags><IsTruncated>false</IsTruncated>"
				    "</ListUserTagsResult>" META "</ListUserTagsResponse>",
				    q->user);
	} else if (strcmp(q->action, "ListAccessKeys") == 0) {
		q->body = answer_list_access_keys(f, q);
	} else {
		/* Nothing else belongs in a dry run where nothing is due. */
		f->unexpected++;
		print_error("unexpected call %s\n", q->action);
		q->status = 400;
		q->body = xasprintf("<ErrorResponse xmlns=\"" IAM_NS "\"><Error><Type>Sender</Type>"
				    "<Code>InvalidAction</Code><Message>not in this test</Message>"
				    "</Error><RequestId>1</RequestId></ErrorResponse>");
	}
}

static void fake_deliver(void *userdata)
{
	struct fake_req *q = userdata;
	struct akr_error err = { 0 };
	struct akr_http_response resp = { .status = q->status,
					  .body = q->body,
					  .body_len = q->body ? strlen(q->body) : 0,
					  .attempts = 1 };

	if (q->cancel) {
		/* What the engine's shutdown does to a request on the wire. */
		akr_error_set(&err, AKR_ERROR_LOCAL, 0, "canceled", "request canceled");
		q->cb(q->userdata, -ECANCELED, NULL, &err);
	} else if (q->status >= 300) {
		(void)q->parse_error(q->status, q->body, resp.body_len, &err);
		err.http_status = q->status;
		q->cb(q->userdata, -EPROTO, &resp, &err);
	} else
		q->cb(q->userdata, 0, &resp, NULL);
	free(q->body);
	free(q);
}

/* akr_aws_transport_fn: the contract of akr_http_request_start(). */
static int fake_transport(void *transport_data, const struct akr_http_request_desc *desc,
			  akr_http_done_cb cb, void *userdata)
{
	struct fake *f = transport_data;
	struct fake_req *q = calloc(1, sizeof(*q));
	const char *body = (const char *)desc->body;
	int r;

	assert_non_null(q);
	*q = (struct fake_req){ .f = f, .cb = cb, .userdata = userdata,
				.parse_error = desc->parse_error, .status = 200 };
	f->calls++;
	for (size_t i = 0; i < desc->n_headers; i++)
		if (strcasecmp(desc->headers[i].name, "X-Amz-Target") == 0) {
			const char *dot = strrchr(desc->headers[i].value, '.');
			(void)snprintf(q->action, sizeof(q->action), "%s",
				       dot ? dot + 1 : desc->headers[i].value);
		}
	if (!q->action[0])
		form_get(body, desc->body_len, "Action", q->action, sizeof(q->action));
	form_get(body, desc->body_len, "UserName", q->user, sizeof(q->user));
	form_get(body, desc->body_len, "Marker", q->marker, sizeof(q->marker));
	form_get(body, desc->body_len, "RoleArn", q->role, sizeof(q->role));
	if (f->hold_user_reads && strcmp(q->action, "ListUserTags") == 0) {
		q->next = f->held;
		f->held = q;
		f->n_held++;
		return 0;
	}
	fake_answer(f, q);
	r = akr_defer(&f->answers, 0, fake_deliver, q);
	if (r < 0) {
		free(q->body);
		free(q);
	}
	return r;
}

/* The held requests are answered after all. */
static void fake_release_held(struct fake *f)
{
	while (f->held) {
		struct fake_req *q = f->held;

		f->held = q->next;
		fake_answer(f, q);
		assert_int_equal(akr_defer(&f->answers, 0, fake_deliver, q), 0);
	}
	f->n_held = 0;
}

/* The held requests fail as the engine's shutdown fails them. */
static void fake_cancel_held(struct fake *f)
{
	while (f->held) {
		struct fake_req *q = f->held;

		f->held = q->next;
		q->cancel = true;
		assert_int_equal(akr_defer(&f->answers, 0, fake_deliver, q), 0);
	}
	f->n_held = 0;
}

/* ---- one sweep ---- */

struct run {
	uv_loop_t loop;
	struct fake fake;
	struct akr_config *cfg;
	struct akr_aws_env *env;
	struct akr_sweep *sweep;
	bool done;
	int r;
	struct akr_report *report;
};

static void on_done(void *userdata, int r, struct akr_report *report)
{
	struct run *run = userdata;

	assert_false(run->done);
	run->done = true;
	run->r = r;
	run->report = report;
}

static int setup(void **state)
{
	(void)state;
	akr_log_setup(AKR_LOG_STDERR, LOG_WARNING);
	/* The base credentials: the environment's, and nothing else. */
	(void)unsetenv("CREDENTIALS_DIRECTORY");
	(void)unsetenv("AWS_PROFILE");
	(void)unsetenv("AWS_SESSION_TOKEN");
	(void)unsetenv("AWS_ENDPOINT_URL");
	(void)unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	(void)unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	(void)unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	(void)unsetenv("STATE_DIRECTORY");
	(void)setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", 1);
	(void)setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1);
	(void)setenv("AWS_REGION", "us-east-1", 1);
	(void)setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config", 1);
	(void)setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials", 1);
	(void)setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	return 0;
}

static void run_init(struct run *run)
{
	struct akr_error err = { 0 };

	memset(run, 0, sizeof(*run));
	assert_int_equal(uv_loop_init(&run->loop), 0);
	akr_defer_set_init(&run->fake.answers, &run->loop);
	run->fake.page_size = 4;
	/* The defaults, with the two required settings. A dry run only reads
	 * the state directory, and one that does not exist is empty. */
	run->cfg = akr_config_new_default();
	assert_non_null(run->cfg);
	free(run->cfg->state_directory);
	run->cfg->state_directory = strdup("/nonexistent/test-sweep-state");
	run->cfg->organization.management_role_arn = strdup(ROLE_ARN);
	run->cfg->email.sender = strdup("rotator@example.com");
	/* These tests read every user in full; the fake transport has no
	 * credential report (the pre-filter is on by default). */
	run->cfg->limits.credential_report = false;
	assert_non_null(run->cfg->state_directory);
	assert_non_null(run->cfg->organization.management_role_arn);
	assert_non_null(run->cfg->email.sender);
	assert_int_equal(akr_config_resolve_aws(run->cfg, &err), 0);
	assert_int_equal(akr_aws_env_new(&run->loop, run->cfg,
					 &(struct akr_aws_env_options){
						 .transport = fake_transport,
						 .transport_data = &run->fake },
					 &run->env, &err),
			 0);
}

static void run_start(struct run *run)
{
	struct akr_sweep_options o = {
		.config = run->cfg,
		.env = run->env,
		.mode = AKR_SWEEP_DRY_RUN,
		.run_id = "test-run",
		.done = on_done,
		.userdata = run,
	};
	int64_t now;

	assert_int_equal(akr_time_parse_iso8601(NOW, &now), 0);
	akr_clock_init_at(&o.clock, now);
	assert_int_equal(akr_sweep_start(&run->loop, &o, &run->sweep), 0);
	/* Never from inside the start. */
	assert_false(run->done);
}

/* Step the loop a bounded number of times until the sweep is done, or
 * until @n requests are held. */
static void run_until_done(struct run *run)
{
	for (unsigned i = 0; i < MAX_STEPS && !run->done; i++)
		(void)uv_run(&run->loop, UV_RUN_NOWAIT);
	assert_true(run->done);
}

static void run_until_held(struct run *run, size_t n)
{
	for (unsigned i = 0; i < MAX_STEPS && run->fake.n_held < n && !run->done; i++)
		(void)uv_run(&run->loop, UV_RUN_NOWAIT);
	assert_false(run->done);
	assert_int_equal(run->fake.n_held, n);
}

static void run_done(struct run *run)
{
	run->sweep = akr_sweep_free(run->sweep);
	run->report = akr_report_free(run->report);
	run->env = akr_aws_env_unref(run->env);
	/* Nothing the sweep, the engine or the fake opened is left. */
	assert_false(akr_defer_pending(&run->fake.answers));
	(void)uv_run(&run->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&run->loop), 0);
	run->cfg = akr_config_free(run->cfg);
}

static const struct akr_report_row *find_row(const struct akr_report *r, const char *user)
{
	for (size_t i = 0; i < akr_report_n_rows(r); i++) {
		const struct akr_report_row *row = akr_report_row(r, i);
		if (row->user_name && strcmp(row->user_name, user) == 0)
			return row;
	}
	return NULL;
}

static bool report_complete(const struct akr_report *r)
{
	int64_t started, finished;
	bool complete = false;

	akr_report_get_times(r, &started, &finished, &complete);
	assert_true(finished > 0);
	return complete;
}

/* ---- the tests ---- */

static void test_paging_sees_every_user(void **state)
{
	struct run run;
	const struct akr_report_totals *t;

	(void)state;
	run_init(&run);
	run.fake.n_users = 10; /* pages of 4, 4 and 2 */
	run_start(&run);
	run_until_done(&run);
	assert_int_equal(run.r, 0);
	assert_non_null(run.report);

	/* Three ListUsers calls, each with the Marker of the page before. */
	assert_int_equal(run.fake.list_users, 3);
	assert_string_equal(run.fake.list_users_markers[0], "");
	assert_string_equal(run.fake.list_users_markers[1], "page-from-4");
	assert_string_equal(run.fake.list_users_markers[2], "page-from-8");
	for (size_t i = 0; i < run.fake.n_users; i++)
		assert_true(run.fake.keys_listed[i]);
	t = akr_report_get_totals(run.report);
	assert_int_equal(t->users_seen, 10);
	assert_int_equal(t->users_failed, 0);
	assert_int_equal(t->accounts_listed, 1);
	assert_false(akr_report_has_failures(run.report));
	assert_true(report_complete(run.report));
	assert_int_equal(run.fake.list_accounts, 1);
	assert_int_equal(run.fake.assume_role, 2); /* the management role, then the member role */
	assert_int_equal(run.fake.unexpected, 0);
	run_done(&run);
}

static void test_one_bad_user(void **state)
{
	struct run run;
	const struct akr_report_totals *t;
	const struct akr_report_row *row;

	(void)state;
	run_init(&run);
	run.fake.n_users = 6;
	run.fake.bad_user = "u2";
	run_start(&run);
	run_until_done(&run);
	assert_int_equal(run.r, 0);

	/* u2 is reported as a user that could not be read ... */
	row = find_row(run.report, "u2");
	assert_non_null(row);
	assert_int_equal(row->outcome, AKR_OUTCOME_FAILED);
	assert_non_null(row->error);
	testutil_assert_has(row->error, "ListAccessKeys");
	t = akr_report_get_totals(run.report);
	assert_int_equal(t->users_failed, 1);
	assert_int_equal(t->users_seen, 6);
	/* ... and every other user was read to the end, without a row. */
	for (size_t i = 0; i < run.fake.n_users; i++) {
		char name[32];

		(void)snprintf(name, sizeof(name), "u%zu", i);
		assert_true(run.fake.keys_listed[i]);
		if (i != 2)
			assert_null(find_row(run.report, name));
	}
	assert_true(report_complete(run.report));
	assert_int_equal(run.fake.unexpected, 0);
	run_done(&run);
}

static void test_stop_mid_sweep(void **state)
{
	struct run run;
	const struct akr_report_totals *t;

	(void)state;
	run_init(&run);
	run.fake.n_users = 10;
	run.fake.hold_user_reads = true;
	run_start(&run);
	/* The first page's four users are on the wire. */
	run_until_held(&run, 4);
	akr_sweep_stop(run.sweep);
	akr_sweep_stop(run.sweep); /* a second stop changes nothing */
	/* The engine's shutdown cancels what is on the wire. */
	fake_cancel_held(&run.fake);
	run_until_done(&run);
	assert_int_equal(run.r, 0);
	assert_non_null(run.report);
	/* No further page was asked for; the report says the run is partial. */
	assert_int_equal(run.fake.list_users, 1);
	assert_false(report_complete(run.report));
	assert_true(akr_report_has_failures(run.report));
	t = akr_report_get_totals(run.report);
	assert_int_equal(t->users_seen, 4);
	assert_int_equal(t->users_failed, 4);
	assert_int_equal(run.fake.unexpected, 0);
	run_done(&run);
}

/* The sweep holds a record (role, listing, pre-filter, page) for the
 * accounts in progress only: one waiting for its turn is its id and name,
 * one finished lives on in the report alone. Before, every account listed
 * kept its record until the end of the sweep (issue 11, B3). */
static void test_account_records_follow_the_accounts_in_progress(void **state)
{
	struct run run;
	const struct akr_report_totals *t;
	size_t steps = 0;

	(void)state;
	run_init(&run);
	run.fake.n_users = 1;
	run.fake.n_more_accounts = 7; /* 8 accounts */
	run.fake.hold_user_reads = true;
	/* At most max_requests_in_flight + 2 = 3 accounts at once. */
	run.cfg->limits.max_requests_in_flight = 1;
	/* Each account's rate cap is set at its start, dropped at its end. */
	run.cfg->limits.iam_requests_per_second_per_account = 5;
	run_start(&run);
	/* Each running account has its one user on the wire, held. */
	run_until_held(&run, 3);
	assert_int_equal(akr__sweep_account_records(run.sweep), 3);
	/* Release them a round at a time: never more records than accounts
	 * running. */
	while (!run.done && steps++ < MAX_STEPS) {
		if (run.fake.n_held > 0)
			fake_release_held(&run.fake);
		(void)uv_run(&run.loop, UV_RUN_NOWAIT);
		assert_true(akr__sweep_account_records(run.sweep) <= 3);
	}
	assert_true(run.done);
	assert_int_equal(run.r, 0);
	/* Every account finished: none is held, all are in the report, and
	 * the engine holds no rate for them any more. */
	assert_int_equal(akr__sweep_account_records(run.sweep), 0);
	assert_true(akr_http_get_rate(run.sweep->http, DEV) == 0);
	assert_true(akr_http_get_rate(run.sweep->http, "333333333306") == 0);
	t = akr_report_get_totals(run.report);
	assert_int_equal(t->accounts_listed, 8);
	assert_int_equal(t->accounts_done, 8);
	assert_int_equal(t->users_seen, 8);
	assert_false(akr_report_has_failures(run.report));
	assert_true(report_complete(run.report));
	assert_int_equal(run.fake.unexpected, 0);
	run_done(&run);
}

/* A reload drops the daemon's reference to the environment while a sweep
 * runs in it: the sweep's own reference keeps it (and its engine) alive
 * until akr_sweep_free(). */
static void test_environment_outlives_its_reload(void **state)
{
	struct run run;

	(void)state;
	run_init(&run);
	run.fake.n_users = 5;
	run_start(&run);
	run.env = akr_aws_env_unref(run.env);
	run_until_done(&run);
	assert_int_equal(run.r, 0);
	assert_int_equal(akr_report_get_totals(run.report)->users_seen, 5);
	assert_false(akr_report_has_failures(run.report));
	run_done(&run);
}

static void test_start_without_environment(void **state)
{
	struct run run;
	struct akr_sweep *s = NULL;
	struct akr_sweep_options o = { .mode = AKR_SWEEP_DRY_RUN, .done = on_done };

	(void)state;
	run_init(&run);
	o.config = run.cfg;
	o.userdata = &run;
	/* Unresolved AWS environment: the sweep cannot start, done never runs. */
	assert_int_equal(akr_sweep_start(&run.loop, &o, &s), -EINVAL);
	assert_null(s);
	run_done(&run);
	assert_false(run.done);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paging_sees_every_user),
		cmocka_unit_test(test_one_bad_user),
		cmocka_unit_test(test_stop_mid_sweep),
		cmocka_unit_test(test_account_records_follow_the_accounts_in_progress),
		cmocka_unit_test(test_environment_outlives_its_reload),
		cmocka_unit_test(test_start_without_environment),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
