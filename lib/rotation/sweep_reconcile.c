/* Intents left open: a rotation that got as far as the intent record (and
 * maybe CreateAccessKey) but not to "done". The key it may have created has no
 * delivered secret, so it is found — by the recorded key id, or as a key
 * created since the intent that was not there before — and deleted. Run at
 * the start of every sweep before anything else, and inline when a
 * rotation's delivery fails. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/array.h"
#include "lib/aws/iam.h"
#include "lib/rotation/config.h"
#include "lib/aws/assumed_role.h"
#include "lib/base/log.h"
#include "lib/rotation/statelog.h"
#include "lib/rotation/sweep-internal.h"

/* A key created up to this long before the intent's timestamp still counts
 * as "created for the intent" (clock differences between us and IAM). */
#define CREATE_DATE_SLACK_SEC 300

struct rollback {
	struct akr_sweep *s;
	struct akr_aws_client c; /* the caller's, marked to survive a stop */
	uint64_t intent_id;
	char *user, *key_id;
	int64_t intent_sec, window_sec;
	char **known;
	size_t n_known;
	char **doomed;
	size_t n_doomed, next_doomed;
	sweep_rollback_cb cb;
	void *userdata;
	struct akr_error err;
	int r;
};

static void rollback_free(struct rollback *rb)
{
	for (size_t i = 0; i < rb->n_known; i++)
		free(rb->known[i]);
	free(rb->known);
	for (size_t i = 0; i < rb->n_doomed; i++)
		free(rb->doomed[i]);
	free(rb->doomed);
	free(rb->user);
	free(rb->key_id);
	free(rb);
}

static void rollback_finish(struct rollback *rb)
{
	int r = rb->r;

	if (r >= 0) {
		r = akr_statelog_mark_rolled_back(rb->s->o.statelog, rb->intent_id);
		if (r >= 0)
			r = akr_statelog_mark_done(rb->s->o.statelog, rb->intent_id);
		if (r < 0)
			akr_log_error_errno(r, "Cannot close intent %llu in the state log: %m",
					    (unsigned long long)rb->intent_id);
	}
	rb->cb(rb->userdata, r, rb->err.kind != AKR_ERROR_NONE ? &rb->err : NULL);
	rollback_free(rb);
}

static void delete_next(struct rollback *rb);

static void on_deleted(void *userdata, int r, const struct akr_error *err)
{
	struct rollback *rb = userdata;
	const char *id = rb->doomed[rb->next_doomed - 1];
	char detail[768];

	/* NoSuchEntity: already gone, which is what we want. */
	if (r < 0 && !(err && strcmp(err->code, "NoSuchEntity") == 0)) {
		rb->r = r;
		if (err)
			rb->err = *err;
		akr_log_error("Cannot delete undelivered key %s of user '%s': %s", id, rb->user,
			      akr_error_describe_errno(err, r, detail, sizeof(detail)));
	} else {
		akr_log_full(LOG_WARNING, 0,
			     AKR_FIELDS(.message_id = AKR_MID_RECONCILED, .run_id = rb->s->run_id,
						       .user_name = rb->user, .access_key_id = id,
						       .action = "rollback", .result = "done"),
			     "Deleted key %s of user '%s': its secret was never delivered", id, rb->user);
	}
	delete_next(rb);
}

static void delete_next(struct rollback *rb)
{
	int r;

	while (rb->next_doomed < rb->n_doomed) {
		r = akr_iam_delete_access_key(&rb->c, rb->user, rb->doomed[rb->next_doomed++], on_deleted, rb);
		if (r >= 0)
			return;
		rb->r = r;
	}
	rollback_finish(rb);
}

static bool is_known(const struct rollback *rb, const char *id)
{
	for (size_t i = 0; i < rb->n_known; i++)
		if (strcmp(rb->known[i], id) == 0)
			return true;
	return false;
}

