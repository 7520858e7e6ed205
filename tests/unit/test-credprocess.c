/* credential_process: the word splitting (as Python's shlex.split), the
 * output document, and running a process with bounded time and output. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "lib/aws/client.h"
#include "lib/aws/credprocess.h"
#include "lib/base/error.h"
#include "lib/base/secret.h"

static void expect_split(const char *cmd, const char *const *want)
{
	char **argv = NULL;
	size_t i;

	assert_int_equal(akr_credprocess_split(cmd, &argv), 0);
	for (i = 0; want[i]; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
	akr_credprocess_argv_free(argv);
}

static void test_split(void **state)
{
	char **argv = NULL;

	expect_split("aws_signing_helper credential-process --certificate /etc/c.pem",
		     (const char *const[]){ "aws_signing_helper", "credential-process",
					    "--certificate", "/etc/c.pem", NULL });
	expect_split("  a  'b c'  \"d \\\"e\\\" $f\" g\\ h ''",
		     (const char *const[]){ "a", "b c", "d \"e\" $f", "g h", "", NULL });
	expect_split("x'y'\"z\"", (const char *const[]){ "xyz", NULL });
	expect_split("\"a\\b\"", (const char *const[]){ "a\\b", NULL });
	assert_int_equal(akr_credprocess_split("a 'b", &argv), -EINVAL);
	assert_int_equal(akr_credprocess_split("a \"b", &argv), -EINVAL);
	assert_int_equal(akr_credprocess_split("   ", &argv), -EINVAL);
	assert_int_equal(akr_credprocess_split("", &argv), -EINVAL);
	assert_int_equal(akr_credprocess_split("a\\", &argv), -EINVAL);
}

static void test_parse(void **state)
{
	static const char ok[] = "{\"Version\": 1, \"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLE\", "
				 "\"SecretAccessKey\": \"s3cr3t\", \"SessionToken\": \"tok\", "
				 "\"Expiration\": \"2026-12-01T13:00:00Z\"}";
	static const char *const bad[] = {
		"{\"Version\": \"1\", \"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\", "
		"\"SecretAccessKey\": \"s\"}",
		"{\"Version\": 2, \"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\", \"SecretAccessKey\": \"s\"}",
		"{\"Version\": 1, \"SecretAccessKey\": \"s\"}",
		"{\"Version\": 1, \"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\"}",
		"{\"Version\": 1, \"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\", \"SecretAccessKey\": \"s\", "
		"\"Expiration\": \"tomorrow\"}",
		"not json s3cr3t",
		"",
	};
	struct akr_aws_creds c = { 0 };
	struct akr_error err;

	assert_int_equal(akr_credprocess_parse(ok, strlen(ok), &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(akr_secret_str(c.secret_access_key), "s3cr3t");
	assert_string_equal(akr_secret_str(c.session_token), "tok");
	assert_int_equal(c.expiration_sec, 1796130000);
	akr_aws_creds_done(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		akr_error_clear(&err);
		assert_int_equal(akr_credprocess_parse(bad[i], strlen(bad[i]), &c, &err), -EBADMSG);
		assert_null(strstr(err.message, "s3cr3t"));
		assert_null(c.access_key_id);
	}
}

struct result {
	int calls, r;
	char message[512];
	char akid[32];
};

static void on_done(void *userdata, int r, struct akr_aws_creds *creds,
		    const struct akr_error *err)
{
	struct result *res = userdata;

	res->calls++;
	res->r = r;
	if (err)
		(void)snprintf(res->message, sizeof(res->message), "%s", err->message);
	if (creds)
		(void)snprintf(res->akid, sizeof(res->akid), "%s", creds->access_key_id);
}

static struct result run(const char *command, int64_t timeout_ms)
{
	struct result res = { 0 };
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(akr_credprocess_run(&loop, command, timeout_ms, on_done, &res), 0);
	assert_int_equal(res.calls, 0); /* never from inside the start */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(res.calls, 1);
	return res;
}

static void test_run(void **state)
{
	struct result res;
	uv_loop_t loop;

	res = run("/bin/sh -c 'printf \"%s\" \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": "
		  "\\\"AKIAIOSFODNN7EXAMPLE\\\", \\\"SecretAccessKey\\\": \\\"x\\\"}\"'",
		  0);
	assert_int_equal(res.r, 0);
	assert_string_equal(res.akid, "AKIAIOSFODNN7EXAMPLE");

	/* Bounded time: killed, even when a child keeps stdout open. */
	res = run("/bin/sh -c 'sleep 3 & sleep 3'", 300);
	assert_int_equal(res.r, -ETIMEDOUT);
	assert_non_null(strstr(res.message, "did not finish in time"));

	/* Bounded output. */
	res = run("/bin/sh -c 'yes s3cr3t'", 0);
	assert_int_equal(res.r, -E2BIG);
	assert_null(strstr(res.message, "s3cr3t"));

	res = run("/bin/sh -c 'echo s3cr3t; exit 4'", 0);
	assert_int_equal(res.r, -EPROTO);
	assert_non_null(strstr(res.message, "exit status 4"));
	assert_null(strstr(res.message, "s3cr3t"));

	/* A program that does not exist: the start fails, no callback. */
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(akr_credprocess_run(&loop, "/nonexistent/helper", 0, on_done, &res),
			 -ENOENT);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
