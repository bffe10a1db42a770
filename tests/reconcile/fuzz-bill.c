/* SPDX-License-Identifier: MIT */
/* Fuzz target: the bill's detail CSV parser (and, on the same bytes, the zip reader). */
#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "payment/bill/bill.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bill *b = NULL;
	struct bill_error e;

	log_set_max_level(LOG_CRIT);
	if (bill_csv_parse((const char *)data, size, &b, &e) == 0) {
		int64_t trades = 0, refunds = 0;
		/* Accepted ⇒ the footer matched the rows. */
		for (size_t i = 0; i < b->n_rows; i++)
			*(b->rows[i].type == BILL_ROW_TRADE ? &trades : &refunds) +=
				b->rows[i].received_fen;
		if (trades != b->trades_fen || refunds != b->refunds_fen || refunds > 0)
			abort();
		bill_free(b);
	}
	if (bill_zip_parse(data, size, 1u << 20, &b, &e) == 0)
		bill_free(b);
	return 0;
}
