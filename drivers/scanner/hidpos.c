/* SPDX-License-Identifier: MIT */
/* USB HID-POS scanners through libusb: interrupt-IN reports, hot-plug, Honeywell enable. */
#include <errno.h>
#include <libusb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "drivers/scanner/hidpos-report.h"
#include "drivers/scanner/scanner-private.h"

/* libusb exposes a handful of fds (its event fd, timer fd, one per open device). */
#define HIDPOS_POLLFDS_MAX 8

struct hidpos_impl {
	libusb_context *ctx;
	libusb_hotplug_callback_handle hotplug;
	bool hotplug_registered;
	struct scanner_watch fds[HIDPOS_POLLFDS_MAX];
	libusb_device_handle *handle;
	int interface;
	bool claimed;
	bool reattach; /* we detached a kernel driver */
	uint8_t endpoint;
	struct libusb_transfer *transfer;
	bool transfer_busy;
	bool paused;        /* not resubmitted until the caller drained the event queue */
	bool poll_fallback; /* a libusb fd epoll refuses: poll libusb on a short timer */
	usec_t next_poll;   /* when poll_fallback: the next poll */
	uint8_t buf[HIDPOS_REPORT_SIZE];
	struct hidpos_joiner joiner;
	struct hidpos_layout desc_layout; /* from the report descriptor, when it says */
	bool have_desc_layout;
	char device[32];
	/* Set from libusb callbacks, acted on once libusb_handle_events() has returned. */
	bool arrived, left, failed;
	usec_t retry_at;
	usec_t backoff;
	struct scanner *s;
};

