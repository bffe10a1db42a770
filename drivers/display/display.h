/* SPDX-License-Identifier: MIT */
/* The customer display: what the daemon calls to put a QR or a payment status on the screen. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

/*
 * doc/design.md §10. The daemon fills a plain struct display_screen and calls
 * display_show(). Rendering is synchronous, in memory and bounded (a few milliseconds at
 * 1920x1080); output never waits on a device: a framebuffer is a memcpy into an mmap, a PNG is
 * written to a temporary file and renamed, a terminal fd is written without blocking (frames that
 * do not fit are dropped). A backend that fails is closed, the failure logged once, and re-opened
 * on a later show or display_retry() after a backoff (1 s doubling up to 30 s): a display problem
 * never stops a payment.
 */

enum display_screen_kind {
	DISPLAY_SCREEN_IDLE,       /* store name, "welcome" */
	DISPLAY_SCREEN_QR,         /* "scan to pay ¥88.88" with the QR (qr_text) and a countdown */
	DISPLAY_SCREEN_SHOW_CODE,  /* "show your payment code" (the cashier will scan it) */
	DISPLAY_SCREEN_PROCESSING, /* the request is on its way to Alipay */
	DISPLAY_SCREEN_CONFIRM,    /* 10003: "confirm the payment on your phone" */
	DISPLAY_SCREEN_PAID,
	DISPLAY_SCREEN_FAILED, /* with reason_code (a sub_code) and/or reason_text (sub_msg) */
	DISPLAY_SCREEN_CANCELED,
	_DISPLAY_SCREEN_MAX,
};

/* Reasons f2fpayd itself produces, shown like Alipay sub_codes (display_reason_lookup()). */
#define DISPLAY_REASON_CODE_NOT_SUPPORTED  "F2FPAY.CODE_NOT_SUPPORTED" /* another wallet's code */
#define DISPLAY_REASON_QR_EXPIRED          "F2FPAY.QR_EXPIRED"
#define DISPLAY_REASON_TIMEOUT             "F2FPAY.TIMEOUT"
#define DISPLAY_REASON_NETWORK             "F2FPAY.NETWORK"
#define DISPLAY_REASON_JOURNAL             "F2FPAY.JOURNAL" /* orders cannot be recorded */
/* The engine's own reasons (daemon/engine/gateway.h, payment/order/order-fsm.h). */
#define DISPLAY_REASON_GATEWAY_MISMATCH    "F2FPAY.GATEWAY_MISMATCH"
#define DISPLAY_REASON_GATEWAY_UNREACHABLE "F2FPAY.GATEWAY_UNREACHABLE"
#define DISPLAY_REASON_TRADE_NO_COLLISION  "F2FPAY.TRADE_NO_COLLISION"

/* Input limits: longer strings are cut at a character boundary and end in "…" on screen. */
#define DISPLAY_TEXT_MAX    256  /* bytes of store_name, subject, reason_text */
#define DISPLAY_QR_TEXT_MAX 1024 /* bytes of qr_text; longer is -E2BIG, never a partial QR */

/* Everything is borrowed for the duration of the call; display_show() keeps its own copy. */
/* Which languages a screen shows ([display] language); Chinese above English when both. */
enum display_language {
	DISPLAY_LANGUAGE_BOTH = 0,
	DISPLAY_LANGUAGE_ZH,
	DISPLAY_LANGUAGE_EN,
};

struct display_screen {
	enum display_screen_kind kind;
	enum display_language language;
	int64_t amount_fen;  /* shown as ¥88.88 when > 0 */
	const char *qr_text; /* DISPLAY_SCREEN_QR: the precreate qr_code, encoded byte for byte */
	const char *store_name;  /* header line on every screen; NULL = none */
	const char *subject;     /* optional order subject under the amount */
	const char *reason_code; /* DISPLAY_SCREEN_FAILED: Alipay sub_code or DISPLAY_REASON_* */
	const char
		*reason_text; /* DISPLAY_SCREEN_FAILED: sub_msg, shown when the code is unknown */
	int seconds_left;     /* DISPLAY_SCREEN_QR countdown; < 0 = no countdown */
};

const char *display_screen_kind_to_string(enum display_screen_kind k);

/* A copy with its own strings, bounded (a huge string costs nothing: it is cut just past the
 * input limits above); display_screen_clear() frees them. Returns 0 or -ENOMEM. */
int display_screen_copy(const struct display_screen *s, struct display_screen *ret);
void display_screen_clear(struct display_screen *s);

