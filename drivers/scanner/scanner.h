/* SPDX-License-Identifier: MIT */
/* Public interface of the scanner drivers: one handle per configured scanner, whatever its kind. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/time-util.h"

/*
 * A scanner is opened from a config section and then driven by the caller's event loop: watch
 * the one fd scanner_get_fd() returns for POLLIN, arm a timer at scanner_get_deadline()
 * (CLOCK_MONOTONIC), and call scanner_process() when either fires. Afterwards drain
 * scanner_next_event() until it returns 0: decoded codes and state changes (present, missing,
 * error) come out in order. A scanner that is unplugged is reported missing and reopened when it
 * returns; nothing here ends the process.
 */

/* Hard limit on any code, whatever the configuration says (doc/style.md §5: input limits
 * everywhere). */
#define SCAN_CODE_MAX 512

enum scanner_kind {
	SCANNER_KIND_EVDEV,  /* keyboard-wedge through /dev/input/event* */
	SCANNER_KIND_SERIAL, /* ttyACM / ttyUSB, raw 8N1 */
	SCANNER_KIND_HIDPOS, /* USB HID-POS (usage page 0x8C) through libusb */
	_SCANNER_KIND_MAX,
};

/* The key that ends a code on a keyboard-wedge scanner. */
enum scanner_suffix {
	SCANNER_SUFFIX_ENTER,
	SCANNER_SUFFIX_KP_ENTER,
	SCANNER_SUFFIX_TAB,
	SCANNER_SUFFIX_NONE, /* only the inter-key timeout ends a code */
	_SCANNER_SUFFIX_MAX,
};

/* How a serial scanner ends a frame. */
enum scanner_framing {
	SCANNER_FRAMING_CR,
	SCANNER_FRAMING_LF,
	SCANNER_FRAMING_CRLF,
	SCANNER_FRAMING_NONE, /* no terminator: an idle gap of idle_gap_usec ends a frame */
	_SCANNER_FRAMING_MAX,
};

/* What a keyboard-wedge or serial scanner puts before the code. */
enum scanner_prefix {
	SCANNER_PREFIX_NONE,    /* nothing is stripped */
	SCANNER_PREFIX_AIM,     /* AIM "]Xm" symbology identifier, required */
	SCANNER_PREFIX_CODE_ID, /* Honeywell one-letter Code ID, required */
	_SCANNER_PREFIX_MAX,
};

/* Where a HID-POS scanner puts the decoded data in its reports (hidpos-report.h). */
enum scanner_report_layout {
	SCANNER_REPORT_AUTO, /* the report descriptor, then a table of known scanners, Honeywell */
	SCANNER_REPORT_HONEYWELL,
	SCANNER_REPORT_NEWLAND,        /* data from byte 2, no AIM id */
	SCANNER_REPORT_AIM_AFTER_BYTE, /* one byte before the AIM id */
	SCANNER_REPORT_SIMPLE_COM,     /* [length][data], no report id (Symbol) */
	_SCANNER_REPORT_MAX,
};

/*
 * One config section. Strings are borrowed by scanner_new(), which copies what it keeps.
 * Matching: evdev uses match_path (a /dev/input/by-id link or a devnode), else VID:PID, else
 * match_name (an fnmatch pattern on the input device name); serial uses match_path, else
 * VID:PID of the tty's USB parent; hidpos uses VID:PID.
 */
struct scanner_config {
	enum scanner_kind kind;
	const char *name;       /* for logs and events, e.g. the section name */
	const char *match_path; /* NULL = not used */
	bool match_vidpid;
	uint16_t vid, pid;
	const char *match_name; /* NULL = not used */
	/* evdev */
	const char *layout;  /* xkb layout the scanner emits, default "us" */
	const char *variant; /* xkb variant, NULL = none */
	enum scanner_suffix suffix;
	usec_t interkey_timeout_usec; /* default 50 ms; 0 = never */
	/* serial */
	unsigned baud; /* default 9600 */
	enum scanner_framing framing;
	usec_t idle_gap_usec; /* default 50 ms: ends a frame (none), refuses a torn one (others) */
	/* evdev and serial */
	enum scanner_prefix prefix; /* default none */
	/* hidpos */
	bool honeywell_enable;                    /* send feature report 0xFE [0x01] on open */
	enum scanner_report_layout report_layout; /* default auto */
	/* all */
	size_t max_len; /* longest accepted code, default 256, at most SCAN_CODE_MAX */
};

/* Fills in the defaults: evdev, "us", Enter, 50 ms, 9600 baud, CR, 50 ms idle gap, no prefix,
 * max_len 256. */
void scanner_config_init(struct scanner_config *c);

const char *scanner_kind_to_string(enum scanner_kind k);
int scanner_kind_from_string(const char *s); /* -EINVAL if unknown */
const char *scanner_suffix_to_string(enum scanner_suffix s);
int scanner_suffix_from_string(const char *s);
const char *scanner_framing_to_string(enum scanner_framing f);
int scanner_framing_from_string(const char *s);
const char *scanner_prefix_to_string(enum scanner_prefix p);
int scanner_prefix_from_string(const char *s);
const char *scanner_report_layout_to_string(enum scanner_report_layout l);
int scanner_report_layout_from_string(const char *s);
/* Parses "VVVV:PPPP" (hex, as lsusb prints it); -EINVAL if malformed. ret_* written on success. */
int scanner_vidpid_from_string(const char *s, uint16_t *ret_vid, uint16_t *ret_pid);

