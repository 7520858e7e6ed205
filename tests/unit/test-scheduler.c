/* The daily schedule: next run and missed runs, by pure UTC arithmetic. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/scheduler.h"
#include "lib/base/timeutil.h"

/* Seconds since the epoch of a UTC date and time. */
static int64_t at(int64_t y, unsigned mo, unsigned d, int h, int mi, int s)
{
	return akr_days_from_civil(y, mo, d) * AKR_SEC_PER_DAY + h * 3600 + mi * 60 + s;
}

#define HM(h, m) ((h) * 60 + (m))

static void test_next_same_day_and_next_day(void **state)
{
	(void)state;
	/* Before 13:00: today. */
	assert_int_equal(scheduler_next_run_sec(at(2026, 11, 26, 1, 57, 0), HM(13, 0)),
			 at(2026, 11, 26, 13, 0, 0));
	/* After 13:00: tomorrow. */
	assert_int_equal(scheduler_next_run_sec(at(2026, 11, 26, 13, 0, 1), HM(13, 0)),
			 at(2026, 11, 27, 13, 0, 0));
	assert_int_equal(scheduler_next_run_sec(at(2026, 11, 26, 23, 59, 59), HM(13, 0)),
			 at(2026, 11, 27, 13, 0, 0));
	/* One second before: still today. */
	assert_int_equal(scheduler_next_run_sec(at(2026, 11, 26, 12, 59, 59), HM(13, 0)),
			 at(2026, 11, 26, 13, 0, 0));
}

static void test_next_exactly_at_time_runs_now(void **state)
{
	int64_t t = at(2026, 11, 26, 13, 0, 0);

	(void)state;
	assert_int_equal(scheduler_next_run_sec(t, HM(13, 0)), t);
	/* A caller that just ran asks from now + 1: tomorrow. */
	assert_int_equal(scheduler_next_run_sec(t + 1, HM(13, 0)), t + AKR_SEC_PER_DAY);
	/* Within the scheduled minute but after its start: tomorrow. */
	assert_int_equal(scheduler_next_run_sec(t + 30, HM(13, 0)), t + AKR_SEC_PER_DAY);
}

static void test_next_month_year_ends_and_leap_days(void **state)
{
	(void)state;
	/* End of a 30-day month. */
	assert_int_equal(scheduler_next_run_sec(at(2026, 11, 30, 14, 0, 0), HM(13, 0)),
			 at(2026, 12, 1, 13, 0, 0));
	/* End of a 31-day month. */
	assert_int_equal(scheduler_next_run_sec(at(2026, 10, 31, 14, 0, 0), HM(13, 0)),
			 at(2026, 11, 1, 13, 0, 0));
	/* End of the year. */
	assert_int_equal(scheduler_next_run_sec(at(2026, 12, 31, 13, 30, 0), HM(13, 0)),
			 at(2027, 1, 1, 13, 0, 0));
	/* Leap year: 2028-02-28 -> 02-29, then 02-29 -> 03-01. */
	assert_int_equal(scheduler_next_run_sec(at(2028, 2, 28, 14, 0, 0), HM(13, 0)),
			 at(2028, 2, 29, 13, 0, 0));
	assert_int_equal(scheduler_next_run_sec(at(2028, 2, 29, 14, 0, 0), HM(13, 0)),
			 at(2028, 3, 1, 13, 0, 0));
	/* Not a leap year: 2027-02-28 -> 03-01; nor is 2100. */
	assert_int_equal(scheduler_next_run_sec(at(2027, 2, 28, 14, 0, 0), HM(13, 0)),
			 at(2027, 3, 1, 13, 0, 0));
	assert_int_equal(scheduler_next_run_sec(at(2100, 2, 28, 14, 0, 0), HM(13, 0)),
			 at(2100, 3, 1, 13, 0, 0));
	/* 2000 was one. */
	assert_int_equal(scheduler_next_run_sec(at(2000, 2, 28, 14, 0, 0), HM(13, 0)),
			 at(2000, 2, 29, 13, 0, 0));
}

static void test_next_edges_of_the_day(void **state)
{
	(void)state;
	/* 00:00: midnight UTC, the start of the next day. */
	assert_int_equal(scheduler_next_run_sec(at(2026, 12, 31, 23, 59, 0), HM(0, 0)),
			 at(2027, 1, 1, 0, 0, 0));
	assert_int_equal(scheduler_next_run_sec(at(2027, 1, 1, 0, 0, 0), HM(0, 0)),
			 at(2027, 1, 1, 0, 0, 0));
	/* 23:59: the last minute of the day. */
	assert_int_equal(scheduler_next_run_sec(at(2026, 12, 31, 0, 0, 0), HM(23, 59)),
			 at(2026, 12, 31, 23, 59, 0));
	assert_int_equal(scheduler_next_run_sec(at(2026, 12, 31, 23, 59, 1), HM(23, 59)),
			 at(2027, 1, 1, 23, 59, 0));
	/* The epoch itself. */
	assert_int_equal(scheduler_next_run_sec(0, HM(0, 0)), 0);
	assert_int_equal(scheduler_next_run_sec(0, HM(13, 0)), 13 * 3600);
}

