/* SPDX-License-Identifier: MIT */
/* application/x-www-form-urlencoded encoding and decoding in a given charset. */
#pragma once

#include <stddef.h>

#include "common/buf.h"
#include "payment/params.h"

/* Largest form body accepted: a notification or a request is a few KiB. */
#define ALIPAY_FORM_MAX (256u * 1024u)

/*
 * doc/protocol.md §2: appends `len` bytes (already in the target charset) to b, form-encoded: space
 * →
 * '+', ASCII alphanumerics and "*-._" literal, every other byte "%XX" (upper-case hex).
 */
int alipay_form_encode_bytes(struct buf *b, const char *s, size_t len);

/*
 * Encodes the whole list as "k=v&k=v" in list order, keys and values (UTF-8) converted to `cs`
 * first. *ret is new and NUL-terminated (caller frees), *ret_len its length (ret_len may be
 * NULL). -EILSEQ when a value has no mapping in cs.
 */
int alipay_form_encode(const struct alipay_params *p, enum alipay_charset cs, char **ret,
		       size_t *ret_len);

/*
 * Decodes a form body exactly once ('+' → space, "%XX" → byte; doc/protocol.md §4: never twice)
 * into a new list of raw byte values (not converted; may hold GBK). Empty pieces between '&' are
 * skipped; a piece without '=' is a key with an empty value. Rejects (-EBADMSG) a malformed
 * escape, a NUL byte, a duplicate key; -E2BIG beyond ALIPAY_FORM_MAX or ALIPAY_PARAMS_MAX.
 * *ret must be ALIPAY_PARAMS_INIT; written only on success.
 */
int alipay_form_decode_raw(const char *body, size_t len, struct alipay_params *ret);

/* Converts every key and value of p from cs to UTF-8 in place. -EILSEQ on invalid bytes. */
int alipay_params_convert_to_utf8(struct alipay_params *p, enum alipay_charset cs);

/* alipay_form_decode_raw() followed by alipay_params_convert_to_utf8(). */
int alipay_form_decode(const char *body, size_t len, enum alipay_charset cs,
		       struct alipay_params *ret);
