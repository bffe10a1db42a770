/* SPDX-License-Identifier: MIT */
/* How long the daily bills and reports are kept ([reconcile] keep_days). */
#pragma once

#include <time.h>

/*
 * Removes from dir (borrowed) the stored bill "yyyy-MM-dd.csv.zip" and report
 * "yyyy-MM-dd.json" of every day more than keep_days before the UTC+8 day of now; other files
 * are left alone. keep_days 0 keeps everything. Returns the number of files removed or -errno.
 */
int reconcile_prune(const char *dir, time_t now, unsigned keep_days);
