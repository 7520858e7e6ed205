#pragma once
/* The state log: the daemon's crash-safe memory in the state directory, file
 * `statelog`. It holds the intents of the safety protocol (DESIGN.md "Safety
 * protocol"), when we deactivated and reminded each key (for the recovery
 * window and the reminders of lib/rotation/policy), and the last run. Never a secret.
 *
 * Format: text, one record per line, fields separated by one TAB, the record
 * type first; times are decimal seconds since the epoch (UTC). Fields are
 * 1-256 bytes of printable ASCII (0x20-0x7e) other than TAB and backslash, so
 * nothing needs escaping: a value outside that set is refused (-EINVAL).
 *
 *   STATELOG    1  <next-intent-id>                    first line (written by compaction)
 *   INTENT      <intent-id>  <time>  <run-id>  <account-id>  <user-name>
 *   CREATED     <intent-id>  <access-key-id>           CreateAccessKey returned
 *   DELIVERED   <intent-id>                            the secret reached the user
 *   ROLLEDBACK  <intent-id>                            the key made for it was deleted again (or none was made)
 *   DONE        <intent-id>                            closes the intent
 *   DEACTIVATED <time>  <account-id>  <user-name>  <access-key-id>
 *   REMINDED    <time>  <account-id>  <user-name>  <access-key-id>
 *   DELETED     <time>  <account-id>  <user-name>  <access-key-id>   forgets the key
 *   LASTRUN     <time>  <run-id>  <result>
 *
 * Every append is one write() of the whole line followed by fsync(); the file
 * is only ever created or replaced by writing a temporary file, fsync, rename
 * and fsync of the directory. A crash can therefore leave at most a torn last
 * line (no final newline), which loading ignores with a warning; any other
 * damage is refused with the line number. The log is compacted (rewritten with
 * only the live facts) at every read-write open and whenever it holds more
 * than the compaction threshold of records. Live facts: open intents with
 * their CREATED/DELIVERED, the last run, and per key the latest deactivation
 * and reminder not older than AKR_STATELOG_KEEP_DAYS before the newest time in
 * the log (a key we forgot is deleted by its age alone, policy rule X).
 *
 * A read-write open takes flock(LOCK_EX|LOCK_NB) on the state directory, so a
 * second daemon on the same directory gets -EBUSY. Single-threaded: no call
 * may run concurrently with another on the same log. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct akr_error;
struct akr_statelog;

#define AKR_STATELOG_FILE "statelog"
#define AKR_STATELOG_KEEP_DAYS 400
#define AKR_STATELOG_DEFAULT_COMPACT_RECORDS 10000
#define AKR_STATELOG_FIELD_MAX 256
#define AKR_STATELOG_FILE_MAX (64u * 1024 * 1024)

/** An intent not closed by DONE: a crash happened between the intent and its
 * end. Part of the list akr_statelog_open_intents() returns: its strings are
 * owned by the log, and valid until the next akr_statelog_open_intents(),
 * akr_statelog_append_intent() or akr_statelog_free() (closing intents while
 * walking the list is fine). */
struct akr_statelog_intent {
	uint64_t id;
	int64_t time_sec;
	const char *run_id;
	const char *account_id;
	const char *user_name;
	const char *key_id; /* the key CreateAccessKey made, or NULL: none was recorded */
	bool delivered;     /* the user has the secret: keep the key, just close the intent */
	bool rolled_back;   /* the key is gone already (or none was made): just close it */
};

/** Opens (creating it if missing) and loads @dir/statelog. Read-write: takes
 * the directory lock, then compacts. With @read_only (--dry-run): no lock, no
 * file is created or changed, and every record function returns -EROFS.
 * Returns 0 and *@ret (free with akr_statelog_free); -EBUSY when another
 * process holds the lock; -EBADMSG for a damaged file, with the path and line
 * number in @reterr (may be NULL); -EFBIG past AKR_STATELOG_FILE_MAX; -ENOMEM;
 * other -errno from the file system. @dir is borrowed. */
int akr_statelog_open(const char *dir, bool read_only, struct akr_statelog **ret,
		      struct akr_error *reterr);
/** Closes the file, releases the lock, frees. NULL does nothing; returns NULL. */
struct akr_statelog *akr_statelog_free(struct akr_statelog *log);

