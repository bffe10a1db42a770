/* SPDX-License-Identifier: MIT */
/* The pure order and refund state machines: one handler per state, one logged transition. */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "payment/order/order-fsm.h"

#define _fallthrough_ __attribute__((fallthrough))

static const char *const order_state_names[_ORDER_STATE_MAX] = {
	[ORDER_NEW] = "new",
	[ORDER_WAITING_CODE] = "waiting_for_code",
	[ORDER_PAYING] = "paying",
	[ORDER_UNKNOWN] = "unknown",
	[ORDER_WAITING] = "waiting",
	[ORDER_QUERYING] = "querying",
	[ORDER_PRECREATING] = "precreating",
	[ORDER_SHOWING_QR] = "showing_qr",
	[ORDER_QR_QUERYING] = "qr_querying",
	[ORDER_CANCELING] = "canceling",
	[ORDER_CANCEL_WAIT] = "cancel_wait",
	[ORDER_ATTENTION] = "attention",
	[ORDER_PAID] = "paid",
	[ORDER_FAILED] = "failed",
	[ORDER_CANCELED] = "canceled",
	[ORDER_REFUNDED_BY_CANCEL] = "refunded_by_cancel",
};

static const char *const order_event_names[_ORDER_EV_MAX] = {
	[ORDER_EV_START] = "start",
	[ORDER_EV_PAY_RESULT] = "pay_result",
	[ORDER_EV_PRECREATE_RESULT] = "precreate_result",
	[ORDER_EV_QUERY_RESULT] = "query_result",
	[ORDER_EV_CANCEL_RESULT] = "cancel_result",
	[ORDER_EV_NOTIFY] = "notify",
	[ORDER_EV_TIMER] = "timer",
	[ORDER_EV_ABORT] = "abort",
	[ORDER_EV_RESUME] = "resume",
};

static const char *const order_request_names[_ORDER_REQ_MAX] = {
	[ORDER_REQ_NONE] = "none",
	[ORDER_REQ_PAY] = "alipay.trade.pay",
	[ORDER_REQ_PRECREATE] = "alipay.trade.precreate",
	[ORDER_REQ_QUERY] = "alipay.trade.query",
	[ORDER_REQ_CANCEL] = "alipay.trade.cancel",
};

static const char *const order_kind_names[_ORDER_KIND_MAX] = {
	[ORDER_KIND_SCAN] = "scan",
	[ORDER_KIND_QR] = "qr",
};

static const char *const order_trade_names[_ORDER_TRADE_MAX] = {
	[ORDER_TRADE_NONE] = "",
	[ORDER_TRADE_NOT_EXIST] = "TRADE_NOT_EXIST",
	[ORDER_TRADE_WAIT_BUYER_PAY] = "WAIT_BUYER_PAY",
	[ORDER_TRADE_SUCCESS] = "TRADE_SUCCESS",
	[ORDER_TRADE_FINISHED] = "TRADE_FINISHED",
	[ORDER_TRADE_CLOSED] = "TRADE_CLOSED",
};

static const char *const refund_state_names[_REFUND_STATE_MAX] = {
	[REFUND_NEW] = "new",       [REFUND_REQUESTED] = "requested",
	[REFUND_WAIT] = "wait",     [REFUND_QUERYING] = "querying",
	[REFUND_DONE] = "refunded", [REFUND_FAILED] = "failed",
};

static const char *const refund_event_names[_REFUND_EV_MAX] = {
	[REFUND_EV_START] = "start",
	[REFUND_EV_REFUND_RESULT] = "refund_result",
	[REFUND_EV_QUERY_RESULT] = "query_result",
	[REFUND_EV_TIMER] = "timer",
	[REFUND_EV_RESUME] = "resume",
};

static const char *const refund_request_names[_REFUND_REQ_MAX] = {
	[REFUND_REQ_NONE] = "none",
	[REFUND_REQ_REFUND] = "alipay.trade.refund",
	[REFUND_REQ_QUERY] = "alipay.trade.fastpay.refund.query",
};

#define NAME_OR_INVALID(table, i) \
	((unsigned)(i) < ELEMENTSOF(table) && (table)[i] ? (table)[i] : "(invalid)")

const char *
order_state_to_string(enum order_state s)
{
	return NAME_OR_INVALID(order_state_names, s);
}

const char *
order_event_to_string(enum order_event e)
{
	return NAME_OR_INVALID(order_event_names, e);
}

const char *
order_request_to_string(enum order_request r)
{
	return NAME_OR_INVALID(order_request_names, r);
}

const char *
order_kind_to_string(enum order_kind k)
{
	return NAME_OR_INVALID(order_kind_names, k);
}

