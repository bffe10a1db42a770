/* SPDX-License-Identifier: MIT */
/* Typed face-to-face calls: inputs → signed request bytes, response bytes → typed results. */
#pragma once

#include <stdint.h>
#include <time.h>

#include "payment/request.h"
#include "payment/response.h"
#include "payment/trade.h"

/*
 * doc/protocol.md §5. Pure: no I/O, no clock reads (`now` is passed in). The order engine sends the
 * alipay_request with payment/http and hands the body it got back to alipay_api_parse().
 */
enum alipay_method {
	ALIPAY_METHOD_TRADE_PAY,          /* alipay.trade.pay */
	ALIPAY_METHOD_TRADE_QUERY,        /* alipay.trade.query */
	ALIPAY_METHOD_TRADE_CANCEL,       /* alipay.trade.cancel */
	ALIPAY_METHOD_TRADE_PRECREATE,    /* alipay.trade.precreate */
	ALIPAY_METHOD_TRADE_REFUND,       /* alipay.trade.refund */
	ALIPAY_METHOD_TRADE_CLOSE,        /* alipay.trade.close */
	ALIPAY_METHOD_TRADE_REFUND_QUERY, /* alipay.trade.fastpay.refund.query */
	ALIPAY_METHOD_BILL_DOWNLOADURL,   /* alipay.data.dataservice.bill.downloadurl.query */
	_ALIPAY_METHOD_MAX,
};

const char *alipay_method_to_string(enum alipay_method m);
/* Exact match of a wire name; -EINVAL otherwise. */
int alipay_method_from_string(const char *s, enum alipay_method *ret);

/* Validation limits (doc/protocol.md §5.1). */
#define ALIPAY_OUT_TRADE_NO_MAX 64
#define ALIPAY_SUBJECT_MAX      256

/*
 * §5.1 alipay.trade.pay, scene bar_code. Strings borrowed; optional ones NULL. The auth code is
 * validated (digits, prefix 25–30, 16–24 long), out_trade_no too (letters, digits, '_', ≤ 64),
 * the amount is 0.01–100000000.00. Never logged in full.
 */
struct alipay_pay_args {
	const char *out_trade_no;
	const char *auth_code;
	const char *subject;
	int64_t total_amount_fen;
	const char *store_id;        /* optional */
	const char *operator_id;     /* optional */
	const char *terminal_id;     /* optional */
	const char *timeout_express; /* optional, e.g. "2m" */
};

/* §5.4 alipay.trade.precreate. */
struct alipay_precreate_args {
	const char *out_trade_no;
	const char *subject;
	int64_t total_amount_fen;
	const char *store_id;                /* optional */
	const char *operator_id;             /* optional */
	const char *terminal_id;             /* optional */
	const char *timeout_express;         /* optional */
	const char *qr_code_timeout_express; /* optional */
};

/* §5.2/§5.3/§5.6: a trade named by out_trade_no and/or trade_no (at least one). */
struct alipay_trade_ref {
	const char *out_trade_no;
	const char *trade_no;
};

/* §5.5 alipay.trade.refund. */
struct alipay_refund_args {
	struct alipay_trade_ref trade;
	int64_t refund_amount_fen;
	const char *out_request_no; /* identifies this refund; reuse it on every retry */
	const char *refund_reason;  /* optional */
};

/* §5.7 alipay.trade.fastpay.refund.query. */
struct alipay_refund_query_args {
	struct alipay_trade_ref trade;
	const char *out_request_no;
};

/* §5.8 alipay.data.dataservice.bill.downloadurl.query. */
struct alipay_bill_args {
	const char *bill_type; /* "trade" when NULL */
	const char *bill_date; /* "yyyy-MM-dd" or "yyyy-MM" */
};

/*
 * Request builders: validate the arguments (-EINVAL, logged, naming the field), build biz_content
 * and sign it (alipay_request_build()). *ret must be ALIPAY_REQUEST_INIT; filled on success.
 */
int alipay_api_pay(const struct alipay_client_config *c, const struct alipay_pay_args *a,
		   time_t now, struct alipay_request *ret);
int alipay_api_precreate(const struct alipay_client_config *c,
			 const struct alipay_precreate_args *a, time_t now,
			 struct alipay_request *ret);
int alipay_api_query(const struct alipay_client_config *c, const struct alipay_trade_ref *a,
		     time_t now, struct alipay_request *ret);
int alipay_api_cancel(const struct alipay_client_config *c, const struct alipay_trade_ref *a,
		      time_t now, struct alipay_request *ret);
int alipay_api_close(const struct alipay_client_config *c, const struct alipay_trade_ref *a,
		     time_t now, struct alipay_request *ret);
int alipay_api_refund(const struct alipay_client_config *c, const struct alipay_refund_args *a,
		      time_t now, struct alipay_request *ret);
