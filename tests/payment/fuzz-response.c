/* SPDX-License-Identifier: MIT */
/* Fuzz target: the response span extractor and the full response parser (doc/protocol.md §3). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuzz-key.h"
#include "payment/response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct alipay_response_span sp;
	struct alipay_response r = ALIPAY_RESPONSE_INIT;

	log_set_max_level(LOG_CRIT);
	if (alipay_response_extract(body, size, "alipay.trade.pay", &sp) == 0) {
		/* The node is a '{'…'}' range inside the input. */
		if (sp.node < body || sp.node + sp.node_len > body + size || sp.node_len < 2 ||
		    sp.node[0] != '{' || sp.node[sp.node_len - 1] != '}')
			abort();
		if (sp.sign && (sp.sign < body || sp.sign + sp.sign_len > body + size))
			abort();
	}
	if (alipay_response_parse(body, size, "alipay.trade.pay", fuzz_alipay_public_key(),
				  ALIPAY_SIGN_RSA2, NULL, &r) != 0)
		abort();
	/* Nothing unsigned by the test key can be a success. */
	if (r.cls == ALIPAY_CLASS_SUCCESS || r.verified)
		abort();
	alipay_response_done(&r);
	return 0;
}
