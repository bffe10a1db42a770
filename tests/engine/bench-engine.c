/* SPDX-License-Identifier: MIT */
/* Benchmarks: one journaled transition; one immediate-success scan order against the sandbox. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/gateway-alipay.h"
#include "payment/http/http-sd-event.h"
#include "payment/keys.h"
#include "sandbox-proc.h"
#include "test.h"

static char dir[] = "/tmp/bench-engine-XXXXXX";
static char path[256];

static void
remove_journal(void)
{
	char p[300];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* The pure machine alone, then dispatch + write-ahead commit (synchronous=FULL). */
static void
bench_transition(unsigned n)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct order_config cfg;
	struct journal_order o;
	char existing[ORDER_ID_MAX + 1];
	static const struct order_result wait = {.cls = ALIPAY_CLASS_SUCCESS,
						 .trade_status = ORDER_TRADE_WAIT_BUYER_PAY};
	usec_t t0, t1, c0, c1, now = now_usec(CLOCK_REALTIME);
	uint64_t p0;

	order_config_init(&cfg);
	cfg.max_queries = UINT32_MAX;
	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_create(j, "BENCH", ORDER_KIND_SCAN, 100, "bench", NULL, NULL,
					  now, &o, existing),
		     0);
	o.fsm.state = ORDER_WAITING;
	o.fsm.queries_left = UINT32_MAX;

	t0 = now_usec(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < n * 100; i++) {
		struct order_actions act;
		enum order_event ev =
			o.fsm.state == ORDER_WAITING ? ORDER_EV_TIMER : ORDER_EV_QUERY_RESULT;
		CHECK_INT_EQ(order_dispatch(&o.fsm, &cfg, ev, &wait, now + i, &act), 0);
	}
	t1 = now_usec(CLOCK_MONOTONIC);
	printf("order_dispatch (pure): %.3f usec per transition (%u transitions)\n",
	       (double)(t1 - t0) / (n * 100), n * 100);

	c0 = now_usec(CLOCK_PROCESS_CPUTIME_ID);
	p0 = journal_prepare_count(j);
	t0 = now_usec(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < n; i++) {
		struct order_actions act;
		enum order_state from = o.fsm.state;
		enum order_event ev =
			o.fsm.state == ORDER_WAITING ? ORDER_EV_TIMER : ORDER_EV_QUERY_RESULT;
		CHECK_INT_EQ(order_dispatch(&o.fsm, &cfg, ev, &wait, now + i, &act), 0);
		o.pending = act.send;
		CHECK_INT_EQ(journal_order_save(j, &o, order_event_to_string(ev), from, now + i),
			     0);
	}
	t1 = now_usec(CLOCK_MONOTONIC);
	c1 = now_usec(CLOCK_PROCESS_CPUTIME_ID);
	printf("journaled transition (dispatch + WAL commit, synchronous=FULL): %.1f usec each, "
	       "%.1f usec CPU, %.2f statements compiled (%u transitions)\n",
	       (double)(t1 - t0) / n, (double)(c1 - c0) / n,
	       (double)(journal_prepare_count(j) - p0) / n, n);
}

static void
bench_scan_order(const char *sandbox_bin, const char *keys_dir, unsigned n)
{
	struct sandbox_proc sb;
	sd_event *ev;
	struct http_client *http;
	struct alipay_keys *keys;
	struct alipay_client_config client;
	struct gateway_alipay *ga;
	struct gateway_alipay_config gcfg = {};
	struct journal *j;
	struct engine *e;
	struct engine_config cfg = {.terminal = "BENCH"};
	struct gateway ops;
	char p[512];
	usec_t t0, t1;

	sandbox_proc_start(&sb, sandbox_bin, keys_dir, NULL);
	remove_journal();
	CHECK_INT_EQ(sd_event_new(&ev), 0);
	CHECK_INT_EQ(http_client_new_sd_event(ev, NULL, &http), 0);
	CHECK_INT_EQ(alipay_keys_new(&keys), 0);
	snprintf(p, sizeof(p), "%s/app-private.pem", keys_dir);
	CHECK_INT_EQ(alipay_keys_set_app_private_key_file(keys, p), 0);
	snprintf(p, sizeof(p), "%s/alipay-public.pem", keys_dir);
	CHECK_INT_EQ(alipay_keys_set_alipay_public_key_file(keys, p), 0);
	client = (struct alipay_client_config){
		.gateway_url = sb.gateway,
		.app_id = "2021000000000001",
		.sign_type = ALIPAY_SIGN_RSA2,
		.charset = ALIPAY_CHARSET_UTF8,
		.keys = keys,
	};
	gcfg.client = &client;
	CHECK_INT_EQ(gateway_alipay_new(ev, http, &gcfg, &ga), 0);
	CHECK_INT_EQ(journal_open(path, &j), 0);
	order_config_init(&cfg.fsm);
	ops = gateway_alipay_ops(ga);
	CHECK_INT_EQ(engine_new(ev, j, &cfg, &ops, &e), 0);
	CHECK_INT_EQ(engine_start(e), 0);

	t0 = now_usec(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < n; i++) {
		char id[ORDER_ID_MAX + 1], code[19];
		CHECK_INT_EQ(engine_order_new(e, ORDER_KIND_SCAN, 100, "bench",
					      test_paycode(code, '0'), NULL, id),
			     0);
		while (engine_active_count(e) > 0)
			CHECK(sd_event_run(ev, USEC_PER_SEC) >= 0);
		{
			struct journal_order o;
			CHECK_INT_EQ(engine_order_get(e, id, &o), 0);
			CHECK_INT_EQ(o.fsm.state, ORDER_PAID);
		}
	}
	t1 = now_usec(CLOCK_MONOTONIC);
	printf("immediate-success scan order against f2fpay-sandbox (create, journal, sign, pay, "
	       "verify, paid): %.2f ms each (%u orders, one at a time)\n",
	       (double)(t1 - t0) / n / 1000.0, n);

	engine_free(e);
	gateway_alipay_free(ga);
	http_client_free(http);
	journal_close(j);
	alipay_keys_free(keys);
	sd_event_unref(ev);
	sandbox_proc_stop(&sb);
}

int
main(int argc, char **argv)
{
	CHECK(argc == 3);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	log_set_max_level(LOG_WARNING);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	bench_transition(2000);
	bench_scan_order(argv[1], argv[2], 200);

	remove_journal();
	rmdir(dir);
	curl_global_cleanup();
	return 0;
}
