/* One user of one account: read the tags and the keys (every page), ask the
 * policy, read last-use where the plan needs it, then carry the plan out in
 * order under the safety protocol: intent logged and fsynced before
 * CreateAccessKey, the secret only in memory and wiped once the mails are
 * composed, the new key deleted again if either mail fails. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/iam.h"
#include "lib/aws/ses.h"
#include "lib/base/array.h"
#include "lib/base/buf.h"
#include "lib/rotation/config.h"
#include "lib/delivery/delivery.h"
#include "lib/base/log.h"
#include "lib/base/secret.h"
#include "lib/rotation/statelog.h"
#include "lib/base/strutil.h"
#include "lib/rotation/sweep-internal.h"
#include "lib/base/timeutil.h"
#include "lib/http/retry.h"

/* A throttled write is sent again after a full-jitter backoff under this cap
 * (the account's adaptive rate in the http engine paces it as well). */
#define WRITE_AGAIN_BASE_MS 1000
#define WRITE_AGAIN_CAP_MS 20000
/* ... at most this many times, so that an account that throttles every
 * write cannot hold the sweep forever (every sweep ends in bounded time):
 * then the write fails and is reported (a rotation is rolled back). */
#define WRITE_AGAIN_MAX 6

/* SES v1 takes at most 10 MB per message after base64. */
#define SWEEP_MAX_MESSAGE (7 * 1024 * 1024)
#define MAX_TAGS 50 /* IAM's limit per user */
/* IAM allows two keys a user; more than this many listed is no IAM answer. */
#define MAX_KEYS_LISTED (AKR_POLICY_MAX_KEYS + 8)

struct key_last_used {
	bool known;
	int64_t last_used_sec;
	char service[64], region[32];
};

struct user_task {
	struct sweep_account *a;
	struct akr_sweep *s;
	char *name;

	struct akr_iam_tag *tags;
	size_t n_tags;
	struct akr_iam_access_key *keys;
	size_t n_keys;
	char *marker;
	struct akr_paging paging; /* of the listing in progress: tags, then keys */

	struct akr_policy_tag ptags[MAX_TAGS];
	struct akr_policy_key pkeys[AKR_POLICY_MAX_KEYS];
	struct akr_plan plan;
	struct key_last_used last_used[AKR_POLICY_MAX_KEYS];
	size_t next_action, lu_next;
	unsigned read_attempts;
	const struct user_listing *listing; /* in progress: tags, then keys */
	unsigned write_attempts; /* throttled answers to the current write */
	struct akr_error write_err; /* the last of them */

	/* The rotation in progress. */
	size_t mails_reserved; /* of today's SES quota, for its two mails */
	uint64_t intent_id;
	int64_t intent_sec;
	struct akr_iam_new_key new_key;
	struct akr_buf rotation_mail, password_mail;
	char failure[768];
	int64_t now_sec;
};

static void next_action(struct user_task *t);

/* Gives back the part of today's SES quota the rotation did not use. */
static void release_mails(struct user_task *t)
{
	akr_delivery_sender_release(t->s->mailer, t->mails_reserved);
	t->mails_reserved = 0;
}

static void user_task_free(struct user_task *t)
{
	release_mails(t);
	for (size_t i = 0; i < t->n_tags; i++) {
		free(t->tags[i].key);
		free(t->tags[i].value);
	}
	free(t->tags);
	for (size_t i = 0; i < t->n_keys; i++) {
		free(t->keys[i].user_name);
		free(t->keys[i].access_key_id);
	}
	free(t->keys);
	free(t->marker);
	akr_paging_done(&t->paging);
	akr_iam_new_key_done(&t->new_key);
	akr_buf_done(&t->rotation_mail);
	akr_buf_done(&t->password_mail);
	free(t->name);
	free(t);
}

static void user_done(struct user_task *t)
{
	struct sweep_account *a = t->a;

	user_task_free(t);
	akr__sweep_account_user_done(a);
}

/* "<the call and its target>: <error>" (the call is named when the AWS
 * client said which one failed). */
static void describe(const struct akr_error *err, int r, char *buf, size_t size)
{
	char detail[768];
	int n;

	(void)akr_error_describe_errno(err, r, detail, sizeof(detail));
	/* Truncation is fine: the caller's buffer bounds a log line. */
	if (err && err->operation[0])
		n = snprintf(buf, size, "%s: %s", err->operation, detail);
	else
		n = snprintf(buf, size, "%s", detail);
	if (n < 0 && size > 0)
		buf[0] = '\0';
}

static void user_fail(struct user_task *t, const char *what, int r, const struct akr_error *err)
{
	char msg[900];
	struct akr_log_fields f = {
		.message_id = AKR_MID_KEY_ACTION,
		.run_id = t->s->run_id,
		.account_id = t->a->id,
		.user_name = t->name,
		.result = "failed",
		.error_code = err && err->code[0] ? err->code : NULL,
	};

	akr__sweep_describe_failure(t->s, what, t->a->id, r, err, msg, sizeof(msg));
	akr_log_full(LOG_ERR, 0, &f, "User '%s' in account %s: %s, skipping the user", t->name,
		     t->a->id, msg);
	(void)akr__sweep_report_row(t->s, t->a->id, t->a->name, t->name, NULL, "read", -1,
			       "could not read the user", AKR_OUTCOME_FAILED, msg, NULL);
	akr_report_totals(t->s->report)->users_failed++;
	user_done(t);
}

