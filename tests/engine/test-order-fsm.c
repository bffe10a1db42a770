/* SPDX-License-Identifier: MIT */
/* Table test of the order and refund state machines: every (state, event) pair is walked. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "payment/order/order-fsm.h"
#include "test.h"

#define NOW    UINT64_C(1000000)
#define T_NONE UINT64_MAX /* no timer expected */
#define BUG_R  (-EBADMSG)
#define SAME   _ORDER_STATE_MAX  /* expected state: unchanged */
#define RSAME  _REFUND_STATE_MAX /* expected refund state: unchanged */

static struct order_config cfg;

/* Named gateway answers. */
enum res_id {
	A_NULL,
	A_OK,
	A_OK_PAID,
	A_OK_FINISHED,
	A_OK_WAIT,
	A_OK_CLOSED,
	A_INPROG,
	A_FAIL,
	A_FAIL_HAS_SUCCESS,
	A_HAS_SUCCESS_RESENT,
	A_CONTEXT,
	A_OK_PAID_OTHER,
	A_FAIL_NOT_EXIST,
	A_UNKNOWN,
	A_CONFIG,
	A_CANCEL_RETRY,
	A_CANCEL_CLOSE,
	A_CANCEL_REFUND,
	A_REFUND_MOVED,
	A_REFUND_FOUND,
	_A_MAX,
};

static const struct order_result results[_A_MAX] = {
	[A_OK] = {.cls = ALIPAY_CLASS_SUCCESS},
	[A_OK_PAID] = {.cls = ALIPAY_CLASS_SUCCESS, .trade_status = ORDER_TRADE_SUCCESS},
	[A_OK_FINISHED] = {.cls = ALIPAY_CLASS_SUCCESS, .trade_status = ORDER_TRADE_FINISHED},
	[A_OK_WAIT] = {.cls = ALIPAY_CLASS_SUCCESS, .trade_status = ORDER_TRADE_WAIT_BUYER_PAY},
	[A_OK_CLOSED] = {.cls = ALIPAY_CLASS_SUCCESS, .trade_status = ORDER_TRADE_CLOSED},
	[A_INPROG] = {.cls = ALIPAY_CLASS_IN_PROGRESS},
	[A_FAIL] = {.cls = ALIPAY_CLASS_FAILED, .sub_code = "ACQ.BUYER_BALANCE_NOT_ENOUGH"},
	[A_FAIL_HAS_SUCCESS] = {.cls = ALIPAY_CLASS_FAILED, .sub_code = "ACQ.TRADE_HAS_SUCCESS"},
	/* The transport put the pay on the wire twice: the first may have been ours. */
	[A_HAS_SUCCESS_RESENT] = {.cls = ALIPAY_CLASS_UNKNOWN,
				  .sub_code = "ACQ.TRADE_HAS_SUCCESS",
				  .resent = true},
	[A_CONTEXT] = {.cls = ALIPAY_CLASS_FAILED, .sub_code = "ACQ.CONTEXT_INCONSISTENT"},
	/* Paid, but for another amount or trade_no than the journal's. */
	[A_OK_PAID_OTHER] = {.cls = ALIPAY_CLASS_SUCCESS,
			     .trade_status = ORDER_TRADE_SUCCESS,
			     .contradicts = true},
	[A_FAIL_NOT_EXIST] = {.cls = ALIPAY_CLASS_FAILED, .sub_code = "ACQ.TRADE_NOT_EXIST"},
	[A_UNKNOWN] = {.cls = ALIPAY_CLASS_UNKNOWN, .sub_code = "ACQ.SYSTEM_ERROR"},
	[A_CONFIG] = {.cls = ALIPAY_CLASS_CONFIG, .sub_code = "isv.invalid-signature"},
	[A_CANCEL_RETRY] = {.cls = ALIPAY_CLASS_SUCCESS, .retry_flag = true},
	[A_CANCEL_CLOSE] = {.cls = ALIPAY_CLASS_SUCCESS, .action = ORDER_CANCEL_ACTION_CLOSE},
	[A_CANCEL_REFUND] = {.cls = ALIPAY_CLASS_SUCCESS, .action = ORDER_CANCEL_ACTION_REFUND},
	[A_REFUND_MOVED] = {.cls = ALIPAY_CLASS_SUCCESS, .fund_change = true},
	[A_REFUND_FOUND] = {.cls = ALIPAY_CLASS_SUCCESS, .refund_found = true},
};

/* QR expiry set-ups. */
enum qr_exp {
	QR_LATER, /* expires at NOW + 1000 */
	QR_NOW,   /* expires at NOW: expired */
	QR_SOON,  /* expires at NOW + 100, before the next poll */
};

struct row {
	enum order_state s;
	enum order_kind kind;
	unsigned ql;    /* queries_left */
	bool abort;     /* abort_requested */
	unsigned ca;    /* cancel_attempts */
	enum qr_exp qr; /* expires_usec */
	enum order_event ev;
	enum res_id res;
	int exp_r;
	enum order_state exp_s;
	enum order_request exp_send;
	usec_t exp_timer; /* offset from NOW, or T_NONE */
};

/* Short forms: T(state, event, result, new state, request, timer). */
#define T(st, e, rs, ns, rq, tm)                                                     \
	{                                                                            \
		.s = (st), .kind = ORDER_KIND_SCAN, .ql = 2, .ev = (e), .res = (rs), \
		.exp_s = (ns), .exp_send = (rq), .exp_timer = (tm)                   \
	}
#define TQ(st, e, rs, ns, rq, tm)                                                                 \
	{                                                                                         \
		.s = (st), .kind = ORDER_KIND_QR, .ql = 2, .ev = (e), .res = (rs), .exp_s = (ns), \
		.exp_send = (rq), .exp_timer = (tm)                                               \
	}
/* TX(…, queries_left, abort_requested, cancel_attempts) */
#define TX(st, e, rs, ns, rq, tm, ql_, ab_, ca_)                                              \
	{                                                                                     \
		.s = (st), .kind = ORDER_KIND_SCAN, .ql = (ql_), .abort = (ab_), .ca = (ca_), \
		.ev = (e), .res = (rs), .exp_s = (ns), .exp_send = (rq), .exp_timer = (tm)    \
	}
