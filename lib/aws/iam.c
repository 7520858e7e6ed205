#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/iam.h"
#include "lib/base/buf.h"
#include "lib/aws/query.h"
#include "lib/base/secret.h"
#include "lib/base/strutil.h"
#include "lib/base/xml.h"

#define IAM_VERSION "2010-05-08"
#define BODY_MAX (16u * 1024)
#define ANSWER_MAX (8u * 1024 * 1024)
#define MARKER_MAX 320

static const char *const key_status_names[_AKR_IAM_KEY_STATUS_MAX] = {
	[AKR_IAM_KEY_ACTIVE] = "Active",
	[AKR_IAM_KEY_INACTIVE] = "Inactive",
	[AKR_IAM_KEY_EXPIRED] = "Expired",
};

const char *akr_iam_key_status_to_string(enum akr_iam_key_status s)
{
	return (unsigned)s < _AKR_IAM_KEY_STATUS_MAX ? key_status_names[s] : NULL;
}

int akr_iam_key_status_from_string(const char *s, enum akr_iam_key_status *ret)
{
	for (size_t i = 0; s && i < _AKR_IAM_KEY_STATUS_MAX; i++)
		if (strcmp(s, key_status_names[i]) == 0) {
			*ret = (enum akr_iam_key_status)i;
			return 0;
		}
	return -EINVAL;
}

/* Builders. */

static int add_paging(struct akr_buf *out, const char *marker, int max_items)
{
	int r = 0;

	if (marker && (!*marker || strlen(marker) > MARKER_MAX || akr_has_control_chars(marker)))
		return -EINVAL;
	if (max_items < 0 || max_items > AKR_IAM_MAX_ITEMS_PER_PAGE)
		return -EINVAL;
	if (marker)
		r = akr_query_add(out, "Marker", marker);
	if (r == 0 && max_items)
		r = akr_query_add_int(out, "MaxItems", max_items);
	return r;
}

int akr_iam_build_list_users(const char *marker, int max_items, struct akr_buf *out)
{
	int r = akr_query_start(out, "ListUsers", IAM_VERSION);

	return r < 0 ? r : add_paging(out, marker, max_items);
}

static int start_with_user(struct akr_buf *out, const char *action, const char *user_name)
{
	int r;

	if (!akr_is_iam_user_name(user_name))
		return -EINVAL;
	r = akr_query_start(out, action, IAM_VERSION);
	return r < 0 ? r : akr_query_add(out, "UserName", user_name);
}

int akr_iam_build_list_user_tags(const char *user_name, const char *marker, int max_items,
				 struct akr_buf *out)
{
	int r = start_with_user(out, "ListUserTags", user_name);

	return r < 0 ? r : add_paging(out, marker, max_items);
}

int akr_iam_build_list_access_keys(const char *user_name, const char *marker, int max_items,
				   struct akr_buf *out)
{
	int r = start_with_user(out, "ListAccessKeys", user_name);

	return r < 0 ? r : add_paging(out, marker, max_items);
}

int akr_iam_build_create_access_key(const char *user_name, struct akr_buf *out)
{
	return start_with_user(out, "CreateAccessKey", user_name);
}

int akr_iam_build_update_access_key(const char *user_name, const char *access_key_id,
				    enum akr_iam_key_status status, struct akr_buf *out)
{
	int r;

	if (!akr_is_access_key_id(access_key_id) ||
	    (status != AKR_IAM_KEY_ACTIVE && status != AKR_IAM_KEY_INACTIVE))
		return -EINVAL;
	r = start_with_user(out, "UpdateAccessKey", user_name);
	if (r == 0)
		r = akr_query_add(out, "AccessKeyId", access_key_id);
	if (r == 0)
		r = akr_query_add(out, "Status", akr_iam_key_status_to_string(status));
	return r;
}

int akr_iam_build_delete_access_key(const char *user_name, const char *access_key_id,
				    struct akr_buf *out)
{
	int r;

	if (!akr_is_access_key_id(access_key_id))
		return -EINVAL;
	r = start_with_user(out, "DeleteAccessKey", user_name);
	return r < 0 ? r : akr_query_add(out, "AccessKeyId", access_key_id);
}

