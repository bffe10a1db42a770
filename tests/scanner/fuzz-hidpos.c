/* SPDX-License-Identifier: MIT */
/* Fuzz target: HID-POS reports join into bounded codes or are refused; descriptors walk safely. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scanner/hidpos-report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_layout(const struct hidpos_layout *l)
{
	/* Whatever the descriptor says, every field lies inside the 64 bytes the driver reads. */
	if (l->size > 64 || l->data_off + l->data_max > 64 || l->data_max == 0)
		abort();
	if (l->len_off >= 64 || l->aim_off + 3 > 64 || l->more_off >= 64)
		abort();
	if (l->report_id > 255 || (l->report_id >= 0 && l->data_off == 0))
		abort();
}

/*
 * Input: the whole input is first walked as a report descriptor. Then the first byte picks the
 * layout (the descriptor's when it gave one, or a fixed one), and the rest is a sequence of
 * reports, each a length byte then that many bytes (a short one is a truncated transfer).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hidpos_layout found;
	const struct hidpos_layout *l;
	struct hidpos_joiner j;
	struct scan_code c;
	bool have = false;

	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	(void)hid_descriptor_has_usage_page(copy, size, HID_USAGE_PAGE_BARCODE_SCANNER);
	if (hid_descriptor_find_pos_layout(copy, size, &found) == 0) {
		check_layout(&found);
		have = true;
	}
	free(copy);
	if (size == 0)
		return 0;
	unsigned sel = data[0] % (_SCANNER_REPORT_MAX + 1);
	data++;
	size--;
	l = sel == _SCANNER_REPORT_MAX ? (have ? &found : NULL)
				       : hidpos_layout_get((enum scanner_report_layout)sel);
	if (l)
		check_layout(l);
	hidpos_joiner_init(&j, l, 120);
	while (size > 0) {
		size_t n = data[0] % 65;
		data++;
		size--;
		if (n > size)
			n = size;
		uint8_t *rep = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
		if (!rep)
			return 0;
		memcpy(rep, data, n);
		int r = hidpos_joiner_feed(&j, rep, n, &c);
		free(rep);
		if (r < 0 || r > 1)
			abort();
		if (r > 0 && (c.len > 120 || strlen(c.aim) > 3 || c.text[c.len] != 0))
			abort();
		/* A refused code carries no text: nothing of it can be mistaken for a code. */
		if (r > 0 && c.reject && c.len != 0)
			abort();
		if (r > 0 && !c.overflow && !c.reject)
			(void)scan_code_classify(c.text, c.len, 120);
		data += n;
		size -= n;
	}
	return 0;
}
