/* rotator.conf: defaults, the sample file, every kind of error with its line,
 * $STATE_DIRECTORY, the dump. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/rotation/config.h"
#include "lib/base/error.h"
#include "lib/base/log.h"
#include "tests/unit/testutil.h"

#define ROLE_ARN "arn:aws:iam::111111111111:role/provisioning-admin"
#define TOPIC_ARN "arn:aws:sns:us-east-1:111111111111:iam-access-key-rotator-topic"
/* The two required settings, for cases that test something else. */
#define REQUIRED                                                                                   \
	"organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"                            \
	"email = { sender = \"rotator@example.com\"; };\n"

static char tmpdir[] = "/tmp/test-config-XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	(void)unsetenv("STATE_DIRECTORY");
	/* Quiet the warnings about unset alerts; errors come back in reterr. */
	akr_log_setup(AKR_LOG_STDERR, LOG_ERR);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return testutil_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* Writes @text to a file under the temporary directory; returns its path. */
static const char *write_file(const char *name, const char *text)
{
	static char path[512];

	assert_true(snprintf(path, sizeof(path), "%s/%s", tmpdir, name) < (int)sizeof(path));
	testutil_write_file(path, text);
	return path;
}

static struct akr_config *load_ok(const char *text)
{
	struct akr_config *c = NULL;
	struct akr_error err = { 0 };
	const char *path = write_file("ok.conf", text);
	int r = akr_config_load(path, &c, &err);

	if (r < 0)
		fail_msg("unexpected error %d: %s", r, err.message);
	assert_non_null(c);
	return c;
}

static void test_defaults(void **state)
{
	_cleanup_config_ struct akr_config *c = akr_config_new_default();

	(void)state;
	assert_non_null(c);
	assert_null(c->path);
	assert_int_equal(c->schedule_minute_of_day, 13 * 60);
	assert_string_equal(c->state_directory, "/var/lib/iam-access-key-rotator");
	assert_int_equal(c->policy.rotate_after_days, 80);
	assert_int_equal(c->policy.deactivate_after_days, 90);
	assert_int_equal(c->policy.delete_after_days, 100);
	assert_int_equal(c->policy.reminder_days, 3);
	assert_false(c->policy.enforce);
	assert_true(c->policy.delete_inactive_to_free_slot);
	assert_null(c->organization.management_role_arn);
	assert_string_equal(c->organization.member_role_name, "provisioning-admin");
	assert_null(c->organization.external_id);
	assert_string_equal(c->organization.session_name, "iam-access-key-rotator");
	assert_int_equal(c->organization.session_duration_sec, 3600);
	assert_int_equal(c->organization.n_excluded_accounts, 0);
	assert_string_equal(c->users.email_tag, "email");
	assert_string_equal(c->users.exempt_tag, "Exempt");
	assert_int_equal(c->users.n_allowed_email_domains, 0);
	assert_int_equal(c->users.address_change_hold_days, 3);
	assert_null(c->email.sender);
	assert_string_equal(c->email.configuration_set, "iam-access-key-rotator-configset");
	assert_string_equal(c->email.region, "us-east-1");
	assert_int_equal(c->email.zip_encryption, AKR_ZIP_ENCRYPTION_AES256);
	assert_true(c->email.max_send_rate == 0); /* SES's MaxSendRate */
	assert_null(c->email.template_directory);
	assert_null(c->alerts.sns_topic_arn);
	assert_int_equal(c->limits.max_requests_in_flight, 64);
	assert_int_equal(c->limits.max_requests_per_account, 8);
	assert_int_equal(c->limits.request_timeout_sec, 30);
	assert_int_equal(c->limits.max_attempts, 3);
	assert_true(c->limits.iam_requests_per_second_per_account == 0);
	assert_true(c->limits.credential_report);
	assert_null(c->aws.region);
	assert_null(c->aws.profile);
	assert_null(akr_config_free(NULL));
}

