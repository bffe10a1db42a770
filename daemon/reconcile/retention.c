/* SPDX-License-Identifier: MIT */
/* How long the daily bills and reports are kept. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/reconcile/retention.h"

#define DAY_SEC (24 * 60 * 60)

/* The day of a stored file's name, or -1 when the name is not one of ours. */
static int
stored_day(const char *name, time_t *ret)
{
	char date[BEIJING_DATE_BUF];
	size_t len = strlen(name);

	if (len < 10 || (!STR_EQ(name + 10, ".json") && !STR_EQ(name + 10, ".csv.zip")))
		return -1;
	memcpy(date, name, 10);
	date[10] = '\0';
	return beijing_parse_date(date, ret) < 0 ? -1 : 0;
}

int
reconcile_prune(const char *dir, time_t now, unsigned keep_days)
{
	char today[BEIJING_DATE_BUF];
	time_t day0, day;
	struct dirent *de;
	int removed = 0, dfd;
	DIR *d;

	if (keep_days == 0)
		return 0;
	if (!beijing_format_date(now, 1, today) || beijing_parse_date(today, &day0) < 0)
		return -EINVAL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return log_error_errno(errno, "Failed to open %s: %m", dir);
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return log_error_errno(errno, "Failed to read %s: %m", dir);
	}
	while ((de = readdir(d))) {
		if (stored_day(de->d_name, &day) < 0 || day >= day0 - (time_t)keep_days * DAY_SEC)
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0)
			log_warning_errno(errno, "Failed to remove %s/%s: %m", dir, de->d_name);
		else
			removed++;
	}
	closedir(d);
	if (removed > 0)
		log_info("Removed %d reconciliation file%s older than %u days from %s", removed,
			 removed == 1 ? "" : "s", keep_days, dir);
	return removed;
}
