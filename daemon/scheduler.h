#pragma once
/* The daily schedule, as pure arithmetic: no clock reads, no time zones.
 * Times are seconds since the epoch, UTC (`_sec`); the schedule is a minute of
 * the UTC day (0..1439, rotator.conf's "schedule" as parsed by
 * akr_config_parse_time_of_day()). UTC has no DST, so the scheduled instant is
 * always exactly one day after the previous one, whatever $TZ says. */

#include <stdbool.h>
#include <stdint.h>

/** The first scheduled instant at or after @now_sec: when @now_sec is exactly
 * the start of the scheduled minute it is returned itself ("run now"); a
 * caller that has just run passes now + 1 to get tomorrow's instant.
 * @now_sec must be >= 0. Returns -EINVAL when @minute_of_day is not in
 * 0..1439 or @now_sec is negative. */
int64_t scheduler_next_run_sec(int64_t now_sec, int minute_of_day);

/** Whether a scheduled instant fell strictly after @last_run_sec and strictly
 * before @now_sec, i.e. a run was due while the daemon was not running and
 * should be caught up (once) at start-up. An instant exactly at @now_sec is
 * not "missed": scheduler_next_run_sec(now) returns it and the timer runs it.
 * @last_run_sec is the start time of the last sweep, 0 when there never was
 * one: then nothing is missed (a first start waits for the schedule). A
 * @last_run_sec in the future (the clock went back) misses nothing either.
 * False when @minute_of_day is not in 0..1439. */
bool scheduler_missed_run(int64_t last_run_sec, int64_t now_sec, int minute_of_day);