int akr_iam_build_get_access_key_last_used(const char *access_key_id, struct akr_buf *out)
{
	int r;

	if (!akr_is_access_key_id(access_key_id))
		return -EINVAL;
	r = akr_query_start(out, "GetAccessKeyLastUsed", IAM_VERSION);
	return r < 0 ? r : akr_query_add(out, "AccessKeyId", access_key_id);
}

/* Result structs. */

void akr_iam_users_page_done(struct akr_iam_users_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_users; i++) {
		free(p->users[i].name);
		free(p->users[i].id);
		free(p->users[i].arn);
		free(p->users[i].path);
		free(p->users[i].invalid);
	}
	free(p->users);
	free(p->marker);
	*p = (struct akr_iam_users_page){ 0 };
}

void akr_iam_tags_page_done(struct akr_iam_tags_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_tags; i++) {
		free(p->tags[i].key);
		free(p->tags[i].value);
	}
	free(p->tags);
	free(p->marker);
	*p = (struct akr_iam_tags_page){ 0 };
}

void akr_iam_keys_page_done(struct akr_iam_keys_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_keys; i++) {
		free(p->keys[i].user_name);
		free(p->keys[i].access_key_id);
	}
	free(p->keys);
	free(p->marker);
	*p = (struct akr_iam_keys_page){ 0 };
}

void akr_iam_new_key_done(struct akr_iam_new_key *k)
{
	if (!k)
		return;
	free(k->user_name);
	free(k->access_key_id);
	akr_secret_free(k->secret);
	*k = (struct akr_iam_new_key){ 0 };
}

void akr_iam_key_last_used_done(struct akr_iam_key_last_used *u)
{
	if (!u)
		return;
	free(u->user_name);
	free(u->service_name);
	free(u->region);
	*u = (struct akr_iam_key_last_used){ 0 };
}

/* Parsers. One state for every list: which list, the page being built, and
 * per-member flags for required fields. */

enum list_kind { LIST_USERS, LIST_TAGS, LIST_KEYS };

struct list_parse {
	enum list_kind kind;
	const char *action;
	const char *member_path; /* "*" "/<Action>Result/<List>/member" */
	size_t member_depth;
	union {
		struct akr_iam_users_page users;
		struct akr_iam_tags_page tags;
		struct akr_iam_keys_page keys;
	} page;
	bool seen_result, seen_truncated, seen_date, seen_status;
	bool *is_truncated;
	char **marker;
};

static bool is_result(const char *name, const char *action)
{
	size_t n = strlen(action);

	return strncmp(name, action, n) == 0 && strcmp(name + n, "Result") == 0;
}

static int list_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	struct list_parse *p = userdata;
	int r = akr_query_check_root(path, p->action, err);

	if (r < 0)
		return r;
	if (path->depth == 2 && is_result(akr_xml_path_name(path), p->action))
		p->seen_result = true;
	if (!akr_xml_path_is(path, p->member_path))
		return 0;
	p->seen_date = p->seen_status = false;
	switch (p->kind) {
	case LIST_USERS:
		return akr_query_grow((void **)&p->page.users.users, &p->page.users.n_users,
				      sizeof(struct akr_iam_user), AKR_IAM_MAX_ITEMS_PER_PAGE,
				      "users", err);
	case LIST_TAGS:
		return akr_query_grow((void **)&p->page.tags.tags, &p->page.tags.n_tags,
				      sizeof(struct akr_iam_tag), AKR_IAM_MAX_ITEMS_PER_PAGE,
				      "tags", err);
	case LIST_KEYS:
		return akr_query_grow((void **)&p->page.keys.keys, &p->page.keys.n_keys,
				      sizeof(struct akr_iam_access_key), AKR_IAM_MAX_ITEMS_PER_PAGE,
				      "access keys", err);
	}
	return -EINVAL;
}

