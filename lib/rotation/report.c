#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "lib/base/array.h"
#include "lib/base/json.h"
#include "lib/base/macro.h"
#include "lib/rotation/report.h"
#include "lib/base/timeutil.h"

/* What the report holds grows with the actions and the accounts of the
 * sweep (issue 11, B3: thousands of each): a row is one allocation with its
 * own strings after it, and the strings many rows repeat (account id and
 * name, action, reason) are kept once, in the report's string pool. */

struct report_account {
	const char *id, *name; /* pooled */
	char *error;
	enum akr_account_state state;
};

/* One row and, after it, the strings only it has. */
struct report_row {
	size_t seq; /* the order added: user_row_cmp() is stable on it */
	struct akr_report_row pub;
	char strings[];
};

/* Strings kept once: open addressing, linear probing, at most 3/4 full. */
struct string_pool {
	char **slots;
	size_t n, cap;
};

struct akr_report {
	char *run_id, *mode;
	int64_t started_sec, finished_sec;
	bool complete;
	struct report_row **rows;
	size_t n_rows, cap_rows;
	struct report_account *accounts;
	size_t n_accounts, cap_accounts;
	struct string_pool pool;
	struct akr_report_totals totals;
};

#define ROW_OF(p) \
	((const struct report_row *)((const char *)(p) - offsetof(struct report_row, pub)))

static size_t pool_hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (size_t)h;
}

static char **pool_slot(char **slots, size_t cap, const char *s)
{
	size_t i = pool_hash(s) & (cap - 1);

	while (slots[i] && strcmp(slots[i], s) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* *@ret = the pool's copy of @s (NULL for NULL), added when missing.
 * Returns 0 or -ENOMEM. */
static int pool_intern(struct string_pool *p, const char *s, const char **ret)
{
	char **slot;

	*ret = NULL;
	if (!s)
		return 0;
	if ((p->n + 1) * 4 > p->cap * 3) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		char **slots = cap > p->cap ? calloc(cap, sizeof(*slots)) : NULL;

		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < p->cap; i++)
			if (p->slots[i])
				*pool_slot(slots, cap, p->slots[i]) = p->slots[i];
		free(p->slots);
		p->slots = slots;
		p->cap = cap;
	}
	slot = pool_slot(p->slots, p->cap, s);
	if (!*slot) {
		*slot = strdup(s);
		if (!*slot)
			return -ENOMEM;
		p->n++;
	}
	*ret = *slot;
	return 0;
}

static void pool_done(struct string_pool *p)
{
	for (size_t i = 0; i < p->cap; i++)
		free(p->slots[i]);
	free(p->slots);
	*p = (struct string_pool){ 0 };
}

static const char *const outcome_names[_AKR_OUTCOME_MAX] = {
	[AKR_OUTCOME_PLANNED] = "planned",   [AKR_OUTCOME_DONE] = "done",
	[AKR_OUTCOME_FAILED] = "failed",     [AKR_OUTCOME_SKIPPED] = "skipped",
	[AKR_OUTCOME_ROLLED_BACK] = "rolled-back",
};

static const char *const account_state_names[_AKR_ACCOUNT_STATE_MAX] = {
	[AKR_ACCOUNT_OK] = "ok",
	[AKR_ACCOUNT_FAILED] = "failed",
	[AKR_ACCOUNT_EXCLUDED] = "excluded",
	[AKR_ACCOUNT_NOT_ACTIVE] = "not-active",
};

const char *akr_outcome_to_string(enum akr_outcome o)
{
	return (unsigned)o < _AKR_OUTCOME_MAX ? outcome_names[o] : NULL;
}

const char *akr_account_state_to_string(enum akr_account_state s)
{
	return (unsigned)s < _AKR_ACCOUNT_STATE_MAX ? account_state_names[s] : NULL;
}

struct akr_report *akr_report_new(const char *run_id, const char *mode, int64_t started_sec)
{
	struct akr_report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->run_id = strdup(run_id);
	r->mode = strdup(mode);
	r->started_sec = started_sec;
	if (!r->run_id || !r->mode)
		return akr_report_free(r);
	return r;
}

struct akr_report *akr_report_free(struct akr_report *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_rows; i++)
		free(r->rows[i]);
	for (size_t i = 0; i < r->n_accounts; i++)
		free(r->accounts[i].error);
	free(r->rows);
	free(r->accounts);
	pool_done(&r->pool);
	free(r->run_id);
	free(r->mode);
	free(r);
	return NULL;
}

