/* SPDX-License-Identifier: MIT */
/* Fuzz target: any key-event stream keeps the assembler within its limits and invariants. */
#include <linux/input.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scanner/keyasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: 6-byte records — type selector, code (2 bytes LE), value (signed byte), gap in ms
 * (2 bytes LE). The first byte picks the suffix, the layout (us/de/fr) and the lock LEDs;
 * max_len is 32.
 */
static const char *const layouts[] = {"us", "de", "fr"};
static struct keyasm *kas[3][_SCANNER_SUFFIX_MAX];

static void
check(const struct scan_code *c)
{
	if (c->len > 32 || c->text[c->len] != 0)
		abort();
	/* Every code the assembler hands over is text, over-long, or refused with a reason. */
	if (c->len == 0 && !c->overflow && !c->reject)
		abort();
	/* Ctrl+@ decodes to NUL: such a code exists but must never be accepted. */
	if (strlen(c->text) != c->len &&
	    scan_code_classify(c->text, c->len, 32) != SCAN_CLASS_REJECTED)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {EV_SYN, EV_KEY, EV_KEY, EV_KEY, EV_MSC, EV_LED};
	struct scan_code c;
	struct keyasm *ka;
	usec_t t = 1000000;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0];
	unsigned li = (sel >> 4) % 3, si = sel % _SCANNER_SUFFIX_MAX;
	if (!kas[li][si]) {
		struct keyasm_config cfg = {
			.layout = layouts[li],
			.suffix = (enum scanner_suffix)si,
			.interkey_timeout_usec = 50000,
			.max_len = 32,
		};
		if (keyasm_new(&cfg, &kas[li][si]) < 0)
			abort();
	}
	ka = kas[li][si];
	/* The top bits pick the lock LEDs the device reports: unknown, or Num/Caps on or off. */
	unsigned leds = sel >> 6;
	keyasm_set_leds(ka, leds == 0 ? -1 : (int)(leds & 1), leds == 0 ? -1 : (int)(leds >> 1));
	keyasm_reset(ka);
	data++;
	size--;
	for (; size >= 6; data += 6, size -= 6) {
		uint16_t type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
		uint16_t code = (uint16_t)(data[1] | data[2] << 8);
		int32_t value = (int8_t)data[3];
		t += (usec_t)(data[4] | data[5] << 8) * 1000;
		if (type == EV_SYN)
			code %= 4; /* SYN_REPORT, SYN_CONFIG, SYN_MT_REPORT, SYN_DROPPED */
		if (keyasm_timeout(ka, t, &c) > 0)
			check(&c);
		int r = keyasm_feed(ka, type, code, value, t, &c);
		if (r < 0)
			abort();
		if (r > 0)
			check(&c);
		if (keyasm_deadline(ka) != USEC_INFINITY && keyasm_deadline(ka) <= t - 1)
			abort(); /* a deadline in the past must have been served above */
	}
	if (keyasm_timeout(ka, t + 1000000, &c) > 0)
		check(&c);
	if (keyasm_deadline(ka) != USEC_INFINITY)
		abort();
	return 0;
}
