/* SPDX-License-Identifier: MIT */
/* HID-POS scanners under umockdev: recorded interrupt reports, multi-report codes, hot-plug. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umockdev-util.h"

/*
 * A full-speed device 0c2e:0b87 with one HID interface and an interrupt-IN endpoint 0x81 of
 * 64 bytes: device descriptor, then configuration, interface, HID and endpoint descriptors.
 */
#define DESCRIPTORS                          \
	"12010002000000402E0C870B0001010200" \
	"01"                                 \
	"09022200010100803209040000010300000009211101000122400007058103400001"

#define USB_FMT                                             \
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-%1$d\n" \
	"N: bus/usb/001/%2$03d=" DESCRIPTORS "\n"           \
	"E: DEVNAME=/dev/bus/usb/001/%2$03d\n"              \
	"E: DEVTYPE=usb_device\n"                           \
	"E: SUBSYSTEM=usb\n"                                \
	"E: BUSNUM=001\n"                                   \
	"E: DEVNUM=%2$03d\n"                                \
	"E: ID_VENDOR_ID=0c2e\n"                            \
	"E: ID_MODEL_ID=0b87\n"                             \
	"E: MAJOR=189\n"                                    \
	"E: MINOR=%2$d\n"                                   \
	"A: busnum=1\\n\n"                                  \
	"A: devnum=%2$d\\n\n"                               \
	"A: speed=12\n"                                     \
	"A: bConfigurationValue=1\n"                        \
	"A: bNumConfigurations=1\n"                         \
	"A: idVendor=0c2e\n"                                \
	"A: idProduct=0b87\n"                               \
	"A: dev=189:%2$d\n"                                 \
	"H: descriptors=" DESCRIPTORS "\n"

#define ROOTHUB_DESCRIPTORS \
	"12010002090000406B1D020010030302010109021900010100E0000904000001090000000705810304000C"

static const char roothub_desc[] = "P: /devices/pci0000:00/0000:00:14.0/usb1\n"
				   "N: bus/usb/001/001=" ROOTHUB_DESCRIPTORS "\n"
				   "E: DEVNAME=/dev/bus/usb/001/001\n"
				   "E: DEVTYPE=usb_device\n"
				   "E: SUBSYSTEM=usb\n"
				   "E: BUSNUM=001\n"
				   "E: DEVNUM=001\n"
				   "E: MAJOR=189\n"
				   "E: MINOR=0\n"
				   "A: busnum=1\\n\n"
				   "A: devnum=1\\n\n"
				   "A: speed=480\n"
				   "A: bConfigurationValue=1\n"
				   "A: bNumConfigurations=1\n"
				   "A: idVendor=1d6b\n"
				   "A: idProduct=0002\n"
				   "A: dev=189:0\n"
				   "H: descriptors=" ROOTHUB_DESCRIPTORS "\n";

static char dir[] = "/tmp/f2fpay-hidpos-XXXXXX";

/* One recorded interrupt-IN completion carrying a HID-POS report (doc/hardware.md §3 layout). */
static void
reap_line(FILE *f, const char *aim, const char *data, size_t n, bool more)
{
	uint8_t r[64] = {0x02, (uint8_t)n};

	if (aim)
		memcpy(r + 2, aim, 3);
	memcpy(r + 5, data, n);
	r[61] = 0x00;
	r[63] = more ? 0x01 : 0x00;
	/* ret, type (1 = interrupt), endpoint (129 = 0x81), status, flags, buffer length,
	 * actual length, start frame, data */
	fprintf(f, "USBDEVFS_REAPURBNDELAY 0 1 129 0 0 64 64 0 ");
	for (size_t i = 0; i < sizeof(r); i++)
		fprintf(f, "%02X", r[i]);
	fputc('\n', f);
}

static char long_code[151];

static void
add_scanner(UMockdevTestbed *bed, int port, int devnum)
{
	char desc[4096], path[256], node[64];
	GError *error = NULL;
	FILE *f;

	snprintf(desc, sizeof(desc), USB_FMT, port, devnum);
	add_device(bed, desc);
	snprintf(path, sizeof(path), "%s/scanner-%d.ioctl", dir, devnum);
	snprintf(node, sizeof(node), "/dev/bus/usb/001/%03d", devnum);
	f = fopen(path, "we");
	CHECK(f);
	fprintf(f, "@DEV %s (usbdevfs)\n", node);
	/* A single-report code, a payment code, and a 150-byte code over three reports. */
	reap_line(f, "]E0", "6901234567892", 13, false);
	reap_line(f, NULL, "287654321098765430", 18, false);
	reap_line(f, "]Q1", long_code, 56, true);
	reap_line(f, "]Q1", long_code + 56, 56, true);
	reap_line(f, "]Q1", long_code + 112, 38, false);
	CHECK(fclose(f) == 0);
	CHECK(umockdev_testbed_load_ioctl(bed, node, path, &error));
	check_gerror(error);
}

