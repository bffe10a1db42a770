/* SPDX-License-Identifier: MIT */
/* Table tests of code classification, serial framing and HID-POS report parsing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drivers/scanner/hidpos-report.h"
#include "drivers/scanner/serial-frame.h"
#include "test.h"

static void
test_classify(void)
{
	static const struct {
		const char *text;
		enum scan_class want;
	} cases[] = {
		{"287654321098765430", SCAN_CLASS_ALIPAY},         /* 18 digits, 28 */
		{"2500000000000000", SCAN_CLASS_ALIPAY},           /* 16 digits, 25 */
		{"300000000000000000000000", SCAN_CLASS_ALIPAY},   /* 24 digits, 30 */
		{"250000000000000", SCAN_CLASS_BARCODE},           /* 15 digits: too short */
		{"3000000000000000000000000", SCAN_CLASS_BARCODE}, /* 25 digits: too long */
		{"240000000000000000", SCAN_CLASS_BARCODE},        /* prefix 24 */
		{"310000000000000000", SCAN_CLASS_BARCODE},        /* prefix 31 */
		{"28765432109876543a", SCAN_CLASS_BARCODE},
		{"134567890123456789", SCAN_CLASS_OTHER_WALLET}, /* WeChat: 18 digits, 13 */
		{"104567890123456789", SCAN_CLASS_OTHER_WALLET},
		{"154567890123456789", SCAN_CLASS_OTHER_WALLET},
		{"16456789012345678", SCAN_CLASS_BARCODE},
		{"1345678901234567", SCAN_CLASS_BARCODE}, /* 16 digits starting 13: not WeChat */
		{"6901234567892", SCAN_CLASS_BARCODE},    /* EAN-13 */
		{"https://qr.alipay.com/abc", SCAN_CLASS_BARCODE},
		{"Wy2&æ7", SCAN_CLASS_BARCODE},
		{"", SCAN_CLASS_REJECTED},
		{"1234\r", SCAN_CLASS_REJECTED},
		{"12\t34", SCAN_CLASS_REJECTED},
		{"12\x7f", SCAN_CLASS_REJECTED},
		{"\x1b[A", SCAN_CLASS_REJECTED},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum scan_class c = scan_code_classify(cases[i].text, strlen(cases[i].text), 64);
		if (c != cases[i].want)
			fprintf(stderr, "classify \"%s\"\n", cases[i].text);
		CHECK_STR_EQ(scan_class_to_string(c), scan_class_to_string(cases[i].want));
	}
	/* Embedded NUL and the length cap. */
	CHECK_INT_EQ(scan_code_classify("12\0"
					"34",
					5, 64),
		     SCAN_CLASS_REJECTED);
	CHECK_INT_EQ(scan_code_classify("123456789", 9, 8), SCAN_CLASS_REJECTED);
	CHECK_INT_EQ(scan_code_classify("12345678", 8, 8), SCAN_CLASS_BARCODE);
}

struct frame_case {
	const char *name;
	enum scanner_framing framing;
	bool aim;
	size_t max_len;
	const char *in;
	const char *want; /* '|'-separated frames; "<long>" for an over-long one; aim as "{]E0}" */
};

static const struct frame_case frame_cases[] = {
	{"cr", SCANNER_FRAMING_CR, false, 64, "123\r456\r", "123|456"},
	{"lf", SCANNER_FRAMING_LF, false, 64, "123\n456\n", "123|456"},
	{"crlf", SCANNER_FRAMING_CRLF, false, 64, "123\r\n456\r\n", "123|456"},
	{"crlf: a bare cr stays in the frame", SCANNER_FRAMING_CRLF, false, 64, "12\r3\r\n",
	 "12\r3"},
	{"cr framing fed crlf: lf starts the next frame", SCANNER_FRAMING_CR, false, 64,
	 "123\r\n456\r", "123|\n456"},
	{"empty frames collapse", SCANNER_FRAMING_CR, false, 64, "\r\r123\r\r\r", "123"},
	{"partial frame waits", SCANNER_FRAMING_LF, false, 64, "123\n45", "123"},
	{"aim stripped", SCANNER_FRAMING_CR, true, 64, "]E06901234567892\r]Q1hello\r",
	 "6901234567892{]E0}|hello{]Q1}"},
	{"aim kept when not configured", SCANNER_FRAMING_CR, false, 64, "]E0690\r", "]E0690"},
	{"a frame of only an aim id is empty", SCANNER_FRAMING_LF, true, 64, "]E1\n123\n", "123"},
	{"no aim prefix present", SCANNER_FRAMING_CR, true, 64, "287654321098765430\r",
	 "287654321098765430"},
	{"over-long rejected, next fine", SCANNER_FRAMING_CR, false, 4, "12345\r1234\r",
	 "<long>|1234"},
};

