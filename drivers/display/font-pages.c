/* SPDX-License-Identifier: MIT */
/* Lets go of the font files' pages that the font libraries keep mapped while the till is idle. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "common/pages.h"
#include "drivers/display/display-private.h"

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

static bool
is_font(const char *path, size_t n)
{
	return ends_with(path, n, ".ttf") || ends_with(path, n, ".ttc") ||
	       ends_with(path, n, ".otf") || ends_with(path, n, ".otc");
}

int
display_maps_line_font(const char *line, uint64_t *ret_lo, uint64_t *ret_hi)
{
	const char *path;
	size_t n;

	return pages_maps_line(line, ret_lo, ret_hi, &path, &n) && is_font(path, n);
}

int
display_font_pages_release(void)
{
	return pages_release_clean(is_font);
}