static int member_missing(const struct list_parse *p, const char *field, struct akr_error *err)
{
	return akr_error_malformed(err, "%s answer: a member lacks %s", p->action, field);
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* IAM's own limits on a tag (aws-wire.md §6): an answer past them is no IAM
 * answer. */
static int check_tag(const struct list_parse *p, const struct akr_iam_tag *t, struct akr_error *err)
{
	if (utf8_chars(t->key) > AKR_IAM_TAG_KEY_MAX)
		return akr_error_malformed(err, "%s answer: a tag key is longer than %d characters "
					   "('%.40s...')", p->action, AKR_IAM_TAG_KEY_MAX, t->key);
	if (akr_has_control_chars(t->key))
		return akr_error_malformed(err, "%s answer: tag key '%.128s' holds a control "
					   "character", p->action, t->key);
	if (utf8_chars(t->value) > AKR_IAM_TAG_VALUE_MAX)
		return akr_error_malformed(err, "%s answer: the value of tag '%.128s' is longer "
					   "than %d characters", p->action, t->key,
					   AKR_IAM_TAG_VALUE_MAX);
	/* A CR or LF in a value is left to the validator of what the value is
	 * used for (the email tag: an invalid address, reported): it never
	 * reaches a header. */
	return 0;
}

/* Called at </member>: every required field must be there. */
static int list_check_member(struct list_parse *p, struct akr_error *err)
{
	switch (p->kind) {
	case LIST_USERS: {
		const struct akr_iam_user *u = &p->page.users.users[p->page.users.n_users - 1];

		if (!u->name)
			return member_missing(p, "UserName", err);
		if (!akr_is_iam_user_name(u->name))
			return akr_error_malformed(err, "%s answer: invalid UserName '%.64s'",
			                           p->action, u->name);
		if (!u->id)
			return member_missing(p, "UserId", err);
		if (!u->arn)
			return member_missing(p, "Arn", err);
		if (!p->seen_date)
			return member_missing(p, "CreateDate", err);
		return 0;
	}
	case LIST_TAGS: {
		struct akr_iam_tag *t = &p->page.tags.tags[p->page.tags.n_tags - 1];

		if (!t->key || !*t->key)
			return member_missing(p, "Key", err);
		if (!t->value && !(t->value = strdup("")))
			return -ENOMEM;
		return check_tag(p, t, err);
	}
	case LIST_KEYS: {
		const struct akr_iam_access_key *k = &p->page.keys.keys[p->page.keys.n_keys - 1];

		if (!k->access_key_id)
			return member_missing(p, "AccessKeyId", err);
		if (!akr_is_access_key_id(k->access_key_id))
			return akr_error_malformed(err, "%s answer: invalid AccessKeyId '%.40s'",
			                           p->action, k->access_key_id);
		if (!p->seen_status)
			return member_missing(p, "Status", err);
		if (!p->seen_date)
			return member_missing(p, "CreateDate", err);
		return 0;
	}
	}
	return -EINVAL;
}

static int list_member_field(struct list_parse *p, const char *name, const char *text, size_t len,
			     struct akr_error *err)
{
	switch (p->kind) {
	case LIST_USERS: {
		struct akr_iam_user *u = &p->page.users.users[p->page.users.n_users - 1];

		if (strcmp(name, "UserName") == 0)
			return akr_xml_dup_text(text, len, &u->name, "UserName", err);
		if (strcmp(name, "UserId") == 0)
			return akr_xml_dup_text(text, len, &u->id, "UserId", err);
		if (strcmp(name, "Arn") == 0)
			return akr_xml_dup_text(text, len, &u->arn, "Arn", err);
		if (strcmp(name, "Path") == 0)
			return akr_xml_dup_text(text, len, &u->path, "Path", err);
		if (strcmp(name, "CreateDate") == 0)
			return akr_query_parse_time(text, "CreateDate", &p->seen_date,
						    &u->create_date_sec, err);
		return 0;
	}
	case LIST_TAGS: {
		struct akr_iam_tag *t = &p->page.tags.tags[p->page.tags.n_tags - 1];

		if (strcmp(name, "Key") == 0)
			return akr_xml_dup_text(text, len, &t->key, "Key", err);
		if (strcmp(name, "Value") == 0)
			return akr_xml_dup_text(text, len, &t->value, "Value", err);
		return 0;
	}
	case LIST_KEYS: {
		struct akr_iam_access_key *k = &p->page.keys.keys[p->page.keys.n_keys - 1];

		if (strcmp(name, "UserName") == 0)
			return akr_xml_dup_text(text, len, &k->user_name, "UserName", err);
		if (strcmp(name, "AccessKeyId") == 0)
			return akr_xml_dup_text(text, len, &k->access_key_id, "AccessKeyId", err);
		if (strcmp(name, "CreateDate") == 0)
			return akr_query_parse_time(text, "CreateDate", &p->seen_date,
						    &k->create_date_sec, err);
		if (strcmp(name, "Status") == 0) {
			if (p->seen_status)
				return akr_error_malformed(err, "duplicate element 'Status'");
			if (akr_iam_key_status_from_string(text, &k->status) < 0)
				return akr_error_malformed(err, "%s answer: unknown Status '%.20s'",
				                           p->action, text);
			p->seen_status = true;
		}
		return 0;
	}
	}
	return -EINVAL;
}

/* ListUsers: a member that fails validation (a bad or missing name, id or
 * date) is kept with the reason, so that the sweep skips and reports that
 * one user while the rest of the page and the account go on. Only a
 * document that is itself broken fails the page. */
static int user_invalid(struct list_parse *p, int r, const struct akr_error *merr,
			struct akr_error *err)
{
	struct akr_iam_user *u = &p->page.users.users[p->page.users.n_users - 1];

	if (r >= 0)
		return r;
	if (r != -EBADMSG) {
		*err = *merr;
		return r;
	}
	if (!u->invalid) {
		u->invalid = strdup(merr->message);
		if (!u->invalid)
			return -ENOMEM;
	}
	return 0;
}

static int list_end(void *userdata, const struct akr_xml_path *path, const char *text, size_t len,
		    struct akr_error *err)
{
	struct list_parse *p = userdata;
	const char *name = akr_xml_path_name(path);
	struct akr_error merr = { 0 };

	if (path->depth == p->member_depth + 1 && path->depth >= 2) {
		struct akr_xml_path parent = { .names = path->names, .depth = path->depth - 1 };

		if (akr_xml_path_is(&parent, p->member_path)) {
			if (p->kind != LIST_USERS)
				return list_member_field(p, name, text, len, err);
			return user_invalid(p, list_member_field(p, name, text, len, &merr), &merr,
					    err);
		}
	}
	if (akr_xml_path_is(path, p->member_path)) {
		if (p->kind != LIST_USERS)
			return list_check_member(p, err);
		return user_invalid(p, list_check_member(p, &merr), &merr, err);
	}
	if (path->depth == 3 && is_result(path->names[1], p->action)) {
		if (strcmp(name, "IsTruncated") == 0) {
			if (p->seen_truncated)
				return akr_error_malformed(err, "duplicate element 'IsTruncated'");
			p->seen_truncated = true;
			return akr_query_parse_bool(text, "IsTruncated", p->is_truncated, err);
		}
		if (strcmp(name, "Marker") == 0)
			return akr_xml_dup_text(text, len, p->marker, "Marker", err);
	}
	return 0;
}

static int list_parse(struct list_parse *p, const char *body, size_t len, struct akr_error *reterr)
{
	static const struct akr_xml_handler h = { .start = list_start, .end = list_end };
	int r;

	p->member_depth = 4;
	r = akr_xml_parse(body, len, NULL, &h, p, reterr);
	if (r < 0)
		return r;
	if (!p->seen_result)
		return akr_error_malformed(reterr, "%s answer lacks %sResult", p->action,
		                           p->action);
	if (*p->is_truncated && (!*p->marker || !**p->marker))
		return akr_error_malformed(reterr, "%s answer is truncated but has no Marker",
		                           p->action);
	if (!*p->is_truncated) {
		/* Only a truncated page has a meaningful marker. */
		free(*p->marker);
		*p->marker = NULL;
	}
	return 0;
}

int akr_iam_parse_list_users(const char *body, size_t len, struct akr_iam_users_page *ret,
			     struct akr_error *reterr)
{
	struct list_parse p = { .kind = LIST_USERS,
				.action = "ListUsers",
				.member_path = "*/ListUsersResult/Users/member" };
	int r;

	p.is_truncated = &p.page.users.is_truncated;
	p.marker = &p.page.users.marker;
	r = list_parse(&p, body, len, reterr);
	if (r < 0) {
		akr_iam_users_page_done(&p.page.users);
		return r;
	}
	*ret = p.page.users;
	return 0;
}

int akr_iam_parse_list_user_tags(const char *body, size_t len, struct akr_iam_tags_page *ret,
				 struct akr_error *reterr)
{
	struct list_parse p = { .kind = LIST_TAGS,
				.action = "ListUserTags",
				.member_path = "*/ListUserTagsResult/Tags/member" };
	int r;

	p.is_truncated = &p.page.tags.is_truncated;
	p.marker = &p.page.tags.marker;
	r = list_parse(&p, body, len, reterr);
	if (r < 0) {
		akr_iam_tags_page_done(&p.page.tags);
		return r;
	}
	*ret = p.page.tags;
	return 0;
}

int akr_iam_parse_list_access_keys(const char *body, size_t len, struct akr_iam_keys_page *ret,
				   struct akr_error *reterr)
{
	struct list_parse p = { .kind = LIST_KEYS,
				.action = "ListAccessKeys",
				.member_path = "*/ListAccessKeysResult/AccessKeyMetadata/member" };
	int r;

	p.is_truncated = &p.page.keys.is_truncated;
	p.marker = &p.page.keys.marker;
	r = list_parse(&p, body, len, reterr);
	if (r < 0) {
		akr_iam_keys_page_done(&p.page.keys);
		return r;
	}
	*ret = p.page.keys;
	return 0;
}

struct new_key_parse {
	struct akr_iam_new_key key;
	bool seen_status, seen_date;
};

static int new_key_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	return akr_query_check_root(path, "CreateAccessKey", err);
}

