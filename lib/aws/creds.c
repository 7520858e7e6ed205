#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/aws/client.h"
#include "lib/aws/sts.h"
#include "lib/aws/sharedconfig.h"
#include "lib/aws/container.h"
#include "lib/aws/creds.h"
#include "lib/aws/endpoints.h"
#include "lib/aws/credprocess.h"
#include "lib/base/defer.h"
#include "lib/base/error.h"
#include "lib/aws/imds.h"
#include "lib/base/macro.h"
#include "lib/base/secret.h"
#include "lib/base/strutil.h"

#define CREDS_FILE_MAX 16384 /* one key or token in a systemd credential file */
#define DEFAULT_SESSION_NAME "iam-access-key-rotator"
#define CREDS_CODE "CredentialsError"

static const char *const source_names[_AKR_CREDS_SOURCE_MAX] = {
	[AKR_CREDS_SOURCE_NONE] = "none",
	[AKR_CREDS_SOURCE_ENV] = "environment",
	[AKR_CREDS_SOURCE_SYSTEMD] = "systemd-credentials",
	[AKR_CREDS_SOURCE_PROFILE] = "profile",
	[AKR_CREDS_SOURCE_ASSUME_ROLE] = "assume-role",
	[AKR_CREDS_SOURCE_IMDS] = "imds",
	[AKR_CREDS_SOURCE_WEB_IDENTITY] = "web-identity",
	[AKR_CREDS_SOURCE_PROCESS] = "credential-process",
	[AKR_CREDS_SOURCE_CONTAINER] = "container",
};

const char *akr_creds_source_to_string(enum akr_creds_source s)
{
	return (unsigned)s < _AKR_CREDS_SOURCE_MAX ? source_names[s] : NULL;
}

void akr_creds_role_done(struct akr_creds_role *r)
{
	if (!r)
		return;
	free(r->role_arn);
	free(r->source_profile);
	free(r->external_id);
	free(r->session_name);
	free(r->web_identity_token_file);
	free(r->credential_process);
	*r = (struct akr_creds_role){ 0 };
}

static void creds_donep(struct akr_aws_creds *c)
{
	akr_aws_creds_done(c);
}

static int fail(struct akr_error *reterr, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(struct akr_error *reterr, int r, const char *fmt, ...)
{
	char msg[sizeof(reterr->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	akr_error_set(reterr, AKR_ERROR_LOCAL, 0, CREDS_CODE, "%s", msg);
	return r;
}

/* Builds owned credentials from borrowed strings; the token may be NULL/"". */
static int creds_from(const char *akid, const char *secret, size_t secret_len, const char *token,
		      size_t token_len, struct akr_aws_creds *ret)
{
	_cleanup_(creds_donep) struct akr_aws_creds c = { 0 };

	c.access_key_id = strdup(akid);
	c.secret_access_key = akr_secret_new(secret, secret_len);
	if (!c.access_key_id || !c.secret_access_key)
		return -ENOMEM;
	if (token && token_len) {
		c.session_token = akr_secret_new(token, token_len);
		if (!c.session_token)
			return -ENOMEM;
	}
	*ret = c;
	c = (struct akr_aws_creds){ 0 };
	return 0;
}

static int load_env(struct akr_aws_creds *ret, struct akr_error *reterr)
{
	const char *akid = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	bool have_id = akid && *akid, have_secret = secret && *secret;
	int r;

	if (!have_id && !have_secret)
		return 0;
	if (!have_id || !have_secret)
		return fail(reterr, -EINVAL,
			    "environment: %s is set but %s is not (set both or neither)",
			    have_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			    have_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (!akr_is_access_key_id(akid))
		return fail(reterr, -EINVAL, "environment: AWS_ACCESS_KEY_ID is not an access key id");
	r = creds_from(akid, secret, strlen(secret), token, token ? strlen(token) : 0, ret);
	return r < 0 ? r : 1;
}

/* Reads one small systemd credential file into a secret, trimmed of
 * surrounding white space. Returns 1, 0 (absent), -errno with @reterr. */
static int read_credential_file(int dirfd, const char *dir, const char *name,
				struct akr_secret **ret, struct akr_error *reterr)
{
	_cleanup_close_ int fd = -EBADF;
	uint8_t buf[CREDS_FILE_MAX + 1];
	size_t got = 0, start = 0, end;
	ssize_t n;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(reterr, -errno, "systemd credentials: %s/%s: %s", dir, name,
			    strerror(errno));
	}
	while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0) {
		got += (size_t)n;
		if (got == sizeof(buf))
			break;
	}
	if (n < 0 || got > CREDS_FILE_MAX) {
		int r = n < 0 ? -errno : -EFBIG;

		OPENSSL_cleanse(buf, sizeof(buf));
		return fail(reterr, r, "systemd credentials: %s/%s: %s", dir, name,
			    n < 0 ? strerror(-r) : "larger than 16 KiB");
	}
	end = got;
	while (start < end && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\n' ||
			       buf[start] == '\r'))
		start++;
	while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t' ||
			       buf[end - 1] == '\n' || buf[end - 1] == '\r'))
		end--;
	for (size_t i = start; i < end; i++)
		if (buf[i] < 0x20 || buf[i] == 0x7f) {
			OPENSSL_cleanse(buf, sizeof(buf));
			return fail(reterr, -EINVAL,
				    "systemd credentials: %s/%s: must hold a single value", dir,
				    name);
		}
	*ret = akr_secret_new(buf + start, end - start);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!*ret)
		return -ENOMEM;
	return 1;
}

