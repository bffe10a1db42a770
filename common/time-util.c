/* SPDX-License-Identifier: MIT */
/* Time helpers: monotonic/realtime usec and UTC+8 civil time without the C library's TZ. */
#include <errno.h>
#include <sys/timex.h>

#include "common/time-util.h"

usec_t
now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's civil algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int *ry, unsigned *rm, unsigned *rd)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	*ry = (int)(y + (m <= 2));
	*rm = m;
	*rd = d;
}

static void
beijing_split(time_t t, int *y, unsigned *mo, unsigned *d, unsigned *h, unsigned *mi, unsigned *s)
{
	int64_t local = (int64_t)t + BEIJING_OFFSET_SEC;
	int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	int64_t secs = local - days * 86400;

	civil_from_days(days, y, mo, d);
	*h = (unsigned)(secs / 3600);
	*mi = (unsigned)(secs / 60 % 60);
	*s = (unsigned)(secs % 60);
}

/* Writes n decimal digits of v (zero-padded) and returns the position after them. */
static char *
put_digits(char *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

char *
beijing_format_time(time_t t, char buf[static BEIJING_TIME_BUF])
{
	unsigned mo, d, h, mi, s;
	char *p = buf;
	int y;

	beijing_split(t, &y, &mo, &d, &h, &mi, &s);
	p = put_digits(p, (unsigned)y, 4);
	*p++ = '-';
	p = put_digits(p, mo, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = ' ';
	p = put_digits(p, h, 2);
	*p++ = ':';
	p = put_digits(p, mi, 2);
	*p++ = ':';
	p = put_digits(p, s, 2);
	*p = 0;
	return buf;
}

char *
beijing_format_date(time_t t, int dash, char buf[static BEIJING_DATE_BUF])
{
	unsigned mo, d, h, mi, s;
	char *p = buf;
	int y;

	beijing_split(t, &y, &mo, &d, &h, &mi, &s);
	p = put_digits(p, (unsigned)y, 4);
	if (dash)
		*p++ = '-';
	p = put_digits(p, mo, 2);
	if (dash)
		*p++ = '-';
	p = put_digits(p, d, 2);
	*p = 0;
	return buf;
}

static int
parse_digits(const char *s, int n, unsigned *ret)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

static int
days_in_month(unsigned y, unsigned m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

static int
parse_date_part(const char *s, unsigned *y, unsigned *mo, unsigned *d)
{
	if (parse_digits(s, 4, y) < 0 || s[4] != '-' || parse_digits(s + 5, 2, mo) < 0 ||
	    s[7] != '-' || parse_digits(s + 8, 2, d) < 0)
		return -EINVAL;
	if (*y < 1970 || *mo < 1 || *mo > 12 || *d < 1 || (int)*d > days_in_month(*y, *mo))
		return -EINVAL;
	return 0;
}

int
beijing_parse_date(const char *s, time_t *ret)
{
	unsigned y, mo, d;

	if (!s || parse_date_part(s, &y, &mo, &d) < 0 || s[10])
		return -EINVAL;
	*ret = (time_t)(days_from_civil(y, mo, d) * 86400 - BEIJING_OFFSET_SEC);
	return 0;
}

int
beijing_parse_time(const char *s, time_t *ret)
{
	unsigned y, mo, d, h, mi, sec;

	if (!s || parse_date_part(s, &y, &mo, &d) < 0 || s[10] != ' ' ||
	    parse_digits(s + 11, 2, &h) < 0 || s[13] != ':' || parse_digits(s + 14, 2, &mi) < 0 ||
	    s[16] != ':' || parse_digits(s + 17, 2, &sec) < 0 || s[19])
		return -EINVAL;
	if (h > 23 || mi > 59 || sec > 59)
		return -EINVAL;
	*ret = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
			BEIJING_OFFSET_SEC);
	return 0;
}

int
clock_is_synchronized(void)
{
	struct timex tx = {.modes = 0}; /* read only: needs no privilege */

	if (adjtimex(&tx) < 0)
		return -errno;
	return (tx.status & STA_UNSYNC) ? 0 : 1;
}