static int new_key_end(void *userdata, const struct akr_xml_path *path, const char *text,
		       size_t len, struct akr_error *err)
{
	struct new_key_parse *p = userdata;
	const char *name = akr_xml_path_name(path);

	if (path->depth != 4 || !akr_xml_path_is(path, "*/CreateAccessKeyResult/AccessKey/*"))
		return 0;
	if (strcmp(name, "UserName") == 0)
		return akr_xml_dup_text(text, len, &p->key.user_name, "UserName", err);
	if (strcmp(name, "AccessKeyId") == 0)
		return akr_xml_dup_text(text, len, &p->key.access_key_id, "AccessKeyId", err);
	if (strcmp(name, "CreateDate") == 0)
		return akr_query_parse_time(text, "CreateDate", &p->seen_date,
					    &p->key.create_date_sec, err);
	if (strcmp(name, "Status") == 0) {
		if (p->seen_status)
			return akr_error_malformed(err, "duplicate element 'Status'");
		if (akr_iam_key_status_from_string(text, &p->key.status) < 0)
			return akr_error_malformed(
			    err, "CreateAccessKey answer: unknown Status '%.20s'", text);
		p->seen_status = true;
		return 0;
	}
	if (strcmp(name, "SecretAccessKey") == 0) {
		if (p->key.secret)
			return akr_error_malformed(err, "duplicate element 'SecretAccessKey'");
		p->key.secret = akr_secret_new(text, len);
		return p->key.secret ? 0 : -ENOMEM;
	}
	return 0;
}

