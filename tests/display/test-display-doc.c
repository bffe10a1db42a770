/* SPDX-License-Identifier: MIT */
/* doc/screens/ holds a 1024x600 picture of every screen and the web display's pictures, and
 * their QRs still scan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "display-test-util.h"
#include "test.h"

static void
check_png(const char *dir, const char *name, const char *want_qr)
{
	char path[4096], *got = NULL;
	cairo_surface_t *s;

	snprintf(path, sizeof(path), "%s/%s.png", dir, name);
	s = cairo_image_surface_create_from_png(path);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		fprintf(stderr,
			"%s: missing or unreadable; regenerate with "
			"build/tests/display/display-screens doc/screens\n",
			path);
		abort();
	}
	CHECK_INT_EQ(cairo_image_surface_get_width(s), 1024);
	CHECK_INT_EQ(cairo_image_surface_get_height(s), 600);
	if (want_qr) {
		CHECK_INT_EQ(test_zbar_decode(s, &got), 1);
		CHECK_STR_EQ(got, want_qr);
		free(got);
	} else
		CHECK_INT_EQ(test_zbar_decode(s, NULL), 0);
	cairo_surface_destroy(s);
}

/* The web display's pictures (taken by the browser test): each size and a QR that scans. */
static void
check_web_png(const char *dir, const char *name, int w, int h, int with_qr)
{
	char path[4096], *got = NULL;
	cairo_surface_t *s;

	snprintf(path, sizeof(path), "%s/%s.png", dir, name);
	s = cairo_image_surface_create_from_png(path);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		fprintf(stderr,
			"%s: missing or unreadable; regenerate with "
			"tests/display/browser/test-web-display.py build --screens doc/screens\n",
			path);
		abort();
	}
	CHECK_INT_EQ(cairo_image_surface_get_width(s), w);
	CHECK_INT_EQ(cairo_image_surface_get_height(s), h);
	CHECK_INT_EQ(test_zbar_decode(s, &got), with_qr);
	if (with_qr)
		CHECK(strncmp(got, "https://qr.alipay.com/", 22) == 0);
	free(got);
	cairo_surface_destroy(s);
}

int
main(int argc, char **argv)
{
	CHECK(argc == 2);
	for (int k = 0; k < _DISPLAY_SCREEN_MAX; k++)
		check_png(argv[1], display_screen_kind_to_string(k),
			  k == DISPLAY_SCREEN_QR ? test_qr_texts[0] : NULL);
	check_png(argv[1], "failed-code-expired", NULL);
	check_web_png(argv[1], "web-qr-800x480", 800, 480, 1);
	check_web_png(argv[1], "web-qr-1024x600", 1024, 600, 1);
	check_web_png(argv[1], "web-qr-1920x1080", 1920, 1080, 1);
	check_web_png(argv[1], "web-qr-1080x1920", 1080, 1920, 1);
	check_web_png(argv[1], "web-failed-1024x600", 1024, 600, 0);
	return 0;
}
