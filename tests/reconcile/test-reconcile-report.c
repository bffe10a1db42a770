/* SPDX-License-Identifier: MIT */
/* daemon/reconcile: the bill against a journal, row by row. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bill-fixture.h"
#include "common/macro.h"
#include "daemon/reconcile/reconcile-report.h"
#include "test.h"

static char dir[] = "/tmp/test-reconcile-report-XXXXXX";
static time_t day; /* 2026-11-25 00:00 UTC+8 */

/* A journal order settled in `state` at `at` (seconds after the day started). */
static void
order(struct journal *j, const char *terminal, int64_t fen, enum order_state state, long at,
      char id[static ORDER_ID_MAX + 1])
{
	struct journal_order o;
	char existing[ORDER_ID_MAX + 1];
	usec_t t = ((usec_t)day + (usec_t)at) * USEC_PER_SEC;

	CHECK_INT_EQ(journal_order_create(j, terminal, ORDER_KIND_SCAN, fen, "tea", NULL, NULL, t,
					  &o, existing),
		     0);
	o.fsm.state = state;
	o.fsm.state_since_usec = t;
	CHECK_INT_EQ(journal_order_save(j, &o, "test", ORDER_NEW, t), 0);
	snprintf(id, ORDER_ID_MAX + 1, "%s", o.fsm.id);
}

static void
refund(struct journal *j, const char *order_id, int64_t fen, long at,
       char id[static REFUND_ID_MAX + 1])
{
	struct journal_refund rf;
	usec_t t = ((usec_t)day + (usec_t)at) * USEC_PER_SEC;

	CHECK_INT_EQ(journal_refund_create(j, order_id, fen, NULL, t, &rf), 0);
	rf.fsm.state = REFUND_DONE;
	rf.fsm.state_since_usec = t;
	CHECK_INT_EQ(journal_refund_save(j, &rf, "test", REFUND_NEW, t), 0);
	snprintf(id, REFUND_ID_MAX + 1, "%s", rf.fsm.id);
}

