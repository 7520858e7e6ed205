/* lib/rotation/alert: the SNS failure alert's subject and message, composed
 * from a report (akr_alert_compose; the publishing itself is one
 * akr_sns_publish call, covered by test-aws). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/buf.h"
#include "lib/rotation/alert.h"
#include "lib/rotation/report.h"
#include "tests/unit/testutil.h"

#define STARTED 1795784400

static struct akr_report *failed_report(size_t failed_rows)
{
	struct akr_report *r = akr_report_new("run-7", "scheduled", STARTED);

	assert_non_null(r);
	assert_int_equal(akr_report_account(r, "333333333333", "prod", AKR_ACCOUNT_FAILED,
					    "AssumeRole: AccessDenied"), 0);
	assert_int_equal(akr_report_account(r, "222222222222", "dev", AKR_ACCOUNT_OK, NULL), 0);
	assert_int_equal(akr_report_add(r, &(struct akr_report_row){
		.account_id = "222222222222", .user_name = "ok-user", .action = "create",
		.key_age_days = 85, .outcome = AKR_OUTCOME_DONE }), 0);
	for (size_t i = 0; i < failed_rows; i++) {
		char user[32];

		(void)snprintf(user, sizeof(user), "user%zu", i);
		assert_int_equal(akr_report_add(r, &(struct akr_report_row){
			.account_id = "222222222222", .user_name = user, .action = "create",
			.access_key_id = i % 2 ? "AKIAIOSFODNN7EXAMPLE" : NULL, .key_age_days = 85,
			.outcome = i % 2 ? AKR_OUTCOME_FAILED : AKR_OUTCOME_ROLLED_BACK,
			.error = i % 2 ? "Throttling" : NULL }), 0);
	}
	akr_report_set_finished(r, STARTED + 60, true);
	return r;
}

static void test_failures(void **state)
{
	struct akr_report *r = failed_report(2);
	char subject[AKR_ALERT_SUBJECT_MAX + 1];
	struct akr_buf msg;

	(void)state;
	akr_buf_init(&msg, AKR_ALERT_MESSAGE_MAX, false);
	assert_int_equal(akr_alert_compose(r, "/var/lib/x/report-run-7.json", 0, subject,
					   sizeof(subject), &msg), 0);
	assert_string_equal(subject,
			    "iam-access-key-rotator: sweep had failures (1 accounts, 2 actions failed)");
	testutil_assert_has(msg.data, "The IAM access key rotation sweep run-7 finished with failures.");
	testutil_assert_has(msg.data, "run run-7 (scheduled): ");
	testutil_assert_has(msg.data, "\nReport: /var/lib/x/report-run-7.json\n");
	testutil_assert_has(msg.data, "\nFailed accounts (1):\n  333333333333: AssumeRole: AccessDenied\n");
	testutil_assert_has(msg.data, "\nFailed actions:\n");
	testutil_assert_has(msg.data, "  222222222222/user0 create : rolled-back\n");
	testutil_assert_has(msg.data, "  222222222222/user1 create AKIAIOSFODNN7EXAMPLE: failed: Throttling\n");
	/* Only what failed is listed. */
	assert_null(strstr(msg.data, "ok-user"));
	assert_null(strstr(msg.data, "Error:"));
	akr_buf_done(&msg);
	akr_report_free(r);
}

static void test_fatal(void **state)
{
	struct akr_report *r = akr_report_new("run-8", "once", STARTED);
	char subject[AKR_ALERT_SUBJECT_MAX + 1];
	struct akr_buf msg;

	(void)state;
	akr_buf_init(&msg, AKR_ALERT_MESSAGE_MAX, false);
	assert_int_equal(akr_alert_compose(r, NULL, -EACCES, subject, sizeof(subject), &msg), 0);
	assert_string_equal(subject,
			    "iam-access-key-rotator: sweep could not run (0 accounts, 0 actions failed)");
	testutil_assert_has(msg.data, "sweep run-8 could not run.");
	testutil_assert_has(msg.data, "\nError: Permission denied\n");
	testutil_assert_has(msg.data, "\nReport: (not written)\n");
	testutil_assert_has(msg.data, "INCOMPLETE");
	assert_null(strstr(msg.data, "Failed accounts"));
	assert_null(strstr(msg.data, "Failed actions"));
	akr_buf_done(&msg);
	akr_report_free(r);
}

static void test_subject_bounds(void **state)
{
	struct akr_report *r = failed_report(1);
	char subject[200], small[16];
	struct akr_buf msg;

	(void)state;
	/* A bigger buffer still gets at most AKR_ALERT_SUBJECT_MAX bytes (SNS's
	 * limit is under 100), without control characters. */
	memset(subject, 'x', sizeof(subject));
	akr_buf_init(&msg, AKR_ALERT_MESSAGE_MAX, false);
	assert_int_equal(akr_alert_compose(r, "p", 0, subject, sizeof(subject), &msg), 0);
	assert_true(strlen(subject) <= AKR_ALERT_SUBJECT_MAX);
	for (const char *c = subject; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
	akr_buf_done(&msg);
	/* A small buffer is cut and terminated, never overrun. */
	memset(small, 'x', sizeof(small));
	akr_buf_init(&msg, AKR_ALERT_MESSAGE_MAX, false);
	assert_int_equal(akr_alert_compose(r, "p", 0, small, sizeof(small), &msg), 0);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "iam-access-key-", 15);
	akr_buf_done(&msg);
	akr_report_free(r);
}

static void test_long_lists_are_cut(void **state)
{
	struct akr_report *r = failed_report(250);
	char subject[AKR_ALERT_SUBJECT_MAX + 1];
	struct akr_buf msg;
	size_t lines = 0;

	(void)state;
	akr_buf_init(&msg, AKR_ALERT_MESSAGE_MAX, false);
	assert_int_equal(akr_alert_compose(r, "p", 0, subject, sizeof(subject), &msg), 0);
	testutil_assert_has(subject, "(1 accounts, 250 actions failed)");
	for (const char *p = strstr(msg.data, "  222222222222/user"); p;
	     p = strstr(p + 1, "  222222222222/user"))
		lines++;
	assert_int_equal(lines, 200);
	testutil_assert_has(msg.data, "  ... and 50 more (see the report)\n");
	assert_true(msg.len <= AKR_ALERT_MESSAGE_MAX);
	akr_buf_done(&msg);
	akr_report_free(r);
}

static void test_message_bound(void **state)
{
	struct akr_report *r = failed_report(20);
	char subject[AKR_ALERT_SUBJECT_MAX + 1];
	struct akr_buf msg;

	(void)state;
	/* A message that does not fit its buffer is an error, not an overrun. */
	akr_buf_init(&msg, 256, false);
	assert_int_equal(akr_alert_compose(r, "p", 0, subject, sizeof(subject), &msg), -E2BIG);
	assert_true(msg.len <= 256);
	akr_buf_done(&msg);
	akr_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_fatal),
		cmocka_unit_test(test_subject_bounds),
		cmocka_unit_test(test_long_lists_are_cut),
		cmocka_unit_test(test_message_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