#define BUG(st, e)                                                                         \
	{                                                                                  \
		.s = (st), .ql = 2, .ev = (e), .res = A_OK, .exp_r = BUG_R, .exp_s = SAME, \
		.exp_timer = T_NONE                                                        \
	}

#define N   ORDER_REQ_NONE
#define PAY ORDER_REQ_PAY
#define PRE ORDER_REQ_PRECREATE
#define QRY ORDER_REQ_QUERY
#define CAN ORDER_REQ_CANCEL

/* Every final state answers the same way. */
#define FINAL_ROWS(st)                                                                    \
	T(st, ORDER_EV_NOTIFY, A_OK_PAID, SAME, N, T_NONE),                               \
		T(st, ORDER_EV_ABORT, A_NULL, SAME, N, T_NONE),                           \
		T(st, ORDER_EV_RESUME, A_NULL, SAME, N, T_NONE), BUG(st, ORDER_EV_START), \
		BUG(st, ORDER_EV_PAY_RESULT), BUG(st, ORDER_EV_PRECREATE_RESULT),         \
		BUG(st, ORDER_EV_QUERY_RESULT), BUG(st, ORDER_EV_CANCEL_RESULT),          \
		BUG(st, ORDER_EV_TIMER)

/* UNKNOWN and QUERYING share their reactions. */
#define QUERYING_ROWS(st)                                                                        \
	T(st, ORDER_EV_QUERY_RESULT, A_OK_PAID, ORDER_PAID, N, T_NONE),                          \
		T(st, ORDER_EV_QUERY_RESULT, A_OK_PAID_OTHER, ORDER_ATTENTION, N, T_NONE),       \
		T(st, ORDER_EV_QUERY_RESULT, A_OK_FINISHED, ORDER_PAID, N, T_NONE),              \
		T(st, ORDER_EV_QUERY_RESULT, A_OK_CLOSED, ORDER_CANCELED, N, T_NONE),            \
		T(st, ORDER_EV_QUERY_RESULT, A_OK_WAIT, ORDER_WAITING, N, 100),                  \
		TX(st, ORDER_EV_QUERY_RESULT, A_OK_WAIT, ORDER_CANCELING, CAN, T_NONE, 0, false, \
		   0),                                                                           \
		TX(st, ORDER_EV_QUERY_RESULT, A_OK_WAIT, ORDER_CANCELING, CAN, T_NONE, 2, true,  \
		   0),                                                                           \
		T(st, ORDER_EV_QUERY_RESULT, A_FAIL_NOT_EXIST, ORDER_WAITING, N, 100),           \
		TX(st, ORDER_EV_QUERY_RESULT, A_FAIL_NOT_EXIST, ORDER_CANCELING, CAN, T_NONE, 0, \
		   false, 0),                                                                    \
		T(st, ORDER_EV_QUERY_RESULT, A_UNKNOWN, ORDER_WAITING, N, 100),                  \
		T(st, ORDER_EV_QUERY_RESULT, A_NULL, ORDER_WAITING, N, 100),                     \
		TX(st, ORDER_EV_QUERY_RESULT, A_CONFIG, ORDER_CANCELING, CAN, T_NONE, 0, false,  \
		   0),                                                                           \
		T(st, ORDER_EV_QUERY_RESULT, A_FAIL, ORDER_WAITING, N, 100),                     \
		T(st, ORDER_EV_ABORT, A_NULL, ORDER_CANCELING, CAN, T_NONE),                     \
		T(st, ORDER_EV_NOTIFY, A_OK_PAID, ORDER_PAID, N, T_NONE),                        \
		T(st, ORDER_EV_NOTIFY, A_OK_CLOSED, ORDER_CANCELED, N, T_NONE),                  \
		T(st, ORDER_EV_NOTIFY, A_OK_WAIT, SAME, N, T_NONE),                              \
		T(st, ORDER_EV_RESUME, A_NULL, SAME, QRY, T_NONE), BUG(st, ORDER_EV_START),      \
		BUG(st, ORDER_EV_PAY_RESULT), BUG(st, ORDER_EV_PRECREATE_RESULT),                \
		BUG(st, ORDER_EV_CANCEL_RESULT), BUG(st, ORDER_EV_TIMER)

#define CANCEL_WAIT_ROWS(st)                                                                 \
	T(st, ORDER_EV_TIMER, A_NULL, ORDER_CANCELING, CAN, T_NONE),                         \
		T(st, ORDER_EV_RESUME, A_NULL, ORDER_CANCELING, CAN, T_NONE),                \
		T(st, ORDER_EV_ABORT, A_NULL, SAME, N, T_NONE),                              \
		T(st, ORDER_EV_NOTIFY, A_OK_PAID, SAME, N, T_NONE), BUG(st, ORDER_EV_START), \
		BUG(st, ORDER_EV_PAY_RESULT), BUG(st, ORDER_EV_PRECREATE_RESULT),            \
		BUG(st, ORDER_EV_QUERY_RESULT), BUG(st, ORDER_EV_CANCEL_RESULT)

