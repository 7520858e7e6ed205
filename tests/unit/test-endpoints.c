#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/aws/sharedconfig.h"
#include "lib/aws/endpoints.h"
#include "lib/base/error.h"
#include "tests/unit/testutil.h"

static char tmpdir[] = "/tmp/akr-endpoints-XXXXXX";
static char config_path[256];

static const char *const env_vars[] = {
	"AWS_ENDPOINT_URL",        "AWS_ENDPOINT_URL_STS",     "AWS_ENDPOINT_URL_IAM",
	"AWS_ENDPOINT_URL_ORGANIZATIONS", "AWS_ENDPOINT_URL_SES", "AWS_ENDPOINT_URL_SESV2",
	"AWS_ENDPOINT_URL_SNS",    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE",
	"AWS_CONFIG_FILE",         "AWS_SHARED_CREDENTIALS_FILE", "AWS_USE_FIPS_ENDPOINT",
};

static void write_config(const char *text)
{
	testutil_write_file(config_path, text);
	assert_int_equal(setenv("AWS_CONFIG_FILE", config_path, 1), 0);
}

static int setup(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(env_vars); i++)
		unsetenv(env_vars[i]);
	snprintf(config_path, sizeof(config_path), "%s/config", tmpdir);
	unlink(config_path);
	/* Never read the real ~/.aws of whoever runs the tests. */
	setenv("HOME", tmpdir, 1);
	return 0;
}

static void resolve_ok(struct akr_endpoints *e, const char *region, const char *profile)
{
	struct akr_error err;

	akr_error_clear(&err);
	assert_int_equal(akr_endpoints_resolve(e, region, profile, &err), 0);
}

static void test_defaults(void **state)
{
	struct akr_endpoints e;

	resolve_ok(&e, "eu-west-1", NULL);
	assert_string_equal(e.url[AKR_SERVICE_STS], "https://sts.eu-west-1.amazonaws.com");
	assert_string_equal(e.signing_region[AKR_SERVICE_STS], "eu-west-1");
	assert_string_equal(e.url[AKR_SERVICE_IAM], "https://iam.amazonaws.com");
	assert_string_equal(e.signing_region[AKR_SERVICE_IAM], "us-east-1");
	assert_string_equal(e.url[AKR_SERVICE_ORGANIZATIONS],
			    "https://organizations.us-east-1.amazonaws.com");
	assert_string_equal(e.signing_region[AKR_SERVICE_ORGANIZATIONS], "us-east-1");
	assert_string_equal(e.url[AKR_SERVICE_SES], "https://email.eu-west-1.amazonaws.com");
	assert_string_equal(e.signing_region[AKR_SERVICE_SES], "eu-west-1");
	assert_string_equal(e.url[AKR_SERVICE_SNS], "https://sns.eu-west-1.amazonaws.com");
	for (int s = 0; s < _AKR_SERVICE_MAX; s++)
		assert_false(e.custom[s]);
	akr_endpoints_done(&e);
	akr_endpoints_done(&e);
}

static void test_env_global_and_specific(void **state)
{
	struct akr_endpoints e;

	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/", 1);
	setenv("AWS_ENDPOINT_URL_IAM", "https://iam.fake.test:8443/prefix//", 1);
	setenv("AWS_ENDPOINT_URL_SESV2", "http://[::1]:9000", 1);
	resolve_ok(&e, "eu-central-1", NULL);
	for (int s = 0; s < _AKR_SERVICE_MAX; s++) {
		assert_true(e.custom[s]);
		/* Custom endpoints sign with the client's region, IAM included. */
		assert_string_equal(e.signing_region[s], "eu-central-1");
	}
	assert_string_equal(e.url[AKR_SERVICE_STS], "http://127.0.0.1:4566");
	assert_string_equal(e.url[AKR_SERVICE_ORGANIZATIONS], "http://127.0.0.1:4566");
	assert_string_equal(e.url[AKR_SERVICE_IAM], "https://iam.fake.test:8443/prefix");
	assert_string_equal(e.url[AKR_SERVICE_SES], "http://[::1]:9000");
	akr_endpoints_done(&e);
}

static const char services_config[] =
	"# comment\n"
	"[default]\n"
	"region = us-west-2\n"
	"\n"
	"[profile fake]\n"
	"Services = fake-endpoints\n"
	"endpoint_url = http://profile.example:1/\n"
	"\n"
	"[services fake-endpoints]\n"
	"iam =\n"
	"  endpoint_url = http://127.0.0.1:4566\n"
	"sns =\n"
	"  ENDPOINT_URL = http://127.0.0.1:4577\n"
	"  other = x\n"
	"[sso-session x]\n"
	"sso_region = us-east-1\n"
	"[profile other]\n"
	"services = fake-endpoints\n";

