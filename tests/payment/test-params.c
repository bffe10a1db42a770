/* SPDX-License-Identifier: MIT */
/* Tests of the string to sign (doc/protocol.md §2.1), charsets, and GBK signing against openssl(1).
 */
#include <errno.h>

#include "payment-test.h"
#include "payment/params.h"
#include "payment/sign.h"

static void
test_protocol_example(void)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	char *s = NULL;

	/* Added in sending order; the string sorts them. */
	CHECK(alipay_params_add(&p, "method", "alipay.trade.query") == 0);
	CHECK(alipay_params_add(&p, "app_id", "2021000000000001") == 0);
	CHECK(alipay_params_add(&p, "charset", "utf-8") == 0);
	CHECK(alipay_params_add(&p, "version", "1.0") == 0);
	CHECK(alipay_params_add(&p, "sign_type", "RSA2") == 0);
	CHECK(alipay_params_add(&p, "timestamp", "2026-11-26 13:41:25") == 0);
	CHECK(alipay_params_add(&p, "biz_content", "{\"out_trade_no\":\"a b/c\"}") == 0);
	CHECK(alipay_params_add(&p, "sign", "SIG") == 0);
	CHECK(alipay_params_add(&p, "app_id", "x") == -EEXIST);
	CHECK(alipay_params_sign_string(&p, 0, &s) == 0);
	CHECK_STR_EQ(s,
		     "app_id=2021000000000001&biz_content={\"out_trade_no\":\"a b/c\"}&charset=utf-"
		     "8&method=alipay.trade.query&sign_type=RSA2&timestamp=2026-11-26 "
		     "13:41:25&version=1.0");
	free(s);

	/* Empties: kept unless asked (a verifier signs what it received), sign_type droppable. */
	CHECK(alipay_params_add(&p, "notify_url", "") == 0);
	CHECK(alipay_params_sign_string(&p, 0, &s) == 0);
	CHECK(strstr(s, "&notify_url=&sign_type=RSA2&") != NULL);
	free(s);
	CHECK(alipay_params_sign_string(
		      &p, ALIPAY_SIGN_STRING_DROP_EMPTY | ALIPAY_SIGN_STRING_DROP_SIGN_TYPE, &s) ==
	      0);
	CHECK(strstr(s, "notify_url") == NULL);
	CHECK(strstr(s, "sign_type") == NULL);
	CHECK(strstr(s, "sign=") == NULL);
	free(s);

	CHECK(alipay_params_set(&p, "app_id", "2") == 0);
	CHECK_STR_EQ(alipay_params_get(&p, "app_id"), "2");
	CHECK(alipay_params_set(&p, "app_id", NULL) == 0);
	CHECK(alipay_params_get(&p, "app_id") == NULL);
	alipay_params_done(&p);
}

static void
test_byte_order(void)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	char *s = NULL;

	/* Byte order: upper case before '_' before lower case; a prefix first. */
	CHECK(alipay_params_add(&p, "b", "1") == 0);
	CHECK(alipay_params_add(&p, "a_b", "2") == 0);
	CHECK(alipay_params_add(&p, "aB", "3") == 0);
	CHECK(alipay_params_add(&p, "a", "4") == 0);
	CHECK(alipay_params_add(&p, "ab", "5") == 0);
	CHECK(alipay_params_sign_string(&p, 0, &s) == 0);
	CHECK_STR_EQ(s, "a=4&aB=3&a_b=2&ab=5&b=1");
	free(s);
	alipay_params_done(&p);
}

static void
test_limits(void)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	char key[32];

	for (unsigned i = 0; i < ALIPAY_PARAMS_MAX; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		CHECK(alipay_params_add(&p, key, "v") == 0);
	}
	CHECK(alipay_params_add(&p, "one_more", "v") == -E2BIG);
	CHECK(alipay_params_add(&p, "", "v") == -EINVAL);
	alipay_params_done(&p);
}

static void
test_charsets(void)
{
	enum alipay_charset cs;
	char *out = NULL, *back = NULL;
	size_t n = 0, m = 0;

	CHECK(alipay_charset_from_string("UTF-8", &cs) == 0 && cs == ALIPAY_CHARSET_UTF8);
	CHECK(alipay_charset_from_string("gbk", &cs) == 0 && cs == ALIPAY_CHARSET_GBK);
	CHECK(alipay_charset_from_string("latin1", &cs) == -EINVAL);
	CHECK_STR_EQ(alipay_charset_to_string(ALIPAY_CHARSET_GBK), "GBK");

	/* 中文 in GBK is D6 D0 CE C4. */
	CHECK(alipay_charset_from_utf8(ALIPAY_CHARSET_GBK, "a中文", strlen("a中文"), &out, &n) ==
	      0);
	CHECK_MEM_EQ(out, n, "a\xd6\xd0\xce\xc4", 5);
	CHECK(alipay_charset_to_utf8(ALIPAY_CHARSET_GBK, out, n, &back, &m) == 0);
	CHECK_STR_EQ(back, "a中文");
	free(out);
	free(back);
	/* An emoji has no GBK mapping; broken UTF-8 is refused even UTF-8 → UTF-8. */
	CHECK(alipay_charset_from_utf8(ALIPAY_CHARSET_GBK, "\xf0\x9f\x98\x80", 4, &out, &n) ==
	      -EILSEQ);
	CHECK(alipay_charset_from_utf8(ALIPAY_CHARSET_UTF8, "\xc3", 1, &out, &n) == -EILSEQ);
	CHECK(alipay_charset_to_utf8(ALIPAY_CHARSET_GBK, "\xd6", 1, &out, &n) == -EILSEQ);
	/* UTF-8 both ways: copied as it is, refused where iconv refuses it (an overlong '/', a
	 * surrogate, a code point above U+10FFFF, a stray continuation byte). */
	CHECK(alipay_charset_to_utf8(ALIPAY_CHARSET_UTF8, "a中\0😀", 9, &out, &n) == 0);
	CHECK_MEM_EQ(out, n, "a中\0😀", 9);
	free(out);
	CHECK(alipay_charset_from_utf8(ALIPAY_CHARSET_UTF8, "", 0, &out, &n) == 0 && n == 0 &&
	      out[0] == 0);
	free(out);
	CHECK(alipay_charset_to_utf8(ALIPAY_CHARSET_UTF8, "\xc0\xaf", 2, &out, &n) == -EILSEQ);
	CHECK(alipay_charset_to_utf8(ALIPAY_CHARSET_UTF8, "\xed\xa0\x80", 3, &out, &n) == -EILSEQ);
	CHECK(alipay_charset_from_utf8(ALIPAY_CHARSET_UTF8, "\xf4\x90\x80\x80", 4, &out, &n) ==
	      -EILSEQ);
	CHECK(alipay_charset_from_utf8(ALIPAY_CHARSET_UTF8, "a\x80", 2, &out, &n) == -EILSEQ);
}

