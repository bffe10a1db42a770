/* SPDX-License-Identifier: MIT */
/* Fuzz target: a serial byte stream frames into bounded codes under every framing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scanner/serial-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int fr = 0; fr < _SCANNER_FRAMING_MAX; fr++) {
		struct serial_framer f;
		size_t off = 0;

		serial_framer_init(&f, (enum scanner_framing)fr, size % 2, 40);
		while (off < size) {
			struct scan_code c;
			size_t used;
			int r = serial_framer_feed(&f, data + off, size - off, &used, &c);
			if (used == 0 && r == 0)
				abort(); /* no progress */
			if (used > size - off)
				abort();
			off += used;
			if (r > 0 &&
			    (c.len > 40 || c.text[c.len] != 0 || (c.len == 0 && !c.overflow)))
				abort();
		}
	}
	return 0;
}
