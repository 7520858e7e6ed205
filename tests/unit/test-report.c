/* lib/rotation/report: rows and totals, the JSON document (checked with
 * Python's json module against docs/report.md's fields), the atomic write and
 * the last-report.json link, the one-line summary and the table. */
#include <errno.h>
#include <limits.h>
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

#include "lib/base/buf.h"
#include "lib/rotation/report.h"
#include "tests/unit/testutil.h"

#define STARTED 1795784400 /* 2026-11-27T13:00:00Z */

static struct akr_report *sample(void)
{
	struct akr_report *r = akr_report_new("run-1", "once", STARTED);
	struct akr_report_totals *t;

	assert_non_null(r);
	assert_int_equal(akr_report_account(r, "222222222222", "dev", AKR_ACCOUNT_OK, NULL), 0);
	assert_int_equal(akr_report_account(r, "333333333333", "prod \"blue\"", AKR_ACCOUNT_FAILED,
					    "AccessDenied: not authorized"), 0);
	assert_int_equal(akr_report_account(r, "444444444444", NULL, AKR_ACCOUNT_EXCLUDED, NULL), 0);
	assert_int_equal(akr_report_account(r, "555555555555", NULL, AKR_ACCOUNT_NOT_ACTIVE, NULL), 0);
	assert_int_equal(akr_report_add(r, &(struct akr_report_row){
		.account_id = "222222222222", .account_name = "dev", .user_name = "zoe",
		.action = "create", .key_age_days = 85, .reason = "newest key 85 days old",
		.outcome = AKR_OUTCOME_DONE }), 0);
	assert_int_equal(akr_report_add(r, &(struct akr_report_row){
		.account_id = "222222222222", .account_name = "dev", .user_name = "alice",
		.access_key_id = "AKIAIOSFODNN7EXAMPLE", .action = "deactivate", .key_age_days = 91,
		.reason = "older than 90 days", .outcome = AKR_OUTCOME_FAILED,
		.error = "Throttling: Rate exceeded", .detail = "last used 2026-11-20 by s3" }), 0);
	assert_int_equal(akr_report_add(r, &(struct akr_report_row){
		.account_id = "222222222222", .user_name = "bob", .action = "create",
		.key_age_days = -1, .reason = "r", .outcome = AKR_OUTCOME_ROLLED_BACK,
		.error = "SES: MessageRejected" }), 0);
	t = akr_report_totals(r);
	t->accounts_listed = 4;
	t->users_seen = 3;
	t->keys_created = 1;
	t->mails_sent = 2;
	return r;
}

static void test_rows_and_totals(void **state)
{
	struct akr_report *r = sample();
	const struct akr_report_totals *t = akr_report_totals(r);
	const char *ids[4], *errors[4];

	(void)state;
	assert_int_equal(akr_report_n_rows(r), 3);
	assert_string_equal(akr_report_row(r, 0)->user_name, "zoe");
	assert_string_equal(akr_report_row(r, 1)->error, "Throttling: Rate exceeded");
	assert_null(akr_report_row(r, 3));
	assert_int_equal(t->accounts_done, 1);
	assert_int_equal(t->accounts_failed, 1);
	assert_int_equal(t->accounts_excluded, 1);
	assert_int_equal(t->accounts_not_active, 1);
	assert_int_equal(t->outcome[AKR_OUTCOME_DONE], 1);
	assert_int_equal(t->outcome[AKR_OUTCOME_FAILED], 1);
	assert_int_equal(t->outcome[AKR_OUTCOME_ROLLED_BACK], 1);
	assert_int_equal(akr_report_failed_accounts(r, ids, errors, 4), 1);
	assert_string_equal(ids[0], "333333333333");
	assert_string_equal(errors[0], "AccessDenied: not authorized");
	assert_int_equal(akr_report_failed_accounts(r, ids, errors, 0), 0);
	assert_string_equal(akr_report_run_id(r), "run-1");
	/* An outcome out of range is refused, not counted. */
	assert_int_equal(akr_report_add(r, &(struct akr_report_row){
		.action = "create", .outcome = _AKR_OUTCOME_MAX }), -EINVAL);
	assert_int_equal(akr_report_n_rows(r), 3);
	akr_report_free(r);
}

static void test_copies_its_strings(void **state)
{
	struct akr_report *r = akr_report_new("run-2", "dry-run", STARTED);
	char user[] = "alice", err[] = "boom";

	(void)state;
	assert_int_equal(akr_report_add(r, &(struct akr_report_row){
		.account_id = "222222222222", .user_name = user, .action = "create",
		.outcome = AKR_OUTCOME_FAILED, .error = err, .key_age_days = -1 }), 0);
	memset(user, 'x', sizeof(user) - 1);
	memset(err, 'y', sizeof(err) - 1);
	assert_string_equal(akr_report_row(r, 0)->user_name, "alice");
	assert_string_equal(akr_report_row(r, 0)->error, "boom");
	akr_report_free(r);
	assert_null(akr_report_free(NULL));
}

