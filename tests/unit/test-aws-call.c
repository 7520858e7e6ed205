/* akr_aws_call() and the service calls over a stub HTTP engine that records
 * each request and lets the test answer it: URLs, headers, signing scope,
 * credential refresh (coalesced, ahead of expiry, after ExpiredToken),
 * cancellation, and answers delivered to the service callbacks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/aws/client.h"
#include "lib/aws/iam.h"
#include "lib/aws/orgs.h"
#include "lib/aws/ses.h"
#include "lib/aws/sns.h"
#include "lib/aws/sts.h"
#include "lib/base/clock.h"
#include "lib/aws/endpoints.h"
#include "lib/base/error.h"
#include "lib/http/engine.h"
#include "lib/base/secret.h"
#include "lib/http/sigv4.h"

/* The fake transport, injected into the client. */

#define MAX_REQS 16

struct stub_req {
	char *url;
	char *content_type;
	char *target;
	char *body;
	size_t body_len;
	const char *key;
	bool sensitive, idempotent, has_parse_error;
	const struct akr_sigv4_signer *signer;
	akr_http_done_cb cb;
	void *userdata;
	bool done;
};

static struct stub_req reqs[MAX_REQS];
static size_t n_reqs;
static int stub_start_r;

static int stub_transport(void *transport_data, const struct akr_http_request_desc *desc,
			  akr_http_done_cb cb, void *userdata)
{
	struct stub_req *q;

	assert_ptr_equal(transport_data, &reqs);
	if (stub_start_r)
		return stub_start_r;
	assert_true(n_reqs < MAX_REQS);
	assert_string_equal(desc->method, "POST");
	q = &reqs[n_reqs++];
	*q = (struct stub_req){ .cb = cb, .userdata = userdata, .signer = desc->signer,
				.key = desc->key, .sensitive = desc->sensitive,
				.idempotent = desc->idempotent,
				.has_parse_error = desc->parse_error == akr_aws_parse_error };
	q->url = strdup(desc->url);
	q->body = strndup((const char *)desc->body, desc->body_len);
	q->body_len = desc->body_len;
	for (size_t i = 0; i < desc->n_headers; i++) {
		if (strcmp(desc->headers[i].name, "Content-Type") == 0)
			q->content_type = strdup(desc->headers[i].value);
		else if (strcmp(desc->headers[i].name, "X-Amz-Target") == 0)
			q->target = strdup(desc->headers[i].value);
		else
			fail_msg("unexpected header %s", desc->headers[i].name);
	}
	return 0;
}

/* Answers request @i as the engine would: -EPROTO with the parsed error for
 * a non-2xx status. */
static void answer(size_t i, long status, const char *body, const char *error_type_header)
{
	struct akr_http_header hdr[2] = { { "x-amzn-requestid", "hdr-req-id" },
					  { "x-amzn-errortype", error_type_header } };
	struct akr_http_response resp = { .status = status, .headers = hdr,
					   .n_headers = error_type_header ? 2 : 1, .body = body,
					   .body_len = strlen(body), .attempts = 1 };
	struct akr_error err;
	struct stub_req *q = &reqs[i];
	int r = 0;

	assert_true(i < n_reqs);
	assert_false(q->done);
	q->done = true;
	if (status < 200 || status > 299) {
		(void)akr_aws_parse_error(status, body, strlen(body), &err);
		r = -EPROTO;
	}
	q->cb(q->userdata, r, &resp, r ? &err : NULL);
}

static void fail_transport(size_t i, int r)
{
	assert_false(reqs[i].done);
	reqs[i].done = true;
	reqs[i].cb(reqs[i].userdata, r, NULL, NULL);
}

/* Fixtures. */

struct refresher {
	int calls;
	int start_r;
	akr_aws_refresh_done_cb cb;
	void *cbdata;
	struct akr_aws_identity *id;
};

