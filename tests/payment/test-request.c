/* SPDX-License-Identifier: MIT */
/* Tests of request building: parameter placement, Beijing timestamp, signature (doc/protocol.md
 * §2). */
#include <errno.h>

#include "payment-test.h"
#include "payment/form.h"
#include "payment/request.h"

/* 2026-11-26 13:41:25 in Beijing = 05:41:25 UTC. */
#define NOW ((time_t)1795671685)

static struct alipay_keys *
load_keys(void)
{
	struct alipay_keys *k = NULL;
	size_t len;
	char *t;

	CHECK(alipay_keys_new(&k) == 0);
	t = test_read_key("app-private-pkcs1.pem", &len);
	CHECK(alipay_keys_set_app_private_key(k, t, len) == 0);
	free(t);
	t = test_read_key("alipay-public.pem", &len);
	CHECK(alipay_keys_set_alipay_public_key(k, t, len) == 0);
	free(t);
	return k;
}

/* Checks the URL's sign verifies with the app public key over the decoded parameters. */
static void
check_request_signature(const struct alipay_request *r, enum alipay_charset cs,
			enum alipay_sign_type t)
{
	struct alipay_params q = ALIPAY_PARAMS_INIT, b = ALIPAY_PARAMS_INIT;
	const char *query = strchr(r->url, '?') + 1;
	EVP_PKEY *pub = test_load_public("app-public.pem");
	char *ss = NULL, *bytes = NULL;
	size_t n;

	CHECK(alipay_form_decode(query, strlen(query), cs, &q) == 0);
	CHECK(alipay_form_decode(r->body, r->body_len, cs, &b) == 0);
	for (size_t i = 0; i < b.n; i++)
		CHECK(alipay_params_add(&q, b.items[i].key, b.items[i].value) == 0);
	CHECK(alipay_params_sign_string(&q, 0, &ss) == 0);
	CHECK(alipay_charset_from_utf8(cs, ss, strlen(ss), &bytes, &n) == 0);
	CHECK(alipay_verify(pub, t, bytes, n, alipay_params_get(&q, "sign")) == 0);
	bytes[0] ^= 1;
	CHECK(alipay_verify(pub, t, bytes, n, alipay_params_get(&q, "sign")) == -EBADMSG);
	free(ss);
	free(bytes);
	alipay_params_done(&q);
	alipay_params_done(&b);
	EVP_PKEY_free(pub);
}

static void
test_utf8_request(void)
{
	struct alipay_keys *k = load_keys();
	struct alipay_client_config c = {
		.gateway_url = "https://openapi.alipay.com/gateway.do",
		.app_id = "2021000000000001",
		.sign_type = ALIPAY_SIGN_RSA2,
		.charset = ALIPAY_CHARSET_UTF8,
		.notify_url = "https://shop.example/alipay/notify?a=1",
		.keys = k,
	};
	struct alipay_request r = ALIPAY_REQUEST_INIT;
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	char *ss = NULL;
	const char *prefix;
	const char *biz = "{\"out_trade_no\":\"a b/c\",\"subject\":\"中文 & = + %\"}";

	CHECK(alipay_request_params(&c, "alipay.trade.query", biz, NOW, &p, &ss) == 0);
	CHECK_STR_EQ(ss, "app_id=2021000000000001&biz_content={\"out_trade_no\":\"a b/c\","
			 "\"subject\":\"中文 & = + %\"}&charset=utf-8&method=alipay.trade.query"
			 "&notify_url=https://shop.example/alipay/notify?a=1&sign_type=RSA2"
			 "&timestamp=2026-11-26 13:41:25&version=1.0");
	CHECK_STR_EQ(p.items[0].key, "method");
	alipay_params_done(&p);
	free(ss);

	CHECK(alipay_request_build(&c, "alipay.trade.query", biz, NOW, &r) == 0);
	prefix = "https://openapi.alipay.com/gateway.do?method=alipay.trade.query"
		 "&app_id=2021000000000001&charset=utf-8&version=1.0&sign_type=RSA2"
		 "&timestamp=2026-11-26+13%3A41%3A25"
		 "&notify_url=https%3A%2F%2Fshop.example%2Falipay%2Fnotify%3Fa%3D1&sign=";
	CHECK(strncmp(r.url, prefix, strlen(prefix)) == 0);
	CHECK(strlen(r.url) > strlen(prefix) + 344);
	CHECK_STR_EQ(r.body,
		     "biz_content=%7B%22out_trade_no%22%3A%22a+b%2Fc%22%2C%22subject%22%3A%22"
		     "%E4%B8%AD%E6%96%87+%26+%3D+%2B+%25%22%7D");
	CHECK_STR_EQ(r.content_type, "application/x-www-form-urlencoded;charset=utf-8");
	CHECK_STR_EQ(r.method, "alipay.trade.query");
	check_request_signature(&r, ALIPAY_CHARSET_UTF8, ALIPAY_SIGN_RSA2);
	alipay_request_done(&r);

	/* Deterministic: the same input gives the same bytes. */
	struct alipay_request r2 = ALIPAY_REQUEST_INIT;
	CHECK(alipay_request_build(&c, "alipay.trade.query", biz, NOW, &r) == 0);
	CHECK(alipay_request_build(&c, "alipay.trade.query", biz, NOW, &r2) == 0);
	CHECK_STR_EQ(r.url, r2.url);
	alipay_request_done(&r2);
	/* Another second, another signature. */
	CHECK(alipay_request_build(&c, "alipay.trade.query", biz, NOW + 1, &r2) == 0);
	CHECK(strcmp(r.url, r2.url) != 0);
	alipay_request_done(&r);
	alipay_request_done(&r2);
	alipay_keys_free(k);
}

