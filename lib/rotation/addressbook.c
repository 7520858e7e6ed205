/* The address book (lib/rotation/addressbook.h): an append-only, fsynced log
 * of small records, replayed into a hash table at open and rewritten
 * compactly (temporary file, fsync, rename, fsync of the directory) at every
 * read-write open. The layout follows the state log's, so that one set of
 * crash rules covers the whole state directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/buf.h"
#include "lib/base/fdio.h"
#include "lib/base/error.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/base/strutil.h"
#include "lib/base/timeutil.h"
#include "lib/rotation/addressbook.h"

#define TMP_FILE AKR_ADDRESSBOOK_FILE ".tmp"
#define HEADER "ADDRESSBOOK\t1\n"
#define LINE_MAX_BYTES 1024
#define TIME_MAX_SEC INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

struct entry {
	char *account_id, *user_name; /* NULL = an empty slot */
	char *delivered, *pending;
	int64_t delivered_sec, pending_since_sec;
	struct akr_address_entry pub;
};

struct akr_addressbook {
	int fd, dir_fd; /* -1 when read-only */
	bool read_only, broken;
	char *path;
	struct entry *slots; /* open addressing, linear probing */
	size_t cap, n;
};

static const char *const verdict_names[_AKR_ADDRESS_VERDICT_MAX] = {
    [AKR_ADDRESS_DELIVER] = "deliver",
    [AKR_ADDRESS_NOTIFY_AND_HOLD] = "notify-and-hold",
    [AKR_ADDRESS_NOTIFY_AND_DELIVER] = "notify-and-deliver",
    [AKR_ADDRESS_HOLD] = "hold",
};

const char *akr_address_verdict_to_string(enum akr_address_verdict v)
{
	return (unsigned)v < _AKR_ADDRESS_VERDICT_MAX ? verdict_names[v] : NULL;
}

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 'a' - 'A') : c;
}

