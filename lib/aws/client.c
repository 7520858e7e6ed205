#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "lib/aws/answer_limits.h"
#include "lib/aws/client.h"
#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/aws/endpoints.h"
#include "lib/http/engine.h"
#include "lib/base/json.h"
#include "lib/aws/query.h"
#include "lib/base/secret.h"
#include "lib/base/xml.h"

/* botocore forces a refresh of temporary credentials 10 minutes before they
 * expire (aws-wire.md §11). */
#define REFRESH_AHEAD_SEC 600

static const char *const signing_names[_AKR_SERVICE_MAX] = {
	[AKR_SERVICE_STS] = "sts",
	[AKR_SERVICE_IAM] = "iam",
	[AKR_SERVICE_ORGANIZATIONS] = "organizations",
	[AKR_SERVICE_SES] = "ses",
	[AKR_SERVICE_SNS] = "sns",
};

const char *akr_service_signing_name(enum akr_service s)
{
	return (unsigned)s < _AKR_SERVICE_MAX ? signing_names[s] : NULL;
}

/* Services whose endpoint and signing region follow the caller's region. */
static bool service_is_regional(enum akr_service s)
{
	return s == AKR_SERVICE_STS || s == AKR_SERVICE_SES || s == AKR_SERVICE_SNS;
}

void akr_aws_creds_done(struct akr_aws_creds *c)
{
	if (!c)
		return;
	free(c->access_key_id);
	akr_secret_free(c->secret_access_key);
	akr_secret_free(c->session_token);
	*c = (struct akr_aws_creds){ 0 };
}

int akr_aws_creds_copy(const struct akr_aws_creds *src, struct akr_aws_creds *ret)
{
	struct akr_aws_creds c = { .expiration_sec = src->expiration_sec };

	if (src->access_key_id && !(c.access_key_id = strdup(src->access_key_id)))
		goto fail;
	if (src->secret_access_key &&
	    !(c.secret_access_key =
		  akr_secret_new(src->secret_access_key->buf, src->secret_access_key->len)))
		goto fail;
	if (src->session_token &&
	    !(c.session_token = akr_secret_new(src->session_token->buf, src->session_token->len)))
		goto fail;
	*ret = c;
	return 0;
fail:
	akr_aws_creds_done(&c);
	return -ENOMEM;
}

void akr_aws_creds_move(struct akr_aws_creds *dst, struct akr_aws_creds *src)
{
	if (dst == src)
		return;
	akr_aws_creds_done(dst);
	*dst = *src;
	*src = (struct akr_aws_creds){ 0 };
}

struct akr_aws_refresh_waiter {
	struct akr_aws_refresh_waiter *next;
	akr_aws_refresh_done_cb cb;
	void *userdata;
};

void akr_aws_identity_init(struct akr_aws_identity *id)
{
	*id = (struct akr_aws_identity){ 0 };
}

/* Hands every waiter the same outcome. The list is detached first, so a
 * waiter may start the next refresh from its callback. */
static void identity_notify(struct akr_aws_identity *id, int r, const struct akr_error *err)
{
	struct akr_aws_refresh_waiter *w = id->waiters;

	id->waiters = NULL;
	while (w) {
		struct akr_aws_refresh_waiter *next = w->next;
		akr_aws_refresh_done_cb cb = w->cb;
		void *userdata = w->userdata;

		free(w);
		cb(userdata, r, err);
		w = next;
	}
}

void akr_aws_identity_done(struct akr_aws_identity *id)
{
	struct akr_error err;

	if (!id)
		return;
	akr_error_set(&err, AKR_ERROR_LOCAL, 0, "Cancelled", "credential refresh cancelled");
	id->refreshing = false;
	identity_notify(id, -ECANCELED, &err);
	akr_aws_creds_done(&id->creds);
}

static void identity_refreshed(void *userdata, int r, const struct akr_error *err)
{
	struct akr_aws_identity *id = userdata;

	id->refreshing = false;
	identity_notify(id, r, err);
}

int akr_aws_identity_refresh(struct akr_aws_identity *id, akr_aws_refresh_done_cb cb,
			     void *userdata)
{
	struct akr_aws_refresh_waiter *w, **tail;
	int r;

	if (!id || !cb)
		return -EINVAL;
	if (!id->refresh)
		return -ENOKEY;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct akr_aws_refresh_waiter){ .cb = cb, .userdata = userdata };
	for (tail = &id->waiters; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	if (id->refreshing)
		return 0;

	id->refreshing = true;
	r = id->refresh(id->refresher, id, identity_refreshed, id);
	if (r < 0) {
		/* Nobody else waits while no refresh runs: the list is just @w. */
		id->refreshing = false;
		id->waiters = NULL;
		free(w);
		return r;
	}
	return 0;
}

