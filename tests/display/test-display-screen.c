/* SPDX-License-Identifier: MIT */
/* Screen texts: sub_code table, string hygiene, amount and countdown formatting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/display/display-private.h"
#include "test.h"

static void
test_reasons(void)
{
	const struct display_reason *table, *r;
	size_t n = display_reason_table(&table);

	CHECK(n >= 20);
	for (size_t i = 0; i < n; i++) {
		/* bsearch needs strict order; every entry has both languages. */
		if (i > 0)
			CHECK(strcmp(table[i - 1].code, table[i].code) < 0);
		CHECK(!isempty(table[i].zh) && !isempty(table[i].en));
		CHECK(display_reason_lookup(table[i].code) == &table[i]);
	}
	/* doc/protocol.md §6, the two the issue names. */
	r = display_reason_lookup("ACQ.BUYER_BALANCE_NOT_ENOUGH");
	CHECK(r);
	CHECK_STR_EQ(r->zh, "余额不足");
	CHECK_STR_EQ(r->en, "Balance not enough");
	r = display_reason_lookup("ACQ.PAYMENT_AUTH_CODE_INVALID");
	CHECK(r);
	CHECK_STR_EQ(r->zh, "付款码已失效，请刷新后重试");
	CHECK_STR_EQ(r->en, "Code expired, refresh and scan again");
	r = display_reason_lookup("ACQ.PULL_MOBILE_CASHIER_FAIL");
	CHECK(r && strstr(r->en, "refresh"));
	CHECK(display_reason_lookup(DISPLAY_REASON_CODE_NOT_SUPPORTED));
	CHECK(display_reason_lookup(DISPLAY_REASON_QR_EXPIRED));
	CHECK(display_reason_lookup(DISPLAY_REASON_TIMEOUT));
	CHECK(display_reason_lookup(DISPLAY_REASON_NETWORK));
	/* Unknown, case-different, empty and NULL codes fall back to sub_msg. */
	CHECK(!display_reason_lookup("ACQ.SOMETHING_NEW"));
	CHECK(!display_reason_lookup("acq.buyer_balance_not_enough"));
	CHECK(!display_reason_lookup(""));
	CHECK(!display_reason_lookup(NULL));
}

static void
check_sanitize(const char *in, size_t max, const char *want, int want_r)
{
	char *out = NULL;

	CHECK_INT_EQ(display_text_sanitize(in, max, &out), want_r);
	CHECK_STR_EQ(out, want);
	free(out);
}

static void
test_sanitize(void)
{
	check_sanitize(NULL, 10, "", 0);
	check_sanitize("", 10, "", 0);
	check_sanitize("便利店", 64, "便利店", 0);
	/* Cut at a character boundary, never inside 店 (3 bytes), and marked. */
	check_sanitize("便利店", 8, "便利…", 1);
	check_sanitize("便利店", 9, "便利店", 0);
	check_sanitize("abcdef", 3, "abc…", 1);
	/* Invalid UTF-8: lone continuation, overlong, surrogate, above U+10FFFF, truncated. */
	check_sanitize("a\x80z", 64, "a\xef\xbf\xbdz", 0);
	check_sanitize("\xc0\xaf", 64, "\xef\xbf\xbd\xef\xbf\xbd", 0);
	check_sanitize("\xed\xa0\x80", 64, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0);
	check_sanitize("\xf4\x90\x80\x80", 64, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		       0);
	check_sanitize("ok\xe4\xbd", 64, "ok\xef\xbf\xbd\xef\xbf\xbd", 0);
	/* Controls become spaces: no escape sequences reach a terminal. */
	check_sanitize("a\x1b[2Jb\r\n\x7f\xc2\x85", 64, "a [2Jb    ", 0);
	/* Bidi overrides and isolates are dropped; RTL letters themselves stay. */
	check_sanitize("\xe2\x80\xae"
		       "abc\xe2\x81\xa6x\xe2\x81\xa9",
		       64, "abcx", 0);
	check_sanitize("שלום", 64, "שלום", 0);
	/* Four-byte characters (emoji) are kept whole. */
	check_sanitize("😀😀", 4, "😀…", 1);
	check_sanitize("😀😀", 7, "😀…", 1);
}

static void
test_formats(void)
{
	char a[DISPLAY_AMOUNT_BUF], c[DISPLAY_COUNTDOWN_BUF];

	CHECK_STR_EQ(display_amount_format(8888, a), "¥88.88");
	CHECK_STR_EQ(display_amount_format(1, a), "¥0.01");
	CHECK_STR_EQ(display_amount_format(INT64_C(10000000000), a), "¥100000000.00");
	CHECK_STR_EQ(display_amount_format(0, a), "");
	CHECK_STR_EQ(display_amount_format(-5, a), "");
	CHECK_STR_EQ(display_countdown_format(119, c), "1:59");
	CHECK_STR_EQ(display_countdown_format(0, c), "0:00");
	CHECK_STR_EQ(display_countdown_format(-3, c), "0:00");
	CHECK_STR_EQ(display_countdown_format(7200, c), "99:59");
	CHECK_STR_EQ(display_countdown_format(65, c), "1:05");
}

static void
test_kinds(void)
{
	struct display_labels l;

	for (int k = 0; k < _DISPLAY_SCREEN_MAX; k++) {
		CHECK(display_screen_kind_to_string(k));
		display_labels_get(k, &l);
		CHECK(!isempty(l.title_zh) && !isempty(l.title_en));
		CHECK(!l.sub_zh == !l.sub_en);
	}
	CHECK(!display_screen_kind_to_string(_DISPLAY_SCREEN_MAX));
}

int
main(void)
{
	test_reasons();
	test_sanitize();
	test_formats();
	test_kinds();
	return 0;
}
