/* SPDX-License-Identifier: MIT */
/* Draws the customer screens with cairo and pango; the layout adapts to size and orientation. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "drivers/display/display-private.h"

/* After common/macro.h: glib replaces MIN and MAX with equivalent definitions of its own. */
#include <pango/pangocairo.h>

#define COLOR_BLUE  0x1677ff
#define COLOR_GREEN 0x16a34a
#define COLOR_RED   0xdc2626
#define COLOR_GREY  0x6b7280
#define COLOR_TEXT  0x111827
#define COLOR_TEXT2 0x4b5563
#define COLOR_WHITE 0xffffff

#define SURFACE_MIN 64
#define SURFACE_MAX 8192
#define CODE_MAX    64 /* bytes of reason_code shown */

/* Families in order of preference; fontconfig falls back for anything missing (emoji…). */
#define FONT_FAMILIES "WenQuanYi Micro Hei, Noto Sans CJK SC, Source Han Sans SC, sans-serif"

struct display_renderer {
	PangoFontMap *fontmap;
	PangoContext *ctx;
	PangoFontDescription *font;
	char *qr_text; /* the text qr was encoded from: the countdown redraws it every second */
	QRcode *qr;
};

enum icon {
	ICON_NONE,
	ICON_CHECK,
	ICON_CROSS,
	ICON_BAR,
	ICON_PHONE,
	ICON_DOTS,
	ICON_CODE,
};

/* One item of a vertical stack: a text or an icon. */
struct block {
	const char *text;
	double px; /* font size in pixels, or icon diameter */
	uint32_t rgb;
	int bold;
	int lines; /* at most this many lines, the last one ellipsized */
	enum icon icon;
};

static void
set_rgb(cairo_t *cr, uint32_t rgb)
{
	cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
			     (rgb & 0xff) / 255.0);
}

struct display_renderer *
display_renderer_free(struct display_renderer *r)
{
	if (!r)
		return NULL;
	if (r->qr)
		QRcode_free(r->qr);
	free(r->qr_text);
	if (r->font)
		pango_font_description_free(r->font);
	if (r->ctx)
		g_object_unref(r->ctx);
	if (r->fontmap)
		g_object_unref(r->fontmap);
	free(r);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct display_renderer *, display_renderer_free);

int
display_renderer_new(struct display_renderer **ret)
{
	_cleanup_(display_renderer_freep) struct display_renderer *r = NULL;
	cairo_font_options_t *fo;
	PangoFont *f;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	/* A font map of our own: nothing else in the process can change its settings. */
	r->fontmap = pango_cairo_font_map_new();
	if (!r->fontmap)
		return -ENOMEM;
	r->ctx = pango_font_map_create_context(r->fontmap);
	if (!r->ctx)
		return -ENOMEM;
	/* Fixed language: Han glyphs are chosen for Simplified Chinese whatever LANG says. */
	pango_context_set_language(r->ctx, pango_language_from_string("zh-cn"));
	pango_context_set_base_dir(r->ctx, PANGO_DIRECTION_LTR);
	pango_cairo_context_set_resolution(r->ctx, 96);
	fo = cairo_font_options_create();
	cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	pango_cairo_context_set_font_options(r->ctx, fo);
	cairo_font_options_destroy(fo);
	r->font = pango_font_description_from_string(FONT_FAMILIES);
	if (!r->font)
		return -ENOMEM;
	pango_font_description_set_absolute_size(r->font, 20 * PANGO_SCALE);

	/* Loads the font now rather than during the first payment, and says if CJK is missing. */
	f = pango_font_map_load_font(r->fontmap, r->ctx, r->font);
	if (!f || !pango_font_has_char(f, 0x652f /* 支 */))
		log_warning("display: no CJK font found; install fonts-wqy-microhei or "
			    "fonts-noto-cjk, Chinese text will show as boxes");
	if (f)
		g_object_unref(f);
	*ret = TAKE_PTR(r);
	return 0;
}

