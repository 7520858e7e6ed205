#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/orgs.h"
#include "lib/base/buf.h"
#include "lib/base/json.h"
#include "lib/aws/query.h"
#include "lib/base/strutil.h"

#define ORGS_CONTENT_TYPE "application/x-amz-json-1.1"
#define ORGS_TARGET_PREFIX "AWSOrganizationsV20161128."
/* NextToken may be up to 100000 characters. */
#define BODY_MAX (128u * 1024)
#define TOKEN_MAX 100000
#define ANSWER_MAX (8u * 1024 * 1024)

static const char *const state_names[_AKR_ORG_ACCOUNT_MAX] = {
	[AKR_ORG_ACCOUNT_ACTIVE] = "ACTIVE",
	[AKR_ORG_ACCOUNT_SUSPENDED] = "SUSPENDED",
	[AKR_ORG_ACCOUNT_PENDING_CLOSURE] = "PENDING_CLOSURE",
	[AKR_ORG_ACCOUNT_CLOSED] = "CLOSED",
	[AKR_ORG_ACCOUNT_PENDING_ACTIVATION] = "PENDING_ACTIVATION",
	[AKR_ORG_ACCOUNT_UNKNOWN] = "UNKNOWN",
};

const char *akr_org_account_state_to_string(enum akr_org_account_state s)
{
	return (unsigned)s < _AKR_ORG_ACCOUNT_MAX ? state_names[s] : NULL;
}

static enum akr_org_account_state state_from_string(const char *s)
{
	for (size_t i = 0; i < AKR_ORG_ACCOUNT_UNKNOWN; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum akr_org_account_state)i;
	return AKR_ORG_ACCOUNT_UNKNOWN;
}

int akr_orgs_build_list_accounts(const char *next_token, int max_results, struct akr_buf *out)
{
	bool first = true;
	int r;

	if (max_results < 0 || max_results > 20)
		return -EINVAL;
	if (next_token && (!*next_token || strlen(next_token) > TOKEN_MAX))
		return -EINVAL;
	r = akr_buf_append_str(out, "{");
	if (r == 0 && max_results) {
		r = akr_buf_appendf(out, "\"MaxResults\": %d", max_results);
		first = false;
	}
	if (r == 0 && next_token) {
		r = akr_buf_append_str(out, first ? "\"NextToken\": " : ", \"NextToken\": ");
		if (r == 0)
			r = akr_json_append_string(out, next_token, strlen(next_token));
	}
	if (r == 0)
		r = akr_buf_append_str(out, "}");
	return r;
}

void akr_orgs_accounts_page_done(struct akr_orgs_accounts_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_accounts; i++) {
		free(p->accounts[i].id);
		free(p->accounts[i].name);
		free(p->accounts[i].email);
		free(p->accounts[i].arn);
		free(p->accounts[i].invalid);
	}
	free(p->accounts);
	free(p->next_token);
	*p = (struct akr_orgs_accounts_page){ 0 };
}

struct accounts_parse {
	struct akr_orgs_accounts_page page;
	char *state;  /* of the current account */
	char *status; /* of the current account */
	bool seen_accounts;
	bool seen_token;
};

static int wrong_type(const char *field, enum akr_json_type type, const char *want,
		      struct akr_error *err)
{
	return akr_error_malformed(err, "ListAccounts answer: '%s' is a JSON %s, expected %s",
	                           field, akr_json_type_to_string(type), want);
}

/* A member of Accounts that fails validation is kept with the reason, so
 * that the sweep reports that one account and goes on with the others; only
 * a document that is itself broken fails the page. */
static int account_invalid(struct accounts_parse *p, int r, const struct akr_error *merr,
			   struct akr_error *err)
{
	struct akr_org_account *a = &p->page.accounts[p->page.n_accounts - 1];

	if (r >= 0)
		return r;
	if (r != -EBADMSG) {
		*err = *merr;
		return r;
	}
	if (!a->invalid) {
		a->invalid = strdup(merr->message);
		if (!a->invalid)
			return -ENOMEM;
	}
	return 0;
}

