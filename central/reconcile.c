/* SPDX-License-Identifier: MIT */
/* Store-wide reconciliation against the central database (doc/central.md). */
#include "central/reconcile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/pg.h"
#include "common/log.h"
#include "common/money.h"
#include "payment/bill/bill-match.h"

#define DAY_USEC (86400 * USEC_PER_SEC)
#define TS(x)    "timestamptz 'epoch' + " x " * interval '1 microsecond'"
#define USEC(x)  "(extract(epoch FROM " x ") * 1000000)::bigint"

/* SQL reads best one clause a line. */
/* clang-format off */
static const char tills_sql[] =
	"SELECT install_id, terminal_id, journal_seq, shipped_seq, " USEC("last_seen")
	" FROM f2fpay.tills WHERE app_id = $1 ORDER BY terminal_id, install_id";

/*
 * An order's snapshots only move forward, and so does the time its state began: the latest
 * snapshot of an order settled within the day is among the snapshots from the day's start on.
 * Taking the latest of those (not of every snapshot ever) keeps a year of history out of it.
 */
static const char orders_sql[] =
	"SELECT o.order_id, o.state, o.amount_fen, o.refunded_fen"
	" FROM (SELECT DISTINCT ON (install_id, order_id) * FROM f2fpay.order_rows"
	"  WHERE state_since >= " TS("$2::bigint")
	"  ORDER BY install_id, order_id, seq DESC) o"
	" JOIN f2fpay.tills t USING (install_id)"
	" WHERE t.app_id = $1 AND o.state IN ('paid', 'refunded_by_cancel')"
	" AND o.state_since < " TS("$3::bigint")
	" ORDER BY o.order_id";

static const char refunds_sql[] =
	"SELECT r.refund_id, r.order_id, r.amount_fen"
	" FROM (SELECT DISTINCT ON (install_id, refund_id) * FROM f2fpay.refund_rows"
	"  WHERE state_since >= " TS("$2::bigint")
	"  ORDER BY install_id, refund_id, seq DESC) r"
	" JOIN f2fpay.tills t USING (install_id)"
	" WHERE t.app_id = $1 AND r.state = 'refunded'"
	" AND r.state_since < " TS("$3::bigint")
	" ORDER BY r.refund_id";

static const char order_sql[] =
	"SELECT state, amount_fen, refunded_fen, " USEC("state_since")
	" FROM f2fpay.orders WHERE order_id = $1 LIMIT 1";

static const char refund_sql[] =
	"SELECT state, amount_fen, " USEC("state_since")
	" FROM f2fpay.refunds WHERE refund_id = $1 LIMIT 1";
/* clang-format on */

struct till {
	char install_id[16];
	char terminal[33]; /* config: terminal ids are at most 32 characters */
	int64_t journal_seq, shipped_seq;
	usec_t last_seen_usec;
	struct bill_match_summary sum;
};

struct ctx {
	PGconn *conn;
	usec_t day_start, day_end, now;
	usec_t horizon; /* a till last seen before this may hold trades of the bill it has not
			 * shipped: the bill's last row (or the day's end) */
	struct till *tills;
	size_t n_tills;
	struct bill_expects x;
};

static int
query(struct ctx *c, const char *sql, int n, const char *const *params, const char *what,
      PGresult **ret)
{
	PGresult *res = PQexecParams(c->conn, sql, n, NULL, params, NULL, NULL, 0);
	char err[512];

	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return log_error_errno(EIO, "%s failed: %s", what,
				       central_error_line(c->conn, err, sizeof(err)));
	}
	*ret = res;
	return 0;
}

static int64_t
col_int(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void
upper(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < size; i++)
		dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 'a' + 'A' : src[i]);
	dst[i] = '\0';
}

/* "<terminal>_…": the terminal part of an out_trade_no or out_request_no. */
static size_t
terminal_len(const char *id)
{
	return strcspn(id, "_");
}