/* clang-format off */
static const struct row rows[] = {
	/* NEW */
	T(ORDER_NEW, ORDER_EV_START, A_NULL, ORDER_PAYING, PAY, T_NONE),
	TQ(ORDER_NEW, ORDER_EV_START, A_NULL, ORDER_PRECREATING, PRE, T_NONE),
	T(ORDER_NEW, ORDER_EV_ABORT, A_NULL, ORDER_CANCELED, N, T_NONE),
	T(ORDER_NEW, ORDER_EV_RESUME, A_NULL, ORDER_CANCELED, N, T_NONE),
	BUG(ORDER_NEW, ORDER_EV_PAY_RESULT), BUG(ORDER_NEW, ORDER_EV_PRECREATE_RESULT),
	BUG(ORDER_NEW, ORDER_EV_QUERY_RESULT), BUG(ORDER_NEW, ORDER_EV_CANCEL_RESULT),
	BUG(ORDER_NEW, ORDER_EV_NOTIFY), BUG(ORDER_NEW, ORDER_EV_TIMER),

	/* WAITING_FOR_CODE: nothing was sent; the scanner's code starts the pay */
	T(ORDER_WAITING_CODE, ORDER_EV_START, A_NULL, ORDER_PAYING, PAY, T_NONE),
	T(ORDER_WAITING_CODE, ORDER_EV_ABORT, A_NULL, ORDER_CANCELED, N, T_NONE),
	T(ORDER_WAITING_CODE, ORDER_EV_TIMER, A_NULL, SAME, N, 1000),
	T(ORDER_WAITING_CODE, ORDER_EV_RESUME, A_NULL, SAME, N, 1000),
	{.s = ORDER_WAITING_CODE, .kind = ORDER_KIND_SCAN, .qr = QR_NOW, .ev = ORDER_EV_TIMER,
	 .res = A_NULL, .exp_s = ORDER_CANCELED, .exp_send = N, .exp_timer = T_NONE},
	{.s = ORDER_WAITING_CODE, .kind = ORDER_KIND_SCAN, .qr = QR_NOW, .ev = ORDER_EV_RESUME,
	 .res = A_NULL, .exp_s = ORDER_CANCELED, .exp_send = N, .exp_timer = T_NONE},
	T(ORDER_WAITING_CODE, ORDER_EV_NOTIFY, A_OK_PAID, SAME, N, T_NONE),
	BUG(ORDER_WAITING_CODE, ORDER_EV_PAY_RESULT),
	BUG(ORDER_WAITING_CODE, ORDER_EV_PRECREATE_RESULT),
	BUG(ORDER_WAITING_CODE, ORDER_EV_QUERY_RESULT),
	BUG(ORDER_WAITING_CODE, ORDER_EV_CANCEL_RESULT),

	/* PAYING: doc/protocol.md §5.1 */
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_OK, ORDER_PAID, N, T_NONE),
	TX(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_OK, ORDER_PAID, N, T_NONE, 2, true, 0),
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_INPROG, ORDER_WAITING, N, 100),
	TX(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_INPROG, ORDER_CANCELING, CAN, T_NONE, 2, true, 0),
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_FAIL, ORDER_FAILED, N, T_NONE),
	/* doc/engine.md "Trades that are not ours": our one pay found the number taken. */
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_FAIL_HAS_SUCCESS, ORDER_ATTENTION, N, T_NONE),
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_CONTEXT, ORDER_ATTENTION, N, T_NONE),
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_HAS_SUCCESS_RESENT, ORDER_UNKNOWN, QRY, T_NONE),
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_OK_PAID_OTHER, ORDER_ATTENTION, N, T_NONE),
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_UNKNOWN, ORDER_UNKNOWN, QRY, T_NONE),
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_NULL, ORDER_UNKNOWN, QRY, T_NONE),
	T(ORDER_PAYING, ORDER_EV_PAY_RESULT, A_CONFIG, ORDER_FAILED, N, T_NONE),
	T(ORDER_PAYING, ORDER_EV_ABORT, A_NULL, SAME, N, T_NONE),
	T(ORDER_PAYING, ORDER_EV_NOTIFY, A_OK_PAID, SAME, N, T_NONE),
	T(ORDER_PAYING, ORDER_EV_RESUME, A_NULL, ORDER_UNKNOWN, QRY, T_NONE),
	BUG(ORDER_PAYING, ORDER_EV_START), BUG(ORDER_PAYING, ORDER_EV_PRECREATE_RESULT),
	BUG(ORDER_PAYING, ORDER_EV_QUERY_RESULT), BUG(ORDER_PAYING, ORDER_EV_CANCEL_RESULT),
	BUG(ORDER_PAYING, ORDER_EV_TIMER),

	QUERYING_ROWS(ORDER_UNKNOWN),
	QUERYING_ROWS(ORDER_QUERYING),

	/* WAITING */
	T(ORDER_WAITING, ORDER_EV_TIMER, A_NULL, ORDER_QUERYING, QRY, T_NONE),
	T(ORDER_WAITING, ORDER_EV_RESUME, A_NULL, ORDER_QUERYING, QRY, T_NONE),
	T(ORDER_WAITING, ORDER_EV_ABORT, A_NULL, ORDER_CANCELING, CAN, T_NONE),
	T(ORDER_WAITING, ORDER_EV_NOTIFY, A_OK_PAID, ORDER_PAID, N, T_NONE),
	T(ORDER_WAITING, ORDER_EV_NOTIFY, A_OK_FINISHED, ORDER_PAID, N, T_NONE),
	T(ORDER_WAITING, ORDER_EV_NOTIFY, A_OK_CLOSED, ORDER_CANCELED, N, T_NONE),
	T(ORDER_WAITING, ORDER_EV_NOTIFY, A_OK_WAIT, SAME, N, T_NONE),
	BUG(ORDER_WAITING, ORDER_EV_START), BUG(ORDER_WAITING, ORDER_EV_PAY_RESULT),
	BUG(ORDER_WAITING, ORDER_EV_PRECREATE_RESULT), BUG(ORDER_WAITING, ORDER_EV_QUERY_RESULT),
	BUG(ORDER_WAITING, ORDER_EV_CANCEL_RESULT),

	/* PRECREATING: doc/protocol.md §5.4 */
	TQ(ORDER_PRECREATING, ORDER_EV_PRECREATE_RESULT, A_OK, ORDER_SHOWING_QR, N, 300),
	{.s = ORDER_PRECREATING, .kind = ORDER_KIND_QR, .abort = true,
	 .ev = ORDER_EV_PRECREATE_RESULT, .res = A_OK, .exp_s = ORDER_CANCELING, .exp_send = CAN,
	 .exp_timer = T_NONE},
	TQ(ORDER_PRECREATING, ORDER_EV_PRECREATE_RESULT, A_UNKNOWN, ORDER_CANCELING, CAN, T_NONE),
	TQ(ORDER_PRECREATING, ORDER_EV_PRECREATE_RESULT, A_NULL, ORDER_CANCELING, CAN, T_NONE),
	TQ(ORDER_PRECREATING, ORDER_EV_PRECREATE_RESULT, A_FAIL, ORDER_FAILED, N, T_NONE),
	/* Never a cancel of a number someone else paid under. */
	TQ(ORDER_PRECREATING, ORDER_EV_PRECREATE_RESULT, A_FAIL_HAS_SUCCESS, ORDER_ATTENTION, N,
	   T_NONE),
	TQ(ORDER_PRECREATING, ORDER_EV_PRECREATE_RESULT, A_CONTEXT, ORDER_ATTENTION, N, T_NONE),
	TQ(ORDER_PRECREATING, ORDER_EV_PRECREATE_RESULT, A_CONFIG, ORDER_FAILED, N, T_NONE),
	TQ(ORDER_PRECREATING, ORDER_EV_PRECREATE_RESULT, A_INPROG, ORDER_FAILED, N, T_NONE),
	TQ(ORDER_PRECREATING, ORDER_EV_ABORT, A_NULL, SAME, N, T_NONE),
	TQ(ORDER_PRECREATING, ORDER_EV_NOTIFY, A_OK_PAID, SAME, N, T_NONE),
	TQ(ORDER_PRECREATING, ORDER_EV_RESUME, A_NULL, ORDER_CANCELING, CAN, T_NONE),
	BUG(ORDER_PRECREATING, ORDER_EV_START), BUG(ORDER_PRECREATING, ORDER_EV_PAY_RESULT),
	BUG(ORDER_PRECREATING, ORDER_EV_QUERY_RESULT), BUG(ORDER_PRECREATING, ORDER_EV_CANCEL_RESULT),
	BUG(ORDER_PRECREATING, ORDER_EV_TIMER),

	/* SHOWING_QR */
	TQ(ORDER_SHOWING_QR, ORDER_EV_TIMER, A_NULL, ORDER_QR_QUERYING, QRY, T_NONE),
	{.s = ORDER_SHOWING_QR, .kind = ORDER_KIND_QR, .qr = QR_NOW, .ev = ORDER_EV_TIMER,
	 .res = A_NULL, .exp_s = ORDER_CANCELING, .exp_send = CAN, .exp_timer = T_NONE},
	TQ(ORDER_SHOWING_QR, ORDER_EV_RESUME, A_NULL, ORDER_QR_QUERYING, QRY, T_NONE),
	{.s = ORDER_SHOWING_QR, .kind = ORDER_KIND_QR, .qr = QR_NOW, .ev = ORDER_EV_RESUME,
	 .res = A_NULL, .exp_s = ORDER_CANCELING, .exp_send = CAN, .exp_timer = T_NONE},
	TQ(ORDER_SHOWING_QR, ORDER_EV_ABORT, A_NULL, ORDER_CANCELING, CAN, T_NONE),
	TQ(ORDER_SHOWING_QR, ORDER_EV_NOTIFY, A_OK_PAID, ORDER_PAID, N, T_NONE),
	TQ(ORDER_SHOWING_QR, ORDER_EV_NOTIFY, A_OK_CLOSED, ORDER_CANCELED, N, T_NONE),
	TQ(ORDER_SHOWING_QR, ORDER_EV_NOTIFY, A_OK_WAIT, SAME, N, T_NONE),
	BUG(ORDER_SHOWING_QR, ORDER_EV_START), BUG(ORDER_SHOWING_QR, ORDER_EV_PAY_RESULT),
	BUG(ORDER_SHOWING_QR, ORDER_EV_PRECREATE_RESULT), BUG(ORDER_SHOWING_QR, ORDER_EV_QUERY_RESULT),
	BUG(ORDER_SHOWING_QR, ORDER_EV_CANCEL_RESULT),

	/* QR_QUERYING: doc/protocol.md §6, TRADE_NOT_EXIST while unscanned */
	TQ(ORDER_QR_QUERYING, ORDER_EV_QUERY_RESULT, A_OK_PAID, ORDER_PAID, N, T_NONE),
	TQ(ORDER_QR_QUERYING, ORDER_EV_QUERY_RESULT, A_OK_CLOSED, ORDER_CANCELED, N, T_NONE),
	TQ(ORDER_QR_QUERYING, ORDER_EV_QUERY_RESULT, A_FAIL_NOT_EXIST, ORDER_SHOWING_QR, N, 300),
	TQ(ORDER_QR_QUERYING, ORDER_EV_QUERY_RESULT, A_OK_WAIT, ORDER_SHOWING_QR, N, 300),
	TQ(ORDER_QR_QUERYING, ORDER_EV_QUERY_RESULT, A_UNKNOWN, ORDER_SHOWING_QR, N, 300),
	{.s = ORDER_QR_QUERYING, .kind = ORDER_KIND_QR, .qr = QR_SOON,
	 .ev = ORDER_EV_QUERY_RESULT, .res = A_FAIL_NOT_EXIST, .exp_s = ORDER_SHOWING_QR,
	 .exp_send = N, .exp_timer = 100},
	{.s = ORDER_QR_QUERYING, .kind = ORDER_KIND_QR, .qr = QR_NOW,
	 .ev = ORDER_EV_QUERY_RESULT, .res = A_FAIL_NOT_EXIST, .exp_s = ORDER_CANCELING,
	 .exp_send = CAN, .exp_timer = T_NONE},
	TQ(ORDER_QR_QUERYING, ORDER_EV_ABORT, A_NULL, ORDER_CANCELING, CAN, T_NONE),
	TQ(ORDER_QR_QUERYING, ORDER_EV_NOTIFY, A_OK_PAID, ORDER_PAID, N, T_NONE),
	TQ(ORDER_QR_QUERYING, ORDER_EV_NOTIFY, A_OK_WAIT, SAME, N, T_NONE),
	TQ(ORDER_QR_QUERYING, ORDER_EV_RESUME, A_NULL, SAME, QRY, T_NONE),
	BUG(ORDER_QR_QUERYING, ORDER_EV_START), BUG(ORDER_QR_QUERYING, ORDER_EV_PAY_RESULT),
	BUG(ORDER_QR_QUERYING, ORDER_EV_PRECREATE_RESULT),
	BUG(ORDER_QR_QUERYING, ORDER_EV_CANCEL_RESULT), BUG(ORDER_QR_QUERYING, ORDER_EV_TIMER),

	/* CANCELING: doc/protocol.md §5.3 */
	T(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_OK, ORDER_CANCELED, N, T_NONE),
	T(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_CANCEL_CLOSE, ORDER_CANCELED, N, T_NONE),
	T(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_CANCEL_REFUND, ORDER_REFUNDED_BY_CANCEL, N,
	  T_NONE),
	T(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_CANCEL_RETRY, ORDER_CANCEL_WAIT, N, 50),
	TX(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_CANCEL_RETRY, ORDER_ATTENTION, N, 1000, 2, false, 2),
	T(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_UNKNOWN, ORDER_CANCEL_WAIT, N, 50),
	T(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_NULL, ORDER_CANCEL_WAIT, N, 50),
	TX(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_UNKNOWN, ORDER_ATTENTION, N, 1000, 2, false, 2),
	T(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_FAIL_NOT_EXIST, ORDER_CANCELED, N, T_NONE),
	T(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_FAIL, ORDER_ATTENTION, N, 1000),
	T(ORDER_CANCELING, ORDER_EV_CANCEL_RESULT, A_CONFIG, ORDER_ATTENTION, N, 1000),
	T(ORDER_CANCELING, ORDER_EV_ABORT, A_NULL, SAME, N, T_NONE),
	T(ORDER_CANCELING, ORDER_EV_NOTIFY, A_OK_PAID, SAME, N, T_NONE),
	T(ORDER_CANCELING, ORDER_EV_RESUME, A_NULL, SAME, CAN, T_NONE),
	BUG(ORDER_CANCELING, ORDER_EV_START), BUG(ORDER_CANCELING, ORDER_EV_PAY_RESULT),
	BUG(ORDER_CANCELING, ORDER_EV_PRECREATE_RESULT), BUG(ORDER_CANCELING, ORDER_EV_QUERY_RESULT),
	BUG(ORDER_CANCELING, ORDER_EV_TIMER),

	CANCEL_WAIT_ROWS(ORDER_CANCEL_WAIT),
	CANCEL_WAIT_ROWS(ORDER_ATTENTION),

	FINAL_ROWS(ORDER_PAID),
	FINAL_ROWS(ORDER_FAILED),
	FINAL_ROWS(ORDER_CANCELED),
	FINAL_ROWS(ORDER_REFUNDED_BY_CANCEL),
};
/* clang-format on */

