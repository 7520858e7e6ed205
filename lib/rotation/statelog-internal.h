#pragma once
/* Shared between the files of the statelog module, split by concern, each
 * using only those before it:
 *   statelog_format.c  one record type and its line format (parse, render)
 *   statelog_state.c   the log in memory: what each record changes, lookups,
 *                      the live facts compaction keeps
 *   statelog.c         the file (load, append, compact) and the public API */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/rotation/statelog.h"

struct akr_buf;

/* ---- statelog_format.c ---- */

enum statelog_record_type {
	STATELOG_REC_HEADER, /* id: the next intent id */
	STATELOG_REC_INTENT, /* id, time, str: run id, account id, user name */
	STATELOG_REC_CREATED, /* id, str: access key id */
	STATELOG_REC_DELIVERED, /* id */
	STATELOG_REC_ROLLED_BACK, /* id */
	STATELOG_REC_DONE, /* id */
	STATELOG_REC_DEACTIVATED, /* time, str: account id, user name, access key id */
	STATELOG_REC_REMINDED, /* same */
	STATELOG_REC_DELETED, /* same */
	STATELOG_REC_LAST_RUN, /* time, str: run id, result */
	_STATELOG_REC_MAX,
};

/* One line of the log. The strings are borrowed. */
struct statelog_record {
	enum statelog_record_type type;
	uint64_t id;
	int64_t time_sec;
	const char *str[3];
};

/* Whether @s may be a field (statelog.h "Format"). */
bool akr__statelog_field_ok(const char *s);
/* Appends the record's line (with its newline) to @b. -EINVAL for a field
 * outside the format; -E2BIG, -ENOMEM from the buffer. */
int akr__statelog_record_render(const struct statelog_record *rec, struct akr_buf *b);
/* Parses one line (NUL-terminated, without its newline), splitting it in
 * place: the record's strings point into @line. Returns 0, or -EBADMSG with
 * *@what saying why. */
int akr__statelog_record_parse(char *line, struct statelog_record *ret, const char **what);

/* ---- statelog_state.c ---- */

/* What the log remembers about one key. */
struct statelog_fact {
	char *account_id;
	char *user_name;
	char *key_id;
	int64_t deactivated_sec; /* 0 = not known to be deactivated by us */
	int64_t reminded_sec;    /* 0 = no reminder sent */
};

/* An intent; a closed one stays in memory (flagged) until the next
 * akr_statelog_open_intents() or append_intent, so that the list handed out
 * stays valid while the caller closes intents from it. */
struct statelog_intent {
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

	struct statelog_intent *intents;
	size_t n_intents, cap_intents, n_open;
	struct akr_statelog_intent *snapshot; /* shallow copies for open_intents() */
	struct statelog_fact *facts;
	size_t n_facts, cap_facts;

	int64_t last_run_sec;
	char *last_run_id;
	char *last_result;
};

/* A record checked against the log, with everything committing it needs
 * already allocated: committing cannot fail. */
struct statelog_change {
	const struct statelog_record *rec;
	struct statelog_intent *intent; /* the intent the record is about */
	struct statelog_fact *fact;     /* the key's fact (DEACTIVATED, REMINDED) */
	char *str[3];                   /* owned copies of rec->str */
};

/* Checks @rec against the log (-ENOENT: no such open intent; -EEXIST: the
 * intent or its key exists already; -EINVAL: not allowed in the intent's
 * state) and allocates (-ENOMEM). Changes nothing the lookups see. On success
 * either commit or discard @ret. */
int akr__statelog_prepare(struct akr_statelog *log, const struct statelog_record *rec,
			  struct statelog_change *ret);
void akr__statelog_commit(struct akr_statelog *log, struct statelog_change *c);
void akr__statelog_discard(struct statelog_change *c);

/* Drops the closed intents (invalidates the list open_intents() returned). */
void akr__statelog_purge_closed(struct akr_statelog *log);
const struct statelog_fact *akr__statelog_fact_find(const struct akr_statelog *log,
						    const char *account_id, const char *key_id);
/* Forgets facts older than the log keeps (after compaction). */
void akr__statelog_prune(struct akr_statelog *log);
/* Calls @emit for every live record, the header first; stops at and returns
 * the first negative return. */
int akr__statelog_live_records(const struct akr_statelog *log,
			       int (*emit)(void *userdata, const struct statelog_record *rec),
			       void *userdata);
/* Frees everything the log holds in memory (not the log itself). */
void akr__statelog_state_done(struct akr_statelog *log);
