/* The address book (lib/rotation/addressbook.h): the takeover defence's
 * memory. Store and load, the compact rewrite, 0600, a torn last line, damage
 * that fails closed with the line number, read-only opens, the pure decision
 * and the domain check. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/base/error.h"
#include "lib/base/log.h"
#include "lib/rotation/addressbook.h"
#include "tests/unit/testutil.h"

#define T0 INT64_C(1795698000) /* 2026-11-26T13:00:00Z */
#define DAY INT64_C(86400)
#define ACC "222222222222"
#define ACC2 "555555555555"

/* Each test: a fresh directory (->dir) with the file under test at
 * ->path, removed with all it holds after the test. */

static int setup(void **state)
{
	*state = testutil_tmpdir_new("addressbook", AKR_ADDRESSBOOK_FILE);
	return 0;
}

static int teardown(void **state)
{
	testutil_tmpdir_free(*state);
	return 0;
}

static void test_store_and_load(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_addressbook *ab = NULL;
	const struct akr_address_entry *e;
	struct stat st;

	assert_int_equal(akr_addressbook_open(c->dir, false, &ab, NULL), 0);
	assert_null(akr_addressbook_get(ab, ACC, "alice"));
	assert_int_equal(
	    akr_addressbook_record_delivered(ab, T0, ACC, "alice", "alice@example.com"), 0);
	assert_int_equal(akr_addressbook_record_delivered(ab, T0, ACC2, "alice", "a2@example.com"),
			 0);
	assert_int_equal(
	    akr_addressbook_record_notified(ab, T0 + DAY, ACC, "alice", "mallory@example.com"), 0);
	/* Many users: the table grows and keeps every one. */
	for (int i = 0; i < 300; i++) {
		char name[32];
		snprintf(name, sizeof(name), "user-%d", i);
		assert_int_equal(
		    akr_addressbook_record_delivered(ab, T0, ACC, name, "u@example.com"), 0);
	}
	e = akr_addressbook_get(ab, ACC, "alice");
	assert_non_null(e);
	assert_string_equal(e->delivered, "alice@example.com");
	assert_string_equal(e->pending, "mallory@example.com");
	assert_int_equal(e->pending_since_sec, T0 + DAY);
	ab = akr_addressbook_free(ab);

	/* Durable, and 0600. */
	assert_int_equal(stat(c->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(akr_addressbook_open(c->dir, true, &ab, NULL), 0);
	assert_int_equal(akr_addressbook_size(ab), 302);
	e = akr_addressbook_get(ab, ACC, "alice");
	assert_non_null(e);
	assert_string_equal(e->delivered, "alice@example.com");
	assert_int_equal(e->delivered_sec, T0);
	assert_string_equal(e->pending, "mallory@example.com");
	e = akr_addressbook_get(ab, ACC2, "alice");
	assert_non_null(e);
	assert_string_equal(e->delivered, "a2@example.com");
	assert_null(e->pending);
	assert_non_null(akr_addressbook_get(ab, ACC, "user-299"));
	assert_null(akr_addressbook_get(ab, ACC, "Alice"));
	/* Read-only: nothing is written. */
	assert_int_equal(akr_addressbook_record_delivered(ab, T0, ACC, "bob", "bob@example.com"),
			 -EROFS);
	ab = akr_addressbook_free(ab);

	/* A delivery forgets the pending change; CLEARED forgets it too. */
	assert_int_equal(akr_addressbook_open(c->dir, false, &ab, NULL), 0);
	assert_int_equal(
	    akr_addressbook_record_delivered(ab, T0 + 4 * DAY, ACC, "alice", "mallory@example.com"),
	    0);
	assert_int_equal(
	    akr_addressbook_record_notified(ab, T0 + 5 * DAY, ACC2, "alice", "x@example.com"), 0);
	assert_int_equal(akr_addressbook_record_cleared(ab, T0 + 6 * DAY, ACC2, "alice"), 0);
	ab = akr_addressbook_free(ab);
	assert_int_equal(akr_addressbook_open(c->dir, false, &ab, NULL), 0);
	e = akr_addressbook_get(ab, ACC, "alice");
	assert_string_equal(e->delivered, "mallory@example.com");
	assert_null(e->pending);
	e = akr_addressbook_get(ab, ACC2, "alice");
	assert_string_equal(e->delivered, "a2@example.com");
	assert_null(e->pending);
	ab = akr_addressbook_free(ab);
}

/* A record of a user already in the book never moves the table: an entry
 * borrowed before stays valid (ASan catches the old behaviour, which grew
 * the table on any record once it was half full). */
static void test_entry_stays_valid(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_addressbook *ab = NULL;
	const struct akr_address_entry *e;

	assert_int_equal(akr_addressbook_open(c->dir, false, &ab, NULL), 0);
	for (int i = 0; i < 32; i++) {
		char name[32];
		snprintf(name, sizeof(name), "user-%d", i);
		assert_int_equal(
			akr_addressbook_record_delivered(ab, T0, ACC, name, "u@example.com"), 0);
		if (i == 0)
			assert_int_equal(akr_addressbook_record_notified(ab, T0, ACC, "user-0",
									 "m@example.com"),
					 0);
	}
	/* Half full now: the old code grew the table on the next record. */
	e = akr_addressbook_get(ab, ACC, "user-0");
	assert_non_null(e);
	assert_int_equal(akr_addressbook_record_cleared(ab, T0 + DAY, ACC, "user-0"), 0);
	assert_string_equal(e->delivered, "u@example.com");
	assert_null(e->pending);
	ab = akr_addressbook_free(ab);
}

static void test_compact_rewrite(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_addressbook *ab = NULL;
	char *text;

	assert_int_equal(akr_addressbook_open(c->dir, false, &ab, NULL), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(
		    akr_addressbook_record_delivered(ab, T0 + i, ACC, "alice", "alice@example.com"),
		    0);
	ab = akr_addressbook_free(ab);
	text = testutil_slurp(c->path);
	assert_non_null(strstr(text, "DELIVERED\t1795698004\t" ACC "\talice\talice@example.com\n"));
	free(text);
	/* A read-write open rewrites it with one line per fact. */
	assert_int_equal(akr_addressbook_open(c->dir, false, &ab, NULL), 0);
	ab = akr_addressbook_free(ab);
	text = testutil_slurp(c->path);
	assert_string_equal(text, "ADDRESSBOOK\t1\nDELIVERED\t1795698004\t" ACC
				  "\talice\talice@example.com\n");
	free(text);
}

static void test_torn_last_line(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_addressbook *ab = NULL;
	const struct akr_address_entry *e;

	testutil_write_file(c->path, "ADDRESSBOOK\t1\n"
			    "DELIVERED\t1795698000\t" ACC "\talice\talice@example.com\n"
			    "NOTIFIED\t17956980");
	assert_int_equal(akr_addressbook_open(c->dir, false, &ab, NULL), 0);
	e = akr_addressbook_get(ab, ACC, "alice");
	assert_non_null(e);
	assert_null(e->pending);
	/* The next record starts on a line of its own. */
	assert_int_equal(akr_addressbook_record_notified(ab, T0, ACC, "alice", "m@example.com"), 0);
	ab = akr_addressbook_free(ab);
	assert_int_equal(akr_addressbook_open(c->dir, true, &ab, NULL), 0);
	assert_string_equal(akr_addressbook_get(ab, ACC, "alice")->pending, "m@example.com");
	ab = akr_addressbook_free(ab);
}

static void expect_damaged(struct testutil_tmpdir *c, const char *text, const char *where)
{
	struct akr_addressbook *ab = NULL;
	struct akr_error err = {0};
	char *before;

	testutil_write_file(c->path, text);
	before = testutil_slurp(c->path);
	assert_int_equal(akr_addressbook_open(c->dir, false, &ab, &err), -EBADMSG);
	assert_null(ab);
	if (!strstr(err.message, where) || !strstr(err.message, c->path))
		fail_msg("error '%s' does not name '%s' and the file", err.message, where);
	/* Fails closed: read-only too, and the file is left as it was. */
	assert_int_equal(akr_addressbook_open(c->dir, true, &ab, NULL), -EBADMSG);
	char *after = testutil_slurp(c->path);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_damage_fails_closed(void **state)
{
	struct testutil_tmpdir *c = *state;

	expect_damaged(c, "ADDRESSBOOK\t2\n", ":1: not an address book");
	expect_damaged(c, "garbage\n", ":1: not an address book");
	expect_damaged(c,
		       "ADDRESSBOOK\t1\nDELIVERED\t1795698000\t" ACC "\talice\talice@example.com\n"
		       "DELIVERD\t1795698000\t" ACC "\tbob\tbob@example.com\n",
		       ":3: unknown record type");
	expect_damaged(c, "ADDRESSBOOK\t1\nDELIVERED\t1795698000\t" ACC "\talice\n",
		       ":2: wrong number of fields");
	expect_damaged(c, "ADDRESSBOOK\t1\nDELIVERED\t1795698000\t2222\talice\ta@example.com\n",
		       ":2: invalid");
	expect_damaged(c, "ADDRESSBOOK\t1\nDELIVERED\tsoon\t" ACC "\talice\ta@example.com\n",
		       ":2: invalid");
	expect_damaged(c, "ADDRESSBOOK\t1\nNOTIFIED\t1795698000\t" ACC "\talice\tnot-an-address\n",
		       ":2: invalid");
	expect_damaged(c, "ADDRESSBOOK\t1\nCLEARED\t1795698000\t" ACC "\talice\tx@example.com\n",
		       ":2: wrong number of fields");
}

static void test_invalid_records_refused(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_addressbook *ab = NULL;

	assert_int_equal(akr_addressbook_open(c->dir, false, &ab, NULL), 0);
	assert_int_equal(akr_addressbook_record_delivered(ab, T0, "12", "alice", "a@example.com"),
			 -EINVAL);
	assert_int_equal(akr_addressbook_record_delivered(ab, T0, ACC, "al ice", "a@example.com"),
			 -EINVAL);
	assert_int_equal(akr_addressbook_record_delivered(ab, T0, ACC, "al\tice", "a@example.com"),
			 -EINVAL);
	assert_int_equal(akr_addressbook_record_delivered(ab, T0, ACC, "", "a@example.com"),
			 -EINVAL);
	assert_int_equal(
	    akr_addressbook_record_delivered(ab, T0, ACC, "alice", "a@example.com\r\nBcc: x@y.z"),
	    -EINVAL);
	assert_int_equal(akr_addressbook_record_delivered(ab, T0, ACC, "alice", "nope"), -EINVAL);
	assert_int_equal(akr_addressbook_record_delivered(ab, 0, ACC, "alice", "a@example.com"),
			 -EINVAL);
	assert_null(akr_addressbook_get(ab, ACC, "alice"));
	ab = akr_addressbook_free(ab);
}

static void test_missing(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_addressbook *ab = NULL;
	char nodir[128];
	struct akr_error err = {0};

	snprintf(nodir, sizeof(nodir), "%s/none", c->dir);
	assert_int_equal(akr_addressbook_open(nodir, true, &ab, NULL), 0);
	assert_int_equal(akr_addressbook_size(ab), 0);
	ab = akr_addressbook_free(ab);
	assert_int_equal(akr_addressbook_open(nodir, false, &ab, &err), -ENOENT);
	assert_non_null(strstr(err.message, nodir));
	/* Read-only on a directory without the file creates nothing. */
	assert_int_equal(akr_addressbook_open(c->dir, true, &ab, NULL), 0);
	ab = akr_addressbook_free(ab);
	assert_int_equal(access(c->path, F_OK), -1);
}

static void test_decide(void **state)
{
	const struct akr_address_entry same = {.delivered = "alice@example.com",
					       .delivered_sec = T0};
	const struct akr_address_entry told = {.delivered = "alice@example.com",
					       .pending = "mallory@example.com",
					       .pending_since_sec = T0 + 3600};
	int64_t when = 0;

	(void)state;
	/* Nothing remembered: the first delivery goes to the tag. */
	assert_int_equal(akr_address_decide(NULL, "alice@example.com", 3, T0, &when),
			 AKR_ADDRESS_DELIVER);
	assert_int_equal(when, T0);
	assert_int_equal(akr_address_decide(&same, "Alice@Example.COM", 3, T0, NULL),
			 AKR_ADDRESS_DELIVER);
	/* A change: tell the previous address, hold until the third day. */
	assert_int_equal(akr_address_decide(&same, "mallory@example.com", 3, T0, &when),
			 AKR_ADDRESS_NOTIFY_AND_HOLD);
	assert_int_equal(when, (T0 / DAY + 3) * DAY);
	assert_int_equal(akr_address_decide(&same, "mallory@example.com", 0, T0, &when),
			 AKR_ADDRESS_NOTIFY_AND_DELIVER);
	assert_int_equal(when, T0);
	/* Told already: hold, not a second notice, until the hold is over. */
	assert_int_equal(akr_address_decide(&told, "mallory@example.com", 3, T0 + DAY, &when),
			 AKR_ADDRESS_HOLD);
	assert_int_equal(when, (T0 / DAY + 3) * DAY);
	/* The daily sweep a little earlier in the day still counts the day. */
	assert_int_equal(
	    akr_address_decide(&told, "mallory@example.com", 3, T0 + 3 * DAY - 60, NULL),
	    AKR_ADDRESS_DELIVER);
	assert_int_equal(
	    akr_address_decide(&told, "mallory@example.com", 3, (T0 / DAY + 3) * DAY - 1, NULL),
	    AKR_ADDRESS_HOLD);
	/* Another change than the one told: a new notice, a new hold. */
	assert_int_equal(akr_address_decide(&told, "eve@example.com", 3, T0 + 5 * DAY, &when),
			 AKR_ADDRESS_NOTIFY_AND_HOLD);
	assert_int_equal(when, (T0 / DAY + 8) * DAY);
	/* Back to the remembered address: deliver. */
	assert_int_equal(akr_address_decide(&told, "alice@example.com", 3, T0 + DAY, NULL),
			 AKR_ADDRESS_DELIVER);
	assert_string_equal(akr_address_verdict_to_string(AKR_ADDRESS_HOLD), "hold");
	assert_null(akr_address_verdict_to_string(_AKR_ADDRESS_VERDICT_MAX));
}

static void test_domain_allowed(void **state)
{
	const char *const d[] = {"example.com", "Corp.Example.NET"};

	(void)state;
	assert_true(akr_address_domain_allowed("alice@example.com", d, 2));
	assert_true(akr_address_domain_allowed("alice@EXAMPLE.com", d, 2));
	assert_true(akr_address_domain_allowed("bob@corp.example.net", d, 2));
	assert_false(akr_address_domain_allowed("mallory@evil.example", d, 2));
	/* Exact domains: neither a subdomain nor a look-alike suffix. */
	assert_false(akr_address_domain_allowed("m@sub.example.com", d, 2));
	assert_false(akr_address_domain_allowed("m@badexample.com", d, 2));
	assert_false(akr_address_domain_allowed("m@example.com.evil.example", d, 2));
	assert_false(akr_address_domain_allowed("no-at-sign", d, 2));
	assert_false(akr_address_domain_allowed(NULL, d, 2));
	/* No list: every domain. */
	assert_true(akr_address_domain_allowed("mallory@evil.example", NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_and_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_entry_stays_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compact_rewrite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_last_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damage_fails_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_records_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	    cmocka_unit_test(test_decide),
	    cmocka_unit_test(test_domain_allowed),
	};

	akr_log_setup(AKR_LOG_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
