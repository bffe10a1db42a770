/* SPDX-License-Identifier: MIT */
/* Serial / CDC-ACM scanners: raw 8N1 tty, framing, flush on open, reopen with backoff. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>

#include "common/file-util.h"
#include "common/log.h"
#include "drivers/scanner/scanner-private.h"
#include "drivers/scanner/serial-frame.h"

struct serial_impl {
	struct udev *udev;
	struct udev_monitor *mon;
	struct scanner_watch mon_w;
	struct scanner_watch tty_w;
	char *devnode; /* what is open, NULL when closed */
	char *syspath; /* its udev syspath when known, for remove events */
	struct serial_framer framer;
	usec_t last_rx; /* when the last byte came */
	usec_t retry_at;
	usec_t backoff;
};

static const struct {
	unsigned baud;
	speed_t speed;
} bauds[] = {
	{1200, B1200},     {2400, B2400},     {4800, B4800},     {9600, B9600},
	{19200, B19200},   {38400, B38400},   {57600, B57600},   {115200, B115200},
	{230400, B230400}, {460800, B460800}, {921600, B921600},
};

static int
serial_speed(unsigned baud, speed_t *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(bauds); i++)
		if (bauds[i].baud == baud) {
			*ret = bauds[i].speed;
			return 0;
		}
	return -EINVAL;
}

static void
serial_close(struct scanner *s)
{
	struct serial_impl *e = s->impl;

	scanner_watch_del(s, &e->tty_w);
	tty_close(e->tty_w.fd);
	e->tty_w.fd = -1;
	free(e->devnode);
	free(e->syspath);
	e->devnode = e->syspath = NULL;
	serial_framer_reset(&e->framer);
}

/* doc/hardware.md §2: raw, CLOCAL|CREAD, 8N1, no flow control, VMIN=VTIME=0, flush what is stale.
 */
static int
serial_configure(int fd, unsigned baud)
{
	struct termios t;
	speed_t sp;

	if (serial_speed(baud, &sp) < 0)
		return -EINVAL;
	if (tcgetattr(fd, &t) < 0)
		return -errno;
	cfmakeraw(&t);
	t.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB | CSIZE | CRTSCTS);
	t.c_cflag |= CS8 | CLOCAL | CREAD;
	t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (cfsetispeed(&t, sp) < 0 || cfsetospeed(&t, sp) < 0)
		return -errno;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	if (tcflush(fd, TCIFLUSH) < 0)
		return -errno;
	return 0;
}

static void
serial_schedule_retry(struct scanner *s, usec_t now, enum scanner_state st)
{
	struct serial_impl *e = s->impl;

	e->backoff = scanner_backoff_next(e->backoff);
	e->retry_at = now + e->backoff;
	scanner_set_state(s, st, NULL);
}

static usec_t serial_gap_deadline(const struct scanner *s);

static int
serial_readable(struct scanner *s, struct scanner_watch *w, uint32_t revents, usec_t now)
{
	struct serial_impl *e = s->impl;
	uint8_t buf[256];

	for (int i = 0; i < 64; i++) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		/* With VMIN=VTIME=0 a tty answers 0 when it is merely empty; only a hang-up
		 * (POLLHUP) makes 0 mean the end. */
		if (n == 0 && !(revents & (EPOLLHUP | EPOLLERR)))
			return 0;
		if (n <= 0) {
			/* EOF or EIO: the device went away or hung up. doc/hardware.md §2: wait
			 * before reopening; a udev remove event may come and make it "missing". */
			if (n < 0)
				log_warning_errno(errno, "Scanner %s: %s: read failed: %m", s->name,
						  e->devnode);
			else
				log_notice("Scanner %s: %s: end of file", s->name, e->devnode);
			serial_close(s);
			serial_schedule_retry(s, now, SCANNER_STATE_ERROR);
			return 0;
		}
		/* Bytes read after the gap passed start a new frame even when the timer has not
		 * run yet: the gap is what ends the old one. */
		if (now >= serial_gap_deadline(s)) {
			struct scan_code code;
			if (serial_framer_gap(&e->framer, &code) > 0)
				scanner_emit_code(s, &code);
		}
		e->last_rx = now;
		scanner_raw(s, &(struct scanner_raw){.kind = SCANNER_RAW_BYTES,
						     .t = now,
						     .data = buf,
						     .len = (size_t)n});
		for (size_t off = 0; off < (size_t)n;) {
			struct scan_code code;
			size_t used;

			if (serial_framer_feed(&e->framer, buf + off, (size_t)n - off, &used,
					       &code) > 0)
				scanner_emit_code(s, &code);
			off += used;
		}
		explicit_bzero(buf, sizeof(buf));
	}
	return 0;
}

