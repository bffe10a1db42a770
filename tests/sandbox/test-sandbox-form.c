/* SPDX-License-Identifier: MIT */
/* Unit tests of the sandbox's request parsing, string to sign, charsets, keys and cert SNs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "common/macro.h"
#include "sandbox/crypto.h"
#include "sandbox/form.h"
#include "test.h"

static const char *keys, *certs;

static void
test_parse(void)
{
	struct sb_params p = {};
	static const char s[] = "a=1&b=x+y%20z&c=%zz&&d&e=%E4%B8%AD&a=2&f=%4";

	CHECK_INT_EQ(sb_params_parse(&p, s, strlen(s)), 0);
	CHECK_INT_EQ(p.n, 6);
	CHECK_STR_EQ(sb_params_get(&p, "a"), "1"); /* the first (query) value wins */
	CHECK_STR_EQ(sb_params_get(&p, "b"), "x y z");
	CHECK_STR_EQ(sb_params_get(&p, "c"), "%zz");
	CHECK_STR_EQ(sb_params_get(&p, "d"), "");
	CHECK_STR_EQ(sb_params_get(&p, "e"), "中");
	CHECK_STR_EQ(sb_params_get(&p, "f"), "%4");
	CHECK(!sb_params_get(&p, "g"));
	sb_params_free(&p);

	CHECK_INT_EQ(sb_params_parse(&p, "a=%00", 5), -EBADMSG);
	sb_params_free(&p);
	CHECK_INT_EQ(sb_params_parse(&p, "a=b\0c", 5), -EBADMSG);
	sb_params_free(&p);
	CHECK_INT_EQ(sb_params_parse(&p, "=x", 2), -EBADMSG);
	sb_params_free(&p);
	/* The length bounds the parse: no read past it. */
	CHECK_INT_EQ(sb_params_parse(&p, "a=1&b=2", 3), 0);
	CHECK_INT_EQ(p.n, 1);
	sb_params_free(&p);
}

static void
test_limit(void)
{
	struct sb_params p = {};
	struct buf b = BUF_INIT(1 << 20);

	for (int i = 0; i < SB_PARAMS_MAX; i++)
		CHECK(buf_printf(&b, "%sk%d=v", i ? "&" : "", i) == 0);
	CHECK_INT_EQ(sb_params_parse(&p, b.data, b.len), 0);
	CHECK_INT_EQ(p.n, SB_PARAMS_MAX);
	sb_params_free(&p);
	CHECK(buf_puts(&b, "&one=more") == 0);
	CHECK_INT_EQ(sb_params_parse(&p, b.data, b.len), -E2BIG);
	sb_params_free(&p);
	buf_free(&b);
}

static void
test_sign_string(void)
{
	struct sb_params p = {};
	struct buf s = BUF_INIT(4096);
	static const char q[] =
		"timestamp=2026-11-26+13%3A41%3A25&sign=xyz&app_id=2021000000000001&"
		"version=1.0&sign_type=RSA2&method=alipay.trade.query&charset=utf-8&"
		"notify_url=&biz_content=%7B%22out_trade_no%22%3A%22a+b%2Fc%22%7D";

	CHECK_INT_EQ(sb_params_parse(&p, q, strlen(q)), 0);
	/* doc/protocol.md §2.1: its example, plus the empty notify_url the Node SDK sends. */
	CHECK_INT_EQ(sb_params_sign_string(&p, 0, &s), 0);
	CHECK_STR_EQ(s.data, "app_id=2021000000000001&biz_content={\"out_trade_no\":\"a b/c\"}&"
			     "charset=utf-8&method=alipay.trade.query&notify_url=&sign_type=RSA2&"
			     "timestamp=2026-11-26 13:41:25&version=1.0");
	buf_truncate(&s, 0);
	/* doc/protocol.md §4: notifications drop sign_type and empties. */
	CHECK_INT_EQ(sb_params_sign_string(&p, SB_SIGN_DROP_SIGN_TYPE | SB_SIGN_DROP_EMPTY, &s), 0);
	CHECK_STR_EQ(s.data, "app_id=2021000000000001&biz_content={\"out_trade_no\":\"a b/c\"}&"
			     "charset=utf-8&method=alipay.trade.query&"
			     "timestamp=2026-11-26 13:41:25&version=1.0");
	buf_free(&s);
	sb_params_free(&p);
}

