/* SPDX-License-Identifier: MIT */
/* The C client (payment/api.h) against the sandbox: every API and every scenario digit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "harness.h"
#include "payment/api.h"
#include "payment/keys.h"
#include "test.h"

static const char *bin, *keys, *certs;
static unsigned cases;

#define CASE(name) (cases++, fprintf(stderr, "case: %s\n", name))

struct client {
	struct alipay_keys *keys;
	struct alipay_client_config cfg;
	char gateway[300];
	long timeout_ms;
};

static char *
path_of(const char *dir, const char *name)
{
	char *p = NULL;

	CHECK(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void
client_init(struct client *c, const struct harness *h, int cert_mode, enum alipay_charset cs,
	    enum alipay_sign_type st)
{
	_cleanup_free_ char *priv = path_of(keys, "app-private.pem"),
			    *pub = path_of(keys, "alipay-public.pem"),
			    *app_cert = path_of(certs, "app-cert.pem"),
			    *alipay_cert = path_of(certs, "alipay-cert.pem"),
			    *root = path_of(certs, "root.pem");

	*c = (struct client){.timeout_ms = 10000};
	CHECK(alipay_keys_new(&c->keys) == 0);
	CHECK(alipay_keys_set_app_private_key_file(c->keys, priv) == 0);
	if (cert_mode) {
		CHECK(alipay_keys_set_app_cert_file(c->keys, app_cert) == 0);
		CHECK(alipay_keys_set_alipay_cert_file(c->keys, alipay_cert) == 0);
		CHECK(alipay_keys_set_alipay_root_cert_file(c->keys, root) == 0);
	} else
		CHECK(alipay_keys_set_alipay_public_key_file(c->keys, pub) == 0);
	CHECK(alipay_keys_check(c->keys) == 0);
	snprintf(c->gateway, sizeof(c->gateway), "%s/gateway.do", h->url);
	c->cfg = (struct alipay_client_config){
		.gateway_url = c->gateway,
		.app_id = "2021000000000001",
		.sign_type = st,
		.charset = cs,
		.keys = c->keys,
	};
}

static void
client_done(struct client *c)
{
	alipay_keys_free(c->keys);
}

static size_t
collect(char *p, size_t size, size_t n, void *userdata)
{
	CHECK(buf_append(userdata, p, size * n) == 0);
	return size * n;
}

/* Sends req over a fresh connection (libcurl easy) and parses what came back. */
static void
client_send(struct client *c, enum alipay_method m, struct alipay_request *req,
	    struct alipay_api_result *res)
{
	struct buf body = BUF_INIT(1 << 22);
	struct curl_slist *hdr = NULL;
	_cleanup_free_ char *ct = NULL;
	CURL *h = curl_easy_init();
	CURLcode rc;

	CHECK(h);
	CHECK(asprintf(&ct, "Content-Type: %s", req->content_type) > 0);
	hdr = curl_slist_append(hdr, ct);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	if (harness_ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, harness_ca_file);
	rc = curl_easy_perform(h);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	*res = ALIPAY_API_RESULT_INIT;
	CHECK(alipay_api_parse(&c->cfg, m, rc == CURLE_OK ? body.data : NULL,
			       rc == CURLE_OK ? body.len : 0, res) == 0);
	buf_free(&body);
	alipay_request_done(req);
}

static enum alipay_class
pay(struct client *c, const char *otn, const char *auth_code, int64_t fen,
    struct alipay_api_result *res)
{
	struct alipay_request req = ALIPAY_REQUEST_INIT;
	struct alipay_pay_args a = {
		.out_trade_no = otn,
		.auth_code = auth_code,
		.subject = "测试商品",
		.total_amount_fen = fen,
		.store_id = "S001",
	};

	CHECK(alipay_api_pay(&c->cfg, &a, time(NULL), &req) == 0);
	client_send(c, ALIPAY_METHOD_TRADE_PAY, &req, res);
	return res->resp.cls;
}

