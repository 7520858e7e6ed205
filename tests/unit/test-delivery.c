#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "lib/base/buf.h"
#include "lib/delivery/delivery.h"
#include "lib/delivery/password.h"
#include "lib/base/error.h"
#include "lib/base/ratelimit.h"
#include "lib/base/secret.h"
#include "tests/unit/testutil.h"

#define KEY_ID "AKIAI44QH8DHBEXAMPLE"
#define OLD_KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
#define NOW 1795784400 /* 2026-11-27T13:00:00Z */
#define DAY 86400

static const char parse_py[] =
	"import sys, json, email, email.policy\n"
	"msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)\n"
	"parts = []\n"
	"for p in msg.walk():\n"
	"    if p.is_multipart(): continue\n"
	"    d = {'type': p.get_content_type(), 'filename': p.get_filename()}\n"
	"    if p.get_content_maintype() == 'text': d['text'] = p.get_content().replace('\\r\\n', '\\n')\n"
	"    elif len(sys.argv) > 1: open(sys.argv[1], 'wb').write(p.get_payload(decode=True))\n"
	"    parts.append(d)\n"
	"print(json.dumps({'subject': str(msg['subject']), 'to': str(msg['to']),\n"
	"                  'defects': len(msg.defects), 'parts': parts}, ensure_ascii=False))\n";

static struct akr_mail_params base_params(void)
{
	return (struct akr_mail_params){
		.sender = "rotator@example.com",
		.recipient = "alice@example.com",
		.user = "alice",
		.account_id = "222222222222",
		.account_name = "dev",
		.access_key_id = KEY_ID,
		.old_access_key_id = OLD_KEY_ID,
		.now_sec = NOW,
		.deactivate_on_sec = NOW + 10 * DAY,
		.delete_on_sec = NOW + 20 * DAY,
		.last_used_sec = NOW - 7 * DAY - 5 * 3600,
		.last_used_service = "s3",
		.last_used_region = "eu-west-1",
	};
}

/* Parses @msg with Python's email package; writes an attachment to @attachment_path. */
static void parse_with_python(const struct akr_buf *msg, const char *attachment_path,
			      struct akr_buf *json)
{
	testutil_run_python(parse_py, attachment_path, msg->data, msg->len, json, 1 << 24);
	testutil_assert_has(json->data, "\"defects\": 0");
}

/* ---- templates ---- */

static void test_defaults_are_valid(void **state)
{
	for (int k = 0; k < _AKR_MAIL_KIND_MAX; k++) {
		const struct akr_mail_template *t = akr_delivery_default_template(k);
		struct akr_error err = { 0 };

		assert_non_null(t);
		assert_int_equal(akr_delivery_subject_validate(k, t->subject, &err), 0);
		assert_int_equal(akr_delivery_template_validate(k, t->body, &err), 0);
	}
	assert_null(akr_delivery_default_template(_AKR_MAIL_KIND_MAX));
}

static void expect_invalid(enum akr_mail_kind k, bool subject, const char *text, const char *msg)
{
	struct akr_error err = { 0 };

	if (subject)
		assert_int_equal(akr_delivery_subject_validate(k, text, &err), -EINVAL);
	else
		assert_int_equal(akr_delivery_template_validate(k, text, &err), -EINVAL);
	testutil_assert_has(err.message, msg);
}

