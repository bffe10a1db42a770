/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the array literal a shipment carries journal text in (the POS's subject and pos_ref
 * among it): whatever the bytes, the element is one well-formed quoted element that decodes to
 * valid UTF-8, and to the input itself when the input was valid UTF-8 already.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "central/batch.h"
#include "test.h"

/* Decodes the single element of "{"…"}" into out; returns its length, or aborts. */
static size_t
decode(const char *lit, char *out)
{
	const char *p = lit;
	size_t n = 0;

	CHECK(*p++ == '{');
	CHECK(*p++ == '"');
	while (*p != '"') {
		CHECK(*p != '\0');
		if (*p == '\\') {
			p++;
			CHECK(*p == '"' || *p == '\\');
		}
		out[n++] = *p++;
	}
	p++;
	CHECK(*p++ == '}');
	CHECK(*p == '\0');
	out[n] = '\0';
	return n;
}

static bool
valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len, cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!len || i + len > n)
			return false;
		cp = c & (0xff >> (len + 1));
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_buf_ struct buf col = BUF_INIT(16 * 1024 * 1024);
	char *in, *out;
	size_t n;

	if (size > 64 * 1024)
		return 0;
	in = malloc(size + 1);
	CHECK(in);
	memcpy(in, data, size);
	in[size] = '\0'; /* journal text is a C string: it ends at the first NUL */
	CHECK(central_array_add_text(&col, in) == 0);
	CHECK(buf_putc(&col, '}') == 0);
	out = malloc(col.len + 1);
	CHECK(out);
	n = decode(col.data, out);
	CHECK(valid_utf8((const unsigned char *)out, n));
	if (valid_utf8((const unsigned char *)in, strlen(in)))
		CHECK(n == strlen(in) && memcmp(in, out, n) == 0);
	free(in);
	free(out);
	return 0;
}