/* The plain-words reason for a sub_code, in both languages; NULL if the code is not known. */
struct display_reason {
	const char *code;
	const char *zh;
	const char *en;
};
const struct display_reason *display_reason_lookup(const char *code);

struct display;

/*
 * Creates a display from a configuration string:
 *   "fb:/dev/fb0"                  Linux framebuffer (XRGB8888 or RGB565)
 *   "fb:/dev/fb0,vt=/dev/tty1"     ... and put that console in KD_GRAPHICS while we own it
 *   "png:/run/f2fpay/screen.png"   a PNG replaced atomically on each show (default 1024x600)
 *   "png:/path.png,size=480x800"   ... at another resolution
 *   "tty" or "tty:-"               UTF-8 half-block text on stdout
 *   "tty:/dev/ttyS1"               ... on that terminal (opened non-blocking)
 *   "web", "web:PORT", "web:ADDR:PORT", "web:[::1]:PORT"
 *                                  a page for a browser, served on its own listener (default
 *                                  127.0.0.1:8090); needs display_attach_event()
 *   "pole:/dev/ttyS0[,baud=2400][,protocol=led8n|cd5220]"
 *                                  a serial pole display (8-digit LED or 2x20 VFD)
 * The backend is opened at once; if that fails the display is still returned (and the failure
 * logged): it is retried on the next show. Returns -EINVAL for a malformed string. *ret is new.
 */
int display_new(const char *spec, struct display **ret);

/* A terminal display on a caller's stream (borrowed, never closed; its fd should be
 * non-blocking if a slow reader must not hold the daemon up). *ret is new. */
int display_new_stream(FILE *f, struct display **ret);

/*
 * Renders and outputs the screen. Returns 0 when it reached the device; -E2BIG when the QR
 * cannot be drawn legibly (text too long for the resolution: a screen saying so is shown
 * instead, never a stale or blurred QR); another -errno when the backend is down or failed
 * (already logged; it will be retried). The screen is remembered for display_retry().
 */
int display_show(struct display *d, const struct display_screen *s);
int display_show_at(struct display *d, const struct display_screen *s, uint64_t now_usec);

/*
 * For the daemon's timer: if the backend is down and its backoff has passed, re-opens it and
 * shows the last screen again. Returns 0 if nothing was due or it worked, -errno otherwise.
 * display_next_retry_usec() says when to call it (CLOCK_MONOTONIC usec; UINT64_MAX = never).
 */
int display_retry(struct display *d, uint64_t now_usec);
uint64_t display_next_retry_usec(const struct display *d);

/* 1 when the backend is up, 0 when it is down (for GET /v1/status and the events stream). */
int display_is_up(const struct display *d);
/* Frees what a display keeps between shows (a PNG display's frame); 1 if it kept some. */
int display_trim(struct display *d);

/* Gives the display the event loop a backend that serves clients (web) runs in; event is
 * referenced. Other backends ignore it. */
int display_attach_event(struct display *d, sd_event *event);

/* The configuration string the display was made from (for messages and status). */
const char *display_spec(const struct display *d);

/* Closes the backend (leaving a console in text mode) and frees. NULL-safe; returns NULL. */
struct display *display_free(struct display *d);

static inline void
display_freep(struct display **d)
{
	display_free(*d);
}

/*
 * Several displays at once (e.g. a framebuffer, the web page and a pole display). Each gets
 * every screen; each fails, backs off and recovers on its own, so one broken display never
 * keeps another from showing nor delays the caller.
 */
#define DISPLAY_SET_MAX 8

struct display_set;

/* One display per spec (display_new()); -EINVAL if any spec is malformed. *ret is new. */
int display_set_new(const char *const *specs, size_t n, struct display_set **ret);
int display_set_attach_event(struct display_set *set, sd_event *event);
size_t display_set_size(const struct display_set *set);
struct display *display_set_get(const struct display_set *set, size_t i);
/* Shows s on every display; returns the first error (each display logs its own). */
int display_set_show(struct display_set *set, const struct display_screen *s);
int display_set_retry(struct display_set *set, uint64_t now_usec);
/* The earliest retry any display needs; UINT64_MAX when all are up. */
uint64_t display_set_next_retry_usec(const struct display_set *set);
/* 1 when every display is up. */
int display_set_is_up(const struct display_set *set);
/* The till is idle: the frames kept between shows are freed (doc/performance.md "Memory"); the
 * fonts' pages go with the other read-only file pages (common/pages.h). 1 if some were. */
int display_set_trim(struct display_set *set);
struct display_set *display_set_free(struct display_set *set);

static inline void
display_set_freep(struct display_set **s)
{
	display_set_free(*s);
}
