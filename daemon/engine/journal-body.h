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
	_JOURNAL_BODY_CODEC_MAX,
};

/* The largest body the journal keeps (the notify listener's body_limit is at most 1 MiB). */
#define JOURNAL_BODY_MAX (1024u * 1024u)

/*
 * Packs size bytes of body (borrowed) with JOURNAL_BODY_DICT1. *ret is new (free()), *ret_size
 * its length. -E2BIG above JOURNAL_BODY_MAX, -ENOMEM.
 */
int journal_body_pack(const void *body, size_t size, void **ret, size_t *ret_size);

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
