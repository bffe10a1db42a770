/* SPDX-License-Identifier: MIT */
/* Fuzz target: verification of a received request, query and body (doc/protocol.md §2, §2.1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuzz-key.h"
#include "payment/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	size_t qlen = nl ? (size_t)(nl - s) : size;
	char *ss = NULL;

	log_set_max_level(LOG_CRIT);
	/* The first line is the query, the rest the body. Nothing can verify without the key. */
	if (alipay_request_verify(s, qlen, nl ? nl + 1 : NULL, nl ? size - qlen - 1 : 0,
				  fuzz_alipay_public_key(), &p, NULL, &ss) == 0)
		abort();
	free(ss);
	if (p.n != 0)
		abort();
	return 0;
}
