#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/macro.h"
#include "lib/rotation/statelog-internal.h"
#include "lib/rotation/statelog.h"
#include "lib/base/strutil.h"

#define FORMAT_VERSION "1"
#define LINE_MAX_LEN 2048
#define MAX_FIELDS 8

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
	return akr__statelog_append_line(log, line, (size_t)n);
}

static void saw_time(struct akr_statelog *log, int64_t t)
{
	if (t > log->newest_sec)
		log->newest_sec = t;
}

/* Each record has one function used both to load it (@write false) and to
 * append it (@write true). Whatever can fail (validation, allocation) happens
 * before the line is written; what the lookups see changes only after. */

int akr__statelog_rec_intent(struct akr_statelog *log, bool write, uint64_t id, int64_t time_sec,
			     const char *run_id, const char *account_id, const char *user_name)
{
	struct akr_statelog_intent in = { .id = id, .time_sec = time_sec };
	int r;

	if (time_sec < 0 || id == 0 || !field_ok(run_id) || !field_ok(account_id) ||
	    !field_ok(user_name))
		return -EINVAL;
	if (akr__statelog_intent_find(log, id))
		return -EEXIST;
	if (write)
		akr__statelog_purge_closed(log);
	if (akr__statelog_grow((void **)&log->intents, &log->cap_intents, log->n_intents,
			       sizeof(*log->intents)) < 0)
		return -ENOMEM;
	in.run_id = strdup(run_id);
	in.account_id = strdup(account_id);
	in.user_name = strdup(user_name);
	if (!in.run_id || !in.account_id || !in.user_name) {
		akr__statelog_intent_clear(&in);
		return -ENOMEM;
	}
	if (write) {
		r = persist(log, "INTENT\t%" PRIu64 "\t%" PRId64 "\t%s\t%s\t%s\n", id, time_sec,
			    run_id, account_id, user_name);
		if (r < 0) {
			akr__statelog_intent_clear(&in);
			return r;
		}
	}
	log->intents[log->n_intents++] = (struct statelog_intent){ .pub = in };
	log->n_open++;
	if (id >= log->next_intent_id)
		log->next_intent_id = id + 1;
	saw_time(log, time_sec);
	return 0;
}

int akr__statelog_rec_created(struct akr_statelog *log, bool write, uint64_t id, const char *key_id)
{
	struct akr_statelog_intent *in = akr__statelog_intent_find(log, id);
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

int akr__statelog_rec_delivered(struct akr_statelog *log, bool write, uint64_t id)
{
	struct akr_statelog_intent *in = akr__statelog_intent_find(log, id);
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

int akr__statelog_rec_rolled_back(struct akr_statelog *log, bool write, uint64_t id)
{
	struct akr_statelog_intent *in = akr__statelog_intent_find(log, id);
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

int akr__statelog_rec_done(struct akr_statelog *log, bool write, uint64_t id)
{
	struct akr_statelog_intent *in = akr__statelog_intent_find(log, id);
	int r;

	if (!in)
		return -ENOENT;
	if (write) {
		r = persist(log, "DONE\t%" PRIu64 "\n", id);
		if (r < 0)
			return r;
	}
	((struct statelog_intent *)in)->closed = true;
	log->n_open--;
	return 0;
}

static const char *const key_event_names[] = { "DEACTIVATED", "REMINDED", "DELETED" };

int akr__statelog_rec_key(struct akr_statelog *log, bool write, enum statelog_key_event ev,
			  int64_t time_sec, const char *account_id, const char *user_name,
			  const char *key_id)
{
	struct statelog_fact *f = NULL;
	int r;

	if (time_sec < 0 || !field_ok(account_id) || !field_ok(user_name) || !field_ok(key_id))
		return -EINVAL;
	if (ev != KEY_DELETED) {
		r = akr__statelog_fact_get(log, account_id, user_name, key_id, &f);
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
		f = akr__statelog_fact_find(log, account_id, key_id);
		if (f) {
			size_t i = (size_t)(f - log->facts);

			akr__statelog_fact_clear(f);
			memmove(f, f + 1, (log->n_facts - i - 1) * sizeof(*f));
			log->n_facts--;
		}
	}
	return 0;
}

int akr__statelog_rec_last_run(struct akr_statelog *log, bool write, int64_t time_sec,
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

int akr__statelog_load_line(struct akr_statelog *log, char *line, size_t lineno, const char **what)
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
		r = akr__statelog_rec_intent(log, false, id, t, f[3], f[4], f[5]);
		if (r == -EEXIST)
			*what = "intent id already open";
	} else if (strcmp(f[0], "CREATED") == 0) {
		EXPECT(3);
		if (parse_id(f[1], &id) < 0)
			return -EBADMSG;
		r = akr__statelog_rec_created(log, false, id, f[2]);
		if (r == -EEXIST)
			*what = "second CREATED for one intent";
	} else if (strcmp(f[0], "DELIVERED") == 0) {
		EXPECT(2);
		if (parse_id(f[1], &id) < 0)
			return -EBADMSG;
		r = akr__statelog_rec_delivered(log, false, id);
		if (r == -EINVAL)
			*what = "DELIVERED without CREATED";
	} else if (strcmp(f[0], "ROLLEDBACK") == 0) {
		EXPECT(2);
		if (parse_id(f[1], &id) < 0)
			return -EBADMSG;
		r = akr__statelog_rec_rolled_back(log, false, id);
		if (r == -EINVAL)
			*what = "ROLLEDBACK of a delivered or rolled back intent";
	} else if (strcmp(f[0], "DONE") == 0) {
		EXPECT(2);
		if (parse_id(f[1], &id) < 0)
			return -EBADMSG;
		r = akr__statelog_rec_done(log, false, id);
	} else if (strcmp(f[0], "DEACTIVATED") == 0 || strcmp(f[0], "REMINDED") == 0 ||
		   strcmp(f[0], "DELETED") == 0) {
		enum statelog_key_event ev = strcmp(f[0], "DEACTIVATED") == 0 ? KEY_DEACTIVATED
					     : strcmp(f[0], "REMINDED") == 0  ? KEY_REMINDED
									      : KEY_DELETED;

		EXPECT(5);
		if (parse_time(f[1], &t) < 0)
			return -EBADMSG;
		r = akr__statelog_rec_key(log, false, ev, t, f[2], f[3], f[4]);
	} else if (strcmp(f[0], "LASTRUN") == 0) {
		EXPECT(4);
		if (parse_time(f[1], &t) < 0)
			return -EBADMSG;
		r = akr__statelog_rec_last_run(log, false, t, f[2], f[3]);
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

/* Serialising the whole log, for compaction. */

int akr__statelog_render(const struct akr_statelog *log, struct akr_buf *b, size_t *ret_records)
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
		const struct statelog_fact *f = &log->facts[i];

		if (akr__statelog_fact_time_live(log, f->deactivated_sec)) {
			r = akr_buf_appendf(b, "DEACTIVATED\t%" PRId64 "\t%s\t%s\t%s\n",
					    f->deactivated_sec, f->account_id, f->user_name,
					    f->key_id);
			n++;
		}
		if (r >= 0 && akr__statelog_fact_time_live(log, f->reminded_sec)) {
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