/* Compares every setting but path (and external_id, masked by dumps). */
static void assert_same_settings(const struct akr_config *a, const struct akr_config *b)
{
#define STR_EQ(x)                                                                                  \
	do {                                                                                       \
		if (!a->x || !b->x)                                                                \
			assert_ptr_equal(a->x, b->x);                                              \
		else                                                                               \
			assert_string_equal(a->x, b->x);                                           \
	} while (0)
	assert_int_equal(a->schedule_minute_of_day, b->schedule_minute_of_day);
	STR_EQ(state_directory);
	assert_memory_equal(&a->policy, &b->policy, sizeof(a->policy));
	STR_EQ(organization.management_role_arn);
	STR_EQ(organization.member_role_name);
	STR_EQ(organization.session_name);
	assert_int_equal(a->organization.session_duration_sec, b->organization.session_duration_sec);
	assert_int_equal(a->organization.n_excluded_accounts, b->organization.n_excluded_accounts);
	for (size_t i = 0; i < a->organization.n_excluded_accounts; i++)
		assert_string_equal(a->organization.excluded_accounts[i],
				    b->organization.excluded_accounts[i]);
	STR_EQ(users.email_tag);
	STR_EQ(users.exempt_tag);
	assert_int_equal(a->users.n_allowed_email_domains, b->users.n_allowed_email_domains);
	for (size_t i = 0; i < a->users.n_allowed_email_domains; i++)
		assert_string_equal(a->users.allowed_email_domains[i],
				    b->users.allowed_email_domains[i]);
	assert_int_equal(a->users.address_change_hold_days, b->users.address_change_hold_days);
	STR_EQ(email.sender);
	STR_EQ(email.configuration_set);
	STR_EQ(email.region);
	assert_int_equal(a->email.zip_encryption, b->email.zip_encryption);
	assert_true(a->email.max_send_rate == b->email.max_send_rate);
	STR_EQ(email.template_directory);
	STR_EQ(alerts.sns_topic_arn);
	assert_memory_equal(&a->limits, &b->limits, sizeof(a->limits));
	STR_EQ(aws.region);
	STR_EQ(aws.profile);
#undef STR_EQ
}

static void test_sample_loads_and_matches_defaults(void **state)
{
	_cleanup_config_ struct akr_config *def = akr_config_new_default();
	_cleanup_config_ struct akr_config *c = NULL;
	struct akr_error err = { 0 };
	int r;

	(void)state;
	r = akr_config_load(SOURCE_DIR "/etc/rotator.conf", &c, &err);
	if (r < 0)
		fail_msg("the sample does not load: %s", err.message);
	assert_string_equal(c->path, SOURCE_DIR "/etc/rotator.conf");

	/* The sample's example values for settings without a default... */
	assert_string_equal(c->organization.management_role_arn, ROLE_ARN);
	assert_string_equal(c->email.sender, "rotator@example.com");
	assert_string_equal(c->alerts.sns_topic_arn, TOPIC_ARN);
	assert_int_equal(c->organization.n_excluded_accounts, 1);
	assert_string_equal(c->organization.excluded_accounts[0], "333333333333");
	assert_true(akr_config_account_excluded(c, "333333333333"));
	assert_false(akr_config_account_excluded(c, "222222222222"));

	/* ...and every other setting at its default. */
	def->organization.management_role_arn = strdup(ROLE_ARN);
	def->email.sender = strdup("rotator@example.com");
	def->alerts.sns_topic_arn = strdup(TOPIC_ARN);
	def->organization.excluded_accounts = calloc(2, sizeof(char *));
	def->organization.excluded_accounts[0] = strdup("333333333333");
	def->organization.n_excluded_accounts = 1;
	def->users.allowed_email_domains = calloc(2, sizeof(char *));
	def->users.allowed_email_domains[0] = strdup("example.com");
	def->users.n_allowed_email_domains = 1;
	assert_same_settings(c, def);
	assert_null(c->organization.external_id);
}

static void test_minimal_file(void **state)
{
	_cleanup_config_ struct akr_config *c = load_ok(REQUIRED);

	(void)state;
	assert_int_equal(c->schedule_minute_of_day, 780);
	assert_null(c->alerts.sns_topic_arn);
	assert_int_equal(c->organization.n_excluded_accounts, 0);
	assert_false(akr_config_account_excluded(c, "333333333333"));
}

