/* SPDX-License-Identifier: MIT */
/* The PNG encoder (drivers/display/png-encode.c), read back by libpng: random and drawn
 * pixels of every shape round-trip exactly, the bound holds, sizes PNG cannot take are
 * refused, and a drawn screen is about as small as libpng's fast setting makes it. */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "display-test-util.h"
#include "drivers/display/display-private.h"
#include "test.h"

#define SENTINEL 64

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* Pixels of one kind: noise, few colours in runs, rows that repeat, flat, or all of them. */
static void
fill(uint8_t *rgb, uint32_t w, uint32_t h, int kind)
{
	uint32_t palette[4] = {rnd(), rnd(), rnd(), rnd()};
	size_t n = (size_t)w * h;

	for (size_t i = 0; i < n; i++) {
		uint32_t c;
		int k = kind == 4 ? (int)(i / w % 4) : kind;

		switch (k) {
		case 0:
			c = rnd();
			break;
		case 1:
			c = rnd() % 6 == 0 ? palette[rnd() % 4] : i > 0 ? 0 : palette[0];
			break;
		case 2:
			c = i >= w && rnd() % 8 != 0 ? 0 : palette[rnd() % 2];
			break;
		default:
			c = palette[0];
			break;
		}
		if (c == 0 && i > 0) { /* repeat: the pixel to the left, or the one above */
			const uint8_t *from = k == 2 ? rgb + (i - w) * 3 : rgb + (i - 1) * 3;
			memcpy(rgb + i * 3, from, 3);
		} else {
			rgb[i * 3] = (uint8_t)(c >> 16);
			rgb[i * 3 + 1] = (uint8_t)(c >> 8);
			rgb[i * 3 + 2] = (uint8_t)c;
		}
	}
}

/* Encodes w x h RGB pixels with the encoder; returns the PNG (malloc'd) and its length. */
static uint8_t *
encode(const uint8_t *rgb, uint32_t w, uint32_t h, size_t *len)
{
	size_t bound = display_png_bound(w, h), row = (size_t)w * 3;
	uint8_t *raw = malloc((row + 1) * h), *png = malloc(bound + SENTINEL);

	CHECK(bound > 0 && raw && png);
	for (uint32_t y = 0; y < h; y++) {
		raw[y * (row + 1)] = 0;
		memcpy(raw + y * (row + 1) + 1, rgb + y * row, row);
	}
	memset(png + bound, 0xa5, SENTINEL);
	*len = display_png_encode(raw, w, h, png);
	CHECK(*len > 0 && *len <= bound);
	for (size_t i = 0; i < SENTINEL; i++)
		CHECK(png[bound + i] == 0xa5);
	free(raw);
	return png;
}

/* libpng reads the PNG back: the same size, the same pixels. */
static void
check_decodes(const uint8_t *png, size_t len, const uint8_t *rgb, uint32_t w, uint32_t h)
{
	png_image img = {.version = PNG_IMAGE_VERSION};
	uint8_t *back;

	if (!png_image_begin_read_from_memory(&img, png, len)) {
		fprintf(stderr, "%ux%u: libpng: %s\n", w, h, img.message);
		abort();
	}
	CHECK_INT_EQ(img.width, w);
	CHECK_INT_EQ(img.height, h);
	img.format = PNG_FORMAT_RGB;
	back = malloc(PNG_IMAGE_SIZE(img));
	CHECK(back);
	if (!png_image_finish_read(&img, NULL, back, 0, NULL)) {
		fprintf(stderr, "%ux%u: libpng: %s\n", w, h, img.message);
		abort();
	}
	CHECK_MEM_EQ(back, (size_t)w * h * 3, rgb, (size_t)w * h * 3);
	free(back);
}

static void
round_trip(uint32_t w, uint32_t h, int kind)
{
	uint8_t *rgb = malloc((size_t)w * h * 3), *png;
	size_t len;

	CHECK(rgb);
	fill(rgb, w, h, kind);
	png = encode(rgb, w, h, &len);
	check_decodes(png, len, rgb, w, h);
	free(png);
	free(rgb);
}

static void
test_shapes(void)
{
	/* Small sides: matches that cross rows, rows shorter than a match, one pixel. */
	for (uint32_t w = 1; w <= 24; w++)
		for (uint32_t h = 1; h <= 12; h += 5)
			for (int kind = 0; kind <= 4; kind++)
				round_trip(w, h, kind);
	for (int i = 0; i < 200; i++)
		round_trip(1 + rnd() % 300, 1 + rnd() % 40, (int)(rnd() % 5));
	/* The configured sizes, and a row too far back for deflate's window (no match above). */
	round_trip(480, 320, 4);
	round_trip(4096, 3, 4);
	round_trip(10922, 2, 2); /* a row of 32,767 bytes: the farthest match above */
	round_trip(10923, 2, 2);
	round_trip(11000, 3, 4);
}