static int static_keys_of(const struct akr_awsconfig *file, const char *profile,
			  struct akr_aws_creds *ret, struct akr_error *reterr);

static int load_systemd(const char *profile, struct akr_aws_creds *ret, struct akr_error *reterr)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	_cleanup_close_ int dirfd = -EBADF;
	_cleanup_secret_ struct akr_secret *akid = NULL, *secret = NULL, *token = NULL;
	int r, have_id, have_secret;

	if (!dir || !*dir)
		return 0;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return fail(reterr, -errno, "systemd credentials: %s: %s", dir, strerror(errno));

	have_id = read_credential_file(dirfd, dir, "aws_access_key_id", &akid, reterr);
	if (have_id < 0)
		return have_id;
	have_secret = read_credential_file(dirfd, dir, "aws_secret_access_key", &secret, reterr);
	if (have_secret < 0)
		return have_secret;
	if (have_id && have_secret) {
		r = read_credential_file(dirfd, dir, "aws_session_token", &token, reterr);
		if (r < 0)
			return r;
		if (!akr_is_access_key_id(akr_secret_str(akid)))
			return fail(reterr, -EINVAL,
				    "systemd credentials: %s/aws_access_key_id is not an access "
				    "key id",
				    dir);
		r = creds_from(akr_secret_str(akid), akr_secret_str(secret), secret->len,
			       token ? akr_secret_str(token) : NULL, token ? token->len : 0, ret);
		return r < 0 ? r : 1;
	}
	if (have_id || have_secret)
		return fail(reterr, -EINVAL,
			    "systemd credentials: %s has %s but not %s (provide both)", dir,
			    have_id ? "aws_access_key_id" : "aws_secret_access_key",
			    have_id ? "aws_secret_access_key" : "aws_access_key_id");

	/* Else a whole shared-credentials file passed as one credential. */
	{
		_cleanup_free_ char *path = NULL;
		struct akr_awsconfig *file = NULL;

		if (asprintf(&path, "%s/aws-credentials", dir) < 0)
			return -ENOMEM;
		r = akr_awsconfig_load(path, AKR_AWSCONFIG_CREDENTIALS, &file, reterr);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r == -ENOMEM ? r : -EINVAL;
		r = static_keys_of(file, akr_awsconfig_profile_name(profile), ret, reterr);
		if (r == 0)
			r = fail(reterr, -EINVAL, "systemd credentials: %s has no keys for profile '%s'",
				 path, akr_awsconfig_profile_name(profile));
		akr_awsconfig_free(file);
		return r;
	}
}

/* Static keys of @profile in one file: 1 found, 0 none, -EINVAL half a pair. */
static int static_keys_of(const struct akr_awsconfig *file, const char *profile,
			  struct akr_aws_creds *ret, struct akr_error *reterr)
{
	unsigned id_line = 0, secret_line = 0;
	const char *akid = akr_awsconfig_get(file, profile, "aws_access_key_id", &id_line);
	const char *secret = akr_awsconfig_get(file, profile, "aws_secret_access_key", &secret_line);
	const char *token = akr_awsconfig_get(file, profile, "aws_session_token", NULL);
	int r;

