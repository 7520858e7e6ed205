#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "lib/rotation/config-internal.h"
#include "lib/rotation/config.h"
#include "lib/base/error.h"
#include "lib/base/log.h"
#include "lib/base/strutil.h"

static int get_int(struct config_ctx *x, const config_setting_t *group, const char *name, int min,
		   int max, int *target)
{
	const config_setting_t *s = group ? config_setting_get_member(group, name) : NULL;
	long long v;

	if (!s)
		return 0;
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return akr__config_fail_at(x, s, "must be between %d and %d, not %lld", min, max,
					   v);
	*target = (int)v;
	return 0;
}

static int get_number(struct config_ctx *x, const config_setting_t *group, const char *name,
		      double min, bool min_exclusive, double max, double *target)
{
	const config_setting_t *s = group ? config_setting_get_member(group, name) : NULL;
	double v;

	if (!s)
		return 0;
	v = config_setting_type(s) == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
							: (double)config_setting_get_int64(s);
	if (!isfinite(v) || v < min || (min_exclusive && v == min) || v > max)
		return akr__config_fail_at(x, s, "must be %s %g and at most %g, not %g",
					   min_exclusive ? "greater than" : "at least", min, max,
					   v);
	*target = v;
	return 0;
}

static int get_bool(const config_setting_t *group, const char *name, bool *target)
{
	const config_setting_t *s = group ? config_setting_get_member(group, name) : NULL;

	if (s)
		*target = config_setting_get_bool(s);
	return 0;
}

/* A validator returns NULL when @v is fine, else what is wrong with it. */
typedef const char *(*validator_fn)(const char *v);

/* Reads a string setting into *@target (replacing the default). With
 * @empty_is_null, "" means "unset" and stores NULL; otherwise "" is refused. */
static int get_string(struct config_ctx *x, const config_setting_t *group, const char *name,
		      validator_fn valid, bool empty_is_null, char **target)
{
	const config_setting_t *s = group ? config_setting_get_member(group, name) : NULL;
	const char *v, *why;
	char *copy = NULL;

	if (!s)
		return 0;
	v = config_setting_get_string(s);
	if (!v || !*v) {
		if (!empty_is_null)
			return akr__config_fail_at(x, s, "must not be empty");
	} else {
		if (akr_has_control_chars(v))
			return akr__config_fail_at(x, s, "must not contain control characters");
		why = valid ? valid(v) : NULL;
		if (why)
			return akr__config_fail_at(x, s, "'%s' %s", v, why);
		copy = strdup(v);
		if (!copy)
			return -ENOMEM;
	}
	free(*target);
	*target = copy;
	return 0;
}

/* email.zip_encryption, held as the enum the zip module takes. */
static int get_zip_encryption(struct config_ctx *x, const config_setting_t *g,
			      enum akr_zip_encryption *target)
{
	_cleanup_free_ char *v = NULL;
	int r;

	r = get_string(x, g, "zip_encryption", akr__config_valid_zip_encryption, false, &v);
	if (r < 0 || !v)
		return r;
	r = akr_zip_encryption_from_string(v, target);
	return r < 0 ? akr__config_fail_at(x, config_setting_get_member(g, "zip_encryption"),
					   "'%s' is not a zip encryption", v)
		     : 0;
}

static const config_setting_t *line_setting(const config_setting_t *group, const char *name)
{
	const config_setting_t *s = group ? config_setting_get_member(group, name) : NULL;

	return s ? s : group;
}