/** Compacts once the file holds more than @n records (0 = the default). */
void akr_statelog_set_compact_threshold(struct akr_statelog *log, size_t n);
/** Rewrites the file with only the live facts now. 0 or -errno (the old file
 * stays intact on failure). */
int akr_statelog_compact(struct akr_statelog *log);
/** Records in the file now, the header included (for tests and status). */
size_t akr_statelog_n_records(const struct akr_statelog *log);

/* Record functions: each appends one line and fsyncs before returning 0, and
 * only then changes what the lookups answer. They return -EINVAL for a field
 * outside the format, -ENOENT for an intent that is not open, -EROFS on a
 * read-only log, -EIO after a failed write that could not be undone (the log
 * then refuses every further record), or another -errno of write/fsync. All
 * strings are borrowed. */

/** Step 1 of the safety protocol, before CreateAccessKey. *@ret_intent_id is
 * the new intent's id (increasing, never reused by this log). */
int akr_statelog_append_intent(struct akr_statelog *log, int64_t time_sec, const char *run_id,
			       const char *account_id, const char *user_name,
			       uint64_t *ret_intent_id);
/** CreateAccessKey returned @key_id (the id only: never the secret). Once per intent. */
int akr_statelog_mark_created(struct akr_statelog *log, uint64_t intent_id, const char *key_id);
/** The secret was delivered. Only after mark_created. */
int akr_statelog_mark_delivered(struct akr_statelog *log, uint64_t intent_id);
/** The key made for the intent was deleted again, or none was made. Not after
 * mark_delivered (-EINVAL). The intent stays open until mark_done. */
int akr_statelog_mark_rolled_back(struct akr_statelog *log, uint64_t intent_id);
/** The intent is finished (delivered, rolled back, or CreateAccessKey
 * refused): closes it. */
int akr_statelog_mark_done(struct akr_statelog *log, uint64_t intent_id);

int akr_statelog_record_deactivated(struct akr_statelog *log, int64_t time_sec,
				    const char *account_id, const char *user_name,
				    const char *key_id);
int akr_statelog_record_reminded(struct akr_statelog *log, int64_t time_sec,
				 const char *account_id, const char *user_name, const char *key_id);
/** The key is gone: forgets its deactivation and reminder. */
int akr_statelog_record_deleted(struct akr_statelog *log, int64_t time_sec,
				const char *account_id, const char *user_name, const char *key_id);
/** A sweep finished at @time_sec with @result (a short text, e.g. "ok" or "3 failed"). */
int akr_statelog_record_last_run(struct akr_statelog *log, int64_t time_sec, const char *run_id,
				 const char *result);

/** When we last deactivated the key, or 0 (feeds akr_policy_key.deactivated_by_us_sec). */
int64_t akr_statelog_deactivated_at(const struct akr_statelog *log, const char *account_id,
				    const char *key_id);
/** Whether a reminder was sent for the key (feeds akr_policy_key.reminded). */
bool akr_statelog_reminded(const struct akr_statelog *log, const char *account_id,
			   const char *key_id);
/** The open intents, oldest first, in *@ret (borrowed: see struct
 * akr_statelog_intent) and their number in *@ret_n. Returns 0, or -ENOMEM
 * (then nothing is written: a caller must not take that for "none open"). */
int akr_statelog_open_intents(struct akr_statelog *log, const struct akr_statelog_intent **ret,
			      size_t *ret_n);
bool akr_statelog_has_open_intents(const struct akr_statelog *log);
/** Calls @cb(@userdata, user name) for every user of @account_id the log
 * remembers anything about: an open intent, a deactivation or a reminder (a
 * user may come more than once). Stops at and returns the first negative
 * return of @cb; else 0. The name is borrowed for the call. */
int akr_statelog_foreach_user(const struct akr_statelog *log, const char *account_id,
			      int (*cb)(void *userdata, const char *user_name), void *userdata);
/** The time of the last LASTRUN, or 0 when no sweep has finished yet. */
int64_t akr_statelog_last_run_sec(const struct akr_statelog *log);
/** The run id and result of the last run (borrowed), or NULL. */
const char *akr_statelog_last_run_id(const struct akr_statelog *log);
const char *akr_statelog_last_run_result(const struct akr_statelog *log);
