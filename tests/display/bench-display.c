/* SPDX-License-Identifier: MIT */
/* Benchmark: how long a QR screen takes to render at 1920x1080 (and the other outputs,
 * the web display's fan-out among them). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>

#include "common/time-util.h"
#include "display-test-util.h"
#include "drivers/display/display-private.h"

#define ROUNDS 40

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, uint64_t *t, int n)
{
	uint64_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += t[i];
	qsort(t, (size_t)n, sizeof(t[0]), cmp_u64);
	printf("%-44s min %7.2f ms  median %7.2f ms  max %7.2f ms  mean %7.2f ms  (%d runs)\n",
	       what, t[0] / 1000.0, t[n / 2] / 1000.0, t[n - 1] / 1000.0, sum / 1000.0 / n, n);
}

int
main(void)
{
	struct display_renderer *r;
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1920, 1080);
	cairo_surface_t *s565 = cairo_image_surface_create(CAIRO_FORMAT_RGB16_565, 1920, 1080);
	struct display_screen scr = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
	uint64_t t[ROUNDS], t0;
	char urls[ROUNDS][64];
	char path[] = "/tmp/bench-display-XXXXXX";
	char png[64];
	struct display_png_buf rgb = {0};

	t0 = now_usec(CLOCK_MONOTONIC);
	if (display_renderer_new(&r) < 0)
		return 1;
	printf("renderer start-up (fonts loaded): %.2f ms\n",
	       (now_usec(CLOCK_MONOTONIC) - t0) / 1000.0);
	display_render(r, s, &scr, NULL); /* first glyphs into the caches */

	/* The countdown case: the same QR, redrawn every second. */
	for (int i = 0; i < ROUNDS; i++) {
		scr.seconds_left = 119 - i;
		t0 = now_usec(CLOCK_MONOTONIC);
		if (display_render(r, s, &scr, NULL) < 0)
			return 1;
		t[i] = now_usec(CLOCK_MONOTONIC) - t0;
	}
	report("QR screen 1920x1080 XRGB8888, same QR", t, ROUNDS);

	/* A new order each time: the QR is encoded too. */
	for (int i = 0; i < ROUNDS; i++) {
		snprintf(urls[i], sizeof(urls[i]), "https://qr.alipay.com/bax%022d", i);
		scr.qr_text = urls[i];
		t0 = now_usec(CLOCK_MONOTONIC);
		if (display_render(r, s, &scr, NULL) < 0)
			return 1;
		t[i] = now_usec(CLOCK_MONOTONIC) - t0;
	}
	report("QR screen 1920x1080 XRGB8888, new QR", t, ROUNDS);

	for (int i = 0; i < ROUNDS; i++) {
		t0 = now_usec(CLOCK_MONOTONIC);
		if (display_render(r, s565, &scr, NULL) < 0)
			return 1;
		t[i] = now_usec(CLOCK_MONOTONIC) - t0;
	}
	report("QR screen 1920x1080 RGB565", t, ROUNDS);

	scr = test_screen(DISPLAY_SCREEN_FAILED, NULL);
	for (int i = 0; i < ROUNDS; i++) {
		t0 = now_usec(CLOCK_MONOTONIC);
		if (display_render(r, s, &scr, NULL) < 0)
			return 1;
		t[i] = now_usec(CLOCK_MONOTONIC) - t0;
	}
	report("failed screen 1920x1080 XRGB8888", t, ROUNDS);

	/* The PNG backend's extra cost (compression, write, rename), its buffer kept as between a
	 * display's shows. */
	if (!mkdtemp(path))
		return 1;
	snprintf(png, sizeof(png), "%s/screen.png", path);
	for (int i = 0; i < ROUNDS / 4; i++) {
		t0 = now_usec(CLOCK_MONOTONIC);
		if (display_png_write(s, png, &rgb) < 0)
			return 1;
		t[i] = now_usec(CLOCK_MONOTONIC) - t0;
	}
	report("PNG write 1920x1080", t, ROUNDS / 4);
	{
		/* the png: default, and the size the integration benchmark shows */
		static const int sizes[][2] = {{1024, 600}, {480, 320}};

		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			int w = sizes[k][0], h = sizes[k][1];
			cairo_surface_t *small =
				cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
			char what[64];
			uint64_t mine;

			display_render(r, small, &scr, NULL);
			for (int i = 0; i < ROUNDS / 2; i++) {
				t0 = now_usec(CLOCK_MONOTONIC);
				if (display_png_write(small, png, &rgb) < 0)
					return 1;
				t[i] = now_usec(CLOCK_MONOTONIC) - t0;
			}
			snprintf(what, sizeof(what), "PNG write %dx%d (file and rename)", w, h);
			report(what, t, ROUNDS / 2);
			/* the encoding alone, and libpng's fastest setting on the same rows */
			for (int i = 0; i < ROUNDS / 2; i++) {
				t0 = now_usec(CLOCK_MONOTONIC);
				if (display_png_encode(rgb.raw, (uint32_t)w, (uint32_t)h,
						       rgb.png) == 0)
					return 1;
				t[i] = now_usec(CLOCK_MONOTONIC) - t0;
			}
			snprintf(what, sizeof(what), "  encoding only, %dx%d", w, h);
			report(what, t, ROUNDS / 2);
			mine = t[ROUNDS / 4];
			for (int i = 0; i < ROUNDS / 2; i++) {
				png_image img = {.version = PNG_IMAGE_VERSION};
				size_t len = 0;

				img.width = (png_uint_32)w;
				img.height = (png_uint_32)h;
				img.format = PNG_FORMAT_RGB;
				img.flags = PNG_IMAGE_FLAG_FAST;
				t0 = now_usec(CLOCK_MONOTONIC);
				if (!png_image_write_to_memory(&img, NULL, &len, 0, rgb.raw + 1,
							       w * 3 + 1, NULL))
					return 1;
				t[i] = now_usec(CLOCK_MONOTONIC) - t0;
			}
			snprintf(what, sizeof(what), "  libpng's fastest, encoding only, %dx%d", w,
				 h);
			report(what, t, ROUNDS / 2);
			printf("  median encoding: %.2f x libpng's\n",
			       (double)mine / (double)t[ROUNDS / 4]);
			cairo_surface_destroy(small);
		}
	}
	display_png_buf_free(&rgb);
	unlink(png);
	rmdir(path);

	scr = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
	for (int i = 0; i < ROUNDS; i++) {
		struct buf b = BUF_INIT(1 << 20);
		t0 = now_usec(CLOCK_MONOTONIC);
		if (display_tty_format(&scr, 1, &b) < 0)
			return 1;
		t[i] = now_usec(CLOCK_MONOTONIC) - t0;
		buf_free(&b);
	}
	report("terminal frame (QR)", t, ROUNDS);

	/* The web display: the screen as JSON with its SVG QR, sent to 16 viewers that never
	 * read (the worst a show meets: full socket buffers, backlogs, drops). */
	{
		sd_event *e;
		struct display_web *w;
		struct sockaddr_in sa = {.sin_family = AF_INET};
		int fds[16];

		if (sd_event_new(&e) < 0 || display_web_open("127.0.0.1", 0, e, &w) < 0)
			return 1;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((uint16_t)display_web_port(w));
		for (int i = 0; i < 16; i++) {
			fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			    send(fds[i], "GET /events HTTP/1.1\r\n\r\n", 24, MSG_NOSIGNAL) != 24)
				return 1;
		}
		for (int i = 0; i < 50; i++)
			(void)sd_event_run(e, 10 * USEC_PER_MSEC);
		for (int i = 0; i < ROUNDS; i++) {
			scr.seconds_left = 119 - i;
			t0 = now_usec(CLOCK_MONOTONIC);
			if (display_web_show(w, &scr) < 0)
				return 1;
			t[i] = now_usec(CLOCK_MONOTONIC) - t0;
		}
		report("web show (QR) to 16 viewers that never read", t, ROUNDS);
		for (int i = 0; i < 16; i++)
			close(fds[i]);
		display_web_close(w);
		sd_event_unref(e);
	}

	cairo_surface_destroy(s);
	cairo_surface_destroy(s565);
	display_renderer_free(r);
	return 0;
}
