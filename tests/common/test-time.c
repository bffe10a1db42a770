/* SPDX-License-Identifier: MIT */
/* UTC+8 formatting and parsing, independent of the process time zone. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/time-util.h"
#include "test.h"

static void
check_all(void)
{
	char buf[BEIJING_TIME_BUF], d[BEIJING_DATE_BUF];
	time_t t;

	/* 2026-11-26 05:41:25 UTC is 13:41:25 in Beijing. */
	CHECK_STR_EQ(beijing_format_time(1795671685, buf), "2026-11-26 13:41:25");
	CHECK_STR_EQ(beijing_format_time(0, buf), "1970-01-01 08:00:00");
	/* 16:00 UTC crosses into the next Beijing day. */
	CHECK_STR_EQ(beijing_format_time(1795651200 + 16 * 3600, buf), "2026-11-27 00:00:00");
	CHECK_STR_EQ(beijing_format_date(1795651200 + 16 * 3600, 1, d), "2026-11-27");
	CHECK_STR_EQ(beijing_format_date(1795651200 + 16 * 3600 - 1, 0, d), "20261126");
	CHECK_STR_EQ(beijing_format_time(951782400 + 4 * 3600, buf), "2000-02-29 12:00:00");

	CHECK_INT_EQ(beijing_parse_time("2026-11-26 13:41:25", &t), 0);
	CHECK_INT_EQ(t, 1795671685);
	CHECK_INT_EQ(beijing_parse_date("2026-11-27", &t), 0);
	CHECK_INT_EQ(t, 1795651200 + 16 * 3600);
	CHECK_INT_EQ(beijing_parse_time("2026-11-26 13:41:2", &t), -EINVAL);
	CHECK_INT_EQ(beijing_parse_time("2026-11-26T13:41:25", &t), -EINVAL);
	CHECK_INT_EQ(beijing_parse_time("2026-11-26 24:00:00", &t), -EINVAL);
	CHECK_INT_EQ(beijing_parse_time("2026-02-29 00:00:00", &t), -EINVAL);
	CHECK_INT_EQ(beijing_parse_time("2024-02-29 00:00:00", &t), 0);
	CHECK_INT_EQ(beijing_parse_time("2026-13-01 00:00:00", &t), -EINVAL);
	CHECK_INT_EQ(beijing_parse_time("2026-11-26 13:41:25x", &t), -EINVAL);
	CHECK_INT_EQ(beijing_parse_date("2026-1-01", &t), -EINVAL);

	/* Round trip. */
	for (time_t x = 0; x < 4102444800; x += 86400 * 37 + 3671) {
		time_t back;
		CHECK_INT_EQ(beijing_parse_time(beijing_format_time(x, buf), &back), 0);
		CHECK_INT_EQ(back, x);
	}
}

int
main(void)
{
	/* The result must not depend on TZ (doc/protocol.md §2, §9). */
	static const char *zones[] = {"UTC", "America/New_York", "Asia/Shanghai", "Pacific/Chatham",
				      "Europe/Berlin"};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		setenv("TZ", zones[i], 1);
		tzset();
		check_all();
	}
	return 0;
}
