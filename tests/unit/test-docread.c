/* lib/base/docread.c: what the JSON and XML readers share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/docread.h"
#include "lib/base/error.h"

static void test_path_is(void **state)
{
	const char *const names[] = { "Accounts", "[]", "Id" };

	(void)state;
	assert_true(akr_docread_path_is(names, 0, ""));
	assert_false(akr_docread_path_is(names, 1, ""));
	assert_true(akr_docread_path_is(names, 3, "Accounts/[]/Id"));
	assert_true(akr_docread_path_is(names, 3, "*/*/Id"));
	assert_true(akr_docread_path_is(names, 1, "Accounts"));
	/* Whole names only, and the whole depth. */
	assert_false(akr_docread_path_is(names, 1, "Account"));
	assert_false(akr_docread_path_is(names, 1, "Accountsx"));
	assert_false(akr_docread_path_is(names, 3, "Accounts/[]"));
	assert_false(akr_docread_path_is(names, 2, "Accounts/[]/Id"));
	assert_false(akr_docread_path_is(names, 3, "Accounts/*/Name"));
	assert_false(akr_docread_path_is(names, 3, "Accounts/**/Id"));
}

static void test_add_position(void **state)
{
	struct akr_error err = { 0 };

	(void)state;
	(void)snprintf(err.message, sizeof(err.message), "malformed JSON");
	akr_docread_add_position(&err, 3, 14);
	assert_string_equal(err.message, "malformed JSON at line 3, column 14");
	/* A full message stays terminated. */
	memset(err.message, 'x', sizeof(err.message) - 1);
	err.message[sizeof(err.message) - 1] = '\0';
	akr_docread_add_position(&err, 1, 1);
	assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
}

static void test_limit(void **state)
{
	(void)state;
	assert_int_equal(akr_docread_limit(0, 32), 32);
	assert_int_equal(akr_docread_limit(3, 32), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_is),
		cmocka_unit_test(test_add_position),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
