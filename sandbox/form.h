/* SPDX-License-Identifier: MIT */
/* Request parameters of the emulated gateway: form decoding, query ∪ body, charsets. */
#pragma once

#include <stddef.h>

#include "common/buf.h"

/* Input limits (doc/style.md §5): a request carries at most this many parameters in all. */
#define SB_PARAMS_MAX 256

struct sb_param {
	char *key;   /* decoded bytes, NUL-terminated, no embedded NUL */
	char *value; /* decoded bytes in the request's charset, NUL-terminated */
};

struct sb_params {
	struct sb_param *v;
	size_t n;
};

/*
 * doc/protocol.md §2: decodes one application/x-www-form-urlencoded string (`+` is a space, `%XX` a
 * byte, a malformed escape stays literal) and appends its pairs to p. A key already present is
 * kept with its first value (the query is merged first, so it wins over the body).
 * Returns 0; -E2BIG past SB_PARAMS_MAX parameters; -EBADMSG for a NUL byte or an empty key;
 * -ENOMEM. On error p keeps what was appended so far (free it with sb_params_free()).
 */
int sb_params_parse(struct sb_params *p, const char *s, size_t len);

/* Returns the value of key (borrowed from p) or NULL. */
const char *sb_params_get(const struct sb_params *p, const char *key);

/* Adds a pair (copied). Replaces the value when the key is present. */
int sb_params_set(struct sb_params *p, const char *key, const char *value);

void sb_params_free(struct sb_params *p);

enum sb_sign_string_flags {
	SB_SIGN_DROP_SIGN_TYPE = 1 << 0, /* notifications, doc/protocol.md §4 */
	SB_SIGN_DROP_EMPTY = 1 << 1,     /* the documented rule; requests keep what was sent */
};

/*
 * doc/protocol.md §2.1/§4: every parameter except `sign` (and `sign_type` with
 * SB_SIGN_DROP_SIGN_TYPE), sorted by key bytes, `k=v` joined by `&`, values raw. Appends to out.
 */
int sb_params_sign_string(const struct sb_params *p, unsigned flags, struct buf *out);

/* Appends p form-encoded (doc/protocol.md §2: alphanumerics and `*-._` literal, space `+`). */
int sb_params_encode(const struct sb_params *p, struct buf *out);

/* Appends s form-encoded to out. */
int sb_form_escape(const char *s, struct buf *out);

/* Charsets the gateway accepts: 1 = UTF-8, 2 = GBK, 0 = unknown. Case-insensitive. */
enum sb_charset {
	SB_CHARSET_UNKNOWN = 0,
	SB_CHARSET_UTF8 = 1,
	SB_CHARSET_GBK = 2,
};
enum sb_charset sb_charset_from_string(const char *s);
const char *sb_charset_name(enum sb_charset cs);

/*
 * Converts len bytes of s from cs to UTF-8 (or validates UTF-8). Returns a new NUL-terminated
 * string in *ret; -EILSEQ for bytes invalid in cs; -ENOMEM.
 */
int sb_charset_to_utf8(enum sb_charset cs, const char *s, size_t len, char **ret);

/* The reverse: UTF-8 to cs. -EILSEQ when a character has no mapping. */
int sb_charset_from_utf8(enum sb_charset cs, const char *s, size_t len, char **ret,
			 size_t *ret_len);

/* 1 if the len bytes at s are valid UTF-8 (no overlongs, no surrogates), else 0. */
int sb_utf8_valid(const char *s, size_t len);
