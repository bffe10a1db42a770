/* SPDX-License-Identifier: MIT */
/* Test helpers: detail CSVs in the layout of doc/protocol.md §5.8, GBK encoding, zips in memory. */
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "bill-fixture.h"
#include "common/buf.h"
#include "test.h"

char *
fixture_row(const char *trade_no, const char *out_trade_no, const char *type, const char *amount,
	    const char *received, const char *out_request_no)
{
	struct buf b = BUF_INIT(4096);

	CHECK(buf_printf(&b,
			 "%s\t,%s\t,%s\t,cup of tea\t,2026-11-25 10:00:00,2026-11-25 10:00:05,"
			 "S1\t,\t,\t,\t,abc***@example.com\t,%s,%s,0.00,0.00,0.00,0.00,0.00,,"
			 "0.00,0.00,%s\t,0.00,0.00,",
			 trade_no, out_trade_no, type, amount, received, out_request_no) >= 0);
	return buf_steal(&b);
}

char *
fixture_detail(const char *const *rows, size_t n_rows, unsigned n_trades, const char *trades_total,
	       unsigned n_refunds, const char *refunds_total, bool footer)
{
	struct buf b = BUF_INIT(1 << 20);

	CHECK(buf_puts(&b, "#支付宝业务明细查询\r\n#账号：[20880000000000010156]\r\n"
			   "#起始日期：[2026年11月25日 00:00:00]   终止日期：[2026年11月26日 "
			   "00:00:00]\r\n"
			   "#-----------------------------------------业务明细列表-----------"
			   "-----------------------------\r\n"
			   "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,"
			   "门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,"
			   "支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,"
			   "券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
			   "退款批次号/请求号,服务费（元）,分润（元）,备注\r\n") >= 0);
	for (size_t i = 0; i < n_rows; i++)
		CHECK(buf_printf(&b, "%s\r\n", rows[i]) >= 0);
	CHECK(buf_puts(&b, "#-----------------------------------------业务明细列表结束-------"
			   "-----------------------------\r\n") >= 0);
	if (footer) {
		CHECK(buf_printf(&b, "#交易合计：%u笔，商家实收共%s元，商家优惠共0.00元\r\n",
				 n_trades, trades_total) >= 0);
		CHECK(buf_printf(&b,
				 "#退款合计：%u笔，商家实收退款共%s元，商家优惠退款共0.00元\r\n",
				 n_refunds, refunds_total) >= 0);
	}
	CHECK(buf_puts(&b, "#导出时间：[2026年11月26日 05:46:49]\r\n") >= 0);
	return buf_steal(&b);
}

void
fixture_gbk(const char *utf8, char **ret, size_t *ret_len)
{
	iconv_t cd = iconv_open("GBK", "UTF-8");
	size_t left = strlen(utf8), cap = left * 2 + 16, room = cap;
	char *out = malloc(cap), *dst = out, *src = (char *)utf8;

	CHECK(cd != (iconv_t)-1 && out);
	CHECK(iconv(cd, &src, &left, &dst, &room) != (size_t)-1);
	iconv_close(cd);
	*ret_len = cap - room;
	*ret = out;
}

static la_ssize_t
zip_write(struct archive *a, void *userdata, const void *p, size_t n)
{
	CHECK(buf_append(userdata, p, n) >= 0);
	return (la_ssize_t)n;
}

void
fixture_zip(const struct fixture_entry *e, size_t n, void **ret, size_t *ret_len)
{
	struct buf zip = BUF_INIT(64u << 20);
	struct archive *a = archive_write_new();

	CHECK(a);
	CHECK(archive_write_set_format_zip(a) == ARCHIVE_OK);
	CHECK(archive_write_open(a, &zip, NULL, zip_write, NULL) == ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_copy_pathname(ae, e[i].name);
		archive_entry_set_size(ae, (la_int64_t)e[i].len);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
		CHECK(archive_write_data(a, e[i].data, e[i].len) == (la_ssize_t)e[i].len);
		archive_entry_free(ae);
	}
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	*ret_len = zip.len;
	*ret = buf_steal(&zip);
}