const char *
order_trade_status_to_string(enum order_trade_status t)
{
	return NAME_OR_INVALID(order_trade_names, t);
}

const char *
refund_state_to_string(enum refund_state s)
{
	return NAME_OR_INVALID(refund_state_names, s);
}

const char *
refund_event_to_string(enum refund_event e)
{
	return NAME_OR_INVALID(refund_event_names, e);
}

const char *
refund_request_to_string(enum refund_request r)
{
	return NAME_OR_INVALID(refund_request_names, r);
}

static int
lookup(const char *const *table, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (table[i] && *table[i] && STR_EQ(table[i], s))
			return (int)i;
	return -EINVAL;
}

int
order_state_from_string(const char *s, enum order_state *ret)
{
	int i = lookup(order_state_names, ELEMENTSOF(order_state_names), s);
	if (i < 0)
		return i;
	*ret = (enum order_state)i;
	return 0;
}

int
order_kind_from_string(const char *s, enum order_kind *ret)
{
	int i = lookup(order_kind_names, ELEMENTSOF(order_kind_names), s);
	if (i < 0)
		return i;
	*ret = (enum order_kind)i;
	return 0;
}

int
refund_state_from_string(const char *s, enum refund_state *ret)
{
	int i = lookup(refund_state_names, ELEMENTSOF(refund_state_names), s);
	if (i < 0)
		return i;
	*ret = (enum refund_state)i;
	return 0;
}

enum order_trade_status
order_trade_status_from_string(const char *s)
{
	int i = lookup(order_trade_names, ELEMENTSOF(order_trade_names), s);
	return i < 0 ? ORDER_TRADE_NONE : (enum order_trade_status)i;
}

void
order_config_init(struct order_config *cfg)
{
	/* doc/design.md §5.5 defaults, after the official demo (doc/protocol.md §5.1). */
	*cfg = (struct order_config){
		.query_interval_usec = 5 * USEC_PER_SEC,
		.max_queries = 6,
		.cancel_interval_usec = 2 * USEC_PER_SEC,
		.cancel_retries = 3,
		.attention_initial_usec = 10 * USEC_PER_SEC,
		.attention_max_usec = 600 * USEC_PER_SEC,
		.pay_timeout_usec = 120 * USEC_PER_SEC,
		.qr_timeout_usec = 120 * USEC_PER_SEC,
		.qr_poll_interval_usec = 5 * USEC_PER_SEC,
		.refund_retry_usec = 2 * USEC_PER_SEC,
		.refund_retry_max_usec = 600 * USEC_PER_SEC,
	};
}

static usec_t
backoff_usec(usec_t initial, usec_t max, unsigned n)
{
	usec_t t = initial ? initial : 1;

	while (n-- > 0 && t < max)
		t = t > max / 2 ? max : t * 2;
	return MIN(t, max);
}