static int test_refresh(void *userdata, struct akr_aws_identity *id, akr_aws_refresh_done_cb cb,
			void *cbdata)
{
	struct refresher *rf = userdata;

	rf->calls++;
	if (rf->start_r)
		return rf->start_r;
	rf->cb = cb;
	rf->cbdata = cbdata;
	rf->id = id;
	return 0;
}

static void set_creds(struct akr_aws_identity *id, const char *akid, int64_t expiration_sec)
{
	akr_aws_creds_done(&id->creds);
	id->creds.access_key_id = strdup(akid);
	id->creds.secret_access_key = akr_secret_new_str("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
	if (akid[0] == 'A' && akid[1] == 'S')
		id->creds.session_token = akr_secret_new_str("session-token");
	id->creds.expiration_sec = expiration_sec;
}

static void finish_refresh(struct refresher *rf, int r, const char *akid)
{
	struct akr_error err;

	assert_non_null(rf->cb);
	if (r == 0)
		set_creds(rf->id, akid, akr_clock_now_sec(NULL) + 3600);
	else
		akr_error_set(&err, AKR_ERROR_AWS, 403, "AccessDenied", "no");
	rf->cb(rf->cbdata, r, r ? &err : NULL);
	rf->cb = NULL;
}

struct env {
	struct akr_endpoints ep;
	struct akr_aws_identity id;
	struct akr_aws_client client;
	struct refresher rf;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	for (size_t i = 0; i < _AKR_SERVICE_MAX; i++) {
		e->ep.url[i] = (char *)"http://127.0.0.1:4566";
		e->ep.signing_region[i] = (char *)"eu-west-1";
		e->ep.custom[i] = true;
	}
	akr_aws_identity_init(&e->id);
	set_creds(&e->id, "AKIAIOSFODNN7EXAMPLE", 0);
	e->client = (struct akr_aws_client){
		.transport = stub_transport,
		.transport_data = &reqs,
		.endpoints = &e->ep,
		.identity = &e->id,
		.region = "eu-west-1",
		.key = "111111111111",
	};
	n_reqs = 0;
	stub_start_r = 0;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	akr_aws_identity_done(&e->id);
	for (size_t i = 0; i < n_reqs; i++) {
		assert_true(reqs[i].done);
		free(reqs[i].url);
		free(reqs[i].content_type);
		free(reqs[i].target);
		free(reqs[i].body);
	}
	free(e);
	return 0;
}

struct result {
	int calls;
	int r;
	char *body;
	struct akr_error err;
	struct akr_ses_send_quota quota;
};

static void raw_done(void *userdata, int r, const char *body, size_t len, const struct akr_error *err)
{
	struct result *res = userdata;

	res->calls++;
	res->r = r;
	free(res->body);
	res->body = body ? strndup(body, len) : NULL;
	if (r < 0) {
		assert_non_null(err);
		res->err = *err;
	} else {
		assert_null(err);
	}
}

static const struct akr_aws_call_desc list_users_desc = {
	.service = AKR_SERVICE_IAM,
	.action = "ListUsers",
	.path = "/",
	.body = (const uint8_t *)"Action=ListUsers&Version=2010-05-08",
	.body_len = 35,
	.idempotent = true,
};

static void assert_signs_with(const struct stub_req *q, const char *region, const char *service,
			      const char *akid)
{
	struct akr_sigv4_creds c;

	assert_string_equal(q->signer->region, region);
	assert_string_equal(q->signer->service, service);
	assert_int_equal(q->signer->get_creds(q->signer->userdata, &c), 0);
	assert_string_equal(c.access_key_id, akid);
	assert_string_equal(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
}

/* Tests. */

static void test_call_basic(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };

	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), 0);
	assert_int_equal(n_reqs, 1);
	assert_int_equal(res.calls, 0); /* never from inside the start */
	assert_string_equal(reqs[0].url, "http://127.0.0.1:4566/");
	assert_string_equal(reqs[0].content_type,
			    "application/x-www-form-urlencoded; charset=utf-8");
	assert_null(reqs[0].target);
	assert_string_equal(reqs[0].body, "Action=ListUsers&Version=2010-05-08");
	assert_string_equal(reqs[0].key, "111111111111");
	assert_true(reqs[0].has_parse_error);
	assert_true(reqs[0].idempotent);
	assert_signs_with(&reqs[0], "eu-west-1", "iam", "AKIAIOSFODNN7EXAMPLE");
	answer(0, 200, "<ok/>", NULL);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.r, 0);
	assert_string_equal(res.body, "<ok/>");
	free(res.body);
}

