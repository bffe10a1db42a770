/* SPDX-License-Identifier: MIT */
/* Test harness: runs f2fpay-sandbox as a child, speaks HTTP to it, signs requests for it. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"
#include "sandbox/crypto.h"
#include "sandbox/form.h"

struct harness {
	pid_t pid;
	char url[256]; /* "http://127.0.0.1:PORT" */
	EVP_PKEY *app_key;
	EVP_PKEY *alipay_pub;
	const char *keys_dir;
};

/* Starts `bin` with the test keys and `extra` args (NULL-terminated); aborts on failure. */
void harness_start(struct harness *h, const char *bin, const char *keys_dir,
		   const char *const *extra);
/* SIGTERM, waits; returns the exit status (0 = clean, also under ASan's leak check). */
int harness_stop(struct harness *h);
/* 1 while the child is alive. */
int harness_alive(struct harness *h);

/* A CA file for HTTPS URLs (NULL: the system store). */
extern const char *harness_ca_file;

/* HTTP: returns the status, the body in *out (binary-safe); -1 when no response came. */
long harness_http(const char *method, const char *url, const char *content_type, const void *body,
		  size_t len, struct buf *out);

/*
 * Builds a signed gateway request for method with biz_content (UTF-8), the charset and sign
 * type given, common parameters in the query and biz_content in the body (like the Node SDK).
 * Values are encoded in `charset`. New strings in *ret_query / *ret_body.
 */
void harness_request(struct harness *h, const char *method, const char *biz, const char *charset,
		     const char *sign_type, char **ret_query, char **ret_body);

/* Sends a signed request, returns the HTTP body (NUL-terminated, charset of the request). */
long harness_call(struct harness *h, const char *method, const char *biz, const char *charset,
		  struct buf *out);

/* Verifies a response body's signature over the raw node; 1 valid, 0 not. GBK aware. */
int harness_verify_response(struct harness *h, const char *method, const char *body, size_t len);

/* The value of "key":"…" in a flat JSON text (first occurrence), new string or NULL. */
char *harness_json_str(const char *json, const char *key);
