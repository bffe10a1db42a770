/* SPDX-License-Identifier: MIT */
/* Tests of the typed calls: argument checks, biz_content, typed results (doc/protocol.md §5). */
#include <errno.h>

#include "payment-test.h"
#include "payment/api.h"
#include "payment/form.h"

#define NOW ((time_t)1795671685)

static struct alipay_keys *keys;
static EVP_PKEY *alipay_priv;
static struct alipay_client_config cfg;

static char *
request_biz(const struct alipay_request *r)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	char *biz;

	CHECK(alipay_form_decode(r->body, r->body_len, ALIPAY_CHARSET_UTF8, &p) == 0);
	biz = strdup(alipay_params_get(&p, "biz_content"));
	alipay_params_done(&p);
	return biz;
}

static void
test_pay_request(void)
{
	struct alipay_pay_args a = {
		.out_trade_no = "T01_20261126_7",
		.auth_code = "283456789012345670",
		.subject = "Coffee/咖啡",
		.total_amount_fen = 8888,
		.store_id = "S1",
		.timeout_express = "2m",
	};
	struct alipay_request r = ALIPAY_REQUEST_INIT;
	char *biz;

	CHECK(alipay_api_pay(&cfg, &a, NOW, &r) == 0);
	CHECK(strstr(r.url, "method=alipay.trade.pay&") != NULL);
	biz = request_biz(&r);
	CHECK_STR_EQ(biz,
		     "{\"out_trade_no\":\"T01_20261126_7\",\"scene\":\"bar_code\","
		     "\"auth_code\":\"283456789012345670\",\"subject\":\"Coffee/咖啡\","
		     "\"total_amount\":\"88.88\",\"store_id\":\"S1\",\"timeout_express\":\"2m\"}");
	free(biz);
	alipay_request_done(&r);

	/* Argument checks. */
	struct alipay_pay_args bad = a;
	bad.auth_code = "134567890123456789"; /* a WeChat code */
	CHECK(alipay_api_pay(&cfg, &bad, NOW, &r) == -EINVAL);
	bad.auth_code = "28345678901234";
	CHECK(alipay_api_pay(&cfg, &bad, NOW, &r) == -EINVAL);
	bad.auth_code = "30345678901234567890123";
	CHECK(alipay_api_pay(&cfg, &bad, NOW, &r) == 0);
	alipay_request_done(&r);
	bad = a;
	bad.out_trade_no = "T-1";
	CHECK(alipay_api_pay(&cfg, &bad, NOW, &r) == -EINVAL);
	bad = a;
	bad.total_amount_fen = 0;
	CHECK(alipay_api_pay(&cfg, &bad, NOW, &r) == -EINVAL);
	bad.total_amount_fen = 10000000001;
	CHECK(alipay_api_pay(&cfg, &bad, NOW, &r) == -EINVAL);
	CHECK(r.url == NULL);
}

