/* SPDX-License-Identifier: MIT */
/* The keyboard-wedge assembler: evdev key events in, complete codes out. Pure, no I/O. */
#pragma once

#include <stdint.h>

#include "common/time-util.h"
#include "drivers/scanner/scan-code.h"

/*
 * Decodes key events with libxkbcommon in the layout the scanner emits (not the host's), with
 * Shift, AltGr and the keypad. Num Lock and Caps Lock start as the device's LEDs say
 * (keyasm_set_leds(), EV_LED events) and lock keys toggle them as a host would; a device that
 * reports no Num Lock LED is taken to have Num Lock on. Alt held over keypad digits types the
 * character of that decimal code (altcode.h), whatever the lock state; Ctrl with a letter or one
 * of @ [ \ ] ^ _ types the control character. A control character equal to the suffix (CR for
 * enter and kp-enter, HT for tab), typed either way, ends the code like the suffix key.
 *
 * With a suffix configured a code ends on it; a gap of interkey_timeout_usec before it leaves
 * the code torn: it is refused, and so is the next one (the rest of the torn scan). Without a
 * suffix the gap ends the code; codes shorter than KEYASM_MIN_TIMEOUT_LEN are dropped as stray
 * presses. A key that types nothing and is no modifier (an arrow, a keypad key with Num Lock
 * off, Alt with a letter) makes the code refused rather than shortened. Key repeats are ignored.
 * SYN_DROPPED refuses the code in progress, up to its suffix or a gap, and every event up to
 * the next SYN_REPORT only keeps modifiers in step. Times are passed in, never read here.
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
/*
 * The lock LEDs of the device (EVIOCGLED): 1 on, 0 off, -1 unknown (Num Lock is then taken to
 * be on, Caps Lock off). Kept across keyasm_reset().
 */
void keyasm_set_leds(struct keyasm *ka, int num, int caps);

static inline void
keyasm_freep(struct keyasm **ka)
{
	keyasm_free(*ka);
}
