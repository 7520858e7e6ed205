#pragma once
/* The daemon's configuration: /etc/iam-access-key-rotator/rotator.conf in
 * libconfig syntax (etc/rotator.conf documents every key, rotator.conf(5) is
 * the reference). Loading validates everything up front: unknown keys at any
 * level, wrong types, ranges, the R < D < X ordering, ARNs, account ids,
 * addresses and names. Every error names the file, the line and the setting
 * path ("rotator.conf:12: policy.rotate_after_days: ..."), so that a typo can
 * never pass silently and `--check-config` can point at it.
 *
 * A loaded struct akr_config is immutable: a reload builds a new one and the
 * daemon swaps it in only when it loaded cleanly. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/aws/endpoints.h"
#include "lib/base/macro.h"
#include "lib/delivery/zip.h"

struct akr_error;

#define AKR_CONFIG_DEFAULT_PATH "/etc/iam-access-key-rotator/rotator.conf"
#define AKR_CONFIG_DEFAULT_STATE_DIRECTORY "/var/lib/iam-access-key-rotator"

/* Bounds enforced by akr_config_load() (inclusive). */
#define AKR_CONFIG_MAX_DAYS 3650
#define AKR_CONFIG_SESSION_DURATION_MIN_SEC 900
#define AKR_CONFIG_SESSION_DURATION_MAX_SEC 3600 /* role chaining limit */
#define AKR_CONFIG_MAX_REQUESTS_IN_FLIGHT 1024
#define AKR_CONFIG_MAX_REQUESTS_PER_ACCOUNT 64
#define AKR_CONFIG_MAX_REQUEST_TIMEOUT_SEC 600
#define AKR_CONFIG_MAX_ATTEMPTS 10
#define AKR_CONFIG_MAX_HOLD_DAYS 60

/* With email.template_directory set, the directory holds up to one file per
 * kind of message, named after the kind: rotation.txt, password.txt,
 * reminder.txt, deactivated.txt, deleted.txt, address-changed.txt
 * (lib/delivery/templates.h). Each starts
 * with a "Subject: ..." line, then a blank line, then the body; a kind whose
 * file is absent keeps its built-in text. */
#define AKR_CONFIG_TEMPLATE_NAMES                                                                  \
	{ "rotation.txt", "password.txt", "reminder.txt", "deactivated.txt", "deleted.txt",       \
	  "address-changed.txt" }

/* Every string member is owned by the struct and NUL-terminated. A member
 * documented "NULL = ..." is NULL when the setting is absent or "". */
struct akr_config {
	char *path; /* the file it was loaded from; NULL for akr_config_new_default() */

	int schedule_minute_of_day; /* "schedule": "HH:MM" UTC as 0..1439; 13:00 = 780 */
	char *state_directory;      /* "/var/lib/iam-access-key-rotator"; a non-empty
				     * $STATE_DIRECTORY wins (its first ':'-separated entry) */
	int report_retention_days;  /* 90: reports of runs older than this are pruned
				     * after a sweep; 0 = keep them all; 0..3650 */
	char *metrics_file;         /* NULL = none; else an absolute path: the Prometheus
				     * text file written after every sweep but a dry run */

	struct {
		int rotate_after_days;      /* R, 80 */
		int deactivate_after_days;  /* D, 90 */
		int delete_after_days;      /* X, 100; 1 <= R < D < X <= 3650 */
		int reminder_days;          /* 3; 0 (no reminder) <= reminder < D - R */
		bool enforce;               /* false; true = deactivate at D even with no replacement */
		bool delete_inactive_to_free_slot; /* true */
	} policy;

	struct {
		char *management_role_arn; /* required: arn:<partition>:iam::<12 digits>:role/<name> */
		char *member_role_name;    /* "provisioning-admin" */
		char *external_id;         /* NULL = none; sensitive-ish: masked in dumps */
		char *session_name;        /* "iam-access-key-rotator" (RoleSessionName) */
		int session_duration_sec;  /* 3600, 900..3600 */
		char **excluded_accounts;  /* n_excluded_accounts 12-digit ids, never entered */
		size_t n_excluded_accounts;
	} organization;

	struct {
		char *email_tag;  /* "email" */
		char *exempt_tag; /* "Exempt" */
		char **allowed_email_domains; /* n_allowed_email_domains lower-case domains; none =
					       * any domain (a warning is logged) */
		size_t n_allowed_email_domains;
		int address_change_hold_days; /* 3, 0..AKR_CONFIG_MAX_HOLD_DAYS */
	} users;

