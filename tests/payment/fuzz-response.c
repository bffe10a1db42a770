/* SPDX-License-Identifier: MIT */
/* Fuzz target: the response span extractor and the full response parser (doc/protocol.md §3). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuzz-key.h"
#include "payment/response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses body and checks what holds for any bytes; returns whether it verified. */
static bool
parse_checked(const char *body, size_t size)
{
	struct alipay_response r = ALIPAY_RESPONSE_INIT;
	bool verified;

	if (alipay_response_parse(body, size, "alipay.trade.pay", fuzz_alipay_public_key(),
				  ALIPAY_SIGN_RSA2, NULL, &r) != 0)
		abort();
	/* A success is always a verified one. */
	if (r.cls == ALIPAY_CLASS_SUCCESS && !r.verified)
		abort();
	verified = r.verified;
	alipay_response_done(&r);
	return verified;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct alipay_response_span sp;
	bool spanned = false;
	char *copy;
	size_t at;

	log_set_max_level(LOG_CRIT);
	if (alipay_response_extract(body, size, "alipay.trade.pay", &sp) == 0) {
		/* The node is a '{'…'}' range inside the input. */
		if (sp.node < body || sp.node + sp.node_len > body + size || sp.node_len < 2 ||
		    sp.node[0] != '{' || sp.node[sp.node_len - 1] != '}')
			abort();
		if (sp.sign && (sp.sign < body || sp.sign + sp.sign_len > body + size))
			abort();
		spanned = true;
	}
	/*
	 * The corpus holds responses the test key really signed (seeds), so some inputs do
	 * verify. What cannot happen is verifying without the signature doing the work: no
	 * sign value, or the same bytes with the first character of the sign value changed.
	 */
	if (!parse_checked(body, size))
		return 0;
	if (!spanned || !sp.sign || sp.sign_len == 0)
		abort(); /* verified without a sign value */
	at = (size_t)(sp.sign - body);
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	/* Any base64 character becomes another one; an escape becomes a plain character. */
	copy[at] = copy[at] == 'A' ? 'B' : 'A';
	if (parse_checked(copy, size))
		abort();
	free(copy);
	return 0;
}
