/* SPDX-License-Identifier: MIT */
/* The keyboard-wedge assembler: evdev key events in, complete codes out. Pure, no I/O. */
#pragma once

#include <stdint.h>

#include "common/time-util.h"
#include "drivers/scanner/scan-code.h"

/*
 * Decodes key events with libxkbcommon in the layout the scanner emits (not the host's), with
 * Shift, Caps Lock, Num Lock (on at start, as on a PC after boot), AltGr and the keypad. A code
 * ends on the configured suffix key, or when no key came for interkey_timeout_usec. Key repeats
 * are ignored. SYN_DROPPED discards the partial code and every event up to the next SYN_REPORT
 * (only modifier state is kept in step), and then the rest of the scan in progress, up to its
 * suffix or an inter-key gap: its first keys may be what was lost. Times are passed in, never
 * read here.
 */
struct keyasm_config {
	const char *layout;  /* borrowed; NULL = "us" */
	const char *variant; /* borrowed; NULL = none */
	enum scanner_suffix suffix;
	usec_t interkey_timeout_usec; /* 0 = no timeout */
	size_t max_len;               /* ≤ SCAN_CODE_MAX */
};

/* Codes that end by timeout and are shorter than this are dropped as stray key presses. */
#define KEYASM_MIN_TIMEOUT_LEN 3

struct keyasm;

/* Returns a new assembler; -EINVAL if the layout is unknown to xkb, -ENOMEM. */
int keyasm_new(const struct keyasm_config *cfg, struct keyasm **ret);
struct keyasm *keyasm_free(struct keyasm *ka);

/*
 * Feeds one event (type, code, value as in struct input_event) seen at time t. Returns 1 and
 * fills *ret when a code is complete (which the caller classifies; an over-long one has
 * ret->overflow set), 0 when not, -errno on a programmer error.
 */
int keyasm_feed(struct keyasm *ka, uint16_t type, uint16_t code, int32_t value, usec_t t,
		struct scan_code *ret);
/* When no key came since the deadline: returns 1 and the partial code, else 0. */
int keyasm_timeout(struct keyasm *ka, usec_t now, struct scan_code *ret);
/* When keyasm_timeout() must run next, or USEC_INFINITY. */
usec_t keyasm_deadline(const struct keyasm *ka);
/* Drops the partial code and resets the keyboard state (after a grab or a reopen). */
void keyasm_reset(struct keyasm *ka);

static inline void
keyasm_freep(struct keyasm **ka)
{
	keyasm_free(*ka);
}