static void test_validation(void **state)
{
	struct akr_error err = { 0 };
	enum akr_mail_kind k;

	expect_invalid(AKR_MAIL_REMINDER, false, "Hi {usr},", "unknown placeholder '{usr}'");
	expect_invalid(AKR_MAIL_REMINDER, true, "Key {key}", "unknown placeholder '{key}'");
	expect_invalid(AKR_MAIL_ROTATION, false, "Your key, password {password}", "{password}");
	expect_invalid(AKR_MAIL_DELETED, false, "{password}", "{password}");
	expect_invalid(AKR_MAIL_PASSWORD, true, "pw {password}", "{password}");
	expect_invalid(AKR_MAIL_PASSWORD, false, "no password here", "must contain {password}");
	/* On a line of its own, so that a click or a line selection copies it
	 * and nothing else (issue 10). */
	expect_invalid(AKR_MAIL_PASSWORD, false, "Password: {password}\n", "line of its own");
	expect_invalid(AKR_MAIL_PASSWORD, false, "x\n{password}.\n", "line of its own");
	expect_invalid(AKR_MAIL_PASSWORD, false, "x\n    {password}\n", "line of its own");
	expect_invalid(AKR_MAIL_PASSWORD, false, "x\n{password} \n", "line of its own");
	expect_invalid(AKR_MAIL_PASSWORD, false, "{password}{user}", "line of its own");
	expect_invalid(AKR_MAIL_REMINDER, false, "open { brace", "unterminated");
	expect_invalid(AKR_MAIL_REMINDER, false, "open {user", "unterminated");
	expect_invalid(AKR_MAIL_REMINDER, false, "close } brace", "lone '}'");
	expect_invalid(AKR_MAIL_REMINDER, true, "two\nlines", "control character");
	expect_invalid(AKR_MAIL_REMINDER, false, "bell \a", "control character");
	expect_invalid(_AKR_MAIL_KIND_MAX, false, "x", "unknown mail kind");

	assert_int_equal(akr_delivery_template_validate(AKR_MAIL_REMINDER,
							"{{literal}} {user}\r\n\tok", &err), 0);
	assert_int_equal(akr_delivery_template_validate(AKR_MAIL_PASSWORD, "{password}", &err), 0);
	assert_int_equal(akr_delivery_template_validate(AKR_MAIL_PASSWORD, "a\r\n{password}\r\nb",
							&err),
			 0);
	assert_int_equal(akr_delivery_template_validate(AKR_MAIL_PASSWORD, "a:\n{password}", &err),
			 0);

	assert_string_equal(akr_mail_kind_to_string(AKR_MAIL_DEACTIVATED), "deactivated");
	assert_int_equal(akr_mail_kind_from_string("password", &k), 0);
	assert_int_equal(k, AKR_MAIL_PASSWORD);
	assert_int_equal(akr_mail_kind_from_string("nope", &k), -EINVAL);
}

static void test_render(void **state)
{
	struct akr_mail_params p = base_params();
	_cleanup_buf_ struct akr_buf out = { 0 };
	_cleanup_secret_ struct akr_secret *pw = akr_secret_new_str("Pw-123_abc");
	struct akr_error err = { 0 };

	assert_int_equal(akr_delivery_render(AKR_MAIL_REMINDER,
					     "{user}/{account_id}/{account_name}/{access_key_id}/"
					     "{old_access_key_id}/{date}/{deactivate_date}/"
					     "{delete_date}/{last_used}/{last_used_service}/"
					     "{last_used_region}/{{x}}",
					     &p, NULL, &out, &err), 0);
	assert_string_equal(out.data, "alice/222222222222/dev/" KEY_ID "/" OLD_KEY_ID
				      "/2026-11-27/2026-12-07/2026-12-17/2026-11-20 08:00 UTC/"
				      "s3/eu-west-1/{x}");
	assert_false(out.sensitive);
	akr_buf_done(&out);

	p.last_used_sec = 0;
	p.last_used_service = p.last_used_region = NULL;
	p.old_access_key_id = NULL;
	p.account_name = NULL;
	p.deactivate_on_sec = 0;
	assert_int_equal(akr_delivery_render(AKR_MAIL_DEACTIVATED,
					     "{last_used} {last_used_service} {last_used_region} "
					     "{old_access_key_id} {account_name} {deactivate_date}",
					     &p, NULL, &out, &err), 0);
	assert_string_equal(out.data, "never N/A N/A (none) - (not scheduled)");
	akr_buf_done(&out);

	assert_int_equal(akr_delivery_render(AKR_MAIL_PASSWORD, "pw:\n{password}\n", &p, pw, &out,
					     &err),
			 0);
	assert_string_equal(out.data, "pw:\nPw-123_abc\n");
	assert_true(out.sensitive);
	akr_buf_done(&out);

	/* Rendering validates too. */
	assert_int_equal(akr_delivery_render(AKR_MAIL_ROTATION, "{password}", &p, pw, &out, &err),
			 -EINVAL);
	assert_null(out.data);
}

