/* SPDX-License-Identifier: MIT */
/* Parses USB HID-POS scanner input reports and joins multi-report codes. Pure, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/scanner/hid-descriptor.h"
#include "drivers/scanner/scan-code.h"

/*
 * Reports come in several layouts. The interface's report descriptor says where the decoded
 * data is when it describes it (hid_descriptor_find_pos_layout()); otherwise the configured
 * layout, or the device's entry in a small table of known scanners, or Honeywell's:
 *
 *   honeywell        [0x02][len][AIM ×3][data ×56][code id][.][more: bit 0]   64 bytes
 *   newland          [0x02][len][data ×56][reserved ×4][symbology id][more: bit 0] 64 bytes
 *   aim-after-byte   [0x02][len][.][AIM ×3][data ×55][.][more: bit 0]         64 bytes
 *   simple-com       [len][data ×63], no report id                            64 bytes
 */
#define HIDPOS_REPORT_SIZE     64
#define HIDPOS_REPORT_ID       0x02
#define HIDPOS_REPORT_DATA_MAX 56

/* The fixed layout of a kind (NULL for SCANNER_REPORT_AUTO). */
const struct hidpos_layout *hidpos_layout_get(enum scanner_report_layout k);
/* The layout the table of known scanners gives a VID:PID, or NULL. */
const struct hidpos_layout *hidpos_layout_quirk(uint16_t vid, uint16_t pid);

struct hidpos_report {
	uint8_t len;
	char aim[4];         /* NUL-terminated; "" when the scanner sent none */
	const uint8_t *data; /* borrowed from the report buffer */
	bool more;
	bool other; /* another report of the device (status, trigger): not a scan */
};

/*
 * Parses one report (buf borrowed) in layout l. Returns 0, or -EBADMSG with *ret_reason set
 * when the report does not fit the layout: short, a length past the data field, bytes past the
 * length that are not padding, a symbology identifier field holding something else. Reports
 * with another report id come back with ->other set.
 */
int hidpos_report_parse(const struct hidpos_layout *l, const uint8_t *buf, size_t n,
			struct hidpos_report *ret, const char **ret_reason);

struct hidpos_joiner {
	const struct hidpos_layout *layout;
	size_t max_len;
	struct scan_code code;
	bool active;
};

void hidpos_joiner_init(struct hidpos_joiner *j, const struct hidpos_layout *l, size_t max_len);
void hidpos_joiner_reset(struct hidpos_joiner *j);
/*
 * Feeds one report: returns 1 with a complete code in *ret (the AIM id, which HID-POS sends
 * apart from the data, in ret->aim; a trailing CR, LF or CR LF suffix removed), 0 when more
 * reports are expected, the report was not a scan, or the code was empty. A report that does
 * not fit the layout ends the code in progress as a refused code (ret->reject says why).
 */
int hidpos_joiner_feed(struct hidpos_joiner *j, const uint8_t *buf, size_t n,
		       struct scan_code *ret);
