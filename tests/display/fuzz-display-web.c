/* SPDX-License-Identifier: MIT */
/* Fuzz target: any request head the web display's listener may receive parses safely, and any
 * accepted one names a path inside the request line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/display/display-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUEST_MAX 2048 /* as the listener reads */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct display_web_request req;
	char *copy;

	if (size > REQUEST_MAX)
		return 0;
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	/* The listener only parses a head with no NUL byte that ends in an empty line. */
	if (strlen(copy) == size && strstr(copy, "\r\n\r\n") &&
	    !display_web_request_parse(copy, &req)) {
		if (req.path < copy || req.path >= copy + size || req.path[0] == 0 ||
		    strchr(req.path, ' ') || strchr(req.path, '\r'))
			abort();
	}
	free(copy);
	return 0;
}
