#pragma once
/* The address book: per (account, user), the address the daemon last approved
 * a new key for, and a change of address it has told the previous address
 * about. It is the memory behind the address takeover defence (DESIGN.md
 * "Delivery"): anyone allowed to tag an IAM user can rewrite the email tag,
 * so a new address is not trusted until its previous owner was told and the
 * hold (users.address_change_hold_days) is over.
 *
 * File `addresses` in the state directory, 0600. Text, one record per line,
 * fields separated by one TAB, the record type first; times are decimal
 * seconds since the epoch (UTC):
 *
 *   ADDRESSBOOK  1                                        first line
 *   DELIVERED    <time>  <account-id>  <user-name>  <address>   keys go to <address>
 *   NOTIFIED     <time>  <account-id>  <user-name>  <address>   the previous address was told
 *                                                               that the tag now says <address>
 *   CLEARED      <time>  <account-id>  <user-name>              the tag went back: forget NOTIFIED
 *
 * Every record is one write() of the whole line followed by fsync() before
 * the call returns; the file is only created or replaced by writing a
 * temporary file, fsync, rename and fsync of the directory (at every
 * read-write open, which rewrites it with one DELIVERED and at most one
 * NOTIFIED line per user). A crash can leave at most a torn last line (no
 * final newline), which loading drops with a warning. Any other damage fails
 * the load with the file and line number: without its memory the daemon could
 * not tell a rewritten tag from the owner's address, so it refuses to run
 * rather than trust the tags (fail closed).
 *
 * A read-write open relies on the state log's directory lock (the daemon and
 * --once hold it); a read-only open (--dry-run) changes nothing and every
 * record function returns -EROFS. Single-threaded. Never a secret. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct akr_error;
struct akr_addressbook;

#define AKR_ADDRESSBOOK_FILE "addresses"
#define AKR_ADDRESSBOOK_FILE_MAX (64u * 1024 * 1024)
#define AKR_ADDRESSBOOK_USER_MAX 128 /* bytes of printable ASCII; IAM allows 64 */

/** What the book remembers of one user. Strings are owned by the book and
 * valid until the next record function or akr_addressbook_free(). */
struct akr_address_entry {
	const char *delivered;     /* the address keys go to; NULL = none yet */
	int64_t delivered_sec;     /* when it was approved */
	const char *pending;       /* a new address the previous one was told about; NULL = none */
	int64_t pending_since_sec; /* when that notice went out: the hold runs from here */
};

/** Opens (with @read_only false: creating it, then rewriting it compactly)
 * and loads @dir/addresses. A missing file (or, read-only, a missing
 * directory) is an empty book. Returns 0 and *@ret (free with
 * akr_addressbook_free); -EBADMSG for a damaged file, with the path, the line
 * number and what is wrong in @reterr (may be NULL); -EFBIG past
 * AKR_ADDRESSBOOK_FILE_MAX; -ENOMEM; another -errno of the file system (also
 * with a message). @dir is borrowed. */
int akr_addressbook_open(const char *dir, bool read_only, struct akr_addressbook **ret,
			 struct akr_error *reterr);
/** Closes and frees. NULL does nothing; returns NULL. */
struct akr_addressbook *akr_addressbook_free(struct akr_addressbook *ab);

/** The user's entry (borrowed, see struct akr_address_entry), or NULL. */
const struct akr_address_entry *akr_addressbook_get(const struct akr_addressbook *ab,
						    const char *account_id, const char *user_name);
/** Users in the book. */
size_t akr_addressbook_size(const struct akr_addressbook *ab);

/* Record functions: each appends one line and fsyncs it before returning 0,
 * and only then changes what akr_addressbook_get() answers. -EINVAL for a
 * field outside the format (an account id that is not 12 digits, a user name
 * with a space, TAB or control character, an invalid address), -EROFS on a
 * read-only book, -EIO after a failed write that could not be undone (the
 * book then refuses every further record), or another -errno. Strings are
 * borrowed. */

/** Keys for the user go to @address from now on; forgets a pending change. */
int akr_addressbook_record_delivered(struct akr_addressbook *ab, int64_t time_sec,
				     const char *account_id, const char *user_name,
				     const char *address);
/** The previous address was told at @time_sec that the tag now says @address. */
int akr_addressbook_record_notified(struct akr_addressbook *ab, int64_t time_sec,
				    const char *account_id, const char *user_name,
				    const char *address);
/** The tag is back to the remembered address: forgets the pending change. */
int akr_addressbook_record_cleared(struct akr_addressbook *ab, int64_t time_sec,
				   const char *account_id, const char *user_name);

enum akr_address_verdict {
	AKR_ADDRESS_DELIVER,            /* first address, the same one, or the hold is over */
	AKR_ADDRESS_NOTIFY_AND_HOLD,    /* a change not told yet: tell the previous address, wait */
	AKR_ADDRESS_NOTIFY_AND_DELIVER, /* the same with hold_days 0: tell, then deliver */
	AKR_ADDRESS_HOLD,               /* told already; the hold is still running */
	_AKR_ADDRESS_VERDICT_MAX,
};

/** "deliver", "notify-and-hold", "notify-and-deliver", "hold"; NULL out of range. */
const char *akr_address_verdict_to_string(enum akr_address_verdict v);

/** Decides, purely, what to do with a key due for @address (the user's
 * current, valid tag value) given the user's entry @e (NULL = none) and
 * @hold_days (>= 0) at @now_sec. Addresses compare ASCII case-insensitively.
 * The hold counts UTC calendar days: a change told on day N is delivered to
 * from 00:00 UTC of day N + hold_days, whatever the time of the daily sweep.
 * *@ret_deliver_on_sec (may be NULL) gets that instant for the notify and
 * hold verdicts and @now_sec for DELIVER. */
enum akr_address_verdict akr_address_decide(const struct akr_address_entry *e, const char *address,
					    int hold_days, int64_t now_sec,
					    int64_t *ret_deliver_on_sec);

/** Whether two addresses are the same (ASCII case-insensitive). */
bool akr_address_equal(const char *a, const char *b);

/** Whether @address is in one of the @n @domains (its part after '@' equal
 * to one of them, ASCII case-insensitively). No domains: every address is. */
bool akr_address_domain_allowed(const char *address, const char *const *domains, size_t n);
