/* SPDX-License-Identifier: MIT */
/* Ordered key/value parameter lists, the string to sign, and UTF-8 <-> GBK conversion. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* doc/protocol.md §2: the two charsets the gateway speaks. */
enum alipay_charset {
	ALIPAY_CHARSET_UTF8,
	ALIPAY_CHARSET_GBK,
	_ALIPAY_CHARSET_MAX,
};

/* Limits (doc/style.md §5: input limits everywhere). */
#define ALIPAY_PARAMS_MAX      128           /* parameters in one request or notification */
#define ALIPAY_PARAM_KEY_MAX   64            /* bytes in one key */
#define ALIPAY_PARAM_VALUE_MAX (64u * 1024u) /* bytes in one value (biz_content included) */

/* "utf-8" / "GBK", as the Node SDK and Alipay write them; NULL when out of range. */
const char *alipay_charset_to_string(enum alipay_charset c);
/* Case-insensitive "utf-8", "utf8", "gbk"; -EINVAL otherwise. */
int alipay_charset_from_string(const char *s, enum alipay_charset *ret);

/*
 * Converts `len` bytes between UTF-8 and `cs` with iconv (UTF-8 → UTF-8 is a validated copy).
 * *ret is new and NUL-terminated (caller frees), *ret_len its length. -EILSEQ for bytes that are
 * invalid in the source charset or have no mapping in the target one, -ENOMEM.
 */
int alipay_charset_from_utf8(enum alipay_charset cs, const char *s, size_t len, char **ret,
			     size_t *ret_len);
int alipay_charset_to_utf8(enum alipay_charset cs, const char *s, size_t len, char **ret,
			   size_t *ret_len);

struct alipay_param {
	char *key;
	char *value;
};

/*
 * An ordered list, insertion order kept (the order parameters travel in). Keys are unique.
 * Values are NUL-terminated strings, normally UTF-8 (form decoding converts from the body's
 * charset). Initialise with ALIPAY_PARAMS_INIT, release with alipay_params_done().
 */
struct alipay_params {
	struct alipay_param *items;
	size_t n;
	size_t cap;
};

#define ALIPAY_PARAMS_INIT ((struct alipay_params){0})

/*
 * Appends key=value (both copied). -EEXIST if the key is there already, -E2BIG past
 * ALIPAY_PARAMS_MAX, -EINVAL for an empty or over-long key or an over-long value.
 */
int alipay_params_add(struct alipay_params *p, const char *key, const char *value);
/* Like add, but replaces the value of an existing key in place. value NULL removes the key. */
int alipay_params_set(struct alipay_params *p, const char *key, const char *value);
/* Borrowed value or NULL. */
const char *alipay_params_get(const struct alipay_params *p, const char *key);
/* Frees every entry (values wiped: they may carry tokens) and resets *p. NULL-safe. */
void alipay_params_done(struct alipay_params *p);

enum alipay_sign_string_flags {
	/* doc/protocol.md §2.1 step 2 / §4: drop empty values. A verifier of requests does NOT set
	 * it. */
	ALIPAY_SIGN_STRING_DROP_EMPTY = 1 << 0,
	/* doc/protocol.md §4: notifications leave sign_type out; requests keep it. */
	ALIPAY_SIGN_STRING_DROP_SIGN_TYPE = 1 << 1,
};

/*
 * doc/protocol.md §2.1: every parameter except `sign`, sorted by key in byte order, joined as
 * "k=v&k=v" with raw values. *ret is a new NUL-terminated UTF-8 string (caller frees; convert
 * to the charset with alipay_charset_from_utf8() before signing).
 */
int alipay_params_sign_string(const struct alipay_params *p, unsigned flags, char **ret);
