#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "lib/aws/endpoints.h"
#include "lib/rotation/config-internal.h"
#include "lib/rotation/config.h"
#include "lib/base/error.h"
#include "lib/base/macro.h"
#include "lib/base/strutil.h"

/* The schema (the types are in lib/rotation/config-internal.h). */
const struct config_key akr__config_root_keys[] = {
	{ "schedule", KIND_STRING },   { "state_directory", KIND_STRING },
	{ "policy", KIND_GROUP },      { "organization", KIND_GROUP },
	{ "users", KIND_GROUP },       { "email", KIND_GROUP },
	{ "alerts", KIND_GROUP },      { "limits", KIND_GROUP },
	{ "aws", KIND_GROUP },         { "report_retention_days", KIND_INT },
	{ "metrics_file", KIND_STRING }, { NULL, 0 },
};
const struct config_key akr__config_policy_keys[] = {
	{ "rotate_after_days", KIND_INT }, { "deactivate_after_days", KIND_INT },
	{ "delete_after_days", KIND_INT }, { "reminder_days", KIND_INT },
	{ "enforce", KIND_BOOL },          { "delete_inactive_to_free_slot", KIND_BOOL },
	{ NULL, 0 },
};
const struct config_key akr__config_organization_keys[] = {
	{ "management_role_arn", KIND_STRING }, { "member_role_name", KIND_STRING },
	{ "external_id", KIND_STRING },         { "session_name", KIND_STRING },
	{ "session_duration_sec", KIND_INT },   { "excluded_accounts", KIND_STRINGS },
	{ NULL, 0 },
};
const struct config_key akr__config_users_keys[] = {
	{ "email_tag", KIND_STRING },
	{ "exempt_tag", KIND_STRING },
	{ "allowed_email_domains", KIND_STRINGS },
	{ "address_change_hold_days", KIND_INT },
	{ NULL, 0 },
};
const struct config_key akr__config_email_keys[] = {
	{ "sender", KIND_STRING },         { "configuration_set", KIND_STRING },
	{ "region", KIND_STRING },         { "zip_encryption", KIND_STRING },
	{ "max_send_rate", KIND_NUMBER },  { "template_directory", KIND_STRING },
	{ NULL, 0 },
};
const struct config_key akr__config_alerts_keys[] = {
	{ "sns_topic_arn", KIND_STRING },
	{ "notify_cannot_rotate", KIND_BOOL },
	{ NULL, 0 },
};
const struct config_key akr__config_limits_keys[] = {
	{ "max_requests_in_flight", KIND_INT },
	{ "max_requests_per_account", KIND_INT },
	{ "request_timeout_sec", KIND_INT },
	{ "connect_timeout_sec", KIND_INT },
	{ "stop_timeout_sec", KIND_INT },
	{ "answer_memory_mib", KIND_INT },
	{ "max_attempts", KIND_INT },
	{ "iam_requests_per_second_per_account", KIND_NUMBER },
	{ "credential_report", KIND_BOOL },
	{ NULL, 0 },
};
const struct config_key akr__config_aws_keys[] = {
	{ "region", KIND_STRING },
	{ "profile", KIND_STRING },
	{ NULL, 0 },
};

static const struct section {
	const char *name;
	const struct config_key *keys;
} sections[] = {
	{ "policy", akr__config_policy_keys }, { "organization", akr__config_organization_keys },
	{ "users", akr__config_users_keys },   { "email", akr__config_email_keys },
	{ "alerts", akr__config_alerts_keys }, { "limits", akr__config_limits_keys },
	{ "aws", akr__config_aws_keys },
};

static const char *kind_to_string(enum config_kind k)
{
	static const char *const table[] = {
		[KIND_STRING] = "a string (in double quotes)",
		[KIND_INT] = "an integer",
		[KIND_BOOL] = "true or false",
		[KIND_NUMBER] = "a number",
		[KIND_STRINGS] = "a list of strings ([ \"...\", ... ])",
		[KIND_GROUP] = "a group ({ ... })",
	};
	return table[k];
}