int akr_iam_parse_create_access_key(const char *body, size_t len, struct akr_iam_new_key *ret,
				    struct akr_error *reterr)
{
	static const struct akr_xml_handler h = { .start = new_key_start, .end = new_key_end };
	/* The answer holds the only copy of a secret: wipe every buffer. */
	const struct akr_xml_limits limits = { .sensitive = true };
	struct new_key_parse p = { 0 };
	const char *missing = NULL;
	int r;

	r = akr_xml_parse(body, len, &limits, &h, &p, reterr);
	if (r < 0)
		goto fail;
	if (!p.key.access_key_id)
		missing = "AccessKeyId";
	else if (!p.key.secret || p.key.secret->len == 0)
		missing = "SecretAccessKey";
	else if (!p.key.user_name)
		missing = "UserName";
	else if (!p.seen_status)
		missing = "Status";
	else if (!p.seen_date)
		missing = "CreateDate";
	if (missing) {
		r = akr_error_malformed(reterr, "CreateAccessKey answer lacks AccessKey/%s",
		                        missing);
		goto fail;
	}
	if (!akr_is_access_key_id(p.key.access_key_id)) {
		r = akr_error_malformed(reterr,
		                        "CreateAccessKey answer: invalid AccessKeyId '%.40s'",
		                        p.key.access_key_id);
		goto fail;
	}
	*ret = p.key;
	return 0;
fail:
	akr_iam_new_key_done(&p.key);
	return r;
}

