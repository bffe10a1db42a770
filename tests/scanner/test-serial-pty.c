/* SPDX-License-Identifier: MIT */
/* Serial scanners on a real PTY: 8N1 raw setup, flush on open, framings, AIM, reopen after EOF,
 * exclusive use. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drivers/scanner/scanner-sd-event.h"
#include "drivers/scanner/scanner.h"
#include "scanner-wait.h"
#include "test.h"
#include "tty-excl.h"

static void
expect_state(struct scanner *s, enum scanner_state st)
{
	struct scanner_event ev;
	CHECK_INT_EQ(wait_event(s, &ev), 1);
	CHECK_INT_EQ(ev.type, SCANNER_EVENT_STATE);
	CHECK_STR_EQ(scanner_state_to_string(ev.state), scanner_state_to_string(st));
}

static void
expect_code(struct scanner *s, const char *text, const char *aim, enum scan_class cls)
{
	struct scanner_event ev;
	CHECK_INT_EQ(wait_event(s, &ev), 1);
	CHECK_INT_EQ(ev.type, SCANNER_EVENT_CODE);
	CHECK_STR_EQ(ev.text, text);
	CHECK_STR_EQ(ev.aim, aim);
	CHECK_STR_EQ(scan_class_to_string(ev.cls), scan_class_to_string(cls));
}

static void
put(int master, const char *data)
{
	size_t n = strlen(data);
	CHECK_INT_EQ(write(master, data, n), (ssize_t)n);
}

struct pty {
	int master;
	char path[64];
};

static void
pty_open(struct pty *p)
{
	int slave;

	CHECK(openpty(&p->master, &slave, p->path, NULL, NULL) == 0);
	/* The slave stays open only in the scanner: a real device has no other reader. */
	close(slave);
}

static struct scanner *
open_scanner_gap(const char *path, enum scanner_framing framing, enum scanner_prefix prefix,
		 unsigned baud, usec_t gap)
{
	struct scanner_config cfg;
	struct scanner *s = NULL;

	scanner_config_init(&cfg);
	cfg.kind = SCANNER_KIND_SERIAL;
	cfg.name = "pty";
	cfg.match_path = path;
	cfg.framing = framing;
	cfg.prefix = prefix;
	cfg.baud = baud;
	cfg.idle_gap_usec = gap;
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	return s;
}

static struct scanner *
open_scanner(const char *path, enum scanner_framing framing, bool aim, unsigned baud)
{
	return open_scanner_gap(path, framing, aim ? SCANNER_PREFIX_AIM : SCANNER_PREFIX_NONE, baud,
				50 * USEC_PER_MSEC);
}

/*
 * A scanner on the line, in a child process: `script` is bytes to send one by one, about a
 * millisecond apart as at 9600 baud, with "@N" (a token of its own, space-separated from the
 * bytes around it) pausing N ms. "\r" and "\n" are sent as written in the C string.
 */
static pid_t
device_send(int master, const char *script)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid > 0)
		return pid;
	for (const char *p = script; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (p[0] == '@' && p[1] >= '0' && p[1] <= '9') {
			char *end;
			unsigned long ms = strtoul(p + 1, &end, 10);
			usleep((useconds_t)(ms * 1000));
			p = *end == ' ' ? end + 1 : end;
			continue;
		}
		if (write(master, p, 1) != 1)
			_exit(1);
		usleep(1000);
		p++;
	}
	_exit(0);
}

