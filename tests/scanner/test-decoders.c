/* SPDX-License-Identifier: MIT */
/* Table tests of code classification, serial framing and prefixes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	enum scanner_prefix prefix;
	size_t max_len;
	const char *in;   /* '~' = the line goes idle for the gap */
	const char *want; /* '|'-separated frames; "<long>", "<refused>"; aim as "{]E0}" */
};

#define CR   SCANNER_FRAMING_CR
#define LF   SCANNER_FRAMING_LF
#define CRLF SCANNER_FRAMING_CRLF
#define NONE SCANNER_FRAMING_NONE
#define P_NO SCANNER_PREFIX_NONE
#define AIM  SCANNER_PREFIX_AIM
#define CID  SCANNER_PREFIX_CODE_ID

static const struct frame_case frame_cases[] = {
	{"cr", CR, P_NO, 64, "123\r456\r", "123|456"},
	{"lf", LF, P_NO, 64, "123\n456\n", "123|456"},
	{"crlf", CRLF, P_NO, 64, "123\r\n456\r\n", "123|456"},
	{"crlf: a bare cr inside stays, and is refused", CRLF, P_NO, 64, "12\r3\r\n", "<refused>"},
	/* A CR LF scanner on CR framing: the LF is the rest of the terminator. */
	{"cr framing fed crlf", CR, P_NO, 64, "123\r\n456\r\n789\r\n", "123|456|789"},
	{"lf framing fed crlf", LF, P_NO, 64, "123\r\n456\r\n", "123|456"},
	{"cr framing fed lf cr", CR, P_NO, 64, "123\n\r456\n\r", "123|456"},
	{"lf inside a cr frame is refused", CR, P_NO, 64, "12\n34\r", "<refused>"},
	{"empty frames collapse", CR, P_NO, 64, "\r\r123\r\r\r", "123"},
	{"partial frame waits", LF, P_NO, 64, "123\n45", "123"},
	/* Honeywell's factory default: no suffix at all. */
	{"none: the gap ends frames", NONE, P_NO, 64, "287654321098765430~6901234567892~",
	 "287654321098765430|6901234567892"},
	{"none: stray cr lf stripped", NONE, P_NO, 64, "\r\n123\r\n~456~", "123|456"},
	{"none: a cr inside stays", NONE, P_NO, 64, "12\r34~", "<refused>"},
	{"none: nothing before the gap", NONE, P_NO, 64, "~~", ""},
	/* A scanner with no suffix on CR framing: nothing joins, every scan is refused. */
	{"cr framing, no terminator sent", CR, P_NO, 64, "123~456~", "<refused>|<refused>"},
	{"a torn frame and its rest are refused", CR, P_NO, 64, "2876543~21098765430\r123\r",
	 "<refused>|<refused>|123"},
	{"a torn frame ended by its terminator alone", CR, P_NO, 64, "2876~\r123\r",
	 "<refused>|123"},
	{"aim stripped", CR, AIM, 64, "]E06901234567892\r]Q1hello\r",
	 "6901234567892{]E0}|hello{]Q1}"},
	{"aim kept when not configured", CR, P_NO, 64, "]E0690\r", "]E0690"},
	{"aim configured, none sent: refused", CR, AIM, 64, "287654321098765430\r", "<refused>"},
	{"a frame of only an aim id is refused", LF, AIM, 64, "]E1\n123\n", "<refused>|<refused>"},
	{"code id stripped", CR, CID, 64, "j12345\rs287654321098765430\r",
	 "12345{j}|287654321098765430{s}"},
	/* A digit is never a Code ID: a payment code is never shortened into another one. */
	{"code id configured, none sent", CR, CID, 64, "287654321098765430\r", "<refused>"},
	{"code id kept when not configured", CR, P_NO, 64, "j12345\r", "j12345"},
	{"over-long rejected, next fine", CR, P_NO, 4, "12345\r1234\r", "<long>|1234"},
};

static void
append(char *out, size_t size, const char *s)
{
	strncat(out, s, size - strlen(out) - 1);
}

