/* lib/base/strutil.c: the helpers that make untrusted values safe to show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/strutil.h"

static void test_escape_controls(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(akr_str_escape_controls("alice", buf, sizeof(buf)), "alice");
	assert_string_equal(akr_str_escape_controls(NULL, buf, sizeof(buf)), "");
	/* A CR/LF can never start a line of its own (a forged "<0>..." log line). */
	assert_string_equal(akr_str_escape_controls("a\r\n<0>forged", buf, sizeof(buf)),
			    "a\\x0d\\x0a<0>forged");
	assert_string_equal(akr_str_escape_controls("\x1b[31m\x7f\t", buf, sizeof(buf)),
			    "\\x1b[31m\\x7f\\x09");
	/* UTF-8 is kept as it is. */
	assert_string_equal(akr_str_escape_controls("J\xc3\xbcrgen", buf, sizeof(buf)),
			    "J\xc3\xbcrgen");
}

/* What may go into a request line or header (lib/http's engine and SigV4
 * check with these): nothing that could split a header on the wire. */
static void test_http_token_and_header_value(void **state)
{
	(void)state;
	assert_true(akr_is_http_token("X-Amz-Date"));
	assert_true(akr_is_http_token("GET"));
	assert_true(akr_is_http_token("a!#$%&'*+-.^_`|~9"));
	assert_false(akr_is_http_token(""));
	assert_false(akr_is_http_token(NULL));
	assert_false(akr_is_http_token("X Amz"));
	assert_false(akr_is_http_token("Host:"));
	assert_false(akr_is_http_token("J\xc3\xbcrgen"));
	assert_true(akr_is_http_header_value(""));
	assert_true(akr_is_http_header_value("a b\tc"));
	assert_true(akr_is_http_header_value("J\xc3\xbcrgen"));
	assert_false(akr_is_http_header_value(NULL));
	assert_false(akr_is_http_header_value("a\r\nX-Injected: 1"));
	assert_false(akr_is_http_header_value("a\n"));
	assert_false(akr_is_http_header_value("\x7f"));
}

static void test_escape_controls_cut(void **state)
{
	char buf[10], big[5000];

	(void)state;
	/* Exactly fits. */
	assert_string_equal(akr_str_escape_controls("123456789", buf, sizeof(buf)), "123456789");
	assert_string_equal(akr_str_escape_controls("1234567890", buf, sizeof(buf)), "123456...");
	/* An escape that does not fit is not cut in half. */
	assert_string_equal(akr_str_escape_controls("12345\n7890", buf, sizeof(buf)), "12345...");
	/* Nor is a UTF-8 character. */
	assert_string_equal(akr_str_escape_controls("12345\xc3\xa9xyz", buf, sizeof(buf)),
			    "12345...");
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(strlen(akr_str_escape_controls(big, buf, sizeof(buf))), 7);
	assert_string_equal(akr_str_escape_controls("abc", buf, 4), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_controls_cut),
		cmocka_unit_test(test_http_token_and_header_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
