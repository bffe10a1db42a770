/* SPDX-License-Identifier: MIT */
/* Writes every customer screen as a PNG: `display-screens OUTDIR [WIDTHxHEIGHT]`; doc/screens/ is
 * made with `build/tests/display/display-screens doc/screens` (1024x600). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "display-test-util.h"
#include "drivers/display/display-private.h"

int
main(int argc, char **argv)
{
	struct display_renderer *r;
	cairo_surface_t *s;
	int w = 1024, h = 600, failed = 0;

	if (argc < 2 || argc > 3 || (argc == 3 && sscanf(argv[2], "%dx%d", &w, &h) != 2)) {
		fprintf(stderr, "usage: %s OUTDIR [WIDTHxHEIGHT]\n", argv[0]);
		return 2;
	}
	if (display_renderer_new(&r) < 0)
		return 1;
	s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	for (int k = 0; k <= _DISPLAY_SCREEN_MAX; k++) {
		/* The last round is a second failure reason: the expired payment code. */
		enum display_screen_kind kind =
			k == _DISPLAY_SCREEN_MAX ? DISPLAY_SCREEN_FAILED : k;
		struct display_screen scr = test_screen(kind, test_qr_texts[0]);
		char path[4096];

		if (k == _DISPLAY_SCREEN_MAX) {
			scr.reason_code = "ACQ.PAYMENT_AUTH_CODE_INVALID";
			snprintf(path, sizeof(path), "%s/failed-code-expired.png", argv[1]);
		} else
			snprintf(path, sizeof(path), "%s/%s.png", argv[1],
				 display_screen_kind_to_string(kind));
		if (display_render(r, s, &scr, NULL) < 0 ||
		    cairo_surface_write_to_png(s, path) != CAIRO_STATUS_SUCCESS) {
			fprintf(stderr, "%s: failed\n", path);
			failed = 1;
		} else
			printf("%s\n", path);
	}
	cairo_surface_destroy(s);
	display_renderer_free(r);
	return failed;
}
