/* SPDX-License-Identifier: MIT */
/* Code classification, config defaults and the names of the scanner enums. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/macro.h"
#include "common/paycode.h"
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
is_alnum(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool
has_aim(const struct scan_code *c)
{
	/* AIM ISO/IEC 15424: ']', a symbology letter, a modifier character. */
	return c->len >= 3 && c->text[0] == ']' &&
	       ((c->text[1] >= 'A' && c->text[1] <= 'Z') ||
		(c->text[1] >= 'a' && c->text[1] <= 'z')) &&
	       is_alnum(c->text[2]);
}

bool
scan_code_is_code_id(char ch)
{
	/* Honeywell's symbology charts: one printable character per symbology, never a digit
	 * (so a code made of digits can never lose its first one to this). */
	static const char ids[] = "abcdefghijlmqrstwxyz<>{}DEHIJLMNPQRTVXY";
	return ch != 0 && strchr(ids, ch) != NULL;
}

void
scan_code_strip_prefix(struct scan_code *c, enum scanner_prefix prefix)
{
	if (c->reject || c->overflow || c->len == 0)
		return;
	switch (prefix) {
	case SCANNER_PREFIX_AIM:
		if (!has_aim(c)) {
			scan_code_refuse(c, "no AIM symbology identifier where one was configured");
			return;
		}
		scan_code_strip_aim(c);
		return;
	case SCANNER_PREFIX_CODE_ID:
		if (c->len < 2 || !scan_code_is_code_id(c->text[0])) {
			scan_code_refuse(c, "no Honeywell Code ID where one was configured");
			return;
		}
		c->aim[0] = c->text[0];
		c->aim[1] = 0;
		memmove(c->text, c->text + 1, c->len);
		c->len--;
		return;
	case SCANNER_PREFIX_NONE:
	case _SCANNER_PREFIX_MAX:
		return;
	}
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
	if (paycode_is_alipay(text, len))
		return SCAN_CLASS_ALIPAY;
	int prefix = (text[0] - '0') * 10 + (len > 1 ? text[1] - '0' : 0);
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
		.idle_gap_usec = 50 * USEC_PER_MSEC,
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
	[SCANNER_FRAMING_NONE] = "none",
};
static const char *const prefix_names[_SCANNER_PREFIX_MAX] = {
	[SCANNER_PREFIX_NONE] = "none",
	[SCANNER_PREFIX_AIM] = "aim",
	[SCANNER_PREFIX_CODE_ID] = "code-id",
};
static const char *const report_layout_names[_SCANNER_REPORT_MAX] = {
	[SCANNER_REPORT_AUTO] = "auto",
	[SCANNER_REPORT_HONEYWELL] = "honeywell",
	[SCANNER_REPORT_NEWLAND] = "newland",
	[SCANNER_REPORT_AIM_AFTER_BYTE] = "aim-after-byte",
	[SCANNER_REPORT_SIMPLE_COM] = "simple-com",
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
scanner_prefix_to_string(enum scanner_prefix p)
{
	return NAME_OR_NULL(prefix_names, p);
}

int
scanner_prefix_from_string(const char *s)
{
	return lookup(prefix_names, ELEMENTSOF(prefix_names), s);
}

const char *
scanner_report_layout_to_string(enum scanner_report_layout l)
{
	return NAME_OR_NULL(report_layout_names, l);
}

int
scanner_report_layout_from_string(const char *s)
{
	return lookup(report_layout_names, ELEMENTSOF(report_layout_names), s);
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
