#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/buf.h"
#include "lib/delivery.h"
#include "lib/error.h"
#include "lib/mime.h"
#include "lib/password.h"
#include "lib/secret.h"
#include "lib/strutil.h"
#include "lib/timeutil.h"
#include "lib/zipper.h"

#define MAX_TEMPLATE_BYTES (64 * 1024)
#define MAX_SUBJECT_TEMPLATE_BYTES 200
/* A rendered body: the template plus at most a few hundred bytes per placeholder. */
#define MAX_RENDERED_BYTES (256 * 1024)

static const char *const kind_names[_AKR_MAIL_KIND_MAX] = {
	[AKR_MAIL_ROTATION] = "rotation",
	[AKR_MAIL_PASSWORD] = "password",
	[AKR_MAIL_REMINDER] = "reminder",
	[AKR_MAIL_DEACTIVATED] = "deactivated",
	[AKR_MAIL_DELETED] = "deleted",
};

const char *akr_mail_kind_to_string(enum akr_mail_kind k)
{
	return (unsigned)k < _AKR_MAIL_KIND_MAX ? kind_names[k] : NULL;
}

int akr_mail_kind_from_string(const char *s, enum akr_mail_kind *ret)
{
	if (!s)
		return -EINVAL;
	for (unsigned i = 0; i < _AKR_MAIL_KIND_MAX; i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*ret = (enum akr_mail_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- default templates (docs/mail.md shows them; keep the two in step) ---- */

#define SIGNATURE                                                                                  \
	"\n"                                                                                       \
	"-- \n"                                                                                    \
	"This message was sent automatically by iam-access-key-rotator.\n"                         \
	"Questions? Ask your AWS administrators.\n"

static const struct akr_mail_template default_templates[_AKR_MAIL_KIND_MAX] = {
	[AKR_MAIL_ROTATION] = {
		.subject = "Your new AWS access key for account {account_id} ({account_name})",
		.body =
			"Hello {user},\n"
			"\n"
			"a new access key was created for your IAM user {user} in AWS account\n"
			"{account_id} ({account_name}):\n"
			"\n"
			"    Access key ID: {access_key_id}\n"
			"\n"
			"The attached zip file holds credentials.csv with the access key ID and\n"
			"the secret access key. It is encrypted with AES-256; its password comes\n"
			"in a separate email. Open it with 7-Zip, WinZip, or \"7zz x <file>\".\n"
			"\n"
			"Please replace your old access key {old_access_key_id} with the new one\n"
			"everywhere you use it. The old key will be\n"
			"\n"
			"    deactivated on {deactivate_date}\n"
			"    deleted on     {delete_date}\n"
			"\n"
			"If you need more time, ask your AWS administrators before {deactivate_date}.\n"
			SIGNATURE,
	},
	[AKR_MAIL_PASSWORD] = {
		.subject = "Password for your new AWS access key {access_key_id}",
		.body =
			"Hello {user},\n"
			"\n"
			"this is the password of the zip file attached to the email \"Your new AWS\n"
			"access key for account {account_id} ({account_name})\", sent on {date}\n"
			"for the access key {access_key_id}:\n"
			"\n"
			"    {password}\n"
			"\n"
			"The password has no spaces. Delete this email once you have stored the\n"
			"new key safely.\n"
			SIGNATURE,
	},
	[AKR_MAIL_REMINDER] = {
		.subject = "Reminder: AWS access key {access_key_id} will be deactivated on {deactivate_date}",
		.body =
			"Hello {user},\n"
			"\n"
			"your old access key {access_key_id} (IAM user {user}, AWS account\n"
			"{account_id} ({account_name})) has been replaced and will be\n"
			"\n"
			"    deactivated on {deactivate_date}\n"
			"    deleted on     {delete_date}\n"
			"\n"
			"It was last used: {last_used} (service {last_used_service}, region\n"
			"{last_used_region}).\n"
			"\n"
			"If anything still uses it, switch it to your new key now.\n"
			SIGNATURE,
	},
	[AKR_MAIL_DEACTIVATED] = {
		.subject = "AWS access key {access_key_id} was deactivated",
		.body =
			"Hello {user},\n"
			"\n"
			"your old access key {access_key_id} (IAM user {user}, AWS account\n"
			"{account_id} ({account_name})) was deactivated today, {date}.\n"
			"\n"
			"It was last used: {last_used} (service {last_used_service}, region\n"
			"{last_used_region}).\n"
			"\n"
			"If something broke, your AWS administrators can re-enable the key until\n"
			"{delete_date}; on that day it will be deleted for good.\n"
			SIGNATURE,
	},
	[AKR_MAIL_DELETED] = {
		.subject = "AWS access key {access_key_id} was deleted",
		.body =
			"Hello {user},\n"
			"\n"
			"your old access key {access_key_id} (IAM user {user}, AWS account\n"
			"{account_id} ({account_name})) was deleted today, {date}. It cannot be\n"
			"restored.\n"
			"\n"
			"It was last used: {last_used} (service {last_used_service}, region\n"
			"{last_used_region}).\n"
			SIGNATURE,
	},
};

const struct akr_mail_template *akr_delivery_default_template(enum akr_mail_kind kind)
{
	return (unsigned)kind < _AKR_MAIL_KIND_MAX ? &default_templates[kind] : NULL;
}

/* ---- placeholders ---- */

enum placeholder {
	PH_USER,
	PH_ACCOUNT_ID,
	PH_ACCOUNT_NAME,
	PH_ACCESS_KEY_ID,
	PH_OLD_ACCESS_KEY_ID,
	PH_DATE,
	PH_DEACTIVATE_DATE,
	PH_DELETE_DATE,
	PH_LAST_USED,
	PH_LAST_USED_SERVICE,
	PH_LAST_USED_REGION,
	PH_PASSWORD,
	_PH_MAX,
};

static const char *const placeholder_names[_PH_MAX] = {
	[PH_USER] = "user",
	[PH_ACCOUNT_ID] = "account_id",
	[PH_ACCOUNT_NAME] = "account_name",
	[PH_ACCESS_KEY_ID] = "access_key_id",
	[PH_OLD_ACCESS_KEY_ID] = "old_access_key_id",
	[PH_DATE] = "date",
	[PH_DEACTIVATE_DATE] = "deactivate_date",
	[PH_DELETE_DATE] = "delete_date",
	[PH_LAST_USED] = "last_used",
	[PH_LAST_USED_SERVICE] = "last_used_service",
	[PH_LAST_USED_REGION] = "last_used_region",
	[PH_PASSWORD] = "password",
};

static int lookup_placeholder(const char *name, size_t len)
{
	for (int i = 0; i < _PH_MAX; i++)
		if (strlen(placeholder_names[i]) == len && memcmp(placeholder_names[i], name, len) == 0)
			return i;
	return -1;
}

/* Walks @text: calls @lit for literal runs and @ph for placeholders. Either may
 * be NULL (validation only). Returns 0 or -EINVAL with @reterr filled. */
struct walk {
	enum akr_mail_kind kind;
	bool subject;
	bool saw_password;
	int (*lit)(void *ctx, const char *s, size_t n);
	int (*ph)(void *ctx, enum placeholder ph);
	void *ctx;
};

static int walk_template(struct walk *w, const char *text, struct akr_error *reterr)
{
	const char *what = w->subject ? "subject template" : "body template";
	const char *kind = kind_names[w->kind];
	const char *p = text, *run = text;
	int r;

	while (*p) {
		if (*p != '{' && *p != '}') {
			p++;
			continue;
		}
		if (w->lit && p > run) {
			r = w->lit(w->ctx, run, (size_t)(p - run));
			if (r < 0)
				return r;
		}
		if (p[0] == p[1]) {
			/* "{{" or "}}": one literal brace. */
			if (w->lit) {
				r = w->lit(w->ctx, p, 1);
				if (r < 0)
					return r;
			}
			p += 2;
			run = p;
			continue;
		}
		if (*p == '}') {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
				      "%s of '%s': a lone '}' (write '}}' for a literal brace)",
				      what, kind);
			return -EINVAL;
		}
		const char *end = strchr(p + 1, '}'), *open = strchr(p + 1, '{');
		size_t len = end ? (size_t)(end - p - 1) : 0;
		if (!end || (open && open < end)) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
				      "%s of '%s': unterminated '{' (write '{{' for a literal brace)",
				      what, kind);
			return -EINVAL;
		}
		int ph = lookup_placeholder(p + 1, len);
		if (ph < 0) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
				      "%s of '%s': unknown placeholder '{%.*s}'", what, kind,
				      (int)(len > 64 ? 64 : len), p + 1);
			return -EINVAL;
		}
		if (ph == PH_PASSWORD && (w->subject || w->kind != AKR_MAIL_PASSWORD)) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
				      "%s of '%s': {password} may appear only in the body of the "
				      "password mail, never next to the zip or in a subject",
				      what, kind);
			return -EINVAL;
		}
		if (ph == PH_PASSWORD)
			w->saw_password = true;
		if (w->ph) {
			r = w->ph(w->ctx, (enum placeholder)ph);
			if (r < 0)
				return r;
		}
		p = end + 1;
		run = p;
	}
	if (w->lit && p > run)
		return w->lit(w->ctx, run, (size_t)(p - run));
	return 0;
}

