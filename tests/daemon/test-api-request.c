/* SPDX-License-Identifier: MIT */
/* API request bodies from tables: what is accepted, and the exact error for what is not. */
#include <errno.h>

#include "common/macro.h"
#include "daemon/api-request.h"
#include "test.h"

static const struct {
	const char *body;
	int64_t amount_fen;
	int mode;
	const char *subject, *auth_code, *pos_ref;
} good_orders[] = {
	{"{\"amount\":\"88.88\"}", 8888, API_ORDER_SCAN, NULL, NULL, NULL},
	{" {\"amount\":\"0.01\",\"mode\":\"qr\"} \n", 1, API_ORDER_QR, NULL, NULL, NULL},
	{"{\"amount\":\"100000000.00\",\"subject\":\"\\u8336 "
	 "tea\",\"auth_code\":\"283456789012345670\","
	 "\"pos_ref\":\"R-1\",\"mode\":\"scan\"}",
	 10000000000, API_ORDER_SCAN, "\xe8\x8c\xb6 tea", "283456789012345670", "R-1"},
	{"{\"amount\":\"5\",\"subject\":null}", 500, API_ORDER_SCAN, NULL, NULL, NULL},
	/* A surrogate pair escaped is one code point; the same keys in two objects do not clash. */
	{"{\"amount\":\"5\",\"subject\":\"\\ud83d\\ude00 \xf0\x9f\x98\x80\"}", 500, API_ORDER_SCAN,
	 "\xf0\x9f\x98\x80 \xf0\x9f\x98\x80", NULL, NULL},
};

static const struct {
	const char *body;
	unsigned status;
	const char *code, *message;
} bad_orders[] = {
	{"", 400, "malformed_json", "empty body: a JSON object is expected"},
	{"{\"amount\":", 400, "malformed_json",
	 "JSON parse error at byte 10: unexpected end of input"},
	{"{\"amount\":\"1\"}}", 400, "malformed_json",
	 "JSON parse error at byte 14: trailing characters"},
	{"{'amount':'1'}", 400, "malformed_json",
	 "JSON parse error at byte 1: a string key is expected"},
	{"{\"amount\":\"1\xff\"}", 400, "malformed_json",
	 "JSON parse error at byte 12: invalid UTF-8 in a string"},
	/* Duplicate keys: json-c would let the last one win and pay 2.00. */
	{"{\"amount\":\"1.00\",\"amount\":\"2.00\"}", 400, "duplicate_key",
	 "duplicate key \"amount\" at byte 17"},
	{"{\"amount\":\"1.00\",\"\\u0061mount\":\"2.00\"}", 400, "duplicate_key",
	 "duplicate key \"amount\" at byte 17"},
	{"{\"amount\":\"1\",\"subject\":\"x\",\"mode\":\"qr\",\"subject\":\"y\"}", 400,
	 "duplicate_key", "duplicate key \"subject\" at byte 40"},
	/* Strict UTF-8, raw or escaped: an overlong '.', surrogates, beyond U+10FFFF. */
	{"{\"amount\":\"1\",\"subject\":\"a\xc0\xae\"}", 400, "malformed_json",
	 "JSON parse error at byte 26: invalid UTF-8 in a string"},
	{"{\"amount\":\"1\",\"subject\":\"\xe0\x80\xae\"}", 400, "malformed_json",
	 "JSON parse error at byte 25: invalid UTF-8 in a string"},
	{"{\"amount\":\"1\",\"subject\":\"\xed\xa0\x80\"}", 400, "malformed_json",
	 "JSON parse error at byte 25: invalid UTF-8 in a string"},
	{"{\"amount\":\"1\",\"subject\":\"\xf4\x90\x80\x80\"}", 400, "malformed_json",
	 "JSON parse error at byte 25: invalid UTF-8 in a string"},
	{"{\"amount\":\"1\",\"subject\":\"\\ud800\"}", 400, "malformed_json",
	 "JSON parse error at byte 25: lone surrogate \\ud800"},
	{"{\"amount\":\"1\",\"subject\":\"\\udc00x\"}", 400, "malformed_json",
	 "JSON parse error at byte 25: lone surrogate \\udc00"},
	{"{\"amount\":\"1\",\"subject\":\"\\ud800\\ud800\"}", 400, "malformed_json",
	 "JSON parse error at byte 25: lone surrogate \\ud800"},
	{"\"1.00\"", 400, "malformed_json", "a JSON object is expected"},
	{"{\"amount\":\"-1\"}", 400, "invalid_amount",
	 "'amount' must be yuan with at most two decimals, such as \"88.88\""},
	{"{\"amount\":\"1e3\"}", 400, "invalid_amount",
	 "'amount' must be yuan with at most two decimals, such as \"88.88\""},
	{"{\"amount\":\"0.001\"}", 400, "invalid_amount",
	 "'amount' must be yuan with at most two decimals, such as \"88.88\""},
	{"{\"amount\":\"abc\"}", 400, "invalid_amount",
	 "'amount' must be yuan with at most two decimals, such as \"88.88\""},
	{"{\"amount\":\"0.00\"}", 400, "invalid_amount",
	 "'amount' must be from 0.01 to 100000000.00"},
	{"{\"amount\":88.88}", 400, "invalid_amount",
	 "'amount' must be a string such as \"88.88\""},
	{"{\"subject\":\"x\"}", 400, "invalid_amount", "'amount' is required"},
	{"{\"amount\":\"1\",\"x\":1}", 400, "unknown_field", "unknown field 'x'"},
	{"{\"amount\":\"1\",\"mode\":\"QR\"}", 400, "invalid_field",
	 "'mode' must be \"scan\" or \"qr\""},
	{"{\"amount\":\"1\",\"subject\":\"\"}", 400, "invalid_field",
	 "'subject' must not be empty"},
	{"{\"amount\":\"1\",\"pos_ref\":\"a\\u0000b\"}", 400, "invalid_field",
	 "'pos_ref' contains control characters"},
	{"{\"amount\":\"1\",\"auth_code\":\"28 1\"}", 400, "invalid_field",
	 "'auth_code' must be digits"},
	{"{\"amount\":\"1\",\"auth_code\":\"123456789012345678901234567890123\"}", 400,
	 "invalid_field", "'auth_code' is longer than 32 bytes"},
};

