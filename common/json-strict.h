/* SPDX-License-Identifier: MIT */
/* A strict JSON check run before json-c: RFC 8259 syntax, unique keys, strict UTF-8. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define JSON_STRICT_MESSAGE_MAX 160

/* Where and why a text was refused. `key` is set for a duplicate key (printable, shortened). */
struct json_strict_error {
	size_t offset; /* byte offset of the fault */
	bool duplicate_key;
	char key[68];
	char message[JSON_STRICT_MESSAGE_MAX];
};

/* JSON_STRICT_RAW_BYTES: bytes above 0x7F in strings are not checked (text in another charset,
 * such as GBK); escapes, keys and syntax still are. */
#define JSON_STRICT_RAW_BYTES (1u << 0)

/*
 * Checks that `len` bytes (borrowed, not necessarily NUL-terminated) are exactly one JSON value
 * with optional whitespace around it, nested at most `max_depth` deep, where:
 *  - no object has the same key twice (keys compared after unescaping: "a" and "\u0061" clash);
 *  - every string is valid UTF-8: no overlong forms (C0 AE), no surrogates (ED A0 80), nothing
 *    above U+10FFFF, raw or escaped: a \uD800-\uDBFF escape must be followed by a \uDC00-\uDFFF
 *    one, and a low surrogate escape never stands alone (\u0000 is left to the caller);
 *  - control characters appear only escaped.
 * json-c accepts duplicate keys (the last one wins) and escaped lone surrogates, hence this.
 * Returns 0, -EBADMSG with *err filled, or -ENOMEM.
 */
int json_strict_check(const char *s, size_t len, unsigned max_depth, unsigned flags,
		      struct json_strict_error *err);

/* JSON_STRICT_RAW_BYTES: bytes above 0x7F in strings are not checked (text in another charset,
 * such as GBK); escapes, keys and syntax still are. */
#define JSON_STRICT_RAW_BYTES (1u << 0)

/*
 * Checks that `len` bytes are valid UTF-8 by the same rules (no overlongs, no surrogates, at
 * most U+10FFFF). Returns the offset of the first bad byte, or `len` when all are valid.
 */
size_t utf8_valid_prefix(const char *s, size_t len);