static int doom(struct rollback *rb, const char *id)
{
	for (size_t i = 0; i < rb->n_doomed; i++)
		if (strcmp(rb->doomed[i], id) == 0)
			return 0;
	if (AKR_ARRAY_GROW(rb->doomed, NULL, rb->n_doomed, 1) < 0)
		return -ENOMEM;
	rb->doomed[rb->n_doomed] = strdup(id);
	if (!rb->doomed[rb->n_doomed])
		return -ENOMEM;
	rb->n_doomed++;
	return 0;
}

static void on_keys(void *userdata, int r, struct akr_iam_keys_page *page, const struct akr_error *err)
{
	struct rollback *rb = userdata;

	if (r < 0) {
		if (err && strcmp(err->code, "NoSuchEntity") == 0) {
			/* The user is gone, and with it any key. */
			rollback_finish(rb);
			return;
		}
		rb->r = r;
		if (err)
			rb->err = *err;
		rollback_finish(rb);
		return;
	}
	for (size_t i = 0; i < page->n_keys && rb->r >= 0; i++) {
		const struct akr_iam_access_key *k = &page->keys[i];
		/* Without a recorded id: a key the request of the intent could
		 * have made, created within its window, and not there before. */
		bool ours = rb->key_id ? strcmp(k->access_key_id, rb->key_id) == 0
				       : (!is_known(rb, k->access_key_id) &&
					  k->create_date_sec >= rb->intent_sec - CREATE_DATE_SLACK_SEC &&
					  k->create_date_sec <= rb->intent_sec + rb->window_sec);
		if (ours)
			rb->r = doom(rb, k->access_key_id);
	}
	if (rb->r < 0) {
		rollback_finish(rb);
		return;
	}
	delete_next(rb);
}

int akr__sweep_rollback_intent(struct akr_sweep *s, const struct akr_aws_client *c, uint64_t intent_id,
			  const char *user, const char *key_id, int64_t intent_sec,
			  const char *const *known_key_ids, size_t n_known, sweep_rollback_cb cb,
			  void *userdata)
{
	struct rollback *rb = calloc(1, sizeof(*rb));
	int r = -ENOMEM;

	if (!rb)
		return -ENOMEM;
	*rb = (struct rollback){ .s = s, .c = *c, .intent_id = intent_id, .intent_sec = intent_sec,
				 .cb = cb, .userdata = userdata };
	/* A stop cancels what is in flight; a rollback still runs (bounded by
	 * limits.stop_timeout_sec). */
	rb->c.survives_shutdown = true;
	/* The longest a CreateAccessKey request could have been under way. */
	rb->window_sec = CREATE_DATE_SLACK_SEC +
			 (int64_t)s->cfg->limits.request_timeout_sec * s->cfg->limits.max_attempts;
	rb->user = strdup(user);
	rb->key_id = key_id ? strdup(key_id) : NULL;
	if (!rb->user || (key_id && !rb->key_id))
		goto fail;
	if (n_known) {
		rb->known = calloc(n_known, sizeof(char *));
		if (!rb->known)
			goto fail;
		for (size_t i = 0; i < n_known; i++) {
			rb->known[i] = strdup(known_key_ids[i]);
			if (!rb->known[i])
				goto fail;
			rb->n_known++;
		}
	}
	/* Always list: the recorded id may be gone, and without one the key is
	 * found by its creation time. */
	r = akr_iam_list_access_keys(&rb->c, user, NULL, 0, on_keys, rb);
	if (r < 0)
		goto fail;
	return 0;
fail:
	rollback_free(rb);
	return r;
}

/* ---- start-up reconciliation ---- */

struct intent_task {
	struct akr_sweep *s;
	struct akr_assumed_role *role;
	struct akr_aws_client client;
	char account_id[13];
	char *user;
};

/* A failure while reconciling never lets the sweep go on as if nothing were
 * open: the user is blocked (reported, nothing done to them in this run).
 * When even that cannot be remembered, akr__sweep_block_user() blocks everyone
 * and stops the sweep. @account_id and @user are borrowed. */