	struct {
		char *sender;             /* required: the verified SES identity */
		char *configuration_set;  /* "iam-access-key-rotator-configset"; NULL = none */
		char *region;             /* "us-east-1" */
		enum akr_zip_encryption zip_encryption; /* AES-256 by default */
		double max_send_rate;     /* messages per second, 0 = SES's MaxSendRate (0 <= rate <= 1000) */
		char *template_directory; /* NULL = built-in templates; else an absolute path */
	} email;

	struct {
		char *sns_topic_arn; /* NULL = failure alerts off (a warning is logged) */
		bool notify_cannot_rotate; /* true: one attention alert per sweep with the
					    * users that cannot be rotated */
	} alerts;

	struct {
		int max_requests_in_flight;   /* 64, 1..1024 */
		int max_requests_per_account; /* 8, 1..64 */
		int request_timeout_sec;      /* 30, 1..600: one request, all attempts */
		int connect_timeout_sec;      /* 10, 1..600 */
		int stop_timeout_sec;         /* 5, 1..600: the work left after a stop */
		int answer_memory_mib;        /* 24, 2..1024: AWS answers buffered at once */
		int max_attempts;             /* 3, 1..10 */
		double iam_requests_per_second_per_account; /* 0 = unlimited, else <= 1000 */
		bool credential_report; /* the credential-report pre-filter; true */
	} limits;

	struct {
		char *region;  /* NULL = from the AWS environment ($AWS_REGION, the profile) */
		char *profile; /* NULL = $AWS_PROFILE or "default" */
	} aws;

	/* The AWS environment this configuration runs in, filled by
	 * akr_config_resolve_aws() (not by akr_config_load()), once per load. */
	struct {
		bool resolved;
		char *region;                  /* aws.region, or from the environment */
		struct akr_endpoints endpoints; /* every service's URL and signing region */
		char *sns_region;              /* of alerts.sns_topic_arn; NULL = region */
	} aws_env;
};

/** A configuration with every default filled in. organization.management_role_arn
 * and email.sender (required settings without a default) are NULL and path is
 * NULL; state_directory is the compiled-in default ($STATE_DIRECTORY is only
 * looked at by akr_config_load()). Returns NULL only on ENOMEM. Caller frees
 * with akr_config_free(). */
struct akr_config *akr_config_new_default(void);

/** Loads and validates @path (borrowed). On success *@ret_config is a new
 * configuration the caller frees with akr_config_free(). @reterr (may be
 * NULL) gets an AKR_ERROR_LOCAL error whose message is "FILE:LINE: message"
 * (the setting path is part of the message) for the first problem found.
 * Returns 0, -ENOENT/-EACCES/-EISDIR/... when the file cannot be read,
 * -EINVAL when it is malformed or invalid, -ENOMEM. *@ret_config is not
 * touched on failure. Logs a warning when alerts.sns_topic_arn or
 * users.allowed_email_domains is unset. */
int akr_config_load(const char *path, struct akr_config **ret_config, struct akr_error *reterr);

/** Frees @c and everything it owns; NULL does nothing. Returns NULL. */
struct akr_config *akr_config_free(struct akr_config *c);

/** Resolves the AWS environment of @c (aws_env): the region (aws.region, or
 * $AWS_REGION, $AWS_DEFAULT_REGION, the profile, "us-east-1"), every service
 * endpoint ($AWS_ENDPOINT_URL*, the profile) and the SNS topic's region.
 * Called once after akr_config_load(), before the config is shared; the sweep
 * only reads the result. Returns 0; -EINVAL with @reterr (may be NULL) for a
 * bad region or endpoint setting; -ENOMEM. On failure aws_env stays unresolved. */
int akr_config_resolve_aws(struct akr_config *c, struct akr_error *reterr);

DEFINE_TRIVIAL_CLEANUP_FUNC(struct akr_config *, akr_config_free)
#define _cleanup_config_ _cleanup_(akr_config_freep)

/** Writes the effective settings of @c (borrowed) to @f in libconfig syntax,
 * every setting spelled out, defaults included, for `--check-config` (the
 * way `nginx -T` does). organization.external_id is masked. Unset optional
 * strings are written as "" (which loads back as unset). Returns 0, or -EIO
 * when writing failed. */
int akr_config_dump(const struct akr_config *c, FILE *f);

/** Whether @account_id is in organization.excluded_accounts. */
bool akr_config_account_excluded(const struct akr_config *c, const char *account_id);

/** Parses "HH:MM" (00:00..23:59, two digits each) into minutes since
 * midnight. Returns 0 or -EINVAL. */
int akr_config_parse_time_of_day(const char *s, int *ret_minute_of_day);
