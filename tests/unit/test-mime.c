/* Messages are parsed back with Python's email package ($PYTHON3), the way a
 * mail client would read them, and checked byte by byte where it matters. */
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

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/delivery/mime.h"
#include "lib/base/strutil.h"
#include "tests/unit/testutil.h"

static const char parse_py[] =
	"import sys, json, email, email.policy\n"
	"raw = sys.stdin.buffer.read()\n"
	"msg = email.message_from_bytes(raw, policy=email.policy.default)\n"
	"def info(p):\n"
	"    d = {'type': p.get_content_type(), 'charset': p.get_content_charset(),\n"
	"         'cte': p.get('Content-Transfer-Encoding'), 'filename': p.get_filename(),\n"
	"         'defects': [type(x).__name__ for x in p.defects]}\n"
	"    if p.is_multipart():\n"
	"        d['parts'] = [info(x) for x in p.iter_parts()]\n"
	"    else:\n"
	"        d['hex'] = p.get_payload(decode=True).hex()\n"
	"        enc.extend(len(l) for l in p.get_payload().splitlines())\n"
	"        if p.get_content_maintype() == 'text':\n"
	"            t = p.get_content().replace('\\r\\n', '\\n')\n"
	"            d['text_hex'] = t.encode('utf-8').hex()\n"
	"    return d\n"
	"enc = []\n"
	"head, sep, body = raw.partition(b'\\r\\n\\r\\n')\n"
	"bare = raw.replace(b'\\r\\n', b'')\n"
	"s = info(msg)\n"
	"out = {'headers': {k.lower(): str(v) for k, v in msg.items()},\n"
	"       'n_headers': len(msg.keys()),\n"
	"       'subject_hex': str(msg['subject']).encode('utf-8').hex(),\n"
	"       'boundary': msg.get_boundary(), 'structure': s,\n"
	"       'crlf_only': b'\\r' not in bare and b'\\n' not in bare,\n"
	"       'ends_crlf': raw.endswith(b'\\r\\n'),\n"
	"       'max_line': max(len(l) for l in raw.split(b'\\r\\n')),\n"
	"       'max_header_line': max(len(l) for l in head.split(b'\\r\\n')),\n"
	"       'max_encoded_line': max(enc),\n"
	"       'ascii_only': all(b < 128 for b in raw)}\n"
	"print(json.dumps(out, sort_keys=True, ensure_ascii=False))\n";


/* Feeds @msg to the Python parser and returns its JSON in @json. */
static void parse_with_python(const struct akr_buf *msg, struct akr_buf *json)
{
	testutil_run_python(parse_py, NULL, msg->data, msg->len, json, 64 << 20);
}

static void assert_json_has(const struct akr_buf *json, const char *needle)
{
	if (!strstr(json->data, needle)) {
		print_error("missing %s in %s\n", needle, json->data);
		fail();
	}
}

static long json_int(const struct akr_buf *json, const char *key)
{
	char needle[64];
	const char *p;

	(void)snprintf(needle, sizeof(needle), "\"%s\": ", key);
	p = strstr(json->data, needle);
	assert_non_null(p);
	return strtol(p + strlen(needle), NULL, 10);
}

static void assert_json_has_hex(const struct akr_buf *json, const char *key, const void *data,
				size_t len)
{
	_cleanup_buf_ struct akr_buf needle = { 0 };
	char *hex = malloc(2 * len + 1);

	assert_non_null(hex);
	akr_hex_encode(data, len, hex);
	akr_buf_init(&needle, 64 << 20, false);
	assert_int_equal(akr_buf_appendf(&needle, "\"%s\": \"%s\"", key, hex), 0);
	free(hex);
	assert_json_has(json, needle.data);
}

#define BODY                                                                                       \
	"Hello alice,\n"                                                                           \
	"\n"                                                                                       \
	"a=b and 100% ok, trailing spaces   \n"                                                    \
	"tab\tin the middle, and a lone CR\r here\r\n"                                             \
	"Grüße, café — ключ 🔑\n"                                                                  \
	"A long line: 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 "          \
	"0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 "            \
	"=========================================================================\n"              \
	".\n"                                                                                      \
	"From the rotator\n"
