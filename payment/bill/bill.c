/* SPDX-License-Identifier: MIT */
/* Alipay trade bills (doc/protocol.md §5.8): the detail entry of the zip, GBK decoding, detail
 * CSV parsing. */
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/money.h"
#include "payment/bill/bill.h"
#include "payment/bill/unzip.h"

#define log_oom() log_error_errno(ENOMEM, "Out of memory")

/* doc/protocol.md §5.8: the detail file's fixed lines, in UTF-8 once decoded. */
#define TITLE        "#支付宝业务明细查询"
#define ACCOUNT      "#账号：["
#define LIST_START   "业务明细列表"
#define LIST_END     "业务明细列表结束"
#define FOOT_TRADES  "#交易合计："
#define FOOT_REFUNDS "#退款合计："
#define DETAIL_NAME  "_业务明细.csv"

static const char *const columns[BILL_COLUMNS] = {
	"支付宝交易号",
	"商户订单号",
	"业务类型",
	"商品名称",
	"创建时间",
	"完成时间",
	"门店编号",
	"门店名称",
	"操作员",
	"终端号",
	"对方账户",
	"订单金额（元）",
	"商家实收（元）",
	"支付宝红包（元）",
	"集分宝（元）",
	"支付宝优惠（元）",
	"商家优惠（元）",
	"券核销金额（元）",
	"券名称",
	"商家红包消费金额（元）",
	"卡消费金额（元）",
	"退款批次号/请求号",
	"服务费（元）",
	"分润（元）",
	"备注",
};

enum {
	COL_TRADE_NO = 0,
	COL_OUT_TRADE_NO = 1,
	COL_TYPE = 2,
	COL_SUBJECT = 3,
	COL_CREATED = 4,
	COL_FINISHED = 5,
	COL_STORE_ID = 6,
	COL_TERMINAL_ID = 9,
	COL_ORDER_AMOUNT = 11,
	COL_RECEIVED = 12,
	COL_OUT_REQUEST_NO = 21,
};

const char *
bill_row_type_to_string(enum bill_row_type t)
{
	switch (t) {
	case BILL_ROW_TRADE:
		return "trade";
	case BILL_ROW_REFUND:
		return "refund";
	case _BILL_ROW_TYPE_MAX:
		break;
	}
	return NULL;
}

/* Logs once and describes the refusal for the caller; returns r. */
_printf_(3, 4) static int bill_fail(struct bill_error *e, int r, const char *fmt, ...)
{
	char msg[BILL_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e)
		snprintf(e->message, sizeof(e->message), "%s", msg);
	return log_error_errno(r, "Bill refused: %s", msg);
}

static void
bill_row_done(struct bill_row *row)
{
	free(row->trade_no);
	free(row->out_trade_no);
	free(row->subject);
	free(row->created);
	free(row->finished);
	free(row->store_id);
	free(row->terminal_id);
	free(row->out_request_no);
}

struct bill *
bill_free(struct bill *b)
{
	if (!b)
		return NULL;
	for (size_t i = 0; i < b->n_rows; i++)
		bill_row_done(&b->rows[i]);
	free(b->rows);
	free(b->account);
	free(b);
	return NULL;
}

