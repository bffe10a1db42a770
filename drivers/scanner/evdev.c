/* SPDX-License-Identifier: MIT */
/* Keyboard-wedge scanners: every event node of the device, grabbed, decoded by the assembler. */
#include <errno.h>
#include <fcntl.h>
#include <libevdev/libevdev.h>
#include <linux/input.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>

#include "common/log.h"
#include "drivers/scanner/keyasm.h"
#include "drivers/scanner/scanner-private.h"

/* A USB scanner exposes a few nodes (keyboard, consumer control, system control). */
#define EVDEV_NODES_MAX       8
/* A refused grab is tried again this often. */
#define EVDEV_GRAB_RETRY_USEC (2 * USEC_PER_SEC)
/* Events read per node and call, so one chatty node cannot starve the loop. */
#define EVDEV_READ_BURST      512

struct evdev_node {
	struct scanner_watch w;
	struct libevdev *dev;
	char *devnode;
	char *syspath;
	char *usb_parent; /* NULL when not on USB */
	bool grabbed;
	bool grab_refused; /* another process holds the grab: state "error", retried */
	bool event_clock;  /* timestamps are CLOCK_MONOTONIC (EVIOCSCLOCKID worked) */
	/* Otherwise: CLOCK_MONOTONIC minus the event clock, the smallest seen (the event read
	 * with the least delay), so gaps are measured between the device's own timestamps. */
	int64_t clock_offset;
	bool have_offset;
};

struct evdev_impl {
	struct udev *udev;
	struct udev_monitor *mon;
	struct scanner_watch mon_w;
	struct evdev_node nodes[EVDEV_NODES_MAX];
	size_t n_nodes;
	struct keyasm *ka;
	usec_t retry_at;      /* USEC_INFINITY when no reopen is due */
	usec_t grab_retry_at; /* USEC_INFINITY when no refused grab waits */
	usec_t backoff;
};

static void
evdev_node_close(struct scanner *s, struct evdev_node *n)
{
	scanner_watch_del(s, &n->w);
	if (n->dev && n->grabbed)
		(void)libevdev_grab(n->dev, LIBEVDEV_UNGRAB);
	libevdev_free(n->dev); /* does not close the fd */
	if (n->w.fd >= 0)
		close(n->w.fd);
	free(n->devnode);
	free(n->syspath);
	free(n->usb_parent);
	memset(n, 0, sizeof(*n));
	n->w.fd = -1;
}

static bool
evdev_any_refused(const struct evdev_impl *e)
{
	for (size_t i = 0; i < EVDEV_NODES_MAX; i++)
		if (e->nodes[i].dev && e->nodes[i].grab_refused)
			return true;
	return false;
}

static void
evdev_remove_node(struct scanner *s, struct evdev_node *n)
{
	struct evdev_impl *e = s->impl;

	/* Slots are not compacted: epoll may still hold the address of another node's watch. */
	evdev_node_close(s, n);
	e->n_nodes--;
	if (e->n_nodes == 0) {
		keyasm_reset(e->ka);
		e->grab_retry_at = USEC_INFINITY;
		scanner_set_state(s, SCANNER_STATE_MISSING, NULL);
	} else if (!evdev_any_refused(e))
		scanner_set_state(s, SCANNER_STATE_PRESENT, NULL);
}

static bool
evdev_any_key_down(const struct libevdev *dev)
{
	for (unsigned k = 0; k <= KEY_MAX; k++)
		if (libevdev_get_event_value(dev, EV_KEY, k))
			return true;
	return false;
}

/*
 * The lock state the scanner sees on its LEDs is the one it types for: a scanner that presses
 * Num Lock itself does so because its LED said off. EVIOCGLED (read by libevdev) gives it.
 */
static void
evdev_read_leds(struct scanner *s, struct evdev_node *n)
{
	struct evdev_impl *e = s->impl;
	int num = -1, caps = -1;

	if (libevdev_has_event_code(n->dev, EV_LED, LED_NUML))
		num = libevdev_get_event_value(n->dev, EV_LED, LED_NUML);
	if (libevdev_has_event_code(n->dev, EV_LED, LED_CAPSL))
		caps = libevdev_get_event_value(n->dev, EV_LED, LED_CAPSL);
	if (num < 0 && caps < 0)
		return; /* a node without LEDs (consumer control) tells nothing */
	keyasm_set_leds(e->ka, num, caps);
	scanner_raw(s, &(struct scanner_raw){.kind = SCANNER_RAW_EVENT,
					     .type = EV_LED,
					     .code = LED_NUML,
					     .value = num});
	scanner_raw(s, &(struct scanner_raw){.kind = SCANNER_RAW_EVENT,
					     .type = EV_LED,
					     .code = LED_CAPSL,
					     .value = caps});
	log_debug("Scanner %s: %s: Num Lock %s, Caps Lock %s", s->name, n->devnode,
		  num < 0 ? "unknown"
		  : num   ? "on"
			  : "off",
		  caps < 0 ? "unknown"
		  : caps   ? "on"
			   : "off");
}

