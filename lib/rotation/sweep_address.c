/* The address takeover defence for one due rotation (DESIGN.md "Delivery"):
 * before a new key is created for a user, the address the email tag names is
 * compared with the one the address book remembers. A new address is told to
 * the previous one (mail and SNS) once, and the key waits for the hold
 * (users.address_change_hold_days); the address a key is approved for is
 * recorded, fsynced, before CreateAccessKey, so that no crash can leave a
 * delivered key whose address the book does not know. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/sns.h"
#include "lib/base/buf.h"
#include "lib/base/log.h"
#include "lib/base/timeutil.h"
#include "lib/delivery/delivery.h"
#include "lib/rotation/addressbook.h"
#include "lib/rotation/config.h"
#include "lib/rotation/sweep-internal.h"

#define NOTICE_MAX_MESSAGE (256 * 1024)
#define HOLD_REASON                                                                                \
	"the email tag names a new address: the previous address was told and the key waits "      \
	"for users.address_change_hold_days"

struct address_check {
	struct akr_sweep *s;
	struct sweep_account *a;
	char *user, *address, *previous, *key_id;
	int64_t age_days, now_sec, deliver_on_sec;
	enum akr_address_verdict verdict;
	sweep_address_cb cb;
	void *userdata;
};

static void check_free(struct address_check *c)
{
	if (!c)
		return;
	free(c->user);
	free(c->address);
	free(c->previous);
	free(c->key_id);
	free(c);
}

static void describe_error(const struct akr_error *err, int r, char *buf, size_t size)
{
	if (err && err->kind != AKR_ERROR_NONE)
		(void)akr_error_describe(err, buf, size);
	else
		(void)snprintf(buf, size, "%s", strerror(r < 0 ? -r : r));
}

static void hold_row(struct akr_sweep *s, struct sweep_account *a, const char *user,
		     const char *key_id, int64_t age_days, const char *previous,
		     const char *address, int64_t told_sec, int64_t deliver_on_sec,
		     enum akr_outcome outcome)
{
	char detail[900], d1[16], d2[16];

	(void)snprintf(detail, sizeof(detail),
		       "new address '%s' (keys went to '%s'); %s %s; the key goes to the new "
		       "address from %s",
		       address, previous,
		       outcome == AKR_OUTCOME_PLANNED && told_sec == 0
			   ? "the previous address would be told on"
			   : "the previous address was told on",
		       akr_time_format_date(told_sec ? told_sec : akr__sweep_now(s), d1, sizeof(d1)),
		       akr_time_format_date(deliver_on_sec, d2, sizeof(d2)));
	(void)akr__sweep_report_row(s, a->id, a->name, user, key_id, "hold", age_days, HOLD_REASON,
			       outcome, NULL, detail);
	if (outcome != AKR_OUTCOME_PLANNED)
		akr_log_full(
		    LOG_WARNING, 0,
		    AKR_FIELDS(.message_id = AKR_MID_ADDRESS_HOLD, .run_id = s->run_id,
			       .account_id = a->id, .user_name = user, .access_key_id = key_id,
			       .action = "hold", .result = "held"),
		    "New key for user '%s' in account %s held: the email tag changed from '%s' "
		    "to '%s'; it goes to the new address from %s",
		    user, a->id, previous, address, d2);
}

static void failed_row(struct address_check *c, const char *error)
{
	(void)akr__sweep_report_row(c->s, c->a->id, c->a->name, c->user, c->key_id, "notify",
			       c->age_days, "address-change notice to the previous address",
			       AKR_OUTCOME_FAILED, error, NULL);
	akr_log_full(
	    LOG_ERR, 0,
	    AKR_FIELDS(.message_id = AKR_MID_ADDRESS_HOLD, .run_id = c->s->run_id,
		       .account_id = c->a->id, .user_name = c->user, .access_key_id = c->key_id,
		       .action = "notify", .result = "failed"),
	    "User '%s' in account %s: %s; no key goes to the new address '%s' in this sweep",
	    c->user, c->a->id, error, c->address);
}

/* The end of an asynchronous check: tell the caller, free the check. */
static void finish(struct address_check *c, bool deliver)
{
	sweep_address_cb cb = c->cb;
	void *userdata = c->userdata;

	check_free(c);
	cb(userdata, deliver);
}

static int record_delivered(struct akr_sweep *s, const char *account_id, const char *user,
			    const char *address, int64_t now_sec, char *why, size_t why_size)
{
	int r = akr_addressbook_record_delivered(s->addresses, now_sec, account_id, user, address);

	if (r < 0)
		(void)snprintf(why, why_size, "cannot record the address in the address book: %s",
			       strerror(-r));
	return r;
}

