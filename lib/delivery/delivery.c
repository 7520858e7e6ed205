#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/base/buf.h"
#include "lib/delivery/delivery.h"
#include "lib/base/error.h"
#include "lib/delivery/mime.h"
#include "lib/delivery/password.h"
#include "lib/base/secret.h"
#include "lib/base/strutil.h"
#include "lib/base/timeutil.h"
#include "lib/delivery/zip.h"

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
	[AKR_MAIL_ADDRESS_CHANGED] = "address-changed",
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
			"{password}\n"
			"\n"
			"It is letters and digits only, on a line of its own: double-click it to\n"
			"copy it. Delete this email once you have stored the new key safely.\n"
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
	[AKR_MAIL_ADDRESS_CHANGED] = {
		.subject = "Security notice: the email address of IAM user {user} ({account_id}) was changed",
		.body =
			"Hello {user},\n"
			"\n"
			"on {date} we found that the email address of your IAM user {user} in AWS\n"
			"account {account_id} ({account_name}) was changed. It now reads:\n"
			"\n"
			"    {new_address}\n"
			"\n"
			"You get this notice because your access keys were sent to this address\n"
			"so far. Your next access key will go to the new address on or after\n"
			"{deliver_date}. Your current key {access_key_id} keeps working.\n"
			"\n"
			"If you did not ask for this change, tell your AWS administrators at once:\n"
			"someone may be trying to receive your next access key. Setting the email\n"
			"tag back to this address stops the delivery to the new one.\n"
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
	PH_NEW_ADDRESS,
	PH_DELIVER_DATE,
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
	[PH_NEW_ADDRESS] = "new_address",
	[PH_DELIVER_DATE] = "deliver_date",
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

/* Whether the placeholder from @open ('{') to @close ('}') in @text is all
 * of its line. */
static bool alone_on_line(const char *text, const char *open, const char *close)
{
	const char *after = close + 1;

	return (open == text || open[-1] == '\n') &&
	       (*after == '\0' || *after == '\n' || (after[0] == '\r' && after[1] == '\n'));
}

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
		if (ph == PH_PASSWORD && !alone_on_line(text, p, end)) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidTemplate",
				      "%s of '%s': {password} must stand on a line of its own, with "
				      "nothing before or after it, so that it copies cleanly",
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
	case PH_NEW_ADDRESS:
		return akr_buf_append_str(c->out, or_default(p->new_address, "-"));
	case PH_DELIVER_DATE:
		return akr_buf_append_str(c->out, p->deliver_on_sec
			? akr_time_format_date(p->deliver_on_sec, date, sizeof(date))
			: "(not scheduled)");
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
	_cleanup_buf_ struct akr_buf out = { 0 };
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
		(void)snprintf(filename, sizeof(filename), "credentials.zip");
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

	if (kind != AKR_MAIL_REMINDER && kind != AKR_MAIL_DEACTIVATED && kind != AKR_MAIL_DELETED &&
	    kind != AKR_MAIL_ADDRESS_CHANGED) {
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
