/* SPDX-License-Identifier: MIT */
/* Table tests of the keyboard-wedge assembler: layouts, modifiers, suffixes, timeout, drops. */
#include <libevdev/libevdev.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>

#include "drivers/scanner/keyasm.h"
#include "test.h"

/*
 * A case types `keys`, a space-separated script:
 *   KEY      press and release (a libevdev name without "KEY_", e.g. Z, KP7, ENTER)
 *   S-KEY    the same with Left Shift held;  G-KEY  with AltGr (Right Alt) held;
 *   C-KEY    with Left Ctrl held
 *   A:NNNN   Left Alt held over the keypad digits NNNN ("Alt mode")
 *   +KEY -KEY   press only / release only
 *   R:KEY    an autorepeat event of KEY
 *   @N       a pause of N ms inside the script
 *   DROP     SYN_DROPPED
 * As measured on real scanners, events come about 1 ms apart: every key event (each followed
 * by SYN_REPORT, as the kernel sends it) takes 1 ms. After the script a timeout check runs one
 * second later. `want` lists the codes, '|'-separated; "<long>" is an over-long code and
 * "<refused>" a refused one. `leds` is what EVIOCGLED reported (0: the device has no LEDs).
 */
enum {
	NUM_ON = 1,
	NUM_OFF = 2,
	CAPS_ON = 4,
	CAPS_OFF = 8
};

struct keyasm_case {
	const char *name;
	const char *layout;
	enum scanner_suffix suffix;
	unsigned timeout_ms;
	size_t max_len;
	const char *keys;
	const char *want;
	unsigned leds;
};

#define ENTER SCANNER_SUFFIX_ENTER