struct aws_call {
	struct akr_aws_client client;
	enum akr_service service;
	char *action;
	char *what;
	char *url;
	char *content_type;
	char *target;
	uint8_t *body;
	size_t body_len;
	size_t max_response_bytes;
	bool sensitive;
	bool idempotent;
	bool anonymous;
	bool refreshed_on_expiry;
	char *signing_region;
	struct akr_sigv4_signer signer;
	akr_aws_done_cb cb;
	void *userdata;
};

static void call_free(struct aws_call *call)
{
	if (!call)
		return;
	free(call->action);
	free(call->what);
	free(call->url);
	free(call->content_type);
	free(call->target);
	/* A body may carry a password (the second delivery email). */
	if (call->body)
		OPENSSL_cleanse(call->body, call->body_len);
	free(call->body);
	free(call->signing_region);
	free(call);
}

static int call_get_creds(void *userdata, struct akr_sigv4_creds *ret)
{
	const struct aws_call *call = userdata;
	const struct akr_aws_creds *c = &call->client.identity->creds;

	if (!c->access_key_id || !c->secret_access_key)
		return -ENOKEY;
	*ret = (struct akr_sigv4_creds){
		.access_key_id = c->access_key_id,
		.secret_access_key = akr_secret_str(c->secret_access_key),
		.session_token = akr_secret_str(c->session_token),
	};
	return 0;
}

static void call_finish(struct aws_call *call, int r, const char *body, size_t len,
			const struct akr_error *err)
{
	struct akr_error local;

	if (r < 0 && !err) {
		if (r == -ECANCELED || r == -ENOKEY)
			akr_error_set(&local, AKR_ERROR_LOCAL, 0,
				      r == -ECANCELED ? "Cancelled" : "NoCredentials", "%s: %s",
				      call->action, strerror(-r));
		else
			akr_error_set(&local, AKR_ERROR_TRANSPORT, 0, "TransportError", "%s: %s",
				      call->action, strerror(-r));
	} else if (r < 0) {
		local = *err;
	}
	if (r < 0) {
		const char *acct = call->client.identity->account_id;

		/* A step this call needed (fresh credentials) may have said which. */
		if (local.operation[0])
			(void)0;
		else if (call->what)
			(void)snprintf(local.operation, sizeof(local.operation), "%s", call->what);
		else
			(void)snprintf(local.operation, sizeof(local.operation), "%s%s%s",
				       call->action, acct[0] ? " in account " : "", acct);
		err = &local;
	}
	call->cb(call->userdata, r, r < 0 ? NULL : body, r < 0 ? 0 : len, r < 0 ? err : NULL);
	call_free(call);
}

