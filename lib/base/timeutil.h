#pragma once
/* Wall-clock time helpers. Time is int64_t seconds since the epoch, UTC
 * (`_sec`); nothing here reads the clock or depends on the host's time zone. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AKR_SEC_PER_DAY INT64_C(86400)

/** Days since 1970-01-01 for a proleptic Gregorian date (month 1-12). */
int64_t akr_days_from_civil(int64_t y, unsigned m, unsigned d);
/** The inverse of akr_days_from_civil. */
void akr_civil_from_days(int64_t days, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d);

/** Parses ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z" (also "+00:00"); fractions
 * are dropped. Returns 0, or -EINVAL on anything else. */
int akr_time_parse_iso8601(const char *s, int64_t *ret_sec);
/** "YYYY-MM-DDTHH:MM:SSZ" into @buf (at least 21 bytes). */
const char *akr_time_format_iso8601(int64_t sec, char *buf, size_t size);
/** "YYYY-MM-DD" into @buf (at least 11 bytes). */
const char *akr_time_format_date(int64_t sec, char *buf, size_t size);
/** SigV4's "YYYYMMDDTHHMMSSZ" into @buf (at least 17 bytes). */
const char *akr_time_format_amz(int64_t sec, char *buf, size_t size);
/** Whole days from @from_sec to @to_sec, rounded down (negative if to < from). */
int64_t akr_time_days_between(int64_t from_sec, int64_t to_sec);