struct last_used_parse {
	struct akr_iam_key_last_used u;
	bool seen_date, seen_last_used;
};

static int last_used_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	struct last_used_parse *p = userdata;

	if (akr_xml_path_is(path, "*/GetAccessKeyLastUsedResult/AccessKeyLastUsed"))
		p->seen_last_used = true;
	return akr_query_check_root(path, "GetAccessKeyLastUsed", err);
}

static int last_used_end(void *userdata, const struct akr_xml_path *path, const char *text,
			 size_t len, struct akr_error *err)
{
	struct last_used_parse *p = userdata;

	if (akr_xml_path_is(path, "*/GetAccessKeyLastUsedResult/UserName"))
		return akr_xml_dup_text(text, len, &p->u.user_name, "UserName", err);
	if (akr_xml_path_is(path, "*/GetAccessKeyLastUsedResult/AccessKeyLastUsed/LastUsedDate"))
		return akr_query_parse_time(text, "LastUsedDate", &p->seen_date,
					    &p->u.last_used_sec, err);
	if (akr_xml_path_is(path, "*/GetAccessKeyLastUsedResult/AccessKeyLastUsed/ServiceName"))
		return akr_xml_dup_text(text, len, &p->u.service_name, "ServiceName", err);
	if (akr_xml_path_is(path, "*/GetAccessKeyLastUsedResult/AccessKeyLastUsed/Region"))
		return akr_xml_dup_text(text, len, &p->u.region, "Region", err);
	return 0;
}

int akr_iam_parse_get_access_key_last_used(const char *body, size_t len,
					   struct akr_iam_key_last_used *ret,
					   struct akr_error *reterr)
{
	static const struct akr_xml_handler h = { .start = last_used_start, .end = last_used_end };
	struct last_used_parse p = { 0 };
	int r;

	r = akr_xml_parse(body, len, NULL, &h, &p, reterr);
	if (r >= 0 && !p.seen_last_used)
		r = akr_error_malformed(reterr,
		                        "GetAccessKeyLastUsed answer lacks AccessKeyLastUsed");
	else if (r >= 0 && (!p.u.service_name || !p.u.region))
		r = akr_error_malformed(reterr,
		                        "GetAccessKeyLastUsed answer lacks AccessKeyLastUsed/%s",
		                        p.u.service_name ? "Region" : "ServiceName");
	else if (r >= 0 && p.seen_date && p.u.last_used_sec <= 0)
		r = akr_error_malformed(reterr,
		                        "GetAccessKeyLastUsed answer: LastUsedDate before 1970");
	if (r < 0) {
		akr_iam_key_last_used_done(&p.u);
		return r;
	}
	*ret = p.u;
	return 0;
}

static int empty_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	return akr_query_check_root(path, userdata, err);
}

int akr_iam_parse_empty(const char *action, const char *body, size_t len, struct akr_error *reterr)
{
	const struct akr_xml_handler h = { .start = empty_start };

	return akr_xml_parse(body, len, NULL, &h, (void *)action, reterr);
}

/* Calls: one context type for every operation. */

enum iam_op { OP_LIST_USERS, OP_LIST_TAGS, OP_LIST_KEYS, OP_CREATE, OP_LAST_USED, OP_EMPTY };

