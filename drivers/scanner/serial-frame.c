/* SPDX-License-Identifier: MIT */
/* Serial scanner framing: CR, LF or CRLF terminators, empty frames collapsed, AIM prefix. */
#include "drivers/scanner/serial-frame.h"

void
serial_framer_init(struct serial_framer *f, enum scanner_framing framing, bool aim_strip,
		   size_t max_len)
{
	f->framing = framing;
	f->aim_strip = aim_strip;
	f->max_len = (max_len == 0 || max_len > SCAN_CODE_MAX) ? SCAN_CODE_MAX : max_len;
	serial_framer_reset(f);
}

void
serial_framer_reset(struct serial_framer *f)
{
	scan_code_clear(&f->code);
	f->cr_pending = false;
}

/* Ends the frame; empty frames (a terminator right after another) produce nothing. */
static int
serial_framer_finish(struct serial_framer *f, struct scan_code *ret)
{
	int r = 0;

	if (f->aim_strip && !f->code.overflow)
		scan_code_strip_aim(&f->code);
	/* A frame of nothing but an AIM id is as empty as a bare terminator. */
	if (f->code.len > 0 || f->code.overflow) {
		*ret = f->code;
		r = 1;
	}
	scan_code_clear(&f->code);
	return r;
}

int
serial_framer_feed(struct serial_framer *f, const uint8_t *data, size_t n, size_t *consumed,
		   struct scan_code *ret)
{
	for (size_t i = 0; i < n; i++) {
		char ch = (char)data[i];
		bool end = false;

		switch (f->framing) {
		case SCANNER_FRAMING_CR:
			end = ch == '\r';
			break;
		case SCANNER_FRAMING_LF:
			end = ch == '\n';
			break;
		case SCANNER_FRAMING_CRLF:
			if (f->cr_pending) {
				f->cr_pending = false;
				if (ch == '\n') {
					end = true;
					break;
				}
				/* A CR not followed by LF is data (and rejects the code). */
				scan_code_append(&f->code, "\r", 1, f->max_len);
			}
			if (ch == '\r') {
				f->cr_pending = true;
				continue;
			}
			break;
		case _SCANNER_FRAMING_MAX:
			break;
		}
		if (end) {
			if (serial_framer_finish(f, ret) > 0) {
				*consumed = i + 1;
				return 1;
			}
			continue;
		}
		scan_code_append(&f->code, &ch, 1, f->max_len);
	}
	*consumed = n;
	return 0;
}
