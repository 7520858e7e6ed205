#pragma once
/* AWS IAM (Query protocol, 2010-05-08): users, tags and access keys.
 * aws-wire.md §6. List calls fetch one page: paging is the caller's loop
 * (continue while is_truncated, passing back the marker). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/aws/client.h"
#include "lib/base/error.h"

struct akr_buf;
struct akr_secret;

#define AKR_IAM_MAX_ITEMS_PER_PAGE 1000
/* IAM's limits on a tag, in characters; a ListUserTags answer past them, or
 * with a control character in a key, fails as malformed. */
#define AKR_IAM_TAG_KEY_MAX 128
#define AKR_IAM_TAG_VALUE_MAX 256

enum akr_iam_key_status {
	AKR_IAM_KEY_ACTIVE,
	AKR_IAM_KEY_INACTIVE,
	AKR_IAM_KEY_EXPIRED, /* unusable */
	_AKR_IAM_KEY_STATUS_MAX,
};
/** "Active", "Inactive", "Expired"; NULL when out of range. */
const char *akr_iam_key_status_to_string(enum akr_iam_key_status s);
/** The inverse; returns 0 or -EINVAL for anything else. */
int akr_iam_key_status_from_string(const char *s, enum akr_iam_key_status *ret);

/** A member of a ListUsers page. A member that fails validation does not
 * fail the page: @invalid says why (the caller skips and reports that user)
 * and any other field may then be NULL or unchecked, @name included. */
struct akr_iam_user {
	char *name;
	char *id;
	char *arn;
	char *path;
	int64_t create_date_sec;
	char *invalid; /* NULL when the member is valid */
};

/** Pages: to keep one beyond its callback, copy the struct and zero the
 * original. @marker is NULL unless @is_truncated. */
struct akr_iam_users_page {
	struct akr_iam_user *users;
	size_t n_users;
	bool is_truncated;
	char *marker;
};
void akr_iam_users_page_done(struct akr_iam_users_page *p);

struct akr_iam_tag {
	char *key;
	char *value; /* may be "" */
};
struct akr_iam_tags_page {
	struct akr_iam_tag *tags;
	size_t n_tags;
	bool is_truncated;
	char *marker;
};
void akr_iam_tags_page_done(struct akr_iam_tags_page *p);

struct akr_iam_access_key {
	char *user_name;
	char *access_key_id;
	enum akr_iam_key_status status;
	int64_t create_date_sec;
};
struct akr_iam_keys_page {
	struct akr_iam_access_key *keys;
	size_t n_keys;
	bool is_truncated;
	char *marker;
};
void akr_iam_keys_page_done(struct akr_iam_keys_page *p);

/** The answer of CreateAccessKey. @secret is the only copy of the secret
 * access key: move it out (TAKE_PTR) or it is wiped and freed with the rest. */
struct akr_iam_new_key {
	char *user_name;
	char *access_key_id;
	enum akr_iam_key_status status;
	int64_t create_date_sec;
	struct akr_secret *secret;
};
void akr_iam_new_key_done(struct akr_iam_new_key *k);

struct akr_iam_key_last_used {
	char *user_name;       /* NULL if absent */
	int64_t last_used_sec; /* 0 = never used */
	char *service_name;    /* "N/A" when never used */
	char *region;          /* "N/A" when never used */
};
void akr_iam_key_last_used_done(struct akr_iam_key_last_used *u);

/* Completions. A result pointer is the callee's (NULL on failure) and is
 * freed after the callback returns unless its members are moved out. */
typedef void (*akr_iam_list_users_cb)(void *userdata, int r, struct akr_iam_users_page *page,
				      const struct akr_error *err);
typedef void (*akr_iam_list_user_tags_cb)(void *userdata, int r, struct akr_iam_tags_page *page,
					  const struct akr_error *err);
typedef void (*akr_iam_list_access_keys_cb)(void *userdata, int r, struct akr_iam_keys_page *page,
					    const struct akr_error *err);
