/* SPDX-License-Identifier: MIT */
/* What the generic scanner core shares with the per-kind drivers (evdev, serial, hidpos). */
#pragma once

#include <libudev.h>
#include <stdint.h>

#include "drivers/scanner/scan-code.h"
#include "drivers/scanner/scanner.h"

struct scanner;
struct scanner_watch;

/* Called when the watched fd has events; now is CLOCK_MONOTONIC. */
typedef int (*scanner_watch_fn)(struct scanner *s, struct scanner_watch *w, uint32_t revents,
				usec_t now);

/* An fd the driver owns, registered in the scanner's epoll set (the fd stays the driver's). */
struct scanner_watch {
	int fd;
	scanner_watch_fn fn;
	void *userdata;
	bool added;
};

struct scanner_driver {
	/* Sets up monitoring and opens the device if present; failures to open are states. */
	int (*start)(struct scanner *s, usec_t now);
	void (*free)(struct scanner *s);
	usec_t (*deadline)(const struct scanner *s);
	/* Runs whatever is due at now (inter-key timeout, reopen backoff). */
	int (*timeout)(struct scanner *s, usec_t now);
};

#define SCANNER_QUEUE_MAX       32
/* Codes may fill the queue up to here; the rest is kept for state changes. */
#define SCANNER_QUEUE_CODES_MAX (SCANNER_QUEUE_MAX - 4)

/* Reopen backoff after errors: 1 s doubling up to 30 s. */
#define SCANNER_BACKOFF_MIN_USEC (1 * USEC_PER_SEC)
#define SCANNER_BACKOFF_MAX_USEC (30 * USEC_PER_SEC)

struct scanner {
	struct scanner_config cfg; /* strings point to the copies below */
	char *name, *match_path, *match_name, *layout, *variant;
	int epoll_fd;
	enum scanner_state state;
	bool state_reported;
	struct scanner_event queue[SCANNER_QUEUE_MAX];
	size_t queue_head, queue_len;
	const struct scanner_driver *driver;
	void *impl;
	scanner_raw_fn raw_fn;
	void *raw_userdata;
};

static inline void
scanner_raw(struct scanner *s, const struct scanner_raw *raw)
{
	if (s->raw_fn)
		s->raw_fn(raw, s->raw_userdata);
}

extern const struct scanner_driver scanner_driver_evdev;
extern const struct scanner_driver scanner_driver_serial;
extern const struct scanner_driver scanner_driver_hidpos;

int scanner_watch_add(struct scanner *s, struct scanner_watch *w, uint32_t events);
void scanner_watch_del(struct scanner *s, struct scanner_watch *w);

/* Classifies a finished code and queues it as an event. */
void scanner_emit_code(struct scanner *s, const struct scan_code *c);
/* Queues a state event when the state (or the device) changes. device borrowed, may be NULL. */
void scanner_set_state(struct scanner *s, enum scanner_state st, const char *device);

usec_t scanner_backoff_next(usec_t cur);

/* Whether a driver that can hold data back (HID-POS) should stop reading until the caller has
 * drained the queue: a scanner never produces this many codes between two drains. */
static inline bool
scanner_queue_busy(const struct scanner *s)
{
	return s->queue_len >= SCANNER_QUEUE_CODES_MAX / 2;
}

/*
 * Whether a udev device matches the configured rule: match_path against the devnode and its
 * DEVLINKS, VID:PID against ID_VENDOR_ID/ID_MODEL_ID or the USB parent, match_name (fnmatch)
 * against the input device name. Every configured criterion must hold.
 */
bool scanner_udev_match(const struct scanner_config *cfg, struct udev_device *dev);
/* The syspath of the USB device above dev, or NULL (borrowed from dev). */
const char *scanner_udev_usb_parent(struct udev_device *dev);
/* The input device name above an event node, or NULL (borrowed from dev). */
const char *scanner_udev_input_name(struct udev_device *dev);
/* VID:PID of dev from udev; returns 0 or -ENOENT. */
int scanner_udev_vidpid(struct udev_device *dev, uint16_t *ret_vid, uint16_t *ret_pid);

static inline void
udev_unrefp(struct udev **u)
{
	if (*u)
		udev_unref(*u);
}
static inline void
udev_device_unrefp(struct udev_device **d)
{
	if (*d)
		udev_device_unref(*d);
}
static inline void
udev_enumerate_unrefp(struct udev_enumerate **e)
{
	if (*e)
		udev_enumerate_unref(*e);
}

/*
 * For tests and diagnostics: the event nodes an evdev scanner reads, whether each is grabbed,
 * and (when ret_fds is not NULL) their fds (strings and fds borrowed until the next
 * scanner_process()). Returns how many were written.
 */
size_t scanner_evdev_nodes(const struct scanner *s, const char **ret_nodes, bool *ret_grabbed,
			   int *ret_fds, size_t max);
