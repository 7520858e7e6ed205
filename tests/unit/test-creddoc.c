/* lib/aws/creddoc.c: the one reader of the JSON credential documents
 * (credential_process output; the instance metadata and container answer). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/aws/client.h"
#include "lib/aws/creddoc.h"
#include "lib/base/error.h"
#include "lib/base/secret.h"
#include "tests/unit/testutil.h"

#define AKID "\"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLE\""
#define SECRET "\"SecretAccessKey\": \"s3cr3t\""
#define EXP "\"Expiration\": \"2026-12-01T10:00:00Z\""

static int parse(const struct akr_creddoc_format *fmt, const char *doc, struct akr_aws_creds *c,
		 struct akr_error *err)
{
	akr_error_clear(err);
	*c = (struct akr_aws_creds){ 0 };
	return akr_creddoc_parse(fmt, doc, strlen(doc), c, err);
}

/* A failure leaves @c empty and never quotes the secret. The reader's own
 * checks name the format's code; the JSON reader's say MalformedResponse. */
static void expect_bad(const struct akr_creddoc_format *fmt, const char *doc, int want,
		       const char *needle)
{
	struct akr_aws_creds c;
	struct akr_error err;

	testutil_expect_error(parse(fmt, doc, &c, &err), &err, want, AKR_ERROR_PARSE, needle);
	assert_string_equal(err.code, strstr(err.message, fmt->source) == err.message
					      ? fmt->code
					      : "MalformedResponse");
	assert_null(c.access_key_id);
	assert_null(strstr(err.message, "s3cr3t"));
}

static void test_process_format(void **state)
{
	struct akr_aws_creds c;
	struct akr_error err;

	(void)state;
	assert_int_equal(parse(&akr_creddoc_process,
			       "{\"Version\": 1, " AKID ", " SECRET ", \"SessionToken\": \"tok\", " EXP
			       ", \"Code\": 7, \"Token\": 8}",
			       &c, &err),
			 0);
	assert_string_equal(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(akr_secret_str(c.secret_access_key), "s3cr3t");
	assert_string_equal(akr_secret_str(c.session_token), "tok");
	assert_int_equal(c.expiration_sec, 1796119200);
	akr_aws_creds_done(&c);
	/* Long-term keys: no token, no expiration. */
	assert_int_equal(parse(&akr_creddoc_process, "{\"Version\": 1, " AKID ", " SECRET "}", &c,
			       &err),
			 0);
	assert_null(c.session_token);
	assert_int_equal(c.expiration_sec, 0);
	akr_aws_creds_done(&c);

	expect_bad(&akr_creddoc_process, "{" AKID ", " SECRET "}", -EBADMSG,
		   "credential_process output: Version must be the number 1");
	expect_bad(&akr_creddoc_process, "{\"Version\": \"1\", " AKID ", " SECRET "}", -EBADMSG,
		   "Version must be the number 1");
	expect_bad(&akr_creddoc_process, "{\"Version\": 1, " AKID "}", -EBADMSG,
		   "credential_process output: AccessKeyId or SecretAccessKey missing or invalid");
	expect_bad(&akr_creddoc_process,
		   "{\"Version\": 1, " AKID ", " SECRET ", \"SessionToken\": \"\"}", -EBADMSG,
		   "missing or invalid");
	expect_bad(&akr_creddoc_process,
		   "{\"Version\": 1, \"AccessKeyId\": \"nope\", " SECRET "}", -EBADMSG,
		   "missing or invalid");
	expect_bad(&akr_creddoc_process,
		   "{\"Version\": 1, " AKID ", " SECRET ", \"Expiration\": \"tomorrow\"}",
		   -EBADMSG, "credential_process output: bad Expiration 'tomorrow'");
	/* The parser's message could quote the output: replaced. */
	expect_bad(&akr_creddoc_process, "{\"Version\": 1, " SECRET ", s3cr3t", -EBADMSG,
		   "credential_process output is not a valid JSON document");
	expect_bad(&akr_creddoc_process, "{\"Version\": 1, \"Version\": 1}", -EBADMSG,
		   "not a valid JSON document");
}

static void test_endpoint_format(void **state)
{
	struct akr_aws_creds c;
	struct akr_error err;

	(void)state;
	assert_int_equal(parse(&akr_creddoc_endpoint,
			       "{\"Code\": \"Success\", \"Version\": {}, " AKID ", " SECRET
			       ", \"Token\": \"tok\", \"SessionToken\": 3, " EXP "}",
			       &c, &err),
			 0);
	assert_string_equal(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(akr_secret_str(c.session_token), "tok");
	assert_int_equal(c.expiration_sec, 1796119200);
	akr_aws_creds_done(&c);
	/* The container endpoints leave Code out. */
	assert_int_equal(parse(&akr_creddoc_endpoint,
			       "{" AKID ", " SECRET ", \"Token\": \"tok\", " EXP "}", &c, &err),
			 0);
	akr_aws_creds_done(&c);

	expect_bad(&akr_creddoc_endpoint,
		   "{\"Code\": \"Expired\", " AKID ", " SECRET ", \"Token\": \"t\", " EXP "}",
		   -EBADMSG, "instance metadata credentials: Code 'Expired'");
	expect_bad(&akr_creddoc_endpoint, "{" AKID ", " SECRET ", " EXP "}", -EBADMSG,
		   "instance metadata credentials: AccessKeyId, SecretAccessKey, Token or "
		   "Expiration missing or invalid");
	expect_bad(&akr_creddoc_endpoint, "{" AKID ", " SECRET ", \"Token\": \"t\"}", -EBADMSG,
		   "missing or invalid");
	expect_bad(&akr_creddoc_endpoint,
		   "{" AKID ", " SECRET ", \"Token\": \"t\", \"Expiration\": \"soon\"}", -EBADMSG,
		   "instance metadata credentials: bad Expiration 'soon'");
	expect_bad(&akr_creddoc_endpoint, "{" AKID ", \"Token\": 5}", -EBADMSG,
		   "'Token' is a JSON number, expected a string");
	expect_bad(&akr_creddoc_endpoint, "[1, 2", -EBADMSG, "malformed JSON");
}

static void test_string_limit(void **state)
{
	static char doc[16384 + 64];
	size_t n = 16384 + 1;
	struct akr_aws_creds c;
	struct akr_error err;

	(void)state;
	memcpy(doc, "{\"Token\": \"", 11);
	memset(doc + 11, 'x', n);
	strcpy(doc + 11 + n, "\"}");
	testutil_expect_error(parse(&akr_creddoc_endpoint, doc, &c, &err), &err, -E2BIG,
			      AKR_ERROR_PARSE, "longer than 16384 bytes");
	/* credential_process hides the parser's message, and says -EBADMSG. */
	memcpy(doc, "{\"Token\": \"", 11);
	assert_int_equal(parse(&akr_creddoc_process, doc, &c, &err), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_format),
		cmocka_unit_test(test_endpoint_format),
		cmocka_unit_test(test_string_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
