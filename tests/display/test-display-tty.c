/* SPDX-License-Identifier: MIT */
/* The terminal backend: its half-block output, turned back into an image, decodes with zbar. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "display-test-util.h"
#include "drivers/display/display-private.h"
#include "test.h"

#define SCALE 4 /* pixels per module in the rebuilt image */

/* Removes ESC [ ... final-byte sequences. New string. */
static char *
strip_ansi(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	CHECK(out);
	while (*s) {
		if (s[0] == '\x1b' && s[1] == '[') {
			s += 2;
			while (*s && !(*s >= '@' && *s <= '~'))
				s++;
			if (*s)
				s++;
			continue;
		}
		*o++ = *s++;
	}
	*o = 0;
	return out;
}

/* Module rows of one half-block line: -1 if the line is not QR art; else its width. */
static int
parse_line(const char *line, size_t len, int *top, int *bot, int max)
{
	int n = 0;

	for (size_t i = 0; i < len;) {
		int t, b;
		if (line[i] == ' ') {
			t = b = 0;
			i++;
		} else if (len - i >= 3 && memcmp(line + i, "█", 3) == 0) {
			t = b = 1;
			i += 3;
		} else if (len - i >= 3 && memcmp(line + i, "▀", 3) == 0) {
			t = 1;
			b = 0;
			i += 3;
		} else if (len - i >= 3 && memcmp(line + i, "▄", 3) == 0) {
			t = 0;
			b = 1;
			i += 3;
		} else
			return -1;
		if (n >= max)
			return -1;
		top[n] = t;
		bot[n] = b;
		n++;
	}
	return n;
}

/*
 * Rebuilds the picture a terminal shows (dark glyph halves on a light background) and decodes
 * it. Also checks the 4-module quiet zone. Returns the zbar symbol count; *ret the text.
 */
static int
tty_decode(const char *frame, char **ret)
{
	enum {
		MAXW = 200,
		MAXH = 200
	};
	static int grid[MAXH][MAXW];
	char *plain = strip_ansi(frame), *p = plain;
	int rows = 0, width = -1, top[MAXW], bot[MAXW], n;
	uint8_t *gray;

	while (*p) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		n = parse_line(p, len, top, bot, MAXW);
		if (n >= 21 + 8) {
			CHECK(width < 0 || width == n);
			width = n;
			CHECK(rows + 2 <= MAXH);
			for (int x = 0; x < n; x++) {
				grid[rows][x] = top[x];
				grid[rows + 1][x] = bot[x];
			}
			rows += 2;
		}
		p += len + (nl ? 1 : 0);
	}
	free(plain);
	CHECK(width > 0);
	/* Quiet zone: 4 light modules on every side (the last half row may be padding). */
	for (int y = 0; y < rows; y++)
		for (int x = 0; x < width; x++)
			if (x < 4 || x >= width - 4 || y < 4 || y >= width - 4)
				CHECK_INT_EQ(grid[y][x], 0);
	CHECK(rows == width || rows == width + 1);

	gray = malloc((size_t)width * SCALE * (size_t)rows * SCALE);
	CHECK(gray);
	for (int y = 0; y < rows * SCALE; y++)
		for (int x = 0; x < width * SCALE; x++)
			gray[(size_t)y * width * SCALE + x] = grid[y / SCALE][x / SCALE] ? 0 : 255;
	n = test_zbar_decode_gray(gray, width * SCALE, rows * SCALE, ret);
	free(gray);
	return n;
}

static char *
format(const struct display_screen *s, int want)
{
	struct buf b = BUF_INIT(1 << 20);

	CHECK_INT_EQ(display_tty_format(s, 0, &b), want);
	return buf_steal(&b);
}

static void
test_format_qr(void)
{
	for (unsigned t = 0; test_qr_texts[t]; t++) {
		struct display_screen s = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[t]);
		char *out = format(&s, 0), *got = NULL;

		CHECK_INT_EQ(tty_decode(out, &got), 1);
		CHECK_STR_EQ(got, test_qr_texts[t]);
		CHECK(strstr(out, "¥88.88"));
		CHECK(strstr(out, "Expires in 1:59"));
		free(got);
		free(out);
	}
}