/* Nothing to encode, or more than PNG and the bound can hold here: refused, nothing written. */
static void
test_refused(void)
{
	uint8_t one[4] = {0, 1, 2, 3}, out[256];

	CHECK_INT_EQ(display_png_bound(0, 1), 0);
	CHECK_INT_EQ(display_png_bound(1, 0), 0);
	CHECK_INT_EQ(display_png_bound(65536, 1), 0);
	CHECK_INT_EQ(display_png_bound(1, 65536), 0);
	CHECK_INT_EQ(display_png_bound(65535, 65535), 0); /* over 1 GiB of rows */
	CHECK(display_png_bound(65535, 1) > 0);
	memset(out, 0, sizeof(out));
	CHECK_INT_EQ(display_png_encode(one, 0, 1, out), 0);
	CHECK_INT_EQ(display_png_encode(one, 1, 70000, out), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		CHECK(out[i] == 0);
}

/* A drawn screen: exact, and no more than twice the size of libpng's fast setting. */
static void
test_screen_size(void)
{
	struct display_renderer *r;
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 480, 320);
	struct display_screen scr = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
	png_image img = {.version = PNG_IMAGE_VERSION};
	const uint8_t *px;
	uint8_t *rgb, *png;
	size_t len, theirs = 0;
	int stride;

	CHECK(display_renderer_new(&r) == 0);
	CHECK(display_render(r, s, &scr, NULL) >= 0);
	cairo_surface_flush(s);
	px = cairo_image_surface_get_data(s);
	stride = cairo_image_surface_get_stride(s);
	rgb = malloc(480 * 320 * 3);
	CHECK(rgb);
	for (int y = 0; y < 320; y++)
		for (int x = 0; x < 480; x++) {
			uint32_t p;
			memcpy(&p, px + (size_t)y * (size_t)stride + (size_t)x * 4, 4);
			rgb[(y * 480 + x) * 3] = (uint8_t)(p >> 16);
			rgb[(y * 480 + x) * 3 + 1] = (uint8_t)(p >> 8);
			rgb[(y * 480 + x) * 3 + 2] = (uint8_t)p;
		}
	png = encode(rgb, 480, 320, &len);
	check_decodes(png, len, rgb, 480, 320);

	img.width = 480;
	img.height = 320;
	img.format = PNG_FORMAT_RGB;
	img.flags = PNG_IMAGE_FLAG_FAST;
	CHECK(png_image_write_to_memory(&img, NULL, &theirs, 0, rgb, 480 * 3, NULL));
	printf("480x320 QR screen: %zu bytes, libpng's fast setting %zu\n", len, theirs);
	CHECK(len <= theirs * 2);

	free(png);
	free(rgb);
	cairo_surface_destroy(s);
	display_renderer_free(r);
}

/* What the PNG display writes: the surface's pixels exactly, rows copied from the one above
 * included, at sizes whose rows are not a multiple of anything. */
static void
test_written(void)
{
	static const int sizes[][2] = {{480, 320}, {65, 64}, {1023, 77}};
	struct display_renderer *r;
	struct display_png_buf buf = {0};
	char dir[] = "/tmp/display-png-XXXXXX", path[64];

	CHECK(display_renderer_new(&r) == 0);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/screen.png", dir);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		for (int kind = DISPLAY_SCREEN_IDLE; kind < _DISPLAY_SCREEN_MAX; kind++) {
			int w = sizes[k][0], h = sizes[k][1];
			cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
			struct display_screen scr = test_screen(kind, test_qr_texts[0]);
			png_image img = {.version = PNG_IMAGE_VERSION};
			uint8_t *back;

			(void)display_render(r, s, &scr,
					     NULL); /* a QR too big for the size: a message */
			CHECK_INT_EQ(display_png_write(s, path, &buf), 0);
			CHECK(png_image_begin_read_from_file(&img, path));
			CHECK_INT_EQ(img.width, w);
			CHECK_INT_EQ(img.height, h);
			img.format = PNG_FORMAT_RGB;
			back = malloc(PNG_IMAGE_SIZE(img));
			CHECK(back && png_image_finish_read(&img, NULL, back, 0, NULL));
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++) {
					const uint8_t *p =
						back + ((size_t)y * (size_t)w + (size_t)x) * 3;
					CHECK_INT_EQ((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 |
							     p[2],
						     test_pixel_rgb(s, x, y));
				}
			free(back);
			cairo_surface_destroy(s);
		}
	display_png_buf_free(&buf);
	unlink(path);
	rmdir(dir);
	display_renderer_free(r);
}

int
main(void)
{
	test_shapes();
	test_refused();
	test_screen_size();
	test_written();
	printf("ok\n");
	return 0;
}
