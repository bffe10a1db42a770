/* SPDX-License-Identifier: MIT */
/* Configuration strings, the PNG backend, and report-and-retry when a backend fails. */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/time-util.h"
#include "display-test-util.h"
#include "drivers/display/display.h"
#include "test.h"

static void
test_specs(void)
{
	static const char *const good[] = {
		"tty",
		"tty:-",
		"tty:/dev/null",
		"png:/tmp/x.png",
		"png:/tmp/x.png,size=480x800",
		"fb:/nonexistent/fb0",
		"fb:/nonexistent/fb0,vt=/dev/tty1",
	};
	static const char *const bad[] = {
		"",
		"fb",
		"fb:",
		"png:",
		"png:relative.png",
		"vnc:/x",
		"png:/x.png,size=10x10",
		"png:/x.png,size=800",
		"png:/x.png,size=800x480x",
		"png:/x.png,size=99999x480",
		"png:/x.png,bogus=1",
		"fb:/dev/fb0,size=800x480",
		"fb:/dev/fb0,vt=tty1",
		"tty:/dev/null,size=1x1",
		"FB:/dev/fb0",
	};
	struct display *d;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		d = NULL;
		CHECK_INT_EQ(display_new(good[i], &d), 0);
		CHECK(d);
		display_free(d);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = NULL;
		CHECK_INT_EQ(display_new(bad[i], &d), -EINVAL);
		CHECK(!d);
	}
	CHECK_INT_EQ(display_new(NULL, &d), -EINVAL);
	/* A framebuffer that is not there is a state, not an error. */
	CHECK_INT_EQ(display_new("fb:/nonexistent/fb0", &d), 0);
	CHECK(!display_is_up(d));
	display_free(d);
	CHECK(display_free(NULL) == NULL);
}

static cairo_surface_t *
load_png(const char *path)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(path);

	CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS);
	return s;
}

