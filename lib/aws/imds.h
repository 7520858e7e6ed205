#pragma once
/* EC2 instance metadata credentials, IMDSv2 (aws-wire.md §11): PUT a session
 * token, GET the role name, GET the role's credentials, each with a short
 * timeout, through lib/http/engine (nothing blocks). Settings from the environment:
 * AWS_EC2_METADATA_DISABLED=true (skip), AWS_EC2_METADATA_SERVICE_ENDPOINT
 * (base URL), AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6,
 * AWS_METADATA_SERVICE_TIMEOUT (seconds, default 1),
 * AWS_EC2_METADATA_V1_DISABLED=true (no fallback without a token). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct akr_aws_creds;
struct akr_error;
struct akr_http;

/** Whether $AWS_EC2_METADATA_DISABLED says "true". */
bool akr_imds_disabled(void);

/** Completion of akr_imds_fetch_credentials(). On success (@r == 0) @creds
 * are the callee's: move them out with akr_aws_creds_move(); they are wiped
 * after the callback. @role (borrowed) is the instance profile's role name.
 * On failure @creds and @role are NULL and @err says which step failed. */
typedef void (*akr_imds_creds_cb)(void *userdata, int r, struct akr_aws_creds *creds,
				  const char *role, const struct akr_error *err);

/** Fetches the instance role's credentials. If it returns < 0 (-EINVAL bad
 * endpoint setting, -ENOMEM, an error of akr_http_request_start()) @cb never
 * runs; if 0, @cb runs exactly once from the loop, with 0, -ETIMEDOUT or
 * another transport error (no IMDS here), -EPROTO (an HTTP error status),
 * -EBADMSG (an unusable answer), or -ECANCELED. @http is borrowed and must
 * outlive the fetch. */
int akr_imds_fetch_credentials(struct akr_http *http, akr_imds_creds_cb cb, void *userdata);

/** Parses the credentials document ({"Code": "Success", "AccessKeyId": ...,
 * "SecretAccessKey": ..., "Token": ..., "Expiration": "...Z"}). Fills @ret
 * only on success; -EBADMSG with @reterr (may be NULL) when Code is not
 * "Success" or a field is missing or malformed; -ENOMEM. */
int akr_imds_parse_credentials(const char *body, size_t len, struct akr_aws_creds *ret,
			       struct akr_error *reterr);
