/* SPDX-License-Identifier: MIT */
/* doc/screens/ holds a 1024x600 picture of every screen, and its QR still scans. */
#include <stdio.h>
#include <stdlib.h>

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

int
main(int argc, char **argv)
{
	CHECK(argc == 2);
	for (int k = 0; k < _DISPLAY_SCREEN_MAX; k++)
		check_png(argv[1], display_screen_kind_to_string(k),
			  k == DISPLAY_SCREEN_QR ? test_qr_texts[0] : NULL);
	check_png(argv[1], "failed-code-expired", NULL);
	return 0;
}
