/* SPDX-License-Identifier: MIT */
/*
 * The web display: the QR as SVG is the order's qr_code module for module (and scans), the
 * screen JSON carries what the screen shows and nothing else, and the listener serves its page,
 * assets and event stream only, within its limits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/time-util.h"
#include "display-test-util.h"
#include "drivers/display/display-private.h"
#include "test.h"

/* ---- SVG ---- */

/* Parses the SVG this project writes back into a module matrix; returns the side in modules
 * (quiet zone included). */
static int
svg_modules(const char *svg, uint8_t *grid, int max_side)
{
	int side, n, x, y, run, run2;
	const char *p = strstr(svg, "viewBox='0 0 ");

	CHECK(p);
	CHECK(sscanf(p, "viewBox='0 0 %d %d'", &side, &n) == 2);
	CHECK(side == n && side <= max_side);
	memset(grid, 0, (size_t)side * side);
	p = strstr(svg, " d='");
	CHECK(p);
	p += 4;
	while (*p == 'M') {
		CHECK(sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &run2, &n) == 4);
		CHECK(run == run2 && run > 0 && x >= 0 && y >= 0 && x + run <= side && y < side);
		for (int i = 0; i < run; i++)
			grid[y * side + x + i] = 1;
		p += n;
	}
	CHECK(STR_EQ(p, "'/></svg>"));
	return side;
}

static void
test_svg(void)
{
	for (const char *const *t = test_qr_texts; *t; t++) {
		struct buf b = BUF_INIT(1 << 20);
		uint8_t grid[200 * 200];
		QRcode *qr;
		int side, q = DISPLAY_QR_QUIET_MODULES, scale = 4;
		cairo_surface_t *s;
		char *got = NULL;

		CHECK(display_qr_svg(*t, &b) >= 0);
		CHECK(!strchr(b.data, '"')); /* fits a JSON string as is */
		side = svg_modules(b.data, grid, 200);
		CHECK(display_qr_encode(*t, &qr) >= 0);
		CHECK_INT_EQ(side, qr->width + 2 * q);
		/* Every module as libqrencode made it, and a light quiet zone. */
		for (int y = 0; y < side; y++)
			for (int x = 0; x < side; x++) {
				int in = x >= q && y >= q && x < q + qr->width && y < q + qr->width;
				int dark = in && (qr->data[(y - q) * qr->width + (x - q)] & 1);
				CHECK_INT_EQ(grid[y * side + x], dark);
			}
		/* And it scans back to the text, byte for byte. */
		s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, side * scale, side * scale);
		cairo_t *cr = cairo_create(s);
		cairo_set_source_rgb(cr, 1, 1, 1);
		cairo_paint(cr);
		cairo_set_source_rgb(cr, 0, 0, 0);
		for (int y = 0; y < side; y++)
			for (int x = 0; x < side; x++)
				if (grid[y * side + x])
					cairo_rectangle(cr, x * scale, y * scale, scale, scale);
		cairo_fill(cr);
		cairo_destroy(cr);
		CHECK_INT_EQ(test_zbar_decode(s, &got), 1);
		CHECK_STR_EQ(got, *t);
		free(got);
		cairo_surface_destroy(s);
		QRcode_free(qr);
		buf_free(&b);
	}
	/* Too long or empty: no symbol at all. */
	{
		struct buf b = BUF_INIT(1 << 20);
		char *big = malloc(DISPLAY_QR_TEXT_MAX + 2);
		CHECK(big);
		memset(big, 'a', DISPLAY_QR_TEXT_MAX + 1);
		big[DISPLAY_QR_TEXT_MAX + 1] = 0;
		CHECK_INT_EQ(display_qr_svg(big, &b), -E2BIG);
		CHECK_INT_EQ(display_qr_svg("", &b), -EINVAL);
		free(big);
		buf_free(&b);
	}
}

/* ---- JSON ---- */

static char *
state_of(const struct display_screen *s)
{
	struct buf b = BUF_INIT(64 * 1024);

	CHECK(display_web_state(s, 7, &b) >= 0);
	return buf_steal(&b);
}