/* ---- composition ---- */

static void test_rotation_end_to_end(void **state)
{
	struct akr_delivery_templates t = { .sender_name = "Key rotator" };
	struct akr_mail_params p = base_params();
	_cleanup_secret_ struct akr_secret *secret = akr_secret_new_str(SECRET);
	_cleanup_buf_ struct akr_buf rot = { 0 }, pwm = { 0 }, json = { 0 }, pjson = { 0 };
	struct akr_error err = { 0 };
	char zip_path[] = "/tmp/akr-test-dlv-zip-XXXXXX", cmd[512], pw[64], csv[256];
	const char *s, *e;
	FILE *f;
	size_t n;
	int fd;

	/* The password mail's body is custom here so the test can read the password. */
	t.kind[AKR_MAIL_PASSWORD].body = "PW for {access_key_id} of {date}:\n{password}\nend\n";
	p.templates = &t;
	assert_int_equal(akr_delivery_compose_rotation(&p, secret, AKR_ZIP_ENCRYPTION_AES256, &rot,
						       &pwm, &err), 0);
	assert_true(rot.sensitive);
	assert_true(pwm.sensitive);

	/* The password, from the password mail. */
	parse_with_python(&pwm, NULL, &pjson);
	s = strstr(pjson.data, ":\\n");
	assert_non_null(s);
	s += 3;
	e = strstr(s, "\\nend");
	assert_non_null(e);
	assert_true(e - s >= 20 && (size_t)(e - s) < sizeof(pw));
	memcpy(pw, s, (size_t)(e - s));
	pw[e - s] = '\0';
	testutil_assert_has(pjson.data, "PW for " KEY_ID " of 2026-11-27");
	testutil_assert_has(pjson.data, "\"subject\": \"Password for your new AWS access key " KEY_ID "\"");
	assert_null(strstr(pjson.data, "application/zip"));

	/* Neither the secret nor the password travels in clear with the zip;
	 * neither the zip nor the secret travels with the password. */
	assert_null(memmem(rot.data, rot.len, SECRET, strlen(SECRET)));
	assert_null(memmem(rot.data, rot.len, pw, strlen(pw)));
	assert_null(memmem(pwm.data, pwm.len, SECRET, strlen(SECRET)));
	assert_null(memmem(pwm.data, pwm.len, "UEsDB", 5)); /* base64 of "PK\3\4" */
	assert_null(memmem(pwm.data, pwm.len, "application/zip", 15));
	assert_null(memmem(pwm.data, pwm.len, "multipart", 9));

	/* The rotation mail: text with the dates, and the zip. */
	fd = mkstemp(zip_path);
	assert_true(fd >= 0);
	(void)close(fd);
	parse_with_python(&rot, zip_path, &json);
	testutil_assert_has(json.data, "\"subject\": \"Your new AWS access key for account 222222222222 (dev)\"");
	testutil_assert_has(json.data, "\"filename\": \"credentials-" KEY_ID ".zip\"");
	testutil_assert_has(json.data, "Access key ID: " KEY_ID);
	testutil_assert_has(json.data, "deactivated on 2026-12-07");
	testutil_assert_has(json.data, "deleted on     2026-12-17");
	testutil_assert_has(json.data, "old access key " OLD_KEY_ID);
	assert_null(strstr(json.data, SECRET));
	assert_null(strstr(json.data, pw));

	/* The password from the one mail opens the zip from the other. */
	/* A missing prerequisite is a failure, never a skip. */
	if (system("command -v 7zz >/dev/null 2>&1") != 0) {
		(void)unlink(zip_path);
		fail_msg("7zz not found: install the Debian package 7zip (tools/packages.txt)");
	}
	(void)snprintf(cmd, sizeof(cmd), "7zz x -p'%s' -so '%s' credentials.csv 2>/dev/null", pw,
		       zip_path);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(csv, 1, sizeof(csv) - 1, f);
	csv[n] = '\0';
	assert_int_equal(WEXITSTATUS(pclose(f)), 0);
	(void)unlink(zip_path);
	assert_string_equal(csv, "Access key ID,Secret access key\r\n" KEY_ID "," SECRET "\r\n");
}

