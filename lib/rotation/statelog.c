#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/buf.h"
#include "lib/base/fdio.h"
#include "lib/base/error.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/rotation/statelog-internal.h"
#include "lib/rotation/statelog.h"

#define TMP_FILE AKR_STATELOG_FILE ".tmp"
#define LINE_MAX_LEN 2048

static int fsync_dir(const struct akr_statelog *log)
{
	return fsync(log->dir_fd) < 0 ? -errno : 0;
}

static void compact_if_needed(struct akr_statelog *log);

/* Appends one line durably. On failure the file is cut back to where it was,
 * so that a half-written line never precedes the next record. */
static int append_line(struct akr_statelog *log, const char *line, size_t len)
{
	int r;

	if (log->read_only)
		return -EROFS;
	if (log->broken)
		return -EIO;
	r = akr_write_all(log->fd, line, len);
	if (r >= 0 && fsync(log->fd) < 0)
		r = -errno;
	if (r < 0) {
		/* After a failed fsync the kernel may have dropped the pages:
		 * nothing about the file can be trusted any more. */
		if (ftruncate(log->fd, (off_t)log->size) < 0 || fsync(log->fd) < 0)
			log->broken = true;
		return r;
	}
	log->size += len;
	log->n_records++;
	return 0;
}

/* The one way a record gets into the log: checked and allocated in memory,
 * rendered, written and fsynced; only then does what the lookups answer
 * change. */
static int append(struct akr_statelog *log, const struct statelog_record *rec)
{
	_cleanup_buf_ struct akr_buf line = AKR_BUF_INIT(LINE_MAX_LEN, false);
	struct statelog_change c;
	int r;

	if (!log)
		return -EINVAL;
	if (log->read_only)
		return -EROFS;
	/* Rendering checks every field, before anything uses them. */
	r = akr__statelog_record_render(rec, &line);
	if (r < 0)
		return r == -E2BIG ? -EINVAL : r;
	r = akr__statelog_prepare(log, rec, &c);
	if (r < 0)
		return r;
	r = append_line(log, line.data, line.len);
	if (r < 0) {
		akr__statelog_discard(&c);
		return r;
	}
	akr__statelog_commit(log, &c);
	compact_if_needed(log);
	return 0;
}

/* Loading. */

static const char *refusal(const struct statelog_record *rec, int r)
{
	switch (r) {
	case -ENOENT:
		return "record for an intent that is not open";
	case -EEXIST:
		return rec->type == STATELOG_REC_INTENT ? "intent id already open"
							: "second CREATED for one intent";
	case -EINVAL:
		return rec->type == STATELOG_REC_DELIVERED ? "DELIVERED without CREATED"
			: rec->type == STATELOG_REC_ROLLED_BACK
				? "ROLLEDBACK of a delivered or rolled back intent"
				: "invalid record";
	default:
		return "invalid record";
	}
}

/* Loads line @lineno (NUL-terminated, without its newline; split in place).
 * Returns 0, -ENOMEM, or -EBADMSG with *@what saying why. */
static int load_line(struct akr_statelog *log, char *line, size_t lineno, const char **what)
{
	struct statelog_record rec;
	struct statelog_change c;
	int r;

	r = akr__statelog_record_parse(line, &rec, what);
	if (r < 0)
		return r;
	if ((lineno == 1) != (rec.type == STATELOG_REC_HEADER)) {
		*what = "the header must be the first line, and only it";
		return -EBADMSG;
	}
	r = akr__statelog_prepare(log, &rec, &c);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		*what = refusal(&rec, r);
		return -EBADMSG;
	}
	akr__statelog_commit(log, &c);
	return 0;
}

static int load(struct akr_statelog *log, struct akr_error *reterr)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *data = NULL;
	size_t len = 0, lineno = 0;
	struct stat st;
	char *p, *end;

	fd = openat(log->dir_fd, AKR_STATELOG_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	if ((uint64_t)st.st_size > AKR_STATELOG_FILE_MAX)
		return -EFBIG;
	data = malloc((size_t)st.st_size + 1);
	if (!data)
		return -ENOMEM;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';

	for (p = data; p < data + len; p = end + 1) {
		const char *what = NULL;
		int r;

		lineno++;
		end = memchr(p, '\n', (size_t)(data + len - p));
		if (!end) {
			/* A crash in the middle of an append: the record never
			 * counted (its caller did not see it succeed). */
			akr_log_warning("State log '%s': ignoring the torn last line %zu",
					log->path, lineno);
			break;
		}
		*end = '\0';
		if (memchr(p, '\0', (size_t)(end - p)) || p == end) {
			what = p == end ? "empty line" : "NUL byte";
			r = -EBADMSG;
		} else {
			r = load_line(log, p, lineno, &what);
		}
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "StateLogCorrupt", "%s:%zu: %s",
				      log->path, lineno, what ? what : "invalid record");
			return -EBADMSG;
		}
		log->n_records++;
		log->size += (uint64_t)(end - p) + 1;
	}
	akr__statelog_purge_closed(log);
	return 0;
}

