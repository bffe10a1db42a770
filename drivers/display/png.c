/* SPDX-License-Identifier: MIT */
/* PNG output for kiosks and tests: written beside the target, then renamed over it. */
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/macro.h"
#include "drivers/display/display-private.h"

#define PNG_PATH_MAX 4096

void
display_png_buf_free(struct display_png_buf *b)
{
	free(b->rgb);
	*b = (struct display_png_buf){0};
}

/*
 * cairo_surface_write_to_png() compresses hard: ~100 ms for 1920x1080 here, long enough to
 * delay the event loop. libpng's fast setting writes the same pixels in a fraction of that.
 * Converts into b's RGB rows (3 bytes per pixel), grown as needed; -ENOMEM or 0.
 */
static int
surface_to_rgb(cairo_surface_t *s, int w, int h, struct display_png_buf *b)
{
	const uint8_t *src = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	size_t size = (size_t)w * (size_t)h * 3;
	uint8_t *o;

	if (!src)
		return -ENOMEM;
	if (b->size < size) {
		display_png_buf_free(b);
		b->rgb = malloc(size);
		if (!b->rgb)
			return -ENOMEM;
		b->size = size;
	}
	o = b->rgb;
	for (int y = 0; y < h; y++) {
		const uint8_t *row = src + (size_t)y * (size_t)stride;
		for (int x = 0; x < w; x++) {
			uint32_t p;
			memcpy(&p, row + (size_t)x * 4, 4); /* native-endian 0x??RRGGBB */
			*o++ = (uint8_t)(p >> 16);
			*o++ = (uint8_t)(p >> 8);
			*o++ = (uint8_t)p;
		}
	}
	return 0;
}

int
display_png_write(cairo_surface_t *surface, const char *path, struct display_png_buf *b)
{
	char tmp[PNG_PATH_MAX];
	png_image image = {.version = PNG_IMAGE_VERSION};
	cairo_format_t fmt = cairo_image_surface_get_format(surface);
	int w = cairo_image_surface_get_width(surface), h = cairo_image_surface_get_height(surface);
	int fd, r;
	FILE *f;

	if (fmt != CAIRO_FORMAT_RGB24 && fmt != CAIRO_FORMAT_ARGB32)
		return -EINVAL;
	r = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (r < 0 || (size_t)r >= sizeof(tmp))
		return -ENAMETOOLONG;
	cairo_surface_flush(surface);
	r = surface_to_rgb(surface, w, h, b);
	if (r < 0)
		return r;

	/* A reader (kiosk browser, test) sees the old file or the new one, never half of one. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "we");
	if (!f) {
		r = -errno;
		close(fd);
		goto fail;
	}
	image.width = (png_uint_32)w;
	image.height = (png_uint_32)h;
	image.format = PNG_FORMAT_RGB;
	image.flags = PNG_IMAGE_FLAG_FAST;
	if (!png_image_write_to_stdio(&image, f, 0, b->rgb, w * 3, NULL)) {
		png_image_free(&image);
		fclose(f);
		r = -EIO;
		goto fail;
	}
	if (fchmod(fd, 0644) < 0) {
		r = -errno;
		fclose(f);
		goto fail;
	}
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	return r;
}