static char *logbuf;
static size_t logsize;
static FILE *log_f;

static bool
log_has_bug_since(size_t mark)
{
	fflush(log_f);
	return logsize > mark && strstr(logbuf + mark, "BUG:") != NULL;
}

static void
test_order_table(void)
{
	bool seen[_ORDER_STATE_MAX][_ORDER_EV_MAX] = {};

	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		const struct row *t = &rows[i];
		struct order o, before;
		struct order_actions act = {.send = _ORDER_REQ_MAX, .timer_usec = 1};
		enum order_state exp_s = t->exp_s == SAME ? t->s : t->exp_s;
		size_t mark;
		int r;

		CHECK_INT_EQ(order_init(&o, "T1_20261126_1", t->kind, NOW - 5), 0);
		o.state = t->s;
		o.queries_left = t->ql;
		o.abort_requested = t->abort;
		o.cancel_attempts = t->ca;
		o.expires_usec = t->qr == QR_NOW ? NOW : t->qr == QR_SOON ? NOW + 100 : NOW + 1000;
		before = o;

		fflush(log_f);
		mark = logsize;
		r = order_dispatch(&o, &cfg, t->ev, t->res == A_NULL ? NULL : &results[t->res], NOW,
				   &act);
		if (r != t->exp_r || o.state != exp_s || act.send != t->exp_send ||
		    act.timer_usec != (t->exp_timer == T_NONE ? 0 : NOW + t->exp_timer))
			fprintf(stderr, "row %zu: %s + %s: r=%d state=%s send=%s timer=%llu\n", i,
				order_state_to_string(t->s), order_event_to_string(t->ev), r,
				order_state_to_string(o.state), order_request_to_string(act.send),
				(unsigned long long)act.timer_usec);
		CHECK_INT_EQ(r, t->exp_r);
		CHECK_INT_EQ(o.state, exp_s);
		CHECK_INT_EQ(act.send, t->exp_send);
		CHECK_INT_EQ(act.timer_usec, t->exp_timer == T_NONE ? 0 : NOW + t->exp_timer);
		CHECK_INT_EQ(act.changed, exp_s != t->s);
		if (r < 0) {
			/* A bug is logged and leaves the order exactly as it was. */
			CHECK(log_has_bug_since(mark));
			CHECK(memcmp(&o, &before, sizeof(o)) == 0);
		} else {
			CHECK(!log_has_bug_since(mark));
			CHECK_INT_EQ(o.state_since_usec, exp_s != t->s ? NOW : NOW - 5);
		}
		seen[t->s][t->ev] = true;
	}

	/* Every (state, event) pair is covered by at least one row. */
	for (unsigned s = 0; s < _ORDER_STATE_MAX; s++)
		for (unsigned e = 0; e < _ORDER_EV_MAX; e++) {
			if (!seen[s][e])
				fprintf(stderr, "no row for %s + %s\n", order_state_to_string(s),
					order_event_to_string(e));
			CHECK(seen[s][e]);
		}
}