/* doc/design.md §9.1: what a code is, decided once here for every kind of scanner. */
enum scan_class {
	SCAN_CLASS_ALIPAY, /* digits, prefix 25–30, 16–24 long (doc/protocol.md §5.1 auth_code) */
	SCAN_CLASS_OTHER_WALLET, /* e.g. WeChat: 18 digits, prefix 10–15 */
	SCAN_CLASS_BARCODE,      /* anything else printable: forwarded to the POS */
	SCAN_CLASS_REJECTED,     /* empty, too long or containing control characters */
	_SCAN_CLASS_MAX,
};

const char *scan_class_to_string(enum scan_class c);
/* Classifies len bytes of text (borrowed; need not be NUL-terminated). Pure. */
enum scan_class scan_code_classify(const char *text, size_t len, size_t max_len);

enum scanner_state {
	SCANNER_STATE_MISSING, /* no matching device is present (or not yet found) */
	SCANNER_STATE_PRESENT, /* opened (and grabbed, for evdev) */
	SCANNER_STATE_ERROR,   /* present but unusable (permissions, I/O errors); retried */
	_SCANNER_STATE_MAX,
};

const char *scanner_state_to_string(enum scanner_state s);

enum scanner_event_type {
	SCANNER_EVENT_CODE,  /* a complete code: text, len, cls */
	SCANNER_EVENT_STATE, /* the state changed: state, device */
	_SCANNER_EVENT_MAX,
};

struct scanner_event {
	enum scanner_event_type type;
	enum scan_class cls;          /* CODE */
	size_t len;                   /* CODE: bytes in text; 0 for SCAN_CLASS_REJECTED */
	char text[SCAN_CODE_MAX + 1]; /* CODE: NUL-terminated; empty when rejected */
	char aim[4];     /* CODE: AIM symbology id ("]E0") or Code ID ("j") when sent, else "" */
	char reason[80]; /* CODE, SCAN_CLASS_REJECTED: why, for logs and diagnostics */
	enum scanner_state state; /* STATE */
	char device[128];         /* STATE: devnode or bus:address, "" when missing */
};

struct scanner;

/*
 * Creates a scanner from cfg (borrowed, copied) and opens it if present. A scanner that is not
 * plugged in is not an error: it starts in SCANNER_STATE_MISSING. Returns 0 and a new handle,
 * or -EINVAL for an invalid configuration, -ENOMEM, or the error of setting up monitoring.
 */
int scanner_new(const struct scanner_config *cfg, struct scanner **ret);
/* Closes every fd the scanner opened and frees it. NULL-safe; returns NULL. */
struct scanner *scanner_free(struct scanner *s);

/* The fd to watch for POLLIN (an epoll fd; borrowed, valid until scanner_free()). */
int scanner_get_fd(const struct scanner *s);
/* The next CLOCK_MONOTONIC time scanner_process() must run (0 or a past time: at once), or
 * USEC_INFINITY. Read it again after every scanner_process() and scanner_next_event() drain. */
usec_t scanner_get_deadline(const struct scanner *s);
/* Reads what is readable and handles what is due at now (CLOCK_MONOTONIC). Never blocks. */
int scanner_process(struct scanner *s, usec_t now);
/* Takes the oldest pending event into *ret: returns 1, or 0 when none is left. */
int scanner_next_event(struct scanner *s, struct scanner_event *ret);

enum scanner_state scanner_get_state(const struct scanner *s);
const struct scanner_config *scanner_get_config(const struct scanner *s);

/*
 * Lists the devices of a kind that could be scanners (keyboards, ttyACM/ttyUSB, HID-POS
 * interfaces) for --list-scanners: calls fn once per device with its node, VID:PID and name
 * (all borrowed for the call). Returns the number listed or -errno.
 */
typedef void (*scanner_list_fn)(enum scanner_kind kind, const char *node, uint16_t vid,
				uint16_t pid, const char *name, void *userdata);
int scanner_list(enum scanner_kind kind, scanner_list_fn fn, void *userdata);

/*
 * Looks for a present device that cfg (borrowed) matches, by the same rules the drivers use,
 * without opening it (a running daemon may hold it). Returns 1 with its node in ret_node (e.g.
 * "/dev/input/event3", "usb:001:004"), 0 when none is present, or -errno.
 */
int scanner_find(const struct scanner_config *cfg, char *ret_node, size_t size);

/*
 * Says in words which devices cfg matches, for messages: "serial scanner matching device
 * /dev/ttyACM0", "evdev scanner matching name_pattern *Barcode*". -ENOBUFS when it does not fit.
 */
int scanner_config_describe(const struct scanner_config *cfg, char *buf, size_t size);

/* For diagnostics: what a scanner sent, before any decoding. */
enum scanner_raw_kind {
	SCANNER_RAW_EVENT,  /* evdev: type, code, value (EV_LED also for the state read on open) */
	SCANNER_RAW_BYTES,  /* serial: data, len as read */
	SCANNER_RAW_REPORT, /* hidpos: one input report */
};

struct scanner_raw {
	enum scanner_raw_kind kind;
	usec_t t; /* CLOCK_MONOTONIC; for evdev the event's own time */
	uint16_t type, code;
	int32_t value;
	const uint8_t *data; /* borrowed for the call */
	size_t len;
};

typedef void (*scanner_raw_fn)(const struct scanner_raw *raw, void *userdata);
/* Calls fn with every raw input from now on (NULL to stop). Never used by the daemon: the raw
 * input of a payment code is the payment code. */
void scanner_set_raw_tap(struct scanner *s, scanner_raw_fn fn, void *userdata);

static inline void
scanner_freep(struct scanner **s)
{
	scanner_free(*s);
}
