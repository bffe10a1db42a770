/* SPDX-License-Identifier: MIT */
/* What the web display sends its page: one screen as JSON, with the QR drawn as SVG here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "drivers/display/display-private.h"

#define CODE_MAX 64 /* bytes of reason_code shown, as on the pixel screens */

int
display_qr_svg(const char *text, struct buf *out)
{
	QRcode *qr = NULL;
	int r, side;

	r = display_qr_encode(text, &qr);
	if (r < 0)
		return r;
	side = qr->width + 2 * DISPLAY_QR_QUIET_MODULES;
	/* Single quotes only, so the symbol sits in a JSON string without escapes. One
	 * subpath per horizontal run of dark modules, in module units. */
	r = buf_printf(out,
		       "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 %d %d' "
		       "shape-rendering='crispEdges'><rect width='%d' height='%d' "
		       "fill='#fff'/><path fill='#000' d='",
		       side, side, side, side);
	for (int y = 0; r >= 0 && y < qr->width; y++)
		for (int x = 0; r >= 0 && x < qr->width;) {
			int run = 0;
			while (x + run < qr->width && (qr->data[y * qr->width + x + run] & 1))
				run++;
			if (run == 0) {
				x++;
				continue;
			}
			r = buf_printf(out, "M%d %dh%dv1h-%dz", x + DISPLAY_QR_QUIET_MODULES,
				       y + DISPLAY_QR_QUIET_MODULES, run, run);
			x += run;
		}
	if (r >= 0)
		r = buf_puts(out, "'/></svg>");
	QRcode_free(qr);
	return r;
}

/* A JSON string; <, > and & escaped too, so the text can never close a tag anywhere. */
static int
json_str(struct buf *out, const char *key, const char *s)
{
	int r = buf_printf(out, ",\"%s\":\"", key);

	for (const unsigned char *p = (const unsigned char *)s; r >= 0 && *p; p++) {
		if (*p == '"' || *p == '\\')
			r = buf_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
			r = buf_printf(out, "\\u%04x", *p);
		else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			r = buf_printf(out, "\\u%04x", p[2] == 0xa8 ? 0x2028 : 0x2029);
			p += 2;
		} else
			r = buf_putc(out, (char)*p);
	}
	return r < 0 ? r : buf_putc(out, '"');
}

static int
json_str_sanitized(struct buf *out, const char *key, const char *s, size_t max)
{
	_cleanup_free_ char *clean = NULL;
	int r;

	if (isempty(s))
		return 0;
	r = display_text_sanitize(s, max, &clean);
	return r < 0 ? r : json_str(out, key, clean);
}

/* A Chinese/English pair under key_zh and key_en, as far as the screen's language shows it. */
static int
json_pair(struct buf *out, const char *key_zh, const char *zh, const char *key_en, const char *en,
	  enum display_language lang)
{
	int r = 0;

	if (zh && lang != DISPLAY_LANGUAGE_EN)
		r = json_str(out, key_zh, zh);
	if (r >= 0 && en && lang != DISPLAY_LANGUAGE_ZH)
		r = json_str(out, key_en, en);
	return r;
}

int
display_web_state(const struct display_screen *s, uint64_t seq, struct buf *out)
{
	char amount[DISPLAY_AMOUNT_BUF];
	struct display_labels l;
	const struct display_reason *reason = NULL;
	int r;

	if ((unsigned)s->kind >= _DISPLAY_SCREEN_MAX)
		return -EINVAL;
	display_labels_get(s->kind, &l);
	r = buf_printf(out, "{\"seq\":%llu", (unsigned long long)seq);
	if (r >= 0)
		r = json_str(out, "screen", display_screen_kind_to_string(s->kind));
	if (r >= 0)
		r = json_str_sanitized(out, "store", s->store_name, DISPLAY_TEXT_MAX);
	if (r >= 0)
		r = json_str(out, "lang",
			     s->language == DISPLAY_LANGUAGE_ZH   ? "zh"
			     : s->language == DISPLAY_LANGUAGE_EN ? "en"
								  : "both");
	if (r >= 0)
		r = json_pair(out, "title_zh", l.title_zh, "title_en", l.title_en, s->language);
	if (r >= 0 && s->kind != DISPLAY_SCREEN_FAILED)
		r = json_pair(out, "sub_zh", l.sub_zh, "sub_en", l.sub_en, s->language);
	if (r >= 0 && s->kind != DISPLAY_SCREEN_IDLE && s->amount_fen > 0)
		r = json_str(out, "amount", display_amount_format(s->amount_fen, amount));
	if (r >= 0 && s->kind != DISPLAY_SCREEN_IDLE)
		r = json_str_sanitized(out, "subject", s->subject, DISPLAY_TEXT_MAX);
	if (r >= 0 && s->kind == DISPLAY_SCREEN_FAILED) {
		/* The same choice as the pixel screens: plain words for a known code, else
		 * Alipay's sub_msg; the code itself in small print. */
		reason = display_reason_lookup(s->reason_code);
		if (reason)
			r = json_pair(out, "reason_zh", reason->zh, "reason_en", reason->en,
				      s->language);
		else
			r = json_str_sanitized(out, "reason_text", s->reason_text,
					       DISPLAY_TEXT_MAX);
		if (r >= 0)
			r = json_str_sanitized(out, "reason_code", s->reason_code, CODE_MAX);
	}
	if (r >= 0 && s->kind == DISPLAY_SCREEN_QR) {
		if (s->seconds_left >= 0)
			r = buf_printf(out, ",\"seconds_left\":%d", MIN(s->seconds_left, 5999));
		if (r >= 0)
			r = buf_puts(out, ",\"qr\":\"");
		if (r >= 0) {
			size_t mark = out->len;
			int q = display_qr_svg(s->qr_text, out);
			if (q == -ENOMEM || q == -ENOBUFS)
				return q;
			if (q < 0) {
				/* Never a partial symbol: the page says it cannot show one. */
				buf_truncate(out, mark);
				r = buf_puts(out, "\",\"qr_error\":true");
			} else
				r = buf_putc(out, '"');
		}
	}
	if (r >= 0)
		r = buf_putc(out, '}');
	return r;
}
