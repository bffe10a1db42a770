/* SPDX-License-Identifier: MIT */
/* Splits the byte stream of a serial scanner into codes. Pure, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/scanner/scan-code.h"

/*
 * doc/hardware.md §2: a frame ends with CR, LF or CR LF as configured, or
 * (framing none, Honeywell's factory setting) with an idle gap the caller detects and reports
 * through serial_framer_gap(). Empty frames collapse; a frame past max_len is rejected whole
 * (overflow set). A stray CR or LF around the terminator — at the start of a frame or at its
 * end — is dropped, so a CR LF scanner works with CR or LF framing; one inside a frame stays
 * (and the control character gets the code rejected): cutting there could make a different
 * code. With a terminator configured, a partial frame that the idle gap interrupts is refused,
 * and so is the frame after it (the rest of the torn one).
 */
struct serial_framer {
	enum scanner_framing framing;
	size_t max_len;
	struct scan_code code;
	bool cr_pending; /* CRLF: a CR was seen and the next byte decides */
	bool torn;       /* the previous frame was cut by a gap: the next one is its rest */
};

void serial_framer_init(struct serial_framer *f, enum scanner_framing framing, size_t max_len);
/* Drops the partial frame (after an error or a reopen). */
void serial_framer_reset(struct serial_framer *f);
/*
 * Consumes bytes from data[0..n) until a frame completes: returns 1 with the frame in *ret and
 * *consumed bytes eaten (call again with the rest), or 0 with all n consumed.
 */
int serial_framer_feed(struct serial_framer *f, const uint8_t *data, size_t n, size_t *consumed,
		       struct scan_code *ret);
/* Whether bytes of an unfinished frame are held (the caller then watches for the idle gap). */
bool serial_framer_pending(const struct serial_framer *f);
/*
 * The line was idle for the configured gap: with framing none the frame ends here; with a
 * terminator the partial frame is refused. Returns 1 with the frame in *ret, or 0.
 */
int serial_framer_gap(struct serial_framer *f, struct scan_code *ret);
