/* SPDX-License-Identifier: MIT */
/* Every screen at every supported resolution: QR decodes exactly, geometry holds on the pixels. */
#include <errno.h>
#include <fcntl.h>
#include <qrencode.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/pages.h"
#include "display-test-util.h"
#include "drivers/display/display-private.h"
#include "test.h"

extern char **environ;

static struct display_renderer *renderer;
static int under_valgrind;

/*
 * doc/design.md §10: ECC M, 4-module quiet zone, the largest integer module size that
 * fits (>= 3 px), centred. Checked on the pixels, not only on what the renderer reports.
 */
static void
check_qr_geometry(cairo_surface_t *s, const struct display_render_info *info, const char *text)
{
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	int n = info->qr_modules, px = info->module_px, q = DISPLAY_QR_QUIET_MODULES;
	int minx = w, miny = h, maxx = -1, maxy = -1;
	QRcode *qr;

	CHECK(info->qr_drawn);
	/* Independent encoding with the parameters of doc/hardware.md §4.2. */
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	CHECK(qr);
	CHECK_INT_EQ(n, qr->width);

	CHECK(px >= DISPLAY_QR_MIN_MODULE_PX);
	/* Largest integer size: one more pixel per module would not fit the reserved square. */
	CHECK((n + 2 * q) * px <= info->area_side);
	CHECK((n + 2 * q) * (px + 1) > info->area_side);
	CHECK(info->area_x >= 0 && info->area_y >= 0 && info->area_x + info->area_side <= w &&
	      info->area_y + info->area_side <= h);

	/* The dark pixels of the square are exactly the symbol's box (finder patterns at 3
	 * corners). */
	for (int y = info->area_y; y < info->area_y + info->area_side; y++)
		for (int x = info->area_x; x < info->area_x + info->area_side; x++)
			if (test_pixel_gray(s, x, y) < 128) {
				minx = x < minx ? x : minx;
				maxx = x > maxx ? x : maxx;
				miny = y < miny ? y : miny;
				maxy = y > maxy ? y : maxy;
			}
	CHECK_INT_EQ(minx, info->qr_x);
	CHECK_INT_EQ(miny, info->qr_y);
	CHECK_INT_EQ(maxx - minx + 1, n * px);
	CHECK_INT_EQ(maxy - miny + 1, n * px);

	/* Centred in the square, to the pixel. */
	CHECK(abs((minx - info->area_x) - (info->area_x + info->area_side - 1 - maxx)) <= 1);
	CHECK(abs((miny - info->area_y) - (info->area_y + info->area_side - 1 - maxy)) <= 1);

	/* Quiet zone: 4 modules of pure light all around the symbol, inside the surface. */
	CHECK(minx - q * px >= 0 && miny - q * px >= 0);
	CHECK(maxx + q * px < w && maxy + q * px < h);
	for (int y = miny - q * px; y <= maxy + q * px; y++)
		for (int x = minx - q * px; x <= maxx + q * px; x++)
			if (x < minx || x > maxx || y < miny || y > maxy)
				CHECK(test_pixel_gray(s, x, y) >= 250);

	/* Every module a uniform px-by-px cell of the right colour. */
	for (int my = 0; my < n; my++)
		for (int mx = 0; mx < n; mx++) {
			int dark = qr->data[my * n + mx] & 1;
			for (int y = 0; y < px; y++)
				for (int x = 0; x < px; x++) {
					int g = test_pixel_gray(s, minx + mx * px + x,
								miny + my * px + y);
					CHECK(dark ? g <= 5 : g >= 250);
				}
		}
	QRcode_free(qr);
}

static void
check_decodes(cairo_surface_t *s, const char *text)
{
	char *got = NULL;

	CHECK_INT_EQ(test_zbar_decode(s, &got), 1);
	CHECK_STR_EQ(got, text);
	free(got);
}

