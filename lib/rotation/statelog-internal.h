#pragma once
/* Shared between the files of the statelog module: statelog.c (the log in
 * memory, the file, compaction and the public API) and statelog_record.c
 * (the records: validating, writing and parsing each line, and rendering the
 * whole log for compaction). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/rotation/statelog.h"

struct akr_buf;

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

/* The records about one key: DEACTIVATED, REMINDED, DELETED. */
enum statelog_key_event { KEY_DEACTIVATED, KEY_REMINDED, KEY_DELETED };

void akr__statelog_intent_clear(struct akr_statelog_intent *in);
void akr__statelog_fact_clear(struct statelog_fact *f);
struct akr_statelog_intent *akr__statelog_intent_find(const struct akr_statelog *log, uint64_t id);
void akr__statelog_purge_closed(struct akr_statelog *log);
struct statelog_fact *akr__statelog_fact_find(const struct akr_statelog *log,
					      const char *account_id, const char *key_id);
/* Makes room for one more element in *@p (@n used of *@cap). */
int akr__statelog_grow(void **p, size_t *cap, size_t n, size_t size);
/* Finds the key's fact or adds an empty one (which compaction drops). */
int akr__statelog_fact_get(struct akr_statelog *log, const char *account_id,
			   const char *user_name, const char *key_id, struct statelog_fact **ret);
/* Appends one line durably. On failure the file is cut back to where it was. */
int akr__statelog_append_line(struct akr_statelog *log, const char *line, size_t len);
/* Whether the time @t of a fact is still kept by compaction. */
bool akr__statelog_fact_time_live(const struct akr_statelog *log, int64_t t);

/* Each record has one function used both to load it (@write false) and to
 * append it (@write true). */
int akr__statelog_rec_intent(struct akr_statelog *log, bool write, uint64_t id, int64_t time_sec,
			     const char *run_id, const char *account_id, const char *user_name);
int akr__statelog_rec_created(struct akr_statelog *log, bool write, uint64_t id,
			      const char *key_id);
int akr__statelog_rec_delivered(struct akr_statelog *log, bool write, uint64_t id);
int akr__statelog_rec_rolled_back(struct akr_statelog *log, bool write, uint64_t id);
int akr__statelog_rec_done(struct akr_statelog *log, bool write, uint64_t id);
int akr__statelog_rec_key(struct akr_statelog *log, bool write, enum statelog_key_event ev,
			  int64_t time_sec, const char *account_id, const char *user_name,
			  const char *key_id);
int akr__statelog_rec_last_run(struct akr_statelog *log, bool write, int64_t time_sec,
			       const char *run_id, const char *result);

/* Loads line @lineno (NUL-terminated, without its newline; split in place).
 * Returns 0, -ENOMEM, or -EBADMSG with *@what saying why. */
int akr__statelog_load_line(struct akr_statelog *log, char *line, size_t lineno,
			    const char **what);
/* Renders the live facts as a new file into @b. */
int akr__statelog_render(const struct akr_statelog *log, struct akr_buf *b, size_t *ret_records);