void akr__sweep_user_invalid(struct sweep_account *a, const struct akr_iam_user *u)
{
	char name[96], msg[700];
	struct akr_log_fields f = {
		.message_id = AKR_MID_KEY_ACTION,
		.run_id = a->s->run_id,
		.account_id = a->id,
		.user_name = name,
		.result = "failed",
		.error_code = "MalformedResponse",
	};

	/* The name is what the answer said: it may be anything, or absent. */
	(void)akr_str_escape_controls(u->name ? u->name : "", name, sizeof(name));
	(void)snprintf(msg, sizeof(msg), "ListUsers: invalid item: %s", u->invalid);
	akr_log_full(LOG_ERR, 0, &f, "User '%s' in account %s: %s, skipping the user", name, a->id,
		     msg);
	(void)akr__sweep_report_row(a->s, a->id, a->name, name, NULL, "read", -1,
			       "could not read the user", AKR_OUTCOME_FAILED, msg, NULL);
	akr_report_totals(a->s->report)->users_failed++;
}

/* The state log could not record a fact the safety protocol relies on (a
 * delivery, a deactivation): nothing more that depends on it may happen in
 * this run. The user is blocked and the sweep stops starting work. */
static void statelog_failed(struct user_task *t, int r, const char *what, const char *key_id)
{
	akr_log_full(LOG_CRIT, r,
		     AKR_FIELDS(.run_id = t->s->run_id, .account_id = t->a->id, .user_name = t->name,
				.access_key_id = key_id, .result = "statelog-failed"),
		     "Cannot record %s of %s (user '%s', account %s) in the state log: %m; "
		     "stopping the sweep", what, key_id ? key_id : "-", t->name, t->a->id);
	(void)akr__sweep_block_user(t->s, t->a->id, t->name);
	akr_sweep_stop(t->s);
}

static const struct akr_iam_access_key *find_key(const struct user_task *t, const char *id, size_t *ret_idx)
{
	for (size_t i = 0; i < t->n_keys; i++)
		if (id && strcmp(t->keys[i].access_key_id, id) == 0) {
			if (ret_idx)
				*ret_idx = i;
			return &t->keys[i];
		}
	return NULL;
}

static const char *last_used_text(const struct user_task *t, const char *key_id, char *buf, size_t size)
{
	size_t i;
	char date[16];

	if (!find_key(t, key_id, &i) || !t->last_used[i].known)
		return NULL;
	if (t->last_used[i].last_used_sec == 0)
		(void)snprintf(buf, size, "never used");
	else
		(void)snprintf(buf, size, "last used %s by %s in %s",
			       akr_time_format_date(t->last_used[i].last_used_sec, date, sizeof(date)),
			       t->last_used[i].service, t->last_used[i].region);
	return buf;
}

static void action_row(struct user_task *t, const struct akr_action *act, enum akr_outcome outcome,
		       const char *error, const char *extra)
{
	char lu[160], detail[400], d1[16], d2[16];
	const char *l = last_used_text(t, act->key_id, lu, sizeof(lu));
	struct akr_log_fields f = {
		.message_id = AKR_MID_KEY_ACTION,
		.run_id = t->s->run_id,
		.account_id = t->a->id,
		.user_name = t->name,
		.access_key_id = act->key_id ? act->key_id : (t->new_key.access_key_id),
		.action = akr_action_kind_to_string(act->kind),
		.result = akr_outcome_to_string(outcome),
	};

	detail[0] = '\0';
	if (act->kind == AKR_ACTION_CREATE && act->replaces_key_id)
		(void)snprintf(detail, sizeof(detail), "replaces %s; it is deactivated from %s, deleted from %s%s%s",
			       act->replaces_key_id,
			       act->deactivate_on_sec ? akr_time_format_date(act->deactivate_on_sec, d1, sizeof(d1)) : "-",
			       act->delete_on_sec ? akr_time_format_date(act->delete_on_sec, d2, sizeof(d2)) : "-",
			       extra ? "; " : "", extra ? extra : "");
	else if (l || extra)
		(void)snprintf(detail, sizeof(detail), "%s%s%s", l ? l : "", l && extra ? "; " : "",
			       extra ? extra : "");
	(void)akr__sweep_report_row(t->s, t->a->id, t->a->name, t->name,
			       act->key_id ? act->key_id : t->new_key.access_key_id,
			       akr_action_kind_to_string(act->kind), act->age_days,
			       akr_reason_to_string(act->reason), outcome, error,
			       detail[0] ? detail : NULL);
	if (outcome != AKR_OUTCOME_PLANNED && outcome != AKR_OUTCOME_SKIPPED)
		akr_log_full(outcome == AKR_OUTCOME_DONE ? LOG_NOTICE : LOG_ERR, 0, &f,
			     "%s %s of user '%s' in account %s: %s%s%s",
			     akr_action_kind_to_string(act->kind),
			     f.access_key_id ? f.access_key_id : "(new key)", t->name, t->a->id,
			     akr_outcome_to_string(outcome), error ? ": " : "", error ? error : "");
}

/* ---- mail ---- */

