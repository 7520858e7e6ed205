/* The state log in memory: what each record changes (checked and allocated
 * first, then committed, so that a record that cannot be applied is never
 * written), the lookups, and the live facts compaction keeps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/array.h"
#include "lib/rotation/statelog-internal.h"

static void intent_clear(struct akr_statelog_intent *in)
{
	free((char *)in->run_id);
	free((char *)in->account_id);
	free((char *)in->user_name);
	free((char *)in->key_id);
	*in = (struct akr_statelog_intent){ 0 };
}

static void fact_clear(struct statelog_fact *f)
{
	free(f->account_id);
	free(f->user_name);
	free(f->key_id);
}

static struct statelog_intent *intent_find(const struct akr_statelog *log, uint64_t id)
{
	for (size_t i = 0; i < log->n_intents; i++)
		if (!log->intents[i].closed && log->intents[i].pub.id == id)
			return &log->intents[i];
	return NULL;
}

void akr__statelog_purge_closed(struct akr_statelog *log)
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

static struct statelog_fact *fact_find(const struct akr_statelog *log, const char *account_id,
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

const struct statelog_fact *akr__statelog_fact_find(const struct akr_statelog *log,
						    const char *account_id, const char *key_id)
{
	return fact_find(log, account_id, key_id);
}

/* Finds the key's fact or adds an empty one (which compaction drops). */
static int fact_get(struct akr_statelog *log, const char *account_id, const char *user_name,
		    const char *key_id, struct statelog_fact **ret)
{
	struct statelog_fact *f = fact_find(log, account_id, key_id);
	struct statelog_fact n = { 0 };

	if (f) {
		*ret = f;
		return 0;
	}
	if (AKR_ARRAY_GROW(log->facts, &log->cap_facts, log->n_facts, 1) < 0)
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

static bool fact_time_live(const struct akr_statelog *log, int64_t t)
{
	return t != 0 && t >= log->newest_sec - (int64_t)AKR_STATELOG_KEEP_DAYS * 86400;
}

void akr__statelog_discard(struct statelog_change *c)
{
	for (size_t i = 0; i < 3; i++)
		free(c->str[i]);
	*c = (struct statelog_change){ 0 };
}

static int copy_strings(struct statelog_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		c->str[i] = strdup(c->rec->str[i]);
		if (!c->str[i])
			return -ENOMEM;
	}
	return 0;
}

/* Checks an intent record against the intent's state. */
static int prepare_intent_record(struct akr_statelog *log, struct statelog_change *c)
{
	struct statelog_intent *in = intent_find(log, c->rec->id);

	if (!in)
		return -ENOENT;
	c->intent = in;
	switch (c->rec->type) {
	case STATELOG_REC_CREATED:
		return in->pub.key_id ? -EEXIST : copy_strings(c, 1);
	case STATELOG_REC_DELIVERED:
		/* The safety protocol: only a key that exists can be delivered. */
		return !in->pub.key_id || in->pub.delivered || in->pub.rolled_back ? -EINVAL : 0;
	case STATELOG_REC_ROLLED_BACK:
		/* A delivered key belongs to the user: it is never rolled back. */
		return in->pub.delivered || in->pub.rolled_back ? -EINVAL : 0;
	default:
		return 0;
	}
}

int akr__statelog_prepare(struct akr_statelog *log, const struct statelog_record *rec,
			  struct statelog_change *ret)
{
	struct statelog_change c = { .rec = rec };
	int r = 0;

	if (rec->time_sec < 0)
		return -EINVAL;
	switch (rec->type) {
	case STATELOG_REC_HEADER:
		break;
	case STATELOG_REC_INTENT:
		if (rec->id == 0)
			return -EINVAL;
		if (intent_find(log, rec->id))
			return -EEXIST;
		r = AKR_ARRAY_GROW(log->intents, &log->cap_intents, log->n_intents, 1);
		if (r >= 0)
			r = copy_strings(&c, 3);
		break;
	case STATELOG_REC_CREATED:
	case STATELOG_REC_DELIVERED:
	case STATELOG_REC_ROLLED_BACK:
	case STATELOG_REC_DONE:
		r = prepare_intent_record(log, &c);
		break;
	case STATELOG_REC_DEACTIVATED:
	case STATELOG_REC_REMINDED:
		r = fact_get(log, rec->str[0], rec->str[1], rec->str[2], &c.fact);
		break;
	case STATELOG_REC_DELETED:
		break;
	case STATELOG_REC_LAST_RUN:
		r = copy_strings(&c, 2);
		break;
	default:
		return -EINVAL;
	}
	if (r < 0) {
		akr__statelog_discard(&c);
		return r;
	}
	*ret = c;
	return 0;
}

static void forget_key(struct akr_statelog *log, const char *account_id, const char *key_id)
{
	struct statelog_fact *f = fact_find(log, account_id, key_id);
	size_t i;

	if (!f)
		return;
	i = (size_t)(f - log->facts);
	fact_clear(f);
	memmove(f, f + 1, (log->n_facts - i - 1) * sizeof(*f));
	log->n_facts--;
}