static const char *
str(struct json_object *o, const char *key)
{
	struct json_object *v;
	CHECK(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static int64_t
num(struct json_object *o, const char *path1, const char *key)
{
	struct json_object *a, *v;
	CHECK(json_object_object_get_ex(o, path1, &a));
	CHECK(json_object_object_get_ex(a, key, &v));
	return json_object_get_int64(v);
}

/* The row of the report with that status, type and number; aborts when absent. */
static struct json_object *
row(struct json_object *report, const char *list, const char *type, const char *out_trade_no,
    const char *request_no)
{
	struct json_object *rows;
	CHECK(json_object_object_get_ex(report, list, &rows));
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		if (STR_EQ(str(r, "type"), type) && STR_EQ(str(r, "out_trade_no"), out_trade_no) &&
		    STR_EQ(str(r, "out_request_no"), request_no))
			return r;
	}
	fprintf(stderr, "no %s row %s %s in %s\n", type, out_trade_no, request_no,
		json_object_to_json_string(report));
	abort();
}

static void
test_report(void)
{
	char path[256], paid[ORDER_ID_MAX + 1], partial[ORDER_ID_MAX + 1], full[ORDER_ID_MAX + 1],
		missing[ORDER_ID_MAX + 1], wrong[ORDER_ID_MAX + 1], failed[ORDER_ID_MAX + 1],
		byc[ORDER_ID_MAX + 1], yesterday[ORDER_ID_MAX + 1], other[ORDER_ID_MAX + 1],
		r1[REFUND_ID_MAX + 1], r2[REFUND_ID_MAX + 1], r3[REFUND_ID_MAX + 1];
	struct journal *j = NULL;
	struct bill *b = NULL;
	struct json_object *rep = NULL;
	unsigned disc = 0;
	char *rows[16], *text;
	char twin[ORDER_ID_MAX + 1];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/journal.db", dir);
	CHECK_INT_EQ(journal_open(path, &j), 0);
	snprintf(twin, sizeof(twin), "POS1_20261125_%s_abcd_1",
		 STR_EQ(journal_install_id(j), "zzzzzzzz") ? "yyyyyyyy" : "zzzzzzzz");
	order(j, "POS1", 8888, ORDER_PAID, 3600, paid);
	order(j, "POS1", 1000, ORDER_PAID, 3700, partial);
	refund(j, partial, 300, 3800, r1);
	order(j, "POS1", 500, ORDER_PAID, 3900, full);
	refund(j, full, 200, 4000, r2);
	refund(j, full, 300, 4100, r3);
	order(j, "POS1", 700, ORDER_PAID, 5000, missing);  /* the bill lacks it */
	order(j, "POS1", 800, ORDER_PAID, 5100, wrong);    /* the bill says 9.00 */
	order(j, "POS1", 100, ORDER_FAILED, 5200, failed); /* yet Alipay has it */
	order(j, "POS1", 1200, ORDER_REFUNDED_BY_CANCEL, 5300, byc);
	order(j, "POS1", 400, ORDER_PAID, -30, yesterday); /* journaled 23:59:30 the day before */
	/* Journaled after the terminal was renamed: still this journal's (its install id). */
	order(j, "POS2", 100, ORDER_PAID, 6000, other);

	rows[n++] = fixture_row("T1", paid, "交易", "88.88", "88.88", "");
	rows[n++] = fixture_row("T2", partial, "交易", "10.00", "10.00", "");
	rows[n++] = fixture_row("T2", partial, "退款", "10.00", "-3.00", r1);
	rows[n++] = fixture_row("T3", full, "交易", "5.00", "5.00", "");
	rows[n++] = fixture_row("T3", full, "退款", "5.00", "-2.00", r2);
	rows[n++] = fixture_row("T3", full, "退款", "5.00", "-3.00", r3);
	rows[n++] = fixture_row("T4", wrong, "交易", "9.00", "9.00", "");
	rows[n++] = fixture_row("T5", failed, "交易", "1.00", "1.00", "");
	rows[n++] = fixture_row("T6", byc, "交易", "12.00", "12.00", "");
	rows[n++] = fixture_row("T6", byc, "退款", "12.00", "-12.00", "");
	rows[n++] = fixture_row("T7", yesterday, "交易", "4.00", "4.00", "");
	rows[n++] = fixture_row("T8", "POS2_20261125_1", "交易", "1.00", "1.00", "");
	rows[n++] = fixture_row("T9", other, "交易", "1.00", "1.00", "");
	/* Another till also named POS1 (another journal: another install id). */
	rows[n++] = fixture_row("TA", twin, "交易", "2.00", "2.00", "");
	/* trades: 88.88+10+5+9+1+12+4+1+1+2 = 133.88; refunds: -3-2-3-12 = -20.00 */
	text = fixture_detail((const char *const *)rows, n, 10, "133.88", 4, "-20.00", true);
	CHECK_INT_EQ(bill_csv_parse(text, strlen(text), &b, NULL), 0);

	CHECK_INT_EQ(reconcile_report_build(j, b, "2026-11-25", "POS1", 0, &rep, &disc), 0);
	fprintf(stderr, "%s\n", json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY));
	CHECK_STR_EQ(str(rep, "state"), "discrepancies");
	CHECK_INT_EQ(disc, 3);
	CHECK_INT_EQ(num(rep, "summary", "matched"), 10);
	CHECK_INT_EQ(num(rep, "summary", "bill_only"), 1);
	CHECK_INT_EQ(num(rep, "summary", "journal_only"), 1);
	CHECK_INT_EQ(num(rep, "summary", "amount_mismatch"), 1);
	CHECK_INT_EQ(num(rep, "summary", "other_terminals"), 2);
	CHECK_INT_EQ(num(rep, "bill", "trades"), 10);
	CHECK_STR_EQ(str(json_object_object_get(rep, "bill"), "refunds_total"), "-20.00");

	CHECK_STR_EQ(str(row(rep, "rows", "trade", paid, ""), "status"), "matched");
	CHECK_STR_EQ(str(row(rep, "rows", "refund", partial, r1), "status"), "matched");
	CHECK_STR_EQ(str(row(rep, "rows", "refund", partial, r1), "journal_amount"), "-3.00");
	CHECK_STR_EQ(str(row(rep, "rows", "refund", full, r2), "status"), "matched");
	CHECK_STR_EQ(str(row(rep, "rows", "refund", full, r3), "status"), "matched");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", missing, ""), "status"), "journal_only");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", missing, ""), "journal_amount"), "7.00");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", wrong, ""), "status"), "amount_mismatch");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", wrong, ""), "bill_amount"), "9.00");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", wrong, ""), "journal_amount"), "8.00");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", failed, ""), "status"), "bill_only");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", failed, ""), "journal_state"), "FAILED");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", byc, ""), "status"), "matched");
	CHECK_STR_EQ(str(row(rep, "rows", "refund", byc, ""), "status"), "matched");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", yesterday, ""), "status"), "matched");
	CHECK(strstr(str(row(rep, "rows", "trade", yesterday, ""), "note"), "2026-11-24"));
	CHECK_STR_EQ(str(row(rep, "other_terminals", "trade", "POS2_20261125_1", ""), "status"),
		     "other_terminal");
	CHECK_STR_EQ(str(row(rep, "other_terminals", "trade", twin, ""), "status"),
		     "other_terminal");
	CHECK_STR_EQ(str(row(rep, "rows", "trade", other, ""), "status"), "matched");
	json_object_put(rep);

	/* An empty bill (isp.bill_not_exist) against the same day: every journal row missing. */
	{
		struct bill *empty = bill_new_empty();
		CHECK_INT_EQ(reconcile_report_build(j, empty, "2026-11-25", "POS1", 0, &rep, &disc),
			     0);
		/* paid, partial, full, missing, wrong, other, byc (trade + cancel refund) + 3
		 * refunds */
		CHECK_INT_EQ(disc, 11);
		CHECK_INT_EQ(num(rep, "summary", "journal_only"), 11);
		json_object_put(rep);
		/* And against a day with nothing: ok. */
		CHECK_INT_EQ(reconcile_report_build(j, empty, "2026-11-20", "POS1", 0, &rep, &disc),
			     0);
		CHECK_INT_EQ(disc, 0);
		CHECK_STR_EQ(str(rep, "state"), "ok");
		json_object_put(rep);
		bill_free(empty);
	}
	CHECK_INT_EQ(reconcile_report_build(j, b, "2026-13-25", "POS1", 0, &rep, &disc), -EINVAL);

	for (size_t i = 0; i < n; i++)
		free(rows[i]);
	free(text);
	bill_free(b);
	journal_close(j);
	unlink(path);
	snprintf(path, sizeof(path), "%s/journal.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/journal.db-shm", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/journal.db.clean", dir);
	unlink(path);
}

int
main(void)
{
	CHECK(mkdtemp(dir));
	CHECK_INT_EQ(beijing_parse_date("2026-11-25", &day), 0);
	test_report();
	CHECK_INT_EQ(rmdir(dir), 0);
	return 0;
}
