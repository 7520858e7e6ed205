#pragma once
/* Delivery of new keys and of notices to their owners (DESIGN.md "Delivery").
 *
 * Composition (pure apart from the CSPRNG): a rotation produces two messages,
 * the rotation mail with the new key in an AES-256 zip (lib/delivery/zip) and a
 * separate mail with the zip's password (lib/delivery/password); reminders and the
 * deactivation and deletion notices are single text messages. Every text comes
 * from a template, the built-in default or one from the configuration, with
 * {placeholders} (docs/mail.md lists them and shows the defaults).
 *
 * Sending: akr_delivery_sender queues composed messages and hands them to SES
 * SendRawEmail (lib/aws/ses.h) no faster than the configured sending rate
 * (a token bucket on the loop), with the configuration set. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lib/aws/ses.h"
#include "lib/delivery/zip.h"

struct akr_aws_client;
struct akr_buf;
struct akr_error;
struct akr_secret;

enum akr_mail_kind {
	AKR_MAIL_ROTATION,    /* the new key, in the attached zip */
	AKR_MAIL_PASSWORD,    /* the zip's password, in a mail of its own */
	AKR_MAIL_REMINDER,    /* the old key will be deactivated soon */
	AKR_MAIL_DEACTIVATED, /* the old key was deactivated today */
	AKR_MAIL_DELETED,     /* the old key was deleted */
	AKR_MAIL_ADDRESS_CHANGED, /* to the previous address: the email tag now names another */
	_AKR_MAIL_KIND_MAX,
};

/** "rotation", "password", "reminder", "deactivated", "deleted", "address-changed";
 * NULL out of range. */
const char *akr_mail_kind_to_string(enum akr_mail_kind k);
/** The inverse (for the configuration). Returns 0 or -EINVAL. */
int akr_mail_kind_from_string(const char *s, enum akr_mail_kind *ret);

/** One mail's texts. Borrowed. A NULL member means the built-in default. */
struct akr_mail_template {
	const char *subject;
	const char *body;
};

/** The templates of every kind (indexed by enum akr_mail_kind). Borrowed. */
struct akr_delivery_templates {
	struct akr_mail_template kind[_AKR_MAIL_KIND_MAX];
	const char *sender_name; /* display name in From, NULL = none */
};

/** The built-in default template of @kind (static), NULL out of range. */
const struct akr_mail_template *akr_delivery_default_template(enum akr_mail_kind kind);

/** Validates a body template of @kind: every {name} must be a known
 * placeholder; {password} is allowed only in (and required by) the PASSWORD
 * body; "{{" and "}}" stand for literal braces, any other lone '{' or '}' is an
 * error; control characters other than TAB, CR and LF are refused; text must
 * be UTF-8, at most 64 KiB. Returns 0 or -EINVAL with a message in @reterr
 * (may be NULL). For the configuration's validation. */
int akr_delivery_template_validate(enum akr_mail_kind kind, const char *text,
				   struct akr_error *reterr);
/** The same for a subject: no {password} in any kind, no control character at
 * all, at most 200 bytes. Returns 0 or -EINVAL. */
int akr_delivery_subject_validate(enum akr_mail_kind kind, const char *text,
				  struct akr_error *reterr);

/** What a mail says. Every pointer is borrowed. In the notices (REMINDER,
 * DEACTIVATED, DELETED) @access_key_id is the key the notice is about; in the
 * rotation mail it is the new key and @old_access_key_id the one it replaces.
 * In ADDRESS_CHANGED, sent to the previous address, @access_key_id is the
 * user's current key and @new_address what the email tag says now. */
struct akr_mail_params {
	const char *sender;            /* From: addr-spec (the verified SES identity) */
	const char *recipient;         /* To: addr-spec, from the user's email tag */
	const char *user;              /* IAM user name */
	const char *account_id;
	const char *account_name;      /* NULL = unknown */
	const char *access_key_id;
	const char *old_access_key_id; /* NULL = none */
	int64_t now_sec;               /* Date header and {date} */
	int64_t deactivate_on_sec;     /* 0 = not scheduled */
	int64_t delete_on_sec;         /* 0 = not scheduled */
	int64_t last_used_sec;         /* 0 = never used */
	const char *last_used_service; /* NULL = N/A */
	const char *last_used_region;  /* NULL = N/A */
	const char *new_address;       /* ADDRESS_CHANGED: the tag's new value; NULL = "-" */
	int64_t deliver_on_sec;        /* ADDRESS_CHANGED: the key goes there from; 0 = none */
	const struct akr_delivery_templates *templates; /* NULL = all defaults */
};

/** Expands the template @text (validated as for @kind first) with @p into *@ret,
 * which this function initialises (sensitive when @password is given; the
 * caller releases it with akr_buf_done()). @password may be NULL except for
 * a PASSWORD body that uses it. Returns 0, -EINVAL, -ENOMEM, -E2BIG. */
int akr_delivery_render(enum akr_mail_kind kind, const char *text, const struct akr_mail_params *p,
			const struct akr_secret *password, struct akr_buf *ret,
			struct akr_error *reterr);