static void setting_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *chain[8];
	size_t n = 0, len = 0;

	buf[0] = '\0';
	for (; s && s->parent && n < ELEMENTSOF(chain); s = s->parent)
		chain[n++] = s;
	while (n-- > 0 && len < size) {
		const config_setting_t *c = chain[n];
		int k;
		if (c->name)
			k = snprintf(buf + len, size - len, "%s%s", len ? "." : "", c->name);
		else
			k = snprintf(buf + len, size - len, "[%d]", config_setting_index(c));
		if (k < 0)
			return;
		len += (size_t)k;
	}
}

/* "FILE:LINE" of @s, or of the top of the file when @s is NULL. libconfig
 * records an @include'd file by the name written in the directive: show
 * where it really is. */
static void locate(const struct config_ctx *x, const config_setting_t *s, char *buf, size_t size)
{
	const char *file = x->path;
	unsigned line = 1;

	if (s) {
		if (config_setting_source_file(s))
			file = config_setting_source_file(s);
		if (config_setting_source_line(s) > 0)
			line = config_setting_source_line(s);
	}
	if (file != x->path && file[0] != '/' && x->dir)
		(void)snprintf(buf, size, "%s/%s:%u", x->dir, file, line);
	else
		(void)snprintf(buf, size, "%s:%u", file, line);
}

/* Fails the load at @s (or at the top of the file when @s is NULL) with
 * "FILE:LINE: PATH: message". Returns -EINVAL. */
int akr__config_fail_at(struct config_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	char msg[384], where[128] = "", loc[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s)
		setting_path(s, where, sizeof(where));
	locate(x, s, loc, sizeof(loc));
	akr_error_set(x->reterr, AKR_ERROR_LOCAL, 0, "ConfigInvalid", "%s: %s%s%s", loc, where,
		      where[0] ? ": " : "", msg);
	return -EINVAL;
}

/* A required setting missing from @group (NULL: the group is missing too):
 * the error points at the group, or the top of the file, and names the full
 * path. */
int akr__config_fail_missing(struct config_ctx *x, const config_setting_t *group,
			     const char *section, const char *name)
{
	char loc[256];

	locate(x, group, loc, sizeof(loc));
	akr_error_set(x->reterr, AKR_ERROR_LOCAL, 0, "ConfigInvalid",
		      "%s: %s.%s: required setting is missing", loc, section, name);
	return -EINVAL;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= ELEMENTSOF(row) || lb >= ELEMENTSOF(row))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* An unknown setting: suggest the nearest known name of the same group, or
 * the section a known name belongs to when it was put at the wrong level. */
static int fail_unknown(struct config_ctx *x, const config_setting_t *s,
			const struct config_key *keys)
{
	const char *best = NULL, *name = config_setting_name(s);
	size_t best_d = SIZE_MAX;

	if (!name)
		return akr__config_fail_at(x, s, "unexpected element");
	for (const struct config_key *k = keys; k->name; k++) {
		size_t d = edit_distance(name, k->name);
		if (d < best_d) {
			best_d = d;
			best = k->name;
		}
	}
	if (best && best_d <= 2 + strlen(name) / 8)
		return akr__config_fail_at(x, s, "unknown setting (did you mean '%s'?)", best);
	for (size_t i = 0; i < ELEMENTSOF(sections); i++) {
		if (sections[i].keys == keys)
			continue;
		for (const struct config_key *k = sections[i].keys; k->name; k++)
			if (strcmp(k->name, name) == 0)
				return akr__config_fail_at(
				    x, s, "unknown setting here (it belongs in '%s')",
				    sections[i].name);
	}
	for (const struct config_key *k = akr__config_root_keys;
	     keys != akr__config_root_keys && k->name; k++)
		if (strcmp(k->name, name) == 0)
			return akr__config_fail_at(
			    x, s, "unknown setting here (it belongs at the top level)");
	return akr__config_fail_at(x, s, "unknown setting");
}

