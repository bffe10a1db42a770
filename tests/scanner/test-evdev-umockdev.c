/* SPDX-License-Identifier: MIT */
/* evdev scanners under umockdev: matching rules, grab, exact decoding, non-matching device,
 * hot-plug. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/scanner/scanner-private.h"
#include "umockdev-util.h"

/* A USB scanner (0c2e:0b61) with a keyboard node and a second (consumer control) node, and the
 * host's own keyboard, which must be left alone. */
#define USB_FMT           "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%d"
#define SCANNER_EVENT_FMT USB_FMT "/1-%d:1.0/0003:0C2E:0B61.%04d/input/input%d/event%d"
#define BYID              "/dev/input/by-id/usb-Honeywell_Imaging_Scanner-event-kbd"

#define SCANNER_DESC_FMT                                                                       \
	"P: "                                                                                  \
	"/devices/pci0000:00/0000:00:14.0/usb1/1-%3$d/1-%3$d:1.0/0003:0C2E:0B61.%1$04d/input/" \
	"input%1$d/event%1$d\n"                                                                \
	"N: input/event%1$d\n"                                                                 \
	"E: DEVNAME=/dev/input/event%1$d\n"                                                    \
	"E: DEVLINKS=" BYID "\n"                                                               \
	"E: ID_INPUT=1\n"                                                                      \
	"E: ID_INPUT_KEY=1\n"                                                                  \
	"E: ID_INPUT_KEYBOARD=1\n"                                                             \
	"E: ID_VENDOR_ID=0c2e\n"                                                               \
	"E: ID_MODEL_ID=0b61\n"                                                                \
	"E: MAJOR=13\n"                                                                        \
	"E: MINOR=%2$d\n"                                                                      \
	"E: SUBSYSTEM=input\n"                                                                 \
	"A: dev=13:%2$d\n"                                                                     \
	"\n"                                                                                   \
	"P: "                                                                                  \
	"/devices/pci0000:00/0000:00:14.0/usb1/1-%3$d/1-%3$d:1.0/0003:0C2E:0B61.%1$04d/input/" \
	"input%1$d\n"                                                                          \
	"E: NAME=\"Honeywell Imaging Scanner\"\n"                                              \
	"E: SUBSYSTEM=input\n"                                                                 \
	"A: name=Honeywell Imaging Scanner\n"                                                  \
	"\n"                                                                                   \
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-%3$d/1-%3$d:1.0/0003:0C2E:0B61.%1$04d\n"   \
	"E: SUBSYSTEM=hid\n"                                                                   \
	"\n"                                                                                   \
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-%3$d/1-%3$d:1.0\n"                         \
	"E: DEVTYPE=usb_interface\n"                                                           \
	"E: SUBSYSTEM=usb\n"                                                                   \
	"\n"                                                                                   \
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-%3$d\n"                                    \
	"E: DEVTYPE=usb_device\n"                                                              \
	"E: SUBSYSTEM=usb\n"                                                                   \
	"A: idVendor=0c2e\n"                                                                   \
	"A: idProduct=0b61\n"

/* The root hub stays when a scanner is unplugged. */
static const char roothub_desc[] = "P: /devices/pci0000:00/0000:00:14.0/usb1\n"
				   "E: DEVTYPE=usb_device\n"
				   "E: SUBSYSTEM=usb\n"
				   "A: idVendor=1d6b\n"
				   "A: idProduct=0002\n";

/* The scanner's second node: no by-id link, another name; found as a sibling. */
static const char scanner2_desc[] =
	"P: "
	"/devices/pci0000:00/0000:00:14.0/usb1/1-5/1-5:1.1/0003:0C2E:0B61.0002/input/input20/"
	"event20\n"
	"N: input/event20\n"
	"E: DEVNAME=/dev/input/event20\n"
	"E: ID_INPUT=1\n"
	"E: ID_INPUT_KEY=1\n"
	"E: MAJOR=13\n"
	"E: MINOR=84\n"
	"E: SUBSYSTEM=input\n"
	"A: dev=13:84\n"
	"\n"
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-5/1-5:1.1/0003:0C2E:0B61.0002/input/input20\n"
	"E: NAME=\"Honeywell Imaging Scanner Consumer Control\"\n"
	"E: SUBSYSTEM=input\n"
	"A: name=Honeywell Imaging Scanner Consumer Control\n"
	"\n"
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-5/1-5:1.1/0003:0C2E:0B61.0002\n"
	"E: SUBSYSTEM=hid\n"
	"\n"
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-5/1-5:1.1\n"
	"E: DEVTYPE=usb_interface\n"
	"E: SUBSYSTEM=usb\n";

