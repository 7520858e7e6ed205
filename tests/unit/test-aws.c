/* The AWS clients end to end: lib/http/engine over libuv against the fake AWS
 * endpoint (tests/fakeaws), which verifies every SigV4 signature. Skipped
 * when the fake cannot start. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "lib/aws/client.h"
#include "lib/aws/iam.h"
#include "lib/aws/orgs.h"
#include "lib/aws/ses.h"
#include "lib/aws/sns.h"
#include "lib/aws/sts.h"
#include "lib/aws/endpoints.h"
#include "lib/base/error.h"
#include "lib/http/engine.h"
#include "lib/base/secret.h"
#include "tests/unit/testutil.h"

#define EXAMPLE_AKID "AKIAIOSFODNN7EXAMPLE"
#define EXAMPLE_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define ROLE_ARN "arn:aws:iam::111111111111:role/provisioning-admin"
#define TOPIC_ARN "arn:aws:sns:us-east-1:111111111111:iam-access-key-rotator-topic"

static const char scenario[] =
	"{\"accounts\": ["
	" {\"id\": \"111111111111\", \"name\": \"mgmt\", \"status\": \"ACTIVE\","
	"  \"roles\": [\"provisioning-admin\"],"
	"  \"users\": [{\"name\": \"alice\", \"tags\": {\"email\": \"alice@example.com\"},"
	"              \"keys\": [{\"status\": \"Active\", \"age_days\": 85, \"last_used_days\": 1}]},"
	"             {\"name\": \"bob\", \"tags\": {}, \"keys\": []},"
	"             {\"name\": \"carol\", \"tags\": {}, \"keys\": []}]},"
	" {\"id\": \"222222222222\", \"name\": \"dev\", \"status\": \"SUSPENDED\","
	"  \"roles\": [\"provisioning-admin\"]}]}";

struct fake {
	struct testutil_server srv;
	char dir[64];
};

/* Starts tests/fakeaws on the scenario above; fails the test if it does not
 * start (a missing prerequisite is a failure, never a skip). */
static void fake_start(struct fake *s)
{
	char scen[128], log[128];
	const char *args[] = { "--port", "0", "--scenario", scen, NULL };

	snprintf(s->dir, sizeof(s->dir), "/tmp/akr-test-aws-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(scen, sizeof(scen), "%s/scenario.json", s->dir);
	snprintf(log, sizeof(log), "%s/fakeaws.log", s->dir);
	testutil_write_file(scen, scenario);
	testutil_server_start(&s->srv, "tests/fakeaws", args, log);
}

static void fake_stop(struct fake *s)
{
	char path[128];

	testutil_server_stop(&s->srv);
	snprintf(path, sizeof(path), "%s/scenario.json", s->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fakeaws.log", s->dir);
	unlink(path);
	rmdir(s->dir);
}

/* The world of one test run. */
struct env {
	struct fake fake;
	uv_loop_t loop;
	struct akr_http *http;
	struct akr_endpoints ep;
	struct akr_aws_identity base;    /* the example long-term key */
	struct akr_aws_identity role;    /* provisioning-admin, refreshed by AssumeRole */
	struct akr_aws_client base_client;
	struct akr_aws_client role_client;
	int refreshes;
	akr_aws_refresh_done_cb refresh_cb;
	void *refresh_cbdata;
};

struct result {
	bool done;
	int r;
	struct akr_error err;
	char *text;
	size_t count;
	bool flag;
	char *marker;
	struct akr_secret *secret;
	struct akr_aws_creds creds;
};

static void result_reset(struct result *res)
{
	free(res->text);
	free(res->marker);
	akr_secret_free(res->secret);
	akr_aws_creds_done(&res->creds);
	*res = (struct result){ 0 };
}

static void finish(struct result *res, int r, const struct akr_error *err)
{
	res->done = true;
	res->r = r;
	if (err)
		res->err = *err;
}

static void run_until(struct env *e, struct result *res)
{
	for (int i = 0; !res->done && i < 100000; i++)
		uv_run(&e->loop, UV_RUN_ONCE);
	assert_true(res->done);
	if (res->r < 0) {
		char buf[800];

		print_message("call failed: %d %s\n", res->r, akr_error_describe(&res->err, buf, sizeof(buf)));
	}
}

static void role_assumed(void *userdata, int r, struct akr_aws_creds *creds, const char *arn,
			 const struct akr_error *err)
{
	struct env *e = userdata;

	if (r == 0)
		akr_aws_creds_move(&e->role.creds, creds);
	e->refreshes++;
	e->refresh_cb(e->refresh_cbdata, r, err);
}

/* The identity's refresher: AssumeRole with the base key. */
static int role_refresh(void *refresher, struct akr_aws_identity *id, akr_aws_refresh_done_cb cb,
			void *cbdata)
{
	struct env *e = refresher;
	const struct akr_sts_assume_role_params p = { .role_arn = ROLE_ARN,
						      .session_name = "akr-test-aws" };

	e->refresh_cb = cb;
	e->refresh_cbdata = cbdata;
	return akr_sts_assume_role(&e->base_client, &p, role_assumed, e);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	fake_start(&e->fake);
	for (size_t i = 0; i < _AKR_SERVICE_MAX; i++) {
		e->ep.url[i] = e->fake.srv.url;
		e->ep.signing_region[i] = (char *)"us-east-1";
		e->ep.custom[i] = true;
	}
	assert_int_equal(uv_loop_init(&e->loop), 0);
	assert_int_equal(akr_http_new(&e->loop, NULL, &e->http), 0);
	akr_aws_identity_init(&e->base);
	e->base.creds.access_key_id = strdup(EXAMPLE_AKID);
	e->base.creds.secret_access_key = akr_secret_new_str(EXAMPLE_SECRET);
	akr_aws_identity_init(&e->role);
	e->role.refresh = role_refresh;
	e->role.refresher = e;
	e->base_client = (struct akr_aws_client){ .http = e->http, .endpoints = &e->ep,
						  .identity = &e->base, .region = "us-east-1",
						  .key = "111111111111" };
	e->role_client = e->base_client;
	e->role_client.identity = &e->role;
	*state = e;
	return 0;
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (!e)
		return 0;
	akr_http_free(e->http);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	uv_walk(&e->loop, on_walk_close, NULL);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&e->loop), 0);
	akr_aws_identity_done(&e->base);
	akr_aws_identity_done(&e->role);
	fake_stop(&e->fake);
	free(e);
	return 0;
}