/* Checks that every member of @group is known and has the right type. */
int akr__config_check_members(struct config_ctx *x, const config_setting_t *group,
			      const struct config_key *keys)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const struct config_key *k;
		bool ok;

		for (k = keys; k->name; k++)
			if (strcmp(k->name, config_setting_name(s)) == 0)
				break;
		if (!k->name)
			return fail_unknown(x, s, keys);
		switch (k->kind) {
		case KIND_STRING:
			ok = config_setting_type(s) == CONFIG_TYPE_STRING;
			break;
		case KIND_INT:
			ok = config_setting_type(s) == CONFIG_TYPE_INT ||
			     config_setting_type(s) == CONFIG_TYPE_INT64;
			break;
		case KIND_BOOL:
			ok = config_setting_type(s) == CONFIG_TYPE_BOOL;
			break;
		case KIND_NUMBER:
			ok = config_setting_is_number(s);
			break;
		case KIND_GROUP:
			ok = config_setting_is_group(s);
			break;
		case KIND_STRINGS:
			ok = config_setting_is_array(s) || config_setting_is_list(s);
			for (int j = 0; ok && j < config_setting_length(s); j++) {
				const config_setting_t *e = config_setting_get_elem(s, (unsigned)j);
				if (config_setting_type(e) != CONFIG_TYPE_STRING)
					return akr__config_fail_at(
					    x, e, "must be a string (in double quotes)");
			}
			break;
		default:
			ok = false;
		}
		if (!ok)
			return akr__config_fail_at(x, s, "must be %s", kind_to_string(k->kind));
	}
	return 0;
}

static bool chars_in(const char *v, const char *extra)
{
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && !strchr(extra, *v))
			return false;
	return true;
}

const char *akr__config_valid_absolute_path(const char *v)
{
	return v[0] == '/' ? NULL : "is not an absolute path";
}

/* Splits an ARN into its six fields in @buf. Returns false when it is not one. */
static bool split_arn(const char *v, const char *service, char *buf, size_t size,
		      const char *f[6])
{
	char *p;

	if (!akr_is_arn(v, service) || strlen(v) >= size)
		return false;
	strncpy(buf, v, size - 1);
	buf[size - 1] = '\0';
	p = buf;
	for (int i = 0; i < 5; i++) {
		f[i] = p;
		p = strchr(p, ':');
		if (!p)
			return false;
		*p++ = '\0';
	}
	f[5] = p;
	return true;
}

const char *akr__config_valid_role_name(const char *v)
{
	size_t n = strlen(v);

	return n >= 1 && n <= 64 && chars_in(v, "_+=,.@-")
		       ? NULL
		       : "is not a valid IAM role name (1-64 of A-Z a-z 0-9 _+=,.@-)";
}

const char *akr__config_valid_role_arn(const char *v)
{
	static const char *const msg =
		"is not an IAM role ARN (arn:aws:iam::<12-digit account id>:role/<name>)";
	const char *f[6], *name;
	char buf[2048];

	if (!split_arn(v, "iam", buf, sizeof(buf), f) || f[3][0] != '\0' ||
	    !akr_is_account_id(f[4]) || strncmp(f[5], "role/", 5) != 0)
		return msg;
	name = strrchr(f[5], '/') + 1;
	if (akr__config_valid_role_name(name) || !chars_in(f[5], "_+=,.@-/"))
		return msg;
	return NULL;
}

const char *akr__config_valid_topic_arn(const char *v)
{
	const char *f[6];
	char buf[2048];
	size_t n;

	if (!split_arn(v, "sns", buf, sizeof(buf), f) || f[3][0] == '\0' ||
	    !akr_is_account_id(f[4]))
		return "is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account id>:<topic>)";
	n = strlen(f[5]);
	if (n < 1 || n > 256 || !chars_in(f[5], "_-."))
		return "is not an SNS topic ARN: the topic name must be 1-256 of A-Z a-z 0-9 _-";
	return NULL;
}