static const struct keyasm_case cases[] = {
	/* doc/hardware.md §1: the same key presses in three layouts. */
	{"us", "us", ENTER, 50, 64, "S-Z Y S-2 1 KP7 ENTER", "Zy@17"},
	{"de", "de", ENTER, 50, 64, "S-Z Y S-2 1 G-Q KP7 ENTER", "Yz\"1@7"},
	{"fr", "fr", ENTER, 50, 64, "S-Z Y S-2 1 G-Q KP7 ENTER", "Wy2&æ7"},
	/* In us, Right Alt is Alt: Alt+Q is a shortcut, not "q" (which would be another code). */
	{"us: alt with a letter is refused", "us", ENTER, 50, 64, "A G-Q B ENTER", "<refused>"},
	{"payment code", "us", ENTER, 50, 64, "2 8 7 6 5 4 3 2 1 0 9 8 7 6 5 4 3 0 ENTER",
	 "287654321098765430"},
	{"caps lock", "us", ENTER, 50, 64, "CAPSLOCK A B S-C CAPSLOCK D ENTER", "ABcd"},
	{"shift held over keys", "us", ENTER, 50, 64, "+LEFTSHIFT A B -LEFTSHIFT C ENTER", "ABc"},
	/* Lock state as the device's LEDs report it. */
	{"keypad digits, num lock led on", "us", ENTER, 50, 64, "KP1 KP2 KP3 KP0 KPDOT ENTER",
	 "1230.", NUM_ON},
	{"keypad digits, no led: num lock taken as on", "us", ENTER, 50, 64, "KP1 KP2 ENTER", "12"},
	/* The scanner saw Num Lock off on its LED and presses it itself around the digits. */
	{"scanner presses num lock itself", "us", ENTER, 50, 64,
	 "NUMLOCK KP2 KP8 KP7 KP6 KP5 KP4 KP3 KP2 KP1 KP0 KP9 KP8 KP7 KP6 KP5 KP4 KP3 KP0 "
	 "NUMLOCK ENTER",
	 "287654321098765430", NUM_OFF},
	{"keypad with num lock off is refused, not dropped", "us", ENTER, 50, 64,
	 "KP2 KP8 KP1 KP2 ENTER", "<refused>", NUM_OFF},
	{"num lock toggled off mid-code", "us", ENTER, 50, 64,
	 "KP1 KP2 NUMLOCK KP3 KP4 NUMLOCK KP5 ENTER", "<refused>", NUM_ON},
	/* Caps Lock on at the LED: a scanner that compensates sends Shift for lower case. */
	{"caps lock led on", "us", ENTER, 50, 64, "S-A B 1 ENTER", "aB1", CAPS_ON | NUM_ON},
	{"caps lock led off", "us", ENTER, 50, 64, "S-A B 1 ENTER", "Ab1", CAPS_OFF | NUM_ON},
	/* Alt mode: decimal codes on the keypad, whatever the layout and Num Lock. */
	{"alt mode, ansi codes", "us", ENTER, 50, 64,
	 "A:050 A:056 A:049 A:050 A:051 A:052 A:053 A:054 A:055 A:056 A:057 A:048 A:049 A:050 "
	 "A:051 A:052 A:053 A:054 ENTER",
	 "281234567890123456"},
	{"alt mode, 4 digits with a leading 0", "de", ENTER, 50, 64, "A:0090 A:0121 A:0064 ENTER",
	 "Zy@"},
	{"alt mode in fr, num lock off", "fr", ENTER, 50, 64, "A:65 A:0065 A:97 ENTER", "AAa",
	 NUM_OFF},
	{"alt mode: oem and ansi code pages", "us", ENTER, 50, 64,
	 "A:130 A:0130 A:0233 A:233 ENTER", "é‚éΘ"},
	{"alt mode: the suffix as an alt code", "us", ENTER, 50, 64, "A:49 A:50 A:013 A:51 ENTER",
	 "12|3"},
	{"alt mode: 0 is refused", "us", ENTER, 50, 64, "A:49 A:0 ENTER", "<refused>"},
	{"alt mode: above 255 is refused", "us", ENTER, 50, 64, "A:49 A:256 ENTER", "<refused>"},
	{"alt mode: undefined in the code page", "us", ENTER, 50, 64, "A:49 A:0129 ENTER",
	 "<refused>"},
	{"alt mode: five digits", "us", ENTER, 50, 64, "A:00049 ENTER", "<refused>"},
	/* Ctrl+letter: control characters, the suffix among them. */
	{"ctrl+m is the enter suffix", "us", ENTER, 50, 64, "1 2 3 C-M 4 5 6 C-M", "123|456"},
	{"ctrl+i is the tab suffix", "us", SCANNER_SUFFIX_TAB, 50, 64, "A B C-I C D C-I", "ab|cd"},
	{"ctrl+] (GS) inside a code", "us", ENTER, 50, 64, "0 1 C-RIGHTBRACE 2 ENTER", "<refused>"},
	/* The letter is the layout's: in fr, Ctrl+M is on the key us calls semicolon. */
	{"ctrl+m where fr has m", "fr", ENTER, 50, 64, "Q W C-SEMICOLON", "az"},
	{"ctrl+; has no control character", "us", ENTER, 50, 64, "1 C-SEMICOLON ENTER",
	 "<refused>"},
	{"ctrl with a digit has no control character", "us", ENTER, 50, 64, "1 C-2 ENTER",
	 "<refused>"},
	{"altgr de", "de", ENTER, 50, 64, "G-Q G-E G-7 ENTER", "@€{"},
	{"suffix kp-enter", "us", SCANNER_SUFFIX_KP_ENTER, 50, 64, "1 2 3 KPENTER 4 5 6 KPENTER",
	 "123|456"},
	{"suffix tab", "us", SCANNER_SUFFIX_TAB, 50, 64, "A B C TAB D E F TAB", "abc|def"},
	{"enter is not the tab suffix", "us", SCANNER_SUFFIX_TAB, 50, 64, "A B ENTER C TAB",
	 "<refused>"},
	{"suffix none ends on timeout", "us", SCANNER_SUFFIX_NONE, 50, 64, "1 2 3 4 @200 5 6 7",
	 "1234|567"},
	/* Real scanners pause for tens of ms inside a code: it stays one code. */
	{"pauses of tens of ms inside a code", "us", ENTER, 50, 64,
	 "2 8 7 6 @30 5 4 3 2 @40 1 0 9 8 7 6 @35 5 4 3 0 ENTER", "287654321098765430"},
	{"suffix none, pauses inside a code", "us", SCANNER_SUFFIX_NONE, 50, 64,
	 "2 8 7 6 @30 5 4 3 2 @40 1 0 9 8 7 6 5 4 3 0", "287654321098765430"},
	/* A longer pause before the suffix tears the scan: both halves are refused, never
	 * delivered as two other codes. */
	{"gap before the suffix tears the scan", "us", ENTER, 50, 64,
	 "2 8 7 6 5 4 3 @80 2 1 0 9 8 7 6 5 4 3 0 ENTER 6 9 0 ENTER", "<refused>|<refused>|690"},
	{"no timeout configured", "us", ENTER, 0, 64, "1 2 3 @5000 4 ENTER", "1234"},
	{"stray fragment: it and the rest refused", "us", ENTER, 50, 64, "1 2 @100 3 4 5 ENTER",
	 "<refused>|<refused>"},
	{"suffix none: stray short fragment dropped", "us", SCANNER_SUFFIX_NONE, 50, 64,
	 "1 2 @100 3 4 5", "345"},
	{"unterminated code is refused", "us", ENTER, 50, 64, "9 8 7 6", "<refused>"},
	{"torn scan ended by its suffix alone", "us", ENTER, 50, 64, "1 2 3 @100 ENTER 4 5 ENTER",
	 "<refused>|45"},
	{"syn_dropped mid-code refuses the whole scan", "us", ENTER, 50, 64,
	 "1 2 3 DROP 4 5 6 ENTER", "<refused>"},
	{"syn_dropped, the scan after the suffix is fine", "us", ENTER, 50, 64,
	 "1 2 3 DROP 4 5 ENTER 2 8 1 ENTER", "<refused>|281"},
	{"syn_dropped without suffix: the gap ends it", "us", SCANNER_SUFFIX_NONE, 50, 64,
	 "1 2 DROP 3 4 @100 5 6 7", "<refused>|567"},
	{"syn_dropped, no timeout: up to the suffix", "us", ENTER, 0, 64,
	 "1 2 DROP 3 4 @5000 ENTER 5 6 ENTER", "<refused>|56"},
	{"syn_dropped: keys up to the report are lost, the scan to its suffix", "us", ENTER, 50, 64,
	 "1 2 DROP ENTER 7 8 9 ENTER 4 5 6 ENTER", "<refused>|456"},
	{"repeats ignored", "us", ENTER, 50, 64, "+1 R:1 R:1 -1 2 R:2 ENTER", "12"},
	{"over-long rejected whole, next one fine", "us", ENTER, 50, 8,
	 "1 2 3 4 5 6 7 8 9 0 ENTER 1 2 3 ENTER", "<long>|123"},
	{"exactly max_len", "us", ENTER, 50, 8, "1 2 3 4 5 6 7 8 ENTER", "12345678"},
	{"empty codes collapse", "us", ENTER, 50, 64, "ENTER ENTER 1 2 3 ENTER ENTER", "123"},
	{"a function key is refused, not dropped", "us", ENTER, 50, 64, "A F5 B ENTER",
	 "<refused>"},
};

