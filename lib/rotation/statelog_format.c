/* The state log's line format: one record type and one table of formats,
 * which both parsing and rendering read, so that a record's format is
 * written once. Knows nothing of the log in memory or the file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/strutil.h"
#include "lib/rotation/statelog-internal.h"

#define FORMAT_VERSION "1"
#define MAX_FIELDS 5

enum field_kind {
	F_END,
	F_VERSION, /* the format version (the header only) */
	F_ID,      /* rec->id: an intent id, 1..INT64_MAX */
	F_TIME,    /* rec->time_sec: seconds since the epoch, >= 0 */
	F_STR,     /* the next of rec->str[] */
};

struct statelog_format {
	const char *name;
	enum field_kind fields[MAX_FIELDS];
};

static const struct statelog_format formats[_STATELOG_REC_MAX] = {
	[STATELOG_REC_HEADER] = { "STATELOG", { F_VERSION, F_ID } },
	[STATELOG_REC_INTENT] = { "INTENT", { F_ID, F_TIME, F_STR, F_STR, F_STR } },
	[STATELOG_REC_CREATED] = { "CREATED", { F_ID, F_STR } },
	[STATELOG_REC_DELIVERED] = { "DELIVERED", { F_ID } },
	[STATELOG_REC_ROLLED_BACK] = { "ROLLEDBACK", { F_ID } },
	[STATELOG_REC_DONE] = { "DONE", { F_ID } },
	[STATELOG_REC_DEACTIVATED] = { "DEACTIVATED", { F_TIME, F_STR, F_STR, F_STR } },
	[STATELOG_REC_REMINDED] = { "REMINDED", { F_TIME, F_STR, F_STR, F_STR } },
	[STATELOG_REC_DELETED] = { "DELETED", { F_TIME, F_STR, F_STR, F_STR } },
	[STATELOG_REC_LAST_RUN] = { "LASTRUN", { F_TIME, F_STR, F_STR } },
};

bool akr__statelog_field_ok(const char *s)
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

int akr__statelog_record_render(const struct statelog_record *rec, struct akr_buf *b)
{
	const struct statelog_format *f;
	size_t n_str = 0;
	int r;

	if ((unsigned)rec->type >= _STATELOG_REC_MAX)
		return -EINVAL;
	f = &formats[rec->type];
	r = akr_buf_append_str(b, f->name);
	for (size_t i = 0; r >= 0 && i < MAX_FIELDS && f->fields[i] != F_END; i++) {
		switch (f->fields[i]) {
		case F_VERSION:
			r = akr_buf_append_str(b, "\t" FORMAT_VERSION);
			break;
		case F_ID:
			if (rec->id == 0 || rec->id > INT64_MAX)
				return -EINVAL;
			r = akr_buf_appendf(b, "\t%" PRIu64, rec->id);
			break;
		case F_TIME:
			if (rec->time_sec < 0)
				return -EINVAL;
			r = akr_buf_appendf(b, "\t%" PRId64, rec->time_sec);
			break;
		case F_STR:
			if (!akr__statelog_field_ok(rec->str[n_str]))
				return -EINVAL;
			r = akr_buf_appendf(b, "\t%s", rec->str[n_str++]);
			break;
		case F_END:
			break;
		}
	}
	return r < 0 ? r : akr_buf_append(b, "\n", 1);
}

int akr__statelog_record_parse(char *line, struct statelog_record *ret, const char **what)
{
	char *field[MAX_FIELDS + 2];
	const struct statelog_format *f = NULL;
	struct statelog_record rec = { 0 };
	size_t n = 0, n_str = 0, i;
	int64_t v;

	for (char *p = line;;) {
		char *tab = strchr(p, '\t');

		if (n == MAX_FIELDS + 1) {
			*what = "too many fields";
			return -EBADMSG;
		}
		field[n++] = p;
		if (!tab)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	for (i = 0; i < _STATELOG_REC_MAX; i++)
		if (strcmp(field[0], formats[i].name) == 0) {
			f = &formats[i];
			rec.type = (enum statelog_record_type)i;
			break;
		}
	if (!f) {
		*what = "unknown record type";
		return -EBADMSG;
	}
	for (i = 0; i < MAX_FIELDS && f->fields[i] != F_END; i++)
		;
	if (n != i + 1) {
		*what = "wrong number of fields";
		return -EBADMSG;
	}
	for (i = 0; i + 1 < n; i++) {
		const char *s = field[i + 1];

		switch (f->fields[i]) {
		case F_VERSION:
			if (strcmp(s, FORMAT_VERSION) != 0) {
				*what = "unknown format version";
				return -EBADMSG;
			}
			break;
		case F_ID:
			if (akr_parse_int64(s, 1, INT64_MAX, &v) < 0) {
				*what = rec.type == STATELOG_REC_HEADER ? "bad next intent id"
									 : "bad intent id";
				return -EBADMSG;
			}
			rec.id = (uint64_t)v;
			break;
		case F_TIME:
			if (akr_parse_int64(s, 0, INT64_MAX, &rec.time_sec) < 0) {
				*what = "bad time";
				return -EBADMSG;
			}
			break;
		case F_STR:
			if (!akr__statelog_field_ok(s)) {
				*what = "bad field";
				return -EBADMSG;
			}
			rec.str[n_str++] = s;
			break;
		case F_END:
			break;
		}
	}
	*ret = rec;
	return 0;
}