/* Compaction. */

struct render_ctx {
	struct akr_buf *b;
	size_t n;
};

static int render_one(void *userdata, const struct statelog_record *rec)
{
	struct render_ctx *x = userdata;

	x->n++;
	return akr__statelog_record_render(rec, x->b);
}

int akr_statelog_compact(struct akr_statelog *log)
{
	_cleanup_buf_ struct akr_buf b = AKR_BUF_INIT(AKR_STATELOG_FILE_MAX, false);
	_cleanup_close_ int fd = -1;
	struct render_ctx x = { .b = &b };
	int r;

	if (!log)
		return -EINVAL;
	if (log->read_only)
		return -EROFS;
	r = akr__statelog_live_records(log, render_one, &x);
	if (r < 0)
		return r;

	fd = openat(log->dir_fd, TMP_FILE,
		    O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = akr_write_all(fd, b.data, b.len);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(log->dir_fd, TMP_FILE, log->dir_fd, AKR_STATELOG_FILE) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(log->dir_fd, TMP_FILE, 0);
		return r;
	}
	/* From here the new file is the log, whatever happens next. */
	if (log->fd >= 0)
		(void)close(log->fd);
	log->fd = fd;
	fd = -1;
	log->size = b.len;
	log->n_records = x.n;
	log->broken = false;
	akr__statelog_prune(log);
	akr_log_debug("State log '%s' compacted to %zu records", log->path, x.n);
	return fsync_dir(log);
}

static void compact_if_needed(struct akr_statelog *log)
{
	int r;

	if (log->n_records <= log->compact_threshold)
		return;
	r = akr_statelog_compact(log);
	if (r < 0)
		(void)akr_log_warning_errno(r, "Cannot compact the state log '%s', continuing: %m",
					    log->path);
}

/* Public API. */

struct akr_statelog *akr_statelog_free(struct akr_statelog *log)
{
	if (!log)
		return NULL;
	if (log->fd >= 0)
		(void)close(log->fd);
	if (log->dir_fd >= 0)
		(void)close(log->dir_fd); /* releases the lock */
	akr__statelog_state_done(log);
	free(log->path);
	free(log);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct akr_statelog *, akr_statelog_free);

int akr_statelog_open(const char *dir, bool read_only, struct akr_statelog **ret,
		      struct akr_error *reterr)
{
	_cleanup_(akr_statelog_freep) struct akr_statelog *log = NULL;
	int r;

	if (!dir || !dir[0] || !ret)
		return -EINVAL;
	log = calloc(1, sizeof(*log));
	if (!log)
		return -ENOMEM;
	log->fd = -1;
	log->read_only = read_only;
	log->next_intent_id = 1;
	log->compact_threshold = AKR_STATELOG_DEFAULT_COMPACT_RECORDS;
	if (asprintf(&log->path, "%s/%s", dir, AKR_STATELOG_FILE) < 0) {
		log->path = NULL;
		return -ENOMEM;
	}

	log->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (log->dir_fd < 0) {
		r = -errno;
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "StateDirectory", "cannot open '%s': %s",
			      dir, strerror(-r));
		return r;
	}
	/* The lock is on the directory, not the file: compaction replaces the
	 * file, and a lock on the old inode would no longer exclude anyone. */
	if (!read_only && flock(log->dir_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "StateLogBusy",
			      "'%s' is in use by another process", dir);
		return r;
	}

	r = load(log, reterr);
	if (r < 0) {
		if (r != -EBADMSG)
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "StateLog", "cannot read '%s': %s",
				      log->path, strerror(-r));
		return r;
	}
	if (!read_only) {
		/* Also creates a missing file and drops a torn last line. */
		r = akr_statelog_compact(log);
		if (r < 0) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "StateLog",
				      "cannot rewrite '%s': %s", log->path, strerror(-r));
			return r;
		}
	}
	*ret = TAKE_PTR(log);
	return 0;
}

void akr_statelog_set_compact_threshold(struct akr_statelog *log, size_t n)
{
	log->compact_threshold = n ? n : AKR_STATELOG_DEFAULT_COMPACT_RECORDS;
}

size_t akr_statelog_n_records(const struct akr_statelog *log)
{
	return log->n_records;
}

int akr_statelog_append_intent(struct akr_statelog *log, int64_t time_sec, const char *run_id,
			       const char *account_id, const char *user_name,
			       uint64_t *ret_intent_id)
{
	uint64_t id;
	int r;

	if (!log || !ret_intent_id)
		return -EINVAL;
	id = log->next_intent_id;
	if (!log->read_only)
		akr__statelog_purge_closed(log);
	r = append(log, &(struct statelog_record){ .type = STATELOG_REC_INTENT, .id = id,
						   .time_sec = time_sec,
						   .str = { run_id, account_id, user_name } });
	if (r < 0)
		return r;
	*ret_intent_id = id;
	return 0;
}