static int
usb_to_errno(int r)
{
	switch (r) {
	case LIBUSB_ERROR_ACCESS:
		return -EACCES;
	case LIBUSB_ERROR_NO_DEVICE:
		return -ENODEV;
	case LIBUSB_ERROR_NOT_FOUND:
		return -ENOENT;
	case LIBUSB_ERROR_BUSY:
		return -EBUSY;
	case LIBUSB_ERROR_TIMEOUT:
		return -ETIMEDOUT;
	case LIBUSB_ERROR_NO_MEM:
		return -ENOMEM;
	case LIBUSB_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static int hidpos_libusb_readable(struct scanner *s, struct scanner_watch *w, uint32_t revents,
				  usec_t now);

static void
hidpos_pollfd_added(int fd, short events, void *userdata)
{
	struct hidpos_impl *e = userdata;
	uint32_t ev = ((events & POLLIN) ? EPOLLIN : 0) | ((events & POLLOUT) ? EPOLLOUT : 0);

	for (size_t i = 0; i < HIDPOS_POLLFDS_MAX; i++)
		if (e->fds[i].fd < 0) {
			struct epoll_event eev = {.events = ev, .data.ptr = &e->fds[i]};
			e->fds[i] = (struct scanner_watch){.fd = fd, .fn = hidpos_libusb_readable};
			/* Regular files cannot be watched (EPERM); umockdev's usbfs nodes are such
			 * files. Real usbfs nodes can: this fallback only costs a 10 ms timer. */
			if (epoll_ctl(e->s->epoll_fd, EPOLL_CTL_ADD, fd, &eev) < 0) {
				if (errno != EPERM)
					log_warning_errno(errno,
							  "Scanner %s: cannot watch fd %d: %m",
							  e->s->name, fd);
				e->poll_fallback = true;
			} else
				e->fds[i].added = true;
			return;
		}
	log_warning("Scanner %s: libusb uses more than %d fds", e->s->name, HIDPOS_POLLFDS_MAX);
}

static void
hidpos_pollfd_removed(int fd, void *userdata)
{
	struct hidpos_impl *e = userdata;

	for (size_t i = 0; i < HIDPOS_POLLFDS_MAX; i++)
		if (e->fds[i].fd == fd) {
			scanner_watch_del(e->s, &e->fds[i]);
			e->fds[i] = (struct scanner_watch){.fd = -1};
		}
}

static void
hidpos_close(struct scanner *s)
{
	struct hidpos_impl *e = s->impl;

	if (e->transfer) {
		if (e->transfer_busy) {
			/* A cancelled URB on a live device completes within milliseconds; this
			 * wait happens only when closing a device that is still there. */
			struct timeval tick = {.tv_usec = 10000};
			(void)libusb_cancel_transfer(e->transfer);
			for (int i = 0; i < 100 && e->transfer_busy; i++)
				(void)libusb_handle_events_timeout_completed(e->ctx, &tick, NULL);
		}
		if (e->transfer_busy) {
			/* Closing under a live URB is undefined in libusb: keep both, leak. */
			log_error("Scanner %s: a report transfer would not cancel; %s left open",
				  s->name, e->device);
			e->transfer = NULL;
			e->handle = NULL;
		} else {
			libusb_free_transfer(e->transfer);
			e->transfer = NULL;
		}
	}
	if (e->handle) {
		if (e->claimed)
			(void)libusb_release_interface(e->handle, e->interface);
		if (e->reattach)
			(void)libusb_attach_kernel_driver(e->handle, e->interface);
		libusb_close(e->handle);
	}
	e->handle = NULL;
	e->claimed = e->reattach = false;
	e->device[0] = 0;
	hidpos_joiner_reset(&e->joiner);
}

static void LIBUSB_CALL
hidpos_transfer_done(struct libusb_transfer *t)
{
	struct hidpos_impl *e = t->user_data;
	struct scanner *s = e->s;
	struct scan_code code;
	int r;

	e->transfer_busy = false;
	switch (t->status) {
	case LIBUSB_TRANSFER_COMPLETED:
		/* A report that does not fit the layout comes out as a refused code, which
		 * scanner_emit_code() logs with its reason. */
		scanner_raw(s, &(struct scanner_raw){.kind = SCANNER_RAW_REPORT,
						     .t = now_usec(CLOCK_MONOTONIC),
						     .data = t->buffer,
						     .len = (size_t)t->actual_length});
		r = hidpos_joiner_feed(&e->joiner, t->buffer, (size_t)t->actual_length, &code);
		if (r > 0)
			scanner_emit_code(s, &code);
		explicit_bzero(t->buffer, HIDPOS_REPORT_SIZE);
		break;
	case LIBUSB_TRANSFER_TIMED_OUT:
		break;
	case LIBUSB_TRANSFER_CANCELLED:
		return;
	case LIBUSB_TRANSFER_NO_DEVICE:
		e->left = true;
		return;
	case LIBUSB_TRANSFER_ERROR:
	case LIBUSB_TRANSFER_STALL:
	case LIBUSB_TRANSFER_OVERFLOW:
		e->failed = true;
		return;
	}
	if (!e->handle)
		return;
	if (scanner_queue_busy(s)) {
		/* Back-pressure: the device keeps the next report until the caller drains. */
		e->paused = true;
		return;
	}
	r = libusb_submit_transfer(t);
	if (r < 0) {
		log_warning("Scanner %s: resubmitting the report transfer failed: %s", s->name,
			    libusb_strerror(r));
		e->failed = true;
		return;
	}
	e->transfer_busy = true;
}

/* The first interrupt-IN endpoint of an interface, or 0. */
static uint8_t
interrupt_in(const struct libusb_interface_descriptor *d)
{
	for (int k = 0; k < d->bNumEndpoints; k++) {
		const struct libusb_endpoint_descriptor *ep = &d->endpoint[k];
		if ((ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) &&
		    (ep->bmAttributes & 0x03) == LIBUSB_TRANSFER_TYPE_INTERRUPT)
			return ep->bEndpointAddress;
	}
	return 0;
}

/*
 * Reads the interface's HID report descriptor: 1 = usage page 0x8C, 0 = not, <0 unknown. When
 * it describes the decoded data, *ret_layout is filled and *ret_have set.
 */
static int
hidpos_interface_is_pos(libusb_device_handle *h, int itf, struct hidpos_layout *ret_layout,
			bool *ret_have)
{
	uint8_t buf[1024];
	int r;

	/* GET_DESCRIPTOR (standard, to interface) of type 0x22, HID report descriptor. */
	r = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN | LIBUSB_RECIPIENT_INTERFACE,
				    LIBUSB_REQUEST_GET_DESCRIPTOR, 0x22 << 8, (uint16_t)itf, buf,
				    sizeof(buf), 1000);
	if (r < 0)
		return -EIO;
	if (!hid_descriptor_has_usage_page(buf, (size_t)r, HID_USAGE_PAGE_BARCODE_SCANNER))
		return 0;
	*ret_have = hid_descriptor_find_pos_layout(buf, (size_t)r, ret_layout) == 0;
	return 1;
}

/*
 * Picks the HID-POS interface of a (possibly composite) scanner: one whose report descriptor
 * declares usage page 0x8C; when descriptors cannot be read, a HID interface with an
 * interrupt-IN endpoint that is not a boot keyboard or mouse (those are the wedge side).
 */
static int
hidpos_find_interface(libusb_device *dev, libusb_device_handle *h, int *ret_if, uint8_t *ret_ep,
		      struct hidpos_layout *ret_layout, bool *ret_have)
{
	struct libusb_config_descriptor *cfg;
	int fallback_if = -1, r = -ENOENT;
	uint8_t fallback_ep = 0;

	if (libusb_get_active_config_descriptor(dev, &cfg) < 0 &&
	    libusb_get_config_descriptor(dev, 0, &cfg) < 0)
		return -EIO;
	for (int i = 0; i < cfg->bNumInterfaces && r < 0; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];
		if (itf->num_altsetting < 1)
			continue;
		const struct libusb_interface_descriptor *d = &itf->altsetting[0];
		uint8_t ep = interrupt_in(d);
		if (d->bInterfaceClass != LIBUSB_CLASS_HID || ep == 0)
			continue;
		int pos = hidpos_interface_is_pos(h, d->bInterfaceNumber, ret_layout, ret_have);
		if (pos > 0) {
			*ret_if = d->bInterfaceNumber;
			*ret_ep = ep;
			r = 0;
		} else if (pos < 0 && fallback_if < 0 && d->bInterfaceProtocol == 0) {
			fallback_if = d->bInterfaceNumber;
			fallback_ep = ep;
		}
	}
	libusb_free_config_descriptor(cfg);
	if (r < 0 && fallback_if >= 0) {
		*ret_if = fallback_if;
		*ret_ep = fallback_ep;
		r = 0;
	}
	return r;
}

