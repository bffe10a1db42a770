/* SPDX-License-Identifier: MIT */
/* Fuzzes the API request body parsers (orders and refunds) with arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-strict.h"

#include "daemon/api-request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_order_request o = {};
	struct api_refund_request r = {};
	struct api_error e = {};

	if (size > 65536)
		return 0;
	if (api_order_request_parse((const char *)data, size, &o, &e) == 0) {
		struct json_strict_error je;
		if (o.amount_fen < 1 || o.amount_fen > 10000000000)
			abort();
		/* Accepted: no key twice, strict UTF-8 (else json-c's last value could have won).
		 */
		if (json_strict_check((const char *)data, size, API_JSON_MAX_DEPTH, 0, &je) != 0)
			abort();
		if (o.subject &&
		    utf8_valid_prefix(o.subject, strlen(o.subject)) != strlen(o.subject))
			abort();
		api_order_request_done(&o);
	} else if (!e.code || e.status < 400)
		abort();
	if (api_refund_request_parse((const char *)data, size, &r, &e) == 0)
		api_refund_request_done(&r);
	return 0;
}
