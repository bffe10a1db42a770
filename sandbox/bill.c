/* SPDX-License-Identifier: MIT */
/* Bill files (doc/protocol.md §5.8): a zip of GBK CSVs built from the sandbox's own ledger. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/money.h"
#include "sandbox/sandbox.h"

#define BILL_MAX (64 * 1024 * 1024)
#define EOL      "\r\n"

struct row {
	const struct sb_trade *t;
	const struct sb_refund *f; /* NULL for the trade row */
	time_t done;
};

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return (x->done > y->done) - (x->done < y->done);
}

/* "2019年09月16日 00:00:00" */
static int
put_cn_time(struct buf *b, time_t t)
{
	char s[BEIJING_TIME_BUF];

	beijing_format_time(t, s);
	return buf_printf(b, "%.4s年%.2s月%.2s日 %s", s, s + 5, s + 8, s + 11);
}

/* A text field: commas and line breaks would break the CSV, so they become spaces. */
static int
put_text(struct buf *b, const char *s, int tab)
{
	int r = 0;

	for (const char *p = strempty(s); *p && r >= 0; p++)
		r = buf_putc(b, (*p == ',' || *p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p);
	if (r >= 0 && tab)
		r = buf_putc(b, '\t'); /* doc/protocol.md §5.8: the Excel guard */
	return r < 0 ? r : buf_putc(b, ',');
}

static int
put_header(struct buf *b, const char *title, const char *account, time_t day)
{
	int r = buf_printf(b, "#%s" EOL "#账号：[%s]" EOL "#起始日期：[", title, account);

	r = r ?: put_cn_time(b, day);
	r = r ?: buf_puts(b, "]   终止日期：[");
	r = r ?: put_cn_time(b, day + 86400);
	r = r ?: buf_puts(b, "]" EOL);
	return r;
}

static int
build_detail(const struct row *rows, size_t n, const char *account, time_t day, time_t now,
	     struct buf *b)
{
	int64_t paid = 0, refunded = 0;
	size_t n_paid = 0, n_refund = 0;
	char a[MONEY_BUF_SIZE], tb[BEIJING_TIME_BUF];
	int r;

	r = put_header(b, "支付宝业务明细查询", account, day);
	r = r
		    ?: buf_puts(b, "#-----------------------------------------业务明细列表---------"
				   "-------------------------------" EOL);
	r = r
		    ?: buf_puts(b, "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,"
				   "门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
				   "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
				   "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,"
				   "卡消费金额（元）,退款批次号/"
				   "请求号,服务费（元）,分润（元）,备注" EOL);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct sb_trade *t = rows[i].t;
		int64_t amount = rows[i].f ? -rows[i].f->amount_fen : t->total_fen;

		if (rows[i].f) {
			n_refund++;
			refunded += amount;
		} else {
			n_paid++;
			paid += amount;
		}
		r = r ?: put_text(b, t->trade_no, 1);
		r = r ?: put_text(b, t->out_trade_no, 1);
		r = r ?: put_text(b, rows[i].f ? "退款" : "交易", 1);
		r = r ?: put_text(b, t->subject, 1);
		r = r ?: buf_printf(b, "%s,", beijing_format_time(t->gmt_create, tb));
		r = r ?: buf_printf(b, "%s,", beijing_format_time(rows[i].done, tb));
		r = r ?: put_text(b, t->store_id, 1);
		r = r ?: put_text(b, "", 1);
		r = r ?: put_text(b, t->operator_id, 1);
		r = r ?: put_text(b, t->terminal_id, 1);
		r = r ?: put_text(b, t->buyer_logon_id, 1);
		r = r ?: buf_printf(b, "%s,", money_format(t->total_fen, a));
		r = r ?: buf_printf(b, "%s,", money_format(amount, a));
		r = r ?: buf_puts(b, "0.00,0.00,0.00,0.00,0.00,,0.00,0.00,");
		r = r ?: put_text(b, rows[i].f ? rows[i].f->out_request_no : "", 1);
		r = r ?: buf_puts(b, "0.00,0.00," EOL);
	}
	r = r
		    ?: buf_puts(b, "#-----------------------------------------业务明细列表结束-----"
				   "-------------------------------" EOL);
	r = r
		    ?: buf_printf(b, "#交易合计：%zu笔，商家实收共%s元，商家优惠共0.00元" EOL,
				  n_paid, money_format(paid, a));
	r = r
		    ?: buf_printf(b,
				  "#退款合计：%zu笔，商家实收退款共%s元，商家优惠退款共0.00元" EOL,
				  n_refund, money_format(refunded, a));
	r = r ?: buf_puts(b, "#导出时间：[");
	r = r ?: put_cn_time(b, now);
	r = r ?: buf_puts(b, "]" EOL);
	return r;
}

/* The summary file: one line per store, then the total. */
static int
build_summary(const struct row *rows, size_t n, const char *account, time_t day, time_t now,
	      struct buf *b)
{
	int64_t tot_order = 0, tot_net = 0;
	size_t tot_paid = 0, tot_refund = 0;
	char a[MONEY_BUF_SIZE], c[MONEY_BUF_SIZE];
	int r;

	r = put_header(b, "支付宝业务汇总查询", account, day);
	r = r
		    ?: buf_puts(b, "#-----------------------------------------业务汇总列表---------"
				   "-------------------------------" EOL);
	r = r
		    ?: buf_puts(b, "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,"
				   "商家实收（元）,支付宝优惠（元）,商家优惠（元）,"
				   "卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）" EOL);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *store = strempty(rows[i].t->store_id);
		int64_t order = 0, net = 0;
		size_t paid = 0, refunds = 0;
		int seen = 0;