static const char keyboard_desc[] =
	"P: /devices/platform/i8042/serio0/input/input3/event3\n"
	"N: input/event3\n"
	"E: DEVNAME=/dev/input/event3\n"
	"E: DEVLINKS=/dev/input/by-path/platform-i8042-serio-0-event-kbd\n"
	"E: ID_INPUT=1\n"
	"E: ID_INPUT_KEY=1\n"
	"E: ID_INPUT_KEYBOARD=1\n"
	"E: MAJOR=13\n"
	"E: MINOR=67\n"
	"E: SUBSYSTEM=input\n"
	"A: dev=13:67\n"
	"\n"
	"P: /devices/platform/i8042/serio0/input/input3\n"
	"E: NAME=\"AT Translated Set 2 keyboard\"\n"
	"E: SUBSYSTEM=input\n"
	"A: name=AT Translated Set 2 keyboard\n";

/*
 * umockdev grants every EVIOCGRAB (doc/hardware.md §5). To see what the driver does when another
 * process holds the device, this test's own ioctl() comes first in symbol lookup (before the
 * umockdev preload and libc) and refuses the grab while refuse_grab is set.
 */
static int refuse_grab;

int
ioctl(int fd, unsigned long request, ...)
{
	static int (*next)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (request == EVIOCGRAB && arg != NULL && refuse_grab) {
		errno = EBUSY;
		return -1;
	}
	if (!next)
		next = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return next(fd, request, arg);
}

/*
 * umockdev answers EAGAIN where an unplugged device answers ENODEV (doc/hardware.md §5); reads on
 * the fds listed here fail with ENODEV, as the kernel's would.
 */
static int enodev_fds[8];
static size_t n_enodev_fds;

ssize_t
read(int fd, void *buf, size_t count)
{
	static ssize_t (*next)(int, void *, size_t);

	for (size_t i = 0; i < n_enodev_fds; i++)
		if (enodev_fds[i] == fd) {
			errno = ENODEV;
			return -1;
		}
	if (!next)
		next = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	return next(fd, buf, count);
}

static char tmpdir[] = "/tmp/f2fpay-evdev-XXXXXX";

static void
hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02X", p[i]);
	fputc('\n', f);
}

/*
 * Writes the ioctl record libevdev 1.13 needs (doc/hardware.md §5 lists the essentials; the data
 * length of each line is the buffer size in the request: 255 for the strings).
 */
/* The lock LEDs the next recorded device reports (EVIOCGLED): bit 0 Num Lock, 1 Caps Lock. */
static uint8_t ioctl_leds;

static void
write_ioctl(const char *path, const char *name, uint16_t vid, uint16_t pid, int held_key)
{
	FILE *f = fopen(path, "we");
	uint8_t buf[255], key[96] = {0};

	CHECK(f);
	fprintf(f, "@DEV %s\n", "/dev/input/event0");
	memset(buf, 0, sizeof(buf));
	/* EV_SYN, EV_KEY, EV_MSC, EV_LED, EV_REP */
	buf[0] = 0x13;
	buf[2] = 0x12;
	fprintf(f, "EVIOCGBIT(0) 8 ");
	hex(f, buf, 8);
	memset(buf, 0, sizeof(buf));
	snprintf((char *)buf, sizeof(buf), "%s", name);
	fprintf(f, "EVIOCGNAME(0) %zu ", strlen(name) + 1);
	hex(f, buf, 255);
	memset(buf, 0, sizeof(buf));
	fprintf(f, "EVIOCGPHYS(0) 1 ");
	hex(f, buf, 255);
	fprintf(f, "EVIOCGUNIQ(0) 1 ");
	hex(f, buf, 255);
	uint8_t id[8] = {
		0x03, 0x00, (uint8_t)vid, (uint8_t)(vid >> 8), (uint8_t)pid, (uint8_t)(pid >> 8),
		0x10, 0x01};
	fprintf(f, "EVIOCGID 0 ");
	hex(f, id, 8);
	uint8_t version[4] = {0x01, 0x00, 0x01, 0x00};
	fprintf(f, "EVIOCGVERSION 0 ");
	hex(f, version, 4);
	fprintf(f, "EVIOCGPROP(0) 8 ");
	hex(f, buf, 8);
	/* Keys 1–255: every key a keyboard has. */
	key[0] = 0xfe;
	memset(key + 1, 0xff, 31);
	fprintf(f, "EVIOCGBIT(1) 96 ");
	hex(f, key, 96);
	static const int small[] = {2, 3, 5, 18};
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		fprintf(f, "EVIOCGBIT(%d) 8 ", small[i]);
		hex(f, buf, 8);
	}
	buf[0] = 0x10; /* MSC_SCAN */
	fprintf(f, "EVIOCGBIT(4) 8 ");
	hex(f, buf, 8);
	buf[0] = 0x1f; /* LEDs 0–4 */
	fprintf(f, "EVIOCGBIT(17) 8 ");
	hex(f, buf, 8);
	buf[0] = 0;
	fprintf(f, "EVIOCGBIT(21) 16 ");
	hex(f, buf, 16);
	fprintf(f, "EVIOCGKEY(0) 96 ");
	memset(key, 0, sizeof(key));
	if (held_key > 0)
		key[held_key / 8] = (uint8_t)(1u << (held_key % 8));
	hex(f, key, 96); /* the keys held when the device is opened */
	fprintf(f, "EVIOCGLED(0) 8 ");
	buf[0] = ioctl_leds;
	hex(f, buf, 8);
	buf[0] = 0;
	fprintf(f, "EVIOCGSW(0) 8 ");
	hex(f, buf, 8);
	uint8_t rep[8] = {0xfa, 0, 0, 0, 0x21, 0, 0, 0};
	fprintf(f, "EVIOCGREP 0 ");
	hex(f, rep, 8);
	CHECK(fclose(f) == 0);
}

