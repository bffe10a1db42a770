/* SPDX-License-Identifier: MIT */
/* Internals of drivers/display shared by the renderer, the backends and the tests. */
#pragma once

#include <cairo.h>
#include <linux/fb.h>
#include <qrencode.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "common/buf.h"
#include "drivers/display/display.h"
#include "drivers/display/screen.h"

/* ---- qr.c ---- */

#define DISPLAY_QR_QUIET_MODULES 4 /* ISO/IEC 18004 quiet zone, doc/design.md §10 */
#define DISPLAY_QR_MIN_MODULE_PX 3

/* doc/hardware.md §4.2: ECC M, 8-bit mode, case-sensitive. -E2BIG if too long, -EINVAL if empty.
 * *ret is new (QRcode_free). Module (x, y) is dark when data[y * width + x] & 1. */
int display_qr_encode(const char *text, QRcode **ret);

/* The largest module size for a symbol of `modules` plus the quiet zone inside `side` px;
 * -E2BIG if below DISPLAY_QR_MIN_MODULE_PX. */
int display_qr_module_px(int modules, int side);

/* ---- render.c ---- */

struct display_renderer;

/* Where things landed on the last render (for tests and the benchmark). */
struct display_render_info {
	int qr_drawn;                  /* 1 if a QR symbol was drawn */
	int area_x, area_y, area_side; /* the light square reserved for symbol + quiet zone */
	int qr_x, qr_y; /* top-left pixel of the symbol proper (inside the quiet zone) */
	int qr_modules; /* symbol width in modules, without the quiet zone */
	int module_px;
	unsigned truncated; /* text blocks that were cut or ellipsized */
	int margin;         /* px kept clear of text at the left and right edges */
};

/* Loads fonts once. Pango uses its own font map and a fixed language (zh-cn), so the host
 * locale never changes which glyphs are picked. *ret is new. */
int display_renderer_new(struct display_renderer **ret);
struct display_renderer *display_renderer_free(struct display_renderer *r);

/*
 * Draws s over the whole of an image surface (RGB24, ARGB32 or RGB16_565; any size) and
 * flushes it. 0 on success; -E2BIG when the QR does not fit legibly (the screen then says so
 * instead, and ret_info is still written); -EINVAL for an unusable surface or kind.
 * ret_info may be NULL.
 */
int display_render(struct display_renderer *r, cairo_surface_t *surface,
		   const struct display_screen *s, struct display_render_info *ret_info);

/* ---- fb.c ---- */

struct display_fb;

/* Opens /dev/fbN (and puts vt, if not NULL, into KD_GRAPHICS). *ret is new. */
int display_fb_open(const char *path, const char *vt, struct display_fb **ret);
/* Takes fd (a framebuffer, or any mmap-able file in tests) with the screen info its driver
 * reports. -EOPNOTSUPP for pixel formats other than XRGB8888 and RGB565. *ret is new. */
int display_fb_open_fd(int fd, const struct fb_var_screeninfo *var,
		       const struct fb_fix_screeninfo *fix, struct display_fb **ret);
/* Puts the console vt into KD_GRAPHICS until display_fb_close() (display_fb_open() does it when
 * asked). Failure is logged as a warning and returned; the framebuffer stays usable. */
int display_fb_console_enter(struct display_fb *fb, const char *vt);
/* Remembers which device node (a character device) this is: a flush fails with -ENODEV once
 * the node is gone or is another device (a USB display unplugged). display_fb_open() does it. */
int display_fb_watch(struct display_fb *fb, const char *path);
/* The off-screen surface to draw on (borrowed; same size and format as the screen). */
cairo_surface_t *display_fb_surface(struct display_fb *fb);
/* Copies the off-screen surface to the visible screen, row by row (the fb stride may differ).
 * -ENODEV if the device node went away. */
int display_fb_flush(struct display_fb *fb);
/* Unmaps, restores KD_TEXT, closes. NULL-safe; returns NULL. */
struct display_fb *display_fb_close(struct display_fb *fb);

/* ---- tty.c ---- */

/* Appends the screen as UTF-8 text with the QR in half-blocks (black on white, ANSI colours,
 * 4-module quiet zone). clear: start with cursor-home + clear-screen. -ENOBUFS when out is full;
 * -E2BIG when the QR text is empty or too long (the text says so in place of the QR). */