static bool equal_nocase(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = fold((unsigned char)*a), y = fold((unsigned char)*b);

		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

bool akr_address_equal(const char *a, const char *b)
{
	/* Mailboxes are case-insensitive in practice; a case-only change of
	 * the tag is not a new recipient. */
	return a && b && equal_nocase(a, b);
}

bool akr_address_domain_allowed(const char *address, const char *const *domains, size_t n)
{
	const char *at;

	if (n == 0)
		return true;
	if (!address || !(at = strrchr(address, '@')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (domains[i] && equal_nocase(at + 1, domains[i]))
			return true;
	return false;
}

enum akr_address_verdict akr_address_decide(const struct akr_address_entry *e, const char *address,
					    int hold_days, int64_t now_sec,
					    int64_t *ret_deliver_on_sec)
{
	int64_t from;

	if (hold_days < 0)
		hold_days = 0;
	if (!e || !e->delivered || akr_address_equal(e->delivered, address)) {
		if (ret_deliver_on_sec)
			*ret_deliver_on_sec = now_sec;
		return AKR_ADDRESS_DELIVER;
	}
	if (e->pending && akr_address_equal(e->pending, address)) {
		/* From the start of the UTC day hold_days after the notice, so
		 * that a daily sweep a few seconds earlier than the one that
		 * sent the notice still counts the day. */
		from = (e->pending_since_sec / AKR_SEC_PER_DAY + hold_days) * AKR_SEC_PER_DAY;
		if (ret_deliver_on_sec)
			*ret_deliver_on_sec = from;
		return now_sec >= from ? AKR_ADDRESS_DELIVER : AKR_ADDRESS_HOLD;
	}
	/* A change nobody was told about (or another one than the pending). */
	from = (now_sec / AKR_SEC_PER_DAY + hold_days) * AKR_SEC_PER_DAY;
	if (ret_deliver_on_sec)
		*ret_deliver_on_sec = hold_days == 0 ? now_sec : from;
	return hold_days == 0 ? AKR_ADDRESS_NOTIFY_AND_DELIVER : AKR_ADDRESS_NOTIFY_AND_HOLD;
}

/* ---- the table ---- */

static uint64_t hash(const char *account_id, const char *user_name)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (const char *p = account_id; *p; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
	h = (h ^ '\t') * UINT64_C(1099511628211);
	for (const char *p = user_name; *p; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
	return h;
}

static struct entry *slot_of(const struct akr_addressbook *ab, const char *account_id,
			     const char *user_name)
{
	size_t i;

	if (ab->cap == 0)
		return NULL;
	/* IAM user names are unique case-insensitively, but ListUsers gives
	 * the name as created: compare exactly. */
	for (i = hash(account_id, user_name) & (ab->cap - 1);; i = (i + 1) & (ab->cap - 1)) {
		struct entry *e = &ab->slots[i];

		if (!e->account_id || (strcmp(e->account_id, account_id) == 0 &&
				       strcmp(e->user_name, user_name) == 0))
			return e;
	}
}

static void entry_clear(struct entry *e)
{
	free(e->account_id);
	free(e->user_name);
	free(e->delivered);
	free(e->pending);
	*e = (struct entry){0};
}

static void entry_publish(struct entry *e)
{
	e->pub = (struct akr_address_entry){
	    .delivered = e->delivered,
	    .delivered_sec = e->delivered_sec,
	    .pending = e->pending,
	    .pending_since_sec = e->pending_since_sec,
	};
}

static int grow(struct akr_addressbook *ab)
{
	struct entry *old = ab->slots;
	size_t old_cap = ab->cap, cap = ab->cap ? ab->cap * 2 : 64;

	if (cap <= old_cap)
		return -ENOMEM;
	ab->slots = calloc(cap, sizeof(*ab->slots));
	if (!ab->slots) {
		ab->slots = old;
		return -ENOMEM;
	}
	ab->cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		struct entry *e;

		if (!old[i].account_id)
			continue;
		e = slot_of(ab, old[i].account_id, old[i].user_name);
		*e = old[i];
		entry_publish(e);
	}
	free(old);
	return 0;
}

/* The user's entry, added empty when missing. The table grows only when an
 * entry is added, so a borrowed entry of another user stays valid across a
 * record of an existing one. */
static int entry_get(struct akr_addressbook *ab, const char *account_id, const char *user_name,
		     struct entry **ret)
{
	struct entry *e = slot_of(ab, account_id, user_name);
	int r;

	if (e && e->account_id) {
		*ret = e;
		return 0;
	}
	if (ab->n + 1 > ab->cap / 2) {
		r = grow(ab);
		if (r < 0)
			return r;
		e = slot_of(ab, account_id, user_name);
	}
	e->account_id = strdup(account_id);
	e->user_name = strdup(user_name);
	if (!e->account_id || !e->user_name) {
		entry_clear(e);
		return -ENOMEM;
	}
	ab->n++;
	*ret = e;
	return 0;
}

static int set_string(char **target, const char *v)
{
	char *copy = NULL;

	if (v) {
		copy = strdup(v);
		if (!copy)
			return -ENOMEM;
	}
	free(*target);
	*target = copy;
	return 0;
}

enum record_kind { REC_DELIVERED, REC_NOTIFIED, REC_CLEARED };

static int apply(struct akr_addressbook *ab, enum record_kind kind, int64_t time_sec,
		 const char *account_id, const char *user_name, const char *address)
{
	struct entry *e;
	int r = entry_get(ab, account_id, user_name, &e);

	if (r < 0)
		return r;
	switch (kind) {
	case REC_DELIVERED:
		r = set_string(&e->delivered, address);
		if (r >= 0)
			r = set_string(&e->pending, NULL);
		e->delivered_sec = time_sec;
		e->pending_since_sec = 0;
		break;
	case REC_NOTIFIED:
		r = set_string(&e->pending, address);
		e->pending_since_sec = time_sec;
		break;
	case REC_CLEARED:
		r = set_string(&e->pending, NULL);
		e->pending_since_sec = 0;
		break;
	}
	entry_publish(e);
	return r;
}

/* ---- fields ---- */

static bool valid_user_name(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n == 0 || n > AKR_ADDRESSBOOK_USER_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '\\')
			return false;
	return true;
}

static bool valid_address(const char *v)
{
	return v && !akr_has_control_chars(v) && akr_is_valid_email(v);
}

static bool valid_fields(int64_t time_sec, const char *account_id, const char *user_name,
			 const char *address, bool need_address)
{
	return time_sec > 0 && time_sec <= TIME_MAX_SEC && akr_is_account_id(account_id) &&
	       valid_user_name(user_name) && (need_address ? valid_address(address) : !address);
}

static int parse_time(const char *s, int64_t *ret)
{
	int64_t v = 0;

	if (!*s || strlen(s) > 12)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
	}
	*ret = v;
	return 0;
}

/* ---- the file ---- */

static int format_record(struct akr_buf *b, enum record_kind kind, int64_t time_sec,
			 const char *account_id, const char *user_name, const char *address)
{
	static const char *const names[] = {
	    [REC_DELIVERED] = "DELIVERED",
	    [REC_NOTIFIED] = "NOTIFIED",
	    [REC_CLEARED] = "CLEARED",
	};

	return akr_buf_appendf(b, "%s\t%lld\t%s\t%s%s%s\n", names[kind], (long long)time_sec,
			       account_id, user_name, address ? "\t" : "", address ? address : "");
}

static int record(struct akr_addressbook *ab, enum record_kind kind, int64_t time_sec,
		  const char *account_id, const char *user_name, const char *address)
{
	_cleanup_buf_ struct akr_buf line = { 0 };
	struct stat st;
	int r;

	akr_buf_init(&line, LINE_MAX_BYTES, false);
	if (!ab || !valid_fields(time_sec, account_id, user_name, address, kind != REC_CLEARED))
		return -EINVAL;
	if (ab->read_only)
		return -EROFS;
	if (ab->broken)
		return -EIO;
	r = format_record(&line, kind, time_sec, account_id, user_name, address);
	if (r < 0)
		return r;
	if (fstat(ab->fd, &st) < 0)
		return -errno;
	r = akr_write_all(ab->fd, line.data, line.len);
	if (r >= 0 && fsync(ab->fd) < 0)
		r = -errno;
	if (r < 0) {
		/* Cut the file back, so that a half-written line never precedes
		 * the next record; after a failed fsync the pages may be gone,
		 * so the book refuses to go on when it cannot. */
		if (ftruncate(ab->fd, st.st_size) < 0 || fsync(ab->fd) < 0)
			ab->broken = true;
		return r;
	}
	return apply(ab, kind, time_sec, account_id, user_name, address);
}

int akr_addressbook_record_delivered(struct akr_addressbook *ab, int64_t time_sec,
				     const char *account_id, const char *user_name,
				     const char *address)
{
	return record(ab, REC_DELIVERED, time_sec, account_id, user_name, address);
}

int akr_addressbook_record_notified(struct akr_addressbook *ab, int64_t time_sec,
				    const char *account_id, const char *user_name,
				    const char *address)
{
	return record(ab, REC_NOTIFIED, time_sec, account_id, user_name, address);
}

int akr_addressbook_record_cleared(struct akr_addressbook *ab, int64_t time_sec,
				   const char *account_id, const char *user_name)
{
	return record(ab, REC_CLEARED, time_sec, account_id, user_name, NULL);
}

const struct akr_address_entry *akr_addressbook_get(const struct akr_addressbook *ab,
						    const char *account_id, const char *user_name)
{
	const struct entry *e;

	if (!ab || !account_id || !user_name)
		return NULL;
	e = slot_of(ab, account_id, user_name);
	return e && e->account_id ? &e->pub : NULL;
}

size_t akr_addressbook_size(const struct akr_addressbook *ab)
{
	return ab ? ab->n : 0;
}

struct akr_addressbook *akr_addressbook_free(struct akr_addressbook *ab)
{
	if (!ab)
		return NULL;
	for (size_t i = 0; i < ab->cap; i++)
		entry_clear(&ab->slots[i]);
	free(ab->slots);
	if (ab->fd >= 0)
		(void)close(ab->fd);
	if (ab->dir_fd >= 0)
		(void)close(ab->dir_fd);
	free(ab->path);
	free(ab);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct akr_addressbook *, akr_addressbook_free)

static int damaged(const struct akr_addressbook *ab, struct akr_error *reterr, size_t line,
		   const char *what)
{
	akr_error_set(
	    reterr, AKR_ERROR_LOCAL, 0, "AddressBookDamaged",
	    "%s:%zu: %s; the daemon will not trust the users' email tags without it: "
	    "repair the line, or move the file aside after checking every user's email tag",
	    ab->path, line, what);
	return -EBADMSG;
}

/* Splits @line at TABs into at most @max fields. Returns their number. */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;

	for (char *p = line; n < max;) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static int parse_line(struct akr_addressbook *ab, char *line, size_t lineno,
		      struct akr_error *reterr)
{
	char *f[6];
	size_t n = split(line, f, ELEMENTSOF(f));
	enum record_kind kind;
	int64_t t;
	int r;

	if (strcmp(f[0], "DELIVERED") == 0)
		kind = REC_DELIVERED;
	else if (strcmp(f[0], "NOTIFIED") == 0)
		kind = REC_NOTIFIED;
	else if (strcmp(f[0], "CLEARED") == 0)
		kind = REC_CLEARED;
	else
		return damaged(ab, reterr, lineno, "unknown record type");
	if (n != (kind == REC_CLEARED ? 4u : 5u))
		return damaged(ab, reterr, lineno, "wrong number of fields");
	if (parse_time(f[1], &t) < 0 ||
	    !valid_fields(t, f[2], f[3], kind == REC_CLEARED ? NULL : f[4], kind != REC_CLEARED))
		return damaged(ab, reterr, lineno,
			       "invalid time, account id, user name or address");
	r = apply(ab, kind, t, f[2], f[3], kind == REC_CLEARED ? NULL : f[4]);
	return r;
}

static int read_all(int fd, const char *path, struct akr_buf *b, struct akr_error *reterr)
{
	int r = akr_read_all(fd, b);

	if (r == -E2BIG || (r >= 0 && b->len > AKR_ADDRESSBOOK_FILE_MAX)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "AddressBookTooLarge",
			      "%s: larger than %u bytes", path, AKR_ADDRESSBOOK_FILE_MAX);
		return -EFBIG;
	}
	if (r < 0 && r != -ENOMEM)
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "AddressBookUnreadable", "%s: %s", path,
			      strerror(-r));
	return r;
}

