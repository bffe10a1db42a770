/* SPDX-License-Identifier: MIT */
/*
 * Serial pole displays (8-digit LED or 2x20 VFD "customer displays"): the bytes for a screen in
 * each command set, and opening the port. doc/display.md §3 lists the commands
 * and the manuals they come from.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/file-util.h"
#include "common/macro.h"
#include "drivers/display/display-private.h"

#define ESC 0x1b
#define CLR 0x0c
#define CR  0x0d
#define STX 0x02

#define LED_DIGITS 8  /* an 8-digit LED pole: the decimal point takes no digit */
#define VFD_COLS   20 /* a 2x20 VFD */

/* LED8N-style indicator lamps under the digits: ESC s n lights one (n in ASCII); STX L with
 * four '0' / '1' digits sets all four, which is how they all go dark. */
enum led_lamp {
	LAMP_PRICE = '1',
	LAMP_TOTAL = '2',
	LAMP_COLLECT = '3',
	LAMP_CHANGE = '4',
};

const char *
display_pole_protocol_to_string(enum display_pole_protocol p)
{
	switch (p) {
	case DISPLAY_POLE_LED8N:
		return "led8n";
	case DISPLAY_POLE_CD5220:
		return "cd5220";
	}
	return NULL;
}

int
display_pole_protocol_from_string(const char *s, enum display_pole_protocol *ret)
{
	if (STR_EQ(s, "led8n"))
		*ret = DISPLAY_POLE_LED8N;
	else if (STR_EQ(s, "cd5220"))
		*ret = DISPLAY_POLE_CD5220;
	else
		return -EINVAL;
	return 0;
}

/* "88.88" for 8888 fen; whole yuan when the fen do not fit; "" for <= 0. */
static void
amount_digits(int64_t fen, size_t digits, char *buf, size_t size)
{
	if (fen <= 0) {
		buf[0] = 0;
		return;
	}
	snprintf(buf, size, "%" PRId64 ".%02d", fen / 100, (int)(fen % 100));
	if (strlen(buf) - 1 > digits)
		snprintf(buf, size, "%" PRId64, fen / 100);
	if (strlen(buf) - (strchr(buf, '.') ? 1 : 0) > digits) {
		memset(buf, '-', digits); /* over the digits the pole has: never a wrong amount */
		buf[digits] = 0;
	}
}

/* Whether the customer has an amount to pay (or just paid it) on this screen. */
static int
screen_has_amount(const struct display_screen *s)
{
	switch (s->kind) {
	case DISPLAY_SCREEN_QR:
	case DISPLAY_SCREEN_SHOW_CODE:
	case DISPLAY_SCREEN_PROCESSING:
	case DISPLAY_SCREEN_CONFIRM:
	case DISPLAY_SCREEN_PAID:
		return s->amount_fen > 0;
	case DISPLAY_SCREEN_IDLE:
	case DISPLAY_SCREEN_FAILED:
	case DISPLAY_SCREEN_CANCELED:
	case _DISPLAY_SCREEN_MAX:
		break;
	}
	return 0;
}

static int
led8n_format(const struct display_screen *s, struct buf *out)
{
	char amount[32];

	if (!screen_has_amount(s))
		/* Nothing to pay: lamps off, digits cleared. */
		return buf_printf(out, "%cL0000%c", STX, CLR);
	amount_digits(s->amount_fen, LED_DIGITS, amount, sizeof(amount));
	return buf_printf(out, "%c%c%c%c%c%c%s%c", ESC, 's',
			  s->kind == DISPLAY_SCREEN_PAID ? LAMP_COLLECT : LAMP_TOTAL, ESC, 'Q', 'A',
			  amount, CR);
}