/* The record replays in order and then starts over (doc/hardware.md §5); the first round is exact.
 */
static void
expect_round(struct scanner *s)
{
	struct scanner_event ev;

	CHECK_INT_EQ(wait_event(s, &ev), 1);
	CHECK_INT_EQ(ev.type, SCANNER_EVENT_CODE);
	CHECK_STR_EQ(ev.text, "6901234567892");
	CHECK_STR_EQ(ev.aim, "]E0");
	CHECK_STR_EQ(scan_class_to_string(ev.cls), "barcode");
	expect_code(s, "287654321098765430", SCAN_CLASS_ALIPAY);
	CHECK_INT_EQ(wait_event(s, &ev), 1);
	CHECK_INT_EQ(ev.type, SCANNER_EVENT_CODE);
	CHECK_STR_EQ(ev.text, long_code);
	CHECK_INT_EQ(ev.len, 150);
	CHECK_STR_EQ(ev.aim, "]Q1");
}

static struct scanner *
open_scanner(void)
{
	struct scanner_config cfg;
	struct scanner *s = NULL;

	scanner_config_init(&cfg);
	cfg.kind = SCANNER_KIND_HIDPOS;
	cfg.name = "hidpos";
	cfg.match_vidpid = true;
	cfg.vid = 0x0c2e;
	cfg.pid = 0x0b87;
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	return s;
}

/*
 * A scanner of another vendor, plugged in at port/devnum: the same descriptors with its
 * VID:PID, and `n` recorded 64-byte reports (already laid out as that scanner sends them).
 */
static void
add_vendor_scanner(UMockdevTestbed *bed, int port, int devnum, uint16_t vid, uint16_t pid,
		   const uint8_t (*reports)[64], size_t n)
{
	char descriptors[256], desc[4096], path[256], node[64];
	GError *error = NULL;
	FILE *f;

	/* The device descriptor holds idVendor and idProduct little-endian at bytes 8-11. */
	snprintf(descriptors, sizeof(descriptors), "%.16s%02X%02X%02X%02X%s", DESCRIPTORS,
		 vid & 0xff, vid >> 8, pid & 0xff, pid >> 8, &DESCRIPTORS[24]);
	snprintf(desc, sizeof(desc),
		 "P: /devices/pci0000:00/0000:00:14.0/usb1/1-%1$d\n"
		 "N: bus/usb/001/%2$03d=%3$s\n"
		 "E: DEVNAME=/dev/bus/usb/001/%2$03d\n"
		 "E: DEVTYPE=usb_device\nE: SUBSYSTEM=usb\nE: BUSNUM=001\nE: DEVNUM=%2$03d\n"
		 "E: ID_VENDOR_ID=%4$04x\nE: ID_MODEL_ID=%5$04x\nE: MAJOR=189\nE: MINOR=%2$d\n"
		 "A: busnum=1\\n\nA: devnum=%2$d\\n\nA: speed=12\nA: bConfigurationValue=1\n"
		 "A: bNumConfigurations=1\nA: idVendor=%4$04x\nA: idProduct=%5$04x\n"
		 "A: dev=189:%2$d\nH: descriptors=%3$s\n",
		 port, devnum, descriptors, vid, pid);
	add_device(bed, desc);
	snprintf(path, sizeof(path), "%s/vendor-%d.ioctl", dir, devnum);
	snprintf(node, sizeof(node), "/dev/bus/usb/001/%03d", devnum);
	f = fopen(path, "we");
	CHECK(f);
	fprintf(f, "@DEV %s (usbdevfs)\n", node);
	for (size_t k = 0; k < n; k++) {
		fprintf(f, "USBDEVFS_REAPURBNDELAY 0 1 129 0 0 64 64 0 ");
		for (size_t i = 0; i < 64; i++)
			fprintf(f, "%02X", reports[k][i]);
		fputc('\n', f);
	}
	CHECK(fclose(f) == 0);
	CHECK(umockdev_testbed_load_ioctl(bed, node, path, &error));
	check_gerror(error);
}

static struct scanner *
open_vendor(uint16_t vid, uint16_t pid, enum scanner_report_layout layout)
{
	struct scanner_config cfg;
	struct scanner *s = NULL;

	scanner_config_init(&cfg);
	cfg.kind = SCANNER_KIND_HIDPOS;
	cfg.name = "vendor";
	cfg.match_vidpid = true;
	cfg.vid = vid;
	cfg.pid = pid;
	cfg.report_layout = layout;
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	expect_state(s, SCANNER_STATE_PRESENT);
	return s;
}

