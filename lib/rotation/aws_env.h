#pragma once
/* The AWS environment of one configuration load: the region and its
 * partition, the service endpoints and the SNS topic's region (resolved by
 * akr_config_resolve_aws()), the http engine (the configuration's limits)
 * and the base credential provider on it, with the client that signs with
 * those credentials. daemon/main.c builds one when it loads a configuration
 * (at start and on SIGHUP; a reload that fails keeps the old one) and hands
 * it to every sweep of that configuration, which only runs in it.
 *
 * Lifetimes: reference counted. The daemon holds one reference; a running
 * sweep holds another (akr_sweep_start() takes it, akr_sweep_free() drops
 * it), so a reload during a sweep leaves the sweep its environment. The
 * environment borrows the configuration it was built from (region,
 * endpoints, profile): that configuration must outlive every reference.
 *
 * What it keeps from sweep to sweep: the engine's keep-alive connections,
 * its retry quota and each account's adaptive rate (as the AWS SDKs keep
 * them per client), and the provider, whose credentials every sweep
 * resolves again (akr_creds_provider_resolve()), so that new base keys
 * are read at the next sweep. A sweep that is stopped shuts the engine down
 * (akr_http_shutdown()): the environment then serves no further sweep. */

#include <stdint.h>

#include <uv.h>

#include "lib/aws/client.h"

struct akr_aws_env;
struct akr_config;
struct akr_creds_provider;
struct akr_error;
struct akr_http;

struct akr_aws_env_options {
	/* NULL: every AWS call goes through the engine. A unit test injects a
	 * fake here (the contract of akr_aws_transport_fn); the base client
	 * and every client made from it carry it. */
	akr_aws_transport_fn transport;
	void *transport_data; /* borrowed; must outlive the environment */
};

/** Builds the environment of @cfg (borrowed; must outlive the environment)
 * on @loop (borrowed): the engine with the configuration's limits and the
 * base credential provider. @opts may be NULL. Nothing is sent yet.
 * Returns 0 with one reference in *@ret; -EINVAL (with @reterr, may be
 * NULL) when @cfg's AWS environment is not resolved or
 * organization.management_role_arn names no partition; -ENOMEM; -EIO (the
 * engine could not be set up). */
int akr_aws_env_new(uv_loop_t *loop, const struct akr_config *cfg,
		    const struct akr_aws_env_options *opts, struct akr_aws_env **ret,
		    struct akr_error *reterr);

/** Takes a reference; returns @env. NULL gives NULL. */
struct akr_aws_env *akr_aws_env_ref(struct akr_aws_env *env);

/** Drops a reference; the last frees the provider, then the engine (whose
 * handles close from the loop: run it afterwards). NULL does nothing.
 * Returns NULL. */
struct akr_aws_env *akr_aws_env_unref(struct akr_aws_env *env);

/** The configuration the environment was built from (borrowed). */
const struct akr_config *akr_aws_env_config(const struct akr_aws_env *env);
/** The engine and the base credential provider (owned by @env). */
struct akr_http *akr_aws_env_http(const struct akr_aws_env *env);
struct akr_creds_provider *akr_aws_env_creds(const struct akr_aws_env *env);
/** The client of the base credentials in the main region, key "base"
 * (its pointers are owned by @env and the configuration). */
const struct akr_aws_client *akr_aws_env_base_client(const struct akr_aws_env *env);
/** The partition of the management role ("aws", "aws-cn", ...). */
const char *akr_aws_env_partition(const struct akr_aws_env *env);
/** The region of the SNS topic's calls: the topic's own, else the main one. */
const char *akr_aws_env_sns_region(const struct akr_aws_env *env);
