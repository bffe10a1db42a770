/* SPDX-License-Identifier: MIT */
/* Helpers for the display tests: zbar decoding of rendered pixels and pixel reads. */
#pragma once

#include <cairo.h>
#include <stdint.h>

#include "drivers/display/display.h"

/*
 * Decodes every QR symbol zbar finds on the surface (any format cairo can paint). Returns the
 * number of QR symbols; *ret_text (may be NULL) gets the first one's data, new, or NULL.
 */
int test_zbar_decode(cairo_surface_t *s, char **ret_text);

/* Same, from an 8-bit grey image (0 black, 255 white), width*height bytes, borrowed. */
int test_zbar_decode_gray(const uint8_t *gray, int width, int height, char **ret_text);

/* Grey level (0..255) of one pixel of an RGB24/ARGB32/RGB16_565 surface. */
int test_pixel_gray(cairo_surface_t *s, int x, int y);

/* 0xRRGGBB of one pixel (RGB16_565 widened). */
uint32_t test_pixel_rgb(cairo_surface_t *s, int x, int y);

/* Realistic precreate QR texts (doc/protocol.md §5.4), a NULL-terminated list. */
extern const char *const test_qr_texts[];

/* The resolutions the display must support (doc/design.md §10). */
struct test_resolution {
	int width, height;
};
extern const struct test_resolution test_resolutions[];
extern const unsigned test_resolutions_count;

/* A screen of each kind with realistic content, for kind k. */
struct display_screen test_screen(enum display_screen_kind k, const char *qr_text);
