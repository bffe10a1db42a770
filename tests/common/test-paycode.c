/* SPDX-License-Identifier: MIT */
/* The payment-code rule and its masking: edges of length and prefix, text with several codes. */
#include <string.h>

#include "common/paycode.h"
#include "test.h"

static void
mask_text(const char *in, const char *want)
{
	char s[256];

	snprintf(s, sizeof(s), "%s", in);
	paycode_mask_in_text(s);
	CHECK_STR_EQ(s, want);
}

int
main(void)
{
	char m[PAYCODE_MAX_LEN + 1];

	/* Prefix 25–30, 16–24 digits. */
	CHECK(paycode_is_alipay_str("250000000000000000"));
	CHECK(paycode_is_alipay_str("287654321098765430"));
	CHECK(paycode_is_alipay_str("300000000000000000"));
	CHECK(paycode_is_alipay_str("2800000000000000"));           /* 16 */
	CHECK(paycode_is_alipay_str("280000000000000000000000"));   /* 24 */
	CHECK(!paycode_is_alipay_str("280000000000000"));           /* 15 */
	CHECK(!paycode_is_alipay_str("2800000000000000000000000")); /* 25 */
	CHECK(!paycode_is_alipay_str("240000000000000000"));
	CHECK(!paycode_is_alipay_str("310000000000000000"));
	CHECK(!paycode_is_alipay_str("134567890123456789")); /* another wallet */
	CHECK(!paycode_is_alipay_str("28765432109876543a"));
	CHECK(!paycode_is_alipay_str("6901234567892")); /* a product barcode */
	CHECK(!paycode_is_alipay_str(""));
	CHECK(!paycode_is_alipay_str(NULL));
	/* Not NUL-terminated: only len bytes count. */
	CHECK(paycode_is_alipay("2876543210987654301234", 18));

	/* One masking rule: 2 + 4 kept. */
	paycode_mask("287654321098765430", m);
	CHECK_STR_EQ(m, "28************5430");
	paycode_mask("2800000000001234", m);
	CHECK_STR_EQ(m, "28**********1234");
	paycode_mask("1234567", m);
	CHECK_STR_EQ(m, "*******");
	paycode_mask(NULL, m);
	CHECK_STR_EQ(m, "");
	paycode_mask("2876543210987654301234567890", m); /* cut to 24, then masked */
	CHECK_STR_EQ(m, "28******************3456");

	mask_text("auth_code=287654321098765430&x=1", "auth_code=28************5430&x=1");
	mask_text("a 287654321098765430 b 300000000000000001 c 6901234567892",
		  "a 28************5430 b 30************0001 c 6901234567892");
	mask_text("{\"auth_code\":\"2834567890123456770\"}",
		  "{\"auth_code\":\"28*************6770\"}");
	mask_text("trade 2026112622001400000000000001", "trade 2026112622001400000000000001");
	mask_text("", "");

	{
		char secret[] = "287654321098765430";
		paycode_wipe(secret, sizeof(secret));
		for (size_t i = 0; i < sizeof(secret); i++)
			CHECK(secret[i] == 0);
		paycode_wipe(NULL, 3);
	}
	return 0;
}