static int load(struct akr_addressbook *ab, int fd, struct akr_error *reterr)
{
	_cleanup_buf_ struct akr_buf b = { 0 };
	char *p, *end;
	size_t lineno = 0;
	int r;

	akr_buf_init(&b, AKR_ADDRESSBOOK_FILE_MAX + 1, false);
	r = read_all(fd, ab->path, &b, reterr);
	if (r < 0 || b.len == 0)
		return r;
	r = akr_buf_append(&b, "", 1); /* NUL-terminated; room was left for it */
	if (r < 0)
		return r;
	p = (char *)b.data;
	end = p + b.len - 1;
	if (memchr(p, '\0', b.len - 1))
		return damaged(ab, reterr, 1, "a NUL byte in the file");
	while (p < end) {
		char *nl = strchr(p, '\n');

		lineno++;
		if (!nl) {
			/* A torn last line: a crash in the middle of an append,
			 * before its fsync returned, so nobody relied on it. */
			akr_log_warning(
			    "%s:%zu: dropping an incomplete last line (an interrupted write)",
			    ab->path, lineno);
			break;
		}
		*nl = '\0';
		if (nl - p >= LINE_MAX_BYTES)
			return damaged(ab, reterr, lineno, "line too long");
		if (lineno == 1) {
			if (strcmp(p, "ADDRESSBOOK\t1") != 0)
				return damaged(ab, reterr, lineno,
					       "not an address book of version 1 (first line)");
		} else {
			r = parse_line(ab, p, lineno, reterr);
			if (r < 0)
				return r;
		}
		p = nl + 1;
	}
	return 0;
}

