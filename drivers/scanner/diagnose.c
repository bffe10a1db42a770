/* SPDX-License-Identifier: MIT */
/* Diagnosis of one scan: raw dump, decoding with candidate settings, recommended config. */
#include <errno.h>
#include <libevdev/libevdev.h>
#include <linux/input.h>
#include <string.h>

#include "common/macro.h"
#include "drivers/scanner/diagnose.h"
#include "drivers/scanner/hidpos-report.h"
#include "drivers/scanner/keyasm.h"
#include "drivers/scanner/serial-frame.h"

/* Layouts tried, in this order, when the expected text is given. */
static const char *const layouts[] = {"us", "de", "fr", "gb", "es", "it",    "ch", "be",
				      "pt", "se", "no", "dk", "jp", "latam", "br"};

void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
	d->led_num = d->led_caps = -1;
}

void
diag_record(const struct scanner_raw *raw, void *userdata)
{
	struct diag *d = userdata;
	size_t off = 0;

	if (raw->kind == SCANNER_RAW_EVENT && raw->type == EV_LED) {
		if (raw->code == LED_NUML)
			d->led_num = raw->value;
		else if (raw->code == LED_CAPSL)
			d->led_caps = raw->value;
		if (!d->started)
			return; /* the state on open, not part of the scan */
	}
	if (raw->kind == SCANNER_RAW_EVENT && raw->type == EV_SYN && !d->started)
		return;
	do {
		if (d->n >= DIAG_ITEMS_MAX)
			return;
		struct diag_item *it = &d->items[d->n++];
		*it = (struct diag_item){.kind = raw->kind,
					 .t = raw->t,
					 .type = raw->type,
					 .code = raw->code,
					 .value = raw->value};
		if (raw->data) {
			it->len = MIN(raw->len - off, (size_t)DIAG_REPORT_MAX);
			memcpy(it->data, raw->data + off, it->len);
			off += it->len;
		}
	} while (raw->data && off < raw->len && raw->kind == SCANNER_RAW_BYTES);
	d->started = true;
	d->last = raw->t;
}

static void
print_escaped(FILE *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r')
			fputs("\\r", out);
		else if (p[i] == '\n')
			fputs("\\n", out);
		else if (p[i] == '\\')
			fputs("\\\\", out);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], out);
		else
			fprintf(out, "\\x%02x", p[i]);
	}
}

static void
print_raw(const struct diag *d, FILE *out)
{
	usec_t t0 = d->n ? d->items[0].t : 0;

	fprintf(out, "raw input (%zu items):\n", d->n);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag_item *it = &d->items[i];
		double ms = (double)(it->t - t0) / 1000.0;

		switch (it->kind) {
		case SCANNER_RAW_EVENT:
			if (it->type == EV_SYN && it->code == SYN_REPORT)
				continue;
			fprintf(out, "  %+9.1f ms  %-22s %s\n", ms,
				strempty(libevdev_event_code_get_name(it->type, it->code)),
				it->type == EV_KEY ? (it->value == 1   ? "down"
						      : it->value == 0 ? "up"
								       : "repeat")
				: it->value        ? "on"
						   : "off");
			break;
		case SCANNER_RAW_BYTES:
			fprintf(out, "  %+9.1f ms  %zu bytes  \"", ms, it->len);
			print_escaped(out, it->data, it->len);
			fputs("\"\n", out);
			break;
		case SCANNER_RAW_REPORT:
			fprintf(out, "  %+9.1f ms  report of %zu bytes:", ms, it->len);
			for (size_t k = 0; k < it->len; k++)
				fprintf(out, "%s%02x", k % 16 == 0 ? "\n    " : " ", it->data[k]);
			fputc('\n', out);
			break;
		}
	}
}