struct refund_row {
	enum refund_state s;
	unsigned attempts;
	enum refund_event ev;
	enum res_id res;
	int exp_r;
	enum refund_state exp_s;
	enum refund_request exp_send;
	usec_t exp_timer;
};

#define RT(st, e, rs, ns, rq, tm)                                                   \
	{                                                                           \
		.s = (st), .ev = (e), .res = (rs), .exp_s = (ns), .exp_send = (rq), \
		.exp_timer = (tm)                                                   \
	}
#define RBUG(st, e)                                                                \
	{                                                                          \
		.s = (st), .ev = (e), .res = A_OK, .exp_r = BUG_R, .exp_s = RSAME, \
		.exp_timer = T_NONE                                                \
	}

/* clang-format off */
static const struct refund_row refund_rows[] = {
	RT(REFUND_NEW, REFUND_EV_START, A_NULL, REFUND_REQUESTED, REFUND_REQ_REFUND, T_NONE),
	RT(REFUND_NEW, REFUND_EV_RESUME, A_NULL, REFUND_REQUESTED, REFUND_REQ_REFUND, T_NONE),
	RBUG(REFUND_NEW, REFUND_EV_REFUND_RESULT), RBUG(REFUND_NEW, REFUND_EV_QUERY_RESULT),
	RBUG(REFUND_NEW, REFUND_EV_TIMER),

	/* doc/protocol.md §5.5 */
	RT(REFUND_REQUESTED, REFUND_EV_REFUND_RESULT, A_REFUND_MOVED, REFUND_DONE, REFUND_REQ_NONE,
	   T_NONE),
	RT(REFUND_REQUESTED, REFUND_EV_REFUND_RESULT, A_OK, REFUND_QUERYING, REFUND_REQ_QUERY,
	   T_NONE),
	RT(REFUND_REQUESTED, REFUND_EV_REFUND_RESULT, A_FAIL, REFUND_FAILED, REFUND_REQ_NONE, T_NONE),
	RT(REFUND_REQUESTED, REFUND_EV_REFUND_RESULT, A_CONFIG, REFUND_FAILED, REFUND_REQ_NONE,
	   T_NONE),
	RT(REFUND_REQUESTED, REFUND_EV_REFUND_RESULT, A_UNKNOWN, REFUND_WAIT, REFUND_REQ_NONE, 20),
	RT(REFUND_REQUESTED, REFUND_EV_REFUND_RESULT, A_NULL, REFUND_WAIT, REFUND_REQ_NONE, 20),
	{.s = REFUND_REQUESTED, .attempts = 2, .ev = REFUND_EV_REFUND_RESULT, .res = A_UNKNOWN,
	 .exp_s = REFUND_WAIT, .exp_timer = 80},
	{.s = REFUND_REQUESTED, .attempts = 40, .ev = REFUND_EV_REFUND_RESULT, .res = A_UNKNOWN,
	 .exp_s = REFUND_WAIT, .exp_timer = 160},
	RT(REFUND_REQUESTED, REFUND_EV_RESUME, A_NULL, RSAME, REFUND_REQ_REFUND, T_NONE),
	RBUG(REFUND_REQUESTED, REFUND_EV_START), RBUG(REFUND_REQUESTED, REFUND_EV_QUERY_RESULT),
	RBUG(REFUND_REQUESTED, REFUND_EV_TIMER),

	RT(REFUND_WAIT, REFUND_EV_TIMER, A_NULL, REFUND_REQUESTED, REFUND_REQ_REFUND, T_NONE),
	RT(REFUND_WAIT, REFUND_EV_RESUME, A_NULL, REFUND_REQUESTED, REFUND_REQ_REFUND, T_NONE),
	RBUG(REFUND_WAIT, REFUND_EV_START), RBUG(REFUND_WAIT, REFUND_EV_REFUND_RESULT),
	RBUG(REFUND_WAIT, REFUND_EV_QUERY_RESULT),

	/* doc/protocol.md §5.7 */
	RT(REFUND_QUERYING, REFUND_EV_QUERY_RESULT, A_REFUND_FOUND, REFUND_DONE, REFUND_REQ_NONE,
	   T_NONE),
	RT(REFUND_QUERYING, REFUND_EV_QUERY_RESULT, A_OK, REFUND_REQUESTED, REFUND_REQ_REFUND,
	   T_NONE),
	RT(REFUND_QUERYING, REFUND_EV_QUERY_RESULT, A_UNKNOWN, REFUND_WAIT, REFUND_REQ_NONE, 20),
	RT(REFUND_QUERYING, REFUND_EV_QUERY_RESULT, A_FAIL, REFUND_WAIT, REFUND_REQ_NONE, 20),
	RT(REFUND_QUERYING, REFUND_EV_RESUME, A_NULL, RSAME, REFUND_REQ_QUERY, T_NONE),
	RBUG(REFUND_QUERYING, REFUND_EV_START), RBUG(REFUND_QUERYING, REFUND_EV_REFUND_RESULT),
	RBUG(REFUND_QUERYING, REFUND_EV_TIMER),

	RT(REFUND_DONE, REFUND_EV_RESUME, A_NULL, RSAME, REFUND_REQ_NONE, T_NONE),
	RBUG(REFUND_DONE, REFUND_EV_START), RBUG(REFUND_DONE, REFUND_EV_REFUND_RESULT),
	RBUG(REFUND_DONE, REFUND_EV_QUERY_RESULT), RBUG(REFUND_DONE, REFUND_EV_TIMER),
	RT(REFUND_FAILED, REFUND_EV_RESUME, A_NULL, RSAME, REFUND_REQ_NONE, T_NONE),
	RBUG(REFUND_FAILED, REFUND_EV_START), RBUG(REFUND_FAILED, REFUND_EV_REFUND_RESULT),
	RBUG(REFUND_FAILED, REFUND_EV_QUERY_RESULT), RBUG(REFUND_FAILED, REFUND_EV_TIMER),
};
/* clang-format on */

