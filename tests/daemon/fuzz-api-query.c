/* SPDX-License-Identifier: MIT */
/* Fuzzes the query parsers: bytes as key=value&key=value, as a cursor and as an event id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api-query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_order_query q;
	struct api_error e = {};
	char *s, *p, buf[API_CURSOR_BUF];
	int64_t pos;

	if (size > 4096)
		return 0;
	s = strndup((const char *)data, size);
	if (!s)
		return 0;
	if (api_cursor_parse(s, &pos) == 0) {
		/* A cursor parsed is one this API could have made. */
		if (pos <= 0 || strcmp(api_cursor_format(pos, buf), s) != 0)
			abort();
	}
	{
		struct event_id id;
		char ibuf[EVENT_ID_BUF];
		/* An id parsed prints back the same, up to leading zeros. */
		if (event_id_parse(s, &id) == 0) {
			struct event_id again;
			if (event_id_parse(event_id_format(id, ibuf), &again) < 0 ||
			    event_id_cmp(id, again) != 0)
				abort();
		}
	}
	api_order_query_init(&q);
	p = s;
	for (int ok = 1; p && ok;) {
		char *amp = strchr(p, '&'), *eq;
		if (amp)
			*amp = '\0';
		eq = strchr(p, '=');
		if (eq)
			*eq = '\0';
		if (api_order_query_add(&q, p, eq ? eq + 1 : NULL, &e) < 0) {
			if (!e.code || e.status != 400)
				abort();
			ok = 0;
		}
		p = amp ? amp + 1 : NULL;
		if (!p && ok && api_order_query_finish(&q, &e) == 0 &&
		    (q.limit < 1 || q.limit > API_PAGE_MAX ||
		     (q.to_usec && q.from_usec >= q.to_usec)))
			abort();
	}
	free(s);
	return 0;
}
