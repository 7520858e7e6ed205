#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/sts.h"
#include "lib/base/buf.h"
#include "lib/aws/query.h"
#include "lib/base/secret.h"
#include "lib/base/strutil.h"
#include "lib/base/xml.h"

#define STS_VERSION "2011-06-15"
#define BODY_MAX (64u * 1024)
/* The session token has no documented maximum: be generous. */
#define TOKEN_MAX (64u * 1024)
#define ANSWER_MAX (1024u * 1024)

static bool chars_ok(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = s ? strlen(s) : 0;

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

int akr_sts_build_assume_role(const struct akr_sts_assume_role_params *p, struct akr_buf *out)
{
	int r;

	if (!p || !akr_is_arn(p->role_arn, "iam") || strlen(p->role_arn) < 20 ||
	    !chars_ok(p->session_name, 2, 64, "_+=,.@-") ||
	    (p->external_id && *p->external_id &&
	     !chars_ok(p->external_id, 2, 1224, "_+=,.@:/-")) ||
	    (p->duration_sec != 0 && (p->duration_sec < 900 || p->duration_sec > 43200)))
		return -EINVAL;
	r = akr_query_start(out, "AssumeRole", STS_VERSION);
	if (r == 0)
		r = akr_query_add(out, "RoleArn", p->role_arn);
	if (r == 0)
		r = akr_query_add(out, "RoleSessionName", p->session_name);
	if (r == 0)
		r = akr_query_add_int(out, "DurationSeconds",
				      p->duration_sec ? p->duration_sec : 3600);
	if (r == 0 && p->external_id && *p->external_id)
		r = akr_query_add(out, "ExternalId", p->external_id);
	return r;
}

int akr_sts_build_assume_role_with_web_identity(const struct akr_sts_assume_role_params *p,
						const char *token, struct akr_buf *out)
{
	size_t n = token ? strlen(token) : 0;
	int r;

	/* The model: WebIdentityToken 4..20000 characters. */
	if (!p || !akr_is_arn(p->role_arn, "iam") || strlen(p->role_arn) < 20 ||
	    !chars_ok(p->session_name, 2, 64, "_+=,.@-") || n < 4 || n > 20000 ||
	    (p->duration_sec != 0 && (p->duration_sec < 900 || p->duration_sec > 43200)))
		return -EINVAL;
	r = akr_query_start(out, "AssumeRoleWithWebIdentity", STS_VERSION);
	if (r == 0)
		r = akr_query_add(out, "RoleArn", p->role_arn);
	if (r == 0)
		r = akr_query_add(out, "RoleSessionName", p->session_name);
	if (r == 0)
		r = akr_query_add(out, "WebIdentityToken", token);
	if (r == 0 && p->duration_sec)
		r = akr_query_add_int(out, "DurationSeconds", p->duration_sec);
	return r;
}

int akr_sts_build_get_caller_identity(struct akr_buf *out)
{
	return akr_query_start(out, "GetCallerIdentity", STS_VERSION);
}

void akr_sts_assume_role_result_done(struct akr_sts_assume_role_result *res)
{
	if (!res)
		return;
	akr_aws_creds_done(&res->creds);
	free(res->assumed_role_arn);
	free(res->assumed_role_id);
	*res = (struct akr_sts_assume_role_result){ 0 };
}

struct assume_role_parse {
	const char *action; /* AssumeRole or AssumeRoleWithWebIdentity */
	struct akr_sts_assume_role_result res;
	bool seen_expiration;
};

static int assume_role_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	const struct assume_role_parse *p = userdata;

	return akr_query_check_root(path, p->action, err);
}

/* Whether @path is under <action>Result (the same members for both actions). */
static bool in_result(const struct assume_role_parse *p, const struct akr_xml_path *path)
{
	size_t n = strlen(p->action);

	return path->depth >= 2 && strncmp(path->names[1], p->action, n) == 0 &&
	       strcmp(path->names[1] + n, "Result") == 0;
}

static int set_secret(const char *text, size_t len, struct akr_secret **dst, const char *field,
		      struct akr_error *err)
{
	if (*dst)
		return akr_error_malformed(err, "duplicate element '%s'", field);
	*dst = akr_secret_new(text, len);
	return *dst ? 0 : -ENOMEM;
}

