/* SPDX-License-Identifier: MIT */
/* Tests of form encoding and single-pass decoding (doc/protocol.md §2, §4). */
#include <errno.h>

#include "payment-test.h"
#include "payment/form.h"

static void
test_encode(void)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	char *s = NULL;
	size_t n = 0;

	CHECK(alipay_params_add(&p, "a", "x y*-._~!/&=+%") == 0);
	CHECK(alipay_params_add(&p, "subject", "中文") == 0);
	CHECK(alipay_params_add(&p, "empty", "") == 0);
	CHECK(alipay_form_encode(&p, ALIPAY_CHARSET_UTF8, &s, &n) == 0);
	CHECK_STR_EQ(s, "a=x+y*-._%7E%21%2F%26%3D%2B%25&subject=%E4%B8%AD%E6%96%87&empty=");
	CHECK(n == strlen(s));
	free(s);
	CHECK(alipay_form_encode(&p, ALIPAY_CHARSET_GBK, &s, NULL) == 0);
	CHECK_STR_EQ(s, "a=x+y*-._%7E%21%2F%26%3D%2B%25&subject=%D6%D0%CE%C4&empty=");
	free(s);
	alipay_params_done(&p);
}

static void
test_decode_once(void)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	const char *body = "passback_params=a%253Db%2526c&x=1+2&&flag&subject=%D6%D0%CE%C4";

	CHECK(alipay_form_decode_raw(body, strlen(body), &p) == 0);
	/* doc/protocol.md §4: decoded once, so the merchant's own encoding survives. */
	CHECK_STR_EQ(alipay_params_get(&p, "passback_params"), "a%3Db%26c");
	CHECK_STR_EQ(alipay_params_get(&p, "x"), "1 2");
	CHECK_STR_EQ(alipay_params_get(&p, "flag"), "");
	CHECK_STR_EQ(alipay_params_get(&p, "subject"), "\xd6\xd0\xce\xc4");
	CHECK(alipay_params_convert_to_utf8(&p, ALIPAY_CHARSET_GBK) == 0);
	CHECK_STR_EQ(alipay_params_get(&p, "subject"), "中文");
	alipay_params_done(&p);

	CHECK(alipay_form_decode(body, strlen(body), ALIPAY_CHARSET_UTF8, &p) == -EILSEQ);
	CHECK(p.n == 0);
}

static void
test_decode_rejects(void)
{
	static const char *const bad[] = {
		"a=%", "a=%4", "a=%G1", "a=%00", "a=1&a=2", "=v", "a=%2",
	};
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	char *big;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		CHECK(alipay_form_decode_raw(bad[i], strlen(bad[i]), &p) == -EBADMSG);
	CHECK(alipay_form_decode_raw("a=b\0c", 5, &p) == -EBADMSG);
	big = malloc(ALIPAY_FORM_MAX + 2);
	CHECK(big);
	memset(big, 'a', ALIPAY_FORM_MAX + 1);
	CHECK(alipay_form_decode_raw(big, ALIPAY_FORM_MAX + 1, &p) == -E2BIG);
	free(big);
	CHECK(alipay_form_decode_raw("", 0, &p) == 0);
	CHECK(p.n == 0);
}

static void
test_roundtrip(void)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT, q = ALIPAY_PARAMS_INIT;
	const char *v = "ASCII 中文 / & = + % 😀 \"q\"";
	char *s = NULL;

	CHECK(alipay_params_add(&p, "subject", v) == 0);
	CHECK(alipay_form_encode(&p, ALIPAY_CHARSET_UTF8, &s, NULL) == 0);
	CHECK(alipay_form_decode(s, strlen(s), ALIPAY_CHARSET_UTF8, &q) == 0);
	CHECK_STR_EQ(alipay_params_get(&q, "subject"), v);
	free(s);
	alipay_params_done(&p);
	alipay_params_done(&q);
}

int
main(void)
{
	test_encode();
	test_decode_once();
	test_decode_rejects();
	test_roundtrip();
	return 0;
}
