#pragma once
/* Bodies of the AWS Query protocol (IAM, STS, SES v1, SNS): form-encoded
 * "Action=..&Version=..&Name=value", every value percent-encoded with
 * RFC 3986's unreserved set (aws-wire.md §3), so that base64's '+', '/' and
 * '=' go out as %2B, %2F and %3D. */

#include <stddef.h>
#include <stdint.h>

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