static bool has_bad_control_chars(const char *s, bool allow_newlines)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (allow_newlines && (c == '\n' || c == '\r' || c == '\t'))
			continue;
		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

static int validate(enum akr_mail_kind kind, const char *text, bool subject,
		    struct akr_error *reterr)
{
	struct walk w = { .kind = kind, .subject = subject };
	const char *what = subject ? "subject template" : "body template";
	int r;

	if ((unsigned)kind >= _AKR_MAIL_KIND_MAX || !text) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
			      "no template or unknown mail kind");
		return -EINVAL;
	}
	if (strlen(text) > (subject ? MAX_SUBJECT_TEMPLATE_BYTES : MAX_TEMPLATE_BYTES)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
			      "%s of '%s' is too long", what, kind_names[kind]);
		return -EINVAL;
	}
	if (has_bad_control_chars(text, !subject)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
			      "%s of '%s' contains a control character%s", what, kind_names[kind],
			      subject ? " (a subject is one line)" : "");
		return -EINVAL;
	}
	/* Also refuses invalid UTF-8 and C1 controls, as a header would be. */
	if (subject) {
		r = akr_mime_check_header_text("subject template", text, reterr);
		if (r < 0)
			return r;
	}
	r = walk_template(&w, text, reterr);
	if (r < 0)
		return r;
	if (kind == AKR_MAIL_PASSWORD && !subject && !w.saw_password) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
			      "body template of 'password' must contain {password}");
		return -EINVAL;
	}
	return 0;
}

