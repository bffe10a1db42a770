/* SPDX-License-Identifier: MIT */
/*
 * Times the store-wide reconciliation of one day over a database the caller filled (bench-
 * central.py: synthetic tills and orders): the bill is made in memory from the database's own
 * paid orders, every one matching, then central_reconcile_build() runs against it.
 * Usage: bench-reconcile URL APP_ID yyyy-MM-dd. Prints figures; asserts nothing about them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/pg.h"
#include "central/reconcile.h"
#include "common/money.h"
#include "test.h"

int
main(int argc, char **argv)
{
	_cleanup_(PQfinishp) PGconn *c = NULL;
	_cleanup_(PQclearp) PGresult *res = NULL;
	struct json_object *report = NULL, *summary, *v;
	struct bill *bill;
	unsigned discrepancies = 0;
	usec_t t0, t1;
	int n;

	CHECK(argc == 4);
	CHECK(central_connect(argv[1], NULL, &c) == 0);
	res = PQexec(c, "SELECT order_id, amount_fen, trade_no FROM f2fpay.orders "
			"WHERE state = 'paid'");
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
	n = PQntuples(res);
	bill = calloc(1, sizeof(*bill));
	CHECK(bill);
	bill->rows = calloc((size_t)n + 1, sizeof(*bill->rows));
	CHECK(bill->rows);
	bill->account = strdup("20880000000000010156");
	for (int i = 0; i < n; i++) {
		struct bill_row *r = &bill->rows[bill->n_rows++];
		r->type = BILL_ROW_TRADE;
		r->out_trade_no = strdup(PQgetvalue(res, i, 0));
		r->trade_no = strdup(PQgetvalue(res, i, 2));
		r->subject = strdup("bench");
		r->created = strdup("");
		r->finished = strdup("");
		r->store_id = strdup("");
		r->terminal_id = strdup("");
		r->out_request_no = strdup("");
		r->order_amount_fen = r->received_fen = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		bill->n_trades++;
		bill->trades_fen += r->received_fen;
	}
	t0 = now_usec(CLOCK_MONOTONIC);
	CHECK(central_reconcile_build(c, bill, argv[3], argv[2], now_usec(CLOCK_REALTIME), &report,
				      &discrepancies) == 0);
	t1 = now_usec(CLOCK_MONOTONIC);
	CHECK(json_object_object_get_ex(report, "summary", &summary));
	CHECK(json_object_object_get_ex(summary, "matched", &v));
	printf("central reconciliation: %d bill rows against the database in %.2f s "
	       "(%" PRId64 " matched, %u discrepancies)\n",
	       n, (double)(t1 - t0) / USEC_PER_SEC, json_object_get_int64(v), discrepancies);
	json_object_put(report);
	bill_free(bill);
	return 0;
}