static void
test_gbk_rsa_request(void)
{
	struct alipay_keys *k = load_keys();
	struct alipay_client_config c = {
		.gateway_url = "http://127.0.0.1:8080/gateway.do",
		.app_id = "2021000000000001",
		.sign_type = ALIPAY_SIGN_RSA,
		.charset = ALIPAY_CHARSET_GBK,
		.app_auth_token = "202611BBxxtoken",
		.keys = k,
	};
	struct alipay_request r = ALIPAY_REQUEST_INIT;

	CHECK(alipay_request_build(&c, "alipay.trade.pay", "{\"subject\":\"中文\"}", NOW, &r) == 0);
	CHECK(strstr(r.url, "?method=alipay.trade.pay&app_id=2021000000000001&charset=GBK&") !=
	      NULL);
	CHECK(strstr(r.url, "&sign_type=RSA&") != NULL);
	CHECK(strstr(r.url, "&app_auth_token=202611BBxxtoken&sign=") != NULL);
	CHECK(strstr(r.url, "notify_url") == NULL);
	CHECK_STR_EQ(r.body, "biz_content=%7B%22subject%22%3A%22%D6%D0%CE%C4%22%7D");
	CHECK_STR_EQ(r.content_type, "application/x-www-form-urlencoded;charset=GBK");
	check_request_signature(&r, ALIPAY_CHARSET_GBK, ALIPAY_SIGN_RSA);
	alipay_request_done(&r);

	/* An emoji cannot travel in GBK. */
	CHECK(alipay_request_build(&c, "alipay.trade.pay", "{\"subject\":\"😀\"}", NOW, &r) ==
	      -EILSEQ);
	alipay_keys_free(k);
}

static void
test_cert_mode_request(void)
{
	struct alipay_keys *k = NULL;
	char path[4096];
	struct alipay_request r = ALIPAY_REQUEST_INIT;
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	char *ss = NULL;

	CHECK(alipay_keys_new(&k) == 0);
	snprintf(path, sizeof(path), "%s/app-private-pkcs8.pem", test_key_dir);
	CHECK(alipay_keys_set_app_private_key_file(k, path) == 0);
	snprintf(path, sizeof(path), "%s/app-cert.crt", test_key_dir);
	CHECK(alipay_keys_set_app_cert_file(k, path) == 0);
	snprintf(path, sizeof(path), "%s/alipay-cert.crt", test_key_dir);
	CHECK(alipay_keys_set_alipay_cert_file(k, path) == 0);
	snprintf(path, sizeof(path), "%s/root-bundle.crt", test_key_dir);
	CHECK(alipay_keys_set_alipay_root_cert_file(k, path) == 0);

	struct alipay_client_config c = {
		.gateway_url = "https://openapi.alipay.com/gateway.do",
		.app_id = "2021000000000001",
		.keys = k,
	};
	CHECK(alipay_request_params(&c, "alipay.trade.query", NULL, NOW, &p, &ss) == 0);
	CHECK_STR_EQ(alipay_params_get(&p, "app_cert_sn"), alipay_keys_get_app_cert_sn(k));
	CHECK_STR_EQ(alipay_params_get(&p, "alipay_root_cert_sn"),
		     alipay_keys_get_alipay_root_cert_sn(k));
	CHECK(strstr(ss, "&app_cert_sn=") != NULL);
	CHECK(strstr(ss, "alipay_root_cert_sn=") == ss);
	CHECK(alipay_request_build(&c, "alipay.trade.query", NULL, NOW, &r) == 0);
	CHECK(strstr(r.url, "&alipay_root_cert_sn=") != NULL);
	CHECK_STR_EQ(r.body, "");
	check_request_signature(&r, ALIPAY_CHARSET_UTF8, ALIPAY_SIGN_RSA2);
	alipay_request_done(&r);
	alipay_params_done(&p);
	free(ss);
	alipay_keys_free(k);
}

