#pragma once
/* An identity that assumes a role with a parent's credentials: its refresh
 * calls STS AssumeRole through the parent client. */

struct akr_aws_client;
struct akr_aws_identity;
struct akr_sts_assume_role_params;

struct akr_assumed_role;

/** Creates an identity whose refresh calls akr_sts_assume_role() through
 * @parent (borrowed: it and what it points to must outlive @ret) with @p
 * (copied). account_id is taken from the role ARN. Returns 0, -EINVAL (not an
 * IAM role ARN, bad session name), -ENOMEM. Free with akr_assumed_role_free(). */
int akr_assumed_role_new(const struct akr_aws_client *parent,
			 const struct akr_sts_assume_role_params *p, struct akr_assumed_role **ret);
/** The identity (owned by @ar) to sign calls in the role's account with. */
struct akr_aws_identity *akr_assumed_role_identity(struct akr_assumed_role *ar);
/** The assumed-role ARN of the last successful refresh, or NULL (borrowed). */
const char *akr_assumed_role_arn(const struct akr_assumed_role *ar);
/** Fails waiters with -ECANCELED and frees; an AssumeRole in flight then
 * completes into nothing. NULL does nothing; returns NULL. */
struct akr_assumed_role *akr_assumed_role_free(struct akr_assumed_role *ar);