struct run {
	struct keyasm *ka;
	usec_t t;
	char out[1024];
};

static void
collect(struct run *run, int r, const struct scan_code *c)
{
	CHECK(r >= 0);
	if (r == 0)
		return;
	if (run->out[0])
		strncat(run->out, "|", sizeof(run->out) - strlen(run->out) - 1);
	if (c->overflow)
		strncat(run->out, "<long>", sizeof(run->out) - strlen(run->out) - 1);
	else if (c->reject ||
		 scan_code_classify(c->text, c->len, SCAN_CODE_MAX) == SCAN_CLASS_REJECTED)
		strncat(run->out, "<refused>", sizeof(run->out) - strlen(run->out) - 1);
	else {
		CHECK_INT_EQ(strlen(c->text), c->len);
		strncat(run->out, c->text, sizeof(run->out) - strlen(run->out) - 1);
	}
}

static void
send(struct run *run, uint16_t type, uint16_t code, int32_t value)
{
	struct scan_code c;
	collect(run, keyasm_feed(run->ka, type, code, value, run->t, &c), &c);
	/* The event loop runs the timeout whenever the deadline passes. */
}

static void
key(struct run *run, uint16_t code, int32_t value)
{
	run->t += 1 * USEC_PER_MSEC;
	send(run, EV_KEY, code, value);
	send(run, EV_SYN, SYN_REPORT, 0);
}

static void
tap(struct run *run, uint16_t code)
{
	key(run, code, 1);
	key(run, code, 0);
}

static int
keycode(const char *name)
{
	char full[64];
	snprintf(full, sizeof(full), "KEY_%s", name);
	int k = libevdev_event_code_from_name(EV_KEY, full);
	if (k < 0)
		fprintf(stderr, "unknown key %s\n", full);
	CHECK(k >= 0);
	return k;
}