static int assume_role_end(void *userdata, const struct akr_xml_path *path, const char *text,
			   size_t len, struct akr_error *err)
{
	struct assume_role_parse *p = userdata;
	struct akr_aws_creds *c = &p->res.creds;

	if (!in_result(p, path))
		return 0;
	if (akr_xml_path_is(path, "*/*/Credentials/AccessKeyId"))
		return akr_xml_dup_text(text, len, &c->access_key_id, "AccessKeyId", err);
	if (akr_xml_path_is(path, "*/*/Credentials/SecretAccessKey"))
		return set_secret(text, len, &c->secret_access_key, "SecretAccessKey", err);
	if (akr_xml_path_is(path, "*/*/Credentials/SessionToken"))
		return set_secret(text, len, &c->session_token, "SessionToken", err);
	if (akr_xml_path_is(path, "*/*/Credentials/Expiration"))
		return akr_query_parse_time(text, "Expiration", &p->seen_expiration,
					    &c->expiration_sec, err);
	if (akr_xml_path_is(path, "*/*/AssumedRoleUser/Arn"))
		return akr_xml_dup_text(text, len, &p->res.assumed_role_arn, "AssumedRoleUser/Arn",
					err);
	if (akr_xml_path_is(path, "*/*/AssumedRoleUser/AssumedRoleId"))
		return akr_xml_dup_text(text, len, &p->res.assumed_role_id, "AssumedRoleId", err);
	return 0;
}

static int parse_assume_role(const char *action, const char *body, size_t len,
			     struct akr_sts_assume_role_result *ret, struct akr_error *reterr)
{
	static const struct akr_xml_handler h = { .start = assume_role_start,
						  .end = assume_role_end };
	const struct akr_xml_limits limits = { .max_text = TOKEN_MAX, .sensitive = true };
	struct assume_role_parse p = { .action = action };
	const struct akr_aws_creds *c = &p.res.creds;
	const char *missing = NULL;
	int r;

	r = akr_xml_parse(body, len, &limits, &h, &p, reterr);
	if (r < 0)
		goto fail;
	if (!c->access_key_id)
		missing = "Credentials/AccessKeyId";
	else if (!c->secret_access_key || c->secret_access_key->len == 0)
		missing = "Credentials/SecretAccessKey";
	else if (!c->session_token || c->session_token->len == 0)
		missing = "Credentials/SessionToken";
	else if (!p.seen_expiration)
		missing = "Credentials/Expiration";
	else if (!p.res.assumed_role_arn)
		missing = "AssumedRoleUser/Arn";
	if (missing) {
		r = akr_error_malformed(reterr, "%s answer lacks %s", action, missing);
		goto fail;
	}
	if (!akr_is_access_key_id(c->access_key_id)) {
		r = akr_error_malformed(reterr, "%s answer has an invalid AccessKeyId '%.40s'",
					action, c->access_key_id);
		goto fail;
	}
	if (!akr_is_arn(p.res.assumed_role_arn, "sts")) {
		r = akr_error_malformed(reterr,
					"%s answer has an invalid AssumedRoleUser/Arn '%.80s'",
					action, p.res.assumed_role_arn);
		goto fail;
	}
	*ret = p.res;
	return 0;
fail:
	akr_sts_assume_role_result_done(&p.res);
	return r;
}

int akr_sts_parse_assume_role(const char *body, size_t len, struct akr_sts_assume_role_result *ret,
			      struct akr_error *reterr)
{
	return parse_assume_role("AssumeRole", body, len, ret, reterr);
}

int akr_sts_parse_assume_role_with_web_identity(const char *body, size_t len,
						struct akr_sts_assume_role_result *ret,
						struct akr_error *reterr)
{
	return parse_assume_role("AssumeRoleWithWebIdentity", body, len, ret, reterr);
}

void akr_sts_caller_identity_done(struct akr_sts_caller_identity *id)
{
	if (!id)
		return;
	free(id->account);
	free(id->arn);
	free(id->user_id);
	*id = (struct akr_sts_caller_identity){ 0 };
}

static int identity_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	return akr_query_check_root(path, "GetCallerIdentity", err);
}