/* What a reader sees: CRLF line ends as LF, the lone CR kept. */
#define BODY_READ                                                                                  \
	"Hello alice,\n"                                                                           \
	"\n"                                                                                       \
	"a=b and 100% ok, trailing spaces   \n"                                                    \
	"tab\tin the middle, and a lone CR\r here\n"                                               \
	"Grüße, café — ключ 🔑\n"                                                                  \
	"A long line: 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 "          \
	"0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 "            \
	"=========================================================================\n"              \
	".\n"                                                                                      \
	"From the rotator\n"

static void test_multipart_with_zip(void **state)
{
	uint8_t data[3000];
	struct akr_mime_attachment a = {
		.filename = "credentials-AKIAIOSFODNN7EXAMPLE.zip",
		.content_type = "application/zip",
		.data = data,
		.len = sizeof(data),
	};
	struct akr_mime_message m = {
		.from = "rotator@example.com",
		.from_name = "IAM \"key\" rotator",
		.to = "alice@example.com",
		.subject = "Your new AWS access key for account 222222222222",
		.date_sec = 1795784400,
		.body = BODY,
		.attachment = &a,
	};
	_cleanup_buf_ struct akr_buf msg = { 0 }, json = { 0 };
	struct akr_error err = { 0 };
	char *p;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 256);
	assert_int_equal(akr_mime_build(&m, &msg, &err), 0);
	assert_true(msg.sensitive);
	parse_with_python(&msg, &json);

	assert_json_has(&json,
			"\"from\": \"\\\"IAM \\\\\\\"key\\\\\\\" rotator\\\" <rotator@example.com>\"");
	assert_json_has(&json, "\"to\": \"alice@example.com\"");
	assert_json_has(&json, "\"subject\": \"Your new AWS access key for account 222222222222\"");
	assert_json_has(&json, "\"date\": \"Fri, 27 Nov 2026 13:00:00 +0000\"");
	assert_json_has(&json, "\"mime-version\": \"1.0\"");
	assert_json_has(&json, "\"auto-submitted\": \"auto-generated\"");
	assert_json_has(&json, "@example.com>\"");
	assert_json_has(&json, "\"message-id\": \"<");
	assert_json_has(&json, "\"n_headers\": 8");
	assert_json_has(&json, "\"boundary\": \"=_akr_");
	assert_json_has(&json, "\"type\": \"multipart/mixed\"");
	/* Text part, then the attachment, decoded to exactly the bytes given. */
	p = strstr(json.data, "\"type\": \"text/plain\"");
	assert_non_null(p);
	assert_non_null(strstr(p, "\"type\": \"application/zip\""));
	assert_json_has(&json, "\"charset\": \"utf-8\"");
	assert_json_has(&json, "\"cte\": \"quoted-printable\"");
	assert_json_has(&json, "\"cte\": \"base64\"");
	assert_json_has(&json, "\"filename\": \"credentials-AKIAIOSFODNN7EXAMPLE.zip\"");
	assert_json_has_hex(&json, "hex", data, sizeof(data));
	assert_json_has_hex(&json, "text_hex", BODY_READ, strlen(BODY_READ));
	assert_null(strstr(json.data, "Defect"));
	/* CRLF everywhere, short lines, 7-bit clean. */
	assert_json_has(&json, "\"crlf_only\": true");
	assert_json_has(&json, "\"ends_crlf\": true");
	assert_json_has(&json, "\"ascii_only\": true");
	assert_true(json_int(&json, "max_encoded_line") <= 76);
	assert_true(json_int(&json, "max_line") <= 78);
}