static void
frame_out(char *out, size_t size, struct scan_code *c, enum scanner_prefix prefix)
{
	/* As the scanner core does it before classifying. */
	scan_code_strip_prefix(c, prefix);
	if (out[0])
		append(out, size, "|");
	if (c->overflow)
		append(out, size, "<long>");
	else if (c->reject ||
		 scan_code_classify(c->text, c->len, SCAN_CODE_MAX) == SCAN_CLASS_REJECTED) {
		append(out, size, "<refused>");
		return;
	} else
		append(out, size, c->text);
	if (c->aim[0]) {
		append(out, size, "{");
		append(out, size, c->aim);
		append(out, size, "}");
	}
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
			struct scan_code c;

			serial_framer_init(&f, tc->framing, tc->max_len);
			while (off < n) {
				size_t used, avail;
				if (p[off] == '~') {
					if (serial_framer_gap(&f, &c) > 0)
						frame_out(out, sizeof(out), &c, tc->prefix);
					CHECK(!serial_framer_pending(&f));
					off++;
					continue;
				}
				const uint8_t *tilde = memchr(p + off, '~', n - off);
				avail = bytewise ? 1 : (tilde ? (size_t)(tilde - p) : n) - off;
				int r = serial_framer_feed(&f, p + off, avail, &used, &c);
				CHECK(r >= 0);
				CHECK(used <= avail);
				off += used;
				if (r > 0)
					frame_out(out, sizeof(out), &c, tc->prefix);
			}
			if (strcmp(out, tc->want) != 0)
				fprintf(stderr, "frame case \"%s\" (bytewise %d): \"%s\"\n",
					tc->name, bytewise, out);
			CHECK_STR_EQ(out, tc->want);
		}
	}
}

static void
test_prefix(void)
{
	static const char ids[] = "abcdefghijlmqrstwxyz<>{}DEHIJLMNPQRTVXY";
	struct scan_code c;

	for (char d = '0'; d <= '9'; d++)
		CHECK(!scan_code_is_code_id(d));
	for (size_t i = 0; ids[i]; i++)
		CHECK(scan_code_is_code_id(ids[i]));
	CHECK(!scan_code_is_code_id(']'));
	CHECK(!scan_code_is_code_id(0));
	/* A code that is only a Code ID has nothing left: refused, not empty. */
	scan_code_clear(&c);
	scan_code_append(&c, "j", 1, 64);
	scan_code_strip_prefix(&c, SCANNER_PREFIX_CODE_ID);
	CHECK(c.reject != NULL);
	/* An AIM id needs a symbology letter: "]12" is data. */
	scan_code_clear(&c);
	scan_code_append(&c, "]1234", 5, 64);
	scan_code_strip_prefix(&c, SCANNER_PREFIX_AIM);
	CHECK(c.reject != NULL);
	/* Prefix none leaves everything. */
	scan_code_clear(&c);
	scan_code_append(&c, "]E0123", 6, 64);
	scan_code_strip_prefix(&c, SCANNER_PREFIX_NONE);
	CHECK_STR_EQ(c.text, "]E0123");
	CHECK(c.reject == NULL);
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
	CHECK_INT_EQ(scanner_framing_from_string("none"), SCANNER_FRAMING_NONE);
	CHECK_INT_EQ(scanner_prefix_from_string("code-id"), SCANNER_PREFIX_CODE_ID);
	CHECK_INT_EQ(scanner_prefix_from_string("aim"), SCANNER_PREFIX_AIM);
	CHECK_INT_EQ(scanner_report_layout_from_string("simple-com"), SCANNER_REPORT_SIMPLE_COM);
	CHECK_STR_EQ(scanner_report_layout_to_string(SCANNER_REPORT_NEWLAND), "newland");
	CHECK_STR_EQ(scanner_suffix_to_string(SCANNER_SUFFIX_TAB), "tab");
	CHECK(scanner_state_to_string(_SCANNER_STATE_MAX) == NULL);
}

int
main(void)
{
	test_classify();
	test_frames();
	test_prefix();
	test_names();
	printf("decoder tables passed\n");
	return 0;
}