static void
test_refund_table(void)
{
	bool seen[_REFUND_STATE_MAX][_REFUND_EV_MAX] = {};

	for (size_t i = 0; i < ELEMENTSOF(refund_rows); i++) {
		const struct refund_row *t = &refund_rows[i];
		struct refund rf, before;
		struct refund_actions act = {.send = _REFUND_REQ_MAX, .timer_usec = 1};
		enum refund_state exp_s = t->exp_s == RSAME ? t->s : t->exp_s;
		size_t mark;
		int r;

		CHECK_INT_EQ(refund_init(&rf, "T1_20261126_1_r1", NOW - 5), 0);
		rf.state = t->s;
		rf.attempts = t->attempts;
		before = rf;
		fflush(log_f);
		mark = logsize;
		r = refund_dispatch(&rf, &cfg, t->ev, t->res == A_NULL ? NULL : &results[t->res],
				    NOW, &act);
		if (r != t->exp_r || rf.state != exp_s)
			fprintf(stderr, "refund row %zu: %s + %s: r=%d state=%s\n", i,
				refund_state_to_string(t->s), refund_event_to_string(t->ev), r,
				refund_state_to_string(rf.state));
		CHECK_INT_EQ(r, t->exp_r);
		CHECK_INT_EQ(rf.state, exp_s);
		CHECK_INT_EQ(act.send, t->exp_send);
		CHECK_INT_EQ(act.timer_usec, t->exp_timer == T_NONE ? 0 : NOW + t->exp_timer);
		CHECK_INT_EQ(act.changed, exp_s != t->s);
		if (r < 0) {
			CHECK(log_has_bug_since(mark));
			CHECK(memcmp(&rf, &before, sizeof(rf)) == 0);
		} else
			CHECK(!log_has_bug_since(mark));
		seen[t->s][t->ev] = true;
	}
	for (unsigned s = 0; s < _REFUND_STATE_MAX; s++)
		for (unsigned e = 0; e < _REFUND_EV_MAX; e++)
			CHECK(seen[s][e]);
}

