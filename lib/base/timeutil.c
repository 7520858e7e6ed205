#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/timeutil.h"

/* Howard Hinnant's days_from_civil / civil_from_days: exact for every
 * proleptic Gregorian date, no time zone, no table. */
int64_t akr_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void akr_civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
	int64_t era, doe, yoe, y, doy, mp;
	unsigned d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*ret_y = y + (m <= 2);
	*ret_m = m;
	*ret_d = d;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static int parse_digits(const char **p, unsigned n, unsigned *ret)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(c - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

int akr_time_parse_iso8601(const char *s, int64_t *ret_sec)
{
	unsigned y, mo, d, h, mi, se;
	const char *p = s;

	if (!s)
		return -EINVAL;
	if (parse_digits(&p, 4, &y) < 0 || *p++ != '-' || parse_digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || parse_digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (parse_digits(&p, 2, &h) < 0 || *p++ != ':' || parse_digits(&p, 2, &mi) < 0 ||
	    *p++ != ':' || parse_digits(&p, 2, &se) < 0)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		;
	else if (strcmp(p, "+00:00") == 0)
		;
	else
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	*ret_sec = akr_days_from_civil(y, mo, d) * AKR_SEC_PER_DAY + h * 3600 + mi * 60 + se;
	return 0;
}

static void split(int64_t sec, int64_t *y, unsigned *mo, unsigned *d, unsigned *h, unsigned *mi,
		  unsigned *s)
{
	int64_t days = sec / AKR_SEC_PER_DAY, rem = sec % AKR_SEC_PER_DAY;

	if (rem < 0) {
		rem += AKR_SEC_PER_DAY;
		days--;
	}
	akr_civil_from_days(days, y, mo, d);
	*h = (unsigned)(rem / 3600);
	*mi = (unsigned)(rem % 3600 / 60);
	*s = (unsigned)(rem % 60);
}

const char *akr_time_format_iso8601(int64_t sec, char *buf, size_t size)
{
	int64_t y;
	unsigned mo, d, h, mi, s;

	split(sec, &y, &mo, &d, &h, &mi, &s);
	(void)snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, mo, d, h, mi, s);
	return buf;
}

const char *akr_time_format_date(int64_t sec, char *buf, size_t size)
{
	int64_t y;
	unsigned mo, d, h, mi, s;

	split(sec, &y, &mo, &d, &h, &mi, &s);
	(void)snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, mo, d);
	return buf;
}

const char *akr_time_format_amz(int64_t sec, char *buf, size_t size)
{
	int64_t y;
	unsigned mo, d, h, mi, s;

	split(sec, &y, &mo, &d, &h, &mi, &s);
	(void)snprintf(buf, size, "%04lld%02u%02uT%02u%02u%02uZ", (long long)y, mo, d, h, mi, s);
	return buf;
}

int64_t akr_time_days_between(int64_t from_sec, int64_t to_sec)
{
	int64_t diff = to_sec - from_sec;

	if (diff >= 0)
		return diff / AKR_SEC_PER_DAY;
	return -((-diff + AKR_SEC_PER_DAY - 1) / AKR_SEC_PER_DAY);
}