	if (akid && !*akid)
		akid = NULL;
	if (secret && !*secret)
		secret = NULL;
	if (!akid && !secret)
		return 0;
	if (!akid || !secret)
		return fail(reterr, -EINVAL, "%s:%u: profile '%s' has %s but no %s",
			    akr_awsconfig_path(file), akid ? id_line : secret_line, profile,
			    akid ? "aws_access_key_id" : "aws_secret_access_key",
			    akid ? "aws_secret_access_key" : "aws_access_key_id");
	if (!akr_is_access_key_id(akid))
		return fail(reterr, -EINVAL, "%s:%u: profile '%s': aws_access_key_id is not an "
					     "access key id",
			    akr_awsconfig_path(file), id_line, profile);
	r = creds_from(akid, secret, strlen(secret), token, token ? strlen(token) : 0, ret);
	return r < 0 ? r : 1;
}

/* A setting of @profile from the config file, else the credentials file. */
static const char *profile_get(const struct akr_awsconfig *cfg, const struct akr_awsconfig *cred,
			       const char *profile, const char *key, const struct akr_awsconfig **where,
			       unsigned *line)
{
	const char *v = akr_awsconfig_get(cfg, profile, key, line);

	*where = cfg;
	if (!v) {
		v = akr_awsconfig_get(cred, profile, key, line);
		*where = cred;
	}
	return v && *v ? v : NULL;
}

static int load_role(const struct akr_awsconfig *cfg, const struct akr_awsconfig *cred,
		     const char *profile, const char *role_arn, const struct akr_awsconfig *arn_file,
		     unsigned arn_line, struct akr_aws_creds *ret_creds,
		     struct akr_creds_role *ret_role, struct akr_error *reterr)
{
	_cleanup_(akr_creds_role_done) struct akr_creds_role role = { 0 };
	_cleanup_(creds_donep) struct akr_aws_creds src = { 0 };
	const struct akr_awsconfig *where;
	const char *source_profile, *credential_source, *v;
	unsigned line = 0, sp_line = 0;
	int r;

	if (!akr_is_arn(role_arn, "iam"))
		return fail(reterr, -EINVAL, "%s:%u: profile '%s': role_arn '%.200s' is not an IAM "
					     "role ARN",
			    akr_awsconfig_path(arn_file), arn_line, profile, role_arn);
	source_profile = profile_get(cfg, cred, profile, "source_profile", &where, &sp_line);
	credential_source = profile_get(cfg, cred, profile, "credential_source", &where, &line);
	if (!source_profile == !credential_source)
		return fail(reterr, -EINVAL,
			    "%s:%u: profile '%s' has role_arn and needs exactly one of "
			    "source_profile, credential_source and web_identity_token_file",
			    akr_awsconfig_path(arn_file), arn_line, profile);

	if (credential_source) {
		if (strcmp(credential_source, "Environment") != 0)
			return fail(reterr, -EOPNOTSUPP,
				    "%s:%u: profile '%s': credential_source '%.64s' is not "
				    "supported (use Environment or source_profile)",
				    akr_awsconfig_path(where), line, profile, credential_source);
		r = load_env(&src, reterr);
		if (r == 0)
			return fail(reterr, -EINVAL,
				    "profile '%s': credential_source = Environment but "
				    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set",
				    profile);
	} else {
		const struct akr_awsconfig *sp_file;

		if (strcmp(source_profile, profile) != 0 &&
		    profile_get(cfg, cred, source_profile, "role_arn", &sp_file, &line))
			return fail(reterr, -EOPNOTSUPP,
				    "%s:%u: profile '%s': source profile '%.64s' assumes a role "
				    "itself; chained roles are not supported",
				    akr_awsconfig_path(sp_file), line, profile, source_profile);
		r = static_keys_of(cred, source_profile, &src, reterr);
		if (r == 0)
			r = static_keys_of(cfg, source_profile, &src, reterr);
		if (r == 0)
			return fail(reterr, -EINVAL,
				    "profile '%s': source profile '%.64s' has no "
				    "aws_access_key_id/aws_secret_access_key",
				    profile, source_profile);
	}
	if (r < 0)
		return r;