static int
serial_open(struct scanner *s, const char *devnode, const char *syspath)
{
	struct serial_impl *e = s->impl;
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(devnode, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return log_warning_errno(errno, "Scanner %s: cannot open %s: %m", s->name, devnode);
	r = serial_configure(fd, s->cfg.baud);
	if (r < 0)
		return log_warning_errno(r, "Scanner %s: cannot configure %s: %m", s->name,
					 devnode);
	e->devnode = strdup(devnode);
	e->syspath = syspath ? strdup(syspath) : NULL;
	if (!e->devnode || (syspath && !e->syspath)) {
		serial_close(s);
		return -ENOMEM;
	}
	e->tty_w = (struct scanner_watch){.fd = TAKE_FD(fd), .fn = serial_readable};
	/*
	 * Exclusive: nobody else (but root) opens the port while the scanner reads it, so no
	 * other program (a stale copy of the daemon, a terminal, a modem prober) reads payment
	 * codes from it or takes some of their bytes. Held from here on, where every way out
	 * closes it with serial_close(), which lets go of it.
	 */
	r = tty_hold_exclusive(e->tty_w.fd);
	if (r < 0)
		log_warning_errno(r, "Scanner %s: cannot open %s exclusively: %m", s->name,
				  devnode);
	r = scanner_watch_add(s, &e->tty_w, EPOLLIN);
	if (r < 0) {
		serial_close(s);
		return r;
	}
	serial_framer_reset(&e->framer);
	e->backoff = 0;
	e->retry_at = USEC_INFINITY;
	log_info("Scanner %s: reading %s at %u baud", s->name, devnode, s->cfg.baud);
	scanner_set_state(s, SCANNER_STATE_PRESENT, devnode);
	return 1;
}

/* Finds the tty: by udev rule, or the configured path itself when udev does not know it. */
static int
serial_try_open(struct scanner *s, usec_t now)
{
	struct serial_impl *e = s->impl;
	_cleanup_(udev_enumerate_unrefp) struct udev_enumerate *en = NULL;
	struct udev_list_entry *l;
	int r;

	if (e->devnode)
		return 0;
	en = udev_enumerate_new(e->udev);
	if (en) {
		(void)udev_enumerate_add_match_subsystem(en, "tty");
		if (udev_enumerate_scan_devices(en) >= 0)
			udev_list_entry_foreach(l, udev_enumerate_get_list_entry(en))
			{
				_cleanup_(udev_device_unrefp) struct udev_device *d =
					udev_device_new_from_syspath(e->udev,
								     udev_list_entry_get_name(l));
				if (!d || !scanner_udev_match(&s->cfg, d))
					continue;
				r = serial_open(s, udev_device_get_devnode(d),
						udev_device_get_syspath(d));
				if (r < 0) {
					serial_schedule_retry(s, now, SCANNER_STATE_ERROR);
					return r;
				}
				return r;
			}
	}
	/* A PTY or a port udev does not describe: the configured path is enough, and as no
	 * udev event will announce it, keep looking with backoff. */
	if (!isempty(s->cfg.match_path) && !s->cfg.match_vidpid) {
		if (access(s->cfg.match_path, F_OK) == 0) {
			r = serial_open(s, s->cfg.match_path, NULL);
			if (r < 0)
				serial_schedule_retry(s, now, SCANNER_STATE_ERROR);
			return r;
		}
		serial_schedule_retry(s, now, SCANNER_STATE_MISSING);
		return 0;
	}
	e->retry_at = USEC_INFINITY; /* udev tells us when it arrives */
	scanner_set_state(s, SCANNER_STATE_MISSING, NULL);
	return 0;
}

static int
serial_monitor_readable(struct scanner *s, struct scanner_watch *w, uint32_t revents, usec_t now)
{
	struct serial_impl *e = s->impl;

	for (int i = 0; i < 64; i++) {
		_cleanup_(udev_device_unrefp) struct udev_device *d =
			udev_monitor_receive_device(e->mon);
		const char *action;

		if (!d)
			break;
		action = udev_device_get_action(d);
		if (STR_EQ_PTR(action, "remove")) {
			if (e->devnode && (STR_EQ_PTR(e->syspath, udev_device_get_syspath(d)) ||
					   STR_EQ_PTR(e->devnode, udev_device_get_devnode(d)))) {
				log_info("Scanner %s: %s removed", s->name, e->devnode);
				serial_close(s);
				e->retry_at = USEC_INFINITY;
				e->backoff = 0;
				scanner_set_state(s, SCANNER_STATE_MISSING, NULL);
			}
		} else if (STR_EQ_PTR(action, "add") && !e->devnode &&
			   scanner_udev_match(&s->cfg, d)) {
			if (serial_open(s, udev_device_get_devnode(d), udev_device_get_syspath(d)) <
			    0)
				serial_schedule_retry(s, now, SCANNER_STATE_ERROR);
		}
	}
	return 0;
}

static int
serial_start(struct scanner *s, usec_t now)
{
	struct serial_impl *e;
	speed_t sp;
	int r;

	if (serial_speed(s->cfg.baud, &sp) < 0)
		return log_error_errno(EINVAL, "Scanner %s: unsupported baud rate %u", s->name,
				       s->cfg.baud);
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	s->impl = e;
	e->tty_w.fd = e->mon_w.fd = -1;
	e->retry_at = USEC_INFINITY;
	serial_framer_init(&e->framer, s->cfg.framing, s->cfg.max_len);
	e->udev = udev_new();
	if (!e->udev)
		return log_error_errno(ENOMEM, "Scanner %s: udev_new failed", s->name);
	e->mon = udev_monitor_new_from_netlink(e->udev, "udev");
	if (e->mon) {
		(void)udev_monitor_filter_add_match_subsystem_devtype(e->mon, "tty", NULL);
		r = udev_monitor_enable_receiving(e->mon);
		if (r >= 0) {
			e->mon_w = (struct scanner_watch){.fd = udev_monitor_get_fd(e->mon),
							  .fn = serial_monitor_readable};
			r = scanner_watch_add(s, &e->mon_w, EPOLLIN);
		}
		if (r < 0)
			log_warning_errno(r, "Scanner %s: no hot-plug monitoring: %m", s->name);
	}
	(void)serial_try_open(s, now);
	return 0;
}

static void
serial_free(struct scanner *s)
{
	struct serial_impl *e = s->impl;

	if (!e)
		return;
	serial_close(s);
	scanner_watch_del(s, &e->mon_w);
	if (e->mon)
		udev_monitor_unref(e->mon);
	if (e->udev)
		udev_unref(e->udev);
	free(e);
	s->impl = NULL;
}

/* When the idle gap after the last byte ends an unfinished frame, or USEC_INFINITY. */
static usec_t
serial_gap_deadline(const struct scanner *s)
{
	const struct serial_impl *e = s->impl;

	if (!e->devnode || s->cfg.idle_gap_usec == 0 || !serial_framer_pending(&e->framer))
		return USEC_INFINITY;
	return e->last_rx + s->cfg.idle_gap_usec;
}

static usec_t
serial_deadline(const struct scanner *s)
{
	const struct serial_impl *e = s->impl;
	return MIN(e->retry_at, serial_gap_deadline(s));
}

static int
serial_timeout(struct scanner *s, usec_t now)
{
	struct serial_impl *e = s->impl;
	struct scan_code code;

	if (now >= serial_gap_deadline(s) && serial_framer_gap(&e->framer, &code) > 0)
		scanner_emit_code(s, &code);

	if (now >= e->retry_at) {
		e->retry_at = USEC_INFINITY;
		(void)serial_try_open(s, now);
	}
	return 0;
}

const struct scanner_driver scanner_driver_serial = {
	.start = serial_start,
	.free = serial_free,
	.deadline = serial_deadline,
	.timeout = serial_timeout,
};
