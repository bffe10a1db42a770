/* SPDX-License-Identifier: MIT */
/* How the journal keeps a notification's body: the exact bytes, deflated with a fixed dictionary.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * doc/engine.md "Notifications". A codec is journaled beside every body and never changes once
 * released: a journal written today must give back the same bytes in ten years, so a better
 * dictionary is a new codec, never an edit of an old one.
 */
enum journal_body_codec {
	JOURNAL_BODY_RAW = 0,   /* the bytes as received (schema 4 and before) */
	JOURNAL_BODY_DICT1 = 1, /* raw deflate (RFC 1951) with the dictionary of journal-body.c */
	/* The signature's bytes as they are (not their base64 text), the rest deflated with
	 * DICT1's dictionary followed by the journal's own (schema 6, see journal_body_pack2()). */
	JOURNAL_BODY_SPLIT = 2,
	_JOURNAL_BODY_CODEC_MAX,
};

/* The largest body the journal keeps (the notify listener's body_limit is at most 1 MiB). */
#define JOURNAL_BODY_MAX (1024u * 1024u)

/*
 * Packs size bytes of body (borrowed) with JOURNAL_BODY_DICT1. *ret is new (free()), *ret_size
 * its length. -E2BIG above JOURNAL_BODY_MAX, -ENOMEM.
 */
int journal_body_pack(const void *body, size_t size, void **ret, size_t *ret_size);

/* The largest journal dictionary: a notification's worth; more would not be reached. */
#define JOURNAL_BODY_DICT_MAX 4096u

/*
 * Packs size bytes of body (borrowed) with JOURNAL_BODY_SPLIT: when the form field sign holds
 * base64 text that its bytes give back exactly (standard alphabet, padded, '+', '/' and '='
 * written %2B, %2F and %3D, as Alipay sends it), those bytes are kept raw and the text is made
 * again when unpacking; the rest (or the whole body, when the signature is not so written) is
 * deflated with DICT1's dictionary followed by dict (borrowed, dict_size bytes, at most
 * JOURNAL_BODY_DICT_MAX; may be NULL and 0). The same dict is needed to unpack. *ret is new
 * (free()), *ret_size its length. -E2BIG above JOURNAL_BODY_MAX or a dict too big, -ENOMEM.
 */
int journal_body_pack2(const void *body, size_t size, const void *dict, size_t dict_size,
		       void **ret, size_t *ret_size);

/*
 * A journal's dictionary made of a notification: the body (borrowed) without its signature's
 * value, cut to JOURNAL_BODY_DICT_MAX bytes. *ret is new (free()). -ENOMEM.
 */
int journal_body_dict_make(const void *body, size_t size, void **ret, size_t *ret_size);

/*
 * Like journal_body_unpack(), with the journal's dictionary a JOURNAL_BODY_SPLIT body was
 * packed with (borrowed; NULL and 0 for none).
 */
int journal_body_unpack_dict(int codec, const void *data, size_t size, size_t original_size,
			     const void *dict, size_t dict_size, void **ret);

/*
 * Gives back the exact bytes packed with `codec`: size bytes of data (borrowed), which must
 * unpack to exactly original_size bytes. *ret is new (free()), NUL-terminated after its
 * original_size bytes. -EBADMSG for data that does not unpack to that size, -EINVAL for an
 * unknown codec, -E2BIG above JOURNAL_BODY_MAX, -ENOMEM.
 */
int journal_body_unpack(int codec, const void *data, size_t size, size_t original_size, void **ret);

/*
 * The value of the form field notify_id in body (size bytes, borrowed), as it is written there,
 * into buf (at most n - 1 bytes and a NUL). 0, -ENOENT when there is none, -E2BIG when it does
 * not fit.
 */
int journal_body_notify_id(const char *body, size_t size, char *buf, size_t n);

/* doc/engine.md "Notifications": the 63-bit key a notify_id is indexed by (FNV-1a). */
int64_t journal_notify_key(const char *notify_id);
