/* SPDX-License-Identifier: MIT */
/* Splits the byte stream of a serial scanner into codes. Pure, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/scanner/scan-code.h"

/*
 * doc/hardware.md §2: a frame ends with CR, LF or CR LF as configured;
 * empty frames collapse; a frame past max_len is rejected whole (overflow set); an optional AIM
 * "]Xn" prefix is moved to code.aim. With CRLF framing a bare CR stays in the frame (and the
 * control character gets the code rejected); with CR framing an LF right after the CR is part of
 * the same terminator only when configured as CRLF — otherwise it starts the next frame.
 */
struct serial_framer {
	enum scanner_framing framing;
	bool aim_strip;
	size_t max_len;
	struct scan_code code;
	bool cr_pending; /* CRLF: a CR was seen and the next byte decides */
};

void serial_framer_init(struct serial_framer *f, enum scanner_framing framing, bool aim_strip,
			size_t max_len);
/* Drops the partial frame (after an error or a reopen). */
void serial_framer_reset(struct serial_framer *f);
/*
 * Consumes bytes from data[0..n) until a frame completes: returns 1 with the frame in *ret and
 * *consumed bytes eaten (call again with the rest), or 0 with all n consumed.
 */
int serial_framer_feed(struct serial_framer *f, const uint8_t *data, size_t n, size_t *consumed,
		       struct scan_code *ret);