struct bill *
bill_new_empty(void)
{
	return calloc(1, sizeof(struct bill));
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Splits `line` (modified in place) at commas into exactly BILL_COLUMNS fields, each with the
 * trailing TABs and spaces of the Excel guard removed (doc/protocol.md §5.8). */
static int
split_fields(char *line, char *f[static BILL_COLUMNS])
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		char *comma = strchr(p, ',');
		size_t l;

		if (n >= BILL_COLUMNS)
			return -EBADMSG;
		if (comma)
			*comma = '\0';
		l = strlen(p);
		while (l > 0 && (p[l - 1] == '\t' || p[l - 1] == ' '))
			p[--l] = '\0';
		if (l > BILL_FIELD_MAX)
			return -E2BIG;
		f[n++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	return n == BILL_COLUMNS ? 0 : -EBADMSG;
}

static int
parse_amount(const char *s, int64_t *ret)
{
	return money_parse_flags(s, MONEY_ALLOW_ZERO | MONEY_ALLOW_NEGATIVE | MONEY_NO_LIMIT, ret);
}

/* "#交易合计：6笔，商家实收共0.06元，…" / "#退款合计：4笔，商家实收退款共-0.04元，…" */
static int
parse_footer(const char *line, const char *prefix, const char *sum_label, size_t *ret_n,
	     int64_t *ret_fen)
{
	char num[32], amount[MONEY_BUF_SIZE];
	const char *p = line + strlen(prefix), *q;
	unsigned long long n;
	char *end;

	q = strstr(p, "笔，");
	if (!q || q == p || (size_t)(q - p) >= sizeof(num))
		return -EBADMSG;
	memcpy(num, p, (size_t)(q - p));
	num[q - p] = '\0';
	if (num[0] < '0' || num[0] > '9')
		return -EBADMSG;
	errno = 0;
	n = strtoull(num, &end, 10);
	if (errno != 0 || *end || n > BILL_ROWS_MAX)
		return -EBADMSG;
	p = q + strlen("笔，");
	if (!starts_with(p, sum_label))
		return -EBADMSG;
	p += strlen(sum_label);
	q = strstr(p, "元");
	if (!q || (size_t)(q - p) >= sizeof(amount))
		return -EBADMSG;
	memcpy(amount, p, (size_t)(q - p));
	amount[q - p] = '\0';
	if (parse_amount(amount, ret_fen) < 0)
		return -EBADMSG;
	*ret_n = (size_t)n;
	return 0;
}

static int
row_add(struct bill *b, char *f[static BILL_COLUMNS], unsigned line, struct bill_error *e)
{
	struct bill_row row = {.line = line};
	struct bill_row *v;

	if (STR_EQ(f[COL_TYPE], "交易"))
		row.type = BILL_ROW_TRADE;
	else if (STR_EQ(f[COL_TYPE], "退款"))
		row.type = BILL_ROW_REFUND;
	else
		return bill_fail(e, -EBADMSG, "line %u: unknown 业务类型 (neither 交易 nor 退款)",
				 line);
	if (isempty(f[COL_TRADE_NO]))
		return bill_fail(e, -EBADMSG, "line %u: no 支付宝交易号", line);
	if (parse_amount(f[COL_ORDER_AMOUNT], &row.order_amount_fen) < 0 ||
	    parse_amount(f[COL_RECEIVED], &row.received_fen) < 0)
		return bill_fail(e, -EBADMSG, "line %u: an amount is not yuan with two decimals",
				 line);
	if ((row.type == BILL_ROW_TRADE && row.received_fen < 0) ||
	    (row.type == BILL_ROW_REFUND && row.received_fen > 0))
		return bill_fail(e, -EBADMSG, "line %u: 商家实收 has the wrong sign for a %s", line,
				 bill_row_type_to_string(row.type));
	if (b->n_rows >= BILL_ROWS_MAX)
		return bill_fail(e, -E2BIG, "more than %u rows", BILL_ROWS_MAX);
	row.trade_no = strdup(f[COL_TRADE_NO]);
	row.out_trade_no = strdup(f[COL_OUT_TRADE_NO]);
	row.subject = strdup(f[COL_SUBJECT]);
	row.created = strdup(f[COL_CREATED]);
	row.finished = strdup(f[COL_FINISHED]);
	row.store_id = strdup(f[COL_STORE_ID]);
	row.terminal_id = strdup(f[COL_TERMINAL_ID]);
	row.out_request_no = strdup(f[COL_OUT_REQUEST_NO]);
	v = reallocarray(b->rows, b->n_rows + 1, sizeof(*v));
	if (!v || !row.trade_no || !row.out_trade_no || !row.subject || !row.created ||
	    !row.finished || !row.store_id || !row.terminal_id || !row.out_request_no) {
		if (v)
			b->rows = v;
		bill_row_done(&row);
		return log_oom();
	}
	b->rows = v;
	b->rows[b->n_rows++] = row;
	return 0;
}

enum parse_state {
	PS_TITLE,   /* expecting #支付宝业务明细查询 */
	PS_HEAD,    /* header comments until the list marker */
	PS_HEADING, /* the 25 column names */
	PS_ROWS,
	PS_FOOTER,
};

int
bill_csv_parse(const char *text, size_t len, struct bill **ret, struct bill_error *ret_error)
{
	_cleanup_(bill_freep) struct bill *b = NULL;
	enum parse_state st = PS_TITLE;
	bool seen_trades = false, seen_refunds = false;
	size_t n_trades = 0, n_refunds = 0;
	int64_t trades_fen = 0, refunds_fen = 0;
	char line[BILL_LINE_MAX + 1];
	size_t pos = 0;
	unsigned lineno = 0;
	int r;

	b = bill_new_empty();
	if (!b)
		return log_oom();
	/* A UTF-8 byte order mark is tolerated. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (l > 0 && text[pos + l - 1] == '\r')
			l--;
		if (l > BILL_LINE_MAX)
			return bill_fail(ret_error, -E2BIG, "line %u is longer than %u bytes",
					 lineno, BILL_LINE_MAX);
		if (memchr(text + pos, '\0', l))
			return bill_fail(ret_error, -EBADMSG, "line %u contains a NUL byte",
					 lineno);
		memcpy(line, text + pos, l);
		line[l] = '\0';
		pos += (nl ? (size_t)(nl - (text + pos)) + 1 : len - pos);
		if (l == 0)
			continue;

		switch (st) {
		case PS_TITLE:
			if (!STR_EQ(line, TITLE))
				return bill_fail(ret_error, -EBADMSG,
						 "not a bill detail: the first line is not %s",
						 TITLE);
			st = PS_HEAD;
			break;
		case PS_HEAD:
			if (line[0] != '#')
				return bill_fail(ret_error, -EBADMSG,
						 "line %u: the detail list marker is missing",
						 lineno);
			if (starts_with(line, ACCOUNT) && !b->account) {
				const char *s = line + strlen(ACCOUNT);
				const char *end = strchr(s, ']');
				b->account = strndup(s, end ? (size_t)(end - s) : strlen(s));
				if (!b->account)
					return log_oom();
			} else if (strstr(line, LIST_START))
				st = PS_HEADING;
			break;
		case PS_HEADING: {
			char *f[BILL_COLUMNS];

			if (split_fields(line, f) < 0)
				return bill_fail(ret_error, -EBADMSG,
						 "line %u: the heading does not have %u columns",
						 lineno, BILL_COLUMNS);
			for (size_t i = 0; i < BILL_COLUMNS; i++)
				if (!STR_EQ(f[i], columns[i]))
					return bill_fail(ret_error, -EBADMSG,
							 "line %u: column %zu is not %s", lineno,
							 i + 1, columns[i]);
			st = PS_ROWS;
			break;
		}
		case PS_ROWS: {
			char *f[BILL_COLUMNS];

			if (line[0] == '#') {
				if (!strstr(line, LIST_END))
					return bill_fail(ret_error, -EBADMSG,
							 "line %u: a comment inside the list",
							 lineno);
				st = PS_FOOTER;
				break;
			}
			r = split_fields(line, f);
			if (r == -E2BIG)
				return bill_fail(ret_error, r, "line %u: a field is over %u bytes",
						 lineno, BILL_FIELD_MAX);
			if (r < 0)
				return bill_fail(ret_error, r, "line %u: not %u columns", lineno,
						 BILL_COLUMNS);
			r = row_add(b, f, lineno, ret_error);
			if (r < 0)
				return r;
			break;
		}
		case PS_FOOTER:
			if (line[0] != '#')
				return bill_fail(ret_error, -EBADMSG,
						 "line %u: data after the end of the list", lineno);
			if (starts_with(line, FOOT_TRADES)) {
				if (seen_trades || parse_footer(line, FOOT_TRADES, "商家实收共",
								&n_trades, &trades_fen) < 0)
					return bill_fail(ret_error, -EBADMSG,
							 "line %u: a malformed 交易合计", lineno);
				seen_trades = true;
			} else if (starts_with(line, FOOT_REFUNDS)) {
				if (seen_refunds ||
				    parse_footer(line, FOOT_REFUNDS, "商家实收退款共", &n_refunds,
						 &refunds_fen) < 0)
					return bill_fail(ret_error, -EBADMSG,
							 "line %u: a malformed 退款合计", lineno);
				seen_refunds = true;
			}
			break;
		}
	}
	if (st != PS_FOOTER)
		return bill_fail(ret_error, -EBADMSG,
				 st == PS_TITLE
					 ? "empty: not a bill detail"
					 : "truncated: the end of the detail list is missing");
	if (!seen_trades || !seen_refunds)
		return bill_fail(ret_error, -EBADMSG, "the footer (%s) is missing",
				 !seen_trades ? "交易合计" : "退款合计");

	/* doc/protocol.md §5.8: the footer totals must be the rows' totals. */
	for (size_t i = 0; i < b->n_rows; i++) {
		if (b->rows[i].type == BILL_ROW_TRADE) {
			b->n_trades++;
			b->trades_fen += b->rows[i].received_fen;
		} else {
			b->n_refunds++;
			b->refunds_fen += b->rows[i].received_fen;
		}
	}
	if (b->n_trades != n_trades || b->trades_fen != trades_fen) {
		char x[MONEY_BUF_SIZE], y[MONEY_BUF_SIZE];
		return bill_fail(ret_error, -EBADMSG,
				 "the footer says %zu trades for %s yuan, the rows %zu for %s",
				 n_trades, money_format(trades_fen, x), b->n_trades,
				 money_format(b->trades_fen, y));
	}
	if (b->n_refunds != n_refunds || b->refunds_fen != refunds_fen) {
		char x[MONEY_BUF_SIZE], y[MONEY_BUF_SIZE];
		return bill_fail(ret_error, -EBADMSG,
				 "the footer says %zu refunds for %s yuan, the rows %zu for %s",
				 n_refunds, money_format(refunds_fen, x), b->n_refunds,
				 money_format(b->refunds_fen, y));
	}
	*ret = TAKE_PTR(b);
	return 0;
}

int
bill_gbk_to_utf8(const void *in, size_t len, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *out = NULL;
	size_t cap = MIN(max, len * 2 + 16), used = 0;
	char *src = (char *)in;
	size_t left = len;
	iconv_t cd;
	int r = 0;

	cd = iconv_open("UTF-8", "GBK");
	if (cd == (iconv_t)-1)
		return log_error_errno(errno, "Failed to set up GBK decoding: %m");
	out = malloc(cap + 1);
	if (!out) {
		iconv_close(cd);
		return log_oom();
	}
	while (left > 0) {
		char *dst = out + used;
		size_t room = cap - used;

		if (iconv(cd, &src, &left, &dst, &room) != (size_t)-1) {
			used = (size_t)(dst - out);
			break;
		}
		used = (size_t)(dst - out);
		if (errno == E2BIG) {
			char *n;
			if (cap >= max) {
				r = -E2BIG;
				break;
			}
			cap = cap > max / 2 ? max : cap * 2;
			n = realloc(out, cap + 1);
			if (!n) {
				r = -ENOMEM;
				break;
			}
			out = n;
			continue;
		}
		/* EILSEQ, or EINVAL for a sequence cut off at the end. */
		r = -EILSEQ;
		break;
	}
	iconv_close(cd);
	if (r < 0)
		return r;
	out[used] = '\0';
	*ret_len = used;
	*ret = TAKE_PTR(out);
	return 0;
}

static bool
ends_with(const char *s, size_t len, const char *suffix)
{
	size_t l = strlen(suffix);

	return len >= l && memcmp(s + len - l, suffix, l) == 0;
}

/* Whether an entry name (GBK, or UTF-8 from a writer that flags it) names the detail CSV. */
static bool
entry_is_detail(const char *name)
{
	_cleanup_free_ char *utf8 = NULL;
	size_t l = 0;

	if (!name)
		return false;
	if (ends_with(name, strlen(name), DETAIL_NAME))
		return true;
	return bill_gbk_to_utf8(name, strlen(name), 4096, &utf8, &l) == 0 &&
	       ends_with(utf8, l, DETAIL_NAME);
}

/* The detail entry, unpacked: the first entry named like it. */
struct detail_find {
	size_t max;
	struct buf *raw;
	struct bill_error *e;
	bool found;
};

static int
detail_entry(const struct unzip_entry *entry, void *userdata)
{
	struct detail_find *f = userdata;
	const char *why = "";
	int r;

	if (!entry_is_detail(entry->name))
		return 0;
	f->found = true;
	r = unzip_read(entry, f->max, f->raw, &why);
	if (r == -EFBIG)
		return bill_fail(f->e, r, "the detail entry unpacks to more than %zu bytes",
				 f->max);
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return bill_fail(f->e, r, "the detail entry is corrupt: %s", why);
	return 1;
}

int
bill_zip_parse(const void *zip, size_t len, size_t unpacked_max, struct bill **ret,
	       struct bill_error *ret_error)
{
	_cleanup_buf_ struct buf raw = BUF_INIT(0);
	_cleanup_free_ char *text = NULL;
	struct detail_find f = {.raw = &raw, .e = ret_error};
	const char *why = "";
	size_t text_len = 0;
	int r;

	if (unpacked_max == 0 || unpacked_max > BILL_UNPACKED_MAX)
		unpacked_max = BILL_UNPACKED_MAX;
	raw.max = unpacked_max;
	f.max = unpacked_max;
	if (len > BILL_ZIP_MAX)
		return bill_fail(ret_error, -EFBIG, "the zip is larger than %u bytes",
				 BILL_ZIP_MAX);
	r = unzip_each(zip, len, BILL_ZIP_ENTRIES_MAX, detail_entry, &f, &why);
	if (r == -E2BIG)
		return bill_fail(ret_error, -EBADMSG, "more than %u entries in the zip",
				 BILL_ZIP_ENTRIES_MAX);
	if (r < 0 && !f.found)
		return bill_fail(ret_error, r, "not a zip file, or a corrupt one: %s", why);
	if (r < 0)
		return r; /* said by detail_entry() */
	if (!f.found)
		return bill_fail(ret_error, -EBADMSG, "no detail entry (…%s) in the zip",
				 DETAIL_NAME);
	/* doc/protocol.md §5.8: the files are GBK. UTF-8 bytes may well decode as GBK (into
	 * nonsense), so look for the UTF-8 title first to say what is wrong. */
	if (raw.len >= strlen(TITLE) && memcmp(raw.data, TITLE, strlen(TITLE)) == 0)
		return bill_fail(ret_error, -EBADMSG,
				 "the detail CSV is UTF-8, Alipay bills are GBK");
	r = bill_gbk_to_utf8(raw.data ?: "", raw.len, unpacked_max * 2, &text, &text_len);
	if (r == -EILSEQ)
		return bill_fail(ret_error, r, "the detail CSV is not valid GBK");
	if (r < 0)
		return bill_fail(ret_error, r, "the detail CSV cannot be decoded");
	return bill_csv_parse(text, text_len, ret, ret_error);
}