static void
load_ioctl_held(UMockdevTestbed *bed, const char *dev, const char *name, uint16_t vid, uint16_t pid,
		int held_key)
{
	char path[256];
	GError *error = NULL;

	snprintf(path, sizeof(path), "%s/%s.ioctl", tmpdir, strrchr(dev, '/') + 1);
	write_ioctl(path, name, vid, pid, held_key);
	CHECK(umockdev_testbed_load_ioctl(bed, dev, path, &error));
	check_gerror(error);
}

/* Adds the scanner as /dev/input/event<n> on USB port n-4: a replugged device gets new names. */
static void
load_ioctl(UMockdevTestbed *bed, const char *dev, const char *name, uint16_t vid, uint16_t pid)
{
	load_ioctl_held(bed, dev, name, vid, pid, 0);
}

static void
add_scanner(UMockdevTestbed *bed, int n)
{
	char desc[4096], dev[64];

	snprintf(desc, sizeof(desc), SCANNER_DESC_FMT, n, 64 + n, n - 4);
	add_device(bed, desc);
	snprintf(dev, sizeof(dev), "/dev/input/event%d", n);
	load_ioctl(bed, dev, "Honeywell Imaging Scanner", 0x0c2e, 0x0b61);
}

/* Types text on a US-layout keyboard node through the mocked device, then Enter. */
static void
type(UMockdevTestbed *bed, const char *dev, const char *text)
{
	static const uint16_t digits[10] = {KEY_0, KEY_1, KEY_2, KEY_3, KEY_4,
					    KEY_5, KEY_6, KEY_7, KEY_8, KEY_9};
	struct input_event evs[4 * 64 + 4];
	size_t n = 0;
	int fd = umockdev_testbed_get_dev_fd(bed, dev);
	usec_t t = now_usec(CLOCK_MONOTONIC);

	CHECK(fd >= 0);
	for (const char *p = text;; p++) {
		uint16_t code;
		if (*p >= '0' && *p <= '9')
			code = digits[*p - '0'];
		else if (*p == 'A')
			code = KEY_A; /* with Shift below */
		else
			code = KEY_ENTER;
		CHECK(n + 6 < sizeof(evs) / sizeof(evs[0]));
		if (*p == 'A')
			evs[n++] = (struct input_event){
				.type = EV_KEY, .code = KEY_LEFTSHIFT, .value = 1};
		for (int v = 1; v >= 0; v--) {
			evs[n++] = (struct input_event){.type = EV_KEY, .code = code, .value = v};
			evs[n++] = (struct input_event){.type = EV_SYN, .code = SYN_REPORT};
		}
		if (*p == 'A')
			evs[n++] = (struct input_event){
				.type = EV_KEY, .code = KEY_LEFTSHIFT, .value = 0};
		if (!*p)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		evs[i].time.tv_sec = (time_t)(t / USEC_PER_SEC);
		evs[i].time.tv_usec = (suseconds_t)(t % USEC_PER_SEC);
		t += 1000;
	}
	CHECK_INT_EQ(write(fd, evs, n * sizeof(evs[0])), (ssize_t)(n * sizeof(evs[0])));
}

/* A scan as a real wedge scanner sends it: events 1 ms apart, pauses where the script says. */
struct evscript {
	struct input_event evs[1024];
	size_t n;
	usec_t t;
};

