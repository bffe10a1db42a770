/* SPDX-License-Identifier: MIT */
/* Lists the devices that could be scanners, for an installer checking a terminal. */
#include <errno.h>
#include <libusb.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "drivers/scanner/scanner-private.h"

/* Listing stops here whatever is plugged in (doc/style.md §5: number of devices is bounded). */
#define SCANNER_LIST_MAX 256

static int
list_udev(enum scanner_kind kind, scanner_list_fn fn, void *userdata)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	_cleanup_(udev_enumerate_unrefp) struct udev_enumerate *en = NULL;
	struct udev_list_entry *l;
	int n = 0;

	if (!udev)
		return -ENOMEM;
	en = udev_enumerate_new(udev);
	if (!en)
		return -ENOMEM;
	if (kind == SCANNER_KIND_EVDEV) {
		(void)udev_enumerate_add_match_subsystem(en, "input");
		(void)udev_enumerate_add_match_sysname(en, "event*");
		(void)udev_enumerate_add_match_property(en, "ID_INPUT_KEY", "1");
	} else {
		(void)udev_enumerate_add_match_subsystem(en, "tty");
		(void)udev_enumerate_add_match_sysname(en, "ttyACM*");
	}
	if (udev_enumerate_scan_devices(en) < 0)
		return -EIO;
	if (kind == SCANNER_KIND_SERIAL) {
		(void)udev_enumerate_add_match_sysname(en, "ttyUSB*");
		if (udev_enumerate_scan_devices(en) < 0)
			return -EIO;
	}
	udev_list_entry_foreach(l, udev_enumerate_get_list_entry(en))
	{
		_cleanup_(udev_device_unrefp) struct udev_device *d =
			udev_device_new_from_syspath(udev, udev_list_entry_get_name(l));
		uint16_t vid = 0, pid = 0;
		const char *name;

		if (!d || !udev_device_get_devnode(d) || n >= SCANNER_LIST_MAX)
			continue;
		(void)scanner_udev_vidpid(d, &vid, &pid);
		name = kind == SCANNER_KIND_EVDEV ? scanner_udev_input_name(d)
						  : udev_device_get_property_value(d, "ID_MODEL");
		fn(kind, udev_device_get_devnode(d), vid, pid, strempty(name), userdata);
		n++;
	}
	return n;
}

static int
list_usb(scanner_list_fn fn, void *userdata)
{
	libusb_context *ctx;
	libusb_device **list;
	ssize_t n;
	int listed = 0;

	if (libusb_init(&ctx) < 0)
		return -EIO;
	n = libusb_get_device_list(ctx, &list);
	if (n < 0) {
		libusb_exit(ctx);
		return -EIO;
	}
	for (ssize_t i = 0; i < n && listed < SCANNER_LIST_MAX; i++) {
		struct libusb_config_descriptor *cfg;
		struct libusb_device_descriptor d;
		bool hid = false;
		char node[32];

		if (libusb_get_device_descriptor(list[i], &d) < 0 ||
		    libusb_get_config_descriptor(list[i], 0, &cfg) < 0)
			continue;
		for (int k = 0; k < cfg->bNumInterfaces; k++)
			if (cfg->interface[k].num_altsetting > 0 &&
			    cfg->interface[k].altsetting[0].bInterfaceClass == LIBUSB_CLASS_HID)
				hid = true;
		libusb_free_config_descriptor(cfg);
		if (!hid)
			continue;
		snprintf(node, sizeof(node), "usb:%03u:%03u", libusb_get_bus_number(list[i]),
			 libusb_get_device_address(list[i]));
		fn(SCANNER_KIND_HIDPOS, node, d.idVendor, d.idProduct, "HID interface", userdata);
		listed++;
	}
	libusb_free_device_list(list, 1);
	libusb_exit(ctx);
	return listed;
}