static void test_call_errors(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };

	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), 0);
	answer(0, 400,
	       "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message>"
	       "</Error></ErrorResponse>",
	       NULL);
	assert_int_equal(res.r, -EPROTO);
	assert_string_equal(res.err.code, "Throttling");
	assert_int_equal(res.err.retry, AKR_RETRY_THROTTLING);
	/* The header's request id fills in when the body has none. */
	assert_string_equal(res.err.request_id, "hdr-req-id");

	/* SESv2 style: the code only in x-amzn-ErrorType. */
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), 0);
	answer(1, 429, "{\"message\": \"slow down\"}", "TooManyRequestsException:http://x/");
	assert_string_equal(res.err.code, "TooManyRequestsException");
	assert_int_equal(res.err.retry, AKR_RETRY_THROTTLING);

	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), 0);
	fail_transport(2, -ECONNREFUSED);
	assert_int_equal(res.r, -ECONNREFUSED);
	assert_int_equal(res.err.kind, AKR_ERROR_TRANSPORT);
	assert_int_equal(res.calls, 3);

	/* A failed start: the callback never runs. */
	stub_start_r = -ENOMEM;
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), -ENOMEM);
	assert_int_equal(res.calls, 3);
	free(res.body);
}

static void test_call_regions(void **state)
{
	struct env *e = *state;
	struct akr_aws_call_desc d = list_users_desc;
	struct result res = { 0 };

	/* The real endpoints: a regional service follows the client's region. */
	for (size_t i = 0; i < _AKR_SERVICE_MAX; i++) {
		e->ep.custom[i] = false;
		e->ep.signing_region[i] = (char *)"us-east-1";
	}
	e->ep.url[AKR_SERVICE_SNS] = (char *)"https://sns.us-east-1.amazonaws.com";
	e->ep.url[AKR_SERVICE_SES] = (char *)"https://email.us-east-1.amazonaws.com";
	e->ep.url[AKR_SERVICE_IAM] = (char *)"https://iam.amazonaws.com";
	e->client.region = "eu-central-1";

	d.service = AKR_SERVICE_SNS;
	assert_int_equal(akr_aws_call(&e->client, &d, raw_done, &res), 0);
	assert_string_equal(reqs[0].url, "https://sns.eu-central-1.amazonaws.com/");
	assert_signs_with(&reqs[0], "eu-central-1", "sns", "AKIAIOSFODNN7EXAMPLE");
	d.service = AKR_SERVICE_SES;
	assert_int_equal(akr_aws_call(&e->client, &d, raw_done, &res), 0);
	assert_string_equal(reqs[1].url, "https://email.eu-central-1.amazonaws.com/");
	assert_signs_with(&reqs[1], "eu-central-1", "ses", "AKIAIOSFODNN7EXAMPLE");
	/* Global IAM stays global. */
	d.service = AKR_SERVICE_IAM;
	assert_int_equal(akr_aws_call(&e->client, &d, raw_done, &res), 0);
	assert_string_equal(reqs[2].url, "https://iam.amazonaws.com/");
	assert_signs_with(&reqs[2], "us-east-1", "iam", "AKIAIOSFODNN7EXAMPLE");
	/* A custom endpoint is used as resolved. */
	e->ep.custom[AKR_SERVICE_SNS] = true;
	e->ep.url[AKR_SERVICE_SNS] = (char *)"http://127.0.0.1:9/prefix";
	d.service = AKR_SERVICE_SNS;
	assert_int_equal(akr_aws_call(&e->client, &d, raw_done, &res), 0);
	assert_string_equal(reqs[3].url, "http://127.0.0.1:9/prefix/");
	assert_signs_with(&reqs[3], "us-east-1", "sns", "AKIAIOSFODNN7EXAMPLE");
	for (size_t i = 0; i < 4; i++)
		answer(i, 200, "<ok/>", NULL);
	assert_int_equal(res.calls, 4);
	free(res.body);
}