static void
ev_add(struct evscript *e, uint16_t type, uint16_t code, int32_t value)
{
	CHECK(e->n < sizeof(e->evs) / sizeof(e->evs[0]));
	e->evs[e->n++] =
		(struct input_event){.time = {.tv_sec = (time_t)(e->t / USEC_PER_SEC),
					      .tv_usec = (suseconds_t)(e->t % USEC_PER_SEC)},
				     .type = type,
				     .code = code,
				     .value = value};
}

static void
ev_key(struct evscript *e, uint16_t code, int32_t value)
{
	e->t += USEC_PER_MSEC;
	ev_add(e, EV_KEY, code, value);
	ev_add(e, EV_SYN, SYN_REPORT, 0);
}

static void
ev_tap(struct evscript *e, uint16_t code)
{
	ev_key(e, code, 1);
	ev_key(e, code, 0);
}

/* Alt held over the keypad digits of `number` ("Alt mode"). */
static void
ev_alt(struct evscript *e, const char *number)
{
	static const uint16_t kp[10] = {KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4,
					KEY_KP5, KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9};
	ev_key(e, KEY_LEFTALT, 1);
	for (const char *d = number; *d; d++)
		ev_tap(e, kp[*d - '0']);
	ev_key(e, KEY_LEFTALT, 0);
}

/*
 * The script in writes of 64 events (the mocked node is a PTY, whose buffer would split a
 * larger write inside an event). The driver measures gaps from the events' own timestamps, so
 * the scan decodes the same however late the loop reads it (the machine is shared).
 */
static void
ev_send(UMockdevTestbed *bed, const char *dev, struct scanner *s, struct evscript *e)
{
	int fd = umockdev_testbed_get_dev_fd(bed, dev);

	CHECK(fd >= 0);
	for (size_t off = 0; off < e->n; off += 64) {
		size_t k = e->n - off < 64 ? e->n - off : 64;
		CHECK_INT_EQ(write(fd, e->evs + off, k * sizeof(e->evs[0])),
			     (ssize_t)(k * sizeof(e->evs[0])));
		/* Let the driver read it before the next write; what it decodes stays queued. */
		struct pollfd p = {.fd = scanner_get_fd(s), .events = POLLIN};
		(void)poll(&p, 1, 100);
		CHECK_INT_EQ(scanner_process(s, now_usec(CLOCK_MONOTONIC)), 0);
	}
	e->n = 0;
	e->t += USEC_PER_SEC; /* the next scan, a second later */
}

static void
check_nodes(struct scanner *s, size_t want)
{
	const char *nodes[8];
	bool grabbed[8];
	size_t n = scanner_evdev_nodes(s, nodes, grabbed, NULL, 8);

	CHECK_INT_EQ(n, want);
	for (size_t i = 0; i < n; i++) {
		/* The host keyboard is never opened, let alone grabbed. */
		CHECK(strcmp(nodes[i], "/dev/input/event3") != 0);
		CHECK(grabbed[i]);
	}
	if (want > 0)
		CHECK(strncmp(nodes[0], "/dev/input/event", 16) == 0);
}

static struct scanner *
open_scanner(const char *path, bool vidpid, const char *name)
{
	struct scanner_config cfg;
	struct scanner *s = NULL;

	scanner_config_init(&cfg);
	cfg.name = "test";
	cfg.match_path = path;
	cfg.match_vidpid = vidpid;
	cfg.vid = 0x0c2e;
	cfg.pid = 0x0b61;
	cfg.match_name = name;
	/* Gaps are the assembler tables' business; here a busy machine must not split a scan. */
	cfg.interkey_timeout_usec = 2 * USEC_PER_SEC;
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	return s;
}

/* One rule: the scanner is found, grabbed, decodes exactly; the keyboard's keys are ignored. */
static void
test_rule(UMockdevTestbed *bed, const char *path, bool vidpid, const char *name)
{
	struct scanner *s = open_scanner(path, vidpid, name);

	expect_state(s, SCANNER_STATE_PRESENT);
	CHECK_INT_EQ(scanner_get_state(s), SCANNER_STATE_PRESENT);
	check_nodes(s, 1);
	/* Typed on the host keyboard first: were it read, it would come out first. */
	type(bed, "/dev/input/event3", "1111222233334444");
	type(bed, "/dev/input/event7", "287654321098765430");
	expect_code(s, "287654321098765430", SCAN_CLASS_ALIPAY);
	type(bed, "/dev/input/event7", "6901234567892A");
	expect_code(s, "6901234567892A", SCAN_CLASS_BARCODE);
	expect_quiet(s);
	scanner_free(s);
}