static int write_entries(const struct akr_addressbook *ab, int fd)
{
	_cleanup_buf_ struct akr_buf b = { 0 };
	int r;

	akr_buf_init(&b, AKR_ADDRESSBOOK_FILE_MAX, false);
	r = akr_buf_append_str(&b, HEADER);
	for (size_t i = 0; r >= 0 && i < ab->cap; i++) {
		const struct entry *e = &ab->slots[i];

		if (!e->account_id)
			continue;
		if (e->delivered)
			r = format_record(&b, REC_DELIVERED, e->delivered_sec, e->account_id,
					  e->user_name, e->delivered);
		if (r >= 0 && e->pending)
			r = format_record(&b, REC_NOTIFIED, e->pending_since_sec, e->account_id,
					  e->user_name, e->pending);
	}
	if (r >= 0)
		r = akr_write_all(fd, b.data, b.len);
	return r;
}

/* Rewrites the file with one line per fact: temporary file, fsync, rename,
 * fsync of the directory. The old file stays whole on failure. */
static int compact(struct akr_addressbook *ab)
{
	int fd, r;

	(void)unlinkat(ab->dir_fd, TMP_FILE, 0);
	fd = openat(ab->dir_fd, TMP_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (fd < 0)
		return -errno;
	r = write_entries(ab, fd);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	(void)close(fd);
	if (r >= 0 && renameat(ab->dir_fd, TMP_FILE, ab->dir_fd, AKR_ADDRESSBOOK_FILE) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(ab->dir_fd, TMP_FILE, 0);
		return r;
	}
	return fsync(ab->dir_fd) < 0 ? -errno : 0;
}

int akr_addressbook_open(const char *dir, bool read_only, struct akr_addressbook **ret,
			 struct akr_error *reterr)
{
	_cleanup_(akr_addressbook_freep) struct akr_addressbook *ab = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!dir || !ret)
		return -EINVAL;
	ab = calloc(1, sizeof(*ab));
	if (!ab)
		return -ENOMEM;
	ab->fd = ab->dir_fd = -1;
	ab->read_only = read_only;
	if (asprintf(&ab->path, "%s/%s", dir, AKR_ADDRESSBOOK_FILE) < 0) {
		ab->path = NULL;
		return -ENOMEM;
	}
	ab->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ab->dir_fd < 0) {
		r = -errno;
		if (read_only && r == -ENOENT)
			goto done;
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "AddressBookUnreadable", "%s: %s", dir,
			      strerror(-r));
		return r;
	}
	fd = openat(ab->dir_fd, AKR_ADDRESSBOOK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno != ENOENT) {
		r = -errno;
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "AddressBookUnreadable", "%s: %s",
			      ab->path, strerror(-r));
		return r;
	}
	if (fd >= 0) {
		r = load(ab, fd, reterr);
		if (r < 0)
			return r;
	}
	if (read_only)
		goto done;
	r = compact(ab);
	if (r >= 0) {
		ab->fd = openat(ab->dir_fd, AKR_ADDRESSBOOK_FILE,
				O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
		if (ab->fd < 0)
			r = -errno;
	}
	if (r < 0) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "AddressBookUnwritable", "%s: %s",
			      ab->path, strerror(-r));
		return r;
	}
done:
	*ret = TAKE_PTR(ab);
	return 0;
}
