#pragma once
/* Container credentials (ECS task roles, EKS Pod Identity), as the AWS SDKs
 * fetch them: GET $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI from
 * http://169.254.170.2, or $AWS_CONTAINER_CREDENTIALS_FULL_URI when it is
 * https:// or http:// to a loopback address or one of the container
 * endpoints (169.254.170.2, 169.254.170.23, [fd00:ec2::23]); with the header
 * Authorization: the contents of $AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
 * else $AWS_CONTAINER_AUTHORIZATION_TOKEN. The answer is
 * {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}. */

#include <stdbool.h>

struct akr_aws_creds;
struct akr_error;
struct akr_http;

/** Whether either URI variable is set (the source applies). */
bool akr_container_configured(void);

/** The URL to fetch, checked (malloc'ed into @ret_url). Returns 0, -ENOENT
 * (not configured), -EINVAL with @reterr (a FULL_URI that is neither https
 * nor a permitted host, a bad relative URI), -ENOMEM. */
int akr_container_url(char **ret_url, struct akr_error *reterr);

/** Completion: @r 0 with @creds (the callee's: move them out), else -errno
 * with @err (which names the container credentials endpoint). */
typedef void (*akr_container_creds_cb)(void *userdata, int r, struct akr_aws_creds *creds,
				       const struct akr_error *err);

/** Fetches the credentials through @http (borrowed, must outlive the fetch).
 * Returns < 0 (-ENOENT, -EINVAL with @reterr, -ENOMEM, a start error) and
 * @cb never runs, or 0 and @cb runs once from the loop. */
int akr_container_fetch_credentials(struct akr_http *http, akr_container_creds_cb cb,
				    void *userdata, struct akr_error *reterr);