static void test_refresh_coalesced(void **state)
{
	struct env *e = *state;
	struct result a = { 0 }, b = { 0 };

	akr_aws_creds_done(&e->id.creds);
	e->id.refresh = test_refresh;
	e->id.refresher = &e->rf;
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &a), 0);
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &b), 0);
	/* One refresh serves both; nothing is sent before it ends. */
	assert_int_equal(e->rf.calls, 1);
	assert_int_equal(n_reqs, 0);
	finish_refresh(&e->rf, 0, "ASIAIOSFODNN7EXAMPLE");
	assert_int_equal(n_reqs, 2);
	assert_signs_with(&reqs[0], "eu-west-1", "iam", "ASIAIOSFODNN7EXAMPLE");
	answer(0, 200, "<a/>", NULL);
	answer(1, 200, "<b/>", NULL);
	assert_int_equal(a.r, 0);
	assert_int_equal(b.r, 0);
	assert_int_equal(e->rf.calls, 1);
	free(a.body);
	free(b.body);
}

static void test_refresh_ahead_of_expiry(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	struct akr_clock clock;

	e->id.refresh = test_refresh;
	e->id.refresher = &e->rf;
	e->client.clock = &clock;
	akr_clock_init_at(&clock, 1700000000);
	set_creds(&e->id, "ASIAOLDOLDOLDEXAMPLE", 1700000000 + 11 * 60);
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), 0);
	assert_int_equal(e->rf.calls, 0);
	assert_int_equal(n_reqs, 1);
	answer(0, 200, "<ok/>", NULL);

	/* Within 10 minutes of expiry, by the client's clock. */
	set_creds(&e->id, "ASIAOLDOLDOLDEXAMPLE", 1700000000 + 9 * 60);
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), 0);
	assert_int_equal(e->rf.calls, 1);
	assert_int_equal(n_reqs, 1);
	finish_refresh(&e->rf, 0, "ASIANEWNEWNEWEXAMPLE");
	assert_int_equal(n_reqs, 2);
	assert_signs_with(&reqs[1], "eu-west-1", "iam", "ASIANEWNEWNEWEXAMPLE");
	answer(1, 200, "<ok/>", NULL);
	assert_int_equal(res.calls, 2);
	assert_int_equal(res.r, 0);
	free(res.body);
}

static void test_refresh_on_expired_token(void **state)
{
	static const char expired[] =
		"<ErrorResponse><Error><Code>ExpiredToken</Code><Message>The security token "
		"included in the request is expired</Message></Error></ErrorResponse>";
	struct env *e = *state;
	struct result res = { 0 };

	e->id.refresh = test_refresh;
	e->id.refresher = &e->rf;
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), 0);
	answer(0, 403, expired, NULL);
	/* Refreshed, then retried once with the new credentials. */
	assert_int_equal(res.calls, 0);
	assert_int_equal(e->rf.calls, 1);
	finish_refresh(&e->rf, 0, "ASIANEWNEWNEWEXAMPLE");
	assert_int_equal(n_reqs, 2);
	assert_string_equal(reqs[1].body, "Action=ListUsers&Version=2010-05-08");
	assert_signs_with(&reqs[1], "eu-west-1", "iam", "ASIANEWNEWNEWEXAMPLE");
	answer(1, 200, "<ok/>", NULL);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.r, 0);

	/* Only once: a second ExpiredToken is the answer. */
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), 0);
	answer(2, 403, expired, NULL);
	finish_refresh(&e->rf, 0, "ASIANEWNEWNEWEXAMPLE");
	answer(3, 400, "{\"__type\": \"ExpiredTokenException\", \"message\": \"expired\"}", NULL);
	assert_int_equal(res.calls, 2);
	assert_int_equal(res.r, -EPROTO);
	assert_string_equal(res.err.code, "ExpiredTokenException");
	assert_int_equal(e->rf.calls, 2);

	/* A failed refresh fails the call with the refresher's error. */
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), 0);
	answer(4, 403, expired, NULL);
	finish_refresh(&e->rf, -EPROTO, NULL);
	assert_int_equal(res.calls, 3);
	assert_int_equal(res.r, -EPROTO);
	assert_string_equal(res.err.code, "AccessDenied");
	free(res.body);
}