/* The prefix that turns text into expect, or -1; without expect, what the text looks like. */
static int
guess_prefix(const struct scan_code *c, const char *expect)
{
	struct scan_code t;

	if (!expect) {
		t = *c;
		scan_code_strip_prefix(&t, SCANNER_PREFIX_AIM);
		return t.reject ? SCANNER_PREFIX_NONE : SCANNER_PREFIX_AIM;
	}
	for (int p = 0; p < _SCANNER_PREFIX_MAX; p++) {
		t = *c;
		scan_code_strip_prefix(&t, (enum scanner_prefix)p);
		if (!t.reject && !t.overflow && STR_EQ(t.text, expect))
			return p;
	}
	return -1;
}

struct result {
	struct scan_code code;
	bool have;
	int prefix;
};

static void
print_result(FILE *out, const struct result *r)
{
	struct scan_code c = r->code;

	scan_code_strip_prefix(&c, r->prefix < 0 ? SCANNER_PREFIX_NONE : r->prefix);
	if (c.reject || c.overflow) {
		fprintf(out, "decoded: refused (%s)\n", c.overflow ? "too long" : c.reject);
		return;
	}
	fputs("decoded: \"", out);
	print_escaped(out, (const uint8_t *)c.text, c.len);
	fprintf(out, "\" (%s)%s%s\n", scan_class_to_string(scan_code_classify(c.text, c.len, 0)),
		c.aim[0] ? " symbology " : "", c.aim);
}

/* Decodes the captured key events in a layout; the first code (or refusal) in *ret. */
static bool
decode_keys(const struct diag *d, const char *layout, enum scanner_suffix suffix, usec_t timeout,
	    struct scan_code *ret)
{
	struct keyasm_config kc = {.layout = layout,
				   .suffix = suffix,
				   .interkey_timeout_usec = timeout,
				   .max_len = SCAN_CODE_MAX};
	struct keyasm *ka;
	struct scan_code c;
	bool got = false;

	if (keyasm_new(&kc, &ka) < 0)
		return false;
	keyasm_set_leds(ka, d->led_num, d->led_caps);
	for (size_t i = 0; i < d->n && !got; i++) {
		const struct diag_item *it = &d->items[i];
		if (keyasm_timeout(ka, it->t, &c) > 0)
			got = true;
		else if (keyasm_feed(ka, it->type, it->code, it->value, it->t, &c) > 0)
			got = true;
	}
	if (!got && keyasm_timeout(ka, USEC_INFINITY - 1, &c) > 0)
		got = true;
	keyasm_free(ka);
	if (got)
		*ret = c;
	return got;
}

