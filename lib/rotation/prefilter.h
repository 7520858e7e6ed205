#pragma once
/* The credential-report pre-filter (docs/policy.md "Who is read"): from one
 * row of an account's IAM credential report, whether the policy could have
 * anything to do for the user today. A user the report rules out is counted
 * as "nothing to do" without ListUserTags and ListAccessKeys; every doubt
 * means a full read. The rule can only add reads, never skip a due action.
 *
 * akr_prefilter_decide() is a pure function; struct akr_prefilter_set keeps,
 * for one account, the users the report ruled out (exact names, never a
 * digest: a collision must not skip anyone). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/aws/credreport.h"
#include "lib/base/seen.h"
#include "lib/rotation/policy.h"

/* Days of margin on every age (rounding, the report's own age, clocks). */
#define AKR_PREFILTER_MARGIN_DAYS 1
/* A report older (or newer) than this against the sweep's clock is not used. */
#define AKR_PREFILTER_REPORT_MAX_AGE_SEC (AKR_PREFILTER_MARGIN_DAYS * INT64_C(86400))

enum akr_prefilter_verdict {
	AKR_PREFILTER_NOTHING_DUE,    /* every key active and young enough */
	AKR_PREFILTER_READ_MALFORMED, /* the row failed validation */
	AKR_PREFILTER_READ_INACTIVE,  /* an inactive key: deletion, recovery window, free slot */
	AKR_PREFILTER_READ_OLD_KEY,   /* an active key within the margin of R or a reminder */
	AKR_PREFILTER_READ_FUTURE,    /* a date after the sweep's clock: the clocks disagree */
	_AKR_PREFILTER_VERDICT_MAX,
};
const char *akr_prefilter_verdict_to_string(enum akr_prefilter_verdict v);

/** The age (whole days from last_rotated to @now_sec, plus the margin) at
 * which an active key may have something due: the smallest of R and
 * D − reminder_days. */
int64_t akr_prefilter_threshold_days(const struct akr_policy_config *pc);
/** The same for the older of two active keys with different dates: the
 * policy rotates by the newer key only, so the older one has nothing due
 * before its reminder or deactivation: D − reminder_days (D without
 * reminders), never below the threshold above. */
int64_t akr_prefilter_older_threshold_days(const struct akr_policy_config *pc);

/** The verdict for a valid row (@row->root is not a user: the caller skips it). */
enum akr_prefilter_verdict akr_prefilter_decide(const struct akr_policy_config *pc,
						int64_t now_sec,
						const struct akr_credreport_row *row);

/** Whether a report generated at @generated_sec may be used at @now_sec. */
bool akr_prefilter_report_usable(int64_t generated_sec, int64_t now_sec);

struct akr_prefilter_entry {
	char *name;
	int64_t creation_sec;
};

/** One account's ruled-out users. */
struct akr_prefilter_set {
	struct akr_prefilter_entry *clear; /* sorted by name after finish */
	size_t n_clear, cap_clear;
	struct akr_seen read; /* users read in full for sure (a false hit only adds a read) */
	size_t n_rows, n_malformed;
	bool finished;
};

void akr_prefilter_set_init(struct akr_prefilter_set *set);
void akr_prefilter_set_done(struct akr_prefilter_set *set);
/** Adds one row as the CSV reader hands it over (@invalid as there). Returns 0
 * or -ENOMEM/-E2BIG. */
int akr_prefilter_set_add(struct akr_prefilter_set *set, const struct akr_policy_config *pc,
			  int64_t now_sec, const struct akr_credreport_row *row, const char *invalid);
/** Marks @user as read in full whatever its row says (the state log or the
 * address book remembers something about it). */
int akr_prefilter_set_force_read(struct akr_prefilter_set *set, const char *user);
/** After the last row: sorts and drops every name seen twice. */
int akr_prefilter_set_finish(struct akr_prefilter_set *set);
/** Whether @user, listed by ListUsers as created at @creation_sec, is ruled
 * out (nothing due): its only row ruled it out, its creation date matches,
 * and nothing forces a read. */
bool akr_prefilter_set_clears(const struct akr_prefilter_set *set, const char *user,
			      int64_t creation_sec);