static void test_values_are_read(void **state)
{
	_cleanup_config_ struct akr_config *c = load_ok(
		"schedule = \"23:59\";\n"
		"state_directory = \"/srv/akr\";\n"
		"policy = { rotate_after_days = 30; deactivate_after_days = 45;\n"
		"  delete_after_days = 3650; reminder_days = 0; enforce = true;\n"
		"  delete_inactive_to_free_slot = false; };\n"
		"organization = { management_role_arn = \"arn:aws-us-gov:iam::123456789012:role/ops/rotator\";\n"
		"  member_role_name = \"Rotator+Role@x\"; external_id = \"s3cr3t-Ext:id/1\";\n"
		"  session_name = \"akr\"; session_duration_sec = 900;\n"
		"  excluded_accounts = ( \"000000000001\", \"999999999999\" ); };\n"
		"users = { email_tag = \"owner email\"; exempt_tag = \"rotation:exempt\"; };\n"
		"email = { sender = \"keys@corp.example\"; configuration_set = \"\";\n"
		"  region = \"eu-west-1\"; zip_encryption = \"zipcrypto\"; max_send_rate = 14; };\n"
		"alerts = { sns_topic_arn = \"arn:aws:sns:eu-west-1:123456789012:alerts.fifo\"; };\n"
		"limits = { max_requests_in_flight = 1024; max_requests_per_account = 1;\n"
		"  request_timeout_sec = 600; max_attempts = 10;\n"
		"  iam_requests_per_second_per_account = 2.5; credential_report = false; };\n"
		"aws = { region = \"us-gov-west-1\"; profile = \"rotator\"; };\n");

	(void)state;
	assert_int_equal(c->schedule_minute_of_day, 23 * 60 + 59);
	assert_string_equal(c->state_directory, "/srv/akr");
	assert_int_equal(c->policy.rotate_after_days, 30);
	assert_int_equal(c->policy.deactivate_after_days, 45);
	assert_int_equal(c->policy.delete_after_days, 3650);
	assert_int_equal(c->policy.reminder_days, 0);
	assert_true(c->policy.enforce);
	assert_false(c->policy.delete_inactive_to_free_slot);
	assert_string_equal(c->organization.management_role_arn,
			    "arn:aws-us-gov:iam::123456789012:role/ops/rotator");
	assert_string_equal(c->organization.member_role_name, "Rotator+Role@x");
	assert_string_equal(c->organization.external_id, "s3cr3t-Ext:id/1");
	assert_string_equal(c->organization.session_name, "akr");
	assert_int_equal(c->organization.session_duration_sec, 900);
	assert_int_equal(c->organization.n_excluded_accounts, 2);
	assert_string_equal(c->organization.excluded_accounts[1], "999999999999");
	assert_null(c->organization.excluded_accounts[2]);
	assert_string_equal(c->users.email_tag, "owner email");
	assert_string_equal(c->users.exempt_tag, "rotation:exempt");
	assert_string_equal(c->email.sender, "keys@corp.example");
	assert_null(c->email.configuration_set);
	assert_string_equal(c->email.region, "eu-west-1");
	assert_int_equal(c->email.zip_encryption, AKR_ZIP_ENCRYPTION_ZIPCRYPTO);
	assert_true(c->email.max_send_rate == 14.0);
	assert_string_equal(c->alerts.sns_topic_arn, "arn:aws:sns:eu-west-1:123456789012:alerts.fifo");
	assert_int_equal(c->limits.max_requests_in_flight, 1024);
	assert_int_equal(c->limits.max_requests_per_account, 1);
	assert_int_equal(c->limits.request_timeout_sec, 600);
	assert_int_equal(c->limits.max_attempts, 10);
	assert_true(c->limits.iam_requests_per_second_per_account == 2.5);
	assert_false(c->limits.credential_report);
	assert_string_equal(c->aws.region, "us-gov-west-1");
	assert_string_equal(c->aws.profile, "rotator");
}

struct bad_case {
	const char *text;
	bool with_required; /* append REQUIRED after text */
	int line;
	const char *message; /* what follows "FILE:LINE: " */
};

