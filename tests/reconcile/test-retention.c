/* SPDX-License-Identifier: MIT */
/* Tests of the retention of stored bills and reports ([reconcile] keep_days). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/reconcile/retention.h"
#include "test.h"

#define DAY_SEC (24 * 60 * 60)

static char dir[] = "/tmp/f2fpay-retention-XXXXXX";

static void
touch(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	CHECK(fd >= 0);
	close(fd);
}

static bool
exists(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* "yyyy-MM-dd" of the UTC+8 day `days` before now's, with suffix. */
static void
day_name(time_t now, int days, const char *suffix, char *buf, size_t size)
{
	char date[BEIJING_DATE_BUF];

	CHECK(beijing_format_date(now - (time_t)days * DAY_SEC, 1, date) != NULL);
	snprintf(buf, size, "%s%s", date, suffix);
}

int
main(void)
{
	/* Noon UTC+8, so that "n days before" never lands on a day boundary. */
	time_t now = 1764993600 + 4 * 3600; /* 2025-12-06 12:00 UTC+8 */
	static const int ages[] = {0, 1, 399, 400, 401, 1000};
	char json[6][32], zip[6][32];

	CHECK(mkdtemp(dir));
	for (size_t i = 0; i < ELEMENTSOF(ages); i++) {
		day_name(now, ages[i], ".json", json[i], sizeof(json[i]));
		day_name(now, ages[i], ".csv.zip", zip[i], sizeof(zip[i]));
		touch(json[i]);
		touch(zip[i]);
	}
	touch("notes.txt");
	touch("2020-13-45.json"); /* not a date: not ours to remove */
	touch(".2019-01-01.json.tmp");

	/* 0 keeps everything. */
	CHECK_INT_EQ(reconcile_prune(dir, now, 0), 0);
	CHECK(exists(json[5]));

	/* 400 days: the day 400 days back stays, older ones go, bill and report alike. */
	CHECK_INT_EQ(reconcile_prune(dir, now, 400), 4);
	for (size_t i = 0; i < ELEMENTSOF(ages); i++) {
		bool keep = ages[i] <= 400;
		CHECK(exists(json[i]) == keep);
		CHECK(exists(zip[i]) == keep);
	}
	CHECK(exists("notes.txt"));
	CHECK(exists("2020-13-45.json"));
	CHECK(exists(".2019-01-01.json.tmp"));

	/* Again: nothing more to remove. */
	CHECK_INT_EQ(reconcile_prune(dir, now, 400), 0);
	/* Shorter: only today and yesterday stay. */
	CHECK_INT_EQ(reconcile_prune(dir, now, 1), 4);
	CHECK(exists(json[0]) && exists(json[1]) && !exists(json[2]));

	CHECK(reconcile_prune("/nonexistent/f2fpay", now, 1) < 0);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK(system(cmd) == 0);
	}
	return 0;
}