	role.role_arn = strdup(role_arn);
	role.source_profile = source_profile ? strdup(source_profile) : NULL;
	if (!role.role_arn || (source_profile && !role.source_profile))
		return -ENOMEM;
	v = profile_get(cfg, cred, profile, "external_id", &where, &line);
	if (v && !(role.external_id = strdup(v)))
		return -ENOMEM;
	v = profile_get(cfg, cred, profile, "role_session_name", &where, &line);
	if (!(role.session_name = strdup(v ? v : DEFAULT_SESSION_NAME)))
		return -ENOMEM;
	v = profile_get(cfg, cred, profile, "duration_seconds", &where, &line);
	if (v) {
		int64_t d;

		if (akr_parse_int64(v, 900, 43200, &d) < 0)
			return fail(reterr, -EINVAL,
				    "%s:%u: profile '%s': duration_seconds must be 900..43200",
				    akr_awsconfig_path(where), line, profile);
		role.duration_sec = (int)d;
	}
	*ret_creds = src;
	src = (struct akr_aws_creds){ 0 };
	*ret_role = role;
	role = (struct akr_creds_role){ 0 };
	return 1;
}

/* A web identity role: @role_arn assumed with the token in @token_file. */
static int web_identity_role(const char *role_arn, const char *token_file,
			     const char *session_name, const char *where,
			     struct akr_creds_role *ret_role, struct akr_error *reterr)
{
	_cleanup_(akr_creds_role_done) struct akr_creds_role role = { 0 };

	if (!akr_is_arn(role_arn, "iam"))
		return fail(reterr, -EINVAL, "%s: role ARN '%.200s' is not an IAM role ARN", where,
			    role_arn);
	role.role_arn = strdup(role_arn);
	role.web_identity_token_file = strdup(token_file);
	role.session_name = strdup(session_name && *session_name ? session_name
								 : DEFAULT_SESSION_NAME);
	if (!role.role_arn || !role.web_identity_token_file || !role.session_name)
		return -ENOMEM;
	*ret_role = role;
	role = (struct akr_creds_role){ 0 };
	return 1;
}

/* $AWS_WEB_IDENTITY_TOKEN_FILE + $AWS_ROLE_ARN (+ $AWS_ROLE_SESSION_NAME), as
 * EKS (IRSA) sets them; both or nothing. */
static int load_web_identity_env(struct akr_creds_role *ret_role, struct akr_error *reterr)
{
	const char *file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *arn = getenv("AWS_ROLE_ARN");

	if (!file || !*file || !arn || !*arn)
		return 0;
	if (!ret_role)
		return fail(reterr, -EOPNOTSUPP, "$AWS_ROLE_ARN: a web identity role");
	return web_identity_role(arn, file, getenv("AWS_ROLE_SESSION_NAME"),
				 "$AWS_ROLE_ARN", ret_role, reterr);
}

static int load_profile(const char *profile_arg, struct akr_aws_creds *ret_creds,
			struct akr_creds_role *ret_role, enum akr_creds_source *ret_source,
			struct akr_error *reterr)
{
	const char *profile = akr_awsconfig_profile_name(profile_arg);
	const char *env_profile = getenv("AWS_PROFILE");
	bool explicit = (profile_arg && *profile_arg) || (env_profile && *env_profile);
	struct akr_awsconfig *cfg = NULL, *cred = NULL;
	const struct akr_awsconfig *where = NULL, *w2 = NULL;
	const char *role_arn, *v;
	unsigned line = 0, l2 = 0;
	bool has;
	int r;

	r = akr_awsconfig_load_default(AKR_AWSCONFIG_CREDENTIALS, &cred, reterr);
	if (r >= 0)
		r = akr_awsconfig_load_default(AKR_AWSCONFIG_CONFIG, &cfg, reterr);
	if (r < 0) {
		r = r == -ENOMEM ? r : -EINVAL;
		goto out;
	}
	has = akr_awsconfig_has_profile(cred, profile) || akr_awsconfig_has_profile(cfg, profile);

