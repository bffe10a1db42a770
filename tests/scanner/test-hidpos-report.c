/* SPDX-License-Identifier: MIT */
/* HID-POS: report descriptors of real format, every report layout, joining, refusals. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drivers/scanner/hidpos-report.h"
#include "test.h"

/*
 * A Scanned Data Report as the HID Point of Sale Usage Tables describe it, laid out like
 * Honeywell's: report id 2, a length byte (vendor usage), Symbology Identifier 1-3, 56 bytes of
 * Decoded Data, two vendor bytes, Decode Data Continued as one bit, padding: 64 bytes.
 */
static const uint8_t desc_honeywell[] = {
	0x06, 0x8C, 0x00, /* Usage Page (Bar Code Scanner) */
	0x09, 0x02,       /* Usage (Bar Code Scanner) */
	0xA1, 0x01,       /* Collection (Application) */
	0x09, 0x12,       /*   Usage (Scanned Data Report) */
	0xA1, 0x02,       /*   Collection (Logical) */
	0x85, 0x02,       /*     Report ID (2) */
	0x15, 0x00,       /*     Logical Minimum (0) */
	0x26, 0xFF, 0x00, /*     Logical Maximum (255) */
	0x75, 0x08,       /*     Report Size (8) */
	0x06, 0x66, 0xFF, /*     Usage Page (vendor 0xFF66) */
	0x09, 0x01,       /*     Usage (1): length */
	0x95, 0x01,       /*     Report Count (1) */
	0x81, 0x02,       /*     Input (Data, Variable, Absolute) */
	0x06, 0x8C, 0x00, /*     Usage Page (Bar Code Scanner) */
	0x09, 0xFB,       /*     Usage (Symbology Identifier 1) */
	0x09, 0xFC,       /*     Usage (Symbology Identifier 2) */
	0x09, 0xFD,       /*     Usage (Symbology Identifier 3) */
	0x95, 0x03,       /*     Report Count (3) */
	0x81, 0x02,       /*     Input (Data, Variable, Absolute) */
	0x09, 0xFE,       /*     Usage (Decoded Data) */
	0x95, 0x38,       /*     Report Count (56) */
	0x82, 0x02, 0x01, /*     Input (Data, Variable, Absolute, Buffered Bytes) */
	0x06, 0x66, 0xFF, /*     Usage Page (vendor) */
	0x09, 0x02,       /*     Usage (2): code id */
	0x09, 0x03,       /*     Usage (3) */
	0x95, 0x02,       /*     Report Count (2) */
	0x81, 0x02,       /*     Input */
	0x06, 0x8C, 0x00, /*     Usage Page (Bar Code Scanner) */
	0x09, 0xFF,       /*     Usage (Decode Data Continued) */
	0x25, 0x01,       /*     Logical Maximum (1) */
	0x75, 0x01,       /*     Report Size (1) */
	0x95, 0x01,       /*     Report Count (1) */
	0x81, 0x02,       /*     Input */
	0x75, 0x07,       /*     Report Size (7) */
	0x81, 0x03,       /*     Input (Constant): padding */
	0xC0,             /*   End Collection */
	0x09, 0x14,       /*   Usage (Trigger Report) */
	0xA1, 0x02,       /*   Collection (Logical) */
	0x85, 0x04,       /*     Report ID (4) */
	0x09, 0x67,       /*     Usage (Trigger State) */
	0x95, 0x01, 0x75, 0x08, 0x91, 0x02, /* Output */
	0xC0,                               /*   End Collection */
	0xC0,                               /* End Collection */
};

/* One vendor byte between the length and the symbology identifier, 55 data bytes. */
static const uint8_t desc_aim_after_byte[] = {
	0x06, 0x8C, 0x00, 0x09, 0x02, 0xA1, 0x01, 0x85, 0x02, 0x75, 0x08, 0x15, 0x00,
	0x26, 0xFF, 0x00, 0x95, 0x01, 0x09, 0x10, 0x81, 0x02, /* a byte of page 0x8C: Attribute
								 Report */
	0x95, 0x01, 0x06, 0x66, 0xFF, 0x09, 0x05, 0x81, 0x02, /* the extra vendor byte */
	0x06, 0x8C, 0x00, 0x19, 0xFB, 0x29, 0xFD, 0x95, 0x03, 0x81, 0x02, /* FB..FD */
	0x09, 0xFE, 0x95, 0x37, 0x82, 0x02, 0x01,                         /* 55 × data */
	0x95, 0x02, 0x81, 0x03,                                           /* pad */
	0x09, 0xFF, 0x75, 0x01, 0x95, 0x01, 0x81, 0x02, 0x75, 0x07, 0x81, 0x03, 0xC0,
};

