/* SPDX-License-Identifier: MIT */
/* Serial scanners under umockdev: a CDC-ACM tty found by VID:PID, a replayed script, hot-plug. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umockdev-util.h"

/* A CDC-ACM scanner (0c2e:0b6a) on USB port n, its tty ttyACM<n-1>. */
#define ACM_FMT                                                                       \
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-%1$d/1-%1$d:1.0/tty/ttyACM%2$d\n" \
	"N: ttyACM%2$d\n"                                                             \
	"E: DEVNAME=/dev/ttyACM%2$d\n"                                                \
	"E: DEVLINKS=/dev/serial/by-id/usb-Honeywell_Scanner-if00\n"                  \
	"E: ID_VENDOR_ID=0c2e\n"                                                      \
	"E: ID_MODEL_ID=0b6a\n"                                                       \
	"E: ID_MODEL=Scanner\n"                                                       \
	"E: MAJOR=166\n"                                                              \
	"E: MINOR=%2$d\n"                                                             \
	"E: SUBSYSTEM=tty\n"                                                          \
	"A: dev=166:%2$d\n"                                                           \
	"\n"                                                                          \
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-%1$d/1-%1$d:1.0\n"                \
	"E: DEVTYPE=usb_interface\n"                                                  \
	"E: DRIVER=cdc_acm\n"                                                         \
	"E: SUBSYSTEM=usb\n"                                                          \
	"\n"                                                                          \
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-%1$d\n"                           \
	"E: DEVTYPE=usb_device\n"                                                     \
	"E: SUBSYSTEM=usb\n"                                                          \
	"A: idVendor=0c2e\n"                                                          \
	"A: idProduct=0b6a\n"

static const char roothub_desc[] = "P: /devices/pci0000:00/0000:00:14.0/usb1\n"
				   "E: DEVTYPE=usb_device\n"
				   "E: SUBSYSTEM=usb\n"
				   "A: idVendor=1d6b\n"
				   "A: idProduct=0002\n";

/* Another serial port that must be left alone. */
static const char ttys0_desc[] = "P: /devices/platform/serial8250/tty/ttyS0\n"
				 "N: ttyS0\n"
				 "E: DEVNAME=/dev/ttyS0\n"
				 "E: MAJOR=4\n"
				 "E: MINOR=64\n"
				 "E: SUBSYSTEM=tty\n"
				 "A: dev=4:64\n";

static void
add_acm(UMockdevTestbed *bed, int port)
{
	char desc[4096];

	snprintf(desc, sizeof(desc), ACM_FMT, port, port - 1);
	add_device(bed, desc);
}

static struct scanner *
open_scanner(const char *path, bool vidpid)
{
	struct scanner_config cfg;
	struct scanner *s = NULL;

	scanner_config_init(&cfg);
	cfg.kind = SCANNER_KIND_SERIAL;
	cfg.name = "acm";
	cfg.match_path = path;
	cfg.match_vidpid = vidpid;
	cfg.vid = 0x0c2e;
	cfg.pid = 0x0b6a;
	cfg.baud = 115200;
	cfg.framing = SCANNER_FRAMING_CRLF;
	cfg.prefix = SCANNER_PREFIX_AIM;
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	return s;
}

static void
put(UMockdevTestbed *bed, const char *dev, const char *data)
{
	int fd = umockdev_testbed_get_dev_fd(bed, dev);
	size_t n = strlen(data);

	CHECK(fd >= 0);
	CHECK_INT_EQ(write(fd, data, n), (ssize_t)n);
}

