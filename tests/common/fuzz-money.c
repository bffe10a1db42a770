/* SPDX-License-Identifier: MIT */
/* Fuzz target: the money parser must never accept what it cannot format back identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[MONEY_BUF_SIZE];
	int64_t fen, back;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	for (unsigned flags = 0; flags < 8; flags++) {
		if (money_parse_flags(s, flags, &fen) == 0) {
			money_format(fen, out);
			if (money_parse_flags(out, flags | MONEY_ALLOW_ZERO, &back) != 0 ||
			    back != fen)
				abort();
			if (!(flags & MONEY_NO_LIMIT) &&
			    (fen > MONEY_MAX_FEN || fen < -MONEY_MAX_FEN))
				abort();
		}
	}
	free(s);
	return 0;
}
