/* SPDX-License-Identifier: MIT */
/* The API layer over a fake in-memory order backend, for the integration tests of api and ctl. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "common/log.h"
#include "common/money.h"
#include "common/time-util.h"
#include "daemon/api.h"
#include "daemon/notify.h"

/*
 * Behaviour the tests steer through the request:
 *   subject "slow"   the create is answered 300 ms later (an order in flight)
 *   subject "stuck"  the create is answered an hour later (in flight at shutdown)
 *   subject "flood"  1000 events are broadcast at once (slow SSE clients overflow)
 *   auth_code ending in 0   the order is PAID at once; other codes: PAYING
 *   no auth_code (scan)     WAITING_SCAN; a second one while one waits gets 409
 *   subject "sync-fails"    the next two answers cannot be made durable (settle fails)
 *   reconciliation of 2000-01-01: 404 bill_not_available
 *   notifications: "success" when the body has trade_status=TRADE_SUCCESS and sign=good
 */

#define MAX_ORDERS 256

struct fake_order {
	char id[64];
	int64_t amount_fen, refunded_fen;
	char *subject, *pos_ref;
	int mode;
	const char *state;
	unsigned n_refunds;
	char refund_refs[8][72];
};

struct pending_create {
	struct fake *fake;
	struct api_call *call;
	struct api_order_request req;
};

struct fake {
	sd_event *event;
	struct api *api;
	struct notify *notify;
	struct fake_order orders[MAX_ORDERS];
	unsigned n_orders, creates, notifications, notify_ok;
	unsigned settle_failures;           /* the next answers whose settle fails */
	bool settled;                       /* a settle succeeded since the last status */
	struct pending_create *pending[16]; /* creates not answered yet */
	unsigned n_pending;
};

static void
pending_remove(struct fake *f, struct pending_create *p)
{
	for (unsigned i = 0; i < f->n_pending; i++)
		if (f->pending[i] == p) {
			f->pending[i] = f->pending[--f->n_pending];
			return;
		}
}

static struct json_object *
order_json(const struct fake_order *o)
{
	struct json_object *j = json_object_new_object();
	char amount[MONEY_BUF_SIZE], refunded[MONEY_BUF_SIZE];

	json_object_object_add(j, "id", json_object_new_string(o->id));
	json_object_object_add(j, "amount",
			       json_object_new_string(money_format(o->amount_fen, amount)));
	json_object_object_add(j, "refunded",
			       json_object_new_string(money_format(o->refunded_fen, refunded)));
	json_object_object_add(j, "subject", json_object_new_string(o->subject));
	json_object_object_add(j, "mode",
			       json_object_new_string(o->mode == API_ORDER_QR ? "qr" : "scan"));
	json_object_object_add(j, "state", json_object_new_string(o->state));
	if (o->pos_ref)
		json_object_object_add(j, "pos_ref", json_object_new_string(o->pos_ref));
	if (o->mode == API_ORDER_QR) {
		char qr[96];
		snprintf(qr, sizeof(qr), "https://qr.alipay.com/fake%s", o->id);
		json_object_object_add(j, "qr_code", json_object_new_string(qr));
	}
	return j;
}

