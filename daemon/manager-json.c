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
	if (!isempty(o->fsm.sub_code))
		json_add_str(j, "reason", o->fsm.sub_code);
	if (o->fsm.kind == ORDER_KIND_QR && o->fsm.expires_usec)
		json_add_time(j, "expires_at", o->fsm.expires_usec);
	if (o->refunded_fen > 0 || o->pending_refund_fen > 0) {
		json_add_money(j, "refunded", o->refunded_fen);
		if (o->pending_refund_fen > 0)
			json_add_money(j, "refund_pending", o->pending_refund_fen);
	}
	json_add_time(j, "created_at", o->created_usec);
	return j;
}

struct json_object *
waiting_to_json(const char *id, int64_t amount_fen, const char *subject, const char *pos_ref,
		const char *state)
{
	struct json_object *j = json_object_new_object();

	if (!j)
		return NULL;
	json_add_str(j, "id", id);
	json_add_money(j, "amount", amount_fen);
	json_add_str(j, "subject", subject);
	json_add_str(j, "mode", "scan");
	json_add_str(j, "state", state);
	json_object_object_add(j, "final", json_object_new_boolean(!STR_EQ(state, WAITING_STATE)));
	if (!isempty(pos_ref))
		json_add_str(j, "pos_ref", pos_ref);
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
