/* SPDX-License-Identifier: MIT */
/* Fuzz target: after masking, no payment code is left in any text, and nothing else changed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/paycode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *orig = malloc(size + 1);
	size_t n;

	if (!s || !orig)
		goto out;
	memcpy(s, data, size);
	s[size] = 0;
	n = strlen(s);
	memcpy(orig, s, n + 1);
	paycode_mask_in_text(s);
	if (strlen(s) != n)
		abort();
	for (size_t i = 0; i < n;) {
		size_t start = i;

		if (s[i] < '0' || s[i] > '9') {
			/* Only digits are ever replaced, and only by '*'. */
			if (s[i] != orig[i] && !(s[i] == '*' && orig[i] >= '0' && orig[i] <= '9'))
				abort();
			i++;
			continue;
		}
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		/* A run of digits that survived whole is no payment code. */
		if (paycode_is_alipay(s + start, i - start) &&
		    (start == 0 || s[start - 1] != '*') && (i == n || s[i] != '*'))
			abort();
	}
	if (paycode_is_alipay(orig, n)) {
		char m[PAYCODE_MAX_LEN + 1];
		paycode_mask(orig, m);
		if (strcmp(m, s) != 0)
			abort();
	}
out:
	free(s);
	free(orig);
	return 0;
}
