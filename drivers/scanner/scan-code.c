/* SPDX-License-Identifier: MIT */
/* Code classification, config defaults and the names of the scanner enums. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/macro.h"
#include "drivers/scanner/scan-code.h"

void
scan_code_append(struct scan_code *c, const char *p, size_t n, size_t max_len)
{
	if (max_len > SCAN_CODE_MAX)
		max_len = SCAN_CODE_MAX;
	if (c->overflow)
		return;
	if (n > max_len - c->len) {
		c->overflow = true;
		return;
	}
	memcpy(c->text + c->len, p, n);
	c->len += n;
	c->text[c->len] = 0;
}

void
scan_code_strip_aim(struct scan_code *c)
{
	/* AIM ISO/IEC 15424: ']' + symbology letter + modifier character. */
	if (c->len < 3 || c->text[0] != ']')
		return;
	memcpy(c->aim, c->text, 3);
	c->aim[3] = 0;
	memmove(c->text, c->text + 3, c->len - 3 + 1);
	c->len -= 3;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

enum scan_class
scan_code_classify(const char *text, size_t len, size_t max_len)
{
	if (max_len == 0 || max_len > SCAN_CODE_MAX)
		max_len = SCAN_CODE_MAX;
	if (len == 0 || len > max_len)
		return SCAN_CLASS_REJECTED;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		/* Control characters never belong in a code: a wrong suffix, a stray Ctrl. */
		if (ch < 0x20 || ch == 0x7f)
			return SCAN_CLASS_REJECTED;
	}
	if (!all_digits(text, len))
		return SCAN_CLASS_BARCODE;
	int prefix = (text[0] - '0') * 10 + (len > 1 ? text[1] - '0' : 0);
	/* doc/protocol.md §5.1: auth_code is digits, starting 25–30, 16–24 long. */
	if (len >= 16 && len <= 24 && prefix >= 25 && prefix <= 30)
		return SCAN_CLASS_ALIPAY;
	/* doc/design.md §9.1: WeChat Pay codes are 18 digits starting 10–15; they are not ours to
	 * take. */
	if (len == 18 && prefix >= 10 && prefix <= 15)
		return SCAN_CLASS_OTHER_WALLET;
	return SCAN_CLASS_BARCODE;
}

void
scanner_config_init(struct scanner_config *c)
{
	*c = (struct scanner_config){
		.kind = SCANNER_KIND_EVDEV,
		.layout = "us",
		.suffix = SCANNER_SUFFIX_ENTER,
		.interkey_timeout_usec = 50 * USEC_PER_MSEC,
		.baud = 9600,
		.framing = SCANNER_FRAMING_CR,
		.max_len = 256,
	};
}

static const char *const kind_names[_SCANNER_KIND_MAX] = {
	[SCANNER_KIND_EVDEV] = "evdev",
	[SCANNER_KIND_SERIAL] = "serial",
	[SCANNER_KIND_HIDPOS] = "hidpos",
};
static const char *const suffix_names[_SCANNER_SUFFIX_MAX] = {
	[SCANNER_SUFFIX_ENTER] = "enter",
	[SCANNER_SUFFIX_KP_ENTER] = "kp-enter",
	[SCANNER_SUFFIX_TAB] = "tab",
	[SCANNER_SUFFIX_NONE] = "none",
};
static const char *const framing_names[_SCANNER_FRAMING_MAX] = {
	[SCANNER_FRAMING_CR] = "cr",
	[SCANNER_FRAMING_LF] = "lf",
	[SCANNER_FRAMING_CRLF] = "crlf",
};
static const char *const class_names[_SCAN_CLASS_MAX] = {
	[SCAN_CLASS_ALIPAY] = "alipay",
	[SCAN_CLASS_OTHER_WALLET] = "other-wallet",
	[SCAN_CLASS_BARCODE] = "barcode",
	[SCAN_CLASS_REJECTED] = "rejected",
};
static const char *const state_names[_SCANNER_STATE_MAX] = {
	[SCANNER_STATE_MISSING] = "missing",
	[SCANNER_STATE_PRESENT] = "present",
	[SCANNER_STATE_ERROR] = "error",
};

static int
lookup(const char *const *names, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcasecmp(names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

#define NAME_OR_NULL(table, i) ((size_t)(i) < ELEMENTSOF(table) ? (table)[i] : NULL)

const char *
scanner_kind_to_string(enum scanner_kind k)
{
	return NAME_OR_NULL(kind_names, k);
}

int
scanner_kind_from_string(const char *s)
{
	return lookup(kind_names, ELEMENTSOF(kind_names), s);
}

const char *
scanner_suffix_to_string(enum scanner_suffix s)
{
	return NAME_OR_NULL(suffix_names, s);
}

int
scanner_suffix_from_string(const char *s)
{
	return lookup(suffix_names, ELEMENTSOF(suffix_names), s);
}

const char *
scanner_framing_to_string(enum scanner_framing f)
{
	return NAME_OR_NULL(framing_names, f);
}

int
scanner_framing_from_string(const char *s)
{
	return lookup(framing_names, ELEMENTSOF(framing_names), s);
}

const char *
scan_class_to_string(enum scan_class c)
{
	return NAME_OR_NULL(class_names, c);
}

const char *
scanner_state_to_string(enum scanner_state s)
{
	return NAME_OR_NULL(state_names, s);
}

static int
parse_hex4(const char *s, size_t n, uint16_t *ret)
{
	uint16_t v = 0;

	if (n == 0 || n > 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -EINVAL;
		v = (uint16_t)(v << 4 | d);
	}
	*ret = v;
	return 0;
}

int
scanner_vidpid_from_string(const char *s, uint16_t *ret_vid, uint16_t *ret_pid)
{
	const char *colon;
	uint16_t v, p;

	if (!s)
		return -EINVAL;
	colon = strchr(s, ':');
	if (!colon || parse_hex4(s, (size_t)(colon - s), &v) < 0 ||
	    parse_hex4(colon + 1, strlen(colon + 1), &p) < 0)
		return -EINVAL;
	*ret_vid = v;
	*ret_pid = p;
	return 0;
}