int
scanner_list(enum scanner_kind kind, scanner_list_fn fn, void *userdata)
{
	switch (kind) {
	case SCANNER_KIND_EVDEV:
	case SCANNER_KIND_SERIAL:
		return list_udev(kind, fn, userdata);
	case SCANNER_KIND_HIDPOS:
		return list_usb(fn, userdata);
	case _SCANNER_KIND_MAX:
		break;
	}
	return -EINVAL;
}

int
scanner_config_describe(const struct scanner_config *cfg, char *buf, size_t size)
{
	char vidpid[32] = "";
	int n;

	if (cfg->match_vidpid)
		snprintf(vidpid, sizeof(vidpid), "usb_id %04x:%04x", cfg->vid, cfg->pid);
	n = snprintf(
		buf, size, "%s scanner matching %s%s%s%s%s%s%s", scanner_kind_to_string(cfg->kind),
		!isempty(cfg->match_path)
			? (cfg->kind == SCANNER_KIND_SERIAL ? "device " : "by_id ")
			: "",
		strempty(cfg->match_path),
		!isempty(cfg->match_path) && (vidpid[0] || !isempty(cfg->match_name)) ? ", " : "",
		vidpid, vidpid[0] && !isempty(cfg->match_name) ? ", " : "",
		!isempty(cfg->match_name) ? "name_pattern " : "", strempty(cfg->match_name));
	return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

struct usb_find {
	const struct scanner_config *cfg;
	char *node;
	size_t size;
	bool found;
};

static void
usb_find_one(enum scanner_kind kind, const char *node, uint16_t vid, uint16_t pid, const char *name,
	     void *userdata)
{
	struct usb_find *f = userdata;

	if (f->found || vid != f->cfg->vid || pid != f->cfg->pid)
		return;
	snprintf(f->node, f->size, "%s", node);
	f->found = true;
}

/* Finds a device by VID:PID among the USB HID devices (HID-POS scanners are HID). */
static int
find_usb(const struct scanner_config *cfg, char *ret_node, size_t size)
{
	struct usb_find f = {.cfg = cfg, .node = ret_node, .size = size};
	int r = list_usb(usb_find_one, &f);

	return r < 0 ? r : f.found;
}

int
scanner_find(const struct scanner_config *cfg, char *ret_node, size_t size)
{
	_cleanup_(udev_unrefp) struct udev *udev = NULL;
	_cleanup_(udev_enumerate_unrefp) struct udev_enumerate *en = NULL;
	struct udev_list_entry *l;
	int seen = 0;

	if (cfg->kind == SCANNER_KIND_HIDPOS)
		return cfg->match_vidpid ? find_usb(cfg, ret_node, size) : -EINVAL;
	/* A serial scanner named by its device node is opened by that path (as the driver does). */
	if (cfg->kind == SCANNER_KIND_SERIAL && !isempty(cfg->match_path) && !cfg->match_vidpid) {
		if (access(cfg->match_path, F_OK) < 0)
			return 0;
		snprintf(ret_node, size, "%s", cfg->match_path);
		return 1;
	}
	udev = udev_new();
	if (!udev)
		return -ENOMEM;
	en = udev_enumerate_new(udev);
	if (!en)
		return -ENOMEM;
	(void)udev_enumerate_add_match_subsystem(en,
						 cfg->kind == SCANNER_KIND_EVDEV ? "input" : "tty");
	if (udev_enumerate_scan_devices(en) < 0)
		return -EIO;
	udev_list_entry_foreach(l, udev_enumerate_get_list_entry(en))
	{
		_cleanup_(udev_device_unrefp) struct udev_device *d =
			udev_device_new_from_syspath(udev, udev_list_entry_get_name(l));

		if (++seen > SCANNER_LIST_MAX)
			break;
		if (!d || !scanner_udev_match(cfg, d))
			continue;
		snprintf(ret_node, size, "%s", udev_device_get_devnode(d));
		return 1;
	}
	return 0;
}