	/* a. a role assumed with another source's keys */
	role_arn = has ? profile_get(cfg, cred, profile, "role_arn", &where, &line) : NULL;
	if (role_arn && (profile_get(cfg, cred, profile, "source_profile", &w2, &l2) ||
			 profile_get(cfg, cred, profile, "credential_source", &w2, &l2))) {
		if (!ret_role) {
			r = fail(reterr, -EOPNOTSUPP, "profile '%s' assumes a role", profile);
			goto out;
		}
		r = load_role(cfg, cred, profile, role_arn, where, line, ret_creds, ret_role,
			      reterr);
		if (r > 0)
			*ret_source = AKR_CREDS_SOURCE_ASSUME_ROLE;
		goto out;
	}
	/* b. web identity, from the environment, then the profile */
	r = load_web_identity_env(ret_role, reterr);
	if (r == 0 && role_arn &&
	    (v = profile_get(cfg, cred, profile, "web_identity_token_file", &w2, &l2))) {
		char at[300];

		(void)snprintf(at, sizeof(at), "%s:%u: profile '%s'", akr_awsconfig_path(where),
			       line, profile);
		r = ret_role ? web_identity_role(role_arn, v,
						 profile_get(cfg, cred, profile,
							     "role_session_name", &w2, &l2),
						 at, ret_role, reterr)
			     : fail(reterr, -EOPNOTSUPP, "profile '%s' assumes a role", profile);
	}
	if (r != 0) {
		if (r > 0)
			*ret_source = AKR_CREDS_SOURCE_WEB_IDENTITY;
		goto out;
	}
	if (!has) {
		r = explicit ? fail(reterr, -EINVAL,
				    "profile '%s' not found in the shared credentials or config "
				    "file",
				    profile)
			     : 0;
		goto out;
	}
	if (role_arn) {
		/* Neither a source nor a token file: load_role says what is missing. */
		r = ret_role ? load_role(cfg, cred, profile, role_arn, where, line, ret_creds,
					 ret_role, reterr)
			     : fail(reterr, -EOPNOTSUPP, "profile '%s' assumes a role", profile);
		goto out;
	}
	/* c. static keys of the credentials file */
	r = static_keys_of(cred, profile, ret_creds, reterr);
	if (r != 0) {
		if (r > 0)
			*ret_source = AKR_CREDS_SOURCE_PROFILE;
		goto out;
	}
	/* d. credential_process */
	v = profile_get(cfg, cred, profile, "credential_process", &where, &line);
	if (v) {
		if (!ret_role) {
			r = fail(reterr, -EOPNOTSUPP, "profile '%s' runs a credential_process",
				 profile);
			goto out;
		}
		*ret_role = (struct akr_creds_role){ 0 };
		ret_role->credential_process = strdup(v);
		if (!ret_role->credential_process) {
			r = -ENOMEM;
			goto out;
		}
		*ret_source = AKR_CREDS_SOURCE_PROCESS;
		r = 1;
		goto out;
	}
	/* e. static keys of the config file */
	r = static_keys_of(cfg, profile, ret_creds, reterr);
	if (r > 0)
		*ret_source = AKR_CREDS_SOURCE_PROFILE;
	else if (r == 0 && explicit)
		r = fail(reterr, -EINVAL,
			 "profile '%s' has neither keys, role_arn nor credential_process", profile);
out:
	akr_awsconfig_free(cfg);
	akr_awsconfig_free(cred);
	return r;
}

int akr_creds_load_static(const char *profile, struct akr_aws_creds *ret_creds,
			  struct akr_creds_role *ret_role, enum akr_creds_source *ret_source,
			  struct akr_error *reterr)
{
	enum akr_creds_source source = AKR_CREDS_SOURCE_NONE;
	int r;

	if (!ret_creds || !ret_source)
		return -EINVAL;
	r = load_env(ret_creds, reterr);
	if (r != 0) {
		if (r > 0)
			*ret_source = AKR_CREDS_SOURCE_ENV;
		return r;
	}
	r = load_systemd(profile, ret_creds, reterr);
	if (r != 0) {
		if (r > 0)
			*ret_source = AKR_CREDS_SOURCE_SYSTEMD;
		return r;
	}
	r = load_profile(profile, ret_creds, ret_role, &source, reterr);
	if (r > 0)
		*ret_source = source;
	return r;
}

int akr_creds_resolve_region(const char *profile, char **ret, struct akr_error *reterr)
{
	struct akr_awsconfig *cfg = NULL;
	const char *v = getenv("AWS_REGION");
	char where[300] = "$AWS_REGION";
	unsigned line = 0;
	int r = 0;

	if (!v || !*v) {
		v = getenv("AWS_DEFAULT_REGION");
		snprintf(where, sizeof(where), "$AWS_DEFAULT_REGION");
	}
	if (!v || !*v) {
		r = akr_awsconfig_load_default(AKR_AWSCONFIG_CONFIG, &cfg, reterr);
		if (r < 0)
			return r == -ENOMEM ? r : -EINVAL;
		v = akr_awsconfig_get(cfg, akr_awsconfig_profile_name(profile), "region", &line);
		if (v && *v)
			snprintf(where, sizeof(where), "%s:%u", akr_awsconfig_path(cfg), line);
	}
	if (!v || !*v)
		v = "us-east-1";
	if (!akr_endpoints_is_region(v))
		r = fail(reterr, -EINVAL, "%s: invalid region '%.64s'", where, v);
	else if (!(*ret = strdup(v)))
		r = -ENOMEM;
	akr_awsconfig_free(cfg);
	return r;
}