/* The configured layout, else what the descriptor says, else the known scanner's, else
 * Honeywell's. Logged, as --diagnose and support need to know which one decodes. */
static const struct hidpos_layout *
hidpos_pick_layout(struct scanner *s)
{
	struct hidpos_impl *e = s->impl;
	const struct hidpos_layout *l = hidpos_layout_get(s->cfg.report_layout);
	const char *why = "configured";

	if (!l && e->have_desc_layout) {
		l = &e->desc_layout;
		why = "from the report descriptor";
	}
	if (!l) {
		l = hidpos_layout_quirk(s->cfg.vid, s->cfg.pid);
		why = "known for this VID:PID";
	}
	if (!l) {
		l = hidpos_layout_get(SCANNER_REPORT_HONEYWELL);
		why = "the default";
	}
	log_info("Scanner %s: report layout %s (%s): data at byte %u, %u bytes", s->name, l->name,
		 why, l->data_off, l->data_max);
	return l;
}

static int
hidpos_open_device(struct scanner *s, libusb_device *dev)
{
	struct hidpos_impl *e = s->impl;
	int r;

	r = libusb_open(dev, &e->handle);
	if (r < 0) {
		e->handle = NULL;
		return log_warning_errno(usb_to_errno(r), "Scanner %s: cannot open USB device: %m",
					 s->name);
	}
	e->have_desc_layout = false;
	r = hidpos_find_interface(dev, e->handle, &e->interface, &e->endpoint, &e->desc_layout,
				  &e->have_desc_layout);
	if (r < 0) {
		r = log_warning_errno(r, "Scanner %s: no HID-POS interface (usage page 0x8C): %m",
				      s->name);
		hidpos_close(s);
		return r;
	}
	snprintf(e->device, sizeof(e->device), "usb:%03u:%03u", libusb_get_bus_number(dev),
		 libusb_get_device_address(dev));
	/* doc/hardware.md §3: usbhid holds the interface. NOT_FOUND (nothing bound) and OTHER (what
	 * umockdev answers) both mean there is nothing to detach. */
	r = libusb_kernel_driver_active(e->handle, e->interface);
	if (r == 1) {
		r = libusb_detach_kernel_driver(e->handle, e->interface);
		if (r == 0)
			e->reattach = true;
		else if (r != LIBUSB_ERROR_NOT_FOUND && r != LIBUSB_ERROR_OTHER &&
			 r != LIBUSB_ERROR_NOT_SUPPORTED)
			log_warning("Scanner %s: cannot detach the kernel driver: %s", s->name,
				    libusb_strerror(r));
	}
	r = libusb_claim_interface(e->handle, e->interface);
	if (r < 0) {
		r = log_warning_errno(usb_to_errno(r), "Scanner %s: cannot claim interface %d: %m",
				      s->name, e->interface);
		hidpos_close(s);
		return r;
	}
	e->claimed = true;
	if (s->cfg.honeywell_enable) {
		/* doc/hardware.md §3: feature report 0xFE [0x01] switches Honeywell scanners to
		 * HID-POS. HID SET_REPORT: bmRequestType 0x21, bRequest 0x09, wValue type 3
		 * (feature). */
		uint8_t data[2] = {0xFE, 0x01};
		r = libusb_control_transfer(e->handle, 0x21, 0x09, (3 << 8) | 0xFE,
					    (uint16_t)e->interface, data, sizeof(data), 1000);
		if (r < 0)
			log_warning("Scanner %s: Honeywell HID-POS enable failed: %s", s->name,
				    libusb_strerror(r));
	}
	if (!e->transfer) {
		e->transfer = libusb_alloc_transfer(0);
		if (!e->transfer) {
			hidpos_close(s);
			return -ENOMEM;
		}
	}
	/* No timeout: a scanner is silent until something is scanned. */
	libusb_fill_interrupt_transfer(e->transfer, e->handle, e->endpoint, e->buf,
				       HIDPOS_REPORT_SIZE, hidpos_transfer_done, e, 0);
	r = libusb_submit_transfer(e->transfer);
	if (r < 0) {
		r = log_warning_errno(usb_to_errno(r), "Scanner %s: cannot start reading: %m",
				      s->name);
		hidpos_close(s);
		return r;
	}
	e->transfer_busy = true;
	e->paused = false;
	hidpos_joiner_init(&e->joiner, hidpos_pick_layout(s), s->cfg.max_len);
	e->backoff = 0;
	e->retry_at = USEC_INFINITY;
	log_info("Scanner %s: reading HID-POS %04x:%04x at %s, interface %d", s->name, s->cfg.vid,
		 s->cfg.pid, e->device, e->interface);
	scanner_set_state(s, SCANNER_STATE_PRESENT, e->device);
	return 1;
}

