/* SPDX-License-Identifier: MIT */
/* PNG output for kiosks and tests: encoded (png-encode.c), written beside the target, then
 * renamed over it. */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file-util.h"
#include "common/macro.h"
#include "drivers/display/display-private.h"

#define PNG_PATH_MAX 4096

void
display_png_buf_free(struct display_png_buf *b)
{
	free(b->raw);
	free(b->png);
	*b = (struct display_png_buf){0};
}

static int
grow(uint8_t **p, size_t *size, size_t want)
{
	if (*size >= want)
		return 0;
	free(*p);
	*size = 0;
	*p = malloc(want);
	if (!*p)
		return -ENOMEM;
	*size = want;
	return 0;
}

/* One pixel of cairo's native-endian 0x??RRGGBB as R, G, B at o, and a fourth byte after them
 * that the next pixel or row overwrites. */
static inline void
put_rgb(uint8_t *o, uint32_t p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint32_t v = __builtin_bswap32(p) >> 8; /* bytes R, G, B, 0 in memory */
	memcpy(o, &v, 4);
#else
	o[0] = (uint8_t)(p >> 16);
	o[1] = (uint8_t)(p >> 8);
	o[2] = (uint8_t)p;
	o[3] = 0;
#endif
}

/* Converts the surface's pixels into PNG rows in b->raw: each its filter byte (none) and the
 * row's RGB. A row the same as the one above (most of a screen's background) is copied. */
static int
surface_to_rows(cairo_surface_t *s, int w, int h, struct display_png_buf *b)
{
	const uint8_t *src = cairo_image_surface_get_data(s);
	size_t stride = (size_t)cairo_image_surface_get_stride(s), row = (size_t)w * 3 + 1;
	uint8_t *o;

	if (!src)
		return -ENOMEM;
	/* one byte more: the last pixel's put_rgb() */
	if (grow(&b->raw, &b->raw_size, row * (size_t)h + 1) < 0)
		return -ENOMEM;
	o = b->raw;
	for (int y = 0; y < h; y++, o += row) {
		const uint8_t *px = src + (size_t)y * stride;

		if (y > 0 && memcmp(px, px - stride, (size_t)w * 4) == 0) {
			memcpy(o, o - row, row);
			continue;
		}
		o[0] = 0;
		for (int x = 0; x < w; x++) {
			uint32_t p;
			memcpy(&p, px + (size_t)x * 4, 4);
			put_rgb(o + 1 + (size_t)x * 3, p);
		}
	}
	return 0;
}

int
display_png_write(cairo_surface_t *surface, const char *path, struct display_png_buf *b)
{
	char tmp[PNG_PATH_MAX];
	cairo_format_t fmt = cairo_image_surface_get_format(surface);
	int w = cairo_image_surface_get_width(surface), h = cairo_image_surface_get_height(surface);
	size_t bound = display_png_bound((uint32_t)w, (uint32_t)h), len;
	int r;

	if (fmt != CAIRO_FORMAT_RGB24 && fmt != CAIRO_FORMAT_ARGB32)
		return -EINVAL;
	if (bound == 0)
		return -E2BIG;
	r = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (r < 0 || (size_t)r >= sizeof(tmp))
		return -ENAMETOOLONG;
	cairo_surface_flush(surface);
	r = surface_to_rows(surface, w, h, b);
	if (r < 0 || (r = grow(&b->png, &b->png_size, bound)) < 0)
		return r;
	len = display_png_encode(b->raw, (uint32_t)w, (uint32_t)h, b->png);

	/* A reader (kiosk browser, test) sees the old file or the new one, never half of one. */
	r = file_write_temp(tmp, b->png, len, 0644, false);
	if (r == 0 && rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
	}
	return r;
}