static int identity_end(void *userdata, const struct akr_xml_path *path, const char *text,
			size_t len, struct akr_error *err)
{
	struct akr_sts_caller_identity *id = userdata;

	if (akr_xml_path_is(path, "*/GetCallerIdentityResult/Account"))
		return akr_xml_dup_text(text, len, &id->account, "Account", err);
	if (akr_xml_path_is(path, "*/GetCallerIdentityResult/Arn"))
		return akr_xml_dup_text(text, len, &id->arn, "Arn", err);
	if (akr_xml_path_is(path, "*/GetCallerIdentityResult/UserId"))
		return akr_xml_dup_text(text, len, &id->user_id, "UserId", err);
	return 0;
}

int akr_sts_parse_get_caller_identity(const char *body, size_t len,
				      struct akr_sts_caller_identity *ret, struct akr_error *reterr)
{
	static const struct akr_xml_handler h = { .start = identity_start, .end = identity_end };
	struct akr_sts_caller_identity id = { 0 };
	int r;

	r = akr_xml_parse(body, len, NULL, &h, &id, reterr);
	if (r >= 0 && !akr_is_account_id(id.account))
		r = akr_error_malformed(reterr, "GetCallerIdentity answer lacks a valid Account");
	else if (r >= 0 && !akr_is_arn(id.arn, NULL))
		r = akr_error_malformed(reterr, "GetCallerIdentity answer lacks a valid Arn");
	if (r < 0) {
		akr_sts_caller_identity_done(&id);
		return r;
	}
	*ret = id;
	return 0;
}

/* Calls: one completion for all three, with a table of what differs
 * (how the answer is read, handed over and released). */

union sts_result {
	struct akr_sts_assume_role_result role;
	struct akr_sts_caller_identity id;
};

struct sts_call;

struct sts_op {
	const char *action; /* the Query action */
	const char *answer; /* for "cannot read the ... answer" */
	bool web_identity;  /* anonymous: the token is the credential */
	int (*parse)(const char *body, size_t len, union sts_result *res, struct akr_error *err);
	void (*deliver)(const struct sts_call *call, int r, union sts_result *res,
			const struct akr_error *err);
	void (*done)(union sts_result *res);
};

struct sts_call {
	const struct sts_op *op;
	union {
		akr_sts_assume_role_cb assume_role;
		akr_sts_get_caller_identity_cb identity;
	} cb;
	void *userdata;
	char what[320]; /* for a malformed answer's error */
};

static int parse_role(const char *body, size_t len, union sts_result *res, struct akr_error *err)
{
	return akr_sts_parse_assume_role(body, len, &res->role, err);
}

static int parse_web_role(const char *body, size_t len, union sts_result *res,
			  struct akr_error *err)
{
	return akr_sts_parse_assume_role_with_web_identity(body, len, &res->role, err);
}

static int parse_identity(const char *body, size_t len, union sts_result *res,
			  struct akr_error *err)
{
	return akr_sts_parse_get_caller_identity(body, len, &res->id, err);
}

static void deliver_role(const struct sts_call *call, int r, union sts_result *res,
			 const struct akr_error *err)
{
	if (r < 0)
		call->cb.assume_role(call->userdata, r, NULL, NULL, err);
	else
		call->cb.assume_role(call->userdata, 0, &res->role.creds,
				     res->role.assumed_role_arn, NULL);
}

static void deliver_identity(const struct sts_call *call, int r, union sts_result *res,
			     const struct akr_error *err)
{
	call->cb.identity(call->userdata, r, r < 0 ? NULL : &res->id, r < 0 ? err : NULL);
}

static void role_done(union sts_result *res)
{
	akr_sts_assume_role_result_done(&res->role);
}

static void identity_result_done(union sts_result *res)
{
	akr_sts_caller_identity_done(&res->id);
}

static const struct sts_op op_assume_role = {
	"AssumeRole", "AssumeRole", false, parse_role, deliver_role, role_done,
};
static const struct sts_op op_web_identity = {
	"AssumeRoleWithWebIdentity", "AssumeRole", true, parse_web_role, deliver_role, role_done,
};
static const struct sts_op op_identity = {
	"GetCallerIdentity", "GetCallerIdentity", false, parse_identity, deliver_identity,
	identity_result_done,
};

