#pragma once
/* Where the daemon's AWS credentials come from (aws-wire.md §11), and
 * identities that assume a role.
 *
 * The base chain, first complete source wins:
 *  1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
 *     only one of the pair set is an error;
 *  2. systemd credentials ($CREDENTIALS_DIRECTORY, LoadCredential=): the files
 *     aws_access_key_id + aws_secret_access_key (+ aws_session_token), one
 *     value each (surrounding white space ignored); or else a file
 *     aws-credentials in the shared-credentials INI format, read for the
 *     chosen profile (else [default]);
 *  3. the profile (@profile, else $AWS_PROFILE, else "default") in
 *     ~/.aws/credentials ($AWS_SHARED_CREDENTIALS_FILE) and ~/.aws/config
 *     ($AWS_CONFIG_FILE), in botocore's order:
 *     a. role_arn with source_profile (static keys of that profile, which may
 *        be the same one) or credential_source = Environment, plus
 *        external_id, role_session_name and duration_seconds: STS AssumeRole;
 *     b. web identity: $AWS_WEB_IDENTITY_TOKEN_FILE + $AWS_ROLE_ARN
 *        (+ $AWS_ROLE_SESSION_NAME), else the profile's
 *        web_identity_token_file + role_arn (+ role_session_name): STS
 *        AssumeRoleWithWebIdentity, unsigned (EKS IRSA);
 *     c. static aws_access_key_id/aws_secret_access_key (+ aws_session_token)
 *        of the credentials file;
 *     d. credential_process (lib/aws/credprocess.h; IAM Roles Anywhere);
 *     e. static keys of the config file.
 *     A profile named explicitly that exists in neither file is an error;
 *  4. container credentials (lib/aws/container.h: ECS, EKS Pod Identity);
 *  5. EC2 instance metadata (IMDSv2, lib/aws/imds.h) unless AWS_EC2_METADATA_DISABLED.
 * Steps 1-3 answer without network, except AssumeRole, web identity and the
 * process. Errors name the source and the file and line at fault. Secrets
 * are held in struct akr_secret only. */

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lib/aws/client.h"
#include "lib/aws/sts.h"

struct akr_error;
struct akr_http;
struct akr_endpoints;
struct akr_clock;

enum akr_creds_source {
	AKR_CREDS_SOURCE_NONE,
	AKR_CREDS_SOURCE_ENV,
	AKR_CREDS_SOURCE_SYSTEMD,
	AKR_CREDS_SOURCE_PROFILE,     /* static keys from the shared files */
	AKR_CREDS_SOURCE_ASSUME_ROLE, /* the profile's role_arn */
	AKR_CREDS_SOURCE_IMDS,
	AKR_CREDS_SOURCE_WEB_IDENTITY, /* AssumeRoleWithWebIdentity */
	AKR_CREDS_SOURCE_PROCESS,      /* the profile's credential_process */
	AKR_CREDS_SOURCE_CONTAINER,    /* container credentials endpoint */
	_AKR_CREDS_SOURCE_MAX,
};
/** "none", "environment", "systemd-credentials", "profile", "assume-role", "imds",
 * "web-identity", "credential-process", "container". */
const char *akr_creds_source_to_string(enum akr_creds_source s);

/** The region: $AWS_REGION > $AWS_DEFAULT_REGION > the profile's region in
 * the config file > "us-east-1". @profile as in the chain. Returns 0 with a
 * malloc'ed string (caller frees), -EINVAL (unreadable config, a region that
 * is not [a-z0-9-], with @reterr), -ENOMEM. */
int akr_creds_resolve_region(const char *profile, char **ret, struct akr_error *reterr);

/** The role a profile asks for (read by akr_creds_load_static()). */
struct akr_creds_role {
	char *role_arn;
	char *source_profile; /* NULL with credential_source = Environment */
	char *external_id;
	char *session_name;
	int duration_sec; /* 0 = default */
	char *web_identity_token_file; /* source WEB_IDENTITY: the OIDC token's file */
	char *credential_process;      /* source PROCESS (role_arn etc. unset) */
};
void akr_creds_role_done(struct akr_creds_role *r);

/** Runs steps 1-3 of the chain without network. Returns 1 with @ret_creds
 * filled (static keys: source ENV, SYSTEMD or PROFILE), 1 with @ret_role
 * filled and @ret_creds holding the *source* keys (source ASSUME_ROLE: call
 * AssumeRole with them), 1 with @ret_role filled and @ret_creds empty (source
 * WEB_IDENTITY or PROCESS), 0 when no source applies (go on to the container
 * and IMDS), or -errno:
 * -EINVAL for a half pair, a bad file, an unknown or incomplete profile (with
 * @reterr naming source, file and line), -ENOMEM. @ret_role may be NULL only
 * if the caller refuses roles (then a role profile gives -EOPNOTSUPP).
 * Outputs are written only on a return of 1. */
int akr_creds_load_static(const char *profile, struct akr_aws_creds *ret_creds,
			  struct akr_creds_role *ret_role, enum akr_creds_source *ret_source,
			  struct akr_error *reterr);

/* ---- the base identity: the whole chain, asynchronous ------------------ */

struct akr_creds_provider;

struct akr_creds_options {
	uv_loop_t *loop;                       /* required */
	struct akr_http *http;                 /* for AssumeRole and IMDS; NULL: neither */
	const struct akr_endpoints *endpoints; /* STS endpoint for a role profile */
	const struct akr_clock *clock;         /* NULL = real time */
	const char *profile;                   /* NULL = $AWS_PROFILE or "default" */
	const char *region;                    /* STS region for a role profile */
};

/** Creates a provider whose identity resolves the chain on its first refresh
 * (akr_aws_call() does that when the credentials are empty) and again when
 * they expire. Copies @opts' strings; the other pointers are borrowed and
 * must outlive the provider. Returns 0, -EINVAL, -ENOMEM. */
int akr_creds_provider_new(const struct akr_creds_options *opts, struct akr_creds_provider **ret);
/** The identity to put in a struct akr_aws_client (owned by @p). */
struct akr_aws_identity *akr_creds_provider_identity(struct akr_creds_provider *p);
/** Which source the current credentials came from (NONE before the first). */
enum akr_creds_source akr_creds_provider_source(const struct akr_creds_provider *p);
/** Resolves now (e.g. at start-up, to fail early with a clear error): the
 * same as akr_aws_identity_refresh() on the provider's identity. @cb gets 0,
 * -ENOKEY (no source at all), the errors of akr_creds_load_static(), or
 * those of AssumeRole/IMDS, with @err. Async contract as every start in lib/. */
int akr_creds_provider_resolve(struct akr_creds_provider *p, akr_aws_refresh_done_cb cb,
			       void *userdata);
/** Fails pending resolutions with -ECANCELED and frees. A network step
 * still in flight must be cancelled first through its akr_http (cancel or
 * free the engine, run the loop). NULL does nothing; returns NULL. */
struct akr_creds_provider *akr_creds_provider_free(struct akr_creds_provider *p);
