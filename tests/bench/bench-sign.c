/* SPDX-License-Identifier: MIT */
/* Benchmark: building + signing alipay.trade.pay and verifying + parsing a reply vs raw RSA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/time-util.h"
#include "payment/api.h"
#include "payment/keys.h"

#define ITERATIONS 300

static EVP_PKEY *
load(const char *dir, const char *name, int private)
{
	char path[4096], *text = NULL;
	size_t len;
	EVP_PKEY *k = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (alipay_file_read(path, ALIPAY_KEY_FILE_MAX, &text, &len) < 0 ||
	    (private ? alipay_key_load_private(text, len, &k)
		     : alipay_key_load_public(text, len, &k)) < 0) {
		fprintf(stderr, "cannot load %s\n", path);
		exit(1);
	}
	free(text);
	return k;
}

/* CPU time, like `openssl speed` (the machine is shared: wall time would measure the others). */
static double
per_op_usec(usec_t start)
{
	return (double)(now_usec(CLOCK_PROCESS_CPUTIME_ID) - start) / ITERATIONS;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/payment/keys";
	struct alipay_keys *keys = NULL;
	char path[4096], *body = NULL, *sig = NULL;
	size_t body_len;
	struct alipay_pay_args a = {
		.out_trade_no = "T01_20261126_000007",
		.auth_code = "283456789012345670",
		.subject = "Coffee 咖啡 x2",
		.total_amount_fen = 8888,
		.store_id = "S001",
		.terminal_id = "T01",
		.timeout_express = "2m",
	};
	EVP_PKEY *alipay_priv = load(dir, "alipay-private.pem", 1);
	EVP_PKEY *app_priv = load(dir, "app-private-pkcs8.pem", 1);
	EVP_PKEY *alipay_pub = load(dir, "alipay-public.pem", 0);
	struct json_object *node;
	double build_us, raw_sign_us, parse_us, raw_verify_us;
	usec_t t;

	if (alipay_keys_new(&keys) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/app-private-pkcs8.pem", dir);
	if (alipay_keys_set_app_private_key_file(keys, path) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/alipay-public.pem", dir);
	if (alipay_keys_set_alipay_public_key_file(keys, path) < 0)
		return 1;
	struct alipay_client_config c = {
		.gateway_url = "https://openapi.alipay.com/gateway.do",
		.app_id = "2021000000000001",
		.notify_url = "https://shop.example/alipay/notify",
		.keys = keys,
	};

	/* Build + sign one pay request (what the engine does per payment). */
	t = now_usec(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < ITERATIONS; i++) {
		struct alipay_request r = ALIPAY_REQUEST_INIT;
		if (alipay_api_pay(&c, &a, 1795671685 + i, &r) < 0)
			return 1;
		alipay_request_done(&r);
	}
	build_us = per_op_usec(t);

	/* Raw RSA-2048 SHA256 signature over a string of the same size. */
	char msg[700];
	memset(msg, 'a', sizeof(msg));
	t = now_usec(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < ITERATIONS; i++) {
		msg[0] = (char)('a' + i % 26);
		if (alipay_sign(app_priv, ALIPAY_SIGN_RSA2, msg, sizeof(msg), &sig) < 0)
			return 1;
		free(sig);
	}
	raw_sign_us = per_op_usec(t);

	/* Verify + parse one pay response. */
	node = json_tokener_parse(
		"{\"code\":\"10000\",\"msg\":\"Success\",\"buyer_logon_id\":\"159****5620\","
		"\"buyer_pay_amount\":\"88.88\",\"fund_bill_list\":[{\"amount\":\"88.88\","
		"\"fund_channel\":\"ALIPAYACCOUNT\"}],\"gmt_payment\":\"2026-11-26 13:41:29\","
		"\"invoice_amount\":\"88.88\",\"out_trade_no\":\"T01_20261126_000007\","
		"\"point_amount\":\"0.00\",\"receipt_amount\":\"88.88\",\"total_amount\":\"88.88\","
		"\"trade_no\":\"2026112622001412341234567890\",\"buyer_user_id\":"
		"\"2088102177846875\"}");
	if (!node || alipay_response_build("alipay.trade.pay", node, alipay_priv, ALIPAY_SIGN_RSA2,
					   NULL, &body, &body_len) < 0)
		return 1;
	t = now_usec(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < ITERATIONS; i++) {
		struct alipay_api_result res = ALIPAY_API_RESULT_INIT;
		if (alipay_api_parse(&c, ALIPAY_METHOD_TRADE_PAY, body, body_len, &res) < 0 ||
		    res.resp.cls != ALIPAY_CLASS_SUCCESS)
			return 1;
		alipay_api_result_done(&res);
	}
	parse_us = per_op_usec(t);

	if (alipay_sign(alipay_priv, ALIPAY_SIGN_RSA2, msg, 400, &sig) < 0)
		return 1;
	t = now_usec(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < ITERATIONS; i++)
		if (alipay_verify(alipay_pub, ALIPAY_SIGN_RSA2, msg, 400, sig) < 0)
			return 1;
	raw_verify_us = per_op_usec(t);
	free(sig);

	printf("CPU time per operation, %d iterations each\n", ITERATIONS);
	printf("build+sign alipay.trade.pay:    %8.1f us/op\n", build_us);
	printf("raw RSA-2048 SHA256 sign:       %8.1f us/op  (ratio %.3f)\n", raw_sign_us,
	       build_us / raw_sign_us);
	printf("verify+parse pay response:      %8.1f us/op\n", parse_us);
	printf("raw RSA-2048 SHA256 verify:     %8.1f us/op  (ratio %.3f)\n", raw_verify_us,
	       parse_us / raw_verify_us);
	fflush(stdout);
	if (system("openssl speed -seconds 1 rsa2048 2>/dev/null | tail -n 2") != 0)
		printf("(openssl speed not available)\n");

	json_object_put(node);
	free(body);
	EVP_PKEY_free(alipay_priv);
	EVP_PKEY_free(app_priv);
	EVP_PKEY_free(alipay_pub);
	alipay_keys_free(keys);
	return 0;
}