static void
test_no_match(void)
{
	struct scanner *s = open_scanner("/dev/input/by-id/usb-Other-event-kbd", false, NULL);

	expect_state(s, SCANNER_STATE_MISSING);
	check_nodes(s, 0);
	scanner_free(s);
	s = open_scanner(NULL, false, "Zebra*");
	expect_state(s, SCANNER_STATE_MISSING);
	check_nodes(s, 0);
	scanner_free(s);
}

static void
test_hotplug(UMockdevTestbed *bed)
{
	struct scanner *s = open_scanner(BYID, false, NULL);

	expect_state(s, SCANNER_STATE_PRESENT);
	for (int round = 0, n = 7; round < 2; round++, n++) {
		char syspath[256], usb[128], dev[64];

		/* doc/hardware.md §5: the fd sees nothing on unplug; the udev remove event tells.
		 */
		snprintf(syspath, sizeof(syspath), SCANNER_EVENT_FMT, n - 4, n - 4, n, n, n);
		snprintf(usb, sizeof(usb), USB_FMT, n - 4);
		umockdev_testbed_uevent(bed, syspath, "remove");
		umockdev_testbed_uevent(bed, usb, "remove");
		umockdev_testbed_remove_device(bed, usb);
		expect_state(s, SCANNER_STATE_MISSING);
		check_nodes(s, 0);
		add_scanner(bed, n + 1); /* sends "add" */
		expect_state(s, SCANNER_STATE_PRESENT);
		check_nodes(s, 1);
		snprintf(dev, sizeof(dev), "/dev/input/event%d", n + 1);
		type(bed, dev, "2812345678901234");
		expect_code(s, "2812345678901234", SCAN_CLASS_ALIPAY);
	}
	expect_quiet(s);
	scanner_free(s);
}

/* A second node of the same USB device is read too, though only the first has the by-id link. */
static void
test_sibling(UMockdevTestbed *bed)
{
	add_device(bed, scanner2_desc);
	load_ioctl(bed, "/dev/input/event20", "Honeywell Imaging Scanner Consumer Control", 0x0c2e,
		   0x0b61);
	struct scanner *s = open_scanner(BYID, false, NULL);
	expect_state(s, SCANNER_STATE_PRESENT);
	check_nodes(s, 2);
	type(bed, "/dev/input/event20", "123456");
	expect_code(s, "123456", SCAN_CLASS_BARCODE);
	type(bed, "/dev/input/event9", "654321");
	expect_code(s, "654321", SCAN_CLASS_BARCODE);
	scanner_free(s);
}

static void
write_events(UMockdevTestbed *bed, const char *dev, const struct input_event *evs, size_t n)
{
	int fd = umockdev_testbed_get_dev_fd(bed, dev);

	CHECK(fd >= 0);
	CHECK_INT_EQ(write(fd, evs, n * sizeof(evs[0])), (ssize_t)(n * sizeof(evs[0])));
}

/*
 * doc/hardware.md §1: grab only after every key is up, then drop what was buffered. The node
 * reports Shift held at open: the scanner must wait; keys typed meanwhile went to the console too
 * and are dropped with the buffer once Shift is released and the grab is taken.
 */
static void
test_grab_after_release(UMockdevTestbed *bed)
{
	static const char desc[] =
		"P: /devices/pci0000:00/0000:00:14.0/usb1/1-9/1-9:1.0/0003:0C2E:0B61.0030/input/"
		"input30/event30\n"
		"N: input/event30\n"
		"E: DEVNAME=/dev/input/event30\n"
		"E: ID_VENDOR_ID=0c2e\n"
		"E: ID_MODEL_ID=0b99\n"
		"E: SUBSYSTEM=input\n"
		"A: dev=13:94\n"
		"\n"
		"P: /devices/pci0000:00/0000:00:14.0/usb1/1-9/1-9:1.0/0003:0C2E:0B61.0030/input/"
		"input30\n"
		"E: SUBSYSTEM=input\n"
		"A: name=Held Scanner\n"
		"\n"
		"P: /devices/pci0000:00/0000:00:14.0/usb1/1-9/1-9:1.0\n"
		"E: DEVTYPE=usb_interface\n"
		"E: SUBSYSTEM=usb\n"
		"\n"
		"P: /devices/pci0000:00/0000:00:14.0/usb1/1-9\n"
		"E: DEVTYPE=usb_device\n"
		"E: SUBSYSTEM=usb\n"
		"A: idVendor=0c2e\n"
		"A: idProduct=0b99\n";
	struct scanner_config cfg;
	struct scanner *s = NULL;
	const char *nodes[8];
	bool grabbed[8];

	add_device(bed, desc);
	load_ioctl_held(bed, "/dev/input/event30", "Held Scanner", 0x0c2e, 0x0b99, KEY_LEFTSHIFT);
	scanner_config_init(&cfg);
	cfg.match_name = "Held Scanner";
	cfg.interkey_timeout_usec = 2 * USEC_PER_SEC;
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	expect_state(s, SCANNER_STATE_PRESENT);
	CHECK_INT_EQ(scanner_evdev_nodes(s, nodes, grabbed, NULL, 8), 1);
	CHECK(!grabbed[0]); /* a key is down: grabbing now would leave it stuck on the console */

	/* Typed while Shift is still down, then Shift goes up, then more buffered keys. */
	const struct input_event evs[] = {
		{.type = EV_KEY, .code = KEY_9, .value = 1},         {.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_9, .value = 0},         {.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_LEFTSHIFT, .value = 0}, {.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_8, .value = 1},         {.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_8, .value = 0},         {.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_ENTER, .value = 1},     {.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_ENTER, .value = 0},     {.type = EV_SYN},
	};
	write_events(bed, "/dev/input/event30", evs, sizeof(evs) / sizeof(evs[0]));
	for (int i = 0; i < 1000; i++) {
		CHECK_INT_EQ(scanner_process(s, now_usec(CLOCK_MONOTONIC)), 0);
		CHECK_INT_EQ(scanner_evdev_nodes(s, nodes, grabbed, NULL, 8), 1);
		if (grabbed[0])
			break;
		usleep(10000);
	}
	CHECK(grabbed[0]);
	/* Nothing typed before the grab comes out ("9", "8"); the next scan does, exactly. */
	type(bed, "/dev/input/event30", "287654321098765430");
	expect_code(s, "287654321098765430", SCAN_CLASS_ALIPAY);
	expect_quiet(s);
	scanner_free(s);
}

