/* SPDX-License-Identifier: MIT */
/* Building a signed gateway request: common parameters, biz_content, URL and form body. */
#pragma once

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "payment/keys.h"
#include "payment/params.h"
#include "payment/sign.h"

/*
 * What every request needs. Everything is borrowed and must outlive the calls that use it.
 * `keys` supplies the app private key and, in certificate mode, app_cert_sn and
 * alipay_root_cert_sn (doc/protocol.md §7). Optional strings are NULL when unused.
 */
struct alipay_client_config {
	const char *
		gateway_url; /* e.g. "https://openapi.alipay.com/gateway.do" (doc/protocol.md §1) */
	const char *app_id;
	enum alipay_sign_type sign_type;
	enum alipay_charset charset;
	const char *notify_url;     /* optional */
	const char *app_auth_token; /* optional: an ISV acting for a merchant */
	const struct alipay_keys *keys;
};

/*
 * A request ready for the transport: POST `url` with `body` (body_len bytes) and the header
 * "Content-Type: <content_type>". Every string is owned by the struct (alipay_request_done()).
 */
struct alipay_request {
	char *method;       /* "alipay.trade.pay" */
	char *url;          /* gateway + '?' + the common parameters and sign, form-encoded */
	char *body;         /* "biz_content=…", form-encoded in the charset */
	size_t body_len;    /* bytes in body */
	char *content_type; /* "application/x-www-form-urlencoded;charset=utf-8" */
};

#define ALIPAY_REQUEST_INIT ((struct alipay_request){0})

/* Frees every member and resets *r. NULL-safe. */
void alipay_request_done(struct alipay_request *r);

/*
 * doc/protocol.md §2 / §2.1: builds and signs a request for `method` with `biz_content` (a UTF-8
 * JSON text, borrowed; NULL for none) at `now` (Unix seconds; formatted as Beijing time, so tests
 * inject it). Parameters are placed as the official Node SDK places them: the common ones
 * (method, app_id, charset, version, sign_type, timestamp, notify_url, app_auth_token,
 * app_cert_sn, alipay_root_cert_sn) and sign in the URL query, biz_content in the body; all
 * values encoded in the configured charset; `format` is not sent. The string to sign is built
 * from exactly the parameters sent (empties are never sent) and signed in the charset.
 * On success fills *ret (must be ALIPAY_REQUEST_INIT). -EINVAL for a missing key/app_id, an
 * unconvertible value (-EILSEQ), -ENOMEM.
 */
int alipay_request_build(const struct alipay_client_config *c, const char *method,
			 const char *biz_content, time_t now, struct alipay_request *ret);

/* The same with biz_content given as a json-c object (borrowed), serialised as below. */
int alipay_request_build_json(const struct alipay_client_config *c, const char *method,
			      struct json_object *biz, time_t now, struct alipay_request *ret);

/*
 * The parameters and the string to sign of a request, without URL or body (for tests, for the
 * sandbox's own client, and for a debugging dump). *ret_params is filled in sending order
 * (without `sign`), *ret_sign_string is new (UTF-8). Either may be NULL.
 */
int alipay_request_params(const struct alipay_client_config *c, const char *method,
			  const char *biz_content, time_t now, struct alipay_params *ret_params,
			  char **ret_sign_string);

/*
 * Serialises a json-c value the way the Node SDK's JSON.stringify does for biz_content: compact,
 * non-ASCII raw, '/' NOT escaped. New string in *ret (caller frees).
 */
int alipay_json_to_string_request(struct json_object *o, char **ret);

/*
 * Server side (the sandbox), doc/protocol.md §2 and §2.1: parses a received request — the URL query
 * (`query`, without '?', may be NULL) and the form body (may be NULL) — merging both (a key in
 * both is -EBADMSG), reading the bytes in the charset named by the `charset` parameter (absent →
 * utf-8), and verifies `sign` with `app_public_key` (borrowed) and the algorithm of `sign_type`
 * (absent → RSA2) over exactly what was received minus `sign` (empties kept, as the Node SDK
 * sends them). On success *ret (must be ALIPAY_PARAMS_INIT) holds every parameter, UTF-8,
 * in arrival order (query first), and *ret_charset the charset (may be NULL).
 * -ENOKEY: no sign; -EKEYREJECTED: the signature does not verify; *ret_sign_string (may be
 * NULL) then still receives the string the verifier built, for an isv.invalid-signature
 * sub_msg. -EBADMSG/-EILSEQ/-E2BIG for malformed input.
 */
int alipay_request_verify(const char *query, size_t query_len, const char *body, size_t body_len,
			  EVP_PKEY *app_public_key, struct alipay_params *ret,
			  enum alipay_charset *ret_charset, char **ret_sign_string);