static const struct bad_case bad_cases[] = {
	/* Syntax. */
	{ "schedule = \"13:00\";\npolicy = { rotate_after_days = ; };\n", true, 2, "syntax error" },
	{ "schedule = \"13:00\";\n\nschedule = \"14:00\";\n", true, 3, "duplicate setting name" },
	/* Unknown keys at every level, with a hint. */
	{ "schedul = \"13:00\";\n", true, 1, "schedul: unknown setting (did you mean 'schedule'?)" },
	{ "\npolicy = {\n  rotate_afer_days = 80;\n};\n", true, 3,
	  "policy.rotate_afer_days: unknown setting (did you mean 'rotate_after_days'?)" },
	{ "rotate_after_days = 80;\n", true, 1,
	  "rotate_after_days: unknown setting here (it belongs in 'policy')" },
	{ "users = { schedule = \"13:00\"; };\n", true, 1,
	  "users.schedule: unknown setting here (it belongs at the top level)" },
	{ "limits = { frobnicate = 1; };\n", true, 1, "limits.frobnicate: unknown setting" },
	/* Types. */
	{ "schedule = 1300;\n", true, 1, "schedule: must be a string (in double quotes)" },
	{ "policy = 5;\n", true, 1, "policy: must be a group ({ ... })" },
	{ "policy = { enforce = 1; };\n", true, 1, "policy.enforce: must be true or false" },
	{ "policy = { rotate_after_days = \"80\"; };\n", true, 1,
	  "policy.rotate_after_days: must be an integer" },
	{ "policy = { rotate_after_days = 80.5; };\n", true, 1,
	  "policy.rotate_after_days: must be an integer" },
	{ "email = { sender = \"a@example.com\"; max_send_rate = \"fast\"; };\n"
	  "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n",
	  false, 1, "email.max_send_rate: must be a number" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\";\n"
	  "  excluded_accounts = \"333333333333\"; };\nemail = { sender = \"a@example.com\"; };\n",
	  false, 2, "organization.excluded_accounts: must be a list of strings" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\";\n"
	  "  excluded_accounts = ( \"333333333333\",\n 333333333333 ); };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 3, "organization.excluded_accounts[1]: must be a string (in double quotes)" },
	/* Times. */
	{ "schedule = \"24:00\";\n", true, 1, "schedule: '24:00' is not a time of day" },
	{ "schedule = \"12:60\";\n", true, 1, "schedule: '12:60' is not a time of day" },
	{ "schedule = \"1:00\";\n", true, 1, "schedule: '1:00' is not a time of day" },
	{ "schedule = \"13:00 UTC\";\n", true, 1, "schedule: '13:00 UTC' is not a time of day" },
	/* Policy ranges and order. */
	{ "policy = { rotate_after_days = 0; };\n", true, 1,
	  "policy.rotate_after_days: must be between 1 and 3650, not 0" },
	{ "policy = {\n delete_after_days = 3651; };\n", true, 2,
	  "policy.delete_after_days: must be between 1 and 3650, not 3651" },
	{ "policy = {\n rotate_after_days = 90;\n deactivate_after_days = 90;\n};\n", true, 3,
	  "policy.deactivate_after_days: policy.rotate_after_days (90) must be less than "
	  "policy.deactivate_after_days (90)" },
	{ "policy = {\n\n rotate_after_days = 95; };\n", true, 3,
	  "policy.rotate_after_days: policy.rotate_after_days (95) must be less than "
	  "policy.deactivate_after_days (90)" },
	{ "policy = { deactivate_after_days = 95;\n delete_after_days = 95; };\n", true, 2,
	  "policy.delete_after_days: policy.deactivate_after_days (95) must be less than "
	  "policy.delete_after_days (95)" },
	{ "policy = {\n reminder_days = 10; };\n", true, 2,
	  "policy.reminder_days: policy.reminder_days (10) must be less than the notice period" },
	{ "policy = { reminder_days = -1; };\n", true, 1,
	  "policy.reminder_days: must be between 0 and 3650, not -1" },
	/* Organization. */
	{ "organization = { member_role_name = \"x\"; };\nemail = { sender = \"a@example.com\"; };\n",
	  false, 1, "organization.management_role_arn: required setting is missing" },
	{ "email = { sender = \"a@example.com\"; };\n", false, 1,
	  "organization.management_role_arn: required setting is missing" },
	{ "organization = {\n management_role_arn = \"arn:aws:iam::111111111111:user/bob\"; };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 2, "organization.management_role_arn: 'arn:aws:iam::111111111111:user/bob' is not "
		    "an IAM role ARN" },
	{ "organization = { management_role_arn = \"arn:aws:iam::11111111111:role/x\"; };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 1, "is not an IAM role ARN" },
	{ "organization = { management_role_arn = \"arn:aws:sts::111111111111:role/x\"; };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 1, "is not an IAM role ARN" },
	{ "organization = { management_role_arn = \"arn:aws:iam::111111111111:role/\"; };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 1, "is not an IAM role ARN" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\";\n member_role_name = \"bad name\"; };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 2, "organization.member_role_name: 'bad name' is not a valid IAM role name" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; member_role_name = \"\"; };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 1, "organization.member_role_name: must not be empty" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; external_id = \"x\"; };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 1, "organization.external_id: 'x' is not a valid external id" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; session_name = \"a b\"; };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 1, "organization.session_name: 'a b' is not a valid role session name" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\";\n"
	  " session_duration_sec = 7200; };\nemail = { sender = \"a@example.com\"; };\n",
	  false, 2, "organization.session_duration_sec: must be between 900 and 3600, not 7200" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\";\n"
	  " excluded_accounts = [ \"333333333333\", \"33333333333a\" ]; };\n"
	  "email = { sender = \"a@example.com\"; };\n",
	  false, 2, "organization.excluded_accounts[1]: '33333333333a' is not an AWS account id" },
	/* Users. */
	{ "users = { email_tag = \"\"; };\n", true, 1, "users.email_tag: must not be empty" },
	{ "users = { exempt_tag = \"aws:exempt\"; };\n", true, 1,
	  "users.exempt_tag: 'aws:exempt' is not a valid tag key" },
	{ "users = { exempt_tag = \"tab\\there\"; };\n", true, 1,
	  "users.exempt_tag: must not contain control characters" },
	{ "users = {\n email_tag = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"; };\n",
	  true, 2, "is not a valid tag key (1-128 characters)" },
	/* Email. */
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n", false, 1,
	  "email.sender: required setting is missing" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
	  "email = {\n region = \"us-east-1\"; };\n",
	  false, 2, "email.sender: required setting is missing" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
	  "email = {\n sender = \"Rotator <rotator@example.com>\"; };\n",
	  false, 3, "email.sender: 'Rotator <rotator@example.com>' is not a valid email address" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
	  "email = { sender = \"a@example.com\"; zip_encryption = \"des\"; };\n",
	  false, 2, "email.zip_encryption: 'des' is not a zip encryption" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
	  "email = { sender = \"a@example.com\"; region = \"US-EAST-1\"; };\n",
	  false, 2, "email.region: 'US-EAST-1' is not an AWS region name" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
	  "email = { sender = \"a@example.com\"; configuration_set = \"my set\"; };\n",
	  false, 2, "email.configuration_set: 'my set' is not a valid SES configuration set name" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
	  "email = { sender = \"a@example.com\"; max_send_rate = -1; };\n",
	  false, 2, "email.max_send_rate: must be at least 0 and at most 1000, not -1" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
	  "email = { sender = \"a@example.com\"; template_directory = \"templates\"; };\n",
	  false, 2, "email.template_directory: 'templates' is not an absolute path" },
	{ "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
	  "email = { sender = \"a@example.com\";\n template_directory = \"/nonexistent/akr\"; };\n",
	  false, 3, "email.template_directory: '/nonexistent/akr': No such file or directory" },
	/* Alerts. */
	{ "alerts = { sns_topic_arn = \"arn:aws:sqs:us-east-1:111111111111:q\"; };\n", true, 1,
	  "alerts.sns_topic_arn: 'arn:aws:sqs:us-east-1:111111111111:q' is not an SNS topic ARN" },
	{ "alerts = { sns_topic_arn = \"arn:aws:sns::111111111111:t\"; };\n", true, 1,
	  "is not an SNS topic ARN" },
	{ "alerts = { sns_topic_arn = \"iam-access-key-rotator-topic\"; };\n", true, 1,
	  "is not an SNS topic ARN" },
	/* Limits. */
	{ "limits = { max_requests_in_flight = 0; };\n", true, 1,
	  "limits.max_requests_in_flight: must be between 1 and 1024, not 0" },
	{ "limits = {\n max_requests_in_flight = 2000; };\n", true, 2,
	  "limits.max_requests_in_flight: must be between 1 and 1024, not 2000" },
	{ "limits = { max_requests_per_account = 65; };\n", true, 1,
	  "limits.max_requests_per_account: must be between 1 and 64, not 65" },
	{ "limits = { request_timeout_sec = 0; };\n", true, 1,
	  "limits.request_timeout_sec: must be between 1 and 600, not 0" },
	{ "limits = { max_attempts = 11; };\n", true, 1,
	  "limits.max_attempts: must be between 1 and 10, not 11" },
	{ "limits = { max_attempts = 5000000000L; };\n", true, 1,
	  "limits.max_attempts: must be between 1 and 10, not 5000000000" },
	{ "limits = { iam_requests_per_second_per_account = -1.0; };\n", true, 1,
	  "limits.iam_requests_per_second_per_account: must be at least 0 and at most 1000, not -1" },
	/* AWS. */
	{ "aws = { region = \"mars\"; };\n", true, 1, "aws.region: 'mars' is not an AWS region name" },
	{ "aws = { profile = \"a b\"; };\n", true, 1, "aws.profile: 'a b' is not a valid AWS profile" },
	{ "aws = { endpoint = \"http://127.0.0.1\"; };\n", true, 1, "aws.endpoint: unknown setting" },
	/* The address takeover defence. */
	{ "users = {\n allowed_email_domains = [ \"example.com\", \"a@example.com\" ]; };\n",
	  true, 2,
	  "users.allowed_email_domains[1]: 'a@example.com' is not a mail domain" },
	{ "users = { allowed_email_domains = [ \"localhost\" ]; };\n", true, 1,
	  "users.allowed_email_domains[0]: 'localhost' is not a mail domain" },
	{ "users = { allowed_email_domains = \"example.com\"; };\n", true, 1,
	  "users.allowed_email_domains: must be a list of strings" },
	{ "users = { address_change_hold_days = 61; };\n", true, 1,
	  "users.address_change_hold_days: must be between 0 and 60, not 61" },
	{ "users = { address_change_hold_days = -1; };\n", true, 1,
	  "users.address_change_hold_days: must be between 0 and 60, not -1" },
	/* The state directory. */
	{ "state_directory = \"var/lib/x\";\n", true, 1,
	  "state_directory: 'var/lib/x' is not an absolute path" },
};

static void test_errors_name_file_line_and_setting(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *t = &bad_cases[i];
		struct akr_config *c = NULL;
		struct akr_error err = { 0 };
		char text[4096], prefix[600];
		const char *path;
		int r;

		if (!t->message)
			continue;
		(void)snprintf(text, sizeof(text), "%s%s", t->text, t->with_required ? REQUIRED : "");
		path = write_file("bad.conf", text);
		r = akr_config_load(path, &c, &err);
		if (r != -EINVAL)
			fail_msg("case %zu: expected -EINVAL, got %d (%s)", i, r, err.message);
		assert_null(c);
		assert_int_equal(err.kind, AKR_ERROR_LOCAL);
		(void)snprintf(prefix, sizeof(prefix), "%s:%d: ", path, t->line);
		if (strncmp(err.message, prefix, strlen(prefix)) != 0 ||
		    !strstr(err.message, t->message))
			fail_msg("case %zu: got '%s', want '%s%s...'", i, err.message, prefix,
				 t->message);
	}
}