static int
diag_evdev(const struct diag *d, const struct scanner_config *cfg, const char *expect, FILE *out)
{
	enum scanner_suffix suffix = SCANNER_SUFFIX_NONE;
	usec_t last_press = 0, max_gap = 0;
	bool alt = false, numlock = false, first = true;

	for (size_t i = 0; i < d->n; i++) {
		const struct diag_item *it = &d->items[i];
		if (it->type != EV_KEY || it->value != 1)
			continue;
		if (it->code == KEY_LEFTALT)
			alt = true;
		if (it->code == KEY_NUMLOCK)
			numlock = true;
		if (!first && it->t - last_press > max_gap)
			max_gap = it->t - last_press;
		first = false;
		last_press = it->t;
		suffix = it->code == KEY_ENTER     ? SCANNER_SUFFIX_ENTER
			 : it->code == KEY_KPENTER ? SCANNER_SUFFIX_KP_ENTER
			 : it->code == KEY_TAB     ? SCANNER_SUFFIX_TAB
						   : SCANNER_SUFFIX_NONE;
	}
	/* Twice the longest pause seen inside the scan, in steps of 10 ms, 50 ms at least. */
	usec_t timeout = MAX((usec_t)50 * USEC_PER_MSEC, (2 * max_gap + 10 * USEC_PER_MSEC - 1) /
								 (10 * USEC_PER_MSEC) *
								 (10 * USEC_PER_MSEC));
	timeout = MIN(timeout, 2 * USEC_PER_SEC);
	fprintf(out, "lock LEDs: Num Lock %s, Caps Lock %s\n",
		d->led_num < 0 ? "unknown"
		: d->led_num   ? "on"
			       : "off",
		d->led_caps < 0 ? "unknown"
		: d->led_caps   ? "on"
				: "off");
	fprintf(out, "longest pause inside the scan: %.1f ms\n", (double)max_gap / 1000.0);

	struct result r = {.prefix = -1};
	const char *layout = cfg->layout ? cfg->layout : "us";
	if (expect) {
		for (size_t i = 0; i < ELEMENTSOF(layouts) && r.prefix < 0; i++)
			if (decode_keys(d, layouts[i], suffix, timeout, &r.code)) {
				r.have = true;
				r.prefix = guess_prefix(&r.code, expect);
				layout = layouts[i];
			}
	}
	if (r.prefix < 0) {
		layout = cfg->layout ? cfg->layout : "us";
		r.have = decode_keys(d, layout, suffix, timeout, &r.code);
		r.prefix = r.have && !expect ? guess_prefix(&r.code, NULL) : -1;
	}
	if (!r.have) {
		fputs("decoded: nothing\n", out);
		return -EBADMSG;
	}
	print_result(out, &r);
	fprintf(out, "mode: %s%s\n",
		alt ? "Alt mode (Alt + keypad digits: decoded whatever the layout)" : "key codes",
		numlock ? ", the scanner presses Num Lock itself" : "");
	fputs("recommended:\n  kind = evdev\n", out);
	fprintf(out, "  layout = %s\n  suffix = %s\n  interkey_timeout = %llums\n  prefix = %s\n",
		layout, scanner_suffix_to_string(suffix),
		(unsigned long long)(timeout / USEC_PER_MSEC),
		scanner_prefix_to_string(r.prefix < 0 ? SCANNER_PREFIX_NONE : r.prefix));
	if (expect && r.prefix < 0)
		fputs("no layout and prefix give the expected text: check the scanner's settings\n",
		      out);
	return expect && r.prefix < 0 ? -EBADMSG : 0;
}