/*
 * The report layouts of the field, each from a scanner whose VID:PID the table of known
 * scanners lists or whose layout is configured, and Honeywell's layout refusing a report
 * that is not its own rather than reading it shifted.
 */
static void
test_layouts(UMockdevTestbed *bed)
{
	static const char pay[] = "287654321098765430";
	uint8_t r[2][64];
	struct scanner *s;

	/* Newland: [0x02][length][data ×56][reserved ×4][symbology id][continued], a CR suffix
	 * inside the data. */
	memset(r, 0, sizeof(r));
	r[0][0] = 0x02;
	r[0][1] = 19;
	memcpy(&r[0][2], "287654321098765430\r", 19);
	r[0][62] = 0x33; /* Newland's symbology id (QR): not part of the code */
	r[1][0] = 0x02;
	r[1][1] = 13;
	memcpy(&r[1][2], "6901234567892", 13);
	add_vendor_scanner(bed, 10, 20, 0x1eab, 0x1a03, r, 2);
	s = open_vendor(0x1eab, 0x1a03, SCANNER_REPORT_AUTO);
	expect_code(s, pay, SCAN_CLASS_ALIPAY);
	expect_code(s, "6901234567892", SCAN_CLASS_BARCODE);
	scanner_free(s);

	/* Symbol "Simple COM": [length][data], no report id, CR LF inside. */
	memset(r, 0, sizeof(r));
	r[0][0] = 20;
	memcpy(&r[0][1], "287654321098765430\r\n", 20);
	add_vendor_scanner(bed, 11, 21, 0x05e0, 0x1200, r, 1);
	s = open_vendor(0x05e0, 0x1200, SCANNER_REPORT_AUTO);
	expect_code(s, pay, SCAN_CLASS_ALIPAY);
	scanner_free(s);

	/* An extra byte before the AIM id, configured. */
	memset(r, 0, sizeof(r));
	r[0][0] = 0x02;
	r[0][1] = 18;
	r[0][2] = 0x07;
	memcpy(&r[0][3], "]Q1", 3);
	memcpy(&r[0][6], pay, 18);
	add_vendor_scanner(bed, 12, 22, 0x05f9, 0x4204, r, 1);
	s = open_vendor(0x05f9, 0x4204, SCANNER_REPORT_AIM_AFTER_BYTE);
	struct scanner_event ev;
	CHECK_INT_EQ(wait_event(s, &ev), 1);
	CHECK_STR_EQ(ev.text, pay);
	CHECK_STR_EQ(ev.aim, "]Q1");
	scanner_free(s);

	/* The same report read as Honeywell's (the old, silently shifted case): refused. */
	s = open_vendor(0x05f9, 0x4204, SCANNER_REPORT_HONEYWELL);
	expect_refused(s, "HID-POS");
	scanner_free(s);
}

int
main(void)
{
	const char *preload = getenv("LD_PRELOAD");
	UMockdevTestbed *bed;
	char cmd[64];

	if (!preload || !strstr(preload, "umockdev-preload")) {
		fprintf(stderr, "run this under umockdev-wrapper\n");
		return 1; /* CI has umockdev: a missing wrapper is a failure, not a skip */
	}
	for (size_t i = 0; i < 150; i++)
		long_code[i] = (char)('A' + i % 26);
	CHECK(mkdtemp(dir));
	bed = umockdev_testbed_new();
	add_device(bed, roothub_desc);

	/* Not plugged in yet: missing, then hot-plugged. */
	struct scanner *s = open_scanner();
	expect_state(s, SCANNER_STATE_MISSING);
	add_scanner(bed, 3, 5);
	expect_state(s, SCANNER_STATE_PRESENT);
	expect_round(s);

	/* Unplug and plug in again (new address, as the kernel gives it). */
	for (int round = 0; round < 2; round++) {
		char usb[128];
		snprintf(usb, sizeof(usb), "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%d",
			 3 + round);
		umockdev_testbed_uevent(bed, usb, "remove");
		umockdev_testbed_remove_device(bed, usb);
		expect_state_after_codes(s, SCANNER_STATE_MISSING);
		add_scanner(bed, 4 + round, 6 + round);
		expect_state(s, SCANNER_STATE_PRESENT);
		expect_round(s);
	}
	scanner_free(s);

	/* Present at start. */
	s = open_scanner();
	expect_state(s, SCANNER_STATE_PRESENT);
	expect_round(s);
	scanner_free(s);

	test_layouts(bed);

	g_object_unref(bed);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	printf("hidpos umockdev tests passed\n");
	return 0;
}
