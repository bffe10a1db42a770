/* SPDX-License-Identifier: MIT */
/* Money parser and formatter: accepted forms, every rejected form, range edges. */
#include <errno.h>

#include "common/money.h"
#include "test.h"

static void
ok(const char *s, unsigned flags, int64_t want)
{
	int64_t fen = -12345;
	int r = money_parse_flags(s, flags, &fen);

	if (r != 0 || fen != want) {
		fprintf(stderr, "\"%s\": r=%d fen=%" PRId64 ", expected %" PRId64 "\n", s, r, fen,
			want);
		abort();
	}
}

static void
bad(const char *s, unsigned flags, int want_r)
{
	int64_t fen = 777;
	int r = money_parse_flags(s, flags, &fen);

	if (r != want_r || fen != 777) {
		fprintf(stderr, "\"%s\": r=%d fen=%" PRId64 ", expected r=%d untouched\n", s, r,
			fen, want_r);
		abort();
	}
}

int
main(void)
{
	char buf[MONEY_BUF_SIZE];

	ok("88.88", 0, 8888);
	ok("0.01", 0, 1);
	ok("0.1", 0, 10);
	ok("1", 0, 100);
	ok("10.5", 0, 1050);
	ok("100000000.00", 0, MONEY_MAX_FEN);
	ok("100000000", 0, MONEY_MAX_FEN);
	ok("99999999.99", 0, MONEY_MAX_FEN - 1);
	ok("0.00", MONEY_ALLOW_ZERO, 0);
	ok("-0.00", MONEY_ALLOW_ZERO | MONEY_ALLOW_NEGATIVE, 0);
	ok("-1.50", MONEY_ALLOW_NEGATIVE, -150);
	ok("123456789.00", MONEY_NO_LIMIT, 12345678900);

	bad(NULL, 0, -EINVAL);
	bad("", 0, -EINVAL);
	bad(" 1.00", 0, -EINVAL);
	bad("1.00 ", 0, -EINVAL);
	bad("+1.00", 0, -EINVAL);
	bad("-1", 0, -EINVAL);
	bad("1e3", 0, -EINVAL);
	bad("1E3", 0, -EINVAL);
	bad("0.001", 0, -EINVAL);
	bad("1.234", 0, -EINVAL);
	bad(".5", 0, -EINVAL);
	bad("5.", 0, -EINVAL);
	bad("01.00", 0, -EINVAL);
	bad("00", 0, -EINVAL);
	bad("abc", 0, -EINVAL);
	bad("1,00", 0, -EINVAL);
	bad("1.0.0", 0, -EINVAL);
	bad("0x10", 0, -EINVAL);
	bad("inf", 0, -EINVAL);
	bad("nan", 0, -EINVAL);
	bad("1\xef\xbc\x8e"
	    "00",
	    0, -EINVAL); /* fullwidth full stop */
	bad("0.00", 0, -ERANGE);
	bad("0", 0, -ERANGE);
	bad("100000000.01", 0, -ERANGE);
	bad("999999999999999999999", 0, -ERANGE);
	bad("99999999999999999999.99", MONEY_NO_LIMIT, -ERANGE);

	CHECK_STR_EQ(money_format(8888, buf), "88.88");
	CHECK_STR_EQ(money_format(1, buf), "0.01");
	CHECK_STR_EQ(money_format(10, buf), "0.10");
	CHECK_STR_EQ(money_format(100, buf), "1.00");
	CHECK_STR_EQ(money_format(0, buf), "0.00");
	CHECK_STR_EQ(money_format(-150, buf), "-1.50");
	CHECK_STR_EQ(money_format(MONEY_MAX_FEN, buf), "100000000.00");
	CHECK_STR_EQ(money_format(INT64_MIN, buf), "-92233720368547758.08");

	/* Round trip over a spread of values. */
	for (int64_t v = 1; v <= MONEY_MAX_FEN; v = v * 3 + 7) {
		int64_t back;
		CHECK_INT_EQ(money_parse(money_format(v, buf), &back), 0);
		CHECK_INT_EQ(back, v);
	}
	return 0;
}