int akr_delivery_template_validate(enum akr_mail_kind kind, const char *text,
				   struct akr_error *reterr)
{
	return validate(kind, text, false, reterr);
}

int akr_delivery_subject_validate(enum akr_mail_kind kind, const char *text,
				  struct akr_error *reterr)
{
	return validate(kind, text, true, reterr);
}

/* ---- rendering ---- */

struct render_ctx {
	struct akr_buf *out;
	const struct akr_mail_params *p;
	const struct akr_secret *password;
};

static int render_lit(void *ctx, const char *s, size_t n)
{
	struct render_ctx *c = ctx;
	return akr_buf_append(c->out, s, n);
}

static const char *or_default(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

static int render_ph(void *ctx, enum placeholder ph)
{
	struct render_ctx *c = ctx;
	const struct akr_mail_params *p = c->p;
	char date[32];

	switch (ph) {
	case PH_USER:
		return akr_buf_append_str(c->out, or_default(p->user, "-"));
	case PH_ACCOUNT_ID:
		return akr_buf_append_str(c->out, or_default(p->account_id, "-"));
	case PH_ACCOUNT_NAME:
		return akr_buf_append_str(c->out, or_default(p->account_name, "-"));
	case PH_ACCESS_KEY_ID:
		return akr_buf_append_str(c->out, or_default(p->access_key_id, "(none)"));
	case PH_OLD_ACCESS_KEY_ID:
		return akr_buf_append_str(c->out, or_default(p->old_access_key_id, "(none)"));
	case PH_DATE:
		return akr_buf_append_str(c->out, akr_time_format_date(p->now_sec, date, sizeof(date)));
	case PH_DEACTIVATE_DATE:
		return akr_buf_append_str(c->out, p->deactivate_on_sec
			? akr_time_format_date(p->deactivate_on_sec, date, sizeof(date))
			: "(not scheduled)");
	case PH_DELETE_DATE:
		return akr_buf_append_str(c->out, p->delete_on_sec
			? akr_time_format_date(p->delete_on_sec, date, sizeof(date))
			: "(not scheduled)");
	case PH_LAST_USED:
		if (!p->last_used_sec)
			return akr_buf_append_str(c->out, "never");
		(void)akr_time_format_iso8601(p->last_used_sec, date, sizeof(date));
		/* "2026-11-20T08:00:00Z" -> "2026-11-20 08:00 UTC" */
		return akr_buf_appendf(c->out, "%.10s %.5s UTC", date, date + 11);
	case PH_LAST_USED_SERVICE:
		return akr_buf_append_str(c->out, or_default(p->last_used_service, "N/A"));
	case PH_LAST_USED_REGION:
		return akr_buf_append_str(c->out, or_default(p->last_used_region, "N/A"));
	case PH_PASSWORD:
		if (!c->password || !c->password->buf)
			return -EINVAL;
		return akr_buf_append(c->out, c->password->buf, c->password->len);
	default:
		return -EINVAL;
	}
}

static int render(enum akr_mail_kind kind, const char *text, bool subject,
		  const struct akr_mail_params *p, const struct akr_secret *password,
		  struct akr_buf *ret, struct akr_error *reterr)
{
	_cleanup_buf_ struct akr_buf out;
	struct render_ctx c = { .out = &out, .p = p, .password = password };
	struct walk w = {
		.kind = kind, .subject = subject, .lit = render_lit, .ph = render_ph, .ctx = &c,
	};
	int r;

	akr_buf_init(&out, MAX_RENDERED_BYTES, password != NULL);
	if (!p || !ret)
		return -EINVAL;
	r = validate(kind, text, subject, reterr);
	if (r < 0)
		return r;
	r = walk_template(&w, text, reterr);
	if (r == -EINVAL)
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
			      "{password} has no value in the '%s' mail", kind_names[kind]);
	if (r < 0)
		return r;
	if (!out.data) {
		r = akr_buf_append(&out, "", 0);
		if (r < 0)
			return r;
	}
	*ret = out;
	out = (struct akr_buf){ 0 };
	return 0;
}

