/* SPDX-License-Identifier: MIT */
/* The Alipay payment-code rule and its masking, in one place (doc/engine.md "Payment codes"). */
#include <string.h>

#include "common/paycode.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
paycode_is_alipay(const char *s, size_t len)
{
	if (!s || len < PAYCODE_MIN_LEN || len > PAYCODE_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return false;
	/* doc/engine.md: the first two digits are 25–30. */
	return (s[0] == '2' && s[1] >= '5') || (s[0] == '3' && s[1] == '0');
}

bool
paycode_is_alipay_str(const char *s)
{
	return s && paycode_is_alipay(s, strnlen(s, PAYCODE_MAX_LEN + 1));
}

static void
mask_span(char *p, size_t n)
{
	/* Short strings are no payment code, but they are masked whole rather than shown. */
	if (n < PAYCODE_KEEP_HEAD + PAYCODE_KEEP_TAIL + 2) {
		memset(p, '*', n);
		return;
	}
	memset(p + PAYCODE_KEEP_HEAD, '*', n - PAYCODE_KEEP_HEAD - PAYCODE_KEEP_TAIL);
}

void
paycode_mask(const char *code, char buf[static PAYCODE_MAX_LEN + 1])
{
	size_t n = code ? strnlen(code, PAYCODE_MAX_LEN) : 0;

	if (n > 0)
		memcpy(buf, code, n);
	buf[n] = '\0';
	mask_span(buf, n);
}

void
paycode_mask_in_text(char *s)
{
	size_t i = 0;

	if (!s)
		return;
	while (s[i]) {
		size_t start = i;

		if (!is_digit(s[i])) {
			i++;
			continue;
		}
		while (is_digit(s[i]))
			i++;
		if (paycode_is_alipay(s + start, i - start))
			mask_span(s + start, i - start);
	}
}

void
paycode_wipe(void *p, size_t n)
{
	if (p && n > 0)
		explicit_bzero(p, n);
}