/* doc/hardware.md §1: grab only when every key is up, then drop what the console already got. */
static void
evdev_node_try_grab(struct scanner *s, struct evdev_node *n, usec_t now)
{
	struct evdev_impl *e = s->impl;
	struct input_event ev;
	int r, drained = 0;

	if (n->grabbed || evdev_any_key_down(n->dev))
		return;
	r = libevdev_grab(n->dev, LIBEVDEV_GRAB);
	if (r < 0) {
		/* Another process holds it (EBUSY): it gets the scans and we get nothing, not
		 * even the events that would tell us to retry. Say so, and retry on a timer. */
		if (!n->grab_refused)
			log_warning_errno(r, "Scanner %s: cannot grab %s: %m", s->name, n->devnode);
		n->grab_refused = true;
		e->grab_retry_at = MIN(e->grab_retry_at, now + EVDEV_GRAB_RETRY_USEC);
		scanner_set_state(s, SCANNER_STATE_ERROR, n->devnode);
		return;
	}
	n->grabbed = true;
	if (n->grab_refused) {
		n->grab_refused = false;
		if (!evdev_any_refused(e))
			scanner_set_state(s, SCANNER_STATE_PRESENT, n->devnode);
	}
	do {
		r = libevdev_next_event(n->dev, LIBEVDEV_READ_FLAG_NORMAL, &ev);
		if (r == LIBEVDEV_READ_STATUS_SYNC)
			while (libevdev_next_event(n->dev, LIBEVDEV_READ_FLAG_SYNC, &ev) ==
			       LIBEVDEV_READ_STATUS_SYNC)
				;
		drained++;
	} while (r >= 0 && drained < EVDEV_READ_BURST);
	/* The first grab starts from a clean keyboard state; a sibling's must not cut a code
	 * another node is typing. */
	bool other = false;
	for (size_t i = 0; i < EVDEV_NODES_MAX; i++)
		if (&e->nodes[i] != n && e->nodes[i].dev && e->nodes[i].grabbed)
			other = true;
	if (!other)
		keyasm_reset(e->ka);
	evdev_read_leds(s, n);
	log_debug("Scanner %s: grabbed %s", s->name, n->devnode);
}

static usec_t
timeval_to_usec(const struct timeval *tv)
{
	return (usec_t)tv->tv_sec * USEC_PER_SEC + (usec_t)tv->tv_usec;
}

/* When no larger than this, a change of the estimated offset is a delay, not a clock step. */
#define EVDEV_CLOCK_STEP_USEC ((int64_t)2 * (int64_t)USEC_PER_SEC)

/*
 * Kernel timestamps tell the real gaps between keys whatever delays the loop. Without
 * EVIOCSCLOCKID they are on another clock: they are mapped onto CLOCK_MONOTONIC with the
 * smallest (read time - event time) seen, including every event of this batch (the last one read
 * waited least). A jump of the event clock (a realtime step) restarts the estimate. Times never
 * pass now.
 */
static void
evdev_map_times(struct evdev_node *n, const struct input_event *evs, size_t k, usec_t now,
		usec_t *ret)
{
	int64_t best = INT64_MAX;

	for (size_t i = 0; i < k; i++) {
		int64_t off = (int64_t)now - (int64_t)timeval_to_usec(&evs[i].time);
		best = MIN(best, off);
	}
	if (!n->event_clock && k > 0) {
		if (!n->have_offset || best < n->clock_offset - EVDEV_CLOCK_STEP_USEC ||
		    best > n->clock_offset + EVDEV_CLOCK_STEP_USEC) {
			n->clock_offset = best;
			n->have_offset = true;
		} else
			n->clock_offset = MIN(n->clock_offset, best);
	}
	for (size_t i = 0; i < k; i++) {
		int64_t t = (int64_t)timeval_to_usec(&evs[i].time);
		if (!n->event_clock)
			t += n->clock_offset;
		ret[i] = t < 0 ? 0 : MIN((usec_t)t, now);
	}
}

