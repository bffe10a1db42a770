/* SPDX-License-Identifier: MIT */
/* The strict JSON check from tables: what passes, and where and why the rest is refused. */
#include <errno.h>

#include "common/json-strict.h"
#include "common/macro.h"
#include "test.h"

static const char *const good[] = {
	"{}",
	" [1, -0.5e+3, true, false, null, \"\"] ",
	"{\"a\":{\"a\":1},\"b\":{\"a\":2}}",     /* the same key in two objects */
	"{\"a\":[{\"k\":1},{\"k\":2}],\"k\":3}", /* and in sibling objects of an array */
	"\"\\ud83d\\ude00\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\\u0000\"",
	"\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80\"", /* U+FFFF U+10FFFF U+D7FF U+E000
								     */
};

static const struct {
	const char *text;
	size_t offset;
	const char *message;
	const char *key; /* duplicate key, or NULL */
} bad[] = {
	{"{\"a\":1,\"a\":2}", 7, "duplicate key \"a\"", "a"},
	{"{\"a\":1,\"b\":{\"c\":1,\"c\":2}}", 18, "duplicate key \"c\"", "c"},
	{"{\"\xc3\xa9\":1,\"\\u00e9\":2}", 8, "duplicate key \"??\"", "??"},
	{"{\"a\\nb\":1,\"a\\u000ab\":2}", 10, "duplicate key \"a?b\"", "a?b"},
	{"\"\xc0\xae\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\xc1\xbf\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\xe0\x9f\xbf\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\xf0\x8f\xbf\xbf\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\xed\xa0\x80\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\xed\xbf\xbf\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\xf4\x90\x80\x80\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\xf5\x80\x80\x80\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\x80\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\xe2\x82\"", 1, "invalid UTF-8 in a string", NULL},
	{"\"\\ud800\"", 1, "lone surrogate \\ud800", NULL},
	{"\"\\udbff\\u0041\"", 1, "lone surrogate \\udbff", NULL},
	{"\"\\ud800\\ud800\"", 1, "lone surrogate \\ud800", NULL},
	{"\"\\udfff\"", 1, "lone surrogate \\udfff", NULL},
	{"\"\\ud800", 1, "lone surrogate \\ud800", NULL},
	{"\"\\u12g4\"", 5, "bad hex digit in a \\u escape", NULL},
	{"\"\\x\"", 1, "bad escape \\x", NULL},
	{"\"a\tb\"", 2, "unescaped control character in a string", NULL},
	{"\"abc", 0, "unterminated string", NULL},
	{"{\"a\":1,}", 7, "a string key is expected", NULL},
	{"[1,]", 3, "unexpected character", NULL},
	{"[01]", 2, "',' or ']' is expected", NULL},
	{"[1.]", 1, "bad number", NULL},
	{"{} x", 3, "trailing characters", NULL},
	{"", 0, "unexpected end of input", NULL},
	{"[[[[[1]]]]]", 4, "nested deeper than 4", NULL},
	{"nul", 0, "unexpected character", NULL},
};

int
main(void)
{
	struct json_strict_error e;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		int r = json_strict_check(good[i], strlen(good[i]), 4, 0, &e);
		if (r != 0)
			fprintf(stderr, "good[%zu]: %s at %zu\n", i, e.message, e.offset);
		CHECK_INT_EQ(r, 0);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		CHECK_INT_EQ(json_strict_check(bad[i].text, strlen(bad[i].text), 4, 0, &e),
			     -EBADMSG);
		CHECK_STR_EQ(e.message, bad[i].message);
		CHECK_INT_EQ(e.offset, bad[i].offset);
		CHECK_INT_EQ(e.duplicate_key, bad[i].key != NULL);
		if (bad[i].key)
			CHECK_STR_EQ(e.key, bad[i].key);
	}
	/* Text in another charset (GBK "中"): raw bytes pass with the flag, escapes are still
	 * checked and keys still compared. */
	CHECK_INT_EQ(json_strict_check("{\"s\":\"\xd6\xd0\"}", 10, 4, JSON_STRICT_RAW_BYTES, &e),
		     0);
	CHECK_INT_EQ(json_strict_check("{\"s\":\"\xd6\xd0\"}", 10, 4, 0, &e), -EBADMSG);
	CHECK_INT_EQ(json_strict_check("\"\\ud800\"", 8, 4, JSON_STRICT_RAW_BYTES, &e), -EBADMSG);
	CHECK_INT_EQ(json_strict_check("{\"a\":1,\"a\":2}", 13, 4, JSON_STRICT_RAW_BYTES, &e),
		     -EBADMSG);
	/* The raw UTF-8 rule on its own. */
	CHECK_INT_EQ(utf8_valid_prefix("ab\xc3\xa9", 4), 4);
	CHECK_INT_EQ(utf8_valid_prefix("ab\xc0\xae", 4), 2);
	CHECK_INT_EQ(utf8_valid_prefix("\xed\xa0\x80", 3), 0);
	CHECK_INT_EQ(utf8_valid_prefix("a\xf0\x9f\x98", 4), 1);
	printf("json-strict: ok\n");
	return 0;
}