		for (size_t k = 0; k < i && !seen; k++)
			seen = STR_EQ(strempty(rows[k].t->store_id), store);
		if (seen)
			continue;
		for (size_t k = i; k < n; k++) {
			if (!STR_EQ(strempty(rows[k].t->store_id), store))
				continue;
			if (rows[k].f) {
				refunds++;
				net -= rows[k].f->amount_fen;
			} else {
				paid++;
				order += rows[k].t->total_fen;
				net += rows[k].t->total_fen;
			}
		}
		tot_paid += paid;
		tot_refund += refunds;
		tot_order += order;
		tot_net += net;
		r = r ?: put_text(b, store, 1);
		r = r ?: put_text(b, "", 1);
		r = r
			    ?: buf_printf(b, "%zu,%zu,%s,%s,0.00,0.00,0.00,0.00,0.00,%s" EOL, paid,
					  refunds, money_format(order, a), money_format(net, c),
					  money_format(net, c));
	}
	r = r
		    ?: buf_printf(b, "合计,,%zu,%zu,%s,%s,0.00,0.00,0.00,0.00,0.00,%s" EOL,
				  tot_paid, tot_refund, money_format(tot_order, a),
				  money_format(tot_net, c), money_format(tot_net, c));
	r = r
		    ?: buf_puts(b, "#-----------------------------------------业务汇总列表结束-----"
				   "-------------------------------" EOL);
	r = r ?: buf_puts(b, "#导出时间：[");
	r = r ?: put_cn_time(b, now);
	r = r ?: buf_puts(b, "]" EOL);
	return r;
}

static la_ssize_t
zip_write(struct archive *a, void *userdata, const void *p, size_t n)
{
	struct buf *b = userdata;

	if (buf_append(b, p, n) < 0) {
		archive_set_error(a, ENOBUFS, "bill too large");
		return -1;
	}
	return (la_ssize_t)n;
}

static int
zip_add(struct archive *a, const char *name_utf8, const struct buf *csv, time_t now)
{
	_cleanup_free_ char *name = NULL, *data = NULL;
	struct archive_entry *e;
	size_t len = 0;
	int r;

	/* doc/protocol.md §5.8: entry names and contents in GBK. */
	r = sb_charset_from_utf8(SB_CHARSET_GBK, name_utf8, strlen(name_utf8), &name, NULL);
	if (r >= 0)
		r = sb_charset_from_utf8(SB_CHARSET_GBK, csv->data ?: "", csv->len, &data, &len);
	if (r < 0)
		return r;
	e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_copy_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, now, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    archive_write_data(a, data, len) != (la_ssize_t)len)
		r = -EIO;
	archive_entry_free(e);
	return r;
}

int
sb_bill_build(struct sandbox *sb, time_t day, time_t now, char **ret_name, void **ret_zip,
	      size_t *ret_len)
{
	_cleanup_free_ struct row *rows = NULL;
	struct buf detail = BUF_INIT(BILL_MAX), summary = BUF_INIT(BILL_MAX),
		   zip = BUF_INIT(BILL_MAX);
	char account[40], date[BEIJING_DATE_BUF], name[128];
	_cleanup_free_ char *file = NULL;
	struct archive *a = NULL;
	size_t n = 0, cap = 0;
	int r;

	for (size_t i = 0; i < sb->n_trades; i++)
		cap += 1 + sb->trades[i]->n_refunds;
	rows = calloc(cap + 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < sb->n_trades; i++) {
		const struct sb_trade *t = sb->trades[i];

		if (t->gmt_payment >= day && t->gmt_payment < day + 86400)
			rows[n++] = (struct row){.t = t, .done = t->gmt_payment};
		for (size_t k = 0; k < t->n_refunds; k++)
			if (t->refunds[k].at >= day && t->refunds[k].at < day + 86400)
				rows[n++] = (struct row){
					.t = t, .f = &t->refunds[k], .done = t->refunds[k].at};
	}
	if (n == 0)
		return -ENOENT;
	qsort(rows, n, sizeof(*rows), row_cmp);
	snprintf(account, sizeof(account), "%s0156", sb->cfg.pid);
	beijing_format_date(day, 0, date);

	r = build_detail(rows, n, account, day, now, &detail);
	if (r >= 0)
		r = build_summary(rows, n, account, day, now, &summary);
	if (r >= 0) {
		a = archive_write_new();
		if (!a || archive_write_set_format_zip(a) != ARCHIVE_OK ||
		    archive_write_open(a, &zip, NULL, zip_write, NULL) != ARCHIVE_OK)
			r = -EIO;
	}
	if (r >= 0) {
		snprintf(name, sizeof(name), "%s_%s_业务明细.csv", account, date);
		r = zip_add(a, name, &detail, now);
	}
	if (r >= 0) {
		snprintf(name, sizeof(name), "%s_%s_业务明细(汇总).csv", account, date);
		r = zip_add(a, name, &summary, now);
	}
	if (a) {
		if (archive_write_close(a) != ARCHIVE_OK && r >= 0)
			r = -EIO;
		archive_write_free(a);
	}
	if (r >= 0 && asprintf(&file, "%s_%s.csv.zip", account, date) < 0)
		r = -ENOMEM;
	buf_free(&detail);
	buf_free(&summary);
	if (r < 0) {
		buf_free(&zip);
		return log_error_errno(r, "Failed to build the bill of %s: %m", date);
	}
	*ret_len = zip.len;
	*ret_zip = buf_steal(&zip);
	*ret_name = TAKE_PTR(file);
	return 0;
}
