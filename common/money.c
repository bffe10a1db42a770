/* SPDX-License-Identifier: MIT */
/* Strict money parsing and formatting in int64 fen. */
#include <errno.h>
#include <stdio.h>

#include "common/money.h"

int
money_parse_flags(const char *s, unsigned flags, int64_t *ret_fen)
{
	int64_t yuan = 0, fen;
	int neg = 0, int_digits = 0, frac_digits = 0, frac = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (*p == '-') {
		if (!(flags & MONEY_ALLOW_NEGATIVE))
			return -EINVAL;
		neg = 1;
		p++;
	}
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return -EINVAL; /* leading zero */
	for (; *p >= '0' && *p <= '9'; p++) {
		if (int_digits >= 12)
			return -ERANGE; /* ≥ 10^12 yuan cannot be in any range we accept */
		yuan = yuan * 10 + (*p - '0');
		int_digits++;
	}
	if (int_digits == 0)
		return -EINVAL;
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++frac_digits > 2)
				return -EINVAL;
			frac = frac * 10 + (*p - '0');
		}
		if (frac_digits == 0)
			return -EINVAL;
		if (frac_digits == 1)
			frac *= 10;
	}
	if (*p)
		return -EINVAL;
	fen = yuan * 100 + frac;
	if (fen == 0) {
		if (!(flags & MONEY_ALLOW_ZERO))
			return -ERANGE;
		neg = 0;
	} else if (!(flags & MONEY_NO_LIMIT) && fen > MONEY_MAX_FEN)
		return -ERANGE;
	*ret_fen = neg ? -fen : fen;
	return 0;
}

char *
money_format(int64_t fen, char buf[static MONEY_BUF_SIZE])
{
	uint64_t a = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;

	snprintf(buf, MONEY_BUF_SIZE, "%s%llu.%02llu", fen < 0 ? "-" : "",
		 (unsigned long long)(a / 100), (unsigned long long)(a % 100));
	return buf;
}
