/* SPDX-License-Identifier: MIT */
/* HID-POS report parsing (doc/hardware.md §3 layout) and joining of codes that span reports. */
#include <errno.h>
#include <string.h>

#include "drivers/scanner/hidpos-report.h"

int
hidpos_report_parse(const uint8_t *buf, size_t n, struct hidpos_report *ret)
{
	struct hidpos_report r = {0};

	if (n < HIDPOS_REPORT_SIZE || buf[0] != HIDPOS_REPORT_ID)
		return -EBADMSG;
	if (buf[1] > HIDPOS_REPORT_DATA_MAX)
		return -EBADMSG;
	r.len = buf[1];
	for (size_t i = 0; i < 3; i++)
		r.aim[i] = (char)buf[2 + i];
	r.aim[3] = 0;
	if (r.aim[0] != ']')
		r.aim[0] = 0; /* no symbology identifier */
	else if (!r.aim[1] || !r.aim[2])
		return -EBADMSG;
	r.data = buf + 5;
	r.more = buf[63] & 0x01;
	*ret = r;
	return 0;
}

void
hidpos_joiner_init(struct hidpos_joiner *j, size_t max_len)
{
	j->max_len = (max_len == 0 || max_len > SCAN_CODE_MAX) ? SCAN_CODE_MAX : max_len;
	hidpos_joiner_reset(j);
}

void
hidpos_joiner_reset(struct hidpos_joiner *j)
{
	scan_code_clear(&j->code);
	j->active = false;
}

int
hidpos_joiner_feed(struct hidpos_joiner *j, const uint8_t *buf, size_t n, struct scan_code *ret)
{
	struct hidpos_report rep;
	int r;

	r = hidpos_report_parse(buf, n, &rep);
	if (r < 0) {
		hidpos_joiner_reset(j);
		return r;
	}
	if (!j->active) {
		/* The first report of a code carries the symbology for all of it. */
		j->active = true;
		memcpy(j->code.aim, rep.aim, sizeof(rep.aim));
	}
	scan_code_append(&j->code, (const char *)rep.data, rep.len, j->max_len);
	if (rep.more)
		return 0;
	r = 0;
	if (j->code.len > 0 || j->code.overflow) {
		*ret = j->code;
		r = 1;
	}
	hidpos_joiner_reset(j);
	return r;
}

bool
hid_descriptor_has_usage_page(const uint8_t *d, size_t n, uint32_t page)
{
	size_t i = 0;

	while (i < n) {
		uint8_t prefix = d[i];
		size_t size;

		if (prefix == 0xFE) {
			/* Long item: size byte, tag byte, data. */
			if (n - i < 3)
				return false;
			size = d[i + 1];
			if (size > n - i - 3)
				return false;
			i += 3 + size;
			continue;
		}
		size = (prefix & 0x03) == 3 ? 4 : (prefix & 0x03);
		if (size > n - i - 1)
			return false;
		/* Global item, tag 0: Usage Page (prefix 0000 01 ss). */
		if ((prefix & 0xFC) == 0x04) {
			uint32_t v = 0;
			for (size_t k = 0; k < size; k++)
				v |= (uint32_t)d[i + 1 + k] << (8 * k);
			if (v == page)
				return true;
		}
		i += 1 + size;
	}
	return false;
}