static void
test_state(void)
{
	for (int k = 0; k < _DISPLAY_SCREEN_MAX; k++) {
		struct display_screen s = test_screen(k, test_qr_texts[0]);
		struct display_labels l;
		char want[256], *j = state_of(&s);

		display_labels_get(k, &l);
		snprintf(want, sizeof(want), "{\"seq\":7,\"screen\":\"%s\"",
			 display_screen_kind_to_string(k));
		CHECK(strncmp(j, want, strlen(want)) == 0);
		CHECK(strstr(j, l.title_zh) && strstr(j, l.title_en));
		CHECK(strstr(j, "\"store\":\"便利店 No.3 · Corner Shop\""));
		CHECK(!!strstr(j, "\"amount\":\"¥88.88\"") == (k != DISPLAY_SCREEN_IDLE));
		CHECK(!!strstr(j, "\"qr\":\"<svg") == (k == DISPLAY_SCREEN_QR));
		CHECK(!!strstr(j, "\"seconds_left\":119") == (k == DISPLAY_SCREEN_QR));
		/* The payment link is drawn, never sent as text. */
		CHECK(!strstr(j, "qr.alipay.com"));
		if (k == DISPLAY_SCREEN_FAILED) {
			CHECK(strstr(j, "\"reason_zh\":\"余额不足\""));
			CHECK(strstr(j, "\"reason_en\":\"Balance not enough\""));
			CHECK(strstr(j, "\"reason_code\":\"ACQ.BUYER_BALANCE_NOT_ENOUGH\""));
			CHECK(!strstr(j, "sub_zh"));
		}
		free(j);
	}
	/* Unknown code: Alipay's own words; hostile text stays text. */
	{
		struct display_screen s = test_screen(DISPLAY_SCREEN_FAILED, NULL);
		char *j;
		s.reason_code = "ACQ.SOMETHING_NEW";
		s.reason_text = "</script><b>\"x\"\\\n";
		s.store_name = "A&B \xe2\x80\xa8 <i>";
		j = state_of(&s);
		CHECK(strstr(
			j,
			"\"reason_text\":\"\\u003c/script\\u003e\\u003cb\\u003e\\\"x\\\"\\\\ \""));
		CHECK(strstr(j, "\"store\":\"A\\u0026B   \\u003ci\\u003e\""));
		CHECK(!strchr(j, '<') && !strchr(j, '\n'));
		free(j);
	}
	/* One language only ([display] language): the other one is not sent at all. */
	{
		struct display_screen s = test_screen(DISPLAY_SCREEN_FAILED, NULL);
		char *j;
		s.language = DISPLAY_LANGUAGE_ZH;
		j = state_of(&s);
		CHECK(strstr(j, "\"lang\":\"zh\"") && strstr(j, "\"title_zh\":\"支付失败\""));
		CHECK(strstr(j, "\"reason_zh\":\"余额不足\""));
		CHECK(!strstr(j, "title_en") && !strstr(j, "reason_en"));
		free(j);
		s.language = DISPLAY_LANGUAGE_EN;
		j = state_of(&s);
		CHECK(strstr(j, "\"lang\":\"en\"") && strstr(j, "\"title_en\":\"Payment failed\""));
		CHECK(strstr(j, "\"reason_en\":\"Balance not enough\""));
		CHECK(!strstr(j, "title_zh") && !strstr(j, "reason_zh"));
		free(j);
	}
	/* A QR that cannot be drawn: the page is told so, and gets no partial symbol. */
	{
		struct display_screen s = test_screen(DISPLAY_SCREEN_QR, "");
		char *j = state_of(&s);
		CHECK(strstr(j, "\"qr\":\"\",\"qr_error\":true}"));
		free(j);
	}
}

/* ---- the listener ---- */

struct server {
	sd_event *event;
	struct display_web *w;
	int port;
};

static void
server_start(struct server *srv)
{
	CHECK(sd_event_new(&srv->event) >= 0);
	CHECK(display_web_open("127.0.0.1", 0, srv->event, &srv->w) >= 0);
	srv->port = display_web_port(srv->w);
	CHECK(srv->port > 0);
}

static void
server_stop(struct server *srv)
{
	display_web_close(srv->w);
	sd_event_unref(srv->event);
}