static void test_email_domains_and_hold(void **state)
{
	_cleanup_config_ struct akr_config *c = load_ok(
		"users = { allowed_email_domains = [ \"Example.COM\", \"corp.example.net\" ];\n"
		"          address_change_hold_days = 0; };\n" REQUIRED);
	_cleanup_config_ struct akr_config *back = NULL;
	struct akr_error err = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(c->users.n_allowed_email_domains, 2);
	assert_string_equal(c->users.allowed_email_domains[0], "example.com");
	assert_string_equal(c->users.allowed_email_domains[1], "corp.example.net");
	assert_null(c->users.allowed_email_domains[2]);
	assert_int_equal(c->users.address_change_hold_days, 0);
	/* The dump loads back to the same settings. */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(akr_config_dump(c, f), 0);
	fclose(f);
	assert_non_null(
		strstr(text, "allowed_email_domains = [ \"example.com\", \"corp.example.net\" ];"));
	assert_int_equal(akr_config_load(write_file("back.conf", text), &back, &err), 0);
	assert_same_settings(c, back);
	free(text);
}

static void test_unreadable_file(void **state)
{
	struct akr_config *c = NULL;
	struct akr_error err = { 0 };
	char path[600];

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(akr_config_load(path, &c, &err), -ENOENT);
	assert_null(c);
	assert_non_null(strstr(err.message, "does-not-exist.conf: No such file or directory"));

	assert_int_equal(akr_config_load(tmpdir, &c, &err), -EISDIR);
	assert_null(c);
}

