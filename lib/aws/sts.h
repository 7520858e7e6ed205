#pragma once
/* AWS STS (Query protocol, 2011-06-15): AssumeRole and GetCallerIdentity.
 * aws-wire.md §5. */

#include <stddef.h>
#include <stdint.h>

#include "lib/aws/client.h"
#include "lib/base/error.h"

struct akr_buf;

struct akr_sts_assume_role_params {
	const char *role_arn;
	const char *session_name;
	const char *external_id /* NULL/"" = none */;
	int duration_sec /* 0 = default 3600 */;
};

/** Completion of akr_sts_assume_role(). On success (@r == 0) @creds are the
 * callee's: move them out with akr_aws_creds_move() to keep them; they are
 * freed (wiped) after the callback returns. @assumed_role_arn is borrowed.
 * On failure @creds and @assumed_role_arn are NULL and @err is non-NULL. */
typedef void (*akr_sts_assume_role_cb)(void *userdata, int r,
				       struct akr_aws_creds *creds /* on success: the callee's; move out with akr_aws_creds_move() */,
				       const char *assumed_role_arn, const struct akr_error *err);

/** Assumes @p->role_arn with @c's identity. The answer is handled as
 * sensitive (wiped buffers). Returns 0 (then @cb runs exactly once, from the
 * loop), -EINVAL (bad parameters), -ENOKEY (no credentials and no refresher),
 * -ENOMEM; @cb never runs on failure. */
int akr_sts_assume_role(const struct akr_aws_client *c, const struct akr_sts_assume_role_params *p,
			akr_sts_assume_role_cb cb, void *userdata);

/** STS AssumeRoleWithWebIdentity of @p->role_arn with the OIDC @token
 * (borrowed; sent in a wiped buffer, never logged): an unsigned call, so
 * @c's identity is not used (it may hold no credentials). @p->external_id is
 * ignored. Contract as akr_sts_assume_role(). */
int akr_sts_assume_role_with_web_identity(const struct akr_aws_client *c,
					  const struct akr_sts_assume_role_params *p,
					  const char *token, akr_sts_assume_role_cb cb,
					  void *userdata);

struct akr_sts_caller_identity {
	char *account; /* 12 digits */
	char *arn;
	char *user_id;
};
void akr_sts_caller_identity_done(struct akr_sts_caller_identity *id);

/** Completion of akr_sts_get_caller_identity(): @id is borrowed (NULL on failure). */
typedef void (*akr_sts_get_caller_identity_cb)(void *userdata, int r,
					       const struct akr_sts_caller_identity *id,
					       const struct akr_error *err);
/** GetCallerIdentity. Async contract as akr_sts_assume_role(). */
int akr_sts_get_caller_identity(const struct akr_aws_client *c, akr_sts_get_caller_identity_cb cb,
				void *userdata);

/* Wire format, exposed for tests and fuzzing. Builders append a complete
 * form-encoded body to @out and return 0, -EINVAL (bad parameter), -E2BIG,
 * -ENOMEM. Parsers fill @ret only on success (0) and otherwise return
 * -EBADMSG (malformed, missing or invalid field, with @reterr, kind
 * AKR_ERROR_PARSE), -E2BIG (a limit exceeded), -ENOMEM. @reterr may be NULL. */

struct akr_sts_assume_role_result {
	struct akr_aws_creds creds;
	char *assumed_role_arn;
	char *assumed_role_id;
};
void akr_sts_assume_role_result_done(struct akr_sts_assume_role_result *res);

int akr_sts_build_assume_role(const struct akr_sts_assume_role_params *p, struct akr_buf *out);
int akr_sts_parse_assume_role(const char *body, size_t len, struct akr_sts_assume_role_result *ret,
			      struct akr_error *reterr);
int akr_sts_build_assume_role_with_web_identity(const struct akr_sts_assume_role_params *p,
						const char *token, struct akr_buf *out);
int akr_sts_parse_assume_role_with_web_identity(const char *body, size_t len,
						struct akr_sts_assume_role_result *ret,
						struct akr_error *reterr);
int akr_sts_build_get_caller_identity(struct akr_buf *out);
int akr_sts_parse_get_caller_identity(const char *body, size_t len,
				      struct akr_sts_caller_identity *ret,
				      struct akr_error *reterr);