static enum alipay_class
by_ref(struct client *c, enum alipay_method m, const char *otn, struct alipay_api_result *res)
{
	struct alipay_request req = ALIPAY_REQUEST_INIT;
	struct alipay_trade_ref r = {.out_trade_no = otn};

	switch (m) {
	case ALIPAY_METHOD_TRADE_QUERY:
		CHECK(alipay_api_query(&c->cfg, &r, time(NULL), &req) == 0);
		break;
	case ALIPAY_METHOD_TRADE_CANCEL:
		CHECK(alipay_api_cancel(&c->cfg, &r, time(NULL), &req) == 0);
		break;
	case ALIPAY_METHOD_TRADE_CLOSE:
		CHECK(alipay_api_close(&c->cfg, &r, time(NULL), &req) == 0);
		break;
	case ALIPAY_METHOD_TRADE_PAY:
	case ALIPAY_METHOD_TRADE_PRECREATE:
	case ALIPAY_METHOD_TRADE_REFUND:
	case ALIPAY_METHOD_TRADE_REFUND_QUERY:
	case ALIPAY_METHOD_BILL_DOWNLOADURL:
	case _ALIPAY_METHOD_MAX:
		CHECK(0);
	}
	client_send(c, m, &req, res);
	return res->resp.cls;
}

static enum alipay_trade_status
query_status(struct client *c, const char *otn)
{
	struct alipay_api_result res;
	enum alipay_trade_status s;

	by_ref(c, ALIPAY_METHOD_TRADE_QUERY, otn, &res);
	s = res.resp.cls == ALIPAY_CLASS_SUCCESS ? res.trade_status : ALIPAY_TRADE_STATUS_NONE;
	alipay_api_result_done(&res);
	return s;
}

static const char *
sub_code_of(struct alipay_api_result *res)
{
	return res->resp.sub_code ? res->resp.sub_code : "";
}

static void
refund(struct client *c, const char *otn, const char *no, int64_t fen,
       struct alipay_api_result *res)
{
	struct alipay_request req = ALIPAY_REQUEST_INIT;
	struct alipay_refund_args a = {
		.trade = {.out_trade_no = otn}, .refund_amount_fen = fen, .out_request_no = no};

	CHECK(alipay_api_refund(&c->cfg, &a, time(NULL), &req) == 0);
	client_send(c, ALIPAY_METHOD_TRADE_REFUND, &req, res);
}

/* The sandbox's count of pay requests for otn (GET /sim/trades). */
static int
pay_requests(struct harness *h, const char *otn)
{
	struct buf out = BUF_INIT(1 << 24);
	_cleanup_free_ char *url = NULL;
	json_object *root, *trades;
	int n = -1;

	CHECK(asprintf(&url, "%s/sim/trades", h->url) > 0);
	CHECK_INT_EQ(harness_http("GET", url, NULL, NULL, 0, &out), 200);
	root = json_tokener_parse(out.data);
	CHECK(root && json_object_object_get_ex(root, "trades", &trades));
	for (size_t i = 0; i < json_object_array_length(trades); i++) {
		json_object *t = json_object_array_get_idx(trades, i), *v;

		if (json_object_object_get_ex(t, "out_trade_no", &v) &&
		    STR_EQ(json_object_get_string(v), otn) &&
		    json_object_object_get_ex(t, "pay_requests", &v))
			n = json_object_get_int(v);
	}
	json_object_put(root);
	buf_free(&out);
	return n;
}

static void
unique(char *buf, size_t size, const char *tag)
{
	static unsigned seq;

	snprintf(buf, size, "%s_%d_%ld_%u", tag, (int)getpid(), (long)time(NULL), ++seq);
}