/* Whether the JSON text of a mail body holds a line that is a password of
 * the default length and nothing else ("\n" is "\\n" in the JSON). */
static bool has_password_line(const char *json)
{
	const char *alpha = akr_password_alphabet();

	for (const char *p = strstr(json, "\\n"); p; p = strstr(p + 2, "\\n")) {
		const char *q = p + 2;
		size_t n = strspn(q, alpha);

		if (n == AKR_PASSWORD_DEFAULT_LEN && strncmp(q + n, "\\n", 2) == 0)
			return true;
	}
	return false;
}

static void test_rotation_default_password_mail(void **state)
{
	struct akr_mail_params p = base_params();
	_cleanup_secret_ struct akr_secret *secret = akr_secret_new_str(SECRET);
	_cleanup_buf_ struct akr_buf rot = { 0 }, pwm = { 0 }, json = { 0 };

	assert_int_equal(akr_delivery_compose_rotation(&p, secret, AKR_ZIP_ENCRYPTION_ZIPCRYPTO,
						       &rot, &pwm, NULL), 0);
	parse_with_python(&pwm, NULL, &json);
	testutil_assert_has(json.data, "sent on 2026-11-27");
	testutil_assert_has(json.data, "for the access key " KEY_ID);
	/* The password stands on a line of its own, letters and digits only. */
	assert_true(has_password_line(json.data));
	assert_null(memmem(pwm.data, pwm.len, SECRET, strlen(SECRET)));
	assert_null(memmem(rot.data, rot.len, SECRET, strlen(SECRET)));
	assert_null(memmem(pwm.data, pwm.len, "UEsDB", 5));
}

static void test_rotation_refused(void **state)
{
	struct akr_delivery_templates t = { 0 };
	struct akr_mail_params p = base_params();
	_cleanup_secret_ struct akr_secret *secret = akr_secret_new_str(SECRET);
	struct akr_buf rot = { .data = (char *)"untouched" }, pwm = { .data = (char *)"untouched" };
	struct akr_error err = { 0 };

	p.recipient = "alice@example.com\r\nBcc: evil@example.com";
	assert_int_equal(akr_delivery_compose_rotation(&p, secret, 0, &rot, &pwm, &err), -EINVAL);
	assert_string_equal(err.code, "HeaderInjection");
	assert_string_equal(rot.data, "untouched");
	assert_string_equal(pwm.data, "untouched");

	p = base_params();
	p.account_name = "dev\r\nBcc: evil@example.com";
	assert_int_equal(akr_delivery_compose_rotation(&p, secret, 0, &rot, &pwm, &err), -EINVAL);
	assert_string_equal(err.code, "HeaderInjection");

	p = base_params();
	t.kind[AKR_MAIL_ROTATION].body = "Here is everything: {password}";
	p.templates = &t;
	assert_int_equal(akr_delivery_compose_rotation(&p, secret, 0, &rot, &pwm, &err), -EINVAL);
	testutil_assert_has(err.message, "{password}");

	p = base_params();
	p.access_key_id = "AKIA\r\nX";
	assert_int_equal(akr_delivery_compose_rotation(&p, secret, 0, &rot, &pwm, &err), -EINVAL);
	assert_string_equal(rot.data, "untouched");
}

