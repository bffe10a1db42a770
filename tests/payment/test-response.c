/* SPDX-License-Identifier: MIT */
/* Tests of response span extraction, verification and classification (doc/protocol.md §3, §6). */
#include <errno.h>

#include "payment-test.h"
#include "payment/response.h"

static EVP_PKEY *alipay_priv, *alipay_pub;

static void
test_extract(void)
{
	struct alipay_response_span sp;
	const char *b;

	/* Braces and escaped quotes inside strings do not count. */
	b = " {\"alipay_trade_pay_response\" : {\"msg\":\"}{\\\"\\\\\",\"x\":[{\"y\":\"}\"}]} , "
	    "\"sign\":\"abc\\/d\"}\n";
	CHECK(alipay_response_extract(b, strlen(b), "alipay.trade.pay", &sp) == 0);
	CHECK_MEM_EQ(sp.node, sp.node_len, "{\"msg\":\"}{\\\"\\\\\",\"x\":[{\"y\":\"}\"}]}",
		     strlen("{\"msg\":\"}{\\\"\\\\\",\"x\":[{\"y\":\"}\"}]}"));
	CHECK_MEM_EQ(sp.sign, sp.sign_len, "abc\\/d", 6);
	CHECK(!sp.error_response);
	CHECK(sp.cert_sn == NULL);

	/* error_response; unsigned. */
	b = "{\"error_response\":{\"code\":\"40002\"}}";
	CHECK(alipay_response_extract(b, strlen(b), "alipay.trade.pay", &sp) == 0);
	CHECK(sp.error_response);
	CHECK(sp.sign == NULL);

	/* alipay_cert_sn between node and sign. */
	b = "{\"alipay_trade_query_response\":{},\"alipay_cert_sn\":\"0123\",\"sign\":\"s\"}";
	CHECK(alipay_response_extract(b, strlen(b), "alipay.trade.query", &sp) == 0);
	CHECK_MEM_EQ(sp.cert_sn, sp.cert_sn_len, "0123", 4);
	CHECK_MEM_EQ(sp.node, sp.node_len, "{}", 2);

	/* Forgery guard: a duplicated root key. */
	b = "{\"alipay_trade_pay_response\":{\"code\":\"40004\"},\"alipay_trade_pay_response\":"
	    "{\"code\":\"10000\"},\"sign\":\"s\"}";
	CHECK(alipay_response_extract(b, strlen(b), "alipay.trade.pay", &sp) == -EEXIST);
	b = "{\"alipay_trade_pay_response\":{},\"sign\":\"a\",\"sign\":\"b\"}";
	CHECK(alipay_response_extract(b, strlen(b), "alipay.trade.pay", &sp) == -EEXIST);

	/* Another method's node is not ours. */
	b = "{\"alipay_trade_query_response\":{},\"sign\":\"s\"}";
	CHECK(alipay_response_extract(b, strlen(b), "alipay.trade.pay", &sp) == -ENOENT);

	static const char *const bad[] = {
		"",
		"[]",
		"{",
		"{\"alipay_trade_pay_response\":{\"a\":\"}\"}",
		"{\"alipay_trade_pay_response\":\"x\"}",
		"{\"alipay_trade_pay_response\":{}}x",
		"{\"alipay_trade_pay_response\":{}\"sign\":\"s\"}",
		"{\"alipay_trade_pay_response\":{},\"sign\":1}",
		"{\"alipay_trade_pay_response\":{\"a\":\"\\\"}}",
		"{\"alipay_trade_pay_response\" {}}",
		"{\"alipay_trade_pay_response\":{\"x\":[{\"y\":1}]]}",
		"{\"alipay_trade_pay_response\":{\"x\":[}]}",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		CHECK(alipay_response_extract(bad[i], strlen(bad[i]), "alipay.trade.pay", &sp) ==
		      -EBADMSG);

	/* Depth limit. */
	char deep[200] = "{\"alipay_trade_pay_response\":{";
	size_t n = strlen(deep);
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	deep[n] = 0;
	CHECK(alipay_response_extract(deep, n, "alipay.trade.pay", &sp) == -E2BIG);
}

static void
check_classify(const char *code, const char *sub, bool is_signed, enum alipay_class want,
	       bool want_throttled)
{
	bool throttled = !want_throttled;

	CHECK_INT_EQ(alipay_response_classify(code, sub, is_signed, &throttled), want);
	CHECK(throttled == want_throttled);
}

static void
test_classify(void)
{
	check_classify("10000", NULL, true, ALIPAY_CLASS_SUCCESS, false);
	check_classify("10000", NULL, false, ALIPAY_CLASS_UNKNOWN, false);
	check_classify("10003", NULL, true, ALIPAY_CLASS_IN_PROGRESS, false);
	check_classify("20000", "isp.unknow-error", true, ALIPAY_CLASS_UNKNOWN, false);
	check_classify("20000", "aop.unknow-error", true, ALIPAY_CLASS_UNKNOWN, false);
	check_classify("40004", "ACQ.SYSTEM_ERROR", true, ALIPAY_CLASS_UNKNOWN, false);
	check_classify("20001", "aop.invalid-app-auth-token", true, ALIPAY_CLASS_CONFIG, false);
	check_classify("40001", "isv.missing-app-id", false, ALIPAY_CLASS_CONFIG, false);
	check_classify("40002", "isv.invalid-app-id", false, ALIPAY_CLASS_CONFIG, false);
	check_classify("40003", "isv.missing-signature-config", false, ALIPAY_CLASS_CONFIG, false);
	check_classify("40002", "isv.invalid-signature", true, ALIPAY_CLASS_CONFIG, false);
	check_classify("40004", "ACQ.TRADE_NOT_EXIST", false, ALIPAY_CLASS_UNKNOWN, false);
	check_classify("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", true, ALIPAY_CLASS_FAILED, false);
	check_classify("40004", "ACQ.TRADE_HAS_SUCCESS", true, ALIPAY_CLASS_UNKNOWN, false);
	check_classify("40004", "ACQ.CONTEXT_INCONSISTENT", true, ALIPAY_CLASS_FAILED, false);
	check_classify("40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", true, ALIPAY_CLASS_FAILED, false);
	check_classify("40004", "isp.bill_not_exist", true, ALIPAY_CLASS_FAILED, false);
	check_classify("40004", "aop.invalid-app-auth-token", true, ALIPAY_CLASS_CONFIG, false);
	check_classify("40005", "isv.app-call-limited", true, ALIPAY_CLASS_UNKNOWN, true);
	check_classify("40004", "isv.method-call-limited", true, ALIPAY_CLASS_UNKNOWN, true);
	/* doc/engine.md "Throttling": the ACQ call limits come as aop.ACQ.*call-limited. */
	check_classify("40004", "aop.ACQ.TRADE_QUERY_call-limited", true, ALIPAY_CLASS_UNKNOWN,
		       true);
	check_classify("20000", "aop.ACQ.call-limited", true, ALIPAY_CLASS_UNKNOWN, true);
	check_classify("40004", "aop.invalid-app-auth-token", true, ALIPAY_CLASS_CONFIG, false);
	check_classify("40006", "isv.insufficient-isv-permissions", true, ALIPAY_CLASS_CONFIG,
		       false);
	check_classify("99999", NULL, true, ALIPAY_CLASS_UNKNOWN, false);
	check_classify(NULL, NULL, true, ALIPAY_CLASS_UNKNOWN, false);
	CHECK_STR_EQ(alipay_class_to_string(ALIPAY_CLASS_IN_PROGRESS), "in-progress");
	CHECK(alipay_class_to_string(_ALIPAY_CLASS_MAX) == NULL);
}

static char *
build(const char *method, const char *node_json, EVP_PKEY *key, const char *sn)
{
	struct json_object *node = json_tokener_parse(node_json);
	char *body = NULL;
	size_t len = 0;

	CHECK(node);
	CHECK(alipay_response_build(method, node, key, ALIPAY_SIGN_RSA2, sn, &body, &len) == 0);
	CHECK(len == strlen(body));
	json_object_put(node);
	return body;
}

static void
parse(const char *body, size_t len, const char *sn, struct alipay_response *r)
{
	*r = ALIPAY_RESPONSE_INIT;
	CHECK(alipay_response_parse(body, len, "alipay.trade.precreate", alipay_pub,
				    ALIPAY_SIGN_RSA2, sn, r) == 0);
}

static void
test_roundtrip_and_tamper(void)
{
	const char *node = "{\"code\":\"10000\",\"msg\":\"Success\",\"out_trade_no\":\"T1\","
			   "\"qr_code\":\"https://qr.alipay.com/bax0\",\"subject\":\"中文\"}";
	struct alipay_response r;
	char *body = build("alipay.trade.precreate", node, alipay_priv, NULL);

	/* Alipay's shape: '/' escaped, non-ASCII raw, node first, sign last. */
	CHECK(strncmp(body,
		      "{\"alipay_trade_precreate_response\":{\"code\":\"10000\",\"msg\":"
		      "\"Success\","
		      "\"out_trade_no\":\"T1\",\"qr_code\":\"https:\\/\\/qr.alipay.com\\/bax0\","
		      "\"subject\":\"中文\"},\"sign\":\"",
		      strlen("{\"alipay_trade_precreate_response\":{\"code\":\"10000\",\"msg\":"
			     "\"Success\",\"out_trade_no\":\"T1\",\"qr_code\":\"https:\\/\\/"
			     "qr.alipay.com\\/bax0\",\"subject\":\"中文\"},\"sign\":\"")) == 0);
	parse(body, strlen(body), NULL, &r);
	CHECK(r.verified);
	CHECK_INT_EQ(r.cls, ALIPAY_CLASS_SUCCESS);
	CHECK_STR_EQ(r.code, "10000");
	CHECK_STR_EQ(json_object_get_string(json_object_object_get(r.node, "qr_code")),
		     "https://qr.alipay.com/bax0");
	alipay_response_done(&r);

	/* One flipped byte anywhere in the node: never success. */
	const char *start = strchr(body, ':') + 1, *end = strstr(body, ",\"sign\"");
	for (const char *p = start; p < end; p++) {
		char *copy = strdup(body);
		copy[p - body] ^= 0x01;
		parse(copy, strlen(copy), NULL, &r);
		CHECK(!r.verified);
		CHECK(r.cls != ALIPAY_CLASS_SUCCESS);
		alipay_response_done(&r);
		free(copy);
	}
	free(body);

	/* Alipay's own signature over a node naming "code" twice: not read, never success. */
	{
		const char *dup = "{\"code\":\"40004\",\"msg\":\"x\",\"code\":\"10000\"}";
		char *sig = NULL, b[2048];
		CHECK(alipay_sign(alipay_priv, ALIPAY_SIGN_RSA2, dup, strlen(dup), &sig) == 0);
		snprintf(b, sizeof(b), "{\"alipay_trade_precreate_response\":%s,\"sign\":\"%s\"}",
			 dup, sig);
		parse(b, strlen(b), NULL, &r);
		CHECK(!r.verified && r.cls != ALIPAY_CLASS_SUCCESS);
		alipay_response_done(&r);
		free(sig);
	}

	/* Signed by another key. */
	EVP_PKEY *app = test_load_private("app-private-pkcs8.pem");
	body = build("alipay.trade.precreate", node, app, NULL);
	parse(body, strlen(body), NULL, &r);
	CHECK(!r.verified && r.cls == ALIPAY_CLASS_UNKNOWN && r.node == NULL);
	alipay_response_done(&r);
	free(body);
	EVP_PKEY_free(app);
}

static void
test_slash_retry(void)
{
	/* A signer that signed the node with '/' unescaped but sent it escaped. */
	const char *signed_node = "{\"code\":\"10000\",\"qr_code\":\"https://q/x\"}";
	char *sig = NULL, body[2048];
	struct alipay_response r;

	CHECK(alipay_sign(alipay_priv, ALIPAY_SIGN_RSA2, signed_node, strlen(signed_node), &sig) ==
	      0);
	snprintf(body, sizeof(body),
		 "{\"alipay_trade_precreate_response\":{\"code\":\"10000\",\"qr_code\":"
		 "\"https:\\/\\/q\\/x\"},\"sign\":\"%s\"}",
		 sig);
	parse(body, strlen(body), NULL, &r);
	CHECK(r.verified && r.cls == ALIPAY_CLASS_SUCCESS);
	alipay_response_done(&r);
	free(sig);
}

static void
test_unsigned_and_cert_sn(void)
{
	struct alipay_response r;
	char *body;

	/* doc/protocol.md §3: unsigned 40002 is a configuration problem, unsigned 10000 is unknown.
	 */
	body = build(NULL,
		     "{\"code\":\"40002\",\"msg\":\"Invalid Arguments\",\"sub_code\":"
		     "\"isv.invalid-app-id\",\"sub_msg\":\"无效的AppID参数\"}",
		     NULL, NULL);
	CHECK_STR_EQ(body, "{\"error_response\":{\"code\":\"40002\",\"msg\":\"Invalid Arguments\","
			   "\"sub_code\":\"isv.invalid-app-id\",\"sub_msg\":\"无效的AppID参数\"}}");
	parse(body, strlen(body), NULL, &r);
	CHECK(!r.verified && r.cls == ALIPAY_CLASS_CONFIG);
	CHECK_STR_EQ(r.sub_code, "isv.invalid-app-id");
	CHECK_STR_EQ(r.sub_msg, "无效的AppID参数");
	alipay_response_done(&r);
	free(body);
	body = build("alipay.trade.precreate", "{\"code\":\"10000\"}", NULL, NULL);
	parse(body, strlen(body), NULL, &r);
	CHECK(!r.verified && r.cls == ALIPAY_CLASS_UNKNOWN);
	alipay_response_done(&r);
	free(body);

	/* Certificate mode: the SN must be there and be ours. */
	body = build("alipay.trade.precreate", "{\"code\":\"10000\"}", alipay_priv,
		     "0123456789abcdef0123456789abcdef");
	CHECK(strstr(body,
		     "},\"alipay_cert_sn\":\"0123456789abcdef0123456789abcdef\",\"sign\":\""));
	parse(body, strlen(body), "0123456789abcdef0123456789abcdef", &r);
	CHECK(r.verified && r.cls == ALIPAY_CLASS_SUCCESS);
	alipay_response_done(&r);
	parse(body, strlen(body), "ffff456789abcdef0123456789abcdef", &r);
	CHECK(!r.verified && r.cls == ALIPAY_CLASS_UNKNOWN);
	alipay_response_done(&r);
	free(body);
	body = build("alipay.trade.precreate", "{\"code\":\"10000\"}", alipay_priv, NULL);
	parse(body, strlen(body), "0123456789abcdef0123456789abcdef", &r);
	CHECK(!r.verified && r.cls == ALIPAY_CLASS_UNKNOWN);
	alipay_response_done(&r);
	free(body);

	/* Garbage and emptiness are "unknown", never an error. */
	parse("", 0, NULL, &r);
	CHECK(r.cls == ALIPAY_CLASS_UNKNOWN && !r.verified);
	alipay_response_done(&r);
	parse("<html>502</html>", 16, NULL, &r);
	CHECK(r.cls == ALIPAY_CLASS_UNKNOWN);
	alipay_response_done(&r);
}

static void
test_signed_business_failure(void)
{
	struct alipay_response r;
	char *body = build("alipay.trade.precreate",
			   "{\"code\":\"40004\",\"msg\":\"Business Failed\",\"sub_code\":"
			   "\"ACQ.TOTAL_FEE_EXCEED\",\"sub_msg\":\"订单金额超过限额\"}",
			   alipay_priv, NULL);

	parse(body, strlen(body), NULL, &r);
	CHECK(r.verified && r.cls == ALIPAY_CLASS_FAILED && !r.throttled);
	CHECK_STR_EQ(r.sub_code, "ACQ.TOTAL_FEE_EXCEED");
	alipay_response_done(&r);
	free(body);
}

int
main(int argc, char **argv)
{
	test_set_key_dir(argc, argv);
	alipay_priv = test_load_private("alipay-private.pem");
	alipay_pub = test_load_public("alipay-public.pem");
	test_extract();
	test_classify();
	test_roundtrip_and_tamper();
	test_slash_retry();
	test_unsigned_and_cert_sn();
	test_signed_business_failure();
	EVP_PKEY_free(alipay_priv);
	EVP_PKEY_free(alipay_pub);
	return 0;
}