static bool dup_ok(const char *src, const char **dst)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

int akr_report_account(struct akr_report *r, const char *account_id, const char *name,
		       enum akr_account_state state, const char *error)
{
	struct report_account *a;

	if (AKR_ARRAY_GROW(r->accounts, &r->cap_accounts, r->n_accounts, 1) < 0)
		return -ENOMEM;
	a = &r->accounts[r->n_accounts];
	*a = (struct report_account){ .state = state };
	if (pool_intern(&r->pool, account_id, &a->id) < 0 ||
	    pool_intern(&r->pool, name, &a->name) < 0 || !dup_ok(error, (const char **)&a->error))
		return -ENOMEM;
	r->n_accounts++;
	switch (state) {
	case AKR_ACCOUNT_OK:
		r->totals.accounts_done++;
		break;
	case AKR_ACCOUNT_FAILED:
		r->totals.accounts_failed++;
		break;
	case AKR_ACCOUNT_EXCLUDED:
		r->totals.accounts_excluded++;
		break;
	default:
		r->totals.accounts_not_active++;
		break;
	}
	return 0;
}

/* Copies @src (NULL stays NULL) to *@p, moving *@p past it. */
static const char *pack(char **p, const char *src)
{
	char *dst = *p;
	size_t n;

	if (!src)
		return NULL;
	n = strlen(src) + 1;
	memcpy(dst, src, n);
	*p += n;
	return dst;
}

int akr_report_add(struct akr_report *r, const struct akr_report_row *row)
{
	const char *own[] = { row->user_name, row->access_key_id, row->error, row->detail };
	struct report_row *dst;
	size_t size = sizeof(*dst);
	char *p;

	if ((unsigned)row->outcome >= _AKR_OUTCOME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(own); i++)
		if (own[i])
			size += strlen(own[i]) + 1;
	if (AKR_ARRAY_GROW(r->rows, &r->cap_rows, r->n_rows, 1) < 0)
		return -ENOMEM;
	dst = malloc(size);
	if (!dst)
		return -ENOMEM;
	*dst = (struct report_row){
		.seq = r->n_rows,
		.pub = { .key_age_days = row->key_age_days, .outcome = row->outcome },
	};
	if (pool_intern(&r->pool, row->account_id, &dst->pub.account_id) < 0 ||
	    pool_intern(&r->pool, row->account_name, &dst->pub.account_name) < 0 ||
	    pool_intern(&r->pool, row->action, &dst->pub.action) < 0 ||
	    pool_intern(&r->pool, row->reason, &dst->pub.reason) < 0) {
		free(dst);
		return -ENOMEM;
	}
	p = dst->strings;
	dst->pub.user_name = pack(&p, row->user_name);
	dst->pub.access_key_id = pack(&p, row->access_key_id);
	dst->pub.error = pack(&p, row->error);
	dst->pub.detail = pack(&p, row->detail);
	r->rows[r->n_rows++] = dst;
	r->totals.outcome[row->outcome]++;
	return 0;
}

struct akr_report_totals *akr_report_totals(struct akr_report *r)
{
	return &r->totals;
}

void akr_report_set_finished(struct akr_report *r, int64_t finished_sec, bool complete)
{
	r->finished_sec = finished_sec;
	r->complete = complete;
}

const struct akr_report_totals *akr_report_get_totals(const struct akr_report *r)
{
	return &r->totals;
}

void akr_report_get_times(const struct akr_report *r, int64_t *ret_started_sec,
			  int64_t *ret_finished_sec, bool *ret_complete)
{
	*ret_started_sec = r->started_sec;
	*ret_finished_sec = r->finished_sec;
	*ret_complete = r->complete;
}

static int user_row_cmp(const void *a, const void *b)
{
	const struct akr_report_row *x = *(const struct akr_report_row *const *)a;
	const struct akr_report_row *y = *(const struct akr_report_row *const *)b;
	int c = strcmp(x->account_id ? x->account_id : "", y->account_id ? y->account_id : "");

	if (c)
		return c;
	c = strcmp(x->user_name ? x->user_name : "", y->user_name ? y->user_name : "");
	if (c)
		return c;
	/* Stable: the first row of a user comes first. */
	return ROW_OF(x)->seq < ROW_OF(y)->seq ? -1 : ROW_OF(x)->seq > ROW_OF(y)->seq;
}

static bool same_user(const struct akr_report_row *x, const struct akr_report_row *y)
{
	return strcmp(x->account_id ? x->account_id : "", y->account_id ? y->account_id : "") == 0 &&
	       strcmp(x->user_name ? x->user_name : "", y->user_name ? y->user_name : "") == 0;
}

