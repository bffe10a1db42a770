/* SPDX-License-Identifier: MIT */
/* The engine's gateway on payment/api.h and payment/http: build, send, parse, reduce. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/worker.h"
#include "daemon/engine/gateway-alipay.h"
#include "payment/api.h"

/*
 * doc/engine.md "A connection opened before the scan": the spare is replaced before it has been
 * idle this long, well under the keep-alive idle timeouts of gateways and the middleboxes in
 * front of them (60 s and more), so that it is alive when the code comes.
 */
#define GA_SPARE_MAX_IDLE_USEC (15 * USEC_PER_SEC)

/* A pay's request built on the worker thread while the engine commits (ga_prepare()). */
struct ga_prepared {
	bool running;      /* handed to the worker: its job runs until `built` */
	atomic_bool built; /* set by the worker at the job's end */
	struct gateway_alipay *g;
	/* Submitted before it was built: in g->signing, leaving for `for_call` once built (NULL
	 * when the call was canceled meanwhile: then only freed). */
	struct ga_prepared *next;
	struct ga_call *for_call;
	struct gateway_call call; /* its strings are the copies below */
	char *out_trade_no, *auth_code, *operator_id, *subject;
	enum alipay_method method;
	struct alipay_request req;
	int r;
};

struct gateway_alipay {
	sd_event *event;
	struct http_client *http;
	struct gateway_alipay_config cfg;
	struct ga_call *calls; /* in flight, for free() */
	unsigned sent[_GATEWAY_CALL_MAX];
	/* The connection for the next pay, opened while a scan order waits for its code. */
	bool warm;
	struct http_preconn *spare;
	sd_event_source *spare_timer; /* replaces the spare: only while warm */
	struct ga_prepared *prepared; /* at most one: the pay whose commit is under way */
	struct ga_prepared *signing;  /* submitted, still being built: they leave in this order */
	/* How many are in g->signing, for the worker: it wakes the loop only when one waits. */
	atomic_uint n_signing;
	struct worker *worker; /* builds them; its thread starts with the first pay */
	int built_fd;          /* eventfd: the worker built one */
	sd_event_source *built_source;
	unsigned prepared_used;
};

struct ga_call {
	struct gateway_alipay *g;
	struct ga_call *next;
	enum gateway_call_kind kind;
	enum alipay_method method;
	struct http_request *req;    /* in flight */
	struct ga_prepared *signing; /* a pay submitted before its request was built */
	struct http_preconn *spare;  /* the connection it takes meanwhile */
	sd_event_source *defer;      /* a call that could not be built completes from here */
	enum alipay_class build_cls; /* its class */
	gateway_done_t done;
	void *userdata;
};

static void
ga_call_unlink(struct ga_call *c)
{
	for (struct ga_call **p = &c->g->calls; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			return;
		}
}

static void
ga_call_free(struct ga_call *c)
{
	if (!c)
		return;
	ga_call_unlink(c);
	if (c->signing)
		c->signing->for_call = NULL; /* built, it is dropped */
	http_preconn_close(c->spare);
	sd_event_source_disable_unref(c->defer);
	free(c);
}

static enum order_trade_status
trade_status_reduce(enum alipay_trade_status s)
{
	switch (s) {
	case ALIPAY_TRADE_STATUS_WAIT_BUYER_PAY:
		return ORDER_TRADE_WAIT_BUYER_PAY;
	case ALIPAY_TRADE_STATUS_CLOSED:
		return ORDER_TRADE_CLOSED;
	case ALIPAY_TRADE_STATUS_SUCCESS:
		return ORDER_TRADE_SUCCESS;
	case ALIPAY_TRADE_STATUS_FINISHED:
		return ORDER_TRADE_FINISHED;
	case ALIPAY_TRADE_STATUS_NONE:
	case ALIPAY_TRADE_STATUS_OTHER:
	case _ALIPAY_TRADE_STATUS_MAX:
		break;
	}
	return ORDER_TRADE_NONE;
}

static enum order_cancel_action
cancel_action_reduce(enum alipay_cancel_action a)
{
	switch (a) {
	case ALIPAY_CANCEL_ACTION_CLOSE:
		return ORDER_CANCEL_ACTION_CLOSE;
	case ALIPAY_CANCEL_ACTION_REFUND:
		return ORDER_CANCEL_ACTION_REFUND;
	case ALIPAY_CANCEL_ACTION_NONE:
	case ALIPAY_CANCEL_ACTION_OTHER:
	case _ALIPAY_CANCEL_ACTION_MAX:
		break;
	}
	return ORDER_CANCEL_ACTION_NONE;
}

