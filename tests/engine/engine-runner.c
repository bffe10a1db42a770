/* SPDX-License-Identifier: MIT */
/* Runs a script of orders through the engine against a gateway; may be SIGKILLed and rerun. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/log.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/gateway-alipay.h"
#include "payment/http/http-sd-event.h"
#include "payment/keys.h"

/*
 * Usage: engine-runner GATEWAY_URL KEYS_DIR JOURNAL SCRIPT
 * Script lines (the order of line N has pos_ref "L<N>", so a rerun never duplicates it):
 *   scan FEN AUTH_CODE      a scan order
 *   qr FEN pay|expire       a QR order the buyer pays at once, or never scans
 *   refund LINE FEN         once the order of LINE is final: refund FEN of it
 *   abort LINE              abort the order of LINE once its pay answer is unknown (a cancel
 *                           then meets whatever the pay did: scenario 5 → refunded by cancel)
 * Every order is created (or found again), the loop runs until nothing is active, then the
 * refunds go out and the loop runs again. Exit 0 when everything is final; F2FPAY_CRASH_AT
 * kills it at that write-ahead point (engine.h). Tests run it again and again on one journal.
 */

#define LINES_MAX 1024

struct line {
	char kind[8];
	int64_t fen;
	char arg[32];
	unsigned ref; /* refund, abort: the line of its order */
	bool abort_on_unknown;
	char id[ORDER_ID_MAX + 1];
};

struct runner {
	struct line lines[LINES_MAX];
	unsigned n;
	char base_url[256];
	sd_event *event;
	struct engine *engine;
};