int akr_report_cannot_rotate(const struct akr_report *r, const struct akr_report_row ***ret_rows,
			     size_t *ret_n)
{
	const struct akr_report_row **rows = NULL;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < r->n_rows; i++)
		n += r->rows[i]->pub.action && strcmp(r->rows[i]->pub.action, "report") == 0;
	if (n > 0) {
		rows = calloc(n, sizeof(*rows));
		if (!rows)
			return -ENOMEM;
		for (size_t i = 0; i < r->n_rows; i++)
			if (r->rows[i]->pub.action && strcmp(r->rows[i]->pub.action, "report") == 0)
				rows[k++] = &r->rows[i]->pub;
		qsort(rows, n, sizeof(*rows), user_row_cmp);
		/* One per user. */
		k = 0;
		for (size_t i = 0; i < n; i++)
			if (k == 0 || !same_user(rows[k - 1], rows[i]))
				rows[k++] = rows[i];
	}
	*ret_rows = rows;
	*ret_n = k;
	return 0;
}

size_t akr_report_n_rows(const struct akr_report *r)
{
	return r->n_rows;
}

const struct akr_report_row *akr_report_row(const struct akr_report *r, size_t i)
{
	return i < r->n_rows ? &r->rows[i]->pub : NULL;
}

const char *akr_report_run_id(const struct akr_report *r)
{
	return r->run_id;
}

size_t akr_report_failed_accounts(const struct akr_report *r, const char **ret_ids,
				  const char **ret_errors, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_accounts && n < max; i++) {
		if (r->accounts[i].state != AKR_ACCOUNT_FAILED)
			continue;
		ret_ids[n] = r->accounts[i].id;
		ret_errors[n] = r->accounts[i].error ? r->accounts[i].error : "unknown error";
		n++;
	}
	return n;
}

bool akr_report_has_failures(const struct akr_report *r)
{
	return r->totals.accounts_failed > 0 || r->totals.outcome[AKR_OUTCOME_FAILED] > 0 ||
	       r->totals.outcome[AKR_OUTCOME_ROLLED_BACK] > 0 || r->totals.users_failed > 0 ||
	       !r->complete;
}

/* JSON output. yajl_gen escapes strings; we only map its status to -errno. */
#define G(call)                                                                                    \
	do {                                                                                       \
		if ((call) != yajl_gen_status_ok)                                                  \
			goto fail;                                                                 \
	} while (0)

static yajl_gen_status gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static yajl_gen_status gen_kv(yajl_gen g, const char *k, const char *v)
{
	yajl_gen_status st = gen_str(g, k);

	if (st != yajl_gen_status_ok)
		return st;
	return v ? gen_str(g, v) : yajl_gen_null(g);
}

static yajl_gen_status gen_ki(yajl_gen g, const char *k, int64_t v)
{
	yajl_gen_status st = gen_str(g, k);

	if (st != yajl_gen_status_ok)
		return st;
	return yajl_gen_integer(g, (long long)v);
}

static yajl_gen_status gen_kt(yajl_gen g, const char *k, int64_t sec)
{
	char buf[32];

	return gen_kv(g, k, sec ? akr_time_format_iso8601(sec, buf, sizeof(buf)) : NULL);
}

/* One row as an object: an action (@action: all its fields), or a user of
 * cannot_rotate (the user, the key and the reason). */
static yajl_gen_status gen_row(yajl_gen g, const struct akr_report_row *w, bool action)
{
	G(yajl_gen_map_open(g));
	G(gen_kv(g, "account_id", w->account_id));
	G(gen_kv(g, "account_name", w->account_name));
	G(gen_kv(g, "user", w->user_name));
	G(gen_kv(g, "access_key_id", w->access_key_id));
	if (action)
		G(gen_kv(g, "action", w->action));
	if (w->key_age_days >= 0)
		G(gen_ki(g, "key_age_days", w->key_age_days));
	else
		G(gen_kv(g, "key_age_days", NULL));
	G(gen_kv(g, "reason", w->reason));
	if (action) {
		G(gen_kv(g, "outcome", outcome_names[w->outcome]));
		G(gen_kv(g, "error", w->error));
		G(gen_kv(g, "detail", w->detail));
	}
	return yajl_gen_map_close(g);
fail:
	return yajl_gen_in_error_state; /* not ok: G() in the caller stops too */
}

