/* Container credentials: which endpoint URLs are accepted (botocore's rules). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/aws/container.h"
#include "lib/base/error.h"

static int url_of(const char *rel, const char *full, char **ret, struct akr_error *err)
{
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	if (rel)
		setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", rel, 1);
	if (full)
		setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", full, 1);
	return akr_container_url(ret, err);
}

static void test_urls(void **state)
{
	static const char *const ok[] = {
		"https://creds.example.com/x", "http://127.0.0.1:51679/creds",
		"http://127.9.9.9/c", "http://localhost:8080/c", "http://[::1]:80/c",
		"http://169.254.170.2/v2/credentials/x", "http://169.254.170.23/v1/credentials",
		"http://[fd00:ec2::23]/v1/credentials",
	};
	static const char *const bad[] = {
		"http://10.0.0.1/creds", "http://169.254.169.254/latest", "http://127.0.0.1.evil.com/",
		"http://user@127.0.0.1/", "ftp://127.0.0.1/", "http://[fd00:ec2::24]/",
		"http://127.0.0.1/a b",
	};
	struct akr_error err;
	char *url = NULL;

	assert_int_equal(url_of(NULL, NULL, &url, &err), -ENOENT);
	assert_int_equal(url_of("/v2/credentials/abc", "http://10.0.0.1/", &url, &err), 0);
	assert_string_equal(url, "http://169.254.170.2/v2/credentials/abc");
	free(url);
	assert_int_equal(url_of("v2/no-slash", NULL, &url, &err), -EINVAL);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(url_of(NULL, ok[i], &url, &err), 0);
		assert_string_equal(url, ok[i]);
		free(url);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		akr_error_clear(&err);
		assert_int_equal(url_of(NULL, bad[i], &url, &err), -EINVAL);
		assert_non_null(strstr(err.message, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