static void
scan_qr(struct runner *rn, const char *qr)
{
	char url[320], body[512];
	CURL *c = curl_easy_init();

	if (!c)
		return;
	snprintf(url, sizeof(url), "%s/sim/scan-qr", rn->base_url);
	snprintf(body, sizeof(body), "{\"qr_code\":\"%s\",\"pay\":true}", qr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* The buyer scans; the answer does not matter (a rerun may scan twice). */
	(void)curl_easy_perform(c);
	curl_easy_cleanup(c);
}

static struct engine *abort_engine;

static int
abort_cb(sd_event_source *s, void *userdata)
{
	const struct line *l = userdata;

	(void)engine_order_abort(abort_engine, l->id);
	return 0;
}

static void
observer(const struct engine_transition *t, void *userdata)
{
	struct runner *rn = userdata;

	if (t->refund)
		return;
	if (t->order->fsm.state == ORDER_UNKNOWN)
		for (unsigned i = 0; i < rn->n; i++)
			if (STR_EQ(rn->lines[i].id, t->order->fsm.id) &&
			    rn->lines[i].abort_on_unknown)
				/* Not from inside the engine's callback: on the next loop turn,
				 * before the query just sent can be answered. */
				(void)sd_event_add_defer(rn->event, NULL, abort_cb, &rn->lines[i]);
	if (t->order->fsm.state != ORDER_SHOWING_QR)
		return;
	for (unsigned i = 0; i < rn->n; i++)
		if (STR_EQ(rn->lines[i].id, t->order->fsm.id) && STR_EQ(rn->lines[i].kind, "qr") &&
		    STR_EQ(rn->lines[i].arg, "pay"))
			scan_qr(rn, t->order->qr_code);
}

static int
script_load(struct runner *rn, const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return log_error_errno(errno, "Failed to open %s: %m", path);
	while (fgets(buf, sizeof(buf), f) && rn->n < LINES_MAX) {
		struct line *l = &rn->lines[rn->n];
		char a[32] = "", b[32] = "", c[32] = "";

		if (sscanf(buf, "%7s %31s %31s", a, b, c) < 2)
			continue;
		snprintf(l->kind, sizeof(l->kind), "%s", a);
		if (STR_EQ(a, "refund") || STR_EQ(a, "abort")) {
			l->ref = (unsigned)strtoul(b, NULL, 10);
			l->fen = strtoll(c, NULL, 10);
		} else {
			l->fen = strtoll(b, NULL, 10);
			snprintf(l->arg, sizeof(l->arg), "%s", c);
		}
		rn->n++;
	}
	fclose(f);
	for (unsigned i = 0; i < rn->n; i++)
		if (STR_EQ(rn->lines[i].kind, "abort") && rn->lines[i].ref >= 1 &&
		    rn->lines[i].ref <= rn->n)
			rn->lines[rn->lines[i].ref - 1].abort_on_unknown = true;
	return 0;
}

static int
run_loop(sd_event *ev, struct engine *e)
{
	while (engine_active_count(e) > 0) {
		int r = sd_event_run(ev, 500 * USEC_PER_MSEC);
		if (r < 0)
			return r;
	}
	return 0;
}

struct count_ctx {
	const char *order_id;
	unsigned n;
};

static int
count_refunds(const struct journal_refund *r, void *userdata)
{
	struct count_ctx *c = userdata;
	if (STR_EQ(r->order_id, c->order_id))
		c->n++;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct runner rn;
	sd_event *ev = NULL;
	struct http_client *http = NULL;
	struct alipay_keys *keys = NULL;
	struct gateway_alipay *ga = NULL;
	struct journal *j = NULL;
	struct engine_config cfg = {.terminal = "CRASH1"};
	struct gateway_alipay_config gcfg = {.timeout_usec = 500 * USEC_PER_MSEC};
	struct alipay_client_config client;
	struct gateway ops;
	char p[512], gateway[300];
	int r;

	if (argc != 5) {
		fprintf(stderr, "Usage: %s GATEWAY_URL KEYS_DIR JOURNAL SCRIPT\n", argv[0]);
		return 2;
	}
	log_set_max_level(LOG_WARNING);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(rn.base_url, sizeof(rn.base_url), "%s", argv[1]);
	snprintf(gateway, sizeof(gateway), "%s/gateway.do", argv[1]);
	if (script_load(&rn, argv[4]) < 0)
		return 2;
	if (journal_open(argv[3], &j) < 0)
		return 3;
	if (sd_event_new(&ev) < 0 || http_client_new_sd_event(ev, NULL, &http) < 0 ||
	    alipay_keys_new(&keys) < 0)
		return 2;
	snprintf(p, sizeof(p), "%s/app-private.pem", argv[2]);
	if (alipay_keys_set_app_private_key_file(keys, p) < 0)
		return 2;
	snprintf(p, sizeof(p), "%s/alipay-public.pem", argv[2]);
	if (alipay_keys_set_alipay_public_key_file(keys, p) < 0)
		return 2;
	client = (struct alipay_client_config){
		.gateway_url = gateway,
		.app_id = "2021000000000001",
		.sign_type = ALIPAY_SIGN_RSA2,
		.charset = ALIPAY_CHARSET_UTF8,
		.keys = keys,
	};
	gcfg.client = &client;
	if (gateway_alipay_new(ev, http, &gcfg, &ga) < 0)
		return 2;
	order_config_init(&cfg.fsm);
	cfg.fsm.query_interval_usec = 50 * USEC_PER_MSEC;
	cfg.fsm.max_queries = 6;
	cfg.fsm.cancel_interval_usec = 50 * USEC_PER_MSEC;
	cfg.fsm.attention_initial_usec = 100 * USEC_PER_MSEC;
	cfg.fsm.attention_max_usec = 1 * USEC_PER_SEC;
	cfg.fsm.qr_timeout_usec = 800 * USEC_PER_MSEC;
	cfg.fsm.qr_poll_interval_usec = 50 * USEC_PER_MSEC;
	cfg.fsm.refund_retry_usec = 50 * USEC_PER_MSEC;
	cfg.fsm.refund_retry_max_usec = 1 * USEC_PER_SEC;
	ops = gateway_alipay_ops(ga);
	rn.event = ev;
	if (engine_new(ev, j, &cfg, &ops, &rn.engine) < 0 ||
	    engine_subscribe(rn.engine, observer, &rn, NULL) < 0)
		return 2;
	abort_engine = rn.engine;
	/* Recovery first, then the script's orders (found again by pos_ref after a crash). */
	r = engine_start(rn.engine);
	if (r < 0)
		return 4;
	for (unsigned i = 0; i < rn.n; i++) {
		struct line *l = &rn.lines[i];
		char pos_ref[16];

		if (STR_EQ(l->kind, "refund") || STR_EQ(l->kind, "abort"))
			continue;
		snprintf(pos_ref, sizeof(pos_ref), "L%u", i + 1);
		r = engine_order_new(
			rn.engine, STR_EQ(l->kind, "qr") ? ORDER_KIND_QR : ORDER_KIND_SCAN, l->fen,
			"crash test", STR_EQ(l->kind, "scan") ? l->arg : NULL, pos_ref, l->id);
		if (r < 0)
			return 5;
	}
	if (run_loop(ev, rn.engine) < 0)
		return 6;

	/* Refunds: the k-th refund line of an order is skipped if the order already has k. */
	for (unsigned i = 0; i < rn.n; i++) {
		struct line *l = &rn.lines[i];
		struct count_ctx cc;
		unsigned k = 0;
		char rid[REFUND_ID_MAX + 1];

		if (!STR_EQ(l->kind, "refund") || l->ref < 1 || l->ref > rn.n ||
		    isempty(rn.lines[l->ref - 1].id))
			continue;
		for (unsigned m = 0; m <= i; m++)
			if (STR_EQ(rn.lines[m].kind, "refund") && rn.lines[m].ref == l->ref)
				k++;
		cc = (struct count_ctx){.order_id = rn.lines[l->ref - 1].id};
		if (journal_refund_foreach(j, false, count_refunds, &cc) < 0)
			return 7;
		if (cc.n >= k)
			continue;
		r = engine_refund_new(rn.engine, cc.order_id, l->fen, "crash test", rid);
		if (r < 0 && r != -EPERM && r != -EOVERFLOW)
			return 8;
	}
	if (run_loop(ev, rn.engine) < 0)
		return 6;

	printf("done: %" PRIu64 " write-ahead points\n", engine_write_ahead_points(rn.engine));
	engine_free(rn.engine);
	gateway_alipay_free(ga);
	http_client_free(http);
	alipay_keys_free(keys);
	journal_close(j);
	sd_event_unref(ev);
	curl_global_cleanup();
	return 0;
}