/* A sweep of thousands of accounts adds thousands of rows that repeat the
 * account's id and name, the action and the reason: the report keeps each
 * such string once (issue 11, B3), and every row still reads the same. */
static void test_keeps_repeated_strings_once(void **state)
{
	struct akr_report *r = akr_report_new("run-3", "once", STARTED);
	const struct akr_report_row **cannot = NULL;
	char account[] = "222222222222", reason[] = "rotation due but the user has no email tag";
	size_t n = 0;

	(void)state;
	assert_non_null(r);
	assert_int_equal(akr_report_account(r, account, "dev", AKR_ACCOUNT_OK, NULL), 0);
	for (int i = 0; i < 100; i++) {
		char user[16];

		(void)snprintf(user, sizeof(user), "u%02d", 99 - i);
		assert_int_equal(akr_report_add(r, &(struct akr_report_row){
			.account_id = account, .account_name = "dev", .user_name = user,
			.action = "report", .key_age_days = i, .reason = reason,
			.outcome = AKR_OUTCOME_SKIPPED }), 0);
	}
	/* A second row of u00: the alert lists its first row. */
	assert_int_equal(akr_report_add(r, &(struct akr_report_row){
		.account_id = account, .account_name = "dev", .user_name = "u00",
		.action = "report", .key_age_days = 1000, .reason = "both key slots in use",
		.outcome = AKR_OUTCOME_SKIPPED }), 0);
	/* The caller's buffers are copied, not borrowed. */
	memset(account, 'x', sizeof(account) - 1);
	memset(reason, 'y', sizeof(reason) - 1);
	for (size_t i = 1; i < 100; i++) {
		const struct akr_report_row *a = akr_report_row(r, 0), *b = akr_report_row(r, i);

		assert_string_equal(b->account_id, "222222222222");
		assert_string_equal(b->reason, "rotation due but the user has no email tag");
		assert_ptr_equal(a->account_id, b->account_id);
		assert_ptr_equal(a->account_name, b->account_name);
		assert_ptr_equal(a->action, b->action);
		assert_ptr_equal(a->reason, b->reason);
		assert_ptr_not_equal(a->user_name, b->user_name);
	}
	assert_string_equal(akr_report_row(r, 100)->reason, "both key slots in use");
	/* One entry per user, sorted, the first row of each. */
	assert_int_equal(akr_report_cannot_rotate(r, &cannot, &n), 0);
	assert_int_equal(n, 100);
	assert_string_equal(cannot[0]->user_name, "u00");
	assert_int_equal(cannot[0]->key_age_days, 99);
	assert_string_equal(cannot[99]->user_name, "u99");
	free(cannot);
	akr_report_free(r);
}

static void test_has_failures(void **state)
{
	struct akr_report *r = akr_report_new("run-3", "once", STARTED);

	(void)state;
	/* Not finished is not complete: a failure until set_finished says so. */
	assert_true(akr_report_has_failures(r));
	akr_report_set_finished(r, STARTED + 60, true);
	assert_false(akr_report_has_failures(r));
	assert_int_equal(akr_report_add(r, &(struct akr_report_row){
		.action = "create", .outcome = AKR_OUTCOME_DONE, .key_age_days = -1 }), 0);
	assert_false(akr_report_has_failures(r));
	akr_report_totals(r)->users_failed = 1;
	assert_true(akr_report_has_failures(r));
	akr_report_totals(r)->users_failed = 0;
	assert_int_equal(akr_report_add(r, &(struct akr_report_row){
		.action = "create", .outcome = AKR_OUTCOME_ROLLED_BACK, .key_age_days = -1 }), 0);
	assert_true(akr_report_has_failures(r));
	akr_report_free(r);
	r = akr_report_new("run-4", "once", STARTED);
	akr_report_set_finished(r, STARTED + 60, true);
	assert_int_equal(akr_report_account(r, "1", NULL, AKR_ACCOUNT_FAILED, NULL), 0);
	assert_true(akr_report_has_failures(r));
	akr_report_free(r);
}

static void test_enum_names(void **state)
{
	(void)state;
	assert_string_equal(akr_outcome_to_string(AKR_OUTCOME_ROLLED_BACK), "rolled-back");
	assert_string_equal(akr_outcome_to_string(AKR_OUTCOME_PLANNED), "planned");
	assert_null(akr_outcome_to_string(_AKR_OUTCOME_MAX));
	assert_null(akr_outcome_to_string((enum akr_outcome)-1));
	assert_string_equal(akr_account_state_to_string(AKR_ACCOUNT_NOT_ACTIVE), "not-active");
	assert_null(akr_account_state_to_string(_AKR_ACCOUNT_STATE_MAX));
}