static int load_policy(struct config_ctx *x, const config_setting_t *g, struct akr_config *c)
{
	int r;

	if (!g)
		goto check;
	r = akr__config_check_members(x, g, akr__config_policy_keys);
	if (r < 0)
		return r;
	r = get_int(x, g, "rotate_after_days", 1, AKR_CONFIG_MAX_DAYS, &c->policy.rotate_after_days);
	if (r >= 0)
		r = get_int(x, g, "deactivate_after_days", 1, AKR_CONFIG_MAX_DAYS,
			    &c->policy.deactivate_after_days);
	if (r >= 0)
		r = get_int(x, g, "delete_after_days", 1, AKR_CONFIG_MAX_DAYS,
			    &c->policy.delete_after_days);
	if (r >= 0)
		r = get_int(x, g, "reminder_days", 0, AKR_CONFIG_MAX_DAYS, &c->policy.reminder_days);
	if (r < 0)
		return r;
	(void)get_bool(g, "enforce", &c->policy.enforce);
	(void)get_bool(g, "delete_inactive_to_free_slot", &c->policy.delete_inactive_to_free_slot);
check:
	/* Report an ordering error at the setting that is in the file, the
	 * later one when both are. */
	if (c->policy.rotate_after_days >= c->policy.deactivate_after_days) {
		const config_setting_t *s = g && config_setting_get_member(g, "deactivate_after_days")
						    ? line_setting(g, "deactivate_after_days")
						    : line_setting(g, "rotate_after_days");
		return akr__config_fail_at(x, s,
					   "policy.rotate_after_days (%d) must be less than "
					   "policy.deactivate_after_days (%d)",
					   c->policy.rotate_after_days,
					   c->policy.deactivate_after_days);
	}
	if (c->policy.deactivate_after_days >= c->policy.delete_after_days) {
		const config_setting_t *s = g && config_setting_get_member(g, "delete_after_days")
						    ? line_setting(g, "delete_after_days")
						    : line_setting(g, "deactivate_after_days");
		return akr__config_fail_at(x, s,
					   "policy.deactivate_after_days (%d) must be less than "
					   "policy.delete_after_days (%d)",
					   c->policy.deactivate_after_days,
					   c->policy.delete_after_days);
	}
	if (c->policy.reminder_days >= c->policy.deactivate_after_days - c->policy.rotate_after_days)
		return akr__config_fail_at(
		    x, line_setting(g, "reminder_days"),
		    "policy.reminder_days (%d) must be less than the notice period "
		    "policy.deactivate_after_days - policy.rotate_after_days (%d)",
		    c->policy.reminder_days,
		    c->policy.deactivate_after_days - c->policy.rotate_after_days);
	return 0;
}

static int load_organization(struct config_ctx *x, const config_setting_t *g, struct akr_config *c)
{
	const config_setting_t *list;
	int r;

	if (!g)
		return akr__config_fail_missing(x, NULL, "organization", "management_role_arn");
	r = akr__config_check_members(x, g, akr__config_organization_keys);
	if (r >= 0)
		r = get_string(x, g, "management_role_arn", akr__config_valid_role_arn, false,
			       &c->organization.management_role_arn);
	if (r >= 0)
		r = get_string(x, g, "member_role_name", akr__config_valid_role_name, false,
			       &c->organization.member_role_name);
	if (r >= 0)
		r = get_string(x, g, "external_id", akr__config_valid_external_id, true,
			       &c->organization.external_id);
	if (r >= 0)
		r = get_string(x, g, "session_name", akr__config_valid_session_name, false,
			       &c->organization.session_name);
	if (r >= 0)
		r = get_int(x, g, "session_duration_sec", AKR_CONFIG_SESSION_DURATION_MIN_SEC,
			    AKR_CONFIG_SESSION_DURATION_MAX_SEC,
			    &c->organization.session_duration_sec);
	if (r < 0)
		return r;
	if (!c->organization.management_role_arn)
		return akr__config_fail_missing(x, g, "organization", "management_role_arn");

	list = config_setting_get_member(g, "excluded_accounts");
	if (list) {
		size_t n = (size_t)config_setting_length(list);
		char **ids = calloc(n + 1, sizeof(char *));

		if (!ids)
			return -ENOMEM;
		/* Hand the array over first so that akr_config_free() frees a
		 * half-filled one. */
		c->organization.excluded_accounts = ids;
		for (size_t i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
			const char *v = config_setting_get_string(e);

			if (!akr_is_account_id(v))
				return akr__config_fail_at(
				    x, e, "'%s' is not an AWS account id (12 digits)",
				    akr_has_control_chars(v) ? "?" : v);
			ids[i] = strdup(v);
			if (!ids[i])
				return -ENOMEM;
			c->organization.n_excluded_accounts = i + 1;
		}
	}
	return 0;
}

/* users.allowed_email_domains: kept in lower case, since domains compare
 * case-insensitively. */
