/* SPDX-License-Identifier: MIT */
/* The kind-independent scanner handle: config copy, epoll set, event queue, states. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "drivers/scanner/scanner-private.h"

static int
strdup_opt(const char *in, char **out, const char **cfg_field)
{
	*out = NULL;
	if (in) {
		*out = strdup(in);
		if (!*out)
			return -ENOMEM;
	}
	*cfg_field = *out;
	return 0;
}

static int
scanner_config_validate(const struct scanner_config *c)
{
	const char *n = strempty(c->name);

	if ((unsigned)c->kind >= _SCANNER_KIND_MAX || (unsigned)c->suffix >= _SCANNER_SUFFIX_MAX ||
	    (unsigned)c->framing >= _SCANNER_FRAMING_MAX ||
	    (unsigned)c->prefix >= _SCANNER_PREFIX_MAX ||
	    (unsigned)c->report_layout >= _SCANNER_REPORT_MAX)
		return log_error_errno(EINVAL,
				       "Scanner %s: invalid kind, suffix, framing or prefix", n);
	if (isempty(c->match_path) && !c->match_vidpid && isempty(c->match_name))
		return log_error_errno(EINVAL, "Scanner %s: no match rule (path, vidpid or name)",
				       n);
	if (c->kind == SCANNER_KIND_HIDPOS && !c->match_vidpid)
		return log_error_errno(EINVAL, "Scanner %s: hidpos scanners are matched by vidpid",
				       n);
	if (c->max_len > SCAN_CODE_MAX)
		return log_error_errno(EINVAL, "Scanner %s: max_len %zu is above %d", n, c->max_len,
				       SCAN_CODE_MAX);
	if (c->interkey_timeout_usec > 10 * USEC_PER_SEC)
		return log_error_errno(EINVAL, "Scanner %s: inter-key timeout above 10 s", n);
	if (c->idle_gap_usec > 10 * USEC_PER_SEC)
		return log_error_errno(EINVAL, "Scanner %s: idle gap above 10 s", n);
	if (c->kind == SCANNER_KIND_SERIAL && c->framing == SCANNER_FRAMING_NONE &&
	    c->idle_gap_usec == 0)
		return log_error_errno(EINVAL, "Scanner %s: framing none needs an idle gap", n);
	return 0;
}

int
scanner_new(const struct scanner_config *cfg, struct scanner **ret)
{
	struct scanner *s;
	int r;

	r = scanner_config_validate(cfg);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->epoll_fd = -1;
	s->cfg = *cfg;
	if (s->cfg.max_len == 0)
		s->cfg.max_len = 256;
	if (strdup_opt(cfg->name ? cfg->name : "scanner", &s->name, &s->cfg.name) < 0 ||
	    strdup_opt(cfg->match_path, &s->match_path, &s->cfg.match_path) < 0 ||
	    strdup_opt(cfg->match_name, &s->match_name, &s->cfg.match_name) < 0 ||
	    strdup_opt(cfg->layout ? cfg->layout : "us", &s->layout, &s->cfg.layout) < 0 ||
	    strdup_opt(cfg->variant, &s->variant, &s->cfg.variant) < 0) {
		scanner_free(s);
		return -ENOMEM;
	}
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0) {
		r = log_error_errno(errno, "Failed to create epoll fd: %m");
		scanner_free(s);
		return r;
	}
	switch (s->cfg.kind) {
	case SCANNER_KIND_EVDEV:
		s->driver = &scanner_driver_evdev;
		break;
	case SCANNER_KIND_SERIAL:
		s->driver = &scanner_driver_serial;
		break;
	case SCANNER_KIND_HIDPOS:
		s->driver = &scanner_driver_hidpos;
		break;
	case _SCANNER_KIND_MAX:
		scanner_free(s);
		return -EINVAL;
	}
	r = s->driver->start(s, now_usec(CLOCK_MONOTONIC));
	if (r < 0) {
		scanner_free(s);
		return r;
	}
	if (!s->state_reported)
		scanner_set_state(s, s->state, NULL); /* the daemon learns the first state too */
	*ret = s;
	return 0;
}

