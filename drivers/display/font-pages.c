/* SPDX-License-Identifier: MIT */
/* Lets go of the font files' pages that the font libraries keep mapped while the till is idle. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/log.h"
#include "common/macro.h"
#include "drivers/display/display-private.h"

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

int
display_maps_line_font(const char *line, uint64_t *ret_lo, uint64_t *ret_hi)
{
	char perms[5];
	uint64_t lo, hi;
	const char *path;
	size_t n;
	int off = 0;

	/* "lo-hi perms offset dev inode   path" (proc(5)). */
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %*s %*s %*s %n", &lo, &hi, perms, &off) !=
		    3 ||
	    off == 0 || hi <= lo)
		return 0;
	path = line + off;
	n = strcspn(path, "\n");
	/* Read-only private mappings only: their pages can never differ from the file's. */
	if (strcmp(perms, "r--p") != 0 || n == 0 || path[0] != '/')
		return 0;
	if (!ends_with(path, n, ".ttf") && !ends_with(path, n, ".ttc") &&
	    !ends_with(path, n, ".otf") && !ends_with(path, n, ".otc"))
		return 0;
	*ret_lo = lo;
	*ret_hi = hi;
	return 1;
}

int
display_font_pages_release(void)
{
	char line[4096 + 128];
	uint64_t lo = 0, hi = 0;
	bool font = false;
	FILE *f;
	int n = 0;

	/* smaps(5): each mapping's line as in maps, then its counters, "Anonymous:" among them. */
	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (display_maps_line_font(line, &lo, &hi)) {
			font = true;
			continue;
		}
		if (!font || strncmp(line, "Anonymous:", strlen("Anonymous:")) != 0)
			continue;
		font = false;
		/*
		 * A private file mapping none of whose pages was ever copied: MADV_DONTNEED only
		 * unmaps its pages, and the next read maps them again from the file (madvise(2)).
		 * They stay in the kernel's page cache, reclaimable, instead of in this process.
		 * One with a copied page is left alone: the copy would be lost.
		 */
		if (strtoull(line + strlen("Anonymous:"), NULL, 10) != 0)
			continue;
		if (madvise((void *)(uintptr_t)lo, (size_t)(hi - lo), MADV_DONTNEED) == 0)
			n++;
		else
			log_debug_errno(-errno, "display: madvise of a font's pages: %m");
	}
	fclose(f);
	return n;
}
