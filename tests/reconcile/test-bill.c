/* SPDX-License-Identifier: MIT */
/* payment/bill: the detail CSV, GBK, the zip, and every way a bill can be broken. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bill-fixture.h"
#include "common/macro.h"
#include "payment/bill/bill.h"
#include "test.h"

#define DETAIL  "20880000000000010156_20261125_业务明细.csv"
#define SUMMARY "20880000000000010156_20261125_业务明细(汇总).csv"

static char *rows[3];

static char *
good_text(void)
{
	return fixture_detail((const char *const *)rows, 3, 2, "89.88", 1, "-0.50", true);
}

/* A zip of the GBK detail (plus the summary, first, so the parser must pick). */
static void
good_zip(const char *text, bool gbk_content, bool gbk_names, void **zip, size_t *len)
{
	char *name = NULL, *sname = NULL, *data = NULL;
	size_t name_len, sname_len, data_len;

	fixture_gbk(DETAIL, &name, &name_len);
	fixture_gbk(SUMMARY, &sname, &sname_len);
	name = realloc(name, name_len + 1);
	name[name_len] = '\0';
	sname = realloc(sname, sname_len + 1);
	sname[sname_len] = '\0';
	if (gbk_content)
		fixture_gbk(text, &data, &data_len);
	else {
		data = strdup(text);
		data_len = strlen(text);
	}
	fixture_zip((struct fixture_entry[]){{gbk_names ? sname : SUMMARY, "x", 1},
					     {gbk_names ? name : DETAIL, data, data_len}},
		    2, zip, len);
	free(name);
	free(sname);
	free(data);
}

static void
test_csv_good(void)
{
	_cleanup_free_ char *text = good_text();
	struct bill *b = NULL;

	CHECK_INT_EQ(bill_csv_parse(text, strlen(text), &b, NULL), 0);
	CHECK_STR_EQ(b->account, "20880000000000010156");
	CHECK_INT_EQ(b->n_rows, 3);
	CHECK_INT_EQ(b->rows[0].type, BILL_ROW_TRADE);
	CHECK_STR_EQ(b->rows[0].trade_no, "2026112522001400000000000001"); /* TAB stripped */
	CHECK_STR_EQ(b->rows[0].out_trade_no, "POS1_20261125_1");
	CHECK_STR_EQ(b->rows[0].subject, "cup of tea");
	CHECK_STR_EQ(b->rows[0].finished, "2026-11-25 10:00:05");
	CHECK_INT_EQ(b->rows[0].order_amount_fen, 8888);
	CHECK_INT_EQ(b->rows[0].received_fen, 8888);
	CHECK_INT_EQ(b->rows[2].type, BILL_ROW_REFUND);
	CHECK_INT_EQ(b->rows[2].received_fen, -50);
	CHECK_STR_EQ(b->rows[2].out_request_no, "POS1_20261125_1_r1");
	CHECK_STR_EQ(b->rows[0].out_request_no, "");
	CHECK_INT_EQ(b->n_trades, 2);
	CHECK_INT_EQ(b->trades_fen, 8988);
	CHECK_INT_EQ(b->n_refunds, 1);
	CHECK_INT_EQ(b->refunds_fen, -50);
	bill_free(b);

	/* LF line ends and no trailing newline parse the same. */
	{
		_cleanup_free_ char *lf = strdup(text);
		char *w = lf;
		for (const char *p = text; *p; p++)
			if (*p != '\r')
				*w++ = *p;
		*w = '\0';
		CHECK_INT_EQ(bill_csv_parse(lf, strlen(lf) - 1, &b, NULL), 0);
		CHECK_INT_EQ(b->n_rows, 3);
		bill_free(b);
	}
}

static void
test_csv_empty_day(void)
{
	_cleanup_free_ char *text = fixture_detail(NULL, 0, 0, "0.00", 0, "0.00", true);
	struct bill *b = NULL;

	CHECK_INT_EQ(bill_csv_parse(text, strlen(text), &b, NULL), 0);
	CHECK_INT_EQ(b->n_rows, 0);
	bill_free(b);
}

