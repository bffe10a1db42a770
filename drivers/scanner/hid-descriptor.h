/* SPDX-License-Identifier: MIT */
/* HID report descriptors: where a bar code scanner puts its decoded data. Pure, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HID usage page of point-of-sale bar code scanners (HID POS usage tables). */
#define HID_USAGE_PAGE_BARCODE_SCANNER 0x8C
/* Usages of that page that carry a scan (HID Point of Sale Usage Tables, "Bar Code Scanner"). */
#define HID_BCS_SCANNED_DATA_REPORT    0x12
#define HID_BCS_SYMBOLOGY_ID_1         0xFB
#define HID_BCS_SYMBOLOGY_ID_3         0xFD
#define HID_BCS_DECODED_DATA           0xFE
#define HID_BCS_DECODE_DATA_CONTINUED  0xFF

/*
 * Where the fields of a scanner's input report are, in bytes from the start of the report as
 * the interrupt endpoint delivers it (report id included when the device uses ids).
 */
struct hidpos_layout {
	const char *name;
	int report_id;     /* -1: the device sends no report id */
	int len_off;       /* byte holding the data length, -1: none (data ends at padding) */
	int aim_off;       /* 3 bytes of AIM symbology identifier, -1: none */
	unsigned data_off; /* first byte of decoded data */
	unsigned data_max; /* bytes of decoded data a report holds */
	int more_off;      /* byte with the "continued" flag, -1: a code is never continued */
	uint8_t more_mask;
	unsigned size; /* bytes a report has (the shortest accepted) */
};

/* Whether a HID report descriptor (borrowed) declares the given usage page anywhere. */
bool hid_descriptor_has_usage_page(const uint8_t *d, size_t n, uint32_t page);

/*
 * Reads from a report descriptor the input report that carries Decoded Data (page 0x8C, usage
 * 0xFE) as bytes: its report id, the data field, the symbology identifier bytes (0xFB-0xFD),
 * and the Decode Data Continued bit (0xFF). The tables define no length field, so the data ends
 * at its zero padding (len_off -1). Returns 0 and fills *ret (name "descriptor"), -ENOENT when
 * there is no such field (a keyboard, a scanner that describes its data as vendor bytes), -EBADMSG
 * for a descriptor that does not parse.
 */
int hid_descriptor_find_pos_layout(const uint8_t *d, size_t n, struct hidpos_layout *ret);
