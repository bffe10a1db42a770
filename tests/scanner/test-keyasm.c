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
 *   S-KEY    the same with Left Shift held;  G-KEY  with AltGr (Right Alt) held
 *   +KEY -KEY   press only / release only
 *   R:KEY    an autorepeat event of KEY
 *   @N       N ms pass before the next key (default 5 ms per key)
 *   DROP     SYN_DROPPED
 * Every key event is followed by SYN_REPORT, as the kernel sends it. After the script a
 * timeout check runs one second later. `want` lists the codes, '|'-separated; "<long>" is an
 * over-long code.
 */
struct keyasm_case {
	const char *name;
	const char *layout;
	enum scanner_suffix suffix;
	unsigned timeout_ms;
	size_t max_len;
	const char *keys;
	const char *want;
};

static const struct keyasm_case cases[] = {
	/* doc/hardware.md §1: the same key presses in three layouts. */
	{"us", "us", SCANNER_SUFFIX_ENTER, 50, 64, "S-Z Y S-2 1 G-Q KP7 ENTER", "Zy@1q7"},
	{"de", "de", SCANNER_SUFFIX_ENTER, 50, 64, "S-Z Y S-2 1 G-Q KP7 ENTER", "Yz\"1@7"},
	{"fr", "fr", SCANNER_SUFFIX_ENTER, 50, 64, "S-Z Y S-2 1 G-Q KP7 ENTER", "Wy2&æ7"},
	{"payment code", "us", SCANNER_SUFFIX_ENTER, 50, 64,
	 "2 8 7 6 5 4 3 2 1 0 9 8 7 6 5 4 3 0 ENTER", "287654321098765430"},
	{"caps lock", "us", SCANNER_SUFFIX_ENTER, 50, 64, "CAPSLOCK A B S-C CAPSLOCK D ENTER",
	 "ABcd"},
	{"shift held over keys", "us", SCANNER_SUFFIX_ENTER, 50, 64,
	 "+LEFTSHIFT A B -LEFTSHIFT C ENTER", "ABc"},
	{"keypad digits, num lock on", "us", SCANNER_SUFFIX_ENTER, 50, 64,
	 "KP1 KP2 KP3 KP0 KPDOT ENTER", "1230."},
	{"num lock toggled off", "us", SCANNER_SUFFIX_ENTER, 50, 64,
	 "KP1 KP2 NUMLOCK KP3 KP4 NUMLOCK KP5 ENTER", "125"},
	{"altgr de", "de", SCANNER_SUFFIX_ENTER, 50, 64, "G-Q G-E G-7 ENTER", "@€{"},
	{"suffix kp-enter", "us", SCANNER_SUFFIX_KP_ENTER, 50, 64, "1 2 3 KPENTER 4 5 6 KPENTER",
	 "123|456"},
	{"suffix tab", "us", SCANNER_SUFFIX_TAB, 50, 64, "A B C TAB D E F TAB", "abc|def"},
	{"enter is not the tab suffix", "us", SCANNER_SUFFIX_TAB, 50, 64, "A B ENTER C TAB",
	 "ab\rc"},
	{"suffix none ends on timeout", "us", SCANNER_SUFFIX_NONE, 50, 64, "1 2 3 4 @200 5 6 7",
	 "1234|567"},
	{"gap splits", "us", SCANNER_SUFFIX_ENTER, 50, 64, "1 2 3 @80 4 5 6 ENTER", "123|456"},
	{"short gap joins", "us", SCANNER_SUFFIX_ENTER, 50, 64, "1 2 3 @40 4 5 6 ENTER", "123456"},
	{"no timeout configured", "us", SCANNER_SUFFIX_ENTER, 0, 64, "1 2 3 @5000 4 ENTER", "1234"},
	{"stray short fragment dropped", "us", SCANNER_SUFFIX_ENTER, 50, 64, "1 2 @100 3 4 5 ENTER",
	 "345"},
	{"unterminated code flushed by timeout", "us", SCANNER_SUFFIX_ENTER, 50, 64, "9 8 7 6",
	 "9876"},
	{"syn_dropped mid-code drops the whole scan", "us", SCANNER_SUFFIX_ENTER, 50, 64,
	 "1 2 3 DROP 4 5 6 ENTER", ""},
	{"syn_dropped, the scan after the suffix is fine", "us", SCANNER_SUFFIX_ENTER, 50, 64,
	 "1 2 3 DROP 4 5 ENTER 2 8 1 ENTER", "281"},
	{"syn_dropped, a gap ends the torn scan", "us", SCANNER_SUFFIX_ENTER, 50, 64,
	 "1 2 DROP 3 @100 4 5 6 ENTER", "456"},
	{"syn_dropped without suffix: the gap ends it", "us", SCANNER_SUFFIX_NONE, 50, 64,
	 "1 2 DROP 3 4 @100 5 6 7", "567"},
	{"syn_dropped, no timeout: up to the suffix", "us", SCANNER_SUFFIX_ENTER, 0, 64,
	 "1 2 DROP 3 4 @5000 ENTER 5 6 ENTER", "56"},
	{"syn_dropped: keys up to the report are lost, the scan to its suffix", "us",
	 SCANNER_SUFFIX_ENTER, 50, 64, "1 2 DROP ENTER 7 8 9 ENTER 4 5 6 ENTER", "456"},
	{"repeats ignored", "us", SCANNER_SUFFIX_ENTER, 50, 64, "+1 R:1 R:1 -1 2 R:2 ENTER", "12"},
	{"over-long rejected whole, next one fine", "us", SCANNER_SUFFIX_ENTER, 50, 8,
	 "1 2 3 4 5 6 7 8 9 0 ENTER 1 2 3 ENTER", "<long>|123"},
	{"exactly max_len", "us", SCANNER_SUFFIX_ENTER, 50, 8, "1 2 3 4 5 6 7 8 ENTER", "12345678"},
	{"empty codes collapse", "us", SCANNER_SUFFIX_ENTER, 50, 64,
	 "ENTER ENTER 1 2 3 ENTER ENTER", "123"},
	{"function keys give no text", "us", SCANNER_SUFFIX_ENTER, 50, 64, "A F5 B ENTER", "ab"},
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
	send(run, EV_KEY, code, value);
	send(run, EV_SYN, SYN_REPORT, 0);
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
	snprintf(script, sizeof(script), "%s", tc->keys);
	for (char *tok = strtok_r(script, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (tok[0] == '@') {
			run.t += strtoul(tok + 1, NULL, 10) * USEC_PER_MSEC;
			/* The loop's timer fires at the deadline when it passed during the gap. */
			collect(&run, keyasm_timeout(run.ka, run.t, &c), &c);
			continue;
		}
		run.t += 5 * USEC_PER_MSEC;
		if (strcmp(tok, "DROP") == 0)
			send(&run, EV_SYN, SYN_DROPPED, 0);
		else if (tok[0] == '+')
			key(&run, (uint16_t)keycode(tok + 1), 1);
		else if (tok[0] == '-')
			key(&run, (uint16_t)keycode(tok + 1), 0);
		else if (strncmp(tok, "R:", 2) == 0)
			key(&run, (uint16_t)keycode(tok + 2), 2);
		else if (strncmp(tok, "S-", 2) == 0 || strncmp(tok, "G-", 2) == 0) {
			uint16_t mod = tok[0] == 'S' ? KEY_LEFTSHIFT : KEY_RIGHTALT;
			key(&run, mod, 1);
			key(&run, (uint16_t)keycode(tok + 2), 1);
			key(&run, (uint16_t)keycode(tok + 2), 0);
			key(&run, mod, 0);
		} else {
			key(&run, (uint16_t)keycode(tok), 1);
			key(&run, (uint16_t)keycode(tok), 0);
		}
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
	struct keyasm_config cfg = {.layout = "us", .interkey_timeout_usec = 50 * USEC_PER_MSEC};
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
