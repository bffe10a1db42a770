/* SPDX-License-Identifier: MIT */
/* Fuzz target: notification parsing and verification (doc/protocol.md §4). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuzz-key.h"
#include "payment/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The offset of the first byte of the sign value, or size when there is none to alter. */
static size_t
sign_value_at(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 5 <= size; i++)
		if ((i == 0 || data[i - 1] == '&') && memcmp(data + i, "sign=", 5) == 0)
			return i + 5 < size && data[i + 5] != '&' ? i + 5 : size;
	return size;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;
	uint8_t *copy;
	size_t at;

	log_set_max_level(LOG_CRIT);
	/*
	 * The corpus holds notifications the test key really signed (seeds), so some inputs do
	 * verify. What cannot happen is verifying without the signature doing the work: the same
	 * bytes with the first character of the sign value changed must fail.
	 */
	if (alipay_notify_parse((const char *)data, size, fuzz_alipay_public_key(), &n) != 0)
		return 0;
	alipay_notify_done(&n);
	at = sign_value_at(data, size);
	if (at == size)
		abort(); /* verified without a sign value */
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	/* Any base64 character becomes another one; '%' escapes become a plain character. */
	copy[at] = copy[at] == 'A' ? 'B' : 'A';
	if (alipay_notify_parse((const char *)copy, size, fuzz_alipay_public_key(), &n) == 0)
		abort();
	free(copy);
	return 0;
}
