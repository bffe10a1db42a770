/* SPDX-License-Identifier: MIT */
/* The pure order and refund state machines: (state, event, now) → (new state, actions). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "payment/result.h"

/*
 * doc/design.md §5, doc/protocol.md §5.1 and §6. Nothing here does I/O or reads
 * a clock: the engine passes the current time in, executes the actions that come out (journal,
 * send one request, arm one timer, tell observers) and feeds the results back as events. Timers
 * are events. A pay request is never re-sent: an unknown pay result only ever leads to queries
 * and, if the trade is not paid, a cancel.
 */

#define ORDER_ID_MAX       64 /* doc/protocol.md §5.1: out_trade_no ≤ 64 characters */
#define ORDER_SUB_CODE_MAX 64

/*
 * doc/engine.md "Trades that are not ours". Reasons the machine gives itself, journaled and shown
 * like sub_codes. An order held for one of them is in ATTENTION and sends nothing more: a cancel
 * by this out_trade_no would close or refund a trade that belongs to someone else.
 */
#define ORDER_REASON_COLLISION "F2FPAY.TRADE_NO_COLLISION" /* the number was someone else's */
#define ORDER_REASON_MISMATCH  "F2FPAY.GATEWAY_MISMATCH"   /* amount or trade_no contradicts */

enum order_kind {
	ORDER_KIND_SCAN, /* the merchant scans the buyer's payment code: alipay.trade.pay */
	ORDER_KIND_QR,   /* the buyer scans our QR: alipay.trade.precreate */
	_ORDER_KIND_MAX,
};

enum order_state {
	ORDER_NEW,          /* journaled, nothing sent */
	ORDER_WAITING_CODE, /* a scan order waiting for the scanner's payment code (nothing sent);
			     * START brings the code, expires_usec ends the wait */
	ORDER_PAYING,       /* alipay.trade.pay in flight */
	ORDER_UNKNOWN,     /* the pay result is unknown: a query is in flight, never a second pay */
	ORDER_WAITING,     /* not paid yet (10003, WAIT_BUYER_PAY): the next query is on a timer */
	ORDER_QUERYING,    /* alipay.trade.query in flight */
	ORDER_PRECREATING, /* alipay.trade.precreate in flight */
	ORDER_SHOWING_QR,  /* the QR is on the display: waiting for a notification or a poll */
	ORDER_QR_QUERYING, /* a poll of the QR trade is in flight */
	ORDER_CANCELING,   /* alipay.trade.cancel in flight */
	ORDER_CANCEL_WAIT, /* the cancel asked to be retried (retry_flag=Y or no answer): on a timer
			    */
	ORDER_ATTENTION, /* could not settle: retries the cancel with capped exponential backoff */
	ORDER_PAID,      /* final: TRADE_SUCCESS / TRADE_FINISHED */
	ORDER_FAILED,    /* final: a definite failure, no money moved */
	ORDER_CANCELED,  /* final: closed, no money moved (includes an expired QR) */
	ORDER_REFUNDED_BY_CANCEL, /* final: the buyer had paid, the cancel refunded it */
	_ORDER_STATE_MAX,
};

enum order_event {
	ORDER_EV_START,            /* begin: send the pay (scan) or the precreate (QR) */
	ORDER_EV_PAY_RESULT,       /* the answer to alipay.trade.pay */
	ORDER_EV_PRECREATE_RESULT, /* the answer to alipay.trade.precreate */
	ORDER_EV_QUERY_RESULT,     /* the answer to alipay.trade.query */
	ORDER_EV_CANCEL_RESULT,    /* the answer to alipay.trade.cancel */
	ORDER_EV_NOTIFY,           /* a verified asynchronous notification for this order */
	ORDER_EV_TIMER,            /* the timer armed by the last transition fired */
	ORDER_EV_ABORT,            /* the cashier gives up */
	ORDER_EV_RESUME,           /* recovery after a restart: redo what the state requires */
	_ORDER_EV_MAX,
};