/* ---- the provider -------------------------------------------------------- */

struct resolve_op;

struct akr_creds_provider {
	struct akr_aws_identity identity;
	uv_loop_t *loop;
	struct akr_http *http;
	const struct akr_endpoints *endpoints;
	const struct akr_clock *clock;
	char *profile;
	char *region;
	enum akr_creds_source source;
	struct resolve_op *ops; /* in flight, so that free can detach them */
	struct akr_defer_set defers; /* answers known without network, owned */
};

/* One resolution. It owns what a network step borrows (the source identity
 * and client of an AssumeRole), so a provider freed meanwhile is harmless. */
struct resolve_op {
	struct akr_creds_provider *p; /* NULL once the provider is gone */
	struct resolve_op *next;
	akr_aws_refresh_done_cb cb;
	void *cbdata;
	int r;
	struct akr_error err;
	enum akr_creds_source source;
	struct akr_aws_creds creds;
	struct akr_creds_role role;
	struct akr_aws_identity source_identity;
	struct akr_aws_client client;
	char account_id[13];
	bool deferred; /* on p->defers: the provider's free frees it */
};

static void op_unlink(struct resolve_op *op)
{
	if (!op->p)
		return;
	for (struct resolve_op **pp = &op->p->ops; *pp; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
}

static void op_free(struct resolve_op *op)
{
	akr_aws_creds_done(&op->creds);
	akr_creds_role_done(&op->role);
	akr_aws_identity_done(&op->source_identity);
	free(op);
}

/* Hands the result to the provider's identity and its waiters. */
static void op_complete(struct resolve_op *op)
{
	struct akr_creds_provider *p = op->p;

	if (!p)
		return; /* the provider's done() already failed its waiters */
	op_unlink(op);
	if (op->r >= 0) {
		akr_aws_creds_move(&p->identity.creds, &op->creds);
		p->source = op->source;
		memcpy(p->identity.account_id, op->account_id, sizeof(op->account_id));
	}
	op->cb(op->cbdata, op->r, op->r < 0 ? &op->err : NULL);
}

static void op_deferred_cb(void *userdata)
{
	struct resolve_op *op = userdata;

	op_complete(op);
	op_free(op);
}

/* Answers found without network still complete from the loop (the async
 * contract: never from inside the start call). */
static int op_defer(struct resolve_op *op, int r)
{
	int k;

	op->r = r;
	k = akr_defer(&op->p->defers, 0, op_deferred_cb, op);
	if (k < 0)
		return k; /* the caller sees the start fail */
	op->deferred = true;
	return 0;
}

static void role_done(void *userdata, int r, struct akr_aws_creds *creds,
		      const char *assumed_role_arn, const struct akr_error *err)
{
	struct resolve_op *op = userdata;

	op->r = r;
	if (r >= 0)
		akr_aws_creds_move(&op->creds, creds);
	else if (err) {
		op->err = *err;
		/* Say where the role came from. */
		char msg[sizeof(op->err.message)];
		snprintf(msg, sizeof(msg), "assume role '%.200s' (profile): %.280s",
			 op->role.role_arn, err->message);
		memcpy(op->err.message, msg, sizeof(msg));
	}
	op_complete(op);
	op_free(op);
}

static void imds_done(void *userdata, int r, struct akr_aws_creds *creds, const char *role,
		      const struct akr_error *err)
{
	struct resolve_op *op = userdata;

	op->r = r;
	if (r >= 0)
		akr_aws_creds_move(&op->creds, creds);
	else if (r == -ETIMEDOUT || r == -ECONNREFUSED || r == -ECONNRESET || r == -EIO) {
		/* No metadata service: the chain is exhausted. */
		op->r = -ENOKEY;
		akr_error_set(&op->err, AKR_ERROR_LOCAL, 0, CREDS_CODE,
			      "no AWS credentials: none in the environment, systemd credentials "
			      "or shared files, and no instance metadata service (%s)",
			      err ? err->message : "unreachable");
	} else if (err)
		op->err = *err;
	op_complete(op);
	op_free(op);
}

/* Web identity, the process and the container answer with credentials only. */
static void creds_done(void *userdata, int r, struct akr_aws_creds *creds,
		       const struct akr_error *err)
{
	struct resolve_op *op = userdata;

	op->r = r;
	if (r >= 0)
		akr_aws_creds_move(&op->creds, creds);
	else if (err)
		op->err = *err;
	op_complete(op);
	op_free(op);
}

static void web_identity_done(void *userdata, int r, struct akr_aws_creds *creds,
			      const char *assumed_role_arn, const struct akr_error *err)
{
	(void)assumed_role_arn;
	creds_done(userdata, r, creds, err);
}

/* The OIDC token: the file's contents without trailing white space, in a
 * wiped buffer (botocore reads it anew on every refresh: it rotates). */
#define WEB_IDENTITY_TOKEN_MAX 20000
static int read_web_identity_token(const char *path, char **ret, struct akr_error *reterr)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t n = 0;
	ssize_t k;

	if (fd < 0)
		return fail(reterr, -errno, "web identity token file '%.200s': %s", path,
			    strerror(errno));
	buf = calloc(1, WEB_IDENTITY_TOKEN_MAX + 2);
	if (!buf)
		return -ENOMEM;
	while (n <= WEB_IDENTITY_TOKEN_MAX &&
	       (k = read(fd, buf + n, WEB_IDENTITY_TOKEN_MAX + 1 - n)) > 0)
		n += (size_t)k;
	while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
		buf[--n] = '\0';
	if (n < 4 || n > WEB_IDENTITY_TOKEN_MAX || akr_has_control_chars(buf)) {
		OPENSSL_clear_free(buf, WEB_IDENTITY_TOKEN_MAX + 2);
		return fail(reterr, -EINVAL,
			    "web identity token file '%.200s': not a token of 4 to %d characters",
			    path, WEB_IDENTITY_TOKEN_MAX);
	}
	*ret = buf;
	return 0;
}

