/* lib/delivery/templates: loading email.template_directory — defaults for
 * absent files, "Subject:" + blank line + body (LF or CRLF), validation with
 * errors that name the file, the size limit. */
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

#include "lib/base/error.h"
#include "lib/delivery/delivery.h"
#include "lib/delivery/templates.h"
#include "tests/unit/testutil.h"

static char dir[] = "/tmp/akr-test-templates-XXXXXX";

static const char *const files[] = { "rotation.txt", "password.txt", "reminder.txt",
				     "deactivated.txt", "deleted.txt" };

static void put(const char *name, const char *text)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	testutil_write_file(path, text);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[256];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
		(void)rmdir(path);
	}
	return rmdir(dir);
}

/* Removes every template file between tests. */
static int clean(void **state)
{
	char path[256];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
		(void)rmdir(path);
	}
	return 0;
}

static void expect_load_error(int want, const char *needle)
{
	struct akr_delivery_templates *t = NULL;
	struct akr_error err = { 0 };

	assert_int_equal(akr_templates_load(dir, &t, &err), want);
	assert_null(t);
	testutil_assert_has(err.message, needle);
}

static void test_empty_directory_keeps_defaults(void **state)
{
	struct akr_delivery_templates *t = NULL;
	struct akr_error err = { 0 };

	(void)state;
	assert_int_equal(akr_templates_load(dir, &t, &err), 0);
	for (int k = 0; k < _AKR_MAIL_KIND_MAX; k++) {
		assert_ptr_equal(t->kind[k].subject, akr_delivery_default_template(k)->subject);
		assert_ptr_equal(t->kind[k].body, akr_delivery_default_template(k)->body);
	}
	/* The defaults are static: freeing must not touch them. */
	assert_null(akr_templates_free(t));
	assert_null(akr_templates_free(NULL));
}

static void test_files_replace_their_kind(void **state)
{
	struct akr_delivery_templates *t = NULL;
	struct akr_error err = { 0 };

	(void)state;
	put("reminder.txt", "Subject:   Key {access_key_id} expires\n\nHi {user},\nsee {deactivate_date}.\n");
	put("password.txt", "Subject: Password\r\n\r\nIt is:\r\n{password}\r\n");
	assert_int_equal(akr_templates_load(dir, &t, &err), 0);
	/* Leading blanks of the subject dropped; the body is all after the blank line. */
	assert_string_equal(t->kind[AKR_MAIL_REMINDER].subject, "Key {access_key_id} expires");
	assert_string_equal(t->kind[AKR_MAIL_REMINDER].body, "Hi {user},\nsee {deactivate_date}.\n");
	/* CRLF works like LF. */
	assert_string_equal(t->kind[AKR_MAIL_PASSWORD].subject, "Password");
	assert_string_equal(t->kind[AKR_MAIL_PASSWORD].body, "It is:\r\n{password}\r\n");
	/* The others keep their defaults. */
	assert_ptr_equal(t->kind[AKR_MAIL_ROTATION].body, akr_delivery_default_template(AKR_MAIL_ROTATION)->body);
	assert_ptr_equal(t->kind[AKR_MAIL_DELETED].subject, akr_delivery_default_template(AKR_MAIL_DELETED)->subject);
	akr_templates_free(t);
}

static void test_format_errors_name_the_file(void **state)
{
	(void)state;
	put("deleted.txt", "Hello {user}\n");
	expect_load_error(-EINVAL, "deleted.txt:1: the first line must be 'Subject: ...'");
	put("deleted.txt", "Subject: x\nHello {user}\n");
	expect_load_error(-EINVAL, "deleted.txt:2: a blank line must follow the subject");
	put("deleted.txt", "Subject: x");
	expect_load_error(-EINVAL, "deleted.txt:2: a blank line must follow the subject");
	put("deleted.txt", "");
	expect_load_error(-EINVAL, "deleted.txt:1:");
}

static void test_validation_errors_name_the_file(void **state)
{
	(void)state;
	/* {password} only in password.txt, and required there. */
	put("reminder.txt", "Subject: s\n\nYour password: {password}\n");
	expect_load_error(-EINVAL, "reminder.txt: ");
	clean(NULL);
	put("password.txt", "Subject: s\n\nno password here\n");
	expect_load_error(-EINVAL, "password.txt: ");
	clean(NULL);
	put("rotation.txt", "Subject: s\n\nHello {nobody}\n");
	expect_load_error(-EINVAL, "unknown placeholder '{nobody}'");
	clean(NULL);
	put("rotation.txt", "Subject: {password}\n\nHello\n");
	expect_load_error(-EINVAL, "rotation.txt: ");
	clean(NULL);
	put("rotation.txt", "Subject: a\tb\n\nHello\n");
	expect_load_error(-EINVAL, "rotation.txt: ");
}

static void test_limits_and_io_errors(void **state)
{
	char path[256], *big;

	(void)state;
	big = malloc(70 * 1024);
	assert_non_null(big);
	memcpy(big, "Subject: s\n\n", 12);
	memset(big + 12, 'a', 70 * 1024 - 13);
	big[70 * 1024 - 1] = '\0';
	put("deactivated.txt", big);
	free(big);
	expect_load_error(-EFBIG, "deactivated.txt: ");
	clean(NULL);
	/* A file that cannot be read (here: a directory) is an error naming it. */
	(void)snprintf(path, sizeof(path), "%s/rotation.txt", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_load_error(-EISDIR, "rotation.txt: ");
}

static void test_directory_errors(void **state)
{
	struct akr_delivery_templates *t = NULL;
	struct akr_error err = { 0 };
	char path[256];

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(akr_templates_load(path, &t, &err), -ENOENT);
	testutil_assert_has(err.message, path);
	assert_null(t);
	put("deleted.txt", "Subject: s\n\nHello\n");
	(void)snprintf(path, sizeof(path), "%s/deleted.txt", dir);
	assert_int_equal(akr_templates_load(path, &t, &err), -ENOTDIR);
	testutil_assert_has(err.message, path);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_empty_directory_keeps_defaults, clean),
		cmocka_unit_test_setup(test_files_replace_their_kind, clean),
		cmocka_unit_test_setup(test_format_errors_name_the_file, clean),
		cmocka_unit_test_setup(test_validation_errors_name_the_file, clean),
		cmocka_unit_test_setup(test_limits_and_io_errors, clean),
		cmocka_unit_test_setup(test_directory_errors, clean),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