int akr_delivery_render(enum akr_mail_kind kind, const char *text, const struct akr_mail_params *p,
			const struct akr_secret *password, struct akr_buf *ret,
			struct akr_error *reterr)
{
	return render(kind, text, false, p, password, ret, reterr);
}

static const struct akr_mail_template *template_of(const struct akr_mail_params *p,
						   enum akr_mail_kind kind,
						   struct akr_mail_template *tmp)
{
	const struct akr_mail_template *d = &default_templates[kind];

	if (!p->templates)
		return d;
	tmp->subject = p->templates->kind[kind].subject ? p->templates->kind[kind].subject
							: d->subject;
	tmp->body = p->templates->kind[kind].body ? p->templates->kind[kind].body : d->body;
	return tmp;
}

/* Renders @kind's subject and body and builds the MIME message. */
static int compose(enum akr_mail_kind kind, const struct akr_mail_params *p,
		   const struct akr_secret *password, const struct akr_mime_attachment *a,
		   struct akr_buf *ret, struct akr_error *reterr)
{
	_cleanup_buf_ struct akr_buf subject = { 0 }, body = { 0 };
	struct akr_mail_template tmp;
	const struct akr_mail_template *t = template_of(p, kind, &tmp);
	struct akr_mime_message m;
	int r;

