/* SPDX-License-Identifier: MIT */
/* Asynchronous notifications: verification and typed fields; and signing them (sandbox). */
#pragma once

#include <stdint.h>

#include <openssl/evp.h>

#include "payment/params.h"
#include "payment/sign.h"
#include "payment/trade.h"

/*
 * A verified notification. `fields` holds every decoded field (UTF-8, sign and sign_type
 * included, as received); the const char * members borrow from it (NULL when absent). Amounts
 * are in fen, ALIPAY_AMOUNT_NONE when absent.
 */
struct alipay_notify {
	struct alipay_params fields;
	enum alipay_charset charset;
	enum alipay_sign_type sign_type;
	const char *notify_id;
	const char *notify_type;
	const char *notify_time;
	const char *app_id;
	const char *auth_app_id;
	const char *trade_no;
	const char *out_trade_no;
	const char *out_biz_no;
	const char *seller_id;
	const char *buyer_id;
	const char *buyer_logon_id;
	const char *gmt_create;
	const char *gmt_payment;
	const char *gmt_refund;
	const char *gmt_close;
	const char *subject;
	const char *passback_params; /* decoded once: still URL-encoded if the merchant did so */
	enum alipay_trade_status trade_status;
	int64_t total_amount_fen;
	int64_t receipt_amount_fen;
	int64_t buyer_pay_amount_fen;
	int64_t refund_fee_fen;
};

#define ALIPAY_NOTIFY_INIT ((struct alipay_notify){0})

void alipay_notify_done(struct alipay_notify *n);

/*
 * doc/protocol.md §4: decodes the form `body` (borrowed, len bytes, at most ALIPAY_FORM_MAX)
 * exactly once, takes the charset from its `charset` field (utf-8 or GBK; absent → utf-8), drops
 * sign, sign_type and empty values, sorts, and verifies `sign` with `alipay_key` (borrowed) using
 * the algorithm named by `sign_type` (absent → RSA2). Then parses the typed fields. Returns 0 and
 * fills *ret (must be ALIPAY_NOTIFY_INIT) only when the signature verifies; -EBADMSG for a
 * malformed body or field (e.g. an amount that does not parse), -ENOKEY when there is no sign,
 * -EKEYREJECTED when the signature does not verify, -EILSEQ for bytes invalid in the charset,
 * -E2BIG beyond the limits. Logs once, never the whole body.
 */
int alipay_notify_parse(const char *body, size_t len, EVP_PKEY *alipay_key,
			struct alipay_notify *ret);

/*
 * Server side (the sandbox): signs `fields` (borrowed, UTF-8, without sign/sign_type; empties
 * are dropped) with `key` (borrowed, private) the way Alipay does — adds charset (if missing),
 * sign_type and sign — and form-encodes the result in `cs`. *ret is new (caller frees),
 * *ret_len its length (may be NULL).
 */
int alipay_notify_build(const struct alipay_params *fields, enum alipay_charset cs, EVP_PKEY *key,
			enum alipay_sign_type type, char **ret, size_t *ret_len);
