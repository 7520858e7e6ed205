/* lib/base/array.c: growth by doubling, exact growth, overflow checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lib/base/array.h"

static void test_doubling(void **state)
{
	int *a = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		size_t before = cap;

		assert_int_equal(AKR_ARRAY_GROW(a, &cap, n, 1), 0);
		assert_true(cap > n);
		/* Capacity only changes when full, and then doubles (16 first). */
		if (n < before)
			assert_int_equal(cap, before);
		else
			assert_int_equal(cap, before ? before * 2 : 16);
		assert_int_equal(a[n], 0); /* zeroed */
		a[n++] = i;
	}
	for (int i = 0; i < 1000; i++)
		assert_int_equal(a[i], i);
	/* Room for many at once. */
	assert_int_equal(AKR_ARRAY_GROW(a, &cap, n, 5000), 0);
	assert_true(cap >= 6000);
	assert_int_equal(a[5999], 0);
	free(a);
}

static void test_exact(void **state)
{
	uint64_t *a = NULL;

	(void)state;
	assert_int_equal(AKR_ARRAY_GROW(a, NULL, 0, 0), 0); /* never a 0-byte realloc */
	assert_non_null(a);
	assert_int_equal(AKR_ARRAY_GROW(a, NULL, 0, 3), 0);
	a[0] = 1;
	a[1] = 2;
	a[2] = 3;
	assert_int_equal(AKR_ARRAY_GROW(a, NULL, 3, 2), 0);
	assert_true(a[0] == 1 && a[2] == 3 && a[3] == 0 && a[4] == 0);
	free(a);
}

static void test_overflow(void **state)
{
	uint64_t *a = NULL, *keep;
	size_t cap = 4;

	(void)state;
	assert_int_equal(AKR_ARRAY_GROW(a, &cap, 0, 4), 0);
	keep = a;
	/* n + n_more overflows; so does the byte count; so does doubling. */
	assert_int_equal(AKR_ARRAY_GROW(a, &cap, SIZE_MAX, 1), -ENOMEM);
	assert_int_equal(AKR_ARRAY_GROW(a, NULL, 1, SIZE_MAX / 8), -ENOMEM);
	assert_int_equal(AKR_ARRAY_GROW(a, &cap, 16, SIZE_MAX / 2), -ENOMEM);
	assert_int_equal(akr_array_grow((void **)&a, &cap, 16, 1, SIZE_MAX / 2), -ENOMEM);
	/* Failures leave the array as it was. */
	assert_ptr_equal(a, keep);
	assert_int_equal(cap, 16);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