static void after_notice(struct address_check *c)
{
	char why[300];
	int r;

	if (c->verdict == AKR_ADDRESS_NOTIFY_AND_HOLD) {
		hold_row(c->s, c->a, c->user, c->key_id, c->age_days, c->previous, c->address,
			 c->now_sec, c->deliver_on_sec, AKR_OUTCOME_SKIPPED);
		finish(c, false);
		return;
	}
	/* No hold configured: the previous owner knows; the key follows. */
	r = record_delivered(c->s, c->a->id, c->user, c->address, c->now_sec, why, sizeof(why));
	if (r < 0) {
		failed_row(c, why);
		finish(c, false);
		return;
	}
	finish(c, true);
}

static void on_published(void *userdata, int r, const char *message_id, const struct akr_error *err)
{
	struct address_check *c = userdata;
	char detail[768], msg[900];

	if (r < 0) {
		/* The mail reached the previous address, which is what holds
		 * the key back; a lost SNS copy is reported, not fatal. */
		describe_error(err, r, detail, sizeof(detail));
		(void)snprintf(msg, sizeof(msg), "publishing the address change to SNS failed: %s",
			       detail);
		(void)akr__sweep_report_row(c->s, c->a->id, c->a->name, c->user, c->key_id, "notify",
				       c->age_days, "address-change notice to the SNS topic",
				       AKR_OUTCOME_FAILED, msg, NULL);
		akr_log_error("User '%s' in account %s: %s", c->user, c->a->id, msg);
	} else {
		akr_log_debug("Address change of user '%s' published, message id '%s'", c->user,
			      message_id ? message_id : "");
	}
	after_notice(c);
}

static int publish(struct address_check *c)
{
	const char *topic = c->s->cfg->alerts.sns_topic_arn;
	struct akr_sns_publish_params p = {.topic_arn = topic};
	_cleanup_buf_ struct akr_buf msg = { 0 };
	char subject[100], d1[16], d2[16];
	int r;

	akr_buf_init(&msg, NOTICE_MAX_MESSAGE, false);
	if (!topic)
		return -ENOENT;
	(void)snprintf(subject, sizeof(subject),
		       "iam-access-key-rotator: email address of an IAM "
		       "user changed (%s)",
		       c->a->id);
	r = akr_buf_appendf(&msg,
			    "The email tag of IAM user '%s' in account %s (%s) changed.\n\n"
			    "  previous address: %s (told by mail on %s)\n"
			    "  new address:      %s\n"
			    "  the next key goes to the new address from: %s\n\n"
			    "If the owner did not ask for this, set the tag back to the previous "
			    "address before that day and find out who changed it (CloudTrail: "
			    "iam:TagUser).\nRun: %s\n",
			    c->user, c->a->id, c->a->name ? c->a->name : "-", c->previous,
			    akr_time_format_date(c->now_sec, d1, sizeof(d1)), c->address,
			    akr_time_format_date(c->deliver_on_sec, d2, sizeof(d2)), c->s->run_id);
	if (r < 0)
		return r;
	p.subject = subject;
	p.message = msg.data;
	return akr_sns_publish(&c->s->sns_client, &p, on_published, c);
}

static void on_notice_sent(void *userdata, int r, const char *message_id,
			   const struct akr_error *err)
{
	struct address_check *c = userdata;
	char detail[768], msg[900];

	if (r < 0) {
		describe_error(err, r, detail, sizeof(detail));
		(void)snprintf(msg, sizeof(msg),
			       "the address-change notice to the previous address '%s' failed: %s",
			       c->previous, detail);
		failed_row(c, msg);
		finish(c, false);
		return;
	}
	akr_report_totals(c->s->report)->mails_sent++;
	akr_log_full(LOG_WARNING, 0,
		     AKR_FIELDS(.message_id = AKR_MID_ADDRESS_HOLD, .run_id = c->s->run_id,
				.account_id = c->a->id, .user_name = c->user,
				.access_key_id = c->key_id, .action = "notify", .result = "sent"),
		     "The email tag of user '%s' in account %s changed from '%s' to '%s': the "
		     "address change notice to the previous address was accepted by SES (message id '%s')",
		     c->user, c->a->id, c->previous, c->address, message_id ? message_id : "");
	/* The hold runs from now: record it before anything else can fail. */
	r = akr_addressbook_record_notified(c->s->addresses, c->now_sec, c->a->id, c->user,
					    c->address);
	if (r < 0) {
		(void)snprintf(msg, sizeof(msg),
			       "cannot record the address-change notice in the address book: %s",
			       strerror(-r));
		failed_row(c, msg);
		finish(c, false);
		return;
	}
	r = publish(c);
	if (r < 0) {
		if (r != -ENOENT)
			on_published(c, r, NULL, NULL);
		else
			after_notice(c);
	}
}