static void
run_case(const struct keyasm_case *tc)
{
	struct keyasm_config cfg = {
		.layout = tc->layout,
		.suffix = tc->suffix,
		.interkey_timeout_usec = tc->timeout_ms * USEC_PER_MSEC,
		.max_len = tc->max_len,
	};
	struct run run = {.t = 1000 * USEC_PER_SEC};
	char script[512], *save = NULL;
	struct scan_code c;

	CHECK_INT_EQ(keyasm_new(&cfg, &run.ka), 0);
	if (tc->leds)
		keyasm_set_leds(run.ka,
				tc->leds & NUM_ON    ? 1
				: tc->leds & NUM_OFF ? 0
						     : -1,
				tc->leds & CAPS_ON    ? 1
				: tc->leds & CAPS_OFF ? 0
						      : -1);
	snprintf(script, sizeof(script), "%s", tc->keys);
	for (char *tok = strtok_r(script, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (tok[0] == '@') {
			run.t += strtoul(tok + 1, NULL, 10) * USEC_PER_MSEC;
			/* The loop's timer fires at the deadline when it passed during the gap. */
			collect(&run, keyasm_timeout(run.ka, run.t, &c), &c);
			continue;
		}
		if (strcmp(tok, "DROP") == 0) {
			run.t += 1 * USEC_PER_MSEC;
			send(&run, EV_SYN, SYN_DROPPED, 0);
		} else if (tok[0] == '+')
			key(&run, (uint16_t)keycode(tok + 1), 1);
		else if (tok[0] == '-')
			key(&run, (uint16_t)keycode(tok + 1), 0);
		else if (strncmp(tok, "R:", 2) == 0)
			key(&run, (uint16_t)keycode(tok + 2), 2);
		else if (strncmp(tok, "A:", 2) == 0) {
			static const uint16_t kp[] = {KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4,
						      KEY_KP5, KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9};
			key(&run, KEY_LEFTALT, 1);
			for (const char *d = tok + 2; *d; d++)
				tap(&run, kp[*d - '0']);
			key(&run, KEY_LEFTALT, 0);
		} else if (tok[1] == '-' && strchr("SGC", tok[0])) {
			uint16_t mod = tok[0] == 'S'   ? KEY_LEFTSHIFT
				       : tok[0] == 'G' ? KEY_RIGHTALT
						       : KEY_LEFTCTRL;
			key(&run, mod, 1);
			tap(&run, (uint16_t)keycode(tok + 2));
			key(&run, mod, 0);
		} else
			tap(&run, (uint16_t)keycode(tok));
	}
	collect(&run, keyasm_timeout(run.ka, run.t + USEC_PER_SEC, &c), &c);
	CHECK_INT_EQ(keyasm_deadline(run.ka), USEC_INFINITY);
	if (strcmp(run.out, tc->want) != 0)
		fprintf(stderr, "case \"%s\"\n", tc->name);
	CHECK_STR_EQ(run.out, tc->want);
	keyasm_free(run.ka);
}

static void
test_deadline(void)
{
	struct keyasm_config cfg = {.layout = "us",
				    .suffix = SCANNER_SUFFIX_NONE,
				    .interkey_timeout_usec = 50 * USEC_PER_MSEC};
	struct keyasm *ka;
	struct scan_code c;

	CHECK_INT_EQ(keyasm_new(&cfg, &ka), 0);
	CHECK_INT_EQ(keyasm_deadline(ka), USEC_INFINITY);
	CHECK_INT_EQ(keyasm_feed(ka, EV_KEY, KEY_1, 1, 1000, &c), 0);
	CHECK_INT_EQ(keyasm_deadline(ka), 1000 + 50000);
	CHECK_INT_EQ(keyasm_timeout(ka, 1000 + 49999, &c), 0);
	CHECK_INT_EQ(keyasm_feed(ka, EV_KEY, KEY_2, 1, 2000, &c), 0);
	CHECK_INT_EQ(keyasm_feed(ka, EV_KEY, KEY_3, 1, 3000, &c), 0);
	CHECK_INT_EQ(keyasm_deadline(ka), 3000 + 50000);
	CHECK_INT_EQ(keyasm_timeout(ka, 3000 + 50000, &c), 1);
	CHECK_STR_EQ(c.text, "123");
	CHECK_INT_EQ(keyasm_deadline(ka), USEC_INFINITY);
	keyasm_free(ka);

	/* With a suffix: the key after a gap starts the rest of the torn scan, and the deadline
	 * follows that key, not the one before the gap. */
	cfg.suffix = SCANNER_SUFFIX_ENTER;
	CHECK_INT_EQ(keyasm_new(&cfg, &ka), 0);
	CHECK_INT_EQ(keyasm_feed(ka, EV_KEY, KEY_1, 1, 1000, &c), 0);
	CHECK_INT_EQ(keyasm_feed(ka, EV_KEY, KEY_2, 1, 100000, &c), 1);
	CHECK(c.reject != NULL);
	CHECK_INT_EQ(keyasm_deadline(ka), 100000 + 50000);
	CHECK_INT_EQ(keyasm_timeout(ka, 100000 + 10000, &c), 0);
	keyasm_free(ka);
}

static void
test_unknown_layout(void)
{
	struct keyasm_config cfg = {.layout = "no-such-layout"};
	struct keyasm *ka = NULL;

	CHECK(keyasm_new(&cfg, &ka) < 0);
	CHECK(ka == NULL);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_deadline();
	test_unknown_layout();
	printf("%zu assembler cases passed\n", sizeof(cases) / sizeof(cases[0]) + 2);
	return 0;
}