/* Newland's, as its integration guides draw it: length, 56 bytes of decoded data, 4 reserved
 * bytes, a symbology identifier of Newland's own, Decode Data Continued in bit 0 of byte 63. */
static const uint8_t desc_newland[] = {
	0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01, 0x85, 0x02, 0x75, 0x08, 0x15, 0x00, 0x26,
	0xFF, 0x00, 0x06, 0x00, 0xFF, 0x09, 0x01, 0x95, 0x01, 0x81, 0x02, /* length */
	0x05, 0x8C, 0x09, 0xFE, 0x95, 0x38, 0x81, 0x02,                   /* 56 × data */
	0x95, 0x04, 0x81, 0x03,                                           /* reserved */
	0x06, 0x00, 0xFF, 0x09, 0x02, 0x95, 0x01, 0x81, 0x02,             /* symbology id */
	0x05, 0x8C, 0x09, 0xFF, 0x75, 0x01, 0x81, 0x02, 0x75, 0x07, 0x81, 0x03, 0xC0,
};

/* No report id: [length][63 data], as Symbol's "Simple COM" reports. */
static const uint8_t desc_no_id[] = {
	0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01, 0x75, 0x08, 0x15, 0x00, 0x26,
	0xFF, 0x00, 0x06, 0x00, 0xFF, 0x09, 0x01, 0x95, 0x01, 0x81, 0x02,
	0x05, 0x8C, 0x09, 0xFE, 0x95, 0x3F, 0x81, 0x02, 0xC0,
};

/* The boot keyboard of the HID specification (appendix B.1), as the wedge side sends it. */
static const uint8_t desc_keyboard[] = {
	0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07, 0x19, 0xE0, 0x29, 0xE7, 0x15,
	0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0x95, 0x01, 0x75, 0x08,
	0x81, 0x01, 0x95, 0x05, 0x75, 0x01, 0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91,
	0x02, 0x95, 0x01, 0x75, 0x03, 0x91, 0x01, 0x95, 0x06, 0x75, 0x08, 0x15, 0x00,
	0x25, 0x65, 0x05, 0x07, 0x19, 0x00, 0x29, 0x65, 0x81, 0x00, 0xC0,
};

/* Only the usage page: where the data is, it does not say (a vendor-defined report). */
static const uint8_t desc_pos_vendor_data[] = {
	0x06, 0x8C, 0x00, 0x09, 0x02, 0xA1, 0x01, 0x85, 0x02, 0x06, 0x00,
	0xFF, 0x09, 0x01, 0x75, 0x08, 0x95, 0x3F, 0x81, 0x02, 0xC0,
};

static void
check_layout(const struct hidpos_layout *l, int id, int len_off, int aim_off, unsigned data_off,
	     unsigned data_max, int more_off, uint8_t more_mask, unsigned size)
{
	CHECK_INT_EQ(l->report_id, id);
	CHECK_INT_EQ(l->len_off, len_off);
	CHECK_INT_EQ(l->aim_off, aim_off);
	CHECK_INT_EQ(l->data_off, data_off);
	CHECK_INT_EQ(l->data_max, data_max);
	CHECK_INT_EQ(l->more_off, more_off);
	if (more_off >= 0)
		CHECK_INT_EQ(l->more_mask, more_mask);
	CHECK_INT_EQ(l->size, size);
}