static void test_notices(void **state)
{
	static const struct {
		enum akr_mail_kind kind;
		const char *subject, *text;
	} cases[] = {
		{ AKR_MAIL_REMINDER,
		  "Reminder: AWS access key " OLD_KEY_ID " will be deactivated on 2026-12-07",
		  "deactivated on 2026-12-07" },
		{ AKR_MAIL_DEACTIVATED, "AWS access key " OLD_KEY_ID " was deactivated",
		  "re-enable the key until\\n2026-12-17" },
		{ AKR_MAIL_DELETED, "AWS access key " OLD_KEY_ID " was deleted",
		  "was deleted today, 2026-11-27" },
	};
	struct akr_mail_params p = base_params();
	struct akr_buf msg = { 0 };
	struct akr_error err = { 0 };

	p.access_key_id = OLD_KEY_ID;
	p.old_access_key_id = NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_buf_ struct akr_buf json = { 0 };
		char subject[200];

		assert_int_equal(akr_delivery_compose_notice(cases[i].kind, &p, &msg, &err), 0);
		parse_with_python(&msg, NULL, &json);
		(void)snprintf(subject, sizeof(subject), "\"subject\": \"%s\"", cases[i].subject);
		testutil_assert_has(json.data, subject);
		testutil_assert_has(json.data, cases[i].text);
		testutil_assert_has(json.data, "last used: 2026-11-20 08:00 UTC (service s3, region\\neu-west-1)");
		assert_null(strstr(json.data, "application/zip"));
		akr_buf_done(&msg);
	}
	p.last_used_sec = 0;
	p.last_used_service = p.last_used_region = "N/A";
	assert_int_equal(akr_delivery_compose_notice(AKR_MAIL_REMINDER, &p, &msg, &err), 0);
	assert_non_null(strstr(msg.data, "last used: never (service N/A"));
	akr_buf_done(&msg);

	assert_int_equal(akr_delivery_compose_notice(AKR_MAIL_ROTATION, &p, &msg, &err), -EINVAL);
	assert_int_equal(akr_delivery_compose_notice(AKR_MAIL_PASSWORD, &p, &msg, &err), -EINVAL);
	p.recipient = "bob@example.com\nBcc: evil@example.com";
	assert_int_equal(akr_delivery_compose_notice(AKR_MAIL_DELETED, &p, &msg, &err), -EINVAL);
	assert_null(msg.data);
}

/* The address-change notice goes to the previous address and names the new
 * one and the day the key goes there. */
static void test_address_changed_notice(void **state)
{
	_cleanup_buf_ struct akr_buf json = { 0 };
	struct akr_mail_params p = base_params();
	struct akr_buf msg = { 0 };
	struct akr_error err = { 0 };

	(void)state;
	p.access_key_id = OLD_KEY_ID;
	p.old_access_key_id = NULL;
	p.new_address = "mallory@example.com";
	p.deliver_on_sec = p.now_sec + 3 * 86400;
	assert_int_equal(akr_delivery_compose_notice(AKR_MAIL_ADDRESS_CHANGED, &p, &msg, &err), 0);
	parse_with_python(&msg, NULL, &json);
	testutil_assert_has(json.data,
		   "\"subject\": \"Security notice: the email address of IAM user alice");
	testutil_assert_has(json.data, "    mallory@example.com");
	testutil_assert_has(json.data, "on or after\\n2026-11-30");
	testutil_assert_has(json.data, "on 2026-11-27 we found");
	assert_null(strstr(json.data, "application/zip"));
	akr_buf_done(&msg);
	assert_string_equal(akr_mail_kind_to_string(AKR_MAIL_ADDRESS_CHANGED), "address-changed");
	/* A template may use the new placeholders. */
	assert_int_equal(akr_delivery_template_validate(
				 AKR_MAIL_ADDRESS_CHANGED, "{new_address} from {deliver_date}", &err),
			 0);
}

/* ---- sending, with a fake transport ---- */

struct fake_call {
	void *cb_userdata;
	akr_ses_send_cb cb;
	uint64_t at_ms;
};

struct fake {
	uv_loop_t loop;
	uv_timer_t complete;
	struct fake_call calls[16];
	size_t n_calls, n_completed;
	const char *fail_code, *fail_message;
	char last_config_set[64], last_dest[64];
	size_t last_raw_len;
	int results[16];
	size_t n_results;
	struct akr_error errs[16];
};