static void
test_json_serialisers(void)
{
	struct json_object *o = json_object_new_object();
	char *s = NULL;

	json_object_object_add(o, "subject", json_object_new_string("a/b 中文 \"q\" \\ \n\x01"));
	CHECK(alipay_json_to_string_request(o, &s) == 0);
	CHECK_STR_EQ(s, "{\"subject\":\"a/b 中文 \\\"q\\\" \\\\ \\n\\u0001\"}");
	free(s);
	json_object_put(o);
}

static void
test_bad_config(void)
{
	struct alipay_client_config c = {.gateway_url = "https://x/gateway.do", .app_id = "1"};
	struct alipay_request r = ALIPAY_REQUEST_INIT;

	CHECK(alipay_request_build(&c, "alipay.trade.query", NULL, NOW, &r) == -EINVAL);
	CHECK(r.url == NULL);
}

static void
test_verify_received(void)
{
	struct alipay_keys *k = load_keys();
	struct alipay_client_config c = {
		.gateway_url = "http://127.0.0.1:1/gateway.do",
		.app_id = "2021000000000001",
		.charset = ALIPAY_CHARSET_GBK,
		.notify_url = "http://127.0.0.1:2/notify",
		.keys = k,
	};
	struct alipay_request r = ALIPAY_REQUEST_INIT;
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	EVP_PKEY *pub = test_load_public("app-public.pem"),
		 *other = test_load_public("alipay-public.pem");
	enum alipay_charset cs = ALIPAY_CHARSET_UTF8;
	const char *q;
	char *ss = NULL, *body;

	CHECK(alipay_request_build(&c, "alipay.trade.pay", "{\"subject\":\"中文 +&=%\"}", NOW,
				   &r) == 0);
	q = strchr(r.url, '?') + 1;
	CHECK(alipay_request_verify(q, strlen(q), r.body, r.body_len, pub, &p, &cs, NULL) == 0);
	CHECK(cs == ALIPAY_CHARSET_GBK);
	CHECK_STR_EQ(alipay_params_get(&p, "biz_content"), "{\"subject\":\"中文 +&=%\"}");
	CHECK_STR_EQ(alipay_params_get(&p, "timestamp"), "2026-11-26 13:41:25");
	alipay_params_done(&p);

	/* Everything in the body (gopay's way) verifies too: the gateway merges both. */
	CHECK(asprintf(&body, "%s&%s", q, r.body) > 0);
	CHECK(alipay_request_verify(NULL, 0, body, strlen(body), pub, &p, NULL, NULL) == 0);
	alipay_params_done(&p);
	/* The same key twice is refused. */
	CHECK(alipay_request_verify(q, strlen(q), body, strlen(body), pub, &p, NULL, NULL) ==
	      -EBADMSG);
	free(body);

	/* Wrong key or tampered body: rejected, with the string the verifier built. */
	CHECK(alipay_request_verify(q, strlen(q), r.body, r.body_len, other, &p, NULL, &ss) ==
	      -EKEYREJECTED);
	CHECK(strstr(ss, "app_id=2021000000000001&biz_content={\"subject\":\"中文 "
			 "+&=%\"}&charset=GBK&") == ss);
	free(ss);
	ss = NULL;
	CHECK(strstr(r.body, "%2B"));
	strstr(r.body, "%2B")[2] = 'D'; /* '+' becomes '-' */
	CHECK(alipay_request_verify(q, strlen(q), r.body, r.body_len, pub, &p, NULL, NULL) ==
	      -EKEYREJECTED);
	/* GBK bytes without the charset that names them; no sign at all. */
	CHECK(alipay_request_verify(NULL, 0, r.body, r.body_len, pub, &p, NULL, NULL) == -EILSEQ);
	CHECK(alipay_request_verify("app_id=1&sign_type=RSA2", 23, NULL, 0, pub, &p, NULL, NULL) ==
	      -ENOKEY);
	CHECK(p.n == 0);
	alipay_request_done(&r);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(other);
	alipay_keys_free(k);
}

int
main(int argc, char **argv)
{
	test_set_key_dir(argc, argv);
	test_utf8_request();
	test_gbk_rsa_request();
	test_cert_mode_request();
	test_json_serialisers();
	test_bad_config();
	test_verify_received();
	return 0;
}