/* Feeds one event and checks the outcome; returns the actions. */
static struct order_actions
step(struct order *o, enum order_event ev, enum res_id res, usec_t now, enum order_state exp)
{
	struct order_actions act;

	CHECK_INT_EQ(order_dispatch(o, &cfg, ev, res == A_NULL ? NULL : &results[res], now, &act),
		     0);
	CHECK_STR_EQ(order_state_to_string(o->state), order_state_to_string(exp));
	return act;
}

/* doc/protocol.md §5.1: 10003, then max_queries queries at query_interval, then the cancel. */
static void
test_scan_never_confirmed(void)
{
	struct order o;
	struct order_actions a;
	usec_t now = NOW;
	unsigned queries = 0;

	CHECK_INT_EQ(order_init(&o, "T1_20261126_2", ORDER_KIND_SCAN, now), 0);
	a = step(&o, ORDER_EV_START, A_NULL, now, ORDER_PAYING);
	CHECK_INT_EQ(a.send, ORDER_REQ_PAY);
	a = step(&o, ORDER_EV_PAY_RESULT, A_INPROG, now, ORDER_WAITING);
	while (o.state == ORDER_WAITING) {
		CHECK_INT_EQ(a.timer_usec, now + cfg.query_interval_usec);
		now = a.timer_usec;
		a = step(&o, ORDER_EV_TIMER, A_NULL, now, ORDER_QUERYING);
		CHECK_INT_EQ(a.send, ORDER_REQ_QUERY);
		queries++;
		CHECK_INT_EQ(order_dispatch(&o, &cfg, ORDER_EV_QUERY_RESULT, &results[A_OK_WAIT],
					    now, &a),
			     0);
	}
	CHECK_INT_EQ(queries, cfg.max_queries);
	CHECK_INT_EQ(o.state, ORDER_CANCELING);
	CHECK_INT_EQ(a.send, ORDER_REQ_CANCEL);
	/* doc/protocol.md §5.3 / sandbox digit 8: retry_flag=Y, then success with action=close. */
	a = step(&o, ORDER_EV_CANCEL_RESULT, A_CANCEL_RETRY, now, ORDER_CANCEL_WAIT);
	a = step(&o, ORDER_EV_TIMER, A_NULL, a.timer_usec, ORDER_CANCELING);
	CHECK_INT_EQ(a.send, ORDER_REQ_CANCEL);
	step(&o, ORDER_EV_CANCEL_RESULT, A_CANCEL_CLOSE, now, ORDER_CANCELED);
	CHECK(order_state_is_final(o.state));
}

/* A pay is never re-sent: no transition anywhere asks for a second one. It leaves once, from
 * NEW (the code came with the order) or WAITING_FOR_CODE (the scanner brought it), both of
 * which are left at once for PAYING. */
static void
test_pay_sent_once(void)
{
	for (size_t i = 0; i < ELEMENTSOF(rows); i++)
		if (rows[i].exp_send == ORDER_REQ_PAY) {
			CHECK(rows[i].s == ORDER_NEW || rows[i].s == ORDER_WAITING_CODE);
			CHECK(rows[i].ev == ORDER_EV_START && rows[i].exp_s == ORDER_PAYING);
		}
}

/* ATTENTION never gives up, and its backoff doubles up to the cap. */
static void
test_attention_backoff(void)
{
	struct order o;
	struct order_actions a;
	usec_t now = NOW, expected = cfg.attention_initial_usec;

	CHECK_INT_EQ(order_init(&o, "T1_20261126_3", ORDER_KIND_SCAN, now), 0);
	o.state = ORDER_CANCELING;
	o.cancel_attempts = cfg.cancel_retries;
	for (unsigned i = 0; i < 40; i++) {
		a = step(&o, ORDER_EV_CANCEL_RESULT, A_UNKNOWN, now, ORDER_ATTENTION);
		CHECK_INT_EQ(a.timer_usec - now, expected);
		expected = MIN(expected * 2, cfg.attention_max_usec);
		now = a.timer_usec;
		a = step(&o, ORDER_EV_TIMER, A_NULL, now, ORDER_CANCELING);
		CHECK_INT_EQ(a.send, ORDER_REQ_CANCEL);
	}
	step(&o, ORDER_EV_CANCEL_RESULT, A_CANCEL_REFUND, now, ORDER_REFUNDED_BY_CANCEL);
}

/*
 * doc/engine.md "Trades that are not ours": a held order is ATTENTION with the reason, and
 * nothing — timer, restart, abort, notification — makes it send a cancel or become PAID.
 */
static void
test_held(void)
{
	static const enum res_id taken[] = {A_FAIL_HAS_SUCCESS, A_CONTEXT, A_OK_PAID_OTHER};

	for (size_t i = 0; i < ELEMENTSOF(taken); i++) {
		struct order o;
		struct order_actions a;

		CHECK_INT_EQ(order_init(&o, "T1_20261126_4", ORDER_KIND_SCAN, NOW), 0);
		o.state = ORDER_PAYING;
		a = step(&o, ORDER_EV_PAY_RESULT, taken[i], NOW, ORDER_ATTENTION);
		CHECK(a.changed && a.send == ORDER_REQ_NONE && a.timer_usec == 0);
		CHECK(order_is_held(&o));
		CHECK_STR_EQ(o.sub_code, taken[i] == A_OK_PAID_OTHER ? ORDER_REASON_MISMATCH
								     : ORDER_REASON_COLLISION);
		a = step(&o, ORDER_EV_TIMER, A_NULL, NOW + 1, ORDER_ATTENTION);
		CHECK(!a.changed && a.send == ORDER_REQ_NONE && a.timer_usec == 0);
		a = step(&o, ORDER_EV_RESUME, A_NULL, NOW + 2, ORDER_ATTENTION);
		CHECK(!a.changed && a.send == ORDER_REQ_NONE && a.timer_usec == 0);
		a = step(&o, ORDER_EV_ABORT, A_NULL, NOW + 3, ORDER_ATTENTION);
		CHECK(a.send == ORDER_REQ_NONE);
		a = step(&o, ORDER_EV_NOTIFY, A_OK_PAID, NOW + 4, ORDER_ATTENTION);
		CHECK(a.send == ORDER_REQ_NONE);
		a = step(&o, ORDER_EV_NOTIFY, A_OK_PAID_OTHER, NOW + 5, ORDER_ATTENTION);
		CHECK(!a.changed && a.send == ORDER_REQ_NONE);
		CHECK(order_is_held(&o));
	}
	/* An ATTENTION for a cancel that keeps failing is not held: it retries. */
	{
		struct order o;

		CHECK_INT_EQ(order_init(&o, "T1_20261126_5", ORDER_KIND_SCAN, NOW), 0);
		o.state = ORDER_ATTENTION;
		CHECK(!order_is_held(&o));
		CHECK_INT_EQ(step(&o, ORDER_EV_TIMER, A_NULL, NOW, ORDER_CANCELING).send,
			     ORDER_REQ_CANCEL);
	}
}