static void
test_scenarios(struct client *c, struct harness *h)
{
	struct alipay_api_result res;
	char o[80];

	CASE("C client: digit 0 paid at once");
	unique(o, sizeof(o), "c0");
	CHECK_INT_EQ(pay(c, o, "287634438256644390", 8888, &res), ALIPAY_CLASS_SUCCESS);
	CHECK(res.resp.verified);
	CHECK_INT_EQ(strlen(res.trade_no), 28);
	CHECK_INT_EQ(res.total_amount_fen, 8888);
	CHECK(strncmp(res.buyer_user_id, "2088", 4) == 0);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_SUCCESS);

	CASE("C client: digit 1 in progress, then paid");
	unique(o, sizeof(o), "c1");
	CHECK_INT_EQ(pay(c, o, "287634438256644391", 100, &res), ALIPAY_CLASS_IN_PROGRESS);
	alipay_api_result_done(&res);
	for (int i = 0; i < 200 && query_status(c, o) != ALIPAY_TRADE_STATUS_SUCCESS; i++)
		usleep(50 * 1000);
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_SUCCESS);

	CASE("C client: digit 2 in progress, cancel closes");
	unique(o, sizeof(o), "c2");
	CHECK_INT_EQ(pay(c, o, "287634438256644392", 100, &res), ALIPAY_CLASS_IN_PROGRESS);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_WAIT_BUYER_PAY);
	CHECK_INT_EQ(by_ref(c, ALIPAY_METHOD_TRADE_CANCEL, o, &res), ALIPAY_CLASS_SUCCESS);
	CHECK_INT_EQ(res.action, ALIPAY_CANCEL_ACTION_CLOSE);
	CHECK_INT_EQ(res.retry_flag, ALIPAY_FLAG_N);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_CLOSED);

	CASE("C client: digit 3 balance not enough");
	unique(o, sizeof(o), "c3");
	CHECK_INT_EQ(pay(c, o, "287634438256644393", 100, &res), ALIPAY_CLASS_FAILED);
	CHECK_STR_EQ(sub_code_of(&res), "ACQ.BUYER_BALANCE_NOT_ENOUGH");
	alipay_api_result_done(&res);

	CASE("C client: digit 4 auth code invalid");
	unique(o, sizeof(o), "c4");
	CHECK_INT_EQ(pay(c, o, "287634438256644394", 100, &res), ALIPAY_CLASS_FAILED);
	CHECK_STR_EQ(sub_code_of(&res), "ACQ.PAYMENT_AUTH_CODE_INVALID");
	alipay_api_result_done(&res);

	CASE("C client: digit 5 unknown, query shows paid");
	unique(o, sizeof(o), "c5");
	CHECK_INT_EQ(pay(c, o, "287634438256644395", 100, &res), ALIPAY_CLASS_UNKNOWN);
	CHECK(res.resp.verified);
	CHECK_STR_EQ(sub_code_of(&res), "ACQ.SYSTEM_ERROR");
	alipay_api_result_done(&res);
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_SUCCESS);

	CASE("C client: digit 6 no response, exactly one pay request, query shows paid");
	unique(o, sizeof(o), "c6");
	CHECK_INT_EQ(pay(c, o, "287634438256644396", 100, &res), ALIPAY_CLASS_UNKNOWN);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(pay_requests(h, o), 1); /* a fresh connection: libcurl does not re-send */
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_SUCCESS);

	CASE("C client: digit 7 bad signature is never success");
	unique(o, sizeof(o), "c7");
	CHECK_INT_EQ(pay(c, o, "287634438256644397", 100, &res), ALIPAY_CLASS_UNKNOWN);
	CHECK(!res.resp.verified);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_SUCCESS);

	CASE("C client: digit 8 first cancel retry_flag=Y, second closes");
	unique(o, sizeof(o), "c8");
	CHECK_INT_EQ(pay(c, o, "287634438256644398", 100, &res), ALIPAY_CLASS_IN_PROGRESS);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(by_ref(c, ALIPAY_METHOD_TRADE_CANCEL, o, &res), ALIPAY_CLASS_UNKNOWN);
	CHECK_INT_EQ(res.retry_flag, ALIPAY_FLAG_Y);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(by_ref(c, ALIPAY_METHOD_TRADE_CANCEL, o, &res), ALIPAY_CLASS_SUCCESS);
	CHECK_INT_EQ(res.action, ALIPAY_CANCEL_ACTION_CLOSE);
	alipay_api_result_done(&res);

	CASE("C client: digit 9 times out, trade unpaid");
	unique(o, sizeof(o), "c9");
	c->timeout_ms = 500;
	CHECK_INT_EQ(pay(c, o, "287634438256644399", 100, &res), ALIPAY_CLASS_UNKNOWN);
	alipay_api_result_done(&res);
	c->timeout_ms = 10000;
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_WAIT_BUYER_PAY);

	CASE("C client: other valid code behaves as 0");
	unique(o, sizeof(o), "cv");
	CHECK_INT_EQ(pay(c, o, "2512345678901234", 100, &res), ALIPAY_CLASS_SUCCESS);
	alipay_api_result_done(&res);
}