static void
ga_http_done(struct http_request *req, struct http_response *resp, void *userdata)
{
	struct ga_call *c = userdata;
	struct gateway_alipay *g = c->g;
	struct alipay_api_result res = ALIPAY_API_RESULT_INIT;
	struct gateway_result gr = {};
	gateway_done_t done = c->done;
	void *ud = c->userdata;
	int r;

	c->req = NULL;
	if (resp->outcome == HTTP_OUTCOME_NOT_DELIVERED &&
	    (c->kind == GATEWAY_CALL_PAY || c->kind == GATEWAY_CALL_PRECREATE)) {
		/* doc/engine.md: not one byte left, so no trade exists and nothing was charged:
		 * a definite failure at once, no query or cancel to find out. */
		log_error("%s: gateway unreachable (%s), nothing was charged",
			  alipay_method_to_string(c->method), resp->error);
		gr.res = (struct order_result){.cls = ALIPAY_CLASS_FAILED,
					       .sub_code = GATEWAY_REASON_UNREACHABLE};
		gr.not_delivered = true;
		ga_call_free(c);
		done(&gr, ud);
		return;
	}
	if (resp->outcome == HTTP_OUTCOME_OK)
		r = alipay_api_parse(g->cfg.client, c->method, resp->body, resp->body_len, &res);
	else {
		/* doc/protocol.md §8: a request that may have been processed has an unknown result.
		 */
		log_warning("%s: %s (%s)", alipay_method_to_string(c->method),
			    http_outcome_to_string(resp->outcome), resp->error);
		r = alipay_api_parse(g->cfg.client, c->method, NULL, 0, &res);
	}
	if (r < 0) {
		log_error_errno(r, "%s: failed to parse the answer: %m",
				alipay_method_to_string(c->method));
		res.resp.cls = ALIPAY_CLASS_UNKNOWN;
	}
	if (resp->send_count > 1)
		log_warning("%s went on the wire %u times", alipay_method_to_string(c->method),
			    resp->send_count);

	gr.res = (struct order_result){
		.cls = res.resp.cls,
		.trade_status = trade_status_reduce(res.trade_status),
		.sub_code = res.resp.sub_code,
		.retry_flag = res.retry_flag == ALIPAY_FLAG_Y,
		.action = cancel_action_reduce(res.action),
		.fund_change = res.fund_change == ALIPAY_FLAG_Y,
		.refund_found = res.refund_amount_fen != ALIPAY_AMOUNT_NONE,
		.resent = resp->send_count > 1,
	};
	gr.qr_code = res.qr_code;
	gr.trade_no = res.trade_no;
	gr.total_amount_fen = res.total_amount_fen;
	gr.buyer_user_id = res.buyer_user_id;
	gr.throttled = res.resp.throttled;
	gr.not_delivered = resp->outcome == HTTP_OUTCOME_NOT_DELIVERED;
	struct gateway_receipt receipt = {
		.gmt_payment = res.gmt_payment ? res.gmt_payment : res.send_pay_date,
		.buyer_logon_id = res.buyer_logon_id,
		.fund_bill_list = res.fund_bill_list,
		.receipt_fen = res.receipt_amount_fen,
		.buyer_pay_fen = res.buyer_pay_amount_fen,
		.point_fen = res.point_amount_fen,
		.invoice_fen = res.invoice_amount_fen,
		.discount_fen = res.discount_amount_fen,
		.mdiscount_fen = res.mdiscount_amount_fen,
	};
	/* Only a paid trade has a receipt: pay answered 10000, or a query TRADE_SUCCESS/FINISHED.
	 */
	if (res.resp.cls == ALIPAY_CLASS_SUCCESS &&
	    (c->method == ALIPAY_METHOD_TRADE_PAY ||
	     (c->method == ALIPAY_METHOD_TRADE_QUERY &&
	      alipay_trade_status_is_paid(res.trade_status))))
		gr.receipt = &receipt;
	ga_call_free(c);
	done(&gr, ud);
	alipay_api_result_done(&res);
}