static void reconcile_failed(struct akr_sweep *s, const char *account_id, const char *user, int r,
			     const struct akr_error *err)
{
	char detail[768];

	(void)akr_error_describe_errno(err, r, detail, sizeof(detail));
	akr_log_full(LOG_ERR, 0,
		     AKR_FIELDS(.message_id = AKR_MID_RECONCILED, .run_id = s->run_id,
				.account_id = account_id, .user_name = user, .action = "reconcile",
				.result = "failed"),
		     "Cannot reconcile the unfinished rotation of user '%s' in account %s: %s; "
		     "the user is not rotated in this run",
		     user, account_id, detail);
	(void)akr__sweep_block_user(s, account_id, user);
	(void)akr__sweep_report_row(s, account_id, NULL, user, NULL, "reconcile", -1,
			       "an interrupted rotation left a key that may be undelivered",
			       AKR_OUTCOME_FAILED, detail, NULL);
}

static void reconcile_one_done(struct akr_sweep *s)
{
	if (--s->reconcile_pending == 0)
		akr__sweep_reconcile_done(s);
}

static void on_intent_reconciled(void *userdata, int r, const struct akr_error *err)
{
	struct intent_task *it = userdata;
	struct akr_sweep *s = it->s;

	if (r < 0)
		reconcile_failed(s, it->account_id, it->user, r, err);
	else
		(void)akr__sweep_report_row(s, it->account_id, NULL, it->user, NULL, "reconcile", -1,
				       "an interrupted rotation was rolled back", AKR_OUTCOME_DONE,
				       NULL, NULL);
	akr_assumed_role_free(it->role);
	free(it->user);
	free(it);
	reconcile_one_done(s);
}

/* Starts the reconciliation of one open intent; whatever happens, the
 * pending count goes down exactly once for it. */
static void reconcile_intent(struct akr_sweep *s, const struct akr_statelog_intent *in)
{
	struct intent_task *it = calloc(1, sizeof(*it));
	int r;

	if (!it || !(it->user = strdup(in->user_name))) {
		free(it);
		/* The intent's strings stay valid while the list is walked. */
		reconcile_failed(s, in->account_id, in->user_name, -ENOMEM, NULL);
		reconcile_one_done(s);
		return;
	}
	it->s = s;
	(void)snprintf(it->account_id, sizeof(it->account_id), "%s", in->account_id);
	if (in->delivered || in->rolled_back) {
		/* The user has the secret (the key stays), or the key is gone
		 * already: either way the intent just closes. */
		r = akr_statelog_mark_done(s->o.statelog, in->id);
		on_intent_reconciled(it, r, NULL);
		return;
	}
	r = akr__sweep_account_client(s, it->account_id, &it->role, &it->client);
	if (r >= 0) {
		it->client.key = it->account_id;
		r = akr__sweep_rollback_intent(s, &it->client, in->id, in->user_name, in->key_id,
					  in->time_sec, NULL, 0, on_intent_reconciled, it);
	}
	if (r < 0)
		on_intent_reconciled(it, r, NULL);
}

int akr__sweep_reconcile_start(struct akr_sweep *s)
{
	const struct akr_statelog_intent *intents = NULL;
	size_t n = 0;
	int r;

	if (s->o.statelog) {
		/* Not knowing what is open is not "nothing is open": the sweep
		 * cannot run. */
		r = akr_statelog_open_intents(s->o.statelog, &intents, &n);
		if (r < 0)
			return r;
	}
	if (n == 0 || s->o.mode == AKR_SWEEP_DRY_RUN) {
		if (n)
			akr_log_warning("%zu unfinished rotations in the state log; a dry run leaves them",
					n);
		akr__sweep_reconcile_done(s);
		return 0;
	}
	akr_log_full(LOG_WARNING, 0,
		     AKR_FIELDS(.message_id = AKR_MID_RECONCILED, .run_id = s->run_id),
		     "%zu rotations were interrupted; removing any key they created before anything else", n);
	/* Counted first, so that a synchronous failure cannot finish early. */
	s->reconcile_pending = n + 1;
	for (size_t i = 0; i < n; i++)
		reconcile_intent(s, &intents[i]);
	reconcile_one_done(s);
	return 0;
}
