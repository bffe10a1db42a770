/* SPDX-License-Identifier: MIT */
/* The engine's view of the gateway: submit one call, get one reduced result back, or cancel. */
#pragma once

#include <stdint.h>

#include "common/time-util.h"
#include "payment/order/order-fsm.h"

/*
 * The engine never touches HTTP or signatures: it asks an implementation of struct gateway to
 * make a call and gets back a struct order_result (the class of doc/protocol.md §3/§6 plus the few
 * fields the state machines decide on). gateway-alipay.h implements it with payment/ and
 * payment/http; the tests also use scripted fakes.
 */

enum gateway_call_kind {
	GATEWAY_CALL_PAY,          /* alipay.trade.pay — must never reach the gateway twice */
	GATEWAY_CALL_PRECREATE,    /* alipay.trade.precreate */
	GATEWAY_CALL_QUERY,        /* alipay.trade.query */
	GATEWAY_CALL_CANCEL,       /* alipay.trade.cancel */
	GATEWAY_CALL_REFUND,       /* alipay.trade.refund */
	GATEWAY_CALL_REFUND_QUERY, /* alipay.trade.fastpay.refund.query */
	_GATEWAY_CALL_MAX,
};

/* One call. Everything is borrowed for the duration of submit() and must be copied. */
struct gateway_call {
	enum gateway_call_kind kind;
	const char *out_trade_no;
	const char *auth_code;       /* pay only; a secret: never logged */
	const char *operator_id;     /* pay, precreate: the cashier; NULL: the configured one */
	const char *subject;         /* pay, precreate */
	int64_t amount_fen;          /* pay, precreate: total; refund: this refund's amount */
	const char *out_request_no;  /* refund, refund query */
	const char *refund_reason;   /* refund, may be NULL */
	usec_t timeout_express_usec; /* pay, precreate: timeout_express */
	usec_t qr_timeout_usec;      /* precreate: qr_code_timeout_express */
};

/*
 * doc/engine.md: a pay or precreate that provably never left this terminal (connection refused,
 * name lookup or TLS failure) comes back FAILED with this reason: no trade can exist.
 */
#define GATEWAY_REASON_UNREACHABLE "F2FPAY.GATEWAY_UNREACHABLE"

/*
 * What a pay or query answer says of a paid trade, for the receipt (doc/api.md "Receipts");
 * strings NULL and amounts -1 when absent.
 */
struct gateway_receipt {
	const char
		*gmt_payment; /* "yyyy-MM-dd HH:mm:ss" (pay: gmt_payment, query: send_pay_date) */
	const char *buyer_logon_id; /* as Alipay masks it */
	const char *fund_bill_list; /* compact JSON array */
	int64_t receipt_fen, buyer_pay_fen, point_fen, invoice_fen, discount_fen, mdiscount_fen;
};

/* The answer, borrowed for the duration of the done callback. */
struct gateway_result {
	struct order_result res;
	const char *qr_code;       /* precreate success */
	const char *trade_no;      /* when the gateway named the trade */
	int64_t total_amount_fen;  /* the trade's total_amount when named, else ≤ 0 */
	const char *buyer_user_id; /* the buyer, when the gateway named one */
	bool not_delivered;        /* the request never left (connection refused, DNS, TLS) */
	bool throttled; /* 40005 / *call-limited: the gateway did not look (doc/protocol.md §6) */
	const struct gateway_receipt *receipt; /* pay and query answers of a paid trade, or NULL */
};

typedef void (*gateway_done_t)(const struct gateway_result *result, void *userdata);

struct gateway {
	/*
	 * Starts a call. done is called exactly once, later, from the event loop (never from
	 * inside submit), unless cancel() is called first. *ret_handle identifies the call for
	 * cancel() until done runs. A call that cannot even be built (e.g. an invalid payment
	 * code) still completes through done, with a FAILED or CONFIG class. Returns 0 or
	 * -ENOMEM.
	 */
	int (*submit)(void *userdata, const struct gateway_call *call, gateway_done_t done,
		      void *done_userdata, void **ret_handle);
	/* Abandons a call in flight: done will not be called. */
	void (*cancel)(void *userdata, void *handle);
	/*
	 * Optional (NULL: nothing is prepared). Starts building call's request (for a pay, its
	 * signature: the largest cost before it can leave) off the event loop, while the engine
	 * commits the write-ahead record; nothing leaves. The next submit() of the same call takes
	 * it; a submit() of another call, or prepare(userdata, NULL), drops it.
	 */
	void (*prepare)(void *userdata, const struct gateway_call *call);
	void *userdata;
};

const char *gateway_call_kind_to_string(enum gateway_call_kind k);
