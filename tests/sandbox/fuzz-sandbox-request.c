/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the sandbox's request handling (query ∪ body merge, charsets, checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>

#include "sandbox/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sandbox *
sandbox_get(void)
{
	static struct sandbox sb = {
		.cfg = {.app_id = "2021000000000001",
			.pid = "2088000000000001",
			.time_scale = 1,
			.confirm_after_sec = 1},
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.base_url = "http://127.0.0.1:1",
	};

	if (!sb.alipay_key) {
		/* One key for both sides: the fuzzer cannot forge signatures anyway. */
		sb.alipay_key = EVP_RSA_gen(1024);
		sb.app_key = sb.alipay_key;
		if (!sb.alipay_key)
			abort();
	}
	return &sb;
}

/*
 * Input: first byte selects the endpoint (even: gateway.do, odd: /sim/scan-qr); for gateway.do
 * the rest is "<query>\n<body>" (no newline: all query).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sandbox *sb = sandbox_get();
	static unsigned runs;
	const char *p = (const char *)data + 1, *nl;
	char *query;
	size_t len;

	if (size < 1 || size > 256 * 1024)
		return 0;
	len = size - 1;
	if (data[0] & 1) {
		struct buf out = BUF_INIT(4096);
		int status;

		(void)sb_sim_scan(sb, p, len, &status, &out);
		buf_free(&out);
	} else {
		struct sb_reply reply = {.body = BUF_INIT(4 * SB_BODY_MAX)};

		nl = memchr(p, '\n', len);
		query = strndup(p, nl ? (size_t)(nl - p) : len);
		if (!query)
			return 0;
		(void)sb_gateway_handle(sb, query, nl ? nl + 1 : "",
					nl ? len - (size_t)(nl - p) - 1 : 0,
					"application/x-www-form-urlencoded;charset=utf-8", &reply);
		free(query);
		buf_free(&reply.body);
	}
	/* Keep memory bounded over long runs. */
	if (++runs % 1000 == 0) {
		pthread_mutex_lock(&sb->lock);
		sb_ledger_free(sb);
		pthread_mutex_unlock(&sb->lock);
	}
	return 0;
}
