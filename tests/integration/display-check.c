/* SPDX-License-Identifier: MIT */
/* Checks a PNG written by the display's png: backend: decodes its QR, or compares its pixels
 * with a fresh render of a given screen through drivers/display/display.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "display/display-test-util.h"
#include "drivers/display/display.h"

/*
 * Usage:
 *   display-check qr PNG
 *       prints the text of the one QR symbol on the picture; exit 1 when there is not exactly one
 *   display-check compare PNG KIND [--store S] [--amount FEN] [--subject S] [--reason CODE]
 *                                  [--reason-text T] [--qr TEXT] [--seconds N] [--then KIND ...]
 *       renders each screen at the PNG's size with display_new("png:...") + display_show(), as
 *       f2fpayd does, compares every pixel and prints "identical" or "different" for each (one
 *       process for several screens: font set-up dominates the cost); exit 0
 * Exit 2 on a usage error or a file that cannot be read or rendered: never taken for a verdict.
 */
enum {
	EXIT_MATCH = 0,
	EXIT_DIFFERENT = 1, /* qr: not exactly one symbol */
	EXIT_ERROR = 2,
};

static cairo_surface_t *
png_load(const char *path)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(path);

	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		fprintf(stderr, "%s: %s\n", path, cairo_status_to_string(cairo_surface_status(s)));
		cairo_surface_destroy(s);
		return NULL;
	}
	cairo_surface_flush(s);
	return s;
}

static int
check_qr(const char *path)
{
	cairo_surface_t *s = png_load(path);
	char *text = NULL;
	int n;

	if (!s)
		return EXIT_ERROR;
	n = test_zbar_decode(s, &text);
	cairo_surface_destroy(s);
	if (n != 1) {
		fprintf(stderr, "%s: %d QR symbols, expected 1\n", path, n);
		free(text);
		return EXIT_DIFFERENT;
	}
	fwrite(text, 1, strlen(text), stdout);
	free(text);
	return EXIT_MATCH;
}

static int
parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int
kind_from_string(const char *s, enum display_screen_kind *ret)
{
	for (int k = 0; k < _DISPLAY_SCREEN_MAX; k++)
		if (strcmp(display_screen_kind_to_string(k), s) == 0) {
			*ret = k;
			return 0;
		}
	return -EINVAL;
}

/* Renders scr at w x h through the public display API into dir/expected.png. */
static int
render_expected(const struct display_screen *scr, int w, int h, const char *dir, char *path,
		size_t path_size)
{
	struct display *d = NULL;
	char spec[PATH_MAX + 64];
	int r;

	r = snprintf(path, path_size, "%s/expected.png", dir);
	if (r < 0 || (size_t)r >= path_size)
		return -ENAMETOOLONG;
	r = snprintf(spec, sizeof(spec), "png:%s,size=%dx%d", path, w, h);
	if (r < 0 || (size_t)r >= sizeof(spec))
		return -ENAMETOOLONG;
	r = display_new(spec, &d);
	if (r < 0)
		return r;
	r = display_show(d, scr);
	display_free(d);
	return r;
}

/* Number of pixels whose RGB differ; -1 when the sizes differ. */
static long
pixels_differ(cairo_surface_t *a, cairo_surface_t *b, int *ret_x0, int *ret_y0, int *ret_x1,
	      int *ret_y1)
{
	int w = cairo_image_surface_get_width(a), h = cairo_image_surface_get_height(a);
	int x0 = w, y0 = h, x1 = -1, y1 = -1;
	long n = 0;

	if (w != cairo_image_surface_get_width(b) || h != cairo_image_surface_get_height(b))
		return -1;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			if (test_pixel_rgb(a, x, y) != test_pixel_rgb(b, x, y)) {
				n++;
				x0 = x < x0 ? x : x0;
				y0 = y < y0 ? y : y0;
				x1 = x > x1 ? x : x1;
				y1 = y > y1 ? y : y1;
			}
	*ret_x0 = x0;
	*ret_y0 = y0;
	*ret_x1 = x1;
	*ret_y1 = y1;
	return n;
}

