/* SPDX-License-Identifier: MIT */
/* Fuzz target: the fields of a verified response node (amounts, receipts, fund_bill_list). */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "payment/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alipay_api_result r = ALIPAY_API_RESULT_INIT;

	log_set_max_level(LOG_CRIT);
	if (size > 65536)
		return 0;
	(void)alipay_api_result_from_node((const char *)data, size, &r);
	/* A fund_bill_list kept is a JSON array of at most 16 entries. */
	if (r.fund_bill_list) {
		struct json_object *o = json_tokener_parse(r.fund_bill_list);
		if (!o || !json_object_is_type(o, json_type_array) ||
		    json_object_array_length(o) > 16)
			abort();
		json_object_put(o);
	}
	if (r.discount_amount_fen < -1 || r.receipt_amount_fen < -1)
		abort();
	alipay_api_result_done(&r);
	return 0;
}
