/* SPDX-License-Identifier: MIT */
/* Money as int64 fen (1/100 yuan): a strict parser and a formatter. Never double. */
#pragma once

#include <stdint.h>

#define MONEY_MIN_FEN  INT64_C(1)           /* 0.01 */
#define MONEY_MAX_FEN  INT64_C(10000000000) /* 100000000.00 (doc/protocol.md §5.1) */
#define MONEY_BUF_SIZE 24

enum money_flags {
	MONEY_ALLOW_ZERO = 1 << 0,     /* "0.00" is valid (response fields like refund_fee) */
	MONEY_ALLOW_NEGATIVE = 1 << 1, /* a leading '-' (bill refund rows) */
	MONEY_NO_LIMIT = 1 << 2,       /* no upper bound (totals); still fits int64 */
};

/*
 * Parses "88.88", "0.01", "88", "88.8" into fen. Rejects empty strings, whitespace, a '+' sign,
 * a '-' unless MONEY_ALLOW_NEGATIVE, exponents, a third decimal, leading zeros ("01.00"), a bare
 * point (".5", "5."), and values outside 0.01–100000000.00 (zero allowed with MONEY_ALLOW_ZERO).
 * Returns 0 and writes *ret_fen, -EINVAL for a malformed string, -ERANGE for a value out of range.
 */
int money_parse_flags(const char *s, unsigned flags, int64_t *ret_fen);

static inline int
money_parse(const char *s, int64_t *ret_fen)
{
	return money_parse_flags(s, 0, ret_fen);
}

/* Writes "88.88" (always two decimals, '-' for negatives) into buf; returns buf. */
char *money_format(int64_t fen, char buf[static MONEY_BUF_SIZE]);