struct scanner *
scanner_free(struct scanner *s)
{
	if (!s)
		return NULL;
	if (s->driver)
		s->driver->free(s);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	explicit_bzero(s->queue, sizeof(s->queue));
	free(s->name);
	free(s->match_path);
	free(s->match_name);
	free(s->layout);
	free(s->variant);
	free(s);
	return NULL;
}

int
scanner_get_fd(const struct scanner *s)
{
	return s->epoll_fd;
}

usec_t
scanner_get_deadline(const struct scanner *s)
{
	return s->driver->deadline(s);
}

int
scanner_process(struct scanner *s, usec_t now)
{
	struct epoll_event evs[16];
	int n;

	n = epoll_wait(s->epoll_fd, evs, ELEMENTSOF(evs), 0);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return log_error_errno(errno, "Scanner %s: epoll_wait failed: %m", s->name);
	}
	/* Readable fds first: keys already queued belong to the code before its timeout runs. */
	for (int i = 0; i < n; i++) {
		struct scanner_watch *w = evs[i].data.ptr;
		if (w && w->fn)
			(void)w->fn(s, w, evs[i].events, now);
	}
	if (now >= s->driver->deadline(s))
		(void)s->driver->timeout(s, now);
	return 0;
}

int
scanner_next_event(struct scanner *s, struct scanner_event *ret)
{
	if (s->queue_len == 0)
		return 0;
	*ret = s->queue[s->queue_head];
	explicit_bzero(&s->queue[s->queue_head], sizeof(s->queue[0]));
	s->queue_head = (s->queue_head + 1) % SCANNER_QUEUE_MAX;
	s->queue_len--;
	return 1;
}

void
scanner_set_raw_tap(struct scanner *s, scanner_raw_fn fn, void *userdata)
{
	s->raw_fn = fn;
	s->raw_userdata = userdata;
}

enum scanner_state
scanner_get_state(const struct scanner *s)
{
	return s->state;
}

const struct scanner_config *
scanner_get_config(const struct scanner *s)
{
	return &s->cfg;
}

int
scanner_watch_add(struct scanner *s, struct scanner_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	if (w->added)
		return 0;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return log_error_errno(errno, "Scanner %s: failed to watch fd %d: %m", s->name,
				       w->fd);
	w->added = true;
	return 0;
}

