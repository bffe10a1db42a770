/* SPDX-License-Identifier: MIT */
/* Alipay trade bills (doc/protocol.md §5.8): zip unpacking, GBK decoding, detail CSV parsing. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"

/*
 * Pure: bytes in, a parsed bill out; no file or network I/O, no clock reads. Every parser
 * failure is logged once where it is decided and, when the caller passes a struct bill_error,
 * described there too (for the local API). Nothing is returned half-parsed: *ret is written
 * only on success.
 */

/* Input limits. */
#define BILL_ZIP_MAX         (16u * 1024u * 1024u) /* the downloaded zip */
#define BILL_UNPACKED_MAX    (64u * 1024u * 1024u) /* the detail CSV, unpacked (zip bombs) */
#define BILL_ZIP_ENTRIES_MAX 16u
#define BILL_ROWS_MAX        200000u
#define BILL_LINE_MAX        8192u
#define BILL_FIELD_MAX       512u
#define BILL_COLUMNS         25u
#define BILL_ERROR_MAX       256u

enum bill_row_type {
	BILL_ROW_TRADE,  /* 交易 */
	BILL_ROW_REFUND, /* 退款 */
	_BILL_ROW_TYPE_MAX,
};

/* One detail row, UTF-8, TABs of the Excel guard stripped. All strings owned by the bill. */
struct bill_row {
	enum bill_row_type type;
	char *trade_no;           /* 支付宝交易号 */
	char *out_trade_no;       /* 商户订单号 */
	char *subject;            /* 商品名称 */
	char *created;            /* 创建时间 "yyyy-MM-dd HH:mm:ss" (UTC+8) */
	char *finished;           /* 完成时间 */
	char *store_id;           /* 门店编号 */
	char *terminal_id;        /* 终端号 */
	char *out_request_no;     /* 退款批次号/请求号: refunds; "" for a cancel's refund */
	int64_t order_amount_fen; /* 订单金额（元） */
	int64_t received_fen;     /* 商家实收（元）: negative for refunds */
	unsigned line;            /* line number in the CSV, for messages */
};

struct bill {
	char *account; /* #账号：[…] */
	struct bill_row *rows;
	size_t n_rows;
	/* The footer (#交易合计 / #退款合计), checked against the rows. */
	size_t n_trades;
	int64_t trades_fen;
	size_t n_refunds;
	int64_t refunds_fen; /* negative or zero */
};

/* Why a bill was refused, for the API. */
struct bill_error {
	char message[BILL_ERROR_MAX];
};

/* Frees a bill (NULL-safe); returns NULL. */
struct bill *bill_free(struct bill *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bill *, bill_free);

/* An empty bill (a day without trades: isp.bill_not_exist). New, or NULL when out of memory. */
struct bill *bill_new_empty(void);

/*
 * Parses the detail CSV, already decoded to UTF-8 (`text`, `len` bytes, borrowed; need not be
 * NUL-terminated): the header lines, the 25-column heading, the rows, the end marker and both
 * footer lines. Amounts go into fen; the footer's counts and sums must equal the rows'.
 * Returns 0 and a new bill in *ret, -EBADMSG for anything malformed (a missing footer, totals
 * that do not add up, a wrong column count…), -E2BIG above the limits, -ENOMEM. `ret_error` may
 * be NULL.
 */
int bill_csv_parse(const char *text, size_t len, struct bill **ret, struct bill_error *ret_error);

/*
 * Decodes GBK bytes (borrowed) to UTF-8, NUL-terminated. -EILSEQ for bytes that are not GBK,
 * -E2BIG if the result would exceed `max` bytes. *ret is new (free()), *ret_len its length.
 */
int bill_gbk_to_utf8(const void *in, size_t len, size_t max, char **ret, size_t *ret_len);

/*
 * The whole file: finds the detail entry `…_业务明细.csv` (name in GBK) in the zip (`zip`, `len`
 * bytes, borrowed), unpacks it with at most `unpacked_max` bytes (0 = BILL_UNPACKED_MAX;
 * counted while unpacking, the sizes in the zip are not trusted), decodes it from GBK and parses
 * it. Returns 0 and a new bill, -EBADMSG (not a zip, no detail entry, a corrupt entry, a
 * malformed CSV, UTF-8 where GBK belongs), -EFBIG (the unpacked entry is over the cap),
 * -E2BIG, -EILSEQ or -ENOMEM.
 */
int bill_zip_parse(const void *zip, size_t len, size_t unpacked_max, struct bill **ret,
		   struct bill_error *ret_error);

const char *bill_row_type_to_string(enum bill_row_type t) _pure_;