	r = render(kind, t->subject, true, p, NULL, &subject, reterr);
	if (r < 0)
		return r;
	r = render(kind, t->body, false, p, password, &body, reterr);
	if (r < 0)
		return r;
	m = (struct akr_mime_message){
		.from = p->sender,
		.from_name = p->templates ? p->templates->sender_name : NULL,
		.to = p->recipient,
		.subject = subject.data,
		.date_sec = p->now_sec,
		.body = body.data,
		.attachment = a,
		.sensitive = password != NULL || a != NULL,
	};
	return akr_mime_build(&m, ret, reterr);
}

static int check_params(const struct akr_mail_params *p, struct akr_error *reterr)
{
	if (!p) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidParameter", "no mail parameters");
		return -EINVAL;
	}
	if (!p->access_key_id || !akr_is_access_key_id(p->access_key_id)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidParameter",
			      "the mail needs a valid access key id");
		return -EINVAL;
	}
	/* Checked here too so that no zip is built for an unusable address. */
	if (akr_mime_check_address("sender address", p->sender, reterr) < 0 ||
	    akr_mime_check_address("recipient address", p->recipient, reterr) < 0)
		return -EINVAL;
	return 0;
}

int akr_delivery_compose_rotation(const struct akr_mail_params *p, const struct akr_secret *secret,
				  enum akr_zip_encryption enc, struct akr_buf *ret_rotation_msg,
				  struct akr_buf *ret_password_msg, struct akr_error *reterr)
{
	_cleanup_secret_ struct akr_secret *password = NULL, *zip = NULL;
	_cleanup_buf_ struct akr_buf rotation = { 0 }, pwmail = { 0 };
	char filename[64];
	struct akr_mime_attachment a;
	int r;

	if (!ret_rotation_msg || !ret_password_msg)
		return -EINVAL;
	r = check_params(p, reterr);
	if (r < 0)
		return r;

	r = akr_password_generate(AKR_PASSWORD_DEFAULT_LEN, &password);
	if (r < 0) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "PasswordFailed",
			      "cannot generate the zip password");
		return r;
	}
	r = akr_zip_credentials(p->access_key_id, secret, password, enc, &zip, reterr);
	if (r < 0)
		return r;

	if ((size_t)snprintf(filename, sizeof(filename), "credentials-%s.zip", p->access_key_id) >=
	    sizeof(filename))
		strcpy(filename, "credentials.zip");
	a = (struct akr_mime_attachment){
		.filename = filename,
		.content_type = "application/zip",
		.data = zip->buf,
		.len = zip->len,
	};
	r = compose(AKR_MAIL_ROTATION, p, NULL, &a, &rotation, reterr);
	if (r < 0)
		return r;
	r = compose(AKR_MAIL_PASSWORD, p, password, NULL, &pwmail, reterr);
	if (r < 0)
		return r;

	*ret_rotation_msg = rotation;
	rotation = (struct akr_buf){ 0 };
	*ret_password_msg = pwmail;
	pwmail = (struct akr_buf){ 0 };
	return 0;
}

int akr_delivery_compose_notice(enum akr_mail_kind kind, const struct akr_mail_params *p,
				struct akr_buf *ret_msg, struct akr_error *reterr)
{
	int r;

	if (kind != AKR_MAIL_REMINDER && kind != AKR_MAIL_DEACTIVATED && kind != AKR_MAIL_DELETED) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidParameter",
			      "'%s' is not a notice", or_default(akr_mail_kind_to_string(kind), "?"));
		return -EINVAL;
	}
	if (!ret_msg)
		return -EINVAL;
	r = check_params(p, reterr);
	if (r < 0)
		return r;
	return compose(kind, p, NULL, NULL, ret_msg, reterr);
}