static int accounts_start(void *userdata, const struct akr_json_path *path, enum akr_json_type type,
			  struct akr_error *err)
{
	struct accounts_parse *p = userdata;

	if (path->depth == 0)
		return type == AKR_JSON_OBJECT ? 0
					       : wrong_type("(document)", type, "an object", err);
	if (akr_json_path_is(path, "Accounts")) {
		if (type != AKR_JSON_ARRAY)
			return wrong_type("Accounts", type, "an array", err);
		if (p->seen_accounts)
			return akr_error_malformed(err, "duplicate key 'Accounts'");
		p->seen_accounts = true;
		return 0;
	}
	if (akr_json_path_is(path, "Accounts/[]")) {
		if (type != AKR_JSON_OBJECT)
			return wrong_type("Accounts[]", type, "an object", err);
		free(p->state);
		free(p->status);
		p->state = p->status = NULL;
		return akr_query_grow((void **)&p->page.accounts, &p->page.n_accounts,
				      sizeof(struct akr_org_account),
				      AKR_ORGS_MAX_ACCOUNTS_PER_PAGE, "accounts", err);
	}
	if (akr_json_path_is(path, "NextToken"))
		return wrong_type("NextToken", type, "a string", err);
	if (path->depth == 3 && akr_json_path_is(path, "Accounts/[]/*")) {
		const char *k = path->names[2];
		struct akr_error merr = { 0 };

		if (!strcmp(k, "Id") || !strcmp(k, "Name") || !strcmp(k, "Email") ||
		    !strcmp(k, "Arn") || !strcmp(k, "State") || !strcmp(k, "Status"))
			return account_invalid(p, wrong_type(k, type, "a string", &merr), &merr,
					       err);
	}
	return 0;
}

static int accounts_end(void *userdata, const struct akr_json_path *path, enum akr_json_type type,
			struct akr_error *err)
{
	struct accounts_parse *p = userdata;
	struct akr_org_account *a;
	struct akr_error merr = { 0 };
	int r = 0;

	if (!akr_json_path_is(path, "Accounts/[]"))
		return 0;
	a = &p->page.accounts[p->page.n_accounts - 1];
	if (!a->id)
		r = akr_error_malformed(&merr, "ListAccounts answer: an account lacks Id");
	else if (!akr_is_account_id(a->id))
		r = akr_error_malformed(&merr, "ListAccounts answer: invalid account Id '%.20s'",
		                        a->id);
	else if (!p->state && !p->status)
		r = akr_error_malformed(
		    &merr, "ListAccounts answer: account %s lacks State and Status", a->id);
	if (r < 0)
		return account_invalid(p, r, &merr, err);
	/* Status is retired in favour of State (aws-wire.md §7). */
	a->state = state_from_string(p->state ? p->state : p->status);
	return 0;
}

static int accounts_value(void *userdata, const struct akr_json_path *path, enum akr_json_type type,
			  const char *text, size_t len, struct akr_error *err)
{
	struct accounts_parse *p = userdata;
	struct akr_org_account *a;
	struct akr_error merr = { 0 };
	const char *k;
	int r = 0;

	if (path->depth == 0)
		return wrong_type("(document)", type, "an object", err);
	if (akr_json_path_is(path, "NextToken")) {
		if (p->seen_token)
			return akr_error_malformed(err, "duplicate key 'NextToken'");
		p->seen_token = true;
		if (type == AKR_JSON_NULL)
			return 0;
		if (len == 0)
			return akr_error_malformed(err, "ListAccounts answer: empty NextToken");
		return akr_json_dup_string(type, text, len, &p->page.next_token, "NextToken", err);
	}
	if (akr_json_path_is(path, "Accounts"))
		return wrong_type("Accounts", type, "an array", err);
	if (akr_json_path_is(path, "Accounts/[]"))
		return wrong_type("Accounts[]", type, "an object", err);
	if (path->depth != 3 || !akr_json_path_is(path, "Accounts/[]/*"))
		return 0;
	a = &p->page.accounts[p->page.n_accounts - 1];
	k = path->names[2];
	if (strcmp(k, "Id") == 0)
		r = akr_json_dup_string(type, text, len, &a->id, "Id", &merr);
	else if (strcmp(k, "Name") == 0)
		r = akr_json_dup_string(type, text, len, &a->name, "Name", &merr);
	else if (strcmp(k, "Email") == 0)
		r = akr_json_dup_string(type, text, len, &a->email, "Email", &merr);
	else if (strcmp(k, "Arn") == 0)
		r = akr_json_dup_string(type, text, len, &a->arn, "Arn", &merr);
	else if (strcmp(k, "State") == 0)
		r = akr_json_dup_string(type, text, len, &p->state, "State", &merr);
	else if (strcmp(k, "Status") == 0)
		r = akr_json_dup_string(type, text, len, &p->status, "Status", &merr);
	return account_invalid(p, r, &merr, err);
}