static int load_email_domains(struct config_ctx *x, const config_setting_t *g, struct akr_config *c)
{
	const config_setting_t *list = config_setting_get_member(g, "allowed_email_domains");
	size_t n;
	char **v;

	if (!list)
		return 0;
	n = (size_t)config_setting_length(list);
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	c->users.allowed_email_domains = v; /* freed by akr_config_free() when half-filled */
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *d = config_setting_get_string(e), *why;

		if (!d || akr_has_control_chars(d))
			return akr__config_fail_at(x, e,
						   "must be a domain without control characters");
		why = akr__config_valid_email_domain(d);
		if (why)
			return akr__config_fail_at(x, e, "'%s' %s", d, why);
		v[i] = strdup(d);
		if (!v[i])
			return -ENOMEM;
		for (char *p = v[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		c->users.n_allowed_email_domains = i + 1;
	}
	return 0;
}

static int load_email(struct config_ctx *x, const config_setting_t *g, struct akr_config *c)
{
	int r;

	if (!g)
		return akr__config_fail_missing(x, NULL, "email", "sender");
	r = akr__config_check_members(x, g, akr__config_email_keys);
	if (r >= 0)
		r = get_string(x, g, "sender", akr__config_valid_email, false, &c->email.sender);
	if (r >= 0)
		r = get_string(x, g, "configuration_set", akr__config_valid_configuration_set, true,
			       &c->email.configuration_set);
	if (r >= 0)
		r = get_string(x, g, "region", akr__config_valid_region, false, &c->email.region);
	if (r >= 0)
		r = get_zip_encryption(x, g, &c->email.zip_encryption);
	if (r >= 0)
		r = get_number(x, g, "max_send_rate", 0, false, 1000, &c->email.max_send_rate);
	if (r >= 0)
		r = get_string(x, g, "template_directory", akr__config_valid_absolute_path, true,
			       &c->email.template_directory);
	if (r < 0)
		return r;
	if (!c->email.sender)
		return akr__config_fail_missing(x, g, "email", "sender");
	if (c->email.template_directory)
		return akr__config_check_templates(x, g, c->email.template_directory);
	return 0;
}

static int load_limits(struct config_ctx *x, const config_setting_t *g, struct akr_config *c)
{
	int r;

	if (!g)
		return 0;
	r = akr__config_check_members(x, g, akr__config_limits_keys);
	if (r >= 0)
		r = get_int(x, g, "max_requests_in_flight", 1, AKR_CONFIG_MAX_REQUESTS_IN_FLIGHT,
			    &c->limits.max_requests_in_flight);
	if (r >= 0)
		r = get_int(x, g, "max_requests_per_account", 1,
			    AKR_CONFIG_MAX_REQUESTS_PER_ACCOUNT, &c->limits.max_requests_per_account);
	if (r >= 0)
		r = get_int(x, g, "request_timeout_sec", 1, AKR_CONFIG_MAX_REQUEST_TIMEOUT_SEC,
			    &c->limits.request_timeout_sec);
	if (r >= 0)
		r = get_int(x, g, "connect_timeout_sec", 1, AKR_CONFIG_MAX_REQUEST_TIMEOUT_SEC,
			    &c->limits.connect_timeout_sec);
	if (r >= 0)
		r = get_int(x, g, "stop_timeout_sec", 1, AKR_CONFIG_MAX_REQUEST_TIMEOUT_SEC,
			    &c->limits.stop_timeout_sec);
	if (r >= 0)
		r = get_int(x, g, "answer_memory_mib", 2, 1024, &c->limits.answer_memory_mib);
	if (r >= 0)
		r = get_int(x, g, "max_attempts", 1, AKR_CONFIG_MAX_ATTEMPTS,
			    &c->limits.max_attempts);
	if (r >= 0)
		r = get_number(x, g, "iam_requests_per_second_per_account", 0, false, 1000,
			       &c->limits.iam_requests_per_second_per_account);
	if (r >= 0)
		r = get_bool(g, "credential_report", &c->limits.credential_report);
	return r;
}

static int load_root(struct config_ctx *x, const config_setting_t *root, struct akr_config *c)
{
	const config_setting_t *g;
	int r;

	r = akr__config_check_members(x, root, akr__config_root_keys);
	if (r < 0)
		return r;
	g = config_setting_get_member(root, "schedule");
	if (g && akr_config_parse_time_of_day(config_setting_get_string(g),
					      &c->schedule_minute_of_day) < 0)
		return akr__config_fail_at(
		    x, g, "'%s' is not a time of day as \"HH:MM\" (00:00 to 23:59, UTC)",
		    akr_has_control_chars(config_setting_get_string(g))
			? "?"
			: config_setting_get_string(g));
	r = get_string(x, root, "state_directory", akr__config_valid_absolute_path, false,
		       &c->state_directory);
	if (r >= 0)
		r = get_int(x, root, "report_retention_days", 0, AKR_CONFIG_MAX_DAYS,
			    &c->report_retention_days);
	if (r >= 0)
		r = get_string(x, root, "metrics_file", akr__config_valid_absolute_path, true,
			       &c->metrics_file);
	if (r >= 0)
		r = load_policy(x, config_setting_get_member(root, "policy"), c);
	if (r >= 0)
		r = load_organization(x, config_setting_get_member(root, "organization"), c);
	if (r < 0)
		return r;

	g = config_setting_get_member(root, "users");
	if (g) {
		r = akr__config_check_members(x, g, akr__config_users_keys);
		if (r >= 0)
			r = get_string(x, g, "email_tag", akr__config_valid_tag_key, false,
				       &c->users.email_tag);
		if (r >= 0)
			r = get_string(x, g, "exempt_tag", akr__config_valid_tag_key, false,
				       &c->users.exempt_tag);
		if (r >= 0)
			r = load_email_domains(x, g, c);
		if (r >= 0)
			r = get_int(x, g, "address_change_hold_days", 0, AKR_CONFIG_MAX_HOLD_DAYS,
				    &c->users.address_change_hold_days);
		if (r < 0)
			return r;
	}
	r = load_email(x, config_setting_get_member(root, "email"), c);
	if (r < 0)
		return r;

	g = config_setting_get_member(root, "alerts");
	if (g) {
		r = akr__config_check_members(x, g, akr__config_alerts_keys);
		if (r >= 0)
			r = get_string(x, g, "sns_topic_arn", akr__config_valid_topic_arn, true,
				       &c->alerts.sns_topic_arn);
		if (r >= 0)
			r = get_bool(g, "notify_cannot_rotate", &c->alerts.notify_cannot_rotate);
		if (r < 0)
			return r;
	}
	r = load_limits(x, config_setting_get_member(root, "limits"), c);
	if (r < 0)
		return r;

	g = config_setting_get_member(root, "aws");
	if (g) {
		r = akr__config_check_members(x, g, akr__config_aws_keys);
		if (r >= 0)
			r = get_string(x, g, "region", akr__config_valid_region, true,
				       &c->aws.region);
		if (r >= 0)
			r = get_string(x, g, "profile", akr__config_valid_profile, true,
				       &c->aws.profile);
	}
	return r;
}

/* systemd sets $STATE_DIRECTORY from StateDirectory=: a ':'-separated list
 * when the unit names several; ours is the first. */
static int apply_state_directory_env(struct akr_config *c)
{
	const char *env = getenv("STATE_DIRECTORY");
	size_t n;
	char *dir;

	if (!env || !*env)
		return 0;
	n = strcspn(env, ":");
	if (n == 0 || env[0] != '/' || akr_has_control_chars(env)) {
		akr_log_warning("Ignoring $STATE_DIRECTORY '%s': not an absolute path", env);
		return 0;
	}
	dir = strndup(env, n);
	if (!dir)
		return -ENOMEM;
	free(c->state_directory);
	c->state_directory = dir;
	return 0;
}

int akr_config_parse_time_of_day(const char *s, int *ret_minute_of_day)
{
	int h, m;

	if (!s || strlen(s) != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -EINVAL;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -EINVAL;
	*ret_minute_of_day = h * 60 + m;
	return 0;
}

struct akr_config *akr_config_new_default(void)
{
	_cleanup_config_ struct akr_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->schedule_minute_of_day = 13 * 60;
	c->report_retention_days = 90;
	c->policy.rotate_after_days = 80;
	c->policy.deactivate_after_days = 90;
	c->policy.delete_after_days = 100;
	c->policy.reminder_days = 3;
	c->policy.enforce = false;
	c->policy.delete_inactive_to_free_slot = true;
	c->alerts.notify_cannot_rotate = true;
	c->organization.session_duration_sec = 3600;
	c->users.address_change_hold_days = 3;
	c->email.max_send_rate = 0; /* SES's MaxSendRate */
	c->limits.max_requests_in_flight = 64;
	c->limits.max_requests_per_account = 8;
	c->limits.request_timeout_sec = 30;
	c->limits.connect_timeout_sec = 10;
	c->limits.stop_timeout_sec = 5;
	c->limits.answer_memory_mib = 24;
	c->limits.max_attempts = 3;
	c->limits.iam_requests_per_second_per_account = 0;
	c->limits.credential_report = true;

	c->state_directory = strdup(AKR_CONFIG_DEFAULT_STATE_DIRECTORY);
	c->organization.member_role_name = strdup("provisioning-admin");
	c->organization.session_name = strdup("iam-access-key-rotator");
	c->users.email_tag = strdup("email");
	c->users.exempt_tag = strdup("Exempt");
	c->email.configuration_set = strdup("iam-access-key-rotator-configset");
	c->email.region = strdup("us-east-1");
	c->email.zip_encryption = AKR_ZIP_ENCRYPTION_AES256;
	if (!c->state_directory || !c->organization.member_role_name ||
	    !c->organization.session_name || !c->users.email_tag || !c->users.exempt_tag ||
	    !c->email.configuration_set || !c->email.region)
		return NULL;
	return TAKE_PTR(c);
}

struct akr_config *akr_config_free(struct akr_config *c)
{
	if (!c)
		return NULL;
	akr__config_aws_env_done(c);
	free(c->path);
	free(c->state_directory);
	free(c->metrics_file);
	free(c->organization.management_role_arn);
	free(c->organization.member_role_name);
	free(c->organization.external_id);
	free(c->organization.session_name);
	if (c->organization.excluded_accounts)
		for (char **p = c->organization.excluded_accounts; *p; p++)
			free(*p);
	free(c->organization.excluded_accounts);
	free(c->users.email_tag);
	free(c->users.exempt_tag);
	if (c->users.allowed_email_domains)
		for (char **p = c->users.allowed_email_domains; *p; p++)
			free(*p);
	free(c->users.allowed_email_domains);
	free(c->email.sender);
	free(c->email.configuration_set);
	free(c->email.region);
	free(c->email.template_directory);
	free(c->alerts.sns_topic_arn);
	free(c->aws.region);
	free(c->aws.profile);
	free(c);
	return NULL;
}

/* A zeroed config_t was never config_init()ed: nothing to destroy. */
static void config_destroyp(config_t *cfg)
{
	if (cfg->root)
		config_destroy(cfg);
}

static void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

int akr_config_load(const char *path, struct akr_config **ret_config, struct akr_error *reterr)
{
	_cleanup_config_ struct akr_config *c = NULL;
	_cleanup_(config_destroyp) config_t cfg = { 0 };
	_cleanup_(fclosep) FILE *f = NULL;
	_cleanup_free_ char *dir = NULL;
	struct config_ctx x = { .path = path, .reterr = reterr };
	struct stat st;
	int r;

	/* config_init() before anything can fail: the cleanup destroys it. */
	config_init(&cfg);
	if (!path || !ret_config)
		return -EINVAL;

	f = fopen(path, "re");
	if (!f || fstat(fileno(f), &st) < 0) {
		r = -errno;
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "ConfigUnreadable", "%s: %s", path,
			      strerror(-r));
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "ConfigUnreadable", "%s: %s", path,
			      strerror(EISDIR));
		return -EISDIR;
	}

	/* @include "file" is resolved next to the config file. */
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	x.dir = dirname(dir);
	config_set_include_dir(&cfg, x.dir);
	if (config_read(&cfg, f) != CONFIG_TRUE) {
		const char *file = config_error_file(&cfg) ? config_error_file(&cfg) : path;

		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "ConfigUnreadable",
				      "%s:%d: %s", file, config_error_line(&cfg),
				      config_error_text(&cfg) ? config_error_text(&cfg)
							      : "cannot read");
			return -EIO;
		}
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "ConfigInvalid", "%s:%d: %s", file,
			      config_error_line(&cfg),
			      config_error_text(&cfg) ? config_error_text(&cfg) : "syntax error");
		return -EINVAL;
	}

	c = akr_config_new_default();
	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	if (!c->path)
		return -ENOMEM;
	r = load_root(&x, config_root_setting(&cfg), c);
	if (r == -ENOMEM)
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "ENOMEM", "%s: out of memory", path);
	if (r < 0)
		return r;
	r = apply_state_directory_env(c);
	if (r < 0)
		return r;

	if (!c->alerts.sns_topic_arn)
		akr_log_warning("%s: alerts.sns_topic_arn is not set: failures will not be "
				"published to SNS",
				path);
	if (c->users.n_allowed_email_domains == 0)
		akr_log_warning("%s: users.allowed_email_domains is not set: a new key goes to any "
				"domain the email tag names, and anyone allowed to tag users can "
				"redirect it",
				path);
	if (c->email.zip_encryption == AKR_ZIP_ENCRYPTION_ZIPCRYPTO)
		akr_log_warning("%s: email.zip_encryption is \"zipcrypto\", which is weak: "
				"prefer \"aes256\"",
				path);
	*ret_config = TAKE_PTR(c);
	return 0;
}