static void test_no_credentials(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };

	akr_aws_creds_done(&e->id.creds);
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), -ENOKEY);
	e->id.refresh = test_refresh;
	e->id.refresher = &e->rf;
	e->rf.start_r = -EIO;
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &res), -EIO);
	assert_null(e->id.waiters);
	assert_false(e->id.refreshing);
	assert_int_equal(res.calls, 0);
	assert_int_equal(n_reqs, 0);
}

static void test_identity_done_cancels(void **state)
{
	struct env *e = *state;
	struct result a = { 0 }, b = { 0 };

	akr_aws_creds_done(&e->id.creds);
	e->id.refresh = test_refresh;
	e->id.refresher = &e->rf;
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &a), 0);
	assert_int_equal(akr_aws_call(&e->client, &list_users_desc, raw_done, &b), 0);
	akr_aws_identity_done(&e->id);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.r, -ECANCELED);
	assert_int_equal(b.r, -ECANCELED);
	assert_int_equal(n_reqs, 0);
}

/* Service calls through the stub. */

static void keys_cb(void *userdata, int r, struct akr_iam_keys_page *page,
		    const struct akr_error *err)
{
	struct akr_iam_keys_page *out = userdata;

	assert_int_equal(r, 0);
	assert_null(err);
	*out = *page; /* moved out */
	*page = (struct akr_iam_keys_page){ 0 };
}

static void done_cb(void *userdata, int r, const struct akr_error *err)
{
	struct result *res = userdata;

	res->calls++;
	res->r = r;
	if (err)
		res->err = *err;
}

static void create_cb(void *userdata, int r, struct akr_iam_new_key *key,
		      const struct akr_error *err)
{
	struct akr_secret **secret = userdata;

	assert_int_equal(r, 0);
	*secret = TAKE_PTR(key->secret);
}