static void test_config_file(void **state)
{
	struct akr_endpoints e;

	write_config(services_config);

	/* The default profile has neither services nor endpoint_url. */
	resolve_ok(&e, "us-east-1", NULL);
	assert_false(e.custom[AKR_SERVICE_IAM]);
	akr_endpoints_done(&e);

	/* services section > profile endpoint_url > default. */
	setenv("AWS_PROFILE", "fake", 1);
	resolve_ok(&e, "eu-west-1", NULL);
	assert_string_equal(e.url[AKR_SERVICE_IAM], "http://127.0.0.1:4566");
	assert_string_equal(e.signing_region[AKR_SERVICE_IAM], "eu-west-1");
	assert_string_equal(e.url[AKR_SERVICE_SNS], "http://127.0.0.1:4577");
	assert_string_equal(e.url[AKR_SERVICE_STS], "http://profile.example:1");
	assert_true(e.custom[AKR_SERVICE_STS]);
	akr_endpoints_done(&e);

	/* An explicit profile beats $AWS_PROFILE. */
	resolve_ok(&e, "eu-west-1", "other");
	assert_string_equal(e.url[AKR_SERVICE_IAM], "http://127.0.0.1:4566");
	assert_string_equal(e.url[AKR_SERVICE_STS], "https://sts.eu-west-1.amazonaws.com");
	assert_false(e.custom[AKR_SERVICE_STS]);
	akr_endpoints_done(&e);

	/* The environment beats the file, the specific variable first. */
	setenv("AWS_ENDPOINT_URL", "http://env.example", 1);
	setenv("AWS_ENDPOINT_URL_SNS", "http://sns.env.example", 1);
	resolve_ok(&e, "eu-west-1", NULL);
	assert_string_equal(e.url[AKR_SERVICE_IAM], "http://env.example");
	assert_string_equal(e.url[AKR_SERVICE_SNS], "http://sns.env.example");
	akr_endpoints_done(&e);

	/* And the switch that turns all of it off. */
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	resolve_ok(&e, "eu-west-1", NULL);
	assert_string_equal(e.url[AKR_SERVICE_IAM], "https://iam.amazonaws.com");
	assert_string_equal(e.signing_region[AKR_SERVICE_IAM], "us-east-1");
	assert_string_equal(e.url[AKR_SERVICE_SNS], "https://sns.eu-west-1.amazonaws.com");
	for (int s = 0; s < _AKR_SERVICE_MAX; s++)
		assert_false(e.custom[s]);
	akr_endpoints_done(&e);
}

static void test_config_ignore_setting(void **state)
{
	struct akr_endpoints e;

	write_config("[default]\nendpoint_url = http://x.example\n"
		     "ignore_configured_endpoint_urls = True\n");
	resolve_ok(&e, "us-east-1", NULL);
	assert_false(e.custom[AKR_SERVICE_STS]);
	akr_endpoints_done(&e);
	/* The environment variable decides when set. */
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
	resolve_ok(&e, "us-east-1", NULL);
	assert_true(e.custom[AKR_SERVICE_STS]);
	akr_endpoints_done(&e);
}

static void expect_bad_env(const char *var, const char *url)
{
	struct akr_endpoints e = { 0 };
	struct akr_error err;

	setenv(var, url, 1);
	akr_error_clear(&err);
	assert_int_equal(akr_endpoints_resolve(&e, "us-east-1", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, var));
	assert_null(e.url[0]);
	unsetenv(var);
}

static void test_invalid_urls(void **state)
{
	struct akr_endpoints e = { 0 };
	struct akr_error err;

	expect_bad_env("AWS_ENDPOINT_URL_SNS", "ftp://example.com");
	expect_bad_env("AWS_ENDPOINT_URL_SNS", "http://");
	expect_bad_env("AWS_ENDPOINT_URL_SNS", "http:///path");
	expect_bad_env("AWS_ENDPOINT_URL_SNS", "example.com");
	expect_bad_env("AWS_ENDPOINT_URL", "http://a b.example");
	expect_bad_env("AWS_ENDPOINT_URL", "http://h.example/\r\nX-Injected: 1");
	expect_bad_env("AWS_ENDPOINT_URL", "http://h.example/?q=1");
	expect_bad_env("AWS_ENDPOINT_URL", "http://user@h.example/");
	expect_bad_env("AWS_ENDPOINT_URL_IAM", "http://h.example:/");

	/* From the file, the error names file and line. */
	write_config("[default]\n\nendpoint_url = gopher://x\n");
	akr_error_clear(&err);
	assert_int_equal(akr_endpoints_resolve(&e, "us-east-1", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, "/config:3"));
	assert_non_null(strstr(err.message, "gopher://x"));

	/* Syntax errors in the file, and bad regions. */
	write_config("[default]\nno equals sign here\n");
	akr_error_clear(&err);
	assert_int_equal(akr_endpoints_resolve(&e, "us-east-1", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, "/config:2"));
	assert_int_equal(akr_endpoints_resolve(&e, "", NULL, &err), -EINVAL);
	assert_int_equal(akr_endpoints_resolve(&e, "us-east-1/../x", NULL, &err), -EINVAL);
	/* The same rule as the configuration's aws.region (it was looser here). */
	assert_int_equal(akr_endpoints_resolve(&e, "mars", NULL, &err), -EINVAL);
	assert_int_equal(akr_endpoints_resolve(&e, "-east-1", NULL, &err), -EINVAL);
	assert_int_equal(akr_endpoints_resolve(&e, "us-east", NULL, &err), -EINVAL);
	assert_int_equal(akr_endpoints_resolve(&e, NULL, NULL, NULL), -EINVAL);
}