/* Parses "KIND [--opt VAL]..." (argv borrowed) into *scr. */
static int
screen_parse(int argc, char **argv, struct display_screen *scr)
{
	int64_t v;

	*scr = (struct display_screen){.seconds_left = -1};
	if (kind_from_string(argv[0], &scr->kind) < 0) {
		fprintf(stderr, "unknown screen kind '%s'\n", argv[0]);
		return -EINVAL;
	}
	for (int i = 1; i < argc; i += 2) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			fprintf(stderr, "%s needs a value\n", opt);
			return -EINVAL;
		}
		if (strcmp(opt, "--store") == 0)
			scr->store_name = val;
		else if (strcmp(opt, "--subject") == 0)
			scr->subject = val;
		else if (strcmp(opt, "--reason") == 0)
			scr->reason_code = val;
		else if (strcmp(opt, "--reason-text") == 0)
			scr->reason_text = val;
		else if (strcmp(opt, "--qr") == 0)
			scr->qr_text = val;
		else if (strcmp(opt, "--amount") == 0 &&
			 parse_int64(val, 0, INT64_MAX / 2, &v) == 0)
			scr->amount_fen = v;
		else if (strcmp(opt, "--seconds") == 0 && parse_int64(val, -1, INT_MAX, &v) == 0)
			scr->seconds_left = (int)v;
		else {
			fprintf(stderr, "bad option %s %s\n", opt, val);
			return -EINVAL;
		}
	}
	return 0;
}

/* Compares got with one expected screen and prints the verdict; -errno when it cannot. */
static int
compare_one(const char *path, cairo_surface_t *got, const char *dir, int argc, char **argv)
{
	struct display_screen scr;
	cairo_surface_t *want;
	char expected[PATH_MAX];
	int x0, y0, x1, y1, r;
	long n;

	r = screen_parse(argc, argv, &scr);
	if (r < 0)
		return r;
	r = render_expected(&scr, cairo_image_surface_get_width(got),
			    cairo_image_surface_get_height(got), dir, expected, sizeof(expected));
	if (r < 0) {
		fprintf(stderr, "rendering the %s screen failed: %s\n", argv[0], strerror(-r));
		return r;
	}
	want = png_load(expected);
	(void)unlink(expected);
	if (!want)
		return -EIO;
	n = pixels_differ(got, want, &x0, &y0, &x1, &y1);
	cairo_surface_destroy(want);
	/* The verdict is on stdout: a crash's exit status is never read as "different". */
	if (n == 0) {
		printf("identical\n");
		return 0;
	}
	printf("different\n");
	if (n < 0)
		fprintf(stderr, "%s: not the size of the expected screen\n", path);
	else
		fprintf(stderr, "%s: %ld pixels differ from the %s screen in (%d,%d)-(%d,%d)\n",
			path, n, argv[0], x0, y0, x1, y1);
	return 0;
}

/* Each "--then" starts another expected screen; one verdict line per screen. */
static int
check_compare(const char *path, int argc, char **argv)
{
	char dir[] = "/tmp/display-check.XXXXXX";
	cairo_surface_t *got;
	int ret = EXIT_MATCH;

	got = png_load(path);
	if (!got)
		return EXIT_ERROR;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		cairo_surface_destroy(got);
		return EXIT_ERROR;
	}
	for (int i = 0; i < argc && ret == EXIT_MATCH;) {
		int j = i;

		while (j < argc && strcmp(argv[j], "--then") != 0)
			j++;
		if (j == i || compare_one(path, got, dir, j - i, argv + i) < 0)
			ret = EXIT_ERROR;
		i = j + 1;
	}
	if (strcmp(argv[argc - 1], "--then") == 0)
		ret = EXIT_ERROR; /* a screen left out */
	(void)rmdir(dir);
	cairo_surface_destroy(got);
	return ret;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "qr") == 0)
		return check_qr(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "compare") == 0)
		return check_compare(argv[2], argc - 3, argv + 3);
	fprintf(stderr,
		"usage: %s qr PNG | %s compare PNG KIND [--store S] [--amount FEN] "
		"[--subject S] [--reason CODE] [--reason-text T] [--qr TEXT] [--seconds N] "
		"[--then KIND ...]...\n",
		argv[0], argv[0]);
	return EXIT_ERROR;
}