enum order_request {
	ORDER_REQ_NONE,
	ORDER_REQ_PAY,
	ORDER_REQ_PRECREATE,
	ORDER_REQ_QUERY,
	ORDER_REQ_CANCEL,
	_ORDER_REQ_MAX,
};

/* doc/protocol.md §4: trade_status of a query answer or a notification. */
enum order_trade_status {
	ORDER_TRADE_NONE,      /* no status in the answer */
	ORDER_TRADE_NOT_EXIST, /* ACQ.TRADE_NOT_EXIST: an unscanned QR, or a pay that never arrived
				*/
	ORDER_TRADE_WAIT_BUYER_PAY,
	ORDER_TRADE_SUCCESS,
	ORDER_TRADE_FINISHED,
	ORDER_TRADE_CLOSED,
	_ORDER_TRADE_MAX,
};

/* doc/protocol.md §5.3: what a successful cancel did. */
enum order_cancel_action {
	ORDER_CANCEL_ACTION_NONE,
	ORDER_CANCEL_ACTION_CLOSE,  /* closed, no money moved */
	ORDER_CANCEL_ACTION_REFUND, /* the buyer had paid and was refunded */
	_ORDER_CANCEL_ACTION_MAX,
};

/* One gateway answer or notification, reduced to what the machines decide on. Borrowed. */
struct order_result {
	enum alipay_class cls;
	enum order_trade_status trade_status; /* query, notify */
	const char *sub_code;                 /* may be NULL; copied for display */
	bool retry_flag;                      /* cancel: retry_flag=Y */
	enum order_cancel_action action;      /* cancel */
	bool fund_change;                     /* refund: fund_change=Y */
	bool refund_found;                    /* refund query: refund_amount present */
	bool resent; /* pay: the transport put it on the wire more than once (doc/protocol.md §8) */
	bool contradicts; /* the trade named is not this order's (amount, trade_no, buyer) */
};

/* Intervals and counts; defaults from doc/design.md §5.5 (order_config_init). Tests shrink them. */
struct order_config {
	usec_t query_interval_usec;    /* 5 s between queries after a 10003 */
	unsigned max_queries;          /* 6 queries, then cancel */
	usec_t cancel_interval_usec;   /* 2 s between cancel retries */
	unsigned cancel_retries;       /* 3 retries, then ATTENTION */
	usec_t attention_initial_usec; /* first ATTENTION backoff: 10 s */
	usec_t attention_max_usec;     /* cap of the exponential backoff: 10 min */
	usec_t pay_timeout_usec;       /* timeout_express of a pay: 2 min */
	usec_t qr_timeout_usec;        /* how long the QR is shown: 2 min */
	usec_t qr_poll_interval_usec;  /* 0: no polling, notifications only */
	usec_t refund_retry_usec;      /* first retry of an unknown refund: 2 s, then backoff */
	usec_t refund_retry_max_usec;  /* cap of the refund backoff: 10 min */
};

void order_config_init(struct order_config *cfg);

/* The machine's memory of one order: everything here is journaled. */
struct order {
	char id[ORDER_ID_MAX + 1]; /* out_trade_no */
	enum order_kind kind;
	enum order_state state;
	usec_t state_since_usec;
	usec_t expires_usec; /* QR: when the QR leaves the screen; WAITING_CODE: end of the wait */
	unsigned queries_left; /* queries still allowed before the cancel */
	unsigned cancel_attempts;
	unsigned attention_count;
	bool abort_requested; /* ABORT arrived while a pay or precreate was in flight */
	bool expired;         /* the QR timed out (a CANCELED order says why) */
	char sub_code[ORDER_SUB_CODE_MAX + 1]; /* last failure sub_code, for display */
};

