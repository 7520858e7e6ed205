#pragma once
/* The rotation policy: a pure function from (config, user, tags, keys, what
 * the state log remembers, now) to an ordered list of actions, each with its
 * reason. No I/O, no clock, no allocation, no logging: the sweep gathers the
 * inputs, calls akr_policy_decide() and executes the plan in order.
 * docs/policy.md is the operator's version of every rule here.
 *
 * Ages are whole days since CreateDate, rounded down
 * (akr_time_days_between(created_sec, now_sec)). The rules:
 *   R  create a new key when the newest active key is >= R days old
 *   D  deactivate an active key >= D days old once a newer active key exists,
 *      and no sooner than D - R days after that newer key was created
 *   X  delete an inactive key >= X days old; if we deactivated it, no sooner
 *      than X - D days after we did (the recovery window)
 *
 * Every key listed for the user is assumed to be held by the user: the sweep
 * reconciles open intents of the state log (deleting keys created but never
 * delivered) before it decides anything (DESIGN.md, safety protocol). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AKR_POLICY_MAX_KEYS 2    /* IAM's limit of access keys per user */
#define AKR_POLICY_MAX_ACTIONS 8
#define AKR_POLICY_MAX_DAYS 36500
#define AKR_POLICY_TAG_KEY_MAX 128 /* IAM's limit on a tag key */

struct akr_policy_config {
	int rotate_after_days;     /* R, default 80 */
	int deactivate_after_days; /* D, default 90 */
	int delete_after_days;     /* X, default 100 */
	int reminder_days;         /* remind this many days before a deactivation; 0 = never; default 3 */
	bool enforce;              /* deactivate at D a key that cannot be rotated; default false */
	bool delete_inactive_to_free_slot; /* default true */
	const char *email_tag;     /* borrowed; default "email" */
	const char *exempt_tag;    /* borrowed; default "Exempt" */
	/* Borrowed: an address outside these domains is refused like an
	 * invalid one (AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED). None (default) =
	 * every domain. */
	const char *const *allowed_email_domains;
	size_t n_allowed_email_domains;
};

enum akr_key_status {
	AKR_KEY_ACTIVE,
	AKR_KEY_INACTIVE,
	AKR_KEY_EXPIRED, /* IAM's third status: unusable, treated exactly like Inactive */
	_AKR_KEY_STATUS_MAX,
};

struct akr_policy_key {
	const char *id;                /* borrowed; non-empty */
	enum akr_key_status status;
	int64_t created_sec;           /* CreateDate */
	int64_t deactivated_by_us_sec; /* from the state log; 0 = we did not deactivate it */
	bool reminded;                 /* from the state log: a reminder for this key was sent */
};

struct akr_policy_tag {
	const char *key;   /* borrowed; non-NULL */
	const char *value; /* borrowed; non-NULL (IAM allows "") */
};

struct akr_policy_user {
	const char *name; /* borrowed; not used by the decision, may be NULL */
	const struct akr_policy_tag *tags;
	size_t n_tags;
	const struct akr_policy_key *keys; /* any order */
	size_t n_keys;                     /* 0..AKR_POLICY_MAX_KEYS */
};

enum akr_action_kind {
	AKR_ACTION_CREATE,     /* create a new key and deliver it (mail with both dates) */
	AKR_ACTION_DEACTIVATE, /* set the key Inactive (notice mail) */
	AKR_ACTION_DELETE,     /* delete the key (notice mail) */
	AKR_ACTION_REMIND,     /* reminder mail: the key is deactivated soon */
	AKR_ACTION_SKIP,       /* nothing done, and why */
	AKR_ACTION_REPORT,     /* needs attention: rotation is due and cannot happen */
	_AKR_ACTION_MAX,
};