static const char *header_value(const struct akr_http_response *resp, const char *name)
{
	for (size_t i = 0; resp && i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

static int call_send(struct aws_call *call);

static void call_refreshed_for_retry(void *userdata, int r, const struct akr_error *err)
{
	struct aws_call *call = userdata;

	if (r >= 0)
		r = call_send(call);
	if (r < 0)
		call_finish(call, r, NULL, 0, err);
}

static void call_http_done(void *userdata, int r, const struct akr_http_response *resp,
			   const struct akr_error *err)
{
	struct aws_call *call = userdata;
	struct akr_aws_identity *id = call->client.identity;
	struct akr_error copy;
	const char *v;

	if (r == -EPROTO && akr_error_is_expired_token(err) && !call->refreshed_on_expiry &&
	    id->refresh) {
		/* An expired token means the request was refused before it was
		 * processed: retrying is safe even when not idempotent. */
		call->refreshed_on_expiry = true;
		if (akr_aws_identity_refresh(id, call_refreshed_for_retry, call) == 0)
			return;
	}
	if (r == -E2BIG && err) {
		/* Say which call: "the answer exceeds N bytes" alone does not. */
		copy = *err;
		(void)snprintf(copy.message, sizeof(copy.message),
			       "%s: the answer is larger than %zu bytes, more than any legitimate "
			       "one; refused (%.300s)", call->action, call->max_response_bytes,
			       err->message);
		call_finish(call, r, NULL, 0, &copy);
		return;
	}
	if (r < 0 && err && resp) {
		/* SESv2 names the error in a header rather than the body. */
		copy = *err;
		v = header_value(resp, "x-amzn-errortype");
		if (v && !copy.code[0]) {
			(void)snprintf(copy.code, sizeof(copy.code), "%.*s", (int)strcspn(v, ":"),
				       v);
			copy.kind = AKR_ERROR_AWS;
			copy.retry = akr_error_classify(copy.http_status, copy.code);
		}
		v = header_value(resp, "x-amzn-requestid");
		if (v && !copy.request_id[0])
			(void)snprintf(copy.request_id, sizeof(copy.request_id), "%s", v);
		call_finish(call, r, NULL, 0, &copy);
		return;
	}
	call_finish(call, r, resp ? resp->body : NULL, resp ? resp->body_len : 0, err);
}

static int call_send(struct aws_call *call)
{
	struct akr_http_header headers[2];
	size_t n = 0;
	struct akr_http_request_desc d;

	headers[n++] = (struct akr_http_header){ "Content-Type", call->content_type };
	if (call->target)
		headers[n++] = (struct akr_http_header){ "X-Amz-Target", call->target };
	d = (struct akr_http_request_desc){
		.method = "POST",
		.url = call->url,
		.headers = headers,
		.n_headers = n,
		.body = call->body,
		.body_len = call->body_len,
		.key = call->client.key,
		.timeout_ms = call->client.timeout_ms,
		.max_response_bytes = call->max_response_bytes,
		.sensitive = call->sensitive,
		.idempotent = call->idempotent,
		.survives_shutdown = call->client.survives_shutdown,
		.signer = call->anonymous ? NULL : &call->signer,
		.parse_error = akr_aws_parse_error,
	};
	if (call->client.transport)
		return call->client.transport(call->client.transport_data, &d, call_http_done, call);
	return akr_http_request_start(call->client.http, &d, call_http_done, call, NULL);
}

static void call_refreshed_first(void *userdata, int r, const struct akr_error *err)
{
	struct aws_call *call = userdata;

	if (r >= 0)
		r = call_send(call);
	if (r < 0)
		call_finish(call, r, NULL, 0, err);
}

/* Picks the URL and the signing region. endpoints.c resolved both per service
 * for one region; a regional service called for another region (an SNS topic
 * elsewhere, SES in the email region) moves to that region's AWS endpoint, in
 * that region's partition. A custom endpoint (the fake) is used as it is. */
static int call_resolve(struct aws_call *call, const struct akr_endpoints *e, const char *path)
{
	enum akr_service s = call->service;
	const char *sreg = e->signing_region[s];
	const char *cr = call->client.region;
	_cleanup_free_ char *base = NULL, *region = NULL;
	_cleanup_buf_ struct akr_buf url = { 0 };
	int r;

	akr_buf_init(&url, 8192, false);
	if (service_is_regional(s) && cr && *cr && (!sreg || strcmp(sreg, cr) != 0)) {
		r = akr_endpoints_for_region(e, s, cr, &base, &region);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	if (!base) {
		base = strdup(e->url[s]);
		region = strdup(sreg && *sreg ? sreg : cr && *cr ? cr : "us-east-1");
		if (!base || !region)
			return -ENOMEM;
	}
	r = akr_buf_append_str(&url, base);
	if (r == 0)
		r = akr_buf_append_str(&url, path && *path ? path : "/");
	if (r < 0)
		return r;
	call->signing_region = TAKE_PTR(region);
	return akr_buf_steal(&url, &call->url);
}

static bool creds_need_refresh(const struct akr_aws_client *c)
{
	const struct akr_aws_creds *cr = &c->identity->creds;

	if (!cr->access_key_id || !cr->secret_access_key)
		return true;
	return cr->expiration_sec != 0 &&
	       cr->expiration_sec - akr_clock_now_sec(c->clock) < REFRESH_AHEAD_SEC;
}

int akr_aws_call(const struct akr_aws_client *c, const struct akr_aws_call_desc *desc,
		 akr_aws_done_cb cb, void *userdata)
{
	struct aws_call *call;
	const char *ct;
	int r;

	if (!c || (!c->http && !c->transport) || !c->endpoints || !c->identity || !desc || !cb ||
	    (unsigned)desc->service >= _AKR_SERVICE_MAX || !desc->action ||
	    !c->endpoints->url[desc->service] || (desc->body_len && !desc->body))
		return -EINVAL;

	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->client = *c;
	call->service = desc->service;
	/* The smaller of the module's limit and the call's own. */
	call->max_response_bytes = akr_aws_answer_limit(desc->service, desc->action);
	if (desc->max_response_bytes && desc->max_response_bytes < call->max_response_bytes)
		call->max_response_bytes = desc->max_response_bytes;
	call->sensitive = desc->sensitive;
	call->idempotent = desc->idempotent;
	call->anonymous = desc->anonymous;
	call->cb = cb;
	call->userdata = userdata;
	ct = desc->content_type                           ? desc->content_type
	     : desc->service == AKR_SERVICE_ORGANIZATIONS ? "application/x-amz-json-1.1"
							  : AKR_QUERY_CONTENT_TYPE;
	call->action = strdup(desc->action);
	call->what = desc->what ? strdup(desc->what) : NULL;
	call->content_type = strdup(ct);
	call->target = desc->target ? strdup(desc->target) : NULL;
	call->body = malloc(desc->body_len ? desc->body_len : 1);
	if (!call->action || (desc->what && !call->what) || !call->content_type || (desc->target && !call->target) ||
	    !call->body) {
		r = -ENOMEM;
		goto fail;
	}
	if (desc->body_len)
		memcpy(call->body, desc->body, desc->body_len);
	call->body_len = desc->body_len;
	r = call_resolve(call, c->endpoints, desc->path);
	if (r < 0)
		goto fail;
	call->signer = (struct akr_sigv4_signer){
		.region = call->signing_region,
		.service = akr_service_signing_name(desc->service),
		.get_creds = call_get_creds,
		.userdata = call,
	};

	if (call->anonymous) {
		r = call_send(call);
	} else if (creds_need_refresh(c) && c->identity->refresh) {
		r = akr_aws_identity_refresh(c->identity, call_refreshed_first, call);
	} else if (!c->identity->creds.access_key_id || !c->identity->creds.secret_access_key) {
		r = -ENOKEY;
	} else {
		r = call_send(call);
	}
	if (r < 0)
		goto fail;
	return 0;
fail:
	call_free(call);
	return r;
}

/* Error documents. */

struct error_doc {
	char *code;
	char *message;
	char *request_id;
};

static int xml_error_end(void *userdata, const struct akr_xml_path *path, const char *text,
			 size_t len, struct akr_error *err)
{
	struct error_doc *d = userdata;
	const char *name = akr_xml_path_name(path);
	bool in_error = path->depth >= 2 && strcmp(path->names[path->depth - 2], "Error") == 0;
	char **dst = NULL;

	if (in_error && strcmp(name, "Code") == 0)
		dst = &d->code;
	else if (in_error && strcmp(name, "Message") == 0)
		dst = &d->message;
	else if (strcmp(name, "RequestId") == 0 || strcmp(name, "RequestID") == 0)
		dst = &d->request_id;
	/* The first of each wins (EC2-style documents may list several errors). */
	if (!dst || *dst)
		return 0;
	return akr_xml_dup_text(text, len, dst, name, err);
}

static int json_error_value(void *userdata, const struct akr_json_path *path,
			    enum akr_json_type type, const char *text, size_t len,
			    struct akr_error *err)
{
	struct error_doc *d = userdata;
	char **dst = NULL;

	if (path->depth != 1 || type != AKR_JSON_STRING)
		return 0;
	if (akr_json_path_is(path, "__type") || akr_json_path_is(path, "code") ||
	    akr_json_path_is(path, "Code"))
		dst = &d->code;
	else if (akr_json_path_is(path, "Message") || akr_json_path_is(path, "message"))
		dst = &d->message;
	if (!dst || *dst)
		return 0;
	return akr_json_dup_string(type, text, len, dst, path->names[0], err);
}

int akr_aws_parse_error(long status, const char *body, size_t len, struct akr_error *reterr)
{
	static const struct akr_xml_handler xh = { .end = xml_error_end };
	static const struct akr_json_handler jh = { .value = json_error_value };
	struct error_doc d = { 0 };
	size_t i = 0;
	int r = -EBADMSG;

	while (body && i < len && strchr(" \t\r\n", body[i]))
		i++;
	if (body && i < len && body[i] == '<')
		r = akr_xml_parse(body, len, NULL, &xh, &d, NULL);
	else if (body && i < len && body[i] == '{')
		r = akr_json_parse(body, len, NULL, &jh, &d, NULL);

	if (r >= 0 && d.code && *d.code) {
		char *code = d.code;
		char *hash;

		/* botocore: "prefix#Code:detail" means "Code". */
		code[strcspn(code, ":")] = '\0';
		hash = strrchr(code, '#');
		if (hash)
			code = hash + 1;
		akr_error_set(reterr, AKR_ERROR_AWS, status, code, "%s",
			      d.message ? d.message : "(no message)");
		r = 0;
	} else {
		akr_error_set(reterr, AKR_ERROR_AWS, status, NULL,
			      "HTTP %ld without a readable AWS error document", status);
		r = -EBADMSG;
	}
	if (reterr && d.request_id)
		(void)snprintf(reterr->request_id, sizeof(reterr->request_id), "%s", d.request_id);
	free(d.code);
	free(d.message);
	free(d.request_id);
	return r;
}