typedef void (*mail_cont)(struct user_task *t, int r, const struct akr_error *err);

struct mail_ctx {
	struct user_task *t;
	mail_cont cont;
	enum akr_mail_kind kind;
};

/* What each mail is, in its log line. */
static const char *const mail_kind_names[_AKR_MAIL_KIND_MAX] = {
	[AKR_MAIL_ROTATION] = "key",
	[AKR_MAIL_PASSWORD] = "password",
	[AKR_MAIL_REMINDER] = "reminder",
	[AKR_MAIL_DEACTIVATED] = "deactivation notice",
	[AKR_MAIL_DELETED] = "deletion notice",
	[AKR_MAIL_ADDRESS_CHANGED] = "address change notice",
};

static void on_mail_sent(void *userdata, int r, const char *message_id, const struct akr_error *err)
{
	struct mail_ctx *m = userdata;
	struct user_task *t = m->t;
	mail_cont cont = m->cont;
	const char *kind = (unsigned)m->kind < _AKR_MAIL_KIND_MAX ? mail_kind_names[m->kind] : "?";

	free(m);
	if (r >= 0) {
		akr_report_totals(t->s->report)->mails_sent++;
		akr_log_full(LOG_INFO, 0,
			     AKR_FIELDS(.message_id = AKR_MID_MAIL_SENT, .run_id = t->s->run_id,
						       .account_id = t->a->id, .user_name = t->name),
			     "Mail (%s) to user '%s' of account %s accepted by SES (message id '%s')",
			     kind, t->name, t->a->id, message_id ? message_id : "");
	}
	cont(t, r, err);
}

/* Takes @msg: the sender releases it (wiped) whatever happens. */
static int send_mail(struct user_task *t, enum akr_mail_kind kind, struct akr_buf *msg,
		     mail_cont cont)
{
	struct mail_ctx *ctx = calloc(1, sizeof(*ctx));
	int r;

	if (!ctx) {
		akr_buf_done(msg);
		return -ENOMEM;
	}
	ctx->t = t;
	ctx->cont = cont;
	ctx->kind = kind;
	if (t->mails_reserved > 0) {
		/* A rotation's mail: its part of today's quota is set aside. */
		t->mails_reserved--;
		r = akr_delivery_send_reserved(t->s->mailer, t->s->cfg->email.sender, t->plan.email,
					       msg, on_mail_sent, ctx);
	} else {
		r = akr_delivery_send(t->s->mailer, t->s->cfg->email.sender, t->plan.email, msg,
				      on_mail_sent, ctx);
	}
	if (r < 0)
		free(ctx);
	return r;
}

static void mail_params(struct user_task *t, const struct akr_action *act, struct akr_mail_params *p)
{
	size_t i;

	*p = (struct akr_mail_params){
		.sender = t->s->cfg->email.sender,
		.recipient = t->plan.email,
		.user = t->name,
		.account_id = t->a->id,
		.account_name = t->a->name ? t->a->name : t->a->id,
		.access_key_id = act->kind == AKR_ACTION_CREATE ? t->new_key.access_key_id : act->key_id,
		.old_access_key_id = act->kind == AKR_ACTION_CREATE ? act->replaces_key_id : act->key_id,
		.now_sec = t->now_sec,
		.deactivate_on_sec = act->deactivate_on_sec,
		.delete_on_sec = act->delete_on_sec,
		.templates = t->s->templates,
	};
	if (act->key_id && find_key(t, act->key_id, &i) && t->last_used[i].known) {
		p->last_used_sec = t->last_used[i].last_used_sec;
		p->last_used_service = t->last_used[i].service;
		p->last_used_region = t->last_used[i].region;
	}
}

/* A notice after a done action (reminder, deactivation, deletion): its
 * failure is reported, the action stays done. */
static void on_notice_sent(struct user_task *t, int r, const struct akr_error *err)
{
	const struct akr_action *act = &t->plan.actions[t->next_action - 1];
	char detail[768];

	if (r < 0) {
		describe(err, r, detail, sizeof(detail));
		(void)akr__sweep_report_row(t->s, t->a->id, t->a->name, t->name, act->key_id, "notify",
				       act->age_days, "notice mail", AKR_OUTCOME_FAILED, detail, NULL);
		akr_log_full(LOG_ERR, 0,
			     AKR_FIELDS(.message_id = AKR_MID_MAIL_SENT, .run_id = t->s->run_id,
						       .account_id = t->a->id, .user_name = t->name,
						       .access_key_id = act->key_id, .result = "failed",
						       .error_code = err && err->code[0] ? err->code : NULL),
			     "Notice mail to user '%s' of account %s failed: %s", t->name, t->a->id, detail);
	}
	next_action(t);
}

static void send_notice(struct user_task *t, const struct akr_action *act, enum akr_mail_kind kind)
{
	struct akr_mail_params p;
	struct akr_error err = { 0 };
	struct akr_buf msg;
	int r;

	if (!t->plan.email) {
		next_action(t);
		return;
	}
	mail_params(t, act, &p);
	akr_buf_init(&msg, SWEEP_MAX_MESSAGE, false);
	r = akr_delivery_compose_notice(kind, &p, &msg, &err);
	if (r >= 0)
		r = send_mail(t, kind, &msg, on_notice_sent);
	akr_buf_done(&msg);
	if (r < 0)
		on_notice_sent(t, r, &err);
}

