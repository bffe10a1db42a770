/* SPDX-License-Identifier: MIT */
/* Fuzzes the client's SSE parser: arbitrary streams, fed whole and in odd chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sse-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_event(void *userdata, const char *name, const char *event_data, const char *id)
{
	size_t *n = userdata;

	if (!name || !event_data || !id || strlen(event_data) > SSE_EVENT_MAX)
		abort();
	(*n)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse_parser p;
	size_t whole = 0, chunked = 0;
	int r1, r2 = 0;

	sse_parser_init(&p, on_event, &whole);
	r1 = sse_parser_feed(&p, (const char *)data, size);
	sse_parser_done(&p);

	sse_parser_init(&p, on_event, &chunked);
	for (size_t i = 0; i < size && r2 == 0; i += 7)
		r2 = sse_parser_feed(&p, (const char *)data + i, size - i < 7 ? size - i : 7);
	sse_parser_done(&p);
	/* Chunking must not change the outcome. */
	if (r1 != r2 || whole != chunked)
		abort();
	return 0;
}