/* Checks the document with Python's json module: valid JSON, the fields of
 * docs/report.md, the escaping of a quote in a name. */
static const char check_json_py[] =
	"import json, sys\n"
	"d = json.load(sys.stdin)\n"
	"assert d['schema_version'] == 1, d\n"
	"assert d['run_id'] == 'run-1' and d['mode'] == 'once', d\n"
	"assert d['started'] == '2026-11-27T13:00:00Z', d['started']\n"
	"assert d['finished'] == '2026-11-27T13:05:00Z', d['finished']\n"
	"assert d['complete'] is True\n"
	"t = d['totals']\n"
	"for k, v in {'accounts_listed': 4, 'accounts_done': 1, 'accounts_failed': 1,\n"
	"             'accounts_excluded': 1, 'accounts_not_active': 1, 'users_seen': 3,\n"
	"             'keys_created': 1, 'mails_sent': 2, 'done': 1, 'failed': 1,\n"
	"             'rolled-back': 1, 'planned': 0, 'skipped': 0}.items():\n"
	"    assert t[k] == v, (k, t[k], v)\n"
	"a = {x['id']: x for x in d['accounts']}\n"
	"assert a['333333333333']['name'] == 'prod \"blue\"'\n"
	"assert a['333333333333']['state'] == 'failed'\n"
	"assert a['333333333333']['error'] == 'AccessDenied: not authorized'\n"
	"assert a['444444444444']['name'] is None and a['555555555555']['state'] == 'not-active'\n"
	"rows = d['actions']\n"
	"assert [r['user'] for r in rows] == ['zoe', 'alice', 'bob'], rows\n"
	"assert rows[0]['access_key_id'] is None and rows[0]['key_age_days'] == 85\n"
	"assert rows[1]['detail'] == 'last used 2026-11-20 by s3' and rows[1]['outcome'] == 'failed'\n"
	"assert rows[2]['key_age_days'] is None and rows[2]['outcome'] == 'rolled-back'\n"
	"print('ok')\n";

static void test_json(void **state)
{
	struct akr_report *r = sample();
	struct akr_buf out;
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);

	(void)state;
	assert_non_null(f);
	akr_report_set_finished(r, STARTED + 300, true);
	assert_int_equal(akr_report_write_json(r, f), 0);
	assert_int_equal(fclose(f), 0);
	testutil_run_python(check_json_py, NULL, doc, len, &out, 4096);
	assert_string_equal(out.data, "ok\n");
	akr_buf_done(&out);
	free(doc);
	akr_report_free(r);
}

/* What reaches the file, write by write (fopencookie). */
struct sink {
	size_t writes, largest, total;
	uint32_t hash; /* of everything written, in order */
};

static ssize_t sink_write(void *cookie, const char *buf, size_t size)
{
	struct sink *k = cookie;

	k->writes++;
	k->largest = size > k->largest ? size : k->largest;
	k->total += size;
	for (size_t i = 0; i < size; i++)
		k->hash = (k->hash ^ (unsigned char)buf[i]) * 16777619u;
	return (ssize_t)size;
}

/* The JSON goes to the file as it is made: a report of thousands of rows
 * (megabytes of JSON at 2,000 accounts) is never held whole in memory
 * (issue 11, B3). The bytes are those of the same document made at once. */
static void test_json_streamed(void **state)
{
	struct akr_report *r = akr_report_new("run-4", "once", STARTED);
	struct sink k = { .hash = 2166136261u }, whole = { .hash = 2166136261u };
	char *doc = NULL;
	size_t len = 0;
	FILE *f, *m;

	(void)state;
	assert_non_null(r);
	for (int i = 0; i < 3000; i++) {
		char account[16], user[16];

		(void)snprintf(account, sizeof(account), "2222222%05d", i / 5);
		(void)snprintf(user, sizeof(user), "user-%04d", i);
		if (i % 5 == 0)
			assert_int_equal(akr_report_account(r, account, "an account",
							    AKR_ACCOUNT_OK, NULL), 0);
		assert_int_equal(akr_report_add(r, &(struct akr_report_row){
			.account_id = account, .account_name = "an account", .user_name = user,
			.access_key_id = "AKIAIOSFODNN7EXAMPLE", .action = i % 7 ? "delete" : "report",
			.key_age_days = 101, .reason = "inactive and at least 100 days old",
			.outcome = AKR_OUTCOME_DONE, .detail = "last used 2026-11-20 by s3" }), 0);
	}
	akr_report_set_finished(r, STARTED + 300, true);
	f = fopencookie(&k, "w", (cookie_io_functions_t){ .write = sink_write });
	assert_non_null(f);
	assert_int_equal(setvbuf(f, NULL, _IONBF, 0), 0);
	assert_int_equal(akr_report_write_json(r, f), 0);
	assert_int_equal(fclose(f), 0);
	/* The same document as one buffer, for the comparison. */
	m = open_memstream(&doc, &len);
	assert_non_null(m);
	assert_int_equal(akr_report_write_json(r, m), 0);
	assert_int_equal(fclose(m), 0);
	(void)sink_write(&whole, doc, len);
	assert_true(len > 1024 * 1024);
	assert_int_equal(k.total, len);
	assert_int_equal(k.hash, whole.hash);
	/* Many writes, none of more than a few tens of KiB. */
	assert_true(k.writes > 16);
	assert_true(k.largest <= 64 * 1024);
	free(doc);
	akr_report_free(r);
}

