/* SPDX-License-Identifier: MIT */
/* Resident pages of read-only file mappings given back to the kernel's page cache. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Whether a line of /proc/self/maps (proc(5)) maps a file read-only and privately ("r--p" or
 * "r-xp": a library's code and constants, a font, the executable). 1 with its address range in
 * ret_lo and ret_hi and its path in ret_path (ret_len bytes, up to the end of the line), or 0.
 */
int pages_maps_line(const char *line, uint64_t *ret_lo, uint64_t *ret_hi, const char **ret_path,
		    size_t *ret_len);

/*
 * For every such mapping of this process that want accepts (NULL: all of them) and none of
 * whose pages was ever copied (smaps(5) "Anonymous: 0"), MADV_DONTNEED: its pages leave the
 * process and stay in the kernel's page cache, and the next access maps them again from there.
 * A mapping with a copied page is left alone, since the copy would be lost. How many mappings
 * were released, or -errno.
 */
int pages_release_clean(bool (*want)(const char *path, size_t len));