static int
diag_serial(const struct diag *d, const char *expect, FILE *out)
{
	uint8_t buf[SCAN_CODE_MAX + 8];
	size_t n = 0;
	usec_t max_gap = 0;
	enum scanner_framing framing;

	for (size_t i = 0; i < d->n; i++) {
		const struct diag_item *it = &d->items[i];
		if (i > 0 && it->t - d->items[i - 1].t > max_gap)
			max_gap = it->t - d->items[i - 1].t;
		size_t k = MIN(it->len, sizeof(buf) - n);
		memcpy(buf + n, it->data, k);
		n += k;
	}
	if (n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n')
		framing = SCANNER_FRAMING_CRLF;
	else if (n >= 1 && buf[n - 1] == '\r')
		framing = SCANNER_FRAMING_CR;
	else if (n >= 1 && buf[n - 1] == '\n')
		framing = SCANNER_FRAMING_LF;
	else
		framing = SCANNER_FRAMING_NONE;
	fprintf(out, "longest pause between reads: %.1f ms\n", (double)max_gap / 1000.0);

	struct serial_framer f;
	struct result r = {.prefix = -1};
	size_t used = 0;
	serial_framer_init(&f, framing, SCAN_CODE_MAX);
	if (serial_framer_feed(&f, buf, n, &used, &r.code) > 0 ||
	    serial_framer_gap(&f, &r.code) > 0)
		r.have = true;
	if (!r.have) {
		fputs("decoded: nothing\n", out);
		return -EBADMSG;
	}
	r.prefix = guess_prefix(&r.code, expect);
	print_result(out, &r);
	usec_t gap = MAX((usec_t)50 * USEC_PER_MSEC, 2 * max_gap);
	fprintf(out, "recommended:\n  kind = serial\n  framing = %s\n",
		scanner_framing_to_string(framing));
	if (framing == SCANNER_FRAMING_NONE || max_gap > 25 * USEC_PER_MSEC)
		fprintf(out, "  idle_gap = %llums\n",
			(unsigned long long)(MIN(gap, 2 * USEC_PER_SEC) / USEC_PER_MSEC));
	fprintf(out, "  prefix = %s\n",
		scanner_prefix_to_string(r.prefix < 0 ? SCANNER_PREFIX_NONE : r.prefix));
	if (expect && r.prefix < 0)
		fputs("no prefix gives the expected text: check the scanner's settings\n", out);
	return expect && r.prefix < 0 ? -EBADMSG : 0;
}

static int
diag_hidpos(const struct diag *d, const char *expect, FILE *out)
{
	int found = -1;
	struct scan_code first = {0};

	for (int k = SCANNER_REPORT_HONEYWELL; k < _SCANNER_REPORT_MAX; k++) {
		struct hidpos_joiner j;
		struct scan_code c;
		bool got = false;

		hidpos_joiner_init(&j, hidpos_layout_get((enum scanner_report_layout)k),
				   SCAN_CODE_MAX);
		for (size_t i = 0; i < d->n && !got; i++)
			got = hidpos_joiner_feed(&j, d->items[i].data, d->items[i].len, &c) > 0;
		bool ok = got && !c.reject && !c.overflow && c.len > 0 &&
			  (!expect || STR_EQ(c.text, expect));
		fprintf(out, "layout %-15s %s\n", scanner_report_layout_to_string(k),
			!got       ? "no code"
			: c.reject ? c.reject
			: ok       ? "decodes"
				   : "decodes to another text");
		if (ok && found < 0) {
			found = k;
			first = c;
		}
	}
	if (found < 0) {
		fputs("decoded: nothing\n", out);
		return -EBADMSG;
	}
	struct result r = {.code = first, .have = true, .prefix = SCANNER_PREFIX_NONE};
	print_result(out, &r);
	fprintf(out, "recommended:\n  kind = hidpos\n  report_layout = %s\n",
		scanner_report_layout_to_string(found));
	fputs("  (auto suffices when the log says the layout comes from the report descriptor)\n",
	      out);
	return 0;
}

/* The local udev rule that gives this scanner to group f2fpay-scanner, when it can be said. */
static void
print_udev(const struct scanner_config *cfg, FILE *out)
{
	const char *sub = cfg->kind == SCANNER_KIND_EVDEV    ? "input"
			  : cfg->kind == SCANNER_KIND_SERIAL ? "tty"
							     : "usb";

	if (cfg->match_vidpid)
		fprintf(out,
			"udev (/etc/udev/rules.d/60-f2fpay-local.rules):\n  SUBSYSTEM==\"%s\", "
			"ATTRS{idVendor}==\"%04x\", ATTRS{idProduct}==\"%04x\", "
			"ENV{F2FPAY_SCANNER}=\"1\"\n",
			sub, cfg->vid, cfg->pid);
	else if (cfg->kind == SCANNER_KIND_SERIAL && cfg->match_path &&
		 strncmp(cfg->match_path, "/dev/", 5) == 0 && !strchr(cfg->match_path + 5, '/'))
		fprintf(out,
			"udev (/etc/udev/rules.d/60-f2fpay-local.rules):\n  SUBSYSTEM==\"tty\", "
			"KERNEL==\"%s\", ENV{F2FPAY_SCANNER}=\"1\"\n",
			cfg->match_path + 5);
}

int
diag_report(const struct diag *d, const struct scanner_config *cfg, const char *expect, FILE *out)
{
	int r;

	if (!d->started || d->n == 0) {
		fputs("no scan came\n", out);
		return -ENODATA;
	}
	print_raw(d, out);
	switch (cfg->kind) {
	case SCANNER_KIND_EVDEV:
		r = diag_evdev(d, cfg, expect, out);
		break;
	case SCANNER_KIND_SERIAL:
		r = diag_serial(d, expect, out);
		break;
	case SCANNER_KIND_HIDPOS:
		r = diag_hidpos(d, expect, out);
		break;
	case _SCANNER_KIND_MAX:
	default:
		return -EINVAL;
	}
	print_udev(cfg, out);
	return r;
}