static PangoLayout *
block_layout(struct display_renderer *r, const struct block *b, int width, PangoAlignment align,
	     unsigned *truncated)
{
	PangoFontDescription *fd = pango_font_description_copy_static(r->font);
	PangoLayout *l = pango_layout_new(r->ctx);

	pango_font_description_set_absolute_size(fd, b->px * PANGO_SCALE);
	pango_font_description_set_weight(fd, b->bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
	pango_layout_set_width(l, MAX(width, 1) * PANGO_SCALE);
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
	pango_layout_set_height(l, -MAX(b->lines, 1));
	pango_layout_set_alignment(l, align);
	pango_layout_set_text(l, b->text, -1);
	if (pango_layout_is_ellipsized(l))
		(*truncated)++;
	return l;
}

static void
draw_icon(cairo_t *cr, enum icon icon, double cx, double cy, double d, uint32_t rgb)
{
	double r = d / 2, lw = d * 0.08;

	cairo_save(cr);
	set_rgb(cr, rgb);
	cairo_arc(cr, cx, cy, r, 0, 2 * M_PI);
	cairo_fill(cr);
	set_rgb(cr, COLOR_WHITE);
	cairo_set_line_width(cr, lw);
	cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	switch (icon) {
	case ICON_CHECK:
		cairo_move_to(cr, cx - r * 0.45, cy + r * 0.02);
		cairo_line_to(cr, cx - r * 0.12, cy + r * 0.35);
		cairo_line_to(cr, cx + r * 0.48, cy - r * 0.3);
		cairo_stroke(cr);
		break;
	case ICON_CROSS:
		cairo_move_to(cr, cx - r * 0.35, cy - r * 0.35);
		cairo_line_to(cr, cx + r * 0.35, cy + r * 0.35);
		cairo_move_to(cr, cx + r * 0.35, cy - r * 0.35);
		cairo_line_to(cr, cx - r * 0.35, cy + r * 0.35);
		cairo_stroke(cr);
		break;
	case ICON_BAR:
		cairo_move_to(cr, cx - r * 0.45, cy);
		cairo_line_to(cr, cx + r * 0.45, cy);
		cairo_stroke(cr);
		break;
	case ICON_PHONE:
		cairo_set_line_width(cr, lw * 0.7);
		cairo_rectangle(cr, cx - r * 0.28, cy - r * 0.5, r * 0.56, r * 1.0);
		cairo_stroke(cr);
		cairo_arc(cr, cx, cy + r * 0.36, lw * 0.45, 0, 2 * M_PI);
		cairo_fill(cr);
		break;
	case ICON_DOTS:
		for (int i = -1; i <= 1; i++) {
			cairo_arc(cr, cx + i * r * 0.4, cy, lw * 0.8, 0, 2 * M_PI);
			cairo_fill(cr);
		}
		break;
	case ICON_CODE:
		/* A barcode: bars of two widths. */
		for (int i = 0; i < 9; i++) {
			double x = cx - r * 0.5 + i * r * 0.125;
			cairo_rectangle(cr, x, cy - r * 0.35, (i % 3 == 0 ? 0.07 : 0.035) * r * 1.4,
					r * 0.7);
		}
		cairo_fill(cr);
		break;
	case ICON_NONE:
		break;
	}
	cairo_restore(cr);
}

/* Draws the blocks centred vertically in the rectangle; nothing leaves it. */
static void
stack_draw(cairo_t *cr, struct display_renderer *r, const struct block *blocks, size_t n, int x,
	   int y, int w, int h, unsigned *truncated)
{
	PangoLayout *layouts[16] = {0};
	int heights[16] = {0}, total = 0, yy;

	assert(n <= ELEMENTSOF(layouts));
	for (size_t i = 0; i < n; i++) {
		if (blocks[i].icon != ICON_NONE)
			heights[i] = (int)ceil(blocks[i].px);
		else {
			int lw;
			layouts[i] = block_layout(r, &blocks[i], w, PANGO_ALIGN_CENTER, truncated);
			pango_layout_get_pixel_size(layouts[i], &lw, &heights[i]);
		}
		total += heights[i];
		if (i > 0)
			total += (int)(blocks[i].px * 0.3);
	}
	yy = y + MAX(0, (h - total) / 2);
	cairo_save(cr);
	cairo_rectangle(cr, x, y, w, h);
	cairo_clip(cr);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			yy += (int)(blocks[i].px * 0.3);
		if (blocks[i].icon != ICON_NONE)
			draw_icon(cr, blocks[i].icon, x + w / 2.0, yy + blocks[i].px / 2,
				  blocks[i].px, blocks[i].rgb);
		else {
			set_rgb(cr, blocks[i].rgb);
			cairo_move_to(cr, x, yy);
			pango_cairo_show_layout(cr, layouts[i]);
			g_object_unref(layouts[i]);
		}
		yy += heights[i];
	}
	cairo_restore(cr);
}

/* The light square (symbol + quiet zone) and the symbol at an integer module size, centred. */
static int
draw_qr(cairo_t *cr, struct display_renderer *r, const char *text, int ax, int ay, int side,
	struct display_render_info *info)
{
	int px, qx, qy, n, k;