static int
hidpos_try_open(struct scanner *s, usec_t now)
{
	struct hidpos_impl *e = s->impl;
	libusb_device **list;
	ssize_t n;
	int r = 0;
	bool found = false;

	if (e->handle)
		return 0;
	e->paused = false;
	n = libusb_get_device_list(e->ctx, &list);
	if (n < 0)
		return log_warning_errno(usb_to_errno((int)n), "Scanner %s: cannot list USB: %m",
					 s->name);
	for (ssize_t i = 0; i < n && !found; i++) {
		struct libusb_device_descriptor d;
		if (libusb_get_device_descriptor(list[i], &d) < 0 || d.idVendor != s->cfg.vid ||
		    d.idProduct != s->cfg.pid)
			continue;
		found = true;
		r = hidpos_open_device(s, list[i]);
	}
	libusb_free_device_list(list, 1);
	if (!found) {
		e->retry_at = USEC_INFINITY; /* the hotplug callback says when it comes */
		scanner_set_state(s, SCANNER_STATE_MISSING, NULL);
	} else if (r < 0) {
		e->backoff = scanner_backoff_next(e->backoff);
		e->retry_at = now + e->backoff;
		scanner_set_state(s, SCANNER_STATE_ERROR, NULL);
	}
	return r;
}

static int LIBUSB_CALL
hidpos_hotplug(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev, void *userdata)
{
	struct hidpos_impl *e = userdata;

	if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
		e->arrived = true;
	else if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT && e->handle &&
		 libusb_get_device(e->handle) == dev)
		e->left = true;
	return 0; /* stay registered */
}

/* What libusb callbacks flagged, done now that no libusb call is on the stack. */
static void
hidpos_settle(struct scanner *s, usec_t now)
{
	struct hidpos_impl *e = s->impl;

	if (e->left) {
		e->left = false;
		if (e->handle) {
			log_info("Scanner %s: %s removed", s->name, e->device);
			hidpos_close(s);
		}
		e->retry_at = USEC_INFINITY;
		e->backoff = 0;
		scanner_set_state(s, SCANNER_STATE_MISSING, NULL);
	}
	if (e->failed) {
		e->failed = false;
		if (e->handle) {
			log_warning("Scanner %s: %s: transfer error, reopening", s->name,
				    e->device);
			hidpos_close(s);
		}
		e->backoff = scanner_backoff_next(e->backoff);
		e->retry_at = now + e->backoff;
		scanner_set_state(s, SCANNER_STATE_ERROR, NULL);
	}
	if (e->arrived) {
		e->arrived = false;
		(void)hidpos_try_open(s, now);
	}
}