int
main(void)
{
	for (size_t i = 0; i < ELEMENTSOF(good_orders); i++) {
		struct api_order_request r;
		struct api_error e = {};
		CHECK_INT_EQ(api_order_request_parse(good_orders[i].body,
						     strlen(good_orders[i].body), &r, &e),
			     0);
		CHECK_INT_EQ(r.amount_fen, good_orders[i].amount_fen);
		CHECK_INT_EQ(r.mode, good_orders[i].mode);
		CHECK(!r.subject == !good_orders[i].subject);
		if (r.subject)
			CHECK_STR_EQ(r.subject, good_orders[i].subject);
		CHECK(!r.auth_code == !good_orders[i].auth_code);
		if (r.auth_code)
			CHECK_STR_EQ(r.auth_code, good_orders[i].auth_code);
		CHECK(!r.pos_ref == !good_orders[i].pos_ref);
		if (r.pos_ref)
			CHECK_STR_EQ(r.pos_ref, good_orders[i].pos_ref);
		api_order_request_done(&r);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad_orders); i++) {
		struct api_order_request r = {};
		struct api_error e = {};
		CHECK_INT_EQ(api_order_request_parse(bad_orders[i].body, strlen(bad_orders[i].body),
						     &r, &e),
			     -EINVAL);
		CHECK_INT_EQ(e.status, bad_orders[i].status);
		CHECK_STR_EQ(e.code, bad_orders[i].code);
		CHECK_STR_EQ(e.message, bad_orders[i].message);
	}
	/* A body with a NUL inside is refused, not cut short. */
	{
		struct api_order_request r = {};
		struct api_error e = {};
		CHECK_INT_EQ(api_order_request_parse("{\"amount\":\"1\"}\0x", 16, &r, &e), -EINVAL);
		CHECK_STR_EQ(e.message, "NUL byte at byte 14");
	}
	/* Refunds. */
	{
		struct api_refund_request r;
		struct api_error e = {};
		const char *b = "{\"amount\":\"1.00\",\"reason\":\"damaged\"}";
		CHECK_INT_EQ(api_refund_request_parse(b, strlen(b), &r, &e), 0);
		CHECK_INT_EQ(r.amount_fen, 100);
		CHECK_STR_EQ(r.reason, "damaged");
		api_refund_request_done(&r);
		b = "{\"amount\":\"1.00\",\"auth_code\":\"1\"}";
		CHECK_INT_EQ(api_refund_request_parse(b, strlen(b), &r, &e), -EINVAL);
		CHECK_STR_EQ(e.code, "unknown_field");
	}
	/* Path and query parameters. */
	CHECK(api_order_id_valid("T01_20261126_1"));
	CHECK(!api_order_id_valid(""));
	CHECK(!api_order_id_valid("a/b"));
	CHECK(!api_order_id_valid("a.b"));
	CHECK(api_date_valid("2026-11-26"));
	CHECK(!api_date_valid("2026-02-30"));
	CHECK(!api_date_valid("20261126"));
	CHECK(api_state_valid("PAID"));
	CHECK(!api_state_valid("paid"));
	printf("api requests: ok\n");
	return 0;
}