typedef void (*akr_iam_create_access_key_cb)(void *userdata, int r, struct akr_iam_new_key *key,
					     const struct akr_error *err);
typedef void (*akr_iam_get_access_key_last_used_cb)(void *userdata, int r,
						    struct akr_iam_key_last_used *last_used,
						    const struct akr_error *err);
/** For operations without output (UpdateAccessKey, DeleteAccessKey). */
typedef void (*akr_iam_done_cb)(void *userdata, int r, const struct akr_error *err);

/* Operations. Strings are borrowed. @marker NULL = first page; @max_items
 * 1..1000, 0 = service default (100). Each returns 0 (then the callback runs
 * exactly once, from the loop), -EINVAL (bad parameter), -ENOKEY, -ENOMEM;
 * the callback never runs on failure. */
int akr_iam_list_users(const struct akr_aws_client *c, const char *marker, int max_items,
		       akr_iam_list_users_cb cb, void *userdata);
int akr_iam_list_user_tags(const struct akr_aws_client *c, const char *user_name,
			   const char *marker, int max_items, akr_iam_list_user_tags_cb cb,
			   void *userdata);
int akr_iam_list_access_keys(const struct akr_aws_client *c, const char *user_name,
			     const char *marker, int max_items, akr_iam_list_access_keys_cb cb,
			     void *userdata);
/** Not idempotent: never retried after the request may have been processed.
 * The answer is handled as sensitive (wiped buffers). */
int akr_iam_create_access_key(const struct akr_aws_client *c, const char *user_name,
			      akr_iam_create_access_key_cb cb, void *userdata);
/** @status must be Active or Inactive. */
int akr_iam_update_access_key(const struct akr_aws_client *c, const char *user_name,
			      const char *access_key_id, enum akr_iam_key_status status,
			      akr_iam_done_cb cb, void *userdata);
int akr_iam_delete_access_key(const struct akr_aws_client *c, const char *user_name,
			      const char *access_key_id, akr_iam_done_cb cb, void *userdata);
int akr_iam_get_access_key_last_used(const struct akr_aws_client *c, const char *access_key_id,
				     akr_iam_get_access_key_last_used_cb cb, void *userdata);

/* Wire format, exposed for tests and fuzzing: contracts as in aws_sts.h. */
int akr_iam_build_list_users(const char *marker, int max_items, struct akr_buf *out);
int akr_iam_build_list_user_tags(const char *user_name, const char *marker, int max_items,
				 struct akr_buf *out);
int akr_iam_build_list_access_keys(const char *user_name, const char *marker, int max_items,
				   struct akr_buf *out);
int akr_iam_build_create_access_key(const char *user_name, struct akr_buf *out);
int akr_iam_build_update_access_key(const char *user_name, const char *access_key_id,
				    enum akr_iam_key_status status, struct akr_buf *out);
int akr_iam_build_delete_access_key(const char *user_name, const char *access_key_id,
				    struct akr_buf *out);
int akr_iam_build_get_access_key_last_used(const char *access_key_id, struct akr_buf *out);

int akr_iam_parse_list_users(const char *body, size_t len, struct akr_iam_users_page *ret,
			     struct akr_error *reterr);
int akr_iam_parse_list_user_tags(const char *body, size_t len, struct akr_iam_tags_page *ret,
				 struct akr_error *reterr);
int akr_iam_parse_list_access_keys(const char *body, size_t len, struct akr_iam_keys_page *ret,
				   struct akr_error *reterr);
int akr_iam_parse_create_access_key(const char *body, size_t len, struct akr_iam_new_key *ret,
				    struct akr_error *reterr);
int akr_iam_parse_get_access_key_last_used(const char *body, size_t len,
					   struct akr_iam_key_last_used *ret,
					   struct akr_error *reterr);
/** Checks an answer without output: an <@action>Response root element. */
int akr_iam_parse_empty(const char *action, const char *body, size_t len, struct akr_error *reterr);
