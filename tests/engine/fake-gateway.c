/* SPDX-License-Identifier: MIT */
/* An in-memory gateway for engine tests: the sandbox's scenario table at the result level. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "fake-gateway.h"

#define _fallthrough_ __attribute__((fallthrough))

struct fake_call {
	struct fake_gateway *f;
	sd_event_source *source;
	struct gateway_call call;
	char out_trade_no[ORDER_ID_MAX + 1];
	char auth_code[32];
	char out_request_no[REFUND_ID_MAX + 1];
	gateway_done_t done;
	void *userdata;
};

struct fake_trade *
fake_gateway_trade(struct fake_gateway *f, const char *id)
{
	for (unsigned i = 0; i < f->n_trades; i++)
		if (STR_EQ(f->trades[i].out_trade_no, id))
			return &f->trades[i];
	return NULL;
}

static struct fake_trade *
trade_add(struct fake_gateway *f, const char *id)
{
	struct fake_trade *t = fake_gateway_trade(f, id);

	if (t)
		return t;
	if (f->n_trades >= FAKE_TRADES_MAX)
		abort();
	t = &f->trades[f->n_trades++];
	*t = (struct fake_trade){.status = ORDER_TRADE_NOT_EXIST};
	snprintf(t->out_trade_no, sizeof(t->out_trade_no), "%s", id);
	return t;
}

int
fake_gateway_scan(struct fake_gateway *f, const char *id, bool pay)
{
	struct fake_trade *t = fake_gateway_trade(f, id);

	if (!t || !t->qr)
		return -ENOENT;
	/* A canceled QR cannot be paid any more. */
	if (t->status == ORDER_TRADE_CLOSED)
		return -ESTALE;
	t->scanned = true;
	t->status = pay ? ORDER_TRADE_SUCCESS : ORDER_TRADE_WAIT_BUYER_PAY;
	return 0;
}

#define FAKE_BUYER "2088000000000001" /* the one buyer of every trade */

static usec_t
fake_now(struct fake_gateway *f)
{
	uint64_t t = 0;
	sd_event_now(f->event, CLOCK_REALTIME, &t);
	return t;
}

static void
trade_tick(struct fake_gateway *f, struct fake_trade *t)
{
	if (t->status == ORDER_TRADE_WAIT_BUYER_PAY && t->digit == '1' && t->confirm_at_usec &&
	    fake_now(f) >= t->confirm_at_usec)
		t->status = ORDER_TRADE_SUCCESS;
}