const char *akr__config_valid_external_id(const char *v)
{
	size_t n = strlen(v);

	return n >= 2 && n <= 1224 && chars_in(v, "_+=,.@:/-")
		       ? NULL
		       : "is not a valid external id (2-1224 of A-Z a-z 0-9 _+=,.@:/-)";
}

const char *akr__config_valid_session_name(const char *v)
{
	size_t n = strlen(v);

	return n >= 2 && n <= 64 && chars_in(v, "_+=,.@-")
		       ? NULL
		       : "is not a valid role session name (2-64 of A-Z a-z 0-9 _+=,.@-)";
}

const char *akr__config_valid_tag_key(const char *v)
{
	/* AWS tag keys: 1-128 Unicode characters; control characters were
	 * refused already. Count characters, not UTF-8 bytes. */
	size_t chars = 0;

	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		chars += (*p & 0xc0) != 0x80;
	if (chars > 128)
		return "is not a valid tag key (1-128 characters)";
	if (strncmp(v, "aws:", 4) == 0)
		return "is not a valid tag key (the 'aws:' prefix is reserved)";
	return NULL;
}

const char *akr__config_valid_email(const char *v)
{
	return akr_is_valid_email(v) ? NULL : "is not a valid email address";
}

const char *akr__config_valid_email_domain(const char *v)
{
	char probe[300];

	/* A domain is valid when an address in it is. */
	if (strlen(v) > 253 || snprintf(probe, sizeof(probe), "x@%s", v) >= (int)sizeof(probe) ||
	    !akr_is_valid_email(probe))
		return "is not a mail domain (like \"example.com\": no '@', at least one dot)";
	return NULL;
}

const char *akr__config_valid_configuration_set(const char *v)
{
	return strlen(v) <= 64 && chars_in(v, "_-")
		       ? NULL
		       : "is not a valid SES configuration set name (1-64 of A-Z a-z 0-9 _-)";
}

const char *akr__config_valid_region(const char *v)
{
	return akr_endpoints_is_region(v) ? NULL : "is not an AWS region name (like \"us-east-1\")";
}

const char *akr__config_valid_zip_encryption(const char *v)
{
	return strcmp(v, "aes256") == 0 || strcmp(v, "zipcrypto") == 0
		       ? NULL
		       : "is not a zip encryption: use \"aes256\" or \"zipcrypto\"";
}

const char *akr__config_valid_profile(const char *v)
{
	return strlen(v) <= 128 && !strpbrk(v, "[] \t") ? NULL : "is not a valid AWS profile name";
}

/* The directory must be there, and every template in it must start with a
 * Subject: line: finding out at load time beats finding out at the first
 * rotation. lib/delivery/templates checks the rest (placeholders) when a sweep
 * loads them. */
int akr__config_check_templates(struct config_ctx *x, const config_setting_t *group,
				const char *dir)
{
	static const char *const names[] = AKR_CONFIG_TEMPLATE_NAMES;
	const config_setting_t *s = config_setting_get_member(group, "template_directory");
	struct stat st;

	if (stat(dir, &st) < 0)
		return akr__config_fail_at(x, s, "'%s': %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return akr__config_fail_at(x, s, "'%s' is not a directory", dir);
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		char file[4096], line[16] = "";
		FILE *f;
		int k = snprintf(file, sizeof(file), "%s/%s", dir, names[i]);

		if (k < 0 || (size_t)k >= sizeof(file))
			return akr__config_fail_at(x, s, "'%s' is too long", dir);
		f = fopen(file, "re");
		if (!f && errno == ENOENT)
			continue; /* that kind of mail keeps its built-in text */
		if (!f)
			return akr__config_fail_at(x, s, "template '%s': %s", file,
						   strerror(errno));
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		(void)fclose(f);
		if (strncmp(line, "Subject:", 8) != 0)
			return akr__config_fail_at(
			    x, s, "template '%s' does not start with a 'Subject:' line", file);
	}
	return 0;
}