int display_tty_format(const struct display_screen *s, int clear, struct buf *out);

/* ---- png-encode.c ---- */

/* The most bytes display_png_encode() writes for w x h pixels; 0 when PNG cannot hold them
 * here (a side of 0 or over 65535, over 1 GiB of rows). */
size_t display_png_bound(uint32_t w, uint32_t h);

/* Encodes h rows at raw, each its filter byte (0, none) and w RGB pixels, as an 8-bit RGB PNG
 * into out, which holds display_png_bound(w, h) bytes. Its length, or 0 as the bound says. */
size_t display_png_encode(const uint8_t *raw, uint32_t w, uint32_t h, uint8_t *out);

/* ---- png.c ---- */

/* The rows a PNG is encoded from and the PNG, kept between frames (display_png_buf_free() at
 * idle). */
struct display_png_buf {
	uint8_t *raw;
	size_t raw_size;
	uint8_t *png;
	size_t png_size;
};
void display_png_buf_free(struct display_png_buf *b);

/* Writes the surface to path atomically (temporary file in the same directory, then rename),
 * converting its pixels in b. */
int display_png_write(cairo_surface_t *surface, const char *path, struct display_png_buf *b);

/* ---- web-state.c: what the web display's page receives ---- */

/* The QR for text as an SVG document (4-module quiet zone, one unit per module, single quotes
 * only). -E2BIG / -EINVAL as display_qr_encode(); -ENOBUFS when out is full. */
int display_qr_svg(const char *text, struct buf *out);

/* One screen as a JSON object: what the page shows and nothing more (texts sanitized as on
 * the pixel screens, the QR as SVG, never a payment code or an order id). */
int display_web_state(const struct display_screen *s, uint64_t seq, struct buf *out);

/* ---- web-request.c ---- */

struct display_web_request {
	int head;         /* HEAD rather than GET */
	const char *path; /* inside the parsed buffer */
};

/* Parses a request head (NUL-terminated, ending in an empty line; modified in place). Returns
 * NULL, or the HTTP status to refuse it with ("400 Bad Request", "405 Method Not Allowed"). */
const char *display_web_request_parse(char *req, struct display_web_request *ret);

/* ---- web.c: the web display's listener ---- */

struct display_web;

struct display_web_stats {
	unsigned clients, streams;                         /* now */
	unsigned long served, refused, timed_out, dropped; /* so far */
};

/* Listens on addr:port (port 0 = any, see display_web_port()); attaches to event now if it is
 * not NULL, else on display_web_attach(). *ret is new. */
int display_web_open(const char *addr, int port, sd_event *event, struct display_web **ret);
int display_web_attach(struct display_web *w, sd_event *event);
int display_web_port(const struct display_web *w);
/* Makes s the current screen and sends it to every viewer without blocking (a viewer too far
 * behind is dropped; its browser reconnects and gets the current screen). */
int display_web_show(struct display_web *w, const struct display_screen *s);
void display_web_get_stats(const struct display_web *w, struct display_web_stats *ret);
/* Closes the listener and every viewer. NULL-safe; returns NULL. */
struct display_web *display_web_close(struct display_web *w);

/* ---- pole.c: serial pole displays ---- */

enum display_pole_protocol {
	DISPLAY_POLE_LED8N,  /* 8-digit LED: ESC s n lamps, ESC Q A amount CR, CLR */
	DISPLAY_POLE_CD5220, /* 2x20 VFD: ESC Q A / ESC Q B line CR */
};

const char *display_pole_protocol_to_string(enum display_pole_protocol p);
int display_pole_protocol_from_string(const char *s, enum display_pole_protocol *ret);
/* The bytes that put s on the pole (appended to out). */
int display_pole_format(enum display_pole_protocol p, const struct display_screen *s,
			struct buf *out);
/* The bytes sent once after opening the port (ESC @: power-on state, cleared). */
int display_pole_init_bytes(enum display_pole_protocol p, struct buf *out);
int display_pole_baud_valid(unsigned baud);
/* Opens the serial port raw, 8N1, no flow control, non-blocking, exclusive (TIOCEXCL).
 * Returns the fd or -errno. */
int display_pole_open(const char *path, unsigned baud);
