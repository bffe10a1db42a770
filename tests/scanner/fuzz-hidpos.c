/* SPDX-License-Identifier: MIT */
/* Fuzz target: HID-POS reports join into bounded codes or are refused; descriptors walk safely. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scanner/hidpos-report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: a sequence of reports, each a length byte then that many bytes (a short one is a
 * truncated transfer). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hidpos_joiner j;
	struct scan_code c;

	/* The same bytes as a report descriptor: the item walk must stay inside them. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	(void)hid_descriptor_has_usage_page(copy, size, HID_USAGE_PAGE_BARCODE_SCANNER);
	free(copy);

	hidpos_joiner_init(&j, 120);
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
		if (r > 0 && (c.len > 120 || strlen(c.aim) > 3 || c.text[c.len] != 0))
			abort();
		if (r > 0 && !c.overflow)
			(void)scan_code_classify(c.text, c.len, 120);
		data += n;
		size -= n;
	}
	return 0;
}
