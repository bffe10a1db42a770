/* SPDX-License-Identifier: MIT */
/* Terminal output: the screen as UTF-8 lines, the QR drawn with half-block characters. */
#include <errno.h>
#include <stdlib.h>

#include "common/macro.h"
#include "drivers/display/display-private.h"

#define TTY_TEXT_MAX 120 /* bytes per text line on a terminal */

static void
freestrp(char **p)
{
	free(*p);
}

/* One text line, sanitised (a terminal must never receive control characters from input). */
static int
put_line(struct buf *out, const char *prefix, const char *text)
{
	__attribute__((cleanup(freestrp))) char *clean = NULL;
	int r;

	if (isempty(text))
		return 0;
	r = display_text_sanitize(text, TTY_TEXT_MAX, &clean);
	if (r < 0)
		return r;
	return buf_printf(out, "%s%s\n", prefix, clean);
}

/* "中文 / English", or one of them when the screen shows one language. */
static int
put_pair(struct buf *out, const char *first, const char *second)
{
	return second ? buf_printf(out, "%s / %s\n", first, second)
		      : buf_printf(out, "%s\n", first);
}

/*
 * Two module rows per text row: "▀" upper dark, "▄" lower dark, "█" both, " " neither, in black
 * on white whatever the terminal's own colours. Quiet zone of 4 modules on every side.
 */
static int
put_qr(struct buf *out, const QRcode *qr)
{
	int q = DISPLAY_QR_QUIET_MODULES, n = qr->width, total = n + 2 * q, r;

	for (int y = 0; y < total; y += 2) {
		r = buf_puts(out, "\x1b[30;47m");
		for (int x = 0; x < total && r >= 0; x++) {
			int mx = x - q, my = y - q;
			int top = mx >= 0 && mx < n && my >= 0 && my < n &&
				  (qr->data[my * n + mx] & 1);
			int bot = mx >= 0 && mx < n && my + 1 >= 0 && my + 1 < n &&
				  (qr->data[(my + 1) * n + mx] & 1);
			r = buf_puts(out, top && bot ? "█" : top ? "▀" : bot ? "▄" : " ");
		}
		if (r >= 0)
			r = buf_puts(out, "\x1b[0m\n");
		if (r < 0)
			return r;
	}
	return 0;
}

int
display_tty_format(const struct display_screen *s, int clear, struct buf *out)
{
	const struct display_reason *reason;
	struct display_labels l;
	char amount[DISPLAY_AMOUNT_BUF], cd[DISPLAY_COUNTDOWN_BUF], line[96];
	QRcode *qr = NULL;
	int r, qr_error = 0;

	if ((unsigned)s->kind >= _DISPLAY_SCREEN_MAX)
		return -EINVAL;
	if (s->kind == DISPLAY_SCREEN_QR) {
		r = display_qr_encode(s->qr_text, &qr);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			qr_error = -E2BIG;
	}
	display_labels_get(s->kind, &l);
	display_language_pick(s->language, &l.title_zh, &l.title_en);
	display_language_pick(s->language, &l.sub_zh, &l.sub_en);
	/* Reset attributes first: a frame cut short before could have left colours on. */
	r = buf_puts(out, clear ? "\x1b[0m\x1b[H\x1b[2J" : "\x1b[0m\n");
	if (r >= 0)
		r = put_line(out, "== ", s->store_name);
	if (r >= 0)
		r = put_pair(out, l.title_zh, l.title_en);
	if (r >= 0 && s->kind != DISPLAY_SCREEN_IDLE && s->amount_fen > 0)
		r = buf_printf(out, "%s\n", display_amount_format(s->amount_fen, amount));
	if (r >= 0 && s->kind != DISPLAY_SCREEN_IDLE)
		r = put_line(out, "", s->subject);
	if (r >= 0 && s->kind == DISPLAY_SCREEN_FAILED) {
		reason = display_reason_lookup(s->reason_code);
		if (reason) {
			const char *first = reason->zh, *second = reason->en;
			display_language_pick(s->language, &first, &second);
			r = put_pair(out, first, second);
		} else
			r = put_line(out, "", s->reason_text);
		if (r >= 0)
			r = put_line(out, "code: ", s->reason_code);
	} else if (r >= 0 && l.sub_zh)
		r = put_pair(out, l.sub_zh, l.sub_en);
	if (r >= 0 && s->kind == DISPLAY_SCREEN_QR && s->seconds_left >= 0) {
		display_countdown_format(s->seconds_left, cd);
		snprintf(line, sizeof(line), "剩余 %s · Expires in %s", cd, cd);
		r = buf_printf(out, "%s\n", line);
	}
	if (r >= 0 && qr)
		r = put_qr(out, qr);
	/* Never a partial symbol: say so instead (the renderer does the same). */
	if (r >= 0 && qr_error)
		r = buf_puts(out, "二维码无法显示 / QR code cannot be shown\n");
	if (qr)
		QRcode_free(qr);
	return r < 0 ? r : qr_error;
}
