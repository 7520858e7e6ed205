#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/macro.h"
#include "lib/statelog.h"
#include "lib/strutil.h"

#define TMP_FILE AKR_STATELOG_FILE ".tmp"
#define FORMAT_VERSION "1"
#define LINE_MAX_LEN 2048
#define MAX_FIELDS 8

/* What the log remembers about one key. */
struct fact {
	char *account_id;
	char *user_name;
	char *key_id;
	int64_t deactivated_sec; /* 0 = not known to be deactivated by us */
	int64_t reminded_sec;    /* 0 = no reminder sent */
};

/* An intent; a closed one stays in memory (flagged) until the next
 * akr_statelog_open_intents() or append_intent, so that the list handed out
 * stays valid while the caller closes intents from it. */
struct intent {
	struct akr_statelog_intent pub; /* strings owned */
	bool closed;
};

struct akr_statelog {
	char *path; /* for messages */
	int dir_fd; /* also holds the lock */
	int fd;     /* the file, O_APPEND; -1 when read-only */
	bool read_only;
	bool broken; /* a failed append could not be undone */
	uint64_t next_intent_id;
	size_t n_records;
	uint64_t size;
	size_t compact_threshold;
	int64_t newest_sec; /* the newest time in the log: the reference for pruning */

	struct intent *intents;
	size_t n_intents, cap_intents, n_open;
	struct akr_statelog_intent *snapshot; /* shallow copies for open_intents() */
	struct fact *facts;
	size_t n_facts, cap_facts;

	int64_t last_run_sec;
	char *last_run_id;
	char *last_result;
};

static bool field_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (c < 0x20 || c > 0x7e || c == '\\' || n >= AKR_STATELOG_FIELD_MAX)
			return false;
	}
	return n > 0;
}

static void intent_clear(struct akr_statelog_intent *in)
{
	free((char *)in->run_id);
	free((char *)in->account_id);
	free((char *)in->user_name);
	free((char *)in->key_id);
	*in = (struct akr_statelog_intent){ 0 };
}

static void fact_clear(struct fact *f)
{
	free(f->account_id);
	free(f->user_name);
	free(f->key_id);
}

static struct akr_statelog_intent *intent_find(const struct akr_statelog *log, uint64_t id)
{
	for (size_t i = 0; i < log->n_intents; i++)
		if (!log->intents[i].closed && log->intents[i].pub.id == id)
			return &log->intents[i].pub;
	return NULL;
}

static void purge_closed(struct akr_statelog *log)
{
	size_t j = 0;

	for (size_t i = 0; i < log->n_intents; i++) {
		if (log->intents[i].closed)
			intent_clear(&log->intents[i].pub);
		else
			log->intents[j++] = log->intents[i];
	}
	log->n_intents = j;
}

