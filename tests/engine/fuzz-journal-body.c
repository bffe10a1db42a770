/* SPDX-License-Identifier: MIT */
/* Fuzz target: how the journal packs a notification's body (codec 2) and reads packed data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine/journal-body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *dict = NULL, *packed = NULL, *back = NULL;
	size_t dict_size = 0, packed_size = 0;

	if (size > 64 * 1024)
		return 0;
	/* The body is outside input: whatever it holds, it must come back byte for byte, with
	 * a dictionary made of itself or none. */
	if (journal_body_dict_make(data, size, &dict, &dict_size) < 0)
		abort();
	for (int with = 0; with < 2; with++) {
		if (journal_body_pack2(data, size, with ? dict : NULL, with ? dict_size : 0,
				       &packed, &packed_size) < 0)
			abort();
		if (journal_body_unpack_dict(JOURNAL_BODY_SPLIT, packed, packed_size, size,
					     with ? dict : NULL, with ? dict_size : 0, &back) < 0 ||
		    memcmp(back, data, size) != 0)
			abort();
		free(back);
		back = NULL;
		free(packed);
		packed = NULL;
	}
	/* Packed data read from a damaged journal: an error or some bytes, never a crash. */
	if (journal_body_unpack_dict(JOURNAL_BODY_SPLIT, data, size, size, dict, dict_size,
				     &back) == 0)
		free(back);
	free(dict);
	return 0;
}
