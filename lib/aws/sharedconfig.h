#pragma once
/* The AWS SDKs' shared files, ~/.aws/config and ~/.aws/credentials
 * (aws-wire.md §11), as botocore reads them: INI sections, "key = value"
 * lines with keys lower-cased, '#' and ';' comment lines, and nested
 * "sub = value" lines indented under a key whose own value is empty:
 *
 *   [profile fake]              config file: [default] or [profile NAME]
 *   services = fake-endpoints
 *   [services fake-endpoints]
 *   iam =
 *     endpoint_url = http://127.0.0.1:4566
 *
 *   [default]                   credentials file: [NAME]
 *   aws_access_key_id = AKIA...
 *
 * A key repeated in a section takes its last value. The whole file is kept in
 * one buffer that is wiped when freed (the credentials file holds secrets);
 * values are views into it. */

#include <stdbool.h>

struct akr_error;
struct akr_awsconfig;

enum akr_awsconfig_kind {
	AKR_AWSCONFIG_CONFIG,      /* ~/.aws/config: [default], [profile x], [services x] */
	AKR_AWSCONFIG_CREDENTIALS, /* ~/.aws/credentials: [x] */
};

/** Reads and parses @path (opened O_CLOEXEC, at most 1 MiB). Returns 0;
 * -ENOENT when the file does not exist (the SDKs treat that as empty);
 * -EBADMSG for a syntax error, with @reterr (may be NULL) saying
 * "PATH:LINE: what"; -EFBIG, -ENOMEM, or another -errno from open/read.
 * Caller frees *@ret with akr_awsconfig_free(). */
int akr_awsconfig_load(const char *path, enum akr_awsconfig_kind kind,
		       struct akr_awsconfig **ret, struct akr_error *reterr);
/** Wipes and frees; NULL does nothing. Returns NULL. */
struct akr_awsconfig *akr_awsconfig_free(struct akr_awsconfig *c);

/** The file's path as given to load (borrowed from @c). */
const char *akr_awsconfig_path(const struct akr_awsconfig *c);

/** Whether @c has a section for profile @profile. */
bool akr_awsconfig_has_profile(const struct akr_awsconfig *c, const char *profile);

/** The value of @key in profile @profile, or NULL. @ret_line (may be NULL)
 * gets its line number for error messages. Borrowed from @c. */
const char *akr_awsconfig_get(const struct akr_awsconfig *c, const char *profile, const char *key,
			      unsigned *ret_line);

/** The nested value @sub_key under @key of the [services @services] section
 * (config file), e.g. ("fake-endpoints", "iam", "endpoint_url"), or NULL. */
const char *akr_awsconfig_get_service(const struct akr_awsconfig *c, const char *services,
				      const char *key, const char *sub_key, unsigned *ret_line);

/** The profile to use: @profile if non-empty, else $AWS_PROFILE, else "default". */
const char *akr_awsconfig_profile_name(const char *profile);

/** The file to read: $AWS_CONFIG_FILE (config) or $AWS_SHARED_CREDENTIALS_FILE
 * (credentials), else $HOME/.aws/config or $HOME/.aws/credentials. A leading
 * "~/" is expanded. Returns 0 with a malloc'ed path (caller frees), -ENOENT
 * when no path can be formed (no $HOME), -ENOMEM. */
int akr_awsconfig_default_path(enum akr_awsconfig_kind kind, char **ret);

/** Loads the file of @kind at its default path. A missing file gives 0 with
 * *@ret = NULL. Otherwise as akr_awsconfig_load(). */
int akr_awsconfig_load_default(enum akr_awsconfig_kind kind, struct akr_awsconfig **ret,
			       struct akr_error *reterr);

/** Whether an SDK boolean setting is true ("true", case-insensitive). */
bool akr_awsconfig_is_true(const char *v);