static void
append(char *out, size_t size, const char *s)
{
	strncat(out, s, size - strlen(out) - 1);
}

static void
test_frames(void)
{
	for (size_t i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		const struct frame_case *tc = &frame_cases[i];
		/* Fed whole, and byte by byte: the framer keeps state across reads. */
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			struct serial_framer f;
			char out[512] = "";
			const uint8_t *p = (const uint8_t *)tc->in;
			size_t n = strlen(tc->in), off = 0;

			serial_framer_init(&f, tc->framing, tc->aim, tc->max_len);
			while (off < n) {
				struct scan_code c;
				size_t used, avail = bytewise ? 1 : n - off;
				int r = serial_framer_feed(&f, p + off, avail, &used, &c);
				CHECK(r >= 0);
				CHECK(used <= avail);
				off += used;
				if (r == 0)
					continue;
				if (out[0])
					append(out, sizeof(out), "|");
				if (c.overflow)
					append(out, sizeof(out), "<long>");
				else
					append(out, sizeof(out), c.text);
				if (c.aim[0]) {
					append(out, sizeof(out), "{");
					append(out, sizeof(out), c.aim);
					append(out, sizeof(out), "}");
				}
			}
			if (strcmp(out, tc->want) != 0)
				fprintf(stderr, "frame case \"%s\" (bytewise %d)\n", tc->name,
					bytewise);
			CHECK_STR_EQ(out, tc->want);
		}
	}
}

/* Builds a HID-POS report as doc/hardware.md §3 lays it out. */
static void
report(uint8_t buf[64], const char *aim, const char *data, bool more)
{
	size_t n = strlen(data);

	memset(buf, 0, 64);
	buf[0] = 0x02;
	buf[1] = (uint8_t)n;
	if (aim)
		memcpy(buf + 2, aim, 3);
	memcpy(buf + 5, data, n);
	buf[61] = 0x0b; /* vendor code id: ignored */
	buf[63] = more ? 0x01 : 0x00;
}

static void
test_hidpos(void)
{
	struct hidpos_joiner j;
	struct hidpos_report rep;
	struct scan_code c;
	uint8_t buf[64];
	char long_code[200];

	/* One report. */
	hidpos_joiner_init(&j, 256);
	report(buf, "]E0", "6901234567892", false);
	CHECK_INT_EQ(hidpos_report_parse(buf, 64, &rep), 0);
	CHECK_INT_EQ(rep.len, 13);
	CHECK_STR_EQ(rep.aim, "]E0");
	CHECK(!rep.more);
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), 1);
	CHECK_STR_EQ(c.text, "6901234567892");
	CHECK_STR_EQ(c.aim, "]E0");

	/* A payment code without an AIM id. */
	report(buf, NULL, "287654321098765430", false);
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), 1);
	CHECK_STR_EQ(c.text, "287654321098765430");
	CHECK_STR_EQ(c.aim, "");

	/* 150 bytes over three reports (56 + 56 + 38). */
	for (size_t i = 0; i < 150; i++)
		long_code[i] = (char)('A' + i % 26);
	long_code[150] = 0;
	char part[57];
	for (size_t off = 0; off < 150; off += 56) {
		size_t n = 150 - off < 56 ? 150 - off : 56;
		memcpy(part, long_code + off, n);
		part[n] = 0;
		report(buf, "]Q1", part, off + n < 150);
		CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), off + n < 150 ? 0 : 1);
	}
	CHECK_STR_EQ(c.text, long_code);
	CHECK_STR_EQ(c.aim, "]Q1");

	/* Over max_len across reports: rejected whole. */
	hidpos_joiner_init(&j, 100);
	report(buf, "]Q1", long_code + 100, true); /* 50 bytes */
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), 0);
	report(buf, "]Q1", long_code + 100, false);
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), 1);
	CHECK_INT_EQ(c.len, 100);
	CHECK(!c.overflow);
	report(buf, "]Q1", long_code + 100, true);
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), 0);
	report(buf, "]Q1", long_code + 99, false); /* 51 bytes: 101 in all */
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), 1);
	CHECK(c.overflow);

	/* Malformed reports: short, wrong id, length over 56, broken AIM; partial code dropped. */
	hidpos_joiner_init(&j, 256);
	report(buf, NULL, "ABC", true);
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), 0);
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 63, &c), -EBADMSG);
	report(buf, NULL, "DEF", false);
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), 1);
	CHECK_STR_EQ(c.text, "DEF");
	buf[0] = 0x01;
	CHECK_INT_EQ(hidpos_report_parse(buf, 64, &rep), -EBADMSG);
	report(buf, NULL, "DEF", false);
	buf[1] = 57;
	CHECK_INT_EQ(hidpos_report_parse(buf, 64, &rep), -EBADMSG);
	report(buf, "]\0\0", "DEF", false);
	CHECK_INT_EQ(hidpos_report_parse(buf, 64, &rep), -EBADMSG);
	/* Zero-length final report ends the code; an empty code is nothing. */
	report(buf, NULL, "", false);
	CHECK_INT_EQ(hidpos_joiner_feed(&j, buf, 64, &c), 0);
}