/* What the engine must do after a transition, in this order: journal, send, arm timer. */
struct order_actions {
	bool changed;            /* the state changed: journal it and tell observers */
	enum order_request send; /* the request to send after journaling it */
	usec_t timer_usec;       /* absolute CLOCK_REALTIME time of the next TIMER, 0 for none */
};

/* Initialises a NEW order. id is copied; -EINVAL if it is empty or too long. */
int order_init(struct order *o, const char *id, enum order_kind kind, usec_t now_usec);

/*
 * Feeds one event. res is borrowed and may be NULL (read as "result unknown"). Always fills
 * *ret_act. Returns 0 (the state may or may not have changed; act->changed says) or -EBADMSG
 * when the event is impossible in this state: logged as a bug, the order and *ret_act untouched
 * beyond being cleared.
 */
int order_dispatch(struct order *o, const struct order_config *cfg, enum order_event ev,
		   const struct order_result *res, usec_t now_usec, struct order_actions *ret_act);

bool order_state_is_final(enum order_state s) _pure_;
/* The order waits for a person in ATTENTION for ORDER_REASON_COLLISION or _MISMATCH. */
bool order_is_held(const struct order *o) _pure_;
const char *order_state_to_string(enum order_state s) _pure_;
int order_state_from_string(const char *s, enum order_state *ret);
const char *order_event_to_string(enum order_event e) _pure_;
const char *order_request_to_string(enum order_request r) _pure_;
const char *order_kind_to_string(enum order_kind k) _pure_;
int order_kind_from_string(const char *s, enum order_kind *ret);
const char *order_trade_status_to_string(enum order_trade_status t) _pure_;
/* Maps "TRADE_SUCCESS" etc.; unknown strings give ORDER_TRADE_NONE. */
enum order_trade_status order_trade_status_from_string(const char *s) _pure_;

/* ---- Refunds (doc/protocol.md §5.5, §5.7) ---- */

#define REFUND_ID_MAX 64 /* out_request_no */

enum refund_state {
	REFUND_NEW,       /* journaled, nothing sent */
	REFUND_REQUESTED, /* alipay.trade.refund in flight */
	REFUND_WAIT,      /* unknown result: the same out_request_no is re-sent on a timer */
	REFUND_QUERYING,  /* fastpay.refund.query in flight (fund_change was not Y) */
	REFUND_DONE,      /* final: the money went back */
	REFUND_FAILED,    /* final: a definite refusal, no money moved */
	_REFUND_STATE_MAX,
};

enum refund_event {
	REFUND_EV_START,
	REFUND_EV_REFUND_RESULT,
	REFUND_EV_QUERY_RESULT,
	REFUND_EV_TIMER,
	REFUND_EV_RESUME,
	_REFUND_EV_MAX,
};

enum refund_request {
	REFUND_REQ_NONE,
	REFUND_REQ_REFUND, /* alipay.trade.refund, always with the same out_request_no and amount */
	REFUND_REQ_QUERY,  /* alipay.trade.fastpay.refund.query */
	_REFUND_REQ_MAX,
};

struct refund {
	char id[REFUND_ID_MAX + 1]; /* out_request_no */
	enum refund_state state;
	usec_t state_since_usec;
	unsigned attempts; /* unknown results so far: drives the backoff */
	char sub_code[ORDER_SUB_CODE_MAX + 1];
};

struct refund_actions {
	bool changed;
	enum refund_request send;
	usec_t timer_usec;
};

int refund_init(struct refund *r, const char *id, usec_t now_usec);
/* Same contract as order_dispatch(). */
int refund_dispatch(struct refund *r, const struct order_config *cfg, enum refund_event ev,
		    const struct order_result *res, usec_t now_usec,
		    struct refund_actions *ret_act);

bool refund_state_is_final(enum refund_state s) _pure_;
const char *refund_state_to_string(enum refund_state s) _pure_;
int refund_state_from_string(const char *s, enum refund_state *ret);
const char *refund_event_to_string(enum refund_event e) _pure_;
const char *refund_request_to_string(enum refund_request r) _pure_;
