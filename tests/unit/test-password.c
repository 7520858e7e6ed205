#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
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
	static const size_t ok[] = { 23, 24, 64, 128 };
	struct akr_secret *p = NULL;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(akr_password_generate(ok[i], &p), 0);
		assert_int_equal(p->len, ok[i]);
		assert_int_equal(strlen(akr_secret_str(p)), ok[i]);
		p = akr_secret_free(p);
	}
	assert_int_equal(akr_password_generate(22, &p), -EINVAL);
	assert_int_equal(akr_password_generate(1, &p), -EINVAL);
	assert_int_equal(akr_password_generate(129, &p), -EINVAL);
	assert_null(p);
}

/* Issue 10: '.', ':', '-' and '+' end a double-click selection in mail
 * clients, and a password ending in '.' reads as the end of a sentence. */
static void test_alphabet_letters_and_digits_without_look_alikes(void **state)
{
	const char *a = akr_password_alphabet();

	for (const char *c = a; *c; c++) {
		assert_true((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
			    (*c >= '2' && *c <= '9'));
		assert_null(strchr(c + 1, *c)); /* no duplicates: no hidden bias */
	}
	for (const char *bad = "0Oo1lI"; *bad; bad++)
		assert_null(strchr(a, *bad));
	assert_int_equal(strlen(a), 56);
}

/* At least 128 bits: every character is drawn uniformly from the alphabet,
 * so a password of n characters carries n * log2(|alphabet|) bits. */
static void test_entropy_at_least_128_bits(void **state)
{
	double bits_per_char = log2((double)strlen(akr_password_alphabet()));

	assert_true(AKR_PASSWORD_MIN_LEN * bits_per_char >= 128.0);
	assert_true(AKR_PASSWORD_DEFAULT_LEN * bits_per_char >= 128.0);
	/* And the minimum is not larger than it needs to be. */
	assert_true((AKR_PASSWORD_MIN_LEN - 1) * bits_per_char < 128.0);
}

static void test_only_alphabet(void **state)
{
	const char *a = akr_password_alphabet();

	for (int i = 0; i < 300; i++) {
		_cleanup_secret_ struct akr_secret *p = NULL;

		assert_int_equal(akr_password_generate(0, &p), 0);
		for (const char *c = akr_secret_str(p); *c; c++)
			assert_non_null(strchr(a, *c));
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
	 * (24000 draws over 56 characters: ~430 each). */
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
		cmocka_unit_test(test_alphabet_letters_and_digits_without_look_alikes),
		cmocka_unit_test(test_entropy_at_least_128_bits),
		cmocka_unit_test(test_only_alphabet),
		cmocka_unit_test(test_unique_and_uniform),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