	cairo_save(cr);
	set_rgb(cr, COLOR_WHITE);
	cairo_rectangle(cr, ax, ay, side, side);
	cairo_fill(cr);
	cairo_restore(cr);
	info->area_x = ax;
	info->area_y = ay;
	info->area_side = side;

	if (!r->qr || !r->qr_text || !text || !STR_EQ(r->qr_text, text)) {
		QRcode *qr;
		char *copy;

		k = display_qr_encode(text, &qr);
		if (k < 0)
			return k;
		copy = strdup(text);
		if (!copy) {
			QRcode_free(qr);
			return -ENOMEM;
		}
		if (r->qr)
			QRcode_free(r->qr);
		free(r->qr_text);
		r->qr = qr;
		r->qr_text = copy;
	}
	n = r->qr->width;
	px = display_qr_module_px(n, side);
	if (px < 0)
		return px;
	qx = ax + (side - n * px) / 2;
	qy = ay + (side - n * px) / 2;

	cairo_save(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
	set_rgb(cr, 0x000000);
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n;) {
			int run = 0;
			while (x + run < n && (r->qr->data[y * n + x + run] & 1))
				run++;
			if (run > 0) {
				cairo_rectangle(cr, qx + x * px, qy + y * px, run * px, px);
				x += run;
			} else
				x++;
		}
	cairo_fill(cr);
	cairo_restore(cr);

	info->qr_drawn = 1;
	info->qr_x = qx;
	info->qr_y = qy;
	info->qr_modules = n;
	info->module_px = px;
	return 0;
}

static void
draw_header(cairo_t *cr, struct display_renderer *r, const char *store, int w, int hh, int m,
	    unsigned *truncated)
{
	struct block name = {store, MIN(hh * 0.4, w * 0.05), COLOR_WHITE, 1, 1, ICON_NONE};
	struct block brand = {"支付宝 Alipay", MIN(hh * 0.3, w * 0.04), COLOR_WHITE, 0, 1,
			      ICON_NONE};
	PangoLayout *l;
	int bw, bh, nw, nh;

	cairo_save(cr);
	set_rgb(cr, COLOR_BLUE);
	cairo_rectangle(cr, 0, 0, w, hh);
	cairo_fill(cr);

	l = block_layout(r, &brand, w / 3, PANGO_ALIGN_LEFT, truncated);
	pango_layout_get_pixel_size(l, &bw, &bh);
	set_rgb(cr, COLOR_WHITE);
	cairo_move_to(cr, w - m - bw, (hh - bh) / 2);
	pango_cairo_show_layout(cr, l);
	g_object_unref(l);

	if (!isempty(store)) {
		int avail = w - 3 * m - bw;
		l = block_layout(r, &name, avail, PANGO_ALIGN_LEFT, truncated);
		pango_layout_get_pixel_size(l, &nw, &nh);
		cairo_rectangle(cr, m, 0, avail, hh);
		cairo_clip(cr);
		cairo_move_to(cr, m, (hh - nh) / 2);
		pango_cairo_show_layout(cr, l);
		g_object_unref(l);
	}
	cairo_restore(cr);
}

static void
screen_style(enum display_screen_kind k, enum icon *ret_icon, uint32_t *ret_rgb)
{
	enum icon icon = ICON_NONE;
	uint32_t rgb = COLOR_BLUE;

	switch (k) {
	case DISPLAY_SCREEN_PAID:
		icon = ICON_CHECK;
		rgb = COLOR_GREEN;
		break;
	case DISPLAY_SCREEN_FAILED:
		icon = ICON_CROSS;
		rgb = COLOR_RED;
		break;
	case DISPLAY_SCREEN_CANCELED:
		icon = ICON_BAR;
		rgb = COLOR_GREY;
		break;
	case DISPLAY_SCREEN_CONFIRM:
		icon = ICON_PHONE;
		break;
	case DISPLAY_SCREEN_PROCESSING:
		icon = ICON_DOTS;
		break;
	case DISPLAY_SCREEN_SHOW_CODE:
		icon = ICON_CODE;
		break;
	case DISPLAY_SCREEN_IDLE:
	case DISPLAY_SCREEN_QR:
	case _DISPLAY_SCREEN_MAX:
		break;
	}
	*ret_icon = icon;
	*ret_rgb = rgb;
}

struct texts {
	char *store, *subject, *reason_text, *reason_code;
	char amount[DISPLAY_AMOUNT_BUF];
	char countdown[64];
};

static void
texts_free(struct texts *t)
{
	free(t->store);
	free(t->subject);
	free(t->reason_text);
	free(t->reason_code);
}