static int send_notice(struct address_check *c, char *ret_error, size_t error_size)
{
	struct akr_mail_params p = {
	    .sender = c->s->cfg->email.sender,
	    .recipient = c->previous,
	    .user = c->user,
	    .account_id = c->a->id,
	    .account_name = c->a->name ? c->a->name : c->a->id,
	    .access_key_id = c->key_id,
	    .now_sec = c->now_sec,
	    .new_address = c->address,
	    .deliver_on_sec = c->deliver_on_sec,
	    .templates = c->s->templates,
	};
	struct akr_error err = {0};
	struct akr_buf msg;
	char detail[768];
	int r;

	akr_buf_init(&msg, NOTICE_MAX_MESSAGE, false);
	r = akr_delivery_compose_notice(AKR_MAIL_ADDRESS_CHANGED, &p, &msg, &err);
	if (r >= 0)
		/* Takes msg, whatever happens. */
		return akr_delivery_send(c->s->mailer, c->s->cfg->email.sender, c->previous, &msg,
					 on_notice_sent, c);
	akr_buf_done(&msg);
	describe_error(&err, r, detail, sizeof(detail));
	(void)snprintf(ret_error, error_size, "cannot compose the address-change notice: %s",
		       detail);
	return r;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

int akr__sweep_address_check(struct sweep_account *a, const char *user, const char *address,
			const char *key_id, int64_t age_days, int64_t now_sec, sweep_address_cb cb,
			void *userdata, char *ret_error, size_t error_size)
{
	struct akr_sweep *s = a->s;
	const struct akr_address_entry *e = akr_addressbook_get(s->addresses, a->id, user);
	struct address_check *c;
	enum akr_address_verdict v;
	int64_t deliver_on;
	bool oom = false, known;
	int r;

	v = akr_address_decide(e, address, s->cfg->users.address_change_hold_days, now_sec,
			       &deliver_on);
	if (s->o.mode == AKR_SWEEP_DRY_RUN) {
		if (v == AKR_ADDRESS_DELIVER || v == AKR_ADDRESS_NOTIFY_AND_DELIVER)
			return SWEEP_ADDRESS_DELIVER;
		hold_row(s, a, user, key_id, age_days, e->delivered, address,
			 v == AKR_ADDRESS_HOLD ? e->pending_since_sec : 0, deliver_on,
			 AKR_OUTCOME_PLANNED);
		return SWEEP_ADDRESS_HELD;
	}
	switch (v) {
	case AKR_ADDRESS_DELIVER:
		/* Decided before recording: a record may change what @e says. */
		known = e && e->delivered && strcmp(e->delivered, address) == 0;
		/* Back to the remembered address: the pending change is void,
		 * so a later switch to it needs a new notice. */
		if (e && e->pending && akr_address_equal(e->delivered, address)) {
			r = akr_addressbook_record_cleared(s->addresses, now_sec, a->id, user);
			if (r < 0) {
				(void)snprintf(ret_error, error_size,
					       "cannot record in the address book: %s",
					       strerror(-r));
				return r;
			}
		}
		if (!known) {
			r = record_delivered(s, a->id, user, address, now_sec, ret_error,
					     error_size);
			if (r < 0)
				return r;
		}
		return SWEEP_ADDRESS_DELIVER;
	case AKR_ADDRESS_HOLD:
		hold_row(s, a, user, key_id, age_days, e->delivered, address, e->pending_since_sec,
			 deliver_on, AKR_OUTCOME_SKIPPED);
		return SWEEP_ADDRESS_HELD;
	case AKR_ADDRESS_NOTIFY_AND_HOLD:
	case AKR_ADDRESS_NOTIFY_AND_DELIVER:
		break;
	default:
		return -EINVAL;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct address_check){
	    .s = s,
	    .a = a,
	    .age_days = age_days,
	    .now_sec = now_sec,
	    .deliver_on_sec = deliver_on,
	    .verdict = v,
	    .cb = cb,
	    .userdata = userdata,
	};
	c->user = dup_or_null(user, &oom);
	c->address = dup_or_null(address, &oom);
	c->previous = dup_or_null(e->delivered, &oom);
	c->key_id = dup_or_null(key_id, &oom);
	if (oom) {
		check_free(c);
		return -ENOMEM;
	}
	ret_error[0] = '\0';
	r = send_notice(c, ret_error, error_size);
	if (r < 0) {
		if (ret_error[0] == '\0')
			(void)snprintf(ret_error, error_size,
				       "cannot send the address-change notice: %s", strerror(-r));
		check_free(c);
		return r;
	}
	return SWEEP_ADDRESS_STARTED;
}