struct iam_call {
	enum iam_op op;
	const char *action; /* static */
	union {
		akr_iam_list_users_cb users;
		akr_iam_list_user_tags_cb tags;
		akr_iam_list_access_keys_cb keys;
		akr_iam_create_access_key_cb create;
		akr_iam_get_access_key_last_used_cb last_used;
		akr_iam_done_cb done;
	} cb;
	void *userdata;
};

static void iam_call_done(void *userdata, int r, const char *body, size_t len,
			  const struct akr_error *err)
{
	struct iam_call *call = userdata;
	union {
		struct akr_iam_users_page users;
		struct akr_iam_tags_page tags;
		struct akr_iam_keys_page keys;
		struct akr_iam_new_key key;
		struct akr_iam_key_last_used last_used;
	} res;
	struct akr_error perr;
	bool ok;

	memset(&res, 0, sizeof(res));
	if (r >= 0) {
		akr_error_set(&perr, AKR_ERROR_PARSE, 0, "MalformedResponse",
			      "cannot read the %s answer", call->action);
		switch (call->op) {
		case OP_LIST_USERS:
			r = akr_iam_parse_list_users(body, len, &res.users, &perr);
			break;
		case OP_LIST_TAGS:
			r = akr_iam_parse_list_user_tags(body, len, &res.tags, &perr);
			break;
		case OP_LIST_KEYS:
			r = akr_iam_parse_list_access_keys(body, len, &res.keys, &perr);
			break;
		case OP_CREATE:
			r = akr_iam_parse_create_access_key(body, len, &res.key, &perr);
			break;
		case OP_LAST_USED:
			r = akr_iam_parse_get_access_key_last_used(body, len, &res.last_used,
								   &perr);
			break;
		case OP_EMPTY:
			r = akr_iam_parse_empty(call->action, body, len, &perr);
			break;
		}
		err = &perr;
	}
	ok = r >= 0;
	if (ok)
		err = NULL;
	switch (call->op) {
	case OP_LIST_USERS:
		call->cb.users(call->userdata, r, ok ? &res.users : NULL, err);
		akr_iam_users_page_done(&res.users);
		break;
	case OP_LIST_TAGS:
		call->cb.tags(call->userdata, r, ok ? &res.tags : NULL, err);
		akr_iam_tags_page_done(&res.tags);
		break;
	case OP_LIST_KEYS:
		call->cb.keys(call->userdata, r, ok ? &res.keys : NULL, err);
		akr_iam_keys_page_done(&res.keys);
		break;
	case OP_CREATE:
		call->cb.create(call->userdata, r, ok ? &res.key : NULL, err);
		akr_iam_new_key_done(&res.key);
		break;
	case OP_LAST_USED:
		call->cb.last_used(call->userdata, r, ok ? &res.last_used : NULL, err);
		akr_iam_key_last_used_done(&res.last_used);
		break;
	case OP_EMPTY:
		call->cb.done(call->userdata, r, err);
		break;
	}
	free(call);
}

/* Sends @body (built by the caller, which still owns it) for @call (taken). */
static int iam_send(const struct akr_aws_client *c, struct iam_call *call, int build_r,
		    struct akr_buf *body)
{
	struct akr_aws_call_desc d;
	int r;

	if (build_r < 0) {
		free(call);
		return build_r == -E2BIG ? -EINVAL : build_r;
	}
	d = (struct akr_aws_call_desc){
		.service = AKR_SERVICE_IAM,
		.action = call->action,
		.path = "/",
		.content_type = AKR_QUERY_CONTENT_TYPE,
		.body = (const uint8_t *)body->data,
		.body_len = body->len,
		.max_response_bytes = ANSWER_MAX,
		.sensitive = call->op == OP_CREATE,
		/* A repeated CreateAccessKey would make a second key whose secret
		 * nobody saw. Update/Delete converge and are safe to repeat. */
		.idempotent = call->op != OP_CREATE,
	};
	r = akr_aws_call(c, &d, iam_call_done, call);
	if (r < 0)
		free(call);
	return r;
}

static struct iam_call *iam_call_new(enum iam_op op, const char *action, void *userdata)
{
	struct iam_call *call = calloc(1, sizeof(*call));