static struct fake *the_fake;

static void fake_complete(uv_timer_t *t)
{
	struct fake *f = t->data;

	while (f->n_completed < f->n_calls) {
		struct fake_call *c = &f->calls[f->n_completed++];
		if (f->fail_code) {
			struct akr_error err = { 0 };
			akr_error_set(&err, AKR_ERROR_AWS, 400, f->fail_code, "%s", f->fail_message);
			c->cb(c->cb_userdata, -EPROTO, NULL, &err);
		} else {
			c->cb(c->cb_userdata, 0, "0100018d-msgid", NULL);
		}
	}
}

static int fake_transport(const struct akr_aws_client *c, const struct akr_ses_raw_email *m,
			  akr_ses_send_cb cb, void *userdata)
{
	struct fake *f = the_fake;

	assert_true(f->n_calls < 16);
	assert_int_equal(m->n_destinations, 1);
	(void)snprintf(f->last_dest, sizeof(f->last_dest), "%s", m->destinations[0]);
	(void)snprintf(f->last_config_set, sizeof(f->last_config_set), "%s",
		       m->configuration_set ? m->configuration_set : "");
	f->last_raw_len = m->raw_len;
	f->calls[f->n_calls++] = (struct fake_call){ userdata, cb, uv_now(&f->loop) };
	(void)uv_timer_start(&f->complete, fake_complete, 0, 0);
	return 0;
}

static bool in_send;

static void on_sent(void *userdata, int r, const char *message_id, const struct akr_error *err)
{
	struct fake *f = userdata;

	assert_false(in_send);
	if (err)
		f->errs[f->n_results] = *err;
	f->results[f->n_results++] = r;
	if (r == 0)
		assert_string_equal(message_id, "0100018d-msgid");
}

static void make_msg(struct akr_buf *b)
{
	akr_buf_init(b, 1024, true);
	assert_int_equal(akr_buf_append_str(b, "From: a@example.com\r\n\r\nhi\r\n"), 0);
}

static void fake_setup(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(uv_timer_init(&f->loop, &f->complete), 0);
	f->complete.data = f;
	the_fake = f;
}

static void fake_teardown(struct fake *f, struct akr_delivery_sender *s)
{
	akr_delivery_sender_free(s);
	uv_close((uv_handle_t *)&f->complete, NULL);
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void test_sender_rate(void **state)
{
	struct fake f;
	struct akr_delivery_sender *s = NULL;
	struct akr_delivery_sender_options o = {
		.transport = fake_transport,
		.configuration_set = "iam-access-key-rotator-configset",
		.max_send_rate = 4, /* one every 250 ms */
	};
	struct akr_token_bucket replay;
	struct akr_buf msg;
	uint64_t t0;

	fake_setup(&f);
	assert_int_equal(akr_delivery_sender_new(&f.loop, NULL, &o, &s), 0);
	t0 = uv_now(&f.loop);
	for (int i = 0; i < 7; i++) {
		make_msg(&msg);
		in_send = true;
		assert_int_equal(akr_delivery_send(s, "rotator@example.com", "alice@example.com",
						   &msg, on_sent, &f), 0);
		in_send = false;
		assert_null(msg.data); /* taken */
	}
	assert_int_equal(f.n_calls, 0); /* nothing from inside akr_delivery_send */
	assert_int_equal(akr_delivery_sender_queued(s), 7);
	assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f.n_results, 7);
	for (int i = 0; i < 7; i++)
		assert_int_equal(f.results[i], 0);
	assert_string_equal(f.last_config_set, "iam-access-key-rotator-configset");
	assert_string_equal(f.last_dest, "alice@example.com");
	assert_int_equal(f.last_raw_len, strlen("From: a@example.com\r\n\r\nhi\r\n"));
	/* The sends replayed, at the loop times they happened, through a
	 * bucket of the same rate started when the sender was: every one had
	 * a token. This checks the schedule in the sender's own clock (the
	 * loop's), whatever the machine's load: a late timer only adds tokens. */
	akr_token_bucket_init(&replay, 4, (int64_t)t0);
	for (int i = 0; i < 7; i++)
		if (!akr_token_bucket_take(&replay, (int64_t)f.calls[i].at_ms))
			fail_msg("message %d left %llu ms after the start: faster than 4/s", i,
				 (unsigned long long)(f.calls[i].at_ms - t0));
	fake_teardown(&f, s);
}