static void test_next_invalid(void **state)
{
	(void)state;
	assert_int_equal(scheduler_next_run_sec(at(2026, 1, 1, 0, 0, 0), -1), -EINVAL);
	assert_int_equal(scheduler_next_run_sec(at(2026, 1, 1, 0, 0, 0), 1440), -EINVAL);
	assert_int_equal(scheduler_next_run_sec(-5, HM(13, 0)), -EINVAL);
}

static void test_next_ignores_tz(void **state)
{
	static const char *const zones[] = {
		"UTC", "Pacific/Chatham", "Asia/Kathmandu", "America/St_Johns",
		"Australia/Lord_Howe", "<-0930>9:30", "Europe/Berlin",
	};
	/* The night of a DST change in Berlin and an odd-offset zone. */
	int64_t now = at(2026, 3, 29, 0, 30, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		assert_int_equal(setenv("TZ", zones[i], 1), 0);
		tzset();
		assert_int_equal(scheduler_next_run_sec(now, HM(13, 0)), at(2026, 3, 29, 13, 0, 0));
		assert_int_equal(scheduler_next_run_sec(now, HM(1, 30)), at(2026, 3, 29, 1, 30, 0));
		assert_true(scheduler_missed_run(at(2026, 3, 27, 13, 0, 0), now, HM(13, 0)));
		assert_false(scheduler_missed_run(at(2026, 3, 28, 13, 0, 0), now, HM(13, 0)));
	}
	assert_int_equal(unsetenv("TZ"), 0);
	tzset();
}

static void test_missed_run(void **state)
{
	const int m = HM(13, 0);

	(void)state;
	/* Never ran: wait for the schedule, do not catch up. */
	assert_false(scheduler_missed_run(0, at(2026, 11, 26, 14, 0, 0), m));
	/* Ran yesterday at 13:00, now today 12:00: nothing due yet. */
	assert_false(scheduler_missed_run(at(2026, 11, 25, 13, 0, 0), at(2026, 11, 26, 12, 0, 0), m));
	/* Ran yesterday at 13:00, now today 14:00: today's 13:00 was missed. */
	assert_true(scheduler_missed_run(at(2026, 11, 25, 13, 0, 0), at(2026, 11, 26, 14, 0, 0), m));
	/* Down for a week: missed (caught up once; the caller runs once). */
	assert_true(scheduler_missed_run(at(2026, 11, 19, 13, 0, 0), at(2026, 11, 26, 9, 0, 0), m));
	/* Ran today at 13:00, now 13:05 (a restart right after): nothing missed. */
	assert_false(scheduler_missed_run(at(2026, 11, 26, 13, 0, 0), at(2026, 11, 26, 13, 5, 0), m));
	/* A manual --once at 12:00, restart at 14:00: 13:00 was missed. */
	assert_true(scheduler_missed_run(at(2026, 11, 26, 12, 0, 0), at(2026, 11, 26, 14, 0, 0), m));
	/* Now is exactly the scheduled instant: the timer runs it, not the catch-up. */
	assert_false(scheduler_missed_run(at(2026, 11, 25, 13, 0, 0), at(2026, 11, 26, 13, 0, 0), m));
	/* One second after it: missed. */
	assert_true(scheduler_missed_run(at(2026, 11, 25, 13, 0, 0), at(2026, 11, 26, 13, 0, 1), m));
	/* The last run in the future (clock went back): nothing. */
	assert_false(scheduler_missed_run(at(2026, 11, 27, 13, 0, 0), at(2026, 11, 26, 14, 0, 0), m));
	/* Across a year end and a leap day. */
	assert_true(scheduler_missed_run(at(2026, 12, 31, 13, 0, 0), at(2027, 1, 1, 13, 0, 1), m));
	assert_false(scheduler_missed_run(at(2028, 2, 28, 13, 0, 0), at(2028, 2, 29, 12, 59, 59), m));
	assert_true(scheduler_missed_run(at(2028, 2, 28, 13, 0, 0), at(2028, 2, 29, 13, 0, 1), m));
	/* Midnight schedule. */
	assert_true(scheduler_missed_run(at(2026, 12, 31, 0, 0, 0), at(2027, 1, 1, 0, 0, 1), 0));
	assert_false(scheduler_missed_run(at(2026, 12, 31, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), 0));
	/* Invalid minute: never. */
	assert_false(scheduler_missed_run(at(2026, 11, 19, 13, 0, 0), at(2026, 11, 26, 14, 0, 0), 1440));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_same_day_and_next_day),
		cmocka_unit_test(test_next_exactly_at_time_runs_now),
		cmocka_unit_test(test_next_month_year_ends_and_leap_days),
		cmocka_unit_test(test_next_edges_of_the_day),
		cmocka_unit_test(test_next_invalid),
		cmocka_unit_test(test_next_ignores_tz),
		cmocka_unit_test(test_missed_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
