/* SPDX-License-Identifier: MIT */
/* The API's JSON views of orders and refunds, and the event stream. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>

#include "common/macro.h"
#include "common/money.h"
#include "common/time-util.h"
#include "daemon/manager-private.h"

usec_t
manager_now(struct manager *m)
{
	uint64_t t;

	if (sd_event_now(m->event, CLOCK_REALTIME, &t) < 0)
		t = now_usec(CLOCK_REALTIME);
	return t;
}

const char *
state_upper(enum order_state s, char buf[static 32])
{
	const char *n = order_state_to_string(s);
	size_t i = 0;

	for (; n[i] && i < 31; i++)
		buf[i] = (char)toupper((unsigned char)n[i]);
	buf[i] = '\0';
	return buf;
}

const char *
refund_state_upper(enum refund_state s, char buf[static 32])
{
	const char *n = refund_state_to_string(s);
	size_t i = 0;

	for (; n[i] && i < 31; i++)
		buf[i] = (char)toupper((unsigned char)n[i]);
	buf[i] = '\0';
	return buf;
}

void
json_add_str(struct json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

void
json_add_money(struct json_object *o, const char *key, int64_t fen)
{
	char buf[MONEY_BUF_SIZE];

	json_add_str(o, key, money_format(fen, buf));
}

void
json_add_time(struct json_object *o, const char *key, usec_t t)
{
	char buf[BEIJING_TIME_BUF];

	json_add_str(o, key, beijing_format_time((time_t)(t / USEC_PER_SEC), buf));
}

/* A paid order's receipt (doc/api.md "Receipts"): what Alipay said, absent fields left out. */
static struct json_object *
receipt_to_json(const struct journal_receipt *r)
{
	struct json_object *j = json_object_new_object(), *funds;

	if (!j)
		return NULL;
	json_add_str(j, "gmt_payment", r->gmt_payment);
	if (!isempty(r->buyer_logon_id))
		json_add_str(j, "buyer_logon_id", r->buyer_logon_id);
	if (r->receipt_fen >= 0)
		json_add_money(j, "receipt_amount", r->receipt_fen);
	if (r->buyer_pay_fen >= 0)
		json_add_money(j, "buyer_pay_amount", r->buyer_pay_fen);
	if (r->point_fen >= 0)
		json_add_money(j, "point_amount", r->point_fen);
	if (r->invoice_fen >= 0)
		json_add_money(j, "invoice_amount", r->invoice_fen);
	if (r->discount_fen >= 0)
		json_add_money(j, "discount_amount", r->discount_fen);
	if (r->mdiscount_fen >= 0)
		json_add_money(j, "mdiscount_amount", r->mdiscount_fen);
	/* Journaled as the payment layer checked it: an array of {fund_channel, amount, …}. */
	funds = isempty(r->fund_bill_list) ? NULL : json_tokener_parse(r->fund_bill_list);
	if (funds && json_object_is_type(funds, json_type_array))
		json_object_object_add(j, "fund_bill_list", funds);
	else
		json_object_put(funds);
	return j;
}

/* The API's view of an order (doc/api.md). New object or NULL. */
struct json_object *
order_to_json(const struct journal_order *o)
{
	struct json_object *j = json_object_new_object();
	char st[32];

	if (!j)
		return NULL;
	json_add_str(j, "id", o->fsm.id);
	json_add_money(j, "amount", o->amount_fen);
	json_add_str(j, "subject", o->subject);
	json_add_str(j, "mode", o->fsm.kind == ORDER_KIND_QR ? "qr" : "scan");
	json_add_str(j, "state", state_upper(o->fsm.state, st));
	json_object_object_add(j, "final",
			       json_object_new_boolean(order_state_is_final(o->fsm.state)));
	if (!isempty(o->pos_ref))
		json_add_str(j, "pos_ref", o->pos_ref);
	if (!isempty(o->qr_code))
		json_add_str(j, "qr_code", o->qr_code);
	if (!isempty(o->trade_no))
		json_add_str(j, "trade_no", o->trade_no);
	if (!isempty(o->auth_code_masked))
		json_add_str(j, "auth_code", o->auth_code_masked);
	if (!isempty(o->fsm.sub_code)) {
		/* doc/api.md: the code, and the words the customer display shows for it. */
		const struct display_reason *dr = display_reason_lookup(o->fsm.sub_code);

		json_add_str(j, "reason", o->fsm.sub_code);
		if (dr)
			json_add_str(j, "reason_text", dr->en);
	}
	if (o->fsm.kind == ORDER_KIND_QR && o->fsm.expires_usec)
		json_add_time(j, "expires_at", o->fsm.expires_usec);
	if (o->refunded_fen > 0 || o->pending_refund_fen > 0) {
		json_add_money(j, "refunded", o->refunded_fen);
		if (o->pending_refund_fen > 0)
			json_add_money(j, "refund_pending", o->pending_refund_fen);
	}
	if (!isempty(o->operator_id))
		json_add_str(j, "operator_id", o->operator_id);
	if (!isempty(o->receipt.gmt_payment))
		json_object_object_add(j, "receipt", receipt_to_json(&o->receipt));
	json_add_time(j, "created_at", o->created_usec);
	return j;
}

struct json_object *
refund_to_json(const struct journal_refund *r)
{
	struct json_object *j = json_object_new_object();
	char st[32];

	if (!j)
		return NULL;
	json_add_str(j, "id", r->fsm.id);
	json_add_str(j, "order_id", r->order_id);
	json_add_money(j, "amount", r->amount_fen);
	json_add_str(j, "state", refund_state_upper(r->fsm.state, st));
	if (!isempty(r->reason))
		json_add_str(j, "reason", r->reason);
	if (!isempty(r->fsm.sub_code))
		json_add_str(j, "sub_code", r->fsm.sub_code);
	return j;
}

void
manager_broadcast(struct manager *m, const char *event, struct json_object *j)
{
	if (m->api && j)
		(void)api_broadcast(
			m->api, event,
			json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}