static int start_web_identity(struct akr_creds_provider *p, struct resolve_op *op)
{
	const struct akr_sts_assume_role_params params = {
		.role_arn = op->role.role_arn,
		.session_name = op->role.session_name,
		.duration_sec = op->role.duration_sec,
	};
	char *token = NULL;
	int r;

	if (!p->http || !p->endpoints || !p->region)
		return fail(&op->err, -EINVAL, "web identity role '%s': no HTTP engine/endpoints",
			    op->role.role_arn);
	r = read_web_identity_token(op->role.web_identity_token_file, &token, &op->err);
	if (r < 0)
		return r;
	akr_aws_identity_init(&op->source_identity);
	op->client = (struct akr_aws_client){
		.http = p->http,
		.endpoints = p->endpoints,
		.identity = &op->source_identity,
		.clock = p->clock,
		.region = p->region,
	};
	r = akr_sts_assume_role_with_web_identity(&op->client, &params, token, web_identity_done,
						  op);
	OPENSSL_clear_free(token, WEB_IDENTITY_TOKEN_MAX + 2);
	return r;
}

static int start_assume_role(struct akr_creds_provider *p, struct resolve_op *op)
{
	const struct akr_sts_assume_role_params params = {
		.role_arn = op->role.role_arn,
		.session_name = op->role.session_name,
		.external_id = op->role.external_id,
		.duration_sec = op->role.duration_sec,
	};
	const char *colon = op->role.role_arn;

	if (!p->http || !p->endpoints || !p->region)
		return fail(&op->err, -EINVAL,
			    "profile '%s' assumes role '%s' but no HTTP engine/endpoints were "
			    "given",
			    akr_awsconfig_profile_name(p->profile), op->role.role_arn);
	/* arn:partition:iam::ACCOUNT:role/name */
	for (int i = 0; i < 4 && colon; i++)
		colon = strchr(colon + 1, ':');
	if (colon && strlen(colon + 1) > 12 && colon[13] == ':')
		memcpy(op->account_id, colon + 1, 12);

	akr_aws_identity_init(&op->source_identity);
	akr_aws_creds_move(&op->source_identity.creds, &op->creds);
	op->client = (struct akr_aws_client){
		.http = p->http,
		.endpoints = p->endpoints,
		.identity = &op->source_identity,
		.clock = p->clock,
		.region = p->region,
	};
	return akr_sts_assume_role(&op->client, &params, role_done, op);
}

