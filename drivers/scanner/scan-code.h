/* SPDX-License-Identifier: MIT */
/* The code under assembly that every decoder (keys, serial bytes, HID-POS reports) fills. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "drivers/scanner/scanner.h"

/*
 * Decoders append to a scan_code until they see the end of a code. Past max_len the text stops
 * growing and `overflow` is set, so an over-long code is rejected whole rather than cut.
 */
struct scan_code {
	char text[SCAN_CODE_MAX + 1];
	size_t len;
	bool overflow;
	char aim[4];
	/* Why the decoder could not make sense of the input (a static string), or NULL. A code
	 * with a reason is refused whole, never delivered in part or altered. */
	const char *reject;
};

static inline void
scan_code_clear(struct scan_code *c)
{
	c->len = 0;
	c->text[0] = 0;
	c->overflow = false;
	c->aim[0] = 0;
	c->reject = NULL;
}

/* Marks the code refused; the first reason given is kept. */
static inline void
scan_code_refuse(struct scan_code *c, const char *reason)
{
	if (!c->reject)
		c->reject = reason;
}

/* Appends n bytes, or marks the code over-long if it would pass max_len (≤ SCAN_CODE_MAX). */
void scan_code_append(struct scan_code *c, const char *p, size_t n, size_t max_len);
/* Removes a leading AIM symbology identifier "]Xn" into c->aim. */
void scan_code_strip_aim(struct scan_code *c);
/*
 * Applies the configured prefix to a finished code: SCANNER_PREFIX_AIM moves a leading "]Xm"
 * to c->aim, SCANNER_PREFIX_CODE_ID removes a leading Honeywell Code ID letter (into c->aim as
 * that letter). A code that lacks the configured prefix is refused: stripping a character that
 * is not a prefix would turn it into a different code.
 */
void scan_code_strip_prefix(struct scan_code *c, enum scanner_prefix prefix);
/* Whether ch is one of Honeywell's one-letter Code IDs. */
bool scan_code_is_code_id(char ch);