static void
test_hid_descriptor(void)
{
	static const struct {
		const char *name;
		uint8_t d[16];
		size_t n;
		bool want;
	} cases[] = {
		/* Usage Page (0x8C, two bytes), Usage (Bar Code Scanner), Collection */
		{"pos, 2-byte page", {0x06, 0x8C, 0x00, 0x09, 0x02, 0xA1, 0x01}, 7, true},
		{"pos, 1-byte page", {0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01, 0xC0}, 7, true},
		{"pos, 4-byte page", {0x07, 0x8C, 0x00, 0x00, 0x00}, 5, true},
		{"4-byte page 0x1008C", {0x07, 0x8C, 0x00, 0x01, 0x00}, 5, false},
		/* Generic Desktop, Keyboard, Collection, Usage Page (Keyboard) */
		{"keyboard", {0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07}, 8, false},
		/* Usage 0x8C is not a usage page */
		{"usage, not page", {0x09, 0x8C, 0x05, 0x01}, 4, false},
		{"after a long item", {0xFE, 0x02, 0x10, 0x05, 0x8C, 0x05, 0x8C}, 7, true},
		{"long item hides it", {0xFE, 0x02, 0x10, 0x05, 0x8C}, 5, false},
		{"truncated", {0x06, 0x8C}, 2, false},
		{"empty", {0}, 0, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = hid_descriptor_has_usage_page(cases[i].d, cases[i].n,
							 HID_USAGE_PAGE_BARCODE_SCANNER);
		if (got != cases[i].want)
			fprintf(stderr, "descriptor case \"%s\"\n", cases[i].name);
		CHECK_INT_EQ(got, cases[i].want);
	}
}

static void
test_names(void)
{
	uint16_t v = 1, p = 1;

	CHECK_INT_EQ(scanner_vidpid_from_string("0c2e:0B61", &v, &p), 0);
	CHECK_INT_EQ(v, 0x0c2e);
	CHECK_INT_EQ(p, 0x0b61);
	CHECK_INT_EQ(scanner_vidpid_from_string("c2e:b61", &v, &p), 0);
	CHECK_INT_EQ(v, 0x0c2e);
	static const char *const bad[] = {
		"",           ":",          "0c2e",      "0c2e:",     ":0b61",
		"0c2e:0b61:", "10c2e:0b61", "0c2e:0x61", "0c2e 0b61", "-1:0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = p = 7;
		CHECK_INT_EQ(scanner_vidpid_from_string(bad[i], &v, &p), -EINVAL);
		CHECK(v == 7 && p == 7); /* ret_* untouched on failure */
	}
	CHECK_INT_EQ(scanner_kind_from_string("hidpos"), SCANNER_KIND_HIDPOS);
	CHECK_INT_EQ(scanner_kind_from_string("usb"), -EINVAL);
	CHECK_INT_EQ(scanner_suffix_from_string("kp-enter"), SCANNER_SUFFIX_KP_ENTER);
	CHECK_INT_EQ(scanner_framing_from_string("CRLF"), SCANNER_FRAMING_CRLF);
	CHECK_STR_EQ(scanner_suffix_to_string(SCANNER_SUFFIX_TAB), "tab");
	CHECK(scanner_state_to_string(_SCANNER_STATE_MAX) == NULL);
}

int
main(void)
{
	test_classify();
	test_frames();
	test_hidpos();
	test_hid_descriptor();
	test_names();
	printf("decoder tables passed\n");
	return 0;
}