/* QR with polling off: the timer fires only at expiry, which cancels. */
static void
test_qr_no_polling(void)
{
	struct order_config c = cfg;
	struct order o;
	struct order_actions a;

	c.qr_poll_interval_usec = 0;
	CHECK_INT_EQ(order_init(&o, "T1_20261126_4", ORDER_KIND_QR, NOW), 0);
	CHECK_INT_EQ(order_dispatch(&o, &c, ORDER_EV_START, NULL, NOW, &a), 0);
	CHECK_INT_EQ(a.send, ORDER_REQ_PRECREATE);
	CHECK_INT_EQ(order_dispatch(&o, &c, ORDER_EV_PRECREATE_RESULT, &results[A_OK], NOW, &a), 0);
	CHECK_INT_EQ(o.state, ORDER_SHOWING_QR);
	CHECK_INT_EQ(a.timer_usec, NOW + c.qr_timeout_usec);
	CHECK_INT_EQ(order_dispatch(&o, &c, ORDER_EV_TIMER, NULL, a.timer_usec, &a), 0);
	CHECK_INT_EQ(o.state, ORDER_CANCELING);
	CHECK(o.expired);
	CHECK_INT_EQ(
		order_dispatch(&o, &c, ORDER_EV_CANCEL_RESULT, &results[A_FAIL_NOT_EXIST], NOW, &a),
		0);
	CHECK_INT_EQ(o.state, ORDER_CANCELED);
}

static void
test_names(void)
{
	for (unsigned s = 0; s < _ORDER_STATE_MAX; s++) {
		enum order_state back;
		CHECK_INT_EQ(order_state_from_string(order_state_to_string(s), &back), 0);
		CHECK_INT_EQ(back, s);
	}
	for (unsigned s = 0; s < _REFUND_STATE_MAX; s++) {
		enum refund_state back;
		CHECK_INT_EQ(refund_state_from_string(refund_state_to_string(s), &back), 0);
		CHECK_INT_EQ(back, s);
	}
	for (unsigned e = 0; e < _ORDER_EV_MAX; e++)
		CHECK(!STR_EQ(order_event_to_string(e), "(invalid)"));
	CHECK_STR_EQ(order_state_to_string(_ORDER_STATE_MAX), "(invalid)");
	CHECK_INT_EQ(order_trade_status_from_string("TRADE_SUCCESS"), ORDER_TRADE_SUCCESS);
	CHECK_INT_EQ(order_trade_status_from_string("WAIT_BUYER_PAY"), ORDER_TRADE_WAIT_BUYER_PAY);
	CHECK_INT_EQ(order_trade_status_from_string("bogus"), ORDER_TRADE_NONE);
	CHECK_INT_EQ(order_trade_status_from_string(NULL), ORDER_TRADE_NONE);

	struct order o;
	char longid[ORDER_ID_MAX + 2];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	CHECK_INT_EQ(order_init(&o, longid, ORDER_KIND_SCAN, 0), -EINVAL);
	CHECK_INT_EQ(order_init(&o, "", ORDER_KIND_SCAN, 0), -EINVAL);
	CHECK_INT_EQ(order_init(&o, "x", _ORDER_KIND_MAX, 0), -EINVAL);
	longid[ORDER_ID_MAX] = '\0';
	CHECK_INT_EQ(order_init(&o, longid, ORDER_KIND_SCAN, 0), 0);
	CHECK_INT_EQ(strlen(o.id), ORDER_ID_MAX);
}

int
main(void)
{
	order_config_init(&cfg);
	/* doc/design.md §5.5 defaults. */
	CHECK_INT_EQ(cfg.query_interval_usec, 5 * USEC_PER_SEC);
	CHECK_INT_EQ(cfg.max_queries, 6);
	CHECK_INT_EQ(cfg.cancel_retries, 3);
	CHECK_INT_EQ(cfg.cancel_interval_usec, 2 * USEC_PER_SEC);
	CHECK_INT_EQ(cfg.qr_timeout_usec, 120 * USEC_PER_SEC);

	cfg.query_interval_usec = 100;
	cfg.max_queries = 3;
	cfg.cancel_interval_usec = 50;
	cfg.cancel_retries = 2;
	cfg.attention_initial_usec = 1000;
	cfg.attention_max_usec = 8000;
	cfg.qr_timeout_usec = 1000;
	cfg.qr_poll_interval_usec = 300;
	cfg.refund_retry_usec = 20;
	cfg.refund_retry_max_usec = 160;

	log_f = open_memstream(&logbuf, &logsize);
	CHECK(log_f);
	log_set_stream(log_f);

	test_order_table();
	test_refund_table();
	test_scan_never_confirmed();
	test_pay_sent_once();
	test_attention_backoff();
	test_held();
	test_qr_no_polling();
	test_names();

	log_set_stream(NULL);
	fclose(log_f);
	free(logbuf);
	printf("%zu order rows, %zu refund rows\n", ELEMENTSOF(rows), ELEMENTSOF(refund_rows));
	return 0;
}