/* ---- writes throttled ---- */

/* A throttled answer means the call did not take effect: IAM refused it
 * unprocessed. So a write that is still throttled after the http engine's
 * own retries waits and is sent again, for as long as the sweep runs; it is
 * never given up for throttling (issue 11). Returns true when @again(@t)
 * was scheduled; it then finds the error in t->write_err should the sweep
 * be stopping by the time it runs. */
static bool write_again_later(struct user_task *t, const char *what, int r,
			      const struct akr_error *err, void (*again)(void *))
{
	int64_t delay;

	if (r >= 0 || !err || err->retry != AKR_RETRY_THROTTLING || t->s->stopping ||
	    t->write_attempts >= WRITE_AGAIN_MAX) {
		t->write_attempts = 0;
		return false;
	}
	t->write_attempts++;
	delay = akr_retry_backoff_ms(t->write_attempts, WRITE_AGAIN_BASE_MS, WRITE_AGAIN_CAP_MS,
				     akr_retry_rng_next(&t->s->rng));
	if (akr__sweep_defer(t->s, delay, again, t) < 0) {
		t->write_attempts = 0;
		return false;
	}
	t->write_err = *err;
	akr_log_debug("%s of user '%s' in account %s throttled (%u times); sending it again in %lld ms",
		      what, t->name, t->a->id, t->write_attempts, (long long)delay);
	return true;
}

/* ---- deactivate, delete, remind ---- */

static void key_write(struct user_task *t);

static void key_write_again(void *arg)
{
	key_write(arg);
}

/* The answer to UpdateAccessKey (deactivate) or DeleteAccessKey. */
static void on_key_written(void *userdata, int r, const struct akr_error *err)
{
	struct user_task *t = userdata;
	const struct akr_action *act = &t->plan.actions[t->next_action - 1];
	bool deactivate = act->kind == AKR_ACTION_DEACTIVATE;
	char detail[768];

	if (write_again_later(t, deactivate ? "UpdateAccessKey" : "DeleteAccessKey", r, err,
			      key_write_again))
		return;
	if (r < 0) {
		describe(err, r, detail, sizeof(detail));
		action_row(t, act, AKR_OUTCOME_FAILED, detail, NULL);
		next_action(t);
		return;
	}
	if (deactivate) {
		r = akr_statelog_record_deactivated(t->s->o.statelog, t->now_sec, t->a->id, t->name,
						    act->key_id);
		if (r < 0)
			statelog_failed(t, r, "the deactivation", act->key_id);
		akr_report_totals(t->s->report)->keys_deactivated++;
	} else {
		r = akr_statelog_record_deleted(t->s->o.statelog, t->now_sec, t->a->id, t->name,
						act->key_id);
		if (r < 0)
			akr_log_error_errno(r, "Cannot record the deletion of %s in the state log: %m",
					    act->key_id);
		akr_report_totals(t->s->report)->keys_deleted++;
	}
	action_row(t, act, AKR_OUTCOME_DONE, NULL, NULL);
	send_notice(t, act, deactivate ? AKR_MAIL_DEACTIVATED : AKR_MAIL_DELETED);
}

/* Sends the current action's write, or, when the sweep stopped while a
 * throttled one waited to be sent again, ends it with the throttled answer
 * it got last. */
static void key_write(struct user_task *t)
{
	const struct akr_action *act = &t->plan.actions[t->next_action - 1];
	int r;

	if (t->write_attempts > 0 && t->s->stopping) {
		on_key_written(t, -EPROTO, &t->write_err);
		return;
	}
	if (act->kind == AKR_ACTION_DEACTIVATE)
		r = akr_iam_update_access_key(&t->a->client, t->name, act->key_id,
					      AKR_IAM_KEY_INACTIVE, on_key_written, t);
	else
		r = akr_iam_delete_access_key(&t->a->client, t->name, act->key_id, on_key_written, t);
	if (r < 0)
		on_key_written(t, r, NULL);
}

static void on_reminded(struct user_task *t, int r, const struct akr_error *err)
{
	const struct akr_action *act = &t->plan.actions[t->next_action - 1];
	char detail[768];

	if (r < 0) {
		describe(err, r, detail, sizeof(detail));
		action_row(t, act, AKR_OUTCOME_FAILED, detail, NULL);
	} else {
		r = akr_statelog_record_reminded(t->s->o.statelog, t->now_sec, t->a->id, t->name, act->key_id);
		if (r < 0)
			akr_log_error_errno(r, "Cannot record the reminder for %s in the state log: %m",
					    act->key_id);
		action_row(t, act, AKR_OUTCOME_DONE, NULL, NULL);
	}
	next_action(t);
}

static void remind(struct user_task *t, const struct akr_action *act)
{
	struct akr_mail_params p;
	struct akr_error err = { 0 };
	struct akr_buf msg;
	int r;

	mail_params(t, act, &p);
	akr_buf_init(&msg, SWEEP_MAX_MESSAGE, false);
	r = akr_delivery_compose_notice(AKR_MAIL_REMINDER, &p, &msg, &err);
	if (r >= 0)
		r = send_mail(t, AKR_MAIL_REMINDER, &msg, on_reminded);
	akr_buf_done(&msg);
	if (r < 0)
		on_reminded(t, r, &err);
}