static int
ga_defer_cb(sd_event_source *s, void *userdata)
{
	struct ga_call *c = userdata;
	struct gateway_result gr = {
		.res = {.cls = c->build_cls, .sub_code = "f2fpayd.BAD_REQUEST"},
		.total_amount_fen = -1,
	};
	gateway_done_t done = c->done;
	void *ud = c->userdata;

	ga_call_free(c);
	done(&gr, ud);
	return 0;
}

static void
timeout_express(usec_t usec, char buf[static 16])
{
	/* doc/protocol.md §5.1: "2m"; whole minutes, at least one. */
	unsigned long long m = usec / (60 * USEC_PER_SEC);
	snprintf(buf, 16, "%llum", m ? m : 1);
}

static int
ga_build(struct gateway_alipay *g, const struct gateway_call *call, enum alipay_method *ret_m,
	 struct alipay_request *req)
{
	const struct alipay_client_config *cc = g->cfg.client;
	struct alipay_trade_ref ref = {.out_trade_no = call->out_trade_no};
	time_t now = time(NULL);
	char te[16], qte[16];

	timeout_express(call->timeout_express_usec, te);
	timeout_express(call->qr_timeout_usec, qte);
	switch (call->kind) {
	case GATEWAY_CALL_PAY: {
		struct alipay_pay_args a = {
			.out_trade_no = call->out_trade_no,
			.auth_code = call->auth_code,
			.subject = call->subject,
			.total_amount_fen = call->amount_fen,
			.store_id = g->cfg.store_id,
			.terminal_id = g->cfg.terminal_id,
			.operator_id = call->operator_id ? call->operator_id : g->cfg.operator_id,
			.timeout_express = te,
		};
		*ret_m = ALIPAY_METHOD_TRADE_PAY;
		return alipay_api_pay(cc, &a, now, req);
	}
	case GATEWAY_CALL_PRECREATE: {
		struct alipay_precreate_args a = {
			.out_trade_no = call->out_trade_no,
			.subject = call->subject,
			.total_amount_fen = call->amount_fen,
			.store_id = g->cfg.store_id,
			.terminal_id = g->cfg.terminal_id,
			.operator_id = call->operator_id ? call->operator_id : g->cfg.operator_id,
			.timeout_express = te,
			.qr_code_timeout_express = qte,
		};
		*ret_m = ALIPAY_METHOD_TRADE_PRECREATE;
		return alipay_api_precreate(cc, &a, now, req);
	}
	case GATEWAY_CALL_QUERY:
		*ret_m = ALIPAY_METHOD_TRADE_QUERY;
		return alipay_api_query(cc, &ref, now, req);
	case GATEWAY_CALL_CANCEL:
		*ret_m = ALIPAY_METHOD_TRADE_CANCEL;
		return alipay_api_cancel(cc, &ref, now, req);
	case GATEWAY_CALL_REFUND: {
		struct alipay_refund_args a = {
			.trade = ref,
			.refund_amount_fen = call->amount_fen,
			.out_request_no = call->out_request_no,
			.refund_reason = call->refund_reason,
		};
		*ret_m = ALIPAY_METHOD_TRADE_REFUND;
		return alipay_api_refund(cc, &a, now, req);
	}
	case GATEWAY_CALL_REFUND_QUERY: {
		struct alipay_refund_query_args a = {
			.trade = ref,
			.out_request_no = call->out_request_no,
		};
		*ret_m = ALIPAY_METHOD_TRADE_REFUND_QUERY;
		return alipay_api_refund_query(cc, &a, now, req);
	}
	case _GATEWAY_CALL_MAX:
		break;
	}
	return -EINVAL;
}

static void
ga_spare_open(struct gateway_alipay *g)
{
	int r;

	if (g->spare)
		return;
	r = http_preconn_open(g->http, g->cfg.client->gateway_url, g->cfg.connect_timeout_usec,
			      &g->spare);
	if (r < 0) {
		/* Never a failure of an order: the pay opens its own connection. */
		log_debug_errno(r, "Cannot open a connection to the gateway in advance: %m");
		g->spare = NULL;
	}
}

static int
ga_spare_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct gateway_alipay *g = userdata;

	/* Idle long enough: a new one, before the server's idle timeout closes it. */
	g->spare = http_preconn_close(g->spare);
	if (!g->warm)
		return 0;
	ga_spare_open(g);
	if (sd_event_source_set_time_relative(s, GA_SPARE_MAX_IDLE_USEC) < 0 ||
	    sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) < 0)
		log_warning("Cannot re-arm the timer of the gateway connection opened in advance");
	return 0;
}