/* ---- sending ---- */

struct send_item {
	struct send_item *next;
	struct akr_delivery_sender *sender;
	char *source;
	char *recipient;
	struct akr_buf msg;
	akr_delivery_sent_cb cb;
	void *userdata;
};

struct akr_delivery_sender {
	uv_loop_t *loop;
	const struct akr_aws_client *client;
	akr_delivery_transport_fn transport;
	char *configuration_set;
	double rate;       /* messages per second, 0 = unlimited */
	double tokens;     /* token bucket, at most max(1, rate) */
	uint64_t refill_ms; /* uv_now() of the last refill */
	uv_timer_t timer;  /* paces the queue */
	struct send_item *head, *tail;
	size_t queued;
	size_t in_flight;
	bool quota_exhausted; /* SES said the daily quota is used up */
	bool freeing;
	bool timer_closed;
};

/* The daemon passes akr_ses_send_raw_email as the transport; checked here
 * without referencing it, so that composing does not link the AWS stack. */
_Static_assert(__builtin_types_compatible_p(typeof(&akr_ses_send_raw_email),
					    akr_delivery_transport_fn),
	       "akr_ses_send_raw_email must fit akr_delivery_transport_fn");

static const char daily_quota_message[] = "Daily message quota exceeded";

static void item_free(struct send_item *it)
{
	if (!it)
		return;
	free(it->source);
	free(it->recipient);
	akr_buf_done(&it->msg); /* wiped when sensitive */
	free(it);
}