static void
test_other_requests(void)
{
	struct alipay_request r = ALIPAY_REQUEST_INIT;
	struct alipay_trade_ref ref = {.out_trade_no = "T1"};
	char *biz;

	CHECK(alipay_api_query(&cfg, &ref, NOW, &r) == 0);
	biz = request_biz(&r);
	CHECK_STR_EQ(biz, "{\"out_trade_no\":\"T1\"}");
	free(biz);
	alipay_request_done(&r);
	CHECK(alipay_api_cancel(&cfg, &(struct alipay_trade_ref){.trade_no = "2026"}, NOW, &r) ==
	      0);
	CHECK(strstr(r.url, "method=alipay.trade.cancel&"));
	alipay_request_done(&r);
	CHECK(alipay_api_close(&cfg, &(struct alipay_trade_ref){0}, NOW, &r) == -EINVAL);

	struct alipay_refund_args ra = {.trade = ref,
					.refund_amount_fen = 100,
					.out_request_no = "R1",
					.refund_reason = "退货"};
	CHECK(alipay_api_refund(&cfg, &ra, NOW, &r) == 0);
	biz = request_biz(&r);
	CHECK_STR_EQ(biz, "{\"out_trade_no\":\"T1\",\"refund_amount\":\"1.00\","
			  "\"out_request_no\":\"R1\",\"refund_reason\":\"退货\"}");
	free(biz);
	alipay_request_done(&r);
	ra.out_request_no = NULL;
	CHECK(alipay_api_refund(&cfg, &ra, NOW, &r) == -EINVAL);

	struct alipay_refund_query_args rq = {.trade = ref, .out_request_no = "R1"};
	CHECK(alipay_api_refund_query(&cfg, &rq, NOW, &r) == 0);
	CHECK(strstr(r.url, "method=alipay.trade.fastpay.refund.query&"));
	alipay_request_done(&r);

	struct alipay_precreate_args pa = {.out_trade_no = "Q1",
					   .subject = "s",
					   .total_amount_fen = 1,
					   .qr_code_timeout_express = "2m"};
	CHECK(alipay_api_precreate(&cfg, &pa, NOW, &r) == 0);
	biz = request_biz(&r);
	CHECK_STR_EQ(biz, "{\"out_trade_no\":\"Q1\",\"subject\":\"s\",\"total_amount\":\"0.01\","
			  "\"qr_code_timeout_express\":\"2m\"}");
	free(biz);
	alipay_request_done(&r);

	CHECK(alipay_api_bill_url(&cfg, &(struct alipay_bill_args){.bill_date = "2026-11-25"}, NOW,
				  &r) == 0);
	biz = request_biz(&r);
	CHECK_STR_EQ(biz, "{\"bill_type\":\"trade\",\"bill_date\":\"2026-11-25\"}");
	free(biz);
	alipay_request_done(&r);
	CHECK(alipay_api_bill_url(&cfg, &(struct alipay_bill_args){.bill_date = "20261125"}, NOW,
				  &r) == -EINVAL);
}

static void
parse_signed(enum alipay_method m, const char *node_json, struct alipay_api_result *res)
{
	struct json_object *node = json_tokener_parse(node_json);
	char *body = NULL;
	size_t len;

	CHECK(node);
	CHECK(alipay_response_build(alipay_method_to_string(m), node, alipay_priv, ALIPAY_SIGN_RSA2,
				    NULL, &body, &len) == 0);
	*res = ALIPAY_API_RESULT_INIT;
	CHECK(alipay_api_parse(&cfg, m, body, len, res) == 0);
	json_object_put(node);
	free(body);
}

