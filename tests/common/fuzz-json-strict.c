/* SPDX-License-Identifier: MIT */
/* Fuzzes the strict JSON check against json-c: whatever it passes, json-c parses alike. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-strict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEPTH 8

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_strict_error e;
	struct json_tokener *tok;
	struct json_object *o;
	int r;

	if (size > 65536 || memchr(data, 0, size))
		return 0;
	r = json_strict_check((const char *)data, size, DEPTH, 0, &e);
	if (r == -EBADMSG) {
		if (e.offset > size || !e.message[0])
			abort();
		return 0;
	}
	if (r != 0)
		abort(); /* -ENOMEM is not expected at these sizes */
	/* Accepted: json-c, as strict, must take the same text whole (it allows one level more). */
	tok = json_tokener_new_ex(DEPTH + 1);
	if (!tok)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (json_tokener_get_error(tok) != json_tokener_success &&
	    !(json_tokener_get_error(tok) == json_tokener_continue && o == NULL))
		abort();
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
}
