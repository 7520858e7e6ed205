#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/delivery/password.h"
#include "lib/base/secret.h"

static void test_default_length(void **state)
{
	_cleanup_secret_ struct akr_secret *p = NULL;

	assert_int_equal(akr_password_generate(0, &p), 0);
	assert_non_null(p);
	assert_int_equal(p->len, 24);
	assert_int_equal(strlen(akr_secret_str(p)), 24);
}

static void test_lengths(void **state)
{
	static const size_t ok[] = { 20, 21, 24, 64, 128 };
	struct akr_secret *p = NULL;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(akr_password_generate(ok[i], &p), 0);
		assert_int_equal(p->len, ok[i]);
		assert_int_equal(strlen(akr_secret_str(p)), ok[i]);
		p = akr_secret_free(p);
	}
	assert_int_equal(akr_password_generate(19, &p), -EINVAL);
	assert_int_equal(akr_password_generate(1, &p), -EINVAL);
	assert_int_equal(akr_password_generate(129, &p), -EINVAL);
	assert_null(p);
}

static void test_alphabet_unambiguous_and_safe(void **state)
{
	const char *a = akr_password_alphabet();
	bool upper = false, lower = false, digit = false, symbol = false;

	/* Confusable characters and anything a shell, cmd.exe, 7-Zip or a mail
	 * client would interpret. */
	for (const char *bad = "0Oo1lI \t\r\n\"'`\\$!&|;<>()[]{}*?#~^%=,@/"; *bad; bad++)
		assert_null(strchr(a, *bad));
	for (const char *c = a; *c; c++) {
		assert_null(strchr(c + 1, *c)); /* no duplicates: no hidden bias */
		if (*c >= 'A' && *c <= 'Z')
			upper = true;
		else if (*c >= 'a' && *c <= 'z')
			lower = true;
		else if (*c >= '0' && *c <= '9')
			digit = true;
		else
			symbol = true;
	}
	assert_true(upper && lower && digit && symbol);
	assert_true(strlen(a) >= 55);
}

static void test_every_class_and_alphabet(void **state)
{
	const char *a = akr_password_alphabet();

	for (int i = 0; i < 300; i++) {
		_cleanup_secret_ struct akr_secret *p = NULL;
		bool upper = false, lower = false, digit = false, symbol = false;

		assert_int_equal(akr_password_generate(20, &p), 0);
		for (const char *c = akr_secret_str(p); *c; c++) {
			assert_non_null(strchr(a, *c));
			if (*c >= 'A' && *c <= 'Z')
				upper = true;
			else if (*c >= 'a' && *c <= 'z')
				lower = true;
			else if (*c >= '0' && *c <= '9')
				digit = true;
			else
				symbol = true;
		}
		assert_true(upper && lower && digit && symbol);
	}
}

static void test_unique_and_uniform(void **state)
{
	enum { N = 1000 };
	const char *a = akr_password_alphabet();
	size_t n_alpha = strlen(a);
	struct akr_secret *all[N];
	unsigned counts[256] = { 0 };
	size_t total = 0;

	for (int i = 0; i < N; i++) {
		assert_int_equal(akr_password_generate(0, &all[i]), 0);
		for (const char *c = akr_secret_str(all[i]); *c; c++) {
			counts[(unsigned char)*c]++;
			total++;
		}
		for (int j = 0; j < i; j++)
			assert_string_not_equal(akr_secret_str(all[i]), akr_secret_str(all[j]));
	}
	/* Every character turns up, none wildly more often than the others
	 * (24000 draws over ~61 characters: ~390 each; the class constraint
	 * only nudges symbols and digits a little). */
	for (size_t k = 0; k < n_alpha; k++) {
		unsigned c = counts[(unsigned char)a[k]];
		double expect = (double)total / (double)n_alpha;
		assert_true(c > expect * 0.6);
		assert_true(c < expect * 1.6);
	}
	for (int i = 0; i < N; i++)
		akr_secret_free(all[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_length),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_alphabet_unambiguous_and_safe),
		cmocka_unit_test(test_every_class_and_alphabet),
		cmocka_unit_test(test_unique_and_uniform),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
