/* SPDX-License-Identifier: MIT */
/* Resident pages of read-only file mappings given back to the kernel's page cache. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/log.h"
#include "common/pages.h"

int
pages_maps_line(const char *line, uint64_t *ret_lo, uint64_t *ret_hi, const char **ret_path,
		size_t *ret_len)
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
	/* Private and never writable: its pages can differ from the file's only where they were
	 * copied, which smaps tells. Shared mappings and anything not a file are left alone. */
	if ((strcmp(perms, "r--p") != 0 && strcmp(perms, "r-xp") != 0) || n == 0 || path[0] != '/')
		return 0;
	*ret_lo = lo;
	*ret_hi = hi;
	*ret_path = path;
	*ret_len = n;
	return 1;
}

int
pages_release_clean(bool (*want)(const char *path, size_t len))
{
	char line[4096 + 128];
	uint64_t lo = 0, hi = 0;
	const char *path;
	size_t len;
	bool pending = false;
	FILE *f;
	int n = 0;

	/* smaps(5): each mapping's line as in maps, then its counters, "Anonymous:" among them. */
	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (pages_maps_line(line, &lo, &hi, &path, &len)) {
			pending = !want || want(path, len);
			continue;
		}
		if (!pending || strncmp(line, "Anonymous:", strlen("Anonymous:")) != 0)
			continue;
		pending = false;
		/* A private file mapping none of whose pages was ever copied: MADV_DONTNEED only
		 * unmaps its pages (madvise(2)). */
		if (strtoull(line + strlen("Anonymous:"), NULL, 10) != 0)
			continue;
		if (madvise((void *)(uintptr_t)lo, (size_t)(hi - lo), MADV_DONTNEED) == 0)
			n++;
		else
			log_debug_errno(-errno, "madvise of a file mapping's pages: %m");
	}
	fclose(f);
	return n;
}
