/* SPDX-License-Identifier: MIT */
/* A HID report descriptor walk (items as the HID 1.11 specification defines them) that finds a
 * bar code scanner's data fields. */
#include <errno.h>
#include <string.h>

#include "drivers/scanner/hid-descriptor.h"

/* Short item prefixes with the size bits masked off. */
#define ITEM_INPUT          0x80
#define ITEM_USAGE_PAGE     0x04
#define ITEM_REPORT_SIZE    0x74
#define ITEM_REPORT_ID      0x84
#define ITEM_REPORT_COUNT   0x94
#define ITEM_PUSH           0xA4
#define ITEM_POP            0xB4
#define ITEM_USAGE          0x08
#define ITEM_USAGE_MIN      0x18
#define ITEM_USAGE_MAX      0x28
#define ITEM_COLLECTION     0xA0
#define ITEM_END_COLLECTION 0xC0
#define ITEM_OUTPUT         0x90
#define ITEM_FEATURE        0xB0
#define ITEM_TYPE_MASK      0x0C
#define ITEM_TYPE_MAIN      0x00
#define GLOBAL_STACK_MAX    4
#define USAGES_MAX          16
/* A report is at most this long on a full-speed interrupt endpoint; larger ones are refused. */
#define REPORT_BITS_MAX     (64 * 8)

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
		if ((prefix & 0xFC) == ITEM_USAGE_PAGE) {
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

struct globals {
	uint32_t page, size, count, id;
};

struct found {
	bool have;
	uint32_t id;
	uint32_t bit;   /* offset in the report after the id byte */
	uint32_t count; /* 8-bit fields */
};

int
hid_descriptor_find_pos_layout(const uint8_t *d, size_t n, struct hidpos_layout *ret)
{
	struct globals g = {0}, stack[GLOBAL_STACK_MAX];
	size_t depth = 0, i = 0;
	uint32_t usages[USAGES_MAX], umin = 0, umax = 0, bits[256];
	size_t n_usages = 0;
	bool have_range = false, uses_ids = false;
	struct found data = {0}, sym = {0}, more = {0};

	memset(bits, 0, sizeof(bits));
	while (i < n) {
		uint8_t prefix = d[i];
		size_t size;
		uint32_t v = 0;

		if (prefix == 0xFE) {
			if (n - i < 3 || d[i + 1] > n - i - 3)
				return -EBADMSG;
			i += 3 + d[i + 1];
			continue;
		}
		size = (prefix & 0x03) == 3 ? 4 : (prefix & 0x03);
		if (size > n - i - 1)
			return -EBADMSG;
		for (size_t k = 0; k < size; k++)
			v |= (uint32_t)d[i + 1 + k] << (8 * k);
		i += 1 + size;

		switch (prefix & 0xFC) {
		case ITEM_USAGE_PAGE:
			g.page = v;
			continue;
		case ITEM_REPORT_SIZE:
			g.size = v;
			continue;
		case ITEM_REPORT_COUNT:
			g.count = v;
			continue;
		case ITEM_REPORT_ID:
			if (v == 0 || v > 255)
				return -EBADMSG;
			g.id = v;
			uses_ids = true;
			continue;
		case ITEM_PUSH:
			if (depth >= GLOBAL_STACK_MAX)
				return -EBADMSG;
			stack[depth++] = g;
			continue;
		case ITEM_POP:
			if (depth == 0)
				return -EBADMSG;
			g = stack[--depth];
			continue;
		case ITEM_USAGE:
			/* A 4-byte usage carries its page in the high half. */
			if (n_usages < USAGES_MAX)
				usages[n_usages++] = size == 4 ? v : (g.page << 16 | v);
			continue;
		case ITEM_USAGE_MIN:
			umin = size == 4 ? v : (g.page << 16 | v);
			have_range = true;
			continue;
		case ITEM_USAGE_MAX:
			umax = size == 4 ? v : (g.page << 16 | v);
			have_range = true;
			continue;
		default:
			break;
		}
		if ((prefix & ITEM_TYPE_MASK) != ITEM_TYPE_MAIN)
			continue; /* other global and local items: not needed here */

		uint8_t main = prefix & 0xFC;
		if (main == ITEM_INPUT) {
			uint64_t total = (uint64_t)g.size * g.count;
			uint32_t at = bits[g.id];
			/* Zero-sized fields take no room but a huge count would cost time. */
			if (g.count > REPORT_BITS_MAX || total > REPORT_BITS_MAX ||
			    at + total > REPORT_BITS_MAX)
				return -EBADMSG;
			for (uint32_t k = 0; k < g.count; k++) {
				uint32_t u;
				if (n_usages > 0)
					u = usages[k < n_usages ? k : n_usages - 1];
				else if (have_range && umax >= umin)
					u = umin + (k <= umax - umin ? k : umax - umin);
				else
					u = 0;
				uint32_t fbit = at + k * g.size;
				bool pos = (u >> 16) == HID_USAGE_PAGE_BARCODE_SCANNER;
				uint32_t id = u & 0xFFFF;
				if (pos && id == HID_BCS_DECODED_DATA && g.size == 8 &&
				    fbit % 8 == 0) {
					if (!data.have)
						data = (struct found){true, g.id, fbit, 0};
					if (data.id == g.id && fbit == data.bit + data.count * 8)
						data.count++;
				} else if (pos && id >= HID_BCS_SYMBOLOGY_ID_1 &&
					   id <= HID_BCS_SYMBOLOGY_ID_3 && g.size == 8 &&
					   !sym.have && fbit % 8 == 0)
					sym = (struct found){true, g.id, fbit, 3};
				else if (pos && id == HID_BCS_DECODE_DATA_CONTINUED && g.size > 0 &&
					 !more.have)
					more = (struct found){true, g.id, fbit, 1};
			}
			bits[g.id] = at + (uint32_t)total;
		} else if (main == ITEM_OUTPUT || main == ITEM_FEATURE) {
			/* Other directions have reports of their own: no effect on input offsets.
			 */
		} else if (main != ITEM_COLLECTION && main != ITEM_END_COLLECTION)
			return -EBADMSG;
		/* Local items end with every main item. */
		n_usages = 0;
		have_range = false;
		umin = umax = 0;
	}
	if (!data.have || data.count == 0)
		return -ENOENT;
	unsigned idb = uses_ids ? 1 : 0;
	if (idb + (bits[data.id] + 7) / 8 > 64)
		return -ENOENT; /* longer than the reports this driver reads */
	*ret = (struct hidpos_layout){
		.name = "descriptor",
		.report_id = uses_ids ? (int)data.id : -1,
		/* The usage tables define no length: the data ends where its zero padding
		 * starts, which the parser checks (a byte before the data may be anything). */
		.len_off = -1,
		/* The three bytes of the symbology identifier lie inside the report, or none. */
		.aim_off = sym.have && sym.id == data.id && sym.bit + 24 <= bits[data.id]
				   ? (int)(idb + sym.bit / 8)
				   : -1,
		.data_off = idb + data.bit / 8,
		.data_max = data.count,
		.more_off = more.have && more.id == data.id ? (int)(idb + more.bit / 8) : -1,
		.more_mask = more.have ? (uint8_t)(1u << (more.bit % 8)) : 0,
		.size = idb + (bits[data.id] + 7) / 8,
	};
	return 0;
}
