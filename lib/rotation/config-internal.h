#pragma once
/* Shared between the files of the config module: config.c (the defaults,
 * reading the file into struct akr_config, the public API) and
 * config_check.c (the schema, the errors that point into the file, and the
 * validators of the values). */

#include <libconfig.h>

#include "lib/base/macro.h"

struct akr_error;

/* The schema: every setting the file may hold, by section. Anything else is an
 * error, so that a misspelt key cannot silently leave a default in force. */
enum config_kind {
	KIND_STRING,
	KIND_INT,
	KIND_BOOL,
	KIND_NUMBER, /* a double; an integer literal is accepted too */
	KIND_STRINGS,
	KIND_GROUP,
};

struct config_key {
	const char *name;
	enum config_kind kind;
};

/* The state of one load: where errors go. */
struct config_ctx {
	const char *path;
	const char *dir; /* of path: where @include files are found */
	struct akr_error *reterr;
};

/* The schema of each section, NULL-terminated; akr__config_root_keys is the
 * top level. */
extern const struct config_key akr__config_root_keys[];
extern const struct config_key akr__config_policy_keys[];
extern const struct config_key akr__config_organization_keys[];
extern const struct config_key akr__config_users_keys[];
extern const struct config_key akr__config_email_keys[];
extern const struct config_key akr__config_alerts_keys[];
extern const struct config_key akr__config_limits_keys[];
extern const struct config_key akr__config_aws_keys[];

/* Fails the load at @s (or at the top of the file when @s is NULL) with
 * "FILE:LINE: PATH: message". Returns -EINVAL. */
int akr__config_fail_at(struct config_ctx *x, const config_setting_t *s, const char *fmt, ...)
	_printf_(3, 4);

/* A required setting missing from @group (NULL: the group is missing too).
 * Returns -EINVAL. */
int akr__config_fail_missing(struct config_ctx *x, const config_setting_t *group,
			     const char *section, const char *name);

/* Checks that every member of @group is known and has the right type. */
int akr__config_check_members(struct config_ctx *x, const config_setting_t *group,
			      const struct config_key *keys);

/* Checks the template directory @dir of email.template_directory in @group. */
int akr__config_check_templates(struct config_ctx *x, const config_setting_t *group,
				const char *dir);

/* The validators: NULL when @v is fine, else what is wrong with it. */
const char *akr__config_valid_absolute_path(const char *v);
const char *akr__config_valid_role_name(const char *v);
const char *akr__config_valid_role_arn(const char *v);
const char *akr__config_valid_topic_arn(const char *v);
const char *akr__config_valid_external_id(const char *v);
const char *akr__config_valid_session_name(const char *v);
const char *akr__config_valid_tag_key(const char *v);
const char *akr__config_valid_email(const char *v);
const char *akr__config_valid_email_domain(const char *v);
const char *akr__config_valid_configuration_set(const char *v);
const char *akr__config_valid_region(const char *v);
const char *akr__config_valid_zip_encryption(const char *v);
const char *akr__config_valid_profile(const char *v);

/* config_aws.c: frees what akr_config_resolve_aws() resolved. */
struct akr_config;
void akr__config_aws_env_done(struct akr_config *c);
