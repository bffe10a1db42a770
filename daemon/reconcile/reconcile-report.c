/* SPDX-License-Identifier: MIT */
/* The comparison of one day's Alipay bill with the journal, as a JSON report. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/money.h"
#include "daemon/reconcile/reconcile-report.h"

/* What the journal says should be in the bill: a payment, a refund, or a cancel's refund. */
struct expect {
	enum bill_row_type type;
	char order_id[ORDER_ID_MAX + 1];
	char request_no[REFUND_ID_MAX + 1]; /* "" for payments and cancel refunds */
	int64_t amount_fen;                 /* positive */
	char state[32];
	bool used;
};

struct collect {
	const char *prefix;
	size_t prefix_len;
	usec_t start, end;
	struct expect *v;
	size_t n;
};

static bool
ours(const struct collect *c, const char *out_trade_no)
{
	return strncmp(out_trade_no, c->prefix, c->prefix_len) == 0;
}

static int
expect_add(struct collect *c, const struct expect *e)
{
	struct expect *v = reallocarray(c->v, c->n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->v = v;
	c->v[c->n++] = *e;
	return 0;
}

/* Order states in the API's spelling (upper case, doc/design.md §7). */
static void
state_name(char buf[static 32], enum order_state s)
{
	size_t i = 0;

	for (const char *p = strna(order_state_to_string(s)); *p && i < 31; p++)
		buf[i++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	buf[i] = '\0';
}

static bool
in_day(const struct collect *c, usec_t t)
{
	return t >= c->start && t < c->end;
}

static int
collect_order(const struct journal_order *o, void *userdata)
{
	struct collect *c = userdata;
	struct expect e = {.type = BILL_ROW_TRADE, .amount_fen = o->amount_fen};
	int r;

	if (!ours(c, o->fsm.id) || !in_day(c, o->fsm.state_since_usec))
		return 0;
	if (o->fsm.state != ORDER_PAID && o->fsm.state != ORDER_REFUNDED_BY_CANCEL)
		return 0;
	snprintf(e.order_id, sizeof(e.order_id), "%s", o->fsm.id);
	state_name(e.state, o->fsm.state);
	r = expect_add(c, &e);
	if (r < 0 || o->fsm.state != ORDER_REFUNDED_BY_CANCEL)
		return r;
	/* doc/protocol.md §5.3: the cancel refunded what was paid; the bill shows it as a refund
	 * row without out_request_no. */
	e.type = BILL_ROW_REFUND;
	e.amount_fen = o->amount_fen - o->refunded_fen;
	return expect_add(c, &e);
}

static int
collect_refund(const struct journal_refund *rf, void *userdata)
{
	struct collect *c = userdata;
	struct expect e = {.type = BILL_ROW_REFUND, .amount_fen = rf->amount_fen};

	if (!ours(c, rf->order_id) || rf->fsm.state != REFUND_DONE ||
	    !in_day(c, rf->fsm.state_since_usec))
		return 0;
	snprintf(e.order_id, sizeof(e.order_id), "%s", rf->order_id);
	snprintf(e.request_no, sizeof(e.request_no), "%s", rf->fsm.id);
	snprintf(e.state, sizeof(e.state), "%s", "DONE");
	return expect_add(c, &e);
}

static struct expect *
expect_find(struct collect *c, enum bill_row_type type, const char *order_id,
	    const char *request_no)
{
	for (size_t i = 0; i < c->n; i++) {
		struct expect *e = &c->v[i];
		if (e->used || e->type != type)
			continue;
		if (type == BILL_ROW_REFUND && !isempty(request_no)
			    ? STR_EQ(e->request_no, request_no)
			    : (STR_EQ(e->order_id, order_id) && isempty(e->request_no)))
			return e;
	}
	return NULL;
}

static int
add_str(struct json_object *o, const char *key, const char *value)
{
	struct json_object *s = json_object_new_string(strempty(value));

	if (!s || json_object_object_add(o, key, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int
add_int(struct json_object *o, const char *key, int64_t value)
{
	struct json_object *s = json_object_new_int64(value);

	if (!s || json_object_object_add(o, key, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int
add_money(struct json_object *o, const char *key, bool present, int64_t fen)
{
	char a[MONEY_BUF_SIZE];

	return add_str(o, key, present ? money_format(fen, a) : "");
}

/*
 * One report row; every row has the same keys in the same order (f2fpayctl's CSV relies on it).
 * Refund amounts are negative on both sides, as in the bill.
 */
static int
row_add(struct json_object *arr, const char *status, enum bill_row_type type,
	const char *out_trade_no, const char *request_no, const char *trade_no,
	const struct bill_row *br, const struct expect *e, const char *journal_state,
	const char *note)
{
	int64_t sign = type == BILL_ROW_REFUND ? -1 : 1;
	struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	r = add_str(o, "status", status);
	r = r ?: add_str(o, "type", bill_row_type_to_string(type));
	r = r ?: add_str(o, "out_trade_no", out_trade_no);
	r = r ?: add_str(o, "out_request_no", request_no);
	r = r ?: add_str(o, "trade_no", trade_no);
	r = r ?: add_money(o, "bill_amount", br, br ? br->received_fen : 0);
	r = r ?: add_money(o, "journal_amount", e, e ? sign * e->amount_fen : 0);
	r = r ?: add_str(o, "finished", br ? br->finished : "");
	r = r ?: add_str(o, "journal_state", journal_state);
	r = r ?: add_str(o, "note", note);
	if (r < 0 || json_object_array_add(arr, o) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	return 0;
}

/* A bill row with no expectation of that day: the journal may still know it (another day's
 * payment near midnight, or an order it does not count as paid). */
static int
classify_unexpected(struct journal *j, const struct bill_row *br, char state[static 32],
		    char note[static 96], int64_t *ret_amount)
{
	struct journal_order o;
	struct journal_refund rf;
	char day[BEIJING_DATE_BUF];
	int r;

	*ret_amount = -1;
	if (br->type == BILL_ROW_REFUND && !isempty(br->out_request_no)) {
		r = journal_refund_get(j, br->out_request_no, &rf);
		if (r == -ENOENT) {
			snprintf(note, 96, "no such refund in the journal");
			return 0;
		}
		if (r < 0)
			return r;
		snprintf(state, 32, "%s", rf.fsm.state == REFUND_DONE ? "DONE" : "NOT_DONE");
		if (rf.fsm.state == REFUND_DONE) {
			*ret_amount = rf.amount_fen;
			snprintf(note, 96, "refunded on %s in the journal",
				 beijing_format_date(
					 (time_t)(rf.fsm.state_since_usec / USEC_PER_SEC), 1, day));
		} else
			snprintf(note, 96, "the journal's refund is not done");
		return 0;
	}
	r = journal_order_get(j, br->out_trade_no, &o);
	if (r == -ENOENT) {
		snprintf(note, 96, "no such order in the journal");
		return 0;
	}
	if (r < 0)
		return r;
	state_name(state, o.fsm.state);
	if ((br->type == BILL_ROW_TRADE &&
	     (o.fsm.state == ORDER_PAID || o.fsm.state == ORDER_REFUNDED_BY_CANCEL)) ||
	    (br->type == BILL_ROW_REFUND && o.fsm.state == ORDER_REFUNDED_BY_CANCEL)) {
		*ret_amount =
			br->type == BILL_ROW_TRADE ? o.amount_fen : o.amount_fen - o.refunded_fen;
		snprintf(note, 96, "settled on %s in the journal",
			 beijing_format_date((time_t)(o.fsm.state_since_usec / USEC_PER_SEC), 1,
					     day));
	} else
		snprintf(note, 96, "the journal does not count it as %s",
			 br->type == BILL_ROW_TRADE ? "paid" : "refunded");
	return 0;
}

int
reconcile_report_build(struct journal *j, const struct bill *bill, const char *date,
		       const char *terminal, usec_t now_usec, struct json_object **ret,
		       unsigned *ret_discrepancies)
{
	unsigned n_matched = 0, n_bill_only = 0, n_journal_only = 0, n_mismatch = 0, n_other = 0;
	struct json_object *report = NULL, *rows = NULL, *others = NULL, *o;
	char prefix[JOURNAL_TERMINAL_MAX + 2], a[MONEY_BUF_SIZE], stamp[BEIJING_TIME_BUF];
	struct collect c = {.prefix = prefix};
	time_t day;
	int r;

	if (beijing_parse_date(date, &day) < 0 || !terminal || !*terminal ||
	    strlen(terminal) > JOURNAL_TERMINAL_MAX)
		return -EINVAL;
	snprintf(prefix, sizeof(prefix), "%s_", terminal);
	c.prefix_len = strlen(prefix);
	c.start = (usec_t)day * USEC_PER_SEC;
	c.end = c.start + 86400 * USEC_PER_SEC;

	r = journal_order_foreach(j, false, collect_order, &c);
	if (r >= 0)
		r = journal_refund_foreach(j, false, collect_refund, &c);
	if (r < 0)
		goto fail;

	r = -ENOMEM;
	report = json_object_new_object();
	rows = json_object_new_array();
	others = json_object_new_array();
	if (!report || !rows || !others)
		goto fail;

	for (size_t i = 0; i < bill->n_rows; i++) {
		const struct bill_row *br = &bill->rows[i];
		const char *req = br->type == BILL_ROW_REFUND ? br->out_request_no : "";
		struct expect *e;

		if (!ours(&c, br->out_trade_no)) {
			n_other++;
			r = row_add(others, RECONCILE_OTHER_TERMINAL, br->type, br->out_trade_no,
				    req, br->trade_no, br, NULL, "", "another terminal");
			if (r < 0)
				goto fail;
			continue;
		}
		e = expect_find(&c, br->type, br->out_trade_no, req);
		if (e) {
			bool same =
				(br->type == BILL_ROW_REFUND ? -br->received_fen
							     : br->received_fen) == e->amount_fen;
			e->used = true;
			if (same)
				n_matched++;
			else
				n_mismatch++;
			r = row_add(rows, same ? RECONCILE_MATCHED : RECONCILE_AMOUNT_MISMATCH,
				    br->type, br->out_trade_no, req, br->trade_no, br, e, e->state,
				    "");
		} else {
			char state[32] = "", note[96] = "";
			int64_t amount;
			struct expect other = {.type = br->type};

			r = classify_unexpected(j, br, state, note, &amount);
			if (r < 0)
				goto fail;
			other.amount_fen = amount;
			if (amount < 0) {
				n_bill_only++;
				r = row_add(rows, RECONCILE_BILL_ONLY, br->type, br->out_trade_no,
					    req, br->trade_no, br, NULL, state, note);
			} else {
				bool same =
					(br->type == BILL_ROW_REFUND ? -br->received_fen
								     : br->received_fen) == amount;
				if (same)
					n_matched++;
				else
					n_mismatch++;
				r = row_add(rows,
					    same ? RECONCILE_MATCHED : RECONCILE_AMOUNT_MISMATCH,
					    br->type, br->out_trade_no, req, br->trade_no, br,
					    &other, state, note);
			}
		}
		if (r < 0)
			goto fail;
	}
	for (size_t i = 0; i < c.n; i++) {
		if (c.v[i].used)
			continue;
		n_journal_only++;
		r = row_add(rows, RECONCILE_JOURNAL_ONLY, c.v[i].type, c.v[i].order_id,
			    c.v[i].request_no, "", NULL, &c.v[i], c.v[i].state,
			    "missing from the bill");
		if (r < 0)
			goto fail;
	}

	r = add_str(report, "date", date);
	r = r
		    ?: add_str(report, "state",
			       n_bill_only + n_journal_only + n_mismatch ? "discrepancies" : "ok");
	r = r ?: add_str(report, "terminal", terminal);
	r = r
		    ?: add_str(report, "generated_at",
			       beijing_format_time((time_t)(now_usec / USEC_PER_SEC), stamp));
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	o = json_object_new_object();
	if (!o || json_object_object_add(report, "bill", o) < 0) {
		json_object_put(o);
		goto fail;
	}
	r = add_str(o, "account", bill->account);
	r = r ?: add_int(o, "trades", (int64_t)bill->n_trades);
	r = r ?: add_str(o, "trades_total", money_format(bill->trades_fen, a));
	r = r ?: add_int(o, "refunds", (int64_t)bill->n_refunds);
	r = r ?: add_str(o, "refunds_total", money_format(bill->refunds_fen, a));
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	o = json_object_new_object();
	if (!o || json_object_object_add(report, "summary", o) < 0) {
		json_object_put(o);
		goto fail;
	}
	r = add_int(o, "matched", n_matched);
	r = r ?: add_int(o, "bill_only", n_bill_only);
	r = r ?: add_int(o, "journal_only", n_journal_only);
	r = r ?: add_int(o, "amount_mismatch", n_mismatch);
	r = r ?: add_int(o, "other_terminals", n_other);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	if (json_object_object_add(report, "rows", rows) < 0)
		goto fail;
	rows = NULL;
	if (json_object_object_add(report, "other_terminals", others) < 0)
		goto fail;
	others = NULL;
	free(c.v);
	*ret_discrepancies = n_bill_only + n_journal_only + n_mismatch;
	*ret = report;
	return 0;
fail:
	free(c.v);
	json_object_put(rows);
	json_object_put(others);
	json_object_put(report);
	return r;
}