static void
test_results(void)
{
	struct alipay_api_result r;

	parse_signed(ALIPAY_METHOD_TRADE_PAY,
		     "{\"code\":\"10000\",\"msg\":\"Success\",\"buyer_logon_id\":\"159****5620\","
		     "\"buyer_pay_amount\":\"88.88\",\"gmt_payment\":\"2026-11-26 13:41:29\","
		     "\"out_trade_no\":\"T1\",\"receipt_amount\":\"88.88\",\"total_amount\":"
		     "\"88.88\",\"trade_no\":\"2026112622001412341234567890\"}",
		     &r);
	CHECK(r.resp.cls == ALIPAY_CLASS_SUCCESS);
	CHECK_STR_EQ(r.trade_no, "2026112622001412341234567890");
	CHECK_STR_EQ(r.buyer_logon_id, "159****5620");
	CHECK_INT_EQ(r.total_amount_fen, 8888);
	CHECK_INT_EQ(r.refund_fee_fen, ALIPAY_AMOUNT_NONE);
	alipay_api_result_done(&r);

	/* A receipt with discounts: what the buyer paid, what the merchant receives, the funds. */
	parse_signed(
		ALIPAY_METHOD_TRADE_PAY,
		"{\"code\":\"10000\",\"msg\":\"Success\",\"buyer_logon_id\":\"159****5620\","
		"\"out_trade_no\":\"T1\",\"trade_no\":\"2026112622001412341234567890\","
		"\"total_amount\":\"100.00\",\"receipt_amount\":\"95.00\","
		"\"buyer_pay_amount\":\"90.00\",\"point_amount\":\"0.00\","
		"\"invoice_amount\":\"90.00\",\"discount_amount\":\"5.00\","
		"\"mdiscount_amount\":\"5.00\",\"gmt_payment\":\"2026-11-26 13:41:29\","
		"\"fund_bill_list\":[{\"fund_channel\":\"ALIPAYACCOUNT\",\"amount\":\"90.00\"},"
		"{\"fund_channel\":\"DISCOUNT\",\"amount\":\"5.00\",\"real_amount\":\"5.00\","
		"\"extra\":1}]}",
		&r);
	CHECK(r.resp.cls == ALIPAY_CLASS_SUCCESS);
	CHECK_INT_EQ(r.receipt_amount_fen, 9500);
	CHECK_INT_EQ(r.buyer_pay_amount_fen, 9000);
	CHECK_INT_EQ(r.point_amount_fen, 0);
	CHECK_INT_EQ(r.invoice_amount_fen, 9000);
	CHECK_INT_EQ(r.discount_amount_fen, 500);
	CHECK_INT_EQ(r.mdiscount_amount_fen, 500);
	CHECK_STR_EQ(r.gmt_payment, "2026-11-26 13:41:29");
	CHECK_STR_EQ(r.fund_bill_list,
		     "[{\"fund_channel\":\"ALIPAYACCOUNT\",\"amount\":\"90.00\"},{\"fund_channel\":"
		     "\"DISCOUNT\",\"amount\":\"5.00\",\"real_amount\":\"5.00\"}]");
	alipay_api_result_done(&r);

	/* A receipt detail that does not parse is left out; the payment stands. */
	parse_signed(
		ALIPAY_METHOD_TRADE_QUERY,
		"{\"code\":\"10000\",\"trade_status\":\"TRADE_SUCCESS\",\"total_amount\":"
		"\"1.00\",\"discount_amount\":\"1e3\",\"fund_bill_list\":\"[{\\\"fund_channel\\\":"
		"\\\"PCREDIT\\\",\\\"amount\\\":\\\"1.00\\\"}]\"}",
		&r);
	CHECK(r.resp.cls == ALIPAY_CLASS_SUCCESS);
	CHECK_INT_EQ(r.discount_amount_fen, ALIPAY_AMOUNT_NONE);
	CHECK_STR_EQ(r.fund_bill_list, "[{\"fund_channel\":\"PCREDIT\",\"amount\":\"1.00\"}]");
	alipay_api_result_done(&r);
	parse_signed(ALIPAY_METHOD_TRADE_QUERY,
		     "{\"code\":\"10000\",\"trade_status\":\"TRADE_SUCCESS\",\"total_amount\":"
		     "\"1.00\",\"fund_bill_list\":[{\"fund_channel\":\"X\"}]}",
		     &r);
	CHECK(r.resp.cls == ALIPAY_CLASS_SUCCESS && !r.fund_bill_list);
	alipay_api_result_done(&r);

	parse_signed(ALIPAY_METHOD_TRADE_PAY,
		     "{\"code\":\"10003\",\"msg\":\" order success pay inprocess\"}", &r);
	CHECK(r.resp.cls == ALIPAY_CLASS_IN_PROGRESS);
	alipay_api_result_done(&r);

	parse_signed(ALIPAY_METHOD_TRADE_QUERY,
		     "{\"code\":\"10000\",\"trade_status\":\"WAIT_BUYER_PAY\",\"total_amount\":"
		     "\"0.01\"}",
		     &r);
	CHECK(r.trade_status == ALIPAY_TRADE_STATUS_WAIT_BUYER_PAY);
	CHECK(!alipay_trade_status_is_paid(r.trade_status));
	alipay_api_result_done(&r);

	parse_signed(ALIPAY_METHOD_TRADE_CANCEL,
		     "{\"code\":\"10000\",\"retry_flag\":\"N\",\"action\":\"refund\"}", &r);
	CHECK(r.retry_flag == ALIPAY_FLAG_N && r.action == ALIPAY_CANCEL_ACTION_REFUND);
	alipay_api_result_done(&r);
	parse_signed(ALIPAY_METHOD_TRADE_CANCEL,
		     "{\"code\":\"20000\",\"sub_code\":\"ACQ.SYSTEM_ERROR\",\"retry_flag\":\"Y\"}",
		     &r);
	CHECK(r.resp.cls == ALIPAY_CLASS_UNKNOWN && r.retry_flag == ALIPAY_FLAG_Y);
	alipay_api_result_done(&r);

	parse_signed(ALIPAY_METHOD_TRADE_REFUND,
		     "{\"code\":\"10000\",\"fund_change\":\"Y\",\"refund_fee\":\"0.00\"}", &r);
	CHECK(r.fund_change == ALIPAY_FLAG_Y && r.refund_fee_fen == 0);
	alipay_api_result_done(&r);

	parse_signed(ALIPAY_METHOD_TRADE_PRECREATE,
		     "{\"code\":\"10000\",\"qr_code\":\"https://qr.alipay.com/bax1\"}", &r);
	CHECK_STR_EQ(r.qr_code, "https://qr.alipay.com/bax1");
	alipay_api_result_done(&r);

	parse_signed(ALIPAY_METHOD_BILL_DOWNLOADURL,
		     "{\"code\":\"10000\",\"bill_download_url\":\"http://dwbillcenter/x?a=1\"}",
		     &r);
	CHECK_STR_EQ(r.bill_download_url, "http://dwbillcenter/x?a=1");
	alipay_api_result_done(&r);

	/* A verified success with a malformed amount is not trusted. */
	parse_signed(ALIPAY_METHOD_TRADE_PAY, "{\"code\":\"10000\",\"total_amount\":\"1e3\"}", &r);
	CHECK(r.resp.cls == ALIPAY_CLASS_UNKNOWN);
	alipay_api_result_done(&r);

	/* Nothing came back. */
	r = ALIPAY_API_RESULT_INIT;
	CHECK(alipay_api_parse(&cfg, ALIPAY_METHOD_TRADE_PAY, NULL, 0, &r) == 0);
	CHECK(r.resp.cls == ALIPAY_CLASS_UNKNOWN && r.trade_no == NULL);
	alipay_api_result_done(&r);

	/* An unverified body never fills the typed fields. */
	const char *forged = "{\"alipay_trade_pay_response\":{\"code\":\"10000\",\"trade_no\":"
			     "\"1\"},\"sign\":\"AAAA\"}";
	r = ALIPAY_API_RESULT_INIT;
	CHECK(alipay_api_parse(&cfg, ALIPAY_METHOD_TRADE_PAY, forged, strlen(forged), &r) == 0);
	CHECK(r.resp.cls == ALIPAY_CLASS_UNKNOWN && r.trade_no == NULL);
	alipay_api_result_done(&r);
}