static void
expect_refused(const char *text, int err, const char *needle)
{
	struct bill_error e = {};
	struct bill *b = (struct bill *)0x1;

	CHECK_INT_EQ(bill_csv_parse(text, strlen(text), &b, &e), err);
	CHECK(b == (struct bill *)0x1); /* untouched */
	if (!strstr(e.message, needle)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", e.message, needle);
		abort();
	}
}

static void
test_csv_broken(void)
{
	_cleanup_free_ char *no_footer =
		fixture_detail((const char *const *)rows, 3, 2, "89.88", 1, "-0.50", false);
	_cleanup_free_ char *bad_sum =
		fixture_detail((const char *const *)rows, 3, 2, "89.87", 1, "-0.50", true);
	_cleanup_free_ char *bad_count =
		fixture_detail((const char *const *)rows, 3, 3, "89.88", 1, "-0.50", true);
	_cleanup_free_ char *bad_refunds =
		fixture_detail((const char *const *)rows, 3, 2, "89.88", 1, "-0.40", true);
	_cleanup_free_ char *short_row = NULL, *bad_type = NULL, *bad_amount = NULL,
			    *wrong_sign = NULL, *truncated = NULL;
	char *r1[1], short_line[] = "2026\t,POS1_1\t,交易\t,tea";

	expect_refused(no_footer, -EBADMSG, "footer");
	expect_refused(bad_sum, -EBADMSG, "the footer says 2 trades for 89.87");
	expect_refused(bad_count, -EBADMSG, "the footer says 3 trades");
	expect_refused(bad_refunds, -EBADMSG, "refunds for -0.40");

	r1[0] = short_line;
	short_row = fixture_detail((const char *const *)r1, 1, 1, "1.00", 0, "0.00", true);
	expect_refused(short_row, -EBADMSG, "line 6: not 25 columns");

	r1[0] = fixture_row("1", "POS1_1", "转账", "1.00", "1.00", "");
	bad_type = fixture_detail((const char *const *)r1, 1, 1, "1.00", 0, "0.00", true);
	free(r1[0]);
	expect_refused(bad_type, -EBADMSG, "业务类型");

	r1[0] = fixture_row("1", "POS1_1", "交易", "1.00", "1e2", "");
	bad_amount = fixture_detail((const char *const *)r1, 1, 1, "1.00", 0, "0.00", true);
	free(r1[0]);
	expect_refused(bad_amount, -EBADMSG, "amount");

	r1[0] = fixture_row("1", "POS1_1", "退款", "1.00", "1.00", "x");
	wrong_sign = fixture_detail((const char *const *)r1, 1, 0, "0.00", 1, "1.00", true);
	free(r1[0]);
	expect_refused(wrong_sign, -EBADMSG, "wrong sign");

	/* Cut inside the list: no end marker. */
	truncated = good_text();
	*strstr(truncated, "#-----------------------------------------业务明细列表结束") = '\0';
	expect_refused(truncated, -EBADMSG, "truncated");

	expect_refused("", -EBADMSG, "empty");
	expect_refused("a,b,c\r\n", -EBADMSG, "not a bill detail");
}

static void
test_gbk(void)
{
	char *out = NULL;
	size_t len = 0;

	CHECK_INT_EQ(bill_gbk_to_utf8("\xd6\xa7\xb8\xb6\xb1\xa6", 6, 100, &out, &len), 0);
	CHECK_STR_EQ(out, "支付宝");
	CHECK_INT_EQ(len, strlen("支付宝"));
	free(out);
	CHECK_INT_EQ(bill_gbk_to_utf8("\xff\xff", 2, 100, &out, &len), -EILSEQ);
	CHECK_INT_EQ(bill_gbk_to_utf8("\xd6", 1, 100, &out, &len), -EILSEQ); /* cut short */
	CHECK_INT_EQ(bill_gbk_to_utf8("\xd6\xa7\xb8\xb6\xb1\xa6", 6, 4, &out, &len), -E2BIG);
}

