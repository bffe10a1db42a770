/* SPDX-License-Identifier: MIT */
/* The comparison of one day's Alipay bill with the journal, as a JSON report. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/reconcile/reconcile-report.h"

struct collect {
	const char *prefix;
	size_t prefix_len;
	const char *install_id;
	usec_t start, end;
	struct bill_expects x;
	struct journal *journal;
};

/*
 * Whether a trade is this terminal's: its number carries this journal's install id (so that
 * two tills both named T01 never count each other's trades), or, for a number of an earlier
 * release that has no install id, it starts with "<terminal>_".
 */
static bool
ours(const struct collect *c, const char *out_trade_no)
{
	char install[JOURNAL_INSTALL_ID_LEN + 1];

	if (journal_trade_no_install(out_trade_no, install) == 0)
		return STR_EQ(install, c->install_id);
	return strncmp(out_trade_no, c->prefix, c->prefix_len) == 0;
}

/*
 * doc/central.md "Refunds at any till": a refund is the till's that made it, whose numbering
 * its out_request_no continues: "<order id>_r<n>" of an own order, "<trade number>_f" of a refund
 * of another till's order. Cut at the last '_', the rest is a number of the till's.
 */
static bool
refund_ours(const struct collect *c, const char *out_request_no)
{
	const char *cut = strrchr(out_request_no, '_');
	char no[ORDER_ID_MAX + 1];

	if (!cut || (size_t)(cut - out_request_no) > ORDER_ID_MAX)
		return false;
	memcpy(no, out_request_no, (size_t)(cut - out_request_no));
	no[cut - out_request_no] = '\0';
	return ours(c, no);
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
	struct bill_expect e = {.type = BILL_ROW_TRADE, .amount_fen = o->amount_fen};
	int r;

	if (!ours(c, o->fsm.id) || !in_day(c, o->fsm.state_since_usec))
		return 0;
	if (o->fsm.state != ORDER_PAID && o->fsm.state != ORDER_REFUNDED_BY_CANCEL)
		return 0;
	snprintf(e.order_id, sizeof(e.order_id), "%s", o->fsm.id);
	state_name(e.state, o->fsm.state);
	r = bill_expects_add(&c->x, &e);
	if (r < 0 || o->fsm.state != ORDER_REFUNDED_BY_CANCEL)
		return r;
	/* doc/protocol.md §5.3: the cancel refunded what was paid; the bill shows it as a refund
	 * row without out_request_no. */
	e.type = BILL_ROW_REFUND;
	e.amount_fen = o->amount_fen - o->refunded_fen;
	return bill_expects_add(&c->x, &e);
}

static int
collect_refund(const struct journal_refund *rf, void *userdata)
{
	struct collect *c = userdata;
	struct bill_expect e = {.type = BILL_ROW_REFUND, .amount_fen = rf->amount_fen};

	if (!refund_ours(c, rf->fsm.id) || rf->fsm.state != REFUND_DONE ||
	    !in_day(c, rf->fsm.state_since_usec))
		return 0;
	snprintf(e.order_id, sizeof(e.order_id), "%s", rf->order_id);
	snprintf(e.request_no, sizeof(e.request_no), "%s", rf->fsm.id);
	snprintf(e.state, sizeof(e.state), "%s", "DONE");
	return bill_expects_add(&c->x, &e);
}

/* A bill row with no expectation of that day: the journal may still know it (another day's
 * payment near midnight, or an order it does not count as paid). */
static int
classify_unexpected(const struct bill_row *br, struct bill_unexpected *u, void *userdata)
{
	struct collect *c = userdata;
	struct journal *j = c->journal;
	char *state = u->state, *note = u->note;
	int64_t *ret_amount = &u->amount_fen;
	struct journal_order o;
	struct journal_refund rf;
	char day[BEIJING_DATE_BUF];
	int r;

	if (br->type == BILL_ROW_REFUND && !isempty(br->out_request_no)) {
		r = journal_refund_get(j, br->out_request_no, &rf);
		if (r == -ENOENT) {
			snprintf(note, BILL_MATCH_NOTE_MAX, "no such refund in the journal");
			return 0;
		}
		if (r < 0)
			return r;
		snprintf(state, sizeof(u->state), "%s",
			 rf.fsm.state == REFUND_DONE ? "DONE" : "NOT_DONE");
		if (rf.fsm.state == REFUND_DONE) {
			*ret_amount = rf.amount_fen;
			snprintf(note, BILL_MATCH_NOTE_MAX, "refunded on %s in the journal",
				 beijing_format_date(
					 (time_t)(rf.fsm.state_since_usec / USEC_PER_SEC), 1, day));
		} else
			snprintf(note, BILL_MATCH_NOTE_MAX, "the journal's refund is not done");
		return 0;
	}
	r = journal_order_get(j, br->out_trade_no, &o);
	if (r == -ENOENT) {
		snprintf(note, BILL_MATCH_NOTE_MAX, "no such order in the journal");
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
		snprintf(note, BILL_MATCH_NOTE_MAX, "settled on %s in the journal",
			 beijing_format_date((time_t)(o.fsm.state_since_usec / USEC_PER_SEC), 1,
					     day));
	} else
		snprintf(note, BILL_MATCH_NOTE_MAX, "the journal does not count it as %s",
			 br->type == BILL_ROW_TRADE ? "paid" : "refunded");
	return 0;
}

static bool
ours_cb(const struct bill_row *br, void *userdata)
{
	if (br->type == BILL_ROW_REFUND && !isempty(br->out_request_no))
		return refund_ours(userdata, br->out_request_no);
	return ours(userdata, br->out_trade_no);
}

static const struct bill_match_ops journal_ops = {
	.ours = ours_cb,
	.classify = classify_unexpected,
};

int
reconcile_report_build(struct journal *j, const struct bill *bill, const char *date,
		       const char *terminal, usec_t now_usec, struct json_object **ret,
		       unsigned *ret_discrepancies)
{
	struct bill_match_summary sum = {};
	struct json_object *report = NULL, *rows = NULL, *others = NULL;
	char prefix[JOURNAL_TERMINAL_MAX + 2], stamp[BEIJING_TIME_BUF];
	struct collect c = {.prefix = prefix, .install_id = journal_install_id(j), .journal = j};
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
	r = bill_match(bill, &c.x, &journal_ops, &c, rows, others, &sum);
	if (r < 0)
		goto fail;

	r = bill_match_add_str(report, "date", date);
	r = r
		    ?: bill_match_add_str(report, "state",
					  bill_match_discrepancies(&sum) ? "discrepancies" : "ok");
	r = r ?: bill_match_add_str(report, "terminal", terminal);
	r = r
		    ?: bill_match_add_str(
			       report, "generated_at",
			       beijing_format_time((time_t)(now_usec / USEC_PER_SEC), stamp));
	r = r ?: bill_match_add_bill(report, bill);
	r = r ?: bill_match_add_summary(report, &sum, false);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	if (json_object_object_add(report, "rows", rows) < 0)
		goto fail;
	rows = NULL;
	if (json_object_object_add(report, "other_terminals", others) < 0)
		goto fail;
	others = NULL;
	bill_expects_done(&c.x);
	*ret_discrepancies = bill_match_discrepancies(&sum);
	*ret = report;
	return 0;
fail:
	bill_expects_done(&c.x);
	json_object_put(rows);
	json_object_put(others);
	json_object_put(report);
	return r;
}