static int append_intent_record(struct akr_statelog *log, enum statelog_record_type type,
				uint64_t intent_id, const char *key_id)
{
	return append(log, &(struct statelog_record){ .type = type, .id = intent_id,
						      .str = { key_id } });
}

int akr_statelog_mark_created(struct akr_statelog *log, uint64_t intent_id, const char *key_id)
{
	return append_intent_record(log, STATELOG_REC_CREATED, intent_id, key_id);
}

int akr_statelog_mark_delivered(struct akr_statelog *log, uint64_t intent_id)
{
	return append_intent_record(log, STATELOG_REC_DELIVERED, intent_id, NULL);
}

int akr_statelog_mark_rolled_back(struct akr_statelog *log, uint64_t intent_id)
{
	return append_intent_record(log, STATELOG_REC_ROLLED_BACK, intent_id, NULL);
}

int akr_statelog_mark_done(struct akr_statelog *log, uint64_t intent_id)
{
	return append_intent_record(log, STATELOG_REC_DONE, intent_id, NULL);
}

static int append_key_record(struct akr_statelog *log, enum statelog_record_type type,
			     int64_t time_sec, const char *account_id, const char *user_name,
			     const char *key_id)
{
	return append(log, &(struct statelog_record){ .type = type, .time_sec = time_sec,
						      .str = { account_id, user_name, key_id } });
}

int akr_statelog_record_deactivated(struct akr_statelog *log, int64_t time_sec,
				    const char *account_id, const char *user_name,
				    const char *key_id)
{
	return append_key_record(log, STATELOG_REC_DEACTIVATED, time_sec, account_id, user_name,
				 key_id);
}

int akr_statelog_record_reminded(struct akr_statelog *log, int64_t time_sec,
				 const char *account_id, const char *user_name, const char *key_id)
{
	return append_key_record(log, STATELOG_REC_REMINDED, time_sec, account_id, user_name,
				 key_id);
}

int akr_statelog_record_deleted(struct akr_statelog *log, int64_t time_sec,
				const char *account_id, const char *user_name, const char *key_id)
{
	return append_key_record(log, STATELOG_REC_DELETED, time_sec, account_id, user_name,
				 key_id);
}

int akr_statelog_record_last_run(struct akr_statelog *log, int64_t time_sec, const char *run_id,
				 const char *result)
{
	return append(log, &(struct statelog_record){ .type = STATELOG_REC_LAST_RUN,
						      .time_sec = time_sec,
						      .str = { run_id, result } });
}

int64_t akr_statelog_deactivated_at(const struct akr_statelog *log, const char *account_id,
				    const char *key_id)
{
	const struct statelog_fact *f;

	if (!log || !account_id || !key_id)
		return 0;
	f = akr__statelog_fact_find(log, account_id, key_id);
	return f ? f->deactivated_sec : 0;
}

bool akr_statelog_reminded(const struct akr_statelog *log, const char *account_id,
			   const char *key_id)
{
	const struct statelog_fact *f;

	if (!log || !account_id || !key_id)
		return false;
	f = akr__statelog_fact_find(log, account_id, key_id);
	return f && f->reminded_sec != 0;
}

int akr_statelog_open_intents(struct akr_statelog *log, const struct akr_statelog_intent **ret,
			      size_t *ret_n)
{
	struct akr_statelog_intent *snap;

	if (!log || !ret || !ret_n)
		return -EINVAL;
	akr__statelog_purge_closed(log);
	/* A copy, so that closing intents while walking it moves nothing. */
	snap = reallocarray(log->snapshot, log->n_intents ? log->n_intents : 1, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	log->snapshot = snap;
	for (size_t i = 0; i < log->n_intents; i++)
		snap[i] = log->intents[i].pub;
	*ret = snap;
	*ret_n = log->n_intents;
	return 0;
}

bool akr_statelog_has_open_intents(const struct akr_statelog *log)
{
	return log && log->n_open > 0;
}

int akr_statelog_foreach_user(const struct akr_statelog *log, const char *account_id,
			      int (*cb)(void *userdata, const char *user_name), void *userdata)
{
	int r;

	if (!log)
		return 0;
	for (size_t i = 0; i < log->n_intents; i++) {
		const struct statelog_intent *in = &log->intents[i];

		if (in->closed || strcmp(in->pub.account_id, account_id) != 0)
			continue;
		r = cb(userdata, in->pub.user_name);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < log->n_facts; i++) {
		const struct statelog_fact *f = &log->facts[i];

		if ((f->deactivated_sec == 0 && f->reminded_sec == 0) ||
		    strcmp(f->account_id, account_id) != 0)
			continue;
		r = cb(userdata, f->user_name);
		if (r < 0)
			return r;
	}
	return 0;
}

int64_t akr_statelog_last_run_sec(const struct akr_statelog *log)
{
	return log ? log->last_run_sec : 0;
}

const char *akr_statelog_last_run_id(const struct akr_statelog *log)
{
	return log ? log->last_run_id : NULL;
}

const char *akr_statelog_last_run_result(const struct akr_statelog *log)
{
	return log ? log->last_result : NULL;
}