static void
test_descriptors(void)
{
	struct hidpos_layout l;

	CHECK(hid_descriptor_has_usage_page(desc_honeywell, sizeof(desc_honeywell), 0x8C));
	CHECK_INT_EQ(hid_descriptor_find_pos_layout(desc_honeywell, sizeof(desc_honeywell), &l), 0);
	/* Where the fixed Honeywell layout has them, found from the descriptor alone (the
	 * length byte is not described: the data ends at its padding). */
	const struct hidpos_layout *h = hidpos_layout_get(SCANNER_REPORT_HONEYWELL);
	check_layout(&l, h->report_id, -1, h->aim_off, h->data_off, h->data_max, h->more_off,
		     h->more_mask, h->size);

	CHECK_INT_EQ(hid_descriptor_find_pos_layout(desc_aim_after_byte,
						    sizeof(desc_aim_after_byte), &l),
		     0);
	/* The extra byte before the AIM id shifts nothing; the 0x8C byte before it is not data. */
	check_layout(&l, 2, -1, 3, 6, 55, 63, 0x01, 64);

	CHECK_INT_EQ(hid_descriptor_find_pos_layout(desc_newland, sizeof(desc_newland), &l), 0);
	check_layout(&l, 2, -1, -1, 2, 56, 63, 0x01, 64);

	CHECK_INT_EQ(hid_descriptor_find_pos_layout(desc_no_id, sizeof(desc_no_id), &l), 0);
	check_layout(&l, -1, -1, -1, 1, 63, -1, 0, 64);

	/* A continuation flag of no bits past the last byte, a symbology id whose three bytes
	 * would run past the report: neither is a field the report holds. */
	static const uint8_t more_empty[] = {
		0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01, 0x75, 0x08, 0x15, 0x00, 0x26, 0xFF, 0x00,
		0x06, 0x00, 0xFF, 0x09, 0x01, 0x95, 0x01, 0x81, 0x02, 0x05, 0x8C, 0x09, 0xFE,
		0x95, 0x3F, 0x81, 0x02, 0x09, 0xFF, 0x75, 0x00, 0x95, 0x01, 0x81, 0x02, 0xC0,
	};
	static const uint8_t aim_at_end[] = {
		0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01, 0x75, 0x08, 0x15, 0x00, 0x26, 0xFF, 0x00,
		0x06, 0x00, 0xFF, 0x09, 0x01, 0x95, 0x01, 0x81, 0x02, 0x05, 0x8C, 0x09, 0xFE,
		0x95, 0x3E, 0x81, 0x02, 0x09, 0xFB, 0x95, 0x01, 0x81, 0x02, 0xC0,
	};
	CHECK_INT_EQ(hid_descriptor_find_pos_layout(more_empty, sizeof(more_empty), &l), 0);
	check_layout(&l, -1, -1, -1, 1, 63, -1, 0, 64);
	CHECK_INT_EQ(hid_descriptor_find_pos_layout(aim_at_end, sizeof(aim_at_end), &l), 0);
	check_layout(&l, -1, -1, -1, 1, 62, -1, 0, 64);

	CHECK(!hid_descriptor_has_usage_page(desc_keyboard, sizeof(desc_keyboard), 0x8C));
	CHECK_INT_EQ(hid_descriptor_find_pos_layout(desc_keyboard, sizeof(desc_keyboard), &l),
		     -ENOENT);
	CHECK(hid_descriptor_has_usage_page(desc_pos_vendor_data, sizeof(desc_pos_vendor_data),
					    0x8C));
	CHECK_INT_EQ(hid_descriptor_find_pos_layout(desc_pos_vendor_data,
						    sizeof(desc_pos_vendor_data), &l),
		     -ENOENT);

	/* Every truncation of a real descriptor is refused or found, never read past. */
	for (size_t n = 0; n < sizeof(desc_honeywell); n++) {
		int r = hid_descriptor_find_pos_layout(desc_honeywell, n, &l);
		CHECK(r == 0 || r == -ENOENT || r == -EBADMSG);
	}
	/* Pop without push, a report id of 0, a field past 64 bytes. */
	static const uint8_t pop[] = {0xB4};
	static const uint8_t id0[] = {0x85, 0x00};
	static const uint8_t huge[] = {0x05, 0x8C, 0x09, 0xFE, 0x75, 0x08,
				       0x96, 0x00, 0x01, 0x81, 0x02};
	CHECK_INT_EQ(hid_descriptor_find_pos_layout(pop, sizeof(pop), &l), -EBADMSG);
	CHECK_INT_EQ(hid_descriptor_find_pos_layout(id0, sizeof(id0), &l), -EBADMSG);
	CHECK_INT_EQ(hid_descriptor_find_pos_layout(huge, sizeof(huge), &l), -EBADMSG);
	/* Fields of size 0 with a count of 2^31: refused at once, not walked one by one. */
	static const uint8_t empty_fields[] = {0x75, 0x00, 0x97, 0xFF, 0xFF,
					       0xFF, 0x7F, 0x81, 0x02};
	CHECK_INT_EQ(hid_descriptor_find_pos_layout(empty_fields, sizeof(empty_fields), &l),
		     -EBADMSG);

	/* The older usage-page cases. */
	static const struct {
		const char *name;
		uint8_t d[16];
		size_t n;
		bool want;
	} cases[] = {
		{"pos, 2-byte page", {0x06, 0x8C, 0x00, 0x09, 0x02, 0xA1, 0x01}, 7, true},
		{"pos, 1-byte page", {0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01, 0xC0}, 7, true},
		{"pos, 4-byte page", {0x07, 0x8C, 0x00, 0x00, 0x00}, 5, true},
		{"4-byte page 0x1008C", {0x07, 0x8C, 0x00, 0x01, 0x00}, 5, false},
		{"usage, not page", {0x09, 0x8C, 0x05, 0x01}, 4, false},
		{"after a long item", {0xFE, 0x02, 0x10, 0x05, 0x8C, 0x05, 0x8C}, 7, true},
		{"long item hides it", {0xFE, 0x02, 0x10, 0x05, 0x8C}, 5, false},
		{"truncated", {0x06, 0x8C}, 2, false},
		{"empty", {0}, 0, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = hid_descriptor_has_usage_page(cases[i].d, cases[i].n, 0x8C);
		if (got != cases[i].want)
			fprintf(stderr, "descriptor case \"%s\"\n", cases[i].name);
		CHECK_INT_EQ(got, cases[i].want);
	}
}

/* Builds one report in layout l. */
static void
build(uint8_t buf[64], const struct hidpos_layout *l, const char *aim, const char *data, bool more)
{
	size_t n = strlen(data);

	memset(buf, 0, 64);
	if (l->report_id >= 0)
		buf[0] = (uint8_t)l->report_id;
	if (l->len_off >= 0)
		buf[l->len_off] = (uint8_t)n;
	if (aim && l->aim_off >= 0)
		memcpy(buf + l->aim_off, aim, 3);
	memcpy(buf + l->data_off, data, n);
	if (l == hidpos_layout_get(SCANNER_REPORT_HONEYWELL))
		buf[61] = 's'; /* vendor code id: not part of the code */
	if (l == hidpos_layout_get(SCANNER_REPORT_AIM_AFTER_BYTE))
		buf[2] = 0x07; /* the extra byte */
	if (more && l->more_off >= 0)
		buf[l->more_off] |= l->more_mask;
}

/* Feeds one report: "text", "" (nothing yet), or "<refused>". */
static const char *
feed(struct hidpos_joiner *j, const uint8_t *buf, size_t n, struct scan_code *c)
{
	int r = hidpos_joiner_feed(j, buf, n, c);
	CHECK(r == 0 || r == 1);
	if (r == 0)
		return "";
	if (c->reject) {
		CHECK_INT_EQ(c->len, 0);
		return "<refused>";
	}
	return c->overflow ? "<long>" : c->text;
}

static void
test_layouts(void)
{
	static const char pay[] = "287654321098765430";
	struct hidpos_joiner j;
	struct scan_code c;
	uint8_t buf[64];

	for (int k = SCANNER_REPORT_HONEYWELL; k < _SCANNER_REPORT_MAX; k++) {
		const struct hidpos_layout *l = hidpos_layout_get((enum scanner_report_layout)k);
		bool has_aim = l->aim_off >= 0;

		hidpos_joiner_init(&j, l, 256);
		build(buf, l, "]Q1", pay, false);
		CHECK_STR_EQ(feed(&j, buf, 64, &c), pay);
		CHECK_STR_EQ(c.aim, has_aim ? "]Q1" : "");
		/* A CR suffix inside the data is removed; CR LF too. */
		build(buf, l, "]Q1", "287654321098765430\r", false);
		CHECK_STR_EQ(feed(&j, buf, 64, &c), pay);
		build(buf, l, NULL, "6901234567892\r\n", false);
		CHECK_STR_EQ(feed(&j, buf, 64, &c), "6901234567892");
		/* A CR inside is no suffix: refused by classification later, not cut here. */
		build(buf, l, NULL, "12\r34", false);
		CHECK_STR_EQ(feed(&j, buf, 64, &c), "12\r34");
		/* A report shorter than the layout: refused. */
		build(buf, l, NULL, pay, false);
		CHECK_STR_EQ(feed(&j, buf, 40, &c), "<refused>");
		/* Garbage after the length: another layout, refused rather than read. */
		if (l->len_off >= 0) {
			build(buf, l, NULL, pay, false);
			buf[l->data_off + sizeof(pay) + 2] = '9';
			CHECK_STR_EQ(feed(&j, buf, 64, &c), "<refused>");
			build(buf, l, NULL, pay, false);
			buf[l->len_off] = (uint8_t)(l->data_max + 1);
			CHECK_STR_EQ(feed(&j, buf, 64, &c), "<refused>");
		}
	}

	/* Honeywell: 150 bytes over three reports; the AIM id from the first one. */
	const struct hidpos_layout *h = hidpos_layout_get(SCANNER_REPORT_HONEYWELL);
	char long_code[151], part[57];
	for (size_t i = 0; i < 150; i++)
		long_code[i] = (char)('A' + i % 26);
	long_code[150] = 0;
	hidpos_joiner_init(&j, h, 256);
	for (size_t off = 0; off < 150; off += 56) {
		size_t n = 150 - off < 56 ? 150 - off : 56;
		memcpy(part, long_code + off, n);
		part[n] = 0;
		build(buf, h, off == 0 ? "]Q1" : "]Q1", part, off + n < 150);
		CHECK_STR_EQ(feed(&j, buf, 64, &c), off + n < 150 ? "" : long_code);
	}
	CHECK_STR_EQ(c.aim, "]Q1");
	/* Over max_len across reports: rejected whole. */
	hidpos_joiner_init(&j, h, 100);
	build(buf, h, "]Q1", long_code + 100, true);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "");
	build(buf, h, "]Q1", long_code + 99, false);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "<long>");
	/* A malformed report in the middle refuses the code in progress, whole. */
	hidpos_joiner_init(&j, h, 256);
	build(buf, h, NULL, "2876543210", true);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "");
	CHECK_STR_EQ(feed(&j, buf, 63, &c), "<refused>");
	build(buf, h, NULL, "DEF", false);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "DEF");
	/* Another report of the device (a trigger report, id 4): not a scan, ignored. */
	build(buf, h, NULL, "DEF", false);
	buf[0] = 0x04;
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "");
	/* A broken AIM id. */
	build(buf, h, "]\0\0", "DEF", false);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "<refused>");
	/* An empty final report ends nothing. */
	build(buf, h, NULL, "", false);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "");

	/* The field's layouts read as Honeywell's: refused, never shifted into another code. */
	const struct hidpos_layout *ab = hidpos_layout_get(SCANNER_REPORT_AIM_AFTER_BYTE);
	const struct hidpos_layout *nl = hidpos_layout_get(SCANNER_REPORT_NEWLAND);
	build(buf, ab, "]Q1", pay, false);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "<refused>");
	build(buf, nl, NULL, pay, false);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "<refused>");
	/* With the right layout they decode. */
	hidpos_joiner_init(&j, ab, 256);
	build(buf, ab, "]Q1", pay, false);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), pay);
	/* Newland's own symbology id in byte 62 lies outside the data: ignored. */
	hidpos_joiner_init(&j, nl, 256);
	build(buf, nl, NULL, pay, false);
	buf[62] = 0x33;
	CHECK_STR_EQ(feed(&j, buf, 64, &c), pay);
	/* A full Simple COM report may be cut: it has no "continued" flag, so it is refused. */
	const struct hidpos_layout *sc = hidpos_layout_get(SCANNER_REPORT_SIMPLE_COM);
	hidpos_joiner_init(&j, sc, 256);
	char full[64];
	memset(full, '7', 63);
	full[63] = 0;
	build(buf, sc, NULL, full, false);
	CHECK_STR_EQ(feed(&j, buf, 64, &c), "<refused>");

	/* The table of known scanners. */
	CHECK(hidpos_layout_quirk(0x0c2e, 0x0b87) == h);
	CHECK(hidpos_layout_quirk(0x1eab, 0x1a03) == nl);
	CHECK(hidpos_layout_quirk(0x05e0, 0x1200) == hidpos_layout_get(SCANNER_REPORT_SIMPLE_COM));
	CHECK(hidpos_layout_quirk(0x1234, 0x5678) == NULL);
	CHECK(hidpos_layout_get(SCANNER_REPORT_AUTO) == NULL);
}

int
main(void)
{
	test_descriptors();
	test_layouts();
	printf("HID-POS report tests passed\n");
	return 0;
}