static void
test_every_screen_every_resolution(void)
{
	for (unsigned i = 0; i < test_resolutions_count; i++) {
		int w = test_resolutions[i].width, h = test_resolutions[i].height;
		cairo_surface_t *s;

		/* Memcheck needs every code path, not every size: one landscape, one portrait. */
		if (under_valgrind && i != 0 && i + 1 != test_resolutions_count)
			continue;
		s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
		for (int k = 0; k < _DISPLAY_SCREEN_MAX; k++) {
			struct display_render_info info;
			struct display_screen scr = test_screen(k, test_qr_texts[0]);

			if (k == DISPLAY_SCREEN_QR)
				continue;
			CHECK_INT_EQ(display_render(renderer, s, &scr, &info), 0);
			CHECK(!info.qr_drawn);
			/* Nothing on a status screen may look like a QR. */
			CHECK_INT_EQ(test_zbar_decode(s, NULL), 0);
			/* Realistic texts fit without being cut, in every orientation. */
			CHECK_INT_EQ(info.truncated, 0);
		}
		for (unsigned t = 0; test_qr_texts[t]; t++) {
			struct display_render_info info;
			struct display_screen scr =
				test_screen(DISPLAY_SCREEN_QR, test_qr_texts[t]);

			/* Under valgrind every resolution, but only the shortest and longest URL.
			 */
			if (under_valgrind && t != 0 && test_qr_texts[t + 1])
				continue;
			CHECK_INT_EQ(display_render(renderer, s, &scr, &info), 0);
			check_decodes(s, test_qr_texts[t]);
			check_qr_geometry(s, &info, test_qr_texts[t]);
			printf("%dx%d: %zu bytes -> %d modules x %d px\n", w, h,
			       strlen(test_qr_texts[t]), info.qr_modules, info.module_px);
		}
		cairo_surface_destroy(s);
	}
}

static void
test_pixel_formats(void)
{
	const cairo_format_t formats[] = {CAIRO_FORMAT_ARGB32, CAIRO_FORMAT_RGB16_565};

	for (unsigned i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		cairo_surface_t *s = cairo_image_surface_create(formats[i], 1024, 600);
		struct display_screen scr = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[1]);
		struct display_render_info info;

		CHECK_INT_EQ(display_render(renderer, s, &scr, &info), 0);
		check_decodes(s, test_qr_texts[1]);
		check_qr_geometry(s, &info, test_qr_texts[1]);
		cairo_surface_destroy(s);
	}
	/* Formats the renderer cannot promise colours for are refused. */
	cairo_surface_t *a8 = cairo_image_surface_create(CAIRO_FORMAT_A8, 1024, 600);
	struct display_screen idle = test_screen(DISPLAY_SCREEN_IDLE, NULL);
	CHECK_INT_EQ(display_render(renderer, a8, &idle, NULL), -EINVAL);
	cairo_surface_destroy(a8);
	cairo_surface_t *tiny = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 32, 32);
	CHECK_INT_EQ(display_render(renderer, tiny, &idle, NULL), -EINVAL);
	idle.kind = _DISPLAY_SCREEN_MAX;
	CHECK_INT_EQ(display_render(renderer, tiny, &idle, NULL), -EINVAL);
	cairo_surface_destroy(tiny);
}