static void
test_method_names(void)
{
	enum alipay_method m;

	for (unsigned i = 0; i < _ALIPAY_METHOD_MAX; i++) {
		CHECK(alipay_method_from_string(alipay_method_to_string(i), &m) == 0);
		CHECK(m == i);
	}
	CHECK(alipay_method_from_string("alipay.trade.nope", &m) == -EINVAL);
	CHECK(alipay_trade_status_from_string("TRADE_FINISHED") == ALIPAY_TRADE_STATUS_FINISHED);
	CHECK(alipay_trade_status_from_string("PAID") == ALIPAY_TRADE_STATUS_OTHER);
}

int
main(int argc, char **argv)
{
	char path[4096];

	test_set_key_dir(argc, argv);
	CHECK(alipay_keys_new(&keys) == 0);
	snprintf(path, sizeof(path), "%s/app-private-pkcs8.b64", test_key_dir);
	CHECK(alipay_keys_set_app_private_key_file(keys, path) == 0);
	snprintf(path, sizeof(path), "%s/alipay-public.b64", test_key_dir);
	CHECK(alipay_keys_set_alipay_public_key_file(keys, path) == 0);
	alipay_priv = test_load_private("alipay-private.pem");
	cfg = (struct alipay_client_config){
		.gateway_url = "https://openapi.alipay.com/gateway.do",
		.app_id = "2021000000000001",
		.keys = keys,
	};
	test_pay_request();
	test_other_requests();
	test_results();
	test_method_names();
	EVP_PKEY_free(alipay_priv);
	alipay_keys_free(keys);
	return 0;
}