/* doc/engine.md "Trade numbers": <terminal>_<yyyymmdd>_<install>_<run>_<seq>. */
static bool
install_id_of(const char *id, char buf[static 16])
{
	const char *p = id;

	for (int i = 0; i < 2; i++) {
		p = strchr(p, '_');
		if (!p)
			return false;
		p++;
	}
	size_t n = strcspn(p, "_");
	if (n == 0 || n >= 16 || p[n] != '_')
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

static struct till *
till_by_install(struct ctx *c, const char *install_id)
{
	for (size_t i = 0; i < c->n_tills; i++)
		if (STR_EQ(c->tills[i].install_id, install_id))
			return &c->tills[i];
	return NULL;
}

static struct till *
till_by_terminal(struct ctx *c, const char *id)
{
	size_t n = terminal_len(id);

	for (size_t i = 0; i < c->n_tills; i++)
		if (strlen(c->tills[i].terminal) == n && strncmp(c->tills[i].terminal, id, n) == 0)
			return &c->tills[i];
	return NULL;
}

/*
 * A till may hold trades of the bill that the database has not seen: it still had a backlog
 * when it last reported, or it has not reported since the bill's last trade.
 */
static bool
till_behind(const struct ctx *c, const struct till *t)
{
	return t->journal_seq > t->shipped_seq || t->last_seen_usec < c->horizon;
}

/* "yyyy-MM-dd HH:mm:ss" in UTC+8 (the bill's times) as µs since the epoch; 0 if malformed. */
static usec_t
bill_time(const char *s)
{
	char date[BEIJING_DATE_BUF];
	unsigned h, m, sec;
	time_t day;

	if (!s || strlen(s) != 19 || s[10] != ' ' ||
	    sscanf(s + 11, "%2u:%2u:%2u", &h, &m, &sec) != 3 || h > 23 || m > 59 || sec > 60)
		return 0;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (beijing_parse_date(date, &day) < 0)
		return 0;
	return ((usec_t)day + h * 3600 + m * 60 + sec) * USEC_PER_SEC;
}

static usec_t
bill_horizon(const struct bill *bill, usec_t day_end)
{
	usec_t last = 0;

	for (size_t i = 0; i < bill->n_rows; i++)
		last = MAX(last, bill_time(bill->rows[i].finished));
	/* The bill's times are whole seconds: the trade may have been anywhere in that second. */
	return last ? MIN(last + USEC_PER_SEC, day_end) : 0;
}

/* Every till's row is the store's: a refund made at another till than the order's too. */
static bool
ours_cb(const struct bill_row *br, void *userdata)
{
	return till_by_terminal(userdata, br->out_trade_no) != NULL;
}

static void
note_day(char *note, size_t size, const char *what, usec_t t)
{
	char day[BEIJING_DATE_BUF];

	snprintf(note, size, "%s on %s in the journal", what,
		 beijing_format_date((time_t)(t / USEC_PER_SEC), 1, day));
}

/* What the database knows of a bill row nobody expected on that day. */
static int
classify_cb(const struct bill_row *br, struct bill_unexpected *u, void *userdata)
{
	struct ctx *c = userdata;
	bool refund = br->type == BILL_ROW_REFUND && !isempty(br->out_request_no);
	const char *id = refund ? br->out_request_no : br->out_trade_no;
	const char *params[1] = {id};
	_cleanup_(PQclearp) PGresult *res = NULL;
	char install[16];
	struct till *t;
	int r;

	r = query(c, refund ? refund_sql : order_sql, 1, params, "Looking up a bill row", &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 1 && refund) {
		bool done = STR_EQ(PQgetvalue(res, 0, 0), "refunded");
		snprintf(u->state, sizeof(u->state), "%s", done ? "DONE" : "NOT_DONE");
		if (done) {
			u->amount_fen = col_int(res, 0, 1);
			note_day(u->note, sizeof(u->note), "refunded", (usec_t)col_int(res, 0, 2));
		} else
			snprintf(u->note, sizeof(u->note), "the journal's refund is not done");
		return 0;
	}
	if (PQntuples(res) == 1) {
		const char *st = PQgetvalue(res, 0, 0);
		bool paid = STR_EQ(st, "paid") || STR_EQ(st, "refunded_by_cancel");
		upper(u->state, sizeof(u->state), st);
		if ((br->type == BILL_ROW_TRADE && paid) ||
		    (br->type == BILL_ROW_REFUND && STR_EQ(st, "refunded_by_cancel"))) {
			u->amount_fen = br->type == BILL_ROW_TRADE
						? col_int(res, 0, 1)
						: col_int(res, 0, 1) - col_int(res, 0, 2);
			note_day(u->note, sizeof(u->note), "settled", (usec_t)col_int(res, 0, 3));
		} else
			snprintf(u->note, sizeof(u->note), "the journal does not count it as %s",
				 br->type == BILL_ROW_TRADE ? "paid" : "refunded");
		return 0;
	}
	/* Not in the database: a till that has not caught up, or a trade nobody journaled. */
	t = install_id_of(id, install) ? till_by_install(c, install) : NULL;
	if (!t) {
		snprintf(u->note, sizeof(u->note), "no such %s in any till's journal",
			 refund ? "refund" : "order");
		return 0;
	}
	if (till_behind(c, t)) {
		char seen[BEIJING_TIME_BUF];
		u->status = BILL_MATCH_NOT_CAUGHT_UP;
		snprintf(u->note, sizeof(u->note),
			 "till %s (install id %s) has not shipped it yet: last seen %s, %" PRId64
			 " events behind",
			 t->terminal, t->install_id,
			 beijing_format_time((time_t)(t->last_seen_usec / USEC_PER_SEC), seen),
			 t->journal_seq > t->shipped_seq ? t->journal_seq - t->shipped_seq : 0);
		return 0;
	}
	snprintf(u->note, sizeof(u->note), "no such %s in the journal of till %s",
		 refund ? "refund" : "order", t->terminal);
	return 0;
}

static int
decorate_cb(struct json_object *row, const char *out_trade_no, void *userdata)
{
	char terminal[64];

	snprintf(terminal, sizeof(terminal), "%.*s", (int)terminal_len(out_trade_no), out_trade_no);
	return bill_match_add_str(row, "terminal", terminal);
}

static const struct bill_match_ops central_ops = {
	.ours = ours_cb,
	.classify = classify_cb,
	.decorate = decorate_cb,
};

static int
load_tills(struct ctx *c, const char *app_id)
{
	const char *params[1] = {app_id};
	_cleanup_(PQclearp) PGresult *res = NULL;
	int r, n;

	r = query(c, tills_sql, 1, params, "Reading the tills", &res);
	if (r < 0)
		return r;
	n = PQntuples(res);
	c->tills = calloc((size_t)n + 1, sizeof(*c->tills));
	if (!c->tills)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct till *t = &c->tills[c->n_tills++];
		snprintf(t->install_id, sizeof(t->install_id), "%s", PQgetvalue(res, i, 0));
		snprintf(t->terminal, sizeof(t->terminal), "%s", PQgetvalue(res, i, 1));
		t->journal_seq = col_int(res, i, 2);
		t->shipped_seq = col_int(res, i, 3);
		t->last_seen_usec = (usec_t)col_int(res, i, 4);
	}
	return 0;
}