static void test_sender_daily_quota(void **state)
{
	struct fake f;
	struct akr_delivery_sender *s = NULL;
	struct akr_delivery_sender_options o = { .transport = fake_transport };
	struct akr_buf msg;

	fake_setup(&f);
	f.fail_code = "Throttling";
	f.fail_message = "Daily message quota exceeded.";
	assert_int_equal(akr_delivery_sender_new(&f.loop, NULL, &o, &s), 0);
	make_msg(&msg);
	assert_int_equal(akr_delivery_send(s, "rotator@example.com", "alice@example.com", &msg,
					   on_sent, &f), 0);
	assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f.n_results, 1);
	assert_int_equal(f.results[0], -EDQUOT);
	assert_int_equal(f.errs[0].retry, AKR_RETRY_NONE);
	/* Later messages are not even tried. */
	make_msg(&msg);
	assert_int_equal(akr_delivery_send(s, "rotator@example.com", "bob@example.com", &msg,
					   on_sent, &f), 0);
	assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f.n_results, 2);
	assert_int_equal(f.results[1], -EDQUOT);
	assert_int_equal(f.n_calls, 1);
	fake_teardown(&f, s);

	/* The sending-rate Throttling stays retryable: it is not the quota. */
	fake_setup(&f);
	f.fail_code = "Throttling";
	f.fail_message = "Maximum sending rate exceeded.";
	assert_int_equal(akr_delivery_sender_new(&f.loop, NULL, &o, &s), 0);
	make_msg(&msg);
	assert_int_equal(akr_delivery_send(s, "rotator@example.com", "alice@example.com", &msg,
					   on_sent, &f), 0);
	assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f.results[0], -EPROTO);
	assert_int_equal(f.errs[0].retry, AKR_RETRY_THROTTLING);
	fake_teardown(&f, s);
}

static void test_sender_cancel_and_invalid(void **state)
{
	struct fake f;
	struct akr_delivery_sender *s = NULL;
	struct akr_delivery_sender_options o = { .transport = fake_transport, .max_send_rate = 1 };
	struct akr_buf msg;

	fake_setup(&f);
	assert_int_equal(akr_delivery_sender_new(&f.loop, NULL, &o, &s), 0);
	make_msg(&msg);
	assert_int_equal(akr_delivery_send(s, "rotator@example.com", "a\r\nb@example.com", &msg,
					   on_sent, &f), -EINVAL);
	assert_null(msg.data);
	for (int i = 0; i < 3; i++) {
		make_msg(&msg);
		assert_int_equal(akr_delivery_send(s, "rotator@example.com", "alice@example.com",
						   &msg, on_sent, &f), 0);
	}
	assert_int_equal(f.n_results, 0);
	/* Freed before the loop ran: every queued send completes, canceled. */
	fake_teardown(&f, s);
	assert_int_equal(f.n_results, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f.results[i], -ECANCELED);
	assert_int_equal(f.n_calls, 0);

	o.transport = NULL;
	assert_int_equal(akr_delivery_sender_new(uv_default_loop(), NULL, &o, &s), -EINVAL);
}

static void send_one(struct fake *f, struct akr_delivery_sender *s, bool reserved, int want)
{
	struct akr_buf msg;

	make_msg(&msg);
	if (reserved)
		assert_int_equal(akr_delivery_send_reserved(s, "rotator@example.com",
							    "alice@example.com", &msg, on_sent, f),
				 want);
	else
		assert_int_equal(akr_delivery_send(s, "rotator@example.com", "alice@example.com",
						   &msg, on_sent, f),
				 want);
}