void
gateway_alipay_warm(struct gateway_alipay *g, bool on)
{
	int r;

	if (!g || g->warm == on)
		return;
	g->warm = on;
	if (!on) {
		g->spare = http_preconn_close(g->spare);
		g->spare_timer = sd_event_source_disable_unref(g->spare_timer);
		return;
	}
	ga_spare_open(g);
	r = sd_event_add_time_relative(g->event, &g->spare_timer, CLOCK_MONOTONIC,
				       GA_SPARE_MAX_IDLE_USEC, USEC_PER_SEC, ga_spare_timer_cb, g);
	if (r < 0) {
		/* Without it the spare could outlive the server's idle timeout: none at all. */
		log_warning_errno(r, "Cannot arm the timer of the gateway connection opened in "
				     "advance: %m");
		g->spare = http_preconn_close(g->spare);
		g->warm = false;
		return;
	}
	(void)sd_event_source_set_description(g->spare_timer, "gateway-spare");
}

static void
ga_prepare_job(void *userdata)
{
	struct ga_prepared *p = userdata;
	struct gateway_alipay *g = p->g;

	/* Reads only what the loop leaves alone until the wait: g's configuration and keys. */
	p->r = ga_build(g, &p->call, &p->method, &p->req);
	/* From here on the job touches p no more: the loop may take it and free it. */
	atomic_store(&p->built, true);
	/* Wakes the loop for a pay submitted meanwhile. With none, the loop takes the request
	 * when it comes for it (and waits for it there if need be): no wake-up, no turn of the
	 * loop for nothing. The loop counts a pay in before it looks at `built` again, the job
	 * stores `built` before it looks at the count: one of them sees the other
	 * (ga_take_or_build()). It cannot fail short of a full counter (2^64 - 2 wake-ups
	 * unread). */
	if (atomic_load(&g->n_signing) > 0)
		(void)eventfd_write(g->built_fd, 1);
}

/* Handed to the worker and its job not done yet. */
static bool
ga_prepared_building(struct ga_prepared *p)
{
	return p->running && !atomic_load(&p->built);
}

/* Waits for the worker and frees everything, the payment code's copy erased. */
static void
ga_prepared_free(struct ga_prepared *p)
{
	if (!p)
		return;
	if (ga_prepared_building(p))
		worker_wait(p->g->worker);
	alipay_request_done(&p->req);
	erase_and_free(p->auth_code);
	free(p->out_trade_no);
	free(p->operator_id);
	free(p->subject);
	free(p);
}

static void ga_call_start(struct ga_call *c, struct alipay_request *req, int r);

/* The pays submitted while their request was being built leave, in order, once built. */
static int
ga_built_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct gateway_alipay *g = userdata;
	eventfd_t n;

	(void)eventfd_read(fd, &n);
	while (g->signing && atomic_load(&g->signing->built)) {
		struct ga_prepared *p = g->signing;
		struct ga_call *c = p->for_call;

		g->signing = p->next;
		atomic_fetch_sub(&g->n_signing, 1);
		if (c) {
			c->signing = NULL;
			c->method = p->method;
			ga_call_start(c, &p->req, p->r);
		}
		ga_prepared_free(p);
	}
	return 0;
}

/* The worker and the eventfd it wakes the loop with, made with the first pay. */
static int
ga_worker_ready(struct gateway_alipay *g)
{
	int r;

	if (g->built_source)
		return 0;
	if (!g->worker && worker_new(&g->worker) < 0)
		return -ENOMEM;
	g->built_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->built_fd < 0)
		return -errno;
	r = sd_event_add_io(g->event, &g->built_source, g->built_fd, EPOLLIN, ga_built_cb, g);
	if (r < 0) {
		close(g->built_fd);
		g->built_fd = -1;
		return r;
	}
	/* A built pay goes before anything else the loop has to do. */
	(void)sd_event_source_set_priority(g->built_source, SD_EVENT_PRIORITY_IMPORTANT);
	(void)sd_event_source_set_description(g->built_source, "gateway-built");
	return 0;
}