static void test_iam_calls(void **state)
{
	struct env *e = *state;
	struct akr_iam_keys_page page = { 0 };
	struct akr_secret *secret = NULL;
	struct result res = { 0 };

	assert_int_equal(akr_iam_list_access_keys(&e->client, "alice", NULL, 0, keys_cb, &page), 0);
	assert_string_equal(reqs[0].body, "Action=ListAccessKeys&Version=2010-05-08&UserName=alice");
	answer(0, 200,
	       "<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata><member>"
	       "<UserName>alice</UserName><AccessKeyId>AKIA111111111EXAMPLE</AccessKeyId>"
	       "<Status>Active</Status><CreateDate>2016-12-01T22:19:58Z</CreateDate></member>"
	       "</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult>"
	       "</ListAccessKeysResponse>",
	       NULL);
	assert_int_equal(page.n_keys, 1);
	assert_string_equal(page.keys[0].access_key_id, "AKIA111111111EXAMPLE");
	akr_iam_keys_page_done(&page);

	assert_int_equal(akr_iam_create_access_key(&e->client, "alice", create_cb, &secret), 0);
	assert_true(reqs[1].sensitive);
	assert_false(reqs[1].idempotent);
	answer(1, 200,
	       "<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>alice</UserName>"
	       "<AccessKeyId>AKIANEWNEWNEWEXAMPLE</AccessKeyId><Status>Active</Status>"
	       "<SecretAccessKey>c2VjcmV0/+=</SecretAccessKey><CreateDate>2024-01-15T10:20:30Z"
	       "</CreateDate></AccessKey></CreateAccessKeyResult></CreateAccessKeyResponse>",
	       NULL);
	assert_string_equal(akr_secret_str(secret), "c2VjcmV0/+=");
	akr_secret_free(secret);

	assert_int_equal(akr_iam_delete_access_key(&e->client, "alice", "AKIA111111111EXAMPLE",
						   done_cb, &res),
			 0);
	answer(2, 404,
	       "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The "
	       "Access Key with id AKIA111111111EXAMPLE cannot be found.</Message></Error>"
	       "<RequestId>x</RequestId></ErrorResponse>",
	       NULL);
	assert_int_equal(res.r, -EPROTO);
	assert_string_equal(res.err.code, "NoSuchEntity");
	assert_int_equal(res.err.retry, AKR_RETRY_NONE);

	assert_int_equal(akr_iam_update_access_key(&e->client, "alice", "AKIA111111111EXAMPLE",
						   AKR_IAM_KEY_INACTIVE, done_cb, &res),
			 0);
	answer(3, 200, "<UpdateAccessKeyResponse><ResponseMetadata/></UpdateAccessKeyResponse>", NULL);
	assert_int_equal(res.r, 0);
	/* A 200 whose body is not the answer is a parse error. */
	assert_int_equal(akr_iam_update_access_key(&e->client, "alice", "AKIA111111111EXAMPLE",
						   AKR_IAM_KEY_ACTIVE, done_cb, &res),
			 0);
	answer(4, 200, "<html>", NULL);
	assert_int_equal(res.r, -EBADMSG);
	assert_int_equal(res.err.kind, AKR_ERROR_PARSE);
	assert_int_equal(res.calls, 3);

	/* Invalid input fails at once. */
	assert_int_equal(akr_iam_delete_access_key(&e->client, "al ice", "AKIA111111111EXAMPLE",
						   done_cb, &res),
			 -EINVAL);
	assert_int_equal(n_reqs, 5);
}

static void assume_cb(void *userdata, int r, struct akr_aws_creds *creds, const char *arn,
		      const struct akr_error *err)
{
	struct akr_aws_creds *out = userdata;

	assert_int_equal(r, 0);
	assert_string_equal(arn, "arn:aws:sts::222222222222:assumed-role/provisioning-admin/rotator");
	akr_aws_creds_move(out, creds);
}

static void accounts_cb(void *userdata, int r, struct akr_orgs_accounts_page *page,
			const struct akr_error *err)
{
	struct result *res = userdata;

	res->calls++;
	res->r = r;
	if (r == 0) {
		assert_int_equal(page->n_accounts, 1);
		assert_string_equal(page->next_token, "t2");
	} else {
		res->err = *err;
	}
}

static void message_cb(void *userdata, int r, const char *message_id, const struct akr_error *err)
{
	struct result *res = userdata;

	res->calls++;
	res->r = r;
	free(res->body);
	res->body = message_id ? strdup(message_id) : NULL;
	if (err)
		res->err = *err;
}

static void quota_cb(void *userdata, int r, const struct akr_ses_send_quota *q,
		     const struct akr_error *err)
{
	struct result *res = userdata;

	res->calls++;
	res->r = r;
	if (q)
		res->quota = *q;
	if (err)
		res->err = *err;
}