static void
test_apis(struct client *c, struct harness *h)
{
	struct alipay_api_result res;
	struct alipay_request req = ALIPAY_REQUEST_INIT;
	char o[80];

	CASE("C client: out_trade_no reuse");
	unique(o, sizeof(o), "cr");
	CHECK_INT_EQ(pay(c, o, "287634438256644190", 1000, &res), ALIPAY_CLASS_SUCCESS);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(pay(c, o, "287634438256644190", 1001, &res), ALIPAY_CLASS_FAILED);
	CHECK_STR_EQ(sub_code_of(&res), "ACQ.CONTEXT_INCONSISTENT");
	alipay_api_result_done(&res);
	/* doc/protocol.md §6: "already paid" is for the client to confirm with a query. */
	CHECK_INT_EQ(pay(c, o, "287634438256644190", 1000, &res), ALIPAY_CLASS_UNKNOWN);
	CHECK(res.resp.verified);
	CHECK_STR_EQ(sub_code_of(&res), "ACQ.TRADE_HAS_SUCCESS");
	alipay_api_result_done(&res);
	/* The same number and amount with another buyer's code: still "already paid". */
	CHECK_INT_EQ(pay(c, o, "287634438256644180", 1000, &res), ALIPAY_CLASS_UNKNOWN);
	CHECK_STR_EQ(sub_code_of(&res), "ACQ.TRADE_HAS_SUCCESS");
	alipay_api_result_done(&res);

	CASE("C client: a payment code is single-use");
	{
		char o2[80];

		unique(o2, sizeof(o2), "cu");
		CHECK_INT_EQ(pay(c, o2, "287634438256644190", 1000, &res), ALIPAY_CLASS_FAILED);
		CHECK(res.resp.verified);
		CHECK_STR_EQ(sub_code_of(&res), "ACQ.PAYMENT_AUTH_CODE_INVALID");
		alipay_api_result_done(&res);
		/* Refused before any trade: the number does not exist. */
		CHECK_INT_EQ(by_ref(c, ALIPAY_METHOD_TRADE_QUERY, o2, &res), ALIPAY_CLASS_FAILED);
		CHECK_STR_EQ(sub_code_of(&res), "ACQ.TRADE_NOT_EXIST");
		alipay_api_result_done(&res);
	}

	CASE("C client: refunds, idempotency, over-refund, refund query");
	refund(c, o, "r1", 300, &res);
	CHECK_INT_EQ(res.resp.cls, ALIPAY_CLASS_SUCCESS);
	CHECK_INT_EQ(res.fund_change, ALIPAY_FLAG_Y);
	CHECK_INT_EQ(res.refund_fee_fen, 300);
	alipay_api_result_done(&res);
	refund(c, o, "r1", 300, &res);
	CHECK_INT_EQ(res.fund_change, ALIPAY_FLAG_N);
	CHECK_INT_EQ(res.refund_fee_fen, 300);
	alipay_api_result_done(&res);
	refund(c, o, "r1", 301, &res);
	CHECK_STR_EQ(sub_code_of(&res), "ACQ.DISCORDANT_REPEAT_REQUEST");
	alipay_api_result_done(&res);
	refund(c, o, "r2", 701, &res);
	CHECK_STR_EQ(sub_code_of(&res), "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
	alipay_api_result_done(&res);
	{
		struct alipay_refund_query_args a = {.trade = {.out_trade_no = o},
						     .out_request_no = "r1"};
		CHECK(alipay_api_refund_query(&c->cfg, &a, time(NULL), &req) == 0);
		client_send(c, ALIPAY_METHOD_TRADE_REFUND_QUERY, &req, &res);
		CHECK_INT_EQ(res.resp.cls, ALIPAY_CLASS_SUCCESS);
		CHECK_INT_EQ(res.refund_amount_fen, 300);
		alipay_api_result_done(&res);
		a.out_request_no = "r2";
		CHECK(alipay_api_refund_query(&c->cfg, &a, time(NULL), &req) == 0);
		client_send(c, ALIPAY_METHOD_TRADE_REFUND_QUERY, &req, &res);
		CHECK_INT_EQ(res.resp.cls, ALIPAY_CLASS_SUCCESS);
		CHECK_INT_EQ(res.refund_amount_fen, ALIPAY_AMOUNT_NONE);
		alipay_api_result_done(&res);
	}

	CASE("C client: cancel of a paid trade refunds");
	CHECK_INT_EQ(by_ref(c, ALIPAY_METHOD_TRADE_CANCEL, o, &res), ALIPAY_CLASS_SUCCESS);
	CHECK_INT_EQ(res.action, ALIPAY_CANCEL_ACTION_REFUND);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_CLOSED);

	CASE("C client: cancel of a number never seen succeeds without action, closes it");
	unique(o, sizeof(o), "cn");
	CHECK_INT_EQ(by_ref(c, ALIPAY_METHOD_TRADE_CANCEL, o, &res), ALIPAY_CLASS_SUCCESS);
	CHECK_INT_EQ(res.action, ALIPAY_CANCEL_ACTION_NONE);
	CHECK_INT_EQ(res.retry_flag, ALIPAY_FLAG_N);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(pay(c, o, "287634438256644390", 100, &res), ALIPAY_CLASS_FAILED);
	CHECK_STR_EQ(sub_code_of(&res), "ACQ.TRADE_HAS_CLOSE");
	alipay_api_result_done(&res);

	CASE("C client: close an unpaid trade");
	unique(o, sizeof(o), "cc");
	CHECK_INT_EQ(pay(c, o, "287634438256644292", 100, &res), ALIPAY_CLASS_IN_PROGRESS);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(by_ref(c, ALIPAY_METHOD_TRADE_CLOSE, o, &res), ALIPAY_CLASS_SUCCESS);
	alipay_api_result_done(&res);
	CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_CLOSED);

	CASE("C client: precreate, not found until scanned, then paid");
	unique(o, sizeof(o), "cq");
	{
		struct alipay_precreate_args a = {
			.out_trade_no = o, .subject = "扫码", .total_amount_fen = 1234};
		struct buf out = BUF_INIT(4096);
		_cleanup_free_ char *url = NULL, *body = NULL;

		CHECK(alipay_api_precreate(&c->cfg, &a, time(NULL), &req) == 0);
		client_send(c, ALIPAY_METHOD_TRADE_PRECREATE, &req, &res);
		CHECK_INT_EQ(res.resp.cls, ALIPAY_CLASS_SUCCESS);
		CHECK(strncmp(res.qr_code, "https://qr.alipay.com/bax0", 26) == 0);
		alipay_api_result_done(&res);
		CHECK_INT_EQ(by_ref(c, ALIPAY_METHOD_TRADE_QUERY, o, &res), ALIPAY_CLASS_FAILED);
		CHECK_STR_EQ(sub_code_of(&res), "ACQ.TRADE_NOT_EXIST");
		alipay_api_result_done(&res);
		CHECK(alipay_api_precreate(&c->cfg, &a, time(NULL), &req) == 0);
		client_send(c, ALIPAY_METHOD_TRADE_PRECREATE, &req, &res); /* same QR again */
		CHECK(asprintf(&url, "%s/sim/scan-qr", h->url) > 0);
		CHECK(asprintf(&body, "{\"qr_code\":\"%s\",\"pay\":true}", res.qr_code) > 0);
		alipay_api_result_done(&res);
		CHECK_INT_EQ(
			harness_http("POST", url, "application/json", body, strlen(body), &out),
			200);
		buf_free(&out);
		CHECK_INT_EQ(query_status(c, o), ALIPAY_TRADE_STATUS_SUCCESS);
	}

	CASE("C client: unknown app_id is an unsigned configuration error");
	{
		struct alipay_client_config saved = c->cfg;

		c->cfg.app_id = "2021000000000999";
		CHECK_INT_EQ(by_ref(c, ALIPAY_METHOD_TRADE_QUERY, o, &res), ALIPAY_CLASS_CONFIG);
		CHECK(!res.resp.verified);
		CHECK_STR_EQ(sub_code_of(&res), "isv.invalid-app-id");
		alipay_api_result_done(&res);
		c->cfg = saved;
	}

	CASE("C client: a timestamp in the wrong time zone is isv.invalid-timestamp");
	{
		struct alipay_trade_ref r = {.out_trade_no = o};

		CHECK(alipay_api_query(&c->cfg, &r, time(NULL) - 8 * 3600, &req) == 0);
		client_send(c, ALIPAY_METHOD_TRADE_QUERY, &req, &res);
		CHECK_INT_EQ(res.resp.cls, ALIPAY_CLASS_CONFIG);
		CHECK(res.resp.verified);
		CHECK_STR_EQ(sub_code_of(&res), "isv.invalid-timestamp");
		alipay_api_result_done(&res);
	}

	CASE("C client: bill download URL");
	{
		char today[BEIJING_DATE_BUF];
		struct alipay_bill_args a = {.bill_type = "trade",
					     .bill_date =
						     beijing_format_date(time(NULL), 1, today)};

		CHECK(alipay_api_bill_url(&c->cfg, &a, time(NULL), &req) == 0);
		client_send(c, ALIPAY_METHOD_BILL_DOWNLOADURL, &req, &res);
		CHECK_INT_EQ(res.resp.cls, ALIPAY_CLASS_SUCCESS);
		CHECK(strncmp(res.bill_download_url, h->url, strlen(h->url)) == 0);
		alipay_api_result_done(&res);
	}
}

