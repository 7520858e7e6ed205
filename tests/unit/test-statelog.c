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
#include "lib/base/macro.h"
#include "lib/rotation/statelog.h"
#include "tests/unit/testutil.h"

#define T0 INT64_C(1795698000) /* 2026-11-26T13:00:00Z */
#define DAY INT64_C(86400)
#define ACC "222222222222"

/* Each test: a fresh directory (->dir) with the file under test at
 * ->path, removed with all it holds after the test. */

static int setup(void **state)
{
	*state = testutil_tmpdir_new("statelog", "statelog");
	return 0;
}

static int teardown(void **state)
{
	testutil_tmpdir_free(*state);
	return 0;
}

static void spit(const char *path, const char *content, const char *mode)
{
	FILE *f = fopen(path, mode);

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
	fclose(f);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static struct akr_statelog *open_ok(const struct testutil_tmpdir *c)
{
	struct akr_statelog *log = NULL;
	struct akr_error err = { 0 };

	assert_int_equal(akr_statelog_open(c->dir, false, &log, &err), 0);
	assert_non_null(log);
	return log;
}

static const struct akr_statelog_intent *open_intents(struct akr_statelog *log)
{
	const struct akr_statelog_intent *in = NULL;
	size_t n = 0;

	assert_int_equal(akr_statelog_open_intents(log, &in, &n), 0);
	assert_true(n > 0);
	return in;
}

static void test_new_and_reload(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_statelog *log = open_ok(c);
	_cleanup_free_ char *content = NULL;
	struct stat st;
	uint64_t id;
	const struct akr_statelog_intent *in;
	size_t n;

	/* Created at once, private, with only the header. */
	assert_int_equal(stat(c->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	content = testutil_slurp(c->path);
	assert_string_equal(content, "STATELOG\t1\t1\n");
	assert_false(akr_statelog_has_open_intents(log));
	assert_int_equal(akr_statelog_last_run_sec(log), 0);
	assert_null(akr_statelog_last_run_id(log));

	assert_int_equal(akr_statelog_append_intent(log, T0, "run-1", ACC, "alice", &id), 0);
	assert_int_equal(id, 1);
	assert_true(akr_statelog_has_open_intents(log));
	assert_int_equal(akr_statelog_mark_created(log, id, "AKIANEWKEY0000000001"), 0);
	assert_int_equal(akr_statelog_mark_delivered(log, id), 0);
	assert_int_equal(akr_statelog_mark_done(log, id), 0);
	assert_false(akr_statelog_has_open_intents(log));
	assert_int_equal(akr_statelog_record_deactivated(log, T0 + 10, ACC, "alice",
							 "AKIAOLDKEY0000000001"), 0);
	assert_int_equal(akr_statelog_record_reminded(log, T0 + 20, ACC, "bob",
						      "AKIABOBKEY0000000001"), 0);
	assert_int_equal(akr_statelog_record_last_run(log, T0 + 30, "run-1", "ok, 0 failed"), 0);
	assert_int_equal(akr_statelog_n_records(log), 8);
	log = akr_statelog_free(log);

	/* Every line reached the file, in order. */
	free(content);
	content = testutil_slurp(c->path);
	assert_string_equal(content, "STATELOG\t1\t1\n"
				     "INTENT\t1\t1795698000\trun-1\t222222222222\talice\n"
				     "CREATED\t1\tAKIANEWKEY0000000001\n"
				     "DELIVERED\t1\n"
				     "DONE\t1\n"
				     "DEACTIVATED\t1795698010\t222222222222\talice\tAKIAOLDKEY0000000001\n"
				     "REMINDED\t1795698020\t222222222222\tbob\tAKIABOBKEY0000000001\n"
				     "LASTRUN\t1795698030\trun-1\tok, 0 failed\n");

	log = open_ok(c);
	assert_false(akr_statelog_has_open_intents(log));
	assert_int_equal(akr_statelog_open_intents(log, &in, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIAOLDKEY0000000001"), T0 + 10);
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIABOBKEY0000000001"), 0);
	assert_int_equal(akr_statelog_deactivated_at(log, "333333333333", "AKIAOLDKEY0000000001"),
			 0);
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIANEWKEY0000000001"), 0);
	assert_true(akr_statelog_reminded(log, ACC, "AKIABOBKEY0000000001"));
	assert_false(akr_statelog_reminded(log, ACC, "AKIAOLDKEY0000000001"));
	assert_int_equal(akr_statelog_last_run_sec(log), T0 + 30);
	assert_string_equal(akr_statelog_last_run_id(log), "run-1");
	assert_string_equal(akr_statelog_last_run_result(log), "ok, 0 failed");

	/* Intent ids keep increasing after the closed intent was compacted away. */
	assert_int_equal(akr_statelog_append_intent(log, T0 + 40, "run-2", ACC, "carol", &id), 0);
	assert_int_equal(id, 2);
	akr_statelog_free(log);
}

static void test_open_intents_after_crash(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_statelog *log = open_ok(c);
	const struct akr_statelog_intent *in;
	uint64_t a, b, d, e, g;
	size_t n;

	/* A: crash right after the intent. B: after CreateAccessKey. D:
	 * after delivery, before DONE. E: rolled back and finished. G: rolled
	 * back, crash before DONE. */
	assert_int_equal(akr_statelog_append_intent(log, T0, "run-1", ACC, "alice", &a), 0);
	assert_int_equal(akr_statelog_append_intent(log, T0 + 1, "run-1", ACC, "bob", &b), 0);
	assert_int_equal(akr_statelog_mark_created(log, b, "AKIABOB0000000000002"), 0);
	assert_int_equal(akr_statelog_append_intent(log, T0 + 2, "run-1", ACC, "dave", &d), 0);
	assert_int_equal(akr_statelog_mark_created(log, d, "AKIADAVE000000000003"), 0);
	assert_int_equal(akr_statelog_mark_delivered(log, d), 0);
	assert_int_equal(akr_statelog_append_intent(log, T0 + 3, "run-1", ACC, "erin", &e), 0);
	assert_int_equal(akr_statelog_mark_created(log, e, "AKIAERIN000000000004"), 0);
	assert_int_equal(akr_statelog_mark_rolled_back(log, e), 0);
	assert_int_equal(akr_statelog_mark_done(log, e), 0);
	assert_int_equal(akr_statelog_append_intent(log, T0 + 4, "run-1", ACC, "gil", &g), 0);
	assert_int_equal(akr_statelog_mark_created(log, g, "AKIAGIL0000000000005"), 0);
	assert_int_equal(akr_statelog_mark_rolled_back(log, g), 0);
	/* Never deliver a rolled back key, never roll back a delivered one. */
	assert_int_equal(akr_statelog_mark_delivered(log, g), -EINVAL);
	assert_int_equal(akr_statelog_mark_rolled_back(log, d), -EINVAL);
	akr_statelog_free(log); /* the "crash": nothing more is written */

	log = open_ok(c);
	assert_true(akr_statelog_has_open_intents(log));
	assert_int_equal(akr_statelog_open_intents(log, &in, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(in[0].id, a);
	assert_int_equal(in[0].time_sec, T0);
	assert_string_equal(in[0].run_id, "run-1");
	assert_string_equal(in[0].account_id, ACC);
	assert_string_equal(in[0].user_name, "alice");
	assert_null(in[0].key_id);
	assert_false(in[0].delivered);
	assert_int_equal(in[1].id, b);
	assert_string_equal(in[1].user_name, "bob");
	assert_string_equal(in[1].key_id, "AKIABOB0000000000002");
	assert_false(in[1].delivered);
	assert_int_equal(in[2].id, d);
	assert_string_equal(in[2].key_id, "AKIADAVE000000000003");
	assert_true(in[2].delivered);
	assert_false(in[2].rolled_back);
	assert_int_equal(in[3].id, g);
	assert_string_equal(in[3].key_id, "AKIAGIL0000000000005");
	assert_true(in[3].rolled_back);

	/* The sweep reconciles while walking the list, which stays put. */
	for (size_t i = 0; i < n; i++) {
		if (!in[i].delivered && !in[i].rolled_back)
			assert_int_equal(akr_statelog_mark_rolled_back(log, in[i].id), 0);
		assert_int_equal(akr_statelog_mark_done(log, in[i].id), 0);
		assert_true(in[i].user_name[0] != '\0');
	}
	assert_int_equal(akr_statelog_mark_done(log, d), -ENOENT);
	assert_false(akr_statelog_has_open_intents(log));
	assert_int_equal(akr_statelog_open_intents(log, &in, &n), 0);
	assert_int_equal(n, 0);
	akr_statelog_free(log);

	log = open_ok(c);
	assert_false(akr_statelog_has_open_intents(log));
	assert_int_equal(akr_statelog_append_intent(log, T0, "run-2", ACC, "alice", &a), 0);
	assert_int_equal(a, g + 1);
	akr_statelog_free(log);
}

static void test_torn_last_line(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_statelog *log = open_ok(c);
	_cleanup_free_ char *content = NULL;
	uint64_t id;
	const struct akr_statelog_intent *in;
	size_t n;

	assert_int_equal(akr_statelog_append_intent(log, T0, "run-1", ACC, "alice", &id), 0);
	akr_statelog_free(log);
	/* A crash in the middle of writing CREATED. */
	spit(c->path, "CREATED\t1\tAKIA", "ae");

	log = open_ok(c);
	assert_int_equal(akr_statelog_open_intents(log, &in, &n), 0);
	assert_int_equal(n, 1);
	assert_null(open_intents(log)[0].key_id);
	/* The torn tail is gone, so the next record starts on its own line. */
	content = testutil_slurp(c->path);
	assert_null(strstr(content, "AKIA"));
	assert_int_equal(content[strlen(content) - 1], '\n');
	assert_int_equal(akr_statelog_mark_created(log, id, "AKIANEW0000000000001"), 0);
	akr_statelog_free(log);

	log = open_ok(c);
	assert_string_equal(open_intents(log)[0].key_id, "AKIANEW0000000000001");
	akr_statelog_free(log);

	/* A torn line of NUL bytes (the size grew, the data never came). */
	spit(c->path, "\0\0\0", "ae");
	{
		int fd = open(c->path, O_WRONLY | O_APPEND | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "\0\0\0\0", 4), 4);
		close(fd);
	}
	log = open_ok(c);
	assert_int_equal(open_intents(log)[0].id, id);
	akr_statelog_free(log);
}

static void expect_corrupt(const struct testutil_tmpdir *c, const char *content, const char *where)
{
	struct akr_statelog *log = NULL;
	struct akr_error err = { 0 };

	spit(c->path, content, "we");
	assert_int_equal(akr_statelog_open(c->dir, false, &log, &err), -EBADMSG);
	assert_null(log);
	if (!strstr(err.message, where)) {
		print_error("message '%s' does not name '%s'\n", err.message, where);
		fail();
	}
	/* Refused, not repaired: the file is left for a human. */
	{
		_cleanup_free_ char *now = testutil_slurp(c->path);

		assert_string_equal(now, content);
	}
}

static void test_corrupt_lines(void **state)
{
	struct testutil_tmpdir *c = *state;
	char where[160];

#define H "STATELOG\t1\t1\n"
#define INT1 "INTENT\t1\t1795698000\trun-1\t222222222222\talice\n"
	snprintf(where, sizeof(where), "%s:2:", c->path);
	expect_corrupt(c, H "GARBAGE\n" INT1, where);
	expect_corrupt(c, H "\n" INT1, where);
	expect_corrupt(c, H "CREATED\t7\tAKIAX00000000000\n", where);
	expect_corrupt(c, H "DELIVERED\t1\n", where);
	expect_corrupt(c, H "INTENT\t1\tyesterday\trun-1\t222222222222\talice\n", where);
	expect_corrupt(c, H "INTENT\t1\t1795698000\trun-1\t222222222222\n", where);
	expect_corrupt(c, H "LASTRUN\t-5\trun\tok\n", where);
	expect_corrupt(c, H "STATELOG\t1\t1\n", where);
	snprintf(where, sizeof(where), "%s:3:", c->path);
	expect_corrupt(c, H INT1 "INTENT\t1\t1795698000\trun-1\t222222222222\tbob\n", where);
	expect_corrupt(c, H INT1 "DELIVERED\t1\n", where);
	expect_corrupt(c, H INT1 "DONE\t2\n", where);
	expect_corrupt(c, H INT1 "DEACTIVATED\t1\t222222222222\talice\tAKIA\\1\n", where);
	snprintf(where, sizeof(where), "%s:1:", c->path);
	expect_corrupt(c, INT1, where);
	expect_corrupt(c, "STATELOG\t2\t1\n", where);
#undef H
#undef INT1

	/* A NUL byte inside a complete line. */
	{
		static const char bad[] = "STATELOG\t1\t1\nDONE\0\t1\n";
		struct akr_statelog *log = NULL;
		struct akr_error err = { 0 };
		FILE *f = fopen(c->path, "we");

		assert_non_null(f);
		assert_int_equal(fwrite(bad, 1, sizeof(bad) - 1, f), sizeof(bad) - 1);
		fclose(f);
		assert_int_equal(akr_statelog_open(c->dir, false, &log, &err), -EBADMSG);
		snprintf(where, sizeof(where), "%s:2:", c->path);
		assert_non_null(strstr(err.message, where));
	}
}

static void test_compaction(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_statelog *log = open_ok(c);
	_cleanup_free_ char *content = NULL;
	struct stat before, after;
	char key[32];
	uint64_t id, open_id;

	/* One year of history: 200 keys deactivated, then deleted. */
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "AKIAGONE%012d", i);
		assert_int_equal(akr_statelog_record_reminded(log, T0 + i, ACC, "u", key), 0);
		assert_int_equal(akr_statelog_record_deactivated(log, T0 + i, ACC, "u", key), 0);
		assert_int_equal(akr_statelog_record_deleted(log, T0 + i, ACC, "u", key), 0);
		assert_int_equal(akr_statelog_append_intent(log, T0 + i, "r", ACC, "u", &id), 0);
		assert_int_equal(akr_statelog_mark_created(log, id, key), 0);
		assert_int_equal(akr_statelog_mark_delivered(log, id), 0);
		assert_int_equal(akr_statelog_mark_done(log, id), 0);
	}
	/* The live facts. */
	assert_int_equal(akr_statelog_record_deactivated(log, T0 - 500 * DAY, ACC, "old",
							 "AKIAOLD0000000000001"), 0);
	assert_int_equal(akr_statelog_record_deactivated(log, T0 - 300 * DAY, ACC, "mid",
							 "AKIAMID0000000000001"), 0);
	assert_int_equal(akr_statelog_record_deactivated(log, T0 + 1000, ACC, "alice",
							 "AKIAALICE00000000001"), 0);
	assert_int_equal(akr_statelog_record_deactivated(log, T0 + 2000, ACC, "alice",
							 "AKIAALICE00000000001"), 0);
	assert_int_equal(akr_statelog_record_reminded(log, T0 + 1000, ACC, "bob",
						      "AKIABOB0000000000001"), 0);
	assert_int_equal(akr_statelog_append_intent(log, T0 + 3000, "r", ACC, "carol", &open_id), 0);
	assert_int_equal(akr_statelog_mark_created(log, open_id, "AKIACAROL00000000001"), 0);
	assert_int_equal(akr_statelog_record_last_run(log, T0 + 100, "r0", "failed"), 0);
	assert_int_equal(akr_statelog_record_last_run(log, T0 + 4000, "r", "ok"), 0);
	assert_int_equal(akr_statelog_n_records(log), 1 + 200 * 7 + 9);
	assert_int_equal(stat(c->path, &before), 0);

	assert_int_equal(akr_statelog_compact(log), 0);
	assert_int_equal(stat(c->path, &after), 0);
	assert_true(after.st_size * 20 < before.st_size);
	content = testutil_slurp(c->path);
	assert_string_equal(content,
			    "STATELOG\t1\t202\n"
			    "LASTRUN\t1795702000\tr\tok\n"
			    "DEACTIVATED\t1769778000\t222222222222\tmid\tAKIAMID0000000000001\n"
			    "DEACTIVATED\t1795700000\t222222222222\talice\tAKIAALICE00000000001\n"
			    "REMINDED\t1795699000\t222222222222\tbob\tAKIABOB0000000000001\n"
			    "INTENT\t201\t1795701000\tr\t222222222222\tcarol\n"
			    "CREATED\t201\tAKIACAROL00000000001\n");
	assert_int_equal(akr_statelog_n_records(log), count_lines(content));
	/* The lookups agree with the file. */
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIAOLD0000000000001"), 0);
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIAALICE00000000001"), T0 + 2000);
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIAGONE000000000005"), 0);
	assert_false(akr_statelog_reminded(log, ACC, "AKIAGONE000000000005"));

	/* Appends continue in the new file, and it reloads identically. */
	assert_int_equal(akr_statelog_mark_delivered(log, open_id), 0);
	akr_statelog_free(log);
	log = open_ok(c);
	free(content);
	content = testutil_slurp(c->path);
	assert_non_null(strstr(content, "DELIVERED\t201\n"));
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIAMID0000000000001"),
			 T0 - 300 * DAY);
	akr_statelog_free(log);
}

static void test_compaction_threshold(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_statelog *log = open_ok(c);
	char key[32];

	akr_statelog_set_compact_threshold(log, 50);
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "AKIAGONE%012d", i);
		assert_int_equal(akr_statelog_record_deactivated(log, T0 + i, ACC, "u", key), 0);
		assert_int_equal(akr_statelog_record_deleted(log, T0 + i, ACC, "u", key), 0);
		assert_true(akr_statelog_n_records(log) <= 51);
	}
	assert_int_equal(akr_statelog_record_deactivated(log, T0, ACC, "u", "AKIAKEEP000000000001"),
			 0);
	akr_statelog_free(log);
	log = open_ok(c);
	assert_int_equal(akr_statelog_n_records(log), 2);
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIAKEEP000000000001"), T0);
	akr_statelog_free(log);
}

static void test_lock_and_read_only(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_statelog *log = open_ok(c), *other = NULL, *ro = NULL;
	struct akr_error err = { 0 };
	_cleanup_free_ char *before = NULL, *after = NULL;
	uint64_t id;
	const struct akr_statelog_intent *in;
	size_t n;

	assert_int_equal(akr_statelog_append_intent(log, T0, "r", ACC, "alice", &id), 0);
	assert_int_equal(akr_statelog_open(c->dir, false, &other, &err), -EBUSY);
	assert_null(other);
	assert_non_null(strstr(err.message, c->dir));

	/* A dry run reads alongside, and writes nothing. */
	assert_int_equal(akr_statelog_open(c->dir, true, &ro, &err), 0);
	assert_int_equal(akr_statelog_open_intents(ro, &in, &n), 0);
	assert_int_equal(n, 1);
	before = testutil_slurp(c->path);
	assert_int_equal(akr_statelog_append_intent(ro, T0, "r", ACC, "bob", &id), -EROFS);
	assert_int_equal(akr_statelog_record_deactivated(ro, T0, ACC, "bob", "AKIAB0000000000001"),
			 -EROFS);
	assert_int_equal(akr_statelog_compact(ro), -EROFS);
	after = testutil_slurp(c->path);
	assert_string_equal(before, after);
	assert_int_equal(akr_statelog_deactivated_at(ro, ACC, "AKIAB0000000000001"), 0);
	akr_statelog_free(ro);

	/* Closing releases the lock. */
	akr_statelog_free(log);
	log = open_ok(c);
	akr_statelog_free(log);
}

static void test_read_only_missing(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_statelog *ro = NULL;
	struct stat st;

	assert_int_equal(akr_statelog_open(c->dir, true, &ro, NULL), 0);
	assert_false(akr_statelog_has_open_intents(ro));
	assert_int_equal(stat(c->path, &st), -1);
	akr_statelog_free(ro);
	assert_int_equal(akr_statelog_open("/nonexistent/akr", false, &ro, NULL), -ENOENT);
	assert_null(akr_statelog_free(NULL));
}

static void test_invalid_records(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_statelog *log = open_ok(c);
	_cleanup_free_ char *before = NULL, *after = NULL;
	char longname[300];
	uint64_t id, x = 77;

	assert_int_equal(akr_statelog_append_intent(log, T0, "r", ACC, "alice", &id), 0);
	before = testutil_slurp(c->path);

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(akr_statelog_append_intent(log, T0, "r", ACC, "a\tb", &x), -EINVAL);
	assert_int_equal(akr_statelog_append_intent(log, T0, "r", ACC, "a\nb", &x), -EINVAL);
	assert_int_equal(akr_statelog_append_intent(log, T0, "r", ACC, "", &x), -EINVAL);
	assert_int_equal(akr_statelog_append_intent(log, T0, "r", ACC, NULL, &x), -EINVAL);
	assert_int_equal(akr_statelog_append_intent(log, T0, "r", ACC, longname, &x), -EINVAL);
	assert_int_equal(akr_statelog_append_intent(log, -1, "r", ACC, "bob", &x), -EINVAL);
	assert_int_equal(akr_statelog_append_intent(log, T0, "r", ACC, "b\xc3\xa9", &x), -EINVAL);
	assert_int_equal(x, 77);
	assert_int_equal(akr_statelog_mark_delivered(log, id), -EINVAL); /* not created yet */
	assert_int_equal(akr_statelog_mark_created(log, id + 1, "AKIAX0000000000001"), -ENOENT);
	assert_int_equal(akr_statelog_mark_created(log, id, "AKIA\\X"), -EINVAL);
	assert_int_equal(akr_statelog_mark_done(log, 999), -ENOENT);
	assert_int_equal(akr_statelog_record_last_run(log, T0, "r", "a\r\n"), -EINVAL);
	assert_int_equal(akr_statelog_record_deleted(log, T0, ACC, "alice", ""), -EINVAL);
	after = testutil_slurp(c->path);
	assert_string_equal(before, after);

	assert_int_equal(akr_statelog_mark_created(log, id, "AKIAX0000000000001"), 0);
	assert_int_equal(akr_statelog_mark_created(log, id, "AKIAX0000000000002"), -EEXIST);
	akr_statelog_free(log);
}

static void test_deleted_forgets(void **state)
{
	struct testutil_tmpdir *c = *state;
	struct akr_statelog *log = open_ok(c);

	assert_int_equal(akr_statelog_record_deactivated(log, T0, ACC, "u", "AKIAK0000000000001"), 0);
	assert_int_equal(akr_statelog_record_reminded(log, T0, ACC, "u", "AKIAK0000000000001"), 0);
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIAK0000000000001"), T0);
	assert_int_equal(akr_statelog_record_deleted(log, T0 + 1, ACC, "u", "AKIAK0000000000001"),
			 0);
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIAK0000000000001"), 0);
	assert_false(akr_statelog_reminded(log, ACC, "AKIAK0000000000001"));
	/* Deleting a key we never knew is fine (initial cleanup). */
	assert_int_equal(akr_statelog_record_deleted(log, T0 + 1, ACC, "u", "AKIAZ0000000000001"),
			 0);
	akr_statelog_free(log);
	log = open_ok(c);
	assert_int_equal(akr_statelog_deactivated_at(log, ACC, "AKIAK0000000000001"), 0);
	assert_false(akr_statelog_reminded(log, ACC, "AKIAK0000000000001"));
	assert_int_equal(akr_statelog_n_records(log), 1);
	akr_statelog_free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_and_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_intents_after_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_threshold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_and_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_forgets, setup, teardown),
	};

	akr_log_setup(AKR_LOG_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