static char *
long_url(size_t len)
{
	static const char prefix[] = "https://qr.alipay.com/bax08431rqd5ryxxdb7v6045?x=";
	char *u = malloc(len + 1);

	CHECK(u && len >= sizeof(prefix));
	memcpy(u, prefix, sizeof(prefix) - 1);
	for (size_t i = sizeof(prefix) - 1; i < len; i++)
		u[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
	u[len] = 0;
	return u;
}

/* A QR that cannot be drawn at >= 3 px per module is an error, never a blur or a stale QR. */
static void
test_qr_too_big(void)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 800, 480);
	struct display_screen scr = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
	struct display_render_info info;
	char *big = long_url(1000), *huge = long_url(DISPLAY_QR_TEXT_MAX + 1);
	int fits = 0, px;

	/* First a good QR, so a stale symbol would be visible below. */
	CHECK_INT_EQ(display_render(renderer, s, &scr, &info), 0);
	check_decodes(s, test_qr_texts[0]);

	scr.qr_text = big;
	CHECK_INT_EQ(display_render(renderer, s, &scr, &info), -E2BIG);
	CHECK(!info.qr_drawn);
	CHECK_INT_EQ(test_zbar_decode(s, NULL), 0);
	scr.qr_text = huge;
	CHECK_INT_EQ(display_render(renderer, s, &scr, &info), -E2BIG);
	CHECK_INT_EQ(test_zbar_decode(s, NULL), 0);
	scr.qr_text = NULL;
	CHECK_INT_EQ(display_render(renderer, s, &scr, &info), -E2BIG);
	scr.qr_text = "";
	CHECK_INT_EQ(display_render(renderer, s, &scr, &info), -E2BIG);

	/* The rule itself: 3 px is the floor. */
	CHECK_INT_EQ(display_qr_module_px(37, 45 * 3), 3);
	CHECK_INT_EQ(display_qr_module_px(37, 45 * 3 - 1), -E2BIG);
	CHECK_INT_EQ(display_qr_module_px(37, 45 * 8 + 7), 8);

	/* Up to the limit it decodes; past it, the module size really is below 3 px. */
	for (size_t len = 300; len <= DISPLAY_QR_TEXT_MAX; len += under_valgrind ? 100 : 20) {
		char *u = long_url(len);
		QRcode *qr;
		int k;

		CHECK_INT_EQ(display_qr_encode(u, &qr), 0);
		scr.qr_text = u;
		k = display_render(renderer, s, &scr, &info);
		px = display_qr_module_px(qr->width, info.area_side);
		if (k == 0) {
			CHECK(px >= DISPLAY_QR_MIN_MODULE_PX);
			CHECK_INT_EQ(info.module_px, px);
			fits = (int)len;
			if (!under_valgrind || len % 100 == 0)
				check_decodes(s, u);
		} else {
			CHECK_INT_EQ(k, -E2BIG);
			CHECK_INT_EQ(px, -E2BIG);
			CHECK_INT_EQ(test_zbar_decode(s, NULL), 0);
		}
		QRcode_free(qr);
		free(u);
	}
	printf("800x480: longest QR text drawn: %d bytes\n", fits);
	CHECK(fits >= 300);
	free(big);
	free(huge);
	cairo_surface_destroy(s);
}

/* Hostile strings: no crash, visibly cut, never spilling into the side margins. */
static void
test_odd_strings(void)
{
	static const char *const odd[] = {
		/* Arabic (RTL); a U+202E override; emoji, for which no font is installed here. */
		"مرحبا بكم في متجرنا الصغير في وسط المدينة",
		"\u202e evil RLO override gnidaer",
		"🍜🍣🥟🧋 emoji 😀😀😀😀😀😀😀😀😀",
		"bad \xff\xfe utf-8 \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 end",
		"ctrl\x01\x1b[31mred\x1b[0m\r\nnext\ttab",
		"שלום עולם mixed עברית and English ١٢٣",
	};
	char *long_name = malloc(4001);
	cairo_surface_t *s;

	CHECK(long_name);
	{
		static const char unit[] = "很长的店名 Very long store name ";
		size_t o = 0;
		while (o + sizeof(unit) - 1 <= 4000) {
			memcpy(long_name + o, unit, sizeof(unit) - 1);
			o += sizeof(unit) - 1;
		}
		long_name[o] = 0;
	}

	for (unsigned ri = 0; ri < test_resolutions_count; ri++) {
		int w = test_resolutions[ri].width, h = test_resolutions[ri].height;
		s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
		for (int k = 0; k < _DISPLAY_SCREEN_MAX; k++) {
			struct display_screen scr = test_screen(k, test_qr_texts[0]);
			struct display_render_info info;

			if (under_valgrind && ri > 0)
				break;
			/* Everything long at once. */
			scr.store_name = long_name;
			scr.subject = long_name;
			scr.reason_code = long_name;
			scr.reason_text = long_name;
			scr.amount_fen = INT64_C(10000000000);
			scr.seconds_left = 1 << 30;
			CHECK_INT_EQ(display_render(renderer, s, &scr, &info), 0);
			CHECK(info.truncated > 0);
			if (k == DISPLAY_SCREEN_QR)
				check_decodes(s, test_qr_texts[0]);
			/* The outer half of each side margin stays background, header included. */
			for (int y = 0; y < h; y++) {
				uint32_t left = test_pixel_rgb(s, 0, y);
				uint32_t right = test_pixel_rgb(s, w - 1, y);
				CHECK(left == 0x1677ff || left == 0xffffff);
				CHECK_INT_EQ(right, left);
				for (int x = 0; x < info.margin / 2; x++) {
					CHECK_INT_EQ(test_pixel_rgb(s, x, y), left);
					CHECK_INT_EQ(test_pixel_rgb(s, w - 1 - x, y), right);
				}
			}
			for (unsigned j = 0; j < sizeof(odd) / sizeof(odd[0]); j++) {
				scr.store_name = odd[j];
				scr.subject = odd[j];
				scr.reason_text = odd[j];
				scr.reason_code = odd[(j + 1) % (sizeof(odd) / sizeof(odd[0]))];
				CHECK_INT_EQ(display_render(renderer, s, &scr, &info), 0);
				if (k == DISPLAY_SCREEN_QR && (!under_valgrind || j == 0))
					check_decodes(s, test_qr_texts[0]);
			}
		}
		cairo_surface_destroy(s);
	}
	free(long_name);
}