int alipay_api_refund_query(const struct alipay_client_config *c,
			    const struct alipay_refund_query_args *a, time_t now,
			    struct alipay_request *ret);
int alipay_api_bill_url(const struct alipay_client_config *c, const struct alipay_bill_args *a,
			time_t now, struct alipay_request *ret);

/* §5.3 cancel's action. */
enum alipay_cancel_action {
	ALIPAY_CANCEL_ACTION_NONE,   /* absent */
	ALIPAY_CANCEL_ACTION_CLOSE,  /* closed, no money moved */
	ALIPAY_CANCEL_ACTION_REFUND, /* the buyer had paid and was refunded */
	ALIPAY_CANCEL_ACTION_OTHER,
	_ALIPAY_CANCEL_ACTION_MAX,
};

/* A Y/N flag of a response: absent, N or Y. */
enum alipay_flag {
	ALIPAY_FLAG_NONE,
	ALIPAY_FLAG_N,
	ALIPAY_FLAG_Y,
	_ALIPAY_FLAG_MAX,
};

/*
 * The typed outcome of any of the calls above. `resp` carries the classification (cls,
 * throttled, code, msg, sub_code, sub_msg). The fields are filled from the verified node only
 * (never from an unverified one), whatever the class; absent strings are NULL, absent amounts
 * ALIPAY_AMOUNT_NONE. All owned (alipay_api_result_done()).
 */
struct alipay_api_result {
	enum alipay_method method;
	struct alipay_response resp;
	char *trade_no;
	char *out_trade_no;
	char *buyer_logon_id; /* masked by Alipay */
	char *buyer_user_id;
	char *gmt_payment;   /* pay */
	char *send_pay_date; /* query */
	char *qr_code;       /* precreate */
	char *gmt_refund_pay;
	char *out_request_no;
	char *bill_download_url;
	enum alipay_trade_status trade_status;
	int64_t total_amount_fen;
	int64_t receipt_amount_fen;
	int64_t buyer_pay_amount_fen;
	int64_t point_amount_fen;     /* paid with points (集分宝) */
	int64_t invoice_amount_fen;   /* what may be invoiced */
	int64_t discount_amount_fen;  /* the platform's discount (平台优惠) */
	int64_t mdiscount_amount_fen; /* the merchant's discount (商家优惠) */
	/* The funds the buyer paid with, as compact JSON: [{"fund_channel","amount",
	 * "real_amount"?}…] (pay, query); NULL when absent or not of that shape. */
	char *fund_bill_list;
	int64_t refund_fee_fen;    /* refund: cumulative */
	int64_t refund_amount_fen; /* refund query: present ⇒ the refund happened (§5.7) */
	enum alipay_flag retry_flag;
	enum alipay_flag fund_change;
	enum alipay_cancel_action action;
};

#define ALIPAY_API_RESULT_INIT                                                  \
	((struct alipay_api_result){.resp = ALIPAY_RESPONSE_INIT,               \
				    .total_amount_fen = ALIPAY_AMOUNT_NONE,     \
				    .receipt_amount_fen = ALIPAY_AMOUNT_NONE,   \
				    .buyer_pay_amount_fen = ALIPAY_AMOUNT_NONE, \
				    .point_amount_fen = ALIPAY_AMOUNT_NONE,     \
				    .invoice_amount_fen = ALIPAY_AMOUNT_NONE,   \
				    .discount_amount_fen = ALIPAY_AMOUNT_NONE,  \
				    .mdiscount_amount_fen = ALIPAY_AMOUNT_NONE, \
				    .refund_fee_fen = ALIPAY_AMOUNT_NONE,       \
				    .refund_amount_fen = ALIPAY_AMOUNT_NONE})

void alipay_api_result_done(struct alipay_api_result *r);

/*
 * Verifies, classifies and parses the response `body` (borrowed; NULL/0 when nothing came back,
 * which classifies as UNKNOWN) of a call `m` made with config `c` (Alipay public key and
 * expected alipay_cert_sn from c->keys). A verified success whose fields do not parse (an
 * amount like "1e3") is downgraded to UNKNOWN and logged. Returns 0 with *ret filled (must be
 * ALIPAY_API_RESULT_INIT) whenever a class was decided, negative only for -EINVAL/-ENOMEM.
 */
int alipay_api_parse(const struct alipay_client_config *c, enum alipay_method m, const char *body,
		     size_t len, struct alipay_api_result *ret);

/*
 * The field reading of alipay_api_parse() on its own, for a response node already verified
 * (`len` bytes of JSON, one object): fills *ret (ALIPAY_API_RESULT_INIT; free with
 * alipay_api_result_done() whatever the return). 0, -EBADMSG for a malformed amount or a node
 * that is not an object, -ENOMEM. The fuzz target's way in.
 */
int alipay_api_result_from_node(const char *json, size_t len, struct alipay_api_result *ret);
