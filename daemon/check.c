/* SPDX-License-Identifier: MIT */
/* The checks the service and --check-config share: keys and devices, in the operator's words. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/check.h"
#include "daemon/manager-private.h" /* scanner_config_from() */
#include "drivers/display/display-module.h"
#include "payment/keys.h"

typedef int (*key_setter)(struct alipay_keys *k, const char *text, size_t len);

struct key_file {
	const char *resolved, *origin;
	key_setter set;
	const char *what; /* what must be in the file, and where it comes from */
};

/* Reads one file into the set; on failure says which file and what belongs in it. */
static int
key_file_load(struct alipay_keys *k, const struct key_file *f)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	r = alipay_file_read(f->resolved, ALIPAY_KEY_FILE_MAX, &text, &len);
	if (r < 0)
		return log_error_errno(r, "Cannot read %s: %m", f->origin);
	r = f->set(k, text, len);
	explicit_bzero(text, len);
	free(text);
	if (r == -EKEYREJECTED)
		return log_error_errno(
			r,
			"%s holds the app's own public key: replace it with the "
			"Alipay public key shown in the Alipay open platform console "
			"(the app's key settings, \"Alipay public key\")",
			f->origin);
	if (r < 0)
		return log_error_errno(r, "%s: put %s there", f->origin, f->what);
	return 0;
}

int
check_keys(const struct config *c)
{
	const struct config_alipay *a = &c->alipay;
	struct alipay_keys *k = NULL;
	const struct key_file files[] = {
		{a->app_private_key_resolved, a->app_private_key_origin,
		 alipay_keys_set_app_private_key,
		 "the app private key you generated for this app (RSA, PKCS#8 or PKCS#1, PEM or "
		 "base64)"},
		{a->alipay_public_key_resolved, a->alipay_public_key_origin,
		 alipay_keys_set_alipay_public_key,
		 "the Alipay public key shown in the Alipay open platform console (base64 starting "
		 "MIIBIjAN, or PEM), never a private key"},
		{a->app_cert_resolved, a->app_cert_origin, alipay_keys_set_app_cert,
		 "the app certificate (appCertPublicKey_*.crt) downloaded from the Alipay open "
		 "platform"},
		{a->alipay_cert_resolved, a->alipay_cert_origin, alipay_keys_set_alipay_cert,
		 "the Alipay certificate (alipayCertPublicKey_RSA2.crt) downloaded from the Alipay "
		 "open platform"},
		{a->alipay_root_cert_resolved, a->alipay_root_cert_origin,
		 alipay_keys_set_alipay_root_cert,
		 "the Alipay root certificate bundle (alipayRootCert.crt) downloaded from the "
		 "Alipay open platform"},
	};
	int r;

	r = alipay_keys_new(&k);
	if (r < 0)
		return log_error_errno(r, "Out of memory");
	for (size_t i = 0; i < ELEMENTSOF(files) && r >= 0; i++)
		if (files[i].resolved)
			r = key_file_load(k, &files[i]);
	if (r >= 0) {
		r = alipay_keys_check(k);
		if (r < 0)
			log_error("Check the key files named in [alipay] of %s", c->source);
	}
	alipay_keys_free(k);
	return r < 0 ? r : 0;
}

/*
 * Whether f2fpayd can create files in the folder of path (the PNG is written beside it), and
 * whether that folder is in memory (tmpfs, ramfs) rather than on a disk.
 */
static int
check_png_folder(const char *path, bool *ret_in_memory)
{
	_cleanup_free_ char *tmp = NULL;
	const char *slash = strrchr(path, '/');
	struct statfs sf;
	int fd;

	if (asprintf(&tmp, "%.*s/.f2fpayd-check.XXXXXX", (int)(slash ? slash - path : 0), path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_in_memory = fstatfs(fd, &sf) < 0 || sf.f_type == TMPFS_MAGIC ||
			 sf.f_type == RAMFS_MAGIC; /* unknown: no advice */
	close(fd);
	(void)unlink(tmp);
	return 0;
}

/* One configured display: can the daemon's user reach it? Returns the problems found. */
static unsigned
check_display(const struct config_display_output *o)
{
	unsigned problems = 0;
	bool in_memory = true;
	int r;

	switch (o->backend) {
	case CONFIG_DISPLAY_PNG:
		r = check_png_folder(o->target, &in_memory);
		if (r == -EROFS) {
			problems++;
			log_warning(
				"Display png:%s: cannot write there: read-only file system. "
				"f2fpayd.service writes only to its own folders (/var/lib/f2fpay, "
				"/run/f2fpay): put the PNG under /run/f2fpay, or allow its folder "
				"with `systemctl edit f2fpayd` and [Service] ReadWritePaths=",
				o->target);
		} else if (r < 0) {
			problems++;
			log_warning_errno(
				r,
				"Display png:%s: cannot create files in its folder: %m. The "
				"folder must exist and be writable by the daemon's user",
				o->target);
		} else if (!in_memory)
			/* Advice, not a problem: it works, at a cost. */
			log_notice(
				"Display png:%s: its folder is on a disk, where creating and "
				"renaming each frame's file costs about 1 ms of the kernel's time "
				"more than in memory: unless the picture must outlive a reboot, "
				"put it under /run/f2fpay (tmpfs)",
				o->target);
		break;
	case CONFIG_DISPLAY_FB:
		if (access(o->target, W_OK) < 0) {
			problems++;
			log_warning_errno(
				errno,
				"Display fb:%s: cannot be opened for writing: %m. Is it "
				"the right framebuffer, and is the daemon's user in group "
				"video?",
				o->target);
		}
		break;
	case CONFIG_DISPLAY_POLE:
		if (access(o->target, R_OK | W_OK) < 0) {
			problems++;
			log_warning_errno(errno,
					  "Display pole:%s: cannot be opened: %m. Is it the right "
					  "serial port, and is it tagged F2FPAY_DISPLAY for udev "
					  "(doc/display.md §3)?",
					  o->target);
		}
		break;
	case CONFIG_DISPLAY_NONE:
	case CONFIG_DISPLAY_TTY:
	case CONFIG_DISPLAY_WEB:
		break;
	}
	return problems;
}

unsigned
check_devices(const struct config *c, unsigned flags)
{
	unsigned problems = 0;
	int r;

	for (size_t i = 0; (flags & CHECK_SCANNERS) && i < c->n_scanners; i++) {
		struct scanner_config sc;
		char node[256], rule[512];

		scanner_config_from(&c->scanners[i], &sc);
		if (scanner_config_describe(&sc, rule, sizeof(rule)) < 0)
			snprintf(rule, sizeof(rule), "matching device");
		r = scanner_find(&sc, node, sizeof(node));
		if (r > 0) {
			log_info("Scanner %s: %s found at %s", sc.name, rule, node);
			continue;
		}
		problems++;
		if (r < 0)
			log_warning_errno(r, "Scanner %s: cannot look for a %s: %m", sc.name, rule);
		else
			log_warning(
				"Scanner %s: missing: no %s is plugged in. Plug it in, or "
				"compare [scanner %s] with what `f2fpayd --list-scanners` shows",
				sc.name, rule, sc.name);
	}

	/* The backends are a module of their own: a display cannot work without it. */
	if ((flags & CHECK_DISPLAY) && c->display.n_outputs > 0 && display_module_load() < 0) {
		problems++;
		log_warning("Display: the display module is missing or from another version: "
			    "reinstall f2fpayd");
	}
	for (unsigned i = 0; (flags & CHECK_DISPLAY) && i < c->display.n_outputs; i++)
		problems += check_display(&c->display.outputs[i]);
	return problems;
}
