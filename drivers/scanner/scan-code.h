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
};

static inline void
scan_code_clear(struct scan_code *c)
{
	c->len = 0;
	c->text[0] = 0;
	c->overflow = false;
	c->aim[0] = 0;
}

/* Appends n bytes, or marks the code over-long if it would pass max_len (≤ SCAN_CODE_MAX). */
void scan_code_append(struct scan_code *c, const char *p, size_t n, size_t max_len);
/* Removes a leading AIM symbology identifier "]Xn" into c->aim. */
void scan_code_strip_aim(struct scan_code *c);