static void
hidpos_resume(struct scanner *s)
{
	struct hidpos_impl *e = s->impl;
	int r;

	if (!e->paused || !e->handle || e->transfer_busy || scanner_queue_busy(s))
		return;
	e->paused = false;
	r = libusb_submit_transfer(e->transfer);
	if (r < 0) {
		log_warning("Scanner %s: resubmitting the report transfer failed: %s", s->name,
			    libusb_strerror(r));
		e->failed = true;
		return;
	}
	e->transfer_busy = true;
}

static void
hidpos_dispatch(struct scanner *s, usec_t now)
{
	struct hidpos_impl *e = s->impl;
	struct timeval zero = {0};

	hidpos_resume(s);
	(void)libusb_handle_events_timeout_completed(e->ctx, &zero, NULL);
	hidpos_settle(s, now);
}

static int
hidpos_libusb_readable(struct scanner *s, struct scanner_watch *w, uint32_t revents, usec_t now)
{
	hidpos_dispatch(s, now);
	return 0;
}

static int
hidpos_start(struct scanner *s, usec_t now)
{
	struct hidpos_impl *e;
	const struct libusb_pollfd **pfds;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	s->impl = e;
	e->s = s;
	e->retry_at = USEC_INFINITY;
	for (size_t i = 0; i < HIDPOS_POLLFDS_MAX; i++)
		e->fds[i].fd = -1;
	hidpos_joiner_init(&e->joiner, NULL, s->cfg.max_len);
	r = libusb_init(&e->ctx);
	if (r < 0) {
		e->ctx = NULL;
		return log_error_errno(usb_to_errno(r), "Scanner %s: libusb_init failed: %m",
				       s->name);
	}
	libusb_set_pollfd_notifiers(e->ctx, hidpos_pollfd_added, hidpos_pollfd_removed, e);
	pfds = libusb_get_pollfds(e->ctx);
	if (pfds) {
		for (size_t i = 0; pfds[i]; i++)
			hidpos_pollfd_added(pfds[i]->fd, pfds[i]->events, e);
		libusb_free_pollfds(pfds);
	}
	if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
		r = libusb_hotplug_register_callback(
			e->ctx,
			LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
			s->cfg.vid, s->cfg.pid, LIBUSB_HOTPLUG_MATCH_ANY, hidpos_hotplug, e,
			&e->hotplug);
		if (r == 0)
			e->hotplug_registered = true;
		else
			log_warning("Scanner %s: no USB hot-plug: %s", s->name, libusb_strerror(r));
	}
	(void)hidpos_try_open(s, now);
	return 0;
}

static void
hidpos_free(struct scanner *s)
{
	struct hidpos_impl *e = s->impl;

	if (!e)
		return;
	if (e->ctx) {
		hidpos_close(s);
		if (e->transfer && !e->transfer_busy)
			libusb_free_transfer(e->transfer);
		if (e->hotplug_registered)
			libusb_hotplug_deregister_callback(e->ctx, e->hotplug);
		libusb_set_pollfd_notifiers(e->ctx, NULL, NULL, NULL);
		for (size_t i = 0; i < HIDPOS_POLLFDS_MAX; i++)
			if (e->fds[i].fd >= 0)
				scanner_watch_del(s, &e->fds[i]);
		libusb_exit(e->ctx);
	}
	free(e);
	s->impl = NULL;
}

#define HIDPOS_FALLBACK_POLL_USEC (10 * USEC_PER_MSEC)

static usec_t
hidpos_deadline(const struct scanner *s)
{
	const struct hidpos_impl *e = s->impl;
	usec_t d = e->retry_at;

	/* Paused: due as soon as the caller has drained the queue. */
	if (e->paused && e->handle && !scanner_queue_busy(s))
		return 0;
	if (e->poll_fallback)
		d = MIN(d, e->next_poll);
	return d;
}

static int
hidpos_timeout(struct scanner *s, usec_t now)
{
	struct hidpos_impl *e = s->impl;

	if (now >= e->retry_at) {
		e->retry_at = USEC_INFINITY;
		(void)hidpos_try_open(s, now);
	}
	if ((e->poll_fallback && now >= e->next_poll) || e->paused)
		hidpos_dispatch(s, now);
	if (e->poll_fallback)
		e->next_poll = now + HIDPOS_FALLBACK_POLL_USEC;
	return 0;
}

const struct scanner_driver scanner_driver_hidpos = {
	.start = hidpos_start,
	.free = hidpos_free,
	.deadline = hidpos_deadline,
	.timeout = hidpos_timeout,
};
