/* lib/aws/query: Query-protocol bodies (aws-wire.md §3: RFC 3986 encoding,
 * list members), the root-element check and MessageId parser shared by SES
 * and SNS, and the small field parsers and the bounded array growth the
 * service parsers use. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/aws/query.h"
#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "tests/unit/testutil.h"

static void test_bodies(void **state)
{
	struct akr_buf b;

	(void)state;
	akr_buf_init(&b, 4096, false);
	assert_int_equal(akr_query_start(&b, "CreateAccessKey", "2010-05-08"), 0);
	assert_int_equal(akr_query_add(&b, "UserName", "alice+ops@x=/ ~é"), 0);
	assert_int_equal(akr_query_add_int(&b, "MaxItems", 1000), 0);
	assert_int_equal(akr_query_add_int(&b, "Neg", -5), 0);
	assert_int_equal(akr_query_add_member(&b, "Destinations", 1, "a@b.c"), 0);
	assert_int_equal(akr_query_add_n(&b, "RawMessage.Data", "YWJj+/==xyz", 8), 0);
	/* '+', '/' and '=' encoded (base64 survives), a space as '+' (the form
	 * moto re-signs, strutil.h), '~' and '-._' kept, UTF-8 byte by byte in
	 * upper-case hex. */
	assert_string_equal(b.data,
			    "Action=CreateAccessKey&Version=2010-05-08"
			    "&UserName=alice%2Bops%40x%3D%2F+~%C3%A9"
			    "&MaxItems=1000&Neg=-5"
			    "&Destinations.member.1=a%40b.c"
			    "&RawMessage.Data=YWJj%2B%2F%3D%3D");
	akr_buf_done(&b);
}

static void test_bodies_are_bounded(void **state)
{
	struct akr_buf b;

	(void)state;
	akr_buf_init(&b, 48, false);
	assert_int_equal(akr_query_start(&b, "ListUsers", "2010-05-08"), 0);
	assert_int_equal(akr_query_add(&b, "Marker", "a-very-long-marker-value"), -E2BIG);
	assert_true(b.len <= 48);
	akr_buf_done(&b);
}

static void test_message_id(void **state)
{
	static const char ok[] =
		"<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
		"<PublishResult><MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId>"
		"</PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
		"</PublishResponse>";
	struct akr_error err = { 0 };
	char *id = NULL;

	(void)state;
	assert_int_equal(akr_query_parse_message_id(ok, strlen(ok), "Publish", &id, &err), 0);
	assert_string_equal(id, "94f20ce6-13c5-43a0-9a9e-ca52d816e90b");
	free(id);
	id = NULL;

#define BAD(doc, action, needle)                                                                   \
	do {                                                                                       \
		testutil_expect_error(akr_query_parse_message_id(doc, strlen(doc), action, &id,   \
								 &err),                           \
				      &err, -EBADMSG, AKR_ERROR_PARSE, needle);                    \
		assert_null(id);                                                                   \
	} while (0)
	/* Another action's answer, an error document with status 200, a
	 * MessageId in the wrong place, none, an empty one, two. */
	BAD(ok, "SendRawEmail", "SendRawEmail answer has root element 'PublishResponse'");
	BAD("<ErrorResponse><Error><Code>x</Code></Error></ErrorResponse>", "Publish",
	    "root element 'ErrorResponse'");
	BAD("<PublishResponse><MessageId>m</MessageId></PublishResponse>", "Publish",
	    "Publish answer lacks MessageId");
	BAD("<PublishResponse><OtherResult><MessageId>m</MessageId></OtherResult></PublishResponse>",
	    "Publish", "lacks MessageId");
	BAD("<PublishResponse><PublishResult><MessageId></MessageId></PublishResult></PublishResponse>",
	    "Publish", "lacks MessageId");
	BAD("<PublishResponse><PublishResult><MessageId>a</MessageId><MessageId>b</MessageId>"
	    "</PublishResult></PublishResponse>", "Publish", "duplicate element 'MessageId'");
	BAD("<PublishResponse><PublishResult><MessageId>a", "Publish", "malformed XML");
	BAD("<PublishResponsex/>", "Publish", "root element 'PublishResponsex'");
	BAD("<Publish/>", "Publish", "root element 'Publish'");
	BAD("", "Publish", "");
#undef BAD
}

static void test_call_needs_a_callback(void **state)
{
	struct akr_buf b;

	(void)state;
	akr_buf_init(&b, 64, false);
	/* Refused before the client is looked at. */
	assert_int_equal(akr_query_call_for_message_id(NULL, AKR_SERVICE_SNS, "Publish", &b, 1024, NULL,
						       NULL), -EINVAL);
	akr_buf_done(&b);
}

static void test_time_and_bool(void **state)
{
	struct akr_error err = { 0 };
	bool seen = false, b = false;
	int64_t t = 0;

	(void)state;
	assert_int_equal(akr_query_parse_time("2016-12-01T22:19:58Z", "CreateDate", &seen, &t, &err), 0);
	assert_true(seen);
	assert_int_equal(t, 1480630798);
	testutil_expect_error(akr_query_parse_time("2016-12-01T22:19:58Z", "CreateDate", &seen, &t, &err),
			      &err, -EBADMSG, AKR_ERROR_PARSE, "duplicate element 'CreateDate'");
	seen = false;
	testutil_expect_error(akr_query_parse_time("yesterday", "CreateDate", &seen, &t, &err), &err,
			      -EBADMSG, AKR_ERROR_PARSE, "'CreateDate' is not an ISO 8601 time: 'yesterday'");
	assert_false(seen);
	assert_int_equal(t, 1480630798);

	assert_int_equal(akr_query_parse_bool("true", "IsTruncated", &b, &err), 0);
	assert_true(b);
	assert_int_equal(akr_query_parse_bool("false", "IsTruncated", &b, &err), 0);
	assert_false(b);
	testutil_expect_error(akr_query_parse_bool("True", "IsTruncated", &b, &err), &err, -EBADMSG,
			      AKR_ERROR_PARSE, "'IsTruncated' is not a boolean: 'True'");
	testutil_expect_error(akr_query_parse_bool("", "IsTruncated", &b, &err), &err, -EBADMSG,
			      AKR_ERROR_PARSE, "is not a boolean");
}

struct item {
	uint64_t a, b;
};

static void test_grow(void **state)
{
	struct akr_error err = { 0 };
	struct item *items = NULL;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(akr_query_grow((void **)&items, &n, sizeof(*items), 3, "users", &err), 0);
		assert_int_equal(n, i + 1);
		/* The new element is zeroed; the old ones are kept. */
		assert_int_equal(items[i].a, 0);
		assert_int_equal(items[i].b, 0);
		items[i].a = i + 10;
	}
	testutil_expect_error(akr_query_grow((void **)&items, &n, sizeof(*items), 3, "users", &err),
			      &err, -E2BIG, AKR_ERROR_PARSE, "more than 3 users in one answer");
	assert_int_equal(n, 3);
	assert_int_equal(items[2].a, 12);
	free(items);
	/* An element size that overflows is refused, not wrapped. */
	items = NULL;
	n = 1;
	assert_int_equal(akr_query_grow((void **)&items, &n, SIZE_MAX / 2 + 1, 10, "x", &err), -ENOMEM);
	assert_int_equal(n, 1);
	assert_null(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_bodies_are_bounded),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_call_needs_a_callback),
		cmocka_unit_test(test_time_and_bool),
		cmocka_unit_test(test_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