/* SYN_DROPPED in the middle of a code: the partial code is discarded, the next scan is exact. */
static void
test_syn_dropped(UMockdevTestbed *bed)
{
	struct scanner_config cfg;
	struct scanner *s = NULL;

	/* A long inter-key timeout: however slowly this shared machine delivers a scan, its
	 * parts are never taken for separate scans. */
	scanner_config_init(&cfg);
	cfg.match_vidpid = true;
	cfg.vid = 0x0c2e;
	cfg.pid = 0x0b61;
	cfg.interkey_timeout_usec = 2 * USEC_PER_SEC;
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	const struct input_event evs[] = {
		{.type = EV_KEY, .code = KEY_1, .value = 1},
		{.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_1, .value = 0},
		{.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_2, .value = 1},
		{.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_2, .value = 0},
		{.type = EV_SYN},
		{.type = EV_SYN, .code = SYN_DROPPED},
		{.type = EV_KEY, .code = KEY_3, .value = 1},
		{.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_3, .value = 0},
		{.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_ENTER, .value = 1},
		{.type = EV_SYN},
		{.type = EV_KEY, .code = KEY_ENTER, .value = 0},
		{.type = EV_SYN},
	};
	struct scanner_event ev;
	int rounds = 0;

	expect_state(s, SCANNER_STATE_PRESENT);
	write_events(bed, "/dev/input/event9", evs, sizeof(evs) / sizeof(evs[0]));
	/*
	 * libevdev answers SYN_DROPPED by resyncing and dropping what the kernel still buffers,
	 * so a scan typed right after may be lost whole, never in part: scan until one comes
	 * through, and that one must be exact ("12" and "3" never prefix it).
	 */
	bool refused = false;
	for (;;) {
		CHECK(++rounds < 100);
		type(bed, "/dev/input/event9", "2812345678901234");
		if (wait_event_rounds(s, &ev, 50) == 0)
			continue;
		CHECK_INT_EQ(ev.type, SCANNER_EVENT_CODE);
		if (ev.cls != SCAN_CLASS_REJECTED)
			break;
		/* The torn scan comes out refused, with its reason and no text. */
		CHECK_STR_EQ(ev.text, "");
		CHECK(strstr(ev.reason, "SYN_DROPPED") || strstr(ev.reason, "torn"));
		refused = true;
	}
	CHECK(refused);
	CHECK_STR_EQ(ev.text, "2812345678901234");
	/* Later scans may still be in flight; each is exact too. */
	while (wait_event_rounds(s, &ev, 50) > 0)
		if (ev.cls != SCAN_CLASS_REJECTED)
			CHECK_STR_EQ(ev.text, "2812345678901234");
	scanner_free(s);
}

