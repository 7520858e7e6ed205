/* The credential-report pre-filter: the rule and one account's set. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/timeutil.h"
#include "lib/rotation/prefilter.h"

static const char *const verdict_names[_AKR_PREFILTER_VERDICT_MAX] = {
	[AKR_PREFILTER_NOTHING_DUE] = "nothing due",
	[AKR_PREFILTER_READ_MALFORMED] = "malformed row",
	[AKR_PREFILTER_READ_INACTIVE] = "inactive key",
	[AKR_PREFILTER_READ_OLD_KEY] = "key old enough",
	[AKR_PREFILTER_READ_FUTURE] = "date in the future",
};

const char *akr_prefilter_verdict_to_string(enum akr_prefilter_verdict v)
{
	return (unsigned)v < _AKR_PREFILTER_VERDICT_MAX ? verdict_names[v] : NULL;
}

int64_t akr_prefilter_threshold_days(const struct akr_policy_config *pc)
{
	int64_t t = pc->rotate_after_days;

	/* A reminder goes out reminder_days before D; with a valid policy that
	 * is after R already, but the rule does not rely on it. */
	if (pc->reminder_days > 0 && pc->deactivate_after_days - pc->reminder_days < t)
		t = pc->deactivate_after_days - pc->reminder_days;
	if (pc->deactivate_after_days < t)
		t = pc->deactivate_after_days;
	return t;
}

int64_t akr_prefilter_older_threshold_days(const struct akr_policy_config *pc)
{
	int64_t t = pc->deactivate_after_days;

	if (pc->reminder_days > 0)
		t -= pc->reminder_days;
	return t < akr_prefilter_threshold_days(pc) ? akr_prefilter_threshold_days(pc) : t;
}

enum akr_prefilter_verdict akr_prefilter_decide(const struct akr_policy_config *pc, int64_t now_sec,
						const struct akr_credreport_row *row)
{
	const struct akr_credreport_key *k0 = &row->keys[0], *k1 = &row->keys[1];
	/* Two active keys: the policy rotates by the newer one (R) and reminds
	 * and deactivates the older one (D - reminder_days, D). The older is
	 * the one with the strictly earlier date; equal dates use R for both. */
	bool two = k0->present && k0->active && k1->present && k1->active &&
		   k0->last_rotated_sec != k1->last_rotated_sec;
	size_t older = two && k1->last_rotated_sec < k0->last_rotated_sec ? 1 : 0;

	if (!row->user)
		return AKR_PREFILTER_READ_MALFORMED;
	if (row->user_creation_sec > now_sec + AKR_PREFILTER_REPORT_MAX_AGE_SEC)
		return AKR_PREFILTER_READ_FUTURE;
	for (size_t k = 0; k < 2; k++) {
		const struct akr_credreport_key *key = &row->keys[k];

		if (!key->present)
			continue;
		if (!key->active)
			return AKR_PREFILTER_READ_INACTIVE;
		if (key->last_rotated_sec > now_sec + AKR_PREFILTER_REPORT_MAX_AGE_SEC)
			return AKR_PREFILTER_READ_FUTURE;
		if (akr_time_days_between(key->last_rotated_sec, now_sec) + AKR_PREFILTER_MARGIN_DAYS >=
		    (two && k == older ? akr_prefilter_older_threshold_days(pc)
				       : akr_prefilter_threshold_days(pc)))
			return AKR_PREFILTER_READ_OLD_KEY;
	}
	return AKR_PREFILTER_NOTHING_DUE;
}

bool akr_prefilter_report_usable(int64_t generated_sec, int64_t now_sec)
{
	return generated_sec > 0 && generated_sec >= now_sec - AKR_PREFILTER_REPORT_MAX_AGE_SEC &&
	       generated_sec <= now_sec + AKR_PREFILTER_REPORT_MAX_AGE_SEC;
}

void akr_prefilter_set_init(struct akr_prefilter_set *set)
{
	*set = (struct akr_prefilter_set){ 0 };
	/* One more than the users a listing may name: past it, reads only grow. */
	akr_seen_init(&set->read, 200000);
}

void akr_prefilter_set_done(struct akr_prefilter_set *set)
{
	for (size_t i = 0; i < set->n_clear; i++)
		free(set->clear[i].name);
	free(set->clear);
	akr_seen_done(&set->read);
	*set = (struct akr_prefilter_set){ 0 };
}

int akr_prefilter_set_force_read(struct akr_prefilter_set *set, const char *user)
{
	int r = akr_seen_add(&set->read, user, strlen(user));

	/* A full set cannot remember one more forced read: then nobody is
	 * ruled out (akr_prefilter_set_clears() checks the count). */
	return r == -E2BIG ? 0 : r < 0 ? r : 0;
}

int akr_prefilter_set_add(struct akr_prefilter_set *set, const struct akr_policy_config *pc,
			  int64_t now_sec, const struct akr_credreport_row *row, const char *invalid)
{
	struct akr_prefilter_entry *e;

	set->n_rows++;
	if (invalid) {
		set->n_malformed++;
		return row->user ? akr_prefilter_set_force_read(set, row->user) : 0;
	}
	if (row->root)
		return 0;
	if (akr_prefilter_decide(pc, now_sec, row) != AKR_PREFILTER_NOTHING_DUE)
		return akr_prefilter_set_force_read(set, row->user);
	if (set->n_clear == set->cap_clear) {
		size_t ncap = set->cap_clear ? set->cap_clear * 2 : 256;

		e = realloc(set->clear, ncap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		set->clear = e;
		set->cap_clear = ncap;
	}
	e = &set->clear[set->n_clear];
	e->name = strdup(row->user);
	if (!e->name)
		return -ENOMEM;
	e->creation_sec = row->user_creation_sec;
	set->n_clear++;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct akr_prefilter_entry *)a)->name,
		      ((const struct akr_prefilter_entry *)b)->name);
}

int akr_prefilter_set_finish(struct akr_prefilter_set *set)
{
	size_t w = 0;

	if (set->n_clear > 1)
		qsort(set->clear, set->n_clear, sizeof(*set->clear), entry_cmp);
	/* A name on two rows is ambiguous: neither row rules the user out. */
	for (size_t i = 0; i < set->n_clear;) {
		size_t j = i + 1;

		while (j < set->n_clear && strcmp(set->clear[i].name, set->clear[j].name) == 0)
			j++;
		if (j - i == 1)
			set->clear[w++] = set->clear[i];
		else
			for (size_t k = i; k < j; k++)
				free(set->clear[k].name);
		i = j;
	}
	set->n_clear = w;
	set->finished = true;
	return 0;
}

bool akr_prefilter_set_clears(const struct akr_prefilter_set *set, const char *user,
			      int64_t creation_sec)
{
	struct akr_prefilter_entry key = { .name = (char *)user }, *e;

	if (!set->finished || !user || set->n_clear == 0 || set->read.n >= set->read.max)
		return false;
	e = bsearch(&key, set->clear, set->n_clear, sizeof(*set->clear), entry_cmp);
	if (!e)
		return false; /* not in the report: created after it, or read in full */
	/* A user deleted and made again under the same name is another user. */
	if (e->creation_sec != creation_sec)
		return false;
	return !akr_seen_contains(&set->read, user, strlen(user));
}
