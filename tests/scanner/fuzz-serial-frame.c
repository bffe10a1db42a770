/* SPDX-License-Identifier: MIT */
/* Fuzz target: a serial byte stream frames into bounded codes under every framing and prefix. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scanner/serial-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(struct scan_code *c, enum scanner_prefix prefix)
{
	size_t before = c->len;

	if (c->len > 40 || c->text[c->len] != 0 || (c->len == 0 && !c->overflow && !c->reject))
		abort();
	/* Frames never start or end with the CR or LF of a terminator. */
	if (!c->overflow && c->len > 0 &&
	    (c->text[0] == '\r' || c->text[0] == '\n' || c->text[c->len - 1] == '\r' ||
	     c->text[c->len - 1] == '\n'))
		abort();
	scan_code_strip_prefix(c, prefix);
	/* A prefix only ever shortens a code, by its own length, or refuses it. */
	if (!c->reject && !c->overflow && prefix != SCANNER_PREFIX_NONE &&
	    c->len + (prefix == SCANNER_PREFIX_AIM ? 3 : 1) != before)
		abort();
}

/* Input: bytes of the line; 0xFF stands for the line going idle for the gap. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum scanner_prefix prefix = (enum scanner_prefix)(size % _SCANNER_PREFIX_MAX);

	for (int fr = 0; fr < _SCANNER_FRAMING_MAX; fr++) {
		struct serial_framer f;
		size_t off = 0;

		serial_framer_init(&f, (enum scanner_framing)fr, 40);
		while (off < size) {
			struct scan_code c;
			size_t used;
			if (data[off] == 0xFF) {
				if (serial_framer_gap(&f, &c) > 0)
					check(&c, prefix);
				if (serial_framer_pending(&f))
					abort();
				off++;
				continue;
			}
			const uint8_t *gap = memchr(data + off, 0xFF, size - off);
			size_t avail = (gap ? (size_t)(gap - data) : size) - off;
			int r = serial_framer_feed(&f, data + off, avail, &used, &c);
			if (used == 0 && r == 0)
				abort(); /* no progress */
			if (used > avail)
				abort();
			off += used;
			if (r > 0)
				check(&c, prefix);
		}
	}
	return 0;
}