/* Decides the answer of one call, the way the sandbox scenario table says. */
static void
fake_answer(struct fake_gateway *f, struct fake_call *c, struct gateway_result *gr, char *qr_buf,
	    size_t qr_size)
{
	struct fake_trade *t = fake_gateway_trade(f, c->out_trade_no);
	struct order_result *res = &gr->res;

	*gr = (struct gateway_result){};
	if (f->throttle_answers > 0 && c->call.kind != GATEWAY_CALL_PAY &&
	    c->call.kind != GATEWAY_CALL_PRECREATE) {
		/* doc/protocol.md §3: 40005, the gateway did not look at the call. */
		f->throttle_answers--;
		f->throttled++;
		res->cls = ALIPAY_CLASS_UNKNOWN;
		res->sub_code = "isv.method-call-limited";
		gr->throttled = true;
		return;
	}
	switch (c->call.kind) {
	case GATEWAY_CALL_PAY: {
		char d = c->auth_code[strlen(c->auth_code) - 1];
		if (t && t->pays > 0) {
			/* A second pay of the same out_trade_no: counted, answered as Alipay does.
			 */
			t->pays++;
			res->cls = ALIPAY_CLASS_FAILED;
			res->sub_code = "ACQ.TRADE_HAS_SUCCESS";
			return;
		}
		t = trade_add(f, c->out_trade_no);
		t->pays++;
		t->digit = d;
		t->amount_fen = c->call.amount_fen;
		switch (d) {
		case '1':
			t->confirm_at_usec = fake_now(f) + f->confirm_usec;
			_fallthrough_;
		case '2':
		case '8':
			t->status = ORDER_TRADE_WAIT_BUYER_PAY;
			res->cls = ALIPAY_CLASS_IN_PROGRESS;
			gr->buyer_user_id = FAKE_BUYER;
			return;
		case '3':
			t->status = ORDER_TRADE_CLOSED;
			res->cls = ALIPAY_CLASS_FAILED;
			res->sub_code = "ACQ.BUYER_BALANCE_NOT_ENOUGH";
			return;
		case '4':
			t->status = ORDER_TRADE_CLOSED;
			res->cls = ALIPAY_CLASS_FAILED;
			res->sub_code = "ACQ.PAYMENT_AUTH_CODE_INVALID";
			return;
		case '5':
		case '6':
		case '7':
			t->status = ORDER_TRADE_SUCCESS;
			res->cls = ALIPAY_CLASS_UNKNOWN;
			return;
		case '9':
			t->status = ORDER_TRADE_WAIT_BUYER_PAY;
			res->cls = ALIPAY_CLASS_UNKNOWN;
			return;
		default:
			t->status = ORDER_TRADE_SUCCESS;
			res->cls = ALIPAY_CLASS_SUCCESS;
			gr->trade_no = "2026112622001400000000000001";
			return;
		}
	}
	case GATEWAY_CALL_PRECREATE:
		t = trade_add(f, c->out_trade_no);
		t->precreates++;
		t->qr = true;
		t->amount_fen = c->call.amount_fen;
		snprintf(qr_buf, qr_size, "https://qr.alipay.com/bax%s", c->out_trade_no);
		res->cls = ALIPAY_CLASS_SUCCESS;
		gr->qr_code = qr_buf;
		return;
	case GATEWAY_CALL_QUERY:
		t = trade_add(f, c->out_trade_no);
		t->queries++;
		trade_tick(f, t);
		if (t->status == ORDER_TRADE_NOT_EXIST || (t->qr && !t->scanned)) {
			res->cls = ALIPAY_CLASS_FAILED;
			res->sub_code = "ACQ.TRADE_NOT_EXIST";
			return;
		}
		res->cls = ALIPAY_CLASS_SUCCESS;
		res->trade_status = t->status;
		gr->total_amount_fen =
			f->query_amount_fen > 0 ? f->query_amount_fen : t->amount_fen;
		gr->buyer_user_id = f->query_buyer ? f->query_buyer : FAKE_BUYER;
		return;
	case GATEWAY_CALL_CANCEL:
		t = trade_add(f, c->out_trade_no);
		t->cancels++;
		trade_tick(f, t);
		if (t->digit == '8' && t->cancels == 1) {
			res->cls = ALIPAY_CLASS_UNKNOWN;
			res->retry_flag = true;
			return;
		}
		res->cls = ALIPAY_CLASS_SUCCESS;
		res->action = t->status == ORDER_TRADE_SUCCESS ? ORDER_CANCEL_ACTION_REFUND
							       : ORDER_CANCEL_ACTION_CLOSE;
		t->status = ORDER_TRADE_CLOSED;
		return;
	case GATEWAY_CALL_REFUND: {
		bool seen = false;
		if (!t || t->status != ORDER_TRADE_SUCCESS) {
			res->cls = ALIPAY_CLASS_FAILED;
			res->sub_code = "ACQ.TRADE_STATUS_ERROR";
			return;
		}
		t->refund_calls++;
		for (unsigned i = 0; i < t->n_refunds; i++)
			if (STR_EQ(t->refund_ids[i], c->out_request_no))
				seen = true;
		if (!seen) {
			if (c->call.amount_fen > t->amount_fen - t->refunded_fen) {
				res->cls = ALIPAY_CLASS_FAILED;
				res->sub_code = "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL";
				return;
			}
			if (t->n_refunds >= FAKE_REFUNDS_MAX)
				abort();
			snprintf(t->refund_ids[t->n_refunds], REFUND_ID_MAX + 1, "%s",
				 c->out_request_no);
			t->refund_amounts[t->n_refunds++] = c->call.amount_fen;
			t->refunded_fen += c->call.amount_fen;
		}
		if (f->unknown_refund_answers > 0) {
			f->unknown_refund_answers--;
			res->cls = ALIPAY_CLASS_UNKNOWN;
			return;
		}
		res->cls = ALIPAY_CLASS_SUCCESS;
		res->fund_change = !seen;
		return;
	}
	case GATEWAY_CALL_REFUND_QUERY:
		res->cls = ALIPAY_CLASS_SUCCESS;
		if (t) {
			t->refund_queries++;
			for (unsigned i = 0; i < t->n_refunds; i++)
				if (STR_EQ(t->refund_ids[i], c->out_request_no))
					res->refund_found = true;
		}
		return;
	case _GATEWAY_CALL_MAX:
		break;
	}
	abort();
}

static int
fake_deliver(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct fake_call *c = userdata;
	struct gateway_result gr;
	char qr[128];

	fake_answer(c->f, c, &gr, qr, sizeof(qr));
	c->f->in_flight--;
	sd_event_source_disable_unref(c->source);
	c->done(&gr, c->userdata);
	free(c);
	return 0;
}

static int
fake_submit(void *userdata, const struct gateway_call *call, gateway_done_t done,
	    void *done_userdata, void **ret_handle)
{
	struct fake_gateway *f = userdata;
	struct fake_call *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	*c = (struct fake_call){.f = f, .call = *call, .done = done, .userdata = done_userdata};
	snprintf(c->out_trade_no, sizeof(c->out_trade_no), "%s", call->out_trade_no);
	snprintf(c->auth_code, sizeof(c->auth_code), "%s", strempty(call->auth_code));
	snprintf(c->out_request_no, sizeof(c->out_request_no), "%s",
		 strempty(call->out_request_no));
	if (f->n_log < FAKE_LOG_MAX) {
		f->log_kind[f->n_log] = call->kind;
		f->log_usec[f->n_log++] = now_usec(CLOCK_MONOTONIC);
	}
	r = sd_event_add_time_relative(f->event, &c->source, CLOCK_MONOTONIC, f->delay_usec, 1,
				       fake_deliver, c);
	if (r < 0) {
		free(c);
		return r;
	}
	f->in_flight++;
	*ret_handle = c;
	return 0;
}

static void
fake_cancel(void *userdata, void *handle)
{
	struct fake_call *c = handle;

	/* Like a lost answer: the gateway may or may not have processed it. Here: not. */
	c->f->in_flight--;
	sd_event_source_disable_unref(c->source);
	free(c);
}

void
fake_gateway_init(struct fake_gateway *f, sd_event *event)
{
	*f = (struct fake_gateway){
		.event = event,
		.delay_usec = 200,
		.confirm_usec = 20 * USEC_PER_MSEC,
		.gw = {.submit = fake_submit, .cancel = fake_cancel},
	};
	f->gw.userdata = f;
}