/* Another process holds the grab: "error" (it gets the scans, not us), then retried. */
static void
test_grab_refused(UMockdevTestbed *bed)
{
	struct scanner_config cfg;
	struct scanner *s = NULL;
	const char *nodes[8];
	bool grabbed[8];

	scanner_config_init(&cfg);
	cfg.match_vidpid = true;
	cfg.vid = 0x0c2e;
	cfg.pid = 0x0b61;
	cfg.interkey_timeout_usec = 2 * USEC_PER_SEC;
	refuse_grab = 1;
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	expect_state(s, SCANNER_STATE_ERROR);
	CHECK(scanner_get_deadline(s) != USEC_INFINITY); /* the retry */
	CHECK(scanner_evdev_nodes(s, nodes, grabbed, NULL, 8) >= 1);
	CHECK(!grabbed[0]);
	refuse_grab = 0;
	expect_state(s, SCANNER_STATE_PRESENT);
	type(bed, "/dev/input/event9", "2812345678901234");
	expect_code(s, "2812345678901234", SCAN_CLASS_ALIPAY);
	expect_quiet(s);
	scanner_free(s);
}

/* Reads fail with ENODEV on every node: "missing" without any udev event; back on "add". */
static void
test_enodev(UMockdevTestbed *bed)
{
	static const char *const syspaths[] = {
		"/sys/devices/pci0000:00/0000:00:14.0/usb1/1-5/1-5:1.0/0003:0C2E:0B61.0009/input/"
		"input9/event9",
		"/sys/devices/pci0000:00/0000:00:14.0/usb1/1-5/1-5:1.1/0003:0C2E:0B61.0002/input/"
		"input20/event20",
	};
	struct scanner *s = open_scanner(BYID, false, NULL);
	const char *nodes[8];
	bool grabbed[8];
	int fds[8];
	size_t n;

	expect_state(s, SCANNER_STATE_PRESENT);
	n = scanner_evdev_nodes(s, nodes, grabbed, fds, 8);
	CHECK_INT_EQ(n, 2);
	for (size_t i = 0; i < n; i++)
		enodev_fds[i] = fds[i];
	n_enodev_fds = n;
	/* Something to read, so the fds poll readable and the reads fail. */
	type(bed, "/dev/input/event9", "1");
	type(bed, "/dev/input/event20", "1");
	expect_state(s, SCANNER_STATE_MISSING);
	CHECK_INT_EQ(scanner_evdev_nodes(s, nodes, grabbed, NULL, 8), 0);
	n_enodev_fds = 0;
	for (size_t i = 0; i < 2; i++)
		umockdev_testbed_uevent(bed, syspaths[i], "add");
	expect_state(s, SCANNER_STATE_PRESENT);
	/* The buffered "1" keys are drained by the new grab; the next scan is exact. */
	type(bed, "/dev/input/event9", "2812345678901234");
	expect_code(s, "2812345678901234", SCAN_CLASS_ALIPAY);
	scanner_free(s);
}

/*
 * The output modes of wedge scanners in the field, on a device whose Num Lock LED is off (read
 * with EVIOCGLED): a scanner that presses Num Lock itself around keypad digits, Alt mode with
 * and without a leading 0, Ctrl+M as the suffix, a Caps Lock LED event, pauses of tens of ms
 * inside a code, and a scan torn by a longer pause.
 */