void
scanner_watch_del(struct scanner *s, struct scanner_watch *w)
{
	if (!w->added)
		return;
	(void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
	w->added = false;
}

static struct scanner_event *
scanner_queue_push(struct scanner *s, size_t limit)
{
	struct scanner_event *e;

	if (s->queue_len >= limit) {
		log_warning("Scanner %s: event queue full, an event was dropped", s->name);
		return NULL;
	}
	e = &s->queue[(s->queue_head + s->queue_len) % SCANNER_QUEUE_MAX];
	s->queue_len++;
	memset(e, 0, sizeof(*e));
	return e;
}

void
scanner_emit_code(struct scanner *s, const struct scan_code *in)
{
	struct scanner_event *e;
	struct scan_code c = *in;
	enum scan_class cls;
	const char *why;

	scan_code_strip_prefix(&c, s->cfg.prefix);
	why = c.overflow ? "too long" : c.reject ? c.reject : NULL;
	cls = why ? SCAN_CLASS_REJECTED : scan_code_classify(c.text, c.len, s->cfg.max_len);
	if (cls == SCAN_CLASS_REJECTED && !why)
		why = "control characters or empty";
	if (cls == SCAN_CLASS_REJECTED)
		/* Never the text: it may be most of a payment code. */
		log_notice("Scanner %s: refused a code: %s", s->name, why);
	e = scanner_queue_push(s, SCANNER_QUEUE_CODES_MAX);
	if (!e) {
		explicit_bzero(&c, sizeof(c));
		return;
	}
	e->type = SCANNER_EVENT_CODE;
	e->cls = cls;
	if (why)
		snprintf(e->reason, sizeof(e->reason), "%s", why);
	if (cls != SCAN_CLASS_REJECTED) {
		memcpy(e->text, c.text, c.len);
		e->text[c.len] = 0;
		e->len = c.len;
		memcpy(e->aim, c.aim, sizeof(e->aim));
		e->aim[sizeof(e->aim) - 1] = 0;
	}
	explicit_bzero(&c, sizeof(c));
}

void
scanner_set_state(struct scanner *s, enum scanner_state st, const char *device)
{
	struct scanner_event *e;

	if (s->state_reported && s->state == st)
		return;
	s->state = st;
	s->state_reported = true;
	if (st == SCANNER_STATE_PRESENT)
		log_info("Scanner %s: %s present", s->name, strempty(device));
	else
		log_notice("Scanner %s: %s", s->name, scanner_state_to_string(st));
	e = scanner_queue_push(s, SCANNER_QUEUE_MAX);
	if (!e)
		return;
	e->type = SCANNER_EVENT_STATE;
	e->state = st;
	snprintf(e->device, sizeof(e->device), "%s", strempty(device));
}

usec_t
scanner_backoff_next(usec_t cur)
{
	if (cur < SCANNER_BACKOFF_MIN_USEC)
		return SCANNER_BACKOFF_MIN_USEC;
	return MIN(cur * 2, SCANNER_BACKOFF_MAX_USEC);
}

const char *
scanner_udev_usb_parent(struct udev_device *dev)
{
	struct udev_device *p =
		udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device");
	return p ? udev_device_get_syspath(p) : NULL;
}

const char *
scanner_udev_input_name(struct udev_device *dev)
{
	struct udev_device *p = udev_device_get_parent_with_subsystem_devtype(dev, "input", NULL);
	const char *name = NULL;

	if (p)
		name = udev_device_get_sysattr_value(p, "name");
	return name;
}

static int
parse_hex16(const char *s, uint16_t *ret)
{
	char *end;
	unsigned long v;

	if (!s || !*s)
		return -ENOENT;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || *end || v > 0xffff)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

int
scanner_udev_vidpid(struct udev_device *dev, uint16_t *ret_vid, uint16_t *ret_pid)
{
	uint16_t v, p;

	if (parse_hex16(udev_device_get_property_value(dev, "ID_VENDOR_ID"), &v) == 0 &&
	    parse_hex16(udev_device_get_property_value(dev, "ID_MODEL_ID"), &p) == 0) {
		*ret_vid = v;
		*ret_pid = p;
		return 0;
	}
	struct udev_device *u =
		udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device");
	if (u && parse_hex16(udev_device_get_sysattr_value(u, "idVendor"), &v) == 0 &&
	    parse_hex16(udev_device_get_sysattr_value(u, "idProduct"), &p) == 0) {
		*ret_vid = v;
		*ret_pid = p;
		return 0;
	}
	return -ENOENT;
}

static bool
path_matches(const char *want, struct udev_device *dev)
{
	const char *node = udev_device_get_devnode(dev);
	struct udev_list_entry *l;

	if (STR_EQ_PTR(node, want))
		return true;
	udev_list_entry_foreach(l, udev_device_get_devlinks_list_entry(dev))
	{
		if (STR_EQ_PTR(udev_list_entry_get_name(l), want))
			return true;
	}
	/* Where the udev database is not readable, the DEVLINKS property still lists them. */
	const char *links = udev_device_get_property_value(dev, "DEVLINKS");
	size_t n = strlen(want);
	for (const char *p = links; p && *p;) {
		const char *end = strchrnul(p, ' ');
		if ((size_t)(end - p) == n && strncmp(p, want, n) == 0)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

bool
scanner_udev_match(const struct scanner_config *cfg, struct udev_device *dev)
{
	if (!udev_device_get_devnode(dev))
		return false;
	if (!isempty(cfg->match_path) && !path_matches(cfg->match_path, dev))
		return false;
	if (cfg->match_vidpid) {
		uint16_t v, p;
		if (scanner_udev_vidpid(dev, &v, &p) < 0 || v != cfg->vid || p != cfg->pid)
			return false;
	}
	if (!isempty(cfg->match_name)) {
		const char *name = scanner_udev_input_name(dev);
		if (!name || fnmatch(cfg->match_name, name, 0) != 0)
			return false;
	}
	return true;
}