static void
run(const char *title, int cert_mode, int tls, enum alipay_charset cs, enum alipay_sign_type st,
    int full)
{
	_cleanup_free_ char *app_cert = path_of(certs, "app-cert.pem"),
			    *alipay_cert = path_of(certs, "alipay-cert.pem"),
			    *root = path_of(certs, "root.pem"),
			    *tls_cert = path_of(certs, "tls-server.pem"),
			    *tls_key = path_of(certs, "tls-server.key"),
			    *ca = path_of(certs, "tls-ca.pem");
	const char *args[16] = {"--confirm-after", "0.3", "--slow-delay", "2"};
	struct harness h = {};
	struct client c;
	int n = 4;

	fprintf(stderr, "== %s\n", title);
	if (cert_mode) {
		args[n++] = "--app-cert";
		args[n++] = app_cert;
		args[n++] = "--alipay-cert";
		args[n++] = alipay_cert;
		args[n++] = "--root-cert";
		args[n++] = root;
	}
	if (tls) {
		args[n++] = "--tls-cert";
		args[n++] = tls_cert;
		args[n++] = "--tls-key";
		args[n++] = tls_key;
	}
	harness_ca_file = tls ? ca : NULL;
	harness_start(&h, bin, keys, args);
	CHECK(strncmp(h.url, tls ? "https://" : "http://", tls ? 8 : 7) == 0);
	client_init(&c, &h, cert_mode, cs, st);
	test_scenarios(&c, &h);
	if (full)
		test_apis(&c, &h);
	client_done(&c);
	CHECK_INT_EQ(harness_stop(&h), 0);
	harness_ca_file = NULL;
}

int
main(int argc, char **argv)
{
	CHECK(argc == 4);
	bin = argv[1];
	keys = argv[2];
	certs = argv[3];
	run("HTTP, UTF-8, RSA2", 0, 0, ALIPAY_CHARSET_UTF8, ALIPAY_SIGN_RSA2, 1);
	run("HTTPS with a test CA", 0, 1, ALIPAY_CHARSET_UTF8, ALIPAY_SIGN_RSA2, 1);
	run("certificate mode", 1, 0, ALIPAY_CHARSET_UTF8, ALIPAY_SIGN_RSA2, 1);
	run("GBK", 0, 0, ALIPAY_CHARSET_GBK, ALIPAY_SIGN_RSA2, 1);
	run("RSA (SHA1)", 0, 0, ALIPAY_CHARSET_UTF8, ALIPAY_SIGN_RSA, 0);
	printf("%u cases passed\n", cases);
	return 0;
}
