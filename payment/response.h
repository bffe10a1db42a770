/* SPDX-License-Identifier: MIT */
/* Gateway responses: raw node extraction, verification, classification; and signing them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "payment/result.h"
#include "payment/sign.h"

/* Limits (doc/style.md §5). A real response is a few KiB. */
#define ALIPAY_RESPONSE_MAX    (1024u * 1024u)
#define ALIPAY_JSON_DEPTH_MAX  32
#define ALIPAY_METHOD_NAME_MAX 128

/*
 * doc/protocol.md §3: where the parts of a response body are, as byte ranges into the body
 * (borrowed). node/node_len: the node's value from its '{' to the matching '}', exactly as
 * received. sign/sign_len and cert_sn/cert_sn_len: the raw contents between the quotes (sign_len 0
 * and sign NULL when the body carries no sign; likewise cert_sn).
 */
struct alipay_response_span {
	const char *node;
	size_t node_len;
	bool error_response; /* the node is "error_response", not "<method>_response" */
	const char *sign;
	size_t sign_len;
	const char *cert_sn;
	size_t cert_sn_len;
};

/*
 * Finds the node of `method` (e.g. "alipay.trade.pay" → "alipay_trade_pay_response", or else
 * "error_response") among the root members of `body` with a string-aware scanner (braces inside
 * strings do not count; a quote is escaped only by an odd number of backslashes). Returns 0 and
 * fills *ret; -ENOENT when neither node is there; -EEXIST when the node's key (or sign or
 * alipay_cert_sn) occurs twice at the root (forgery guard); -EBADMSG for a body that is not one
 * well-formed JSON object at the root level; -E2BIG above ALIPAY_RESPONSE_MAX or nesting deeper
 * than ALIPAY_JSON_DEPTH_MAX.
 */
int alipay_response_extract(const char *body, size_t len, const char *method,
			    struct alipay_response_span *ret);

/*
 * The outcome of one synchronous call. Strings are owned (alipay_response_done()); NULL when
 * absent. `node` is the json-c parse of the verified raw node (NULL when unparsable or unsigned).
 */
struct alipay_response {
	enum alipay_class cls;
	bool verified;  /* signed and the signature checked out over the raw node */
	bool throttled; /* 40005, *call-limited: back off before the next call (§6) */
	char *code;     /* "10000" … */
	char *msg;
	char *sub_code;
	char *sub_msg;
	struct json_object *node; /* owned reference; only set when verified */
};

#define ALIPAY_RESPONSE_INIT ((struct alipay_response){.cls = ALIPAY_CLASS_UNKNOWN})

void alipay_response_done(struct alipay_response *r);

/*
 * The whole client side of doc/protocol.md §3 for one body: extract, verify the raw node with
 * `alipay_key` (borrowed) and `type` (retrying once with "\/" → "/"), check alipay_cert_sn
 * against `expected_cert_sn` when that is not NULL (certificate mode: a missing or different SN
 * fails verification), parse the node with json-c (depth-limited), and classify:
 *   verified:   10000 SUCCESS; 10003 IN_PROGRESS; 20000 or sub_code ACQ.SYSTEM_ERROR,
 *               isp.unknow-error, aop.unknow-error UNKNOWN; ACQ.TRADE_HAS_SUCCESS UNKNOWN
 *               (already paid: whose trade it is the engine decides, doc/engine.md); 20001,
 *               40001–40003, 40006, aop.* and isv.* CONFIG; 40004 FAILED; 40005,
 *               isv.*-call-limited and aop.ACQ.*call-limited UNKNOWN + throttled; anything
 *               else UNKNOWN.
 *   unsigned:   40001/40002/40003 CONFIG (the gateway could not identify us), else UNKNOWN.
 *   bad sign:   UNKNOWN, never SUCCESS.
 * Returns 0 whenever a classification was made — including UNKNOWN for an empty, garbled or
 * forged body (logged once here, with isv.invalid-signature's sub_msg when present) — and
 * fills *ret (must be ALIPAY_RESPONSE_INIT). Negative only for -EINVAL arguments or -ENOMEM.
 */
int alipay_response_parse(const char *body, size_t len, const char *method, EVP_PKEY *alipay_key,
			  enum alipay_sign_type type, const char *expected_cert_sn,
			  struct alipay_response *ret);

/* The classification rule above, exposed for tables and the sandbox's own checks. */
enum alipay_class alipay_response_classify(const char *code, const char *sub_code, bool is_signed,
					   bool *ret_throttled);

/* doc/protocol.md §3: "alipay.trade.pay" → "alipay_trade_pay_response" (new string in *ret). */
int alipay_response_key(const char *method, char **ret);

/*
 * Serialises a json-c value the way Alipay does: compact, non-ASCII raw, '/' escaped as "\/".
 * New string in *ret (caller frees).
 */
int alipay_json_to_string_response(struct json_object *o, char **ret);

/*
 * Server side (the sandbox): builds {"<method>_response":<node>,"alipay_cert_sn":"…","sign":"…"}
 * from `node` (borrowed), serialised as alipay_json_to_string_response(), signed over exactly
 * those node bytes with `key` (borrowed, private). method NULL → "error_response". key NULL →
 * unsigned (no "sign" member). cert_sn NULL → no alipay_cert_sn member. *ret is new (caller
 * frees), *ret_len its length (may be NULL).
 */
int alipay_response_build(const char *method, struct json_object *node, EVP_PKEY *key,
			  enum alipay_sign_type type, const char *cert_sn, char **ret,
			  size_t *ret_len);
