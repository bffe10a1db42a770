/* SPDX-License-Identifier: MIT */
/* Fuzzes the configuration parser: any bytes must load or fail cleanly, and a loaded config dumps.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Opened once: the parser's messages are formatted for every input, then dropped. */
	static FILE *null;
	struct config *c = NULL;

	if (size > CONFIG_MAX_FILE_SIZE)
		return 0;
	if (!null) {
		null = fopen("/dev/null", "we");
		if (!null)
			abort();
		log_set_stream(null);
	}
	if (config_load_string((const char *)data, size, "fuzz.conf", CONFIG_SKIP_FILE_CHECKS,
			       &c) == 0) {
		if (config_dump(c, null) < 0)
			abort();
		config_free(c);
	}
	return 0;
}