static int provider_refresh(void *refresher, struct akr_aws_identity *id,
			    akr_aws_refresh_done_cb cb, void *cbdata)
{
	struct akr_creds_provider *p = refresher;
	struct resolve_op *op;
	int r;

	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	*op = (struct resolve_op){ .p = p, .cb = cb, .cbdata = cbdata };

	r = akr_creds_load_static(p->profile, &op->creds, &op->role, &op->source, &op->err);
	if (r > 0 && op->source == AKR_CREDS_SOURCE_ASSUME_ROLE) {
		r = start_assume_role(p, op);
		if (r >= 0)
			goto started;
		if (!op->err.message[0])
			(void)fail(&op->err, r, "profile '%s': cannot start AssumeRole of '%s'",
				   akr_awsconfig_profile_name(p->profile), op->role.role_arn);
	} else if (r > 0 && op->source == AKR_CREDS_SOURCE_WEB_IDENTITY) {
		r = start_web_identity(p, op);
		if (r >= 0)
			goto started;
		if (!op->err.message[0])
			(void)fail(&op->err, r, "cannot start AssumeRoleWithWebIdentity of '%s'",
				   op->role.role_arn);
	} else if (r > 0 && op->source == AKR_CREDS_SOURCE_PROCESS) {
		r = akr_credprocess_run(p->loop, op->role.credential_process, 0, creds_done, op);
		if (r >= 0)
			goto started;
		(void)fail(&op->err, r, "profile '%s': cannot run credential_process: %s",
			   akr_awsconfig_profile_name(p->profile),
			   r == -EINVAL ? "empty or an unclosed quote" : strerror(-r));
	} else if (r == 0 && akr_container_configured() && p->http) {
		op->source = AKR_CREDS_SOURCE_CONTAINER;
		r = akr_container_fetch_credentials(p->http, creds_done, op, &op->err);
		if (r >= 0)
			goto started;
	} else if (r == 0 && (akr_imds_disabled() || !p->http)) {
		r = fail(&op->err, -ENOKEY,
			 "no AWS credentials: none in the environment, systemd credentials or "
			 "shared files%s",
			 akr_imds_disabled() ? ", and instance metadata is disabled" : "");
	} else if (r == 0) {
		op->source = AKR_CREDS_SOURCE_IMDS;
		r = akr_imds_fetch_credentials(p->http, imds_done, op);
		if (r >= 0)
			goto started;
	}
	/* Known without network (credentials or an error): answer from the loop. */
	r = op_defer(op, r > 0 ? 0 : r);
	if (r < 0) {
		op_free(op);
		return r;
	}
started:
	op->next = p->ops;
	p->ops = op;
	return 0;
}

int akr_creds_provider_new(const struct akr_creds_options *opts, struct akr_creds_provider **ret)
{
	struct akr_creds_provider *p;

	if (!opts || !opts->loop || !ret)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	akr_aws_identity_init(&p->identity);
	p->identity.refresh = provider_refresh;
	p->identity.refresher = p;
	p->loop = opts->loop;
	akr_defer_set_init(&p->defers, opts->loop);
	p->http = opts->http;
	p->endpoints = opts->endpoints;
	p->clock = opts->clock;
	p->profile = akr_strdup0(opts->profile);
	p->region = akr_strdup0(opts->region);
	if ((opts->profile && !p->profile) || (opts->region && !p->region)) {
		akr_creds_provider_free(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

struct akr_aws_identity *akr_creds_provider_identity(struct akr_creds_provider *p)
{
	return p ? &p->identity : NULL;
}

enum akr_creds_source akr_creds_provider_source(const struct akr_creds_provider *p)
{
	return p ? p->source : AKR_CREDS_SOURCE_NONE;
}

int akr_creds_provider_resolve(struct akr_creds_provider *p, akr_aws_refresh_done_cb cb,
			       void *userdata)
{
	if (!p)
		return -EINVAL;
	return akr_aws_identity_refresh(&p->identity, cb, userdata);
}

struct akr_creds_provider *akr_creds_provider_free(struct akr_creds_provider *p)
{
	if (!p)
		return NULL;
	/* A deferred answer is dropped with its op; what is on the network
	 * is detached, and its answer then only frees its op. The identity's
	 * done() below fails the waiters of both. */
	akr_defer_cancel_all(&p->defers);
	for (struct resolve_op *op = p->ops, *next; op; op = next) {
		next = op->next;
		op->p = NULL;
		if (op->deferred)
			op_free(op);
	}
	akr_aws_identity_done(&p->identity);
	free(p->profile);
	free(p->region);
	free(p);
	return NULL;
}