static void
ga_prepare(void *userdata, const struct gateway_call *call)
{
	struct gateway_alipay *g = userdata;
	struct ga_prepared *p;

	ga_prepared_free(TAKE_PTR(g->prepared));
	if (!call || call->kind != GATEWAY_CALL_PAY)
		return;
	p = calloc(1, sizeof(*p));
	if (!p)
		return; /* submit() builds it */
	*p = (struct ga_prepared){.g = g, .call = *call, .req = ALIPAY_REQUEST_INIT};
	p->out_trade_no = call->out_trade_no ? strdup(call->out_trade_no) : NULL;
	p->auth_code = call->auth_code ? strdup(call->auth_code) : NULL;
	p->operator_id = call->operator_id ? strdup(call->operator_id) : NULL;
	p->subject = call->subject ? strdup(call->subject) : NULL;
	if (!!p->out_trade_no != !!call->out_trade_no || !!p->auth_code != !!call->auth_code ||
	    !!p->operator_id != !!call->operator_id || !!p->subject != !!call->subject)
		goto fail;
	p->call.out_trade_no = p->out_trade_no;
	p->call.auth_code = p->auth_code;
	p->call.operator_id = p->operator_id;
	p->call.subject = p->subject;
	if (ga_worker_ready(g) < 0)
		goto fail;
	/* The worker builds one at a time: a pay still being built for its submit comes first
	 * (or the last lines of a built one's job). */
	worker_wait(g->worker);
	if (worker_start(g->worker, ga_prepare_job, p) < 0)
		goto fail;
	p->running = true;
	g->prepared = p;
	return;
fail:
	ga_prepared_free(p);
}

static bool
str_same(const char *a, const char *b)
{
	return a == b || STR_EQ_PTR(a, b);
}

/* Whether the prepared request was built from exactly this call. */
static bool
ga_prepared_matches(const struct ga_prepared *p, const struct gateway_call *call)
{
	return p->call.kind == call->kind && str_same(p->call.out_trade_no, call->out_trade_no) &&
	       str_same(p->call.auth_code, call->auth_code) &&
	       str_same(p->call.operator_id, call->operator_id) &&
	       str_same(p->call.subject, call->subject) && p->call.amount_fen == call->amount_fen &&
	       p->call.timeout_express_usec == call->timeout_express_usec &&
	       p->call.qr_timeout_usec == call->qr_timeout_usec;
}

/*
 * The request for call: the prepared one if it was built from this call, else built now. 1 when
 * the prepared one is still being built: the call then leaves from ga_built_cb().
 */
static int
ga_take_or_build(struct gateway_alipay *g, struct ga_call *c, const struct gateway_call *call,
		 struct alipay_request *req)
{
	struct ga_prepared *p = TAKE_PTR(g->prepared);
	int r;

	if (p && !ga_prepared_matches(p, call)) {
		ga_prepared_free(p);
		p = NULL;
	}
	/* doc/engine.md "Write-ahead": with other requests in flight, the loop goes on meanwhile
	 * (their answers may come). With none it has nothing to do but what is idle, a frame to
	 * draw, which would then stand in the pay's way: it waits for the worker. */
	if (p && ga_prepared_building(p) && (http_client_in_flight(g->http) > 0 || g->signing)) {
		p->for_call = c;
		c->signing = p;
		struct ga_prepared **tail = &g->signing;
		while (*tail)
			tail = &(*tail)->next;
		*tail = p;
		atomic_fetch_add(&g->n_signing, 1);
		/* Built since it was looked at, the job may have seen no pay waiting: the loop
		 * wakes itself (see ga_prepare_job()). */
		if (atomic_load(&p->built))
			(void)eventfd_write(g->built_fd, 1);
		g->prepared_used++;
		return 1;
	}
	if (p) {
		if (ga_prepared_building(p))
			worker_wait(g->worker);
		c->method = p->method;
		*req = p->req;
		p->req = ALIPAY_REQUEST_INIT;
		r = p->r;
		g->prepared_used++;
		ga_prepared_free(p);
		return r;
	}
	return ga_build(g, call, &c->method, req);
}

/* Sends a call's request (r: how building it went); a call that cannot leave completes, with
 * nothing sent. c is freed by then when it completed. */
