#pragma once
/* Bodies of the AWS Query protocol (IAM, STS, SES v1, SNS): form-encoded
 * "Action=..&Version=..&Name=value", every value percent-encoded with
 * RFC 3986's unreserved set (aws-wire.md §3), so that base64's '+', '/' and
 * '=' go out as %2B, %2F and %3D. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/aws/client.h"

struct akr_buf;

#define AKR_QUERY_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

/** Starts a body in @out (which must be empty) with Action and Version.
 * Returns 0, -E2BIG, -ENOMEM. */
int akr_query_start(struct akr_buf *out, const char *action, const char *version);
/** Appends "&@name=@value" with @value percent-encoded (@name is ours and
 * must need no encoding). Returns 0, -E2BIG, -ENOMEM. */
int akr_query_add(struct akr_buf *out, const char *name, const char *value);
/** The same for @len bytes of @value. */
int akr_query_add_n(struct akr_buf *out, const char *name, const char *value, size_t len);
/** Appends "&@name=<decimal @value>". */
int akr_query_add_int(struct akr_buf *out, const char *name, int64_t value);
/** Appends "&@prefix.member.@index=@value" (list members count from 1). */
int akr_query_add_member(struct akr_buf *out, const char *prefix, size_t index, const char *value);

struct akr_error;
struct akr_xml_path;

/** For a parser's start callback: when @path is the root element, checks that
 * it is "<@action>Response" (an <ErrorResponse> with status 200, say, is not
 * an answer). Returns 0 or -EBADMSG with @err filled. */
int akr_query_check_root(const struct akr_xml_path *path, const char *action,
			 struct akr_error *err);
/** Parses the answer of an action whose only result is a message id
 * (SES SendRawEmail, SNS Publish): <@action>Response/<@action>Result/MessageId.
 * On success *@ret_message_id is a new string the caller frees. Returns 0,
 * -EBADMSG (with @reterr), -E2BIG, -ENOMEM. */
int akr_query_parse_message_id(const char *body, size_t len, const char *action,
			       char **ret_message_id, struct akr_error *reterr);
/** Completion of akr_query_call_for_message_id(): @message_id borrowed,
 * NULL on failure. */
typedef void (*akr_query_message_id_cb)(void *userdata, int r, const char *message_id,
					const struct akr_error *err);
/** Sends @body (a complete Query form for @action, borrowed) to @service as a
 * non-idempotent call (a retried send after a lost answer would act twice)
 * and delivers the answer's MessageId. Async contract as akr_aws_call(). */
int akr_query_call_for_message_id(const struct akr_aws_client *c, enum akr_service service,
				  const char *action, const struct akr_buf *body,
				  size_t max_answer_bytes, akr_query_message_id_cb cb,
				  void *userdata);
/** Parses the ISO 8601 timestamp @text of element @field. Fails on a
 * duplicate (*@seen already true) or a bad date. Returns 0 or -EBADMSG. */
int akr_query_parse_time(const char *text, const char *field, bool *seen, int64_t *ret,
			 struct akr_error *err);
/** Parses "true"/"false". Returns 0 or -EBADMSG. */
int akr_query_parse_bool(const char *text, const char *field, bool *ret, struct akr_error *err);
/** Grows the array *@items of *@n elements of @size bytes by one zeroed
 * element, refusing to go past @max (-E2BIG, @err filled). Returns 0,
 * -E2BIG, -ENOMEM. */
int akr_query_grow(void **items, size_t *n, size_t size, size_t max, const char *what,
		   struct akr_error *err);