/* Control API of the fake: unsigned JSON. */
static void control_done(void *userdata, int r, const struct akr_http_response *resp,
			 const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (resp && resp->body)
		res->text = strndup(resp->body, resp->body_len);
}

static char *fake_control(struct env *e, const char *method, const char *what, const char *body)
{
	char url[256];
	const struct akr_http_header h[] = { { "Content-Type", "application/json" } };
	struct akr_http_request_desc d = { .method = method, .url = url, .headers = h, .n_headers = 1,
					   .body = (const uint8_t *)body,
					   .body_len = body ? strlen(body) : 0 };
	struct result res = { 0 };
	char *text;

	snprintf(url, sizeof(url), "%s/_fake/%s", e->fake.srv.url, what);
	assert_int_equal(akr_http_request_start(e->http, &d, control_done, &res, NULL), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	text = TAKE_PTR(res.text);
	result_reset(&res);
	return text;
}

/* Callbacks. */

static void assume_done(void *userdata, int r, struct akr_aws_creds *creds, const char *arn,
			const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (r == 0) {
		akr_aws_creds_move(&res->creds, creds);
		res->text = strdup(arn);
	}
}

static void identity_done(void *userdata, int r, const struct akr_sts_caller_identity *id,
			  const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (r == 0) {
		res->text = strdup(id->arn);
		res->marker = strdup(id->account);
	}
}

static void accounts_done(void *userdata, int r, struct akr_orgs_accounts_page *page,
			  const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (r == 0) {
		res->count = page->n_accounts;
		res->marker = TAKE_PTR(page->next_token);
		for (size_t i = 0; i < page->n_accounts; i++)
			if (strcmp(page->accounts[i].id, "222222222222") == 0)
				res->flag = page->accounts[i].state == AKR_ORG_ACCOUNT_SUSPENDED;
	}
}

static void org_done(void *userdata, int r, const struct akr_orgs_organization *org,
		     const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (r == 0)
		res->text = strdup(org->master_account_id);
}

static void users_done(void *userdata, int r, struct akr_iam_users_page *page,
		       const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (r == 0) {
		res->count = page->n_users;
		res->flag = page->is_truncated;
		res->marker = TAKE_PTR(page->marker);
	}
}

static void tags_done(void *userdata, int r, struct akr_iam_tags_page *page,
		      const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	for (size_t i = 0; r == 0 && i < page->n_tags; i++)
		if (strcmp(page->tags[i].key, "email") == 0)
			res->text = strdup(page->tags[i].value);
}

static void keys_done(void *userdata, int r, struct akr_iam_keys_page *page,
		      const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (r == 0) {
		res->count = page->n_keys;
		if (page->n_keys)
			res->text = strdup(page->keys[0].access_key_id);
	}
}

static void created(void *userdata, int r, struct akr_iam_new_key *key, const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (r == 0) {
		res->text = strdup(key->access_key_id);
		res->secret = TAKE_PTR(key->secret);
	}
}

static void last_used_done(void *userdata, int r, struct akr_iam_key_last_used *u,
			   const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (r == 0) {
		res->flag = u->last_used_sec > 0;
		res->text = strdup(u->service_name);
	}
}

static void plain_done(void *userdata, int r, const struct akr_error *err)
{
	finish(userdata, r, err);
}

static void message_done(void *userdata, int r, const char *message_id, const struct akr_error *err)
{
	struct result *res = userdata;

	finish(res, r, err);
	if (r == 0)
		res->text = strdup(message_id);
}

/* Tests. */

static void test_sts_and_orgs(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	const struct akr_sts_assume_role_params p = { .role_arn = ROLE_ARN,
						      .session_name = "rotator",
						      .external_id = "ext-id/+=" };
	size_t total = 0;

	assert_int_equal(akr_sts_assume_role(&e->base_client, &p, assume_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	assert_string_equal(res.text, "arn:aws:sts::111111111111:assumed-role/provisioning-admin/rotator");
	assert_non_null(res.creds.session_token);
	assert_true(res.creds.expiration_sec > 0);
	result_reset(&res);

	/* The role identity starts empty: the first call assumes the role. */
	assert_int_equal(akr_sts_get_caller_identity(&e->role_client, identity_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	assert_int_equal(e->refreshes, 1);
	assert_string_equal(res.marker, "111111111111");
	assert_non_null(strstr(res.text, ":assumed-role/provisioning-admin/"));
	result_reset(&res);

	/* Every page, one account per page. */
	do {
		char *token = TAKE_PTR(res.marker);

		result_reset(&res);
		assert_int_equal(akr_orgs_list_accounts(&e->role_client, token, 1, accounts_done, &res), 0);
		free(token);
		run_until(e, &res);
		assert_int_equal(res.r, 0);
		total += res.count;
		if (res.count && res.flag)
			total += 1000; /* the suspended account was seen, with its state */
	} while (res.marker);
	result_reset(&res);
	assert_int_equal(total, 1002);

	assert_int_equal(akr_orgs_describe_organization(&e->role_client, org_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	assert_string_equal(res.text, "111111111111");
	result_reset(&res);

	/* Wrong role: AccessDenied from the service, not retried. */
	assert_int_equal(akr_sts_assume_role(&e->base_client,
					     &(struct akr_sts_assume_role_params){
						     .role_arn = "arn:aws:iam::333333333333:role/nope",
						     .session_name = "rotator" },
					     assume_done, &res),
			 0);
	run_until(e, &res);
	assert_int_equal(res.r, -EPROTO);
	assert_int_equal(res.err.kind, AKR_ERROR_AWS);
	assert_int_equal(res.err.retry, AKR_RETRY_NONE);
	result_reset(&res);
	assert_int_equal(e->refreshes, 1);
}

static void test_iam_rotation_calls(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	char *old_key, *new_key;
	size_t users = 0;

	/* ListUsers page by page (two per page). */
	do {
		char *marker = TAKE_PTR(res.marker);

		result_reset(&res);
		assert_int_equal(akr_iam_list_users(&e->role_client, marker, 2, users_done, &res), 0);
		free(marker);
		run_until(e, &res);
		assert_int_equal(res.r, 0);
		users += res.count;
		assert_true(res.flag == (res.marker != NULL));
	} while (res.marker);
	result_reset(&res);
	assert_true(users >= 3);

	assert_int_equal(akr_iam_list_user_tags(&e->role_client, "alice", NULL, 0, tags_done, &res), 0);
	run_until(e, &res);
	assert_string_equal(res.text, "alice@example.com");
	result_reset(&res);

	assert_int_equal(akr_iam_list_access_keys(&e->role_client, "alice", NULL, 0, keys_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.count, 1);
	old_key = TAKE_PTR(res.text);
	result_reset(&res);

	assert_int_equal(akr_iam_get_access_key_last_used(&e->role_client, old_key, last_used_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	assert_true(res.flag);
	result_reset(&res);

	assert_int_equal(akr_iam_create_access_key(&e->role_client, "alice", created, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	assert_non_null(res.secret);
	assert_int_equal(res.secret->len, 40);
	new_key = TAKE_PTR(res.text);
	result_reset(&res);

	assert_int_equal(akr_iam_update_access_key(&e->role_client, "alice", old_key,
						   AKR_IAM_KEY_INACTIVE, plain_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	result_reset(&res);
	assert_int_equal(akr_iam_delete_access_key(&e->role_client, "alice", old_key, plain_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	result_reset(&res);
	assert_int_equal(akr_iam_delete_access_key(&e->role_client, "alice", old_key, plain_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, -EPROTO);
	assert_string_equal(res.err.code, "NoSuchEntity");
	assert_int_equal(res.err.http_status, 404);
	assert_int_equal(res.err.retry, AKR_RETRY_NONE);
	result_reset(&res);

	assert_int_equal(akr_iam_list_access_keys(&e->role_client, "alice", NULL, 0, keys_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.count, 1);
	assert_string_equal(res.text, new_key);
	result_reset(&res);
	free(old_key);
	free(new_key);
}

static void test_expired_token_refresh(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	char *text;

	assert_int_equal(akr_iam_list_users(&e->role_client, NULL, 0, users_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	assert_int_equal(e->refreshes, 1);
	result_reset(&res);

	/* A day later on the fake's clock the session is expired, though not by
	 * ours: the answer ExpiredToken makes the client assume the role again. */
	text = fake_control(e, "POST", "clock", "{\"advance_days\": 1}");
	free(text);
	assert_int_equal(akr_iam_list_users(&e->role_client, NULL, 0, users_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	assert_int_equal(e->refreshes, 2);
	result_reset(&res);
}

static void test_ses_and_sns(void **state)
{
	static const char mime[] = "From: rotator@example.com\r\nTo: alice@example.com\r\n"
				   "Subject: akr-test-aws\r\nMIME-Version: 1.0\r\n"
				   "Content-Type: text/plain; charset=utf-8\r\n\r\n"
				   "Hello +/= \xc3\xa9\r\n";
	static const char *const to[] = { "alice@example.com" };
	struct env *e = *state;
	struct result res = { 0 };
	const struct akr_ses_raw_email m = { .source = "rotator@example.com", .destinations = to,
					     .n_destinations = 1,
					     .configuration_set = "iam-access-key-rotator-configset",
					     .raw = (const uint8_t *)mime, .raw_len = sizeof(mime) - 1 };
	const struct akr_sns_publish_params pub = { .topic_arn = TOPIC_ARN,
						    .subject = "akr test: 1 failure",
						    .message = "line 1\nline 2 & +" };
	char *text;

	assert_int_equal(akr_ses_send_raw_email(&e->base_client, &m, message_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	assert_true(strlen(res.text) > 0);
	result_reset(&res);
	text = fake_control(e, "GET", "emails", NULL);
	assert_non_null(strstr(text, "Subject: akr-test-aws"));
	assert_non_null(strstr(text, "Hello +/= "));
	free(text);

	/* An unverified sender: MessageRejected, not retried. */
	{
		struct akr_ses_raw_email bad = m;

		bad.source = "someone@elsewhere.example";
		assert_int_equal(akr_ses_send_raw_email(&e->base_client, &bad, message_done, &res), 0);
		run_until(e, &res);
		assert_int_equal(res.r, -EPROTO);
		assert_string_equal(res.err.code, "MessageRejected");
		assert_int_equal(res.err.retry, AKR_RETRY_NONE);
		result_reset(&res);
	}

	assert_int_equal(akr_sns_publish(&e->base_client, &pub, message_done, &res), 0);
	run_until(e, &res);
	assert_int_equal(res.r, 0);
	result_reset(&res);
	text = fake_control(e, "GET", "sns", NULL);
	assert_non_null(strstr(text, "akr test: 1 failure"));
	assert_non_null(strstr(text, "line 2 & +"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sts_and_orgs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iam_rotation_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_token_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ses_and_sns, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