/* ---- create, deliver, roll back ---- */

static void rotation_finished(struct user_task *t, enum akr_outcome outcome, const char *error)
{
	const struct akr_action *act = &t->plan.actions[t->next_action - 1];

	action_row(t, act, outcome, error, NULL);
	release_mails(t);
	akr_iam_new_key_done(&t->new_key);
	akr_buf_done(&t->rotation_mail);
	akr_buf_done(&t->password_mail);
	if (outcome != AKR_OUTCOME_DONE) {
		/* One rotation per sweep; nothing else that depends on it may run. */
		t->next_action = t->plan.n_actions;
	}
	next_action(t);
}

static void on_rolled_back(void *userdata, int r, const struct akr_error *err)
{
	struct user_task *t = userdata;
	char detail[768], msg[1700];

	if (r < 0) {
		describe(err, r, detail, sizeof(detail));
		(void)snprintf(msg, sizeof(msg), "%s; the rollback failed too (%s): the key is deleted "
			       "when the state log is reconciled at the next start or sweep",
			       t->failure, detail);
		(void)akr__sweep_block_user(t->s, t->a->id, t->name);
		rotation_finished(t, AKR_OUTCOME_FAILED, msg);
		return;
	}
	rotation_finished(t, AKR_OUTCOME_ROLLED_BACK, t->failure);
}

static void rollback(struct user_task *t, const char *what, int r, const struct akr_error *err)
{
	const char *known[AKR_POLICY_MAX_KEYS];
	char detail[700];

	describe(err, r, detail, sizeof(detail));
	(void)snprintf(t->failure, sizeof(t->failure), "%s: %s", what, detail);
	for (size_t i = 0; i < t->n_keys; i++)
		known[i] = t->keys[i].access_key_id;
	r = akr__sweep_rollback_intent(t->s, &t->a->client, t->intent_id, t->name, t->new_key.access_key_id,
				  t->intent_sec, known, t->n_keys, on_rolled_back, t);
	if (r < 0)
		on_rolled_back(t, r, NULL);
}

static void on_password_mail_sent(struct user_task *t, int r, const struct akr_error *err)
{
	if (r < 0) {
		rollback(t, "the password mail failed", r, err);
		return;
	}
	r = akr_statelog_mark_delivered(t->s->o.statelog, t->intent_id);
	if (r >= 0)
		r = akr_statelog_mark_done(t->s->o.statelog, t->intent_id);
	if (r < 0) {
		/* Delivered, but the log cannot say so: the next reconciliation
		 * will take the key for undelivered and delete it (the user
		 * then gets another rotation). Say it loudly and stop. */
		statelog_failed(t, r, "the delivery", t->new_key.access_key_id);
	}
	akr_report_totals(t->s->report)->keys_created++;
	rotation_finished(t, AKR_OUTCOME_DONE, NULL);
}

static void on_rotation_mail_sent(struct user_task *t, int r, const struct akr_error *err)
{
	if (r < 0) {
		rollback(t, "the key mail failed", r, err);
		return;
	}
	r = send_mail(t, AKR_MAIL_PASSWORD, &t->password_mail, on_password_mail_sent);
	if (r < 0)
		rollback(t, "cannot send the password mail", r, NULL);
}

static void create_send(struct user_task *t, const struct akr_action *act);

static void create_again(void *arg)
{
	struct user_task *t = arg;

	create_send(t, &t->plan.actions[t->next_action - 1]);
}

static void on_created(void *userdata, int r, struct akr_iam_new_key *key, const struct akr_error *err)
{
	struct user_task *t = userdata;
	const struct akr_action *act = &t->plan.actions[t->next_action - 1];
	struct akr_mail_params p;
	struct akr_error cerr = { 0 };

	/* Throttled: not processed, no key made; the intent stays open. */
	if (write_again_later(t, "CreateAccessKey", r, err, create_again))
		return;
	if (r < 0) {
		/* Whatever the answer, a key may exist: a 5xx or a lost answer
		 * "may or may not have been processed", and even a client error
		 * (an ExpiredToken, a 4xx from a proxy) is no proof when the cost
		 * of being wrong is a key whose secret nobody holds. Find it and
		 * delete it now (one ListAccessKeys): fail closed. */
		rollback(t, "CreateAccessKey failed", r, err);
		return;
	}
	t->new_key = *key;
	memset(key, 0, sizeof(*key));

	r = akr_statelog_mark_created(t->s->o.statelog, t->intent_id, t->new_key.access_key_id);
	if (r < 0) {
		akr_secret_free(TAKE_PTR(t->new_key.secret));
		rollback(t, "cannot record the new key in the state log", r, NULL);
		return;
	}
	mail_params(t, act, &p);
	akr_buf_init(&t->rotation_mail, SWEEP_MAX_MESSAGE, true);
	akr_buf_init(&t->password_mail, SWEEP_MAX_MESSAGE, true);
	r = akr_delivery_compose_rotation(&p, t->new_key.secret, t->s->zip_encryption,
					  &t->rotation_mail, &t->password_mail, &cerr);
	/* The secret now exists only inside the encrypted zip. */
	t->new_key.secret = akr_secret_free(t->new_key.secret);
	if (r < 0) {
		rollback(t, "cannot compose the mails", r, &cerr);
		return;
	}
	r = send_mail(t, AKR_MAIL_ROTATION, &t->rotation_mail, on_rotation_mail_sent);
	if (r < 0)
		rollback(t, "cannot send the key mail", r, NULL);
}