static void test_region_names(void **state)
{
	static const char *const good[] = { "us-east-1", "us-gov-west-1", "cn-north-1",
					     "eu-isoe-west-1", "ap-southeast-5" };
	static const char *const bad[] = { NULL, "", "mars", "US-EAST-1", "us-east", "1us-east-1",
					    "-east-1", "us_east_1", "us-east-1/x", "N/A",
					    "us-east-1 ", "aaaaaaaaaa-bbbbbbbbbb-cccccccccc-1" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(akr_endpoints_is_region(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(akr_endpoints_is_region(bad[i]));
}

static void test_awsconfig_parser(void **state)
{
	struct akr_awsconfig *c = NULL;
	struct akr_error err;
	char path[300], *def = NULL;
	unsigned line = 0;

	snprintf(path, sizeof(path), "%s/credentials", tmpdir);
	testutil_write_file(path, "[default]\r\n"
			 "aws_access_key_id = AKIAOLD\r\n"
			 "AWS_ACCESS_KEY_ID=AKIANEW\n"
			 "; comment\n"
			 "[profile x]\n"
			 "aws_secret_access_key =  sec ret  \n");
	assert_int_equal(akr_awsconfig_load(path, AKR_AWSCONFIG_CREDENTIALS, &c, &err), 0);
	assert_string_equal(akr_awsconfig_get(c, "default", "aws_access_key_id", &line), "AKIANEW");
	assert_int_equal(line, 3);
	/* In the credentials file the section name is the profile name verbatim. */
	assert_string_equal(akr_awsconfig_get(c, "profile x", "aws_secret_access_key", NULL),
			    "sec ret");
	assert_null(akr_awsconfig_get(c, "x", "aws_secret_access_key", NULL));
	assert_true(akr_awsconfig_has_profile(c, "default"));
	assert_false(akr_awsconfig_has_profile(c, "nope"));
	c = akr_awsconfig_free(c);

	/* /dev/null is an empty file, as the SDKs read it; another device is not. */
	assert_int_equal(akr_awsconfig_load("/dev/null", AKR_AWSCONFIG_CONFIG, &c, &err), 0);
	assert_false(akr_awsconfig_has_profile(c, "default"));
	c = akr_awsconfig_free(c);
	assert_int_equal(akr_awsconfig_load("/dev/zero", AKR_AWSCONFIG_CONFIG, &c, &err), -EINVAL);

	/* In the config file "[profile default]" is the default profile too. */
	write_config("[profile default]\nregion = eu-north-1\n[plain]\nregion = x\n");
	assert_int_equal(akr_awsconfig_load(config_path, AKR_AWSCONFIG_CONFIG, &c, &err), 0);
	assert_string_equal(akr_awsconfig_get(c, "default", "region", NULL), "eu-north-1");
	assert_null(akr_awsconfig_get(c, "plain", "region", NULL));
	c = akr_awsconfig_free(c);

	/* Errors carry path:line. */
	testutil_write_file(path, "key = outside\n");
	akr_error_clear(&err);
	assert_int_equal(akr_awsconfig_load(path, AKR_AWSCONFIG_CREDENTIALS, &c, &err), -EBADMSG);
	assert_non_null(strstr(err.message, "credentials:1"));
	testutil_write_file(path, "[a\nk=v\n");
	assert_int_equal(akr_awsconfig_load(path, AKR_AWSCONFIG_CREDENTIALS, &c, &err), -EBADMSG);
	testutil_write_file(path, "[a]\n  k = v\n");
	assert_int_equal(akr_awsconfig_load(path, AKR_AWSCONFIG_CREDENTIALS, &c, &err), -EBADMSG);
	assert_null(c);
	snprintf(path, sizeof(path), "%s/does-not-exist", tmpdir);
	assert_int_equal(akr_awsconfig_load(path, AKR_AWSCONFIG_CONFIG, &c, &err), -ENOENT);
	assert_int_equal(akr_awsconfig_load(tmpdir, AKR_AWSCONFIG_CONFIG, &c, &err), -EINVAL);

	/* Default paths. */
	unsetenv("AWS_CONFIG_FILE");
	assert_int_equal(akr_awsconfig_default_path(AKR_AWSCONFIG_CONFIG, &def), 0);
	snprintf(path, sizeof(path), "%s/.aws/config", tmpdir);
	assert_string_equal(def, path);
	free(def);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/creds", 1);
	assert_int_equal(akr_awsconfig_default_path(AKR_AWSCONFIG_CREDENTIALS, &def), 0);
	snprintf(path, sizeof(path), "%s/creds", tmpdir);
	assert_string_equal(def, path);
	free(def);
	assert_int_equal(akr_awsconfig_load_default(AKR_AWSCONFIG_CREDENTIALS, &c, &err), 0);
	assert_null(c);

	assert_string_equal(akr_awsconfig_profile_name(NULL), "default");
	setenv("AWS_PROFILE", "p", 1);
	assert_string_equal(akr_awsconfig_profile_name(""), "p");
	assert_string_equal(akr_awsconfig_profile_name("q"), "q");
}

static void test_partitions_and_fips(void **state)
{
	struct akr_endpoints e;
	struct akr_error err;
	enum akr_partition p;

	resolve_ok(&e, "cn-north-1", NULL);
	assert_int_equal(e.partition, AKR_PARTITION_AWS_CN);
	assert_string_equal(e.url[AKR_SERVICE_STS], "https://sts.cn-north-1.amazonaws.com.cn");
	assert_string_equal(e.url[AKR_SERVICE_IAM], "https://iam.cn-north-1.amazonaws.com.cn");
	assert_string_equal(e.signing_region[AKR_SERVICE_IAM], "cn-north-1");
	akr_endpoints_done(&e);

	write_config("[default]\nuse_fips_endpoint = true\n");
	resolve_ok(&e, "us-gov-east-1", NULL);
	assert_true(e.fips);
	assert_string_equal(e.url[AKR_SERVICE_IAM], "https://iam.us-gov.amazonaws.com");
	assert_string_equal(e.signing_region[AKR_SERVICE_IAM], "us-gov-west-1");
	assert_string_equal(e.url[AKR_SERVICE_SES], "https://email-fips.us-gov-east-1.amazonaws.com");
	akr_endpoints_done(&e);
	/* The environment wins over the profile. */
	setenv("AWS_USE_FIPS_ENDPOINT", "false", 1);
	resolve_ok(&e, "eu-west-1", NULL);
	assert_false(e.fips);
	akr_endpoints_done(&e);
	setenv("AWS_USE_FIPS_ENDPOINT", "1", 1);
	assert_int_equal(akr_endpoints_resolve(&e, "eu-west-1", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, "AWS_USE_FIPS_ENDPOINT"));

	assert_int_equal(akr_partition_of_region("us-iso-east-1", &p), -EOPNOTSUPP);
	assert_int_equal(akr_endpoints_resolve(&e, "us-iso-east-1", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, "isolated"));
}

static void test_arn_partition(void **state)
{
	struct akr_error err;

	assert_int_equal(akr_endpoints_check_arn("arn:aws:iam::111111111111:role/r", "x",
						 "eu-west-1", &err), 0);
	assert_int_equal(akr_endpoints_check_arn("arn:aws-cn:iam::111111111111:role/r", "x",
						 "cn-northwest-1", &err), 0);
	assert_int_equal(akr_endpoints_check_arn("arn:aws-us-gov:sns:us-gov-west-1:1:t", "x",
						 "us-gov-east-1", &err), 0);
	assert_int_equal(akr_endpoints_check_arn("arn:aws:iam::111111111111:role/r", "role",
						 "cn-north-1", &err), -EINVAL);
	assert_non_null(strstr(err.message, "role 'arn:aws:iam::111111111111:role/r' is in "
					    "partition 'aws', but region 'cn-north-1' is in "
					    "partition 'aws-cn'"));
	assert_int_equal(akr_endpoints_check_arn("arn:aws-cn:iam::1:role/r", "x", "us-gov-west-1",
						 &err), -EINVAL);
	assert_int_equal(akr_endpoints_check_arn("not-an-arn", "x", "us-east-1", &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_partitions_and_fips, setup),
		cmocka_unit_test_setup(test_arn_partition, setup),
		cmocka_unit_test_setup(test_env_global_and_specific, setup),
		cmocka_unit_test_setup(test_config_file, setup),
		cmocka_unit_test_setup(test_config_ignore_setting, setup),
		cmocka_unit_test_setup(test_invalid_urls, setup),
		cmocka_unit_test(test_region_names),
		cmocka_unit_test_setup(test_awsconfig_parser, setup),
	};
	int r;

	if (!mkdtemp(tmpdir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	(void)testutil_rm_rf(tmpdir);
	return r;
}
