/* SPDX-License-Identifier: MIT */
/* Fuzzes the control socket's request parser with 0 to CONTROL_MAX_KEYS passed descriptors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_key keys[CONTROL_MAX_KEYS];
	char *req;

	if (size > 4096)
		return 0;
	for (size_t n = 0; n <= CONTROL_MAX_KEYS; n++) {
		req = malloc(size + 1);
		if (!req)
			return 0;
		memcpy(req, data, size);
		req[size] = 0;
		memset(keys, 0, sizeof(keys));
		if (control_parse_request(req, keys, n) == 0)
			for (size_t i = 0; i < n; i++)
				if (!keys[i].name[0] || strlen(keys[i].name) > CONTROL_NAME_MAX ||
				    strchr(keys[i].name, '/'))
					abort();
		free(req);
	}
	return 0;
}