static void create_key(struct user_task *t, const struct akr_action *act)
{
	char detail[256];
	int r;

	/* No key that cannot be delivered today: both mails must fit in what
	 * is left of SES's daily quota (Max24HourSend). */
	r = akr_delivery_sender_reserve(t->s->mailer, 2);
	if (r < 0) {
		action_row(t, act, AKR_OUTCOME_FAILED,
			   r == -EDQUOT ? "not created: SES's daily sending quota (Max24HourSend) is "
					  "used up, the key could not be delivered today"
					: "not created: the mail sender is not ready",
			   NULL);
		t->next_action = t->plan.n_actions;
		next_action(t);
		return;
	}
	t->mails_reserved = 2;
	t->intent_sec = t->now_sec;
	r = akr_statelog_append_intent(t->s->o.statelog, t->intent_sec, t->s->run_id, t->a->id,
				       t->name, &t->intent_id);
	if (r < 0) {
		(void)snprintf(detail, sizeof(detail), "cannot write the intent to the state log: %s",
			       strerror(-r));
		release_mails(t);
		action_row(t, act, AKR_OUTCOME_FAILED, detail, NULL);
		t->next_action = t->plan.n_actions;
		next_action(t);
		return;
	}
	create_send(t, act);
}

/* Sends CreateAccessKey under the open intent, or, when the sweep stopped
 * while a throttled one waited to be sent again, ends the rotation with
 * that answer (a client error: no key was made). */
static void create_send(struct user_task *t, const struct akr_action *act)
{
	char detail[256];
	int r;

	if (t->write_attempts > 0 && t->s->stopping) {
		on_created(t, -EPROTO, NULL, &t->write_err);
		return;
	}
	r = akr_iam_create_access_key(&t->a->client, t->name, on_created, t);
	if (r < 0) {
		(void)akr_statelog_mark_done(t->s->o.statelog, t->intent_id);
		(void)snprintf(detail, sizeof(detail), "CreateAccessKey: %s", strerror(-r));
		release_mails(t);
		action_row(t, act, AKR_OUTCOME_FAILED, detail, NULL);
		t->next_action = t->plan.n_actions;
		next_action(t);
	}
}

/* ---- the address takeover defence (sweep_address.c) ---- */

static void on_address_checked(void *userdata, bool deliver)
{
	struct user_task *t = userdata;

	if (deliver)
		create_key(t, &t->plan.actions[t->next_action - 1]);
	else
		next_action(t);
}

/* Returns SWEEP_ADDRESS_DELIVER, _HELD (reported), _STARTED (the callback
 * follows) or -errno (reported). */
static int check_address(struct user_task *t, const struct akr_action *act)
{
	char error[512] = "";
	int r = akr__sweep_address_check(t->a, t->name, t->plan.email, act->replaces_key_id,
				    act->age_days, t->now_sec, on_address_checked, t, error,
				    sizeof(error));

	if (r < 0)
		action_row(t, act, AKR_OUTCOME_FAILED, error[0] ? error : strerror(-r), NULL);
	return r;
}

/* ---- the plan ---- */

static bool is_mutating(enum akr_action_kind k)
{
	return k == AKR_ACTION_CREATE || k == AKR_ACTION_DEACTIVATE || k == AKR_ACTION_DELETE ||
	       k == AKR_ACTION_REMIND;
}

static void next_action(struct user_task *t)
{
	struct akr_sweep *s = t->s;
	int r;

	for (;;) {
		const struct akr_action *act;

		if (t->next_action >= t->plan.n_actions) {
			user_done(t);
			return;
		}
		act = &t->plan.actions[t->next_action++];

		if (!is_mutating(act->kind)) {
			/* Users with nothing to do are only counted. */
			if (act->kind == AKR_ACTION_SKIP && act->reason != AKR_REASON_EXEMPT)
				continue;
			if (act->kind == AKR_ACTION_REPORT)
				akr_log_full(LOG_WARNING, 0,
					     AKR_FIELDS(.message_id = AKR_MID_USER_SKIPPED, .run_id = s->run_id,
							.account_id = t->a->id, .user_name = t->name,
							.access_key_id = act->key_id, .action = "report",
							.result = akr_reason_to_name(act->reason)),
					     "User '%s' in account %s is overdue (key %s, %lld days): %s",
					     t->name, t->a->id, act->key_id ? act->key_id : "-",
					     (long long)act->age_days, akr_reason_to_string(act->reason));
			action_row(t, act, AKR_OUTCOME_SKIPPED, NULL, NULL);
			continue;
		}
		if (s->o.mode == AKR_SWEEP_DRY_RUN) {
			/* A held key shows as a planned hold instead. */
			if (act->kind == AKR_ACTION_CREATE &&
			    check_address(t, act) != SWEEP_ADDRESS_DELIVER)
				continue;
			action_row(t, act, AKR_OUTCOME_PLANNED, NULL, NULL);
			continue;
		}
		if (s->stopping) {
			action_row(t, act, AKR_OUTCOME_SKIPPED, NULL, "not started: the daemon is stopping");
			continue;
		}
		if (akr__sweep_user_blocked(s, t->a->id, t->name)) {
			/* A key of this user may be undelivered: the policy would
			 * take it for the user's own newer key. */
			action_row(t, act, AKR_OUTCOME_SKIPPED, NULL,
				   "not done: an interrupted rotation of this user is not reconciled yet");
			continue;
		}
		switch (act->kind) {
		case AKR_ACTION_CREATE:
			r = check_address(t, act);
			if (r == SWEEP_ADDRESS_DELIVER)
				create_key(t, act);
			else if (r != SWEEP_ADDRESS_STARTED)
				continue; /* held or failed: reported */
			return;
		case AKR_ACTION_DEACTIVATE:
		case AKR_ACTION_DELETE:
			key_write(t);
			return;
		case AKR_ACTION_REMIND:
			remind(t, act);
			return;
		default:
			continue;
		}
	}
}