/* Renders a few screens into raw bytes (for the locale comparison). */
static void
render_raw(const char *path)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 800, 480);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	for (int k = 0; k < _DISPLAY_SCREEN_MAX; k++) {
		struct display_screen scr = test_screen(k, test_qr_texts[0]);
		size_t len = (size_t)cairo_image_surface_get_stride(s) * 480;
		CHECK_INT_EQ(display_render(renderer, s, &scr, NULL), 0);
		CHECK((size_t)write(fd, cairo_image_surface_get_data(s), len) == len);
	}
	CHECK(close(fd) == 0);
	cairo_surface_destroy(s);
}

static char *
read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	char *data;
	long len;

	CHECK(f);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	len = ftell(f);
	CHECK(len > 0);
	rewind(f);
	data = malloc((size_t)len);
	CHECK(data && fread(data, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	*ret_len = (size_t)len;
	return data;
}

/* The same pixels whatever the host's language settings say (LANG, LANGUAGE, PANGO_LANGUAGE). */
static void
test_locale_independent(const char *self)
{
	char dir[] = "/tmp/display-locale-XXXXXX", mine[64], theirs[64];
	char *argv[] = {(char *)self, (char *)"--raw", theirs, NULL};
	char *envp[] = {(char *)"LANG=ja_JP.UTF-8", (char *)"LC_ALL=ja_JP.UTF-8",
			(char *)"LANGUAGE=ja:ko", (char *)"PANGO_LANGUAGE=ja", NULL};
	char *a, *b;
	size_t alen, blen;
	pid_t pid;
	int status;

	CHECK(mkdtemp(dir));
	snprintf(mine, sizeof(mine), "%s/c", dir);
	snprintf(theirs, sizeof(theirs), "%s/ja", dir);
	render_raw(mine);
	CHECK(posix_spawn(&pid, self, NULL, NULL, argv, envp) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	a = read_all(mine, &alen);
	b = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? read_all(theirs, &blen) : NULL;
	/* Clean up first: a failing run must not leave 24 MB behind in /tmp. */
	unlink(mine);
	unlink(theirs);
	rmdir(dir);
	CHECK(b);
	CHECK_MEM_EQ(a, alen, b, blen);
	free(a);
	free(b);
}

/* The pages of the font files (and of every read-only file mapping) released as when the till
 * is idle, mapped again by the next frame: the same pixels. */
static void
test_trim(void)
{
	cairo_surface_t *a = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 480, 320);
	cairo_surface_t *b = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 480, 320);
	struct display_screen scr = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
	size_t n = (size_t)cairo_image_surface_get_stride(a) * 320;

	CHECK_INT_EQ(display_render(renderer, a, &scr, NULL), 0);
	CHECK(pages_release_clean(NULL) > 0);
	CHECK_INT_EQ(display_render(renderer, b, &scr, NULL), 0);
	CHECK(memcmp(cairo_image_surface_get_data(a), cairo_image_surface_get_data(b), n) == 0);
	cairo_surface_destroy(a);
	cairo_surface_destroy(b);
}

int
main(int argc, char **argv)
{
	under_valgrind = getenv("F2FPAY_UNDER_VALGRIND") != NULL;
	CHECK_INT_EQ(display_renderer_new(&renderer), 0);
	if (argc == 3 && strcmp(argv[1], "--raw") == 0) {
		render_raw(argv[2]);
		display_renderer_free(renderer);
		return 0;
	}
	test_every_screen_every_resolution();
	test_pixel_formats();
	test_qr_too_big();
	test_odd_strings();
	test_trim();
	if (!under_valgrind) /* a child process outside valgrind's view proves nothing more */
		test_locale_independent("/proc/self/exe");
	display_renderer_free(renderer);
	return 0;
}
