/* SPDX-License-Identifier: MIT */
/* Test helpers: detail CSVs in the layout of doc/protocol.md §5.8, GBK encoding, zips in memory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A "#支付宝业务明细查询" detail text (UTF-8, CRLF) with `rows` (each a full CSV line without
 * line end) and footer lines built from the given counts and sums. footer = false omits both
 * footer lines. New string (free()). */
char *fixture_detail(const char *const *rows, size_t n_rows, unsigned n_trades,
		     const char *trades_total, unsigned n_refunds, const char *refunds_total,
		     bool footer);

/* One detail row; amounts as strings ("88.88", "-1.00"); text fields get the Excel TAB. */
char *fixture_row(const char *trade_no, const char *out_trade_no, const char *type,
		  const char *amount, const char *received, const char *out_request_no);

/* UTF-8 → GBK, new buffer in *ret (len in *ret_len). Aborts on failure. */
void fixture_gbk(const char *utf8, char **ret, size_t *ret_len);

/* A zip in memory with entries (name, data, data_len); names written as given. New buffer. */
struct fixture_entry {
	const char *name;
	const void *data;
	size_t len;
};
void fixture_zip(const struct fixture_entry *e, size_t n, void **ret, size_t *ret_len);