static int
load_expects(struct ctx *c, const char *app_id)
{
	char start[24], end[24];
	const char *params[3] = {app_id, start, end};
	_cleanup_(PQclearp) PGresult *orders = NULL, *refunds = NULL;
	int r;

	snprintf(start, sizeof(start), "%" PRIu64, c->day_start);
	snprintf(end, sizeof(end), "%" PRIu64, c->day_end);
	r = query(c, orders_sql, 3, params, "Reading the day's orders", &orders);
	if (r >= 0)
		r = query(c, refunds_sql, 3, params, "Reading the day's refunds", &refunds);
	if (r < 0)
		return r;
	for (int i = 0; r >= 0 && i < PQntuples(orders); i++) {
		struct bill_expect e = {.type = BILL_ROW_TRADE,
					.amount_fen = col_int(orders, i, 2)};
		bool by_cancel = STR_EQ(PQgetvalue(orders, i, 1), "refunded_by_cancel");
		snprintf(e.order_id, sizeof(e.order_id), "%s", PQgetvalue(orders, i, 0));
		upper(e.state, sizeof(e.state), PQgetvalue(orders, i, 1));
		r = bill_expects_add(&c->x, &e);
		/* doc/protocol.md §5.3: a cancel's refund is a refund row without out_request_no.
		 */
		if (r >= 0 && by_cancel) {
			e.type = BILL_ROW_REFUND;
			e.amount_fen -= col_int(orders, i, 3);
			r = bill_expects_add(&c->x, &e);
		}
	}
	for (int i = 0; r >= 0 && i < PQntuples(refunds); i++) {
		struct bill_expect e = {.type = BILL_ROW_REFUND,
					.amount_fen = col_int(refunds, i, 2)};
		snprintf(e.request_no, sizeof(e.request_no), "%s", PQgetvalue(refunds, i, 0));
		snprintf(e.order_id, sizeof(e.order_id), "%s", PQgetvalue(refunds, i, 1));
		snprintf(e.state, sizeof(e.state), "DONE");
		r = bill_expects_add(&c->x, &e);
	}
	return r;
}