static int
connect_to(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

/* Runs the loop until fd has reached EOF (or timeout_ms); returns what it received. */
static char *
pump_until_eof(struct server *srv, int fd, int timeout_ms, int *ret_eof)
{
	struct buf b = BUF_INIT(1 << 22);
	uint64_t end = now_usec(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * USEC_PER_MSEC;
	int eof = 0;

	while (!eof && now_usec(CLOCK_MONOTONIC) < end) {
		char chunk[8192];
		ssize_t n;

		(void)sd_event_run(srv->event, 10 * USEC_PER_MSEC);
		while ((n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT)) > 0)
			CHECK(buf_append(&b, chunk, (size_t)n) >= 0);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			eof = 1;
	}
	if (ret_eof)
		*ret_eof = eof;
	return buf_steal(&b);
}

static char *
request(struct server *srv, const char *raw)
{
	int fd = connect_to(srv->port), eof;
	char *resp;

	CHECK(send(fd, raw, strlen(raw), MSG_NOSIGNAL) == (ssize_t)strlen(raw));
	resp = pump_until_eof(srv, fd, 5000, &eof);
	CHECK(eof);
	close(fd);
	return resp;
}

static char *
get(struct server *srv, const char *path)
{
	char raw[512];

	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
	return request(srv, raw);
}

static void
check_status(char *resp, const char *status)
{
	char want[64];

	snprintf(want, sizeof(want), "HTTP/1.1 %s\r\n", status);
	if (strncmp(resp, want, strlen(want)) != 0) {
		fprintf(stderr, "expected %s, got: %.200s\n", status, resp);
		abort();
	}
	free(resp);
}

static void
test_routes(void)
{
	struct server srv;
	char *r, big[4096];

	server_start(&srv);
	r = get(&srv, "/");
	CHECK(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(r, "Content-Type: text/html; charset=utf-8\r\n"));
	CHECK(strstr(r, "Content-Security-Policy: default-src 'none'; script-src 'self'"));
	CHECK(strstr(r, "X-Content-Type-Options: nosniff\r\n"));
	CHECK(strstr(r, "<script src=\"/display.js\" defer></script>"));
	/* Self-contained: nothing from another origin. */
	CHECK(!strstr(r, "http://") && !strstr(r, "https://") && !strstr(r, "//cdn"));
	free(r);
	r = get(&srv, "/display.js");
	CHECK(strstr(r, "Content-Type: text/javascript; charset=utf-8\r\n"));
	CHECK(strstr(r, "new EventSource('/events')"));
	CHECK(!strstr(r, "http://") && !strstr(r, "https://") && !strstr(r, "fetch("));
	free(r);
	r = get(&srv, "/display.css");
	CHECK(strstr(r, "Content-Type: text/css; charset=utf-8\r\n"));
	CHECK(!strstr(r, "url(") && !strstr(r, "@import") && !strstr(r, "@font-face"));
	free(r);
	r = request(&srv, "HEAD / HTTP/1.1\r\n\r\n");
	CHECK(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(r, "\r\n\r\n")[4] == 0); /* no body */
	free(r);

	/* The daemon's API, files, anything else: not here. */
	check_status(get(&srv, "/v1/status"), "404 Not Found");
	check_status(get(&srv, "/v1/orders"), "404 Not Found");
	check_status(get(&srv, "/v1/events"), "404 Not Found");
	check_status(get(&srv, "/index.html"), "404 Not Found");
	check_status(get(&srv, "/../../etc/passwd"), "404 Not Found");
	check_status(get(&srv, "/events?token=x"), "404 Not Found");
	check_status(get(&srv, "//display.js"), "404 Not Found");
	check_status(request(&srv, "POST /v1/orders HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"),
		     "405 Method Not Allowed");
	check_status(request(&srv, "DELETE / HTTP/1.1\r\n\r\n"), "405 Method Not Allowed");
	check_status(request(&srv, "OPTIONS * HTTP/1.1\r\n\r\n"), "405 Method Not Allowed");
	check_status(request(&srv, "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
		     "400 Bad Request");
	check_status(request(&srv, "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
		     "400 Bad Request");
	check_status(request(&srv, "GET /\r\n\r\n"), "400 Bad Request");
	/* A bare CR or other control byte in the path is no part of a request line. */
	check_status(request(&srv, "HEAD /\rdisplay.css HTTP/1.0\r\n\r\n"), "400 Bad Request");
	check_status(request(&srv, "GET /\tx HTTP/1.1\r\n\r\n"), "400 Bad Request");
	check_status(request(&srv, "garbage\r\n\r\n"), "400 Bad Request");
	/* Oversized heads are refused, whatever they carry. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "GET / HTTP/1.1\r\nX-Pad: ", 23);
	check_status(request(&srv, big), "431 Request Header Fields Too Large");
	server_stop(&srv);
}

static void
test_slow_and_crowded(void)
{
	struct server srv;
	struct display_web_stats st;
	int fds[40], fd, eof;
	uint64_t t0;
	char *r;

	server_start(&srv);
	/* A request that never ends is cut off, with no answer. */
	fd = connect_to(srv.port);
	CHECK(send(fd, "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL) == 16);
	t0 = now_usec(CLOCK_MONOTONIC);
	r = pump_until_eof(&srv, fd, 10000, &eof);
	CHECK(eof && r[0] == 0);
	CHECK(now_usec(CLOCK_MONOTONIC) - t0 >= 2 * USEC_PER_SEC);
	free(r);
	close(fd);
	display_web_get_stats(srv.w, &st);
	CHECK_INT_EQ(st.timed_out, 1);

	/* Connections beyond the bound are closed at once; the ones inside still work. */
	for (int i = 0; i < 40; i++)
		fds[i] = connect_to(srv.port);
	r = pump_until_eof(&srv, fds[39], 2000, &eof);
	CHECK(eof && r[0] == 0);
	free(r);
	display_web_get_stats(srv.w, &st);
	CHECK_INT_EQ(st.clients, 32);
	CHECK(send(fds[0], "GET / HTTP/1.1\r\n\r\n", 18, MSG_NOSIGNAL) == 18);
	r = pump_until_eof(&srv, fds[0], 5000, &eof);
	CHECK(eof && strncmp(r, "HTTP/1.1 200 OK", 15) == 0);
	free(r);
	for (int i = 0; i < 40; i++)
		close(fds[i]);
	server_stop(&srv);
}

static void
test_stream(void)
{
	struct server srv;
	struct display_web_stats st = {0};
	struct display_screen s = test_screen(DISPLAY_SCREEN_PAID, NULL);
	int fds[17], eof;
	char *r;

	server_start(&srv);
	CHECK(display_web_show(srv.w, &s) >= 0);
	for (int i = 0; i < 17; i++) {
		fds[i] = connect_to(srv.port);
		CHECK(send(fds[i], "GET /events HTTP/1.1\r\n\r\n", 24, MSG_NOSIGNAL) == 24);
		if (i == 15) {
			/* The first 16 are streaming before the 17th asks. */
			for (int k = 0; k < 500 && st.streams < 16; k++) {
				(void)sd_event_run(srv.event, 10 * USEC_PER_MSEC);
				display_web_get_stats(srv.w, &st);
			}
			CHECK_INT_EQ(st.streams, 16);
		}
	}
	r = pump_until_eof(&srv, fds[0], 500, &eof);
	CHECK(!eof);
	CHECK(strncmp(r, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream", 47) == 0);
	CHECK(strstr(r, "\r\n\r\nretry: 1000\n\ndata: {\"seq\":1,\"screen\":\"paid\""));
	CHECK(strstr(r, "}\n\n"));
	free(r);
	/* The 17th viewer is refused: a bounded number of streams. */
	r = pump_until_eof(&srv, fds[16], 2000, &eof);
	CHECK(eof && strncmp(r, "HTTP/1.1 503", 12) == 0);
	free(r);
	display_web_get_stats(srv.w, &st);
	CHECK_INT_EQ(st.streams, 16);

	for (int i = 1; i < 16; i++) {
		r = pump_until_eof(&srv, fds[i], 100, &eof);
		CHECK(!eof && strstr(r, "data: {\"seq\":1,"));
		free(r);
	}
	/* Each show reaches every viewer as one event. */
	s = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
	CHECK(display_web_show(srv.w, &s) >= 0);
	r = pump_until_eof(&srv, fds[5], 300, &eof);
	CHECK(strncmp(r, "data: {\"seq\":2,\"screen\":\"qr\"", 28) == 0);
	CHECK(strstr(r, "<svg") && strstr(r, "}\n\n") == r + strlen(r) - 3);
	free(r);

	/* Viewers that never read are dropped once too far behind, without ever blocking. */
	for (int i = 0; i < 2000; i++) {
		uint64_t t0 = now_usec(CLOCK_MONOTONIC);
		CHECK(display_web_show(srv.w, &s) >= 0);
		CHECK(now_usec(CLOCK_MONOTONIC) - t0 < USEC_PER_SEC);
		display_web_get_stats(srv.w, &st);
		if (st.streams == 0)
			break;
	}
	CHECK_INT_EQ(st.streams, 0);
	CHECK(st.dropped >= 16);
	for (int i = 0; i < 17; i++)
		close(fds[i]);
	server_stop(&srv);
}

int
main(void)
{
	test_svg();
	test_state();
	test_routes();
	test_slow_and_crowded();
	test_stream();
	return 0;
}