int akr_orgs_parse_list_accounts(const char *body, size_t len, struct akr_orgs_accounts_page *ret,
				 struct akr_error *reterr)
{
	static const struct akr_json_handler h = { .start = accounts_start,
						   .end = accounts_end,
						   .value = accounts_value };
	const struct akr_json_limits limits = { .max_items = 2 * AKR_ORGS_MAX_ACCOUNTS_PER_PAGE };
	struct accounts_parse p = { 0 };
	int r;

	r = akr_json_parse(body, len, &limits, &h, &p, reterr);
	if (r >= 0 && !p.seen_accounts)
		r = akr_error_malformed(reterr, "ListAccounts answer lacks Accounts");
	free(p.state);
	free(p.status);
	if (r < 0) {
		akr_orgs_accounts_page_done(&p.page);
		return r;
	}
	*ret = p.page;
	return 0;
}

void akr_orgs_organization_done(struct akr_orgs_organization *o)
{
	if (!o)
		return;
	free(o->id);
	free(o->arn);
	free(o->master_account_id);
	free(o->master_account_arn);
	free(o->master_account_email);
	*o = (struct akr_orgs_organization){ 0 };
}

static int org_start(void *userdata, const struct akr_json_path *path, enum akr_json_type type,
		     struct akr_error *err)
{
	if ((path->depth == 0 || akr_json_path_is(path, "Organization")) && type != AKR_JSON_OBJECT)
		return akr_error_malformed(err,
		                           "DescribeOrganization answer: '%s' is not an object",
		                           path->depth ? "Organization" : "(document)");
	if (path->depth == 2 && akr_json_path_is(path, "Organization/*") &&
	    (strcmp(path->names[1], "Id") == 0 || strcmp(path->names[1], "MasterAccountId") == 0))
		return akr_error_malformed(err, "DescribeOrganization answer: '%s' is not a string",
		                           path->names[1]);
	return 0;
}

static int org_value(void *userdata, const struct akr_json_path *path, enum akr_json_type type,
		     const char *text, size_t len, struct akr_error *err)
{
	struct akr_orgs_organization *o = userdata;
	const char *k;

	if (path->depth < 2 && (path->depth == 0 || akr_json_path_is(path, "Organization")))
		return akr_error_malformed(err,
		                           "DescribeOrganization answer: '%s' is not an object",
		                           path->depth ? "Organization" : "(document)");
	if (path->depth != 2 || !akr_json_path_is(path, "Organization/*"))
		return 0;
	k = path->names[1];
	if (strcmp(k, "Id") == 0)
		return akr_json_dup_string(type, text, len, &o->id, "Id", err);
	if (strcmp(k, "Arn") == 0)
		return akr_json_dup_string(type, text, len, &o->arn, "Arn", err);
	if (strcmp(k, "MasterAccountId") == 0)
		return akr_json_dup_string(type, text, len, &o->master_account_id,
					   "MasterAccountId", err);
	if (strcmp(k, "MasterAccountArn") == 0)
		return akr_json_dup_string(type, text, len, &o->master_account_arn,
					   "MasterAccountArn", err);
	if (strcmp(k, "MasterAccountEmail") == 0)
		return akr_json_dup_string(type, text, len, &o->master_account_email,
					   "MasterAccountEmail", err);
	return 0;
}

