/* The AWS environment of one configuration load: see aws_env.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "lib/aws/client.h"
#include "lib/aws/creds.h"
#include "lib/base/error.h"
#include "lib/http/engine.h"
#include "lib/rotation/aws_env.h"
#include "lib/rotation/config.h"

struct akr_aws_env {
	unsigned refs;
	const struct akr_config *cfg;
	struct akr_http *http;
	struct akr_creds_provider *creds;
	struct akr_aws_client base_client;
	char partition[32];
};

/* "arn:PARTITION:..." of the management role. */
static int parse_partition(const char *arn, char *buf, size_t size, struct akr_error *reterr)
{
	const char *p;
	size_t n;

	p = arn && strncmp(arn, "arn:", 4) == 0 ? strchr(arn + 4, ':') : NULL;
	n = p ? (size_t)(p - arn - 4) : 0;
	if (n == 0 || n >= size) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config",
			      "organization.management_role_arn names no partition");
		return -EINVAL;
	}
	memcpy(buf, arn + 4, n);
	buf[n] = '\0';
	return 0;
}

int akr_aws_env_new(uv_loop_t *loop, const struct akr_config *cfg,
		    const struct akr_aws_env_options *opts, struct akr_aws_env **ret,
		    struct akr_error *reterr)
{
	struct akr_http_options ho = {
		.max_in_flight = (size_t)cfg->limits.max_requests_in_flight,
		.max_per_key = (size_t)cfg->limits.max_requests_per_account,
		.max_attempts = (unsigned)cfg->limits.max_attempts,
		.connect_timeout_ms = (int64_t)cfg->limits.connect_timeout_sec * 1000,
		.max_buffered_bytes = (size_t)cfg->limits.answer_memory_mib * 1024 * 1024,
	};
	struct akr_aws_env *env;
	int r;

	if (!loop || !ret)
		return -EINVAL;
	/* Resolved once per configuration load (akr_config_resolve_aws()). */
	if (!cfg->aws_env.resolved) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config",
			      "no usable AWS region or endpoint configuration");
		return -EINVAL;
	}
	env = calloc(1, sizeof(*env));
	if (!env)
		return -ENOMEM;
	env->refs = 1;
	env->cfg = cfg;
	r = parse_partition(cfg->organization.management_role_arn, env->partition,
			    sizeof(env->partition), reterr);
	if (r >= 0)
		r = akr_http_new(loop, &ho, &env->http);
	if (r >= 0)
		r = akr_creds_provider_new(
			&(struct akr_creds_options){ .loop = loop,
						     .http = env->http,
						     .endpoints = &cfg->aws_env.endpoints,
						     .clock = NULL,
						     .profile = cfg->aws.profile,
						     .region = cfg->aws_env.region },
			&env->creds);
	if (r < 0) {
		akr_aws_env_unref(env);
		return r;
	}
	env->base_client = (struct akr_aws_client){
		.http = env->http,
		.transport = opts ? opts->transport : NULL,
		.transport_data = opts ? opts->transport_data : NULL,
		.endpoints = &cfg->aws_env.endpoints,
		.identity = akr_creds_provider_identity(env->creds),
		/* Credentials expire in the real world: their expiry is judged
		 * by the real clock, never by --now. */
		.clock = NULL,
		.region = cfg->aws_env.region,
		.key = "base",
		.timeout_ms = (int64_t)cfg->limits.request_timeout_sec * 1000,
	};
	*ret = env;
	return 0;
}

struct akr_aws_env *akr_aws_env_ref(struct akr_aws_env *env)
{
	if (env)
		env->refs++;
	return env;
}

struct akr_aws_env *akr_aws_env_unref(struct akr_aws_env *env)
{
	if (!env || --env->refs > 0)
		return NULL;
	/* The provider first: its network steps go through the engine. */
	akr_creds_provider_free(env->creds);
	akr_http_free(env->http);
	free(env);
	return NULL;
}

const struct akr_config *akr_aws_env_config(const struct akr_aws_env *env)
{
	return env->cfg;
}

struct akr_http *akr_aws_env_http(const struct akr_aws_env *env)
{
	return env->http;
}

struct akr_creds_provider *akr_aws_env_creds(const struct akr_aws_env *env)
{
	return env->creds;
}

const struct akr_aws_client *akr_aws_env_base_client(const struct akr_aws_env *env)
{
	return &env->base_client;
}

const char *akr_aws_env_partition(const struct akr_aws_env *env)
{
	return env->partition;
}

const char *akr_aws_env_sns_region(const struct akr_aws_env *env)
{
	return env->cfg->aws_env.sns_region ? env->cfg->aws_env.sns_region
					    : env->cfg->aws_env.region;
}
