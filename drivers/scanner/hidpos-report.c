/* SPDX-License-Identifier: MIT */
/* HID-POS report layouts, the table of known scanners, report parsing and code joining. */
#include <errno.h>
#include <string.h>

#include "common/macro.h"
#include "drivers/scanner/hidpos-report.h"

static const struct hidpos_layout layouts[_SCANNER_REPORT_MAX] = {
	[SCANNER_REPORT_HONEYWELL] = {.name = "honeywell",
				      .report_id = HIDPOS_REPORT_ID,
				      .len_off = 1,
				      .aim_off = 2,
				      .data_off = 5,
				      .data_max = 56,
				      .more_off = 63,
				      .more_mask = 0x01,
				      .size = 64},
	/* Newland's integration guides: the symbology id in byte 62, bytes 58-61 reserved. */
	[SCANNER_REPORT_NEWLAND] = {.name = "newland",
				    .report_id = HIDPOS_REPORT_ID,
				    .len_off = 1,
				    .aim_off = -1,
				    .data_off = 2,
				    .data_max = 56,
				    .more_off = 63,
				    .more_mask = 0x01,
				    .size = 64},
	[SCANNER_REPORT_AIM_AFTER_BYTE] = {.name = "aim-after-byte",
					   .report_id = HIDPOS_REPORT_ID,
					   .len_off = 1,
					   .aim_off = 3,
					   .data_off = 6,
					   .data_max = 55,
					   .more_off = 63,
					   .more_mask = 0x01,
					   .size = 64},
	[SCANNER_REPORT_SIMPLE_COM] = {.name = "simple-com",
				       .report_id = -1,
				       .len_off = 0,
				       .aim_off = -1,
				       .data_off = 1,
				       .data_max = 63,
				       .more_off = -1,
				       .size = 64},
};

/*
 * Scanners whose report descriptor does not say where the data is. By vendor (pid 0 = any):
 * Honeywell's own layout; Newland's data from byte 2; Symbol/Zebra "Simple COM" reports.
 */
static const struct {
	uint16_t vid, pid;
	enum scanner_report_layout kind;
} quirks[] = {
	{0x0c2e, 0, SCANNER_REPORT_HONEYWELL},
	{0x1eab, 0, SCANNER_REPORT_NEWLAND},
	{0x05e0, 0, SCANNER_REPORT_SIMPLE_COM},
};

const struct hidpos_layout *
hidpos_layout_get(enum scanner_report_layout k)
{
	if (k == SCANNER_REPORT_AUTO || (unsigned)k >= _SCANNER_REPORT_MAX)
		return NULL;
	return &layouts[k];
}

const struct hidpos_layout *
hidpos_layout_quirk(uint16_t vid, uint16_t pid)
{
	for (size_t i = 0; i < ELEMENTSOF(quirks); i++)
		if (quirks[i].vid == vid && (quirks[i].pid == 0 || quirks[i].pid == pid))
			return &layouts[quirks[i].kind];
	return NULL;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool
printable(uint8_t c)
{
	return c > 0x20 && c < 0x7f;
}

int
hidpos_report_parse(const struct hidpos_layout *l, const uint8_t *buf, size_t n,
		    struct hidpos_report *ret, const char **ret_reason)
{
	struct hidpos_report r = {0};
	size_t len;

	*ret_reason = NULL;
	if (l->report_id >= 0 && n >= 1 && buf[0] != (uint8_t)l->report_id) {
		r.other = true;
		*ret = r;
		return 0;
	}
	if (n < l->size || n < l->data_off + l->data_max) {
		*ret_reason = "a HID-POS report shorter than its layout";
		return -EBADMSG;
	}
	if (l->len_off >= 0) {
		len = buf[l->len_off];
		if (len > l->data_max) {
			*ret_reason = "a HID-POS length past the report's data field";
			return -EBADMSG;
		}
		/* The rest of the field is padding: anything else means the data is not where
		 * this layout says, and reading it would give a different code. */
		if (!all_zero(buf + l->data_off + len, l->data_max - len)) {
			*ret_reason = "HID-POS data past its length (another report layout?)";
			return -EBADMSG;
		}
	} else {
		const uint8_t *z = memchr(buf + l->data_off, 0, l->data_max);
		len = z ? (size_t)(z - (buf + l->data_off)) : l->data_max;
		if (!all_zero(buf + l->data_off + len, l->data_max - len)) {
			*ret_reason = "a NUL inside HID-POS data";
			return -EBADMSG;
		}
	}
	if (l->aim_off >= 0) {
		const uint8_t *a = buf + l->aim_off;
		if (a[0] == ']' && printable(a[1]) && printable(a[2])) {
			memcpy(r.aim, a, 3);
			r.aim[3] = 0;
		} else if (!all_zero(a, 3)) {
			*ret_reason = "a HID-POS symbology field that is no AIM identifier";
			return -EBADMSG;
		}
	}
	r.len = (uint8_t)len;
	r.data = buf + l->data_off;
	r.more = l->more_off >= 0 && (size_t)l->more_off < n && (buf[l->more_off] & l->more_mask);
	if (!r.more && l->more_off < 0 && len == l->data_max) {
		/* A full report of a layout that cannot say "continued" may be cut. */
		*ret_reason = "a full HID-POS report in a layout without a continuation flag";
		return -EBADMSG;
	}
	*ret = r;
	return 0;
}

void
hidpos_joiner_init(struct hidpos_joiner *j, const struct hidpos_layout *l, size_t max_len)
{
	j->layout = l ? l : &layouts[SCANNER_REPORT_HONEYWELL];
	j->max_len = (max_len == 0 || max_len > SCAN_CODE_MAX) ? SCAN_CODE_MAX : max_len;
	hidpos_joiner_reset(j);
}

void
hidpos_joiner_reset(struct hidpos_joiner *j)
{
	scan_code_clear(&j->code);
	j->active = false;
}

/* The scanner's Enter or Tab suffix, which some send inside the data. */
static void
strip_suffix(struct scan_code *c)
{
	if (c->len > 0 && c->text[c->len - 1] == '\n')
		c->text[--c->len] = 0;
	if (c->len > 0 && c->text[c->len - 1] == '\r')
		c->text[--c->len] = 0;
}

int
hidpos_joiner_feed(struct hidpos_joiner *j, const uint8_t *buf, size_t n, struct scan_code *ret)
{
	struct hidpos_report rep;
	const char *why;
	int r;

	r = hidpos_report_parse(j->layout, buf, n, &rep, &why);
	if (r < 0) {
		/* The code in progress, or this report alone, is refused: never part of it. */
		scan_code_refuse(&j->code, why);
		*ret = j->code;
		ret->len = 0;
		ret->text[0] = 0;
		hidpos_joiner_reset(j);
		return 1;
	}
	if (rep.other)
		return 0;
	if (!j->active) {
		/* The first report of a code carries the symbology for all of it. */
		j->active = true;
		memcpy(j->code.aim, rep.aim, sizeof(rep.aim));
	}
	scan_code_append(&j->code, (const char *)rep.data, rep.len, j->max_len);
	if (rep.more)
		return 0;
	r = 0;
	if (!j->code.overflow)
		strip_suffix(&j->code);
	if (j->code.len > 0 || j->code.overflow || j->code.reject) {
		*ret = j->code;
		r = 1;
	}
	hidpos_joiner_reset(j);
	return r;
}