int akr_orgs_parse_describe_organization(const char *body, size_t len,
					 struct akr_orgs_organization *ret,
					 struct akr_error *reterr)
{
	static const struct akr_json_handler h = { .start = org_start, .value = org_value };
	struct akr_orgs_organization o = { 0 };
	int r;

	r = akr_json_parse(body, len, NULL, &h, &o, reterr);
	if (r >= 0 && (!o.id || !*o.id))
		r = akr_error_malformed(reterr,
		                        "DescribeOrganization answer lacks Organization/Id");
	else if (r >= 0 && !akr_is_account_id(o.master_account_id))
		r = akr_error_malformed(
		    reterr,
		    "DescribeOrganization answer lacks a valid Organization/MasterAccountId");
	if (r < 0) {
		akr_orgs_organization_done(&o);
		return r;
	}
	*ret = o;
	return 0;
}

/* Calls. */

struct orgs_call {
	bool describe;
	union {
		akr_orgs_list_accounts_cb list;
		akr_orgs_describe_organization_cb describe;
	} cb;
	void *userdata;
};

static void orgs_call_done(void *userdata, int r, const char *body, size_t len,
			   const struct akr_error *err)
{
	struct orgs_call *call = userdata;
	struct akr_orgs_accounts_page page = { 0 };
	struct akr_orgs_organization org = { 0 };
	struct akr_error perr;

	if (r >= 0) {
		akr_error_set(&perr, AKR_ERROR_PARSE, 0, "MalformedResponse",
			      "cannot read the %s answer",
			      call->describe ? "DescribeOrganization" : "ListAccounts");
		r = call->describe ? akr_orgs_parse_describe_organization(body, len, &org, &perr)
				   : akr_orgs_parse_list_accounts(body, len, &page, &perr);
		err = r < 0 ? &perr : NULL;
	}
	if (call->describe)
		call->cb.describe(call->userdata, r, r < 0 ? NULL : &org, err);
	else
		call->cb.list(call->userdata, r, r < 0 ? NULL : &page, err);
	akr_orgs_accounts_page_done(&page);
	akr_orgs_organization_done(&org);
	free(call);
}

static int orgs_send(const struct akr_aws_client *c, const char *op, struct akr_buf *body,
		     struct orgs_call *call)
{
	char target[96];
	struct akr_aws_call_desc d = {
		.service = AKR_SERVICE_ORGANIZATIONS,
		.action = op,
		.path = "/",
		.content_type = ORGS_CONTENT_TYPE,
		.target = target,
		.body = (const uint8_t *)body->data,
		.body_len = body->len,
		.max_response_bytes = ANSWER_MAX,
		.idempotent = true,
	};
	int r;

	(void)snprintf(target, sizeof(target), ORGS_TARGET_PREFIX "%s", op);
	r = akr_aws_call(c, &d, orgs_call_done, call);
	if (r < 0)
		free(call);
	return r;
}

int akr_orgs_list_accounts(const struct akr_aws_client *c, const char *next_token, int max_results,
			   akr_orgs_list_accounts_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct orgs_call *call;
	int r;

	if (!cb)
		return -EINVAL;
	akr_buf_init(&body, BODY_MAX, false);
	r = akr_orgs_build_list_accounts(next_token, max_results, &body);
	if (r < 0)
		return r == -E2BIG ? -EINVAL : r;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->cb.list = cb;
	call->userdata = userdata;
	return orgs_send(c, "ListAccounts", &body, call);
}

int akr_orgs_describe_organization(const struct akr_aws_client *c,
				   akr_orgs_describe_organization_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct orgs_call *call;
	int r;

	if (!cb)
		return -EINVAL;
	akr_buf_init(&body, 16, false);
	/* An operation without input still sends an empty object. */
	r = akr_buf_append_str(&body, "{}");
	if (r < 0)
		return r;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->describe = true;
	call->cb.describe = cb;
	call->userdata = userdata;
	return orgs_send(c, "DescribeOrganization", &body, call);
}
