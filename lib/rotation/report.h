#pragma once
/* The run report: what one sweep planned, did, skipped and failed, per
 * account and user, with totals and the run id. Written to the state
 * directory as JSON (schema in docs/report.md) and summarised in one line.
 * Users with nothing to do are only counted, so the report grows with the
 * work done, not with the size of the organization. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum akr_outcome {
	AKR_OUTCOME_PLANNED,     /* dry run: would be done */
	AKR_OUTCOME_DONE,
	AKR_OUTCOME_FAILED,
	AKR_OUTCOME_SKIPPED,     /* deliberately not done (exempt, no address, ...) */
	AKR_OUTCOME_ROLLED_BACK, /* a new key deleted again because delivery failed */
	_AKR_OUTCOME_MAX,
};
const char *akr_outcome_to_string(enum akr_outcome o);

enum akr_account_state {
	AKR_ACCOUNT_OK,
	AKR_ACCOUNT_FAILED,
	AKR_ACCOUNT_EXCLUDED,
	AKR_ACCOUNT_NOT_ACTIVE,
	_AKR_ACCOUNT_STATE_MAX,
};
const char *akr_account_state_to_string(enum akr_account_state s);

/** One row: an action on a user's key (or on the user), with its outcome.
 * All strings borrowed by akr_report_add(), which copies them. */
struct akr_report_row {
	const char *account_id;
	const char *account_name;
	const char *user_name;
	const char *access_key_id; /* NULL for a new key not yet created, or none */
	const char *action;        /* "create", "deactivate", "delete", "remind", "report", "skip" */
	int64_t key_age_days;      /* -1 when not about one key */
	const char *reason;
	enum akr_outcome outcome;
	const char *error;         /* NULL unless failed */
	const char *detail;        /* e.g. "last used 2026-11-20 by s3 in eu-west-1" */
};

struct akr_report_totals {
	uint64_t accounts_listed, accounts_done, accounts_failed, accounts_excluded,
		accounts_not_active;
	uint64_t users_seen, users_failed, users_exempt, users_without_email;
	/* The credential-report pre-filter: users it ruled out (no further
	 * call, not counted as exempt or without email), and accounts with
	 * and without a usable report. */
	uint64_t users_nothing_due_by_report;
	uint64_t accounts_with_credential_report, accounts_without_credential_report;
	uint64_t outcome[_AKR_OUTCOME_MAX];
	uint64_t keys_created, keys_deactivated, keys_deleted, mails_sent;
};

struct akr_report;

/** Creates a report. @mode is "dry-run", "once", "scheduled" or "reconcile"
 * (akr_sweep_mode_to_string()). Borrowed
 * strings are copied. Returns NULL only on ENOMEM. */
struct akr_report *akr_report_new(const char *run_id, const char *mode, int64_t started_sec);
struct akr_report *akr_report_free(struct akr_report *r);

/** Records the state of an account (failures with their reason). */
int akr_report_account(struct akr_report *r, const char *account_id, const char *name,
		       enum akr_account_state state, const char *error);
/** Adds one row. Returns 0 or -ENOMEM. */
int akr_report_add(struct akr_report *r, const struct akr_report_row *row);
/** Counters the sweep bumps directly. */
struct akr_report_totals *akr_report_totals(struct akr_report *r);
void akr_report_set_finished(struct akr_report *r, int64_t finished_sec, bool complete);

/** The counters, read only. Borrowed from the report. */
const struct akr_report_totals *akr_report_get_totals(const struct akr_report *r);
/** When the run started and finished (0 until akr_report_set_finished()),
 * and whether it was complete. */
void akr_report_get_times(const struct akr_report *r, int64_t *ret_started_sec,
			  int64_t *ret_finished_sec, bool *ret_complete);
/** The users that cannot be rotated (rows with action "report": no usable
 * address, no free key slot), one row per user (the first), sorted by
 * account id then user name. *@ret_rows gets a new array of row pointers
 * borrowed from the report (caller frees the array with free(); NULL when
 * *@ret_n is 0). Returns 0 or -ENOMEM. */
int akr_report_cannot_rotate(const struct akr_report *r, const struct akr_report_row ***ret_rows,
			     size_t *ret_n);

size_t akr_report_n_rows(const struct akr_report *r);
/** Row @i, in the order added. Borrowed from the report. */
const struct akr_report_row *akr_report_row(const struct akr_report *r, size_t i);
/** Accounts that failed, for the alert: fills at most @max entries. */
size_t akr_report_failed_accounts(const struct akr_report *r, const char **ret_ids,
				  const char **ret_errors, size_t max);
const char *akr_report_run_id(const struct akr_report *r);
bool akr_report_has_failures(const struct akr_report *r);

/** Writes the JSON report to @dir/report-<run id>.json and links
 * @dir/last-report.json to it (atomically: temp file, fsync, rename).
 * @ret_path (may be NULL) gets the report's path (caller frees).
 * Returns 0 or -errno. */
int akr_report_write(const struct akr_report *r, const char *dir, char **ret_path);
/** Writes the JSON report to @path (borrowed), atomically (temp file in the
 * same directory, fsync, rename), mode 0600: --report FILE. Returns 0 or
 * -errno. */
int akr_report_write_file(const struct akr_report *r, const char *path);
/** Removes the reports "report-<run id>.json" in @dir whose run started at
 * least @retention_days days before @now_sec (the start is read from the run
 * id in the name), except the one last-report.json points to. Files whose
 * names do not parse are never touched. @retention_days 0 keeps everything.
 * @ret_removed (may be NULL) gets how many were removed, also on failure.
 * Returns 0, or the first -errno met (the others are still tried). */
int akr_report_prune(const char *dir, int64_t now_sec, int retention_days, size_t *ret_removed);
/** The JSON document itself, into @f. */
int akr_report_write_json(const struct akr_report *r, FILE *f);
/** One line: "run RUNID: 12 accounts (1 failed), 340 users, 3 keys created, ...". */
int akr_report_summary(const struct akr_report *r, char *buf, size_t size);
/** The plan as a table a person reads at a glance, then the totals. */
int akr_report_print_table(const struct akr_report *r, FILE *f);