enum akr_reason {
	/* SKIP */
	AKR_REASON_EXEMPT,
	AKR_REASON_NO_KEYS,
	AKR_REASON_NO_ACTIVE_KEY,
	/* CREATE */
	AKR_REASON_ROTATION_DUE,
	/* DEACTIVATE */
	AKR_REASON_REPLACED,
	AKR_REASON_ENFORCED,
	/* DELETE */
	AKR_REASON_RECOVERY_WINDOW_OVER,
	AKR_REASON_INACTIVE_EXPIRED,
	AKR_REASON_FREE_SLOT,
	/* REMIND */
	AKR_REASON_DEACTIVATION_SOON,
	/* REPORT (and akr_plan.email_problem) */
	AKR_REASON_NO_EMAIL,
	AKR_REASON_INVALID_EMAIL,
	AKR_REASON_EMAIL_CONTROL_CHARS,
	AKR_REASON_TWO_ACTIVE_KEYS,
	AKR_REASON_SLOT_IN_RECOVERY,
	AKR_REASON_NO_FREE_SLOT,
	AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED, /* REPORT and akr_plan.email_problem */
	_AKR_REASON_MAX,
	AKR_REASON_NONE = -1, /* akr_plan.email_problem when the address is usable */
};

struct akr_action {
	enum akr_action_kind kind;
	enum akr_reason reason;
	/* The key acted on, borrowed from the input (valid as long as the input).
	 * NULL for CREATE (the key does not exist yet) and for SKIP without a key. */
	const char *key_id;
	/* CREATE: the active key the new one replaces (borrowed). Else NULL. */
	const char *replaces_key_id;
	/* Age of key_id (CREATE: of replaces_key_id) in whole days; -1 without a key. */
	int64_t age_days;
	/* When the old key will be deactivated, at the earliest (a sweep on or
	 * after this instant does it): CREATE and REMIND (of the replaced/reminded
	 * key), REPORT when enforce will deactivate it. 0 = not applicable. */
	int64_t deactivate_on_sec;
	/* When it will be deleted, at the earliest: CREATE, REMIND, DEACTIVATE and
	 * REPORT with deactivate_on_sec. 0 = not applicable. */
	int64_t delete_on_sec;
	/* The sweep reads GetAccessKeyLastUsed for key_id first (DEACTIVATE,
	 * DELETE, REMIND), so the mail and the report say who still uses it. */
	bool needs_last_used;
};

struct akr_plan {
	struct akr_action actions[AKR_POLICY_MAX_ACTIONS]; /* executed in this order */
	size_t n_actions;
	/* The user's usable address (borrowed from the tag value) or NULL. Mails
	 * (CREATE, DEACTIVATE, DELETE notices, REMIND) go only to this address; a
	 * DELETE or DEACTIVATE for a user without one happens without mail. */
	const char *email;
	/* Why email is NULL: NO_EMAIL, INVALID_EMAIL, EMAIL_CONTROL_CHARS or
	 * EMAIL_DOMAIN_NOT_ALLOWED;
	 * AKR_REASON_NONE when email is set (or the user is exempt). */
	enum akr_reason email_problem;
	bool exempt;
};

/** Fills @ret_cfg with the defaults (80/90/100, reminders 3 days before,
 * enforce off, free a slot by deleting an inactive key, tags "email" and
 * "Exempt"). */
void akr_policy_config_init(struct akr_policy_config *ret_cfg);

/** Checks 1 <= R < D < X <= AKR_POLICY_MAX_DAYS, 0 <= reminder_days < D - R
 * (so a new key is never followed by a reminder in the same sweep), and that
 * both tag keys are non-empty, at most 128 bytes and free of control
 * characters. Returns 0 or -EINVAL. */
int akr_policy_config_validate(const struct akr_policy_config *cfg);

/** Decides the actions for one user at @now_sec. Pure: same input, same plan.
 * @ret (caller's storage) receives the plan; its pointers borrow from @cfg and
 * @u. Returns 0, or -EINVAL for an invalid config or input (more than two
 * keys, a NULL or empty key id, duplicate key ids, a status out of range,
 * NULL tags), in which case @ret is untouched. */
int akr_policy_decide(const struct akr_policy_config *cfg, const struct akr_policy_user *u,
		      int64_t now_sec, struct akr_plan *ret);

/** "create", "deactivate", "delete", "remind", "skip", "report"; NULL when out of range. */
const char *akr_action_kind_to_string(enum akr_action_kind k);
/** A short sentence for operators and the run report; NULL when out of range. */
const char *akr_reason_to_string(enum akr_reason r);
/** A short machine name ("rotation-due", ...) for journal fields; NULL when out of range. */
const char *akr_reason_to_name(enum akr_reason r);
/** Whether the tag keys are equal as IAM compares them for uniqueness
 * (ASCII case-insensitive). */
bool akr_policy_tag_key_equal(const char *a, const char *b);