	if (call) {
		call->op = op;
		call->action = action;
		call->userdata = userdata;
	}
	return call;
}

int akr_iam_list_users(const struct akr_aws_client *c, const char *marker, int max_items,
		       akr_iam_list_users_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct iam_call *call;

	if (!cb)
		return -EINVAL;
	call = iam_call_new(OP_LIST_USERS, "ListUsers", userdata);
	if (!call)
		return -ENOMEM;
	call->cb.users = cb;
	akr_buf_init(&body, BODY_MAX, false);
	return iam_send(c, call, akr_iam_build_list_users(marker, max_items, &body), &body);
}

int akr_iam_list_user_tags(const struct akr_aws_client *c, const char *user_name,
			   const char *marker, int max_items, akr_iam_list_user_tags_cb cb,
			   void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct iam_call *call;

	if (!cb)
		return -EINVAL;
	call = iam_call_new(OP_LIST_TAGS, "ListUserTags", userdata);
	if (!call)
		return -ENOMEM;
	call->cb.tags = cb;
	akr_buf_init(&body, BODY_MAX, false);
	return iam_send(c, call, akr_iam_build_list_user_tags(user_name, marker, max_items, &body),
			&body);
}

int akr_iam_list_access_keys(const struct akr_aws_client *c, const char *user_name,
			     const char *marker, int max_items, akr_iam_list_access_keys_cb cb,
			     void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct iam_call *call;

	if (!cb)
		return -EINVAL;
	call = iam_call_new(OP_LIST_KEYS, "ListAccessKeys", userdata);
	if (!call)
		return -ENOMEM;
	call->cb.keys = cb;
	akr_buf_init(&body, BODY_MAX, false);
	return iam_send(c, call,
			akr_iam_build_list_access_keys(user_name, marker, max_items, &body), &body);
}

int akr_iam_create_access_key(const struct akr_aws_client *c, const char *user_name,
			      akr_iam_create_access_key_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct iam_call *call;

	if (!cb)
		return -EINVAL;
	call = iam_call_new(OP_CREATE, "CreateAccessKey", userdata);
	if (!call)
		return -ENOMEM;
	call->cb.create = cb;
	akr_buf_init(&body, BODY_MAX, false);
	return iam_send(c, call, akr_iam_build_create_access_key(user_name, &body), &body);
}

int akr_iam_update_access_key(const struct akr_aws_client *c, const char *user_name,
			      const char *access_key_id, enum akr_iam_key_status status,
			      akr_iam_done_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct iam_call *call;

	if (!cb)
		return -EINVAL;
	call = iam_call_new(OP_EMPTY, "UpdateAccessKey", userdata);
	if (!call)
		return -ENOMEM;
	call->cb.done = cb;
	akr_buf_init(&body, BODY_MAX, false);
	return iam_send(c, call,
			akr_iam_build_update_access_key(user_name, access_key_id, status, &body),
			&body);
}

int akr_iam_delete_access_key(const struct akr_aws_client *c, const char *user_name,
			      const char *access_key_id, akr_iam_done_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct iam_call *call;

	if (!cb)
		return -EINVAL;
	call = iam_call_new(OP_EMPTY, "DeleteAccessKey", userdata);
	if (!call)
		return -ENOMEM;
	call->cb.done = cb;
	akr_buf_init(&body, BODY_MAX, false);
	return iam_send(c, call, akr_iam_build_delete_access_key(user_name, access_key_id, &body),
			&body);
}

int akr_iam_get_access_key_last_used(const struct akr_aws_client *c, const char *access_key_id,
				     akr_iam_get_access_key_last_used_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct iam_call *call;

	if (!cb)
		return -EINVAL;
	call = iam_call_new(OP_LAST_USED, "GetAccessKeyLastUsed", userdata);
	if (!call)
		return -ENOMEM;
	call->cb.last_used = cb;
	akr_buf_init(&body, BODY_MAX, false);
	return iam_send(c, call, akr_iam_build_get_access_key_last_used(access_key_id, &body),
			&body);
}
