/* SPDX-License-Identifier: MIT */
/* Reconciliation end to end: orders through the engine and f2fpay-sandbox, then its bill. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/api.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/gateway-alipay.h"
#include "daemon/reconcile/reconcile.h"
#include "payment/http/http-sd-event.h"
#include "payment/keys.h"
#include "sandbox-proc.h"
#include "test.h"

static const char *sandbox_bin, *keys_dir;
static char dir[] = "/tmp/test-reconcile-sandbox-XXXXXX";

struct term {
	struct gateway_alipay *ga;
	struct journal *journal;
	struct engine *engine;
	char path[256];
};

struct ctx {
	struct sandbox_proc sb;
	sd_event *event;
	struct http_client *http;
	struct alipay_keys *keys;
	struct alipay_client_config client;
};

static void
ctx_init(struct ctx *c, const char *const *extra)
{
	char p[512];

	*c = (struct ctx){};
	sandbox_proc_start(&c->sb, sandbox_bin, keys_dir, extra);
	CHECK_INT_EQ(sd_event_new(&c->event), 0);
	CHECK_INT_EQ(http_client_new_sd_event(c->event, NULL, &c->http), 0);
	CHECK_INT_EQ(alipay_keys_new(&c->keys), 0);
	snprintf(p, sizeof(p), "%s/app-private.pem", keys_dir);
	CHECK_INT_EQ(alipay_keys_set_app_private_key_file(c->keys, p), 0);
	snprintf(p, sizeof(p), "%s/alipay-public.pem", keys_dir);
	CHECK_INT_EQ(alipay_keys_set_alipay_public_key_file(c->keys, p), 0);
	c->client = (struct alipay_client_config){
		.gateway_url = c->sb.gateway,
		.app_id = "2021000000000001",
		.sign_type = ALIPAY_SIGN_RSA2,
		.charset = ALIPAY_CHARSET_UTF8,
		.keys = c->keys,
	};
}

static void
ctx_done(struct ctx *c)
{
	http_client_free(c->http);
	alipay_keys_free(c->keys);
	sd_event_unref(c->event);
	sandbox_proc_stop(&c->sb);
}

/* An engine for `terminal` with its own journal; `skip` out_trade_nos are used up first. */
static void
term_init(struct ctx *c, struct term *t, const char *name, const char *terminal, unsigned skip)
{
	struct gateway_alipay_config gcfg = {.client = &c->client,
					     .timeout_usec = 2 * USEC_PER_SEC};
	struct engine_config cfg = {.terminal = terminal};
	struct gateway ops;

	snprintf(t->path, sizeof(t->path), "%s/%s.db", dir, name);
	CHECK_INT_EQ(gateway_alipay_new(c->event, c->http, &gcfg, &t->ga), 0);
	CHECK_INT_EQ(journal_open(t->path, &t->journal), 0);
	for (unsigned i = 0; i < skip; i++) {
		char id[ORDER_ID_MAX + 1];
		CHECK_INT_EQ(journal_allocate_out_trade_no(t->journal, terminal, time(NULL), id),
			     0);
	}
	order_config_init(&cfg.fsm);
	cfg.fsm.query_interval_usec = 50 * USEC_PER_MSEC;
	cfg.fsm.max_queries = 2;
	cfg.fsm.cancel_interval_usec = 50 * USEC_PER_MSEC;
	cfg.fsm.refund_retry_usec = 50 * USEC_PER_MSEC;
	ops = gateway_alipay_ops(t->ga);
	CHECK_INT_EQ(engine_new(c->event, t->journal, &cfg, &ops, &t->engine), 0);
	CHECK_INT_EQ(engine_start(t->engine), 0);
}

static void
term_done(struct term *t)
{
	engine_free(t->engine);
	gateway_alipay_free(t->ga);
	journal_close(t->journal);
}

static void
run_idle(struct ctx *c, struct term *const *terms, size_t n)
{
	for (unsigned i = 0;; i++) {
		unsigned active = 0;
		for (size_t k = 0; k < n; k++)
			active += engine_active_count(terms[k]->engine);
		if (active == 0)
			return;
		CHECK(i < 100000);
		CHECK(sd_event_run(c->event, 200 * USEC_PER_MSEC) >= 0);
	}
}