/* The PNG at path shows a QR that decodes to text. */
static void
check_png_qr(const char *path, const char *text)
{
	cairo_surface_t *img = load_png(path);
	char *got = NULL;

	CHECK_INT_EQ(test_zbar_decode(img, &got), 1);
	CHECK_STR_EQ(got, text);
	free(got);
	cairo_surface_destroy(img);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	CHECK(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_png(void)
{
	char dir[] = "/tmp/display-png-XXXXXX", path[64], spec[96];
	struct display_screen s = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[1]);
	struct display *d = NULL;
	cairo_surface_t *img;
	char *got = NULL, *big;
	struct stat st;
	ino_t ino;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/screen.png", dir);
	snprintf(spec, sizeof(spec), "png:%s,size=480x800", path);
	CHECK_INT_EQ(display_new(spec, &d), 0);
	CHECK(display_is_up(d));
	CHECK_INT_EQ(display_show(d, &s), 0);
	img = load_png(path);
	CHECK_INT_EQ(cairo_image_surface_get_width(img), 480);
	CHECK_INT_EQ(cairo_image_surface_get_height(img), 800);
	CHECK_INT_EQ(test_zbar_decode(img, &got), 1);
	CHECK_STR_EQ(got, test_qr_texts[1]);
	free(got);
	cairo_surface_destroy(img);
	/* Replaced by rename: readable by a kiosk, no temporary file left behind. */
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK_INT_EQ(count_entries(dir), 1);

	/* A paid screen replaces the QR: no symbol left for the customer to scan again. */
	s.kind = DISPLAY_SCREEN_PAID;
	CHECK_INT_EQ(display_show(d, &s), 0);
	img = load_png(path);
	CHECK_INT_EQ(test_zbar_decode(img, NULL), 0);
	cairo_surface_destroy(img);

	/* The same screen again: the file already shows it, it is neither encoded nor replaced. */
	CHECK(stat(path, &st) == 0);
	ino = st.st_ino;
	CHECK(chmod(path, 0600) == 0); /* a rewrite would bring 0644 back */
	CHECK_INT_EQ(display_show(d, &s), 0);
	CHECK(stat(path, &st) == 0 && st.st_ino == ino && (st.st_mode & 0777) == 0600);
	/* Removed behind our back: written again. */
	CHECK(unlink(path) == 0);
	CHECK_INT_EQ(display_show(d, &s), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	img = load_png(path);
	CHECK_INT_EQ(cairo_image_surface_get_width(img), 480);
	cairo_surface_destroy(img);

	/* An oversized QR: an error to the caller and a screen that says so, not the old QR. */
	big = malloc(3001);
	CHECK(big);
	memset(big, 'A', 3000);
	big[3000] = 0;
	s.kind = DISPLAY_SCREEN_QR;
	s.qr_text = test_qr_texts[0];
	CHECK_INT_EQ(display_show(d, &s), 0);
	s.qr_text = big;
	CHECK_INT_EQ(display_show(d, &s), -E2BIG);
	CHECK(display_is_up(d)); /* the device is fine */
	img = load_png(path);
	CHECK_INT_EQ(test_zbar_decode(img, NULL), 0);
	cairo_surface_destroy(img);
	free(big);
	CHECK_INT_EQ(count_entries(dir), 1);

	display_free(d);
	unlink(path);
	rmdir(dir);
}

/* Bytes the process has from malloc, in its heap or mapped apart. */
static size_t
in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Whether in_use() sees allocations: not under a sanitizer's or valgrind's allocator. */
static bool
heap_observable(void)
{
	size_t before = in_use();
	void *p = malloc(1 << 20);
	bool seen;

	CHECK(p);
	memset(p, 1, 1 << 20);
	seen = in_use() >= before + (1 << 20);
	free(p);
	return seen;
}

/* Frames kept from one show to the next while orders are shown, freed when the till is idle. */
static void
test_png_kept_frame(void)
{
	char dir[] = "/tmp/display-png-XXXXXX", path[64], spec[96];
	struct display_screen s = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[1]);
	const size_t frame = (size_t)480 * 800 * (4 + 3); /* the surface and its RGB rows */
	struct display *d = NULL;
	size_t before, kept;
	bool heap = heap_observable();

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/screen.png", dir);
	snprintf(spec, sizeof(spec), "png:%s,size=480x800", path);
	CHECK_INT_EQ(display_new(spec, &d), 0);
	CHECK_INT_EQ(display_show(d, &s), 0); /* the renderer's own start-up */
	CHECK_INT_EQ(display_trim(d), 1);
	CHECK_INT_EQ(display_trim(d), 0);
	before = in_use();
	if (!heap)
		fprintf(stderr, "another allocator than glibc's: the memory is not measured\n");

	s.kind = DISPLAY_SCREEN_PAID;
	CHECK_INT_EQ(display_show(d, &s), 0);
	kept = in_use();
	CHECK(!heap || kept >= before + frame);
	/* The next screens draw on the same buffers: nothing the size of a frame allocated anew. */
	s.kind = DISPLAY_SCREEN_QR;
	s.amount_fen++;
	CHECK_INT_EQ(display_show(d, &s), 0);
	CHECK(!heap || in_use() < kept + frame / 4);
	check_png_qr(path, test_qr_texts[1]);

	/* Idle: given back; the next show draws as well as before. */
	CHECK_INT_EQ(display_trim(d), 1);
	CHECK(!heap || in_use() < before + frame / 4);
	s.amount_fen++;
	CHECK_INT_EQ(display_show(d, &s), 0);
	check_png_qr(path, test_qr_texts[1]);

	display_free(d);
	unlink(path);
	rmdir(dir);
}

/* The output directory vanishes and comes back: reported once, retried with backoff. */
static void
test_retry(void)
{
	char dir[] = "/tmp/display-retry-XXXXXX", sub[64], path[96], spec[128];
	struct display_screen s = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
	struct display *d = NULL;
	uint64_t now = now_usec(CLOCK_MONOTONIC), last_gap = 0;
	cairo_surface_t *img;
	char *got = NULL;

	CHECK(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/kiosk", dir);
	snprintf(path, sizeof(path), "%s/screen.png", sub);
	snprintf(spec, sizeof(spec), "png:%s", path);
	CHECK_INT_EQ(display_new(spec, &d), 0);
	CHECK_INT_EQ(display_retry(d, now), 0); /* up: nothing to do */
	CHECK_INT_EQ(display_next_retry_usec(d), UINT64_MAX);

	CHECK_INT_EQ(display_show_at(d, &s, now), -ENOENT);
	CHECK(!display_is_up(d));
	/* Backoff doubles from 1 s and stops at 30 s; until it is due nothing is tried. */
	for (int i = 0; i < 8; i++) {
		uint64_t next = display_next_retry_usec(d), gap = next - now;
		CHECK(gap >= USEC_PER_SEC && gap <= 30 * USEC_PER_SEC);
		if (i > 0)
			CHECK(gap == (last_gap * 2 > 30 * USEC_PER_SEC ? 30 * USEC_PER_SEC
								       : last_gap * 2));
		last_gap = gap;
		CHECK_INT_EQ(display_show_at(d, &s, next - 1), -ENODEV);
		CHECK_INT_EQ(display_next_retry_usec(d), next);
		now = next;
		CHECK_INT_EQ(display_retry(d, now), -ENOENT);
	}
	CHECK_INT_EQ(last_gap, 30 * USEC_PER_SEC);

	/* The directory is back: the next due retry shows the last screen and resets. */
	CHECK(mkdir(sub, 0700) == 0);
	s.qr_text = test_qr_texts[3];
	CHECK_INT_EQ(display_show_at(d, &s, now + 1), -ENODEV); /* remembered, not yet due */
	CHECK_INT_EQ(display_retry(d, display_next_retry_usec(d)), 0);
	CHECK(display_is_up(d));
	CHECK_INT_EQ(display_next_retry_usec(d), UINT64_MAX);
	img = load_png(path);
	CHECK_INT_EQ(test_zbar_decode(img, &got), 1);
	CHECK_STR_EQ(got, test_qr_texts[3]);
	free(got);
	cairo_surface_destroy(img);

	/* After a recovery the backoff starts again from 1 s. */
	unlink(path);
	CHECK(rmdir(sub) == 0);
	now = now_usec(CLOCK_MONOTONIC);
	CHECK_INT_EQ(display_show_at(d, &s, now), -ENOENT);
	CHECK_INT_EQ(display_next_retry_usec(d) - now, USEC_PER_SEC);

	display_free(d);
	rmdir(dir);
}

static int
count_lines(const char *log, const char *needle)
{
	int n = 0;

	for (const char *p = log; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Log once where it is decided: not once a second for the countdown, not at every retry. */
static void
test_log_once(void)
{
	char dir[] = "/tmp/display-log-XXXXXX", path[64], spec[96], *log = NULL, *big;
	struct display_screen s = test_screen(DISPLAY_SCREEN_QR, NULL);
	struct display *d = NULL;
	size_t log_len = 0;
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	FILE *f = open_memstream(&log, &log_len);

	CHECK(f);
	CHECK(mkdtemp(dir));
	big = malloc(2001);
	CHECK(big);
	memset(big, 'Q', 2000);
	big[2000] = 0;
	log_set_stream(f);

	snprintf(path, sizeof(path), "%s/screen.png", dir);
	snprintf(spec, sizeof(spec), "png:%s", path);
	CHECK_INT_EQ(display_new(spec, &d), 0);
	s.qr_text = big;
	for (int i = 0; i < 5; i++) {
		s.seconds_left = 119 - i;
		CHECK_INT_EQ(display_show(d, &s), -E2BIG);
	}
	s.qr_text = test_qr_texts[0];
	CHECK_INT_EQ(display_show(d, &s), 0);
	s.qr_text = big;
	CHECK_INT_EQ(display_show(d, &s), -E2BIG); /* a new order: said again */
	display_free(d);
	unlink(path);

	snprintf(path, sizeof(path), "%s/missing/screen.png", dir);
	snprintf(spec, sizeof(spec), "png:%s", path);
	CHECK_INT_EQ(display_new(spec, &d), 0);
	s.qr_text = test_qr_texts[0];
	for (int i = 0; i < 6; i++) {
		CHECK(display_show_at(d, &s, now) < 0);
		now = display_next_retry_usec(d);
	}
	display_free(d);

	log_set_stream(NULL);
	fclose(f);
	CHECK_INT_EQ(count_lines(log, "cannot be drawn legibly"), 2);
	CHECK_INT_EQ(count_lines(log, "retrying in the background"), 1);
	free(log);
	free(big);
	rmdir(dir);
}

int
main(void)
{
	test_specs();
	test_png();
	test_png_kept_frame();
	test_retry();
	test_log_once();
	return 0;
}
