/* SPDX-License-Identifier: MIT */
/* f2fpay-scantest --diagnose's analysis on captured scans: layout, suffix, gaps, Alt mode,
 * HID-POS layout. (The serial case runs end to end under umockdev in scanner-scantest.) */
#include <errno.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scanner/diagnose.h"
#include "test.h"

static struct diag d;
static usec_t t;

static void
ev(uint16_t type, uint16_t code, int32_t value)
{
	diag_record(&(struct scanner_raw){.kind = SCANNER_RAW_EVENT,
					  .t = t,
					  .type = type,
					  .code = code,
					  .value = value},
		    &d);
}

/* A key press and release, each event 1 ms after the previous one (as scanners send). */
static void
tap(uint16_t code)
{
	t += USEC_PER_MSEC;
	ev(EV_KEY, code, 1);
	ev(EV_SYN, SYN_REPORT, 0);
	t += USEC_PER_MSEC;
	ev(EV_KEY, code, 0);
	ev(EV_SYN, SYN_REPORT, 0);
}

static char *
report(const struct scanner_config *cfg, const char *expect, int want_r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f);
	CHECK_INT_EQ(diag_report(&d, cfg, expect, f), want_r);
	CHECK(fclose(f) == 0);
	fputs(buf, stdout);
	return buf;
}

static void
has(const char *out, const char *line)
{
	if (!strstr(out, line))
		fprintf(stderr, "missing \"%s\"\n", line);
	CHECK(strstr(out, line) != NULL);
}

/* A German-layout scanner with a 30 ms pause inside the code, diagnosed from a us setting. */
static void
test_layout_and_gap(void)
{
	struct scanner_config cfg;
	char *out;

	scanner_config_init(&cfg);
	diag_init(&d);
	t = 1000 * USEC_PER_SEC;
	ev(EV_LED, LED_NUML, 1); /* the state read on open */
	ev(EV_LED, LED_CAPSL, 0);
	tap(KEY_Z); /* de: y */
	tap(KEY_Y); /* de: z */
	t += 30 * USEC_PER_MSEC;
	tap(KEY_1);
	tap(KEY_2);
	tap(KEY_ENTER);
	out = report(&cfg, "yz12", 0);
	has(out, "KEY_Z                  down");
	has(out, "lock LEDs: Num Lock on, Caps Lock off");
	has(out, "longest pause inside the scan: 32.0 ms");
	has(out, "decoded: \"yz12\" (barcode)");
	has(out, "  layout = de\n");
	has(out, "  suffix = enter\n");
	has(out, "  interkey_timeout = 70ms\n");
	has(out, "  prefix = none\n");
	free(out);
	/* Without the expected text the configured layout decodes it, and says so. */
	out = report(&cfg, NULL, 0);
	has(out, "decoded: \"zy12\" (barcode)");
	has(out, "  layout = us\n");
	free(out);
	/* A text no layout gives. */
	out = report(&cfg, "nothing like it", -EBADMSG);
	free(out);
}

/* Alt mode with the scanner pressing Num Lock itself, a Code ID before the code. */
static void
test_alt_mode(void)
{
	static const uint16_t kp[] = {KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4,
				      KEY_KP5, KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9};
	const char *text = "s287654321098765430";
	struct scanner_config cfg;
	char *out;

	scanner_config_init(&cfg);
	diag_init(&d);
	t = 2000 * USEC_PER_SEC;
	ev(EV_LED, LED_NUML, 0);
	tap(KEY_NUMLOCK);
	for (const char *c = text; *c; c++) {
		char num[8];
		snprintf(num, sizeof(num), "0%d", *c);
		t += USEC_PER_MSEC;
		ev(EV_KEY, KEY_LEFTALT, 1);
		for (const char *n = num; *n; n++)
			tap(kp[*n - '0']);
		t += USEC_PER_MSEC;
		ev(EV_KEY, KEY_LEFTALT, 0);
	}
	tap(KEY_NUMLOCK);
	tap(KEY_ENTER);
	out = report(&cfg, "287654321098765430", 0);
	has(out, "mode: Alt mode");
	has(out, "the scanner presses Num Lock itself");
	has(out, "decoded: \"287654321098765430\" (alipay) symbology s");
	has(out, "  prefix = code-id\n");
	free(out);
}

static void
test_hidpos(void)
{
	struct scanner_config cfg;
	uint8_t rep[64] = {0x02, 18};
	char *out;

	scanner_config_init(&cfg);
	cfg.kind = SCANNER_KIND_HIDPOS;
	diag_init(&d);
	memcpy(rep + 2, "287654321098765430", 18); /* Newland: data from byte 2 */
	diag_record(&(struct scanner_raw){.kind = SCANNER_RAW_REPORT,
					  .t = 5 * USEC_PER_SEC,
					  .data = rep,
					  .len = sizeof(rep)},
		    &d);
	out = report(&cfg, "287654321098765430", 0);
	has(out, "    02 12 32 38 37 36");
	has(out, "layout honeywell       a HID-POS symbology field that is no AIM identifier");
	has(out, "decoded: \"287654321098765430\" (alipay)");
	has(out, "  report_layout = newland\n");
	free(out);
}

/* An RS-232 scanner on /dev/ttyS0 sending CR: the framing, and the udev line that tags the port. */
static void
test_serial_port(void)
{
	struct scanner_config cfg;
	char *out;

	scanner_config_init(&cfg);
	cfg.kind = SCANNER_KIND_SERIAL;
	cfg.match_path = "/dev/ttyS0";
	diag_init(&d);
	diag_record(&(struct scanner_raw){.kind = SCANNER_RAW_BYTES,
					  .t = 7 * USEC_PER_SEC,
					  .data = (const uint8_t *)"6901234567892\r",
					  .len = 14},
		    &d);
	out = report(&cfg, "6901234567892", 0);
	has(out, "  framing = cr\n");
	has(out, "  prefix = none\n");
	has(out, "  SUBSYSTEM==\"tty\", KERNEL==\"ttyS0\", ENV{F2FPAY_SCANNER}=\"1\"\n");
	free(out);
}

static void
test_nothing(void)
{
	struct scanner_config cfg;
	char *out;

	scanner_config_init(&cfg);
	diag_init(&d);
	ev(EV_LED, LED_NUML, 1); /* the state on open is no scan */
	out = report(&cfg, NULL, -ENODATA);
	free(out);
}

int
main(void)
{
	test_layout_and_gap();
	test_alt_mode();
	test_hidpos();
	test_serial_port();
	test_nothing();
	printf("diagnose tests passed\n");
	return 0;
}
