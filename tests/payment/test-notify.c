/* SPDX-License-Identifier: MIT */
/* Tests of notification verification and signing, UTF-8 and GBK (doc/protocol.md §4). */
#include <errno.h>

#include "payment-test.h"
#include "payment/form.h"
#include "payment/notify.h"

static EVP_PKEY *alipay_priv, *alipay_pub;

static void
fill(struct alipay_params *p)
{
	*p = ALIPAY_PARAMS_INIT;
	CHECK(alipay_params_add(p, "notify_time", "2026-11-26 13:41:30") == 0);
	CHECK(alipay_params_add(p, "notify_type", "trade_status_sync") == 0);
	CHECK(alipay_params_add(p, "notify_id", "2026112600222134130012345") == 0);
	CHECK(alipay_params_add(p, "app_id", "2021000000000001") == 0);
	CHECK(alipay_params_add(p, "version", "1.0") == 0);
	CHECK(alipay_params_add(p, "trade_no", "2026112622001412341234567890") == 0);
	CHECK(alipay_params_add(p, "out_trade_no", "T01_20261126_7") == 0);
	CHECK(alipay_params_add(p, "seller_id", "2088000000000001") == 0);
	CHECK(alipay_params_add(p, "trade_status", "TRADE_SUCCESS") == 0);
	CHECK(alipay_params_add(p, "total_amount", "88.88") == 0);
	CHECK(alipay_params_add(p, "receipt_amount", "88.88") == 0);
	CHECK(alipay_params_add(p, "refund_fee", "0.00") == 0);
	CHECK(alipay_params_add(p, "subject", "中文 商品 & = + %") == 0);
	CHECK(alipay_params_add(p, "passback_params", "order%3D7%26x%3Dy") == 0);
	CHECK(alipay_params_add(p, "gmt_payment", "2026-11-26 13:41:29") == 0);
	CHECK(alipay_params_add(p, "body", "") == 0); /* empties are dropped from the string */
}

static void
test_roundtrip(enum alipay_charset cs, enum alipay_sign_type t)
{
	struct alipay_params p;
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;
	char *body = NULL;
	size_t len = 0;

	fill(&p);
	CHECK(alipay_notify_build(&p, cs, alipay_priv, t, &body, &len) == 0);
	CHECK(strstr(body, cs == ALIPAY_CHARSET_GBK ? "charset=GBK" : "charset=utf-8"));
	CHECK(alipay_notify_parse(body, len, alipay_pub, &n) == 0);
	CHECK(n.charset == cs);
	CHECK(n.sign_type == t);
	CHECK_STR_EQ(n.out_trade_no, "T01_20261126_7");
	CHECK_STR_EQ(n.notify_id, "2026112600222134130012345");
	CHECK_STR_EQ(n.subject, "中文 商品 & = + %");
	/* Decoded once: the merchant's own encoding is still there. */
	CHECK_STR_EQ(n.passback_params, "order%3D7%26x%3Dy");
	CHECK(n.trade_status == ALIPAY_TRADE_STATUS_SUCCESS);
	CHECK(alipay_trade_status_is_paid(n.trade_status));
	CHECK_INT_EQ(n.total_amount_fen, 8888);
	CHECK_INT_EQ(n.refund_fee_fen, 0);
	CHECK_INT_EQ(n.buyer_pay_amount_fen, ALIPAY_AMOUNT_NONE);
	CHECK(n.out_biz_no == NULL);
	alipay_notify_done(&n);

	/* Any change to a signed field breaks it. */
	char *tampered = strdup(body), *amount = strstr(tampered, "88.88");
	CHECK(amount);
	amount[0] = '9';
	CHECK(alipay_notify_parse(tampered, len, alipay_pub, &n) == -EKEYREJECTED);
	free(tampered);

	/* Another key does not verify it. */
	EVP_PKEY *app = test_load_public("app-public.pem");
	CHECK(alipay_notify_parse(body, len, app, &n) == -EKEYREJECTED);
	EVP_PKEY_free(app);
	free(body);
	alipay_params_done(&p);
}

static void
test_no_sign_and_garbage(void)
{
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;
	const char *b = "notify_id=1&out_trade_no=T1&total_amount=1.00";

	CHECK(alipay_notify_parse(b, strlen(b), alipay_pub, &n) == -ENOKEY);
	b = "notify_id=1&sign=abc&charset=latin1";
	CHECK(alipay_notify_parse(b, strlen(b), alipay_pub, &n) == -EBADMSG);
	b = "notify_id=%ZZ";
	CHECK(alipay_notify_parse(b, strlen(b), alipay_pub, &n) == -EBADMSG);
	b = "notify_id=1&sign=abc&sign_type=MD5";
	CHECK(alipay_notify_parse(b, strlen(b), alipay_pub, &n) == -EBADMSG);
	b = "subject=%D6&charset=GBK&sign=abc";
	CHECK(alipay_notify_parse(b, strlen(b), alipay_pub, &n) == -EILSEQ);
}

static void
test_bad_amount_signed(void)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;
	char *body = NULL;
	size_t len;

	/* Even correctly signed, an amount that does not parse is refused. */
	CHECK(alipay_params_add(&p, "out_trade_no", "T1") == 0);
	CHECK(alipay_params_add(&p, "total_amount", "1e3") == 0);
	CHECK(alipay_notify_build(&p, ALIPAY_CHARSET_UTF8, alipay_priv, ALIPAY_SIGN_RSA2, &body,
				  &len) == 0);
	CHECK(alipay_notify_parse(body, len, alipay_pub, &n) == -EBADMSG);
	free(body);
	alipay_params_done(&p);
}

int
main(int argc, char **argv)
{
	test_set_key_dir(argc, argv);
	alipay_priv = test_load_private("alipay-private.pem");
	alipay_pub = test_load_public("alipay-public.b64");
	test_roundtrip(ALIPAY_CHARSET_UTF8, ALIPAY_SIGN_RSA2);
	test_roundtrip(ALIPAY_CHARSET_GBK, ALIPAY_SIGN_RSA2);
	test_roundtrip(ALIPAY_CHARSET_UTF8, ALIPAY_SIGN_RSA);
	test_no_sign_and_garbage();
	test_bad_amount_signed();
	EVP_PKEY_free(alipay_priv);
	EVP_PKEY_free(alipay_pub);
	return 0;
}