static void answer_done(void *userdata, int r, const char *body, size_t len,
			const struct akr_error *err)
{
	struct sts_call *call = userdata;
	union sts_result res;
	struct akr_error perr;

	memset(&res, 0, sizeof(res));
	if (r >= 0) {
		akr_error_set(&perr, AKR_ERROR_PARSE, 0, "MalformedResponse",
			      "cannot read the %s answer", call->op->answer);
		r = call->op->parse(body, len, &res, &perr);
		if (r < 0 && !perr.operation[0])
			(void)snprintf(perr.operation, sizeof(perr.operation), "%s", call->what);
		err = &perr;
	}
	call->op->deliver(call, r, &res, err);
	call->op->done(&res);
	free(call);
}

/* Sends @body for @op; @call (set up by the caller) is freed here on failure. */
static int sts_send(const struct akr_aws_client *c, const struct sts_op *op, struct akr_buf *body,
		    bool sensitive, struct sts_call *call)
{
	const struct akr_aws_call_desc d = {
		.service = AKR_SERVICE_STS,
		.action = op->action,
		.what = call->what[0] ? call->what : NULL,
		.anonymous = op->web_identity,
		.path = "/",
		.content_type = AKR_QUERY_CONTENT_TYPE,
		.body = (const uint8_t *)body->data,
		.body_len = body->len,
		.max_response_bytes = ANSWER_MAX,
		.sensitive = sensitive,
		.idempotent = true,
	};
	int r;

	call->op = op;
	r = akr_aws_call(c, &d, answer_done, call);
	if (r < 0)
		free(call);
	return r;
}

/* The account field of an IAM ARN (the 5th), if it is 12 digits. */
static bool arn_account(const char *arn, char ret[static 13])
{
	const char *p = arn;

	for (int i = 0; i < 4 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p || strcspn(p, ":") != 12)
		return false;
	memcpy(ret, p, 12);
	ret[12] = '\0';
	return akr_is_account_id(ret);
}

/* Starts @op (either AssumeRole) with @body, which @built says was built
 * (0) or not (-errno), for @role_arn. */
static int role_call_start(const struct akr_aws_client *c, const struct sts_op *op,
			     struct akr_buf *body, int built, const char *role_arn,
			     akr_sts_assume_role_cb cb, void *userdata)
{
	struct sts_call *call;
	char account[13];

	if (built < 0)
		return built == -E2BIG ? -EINVAL : built;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->cb.assume_role = cb;
	call->userdata = userdata;
	if (!op->web_identity && arn_account(role_arn, account))
		(void)snprintf(call->what, sizeof(call->what), "%s into %.250s of account %s",
			       op->action, role_arn, account);
	else
		(void)snprintf(call->what, sizeof(call->what), "%s into %.250s", op->action,
			       role_arn);
	return sts_send(c, op, body, true, call);
}

int akr_sts_assume_role(const struct akr_aws_client *c, const struct akr_sts_assume_role_params *p,
			akr_sts_assume_role_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };

	if (!cb)
		return -EINVAL;
	akr_buf_init(&body, BODY_MAX, false);
	return role_call_start(c, &op_assume_role, &body, akr_sts_build_assume_role(p, &body),
				 p ? p->role_arn : NULL, cb, userdata);
}

int akr_sts_assume_role_with_web_identity(const struct akr_aws_client *c,
					  const struct akr_sts_assume_role_params *p,
					  const char *token, akr_sts_assume_role_cb cb,
					  void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };

	if (!cb)
		return -EINVAL;
	/* The body holds the token: a sensitive, wiped buffer. */
	akr_buf_init(&body, BODY_MAX, true);
	return role_call_start(c, &op_web_identity, &body,
				 akr_sts_build_assume_role_with_web_identity(p, token, &body),
				 p ? p->role_arn : NULL, cb, userdata);
}

int akr_sts_get_caller_identity(const struct akr_aws_client *c, akr_sts_get_caller_identity_cb cb,
				void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct sts_call *call;
	int r;

	if (!cb)
		return -EINVAL;
	akr_buf_init(&body, BODY_MAX, false);
	r = akr_sts_build_get_caller_identity(&body);
	if (r < 0)
		return r;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->cb.identity = cb;
	call->userdata = userdata;
	return sts_send(c, &op_identity, &body, false, call);
}