static void test_include_is_relative_to_the_file(void **state)
{
	_cleanup_config_ struct akr_config *c = NULL;
	struct akr_config *bad = NULL;
	struct akr_error err = { 0 };
	char path[600];

	(void)state;
	(void)write_file("org.inc", "organization = {\n\n management_role_arn = \"" ROLE_ARN "\";\n"
				    " excluded_accounts = [ \"12\" ]; };\n");
	(void)snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	(void)write_file("main.conf", "@include \"org.inc\"\nemail = { sender = \"a@example.com\"; };\n");
	/* The error points into the included file. */
	assert_int_equal(akr_config_load(path, &bad, &err), -EINVAL);
	assert_non_null(strstr(err.message, "/org.inc:4: organization.excluded_accounts[0]: '12'"));

	(void)write_file("org.inc", "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n");
	assert_int_equal(akr_config_load(path, &c, &err), 0);
	assert_string_equal(c->organization.management_role_arn, ROLE_ARN);
}

static void test_template_directory(void **state)
{
	static const char *const names[] = AKR_CONFIG_TEMPLATE_NAMES;
	struct akr_config *c = NULL;
	struct akr_error err = { 0 };
	char dir[600], text[2048], file[700], path[700];

	(void)state;
	(void)snprintf(dir, sizeof(dir), "%s/templates", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	(void)snprintf(text, sizeof(text),
		       "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
		       "email = { sender = \"a@example.com\";\n template_directory = \"%s\"; };\n",
		       dir);
	(void)snprintf(path, sizeof(path), "%s", write_file("tpl.conf", text));

	/* An empty directory: every kind keeps its built-in text. */
	assert_int_equal(akr_config_load(path, &c, &err), 0);
	assert_string_equal(c->email.template_directory, dir);
	c = akr_config_free(c);

	/* A directory that is a file. */
	(void)write_file("plain", "x");
	(void)snprintf(text, sizeof(text),
		       "organization = { management_role_arn = \"" ROLE_ARN "\"; };\n"
		       "email = { sender = \"a@example.com\";\n template_directory = \"%s/plain\"; };\n",
		       tmpdir);
	(void)snprintf(file, sizeof(file), "%s", write_file("tpl2.conf", text));
	assert_int_equal(akr_config_load(file, &c, &err), -EINVAL);
	assert_non_null(strstr(err.message, ":3: email.template_directory: '"));
	assert_non_null(strstr(err.message, "/plain' is not a directory"));

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(file, sizeof(file), "templates/%s", names[i]);
		(void)write_file(file, "Subject: Your key\n\nBody\n");
	}
	(void)write_file("templates/deleted.txt", "Hello\n");
	assert_int_equal(akr_config_load(path, &c, &err), -EINVAL);
	assert_non_null(strstr(err.message, "deleted.txt' does not start with a 'Subject:' line"));

	(void)write_file("templates/deleted.txt", "Subject: Deleted\n\nBody\n");
	assert_int_equal(akr_config_load(path, &c, &err), 0);
	assert_string_equal(c->email.template_directory, dir);
	akr_config_free(c);
}