static void
evdev_feed(struct scanner *s, const struct input_event *ev, usec_t t)
{
	struct evdev_impl *e = s->impl;
	struct scan_code code;

	scanner_raw(s, &(struct scanner_raw){.kind = SCANNER_RAW_EVENT,
					     .t = t,
					     .type = ev->type,
					     .code = ev->code,
					     .value = ev->value});

	if (keyasm_feed(e->ka, ev->type, ev->code, ev->value, t, &code) > 0)
		scanner_emit_code(s, &code);
}

/* Events of one read, fed once their times are known. */
#define EVDEV_BATCH 64

static void
evdev_flush(struct scanner *s, struct evdev_node *n, struct input_event *batch, size_t *k,
	    usec_t now)
{
	usec_t times[EVDEV_BATCH];

	evdev_map_times(n, batch, *k, now, times);
	for (size_t i = 0; i < *k; i++)
		evdev_feed(s, &batch[i], times[i]);
	*k = 0;
}

static int
evdev_node_readable(struct scanner *s, struct scanner_watch *w, uint32_t revents, usec_t now)
{
	struct evdev_node *n = w->userdata;
	struct input_event ev, batch[EVDEV_BATCH];
	size_t k = 0;
	int r = 0;

	for (int i = 0; i < EVDEV_READ_BURST; i++) {
		r = libevdev_next_event(n->dev, LIBEVDEV_READ_FLAG_NORMAL, &ev);
		if (r == LIBEVDEV_READ_STATUS_SYNC) {
			/* SYN_DROPPED: the assembler drops the partial code; libevdev's resync
			 * events then bring the modifiers back in step. */
			struct input_event drop = {.type = EV_SYN, .code = SYN_DROPPED};
			evdev_flush(s, n, batch, &k, now);
			if (n->grabbed)
				evdev_feed(s, &drop, now);
			while (libevdev_next_event(n->dev, LIBEVDEV_READ_FLAG_SYNC, &ev) ==
			       LIBEVDEV_READ_STATUS_SYNC)
				if (n->grabbed)
					evdev_feed(s, &ev, now);
			/* libevdev already dropped what the kernel buffered up to the report;
			 * what comes next is fresh, so end the assembler's drop window. */
			struct input_event report = {.type = EV_SYN, .code = SYN_REPORT};
			if (n->grabbed)
				evdev_feed(s, &report, now);
			continue;
		}
		if (r != LIBEVDEV_READ_STATUS_SUCCESS)
			break;
		if (n->grabbed) {
			batch[k++] = ev;
			if (k == EVDEV_BATCH)
				evdev_flush(s, n, batch, &k, now);
		} else if (ev.type == EV_SYN && ev.code == SYN_REPORT)
			evdev_node_try_grab(s, n, now);
	}
	evdev_flush(s, n, batch, &k, now);
	if (r == -EAGAIN || r >= 0)
		return 0;
	/* ENODEV after an unplug on real hardware; anything else is just as fatal for the fd. */
	log_full_errno(r == -ENODEV ? LOG_INFO : LOG_WARNING, r, "Scanner %s: %s: read failed: %m",
		       s->name, n->devnode);
	evdev_remove_node(s, n);
	return 0;
}

static struct evdev_node *
evdev_find_node(struct evdev_impl *e, const char *syspath)
{
	for (size_t i = 0; i < EVDEV_NODES_MAX; i++)
		if (e->nodes[i].dev && STR_EQ(e->nodes[i].syspath, syspath))
			return &e->nodes[i];
	return NULL;
}

/* A node of a device we already read (same USB parent), e.g. its consumer-control node. */
static bool
evdev_is_sibling(struct evdev_impl *e, const char *usb_parent)
{
	if (!usb_parent)
		return false;
	for (size_t i = 0; i < EVDEV_NODES_MAX; i++)
		if (e->nodes[i].dev && STR_EQ_PTR(e->nodes[i].usb_parent, usb_parent))
			return true;
	return false;
}

