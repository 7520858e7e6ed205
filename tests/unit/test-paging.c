/* lib/base/seen.c and lib/aws/paging.c: "seen before?" for untrusted
 * strings, and the guard that ends a listing whose markers repeat or never
 * end (issue 10: endless pagination). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/aws/paging.h"
#include "lib/base/error.h"
#include "lib/base/seen.h"

static void test_seen_add_and_repeat(void **state)
{
	struct akr_seen s;
	char name[32];

	akr_seen_init(&s, 100000);
	for (int i = 0; i < 5000; i++) {
		(void)snprintf(name, sizeof(name), "user-%d", i);
		assert_int_equal(akr_seen_add(&s, name, strlen(name)), 1);
	}
	assert_int_equal(akr_seen_count(&s), 5000);
	for (int i = 0; i < 5000; i++) {
		(void)snprintf(name, sizeof(name), "user-%d", i);
		assert_true(akr_seen_contains(&s, name, strlen(name)));
		assert_int_equal(akr_seen_add(&s, name, strlen(name)), 0);
	}
	assert_false(akr_seen_contains(&s, "user-5000", 9));
	/* Length counts: a prefix is another string. */
	assert_int_equal(akr_seen_add(&s, "user-1", 5), 1);
	assert_int_equal(akr_seen_count(&s), 5001);
	akr_seen_done(&s);
	assert_int_equal(akr_seen_count(&s), 0);
	assert_false(akr_seen_contains(&s, "user-1", 6));
	akr_seen_done(&s);
}

static void test_seen_maximum(void **state)
{
	struct akr_seen s;

	akr_seen_init(&s, 3);
	assert_int_equal(akr_seen_add(&s, "a", 1), 1);
	assert_int_equal(akr_seen_add(&s, "b", 1), 1);
	assert_int_equal(akr_seen_add(&s, "c", 1), 1);
	assert_int_equal(akr_seen_add(&s, "d", 1), -E2BIG);
	/* A string already there is still recognised at the maximum. */
	assert_int_equal(akr_seen_add(&s, "b", 1), 0);
	assert_int_equal(akr_seen_count(&s), 3);
	akr_seen_done(&s);
}

static void test_seen_long_strings_cost_no_memory(void **state)
{
	/* A NextToken may be 100,000 characters: only its digest is kept. */
	size_t len = 100000;
	char *big = malloc(len);
	struct akr_seen s;

	assert_non_null(big);
	memset(big, 'x', len);
	akr_seen_init(&s, 10);
	assert_int_equal(akr_seen_add(&s, big, len), 1);
	big[len - 1] = 'y';
	assert_int_equal(akr_seen_add(&s, big, len), 1);
	assert_int_equal(akr_seen_add(&s, big, len), 0);
	assert_true(s.cap * sizeof(uint64_t) < 1024);
	akr_seen_done(&s);
	free(big);
}

static void test_paging_ends_normally(void **state)
{
	struct akr_paging p;
	struct akr_error err = { 0 };

	akr_paging_init(&p, "ListUsers", 0);
	assert_int_equal(p.max_pages, AKR_PAGING_MAX_PAGES);
	assert_int_equal(akr_paging_next(&p, "m1", &err), 0);
	assert_int_equal(akr_paging_next(&p, "m2", &err), 0);
	assert_int_equal(akr_paging_next(&p, NULL, &err), 0);
	assert_int_equal(p.pages, 3);
	assert_int_equal(err.kind, AKR_ERROR_NONE);
	akr_paging_done(&p);
}

