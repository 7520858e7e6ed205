/* lib/base/ratelimit.c: the token bucket and the adaptive rate, on a clock
 * the test moves by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/base/ratelimit.h"

static void test_token_bucket(void **state)
{
	struct akr_token_bucket b;

	(void)state;
	/* One token at first, then the rate, burst = rate. */
	akr_token_bucket_init(&b, 10, 1000);
	assert_true(akr_token_bucket_take(&b, 1000));
	assert_false(akr_token_bucket_take(&b, 1000));
	assert_int_equal(akr_token_bucket_wait_ms(&b, 1000), 100);
	assert_int_equal(akr_token_bucket_wait_ms(&b, 1050), 50);
	assert_true(akr_token_bucket_take(&b, 1100));
	assert_true(akr_token_bucket_wait_ms(&b, 60000) == 0);
	for (int i = 0; i < 10; i++)
		assert_true(akr_token_bucket_take(&b, 60000));
	assert_false(akr_token_bucket_take(&b, 60000));
	/* A slower rate keeps what was earned, up to its own burst. */
	akr_token_bucket_set_rate(&b, 0.5, 62000);
	assert_true(akr_token_bucket_take(&b, 62000));
	assert_false(akr_token_bucket_take(&b, 62000));
	assert_int_equal(akr_token_bucket_wait_ms(&b, 62000), 2000);
	/* 0, negative, NaN: unlimited. */
	akr_token_bucket_set_rate(&b, 0, 63000);
	assert_true(akr_token_bucket_take(&b, 63000));
	akr_token_bucket_set_rate(&b, NAN, 63000);
	assert_true(b.rate == 0);
	akr_token_bucket_set_rate(&b, -3, 63000);
	assert_int_equal(akr_token_bucket_wait_ms(&b, 63000), 0);
}

/* @n answers spread evenly over [@from_ms, @to_ms), none throttled. */
static void answers(struct akr_adaptive_rate *a, int64_t from_ms, int64_t to_ms, int n)
{
	for (int i = 0; i < n; i++)
		akr_adaptive_rate_record(a, false, from_ms + (to_ms - from_ms) * i / n);
}

static void test_unthrottled_runs_at_the_cap(void **state)
{
	struct akr_adaptive_rate a;

	(void)state;
	akr_adaptive_rate_init(&a, 0, 0);
	answers(&a, 0, 5000, 500);
	assert_true(akr_adaptive_rate_current(&a) == 0);
	assert_false(a.engaged);
	for (int i = 0; i < 1000; i++)
		assert_true(akr_adaptive_rate_take(&a, 5000));
	/* The measurement follows the answers: 100/s. */
	assert_true(fabs(a.measured_rate - 100.0) < 0.5);

	akr_adaptive_rate_init(&a, 4, 0);
	answers(&a, 0, 5000, 500);
	assert_true(akr_adaptive_rate_current(&a) == 4);
	akr_adaptive_rate_set_max(&a, 0, 5000);
	assert_true(akr_adaptive_rate_current(&a) == 0);
}

static void test_throttle_drops_to_beta_times_measured(void **state)
{
	struct akr_adaptive_rate a;
	double measured;

	(void)state;
	akr_adaptive_rate_init(&a, 0, 0);
	answers(&a, 0, 3000, 30); /* 10 answers/s */
	akr_adaptive_rate_record(&a, true, 3000);
	measured = a.measured_rate;
	assert_true(measured > 9.5 && measured < 10.5);
	assert_true(a.engaged);
	assert_true(fabs(akr_adaptive_rate_current(&a) - AKR_ADAPTIVE_BETA * measured) < 1e-9);
	/* The bucket now paces: one token, then one per 1/rate. */
	assert_true(akr_adaptive_rate_take(&a, 3000));
	assert_false(akr_adaptive_rate_take(&a, 3000));
	assert_int_equal(akr_adaptive_rate_wait_ms(&a, 3000),
			 (int64_t)ceil(1000.0 / akr_adaptive_rate_current(&a)));

	/* A second throttle takes what the bucket let through when that is
	 * less than what was measured. */
	{
		double before = akr_adaptive_rate_current(&a);

		akr_adaptive_rate_record(&a, true, 3001);
		assert_true(fabs(akr_adaptive_rate_current(&a) - AKR_ADAPTIVE_BETA * before) < 1e-9);
	}

	/* A throttle before anything was measured: the floor, not zero. */
	akr_adaptive_rate_init(&a, 0, 0);
	akr_adaptive_rate_record(&a, true, 10);
	assert_true(akr_adaptive_rate_current(&a) == AKR_ADAPTIVE_MIN_RATE);
}

static void test_cubic_growth(void **state)
{
	struct akr_adaptive_rate a;
	double w_max, k_sec, prev, r;
	int64_t t0 = 10000;

	(void)state;
	akr_adaptive_rate_init(&a, 0, 0);
	answers(&a, 0, t0, 200); /* 20 answers/s */
	akr_adaptive_rate_record(&a, true, t0);
	w_max = a.w_max;
	assert_true(w_max > 19.5 && w_max < 20.5);
	k_sec = cbrt(w_max * (1 - AKR_ADAPTIVE_BETA) / AKR_ADAPTIVE_SCALE);
	assert_true(fabs(a.k_sec - k_sec) < 1e-9);
	prev = akr_adaptive_rate_current(&a);

	/* The answers keep coming at 20/s: the curve, not the 2 × measured
	 * bound, sets the rate. It rises at every step, is back at w_max
	 * after k_sec and goes beyond. */
	for (int64_t dt = 50; dt <= 4000; dt += 50) {
		akr_adaptive_rate_record(&a, false, t0 + dt);
		r = akr_adaptive_rate_current(&a);
		double want = AKR_ADAPTIVE_SCALE * pow((double)dt / 1000.0 - k_sec, 3) + w_max;
		if (want < 2 * a.measured_rate)
			assert_true(fabs(r - want) < 1e-9);
		assert_true(r >= prev - 1e-9);
		prev = r;
	}
	assert_true(prev > w_max);
	/* Growth is bounded by twice the measured rate. */
	assert_true(prev <= AKR_ADAPTIVE_MAX_SCALE * a.measured_rate + 1e-9);
}

static void test_never_above_the_cap(void **state)
{
	struct akr_adaptive_rate a;

	(void)state;
	akr_adaptive_rate_init(&a, 8, 0);
	/* Answers at 30/s (another client of the same account, say), then a
	 * throttle: 0.7 × 30 = 21 is above the cap, so the cap holds. */
	answers(&a, 0, 3000, 90);
	akr_adaptive_rate_record(&a, true, 3000);
	assert_true(akr_adaptive_rate_current(&a) == 8);
	for (int64_t t = 3000; t < 120000; t += 50) {
		akr_adaptive_rate_record(&a, false, t);
		assert_true(akr_adaptive_rate_current(&a) <= 8);
		assert_true(akr_adaptive_rate_current(&a) >= AKR_ADAPTIVE_MIN_RATE);
	}
	/* Lowering the cap applies at once. */
	akr_adaptive_rate_set_max(&a, 2, 120000);
	assert_true(akr_adaptive_rate_current(&a) == 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_bucket),
		cmocka_unit_test(test_unthrottled_runs_at_the_cap),
		cmocka_unit_test(test_throttle_drops_to_beta_times_measured),
		cmocka_unit_test(test_cubic_growth),
		cmocka_unit_test(test_never_above_the_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