bool akr_config_account_excluded(const struct akr_config *c, const char *account_id)
{
	if (!c || !account_id)
		return false;
	for (size_t i = 0; i < c->organization.n_excluded_accounts; i++)
		if (strcmp(c->organization.excluded_accounts[i], account_id) == 0)
			return true;
	return false;
}

/* Writes @v as a libconfig string literal ("" for NULL). */
static void dump_string(FILE *f, const char *v)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void dump_key_string(FILE *f, const char *key, const char *v, const char *comment)
{
	fprintf(f, "\t%s = ", key);
	dump_string(f, v);
	fprintf(f, ";%s%s\n", comment ? "  # " : "", comment ? comment : "");
}

/* A number that loads back as a float. */
static void dump_key_number(FILE *f, const char *key, double v, const char *comment)
{
	char num[64];

	(void)snprintf(num, sizeof(num), "%.17g", v);
	if (!strpbrk(num, ".e"))
		(void)strncat(num, ".0", sizeof(num) - strlen(num) - 1);
	fprintf(f, "\t%s = %s;%s%s\n", key, num, comment ? "  # " : "", comment ? comment : "");
}

int akr_config_dump(const struct akr_config *c, FILE *f)
{
	if (!c || !f)
		return -EINVAL;

	fprintf(f, "# Effective configuration%s%s\n", c->path ? " of " : " (defaults)",
		c->path ? c->path : "");
	fprintf(f, "schedule = \"%02d:%02d\";  # UTC\n", c->schedule_minute_of_day / 60,
		c->schedule_minute_of_day % 60);
	fprintf(f, "state_directory = ");
	dump_string(f, c->state_directory);
	fprintf(f, ";\nreport_retention_days = %d;%s\n", c->report_retention_days,
		c->report_retention_days ? "" : "  # keep every report");
	fprintf(f, "metrics_file = ");
	dump_string(f, c->metrics_file ? c->metrics_file : "");
	fprintf(f, ";%s\n", c->metrics_file ? "" : "  # none");
	fprintf(f, "\npolicy = {\n");
	fprintf(f, "\trotate_after_days = %d;\n", c->policy.rotate_after_days);
	fprintf(f, "\tdeactivate_after_days = %d;\n", c->policy.deactivate_after_days);
	fprintf(f, "\tdelete_after_days = %d;\n", c->policy.delete_after_days);
	fprintf(f, "\treminder_days = %d;\n", c->policy.reminder_days);
	fprintf(f, "\tenforce = %s;\n", c->policy.enforce ? "true" : "false");
	fprintf(f, "\tdelete_inactive_to_free_slot = %s;\n",
		c->policy.delete_inactive_to_free_slot ? "true" : "false");
	fprintf(f, "};\n\norganization = {\n");
	dump_key_string(f, "management_role_arn", c->organization.management_role_arn, NULL);
	dump_key_string(f, "member_role_name", c->organization.member_role_name, NULL);
	if (c->organization.external_id)
		dump_key_string(f, "external_id", "********", "set, masked");
	else
		dump_key_string(f, "external_id", NULL, "none");
	dump_key_string(f, "session_name", c->organization.session_name, NULL);
	fprintf(f, "\tsession_duration_sec = %d;\n", c->organization.session_duration_sec);
	fprintf(f, "\texcluded_accounts = [");
	for (size_t i = 0; i < c->organization.n_excluded_accounts; i++) {
		fprintf(f, "%s", i ? ", " : " ");
		dump_string(f, c->organization.excluded_accounts[i]);
	}
	fprintf(f, " ];\n};\n\nusers = {\n");
	dump_key_string(f, "email_tag", c->users.email_tag, NULL);
	dump_key_string(f, "exempt_tag", c->users.exempt_tag, NULL);
	fprintf(f, "\tallowed_email_domains = [");
	for (size_t i = 0; i < c->users.n_allowed_email_domains; i++) {
		fprintf(f, "%s", i ? ", " : " ");
		dump_string(f, c->users.allowed_email_domains[i]);
	}
	fprintf(f, " ];%s\n",
		c->users.n_allowed_email_domains ? "" : "  # any domain (not recommended)");
	fprintf(f, "\taddress_change_hold_days = %d;\n", c->users.address_change_hold_days);
	fprintf(f, "};\n\nemail = {\n");
	dump_key_string(f, "sender", c->email.sender, NULL);
	dump_key_string(f, "configuration_set", c->email.configuration_set,
			c->email.configuration_set ? NULL : "none");
	dump_key_string(f, "region", c->email.region, NULL);
	dump_key_string(f, "zip_encryption", akr_zip_encryption_to_string(c->email.zip_encryption),
			NULL);
	dump_key_number(f, "max_send_rate", c->email.max_send_rate,
			c->email.max_send_rate > 0 ? "messages per second, at most SES's MaxSendRate"
						   : "SES's MaxSendRate");
	dump_key_string(f, "template_directory", c->email.template_directory,
			c->email.template_directory ? NULL : "built-in templates");
	fprintf(f, "};\n\nalerts = {\n");
	dump_key_string(f, "sns_topic_arn", c->alerts.sns_topic_arn,
			c->alerts.sns_topic_arn ? NULL : "alerts off");
	fprintf(f, "\tnotify_cannot_rotate = %s;\n",
		c->alerts.notify_cannot_rotate ? "true" : "false");
	fprintf(f, "};\n\nlimits = {\n");
	fprintf(f, "\tmax_requests_in_flight = %d;\n", c->limits.max_requests_in_flight);
	fprintf(f, "\tmax_requests_per_account = %d;\n", c->limits.max_requests_per_account);
	fprintf(f, "\trequest_timeout_sec = %d;\n", c->limits.request_timeout_sec);
	fprintf(f, "\tconnect_timeout_sec = %d;\n", c->limits.connect_timeout_sec);
	fprintf(f, "\tstop_timeout_sec = %d;\n", c->limits.stop_timeout_sec);
	fprintf(f, "\tanswer_memory_mib = %d;\n", c->limits.answer_memory_mib);
	fprintf(f, "\tmax_attempts = %d;\n", c->limits.max_attempts);
	dump_key_number(f, "iam_requests_per_second_per_account",
			c->limits.iam_requests_per_second_per_account,
			c->limits.iam_requests_per_second_per_account > 0 ? NULL : "unlimited");
	fprintf(f, "\tcredential_report = %s;\n", c->limits.credential_report ? "true" : "false");
	fprintf(f, "};\n\naws = {\n");
	dump_key_string(f, "region", c->aws.region, c->aws.region ? NULL : "from the environment");
	dump_key_string(f, "profile", c->aws.profile,
			c->aws.profile ? NULL : "from the environment");
	fprintf(f, "};\n");

	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}