static void test_state_directory_env_wins(void **state)
{
	struct akr_config *c;

	(void)state;
	assert_int_equal(setenv("STATE_DIRECTORY", "/var/lib/private/iam-access-key-rotator", 1), 0);
	c = load_ok("state_directory = \"/srv/elsewhere\";\n" REQUIRED);
	assert_string_equal(c->state_directory, "/var/lib/private/iam-access-key-rotator");
	akr_config_free(c);

	/* Several directories: ours is the first. */
	assert_int_equal(setenv("STATE_DIRECTORY", "/var/lib/akr:/var/lib/other", 1), 0);
	c = load_ok(REQUIRED);
	assert_string_equal(c->state_directory, "/var/lib/akr");
	akr_config_free(c);

	/* Empty or relative: ignored. */
	assert_int_equal(setenv("STATE_DIRECTORY", "", 1), 0);
	c = load_ok("state_directory = \"/srv/elsewhere\";\n" REQUIRED);
	assert_string_equal(c->state_directory, "/srv/elsewhere");
	akr_config_free(c);
	assert_int_equal(setenv("STATE_DIRECTORY", "relative", 1), 0);
	c = load_ok(REQUIRED);
	assert_string_equal(c->state_directory, "/var/lib/iam-access-key-rotator");
	akr_config_free(c);

	assert_int_equal(unsetenv("STATE_DIRECTORY"), 0);
}