static void
test_gbk_signature_matches_openssl(void)
{
	const char *ss = "app_id=2021000000000001&biz_content={\"subject\":\"测试 商品/￥\"}"
			 "&charset=GBK&method=alipay.trade.pay&sign_type=RSA2"
			 "&timestamp=2026-11-26 13:41:25&version=1.0";
	EVP_PKEY *key = test_load_private("app-private-pkcs8.pem");
	char *gbk = NULL, *sig = NULL, *expected, cmd[8192], tmp[] = "/tmp/f2fpay-gbk-XXXXXX";
	size_t n;
	int fd;

	CHECK(alipay_charset_from_utf8(ALIPAY_CHARSET_GBK, ss, strlen(ss), &gbk, &n) == 0);
	CHECK(alipay_sign(key, ALIPAY_SIGN_RSA2, gbk, n, &sig) == 0);

	/* The reference: iconv(1) to GBK, then openssl dgst -sha256 -sign, base64 on one line. */
	fd = mkstemp(tmp);
	CHECK(fd >= 0);
	CHECK(write(fd, ss, strlen(ss)) == (ssize_t)strlen(ss));
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "iconv -f UTF-8 -t GBK %s | openssl dgst -sha256 -sign %s/app-private-pkcs8.pem | "
		 "openssl base64 -A",
		 tmp, test_key_dir);
	expected = test_run(cmd);
	unlink(tmp);
	CHECK_STR_EQ(sig, expected);
	CHECK(strlen(sig) == 344);

	/* And the UTF-8 bytes give another signature: the charset matters. */
	free(sig);
	CHECK(alipay_sign(key, ALIPAY_SIGN_RSA2, ss, strlen(ss), &sig) == 0);
	CHECK(strcmp(sig, expected) != 0);
	free(sig);
	free(expected);
	free(gbk);
	EVP_PKEY_free(key);
}

static void
test_sign_verify(void)
{
	EVP_PKEY *priv = test_load_private("alipay-private.pem");
	EVP_PKEY *pub = test_load_public("alipay-public.b64");
	EVP_PKEY *other = test_load_public("app-public.pem");
	char *sig = NULL, *sha1 = NULL;

	CHECK(alipay_sign(priv, ALIPAY_SIGN_RSA2, "hello", 5, &sig) == 0);
	CHECK(alipay_verify(pub, ALIPAY_SIGN_RSA2, "hello", 5, sig) == 0);
	CHECK(alipay_verify(pub, ALIPAY_SIGN_RSA2, "hellp", 5, sig) == -EBADMSG);
	CHECK(alipay_verify(pub, ALIPAY_SIGN_RSA, "hello", 5, sig) == -EBADMSG);
	CHECK(alipay_verify(other, ALIPAY_SIGN_RSA2, "hello", 5, sig) == -EBADMSG);
	CHECK(alipay_sign(priv, ALIPAY_SIGN_RSA, "hello", 5, &sha1) == 0);
	CHECK(strcmp(sig, sha1) != 0);
	CHECK(alipay_verify(pub, ALIPAY_SIGN_RSA, "hello", 5, sha1) == 0);
	/* Malformed base64 is refused before any RSA work. */
	CHECK(alipay_verify(pub, ALIPAY_SIGN_RSA2, "hello", 5, "abc") == -EBADMSG);
	CHECK(alipay_verify(pub, ALIPAY_SIGN_RSA2, "hello", 5, "ab=c") == -EBADMSG);
	CHECK(alipay_verify(pub, ALIPAY_SIGN_RSA2, "hello", 5, "") == -EBADMSG);
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	CHECK(alipay_verify(pub, ALIPAY_SIGN_RSA2, "hello", 5, sig) == -EBADMSG);
	free(sig);
	free(sha1);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(other);

	enum alipay_sign_type t;
	CHECK(alipay_sign_type_from_string("RSA2", &t) == 0 && t == ALIPAY_SIGN_RSA2);
	CHECK(alipay_sign_type_from_string("rsa2", &t) == -EINVAL);
}

int
main(int argc, char **argv)
{
	test_set_key_dir(argc, argv);
	test_protocol_example();
	test_byte_order();
	test_limits();
	test_charsets();
	test_gbk_signature_matches_openssl();
	test_sign_verify();
	return 0;
}