static void
order_broadcast(struct fake *f, const struct fake_order *o)
{
	struct json_object *j = order_json(o);

	api_broadcast(f->api, "order", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
}

static struct fake_order *
order_find(struct fake *f, const char *id)
{
	for (unsigned i = 0; i < f->n_orders; i++)
		if (STR_EQ(f->orders[i].id, id))
			return &f->orders[i];
	return NULL;
}

static void
do_create(struct fake *f, struct api_call *call, const struct api_order_request *req)
{
	struct fake_order *o;

	f->creates++;
	if (req->mode == API_ORDER_SCAN && !req->auth_code)
		for (unsigned i = 0; i < f->n_orders; i++)
			if (STR_EQ(f->orders[i].state, "WAITING_SCAN")) {
				api_call_fail(call, 409, "scan_order_waiting",
					      "order %s is waiting for a scan", f->orders[i].id);
				return;
			}
	if (f->n_orders == MAX_ORDERS) {
		api_call_fail(call, 503, "busy", "too many orders");
		return;
	}
	if (req->subject && STR_EQ(req->subject, "sync-fails"))
		f->settle_failures = 2;
	o = &f->orders[f->n_orders++];
	snprintf(o->id, sizeof(o->id), "T01_20261126_%u", f->n_orders);
	o->amount_fen = req->amount_fen;
	o->subject = strdup(req->subject ? req->subject : "Example Store");
	o->pos_ref = req->pos_ref ? strdup(req->pos_ref) : NULL;
	o->mode = req->mode;
	if (req->mode == API_ORDER_QR)
		o->state = "SHOWING_QR";
	else if (!req->auth_code)
		o->state = "WAITING_SCAN";
	else if (req->auth_code[strlen(req->auth_code) - 1] == '0')
		o->state = "PAID";
	else
		o->state = "PAYING";
	order_broadcast(f, o);
	if (req->subject && STR_EQ(req->subject, "flood"))
		for (int i = 0; i < 1000; i++)
			api_broadcast(f->api, "scan", "{\"code\":\"6901234567892\"}");
	api_call_reply(call, 201, order_json(o));
}

static int
on_slow_create(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pending_create *p = userdata;

	pending_remove(p->fake, p);
	do_create(p->fake, p->call, &p->req);
	api_order_request_done(&p->req);
	free(p);
	sd_event_source_unref(s);
	return 0;
}

static void
fake_order_create(void *userdata, struct api_call *call, const struct api_order_request *req)
{
	struct fake *f = userdata;

	if (req->subject && (STR_EQ(req->subject, "slow") || STR_EQ(req->subject, "stuck"))) {
		struct pending_create *p = f->n_pending < 16 ? calloc(1, sizeof(*p)) : NULL;
		if (!p) {
			api_call_fail(call, 500, "internal", "out of memory");
			return;
		}
		p->fake = f;
		p->call = call;
		p->req = *req;
		p->req.subject = strdup(req->subject);
		p->req.auth_code = req->auth_code ? strdup(req->auth_code) : NULL;
		p->req.pos_ref = req->pos_ref ? strdup(req->pos_ref) : NULL;
		f->pending[f->n_pending++] = p;
		sd_event_add_time_relative(f->event, NULL, CLOCK_MONOTONIC,
					   STR_EQ(req->subject, "slow") ? 300 * 1000
									: UINT64_C(3600000000),
					   0, on_slow_create, p);
		return;
	}
	do_create(f, call, req);
}

static void
fake_order_get(void *userdata, struct api_call *call, const char *id)
{
	struct fake_order *o = order_find(userdata, id);

	if (!o)
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
	else
		api_call_reply(call, 200, order_json(o));
}

static void
fake_order_list(void *userdata, struct api_call *call, const struct api_order_query *q)
{
	struct fake *f = userdata;
	struct json_object *arr = json_object_new_array(), *o = json_object_new_object();
	time_t day = 0;

	/* Every fake order was made on 2026-11-26 (Beijing time). */
	(void)beijing_parse_date("2026-11-26", &day);
	for (unsigned i = 0; i < f->n_orders; i++) {
		if (q->state && !STR_EQ(q->state, f->orders[i].state))
			continue;
		if (q->from_usec && q->from_usec != (uint64_t)day * USEC_PER_SEC)
			continue;
		json_object_array_add(arr, order_json(&f->orders[i]));
	}
	json_object_object_add(o, "orders", arr);
	api_call_reply(call, 200, o);
}

static void
fake_order_cancel(void *userdata, struct api_call *call, const char *id)
{
	struct fake *f = userdata;
	struct fake_order *o = order_find(f, id);

	if (!o) {
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	}
	if (STR_EQ(o->state, "PAID") || STR_EQ(o->state, "CANCELED")) {
		api_call_fail(call, 409, "not_cancelable", "order %s is %s", id, o->state);
		return;
	}
	o->state = "CANCELED";
	order_broadcast(f, o);
	api_call_reply(call, 202, order_json(o));
}

static void
fake_order_refund(void *userdata, struct api_call *call, const char *id,
		  const struct api_refund_request *req, const char *ref)
{
	struct fake *f = userdata;
	struct fake_order *o = order_find(f, id);
	struct json_object *j;
	char amount[MONEY_BUF_SIZE], rid[96];

	if (!o) {
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	}
	if (!STR_EQ(o->state, "PAID")) {
		api_call_fail(call, 409, "not_refundable", "order %s is %s", id, o->state);
		return;
	}
	for (unsigned i = 0; ref && i < o->n_refunds; i++)
		if (STR_EQ(o->refund_refs[i], ref)) {
			snprintf(rid, sizeof(rid), "%s_r%u", o->id, i + 1);
			goto answer;
		}
	if (req->amount_fen > o->amount_fen - o->refunded_fen) {
		api_call_fail(call, 409, "refund_exceeds_paid", "at most %s can be refunded",
			      money_format(o->amount_fen - o->refunded_fen, amount));
		return;
	}
	if (o->n_refunds == 8) {
		api_call_fail(call, 409, "too_many_refunds", "too many refunds");
		return;
	}
	snprintf(o->refund_refs[o->n_refunds], sizeof(o->refund_refs[0]), "%s", ref ? ref : "");
	o->n_refunds++;
	o->refunded_fen += req->amount_fen;
	snprintf(rid, sizeof(rid), "%s_r%u", o->id, o->n_refunds);
answer:
	j = json_object_new_object();
	json_object_object_add(j, "id", json_object_new_string(rid));
	json_object_object_add(j, "order_id", json_object_new_string(o->id));
	json_object_object_add(j, "amount",
			       json_object_new_string(money_format(req->amount_fen, amount)));
	json_object_object_add(j, "state", json_object_new_string("REFUNDED"));
	if (req->reason)
		json_object_object_add(j, "reason", json_object_new_string(req->reason));
	api_call_reply(call, 201, j);
}

static void
fake_status(void *userdata, struct api_call *call)
{
	struct fake *f = userdata;
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "version", json_object_new_string(F2FPAY_VERSION));
	json_object_object_add(j, "gateway", json_object_new_string("reachable"));
	json_object_object_add(j, "creates", json_object_new_int((int)f->creates));
	json_object_object_add(j, "orders", json_object_new_int((int)f->n_orders));
	json_object_object_add(j, "sse_clients", json_object_new_int((int)api_sse_clients(f->api)));
	json_object_object_add(j, "attention", json_object_new_array());
	json_object_object_add(j, "notifications", json_object_new_int((int)f->notifications));
	json_object_object_add(j, "notify_ok", json_object_new_int((int)f->notify_ok));
	json_object_object_add(j, "pending", json_object_new_int((int)f->n_pending));
	/* Whether what it says was settled before it was made (since the last status left). */
	json_object_object_add(j, "settled", json_object_new_boolean(f->settled));
	api_call_reply(call, 200, j);
	f->settled = false;
}