static void
test_zip_good(void)
{
	_cleanup_free_ char *text = good_text();
	_cleanup_free_ void *zip = NULL;
	size_t len = 0;
	struct bill *b = NULL;

	good_zip(text, true, true, &zip, &len);
	CHECK_INT_EQ(bill_zip_parse(zip, len, 0, &b, NULL), 0);
	CHECK_INT_EQ(b->n_rows, 3);
	CHECK_STR_EQ(b->rows[1].out_trade_no, "POS2_20261125_7");
	bill_free(b);
}

static void
expect_zip_refused(const void *zip, size_t len, size_t cap, int err, const char *needle)
{
	struct bill_error e = {};
	struct bill *b = NULL;

	CHECK_INT_EQ(bill_zip_parse(zip, len, cap, &b, &e), err);
	CHECK(!b);
	if (!strstr(e.message, needle)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", e.message, needle);
		abort();
	}
}

static void
test_zip_broken(void)
{
	_cleanup_free_ char *text = good_text(), *name = NULL, *zeros = NULL, *gbk = NULL;
	_cleanup_free_ void *zip = NULL, *bomb = NULL, *utf8 = NULL, *other = NULL, *badgbk = NULL;
	size_t len = 0, bomb_len = 0, utf8_len = 0, other_len = 0, name_len = 0, gbk_len = 0,
	       badgbk_len = 0;

	good_zip(text, true, true, &zip, &len);

	/* Not a zip at all; a zip cut inside the detail's data; a flipped byte in that data. */
	expect_zip_refused("hello, world", 12, 0, -EBADMSG, "zip");
	fixture_gbk(DETAIL, &name, &name_len);
	name = realloc(name, name_len + 1);
	name[name_len] = '\0';
	{
		const char *at = memmem(zip, len, name, name_len);
		size_t data_at;
		_cleanup_free_ unsigned char *bad = malloc(len);

		CHECK(at);
		data_at = (size_t)(at - (const char *)zip) + name_len + 64;
		CHECK(data_at + 64 < len);
		expect_zip_refused(zip, data_at, 0, -EBADMSG, "");
		memcpy(bad, zip, len);
		bad[data_at] ^= 0x55;
		expect_zip_refused(bad, len, 0, -EBADMSG, "");
	}

	/* A zip bomb: 8 MiB of zeros compress to a few KiB; the cap is 1 MiB. */
	zeros = calloc(1, 8u << 20);
	fixture_zip((struct fixture_entry[]){{name, zeros, 8u << 20}}, 1, &bomb, &bomb_len);
	CHECK(bomb_len < (1u << 20));
	expect_zip_refused(bomb, bomb_len, 1u << 20, -EFBIG, "more than 1048576 bytes");

	/* UTF-8 where GBK belongs (names and contents). */
	good_zip(text, false, false, &utf8, &utf8_len);
	expect_zip_refused(utf8, utf8_len, 0, -EBADMSG, "UTF-8");

	/* Bytes that are not GBK. */
	fixture_gbk(text, &gbk, &gbk_len);
	gbk[gbk_len - 3] = (char)0xff;
	fixture_zip((struct fixture_entry[]){{name, gbk, gbk_len}}, 1, &badgbk, &badgbk_len);
	expect_zip_refused(badgbk, badgbk_len, 0, -EILSEQ, "not valid GBK");

	/* No detail entry. */
	fixture_zip((struct fixture_entry[]){{"readme.txt", "x", 1}}, 1, &other, &other_len);
	expect_zip_refused(other, other_len, 0, -EBADMSG, "no detail entry");
}

int
main(void)
{
	rows[0] = fixture_row("2026112522001400000000000001", "POS1_20261125_1", "交易", "88.88",
			      "88.88", "");
	rows[1] = fixture_row("2026112522001400000000000002", "POS2_20261125_7", "交易", "1.00",
			      "1.00", "");
	rows[2] = fixture_row("2026112522001400000000000001", "POS1_20261125_1", "退款", "88.88",
			      "-0.50", "POS1_20261125_1_r1");
	test_csv_good();
	test_csv_empty_day();
	test_csv_broken();
	test_gbk();
	test_zip_good();
	test_zip_broken();
	for (size_t i = 0; i < 3; i++)
		free(rows[i]);
	return 0;
}