static void
test_format_screens(void)
{
	for (int k = 0; k < _DISPLAY_SCREEN_MAX; k++) {
		struct display_screen s = test_screen(k, test_qr_texts[0]);
		struct display_labels l;
		char *out;

		s.store_name = "Shop\x1b[2J\x1b]0;pwned\x07";
		out = format(&s, 0);
		display_labels_get(k, &l);
		CHECK(strstr(out, l.title_zh) && strstr(out, l.title_en));
		/* Input never reaches the terminal as control sequences. */
		CHECK(!strstr(out, "\x1b[2J") && !strstr(out, "\x1b]") && !strchr(out, '\x07'));
		if (k == DISPLAY_SCREEN_FAILED)
			CHECK(strstr(out, "余额不足 / Balance not enough"));
		free(out);
	}
	/* A sub_code we do not know shows sub_msg. */
	struct display_screen f = test_screen(DISPLAY_SCREEN_FAILED, NULL);
	f.reason_code = "ACQ.NEW_THING";
	f.reason_text = "新的错误";
	char *out = format(&f, 0);
	CHECK(strstr(out, "新的错误") && strstr(out, "ACQ.NEW_THING"));
	free(out);

	/* No QR at all rather than a wrong one. */
	struct display_screen q = test_screen(DISPLAY_SCREEN_QR, NULL);
	out = format(&q, -E2BIG);
	CHECK(strstr(out, "QR code cannot be shown") && !strstr(out, "▀"));
	free(out);
}

static char *
read_fd(int fd)
{
	struct buf b = BUF_INIT(1 << 20);
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		CHECK(buf_append(&b, chunk, (size_t)n) == 0);
	return buf_steal(&b);
}

/* Through the public API on a pipe, including a reader too slow to keep up. */
static void
test_stream(void)
{
	struct display_screen s = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[1]);
	struct display *d = NULL;
	char *out, *got = NULL, junk[4096];
	int p[2];
	FILE *f;

	CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	f = fdopen(p[1], "w");
	CHECK(f);
	CHECK_INT_EQ(display_new_stream(f, &d), 0);
	CHECK(display_is_up(d));
	CHECK_INT_EQ(display_show(d, &s), 0);
	out = read_fd(p[0]);
	CHECK_INT_EQ(tty_decode(out, &got), 1);
	CHECK_STR_EQ(got, test_qr_texts[1]);
	free(got);
	free(out);

	/* Nobody reads: the frame is dropped, show returns at once, the display stays up. */
	memset(junk, 'x', sizeof(junk));
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	CHECK_INT_EQ(display_show(d, &s), -EAGAIN);
	CHECK(display_is_up(d));
	free(read_fd(p[0]));
	CHECK_INT_EQ(display_show(d, &s), 0);

	/* The reader goes away: an error and a down display, never a SIGPIPE death. */
	close(p[0]);
	CHECK_INT_EQ(display_show(d, &s), -EPIPE);
	CHECK(!display_is_up(d));
	display_free(d);
	fclose(f);
}

/* A terminal by path; a device that fails is reported and retried, never fatal. */
static void
test_path(void)
{
	char dir[] = "/tmp/display-tty-XXXXXX", path[64], spec[80];
	struct display_screen s = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
	struct display *d = NULL;
	char *out, *got = NULL;
	uint64_t next;
	int fd;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console", dir);
	snprintf(spec, sizeof(spec), "tty:%s", path);
	/* The terminal is missing at start: still a display, down, retried later. */
	CHECK_INT_EQ(display_new(spec, &d), 0);
	CHECK(!display_is_up(d));
	next = display_next_retry_usec(d);
	CHECK(next != UINT64_MAX);
	CHECK_INT_EQ(display_show_at(d, &s, next - 1), -ENODEV); /* not due: no attempt */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_INT_EQ(display_retry(d, next), 0);
	CHECK(display_is_up(d));
	display_free(d);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	out = read_fd(fd);
	close(fd);
	/* display_retry() showed the screen remembered from the failed show. */
	CHECK_INT_EQ(tty_decode(out, &got), 1);
	CHECK_STR_EQ(got, test_qr_texts[0]);
	free(got);
	free(out);
	unlink(path);
	rmdir(dir);

	/* A write error takes the display down with a backoff; the caller just gets the error. */
	CHECK_INT_EQ(display_new("tty:/dev/full", &d), 0);
	CHECK(display_is_up(d));
	CHECK_INT_EQ(display_show(d, &s), -ENOSPC);
	CHECK(!display_is_up(d));
	CHECK(display_next_retry_usec(d) != UINT64_MAX);
	display_free(d);
}

int
main(void)
{
	test_format_qr();
	test_format_screens();
	test_stream();
	test_path();
	return 0;
}
