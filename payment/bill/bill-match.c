/* SPDX-License-Identifier: MIT */
/* Matching a day's bill against what our side expects (doc/protocol.md §5.8). */
#include "payment/bill/bill-match.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/money.h"

int
bill_expects_add(struct bill_expects *x, const struct bill_expect *e)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		struct bill_expect *v = reallocarray(x->v, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = *e;
	return 0;
}

void
bill_expects_done(struct bill_expects *x)
{
	free(x->v);
	*x = (struct bill_expects){};
}

/*
 * The key a bill row is found by: a payment by out_trade_no, a refund by out_request_no, a
 * cancel's refund (no out_request_no) by out_trade_no.
 */
enum key_kind {
	KEY_TRADE,
	KEY_REFUND,
	KEY_CANCEL_REFUND,
};

static enum key_kind
expect_key(const struct bill_expect *e, const char **ret_id)
{
	if (e->type == BILL_ROW_TRADE) {
		*ret_id = e->order_id;
		return KEY_TRADE;
	}
	if (!isempty(e->request_no)) {
		*ret_id = e->request_no;
		return KEY_REFUND;
	}
	*ret_id = e->order_id;
	return KEY_CANCEL_REFUND;
}

static int
key_cmp(enum key_kind ka, const char *ia, enum key_kind kb, const char *ib)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return strcmp(ia, ib);
}

static int
expect_ptr_cmp(const void *a, const void *b)
{
	const struct bill_expect *ea = *(const struct bill_expect *const *)a;
	const struct bill_expect *eb = *(const struct bill_expect *const *)b;
	const char *ia, *ib;
	enum key_kind ka = expect_key(ea, &ia), kb = expect_key(eb, &ib);
	int c = key_cmp(ka, ia, kb, ib);

	/* Equal keys keep their order: the first one collected is used first. */
	return c ? c : (ea < eb ? -1 : ea > eb);
}

