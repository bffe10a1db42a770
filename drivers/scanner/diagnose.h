/* SPDX-License-Identifier: MIT */
/* f2fpay-scantest --diagnose: one scan's raw input, its decoding, the settings to use. */
#pragma once

#include <stdio.h>

#include "drivers/scanner/scanner.h"

#define DIAG_ITEMS_MAX  4096
#define DIAG_REPORT_MAX 64

struct diag_item {
	enum scanner_raw_kind kind;
	usec_t t;
	uint16_t type, code;
	int32_t value;
	uint8_t data[DIAG_REPORT_MAX];
	size_t len;
};

struct diag {
	struct diag_item items[DIAG_ITEMS_MAX];
	size_t n;
	bool started;          /* a key, a byte or a report came (not just the LED state) */
	usec_t last;           /* when the last of them came */
	int led_num, led_caps; /* -1 unknown */
};

void diag_init(struct diag *d);
/* A scanner_raw_fn: records what the scanner sent (bytes split into items of at most 64). */
void diag_record(const struct scanner_raw *raw, void *userdata);
/*
 * Prints the raw input, the decoded code and the settings that decode it for cfg's kind.
 * expect (may be NULL) is the text of the code that was scanned: the keyboard layout and prefix
 * are then chosen so that it comes out exactly. Returns 0 when a setting decodes the scan
 * (and, with expect, gives exactly it), -EBADMSG when none does, -ENODATA with no scan.
 */
int diag_report(const struct diag *d, const struct scanner_config *cfg, const char *expect,
		FILE *out);