static int
texts_prepare(const struct display_screen *s, struct texts *t, unsigned *truncated)
{
	int k;
	char cd[DISPLAY_COUNTDOWN_BUF];

	*t = (struct texts){0};
	k = display_text_sanitize(s->store_name, DISPLAY_TEXT_MAX, &t->store);
	if (k >= 0)
		*truncated += k;
	if (k >= 0 && (k = display_text_sanitize(s->subject, DISPLAY_TEXT_MAX, &t->subject)) >= 0)
		*truncated += k;
	if (k >= 0 &&
	    (k = display_text_sanitize(s->reason_text, DISPLAY_TEXT_MAX, &t->reason_text)) >= 0)
		*truncated += k;
	if (k >= 0 && (k = display_text_sanitize(s->reason_code, CODE_MAX, &t->reason_code)) >= 0)
		*truncated += k;
	if (k < 0) {
		texts_free(t);
		return k;
	}
	display_amount_format(s->amount_fen, t->amount);
	if (s->seconds_left >= 0)
		snprintf(t->countdown, sizeof(t->countdown), "剩余 %s · Expires in %s",
			 display_countdown_format(s->seconds_left, cd), cd);
	return 0;
}

/* Drops the text blocks left without text by the language choice; returns the new count. */
static size_t
blocks_compact(struct block *b, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (b[i].text || b[i].icon != ICON_NONE)
			b[k++] = b[i];
	return k;
}

/* The labels of a screen in the languages it shows. */
static void
labels_for(const struct display_screen *s, struct display_labels *l)
{
	display_labels_get(s->kind, l);
	display_language_pick(s->language, &l->title_zh, &l->title_en);
	display_language_pick(s->language, &l->sub_zh, &l->sub_en);
}

/* The blocks of a status screen (everything but the QR), in order; returns the count. */
static size_t
status_blocks(const struct display_screen *s, const struct texts *t, double u, int with_icon,
	      struct block *b)
{
	const struct display_reason *reason = NULL;
	struct display_labels l;
	enum icon icon;
	uint32_t rgb;
	size_t n = 0;

	labels_for(s, &l);
	screen_style(s->kind, &icon, &rgb);
	if (with_icon && icon != ICON_NONE)
		b[n++] = (struct block){NULL, 22 * u, rgb, 0, 1, icon};
	b[n++] =
		(struct block){l.title_zh, 7 * u, s->kind == DISPLAY_SCREEN_IDLE ? COLOR_TEXT : rgb,
			       1,          2,     ICON_NONE};
	b[n++] = (struct block){l.title_en, 4.2 * u, COLOR_TEXT2, 0, 2, ICON_NONE};
	if (t->amount[0] && s->kind != DISPLAY_SCREEN_IDLE)
		b[n++] = (struct block){t->amount, 10 * u, COLOR_TEXT, 1, 1, ICON_NONE};
	if (s->kind == DISPLAY_SCREEN_FAILED) {
		reason = display_reason_lookup(s->reason_code);
		if (reason) {
			const char *first = reason->zh, *second = reason->en;
			display_language_pick(s->language, &first, &second);
			b[n++] = (struct block){first, 5 * u, COLOR_RED, 1, 2, ICON_NONE};
			b[n++] = (struct block){second, 3.6 * u, COLOR_TEXT2, 0, 2, ICON_NONE};
		} else if (!isempty(t->reason_text))
			b[n++] =
				(struct block){t->reason_text, 4.4 * u, COLOR_RED, 0, 2, ICON_NONE};
		if (!isempty(t->reason_code))
			b[n++] = (struct block){t->reason_code, 2.6 * u, COLOR_GREY, 0, 1,
						ICON_NONE};
	} else if (l.sub_zh) {
		b[n++] = (struct block){l.sub_zh, 3.8 * u, COLOR_TEXT2, 0, 1, ICON_NONE};
		b[n++] = (struct block){l.sub_en, 3.2 * u, COLOR_GREY, 0, 1, ICON_NONE};
	}
	if (!isempty(t->subject) && s->kind != DISPLAY_SCREEN_IDLE)
		b[n++] = (struct block){t->subject, 3.2 * u, COLOR_GREY, 0, 2, ICON_NONE};
	return blocks_compact(b, n);
}

int
display_render(struct display_renderer *r, cairo_surface_t *surface, const struct display_screen *s,
	       struct display_render_info *ret_info)
{
	struct display_render_info info = {0};
	struct block b[16];
	struct texts t;
	cairo_format_t fmt;
	cairo_t *cr;
	int w, h, hh, m, landscape, k, result = 0;
	double u;
	size_t n;