static void
test_wedge_modes(UMockdevTestbed *bed)
{
	static const uint16_t kp[10] = {KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4,
					KEY_KP5, KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9};
	static const uint16_t row[10] = {KEY_0, KEY_1, KEY_2, KEY_3, KEY_4,
					 KEY_5, KEY_6, KEY_7, KEY_8, KEY_9};
	const char *pay = "287654321098765430";
	struct evscript e = {.t = now_usec(CLOCK_MONOTONIC)};
	char desc[4096];

	ioctl_leds = 0x00; /* Num Lock and Caps Lock off */
	snprintf(desc, sizeof(desc), SCANNER_DESC_FMT, 14, 64 + 14, 10);
	add_device(bed, desc);
	load_ioctl(bed, "/dev/input/event14", "Datalogic Scanner", 0x05f9, 0x2214);
	/* The default inter-key timeout of 50 ms: gaps come from the events' timestamps, which
	 * a loaded machine does not stretch. */
	struct scanner_config cfg;
	struct scanner *s = NULL;
	scanner_config_init(&cfg);
	cfg.name = "modes";
	cfg.match_path = "/dev/input/event14";
	CHECK_INT_EQ(scanner_new(&cfg, &s), 0);
	expect_state(s, SCANNER_STATE_PRESENT);

	/* Keypad digits: with the LED off the scanner presses Num Lock first and after. */
	ev_tap(&e, KEY_NUMLOCK);
	for (const char *c = pay; *c; c++)
		ev_tap(&e, kp[*c - '0']);
	ev_tap(&e, KEY_NUMLOCK);
	ev_tap(&e, KEY_ENTER);
	ev_send(bed, "/dev/input/event14", s, &e);
	expect_code(s, pay, SCAN_CLASS_ALIPAY);

	/* The same keypad digits without the Num Lock press: refused, not "" or a shorter code. */
	for (const char *c = pay; *c; c++)
		ev_tap(&e, kp[*c - '0']);
	ev_tap(&e, KEY_ENTER);
	ev_send(bed, "/dev/input/event14", s, &e);
	expect_refused(s, "Num Lock off");

	/* Alt mode, OEM (no leading 0) and ANSI (leading 0) numbers, a 35 ms pause inside. */
	for (const char *c = pay; *c; c++) {
		char num[8];
		snprintf(num, sizeof(num), (c - pay) % 2 ? "0%d" : "%d", *c);
		ev_alt(&e, num);
		if (c - pay == 8)
			e.t += 35 * USEC_PER_MSEC;
	}
	ev_tap(&e, KEY_ENTER);
	ev_send(bed, "/dev/input/event14", s, &e);
	expect_code(s, pay, SCAN_CLASS_ALIPAY);

	/* Row digits with pauses of 30 and 40 ms, ended by Ctrl+M. */
	for (const char *c = pay; *c; c++) {
		ev_tap(&e, row[*c - '0']);
		if (c - pay == 5)
			e.t += 30 * USEC_PER_MSEC;
		if (c - pay == 11)
			e.t += 40 * USEC_PER_MSEC;
	}
	ev_key(&e, KEY_LEFTCTRL, 1);
	ev_tap(&e, KEY_M);
	ev_key(&e, KEY_LEFTCTRL, 0);
	ev_send(bed, "/dev/input/event14", s, &e);
	expect_code(s, pay, SCAN_CLASS_ALIPAY);

	/* Caps Lock turned on (the LED event the host sends): the same key gives upper case. */
	e.t += USEC_PER_MSEC;
	ev_add(&e, EV_LED, LED_CAPSL, 1);
	ev_add(&e, EV_SYN, SYN_REPORT, 0);
	ev_tap(&e, KEY_A);
	ev_tap(&e, KEY_B);
	ev_tap(&e, KEY_1);
	ev_tap(&e, KEY_ENTER);
	e.t += USEC_PER_MSEC;
	ev_add(&e, EV_LED, LED_CAPSL, 0);
	ev_add(&e, EV_SYN, SYN_REPORT, 0);
	ev_send(bed, "/dev/input/event14", s, &e);
	expect_code(s, "AB1", SCAN_CLASS_BARCODE);

	/* An 80 ms pause before the suffix: the scan is torn. Neither half is a code. */
	for (const char *c = pay; *c; c++) {
		ev_tap(&e, row[*c - '0']);
		if (c - pay == 6)
			e.t += 80 * USEC_PER_MSEC;
	}
	ev_tap(&e, KEY_ENTER);
	ev_send(bed, "/dev/input/event14", s, &e);
	expect_refused(s, "torn");
	expect_refused(s, "torn");
	/* The next scan is whole again. */
	for (const char *c = pay; *c; c++)
		ev_tap(&e, row[*c - '0']);
	ev_tap(&e, KEY_ENTER);
	ev_send(bed, "/dev/input/event14", s, &e);
	expect_code(s, pay, SCAN_CLASS_ALIPAY);
	expect_quiet(s);
	scanner_free(s);
}

int
main(void)
{
	UMockdevTestbed *bed;

	const char *preload = getenv("LD_PRELOAD");
	if (!preload || !strstr(preload, "umockdev-preload")) {
		fprintf(stderr, "run this under umockdev-wrapper\n");
		return 1; /* CI has umockdev: a missing wrapper is a failure, not a skip */
	}
	CHECK(mkdtemp(tmpdir));
	bed = umockdev_testbed_new();
	add_device(bed, roothub_desc);
	add_scanner(bed, 7);
	add_device(bed, keyboard_desc);
	load_ioctl(bed, "/dev/input/event3", "AT Translated Set 2 keyboard", 0x0001, 0x0001);

	test_rule(bed, BYID, false, NULL);
	test_rule(bed, "/dev/input/event7", false, NULL);
	test_rule(bed, NULL, true, NULL);
	test_rule(bed, NULL, false, "Honeywell*Scanner");
	test_no_match();
	test_hotplug(bed);
	test_sibling(bed);
	test_syn_dropped(bed);
	test_grab_after_release(bed);
	test_grab_refused(bed);
	test_enodev(bed);
	test_wedge_modes(bed);

	g_object_unref(bed);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	CHECK(system(cmd) == 0);
	printf("evdev umockdev tests passed\n");
	return 0;
}