static void test_paging_repeated_marker(void **state)
{
	struct akr_paging p;
	struct akr_error err = { 0 };

	/* The same marker again (the answer that always says "more" with one
	 * marker), and a cycle of several markers. */
	akr_paging_init(&p, "ListUsers", 0);
	assert_int_equal(akr_paging_next(&p, "same", &err), 0);
	assert_int_equal(akr_paging_next(&p, "same", &err), -ELOOP);
	assert_int_equal(err.kind, AKR_ERROR_PARSE);
	assert_int_equal(err.retry, AKR_RETRY_NONE);
	assert_string_equal(err.code, "EndlessPagination");
	assert_non_null(strstr(err.message, "ListUsers"));
	assert_non_null(strstr(err.message, "page 2"));
	akr_paging_done(&p);

	akr_error_clear(&err);
	akr_paging_init(&p, "ListAccounts", 0);
	assert_int_equal(akr_paging_next(&p, "a", &err), 0);
	assert_int_equal(akr_paging_next(&p, "b", &err), 0);
	assert_int_equal(akr_paging_next(&p, "c", &err), 0);
	assert_int_equal(akr_paging_next(&p, "a", &err), -ELOOP);
	assert_non_null(strstr(err.message, "ListAccounts"));
	akr_paging_done(&p);
}

static void test_paging_limit(void **state)
{
	struct akr_paging p;
	struct akr_error err = { 0 };
	char marker[32];
	int r = 0;
	size_t pages = 0;

	/* A new marker on every page: ended by the page limit. */
	akr_paging_init(&p, "ListUserTags", 0);
	while (r == 0 && pages < 2 * AKR_PAGING_MAX_PAGES) {
		(void)snprintf(marker, sizeof(marker), "m%zu", pages);
		r = akr_paging_next(&p, marker, &err);
		pages++;
	}
	assert_int_equal(r, -E2BIG);
	assert_int_equal(pages, AKR_PAGING_MAX_PAGES);
	assert_string_equal(err.code, "EndlessPagination");
	assert_non_null(strstr(err.message, "ListUserTags"));
	assert_non_null(strstr(err.message, "10000 pages"));
	akr_paging_done(&p);

	/* The last allowed page may end the listing. */
	akr_paging_init(&p, "ListAccessKeys", 3);
	assert_int_equal(akr_paging_next(&p, "x", NULL), 0);
	assert_int_equal(akr_paging_next(&p, "y", NULL), 0);
	assert_int_equal(akr_paging_next(&p, NULL, NULL), 0);
	akr_paging_done(&p);
	akr_paging_init(&p, "ListAccessKeys", 3);
	assert_int_equal(akr_paging_next(&p, "x", NULL), 0);
	assert_int_equal(akr_paging_next(&p, "y", NULL), 0);
	assert_int_equal(akr_paging_next(&p, "z", NULL), -E2BIG);
	akr_paging_done(&p);
}

static void test_paging_take_marker(void **state)
{
	struct akr_paging p;
	struct akr_error err = { 0 };
	char *marker = strdup("old"), *page_marker = strdup("m1");

	assert_non_null(marker);
	assert_non_null(page_marker);
	akr_paging_init(&p, "ListUserTags", 0);
	/* A truncated page: its marker moves over, the old one is freed. */
	assert_int_equal(akr_paging_take_marker(&p, &marker, true, &page_marker, &err), 0);
	assert_null(page_marker);
	assert_string_equal(marker, "m1");
	/* The same marker handed out again: the guard ends the listing. */
	page_marker = strdup("m1");
	assert_non_null(page_marker);
	assert_int_equal(akr_paging_take_marker(&p, &marker, true, &page_marker, &err), -ELOOP);
	assert_string_equal(err.code, "EndlessPagination");
	assert_non_null(strstr(err.message, "ListUserTags"));
	/* The last page: a marker it carries anyway is not followed. */
	page_marker = strdup("m2");
	assert_non_null(page_marker);
	assert_int_equal(akr_paging_take_marker(&p, &marker, false, &page_marker, &err), 0);
	assert_null(marker);
	assert_string_equal(page_marker, "m2");
	free(page_marker);
	assert_int_equal(p.pages, 3);
	akr_paging_done(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seen_add_and_repeat),
		cmocka_unit_test(test_seen_maximum),
		cmocka_unit_test(test_seen_long_strings_cost_no_memory),
		cmocka_unit_test(test_paging_ends_normally),
		cmocka_unit_test(test_paging_repeated_marker),
		cmocka_unit_test(test_paging_limit),
		cmocka_unit_test(test_paging_take_marker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