/** Composes a rotation: generates a fresh password, zips @p->access_key_id and
 * @secret with it (@enc), and builds the rotation mail (the zip attached as
 * credentials-<key id>.zip; never the secret or password in clear) and the
 * password mail (the password; never the zip or the secret). The password is
 * wiped before returning. On success initialises *@ret_rotation_msg and
 * *@ret_password_msg (both sensitive; release with akr_buf_done()); on
 * failure touches neither. Returns 0; -EINVAL (invalid address, header value,
 * template, key id or secret: @reterr says which); -EIO (CSPRNG or libzip);
 * -EOPNOTSUPP (libzip cannot encrypt so); -ENOMEM; -E2BIG. */
int akr_delivery_compose_rotation(const struct akr_mail_params *p, const struct akr_secret *secret,
				  enum akr_zip_encryption enc, struct akr_buf *ret_rotation_msg,
				  struct akr_buf *ret_password_msg, struct akr_error *reterr);

/** Composes a REMINDER, DEACTIVATED, DELETED or ADDRESS_CHANGED notice into *@ret_msg
 * (initialised on success only; release with akr_buf_done()). Returns 0;
 * -EINVAL for another kind or invalid parameters; -ENOMEM; -E2BIG. */
int akr_delivery_compose_notice(enum akr_mail_kind kind, const struct akr_mail_params *p,
				struct akr_buf *ret_msg, struct akr_error *reterr);

/* ---- sending ---- */

/** The transport: akr_ses_send_raw_email() in the daemon, a fake in tests.
 * Contract as akr_ses_send_raw_email(). */
typedef int (*akr_delivery_transport_fn)(const struct akr_aws_client *c,
					 const struct akr_ses_raw_email *m, akr_ses_send_cb cb,
					 void *userdata);

struct akr_delivery_sender_options {
	akr_delivery_transport_fn transport; /* required */
	const char *configuration_set;       /* copied; NULL/"" = none */
	double max_send_rate;                /* messages per second; 0 = no limit; a cap
					      * on akr_delivery_sender_set_quota() */
};

struct akr_delivery_sender;

/** Creates a sender on @loop that sends through @client (borrowed: it must
 * outlive the sender and every send). Returns 0, -EINVAL, -ENOMEM. Caller
 * frees with akr_delivery_sender_free(). */
int akr_delivery_sender_new(uv_loop_t *loop, const struct akr_aws_client *client,
			    const struct akr_delivery_sender_options *opts,
			    struct akr_delivery_sender **ret);

/** Completion of one send: @r 0 with SES's @message_id (borrowed); -EDQUOT
 * when SES's daily sending quota is used up (@err->retry is AKR_RETRY_NONE:
 * it does not clear within a retry window, and later sends of this sender
 * fail the same way without calling SES); -ECANCELED when the sender was
 * freed first; else the transport's -errno with @err. */
typedef void (*akr_delivery_sent_cb)(void *userdata, int r, const char *message_id,
				     const struct akr_error *err);

/** Queues @msg (taken: the sender releases it, wiped if sensitive, even on
 * failure) for @recipient from @source (both copied). Messages leave in
 * order, at most max_send_rate per second (a token bucket, lib/base/ratelimit.h:
 * one message at once, then the rate). If this
 * returns < 0, @cb never runs; if 0, @cb runs exactly once, from the loop,
 * never from inside this call. Returns 0, -EINVAL, -ENOMEM. */
int akr_delivery_send(struct akr_delivery_sender *s, const char *source, const char *recipient,
		      struct akr_buf *msg, akr_delivery_sent_cb cb, void *userdata);

/** Applies SES's limits (GetSendQuota): messages leave at @max_send_rate
 * per second, or at the configured max_send_rate when that is lower (a cap);
 * @remaining_today more may be queued today (< 0: no daily limit), and past
 * that a message fails with -EDQUOT without calling SES. Reservations made
 * before stay promised. */
void akr_delivery_sender_set_quota(struct akr_delivery_sender *s, double max_send_rate,
				   double remaining_today);
/** Reserves @n of today's messages for akr_delivery_send_reserved(), so that
 * a key is created only when the mails that deliver it can be sent.
 * Returns 0, -EDQUOT (today's quota cannot take @n more), -EINVAL. */
int akr_delivery_sender_reserve(struct akr_delivery_sender *s, size_t n);
/** Gives back @n unused reservations (at most as many as are held). */
void akr_delivery_sender_release(struct akr_delivery_sender *s, size_t n);
/** akr_delivery_send() for a message reserved with
 * akr_delivery_sender_reserve(): it takes one reservation (-EINVAL when
 * none is held) and is never refused for today's quota by the sender. */
int akr_delivery_send_reserved(struct akr_delivery_sender *s, const char *source,
			       const char *recipient, struct akr_buf *msg, akr_delivery_sent_cb cb,
			       void *userdata);
/** The rate in force, messages per second, 0 = unlimited. */
double akr_delivery_sender_rate(const struct akr_delivery_sender *s);

/** Messages queued and not yet handed to the transport. */
size_t akr_delivery_sender_queued(const struct akr_delivery_sender *s);

/** Fails every queued send with -ECANCELED (their callbacks run from inside
 * this call), lets sends already handed to SES complete (their callbacks
 * still run), and releases the sender once its timer is closed: run the loop
 * afterwards. NULL does nothing. */
void akr_delivery_sender_free(struct akr_delivery_sender *s);