static void test_single_part(void **state)
{
	struct akr_mime_message m = {
		.from = "rotator@example.com",
		.to = "bob.smith+aws@sub.example.org",
		.subject = "Password for access key AKIAIOSFODNN7EXAMPLE",
		.date_sec = 0,
		.body = "The password is: Gx7-kP2q_Rz+Tm9.vW4:hN3e\n",
		.sensitive = true,
	};
	_cleanup_buf_ struct akr_buf msg = { 0 }, json = { 0 };

	assert_int_equal(akr_mime_build(&m, &msg, NULL), 0);
	assert_true(msg.sensitive);
	assert_null(strstr(msg.data, "multipart"));
	parse_with_python(&msg, &json);
	assert_json_has(&json, "\"from\": \"rotator@example.com\"");
	assert_json_has(&json, "\"to\": \"bob.smith+aws@sub.example.org\"");
	assert_json_has(&json, "\"date\": \"Thu, 01 Jan 1970 00:00:00 +0000\"");
	assert_json_has(&json, "\"type\": \"text/plain\"");
	assert_json_has(&json, "\"boundary\": null");
	assert_json_has_hex(&json, "text_hex", m.body, strlen(m.body));
	assert_json_has(&json, "\"crlf_only\": true");
	assert_null(strstr(json.data, "Defect"));
	/* The password survives quoted-printable unchanged and readable. */
	assert_non_null(strstr(msg.data, "Gx7-kP2q_Rz+Tm9.vW4:hN3e"));

	m.sensitive = false;
	akr_buf_done(&msg);
	assert_int_equal(akr_mime_build(&m, &msg, NULL), 0);
	assert_false(msg.sensitive);
}

static void test_encoded_subject_and_name(void **state)
{
	static const char subject[] =
		"Ключ доступа AWS — ротация 🔑 für Jürgen, compte « production » ünd noch mehr Text";
	struct akr_mime_message m = {
		.from = "rotator@example.com",
		.from_name = "Rotation des clés",
		.to = "alice@example.com",
		.subject = subject,
		.date_sec = 951782400,
		.body = "x",
	};
	_cleanup_buf_ struct akr_buf msg = { 0 }, json = { 0 };

	assert_int_equal(akr_mime_build(&m, &msg, NULL), 0);
	assert_non_null(strstr(msg.data, "Subject: =?UTF-8?B?"));
	parse_with_python(&msg, &json);
	assert_json_has_hex(&json, "subject_hex", subject, strlen(subject));
	assert_json_has(&json, "\"from\": \"Rotation des clés <rotator@example.com>\"");
	assert_json_has(&json, "\"date\": \"Tue, 29 Feb 2000 00:00:00 +0000\"");
	assert_json_has(&json, "\"ascii_only\": true");
	assert_true(json_int(&json, "max_line") <= 78);
	assert_null(strstr(json.data, "Defect"));
}

static void test_date_format(void **state)
{
	char buf[40];

	assert_string_equal(akr_mime_format_date(0, buf, sizeof(buf)),
			    "Thu, 01 Jan 1970 00:00:00 +0000");
	assert_string_equal(akr_mime_format_date(1795784400, buf, sizeof(buf)),
			    "Fri, 27 Nov 2026 13:00:00 +0000");
	assert_string_equal(akr_mime_format_date(951782400, buf, sizeof(buf)),
			    "Tue, 29 Feb 2000 00:00:00 +0000");
	assert_string_equal(akr_mime_format_date(-86400 * 365 - 1, buf, sizeof(buf)),
			    "Tue, 31 Dec 1968 23:59:59 +0000");
}

static void expect_refused(const struct akr_mime_message *m, const char *code)
{
	struct akr_buf ret = { .data = (char *)"untouched", .len = 9 };
	struct akr_error err = { 0 };

	assert_int_equal(akr_mime_build(m, &ret, &err), -EINVAL);
	assert_string_equal(ret.data, "untouched");
	assert_string_equal(err.code, code);
	assert_true(err.message[0] != '\0');
	assert_null(strchr(err.message, '\n'));
	assert_null(strchr(err.message, '\r'));
}

