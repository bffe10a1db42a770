/* SPDX-License-Identifier: MIT */
/* Serial pole displays: the exact bytes on a PTY for every screen, in both command sets;
 * exclusive use. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/time-util.h"
#include "display-test-util.h"
#include "drivers/display/display-private.h"
#include "test.h"
#include "tty-excl.h"

struct pty {
	int master;
	char path[64];
};

static void
pty_open(struct pty *p)
{
	int slave;

	CHECK(openpty(&p->master, &slave, p->path, NULL, NULL) == 0);
	close(slave); /* the display opens it by path; the master keeps it alive */
	CHECK(fcntl(p->master, F_SETFL, O_NONBLOCK) == 0);
}

/* Everything the display wrote so far (the PTY delivers it at once: no delay needed). */
static size_t
pty_read(struct pty *p, char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		struct pollfd pfd = {p->master, POLLIN, 0};
		ssize_t k;
		if (poll(&pfd, 1, 200) <= 0)
			break;
		k = read(p->master, buf + n, size - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	return n;
}

static void
dump(const char *b, size_t n)
{
	fprintf(stderr, "got:");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", (unsigned char)b[i]);
	fprintf(stderr, "\n");
}

#define EXPECT(p, lit)                                         \
	do {                                                   \
		char _got[1024];                               \
		size_t _n = pty_read((p), _got, sizeof(_got)); \
		if (_n != sizeof(lit) - 1)                     \
			dump(_got, _n);                        \
		CHECK_MEM_EQ(_got, _n, lit, sizeof(lit) - 1);  \
	} while (0)

static struct display *
pole_new(struct pty *p, const char *opts)
{
	char spec[256];
	struct display *d;

	snprintf(spec, sizeof(spec), "pole:%s%s", p->path, opts);
	CHECK(display_new(spec, &d) >= 0);
	CHECK(display_is_up(d));
	return d;
}

static void
show(struct display *d, enum display_screen_kind k, int64_t fen)
{
	struct display_screen s = test_screen(k, test_qr_texts[0]);

	s.amount_fen = fen;
	CHECK(display_show(d, &s) >= 0);
}

static void
test_led8n(void)
{
	struct pty p;
	struct display *d;
	struct termios t;

	pty_open(&p);
	d = pole_new(&p, ",baud=9600,protocol=led8n");
	/* Raw 8N1 at the configured speed (the master reads the slave's settings: the port is
	 * the display's alone, see test_exclusive()). */
	CHECK(tcgetattr(p.master, &t) == 0);
	CHECK(cfgetospeed(&t) == B9600);
	CHECK((t.c_cflag & CSIZE) == CS8 && !(t.c_cflag & (PARENB | CSTOPB)));
	CHECK(!(t.c_lflag & (ICANON | ECHO)) && !(t.c_oflag & OPOST));
	/* ESC @ once at open: power-on state, cleared. */
	EXPECT(&p, "\x1b@");

	/* Waiting for the customer: the "total" lamp (ESC s '2') and the amount (ESC Q A ... CR).
	 */
	show(d, DISPLAY_SCREEN_QR, 8888);
	EXPECT(&p, "\x1bs2\x1bQA88.88\r");
	/* The countdown redraws the QR screen every second: the pole is not sent it again. */
	show(d, DISPLAY_SCREEN_QR, 8888);
	EXPECT(&p, "");
	show(d, DISPLAY_SCREEN_SHOW_CODE, 1);
	EXPECT(&p, "\x1bs2\x1bQA0.01\r");
	show(d, DISPLAY_SCREEN_PROCESSING, 100);
	EXPECT(&p, "\x1bs2\x1bQA1.00\r");
	show(d, DISPLAY_SCREEN_CONFIRM, 99999999);
	EXPECT(&p, "\x1bs2\x1bQA999999.99\r");
	/* Over 8 digits: whole yuan, then dashes, never a wrong amount. */
	show(d, DISPLAY_SCREEN_CONFIRM, 1234567899);
	EXPECT(&p, "\x1bs2\x1bQA12345678\r");
	show(d, DISPLAY_SCREEN_CONFIRM, 10000000000);
	EXPECT(&p, "\x1bs2\x1bQA--------\r");
	/* Paid: the "collect" lamp (ESC s '3') with the amount. */
	show(d, DISPLAY_SCREEN_PAID, 8888);
	EXPECT(&p, "\x1bs3\x1bQA88.88\r");
	/* Idle, failed, canceled: every lamp off (STX L 0000) and cleared (CLR). */
	show(d, DISPLAY_SCREEN_IDLE, 0);
	EXPECT(&p, "\x02L0000\x0c");
	show(d, DISPLAY_SCREEN_QR, 8888);
	EXPECT(&p, "\x1bs2\x1bQA88.88\r");
	show(d, DISPLAY_SCREEN_FAILED, 8888);
	EXPECT(&p, "\x02L0000\x0c");
	show(d, DISPLAY_SCREEN_QR, 8888);
	EXPECT(&p, "\x1bs2\x1bQA88.88\r");
	show(d, DISPLAY_SCREEN_CANCELED, 8888);
	EXPECT(&p, "\x02L0000\x0c");
	display_free(d);
	close(p.master);
}

static void
test_cd5220(void)
{
	struct pty p;
	struct display *d;

	pty_open(&p);
	d = pole_new(&p, ",protocol=cd5220");
	EXPECT(&p, "\x1b@");
	/* Two 20-column lines: ESC Q A (upper) and ESC Q B (lower), each ended by CR. */
	show(d, DISPLAY_SCREEN_IDLE, 0);
	EXPECT(&p, "\x1bQAWELCOME             \r\x1bQBALIPAY ACCEPTED     \r");
	show(d, DISPLAY_SCREEN_QR, 8888);
	EXPECT(&p, "\x1bQATOTAL          88.88\r\x1bQBSCAN QR TO PAY      \r");
	show(d, DISPLAY_SCREEN_SHOW_CODE, 8888);
	EXPECT(&p, "\x1bQATOTAL          88.88\r\x1bQBSHOW PAYMENT CODE   \r");
	show(d, DISPLAY_SCREEN_PROCESSING, 8888);
	EXPECT(&p, "\x1bQATOTAL          88.88\r\x1bQBPROCESSING...       \r");
	show(d, DISPLAY_SCREEN_CONFIRM, 8888);
	EXPECT(&p, "\x1bQATOTAL          88.88\r\x1bQBCONFIRM ON PHONE    \r");
	show(d, DISPLAY_SCREEN_PAID, 8888);
	EXPECT(&p, "\x1bQAPAID           88.88\r\x1bQBTHANK YOU           \r");
	show(d, DISPLAY_SCREEN_FAILED, 8888);
	EXPECT(&p, "\x1bQA                    \r\x1bQBPAYMENT FAILED      \r");
	show(d, DISPLAY_SCREEN_CANCELED, 8888);
	EXPECT(&p, "\x1bQA                    \r\x1bQBPAYMENT CANCELED    \r");
	display_free(d);
	close(p.master);
}

/* A pole that stops reading (flow stopped, cable half out) never holds the caller: frames
 * that do not fit are dropped, and the display stays up. */
static void
test_stuck_pole(void)
{
	struct pty p;
	struct display *d;
	int dropped = 0;

	pty_open(&p);
	d = pole_new(&p, ",protocol=cd5220");
	for (int i = 0; i < 20000 && !dropped; i++) {
		struct display_screen s = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
		uint64_t t0 = now_usec(CLOCK_MONOTONIC);
		int r;
		s.amount_fen = 100 + i; /* a new frame every time */
		r = display_show(d, &s);
		CHECK(now_usec(CLOCK_MONOTONIC) - t0 < USEC_PER_SEC);
		CHECK(r == 0 || r == -EAGAIN);
		dropped = r == -EAGAIN;
	}
	CHECK(dropped);
	CHECK(display_is_up(d));
	display_free(d);
	close(p.master);
}

/* The pole is the display's alone while it is up (no second writer mixes bytes into its
 * frames), and anyone's again once the display is freed, while another holder keeps the tty. */
static void
test_exclusive(void)
{
	struct pty p;
	struct display *d;
	int held;

	pty_open(&p);
	held = tty_hold_shared(p.path);
	d = pole_new(&p, ",protocol=cd5220");
	tty_check_exclusive(p.path, 1);
	display_free(d);
	tty_check_exclusive(p.path, 0);
	close(held);
	close(p.master);
}

static void
test_specs(void)
{
	struct display *d;

	CHECK_INT_EQ(display_new("pole", &d), -EINVAL);
	CHECK_INT_EQ(display_new("pole:dev/ttyS0", &d), -EINVAL);
	CHECK_INT_EQ(display_new("pole:/dev/ttyS0,baud=1234", &d), -EINVAL);
	CHECK_INT_EQ(display_new("pole:/dev/ttyS0,protocol=vt100", &d), -EINVAL);
	CHECK_INT_EQ(display_new("pole:/dev/ttyS0,size=800x480", &d), -EINVAL);
	/* A missing port is a display that is down, retried later: not an error. */
	CHECK(display_new("pole:/nonexistent/ttyUSB9", &d) >= 0);
	CHECK(!display_is_up(d));
	display_free(d);
}

int
main(void)
{
	test_led8n();
	test_cd5220();
	test_stuck_pole();
	test_exclusive();
	test_specs();
	return 0;
}