/* The document goes to the file as it is made, a chunk at a time: the
 * actions of a large organization make megabytes of JSON, which the daemon
 * need not hold at once (issue 11, B3). */
#define JSON_FLUSH_BYTES (16 * 1024)

/* Writes what @g holds to @f when it is at least @min bytes, and empties
 * it. Returns 0 or -EIO. */
static int json_flush(yajl_gen g, FILE *f, size_t min)
{
	const unsigned char *out;
	size_t len;

	if (yajl_gen_get_buf(g, &out, &len) != yajl_gen_status_ok)
		return -EIO;
	if (len < min)
		return 0;
	if (len > 0 && fwrite(out, 1, len, f) != len)
		return -EIO;
	yajl_gen_clear(g);
	return 0;
}

/* A write to the file failed: -EIO. */
#define F(call)                                                                                    \
	do {                                                                                       \
		if ((call) < 0) {                                                                  \
			ret = -EIO;                                                                \
			goto fail;                                                                 \
		}                                                                                  \
	} while (0)

int akr_report_write_json(const struct akr_report *r, FILE *f)
{
	const struct akr_report_totals *t = &r->totals;
	const struct akr_report_row **blocked = NULL;
	size_t n_blocked = 0;
	yajl_gen g = akr_json_gen_new();
	int ret = -ENOMEM;

	if (!g || akr_report_cannot_rotate(r, &blocked, &n_blocked) < 0) {
		if (g)
			yajl_gen_free(g);
		return -ENOMEM;
	}
	(void)yajl_gen_config(g, yajl_gen_beautify, 1);
	G(yajl_gen_map_open(g));
	G(gen_ki(g, "schema_version", 1));
	G(gen_kv(g, "run_id", r->run_id));
	G(gen_kv(g, "mode", r->mode));
	G(gen_kt(g, "started", r->started_sec));
	G(gen_kt(g, "finished", r->finished_sec));
	G(gen_str(g, "complete"));
	G(yajl_gen_bool(g, r->complete));

	G(gen_str(g, "totals"));
	G(yajl_gen_map_open(g));
	G(gen_ki(g, "accounts_listed", (int64_t)t->accounts_listed));
	G(gen_ki(g, "accounts_done", (int64_t)t->accounts_done));
	G(gen_ki(g, "accounts_failed", (int64_t)t->accounts_failed));
	G(gen_ki(g, "accounts_excluded", (int64_t)t->accounts_excluded));
	G(gen_ki(g, "accounts_not_active", (int64_t)t->accounts_not_active));
	G(gen_ki(g, "users_seen", (int64_t)t->users_seen));
	G(gen_ki(g, "users_failed", (int64_t)t->users_failed));
	G(gen_ki(g, "users_exempt", (int64_t)t->users_exempt));
	G(gen_ki(g, "users_without_email", (int64_t)t->users_without_email));
	G(gen_ki(g, "users_cannot_rotate", (int64_t)n_blocked));
	G(gen_ki(g, "users_nothing_due_by_report", (int64_t)t->users_nothing_due_by_report));
	G(gen_ki(g, "accounts_with_credential_report", (int64_t)t->accounts_with_credential_report));
	G(gen_ki(g, "accounts_without_credential_report",
		 (int64_t)t->accounts_without_credential_report));
	G(gen_ki(g, "keys_created", (int64_t)t->keys_created));
	G(gen_ki(g, "keys_deactivated", (int64_t)t->keys_deactivated));
	G(gen_ki(g, "keys_deleted", (int64_t)t->keys_deleted));
	G(gen_ki(g, "mails_sent", (int64_t)t->mails_sent));
	for (int o = 0; o < _AKR_OUTCOME_MAX; o++)
		G(gen_ki(g, outcome_names[o], (int64_t)t->outcome[o]));
	G(yajl_gen_map_close(g));

	G(gen_str(g, "accounts"));
	G(yajl_gen_array_open(g));
	for (size_t i = 0; i < r->n_accounts; i++) {
		const struct report_account *a = &r->accounts[i];
		G(yajl_gen_map_open(g));
		G(gen_kv(g, "id", a->id));
		G(gen_kv(g, "name", a->name));
		G(gen_kv(g, "state", account_state_names[a->state]));
		G(gen_kv(g, "error", a->error));
		G(yajl_gen_map_close(g));
		F(json_flush(g, f, JSON_FLUSH_BYTES));
	}
	G(yajl_gen_array_close(g));

	/* The users of the attention alert: due, but no address or no slot. */
	G(gen_str(g, "cannot_rotate"));
	G(yajl_gen_array_open(g));
	for (size_t i = 0; i < n_blocked; i++) {
		G(gen_row(g, blocked[i], false));
		F(json_flush(g, f, JSON_FLUSH_BYTES));
	}
	G(yajl_gen_array_close(g));

	G(gen_str(g, "actions"));
	G(yajl_gen_array_open(g));
	for (size_t i = 0; i < r->n_rows; i++) {
		G(gen_row(g, &r->rows[i]->pub, true));
		F(json_flush(g, f, JSON_FLUSH_BYTES));
	}
	G(yajl_gen_array_close(g));
	G(yajl_gen_map_close(g));
	F(json_flush(g, f, 0));
	ret = 0;
fail:
	free(blocked);
	yajl_gen_free(g);
	return ret;
}