static void test_sender_ses_quota(void **state)
{
	struct fake f;
	struct akr_delivery_sender *s = NULL;
	struct akr_delivery_sender_options o = { .transport = fake_transport };

	/* The rate: SES's, or the configured one when lower (a cap). */
	fake_setup(&f);
	assert_int_equal(akr_delivery_sender_new(&f.loop, NULL, &o, &s), 0);
	akr_delivery_sender_set_quota(s, 14, -1);
	assert_true(akr_delivery_sender_rate(s) == 14);
	fake_teardown(&f, s);
	o.max_send_rate = 5;
	fake_setup(&f);
	assert_int_equal(akr_delivery_sender_new(&f.loop, NULL, &o, &s), 0);
	akr_delivery_sender_set_quota(s, 14, -1);
	assert_true(akr_delivery_sender_rate(s) == 5);
	akr_delivery_sender_set_quota(s, 2, -1);
	assert_true(akr_delivery_sender_rate(s) == 2);
	fake_teardown(&f, s);
	o.max_send_rate = 0;

	/* The daily quota: 3 left today. A rotation reserves its 2 mails; a
	 * notice takes the last one; the next fails with -EDQUOT without
	 * calling SES, and no rotation can reserve any more. The reserved
	 * mails still go. */
	fake_setup(&f);
	assert_int_equal(akr_delivery_sender_new(&f.loop, NULL, &o, &s), 0);
	akr_delivery_sender_set_quota(s, 1000, 3);
	assert_int_equal(akr_delivery_sender_reserve(s, 2), 0);
	assert_int_equal(akr_delivery_sender_reserve(s, 2), -EDQUOT);
	send_one(&f, s, false, 0);
	send_one(&f, s, false, 0);
	assert_int_equal(akr_delivery_sender_reserve(s, 1), -EDQUOT);
	send_one(&f, s, true, 0);
	send_one(&f, s, true, 0);
	send_one(&f, s, true, -EINVAL); /* none reserved any more */
	assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f.n_results, 4);
	/* In the order they ended, which depends on how many tokens the
	 * bucket had gathered (the machine's load): a refusal ends at once,
	 * a sent mail when SES answers. */
	for (int i = 0, refused = 0; i < 4; i++) {
		if (f.results[i] == -EDQUOT) {
			assert_int_equal(f.errs[i].retry, AKR_RETRY_NONE);
			assert_int_equal(++refused, 1);
		} else {
			assert_int_equal(f.results[i], 0);
		}
	}
	assert_int_equal(f.n_calls, 3);
	fake_teardown(&f, s);

	/* Released reservations go back to the day's quota. */
	fake_setup(&f);
	assert_int_equal(akr_delivery_sender_new(&f.loop, NULL, &o, &s), 0);
	akr_delivery_sender_set_quota(s, 1000, 2);
	assert_int_equal(akr_delivery_sender_reserve(s, 2), 0);
	akr_delivery_sender_release(s, 1);
	send_one(&f, s, false, 0);
	assert_int_equal(akr_delivery_sender_reserve(s, 1), -EDQUOT);
	akr_delivery_sender_release(s, 5); /* only the one held */
	assert_int_equal(akr_delivery_sender_reserve(s, 1), 0);
	assert_int_equal(akr_delivery_sender_reserve(s, 1), -EDQUOT);
	assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f.results[0], 0);
	fake_teardown(&f, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_valid),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_rotation_end_to_end),
		cmocka_unit_test(test_rotation_default_password_mail),
		cmocka_unit_test(test_rotation_refused),
		cmocka_unit_test(test_notices),
		cmocka_unit_test(test_address_changed_notice),
		cmocka_unit_test(test_sender_rate),
		cmocka_unit_test(test_sender_daily_quota),
		cmocka_unit_test(test_sender_ses_quota),
		cmocka_unit_test(test_sender_cancel_and_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