static void sender_release_if_idle(struct akr_delivery_sender *s)
{
	if (s->freeing && s->timer_closed && s->in_flight == 0) {
		free(s->configuration_set);
		free(s);
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	struct akr_delivery_sender *s = h->data;

	s->timer_closed = true;
	sender_release_if_idle(s);
}

static void refill(struct akr_delivery_sender *s)
{
	uint64_t now = uv_now(s->loop);
	double burst = s->rate > 1.0 ? s->rate : 1.0;

	s->tokens += (double)(now - s->refill_ms) * s->rate / 1000.0;
	if (s->tokens > burst)
		s->tokens = burst;
	s->refill_ms = now;
}

static void schedule(struct akr_delivery_sender *s);

static void on_sent(void *userdata, int r, const char *message_id, const struct akr_error *err)
{
	struct send_item *it = userdata;
	struct akr_delivery_sender *s = it->sender;
	struct akr_error quota;

	/* SES answers both rate and daily-quota overruns with "Throttling"; only
	 * the first clears within a retry window (aws-wire.md §8). */
	if (r < 0 && err && strcmp(err->code, "Throttling") == 0 &&
	    strstr(err->message, daily_quota_message)) {
		quota = *err;
		quota.retry = AKR_RETRY_NONE;
		s->quota_exhausted = true;
		r = -EDQUOT;
		err = &quota;
	}
	s->in_flight--;
	it->cb(it->userdata, r, r < 0 ? NULL : message_id, err);
	item_free(it);
	sender_release_if_idle(s);
}

static void dispatch(struct akr_delivery_sender *s, struct send_item *it)
{
	struct akr_ses_raw_email m = {
		.source = it->source,
		.destinations = (const char *const *)&it->recipient,
		.n_destinations = 1,
		.configuration_set = s->configuration_set,
		.raw = (const uint8_t *)it->msg.data,
		.raw_len = it->msg.len,
	};
	struct akr_error err = { 0 };
	int r;

	if (s->quota_exhausted) {
		akr_error_set(&err, AKR_ERROR_AWS, 400, "Throttling",
			      "%s (an earlier answer of SES); not sent", daily_quota_message);
		err.retry = AKR_RETRY_NONE;
		it->cb(it->userdata, -EDQUOT, NULL, &err);
		item_free(it);
		return;
	}
	s->in_flight++;
	r = s->transport(s->client, &m, on_sent, it);
	if (r < 0) {
		s->in_flight--;
		akr_error_set(&err, AKR_ERROR_LOCAL, 0, "SendFailed",
			      "SendRawEmail could not be started");
		it->cb(it->userdata, r, NULL, &err);
		item_free(it);
	}
}

static void on_timer(uv_timer_t *t)
{
	struct akr_delivery_sender *s = t->data;

	while (s->head) {
		if (s->rate > 0) {
			refill(s);
			if (s->tokens < 1.0)
				break;
			s->tokens -= 1.0;
		}
		struct send_item *it = s->head;
		s->head = it->next;
		if (!s->head)
			s->tail = NULL;
		s->queued--;
		dispatch(s, it);
	}
	schedule(s);
}

/* Arms the timer for the next message the bucket allows; 0 ms still goes
 * through the loop, so no callback runs from inside akr_delivery_send(). */
static void schedule(struct akr_delivery_sender *s)
{
	uint64_t wait_ms = 0;

	if (!s->head || s->freeing)
		return;
	if (s->rate > 0) {
		refill(s);
		if (s->tokens < 1.0)
			wait_ms = (uint64_t)((1.0 - s->tokens) * 1000.0 / s->rate) + 1;
	}
	(void)uv_timer_start(&s->timer, on_timer, wait_ms, 0);
}

int akr_delivery_sender_new(uv_loop_t *loop, const struct akr_aws_client *client,
			    const struct akr_delivery_sender_options *opts,
			    struct akr_delivery_sender **ret)
{
	struct akr_delivery_sender *s;

	if (!loop || !opts || !opts->transport || !ret || !(opts->max_send_rate >= 0))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (opts->configuration_set && *opts->configuration_set) {
		s->configuration_set = strdup(opts->configuration_set);
		if (!s->configuration_set) {
			free(s);
			return -ENOMEM;
		}
	}
	s->loop = loop;
	s->client = client;
	s->transport = opts->transport;
	s->rate = opts->max_send_rate;
	s->tokens = s->rate > 1.0 ? s->rate : 1.0;
	s->refill_ms = uv_now(loop);
	(void)uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	*ret = s;
	return 0;
}

int akr_delivery_send(struct akr_delivery_sender *s, const char *source, const char *recipient,
		      struct akr_buf *msg, akr_delivery_sent_cb cb, void *userdata)
{
	struct send_item *it;

	if (!s || !cb || !msg || !msg->data || s->freeing || !akr_is_valid_email(recipient) ||
	    !akr_is_valid_email(source)) {
		if (msg)
			akr_buf_done(msg);
		return -EINVAL;
	}
	it = calloc(1, sizeof(*it));
	if (it) {
		it->source = strdup(source);
		it->recipient = strdup(recipient);
	}
	if (!it || !it->source || !it->recipient) {
		akr_buf_done(msg);
		item_free(it);
		return -ENOMEM;
	}
	it->sender = s;
	it->msg = *msg;
	*msg = (struct akr_buf){ .max = msg->max, .sensitive = msg->sensitive };
	it->cb = cb;
	it->userdata = userdata;
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	s->queued++;
	if (!uv_is_active((uv_handle_t *)&s->timer))
		schedule(s);
	return 0;
}

size_t akr_delivery_sender_queued(const struct akr_delivery_sender *s)
{
	return s ? s->queued : 0;
}

void akr_delivery_sender_free(struct akr_delivery_sender *s)
{
	struct akr_error err = { 0 };

	if (!s || s->freeing)
		return;
	s->freeing = true;
	akr_error_set(&err, AKR_ERROR_LOCAL, 0, "Canceled", "the sender was stopped");
	while (s->head) {
		struct send_item *it = s->head;
		s->head = it->next;
		s->queued--;
		it->cb(it->userdata, -ECANCELED, NULL, &err);
		item_free(it);
	}
	s->tail = NULL;
	(void)uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}