/* A recorded dialogue: the scanner sends two codes, some time after the port is opened. */
static void
test_script(UMockdevTestbed *bed, const char *dir)
{
	char path[256];
	GError *error = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/acm.script", dir);
	f = fopen(path, "we");
	CHECK(f);
	/* umockdev script: "r <ms> <data>", ^M = CR, ^J = LF (script-format.txt). umockdev
	 * replays on its own clock, so a burst may come before the driver's flush on open and be
	 * dropped: the burst (one write, whole or not at all) repeats, the first one seen counts.
	 */
	for (int i = 0; i < 20; i++)
		fputs("r 200 ]E06901234567892^M^J]Q1287654321098765430^M^J\n", f);
	CHECK(fclose(f) == 0);
	CHECK(umockdev_testbed_load_script(bed, "/dev/ttyACM0", path, &error));
	check_gerror(error);

	struct scanner *s = open_scanner(NULL, true);
	expect_state(s, SCANNER_STATE_PRESENT);
	struct scanner_event ev;
	CHECK_INT_EQ(wait_event(s, &ev), 1);
	CHECK_INT_EQ(ev.type, SCANNER_EVENT_CODE);
	CHECK_STR_EQ(ev.text, "6901234567892");
	CHECK_STR_EQ(ev.aim, "]E0");
	expect_code(s, "287654321098765430", SCAN_CLASS_ALIPAY);
	scanner_free(s);
}

static void
test_hotplug(UMockdevTestbed *bed)
{
	struct scanner *s = open_scanner("/dev/serial/by-id/usb-Honeywell_Scanner-if00", false);

	expect_state(s, SCANNER_STATE_PRESENT);
	for (int port = 1; port < 3; port++) {
		char usb[128], tty[256], dev[32];

		snprintf(usb, sizeof(usb), "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%d", port);
		snprintf(tty, sizeof(tty), "%s/1-%d:1.0/tty/ttyACM%d", usb, port, port - 1);
		umockdev_testbed_uevent(bed, tty, "remove");
		umockdev_testbed_remove_device(bed, usb);
		/* ttyACM0 still replays the script of test_script(). */
		expect_state_after_codes(s, SCANNER_STATE_MISSING);
		add_acm(bed, port + 1);
		expect_state(s, SCANNER_STATE_PRESENT);
		snprintf(dev, sizeof(dev), "/dev/ttyACM%d", port);
		put(bed, dev, "]Q12812345678901234\r\n");
		expect_code(s, "2812345678901234", SCAN_CLASS_ALIPAY);
	}
	expect_quiet(s);
	scanner_free(s);
}

/*
 * An RS-232 scanner on the built-in port /dev/ttyS0 (no USB parent: matched by path), with
 * Honeywell's factory setting of no suffix: each code ends when the line goes idle.
 */
static void
test_rs232(UMockdevTestbed *bed)
{
	struct scanner_config cfg;
	struct scanner *s = NULL;

	scanner_config_init(&cfg);
	cfg.kind = SCANNER_KIND_SERIAL;
	cfg.name = "rs232";
	cfg.match_path = "/dev/ttyS0";
	cfg.framing = SCANNER_FRAMING_NONE;
	cfg.idle_gap_usec = 200 * USEC_PER_MSEC;
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	expect_state(s, SCANNER_STATE_PRESENT);
	put(bed, "/dev/ttyS0", "287654321098765430");
	expect_code(s, "287654321098765430", SCAN_CLASS_ALIPAY);
	put(bed, "/dev/ttyS0", "6901234567892\r\n");
	expect_code(s, "6901234567892", SCAN_CLASS_BARCODE);
	expect_quiet(s);
	scanner_free(s);
}

int
main(void)
{
	char dir[] = "/tmp/f2fpay-acm-XXXXXX", cmd[64];
	const char *preload = getenv("LD_PRELOAD");
	UMockdevTestbed *bed;

	if (!preload || !strstr(preload, "umockdev-preload")) {
		fprintf(stderr, "run this under umockdev-wrapper\n");
		return 1; /* CI has umockdev: a missing wrapper is a failure, not a skip */
	}
	CHECK(mkdtemp(dir));
	bed = umockdev_testbed_new();
	add_device(bed, roothub_desc);
	add_device(bed, ttys0_desc);
	add_acm(bed, 1);

	test_script(bed, dir);
	test_hotplug(bed);
	test_rs232(bed);

	g_object_unref(bed);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	printf("serial umockdev tests passed\n");
	return 0;
}
