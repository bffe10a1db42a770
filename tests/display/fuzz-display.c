/* SPDX-License-Identifier: MIT */
/* Fuzz target: any screen text renders without crashing; the sanitiser's output is clean. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/display/display-private.h"

/* After common/macro.h: glib replaces MIN and MAX with equivalent definitions. */
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* fontconfig leaks parsing its configuration (FcInitLoadConfigAndFonts, seen with the
 * default 2-frame unwinder as libfontconfig only): not ours, and nothing we can free. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}

static const int sizes[][2] = {{800, 480}, {1024, 600}, {480, 800}, {64, 64}};

/* One renderer and one surface per size for the whole run: display_render() paints the whole
 * surface before drawing, and a fresh megabyte-sized surface per input cost more than rendering. */
static struct display_renderer *renderer;
static cairo_surface_t *surfaces[ELEMENTSOF(sizes)];

static void
renderer_free(void)
{
	renderer = display_renderer_free(renderer);
	for (size_t i = 0; i < ELEMENTSOF(surfaces); i++)
		cairo_surface_destroy(surfaces[i]);
}

/* Clean means valid UTF-8, no control or bidi-override characters, and bounded. */
static void
check_clean(const char *s, size_t max)
{
	const char *p;

	if (!g_utf8_validate(s, -1, NULL) || strlen(s) > max + 3)
		abort();
	for (p = s; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x202a && c <= 0x202e) ||
		    (c >= 0x2066 && c <= 0x2069))
			abort();
	}
}

/*
 * Input: byte 0 picks the screen kind, byte 1 the resolution, the rest is NUL-separated
 * fields: store name, subject, reason code, reason text, QR text.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *fields[5] = {NULL};
	struct display_screen s = {0};
	struct buf b = BUF_INIT(1 << 20);
	char *text, *clean;
	size_t n = 0;
	int k;

	if (size < 2 || size > 8192)
		return 0;
	if (!renderer) {
		if (display_renderer_new(&renderer) < 0)
			abort();
		for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
			surfaces[i] = cairo_image_surface_create(CAIRO_FORMAT_RGB24, sizes[i][0],
								 sizes[i][1]);
			if (cairo_surface_status(surfaces[i]) != CAIRO_STATUS_SUCCESS)
				abort();
		}
		atexit(renderer_free);
	}
	text = malloc(size - 1);
	if (!text)
		return 0;
	memcpy(text, data + 2, size - 2);
	text[size - 2] = 0;
	for (char *p = text; n < 5 && p <= text + size - 2; p += strlen(p) + 1)
		fields[n++] = p;

	s.kind = (enum display_screen_kind)(data[0] % _DISPLAY_SCREEN_MAX);
	s.store_name = fields[0];
	s.subject = fields[1];
	s.reason_code = fields[2];
	s.reason_text = fields[3];
	s.qr_text = fields[4];
	s.amount_fen = (int64_t)data[1] * 1234567;
	s.seconds_left = (int)data[1] - 16;

	for (size_t i = 0; i < n; i++) {
		k = display_text_sanitize(fields[i], 40, &clean);
		if (k < 0)
			abort();
		check_clean(clean, 40);
		free(clean);
	}

	k = display_render(renderer, surfaces[data[1] % ELEMENTSOF(sizes)], &s, NULL);
	/* Only a QR that does not fit may fail; everything else always renders. */
	if (k < 0 && !(k == -E2BIG && s.kind == DISPLAY_SCREEN_QR))
		abort();

	k = display_tty_format(&s, data[1] & 1, &b);
	if (k < 0 && !(k == -E2BIG && s.kind == DISPLAY_SCREEN_QR))
		abort();
	buf_free(&b);
	free(text);
	return 0;
}