static void fetch_last_used(struct user_task *t);

static void on_last_used(void *userdata, int r, struct akr_iam_key_last_used *lu,
			 const struct akr_error *err)
{
	struct user_task *t = userdata;
	struct key_last_used *k = &t->last_used[t->lu_next - 1];

	if (r < 0) {
		/* Last use only informs the mail and the report: go on without it. */
		char detail[768];
		describe(err, r, detail, sizeof(detail));
		akr_log_warning("Cannot read the last use of a key of user '%s' in account %s: %s",
				t->name, t->a->id, detail);
	} else {
		k->known = true;
		k->last_used_sec = lu->last_used_sec;
		(void)snprintf(k->service, sizeof(k->service), "%s", lu->service_name ? lu->service_name : "N/A");
		(void)snprintf(k->region, sizeof(k->region), "%s", lu->region ? lu->region : "N/A");
	}
	fetch_last_used(t);
}

static void fetch_last_used(struct user_task *t)
{
	while (t->lu_next < t->n_keys) {
		size_t i = t->lu_next++;
		bool needed = false;
		int r;

		for (size_t j = 0; j < t->plan.n_actions; j++)
			if (t->plan.actions[j].needs_last_used && t->plan.actions[j].key_id &&
			    strcmp(t->plan.actions[j].key_id, t->keys[i].access_key_id) == 0)
				needed = true;
		if (!needed)
			continue;
		r = akr_iam_get_access_key_last_used(&t->a->client, t->keys[i].access_key_id,
						     on_last_used, t);
		if (r >= 0)
			return;
	}
	next_action(t);
}

static void decide(struct user_task *t)
{
	struct akr_sweep *s = t->s;
	struct akr_policy_user u = { .name = t->name };
	int r;

	if (t->n_keys > AKR_POLICY_MAX_KEYS) {
		user_fail(t, "ListAccessKeys", -EBADMSG,
			  &(struct akr_error){ .kind = AKR_ERROR_PARSE,
					       .message = "more than two access keys listed" });
		return;
	}
	for (size_t i = 0; i < t->n_tags && i < MAX_TAGS; i++)
		t->ptags[i] = (struct akr_policy_tag){ .key = t->tags[i].key, .value = t->tags[i].value };
	for (size_t i = 0; i < t->n_keys; i++) {
		const struct akr_iam_access_key *k = &t->keys[i];
		t->pkeys[i] = (struct akr_policy_key){
			.id = k->access_key_id,
			.status = k->status == AKR_IAM_KEY_ACTIVE	  ? AKR_KEY_ACTIVE
				  : k->status == AKR_IAM_KEY_INACTIVE ? AKR_KEY_INACTIVE
								      : AKR_KEY_EXPIRED,
			.created_sec = k->create_date_sec,
		};
		if (s->o.statelog) {
			t->pkeys[i].deactivated_by_us_sec =
				akr_statelog_deactivated_at(s->o.statelog, t->a->id, k->access_key_id);
			t->pkeys[i].reminded = akr_statelog_reminded(s->o.statelog, t->a->id, k->access_key_id);
		}
	}
	u.tags = t->ptags;
	u.n_tags = t->n_tags < MAX_TAGS ? t->n_tags : MAX_TAGS;
	u.keys = t->pkeys;
	u.n_keys = t->n_keys;
	t->now_sec = akr__sweep_now(s);
	r = akr_policy_decide(&s->policy, &u, t->now_sec, &t->plan);
	if (r < 0) {
		user_fail(t, "policy", r, NULL);
		return;
	}
	if (t->plan.exempt)
		akr_report_totals(s->report)->users_exempt++;
	else if (!t->plan.email)
		akr_report_totals(s->report)->users_without_email++;
	fetch_last_used(t);
}

/* Moves the @page_n items of a page (elements of @size bytes) to the end of
 * *@items, leaving the page empty. At most @max items in all: -E2BIG. */
static int take_page_items(void **items, size_t *n, void **page_items, size_t *page_n, size_t size,
			   size_t max)
{
	int r;

	if (*n + *page_n > max)
		return -E2BIG;
	r = akr_array_grow(items, NULL, *n, *page_n, size);
	if (r < 0)
		return r;
	if (*page_n)
		memcpy((uint8_t *)*items + *n * size, *page_items, *page_n * size);
	*n += *page_n;
	free(*page_items);
	*page_items = NULL;
	*page_n = 0;
	return 0;
}

