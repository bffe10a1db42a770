/* SPDX-License-Identifier: MIT */
/* Time in microseconds, and Beijing time (UTC+8) formatting that ignores TZ. */
#pragma once

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_PER_SEC  UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_INFINITY UINT64_MAX

/* Beijing is UTC+8 all year (doc/protocol.md §2: timestamps are Beijing time whatever the host TZ).
 */
#define BEIJING_OFFSET_SEC (8 * 3600)

#define BEIJING_TIME_BUF 20 /* "yyyy-MM-dd HH:mm:ss" + NUL */
#define BEIJING_DATE_BUF 11 /* "yyyy-MM-dd" + NUL */

usec_t now_usec(clockid_t clock);

/*
 * doc/engine.md "Time": 1 when the kernel calls the system clock synchronized, 0 when
 * adjtimex() reports STA_UNSYNC (no NTP, or NTP has not set it yet: what `timedatectl` shows as
 * "System clock synchronized: no"), -errno when it cannot be read.
 */
int clock_is_synchronized(void);

/* Formats a Unix time as "yyyy-MM-dd HH:mm:ss" in UTC+8. Returns buf. */
char *beijing_format_time(time_t t, char buf[static BEIJING_TIME_BUF]);
/* Formats the UTC+8 date of t as "yyyy-MM-dd" (dash=1) or "yyyyMMdd" (dash=0). */
char *beijing_format_date(time_t t, int dash, char buf[static BEIJING_DATE_BUF]);
/* Parses "yyyy-MM-dd HH:mm:ss" (UTC+8) into a Unix time; -EINVAL if malformed or impossible. */
int beijing_parse_time(const char *s, time_t *ret);
/* Parses "yyyy-MM-dd" (UTC+8) into the Unix time of that day's 00:00:00 UTC+8. */
int beijing_parse_date(const char *s, time_t *ret);