static void test_json_unfinished(void **state)
{
	struct akr_report *r = akr_report_new("run-5", "dry-run", STARTED);
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);

	(void)state;
	assert_int_equal(akr_report_write_json(r, f), 0);
	assert_int_equal(fclose(f), 0);
	testutil_assert_has(doc, "\"finished\": null");
	testutil_assert_has(doc, "\"complete\": false");
	testutil_assert_has(doc, "\"actions\": [");
	assert_null(strstr(doc, "\"user\""));
	free(doc);
	akr_report_free(r);
}

static void test_write(void **state)
{
	char dir[] = "/tmp/akr-test-report-XXXXXX", path[256], link[256], target[256];
	struct akr_report *r = sample();
	struct stat st;
	char *ret_path = NULL, *text;
	ssize_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(akr_report_write(r, dir, &ret_path), 0);
	(void)snprintf(path, sizeof(path), "%s/report-run-1.json", dir);
	assert_string_equal(ret_path, path);
	assert_int_equal(stat(path, &st), 0);
	/* Not readable by others. */
	assert_int_equal(st.st_mode & 0007, 0);
	text = testutil_slurp(path);
	testutil_assert_has(text, "\"run_id\": \"run-1\"");
	free(text);
	/* last-report.json is a relative link to it; a second run moves it on. */
	(void)snprintf(link, sizeof(link), "%s/last-report.json", dir);
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "report-run-1.json");
	akr_report_free(r);
	r = akr_report_new("run-2", "once", STARTED);
	assert_int_equal(akr_report_write(r, dir, NULL), 0);
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "report-run-2.json");
	/* No temp file left behind. */
	(void)snprintf(path, sizeof(path), "%s/report-run-2.json.tmp", dir);
	assert_int_equal(access(path, F_OK), -1);
	(void)snprintf(path, sizeof(path), "%s/.last-report.json.tmp", dir);
	assert_int_equal(access(path, F_OK), -1);
	/* A directory that does not exist is an error, not a crash. */
	(void)snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(akr_report_write(r, path, NULL), -ENOENT);

	(void)snprintf(path, sizeof(path), "%s/report-run-1.json", dir);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/report-run-2.json", dir);
	(void)unlink(path);
	(void)unlink(link);
	assert_int_equal(rmdir(dir), 0);
	free(ret_path);
	akr_report_free(r);
}

static void test_summary_and_table(void **state)
{
	struct akr_report *r = sample();
	char line[1024], *table = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(akr_report_summary(r, line, sizeof(line)), 0);
	assert_string_equal(line,
			    "run run-1 (once) INCOMPLETE: 4 accounts (1 failed, 1 excluded, 1 not active), "
			    "3 users; keys created 1, deactivated 0, deleted 0; mails 2; "
			    "0 planned, 1 done, 1 failed, 0 skipped, 1 rolled back");
	akr_report_set_finished(r, STARTED + 1, true);
	assert_int_equal(akr_report_summary(r, line, sizeof(line)), 0);
	testutil_assert_has(line, "run run-1 (once): 4 accounts");

	f = open_memstream(&table, &len);
	assert_int_equal(akr_report_print_table(r, f), 0);
	assert_int_equal(fclose(f), 0);
	/* Sorted by account then user; the error on a line of its own; the
	 * failed account listed; the summary last. */
	testutil_assert_has(table, "ACCOUNT       USER");
	assert_true(strstr(table, "alice") < strstr(table, "bob"));
	assert_true(strstr(table, "bob") < strstr(table, "zoe"));
	testutil_assert_has(table, "(new key)");
	testutil_assert_has(table, "error: Throttling: Rate exceeded");
	testutil_assert_has(table, "(last used 2026-11-20 by s3)");
	testutil_assert_has(table, "account failed: AccessDenied: not authorized");
	testutil_assert_has(table, "\nrun run-1 (once): ");
	free(table);
	akr_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_and_totals),
		cmocka_unit_test(test_copies_its_strings),
		cmocka_unit_test(test_keeps_repeated_strings_once),
		cmocka_unit_test(test_has_failures),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_streamed),
		cmocka_unit_test(test_json_unfinished),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_summary_and_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