int akr_report_summary(const struct akr_report *r, char *buf, size_t size)
{
	const struct akr_report_totals *t = &r->totals;
	int n;

	n = snprintf(buf, size,
		     "run %s (%s)%s: %llu accounts (%llu failed, %llu excluded, %llu not active), "
		     "%llu users; keys created %llu, deactivated %llu, deleted %llu; mails %llu; "
		     "%llu planned, %llu done, %llu failed, %llu skipped, %llu rolled back",
		     r->run_id, r->mode, r->complete ? "" : " INCOMPLETE",
		     (unsigned long long)t->accounts_listed, (unsigned long long)t->accounts_failed,
		     (unsigned long long)t->accounts_excluded,
		     (unsigned long long)t->accounts_not_active, (unsigned long long)t->users_seen,
		     (unsigned long long)t->keys_created, (unsigned long long)t->keys_deactivated,
		     (unsigned long long)t->keys_deleted, (unsigned long long)t->mails_sent,
		     (unsigned long long)t->outcome[AKR_OUTCOME_PLANNED],
		     (unsigned long long)t->outcome[AKR_OUTCOME_DONE],
		     (unsigned long long)t->outcome[AKR_OUTCOME_FAILED],
		     (unsigned long long)t->outcome[AKR_OUTCOME_SKIPPED],
		     (unsigned long long)t->outcome[AKR_OUTCOME_ROLLED_BACK]);
	return n < 0 ? -EINVAL : 0;
}

int akr_report_print_table(const struct akr_report *r, FILE *f)
{
	const struct akr_report_row **sorted;
	char summary[1024], age[24];

	sorted = calloc(r->n_rows ? r->n_rows : 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_rows; i++)
		sorted[i] = &r->rows[i]->pub;
	/* Stable by account, user, then the order the plan gave. */
	qsort(sorted, r->n_rows, sizeof(*sorted), user_row_cmp);

	fprintf(f, "%-12s  %-20s  %-20s  %4s  %-10s  %-11s  %s\n", "ACCOUNT", "USER", "KEY", "AGE",
		"ACTION", "OUTCOME", "REASON");
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct akr_report_row *w = sorted[i];
		if (w->key_age_days >= 0)
			(void)snprintf(age, sizeof(age), "%lld", (long long)w->key_age_days);
		else
			(void)snprintf(age, sizeof(age), "-");
		fprintf(f, "%-12s  %-20s  %-20s  %4s  %-10s  %-11s  %s%s%s%s%s\n",
			w->account_id ? w->account_id : "-", w->user_name ? w->user_name : "-",
			w->access_key_id ? w->access_key_id : (strcmp(w->action, "create") == 0 ? "(new key)" : "-"),
			age, w->action, outcome_names[w->outcome], w->reason ? w->reason : "",
			w->detail ? " (" : "", w->detail ? w->detail : "", w->detail ? ")" : "",
			"");
		if (w->error)
			fprintf(f, "%-12s  %-20s  %-20s  %4s  %-10s  %-11s  error: %s\n", "", "", "", "",
				"", "", w->error);
	}
	for (size_t i = 0; i < r->n_accounts; i++) {
		if (r->accounts[i].state != AKR_ACCOUNT_FAILED)
			continue;
		fprintf(f, "%-12s  %-20s  %-20s  %4s  %-10s  %-11s  account failed: %s\n",
			r->accounts[i].id, "-", "-", "-", "-", "failed",
			r->accounts[i].error ? r->accounts[i].error : "unknown error");
	}
	free(sorted);
	(void)akr_report_summary(r, summary, sizeof(summary));
	fprintf(f, "\n%s\n", summary);
	return 0;
}