void akr__statelog_commit(struct akr_statelog *log, struct statelog_change *c)
{
	const struct statelog_record *rec = c->rec;
	struct akr_statelog_intent *in = c->intent ? &c->intent->pub : NULL;

	switch (rec->type) {
	case STATELOG_REC_HEADER:
		if (rec->id > log->next_intent_id)
			log->next_intent_id = rec->id;
		break;
	case STATELOG_REC_INTENT:
		log->intents[log->n_intents++] = (struct statelog_intent){
			.pub = { .id = rec->id, .time_sec = rec->time_sec, .run_id = c->str[0],
				 .account_id = c->str[1], .user_name = c->str[2] },
		};
		c->str[0] = c->str[1] = c->str[2] = NULL;
		log->n_open++;
		if (rec->id >= log->next_intent_id)
			log->next_intent_id = rec->id + 1;
		break;
	case STATELOG_REC_CREATED:
		in->key_id = c->str[0];
		c->str[0] = NULL;
		break;
	case STATELOG_REC_DELIVERED:
		in->delivered = true;
		break;
	case STATELOG_REC_ROLLED_BACK:
		in->rolled_back = true;
		break;
	case STATELOG_REC_DONE:
		c->intent->closed = true;
		log->n_open--;
		break;
	case STATELOG_REC_DEACTIVATED:
		c->fact->deactivated_sec = rec->time_sec;
		break;
	case STATELOG_REC_REMINDED:
		c->fact->reminded_sec = rec->time_sec;
		break;
	case STATELOG_REC_DELETED:
		forget_key(log, rec->str[0], rec->str[2]);
		break;
	case STATELOG_REC_LAST_RUN:
		free(log->last_run_id);
		free(log->last_result);
		log->last_run_id = c->str[0];
		log->last_result = c->str[1];
		c->str[0] = c->str[1] = NULL;
		log->last_run_sec = rec->time_sec;
		break;
	default:
		break;
	}
	if (rec->time_sec > log->newest_sec)
		log->newest_sec = rec->time_sec;
	akr__statelog_discard(c);
}

void akr__statelog_prune(struct akr_statelog *log)
{
	size_t j = 0;

	for (size_t i = 0; i < log->n_facts; i++) {
		struct statelog_fact *f = &log->facts[i];

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

static int emit_key(const struct akr_statelog *log, const struct statelog_fact *f,
		    enum statelog_record_type type, int64_t t,
		    int (*emit)(void *userdata, const struct statelog_record *rec), void *userdata)
{
	if (!fact_time_live(log, t))
		return 0;
	return emit(userdata, &(struct statelog_record){
				      .type = type, .time_sec = t,
				      .str = { f->account_id, f->user_name, f->key_id } });
}

int akr__statelog_live_records(const struct akr_statelog *log,
			       int (*emit)(void *userdata, const struct statelog_record *rec),
			       void *userdata)
{
	int r;

	r = emit(userdata, &(struct statelog_record){ .type = STATELOG_REC_HEADER,
						      .id = log->next_intent_id });
	if (r >= 0 && log->last_run_id)
		r = emit(userdata, &(struct statelog_record){
					   .type = STATELOG_REC_LAST_RUN, .time_sec = log->last_run_sec,
					   .str = { log->last_run_id, log->last_result } });
	for (size_t i = 0; r >= 0 && i < log->n_facts; i++) {
		const struct statelog_fact *f = &log->facts[i];

		r = emit_key(log, f, STATELOG_REC_DEACTIVATED, f->deactivated_sec, emit, userdata);
		if (r >= 0)
			r = emit_key(log, f, STATELOG_REC_REMINDED, f->reminded_sec, emit, userdata);
	}
	for (size_t i = 0; r >= 0 && i < log->n_intents; i++) {
		const struct akr_statelog_intent *in = &log->intents[i].pub;
		struct statelog_record rec = { .id = in->id };

		if (log->intents[i].closed)
			continue;
		r = emit(userdata, &(struct statelog_record){
					   .type = STATELOG_REC_INTENT, .id = in->id,
					   .time_sec = in->time_sec,
					   .str = { in->run_id, in->account_id, in->user_name } });
		rec.type = STATELOG_REC_CREATED;
		rec.str[0] = in->key_id;
		if (r >= 0 && in->key_id)
			r = emit(userdata, &rec);
		rec.type = STATELOG_REC_DELIVERED;
		if (r >= 0 && in->delivered)
			r = emit(userdata, &rec);
		rec.type = STATELOG_REC_ROLLED_BACK;
		if (r >= 0 && in->rolled_back)
			r = emit(userdata, &rec);
	}
	return r;
}

void akr__statelog_state_done(struct akr_statelog *log)
{
	for (size_t i = 0; i < log->n_intents; i++)
		intent_clear(&log->intents[i].pub);
	free(log->intents);
	free(log->snapshot);
	for (size_t i = 0; i < log->n_facts; i++)
		fact_clear(&log->facts[i]);
	free(log->facts);
	free(log->last_run_id);
	free(log->last_result);
	log->intents = NULL;
	log->snapshot = NULL;
	log->facts = NULL;
	log->last_run_id = log->last_result = NULL;
	log->n_intents = log->n_facts = log->n_open = 0;
}