static void
pay(struct term *t, int64_t fen, char digit, char id[static ORDER_ID_MAX + 1])
{
	char code[19];

	CHECK_INT_EQ(engine_order_new(t->engine, ORDER_KIND_SCAN, fen, "tea",
				      test_paycode(code, digit), NULL, id),
		     0);
}

struct outcome {
	bool done;
	int err;
	char message[512];
	struct json_object *report;
};

static void
on_done(int err, const char *message, struct json_object *report, void *userdata)
{
	struct outcome *o = userdata;

	o->done = true;
	o->err = err;
	snprintf(o->message, sizeof(o->message), "%s", message);
	o->report = report ? json_object_get(report) : NULL;
}

static void
run_reconcile(struct ctx *c, struct reconcile *r, const char *date, struct outcome *o)
{
	*o = (struct outcome){};
	CHECK_INT_EQ(reconcile_run(r, date, on_done, o), 0);
	CHECK(!o->done); /* never from inside reconcile_run() */
	for (unsigned i = 0; !o->done; i++) {
		CHECK(i < 100000);
		CHECK(sd_event_run(c->event, 200 * USEC_PER_MSEC) >= 0);
	}
}

static const char *
str(struct json_object *o, const char *key)
{
	struct json_object *v;
	CHECK(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static int64_t
num(struct json_object *o, const char *key)
{
	struct json_object *s, *v;
	CHECK(json_object_object_get_ex(o, "summary", &s));
	CHECK(json_object_object_get_ex(s, key, &v));
	return json_object_get_int64(v);
}

/* The status of the row (type, out_trade_no, out_request_no) in list; NULL when absent. */
static const char *
row_status(struct json_object *report, const char *list, const char *type, const char *id,
	   const char *req)
{
	struct json_object *rows;
	CHECK(json_object_object_get_ex(report, list, &rows));
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		if (STR_EQ(str(r, "type"), type) && STR_EQ(str(r, "out_trade_no"), id) &&
		    STR_EQ(str(r, "out_request_no"), req))
			return str(r, "status");
	}
	return NULL;
}

struct got {
	bool done;
	long status;
	struct json_object *json;
};

static void
on_http(struct http_request *req, struct http_response *resp, void *userdata)
{
	struct got *g = userdata;

	g->done = true;
	g->status = resp->outcome == HTTP_OUTCOME_OK ? resp->status : -1;
	g->json = resp->body ? json_tokener_parse(resp->body) : NULL;
}

/* GET /v1/reconciliation/DATE over the API's TCP listener, with the event loop running. */
static long
api_get(struct ctx *c, unsigned port, const char *date, struct json_object **ret)
{
	static const char *const headers[] = {"Authorization: Bearer secret", NULL};
	char url[128];
	struct got g = {};
	struct http_request_spec spec = {.method = HTTP_METHOD_GET, .url = url, .headers = headers};

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/reconciliation/%s", port, date);
	CHECK_INT_EQ(http_client_submit(c->http, &spec, on_http, &g, NULL), 0);
	for (unsigned i = 0; !g.done; i++) {
		CHECK(i < 100000);
		CHECK(sd_event_run(c->event, 200 * USEC_PER_MSEC) >= 0);
	}
	CHECK(g.json);
	*ret = g.json;
	return g.status;
}

/* The local API answers from the stored report, runs a missing past day, refuses tomorrow. */
static void
check_api(struct ctx *c, struct reconcile *r, const char *date)
{
	const struct api_backend backend = {.reconciliation = reconcile_api_get};
	struct api_options opts;
	struct json_object *j = NULL, *stored = NULL, *e;
	char tomorrow[BEIJING_DATE_BUF];
	struct api *api;

	api_options_init(&opts);
	opts.socket_path = NULL;
	opts.tcp_listen = "127.0.0.1:0";
	opts.token = "secret";
	CHECK_INT_EQ(api_new(&api, c->event, &opts, &backend, r), 0);

	CHECK_INT_EQ(api_get(c, api_tcp_port(api), date, &j), 200);
	CHECK_INT_EQ(reconcile_report_load(r, date, &stored), 0);
	CHECK(json_object_equal(j, stored));
	json_object_put(j);
	json_object_put(stored);

	CHECK_INT_EQ(api_get(c, api_tcp_port(api), "2020-01-02", &j), 200);
	CHECK_STR_EQ(str(j, "state"), "ok");
	json_object_put(j);

	beijing_format_date(time(NULL) + 86400, 1, tomorrow);
	CHECK_INT_EQ(api_get(c, api_tcp_port(api), tomorrow, &j), 404);
	CHECK(json_object_object_get_ex(j, "error", &e));
	CHECK_STR_EQ(str(e, "code"), "bill_not_available");
	json_object_put(j);
	api_free(api);
}

static size_t
files_in(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	CHECK(d);
	while ((de = readdir(d)))
		if (!STR_EQ(de->d_name, ".") && !STR_EQ(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * The scheduler: with the daily time at 00:00 and yesterday's report missing, it catches up at
 * once. Before 10:00 UTC+8 Alipay may not have published yesterday's bill: the run is "not
 * available" and retried (max_attempts 2); afterwards the empty day is stored at once.
 */
static void
check_schedule(struct ctx *c, struct journal *journal)
{
	char state_dir[300], path[400], date[BEIJING_DATE_BUF];
	long into_day = (long)((time(NULL) + BEIJING_OFFSET_SEC) % 86400);
	bool published = into_day >= 10 * 3600;
	struct reconcile_config cfg;
	struct json_object *o = NULL;
	struct reconcile *r;

	if (labs(into_day - 10 * 3600) < 120) {
		fprintf(stderr, "schedule check skipped: too close to 10:00 UTC+8\n");
		return;
	}
	snprintf(state_dir, sizeof(state_dir), "%s/state-s", dir);
	CHECK_INT_EQ(mkdir(state_dir, 0750), 0);
	reconcile_config_init(&cfg);
	cfg.state_dir = state_dir;
	cfg.terminal = "POS1";
	cfg.client = &c->client;
	cfg.schedule_minute = 0;
	cfg.catchup_delay_usec = 0;
	cfg.retry_usec = 50 * USEC_PER_MSEC;
	cfg.max_attempts = 2;
	CHECK_INT_EQ(reconcile_new(c->event, c->http, journal, &cfg, &r), 0);
	for (unsigned i = 0; reconcile_runs_finished(r) < (published ? 1u : 2u); i++) {
		CHECK(i < 100000);
		CHECK(sd_event_run(c->event, 200 * USEC_PER_MSEC) >= 0);
	}
	/* Then nothing more today: the next run is tomorrow. */
	for (unsigned i = 0; i < 5; i++)
		CHECK(sd_event_run(c->event, 100 * USEC_PER_MSEC) >= 0);
	CHECK_INT_EQ(reconcile_runs_finished(r), published ? 1 : 2);
	beijing_format_date(time(NULL) - 86400, 1, date);
	snprintf(path, sizeof(path), "%s/reconciliation", state_dir);
	CHECK_INT_EQ(files_in(path), published ? 1 : 0);
	CHECK_INT_EQ(reconcile_report_load(r, date, &o), published ? 0 : -ENOENT);
	json_object_put(o);
	reconcile_free(r);
}

static void
today(char buf[static BEIJING_DATE_BUF])
{
	beijing_format_date(time(NULL), 1, buf);
}

static void
test_day(void)
{
	char paid[ORDER_ID_MAX + 1], part[ORDER_ID_MAX + 1], full[ORDER_ID_MAX + 1],
		failed[ORDER_ID_MAX + 1], canceled[ORDER_ID_MAX + 1], unknown[ORDER_ID_MAX + 1],
		other[ORDER_ID_MAX + 1], stray[ORDER_ID_MAX + 1], ghost[ORDER_ID_MAX + 1],
		r1[REFUND_ID_MAX + 1], r2[REFUND_ID_MAX + 1], date[BEIJING_DATE_BUF],
		state_dir[300], path[400], existing[ORDER_ID_MAX + 1], tomorrow[BEIJING_DATE_BUF];
	struct term a, b, s;
	struct reconcile_config cfg;
	struct reconcile *r;
	struct outcome o;
	struct journal_order jo;
	struct json_object *stored = NULL, *status;
	struct ctx c;
	struct stat st;

	ctx_init(&c, NULL);
	term_init(&c, &a, "a", "POS1", 0);
	term_init(&c, &b, "b", "POS2", 0);
	/* Another till also named POS1: its own journal, so another install id in its numbers. */
	term_init(&c, &s, "s", "POS1", 50);
	today(date);

	pay(&a, 1000, '0', paid);
	pay(&a, 2000, '0', part);
	pay(&a, 3000, '0', full);
	pay(&a, 400, '3', failed);   /* balance not enough */
	pay(&a, 500, '2', canceled); /* never confirmed: queried, then cancelled */
	pay(&a, 600, '5', unknown);  /* 20000, then found paid by the query */
	pay(&b, 700, '0', other);
	pay(&s, 800, '0', stray);
	run_idle(&c, (struct term *[]){&a, &b, &s}, 3);
	CHECK_INT_EQ(engine_refund_new(a.engine, part, 500, "partial", r1), 0);
	CHECK_INT_EQ(engine_refund_new(a.engine, full, 3000, "full", r2), 0);
	run_idle(&c, (struct term *[]){&a, &b, &s}, 3);
	CHECK_INT_EQ(engine_order_get(a.engine, unknown, &jo), 0);
	CHECK_INT_EQ(jo.fsm.state, ORDER_PAID);
	CHECK_INT_EQ(engine_order_get(a.engine, canceled, &jo), 0);
	CHECK_INT_EQ(jo.fsm.state, ORDER_CANCELED);

	/* A paid order the gateway never saw: the journal has it, the bill will not. */
	CHECK_INT_EQ(journal_order_create(a.journal, "POS1", ORDER_KIND_SCAN, 900, "ghost", NULL,
					  NULL, now_usec(CLOCK_REALTIME), &jo, existing),
		     0);
	jo.fsm.state = ORDER_PAID;
	jo.fsm.state_since_usec = now_usec(CLOCK_REALTIME);
	CHECK_INT_EQ(journal_order_save(a.journal, &jo, "test", ORDER_NEW, jo.fsm.state_since_usec),
		     0);
	snprintf(ghost, sizeof(ghost), "%s", jo.fsm.id);

	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	CHECK_INT_EQ(mkdir(state_dir, 0750), 0);
	reconcile_config_init(&cfg);
	cfg.state_dir = state_dir;
	cfg.terminal = "POS1";
	cfg.client = &c.client;
	cfg.schedule = false;
	cfg.allow_today = true;
	CHECK_INT_EQ(reconcile_new(c.event, c.http, a.journal, &cfg, &r), 0);

	run_reconcile(&c, r, date, &o);
	CHECK_INT_EQ(o.err, 0);
	fprintf(stderr, "%s\n", json_object_to_json_string_ext(o.report, JSON_C_TO_STRING_PRETTY));
	CHECK_STR_EQ(str(o.report, "state"), "discrepancies");
	CHECK_INT_EQ(num(o.report, "matched"), 6);
	CHECK_INT_EQ(num(o.report, "bill_only"), 0);
	CHECK_INT_EQ(num(o.report, "journal_only"), 1);
	CHECK_INT_EQ(num(o.report, "amount_mismatch"), 0);
	CHECK_INT_EQ(num(o.report, "other_terminals"), 2);
	CHECK_STR_EQ(row_status(o.report, "rows", "trade", paid, ""), "matched");
	CHECK_STR_EQ(row_status(o.report, "rows", "trade", part, ""), "matched");
	CHECK_STR_EQ(row_status(o.report, "rows", "refund", part, r1), "matched");
	CHECK_STR_EQ(row_status(o.report, "rows", "trade", full, ""), "matched");
	CHECK_STR_EQ(row_status(o.report, "rows", "refund", full, r2), "matched");
	CHECK_STR_EQ(row_status(o.report, "rows", "trade", unknown, ""), "matched");
	CHECK(!row_status(o.report, "rows", "trade", failed, ""));
	CHECK(!row_status(o.report, "rows", "trade", canceled, ""));
	CHECK_STR_EQ(row_status(o.report, "other_terminals", "trade", stray, ""), "other_terminal");
	CHECK_STR_EQ(row_status(o.report, "rows", "trade", ghost, ""), "journal_only");
	CHECK_STR_EQ(row_status(o.report, "other_terminals", "trade", other, ""), "other_terminal");

	/* Stored: the zip and the report, which reads back as what the run returned. */
	snprintf(path, sizeof(path), "%s/reconciliation/%s.csv.zip", state_dir, date);
	CHECK_INT_EQ(stat(path, &st), 0);
	CHECK(st.st_size > 0);
	CHECK_INT_EQ(reconcile_report_load(r, date, &stored), 0);
	CHECK(json_object_equal(stored, o.report));
	json_object_put(stored);
	json_object_put(o.report);
	snprintf(path, sizeof(path), "%s/reconciliation", state_dir);
	CHECK_INT_EQ(files_in(path), 2); /* no temporary file left */

	/* /v1/status marks the day. */
	status = json_object_new_object();
	CHECK_INT_EQ(reconcile_status_add(r, status), 0);
	CHECK(strstr(json_object_to_json_string(status), date));
	json_object_put(status);

	/* A day without trades: isp.bill_not_exist is an empty bill, and all is well. */
	run_reconcile(&c, r, "2020-01-01", &o);
	CHECK_INT_EQ(o.err, 0);
	CHECK_STR_EQ(str(o.report, "state"), "ok");
	CHECK_INT_EQ(num(o.report, "matched"), 0);
	json_object_put(o.report);
	CHECK_INT_EQ(files_in(path), 3);
	CHECK_INT_EQ(reconcile_runs_finished(r), 2);

	/* isp.bill_not_exist for a day whose bill may not be out yet: no empty report. */
	beijing_format_date(time(NULL) + 86400, 1, tomorrow);
	run_reconcile(&c, r, tomorrow, &o);
	CHECK_INT_EQ(o.err, -ENOENT);
	CHECK(strstr(o.message, "not published"));
	CHECK_INT_EQ(files_in(path), 3);

	check_api(&c, r, date);
	CHECK_INT_EQ(reconcile_runs_finished(r), 4);
	check_schedule(&c, a.journal);

	reconcile_free(r);
	term_done(&a);
	term_done(&b);
	term_done(&s);
	ctx_done(&c);
}

/* The URL lives 30 s / 1000 = 30 ms here; the download waits 300 ms: it always expires. */
static void
test_expired_url(void)
{
	static const char *const extra[] = {"--time-scale", "1000", NULL};
	char id[ORDER_ID_MAX + 1], date[BEIJING_DATE_BUF], state_dir[300], path[400];
	struct reconcile_config cfg;
	struct reconcile *r;
	struct outcome o;
	struct term a;
	struct ctx c;

	ctx_init(&c, extra);
	term_init(&c, &a, "x", "POS1", 0);
	pay(&a, 100, '0', id);
	run_idle(&c, (struct term *[]){&a}, 1);
	today(date);
	snprintf(state_dir, sizeof(state_dir), "%s/state-x", dir);
	CHECK_INT_EQ(mkdir(state_dir, 0750), 0);
	reconcile_config_init(&cfg);
	cfg.state_dir = state_dir;
	cfg.terminal = "POS1";
	cfg.client = &c.client;
	cfg.schedule = false;
	cfg.allow_today = true;
	cfg.fetch_delay_usec = 300 * USEC_PER_MSEC;
	CHECK_INT_EQ(reconcile_new(c.event, c.http, a.journal, &cfg, &r), 0);
	run_reconcile(&c, r, date, &o);
	CHECK_INT_EQ(o.err, -ETIMEDOUT);
	CHECK(strstr(o.message, "expired"));
	CHECK(!o.report);
	snprintf(path, sizeof(path), "%s/reconciliation", state_dir);
	CHECK_INT_EQ(files_in(path), 0); /* nothing half-stored */
	CHECK_INT_EQ(reconcile_report_load(r, date, &o.report), -ENOENT);
	reconcile_free(r);
	term_done(&a);
	ctx_done(&c);
}

/* Reconciles "today": wait out the last minute before midnight in Beijing. */
static void
avoid_midnight(void)
{
	long into_day = (long)((time(NULL) + BEIJING_OFFSET_SEC) % 86400);

	if (into_day > 86400 - 60) {
		fprintf(stderr, "waiting %ld s for the Beijing day to turn\n",
			86400 - into_day + 1);
		sleep((unsigned)(86400 - into_day + 1));
	}
}

/* A reconciler of term t's journal as terminal, for today's bill so far. */
static struct reconcile *
reconciler(struct ctx *c, struct term *t, const char *terminal, const char *state_name)
{
	char state_dir[300];
	struct reconcile_config cfg;
	struct reconcile *r;

	snprintf(state_dir, sizeof(state_dir), "%s/%s", dir, state_name);
	CHECK_INT_EQ(mkdir(state_dir, 0750), 0);
	reconcile_config_init(&cfg);
	cfg.state_dir = state_dir;
	cfg.terminal = terminal;
	cfg.client = &c->client;
	cfg.schedule = false;
	cfg.allow_today = true;
	CHECK_INT_EQ(reconcile_new(c->event, c->http, t->journal, &cfg, &r), 0);
	return r;
}

/*
 * doc/central.md "Refunds at any till": POS2 refunds an order paid at POS1. Each till's own
 * report files the refund under the till that made it: matched at POS2, another terminal's at
 * POS1 (not bill_only); the payment stays POS1's.
 */
static void
test_refund_elsewhere(void)
{
	char paid[ORDER_ID_MAX + 1], number[ORDER_ID_MAX + 1], own_refund[REFUND_ID_MAX + 1],
		date[BEIJING_DATE_BUF];
	struct journal_foreign_order fo = {.kind = ORDER_KIND_SCAN};
	struct journal_order jo;
	struct reconcile *ra, *rb;
	struct term a, b;
	struct outcome o;
	struct ctx c;

	ctx_init(&c, NULL);
	term_init(&c, &a, "ea", "POS1", 0);
	term_init(&c, &b, "eb", "POS2", 0);
	today(date);
	pay(&a, 1000, '0', paid);
	run_idle(&c, (struct term *[]){&a, &b}, 2);
	CHECK_INT_EQ(engine_order_get(a.engine, paid, &jo), 0);
	CHECK_INT_EQ(jo.fsm.state, ORDER_PAID);
	snprintf(fo.id, sizeof(fo.id), "%s", paid);
	snprintf(fo.install_id, sizeof(fo.install_id), "%s", journal_install_id(a.journal));
	snprintf(fo.terminal_id, sizeof(fo.terminal_id), "POS1");
	fo.amount_fen = 1000;
	snprintf(fo.trade_no, sizeof(fo.trade_no), "%s", jo.trade_no);
	fo.created_usec = jo.created_usec;
	/* The number as the refunding till makes it: one of its own, with "_f". */
	CHECK_INT_EQ(journal_allocate_out_trade_no(b.journal, "POS2", time(NULL), number), 0);
	CHECK(strlen(number) + 2 <= REFUND_ID_MAX);
	memcpy(own_refund, number, strlen(number));
	memcpy(own_refund + strlen(number), "_f", 3);
	CHECK_INT_EQ(engine_refund_foreign(b.engine, &fo, own_refund, 300, "elsewhere", NULL), 0);
	run_idle(&c, (struct term *[]){&a, &b}, 2);

	ra = reconciler(&c, &a, "POS1", "state-ea");
	run_reconcile(&c, ra, date, &o);
	CHECK_INT_EQ(o.err, 0);
	CHECK_STR_EQ(str(o.report, "state"), "ok");
	CHECK_STR_EQ(row_status(o.report, "rows", "trade", paid, ""), "matched");
	CHECK_STR_EQ(row_status(o.report, "other_terminals", "refund", paid, own_refund),
		     "other_terminal");
	CHECK_INT_EQ(num(o.report, "bill_only"), 0);
	json_object_put(o.report);

	rb = reconciler(&c, &b, "POS2", "state-eb");
	run_reconcile(&c, rb, date, &o);
	CHECK_INT_EQ(o.err, 0);
	CHECK_STR_EQ(str(o.report, "state"), "ok");
	CHECK_STR_EQ(row_status(o.report, "rows", "refund", paid, own_refund), "matched");
	CHECK_STR_EQ(row_status(o.report, "other_terminals", "trade", paid, ""), "other_terminal");
	json_object_put(o.report);

	reconcile_free(ra);
	reconcile_free(rb);
	term_done(&a);
	term_done(&b);
	ctx_done(&c);
}

int
main(int argc, char **argv)
{
	CHECK(argc == 3);
	sandbox_bin = argv[1];
	keys_dir = argv[2];
	CHECK(mkdtemp(dir));
	avoid_midnight();
	test_day();
	test_expired_url();
	test_refund_elsewhere();
	{
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK(system(cmd) == 0);
	}
	return 0;
}