static struct fact *fact_find(const struct akr_statelog *log, const char *account_id,
			      const char *key_id)
{
	/* Linear: a few thousand keys per organization, one lookup per key and
	 * sweep. Key ids are unique across AWS; the account is checked too. */
	for (size_t i = 0; i < log->n_facts; i++)
		if (strcmp(log->facts[i].key_id, key_id) == 0 &&
		    strcmp(log->facts[i].account_id, account_id) == 0)
			return &log->facts[i];
	return NULL;
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *q;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	if (c <= n || __builtin_mul_overflow(c, size, &(size_t){ 0 }))
		return -ENOMEM;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* Finds the key's fact or adds an empty one (which compaction drops). */
static int fact_get(struct akr_statelog *log, const char *account_id, const char *user_name,
		    const char *key_id, struct fact **ret)
{
	struct fact *f = fact_find(log, account_id, key_id);
	struct fact n = { 0 };

	if (f) {
		*ret = f;
		return 0;
	}
	if (grow((void **)&log->facts, &log->cap_facts, log->n_facts, sizeof(*log->facts)) < 0)
		return -ENOMEM;
	n.account_id = strdup(account_id);
	n.user_name = strdup(user_name);
	n.key_id = strdup(key_id);
	if (!n.account_id || !n.user_name || !n.key_id) {
		fact_clear(&n);
		return -ENOMEM;
	}
	log->facts[log->n_facts] = n;
	*ret = &log->facts[log->n_facts++];
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

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
	r = write_all(log->fd, line, len);
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

static int persist(struct akr_statelog *log, const char *fmt, ...) _printf_(2, 3);
static int persist(struct akr_statelog *log, const char *fmt, ...)
{
	char line[LINE_MAX_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	return append_line(log, line, (size_t)n);
}

static void saw_time(struct akr_statelog *log, int64_t t)
{
	if (t > log->newest_sec)
		log->newest_sec = t;
}

/* Each record has one function used both to load it (@write false) and to
 * append it (@write true). Whatever can fail (validation, allocation) happens
 * before the line is written; what the lookups see changes only after. */

static int rec_intent(struct akr_statelog *log, bool write, uint64_t id, int64_t time_sec,
		      const char *run_id, const char *account_id, const char *user_name)
{
	struct akr_statelog_intent in = { .id = id, .time_sec = time_sec };
	int r;

	if (time_sec < 0 || id == 0 || !field_ok(run_id) || !field_ok(account_id) ||
	    !field_ok(user_name))
		return -EINVAL;
	if (intent_find(log, id))
		return -EEXIST;
	if (write)
		purge_closed(log);
	if (grow((void **)&log->intents, &log->cap_intents, log->n_intents,
		 sizeof(*log->intents)) < 0)
		return -ENOMEM;
	in.run_id = strdup(run_id);
	in.account_id = strdup(account_id);
	in.user_name = strdup(user_name);
	if (!in.run_id || !in.account_id || !in.user_name) {
		intent_clear(&in);
		return -ENOMEM;
	}
	if (write) {
		r = persist(log, "INTENT\t%" PRIu64 "\t%" PRId64 "\t%s\t%s\t%s\n", id, time_sec,
			    run_id, account_id, user_name);
		if (r < 0) {
			intent_clear(&in);
			return r;
		}
	}
	log->intents[log->n_intents++] = (struct intent){ .pub = in };
	log->n_open++;
	if (id >= log->next_intent_id)
		log->next_intent_id = id + 1;
	saw_time(log, time_sec);
	return 0;
}

static int rec_created(struct akr_statelog *log, bool write, uint64_t id, const char *key_id)
{
	struct akr_statelog_intent *in = intent_find(log, id);
	char *k;
	int r;

	if (!field_ok(key_id))
		return -EINVAL;
	if (!in)
		return -ENOENT;
	if (in->key_id)
		return -EEXIST;
	k = strdup(key_id);
	if (!k)
		return -ENOMEM;
	if (write) {
		r = persist(log, "CREATED\t%" PRIu64 "\t%s\n", id, key_id);
		if (r < 0) {
			free(k);
			return r;
		}
	}
	in->key_id = k;
	return 0;
}

static int rec_delivered(struct akr_statelog *log, bool write, uint64_t id)
{
	struct akr_statelog_intent *in = intent_find(log, id);
	int r;

	if (!in)
		return -ENOENT;
	/* The safety protocol: only a key that exists can be delivered. */
	if (!in->key_id || in->delivered || in->rolled_back)
		return -EINVAL;
	if (write) {
		r = persist(log, "DELIVERED\t%" PRIu64 "\n", id);
		if (r < 0)
			return r;
	}
	in->delivered = true;
	return 0;
}

static int rec_rolled_back(struct akr_statelog *log, bool write, uint64_t id)
{
	struct akr_statelog_intent *in = intent_find(log, id);
	int r;

	if (!in)
		return -ENOENT;
	/* A delivered key belongs to the user: it is never rolled back. */
	if (in->delivered || in->rolled_back)
		return -EINVAL;
	if (write) {
		r = persist(log, "ROLLEDBACK\t%" PRIu64 "\n", id);
		if (r < 0)
			return r;
	}
	in->rolled_back = true;
	return 0;
}

static int rec_done(struct akr_statelog *log, bool write, uint64_t id)
{
	struct akr_statelog_intent *in = intent_find(log, id);
	int r;

	if (!in)
		return -ENOENT;
	if (write) {
		r = persist(log, "DONE\t%" PRIu64 "\n", id);
		if (r < 0)
			return r;
	}
	((struct intent *)in)->closed = true;
	log->n_open--;
	return 0;
}

enum key_event { KEY_DEACTIVATED, KEY_REMINDED, KEY_DELETED };
static const char *const key_event_names[] = { "DEACTIVATED", "REMINDED", "DELETED" };

static int rec_key(struct akr_statelog *log, bool write, enum key_event ev, int64_t time_sec,
		   const char *account_id, const char *user_name, const char *key_id)
{
	struct fact *f = NULL;
	int r;

	if (time_sec < 0 || !field_ok(account_id) || !field_ok(user_name) || !field_ok(key_id))
		return -EINVAL;
	if (ev != KEY_DELETED) {
		r = fact_get(log, account_id, user_name, key_id, &f);
		if (r < 0)
			return r;
	}
	if (write) {
		r = persist(log, "%s\t%" PRId64 "\t%s\t%s\t%s\n", key_event_names[ev], time_sec,
			    account_id, user_name, key_id);
		if (r < 0)
			return r;
	}
	saw_time(log, time_sec);
	if (ev == KEY_DEACTIVATED) {
		f->deactivated_sec = time_sec;
	} else if (ev == KEY_REMINDED) {
		f->reminded_sec = time_sec;
	} else {
		f = fact_find(log, account_id, key_id);
		if (f) {
			size_t i = (size_t)(f - log->facts);

			fact_clear(f);
			memmove(f, f + 1, (log->n_facts - i - 1) * sizeof(*f));
			log->n_facts--;
		}
	}
	return 0;
}

static int rec_last_run(struct akr_statelog *log, bool write, int64_t time_sec,
			const char *run_id, const char *result)
{
	_cleanup_free_ char *id = NULL, *res = NULL;
	int r;

	if (time_sec < 0 || !field_ok(run_id) || !field_ok(result))
		return -EINVAL;
	id = strdup(run_id);
	res = strdup(result);
	if (!id || !res)
		return -ENOMEM;
	if (write) {
		r = persist(log, "LASTRUN\t%" PRId64 "\t%s\t%s\n", time_sec, run_id, result);
		if (r < 0)
			return r;
	}
	free(log->last_run_id);
	free(log->last_result);
	log->last_run_id = TAKE_PTR(id);
	log->last_result = TAKE_PTR(res);
	log->last_run_sec = time_sec;
	saw_time(log, time_sec);
	return 0;
}

/* Loading. */

static int parse_id(const char *s, uint64_t *ret)
{
	int64_t v;
	int r = akr_parse_int64(s, 1, INT64_MAX, &v);

	if (r < 0)
		return r;
	*ret = (uint64_t)v;
	return 0;
}

static int parse_time(const char *s, int64_t *ret)
{
	return akr_parse_int64(s, 0, INT64_MAX, ret);
}

static int load_line(struct akr_statelog *log, char *line, size_t lineno, const char **what)
{
	char *f[MAX_FIELDS + 1];
	size_t n = 0;
	uint64_t id;
	int64_t t;
	int r;

	for (char *p = line;;) {
		char *tab = strchr(p, '\t');

		if (n > MAX_FIELDS) {
			*what = "too many fields";
			return -EBADMSG;
		}
		f[n++] = p;
		if (!tab)
			break;
		*tab = '\0';
		p = tab + 1;
	}

#define EXPECT(count)                                                                              \
	do {                                                                                       \
		if (n != (count)) {                                                                \
			*what = "wrong number of fields";                                          \
			return -EBADMSG;                                                           \
		}                                                                                  \
	} while (0)

	if (lineno == 1 || strcmp(f[0], "STATELOG") == 0) {
		EXPECT(3);
		if (lineno != 1 || strcmp(f[0], "STATELOG") != 0) {
			*what = "the header must be the first line, and only it";
			return -EBADMSG;
		}
		if (strcmp(f[1], FORMAT_VERSION) != 0) {
			*what = "unknown format version";
			return -EBADMSG;
		}
		if (parse_id(f[2], &id) < 0) {
			*what = "bad next intent id";
			return -EBADMSG;
		}
		if (id > log->next_intent_id)
			log->next_intent_id = id;
		return 0;
	}

	*what = "invalid record";
	if (strcmp(f[0], "INTENT") == 0) {
		EXPECT(6);
		if (parse_id(f[1], &id) < 0 || parse_time(f[2], &t) < 0)
			return -EBADMSG;
		r = rec_intent(log, false, id, t, f[3], f[4], f[5]);
		if (r == -EEXIST)
			*what = "intent id already open";
	} else if (strcmp(f[0], "CREATED") == 0) {
		EXPECT(3);
		if (parse_id(f[1], &id) < 0)
			return -EBADMSG;
		r = rec_created(log, false, id, f[2]);
		if (r == -EEXIST)
			*what = "second CREATED for one intent";
	} else if (strcmp(f[0], "DELIVERED") == 0) {
		EXPECT(2);
		if (parse_id(f[1], &id) < 0)
			return -EBADMSG;
		r = rec_delivered(log, false, id);
		if (r == -EINVAL)
			*what = "DELIVERED without CREATED";
	} else if (strcmp(f[0], "ROLLEDBACK") == 0) {
		EXPECT(2);
		if (parse_id(f[1], &id) < 0)
			return -EBADMSG;
		r = rec_rolled_back(log, false, id);
		if (r == -EINVAL)
			*what = "ROLLEDBACK of a delivered or rolled back intent";
	} else if (strcmp(f[0], "DONE") == 0) {
		EXPECT(2);
		if (parse_id(f[1], &id) < 0)
			return -EBADMSG;
		r = rec_done(log, false, id);
	} else if (strcmp(f[0], "DEACTIVATED") == 0 || strcmp(f[0], "REMINDED") == 0 ||
		   strcmp(f[0], "DELETED") == 0) {
		enum key_event ev = strcmp(f[0], "DEACTIVATED") == 0 ? KEY_DEACTIVATED
				    : strcmp(f[0], "REMINDED") == 0  ? KEY_REMINDED
								     : KEY_DELETED;

		EXPECT(5);
		if (parse_time(f[1], &t) < 0)
			return -EBADMSG;
		r = rec_key(log, false, ev, t, f[2], f[3], f[4]);
	} else if (strcmp(f[0], "LASTRUN") == 0) {
		EXPECT(4);
		if (parse_time(f[1], &t) < 0)
			return -EBADMSG;
		r = rec_last_run(log, false, t, f[2], f[3]);
	} else {
		*what = "unknown record type";
		return -EBADMSG;
	}
#undef EXPECT
	if (r == -ENOENT)
		*what = "record for an intent that is not open";
	if (r == -ENOMEM)
		return r;
	return r < 0 ? -EBADMSG : 0;
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
	purge_closed(log);
	return 0;
}

/* Compaction. */

static bool fact_time_live(const struct akr_statelog *log, int64_t t)
{
	return t != 0 && t >= log->newest_sec - (int64_t)AKR_STATELOG_KEEP_DAYS * 86400;
}

static int render(const struct akr_statelog *log, struct akr_buf *b, size_t *ret_records)
{
	size_t n = 1;
	int r;

	r = akr_buf_appendf(b, "STATELOG\t" FORMAT_VERSION "\t%" PRIu64 "\n", log->next_intent_id);
	if (r >= 0 && log->last_run_id) {
		r = akr_buf_appendf(b, "LASTRUN\t%" PRId64 "\t%s\t%s\n", log->last_run_sec,
				    log->last_run_id, log->last_result);
		n++;
	}
	for (size_t i = 0; r >= 0 && i < log->n_facts; i++) {
		const struct fact *f = &log->facts[i];

		if (fact_time_live(log, f->deactivated_sec)) {
			r = akr_buf_appendf(b, "DEACTIVATED\t%" PRId64 "\t%s\t%s\t%s\n",
					    f->deactivated_sec, f->account_id, f->user_name,
					    f->key_id);
			n++;
		}
		if (r >= 0 && fact_time_live(log, f->reminded_sec)) {
			r = akr_buf_appendf(b, "REMINDED\t%" PRId64 "\t%s\t%s\t%s\n",
					    f->reminded_sec, f->account_id, f->user_name,
					    f->key_id);
			n++;
		}
	}
	for (size_t i = 0; r >= 0 && i < log->n_intents; i++) {
		const struct akr_statelog_intent *in = &log->intents[i].pub;

		if (log->intents[i].closed)
			continue;
		r = akr_buf_appendf(b, "INTENT\t%" PRIu64 "\t%" PRId64 "\t%s\t%s\t%s\n", in->id,
				    in->time_sec, in->run_id, in->account_id, in->user_name);
		n++;
		if (r >= 0 && in->key_id) {
			r = akr_buf_appendf(b, "CREATED\t%" PRIu64 "\t%s\n", in->id, in->key_id);
			n++;
		}
		if (r >= 0 && in->delivered) {
			r = akr_buf_appendf(b, "DELIVERED\t%" PRIu64 "\n", in->id);
			n++;
		}
		if (r >= 0 && in->rolled_back) {
			r = akr_buf_appendf(b, "ROLLEDBACK\t%" PRIu64 "\n", in->id);
			n++;
		}
	}
	if (r < 0)
		return r;
	*ret_records = n;
	return 0;
}

static void prune(struct akr_statelog *log)
{
	size_t j = 0;

	for (size_t i = 0; i < log->n_facts; i++) {
		struct fact *f = &log->facts[i];

		if (!fact_time_live(log, f->deactivated_sec))
			f->deactivated_sec = 0;
		if (!fact_time_live(log, f->reminded_sec))
			f->reminded_sec = 0;
		if (f->deactivated_sec == 0 && f->reminded_sec == 0)
			fact_clear(f);
		else
			log->facts[j++] = *f;
	}
	log->n_facts = j;
}

int akr_statelog_compact(struct akr_statelog *log)
{
	_cleanup_close_ int fd = -1;
	size_t n_records;
	int r;

	if (!log)
		return -EINVAL;
	if (log->read_only)
		return -EROFS;
	_cleanup_buf_ struct akr_buf b;
	akr_buf_init(&b, AKR_STATELOG_FILE_MAX, false);
	r = render(log, &b, &n_records);
	if (r < 0)
		return r;

	fd = openat(log->dir_fd, TMP_FILE,
		    O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, b.data, b.len);
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
	log->n_records = n_records;
	log->broken = false;
	prune(log);
	akr_log_debug("State log '%s' compacted to %zu records", log->path, n_records);
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
	for (size_t i = 0; i < log->n_intents; i++)
		intent_clear(&log->intents[i].pub);
	free(log->snapshot);
	for (size_t i = 0; i < log->n_facts; i++)
		fact_clear(&log->facts[i]);
	free(log->intents);
	free(log->facts);
	free(log->last_run_id);
	free(log->last_result);
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

static int after_append(struct akr_statelog *log, int r)
{
	if (r >= 0)
		compact_if_needed(log);
	return r;
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
	r = rec_intent(log, true, id, time_sec, run_id, account_id, user_name);
	if (r < 0)
		return r;
	*ret_intent_id = id;
	return after_append(log, 0);
}

int akr_statelog_mark_created(struct akr_statelog *log, uint64_t intent_id, const char *key_id)
{
	if (!log)
		return -EINVAL;
	return after_append(log, rec_created(log, true, intent_id, key_id));
}

int akr_statelog_mark_delivered(struct akr_statelog *log, uint64_t intent_id)
{
	if (!log)
		return -EINVAL;
	return after_append(log, rec_delivered(log, true, intent_id));
}

int akr_statelog_mark_rolled_back(struct akr_statelog *log, uint64_t intent_id)
{
	if (!log)
		return -EINVAL;
	return after_append(log, rec_rolled_back(log, true, intent_id));
}

int akr_statelog_mark_done(struct akr_statelog *log, uint64_t intent_id)
{
	if (!log)
		return -EINVAL;
	return after_append(log, rec_done(log, true, intent_id));
}

int akr_statelog_record_deactivated(struct akr_statelog *log, int64_t time_sec,
				    const char *account_id, const char *user_name,
				    const char *key_id)
{
	if (!log)
		return -EINVAL;
	return after_append(log, rec_key(log, true, KEY_DEACTIVATED, time_sec, account_id,
					 user_name, key_id));
}

int akr_statelog_record_reminded(struct akr_statelog *log, int64_t time_sec,
				 const char *account_id, const char *user_name, const char *key_id)
{
	if (!log)
		return -EINVAL;
	return after_append(log, rec_key(log, true, KEY_REMINDED, time_sec, account_id, user_name,
					 key_id));
}

int akr_statelog_record_deleted(struct akr_statelog *log, int64_t time_sec,
				const char *account_id, const char *user_name, const char *key_id)
{
	if (!log)
		return -EINVAL;
	return after_append(log, rec_key(log, true, KEY_DELETED, time_sec, account_id, user_name,
					 key_id));
}

int akr_statelog_record_last_run(struct akr_statelog *log, int64_t time_sec, const char *run_id,
				 const char *result)
{
	if (!log)
		return -EINVAL;
	return after_append(log, rec_last_run(log, true, time_sec, run_id, result));
}

int64_t akr_statelog_deactivated_at(const struct akr_statelog *log, const char *account_id,
				    const char *key_id)
{
	const struct fact *f;

	if (!log || !account_id || !key_id)
		return 0;
	f = fact_find(log, account_id, key_id);
	return f ? f->deactivated_sec : 0;
}

bool akr_statelog_reminded(const struct akr_statelog *log, const char *account_id,
			   const char *key_id)
{
	const struct fact *f;

	if (!log || !account_id || !key_id)
		return false;
	f = fact_find(log, account_id, key_id);
	return f && f->reminded_sec != 0;
}

const struct akr_statelog_intent *akr_statelog_open_intents(struct akr_statelog *log,
							    size_t *ret_n)
{
	struct akr_statelog_intent *snap;

	*ret_n = 0;
	if (!log)
		return NULL;
	purge_closed(log);
	/* A copy, so that closing intents while walking it moves nothing. */
	snap = reallocarray(log->snapshot, log->n_intents ? log->n_intents : 1, sizeof(*snap));
	if (!snap)
		return NULL;
	log->snapshot = snap;
	for (size_t i = 0; i < log->n_intents; i++)
		snap[i] = log->intents[i].pub;
	*ret_n = log->n_intents;
	return snap;
}

bool akr_statelog_has_open_intents(const struct akr_statelog *log)
{
	return log && log->n_open > 0;
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