/* A read that failed for a passing reason (throttling, a 5xx) is tried
 * again later. Returns true when it was scheduled. */
static bool retry_later(struct user_task *t, int r, const struct akr_error *err, void (*again)(void *))
{
	int64_t delay;

	if (r >= 0 || t->s->stopping || !akr__sweep_retry_read(err, t->read_attempts, &delay) ||
	    akr__sweep_defer(t->s, delay, again, t) < 0) {
		t->read_attempts = 0;
		return false;
	}
	t->read_attempts++;
	return true;
}

/* The two listings of a user, read one after the other with one paging
 * guard and one marker: the tags, then the keys. */
struct user_listing {
	const char *call;     /* for messages and the guard */
	const char *too_many; /* the error when a listing passes @max items */
	size_t max;
	void (*fetch)(struct user_task *t); /* asks for the page t->marker names */
	void (*next)(struct user_task *t);  /* after the last page */
};

static void list_tags(struct user_task *t);
static void list_keys(struct user_task *t);
static void start_keys(struct user_task *t);

static const struct user_listing tags_listing = {
	.call = "ListUserTags",
	.too_many = "more than 50 tags",
	.max = MAX_TAGS,
	.fetch = list_tags,
	.next = start_keys,
};

static const struct user_listing keys_listing = {
	.call = "ListAccessKeys",
	.too_many = "more than 10 access keys",
	.max = MAX_KEYS_LISTED,
	.fetch = list_keys,
	.next = decide,
};

static void list_retry(void *arg)
{
	struct user_task *t = arg;

	if (t->s->stopping) {
		user_fail(t, t->listing->call, -ECANCELED, NULL);
		return;
	}
	t->listing->fetch(t);
}

/* One page of the listing in progress: its @page_n items of @size bytes are
 * moved to *@items (*@n so far), its marker followed. Retries a read that
 * failed for a passing reason; ends the user on any other failure. */
static void on_page(struct user_task *t, const struct user_listing *l, int r,
		    const struct akr_error *err, void **items, size_t *n, void **page_items,
		    size_t *page_n, size_t size, bool truncated, char **page_marker)
{
	struct akr_error perr = { 0 };

	t->listing = l;
	if (retry_later(t, r, err, list_retry))
		return;
	if (r < 0) {
		user_fail(t, l->call, r, err);
		return;
	}
	r = take_page_items(items, n, page_items, page_n, size, l->max);
	if (r < 0) {
		if (r == -E2BIG) {
			perr.kind = AKR_ERROR_PARSE;
			(void)snprintf(perr.message, sizeof(perr.message), "%s", l->too_many);
		}
		user_fail(t, l->call, r, r == -E2BIG ? &perr : NULL);
		return;
	}
	r = akr_paging_take_marker(&t->paging, &t->marker, truncated, page_marker, &perr);
	if (r < 0) {
		user_fail(t, l->call, r, &perr);
		return;
	}
	if (t->marker)
		l->fetch(t);
	else
		l->next(t);
}

static void on_tags(void *userdata, int r, struct akr_iam_tags_page *page, const struct akr_error *err)
{
	struct user_task *t = userdata;

	if (r < 0)
		page = NULL;
	on_page(t, &tags_listing, r, err, (void **)&t->tags, &t->n_tags,
		page ? (void **)&page->tags : NULL, page ? &page->n_tags : NULL, sizeof(*t->tags),
		page && page->is_truncated, page ? &page->marker : NULL);
}

static void on_keys(void *userdata, int r, struct akr_iam_keys_page *page, const struct akr_error *err)
{
	struct user_task *t = userdata;

	if (r < 0)
		page = NULL;
	on_page(t, &keys_listing, r, err, (void **)&t->keys, &t->n_keys,
		page ? (void **)&page->keys : NULL, page ? &page->n_keys : NULL, sizeof(*t->keys),
		page && page->is_truncated, page ? &page->marker : NULL);
}

static void list_tags(struct user_task *t)
{
	int r = akr_iam_list_user_tags(&t->a->client, t->name, t->marker, 0, on_tags, t);

	if (r < 0)
		user_fail(t, "ListUserTags", r, NULL);
}

static void start_keys(struct user_task *t)
{
	akr_paging_done(&t->paging);
	akr_paging_init(&t->paging, "ListAccessKeys", 0);
	list_keys(t);
}

static void list_keys(struct user_task *t)
{
	int r = akr_iam_list_access_keys(&t->a->client, t->name, t->marker, 0, on_keys, t);

	if (r < 0)
		user_fail(t, "ListAccessKeys", r, NULL);
}

int akr__sweep_user_start(struct sweep_account *a, const struct akr_iam_user *u)
{
	struct user_task *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->a = a;
	t->s = a->s;
	akr_paging_init(&t->paging, "ListUserTags", 0);
	t->name = strdup(u->name);
	if (!t->name) {
		free(t);
		return -ENOMEM;
	}
	r = akr_iam_list_user_tags(&a->client, t->name, NULL, 0, on_tags, t);
	if (r < 0) {
		free(t->name);
		free(t);
		return r;
	}
	return 0;
}
