/* lib/base/error.c: describing a failure. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/error.h"

static void test_describe_errno(void **state)
{
	struct akr_error e = { 0 };
	char buf[256];

	(void)state;
	/* No detail: the errno, whatever its sign. */
	assert_string_equal(akr_error_describe_errno(NULL, -ENOENT, buf, sizeof(buf)),
			    strerror(ENOENT));
	assert_string_equal(akr_error_describe_errno(&e, -EACCES, buf, sizeof(buf)),
			    strerror(EACCES));
	assert_string_equal(akr_error_describe_errno(&e, EACCES, buf, sizeof(buf)), strerror(EACCES));
	/* A detail wins over the errno. */
	akr_error_set(&e, AKR_ERROR_AWS, 400, "Throttling", "Rate exceeded");
	(void)snprintf(e.request_id, sizeof(e.request_id), "rid-1");
	assert_string_equal(akr_error_describe_errno(&e, -EPROTO, buf, sizeof(buf)),
			    "Throttling (HTTP 400): Rate exceeded [request id rid-1]");
	akr_error_set(&e, AKR_ERROR_LOCAL, 0, "template", "%s", "/x: gone");
	assert_string_equal(akr_error_describe_errno(&e, -ENOENT, buf, sizeof(buf)),
			    "template: /x: gone");
	/* Truncated, never overrun. */
	assert_string_equal(akr_error_describe_errno(&e, -ENOENT, buf, 5), "temp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe_errno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