static void test_dump_round_trips_and_masks(void **state)
{
	_cleanup_config_ struct akr_config *c = NULL, *again = NULL;
	struct akr_error err = { 0 };
	char dumped[700], *text = NULL;
	size_t size = 0;
	FILE *f;

	(void)state;
	c = load_ok("schedule = \"06:05\";\n"
		    "organization = { management_role_arn = \"" ROLE_ARN "\";\n"
		    "  external_id = \"TopSecretExternalId\"; excluded_accounts = [ \"333333333333\", "
		    "\"444444444444\" ]; };\n"
		    "email = { sender = \"a@example.com\"; max_send_rate = 2; };\n"
		    "limits = { iam_requests_per_second_per_account = 0.25; };\n");

	f = open_memstream(&text, &size);
	assert_non_null(f);
	assert_int_equal(akr_config_dump(c, f), 0);
	assert_int_equal(fclose(f), 0);

	assert_null(strstr(text, "TopSecretExternalId"));
	assert_non_null(strstr(text, "external_id = \"********\";"));
	assert_non_null(strstr(text, "schedule = \"06:05\";"));
	assert_non_null(strstr(text, "rotate_after_days = 80;"));
	assert_non_null(strstr(text, "excluded_accounts = [ \"333333333333\", \"444444444444\" ];"));
	assert_non_null(strstr(text, "sns_topic_arn = \"\";"));

	/* The dump is a config file; with the masked external id it is refused... */
	(void)snprintf(dumped, sizeof(dumped), "%s/dumped.conf", tmpdir);
	(void)write_file("dumped.conf", text);
	assert_int_equal(akr_config_load(dumped, &again, &err), -EINVAL);
	assert_non_null(strstr(err.message, "organization.external_id: '********'"));

	/* ...and without it, it loads back to the same settings. */
	free(c->organization.external_id);
	c->organization.external_id = NULL;
	free(text);
	text = NULL;
	f = open_memstream(&text, &size);
	assert_int_equal(akr_config_dump(c, f), 0);
	assert_int_equal(fclose(f), 0);
	(void)write_file("dumped.conf", text);
	free(text);
	assert_int_equal(akr_config_load(dumped, &again, &err), 0);
	assert_same_settings(c, again);
}

static void test_dump_of_defaults(void **state)
{
	_cleanup_config_ struct akr_config *c = akr_config_new_default();
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	(void)state;
	assert_int_equal(akr_config_dump(c, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(text, "(defaults)"));
	assert_non_null(strstr(text, "external_id = \"\";"));
	assert_non_null(strstr(text, "max_send_rate = 0.0;"));
	assert_non_null(strstr(text, "excluded_accounts = [ ];"));
	free(text);
}

static void test_parse_time_of_day(void **state)
{
	static const struct {
		const char *s;
		int minute;
	} good[] = { { "00:00", 0 }, { "13:00", 780 }, { "23:59", 1439 }, { "09:05", 545 } };
	static const char *const bad[] = {
		"24:00", "23:60", "1:00", "13:0", "1300", "13-00", " 13:00", "13:00 ", "", "ab:cd",
		"-1:00", "13:00:00",
	};
	int m;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(akr_config_parse_time_of_day(good[i].s, &m), 0);
		assert_int_equal(m, good[i].minute);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = -7;
		assert_int_equal(akr_config_parse_time_of_day(bad[i], &m), -EINVAL);
		assert_int_equal(m, -7);
	}
	assert_int_equal(akr_config_parse_time_of_day(NULL, &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_sample_loads_and_matches_defaults),
		cmocka_unit_test(test_minimal_file),
		cmocka_unit_test(test_values_are_read),
		cmocka_unit_test(test_errors_name_file_line_and_setting),
		cmocka_unit_test(test_email_domains_and_hold),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_include_is_relative_to_the_file),
		cmocka_unit_test(test_template_directory),
		cmocka_unit_test(test_state_directory_env_wins),
		cmocka_unit_test(test_dump_round_trips_and_masks),
		cmocka_unit_test(test_dump_of_defaults),
		cmocka_unit_test(test_parse_time_of_day),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
