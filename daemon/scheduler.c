#include <errno.h>

#include "daemon/scheduler.h"
#include "lib/base/timeutil.h"

#define MINUTES_PER_DAY 1440

/* The scheduled instant of the UTC day that contains @sec (sec >= 0). */
static int64_t instant_of_day(int64_t sec, int minute_of_day)
{
	return sec - sec % AKR_SEC_PER_DAY + (int64_t)minute_of_day * 60;
}

int64_t scheduler_next_run_sec(int64_t now_sec, int minute_of_day)
{
	int64_t t;

	if (minute_of_day < 0 || minute_of_day >= MINUTES_PER_DAY || now_sec < 0)
		return -EINVAL;
	t = instant_of_day(now_sec, minute_of_day);
	return t >= now_sec ? t : t + AKR_SEC_PER_DAY;
}

bool scheduler_missed_run(int64_t last_run_sec, int64_t now_sec, int minute_of_day)
{
	int64_t prev;

	if (minute_of_day < 0 || minute_of_day >= MINUTES_PER_DAY || now_sec <= 0)
		return false;
	if (last_run_sec <= 0 || last_run_sec >= now_sec)
		return false;
	/* The latest scheduled instant strictly before now. */
	prev = instant_of_day(now_sec, minute_of_day);
	if (prev >= now_sec)
		prev -= AKR_SEC_PER_DAY;
	return prev > last_run_sec;
}