static void test_other_services(void **state)
{
	static const char *const to[] = { "alice@example.com" };
	struct env *e = *state;
	struct akr_aws_creds creds = { 0 };
	struct result res = { 0 };
	const struct akr_sts_assume_role_params p = {
		.role_arn = "arn:aws:iam::222222222222:role/provisioning-admin",
		.session_name = "rotator",
	};
	const struct akr_ses_raw_email m = { .source = "rotator@example.com", .destinations = to,
					     .n_destinations = 1, .raw = (const uint8_t *)"x",
					     .raw_len = 1 };
	const struct akr_sns_publish_params pub = {
		.topic_arn = "arn:aws:sns:eu-west-1:111111111111:iam-access-key-rotator-topic",
		.message = "failed",
	};

	assert_int_equal(akr_sts_assume_role(&e->client, &p, assume_cb, &creds), 0);
	assert_true(reqs[0].sensitive);
	assert_signs_with(&reqs[0], "eu-west-1", "sts", "AKIAIOSFODNN7EXAMPLE");
	answer(0, 200,
	       "<AssumeRoleResponse><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::"
	       "222222222222:assumed-role/provisioning-admin/rotator</Arn></AssumedRoleUser>"
	       "<Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId><SecretAccessKey>s"
	       "</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z"
	       "</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
	       NULL);
	assert_string_equal(creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(akr_secret_str(creds.session_token), "t");
	akr_aws_creds_done(&creds);

	assert_int_equal(akr_orgs_list_accounts(&e->client, "t1", 20, accounts_cb, &res), 0);
	assert_string_equal(reqs[1].content_type, "application/x-amz-json-1.1");
	assert_string_equal(reqs[1].target, "AWSOrganizationsV20161128.ListAccounts");
	assert_string_equal(reqs[1].body, "{\"MaxResults\": 20, \"NextToken\": \"t1\"}");
	assert_signs_with(&reqs[1], "eu-west-1", "organizations", "AKIAIOSFODNN7EXAMPLE");
	answer(1, 200, "{\"Accounts\": [{\"Id\": \"222222222222\", \"State\": \"ACTIVE\"}], "
		       "\"NextToken\": \"t2\"}", NULL);
	assert_int_equal(res.r, 0);
	assert_int_equal(akr_orgs_list_accounts(&e->client, NULL, 0, accounts_cb, &res), 0);
	assert_string_equal(reqs[2].body, "{}");
	answer(2, 400, "{\"__type\": \"TooManyRequestsException\", \"Message\": \"busy\"}", NULL);
	assert_int_equal(res.r, -EPROTO);
	assert_int_equal(res.err.retry, AKR_RETRY_THROTTLING);

	assert_int_equal(akr_ses_send_raw_email(&e->client, &m, message_cb, &res), 0);
	assert_false(reqs[3].idempotent);
	assert_signs_with(&reqs[3], "eu-west-1", "ses", "AKIAIOSFODNN7EXAMPLE");
	answer(3, 200, "<SendRawEmailResponse><SendRawEmailResult><MessageId>m-1</MessageId>"
		       "</SendRawEmailResult></SendRawEmailResponse>", NULL);
	assert_string_equal(res.body, "m-1");

	assert_int_equal(akr_ses_get_send_quota(&e->client, quota_cb, &res), 0);
	assert_true(reqs[4].idempotent);
	assert_string_equal(reqs[4].body, "Action=GetSendQuota&Version=2010-12-01");
	assert_signs_with(&reqs[4], "eu-west-1", "ses", "AKIAIOSFODNN7EXAMPLE");
	answer(4, 200, "<GetSendQuotaResponse><GetSendQuotaResult><Max24HourSend>200.0"
		       "</Max24HourSend><MaxSendRate>14.0</MaxSendRate><SentLast24Hours>3.0"
		       "</SentLast24Hours></GetSendQuotaResult></GetSendQuotaResponse>", NULL);
	assert_int_equal(res.r, 0);
	assert_true(res.quota.max_send_rate == 14.0 && res.quota.max_24_hour_send == 200.0 &&
		    res.quota.sent_last_24_hours == 3.0);

	assert_int_equal(akr_sns_publish(&e->client, &pub, message_cb, &res), 0);
	assert_signs_with(&reqs[5], "eu-west-1", "sns", "AKIAIOSFODNN7EXAMPLE");
	answer(5, 429, "<ErrorResponse><Error><Code>Throttled</Code><Message>Rate exceeded</Message>"
		       "</Error></ErrorResponse>", NULL);
	assert_int_equal(res.r, -EPROTO);
	assert_int_equal(res.err.retry, AKR_RETRY_THROTTLING);
	assert_null(res.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_call_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_coalesced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_ahead_of_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_on_expired_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_done_cancels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iam_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_services, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