static int
ga_call_send(struct ga_call *c, struct alipay_request *req, int r)
{
	struct gateway_alipay *g = c->g;

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* Never sent: a definite failure (an invalid payment code, a config problem). */
		c->build_cls = r == -EINVAL ? ALIPAY_CLASS_FAILED : ALIPAY_CLASS_CONFIG;
		return sd_event_add_defer(g->event, &c->defer, ga_defer_cb, c);
	}
	struct http_request_spec spec = {
		.method = HTTP_METHOD_POST,
		.url = req->url,
		.body = req->body,
		.body_len = req->body_len,
		.content_type = req->content_type,
		.timeout_usec = g->cfg.timeout_usec,
		.connect_timeout_usec = g->cfg.connect_timeout_usec,
		/* doc/protocol.md §8: a pay must never be re-sent by the transport. */
		.no_reuse = c->kind == GATEWAY_CALL_PAY,
		/* doc/engine.md: a pay goes on the connection opened in advance, if there is one;
		 * the transport checks it before the first byte. */
		.preconn = TAKE_PTR(c->spare),
	};
	r = http_client_submit(g->http, &spec, ga_http_done, c, &c->req);
	if (r >= 0)
		g->sent[c->kind]++;
	return r;
}

/* ga_call_send() from the loop, for a pay whose request was built after its submit. */
static void
ga_call_start(struct ga_call *c, struct alipay_request *req, int r)
{
	struct http_response resp = {
		.outcome = HTTP_OUTCOME_NOT_DELIVERED,
		.error = "the request could not be made",
	};

	r = ga_call_send(c, req, r);
	if (r < 0) {
		log_error_errno(r, "%s: cannot send the request: %m",
				alipay_method_to_string(c->method));
		/* Nothing left: not delivered, a definite failure (ga_http_done()). */
		ga_http_done(NULL, &resp, c);
	}
}

static int
ga_submit(void *userdata, const struct gateway_call *call, gateway_done_t done, void *done_userdata,
	  void **ret_handle)
{
	struct gateway_alipay *g = userdata;
	struct alipay_request req = ALIPAY_REQUEST_INIT;
	struct ga_call *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct ga_call){.g = g, .kind = call->kind, .done = done, .userdata = done_userdata};
	c->next = g->calls;
	g->calls = c;

	r = ga_take_or_build(g, c, call, &req);
	/* A pay's connection opened in advance is its own from here, whatever comes before it
	 * leaves. */
	if (r >= 0 && call->kind == GATEWAY_CALL_PAY)
		c->spare = TAKE_PTR(g->spare);
	if (r == 0 || r < 0)
		r = ga_call_send(c, &req, r);
	alipay_request_done(&req);
	if (r < 0) {
		ga_call_free(c);
		return r;
	}
	*ret_handle = c;
	return 0;
}

static void
ga_cancel(void *userdata, void *handle)
{
	struct ga_call *c = handle;

	if (c->req)
		http_request_cancel(c->req);
	ga_call_free(c);
}

int
gateway_alipay_new(sd_event *event, struct http_client *http,
		   const struct gateway_alipay_config *cfg, struct gateway_alipay **ret)
{
	struct gateway_alipay *g;

	if (!event || !http || !cfg || !cfg->client)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->event = sd_event_ref(event);
	g->http = http;
	g->built_fd = -1;
	atomic_init(&g->n_signing, 0);
	g->cfg = *cfg;
	*ret = g;
	return 0;
}

void
gateway_alipay_free(struct gateway_alipay *g)
{
	if (!g)
		return;
	while (g->calls)
		ga_cancel(g, g->calls);
	ga_prepared_free(TAKE_PTR(g->prepared));
	while (g->signing) {
		struct ga_prepared *p = g->signing;

		g->signing = p->next;
		atomic_fetch_sub(&g->n_signing, 1);
		ga_prepared_free(p);
	}
	g->worker = worker_free(g->worker);
	sd_event_source_disable_unref(g->built_source);
	if (g->built_fd >= 0)
		close(g->built_fd);
	gateway_alipay_warm(g, false);
	sd_event_unref(g->event);
	free(g);
}

struct gateway
gateway_alipay_ops(struct gateway_alipay *g)
{
	return (struct gateway){
		.submit = ga_submit, .cancel = ga_cancel, .prepare = ga_prepare, .userdata = g};
}

unsigned
gateway_alipay_sent(const struct gateway_alipay *g, enum gateway_call_kind k)
{
	return (unsigned)k < _GATEWAY_CALL_MAX ? g->sent[k] : 0;
}

unsigned
gateway_alipay_prepared_used(const struct gateway_alipay *g)
{
	return g->prepared_used;
}
