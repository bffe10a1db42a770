/* SPDX-License-Identifier: MIT */
/* Fuzz target: notification parsing and verification (doc/protocol.md §4). */
#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "fuzz-key.h"
#include "payment/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;

	log_set_max_level(LOG_CRIT);
	/* Without the Alipay private key no input can verify. */
	if (alipay_notify_parse((const char *)data, size, fuzz_alipay_public_key(), &n) == 0)
		abort();
	return 0;
}