static int
evdev_node_open(struct scanner *s, struct udev_device *dev, usec_t now)
{
	struct evdev_impl *e = s->impl;
	const char *devnode = udev_device_get_devnode(dev);
	const char *parent = scanner_udev_usb_parent(dev);
	struct evdev_node *n;
	int fd, r, clk = CLOCK_MONOTONIC;

	if (evdev_find_node(e, udev_device_get_syspath(dev)))
		return 0;
	n = NULL;
	for (size_t i = 0; i < EVDEV_NODES_MAX && !n; i++)
		if (!e->nodes[i].dev)
			n = &e->nodes[i];
	if (!n)
		return log_warning_errno(ENOSPC, "Scanner %s: more than %d event nodes, %s ignored",
					 s->name, EVDEV_NODES_MAX, devnode);
	fd = open(devnode, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_warning_errno(errno, "Scanner %s: cannot open %s: %m", s->name, devnode);
	*n = (struct evdev_node){.w = {.fd = fd, .fn = evdev_node_readable, .userdata = n}};
	r = libevdev_new_from_fd(fd, &n->dev);
	if (r < 0) {
		close(fd);
		n->w.fd = -1;
		return log_warning_errno(r, "Scanner %s: %s is not an evdev device: %m", s->name,
					 devnode);
	}
	n->devnode = strdup(devnode);
	n->syspath = strdup(udev_device_get_syspath(dev));
	n->usb_parent = parent ? strdup(parent) : NULL;
	e->n_nodes++;
	if (!n->devnode || !n->syspath || (parent && !n->usb_parent)) {
		evdev_remove_node(s, n);
		return -ENOMEM;
	}
	/* Kernel timestamps on the monotonic clock measure inter-key gaps exactly, whatever
	 * delays our loop; where the ioctl is refused the read time is used instead. */
	n->event_clock = ioctl(fd, EVIOCSCLOCKID, &clk) == 0;
	r = scanner_watch_add(s, &n->w, EPOLLIN);
	if (r < 0) {
		evdev_remove_node(s, n);
		return r;
	}
	evdev_node_try_grab(s, n, now);
	log_info("Scanner %s: reading %s (\"%s\")%s", s->name, devnode,
		 strempty(libevdev_get_name(n->dev)), n->grabbed ? ", grabbed" : "");
	if (!evdev_any_refused(e))
		scanner_set_state(s, SCANNER_STATE_PRESENT, devnode);
	return 1;
}

static bool
evdev_wanted(struct scanner *s, struct udev_device *dev)
{
	const char *sysname = udev_device_get_sysname(dev);

	if (!sysname || strncmp(sysname, "event", 5) != 0 || !udev_device_get_devnode(dev))
		return false;
	return scanner_udev_match(&s->cfg, dev) ||
	       evdev_is_sibling(s->impl, scanner_udev_usb_parent(dev));
}

/* Opens every event node that matches, then their siblings on the same USB device. */
static int
evdev_scan(struct scanner *s, usec_t now)
{
	struct evdev_impl *e = s->impl;
	int opened = 0, failed = 0;

	for (int pass = 0; pass < 2; pass++) {
		_cleanup_(udev_enumerate_unrefp) struct udev_enumerate *en = NULL;
		struct udev_list_entry *l;

		en = udev_enumerate_new(e->udev);
		if (!en)
			return -ENOMEM;
		(void)udev_enumerate_add_match_subsystem(en, "input");
		(void)udev_enumerate_add_match_sysname(en, "event*");
		if (udev_enumerate_scan_devices(en) < 0)
			return log_warning_errno(EIO, "Scanner %s: udev enumeration failed",
						 s->name);
		udev_list_entry_foreach(l, udev_enumerate_get_list_entry(en))
		{
			_cleanup_(udev_device_unrefp) struct udev_device *d = NULL;

			d = udev_device_new_from_syspath(e->udev, udev_list_entry_get_name(l));
			if (!d || !evdev_wanted(s, d))
				continue;
			int r = evdev_node_open(s, d, now);
			if (r > 0)
				opened++;
			else if (r < 0)
				failed++;
		}
	}
	return failed > 0 && e->n_nodes == 0 ? -EIO : opened;
}

static void
evdev_rescan(struct scanner *s, usec_t now)
{
	struct evdev_impl *e = s->impl;
	int r = evdev_scan(s, now);

	if (r < 0 && e->n_nodes == 0) {
		e->backoff = scanner_backoff_next(e->backoff);
		e->retry_at = now + e->backoff;
		scanner_set_state(s, SCANNER_STATE_ERROR, NULL);
		return;
	}
	e->backoff = 0;
	e->retry_at = USEC_INFINITY;
	if (e->n_nodes == 0)
		scanner_set_state(s, SCANNER_STATE_MISSING, NULL);
}

static int
evdev_monitor_readable(struct scanner *s, struct scanner_watch *w, uint32_t revents, usec_t now)
{
	struct evdev_impl *e = s->impl;

	for (int i = 0; i < 64; i++) {
		_cleanup_(udev_device_unrefp) struct udev_device *d =
			udev_monitor_receive_device(e->mon);
		const char *action;

		if (!d)
			break;
		action = udev_device_get_action(d);
		if (STR_EQ_PTR(action, "remove")) {
			struct evdev_node *n = evdev_find_node(e, udev_device_get_syspath(d));
			if (n) {
				log_info("Scanner %s: %s removed", s->name, n->devnode);
				evdev_remove_node(s, n);
			}
		} else if (STR_EQ_PTR(action, "add") && evdev_wanted(s, d)) {
			if (evdev_node_open(s, d, now) < 0 && e->n_nodes == 0) {
				e->backoff = scanner_backoff_next(e->backoff);
				e->retry_at = now + e->backoff;
				scanner_set_state(s, SCANNER_STATE_ERROR, NULL);
			}
		}
	}
	return 0;
}

static int
evdev_start(struct scanner *s, usec_t now)
{
	struct evdev_impl *e;
	struct keyasm_config kc = {
		.layout = s->cfg.layout,
		.variant = s->cfg.variant,
		.suffix = s->cfg.suffix,
		.interkey_timeout_usec = s->cfg.interkey_timeout_usec,
		.max_len = s->cfg.max_len,
	};
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	s->impl = e;
	e->retry_at = USEC_INFINITY;
	e->grab_retry_at = USEC_INFINITY;
	e->mon_w.fd = -1;
	for (size_t i = 0; i < EVDEV_NODES_MAX; i++)
		e->nodes[i].w.fd = -1;
	r = keyasm_new(&kc, &e->ka);
	if (r < 0)
		return r;
	e->udev = udev_new();
	if (!e->udev)
		return log_error_errno(ENOMEM, "Scanner %s: udev_new failed", s->name);
	/* Monitor before enumerating so a device plugged in between is not missed. */
	e->mon = udev_monitor_new_from_netlink(e->udev, "udev");
	if (!e->mon)
		return log_error_errno(EIO, "Scanner %s: cannot monitor udev", s->name);
	(void)udev_monitor_filter_add_match_subsystem_devtype(e->mon, "input", NULL);
	r = udev_monitor_enable_receiving(e->mon);
	if (r < 0)
		return log_error_errno(r, "Scanner %s: cannot monitor udev: %m", s->name);
	e->mon_w = (struct scanner_watch){.fd = udev_monitor_get_fd(e->mon),
					  .fn = evdev_monitor_readable};
	r = scanner_watch_add(s, &e->mon_w, EPOLLIN);
	if (r < 0)
		return r;
	evdev_rescan(s, now);
	return 0;
}

static void
evdev_free(struct scanner *s)
{
	struct evdev_impl *e = s->impl;

	if (!e)
		return;
	for (size_t i = 0; i < EVDEV_NODES_MAX; i++)
		if (e->nodes[i].dev)
			evdev_node_close(s, &e->nodes[i]);
	scanner_watch_del(s, &e->mon_w);
	if (e->mon)
		udev_monitor_unref(e->mon);
	if (e->udev)
		udev_unref(e->udev);
	keyasm_free(e->ka);
	free(e);
	s->impl = NULL;
}

static usec_t
evdev_deadline(const struct scanner *s)
{
	const struct evdev_impl *e = s->impl;
	usec_t d = keyasm_deadline(e->ka);

	/* With kernel timestamps the deadline is on the same clock as now: both monotonic. */
	return MIN(MIN(d, e->retry_at), e->grab_retry_at);
}

static int
evdev_timeout(struct scanner *s, usec_t now)
{
	struct evdev_impl *e = s->impl;
	struct scan_code code;

	if (keyasm_timeout(e->ka, now, &code) > 0)
		scanner_emit_code(s, &code);
	if (now >= e->retry_at)
		evdev_rescan(s, now);
	if (now >= e->grab_retry_at) {
		e->grab_retry_at = USEC_INFINITY;
		for (size_t i = 0; i < EVDEV_NODES_MAX; i++)
			if (e->nodes[i].dev && e->nodes[i].grab_refused)
				evdev_node_try_grab(s, &e->nodes[i], now);
	}
	return 0;
}

const struct scanner_driver scanner_driver_evdev = {
	.start = evdev_start,
	.free = evdev_free,
	.deadline = evdev_deadline,
	.timeout = evdev_timeout,
};

size_t
scanner_evdev_nodes(const struct scanner *s, const char **ret_nodes, bool *ret_grabbed,
		    int *ret_fds, size_t max)
{
	const struct evdev_impl *e = s->impl;
	size_t n = 0;

	if (s->driver != &scanner_driver_evdev || !e)
		return 0;
	for (size_t i = 0; i < EVDEV_NODES_MAX && n < max; i++)
		if (e->nodes[i].dev) {
			ret_nodes[n] = e->nodes[i].devnode;
			ret_grabbed[n] = e->nodes[i].grabbed;
			if (ret_fds)
				ret_fds[n] = e->nodes[i].w.fd;
			n++;
		}
	return n;
}
