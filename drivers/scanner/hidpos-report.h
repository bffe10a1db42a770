/* SPDX-License-Identifier: MIT */
/* Parses USB HID-POS scanner input reports and joins multi-report codes. Pure, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/scanner/scan-code.h"

/*
 * doc/hardware.md §3: a 64-byte input report — byte 0 report id 0x02, byte 1
 * data length (≤ 56), bytes 2–4 AIM id, bytes 5–60 data (zero padded), byte 61 vendor code id,
 * byte 63 bit 0 set when more reports follow.
 */
#define HIDPOS_REPORT_SIZE     64
#define HIDPOS_REPORT_ID       0x02
#define HIDPOS_REPORT_DATA_MAX 56

struct hidpos_report {
	uint8_t len;
	char aim[4];         /* NUL-terminated; "" when the scanner sent zeros */
	const uint8_t *data; /* borrowed from the report buffer */
	bool more;
};

/* Parses one report (buf borrowed). -EBADMSG for a short report, another id or a bad length. */
int hidpos_report_parse(const uint8_t *buf, size_t n, struct hidpos_report *ret);

struct hidpos_joiner {
	size_t max_len;
	struct scan_code code;
	bool active;
};

void hidpos_joiner_init(struct hidpos_joiner *j, size_t max_len);
void hidpos_joiner_reset(struct hidpos_joiner *j);
/*
 * Feeds one report: returns 1 with a complete code in *ret (the AIM id, which HID-POS sends
 * apart from the data, in ret->aim), 0 when more reports are expected or the code was empty,
 * -EBADMSG for a malformed report (the partial code is dropped).
 */
int hidpos_joiner_feed(struct hidpos_joiner *j, const uint8_t *buf, size_t n,
		       struct scan_code *ret);

/* HID usage page of point-of-sale bar code scanners (HID POS usage tables). */
#define HID_USAGE_PAGE_BARCODE_SCANNER 0x8C

/*
 * Whether a HID report descriptor (borrowed) declares the given usage page anywhere. Walks the
 * short and long items; a truncated item ends the walk. Pure.
 */
bool hid_descriptor_has_usage_page(const uint8_t *d, size_t n, uint32_t page);