static void test_injection_refused(void **state)
{
	static const char *const bad_addresses[] = {
		"alice@example.com\r\nBcc: evil@example.com",
		"alice@example.com\nBcc: evil@example.com",
		"alice@example.com\rBcc: evil@example.com",
		"alice@example.com\tx",
	};
	static const char *const invalid_addresses[] = {
		"alice", "alice@example.com, evil@example.com", "<alice@example.com>",
		"Alice <alice@example.com>", "alice@localhost", "", "al ice@example.com",
		"\"alice\"@example.com",
	};
	struct akr_mime_message good = {
		.from = "rotator@example.com",
		.to = "alice@example.com",
		.subject = "s",
		.body = "b",
	}, m;
	struct akr_mime_attachment a = { .filename = "x.zip", .data = (const uint8_t *)"z", .len = 1 };

	for (size_t i = 0; i < sizeof(bad_addresses) / sizeof(*bad_addresses); i++) {
		m = good;
		m.to = bad_addresses[i];
		expect_refused(&m, "HeaderInjection");
		m = good;
		m.from = bad_addresses[i];
		expect_refused(&m, "HeaderInjection");
	}
	for (size_t i = 0; i < sizeof(invalid_addresses) / sizeof(*invalid_addresses); i++) {
		m = good;
		m.to = invalid_addresses[i];
		expect_refused(&m, "InvalidAddress");
	}
	m = good;
	m.to = NULL;
	expect_refused(&m, "InvalidAddress");

	m = good;
	m.subject = "Your key\r\nBcc: evil@example.com";
	expect_refused(&m, "HeaderInjection");
	m.subject = "Your key\n";
	expect_refused(&m, "HeaderInjection");
	m.subject = "Your key\x01";
	expect_refused(&m, "HeaderInjection");
	m.subject = "Your key \xc2\x85 next line";
	expect_refused(&m, "HeaderInjection");
	m.subject = "bad utf-8 \xff";
	expect_refused(&m, "InvalidHeader");
	m.subject = "overlong \xc0\xaf";
	expect_refused(&m, "InvalidHeader");
	m = good;
	m.from_name = "Rotator\r\nBcc: evil@example.com";
	expect_refused(&m, "HeaderInjection");

	m = good;
	m.body = "bad \xed\xa0\x80 surrogate";
	expect_refused(&m, "InvalidBody");

	m = good;
	m.attachment = &a;
	a.filename = "../etc/passwd";
	expect_refused(&m, "InvalidAttachment");
	a.filename = "x.zip\r\nBcc: evil@example.com";
	expect_refused(&m, "InvalidAttachment");
	a.filename = "x\".zip";
	expect_refused(&m, "InvalidAttachment");
	a.filename = "x.zip";
	a.content_type = "application/zip\r\nX: y";
	expect_refused(&m, "InvalidAttachment");
}

static void test_random_ids(void **state)
{
	struct akr_mime_attachment a = { .filename = "x.zip", .data = (const uint8_t *)"z", .len = 1 };
	struct akr_mime_message m = {
		.from = "rotator@example.com",
		.to = "alice@example.com",
		.subject = "s",
		.body = "b",
		.attachment = &a,
	};
	_cleanup_buf_ struct akr_buf one = { 0 }, two = { 0 };
	char *b1, *b2;

	assert_int_equal(akr_mime_build(&m, &one, NULL), 0);
	assert_int_equal(akr_mime_build(&m, &two, NULL), 0);
	b1 = strstr(one.data, "boundary=");
	b2 = strstr(two.data, "boundary=");
	assert_non_null(b1);
	assert_non_null(b2);
	assert_memory_not_equal(b1, b2, 40);
	assert_memory_not_equal(strstr(one.data, "Message-ID:"), strstr(two.data, "Message-ID:"),
				40);
	/* Date is pure: same input, same header. */
	assert_memory_equal(strstr(one.data, "Date:"), strstr(two.data, "Date:"), 38);
}

static void test_too_large(void **state)
{
	size_t len = AKR_MIME_MAX_BYTES;
	uint8_t *big = calloc(1, len);
	struct akr_mime_attachment a = { .filename = "x.zip", .data = big, .len = len };
	struct akr_mime_message m = {
		.from = "rotator@example.com",
		.to = "alice@example.com",
		.subject = "s",
		.body = "b",
		.attachment = &a,
	};
	struct akr_buf ret = { 0 };
	struct akr_error err = { 0 };

	assert_non_null(big);
	assert_int_equal(akr_mime_build(&m, &ret, &err), -E2BIG);
	assert_null(ret.data);
	assert_string_equal(err.code, "MessageTooLarge");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multipart_with_zip),
		cmocka_unit_test(test_single_part),
		cmocka_unit_test(test_encoded_subject_and_name),
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_injection_refused),
		cmocka_unit_test(test_random_ids),
		cmocka_unit_test(test_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