	if (!r || !surface || !s || cairo_surface_get_type(surface) != CAIRO_SURFACE_TYPE_IMAGE)
		return -EINVAL;
	if ((unsigned)s->kind >= _DISPLAY_SCREEN_MAX)
		return -EINVAL;
	fmt = cairo_image_surface_get_format(surface);
	if (fmt != CAIRO_FORMAT_RGB24 && fmt != CAIRO_FORMAT_ARGB32 &&
	    fmt != CAIRO_FORMAT_RGB16_565)
		return -EINVAL;
	w = cairo_image_surface_get_width(surface);
	h = cairo_image_surface_get_height(surface);
	if (w < SURFACE_MIN || h < SURFACE_MIN || w > SURFACE_MAX || h > SURFACE_MAX)
		return -EINVAL;

	k = texts_prepare(s, &t, &info.truncated);
	if (k < 0)
		return k;

	landscape = w >= h;
	u = MIN(w, h) / 100.0;
	hh = MAX(24, (int)lround(h * (landscape ? 0.11 : 0.08)));
	m = MAX(4, (int)lround(MIN(w, h) * 0.04));
	info.margin = m;

	cr = cairo_create(surface);
	pango_cairo_update_context(cr, r->ctx);
	set_rgb(cr, COLOR_WHITE);
	cairo_paint(cr);
	draw_header(cr, r, t.store, w, hh, m, &info.truncated);

	if (s->kind == DISPLAY_SCREEN_QR) {
		struct display_labels l;
		int ax, ay, side, tx, ty, tw, th, top_h = 0;
		size_t top = 0;

		labels_for(s, &l);
		if (landscape) {
			int col = w / 2;
			side = MIN(col - 2 * m, h - hh - 2 * m);
			ax = (col - side) / 2;
			ay = hh + (h - hh - side) / 2;
			tx = col;
			ty = hh + m;
			tw = w - col - m;
			th = h - hh - 2 * m;
		} else {
			top_h = (int)((h - hh) * 0.2);
			side = MIN(w - 2 * m, (int)((h - hh) * 0.55));
			ax = (w - side) / 2;
			ay = hh + top_h;
			tx = m;
			ty = ay + side;
			tw = w - 2 * m;
			th = h - m - ty;
		}
		n = 0;
		b[n++] = (struct block){l.title_zh, 6 * u, COLOR_BLUE, 1, 2, ICON_NONE};
		if (l.title_en)
			b[n++] = (struct block){l.title_en, 3.8 * u, COLOR_TEXT2, 0, 2, ICON_NONE};
		top = n;
		if (t.amount[0])
			b[n++] = (struct block){t.amount, 10 * u, COLOR_TEXT, 1, 1, ICON_NONE};
		if (!isempty(t.subject))
			b[n++] = (struct block){t.subject, 3.2 * u, COLOR_GREY, 0, 2, ICON_NONE};
		if (t.countdown[0])
			b[n++] = (struct block){t.countdown, 3.4 * u, COLOR_TEXT2, 0, 1, ICON_NONE};
		if (landscape)
			stack_draw(cr, r, b, n, tx, ty, tw, th, &info.truncated);
		else {
			stack_draw(cr, r, b, top, m, hh, w - 2 * m, top_h, &info.truncated);
			stack_draw(cr, r, b + top, n - top, tx, ty, tw, th, &info.truncated);
		}
		k = draw_qr(cr, r, s->qr_text, ax, ay, side, &info);
		if (k < 0) {
			/* Never a blurred or partial symbol: say so where the QR would be. */
			struct block msg[] = {
				{"二维码无法显示", 5 * u, COLOR_RED, 1, 2, ICON_NONE},
				{"QR code cannot be shown", 3.6 * u, COLOR_TEXT2, 0, 2, ICON_NONE},
			};
			info.qr_drawn = 0;
			stack_draw(cr, r, msg, ELEMENTSOF(msg), ax, ay, side, side,
				   &info.truncated);
			result = k == -ENOMEM ? -ENOMEM : -E2BIG;
		}
	} else {
		n = status_blocks(s, &t, u, 1, b);
		stack_draw(cr, r, b, n, m, hh + m, w - 2 * m, h - hh - 2 * m, &info.truncated);
	}

	k = cairo_status(cr) == CAIRO_STATUS_SUCCESS ? 0 : -ENOMEM;
	cairo_destroy(cr);
	cairo_surface_flush(surface);
	texts_free(&t);
	if (k < 0)
		return k;
	if (ret_info)
		*ret_info = info;
	return result;
}