static void
fake_reconciliation(void *userdata, struct api_call *call, const char *date)
{
	struct fake *f = userdata;
	struct json_object *j, *rows;

	if (STR_EQ(date, "2000-01-01")) {
		api_call_fail(call, 404, "bill_not_available", "no bill for %s", date);
		return;
	}
	j = json_object_new_object();
	rows = json_object_new_array();
	for (unsigned i = 0; i < f->n_orders; i++) {
		struct json_object *r = json_object_new_object();
		char amount[MONEY_BUF_SIZE];
		json_object_object_add(r, "out_trade_no", json_object_new_string(f->orders[i].id));
		json_object_object_add(
			r, "amount",
			json_object_new_string(money_format(f->orders[i].amount_fen, amount)));
		json_object_object_add(r, "local_state",
				       json_object_new_string(f->orders[i].state));
		json_object_object_add(r, "alipay_state", json_object_new_string("TRADE_SUCCESS"));
		json_object_object_add(r, "match", json_object_new_boolean(1));
		json_object_array_add(rows, r);
	}
	json_object_object_add(j, "date", json_object_new_string(date));
	json_object_object_add(j, "state", json_object_new_string("matched"));
	json_object_object_add(j, "rows", rows);
	api_call_reply(call, 200, j);
}

static enum notify_verdict
fake_notify(void *userdata, const char *content_type, const char *body, size_t len)
{
	struct fake *f = userdata;
	bool ok = strstr(body, "trade_status=TRADE_SUCCESS") && strstr(body, "sign=good") &&
		  content_type &&
		  strncmp(content_type, "application/x-www-form-urlencoded", 33) == 0;

	f->notifications++;
	f->notify_ok += ok;
	if (strstr(body, "sign=forged"))
		return NOTIFY_FORGED;
	return ok ? NOTIFY_ACCEPTED : NOTIFY_REFUSED;
}