/* One VFD line: left text, right text right-aligned, padded to the full width. */
static int
vfd_line(struct buf *out, char line, const char *left, const char *right)
{
	size_t l = strlen(left), r = strlen(right);
	int k = buf_printf(out, "%c%c%c%s", ESC, 'Q', line, left);

	for (size_t i = l + r; k >= 0 && i < VFD_COLS; i++)
		k = buf_putc(out, ' ');
	if (k >= 0)
		k = buf_puts(out, right);
	return k < 0 ? k : buf_putc(out, CR);
}

static int
cd5220_format(const struct display_screen *s, struct buf *out)
{
	/* The VFD's character set is ASCII: fixed English words, never the store's text. */
	static const char *const line2[_DISPLAY_SCREEN_MAX] = {
		[DISPLAY_SCREEN_IDLE] = "ALIPAY ACCEPTED",
		[DISPLAY_SCREEN_QR] = "SCAN QR TO PAY",
		[DISPLAY_SCREEN_SHOW_CODE] = "SHOW PAYMENT CODE",
		[DISPLAY_SCREEN_PROCESSING] = "PROCESSING...",
		[DISPLAY_SCREEN_CONFIRM] = "CONFIRM ON PHONE",
		[DISPLAY_SCREEN_PAID] = "THANK YOU",
		[DISPLAY_SCREEN_FAILED] = "PAYMENT FAILED",
		[DISPLAY_SCREEN_CANCELED] = "PAYMENT CANCELED",
	};
	char amount[32];
	int r;

	amount_digits(s->amount_fen, VFD_COLS - 6, amount, sizeof(amount));
	if (!screen_has_amount(s))
		r = vfd_line(out, 'A', s->kind == DISPLAY_SCREEN_IDLE ? "WELCOME" : "", "");
	else
		r = vfd_line(out, 'A', s->kind == DISPLAY_SCREEN_PAID ? "PAID" : "TOTAL", amount);
	return r < 0 ? r : vfd_line(out, 'B', line2[s->kind], "");
}

int
display_pole_format(enum display_pole_protocol p, const struct display_screen *s, struct buf *out)
{
	if ((unsigned)s->kind >= _DISPLAY_SCREEN_MAX)
		return -EINVAL;
	switch (p) {
	case DISPLAY_POLE_LED8N:
		return led8n_format(s, out);
	case DISPLAY_POLE_CD5220:
		return cd5220_format(s, out);
	}
	return -EINVAL;
}

int
display_pole_init_bytes(enum display_pole_protocol p, struct buf *out)
{
	(void)p; /* both sets: ESC @ resets to power-on state and clears */
	return buf_printf(out, "%c%c", ESC, '@');
}

static speed_t
baud_speed(unsigned baud)
{
	switch (baud) {
	case 1200:
		return B1200;
	case 2400:
		return B2400;
	case 4800:
		return B4800;
	case 9600:
		return B9600;
	case 19200:
		return B19200;
	case 38400:
		return B38400;
	case 57600:
		return B57600;
	case 115200:
		return B115200;
	}
	return B0;
}

int
display_pole_baud_valid(unsigned baud)
{
	return baud_speed(baud) != B0;
}

int
display_pole_open(const char *path, unsigned baud)
{
	struct termios t;
	speed_t sp = baud_speed(baud);
	int fd, r;

	if (sp == B0)
		return -EINVAL;
	/* Non-blocking: a pole that stops reading loses frames, it never holds a payment. */
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &t) < 0)
		goto fail;
	cfmakeraw(&t);
	t.c_cflag &= ~(unsigned)(CSTOPB | PARENB | CRTSCTS | CSIZE);
	t.c_cflag |= CS8 | CLOCAL | CREAD;
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (cfsetispeed(&t, sp) < 0 || cfsetospeed(&t, sp) < 0 || tcsetattr(fd, TCSANOW, &t) < 0)
		goto fail;
	(void)tcflush(fd, TCIOFLUSH);
	/* The pole is ours alone while it is open: a second writer (a stale copy of the daemon,
	 * a terminal, a prober) would mix its bytes into our frames. Best effort: without it the
	 * pole still shows. */
	(void)tty_hold_exclusive(fd);
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}