/* Each terminal's own counts, from the rows (their "terminal" and "status"). */
static int
add_terminals(struct ctx *c, struct json_object *report, struct json_object *rows)
{
	struct json_object *arr = json_object_new_array();
	int r = 0;

	if (!arr || json_object_object_add(report, "terminals", arr) < 0) {
		json_object_put(arr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *row = json_object_array_get_idx(rows, i), *v;
		const char *status, *terminal;
		struct till *t;

		if (!json_object_object_get_ex(row, "terminal", &v))
			continue;
		terminal = json_object_get_string(v);
		json_object_object_get_ex(row, "status", &v);
		status = json_object_get_string(v);
		t = NULL;
		for (size_t k = 0; k < c->n_tills && !t; k++)
			if (STR_EQ(c->tills[k].terminal, terminal))
				t = &c->tills[k];
		if (!t)
			continue;
		if (STR_EQ(status, BILL_MATCH_MATCHED))
			t->sum.matched++;
		else if (STR_EQ(status, BILL_MATCH_BILL_ONLY))
			t->sum.bill_only++;
		else if (STR_EQ(status, BILL_MATCH_JOURNAL_ONLY))
			t->sum.journal_only++;
		else if (STR_EQ(status, BILL_MATCH_AMOUNT_MISMATCH))
			t->sum.amount_mismatch++;
		else if (STR_EQ(status, BILL_MATCH_NOT_CAUGHT_UP))
			t->sum.not_caught_up++;
	}
	/* One entry per terminal (a till replaced on the same terminal counts with the first). */
	for (size_t i = 0; r >= 0 && i < c->n_tills; i++) {
		struct json_object *o;
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen |= STR_EQ(c->tills[k].terminal, c->tills[i].terminal);
		if (seen)
			continue;
		o = json_object_new_object();
		if (!o || json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
		r = bill_match_add_str(o, "terminal", c->tills[i].terminal);
		r = r ?: bill_match_add_summary(o, &c->tills[i].sum, true);
	}
	return r;
}

static int
add_tills_behind(struct ctx *c, struct json_object *report)
{
	struct json_object *arr = json_object_new_array();
	char seen[BEIJING_TIME_BUF];
	int r = 0;

	if (!arr || json_object_object_add(report, "tills_behind", arr) < 0) {
		json_object_put(arr);
		return -ENOMEM;
	}
	for (size_t i = 0; r >= 0 && i < c->n_tills; i++) {
		const struct till *t = &c->tills[i];
		struct json_object *o;
		if (!till_behind(c, t))
			continue;
		o = json_object_new_object();
		if (!o || json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
		r = bill_match_add_str(o, "terminal", t->terminal);
		r = r ?: bill_match_add_str(o, "install_id", t->install_id);
		r = r
			    ?: bill_match_add_str(
				       o, "last_seen",
				       beijing_format_time(
					       (time_t)(t->last_seen_usec / USEC_PER_SEC), seen));
		r = r
			    ?: bill_match_add_int(o, "backlog",
						  t->journal_seq > t->shipped_seq
							  ? t->journal_seq - t->shipped_seq
							  : 0);
	}
	return r;
}

int
central_reconcile_build(PGconn *conn, const struct bill *bill, const char *date, const char *app_id,
			usec_t now_usec, struct json_object **ret, unsigned *ret_discrepancies)
{
	struct ctx c = {.conn = conn, .now = now_usec};
	struct bill_match_summary sum = {};
	struct json_object *report = NULL, *rows = NULL, *others = NULL, *behind;
	char stamp[BEIJING_TIME_BUF];
	const char *state;
	time_t day;
	int r;

	if (beijing_parse_date(date, &day) < 0 || isempty(app_id))
		return -EINVAL;
	c.day_start = (usec_t)day * USEC_PER_SEC;
	c.day_end = c.day_start + DAY_USEC;
	c.horizon = bill_horizon(bill, c.day_end);
	r = load_tills(&c, app_id);
	if (r >= 0)
		r = load_expects(&c, app_id);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	report = json_object_new_object();
	rows = json_object_new_array();
	others = json_object_new_array();
	if (!report || !rows || !others)
		goto out;
	r = bill_match(bill, &c.x, &central_ops, &c, rows, others, &sum);
	if (r < 0)
		goto out;
	r = bill_match_add_str(report, "date", date);
	if (r >= 0) {
		/* The state is decided once the tills behind are known. */
		r = bill_match_add_str(report, "state", "");
	}
	r = r ?: bill_match_add_str(report, "scope", "store");
	r = r ?: bill_match_add_str(report, "app_id", app_id);
	r = r
		    ?: bill_match_add_str(
			       report, "generated_at",
			       beijing_format_time((time_t)(now_usec / USEC_PER_SEC), stamp));
	r = r ?: bill_match_add_bill(report, bill);
	r = r ?: bill_match_add_summary(report, &sum, true);
	r = r ?: add_terminals(&c, report, rows);
	r = r ?: add_tills_behind(&c, report);
	if (r < 0)
		goto out;
	json_object_object_get_ex(report, "tills_behind", &behind);
	state = bill_match_discrepancies(&sum)                              ? "discrepancies"
		: sum.not_caught_up || json_object_array_length(behind) > 0 ? "incomplete"
									    : "ok";
	r = bill_match_add_str(report, "state", state);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	if (json_object_object_add(report, "rows", rows) < 0)
		goto out;
	rows = NULL;
	if (json_object_object_add(report, "other_terminals", others) < 0)
		goto out;
	others = NULL;
	*ret_discrepancies = bill_match_discrepancies(&sum);
	*ret = TAKE_PTR(report);
	r = 0;
out:
	bill_expects_done(&c.x);
	free(c.tills);
	json_object_put(rows);
	json_object_put(others);
	json_object_put(report);
	return r;
}