static void
copy_id(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int
order_init(struct order *o, const char *id, enum order_kind kind, usec_t now_usec)
{
	if (isempty(id) || strlen(id) > ORDER_ID_MAX || (unsigned)kind >= _ORDER_KIND_MAX)
		return -EINVAL;
	*o = (struct order){
		.kind = kind,
		.state = ORDER_NEW,
		.state_since_usec = now_usec,
	};
	copy_id(o->id, sizeof(o->id), id);
	return 0;
}

bool
order_state_is_final(enum order_state s)
{
	switch (s) {
	case ORDER_PAID:
	case ORDER_FAILED:
	case ORDER_CANCELED:
	case ORDER_REFUNDED_BY_CANCEL:
		return true;
	case ORDER_NEW:
	case ORDER_WAITING_CODE:
	case ORDER_PAYING:
	case ORDER_UNKNOWN:
	case ORDER_WAITING:
	case ORDER_QUERYING:
	case ORDER_PRECREATING:
	case ORDER_SHOWING_QR:
	case ORDER_QR_QUERYING:
	case ORDER_CANCELING:
	case ORDER_CANCEL_WAIT:
	case ORDER_ATTENTION:
	case _ORDER_STATE_MAX:
		break;
	}
	return false;
}

bool
order_is_held(const struct order *o)
{
	return o->state == ORDER_ATTENTION && (STR_EQ(o->sub_code, ORDER_REASON_COLLISION) ||
					       STR_EQ(o->sub_code, ORDER_REASON_MISMATCH));
}

/* ---- order transitions ---- */

static int
order_set_state(struct order *o, enum order_state s, usec_t now_usec, struct order_actions *act)
{
	if (o->state != s) {
		o->state = s;
		o->state_since_usec = now_usec;
		act->changed = true;
	}
	return 0;
}

static void
order_note_sub_code(struct order *o, const struct order_result *res)
{
	if (res->sub_code)
		copy_id(o->sub_code, sizeof(o->sub_code), res->sub_code);
}

static bool
result_is_paid(const struct order_result *res)
{
	return res->trade_status == ORDER_TRADE_SUCCESS ||
	       res->trade_status == ORDER_TRADE_FINISHED;
}

static bool
result_is_not_exist(const struct order_result *res)
{
	return res->trade_status == ORDER_TRADE_NOT_EXIST ||
	       (res->cls == ALIPAY_CLASS_FAILED &&
		STR_EQ_PTR(res->sub_code, "ACQ.TRADE_NOT_EXIST"));
}

/*
 * doc/engine.md "Trades that are not ours": the gateway's trade is not this order's. Neither
 * PAID (it would report a stranger's payment as ours) nor a cancel (it would close or refund
 * the stranger's trade): ATTENTION, nothing sent, no timer, until a person looks.
 */
static int
order_hold(struct order *o, const char *reason, usec_t now_usec, struct order_actions *act)
{
	act->send = ORDER_REQ_NONE;
	act->timer_usec = 0;
	if (o->state == ORDER_ATTENTION && STR_EQ(o->sub_code, reason))
		return 0;
	copy_id(o->sub_code, sizeof(o->sub_code), reason);
	act->changed = true; /* the reason is new even when the state is not */
	return order_set_state(o, ORDER_ATTENTION, now_usec, act);
}

/*
 * doc/protocol.md §8: out_trade_no is unique at the gateway forever. Our own pay reaches it once,
 * so a first answer saying the number is already paid, or was used with other parameters, means the
 * trade was there before our pay: someone else's.
 */
static bool
result_is_collision(const struct order_result *res)
{
	return (STR_EQ_PTR(res->sub_code, "ACQ.TRADE_HAS_SUCCESS") && !res->resent) ||
	       STR_EQ_PTR(res->sub_code, "ACQ.CONTEXT_INCONSISTENT");
}

static int
order_start_cancel(struct order *o, usec_t now_usec, struct order_actions *act)
{
	/* doc/protocol.md §5.1: not paid in time (or the cashier gave up) → cancel by out_trade_no.
	 */
	act->send = ORDER_REQ_CANCEL;
	return order_set_state(o, ORDER_CANCELING, now_usec, act);
}

static int
order_send_query(struct order *o, enum order_state s, usec_t now_usec, struct order_actions *act)
{
	if (o->queries_left > 0)
		o->queries_left--;
	act->send = ORDER_REQ_QUERY;
	return order_set_state(o, s, now_usec, act);
}

/* After a scan order's query said "not paid" (or nothing): poll again or give up and cancel. */
static int
order_poll_or_cancel(struct order *o, const struct order_config *cfg, usec_t now_usec,
		     struct order_actions *act)
{
	if (o->abort_requested || o->queries_left == 0)
		return order_start_cancel(o, now_usec, act);
	act->timer_usec = now_usec + cfg->query_interval_usec;
	return order_set_state(o, ORDER_WAITING, now_usec, act);
}

/* The QR stays up until it expires; the next wake-up is the next poll or the expiry. */
static int
order_show_qr(struct order *o, const struct order_config *cfg, usec_t now_usec,
	      struct order_actions *act)
{
	usec_t t = o->expires_usec;

	if (now_usec >= o->expires_usec) {
		o->expired = true;
		return order_start_cancel(o, now_usec, act);
	}
	if (cfg->qr_poll_interval_usec > 0)
		t = MIN(t, now_usec + cfg->qr_poll_interval_usec);
	act->timer_usec = t;
	return order_set_state(o, ORDER_SHOWING_QR, now_usec, act);
}

/* doc/protocol.md §5.3: retry_flag=Y or no answer → retry a few times, then ATTENTION with backoff.
 */
static int
order_cancel_retry(struct order *o, const struct order_config *cfg, usec_t now_usec,
		   struct order_actions *act)
{
	o->cancel_attempts++;
	if (o->cancel_attempts <= cfg->cancel_retries) {
		act->timer_usec = now_usec + cfg->cancel_interval_usec;
		return order_set_state(o, ORDER_CANCEL_WAIT, now_usec, act);
	}
	act->timer_usec = now_usec + backoff_usec(cfg->attention_initial_usec,
						  cfg->attention_max_usec, o->attention_count);
	o->attention_count++;
	return order_set_state(o, ORDER_ATTENTION, now_usec, act);
}

/* A verified notification while nothing decisive is in flight. */
static int
order_apply_notify(struct order *o, const struct order_result *res, usec_t now_usec,
		   struct order_actions *act)
{
	/* doc/protocol.md §4: only TRADE_SUCCESS and TRADE_FINISHED mean paid; others change
	 * nothing except TRADE_CLOSED (closed by the gateway, e.g. timeout_express). */
	if (result_is_paid(res))
		return order_set_state(o, ORDER_PAID, now_usec, act);
	if (res->trade_status == ORDER_TRADE_CLOSED)
		return order_set_state(o, ORDER_CANCELED, now_usec, act);
	return 0;
}

static int
new_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
	   const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_START:
		if (o->kind == ORDER_KIND_QR) {
			act->send = ORDER_REQ_PRECREATE;
			return order_set_state(o, ORDER_PRECREATING, now_usec, act);
		}
		act->send = ORDER_REQ_PAY;
		return order_set_state(o, ORDER_PAYING, now_usec, act);
	case ORDER_EV_ABORT:
	case ORDER_EV_RESUME:
		/* Nothing was sent (write-ahead: PAYING is on disk before the pay leaves). */
		return order_set_state(o, ORDER_CANCELED, now_usec, act);
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_QUERY_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case ORDER_EV_NOTIFY:
	case ORDER_EV_TIMER:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

/* Nothing was sent: the code starts the pay; the end of the wait or the cashier ends it. */
static int
waiting_code_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
		    const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_START:
		act->send = ORDER_REQ_PAY;
		return order_set_state(o, ORDER_PAYING, now_usec, act);
	case ORDER_EV_ABORT:
		return order_set_state(o, ORDER_CANCELED, now_usec, act);
	case ORDER_EV_TIMER:
	case ORDER_EV_RESUME:
		if (now_usec >= o->expires_usec)
			return order_set_state(o, ORDER_CANCELED, now_usec, act);
		act->timer_usec = o->expires_usec;
		return 0;
	case ORDER_EV_NOTIFY:
		return 0;
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_QUERY_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
paying_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
	      const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_PAY_RESULT:
		if (result_is_collision(res))
			return order_hold(o, ORDER_REASON_COLLISION, now_usec, act);
		order_note_sub_code(o, res);
		switch (res->cls) {
		case ALIPAY_CLASS_SUCCESS:
			/* Paid, even if the cashier pressed abort meanwhile: it can be refunded. */
			return order_set_state(o, ORDER_PAID, now_usec, act);
		case ALIPAY_CLASS_IN_PROGRESS:
			/* doc/protocol.md §5.1: 10003 → wait query_interval first, then query. */
			o->queries_left = cfg->max_queries;
			return order_poll_or_cancel(o, cfg, now_usec, act);
		case ALIPAY_CLASS_FAILED:
			/* doc/protocol.md §6: ACQ.TRADE_HAS_SUCCESS → query to confirm, then paid.
			 */
			if (!STR_EQ_PTR(res->sub_code, "ACQ.TRADE_HAS_SUCCESS"))
				return order_set_state(o, ORDER_FAILED, now_usec, act);
			_fallthrough_;
		case ALIPAY_CLASS_UNKNOWN:
		case _ALIPAY_CLASS_MAX:
			/* doc/protocol.md §5.1, §8: never a second pay; query at once. */
			o->queries_left = MAX(cfg->max_queries, 1u);
			return order_send_query(o, ORDER_UNKNOWN, now_usec, act);
		case ALIPAY_CLASS_CONFIG:
			/* The gateway refused the request itself: no trade was created. */
			return order_set_state(o, ORDER_FAILED, now_usec, act);
		}
		break;
	case ORDER_EV_ABORT:
		o->abort_requested = true;
		return 0;
	case ORDER_EV_NOTIFY:
		/* The pay answer decides; a paid notification is confirmed by it or a query. */
		return 0;
	case ORDER_EV_RESUME:
		/* Crashed with a pay in flight: its fate is unknown. */
		o->queries_left = MAX(cfg->max_queries, 1u);
		return order_send_query(o, ORDER_UNKNOWN, now_usec, act);
	case ORDER_EV_START:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_QUERY_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case ORDER_EV_TIMER:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

/* UNKNOWN and QUERYING: a query of a scan order is in flight. */
static int
querying_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
		const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_QUERY_RESULT:
		if (res->cls == ALIPAY_CLASS_SUCCESS && result_is_paid(res))
			return order_set_state(o, ORDER_PAID, now_usec, act);
		if (res->cls == ALIPAY_CLASS_SUCCESS && res->trade_status == ORDER_TRADE_CLOSED)
			return order_set_state(o, ORDER_CANCELED, now_usec, act);
		/* WAIT_BUYER_PAY, TRADE_NOT_EXIST, or no usable answer: poll again or cancel. */
		order_note_sub_code(o, res);
		return order_poll_or_cancel(o, cfg, now_usec, act);
	case ORDER_EV_ABORT:
		/* A query in flight is harmless: its answer is dropped as stale. */
		return order_start_cancel(o, now_usec, act);
	case ORDER_EV_NOTIFY:
		return order_apply_notify(o, res, now_usec, act);
	case ORDER_EV_RESUME:
		act->send = ORDER_REQ_QUERY;
		return 0;
	case ORDER_EV_START:
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case ORDER_EV_TIMER:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
waiting_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
	       const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_TIMER:
	case ORDER_EV_RESUME:
		return order_send_query(o, ORDER_QUERYING, now_usec, act);
	case ORDER_EV_ABORT:
		return order_start_cancel(o, now_usec, act);
	case ORDER_EV_NOTIFY:
		return order_apply_notify(o, res, now_usec, act);
	case ORDER_EV_START:
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_QUERY_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
precreating_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
		   const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_PRECREATE_RESULT:
		/* A precreate answered "paid" or "other parameters": the number was taken. */
		if (STR_EQ_PTR(res->sub_code, "ACQ.TRADE_HAS_SUCCESS") ||
		    STR_EQ_PTR(res->sub_code, "ACQ.CONTEXT_INCONSISTENT"))
			return order_hold(o, ORDER_REASON_COLLISION, now_usec, act);
		order_note_sub_code(o, res);
		switch (res->cls) {
		case ALIPAY_CLASS_SUCCESS:
			/* doc/protocol.md §5.4: the trade exists only once scanned; show the QR. */
			o->expires_usec = now_usec + cfg->qr_timeout_usec;
			if (o->abort_requested)
				return order_start_cancel(o, now_usec, act);
			return order_show_qr(o, cfg, now_usec, act);
		case ALIPAY_CLASS_UNKNOWN:
		case _ALIPAY_CLASS_MAX:
			/* A QR may exist that nobody has seen: close it to be sure. */
			return order_start_cancel(o, now_usec, act);
		case ALIPAY_CLASS_IN_PROGRESS:
		case ALIPAY_CLASS_FAILED:
		case ALIPAY_CLASS_CONFIG:
			return order_set_state(o, ORDER_FAILED, now_usec, act);
		}
		break;
	case ORDER_EV_ABORT:
		o->abort_requested = true;
		return 0;
	case ORDER_EV_NOTIFY:
		/* Nobody can have scanned a QR we never showed. */
		return 0;
	case ORDER_EV_RESUME:
		return order_start_cancel(o, now_usec, act);
	case ORDER_EV_START:
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_QUERY_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case ORDER_EV_TIMER:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
showing_qr_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
		  const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_TIMER:
	case ORDER_EV_RESUME:
		if (now_usec >= o->expires_usec) {
			o->expired = true;
			return order_start_cancel(o, now_usec, act);
		}
		if (cfg->qr_poll_interval_usec == 0 && ev == ORDER_EV_TIMER)
			return order_show_qr(o, cfg, now_usec, act);
		act->send = ORDER_REQ_QUERY;
		return order_set_state(o, ORDER_QR_QUERYING, now_usec, act);
	case ORDER_EV_ABORT:
		return order_start_cancel(o, now_usec, act);
	case ORDER_EV_NOTIFY:
		return order_apply_notify(o, res, now_usec, act);
	case ORDER_EV_START:
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_QUERY_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
qr_querying_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
		   const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_QUERY_RESULT:
		if (res->cls == ALIPAY_CLASS_SUCCESS && result_is_paid(res))
			return order_set_state(o, ORDER_PAID, now_usec, act);
		if (res->cls == ALIPAY_CLASS_SUCCESS && res->trade_status == ORDER_TRADE_CLOSED)
			return order_set_state(o, ORDER_CANCELED, now_usec, act);
		/* doc/protocol.md §6: ACQ.TRADE_NOT_EXIST while unscanned: keep polling until
		 * expiry. */
		return order_show_qr(o, cfg, now_usec, act);
	case ORDER_EV_ABORT:
		return order_start_cancel(o, now_usec, act);
	case ORDER_EV_NOTIFY:
		return order_apply_notify(o, res, now_usec, act);
	case ORDER_EV_RESUME:
		act->send = ORDER_REQ_QUERY;
		return 0;
	case ORDER_EV_START:
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case ORDER_EV_TIMER:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
canceling_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
		 const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_CANCEL_RESULT:
		order_note_sub_code(o, res);
		switch (res->cls) {
		case ALIPAY_CLASS_SUCCESS:
		case ALIPAY_CLASS_IN_PROGRESS:
			/* doc/protocol.md §5.3: retry_flag=Y → the cancel must be repeated. */
			if (res->retry_flag)
				return order_cancel_retry(o, cfg, now_usec, act);
			if (res->action == ORDER_CANCEL_ACTION_REFUND)
				return order_set_state(o, ORDER_REFUNDED_BY_CANCEL, now_usec, act);
			return order_set_state(o, ORDER_CANCELED, now_usec, act);
		case ALIPAY_CLASS_FAILED:
			/* An unscanned QR or a pay that never arrived: nothing to cancel. */
			if (result_is_not_exist(res))
				return order_set_state(o, ORDER_CANCELED, now_usec, act);
			/* A definite refusal to cancel cannot be settled here: ATTENTION. */
			o->cancel_attempts = MAX(o->cancel_attempts, cfg->cancel_retries);
			return order_cancel_retry(o, cfg, now_usec, act);
		case ALIPAY_CLASS_UNKNOWN:
		case _ALIPAY_CLASS_MAX:
			return order_cancel_retry(o, cfg, now_usec, act);
		case ALIPAY_CLASS_CONFIG:
			o->cancel_attempts = MAX(o->cancel_attempts, cfg->cancel_retries);
			return order_cancel_retry(o, cfg, now_usec, act);
		}
		break;
	case ORDER_EV_ABORT:
	case ORDER_EV_NOTIFY:
		/* Already canceling; the cancel's answer decides (it refunds a late payment). */
		return 0;
	case ORDER_EV_RESUME:
		act->send = ORDER_REQ_CANCEL;
		return 0;
	case ORDER_EV_START:
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_QUERY_RESULT:
	case ORDER_EV_TIMER:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

/* CANCEL_WAIT and ATTENTION: the next cancel is on a timer (never for a held order). */
static int
cancel_wait_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
		   const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_TIMER:
	case ORDER_EV_RESUME:
		if (order_is_held(o))
			return 0;
		return order_start_cancel(o, now_usec, act);
	case ORDER_EV_ABORT:
	case ORDER_EV_NOTIFY:
		return 0;
	case ORDER_EV_START:
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_QUERY_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
final_handle(struct order *o, const struct order_config *cfg, enum order_event ev,
	     const struct order_result *res, usec_t now_usec, struct order_actions *act)
{
	switch (ev) {
	case ORDER_EV_NOTIFY:
		/* Notifications repeat (doc/protocol.md §4); one that contradicts us is worth a
		 * warning.
		 */
		if (result_is_paid(res) && o->state != ORDER_PAID)
			log_warning("order %s: notification says %s but the order is %s", o->id,
				    order_trade_status_to_string(res->trade_status),
				    order_state_to_string(o->state));
		return 0;
	case ORDER_EV_ABORT:
	case ORDER_EV_RESUME:
		return 0;
	case ORDER_EV_START:
	case ORDER_EV_PAY_RESULT:
	case ORDER_EV_PRECREATE_RESULT:
	case ORDER_EV_QUERY_RESULT:
	case ORDER_EV_CANCEL_RESULT:
	case ORDER_EV_TIMER:
	case _ORDER_EV_MAX:
		break;
	}
	return -EBADMSG;
}

typedef int (*order_handler)(struct order *o, const struct order_config *cfg, enum order_event ev,
			     const struct order_result *res, usec_t now_usec,
			     struct order_actions *act);

static order_handler
order_handler_for(enum order_state s)
{
	switch (s) {
	case ORDER_NEW:
		return new_handle;
	case ORDER_WAITING_CODE:
		return waiting_code_handle;
	case ORDER_PAYING:
		return paying_handle;
	case ORDER_UNKNOWN:
	case ORDER_QUERYING:
		return querying_handle;
	case ORDER_WAITING:
		return waiting_handle;
	case ORDER_PRECREATING:
		return precreating_handle;
	case ORDER_SHOWING_QR:
		return showing_qr_handle;
	case ORDER_QR_QUERYING:
		return qr_querying_handle;
	case ORDER_CANCELING:
		return canceling_handle;
	case ORDER_CANCEL_WAIT:
	case ORDER_ATTENTION:
		return cancel_wait_handle;
	case ORDER_PAID:
	case ORDER_FAILED:
	case ORDER_CANCELED:
	case ORDER_REFUNDED_BY_CANCEL:
		return final_handle;
	case _ORDER_STATE_MAX:
		break;
	}
	return NULL;
}

static const struct order_result result_unknown = {.cls = ALIPAY_CLASS_UNKNOWN};

int
order_dispatch(struct order *o, const struct order_config *cfg, enum order_event ev,
	       const struct order_result *res, usec_t now_usec, struct order_actions *ret_act)
{
	struct order saved = *o;
	struct order_actions act = {};
	order_handler h = order_handler_for(o->state);
	int r = -EBADMSG;

	if (!res)
		res = &result_unknown;
	if (h && (unsigned)ev < _ORDER_EV_MAX)
		r = h(o, cfg, ev, res, now_usec, &act);
	/* doc/engine.md: an answer about a trade that is not this order's (another amount, buyer or
	 * trade_no) never moves money for it: whatever the handler chose, hold it. */
	if (r >= 0 && res->contradicts && !order_state_is_final(saved.state) && !order_is_held(o))
		r = order_hold(o, ORDER_REASON_MISMATCH, now_usec, &act);
	if (r < 0) {
		*o = saved;
		*ret_act = (struct order_actions){};
		return log_bug("order %s: event %s impossible in state %s", o->id,
			       order_event_to_string(ev), order_state_to_string(o->state));
	}
	if (act.changed || act.send != ORDER_REQ_NONE) {
		/* doc/design.md §12: transitions are structured journal entries. */
		const struct log_field f[] = {
			{"ORDER", o->id},
			{"STATE", order_state_to_string(o->state)},
			{"PREVIOUS_STATE", order_state_to_string(saved.state)},
			{"EVENT", order_event_to_string(ev)},
		};
		log_fields(LOG_INFO, f, ELEMENTSOF(f), "order %s: %s → %s → %s%s%s", o->id,
			   order_state_to_string(saved.state), order_event_to_string(ev),
			   order_state_to_string(o->state),
			   act.send != ORDER_REQ_NONE ? ", send " : "",
			   act.send != ORDER_REQ_NONE ? order_request_to_string(act.send) : "");
	} else
		log_debug("order %s: %s → %s → (unchanged)", o->id, order_state_to_string(o->state),
			  order_event_to_string(ev));
	*ret_act = act;
	return 0;
}

/* ---- refunds ---- */

int
refund_init(struct refund *r, const char *id, usec_t now_usec)
{
	if (isempty(id) || strlen(id) > REFUND_ID_MAX)
		return -EINVAL;
	*r = (struct refund){
		.state = REFUND_NEW,
		.state_since_usec = now_usec,
	};
	copy_id(r->id, sizeof(r->id), id);
	return 0;
}

bool
refund_state_is_final(enum refund_state s)
{
	switch (s) {
	case REFUND_DONE:
	case REFUND_FAILED:
		return true;
	case REFUND_NEW:
	case REFUND_REQUESTED:
	case REFUND_WAIT:
	case REFUND_QUERYING:
	case _REFUND_STATE_MAX:
		break;
	}
	return false;
}

static int
refund_set_state(struct refund *r, enum refund_state s, usec_t now_usec, struct refund_actions *act)
{
	if (r->state != s) {
		r->state = s;
		r->state_since_usec = now_usec;
		act->changed = true;
	}
	return 0;
}

static int
refund_send(struct refund *r, usec_t now_usec, struct refund_actions *act)
{
	/* doc/protocol.md §5.5: always the same out_request_no and amount: Alipay refunds once. */
	act->send = REFUND_REQ_REFUND;
	return refund_set_state(r, REFUND_REQUESTED, now_usec, act);
}

static int
refund_retry_later(struct refund *r, const struct order_config *cfg, usec_t now_usec,
		   struct refund_actions *act)
{
	act->timer_usec = now_usec + backoff_usec(cfg->refund_retry_usec,
						  cfg->refund_retry_max_usec, r->attempts);
	r->attempts++;
	return refund_set_state(r, REFUND_WAIT, now_usec, act);
}

static int
refund_new_handle(struct refund *r, const struct order_config *cfg, enum refund_event ev,
		  const struct order_result *res, usec_t now_usec, struct refund_actions *act)
{
	switch (ev) {
	case REFUND_EV_START:
	case REFUND_EV_RESUME:
		return refund_send(r, now_usec, act);
	case REFUND_EV_REFUND_RESULT:
	case REFUND_EV_QUERY_RESULT:
	case REFUND_EV_TIMER:
	case _REFUND_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
refund_requested_handle(struct refund *r, const struct order_config *cfg, enum refund_event ev,
			const struct order_result *res, usec_t now_usec, struct refund_actions *act)
{
	switch (ev) {
	case REFUND_EV_REFUND_RESULT:
		if (res->sub_code)
			copy_id(r->sub_code, sizeof(r->sub_code), res->sub_code);
		switch (res->cls) {
		case ALIPAY_CLASS_SUCCESS:
		case ALIPAY_CLASS_IN_PROGRESS:
			if (res->fund_change)
				return refund_set_state(r, REFUND_DONE, now_usec, act);
			/* doc/protocol.md §5.7: fund_change=N (e.g. a repeat): confirm by query. */
			act->send = REFUND_REQ_QUERY;
			return refund_set_state(r, REFUND_QUERYING, now_usec, act);
		case ALIPAY_CLASS_FAILED:
		case ALIPAY_CLASS_CONFIG:
			return refund_set_state(r, REFUND_FAILED, now_usec, act);
		case ALIPAY_CLASS_UNKNOWN:
		case _ALIPAY_CLASS_MAX:
			return refund_retry_later(r, cfg, now_usec, act);
		}
		break;
	case REFUND_EV_RESUME:
		act->send = REFUND_REQ_REFUND;
		return 0;
	case REFUND_EV_START:
	case REFUND_EV_QUERY_RESULT:
	case REFUND_EV_TIMER:
	case _REFUND_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
refund_wait_handle(struct refund *r, const struct order_config *cfg, enum refund_event ev,
		   const struct order_result *res, usec_t now_usec, struct refund_actions *act)
{
	switch (ev) {
	case REFUND_EV_TIMER:
	case REFUND_EV_RESUME:
		return refund_send(r, now_usec, act);
	case REFUND_EV_START:
	case REFUND_EV_REFUND_RESULT:
	case REFUND_EV_QUERY_RESULT:
	case _REFUND_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
refund_querying_handle(struct refund *r, const struct order_config *cfg, enum refund_event ev,
		       const struct order_result *res, usec_t now_usec, struct refund_actions *act)
{
	switch (ev) {
	case REFUND_EV_QUERY_RESULT:
		if (res->cls == ALIPAY_CLASS_SUCCESS && res->refund_found)
			return refund_set_state(r, REFUND_DONE, now_usec, act);
		/* doc/protocol.md §5.7: 10000 without refund_amount: it did not happen, send it
		 * again. */
		if (res->cls == ALIPAY_CLASS_SUCCESS)
			return refund_send(r, now_usec, act);
		return refund_retry_later(r, cfg, now_usec, act);
	case REFUND_EV_RESUME:
		act->send = REFUND_REQ_QUERY;
		return 0;
	case REFUND_EV_START:
	case REFUND_EV_REFUND_RESULT:
	case REFUND_EV_TIMER:
	case _REFUND_EV_MAX:
		break;
	}
	return -EBADMSG;
}

static int
refund_final_handle(struct refund *r, const struct order_config *cfg, enum refund_event ev,
		    const struct order_result *res, usec_t now_usec, struct refund_actions *act)
{
	switch (ev) {
	case REFUND_EV_RESUME:
		return 0;
	case REFUND_EV_START:
	case REFUND_EV_REFUND_RESULT:
	case REFUND_EV_QUERY_RESULT:
	case REFUND_EV_TIMER:
	case _REFUND_EV_MAX:
		break;
	}
	return -EBADMSG;
}

typedef int (*refund_handler)(struct refund *r, const struct order_config *cfg,
			      enum refund_event ev, const struct order_result *res, usec_t now_usec,
			      struct refund_actions *act);

static refund_handler
refund_handler_for(enum refund_state s)
{
	switch (s) {
	case REFUND_NEW:
		return refund_new_handle;
	case REFUND_REQUESTED:
		return refund_requested_handle;
	case REFUND_WAIT:
		return refund_wait_handle;
	case REFUND_QUERYING:
		return refund_querying_handle;
	case REFUND_DONE:
	case REFUND_FAILED:
		return refund_final_handle;
	case _REFUND_STATE_MAX:
		break;
	}
	return NULL;
}

int
refund_dispatch(struct refund *r, const struct order_config *cfg, enum refund_event ev,
		const struct order_result *res, usec_t now_usec, struct refund_actions *ret_act)
{
	struct refund saved = *r;
	struct refund_actions act = {};
	refund_handler h = refund_handler_for(r->state);
	int k = -EBADMSG;

	if (!res)
		res = &result_unknown;
	if (h && (unsigned)ev < _REFUND_EV_MAX)
		k = h(r, cfg, ev, res, now_usec, &act);
	if (k < 0) {
		*r = saved;
		*ret_act = (struct refund_actions){};
		return log_bug("refund %s: event %s impossible in state %s", r->id,
			       refund_event_to_string(ev), refund_state_to_string(r->state));
	}
	if (act.changed || act.send != REFUND_REQ_NONE) {
		const struct log_field f[] = {
			{"REFUND", r->id},
			{"STATE", refund_state_to_string(r->state)},
			{"PREVIOUS_STATE", refund_state_to_string(saved.state)},
			{"EVENT", refund_event_to_string(ev)},
		};
		log_fields(LOG_INFO, f, ELEMENTSOF(f), "refund %s: %s → %s → %s%s%s", r->id,
			   refund_state_to_string(saved.state), refund_event_to_string(ev),
			   refund_state_to_string(r->state),
			   act.send != REFUND_REQ_NONE ? ", send " : "",
			   act.send != REFUND_REQ_NONE ? refund_request_to_string(act.send) : "");
	}
	*ret_act = act;
	return 0;
}