static void
device_wait(pid_t pid)
{
	int status = 0;
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A scanner on a PTY with a device process sending `script` (see device_send()). */
struct session {
	struct pty p;
	struct scanner *s;
	pid_t pid;
};

static void
session_start(struct session *x, enum scanner_framing framing, enum scanner_prefix prefix,
	      usec_t gap, const char *script)
{
	pty_open(&x->p);
	x->s = open_scanner_gap(x->p.path, framing, prefix, 9600, gap);
	expect_state(x->s, SCANNER_STATE_PRESENT);
	x->pid = device_send(x->p.master, script);
}

static void
session_end(struct session *x)
{
	device_wait(x->pid);
	scanner_free(x->s);
	close(x->p.master);
}

/*
 * Honeywell's factory default: no suffix, frames end when the line goes idle. Bytes a
 * millisecond apart, a pause of 30 ms inside the first code (the margin to the gap is wide:
 * the machine is shared), then 1.5 s between scans.
 */
static void
test_framing_none(void)
{
	struct session x;

	session_start(&x, SCANNER_FRAMING_NONE, SCANNER_PREFIX_NONE, 400 * USEC_PER_MSEC,
		      "287654321 @30 098765430 @1500 6901234567892 @1500 \r\n2812345678901234\r\n");
	expect_code(x.s, "287654321098765430", "", SCAN_CLASS_ALIPAY);
	expect_code(x.s, "6901234567892", "", SCAN_CLASS_BARCODE);
	/* A stray CR LF around a frame is not part of it. */
	expect_code(x.s, "2812345678901234", "", SCAN_CLASS_ALIPAY);
	session_end(&x);
}

/* A CR LF scanner on the default CR framing: every code, not just the first. */
static void
test_crlf_on_cr(void)
{
	struct session x;

	session_start(&x, SCANNER_FRAMING_CR, SCANNER_PREFIX_NONE, 50 * USEC_PER_MSEC,
		      "287654321098765430\r\n @200 6901234567892\r\n @200 2812345678901234\r\n");
	expect_code(x.s, "287654321098765430", "", SCAN_CLASS_ALIPAY);
	expect_code(x.s, "6901234567892", "", SCAN_CLASS_BARCODE);
	expect_code(x.s, "2812345678901234", "", SCAN_CLASS_ALIPAY);
	session_end(&x);
}

/* Honeywell Code ID prefix: "j" Code 128, "s" QR Code, "d" EAN-13; a missing one is refused. */
static void
test_code_id(void)
{
	struct session x;

	session_start(&x, SCANNER_FRAMING_CR, SCANNER_PREFIX_CODE_ID, 400 * USEC_PER_MSEC,
		      "s287654321098765430\r @100 d6901234567892\r @100 jABC-123\r @100 "
		      "287654321098765430\r");
	expect_code(x.s, "287654321098765430", "s", SCAN_CLASS_ALIPAY);
	expect_code(x.s, "6901234567892", "d", SCAN_CLASS_BARCODE);
	expect_code(x.s, "ABC-123", "j", SCAN_CLASS_BARCODE);
	/* Without its Code ID, a payment code is refused, never shortened to "87654...". */
	expect_refused(x.s, "Code ID");
	session_end(&x);
}

/* A scanner sending no terminator on CR framing: each scan is refused, none joined. */
static void
test_missing_terminator(void)
{
	struct session x;

	session_start(&x, SCANNER_FRAMING_CR, SCANNER_PREFIX_NONE, 400 * USEC_PER_MSEC,
		      "287654321098765430 @1500 6901234567892 @1500 ");
	expect_refused(x.s, "idle");
	expect_refused(x.s, "torn");
	session_end(&x);
}

static void
test_framing(enum scanner_framing framing, const char *eol)
{
	struct pty p;
	char buf[128];

	pty_open(&p);
	struct scanner *s = open_scanner(p.path, framing, false, 115200);
	expect_state(s, SCANNER_STATE_PRESENT);
	snprintf(buf, sizeof(buf), "287654321098765430%s6901234567892%s", eol, eol);
	put(p.master, buf);
	expect_code(s, "287654321098765430", "", SCAN_CLASS_ALIPAY);
	expect_code(s, "6901234567892", "", SCAN_CLASS_BARCODE);
	/* Split across writes: the framer keeps the partial frame. */
	put(p.master, "2812");
	put(p.master, "345678901234");
	put(p.master, eol);
	expect_code(s, "2812345678901234", "", SCAN_CLASS_ALIPAY);
	scanner_free(s);
	close(p.master);
}

/* The port is raw 8N1 at the configured speed, without flow control or echo. */
static void
test_termios(void)
{
	struct termios t;
	struct pty p;

	pty_open(&p);
	struct scanner *s = open_scanner(p.path, SCANNER_FRAMING_CR, false, 9600);
	expect_state(s, SCANNER_STATE_PRESENT);
	/* The master shares the line discipline settings of the slave. */
	CHECK(tcgetattr(p.master, &t) == 0);
	CHECK_INT_EQ(cfgetispeed(&t), B9600);
	CHECK_INT_EQ(t.c_cflag & CSIZE, CS8);
	CHECK(!(t.c_cflag & (PARENB | CSTOPB | CRTSCTS)));
	CHECK(t.c_cflag & CLOCAL);
	CHECK(!(t.c_lflag & (ICANON | ECHO)));
	CHECK(!(t.c_iflag & (IXON | ICRNL)));
	CHECK_INT_EQ(t.c_cc[VMIN], 0);
	/* Raw mode: a CR reaches the framer untranslated. */
	put(p.master, "]E06901234567892\r");
	expect_code(s, "]E06901234567892", "", SCAN_CLASS_BARCODE);
	scanner_free(s);
	close(p.master);
}

static void
test_aim(void)
{
	struct pty p;

	pty_open(&p);
	struct scanner *s = open_scanner(p.path, SCANNER_FRAMING_CRLF, true, 9600);
	expect_state(s, SCANNER_STATE_PRESENT);
	put(p.master, "]E06901234567892\r\n]Q1https://example.com/x\r\n");
	expect_code(s, "6901234567892", "]E0", SCAN_CLASS_BARCODE);
	expect_code(s, "https://example.com/x", "]Q1", SCAN_CLASS_BARCODE);
	/* A control character inside a frame rejects it. */
	put(p.master, "12\t34\r\n");
	struct scanner_event ev;
	CHECK_INT_EQ(wait_event(s, &ev), 1);
	CHECK_INT_EQ(ev.cls, SCAN_CLASS_REJECTED);
	CHECK_STR_EQ(ev.text, "");
	scanner_free(s);
	close(p.master);
}

/* Stale bytes sent before the scanner opened the port are flushed, not decoded. */
static void
test_flush_on_open(void)
{
	struct pty p;
	struct termios t;

	pty_open(&p);
	/* Keep the slave's input queue alive while nobody has it open. */
	int keep = open(p.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(keep >= 0);
	CHECK(tcgetattr(keep, &t) == 0);
	cfmakeraw(&t);
	CHECK(tcsetattr(keep, TCSANOW, &t) == 0);
	put(p.master, "9999999999\r");
	/* Wait until the line discipline holds the bytes. */
	for (int i = 0; i < 1000; i++) {
		int queued = 0;
		CHECK(ioctl(keep, FIONREAD, &queued) == 0);
		if (queued == 11)
			break;
		usleep(1000);
	}
	struct scanner *s = open_scanner(p.path, SCANNER_FRAMING_CR, false, 9600);
	expect_state(s, SCANNER_STATE_PRESENT);
	put(p.master, "287654321098765430\r");
	expect_code(s, "287654321098765430", "", SCAN_CLASS_ALIPAY);
	scanner_free(s);
	close(keep);
	close(p.master);
}

/* The device hangs up: error, then the scanner reopens the path with backoff and reads again. */
static void
test_reopen(void)
{
	char dir[] = "/tmp/f2fpay-serial-XXXXXX", link[128];
	struct pty p, q;

	CHECK(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/ttyScanner", dir);
	pty_open(&p);
	CHECK(symlink(p.path, link) == 0);
	struct scanner *s = open_scanner(link, SCANNER_FRAMING_CR, false, 9600);
	expect_state(s, SCANNER_STATE_PRESENT);
	put(p.master, "2812345678901234\r");
	expect_code(s, "2812345678901234", "", SCAN_CLASS_ALIPAY);
	/* Hang-up: the slave reads EIO (a USB CDC-ACM device that vanished does the same). */
	CHECK(unlink(link) == 0);
	close(p.master);
	expect_state(s, SCANNER_STATE_ERROR);
	CHECK(scanner_get_deadline(s) != USEC_INFINITY);
	/* The link is gone for a while: the scanner keeps looking. */
	expect_state(s, SCANNER_STATE_MISSING);
	pty_open(&q);
	CHECK(symlink(q.path, link) == 0);
	expect_state(s, SCANNER_STATE_PRESENT);
	put(q.master, "2898765432109876\r");
	expect_code(s, "2898765432109876", "", SCAN_CLASS_ALIPAY);
	scanner_free(s);
	close(q.master);
	CHECK(unlink(link) == 0);
	CHECK(rmdir(dir) == 0);
}

/*
 * The port is the scanner's alone while it reads it: another program opening it (a stale
 * daemon, a terminal, a modem prober) is refused with EBUSY and reads no payment code; closed,
 * the port is anyone's again, even while another holder keeps it open.
 */
static void
test_exclusive(void)
{
	struct pty p;
	int held;

	pty_open(&p);
	held = tty_hold_shared(p.path);
	struct scanner *s = open_scanner(p.path, SCANNER_FRAMING_CR, false, 9600);
	expect_state(s, SCANNER_STATE_PRESENT);
	tty_check_exclusive(p.path, 1);
	put(p.master, "2812345678901234\r");
	expect_code(s, "2812345678901234", "", SCAN_CLASS_ALIPAY);
	scanner_free(s);
	tty_check_exclusive(p.path, 0);
	close(held);
	close(p.master);
}

struct sd_seen {
	int states, codes;
	char last[SCAN_CODE_MAX + 1];
};

static void
on_event(struct scanner *s, const struct scanner_event *ev, void *userdata)
{
	struct sd_seen *seen = userdata;

	if (ev->type == SCANNER_EVENT_STATE) {
		CHECK_INT_EQ(ev->state, SCANNER_STATE_PRESENT);
		seen->states++;
		return;
	}
	CHECK_INT_EQ(ev->cls, SCAN_CLASS_ALIPAY);
	snprintf(seen->last, sizeof(seen->last), "%s", ev->text);
	seen->codes++;
}

/* The sd-event helper delivers the first state and the codes from the loop itself. */
static void
test_sd_event(void)
{
	struct sd_seen seen = {0};
	struct scanner_sd *a = NULL;
	sd_event *loop = NULL;
	struct pty p;

	pty_open(&p);
	struct scanner *s = open_scanner(p.path, SCANNER_FRAMING_CR, false, 9600);
	CHECK(sd_event_new(&loop) >= 0);
	CHECK_INT_EQ(scanner_sd_attach(s, loop, on_event, &seen, &a), 0);
	for (int i = 0; i < 200 && seen.states == 0; i++)
		CHECK(sd_event_run(loop, 100 * USEC_PER_MSEC) >= 0);
	CHECK_INT_EQ(seen.states, 1);
	put(p.master, "287654321098765430\r2812345678901234\r");
	for (int i = 0; i < 200 && seen.codes < 2; i++)
		CHECK(sd_event_run(loop, 100 * USEC_PER_MSEC) >= 0);
	CHECK_INT_EQ(seen.codes, 2);
	CHECK_STR_EQ(seen.last, "2812345678901234");
	scanner_sd_detach(a);
	sd_event_unref(loop);
	scanner_free(s);
	close(p.master);
}

static void
test_bad_config(void)
{
	struct scanner_config cfg;
	struct scanner *s = NULL;

	scanner_config_init(&cfg);
	cfg.kind = SCANNER_KIND_SERIAL;
	cfg.match_path = "/dev/null";
	cfg.baud = 12345;
	CHECK_INT_EQ(scanner_new(&cfg, &s), -EINVAL);
	cfg.baud = 9600;
	cfg.match_path = NULL;
	CHECK_INT_EQ(scanner_new(&cfg, &s), -EINVAL); /* no rule */
	CHECK(s == NULL);
}

int
main(void)
{
	test_framing(SCANNER_FRAMING_CR, "\r");
	test_framing(SCANNER_FRAMING_LF, "\n");
	test_framing(SCANNER_FRAMING_CRLF, "\r\n");
	test_termios();
	test_aim();
	test_framing_none();
	test_crlf_on_cr();
	test_code_id();
	test_missing_terminator();
	test_flush_on_open();
	test_reopen();
	test_exclusive();
	test_bad_config();
	test_sd_event();
	printf("serial PTY tests passed\n");
	return 0;
}