static int
fake_settle(void *userdata)
{
	struct fake *f = userdata;

	if (f->settle_failures == 0) {
		f->settled = true;
		return 0;
	}
	f->settle_failures--;
	return -EIO;
}

static const struct api_backend fake_backend = {
	.order_create = fake_order_create,
	.order_get = fake_order_get,
	.order_list = fake_order_list,
	.order_cancel = fake_order_cancel,
	.order_refund = fake_order_refund,
	.status = fake_status,
	.reconciliation = fake_reconciliation,
	.settle = fake_settle,
};

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"socket", required_argument, NULL, 's'},
		{"tcp", required_argument, NULL, 't'},
		{"token", required_argument, NULL, 'k'},
		{"body-limit", required_argument, NULL, 'b'},
		{"max-connections", required_argument, NULL, 'c'},
		{"max-sse", required_argument, NULL, 'e'},
		{"sse-queue", required_argument, NULL, 'q'},
		{"notify", required_argument, NULL, 'n'},
		{},
	};
	struct api_options opts;
	struct notify_options nopts = {
		.path = "/alipay/notify", .body_limit = 2048, .max_connections = 4};
	struct fake f = {};
	sigset_t ss;
	int c, r;

	api_options_init(&opts);
	opts.socket_path = NULL;
	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			opts.socket_path = optarg;
			break;
		case 't':
			opts.tcp_listen = optarg;
			break;
		case 'k':
			opts.token = optarg;
			break;
		case 'b':
			opts.body_limit = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			opts.max_connections = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			opts.max_sse_clients = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'q':
			opts.sse_queue_limit = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			nopts.listen = optarg;
			break;
		default:
			return 2;
		}
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = sd_event_default(&f.event);
	if (r < 0)
		return 1;
	sd_event_add_signal(f.event, NULL, SIGTERM, NULL, NULL);
	sd_event_add_signal(f.event, NULL, SIGINT, NULL, NULL);
	r = api_new(&f.api, f.event, &opts, &fake_backend, &f);
	if (r < 0)
		return 1;
	if (nopts.listen && notify_new(&f.notify, f.event, &nopts, fake_notify, &f) < 0)
		return 1;
	printf("READY %u %u\n", api_tcp_port(f.api), f.notify ? notify_port(f.notify) : 0);
	fflush(stdout);
	r = sd_event_loop(f.event);
	notify_free(f.notify);
	api_free(f.api);
	/* Calls still held after api_free() are detached: answering them only frees them. */
	while (f.n_pending > 0) {
		struct pending_create *p = f.pending[--f.n_pending];
		api_call_fail(p->call, 503, "shutting_down", "stopped");
		api_order_request_done(&p->req);
		free(p);
	}
	for (unsigned i = 0; i < f.n_orders; i++) {
		free(f.orders[i].subject);
		free(f.orders[i].pos_ref);
	}
	sd_event_unref(f.event);
	return r < 0 ? 1 : 0;
}