static void
test_encode(void)
{
	struct sb_params p = {};
	struct buf s = BUF_INIT(4096);

	CHECK_INT_EQ(sb_params_set(&p, "k", "a b*-._~/中&="), 0);
	CHECK_INT_EQ(sb_params_set(&p, "x", ""), 0);
	CHECK_INT_EQ(sb_params_encode(&p, &s), 0);
	CHECK_STR_EQ(s.data, "k=a+b*-._%7E%2F%E4%B8%AD%26%3D&x=");
	/* Round trip. */
	{
		struct sb_params r = {};
		CHECK_INT_EQ(sb_params_parse(&r, s.data, s.len), 0);
		CHECK_STR_EQ(sb_params_get(&r, "k"), "a b*-._~/中&=");
		sb_params_free(&r);
	}
	buf_free(&s);
	sb_params_free(&p);
}

static void
test_charsets(void)
{
	_cleanup_free_ char *g = NULL, *u = NULL;
	size_t len = 0;

	CHECK_INT_EQ(sb_charset_from_string("UTF-8"), SB_CHARSET_UTF8);
	CHECK_INT_EQ(sb_charset_from_string("gbk"), SB_CHARSET_GBK);
	CHECK_INT_EQ(sb_charset_from_string("latin1"), SB_CHARSET_UNKNOWN);
	CHECK_INT_EQ(sb_charset_from_utf8(SB_CHARSET_GBK, "中文", strlen("中文"), &g, &len), 0);
	CHECK_MEM_EQ(g, len, "\xd6\xd0\xce\xc4", 4);
	CHECK_INT_EQ(sb_charset_to_utf8(SB_CHARSET_GBK, g, len, &u), 0);
	CHECK_STR_EQ(u, "中文");
	free(u);
	u = NULL;
	CHECK_INT_EQ(sb_charset_to_utf8(SB_CHARSET_GBK, "\x81", 1, &u), -EILSEQ);
	CHECK_INT_EQ(sb_charset_to_utf8(SB_CHARSET_UTF8, "\xd6\xd0", 2, &u), -EILSEQ);

	CHECK(sb_utf8_valid("abc 中文 😀", strlen("abc 中文 😀")));
	CHECK(!sb_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	CHECK(!sb_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
	CHECK(!sb_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!sb_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	CHECK(!sb_utf8_valid("\xe4\xb8", 2));         /* truncated */
	CHECK(!sb_utf8_valid("\x80", 1));
}

static char *
path_of(const char *dir, const char *name)
{
	char *p = NULL;

	CHECK(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void
test_keys_and_signatures(void)
{
	_cleanup_free_ char *priv_path = path_of(keys, "app-private.pem"),
			    *pub_path = path_of(keys, "app-public.pem"), *sig = NULL, *sig1 = NULL;
	EVP_PKEY *priv = NULL, *pub = NULL, *pub2 = NULL, *priv2 = NULL;
	char tmp[] = "/tmp/sandbox-key-XXXXXX";
	static const char msg[] = "a=1&b=中文";
	FILE *f;
	int fd;

	CHECK_INT_EQ(sb_key_load_private(priv_path, &priv), 0);
	CHECK_INT_EQ(sb_key_load_public(pub_path, &pub), 0);
	CHECK(sb_key_load_public(priv_path, &pub2) < 0); /* a private key is not a public key */

	CHECK_INT_EQ(sb_sign(priv, SB_SIGN_RSA2, msg, strlen(msg), &sig), 0);
	CHECK_INT_EQ(strlen(sig), 344); /* doc/protocol.md §2.2: 2048-bit key */
	CHECK_INT_EQ(sb_verify(pub, SB_SIGN_RSA2, msg, strlen(msg), sig), 1);
	CHECK_INT_EQ(sb_verify(pub, SB_SIGN_RSA, msg, strlen(msg), sig), 0);
	CHECK_INT_EQ(sb_verify(pub, SB_SIGN_RSA2, msg, strlen(msg) - 1, sig), 0);
	CHECK_INT_EQ(sb_verify(pub, SB_SIGN_RSA2, msg, strlen(msg), "not base64!"), 0);
	CHECK_INT_EQ(sb_verify(pub, SB_SIGN_RSA2, msg, strlen(msg), ""), 0);
	CHECK_INT_EQ(sb_sign(priv, SB_SIGN_RSA, msg, strlen(msg), &sig1), 0);
	CHECK_INT_EQ(sb_verify(pub, SB_SIGN_RSA, msg, strlen(msg), sig1), 1);

	/* Bare base64 (no armour) public key, and a PKCS#1 private key. */
	fd = mkstemp(tmp);
	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	CHECK(f);
	{
		_cleanup_fclose_ FILE *in = fopen(pub_path, "re");
		char line[256];

		CHECK(in);
		while (fgets(line, sizeof(line), in))
			if (line[0] != '-')
				fputs(line, f);
	}
	fclose(f);
	CHECK_INT_EQ(sb_key_load_public(tmp, &pub2), 0);
	CHECK_INT_EQ(sb_verify(pub2, SB_SIGN_RSA2, msg, strlen(msg), sig), 1);
	{
		BIO *bio = BIO_new_file(tmp, "w");

		CHECK(bio);
		CHECK(PEM_write_bio_PrivateKey_traditional(bio, priv, NULL, NULL, 0, NULL, NULL) ==
		      1);
		BIO_free(bio);
	}
	CHECK_INT_EQ(sb_key_load_private(tmp, &priv2), 0);
	unlink(tmp);
	{
		_cleanup_free_ char *sig2 = NULL;
		CHECK_INT_EQ(sb_sign(priv2, SB_SIGN_RSA2, msg, strlen(msg), &sig2), 0);
		CHECK_STR_EQ(sig2, sig); /* deterministic: same key, same bytes */
	}
	EVP_PKEY_free(priv);
	EVP_PKEY_free(priv2);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pub2);
}

static void
test_cert_sn(void)
{
	_cleanup_free_ char *app = path_of(certs, "app-cert.pem"),
			    *alipay = path_of(certs, "alipay-cert.pem"),
			    *root = path_of(certs, "root.pem"), *root_sn = NULL;
	char sn[SB_CERT_SN_LEN + 1];
	X509 *x = NULL;

	/* Expected values computed by the official Node SDK's antcertutil for the same files. */
	CHECK_INT_EQ(sb_cert_load(app, &x), 0);
	CHECK_INT_EQ(sb_cert_sn(x, sn), 0);
	CHECK_STR_EQ(sn, "29a686b5eab89a28c77c738c8ed2262a");
	X509_free(x);
	CHECK_INT_EQ(sb_cert_load(alipay, &x), 0);
	CHECK_INT_EQ(sb_cert_sn(x, sn), 0);
	CHECK_STR_EQ(sn, "3655fef2071ca500a94e6b9b1ccd72ef");
	X509_free(x);
	CHECK_INT_EQ(sb_root_cert_sn(root, &root_sn), 0);
	CHECK_STR_EQ(root_sn, "4a9afaf91bf93e89cfd6865a8e0d7a8d");
}

int
main(int argc, char **argv)
{
	CHECK(argc == 3);
	keys = argv[1];
	certs = argv[2];
	test_parse();
	test_limit();
	test_sign_string();
	test_encode();
	test_charsets();
	test_keys_and_signatures();
	test_cert_sn();
	return 0;
}
