/* SPDX-License-Identifier: MIT */
/* Serial scanner framing: CR, LF, CRLF or idle-gap frames, empty frames collapsed, stray CR/LF. */
#include "drivers/scanner/serial-frame.h"

void
serial_framer_init(struct serial_framer *f, enum scanner_framing framing, size_t max_len)
{
	f->framing = framing;
	f->max_len = (max_len == 0 || max_len > SCAN_CODE_MAX) ? SCAN_CODE_MAX : max_len;
	serial_framer_reset(f);
}

void
serial_framer_reset(struct serial_framer *f)
{
	scan_code_clear(&f->code);
	f->cr_pending = false;
	f->torn = false;
}

bool
serial_framer_pending(const struct serial_framer *f)
{
	return f->code.len > 0 || f->code.overflow || f->cr_pending || f->code.reject;
}

static bool
is_crlf(char ch)
{
	return ch == '\r' || ch == '\n';
}

/* Ends the frame; empty frames (a terminator right after another) produce nothing. */
static int
serial_framer_finish(struct serial_framer *f, struct scan_code *ret)
{
	int r = 0;

	/* A stray CR or LF next to the terminator belongs to it, not to the code. */
	while (!f->code.overflow && f->code.len > 0 && is_crlf(f->code.text[f->code.len - 1]))
		f->code.text[--f->code.len] = 0;
	if (f->code.len > 0 || f->code.overflow || f->code.reject) {
		*ret = f->code;
		r = 1;
	}
	scan_code_clear(&f->code);
	f->cr_pending = false;
	return r;
}

int
serial_framer_gap(struct serial_framer *f, struct scan_code *ret)
{
	if (!serial_framer_pending(f))
		return 0;
	if (f->framing != SCANNER_FRAMING_NONE) {
		scan_code_refuse(&f->code, "the line went idle before the frame's terminator");
		f->torn = true;
	}
	return serial_framer_finish(f, ret);
}

static void
serial_framer_append(struct serial_framer *f, char ch)
{
	bool empty = f->code.len == 0 && !f->code.overflow;

	/* A stray CR or LF before a frame is the rest of the previous terminator. */
	if (empty && is_crlf(ch))
		return;
	if (empty && !f->code.reject && f->torn)
		scan_code_refuse(&f->code, "the rest of a frame torn by an idle gap");
	scan_code_append(&f->code, &ch, 1, f->max_len);
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
				serial_framer_append(f, '\r');
			}
			if (ch == '\r') {
				f->cr_pending = true;
				continue;
			}
			break;
		case SCANNER_FRAMING_NONE:
		case _SCANNER_FRAMING_MAX:
			break;
		}
		if (end) {
			int r = serial_framer_finish(f, ret);
			f->torn = false; /* the torn frame's terminator came: the tear is over */
			if (r > 0) {
				*consumed = i + 1;
				return 1;
			}
			continue;
		}
		serial_framer_append(f, ch);
	}
	*consumed = n;
	return 0;
}