/* The first unused expectation with the bill row's key, in a sorted index; NULL if none. */
static struct bill_expect *
expect_find(struct bill_expect **idx, size_t n, const struct bill_row *br)
{
	enum key_kind k = br->type == BILL_ROW_TRADE     ? KEY_TRADE
			  : !isempty(br->out_request_no) ? KEY_REFUND
							 : KEY_CANCEL_REFUND;
	const char *id = k == KEY_REFUND ? br->out_request_no : br->out_trade_no;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *mi;
		enum key_kind mk = expect_key(idx[mid], &mi);
		if (key_cmp(mk, mi, k, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n; lo++) {
		const char *li;
		enum key_kind lk = expect_key(idx[lo], &li);
		if (key_cmp(lk, li, k, id) != 0)
			return NULL;
		if (!idx[lo]->used)
			return idx[lo];
	}
	return NULL;
}

int
bill_match_add_str(struct json_object *o, const char *key, const char *value)
{
	struct json_object *s = json_object_new_string(strempty(value));

	if (!s || json_object_object_add(o, key, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

int
bill_match_add_int(struct json_object *o, const char *key, int64_t value)
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

	return bill_match_add_str(o, key, present ? money_format(fen, a) : "");
}

struct row {
	const char *status;
	enum bill_row_type type;
	const char *out_trade_no, *request_no, *trade_no;
	const struct bill_row *br;
	bool has_ours;
	int64_t ours_fen; /* positive */
	const char *state, *note;
};

static int
row_add(struct json_object *arr, const struct row *w, const struct bill_match_ops *ops,
	void *userdata)
{
	int64_t sign = w->type == BILL_ROW_REFUND ? -1 : 1;
	struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	r = bill_match_add_str(o, "status", w->status);
	r = r ?: bill_match_add_str(o, "type", bill_row_type_to_string(w->type));
	r = r ?: bill_match_add_str(o, "out_trade_no", w->out_trade_no);
	r = r ?: bill_match_add_str(o, "out_request_no", w->request_no);
	r = r ?: bill_match_add_str(o, "trade_no", w->trade_no);
	r = r ?: add_money(o, "bill_amount", w->br, w->br ? w->br->received_fen : 0);
	r = r ?: add_money(o, "journal_amount", w->has_ours, sign * w->ours_fen);
	r = r ?: bill_match_add_str(o, "finished", w->br ? w->br->finished : "");
	r = r ?: bill_match_add_str(o, "journal_state", w->state);
	r = r ?: bill_match_add_str(o, "note", w->note);
	if (r >= 0 && ops->decorate)
		r = ops->decorate(o, w->out_trade_no, userdata);
	if (r < 0 || json_object_array_add(arr, o) < 0) {
		json_object_put(o);
		return r < 0 ? r : -ENOMEM;
	}
	return 0;
}

static int64_t
bill_side(const struct bill_row *br)
{
	return br->type == BILL_ROW_REFUND ? -br->received_fen : br->received_fen;
}

static int
match_row(const struct bill_row *br, struct bill_expect **idx, size_t n,
	  const struct bill_match_ops *ops, void *userdata, struct json_object *rows,
	  struct json_object *others, struct bill_match_summary *sum)
{
	struct row w = {
		.type = br->type,
		.out_trade_no = br->out_trade_no,
		.request_no = br->type == BILL_ROW_REFUND ? br->out_request_no : "",
		.trade_no = br->trade_no,
		.br = br,
	};
	struct bill_unexpected u = {.amount_fen = -1};
	struct bill_expect *e;
	int r;

	if (!ops->ours(br, userdata)) {
		sum->other_terminals++;
		w.status = BILL_MATCH_OTHER_TERMINAL;
		w.state = "";
		w.note = "another terminal";
		return row_add(others, &w, ops, userdata);
	}
	e = expect_find(idx, n, br);
	if (e) {
		e->used = true;
		w.has_ours = true;
		w.ours_fen = e->amount_fen;
		w.state = e->state;
		w.note = "";
	} else {
		r = ops->classify(br, &u, userdata);
		if (r < 0)
			return r;
		w.state = u.state;
		w.note = u.note;
		if (u.amount_fen < 0) {
			bool behind = u.status && STR_EQ(u.status, BILL_MATCH_NOT_CAUGHT_UP);
			if (behind)
				sum->not_caught_up++;
			else
				sum->bill_only++;
			w.status = behind ? BILL_MATCH_NOT_CAUGHT_UP : BILL_MATCH_BILL_ONLY;
			return row_add(rows, &w, ops, userdata);
		}
		w.has_ours = true;
		w.ours_fen = u.amount_fen;
	}
	if (bill_side(br) == w.ours_fen) {
		sum->matched++;
		w.status = BILL_MATCH_MATCHED;
	} else {
		sum->amount_mismatch++;
		w.status = BILL_MATCH_AMOUNT_MISMATCH;
	}
	return row_add(rows, &w, ops, userdata);
}

int
bill_match(const struct bill *bill, struct bill_expects *x, const struct bill_match_ops *ops,
	   void *userdata, struct json_object *rows, struct json_object *others,
	   struct bill_match_summary *sum)
{
	_cleanup_free_ struct bill_expect **idx = NULL;
	int r;

	if (x->n > 0) {
		idx = calloc(x->n, sizeof(*idx));
		if (!idx)
			return -ENOMEM;
		for (size_t i = 0; i < x->n; i++)
			idx[i] = &x->v[i];
		qsort(idx, x->n, sizeof(*idx), expect_ptr_cmp);
	}
	for (size_t i = 0; i < bill->n_rows; i++) {
		r = match_row(&bill->rows[i], idx, x->n, ops, userdata, rows, others, sum);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct bill_expect *e = &x->v[i];
		struct row w = {
			.status = BILL_MATCH_JOURNAL_ONLY,
			.type = e->type,
			.out_trade_no = e->order_id,
			.request_no = e->request_no,
			.trade_no = "",
			.has_ours = true,
			.ours_fen = e->amount_fen,
			.state = e->state,
			.note = "missing from the bill",
		};
		if (e->used)
			continue;
		sum->journal_only++;
		r = row_add(rows, &w, ops, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

unsigned
bill_match_discrepancies(const struct bill_match_summary *s)
{
	return s->bill_only + s->journal_only + s->amount_mismatch;
}

int
bill_match_add_bill(struct json_object *report, const struct bill *bill)
{
	struct json_object *o = json_object_new_object();
	char a[MONEY_BUF_SIZE];
	int r;

	if (!o || json_object_object_add(report, "bill", o) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	r = bill_match_add_str(o, "account", bill->account);
	r = r ?: bill_match_add_int(o, "trades", (int64_t)bill->n_trades);
	r = r ?: bill_match_add_str(o, "trades_total", money_format(bill->trades_fen, a));
	r = r ?: bill_match_add_int(o, "refunds", (int64_t)bill->n_refunds);
	r = r ?: bill_match_add_str(o, "refunds_total", money_format(bill->refunds_fen, a));
	return r;
}

int
bill_match_add_summary(struct json_object *o, const struct bill_match_summary *s,
		       bool with_not_caught_up)
{
	struct json_object *j = json_object_new_object();
	int r;

	if (!j || json_object_object_add(o, "summary", j) < 0) {
		json_object_put(j);
		return -ENOMEM;
	}
	r = bill_match_add_int(j, "matched", s->matched);
	r = r ?: bill_match_add_int(j, "bill_only", s->bill_only);
	r = r ?: bill_match_add_int(j, "journal_only", s->journal_only);
	r = r ?: bill_match_add_int(j, "amount_mismatch", s->amount_mismatch);
	if (with_not_caught_up)
		r = r ?: bill_match_add_int(j, "not_caught_up", s->not_caught_up);
	r = r ?: bill_match_add_int(j, "other_terminals", s->other_terminals);
	return r;
}
